// SPDX-License-Identifier: Apache-2.0
// imgpull bench: what a registry and the network deliver to this node. Each
// run is a real pull (every option of pull) into a fresh temporary layout, or
// with --discard into memory that is dropped once verified, in a child
// process of its own, so that its CPU time and peak memory are its own
// (wait4) and no connection, token or cache carries over from the run before.
// The child measures through the engine's events (one per range request) and
// hands its figures to the parent as JSON over a pipe; the parent takes the
// medians, prints a table or JSON, and writes metrics and the timeline.
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/metrics.h"
#include "cmd/opts.h"
#include "cmd/pullrun.h"
#include "cmd/timeline.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/mem.h"

#define DEFAULT_RUNS 3
#define MAX_REQUESTS 1000000       // recorded per run; more are counted, not drawn
#define CHILD_REPORT_MAX (256u << 20)
#define SCHEMA "imgpull.bench/v1"

enum { B_O_RUNS = 300, B_O_WARMUP, B_O_DISCARD, B_O_JSON, B_O_TIMELINE, B_O_SWEEP };

static const struct cmd_opt bench_opt_table[] = {
	{"dest", PULL_O_DEST, "DIR",
	 "where each run's temporary layout is made, on the disk to\n"
	 "measure (default $TMPDIR, else /tmp); removed after each run", 0},
	PULL_FETCH_OPTS,
	{"runs", B_O_RUNS, "N", "timed runs (default " PULL_STR(DEFAULT_RUNS) "); the figures are their median", 0},
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
	{"metrics", PULL_O_METRICS, "FILE", "the figures in Prometheus text format, written atomically", 0},
	{"log-format", PULL_O_LOGFMT, "FORMAT", "auto, json or text (default auto)", 0},
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
	struct pull_cli pc;
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
	struct pull_cli probe;
	pull_cli_init(&probe);
	int id = strcmp(b->sweep_param, "connections") == 0 ? PULL_O_CONN : PULL_O_CHUNK;
	int r = pull_cli_option(&probe, id, item, e);
	pull_cli_release(&probe);
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
	case B_O_DISCARD: b->pc.discard = true; return 0;
	case B_O_JSON: b->json = true; return 0;
	case B_O_TIMELINE:
		if (cmd_check_output("--timeline", arg, e) < 0)
			return -1;
		b->timeline = arg;
		return 0;
	case PULL_O_METRICS:
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
		return pull_cli_option(&b->pc, id, arg, e);
	}
}

// ---- the child: one measured run ----

struct meas_req {
	int lane, blob;
	double start, first, end; // seconds from the engine's start
	uint64_t offset, len, bytes;
	long status;
	enum pull_req_outcome outcome;
	char cause[24];
	bool to_registry;
};

struct meas_blob {
	char *digest;
	uint64_t size;
	double start, done; // engine seconds; done < 0: not finished
	int requests;
};

struct meas {
	struct meas_req *reqs;
	size_t nreqs, alloc;
	uint64_t dropped; // requests past MAX_REQUESTS
	uint64_t total_requests;
	char **lanes;     // "IP:port via :local"
	size_t nlanes;
	struct meas_blob *blobs;
	size_t nblobs;
	cJSON *by_host;   // host[:port] -> body bytes it sent (every request, past MAX_REQUESTS too)
};

static int meas_blob(struct meas *m, const struct pull_blob_info *bi)
{
	for (size_t i = 0; i < m->nblobs; i++)
		if (strcmp(m->blobs[i].digest, bi->digest) == 0)
			return (int)i;
	m->blobs = xrealloc(m->blobs, (m->nblobs + 1) * sizeof(*m->blobs));
	m->blobs[m->nblobs] = (struct meas_blob){.digest = xstrdup(bi->digest), .size = bi->size, .start = -1,
						 .done = -1};
	return (int)m->nblobs++;
}

// A lane per TCP connection: the peer's address and our port name it.
static int meas_lane(struct meas *m, const struct pull_request_info *r)
{
	char key[96];
	if (r->remote[0])
		snprintf(key, sizeof(key), "%s via :%ld", r->remote, r->local_port);
	else
		snprintf(key, sizeof(key), "no connection");
	for (size_t i = 0; i < m->nlanes; i++)
		if (strcmp(m->lanes[i], key) == 0)
			return (int)i;
	m->lanes = xrealloc(m->lanes, (m->nlanes + 1) * sizeof(char *));
	m->lanes[m->nlanes] = xstrdup(key);
	return (int)m->nlanes++;
}

static void meas_observe(void *ud, const struct pull_event *ev)
{
	struct meas *m = ud;
	if (!ev->blob)
		return;
	int bi = meas_blob(m, ev->blob);
	struct meas_blob *b = &m->blobs[bi];
	if (ev->kind == PULL_EV_BLOB_START && b->start < 0)
		b->start = ev->elapsed;
	else if (ev->kind == PULL_EV_BLOB_DONE || ev->kind == PULL_EV_BLOB_CACHED)
		b->done = ev->elapsed;
	if (ev->kind != PULL_EV_REQUEST)
		return;
	const struct pull_request_info *r = ev->req;
	b->requests++;
	m->total_requests++;
	if (r->bytes && r->host) {
		if (!m->by_host)
			m->by_host = cJSON_CreateObject();
		cJSON *n = cJSON_GetObjectItemCaseSensitive(m->by_host, r->host);
		if (n)
			cJSON_SetNumberValue(n, n->valuedouble + (double)r->bytes);
		else
			cJSON_AddNumberToObject(m->by_host, r->host, (double)r->bytes);
	}
	if (m->nreqs == MAX_REQUESTS) {
		m->dropped++;
		return;
	}
	if (m->nreqs == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 256;
		m->reqs = xrealloc(m->reqs, m->alloc * sizeof(*m->reqs));
	}
	struct meas_req *q = &m->reqs[m->nreqs++];
	*q = (struct meas_req){.lane = meas_lane(m, r), .blob = bi, .start = r->start, .first = r->first,
			       .end = r->end, .offset = r->offset, .len = r->len, .bytes = r->bytes,
			       .status = r->status, .outcome = r->outcome, .to_registry = r->to_registry};
	snprintf(q->cause, sizeof(q->cause), "%s", r->cause ? r->cause : "");
}

