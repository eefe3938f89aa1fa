// SPDX-License-Identifier: Apache-2.0
// Content-Range parsing: valid forms, every way to be malformed, overflow, a
// generated round trip and a deterministic fuzz loop.
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pull/range.h"

static void expect_ok(const char *value, uint64_t first, uint64_t last, uint64_t total)
{
	uint64_t f = 1, l = 2, t = 3;
	struct err e = { 0 };
	if (pull_content_range_parse(value, &f, &l, &t, &e) != 0)
		fail_msg("parse of [%s] failed: %s", value, e.msg);
	assert_int_equal(e.cls, ERR_NONE);
	assert_int_equal(f, first);
	assert_int_equal(l, last);
	assert_int_equal(t, total);
}

static void check_err_msg(const struct err *e, const char *value)
{
	assert_int_equal(e->cls, ERR_NETWORK);
	size_t mlen = strlen(e->msg);
	assert_true(mlen > 0);
	for (size_t i = 0; i < mlen; i++) {
		unsigned char c = (unsigned char)e->msg[i];
		assert_true(c >= 0x20 && c != 0x7f);
	}
	size_t vlen = value ? strlen(value) : 0;
	for (size_t i = 0; i + 65 <= vlen; i++)
		assert_null(memmem(e->msg, mlen, value + i, 65));
}

static void expect_fail(const char *value)
{
	// Outputs keep their values on failure.
	uint64_t f = 11, l = 22, t = 33;
	struct err e = { 0 };
	if (pull_content_range_parse(value, &f, &l, &t, &e) != -1)
		fail_msg("parse of [%s] unexpectedly succeeded", value);
	check_err_msg(&e, value);
	assert_int_equal(f, 11);
	assert_int_equal(l, 22);
	assert_int_equal(t, 33);
}

static void test_valid(void **state)
{
	(void)state;
	expect_ok("bytes 0-99/1000", 0, 99, 1000);
	expect_ok("bytes 0-99/*", 0, 99, PULL_RANGE_TOTAL_UNKNOWN);
	expect_ok("bytes 0-0/1", 0, 0, 1);
	expect_ok("bytes 999-999/1000", 999, 999, 1000);
	expect_ok("bytes 500-999/1000", 500, 999, 1000);
	expect_ok("bytes 42-41000000000/*", 42, 41000000000ULL, PULL_RANGE_TOTAL_UNKNOWN);
	// 30 GB blob, last chunk.
	expect_ok("bytes 32212254720-32212254719999/32212254720000", 32212254720ULL,
		  32212254719999ULL, 32212254720000ULL);
	// Leading zeros are digits like any other (1*DIGIT).
	expect_ok("bytes 007-009/010", 7, 9, 10);
}

static void test_case_and_space(void **state)
{
	(void)state;
	expect_ok("BYTES 1-2/3", 1, 2, 3);
	expect_ok("Bytes 1-2/3", 1, 2, 3);
	expect_ok("bYtEs 1-2/*", 1, 2, PULL_RANGE_TOTAL_UNKNOWN);
	expect_ok("  bytes 1-2/3", 1, 2, 3);
	expect_ok("bytes 1-2/3  ", 1, 2, 3);
	expect_ok("\tbytes\t1-2/3\t", 1, 2, 3);
	expect_ok("bytes    1-2/3", 1, 2, 3);
}

static void test_limits(void **state)
{
	(void)state;
	// UINT64_MAX is the "unknown" sentinel and the one value whose +1 wraps,
	// so it is refused everywhere; one below is the largest accepted.
	expect_ok("bytes 0-18446744073709551613/18446744073709551614", 0,
		  UINT64_MAX - 2, UINT64_MAX - 1);
	expect_ok("bytes 18446744073709551614-18446744073709551614/*", UINT64_MAX - 1,
		  UINT64_MAX - 1, PULL_RANGE_TOTAL_UNKNOWN);
	expect_fail("bytes 0-99/18446744073709551615");
	expect_fail("bytes 0-18446744073709551615/*");
	expect_fail("bytes 18446744073709551615-18446744073709551615/*");
	// Overflow, including 20+ digit numbers.
	expect_fail("bytes 0-99/18446744073709551616");
	expect_fail("bytes 0-99/99999999999999999999");
	expect_fail("bytes 0-99/100000000000000000000000000000");
	expect_fail("bytes 0-18446744073709551616/*");
	expect_fail("bytes 18446744073709551616-18446744073709551617/*");
	expect_fail("bytes 0-1/000000000000000000000000000000000000000000099999999999999999999");

	// Many leading zeros are not an overflow.
	expect_ok("bytes 0000000000000000000000000-00000000000000000000000001/0000000000000000000000002",
		  0, 1, 2);
}

