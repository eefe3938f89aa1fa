// SPDX-License-Identifier: Apache-2.0
// imgpull pull: resolve every image's manifest, download all their blobs
// through one engine, then record each image in the layout's index.json.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cmd/access.h"
#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "cmd/metrics.h"
#include "cmd/progress.h"
#include "cmd/pullrun.h"
#include "cmd/prefetch.h"
#include "cmd/termlog.h"
#include "cri/content.h"
#include "cri/cri.h"
#include "oci/ingest.h"
#include "oci/layout.h"
#include "oci/manifest.h"
#include "oci/ref.h"
#include "pull/engine.h"
#include "transport/http.h"
#include "pull/registry.h"
#include "unpack/rootfs.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/mem.h"

static const struct cmd_opt pull_opt_table[] = {
	{"dest", PULL_O_DEST, "DIR", "OCI image layout to write (required; created if missing)", 0},
	PULL_FETCH_OPTS,
	{"containerd", PULL_O_CONTAINERD, "ADDRESS",
	 "then hand the images to containerd: blobs into its content store,\n"
	 "and a CRI PullImage on ADDRESS (default unix://" CRI_DEFAULT_SOCKET ")\n"
	 "that registers and unpacks them; --dest is then optional", CMD_OPT_OPTARG},
	{"containerd-root", PULL_O_CROOT, "DIR", "containerd's root directory (default " CRI_DEFAULT_ROOT ")", 0},
	{"snapshotter", PULL_O_SNAPSHOTTER, "NAME",
	 "with --containerd: unpack the layers into this snapshotter of\n"
	 "containerd's while they download, overlayfs or native (default:\n"
	 "the one its CRI plugin uses); none: leave the unpack to containerd", 0},
	{"unpack", PULL_O_UNPACK, "ROOTFS",
	 "then apply the image's layers in order into the directory\n"
	 "ROOTFS (one image); marked complete by ROOTFS/" UNPACK_MARKER_DONE ";\n"
	 "without --dest no layout is kept (blobs pass through\n"
	 "ROOTFS.imgpull-layout, dropped as they are applied)", 0},
	{"no-chown", PULL_O_NOCHOWN, NULL, "--unpack: keep the files' owner the caller (automatic when not root)", 0},
	{"progress", PULL_O_PROGRESS, "MODE", "auto, tty, plain, json or none (default auto)", 0},
	{"log-format", PULL_O_LOGFMT, "FORMAT",
	 "auto, json or text (default auto: JSON lines when stderr\nis not a terminal)", 0},
	{"termination-log", PULL_O_TERMLOG, "PATH",
	 "where the outcome goes on exit, at most 4096 bytes (default\n"
	 TERMLOG_DEFAULT " when it exists and is writable)", 0},
	{"metrics", PULL_O_METRICS, "FILE",
	 "on exit, the pull's figures in Prometheus text format (for\n"
	 "node-exporter's textfile collector), written atomically", 0},
	{"quiet", 'q', NULL, "no progress and no summary", 0},
	{"verbose", 'v', NULL, "diagnostic log on stderr (twice: debug)", CMD_OPT_COUNT},
	{"help", 'h', NULL, "show this help", CMD_OPT_NOENV},
};
static const struct cmd_opts pull_opts = {pull_opt_table, sizeof(pull_opt_table) / sizeof(pull_opt_table[0]), "pull"};

static void usage(FILE *f)
{
	fprintf(f, "usage: imgpull pull --dest DIR [OPTIONS] IMAGE...\n"
		   "       imgpull pull --unpack ROOTFS [--dest DIR] [OPTIONS] IMAGE\n\n"
		   "Pulls images into the OCI image layout DIR (created if missing). Without an IMAGE\n"
		   "argument, the images come from $IMGPULL_IMAGES (a list). Every option can also be\n"
		   "set by the variable shown under it; a flag wins over its variable.\n\n");
	cmd_opts_usage(f, &pull_opts);
}

