// SPDX-License-Identifier: Apache-2.0
// unpack/layer: layers made here with libarchive (tar, gzip, zstd) applied to a
// temporary root filesystem: entry types, long and non-ASCII names, hard links
// across layers, whiteouts and opaque directories, a file replacing a directory
// and the reverse; hostile entries (absolute, "..", through a symbolic link, a
// hard link out) refused with nothing written outside; a wrong diff_id, a
// corrupt stream and a stream past the cap refused. unpack/rootfs: the name
// --unpack takes (the root directory refused; '.', '..' and trailing slashes)
// and the check of ROOTFS made before anything is created.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cmocka.h>

#include "oci/digest.h"
#include "tar_build.h"
#include "unpack/layer.h"
#include "unpack/rootfs.h"
#include "util/err.h"
#include "util/file.h"
#include "util/mem.h"

struct fx {
	char top[64];   // the temporary directory; rootfs is top/root
	char root[96];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->top, sizeof(f->top), "/tmp/imgpull-unpack-XXXXXX");
	assert_non_null(mkdtemp(f->top));
	snprintf(f->root, sizeof(f->root), "%s/root", f->top);
	assert_int_equal(mkdir(f->root, 0755), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct err e;
	file_remove_tree(f->top, &e);
	free(f);
	return 0;
}

static int apply(struct fx *f, struct tarb *t, enum unpack_compression c, const char *want_diff, struct err *e)
{
	char diff[OCI_DIGEST_LEN + 1];
	size_t size;
	int fd = tar_end(t, c, diff, &size);
	struct unpack_source src = {.fd = fd, .size = size};
	struct unpack_opts o = {.chown = geteuid() == 0, .max_bytes = 64u << 20};
	struct unpack_stats st;
	int r = unpack_layer(f->root, &src, c, want_diff ? want_diff : diff, "test", &o, &st, e);
	close(fd);
	return r;
}

static bool exists(struct fx *f, const char *rel)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", f->root, rel);
	return lstat(p, &st) == 0;
}

static void content(struct fx *f, const char *rel, const char *want)
{
	char p[512], got[256] = "";
	snprintf(p, sizeof(p), "%s/%s", f->root, rel);
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, got, sizeof(got) - 1);
	close(fd);
	assert_true(n >= 0);
	got[n] = '\0';
	assert_string_equal(got, want);
}

static struct stat lst(struct fx *f, const char *rel)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", f->root, rel);
	assert_int_equal(lstat(p, &st), 0);
	return st;
}

