// SPDX-License-Identifier: Apache-2.0
// How a pull or a chart ended: the termination message and the metrics.
#include "report/outcome.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "report/metrics.h"
#include "report/termlog.h"
#include "util/file.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/mem.h"

void outcome_to_early(struct outcome_to *to, const char *termlog_named, const char *metrics_named)
{
	to->termlog = termlog_path(termlog_named);
	to->metrics = metrics_named && *metrics_named && !file_not_regular(metrics_named) ? metrics_named : NULL;
}

static char *error_head(const struct err *e)
{
	return xasprintf("error: %s (exit %d): %s", err_class_name(e->cls), err_exit_code(e), e->msg);
}

// m's outcome (class and exit status) and this process's CPU time and peak
// memory, then the file; a failure to write it is only logged.
static void write_metrics(const char *path, struct metrics *m, const struct err *e)
{
	m->exit_code = e ? err_exit_code(e) : 0;
	m->error_class = err_class_name(e ? e->cls : ERR_NONE);
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		m->cpu_seconds = metrics_cpu_seconds(&ru);
		m->max_rss_bytes = metrics_rss_bytes(&ru);
	}
	struct err me;
	if (metrics_write(path, m, &me) < 0)
		log_warn("cannot write the metrics: %s", me.msg);
}

static void pull_metrics(const char *path, const struct outcome_pull *p, const struct metrics_image *mi,
			 const struct err *e)
{
	const struct pull_blob_info *bl = NULL;
	size_t nb = p->eng ? pull_engine_blobs(p->eng, &bl) : 0;
	struct metrics m = {.seconds = p->secs, .resolve_seconds = p->run_at,
			    .downloaded = p->eng ? pull_engine_received(p->eng) : 0, .retries = p->retries,
			    .images = mi, .nimages = (size_t)p->nimg};
	for (size_t i = 0; i < nb; i++) {
		m.bytes += bl[i].size;
		m.blobs_downloaded += bl[i].state == PULL_BLOB_DONE;
		m.blobs_present += bl[i].state == PULL_BLOB_CACHED;
	}
	write_metrics(path, &m, e);
}

// An image's figures from the engine's blobs.
struct image_fig {
	uint64_t bytes;  // manifest, config and layers
	uint64_t got;    // of these, downloaded by this run
	double done_at;  // engine seconds: when its last blob was in
	bool complete;   // every blob is in
};

static struct image_fig image_figures(const struct pull_image *img, const struct pull_blob_info *bl, size_t nb)
{
	struct image_fig f = {.bytes = img->manifest_len, .complete = true};
	const struct oci_manifest *m = &img->manifest;
	for (size_t l = 0; l <= m->nlayers; l++) {
		const struct oci_descriptor *d = l == 0 ? &m->config : &m->layers[l - 1];
		f.bytes += d->size;
		for (size_t k = 0; k < nb; k++) {
			if (strcmp(bl[k].digest, d->digest) != 0)
				continue;
			f.complete = f.complete && (bl[k].state == PULL_BLOB_DONE || bl[k].state == PULL_BLOB_CACHED);
			if (bl[k].state == PULL_BLOB_DONE)
				f.got += bl[k].size;
			if (bl[k].finished > f.done_at)
				f.done_at = bl[k].finished;
		}
	}
	return f;
}

// The termination message's lines: each in full, and brief for when all do
// not fit (NULL: the full one).
struct lines {
	char **full, **brief;
	size_t n;
};

// Image i's metrics entry, and its line: all of them on success, on failure
// the one being resolved and those not finished.
static void image_report(const struct outcome_pull *p, int i, const struct pull_blob_info *bl, size_t nb,
			 const struct err *e, struct metrics_image *mi, struct lines *ln)
{
	const struct pull_image *img = &p->imgs[i];
	const char *name = img->name ? img->name : p->refs[i];
	mi->ref = name;
	if (i >= p->resolved) {
		if (e && i == p->resolved)
			ln->full[ln->n++] = xasprintf("image %s: not resolved", name);
		return;
	}
	struct image_fig f = image_figures(img, bl, nb);
	double s = p->run_at + f.done_at;
	*mi = (struct metrics_image){.ref = img->name, .digest = img->manifest_digest, .bytes = f.bytes,
				     .seconds = s, .complete = f.complete};
	if (e && !f.complete)
		ln->full[ln->n++] = xasprintf("image %s: not finished", img->name);
	if (e)
		return;
	double mbps = s > 0 ? (double)f.got / s / 1e6 : 0;
	ln->full[ln->n] = xasprintf("%s %s %llu bytes %.2f s %.1f MB/s", img->name, img->manifest_digest,
				    (unsigned long long)f.bytes, s, mbps);
	ln->brief[ln->n++] = xasprintf("%s %.19s %llu bytes %.1f s", img->name, img->manifest_digest,
				       (unsigned long long)f.bytes, s);
}