static int parse_args(struct pull_cli *c, int argc, char **argv, struct err *e)
{
	int first;
	int r = cmd_opts_parse(&pull_opts, argc, argv, pull_cli_option, c, &first, e);
	if (r == 1) {
		usage(stdout);
		exit(0);
	}
	if (r < 0 || cmd_access_finish(&c->acc, e) < 0)
		return -1;
	if (!c->containerd_root)
		c->containerd_root = CRI_DEFAULT_ROOT;
	if (!c->dest && c->containerd) {
		// Inside containerd's root: one filesystem and one mount (a hard link
		// cannot cross either), so its blobs are links to ours, written once.
		c->default_dest = xasprintf("%s/imgpull", c->containerd_root);
		c->dest = c->default_dest;
	}
	if (!c->dest && c->unpack) {
		// Beside ROOTFS, on its filesystem: kept for a rerun until unpacked.
		c->default_dest = xasprintf("%s.imgpull-layout", c->unpack);
		c->dest = c->default_dest;
		c->dest_temporary = true;
	}
	if (!c->dest)
		return err_set(e, ERR_USAGE, "--dest DIR (or IMGPULL_DEST) is required (see 'imgpull help pull')");
	if (pull_cli_images(c, argc, argv, first, e) < 0)
		return -1;
	if (c->unpack && c->nimages != 1)
		return err_set(e, ERR_USAGE, "--unpack takes one image, not %zu", c->nimages);
	return 0;
}

// --unpack: the image's layers go into ROOTFS on a thread of their own while
// they download, each read as far as the engine has written and hashed it.
struct unpacker {
	const struct pull_cli *c;
	struct pull_engine *eng;
	struct unpack_image u;
	pthread_t th;
	bool started;
	int rc;
	struct err err;
	struct unpack_stats st;
	double t0, took;
};

static void *unpacker_main(void *arg)
{
	struct unpacker *up = arg;
	up->rc = unpack_image_run(&up->u, &up->st, &up->err);
	up->took = clock_mono() - up->t0;
	if (up->rc < 0) // the pull ends with the unpack's error (a hostile layer: exit 6)
		pull_engine_abort(up->eng, &up->err);
	return NULL;
}

static void unpacker_start(void *ud, struct pull_run *r)
{
	struct unpacker *up = ud;
	const struct pull_image *img = &r->imgs[0];
	up->eng = r->eng;
	up->u = (struct unpack_image){.rootfs = up->c->unpack, .layout = &r->layout, .name = img->name,
				      .manifest_digest = img->manifest_digest, .manifest = &img->manifest,
				      .chown = !up->c->no_chown && geteuid() == 0, .open_blob = pull_run_stream_open,
				      .blob_ud = r->eng, .drop_blobs = up->c->dest_temporary};
	up->t0 = clock_mono();
	int rc = pthread_create(&up->th, NULL, unpacker_main, up);
	if (rc != 0) {
		up->rc = err_sys(&up->err, ERR_INTERNAL, rc, "cannot start the unpacking thread");
		pull_engine_abort(r->eng, &up->err);
		return;
	}
	up->started = true;
}

// Waits for the unpack; its error when the pull itself went well.
static int unpacker_finish(struct unpacker *up, bool pulled, struct err *e)
{
	if (up->started) {
		pthread_join(up->th, NULL);
		up->started = false;
	}
	if (!pulled)
		return -1;
	if (up->rc < 0) {
		*e = up->err;
		return err_wrap(e, "unpacking into '%s'", up->c->unpack);
	}
	if (up->rc == 1)
		log_info("unpack: '%s' holds %s already", up->c->unpack, up->u.name);
	else
		log_info("unpack: %s into '%s': %llu entries, %llu bytes in %.2f s (gzip through %s)", up->u.name,
			 up->c->unpack, (unsigned long long)up->st.entries, (unsigned long long)up->st.bytes_out,
			 up->took, unpack_gzip_engine());
	return 0;
}

// The termination message: on success each image's reference, digest, bytes,
// seconds and MB/s; on failure the class, exit status, error and the images it
// concerns (the one being resolved, or those not finished).
// Where the outcome goes at the end: the termination message, the metrics file.
struct report_to {
	const char *termlog;
	const char *metrics;
	unsigned retries;
};

static void write_metrics(const struct report_to *to, const struct metrics_image *mi, int nimg,
			  struct pull_engine *eng, const struct err *e, double secs, double run_at)
{
	const struct pull_blob_info *bl = NULL;
	size_t nb = eng ? pull_engine_blobs(eng, &bl) : 0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	struct metrics m = {.exit_code = e ? err_exit_code(e) : 0, .error_class = err_class_name(e ? e->cls : ERR_NONE),
			    .seconds = secs, .resolve_seconds = run_at, .downloaded = eng ? pull_engine_received(eng) : 0,
			    .retries = to->retries,
			    .cpu_seconds = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
					   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
			    .max_rss_bytes = (uint64_t)ru.ru_maxrss * 1024, .images = mi, .nimages = (size_t)nimg};
	for (size_t i = 0; i < nb; i++) {
		m.bytes += bl[i].size;
		m.blobs_downloaded += bl[i].state == PULL_BLOB_DONE;
		m.blobs_present += bl[i].state == PULL_BLOB_CACHED;
	}
	struct err me;
	if (metrics_write(to->metrics, &m, &me) < 0)
		log_warn("cannot write the metrics: %s", me.msg);
}

