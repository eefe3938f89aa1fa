// SPDX-License-Identifier: Apache-2.0
#include "report/metrics.h"

#include "util/file.h"

#define METRICS_MAX (1u << 20)

void metrics_family(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

// A label value, escaped as the format wants (backslash, double quote, newline).
void metrics_label(struct buf *out, const char *v)
{
	for (const char *p = v ? v : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			buf_printf(out, "\\%c", *p);
		else if (*p == '\n')
			buf_addstr(out, "\\n");
		else
			buf_add(out, p, 1);
	}
}

static void image_sample(struct buf *out, const char *name, const struct metrics_image *im, double v)
{
	buf_printf(out, "%s{image=\"", name);
	metrics_label(out, im->ref);
	buf_addstr(out, "\",digest=\"");
	metrics_label(out, im->digest);
	buf_printf(out, "\"} %.17g\n", v);
}

void metrics_format(struct buf *out, const struct metrics *m)
{
	metrics_family(out, "imgpull_pull_success", "gauge", "1 if the pull succeeded, 0 if not.");
	buf_printf(out, "imgpull_pull_success %d\n", m->exit_code == 0);
	metrics_family(out, "imgpull_pull_exit_code", "gauge", "The pull's exit status, by error class.");
	buf_addstr(out, "imgpull_pull_exit_code{class=\"");
	metrics_label(out, m->error_class);
	buf_printf(out, "\"} %d\n", m->exit_code);
	metrics_family(out, "imgpull_pull_duration_seconds", "gauge", "Wall time of the pull.");
	buf_printf(out, "imgpull_pull_duration_seconds %.6f\n", m->seconds);
	metrics_family(out, "imgpull_pull_resolve_seconds", "gauge", "Time to resolve the images (auth and manifests).");
	buf_printf(out, "imgpull_pull_resolve_seconds %.6f\n", m->resolve_seconds);
	metrics_family(out, "imgpull_pull_bytes", "gauge", "Bytes of all blobs of the images pulled.");
	buf_printf(out, "imgpull_pull_bytes %llu\n", (unsigned long long)m->bytes);
	metrics_family(out, "imgpull_pull_downloaded_bytes", "gauge", "Bytes transferred in this pull.");
	buf_printf(out, "imgpull_pull_downloaded_bytes %llu\n", (unsigned long long)m->downloaded);
	metrics_family(out, "imgpull_pull_bytes_per_second", "gauge", "Downloaded bytes per second of wall time.");
	buf_printf(out, "imgpull_pull_bytes_per_second %.17g\n", m->seconds > 0 ? (double)m->downloaded / m->seconds : 0.0);
	metrics_family(out, "imgpull_pull_blobs", "gauge", "Blobs by what the pull did with them.");
	buf_printf(out, "imgpull_pull_blobs{state=\"downloaded\"} %zu\nimgpull_pull_blobs{state=\"present\"} %zu\n",
		   m->blobs_downloaded, m->blobs_present);
	metrics_family(out, "imgpull_pull_retries", "gauge", "Failed tries that were retried.");
	buf_printf(out, "imgpull_pull_retries %u\n", m->retries);
	metrics_family(out, "imgpull_pull_cpu_seconds", "gauge", "CPU time of the process, user and system.");
	buf_printf(out, "imgpull_pull_cpu_seconds %.6f\n", m->cpu_seconds);
	metrics_family(out, "imgpull_pull_max_rss_bytes", "gauge", "Peak resident memory of the process.");
	buf_printf(out, "imgpull_pull_max_rss_bytes %llu\n", (unsigned long long)m->max_rss_bytes);
	metrics_family(out, "imgpull_image_bytes", "gauge", "Bytes of an image (manifest, config, layers).");
	for (size_t i = 0; i < m->nimages; i++)
		image_sample(out, "imgpull_image_bytes", &m->images[i], (double)m->images[i].bytes);
	metrics_family(out, "imgpull_image_seconds", "gauge", "Time until the image's last blob was in place.");
	for (size_t i = 0; i < m->nimages; i++)
		if (m->images[i].complete)
			image_sample(out, "imgpull_image_seconds", &m->images[i], m->images[i].seconds);
}

int metrics_write(const char *path, const struct metrics *m, struct err *e)
{
	struct buf b;
	buf_init(&b, METRICS_MAX);
	metrics_format(&b, m);
	int r = b.toobig ? err_set(e, ERR_INTERNAL, "metrics larger than %u bytes", METRICS_MAX)
			 : file_write_atomic(path, b.data, b.len, e);
	buf_release(&b);
	return r;
}

double metrics_cpu_seconds(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 + (double)ru->ru_stime.tv_sec +
	       (double)ru->ru_stime.tv_usec / 1e6;
}

uint64_t metrics_rss_bytes(const struct rusage *ru)
{
	return (uint64_t)ru->ru_maxrss * 1024; // Linux counts it in KiB
}
