// SPDX-License-Identifier: Apache-2.0
// unpack/layer's overlay mode (unpack/overlay.c): layers applied into an
// overlayfs upper directory over lower directories made here by hand, checked
// in the upper (whiteouts as 0:0 character devices owned as the entry says,
// trusted.overlay.opaque=y, parents made from the lowers as containerd's
// mkparent makes them, copy-up of a hard link's target with its link group,
// trusted.* xattrs dropped, directories over files), hostile entries refused
// (through a symbolic link of a lower, a hard link out, "..") with nothing
// written outside the upper or into a lower; then the overlay mount of three
// such uppers shows what the rootfs mode gives. Needs root (mknod, trusted.*
// xattrs, mount): it fails otherwise.
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "tar_build.h"
#include "unpack/layer.h"
#include "util/err.h"
#include "util/file.h"
#include "util/mem.h"

struct fx {
	char top[64];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->top, sizeof(f->top), "/tmp/imgpull-overlay-XXXXXX");
	assert_non_null(mkdtemp(f->top));
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

// The same after test_merged, whose mount may still be there when it failed.
static int teardown_mount(void **state)
{
	struct fx *f = *state;
	char m[128];
	snprintf(m, sizeof(m), "%s/m", f->top);
	umount2(m, MNT_DETACH);
	return teardown(state);
}

// top/rel, in a static ring of buffers (a few live at once).
static const char *at(struct fx *f, const char *rel)
{
	static char bufs[8][512];
	static int i;
	char *b = bufs[i++ % 8];
	snprintf(b, sizeof(bufs[0]), "%s/%s", f->top, rel);
	return b;
}

static void mkd(struct fx *f, const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
	assert_int_equal(mkdir(at(f, rel), 0700), 0);
	assert_int_equal(chown(at(f, rel), uid, gid), 0);
	assert_int_equal(chmod(at(f, rel), mode), 0);
}

static void mkf(struct fx *f, const char *rel, const char *data, mode_t mode)
{
	struct err e;
	assert_int_equal(file_write_atomic(at(f, rel), data, strlen(data), &e), 0);
	assert_int_equal(chmod(at(f, rel), mode), 0);
}

static void mkwh(struct fx *f, const char *rel)
{
	assert_int_equal(mknod(at(f, rel), S_IFCHR, makedev(0, 0)), 0);
}

static void xset(struct fx *f, const char *rel, const char *k, const char *v)
{
	assert_int_equal(lsetxattr(at(f, rel), k, v, strlen(v), 0), 0);
}

static void set_times(struct fx *f, const char *rel, time_t atime, time_t mtime)
{
	struct timespec ts[2] = {{.tv_sec = atime}, {.tv_sec = mtime}};
	assert_int_equal(utimensat(AT_FDCWD, at(f, rel), ts, AT_SYMLINK_NOFOLLOW), 0);
}

static struct stat lst(struct fx *f, const char *rel)
{
	struct stat st;
	if (lstat(at(f, rel), &st) != 0)
		fail_msg("'%s' is not there", rel);
	return st;
}

static bool exists(struct fx *f, const char *rel)
{
	struct stat st;
	return lstat(at(f, rel), &st) == 0;
}

static bool is_whiteout(struct fx *f, const char *rel)
{
	struct stat st = lst(f, rel);
	return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0) && (st.st_mode & 07777) == 0;
}

// The value of xattr k of rel ("" when absent).
static const char *xget(struct fx *f, const char *rel, const char *k)
{
	static char v[256];
	ssize_t n = lgetxattr(at(f, rel), k, v, sizeof(v) - 1);
	v[n < 0 ? 0 : n] = '\0';
	return v;
}

static bool opaque(struct fx *f, const char *rel)
{
	return strcmp(xget(f, rel, "trusted.overlay.opaque"), "y") == 0;
}

static void content(struct fx *f, const char *rel, const char *want)
{
	char got[256] = "";
	int fd = open(at(f, rel), O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, got, sizeof(got) - 1);
	close(fd);
	assert_true(n >= 0);
	got[n] = '\0';
	assert_string_equal(got, want);
}

// How many descriptors the process has open.
static size_t open_fds(void)
{
	char **names;
	size_t n;
	struct err e;
	assert_int_equal(file_list_dir("/proc/self/fd", &names, &n, &e), 0);
	file_list_free(names, n);
	return n;
}

// The caller's reserved names at the top, for apply_ovl.
static const char *const *reserved;