static void meas_release(struct meas *m)
{
	cJSON_Delete(m->by_host);
	free(m->reqs);
	for (size_t i = 0; i < m->nlanes; i++)
		free(m->lanes[i]);
	free(m->lanes);
	for (size_t i = 0; i < m->nblobs; i++)
		free(m->blobs[i].digest);
	free(m->blobs);
}

struct edge {
	double t;
	int d;
};

static int edge_cmp(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;
	return x->t < y->t ? -1 : x->t > y->t ? 1 : x->d - y->d; // an end before a start at the same instant
}

// Transfers in flight over [0, span]: the time-weighted mean and the maximum.
static void meas_concurrency(const struct meas *m, double span, double *mean, int *max)
{
	*mean = 0;
	*max = 0;
	if (!m->nreqs || span <= 0)
		return;
	struct edge *ev = xcalloc(2 * m->nreqs, sizeof(*ev));
	for (size_t i = 0; i < m->nreqs; i++) {
		ev[2 * i] = (struct edge){m->reqs[i].start, +1};
		ev[2 * i + 1] = (struct edge){m->reqs[i].end, -1};
	}
	qsort(ev, 2 * m->nreqs, sizeof(*ev), edge_cmp);
	int cur = 0;
	double area = 0, last = 0;
	for (size_t i = 0; i < 2 * m->nreqs; i++) {
		double t = ev[i].t < 0 ? 0 : ev[i].t > span ? span : ev[i].t;
		area += cur * (t - last);
		last = t;
		cur += ev[i].d;
		if (cur > *max)
			*max = cur;
	}
	free(ev);
	*mean = area / span;
}

// Lanes in a reading order: by peer (the registry's and each store's
// connections together, the peer used first on top), then by when each
// connection was first used.
struct lane_key {
	const char *label;
	double peer_first; // the peer's first use, over all its connections
	double first;
	size_t idx;
};

static bool same_peer(const char *a, const char *b)
{
	size_t na = strcspn(a, " ");
	return na == strcspn(b, " ") && strncmp(a, b, na) == 0;
}

static int lane_cmp(const void *a, const void *b)
{
	const struct lane_key *x = a, *y = b;
	if (x->peer_first != y->peer_first)
		return x->peer_first < y->peer_first ? -1 : 1;
	if (!same_peer(x->label, y->label))
		return strcmp(x->label, y->label);
	return x->first < y->first ? -1 : x->first > y->first ? 1 : (x->idx > y->idx) - (x->idx < y->idx);
}

// new_of[old lane] = its place in reading order; m->lanes is reordered.
static int *meas_sort_lanes(struct meas *m)
{
	struct lane_key *k = xcalloc(m->nlanes + 1, sizeof(*k));
	int *new_of = xcalloc(m->nlanes + 1, sizeof(int));
	for (size_t i = 0; i < m->nlanes; i++)
		k[i] = (struct lane_key){m->lanes[i], 1e300, 1e300, i};
	for (size_t i = 0; i < m->nreqs; i++)
		if (m->reqs[i].start < k[m->reqs[i].lane].first)
			k[m->reqs[i].lane].first = m->reqs[i].start;
	for (size_t i = 0; i < m->nlanes; i++)
		for (size_t j = 0; j < m->nlanes; j++)
			if (same_peer(k[i].label, k[j].label) && k[j].first < k[i].peer_first)
				k[i].peer_first = k[j].first;
	qsort(k, m->nlanes, sizeof(*k), lane_cmp);
	char **lanes = xcalloc(m->nlanes + 1, sizeof(char *));
	for (size_t i = 0; i < m->nlanes; i++) {
		new_of[k[i].idx] = (int)i;
		lanes[i] = m->lanes[k[i].idx];
	}
	free(m->lanes);
	m->lanes = lanes;
	free(k);
	return new_of;
}

static const char *const outcome_names[] = {
	[PULL_REQ_OK] = "ok", [PULL_REQ_RETRY] = "retry", [PULL_REQ_REDIRECT] = "redirect",
	[PULL_REQ_RENEW] = "renew", [PULL_REQ_CANCELLED] = "cancelled", [PULL_REQ_FAILED] = "failed",
};

