// SPDX-License-Identifier: Apache-2.0
#include "run/prefetch.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "auth/session.h"
#include "cri/content.h"
#include "cri/cri.h"
#include "ctrd/content.h"
#include "ctrd/leases.h"
#include "ctrd/snapshots.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

#define LEASE_TTL_S (24 * 3600) // containerd's own client leases for 24 h
#define SNAP_DIR_PREFIX "io.containerd.snapshotter.v1."

void prefetch_init(struct prefetch *p, const struct pullrun_conf *c)
{
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->lock_fd = -1;
}

// The effective capabilities, from /proc/self/status's CapEff (the kernel's
// own report; the static build has no kernel headers for capget). 0 when
// unreadable.
static uint64_t caps_effective(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	uint64_t v = 0;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "CapEff:", 7) == 0) {
			v = strtoull(line + 7, NULL, 16);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

// What writing a layer as containerd's applier does takes: the layers'
// owners (CHOWN, FOWNER, FSETID for setuid files, DAC_OVERRIDE), device nodes
// and overlay whiteouts (MKNOD), file capabilities (SETFCAP) and, for the
// overlayfs snapshotter, trusted.overlay.opaque (SYS_ADMIN). NULL when all are
// effective, else the name of one that is not. The numbers are the kernel's
// (include/uapi/linux/capability.h).
static const char *missing_capability(const char *snapshotter)
{
	static const struct {
		int cap;
		const char *name;
	} need[] = {{0, "CAP_CHOWN"}, {1, "CAP_DAC_OVERRIDE"}, {3, "CAP_FOWNER"},   {4, "CAP_FSETID"},
		    {27, "CAP_MKNOD"}, {31, "CAP_SETFCAP"},      {21, "CAP_SYS_ADMIN"}};
	uint64_t eff = caps_effective();
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (need[i].cap == 21 && strcmp(snapshotter, "overlayfs") != 0)
			continue;
		if (!(eff & (UINT64_C(1) << need[i].cap)))
			return need[i].name;
	}
	return NULL;
}

// The snapshotter to write into, and its directory as containerd names it and
// as imgpull reaches it; "" (containerd unpacks) for none or one imgpull does
// not write.
static void pick_snapshotter(struct prefetch *p)
{
	const struct pullrun_conf *c = p->c;
	if (c->snapshotter && strcmp(c->snapshotter, "none") == 0)
		return;
	char cri_sn[64] = "";
	_cleanup_free_ char *mp = NULL;
	struct err e;
	if (cri_image_fs(c->containerd, c->http->deadline, &mp, cri_sn, sizeof(cri_sn), &e) < 0) {
		log_warn("containerd: %s: leaving the unpack to containerd", e.msg);
		return;
	}
	const char *sn = c->snapshotter ? c->snapshotter : cri_sn;
	if (strcmp(sn, "overlayfs") != 0 && strcmp(sn, "native") != 0) {
		log_warn("containerd: its CRI plugin unpacks into the '%s' snapshotter, which imgpull does not write "
			 "(overlayfs, native): leaving the unpack to containerd", sn);
		return;
	}
	const char *cap = missing_capability(sn);
	if (cap) {
		log_warn("containerd: writing into its %s snapshotter takes %s, which this process lacks: leaving the "
			 "unpack to containerd", sn, cap);
		return;
	}
	if (c->snapshotter && strcmp(sn, cri_sn) != 0)
		log_warn("containerd: unpacking into '%s' as --snapshotter says, though its CRI plugin uses '%s'", sn,
			 cri_sn);
	snprintf(p->snapshotter, sizeof(p->snapshotter), "%s", sn);
	p->snap_root = xasprintf("%s/" SNAP_DIR_PREFIX "%s", dirname(mp), sn);
	p->local_root = xasprintf("%s/" SNAP_DIR_PREFIX "%s", c->containerd_root, sn);
}

static char *lock_dir(const struct pullrun_conf *c)
{
	return xasprintf("%s/imgpull/leases", c->containerd_root);
}