static void test_layers(void **state)
{
	struct fx *f = *state;
	struct err e;
	char longname[300];
	snprintf(longname, sizeof(longname), "deep/%0150d", 7);
	memset(longname + 5, 'n', 150);

	struct tarb t;
	tar_begin(&t);
	tar_add(&t, "./a/", AE_IFDIR, 0755, NULL, NULL);
	tar_add(&t, "./a/f", AE_IFREG, 0751, "one", NULL);
	tar_add(&t, "./a/h", AE_IFREG, 0751, NULL, "a/f");
	tar_add(&t, "./l", AE_IFLNK, 0777, NULL, "a/f");
	tar_add(&t, "b/g", AE_IFREG, 0644, "gee", NULL);
	tar_add(&t, "opq/x", AE_IFREG, 0644, "x", NULL);
	tar_add(&t, "opq/y", AE_IFREG, 0644, "y", NULL);
	tar_add(&t, "c", AE_IFREG, 0644, "a file", NULL);
	tar_add(&t, "p", AE_IFIFO, 0600, NULL, NULL);
	tar_add(&t, "deep/", AE_IFDIR, 0755, NULL, NULL);
	tar_add(&t, longname, AE_IFREG, 0644, "long", NULL);
	tar_add(&t, "\xc3\xbc-\xe2\x82\xac.txt", AE_IFREG, 0644, "utf8", NULL);
	assert_int_equal(apply(f, &t, UNPACK_GZIP, NULL, &e), 0);
	content(f, "a/f", "one");
	assert_int_equal(lst(f, "a/f").st_mode & 07777, 0751);
	assert_int_equal(lst(f, "a/f").st_mtime, 1000000);
	assert_int_equal(lst(f, "a/h").st_ino, lst(f, "a/f").st_ino);
	assert_true(S_ISLNK(lst(f, "l").st_mode));
	assert_true(S_ISFIFO(lst(f, "p").st_mode));
	content(f, longname, "long");
	content(f, "\xc3\xbc-\xe2\x82\xac.txt", "utf8");
	if (geteuid() == 0)
		assert_int_equal(lst(f, "a/f").st_uid, 1234);

	// Layer 2 (zstd): whiteouts, an opaque directory, a directory replaced
	// by a file and a file by a directory, a symlink by a directory.
	tar_begin(&t);
	tar_add(&t, "a/.wh.f", AE_IFREG, 0644, NULL, NULL);
	tar_add(&t, "opq/z", AE_IFREG, 0644, "z", NULL);
	tar_add(&t, "opq/.wh..wh..opq", AE_IFREG, 0644, NULL, NULL);
	tar_add(&t, "b", AE_IFREG, 0600, "now a file", NULL);
	tar_add(&t, "c/", AE_IFDIR, 0700, NULL, NULL);
	tar_add(&t, "c/inside", AE_IFREG, 0644, "in", NULL);
	tar_add(&t, "l/", AE_IFDIR, 0755, NULL, NULL);
	tar_add(&t, ".wh.nothing-there", AE_IFREG, 0644, NULL, NULL);
	assert_int_equal(apply(f, &t, UNPACK_ZSTD, NULL, &e), 0);
	assert_false(exists(f, "a/f"));
	content(f, "a/h", "one"); // the other name of the removed file stays
	assert_false(exists(f, "opq/x"));
	assert_false(exists(f, "opq/y"));
	content(f, "opq/z", "z"); // written by this layer before its opaque marker
	content(f, "b", "now a file");
	assert_true(S_ISDIR(lst(f, "c").st_mode));
	content(f, "c/inside", "in");
	assert_true(S_ISDIR(lst(f, "l").st_mode));

	// Layer 3 (plain tar): a hard link to a file of layer 1.
	tar_begin(&t);
	tar_add(&t, "k", AE_IFREG, 0644, NULL, "a/h");
	assert_int_equal(apply(f, &t, UNPACK_TAR, NULL, &e), 0);
	assert_int_equal(lst(f, "k").st_ino, lst(f, "a/h").st_ino);
}

