// SPDX-License-Identifier: Apache-2.0
#include "unpack/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
// ISA-L's inflate where the build has it (test_unpack_zlib builds the zlib path).
#if defined(IMGPULL_HAVE_ISAL) && !defined(IMGPULL_UNPACK_ZLIB)
#define USE_ISAL 1
#include <isa-l/igzip_lib.h>
#endif

#include "oci/digest.h"
#include "unpack/entry.h"
#include "unpack/overlay.h"
#include "util/file.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/mem.h"

#define IN_BUF (256u << 10)
// A source that may drop what was read gives its blocks back in steps of this.
#define DROP_STEP (4u << 20)
#define OUT_BUF (256u << 10)
#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

int unpack_compression_of(const char *media_type, enum unpack_compression *out)
{
	static const struct {
		const char *mt;
		enum unpack_compression c;
	} types[] = {
		{"application/vnd.oci.image.layer.v1.tar", UNPACK_TAR},
		{"application/vnd.oci.image.layer.v1.tar+gzip", UNPACK_GZIP},
		{"application/vnd.oci.image.layer.v1.tar+zstd", UNPACK_ZSTD},
		{"application/vnd.oci.image.layer.nondistributable.v1.tar", UNPACK_TAR},
		{"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", UNPACK_GZIP},
		{"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", UNPACK_ZSTD},
		{"application/vnd.docker.image.rootfs.diff.tar", UNPACK_TAR},
		{"application/vnd.docker.image.rootfs.diff.tar.gzip", UNPACK_GZIP},
		{"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", UNPACK_GZIP},
		{"application/vnd.docker.image.rootfs.diff.tar.zstd", UNPACK_ZSTD},
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (media_type && strcmp(media_type, types[i].mt) == 0) {
			*out = types[i].c;
			return 0;
		}
	}
	return -1;
}

const char *unpack_gzip_engine(void)
{
#ifdef USE_ISAL
	return "isa-l";
#else
	return "zlib";
#endif
}

// ---- the uncompressed stream ----

struct inflow {
	const struct unpack_source *src;
	enum unpack_compression c;
	const char *what;
	uint64_t pos; // compressed bytes read from the file
	uint64_t dropped; // src->drop: bytes before this were punched out of the file
	bool drop_off;    // ... and the file refused it (read-only, no hole punching)
	unsigned char *in;
	size_t in_len, in_off;
	unsigned char *out;
	bool in_eof;  // every compressed byte was read
	bool end;     // the decoder finished its last frame or member
	z_stream z;
	bool z_live;
#ifdef USE_ISAL
	struct inflate_state isal;
#endif
	ZSTD_DCtx *zd;
	EVP_MD_CTX *md;
	bool hash_out;    // flow_produce hashes what it makes (else its reader does)
	uint64_t total, cap;
	bool failed;
	struct err err;
};

// unpack_layer's pipeline: a thread of its own inflates into a ring of
// blocks (flow_produce), the caller's thread hashes them and hands them to
// libarchive, which writes the entries; on a machine with cores to spare the
// inflate no longer waits for the disk writes, nor they for it.
#define PIPE_BLOCKS 8
struct pipe {
	struct inflow *f;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *buf[PIPE_BLOCKS];
	size_t len[PIPE_BLOCKS];
	uint64_t made, used; // blocks filled by the inflater, released by the reader
	bool held;           // the reader holds block used % PIPE_BLOCKS
	bool end, failed;    // the inflater is done: at the stream's end, or failed (f->err)
	bool stop;           // the reader gave up
};

static int flow_fail(struct inflow *f, enum err_class cls, const char *why)
{
	if (!f->failed) {
		f->failed = true;
		err_set(&f->err, cls, "layer %s: %s", f->what, why);
	}
	return -1;
}

