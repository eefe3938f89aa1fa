// SPDX-License-Identifier: Apache-2.0
// The OCI image layout on disk: oci-layout, index.json, blobs/sha256/, plus
// ingest/ for partial downloads. Blobs enter blobs/ only by an atomic rename
// after their digest was verified, so a name there is a promise about content.
// index.json is changed under an exclusive lock and replaced atomically, so
// several imgpull processes can share one layout.
//
// Everything inside the layout is untrusted: it is reached from the layout's
// directory one name at a time, never through a symbolic link, and nothing but
// a regular file is ever read (a FIFO would hang a read, /dev/zero feed it
// forever, a link lead out of the layout). A link, or a file where a directory
// belongs, is ERR_INTEGRITY: the layout is damaged.
#ifndef IMGPULL_OCI_LAYOUT_H
#define IMGPULL_OCI_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "oci/digest.h"
#include "oci/manifest.h"
#include "util/buf.h"
#include "util/err.h"

struct oci_layout {
	char *dir;
	char *blobs_dir;  // DIR/blobs/sha256 (sha512 blobs: DIR/blobs/sha512, made on first use)
	char *ingest_dir; // DIR/ingest
	bool fsync;       // fdatasync blobs before they are renamed into place
	char boot_id[64]; // this boot, for the unsynced-blob journal
	int users_fd;     // open: DIR/.imgpull.users, held shared (see oci_layout_lock_alone)
	int dir_fd;       // DIR, open while attached: everything inside is reached from it
	int alg_fd[2];    // blobs/sha256, blobs/sha512 as found when attached or opened (-1: not then)
};

// Creates the layout if needed (oci-layout, empty index.json); ERR_STORAGE on
// failure or when DIR holds something that is not an OCI layout; ERR_INTEGRITY
// when blobs/, blobs/sha256/ or ingest/ is a link or not a directory.
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
// Every process that opened the layout (oci_layout_open) holds DIR/.imgpull.users
// shared until oci_layout_release. This takes it exclusively without waiting:
// 1 with *fd held (close it to let go), 0 when a process has the layout open.
// gc uses it to never run beside a pull.
int oci_layout_lock_alone(const struct oci_layout *l, int *fd, struct err *e);
// The digest algorithms a layout may hold blobs of, each in blobs/<name>/.
extern const char *const oci_layout_algs[2];
// DIR/blobs/<alg> (malloc'd).
char *oci_layout_alg_dir(const struct oci_layout *l, const char *alg);
// With fsync: syncs the blobs/<alg>/ directories there are (the renames of
// committed blobs); nothing otherwise.
int oci_layout_sync_blob_dirs(const struct oci_layout *l, struct err *e);
char *oci_layout_blob_path(const struct oci_layout *l, const char *digest);
// The blob's file, opened for reading (ERR_STORAGE naming it when it cannot be,
// ERR_INTEGRITY when it is not a regular file).
int oci_layout_open_blob(const struct oci_layout *l, const char *digest, struct err *e);
// A manifest or other small blob read whole into b (b->max caps it).
int oci_layout_read_blob(const struct oci_layout *l, const char *digest, struct buf *b, struct err *e);
// "blobs/<alg>/<hex>" (malloc'd), the blob's path inside the layout.
char *oci_layout_blob_rel(const char *digest);
// lstat of the blob's entry: 0, or -1 with errno.
int oci_layout_blob_stat(const struct oci_layout *l, const char *digest, struct stat *st);

// Inside the layout, rel being a path of names under DIR ("blobs/sha256",
// "index.json"), none of which is followed when it is a symbolic link:
// The directory DIR/rel, opened: ERR_NOTFOUND when absent, ERR_INTEGRITY when
// it or a directory above it is a link or not a directory.
int oci_layout_open_dir(const struct oci_layout *l, const char *rel, struct err *e);
// The regular file DIR/rel, opened for reading: ERR_NOTFOUND when absent,
// ERR_INTEGRITY when it is anything but a regular file (never opened then; st,
// when not NULL, describes the entry itself), ERR_STORAGE on I/O errors.
int oci_layout_open_file(const struct oci_layout *l, const char *rel, struct stat *st, struct err *e);
// The same, read whole into b (b->max caps it: ERR_STORAGE past it).
int oci_layout_read_file(const struct oci_layout *l, const char *rel, struct buf *b, struct err *e);
// lstat of DIR/rel: 0, or -1 with errno.
int oci_layout_entry_stat(const struct oci_layout *l, const char *rel, struct stat *st);
// The names in the directory DIR/rel but . and .. (unsorted; file_list_free),
// with the directory left open in *fd for fstatat/unlinkat on them. Errors as
// oci_layout_open_dir's.
int oci_layout_list_dir(const struct oci_layout *l, const char *rel, int *fd, char ***names, size_t *n,
			struct err *e);
