// SPDX-License-Identifier: Apache-2.0
// imgpull pull: resolve every image's manifest, download all their blobs
// through one engine, then record each image in the layout's index.json. The
// verb: its options (cmd/pullopts.h), the run (run/pullrun.h) with --unpack's
// thread (run/unpackrun.h) or the node prefetch (run/prefetch.h), and its end;
// the progress, the termination message and the metrics are report/'s
// (progress.h, outcome.h).
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/access.h"
#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "cmd/pullopts.h"
#include "cri/content.h"
#include "cri/cri.h"
#include "oci/layout.h"
#include "pull/engine.h"
#include "report/outcome.h"
#include "report/progress.h"
#include "report/termlog.h"
#include "run/prefetch.h"
#include "run/pullrun.h"
#include "run/unpackrun.h"
#include "unpack/rootfs.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/mem.h"

static const struct cmd_opt pull_opt_table[] = {
	{"dest", PULLOPTS_O_DEST, "DIR", "OCI image layout to write (required; created if missing)", 0},
	PULLOPTS_FETCH_OPTS,
	{"containerd", PULLOPTS_O_CONTAINERD, "ADDRESS",
	 "then hand the images to containerd: blobs into its content store,\n"
	 "and a CRI PullImage on ADDRESS (default unix://" CRI_DEFAULT_SOCKET ")\n"
	 "that registers and unpacks them; --dest is then optional", CMD_OPT_OPTARG},
	{"containerd-root", PULLOPTS_O_CROOT, "DIR", "containerd's root directory (default " CRI_DEFAULT_ROOT ")", 0},
	{"snapshotter", PULLOPTS_O_SNAPSHOTTER, "NAME",
	 "with --containerd: unpack the layers into this snapshotter of\n"
	 "containerd's while they download, overlayfs or native (default:\n"
	 "the one its CRI plugin uses); none: leave the unpack to containerd", 0},
	{"unpack", PULLOPTS_O_UNPACK, "ROOTFS",
	 "then apply the image's layers in order into the directory\n"
	 "ROOTFS (one image); marked complete by ROOTFS/" UNPACK_MARKER_DONE ";\n"
	 "without --dest no layout is kept (blobs pass through\n"
	 "ROOTFS.imgpull-layout, dropped as they are applied)", 0},
	{"no-chown", PULLOPTS_O_NOCHOWN, NULL, "--unpack: keep the files' owner the caller (automatic when not root)", 0},
	{"progress", PULLOPTS_O_PROGRESS, "MODE", "auto, tty, plain, json or none (default auto)", 0},
	{"log-format", PULLOPTS_O_LOGFMT, "FORMAT",
	 "auto, json or text (default auto: JSON lines when stderr\nis not a terminal)", 0},
	{"termination-log", PULLOPTS_O_TERMLOG, "PATH",
	 "where the outcome goes on exit, at most 4096 bytes (default\n"
	 TERMLOG_DEFAULT " when it exists and is writable)", 0},
	{"metrics", PULLOPTS_O_METRICS, "FILE",
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

static int parse_args(struct pullopts *o, int argc, char **argv, struct err *e)
{
	int first;
	int r = cmd_opts_parse(&pull_opts, argc, argv, pullopts_option, o, &first, e);
	if (r == 1) {
		usage(stdout);
		exit(0);
	}
	if (r < 0 || pullopts_finish(o, e) < 0)
		return -1;
	struct pullrun_conf *c = &o->run;
	if (!c->containerd_root)
		c->containerd_root = CRI_DEFAULT_ROOT;
	if (!c->dest && c->containerd) {
		// Inside containerd's root: one filesystem and one mount (a hard link
		// cannot cross either), so its blobs are links to ours, written once.
		o->default_dest = xasprintf("%s/imgpull", c->containerd_root);
		c->dest = o->default_dest;
	}
	if (!c->dest && c->unpack) {
		// Beside ROOTFS, on its filesystem: kept for a rerun until unpacked.
		o->default_dest = xasprintf("%s.imgpull-layout", c->unpack);
		c->dest = o->default_dest;
		c->dest_temporary = true;
	}
	if (!c->dest)
		return err_set(e, ERR_USAGE, "--dest DIR (or IMGPULL_DEST) is required (see 'imgpull help pull')");
	if (pullopts_images(o, argc, argv, first, e) < 0)
		return -1;
	if (c->unpack && c->nimages != 1)
		return err_set(e, ERR_USAGE, "--unpack takes one image, not %zu", c->nimages);
	return 0;
}

// --unpack found ROOTFS complete for the image: nothing fetched, nothing
// created. Said on stderr (a log record in JSON), as the progress events
// (image done, a summary with 0 downloaded), and in the termination message.
static void say_unpacked(const struct outcome_to *to, const struct pullopts *o, struct progress *prog,
			 const struct pullrun *r, double secs)
{
	const struct pull_image *img = &r->imgs[0];
	const char *rootfs = o->run.unpack;
	if (log_json()) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "image", img->name);
		cJSON_AddStringToObject(f, "digest", img->manifest_digest);
		cJSON_AddStringToObject(f, "rootfs", rootfs);
		log_record(LOG_INFO, "unpacked already: nothing to download", f);
	} else if (!o->quiet) {
		fprintf(stderr, "unpack: '%s' holds %s already (%s): nothing to download\n", rootfs, img->name,
			img->manifest_digest);
	}
	progress_image_done(prog, img->name, img->manifest_digest);
	if (!o->quiet)
		progress_summary(prog, 1, r->rootfs.bytes, 0, secs);
	outcome_unpacked(to, rootfs, img, r->rootfs.bytes, secs);
}

