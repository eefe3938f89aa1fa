// SPDX-License-Identifier: Apache-2.0
// cri/proto and cri/cri: the protobuf wire forms of PullImage, gRPC framing,
// status classes, malformed answers refused, an unreachable socket.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "cri/cri.h"
#include "cri/proto.h"
#include "util/buf.h"
#include "util/err.h"

static void test_encode_pull_request(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4096);
	struct cri_auth a = {.username = "AWS", .password = "tok", .server_address = "r.io"};
	assert_int_equal(cri_encode_pull_request(&b, "r.io/a:1", &a), 0);
	static const unsigned char want[] = {
		0x0a, 0x0a,                                     // image: ImageSpec, 10 bytes
		0x0a, 0x08, 'r', '.', 'i', 'o', '/', 'a', ':', '1', // ImageSpec.image
		0x12, 0x10,                                     // auth: AuthConfig, 16 bytes
		0x0a, 0x03, 'A', 'W', 'S',                      // username
		0x12, 0x03, 't', 'o', 'k',                      // password
		0x22, 0x04, 'r', '.', 'i', 'o',                 // server_address (4)
	};
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	// Without a credential there is no auth field at all.
	buf_reset(&b);
	assert_int_equal(cri_encode_pull_request(&b, "r.io/a:1", NULL), 0);
	assert_int_equal(b.len, 12);
	buf_release(&b);
}

static void test_varint_and_long_strings(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1 << 20);
	char *s = malloc(300);
	memset(s, 'x', 299);
	s[299] = '\0';
	assert_int_equal(pb_put_string(&b, 1, s), 0);
	assert_int_equal((unsigned char)b.data[1], 0xab); // 299 = 2 * 128 + 43 -> ab 02
	assert_int_equal((unsigned char)b.data[2], 0x02);
	struct pb_reader r;
	struct pb_field f;
	pb_reader_init(&r, b.data, b.len);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.number, 1);
	assert_int_equal(f.wire, PB_LEN);
	assert_int_equal(f.len, 299);
	assert_int_equal(pb_next(&r, &f), 0);
	buf_reset(&b);
	assert_int_equal(pb_put_varint_field(&b, 536870911, UINT64_MAX), 0);
	pb_reader_init(&r, b.data, b.len);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.number, 536870911);
	assert_true(f.varint == UINT64_MAX);
	free(s);
	buf_release(&b);
}

static void test_decode_response(void **state)
{
	(void)state;
	static const unsigned char ok[] = {0x0a, 0x0b, 's', 'h', 'a', '2', '5', '6', ':', 'a', 'b', 'c', 'd',
					   0x10, 0x05}; // plus an unknown varint field 2: skipped
	char *ref = NULL;
	struct err e;
	assert_int_equal(cri_decode_pull_response(ok, sizeof(ok), &ref, &e), 0);
	assert_string_equal(ref, "sha256:abcd");
	free(ref);
	static const struct {
		const char *what;
		unsigned char b[16];
		size_t n;
	} bad[] = {
		{"empty", {0}, 0},
		{"length past the end", {0x0a, 0x05, 'a'}, 3},
		{"field number 0", {0x02, 0x01, 'a'}, 3},
		{"a group", {0x0b, 0x0c}, 2},
		{"truncated varint", {0x08, 0x80}, 2},
		{"eleven-byte varint", {0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 12},
		{"empty image_ref", {0x0a, 0x00}, 2},
		{"NUL in image_ref", {0x0a, 0x02, 'a', 0}, 4},
		{"image_ref not a string", {0x08, 0x01}, 2},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ref = NULL;
		if (cri_decode_pull_response(bad[i].b, bad[i].n, &ref, &e) == 0)
			fail_msg("accepted: %s", bad[i].what);
		assert_null(ref);
		assert_int_equal(e.cls, ERR_NETWORK);
	}
}

static void test_frames(void **state)
{
	(void)state;
	struct buf m, f;
	buf_init(&m, 64);
	buf_init(&f, 64);
	buf_addstr(&m, "hello");
	assert_int_equal(cri_frame(&f, &m), 0);
	assert_int_equal(f.len, 10);
	const void *msg;
	size_t n;
	assert_int_equal(cri_unframe(f.data, f.len, &msg, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(msg, "hello", 5);
	assert_int_equal(cri_unframe(f.data, f.len - 1, &msg, &n), -1); // short
	f.data[0] = 1;                                                  // compressed
	assert_int_equal(cri_unframe(f.data, f.len, &msg, &n), -1);
	assert_int_equal(cri_unframe("", 0, &msg, &n), -1);
	buf_release(&m);
	buf_release(&f);
}

static void test_status_class(void **state)
{
	(void)state;
	assert_int_equal(cri_status_class(GRPC_UNAUTHENTICATED, ""), ERR_AUTH);
	assert_int_equal(cri_status_class(GRPC_NOT_FOUND, "x"), ERR_NOTFOUND);
	assert_int_equal(cri_status_class(GRPC_UNAVAILABLE, "x"), ERR_NETWORK);
	assert_int_equal(cri_status_class(GRPC_UNKNOWN,
					  "failed to pull and unpack image: failed to resolve reference: "
					  "pulling from host r.io failed with status code [manifests 1]: 401 Unauthorized"),
			 ERR_AUTH);
	assert_int_equal(cri_status_class(GRPC_UNKNOWN, "failed to resolve reference \"r.io/a:1\": r.io/a:1: not found"),
			 ERR_NOTFOUND);
	assert_int_equal(cri_status_class(GRPC_UNKNOWN, "write /var/lib/x: no space left on device"), ERR_STORAGE);
	assert_int_equal(cri_status_class(GRPC_UNKNOWN, "connection reset"), ERR_NETWORK);
}

static void test_random_input_is_safe(void **state)
{
	(void)state;
	srand(7);
	unsigned char b[64];
	for (int i = 0; i < 200000; i++) {
		size_t n = (size_t)(rand() % (int)sizeof(b));
		for (size_t k = 0; k < n; k++)
			b[k] = (unsigned char)rand();
		char *ref = NULL;
		struct err e;
		if (cri_decode_pull_response(b, n, &ref, &e) == 0) {
			assert_non_null(ref);
			free(ref);
		}
	}
}

static void test_unreachable_socket(void **state)
{
	(void)state;
	char *ref = NULL;
	struct err e;
	assert_int_equal(cri_pull_image("/nonexistent/containerd.sock", "r.io/a:1", NULL, 5, &ref, &e), -1);
	assert_null(ref);
	assert_int_equal(e.cls, ERR_NETWORK);
	assert_non_null(strstr(e.msg, "containerd's CRI service: cannot reach /nonexistent/containerd.sock"));
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_pull_request), cmocka_unit_test(test_varint_and_long_strings),
		cmocka_unit_test(test_decode_response),     cmocka_unit_test(test_frames),
		cmocka_unit_test(test_status_class),        cmocka_unit_test(test_random_input_is_safe),
		cmocka_unit_test(test_unreachable_socket),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
