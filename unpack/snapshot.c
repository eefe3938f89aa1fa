// SPDX-License-Identifier: Apache-2.0
#include "unpack/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ctrd/leases.h"
#include "ctrd/mount.h"
#include "ctrd/snapshots.h"
#include "oci/chainid.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#define SNAP_REF_LABEL "containerd.io/snapshot.ref" // containerd's unpacker sets it on Prepare and Commit

char *unpack_snap_key(const char *lease, size_t index, const char *chain_id)
{
	return xasprintf("%s-%zu %s", lease, index, chain_id);
}

void unpack_snap_result_release(struct unpack_snap_result *res)
{
	for (size_t i = 0; res->diff_ids && i < res->nlayers; i++)
		free(res->diff_ids[i]);
	free(res->diff_ids);
	res->diff_ids = NULL;
}

// A committed snapshot of this name is taken into the lease: on containerd
// 1.6 a Prepare answering "target exists" does not add it (2.x does), and the
// image that will reference it is recorded only by the CRI pull that follows.
static int snap_take(const struct unpack_snap *u, const char *chain, struct err *e)
{
	if (!u->s->lease[0])
		return 0;
	_cleanup_free_ char *type = xasprintf("snapshots/%s", u->s->snapshotter);
	return ctrd_lease_add_resource(u->s, u->s->lease, chain, type, e);
}

// 1 when chain is a committed snapshot (taken into the lease), 0 when there
// is none, -1 on error.
static int snap_present(const struct unpack_snap *u, const char *chain, struct err *e)
{
	struct ctrd_info info = {0};
	if (ctrd_snap_stat(u->s, chain, &info, e) < 0)
		return e->cls == ERR_NOTFOUND ? (err_clear(e), 0) : -1;
	int kind = info.kind;
	ctrd_info_free(&info);
	if (kind != CTRD_KIND_COMMITTED)
		return err_set(e, ERR_NETWORK, "containerd: snapshot %s exists but is %s, not committed", chain,
			       ctrd_kind_name(kind));
	return snap_take(u, chain, e) < 0 ? -1 : 1;
}

// The directory Prepare's mounts name, checked to be a directory reached
// without a symbolic link; lowers (NULL-terminated, borrowed from t) for overlay.
static int snap_target(const struct unpack_snap *u, const struct ctrd_mounts *m, struct ctrd_target *t,
		       const char ***lowers, struct err *e)
{
	if (ctrd_mount_target(m, u->snap_root, u->local_root, t, e) < 0)
		return -1;
	struct stat st;
	if (lstat(t->dir, &st) < 0)
		return err_sys(e, ERR_STORAGE, errno, "containerd's snapshot directory '%s'", t->dir);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, ERR_STORAGE, "containerd's snapshot directory '%s' is not a directory", t->dir);
	*lowers = xcalloc(t->nlowers + 1, sizeof(**lowers));
	for (size_t i = 0; i < t->nlowers; i++)
		(*lowers)[i] = t->lowers[i];
	return 0;
}

static uint64_t snap_room(const char *dir)
{
	struct statvfs sv;
	return statvfs(dir, &sv) < 0 ? 0 : (uint64_t)sv.f_bavail * sv.f_frsize;
}

// Layer i's bytes applied into the directory of the active snapshot key.
static int snap_fill(const struct unpack_snap *u, size_t i, const struct ctrd_mounts *m, const char *diff_id,
		     struct unpack_stats *st, struct err *e)
{
	const struct oci_descriptor *d = &u->img->manifest->layers[i];
	enum unpack_compression c;
	if (unpack_compression_of(d->media_type, &c) < 0)
		return err_set(e, ERR_USAGE, "%s: layer %zu (%s) is not a filesystem layer (media type '%.100s')",
			       u->img->name, i + 1, d->digest, d->media_type ? d->media_type : "");
	struct ctrd_target t = {0};
	const char **lowers = NULL;
	int r = snap_target(u, m, &t, &lowers, e);
	struct unpack_source src = {.fd = -1};
	if (r == 0)
		r = unpack_image_source(u->img, d, &src, e);
	if (r == 0) {
		struct unpack_opts o = {.chown = u->img->chown, .max_bytes = snap_room(t.dir),
					.mode = t.overlay ? UNPACK_OVERLAY_UPPER : UNPACK_ROOTFS,
					.lowers = t.overlay ? lowers : NULL, .link_meta = true};
		r = unpack_layer(t.dir, &src, c, diff_id, d->digest, &o, st, e);
	}
	if (src.fd >= 0)
		close(src.fd);
	if (src.done)
		src.done(src.ud);
	free(lowers);
	ctrd_target_free(&t);
	return r;
}

