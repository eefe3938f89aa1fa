// SPDX-License-Identifier: Apache-2.0
// Garbage collection of a layout: blobs no index.json entry reaches (through
// its indexes and manifests), and partial downloads in ingest/ older than a
// given age, with their progress records and lock files. Runs only while no
// process has the layout open (oci_layout_lock_alone), so it never removes a
// blob a pull has committed for an image it has not recorded yet, nor a
// partial file being written.
#ifndef IMGPULL_OCI_GC_H
#define IMGPULL_OCI_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/layout.h"
#include "util/err.h"

enum oci_gc_kind {
	OCI_GC_BLOB,    // name: the digest of a blob no entry reaches
	OCI_GC_PARTIAL, // name: a partial download (ingest/<hex>.partial) older than the age
	OCI_GC_STRAY,   // name: a leftover file (a temporary file, a record without its partial,
			// or anything that is not a regular file: the entry itself goes, never a
			// link's target)
	OCI_GC_KEPT,    // name: "<dir>/<entry>", left alone though it is no blob nor partial
			// (a directory; a link or FIFO where an image needs a blob): note says why
};

struct oci_gc_item {
	enum oci_gc_kind kind;
	const char *name;
	uint64_t bytes; // space the file takes (allocated blocks)
	double age_s;   // since it was last written
	const char *note; // NULL, or what the entry is when not a regular file ("a symbolic link")
};

struct oci_gc_stats {
	size_t reachable;     // blobs index.json reaches that are present
	size_t blobs, partials, strays; // removed (or, dry run, to remove)
	size_t partials_kept; // younger than the age
	uint64_t bytes;       // freed (or, dry run, to free)
	size_t kept_special;  // OCI_GC_KEPT entries
};

typedef void (*oci_gc_fn)(void *ud, const struct oci_gc_item *it);

// l: attached (oci_layout_attach), and the caller holds oci_layout_lock_alone.
// Partial files older than partial_age_s go; dry_run reports and removes
// nothing. An index.json entry whose manifest cannot be read or parsed stops
// gc before anything is removed (ERR_INTEGRITY): what it reaches is unknown.
// So does index.json that is not JSON, and a blobs/, blobs/<alg>/ or ingest/
// that is a symbolic link or not a directory (never walked). Entries are
// removed with unlinkat on the entry itself: no link is ever followed.
int oci_gc(const struct oci_layout *l, double partial_age_s, bool dry_run, oci_gc_fn cb, void *ud,
	   struct oci_gc_stats *st, struct err *e);

#endif
