// SPDX-License-Identifier: Apache-2.0
// How a pull or a chart ended, where a node's tools look for it: the
// termination message (report/termlog.h: the outcome, then a line per image)
// and the metrics file (report/metrics.h), written on every exit, a usage
// error included.
#ifndef IMGPULL_REPORT_OUTCOME_H
#define IMGPULL_REPORT_OUTCOME_H

#include <stdint.h>

#include "pull/engine.h"
#include "pull/registry.h"
#include "util/err.h"

// Where the outcome goes; NULL: not there.
struct outcome_to {
	const char *termlog;
	const char *metrics;
};

// From the paths the command found named before parsing its options (NULL:
// none), so that an error in them is reported too: the termination message's
// (report/termlog.h's termlog_path), and the metrics file unless it is empty or
// something there is not a regular file (the options' check refuses those).
void outcome_to_early(struct outcome_to *to, const char *termlog_named, const char *metrics_named);

// A pull as far as it came.
struct outcome_pull {
	char *const *refs;             // the references as given, nimg of them
	const struct pull_image *imgs; // nimg of them, the first `resolved` resolved
	int nimg, resolved;
	struct pull_engine *eng;       // NULL: no blob was asked for
	unsigned retries;
	double secs;                   // the pull's wall time
	double run_at;                 // seconds until the engine started
};

// On success each image's reference, digest, bytes, seconds and MB/s; on
// failure the class, exit status, error and the images it concerns (the one
// being resolved, or those not finished); an interrupt says the bytes kept.
void outcome_pull(const struct outcome_to *to, const struct outcome_pull *p, const struct err *e);
// pull --unpack found ROOTFS complete for img (bytes in all): nothing fetched.
void outcome_unpacked(const struct outcome_to *to, const char *rootfs, const struct pull_image *img,
		      uint64_t bytes, double secs);

// A chart as far as it came.
struct outcome_chart {
	const char *ref;                   // what was asked for
	const char *name, *version;        // once found
	const char *digest;                // its manifest's (a chart repository's: the .tgz's); may be NULL
	const char *written;               // the file or directory written
	uint64_t bytes;                    // the .tgz and its .prov
	unsigned blobs;                    // fetched when it succeeded
	double secs;
};

void outcome_chart(const struct outcome_to *to, const struct outcome_chart *c, const struct err *e);

#endif