static void test_inconsistent(void **state)
{
	(void)state;
	expect_fail("bytes 100-99/1000");
	expect_fail("bytes 1-0/*");
	expect_fail("bytes 0-1000/1000");
	expect_fail("bytes 0-1001/1000");
	expect_fail("bytes 0-0/0");
	expect_fail("bytes 5-5/5");
}

static void test_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		" ",
		"bytes",
		"bytes ",
		"bytes\t",
		// unsatisfied-range is for 416, not for a 206
		"bytes */1000",
		"bytes */*",
		"bytes * /1000",
		// missing pieces
		"bytes 0-99",
		"bytes 0-99/",
		"bytes 0-/1000",
		"bytes -99/1000",
		"bytes -/1000",
		"bytes 0/1000",
		"bytes 0",
		"bytes /1000",
		"0-99/1000",
		"bytes 99/1000",
		// spaces inside the range
		"bytes 0 -99/1000",
		"bytes 0- 99/1000",
		"bytes 0-99 /1000",
		"bytes 0-99/ 1000",
		"bytes 0-99/ *",
		// junk after
		"bytes 0-99/1000x",
		"bytes 0-99/1000 x",
		"bytes 0-99/1000,bytes 0-1/2",
		"bytes 0-99/1000/1000",
		"bytes 0-99/**",
		"bytes 0-99/*0",
		"bytes 0-99-100/1000",
		"bytes 0-99/1000\r\n",
		"bytes 0-99/1000\n",
		"bytes 0-99/1000\x01",
		// signs, bases, other notation
		"bytes +0-99/1000",
		"bytes 0-+99/1000",
		"bytes 0-99/-1",
		"bytes 0x10-0x20/1000",
		"bytes 1e3-2e3/1e4",
		"bytes 0.5-99/1000",
		// other units and near misses
		"items 0-99/1000",
		"byte 0-99/1000",
		"bytesx 0-99/1000",
		"bytes=0-99/1000",
		"bytes0-99/1000",
		"bytes:0-99/1000",
		"none 0-99/1000",
		"\xff\xfe 0-1/2",
		// several ranges (a multipart answer has no single Content-Range)
		"bytes 0-1/10, 5-6/10",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_fail(bad[i]);
	expect_fail(NULL);
}

static void test_messages(void **state)
{
	(void)state;
	uint64_t f, l, t;
	struct err e = { 0 };
	assert_int_equal(pull_content_range_parse("bytes */1000", &f, &l, &t, &e), -1);
	assert_non_null(strstr(e.msg, "unsatisfied"));
	assert_int_equal(pull_content_range_parse("bytes 0-99/99999999999999999999", &f, &l, &t, &e), -1);
	assert_non_null(strstr(e.msg, "too large"));
	assert_int_equal(pull_content_range_parse("bytes 100-99/1000", &f, &l, &t, &e), -1);
	assert_non_null(strstr(e.msg, "100"));
	assert_int_equal(pull_content_range_parse("items 0-1/2", &f, &l, &t, &e), -1);
	assert_non_null(strstr(e.msg, "unit"));

	// A long junk header is quoted only in part, without control bytes.
	char v[600];
	memcpy(v, "bytes 0-99/1000", 15);
	for (size_t i = 15; i < sizeof(v) - 1; i++)
		v[i] = (char)('a' + (i * 13 + i / 26) % 26);
	v[sizeof(v) - 1] = '\0';
	expect_fail(v);
	v[20] = '\x1b';
	v[5] = '\x1b';
	expect_fail(v);
}

