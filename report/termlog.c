// SPDX-License-Identifier: Apache-2.0
#include "report/termlog.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/file.h"
#include "util/fit.h"
#include "util/log.h"

const char *termlog_path(const char *p)
{
	if (p && *p) // a path that is not a regular file is refused with the options
		return file_not_regular(p) ? NULL : p;
	struct stat st;
	if (lstat(TERMLOG_DEFAULT, &st) == 0 && S_ISREG(st.st_mode) && access(TERMLOG_DEFAULT, W_OK) == 0)
		return TERMLOG_DEFAULT;
	return NULL;
}

// The file opened for writing and emptied, if it is a regular file: never
// through a symbolic link, never waiting for a FIFO's reader, never into a
// device. -1 with errno on failure, -2 for what is not a regular file.
static int open_regular(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	struct stat st;
	int r = fstat(fd, &st) < 0 ? -1 : !S_ISREG(st.st_mode) ? -2 : ftruncate(fd, 0) < 0 ? -1 : fd;
	if (r < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return r;
}

void termlog_write(const char *path, const char *head, const char *const *full,
		   const char *const *brief, size_t n)
{
	if (!path)
		return;
	struct buf b;
	buf_init(&b, TERMLOG_MAX + 1);
	fit_records(&b, TERMLOG_MAX, head, full, brief, n);
	int fd = open_regular(path);
	const char *p = b.data ? b.data : "";
	size_t left = b.len;
	while (fd >= 0 && left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		left -= (size_t)w;
	}
	if (fd == -2)
		log_warn("cannot write the termination message to '%s': not a regular file", path);
	else if (fd < 0 || left)
		log_warn("cannot write the termination message to '%s': %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	buf_release(&b);
}
