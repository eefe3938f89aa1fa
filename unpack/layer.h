// SPDX-License-Identifier: Apache-2.0
// One image layer applied to a root filesystem. Its compressed bytes (gzip
// through ISA-L's inflate where the build has it, zlib otherwise; zstd through
// libzstd; or plain tar) are inflated, hashed for the layer's diff_id, and read
// as tar by libarchive; entries are written under ROOTFS by libarchive's disk
// writer with its secure flags (no "..", nothing through a symbolic link),
// after imgpull's own checks: no absolute or escaping name, hard link
// targets inside ROOTFS. OCI whiteouts are applied as they come: ".wh.NAME"
// removes NAME of the lower layers, ".wh..wh..opq" empties its directory of
// what the lower layers put there; an entry that replaces a directory by a
// file removes the directory's tree first.
//
// A hostile entry fails the layer with ERR_INTEGRITY naming it; the rootfs is
// then incomplete (the caller does not mark it complete).
//
// In UNPACK_OVERLAY_UPPER mode the directory is instead an empty overlayfs
// upper directory, written as containerd's overlay applier writes a snapshot's
// "fs" (whiteouts as 0:0 character devices, opaque directories as
// trusted.overlay.opaque=y, missing parents made from the lower directories);
// the overlay mount of it over the lowers shows what the rootfs mode gives
// (unpack/overlay.h says how). A snapshot without a parent (containerd mounts
// it as a bind of its directory) takes the rootfs mode: containerd applies it
// so, whiteouts removing.
#ifndef IMGPULL_UNPACK_LAYER_H
#define IMGPULL_UNPACK_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "oci/digest.h"
#include "unpack/entry.h"
#include "unpack/stats.h"
#include "util/err.h"

enum unpack_compression { UNPACK_TAR, UNPACK_GZIP, UNPACK_ZSTD };

// The compression of a layer media type (OCI and Docker names); -1 for a media
// type that is not a filesystem layer.
int unpack_compression_of(const char *media_type, enum unpack_compression *out);


// What inflates gzip layers in this build: "isa-l" or "zlib".
const char *unpack_gzip_engine(void);

// Where a layer's compressed bytes are read from: fd, size bytes. wait, when
// set, blocks until at least want bytes from the start are final (a layer
// still downloading) and returns how many are (fewer only at an error, which
// it leaves in *e); NULL: all size bytes are there.
struct unpack_source {
	int fd;
	uint64_t size;
	uint64_t (*wait)(void *ud, uint64_t want, struct err *e);
	void *ud;
	void (*done)(void *ud); // when set, called once the source is read (by its opener)
	// When set: the reader gives up with the error why; a wait in progress
	// or to come returns at once, short.
	void (*cancel)(void *ud, const struct err *why);
	// The bytes read are not needed again: their blocks are punched out of
	// the file as the layer is read (fd must be open for writing; a file
	// that cannot punch holes keeps them).
	bool drop;
};

enum unpack_mode {
	UNPACK_ROOTFS,        // the directory is the whole root filesystem: whiteouts remove
	UNPACK_OVERLAY_UPPER, // the directory is an (empty) overlayfs upper over lowers
};

struct unpack_opts {
	bool chown;          // numeric owners from the tar (root); false: the caller's
	uint64_t max_bytes;  // uncompressed bytes a layer may expand to (0: no cap)
	// Names at the top of rootfs that are the caller's own (NULL-terminated):
	// a layer's entries of these names, and under them, are skipped.
	const char *const *reserved;
	enum unpack_mode mode;
	// UNPACK_OVERLAY_UPPER: the lower directories, topmost first as
	// overlayfs's lowerdir= lists them (NULL-terminated; NULL: none). Only read.
	const char *const *lowers;
	// A hard link entry's owner, xattrs, mode and mtime are given to the file
	// it links, as containerd's applier does (the reference for its
	// snapshots); false: the link alone, as libarchive, tar and umoci do.
	bool link_meta;
};

// Applies the layer read from src (compression c) to the directory rootfs;
// the uncompressed stream must hash to diff_id ("sha256:..."); diff_id NULL:
// no such check (an artifact layer whose blob digest the download verified
// and whose config names no diff_id). what names the layer in messages.
int unpack_layer(const char *rootfs, const struct unpack_source *src, enum unpack_compression c,
		 const char *diff_id, const char *what, const struct unpack_opts *o, struct unpack_stats *st,
		 struct err *e);

// Reads the whole layer through the inflater that unpack_layer uses and
// computes its diff_id into out ("sha256:..."), writing nothing; the
// uncompressed size in *bytes_out; out NULL: no hash, the inflate alone.
// (The inflate benchmark; a layer check.)
int unpack_layer_diff_id(const struct unpack_source *src, enum unpack_compression c, const char *what,
			 char out[OCI_DIGEST_LEN + 1], uint64_t *bytes_out, struct err *e);

#endif
