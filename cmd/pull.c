// SPDX-License-Identifier: Apache-2.0
// imgpull pull: resolve every image's manifest, download all their blobs
// through one engine, then record each image in the layout's index.json.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include "cmd/access.h"
#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "cmd/metrics.h"
#include "cmd/progress.h"
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
#include "util/clock.h"
#include "util/file.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/mem.h"

#define DEFAULT_CONNECTIONS 16
#define DEFAULT_CHUNK (16ull << 20)
#define DEFAULT_RETRIES 5
#define DEFAULT_TIMEOUT_S (2 * 3600.0) // 40 GB at 5.6 MB/s; a rerun keeps what was fetched
#define MAX_BLOCKING_RETRIES 3         // manifests, tokens, probes
#define DEFAULT_MIN_FREE_PCT 10        // the kubelet's default eviction margin (nodefs.available < 10%)

#define STR_(x) #x
#define STR(x) STR_(x)

enum {
	O_DEST = 256, O_PLATFORM, O_CONN, O_CHUNK, O_RETRIES, O_STALL, O_TIMEOUT, O_PROGRESS,
	O_LOGFMT, O_TERMLOG, O_FSYNC, O_MINFREE, O_CONTAINERD, O_CROOT, O_METRICS,
};

static const struct cmd_opt pull_opt_table[] = {
	{"dest", O_DEST, "DIR", "OCI image layout to write (required; created if missing)", 0},
	{"platform", O_PLATFORM, "OS/ARCH[/VAR]", "platform to pick from an index (default: this host's)", 0},
	{"connections", O_CONN, "N", "connections in total, all blobs (default " STR(DEFAULT_CONNECTIONS) ")", 0},
	{"chunk-size", O_CHUNK, "SIZE", "byte range per request, e.g. 16M (default 16M)", 0},
	{"retries", O_RETRIES, "N",
	 "retries per range, every failed try counting (default " STR(DEFAULT_RETRIES) ");\n"
	 "a blob gives up after 4 x N more failures than finished ranges", 0},
	{"stall-timeout", O_STALL, "DURATION",
	 "drop and retry a transfer slower than 1 KiB/s for this long\n(default 20s)", 0},
	{"timeout", O_TIMEOUT, "DURATION", "give up on the whole pull after this long, e.g. 90m\n(default 2h; 0: never)", 0},
	{"min-free", O_MINFREE, "SIZE|PCT%",
	 "space to leave free on the layout's filesystem: a pull that\n"
	 "would need more fails before downloading (default 10%)", 0},
	CMD_ACCESS_OPTS,
	{"containerd", O_CONTAINERD, "ADDRESS",
	 "then hand the images to containerd: blobs into its content store,\n"
	 "and a CRI PullImage on ADDRESS (default unix://" CRI_DEFAULT_SOCKET ")\n"
	 "that registers and unpacks them; --dest is then optional", CMD_OPT_OPTARG},
	{"containerd-root", O_CROOT, "DIR", "containerd's root directory (default " CRI_DEFAULT_ROOT ")", 0},
	{"progress", O_PROGRESS, "MODE", "auto, tty, plain, json or none (default auto)", 0},
	{"log-format", O_LOGFMT, "FORMAT",
	 "auto, json or text (default auto: JSON lines when stderr\nis not a terminal)", 0},
	{"termination-log", O_TERMLOG, "PATH",
	 "where the outcome goes on exit, at most 4096 bytes (default\n"
	 TERMLOG_DEFAULT " when it exists and is writable)", 0},
	{"metrics", O_METRICS, "FILE",
	 "on exit, the pull's figures in Prometheus text format (for\n"
	 "node-exporter's textfile collector), written atomically", 0},
	{"fsync", O_FSYNC, NULL,
	 "sync every blob to disk before it enters the layout\n"
	 "(default: journal unsynced blobs, re-verify after a reboot)", 0},
	{"quiet", 'q', NULL, "no progress and no summary", 0},
	{"verbose", 'v', NULL, "diagnostic log on stderr (twice: debug)", CMD_OPT_COUNT},
	{"help", 'h', NULL, "show this help", CMD_OPT_NOENV},
};
static const struct cmd_opts pull_opts = {pull_opt_table, sizeof(pull_opt_table) / sizeof(pull_opt_table[0]), "pull"};

