// SPDX-License-Identifier: Apache-2.0
#include "report/progress.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/mem.h"

struct progress {
	enum progress_mode mode;
	struct pull_engine *eng;
	double plain_interval;
	double last_print;
	int drawn_lines;    // tty: lines to move up before redrawing
	uint64_t rate_bytes; // rate over a sliding window
	double rate_t;
	double rate;
	// What the requests met, for the summary (as bench counts them).
	unsigned retries, renewals, redirects;
	cJSON *causes; // cause key -> count, of retries and renewals
	cJSON *by_host; // host[:port] -> body bytes received from it
	bool out_failed; // json: out could not be written (its reader left)
	FILE *out, *err; // the command's streams: JSON events and the summary; the display
};

int progress_mode_parse(const char *s, enum progress_mode *out)
{
	static const struct { const char *n; enum progress_mode m; } names[] = {
		{"auto", PROGRESS_AUTO}, {"tty", PROGRESS_TTY}, {"plain", PROGRESS_PLAIN},
		{"json", PROGRESS_JSON}, {"none", PROGRESS_NONE}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].n) == 0) {
			*out = names[i].m;
			return 0;
		}
	}
	return -1;
}

struct progress *progress_new(enum progress_mode mode, double plain_interval_s, FILE *out, FILE *err)
{
	struct progress *p = xcalloc(1, sizeof(*p));
	p->out = out;
	p->err = err;
	if (log_json() && (mode == PROGRESS_AUTO || mode == PROGRESS_TTY || mode == PROGRESS_PLAIN))
		mode = PROGRESS_LOG; // stderr carries JSON lines only
	if (mode == PROGRESS_AUTO)
		mode = isatty(fileno(err)) ? PROGRESS_TTY : PROGRESS_PLAIN;
	p->mode = mode;
	p->plain_interval = plain_interval_s > 0 ? plain_interval_s : 5;
	return p;
}

void progress_attach(struct progress *p, struct pull_engine *eng)
{
	p->eng = eng;
}

void progress_bytes(char *out, size_t n, double bytes)
{
	const char *units[] = {"B", "KB", "MB", "GB", "TB"};
	int u = 0;
	while (bytes >= 1000 && u < 4) {
		bytes /= 1000;
		u++;
	}
	snprintf(out, n, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

// One JSON line on out. A reader that went away (`| head -1`: EPIPE, as
// SIGPIPE is ignored) or any other write error ends the JSON stream, once and
// with a warning: the pull goes on to its own end, exit status and messages.
static void json_emit(struct progress *p, cJSON *o)
{
	char *s = p->out_failed ? NULL : cJSON_PrintUnformatted(o);
	if (s) {
		errno = 0;
		if (fprintf(p->out, "%s\n", s) < 0 || fflush(p->out) == EOF) {
			p->out_failed = true;
			log_warn("progress: cannot write to %s (%s): no more progress events there",
				 p->out == stdout ? "stdout" : "the output", errno ? strerror(errno) : "write error");
		}
		free(s);
	}
	cJSON_Delete(o);
}

// Every event says when it happened (Unix seconds, ms precision), to be
// lined up with the logs of registries and proxies.
static cJSON *json_event(const char *name)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event", name);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	cJSON_AddNumberToObject(o, "time", (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000.0);
	return o;
}

static void update_rate(struct progress *p, const struct pull_event *ev)
{
	double dt = ev->elapsed - p->rate_t;
	if (dt >= 1.0 || p->rate_t == 0) {
		if (dt > 0 && p->rate_t > 0)
			p->rate = (double)(ev->received_bytes - p->rate_bytes) / dt;
		else if (ev->elapsed > 0)
			p->rate = (double)ev->received_bytes / ev->elapsed;
		p->rate_bytes = ev->received_bytes;
		p->rate_t = ev->elapsed;
	}
}

static void tty_clear(struct progress *p)
{
	for (int i = 0; i < p->drawn_lines; i++)
		fputs("\033[1A\033[2K", p->err);
	p->drawn_lines = 0;
}

static void tty_draw(struct progress *p, const struct pull_event *ev)
{
	const struct pull_blob_info *bl;
	size_t n = p->eng ? pull_engine_blobs(p->eng, &bl) : 0;
	tty_clear(p);
	int lines = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pull_blob_info *b = &bl[i];
		if (b->state != PULL_BLOB_ACTIVE)
			continue;
		if (lines >= 12) // the rest is in the total line
			break;
		char have[32], size[32];
		progress_bytes(have, sizeof(have), (double)b->received);
		progress_bytes(size, sizeof(size), (double)b->size);
		int pct = b->size ? (int)(100.0 * (double)b->received / (double)b->size) : 100;
		char bar[21];
		int fill = pct / 5;
		for (int k = 0; k < 20; k++)
			bar[k] = k < fill ? '=' : (k == fill ? '>' : ' ');
		bar[20] = '\0';
		fprintf(p->err, "%.19s [%s] %3d%% %10s / %-10s %2d conn\n", b->digest + 7, bar, pct, have, size,
			b->connections);
		lines++;
	}
	char done[32], total[32], rate[32];
	progress_bytes(done, sizeof(done), (double)ev->done_bytes);
	progress_bytes(total, sizeof(total), (double)ev->total_bytes);
	progress_bytes(rate, sizeof(rate), p->rate);
	fprintf(p->err, "total %s / %s  %s/s  %.1fs\n", done, total, rate, ev->elapsed);
	p->drawn_lines = lines + 1;
	fflush(p->err);
}

