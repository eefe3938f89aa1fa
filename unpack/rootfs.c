// SPDX-License-Identifier: Apache-2.0
#include "unpack/rootfs.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

// What a marker in ROOTFS says: the manifest digest it was written for.
static char *marker_digest(const char *rootfs, const char *name)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", rootfs, name);
	struct buf b;
	buf_init(&b, 64u << 10);
	struct err e;
	char *out = NULL;
	if (file_read_all(p, &b, &e) == 0) {
		cJSON *o = cJSON_ParseWithLength(buf_str(&b), b.len);
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "manifest");
		if (cJSON_IsString(d))
			out = xstrdup(d->valuestring);
		cJSON_Delete(o);
	}
	buf_release(&b);
	return out;
}

static int marker_write(const struct unpack_image *u, const char *name, struct err *e)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "image", u->name);
	cJSON_AddStringToObject(o, "manifest", u->manifest_digest);
	cJSON_AddNumberToObject(o, "layers", (double)u->manifest->nlayers);
	cJSON_AddNumberToObject(o, "time", (double)time(NULL));
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	_cleanup_free_ char *p = xasprintf("%s/%s", u->rootfs, name);
	int r = file_write_atomic(p, text, strlen(text), e);
	free(text);
	return r;
}

// ROOTFS made ready for a fresh unpack: created, or emptied when an earlier
// run of ours left it unfinished. 1: this image is there already.
static int prepare(const struct unpack_image *u, struct err *e)
{
	if (file_mkdirs(u->rootfs, e) < 0)
		return -1;
	_cleanup_free_ char *done = marker_digest(u->rootfs, UNPACK_MARKER_DONE);
	if (done && strcmp(done, u->manifest_digest) == 0)
		return 1;
	char **names;
	size_t n;
	if (file_list_dir(u->rootfs, &names, &n, e) < 0)
		return -1;
	_cleanup_free_ char *busy = marker_digest(u->rootfs, UNPACK_MARKER_BUSY);
	int r = 0;
	if (n && !done && !busy) {
		r = err_set(e, ERR_USAGE,
			    "'%s' is not empty and holds no unpack of imgpull's: not touching it (give an empty or new directory)",
			    u->rootfs);
	} else if (n) {
		log_info("unpack: '%s' holds %s; emptying it", u->rootfs,
			 done ? "another image" : "an unfinished unpack");
		for (size_t i = 0; i < n && r == 0; i++) {
			_cleanup_free_ char *p = xasprintf("%s/%s", u->rootfs, names[i]);
			r = file_remove_tree(p, e);
		}
	}
	file_list_free(names, n);
	if (r == 0)
		r = marker_write(u, UNPACK_MARKER_BUSY, e);
	return r;
}

// Room the filesystem of ROOTFS has: the most a layer may expand to.
static uint64_t room(const char *rootfs)
{
	struct statvfs sv;
	if (statvfs(rootfs, &sv) < 0)
		return 0;
	return (uint64_t)sv.f_bavail * sv.f_frsize;
}

// The descriptor's bytes as a source: streamed, or the layout's blob.
static int source_open(const struct unpack_image *u, const struct oci_descriptor *d, struct unpack_source *src,
		       struct err *e)
{
	if (u->open_blob)
		return u->open_blob(u->blob_ud, d, src, e);
	_cleanup_free_ char *p = oci_layout_blob_path(u->layout, d->digest);
	*src = (struct unpack_source){.fd = open(p, O_RDONLY | O_CLOEXEC), .size = d->size};
	return src->fd < 0 ? err_sys(e, ERR_STORAGE, errno, "cannot open '%s'", p) : 0;
}

// The config, whole (it is small: its size is capped like a manifest's).
static int config_read(const struct unpack_image *u, struct buf *b, struct err *e)
{
	const struct oci_descriptor *d = &u->manifest->config;
	if (d->size > OCI_MANIFEST_MAX)
		return err_set(e, ERR_INTEGRITY, "%s: its config is larger than %u bytes", u->name, OCI_MANIFEST_MAX);
	struct unpack_source src;
	if (source_open(u, d, &src, e) < 0)
		return -1;
	int r = 0;
	if (src.wait && src.wait(src.ud, d->size, e) < d->size)
		r = -1;
	char *data = xmalloc(d->size ? d->size : 1);
	if (r == 0 && d->size && pread(src.fd, data, d->size, 0) != (ssize_t)d->size)
		r = err_sys(e, ERR_STORAGE, errno ? errno : EIO, "cannot read the config of %s", u->name);
	if (r == 0 && buf_add(b, data, d->size) < 0)
		r = err_set(e, ERR_INTEGRITY, "%s: its config is too large", u->name);
	free(data);
	if (src.fd >= 0)
		close(src.fd);
	if (src.done)
		src.done(src.ud);
	return r;
}

int unpack_image_run(const struct unpack_image *u, struct unpack_stats *total, struct err *e)
{
	memset(total, 0, sizeof(*total));
	const struct oci_manifest *m = u->manifest;
	int pr = prepare(u, e);
	if (pr != 0)
		return pr;
	struct buf cb;
	buf_init(&cb, OCI_MANIFEST_MAX);
	if (config_read(u, &cb, e) < 0) {
		buf_release(&cb);
		return -1;
	}
	char **ids;
	size_t nids;
	int r = oci_config_diff_ids(buf_str(&cb), cb.len, &ids, &nids, e);
	buf_release(&cb);
	if (r < 0)
		return err_wrap(e, "%s", u->name);
	if (nids != m->nlayers)
		r = err_set(e, ERR_INTEGRITY, "%s: its config names %zu diff_ids for %zu layers", u->name, nids,
			    m->nlayers);
	for (size_t i = 0; r == 0 && i < m->nlayers; i++) {
		const struct oci_descriptor *d = &m->layers[i];
		enum unpack_compression c;
		if (unpack_compression_of(d->media_type, &c) < 0) {
			r = err_set(e, ERR_USAGE, "%s: layer %zu (%s) is not a filesystem layer (media type '%.100s')",
				    u->name, i + 1, d->digest, d->media_type ? d->media_type : "");
			break;
		}
		struct unpack_source src;
		if (source_open(u, d, &src, e) < 0) {
			r = -1;
			break;
		}
		struct unpack_opts o = {.chown = u->chown, .max_bytes = room(u->rootfs)};
		struct unpack_stats st;
		r = unpack_layer(u->rootfs, &src, c, ids[i], d->digest, &o, &st, e);
		if (src.fd >= 0)
			close(src.fd);
		if (src.done)
			src.done(src.ud);
		// A layer may have whited out the busy marker (an opaque root): it
		// must be there for a rerun to know the directory is ours.
		if (r == 0)
			r = marker_write(u, UNPACK_MARKER_BUSY, e);
		if (r == 0) {
			log_info("unpack: layer %zu/%zu %s: %llu entries, %llu bytes from %llu", i + 1, m->nlayers,
				 d->digest, (unsigned long long)st.entries, (unsigned long long)st.bytes_out,
				 (unsigned long long)st.bytes_in);
			total->entries += st.entries;
			total->bytes_in += st.bytes_in;
			total->bytes_out += st.bytes_out;
			total->whiteouts += st.whiteouts;
		}
	}
	for (size_t i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
	if (r < 0)
		return -1;
	// The markers: complete first, then the busy one goes (a crash between
	// them leaves both: complete wins).
	if (marker_write(u, UNPACK_MARKER_DONE, e) < 0)
		return -1;
	_cleanup_free_ char *busy = xasprintf("%s/%s", u->rootfs, UNPACK_MARKER_BUSY);
	unlink(busy);
	return 0;
}