// Applies t into top/upper (made empty here when missing) over the lowers
// (top-relative, topmost first, NULL-ended).
static int apply_ovl(struct fx *f, struct tarb *t, const char *upper, const char *const *lowers, struct err *e)
{
	char diff[OCI_DIGEST_LEN + 1];
	size_t size;
	int fd = tar_end(t, UNPACK_TAR, diff, &size);
	if (!exists(f, upper))
		mkd(f, upper, 0755, 0, 0);
	const char *abs[8] = {0};
	char bufs[8][256];
	for (size_t i = 0; lowers && lowers[i]; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "%s/%s", f->top, lowers[i]);
		abs[i] = bufs[i];
	}
	struct unpack_source src = {.fd = fd, .size = size};
	struct unpack_opts o = {.chown = true, .max_bytes = 64u << 20, .mode = UNPACK_OVERLAY_UPPER, .lowers = abs,
				.reserved = reserved};
	struct unpack_stats st;
	err_clear(e);
	size_t fds = open_fds();
	int r = unpack_layer(at(f, upper), &src, UNPACK_TAR, diff, "test", &o, &st, e);
	assert_int_equal(open_fds(), fds); // none left open, failed or not
	close(fd);
	return r;
}

// The layer t fails naming the entry name (and saying why, when set).
static void refused_why(struct fx *f, struct tarb *t, const char *upper, const char *const *lowers, const char *name,
			const char *why)
{
	struct err e;
	if (apply_ovl(f, t, upper, lowers, &e) == 0)
		fail_msg("a layer with '%s' was accepted", name);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	char want[300];
	snprintf(want, sizeof(want), "entry '%s' refused", name);
	if (!strstr(e.msg, want) || (why && !strstr(e.msg, why)))
		fail_msg("'%s' does not say %s: %s", e.msg, want, why ? why : "");
}

static void refused(struct fx *f, struct tarb *t, const char *upper, const char *const *lowers, const char *name)
{
	refused_why(f, t, upper, lowers, name, NULL);
}

static const char *const L1[] = {"l1", NULL};
static const char *const L12[] = {"l1", "l2", NULL};

// ".wh.NAME": a 0:0 character device, mode 0, owned as the entry says; what
// this layer wrote stays; the parent made from the lower.
static void test_whiteouts(void **state)
{
	struct fx *f = *state;
	mkd(f, "l1", 0755, 0, 0);
	mkd(f, "l1/a", 0750, 7, 8);
	mkf(f, "l1/a/f", "f", 0644);
	mkf(f, "l1/a/g", "g", 0644);
	xset(f, "l1/a", "user.k", "v");
	xset(f, "l1/a", "trusted.t", "x");
	struct tarb t;
	tar_begin(&t);
	tar_put(&t, &(struct tar_ent){"a/.wh.f", AE_IFREG, 0644, NULL, NULL, 1234, 2345, 0, NULL});
	tar_add(&t, "b/", AE_IFDIR, 0755, NULL, NULL);
	tar_add(&t, "b/x", AE_IFREG, 0644, "same layer", NULL);
	tar_add(&t, "b/.wh.x", AE_IFREG, 0644, NULL, NULL);
	tar_put(&t, &(struct tar_ent){".wh.gone", AE_IFREG, 0644, NULL, NULL, 0, 0, 0, NULL});
	struct err e;
	assert_int_equal(apply_ovl(f, &t, "u", L1, &e), 0);
	assert_true(is_whiteout(f, "u/a/f"));
	assert_int_equal(lst(f, "u/a/f").st_uid, 1234);
	assert_int_equal(lst(f, "u/a/f").st_gid, 2345);
	assert_false(exists(f, "u/a/g"));
	assert_int_equal(lst(f, "u/a").st_mode & 07777, 0750); // mkparent: the lower's
	assert_int_equal(lst(f, "u/a").st_uid, 7);
	assert_string_equal(xget(f, "u/a", "user.k"), "v");
	assert_string_equal(xget(f, "u/a", "trusted.t"), "");
	assert_false(opaque(f, "u/a"));
	content(f, "u/b/x", "same layer");
	assert_true(is_whiteout(f, "u/gone"));
	assert_int_equal(lst(f, "u/gone").st_uid, 0);
	assert_true(S_ISREG(lst(f, "l1/a/f").st_mode)); // the lower untouched

	tar_begin(&t);
	tar_add(&t, "a/.wh.", AE_IFREG, 0644, NULL, NULL);
	refused(f, &t, "u2", L1, "a/.wh.");
	tar_begin(&t);
	tar_add(&t, "a/.wh..", AE_IFREG, 0644, NULL, NULL);
	refused(f, &t, "u3", L1, "a/.wh..");
}