// Each hostile layer is refused (ERR_INTEGRITY naming the entry) and the
// directory around ROOTFS is left as it was.
static void test_hostile(void **state)
{
	struct fx *f = *state;
	struct err e;
	char outside[128];
	snprintf(outside, sizeof(outside), "%s/outside", f->top);
	assert_int_equal(mkdir(outside, 0755), 0);
	struct {
		const char *what;
		const char *names[3];
		mode_t types[3];
		const char *links[3];
		const char *refused;
	} cases[] = {
		{"dot-dot", {"../escape"}, {AE_IFREG}, {NULL}, "../escape"},
		{"dot-dot inside", {"a/../../escape"}, {AE_IFREG}, {NULL}, "a/../../escape"},
		{"absolute", {"/tmp/imgpull-abs-escape"}, {AE_IFREG}, {NULL}, "/tmp/imgpull-abs-escape"},
		{"symlink then write", {"evil", "evil/x"}, {AE_IFLNK, AE_IFREG}, {"../outside", NULL}, "evil/x"},
		{"symlink to / then write", {"root", "root/tmp/x"}, {AE_IFLNK, AE_IFREG}, {"/", NULL}, "root/tmp/x"},
		{"hard link out", {"hl"}, {AE_IFREG}, {"../outside/f"}, "hl"},
		{"whiteout through a symlink", {"w", "w/.wh.f"}, {AE_IFLNK, AE_IFREG}, {"../outside", NULL}, "w/.wh.f"},
	};
	int fd = open(outside, O_RDONLY);
	close(fd);
	char victim[160];
	snprintf(victim, sizeof(victim), "%s/f", outside);
	FILE *v = fopen(victim, "w");
	fputs("keep", v);
	fclose(v);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tarb t;
		tar_begin(&t);
		for (int k = 0; k < 3 && cases[i].names[k]; k++) {
			if (cases[i].types[k] == AE_IFLNK)
				tar_add(&t, cases[i].names[k], AE_IFLNK, 0777, NULL, cases[i].links[k]);
			else
				tar_add(&t, cases[i].names[k], AE_IFREG, 0644, cases[i].links[k] ? NULL : "bad",
					cases[i].links[k]);
		}
		int r = apply(f, &t, UNPACK_TAR, NULL, &e);
		if (r == 0)
			fail_msg("%s: accepted", cases[i].what);
		assert_int_equal(e.cls, ERR_INTEGRITY);
		if (!strstr(e.msg, cases[i].refused))
			fail_msg("%s: '%s' does not name %s", cases[i].what, e.msg, cases[i].refused);
	}
	char **names;
	size_t n;
	assert_int_equal(file_list_dir(outside, &names, &n, &e), 0);
	assert_int_equal(n, 1); // only the victim, unchanged
	file_list_free(names, n);
	FILE *r = fopen(victim, "r");
	char buf[16] = "";
	assert_non_null(fgets(buf, sizeof(buf), r));
	fclose(r);
	assert_string_equal(buf, "keep");
	assert_int_equal(file_list_dir(f->top, &names, &n, &e), 0);
	assert_int_equal(n, 2); // root and outside
	file_list_free(names, n);
	struct stat st;
	assert_int_equal(lstat("/tmp/imgpull-abs-escape", &st), -1);
}

