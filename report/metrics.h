// SPDX-License-Identifier: Apache-2.0
// A pull's figures in the Prometheus text exposition format (version 0.0.4),
// written atomically for node-exporter's textfile collector: the outcome,
// times, bytes, blobs, retries, CPU and memory, and per image its bytes and
// seconds.
#ifndef IMGPULL_REPORT_METRICS_H
#define IMGPULL_REPORT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "util/buf.h"
#include "util/err.h"

struct metrics_image {
	const char *ref;
	const char *digest; // may be NULL (not resolved)
	uint64_t bytes;
	double seconds;
	bool complete;
};

struct metrics {
	int exit_code;            // 0: success
	const char *error_class;  // "ok", "network", ...
	double seconds, resolve_seconds;
	uint64_t bytes, downloaded;
	size_t blobs_downloaded, blobs_present;
	unsigned retries;
	double cpu_seconds;
	uint64_t max_rss_bytes;
	const struct metrics_image *images;
	size_t nimages;
};

// A family's HELP and TYPE lines.
void metrics_family(struct buf *out, const char *name, const char *type, const char *help);
// A label value, escaped (backslash, double quote, newline).
void metrics_label(struct buf *out, const char *v);
// The exposition text of m (appended to out).
void metrics_format(struct buf *out, const struct metrics *m);
// Writes it to path (temporary file, fsync, rename).
int metrics_write(const char *path, const struct metrics *m, struct err *e);
// A process's CPU time (user and system) and peak resident memory, as
// getrusage and wait4 report them.
double metrics_cpu_seconds(const struct rusage *ru);
uint64_t metrics_rss_bytes(const struct rusage *ru);

#endif