// ".wh..wh..opq": trusted.overlay.opaque=y, the directory made from the lower
// when the layer has no entry for it; at the top, where overlayfs ignores the
// attribute, every name the lowers show is whited out too.
static void test_opaque(void **state)
{
	struct fx *f = *state;
	mkd(f, "l1", 0755, 0, 0);
	mkd(f, "l2", 0755, 0, 0);
	mkd(f, "l1/d", 0755, 0, 0);
	mkf(f, "l1/d/x", "x", 0644);
	mkd(f, "l1/m", 0700, 5, 6);
	mkf(f, "l1/t1", "t1", 0644);
	mkf(f, "l2/t3", "t3", 0644);
	mkf(f, "l2/t4", "t4", 0644);
	mkwh(f, "l1/t4"); // t4 already hidden by l1
	mkf(f, "l2/.mine", "the caller's", 0644);
	struct tarb t;
	tar_begin(&t);
	tar_add(&t, "d/", AE_IFDIR, 0755, NULL, NULL);
	tar_add(&t, "d/.wh..wh..opq", AE_IFREG, 0644, NULL, NULL);
	tar_add(&t, "d/new", AE_IFREG, 0644, "new", NULL);
	tar_add(&t, "m/.wh..wh..opq", AE_IFREG, 0644, NULL, NULL);
	struct err e;
	assert_int_equal(apply_ovl(f, &t, "u", L12, &e), 0);
	assert_true(opaque(f, "u/d"));
	content(f, "u/d/new", "new");
	assert_false(exists(f, "u/d/x"));
	assert_true(opaque(f, "u/m"));
	assert_int_equal(lst(f, "u/m").st_mode & 07777, 0700);
	assert_int_equal(lst(f, "u/m").st_uid, 5);
	assert_true(exists(f, "l1/d/x"));

	tar_begin(&t);
	tar_add(&t, "keep", AE_IFREG, 0644, "mine", NULL);
	tar_add(&t, ".wh..wh..opq", AE_IFREG, 0644, NULL, NULL);
	tar_add(&t, "later", AE_IFREG, 0644, "after the marker", NULL);
	static const char *const mine[] = {".mine", NULL};
	reserved = mine;
	int r = apply_ovl(f, &t, "v", L12, &e);
	reserved = NULL;
	assert_int_equal(r, 0);
	assert_true(opaque(f, "v"));
	content(f, "v/keep", "mine");
	content(f, "v/later", "after the marker");
	assert_true(is_whiteout(f, "v/t1"));
	assert_true(is_whiteout(f, "v/d"));
	assert_true(is_whiteout(f, "v/m"));
	assert_true(is_whiteout(f, "v/t3"));
	assert_false(exists(f, "v/t4")); // nothing of t4 shows
	assert_false(exists(f, "v/.mine"));
}

// Missing parents: the merged view's directory gives mode, owner, atime and
// non-trusted xattrs (a 1777 tmp stays 1777); one hidden by a whiteout or an
// opaque directory gives 0755 and no opaque marker. A name under a file of a
// lower is refused, as the rootfs mode refuses it.
static void test_parents(void **state)
{
	struct fx *f = *state;
	mkd(f, "l1", 0755, 0, 0);
	mkd(f, "l2", 0755, 0, 0);
	mkd(f, "l2/tmp", 01777, 0, 0);
	xset(f, "l2/tmp", "user.k", "v");
	xset(f, "l2/tmp", "trusted.x", "no");
	set_times(f, "l2/tmp", 7000, 8000);
	mkwh(f, "l1/hid");
	mkd(f, "l2/hid", 0700, 0, 0);
	mkd(f, "l1/o", 0711, 3, 4);
	xset(f, "l1/o", "trusted.overlay.opaque", "y");
	mkd(f, "l2/o", 0755, 0, 0);
	mkd(f, "l2/o/sub", 0700, 0, 0);
	mkf(f, "l1/f", "a file", 0644);
	mkd(f, "l2/s", 0701, 11, 12);
	mkd(f, "l2/s/deep", 0750, 13, 14);
	struct tarb t;
	tar_begin(&t);
	tar_add(&t, "tmp/x", AE_IFREG, 0644, "x", NULL);
	tar_add(&t, "hid/y", AE_IFREG, 0644, "y", NULL);
	tar_add(&t, "o/sub/z", AE_IFREG, 0644, "z", NULL);
	tar_add(&t, "s/deep/q", AE_IFREG, 0644, "q", NULL);
	struct err e;
	assert_int_equal(apply_ovl(f, &t, "u", L12, &e), 0);
	struct stat tmp = lst(f, "u/tmp");
	assert_int_equal(tmp.st_mode & 07777, 01777);
	assert_int_equal(tmp.st_atime, 7000);
	assert_string_equal(xget(f, "u/tmp", "user.k"), "v");
	assert_string_equal(xget(f, "u/tmp", "trusted.x"), "");
	assert_int_equal(lst(f, "u/hid").st_mode & 07777, 0755);
	assert_int_equal(lst(f, "u/o").st_mode & 07777, 0711);
	assert_int_equal(lst(f, "u/o").st_uid, 3);
	assert_false(opaque(f, "u/o")); // trusted.* is not copied
	assert_int_equal(lst(f, "u/o/sub").st_mode & 07777, 0755);
	assert_int_equal(lst(f, "u/s").st_mode & 07777, 0701);
	assert_int_equal(lst(f, "u/s").st_uid, 11);
	assert_int_equal(lst(f, "u/s/deep").st_mode & 07777, 0750);
	assert_int_equal(lst(f, "u/s/deep").st_gid, 14);
	content(f, "u/s/deep/q", "q");
	tar_begin(&t);
	tar_add(&t, "f/y", AE_IFREG, 0644, "y", NULL);
	refused_why(f, &t, "v", L12, "f/y", "goes through a file");
	assert_true(S_ISREG(lst(f, "l1/f").st_mode));
}

