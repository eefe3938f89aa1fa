// SPDX-License-Identifier: Apache-2.0
// ctrd/ and oci/chainid: each request of containerd's snapshots, leases and
// content services against bytes encoded by hand in Python (below), canned
// answers as containerd 1.6 sends them (Go's zero time as a ten-byte negative
// varint, fields of later versions, several frames) decoded, hostile answers
// (truncated at every byte, lengths past the end, too many mounts, options or
// labels, strings over the caps) refused without a crash, where to write a
// layer from a mount answer, containerd's identifiers, and chain IDs.
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

#include "ctrd/content.h"
#include "ctrd/leases.h"
#include "ctrd/mount.h"
#include "ctrd/session.h"
#include "ctrd/snapshots.h"
#include "oci/chainid.h"
#include "util/clock.h"
#include "util/mem.h"

// The expected bytes, from this Python (varints written out, nothing of
// protobuf's library):
//   def varint(n):
//       n &= (1 << 64) - 1; out = b""
//       while True:
//           b = n & 0x7f; n >>= 7; out += bytes([b | (0x80 if n else 0)])
//           if not n: return out
//   key = lambda f, w: varint(f << 3 | w)
//   ld = lambda f, b: key(f, 2) + varint(len(b)) + (b.encode() if isinstance(b, str) else b)
//   vi = lambda f, n: key(f, 0) + varint(n)
//   entry = lambda f, k, v: ld(f, ld(1, k) + ld(2, v))
//   frame = lambda m: b"\0" + len(m).to_bytes(4, "big") + m
//   REF = "containerd.io/snapshot.ref"
//   want_prepare = ld(1, "overlayfs") + ld(2, "k c1") + ld(3, "p0") + entry(4, REF, "c1")
//   want_key = ld(1, "native") + ld(2, "c1")
//   want_commit = ld(1, "overlayfs") + ld(2, "c1") + ld(3, "k c1") + entry(4, REF, "c1") + entry(4, "e", "")
//   want_list = ld(1, "overlayfs") + ld(2, 'kind==active,name~="^imgpull-"') + ld(2, "kind==committed")
//   want_lease_create = ld(1, "imgpull-1-2-ab12") + entry(3, "containerd.io/gc.expire", "2026-01-01T00:00:00Z")
//   want_lease_delete = ld(1, "imgpull-1-2-ab12") + vi(2, 1)
//   want_lease_add = ld(1, "L") + ld(2, ld(1, "c1") + ld(2, "snapshots/overlayfs"))
//   want_lease_list = ld(1, 'id~="^imgpull-"')
//   want_write = (vi(1, 2) + ld(2, "imgpull-sha256:d") + vi(3, 300) + ld(4, "sha256:d") + vi(5, 300)
//       + entry(7, "containerd.io/uncompressed", "sha256:u"))
//   want_update = ld(1, ld(1, "sha256:d") + entry(5, "a", "1")) + ld(2, ld(1, "labels.a") + ld(1, "labels.b"))
//   want_info = ld(1, "sha256:d")
//   root = "/r/o"
//   mount = (ld(1, "overlay") + ld(2, "overlay") + ld(4, "index=off") + ld(4, "workdir=" + root + "/3/work")
//       + ld(4, "upperdir=" + root + "/3/fs") + ld(4, "lowerdir=" + root + "/2/fs:" + root + "/1/fs") + vi(9, 7))
//   ans_mounts = ld(1, mount) + key(15, 5) + b"\1\2\3\4"
//   info = (ld(1, "c1") + ld(2, "p0") + vi(3, 3) + ld(4, vi(1, -62135596800) + vi(2, 5))
//       + ld(5, vi(1, 1700000000)) + entry(6, REF, "c1") + entry(6, "x", "") + key(7, 1) + bytes(8) + key(8, 5) + bytes(4))
//   ans_stat = ld(1, info) + vi(2, 1)
//   i2 = ld(1, "k c2") + ld(2, "c1") + vi(3, 2); i3 = ld(1, "p0") + vi(3, 3)
//   ans_list = frame(ld(1, info) + ld(1, i2)) + frame(ld(1, i3))
//   lease = (ld(1, "imgpull-1-2-ab12") + ld(2, vi(1, 1700000000) + vi(2, 1))
//       + entry(3, "containerd.io/gc.expire", "2026-01-01T00:00:00Z"))
//   ans_lease_create = ld(1, lease)
//   ans_lease_list = ld(1, lease) + ld(1, ld(1, "other")) + vi(2, 9)
//   w = vi(1, 2) + ld(2, vi(1, -62135596800)) + ld(3, vi(1, -62135596800)) + vi(4, 300) + vi(5, 300) + ld(6, "sha256:d")
//   ans_write = frame(w) + frame(w)
//   ans_content_info = (ld(1, ld(1, "sha256:d") + vi(2, 300) + ld(3, vi(1, 1700000000))
//       + entry(5, "containerd.io/uncompressed", "sha256:u")))
// want_prepare: 55 bytes
#define WANT_PREPARE \
	"0a096f7665726c6179667312046b2063311a02703022200a1a636f6e7461696e6572642e696f2f736e617073686f742e" \
	"72656612026331"
// want_key: 12 bytes
#define WANT_KEY \
	"0a066e617469766512026331"
// want_commit: 62 bytes
#define WANT_COMMIT \
	"0a096f7665726c61796673120263311a046b20633122200a1a636f6e7461696e6572642e696f2f736e617073686f742e" \
	"7265661202633122050a01651200"
