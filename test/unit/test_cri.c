// SPDX-License-Identifier: Apache-2.0
// cri/cri (on util/pb and transport/grpc): the protobuf wire forms of
// PullImage, status classes, malformed answers refused, Version answers, the
// calls' bounds, an unreachable socket and one that never answers.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "cri/cri.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/pb.h"

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
	assert_int_equal(cri_pull_image("/nonexistent/containerd.sock", "r.io/a:1", NULL, 1000, 0, &ref, &e), -1);
	assert_null(ref);
	assert_int_equal(e.cls, ERR_NETWORK);
	assert_non_null(strstr(e.msg, "containerd's CRI service: cannot reach /nonexistent/containerd.sock"));
	assert_int_equal(cri_probe("/nonexistent/containerd.sock", 0, &e), -1);
	assert_int_equal(e.cls, ERR_NETWORK);
	assert_non_null(strstr(e.msg, "containerd's CRI service: cannot reach /nonexistent/containerd.sock"));
}

// A socket whose listener never accepts: connect() succeeds through the
// backlog, the request goes into the socket's buffer, and no answer comes.
static void test_silent_socket(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_cri.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/c.sock", dir);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	struct err e;
	double t0 = clock_mono();
	assert_int_equal(cri_probe(sa.sun_path, clock_mono() + 2, &e), -1);
	double took = clock_mono() - t0;
	assert_true(took >= 1.5 && took < 5);
	assert_int_equal(e.cls, ERR_NETWORK);
	char want[400];
	snprintf(want, sizeof(want), "containerd's CRI service: unix://%s did not answer /runtime.v1.RuntimeService/Version within 2 s",
		 sa.sun_path);
	assert_string_equal(e.msg, want);
	// PullImage: the deadline bounds it too.
	char *ref = NULL;
	t0 = clock_mono();
	assert_int_equal(cri_pull_image(sa.sun_path, "r.io/a:1", NULL, 1000, clock_mono() + 1, &ref, &e), -1);
	assert_true(clock_mono() - t0 < 4);
	assert_null(ref);
	assert_non_null(strstr(e.msg, "did not answer /runtime.v1.ImageService/PullImage within"));
	close(fd);
	unlink(sa.sun_path);
	rmdir(dir);
}

static void test_bounds(void **state)
{
	(void)state;
	assert_int_equal(cri_pull_bound_s(0), CRI_PULL_BASE_S);
	assert_int_equal(cri_pull_bound_s(2900000000ULL), 300 + 362);    // the README's 2.9 GB
	assert_int_equal(cri_pull_bound_s(40000000000ULL), 300 + 5000);  // 40 GB
}

static void test_decode_version(void **state)
{
	(void)state;
	static const unsigned char v[] = {
		0x0a, 0x05, '0', '.', '1', '.', '0',                     // version
		0x12, 0x0a, 'c', 'o', 'n', 't', 'a', 'i', 'n', 'e', 'r', 'd', // runtime_name
		0x1a, 0x06, '1', '.', '6', '.', '2', '0',                 // runtime_version
		0x22, 0x02, 'v', '1',                                     // runtime_api_version
	};
	char out[64];
	assert_int_equal(cri_decode_version_response(v, sizeof(v), out, sizeof(out)), 0);
	assert_string_equal(out, "containerd 1.6.20");
	static const unsigned char ctl[] = {0x12, 0x03, 'a', '\n', 'b'};
	assert_int_equal(cri_decode_version_response(ctl, sizeof(ctl), out, sizeof(out)), 0);
	assert_string_equal(out, "a?b");
	assert_int_equal(cri_decode_version_response("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "a CRI runtime");
	static const unsigned char bad[] = {0x12, 0x05, 'a'};
	assert_int_equal(cri_decode_version_response(bad, sizeof(bad), out, sizeof(out)), -1);
	char big[300];
	memset(big, 'x', sizeof(big));
	big[0] = 0x12;
	big[1] = (char)0xa0; // 288 bytes of runtime_name: capped
	big[2] = 0x02;
	assert_int_equal(cri_decode_version_response(big, 3 + 288, out, sizeof(out)), 0);
	assert_true(strlen(out) < sizeof(out));
}

// ImageFsInfoResponse: {1 FilesystemUsage {1 timestamp, 2 fs_id {1 mountpoint}, 3 used_bytes}}.
static void test_decode_image_fs(void **state)
{
	(void)state;
	const char mp[] = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs";
	unsigned char msg[128];
	size_t n = 0, l = sizeof(mp) - 1;
	msg[n++] = 0x0a; // field 1, LEN
	msg[n++] = (unsigned char)(2 + 2 + 2 + l + 4); // timestamp(2) + fs_id(2 + 2 + l) + used(4)
	msg[n++] = 0x08; // timestamp = 5
	msg[n++] = 5;
	msg[n++] = 0x12; // fs_id
	msg[n++] = (unsigned char)(2 + l);
	msg[n++] = 0x0a; // mountpoint
	msg[n++] = (unsigned char)l;
	memcpy(msg + n, mp, l);
	n += l;
	msg[n++] = 0x1a; // used_bytes {1: 7}
	msg[n++] = 2;
	msg[n++] = 0x08;
	msg[n++] = 7;
	char *got = NULL;
	assert_int_equal(cri_decode_image_fs_response(msg, n, &got), 0);
	assert_string_equal(got, mp);
	free(got);
	assert_int_equal(cri_decode_image_fs_response(msg, 0, &got), -1); // no filesystem
	assert_null(got);
	assert_int_equal(cri_decode_image_fs_response(msg, n - 5, &got), -1); // truncated
	free(got);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_pull_request), cmocka_unit_test(test_varint_and_long_strings),
		cmocka_unit_test(test_decode_response),
		cmocka_unit_test(test_status_class),        cmocka_unit_test(test_random_input_is_safe),
		cmocka_unit_test(test_unreachable_socket),  cmocka_unit_test(test_silent_socket),
		cmocka_unit_test(test_bounds),              cmocka_unit_test(test_decode_version),
		cmocka_unit_test(test_decode_image_fs),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
