// SPDX-License-Identifier: Apache-2.0
// oci/ingest: the progress record (parsing, what it lets a taker keep) and the
// per-blob lock: one writer at a time, also between two users in one process,
// a blob found committed, a lock file replaced under a waiter.
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "oci/digest.h"
#include "oci/ingest.h"
#include "oci/layout.h"
#include "util/err.h"
#include "util/file.h"

#define D "sha256:0000000000000000000000000000000000000000000000000000000000000001"
#define BOOT "boot-a"

static int parse(const char *text, uint64_t size, uint64_t *chunk, uint64_t **w, size_t *n)
{
	struct err e;
	struct oci_ingest_record r;
	int ret = oci_ingest_record_parse(text, strlen(text), D, size, BOOT, &r, &e);
	*chunk = r.chunk;
	*w = r.written; // the caller frees it
	*n = r.n;
	return ret;
}

static void test_record_good(void **state)
{
	(void)state;
	uint64_t chunk, *w;
	size_t n;
	assert_int_equal(parse("{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT
			       "\",\"written\":[4,1,2]}", 10, &chunk, &w, &n), 0);
	assert_int_equal(chunk, 4);
	assert_int_equal(n, 3);
	assert_int_equal(w[0], 4);
	assert_int_equal(w[1], 1);
	assert_int_equal(w[2], 2);
	free(w);
	// A single stream: one chunk as long as the blob.
	assert_int_equal(parse("{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":10,\"boot_id\":\"" BOOT
			       "\",\"written\":[7]}", 10, &chunk, &w, &n), 0);
	assert_int_equal(n, 1);
	free(w);
}

static void test_record_bad(void **state)
{
	(void)state;
	// Each row names the reason the message must give.
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"", "not a JSON object"},
		{"[]", "not a JSON object"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"boot-b\",\"written\":[4,1,2]}",
		 "written before the last reboot, with no prefix digest to check"},
		{"{\"digest\":\"sha256:00\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT "\",\"written\":[4,1,2]}",
		 "for another digest"},
		{"{\"digest\":7,\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT "\",\"written\":[4,1,2]}",
		 "for another digest"},
		{"{\"digest\":\"" D "\",\"size\":11,\"chunk_size\":4,\"boot_id\":\"" BOOT "\",\"written\":[4,1,2]}",
		 "for another size"},
		{"{\"digest\":\"" D "\",\"chunk_size\":4,\"boot_id\":\"" BOOT "\",\"written\":[4,1,2]}",
		 "for another size"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":0,\"boot_id\":\"" BOOT "\",\"written\":[]}",
		 "bad chunk size"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT "\",\"written\":[4,1]}",
		 "chunk count does not match the size"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT "\",\"written\":[4,1,2,0]}",
		 "chunk count does not match the size"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT "\",\"written\":[5,1,2]}",
		 "a chunk claims more than its length"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT "\",\"written\":[4,1,3]}",
		 "a chunk claims more than its length"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT "\",\"written\":[4,-1,2]}",
		 "a chunk claims more than its length"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT "\",\"written\":[4,1.5,2]}",
		 "a chunk claims more than its length"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT "\",\"written\":[4,\"1\",2]}",
		 "a chunk claims more than its length"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4.5,\"boot_id\":\"" BOOT "\",\"written\":[4,1,2]}",
		 "bad chunk size"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"written\":[4,1,2]}", "no boot id"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"\",\"written\":[4,1,2]}",
		 "no boot id"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":1,\"boot_id\":\"" BOOT "\",\"written\":{}}",
		 "no written list"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct oci_ingest_record rec = {.n = 99, .written = (uint64_t *)1};
		struct err e;
		int r = oci_ingest_record_parse(bad[i].text, strlen(bad[i].text), D, 10, BOOT, &rec, &e);
		if (r == 0)
			fail_msg("accepted bad record %zu: %s", i, bad[i].text);
		assert_null(rec.written);
		assert_int_equal(rec.n, 0);
		assert_int_equal(e.cls, ERR_STORAGE);
		if (!strstr(e.msg, bad[i].why))
			fail_msg("record %zu: message \"%s\" lacks \"%s\"", i, e.msg, bad[i].why);
	}
}

// An empty blob has no chunks; a size needing more chunks than a record may
// hold is refused before anything is allocated for them.
static void test_record_chunk_count(void **state)
{
	(void)state;
	struct err e;
	struct oci_ingest_record r = {.n = 99};
	const char *empty = "{\"digest\":\"" D "\",\"size\":0,\"chunk_size\":4,\"boot_id\":\"" BOOT
			    "\",\"written\":[]}";
	assert_int_equal(oci_ingest_record_parse(empty, strlen(empty), D, 0, BOOT, &r, &e), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.chunk, 4);
	assert_false(r.other_boot);
	oci_ingest_record_release(&r);
	const char *many = "{\"digest\":\"" D "\",\"size\":4000001,\"chunk_size\":1,\"boot_id\":\"" BOOT
			   "\",\"written\":[]}";
	assert_int_equal(oci_ingest_record_parse(many, strlen(many), D, 4000001, BOOT, &r, &e), -1);
	assert_null(r.written);
	assert_non_null(strstr(e.msg, "chunk count does not match the size"));
}