// The run's figures as the parent reads them (times from the run's start).
static cJSON *meas_report(struct meas *m, const struct pull_run *run, const struct err *e, double secs)
{
	_cleanup_free_ int *lane_of = meas_sort_lanes(m);
	cJSON *o = cJSON_CreateObject();
	double at = run->run_at; // the engine's start, from the run's
	double dl = secs - at;
	uint64_t bytes = 0, downloaded = run->eng ? pull_engine_received(run->eng) : 0;
	for (size_t i = 0; i < m->nblobs; i++)
		bytes += m->blobs[i].size;
	double ttfb = -1;
	size_t by_outcome[6] = {0}, to_registry = 0;
	cJSON *causes = cJSON_CreateObject();
	for (size_t i = 0; i < m->nreqs; i++) {
		const struct meas_req *q = &m->reqs[i];
		by_outcome[q->outcome]++;
		to_registry += q->to_registry;
		if ((q->status == 200 || q->status == 206) && q->first >= 0 && (ttfb < 0 || q->first < ttfb))
			ttfb = q->first;
		if (q->outcome == PULL_REQ_RETRY || q->outcome == PULL_REQ_RENEW || q->outcome == PULL_REQ_FAILED) {
			const char *c = q->cause[0] ? q->cause : "other";
			cJSON *n = cJSON_GetObjectItemCaseSensitive(causes, c);
			if (n)
				cJSON_SetNumberValue(n, n->valuedouble + 1);
			else
				cJSON_AddNumberToObject(causes, c, 1);
		}
	}
	double mean;
	int max;
	meas_concurrency(m, dl, &mean, &max);
	cJSON_AddBoolToObject(o, "ok", e == NULL);
	cJSON_AddNumberToObject(o, "exit_code", e ? err_exit_code(e) : 0);
	cJSON_AddStringToObject(o, "class", err_class_name(e ? e->cls : ERR_NONE));
	if (e)
		cJSON_AddStringToObject(o, "error", e->msg);
	cJSON_AddNumberToObject(o, "seconds", secs);
	cJSON_AddNumberToObject(o, "resolve_seconds", at);
	cJSON_AddNumberToObject(o, "ttfb_seconds", ttfb);
	cJSON_AddNumberToObject(o, "download_seconds", dl);
	cJSON_AddNumberToObject(o, "bytes", (double)bytes);
	cJSON_AddNumberToObject(o, "downloaded_bytes", (double)downloaded);
	cJSON_AddNumberToObject(o, "mb_per_s", secs > 0 ? (double)downloaded / secs / 1e6 : 0);
	cJSON_AddNumberToObject(o, "download_mb_per_s", dl > 0 ? (double)downloaded / dl / 1e6 : 0);
	cJSON_AddNumberToObject(o, "requests", (double)m->total_requests);
	cJSON_AddNumberToObject(o, "registry_requests", (double)to_registry);
	cJSON_AddNumberToObject(o, "store_requests", (double)(m->nreqs - to_registry));
	cJSON_AddNumberToObject(o, "retries", (double)(by_outcome[PULL_REQ_RETRY] + by_outcome[PULL_REQ_FAILED]));
	cJSON_AddItemToObject(o, "retry_causes", causes);
	cJSON_AddNumberToObject(o, "redirects", (double)by_outcome[PULL_REQ_REDIRECT]);
	cJSON_AddNumberToObject(o, "renewals", (double)by_outcome[PULL_REQ_RENEW]);
	cJSON_AddNumberToObject(o, "cancelled", (double)by_outcome[PULL_REQ_CANCELLED]);
	cJSON_AddItemToObject(o, "bytes_by_host", m->by_host ? cJSON_Duplicate(m->by_host, 1) : cJSON_CreateObject());
	cJSON_AddNumberToObject(o, "discard_memory_peak_bytes",
				run->eng && run->c->discard ? (double)pull_engine_discard_peak(run->eng) : 0);
	cJSON_AddNumberToObject(o, "connections_used", (double)m->nlanes);
	cJSON_AddNumberToObject(o, "connections_mean", mean);
	cJSON_AddNumberToObject(o, "connections_max", max);
	cJSON *blobs = cJSON_AddArrayToObject(o, "blobs");
	for (size_t i = 0; i < m->nblobs; i++) {
		const struct meas_blob *b = &m->blobs[i];
		cJSON *j = cJSON_CreateObject();
		double s = b->done >= 0 && b->start >= 0 ? b->done - b->start : -1;
		cJSON_AddStringToObject(j, "digest", b->digest);
		cJSON_AddNumberToObject(j, "size", (double)b->size);
		cJSON_AddNumberToObject(j, "seconds", s);
		cJSON_AddNumberToObject(j, "mb_per_s", s > 0 ? (double)b->size / s / 1e6 : 0);
		cJSON_AddNumberToObject(j, "done_at", b->done >= 0 ? at + b->done : -1);
		cJSON_AddNumberToObject(j, "requests", b->requests);
		cJSON_AddItemToArray(blobs, j);
	}
	// For the timeline (the parent drops these from the report).
	cJSON *lanes = cJSON_AddArrayToObject(o, "lanes");
	for (size_t i = 0; i < m->nlanes; i++)
		cJSON_AddItemToArray(lanes, cJSON_CreateString(m->lanes[i]));
	cJSON *reqs = cJSON_AddArrayToObject(o, "request_log");
	for (size_t i = 0; i < m->nreqs; i++) {
		const struct meas_req *q = &m->reqs[i];
		cJSON *a = cJSON_CreateArray();
		double v[] = {lane_of[q->lane], q->blob, at + q->start, q->first >= 0 ? at + q->first : -1, at + q->end,
			      (double)q->offset, (double)q->len, (double)q->bytes, (double)q->status, q->to_registry};
		for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
			cJSON_AddItemToArray(a, cJSON_CreateNumber(v[k]));
		cJSON_AddItemToArray(a, cJSON_CreateString(outcome_names[q->outcome]));
		cJSON_AddItemToArray(a, cJSON_CreateString(q->cause));
		cJSON_AddItemToArray(reqs, a);
	}
	cJSON_AddNumberToObject(o, "requests_not_drawn", (double)m->dropped);
	return o;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static _Noreturn void child_run(struct bench_cli *b, const char *dir, int wfd)
{
	struct pull_cli *c = &b->pc;
	c->dest = dir;
	c->progress = PROGRESS_NONE;
	double t0 = clock_mono();
	pull_cli_apply(c, t0);
	struct progress *prog = progress_new(PROGRESS_NONE, 5);
	struct meas m = {0};
	struct pull_run run = {.c = c, .prog = prog, .t0 = t0, .observe = meas_observe, .observe_ud = &m};
	struct err e;
	err_clear(&e);
	int r = pull_run_execute(&run, &e);
	double secs = clock_mono() - t0;
	cJSON *o = meas_report(&m, &run, r < 0 ? &e : NULL, secs);
	char *text = cJSON_PrintUnformatted(o);
	int code = r < 0 ? err_exit_code(&e) : 0;
	if (!text || write_all(wfd, text, strlen(text)) < 0)
		code = code ? code : 1;
	free(text);
	cJSON_Delete(o);
	pull_run_release(&run);
	progress_free(prog);
	meas_release(&m);
	close(wfd);
	_exit(code);
}

// ---- the parent ----

static int read_child(int fd, pid_t pid, struct buf *out, struct err *e)
{
	bool sent = false;
	char chunk[65536];
	for (;;) {
		int sig = interrupt_signal();
		if (sig && !sent) {
			kill(pid, sig); // the child ends its pull the way pull would
			sent = true;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, 250);
		if (n < 0 && errno != EINTR)
			return err_sys(e, ERR_INTERNAL, errno, "poll");
		if (n <= 0)
			continue;
		ssize_t got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return err_sys(e, ERR_INTERNAL, errno, "reading a run's report");
		if (got == 0)
			return 0;
		if (buf_add(out, chunk, (size_t)got) < 0)
			return err_set(e, ERR_INTERNAL, "a run's report is larger than %u bytes", CHILD_REPORT_MAX);
	}
}

// One run in a child process: its report, with its CPU time and peak memory.
static int run_once(struct bench_cli *b, cJSON **out, struct err *e)
{
	_cleanup_free_ char *dir = NULL;
	if (!b->pc.discard) {
		const char *parent = b->pc.dest ? b->pc.dest : getenv("TMPDIR");
		if (!parent || !*parent)
			parent = "/tmp";
		if (file_mkdirs(parent, e) < 0)
			return -1;
		dir = xasprintf("%s/imgpull-bench.XXXXXX", parent);
		if (!mkdtemp(dir))
			return err_sys(e, ERR_STORAGE, errno, "cannot create a directory in '%s'", parent);
	}
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_sys(e, ERR_INTERNAL, errno, "pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return err_sys(e, ERR_INTERNAL, errno, "fork");
	}
	if (pid == 0) {
		close(pfd[0]);
		child_run(b, dir, pfd[1]);
	}
	close(pfd[1]);
	struct buf rep;
	buf_init(&rep, CHILD_REPORT_MAX);
	int r = read_child(pfd[0], pid, &rep, e);
	close(pfd[0]);
	int status = 0;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	struct err rm;
	if (dir && file_remove_tree(dir, &rm) < 0)
		log_warn("%s", rm.msg);
	cJSON *o = r == 0 && rep.len ? cJSON_ParseWithLength(rep.data, rep.len) : NULL;
	buf_release(&rep);
	if (r < 0)
		return -1;
	if (!o) {
		if (WIFSIGNALED(status))
			return err_set(e, ERR_INTERNAL, "a run died of signal %d", WTERMSIG(status));
		return err_set(e, ERR_INTERNAL, "a run ended (exit %d) without a report",
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	cJSON_AddNumberToObject(o, "cpu_seconds", (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
							  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	cJSON_AddNumberToObject(o, "max_rss_bytes", (double)ru.ru_maxrss * 1024);
	*out = o;
	return 0;
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

// A run's failure as its pull had it: the class its report names (the run's
// exit status follows from it), its message; 0 for a run that succeeded.
static int run_outcome(const cJSON *r, struct err *e)
{
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")))
		return 0;
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(r, "error");
	const cJSON *cls = cJSON_GetObjectItemCaseSensitive(r, "class");
	enum err_class c = ERR_INTERNAL;
	for (enum err_class k = ERR_INTERNAL; k <= ERR_UNTRUSTED; k++)
		if (cJSON_IsString(cls) && strcmp(cls->valuestring, err_class_name(k)) == 0)
			c = k;
	return err_set(e, c, "%s", cJSON_IsString(msg) ? msg->valuestring : "a run failed");
}

// The line on stderr for a finished run (a record with JSON logs).
static void say_run(const char *label, int run, int runs, const cJSON *r, const struct err *e)
{
	double secs = jnum(r, "seconds"), mbps = jnum(r, "mb_per_s");
	if (!log_json()) {
		fprintf(stderr, "%s run %d/%d: %.2f s, %.1f MB/s%s%s\n", label, run, runs, secs, mbps,
			e ? ", failed: " : "", e ? e->msg : "");
		return;
	}
	cJSON *f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "label", label);
	cJSON_AddNumberToObject(f, "run", run);
	cJSON_AddNumberToObject(f, "runs", runs);
	cJSON_AddNumberToObject(f, "seconds", secs);
	cJSON_AddNumberToObject(f, "mb_per_s", mbps);
	cJSON_AddBoolToObject(f, "ok", e == NULL);
	log_record(LOG_INFO, e ? "run failed" : "run", f);
}

// The scalar fields a median is taken of, in report order.
static const char *const median_fields[] = {
	"seconds", "resolve_seconds", "ttfb_seconds", "download_seconds", "bytes", "downloaded_bytes",
	"mb_per_s", "download_mb_per_s", "requests", "registry_requests", "store_requests", "retries",
	"redirects", "renewals", "connections_used", "connections_mean", "connections_max", "cpu_seconds",
	"max_rss_bytes", "discard_memory_peak_bytes",
};
#define NMEDIAN (sizeof(median_fields) / sizeof(median_fields[0]))

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), dbl_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One setting's runs and their medians.
struct setting {
	char *label;   // "connections=16 chunk-size=16M"
	char *value;   // the swept value, or NULL
	int connections;
	unsigned long long chunk;
	cJSON *runs;   // array of run reports
	cJSON *median; // NULL until computed
	int median_run; // index of the run whose time is the median
	bool ok;
};

static void setting_median(struct setting *s)
{
	int n = cJSON_GetArraySize(s->runs);
	double *v = xcalloc((size_t)n + 1, sizeof(double));
	s->median = cJSON_CreateObject();
	for (size_t f = 0; f < NMEDIAN; f++) {
		for (int i = 0; i < n; i++)
			v[i] = jnum(cJSON_GetArrayItem(s->runs, i), median_fields[f]);
		cJSON_AddNumberToObject(s->median, median_fields[f], n ? median_of(v, (size_t)n) : 0);
	}
	// Per blob: the median of its time and rate over the runs.
	cJSON *blobs = cJSON_AddArrayToObject(s->median, "blobs");
	const cJSON *b0;
	cJSON_ArrayForEach(b0, cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(s->runs, 0), "blobs"))
	{
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(b0, "digest");
		if (!cJSON_IsString(d))
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "digest", d->valuestring);
		cJSON_AddNumberToObject(o, "size", jnum(b0, "size"));
		static const char *const per_blob[] = {"seconds", "mb_per_s", "done_at", "requests"};
		for (size_t f = 0; f < sizeof(per_blob) / sizeof(per_blob[0]); f++) {
			size_t k = 0;
			for (int i = 0; i < n; i++) {
				const cJSON *bl;
				cJSON_ArrayForEach(bl, cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(s->runs, i), "blobs"))
				{
					const cJSON *bd = cJSON_GetObjectItemCaseSensitive(bl, "digest");
					if (cJSON_IsString(bd) && strcmp(bd->valuestring, d->valuestring) == 0)
						v[k++] = jnum(bl, per_blob[f]);
				}
			}
			cJSON_AddNumberToObject(o, per_blob[f], k ? median_of(v, k) : 0);
		}
		cJSON_AddItemToArray(blobs, o);
	}
	// The run whose time is the median (the lower middle of an even count):
	// its blobs and its timeline stand for the setting.
	for (int i = 0; i < n; i++)
		v[i] = jnum(cJSON_GetArrayItem(s->runs, i), "seconds");
	qsort(v, (size_t)n, sizeof(double), dbl_cmp);
	double want = n ? v[(n - 1) / 2] : 0;
	s->median_run = 0;
	for (int i = 0; i < n; i++)
		if (jnum(cJSON_GetArrayItem(s->runs, i), "seconds") == want)
			s->median_run = i;
	free(v);
}

static void print_run_row(const char *name, const cJSON *r)
{
	char rss[32];
	progress_bytes(rss, sizeof(rss), jnum(r, "max_rss_bytes"));
	printf("%-7s %8.2f %7.3f %7.3f %9.1f %8.0f %7.0f %9.0f %5.1f/%-4.0f %7.2f %10s\n", name, jnum(r, "seconds"),
	       jnum(r, "resolve_seconds"), jnum(r, "ttfb_seconds"), jnum(r, "mb_per_s"), jnum(r, "requests"),
	       jnum(r, "retries"), jnum(r, "redirects"), jnum(r, "connections_mean"), jnum(r, "connections_max"),
	       jnum(r, "cpu_seconds"), rss);
}

static void print_setting(const struct bench_cli *b, const struct setting *s)
{
	char total[32];
	progress_bytes(total, sizeof(total), jnum(s->median, "bytes"));
	printf("\n%s, %s of blobs, %s\n", s->label, total, b->pc.discard ? "verified in memory (--discard)"
									  : "written to a temporary layout");
	printf("%-7s %8s %7s %7s %9s %8s %7s %9s %10s %7s %10s\n", "run", "total_s", "resolve", "ttfb_s", "MB/s",
	       "requests", "retries", "redirects", "conns avg/max", "cpu_s", "peak_rss");
	int n = cJSON_GetArraySize(s->runs);
	for (int i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof(name), "%d", i + 1);
		print_run_row(name, cJSON_GetArrayItem(s->runs, i));
	}
	print_run_row("median", s->median);
	const cJSON *mr = cJSON_GetArrayItem(s->runs, s->median_run);
	if (b->pc.discard) {
		char peak[32];
		progress_bytes(peak, sizeof(peak), jnum(s->median, "discard_memory_peak_bytes"));
		printf("held in memory for the hash (median of the peaks): %s, not part of peak_rss\n", peak);
	}
	const cJSON *causes = cJSON_GetObjectItemCaseSensitive(mr, "retry_causes");
	if (cJSON_GetArraySize(causes)) {
		printf("retry causes (run %d):", s->median_run + 1);
		const cJSON *c;
		cJSON_ArrayForEach(c, causes)
			printf(" %s %.0f", c->string, c->valuedouble);
		printf("\n");
	}
	printf("blobs (median over the runs):\n  %-19s %10s %8s %9s %8s\n", "digest", "size", "seconds", "MB/s",
	       "requests");
	const cJSON *bl;
	cJSON_ArrayForEach(bl, cJSON_GetObjectItemCaseSensitive(s->median, "blobs"))
	{
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(bl, "digest");
		char size[32];
		progress_bytes(size, sizeof(size), jnum(bl, "size"));
		printf("  %-19.19s %10s %8.2f %9.1f %8.0f\n", cJSON_IsString(d) ? d->valuestring : "?", size,
		       jnum(bl, "seconds"), jnum(bl, "mb_per_s"), jnum(bl, "requests"));
	}
}