// want_list: 60 bytes
#define WANT_LIST \
	"0a096f7665726c61796673121e6b696e643d3d6163746976652c6e616d657e3d225e696d6770756c6c2d22120f6b696e" \
	"643d3d636f6d6d6974746564"
// want_lease_create: 67 bytes
#define WANT_LEASE_CREATE \
	"0a10696d6770756c6c2d312d322d616231321a2f0a17636f6e7461696e6572642e696f2f67632e657870697265121432" \
	"3032362d30312d30315430303a30303a30305a"
// want_lease_delete: 20 bytes
#define WANT_LEASE_DELETE \
	"0a10696d6770756c6c2d312d322d616231321001"
// want_lease_add: 30 bytes
#define WANT_LEASE_ADD \
	"0a014c12190a0263311213736e617073686f74732f6f7665726c61796673"
// want_lease_list: 17 bytes
#define WANT_LEASE_LIST \
	"0a0f69647e3d225e696d6770756c6c2d22"
// want_write: 76 bytes
#define WANT_WRITE \
	"08021210696d6770756c6c2d7368613235363a6418ac0222087368613235363a6428ac023a260a1a636f6e7461696e65" \
	"72642e696f2f756e636f6d7072657373656412087368613235363a75"
// want_update: 42 bytes
#define WANT_UPDATE \
	"0a120a087368613235363a642a060a016112013112140a086c6162656c732e610a086c6162656c732e62"
// want_info: 10 bytes
#define WANT_INFO \
	"0a087368613235363a64"
// ans_mounts: 109 bytes
#define ANS_MOUNTS \
	"0a660a076f7665726c617912076f7665726c61792209696e6465783d6f66662213776f726b6469723d2f722f6f2f332f" \
	"776f726b221275707065726469723d2f722f6f2f332f6673221c6c6f7765726469723d2f722f6f2f322f66733a2f722f" \
	"6f2f312f667348077d01020304"
// ans_stat: 92 bytes
#define ANS_STAT \
	"0a580a026331120270301803220d088092b8c398feffffff0110052a060880e2cfaa0632200a1a636f6e7461696e6572" \
	"642e696f2f736e617073686f742e7265661202633132050a0178120039000000000000000045000000001001"
// ans_list: 122 bytes
#define ANS_LIST \
	"00000000680a580a026331120270301803220d088092b8c398feffffff0110052a060880e2cfaa0632200a1a636f6e74" \
	"61696e6572642e696f2f736e617073686f742e7265661202633132050a0178120039000000000000000045000000000a" \
	"0c0a046b20633212026331180200000000080a060a0270301803"
// ans_lease_create: 79 bytes
#define ANS_LEASE_CREATE \
	"0a4d0a10696d6770756c6c2d312d322d6162313212080880e2cfaa0610011a2f0a17636f6e7461696e6572642e696f2f" \
	"67632e6578706972651214323032362d30312d30315430303a30303a30305a"
// ans_lease_list: 90 bytes
#define ANS_LEASE_LIST \
	"0a4d0a10696d6770756c6c2d312d322d6162313212080880e2cfaa0610011a2f0a17636f6e7461696e6572642e696f2f" \
	"67632e6578706972651214323032362d30312d30315430303a30303a30305a0a070a056f746865721009"
// ans_write: 98 bytes
#define ANS_WRITE \
	"000000002c0802120b088092b8c398feffffff011a0b088092b8c398feffffff0120ac0228ac0232087368613235363a" \
	"64000000002c0802120b088092b8c398feffffff011a0b088092b8c398feffffff0120ac0228ac023208736861323536" \
	"3a64"
// ans_content_info: 63 bytes
#define ANS_CONTENT_INFO \
	"0a3d0a087368613235363a6410ac021a060880e2cfaa062a260a1a636f6e7461696e6572642e696f2f756e636f6d7072" \
	"657373656412087368613235363a75"

// hex into *out (malloc'd); its length.
static size_t unhex(const char *hex, unsigned char **out)
{
	size_t n = strlen(hex) / 2;
	*out = xmalloc(n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		(*out)[i] = (unsigned char)v;
	}
	return n;
}

static void assert_bytes(const struct buf *b, const char *hex)
{
	unsigned char *want;
	size_t n = unhex(hex, &want);
	if (b->len != n || memcmp(b->data, want, n) != 0) {
		char got[1024] = "";
		for (size_t i = 0; i < b->len && 2 * i + 3 < sizeof(got); i++)
			snprintf(got + 2 * i, 3, "%02x", (unsigned char)b->data[i]);
		free(want);
		fail_msg("encoded %s, want %s", got, hex);
	}
	free(want);
}

static const struct ctrd_label ref_c1[] = {{"containerd.io/snapshot.ref", "c1"}};