static char *pull_head(const struct outcome_pull *p, const struct pull_blob_info *bl, size_t nb, const struct err *e)
{
	uint64_t total = 0, kept = 0, got = p->eng ? pull_engine_received(p->eng) : 0;
	for (size_t i = 0; i < nb; i++) {
		total += bl[i].size;
		if (bl[i].state == PULL_BLOB_ACTIVE)
			kept += bl[i].received;
	}
	if (!e)
		return xasprintf("pulled %d image%s, %llu bytes (%llu downloaded) in %.2f s, %.1f MB/s", p->nimg,
				 p->nimg == 1 ? "" : "s", (unsigned long long)total, (unsigned long long)got, p->secs,
				 p->secs > 0 && p->eng ? (double)got / p->secs / 1e6 : 0);
	if (e->cls == ERR_INTERRUPTED)
		return xasprintf("interrupted by %s (exit %d): %llu bytes kept for a later run",
				 interrupt_signal() == SIGINT ? "SIGINT" : "SIGTERM", err_exit_code(e),
				 (unsigned long long)kept);
	return error_head(e);
}

void outcome_pull(const struct outcome_to *to, const struct outcome_pull *p, const struct err *e)
{
	const struct pull_blob_info *bl = NULL;
	size_t nb = p->eng ? pull_engine_blobs(p->eng, &bl) : 0;
	size_t n = (size_t)p->nimg + 1;
	struct metrics_image *mi = xcalloc(n, sizeof(*mi));
	struct lines ln = {xcalloc(n, sizeof(char *)), xcalloc(n, sizeof(char *)), 0};
	for (int i = 0; i < p->nimg; i++)
		image_report(p, i, bl, nb, e, &mi[i], &ln);
	for (size_t i = 0; i < ln.n; i++)
		if (!ln.brief[i])
			ln.brief[i] = xstrdup(ln.full[i]);
	_cleanup_free_ char *head = pull_head(p, bl, nb, e);
	termlog_write(to->termlog, head, (const char *const *)ln.full, (const char *const *)ln.brief, ln.n);
	if (to->metrics)
		pull_metrics(to->metrics, p, mi, e);
	free(mi);
	for (size_t i = 0; i < ln.n; i++) {
		free(ln.full[i]);
		free(ln.brief[i]);
	}
	free(ln.full);
	free(ln.brief);
}

void outcome_unpacked(const struct outcome_to *to, const char *rootfs, const struct pull_image *img,
		      uint64_t bytes, double secs)
{
	_cleanup_free_ char *head = xasprintf("unpacked already: '%s' holds the image, 0 bytes downloaded in %.2f s",
					      rootfs, secs);
	_cleanup_free_ char *line = xasprintf("%s %s %llu bytes complete already", img->name, img->manifest_digest,
					      (unsigned long long)bytes);
	const char *lines[] = {line};
	termlog_write(to->termlog, head, lines, lines, 1);
	if (!to->metrics)
		return;
	struct metrics_image mi = {.ref = img->name, .digest = img->manifest_digest, .bytes = bytes, .seconds = secs,
				   .complete = true};
	struct outcome_pull p = {.nimg = 1, .secs = secs, .run_at = secs};
	pull_metrics(to->metrics, &p, &mi, NULL);
}

void outcome_chart(const struct outcome_to *to, const struct outcome_chart *c, const struct err *e)
{
	unsigned long long bytes = c->bytes;
	_cleanup_free_ char *head = e ? error_head(e)
				      : xasprintf("pulled chart %s %s, %llu bytes in %.2f s into %s", c->name, c->version,
						  bytes, c->secs, c->written);
	_cleanup_free_ char *line = e ? xasprintf("chart %s: not pulled", c->ref)
				      : xasprintf("%s %s %llu bytes %.2f s", c->ref, c->digest, bytes, c->secs);
	const char *lines[] = {line};
	termlog_write(to->termlog, head, lines, lines, 1);
	if (!to->metrics)
		return;
	struct metrics_image mi = {.ref = c->ref, .digest = c->digest, .bytes = c->bytes, .seconds = c->secs,
				   .complete = !e};
	struct metrics m = {.seconds = c->secs, .bytes = c->bytes, .downloaded = c->bytes,
			    .blobs_downloaded = e ? 0 : c->blobs, .images = &mi, .nimages = 1};
	write_metrics(to->metrics, &m, e);
}