static void metrics_sample(struct buf *out, const char *name, const char *setting, const char *run, double v)
{
	buf_printf(out, "%s{setting=\"", name);
	metrics_label(out, setting);
	buf_printf(out, "\",run=\"%s\"} %.17g\n", run, v);
}

static int write_bench_metrics(const char *path, const struct setting *s, size_t ns, int code, struct err *e)
{
	static const struct {
		const char *field, *name, *help;
	} fams[] = {
		{"seconds", "imgpull_bench_duration_seconds", "Wall time of a run."},
		{"resolve_seconds", "imgpull_bench_resolve_seconds", "Time to resolve the images (auth and manifests)."},
		{"ttfb_seconds", "imgpull_bench_ttfb_seconds", "From the first blob request to the first blob byte."},
		{"downloaded_bytes", "imgpull_bench_downloaded_bytes", "Bytes transferred in a run."},
		{"mb_per_s", "imgpull_bench_megabytes_per_second", "Downloaded MB (1e6 bytes) per second of wall time."},
		{"requests", "imgpull_bench_requests", "Range requests of a run."},
		{"retries", "imgpull_bench_retries", "Requests that failed and were retried."},
		{"redirects", "imgpull_bench_redirects", "Registry redirects to a blob store."},
		{"connections_mean", "imgpull_bench_connections_mean", "Transfers in flight, time-weighted mean."},
		{"connections_max", "imgpull_bench_connections_max", "Transfers in flight, maximum."},
		{"cpu_seconds", "imgpull_bench_cpu_seconds", "CPU time of a run, user and system."},
		{"max_rss_bytes", "imgpull_bench_max_rss_bytes", "Peak resident memory of a run."},
	};
	struct buf out;
	buf_init(&out, 1u << 20);
	metrics_family(&out, "imgpull_bench_success", "gauge", "1 if every run succeeded, 0 if not.");
	buf_printf(&out, "imgpull_bench_success %d\n", code == 0);
	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		metrics_family(&out, fams[f].name, "gauge", fams[f].help);
		for (size_t i = 0; i < ns; i++) {
			if (!s[i].median)
				continue;
			int n = cJSON_GetArraySize(s[i].runs);
			for (int k = 0; k < n; k++) {
				char run[16];
				snprintf(run, sizeof(run), "%d", k + 1);
				metrics_sample(&out, fams[f].name, s[i].label, run,
					       jnum(cJSON_GetArrayItem(s[i].runs, k), fams[f].field));
			}
			metrics_sample(&out, fams[f].name, s[i].label, "median", jnum(s[i].median, fams[f].field));
		}
	}
	int r = out.toobig ? err_set(e, ERR_INTERNAL, "metrics larger than 1 MiB")
			   : file_write_atomic(path, out.data, out.len, e);
	buf_release(&out);
	return r;
}