static void plain_line(struct progress *p, const struct pull_event *ev)
{
	char done[32], total[32], rate[32];
	progress_bytes(done, sizeof(done), (double)ev->done_bytes);
	progress_bytes(total, sizeof(total), (double)ev->total_bytes);
	progress_bytes(rate, sizeof(rate), p->rate);
	int pct = ev->total_bytes ? (int)(100.0 * (double)ev->done_bytes / (double)ev->total_bytes) : 100;
	fprintf(p->err, "progress: %s / %s (%d%%), %s/s, %.1fs\n", done, total, pct, rate, ev->elapsed);
}

// PROGRESS_LOG: one record per event, and progress every plain_interval.
static void log_event(struct progress *p, const struct pull_event *ev)
{
	if (ev->kind == PULL_EV_TICK) {
		if (ev->elapsed - p->last_print < p->plain_interval)
			return;
		p->last_print = ev->elapsed;
		cJSON *f = cJSON_CreateObject();
		cJSON_AddNumberToObject(f, "bytes", (double)ev->done_bytes);
		cJSON_AddNumberToObject(f, "total", (double)ev->total_bytes);
		cJSON_AddNumberToObject(f, "bytes_per_second", (double)(uint64_t)p->rate);
		if (p->rate > 0 && ev->total_bytes >= ev->done_bytes)
			cJSON_AddNumberToObject(f, "eta_seconds",
						(double)(uint64_t)((double)(ev->total_bytes - ev->done_bytes) / p->rate));
		cJSON_AddNumberToObject(f, "seconds", ev->elapsed);
		log_record(LOG_INFO, "progress", f);
		return;
	}
	static const char *const msgs[] = {
		[PULL_EV_BLOB_CACHED] = "blob present", [PULL_EV_BLOB_START] = "blob started",
		[PULL_EV_BLOB_DONE] = "blob done", [PULL_EV_RETRY] = "retry",
		[PULL_EV_BLOB_WAIT] = "blob waiting for another imgpull",
	};
	cJSON *f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "digest", ev->blob->digest);
	cJSON_AddNumberToObject(f, "bytes", (double)ev->blob->size);
	if (ev->kind == PULL_EV_BLOB_DONE)
		cJSON_AddNumberToObject(f, "seconds", ev->elapsed);
	if (ev->host)
		cJSON_AddStringToObject(f, "host", ev->host);
	if (ev->kind == PULL_EV_RETRY)
		cJSON_AddNumberToObject(f, "attempt", ev->attempt);
	if (ev->detail)
		cJSON_AddStringToObject(f, "detail", ev->detail);
	log_record(ev->kind == PULL_EV_RETRY ? LOG_WARN : LOG_INFO, msgs[ev->kind], f);
}

void progress_tally_host(cJSON **by_host, const struct pull_request_info *r)
{
	if (!r->bytes || !r->host)
		return;
	if (!*by_host)
		*by_host = cJSON_CreateObject();
	cJSON *n = cJSON_GetObjectItemCaseSensitive(*by_host, r->host);
	if (n)
		cJSON_SetNumberValue(n, n->valuedouble + (double)r->bytes);
	else
		cJSON_AddNumberToObject(*by_host, r->host, (double)r->bytes);
}

