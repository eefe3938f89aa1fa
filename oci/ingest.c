// SPDX-License-Identifier: Apache-2.0
#include "oci/ingest.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "oci/digest.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

#define RECORD_MAX (64u << 20)   // a written-prefix per chunk: ~20 bytes each
#define RECORD_CHUNKS_MAX 4000000 // 64 KiB chunks of a 256 GB blob

void oci_ingest_init(struct oci_ingest *in, const struct oci_layout *l, const char *digest,
		     uint64_t size)
{
	memset(in, 0, sizeof(*in));
	in->l = l;
	in->digest = xstrdup(digest);
	in->size = size;
	in->lock_fd = -1;
	in->fd = -1;
	if (!l)
		return; // none to write into (pull --discard): nothing is locked or kept
	const char *hex = oci_digest_hex(digest);
	in->lock_path = oci_layout_blob_lock_path(l, digest);
	in->partial = xasprintf("%s/%s.partial", l->ingest_dir, hex);
	in->record = xasprintf("%s/%s.progress", l->ingest_dir, hex);
	in->lock_fd = -1;
	in->fd = -1;
}

void oci_ingest_record_release(struct oci_ingest_record *r)
{
	free(r->written);
	memset(r, 0, sizeof(*r));
}

static void forget_record(struct oci_ingest *in)
{
	oci_ingest_record_release(&in->rec);
}

bool oci_ingest_durable(const struct oci_ingest *in)
{
	return in->l && in->l->fsync;
}

const char *oci_ingest_partial_path(const struct oci_ingest *in)
{
	return in->partial;
}

int oci_ingest_write_failed(const struct oci_ingest *in, int en, struct err *e)
{
	if (en != ENOSPC && en != EDQUOT)
		return err_sys(e, ERR_STORAGE, en, "cannot write '%s'", in->partial);
	char fs[PATH_MAX + 96];
	file_fs_describe(in->partial, fs, sizeof(fs));
	return err_set(e, ERR_STORAGE, "no space left on %s writing blob %s: what was fetched stays in '%s' for a rerun",
		       fs, in->digest, in->l->ingest_dir);
}

int oci_ingest_try(struct oci_ingest *in, struct err *e)
{
	if (in->lock_fd >= 0)
		return OCI_INGEST_HELD;
	if (oci_layout_has_blob(in->l, in->digest, in->size))
		return OCI_INGEST_PRESENT;
	int r = oci_layout_blob_lock(in->lock_path, &in->lock_fd, e);
	if (r <= 0)
		return r < 0 ? -1 : OCI_INGEST_BUSY;
	// The holder we waited for may have finished it.
	if (oci_layout_has_blob(in->l, in->digest, in->size)) {
		oci_layout_blob_unlock(in->lock_path, &in->lock_fd);
		return OCI_INGEST_PRESENT;
	}
	return OCI_INGEST_HELD;
}

static uint64_t chunk_len(uint64_t size, uint64_t chunk, size_t k)
{
	uint64_t start = (uint64_t)k * chunk;
	return size - start < chunk ? size - start : chunk;
}

static int record_fail(struct err *e, const char *why)
{
	return err_set(e, ERR_STORAGE, "progress record: %s", why);
}

// A JSON number that is an exact non-negative integer below 2^53.
static bool json_u64(const cJSON *v, uint64_t *out)
{
	if (!cJSON_IsNumber(v))
		return false;
	double d = v->valuedouble;
	if (!(d >= 0) || d > 9007199254740992.0 || (double)(uint64_t)d != d)
		return false;
	*out = (uint64_t)d;
	return true;
}

