// SPDX-License-Identifier: Apache-2.0
#include "oci/layout.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/digest.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/mem.h"

#define INDEX_MAX (64u << 20)
#define LAYOUT_FILE "{\"imageLayoutVersion\":\"1.0.0\"}"
#define EMPTY_INDEX "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":[]}"
#define ANNOT_REF "org.opencontainers.image.ref.name"
#define ANNOT_CONTAINERD "io.containerd.image.name"
#define JOURNAL_MAX (16u << 20)
#define BLOB_LOCK_TRIES 16
#define JOURNAL_COMPACT 4096 // lines of this boot before a syncfs clears them

static void read_boot_id(char *out, size_t n)
{
	struct buf b;
	struct err e;
	buf_init(&b, 256);
	snprintf(out, n, "unknown");
	if (file_read_all("/proc/sys/kernel/random/boot_id", &b, &e) == 0) {
		size_t len = strcspn(buf_str(&b), " \n");
		if (len && len < n)
			snprintf(out, n, "%.*s", (int)len, buf_str(&b));
	}
	buf_release(&b);
}

static int prune_locked(const struct oci_layout *l, oci_layout_dropped_fn cb, void *ud, struct err *e);

static char *journal_path(const struct oci_layout *l)
{
	return xasprintf("%s/unsynced", l->ingest_dir);
}

// ---- entries of the layout, reached from its directory without following a link ----

