// SPDX-License-Identifier: Apache-2.0
// pull --containerd: the node prefetch. While the layers download, each is
// unpacked into containerd's snapshotter (unpack/snapshot.h) under a lease of
// this run's; afterwards every blob goes into containerd's content store and
// is registered (layers labelled with their diff_id), then a CRI PullImage
// records each image, finding every layer unpacked, and the lease goes.
// A snapshotter imgpull does not write (or --snapshotter none) leaves the
// unpack to containerd's own CRI pull, as does any failure of the snapshot
// path that is not the image's fault.
#ifndef IMGPULL_RUN_PREFETCH_H
#define IMGPULL_RUN_PREFETCH_H

#include <pthread.h>
#include <stdbool.h>

#include "ctrd/session.h"
#include "run/pullrun.h"
#include "unpack/snapshot.h"

struct prefetch {
	const struct pullrun_conf *c;
	// Told of each image containerd took, with the image's id there and the
	// seconds its PullImage took (pull says so); NULL: nobody.
	void (*handed)(void *ud, const struct pull_image *img, const char *id, double secs);
	void *handed_ud;
	struct pullrun *run;
	char snapshotter[64];   // "" when the snapshots are left to containerd
	char *snap_root;        // the snapshotter's directory as containerd names it
	char *local_root;       // ... and as imgpull reaches it (under --containerd-root)
	struct ctrd_session s;
	char lease[CTRD_ID_MAX + 1];
	int lock_fd;            // ROOT/imgpull/leases/LEASE, held while the lease is ours
	pthread_t th;
	bool started;
	int rc;
	bool fell_back;         // the snapshot path gave up: containerd unpacks
	struct err err;
	struct unpack_snap_result *res; // per image
	bool **skip;                    // per image, per layer: not fetched (pullrun.skip)
	struct unpack_stats st;
	double t0, took;
};

void prefetch_init(struct prefetch *p, const struct pullrun_conf *c);
// pullrun's before_fetch: picks the snapshotter, cleans up after runs that
// were killed, takes a lease, and marks the layers whose snapshots are
// committed already (from the image's config, fetched for it) not to fetch.
void prefetch_prepare(void *ud, struct pullrun *r);
// pullrun's before_run: starts the unpacking thread.
void prefetch_start(void *ud, struct pullrun *r);
// Waits for the unpacking thread; its error when the pull itself went well.
int prefetch_finish(struct prefetch *p, bool pulled, struct err *e);
// The hand-off once every blob is in the layout: content store, registration,
// CRI PullImage per image.
int prefetch_handoff(struct prefetch *p, const struct oci_layout *l, struct pull_image *imgs, int nimg,
		     struct err *e);
// Drops the lease (what it held and no image references goes at containerd's
// next garbage collection) and its lock file.
void prefetch_release(struct prefetch *p);

#endif
