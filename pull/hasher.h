// SPDX-License-Identifier: Apache-2.0
// Verification that overlaps the download: one thread hashes each blob's
// contiguous prefix (read back from the page cache) as the download engine
// reports it complete, and syncs the file once it is fully hashed, so the
// digest is known moments after the last byte arrives.
#ifndef IMGPULL_PULL_HASHER_H
#define IMGPULL_PULL_HASHER_H

#include <stdbool.h>
#include <stdint.h>

#include "oci/digest.h"
#include "util/err.h"

struct pull_hasher;

struct hash_job {
	int fd;
	uint64_t size;
	bool sync; // fdatasync after the last byte is hashed
	const EVP_MD *alg; // the blob digest's algorithm (oci_digest_evp)
	// Owned by the hasher; read through pull_hasher_result().
	uint64_t avail, hashed;
	bool done;
	int error; // errno of a failed read or sync
	unsigned char md[OCI_DIGEST_MD_MAX];
	// Set before pull_hasher_add: the prefix [0, check_at) must hash to
	// check_md (bytes kept from an earlier run, as its record saw them);
	// otherwise the job ends early with check_failed. 0: no check.
	uint64_t check_at;
	unsigned char check_md[OCI_DIGEST_MD_MAX];
	bool check_failed;
	// The digest of the prefix [0, mark_len) hashed so far, taken at the end
	// of each slice of reading (pull_hasher_mark).
	uint64_t mark_len;
	unsigned char mark_md[OCI_DIGEST_MD_MAX];
	void *ctx;
	struct hash_job *next;
};

// wake(ud) is called from the hasher thread when a job finishes.
int pull_hasher_start(struct pull_hasher **out, void (*wake)(void *), void *ud, struct err *e);
// Registers a job; it is hashed as pull_hasher_advance() makes bytes available.
void pull_hasher_add(struct pull_hasher *h, struct hash_job *j);
// Bytes [0, avail) of the job's file are written and final.
void pull_hasher_advance(struct pull_hasher *h, struct hash_job *j, uint64_t avail);
// True once the job is finished; then md or error is set. The job is unregistered.
bool pull_hasher_result(struct pull_hasher *h, struct hash_job *j);
// Unregisters a job whatever its state (waiting for a slice being read to
// end), so that it can be added again from nothing.
void pull_hasher_cancel(struct pull_hasher *h, struct hash_job *j);
// The latest prefix digest: *len bytes from the start hash to md (len 0: none yet).
void pull_hasher_mark(struct pull_hasher *h, struct hash_job *j, uint64_t *len,
		      unsigned char md[OCI_DIGEST_MD_MAX]);
// Bytes hashed so far (for progress).
uint64_t pull_hasher_hashed(struct pull_hasher *h, struct hash_job *j);
void pull_hasher_stop(struct pull_hasher *h);

#endif
