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

// What a marker in ROOTFS says: the manifest digest it was written for (and
// the image's bytes).
static char *marker_read(const char *rootfs, const char *name, uint64_t *bytes)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", rootfs, name);
	struct buf b;
	buf_init(&b, 64u << 10);
	struct err e;
	char *out = NULL;
	if (file_read_all(p, &b, &e) == 0) {
		cJSON *o = cJSON_ParseWithLength(buf_str(&b), b.len);
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "manifest");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "bytes");
		if (cJSON_IsString(d))
			out = xstrdup(d->valuestring);
		if (bytes)
			*bytes = cJSON_IsNumber(n) && n->valuedouble > 0 && n->valuedouble < 1e18 ? (uint64_t)n->valuedouble
												    : 0;
		cJSON_Delete(o);
	}
	buf_release(&b);
	return out;
}

static int marker_write(const struct unpack_image *u, const char *name, struct err *e)
{
	const struct oci_manifest *m = u->manifest;
	uint64_t bytes = m->config.size;
	for (size_t i = 0; i < m->nlayers; i++)
		bytes += m->layers[i].size;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "image", u->name);
	cJSON_AddStringToObject(o, "manifest", u->manifest_digest);
	cJSON_AddNumberToObject(o, "layers", (double)m->nlayers);
	cJSON_AddNumberToObject(o, "bytes", (double)bytes);
	cJSON_AddNumberToObject(o, "time", (double)time(NULL));
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	_cleanup_free_ char *p = xasprintf("%s/%s", u->rootfs, name);
	int r = file_write_atomic(p, text, strlen(text), e);
	free(text);
	return r;
}

char *unpack_rootfs_trim(const char *arg)
{
	size_t n = strlen(arg);
	while (n > 0 && arg[n - 1] == '/')
		n--;
	size_t base = n;
	while (base > 0 && arg[base - 1] != '/')
		base--;
	size_t len = n - base;
	if (len == 0 || (len == 1 && arg[base] == '.') || (len == 2 && arg[base] == '.' && arg[base + 1] == '.'))
		return NULL;
	return xstrndup(arg, n);
}

static bool is_root_dir(const char *path)
{
	struct stat st, root;
	return strcmp(path, "/") == 0 || (stat(path, &st) == 0 && stat("/", &root) == 0 && st.st_dev == root.st_dev &&
					  st.st_ino == root.st_ino);
}

int unpack_rootfs_name(const char *arg, char **out, struct err *e)
{
	*out = unpack_rootfs_trim(arg);
	if (!*out) {
		char *real = realpath(arg, NULL);
		if (!real)
			return err_sys(e, ERR_USAGE, errno, "--unpack '%s': cannot resolve the directory it names", arg);
		*out = xstrdup(real);
		free(real);
	}
	if (is_root_dir(*out)) {
		free(*out);
		*out = NULL;
		return err_set(e, ERR_USAGE,
			       "--unpack '%s' is the root directory: refused (an unpack may empty ROOTFS; give a directory of its own)",
			       arg);
	}
	return 0;
}

int unpack_rootfs_check(const char *rootfs, struct unpack_rootfs_state *st, struct err *e)
{
	*st = (struct unpack_rootfs_state){0};
	struct stat sb;
	if (stat(rootfs, &sb) < 0) {
		if (errno == ENOENT) // made when the unpack starts
			return 0;
		return err_sys(e, errno == ENOTDIR ? ERR_USAGE : ERR_STORAGE, errno, "cannot read '%s'", rootfs);
	}
	if (!S_ISDIR(sb.st_mode))
		return err_set(e, ERR_USAGE, "--unpack '%s' is not a directory", rootfs);
	char **names;
	size_t n;
	if (file_list_dir(rootfs, &names, &n, e) < 0)
		return -1;
	file_list_free(names, n);
	st->done = marker_read(rootfs, UNPACK_MARKER_DONE, &st->bytes);
	_cleanup_free_ char *busy = st->done || !n ? NULL : marker_read(rootfs, UNPACK_MARKER_BUSY, NULL);
	if (n && !st->done && !busy)
		return err_set(e, ERR_USAGE,
			       "'%s' is not empty and holds no unpack of imgpull's: not touching it (give an empty or new directory)",
			       rootfs);
	return 0;
}

void unpack_rootfs_state_release(struct unpack_rootfs_state *st)
{
	free(st->done);
	st->done = NULL;
}

// ROOTFS made ready for a fresh unpack: created, or emptied when an earlier
// run of ours left it unfinished or holds another image. 1: this image is
// there already.
int unpack_image_prepare(const struct unpack_image *u, struct err *e)
{
	struct unpack_rootfs_state st;
	if (unpack_rootfs_check(u->rootfs, &st, e) < 0)
		return -1;
	bool same = st.done && strcmp(st.done, u->manifest_digest) == 0;
	bool other = st.done != NULL;
	unpack_rootfs_state_release(&st);
	if (same)
		return 1;
	if (file_mkdirs(u->rootfs, e) < 0)
		return -1;
	char **names;
	size_t n;
	if (file_list_dir(u->rootfs, &names, &n, e) < 0)
		return -1;
	int r = 0;
	if (n)
		log_info("unpack: '%s' holds %s; emptying it", u->rootfs, other ? "another image" : "an unfinished unpack");
	for (size_t i = 0; i < n && r == 0; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", u->rootfs, names[i]);
		r = file_remove_tree(p, e);
	}
	file_list_free(names, n);
	if (r == 0)
		r = marker_write(u, UNPACK_MARKER_BUSY, e);
	return r;
}