// More compressed input, when what was read is used up; 0 at its end.
static int flow_refill(struct inflow *f)
{
	if (f->in_off < f->in_len || f->in_eof)
		return 0;
	if (interrupt_signal()) {
		f->failed = true;
		err_set(&f->err, ERR_INTERRUPTED, "layer %s: interrupted", f->what);
		return -1;
	}
	uint64_t left = f->src->size - f->pos;
	size_t want = left < IN_BUF ? (size_t)left : IN_BUF;
	if (want == 0) {
		f->in_eof = true;
		return 0;
	}
	if (f->src->wait) {
		uint64_t have = f->src->wait(f->src->ud, f->pos + want, &f->err);
		if (have < f->pos + want) {
			f->failed = true; // the download failed: its error is in f->err
			return -1;
		}
	}
	ssize_t n = pread(f->src->fd, f->in, want, (off_t)f->pos);
	if (n < 0 && errno == EINTR)
		return flow_refill(f);
	if (n <= 0) {
		int en = n < 0 ? errno : EIO;
		f->failed = true;
		err_sys(&f->err, ERR_STORAGE, en, "layer %s: cannot read its bytes", f->what);
		return -1;
	}
	f->pos += (uint64_t)n;
	f->in_len = (size_t)n;
	f->in_off = 0;
	if (f->src->drop && !f->drop_off && f->pos - f->dropped >= DROP_STEP) {
		uint64_t to = f->pos & ~(uint64_t)(DROP_STEP - 1);
		if (fallocate(f->src->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)f->dropped,
			      (off_t)(to - f->dropped)) == 0) {
			f->dropped = to;
		} else {
			f->drop_off = true;
			log_debug("layer %s: its read bytes stay on disk (%s)", f->what, strerror(errno));
		}
	}
	return 0;
}

// More after the end of a member or frame: the next one starts.
static void flow_restart(struct inflow *f)
{
	if (f->c == UNPACK_GZIP) {
#ifdef USE_ISAL
		isal_inflate_reset(&f->isal);
		f->isal.crc_flag = ISAL_GZIP;
#else
		inflateReset(&f->z);
#endif
	}
	f->end = false;
}

// One step of the zstd decoder over avail bytes at in: the bytes it made in out.
static ssize_t flow_unzstd(struct inflow *f, const unsigned char *in, size_t avail, unsigned char *out, size_t cap)
{
	ZSTD_inBuffer ib = {in, avail, 0};
	ZSTD_outBuffer ob = {out, cap, 0};
	size_t r = ZSTD_decompressStream(f->zd, &ob, &ib);
	if (ZSTD_isError(r))
		return flow_fail(f, ERR_INTEGRITY, ZSTD_getErrorName(r));
	f->in_off += ib.pos;
	f->end = r == 0;
	return (ssize_t)ob.pos;
}

// One step of the gzip decoder over avail bytes at in: the bytes it made in out.
static ssize_t flow_gunzip(struct inflow *f, const unsigned char *in, size_t avail, unsigned char *out, size_t cap)
{
#ifdef USE_ISAL
	f->isal.next_in = (uint8_t *)in;
	f->isal.avail_in = (uint32_t)avail;
	f->isal.next_out = out;
	f->isal.avail_out = (uint32_t)cap;
	int r = isal_inflate(&f->isal);
	if (r != ISAL_DECOMP_OK)
		return flow_fail(f, ERR_INTEGRITY, "its gzip stream is corrupt");
	f->in_off += avail - f->isal.avail_in;
	f->end = f->isal.block_state == ISAL_BLOCK_FINISH;
	return (ssize_t)(cap - f->isal.avail_out);
#else
	f->z.next_in = (Bytef *)in;
	f->z.avail_in = (uInt)avail;
	f->z.next_out = out;
	f->z.avail_out = (uInt)cap;
	int r = inflate(&f->z, Z_NO_FLUSH);
	if (r != Z_OK && r != Z_STREAM_END && !(r == Z_BUF_ERROR && f->z.avail_in == 0))
		return flow_fail(f, ERR_INTEGRITY, "its gzip stream is corrupt");
	f->in_off += avail - f->z.avail_in;
	f->end = r == Z_STREAM_END;
	return (ssize_t)(cap - f->z.avail_out);
#endif
}