static int draw_timeline(const struct bench_cli *b, const struct setting *s, struct err *e)
{
	const cJSON *run = cJSON_GetArrayItem(s->runs, s->median_run);
	const cJSON *lanes = cJSON_GetObjectItemCaseSensitive(run, "lanes");
	const cJSON *log = cJSON_GetObjectItemCaseSensitive(run, "request_log");
	const cJSON *blobs = cJSON_GetObjectItemCaseSensitive(run, "blobs");
	int nl = cJSON_GetArraySize(lanes), nr = cJSON_GetArraySize(log), nb = cJSON_GetArraySize(blobs);
	const char **labels = xcalloc((size_t)nl + 1, sizeof(char *));
	struct timeline_blob *tb = xcalloc((size_t)nb + 1, sizeof(*tb));
	struct timeline_req *tr = xcalloc((size_t)nr + 1, sizeof(*tr));
	for (int i = 0; i < nl; i++)
		labels[i] = cJSON_GetArrayItem(lanes, i)->valuestring;
	for (int i = 0; i < nb; i++) {
		const cJSON *bl = cJSON_GetArrayItem(blobs, i);
		tb[i] = (struct timeline_blob){cJSON_GetObjectItemCaseSensitive(bl, "digest")->valuestring,
					       (uint64_t)jnum(bl, "size")};
	}
	for (int i = 0; i < nr; i++) {
		const cJSON *a = cJSON_GetArrayItem(log, i);
		double v[10];
		for (int k = 0; k < 10; k++)
			v[k] = cJSON_GetArrayItem(a, k)->valuedouble;
		const char *oc = cJSON_GetArrayItem(a, 10)->valuestring;
		const char *cause = cJSON_GetArrayItem(a, 11)->valuestring;
		enum timeline_kind kind = strcmp(oc, "ok") == 0         ? TIMELINE_OK
					  : strcmp(oc, "retry") == 0 || strcmp(oc, "failed") == 0 ? TIMELINE_RETRY
					  : strcmp(oc, "redirect") == 0 ? TIMELINE_REDIRECT
									: TIMELINE_OTHER;
		tr[i] = (struct timeline_req){.lane = (int)v[0], .blob = (int)v[1], .start = v[2], .first = v[3],
					      .end = v[4], .offset = (uint64_t)v[5], .len = (uint64_t)v[6],
					      .bytes = (uint64_t)v[7], .status = (int)v[8], .kind = kind,
					      .note = cause && *cause ? cause : NULL};
	}
	struct buf title;
	buf_init(&title, 4096);
	for (size_t i = 0; i < b->pc.nimages; i++)
		buf_printf(&title, "%s%s", i ? ", " : "", b->pc.images[i]);
	buf_printf(&title, " · run %d of %d · %s%s", s->median_run + 1, cJSON_GetArraySize(s->runs), s->label,
		   b->pc.discard ? " · discard" : "");
	struct timeline t = {.title = buf_str(&title), .duration = jnum(run, "seconds"),
			     .resolve = jnum(run, "resolve_seconds"), .nlanes = nl, .lane_labels = labels,
			     .blobs = tb, .nblobs = (size_t)nb, .reqs = tr, .nreqs = (size_t)nr};
	int r = timeline_write(b->timeline, &t, e);
	buf_release(&title);
	free(labels);
	free(tb);
	free(tr);
	return r;
}