// Removes the entry DIR/rel itself (a link, never what it points at) if it is
// still the one seen and not a directory: 1 removed, 0 not (changed, gone, a
// directory), < 0 on error.
int oci_layout_remove_entry(const struct oci_layout *l, const char *rel, const struct stat *seen, struct err *e);
// A blob's writer lock, ingest/<hex>.lock (the one oci/ingest's holder takes):
// its path (freed by the caller); taken without waiting, on the file the path
// still leads to once locked: 1 held (*fd), 0 another holder has it, < 0 error.
// The unlock unlinks the file while still holding it, then closes *fd.
char *oci_layout_blob_lock_path(const struct oci_layout *l, const char *digest);
int oci_layout_blob_lock(const char *path, int *fd, struct err *e);
void oci_layout_blob_unlock(const char *path, int *fd);
// Removes the entry blobs/<digest> if it is still the one seen (a blob found
// damaged, or a link, a FIFO... in a blob's place: the entry itself, never what
// a link points at), under the blob's lock, so that a good copy being committed
// meanwhile is never the one removed. 1 if removed; 0 if the entry changed, is
// gone or is a directory, or another process holds the blob (it is fetching a
// copy that will replace it).
int oci_layout_remove_blob(const struct oci_layout *l, const char *digest, const struct stat *seen,
			   struct err *e);
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
// error (ERR_NOTFOUND when absent, ERR_INTEGRITY when it is not a regular file:
// st then describes the entry). got (may be NULL) receives what it hashes to,
// st (may be NULL) the identity of the file that was read.
int oci_layout_verify_blob(const struct oci_layout *l, const char *digest, char got[OCI_DIGEST_LEN + 1],
			   struct stat *st, struct err *e);

struct oci_index_entry {
	const char *media_type;
	const char *digest;
	uint64_t size;
	const char *ref_name; // full normalized reference, e.g. docker.io/library/busybox:1.36
	const struct oci_platform *platform; // may be NULL
	// One more blob kept with the entry (annotation OCI_ANNOT_KEEP; gc keeps it,
	// add_ref wants it in blobs/): the index a kept signature signs. May be NULL.
	const char *keep;
	// A kept signature's entry: the digest it signs (annotation
	// OCI_ANNOT_SIGNATURE_OF; such entries are not images). May be NULL.
	const char *signature_of;
};
#define OCI_ANNOT_KEEP "io.imgpull.keep"
#define OCI_ANNOT_SIGNATURE_OF "io.imgpull.signature-of"


// Adds or replaces (same ref name) an entry in index.json, after checking under
// the lock that the manifest and every blob it reaches are in blobs/.
int oci_layout_add_ref(const struct oci_layout *l, const struct oci_index_entry *ent, struct err *e);

// 1 if the manifest or index digest (of media_type and size) and every blob it
// reaches are in blobs/; 0 if not, with the first absent digest in missing;
// < 0 when a manifest in the layout cannot be read or parsed.
int oci_layout_complete(const struct oci_layout *l, const char *media_type, const char *digest,
			uint64_t size, char missing[OCI_DIGEST_LEN + 1], struct err *e);

// A walk over what a manifest or index reaches in the layout.
struct oci_walk_step {
	const char *media_type;
	const char *digest;
	uint64_t size;
	int depth;     // 0: the one the walk started from
	bool manifest; // a manifest or index (its children are walked next); else a config or layer
};
enum { OCI_WALK_SKIP = 0, OCI_WALK_DESCEND = 1, OCI_WALK_STOP = 2 };
// Called for each descriptor reached, before its children: OCI_WALK_DESCEND
// (into it, when it is a manifest in blobs/), OCI_WALK_SKIP, OCI_WALK_STOP
// (end the walk), or < 0 with e set.
typedef int (*oci_walk_fn)(void *ud, const struct oci_walk_step *s, struct err *e);
// Walks from the manifest or index digest: each index's manifests, each
// manifest's config and layers. 0 when walked to the end, 1 when a callback
// stopped it, < 0 on an error (a manifest in blobs/ that does not parse,
// nesting deeper than index -> index -> manifest, an invalid digest).
int oci_layout_walk(const struct oci_layout *l, const char *media_type, const char *digest, uint64_t size,
		    oci_walk_fn fn, void *ud, struct err *e);

// index.json as it is, for reading: root and its manifests array
// (ERR_INTEGRITY when it is not JSON, not an image index, or not a regular
// file; ERR_STORAGE on I/O errors). cJSON_Delete(*root) after.
struct cJSON;
int oci_layout_index_read(const struct oci_layout *l, struct cJSON **root, const struct cJSON **manifests,
			  struct err *e);
// An entry of the manifests array, read leniently: NULL (size 0) where absent or
// of the wrong type (a negative size too).
void oci_index_entry_fields(const struct cJSON *m, const char **mt, const char **digest, uint64_t *size,
			    const char **name);

// Called for each index entry dropped: its reference name and the absent blob.
typedef void (*oci_layout_dropped_fn)(void *ud, const char *ref, const char *missing);
// Drops from index.json every entry that is no longer complete, so that it
// never names an image with a blob missing.
int oci_layout_prune_refs(const struct oci_layout *l, oci_layout_dropped_fn cb, void *ud, struct err *e);

#endif
