// SPDX-License-Identifier: Apache-2.0
// An image's layers applied in order into a root filesystem directory, from
// the blobs of a layout whose digests were checked when they entered it; each
// layer's uncompressed stream is checked against the config's diff_ids.
//
// An OCI artifact (an artifactType, or a config that is not an image config:
// ORAS, model packaging tools) is written as files instead: each layer under
// its org.opencontainers.image.title, a clean relative name inside ROOTFS.
//
// ROOTFS is presented as complete only by the marker file
// ROOTFS/.imgpull-unpacked (JSON: image, manifest digest, layers, bytes), written
// last. While unpacking, ROOTFS/.imgpull-unpacking says so: a later run finds
// it, empties ROOTFS and starts over. A non-empty ROOTFS with neither marker is
// never touched (ERR_USAGE): it is not imgpull's.
#ifndef IMGPULL_UNPACK_ROOTFS_H
#define IMGPULL_UNPACK_ROOTFS_H

#include <stdbool.h>
#include <stdint.h>

#include "oci/layout.h"
#include "oci/manifest.h"
#include "unpack/layer.h"
#include "util/buf.h"
#include "util/err.h"

#define UNPACK_MARKER_DONE ".imgpull-unpacked"
#define UNPACK_MARKER_BUSY ".imgpull-unpacking"

struct unpack_image {
	const char *rootfs;
	const struct oci_layout *layout; // holds the config and every layer
	const char *name;                // the image reference (for the marker and messages)
	const char *manifest_digest;
	const struct oci_manifest *manifest;
	bool chown;                      // numeric owners from the layers (root)
	// Where the config's and the layers' bytes come from while they download:
	// fills src (src->fd is closed after use; src->wait waits for more).
	// NULL: the layout's blobs, all there.
	int (*open_blob)(void *ud, const struct oci_descriptor *d, struct unpack_source *src, struct err *e);
	void *blob_ud;
	// The layout is temporary: a layer's bytes leave it as they are read
	// (src->drop) and its blob once the layer is applied, unless a later
	// layer is the same blob.
	bool drop_blobs;
};

// What ROOTFS holds, as a pull sees it before it creates anything.
struct unpack_rootfs_state {
	char *done;     // the manifest digest its completion marker names; NULL: none
	uint64_t bytes; // the image's config and layers, as that marker says (0: not said)
};

// The directory --unpack names, made fit to have its temporary layout beside
// it (ROOTFS.imgpull-layout): trailing slashes dropped, a last component '.'
// or '..' resolved (realpath). The root directory, however named ('/', '/..',
// a link to it), is refused with ERR_USAGE: a rerun may empty ROOTFS.
int unpack_rootfs_name(const char *arg, char **out, struct err *e);
// The lexical part: arg without its trailing slashes; NULL when nothing is
// left ('/') or its last component is '.' or '..' (to be resolved).
char *unpack_rootfs_trim(const char *arg);
// Reads ROOTFS without changing anything: missing, empty, or imgpull's (a
// marker) are fine; anything else is refused with ERR_USAGE (a file, a
// non-empty directory with neither marker). st is released by the caller.
int unpack_rootfs_check(const char *rootfs, struct unpack_rootfs_state *st, struct err *e);
void unpack_rootfs_state_release(struct unpack_rootfs_state *st);

// The bytes of descriptor d (the config or a layer) as a source: streamed
// through u->open_blob, or the layout's blob.
int unpack_image_source(const struct unpack_image *u, const struct oci_descriptor *d, struct unpack_source *src,
			struct err *e);
// Opens (making them as needed) the directories of the clean relative path
// dir under the directory root, never through a symbolic link or out of it
// (ERR_INTEGRITY naming what); the caller closes the descriptor.
int unpack_mkdirs_beneath(int root, const char *dir, const char *what, struct err *e);
// Writes descriptor d's blob (read through u's source as it arrives) as the
// new file name (a clean relative path) under root; an existing name is
// ERR_INTEGRITY.
int unpack_blob_file(const struct unpack_image *u, int root, const struct oci_descriptor *d, const char *name,
		     const char *what, struct err *e);
// Whether layer i's bytes may leave the temporary layout once read (no later
// layer is the same blob), and its blob once applied (unpack_image_drop_blob).
bool unpack_image_drops(const struct unpack_image *u, size_t i);
void unpack_image_drop_blob(const struct unpack_image *u, const char *digest);
// The config, whole, into b (capped at OCI_MANIFEST_MAX: ERR_INTEGRITY).
int unpack_image_config(const struct unpack_image *u, struct buf *b, struct err *e);
// The image's diff_ids from its config (read through u's source), one per
// layer (ERR_INTEGRITY otherwise); free each and the array.
int unpack_image_diff_ids(const struct unpack_image *u, char ***ids, size_t *nids, struct err *e);

// ROOTFS made ready for a fresh unpack: created, or emptied when an earlier
// run of ours left it unfinished or holds another image (the busy marker
// written). 1: this image is there already (its marker names the manifest).
int unpack_image_prepare(const struct unpack_image *u, struct err *e);
// The image's filesystem layers applied in order (counted into total).
int unpack_image_layers(const struct unpack_image *u, struct unpack_stats *total, struct err *e);
// An artifact: each layer becomes the file its title names.
int unpack_image_files(const struct unpack_image *u, struct unpack_stats *total, struct err *e);
// The markers: complete first, then the busy one goes.
int unpack_image_finish(const struct unpack_image *u, struct err *e);

#endif