// The report's run objects leave out what only the timeline needs.
static cJSON *runs_for_report(const cJSON *runs)
{
	cJSON *out = cJSON_Duplicate(runs, true);
	cJSON *r;
	int i = 1;
	cJSON_ArrayForEach(r, out)
	{
		cJSON_DeleteItemFromObjectCaseSensitive(r, "lanes");
		cJSON_DeleteItemFromObjectCaseSensitive(r, "request_log");
		cJSON_AddNumberToObject(r, "run", i++);
	}
	return out;
}

// A setting's fields, into o (a sweep row, or the report's top level).
static void setting_fields(cJSON *o, const struct setting *s)
{
	cJSON_AddStringToObject(o, "label", s->label);
	cJSON_AddNumberToObject(o, "connections", s->connections);
	cJSON_AddNumberToObject(o, "chunk_size", (double)s->chunk);
	cJSON_AddItemToObject(o, "runs", runs_for_report(s->runs));
	cJSON_AddItemToObject(o, "median", s->median ? cJSON_Duplicate(s->median, true) : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "median_run", s->median_run + 1);
}

static void print_json(const struct bench_cli *b, const struct setting *s, size_t ns, int best, int code,
		       const struct err *e)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "schema", SCHEMA);
	cJSON_AddBoolToObject(o, "ok", code == 0);
	cJSON_AddNumberToObject(o, "exit_code", code);
	cJSON_AddStringToObject(o, "class", err_class_name(e ? e->cls : ERR_NONE));
	if (e)
		cJSON_AddStringToObject(o, "error", e->msg);
	cJSON *imgs = cJSON_AddArrayToObject(o, "images");
	for (size_t i = 0; i < b->pc.nimages; i++)
		cJSON_AddItemToArray(imgs, cJSON_CreateString(b->pc.images[i]));
	cJSON_AddStringToObject(o, "mode", b->pc.discard ? "discard" : "layout");
	cJSON_AddNumberToObject(o, "runs_per_setting", b->runs);
	cJSON_AddBoolToObject(o, "warmup", b->warmup);
	// The fastest setting; none completed: the one whose run failed, its figures.
	int shown = best;
	for (size_t i = 0; shown < 0 && i < ns; i++)
		if (s[i].median && !s[i].ok)
			shown = (int)i;
	if (shown >= 0)
		setting_fields(o, &s[shown]);
	if (b->sweep_param) {
		cJSON *sw = cJSON_AddObjectToObject(o, "sweep");
		cJSON_AddStringToObject(sw, "parameter", b->sweep_param);
		cJSON *rows = cJSON_AddArrayToObject(sw, "rows");
		for (size_t i = 0; i < ns; i++) {
			if (!s[i].median)
				continue;
			cJSON *row = cJSON_CreateObject();
			setting_fields(row, &s[i]);
			cJSON_AddStringToObject(row, "value", s[i].value);
			cJSON_AddItemToArray(rows, row);
		}
		if (best >= 0)
			cJSON_AddStringToObject(sw, "fastest", s[best].value);
	}
	char *text = cJSON_Print(o);
	if (text)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(o);
}

