// SPDX-License-Identifier: Apache-2.0
// The measurement of one pull (imgpull bench): every engine event recorded
// (one per range request: its connection, timing, bytes and outcome), the
// run's figures as a JSON object (times, rates, requests, retries and their
// causes, connections in flight, per blob, and the request log the timeline
// draws), and the run itself in a child process of its own, so that its CPU
// time and peak memory are its own (wait4) and nothing carries over from the
// run before. The fields are listed in README (imgpull bench --json).
#ifndef IMGPULL_REPORT_MEASURE_H
#define IMGPULL_REPORT_MEASURE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "pull/engine.h"
#include "util/err.h"

struct measure;

struct measure *measure_new(void);
void measure_free(struct measure *m);
// The engine's observer (ud is the struct measure).
void measure_observe(void *ud, const struct pull_event *ev);

// What the run knows beyond its events.
struct measure_run {
	double run_at;         // seconds from the run's start to the engine's
	uint64_t downloaded;   // bytes the engine received
	uint64_t discard_peak; // --discard: the most bytes held for the hash at once
};

// The run's figures (times from the run's start); e: how it failed, NULL if
// it did not; secs: its wall time. The lanes are put in reading order.
cJSON *measure_report(struct measure *m, const struct measure_run *run, const struct err *e, double secs);

// What a child runs: fills *report and returns its exit status. dir is the
// fresh directory made for it, NULL when none was asked for.
typedef int (*measure_child_fn)(void *ud, const char *dir, cJSON **report);

// Runs fn in a child process, in a fresh directory under parent (made if
// missing, removed after; parent NULL: none), and returns its report in
// *out, with its "cpu_seconds" (user and system) and "max_rss_bytes" added.
// A signal received meanwhile is passed on to the child, which ends its pull
// as pull would. A child that dies without a report is an ERR_INTERNAL.
int measure_child(const char *parent, measure_child_fn fn, void *ud, cJSON **out, struct err *e);

#endif