static void test_bad_streams(void **state)
{
	struct fx *f = *state;
	struct err e;
	struct tarb t;
	tar_begin(&t);
	tar_add(&t, "x", AE_IFREG, 0644, "x", NULL);
	assert_int_equal(apply(f, &t, UNPACK_GZIP,
			       "sha256:0000000000000000000000000000000000000000000000000000000000000000", &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_non_null(strstr(e.msg, "the config says"));

	// Not gzip at all, and gzip cut short.
	tar_begin(&t);
	tar_add(&t, "x", AE_IFREG, 0644, "x", NULL);
	assert_int_equal(apply(f, &t, UNPACK_TAR, NULL, &e), 0);
	char diff[OCI_DIGEST_LEN + 1];
	size_t size;
	tar_begin(&t);
	tar_add(&t, "y", AE_IFREG, 0644, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", NULL);
	int fd = tar_end(&t, UNPACK_GZIP, diff, &size);
	struct unpack_source src = {.fd = fd, .size = size - 12};
	struct unpack_opts o = {.max_bytes = 1u << 20};
	struct unpack_stats st;
	assert_int_equal(unpack_layer(f->root, &src, UNPACK_GZIP, diff, "cut", &o, &st, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	src.size = size;
	assert_int_equal(unpack_layer(f->root, &src, UNPACK_ZSTD, diff, "not zstd", &o, &st, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	// A cap below its size: refused as a storage matter.
	o.max_bytes = 512;
	assert_int_equal(unpack_layer(f->root, &src, UNPACK_GZIP, diff, "bomb", &o, &st, &e), -1);
	assert_int_equal(e.cls, ERR_STORAGE);
	close(fd);
}

// unpack_layer_diff_id: the same diff_id and size as the tar's, for every
// compression; without out, the inflate alone; a cut stream refused.
static void test_diff_id(void **state)
{
	(void)state;
	const enum unpack_compression cs[] = {UNPACK_TAR, UNPACK_GZIP, UNPACK_ZSTD};
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		struct tarb t;
		tar_begin(&t);
		tar_add(&t, "a/b", AE_IFREG, 0644, "some content", NULL);
		char diff[OCI_DIGEST_LEN + 1], got[OCI_DIGEST_LEN + 1];
		size_t size;
		int fd = tar_end(&t, cs[i], diff, &size);
		size_t tar_size = (size_t)t.used;
		struct unpack_source src = {.fd = fd, .size = size};
		uint64_t out = 0;
		struct err e;
		assert_int_equal(unpack_layer_diff_id(&src, cs[i], "t", got, &out, &e), 0);
		assert_string_equal(got, diff);
		assert_int_equal(out, tar_size);
		out = 0;
		assert_int_equal(unpack_layer_diff_id(&src, cs[i], "t", NULL, &out, &e), 0);
		assert_int_equal(out, tar_size);
		if (cs[i] != UNPACK_TAR) {
			src.size = size - 8;
			assert_int_equal(unpack_layer_diff_id(&src, cs[i], "t", got, &out, &e), -1);
			assert_int_equal(e.cls, ERR_INTEGRITY);
		}
		close(fd);
	}
}

// n pseudo-random lowercase letters from seed, NUL-terminated (malloc'd).
static char *letters(size_t n, uint32_t seed)
{
	char *data = malloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		data[i] = (char)('a' + (seed >> 16) % 26);
	}
	data[n] = '\0';
	return data;
}

// A layer larger than the inflater's ring (8 x 256 KiB) many times over, in
// both of unpack_layer's threads: every byte lands in place.
static void test_large_layer(void **state)
{
	struct fx *f = *state;
	size_t n = 5u << 20;
	char *data = letters(n, 12345);
	struct tarb t;
	tar_begin(&t);
	tar_add(&t, "big.txt", AE_IFREG, 0644, data, NULL);
	tar_add(&t, "after", AE_IFREG, 0644, "after", NULL);
	struct err e;
	assert_int_equal(apply(f, &t, UNPACK_GZIP, NULL, &e), 0);
	char p[512];
	snprintf(p, sizeof(p), "%s/big.txt", f->root);
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	char *got = malloc(n + 1);
	assert_int_equal(read(fd, got, n + 1), (ssize_t)n);
	close(fd);
	assert_memory_equal(got, data, n);
	free(got);
	content(f, "after", "after");
	free(data);
}

// A source whose bytes stop coming after the first part (a stalled download):
// a hostile entry there fails the layer, and the inflater's wait for the rest
// is cancelled with that error rather than waited out.
struct stall_src {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t have;
	bool cancelled;
	char why[64];
};

static uint64_t stall_wait(void *ud, uint64_t want, struct err *e)
{
	struct stall_src *s = ud;
	pthread_mutex_lock(&s->mu);
	while (want > s->have && !s->cancelled)
		pthread_cond_wait(&s->cv, &s->mu);
	uint64_t n = want > s->have ? s->have : want;
	if (want > s->have)
		err_set(e, ERR_NETWORK, "cancelled");
	pthread_mutex_unlock(&s->mu);
	return n;
}

static void stall_cancel(void *ud, const struct err *why)
{
	struct stall_src *s = ud;
	pthread_mutex_lock(&s->mu);
	s->cancelled = true;
	snprintf(s->why, sizeof(s->why), "%.60s", why ? why->msg : "");
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void test_cancel(void **state)
{
	struct fx *f = *state;
	size_t n = 3u << 20;
	char *data = letters(n, 7);
	struct tarb t;
	tar_begin(&t);
	tar_add(&t, "../escape", AE_IFREG, 0644, "x", NULL);
	tar_add(&t, "big.bin", AE_IFREG, 0644, data, NULL);
	char diff[OCI_DIGEST_LEN + 1];
	size_t size;
	int fd = tar_end(&t, UNPACK_TAR, diff, &size);
	free(data);
	struct stall_src s = {.have = 300000};
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	struct unpack_source src = {.fd = fd, .size = size, .wait = stall_wait, .ud = &s, .cancel = stall_cancel};
	struct unpack_opts o = {.max_bytes = 64u << 20};
	struct unpack_stats st;
	struct err e;
	assert_int_equal(unpack_layer(f->root, &src, UNPACK_TAR, diff, "stalled", &o, &st, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_non_null(strstr(e.msg, "'../escape' refused"));
	assert_true(s.cancelled);
	assert_non_null(strstr(s.why, "layer stalled: entry"));
	pthread_mutex_destroy(&s.mu);
	pthread_cond_destroy(&s.cv);
	close(fd);
}

// Names at the top that are the caller's own (unpack/rootfs's markers): a
// layer can neither write them, nor write under them, nor remove them by a
// whiteout or an opaque directory at the top.
static void test_reserved(void **state)
{
	struct fx *f = *state;
	struct err e;
	char p[512];
	snprintf(p, sizeof(p), "%s/.mine", f->root);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("ours", fp);
	fclose(fp);
	static const char *const reserved[] = {".mine", ".ours", NULL};
	struct tarb t;
	tar_begin(&t);
	tar_add(&t, ".ours", AE_IFREG, 0644, "forged", NULL);
	tar_add(&t, ".mine/x", AE_IFREG, 0644, "under it", NULL);
	tar_add(&t, ".wh..mine", AE_IFREG, 0644, "", NULL);
	tar_add(&t, ".wh..wh..opq", AE_IFREG, 0644, "", NULL);
	tar_add(&t, ".mined", AE_IFREG, 0644, "a name that only begins like one", NULL);
	tar_add(&t, "d/.mine", AE_IFREG, 0644, "not at the top", NULL);
	char diff[OCI_DIGEST_LEN + 1];
	size_t size;
	int fd = tar_end(&t, UNPACK_TAR, diff, &size);
	struct unpack_source src = {.fd = fd, .size = size};
	struct unpack_opts o = {.chown = geteuid() == 0, .max_bytes = 64u << 20, .reserved = reserved};
	struct unpack_stats st;
	int r = unpack_layer(f->root, &src, UNPACK_TAR, diff, "test", &o, &st, &e);
	close(fd);
	assert_int_equal(r, 0);
	content(f, ".mine", "ours");
	assert_false(exists(f, ".ours"));
	content(f, ".mined", "a name that only begins like one");
	content(f, "d/.mine", "not at the top");
}

static void test_media_types(void **state)
{
	(void)state;
#ifdef IMGPULL_UNPACK_ZLIB
	assert_string_equal(unpack_gzip_engine(), "zlib");
#endif
	print_message("gzip through %s\n", unpack_gzip_engine());
	enum unpack_compression c;
	assert_int_equal(unpack_compression_of("application/vnd.oci.image.layer.v1.tar+zstd", &c), 0);
	assert_int_equal(c, UNPACK_ZSTD);
	assert_int_equal(unpack_compression_of("application/vnd.docker.image.rootfs.diff.tar.gzip", &c), 0);
	assert_int_equal(c, UNPACK_GZIP);
	assert_int_equal(unpack_compression_of("application/vnd.oci.image.layer.v1.tar", &c), 0);
	assert_int_equal(c, UNPACK_TAR);
	assert_int_equal(unpack_compression_of("application/octet-stream", &c), -1);
	assert_int_equal(unpack_compression_of(NULL, &c), -1);
}

static void test_rootfs_trim(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want; // want NULL: to be resolved
	} cases[] = {
		{"a", "a"},     {"a/", "a"},       {"a//", "a"},     {"/x/y/", "/x/y"}, {"./a", "./a"},  {".a", ".a"},
		{"..a", "..a"}, {"a...", "a..."},  {"a/.b/", "a/.b"}, {"/", NULL},       {"//", NULL},    {".", NULL},
		{"..", NULL},   {"a/.", NULL},     {"a/..", NULL},   {"a/./", NULL},    {"/..", NULL},   {"x/../", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = unpack_rootfs_trim(cases[i].in);
		if (cases[i].want)
			assert_string_equal(got ? got : "(null)", cases[i].want);
		else if (got)
			fail_msg("'%s' trimmed to '%s', expected to be resolved", cases[i].in, got);
		free(got);
	}
}

static void name_refused(const char *arg)
{
	char *out = (char *)"untouched";
	struct err e;
	err_clear(&e);
	assert_int_equal(unpack_rootfs_name(arg, &out, &e), -1);
	assert_null(out);
	assert_int_equal(e.cls, ERR_USAGE);
}

static void test_rootfs_name(void **state)
{
	struct fx *f = *state;
	struct err e;
	char *out, p[256];
	name_refused("/");
	name_refused("//");
	name_refused("/..");
	name_refused("/tmp/..");
	snprintf(p, sizeof(p), "%s/to-root", f->top);
	assert_int_equal(symlink("/", p), 0);
	name_refused(p);
	snprintf(p, sizeof(p), "%s/missing/..", f->top);
	name_refused(p);
	snprintf(p, sizeof(p), "%s/root/", f->top);
	assert_int_equal(unpack_rootfs_name(p, &out, &e), 0);
	assert_string_equal(out, f->root);
	free(out);
	snprintf(p, sizeof(p), "%s/root/.", f->top);
	assert_int_equal(unpack_rootfs_name(p, &out, &e), 0);
	assert_string_equal(out, f->root);
	free(out);
	snprintf(p, sizeof(p), "%s/root/..", f->top);
	assert_int_equal(unpack_rootfs_name(p, &out, &e), 0);
	assert_string_equal(out, f->top);
	free(out);
	snprintf(p, sizeof(p), "%s/new", f->top); // need not exist
	assert_int_equal(unpack_rootfs_name(p, &out, &e), 0);
	assert_string_equal(out, p);
	free(out);
}

static void put(struct fx *f, const char *rel, const char *text)
{
	char p[512];
	struct err e;
	snprintf(p, sizeof(p), "%s/%s", f->root, rel);
	assert_int_equal(file_write_atomic(p, text, strlen(text), &e), 0);
}

static int check(struct fx *f, const char *rel, struct unpack_rootfs_state *st, struct err *e)
{
	char p[512];
	snprintf(p, sizeof(p), "%s%s", f->root, rel);
	err_clear(e);
	return unpack_rootfs_check(p, st, e);
}

static void test_rootfs_check(void **state)
{
	struct fx *f = *state;
	struct unpack_rootfs_state st;
	struct err e;
	assert_int_equal(check(f, "/missing", &st, &e), 0); // made later, not by the check
	assert_null(st.done);
	assert_false(exists(f, "missing"));
	assert_int_equal(check(f, "", &st, &e), 0); // empty
	assert_null(st.done);
	put(f, "theirs", "precious");
	assert_int_equal(check(f, "", &st, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	assert_non_null(strstr(e.msg, "holds no unpack of imgpull's"));
	assert_int_equal(check(f, "/theirs", &st, &e), -1); // a file
	assert_int_equal(e.cls, ERR_USAGE);
	assert_non_null(strstr(e.msg, "is not a directory"));
	assert_int_equal(check(f, "/theirs/x", &st, &e), -1); // through a file
	assert_int_equal(e.cls, ERR_USAGE);
	put(f, UNPACK_MARKER_BUSY, "{\"manifest\": \"sha256:1\"}");
	assert_int_equal(check(f, "", &st, &e), 0); // an unfinished unpack of ours
	assert_null(st.done);
	put(f, UNPACK_MARKER_DONE, "{\"manifest\": \"sha256:2\", \"bytes\": 4200}");
	assert_int_equal(check(f, "", &st, &e), 0);
	assert_string_equal(st.done, "sha256:2");
	assert_int_equal(st.bytes, 4200);
	unpack_rootfs_state_release(&st);
	put(f, UNPACK_MARKER_BUSY, "not json");
	put(f, UNPACK_MARKER_DONE, "{\"manifest\": 7}"); // not ours after all
	assert_int_equal(check(f, "", &st, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	assert_true(exists(f, "theirs"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserved, setup, teardown),
		cmocka_unit_test(test_media_types),
		cmocka_unit_test(test_diff_id),
		cmocka_unit_test_setup_teardown(test_large_layer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test(test_rootfs_trim),
		cmocka_unit_test_setup_teardown(test_rootfs_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_check, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
