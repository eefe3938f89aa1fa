// SPDX-License-Identifier: Apache-2.0
#include "run/pullrun.h"

#include <stdlib.h>
#include <string.h>

#include "cri/cri.h"
#include "oci/ingest.h"
#include "oci/ref.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/mem.h"

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
	const struct pullrun_conf *c = r->c;
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
	const struct pullrun_conf *c = r->c;
	if (unpack_rootfs_check(c->unpack, &r->rootfs, e) < 0)
		return -1;
	// Under a policy the image is resolved and weighed again, complete or not.
	if (!r->rootfs.done || !c->dest_temporary || c->policy)
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
	const struct pullrun_conf *c = r->c;
	if (!c->discard) {
		if (oci_layout_open(&r->layout, c->dest, e) < 0)
			return -1;
		r->layout.fsync = c->fsync;
	}
	if (r->before_fetch)
		r->before_fetch(r->before_ud, r);
	struct pull_engine_opts eo = {.http = c->http, .layout = c->discard ? NULL : &r->layout,
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
	const struct pullrun_conf *c = r->c;
	int nimg = (int)c->nimages;
	r->imgs = xcalloc((size_t)nimg + 1, sizeof(*r->imgs));
	r->recorded = xcalloc((size_t)nimg + 1, sizeof(bool));
	r->trust = xcalloc((size_t)nimg + 1, sizeof(*r->trust));
	pull_registries_init(&r->regs, c->http, c->store, c->kinds);
	r->regs.hosts_dir = c->hosts_dir;
	// A containerd that is gone or hung is found before any request, not after the download.
	if (c->containerd && cri_probe(c->containerd, c->http->deadline, e) < 0)
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
		if (c->policy && pull_trust_check(c->policy, img, &r->trust[i], e) < 0)
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
