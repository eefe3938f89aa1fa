// SPDX-License-Identifier: Apache-2.0
// imgpull bench: what a registry and the network deliver to this node. Each
// run is a real pull (every option of pull) into a fresh temporary layout, or
// with --discard into memory that is dropped once verified, in a child
// process of its own, so that its CPU time and peak memory are its own
// (wait4) and no connection, token or cache carries over from the run before.
// The child measures through the engine's events (one per range request) and
// hands its figures to the parent as JSON over a pipe; the parent takes the
// medians, prints a table or JSON, and writes metrics and the timeline. The
// verb: the options, the runs; the measurement and the report are report/'s
// (measure.h, bench.h).
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "cmd/pullopts.h"
#include "report/bench.h"
#include "report/measure.h"
#include "run/pullrun.h"
#include "util/clock.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/mem.h"

#define DEFAULT_RUNS 3

enum { B_O_RUNS = 300, B_O_WARMUP, B_O_DISCARD, B_O_JSON, B_O_TIMELINE, B_O_SWEEP };

static const struct cmd_opt bench_opt_table[] = {
	{"dest", PULLOPTS_O_DEST, "DIR",
	 "where each run's temporary layout is made, on the disk to\n"
	 "measure (default $TMPDIR, else /tmp); removed after each run", 0},
	PULLOPTS_FETCH_OPTS,
	{"runs", B_O_RUNS, "N", "timed runs (default " PULLOPTS_STR(DEFAULT_RUNS) "); the figures are their median", 0},
	{"warmup", B_O_WARMUP, NULL, "one untimed run first (DNS, registry and CDN caches)", 0},
	{"discard", B_O_DISCARD, NULL,
	 "verify every byte, write nothing to disk: the network alone\n"
	 "(bytes ahead of the hash wait in memory, at most\n"
	 "(connections + 2) x chunk size)", 0},
	{"json", B_O_JSON, NULL, "the report as one JSON document on stdout (see README)", 0},
	{"timeline", B_O_TIMELINE, "FILE.svg", "draw the median run as an SVG waterfall", 0},
	{"sweep", B_O_SWEEP, "PARAM=V1,V2,...",
	 "a benchmark per value of connections or chunk-size,\n"
	 "e.g. connections=4,8,16,32; reports the fastest", 0},
	{"metrics", PULLOPTS_O_METRICS, "FILE", "the figures in Prometheus text format, written atomically", 0},
	{"log-format", PULLOPTS_O_LOGFMT, "FORMAT", "auto, json or text (default auto)", 0},
	{"quiet", 'q', NULL, "no line per run on stderr", 0},
	{"verbose", 'v', NULL, "diagnostic log on stderr (twice: debug)", CMD_OPT_COUNT},
	{"help", 'h', NULL, "show this help", CMD_OPT_NOENV},
};
static const struct cmd_opts bench_opts = {bench_opt_table, sizeof(bench_opt_table) / sizeof(bench_opt_table[0]),
					   "bench"};

static void usage(FILE *f)
{
	fprintf(f, "usage: imgpull bench [OPTIONS] IMAGE...\n\n"
		   "Measures what pulling the images achieves here: runs the pull --runs times (each\n"
		   "into a fresh temporary layout that is removed after, or with --discard into\n"
		   "memory) and reports per run and as the median: time, time to resolve and to the\n"
		   "first byte, MB/s, per-blob rates, connections in use, retries and their causes,\n"
		   "redirects, CPU time and peak memory. Options of pull apply.\n\n");
	cmd_opts_usage(f, &bench_opts);
}

struct bench_cli {
	struct pullopts pc;
	int runs;
	bool warmup, json;
	const char *timeline, *metrics;
	const char *sweep_param; // "connections" or "chunk-size"; NULL: none
	char **sweep;            // its values
	size_t nsweep;
};

static int add_sweep_value(void *ud, const char *item, struct err *e)
{
	struct bench_cli *b = ud;
	// Checked as the option itself would be.
	struct pullopts probe;
	pullopts_init(&probe);
	int id = strcmp(b->sweep_param, "connections") == 0 ? PULLOPTS_O_CONN : PULLOPTS_O_CHUNK;
	int r = pullopts_option(&probe, id, item, e);
	pullopts_release(&probe);
	if (r < 0)
		return err_wrap(e, "--sweep");
	b->sweep = xrealloc(b->sweep, (b->nsweep + 1) * sizeof(char *));
	b->sweep[b->nsweep++] = xstrdup(item);
	return 0;
}

