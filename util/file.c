// SPDX-License-Identifier: Apache-2.0
#include "util/file.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/mem.h"

int file_read_all(const char *path, struct buf *b, struct err *e)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno == ENOENT ? ERR_NOTFOUND : ERR_STORAGE, errno,
			       "cannot open '%s'", path);
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot read '%s'", path);
		if (n == 0)
			break;
		if (buf_add(b, tmp, (size_t)n) < 0)
			return err_set(e, ERR_STORAGE, "'%s' is larger than %zu bytes", path, b->max);
	}
	return 0;
}

int file_fsync_dir(const char *dir, struct err *e)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot sync directory '%s'", dir);
	return 0;
}

int file_pwrite_all(int fd, const void *data, size_t len, long long off)
{
	const char *p = data;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

const char *file_kind(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISSOCK(mode))
		return "a socket";
	return "of an unknown type";
}

const char *file_not_regular(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0 || S_ISREG(st.st_mode))
		return NULL;
	return file_kind(st.st_mode);
}

static int refuse_replace(const char *path, struct err *e)
{
	const char *kind = file_not_regular(path);
	return kind ? err_set(e, ERR_STORAGE, "'%s' is %s, not a regular file: not replaced", path, kind) : 0;
}

static int write_replace(const char *path, const void *data, size_t len, bool sync, struct err *e)
{
	// Only a regular file is ever replaced: never a device, a link, a FIFO or
	// a directory a path was pointed at (checked again right before the rename).
	if (refuse_replace(path, e) < 0)
		return -1;
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot create '%s'", tmp);
	if (file_pwrite_all(fd, data, len, 0) < 0 || (sync && fsync(fd) < 0)) {
		int saved = errno;
		unlink(tmp);
		return err_sys(e, ERR_STORAGE, saved, "cannot write '%s'", tmp);
	}
	if (refuse_replace(path, e) < 0) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		return err_sys(e, ERR_STORAGE, saved, "cannot rename '%s' to '%s'", tmp, path);
	}
	if (!sync)
		return 0;
	_cleanup_free_ char *copy = xstrdup(path);
	return file_fsync_dir(dirname(copy), e);
}

int file_write_atomic(const char *path, const void *data, size_t len, struct err *e)
{
	return write_replace(path, data, len, true, e);
}

int file_replace(const char *path, const void *data, size_t len, struct err *e)
{
	return write_replace(path, data, len, false, e);
}

int file_mkdirs(const char *path, struct err *e)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return err_sys(e, ERR_STORAGE, errno, "cannot create directory '%s'", p);
			*s = c;
			if (c == '\0')
				break;
		}
	}
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return err_set(e, ERR_STORAGE, "'%s' is not a directory", path);
	return 0;
}

int file_check_room(const char *dir, uint64_t need, uint64_t min_free, unsigned min_free_pct, struct err *e)
{
	struct statvfs sv;
	if (statvfs(dir, &sv) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot measure the filesystem of '%s'", dir);
	uint64_t size = (uint64_t)sv.f_blocks * sv.f_frsize, avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	uint64_t reserve = min_free == FILE_ROOM_PCT ? size / 100 * min_free_pct : min_free;
	if (need <= avail && avail - need >= reserve)
		return 0;
	return err_set(e, ERR_STORAGE,
		       "not enough room in '%s': %llu bytes needed, %llu free, %llu to be kept free (--min-free); "
		       "nothing was downloaded",
		       dir, (unsigned long long)need, (unsigned long long)avail, (unsigned long long)reserve);
}

bool file_same_fs(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev;
}

int file_open_beneath(int dirfd, const char *rel, int flags)
{
	// The kernel's struct open_how and RESOLVE_* (linux/openat2.h, Linux 5.6):
	// spelled out here, as musl's headers for the static build lack them.
	struct {
		uint64_t flags, mode, resolve;
	} how = {.flags = (uint64_t)(flags | O_CLOEXEC),
		 .resolve = 0x01 /* NO_XDEV */ | 0x02 /* NO_MAGICLINKS */ | 0x04 /* NO_SYMLINKS */ | 0x08 /* BENEATH */};
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
	return (int)syscall(SYS_openat2, dirfd, *rel ? rel : ".", &how, sizeof(how));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int file_remove_tree(const char *dir, struct err *e)
{
	if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return err_sys(e, ERR_STORAGE, errno, "cannot remove '%s'", dir);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int file_list_dir(const char *dir, char ***names, size_t *n, struct err *e)
{
	*names = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return err_sys(e, errno == ENOENT ? ERR_NOTFOUND : ERR_STORAGE, errno, "cannot read '%s'", dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		*names = xrealloc(*names, (*n + 1) * sizeof(char *));
		(*names)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(*names, *n, sizeof(char *), cmp_name);
	return 0;
}

void file_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void file_fs_describe(const char *path, char *out, size_t n)
{
	struct stat st, up;
	_cleanup_free_ char *cur = realpath(path, NULL);
	if (!cur || stat(cur, &st) < 0) {
		snprintf(out, n, "the filesystem of '%s'", path);
		return;
	}
	// Up the tree while the parent is on the same device.
	while (strcmp(cur, "/") != 0) {
		_cleanup_free_ char *copy = xstrdup(cur);
		const char *parent = dirname(copy);
		if (stat(parent, &up) < 0 || up.st_dev != st.st_dev)
			break;
		free(cur);
		cur = xstrdup(parent);
	}
	struct statvfs vfs;
	if (statvfs(cur, &vfs) == 0)
		snprintf(out, n, "the filesystem mounted at '%s' (%llu bytes free)", cur,
			 (unsigned long long)vfs.f_bavail * vfs.f_frsize);
	else
		snprintf(out, n, "the filesystem mounted at '%s'", cur);
}