uint64_t oci_ingest_allocated(const struct oci_layout *l, const char *digest)
{
	_cleanup_free_ char *p = xasprintf("%s/%s.partial", l->ingest_dir, oci_digest_hex(digest));
	struct stat st;
	return stat(p, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

// The written prefix contiguous from byte 0.
static uint64_t record_contig(const struct oci_ingest_record *r, uint64_t size)
{
	uint64_t pos = 0;
	for (size_t k = 0; k < r->n; k++) {
		pos = (uint64_t)k * r->chunk + r->written[k];
		if (r->written[k] < chunk_len(size, r->chunk, k))
			break;
	}
	return pos;
}

// What a record's header says, once checked against the blob.
struct record_head {
	uint64_t chunk;
	uint64_t hashed;      // 0: no prefix digest
	const char *boot_id;
	const cJSON *written; // an array, not yet read
};

// Checks everything but the written list's entries: digest, size, boot id,
// chunk size, a written list, the prefix length and its digest (into
// out->hashed_md).
static int record_check_head(const cJSON *root, const char *digest, uint64_t size, struct record_head *hd,
			     struct oci_ingest_record *out, struct err *e)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "digest");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "boot_id");
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(root, "written");
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "hashed");
	const cJSON *hmd = cJSON_GetObjectItemCaseSensitive(root, "hashed_digest");
	uint64_t rsize = 0, rchunk = 0, hashed = 0;
	size_t mdlen = 0;
	if (!cJSON_IsObject(root))
		return record_fail(e, "not a JSON object");
	if (!cJSON_IsString(d) || strcmp(d->valuestring, digest) != 0)
		return record_fail(e, "for another digest");
	if (!json_u64(cJSON_GetObjectItemCaseSensitive(root, "size"), &rsize) || rsize != size)
		return record_fail(e, "for another size");
	if (!cJSON_IsString(b) || !*b->valuestring)
		return record_fail(e, "no boot id");
	if (!json_u64(cJSON_GetObjectItemCaseSensitive(root, "chunk_size"), &rchunk) || rchunk == 0)
		return record_fail(e, "bad chunk size");
	if (!cJSON_IsArray(w))
		return record_fail(e, "no written list");
	if (h && (!json_u64(h, &hashed) || hashed > size))
		return record_fail(e, "bad hashed length");
	if (hashed && (!cJSON_IsString(hmd) || strcmp(oci_digest_alg(hmd->valuestring), oci_digest_alg(digest)) ||
		       !oci_digest_raw(hmd->valuestring, out->hashed_md, &mdlen)))
		return record_fail(e, "bad prefix digest");
	hd->chunk = rchunk;
	hd->hashed = hashed;
	hd->boot_id = b->valuestring;
	hd->written = w;
	return 0;
}

// One written prefix per chunk, none longer than its chunk.
static int record_read_written(const struct record_head *hd, uint64_t size, struct oci_ingest_record *out,
			       struct err *e)
{
	uint64_t want = size ? (size - 1) / hd->chunk + 1 : 0;
	if (want > RECORD_CHUNKS_MAX || (uint64_t)cJSON_GetArraySize(hd->written) != want)
		return record_fail(e, "chunk count does not match the size");
	out->written = xcalloc(want ? want : 1, sizeof(*out->written));
	out->chunk = hd->chunk;
	out->n = (size_t)want;
	size_t k = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, hd->written) {
		if (!json_u64(it, &out->written[k]) || out->written[k] > chunk_len(size, hd->chunk, k))
			return record_fail(e, "a chunk claims more than its length");
		k++;
	}
	return 0;
}

// Written before the last reboot: what the page cache held may be
// lost. Only the prefix whose digest it carries may be kept, once
// it hashes to that digest again.
static int record_from_other_boot(const struct record_head *hd, struct oci_ingest_record *out, struct err *e)
{
	uint64_t hashed = hd->hashed;
	if (!hashed)
		return record_fail(e, "written before the last reboot, with no prefix digest to check");
	out->other_boot = true;
	for (size_t k = 0; k < out->n; k++) {
		uint64_t start = (uint64_t)k * hd->chunk;
		out->written[k] = start >= hashed ? 0 : hashed - start < out->written[k] ? hashed - start
											 : out->written[k];
	}
	return 0;
}