// A directory entry's mtime holds at the end of the layer, whatever is made
// in it after (containerd sets them last), also where the directory was made
// before its entry (a name under it came first).
static void test_dir_mtimes(void **state)
{
	struct fx *f = *state;
	mkd(f, "l1", 0755, 0, 0);
	mkd(f, "l1/d", 0750, 0, 0);
	struct tarb t;
	tar_begin(&t);
	tar_add(&t, "d/x", AE_IFREG, 0644, "x", NULL);
	tar_put(&t, &(struct tar_ent){"d/", AE_IFDIR, 0700, NULL, NULL, -1, -1, 5000, NULL});
	tar_add(&t, "d/y", AE_IFREG, 0644, "y", NULL);
	tar_put(&t, &(struct tar_ent){"n/", AE_IFDIR, 0755, NULL, NULL, -1, -1, 6000, NULL});
	tar_add(&t, "n/.wh.z", AE_IFREG, 0644, NULL, NULL);
	struct err e;
	assert_int_equal(apply_ovl(f, &t, "u", L1, &e), 0);
	assert_int_equal(lst(f, "u/d").st_mtime, 5000);
	assert_int_equal(lst(f, "u/d").st_mode & 07777, 0700);
	assert_int_equal(lst(f, "u/n").st_mtime, 6000);
}