static void test_encode_snapshots(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(ctrd_snap_encode_prepare(&b, "overlayfs", "k c1", "p0", ref_c1, 1), 0);
	assert_bytes(&b, WANT_PREPARE);
	buf_reset(&b);
	assert_int_equal(ctrd_snap_encode_key(&b, "native", "c1"), 0);
	assert_bytes(&b, WANT_KEY);
	buf_reset(&b);
	// A label with an empty value is sent, one with a NULL value is not.
	const struct ctrd_label labels[] = {{"containerd.io/snapshot.ref", "c1"}, {"e", ""}, {"gone", NULL}};
	assert_int_equal(ctrd_snap_encode_commit(&b, "overlayfs", "c1", "k c1", labels, 3), 0);
	assert_bytes(&b, WANT_COMMIT);
	buf_reset(&b);
	const char *filters[] = {"kind==active,name~=\"^imgpull-\"", "kind==committed"};
	assert_int_equal(ctrd_snap_encode_list(&b, "overlayfs", filters, 2), 0);
	assert_bytes(&b, WANT_LIST);
	// No parent: no field 3; a first layer's Prepare.
	buf_reset(&b);
	assert_int_equal(ctrd_snap_encode_prepare(&b, "overlayfs", "k", NULL, NULL, 0), 0);
	assert_bytes(&b, "0a096f7665726c6179667312016b");
	// A label over containerd's 4096 bytes, or a request over the cap: -1.
	char *big = xmalloc(4100);
	memset(big, 'v', 4099);
	big[4099] = '\0';
	const struct ctrd_label huge[] = {{"k", big}};
	buf_reset(&b);
	assert_int_equal(ctrd_snap_encode_prepare(&b, "overlayfs", "k", NULL, huge, 1), -1);
	big[4095] = '\0'; // k + 4095 = 4096: accepted
	struct buf large;
	buf_init(&large, 8192);
	assert_int_equal(ctrd_snap_encode_prepare(&large, "overlayfs", "k", NULL, huge, 1), 0);
	buf_release(&large);
	struct buf small;
	buf_init(&small, 64);
	assert_int_equal(ctrd_snap_encode_prepare(&small, "overlayfs", "k", NULL, huge, 1), -1);
	buf_release(&small);
	free(big);
	buf_release(&b);
}

static void test_encode_leases(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4096);
	const struct ctrd_label expire[] = {{CTRD_LEASE_EXPIRE_LABEL, "2026-01-01T00:00:00Z"}};
	assert_int_equal(ctrd_lease_encode_create(&b, "imgpull-1-2-ab12", expire, 1), 0);
	assert_bytes(&b, WANT_LEASE_CREATE);
	buf_reset(&b);
	assert_int_equal(ctrd_lease_encode_delete(&b, "imgpull-1-2-ab12", true), 0);
	assert_bytes(&b, WANT_LEASE_DELETE);
	buf_reset(&b);
	assert_int_equal(ctrd_lease_encode_delete(&b, "imgpull-1-2-ab12", false), 0); // sync false: not sent
	assert_int_equal(b.len, 18);
	buf_reset(&b);
	assert_int_equal(ctrd_lease_encode_add_resource(&b, "L", "c1", "snapshots/overlayfs"), 0);
	assert_bytes(&b, WANT_LEASE_ADD);
	buf_reset(&b);
	const char *filters[] = {"id~=\"^imgpull-\""};
	assert_int_equal(ctrd_lease_encode_list(&b, filters, 1), 0);
	assert_bytes(&b, WANT_LEASE_LIST);
	buf_release(&b);
}

static void test_encode_content(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4096);
	const struct ctrd_label unc[] = {{CTRD_LABEL_UNCOMPRESSED, "sha256:u"}};
	assert_int_equal(ctrd_content_encode_commit(&b, "imgpull-sha256:d", "sha256:d", 300, unc, 1), 0);
	assert_bytes(&b, WANT_WRITE);
	buf_reset(&b);
	assert_int_equal(ctrd_content_encode_commit(&b, "r", "sha256:d", (uint64_t)INT64_MAX + 1, NULL, 0), -1);
	buf_reset(&b);
	// b is removed: in the mask, not in the labels.
	const struct ctrd_label upd[] = {{"a", "1"}, {"b", NULL}};
	assert_int_equal(ctrd_content_encode_update(&b, "sha256:d", upd, 2), 0);
	assert_bytes(&b, WANT_UPDATE);
	buf_reset(&b);
	assert_int_equal(ctrd_content_encode_info(&b, "sha256:d"), 0);
	assert_bytes(&b, WANT_INFO);
	buf_release(&b);
}

static void test_decode_mounts(void **state)
{
	(void)state;
	unsigned char *a;
	size_t n = unhex(ANS_MOUNTS, &a);
	struct ctrd_mounts m;
	struct err e;
	assert_int_equal(ctrd_snap_decode_mounts(a, n, &m, &e), 0);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.v[0].type, "overlay");
	assert_string_equal(m.v[0].source, "overlay");
	assert_string_equal(m.v[0].target, "");
	assert_int_equal(m.v[0].noptions, 4);
	assert_string_equal(m.v[0].options[0], "index=off");
	assert_string_equal(m.v[0].options[3], "lowerdir=/r/o/2/fs:/r/o/1/fs");
	struct ctrd_target t;
	assert_int_equal(ctrd_mount_target(&m, "/r/o", "/host/r/o", &t, &e), 0);
	assert_true(t.overlay);
	assert_string_equal(t.dir, "/host/r/o/3/fs");
	assert_int_equal(t.nlowers, 2);
	assert_string_equal(t.lowers[0], "/host/r/o/2/fs"); // the parent first
	assert_string_equal(t.lowers[1], "/host/r/o/1/fs");
	ctrd_target_free(&t);
	ctrd_mounts_free(&m);
	// Nothing at all: no mounts (ctrd_mount_target refuses it).
	assert_int_equal(ctrd_snap_decode_mounts("", 0, &m, &e), 0);
	assert_int_equal(m.n, 0);
	assert_int_equal(ctrd_mount_target(&m, "/r/o", NULL, &t, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	free(a);
}

static void test_decode_stat_and_list(void **state)
{
	(void)state;
	unsigned char *a;
	size_t n = unhex(ANS_STAT, &a);
	struct ctrd_info i;
	struct err e;
	assert_int_equal(ctrd_snap_decode_stat(a, n, &i, &e), 0);
	assert_string_equal(i.name, "c1");
	assert_string_equal(i.parent, "p0");
	assert_int_equal(i.kind, CTRD_KIND_COMMITTED);
	assert_string_equal(ctrd_kind_name(i.kind), "committed");
	assert_true(i.created_s == -62135596800LL); // Go's zero time, a ten-byte varint
	assert_true(i.updated_s == 1700000000);
	assert_int_equal(i.labels.n, 2);
	assert_string_equal(ctrd_labels_get(&i.labels, "containerd.io/snapshot.ref"), "c1");
	assert_string_equal(ctrd_labels_get(&i.labels, "x"), "");
	assert_null(ctrd_labels_get(&i.labels, "y"));
	ctrd_info_free(&i);
	free(a);
	n = unhex(ANS_LIST, &a);
	struct ctrd_infos l;
	assert_int_equal(ctrd_snap_decode_list_frames(a, n, &l, &e), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].name, "c1");
	assert_string_equal(l.v[1].name, "k c2");
	assert_string_equal(l.v[1].parent, "c1");
	assert_int_equal(l.v[1].kind, CTRD_KIND_ACTIVE);
	assert_string_equal(l.v[2].name, "p0");
	assert_string_equal(l.v[2].parent, "");
	assert_int_equal(l.v[2].labels.n, 0);
	ctrd_infos_free(&l);
	// No frame at all: an empty list.
	assert_int_equal(ctrd_snap_decode_list_frames(NULL, 0, &l, &e), 0);
	assert_int_equal(l.n, 0);
	// A truncated last frame: refused, nothing kept.
	assert_int_equal(ctrd_snap_decode_list_frames(a, n - 1, &l, &e), -1);
	assert_int_equal(e.cls, ERR_NETWORK);
	assert_null(l.v);
	free(a);
}

