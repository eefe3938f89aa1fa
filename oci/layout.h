// SPDX-License-Identifier: Apache-2.0
// The OCI image layout on disk: oci-layout, index.json, blobs/sha256/, plus
// ingest/ for partial downloads. Blobs enter blobs/ only by an atomic rename
// after their digest was verified, so a name there is a promise about content.
// index.json is changed under an exclusive lock and replaced atomically, so
// several imgpull processes can share one layout.
#ifndef IMGPULL_OCI_LAYOUT_H
#define IMGPULL_OCI_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "oci/digest.h"
#include "oci/manifest.h"
#include "util/err.h"

struct oci_layout {
	char *dir;
	char *blobs_dir;  // DIR/blobs/sha256
	char *ingest_dir; // DIR/ingest
	bool fsync;       // fdatasync blobs before they are renamed into place
	char boot_id[64]; // this boot, for the unsynced-blob journal
};

// Creates the layout if needed (oci-layout, empty index.json); ERR_STORAGE on
// failure or when DIR holds something that is not an OCI layout.
//
// Blobs committed without fsync are listed in ingest/unsynced with the boot
// they were written in. Open re-verifies the blobs listed for another boot
// (the machine went down before the page cache may have reached the disk) and
// deletes those that do not hash to their name; blobs of this boot are fine,
// since the kernel still holds or has written their data.
int oci_layout_open(struct oci_layout *l, const char *dir, struct err *e);
// An existing layout, as it is: nothing created, nothing recovered (ERR_NOTFOUND
// when DIR has no oci-layout file).
int oci_layout_attach(struct oci_layout *l, const char *dir, struct err *e);
void oci_layout_release(struct oci_layout *l);
char *oci_layout_blob_path(const struct oci_layout *l, const char *digest);
// True if blobs/ has the digest with exactly this size.
bool oci_layout_has_blob(const struct oci_layout *l, const char *digest, uint64_t size);
// Verifies data against digest (ERR_INTEGRITY) and stores it atomically.
int oci_layout_put_blob(const struct oci_layout *l, const char *digest, const void *data,
			size_t len, struct err *e);
// Moves a verified partial file into blobs/ (fd is synced first when l->fsync,
// else the blob goes into the unsynced journal).
int oci_layout_commit_blob(const struct oci_layout *l, const char *digest, int fd,
			   const char *partial, struct err *e);

// Hashes a blob in the layout; 1 if it matches its name, 0 if not, < 0 on I/O
// error (ERR_NOTFOUND when absent). got (may be NULL) receives what it hashes
// to, st (may be NULL) the identity of the file that was read.
int oci_layout_verify_blob(const struct oci_layout *l, const char *digest, char got[OCI_DIGEST_LEN + 1],
			   struct stat *st, struct err *e);

struct oci_index_entry {
	const char *media_type;
	const char *digest;
	uint64_t size;
	const char *ref_name; // full normalized reference, e.g. docker.io/library/busybox:1.36
	const struct oci_platform *platform; // may be NULL
};

// Adds or replaces (same ref name) an entry in index.json, after checking under
// the lock that the manifest and every blob it reaches are in blobs/.
int oci_layout_add_ref(const struct oci_layout *l, const struct oci_index_entry *ent, struct err *e);

// 1 if the manifest or index digest (of media_type and size) and every blob it
// reaches are in blobs/; 0 if not, with the first absent digest in missing;
// < 0 when a manifest in the layout cannot be read or parsed.
int oci_layout_complete(const struct oci_layout *l, const char *media_type, const char *digest,
			uint64_t size, char missing[OCI_DIGEST_LEN + 1], struct err *e);

// Called for each index entry dropped: its reference name and the absent blob.
typedef void (*oci_layout_dropped_fn)(void *ud, const char *ref, const char *missing);
// Drops from index.json every entry that is no longer complete, so that it
// never names an image with a blob missing.
int oci_layout_prune_refs(const struct oci_layout *l, oci_layout_dropped_fn cb, void *ud, struct err *e);

#endif
