// SPDX-License-Identifier: Apache-2.0
// The canonical request pieces on their own: hashes against published vectors
// (FIPS 180-2, RFC 4231), percent-encoding, query sorting and decoding, path
// normalization, header trimming, folding, joining and sorting, and the errors.
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/canonical.h"
#include "util/mem.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_sha256(void **state)
{
	(void)state;
	char hex[CANONICAL_HEX_LEN + 1];
	struct err e = { 0 };
	assert_int_equal(canonical_sha256_hex(hex, NULL, 0, &e), 0);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(canonical_sha256_hex(hex, "abc", 3, &e), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_hmac_rfc4231(void **state)
{
	(void)state;
	unsigned char key[20], mac[CANONICAL_SHA256_LEN];
	char hex[CANONICAL_HEX_LEN + 1];
	struct err e = { 0 };
	memset(key, 0x0b, sizeof(key));
	assert_int_equal(canonical_hmac_sha256(mac, key, sizeof(key), "Hi There", 8, &e), 0);
	canonical_hex(hex, mac, sizeof(mac));
	assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	const char *data = "what do ya want for nothing?";
	assert_int_equal(canonical_hmac_sha256(mac, "Jefe", 4, data, strlen(data), &e), 0);
	canonical_hex(hex, mac, sizeof(mac));
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void expect_encode(const char *in, size_t n, bool keep_slash, const char *want)
{
	struct buf b;
	struct err e = { 0 };
	buf_init(&b, 4096);
	assert_int_equal(canonical_encode(&b, in, n, keep_slash, &e), 0);
	assert_string_equal(buf_str(&b), want);
	buf_release(&b);
}

static void test_encode(void **state)
{
	(void)state;
	const char *unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	expect_encode(unreserved, strlen(unreserved), false, unreserved);
	expect_encode("a b+c/d", 7, false, "a%20b%2Bc%2Fd");
	expect_encode("a b+c/d", 7, true, "a%20b%2Bc/d");
	expect_encode("\xe1\x88\xb4", 3, false, "%E1%88%B4");
	expect_encode("%41", 3, false, "%2541");
	expect_encode("!*'();:@&=$,?#[]", 16, false,
		      "%21%2A%27%28%29%3B%3A%40%26%3D%24%2C%3F%23%5B%5D");
	expect_encode("a\0b", 3, false, "a%00b");
	expect_encode("\x7f\xff", 2, false, "%7F%FF");
}

static void expect_query(const char *in, const char *want)
{
	struct buf b;
	struct err e = { 0 };
	buf_init(&b, 4096);
	if (canonical_query(&b, in, &e) != 0)
		fail_msg("canonical_query(%s) failed: %s", in, e.msg);
	assert_string_equal(buf_str(&b), want);
	buf_release(&b);
}

static void test_query(void **state)
{
	(void)state;
	expect_query(NULL, "");
	expect_query("", "");
	expect_query("b=2&a=1", "a=1&b=2");
	// Same key: ordered by value, byte-wise.
	expect_query("a=2&a=1&a=10", "a=1&a=10&a=2");
	// No '=', empty value, empty pieces.
	expect_query("key", "key=");
	expect_query("key=", "key=");
	expect_query("&a=1&&b=2&", "a=1&b=2");
	expect_query("=v", "=v");
	// Space as %20; '+' is a literal plus; escapes are decoded then re-encoded
	// with uppercase hex; an '=' after the first belongs to the value.
	expect_query("q=a b", "q=a%20b");
	expect_query("q=a%20b", "q=a%20b");
	expect_query("q=a+b", "q=a%2Bb");
	expect_query("q=%2b", "q=%2B");
	expect_query("q=%e1%88%b4", "q=%E1%88%B4");
	expect_query("%41=%7e", "A=~");
	expect_query("x=a=b", "x=a%3Db");
	expect_query("p=/a/b", "p=%2Fa%2Fb");
	// Sorted by the encoded key: '%' (0x25) before letters, '-' '.' before '_'.
	expect_query("Param-3=V3&Param=V2&%E1%88%B4=V1", "%E1%88%B4=V1&Param=V2&Param-3=V3");
	expect_query("a_b=1&a-b=2&a.b=3&A=4", "A=4&a-b=2&a.b=3&a_b=1");
	expect_query("Version=2022-05-12&Action=GetAuthorizationToken",
		     "Action=GetAuthorizationToken&Version=2022-05-12");
}

static void test_query_errors(void **state)
{
	(void)state;
	const char *bad[] = { "q=%", "q=%4", "q=%zz", "%g0=1", "a=1&b=%" };
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct buf b;
		struct err e = { 0 };
		buf_init(&b, 4096);
		if (canonical_query(&b, bad[i], &e) != -1)
			fail_msg("canonical_query(%s) accepted a malformed escape", bad[i]);
		assert_int_equal(e.cls, ERR_USAGE);
		buf_release(&b);
	}
}

static void expect_uri(const char *in, bool normalize, const char *want)
{
	struct buf b;
	struct err e = { 0 };
	buf_init(&b, 4096);
	assert_int_equal(canonical_uri(&b, in, normalize, &e), 0);
	assert_string_equal(buf_str(&b), want);
	buf_release(&b);
}

static void test_uri(void **state)
{
	(void)state;
	expect_uri(NULL, true, "/");
	expect_uri("", false, "/");
	expect_uri("/", true, "/");
	expect_uri("/a/./b/../c", true, "/a/c");
	expect_uri("/a//b/", true, "/a/b/");
	expect_uri("/../..", true, "/");
	expect_uri("/a/b/..", true, "/a");
	expect_uri("/a/b/../", true, "/a/");
	expect_uri("a/b", true, "/a/b");
	expect_uri("/.../x", true, "/.../x");
	// '%' is encoded again: AWS services other than S3 sign the wire path encoded twice.
	expect_uri("/a%20b", true, "/a%2520b");
	expect_uri("/a b/\xe1\x88\xb4", true, "/a%20b/%E1%88%B4");
	expect_uri("/a//b/./", false, "/a//b/./");
	expect_uri("/a b", false, "/a%20b");
}

struct hcase {
	struct canonical_header in[6];
	size_t n;
	const char *block;
	const char *list;
};

static void test_headers(void **state)
{
	(void)state;
	const struct hcase cases[] = {
		// Folded and tab-separated values collapse to single spaces.
		{ { { "Host", "h" }, { "X-A", "  one\n   two\t\tthree  " } },
		  2,
		  "host:h\nx-a:one two three\n",
		  "host;x-a" },
		// A repeated name: values joined in the order given, whatever the case.
		{ { { "X-B", "2" }, { "Host", "h" }, { "x-b", " 1 " }, { "X-b", "3" } },
		  4,
		  "host:h\nx-b:2,1,3\n",
		  "host;x-b" },
		// Empty and all-blank values; sorting after lowercasing.
		{ { { "Zeta", "z" }, { "alpha", "" }, { "HOST", "h" }, { "Beta", " \t " } },
		  4,
		  "alpha:\nbeta:\nhost:h\nzeta:z\n",
		  "alpha;beta;host;zeta" },
		// Headers that proxies and libcurl touch are not signed.
		{ { { "Host", "h" },
		    { "User-Agent", "imgpull" },
		    { "Authorization", "x" },
		    { "Expect", "" },
		    { "Connection", "close" },
		    { "Content-Type", "application/json" } },
		  6,
		  "content-type:application/json\nhost:h\n",
		  "content-type;host" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct buf block, list;
		struct err e = { 0 };
		buf_init(&block, 4096);
		buf_init(&list, 4096);
		if (canonical_headers(&block, &list, cases[i].in, cases[i].n, NULL, 0, &e) != 0)
			fail_msg("case %zu: %s", i, e.msg);
		assert_string_equal(buf_str(&block), cases[i].block);
		assert_string_equal(buf_str(&list), cases[i].list);
		buf_release(&block);
		buf_release(&list);
	}
}

static void expect_header_error(const struct canonical_header *h, size_t n,
				const struct canonical_header *extra, size_t nextra, const char *needle)
{
	struct buf block, list;
	struct err e = { 0 };
	buf_init(&block, 4096);
	buf_init(&list, 4096);
	assert_int_equal(canonical_headers(&block, &list, h, n, extra, nextra, &e), -1);
	assert_int_equal(e.cls, ERR_INTERNAL);
	if (!strstr(e.msg, needle))
		fail_msg("message [%s] lacks [%s]", e.msg, needle);
	buf_release(&block);
	buf_release(&list);
}

static void test_header_errors(void **state)
{
	(void)state;
	const struct canonical_header nohost[] = { { "X-A", "1" } };
	expect_header_error(nohost, 1, NULL, 0, "Host");
	const struct canonical_header badname[] = { { "Host", "h" }, { "Bad Name", "1" } };
	expect_header_error(badname, 2, NULL, 0, "invalid header name");
	const struct canonical_header empty[] = { { "Host", "h" }, { "", "1" } };
	expect_header_error(empty, 2, NULL, 0, "empty header name");
	// The signer's own header may not come from the caller as well.
	const struct canonical_header given[] = { { "Host", "h" }, { "x-date", "1" } };
	const struct canonical_header mine[] = { { "X-Date", "20240619T071306Z" } };
	expect_header_error(given, 2, mine, 1, "x-date");
}

static void test_request(void **state)
{
	(void)state;
	const struct canonical_header h[] = { { "Host", "example.com" }, { "Content-Type", "a/b" } };
	const struct canonical_header extra[] = { { "X-Date", "20240619T071306Z" } };
	struct canonical_req req = {
		.method = "POST",
		.path = "/x/../y",
		.query = "b=2&a=1",
		.headers = h,
		.nheaders = 2,
	};
	char *cr = NULL, *list = NULL;
	struct err e = { 0 };
	assert_int_equal(canonical_request(&cr, &list, &req, extra, 1, true, "PAYLOAD", &e), 0);
	assert_string_equal(cr, "POST\n/y\na=1&b=2\ncontent-type:a/b\nhost:example.com\n"
				"x-date:20240619T071306Z\n\ncontent-type;host;x-date\nPAYLOAD");
	assert_string_equal(list, "content-type;host;x-date");
	free(cr);
	free(list);

	req.method = "GET X";
	assert_int_equal(canonical_request(&cr, NULL, &req, NULL, 0, true, "P", &e), -1);
	assert_int_equal(e.cls, ERR_INTERNAL);
	req.method = "";
	assert_int_equal(canonical_request(&cr, NULL, &req, NULL, 0, true, "P", &e), -1);
}

static void test_string_to_sign(void **state)
{
	(void)state;
	char *sts = NULL;
	struct err e = { 0 };
	assert_int_equal(canonical_string_to_sign(&sts, "ALG", "D", "S", "", &e), 0);
	assert_string_equal(
		sts, "ALG\nD\nS\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	free(sts);
}

static void test_time(void **state)
{
	(void)state;
	char dt[17], d[9];
	struct err e = { 0 };
	assert_int_equal(canonical_format_time(dt, d, 0, &e), 0);
	assert_string_equal(dt, "19700101T000000Z");
	assert_string_equal(d, "19700101");
	assert_int_equal(canonical_format_time(dt, d, 1440938160, &e), 0);
	assert_string_equal(dt, "20150830T123600Z");
	assert_string_equal(d, "20150830");
	assert_int_equal(canonical_format_time(dt, d, 253402300800LL, &e), -1); // year 10000
}

static void test_release_empty(void **state)
{
	(void)state;
	struct canonical_result r = { 0 };
	canonical_result_release(&r);
	canonical_result_release(&r);
	canonical_result_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256),	      cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_encode),	      cmocka_unit_test(test_query),
		cmocka_unit_test(test_query_errors),  cmocka_unit_test(test_uri),
		cmocka_unit_test(test_headers),	      cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_request),	      cmocka_unit_test(test_string_to_sign),
		cmocka_unit_test(test_time),	      cmocka_unit_test(test_release_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
