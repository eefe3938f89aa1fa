// SPDX-License-Identifier: Apache-2.0
// The drawing of a measured pull as an SVG waterfall (imgpull bench
// --timeline): one lane per connection, one bar per range request coloured by
// blob (its byte count and timing on hover, via <title>), retries and
// redirects marked, the throughput over time as a curve, axes in seconds.
// Only draws: the figures come from the caller (report/measure.c measures,
// report/bench.c picks the run).
#ifndef IMGPULL_REPORT_TIMELINE_H
#define IMGPULL_REPORT_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

enum timeline_kind {
	TIMELINE_OK,       // the range arrived in full
	TIMELINE_RETRY,    // the try failed and the range was asked for again (note: why)
	TIMELINE_REDIRECT, // the registry answered with a redirect (no body bytes)
	TIMELINE_OTHER,    // dropped without counting (cancelled, token renewed, ...)
};

struct timeline_req {
	int lane;              // connection, 0 .. nlanes-1
	int blob;              // index into blobs (colour), 0 .. nblobs-1
	double start;          // seconds from the run's start: request sent
	double first;          // first body byte; < 0 when none arrived
	double end;            // the transfer ended
	uint64_t offset, len;  // the byte range asked for within the blob
	uint64_t bytes;        // body bytes received by this request
	int status;            // HTTP status; 0 when none was received
	enum timeline_kind kind;
	const char *note;      // why, for a retry; may be NULL
};

struct timeline_blob {
	const char *digest; // "sha256:..."
	uint64_t size;
};

struct timeline {
	const char *title;    // e.g. "registry.example/app:1 · run 2 of 3"
	double duration;      // seconds: the x axis runs 0 .. duration
	double resolve;       // seconds before the first blob request (auth + manifests), shaded
	int nlanes;
	const char *const *lane_labels; // nlanes labels ("10.0.0.5:443 via :51234"), may be NULL
	const struct timeline_blob *blobs;
	size_t nblobs;
	const struct timeline_req *reqs;
	size_t nreqs;
};

// The SVG document for t (appended to out, which must be uncapped enough).
int timeline_svg(struct buf *out, const struct timeline *t, struct err *e);
// Writes it to path (temporary file, rename).
int timeline_write(const char *path, const struct timeline *t, struct err *e);

#endif
