// SPDX-License-Identifier: Apache-2.0
#include "unpack/overlay.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

#define OPAQUE_XATTR "trusted.overlay.opaque"
#define XLIST_MAX (64u << 10)  // bytes of xattr names of one file read
#define XVALUE_MAX (64u << 10) // the kernel's XATTR_SIZE_MAX
#define COPY_BUF (256u << 10)

// A name with more than one link in a lower: hard-link groups.
struct ovl_name {
	ino_t ino;
	char *path;
};

struct ovl_index {
	bool built;
	struct ovl_name *v;
	size_t n;
};

// Paths, unsorted (short lists: only copy-ups make entries).
struct ovl_list {
	char **v;
	size_t n;
};

// A directory entry's mtime, set once the layer is written.
struct ovl_dirtime {
	char *path;
	struct timespec mtime;
};

struct overlay {
	const char *upper_path;
	int upper;
	int *lower; // topmost first
	const char *const *lower_path;
	size_t nlower;
	struct ovl_index *index; // per lower, built when a hard link needs it
	const char *what;
	bool chown;
	struct unpack_stats *st;
	struct ovl_list copied; // names copied up from a lower, still as they were
	struct ovl_list made;   // directories made to hold them
	struct ovl_dirtime *dirs;
	size_t ndirs;
};

// The lowers where a path is a directory of the merged view, topmost first.
struct level {
	int *fd;       // owned
	size_t *layer; // index in ovl.lower
	size_t n;
};

// What the merged view shows at a path: where -1 nothing, 0 the upper's
// entry, k the entry of lower k-1; st its lstat.
struct hit {
	int where;
	struct stat st;
};

static int refused(struct overlay *ov, const char *entry, const char *why, struct err *e)
{
	return unpack_entry_refused(ov->what, entry, why, e);
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int dfd)
{
	char v[2];
	return fgetxattr(dfd, OPAQUE_XATTR, v, sizeof(v)) == 1 && v[0] == 'y';
}

static int open_dir_at(int dfd, const char *name)
{
	return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static char *join(const char *dir, const char *name)
{
	return *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
}

// path is dir or beneath it ("" holds everything).
static bool under(const char *dir, const char *path)
{
	size_t n = strlen(dir);
	return n == 0 || (strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0'));
}

static void list_add(struct ovl_list *l, const char *path)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = xstrdup(path);
}

// Removes path from l; whether it was there.
static bool list_take(struct ovl_list *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], path) == 0) {
			free(l->v[i]);
			l->v[i] = l->v[--l->n];
			return true;
		}
	}
	return false;
}

