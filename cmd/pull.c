// SPDX-License-Identifier: Apache-2.0
// imgpull pull: resolve every image's manifest, download all their blobs
// through one engine, then record each image in the layout's index.json.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/access.h"
#include "cmd/cmd.h"
#include "cmd/progress.h"
#include "oci/layout.h"
#include "oci/manifest.h"
#include "oci/ref.h"
#include "pull/engine.h"
#include "transport/http.h"
#include "pull/registry.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#define DEFAULT_CONNECTIONS 16
#define DEFAULT_CHUNK (16ull << 20)
#define DEFAULT_RETRIES 5
#define DEFAULT_TIMEOUT_S (2 * 3600.0) // 40 GB at 5.6 MB/s; a rerun keeps what was fetched
#define MAX_BLOCKING_RETRIES 3         // manifests, tokens, probes

static void usage(FILE *f)
{
	fprintf(f,
		"usage: imgpull pull --dest DIR [OPTIONS] IMAGE...\n\n"
		"Pulls images into the OCI image layout DIR (created if missing).\n\n"
		"  --dest DIR                 OCI image layout to write (required)\n"
		"  --platform OS/ARCH[/VAR]   platform to pick from an index (default: this host's)\n"
		"  --connections N            connections in total, all blobs (default %d)\n"
		"  --chunk-size SIZE          byte range per request, e.g. 16M (default 16M)\n"
		"  --retries N                retries per range, every failed try counting (default %d);\n"
		"                             a blob gives up after 4 x N more failures than finished ranges\n"
		"  --stall-timeout DURATION   drop and retry a transfer slower than 1 KiB/s for this long\n"
		"                             (default %lds)\n"
		"  --timeout DURATION         give up on the whole pull after this long, e.g. 90m\n"
		"                             (default 2h; 0: never)\n",
		DEFAULT_CONNECTIONS, DEFAULT_RETRIES, HTTP_STALL_TIMEOUT_S);
	cmd_access_usage(f);
	fprintf(f,
		"  --progress MODE            auto, tty, plain, json or none (default auto)\n"
		"  --fsync                    sync every blob to disk before it enters the layout\n"
		"                             (default: journal unsynced blobs, re-verify after a reboot)\n"
		"  -q, --quiet                no progress and no summary\n"
		"  -v, --verbose              diagnostic log on stderr (twice: debug)\n");
}

struct pull_cli {
	const char *dest;
	const char *platform;
	int connections;
	unsigned long long chunk;
	int retries;
	double timeout;
	double stall;
	enum progress_mode progress;
	bool quiet;
	bool fsync;
	int verbose;
	struct cmd_access acc;
};

static int parse_args(struct pull_cli *c, int argc, char **argv, struct err *e)
{
	enum { O_DEST = 256, O_PLATFORM, O_CONN, O_CHUNK, O_RETRIES, O_PROGRESS, O_FSYNC, O_TIMEOUT, O_STALL };
	static const struct option opts[] = {
		{"dest", required_argument, NULL, O_DEST},
		{"platform", required_argument, NULL, O_PLATFORM},
		{"connections", required_argument, NULL, O_CONN},
		{"chunk-size", required_argument, NULL, O_CHUNK},
		{"retries", required_argument, NULL, O_RETRIES},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"stall-timeout", required_argument, NULL, O_STALL},
		CMD_ACCESS_OPTIONS,
		{"progress", required_argument, NULL, O_PROGRESS},
		{"fsync", no_argument, NULL, O_FSYNC},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "+qvh", opts, NULL)) != -1) {
		switch (ch) {
		case O_DEST:
			if (cmd_check_value("--dest", optarg, e) < 0)
				return -1;
			c->dest = optarg;
			break;
		case O_PLATFORM: c->platform = optarg; break;
		case O_CONN:
			if (cmd_parse_int(optarg, 1, 256, &c->connections) < 0)
				return err_set(e, ERR_USAGE, "--connections must be 1..256, not '%s'", optarg);
			break;
		case O_CHUNK:
			if (cmd_parse_size(optarg, &c->chunk) < 0 || c->chunk < (64u << 10) || c->chunk > (1ull << 32))
				return err_set(e, ERR_USAGE, "--chunk-size must be 64K..4G, not '%s'", optarg);
			break;
		case O_RETRIES:
			if (cmd_parse_int(optarg, 0, 100, &c->retries) < 0)
				return err_set(e, ERR_USAGE, "--retries must be 0..100, not '%s'", optarg);
			break;
		case O_TIMEOUT:
			if (cmd_parse_duration(optarg, &c->timeout) < 0)
				return err_set(e, ERR_USAGE, "--timeout must be a duration like 90s, 30m or 2h (0: none), not '%s'",
					       optarg);
			break;
		case O_STALL:
			if (cmd_parse_duration(optarg, &c->stall) < 0 || c->stall < 1 || c->stall > 3600)
				return err_set(e, ERR_USAGE, "--stall-timeout must be 1s..1h, not '%s'", optarg);
			break;
		case O_PROGRESS:
			if (progress_mode_parse(optarg, &c->progress) < 0)
				return err_set(e, ERR_USAGE, "--progress must be auto, tty, plain, json or none");
			break;
		case O_FSYNC: c->fsync = true; break;
		case 'q': c->quiet = true; break;
		case 'v': c->verbose++; break;
		case 'h': usage(stdout); exit(0);
		default: {
			int r = cmd_access_option(&c->acc, ch, optarg, e);
			if (r < 0)
				return -1;
			if (r == 0)
				return err_set(e, ERR_USAGE, "unknown or incomplete option '%s' (see 'imgpull help pull')",
					       argv[optind - 1]);
		}
		}
	}
	if (cmd_access_finish(&c->acc, e) < 0)
		return -1;
	if (!c->dest)
		return err_set(e, ERR_USAGE, "--dest DIR is required (see 'imgpull help pull')");
	if (optind >= argc)
		return err_set(e, ERR_USAGE, "no image given (see 'imgpull help pull')");
	// A malformed reference is a usage error before anything is created.
	for (int i = optind; i < argc; i++) {
		struct oci_ref r;
		if (oci_ref_parse(&r, argv[i], e) < 0)
			return -1;
		oci_ref_release(&r);
	}
	return 0;
}

