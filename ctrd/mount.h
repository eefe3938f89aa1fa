// SPDX-License-Identifier: Apache-2.0
// Where to write a layer, from what Prepare or Mounts answered for an active
// snapshot. containerd's overlayfs snapshotter answers a bind mount of the
// snapshot's fs directory for a snapshot without parent and an overlay whose
// upperdir takes the layer otherwise (containerd's applier writes straight
// into the upperdir, the lowerdirs only read); native answers a bind mount of
// the snapshot's directory (already a copy of the parent). Anything else is
// refused, as is every path that is not a clean absolute path under the
// snapshotter's root.
#ifndef IMGPULL_CTRD_MOUNT_H
#define IMGPULL_CTRD_MOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "ctrd/snapshots.h"
#include "util/err.h"

#define CTRD_LOWERS_MAX 512 // lowerdirs of an overlay (containerd's images stay under 128 layers)

struct ctrd_target {
	bool overlay;   // an overlay's upperdir (else a bind mount's source)
	char *dir;      // the directory to write into, as imgpull sees it (translated)
	char **lowers;  // overlay: the lowerdirs, topmost (the parent) first, translated
	size_t nlowers;
};
void ctrd_target_free(struct ctrd_target *t);

// The target of mounts: exactly one mount, either "bind" (not "ro") whose
// source is the directory, or "overlay" with one upperdir= (the directory) and
// a lowerdir= (split at ':'), none of "ro", "userxattr", "uidmap=", "gidmap="
// (a rootless or id-mapped snapshot, whose files imgpull would write wrong).
// Every path must be absolute, without "." or ".." or empty components, and
// under root (the snapshotter's root as containerd sees it, e.g.
// /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs); its root prefix
// is replaced by local_root (where imgpull sees that directory; NULL: root).
// ERR_USAGE for a mount imgpull cannot write (another type, options, a path
// outside root: fall back to containerd's own unpack), ERR_NETWORK for
// malformed paths in containerd's answer.
int ctrd_mount_target(const struct ctrd_mounts *m, const char *root, const char *local_root, struct ctrd_target *t,
		      struct err *e);

#endif