static void usage(FILE *f)
{
	fprintf(f, "usage: imgpull pull --dest DIR [OPTIONS] IMAGE...\n\n"
		   "Pulls images into the OCI image layout DIR (created if missing). Without an IMAGE\n"
		   "argument, the images come from $IMGPULL_IMAGES (a list). Every option can also be\n"
		   "set by the variable shown under it; a flag wins over its variable.\n\n");
	cmd_opts_usage(f, &pull_opts);
}

struct pull_cli {
	const char *dest;
	const char *platform;
	int connections;
	unsigned long long chunk;
	int retries;
	double timeout;
	double stall;
	uint64_t min_free;     // bytes, or FILE_ROOM_PCT
	unsigned min_free_pct; // with FILE_ROOM_PCT
	enum progress_mode progress;
	bool quiet;
	bool fsync;
	int verbose;
	struct cmd_access acc;
	const char *containerd;      // the CRI socket's path; NULL: no hand-off
	const char *containerd_root;
	char *default_dest;          // with --containerd and no --dest: beside containerd's root
	char **images; // the operands, or IMGPULL_IMAGES
	size_t nimages;
};

static int pull_option(void *ud, int id, const char *arg, struct err *e)
{
	struct pull_cli *c = ud;
	switch (id) {
	case O_DEST:
		if (cmd_check_value("--dest", arg, e) < 0)
			return -1;
		c->dest = arg;
		return 0;
	case O_PLATFORM: c->platform = arg; return 0;
	case O_CONN:
		if (cmd_parse_int(arg, 1, 256, &c->connections) < 0)
			return err_set(e, ERR_USAGE, "--connections must be 1..256, not '%s'", arg);
		return 0;
	case O_CHUNK:
		if (cmd_parse_size(arg, &c->chunk) < 0 || c->chunk < (64u << 10) || c->chunk > (1ull << 32))
			return err_set(e, ERR_USAGE, "--chunk-size must be 64K..4G, not '%s'", arg);
		return 0;
	case O_RETRIES:
		if (cmd_parse_int(arg, 0, 100, &c->retries) < 0)
			return err_set(e, ERR_USAGE, "--retries must be 0..100, not '%s'", arg);
		return 0;
	case O_TIMEOUT:
		if (cmd_parse_duration(arg, &c->timeout) < 0)
			return err_set(e, ERR_USAGE, "--timeout must be a duration like 90s, 30m or 2h (0: none), not '%s'",
				       arg);
		return 0;
	case O_STALL:
		if (cmd_parse_duration(arg, &c->stall) < 0 || c->stall < 1 || c->stall > 3600)
			return err_set(e, ERR_USAGE, "--stall-timeout must be 1s..1h, not '%s'", arg);
		return 0;
	case O_PROGRESS:
		if (progress_mode_parse(arg, &c->progress) < 0)
			return err_set(e, ERR_USAGE, "--progress must be auto, tty, plain, json or none, not '%s'", arg);
		return 0;
	case O_LOGFMT: return cmd_check_log_format(arg, e);
	case O_TERMLOG: return cmd_check_value("--termination-log", arg, e); // read early, see termlog_path
	case O_METRICS: return cmd_check_value("--metrics", arg, e);          // read early too
	case O_FSYNC: c->fsync = true; return 0;
	case O_CONTAINERD: {
		const char *a = arg ? arg : "unix://" CRI_DEFAULT_SOCKET;
		if (strncmp(a, "unix://", 7) == 0)
			a += 7;
		if (cmd_check_value("--containerd", a, e) < 0)
			return -1;
		if (a[0] != '/')
			return err_set(e, ERR_USAGE, "--containerd wants unix:///PATH or /PATH, not '%s'", arg);
		c->containerd = a;
		return 0;
	}
	case O_CROOT:
		if (cmd_check_value("--containerd-root", arg, e) < 0)
			return -1;
		c->containerd_root = arg;
		return 0;
	case O_MINFREE: {
		size_t n = strlen(arg);
		int pct;
		unsigned long long bytes;
		if (n > 1 && arg[n - 1] == '%') {
			_cleanup_free_ char *num = xstrndup(arg, n - 1);
			if (cmd_parse_int(num, 0, 99, &pct) < 0)
				return err_set(e, ERR_USAGE, "--min-free must be a size (5G) or a percentage 0%%..99%%, not '%s'", arg);
			c->min_free = FILE_ROOM_PCT;
			c->min_free_pct = (unsigned)pct;
		} else if (cmd_parse_size(arg, &bytes) == 0) {
			c->min_free = bytes;
		} else {
			return err_set(e, ERR_USAGE, "--min-free must be a size (5G) or a percentage 0%%..99%%, not '%s'", arg);
		}
		return 0;
	}
	case 'q': c->quiet = true; return 0;
	case 'v': c->verbose++; return 0;
	default: {
		int r = cmd_access_option(&c->acc, id, arg, e);
		return r < 0 ? -1 : 0;
	}
	}
}

