// SPDX-License-Identifier: Apache-2.0
// The report of imgpull bench: the runs' medians per setting, the table or the
// JSON document, the metrics and the timeline of the median run.
#include "report/bench.h"

#include <stdlib.h>
#include <string.h>

#include "report/metrics.h"
#include "report/progress.h"
#include "report/timeline.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

// A run's failure as its pull had it: the class its report names (the run's
// exit status follows from it), its message; 0 for a run that succeeded.
int bench_run_outcome(const cJSON *r, struct err *e)
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

void bench_say_run(FILE *err, const char *label, int run, int runs, const cJSON *r, const struct err *e)
{
	double secs = jnum(r, "seconds"), mbps = jnum(r, "mb_per_s");
	if (!log_json()) {
		fprintf(err, "%s run %d/%d: %.2f s, %.1f MB/s%s%s\n", label, run, runs, secs, mbps,
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

void bench_setting_median(struct bench_setting *s)
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

static void print_run_row(FILE *out, const char *name, const cJSON *r)
{
	char rss[32];
	progress_bytes(rss, sizeof(rss), jnum(r, "max_rss_bytes"));
	fprintf(out, "%-7s %8.2f %7.3f %7.3f %9.1f %8.0f %7.0f %9.0f %5.1f/%-4.0f %7.2f %10s\n", name, jnum(r, "seconds"),
		jnum(r, "resolve_seconds"), jnum(r, "ttfb_seconds"), jnum(r, "mb_per_s"), jnum(r, "requests"),
		jnum(r, "retries"), jnum(r, "redirects"), jnum(r, "connections_mean"), jnum(r, "connections_max"),
		jnum(r, "cpu_seconds"), rss);
}

static void print_setting(FILE *out, const struct bench_report *b, const struct bench_setting *s)
{
	char total[32];
	progress_bytes(total, sizeof(total), jnum(s->median, "bytes"));
	fprintf(out, "\n%s, %s of blobs, %s\n", s->label, total,
		b->discard ? "verified in memory (--discard)" : "written to a temporary layout");
	fprintf(out, "%-7s %8s %7s %7s %9s %8s %7s %9s %10s %7s %10s\n", "run", "total_s", "resolve", "ttfb_s", "MB/s",
		"requests", "retries", "redirects", "conns avg/max", "cpu_s", "peak_rss");
	int n = cJSON_GetArraySize(s->runs);
	for (int i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof(name), "%d", i + 1);
		print_run_row(out, name, cJSON_GetArrayItem(s->runs, i));
	}
	print_run_row(out, "median", s->median);
	const cJSON *mr = cJSON_GetArrayItem(s->runs, s->median_run);
	if (b->discard) {
		char peak[32];
		progress_bytes(peak, sizeof(peak), jnum(s->median, "discard_memory_peak_bytes"));
		fprintf(out, "held in memory for the hash (median of the peaks): %s, not part of peak_rss\n", peak);
	}
	const cJSON *causes = cJSON_GetObjectItemCaseSensitive(mr, "retry_causes");
	if (cJSON_GetArraySize(causes)) {
		fprintf(out, "retry causes (run %d):", s->median_run + 1);
		const cJSON *c;
		cJSON_ArrayForEach(c, causes)
			fprintf(out, " %s %.0f", c->string, c->valuedouble);
		fprintf(out, "\n");
	}
	fprintf(out, "blobs (median over the runs):\n  %-19s %10s %8s %9s %8s\n", "digest", "size", "seconds", "MB/s",
		"requests");
	const cJSON *bl;
	cJSON_ArrayForEach(bl, cJSON_GetObjectItemCaseSensitive(s->median, "blobs"))
	{
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(bl, "digest");
		char size[32];
		progress_bytes(size, sizeof(size), jnum(bl, "size"));
		fprintf(out, "  %-19.19s %10s %8.2f %9.1f %8.0f\n", cJSON_IsString(d) ? d->valuestring : "?", size,
			jnum(bl, "seconds"), jnum(bl, "mb_per_s"), jnum(bl, "requests"));
	}
}

static void add_sample(struct buf *out, const char *name, const char *setting, const char *run, double v)
{
	buf_printf(out, "%s{setting=\"", name);
	metrics_label(out, setting);
	buf_printf(out, "\",run=\"%s\"} %.17g\n", run, v);
}

int bench_write_metrics(const char *path, const struct bench_report *b, int code, struct err *e)
{
	const struct bench_setting *s = b->s;
	size_t ns = b->ns;
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
				add_sample(&out, fams[f].name, s[i].label, run,
					       jnum(cJSON_GetArrayItem(s[i].runs, k), fams[f].field));
			}
			add_sample(&out, fams[f].name, s[i].label, "median", jnum(s[i].median, fams[f].field));
		}
	}
	int r = out.toobig ? err_set(e, ERR_INTERNAL, "metrics larger than 1 MiB")
			   : file_write_atomic(path, out.data, out.len, e);
	buf_release(&out);
	return r;
}