static int bench_option(void *ud, int id, const char *arg, struct err *e)
{
	struct bench_cli *b = ud;
	switch (id) {
	case B_O_RUNS:
		if (cmd_parse_int(arg, 1, 100, &b->runs) < 0)
			return err_set(e, ERR_USAGE, "--runs must be 1..100, not '%s'", arg);
		return 0;
	case B_O_WARMUP: b->warmup = true; return 0;
	case B_O_DISCARD: b->pc.run.discard = true; return 0;
	case B_O_JSON: b->json = true; return 0;
	case B_O_TIMELINE:
		if (cmd_check_output("--timeline", arg, e) < 0)
			return -1;
		b->timeline = arg;
		return 0;
	case PULLOPTS_O_METRICS:
		if (cmd_check_output("--metrics", arg, e) < 0)
			return -1;
		b->metrics = arg;
		return 0;
	case B_O_SWEEP: {
		const char *eq = strchr(arg, '=');
		size_t n = eq ? (size_t)(eq - arg) : 0;
		if (eq && n == 11 && strncmp(arg, "connections", n) == 0)
			b->sweep_param = "connections";
		else if (eq && n == 10 && strncmp(arg, "chunk-size", n) == 0)
			b->sweep_param = "chunk-size";
		else
			return err_set(e, ERR_USAGE, "--sweep wants connections=V1,V2,... or chunk-size=V1,V2,..., not '%s'",
				       arg);
		for (size_t i = 0; i < b->nsweep; i++)
			free(b->sweep[i]);
		b->nsweep = 0;
		if (cmd_opts_split(eq + 1, false, add_sweep_value, b, e) < 0)
			return e->cls ? -1 : err_set(e, ERR_USAGE, "--sweep %s= has no value", b->sweep_param);
		return 0;
	}
	default:
		return pullopts_option(&b->pc, id, arg, e);
	}
}

// The child: one measured pull into dir (NULL with --discard).
static int child_run(void *ud, const char *dir, cJSON **report)
{
	struct bench_cli *b = ud;
	struct pullopts *c = &b->pc;
	c->run.dest = dir;
	c->progress = PROGRESS_NONE;
	double t0 = clock_mono();
	pullopts_apply(c, t0);
	struct progress *prog = progress_new(PROGRESS_NONE, 5, stdout, stderr);
	struct measure *m = measure_new();
	struct pullrun run = {.c = &c->run, .prog = prog, .t0 = t0, .observe = measure_observe, .observe_ud = m};
	struct err e;
	err_clear(&e);
	int r = pullrun_execute(&run, &e);
	double secs = clock_mono() - t0;
	struct measure_run mr = {.run_at = run.run_at};
	if (run.eng) {
		mr.downloaded = pull_engine_received(run.eng);
		mr.discard_peak = c->run.discard ? pull_engine_discard_peak(run.eng) : 0;
	}
	*report = measure_report(m, &mr, r < 0 ? &e : NULL, secs);
	pullrun_release(&run);
	progress_free(prog);
	measure_free(m);
	return r < 0 ? err_exit_code(&e) : 0;
}

// One run in a child process, in a temporary layout under --dest, $TMPDIR or
// /tmp (none with --discard).
static int run_once(struct bench_cli *b, cJSON **out, struct err *e)
{
	const char *parent = NULL;
	if (!b->pc.run.discard) {
		parent = b->pc.run.dest ? b->pc.run.dest : getenv("TMPDIR");
		if (!parent || !*parent)
			parent = "/tmp";
	}
	return measure_child(parent, child_run, b, out, e);
}

static int parse_args(struct bench_cli *b, int argc, char **argv, struct err *e)
{
	int first;
	int r = cmd_opts_parse(&bench_opts, argc, argv, bench_option, b, &first, e);
	if (r == 1) {
		usage(stdout);
		exit(0);
	}
	if (r < 0 || pullopts_finish(&b->pc, e) < 0)
		return -1;
	return pullopts_images(&b->pc, argc, argv, first, e);
}

