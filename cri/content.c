// SPDX-License-Identifier: Apache-2.0
#include "cri/content.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/digest.h"
#include "util/file.h"
#include "util/mem.h"

#define CONTENT_DIR "io.containerd.content.v1.content"

// A synced copy of src into dst (created, 0644), with copy_file_range.
static int copy_file(const char *src, const char *dst, uint64_t size, struct err *e)
{
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot open '%s'", src);
	_cleanup_close_ int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot create '%s'", dst);
	uint64_t left = size;
	while (left) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, left > (1u << 30) ? (1u << 30) : (size_t)left, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_sys(e, ERR_STORAGE, n < 0 ? errno : EIO, "cannot copy '%s' to '%s'", src, dst);
		left -= (uint64_t)n;
	}
	if (fsync(out) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot sync '%s'", dst);
	return 0;
}

int cri_content_put(const char *root, const struct oci_layout *l, const char *digest, uint64_t size,
		    bool *linked, struct err *e)
{
	*linked = false;
	const char *hex = oci_digest_hex(digest);
	// containerd's content store keeps blobs/<algorithm>/<hex> as the layout does.
	_cleanup_free_ char *blobs = xasprintf("%s/" CONTENT_DIR "/blobs/%s", root, oci_digest_alg(digest));
	_cleanup_free_ char *target = xasprintf("%s/%s", blobs, hex);
	struct stat st;
	if (stat(target, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size)
		return 0;
	// containerd 2.x makes ingest/ at its first write, not at startup as 1.6 does.
	_cleanup_free_ char *ingests = xasprintf("%s/" CONTENT_DIR "/ingest", root);
	_cleanup_free_ char *ingest = xasprintf("%s/imgpull-%s-%d", ingests, hex, (int)getpid());
	_cleanup_free_ char *data = xasprintf("%s/data", ingest);
	_cleanup_free_ char *src = oci_layout_blob_path(l, digest);
	if (file_mkdirs(blobs, e) < 0 || file_mkdirs(ingests, e) < 0)
		return -1;
	if (mkdir(ingest, 0755) < 0 && errno != EEXIST)
		return err_sys(e, ERR_STORAGE, errno, "cannot create '%s'", ingest);
	unlink(data); // a leftover of this pid's earlier run
	int ret = 0;
	if (link(src, data) == 0) {
		*linked = true;
	} else if (errno == EXDEV || errno == EPERM || errno == EMLINK) {
		ret = copy_file(src, data, size, e);
	} else {
		ret = err_sys(e, ERR_STORAGE, errno, "cannot link '%s' into '%s'", src, ingest);
	}
	// Read-only, as containerd leaves its blobs (a hard link shares the mode,
	// and the layout's blobs are never written either).
	if (ret == 0 && chmod(data, 0444) < 0)
		ret = err_sys(e, ERR_STORAGE, errno, "cannot make '%s' read-only", data);
	if (ret == 0 && rename(data, target) < 0)
		ret = err_sys(e, ERR_STORAGE, errno, "cannot move '%s' into containerd's content store", data);
	if (ret == 0) {
		utimensat(AT_FDCWD, target, NULL, 0); // the commit time, as containerd sets it
		file_fsync_dir(blobs, e);
	}
	if (ret < 0)
		unlink(data);
	rmdir(ingest);
	return ret < 0 ? -1 : 1;
}