// --containerd: containerd took an image (prefetch's handed; ud the pullopts).
static void say_handed(void *ud, const struct pull_image *img, const char *id, double secs)
{
	const struct pullopts *o = ud;
	if (log_json()) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "image", img->name);
		cJSON_AddStringToObject(f, "image_id", id);
		cJSON_AddNumberToObject(f, "seconds", secs);
		log_record(LOG_INFO, "handed to containerd", f);
	} else if (!o->quiet) {
		fprintf(stderr, "containerd: %s -> %s (%.2f s)\n", img->name, id, secs);
	}
}

// The pull and what goes with it (--unpack's thread; with --containerd the
// snapshots while it runs, then the hand-off): 0, PULLRUN_UNPACKED, or < 0.
static int pull_all(struct pullrun *run, struct unpackrun *up, struct prefetch *pf, struct err *e)
{
	const struct pullrun_conf *c = run->c;
	if (c->unpack) {
		run->before_run = unpackrun_start;
		run->before_ud = up;
	} else if (c->containerd) {
		run->before_fetch = prefetch_prepare;
		run->before_run = prefetch_start;
		run->before_ud = pf;
	}
	int pulled = pullrun_execute(run, e);
	if (pulled == PULLRUN_UNPACKED)
		return pulled;
	if (c->unpack && unpackrun_finish(up, pulled == 0, e) < 0)
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
static int pull_end(const struct outcome_to *to, const struct pullopts *o, struct progress *prog,
		    const struct pullrun *run, double t0, int pulled, struct err *e)
{
	const struct pullrun_conf *c = run->c;
	if (pulled == PULLRUN_UNPACKED) {
		say_unpacked(to, o, prog, run, clock_mono() - t0);
		return 0;
	}
	if (pulled < 0) {
		progress_error(prog, e);
	} else if (!o->quiet) {
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
	struct pullopts o;
	pullopts_init(&o);
	struct err e;
	err_clear(&e);
	if (parse_args(&o, argc, argv, &e) < 0) {
		pullopts_release(&o);
		outcome_pull(&to, &(struct outcome_pull){0}, &e);
		return cmd_fail(&e);
	}
	double t0 = clock_mono();
	pullopts_apply(&o, t0);
	struct progress *prog = progress_new(o.quiet ? PROGRESS_NONE : o.progress, 5, stdout, stderr);
	struct pullrun run = {.c = &o.run, .prog = prog, .t0 = t0};
	struct unpackrun up = {.c = &o.run};
	struct prefetch pf;
	prefetch_init(&pf, &o.run);
	pf.handed = say_handed;
	pf.handed_ud = &o;
	int pulled = pull_all(&run, &up, &pf, &e);
	int ret = pull_end(&to, &o, prog, &run, t0, pulled, &e);
	prefetch_release(&pf);
	pullrun_release(&run);
	if (ret == 0 && o.run.dest_temporary) {
		struct err re;
		if (file_remove_tree(o.run.dest, &re) < 0)
			log_warn("%s", re.msg);
	}
	progress_free(prog);
	pullopts_release(&o);
	return ret;
}