static int add_image(void *ud, const char *item, struct err *e)
{
	struct pull_cli *c = ud;
	// A malformed reference is a usage error before anything is created.
	struct oci_ref r;
	if (oci_ref_parse(&r, item, e) < 0)
		return -1;
	oci_ref_release(&r);
	c->images = xrealloc(c->images, (c->nimages + 1) * sizeof(char *));
	c->images[c->nimages++] = xstrdup(item);
	return 0;
}

static int parse_args(struct pull_cli *c, int argc, char **argv, struct err *e)
{
	int first;
	int r = cmd_opts_parse(&pull_opts, argc, argv, pull_option, c, &first, e);
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
	if (!c->dest)
		return err_set(e, ERR_USAGE, "--dest DIR (or IMGPULL_DEST) is required (see 'imgpull help pull')");
	for (int i = first; i < argc; i++)
		if (add_image(c, argv[i], e) < 0)
			return -1;
	const char *env = getenv("IMGPULL_IMAGES");
	if (!c->nimages && env && *env && cmd_opts_split(env, false, add_image, c, e) < 0)
		return e->cls ? err_wrap(e, "IMGPULL_IMAGES") : err_set(e, ERR_USAGE, "IMGPULL_IMAGES must not be blank");
	if (!c->nimages)
		return err_set(e, ERR_USAGE, "no image given, as arguments or in IMGPULL_IMAGES (see 'imgpull help pull')");
	return 0;
}

static void cli_release(struct pull_cli *c)
{
	cmd_access_release(&c->acc);
	free(c->default_dest);
	for (size_t i = 0; i < c->nimages; i++)
		free(c->images[i]);
	free(c->images);
}

// Records each image in index.json as soon as its last blob is in the layout,
// so that an interrupted pull leaves the images it finished usable.
struct recorder {
	struct pull_engine *eng;
	struct progress *prog;
	struct oci_layout *layout;
	struct pull_image *imgs;
	int nimg; // resolved images
	bool *recorded;
	unsigned retries;
	bool failed;
	struct err err;
};

static bool image_complete(const struct pull_image *img, const struct pull_blob_info *bl, size_t nb)
{
	const struct oci_manifest *m = &img->manifest;
	for (size_t l = 0; l <= m->nlayers; l++) {
		const char *d = l == 0 ? m->config.digest : m->layers[l - 1].digest;
		bool in = false;
		for (size_t k = 0; k < nb && !in; k++)
			in = strcmp(bl[k].digest, d) == 0 &&
			     (bl[k].state == PULL_BLOB_DONE || bl[k].state == PULL_BLOB_CACHED);
		if (!in)
			return false;
	}
	return true;
}

static void record_complete(struct recorder *r)
{
	const struct pull_blob_info *bl;
	size_t nb = pull_engine_blobs(r->eng, &bl);
	for (int i = 0; i < r->nimg && !r->failed; i++) {
		struct pull_image *img = &r->imgs[i];
		if (r->recorded[i] || !image_complete(img, bl, nb))
			continue;
		struct oci_index_entry ent = {.media_type = img->manifest.media_type,
					      .digest = img->manifest_digest, .size = img->manifest_len,
					      .ref_name = img->name,
					      .platform = img->has_platform ? &img->platform : NULL};
		if (oci_layout_put_blob(r->layout, img->manifest_digest, img->manifest_body, img->manifest_len,
					&r->err) < 0 ||
		    oci_layout_add_ref(r->layout, &ent, &r->err) < 0) {
			r->failed = true;
			return;
		}
		r->recorded[i] = true;
		progress_image_done(r->prog, img->name, img->manifest_digest);
	}
}