static void test_decode_leases_and_content(void **state)
{
	(void)state;
	unsigned char *a;
	size_t n = unhex(ANS_LEASE_CREATE, &a);
	struct ctrd_lease l;
	struct err e;
	assert_int_equal(ctrd_lease_decode_create(a, n, &l, &e), 0);
	assert_string_equal(l.id, "imgpull-1-2-ab12");
	assert_true(l.created_s == 1700000000);
	assert_string_equal(ctrd_labels_get(&l.labels, CTRD_LEASE_EXPIRE_LABEL), "2026-01-01T00:00:00Z");
	ctrd_lease_free(&l);
	free(a);
	n = unhex(ANS_LEASE_LIST, &a);
	struct ctrd_leases ls;
	assert_int_equal(ctrd_lease_decode_list(a, n, &ls, &e), 0);
	assert_int_equal(ls.n, 2);
	assert_string_equal(ls.v[1].id, "other");
	ctrd_leases_free(&ls);
	free(a);
	// content Write: two frames, as containerd 1.6 answers a COMMIT.
	n = unhex(ANS_WRITE, &a);
	assert_int_equal(ctrd_content_decode_write(a, n, "sha256:d", &e), 0);
	assert_int_equal(ctrd_content_decode_write(a, n, "sha256:e", &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_int_equal(ctrd_content_decode_write(a, n - 1, "sha256:d", &e), -1);
	assert_int_equal(e.cls, ERR_NETWORK);
	assert_int_equal(ctrd_content_decode_write(a, 0, "sha256:d", &e), -1); // no frame
	assert_int_equal(e.cls, ERR_NETWORK);
	a[0] = 1; // compressed
	assert_int_equal(ctrd_content_decode_write(a, n, "sha256:d", &e), -1);
	free(a);
	// An answer without a digest (2.2 leaves out what it has not) is fine.
	static const unsigned char nodigest[] = {0, 0, 0, 0, 2, 0x08, 0x02};
	assert_int_equal(ctrd_content_decode_write(nodigest, sizeof(nodigest), "sha256:d", &e), 0);
	static const unsigned char digest_varint[] = {0, 0, 0, 0, 2, 0x30, 0x02};
	assert_int_equal(ctrd_content_decode_write(digest_varint, sizeof(digest_varint), "sha256:d", &e), -1);
	n = unhex(ANS_CONTENT_INFO, &a);
	struct ctrd_content_info ci;
	assert_int_equal(ctrd_content_decode_info(a, n, &ci, &e), 0);
	assert_string_equal(ci.digest, "sha256:d");
	assert_true(ci.size == 300);
	assert_string_equal(ctrd_labels_get(&ci.labels, CTRD_LABEL_UNCOMPRESSED), "sha256:u");
	ctrd_content_info_free(&ci);
	free(a);
}

// Every decoder over every prefix of every canned answer: no crash, no leak
// (ASan), and a failure leaves nothing allocated.
static void decode_all(const unsigned char *a, size_t n)
{
	struct err e;
	struct ctrd_mounts m;
	if (ctrd_snap_decode_mounts(a, n, &m, &e) == 0)
		ctrd_mounts_free(&m);
	else
		assert_null(m.v);
	struct ctrd_info i;
	if (ctrd_snap_decode_stat(a, n, &i, &e) == 0)
		ctrd_info_free(&i);
	else
		assert_null(i.name);
	struct ctrd_infos l;
	if (ctrd_snap_decode_list_frames(a, n, &l, &e) == 0)
		ctrd_infos_free(&l);
	else
		assert_null(l.v);
	struct ctrd_lease ls;
	if (ctrd_lease_decode_create(a, n, &ls, &e) == 0)
		ctrd_lease_free(&ls);
	else
		assert_null(ls.id);
	struct ctrd_leases lss;
	if (ctrd_lease_decode_list(a, n, &lss, &e) == 0)
		ctrd_leases_free(&lss);
	else
		assert_null(lss.v);
	struct ctrd_content_info ci;
	if (ctrd_content_decode_info(a, n, &ci, &e) == 0)
		ctrd_content_info_free(&ci);
	else
		assert_null(ci.digest);
	ctrd_content_decode_write(a, n, "sha256:d", &e);
}

static void test_truncated(void **state)
{
	(void)state;
	static const char *const answers[] = {ANS_MOUNTS, ANS_STAT, ANS_LIST, ANS_LEASE_CREATE, ANS_LEASE_LIST,
					      ANS_WRITE, ANS_CONTENT_INFO};
	struct err e;
	for (size_t k = 0; k < sizeof(answers) / sizeof(answers[0]); k++) {
		unsigned char *a;
		size_t n = unhex(answers[k], &a);
		for (size_t cut = 0; cut <= n; cut++) {
			unsigned char *p = xmalloc(cut ? cut : 1); // exact, for ASan
			memcpy(p, a, cut);
			decode_all(p, cut);
			free(p);
		}
		free(a);
	}
	// The stat answer cut inside its Info is refused.
	unsigned char *a;
	size_t n = unhex(ANS_STAT, &a);
	struct ctrd_info i;
	for (size_t cut = 1; cut < n - 2; cut++)
		if (ctrd_snap_decode_stat(a, cut, &i, &e) == 0)
			fail_msg("a stat answer cut at %zu of %zu accepted", cut, n);
	free(a);
}

// An answer of count copies of the field `field` holding item (len bytes).
static size_t repeat(unsigned char *out, size_t cap, unsigned field, const void *item, size_t len, size_t count)
{
	struct buf b, one;
	buf_init(&b, cap);
	buf_init(&one, cap);
	buf_add(&one, item, len);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(pb_put_message(&b, field, &one), 0);
	memcpy(out, b.data, b.len);
	size_t n = b.len;
	buf_release(&b);
	buf_release(&one);
	return n;
}

static void test_hostile(void **state)
{
	(void)state;
	struct err e;
	size_t cap = 1u << 20;
	unsigned char *a = xmalloc(cap);
	struct ctrd_mounts m;
	// Mounts: 16 accepted, 17 refused.
	static const unsigned char bind[] = {0x0a, 0x04, 'b', 'i', 'n', 'd'};
	size_t n = repeat(a, cap, 1, bind, sizeof(bind), CTRD_MOUNTS_MAX);
	assert_int_equal(ctrd_snap_decode_mounts(a, n, &m, &e), 0);
	assert_int_equal(m.n, CTRD_MOUNTS_MAX);
	ctrd_mounts_free(&m);
	n = repeat(a, cap, 1, bind, sizeof(bind), CTRD_MOUNTS_MAX + 1);
	assert_int_equal(ctrd_snap_decode_mounts(a, n, &m, &e), -1);
	assert_int_equal(e.cls, ERR_NETWORK);
	// Options: 64 accepted, 65 refused (inside one mount).
	static const unsigned char opt[] = {'r', 'w'};
	struct buf mt;
	buf_init(&mt, cap);
	for (int k = 0; k < CTRD_OPTIONS_MAX + 1; k++)
		pb_put_bytes(&mt, 4, opt, sizeof(opt));
	n = repeat(a, cap, 1, mt.data, mt.len - 4, 1);
	assert_int_equal(ctrd_snap_decode_mounts(a, n, &m, &e), 0);
	ctrd_mounts_free(&m);
	n = repeat(a, cap, 1, mt.data, mt.len, 1);
	assert_int_equal(ctrd_snap_decode_mounts(a, n, &m, &e), -1);
	// One option over 32 KiB, a source over 4096 bytes, a NUL in a type.
	buf_reset(&mt);
	char *big = xmalloc(CTRD_OPTION_MAX + 1);
	memset(big, 'o', CTRD_OPTION_MAX + 1);
	pb_put_bytes(&mt, 4, big, CTRD_OPTION_MAX + 1);
	n = repeat(a, cap, 1, mt.data, mt.len, 1);
	assert_int_equal(ctrd_snap_decode_mounts(a, n, &m, &e), -1);
	buf_reset(&mt);
	pb_put_bytes(&mt, 2, big, CTRD_STRING_MAX + 1);
	n = repeat(a, cap, 1, mt.data, mt.len, 1);
	assert_int_equal(ctrd_snap_decode_mounts(a, n, &m, &e), -1);
	static const unsigned char nul[] = {0x0a, 0x02, 'b', 0};
	n = repeat(a, cap, 1, nul, sizeof(nul), 1);
	assert_int_equal(ctrd_snap_decode_mounts(a, n, &m, &e), -1);
	// A mount that is not a message, a length past the end.
	static const unsigned char notmsg[] = {0x08, 0x01};
	assert_int_equal(ctrd_snap_decode_mounts(notmsg, sizeof(notmsg), &m, &e), -1);
	static const unsigned char past[] = {0x0a, 0x7f, 0x0a, 0x01, 'b'};
	assert_int_equal(ctrd_snap_decode_mounts(past, sizeof(past), &m, &e), -1);
	static const unsigned char past_inner[] = {0x0a, 0x03, 0x0a, 0x7f, 'b'};
	assert_int_equal(ctrd_snap_decode_mounts(past_inner, sizeof(past_inner), &m, &e), -1);
	// Labels: 256 accepted, 257 refused; key + value over 4096 refused; an empty key refused.
	struct ctrd_info i;
	buf_reset(&mt);
	static const unsigned char name[] = {0x0a, 0x01, 'n'};
	buf_add(&mt, name, sizeof(name));
	static const unsigned char label[] = {0x0a, 0x01, 'k', 0x12, 0x01, 'v'};
	for (int k = 0; k < CTRD_LABELS_MAX; k++)
		pb_put_bytes(&mt, 6, label, sizeof(label));
	n = repeat(a, cap, 1, mt.data, mt.len, 1);
	assert_int_equal(ctrd_snap_decode_stat(a, n, &i, &e), 0);
	assert_int_equal(i.labels.n, CTRD_LABELS_MAX);
	ctrd_info_free(&i);
	pb_put_bytes(&mt, 6, label, sizeof(label));
	n = repeat(a, cap, 1, mt.data, mt.len, 1);
	assert_int_equal(ctrd_snap_decode_stat(a, n, &i, &e), -1);
	assert_null(i.name);
	buf_reset(&mt);
	buf_add(&mt, name, sizeof(name));
	struct buf ent;
	buf_init(&ent, cap);
	pb_put_bytes(&ent, 1, big, 2000);
	pb_put_bytes(&ent, 2, big, 2097);
	pb_put_message(&mt, 6, &ent);
	n = repeat(a, cap, 1, mt.data, mt.len, 1);
	assert_int_equal(ctrd_snap_decode_stat(a, n, &i, &e), -1);
	static const unsigned char nokey[] = {0x0a, 0x01, 'n', 0x32, 0x03, 0x12, 0x01, 'v'};
	n = repeat(a, cap, 1, nokey, sizeof(nokey), 1);
	assert_int_equal(ctrd_snap_decode_stat(a, n, &i, &e), -1);
	// A kind past int, no Info, an Info without a name.
	static const unsigned char kind[] = {0x0a, 0x01, 'n', 0x18, 0x80, 0x80, 0x80, 0x80, 0x10};
	n = repeat(a, cap, 1, kind, sizeof(kind), 1);
	assert_int_equal(ctrd_snap_decode_stat(a, n, &i, &e), -1);
	assert_int_equal(ctrd_snap_decode_stat("", 0, &i, &e), -1);
	static const unsigned char noname[] = {0x0a, 0x02, 0x18, 0x03};
	assert_int_equal(ctrd_snap_decode_stat(noname, sizeof(noname), &i, &e), -1);
	// A lease without an id; more than CTRD_LIST_MAX infos in a List.
	struct ctrd_lease l;
	static const unsigned char noid[] = {0x0a, 0x02, 0x12, 0x00};
	assert_int_equal(ctrd_lease_decode_create(noid, sizeof(noid), &l, &e), -1);
	assert_null(l.id);
	static const unsigned char pname[] = {0x0a, 0x01, 'p'};
	n = repeat(a + 5, cap - 5, 1, pname, sizeof(pname), CTRD_LIST_MAX + 1);
	a[0] = 0;
	a[1] = (unsigned char)(n >> 24);
	a[2] = (unsigned char)(n >> 16);
	a[3] = (unsigned char)(n >> 8);
	a[4] = (unsigned char)n;
	struct ctrd_infos li;
	assert_int_equal(ctrd_snap_decode_list_frames(a, n + 5, &li, &e), -1);
	assert_non_null(strstr(e.msg, "more than 16384 snapshots"));
	assert_null(li.v);
	// A content Info with a negative size.
	static const unsigned char negsize[] = {0x0a, 0x0f, 0x0a, 0x01, 'd', 0x10, 0xff, 0xff, 0xff, 0xff, 0xff,
						0xff, 0xff, 0xff, 0xff, 0x01};
	struct ctrd_content_info ci;
	assert_int_equal(ctrd_content_decode_info(negsize, sizeof(negsize), &ci, &e), -1);
	buf_release(&ent);
	buf_release(&mt);
	free(big);
	free(a);
}

static void test_random_input_is_safe(void **state)
{
	(void)state;
	srand(19);
	unsigned char b[96];
	for (int k = 0; k < 100000; k++) {
		size_t n = (size_t)(rand() % (int)sizeof(b));
		for (size_t j = 0; j < n; j++)
			b[j] = (unsigned char)(rand() % 4 ? rand() % 64 : rand()); // small numbers: more valid keys
		decode_all(b, n);
	}
}

// One mount of type with options, for the table.
struct mt_case {
	const char *what;
	const char *type, *source;
	const char *opts[6];
	int ret;          // 0, or the class refused with
	const char *dir;  // the target
	const char *lowers;
};

static void test_mount_target(void **state)
{
	(void)state;
	const char *R = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs";
	static const struct mt_case t[] = {
		{"overlayfs, no parent (1.6)", "bind", "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs",
		 {"rw", "rbind"}, 0, "/L/snapshots/1/fs", ""},
		{"overlayfs with parents (2.2 order)", "overlay", "overlay",
		 {"workdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3/work",
		  "upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3/fs",
		  "lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/2/fs",
		  "index=off"}, 0, "/L/snapshots/3/fs", "/L/snapshots/2/fs"},
		{"read-only bind (a view)", "bind", "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs",
		 {"ro", "rbind"}, ERR_USAGE, NULL, NULL},
		{"overlay view (no upperdir)", "overlay", "overlay",
		 {"lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/2/fs:"
		  "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs"}, ERR_USAGE, NULL, NULL},
		{"overlay without lowerdir", "overlay", "overlay",
		 {"upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3/fs"}, ERR_USAGE, NULL, NULL},
		{"rootless overlay", "overlay", "overlay",
		 {"upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3/fs",
		  "lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/2/fs", "userxattr"},
		 ERR_USAGE, NULL, NULL},
		{"id-mapped overlay", "overlay", "overlay",
		 {"upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3/fs",
		  "lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/2/fs", "uidmap=0:1000:1"},
		 ERR_USAGE, NULL, NULL},
		{"two upperdirs", "overlay", "overlay",
		 {"upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3/fs",
		  "upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/4/fs",
		  "lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/2/fs"}, ERR_NETWORK, NULL, NULL},
		{"an empty lowerdir component", "overlay", "overlay",
		 {"upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3/fs",
		  "lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/2/fs::"
		  "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs"}, ERR_NETWORK, NULL, NULL},
		{"a lowerdir outside root", "overlay", "overlay",
		 {"upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3/fs",
		  "lowerdir=/etc"}, ERR_USAGE, NULL, NULL},
		{"another type", "fuse.stargz", "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs",
		 {NULL}, ERR_USAGE, NULL, NULL},
		{"no type", "", "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs", {NULL}, ERR_USAGE,
		 NULL, NULL},
		{"relative", "bind", "snapshots/1/fs", {"rbind"}, ERR_NETWORK, NULL, NULL},
		{"dot-dot", "bind", "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/../../../../etc",
		 {"rbind"}, ERR_NETWORK, NULL, NULL},
		{"dot", "bind", "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/./snapshots/1/fs", {"rbind"},
		 ERR_NETWORK, NULL, NULL},
		{"double slash", "bind", "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs//snapshots/1/fs",
		 {"rbind"}, ERR_NETWORK, NULL, NULL},
		{"trailing slash", "bind", "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs/",
		 {"rbind"}, ERR_NETWORK, NULL, NULL},
		{"a sibling of root", "bind", "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs2/snapshots/1/fs",
		 {"rbind"}, ERR_USAGE, NULL, NULL},
		{"root itself", "bind", "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs", {"rbind"}, ERR_USAGE,
		 NULL, NULL},
		{"another root", "bind", "/var/lib/docker/overlay2/x", {"rbind"}, ERR_USAGE, NULL, NULL},
		{"empty source", "bind", "", {"rbind"}, ERR_NETWORK, NULL, NULL},
	};
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		struct ctrd_mount one = {.type = (char *)t[k].type, .source = (char *)t[k].source, .target = (char *)""};
		char *opts[6];
		while (one.noptions < 6 && t[k].opts[one.noptions]) {
			opts[one.noptions] = (char *)t[k].opts[one.noptions];
			one.noptions++;
		}
		one.options = opts;
		struct ctrd_mounts m = {.v = &one, .n = 1};
		struct ctrd_target tg;
		struct err e = {0};
		int r = ctrd_mount_target(&m, R, "/L", &tg, &e);
		if (t[k].ret == 0) {
			if (r != 0)
				fail_msg("%s: refused: %s", t[k].what, e.msg);
			assert_string_equal(tg.dir, t[k].dir);
			char lowers[512] = "";
			for (size_t j = 0; j < tg.nlowers; j++)
				snprintf(lowers + strlen(lowers), sizeof(lowers) - strlen(lowers), "%s%s", j ? ":" : "",
					 tg.lowers[j]);
			assert_string_equal(lowers, t[k].lowers);
			assert_int_equal(tg.overlay, strcmp(t[k].type, "overlay") == 0);
			ctrd_target_free(&tg);
		} else {
			if (r == 0)
				fail_msg("%s: accepted: %s", t[k].what, tg.dir);
			if ((int)e.cls != t[k].ret)
				fail_msg("%s: class %d, want %d: %s", t[k].what, e.cls, t[k].ret, e.msg);
			assert_null(tg.dir);
			assert_null(tg.lowers);
		}
	}
	// Without local_root the paths stay as containerd named them; a bad root is refused.
	struct ctrd_mount one = {.type = (char *)"bind", .source = (char *)"/r/s/1", .target = (char *)""};
	struct ctrd_mounts m = {.v = &one, .n = 1};
	struct ctrd_target tg;
	struct err e;
	assert_int_equal(ctrd_mount_target(&m, "/r", NULL, &tg, &e), 0);
	assert_string_equal(tg.dir, "/r/s/1");
	ctrd_target_free(&tg);
	assert_int_equal(ctrd_mount_target(&m, "/r/", NULL, &tg, &e), -1);
	assert_int_equal(ctrd_mount_target(&m, "r", NULL, &tg, &e), -1);
	assert_int_equal(ctrd_mount_target(&m, "/", NULL, &tg, &e), -1);
	assert_int_equal(ctrd_mount_target(&m, "/r", "host/r", &tg, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	// Two mounts: refused.
	struct ctrd_mount two[2] = {one, one};
	m.v = two;
	m.n = 2;
	assert_int_equal(ctrd_mount_target(&m, "/r", NULL, &tg, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
}

static void test_ids_and_session(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool ok;
	} ids[] = {
		{"k8s.io", true}, {"imgpull-1700000000-42-ab12", true}, {"a", true}, {"A.b_c-d", true},
		{"", false}, {"-a", false}, {"a-", false}, {"a..b", false}, {"a b", false}, {"a/b", false},
		{"a\nb", false}, {"é", false},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true},   // 76
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false}, // 77
	};
	for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++)
		if (ctrd_id_valid(ids[k].s) != ids[k].ok)
			fail_msg("'%s': %d", ids[k].s, !ids[k].ok);
	assert_false(ctrd_id_valid(NULL));
	struct ctrd_session s;
	ctrd_session_init(&s, "/nonexistent/c.sock", "overlayfs", 0);
	assert_string_equal(s.ns, "k8s.io");
	assert_int_equal(s.timeout_s, CTRD_CALL_TIMEOUT_S);
	struct err e;
	assert_int_equal(ctrd_session_set_lease(&s, "imgpull-1-2-ab12", &e), 0);
	assert_string_equal(s.lease, "imgpull-1-2-ab12");
	assert_int_equal(ctrd_session_set_lease(&s, "a\r\nb", &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	assert_string_equal(s.lease, "imgpull-1-2-ab12");
	assert_int_equal(ctrd_session_set_lease(&s, NULL, &e), 0);
	assert_string_equal(s.lease, "");
	// Unreachable: ERR_NETWORK, no status.
	struct ctrd_info info;
	assert_int_equal(ctrd_snap_stat(&s, "c1", &info, &e), -1);
	assert_int_equal(s.status.code, GRPC_NO_STATUS);
	assert_int_equal(e.cls, ERR_NETWORK);
	assert_non_null(strstr(e.msg, "containerd: cannot reach /nonexistent/c.sock"));
	assert_null(info.name);
	// A bad namespace never leaves.
	s.ns = "k8s.io\r\nX: y";
	assert_int_equal(ctrd_lease_delete(&s, "x", false, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	// Lease and content calls check their arguments first.
	s.ns = CTRD_NAMESPACE;
	assert_int_equal(ctrd_lease_create(&s, "bad id", NULL, 0, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	assert_int_equal(ctrd_content_register(&s, "sha256:xyz", 1, NULL, 0, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	// Prepare's bound: the call's, except native on a parent (a copy of it).
	assert_int_equal(ctrd_prepare_bound_s("overlayfs", "sha256:p", 40000000000ULL), CTRD_CALL_TIMEOUT_S);
	assert_int_equal(ctrd_prepare_bound_s("native", NULL, 40000000000ULL), CTRD_CALL_TIMEOUT_S);
	assert_int_equal(ctrd_prepare_bound_s("native", "sha256:p", 40000000000ULL), 300 + 5000);
}

// A listener that never accepts: a call ends at the session's timeout, or
// sooner at the pull's deadline.
static void test_silent_socket(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_ctrd.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/c.sock", dir);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	struct ctrd_session s;
	ctrd_session_init(&s, sa.sun_path, "overlayfs", 0);
	s.timeout_s = 2;
	struct err e;
	struct ctrd_mounts m;
	double t0 = clock_mono();
	assert_int_equal(ctrd_snap_prepare(&s, "k", NULL, NULL, 0, 0, &m, &e), -1);
	double took = clock_mono() - t0;
	assert_true(took >= 1.5 && took < 5);
	assert_int_equal(s.status.code, GRPC_NO_STATUS);
	assert_int_equal(e.cls, ERR_NETWORK);
	char want[400];
	snprintf(want, sizeof(want),
		 "containerd: unix://%s did not answer /containerd.services.snapshots.v1.Snapshots/Prepare within 2 s",
		 sa.sun_path);
	assert_string_equal(e.msg, want);
	assert_null(m.v);
	s.timeout_s = 600;
	s.deadline = clock_mono() + 1;
	t0 = clock_mono();
	assert_int_equal(ctrd_content_register(&s, "sha256:" "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
					       0, NULL, 0, &e), -1);
	assert_true(clock_mono() - t0 < 4);
	assert_non_null(strstr(e.msg, "did not answer /containerd.services.content.v1.Content/Write within"));
	close(fd);
	unlink(sa.sun_path);
	rmdir(dir);
}

// identity.ChainID, checked against this Python:
//   import hashlib
//   d = ["sha256:" + hashlib.sha256(x).hexdigest() for x in (b"layer one", b"layer two", b"layer three")]
//   ch = [d[0]]
//   for x in d[1:]: ch.append("sha256:" + hashlib.sha256((ch[-1] + " " + x).encode()).hexdigest())
static void test_chain_ids(void **state)
{
	(void)state;
	const char *diff[] = {
		"sha256:f191e625176e7514249870c60bc24622131b04927a418001d1969c9cecd260f1",
		"sha256:77c7ed05b2e49df2e55d70cb007508cc66b2f5419a940bfd6f8749ba7db77c45",
		"sha256:6483085b79dcef99d4d90b43a910666cdce078bf772da453728f8c385fbfdf2f",
	};
	char out[3][OCI_DIGEST_LEN + 1];
	struct err e;
	assert_int_equal(oci_chain_ids(diff, 3, out, &e), 0);
	assert_string_equal(out[0], diff[0]);
	assert_string_equal(out[1], "sha256:d440fc2ac5bfa225471b58c5d6b4283504f5dfbcd6251023a635cdcd0c058e3e");
	assert_string_equal(out[2], "sha256:952689aceeac7e377b602804de533a4ad47ba634e3917ca7cb071e5ff2bff6cd");
	assert_int_equal(oci_chain_ids(diff, 0, out, &e), 0);
	const char *bad[] = {diff[0], "sha256:F191E625176E7514249870C60BC24622131B04927A418001D1969C9CECD260F1"};
	assert_int_equal(oci_chain_ids(bad, 2, out, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_non_null(strstr(e.msg, "diff_id 1: invalid digest"));
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_snapshots),     cmocka_unit_test(test_encode_leases),
		cmocka_unit_test(test_encode_content),       cmocka_unit_test(test_decode_mounts),
		cmocka_unit_test(test_decode_stat_and_list), cmocka_unit_test(test_decode_leases_and_content),
		cmocka_unit_test(test_truncated),            cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_random_input_is_safe), cmocka_unit_test(test_mount_target),
		cmocka_unit_test(test_ids_and_session),      cmocka_unit_test(test_silent_socket),
		cmocka_unit_test(test_chain_ids),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