// Up to cap bytes of the uncompressed stream into out; 0 at its end.
static ssize_t flow_produce(struct inflow *f, unsigned char *out, size_t cap)
{
	size_t made = 0;
	while (made == 0 && !f->failed) {
		if (flow_refill(f) < 0)
			return -1;
		size_t avail = f->in_len - f->in_off;
		const unsigned char *in = f->in + f->in_off;
		if (avail == 0 && f->in_eof) {
			if (f->c != UNPACK_TAR && !f->end)
				return flow_fail(f, ERR_INTEGRITY, "its compressed stream ends early");
			return 0;
		}
		if (f->c == UNPACK_TAR) {
			made = avail < cap ? avail : cap;
			memcpy(out, in, made);
			f->in_off += made;
			break;
		}
		if (f->end)
			flow_restart(f);
		ssize_t n = f->c == UNPACK_ZSTD ? flow_unzstd(f, in, avail, out, cap) : flow_gunzip(f, in, avail, out, cap);
		if (n < 0)
			return -1;
		made = (size_t)n;
	}
	if (f->failed)
		return -1;
	f->total += made;
	if (f->cap && f->total > f->cap)
		return flow_fail(f, ERR_STORAGE, "it expands beyond the room there is for it");
	if (f->hash_out)
		EVP_DigestUpdate(f->md, out, made);
	return (ssize_t)made;
}

static void *pipe_main(void *arg)
{
	struct pipe *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->made - p->used == PIPE_BLOCKS && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		bool stop = p->stop;
		unsigned char *b = p->buf[p->made % PIPE_BLOCKS];
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return NULL;
		ssize_t n = flow_produce(p->f, b, OUT_BUF);
		pthread_mutex_lock(&p->mu);
		if (n > 0) {
			p->len[p->made % PIPE_BLOCKS] = (size_t)n;
			p->made++;
		} else {
			p->end = n == 0;
			p->failed = n < 0;
		}
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (n <= 0)
			return NULL;
	}
}

static int pipe_start(struct pipe *p, struct inflow *f)
{
	memset(p, 0, sizeof(*p));
	p->f = f;
	for (int i = 0; i < PIPE_BLOCKS; i++)
		p->buf[i] = xmalloc(OUT_BUF);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	int rc = pthread_create(&p->th, NULL, pipe_main, p);
	if (rc != 0) {
		p->th = 0;
		return err_sys(&f->err, ERR_INTERNAL, rc, "cannot start the inflating thread");
	}
	return 0;
}

// The next block of the uncompressed stream (hashed), valid until the next
// call; 0 at its end, -1 when the inflater failed (f->err says why).
static ssize_t pipe_next(struct pipe *p, const void **out)
{
	pthread_mutex_lock(&p->mu);
	if (p->held) {
		p->used++;
		p->held = false;
		pthread_cond_broadcast(&p->cv);
	}
	while (p->made == p->used && !p->end && !p->failed)
		pthread_cond_wait(&p->cv, &p->mu);
	ssize_t n;
	if (p->made > p->used) {
		*out = p->buf[p->used % PIPE_BLOCKS];
		n = (ssize_t)p->len[p->used % PIPE_BLOCKS];
		p->held = true;
	} else {
		n = p->failed ? -1 : 0;
	}
	pthread_mutex_unlock(&p->mu);
	if (n > 0)
		EVP_DigestUpdate(p->f->md, *out, (size_t)n);
	return n;
}

static bool pipe_failed(struct pipe *p)
{
	pthread_mutex_lock(&p->mu);
	bool failed = p->failed;
	pthread_mutex_unlock(&p->mu);
	return failed;
}

// Stops the inflater (a wait for more of the layer's bytes included: the
// source's cancel) and frees the ring.
static void pipe_stop(struct pipe *p, const struct err *why)
{
	if (p->th) {
		pthread_mutex_lock(&p->mu);
		bool running = !p->end && !p->failed;
		p->stop = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (running && why && p->f->src->cancel)
			p->f->src->cancel(p->f->src->ud, why);
		pthread_join(p->th, NULL);
		p->th = 0;
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	for (int i = 0; i < PIPE_BLOCKS; i++)
		free(p->buf[i]);
}

static la_ssize_t flow_read(struct archive *a, void *ud, const void **buf)
{
	struct pipe *p = ud;
	ssize_t n = pipe_next(p, buf);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", p->f->err.msg);
		return -1;
	}
	return n;
}