// The directory holding rel's last name ("blobs/sha256/<hex>": blobs/sha256),
// opened from the layout's directory one name at a time, never through a
// symbolic link; *base: rel's last name. -1 with errno (ELOOP, ENOTDIR: a link
// or a file where a directory should be).
static int parent_open(const struct oci_layout *l, const char *rel, const char **base)
{
	// blobs/<alg>/ as found when the layout was opened: no lookup per blob.
	for (size_t a = 0; a < 2; a++) {
		size_t n = strlen(oci_layout_algs[a]);
		if (l->alg_fd[a] >= 0 && strncmp(rel, "blobs/", 6) == 0 && strncmp(rel + 6, oci_layout_algs[a], n) == 0 &&
		    rel[6 + n] == '/' && !strchr(rel + 7 + n, '/')) {
			*base = rel + 7 + n;
			return fcntl(l->alg_fd[a], F_DUPFD_CLOEXEC, 0);
		}
	}
	int cur = openat(l->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *p = rel;
	for (const char *slash; cur >= 0 && (slash = strchr(p, '/')); p = slash + 1) {
		_cleanup_free_ char *name = xstrndup(p, (size_t)(slash - p));
		int next = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int saved = errno;
		close(cur);
		errno = saved;
		cur = next;
	}
	*base = p;
	return cur;
}

// DIR/rel opened with flags (creating it 0644 with O_CREAT), never through a
// link and never waiting on a FIFO (O_NONBLOCK). -1 with errno.
static int layout_openat(const struct oci_layout *l, const char *rel, int flags)
{
	const char *base;
	_cleanup_close_ int pfd = parent_open(l, rel, &base);
	return pfd < 0 ? -1 : openat(pfd, base, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
}

// errno en from reaching rel: absent (ERR_NOTFOUND), a link or a file on the
// way (ERR_INTEGRITY: the layout is damaged), else ERR_STORAGE.
static int reach_failed(const struct oci_layout *l, const char *rel, int en, struct err *e)
{
	if (en == ENOENT)
		return err_sys(e, ERR_NOTFOUND, en, "cannot open '%s/%s'", l->dir, rel);
	if (en == ELOOP || en == ENOTDIR)
		return err_set(e, ERR_INTEGRITY,
			       "'%s/%s' is reached through a symbolic link or a file where a directory should be: "
			       "the layout is damaged", l->dir, rel);
	return err_sys(e, ERR_STORAGE, en, "cannot open '%s/%s'", l->dir, rel);
}

int oci_layout_open_dir(const struct oci_layout *l, const char *rel, struct err *e)
{
	const char *base;
	_cleanup_close_ int pfd = parent_open(l, rel, &base);
	if (pfd < 0)
		return reach_failed(l, rel, errno, e);
	int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	int saved = errno;
	struct stat st;
	if ((saved == ELOOP || saved == ENOTDIR) && fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return err_set(e, ERR_INTEGRITY, "'%s/%s' is %s, not a directory: the layout is damaged", l->dir, rel,
			       file_kind(st.st_mode));
	return reach_failed(l, rel, saved, e);
}

int oci_layout_entry_stat(const struct oci_layout *l, const char *rel, struct stat *st)
{
	const char *base;
	int pfd = parent_open(l, rel, &base);
	if (pfd < 0)
		return -1;
	int r = fstatat(pfd, base, st, AT_SYMLINK_NOFOLLOW);
	int saved = errno;
	close(pfd);
	errno = saved;
	return r;
}

int oci_layout_open_file(const struct oci_layout *l, const char *rel, struct stat *st, struct err *e)
{
	struct stat seen;
	st = st ? st : &seen;
	const char *base;
	_cleanup_close_ int pfd = parent_open(l, rel, &base);
	if (pfd < 0 || fstatat(pfd, base, st, AT_SYMLINK_NOFOLLOW) < 0)
		return reach_failed(l, rel, errno, e);
	// Nothing but a regular file is opened: a FIFO would block the read, a
	// device feed it forever, a link lead out of the layout.
	if (!S_ISREG(st->st_mode))
		return err_set(e, ERR_INTEGRITY, "'%s/%s' is %s, not a regular file: the layout is damaged", l->dir, rel,
			       file_kind(st->st_mode));
	// O_NONBLOCK: should something else replace it meanwhile, the open does not
	// wait for a FIFO's writer; fstat then tells it apart.
	int fd = openat(pfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return reach_failed(l, rel, errno, e);
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || fcntl(fd, F_SETFL, O_RDONLY) < 0) {
		int saved = errno;
		close(fd);
		return S_ISREG(st->st_mode) ? err_sys(e, ERR_STORAGE, saved, "cannot open '%s/%s'", l->dir, rel)
					     : err_set(e, ERR_INTEGRITY, "'%s/%s' is not a regular file: the layout is damaged",
						       l->dir, rel);
	}
	return fd;
}

int oci_layout_read_file(const struct oci_layout *l, const char *rel, struct buf *b, struct err *e)
{
	_cleanup_close_ int fd = oci_layout_open_file(l, rel, NULL, e);
	if (fd < 0)
		return -1;
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot read '%s/%s'", l->dir, rel);
		if (n == 0)
			return 0;
		if (buf_add(b, tmp, (size_t)n) < 0)
			return err_set(e, ERR_STORAGE, "'%s/%s' is larger than %zu bytes", l->dir, rel, b->max);
	}
}

int oci_layout_list_dir(const struct oci_layout *l, const char *rel, int *fd, char ***names, size_t *n,
			struct err *e)
{
	*names = NULL;
	*n = 0;
	*fd = oci_layout_open_dir(l, rel, e);
	if (*fd < 0)
		return -1;
	int dup_fd = fcntl(*fd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	if (!d) {
		int saved = errno;
		if (dup_fd >= 0)
			close(dup_fd);
		close(steal_fd(fd));
		return err_sys(e, ERR_STORAGE, saved, "cannot read '%s/%s'", l->dir, rel);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		*names = xrealloc(*names, (*n + 1) * sizeof(char *));
		(*names)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	return 0;
}

char *oci_layout_blob_rel(const char *digest)
{
	return xasprintf("blobs/%s/%s", oci_digest_alg(digest), oci_digest_hex(digest));
}

int oci_layout_blob_stat(const struct oci_layout *l, const char *digest, struct stat *st)
{
	_cleanup_free_ char *rel = oci_layout_blob_rel(digest);
	return oci_layout_entry_stat(l, rel, st);
}

int oci_layout_read_blob(const struct oci_layout *l, const char *digest, struct buf *b, struct err *e)
{
	_cleanup_free_ char *rel = oci_layout_blob_rel(digest);
	return oci_layout_read_file(l, rel, b, e);
}

int oci_layout_remove_entry(const struct oci_layout *l, const char *rel, const struct stat *seen, struct err *e)
{
	const char *base;
	_cleanup_close_ int pfd = parent_open(l, rel, &base);
	struct stat now;
	if (pfd < 0 || fstatat(pfd, base, &now, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : reach_failed(l, rel, errno, e);
	if (now.st_ino != seen->st_ino || now.st_dev != seen->st_dev || S_ISDIR(now.st_mode))
		return 0;
	// The entry itself goes: a link, never what it points at.
	if (unlinkat(pfd, base, 0) < 0)
		return errno == ENOENT ? 0 : err_sys(e, ERR_STORAGE, errno, "cannot remove '%s/%s'", l->dir, rel);
	return 1;
}

char *oci_layout_blob_lock_path(const struct oci_layout *l, const char *digest)
{
	return xasprintf("%s/%s.lock", l->ingest_dir, oci_digest_hex(digest));
}

// Unlinks the lock file while still holding it, then lets go. Whoever opened the
// old file meanwhile finds, once it gets the lock, that the path no longer leads
// to it, and starts again on the path.
void oci_layout_blob_unlock(const char *path, int *fd)
{
	if (*fd < 0)
		return;
	unlink(path);
	close(*fd);
	*fd = -1;
}

int oci_layout_blob_lock(const char *path, int *held_fd, struct err *e)
{
	for (int i = 0; i < BLOB_LOCK_TRIES; i++) {
		_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
		if (fd < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot open lock '%s'", path);
		while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno == EWOULDBLOCK)
				return 0;
			if (errno != EINTR)
				return err_sys(e, ERR_STORAGE, errno, "cannot lock '%s'", path);
		}
		struct stat held, named;
		if (fstat(fd, &held) < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot stat '%s'", path);
		if (stat(path, &named) < 0 || named.st_ino != held.st_ino || named.st_dev != held.st_dev)
			continue; // a finished holder removed it: lock the path anew
		*held_fd = steal_fd(&fd);
		return 1;
	}
	return err_set(e, ERR_STORAGE, "cannot lock '%s': it keeps being replaced", path);
}

int oci_layout_remove_blob(const struct oci_layout *l, const char *digest, const struct stat *seen,
			   struct err *e)
{
	_cleanup_free_ char *lock = oci_layout_blob_lock_path(l, digest);
	int fd = -1;
	int r = oci_layout_blob_lock(lock, &fd, e);
	if (r > 0) {
		_cleanup_free_ char *rel = oci_layout_blob_rel(digest);
		r = oci_layout_remove_entry(l, rel, seen, e);
	}
	oci_layout_blob_unlock(lock, &fd);
	return r;
}

int oci_layout_open_blob(const struct oci_layout *l, const char *digest, struct err *e)
{
	_cleanup_free_ char *rel = oci_layout_blob_rel(digest);
	return oci_layout_open_file(l, rel, NULL, e);
}

int oci_layout_verify_blob(const struct oci_layout *l, const char *digest, char got[OCI_DIGEST_LEN + 1],
			   struct stat *st, struct err *e)
{
	_cleanup_free_ char *p = oci_layout_blob_path(l, digest);
	_cleanup_free_ char *rel = oci_layout_blob_rel(digest);
	struct stat seen;
	_cleanup_close_ int fd = oci_layout_open_file(l, rel, st ? st : &seen, e);
	if (fd < 0)
		return -1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, oci_digest_evp(digest), NULL))
		abort();
	_cleanup_free_ unsigned char *buf = xmalloc(1u << 20);
	int ret = 0;
	for (;;) {
		ssize_t n = read(fd, buf, 1u << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = err_sys(e, ERR_STORAGE, errno, "cannot read '%s'", p);
			break;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	if (ret < 0)
		return -1;
	char hashed[OCI_DIGEST_LEN + 1];
	oci_digest_format_like(hashed, digest, md);
	if (got)
		memcpy(got, hashed, sizeof(hashed));
	return strcmp(hashed, digest) == 0;
}

// A blob another boot's journal lists: removed when it does not hash to its
// name or is not a regular file. 1 removed, 0 kept (or gone), < 0 on error.
static int journal_recheck(const struct oci_layout *l, const char *digest, struct err *e)
{
	struct stat st = {0};
	int ok = oci_layout_verify_blob(l, digest, NULL, &st, e);
	if (ok < 0 && (e->cls == ERR_NOTFOUND || (e->cls == ERR_INTEGRITY && st.st_mode && !S_ISREG(st.st_mode))))
		err_clear(e); // gone already, or a link, a FIFO... in the blob's place
	else if (ok < 0)
		return -1;
	if (ok == 1 || (ok < 0 && !st.st_mode))
		return 0;
	return oci_layout_remove_blob(l, digest, &st, e);
}

// Under the layout lock: check blobs a crash may have left with unwritten
// data, and keep the journal small.
static int journal_recover(struct oci_layout *l, struct err *e)
{
	_cleanup_free_ char *jp = journal_path(l);
	struct buf b;
	buf_init(&b, JOURNAL_MAX);
	int r = oci_layout_read_file(l, "ingest/unsynced", &b, e);
	if (r < 0) {
		buf_release(&b);
		if (e->cls == ERR_NOTFOUND) {
			err_clear(e);
			return 0;
		}
		return -1;
	}
	struct buf keep;
	buf_init(&keep, JOURNAL_MAX);
	size_t ours = 0, removed = 0;
	int ret = 0;
	for (char *line = b.data; line && *line && ret == 0;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *next = nl ? nl + 1 : NULL;
		char *sp = strchr(line, ' ');
		if (!sp || !oci_digest_valid(sp + 1)) {
			line = next;
			continue;
		}
		*sp = '\0';
		const char *digest = sp + 1;
		if (strcmp(line, l->boot_id) == 0) {
			buf_printf(&keep, "%s %s\n", line, digest);
			ours++;
		} else if ((ret = journal_recheck(l, digest, e)) > 0) {
			removed++;
			ret = 0;
		}
		line = next;
	}
	buf_release(&b);
	// Images that lost a blob are no longer complete: they leave index.json.
	if (ret == 0 && removed)
		ret = prune_locked(l, NULL, NULL, e);
	if (ret == 0 && ours >= JOURNAL_COMPACT) {
		if (syncfs(l->dir_fd) < 0)
			ret = err_sys(e, ERR_STORAGE, errno, "cannot sync '%s'", l->dir);
		buf_reset(&keep);
	}
	if (ret == 0)
		ret = keep.len ? file_write_atomic(jp, keep.data, keep.len, e) : (unlink(jp) < 0 && errno != ENOENT ? err_sys(e, ERR_STORAGE, errno, "cannot remove '%s'", jp) : 0);
	buf_release(&keep);
	return ret;
}

// Held exclusively (LOCK_EX) while index.json, the layout's skeleton or the
// journal as a whole is being changed; shared (LOCK_SH) by appends to the journal,
// which O_APPEND keeps whole.
// Opens (creating) the lock file DIR/name, never through a link nor waiting on
// a FIFO, and flocks it as how says: 1 with *fd held, 0 when how has LOCK_NB
// and another holder has it, < 0 on error.
static int lock_path(const struct oci_layout *l, const char *name, int how, int *fd, struct err *e)
{
	int f = layout_openat(l, name, O_RDWR | O_CREAT);
	if (f < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot open lock '%s/%s'", l->dir, name);
	while (flock(f, how) < 0) {
		int saved = errno;
		if (saved == EINTR && !(how & LOCK_NB))
			continue;
		close(f);
		if (saved == EWOULDBLOCK || saved == EINTR)
			return 0;
		return err_sys(e, ERR_STORAGE, saved, "cannot lock '%s/%s'", l->dir, name);
	}
	*fd = f;
	return 1;
}

static int layout_lock(const struct oci_layout *l, int how, struct err *e)
{
	int fd;
	return lock_path(l, ".imgpull.lock", how, &fd, e) < 0 ? -1 : fd;
}

static void layout_unlock(int fd)
{
	close(fd); // releases the flock
}

// The paths, and DIR itself opened (a link there is followed: the caller named
// it); everything inside is reached from dir_fd without following links.
static int layout_paths(struct oci_layout *l, const char *dir, struct err *e)
{
	memset(l, 0, sizeof(*l));
	l->dir = xstrdup(dir);
	l->blobs_dir = xasprintf("%s/blobs/sha256", dir);
	l->ingest_dir = xasprintf("%s/ingest", dir);
	l->fsync = false;
	l->users_fd = -1;
	l->alg_fd[0] = l->alg_fd[1] = -1;
	read_boot_id(l->boot_id, sizeof(l->boot_id));
	l->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dir_fd >= 0)
		return 0;
	if (errno == ENOENT || errno == ENOTDIR)
		return err_set(e, ERR_NOTFOUND, "'%s' is not an OCI image layout (no oci-layout file)", dir);
	return err_sys(e, ERR_STORAGE, errno, "cannot open '%s'", dir);
}

int oci_layout_lock_alone(const struct oci_layout *l, int *fd, struct err *e)
{
	return lock_path(l, ".imgpull.users", LOCK_EX | LOCK_NB, fd, e);
}

// oci-layout names a version: DIR is an OCI image layout.
static int check_layout_file(const struct oci_layout *l, struct err *e)
{
	struct buf b;
	buf_init(&b, 4096);
	int ret = oci_layout_read_file(l, "oci-layout", &b, e);
	if (ret < 0 && e->cls == ERR_NOTFOUND)
		err_set(e, ERR_NOTFOUND, "'%s' is not an OCI image layout (no oci-layout file)", l->dir);
	if (ret == 0) {
		cJSON *j = cJSON_ParseWithLength(buf_str(&b), b.len);
		cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "imageLayoutVersion");
		if (!cJSON_IsString(v))
			ret = err_set(e, ERR_STORAGE, "'%s' exists but is not an OCI image layout", l->dir);
		cJSON_Delete(j);
	}
	buf_release(&b);
	return ret;
}

// Keeps blobs/<alg>/ open where it is a directory of the layout's own; the
// others are looked up (and refused) when used.
static void alg_dirs_keep(struct oci_layout *l)
{
	for (size_t a = 0; a < 2; a++) {
		_cleanup_free_ char *rel = xasprintf("blobs/%s", oci_layout_algs[a]);
		struct err e;
		if (l->alg_fd[a] < 0)
			l->alg_fd[a] = oci_layout_open_dir(l, rel, &e);
	}
}

int oci_layout_attach(struct oci_layout *l, const char *dir, struct err *e)
{
	if (layout_paths(l, dir, e) < 0 || check_layout_file(l, e) < 0)
		return -1;
	alg_dirs_keep(l);
	return 0;
}

// mkdir DIR/rel unless there, then checks it is a directory of its own (not
// a link to one, nor reached through one): ERR_INTEGRITY otherwise.
static int layout_mkdir(const struct oci_layout *l, const char *rel, struct err *e)
{
	const char *base;
	_cleanup_close_ int pfd = parent_open(l, rel, &base);
	if (pfd >= 0 && mkdirat(pfd, base, 0755) < 0 && errno != EEXIST)
		return err_sys(e, ERR_STORAGE, errno, "cannot create directory '%s/%s'", l->dir, rel);
	_cleanup_close_ int fd = oci_layout_open_dir(l, rel, e);
	return fd < 0 ? -1 : 0;
}

static bool layout_has(const struct oci_layout *l, const char *name)
{
	struct stat st;
	return fstatat(l->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int oci_layout_open(struct oci_layout *l, const char *dir, struct err *e)
{
	if (file_mkdirs(dir, e) < 0 || layout_paths(l, dir, e) < 0)
		return -1;
	if (layout_mkdir(l, "blobs", e) < 0 || layout_mkdir(l, "blobs/sha256", e) < 0 ||
	    layout_mkdir(l, "ingest", e) < 0)
		return -1;
	alg_dirs_keep(l);
	int lk = layout_lock(l, LOCK_EX, e);
	if (lk < 0)
		return -1;
	int ret = 0;
	_cleanup_free_ char *lf = xasprintf("%s/oci-layout", dir);
	_cleanup_free_ char *idx = xasprintf("%s/index.json", dir);
	if (layout_has(l, "oci-layout"))
		ret = check_layout_file(l, e);
	else if (file_write_atomic(lf, LAYOUT_FILE, strlen(LAYOUT_FILE), e) < 0)
		ret = -1;
	if (ret == 0 && !layout_has(l, "index.json"))
		ret = file_write_atomic(idx, EMPTY_INDEX, strlen(EMPTY_INDEX), e);
	if (ret == 0)
		ret = journal_recover(l, e);
	layout_unlock(lk);
	if (ret < 0)
		return ret;
	// Held shared while the layout is open: gc waits for it exclusively.
	return lock_path(l, ".imgpull.users", LOCK_SH, &l->users_fd, e) < 0 ? -1 : 0;
}

void oci_layout_release(struct oci_layout *l)
{
	if (l->dir && l->users_fd >= 0)
		close(l->users_fd);
	if (l->dir && l->dir_fd >= 0)
		close(l->dir_fd);
	for (size_t a = 0; l->dir && a < 2; a++)
		if (l->alg_fd[a] >= 0)
			close(l->alg_fd[a]);
	free(l->dir);
	free(l->blobs_dir);
	free(l->ingest_dir);
	memset(l, 0, sizeof(*l));
}

const char *const oci_layout_algs[2] = {"sha256", "sha512"};

char *oci_layout_alg_dir(const struct oci_layout *l, const char *alg)
{
	return xasprintf("%s/blobs/%s", l->dir, alg);
}

int oci_layout_sync_blob_dirs(const struct oci_layout *l, struct err *e)
{
	for (size_t a = 0; l->fsync && a < sizeof(oci_layout_algs) / sizeof(oci_layout_algs[0]); a++) {
		_cleanup_free_ char *rel = xasprintf("blobs/%s", oci_layout_algs[a]);
		_cleanup_close_ int fd = oci_layout_open_dir(l, rel, e);
		if (fd < 0 && e->cls == ERR_NOTFOUND) {
			err_clear(e);
			continue;
		}
		if (fd < 0)
			return -1;
		if (fsync(fd) < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot sync directory '%s/%s'", l->dir, rel);
	}
	return 0;
}

char *oci_layout_blob_path(const struct oci_layout *l, const char *digest)
{
	if (strcmp(oci_digest_alg(digest), "sha256") == 0)
		return xasprintf("%s/%s", l->blobs_dir, oci_digest_hex(digest));
	return xasprintf("%s/blobs/%s/%s", l->dir, oci_digest_alg(digest), oci_digest_hex(digest));
}

// blobs/<alg>/ for the digest's algorithm (sha512: made on first use), opened:
// a directory of the layout's own, never a link.
static int blob_dir_make(const struct oci_layout *l, const char *digest, struct err *e)
{
	_cleanup_free_ char *rel = xasprintf("blobs/%s", oci_digest_alg(digest));
	if (strcmp(oci_digest_alg(digest), "sha256") != 0 && layout_mkdir(l, rel, e) < 0)
		return -1;
	return oci_layout_open_dir(l, rel, e);
}

bool oci_layout_has_blob(const struct oci_layout *l, const char *digest, uint64_t size)
{
	struct stat st;
	return oci_layout_blob_stat(l, digest, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
}

int oci_layout_put_blob(const struct oci_layout *l, const char *digest, const void *data,
			size_t len, struct err *e)
{
	char got[OCI_DIGEST_LEN + 1];
	oci_digest_of_like(got, digest, data, len);
	if (strcmp(got, digest) != 0)
		return err_set(e, ERR_INTEGRITY, "content of %s has digest %s", digest, got);
	_cleanup_close_ int dfd = blob_dir_make(l, digest, e);
	if (dfd < 0)
		return -1;
	_cleanup_free_ char *p = oci_layout_blob_path(l, digest);
	return file_write_atomic(p, data, len, e);
}

int oci_layout_commit_blob(const struct oci_layout *l, const char *digest, int fd,
			   const char *partial, struct err *e)
{
	if (l->fsync && fdatasync(fd) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot sync '%s'", partial);
	if (!l->fsync) {
		// Listed before the rename: a blob can be in blobs/ unsynced only if
		// the journal names it. The shared lock keeps the append out of a
		// recovery's rewrite of the journal.
		int lk = layout_lock(l, LOCK_SH, e);
		if (lk < 0)
			return -1;
		_cleanup_free_ char *jp = journal_path(l);
		_cleanup_close_ int jfd = layout_openat(l, "ingest/unsynced", O_WRONLY | O_APPEND | O_CREAT);
		_cleanup_free_ char *line = xasprintf("%s %s\n", l->boot_id, digest);
		int saved = 0;
		if (jfd < 0 || write(jfd, line, strlen(line)) != (ssize_t)strlen(line))
			saved = errno ? errno : EIO;
		layout_unlock(lk);
		if (saved)
			return err_sys(e, ERR_STORAGE, saved, "cannot write '%s'", jp);
	}
	// Into the layout's own blobs/<alg>/, whatever a path to it may lead to now.
	_cleanup_close_ int dfd = blob_dir_make(l, digest, e);
	if (dfd < 0)
		return -1;
	if (renameat(AT_FDCWD, partial, dfd, oci_digest_hex(digest)) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot move '%s' into the layout", partial);
	return 0;
}

static cJSON *platform_json(const struct oci_platform *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "architecture", p->arch);
	cJSON_AddStringToObject(o, "os", p->os);
	if (p->variant)
		cJSON_AddStringToObject(o, "variant", p->variant);
	return o;
}

int oci_layout_index_read(const struct oci_layout *l, cJSON **root, const cJSON **manifests, struct err *e)
{
	struct buf b;
	buf_init(&b, INDEX_MAX);
	*root = NULL;
	int ret = oci_layout_read_file(l, "index.json", &b, e);
	if (ret == 0 && !(*root = cJSON_ParseWithLength(buf_str(&b), b.len)))
		ret = err_set(e, ERR_INTEGRITY, "'%s/index.json' is not valid JSON: the layout is damaged", l->dir);
	buf_release(&b);
	if (ret < 0)
		return -1;
	*manifests = cJSON_GetObjectItemCaseSensitive(*root, "manifests");
	if (!cJSON_IsObject(*root) || !cJSON_IsArray(*manifests)) {
		cJSON_Delete(*root);
		*root = NULL;
		return err_set(e, ERR_INTEGRITY, "'%s/index.json' is not an OCI image index: the layout is damaged",
			       l->dir);
	}
	return 0;
}

// index.json as a tree to change (the caller holds the lock): the same checks
// as for reading, so that pull, verify and gc judge one file alike.
static int index_load(const struct oci_layout *l, cJSON **out, struct err *e)
{
	const cJSON *mans;
	if (oci_layout_index_read(l, out, &mans, e) < 0)
		return -1;
	if (!cJSON_GetObjectItemCaseSensitive(*out, "schemaVersion"))
		cJSON_AddNumberToObject(*out, "schemaVersion", 2);
	return 0;
}

static int index_store(const struct oci_layout *l, const cJSON *root, struct err *e)
{
	_cleanup_free_ char *idx = xasprintf("%s/index.json", l->dir);
	char *out = cJSON_PrintUnformatted(root);
	if (!out)
		return err_set(e, ERR_INTERNAL, "cannot serialize index.json");
	int ret = file_write_atomic(idx, out, strlen(out), e);
	free(out);
	return ret;
}

#define WALK_DEPTH 3 // index -> index -> manifest, as a pull resolves them

static int walk(const struct oci_layout *l, const struct oci_walk_step *at, oci_walk_fn fn, void *ud,
		struct err *e)
{
	if (!oci_digest_valid(at->digest))
		return err_set(e, ERR_INTEGRITY, "index entry with invalid digest '%.80s'", at->digest);
	int r = fn(ud, at, e);
	if (r != OCI_WALK_DESCEND || !at->manifest)
		return r;
	if (!oci_layout_has_blob(l, at->digest, at->size))
		return OCI_WALK_SKIP; // nothing to read: the callback saw it absent
	if (at->depth >= WALK_DEPTH)
		return err_set(e, ERR_INTEGRITY, "manifest %s: indexes nested too deeply", at->digest);
	struct buf b;
	buf_init(&b, OCI_MANIFEST_MAX);
	if (oci_layout_read_blob(l, at->digest, &b, e) < 0) {
		buf_release(&b);
		return -1;
	}
	struct oci_manifest m;
	r = oci_manifest_parse(&m, at->media_type, buf_str(&b), b.len, e);
	buf_release(&b);
	if (r < 0)
		return err_wrap(e, "manifest %s in the layout", at->digest);
	int ret = OCI_WALK_SKIP;
	if (m.kind == OCI_KIND_INDEX) {
		for (size_t i = 0; i < m.nmanifests && ret >= 0 && ret != OCI_WALK_STOP; i++) {
			struct oci_walk_step s = {m.manifests[i].media_type, m.manifests[i].digest, m.manifests[i].size,
						  at->depth + 1, true};
			ret = walk(l, &s, fn, ud, e);
		}
	} else {
		for (size_t i = 0; i <= m.nlayers && ret >= 0 && ret != OCI_WALK_STOP; i++) {
			const struct oci_descriptor *d = i == 0 ? &m.config : &m.layers[i - 1];
			struct oci_walk_step s = {d->media_type, d->digest, d->size, at->depth + 1, false};
			ret = oci_digest_valid(d->digest) ? fn(ud, &s, e)
							  : err_set(e, ERR_INTEGRITY, "manifest %s names an invalid digest",
								    at->digest);
		}
	}
	oci_manifest_release(&m);
	return ret;
}

int oci_layout_walk(const struct oci_layout *l, const char *media_type, const char *digest, uint64_t size,
		    oci_walk_fn fn, void *ud, struct err *e)
{
	struct oci_walk_step s = {media_type, digest, size, 0, true};
	int r = walk(l, &s, fn, ud, e);
	return r < 0 ? -1 : r == OCI_WALK_STOP ? 1 : 0;
}

// The first blob of a closure that is not in blobs/.
struct closure {
	const struct oci_layout *l;
	char *missing;
};

static int closure_step(void *ud, const struct oci_walk_step *s, struct err *e)
{
	(void)e;
	struct closure *c = ud;
	if (oci_layout_has_blob(c->l, s->digest, s->size))
		return OCI_WALK_DESCEND;
	snprintf(c->missing, OCI_DIGEST_LEN + 1, "%s", s->digest);
	return OCI_WALK_STOP;
}

int oci_layout_complete(const struct oci_layout *l, const char *media_type, const char *digest,
			uint64_t size, char missing[OCI_DIGEST_LEN + 1], struct err *e)
{
	missing[0] = '\0';
	struct closure c = {l, missing};
	int r = oci_layout_walk(l, media_type, digest, size, closure_step, &c, e);
	return r < 0 ? -1 : r == 1 ? 0 : 1;
}

void oci_index_entry_fields(const cJSON *m, const char **mt, const char **digest, uint64_t *size,
			    const char **name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "mediaType");
	*mt = cJSON_IsString(v) ? v->valuestring : NULL;
	v = cJSON_GetObjectItemCaseSensitive(m, "digest");
	*digest = cJSON_IsString(v) ? v->valuestring : NULL;
	v = cJSON_GetObjectItemCaseSensitive(m, "size");
	*size = cJSON_IsNumber(v) && v->valuedouble >= 0 ? (uint64_t)v->valuedouble : 0;
	v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "annotations"), ANNOT_REF);
	*name = cJSON_IsString(v) ? v->valuestring : NULL;
}

// Under the exclusive lock: drops every index entry whose manifest or one of
// its blobs is no longer in blobs/.
static int prune_locked(const struct oci_layout *l, oci_layout_dropped_fn cb, void *ud, struct err *e)
{
	cJSON *root;
	if (index_load(l, &root, e) < 0)
		return -1;
	cJSON *mans = cJSON_GetObjectItemCaseSensitive(root, "manifests");
	bool changed = false;
	int ret = 0;
	for (cJSON *m = mans->child, *next; m && ret == 0; m = next) {
		next = m->next;
		const char *mt, *digest, *name;
		uint64_t size;
		oci_index_entry_fields(m, &mt, &digest, &size, &name);
		if (!digest || !mt)
			continue;
		char missing[OCI_DIGEST_LEN + 1];
		int r = oci_layout_complete(l, mt, digest, size, missing, e);
		if (r < 0) {
			ret = -1;
		} else if (r == 0) {
			if (cb)
				cb(ud, name ? name : digest, missing);
			cJSON_Delete(cJSON_DetachItemViaPointer(mans, m));
			changed = true;
		}
	}
	if (ret == 0 && changed)
		ret = index_store(l, root, e);
	cJSON_Delete(root);
	return ret;
}

int oci_layout_prune_refs(const struct oci_layout *l, oci_layout_dropped_fn cb, void *ud, struct err *e)
{
	int lk = layout_lock(l, LOCK_EX, e);
	if (lk < 0)
		return -1;
	int ret = prune_locked(l, cb, ud, e);
	layout_unlock(lk);
	return ret;
}

int oci_layout_add_ref(const struct oci_layout *l, const struct oci_index_entry *ent, struct err *e)
{
	int lk = layout_lock(l, LOCK_EX, e);
	if (lk < 0)
		return -1;
	cJSON *root = NULL;
	char missing[OCI_DIGEST_LEN + 1];
	// index.json names only images whose every blob is in the layout.
	int ret = oci_layout_complete(l, ent->media_type, ent->digest, ent->size, missing, e);
	struct stat kst;
	if (ret == 1 && ent->keep && (oci_layout_blob_stat(l, ent->keep, &kst) < 0 || !S_ISREG(kst.st_mode))) {
		snprintf(missing, sizeof(missing), "%s", ent->keep);
		ret = 0;
	}
	if (ret == 0)
		ret = err_set(e, ERR_STORAGE, "%s: blob %s is not in the layout (removed while the pull ran?)",
			      ent->ref_name, missing);
	if (ret < 0 || index_load(l, &root, e) < 0) {
		layout_unlock(lk);
		return -1;
	}
	cJSON *mans = cJSON_GetObjectItemCaseSensitive(root, "manifests");
	// One entry per reference name: a re-pull of a moved tag replaces it.
	// One pass along the list (cJSON_GetArrayItem(i) walks it from the
	// start each time: a loop over indexes is quadratic in the entries).
	for (cJSON *m = mans->child, *next; m; m = next) {
		next = m->next;
		cJSON *ann = cJSON_GetObjectItemCaseSensitive(m, "annotations");
		cJSON *name = cJSON_GetObjectItemCaseSensitive(ann, ANNOT_REF);
		if (cJSON_IsString(name) && strcmp(name->valuestring, ent->ref_name) == 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(mans, m));
	}
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "mediaType", ent->media_type);
	cJSON_AddStringToObject(d, "digest", ent->digest);
	cJSON_AddNumberToObject(d, "size", (double)ent->size);
	cJSON *ann = cJSON_AddObjectToObject(d, "annotations");
	cJSON_AddStringToObject(ann, ANNOT_CONTAINERD, ent->ref_name);
	cJSON_AddStringToObject(ann, ANNOT_REF, ent->ref_name);
	if (ent->keep)
		cJSON_AddStringToObject(ann, OCI_ANNOT_KEEP, ent->keep);
	if (ent->signature_of)
		cJSON_AddStringToObject(ann, OCI_ANNOT_SIGNATURE_OF, ent->signature_of);
	if (ent->platform)
		cJSON_AddItemToObject(d, "platform", platform_json(ent->platform));
	cJSON_AddItemToArray(mans, d);
	ret = index_store(l, root, e);
	cJSON_Delete(root);
	layout_unlock(lk);
	return ret;
}
