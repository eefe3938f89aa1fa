// SPDX-License-Identifier: Apache-2.0
// The measurement of a pull (imgpull bench): the engine's events recorded, the
// run's figures as JSON, and the run itself in a child process of its own.
#include "report/measure.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report/metrics.h"
#include "report/progress.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/mem.h"

#define MAX_REQUESTS 1000000       // recorded per run; more are counted, not drawn
#define CHILD_REPORT_MAX (256u << 20)

struct measure_req {
	int lane, blob;
	double start, first, end; // seconds from the engine's start
	uint64_t offset, len, bytes;
	long status;
	enum pull_req_outcome outcome;
	char cause[24];
	bool to_registry;
};

struct measure_blob {
	char *digest;
	uint64_t size;
	double start, done; // engine seconds; done < 0: not finished
	int requests;
};

struct measure {
	struct measure_req *reqs;
	size_t nreqs, alloc;
	uint64_t dropped; // requests past MAX_REQUESTS
	uint64_t total_requests;
	char **lanes;     // "IP:port via :local"
	size_t nlanes;
	struct measure_blob *blobs;
	size_t nblobs;
	cJSON *by_host;   // host[:port] -> body bytes it sent (every request, past MAX_REQUESTS too)
};

struct measure *measure_new(void)
{
	return xcalloc(1, sizeof(struct measure));
}

static int blob_index(struct measure *m, const struct pull_blob_info *bi)
{
	for (size_t i = 0; i < m->nblobs; i++)
		if (strcmp(m->blobs[i].digest, bi->digest) == 0)
			return (int)i;
	m->blobs = xrealloc(m->blobs, (m->nblobs + 1) * sizeof(*m->blobs));
	m->blobs[m->nblobs] = (struct measure_blob){.digest = xstrdup(bi->digest), .size = bi->size, .start = -1,
						 .done = -1};
	return (int)m->nblobs++;
}

// A lane per TCP connection: the peer's address and our port name it.
static int lane_index(struct measure *m, const struct pull_request_info *r)
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

void measure_observe(void *ud, const struct pull_event *ev)
{
	struct measure *m = ud;
	if (!ev->blob)
		return;
	int bi = blob_index(m, ev->blob);
	struct measure_blob *b = &m->blobs[bi];
	if (ev->kind == PULL_EV_BLOB_START && b->start < 0)
		b->start = ev->elapsed;
	else if (ev->kind == PULL_EV_BLOB_DONE || ev->kind == PULL_EV_BLOB_CACHED)
		b->done = ev->elapsed;
	if (ev->kind != PULL_EV_REQUEST)
		return;
	const struct pull_request_info *r = ev->req;
	b->requests++;
	m->total_requests++;
	progress_tally_host(&m->by_host, r);
	if (m->nreqs == MAX_REQUESTS) {
		m->dropped++;
		return;
	}
	if (m->nreqs == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 256;
		m->reqs = xrealloc(m->reqs, m->alloc * sizeof(*m->reqs));
	}
	struct measure_req *q = &m->reqs[m->nreqs++];
	*q = (struct measure_req){.lane = lane_index(m, r), .blob = bi, .start = r->start, .first = r->first,
			       .end = r->end, .offset = r->offset, .len = r->len, .bytes = r->bytes,
			       .status = r->status, .outcome = r->outcome, .to_registry = r->to_registry};
	snprintf(q->cause, sizeof(q->cause), "%s", r->cause ? r->cause : "");
}