// The markers: complete first, then the busy one goes (a crash between them
// leaves both: complete wins).
int unpack_image_finish(const struct unpack_image *u, struct err *e)
{
	if (marker_write(u, UNPACK_MARKER_DONE, e) < 0)
		return -1;
	_cleanup_free_ char *busy = xasprintf("%s/%s", u->rootfs, UNPACK_MARKER_BUSY);
	unlink(busy);
	return 0;
}

// Room the filesystem of ROOTFS has: the most a layer may expand to.
static uint64_t room(const char *rootfs)
{
	struct statvfs sv;
	if (statvfs(rootfs, &sv) < 0)
		return 0;
	return (uint64_t)sv.f_bavail * sv.f_frsize;
}

// Whether a layer after layer i is the same blob.
static bool needed_later(const struct oci_manifest *m, size_t i)
{
	for (size_t j = i + 1; j < m->nlayers; j++)
		if (strcmp(m->layers[j].digest, m->layers[i].digest) == 0)
			return true;
	return false;
}

// An applied layer's blob leaves the temporary layout (a rerun that needs it
// again fetches it again).
static void drop_blob(const struct unpack_image *u, const char *digest)
{
	_cleanup_free_ char *p = oci_layout_blob_path(u->layout, digest);
	if (unlink(p) < 0 && errno != ENOENT)
		log_warn("unpack: cannot remove '%s' from the temporary layout: %s", p, strerror(errno));
}

bool unpack_image_drops(const struct unpack_image *u, size_t i)
{
	return u->drop_blobs && !needed_later(u->manifest, i);
}

void unpack_image_drop_blob(const struct unpack_image *u, const char *digest)
{
	drop_blob(u, digest);
}

// The descriptor's bytes as a source: streamed, or the layout's blob.
int unpack_image_source(const struct unpack_image *u, const struct oci_descriptor *d, struct unpack_source *src,
		       struct err *e)
{
	if (u->open_blob)
		return u->open_blob(u->blob_ud, d, src, e);
	*src = (struct unpack_source){.fd = oci_layout_open_blob(u->layout, d->digest, e), .size = d->size};
	return src->fd < 0 ? -1 : 0;
}

// The config, whole (it is small: its size is capped like a manifest's).
int unpack_image_config(const struct unpack_image *u, struct buf *b, struct err *e)
{
	const struct oci_descriptor *d = &u->manifest->config;
	if (d->size > OCI_MANIFEST_MAX)
		return err_set(e, ERR_INTEGRITY, "%s: its config is larger than %u bytes", u->name, OCI_MANIFEST_MAX);
	struct unpack_source src;
	if (unpack_image_source(u, d, &src, e) < 0)
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

int unpack_mkdirs_beneath(int root, const char *dir, const char *what, struct err *e)
{
	int fd = fcntl(root, F_DUPFD_CLOEXEC, 0);
	_cleanup_free_ char *copy = xstrdup(dir);
	for (char *save = NULL, *c = strtok_r(copy, "/", &save); c && fd >= 0; c = strtok_r(NULL, "/", &save)) {
		if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST) {
			close(fd);
			return err_sys(e, ERR_STORAGE, errno, "cannot create the directory of %s", what);
		}
		int next = file_open_beneath(fd, c, O_RDONLY | O_DIRECTORY);
		int en = errno;
		close(fd);
		if (next < 0)
			return en == ELOOP || en == EXDEV || en == ENOTDIR
				       ? err_set(e, ERR_INTEGRITY, "%s: its directory is not a plain one inside ROOTFS", what)
				       : err_sys(e, ERR_STORAGE, en, "cannot open the directory of %s", what);
		fd = next;
	}
	return fd;
}

// The blob's bytes copied into fd as they arrive.
static int copy_blob(const struct unpack_image *u, const struct oci_descriptor *d, int fd, const char *what,
		     struct err *e)
{
	struct unpack_source src;
	if (unpack_image_source(u, d, &src, e) < 0)
		return -1;
	unsigned char *buf = xmalloc(1u << 20);
	int r = 0;
	for (uint64_t pos = 0; r == 0 && pos < d->size;) {
		size_t want = d->size - pos < (1u << 20) ? (size_t)(d->size - pos) : (1u << 20);
		if (src.wait && src.wait(src.ud, pos + want, e) < pos + want) {
			r = -1;
			break;
		}
		ssize_t n = pread(src.fd, buf, want, (off_t)pos);
		if (n <= 0)
			r = err_sys(e, ERR_STORAGE, n < 0 ? errno : EIO, "%s: cannot read its blob", what);
		else if (file_pwrite_all(fd, buf, (size_t)n, (long long)pos) < 0)
			r = err_sys(e, ERR_STORAGE, errno, "%s: cannot write it", what);
		else
			pos += (uint64_t)n;
	}
	free(buf);
	if (src.fd >= 0)
		close(src.fd);
	if (src.done)
		src.done(src.ud);
	return r;
}

