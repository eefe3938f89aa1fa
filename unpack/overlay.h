// SPDX-License-Identifier: Apache-2.0
// unpack_layer's overlay mode (UNPACK_OVERLAY_UPPER), internal to unpack/: a
// layer written into an overlayfs upper directory, beside its lower
// directories, the way containerd's overlay applier writes it (archive.Apply
// with OverlayConvertWhiteout and WithParents), so that the overlay mount of
// the upper over the lowers shows what the rootfs mode's directory holds:
// - ".wh.NAME": a character device 0:0 NAME in the upper (owner from the
//   entry); a NAME this layer already wrote stays (OCI: a whiteout hides the
//   lower layers only).
// - ".wh..wh..opq" in DIR: trusted.overlay.opaque=y on DIR in the upper. At
//   the top, where overlayfs ignores the attribute on the root, every name the
//   lowers show there is whited out as well.
// - A parent missing in the upper is made as containerd's mkparent makes it:
//   mode, owner, times and non-"trusted." xattrs of that directory as the
//   merged view shows it in the lowers, else 0755.
// - A directory written where this layer had put a file or a whiteout, or
//   made as a parent where it had put a whiteout, hides the lowers' directory
//   of that name (opaque), as the rootfs mode's new directory would.
// - A name whose parent is a symbolic link or a file in the merged view is
//   refused, as the rootfs mode refuses it (the upper alone cannot follow a
//   link; containerd's mkparent refuses a file of the upper, makes a
//   directory over one of the lowers).
// - Directory entries' mtimes are set once the layer is written, as
//   containerd sets them.
// - A hard link to a file of the lowers copies the file up first (content with
//   its holes, owner, mode, times, non-"trusted." xattrs), with every name of
//   that file the merged view shows, then links: the link group is the rootfs
//   mode's.
// - "trusted.*" xattrs of the layer's entries are dropped.
// Every write is beneath the upper, through no symbolic link; the lowers are
// only read.
#ifndef IMGPULL_UNPACK_OVERLAY_H
#define IMGPULL_UNPACK_OVERLAY_H

#include <stdbool.h>
#include <sys/types.h>

#include "unpack/entry.h"
#include "unpack/stats.h"
#include "util/err.h"

struct archive_entry;
struct overlay;

// The upper (open as upper_fd, named upper in messages; it must be empty) and
// its lowers (topmost first, NULL-terminated; NULL: none).
int overlay_open(const char *upper, int upper_fd, const char *const *lowers, const char *what, bool chown,
		 struct unpack_stats *st, struct overlay **out, struct err *e);
void overlay_close(struct overlay *ov);

// Before the entry ent is written at path (clean, not ""): its trusted.*
// xattrs dropped, its parent made. *hides: a directory entry over something
// this layer wrote (call overlay_entry_dir_done once it is written).
int overlay_entry_begin(struct overlay *ov, struct archive_entry *ent, const char *path, bool *hides, struct err *e);
int overlay_entry_dir_done(struct overlay *ov, const char *path, struct err *e);
// Once every entry is written: each directory entry's mtime set again, as
// containerd sets them at the end (what was made in a directory after its
// entry changed it).
int overlay_finish(struct overlay *ov, struct err *e);
// The target (clean) of a hard link entry is in the upper: copied up from the
// lowers when only they have it.
int overlay_link_target(struct overlay *ov, const char *target, const char *entry, struct err *e);
// ".wh.name" in dir; ".wh..wh..opq" in dir (reserved: names at the top that
// stay); entry names the tar entry, uid/gid its owner.
int overlay_whiteout(struct overlay *ov, const char *dir, const char *name, const char *entry, uid_t uid, gid_t gid,
		     struct err *e);
int overlay_opaque(struct overlay *ov, const char *dir, const char *entry, const char *const *reserved, uid_t uid,
		   gid_t gid, struct err *e);


#endif