int oci_ingest_record_parse(const char *text, size_t len, const char *digest, uint64_t size,
			    const char *boot_id, struct oci_ingest_record *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	cJSON *root = cJSON_ParseWithLength(text, len);
	struct record_head hd = {0};
	int ret = record_check_head(root, digest, size, &hd, out, e);
	if (ret == 0)
		ret = record_read_written(&hd, size, out, e);
	if (ret == 0 && hd.hashed > record_contig(out, size))
		ret = record_fail(e, "the hashed prefix is not all written");
	if (ret == 0 && strcmp(hd.boot_id, boot_id) != 0)
		ret = record_from_other_boot(&hd, out, e);
	if (ret == 0) {
		out->hashed = hd.hashed;
	} else {
		oci_ingest_record_release(out);
	}
	cJSON_Delete(root);
	return ret;
}

bool oci_ingest_kept_check(const struct oci_ingest *in, uint64_t *len, unsigned char md[OCI_DIGEST_MD_MAX])
{
	if (!in->rec.n || !in->rec.hashed)
		return false;
	*len = in->rec.hashed;
	memcpy(md, in->rec.hashed_md, OCI_DIGEST_MD_MAX);
	return true;
}

// Adopts the record if it is trustworthy and agrees with the partial file.
static void adopt_record(struct oci_ingest *in, uint64_t file_size)
{
	struct buf b;
	buf_init(&b, RECORD_MAX);
	struct err e;
	// Only a regular file of ingest/ is read: a FIFO there would hang the pull.
	_cleanup_free_ char *rel = xasprintf("ingest/%s.progress", oci_digest_hex(in->digest));
	if (oci_layout_read_file(in->l, rel, &b, &e) < 0) {
		if (e.cls != ERR_NOTFOUND)
			log_info("blob %s: %s; starting over", in->digest, e.msg);
		buf_release(&b);
		return;
	}
	if (!oci_ingest_record_intact(buf_str(&b), b.len)) {
		log_info("blob %s: its progress record is damaged (torn or changed); starting over", in->digest);
		buf_release(&b);
		return;
	}
	int r = oci_ingest_record_parse(buf_str(&b), b.len, in->digest, in->size, in->l->boot_id, &in->rec, &e);
	buf_release(&b);
	if (r < 0) {
		log_info("blob %s: %s; starting over", in->digest, e.msg);
		return;
	}
	if (in->rec.other_boot)
		log_info("blob %s: its progress record is from before the last reboot: keeping the first %llu bytes "
			 "if they hash as they did then", in->digest, (unsigned long long)in->rec.hashed);
	// The bytes it names must be inside the file.
	for (size_t k = 0; k < in->rec.n; k++) {
		if (in->rec.written[k] && (uint64_t)k * in->rec.chunk + in->rec.written[k] > file_size) {
			log_info("blob %s: progress record names bytes past the partial file's end; starting over",
				 in->digest);
			forget_record(in);
			return;
		}
	}
}

// The partial file opened (created) as a regular file: a link, a FIFO... in
// its place is removed, never written through nor waited on. -1 with errno.
static int partial_open(const struct oci_ingest *in)
{
	for (int i = 0; i < 2; i++) {
		int fd = open(in->partial, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fcntl(fd, F_SETFL, 0) == 0)
			return fd;
		int saved = errno;
		if (fd >= 0)
			close(fd);
		if (fd < 0 && saved != ELOOP)
			return -1;
		log_info("'%s' is not a regular file: removed", in->partial);
		if (unlink(in->partial) < 0 && errno != ENOENT)
			return -1;
	}
	errno = ELOOP;
	return -1;
}

