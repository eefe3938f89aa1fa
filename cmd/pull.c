// SPDX-License-Identifier: Apache-2.0
// imgpull pull: resolve every image's manifest, download all their blobs
// through one engine, then record each image in the layout's index.json. The
// verb: its options, the run (cmd/pullrun.h) with --unpack's thread or the
// node prefetch (cmd/prefetch.h), and its end; the progress, the termination
// message and the metrics are report/'s (progress.h, outcome.h).
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/access.h"
#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "cmd/prefetch.h"
#include "cmd/pullrun.h"
#include "cri/content.h"
#include "cri/cri.h"
#include "oci/layout.h"
#include "pull/engine.h"
#include "report/outcome.h"
#include "report/progress.h"
#include "report/termlog.h"
#include "unpack/rootfs.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/mem.h"

static const struct cmd_opt pull_opt_table[] = {
	{"dest", PULLRUN_O_DEST, "DIR", "OCI image layout to write (required; created if missing)", 0},
	PULLRUN_FETCH_OPTS,
	{"containerd", PULLRUN_O_CONTAINERD, "ADDRESS",
	 "then hand the images to containerd: blobs into its content store,\n"
	 "and a CRI PullImage on ADDRESS (default unix://" CRI_DEFAULT_SOCKET ")\n"
	 "that registers and unpacks them; --dest is then optional", CMD_OPT_OPTARG},
	{"containerd-root", PULLRUN_O_CROOT, "DIR", "containerd's root directory (default " CRI_DEFAULT_ROOT ")", 0},
	{"snapshotter", PULLRUN_O_SNAPSHOTTER, "NAME",
	 "with --containerd: unpack the layers into this snapshotter of\n"
	 "containerd's while they download, overlayfs or native (default:\n"
	 "the one its CRI plugin uses); none: leave the unpack to containerd", 0},
	{"unpack", PULLRUN_O_UNPACK, "ROOTFS",
	 "then apply the image's layers in order into the directory\n"
	 "ROOTFS (one image); marked complete by ROOTFS/" UNPACK_MARKER_DONE ";\n"
	 "without --dest no layout is kept (blobs pass through\n"
	 "ROOTFS.imgpull-layout, dropped as they are applied)", 0},
	{"no-chown", PULLRUN_O_NOCHOWN, NULL, "--unpack: keep the files' owner the caller (automatic when not root)", 0},
	{"progress", PULLRUN_O_PROGRESS, "MODE", "auto, tty, plain, json or none (default auto)", 0},
	{"log-format", PULLRUN_O_LOGFMT, "FORMAT",
	 "auto, json or text (default auto: JSON lines when stderr\nis not a terminal)", 0},
	{"termination-log", PULLRUN_O_TERMLOG, "PATH",
	 "where the outcome goes on exit, at most 4096 bytes (default\n"
	 TERMLOG_DEFAULT " when it exists and is writable)", 0},
	{"metrics", PULLRUN_O_METRICS, "FILE",
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

static int parse_args(struct pullrun_cli *c, int argc, char **argv, struct err *e)
{
	int first;
	int r = cmd_opts_parse(&pull_opts, argc, argv, pullrun_cli_option, c, &first, e);
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
	if (pullrun_cli_images(c, argc, argv, first, e) < 0)
		return -1;
	if (c->unpack && c->nimages != 1)
		return err_set(e, ERR_USAGE, "--unpack takes one image, not %zu", c->nimages);
	return 0;
}

// --unpack: the image's layers go into ROOTFS on a thread of their own while
// they download, each read as far as the engine has written and hashed it.
struct unpacker {
	const struct pullrun_cli *c;
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

static void unpacker_start(void *ud, struct pullrun *r)
{
	struct unpacker *up = ud;
	const struct pull_image *img = &r->imgs[0];
	up->eng = r->eng;
	up->u = (struct unpack_image){.rootfs = up->c->unpack, .layout = &r->layout, .name = img->name,
				      .manifest_digest = img->manifest_digest, .manifest = &img->manifest,
				      .chown = !up->c->no_chown && geteuid() == 0, .open_blob = pullrun_stream_open,
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

// --unpack found ROOTFS complete for the image: nothing fetched, nothing
// created. Said on stderr (a log record in JSON), as the progress events
// (image done, a summary with 0 downloaded), and in the termination message.
static void say_unpacked(const struct outcome_to *to, const struct pullrun_cli *c, struct progress *prog,
			 const struct pullrun *r, double secs)
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
	outcome_unpacked(to, c->unpack, img, r->rootfs.bytes, secs);
}

// The pull and what goes with it (--unpack's thread; with --containerd the
// snapshots while it runs, then the hand-off): 0, PULLRUN_UNPACKED, or < 0.
static int pull_all(struct pullrun *run, struct unpacker *up, struct prefetch *pf, struct err *e)
{
	const struct pullrun_cli *c = run->c;
	if (c->unpack) {
		run->before_run = unpacker_start;
		run->before_ud = up;
	} else if (c->containerd) {
		run->before_fetch = prefetch_prepare;
		run->before_run = prefetch_start;
		run->before_ud = pf;
	}
	int pulled = pullrun_execute(run, e);
	if (pulled == PULLRUN_UNPACKED)
		return pulled;
	if (c->unpack && unpacker_finish(up, pulled == 0, e) < 0)
		return -1;
	if (!c->unpack && c->containerd && prefetch_finish(pf, pulled == 0, e) < 0)
		return -1;
	if (pulled < 0)
		return -1;
	if (c->containerd && prefetch_handoff(pf, &run->layout, run->imgs, (int)c->nimages, e) < 0)
		return -1;
	return 0;
}

// How it ended: the summary or the error on the progress output, the
// termination message and the metrics; the exit status.
static int pull_end(const struct outcome_to *to, struct progress *prog, const struct pullrun *run, double t0,
		    int pulled, struct err *e)
{
	const struct pullrun_cli *c = run->c;
	if (pulled == PULLRUN_UNPACKED) {
		say_unpacked(to, c, prog, run, clock_mono() - t0);
		return 0;
	}
	if (pulled < 0) {
		progress_error(prog, e);
	} else if (!c->quiet) {
		uint64_t total = 0;
		const struct pull_blob_info *bl;
		size_t nb = pull_engine_blobs(run->eng, &bl);
		for (size_t i = 0; i < nb; i++)
			total += bl[i].size;
		progress_summary(prog, c->nimages, total, pull_engine_received(run->eng), clock_mono() - t0);
	}
	struct outcome_pull op = {.refs = c->images, .imgs = run->imgs, .nimg = (int)c->nimages,
				  .resolved = run->resolved, .eng = run->eng, .retries = run->retries,
				  .secs = clock_mono() - t0, .run_at = run->run_at};
	outcome_pull(to, &op, pulled < 0 ? e : NULL);
	return pulled < 0 ? cmd_fail(e) : 0;
}

int cmd_pull(int argc, char **argv)
{
	interrupt_install();
	struct outcome_to to;
	outcome_to_early(&to, cmd_opts_early_value(argc, argv, "termination-log"),
			 cmd_opts_early_value(argc, argv, "metrics"));
	struct pullrun_cli c;
	pullrun_cli_init(&c);
	struct err e;
	err_clear(&e);
	if (parse_args(&c, argc, argv, &e) < 0) {
		pullrun_cli_release(&c);
		outcome_pull(&to, &(struct outcome_pull){0}, &e);
		return cmd_fail(&e);
	}
	double t0 = clock_mono();
	pullrun_cli_apply(&c, t0);
	struct progress *prog = progress_new(c.quiet ? PROGRESS_NONE : c.progress, 5, stdout, stderr);
	struct pullrun run = {.c = &c, .prog = prog, .t0 = t0};
	struct unpacker up = {.c = &c};
	struct prefetch pf;
	prefetch_init(&pf, &c);
	int pulled = pull_all(&run, &up, &pf, &e);
	int ret = pull_end(&to, prog, &run, t0, pulled, &e);
	prefetch_release(&pf);
	pullrun_release(&run);
	if (ret == 0 && c.dest_temporary) {
		struct err re;
		if (file_remove_tree(c.dest, &re) < 0)
			log_warn("%s", re.msg);
	}
	progress_free(prog);
	pullrun_cli_release(&c);
	return ret;
}