// The digest of the prefix [0, hashed): after a reboot only that prefix is
// kept (and the caller must hash it again); a prefix digest that covers
// unwritten bytes, or is malformed, makes the record worthless.
#define PD "sha256:00000000000000000000000000000000000000000000000000000000000000ff"
#define PD512 "0000000000000000000000000000000000000000000000000000000000000000" \
	      "00000000000000000000000000000000000000000000000000000000000000ff"
static void test_record_prefix(void **state)
{
	(void)state;
	struct err e;
	struct oci_ingest_record r;
	const char *same = "{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT
			   "\",\"written\":[4,2,2],\"hashed\":5,\"hashed_digest\":\"" PD "\"}";
	assert_int_equal(oci_ingest_record_parse(same, strlen(same), D, 10, BOOT, &r, &e), 0);
	assert_false(r.other_boot);
	assert_int_equal(r.hashed, 5);
	assert_int_equal(r.hashed_md[31], 0xff);
	assert_int_equal(r.written[1], 2); // this boot: everything written is kept
	assert_int_equal(r.written[2], 2);
	oci_ingest_record_release(&r);
	assert_int_equal(oci_ingest_record_parse(same, strlen(same), D, 10, "boot-b", &r, &e), 0);
	assert_true(r.other_boot);
	assert_int_equal(r.written[0], 4);
	assert_int_equal(r.written[1], 1); // clipped to the hashed prefix
	assert_int_equal(r.written[2], 0);
	oci_ingest_record_release(&r);
	// A record without a prefix digest ("hashed" 0 or absent) keeps all of
	// this boot's bytes.
	const char *zero = "{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT
			   "\",\"written\":[4,2,2],\"hashed\":0}";
	assert_int_equal(oci_ingest_record_parse(zero, strlen(zero), D, 10, BOOT, &r, &e), 0);
	assert_false(r.other_boot);
	assert_int_equal(r.hashed, 0);
	assert_int_equal(r.written[2], 2);
	oci_ingest_record_release(&r);
	// Each row names the reason the message must give.
	static const struct {
		const char *text, *why;
	} bad[] = {
		// hashed beyond the contiguous written prefix (6 bytes)
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT
		 "\",\"written\":[4,2,2],\"hashed\":7,\"hashed_digest\":\"" PD "\"}",
		 "the hashed prefix is not all written"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT
		 "\",\"written\":[4,4,2],\"hashed\":11,\"hashed_digest\":\"" PD "\"}",
		 "bad hashed length"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT
		 "\",\"written\":[4,2,2],\"hashed\":4,\"hashed_digest\":\"sha256:00ff\"}",
		 "bad prefix digest"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT
		 "\",\"written\":[4,2,2],\"hashed\":4}",
		 "bad prefix digest"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT
		 "\",\"written\":[4,2,2],\"hashed\":4,\"hashed_digest\":5}",
		 "bad prefix digest"},
		// a prefix digest in another algorithm than the blob's
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT
		 "\",\"written\":[4,2,2],\"hashed\":4,\"hashed_digest\":\"sha512:" PD512 "\"}",
		 "bad prefix digest"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT
		 "\",\"written\":[4,2,2],\"hashed\":-4,\"hashed_digest\":\"" PD "\"}",
		 "bad hashed length"},
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"" BOOT
		 "\",\"written\":[4,2,2],\"hashed\":\"4\",\"hashed_digest\":\"" PD "\"}",
		 "bad hashed length"},
		// from another boot, the prefix digest it carries being 0 bytes long
		{"{\"digest\":\"" D "\",\"size\":10,\"chunk_size\":4,\"boot_id\":\"boot-b"
		 "\",\"written\":[4,2,2],\"hashed\":0,\"hashed_digest\":\"" PD "\"}",
		 "written before the last reboot, with no prefix digest to check"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (oci_ingest_record_parse(bad[i].text, strlen(bad[i].text), D, 10, BOOT, &r, &e) == 0)
			fail_msg("accepted bad record %zu: %s", i, bad[i].text);
		assert_null(r.written);
		assert_int_equal(e.cls, ERR_STORAGE);
		if (!strstr(e.msg, bad[i].why))
			fail_msg("record %zu: message \"%s\" lacks \"%s\"", i, e.msg, bad[i].why);
	}
}