static void on_engine_event(void *ud, const struct pull_event *ev)
{
	struct recorder *r = ud;
	progress_on_event(r->prog, ev);
	r->retries += ev->kind == PULL_EV_RETRY;
	if (ev->kind == PULL_EV_BLOB_DONE || ev->kind == PULL_EV_BLOB_CACHED)
		record_complete(r);
}

// The hand-off to containerd: every blob of every image into its content store
// (linked, so written once), then a CRI PullImage with the credential this pull
// used, so that containerd records and unpacks the image, fetching only the
// manifests.
static int handoff(const struct pull_cli *c, const struct oci_layout *l, struct pull_image *imgs, int nimg,
		   struct err *e)
{
	double t0 = clock_mono();
	size_t put = 0, linked = 0;
	for (int i = 0; i < nimg; i++) {
		struct pull_image *img = &imgs[i];
		const struct oci_manifest *m = &img->manifest;
		for (size_t k = 0; k <= m->nlayers + 1; k++) {
			const char *d = k == 0 ? img->manifest_digest : k == 1 ? m->config.digest : m->layers[k - 2].digest;
			uint64_t size = k == 0 ? img->manifest_len : k == 1 ? m->config.size : m->layers[k - 2].size;
			bool ln;
			int r = cri_content_put(c->containerd_root, l, d, size, &ln, e);
			if (r < 0)
				return err_wrap(e, "containerd's content store in '%s'", c->containerd_root);
			put += (size_t)r;
			linked += ln;
		}
	}
	log_info("containerd: %zu blobs put into its content store (%zu as hard links) in %.2f s", put, linked,
		 clock_mono() - t0);
	for (int i = 0; i < nimg; i++) {
		struct pull_image *img = &imgs[i];
		struct auth_cred cred;
		if (auth_session_registry_cred(&img->repo.reg->auth, img->repo.path, &cred, e) < 0)
			return -1;
		struct cri_auth a = {.username = cred.username, .password = cred.password};
		char *id = NULL;
		double t1 = clock_mono();
		long left = c->acc.http.deadline > 0 ? http_deadline_ms(&c->acc.http) / 1000 + 1 : 0;
		int r = cri_pull_image(c->containerd, img->name, cred.username ? &a : NULL, left, &id, e);
		auth_cred_release(&cred);
		if (r < 0)
			return err_wrap(e, "%s", img->name);
		if (log_json()) {
			cJSON *f = cJSON_CreateObject();
			cJSON_AddStringToObject(f, "image", img->name);
			cJSON_AddStringToObject(f, "image_id", id);
			cJSON_AddNumberToObject(f, "seconds", clock_mono() - t1);
			log_record(LOG_INFO, "handed to containerd", f);
		} else if (!c->quiet) {
			fprintf(stderr, "containerd: %s -> %s (%.2f s)\n", img->name, id, clock_mono() - t1);
		}
		free(id);
	}
	return 0;
}