void measure_free(struct measure *m)
{
	if (!m)
		return;
	cJSON_Delete(m->by_host);
	free(m->reqs);
	for (size_t i = 0; i < m->nlanes; i++)
		free(m->lanes[i]);
	free(m->lanes);
	for (size_t i = 0; i < m->nblobs; i++)
		free(m->blobs[i].digest);
	free(m->blobs);
	free(m);
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
static void concurrency(const struct measure *m, double span, double *mean, int *max)
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
static int *sort_lanes(struct measure *m)
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

// Per blob: its size, time, rate, when it was done and its requests.
static void add_blobs(cJSON *o, const struct measure *m, double at)
{
	cJSON *blobs = cJSON_AddArrayToObject(o, "blobs");
	for (size_t i = 0; i < m->nblobs; i++) {
		const struct measure_blob *b = &m->blobs[i];
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
}

// For the timeline (the parent drops these from the report): the lanes, and
// per request its lane, blob, times, range, bytes, status, outcome and cause.
static void add_request_log(cJSON *o, const struct measure *m, const int *lane_of, double at)
{
	cJSON *lanes = cJSON_AddArrayToObject(o, "lanes");
	for (size_t i = 0; i < m->nlanes; i++)
		cJSON_AddItemToArray(lanes, cJSON_CreateString(m->lanes[i]));
	cJSON *reqs = cJSON_AddArrayToObject(o, "request_log");
	for (size_t i = 0; i < m->nreqs; i++) {
		const struct measure_req *q = &m->reqs[i];
		cJSON *a = cJSON_CreateArray();
		double v[] = {lane_of[q->lane], q->blob, at + q->start, q->first >= 0 ? at + q->first : -1, at + q->end,
			      (double)q->offset, (double)q->len, (double)q->bytes, (double)q->status, q->to_registry};
		for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
			cJSON_AddItemToArray(a, cJSON_CreateNumber(v[k]));
		cJSON_AddItemToArray(a, cJSON_CreateString(outcome_names[q->outcome]));
		cJSON_AddItemToArray(a, cJSON_CreateString(q->cause));
		cJSON_AddItemToArray(reqs, a);
	}
}

// The run's figures as the parent reads them (times from the run's start).
cJSON *measure_report(struct measure *m, const struct measure_run *run, const struct err *e, double secs)
{
	_cleanup_free_ int *lane_of = sort_lanes(m);
	cJSON *o = cJSON_CreateObject();
	double at = run->run_at; // the engine's start, from the run's
	double dl = secs - at;
	uint64_t bytes = 0, downloaded = run->downloaded;
	for (size_t i = 0; i < m->nblobs; i++)
		bytes += m->blobs[i].size;
	double ttfb = -1;
	size_t by_outcome[6] = {0}, to_registry = 0;
	cJSON *causes = cJSON_CreateObject();
	for (size_t i = 0; i < m->nreqs; i++) {
		const struct measure_req *q = &m->reqs[i];
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
	concurrency(m, dl, &mean, &max);
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
	cJSON_AddNumberToObject(o, "discard_memory_peak_bytes", (double)run->discard_peak);
	cJSON_AddNumberToObject(o, "connections_used", (double)m->nlanes);
	cJSON_AddNumberToObject(o, "connections_mean", mean);
	cJSON_AddNumberToObject(o, "connections_max", max);
	add_blobs(o, m, at);
	add_request_log(o, m, lane_of, at);
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

static _Noreturn void child_main(measure_child_fn fn, void *ud, const char *dir, int wfd)
{
	cJSON *o = NULL;
	int code = fn(ud, dir, &o);
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;
	if (!text || write_all(wfd, text, strlen(text)) < 0)
		code = code ? code : 1;
	free(text);
	cJSON_Delete(o);
	close(wfd);
	_exit(code);
}

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
int measure_child(const char *parent, measure_child_fn fn, void *ud, cJSON **out, struct err *e)
{
	_cleanup_free_ char *dir = NULL;
	if (parent) {
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
		child_main(fn, ud, dir, pfd[1]);
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
	cJSON_AddNumberToObject(o, "cpu_seconds", metrics_cpu_seconds(&ru));
	cJSON_AddNumberToObject(o, "max_rss_bytes", (double)metrics_rss_bytes(&ru));
	*out = o;
	return 0;
}