struct fixture {
	char dir[64];
	struct oci_layout l;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/imgpull-ingest-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	struct err e;
	assert_int_equal(oci_layout_open(&f->l, f->dir, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	oci_layout_release(&f->l);
	free(f);
	return 0;
}

// The digest of "hello\n" and a size to go with it.
#define HELLO "hello\n"
#define HELLO_D "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

static void test_lock_one_writer(void **state)
{
	struct fixture *f = *state;
	struct err e;
	struct oci_ingest a, b;
	oci_ingest_init(&a, &f->l, HELLO_D, 6);
	oci_ingest_init(&b, &f->l, HELLO_D, 6);
	assert_int_equal(oci_ingest_try(&a, &e), OCI_INGEST_HELD);
	// A second user in the same process is kept out too (flock is per open file).
	assert_int_equal(oci_ingest_try(&b, &e), OCI_INGEST_BUSY);
	int fd = oci_ingest_open(&a, &e);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, HELLO, 3, 0), 3);
	uint64_t w[] = {3};
	assert_int_equal(oci_ingest_save(&a, 6, w, 1, 0, NULL, &e), 0);
	// a goes away without committing: b takes over and keeps the 3 bytes.
	oci_ingest_release(&a);
	assert_int_equal(oci_ingest_try(&b, &e), OCI_INGEST_HELD);
	fd = oci_ingest_open(&b, &e);
	assert_true(fd >= 0);
	assert_int_equal(oci_ingest_kept(&b, 0, 6), 3);
	assert_int_equal(oci_ingest_kept(&b, 3, 6), 0);
	assert_int_equal(pwrite(fd, HELLO + 3, 3, 3), 3);
	// The caller verified the digest; commit moves it into blobs/.
	assert_int_equal(oci_ingest_commit(&b, &e), 0);
	assert_true(oci_layout_has_blob(&f->l, HELLO_D, 6));
	assert_int_equal(oci_layout_verify_blob(&f->l, HELLO_D, NULL, NULL, &e), 1);
	oci_ingest_release(&b);
	// Whoever comes now finds it there, and nothing is left in ingest/.
	struct oci_ingest c;
	oci_ingest_init(&c, &f->l, HELLO_D, 6);
	assert_int_equal(oci_ingest_try(&c, &e), OCI_INGEST_PRESENT);
	struct stat st;
	assert_int_equal(stat(c.partial, &st), -1);
	assert_int_equal(stat(c.record, &st), -1);
	assert_int_equal(stat(c.lock_path, &st), -1);
	oci_ingest_release(&c);
}

// A record is sealed with a CRC-32: one changed byte, or a write torn between
// an old and a new record, makes it worthless instead of trusted.
static void test_record_seal(void **state)
{
	struct fixture *f = *state;
	struct err e;
	struct oci_ingest a;
	oci_ingest_init(&a, &f->l, HELLO_D, 6);
	assert_int_equal(oci_ingest_try(&a, &e), OCI_INGEST_HELD);
	int fd = oci_ingest_open(&a, &e);
	assert_int_equal(pwrite(fd, HELLO, 4, 0), 4);
	uint64_t w[] = {4};
	assert_int_equal(oci_ingest_save(&a, 6, w, 1, 0, NULL, &e), 0);
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(file_read_all(a.record, &b, &e), 0);
	assert_int_equal(b.len % 4096, 0); // whole pages: rewritable in place
	assert_true(oci_ingest_record_intact(b.data, b.len));
	char *p = strstr(b.data, "[4]");
	assert_non_null(p);
	p[1] = '5'; // claims a byte more
	assert_false(oci_ingest_record_intact(b.data, b.len));
	p[1] = '4';
	b.data[3] ^= 1; // the check itself damaged
	assert_false(oci_ingest_record_intact(b.data, b.len));
	b.data[3] ^= 1;
	assert_true(oci_ingest_record_intact(b.data, b.len));
	// Damaged on disk: whoever takes the blob over keeps nothing.
	p[1] = '5';
	assert_int_equal(file_replace(a.record, b.data, b.len, &e), 0);
	oci_ingest_release(&a);
	struct oci_ingest c;
	oci_ingest_init(&c, &f->l, HELLO_D, 6);
	assert_int_equal(oci_ingest_try(&c, &e), OCI_INGEST_HELD);
	assert_true(oci_ingest_open(&c, &e) >= 0);
	assert_int_equal(oci_ingest_kept(&c, 0, 6), 0);
	oci_ingest_release(&c);
	buf_release(&b);
	assert_false(oci_ingest_record_intact("", 0));
	assert_false(oci_ingest_record_intact("{\"digest\":1}", 12));
}