static void tally_request(struct progress *p, const struct pull_request_info *r)
{
	progress_tally_host(&p->by_host, r);
	if (r->outcome == PULL_REQ_REDIRECT)
		p->redirects++;
	if (r->outcome != PULL_REQ_RETRY && r->outcome != PULL_REQ_RENEW && r->outcome != PULL_REQ_FAILED)
		return;
	if (r->outcome == PULL_REQ_RENEW)
		p->renewals++;
	else
		p->retries++;
	const char *c = r->cause && *r->cause ? r->cause : "other";
	if (!p->causes)
		p->causes = cJSON_CreateObject();
	cJSON *n = cJSON_GetObjectItemCaseSensitive(p->causes, c);
	if (n)
		cJSON_SetNumberValue(n, n->valuedouble + 1);
	else
		cJSON_AddNumberToObject(p->causes, c, 1);
}

// The requests' tally into a summary object.
static void tally_add(const struct progress *p, cJSON *o)
{
	cJSON_AddNumberToObject(o, "retries", p->retries);
	cJSON_AddItemToObject(o, "retry_causes", p->causes ? cJSON_Duplicate(p->causes, 1) : cJSON_CreateObject());
	cJSON_AddNumberToObject(o, "renewals", p->renewals);
	cJSON_AddNumberToObject(o, "redirects", p->redirects);
	cJSON_AddItemToObject(o, "bytes_by_host", p->by_host ? cJSON_Duplicate(p->by_host, 1) : cJSON_CreateObject());
}

// --progress json: every blob event, and the progress at most once a second.
static void json_on_event(struct progress *p, const struct pull_event *ev)
{
	if (ev->kind == PULL_EV_TICK) {
		if (ev->elapsed - p->last_print < 1.0 && ev->done_bytes != ev->total_bytes)
			return;
		p->last_print = ev->elapsed;
		cJSON *o = json_event("progress");
		cJSON_AddNumberToObject(o, "done_bytes", (double)ev->done_bytes);
		cJSON_AddNumberToObject(o, "total_bytes", (double)ev->total_bytes);
		cJSON_AddNumberToObject(o, "bytes_per_second", (double)(uint64_t)p->rate);
		cJSON_AddNumberToObject(o, "elapsed", ev->elapsed);
		json_emit(p, o);
		return;
	}
	static const char *names[] = {"blob_cached", "blob_start", "blob_done", "retry", "tick", "blob_wait"};
	cJSON *o = json_event(names[ev->kind]);
	cJSON_AddStringToObject(o, "digest", ev->blob->digest);
	cJSON_AddNumberToObject(o, "size", (double)ev->blob->size);
	if (ev->kind == PULL_EV_BLOB_DONE && ev->blob->source)
		cJSON_AddStringToObject(o, "host", ev->blob->source);
	if (ev->detail)
		cJSON_AddStringToObject(o, "detail", ev->detail);
	cJSON_AddNumberToObject(o, "elapsed", ev->elapsed);
	json_emit(p, o);
}

// --progress plain: a line per blob event, and the progress every interval.
static void plain_on_event(struct progress *p, const struct pull_event *ev)
{
	if (ev->kind == PULL_EV_RETRY)
		fprintf(p->err, "retry %s: %s\n", ev->blob->digest, ev->detail);
	else if (ev->kind == PULL_EV_BLOB_DONE)
		fprintf(p->err, "done %s (%llu bytes, %.1fs, from %s)\n", ev->blob->digest,
			(unsigned long long)ev->blob->size, ev->elapsed, ev->blob->source ? ev->blob->source : "?");
	else if (ev->kind == PULL_EV_BLOB_CACHED)
		fprintf(p->err, "exists %s\n", ev->blob->digest);
	else if (ev->kind == PULL_EV_BLOB_WAIT)
		fprintf(p->err, "waiting %s: %s\n", ev->blob->digest, ev->detail);
	else if (ev->kind == PULL_EV_BLOB_START && ev->detail)
		fprintf(p->err, "start %s: %s\n", ev->blob->digest, ev->detail);
	else if (ev->kind == PULL_EV_TICK && ev->elapsed - p->last_print >= p->plain_interval) {
		p->last_print = ev->elapsed;
		plain_line(p, ev);
	}
}

void progress_on_event(void *ud, const struct pull_event *ev)
{
	struct progress *p = ud;
	if (ev->kind == PULL_EV_REQUEST) { // per range: too many to show; counted for the summary
		tally_request(p, ev->req);
		return;
	}
	update_rate(p, ev);
	switch (p->mode) {
	case PROGRESS_NONE:
	case PROGRESS_AUTO:
		return;
	case PROGRESS_LOG:
		log_event(p, ev);
		return;
	case PROGRESS_JSON:
		json_on_event(p, ev);
		return;
	case PROGRESS_TTY:
		if (ev->kind == PULL_EV_RETRY) {
			tty_clear(p);
			fprintf(p->err, "retry %.19s: %s\n", ev->blob->digest + 7, ev->detail);
		}
		if (ev->kind == PULL_EV_TICK || ev->kind == PULL_EV_RETRY)
			tty_draw(p, ev);
		return;
	case PROGRESS_PLAIN:
		plain_on_event(p, ev);
		return;
	}
}

