// SPDX-License-Identifier: Apache-2.0
// Small file helpers: capped reads, atomic replacement, directories.
#ifndef IMGPULL_UTIL_FILE_H
#define IMGPULL_UTIL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"

// Reads a whole file into b (b->max caps it); ERR_STORAGE on I/O errors,
// ERR_NOTFOUND if it does not exist.
int file_read_all(const char *path, struct buf *b, struct err *e);
// Writes data to path.tmp.<pid>, fsyncs, renames over path, fsyncs the directory.
// Only a regular file is replaced: a path that is a symbolic link, a device, a
// FIFO, a directory or a socket is left as it is (ERR_STORAGE).
int file_write_atomic(const char *path, const void *data, size_t len, struct err *e);
// The same without the syncs: readers see the old or the new content, never a
// mix, but a crash may lose the update.
int file_replace(const char *path, const void *data, size_t len, struct err *e);
// "a character device", "a symbolic link", "a FIFO", ... for a file type.
const char *file_kind(mode_t mode);
// What is at path (not following a link) when it is there and is not a regular
// file ("a character device"); NULL for a regular file or nothing (or no access).
const char *file_not_regular(const char *path);
// mkdir -p (mode 0755).
int file_mkdirs(const char *path, struct err *e);
int file_fsync_dir(const char *dir, struct err *e);
// Writes all of len bytes at off, retrying short writes and EINTR.
int file_pwrite_all(int fd, const void *data, size_t len, long long off);

// Room for need more bytes on the filesystem of dir, keeping min_free bytes free
// (or min_free_pct percent of the filesystem when min_free is FILE_ROOM_PCT):
// ERR_STORAGE naming dir, needed, free and reserve otherwise.
#define FILE_ROOM_PCT UINT64_MAX
int file_check_room(const char *dir, uint64_t need, uint64_t min_free, unsigned min_free_pct, struct err *e);
// The names in dir but . and .., sorted; free with file_list_free.
int file_list_dir(const char *dir, char ***names, size_t *n, struct err *e);
void file_list_free(char **names, size_t n);
// openat2(dirfd, rel, flags) confined to dirfd: fails (ELOOP, EXDEV) rather than
// go through a symbolic link, above dirfd, or into another mount. rel "" is
// dirfd itself. O_CLOEXEC is added.
int file_open_beneath(int dirfd, const char *rel, int flags);
// rm -rf dir: never follows a symbolic link nor crosses into another mount.
int file_remove_tree(const char *dir, struct err *e);
// "the filesystem mounted at /data (1234 bytes free)": the mount point of the
// filesystem path is on (the topmost directory above it on the same device).
void file_fs_describe(const char *path, char *out, size_t n);
// True when a and b are on one filesystem (both must exist).
bool file_same_fs(const char *a, const char *b);

#endif