// Prepare, fill, commit layer i as chain on parent. 1 when it was committed
// meanwhile by someone else (containerd's own unpack of the same image), 0
// when this run committed it; the active snapshot is removed on every failure.
static int snap_apply(const struct unpack_snap *u, size_t i, const char *parent, const char *chain,
		      const char *diff_id, struct unpack_stats *st, struct err *e)
{
	struct ctrd_session *s = u->s;
	_cleanup_free_ char *key = unpack_snap_key(s->lease, i, chain);
	struct ctrd_label labels[] = {{SNAP_REF_LABEL, chain}};
	struct ctrd_mounts m = {0};
	uint64_t below = 0;
	for (size_t k = 0; k < i; k++)
		below += u->img->manifest->layers[k].size;
	if (ctrd_snap_prepare(s, key, parent, labels, 1, ctrd_prepare_bound_s(s->snapshotter, parent, below), &m, e) < 0) {
		if (s->status.code == GRPC_ALREADY_EXISTS && strstr(s->status.message, "target snapshot"))
			return snap_take(u, chain, e) < 0 ? -1 : 1;
		return err_wrap(e, "%s: layer %zu", u->img->name, i + 1);
	}
	int r = snap_fill(u, i, &m, diff_id, st, e);
	ctrd_mounts_free(&m);
	int committed = 0;
	if (r == 0 && ctrd_snap_commit(s, chain, key, labels, 1, e) < 0) {
		if (s->status.code == GRPC_ALREADY_EXISTS)
			committed = 1; // another unpack of the same layer won: ours goes
		else
			r = err_wrap(e, "%s: layer %zu", u->img->name, i + 1);
	}
	if (r < 0 || committed) {
		struct err re;
		if (ctrd_snap_remove(s, key, &re) < 0)
			log_warn("containerd: cannot remove the active snapshot '%s': %s", key, re.msg);
	}
	if (committed)
		return snap_take(u, chain, e) < 0 ? -1 : 1;
	return r;
}

static int snap_layers(const struct unpack_snap *u, struct unpack_snap_result *res, char (*chains)[OCI_DIGEST_LEN + 1],
		       struct unpack_stats *total, struct err *e)
{
	const struct oci_manifest *m = u->img->manifest;
	for (size_t i = 0; i < m->nlayers; i++) {
		double t0 = clock_mono();
		int r = snap_present(u, chains[i], e);
		struct unpack_stats st = {0};
		if (r == 0)
			r = snap_apply(u, i, i ? chains[i - 1] : NULL, chains[i], res->diff_ids[i], &st, e);
		if (r < 0)
			return -1;
		if (r == 1) {
			res->present++;
			log_info("containerd: layer %zu/%zu of %s is a committed snapshot already (%s)", i + 1, m->nlayers,
				 u->img->name, chains[i]);
			continue;
		}
		res->applied++;
		log_info("containerd: layer %zu/%zu %s of %s committed as %s: %llu entries, %llu bytes in %.2f s", i + 1,
			 m->nlayers, m->layers[i].digest, u->img->name, chains[i], (unsigned long long)st.entries,
			 (unsigned long long)st.bytes_out, clock_mono() - t0);
		total->entries += st.entries;
		total->bytes_in += st.bytes_in;
		total->bytes_out += st.bytes_out;
		total->whiteouts += st.whiteouts;
	}
	return 0;
}

int unpack_snapshots_run(const struct unpack_snap *u, struct unpack_snap_result *res, struct unpack_stats *total,
			 struct err *e)
{
	memset(res, 0, sizeof(*res));
	memset(total, 0, sizeof(*total));
	const struct oci_manifest *m = u->img->manifest;
	if (m->nlayers == 0)
		return 0;
	if (unpack_image_diff_ids(u->img, &res->diff_ids, &res->nlayers, e) < 0)
		return -1;
	char (*chains)[OCI_DIGEST_LEN + 1] = xcalloc(res->nlayers, sizeof(*chains));
	int r = oci_chain_ids((const char *const *)res->diff_ids, res->nlayers, chains, e);
	if (r == 0)
		r = snap_layers(u, res, chains, total, e);
	if (r == 0)
		snprintf(res->top, sizeof(res->top), "%s", chains[res->nlayers - 1]);
	free(chains);
	return r;
}

int unpack_snapshots_committed(const struct unpack_snap *u, const char *const *diff_ids, size_t n, size_t *count,
			       struct err *e)
{
	*count = 0;
	if (n == 0)
		return 0;
	char (*chains)[OCI_DIGEST_LEN + 1] = xcalloc(n, sizeof(*chains));
	int r = oci_chain_ids(diff_ids, n, chains, e);
	for (size_t k = n; r == 0 && k > 0; k--) {
		r = snap_present(u, chains[k - 1], e);
		if (r == 1) {
			*count = k;
			r = 0;
			break;
		}
	}
	free(chains);
	return r;
}