static void print_sweep(const struct bench_cli *b, const struct setting *s, size_t ns, int best)
{
	printf("\nsweep of %s (median of %d run%s each):\n%12s %8s %9s %7s %9s %7s %10s\n", b->sweep_param, b->runs,
	       b->runs == 1 ? "" : "s", b->sweep_param, "total_s", "MB/s", "retries", "conns max", "cpu_s", "peak_rss");
	for (size_t i = 0; i < ns; i++) {
		if (!s[i].median)
			continue;
		char rss[32];
		progress_bytes(rss, sizeof(rss), jnum(s[i].median, "max_rss_bytes"));
		printf("%12s %8.2f %9.1f %7.0f %9.0f %7.2f %10s%s\n", s[i].value, jnum(s[i].median, "seconds"),
		       jnum(s[i].median, "mb_per_s"), jnum(s[i].median, "retries"), jnum(s[i].median, "connections_max"),
		       jnum(s[i].median, "cpu_seconds"), rss, (int)i == best ? "  <- fastest" : "");
	}
	if (best >= 0)
		printf("fastest: %s=%s (%.2f s, %.1f MB/s)\n", b->sweep_param, s[best].value,
		       jnum(s[best].median, "seconds"), jnum(s[best].median, "mb_per_s"));
}

static int parse_args(struct bench_cli *b, int argc, char **argv, struct err *e)
{
	int first;
	int r = cmd_opts_parse(&bench_opts, argc, argv, bench_option, b, &first, e);
	if (r == 1) {
		usage(stdout);
		exit(0);
	}
	if (r < 0 || cmd_access_finish(&b->pc.acc, e) < 0)
		return -1;
	return pull_cli_images(&b->pc, argc, argv, first, e);
}