static int flow_init(struct inflow *f, const struct unpack_source *src, enum unpack_compression c, const char *what,
		     uint64_t cap)
{
	memset(f, 0, sizeof(*f));
	f->src = src;
	f->c = c;
	f->what = what;
	f->cap = cap;
	f->hash_out = true;
	f->in = xmalloc(IN_BUF);
	f->out = xmalloc(OUT_BUF);
	f->md = EVP_MD_CTX_new();
	if (!f->md || !EVP_DigestInit_ex(f->md, EVP_sha256(), NULL))
		abort();
	if (c == UNPACK_ZSTD) {
		f->zd = ZSTD_createDCtx();
		if (!f->zd)
			abort();
	} else if (c == UNPACK_GZIP) {
#ifdef USE_ISAL
		isal_inflate_init(&f->isal);
		f->isal.crc_flag = ISAL_GZIP;
#else
		if (inflateInit2(&f->z, 16 + MAX_WBITS) != Z_OK)
			abort();
		f->z_live = true;
#endif
	}
	return 0;
}

static void flow_release(struct inflow *f)
{
	free(f->in);
	free(f->out);
	EVP_MD_CTX_free(f->md);
	ZSTD_freeDCtx(f->zd);
	if (f->z_live)
		inflateEnd(&f->z);
}

// ---- entries ----

struct apply {
	const char *rootfs;
	int root;
	const char *what;
	char **seen; // names this layer wrote, for opaque directories
	size_t nseen;
	const char *const *reserved; // the caller's own names at the top (unpack_opts)
	struct unpack_stats *st;
	struct overlay *ovl; // UNPACK_OVERLAY_UPPER: rootfs is an overlay upper (unpack/overlay.c)
	bool link_meta;  // unpack_opts.link_meta
};

static int entry_refused(struct apply *ap, const char *name, const char *why, struct err *e)
{
	return unpack_entry_refused(ap->what, name, why, e);
}

// Opens the directory rel (relative, clean) without leaving ROOTFS or going
// through a symbolic link. -1 with errno ENOENT when it is not there.
static int open_dir(struct apply *ap, const char *rel, const char *entry, struct err *e)
{
	int fd = file_open_beneath(ap->root, rel, O_RDONLY | O_DIRECTORY);
	if (fd >= 0 || errno == ENOENT || errno == ENOTDIR)
		return fd;
	if (errno == ELOOP || errno == EXDEV)
		return entry_refused(ap, entry, "its path goes through a symbolic link", e) - 1;
	return err_sys(e, ERR_STORAGE, errno, "cannot open '%s/%s'", ap->rootfs, rel) - 1;
}

// Removes name (a file, a link, or a whole tree, never following a link)
// from the directory dfd.
static int remove_at(int dfd, const char *name, struct err *e)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_sys(e, ERR_STORAGE, errno, "cannot look at '%s'", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			return err_sys(e, ERR_STORAGE, errno, "cannot remove '%s'", name);
		return 0;
	}
	char p[64 + 4096];
	snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", dfd, name);
	return file_remove_tree(p, e);
}

static bool seen_has(const struct apply *ap, const char *path)
{
	for (size_t i = 0; i < ap->nseen; i++)
		if (strcmp(ap->seen[i], path) == 0)
			return true;
	return false;
}

// ".wh.NAME" in dir: NAME of the lower layers goes.
static int whiteout(struct apply *ap, const char *dir, const char *name, const char *entry, struct err *e)
{
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
		return entry_refused(ap, entry, "a whiteout of no name", e);
	int dfd = open_dir(ap, dir, entry, e);
	if (dfd < -1)
		return -1;
	if (dfd < 0)
		return 0; // nothing there to hide
	int r = remove_at(dfd, name, e);
	close(dfd);
	ap->st->whiteouts++;
	return r;
}