// What a run that was killed left: its active snapshots (keys "LEASE-N ...")
// and its lease, found by its lock file that nobody holds any more.
static void cleanup_stale(struct prefetch *p, const char *dir)
{
	char **names;
	size_t n;
	struct err e;
	if (file_list_dir(dir, &names, &n, &e) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], p->lease) == 0 || !ctrd_id_valid(names[i]))
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, names[i]);
		_cleanup_close_ int fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; // a run that is alive holds it
		_cleanup_free_ char *filter = xasprintf("kind==active,name~=\"^%s-\"", names[i]);
		const char *filters[] = {filter};
		struct ctrd_infos act = {0};
		if (ctrd_snap_list(&p->s, filters, 1, &act, &e) == 0)
			for (size_t k = 0; k < act.n; k++)
				if (ctrd_snap_remove(&p->s, act.v[k].name, &e) == 0)
					log_info("containerd: removed the active snapshot '%s' of a run that ended early",
						 act.v[k].name);
		ctrd_infos_free(&act);
		if (ctrd_lease_delete(&p->s, names[i], false, &e) == 0)
			log_info("containerd: removed lease '%s' of a run that ended early", names[i]);
		unlink(path);
	}
	file_list_free(names, n);
}

// The lock file goes, and with it what says a lease is ours.
static void lock_drop(struct prefetch *p)
{
	if (p->lock_fd >= 0 && p->lease[0]) {
		_cleanup_free_ char *dir = lock_dir(p->c);
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, p->lease);
		unlink(path);
	}
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	p->lock_fd = -1;
	p->lease[0] = '\0';
}

