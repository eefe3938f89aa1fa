// SPDX-License-Identifier: Apache-2.0
// One pull, as 'pull' and 'bench' both run it: what it is given (struct
// pullrun_conf, filled from the options by cmd/pullopts.c), and the run itself
// (resolve every image, fetch all their blobs through one engine, record each
// image in index.json as soon as it is complete). What comes after (hand-off,
// reports) is each command's own.
#ifndef IMGPULL_RUN_PULLRUN_H
#define IMGPULL_RUN_PULLRUN_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/creds.h"
#include "auth/kind.h"
#include "auth/policy.h"
#include "oci/layout.h"
#include "oci/manifest.h"
#include "pull/engine.h"
#include "pull/registry.h"
#include "pull/trust.h"
#include "report/progress.h"
#include "transport/http.h"
#include "unpack/rootfs.h"
#include "util/err.h"

// What a run is given. The strings and the access are the caller's, alive
// through the run.
struct pullrun_conf {
	const char *dest;
	const char *platform;
	int connections;
	unsigned long long chunk;
	int retries;
	uint64_t min_free;     // bytes, or FILE_ROOM_PCT
	unsigned min_free_pct; // with FILE_ROOM_PCT
	bool fsync;
	bool discard;          // bench --discard: no layout, verify and drop
	// The registries' access: TLS and addressing, credentials, kinds,
	// containerd's hosts.toml directory (NULL: none), the signature policy
	// (NULL: none).
	const struct http_config *http;
	struct auth_store *store;
	const struct kind_table *kinds;
	const char *hosts_dir;
	const struct policy *policy;
	const char *containerd;      // the CRI socket's path; NULL: no hand-off
	const char *containerd_root;
	const char *snapshotter;     // --snapshotter: NULL the CRI plugin's, "none": containerd unpacks
	const char *unpack;          // --unpack ROOTFS (unpack_rootfs_name's); NULL: none
	bool no_chown;               // --no-chown (automatic when not root)
	bool dest_temporary;         // the layout is only --unpack's: removed once unpacked
	char **images; // the images' references
	size_t nimages;
};

// An unpacker's source (unpack_image.open_blob) of the blobs the engine eng
// (a struct pull_engine) is fetching: each read as far as it is written and
// hashed; an unpack that fails aborts the engine with its error.
int pullrun_stream_open(void *eng, const struct oci_descriptor *d, struct unpack_source *src, struct err *e);

struct pullrun {
	// In:
	const struct pullrun_conf *c;
	struct progress *prog;
	void (*observe)(void *ud, const struct pull_event *ev); // also sees every engine event
	void *observe_ud;
	// Called once the images are resolved, just before the engine runs
	// (pull --unpack starts its reader there).
	void (*before_run)(void *ud, struct pullrun *r);
	// Called once the images are resolved and the layout is open, before the
	// blobs are given to the engine: it may set skip, and put blobs it
	// fetched itself (verified) into the layout.
	void (*before_fetch)(void *ud, struct pullrun *r);
	void *before_ud; // of both
	// skip[i][l]: layer l of image i is not fetched (pull --containerd: its
	// snapshot is committed in containerd already); NULL: every layer is. An
	// image with a skipped layer is not named in index.json (the layout does
	// not hold it) but is done once the rest is in.
	bool **skip;
	double t0;
	// Out, valid until pullrun_release:
	struct pull_image *imgs; // c->nimages of them
	int resolved;            // images resolved
	struct pull_registries regs;
	struct oci_layout layout; // unused with discard
	struct pull_engine *eng;
	double run_at;           // seconds from t0 until the first blob was asked for
	unsigned retries;
	// The recorder's state.
	bool *recorded;
	int nrecord;
	bool rec_failed;
	struct err rec_err;
	struct oci_platform want;
	// --unpack: what ROOTFS held before the pull (its completion marker).
	struct unpack_rootfs_state rootfs;
	// --policy: each image's signatures that verified (kept in the layout).
	struct pull_trust *trust;
};

// pullrun_execute's answer when --unpack without --dest finds ROOTFS complete
// for the image: nothing was created or fetched; imgs[0] has its name and
// manifest digest (the rest only when it was resolved: a reference pinned by
// the marker's digest is not), rootfs.bytes its size.
#define PULLRUN_UNPACKED 1

// Checks ROOTFS (--unpack), resolves, checks the room, fetches, records:
// nothing is created before every image is resolved. On failure e says why
// and the out fields say how far it came.
int pullrun_execute(struct pullrun *r, struct err *e);
void pullrun_release(struct pullrun *r);

#endif