// ".wh..wh..opq" in dir: what the lower layers put in dir goes; what this
// layer wrote there stays.
static int opaque(struct apply *ap, const char *dir, const char *entry, struct err *e)
{
	int dfd = open_dir(ap, dir, entry, e);
	if (dfd < -1)
		return -1;
	if (dfd < 0)
		return 0;
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", dfd);
	char **names;
	size_t n;
	int r = file_list_dir(p, &names, &n, e);
	for (size_t i = 0; i < n && r == 0; i++) {
		_cleanup_free_ char *path = *dir ? xasprintf("%s/%s", dir, names[i]) : xstrdup(names[i]);
		if (!seen_has(ap, path) && !unpack_reserved(ap->reserved, path))
			r = remove_at(dfd, names[i], e);
	}
	file_list_free(names, n);
	close(dfd);
	ap->st->whiteouts++;
	return r;
}

// A directory where a non-directory entry goes: its whole tree goes first.
static int clear_way(struct apply *ap, const char *path, struct err *e)
{
	_cleanup_free_ char *dir = NULL;
	const char *base;
	unpack_split_name(path, &dir, &base);
	int dfd = open_dir(ap, dir, path, e);
	if (dfd < -1)
		return -1;
	if (dfd < 0)
		return 0;
	struct stat st;
	int r = 0;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		r = remove_at(dfd, base, e);
	close(dfd);
	return r;
}

static enum err_class write_class(int en)
{
	return en == ENOSPC || en == EDQUOT || en == EIO || en == EROFS ? ERR_STORAGE : ERR_INTEGRITY;
}

// The directory of path is reachable beneath ROOTFS without a symbolic link,
// or is not there yet; entry names the tar entry in a refusal.
static int parent_ok(struct apply *ap, const char *path, const char *entry, struct err *e)
{
	_cleanup_free_ char *dir = NULL;
	const char *base;
	unpack_split_name(path, &dir, &base);
	int dfd = open_dir(ap, dir, entry, e);
	if (dfd < -1)
		return -1;
	if (dfd >= 0)
		close(dfd);
	return 0;
}