// A lease of this run's, with its lock file held while the run lives.
static int lease_take(struct prefetch *p, struct err *e)
{
	_cleanup_free_ char *dir = lock_dir(p->c);
	if (file_mkdirs(dir, e) < 0)
		return -1;
	unsigned rnd = 0;
	int ufd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (ufd < 0 || read(ufd, &rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd))
		rnd = (unsigned)clock_mono();
	if (ufd >= 0)
		close(ufd);
	snprintf(p->lease, sizeof(p->lease), "imgpull-%lld-%d-%04x", (long long)time(NULL), (int)getpid(),
		 rnd & 0xffff);
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, p->lease);
	p->lock_fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (p->lock_fd < 0 || flock(p->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot create the lock file '%s'", path);
	cleanup_stale(p, dir);
	char expire[32];
	time_t t = time(NULL) + LEASE_TTL_S;
	strftime(expire, sizeof(expire), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	struct ctrd_label labels[] = {{CTRD_LEASE_EXPIRE_LABEL, expire}};
	if (ctrd_lease_create(&p->s, p->lease, labels, 1, e) < 0)
		return -1;
	return ctrd_session_set_lease(&p->s, p->lease, e);
}

// Whether an error of the snapshot path fails the pull (the image is at
// fault, the disk is full, a signal) or leaves the unpack to containerd.
static bool snapshot_error_fatal(const struct err *e)
{
	return e->cls == ERR_INTEGRITY || e->cls == ERR_STORAGE || e->cls == ERR_INTERRUPTED || e->cls == ERR_UNTRUSTED;
}

static void *prefetch_main(void *arg)
{
	struct prefetch *p = arg;
	struct pullrun *r = p->run;
	for (int i = 0; i < r->resolved && p->rc == 0; i++) {
		struct pull_image *img = &r->imgs[i];
		if (oci_manifest_is_artifact(&img->manifest))
			continue; // no filesystem: nothing for a snapshotter
		struct unpack_image u = {.layout = &r->layout, .name = img->name, .manifest_digest = img->manifest_digest,
					 .manifest = &img->manifest, .chown = true, .open_blob = pullrun_stream_open,
					 .blob_ud = r->eng};
		struct unpack_snap us = {.img = &u, .s = &p->s, .snap_root = p->snap_root, .local_root = p->local_root};
		struct unpack_stats st;
		p->rc = unpack_snapshots_run(&us, &p->res[i], &st, &p->err);
		p->st.entries += st.entries;
		p->st.bytes_out += st.bytes_out;
	}
	p->took = clock_mono() - p->t0;
	if (p->rc < 0 && snapshot_error_fatal(&p->err)) {
		pull_engine_abort(r->eng, &p->err); // the pull ends with it (a hostile layer: exit 6)
	} else if (p->rc < 0) {
		log_warn("containerd: %s: leaving the unpack to containerd", p->err.msg);
		p->fell_back = true;
		p->rc = 0;
	}
	return NULL;
}

// The image's config: from the layout when it is there (its digest was
// checked when it entered), else fetched and verified, and put there for the
// engine to find.
static int config_get(struct pullrun *r, struct pull_image *img, struct buf *cfg, struct err *e)
{
	const struct oci_descriptor *cd = &img->manifest.config;
	if (oci_layout_has_blob(&r->layout, cd->digest, cd->size)) {
		_cleanup_close_ int fd = oci_layout_open_blob(&r->layout, cd->digest, e);
		if (fd < 0)
			return -1;
		char *data = xmalloc(cd->size ? cd->size : 1);
		ssize_t n = pread(fd, data, cd->size, 0);
		int ret = n != (ssize_t)cd->size ? err_sys(e, ERR_STORAGE, n < 0 ? errno : EIO, "cannot read the config of %s",
							   img->name)
			: buf_add(cfg, data, cd->size) < 0 ? err_set(e, ERR_INTEGRITY, "%s: its config is too large", img->name)
							     : 0;
		free(data);
		return ret;
	}
	if (pull_repo_get_blob(&img->repo, cd, OCI_MANIFEST_MAX, cfg, e) < 0)
		return -1;
	return oci_layout_put_blob(&r->layout, cd->digest, cfg->data ? cfg->data : "", cfg->len, e);
}

// Image i's first layers whose snapshots are committed already: not fetched.
static int skip_committed(struct prefetch *p, struct pullrun *r, int i, struct err *e)
{
	struct pull_image *img = &r->imgs[i];
	if (oci_manifest_is_artifact(&img->manifest) || img->manifest.nlayers == 0)
		return 0;
	struct buf cfg;
	buf_init(&cfg, OCI_MANIFEST_MAX);
	char **ids = NULL;
	size_t nids = 0, n = 0;
	int ret = config_get(r, img, &cfg, e);
	if (ret == 0)
		ret = oci_config_diff_ids(buf_str(&cfg), cfg.len, &ids, &nids, e);
	buf_release(&cfg);
	struct unpack_image u = {.name = img->name, .manifest = &img->manifest};
	struct unpack_snap us = {.img = &u, .s = &p->s, .snap_root = p->snap_root, .local_root = p->local_root};
	if (ret == 0 && nids == img->manifest.nlayers)
		ret = unpack_snapshots_committed(&us, (const char *const *)ids, nids, &n, e);
	for (size_t k = 0; k < nids; k++)
		free(ids[k]);
	free(ids);
	if (ret < 0 || n == 0)
		return ret;
	r->skip[i] = xcalloc(img->manifest.nlayers, sizeof(bool));
	for (size_t k = 0; k < n; k++)
		r->skip[i][k] = true;
	log_info("containerd: %s: its first %zu of %zu layers are committed snapshots already: not fetched", img->name,
		 n, img->manifest.nlayers);
	return 0;
}

void prefetch_prepare(void *ud, struct pullrun *r)
{
	struct prefetch *p = ud;
	p->run = r;
	p->res = xcalloc((size_t)r->resolved + 1, sizeof(*p->res));
	pick_snapshotter(p);
	if (!p->snapshotter[0])
		return;
	ctrd_session_init(&p->s, p->c->containerd, p->snapshotter, p->c->http->deadline);
	struct err e;
	if (lease_take(p, &e) < 0) {
		log_warn("containerd: %s: leaving the unpack to containerd", e.msg);
		p->snapshotter[0] = '\0';
		lock_drop(p);
		return;
	}
	p->skip = xcalloc((size_t)r->resolved + 1, sizeof(*p->skip));
	r->skip = p->skip;
	for (int i = 0; i < r->resolved; i++)
		if (skip_committed(p, r, i, &e) < 0)
			log_warn("containerd: %s: %s: fetching every layer", r->imgs[i].name, e.msg);
}

void prefetch_start(void *ud, struct pullrun *r)
{
	struct prefetch *p = ud;
	if (!p->snapshotter[0])
		return;
	p->t0 = clock_mono();
	int rc = pthread_create(&p->th, NULL, prefetch_main, p);
	if (rc != 0) {
		p->rc = err_sys(&p->err, ERR_INTERNAL, rc, "cannot start the unpacking thread");
		pull_engine_abort(r->eng, &p->err);
		return;
	}
	p->started = true;
}

int prefetch_finish(struct prefetch *p, bool pulled, struct err *e)
{
	if (p->started) {
		pthread_join(p->th, NULL);
		p->started = false;
	}
	if (!pulled)
		return -1;
	if (p->rc < 0) {
		*e = p->err;
		return -1;
	}
	if (p->snapshotter[0] && !p->fell_back) {
		size_t applied = 0, present = 0;
		for (int i = 0; p->run && i < p->run->resolved; i++) {
			applied += p->res[i].applied;
			present += p->res[i].present;
		}
		log_info("containerd: %zu layers unpacked into its %s snapshotter (%llu entries, %llu bytes) and %zu there "
			 "already, in %.2f s", applied, p->snapshotter, (unsigned long long)p->st.entries,
			 (unsigned long long)p->st.bytes_out, present, p->took);
	}
	return 0;
}

// The blobs of image i into containerd's content store (hard links to the
// layout's where one filesystem holds both), and once a lease is ours (some
// layers may be committed snapshots, even when the unpack then fell back),
// registered in the namespace under it: containerd's CRI pull does not record
// the layers it finds unpacked, and its next garbage collection would delete
// them unrecorded. Each layer is labelled with its diff_id when it is known.
static int put_image(struct prefetch *p, const struct oci_layout *l, const struct pull_image *img, size_t i,
		     size_t *put, size_t *linked, struct err *e)
{
	const struct oci_manifest *m = &img->manifest;
	const struct unpack_snap_result *res = &p->res[i];
	bool reg = p->lease[0] && p->lock_fd >= 0;
	for (size_t k = 0; k <= m->nlayers + 1; k++) {
		if (k >= 2 && p->skip && p->skip[i] && p->skip[i][k - 2])
			continue; // not fetched: its snapshot is there (and its blob, where containerd kept it)
		const char *d = k == 0 ? img->manifest_digest : k == 1 ? m->config.digest : m->layers[k - 2].digest;
		uint64_t size = k == 0 ? img->manifest_len : k == 1 ? m->config.size : m->layers[k - 2].size;
		bool ln;
		int r = cri_content_put(p->c->containerd_root, l, d, size, &ln, e);
		if (r < 0)
			return err_wrap(e, "containerd's content store in '%s'", p->c->containerd_root);
		*put += (size_t)r;
		*linked += ln;
		if (!reg)
			continue;
		const char *diff = k >= 2 && res->diff_ids && k - 2 < res->nlayers ? res->diff_ids[k - 2] : NULL;
		struct ctrd_label labels[] = {{CTRD_LABEL_UNCOMPRESSED, diff}};
		if (ctrd_content_register(&p->s, d, size, labels, diff ? 1 : 0, e) < 0)
			return err_wrap(e, "registering %s with containerd", d);
	}
	return 0;
}

static int pull_one(const struct prefetch *p, struct pull_image *img, struct err *e)
{
	struct auth_cred cred;
	if (auth_session_registry_cred(&img->repo.reg->auth, img->repo.path, &cred, e) < 0)
		return -1;
	struct cri_auth a = {.username = cred.username, .password = cred.password};
	char *id = NULL;
	double t1 = clock_mono();
	uint64_t bytes = img->manifest.config.size; // what containerd unpacks bounds its PullImage
	for (size_t k = 0; k < img->manifest.nlayers; k++)
		bytes += img->manifest.layers[k].size;
	int r = cri_pull_image(p->c->containerd, img->name, cred.username ? &a : NULL, bytes, p->c->http->deadline, &id,
			       e);
	auth_cred_release(&cred);
	if (r < 0)
		return err_wrap(e, "%s", img->name);
	if (p->handed)
		p->handed(p->handed_ud, img, id, clock_mono() - t1);
	free(id);
	return 0;
}

int prefetch_handoff(struct prefetch *p, const struct oci_layout *l, struct pull_image *imgs, int nimg,
		     struct err *e)
{
	const struct pullrun_conf *c = p->c;
	if (cri_probe(c->containerd, c->http->deadline, e) < 0) // bounded: a hung containerd ends here
		return -1;
	double t0 = clock_mono();
	size_t put = 0, linked = 0;
	for (int i = 0; i < nimg; i++)
		if (put_image(p, l, &imgs[i], (size_t)i, &put, &linked, e) < 0)
			return -1;
	log_info("containerd: %zu blobs put into its content store (%zu as hard links) in %.2f s", put, linked,
		 clock_mono() - t0);
	for (int i = 0; i < nimg; i++)
		if (pull_one(p, &imgs[i], e) < 0)
			return -1;
	return 0;
}

void prefetch_release(struct prefetch *p)
{
	if (p->lease[0] && p->lock_fd >= 0) {
		struct err e;
		if (ctrd_lease_delete(&p->s, p->lease, false, &e) < 0)
			log_warn("containerd: cannot remove lease '%s' (it expires by itself): %s", p->lease, e.msg);
	}
	lock_drop(p);
	for (int i = 0; p->res && p->run && i < p->run->resolved; i++)
		unpack_snap_result_release(&p->res[i]);
	free(p->res);
	p->res = NULL;
	for (int i = 0; p->skip && p->run && i < p->run->resolved; i++)
		free(p->skip[i]);
	free(p->skip);
	p->skip = NULL;
	free(p->snap_root);
	free(p->local_root);
	p->snap_root = p->local_root = NULL;
}
