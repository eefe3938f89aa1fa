// SPDX-License-Identifier: Apache-2.0
// Layers for the unpack tests: tars built in memory with libarchive, as Go's
// archive/tar writes them, compressed and written to an unlinked file.
// Include after <cmocka.h>.
#ifndef IMGPULL_TEST_TAR_BUILD_H
#define IMGPULL_TEST_TAR_BUILD_H

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "oci/digest.h"
#include "unpack/layer.h"
#include "util/file.h"

// A tar being built in memory.
struct tarb {
	struct archive *a;
	void *buf;
	size_t cap, used;
};

// Layers are written as Go's archive/tar writes them (pax records in UTF-8,
// hence a UTF-8 locale here) and applied in the C locale imgpull runs in.
static void tar_begin(struct tarb *t)
{
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	t->cap = 8u << 20;
	t->buf = calloc(1, t->cap);
	t->a = archive_write_new();
	archive_write_set_format_pax_restricted(t->a);
	archive_write_set_bytes_in_last_block(t->a, 1);
	assert_int_equal(archive_write_open_memory(t->a, t->buf, t->cap, &t->used), ARCHIVE_OK);
}

// One entry as the tests write it: owner 1234:2345 and mtime 1000000 unless
// set (uid/gid -1 and mtime 0 take those), xattrs "name=value" (NULL-ended).
struct tar_ent {
	const char *name;
	mode_t type, perm;
	const char *data, *link;
	long uid, gid;
	long long mtime;
	const char *const *xattrs;
};

static void tar_put(struct tarb *t, const struct tar_ent *te)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, te->name);
	archive_entry_set_filetype(e, te->type);
	archive_entry_set_perm(e, te->perm);
	archive_entry_set_mtime(e, te->mtime ? te->mtime : 1000000, 0);
	archive_entry_set_uid(e, te->uid >= 0 ? te->uid : 1234);
	archive_entry_set_gid(e, te->gid >= 0 ? te->gid : 2345);
	if (te->type == AE_IFLNK)
		archive_entry_set_symlink(e, te->link);
	else if (te->link)
		archive_entry_set_hardlink(e, te->link);
	for (size_t i = 0; te->xattrs && te->xattrs[i]; i++) {
		const char *eq = strchr(te->xattrs[i], '=');
		char k[256];
		snprintf(k, sizeof(k), "%.*s", (int)(eq - te->xattrs[i]), te->xattrs[i]);
		archive_entry_xattr_add_entry(e, k, eq + 1, strlen(eq + 1));
	}
	const char *data = te->data;
	archive_entry_set_size(e, data && !te->link ? (la_int64_t)strlen(data) : 0);
	assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
	if (data && !te->link)
		assert_int_equal(archive_write_data(t->a, data, strlen(data)), (la_ssize_t)strlen(data));
	archive_entry_free(e);
}

static void tar_add(struct tarb *t, const char *name, mode_t type, mode_t perm, const char *data, const char *link)
{
	tar_put(t, &(struct tar_ent){name, type, perm, data, link, -1, -1, 0, NULL});
}

// Ends the tar, compresses it as c, writes it to a file; *diff_id from the tar.
static int tar_end(struct tarb *t, enum unpack_compression c, char diff_id[OCI_DIGEST_LEN + 1], size_t *size)
{
	assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
	archive_write_free(t->a);
	setlocale(LC_CTYPE, "C");
	oci_digest_of(diff_id, t->buf, t->used);
	size_t bound = t->used + t->used / 2 + 4096;
	unsigned char *out = malloc(bound);
	size_t n = t->used;
	if (c == UNPACK_TAR) {
		memcpy(out, t->buf, t->used);
	} else if (c == UNPACK_ZSTD) {
		n = ZSTD_compress(out, bound, t->buf, t->used, 3);
		assert_false(ZSTD_isError(n));
	} else {
		z_stream z = {0};
		assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
		z.next_in = t->buf;
		z.avail_in = (uInt)t->used;
		z.next_out = out;
		z.avail_out = (uInt)bound;
		assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
		n = z.total_out;
		deflateEnd(&z);
	}
	char path[] = "/tmp/imgpull-layer-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(file_pwrite_all(fd, out, n, 0), 0);
	free(out);
	free(t->buf);
	*size = n;
	return fd;
}

#endif
