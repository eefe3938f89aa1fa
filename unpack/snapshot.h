// SPDX-License-Identifier: Apache-2.0
// An image's layers unpacked into containerd's snapshotter while they
// download, the way containerd's own unpacker leaves them: layer n in a
// snapshot committed under its chain ID with parent the chain ID of layer
// n-1 and the label containerd.io/snapshot.ref, so that containerd's unpack
// (the kubelet's CRI PullImage) finds every layer and applies none.
//
// Each layer: Stat of its chain ID (committed already, by containerd or an
// earlier imgpull: taken into the lease, not applied again); else Prepare of
// an active snapshot "LEASE-N CHAINID" on the parent, the layer applied into
// the directory its mounts name (overlayfs: the upperdir, with overlay
// whiteouts; native: the copy of the parent, as --unpack applies), then
// Commit. A layer that fails removes its active snapshot: nothing
// half-written is ever committed.
#ifndef IMGPULL_UNPACK_SNAPSHOT_H
#define IMGPULL_UNPACK_SNAPSHOT_H

#include <stddef.h>

#include "ctrd/session.h"
#include "unpack/layer.h"
#include "unpack/rootfs.h"
#include "util/err.h"

struct unpack_snap {
	const struct unpack_image *img; // name, manifest, where the blobs come from, chown (rootfs unused)
	struct ctrd_session *s;         // its snapshotter, and the lease that holds what is made
	const char *snap_root;          // the snapshotter's directory as containerd names it
	const char *local_root;         // the same directory as imgpull reaches it (NULL: snap_root)
};

// What became of an image's layers.
struct unpack_snap_result {
	char **diff_ids; // one per layer (free with unpack_snap_result_release)
	size_t nlayers;
	size_t applied;  // layers unpacked and committed by this run
	size_t present;  // layers whose snapshot was committed already
	char top[OCI_DIGEST_LEN + 1]; // the chain ID of the whole image
};

int unpack_snapshots_run(const struct unpack_snap *u, struct unpack_snap_result *res, struct unpack_stats *total,
			 struct err *e);
void unpack_snap_result_release(struct unpack_snap_result *res);

// How many of the image's first layers (diff_ids, n of them) are committed
// snapshots already: *count, the highest whose chain ID is committed (taken
// into the session's lease, which keeps it and its parents), 0 when none.
// For a pull that then need not fetch them.
int unpack_snapshots_committed(const struct unpack_snap *u, const char *const *diff_ids, size_t n, size_t *count,
			       struct err *e);

// The active snapshot key of layer index for a lease: "LEASE-INDEX CHAINID",
// as containerd's own "extract-UNIQUE CHAINID" (malloc'd).
char *unpack_snap_key(const char *lease, size_t index, const char *chain_id);

#endif