int oci_ingest_open(struct oci_ingest *in, struct err *e)
{
	if (in->fd >= 0)
		return in->fd;
	int fd = partial_open(in);
	if (fd < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot create '%s'", in->partial);
	in->fd = fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot stat '%s'", in->partial);
	forget_record(in);
	if ((uint64_t)st.st_size <= in->size)
		adopt_record(in, (uint64_t)st.st_size);
	if (!in->rec.n) {
		// Nothing trustworthy: an empty file, and no stale record beside it.
		unlink(in->record);
		if (ftruncate(fd, 0) < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot truncate '%s'", in->partial);
	}
	if (in->size) {
		int r = posix_fallocate(fd, 0, (off_t)in->size);
		if (r == ENOSPC || r == EDQUOT) {
			char fs[PATH_MAX + 96];
			file_fs_describe(in->l->ingest_dir, fs, sizeof(fs));
			return err_set(e, ERR_STORAGE,
				       "no space left on %s for blob %s (%llu bytes): what was fetched stays in '%s' "
				       "for a rerun",
				       fs, in->digest, (unsigned long long)in->size, in->l->ingest_dir);
		}
		if (r && r != EOPNOTSUPP && r != EINVAL)
			return err_sys(e, ERR_STORAGE, r, "cannot allocate '%s'", in->partial);
	}
	return fd;
}

uint64_t oci_ingest_kept(const struct oci_ingest *in, uint64_t start, uint64_t end)
{
	if (!in->rec.n || start >= end)
		return 0;
	uint64_t pos = start;
	while (pos < end) {
		uint64_t k = pos / in->rec.chunk;
		if (k >= in->rec.n)
			break;
		uint64_t cs = k * in->rec.chunk, w = in->rec.written[k];
		if (pos - cs >= w)
			break;
		pos = cs + w;
		if (w < chunk_len(in->size, in->rec.chunk, (size_t)k))
			break;
	}
	return (pos < end ? pos : end) - start;
}

// A record's text carries a CRC-32 of itself (computed with its "check" value
// zeroed) and is padded with spaces to whole pages: when the disk is full it
// can be rewritten in place, needing no new block, and a write torn by a kill
// is detected instead of trusted.
#define RECORD_PAGE 4096
#define CHECK_AT 10 // {"check":"XXXXXXXX"

// The CRC-32 of text (len > CHECK_AT + 8) as if its check value were zeros.
static uint32_t record_crc(const char *text, size_t len)
{
	uLong c = crc32(0, (const Bytef *)text, CHECK_AT);
	c = crc32(c, (const Bytef *)"00000000", 8);
	return (uint32_t)crc32(c, (const Bytef *)text + CHECK_AT + 8, (uInt)(len - CHECK_AT - 8));
}

// The text sealed and padded to whole pages, and to at least min bytes.
static char *record_seal(const char *text, size_t min, size_t *out_len)
{
	size_t n = strlen(text);
	size_t padded = (n + 1 + RECORD_PAGE - 1) / RECORD_PAGE * RECORD_PAGE;
	if (padded < min)
		padded = min;
	char *rec = xmalloc(padded + 1);
	memcpy(rec, text, n);
	char hex[9];
	snprintf(hex, sizeof(hex), "%08x", record_crc(text, n));
	memcpy(rec + CHECK_AT, hex, 8);
	memset(rec + n, ' ', padded - n);
	rec[padded - 1] = '\n';
	rec[padded] = '\0';
	*out_len = padded;
	return rec;
}

bool oci_ingest_record_intact(const char *text, size_t len)
{
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\n'))
		len--;
	if (len < CHECK_AT + 10 || memcmp(text, "{\"check\":\"", CHECK_AT) != 0 || text[CHECK_AT + 8] != '"')
		return false;
	char hex[9];
	memcpy(hex, text + CHECK_AT, 8);
	hex[8] = '\0';
	char want[9];
	snprintf(want, sizeof(want), "%08x", record_crc(text, len));
	return strcmp(hex, want) == 0;
}

// In place, over the record's own pages (when the file is as large).
static int record_rewrite(const char *path, const char *rec, size_t len)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != len)
		return -1;
	return file_pwrite_all(fd, rec, len, 0);
}

// The record's text (NULL when it cannot be serialized).
static char *record_text(const struct oci_ingest *in, uint64_t chunk, const uint64_t *written, size_t n,
			 uint64_t hashed, const unsigned char *md)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "check", "00000000"); // first: see record_seal
	cJSON_AddStringToObject(o, "digest", in->digest);
	cJSON_AddNumberToObject(o, "size", (double)in->size);
	cJSON_AddNumberToObject(o, "chunk_size", (double)chunk);
	cJSON_AddStringToObject(o, "boot_id", in->l->boot_id);
	cJSON *w = cJSON_AddArrayToObject(o, "written");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(w, cJSON_CreateNumber((double)(written ? written[i] : chunk)));
	if (hashed) {
		char hd[OCI_DIGEST_LEN + 1];
		oci_digest_format_like(hd, in->digest, md);
		cJSON_AddNumberToObject(o, "hashed", (double)hashed);
		cJSON_AddStringToObject(o, "hashed_digest", hd);
	}
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