static void report_end(const struct report_to *to, char **refs, struct pull_image *imgs, int nimg, int resolved,
		       struct pull_engine *eng, const struct err *e, double secs, double run_at)
{
	const char *tpath = to->termlog;
	struct metrics_image *mi = xcalloc((size_t)nimg + 1, sizeof(*mi));
	const struct pull_blob_info *bl = NULL;
	size_t nb = eng ? pull_engine_blobs(eng, &bl) : 0;
	char **full = xcalloc((size_t)nimg + 1, sizeof(char *)), **brief = xcalloc((size_t)nimg + 1, sizeof(char *));
	size_t n = 0;
	uint64_t total = 0, kept = 0;
	for (size_t i = 0; i < nb; i++) {
		total += bl[i].size;
		if (bl[i].state == PULL_BLOB_ACTIVE)
			kept += bl[i].received;
	}
	for (int i = 0; i < nimg; i++) {
		struct pull_image *img = &imgs[i];
		mi[i].ref = img->name ? img->name : refs[i];
		if (i >= resolved) {
			if (e && i == resolved)
				full[n++] = xasprintf("image %s: not resolved", img->name ? img->name : refs[i]);
			continue;
		}
		uint64_t bytes = img->manifest_len, got = 0;
		double done_at = 0;
		bool complete = true;
		const struct oci_manifest *m = &img->manifest;
		for (size_t l = 0; l <= m->nlayers; l++) {
			const struct oci_descriptor *d = l == 0 ? &m->config : &m->layers[l - 1];
			bytes += d->size;
			for (size_t k = 0; k < nb; k++) {
				if (strcmp(bl[k].digest, d->digest) != 0)
					continue;
				complete &= bl[k].state == PULL_BLOB_DONE || bl[k].state == PULL_BLOB_CACHED;
				if (bl[k].state == PULL_BLOB_DONE)
					got += bl[k].size;
				if (bl[k].finished > done_at)
					done_at = bl[k].finished;
			}
		}
		double s = run_at + done_at;
		mi[i] = (struct metrics_image){.ref = img->name, .digest = img->manifest_digest, .bytes = bytes,
					       .seconds = s, .complete = complete};
		if (e && !complete) {
			full[n++] = xasprintf("image %s: not finished", img->name);
			continue;
		}
		if (e)
			continue;
		double mbps = s > 0 ? (double)got / s / 1e6 : 0;
		full[n] = xasprintf("%s %s %llu bytes %.2f s %.1f MB/s", img->name, img->manifest_digest,
				    (unsigned long long)bytes, s, mbps);
		brief[n++] = xasprintf("%s %.19s %llu bytes %.1f s", img->name, img->manifest_digest,
				       (unsigned long long)bytes, s);
	}
	char *head;
	if (!e)
		head = xasprintf("pulled %d image%s, %llu bytes (%llu downloaded) in %.2f s, %.1f MB/s", nimg,
				 nimg == 1 ? "" : "s", (unsigned long long)total,
				 (unsigned long long)(eng ? pull_engine_received(eng) : 0), secs,
				 secs > 0 && eng ? (double)pull_engine_received(eng) / secs / 1e6 : 0);
	else if (e->cls == ERR_INTERRUPTED)
		head = xasprintf("interrupted by %s (exit %d): %llu bytes kept for a later run",
				 interrupt_signal() == SIGINT ? "SIGINT" : "SIGTERM", err_exit_code(e),
				 (unsigned long long)kept);
	else
		head = xasprintf("error: %s (exit %d): %s", err_class_name(e->cls), err_exit_code(e), e->msg);
	for (size_t i = 0; i < n; i++)
		if (!brief[i])
			brief[i] = xstrdup(full[i]);
	termlog_write(tpath, head, (const char *const *)full, (const char *const *)brief, n);
	if (to->metrics)
		write_metrics(to, mi, nimg, eng, e, secs, run_at);
	free(mi);
	free(head);
	for (size_t i = 0; i < n; i++) {
		free(full[i]);
		free(brief[i]);
	}
	free(full);
	free(brief);
}