static void list_free(struct ovl_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

// ---- the merged view ----

static void level_init(struct level *lv, size_t cap)
{
	lv->fd = xcalloc(cap + 1, sizeof(*lv->fd));
	lv->layer = xcalloc(cap + 1, sizeof(*lv->layer));
	lv->n = 0;
}

static void level_clear(struct level *lv)
{
	for (size_t i = 0; i < lv->n; i++)
		close(lv->fd[i]);
	lv->n = 0;
}

static void level_free(struct level *lv)
{
	level_clear(lv);
	free(lv->fd);
	free(lv->layer);
}

static void level_swap(struct level *a, struct level *b)
{
	struct level t = *a;
	*a = *b;
	*b = t;
}

// The lowers' roots (the kernel honours no opaque attribute there).
static int level_roots(struct overlay *ov, struct level *lv, struct err *e)
{
	level_clear(lv);
	for (size_t i = 0; i < ov->nlower; i++) {
		int fd = fcntl(ov->lower[i], F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot open '%s'", ov->lower_path[i]);
		lv->fd[lv->n] = fd;
		lv->layer[lv->n++] = i;
	}
	return 0;
}

// name under the lowers of lv, looked up as overlayfs does: the first lower
// that has it decides (a whiteout: nothing there); a directory merges with
// those of the lowers below, down to an opaque one or to one where name is no
// directory. *h: what shows (where 0 is never set); next: the lowers where
// name is a merged directory.
static int level_step(struct overlay *ov, const struct level *lv, const char *name, struct level *next, struct hit *h,
		      struct err *e)
{
	level_clear(next);
	h->where = -1;
	for (size_t i = 0; i < lv->n; i++) {
		struct stat st;
		if (fstatat(lv->fd[i], name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return err_sys(e, ERR_STORAGE, errno, "cannot look at '%s' in '%s'", name,
				       ov->lower_path[lv->layer[i]]);
		}
		if (is_whiteout(&st))
			break;
		if (h->where < 0) {
			h->where = (int)lv->layer[i] + 1;
			h->st = st;
		}
		if (!S_ISDIR(st.st_mode))
			break;
		int fd = open_dir_at(lv->fd[i], name);
		if (fd < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot open '%s' in '%s'", name,
				       ov->lower_path[lv->layer[i]]);
		next->fd[next->n] = fd;
		next->layer[next->n++] = lv->layer[i];
		if (is_opaque(fd))
			break;
	}
	return 0;
}

// The next name of a clean path at *p into name; *last when it ends the path.
static int next_name(struct overlay *ov, const char **p, char name[NAME_MAX + 1], bool *last, const char *entry,
		     struct err *e)
{
	const char *s = strchr(*p, '/');
	size_t len = s ? (size_t)(s - *p) : strlen(*p);
	if (len > NAME_MAX)
		return refused(ov, entry, "a name longer than the filesystem takes", e);
	memcpy(name, *p, len);
	name[len] = '\0';
	*p += len + (s ? 1 : 0);
	*last = s == NULL;
	return 0;
}

// One step of find: the upper's directory up (-1: the upper lacks the path)
// and the lowers lv, to the child name. *done: the walk ends here, *h set.
static int find_step(struct overlay *ov, int *up, struct level *lv, struct level *next, const char *name, bool last,
		     bool below, const char *entry, struct hit *h, bool *done, struct err *e)
{
	struct hit lh;
	struct stat st;
	*done = true;
	if (*up >= 0 && !(last && below)) {
		if (fstatat(*up, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (last) {
				h->where = 0;
				h->st = st;
				return 0;
			}
			if (S_ISLNK(st.st_mode) && entry)
				return refused(ov, entry, "its path goes through a symbolic link", e);
			if (!S_ISDIR(st.st_mode))
				return 0; // nothing below a file or a whiteout
			int nup = open_dir_at(*up, name);
			if (nup < 0)
				return err_sys(e, ERR_STORAGE, errno, "cannot open '%s' in '%s'", name, ov->upper_path);
			close(*up);
			*up = nup;
			*done = false;
			if (is_opaque(nup)) {
				level_clear(lv);
				return 0;
			}
			int r = level_step(ov, lv, name, next, &lh, e);
			level_swap(lv, next);
			return r;
		}
		if (errno != ENOENT)
			return err_sys(e, ERR_STORAGE, errno, "cannot look at '%s' in '%s'", name, ov->upper_path);
	}
	if (*up >= 0) {
		close(*up);
		*up = -1;
	}
	if (level_step(ov, lv, name, next, &lh, e) < 0)
		return -1;
	if (last) {
		*h = lh;
		return 0;
	}
	if (lh.where >= 0 && S_ISLNK(lh.st.st_mode) && entry)
		return refused(ov, entry, "its path goes through a symbolic link", e);
	if (lh.where < 0 || !S_ISDIR(lh.st.st_mode))
		return 0;
	level_swap(lv, next);
	*done = false;
	return 0;
}

// What the merged view of the upper over the lowers shows at path (clean, not
// ""): h->where -1 when nothing (a parent that is no directory included). below:
// what the lowers show beneath the upper's own entry of that name. A parent
// that is a symbolic link there is refused naming entry (entry NULL: nothing
// shows).
static int find(struct overlay *ov, const char *path, bool below, const char *entry, struct hit *h, struct err *e)
{
	struct level lv, next;
	level_init(&lv, ov->nlower);
	level_init(&next, ov->nlower);
	h->where = -1;
	int up = fcntl(ov->upper, F_DUPFD_CLOEXEC, 3);
	int r = up < 0 ? err_sys(e, ERR_STORAGE, errno, "cannot open '%s'", ov->upper_path) : level_roots(ov, &lv, e);
	const char *p = path;
	bool last = false, done = false;
	char name[NAME_MAX + 1];
	while (r == 0 && !done) {
		r = next_name(ov, &p, name, &last, entry ? entry : path, e);
		if (r == 0)
			r = find_step(ov, &up, &lv, &next, name, last, below, entry, h, &done, e);
	}
	if (up >= 0)
		close(up);
	level_free(&lv);
	level_free(&next);
	return r;
}

// ---- copies of metadata ----

// A file for xattr calls: the open fd itself, or name in the directory fd.
struct xref {
	int fd;
	const char *name;
};

static const char *xref_path(struct xref r, char *buf, size_t n)
{
	snprintf(buf, n, "/proc/self/fd/%d/%s", r.fd, r.name);
	return buf;
}

static ssize_t x_list(struct xref r, char *list, size_t n)
{
	char p[64 + NAME_MAX];
	return r.name ? llistxattr(xref_path(r, p, sizeof(p)), list, n) : flistxattr(r.fd, list, n);
}

static ssize_t x_get(struct xref r, const char *k, void *v, size_t n)
{
	char p[64 + NAME_MAX];
	return r.name ? lgetxattr(xref_path(r, p, sizeof(p)), k, v, n) : fgetxattr(r.fd, k, v, n);
}

static int x_set(struct xref r, const char *k, const void *v, size_t n)
{
	char p[64 + NAME_MAX];
	return r.name ? lsetxattr(xref_path(r, p, sizeof(p)), k, v, n, 0) : fsetxattr(r.fd, k, v, n, 0);
}

// The xattrs of src but trusted.* onto dst (what containerd's copyUpXAttrs
// copies); path names dst in messages.
static int copy_xattrs(struct overlay *ov, struct xref src, struct xref dst, const char *path, struct err *e)
{
	_cleanup_free_ char *list = xmalloc(XLIST_MAX + 1);
	ssize_t n = x_list(src, list, XLIST_MAX);
	if (n < 0)
		return errno == ENOTSUP ? 0 : err_sys(e, ERR_STORAGE, errno, "cannot list the xattrs of '%s'", path);
	list[n] = '\0';
	_cleanup_free_ char *val = xmalloc(XVALUE_MAX);
	for (const char *k = list; k < list + n; k += strlen(k) + 1) {
		if (strncmp(k, "trusted.", 8) == 0)
			continue;
		ssize_t m = x_get(src, k, val, XVALUE_MAX);
		if (m < 0 && (errno == ENODATA || errno == ENOTSUP))
			continue;
		if (m < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot read xattr '%s' of '%s'", k, path);
		if (x_set(dst, k, val, (size_t)m) < 0) {
			if (errno != ENOTSUP)
				return err_sys(e, ERR_STORAGE, errno, "cannot set xattr '%s' on '%s'", k, path);
			log_debug("layer %s: xattr '%s' of '%s' not kept (%s)", ov->what, k, path, strerror(errno));
		}
	}
	return 0;
}

// The directory name made in the upper directory pfd (path in messages): with
// the owner, mode, xattrs and times of the lowers' directory src, or 0755
// when src < 0. *out: its fd.
static int make_dir(struct overlay *ov, int pfd, const char *name, int src, const char *path, int *out, struct err *e)
{
	if (mkdirat(pfd, name, 0755) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot make '%s' in '%s'", path, ov->upper_path);
	int fd = open_dir_at(pfd, name);
	if (fd < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot open '%s' in '%s'", path, ov->upper_path);
	*out = fd;
	struct stat st;
	if (src < 0) {
		// The umask may have taken bits; setgid from the parent stays.
		if (fstat(fd, &st) == 0 && (st.st_mode & 0777) != 0755 && fchmod(fd, (st.st_mode & 07000) | 0755) < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot set the mode of '%s'", path);
		return 0;
	}
	if (fstat(src, &st) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot look at the lowers' '%s'", path);
	if (ov->chown && fchown(fd, st.st_uid, st.st_gid) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot set the owner of '%s'", path);
	if (fchmod(fd, st.st_mode & 07777) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot set the mode of '%s'", path);
	if (copy_xattrs(ov, (struct xref){src, NULL}, (struct xref){fd, NULL}, path, e) < 0)
		return -1;
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	if (futimens(fd, ts) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot set the times of '%s'", path);
	return 0;
}

static int set_opaque(struct overlay *ov, int dfd, const char *path, struct err *e)
{
	if (fsetxattr(dfd, OPAQUE_XATTR, "y", 1, 0) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot mark '%s' opaque in '%s'", path, ov->upper_path);
	return 0;
}

// ---- parents ----

// One missing name of mkparent's walk (or this layer's whiteout there), made
// in the upper directory *up (the lowers' directories of its parent in lv).
// The merged view's directory there gives the new one its metadata; a
// symbolic link or a file there is refused, as the rootfs mode refuses a name
// under one (and containerd's mkparent a name under a file of the upper).
static int mkparent_one(struct overlay *ov, int *up, struct level *lv, struct level *next, const char *name,
			const char *path, bool for_copy, const char *entry, struct err *e)
{
	struct stat st;
	struct hit h;
	int nup = -1;
	bool whiteout = fstatat(*up, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (!whiteout && errno != ENOENT)
		return err_sys(e, ERR_STORAGE, errno, "cannot look at '%s' in '%s'", path, ov->upper_path);
	if (whiteout && S_ISLNK(st.st_mode))
		return refused(ov, entry, "its path goes through a symbolic link", e);
	if (whiteout && !is_whiteout(&st))
		return refused(ov, entry, "its path goes through a file", e);
	if (level_step(ov, lv, name, next, &h, e) < 0)
		return -1;
	bool below = h.where > 0 && S_ISDIR(h.st.st_mode); // a directory of the lowers shows there
	if (!whiteout && h.where > 0 && !below)
		return refused(ov, entry,
			       S_ISLNK(h.st.st_mode) ? "its path goes through a symbolic link"
						     : "its path goes through a file",
			       e);
	// Under this layer's whiteout the lowers' directory is gone: a new one
	// hides it (opaque), as the rootfs mode's writer makes it anew.
	if (whiteout && unlinkat(*up, name, 0) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot replace '%s' in '%s'", path, ov->upper_path);
	int r = make_dir(ov, *up, name, below && !whiteout ? next->fd[0] : -1, path, &nup, e);
	if (r == 0 && whiteout && below)
		r = set_opaque(ov, nup, path, e);
	if (r < 0) {
		if (nup >= 0)
			close(nup);
		return -1;
	}
	if (below && !whiteout)
		level_swap(lv, next);
	else
		level_clear(lv);
	if (for_copy)
		list_add(&ov->made, path);
	close(*up);
	*up = nup;
	return 0;
}

// dir (clean) as a directory in the upper: each missing name made as
// containerd's mkparent makes it (the merged view's directory there gives its
// owner, mode, times and xattrs), each name a symbolic link in the merged view
// refused naming entry. for_copy: made to hold a copy-up.
static int mkparent(struct overlay *ov, const char *dir, const char *entry, bool for_copy, struct err *e)
{
	if (!*dir)
		return 0;
	int fd = file_open_beneath(ov->upper, dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno == ELOOP || errno == EXDEV)
		return refused(ov, entry, "its path goes through a symbolic link", e);
	if (errno != ENOENT && errno != ENOTDIR)
		return err_sys(e, ERR_STORAGE, errno, "cannot open '%s/%s'", ov->upper_path, dir);
	struct level lv, next;
	level_init(&lv, ov->nlower);
	level_init(&next, ov->nlower);
	int up = fcntl(ov->upper, F_DUPFD_CLOEXEC, 3);
	int r = up < 0 ? err_sys(e, ERR_STORAGE, errno, "cannot open '%s'", ov->upper_path) : level_roots(ov, &lv, e);
	const char *p = dir;
	bool last = false;
	char name[NAME_MAX + 1];
	while (r == 0 && !last) {
		r = next_name(ov, &p, name, &last, entry, e);
		if (r < 0)
			break;
		_cleanup_free_ char *path = xstrndup(dir, (size_t)(p - dir) - (last ? 0 : 1));
		struct stat st;
		if (fstatat(up, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			int nup = open_dir_at(up, name);
			if (nup < 0) {
				r = err_sys(e, ERR_STORAGE, errno, "cannot open '%s' in '%s'", path, ov->upper_path);
				break;
			}
			close(up);
			up = nup;
			struct hit h;
			if (is_opaque(up))
				level_clear(&lv);
			else if ((r = level_step(ov, &lv, name, &next, &h, e)) == 0)
				level_swap(&lv, &next);
			continue;
		}
		r = mkparent_one(ov, &up, &lv, &next, name, path, for_copy, entry, e);
	}
	if (up >= 0)
		close(up);
	level_free(&lv);
	level_free(&next);
	return r;
}

// ---- copy-up ----

// size bytes of sfd into dfd, the holes left as holes.
static int copy_data(int sfd, int dfd, off_t size, const char *path, struct err *e)
{
	_cleanup_free_ char *buf = NULL;
	off_t off = 0;
	while (off < size) {
		off_t data = lseek(sfd, off, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break; // a hole to the end
		off_t end = size;
		if (data < 0)
			data = off; // no SEEK_DATA here: all of it
		else if ((end = lseek(sfd, data, SEEK_HOLE)) < 0 || end > size)
			end = size;
		while (data < end) {
			size_t want = (size_t)(end - data) < COPY_BUF ? (size_t)(end - data) : COPY_BUF;
			if (!buf)
				buf = xmalloc(COPY_BUF);
			ssize_t n = pread(sfd, buf, want, data);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return err_sys(e, ERR_STORAGE, n < 0 ? errno : EIO, "cannot copy '%s' up", path);
			if (file_pwrite_all(dfd, buf, (size_t)n, data) < 0)
				return err_sys(e, ERR_STORAGE, errno, "cannot copy '%s' up", path);
			data += n;
		}
		off = end;
	}
	if (ftruncate(dfd, size) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot copy '%s' up", path);
	return 0;
}

// The regular file base of the lowers' directory lo (its lstat st) into the
// upper's up, with its owner, mode, xattrs and times.
static int copy_file(struct overlay *ov, int lo, int up, const char *base, const struct stat *st, const char *path,
		     struct err *e)
{
	_cleanup_close_ int sfd = openat(lo, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat now;
	if (sfd < 0 || fstat(sfd, &now) < 0 || now.st_ino != st->st_ino)
		return err_sys(e, ERR_STORAGE, sfd < 0 ? errno : ESTALE, "cannot open the lowers' '%s'", path);
	_cleanup_close_ int dfd = openat(up, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dfd < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot make '%s' in '%s'", path, ov->upper_path);
	if (copy_data(sfd, dfd, st->st_size, path, e) < 0)
		return -1;
	if (ov->chown && fchown(dfd, st->st_uid, st->st_gid) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot set the owner of '%s'", path);
	if (fchmod(dfd, st->st_mode & 07777) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot set the mode of '%s'", path);
	if (copy_xattrs(ov, (struct xref){sfd, NULL}, (struct xref){dfd, NULL}, path, e) < 0)
		return -1;
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (futimens(dfd, ts) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot set the times of '%s'", path);
	return 0;
}

// Any other non-directory (a symbolic link, a device, a FIFO, a socket).
static int copy_special(struct overlay *ov, int lo, int up, const char *base, const struct stat *st, const char *path,
			struct err *e)
{
	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(lo, base, target, sizeof(target) - 1);
		if (n < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot read the lowers' '%s'", path);
		target[n] = '\0';
		if (symlinkat(target, up, base) < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot make '%s' in '%s'", path, ov->upper_path);
	} else if (mknodat(up, base, st->st_mode & (S_IFMT | 0777), st->st_rdev) < 0) {
		return err_sys(e, ERR_STORAGE, errno, "cannot make '%s' in '%s'", path, ov->upper_path);
	}
	if (ov->chown && fchownat(up, base, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot set the owner of '%s'", path);
	if (!S_ISLNK(st->st_mode) && fchmodat(up, base, st->st_mode & 07777, 0) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot set the mode of '%s'", path);
	if (copy_xattrs(ov, (struct xref){lo, base}, (struct xref){up, base}, path, e) < 0)
		return -1;
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (utimensat(up, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot set the times of '%s'", path);
	return 0;
}

// The lowers' non-directory at path (h: which lower) copied into the upper.
static int copy_up_one(struct overlay *ov, const char *path, const struct hit *h, const char *entry, struct err *e)
{
	_cleanup_free_ char *dir = NULL;
	const char *base;
	unpack_split_name(path, &dir, &base);
	if (mkparent(ov, dir, entry, true, e) < 0)
		return -1;
	_cleanup_close_ int up = file_open_beneath(ov->upper, dir, O_RDONLY | O_DIRECTORY);
	if (up < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot open '%s' in '%s'", dir, ov->upper_path);
	const char *lname = ov->lower_path[h->where - 1];
	_cleanup_close_ int lo = file_open_beneath(ov->lower[h->where - 1], dir, O_RDONLY | O_DIRECTORY);
	struct stat st;
	if (lo < 0 || fstatat(lo, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_ino != h->st.st_ino)
		return err_sys(e, ERR_STORAGE, lo < 0 ? errno : ESTALE, "cannot find '%s' in '%s' again", path, lname);
	int r = S_ISREG(st.st_mode) ? copy_file(ov, lo, up, base, &st, path, e)
				    : copy_special(ov, lo, up, base, &st, path, e);
	if (r == 0) {
		list_add(&ov->copied, path);
		log_debug("layer %s: '%s' copied up from '%s' for a hard link", ov->what, path, lname);
	}
	return r;
}

static int name_cmp(const void *a, const void *b)
{
	const struct ovl_name *x = a, *y = b;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

// The names of one directory of lower l (rel) into the index: the
// non-directories with more than one link; its subdirectories onto the queue.
static int index_dir(struct overlay *ov, size_t l, const char *rel, struct ovl_list *queue, struct err *e)
{
	int fd = file_open_beneath(ov->lower[l], rel, O_RDONLY | O_DIRECTORY);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return err_sys(e, ERR_STORAGE, errno, "cannot read '%s' in '%s'", rel, ov->lower_path[l]);
	}
	struct ovl_index *ix = &ov->index[l];
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		_cleanup_free_ char *child = join(rel, de->d_name);
		struct stat st;
		if (de->d_type != DT_DIR && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = err_sys(e, ERR_STORAGE, errno, "cannot look at '%s' in '%s'", child, ov->lower_path[l]);
		} else if (de->d_type == DT_DIR || S_ISDIR(st.st_mode)) {
			list_add(queue, child);
		} else if (st.st_nlink > 1) {
			ix->v = xrealloc(ix->v, (ix->n + 1) * sizeof(*ix->v));
			ix->v[ix->n++] = (struct ovl_name){st.st_ino, steal_pointer(&child)};
		}
	}
	closedir(d);
	return r;
}

// Lower l's names of files with more than one link, by inode (once).
static int index_build(struct overlay *ov, size_t l, struct err *e)
{
	struct ovl_index *ix = &ov->index[l];
	if (ix->built)
		return 0;
	ix->built = true;
	struct ovl_list queue = {0};
	list_add(&queue, "");
	int r = 0;
	for (size_t i = 0; i < queue.n && r == 0; i++)
		r = index_dir(ov, l, queue.v[i], &queue, e);
	list_free(&queue);
	if (ix->n)
		qsort(ix->v, ix->n, sizeof(*ix->v), name_cmp);
	return r;
}

// The other names of the copied-up path (from lower h->where - 1) that the
// merged view shows as that same file: linked to the copy, as in the rootfs
// mode they are one file.
static int copy_up_group(struct overlay *ov, const char *path, const struct hit *h, const char *entry, struct err *e)
{
	size_t l = (size_t)h->where - 1;
	if (index_build(ov, l, e) < 0)
		return -1;
	const struct ovl_index *ix = &ov->index[l];
	for (size_t i = 0; i < ix->n; i++) {
		const char *other = ix->v[i].path;
		if (ix->v[i].ino != h->st.st_ino || strcmp(other, path) == 0)
			continue;
		struct hit o;
		if (find(ov, other, false, NULL, &o, e) < 0)
			return -1;
		if (o.where != h->where || o.st.st_ino != h->st.st_ino)
			continue; // hidden, or replaced above
		_cleanup_free_ char *dir = NULL, *odir = NULL;
		const char *base, *obase;
		unpack_split_name(path, &dir, &base);
		unpack_split_name(other, &odir, &obase);
		if (mkparent(ov, odir, entry, true, e) < 0)
			return -1;
		_cleanup_close_ int from = file_open_beneath(ov->upper, dir, O_RDONLY | O_DIRECTORY);
		_cleanup_close_ int to = file_open_beneath(ov->upper, odir, O_RDONLY | O_DIRECTORY);
		if (from < 0 || to < 0 || linkat(from, base, to, obase, 0) < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot link '%s' to its copy '%s' in '%s'", other, path,
				       ov->upper_path);
		list_add(&ov->copied, other);
	}
	return 0;
}

int overlay_link_target(struct overlay *ov, const char *target, const char *entry, struct err *e)
{
	_cleanup_free_ char *dir = NULL;
	const char *base;
	unpack_split_name(target, &dir, &base);
	struct stat st;
	_cleanup_close_ int pfd = file_open_beneath(ov->upper, dir, O_RDONLY | O_DIRECTORY);
	if (pfd >= 0 && fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) && !is_whiteout(&st))
		return 0; // the common case: this layer wrote it
	struct hit h;
	if (find(ov, target, false, entry, &h, e) < 0)
		return -1;
	if (h.where < 0 || is_whiteout(&h.st))
		return refused(ov, entry, "its hard link target is not there", e);
	if (S_ISDIR(h.st.st_mode))
		return refused(ov, entry, "a hard link to a directory", e);
	if (h.where == 0)
		return 0;
	if (copy_up_one(ov, target, &h, entry, e) < 0)
		return -1;
	return h.st.st_nlink > 1 ? copy_up_group(ov, target, &h, entry, e) : 0;
}

// ---- entries, whiteouts, opaque directories ----

// The entry's xattrs but trusted.* (overlayfs's own attributes among them):
// a layer does not set them in an upper (containerd drops them too).
static void drop_trusted(struct overlay *ov, struct archive_entry *ent, const char *path)
{
	int n = archive_entry_xattr_reset(ent);
	if (n <= 0)
		return;
	struct {
		char *k;
		void *v;
		size_t n;
	} *keep = xcalloc((size_t)n, sizeof(*keep));
	size_t kept = 0;
	const char *k;
	const void *v;
	size_t sz;
	while (archive_entry_xattr_next(ent, &k, &v, &sz) == ARCHIVE_OK && kept < (size_t)n) {
		if (strncmp(k, "trusted.", 8) == 0) {
			log_info("layer %s: '%s': xattr '%s' dropped (trusted.* is not a layer's)", ov->what, path, k);
			continue;
		}
		keep[kept].k = xstrdup(k);
		keep[kept].v = xmalloc(sz ? sz : 1);
		memcpy(keep[kept].v, v, sz);
		keep[kept++].n = sz;
	}
	if (kept < (size_t)n) {
		archive_entry_xattr_clear(ent);
		for (size_t i = 0; i < kept; i++)
			archive_entry_xattr_add_entry(ent, keep[i].k, keep[i].v, keep[i].n);
	}
	for (size_t i = 0; i < kept; i++) {
		free(keep[i].k);
		free(keep[i].v);
	}
	free(keep);
}

int overlay_entry_begin(struct overlay *ov, struct archive_entry *ent, const char *path, bool *hides, struct err *e)
{
	drop_trusted(ov, ent, path);
	_cleanup_free_ char *dir = NULL;
	const char *base;
	unpack_split_name(path, &dir, &base);
	if (mkparent(ov, dir, path, false, e) < 0)
		return -1;
	list_take(&ov->copied, path); // this layer's own now
	list_take(&ov->made, path);
	*hides = false;
	if (archive_entry_filetype(ent) != AE_IFDIR)
		return 0;
	ov->dirs = xrealloc(ov->dirs, (ov->ndirs + 1) * sizeof(*ov->dirs));
	ov->dirs[ov->ndirs++] = (struct ovl_dirtime){
		xstrdup(path), {.tv_sec = archive_entry_mtime(ent), .tv_nsec = archive_entry_mtime_nsec(ent)}};
	_cleanup_close_ int pfd = file_open_beneath(ov->upper, dir, O_RDONLY | O_DIRECTORY);
	struct stat st;
	*hides = pfd >= 0 && fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode);
	return 0;
}

int overlay_entry_dir_done(struct overlay *ov, const char *path, struct err *e)
{
	struct hit h;
	if (find(ov, path, true, NULL, &h, e) < 0)
		return -1;
	if (h.where <= 0 || !S_ISDIR(h.st.st_mode))
		return 0;
	_cleanup_close_ int fd = file_open_beneath(ov->upper, path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot open '%s' in '%s'", path, ov->upper_path);
	return set_opaque(ov, fd, path, e);
}

// The whiteout name in the upper directory dfd (dir): kept is what this layer
// wrote there already (logged unless quiet); a copy-up goes.
static int put_whiteout(struct overlay *ov, int dfd, const char *dir, const char *name, uid_t uid, gid_t gid, bool quiet,
			struct err *e)
{
	_cleanup_free_ char *path = join(dir, name);
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (is_whiteout(&st))
			return 0;
		if (!list_take(&ov->copied, path)) {
			if (!quiet)
				log_info("layer %s: whiteout of '%s' ignored: this layer wrote it", ov->what, path);
			return 0;
		}
		if (unlinkat(dfd, name, 0) < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot remove '%s' from '%s'", path, ov->upper_path);
	} else if (errno != ENOENT) {
		return err_sys(e, ERR_STORAGE, errno, "cannot look at '%s' in '%s'", path, ov->upper_path);
	}
	if (mknodat(dfd, name, S_IFCHR, makedev(0, 0)) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot make the whiteout '%s' in '%s'", path, ov->upper_path);
	if (ov->chown && fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot set the owner of the whiteout '%s'", path);
	return 0;
}

int overlay_whiteout(struct overlay *ov, const char *dir, const char *name, const char *entry, uid_t uid, gid_t gid,
		     struct err *e)
{
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
		return refused(ov, entry, "a whiteout of no name", e);
	if (mkparent(ov, dir, entry, false, e) < 0)
		return -1;
	_cleanup_close_ int dfd = file_open_beneath(ov->upper, dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot open '%s' in '%s'", dir, ov->upper_path);
	if (put_whiteout(ov, dfd, dir, name, uid, gid, false, e) < 0)
		return -1;
	ov->st->whiteouts++;
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

// The names in the lowers' roots, sorted, once each.
static int top_names(struct overlay *ov, struct ovl_list *out, struct err *e)
{
	for (size_t i = 0; i < ov->nlower; i++) {
		int fd = fcntl(ov->lower[i], F_DUPFD_CLOEXEC, 3);
		DIR *d = fd < 0 ? NULL : fdopendir(fd);
		if (!d) {
			if (fd >= 0)
				close(fd);
			return err_sys(e, ERR_STORAGE, errno, "cannot read '%s'", ov->lower_path[i]);
		}
		rewinddir(d);
		struct dirent *de;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				list_add(out, de->d_name);
		closedir(d);
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), str_cmp);
	size_t u = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (u && strcmp(out->v[u - 1], out->v[i]) == 0)
			free(out->v[i]);
		else
			out->v[u++] = out->v[i];
	}
	out->n = u;
	return 0;
}

// An opaque directory at the top: overlayfs ignores the attribute on the
// upper's root, so every name the lowers show there is whited out.
static int opaque_top(struct overlay *ov, int dfd, const char *const *reserved, uid_t uid, gid_t gid, struct err *e)
{
	struct ovl_list names = {0};
	struct level roots, next;
	level_init(&roots, ov->nlower);
	level_init(&next, ov->nlower);
	int r = top_names(ov, &names, e);
	if (r == 0)
		r = level_roots(ov, &roots, e);
	for (size_t i = 0; i < names.n && r == 0; i++) {
		struct hit h;
		if (unpack_reserved(reserved, names.v[i]))
			continue;
		r = level_step(ov, &roots, names.v[i], &next, &h, e);
		if (r == 0 && h.where > 0)
			r = put_whiteout(ov, dfd, "", names.v[i], uid, gid, true, e);
	}
	list_free(&names);
	level_free(&roots);
	level_free(&next);
	return r;
}

// Copies up under dir go with an opaque marker there (they were the lowers'),
// and the directories made for them once empty.
static int drop_copies(struct overlay *ov, const char *dir, struct err *e)
{
	for (size_t i = ov->copied.n; i-- > 0;) {
		if (!under(dir, ov->copied.v[i]))
			continue;
		_cleanup_free_ char *pdir = NULL;
		const char *base;
		unpack_split_name(ov->copied.v[i], &pdir, &base);
		_cleanup_close_ int pfd = file_open_beneath(ov->upper, pdir, O_RDONLY | O_DIRECTORY);
		if (pfd < 0 || (unlinkat(pfd, base, 0) < 0 && errno != ENOENT))
			return err_sys(e, ERR_STORAGE, errno, "cannot remove '%s' from '%s'", ov->copied.v[i],
				       ov->upper_path);
		free(ov->copied.v[i]);
		ov->copied.v[i] = ov->copied.v[--ov->copied.n];
	}
	for (size_t i = ov->made.n; i-- > 0;) { // children were made after their parents
		if (!under(dir, ov->made.v[i]) || strcmp(dir, ov->made.v[i]) == 0)
			continue;
		_cleanup_free_ char *pdir = NULL;
		const char *base;
		unpack_split_name(ov->made.v[i], &pdir, &base);
		_cleanup_close_ int pfd = file_open_beneath(ov->upper, pdir, O_RDONLY | O_DIRECTORY);
		if (pfd >= 0 && unlinkat(pfd, base, AT_REMOVEDIR) == 0)
			list_take(&ov->made, ov->made.v[i]);
	}
	return 0;
}

int overlay_opaque(struct overlay *ov, const char *dir, const char *entry, const char *const *reserved, uid_t uid,
		   gid_t gid, struct err *e)
{
	if (mkparent(ov, dir, entry, false, e) < 0)
		return -1;
	list_take(&ov->made, dir);
	_cleanup_close_ int dfd = file_open_beneath(ov->upper, dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot open '%s' in '%s'", dir, ov->upper_path);
	if (set_opaque(ov, dfd, *dir ? dir : ".", e) < 0 || drop_copies(ov, dir, e) < 0)
		return -1;
	if (!*dir && opaque_top(ov, dfd, reserved, uid, gid, e) < 0)
		return -1;
	ov->st->whiteouts++;
	return 0;
}

int overlay_finish(struct overlay *ov, struct err *e)
{
	for (size_t i = 0; i < ov->ndirs; i++) {
		int fd = file_open_beneath(ov->upper, ov->dirs[i].path, O_RDONLY | O_DIRECTORY);
		if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
			continue; // replaced after
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, ov->dirs[i].mtime};
		int r = fd < 0 ? -1 : futimens(fd, ts);
		int en = errno;
		if (fd >= 0)
			close(fd);
		if (r < 0)
			return err_sys(e, ERR_STORAGE, en, "cannot set the times of '%s' in '%s'", ov->dirs[i].path,
				       ov->upper_path);
	}
	return 0;
}

// ---- the mode's state ----

static int upper_empty(const char *upper, int fd, struct err *e)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return err_sys(e, ERR_STORAGE, errno, "cannot read '%s'", upper);
	}
	rewinddir(d);
	struct dirent *de;
	bool empty = true;
	while (empty && (de = readdir(d)))
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty ? 0 : err_set(e, ERR_STORAGE, "the upper directory '%s' is not empty", upper);
}

int overlay_open(const char *upper, int upper_fd, const char *const *lowers, const char *what, bool chown,
		 struct unpack_stats *st, struct overlay **out, struct err *e)
{
	*out = NULL;
	if (upper_empty(upper, upper_fd, e) < 0)
		return -1;
	struct overlay *ov = xcalloc(1, sizeof(*ov));
	ov->upper_path = upper;
	ov->upper = upper_fd;
	ov->what = what;
	ov->chown = chown;
	ov->st = st;
	while (lowers && lowers[ov->nlower])
		ov->nlower++;
	ov->lower_path = lowers;
	ov->lower = xcalloc(ov->nlower + 1, sizeof(*ov->lower));
	ov->index = xcalloc(ov->nlower + 1, sizeof(*ov->index));
	for (size_t i = 0; i < ov->nlower; i++)
		ov->lower[i] = -1;
	for (size_t i = 0; i < ov->nlower; i++) {
		ov->lower[i] = open(lowers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (ov->lower[i] < 0) {
			err_sys(e, ERR_STORAGE, errno, "cannot open the lower directory '%s'", lowers[i]);
			overlay_close(ov);
			return -1;
		}
	}
	*out = ov;
	return 0;
}

void overlay_close(struct overlay *ov)
{
	if (!ov)
		return;
	for (size_t i = 0; i < ov->nlower; i++) {
		if (ov->lower[i] >= 0)
			close(ov->lower[i]);
		for (size_t k = 0; k < ov->index[i].n; k++)
			free(ov->index[i].v[k].path);
		free(ov->index[i].v);
	}
	free(ov->lower);
	free(ov->index);
	list_free(&ov->copied);
	list_free(&ov->made);
	for (size_t i = 0; i < ov->ndirs; i++)
		free(ov->dirs[i].path);
	free(ov->dirs);
	free(ov);
}
