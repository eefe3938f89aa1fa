// SPDX-License-Identifier: Apache-2.0
// The report of imgpull bench, from the runs' figures (report/measure.h's
// JSON objects): per setting (connections and chunk size; one, or one per
// --sweep value) the median of every figure and the run whose time is the
// median; then the table or the JSON document (schema BENCH_SCHEMA, see
// README), the Prometheus metrics and the SVG timeline of the median run of
// the fastest setting. Text goes to the stream the command hands in.
#ifndef IMGPULL_REPORT_BENCH_H
#define IMGPULL_REPORT_BENCH_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/err.h"

#define BENCH_SCHEMA "imgpull.bench/v1"

// One setting's runs and their medians.
struct bench_setting {
	char *label;     // "connections=16 chunk-size=16M"
	char *value;     // the swept value, or NULL
	int connections;
	unsigned long long chunk;
	cJSON *runs;     // array of run reports
	cJSON *median;   // NULL until computed
	int median_run;  // index of the run whose time is the median
	bool ok;         // every run succeeded
};

struct bench_report {
	char **images;
	size_t nimages;
	bool discard, warmup;
	int runs;                // timed runs per setting
	const char *sweep_param; // "connections" or "chunk-size"; NULL: no sweep
	struct bench_setting *s;
	size_t ns;
	int best; // the fastest setting that completed (bench_pick_best); -1: none
};

// A setting with no runs yet: its label, value (copied) and parameters.
void bench_setting_init(struct bench_setting *s, const char *value, int connections, unsigned long long chunk);
// The medians of the runs so far (at least one).
void bench_setting_median(struct bench_setting *s);
void bench_pick_best(struct bench_report *b);
// A run's failure as its pull had it: the class its report names (the run's
// exit status follows from it) and its message; 0 for a run that succeeded.
int bench_run_outcome(const cJSON *run, struct err *e);
// The line for a finished run on err (a log record with JSON logs).
void bench_say_run(FILE *err, const char *label, int run, int runs, const cJSON *r, const struct err *e);
// The tables: per setting its runs, median and blobs; the sweep's rows.
void bench_print(FILE *out, const struct bench_report *b);
// The JSON document; code and e: how the bench ends (e NULL: it succeeded).
void bench_print_json(FILE *out, const struct bench_report *b, int code, const struct err *e);
// The figures in Prometheus text format, written atomically to path.
int bench_write_metrics(const char *path, const struct bench_report *b, int code, struct err *e);
// The timeline of the drawn setting's median run (the fastest, else the
// first) to path; nothing when no run has figures.
int bench_write_timeline(const char *path, const struct bench_report *b, struct err *e);
void bench_report_release(struct bench_report *b);

#endif