int unpack_blob_file(const struct unpack_image *u, int root, const struct oci_descriptor *d, const char *name,
		     const char *what, struct err *e)
{
	_cleanup_free_ char *dir = NULL;
	const char *base;
	unpack_split_name(name, &dir, &base);
	int dfd = unpack_mkdirs_beneath(root, dir, what, e);
	if (dfd < 0)
		return -1;
	int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	int en = errno;
	close(dfd);
	if (fd < 0)
		return err_sys(e, en == EEXIST ? ERR_INTEGRITY : ERR_STORAGE, en, "%s: cannot create it", what);
	int r = copy_blob(u, d, fd, what, e);
	close(fd);
	return r;
}

// An artifact: each layer becomes the file its title names (its digest is
// checked by the download; the marker says when all are in place).
int unpack_image_files(const struct unpack_image *u, struct unpack_stats *total, struct err *e)
{
	const struct oci_manifest *m = u->manifest;
	int root = open(u->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot open '%s'", u->rootfs);
	char **names = xcalloc(m->nlayers + 1, sizeof(char *));
	int r = 0;
	for (size_t i = 0; r == 0 && i < m->nlayers; i++) {
		const struct oci_descriptor *d = &m->layers[i];
		char what[256];
		snprintf(what, sizeof(what), "%s: artifact file '%.150s'", u->name, d->title ? d->title : "");
		names[i] = d->title ? unpack_clean_name(d->title) : NULL;
		if (!d->title) {
			r = err_set(e, ERR_INTEGRITY, "%s: artifact layer %zu (%s) has no title to name its file", u->name,
				    i + 1, d->digest);
			break;
		}
		if (!names[i] || !*names[i] || strncmp(names[i], ".imgpull-", 9) == 0) {
			r = err_set(e, ERR_INTEGRITY, "%s refused: an absolute name, '..', or a name of imgpull's", what);
			break;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(names[k], names[i]) == 0)
				r = err_set(e, ERR_INTEGRITY, "%s: two layers have this title", what);
		if (r == 0)
			r = unpack_blob_file(u, root, d, names[i], what, e);
		if (r == 0) {
			total->entries++;
			total->bytes_in += d->size;
			total->bytes_out += d->size;
		}
	}
	for (size_t i = 0; i < m->nlayers; i++)
		free(names[i]);
	free(names);
	close(root);
	return r;
}

int unpack_image_diff_ids(const struct unpack_image *u, char ***ids, size_t *nids, struct err *e)
{
	struct buf cb;
	buf_init(&cb, OCI_MANIFEST_MAX);
	if (unpack_image_config(u, &cb, e) < 0) {
		buf_release(&cb);
		return -1;
	}
	int r = oci_config_diff_ids(buf_str(&cb), cb.len, ids, nids, e);
	buf_release(&cb);
	if (r < 0)
		return err_wrap(e, "%s", u->name);
	if (*nids == u->manifest->nlayers)
		return 0;
	err_set(e, ERR_INTEGRITY, "%s: its config names %zu diff_ids for %zu layers", u->name, *nids,
		u->manifest->nlayers);
	for (size_t i = 0; i < *nids; i++)
		free((*ids)[i]);
	free(*ids);
	*ids = NULL;
	return -1;
}

int unpack_image_layers(const struct unpack_image *u, struct unpack_stats *total, struct err *e)
{
	const struct oci_manifest *m = u->manifest;
	char **ids;
	size_t nids;
	if (unpack_image_diff_ids(u, &ids, &nids, e) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; r == 0 && i < m->nlayers; i++) {
		const struct oci_descriptor *d = &m->layers[i];
		enum unpack_compression c;
		if (unpack_compression_of(d->media_type, &c) < 0) {
			r = err_set(e, ERR_USAGE, "%s: layer %zu (%s) is not a filesystem layer (media type '%.100s')",
				    u->name, i + 1, d->digest, d->media_type ? d->media_type : "");
			break;
		}
		struct unpack_source src;
		if (unpack_image_source(u, d, &src, e) < 0) {
			r = -1;
			break;
		}
		bool drop = u->drop_blobs && !needed_later(m, i);
		src.drop = drop;
		static const char *const markers[] = {UNPACK_MARKER_DONE, UNPACK_MARKER_BUSY, NULL};
		struct unpack_opts o = {.chown = u->chown, .max_bytes = room(u->rootfs), .reserved = markers};
		struct unpack_stats st;
		r = unpack_layer(u->rootfs, &src, c, ids[i], d->digest, &o, &st, e);
		if (src.fd >= 0)
			close(src.fd);
		if (src.done)
			src.done(src.ud);
		if (r == 0 && drop)
			drop_blob(u, d->digest);
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
	return r < 0 ? -1 : 0;
}
