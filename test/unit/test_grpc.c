// SPDX-License-Identifier: Apache-2.0
// transport/grpc and util/pb: framing and the frame iterator, the status
// trailers and their classes, grpc-message decoding, the calls' bounds, an
// unreachable socket and one that never answers; the protobuf writer (map
// entries, bools, signed int64) against bytes encoded by hand in Python, and the
// reader's helpers on hostile input.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "transport/grpc.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/pb.h"

static void test_frames(void **state)
{
	(void)state;
	struct buf m, f;
	buf_init(&m, 64);
	buf_init(&f, 64);
	buf_addstr(&m, "hello");
	assert_int_equal(grpc_frame(&f, &m), 0);
	assert_int_equal(f.len, 10);
	static const unsigned char head[] = {0, 0, 0, 0, 5};
	assert_memory_equal(f.data, head, 5);
	const void *msg;
	size_t n;
	assert_int_equal(grpc_unframe(f.data, f.len, &msg, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(msg, "hello", 5);
	assert_int_equal(grpc_unframe(f.data, f.len - 1, &msg, &n), -1); // short
	assert_int_equal(grpc_unframe("", 0, &msg, &n), -1);
	assert_int_equal(grpc_unframe(NULL, 0, &msg, &n), -1);
	// Two frames are not one answer, but the iterator walks them.
	buf_reset(&m);
	assert_int_equal(grpc_frame(&f, &m), 0); // an empty message
	assert_int_equal(f.len, 15);
	assert_int_equal(grpc_unframe(f.data, f.len, &msg, &n), -1);
	struct grpc_frames it;
	grpc_frames_init(&it, f.data, f.len);
	assert_int_equal(grpc_frames_next(&it, &msg, &n), 1);
	assert_int_equal(n, 5);
	assert_int_equal(grpc_frames_next(&it, &msg, &n), 1);
	assert_int_equal(n, 0);
	assert_int_equal(grpc_frames_next(&it, &msg, &n), 0);
	// A truncated second frame: -1, and it stays -1.
	grpc_frames_init(&it, f.data, f.len - 1);
	assert_int_equal(grpc_frames_next(&it, &msg, &n), 1);
	assert_int_equal(grpc_frames_next(&it, &msg, &n), -1);
	assert_int_equal(grpc_frames_next(&it, &msg, &n), -1);
	// Compressed (flag 1), never asked for.
	f.data[0] = 1;
	assert_int_equal(grpc_unframe(f.data, 10, &msg, &n), -1);
	grpc_frames_init(&it, f.data, f.len);
	assert_int_equal(grpc_frames_next(&it, &msg, &n), -1);
	// A length of 4 GiB - 1 in a 5-byte answer.
	static const unsigned char huge[] = {0, 0xff, 0xff, 0xff, 0xff};
	grpc_frames_init(&it, huge, sizeof(huge));
	assert_int_equal(grpc_frames_next(&it, &msg, &n), -1);
	buf_release(&m);
	buf_release(&f);
}

static void test_code_class(void **state)
{
	(void)state;
	static const struct {
		int code;
		enum err_class cls;
		const char *name;
	} t[] = {
		{GRPC_OK, ERR_NONE, "OK"},
		{GRPC_NOT_FOUND, ERR_NOTFOUND, "NOT_FOUND"},
		{GRPC_ALREADY_EXISTS, ERR_STORAGE, "ALREADY_EXISTS"},
		{GRPC_UNAUTHENTICATED, ERR_AUTH, "UNAUTHENTICATED"},
		{GRPC_PERMISSION_DENIED, ERR_AUTH, "PERMISSION_DENIED"},
		{GRPC_UNAVAILABLE, ERR_NETWORK, "UNAVAILABLE"},
		{GRPC_DEADLINE_EXCEEDED, ERR_NETWORK, "DEADLINE_EXCEEDED"},
		{GRPC_INVALID_ARGUMENT, ERR_USAGE, "INVALID_ARGUMENT"},
		{GRPC_FAILED_PRECONDITION, ERR_STORAGE, "FAILED_PRECONDITION"},
		{GRPC_RESOURCE_EXHAUSTED, ERR_STORAGE, "RESOURCE_EXHAUSTED"},
		{GRPC_DATA_LOSS, ERR_INTEGRITY, "DATA_LOSS"},
		{GRPC_UNKNOWN, ERR_NETWORK, "UNKNOWN"},
		{GRPC_UNIMPLEMENTED, ERR_NETWORK, "UNIMPLEMENTED"},
		{17, ERR_NETWORK, "unknown status"},
		{GRPC_NO_STATUS, ERR_NETWORK, "no status"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(grpc_code_class(t[i].code), t[i].cls);
		assert_string_equal(grpc_code_name(t[i].code), t[i].name);
	}
}

static void test_message_decode(void **state)
{
	(void)state;
	char out[GRPC_MESSAGE_MAX];
	grpc_message_decode("snapshot %22k%22: already exists", out, sizeof(out));
	assert_string_equal(out, "snapshot \"k\": already exists");
	grpc_message_decode("a%0Ab%7", out, sizeof(out)); // a newline, a cut escape
	assert_string_equal(out, "a?b%7");
	grpc_message_decode("", out, sizeof(out));
	assert_string_equal(out, "");
	char big[1000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char small[16];
	grpc_message_decode(big, small, sizeof(small));
	assert_string_equal(small, "xxxxxxxxxxxx..."); // 12 + "..." + NUL
}

static void test_status_check(void **state)
{
	(void)state;
	struct buf msg = {0};
	struct grpc_request req = {.socket = "/s", .path = "/containerd.services.snapshots.v1.Snapshots/Stat", .msg = &msg,
				   .service = "containerd"};
	struct grpc_status st;
	struct err e;
	assert_int_equal(grpc_status_check(&req, 200, "0", NULL, &st, &e), 0);
	assert_int_equal(st.code, GRPC_OK);
	assert_int_equal(grpc_status_check(&req, 200, "5", "snapshot k does not exist: not found", &st, &e), -1);
	assert_int_equal(st.code, GRPC_NOT_FOUND);
	assert_string_equal(st.message, "snapshot k does not exist: not found");
	assert_int_equal(e.cls, ERR_NOTFOUND);
	assert_string_equal(e.msg, "containerd: Snapshots/Stat: snapshot k does not exist: not found (gRPC status 5 NOT_FOUND)");
	assert_int_equal(grpc_status_check(&req, 200, "6", "target%20exists", &st, &e), -1);
	assert_int_equal(st.code, GRPC_ALREADY_EXISTS);
	assert_string_equal(st.message, "target exists");
	assert_int_equal(grpc_status_check(&req, 200, "16", NULL, &st, &e), -1);
	assert_int_equal(e.cls, ERR_AUTH);
	assert_non_null(strstr(e.msg, "no message (gRPC status 16 UNAUTHENTICATED)"));
	// Not a gRPC answer: no status at all.
	static const struct {
		long http;
		const char *status;
		const char *want;
	} bad[] = {
		{404, "5", "containerd: /s does not answer /containerd.services.snapshots.v1.Snapshots/Stat as a gRPC service (HTTP 404)"},
		{200, NULL, "containerd: /s does not answer /containerd.services.snapshots.v1.Snapshots/Stat as a gRPC service (HTTP 200, no grpc-status)"},
		{200, "x", "containerd: /s answers /containerd.services.snapshots.v1.Snapshots/Stat with a malformed grpc-status"},
		{200, "5x", "containerd: /s answers /containerd.services.snapshots.v1.Snapshots/Stat with a malformed grpc-status"},
		{200, "-1", "containerd: /s answers /containerd.services.snapshots.v1.Snapshots/Stat with a malformed grpc-status"},
		{200, "", "containerd: /s answers /containerd.services.snapshots.v1.Snapshots/Stat with a malformed grpc-status"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(grpc_status_check(&req, bad[i].http, bad[i].status, "m", &st, &e), -1);
		assert_int_equal(st.code, GRPC_NO_STATUS);
		assert_int_equal(e.cls, ERR_NETWORK);
		assert_string_equal(e.msg, bad[i].want);
	}
}

static void test_timeout(void **state)
{
	(void)state;
	assert_int_equal(grpc_timeout_s(15, 0), 15);                   // no deadline
	assert_int_equal(grpc_timeout_s(15, clock_mono() + 3600), 15); // far away
	long t = grpc_timeout_s(600, clock_mono() + 30.5);             // near: what is left
	assert_true(t == 31 || t == 30);
	assert_int_equal(grpc_timeout_s(15, clock_mono() - 10), 1);    // passed: at least 1
}

static void test_unreachable_and_headers(void **state)
{
	(void)state;
	struct buf msg = {0}, answer;
	static const char *const ns[] = {"containerd-namespace: k8s.io", NULL};
	struct grpc_request req = {.socket = "/nonexistent/c.sock", .path = "/containerd.services.leases.v1.Leases/List",
				   .headers = ns, .msg = &msg, .max_answer = 1024, .timeout_s = 5, .service = "containerd"};
	struct grpc_status st;
	struct err e;
	assert_int_equal(grpc_call(&req, &st, &answer, &e), -1);
	assert_int_equal(st.code, GRPC_NO_STATUS);
	assert_int_equal(e.cls, ERR_NETWORK);
	assert_non_null(strstr(e.msg, "containerd: cannot reach /nonexistent/c.sock"));
	assert_null(answer.data);
	// A header that would split into two: refused before anything is sent.
	static const char *const split[] = {"containerd-lease: a\r\nX-Evil: 1", NULL};
	req.headers = split;
	assert_int_equal(grpc_call(&req, &st, &answer, &e), -1);
	assert_int_equal(e.cls, ERR_INTERNAL);
	const char *many[20];
	for (size_t i = 0; i < 19; i++)
		many[i] = "X-A: b";
	many[19] = NULL;
	req.headers = many;
	assert_int_equal(grpc_call(&req, &st, &answer, &e), -1);
	assert_int_equal(e.cls, ERR_INTERNAL);
	assert_null(answer.data);
}

// A listener that never accepts: the call ends at its timeout.
static void test_silent_socket(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_grpc.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/c.sock", dir);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	struct buf msg = {0}, answer;
	struct grpc_request req = {.socket = sa.sun_path, .path = "/containerd.services.snapshots.v1.Snapshots/Stat",
				   .msg = &msg, .max_answer = 1024, .timeout_s = 2, .service = "containerd"};
	struct grpc_status st;
	struct err e;
	double t0 = clock_mono();
	assert_int_equal(grpc_call(&req, &st, &answer, &e), -1);
	double took = clock_mono() - t0;
	assert_true(took >= 1.5 && took < 5);
	assert_int_equal(st.code, GRPC_NO_STATUS);
	assert_int_equal(e.cls, ERR_NETWORK);
	char want[400];
	snprintf(want, sizeof(want), "containerd: unix://%s did not answer /containerd.services.snapshots.v1.Snapshots/Stat within 2 s",
		 sa.sun_path);
	assert_string_equal(e.msg, want);
	close(fd);
	unlink(sa.sun_path);
	rmdir(dir);
}

// The writer against bytes made by hand (Python, varints written out):
//   def varint(n):
//       n &= (1 << 64) - 1; out = b""
//       while True:
//           b = n & 0x7f; n >>= 7; out += bytes([b | (0x80 if n else 0)])
//           if not n: return out
//   key = lambda f, w: varint(f << 3 | w)
//   ld = lambda f, b: key(f, 2) + varint(len(b)) + b
//   ld(4, ld(1, b"a") + ld(2, b"")) + key(2, 0) + varint(1) + key(3, 0) + varint(-62135596800) + key(5, 0) + varint(300)
static void test_pb_writer(void **state)
{
	(void)state;
	static const unsigned char want[] = {0x22, 0x05, 0x0a, 0x01, 0x61, 0x12, 0x00, 0x10, 0x01, 0x18, 0x80, 0x92,
					     0xb8, 0xc3, 0x98, 0xfe, 0xff, 0xff, 0xff, 0x01, 0x28, 0xac, 0x02};
	struct buf b;
	buf_init(&b, 256);
	assert_int_equal(pb_put_map_entry(&b, 4, "a", ""), 0);
	assert_int_equal(pb_put_bool(&b, 2, true), 0);
	assert_int_equal(pb_put_int64(&b, 3, -62135596800LL), 0); // Go's zero time, ten bytes
	assert_int_equal(pb_put_int64(&b, 5, 300), 0);
	// Defaults are not written.
	assert_int_equal(pb_put_bool(&b, 6, false), 0);
	assert_int_equal(pb_put_int64(&b, 7, 0), 0);
	assert_int_equal(pb_put_string(&b, 8, ""), 0);
	assert_int_equal(pb_put_string(&b, 8, NULL), 0);
	assert_int_equal(pb_put_bytes(&b, 9, "", 0), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	// Read back.
	struct pb_reader r;
	struct pb_field f;
	pb_reader_init(&r, b.data, b.len);
	assert_int_equal(pb_next(&r, &f), 1);
	char *k, *v;
	assert_int_equal(pb_get_map_entry(&f, 16, &k, &v), 0);
	assert_string_equal(k, "a");
	assert_string_equal(v, "");
	free(k);
	free(v);
	int64_t i64;
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(pb_get_int64(&f, &i64), 0);
	assert_true(i64 == 1);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(pb_get_int64(&f, &i64), 0);
	assert_true(i64 == -62135596800LL);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(pb_get_int64(&f, &i64), 0);
	assert_true(i64 == 300);
	assert_int_equal(pb_next(&r, &f), 0);
	// A cap reached in the middle of an entry: -1, toobig.
	struct buf small;
	buf_init(&small, 6);
	assert_int_equal(pb_put_map_entry(&small, 4, "abc", "def"), -1);
	assert_true(small.toobig);
	buf_release(&small);
	buf_release(&b);
	// INT64_MIN and -1.
	buf_init(&b, 64);
	assert_int_equal(pb_put_int64(&b, 1, INT64_MIN), 0);
	assert_int_equal(pb_put_int64(&b, 1, -1), 0);
	assert_int_equal(b.len, 22);
	pb_reader_init(&r, b.data, b.len);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(pb_get_int64(&f, &i64), 0);
	assert_true(i64 == INT64_MIN);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(pb_get_int64(&f, &i64), 0);
	assert_true(i64 == -1);
	buf_release(&b);
}

static void test_pb_reader_helpers(void **state)
{
	(void)state;
	// Every wire type the reader skips: varint, fixed64, length, fixed32.
	static const unsigned char all[] = {0x08, 0x96, 0x01,                         // 1: varint 150
					    0x11, 1, 2, 3, 4, 5, 6, 7, 8,             // 2: fixed64
					    0x1a, 0x02, 'h', 'i',                     // 3: "hi"
					    0x25, 0x78, 0x56, 0x34, 0x12};            // 4: fixed32
	struct pb_reader r;
	struct pb_field f;
	pb_reader_init(&r, all, sizeof(all));
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.varint, 150);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.wire, PB_I64);
	assert_true(f.varint == 0x0807060504030201ULL);
	int64_t i64;
	assert_int_equal(pb_get_int64(&f, &i64), -1); // not a varint
	char *s;
	assert_int_equal(pb_get_string(&f, 100, &s), -1);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(pb_get_string(&f, 1, &s), -1); // over the cap
	assert_int_equal(pb_get_string(&f, 2, &s), 0);
	assert_string_equal(s, "hi");
	free(s);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.wire, PB_I32);
	assert_int_equal(f.varint, 0x12345678);
	assert_int_equal(pb_next(&r, &f), 0);
	// Map entries: absent key or value are "", the cap is on key + value,
	// a NUL or a key of the wrong wire type is refused, unknown fields skipped.
	static const struct {
		const char *what;
		unsigned char b[16];
		size_t n;
		int ret;
		const char *k, *v;
	} t[] = {
		{"both", {0x0a, 0x01, 'k', 0x12, 0x01, 'v'}, 6, 0, "k", "v"},
		{"no value", {0x0a, 0x01, 'k'}, 3, 0, "k", ""},
		{"empty", {0}, 0, 0, "", ""},
		{"unknown field skipped", {0x18, 0x05, 0x0a, 0x01, 'k'}, 5, 0, "k", ""},
		{"key + value over 4", {0x0a, 0x03, 'k', 'k', 'k', 0x12, 0x02, 'v', 'v'}, 9, -1, NULL, NULL},
		{"NUL in value", {0x12, 0x02, 'v', 0}, 4, -1, NULL, NULL},
		{"key a varint", {0x08, 0x01}, 2, -1, NULL, NULL},
		{"truncated", {0x0a, 0x05, 'k'}, 3, -1, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pb_field e = {.number = 1, .wire = PB_LEN, .data = t[i].b, .len = t[i].n};
		char *k = NULL, *v = NULL;
		if (pb_get_map_entry(&e, 4, &k, &v) != t[i].ret)
			fail_msg("%s: %d", t[i].what, -t[i].ret);
		if (t[i].ret == 0) {
			assert_string_equal(k, t[i].k);
			assert_string_equal(v, t[i].v);
			free(k);
			free(v);
		}
	}
	struct pb_field notlen = {.number = 1, .wire = PB_VARINT};
	char *k, *v;
	assert_int_equal(pb_get_map_entry(&notlen, 4, &k, &v), -1);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames),          cmocka_unit_test(test_code_class),
		cmocka_unit_test(test_message_decode),  cmocka_unit_test(test_status_check),
		cmocka_unit_test(test_timeout),         cmocka_unit_test(test_unreachable_and_headers),
		cmocka_unit_test(test_silent_socket),   cmocka_unit_test(test_pb_writer),
		cmocka_unit_test(test_pb_reader_helpers),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