static void cli_release(struct pull_cli *c)
{
	cmd_access_release(&c->acc);
}

int cmd_pull(int argc, char **argv)
{
	struct pull_cli c = {.connections = DEFAULT_CONNECTIONS, .chunk = DEFAULT_CHUNK,
			     .retries = DEFAULT_RETRIES, .timeout = DEFAULT_TIMEOUT_S,
			     .stall = (double)HTTP_STALL_TIMEOUT_S, .progress = PROGRESS_AUTO};
	struct err e;
	err_clear(&e);
	if (parse_args(&c, argc, argv, &e) < 0) {
		cli_release(&c);
		return cmd_fail(&e);
	}
	c.acc.http.retries = c.retries < MAX_BLOCKING_RETRIES ? c.retries : MAX_BLOCKING_RETRIES;
	c.acc.http.stall_timeout_s = (long)c.stall;
	double t0 = clock_mono();
	c.acc.http.deadline = c.timeout > 0 ? t0 + c.timeout : 0;
	log_set_level(c.verbose >= 2 ? LOG_DEBUG : c.verbose == 1 ? LOG_INFO : LOG_WARN);
	struct progress *prog = progress_new(c.quiet ? PROGRESS_NONE : c.progress, 5);

	int nimg = argc - optind;
	char **refs = argv + optind;
	struct pull_image *imgs = xcalloc((size_t)nimg, sizeof(*imgs));
	struct pull_registries regs;
	pull_registries_init(&regs, &c.acc.http, &c.acc.store, &c.acc.kinds);
	struct oci_layout layout = {0};
	struct oci_platform want = {0};
	struct pull_engine *eng = NULL;
	int ret = 0;

	if (c.platform) {
		if (oci_platform_parse(&want, c.platform, &e) < 0)
			goto fail;
	} else {
		oci_platform_host(&want);
	}
	if (oci_layout_open(&layout, c.dest, &e) < 0)
		goto fail;
	layout.fsync = c.fsync;

	struct pull_engine_opts eo = {.http = &c.acc.http, .layout = &layout, .connections = c.connections,
				      .chunk_size = c.chunk, .retries = c.retries,
				      .on_event = progress_on_event, .ud = prog};
	if (pull_engine_new(&eng, &eo, &e) < 0)
		goto fail;
	progress_attach(prog, eng);

	for (int i = 0; i < nimg; i++) {
		struct pull_image *img = &imgs[i];
		if (pull_image_resolve(img, &regs, refs[i], &want, &e) < 0)
			goto fail;
		const struct oci_manifest *m = &img->manifest;
		if (pull_engine_add(eng, &img->repo, m->config.digest, m->config.size, &e) < 0)
			goto fail;
		for (size_t l = 0; l < m->nlayers; l++)
			if (pull_engine_add(eng, &img->repo, m->layers[l].digest, m->layers[l].size, &e) < 0)
				goto fail;
		progress_resolved(prog, img->name, img->manifest_digest, m->nlayers + 1);
	}
	if (pull_engine_run(eng, &e) < 0)
		goto fail;

	uint64_t total = 0;
	for (int i = 0; i < nimg; i++) {
		struct pull_image *img = &imgs[i];
		if (oci_layout_put_blob(&layout, img->manifest_digest, img->manifest_body, img->manifest_len, &e) < 0)
			goto fail;
		struct oci_index_entry ent = {.media_type = img->manifest.media_type,
					      .digest = img->manifest_digest, .size = img->manifest_len,
					      .ref_name = img->name,
					      .platform = img->has_platform ? &img->platform : NULL};
		if (oci_layout_add_ref(&layout, &ent, &e) < 0)
			goto fail;
		progress_image_done(prog, img->name, img->manifest_digest);
	}
	const struct pull_blob_info *bl;
	size_t nb = pull_engine_blobs(eng, &bl);
	uint64_t received = pull_engine_received(eng);
	for (size_t i = 0; i < nb; i++)
		total += bl[i].size;
	if (!c.quiet)
		progress_summary(prog, (size_t)nimg, total, received, clock_mono() - t0);
	goto out;
fail:
	progress_error(prog, &e);
	ret = cmd_fail(&e);
out:
	pull_engine_free(eng);
	for (int i = 0; i < nimg; i++)
		pull_image_release(&imgs[i]);
	free(imgs);
	pull_registries_release(&regs);
	oci_layout_release(&layout);
	oci_platform_release(&want);
	progress_free(prog);
	cli_release(&c);
	return ret;
}