static int draw_timeline(const char *path, const struct bench_report *b, const struct bench_setting *s, struct err *e)
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
	for (size_t i = 0; i < b->nimages; i++)
		buf_printf(&title, "%s%s", i ? ", " : "", b->images[i]);
	buf_printf(&title, " · run %d of %d · %s%s", s->median_run + 1, cJSON_GetArraySize(s->runs), s->label,
		   b->discard ? " · discard" : "");
	struct timeline t = {.title = buf_str(&title), .duration = jnum(run, "seconds"),
			     .resolve = jnum(run, "resolve_seconds"), .nlanes = nl, .lane_labels = labels,
			     .blobs = tb, .nblobs = (size_t)nb, .reqs = tr, .nreqs = (size_t)nr};
	int r = timeline_write(path, &t, e);
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
static void setting_fields(cJSON *o, const struct bench_setting *s)
{
	cJSON_AddStringToObject(o, "label", s->label);
	cJSON_AddNumberToObject(o, "connections", s->connections);
	cJSON_AddNumberToObject(o, "chunk_size", (double)s->chunk);
	cJSON_AddItemToObject(o, "runs", runs_for_report(s->runs));
	cJSON_AddItemToObject(o, "median", s->median ? cJSON_Duplicate(s->median, true) : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "median_run", s->median_run + 1);
}

void bench_print_json(FILE *out, const struct bench_report *b, int code, const struct err *e)
{
	const struct bench_setting *s = b->s;
	size_t ns = b->ns;
	int best = b->best;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "schema", BENCH_SCHEMA);
	cJSON_AddBoolToObject(o, "ok", code == 0);
	cJSON_AddNumberToObject(o, "exit_code", code);
	cJSON_AddStringToObject(o, "class", err_class_name(e ? e->cls : ERR_NONE));
	if (e)
		cJSON_AddStringToObject(o, "error", e->msg);
	cJSON *imgs = cJSON_AddArrayToObject(o, "images");
	for (size_t i = 0; i < b->nimages; i++)
		cJSON_AddItemToArray(imgs, cJSON_CreateString(b->images[i]));
	cJSON_AddStringToObject(o, "mode", b->discard ? "discard" : "layout");
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
		fprintf(out, "%s\n", text);
	free(text);
	cJSON_Delete(o);
}

static void print_sweep(FILE *out, const struct bench_report *b)
{
	const struct bench_setting *s = b->s;
	size_t ns = b->ns;
	int best = b->best;
	fprintf(out, "\nsweep of %s (median of %d run%s each):\n%12s %8s %9s %7s %9s %7s %10s\n", b->sweep_param, b->runs,
		b->runs == 1 ? "" : "s", b->sweep_param, "total_s", "MB/s", "retries", "conns max", "cpu_s", "peak_rss");
	for (size_t i = 0; i < ns; i++) {
		if (!s[i].median)
			continue;
		char rss[32];
		progress_bytes(rss, sizeof(rss), jnum(s[i].median, "max_rss_bytes"));
		fprintf(out, "%12s %8.2f %9.1f %7.0f %9.0f %7.2f %10s%s\n", s[i].value, jnum(s[i].median, "seconds"),
			jnum(s[i].median, "mb_per_s"), jnum(s[i].median, "retries"), jnum(s[i].median, "connections_max"),
			jnum(s[i].median, "cpu_seconds"), rss, (int)i == best ? "  <- fastest" : "");
	}
	if (best >= 0)
		fprintf(out, "fastest: %s=%s (%.2f s, %.1f MB/s)\n", b->sweep_param, s[best].value,
			jnum(s[best].median, "seconds"), jnum(s[best].median, "mb_per_s"));
}

void bench_setting_init(struct bench_setting *s, const char *value, int connections, unsigned long long chunk)
{
	memset(s, 0, sizeof(*s));
	s->value = value ? xstrdup(value) : NULL;
	s->connections = connections;
	s->chunk = chunk;
	s->label = chunk % (1u << 20) == 0   ? xasprintf("connections=%d chunk-size=%lluM", connections, chunk >> 20)
		   : chunk % (1u << 10) == 0 ? xasprintf("connections=%d chunk-size=%lluK", connections, chunk >> 10)
					     : xasprintf("connections=%d chunk-size=%llu", connections, chunk);
	s->runs = cJSON_CreateArray();
}

void bench_pick_best(struct bench_report *b)
{
	b->best = -1;
	for (size_t i = 0; i < b->ns; i++)
		if (b->s[i].ok && (b->best < 0 || jnum(b->s[i].median, "seconds") < jnum(b->s[b->best].median, "seconds")))
			b->best = (int)i;
}

void bench_print(FILE *out, const struct bench_report *b)
{
	for (size_t i = 0; i < b->ns; i++)
		if (b->s[i].median)
			print_setting(out, b, &b->s[i]);
	if (b->sweep_param)
		print_sweep(out, b);
}

int bench_write_timeline(const char *path, const struct bench_report *b, struct err *e)
{
	int drawn = b->best >= 0 ? b->best : 0;
	if (!b->ns || !b->s[drawn].median)
		return 0;
	return draw_timeline(path, b, &b->s[drawn], e);
}

void bench_report_release(struct bench_report *b)
{
	for (size_t i = 0; i < b->ns; i++) {
		free(b->s[i].label);
		free(b->s[i].value);
		cJSON_Delete(b->s[i].runs);
		cJSON_Delete(b->s[i].median);
	}
	free(b->s);
	b->s = NULL;
	b->ns = 0;
}
