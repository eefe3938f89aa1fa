// SPDX-License-Identifier: Apache-2.0
#include "cmd/termlog.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/buf.h"
#include "util/fit.h"
#include "util/log.h"

const char *termlog_path(int argc, char **argv)
{
	const char *p = cmd_early_value(argc, argv, "termination-log");
	if (p && *p)
		return p;
	return access(TERMLOG_DEFAULT, W_OK) == 0 ? TERMLOG_DEFAULT : NULL;
}

void termlog_write(const char *path, const char *head, const char *const *full,
		   const char *const *brief, size_t n)
{
	if (!path)
		return;
	struct buf b;
	buf_init(&b, TERMLOG_MAX + 1);
	fit_records(&b, TERMLOG_MAX, head, full, brief, n);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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
	if (fd < 0 || left)
		log_warn("cannot write the termination message to '%s': %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	buf_release(&b);
}
