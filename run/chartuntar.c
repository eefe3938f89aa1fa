// SPDX-License-Identifier: Apache-2.0
#include "run/chartuntar.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/digest.h"
#include "pull/chart.h"
#include "unpack/layer.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

int chartuntar_into(const char *dir, const char *name, const struct buf *tgz, struct err *e)
{
	_cleanup_free_ char *target = xasprintf("%s/%s", dir, name);
	_cleanup_free_ char *tmp = xasprintf("%s/.%s.imgpull-%d", dir, name, (int)getpid());
	_cleanup_free_ char *top = xasprintf("%s/%s", tmp, name);
	struct stat st;
	if (lstat(target, &st) == 0)
		return err_set(e, ERR_STORAGE, "'%s' exists already (helm pull --untar would not replace it either)", target);
	if (file_remove_tree(tmp, e) < 0 || file_mkdirs(tmp, e) < 0)
		return -1;
	_cleanup_close_ int fd = memfd_create("chart", MFD_CLOEXEC);
	if (fd < 0 || file_pwrite_all(fd, tgz->data, tgz->len, 0) < 0)
		return err_sys(e, ERR_INTERNAL, errno, "cannot hold the chart in memory");
	struct unpack_source src = {.fd = fd, .size = tgz->len};
	char diff[OCI_DIGEST_LEN + 1];
	uint64_t bytes = 0;
	struct unpack_opts o = {.max_bytes = CHART_MAX_BYTES, .mode = UNPACK_ROOTFS};
	struct unpack_stats us = {0};
	int ret = -1;
	char **names = NULL;
	size_t n = 0;
	if (unpack_layer_diff_id(&src, UNPACK_GZIP, "chart", diff, &bytes, e) < 0)
		goto out;
	if (bytes > CHART_MAX_BYTES) {
		err_set(e, ERR_INTEGRITY, "the chart expands to %llu bytes, more than Helm's %llu",
			(unsigned long long)bytes, (unsigned long long)CHART_MAX_BYTES);
		goto out;
	}
	if (unpack_layer(tmp, &src, UNPACK_GZIP, diff, "chart", &o, &us, e) < 0 || file_list_dir(tmp, &names, &n, e) < 0)
		goto out;
	if (n != 1 || strcmp(names[0], name) != 0 || lstat(top, &st) < 0 || !S_ISDIR(st.st_mode)) {
		err_set(e, ERR_INTEGRITY, "the chart's archive holds %s%s%s%s, not the directory '%s' alone",
			n ? "'" : "nothing", n ? names[0] : "", n ? "'" : "", n > 1 ? " and more" : "", name);
		goto out;
	}
	// The target claimed by mkdir (EEXIST: something came there meanwhile), then
	// replaced, empty, by the rename (musl has no renameat2 for RENAME_NOREPLACE).
	if (mkdir(target, 0755) < 0) {
		err_sys(e, ERR_STORAGE, errno, "cannot make '%s'", target);
		goto out;
	}
	if (rename(top, target) < 0) {
		err_sys(e, ERR_STORAGE, errno, "cannot move the chart to '%s'", target);
		rmdir(target);
		goto out;
	}
	ret = 0;
out:
	file_list_free(names, n);
	struct err re;
	if (file_remove_tree(tmp, &re) < 0)
		log_warn("%s", re.msg);
	return ret;
}
