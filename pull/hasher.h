// SPDX-License-Identifier: Apache-2.0
// Verification that overlaps the download: one thread hashes each blob's
// contiguous prefix (read back from the page cache) as the download engine
// reports it complete, and syncs the file once it is fully hashed, so the
// digest is known moments after the last byte arrives.
#ifndef IMGPULL_PULL_HASHER_H
#define IMGPULL_PULL_HASHER_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct pull_hasher;

struct hash_job {
	int fd;
	uint64_t size;
	bool sync; // fdatasync after the last byte is hashed
	// Owned by the hasher; read through pull_hasher_result().
	uint64_t avail, hashed;
	bool done;
	int error; // errno of a failed read or sync
	unsigned char md[32];
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
// Bytes hashed so far (for progress).
uint64_t pull_hasher_hashed(struct pull_hasher *h, struct hash_job *j);
void pull_hasher_stop(struct pull_hasher *h);

#endif