int cmd_bench(int argc, char **argv)
{
	interrupt_install();
	struct bench_cli b = {.runs = DEFAULT_RUNS};
	pull_cli_init(&b.pc);
	struct err e;
	err_clear(&e);
	size_t ns = 0;
	struct setting *s = NULL;
	int code = 0, best = -1;
	bool failed = false;
	if (parse_args(&b, argc, argv, &e) < 0) {
		code = cmd_fail(&e);
		goto out;
	}
	pull_cli_log_level(&b.pc);
	ns = b.sweep_param ? b.nsweep : 1;
	s = xcalloc(ns, sizeof(*s));
	if (b.warmup) {
		cJSON *w = NULL;
		if (!b.pc.quiet && log_json())
			log_record(LOG_INFO, "warm-up run (not counted)", NULL);
		else if (!b.pc.quiet)
			fprintf(stderr, "warm-up run (not counted)\n");
		int r = run_once(&b, &w, &e) < 0 ? -1 : run_outcome(w, &e);
		cJSON_Delete(w);
		if (r < 0) { // the pull fails: so would every timed run
			failed = true;
			goto report;
		}
	}
	for (size_t i = 0; i < ns && !failed; i++) {
		if (b.sweep_param) {
			int id = strcmp(b.sweep_param, "connections") == 0 ? PULL_O_CONN : PULL_O_CHUNK;
			if (pull_cli_option(&b.pc, id, b.sweep[i], &e) < 0) { // checked when parsed
				failed = true;
				break;
			}
			s[i].value = xstrdup(b.sweep[i]);
		}
		s[i].connections = b.pc.connections;
		s[i].chunk = b.pc.chunk;
		unsigned long long ck = b.pc.chunk;
		s[i].label = ck % (1u << 20) == 0 ? xasprintf("connections=%d chunk-size=%lluM", b.pc.connections, ck >> 20)
			     : ck % (1u << 10) == 0 ? xasprintf("connections=%d chunk-size=%lluK", b.pc.connections, ck >> 10)
						    : xasprintf("connections=%d chunk-size=%llu", b.pc.connections, ck);
		s[i].runs = cJSON_CreateArray();
		for (int k = 0; k < b.runs; k++) {
			cJSON *r = NULL;
			if (run_once(&b, &r, &e) < 0) {
				failed = true;
				break;
			}
			cJSON_AddItemToArray(s[i].runs, r);
			bool ok = run_outcome(r, &e) == 0;
			if (!b.pc.quiet)
				say_run(s[i].label, k + 1, b.runs, r, ok ? NULL : &e);
			if (!ok) {
				// The pull failed: its figures are reported, the bench ends
				// with its class and exit status.
				failed = true;
				break;
			}
		}
		if (cJSON_GetArraySize(s[i].runs)) {
			setting_median(&s[i]);
			s[i].ok = !failed;
		}
	}
	for (size_t i = 0; i < ns; i++)
		if (s[i].ok && (best < 0 || jnum(s[i].median, "seconds") < jnum(s[best].median, "seconds")))
			best = (int)i;
report:
	if (failed)
		code = err_exit_code(&e) ? err_exit_code(&e) : 1;
	if (b.json) {
		print_json(&b, s, ns, best, code, failed ? &e : NULL);
	} else {
		for (size_t i = 0; i < ns; i++)
			if (s[i].median)
				print_setting(&b, &s[i]);
		if (b.sweep_param)
			print_sweep(&b, s, ns, best);
	}
	fflush(stdout);
	struct err we;
	if (b.metrics && write_bench_metrics(b.metrics, s, ns, code, &we) < 0)
		log_warn("cannot write the metrics: %s", we.msg);
	int drawn = best >= 0 ? best : 0;
	if (b.timeline && s && s[drawn].median && draw_timeline(&b, &s[drawn], &we) < 0) {
		if (!failed) {
			e = we;
			code = err_exit_code(&e);
			failed = true;
		}
	}
	if (failed)
		code = cmd_fail(&e); // the run's class and exit status, in the record as in the status
out:
	for (size_t i = 0; s && i < ns; i++) {
		free(s[i].label);
		free(s[i].value);
		cJSON_Delete(s[i].runs);
		cJSON_Delete(s[i].median);
	}
	free(s);
	for (size_t i = 0; i < b.nsweep; i++)
		free(b.sweep[i]);
	free(b.sweep);
	pull_cli_release(&b.pc);
	return code;
}
