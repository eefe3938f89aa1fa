// SPDX-License-Identifier: Apache-2.0
// pull --unpack: the image's layers go into ROOTFS on a thread of their own
// while they download, each read as far as the engine has written and hashed
// it (pullrun_stream_open). An unpack that fails ends the pull with its error.
#ifndef IMGPULL_RUN_UNPACKRUN_H
#define IMGPULL_RUN_UNPACKRUN_H

#include <pthread.h>
#include <stdbool.h>

#include "pull/engine.h"
#include "run/pullrun.h"
#include "unpack/rootfs.h"
#include "util/err.h"

struct unpackrun {
	const struct pullrun_conf *c; // set by the caller; the rest is unpackrun_start's
	struct pull_engine *eng;
	struct unpack_image u;
	pthread_t th;
	bool started;
	int rc;
	struct err err;
	struct unpack_stats st;
	double t0, took;
};

// pullrun's before_run (ud a struct unpackrun): starts the unpacking thread
// on image 0 of r.
void unpackrun_start(void *ud, struct pullrun *r);
// Waits for the unpack; its error when the pull itself went well.
int unpackrun_finish(struct unpackrun *up, bool pulled, struct err *e);

#endif