// The untimed run of --warmup: < 0 when the pull fails (so would every timed run).
static int warmup(struct bench_cli *b, struct err *e)
{
	if (!b->pc.quiet && log_json())
		log_record(LOG_INFO, "warm-up run (not counted)", NULL);
	else if (!b->pc.quiet)
		fprintf(stderr, "warm-up run (not counted)\n");
	cJSON *w = NULL;
	int r = run_once(b, &w, e) < 0 ? -1 : bench_run_outcome(w, e);
	cJSON_Delete(w);
	return r;
}

// Setting i's runs (the i-th --sweep value): < 0 when one fails, whose
// figures are kept; the bench then ends with its class and exit status.
static int run_setting(struct bench_cli *b, struct bench_report *rep, size_t i, struct err *e)
{
	struct bench_setting *s = &rep->s[i];
	if (b->sweep_param) {
		int id = strcmp(b->sweep_param, "connections") == 0 ? PULLOPTS_O_CONN : PULLOPTS_O_CHUNK;
		if (pullopts_option(&b->pc, id, b->sweep[i], e) < 0) // checked when parsed
			return -1;
	}
	bench_setting_init(s, b->sweep_param ? b->sweep[i] : NULL, b->pc.run.connections, b->pc.run.chunk);
	int ret = 0;
	for (int k = 0; k < b->runs && ret == 0; k++) {
		cJSON *r = NULL;
		if (run_once(b, &r, e) < 0) {
			ret = -1;
			break;
		}
		cJSON_AddItemToArray(s->runs, r);
		ret = bench_run_outcome(r, e);
		if (!b->pc.quiet)
			bench_say_run(stderr, s->label, k + 1, b->runs, r, ret < 0 ? e : NULL);
	}
	if (cJSON_GetArraySize(s->runs)) {
		bench_setting_median(s);
		s->ok = ret == 0;
	}
	return ret;
}

// The report on stdout, the metrics and the timeline; the exit status.
static int report(struct bench_cli *b, struct bench_report *rep, bool failed, struct err *e)
{
	int code = failed ? (err_exit_code(e) ? err_exit_code(e) : 1) : 0;
	if (b->json)
		bench_print_json(stdout, rep, code, failed ? e : NULL);
	else
		bench_print(stdout, rep);
	fflush(stdout);
	struct err we;
	if (b->metrics && bench_write_metrics(b->metrics, rep, code, &we) < 0)
		log_warn("cannot write the metrics: %s", we.msg);
	if (b->timeline && bench_write_timeline(b->timeline, rep, &we) < 0 && !failed) {
		*e = we;
		failed = true;
	}
	// The run's class and exit status, in the record as in the status.
	return failed ? cmd_fail(e) : 0;
}

int cmd_bench(int argc, char **argv)
{
	interrupt_install();
	struct bench_cli b = {.runs = DEFAULT_RUNS};
	pullopts_init(&b.pc);
	struct bench_report rep = {.best = -1};
	struct err e;
	err_clear(&e);
	int code;
	if (parse_args(&b, argc, argv, &e) < 0) {
		code = cmd_fail(&e);
	} else {
		pullopts_log_level(&b.pc);
		rep = (struct bench_report){.images = b.pc.run.images, .nimages = b.pc.run.nimages,
					    .discard = b.pc.run.discard, .warmup = b.warmup, .runs = b.runs, .sweep_param = b.sweep_param,
					    .ns = b.sweep_param ? b.nsweep : 1, .best = -1};
		rep.s = xcalloc(rep.ns, sizeof(*rep.s));
		bool failed = b.warmup && warmup(&b, &e) < 0;
		for (size_t i = 0; i < rep.ns && !failed; i++)
			failed = run_setting(&b, &rep, i, &e) < 0;
		bench_pick_best(&rep);
		code = report(&b, &rep, failed, &e);
	}
	bench_report_release(&rep);
	for (size_t i = 0; i < b.nsweep; i++)
		free(b.sweep[i]);
	free(b.sweep);
	pullopts_release(&b.pc);
	return code;
}