static void test_waiter_after_commit(void **state)
{
	struct fixture *f = *state;
	struct err e;
	struct oci_ingest a, b;
	oci_ingest_init(&a, &f->l, HELLO_D, 6);
	oci_ingest_init(&b, &f->l, HELLO_D, 6);
	assert_int_equal(oci_ingest_try(&a, &e), OCI_INGEST_HELD);
	// b has the old lock file open when a removes it at commit.
	int old = open(b.lock_path, O_RDWR);
	assert_true(old >= 0);
	int fd = oci_ingest_open(&a, &e);
	assert_int_equal(pwrite(fd, HELLO, 6, 0), 6);
	assert_int_equal(oci_ingest_commit(&a, &e), 0);
	close(old);
	assert_int_equal(oci_ingest_try(&b, &e), OCI_INGEST_PRESENT);
	oci_ingest_release(&a);
	oci_ingest_release(&b);
}

static void test_untrusted_record_starts_over(void **state)
{
	struct fixture *f = *state;
	struct err e;
	struct oci_ingest a;
	oci_ingest_init(&a, &f->l, HELLO_D, 6);
	assert_int_equal(oci_ingest_try(&a, &e), OCI_INGEST_HELD);
	// A partial with a record from another boot: nothing is kept.
	assert_int_equal(file_replace(a.partial, "hel", 3, &e), 0);
	const char *rec = "{\"digest\":\"" HELLO_D "\",\"size\":6,\"chunk_size\":6,\"boot_id\":\"other\",\"written\":[3]}";
	assert_int_equal(file_replace(a.record, rec, strlen(rec), &e), 0);
	assert_true(oci_ingest_open(&a, &e) >= 0);
	assert_int_equal(oci_ingest_kept(&a, 0, 6), 0);
	struct stat st;
	assert_int_equal(stat(a.record, &st), -1);
	oci_ingest_release(&a);
}

static void test_kept_across_chunk_sizes(void **state)
{
	struct fixture *f = *state;
	struct err e;
	struct oci_ingest a;
	oci_ingest_init(&a, &f->l, D, 10);
	assert_int_equal(oci_ingest_try(&a, &e), OCI_INGEST_HELD);
	assert_true(oci_ingest_open(&a, &e) >= 0);
	uint64_t w[] = {4, 4, 1}; // bytes 0-8 of 10 in chunks of 4
	assert_int_equal(oci_ingest_save(&a, 4, w, 3, 0, NULL, &e), 0);
	oci_ingest_release(&a);
	oci_ingest_init(&a, &f->l, D, 10);
	assert_int_equal(oci_ingest_try(&a, &e), OCI_INGEST_HELD);
	assert_true(oci_ingest_open(&a, &e) >= 0);
	// Read with chunks of 3: [0,3) [3,6) [6,9) [9,10)
	assert_int_equal(oci_ingest_kept(&a, 0, 3), 3);
	assert_int_equal(oci_ingest_kept(&a, 3, 6), 3);
	assert_int_equal(oci_ingest_kept(&a, 6, 9), 3);
	assert_int_equal(oci_ingest_kept(&a, 9, 10), 0);
	assert_int_equal(oci_ingest_kept(&a, 0, 10), 9);
	oci_ingest_release(&a);
}

// The first record reserves the pages of the longest one the blob can have:
// the fullest record has the same length, so it can be rewritten in place on
// a full disk.
static void test_record_reserves_longest(void **state)
{
	struct fixture *f = *state;
	struct err e;
	struct oci_ingest a;
	uint64_t size = 40000ull << 20, chunk = 4 << 20;
	size_t n = (size_t)(size / chunk);
	oci_ingest_init(&a, &f->l, D, size);
	assert_int_equal(oci_ingest_try(&a, &e), OCI_INGEST_HELD);
	uint64_t *w = calloc(n, sizeof(*w));
	assert_non_null(w);
	unsigned char md[OCI_DIGEST_MD_MAX] = {0};
	assert_int_equal(oci_ingest_save(&a, chunk, w, n, 0, md, &e), 0);
	struct stat first, full;
	assert_int_equal(stat(a.record, &first), 0);
	assert_true(first.st_size > 4096); // 10 000 chunks do not fit a page
	for (size_t i = 0; i < n; i++)
		w[i] = chunk;
	assert_int_equal(oci_ingest_save(&a, chunk, w, n, size, md, &e), 0);
	assert_int_equal(stat(a.record, &full), 0);
	assert_int_equal(full.st_size, first.st_size);
	free(w);
	oci_ingest_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_good),
		cmocka_unit_test(test_record_bad),
		cmocka_unit_test(test_record_chunk_count),
		cmocka_unit_test(test_record_prefix),
		cmocka_unit_test_setup_teardown(test_lock_one_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiter_after_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_record_starts_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_seal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_across_chunk_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_reserves_longest, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
