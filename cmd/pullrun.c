// SPDX-License-Identifier: Apache-2.0
#include "cmd/pullrun.h"

#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cri/cri.h"
#include "oci/ingest.h"
#include "oci/ref.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

void pullrun_cli_init(struct pullrun_cli *c)
{
	*c = (struct pullrun_cli){.connections = PULLRUN_DEFAULT_CONNECTIONS, .chunk = PULLRUN_DEFAULT_CHUNK,
				  .retries = PULLRUN_DEFAULT_RETRIES, .timeout = PULLRUN_DEFAULT_TIMEOUT_S,
				  .stall = (double)HTTP_STALL_TIMEOUT_S, .min_free = FILE_ROOM_PCT,
				  .min_free_pct = PULLRUN_DEFAULT_MIN_FREE_PCT, .progress = PROGRESS_AUTO};
}

static int parse_min_free(struct pullrun_cli *c, const char *arg, struct err *e)
{
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

#define NOT_MINE 1 // an option id the handler leaves to the next

// How the blobs are fetched (PULLRUN_FETCH_OPTS but the access options).
static int fetch_option(struct pullrun_cli *c, int id, const char *arg, struct err *e)
{
	switch (id) {
	case PULLRUN_O_PLATFORM: { // checked now: a bad value names its option, or its variable
		struct oci_platform want;
		int r = oci_platform_parse(&want, arg, e);
		oci_platform_release(&want);
		if (r < 0)
			return err_wrap(e, "--platform");
		c->platform = arg;
		return 0;
	}
	case PULLRUN_O_CONN:
		if (cmd_parse_int(arg, 1, 256, &c->connections) < 0)
			return err_set(e, ERR_USAGE, "--connections must be 1..256, not '%s'", arg);
		return 0;
	case PULLRUN_O_CHUNK:
		if (cmd_parse_size(arg, &c->chunk) < 0 || c->chunk < (64u << 10) || c->chunk > (1ull << 32))
			return err_set(e, ERR_USAGE, "--chunk-size must be 64K..4G, not '%s'", arg);
		return 0;
	case PULLRUN_O_RETRIES:
		if (cmd_parse_int(arg, 0, 100, &c->retries) < 0)
			return err_set(e, ERR_USAGE, "--retries must be 0..100, not '%s'", arg);
		return 0;
	case PULLRUN_O_TIMEOUT:
		if (cmd_parse_duration(arg, &c->timeout) < 0)
			return err_set(e, ERR_USAGE, "--timeout must be a duration like 90s, 30m or 2h (0: none), not '%s'",
				       arg);
		return 0;
	case PULLRUN_O_STALL:
		if (cmd_parse_duration(arg, &c->stall) < 0 || c->stall < 1 || c->stall > 3600)
			return err_set(e, ERR_USAGE, "--stall-timeout must be 1s..1h, not '%s'", arg);
		return 0;
	case PULLRUN_O_MINFREE: return parse_min_free(c, arg, e);
	case PULLRUN_O_FSYNC: c->fsync = true; return 0;
	default: return NOT_MINE;
	}
}

// Where the images go besides the layout: containerd (--containerd and its
// companions), a root file system (--unpack).
static int handoff_option(struct pullrun_cli *c, int id, const char *arg, struct err *e)
{
	switch (id) {
	case PULLRUN_O_SNAPSHOTTER:
		if (cmd_check_value("--snapshotter", arg, e) < 0)
			return -1;
		if (strcmp(arg, "overlayfs") != 0 && strcmp(arg, "native") != 0 && strcmp(arg, "none") != 0)
			return err_set(e, ERR_USAGE, "--snapshotter takes overlayfs, native or none, not '%.100s'", arg);
		c->snapshotter = arg;
		return 0;
	case PULLRUN_O_CONTAINERD: {
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
	case PULLRUN_O_CROOT:
		if (cmd_check_value("--containerd-root", arg, e) < 0)
			return -1;
		c->containerd_root = arg;
		return 0;
	case PULLRUN_O_UNPACK:
		if (cmd_check_value("--unpack", arg, e) < 0)
			return -1;
		free(c->unpack_dir); // a flag after its variable
		c->unpack = c->unpack_dir = NULL;
		if (unpack_rootfs_name(arg, &c->unpack_dir, e) < 0)
			return -1;
		c->unpack = c->unpack_dir;
		return 0;
	case PULLRUN_O_NOCHOWN: c->no_chown = true; return 0;
	default: return NOT_MINE;
	}
}

int pullrun_cli_option(void *ud, int id, const char *arg, struct err *e)
{
	struct pullrun_cli *c = ud;
	int r = fetch_option(c, id, arg, e);
	if (r == NOT_MINE)
		r = handoff_option(c, id, arg, e);
	if (r != NOT_MINE)
		return r;
	switch (id) {
	case PULLRUN_O_DEST:
		if (cmd_check_value("--dest", arg, e) < 0)
			return -1;
		c->dest = arg;
		return 0;
	case PULLRUN_O_PROGRESS:
		if (progress_mode_parse(arg, &c->progress) < 0)
			return err_set(e, ERR_USAGE, "--progress must be auto, tty, plain, json or none, not '%s'", arg);
		return 0;
	case PULLRUN_O_LOGFMT: return cmd_check_log_format(arg, e);
	case PULLRUN_O_TERMLOG: return cmd_check_output("--termination-log", arg, e); // read early, see termlog_path
	case PULLRUN_O_METRICS: return cmd_check_output("--metrics", arg, e);          // read early too
	case 'q': c->quiet = true; return 0;
	case 'v': c->verbose++; return 0;
	default: return cmd_access_option(&c->acc, id, arg, e) < 0 ? -1 : 0;
	}
}

static int add_image(void *ud, const char *item, struct err *e)
{
	struct pullrun_cli *c = ud;
	// A malformed reference is a usage error before anything is created.
	struct oci_ref r;
	if (oci_ref_parse(&r, item, e) < 0)
		return -1;
	oci_ref_release(&r);
	c->images = xrealloc(c->images, (c->nimages + 1) * sizeof(char *));
	c->images[c->nimages++] = xstrdup(item);
	return 0;
}

int pullrun_cli_images(struct pullrun_cli *c, int argc, char **argv, int first, struct err *e)
{
	for (int i = first; i < argc; i++)
		if (add_image(c, argv[i], e) < 0)
			return -1;
	const char *env = getenv("IMGPULL_IMAGES");
	if (!c->nimages && env && *env && cmd_opts_split(env, false, add_image, c, e) < 0)
		return e->cls ? err_wrap(e, "IMGPULL_IMAGES") : err_set(e, ERR_USAGE, "IMGPULL_IMAGES must not be blank");
	if (!c->nimages)
		return err_set(e, ERR_USAGE, "no image given, as arguments or in IMGPULL_IMAGES (see 'imgpull help %s')",
			       argv[0]);
	return 0;
}

void pullrun_cli_apply(struct pullrun_cli *c, double t0)
{
	c->acc.http.retries = c->retries < PULLRUN_MAX_BLOCKING_RETRIES ? c->retries : PULLRUN_MAX_BLOCKING_RETRIES;
	c->acc.http.stall_timeout_s = (long)c->stall;
	c->acc.http.deadline = c->timeout > 0 ? t0 + c->timeout : 0;
	pullrun_cli_log_level(c);
}

void pullrun_cli_log_level(const struct pullrun_cli *c)
{
	log_set_level(c->verbose >= 2 ? LOG_DEBUG : c->verbose == 1 ? LOG_INFO : LOG_WARN);
}

void pullrun_cli_release(struct pullrun_cli *c)
{
	cmd_access_release(&c->acc);
	free(c->default_dest);
	free(c->unpack_dir);
	for (size_t i = 0; i < c->nimages; i++)
		free(c->images[i]);
	free(c->images);
}

// ---- the run ----

static bool layer_skipped(const struct pullrun *r, int i, size_t l)
{
	return r->skip && r->skip[i] && r->skip[i][l];
}

static bool image_skips(const struct pullrun *r, int i)
{
	for (size_t l = 0; l < r->imgs[i].manifest.nlayers; l++)
		if (layer_skipped(r, i, l))
			return true;
	return false;
}

// Every blob of image i is in (its skipped layers excepted).
static bool image_complete(const struct pullrun *r, int i, const struct pull_blob_info *bl, size_t nb)
{
	const struct oci_manifest *m = &r->imgs[i].manifest;
	for (size_t l = 0; l <= m->nlayers; l++) {
		if (l > 0 && layer_skipped(r, i, l - 1))
			continue;
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

// Records each image in index.json as soon as its last blob is in the layout,
// so that an interrupted pull leaves the images it finished usable.
static void record_complete(struct pullrun *r)
{
	const struct pull_blob_info *bl;
	size_t nb = pull_engine_blobs(r->eng, &bl);
	for (int i = 0; i < r->nrecord && !r->rec_failed; i++) {
		struct pull_image *img = &r->imgs[i];
		if (r->recorded[i] || !image_complete(r, i, bl, nb))
			continue;
		// A temporary layout (--unpack alone) names nothing: its blobs leave
		// as they are applied; an image whose skipped layers the layout lacks
		// is not named either (its manifest is kept, for the hand-off).
		if (!r->c->discard && !r->c->dest_temporary) {
			struct oci_index_entry ent = {.media_type = img->manifest.media_type,
						      .digest = img->manifest_digest, .size = img->manifest_len,
						      .ref_name = img->name,
						      .platform = img->has_platform ? &img->platform : NULL};
			if (oci_layout_put_blob(&r->layout, img->manifest_digest, img->manifest_body, img->manifest_len,
						&r->rec_err) < 0 ||
			    (!image_skips(r, i) && oci_layout_add_ref(&r->layout, &ent, &r->rec_err) < 0) ||
			    (!image_skips(r, i) && pull_trust_store(&r->layout, img, &r->trust[i], &r->rec_err) < 0)) {
				r->rec_failed = true;
				return;
			}
		}
		r->recorded[i] = true;
		progress_image_done(r->prog, img->name, img->manifest_digest);
	}
}

static void on_engine_event(void *ud, const struct pull_event *ev)
{
	struct pullrun *r = ud;
	progress_on_event(r->prog, ev);
	if (r->observe)
		r->observe(r->observe_ud, ev);
	r->retries += ev->kind == PULL_EV_RETRY;
	if (ev->kind == PULL_EV_BLOB_DONE || ev->kind == PULL_EV_BLOB_CACHED)
		record_complete(r);
}

// The disk budget: what the blobs still to fetch need (less what their partial
// files already hold) must fit, with --min-free to spare, before any download.
static int check_room(struct pullrun *r, struct err *e)
{
	const struct pullrun_cli *c = r->c;
	const struct pull_blob_info *bl;
	size_t nb = pull_engine_blobs(r->eng, &bl);
	uint64_t need = 0;
	for (size_t i = 0; i < nb; i++) {
		if (bl[i].state == PULL_BLOB_CACHED)
			continue;
		uint64_t have = oci_ingest_allocated(&r->layout, bl[i].digest);
		need += have < bl[i].size ? bl[i].size - have : 0;
	}
	for (size_t i = 0; i < c->nimages; i++)
		need += r->imgs[i].manifest_len;
	if (file_check_room(r->layout.dir, need, c->min_free, c->min_free_pct, e) < 0)
		return -1;
	// containerd's store gets hard links on the same filesystem, else copies.
	if (c->containerd && !file_same_fs(r->layout.dir, c->containerd_root))
		return file_check_room(c->containerd_root, need, c->min_free, c->min_free_pct, e);
	return 0;
}

// --unpack, before anything is created: ROOTFS must be usable (refused with
// exit 2 otherwise). Without --dest, a ROOTFS complete for the image costs
// nothing: PULLRUN_UNPACKED at once when the reference is pinned by the
// digest its marker names (no request at all).
static int unpack_check(struct pullrun *r, struct err *e)
{
	const struct pullrun_cli *c = r->c;
	if (unpack_rootfs_check(c->unpack, &r->rootfs, e) < 0)
		return -1;
	// Under a policy the image is resolved and weighed again, complete or not.
	if (!r->rootfs.done || !c->dest_temporary || c->acc.has_policy)
		return 0;
	struct pull_image *img = &r->imgs[0];
	if (oci_ref_parse(&img->ref, c->images[0], e) < 0)
		return -1;
	if (!img->ref.digest || strcmp(img->ref.digest, r->rootfs.done) != 0) {
		oci_ref_release(&img->ref);
		return 0;
	}
	img->name = oci_ref_string(&img->ref);
	snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s", img->ref.digest);
	return PULLRUN_UNPACKED;
}

// Resolved: whether ROOTFS (--unpack without --dest) holds the image already.
static bool unpack_complete(struct pullrun *r)
{
	const struct pull_image *img = &r->imgs[0];
	if (!r->c->unpack || !r->c->dest_temporary || !r->rootfs.done ||
	    strcmp(r->rootfs.done, img->manifest_digest) != 0)
		return false;
	const struct oci_manifest *m = &img->manifest;
	r->rootfs.bytes = m->config.size;
	for (size_t l = 0; l < m->nlayers; l++)
		r->rootfs.bytes += m->layers[l].size;
	return true;
}

// The layout, the engine and every image's blobs in it, and the room for them.
static int fetch_setup(struct pullrun *r, struct err *e)
{
	struct pullrun_cli *c = r->c;
	if (!c->discard) {
		if (oci_layout_open(&r->layout, c->dest, e) < 0)
			return -1;
		r->layout.fsync = c->fsync;
	}
	if (r->before_fetch)
		r->before_fetch(r->before_ud, r);
	struct pull_engine_opts eo = {.http = &c->acc.http, .layout = c->discard ? NULL : &r->layout,
				      .connections = c->connections, .chunk_size = c->chunk, .retries = c->retries,
				      .discard = c->discard, .stream = c->unpack || c->containerd, .on_event = on_engine_event,
				      .ud = r};
	if (pull_engine_new(&r->eng, &eo, e) < 0)
		return -1;
	progress_attach(r->prog, r->eng);
	for (int i = 0; i < r->resolved; i++) {
		struct pull_image *img = &r->imgs[i];
		const struct oci_manifest *m = &img->manifest;
		if (pull_engine_add(r->eng, pull_image_blob_source(img), m->config.digest, m->config.size, e) < 0)
			return -1;
		for (size_t l = 0; l < m->nlayers; l++)
			if (!layer_skipped(r, i, l) &&
			    pull_engine_add(r->eng, pull_image_blob_source(img), m->layers[l].digest, m->layers[l].size, e) < 0)
				return -1;
	}
	return c->discard ? 0 : check_room(r, e);
}

struct stream_src {
	struct pull_engine *eng;
	const char *digest;
};

static uint64_t stream_wait(void *ud, uint64_t want, struct err *e)
{
	struct stream_src *s = ud;
	uint64_t n = pull_engine_stream_wait(s->eng, s->digest, want, NULL, e);
	return n == (uint64_t)-1 ? 0 : n;
}

// An unpack that failed stops its inflater's wait: the pull ends with its error.
static void stream_cancel(void *ud, const struct err *why)
{
	struct stream_src *s = ud;
	pull_engine_abort(s->eng, why);
}

int pullrun_stream_open(void *eng, const struct oci_descriptor *d, struct unpack_source *src, struct err *e)
{
	int fd = -1;
	uint64_t n = pull_engine_stream_wait(eng, d->digest, d->size ? 1 : 0, &fd, e);
	if (n == (uint64_t)-1 || (d->size && n == 0))
		return -1;
	struct stream_src *s = xcalloc(1, sizeof(*s));
	s->eng = eng;
	s->digest = d->digest;
	*src = (struct unpack_source){
		.fd = fd, .size = d->size, .wait = stream_wait, .ud = s, .done = free, .cancel = stream_cancel};
	return 0;
}

int pullrun_execute(struct pullrun *r, struct err *e)
{
	struct pullrun_cli *c = r->c;
	int nimg = (int)c->nimages;
	r->imgs = xcalloc((size_t)nimg + 1, sizeof(*r->imgs));
	r->recorded = xcalloc((size_t)nimg + 1, sizeof(bool));
	r->trust = xcalloc((size_t)nimg + 1, sizeof(*r->trust));
	pull_registries_init(&r->regs, &c->acc.http, &c->acc.store, &c->acc.kinds);
	r->regs.hosts_dir = c->acc.hosts_dir;
	// A containerd that is gone or hung is found before any request, not after the download.
	if (c->containerd && cri_probe(c->containerd, c->acc.http.deadline, e) < 0)
		return -1;
	if (c->platform) {
		if (oci_platform_parse(&r->want, c->platform, e) < 0)
			return -1;
	} else {
		oci_platform_host(&r->want);
	}
	int u = c->unpack ? unpack_check(r, e) : 0;
	if (u != 0)
		return u;
	for (int i = 0; i < nimg; i++) {
		struct pull_image *img = &r->imgs[i];
		if (pull_image_resolve(img, &r->regs, c->images[i], &r->want, e) < 0)
			return -1;
		// Nothing of an image the policy refuses is fetched, nor of the others.
		if (c->acc.has_policy && pull_trust_check(&c->acc.policy, img, &r->trust[i], e) < 0)
			return -1;
		progress_resolved(r->prog, img->name, img->manifest_digest, img->manifest.nlayers + 1);
		r->resolved = i + 1;
	}
	if (unpack_complete(r))
		return PULLRUN_UNPACKED;
	if (fetch_setup(r, e) < 0)
		return -1;
	r->run_at = clock_mono() - r->t0;
	r->nrecord = nimg;
	if (r->before_run)
		r->before_run(r->before_ud, r);
	int run = pull_engine_run(r->eng, e);
	if (r->rec_failed) { // an index.json error comes first: the engine's may follow from it
		*e = r->rec_err;
		return -1;
	}
	if (run < 0)
		return -1;
	record_complete(r); // every image is complete now
	if (r->rec_failed) {
		*e = r->rec_err;
		return -1;
	}
	return 0;
}

void pullrun_release(struct pullrun *r)
{
	pull_engine_free(r->eng);
	r->eng = NULL;
	for (size_t i = 0; r->imgs && i < r->c->nimages; i++)
		pull_image_release(&r->imgs[i]);
	for (size_t i = 0; r->trust && i < r->c->nimages; i++)
		pull_trust_release(&r->trust[i]);
	free(r->trust);
	r->trust = NULL;
	free(r->imgs);
	r->imgs = NULL;
	pull_registries_release(&r->regs);
	oci_layout_release(&r->layout);
	oci_platform_release(&r->want);
	unpack_rootfs_state_release(&r->rootfs);
	free(r->recorded);
	r->recorded = NULL;
}
