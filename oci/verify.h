// SPDX-License-Identifier: Apache-2.0
// Checking a whole layout: every blob in blobs/sha256 is hashed again, and
// every blob index.json reaches (manifests, indexes, configs, layers) must be
// there with its size. With repair, damaged blobs are removed (under their
// per-blob lock) and index entries that lost a blob are dropped, so the next
// pull fetches what is missing and index.json never names an incomplete image.
#ifndef IMGPULL_OCI_VERIFY_H
#define IMGPULL_OCI_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/layout.h"
#include "util/err.h"

enum oci_verify_kind {
	OCI_VERIFY_DAMAGED,   // digest: the blob; detail: what it hashes to
	OCI_VERIFY_REMOVED,   // digest: a damaged blob (or special entry) repair removed
	OCI_VERIFY_KEPT,      // digest: a damaged blob another process is replacing now;
			      // detail: NULL, or what kept it ("a directory": never removed)
	OCI_VERIFY_MISSING,   // digest: absent or of the wrong size; ref: the image that needs it
	OCI_VERIFY_BAD_MANIFEST, // digest: a manifest that does not parse; detail: why
	OCI_VERIFY_STRAY,     // detail: "<alg>/<name>", a file in blobs/<alg>/ that is not a blob
	OCI_VERIFY_DROPPED,   // ref: an index entry repair dropped; digest: the blob it lacked
	OCI_VERIFY_SPECIAL,   // digest: named like a blob, but not a regular file (never read);
			      // detail: what it is ("a symbolic link", "a FIFO")
};

struct oci_verify_finding {
	enum oci_verify_kind kind;
	const char *digest;
	const char *ref;
	const char *detail;
};

struct oci_verify_stats {
	size_t blobs;      // files hashed
	uint64_t bytes;
	size_t refs;       // index entries checked
	size_t damaged, missing, bad_manifests, stray, removed, dropped;
	size_t special;    // entries named like blobs that are not regular files
};

typedef void (*oci_verify_fn)(void *ud, const struct oci_verify_finding *f);

// Checks (and with repair, mends) the layout l (opened with oci_layout_attach).
// Findings go to cb as they are made; 0 when the check ran (problems or not:
// see st), < 0 when it could not: index.json or blobs/<alg>/ damaged
// (ERR_INTEGRITY: not JSON, a link, not a directory...), I/O errors (ERR_STORAGE).
// Nothing is read but regular files, and no link is followed.
int oci_verify_layout(const struct oci_layout *l, bool repair, oci_verify_fn cb, void *ud,
		      struct oci_verify_stats *st, struct err *e);

#endif
