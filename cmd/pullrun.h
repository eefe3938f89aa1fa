// SPDX-License-Identifier: Apache-2.0
// One pull, as 'pull' and 'bench' both run it: the options they share, and the
// run itself (resolve every image, fetch all their blobs through one engine,
// record each image in index.json as soon as it is complete). What comes
// after (hand-off, reports) is each command's own.
#ifndef IMGPULL_CMD_PULLRUN_H
#define IMGPULL_CMD_PULLRUN_H

#include <stdbool.h>
#include <stdint.h>

#include "cmd/access.h"
#include "cmd/opts.h"
#include "report/progress.h"
#include "oci/layout.h"
#include "oci/manifest.h"
#include "pull/engine.h"
#include "pull/registry.h"
#include "pull/trust.h"
#include "unpack/rootfs.h"
#include "util/err.h"

#define PULLRUN_DEFAULT_CONNECTIONS 16
#define PULLRUN_DEFAULT_CHUNK (16ull << 20)
#define PULLRUN_DEFAULT_RETRIES 5
#define PULLRUN_DEFAULT_TIMEOUT_S (2 * 3600.0) // 40 GB at 5.6 MB/s; a rerun keeps what was fetched
#define PULLRUN_MAX_BLOCKING_RETRIES 3         // manifests, tokens, probes
#define PULLRUN_DEFAULT_MIN_FREE_PCT 10        // the kubelet's default eviction margin (nodefs.available < 10%)

#define PULLRUN_STR_(x) #x
#define PULLRUN_STR(x) PULLRUN_STR_(x)

enum {
	PULLRUN_O_DEST = 256, PULLRUN_O_PLATFORM, PULLRUN_O_CONN, PULLRUN_O_CHUNK, PULLRUN_O_RETRIES,
	PULLRUN_O_STALL, PULLRUN_O_TIMEOUT, PULLRUN_O_PROGRESS, PULLRUN_O_LOGFMT, PULLRUN_O_TERMLOG,
	PULLRUN_O_FSYNC, PULLRUN_O_MINFREE, PULLRUN_O_CONTAINERD, PULLRUN_O_CROOT, PULLRUN_O_METRICS,
	PULLRUN_O_UNPACK, PULLRUN_O_NOCHOWN, PULLRUN_O_SNAPSHOTTER,
};

// How the blobs are fetched: the option entries pull and bench share.
#define PULLRUN_FETCH_OPTS                                                                                             \
	{"platform", PULLRUN_O_PLATFORM, "OS/ARCH[/VAR]", "platform to pick from an index (default: this host's)", 0}, \
	{"connections", PULLRUN_O_CONN, "N",                                                                           \
	 "connections in total, all blobs (default " PULLRUN_STR(PULLRUN_DEFAULT_CONNECTIONS) ")", 0},                 \
	{"chunk-size", PULLRUN_O_CHUNK, "SIZE", "byte range per request, e.g. 16M (default 16M)", 0},                  \
	{"retries", PULLRUN_O_RETRIES, "N",                                                                            \
	 "retries per range, every failed try counting (default " PULLRUN_STR(PULLRUN_DEFAULT_RETRIES) ");\n"          \
	 "a blob gives up after 4 x N more failures than finished ranges", 0},                                         \
	{"stall-timeout", PULLRUN_O_STALL, "DURATION",                                                                 \
	 "drop and retry a transfer that receives nothing,\nor under 1 KiB/s, for this long (default 20s)", 0},        \
	{"timeout", PULLRUN_O_TIMEOUT, "DURATION",                                                                     \
	 "give up on the whole pull after this long, e.g. 90m\n(default 2h; 0: never)", 0},                            \
	{"min-free", PULLRUN_O_MINFREE, "SIZE|PCT%",                                                                   \
	 "space to leave free on the layout's filesystem: a pull that\n"                                               \
	 "would need more fails before downloading (default 10%)", 0},                                                 \
	{"fsync", PULLRUN_O_FSYNC, NULL,                                                                               \
	 "sync every blob to disk before it enters the layout\n"                                                       \
	 "(default: journal unsynced blobs, re-verify after a reboot)", 0},                                            \
	CMD_ACCESS_OPTS, CMD_POLICY_OPT

struct pullrun_cli {
	const char *dest;
	const char *platform;
	int connections;
	unsigned long long chunk;
	int retries;
	double timeout;
	double stall;
	uint64_t min_free;     // bytes, or FILE_ROOM_PCT
	unsigned min_free_pct; // with FILE_ROOM_PCT
	enum progress_mode progress;
	bool quiet;
	bool fsync;
	bool discard;          // bench --discard: no layout, verify and drop
	int verbose;
	struct cmd_access acc;
	const char *containerd;      // the CRI socket's path; NULL: no hand-off
	const char *containerd_root;
	const char *snapshotter;     // --snapshotter: NULL the CRI plugin's, "none": containerd unpacks
	char *default_dest;          // with --containerd and no --dest: beside containerd's root
	const char *unpack;          // --unpack ROOTFS (unpack_rootfs_name's); NULL: none
	char *unpack_dir;            // what unpack points to
	bool no_chown;               // --no-chown (automatic when not root)
	bool dest_temporary;         // the layout is only --unpack's: removed once unpacked
	char **images; // the operands, or IMGPULL_IMAGES
	size_t nimages;
};

void pullrun_cli_init(struct pullrun_cli *c);
// The option handler for every PULLRUN_O_* and access option (cmd_opt_fn).
int pullrun_cli_option(void *ud, int id, const char *arg, struct err *e);
// The images: operands argv[first..], or else IMGPULL_IMAGES; at least one.
int pullrun_cli_images(struct pullrun_cli *c, int argc, char **argv, int first, struct err *e);
// The transport's settings that follow from the options; t0 starts --timeout.
void pullrun_cli_apply(struct pullrun_cli *c, double t0);
// The log level -v asks for (part of pullrun_cli_apply).
void pullrun_cli_log_level(const struct pullrun_cli *c);
void pullrun_cli_release(struct pullrun_cli *c);

// An unpacker's source (unpack_image.open_blob) of the blobs the engine eng
// (a struct pull_engine) is fetching: each read as far as it is written and
// hashed; an unpack that fails aborts the engine with its error.
int pullrun_stream_open(void *eng, const struct oci_descriptor *d, struct unpack_source *src, struct err *e);

struct pullrun {
	// In:
	struct pullrun_cli *c;
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