void progress_resolved(struct progress *p, const char *ref, const char *digest, size_t nblobs)
{
	if (p->mode == PROGRESS_LOG) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "image", ref);
		cJSON_AddStringToObject(f, "digest", digest);
		cJSON_AddNumberToObject(f, "blobs", (double)nblobs);
		log_record(LOG_INFO, "image resolved", f);
	} else if (p->mode == PROGRESS_JSON) {
		cJSON *o = json_event("image_resolved");
		cJSON_AddStringToObject(o, "ref", ref);
		cJSON_AddStringToObject(o, "digest", digest);
		cJSON_AddNumberToObject(o, "blobs", (double)nblobs);
		json_emit(p, o);
	} else if (p->mode != PROGRESS_NONE) {
		fprintf(p->err, "resolved %s -> %s (%zu blobs)\n", ref, digest, nblobs);
	}
}

void progress_image_done(struct progress *p, const char *ref, const char *digest)
{
	if (p->mode == PROGRESS_LOG) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "image", ref);
		cJSON_AddStringToObject(f, "digest", digest);
		log_record(LOG_INFO, "image done", f);
	} else if (p->mode == PROGRESS_JSON) {
		cJSON *o = json_event("image_done");
		cJSON_AddStringToObject(o, "ref", ref);
		cJSON_AddStringToObject(o, "digest", digest);
		json_emit(p, o);
	} else if (p->mode == PROGRESS_TTY) {
		tty_clear(p);
	}
}

void progress_summary(struct progress *p, size_t images, uint64_t bytes, uint64_t received, double secs)
{
	double mbps = secs > 0 ? (double)received / secs / 1e6 : 0;
	if (p->mode == PROGRESS_LOG || (p->mode == PROGRESS_NONE && log_json())) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddNumberToObject(f, "images", (double)images);
		cJSON_AddNumberToObject(f, "bytes", (double)bytes);
		cJSON_AddNumberToObject(f, "downloaded", (double)received);
		cJSON_AddNumberToObject(f, "seconds", secs);
		cJSON_AddNumberToObject(f, "mb_per_second", mbps);
		tally_add(p, f);
		log_record(LOG_INFO, "pulled", f);
		return;
	}
	if (p->mode == PROGRESS_JSON) {
		cJSON *o = json_event("summary");
		cJSON_AddNumberToObject(o, "images", (double)images);
		cJSON_AddNumberToObject(o, "bytes", (double)bytes);
		cJSON_AddNumberToObject(o, "received_bytes", (double)received);
		cJSON_AddNumberToObject(o, "seconds", secs);
		cJSON_AddNumberToObject(o, "mb_per_second", mbps);
		tally_add(p, o);
		json_emit(p, o);
		return;
	}
	if (p->mode == PROGRESS_TTY)
		tty_clear(p);
	char b[32];
	progress_bytes(b, sizeof(b), (double)bytes);
	fprintf(p->out, "pulled %zu image%s, %s (%llu bytes downloaded) in %.2f s, %.1f MB/s", images,
		images == 1 ? "" : "s", b, (unsigned long long)received, secs, mbps);
	if (p->retries || p->renewals) {
		fprintf(p->out, "; %u retr%s, %u renewal%s (", p->retries, p->retries == 1 ? "y" : "ies",
			p->renewals, p->renewals == 1 ? "" : "s");
		const cJSON *c;
		const char *sep = "";
		cJSON_ArrayForEach(c, p->causes) {
			fprintf(p->out, "%s%s %d", sep, c->string, c->valueint);
			sep = ", ";
		}
		fprintf(p->out, ")");
	}
	fprintf(p->out, "\n");
	fflush(p->out);
}

void progress_error(struct progress *p, const struct err *e)
{
	if (p->mode == PROGRESS_TTY)
		tty_clear(p);
	if (p->mode != PROGRESS_JSON)
		return;
	cJSON *o = json_event("error");
	cJSON_AddStringToObject(o, "class", err_class_name(e->cls));
	cJSON_AddNumberToObject(o, "exit_code", err_exit_code(e));
	cJSON_AddStringToObject(o, "message", e->msg);
	json_emit(p, o);
}

void progress_free(struct progress *p)
{
	if (p) {
		cJSON_Delete(p->causes);
		cJSON_Delete(p->by_host);
	}
	free(p);
}
