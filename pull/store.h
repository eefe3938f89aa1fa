// SPDX-License-Identifier: Apache-2.0
// The disk side of the download engine: a few worker threads that run the
// engine's storage work (claiming a blob and reserving its space, writing
// received bytes, rewriting progress records, committing), so that the
// transfer loop never waits on the disk. Jobs with the same key (a blob) run
// one at a time and in the order they were submitted; jobs of other keys run
// beside them, so one blob's slow writes hold up no other blob.
#ifndef IMGPULL_PULL_STORE_H
#define IMGPULL_PULL_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

struct pull_store;

struct pull_store_job {
	void (*run)(struct pull_store_job *j); // on a worker thread
	const void *key;                       // jobs of one key run in order, one at a time
	struct pull_store_job *next;           // the store's
};

// wake(ud) is called from a worker when a job has run and the results were
// all taken before it (the caller takes them all at once).
int pull_store_start(struct pull_store **out, int workers, void (*wake)(void *), void *ud, struct err *e);
// Queues j; it runs after every job of its key submitted before it, once
// the store is kicked (one wake for what a caller's turn submitted).
void pull_store_submit(struct pull_store *s, struct pull_store_job *j);
// Sets an idle worker on the jobs queued (pull_store_drain kicks too).
void pull_store_kick(struct pull_store *s);
// The jobs that have run since the last call, in the order they ran (a list
// through next), without waiting; NULL when none.
struct pull_store_job *pull_store_take_done(struct pull_store *s);
// Waits until every submitted job has run (they are left for take_done).
void pull_store_drain(struct pull_store *s);
// Drains, then ends the workers. Jobs not taken back are the caller's.
void pull_store_stop(struct pull_store *s);

#endif
