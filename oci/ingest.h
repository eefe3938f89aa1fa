// SPDX-License-Identifier: Apache-2.0
// One blob on its way into a layout: the partial file ingest/<hex>.partial, the
// record of which of its bytes are written (ingest/<hex>.progress) and the lock
// that makes one process (or thread) at a time its only writer
// (flock on ingest/<hex>.lock, which the kernel drops when the holder dies).
//
// Only the holder opens, truncates or writes the partial file. Whoever takes a
// blob over from a holder that died keeps the bytes the record names when the
// record is consistent and was written in this boot (the data it names was
// written before it, so the page cache has it). After a reboot only the prefix
// whose digest the record carries is kept, and only once it hashes to that
// digest again (the engine's hasher checks it before anything is committed);
// anything else starts over. A
// blob enters blobs/ only through oci_ingest_commit, after the caller verified
// its digest and the commit checked its size.
#ifndef IMGPULL_OCI_INGEST_H
#define IMGPULL_OCI_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "oci/digest.h"
#include "oci/layout.h"
#include "util/err.h"

// What a progress record says: each chunk's written prefix, and the digest
// of the prefix [0, hashed) as the hasher saw it when the record was written.
struct oci_ingest_record {
	uint64_t chunk;
	uint64_t *written;   // n entries
	size_t n;
	uint64_t hashed;     // 0: no prefix digest
	unsigned char hashed_md[OCI_DIGEST_MD_MAX]; // in the blob digest's algorithm
	bool other_boot;     // written before the last reboot: only [0, hashed) is kept
};

struct oci_ingest {
	const struct oci_layout *l;
	char *digest;
	uint64_t size;
	char *lock_path;
	char *partial;
	char *record;
	int lock_fd; // >= 0 while this process holds the blob
	int fd;      // the partial file, open between open and commit/release
	// The record adopted by oci_ingest_open (rec.n == 0: none).
	struct oci_ingest_record rec;
	// Every record written is padded to record_len (for record_chunks chunks).
	size_t record_len, record_chunks;
};

enum oci_ingest_state {
	OCI_INGEST_HELD,    // this process is now the blob's only writer
	OCI_INGEST_BUSY,    // another process (or engine) is fetching it
	OCI_INGEST_PRESENT, // blobs/ has it: nothing to fetch
};

// l NULL: no layout (pull --discard): nothing to lock, keep or commit.
void oci_ingest_init(struct oci_ingest *in, const struct oci_layout *l, const char *digest,
		     uint64_t size);
// Tries, without waiting, to become the blob's writer; < 0 on I/O errors.
int oci_ingest_try(struct oci_ingest *in, struct err *e);
// Held: opens the partial file (returned), adopting the bytes a trustworthy record
// names, else starting from an empty file. Space for the whole blob is reserved.
int oci_ingest_open(struct oci_ingest *in, struct err *e);
// Bytes known to be in the partial file from start on (before end), per the record.
uint64_t oci_ingest_kept(const struct oci_ingest *in, uint64_t start, uint64_t end);
// Whether its bytes are synced before the blob is committed (the layout's --fsync).
bool oci_ingest_durable(const struct oci_ingest *in);
// The partial file's path (for messages).
const char *oci_ingest_partial_path(const struct oci_ingest *in);
// The error for a write to the partial file that failed with errno en: a full
// disk names the filesystem and says the bytes stay for a rerun.
int oci_ingest_write_failed(const struct oci_ingest *in, int en, struct err *e);
// Writes the record: chunk size and each chunk's written prefix (n chunks),
// and the digest md of the bytes [0, hashed) (hashed 0: none yet).
int oci_ingest_save(struct oci_ingest *in, uint64_t chunk, const uint64_t *written, size_t n,
		    uint64_t hashed, const unsigned char *md, struct err *e);
// The digest the kept prefix [0, *len) must have (from the adopted record);
// false when there is none. The caller checks it before it trusts the bytes.
bool oci_ingest_kept_check(const struct oci_ingest *in, uint64_t *len, unsigned char md[OCI_DIGEST_MD_MAX]);
// Starts the partial over from nothing (its adopted bytes proved wrong).
int oci_ingest_reset(struct oci_ingest *in, struct err *e);
// Moves the partial, whose digest the caller verified, into blobs/ after checking
// its size; drops the record and the lock.
int oci_ingest_commit(struct oci_ingest *in, struct err *e);
// Removes partial and record (their content is known to be wrong).
void oci_ingest_discard(struct oci_ingest *in);
// Gives the blob up: partial and record stay for whoever comes next.
void oci_ingest_release(struct oci_ingest *in);

// Bytes the filesystem already holds for digest's partial file (kept from an
// earlier run, or reserved by fallocate): they need no more room.
uint64_t oci_ingest_allocated(const struct oci_layout *l, const char *digest);

// True when a record file's text is whole: its CRC-32 matches (see oci_ingest_save).
bool oci_ingest_record_intact(const char *text, size_t len);
// Parses a progress record for digest/size; boot_id is the current boot. A
// record from another boot (the page cache it counted on is gone) keeps only
// the prefix [0, hashed), which the caller must hash again and compare before
// trusting it, and nothing when it has no prefix digest. Anything inconsistent
// is an error: the caller then starts over. Release out with
// oci_ingest_record_release (also after an error).
int oci_ingest_record_parse(const char *text, size_t len, const char *digest, uint64_t size,
			    const char *boot_id, struct oci_ingest_record *out, struct err *e);
void oci_ingest_record_release(struct oci_ingest_record *r);

#endif