// The disk budget: what the blobs still to fetch need (less what their partial
// files already hold) must fit, with --min-free to spare, before any download.
static int check_room(const struct oci_layout *l, struct pull_engine *eng, const struct pull_image *imgs,
		      int nimg, const struct pull_cli *c, struct err *e)
{
	const struct pull_blob_info *bl;
	size_t nb = pull_engine_blobs(eng, &bl);
	uint64_t need = 0;
	for (size_t i = 0; i < nb; i++) {
		if (bl[i].state == PULL_BLOB_CACHED)
			continue;
		uint64_t have = oci_ingest_allocated(l, bl[i].digest);
		need += have < bl[i].size ? bl[i].size - have : 0;
	}
	for (int i = 0; i < nimg; i++)
		need += imgs[i].manifest_len;
	if (file_check_room(l->dir, need, c->min_free, c->min_free_pct, e) < 0)
		return -1;
	// containerd's store gets hard links on the same filesystem, else copies.
	if (c->containerd && !file_same_fs(l->dir, c->containerd_root))
		return file_check_room(c->containerd_root, need, c->min_free, c->min_free_pct, e);
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

int cmd_pull(int argc, char **argv)
{
	interrupt_install();
	struct report_to to = {.termlog = termlog_path(argc, argv), .metrics = cmd_early_value(argc, argv, "metrics")};
	if (to.metrics && !*to.metrics)
		to.metrics = NULL;
	struct pull_cli c = {.connections = DEFAULT_CONNECTIONS, .chunk = DEFAULT_CHUNK,
			     .retries = DEFAULT_RETRIES, .timeout = DEFAULT_TIMEOUT_S,
			     .stall = (double)HTTP_STALL_TIMEOUT_S, .min_free = FILE_ROOM_PCT,
			     .min_free_pct = DEFAULT_MIN_FREE_PCT, .progress = PROGRESS_AUTO};
	struct err e;
	err_clear(&e);
	if (parse_args(&c, argc, argv, &e) < 0) {
		cli_release(&c);
		report_end(&to, NULL, NULL, 0, 0, NULL, &e, 0, 0);
		return cmd_fail(&e);
	}
	c.acc.http.retries = c.retries < MAX_BLOCKING_RETRIES ? c.retries : MAX_BLOCKING_RETRIES;
	c.acc.http.stall_timeout_s = (long)c.stall;
	double t0 = clock_mono();
	c.acc.http.deadline = c.timeout > 0 ? t0 + c.timeout : 0;
	log_set_level(c.verbose >= 2 ? LOG_DEBUG : c.verbose == 1 ? LOG_INFO : LOG_WARN);
	struct progress *prog = progress_new(c.quiet ? PROGRESS_NONE : c.progress, 5);

	int nimg = (int)c.nimages;
	char **refs = c.images;
	struct pull_image *imgs = xcalloc((size_t)nimg, sizeof(*imgs));
	struct pull_registries regs;
	pull_registries_init(&regs, &c.acc.http, &c.acc.store, &c.acc.kinds);
	struct oci_layout layout = {0};
	struct oci_platform want = {0};
	struct pull_engine *eng = NULL;
	int ret = 0, resolved = 0;
	double run_at = 0;
	struct recorder rec = {.prog = prog, .layout = &layout, .imgs = imgs,
			       .recorded = xcalloc((size_t)nimg + 1, sizeof(bool))};

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
				      .on_event = on_engine_event, .ud = &rec};
	if (pull_engine_new(&eng, &eo, &e) < 0)
		goto fail;
	rec.eng = eng;
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
		resolved = i + 1;
	}
	if (check_room(&layout, eng, imgs, nimg, &c, &e) < 0)
		goto fail;
	run_at = clock_mono() - t0;
	rec.nimg = nimg;
	int run = pull_engine_run(eng, &e);
	if (rec.failed) { // an index.json error comes first: the engine's may follow from it
		e = rec.err;
		goto fail;
	}
	if (run < 0)
		goto fail;
	record_complete(&rec); // every image is complete now
	if (rec.failed) {
		e = rec.err;
		goto fail;
	}
	if (c.containerd && handoff(&c, &layout, imgs, nimg, &e) < 0)
		goto fail;
	uint64_t total = 0;
	const struct pull_blob_info *bl;
	size_t nb = pull_engine_blobs(eng, &bl);
	uint64_t received = pull_engine_received(eng);
	for (size_t i = 0; i < nb; i++)
		total += bl[i].size;
	if (!c.quiet)
		progress_summary(prog, (size_t)nimg, total, received, clock_mono() - t0);
	to.retries = rec.retries;
	report_end(&to, refs, imgs, nimg, resolved, eng, NULL, clock_mono() - t0, run_at);
	goto out;
fail:
	progress_error(prog, &e);
	to.retries = rec.retries;
	report_end(&to, refs, imgs, nimg, resolved, eng, &e, clock_mono() - t0, run_at);
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
	free(rec.recorded);
	cli_release(&c);
	return ret;
}