// A hard link entry's owner, xattrs, mode and mtime given to the file it
// links, in containerd's order (archive/tar.go createTarFile: Lchown, the
// xattrs, chmod, Chtimes; chown first, as it clears setuid). trusted.* xattrs
// are not set, as containerd's applier does not; a link to a symbolic link
// gets nothing (Go's lchmod and the rest skip it too).
static int link_meta(struct apply *ap, struct archive_entry *ent, const char *path, bool chown, struct err *e)
{
	int fd = file_open_beneath(ap->root, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? 0 : err_sys(e, ERR_STORAGE, errno, "layer %s: cannot open '%s'", ap->what, path);
	int r = 0;
	if (chown && fchown(fd, (uid_t)archive_entry_uid(ent), (gid_t)archive_entry_gid(ent)) < 0)
		r = -1;
	const char *name;
	const void *value;
	size_t size;
	archive_entry_xattr_reset(ent);
	while (r == 0 && archive_entry_xattr_next(ent, &name, &value, &size) == ARCHIVE_OK)
		if (strncmp(name, "trusted.", 8) != 0 && fsetxattr(fd, name, value, size, 0) < 0 && errno != ENOTSUP)
			r = -1;
	if (r == 0 && fchmod(fd, archive_entry_perm(ent)) < 0)
		r = -1;
	struct timespec ts[2] = {{.tv_sec = archive_entry_mtime(ent), .tv_nsec = archive_entry_mtime_nsec(ent)},
				 {.tv_sec = archive_entry_mtime(ent), .tv_nsec = archive_entry_mtime_nsec(ent)}};
	if (archive_entry_atime_is_set(ent))
		ts[0] = (struct timespec){.tv_sec = archive_entry_atime(ent), .tv_nsec = archive_entry_atime_nsec(ent)};
	if (r == 0 && futimens(fd, ts) < 0)
		r = -1;
	if (r < 0)
		r = err_sys(e, write_class(errno), errno, "layer %s: cannot set the attributes of hard link '%s'", ap->what,
			    path);
	close(fd);
	return r;
}

static int apply_entry(struct apply *ap, struct archive *r, struct archive *w, struct archive_entry *ent,
		       const char *path, bool chown, struct err *e)
{
	mode_t type = archive_entry_filetype(ent);
	if (type != AE_IFDIR && clear_way(ap, path, e) < 0)
		return -1;
	// The parent must be reachable without a symbolic link (libarchive's
	// check says so too; this one names the entry). An overlay upper's
	// parents are made here, from the lowers.
	bool hides = false;
	if (ap->ovl ? overlay_entry_begin(ap->ovl, ent, path, &hides, e) < 0 : parent_ok(ap, path, path, e) < 0)
		return -1;
	const char *hl = archive_entry_hardlink(ent);
	if (hl) {
		_cleanup_free_ char *target = unpack_clean_name(hl);
		if (!target || !*target)
			return entry_refused(ap, path, "a hard link to outside the root filesystem", e);
		if (ap->ovl ? overlay_link_target(ap->ovl, target, path, e) < 0 : parent_ok(ap, target, path, e) < 0)
			return -1;
		_cleanup_free_ char *full = xasprintf("%s/%s", ap->rootfs, target);
		archive_entry_set_hardlink(ent, full);
	}
	_cleanup_free_ char *full = xasprintf("%s/%s", ap->rootfs, path);
	archive_entry_set_pathname(ent, full);
	int rc = archive_write_header(w, ent);
	if (rc < ARCHIVE_WARN) {
		int en = archive_errno(w);
		if ((type == AE_IFCHR || type == AE_IFBLK) && !chown && (en == EPERM || en == EACCES)) {
			log_debug("layer %s: device '%s' skipped (not permitted)", ap->what, path);
			return 0;
		}
		char why[256];
		snprintf(why, sizeof(why), "%s", archive_error_string(w) ? archive_error_string(w) : "cannot write it");
		if (write_class(en) == ERR_STORAGE)
			return err_set(e, ERR_STORAGE, "layer %s: cannot write '%s': %s", ap->what, path, why);
		return entry_refused(ap, path, why, e);
	}
	if (rc == ARCHIVE_WARN)
		log_debug("layer %s: '%s': %s", ap->what, path, archive_error_string(w));
	if (archive_entry_size(ent) > 0 && !hl) {
		const void *buf;
		size_t size;
		la_int64_t off;
		while ((rc = archive_read_data_block(r, &buf, &size, &off)) == ARCHIVE_OK) {
			if (archive_write_data_block(w, buf, size, off) < ARCHIVE_OK)
				return err_set(e, write_class(archive_errno(w)), "layer %s: cannot write '%s': %s", ap->what,
					       path, archive_error_string(w));
		}
		if (rc != ARCHIVE_EOF)
			return -2; // the read side failed: the caller says why
	}
	if (archive_write_finish_entry(w) < ARCHIVE_WARN)
		return err_set(e, write_class(archive_errno(w)), "layer %s: cannot finish '%s': %s", ap->what, path,
			       archive_error_string(w));
	if (hl && ap->link_meta && link_meta(ap, ent, path, chown, e) < 0)
		return -1;
	return hides ? overlay_entry_dir_done(ap->ovl, path, e) : 0;
}

// unpack_layer's state, shared by its steps.
struct layer {
	struct apply ap;
	struct inflow f;
	struct pipe p;
	struct archive *r, *w;
	const struct unpack_opts *o;
	const char *what;
};

// The tar reader, and the disk writer with the options the layer's unpacking asks for.
static void layer_archives(struct layer *l)
{
	l->r = archive_read_new();
	l->w = archive_write_disk_new();
	if (!l->r || !l->w)
		abort();
	archive_read_support_format_tar(l->r);
	archive_read_support_format_empty(l->r);
	int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SPARSE |
		    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT;
	if (l->o->chown)
		flags |= ARCHIVE_EXTRACT_OWNER;
	if (l->ap.ovl)
		flags |= ARCHIVE_EXTRACT_NO_AUTODIR; // overlay_entry_begin made the parents
	archive_write_disk_set_options(l->w, flags);
}

// Opens root (ROOTFS resolved), an overlay upper's lowers, the inflating
// pipe and the archive objects; on failure, closes what it opened.
static int layer_open(struct layer *l, const char *root, const struct unpack_source *src, enum unpack_compression c,
		      const char *what, const struct unpack_opts *o, struct unpack_stats *st, struct err *e)
{
	*l = (struct layer){.o = o, .what = what};
	l->ap = (struct apply){.rootfs = root, .what = what, .reserved = o->reserved, .st = st, .link_meta = o->link_meta};
	l->ap.root = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->ap.root < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot open '%s'", root);
	if (o->mode == UNPACK_OVERLAY_UPPER &&
	    overlay_open(root, l->ap.root, o->lowers, what, o->chown, st, &l->ap.ovl, e) < 0) {
		close(l->ap.root);
		return -1;
	}
	flow_init(&l->f, src, c, what, o->max_bytes);
	l->f.hash_out = false; // the reader's thread hashes (pipe_next)
	if (pipe_start(&l->p, &l->f) < 0) {
		*e = l->f.err;
		pipe_stop(&l->p, NULL);
		flow_release(&l->f);
		overlay_close(l->ap.ovl);
		close(l->ap.root);
		return -1;
	}
	layer_archives(l);
	return 0;
}

// ".wh.NAME" in dir: NAME of the lower layers goes, unless it is imgpull's own.
static int layer_whiteout(struct layer *l, struct archive_entry *ent, const char *dir, const char *name,
			  const char *path, struct err *e)
{
	if (!*dir && unpack_reserved(l->o->reserved, name)) {
		log_info("layer %s: '%s' skipped: the name it removes is imgpull's own", l->what, path);
		return 0;
	}
	if (l->ap.ovl ? overlay_whiteout(l->ap.ovl, dir, name, path, (uid_t)archive_entry_uid(ent),
					 (gid_t)archive_entry_gid(ent), e) < 0
		      : whiteout(&l->ap, dir, name, path, e) < 0)
		return -1;
	return 0;
}

// One entry: the root itself and imgpull's own names skipped, an opaque
// whiteout, a whiteout, or one to write (and keep in seen). 1 when the read
// side failed (apply_entry's -2: the caller says why).
static int layer_entry(struct layer *l, struct archive_entry *ent, struct err *e)
{
	struct apply *ap = &l->ap;
	const char *name = archive_entry_pathname(ent);
	_cleanup_free_ char *path = unpack_clean_name(name);
	if (!path)
		return entry_refused(ap, name ? name : "(no name)", "an absolute name or one with '..'", e);
	if (!*path)
		return 0; // the root itself: its owner and mode are ROOTFS's
	if (unpack_reserved(l->o->reserved, path)) {
		log_info("layer %s: '%s' skipped: the name is imgpull's own", l->what, path);
		return 0;
	}
	_cleanup_free_ char *dir = NULL;
	const char *base;
	unpack_split_name(path, &dir, &base);
	if (strcmp(base, WH_OPAQUE) == 0) {
		if (ap->ovl ? overlay_opaque(ap->ovl, dir, path, l->o->reserved, (uid_t)archive_entry_uid(ent),
					     (gid_t)archive_entry_gid(ent), e) < 0
			    : opaque(ap, dir, path, e) < 0)
			return -1;
		return 0;
	}
	if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
		return layer_whiteout(l, ent, dir, base + strlen(WH_PREFIX), path, e);
	int ar = apply_entry(ap, l->r, l->w, ent, path, l->o->chown, e);
	if (ar == -2)
		return 1;
	if (ar < 0)
		return -1;
	if (!ap->ovl) { // the rootfs mode's opaque directories keep these
		ap->seen = xrealloc(ap->seen, (ap->nseen + 1) * sizeof(*ap->seen));
		ap->seen[ap->nseen++] = xstrdup(path);
	}
	return 0;
}

// Every entry of the tar stream, written beneath the root.
static int layer_entries(struct layer *l, struct err *e)
{
	if (archive_read_open(l->r, &l->p, NULL, flow_read, NULL) != ARCHIVE_OK)
		return pipe_failed(&l->p) ? (*e = l->f.err, -1)
					  : err_set(e, ERR_INTEGRITY, "layer %s: not a tar stream: %s", l->what,
						    archive_error_string(l->r));
	struct archive_entry *ent;
	int rc;
	while ((rc = archive_read_next_header(l->r, &ent)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
		l->ap.st->entries++;
		int er = layer_entry(l, ent, e);
		if (er < 0)
			return er;
		if (er > 0)
			break; // rc below reports it
	}
	if (rc != ARCHIVE_EOF)
		return pipe_failed(&l->p) ? (*e = l->f.err, -1)
					  : err_set(e, ERR_INTEGRITY, "layer %s: bad tar stream: %s", l->what,
						    archive_error_string(l->r));
	return 0;
}

// The end: the rest of the stream hashed, the writes closed, the diff_id
// checked, the stats.
static int layer_finish(struct layer *l, const char *diff_id, struct err *e)
{
	// The rest of the stream (the tar's end blocks and padding) counts for the diff_id.
	ssize_t n;
	const void *blk;
	while ((n = pipe_next(&l->p, &blk)) > 0)
		;
	if (n < 0) {
		*e = l->f.err;
		return -1;
	}
	if (archive_write_close(l->w) < ARCHIVE_WARN)
		return err_set(e, write_class(archive_errno(l->w)), "layer %s: %s", l->what, archive_error_string(l->w));
	if (l->ap.ovl && overlay_finish(l->ap.ovl, e) < 0)
		return -1;
	unsigned char md[EVP_MAX_MD_SIZE];
	EVP_DigestFinal_ex(l->f.md, md, NULL);
	char got[OCI_DIGEST_LEN + 1];
	oci_digest_format(got, md);
	if (diff_id && strcmp(got, diff_id) != 0)
		return err_set(e, ERR_INTEGRITY, "layer %s: its uncompressed content has digest %s, the config says %s",
			       l->what, got, diff_id);
	l->ap.st->bytes_in = l->f.pos;
	l->ap.st->bytes_out = l->f.total;
	return 0;
}

// Frees what layer_open opened; why (the error, when it failed) is the
// source's cancel reason if the inflater still runs.
static void layer_close(struct layer *l, const struct err *why)
{
	archive_read_free(l->r);
	archive_write_free(l->w);
	pipe_stop(&l->p, why);
	flow_release(&l->f);
	for (size_t i = 0; i < l->ap.nseen; i++)
		free(l->ap.seen[i]);
	free(l->ap.seen);
	overlay_close(l->ap.ovl);
	close(l->ap.root);
}

int unpack_layer(const char *rootfs, const struct unpack_source *src, enum unpack_compression c,
		 const char *diff_id, const char *what, const struct unpack_opts *o, struct unpack_stats *st,
		 struct err *e)
{
	memset(st, 0, sizeof(*st));
	_cleanup_free_ char *root = realpath(rootfs, NULL);
	if (!root)
		return err_sys(e, ERR_STORAGE, errno, "cannot resolve '%s'", rootfs);
	struct layer l;
	int ret = layer_open(&l, root, src, c, what, o, st, e);
	if (ret < 0)
		return ret;
	ret = layer_entries(&l, e);
	if (ret == 0)
		ret = layer_finish(&l, diff_id, e);
	layer_close(&l, ret < 0 ? e : NULL);
	return ret;
}

int unpack_layer_diff_id(const struct unpack_source *src, enum unpack_compression c, const char *what,
			 char out[OCI_DIGEST_LEN + 1], uint64_t *bytes_out, struct err *e)
{
	struct inflow f;
	flow_init(&f, src, c, what, 0);
	f.hash_out = out != NULL;
	ssize_t n;
	while ((n = flow_produce(&f, f.out, OUT_BUF)) > 0)
		;
	int ret = 0;
	if (n < 0) {
		*e = f.err;
		ret = -1;
	} else {
		if (out) {
			unsigned char md[EVP_MAX_MD_SIZE];
			EVP_DigestFinal_ex(f.md, md, NULL);
			oci_digest_format(out, md);
		}
		*bytes_out = f.total;
	}
	flow_release(&f);
	return ret;
}