static void test_null_outputs(void **state)
{
	(void)state;
	struct err e = { 0 };
	uint64_t t = 0;
	assert_int_equal(pull_content_range_parse("bytes 1-2/3", NULL, NULL, &t, &e), 0);
	assert_int_equal(t, 3);
	assert_int_equal(pull_content_range_parse("bytes 1-2/*", NULL, NULL, NULL, &e), 0);
}

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	// xorshift64*: deterministic across platforms.
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

// Values spread over all magnitudes, not just near 2^63.
static uint64_t rng_mag(struct rng *r)
{
	unsigned bits = (unsigned)(rng_next(r) % 65);
	if (bits == 0)
		return 0;
	uint64_t v = rng_next(r);
	return bits == 64 ? v : v & ((UINT64_C(1) << bits) - 1);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct rng r = { 0xC0FFEE1234567ULL };
	for (int i = 0; i < 5000; i++) {
		uint64_t a = rng_mag(&r), b = rng_mag(&r), c = rng_mag(&r);
		// Sort into first <= last < total.
		uint64_t v[3] = { a, b, c };
		for (int x = 0; x < 3; x++)
			for (int y = x + 1; y < 3; y++)
				if (v[y] < v[x]) {
					uint64_t tmp = v[x];
					v[x] = v[y];
					v[y] = tmp;
				}
		char s[96];
		bool known = rng_next(&r) % 4 != 0;
		bool valid = v[2] != UINT64_MAX && (known ? v[1] < v[2] : v[1] != UINT64_MAX);
		if (known)
			snprintf(s, sizeof(s), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, v[0], v[1], v[2]);
		else
			snprintf(s, sizeof(s), "bytes %" PRIu64 "-%" PRIu64 "/*", v[0], v[1]);
		if (valid)
			expect_ok(s, v[0], v[1], known ? v[2] : PULL_RANGE_TOTAL_UNKNOWN);
		else
			expect_fail(s);

		// Swapped first/last is refused unless equal.
		if (v[0] != v[1]) {
			snprintf(s, sizeof(s), "bytes %" PRIu64 "-%" PRIu64 "/*", v[1], v[0]);
			expect_fail(s);
		}
	}
}

static void test_fuzz(void **state)
{
	(void)state;
	static const char *const seeds[] = { "bytes 0-99/1000", "bytes 0-99/*", "bytes */1000",
					     "BYTES 18446744073709551613-18446744073709551613/*" };
	static const char alpha[] = "0123456789-/* \tbytesBYTES*9";
	struct rng r = { 77 };
	char buf[128];
	for (int iter = 0; iter < 6000; iter++) {
		size_t len;
		if (iter % 3 == 0) {
			len = (size_t)(rng_next(&r) % 40);
			for (size_t i = 0; i < len; i++)
				buf[i] = rng_next(&r) % 4 ? alpha[rng_next(&r) % (sizeof(alpha) - 1)]
							  : (char)(1 + rng_next(&r) % 255);
		} else {
			const char *seed = seeds[rng_next(&r) % (sizeof(seeds) / sizeof(seeds[0]))];
			len = strlen(seed);
			memcpy(buf, seed, len);
			for (uint64_t m = 1 + rng_next(&r) % 3; m; m--) {
				size_t at = len ? (size_t)(rng_next(&r) % len) : 0;
				switch (rng_next(&r) % 4) {
				case 0:
					if (len)
						buf[at] = alpha[rng_next(&r) % (sizeof(alpha) - 1)];
					break;
				case 1:
					if (len < sizeof(buf) - 2) {
						memmove(buf + at + 1, buf + at, len - at);
						buf[at] = alpha[rng_next(&r) % (sizeof(alpha) - 1)];
						len++;
					}
					break;
				case 2:
					if (len) {
						memmove(buf + at, buf + at + 1, len - at - 1);
						len--;
					}
					break;
				default:
					len = at;
					break;
				}
			}
		}
		buf[len] = '\0';
		uint64_t f = 0, l = 0, t = 0;
		struct err e = { 0 };
		int ret = pull_content_range_parse(buf, &f, &l, &t, &e);
		if (ret == 0) {
			assert_true(f <= l);
			assert_true(l != UINT64_MAX);
			assert_true(t == PULL_RANGE_TOTAL_UNKNOWN || l < t);
		} else {
			assert_int_equal(ret, -1);
			check_err_msg(&e, buf);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_case_and_space),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_inconsistent),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_null_outputs),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