// A name under a symbolic link of the merged view is refused, whether an
// entry, a whiteout, an opaque marker or a hard link's target; a link hidden
// by a whiteout or an opaque directory above is no link. Nothing lands
// outside.
static void test_lower_links(void **state)
{
	struct fx *f = *state;
	mkd(f, "l1", 0755, 0, 0);
	mkd(f, "l2", 0755, 0, 0);
	mkd(f, "outside", 0755, 0, 0);
	mkf(f, "outside/victim", "keep", 0644);
	assert_int_equal(symlink("../outside", at(f, "l1/ln")), 0);
	assert_int_equal(symlink("/", at(f, "l1/root")), 0);
	mkwh(f, "l1/hidden");
	assert_int_equal(symlink("../outside", at(f, "l2/hidden")), 0);
	mkd(f, "l1/o2", 0755, 0, 0);
	xset(f, "l1/o2", "trusted.overlay.opaque", "y");
	mkd(f, "l2/o2", 0755, 0, 0);
	assert_int_equal(symlink("../../outside", at(f, "l2/o2/ln2")), 0);
	assert_int_equal(symlink("../outside", at(f, "l2/deeper")), 0);
	static const struct {
		const char *name;
		mode_t type;
		const char *link;
	} cases[] = {
		{"ln/x", AE_IFREG, NULL},         {"ln/.wh.victim", AE_IFREG, NULL},
		{"ln/.wh..wh..opq", AE_IFREG, NULL}, {"k", AE_IFREG, "ln/victim"},
		{"root/tmp/x", AE_IFREG, NULL},   {"ln/sub", AE_IFDIR, NULL},
		{"deeper/a/b", AE_IFREG, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char upper[16];
		snprintf(upper, sizeof(upper), "u%zu", i);
		struct tarb t;
		tar_begin(&t);
		const char *data = cases[i].type == AE_IFREG && !cases[i].link ? "bad" : NULL;
		tar_add(&t, cases[i].name, cases[i].type, 0644, data, cases[i].link);
		refused_why(f, &t, upper, L12, cases[i].name, "goes through a symbolic link");
	}
	struct tarb t;
	tar_begin(&t);
	tar_add(&t, "hidden/x", AE_IFREG, 0644, "fine", NULL);
	tar_add(&t, "o2/ln2/x", AE_IFREG, 0644, "fine", NULL);
	tar_add(&t, "evil", AE_IFLNK, 0777, NULL, "../outside");
	tar_add(&t, "evil/x", AE_IFREG, 0644, "bad", NULL);
	refused(f, &t, "v", L12, "evil/x");
	content(f, "v/hidden/x", "fine");
	content(f, "v/o2/ln2/x", "fine");
	struct err e;
	char **names;
	size_t n;
	assert_int_equal(file_list_dir(at(f, "outside"), &names, &n, &e), 0);
	assert_int_equal(n, 1);
	file_list_free(names, n);
	content(f, "outside/victim", "keep");
}

// A hard link to a file of a lower: the file copied up (content with its
// holes, mode with setuid, owner, times, xattrs but trusted.*) with the other
// names the merged view shows of it, then linked; a whiteout after it in the
// same layer removes the copy's name. Links to nothing, to a directory, to a
// hidden name, to a name this layer whited out: refused.
static void test_copy_up(void **state)
{
	struct fx *f = *state;
	mkd(f, "l1", 0755, 0, 0);
	mkd(f, "l2", 0755, 0, 0);
	mkd(f, "l2/data", 0755, 0, 0);
	int fd = open(at(f, "l2/data/f"), O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "abc", 3, 0), 3);
	assert_int_equal(pwrite(fd, "end", 3, 4 << 20), 3);
	close(fd);
	assert_int_equal(chown(at(f, "l2/data/f"), 1234, 2345), 0);
	assert_int_equal(chmod(at(f, "l2/data/f"), 04755), 0);
	xset(f, "l2/data/f", "user.a", "1");
	xset(f, "l2/data/f", "trusted.b", "2");
	set_times(f, "l2/data/f", 2000, 3000);
	assert_int_equal(link(at(f, "l2/data/f"), at(f, "l2/data/g")), 0);
	assert_int_equal(link(at(f, "l2/data/f"), at(f, "l2/data/h")), 0);
	assert_int_equal(link(at(f, "l2/data/f"), at(f, "l2/other")), 0);
	assert_int_equal(link(at(f, "l2/data/f"), at(f, "l2/data/j")), 0);
	mkd(f, "l2/deep", 0755, 0, 0);
	mkd(f, "l2/deep/er", 0700, 0, 0);
	mkf(f, "l2/deep/er/f2", "f2", 0644);
	mkf(f, "l2/deep/keep", "keep", 0644);
	assert_int_equal(symlink("target", at(f, "l2/sym")), 0);
	assert_int_equal(mkfifo(at(f, "l2/p"), 0640), 0);
	mkd(f, "l1/data", 0755, 0, 0);
	mkwh(f, "l1/data/h");
	mkf(f, "l1/other", "replaced above", 0644);
	struct tarb t;
	tar_begin(&t);
	tar_add(&t, "k", AE_IFREG, 0644, NULL, "data/f");
	tar_add(&t, "ks", AE_IFREG, 0644, NULL, "sym");
	tar_add(&t, "kp", AE_IFREG, 0644, NULL, "p");
	tar_add(&t, "data/.wh.g", AE_IFREG, 0644, NULL, NULL);
	struct err e;
	assert_int_equal(apply_ovl(f, &t, "u", L12, &e), 0);
	struct stat c = lst(f, "u/data/f");
	assert_true(S_ISREG(c.st_mode));
	assert_int_equal(c.st_mode & 07777, 04755);
	assert_int_equal(c.st_uid, 1234);
	assert_int_equal(c.st_gid, 2345);
	assert_int_equal(c.st_mtime, 3000);
	assert_int_equal(c.st_size, (4 << 20) + 3);
	assert_true(c.st_blocks * 512 < (1 << 20)); // the hole stayed one
	assert_string_equal(xget(f, "u/data/f", "user.a"), "1");
	assert_string_equal(xget(f, "u/data/f", "trusted.b"), "");
	assert_int_equal(lst(f, "u/k").st_ino, c.st_ino);
	assert_int_equal(c.st_nlink, 3); // data/f, data/j and k: g was whited out after, h is hidden
	assert_int_equal(lst(f, "u/data/j").st_ino, c.st_ino);
	assert_true(is_whiteout(f, "u/data/g"));
	assert_false(exists(f, "u/data/h"));
	assert_false(exists(f, "u/other")); // l1's file is what shows there
	fd = open(at(f, "u/k"), O_RDONLY);
	char buf[4] = "";
	assert_int_equal(pread(fd, buf, 3, 4 << 20), 3);
	close(fd);
	assert_string_equal(buf, "end");
	assert_true(S_ISLNK(lst(f, "u/sym").st_mode));
	assert_int_equal(lst(f, "u/ks").st_ino, lst(f, "u/sym").st_ino);
	assert_true(S_ISFIFO(lst(f, "u/kp").st_mode));
	assert_int_equal(lst(f, "u/kp").st_mode & 07777, 0640);
	assert_int_equal(lst(f, "l2/data/f").st_nlink, 5); // the lower untouched

	// An opaque marker after the copy-up: the copies under it go (they were
	// the lowers'), with the directories made for them; the link stays.
	tar_begin(&t);
	tar_add(&t, "k6", AE_IFREG, 0644, NULL, "deep/er/f2");
	tar_add(&t, "deep/.wh..wh..opq", AE_IFREG, 0644, NULL, NULL);
	assert_int_equal(apply_ovl(f, &t, "v", L12, &e), 0);
	content(f, "v/k6", "f2");
	assert_true(opaque(f, "v/deep"));
	assert_false(exists(f, "v/deep/er"));
	assert_false(exists(f, "v/deep/keep"));

	static const struct {
		const char *name, *target;
	} bad[] = {{"k1", "nothere"}, {"k2", "data"}, {"k3", "data/h"}, {"k4", "../l2/data/f"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char upper[16];
		snprintf(upper, sizeof(upper), "w%zu", i);
		tar_begin(&t);
		tar_add(&t, bad[i].name, AE_IFREG, 0644, NULL, bad[i].target);
		refused(f, &t, upper, L12, bad[i].name);
	}
	tar_begin(&t);
	tar_add(&t, "data/.wh.f", AE_IFREG, 0644, NULL, NULL);
	tar_add(&t, "k5", AE_IFREG, 0644, NULL, "data/f");
	refused(f, &t, "w8", L12, "k5");
	tar_begin(&t);
	tar_add(&t, "data/.wh..wh..opq", AE_IFREG, 0644, NULL, NULL);
	tar_add(&t, "k6", AE_IFREG, 0644, NULL, "data/j");
	refused(f, &t, "w9", L12, "k6");
}

// Entries' trusted.* xattrs (overlayfs's own among them) are dropped, the
// others kept.
static void test_trusted_xattrs(void **state)
{
	struct fx *f = *state;
	mkd(f, "l1", 0755, 0, 0);
	mkd(f, "l1/d", 0755, 0, 0);
	mkf(f, "l1/d/lower", "hidden if d were opaque", 0644);
	static const char *const dx[] = {"trusted.overlay.opaque=y", "trusted.overlay.redirect=/x", "user.keep=1",
					 NULL};
	static const char *const fx[] = {"trusted.overlay.metacopy=", "user.also=2", NULL};
	struct tarb t;
	tar_begin(&t);
	tar_put(&t, &(struct tar_ent){"d/", AE_IFDIR, 0755, NULL, NULL, 0, 0, 0, dx});
	tar_put(&t, &(struct tar_ent){"d/f", AE_IFREG, 0644, "f", NULL, 0, 0, 0, fx});
	struct err e;
	assert_int_equal(apply_ovl(f, &t, "u", L1, &e), 0);
	char list[1024];
	ssize_t n = llistxattr(at(f, "u/d"), list, sizeof(list));
	assert_true(n > 0);
	for (const char *k = list; k < list + n; k += strlen(k) + 1)
		if (strncmp(k, "trusted.", 8) == 0)
			fail_msg("'%s' kept on d", k);
	assert_string_equal(xget(f, "u/d", "user.keep"), "1");
	assert_string_equal(xget(f, "u/d/f", "user.also"), "2");
	assert_int_equal(lgetxattr(at(f, "u/d/f"), "trusted.overlay.metacopy", list, sizeof(list)), -1);
}

// Type changes: a file over a lower directory and a directory over a lower
// file are written as they are (overlayfs merges neither); a directory where
// this layer put a file or a whiteout over a lower directory is opaque, also
// one made as a parent where this layer put a whiteout. A name under a file
// this layer wrote is refused.
static void test_type_changes(void **state)
{
	struct fx *f = *state;
	mkd(f, "l1", 0755, 0, 0);
	mkd(f, "l1/d", 0755, 0, 0);
	mkf(f, "l1/d/x", "x", 0644);
	mkf(f, "l1/f", "f", 0644);
	assert_int_equal(symlink("f", at(f, "l1/s")), 0);
	mkd(f, "l1/r", 0755, 0, 0);
	mkf(f, "l1/r/old", "old", 0644);
	mkd(f, "l1/w", 0755, 0, 0);
	mkf(f, "l1/w/old", "old", 0644);
	mkd(f, "l1/w2", 0700, 0, 0);
	mkf(f, "l1/w2/old", "old", 0644);
	struct tarb t;
	tar_begin(&t);
	tar_add(&t, "d", AE_IFREG, 0644, "now a file", NULL);
	tar_add(&t, "f/", AE_IFDIR, 0755, NULL, NULL);
	tar_add(&t, "f/in", AE_IFREG, 0644, "in", NULL);
	tar_add(&t, "s/", AE_IFDIR, 0755, NULL, NULL);
	tar_add(&t, "r", AE_IFREG, 0644, "a file first", NULL);
	tar_add(&t, "r/", AE_IFDIR, 0755, NULL, NULL);
	tar_add(&t, "r/new", AE_IFREG, 0644, "new", NULL);
	tar_add(&t, ".wh.w", AE_IFREG, 0644, NULL, NULL);
	tar_add(&t, "w/", AE_IFDIR, 0755, NULL, NULL);
	tar_add(&t, "q", AE_IFREG, 0644, "no lower q", NULL);
	tar_add(&t, "q/", AE_IFDIR, 0755, NULL, NULL);
	tar_add(&t, ".wh.w2", AE_IFREG, 0644, NULL, NULL);
	tar_add(&t, "w2/y", AE_IFREG, 0644, "under what was whited out", NULL);
	struct err e;
	assert_int_equal(apply_ovl(f, &t, "u", L1, &e), 0);
	content(f, "u/d", "now a file");
	assert_true(S_ISDIR(lst(f, "u/f").st_mode));
	assert_false(opaque(f, "u/f"));
	assert_true(S_ISDIR(lst(f, "u/s").st_mode));
	assert_false(opaque(f, "u/s"));
	assert_true(S_ISDIR(lst(f, "u/r").st_mode));
	assert_true(opaque(f, "u/r"));
	assert_true(S_ISDIR(lst(f, "u/w").st_mode));
	assert_true(opaque(f, "u/w"));
	assert_true(S_ISDIR(lst(f, "u/q").st_mode));
	assert_false(opaque(f, "u/q"));
	content(f, "u/w2/y", "under what was whited out");
	assert_true(opaque(f, "u/w2"));
	assert_int_equal(lst(f, "u/w2").st_mode & 07777, 0755);
	tar_begin(&t);
	tar_add(&t, "n", AE_IFREG, 0644, "a file", NULL);
	tar_add(&t, "n/m", AE_IFREG, 0644, "under it", NULL);
	refused_why(f, &t, "v", L1, "n/m", "goes through a file");
	assert_true(S_ISDIR(lst(f, "l1/d").st_mode));
}

// The rootfs mode's hostile entries, in the overlay mode: refused, nothing
// outside the upper, the lowers as they were.
static void test_hostile(void **state)
{
	struct fx *f = *state;
	mkd(f, "l1", 0755, 0, 0);
	mkd(f, "l1/sub", 0755, 0, 0);
	mkf(f, "l1/sub/f", "lower", 0644);
	mkd(f, "outside", 0755, 0, 0);
	mkf(f, "outside/victim", "keep", 0644);
	static const struct {
		const char *names[2];
		mode_t types[2];
		const char *links[2];
		const char *refused;
	} cases[] = {
		{{"../escape"}, {AE_IFREG}, {NULL}, "../escape"},
		{{"sub/../../escape"}, {AE_IFREG}, {NULL}, "sub/../../escape"},
		{{"/tmp/imgpull-ovl-abs"}, {AE_IFREG}, {NULL}, "/tmp/imgpull-ovl-abs"},
		{{"evil", "evil/x"}, {AE_IFLNK, AE_IFREG}, {"../outside", NULL}, "evil/x"},
		{{"hl"}, {AE_IFREG}, {"../outside/victim"}, "hl"},
		{{"hl2"}, {AE_IFREG}, {"../l1/sub/f"}, "hl2"},
		{{"w", "w/.wh.victim"}, {AE_IFLNK, AE_IFREG}, {"../outside", NULL}, "w/.wh.victim"},
		{{"o", "o/.wh..wh..opq"}, {AE_IFLNK, AE_IFREG}, {"../outside", NULL}, "o/.wh..wh..opq"},
		{{"sub/.wh.f/x"}, {AE_IFREG}, {NULL}, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char upper[16];
		snprintf(upper, sizeof(upper), "u%zu", i);
		struct tarb t;
		tar_begin(&t);
		for (int k = 0; k < 2 && cases[i].names[k]; k++) {
			if (cases[i].types[k] == AE_IFLNK)
				tar_add(&t, cases[i].names[k], AE_IFLNK, 0777, NULL, cases[i].links[k]);
			else
				tar_add(&t, cases[i].names[k], AE_IFREG, 0644, cases[i].links[k] ? NULL : "bad",
					cases[i].links[k]);
		}
		if (cases[i].refused) {
			refused(f, &t, upper, L1, cases[i].refused);
		} else { // a whiteout's name as a directory: written in the upper only
			struct err e;
			assert_int_equal(apply_ovl(f, &t, upper, L1, &e), 0);
		}
	}
	struct err e;
	char **names;
	size_t n;
	assert_int_equal(file_list_dir(at(f, "outside"), &names, &n, &e), 0);
	assert_int_equal(n, 1);
	file_list_free(names, n);
	content(f, "outside/victim", "keep");
	assert_int_equal(file_list_dir(at(f, "l1"), &names, &n, &e), 0);
	assert_int_equal(n, 1);
	file_list_free(names, n);
	assert_int_equal(file_list_dir(at(f, "l1/sub"), &names, &n, &e), 0);
	assert_int_equal(n, 1);
	file_list_free(names, n);
	content(f, "l1/sub/f", "lower");
	struct stat st;
	assert_int_equal(lstat("/tmp/imgpull-ovl-abs", &st), -1);
}

// An upper that is not empty, a lower that is not there: refused.
static void test_bad_dirs(void **state)
{
	struct fx *f = *state;
	mkd(f, "l1", 0755, 0, 0);
	mkd(f, "u", 0755, 0, 0);
	mkf(f, "u/old", "old", 0644);
	struct tarb t;
	tar_begin(&t);
	tar_add(&t, "x", AE_IFREG, 0644, "x", NULL);
	struct err e;
	assert_int_equal(apply_ovl(f, &t, "u", L1, &e), -1);
	assert_int_equal(e.cls, ERR_STORAGE);
	assert_non_null(strstr(e.msg, "is not empty"));
	static const char *const missing[] = {"l1", "nothere", NULL};
	tar_begin(&t);
	tar_add(&t, "x", AE_IFREG, 0644, "x", NULL);
	assert_int_equal(apply_ovl(f, &t, "v", missing, &e), -1);
	assert_int_equal(e.cls, ERR_STORAGE);
	assert_non_null(strstr(e.msg, "nothere"));
}

// Three layers, each in its own upper over the ones before, mounted: the
// merged view is the rootfs mode's (the same layers into one directory).
static void apply_both(struct fx *f, struct tarb *t1, struct tarb *t2, const char *upper,
		       const char *const *lowers)
{
	struct err e;
	assert_int_equal(apply_ovl(f, t1, upper, lowers, &e), 0);
	char diff[OCI_DIGEST_LEN + 1];
	size_t size;
	int fd = tar_end(t2, UNPACK_TAR, diff, &size);
	struct unpack_source src = {.fd = fd, .size = size};
	struct unpack_opts o = {.chown = true, .max_bytes = 64u << 20};
	struct unpack_stats st;
	assert_int_equal(unpack_layer(at(f, "rootfs"), &src, UNPACK_TAR, diff, "rootfs", &o, &st, &e), 0);
	close(fd);
}

static void layer_n(struct tarb *t, int n)
{
	tar_begin(t);
	if (n == 1) {
		tar_add(t, "tmp/", AE_IFDIR, 01777, NULL, NULL);
		tar_add(t, "gone", AE_IFREG, 0644, "gone", NULL);
		tar_add(t, "opq/", AE_IFDIR, 0755, NULL, NULL);
		tar_add(t, "opq/old", AE_IFREG, 0644, "old", NULL);
		tar_add(t, "data/", AE_IFDIR, 0755, NULL, NULL);
		tar_add(t, "data/f", AE_IFREG, 04755, "f", NULL);
		tar_add(t, "data/g", AE_IFREG, 0644, NULL, "data/f");
		tar_add(t, "r/", AE_IFDIR, 0755, NULL, NULL);
		tar_add(t, "r/old", AE_IFREG, 0644, "old", NULL);
	} else if (n == 2) {
		tar_add(t, "tmp/x", AE_IFREG, 0644, "x", NULL);
		tar_add(t, ".wh.gone", AE_IFREG, 0644, NULL, NULL);
		tar_add(t, "opq/", AE_IFDIR, 0755, NULL, NULL);
		tar_add(t, "opq/.wh..wh..opq", AE_IFREG, 0644, NULL, NULL);
		tar_add(t, "opq/new", AE_IFREG, 0644, "new", NULL);
		tar_add(t, "k", AE_IFREG, 0644, NULL, "data/f");
		tar_add(t, "r", AE_IFREG, 0644, "file", NULL);
	} else {
		tar_add(t, "r/", AE_IFDIR, 0755, NULL, NULL);
		tar_add(t, "r/back", AE_IFREG, 0644, "back", NULL);
		tar_add(t, "gone/", AE_IFDIR, 0700, NULL, NULL);
		tar_add(t, "k2", AE_IFREG, 0644, NULL, "data/g");
	}
}

static void test_merged(void **state)
{
	struct fx *f = *state;
	mkd(f, "rootfs", 0755, 0, 0);
	mkd(f, "m", 0755, 0, 0);
	static const char *const none[] = {NULL};
	static const char *const below2[] = {"u1", NULL};
	static const char *const below3[] = {"u2", "u1", NULL};
	const char *const *lowers[] = {none, below2, below3};
	const char *uppers[] = {"u1", "u2", "u3"};
	for (int i = 0; i < 3; i++) {
		struct tarb t1, t2;
		layer_n(&t1, i + 1);
		layer_n(&t2, i + 1);
		apply_both(f, &t1, &t2, uppers[i], lowers[i]);
	}
	assert_int_equal(unshare(CLONE_NEWNS), 0);
	assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	char opts[512];
	snprintf(opts, sizeof(opts), "lowerdir=%s:%s:%s", at(f, "u3"), at(f, "u2"), at(f, "u1"));
	if (mount("overlay", at(f, "m"), "overlay", MS_RDONLY, opts) != 0)
		fail_msg("mount -t overlay %s: %s", opts, strerror(errno));
	static const char *const paths[] = {"tmp", "tmp/x", "gone", "opq", "opq/old", "opq/new", "data/f",
					    "data/g", "k", "k2", "r", "r/old", "r/back"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char a[256], b[256];
		snprintf(a, sizeof(a), "m/%s", paths[i]);
		snprintf(b, sizeof(b), "rootfs/%s", paths[i]);
		struct stat sa, sb;
		bool ha = lstat(at(f, a), &sa) == 0, hb = lstat(at(f, b), &sb) == 0;
		if (ha != hb)
			fail_msg("'%s': in the merged view %d, in the rootfs %d", paths[i], ha, hb);
		if (ha && (sa.st_mode != sb.st_mode || sa.st_uid != sb.st_uid))
			fail_msg("'%s': mode %o, %o in the rootfs", paths[i], sa.st_mode, sb.st_mode);
	}
	assert_int_equal(lst(f, "m/tmp").st_mode & 07777, 01777);
	ino_t i1 = lst(f, "m/data/f").st_ino;
	assert_int_equal(lst(f, "m/data/g").st_ino, i1);
	assert_int_equal(lst(f, "m/k").st_ino, i1);
	assert_int_equal(lst(f, "m/k2").st_ino, i1);
	assert_int_equal(umount(at(f, "m")), 0);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_overlay needs root (mknod, trusted.* xattrs, mount)\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opaque, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_mtimes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lower_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trusted_xattrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merged, setup, teardown_mount),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