// --unpack found ROOTFS complete for the image: nothing fetched, nothing
// created. Said on stderr (a log record in JSON), as the progress events
// (image done, a summary with 0 downloaded), and in the termination message.
static void report_unpacked(const struct report_to *to, const struct pull_cli *c, struct progress *prog,
			    const struct pull_run *r, double secs)
{
	const struct pull_image *img = &r->imgs[0];
	if (log_json()) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "image", img->name);
		cJSON_AddStringToObject(f, "digest", img->manifest_digest);
		cJSON_AddStringToObject(f, "rootfs", c->unpack);
		log_record(LOG_INFO, "unpacked already: nothing to download", f);
	} else if (!c->quiet) {
		fprintf(stderr, "unpack: '%s' holds %s already (%s): nothing to download\n", c->unpack, img->name,
			img->manifest_digest);
	}
	progress_image_done(prog, img->name, img->manifest_digest);
	if (!c->quiet)
		progress_summary(prog, 1, r->rootfs.bytes, 0, secs);
	_cleanup_free_ char *head = xasprintf("unpacked already: '%s' holds the image, 0 bytes downloaded in %.2f s",
					      c->unpack, secs);
	_cleanup_free_ char *line = xasprintf("%s %s %llu bytes complete already", img->name, img->manifest_digest,
					      (unsigned long long)r->rootfs.bytes);
	const char *lines[] = {line};
	termlog_write(to->termlog, head, lines, lines, 1);
	struct metrics_image mi = {.ref = img->name, .digest = img->manifest_digest, .bytes = r->rootfs.bytes,
				   .seconds = secs, .complete = true};
	if (to->metrics)
		write_metrics(to, &mi, 1, NULL, NULL, secs, secs);
}

int cmd_pull(int argc, char **argv)
{
	interrupt_install();
	struct report_to to = {.termlog = termlog_path(argc, argv), .metrics = cmd_early_value(argc, argv, "metrics")};
	if (to.metrics && (!*to.metrics || file_not_regular(to.metrics)))
		to.metrics = NULL; // refused with the options (cmd_check_output)
	struct pull_cli c;
	pull_cli_init(&c);
	struct err e;
	err_clear(&e);
	if (parse_args(&c, argc, argv, &e) < 0) {
		pull_cli_release(&c);
		report_end(&to, NULL, NULL, 0, 0, NULL, &e, 0, 0);
		return cmd_fail(&e);
	}
	double t0 = clock_mono();
	pull_cli_apply(&c, t0);
	struct progress *prog = progress_new(c.quiet ? PROGRESS_NONE : c.progress, 5);
	int nimg = (int)c.nimages, ret = 0;
	struct pull_run run = {.c = &c, .prog = prog, .t0 = t0};
	struct unpacker up = {.c = &c};
	struct prefetch pf;
	prefetch_init(&pf, &c);
	if (c.unpack) {
		run.before_run = unpacker_start;
		run.before_ud = &up;
	} else if (c.containerd) {
		run.before_fetch = prefetch_prepare;
		run.before_run = prefetch_start;
		run.before_ud = &pf;
	}
	int pulled = pull_run_execute(&run, &e);
	if (pulled == PULL_RUN_UNPACKED) {
		report_unpacked(&to, &c, prog, &run, clock_mono() - t0);
		goto out;
	}
	if (c.unpack && unpacker_finish(&up, pulled == 0, &e) < 0)
		goto fail;
	if (!c.unpack && c.containerd && prefetch_finish(&pf, pulled == 0, &e) < 0)
		goto fail;
	if (pulled < 0)
		goto fail;
	if (c.containerd && prefetch_handoff(&pf, &run.layout, run.imgs, nimg, &e) < 0)
		goto fail;
	uint64_t total = 0;
	const struct pull_blob_info *bl;
	size_t nb = pull_engine_blobs(run.eng, &bl);
	for (size_t i = 0; i < nb; i++)
		total += bl[i].size;
	if (!c.quiet)
		progress_summary(prog, (size_t)nimg, total, pull_engine_received(run.eng), clock_mono() - t0);
	to.retries = run.retries;
	report_end(&to, c.images, run.imgs, nimg, run.resolved, run.eng, NULL, clock_mono() - t0, run.run_at);
	goto out;
fail:
	progress_error(prog, &e);
	to.retries = run.retries;
	report_end(&to, c.images, run.imgs, nimg, run.resolved, run.eng, &e, clock_mono() - t0, run.run_at);
	ret = cmd_fail(&e);
out:
	prefetch_release(&pf);
	pull_run_release(&run);
	if (ret == 0 && c.dest_temporary) {
		struct err re;
		if (file_remove_tree(c.dest, &re) < 0)
			log_warn("%s", re.msg);
	}
	progress_free(prog);
	pull_cli_release(&c);
	return ret;
}
