// SPDX-License-Identifier: Apache-2.0
// containerd's local content store, written the way containerd commits: the
// data goes into a directory of its own under ROOT/io.containerd.content.v1.content/ingest/
// (so on the store's filesystem), is made read-only and renamed to
// blobs/sha256/<hex>, with the commit time as mtime. A blob that is only on
// disk is not known to containerd's metadata yet: the CRI PullImage that
// follows (cri.h) registers it without fetching it again.
#ifndef IMGPULL_CRI_CONTENT_H
#define IMGPULL_CRI_CONTENT_H

#include <stdbool.h>
#include <stdint.h>

#include "oci/layout.h"
#include "util/err.h"

#define CRI_DEFAULT_ROOT "/var/lib/containerd"

// Puts blob digest (size bytes, verified in layout l) into the content store
// under root: a hard link to the layout's file when both are on one
// filesystem (the blob is written once), else a synced copy. 1 if it was
// put, 0 if the store had it already with this size.
int cri_content_put(const char *root, const struct oci_layout *l, const char *digest, uint64_t size,
		    bool *linked, struct err *e);

#endif