// The length every record of this blob is padded to: that of the longest one
// it can have (every chunk whole, the whole blob hashed), so that the first
// record reserves the pages every later one is rewritten over in place.
static size_t record_reserve(const struct oci_ingest *in, uint64_t chunk, size_t n)
{
	unsigned char md[OCI_DIGEST_MD_MAX] = {0};
	char *text = record_text(in, chunk, NULL, n, in->size ? in->size : 1, md);
	size_t len = 0;
	if (text) {
		free(record_seal(text, 0, &len));
		free(text);
	}
	return len;
}

int oci_ingest_save(struct oci_ingest *in, uint64_t chunk, const uint64_t *written, size_t n,
		    uint64_t hashed, const unsigned char *md, struct err *e)
{
	if (in->lock_fd < 0)
		return err_set(e, ERR_INTERNAL, "progress of %s saved without its lock", in->digest);
	if (!in->record_len || in->record_chunks != n) {
		in->record_len = record_reserve(in, chunk, n);
		in->record_chunks = n;
	}
	char *text = record_text(in, chunk, written, n, hashed, md);
	if (!text)
		return err_set(e, ERR_INTERNAL, "cannot serialize the progress of %s", in->digest);
	size_t len;
	char *rec = record_seal(text, in->record_len, &len);
	free(text);
	// Not synced: after a reboot only its prefix digest is trusted, and only
	// once the prefix hashes to it again.
	int r = file_replace(in->record, rec, len, e);
	if (r < 0 && record_rewrite(in->record, rec, len) == 0) {
		err_clear(e); // the disk is full, but the record's own pages were there
		r = 0;
	}
	free(rec);
	return r;
}

int oci_ingest_reset(struct oci_ingest *in, struct err *e)
{
	forget_record(in);
	unlink(in->record);
	if (in->fd >= 0 && ftruncate(in->fd, 0) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot truncate '%s'", in->partial);
	if (in->fd >= 0 && in->size) {
		int r = posix_fallocate(in->fd, 0, (off_t)in->size);
		if (r && r != EOPNOTSUPP && r != EINVAL)
			return err_sys(e, ERR_STORAGE, r, "cannot allocate '%s'", in->partial);
	}
	return 0;
}

int oci_ingest_commit(struct oci_ingest *in, struct err *e)
{
	if (in->lock_fd < 0 || in->fd < 0)
		return err_set(e, ERR_INTERNAL, "blob %s committed without its lock", in->digest);
	struct stat st;
	if (fstat(in->fd, &st) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot stat '%s'", in->partial);
	if ((uint64_t)st.st_size != in->size)
		return err_set(e, ERR_INTEGRITY, "partial file of %s is %llu bytes, expected %llu", in->digest,
			       (unsigned long long)st.st_size, (unsigned long long)in->size);
	if (oci_layout_commit_blob(in->l, in->digest, in->fd, in->partial, e) < 0)
		return -1;
	unlink(in->record);
	forget_record(in);
	close(in->fd);
	in->fd = -1;
	oci_layout_blob_unlock(in->lock_path, &in->lock_fd);
	return 0;
}

void oci_ingest_discard(struct oci_ingest *in)
{
	if (in->lock_fd < 0)
		return;
	unlink(in->partial);
	unlink(in->record);
	forget_record(in);
}

void oci_ingest_release(struct oci_ingest *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
	oci_layout_blob_unlock(in->lock_path, &in->lock_fd);
	forget_record(in);
	free(in->digest);
	free(in->lock_path);
	free(in->partial);
	free(in->record);
	memset(in, 0, sizeof(*in));
	in->lock_fd = in->fd = -1;
}
