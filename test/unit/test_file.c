// SPDX-License-Identifier: Apache-2.0
// util/file: an atomic replacement replaces a regular file only; a symbolic
// link, a FIFO, a directory, a socket or a device at the path stays as it was.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/file.h"

struct dir {
	char path[64];
};

static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "/tmp/imgpull-test-file.XXXXXX");
	assert_non_null(mkdtemp(d->path));
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;
	struct err e;
	file_remove_tree(d->path, &e);
	free(d);
	return 0;
}

static char *at(const struct dir *d, const char *name)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", d->path, name);
	return p;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void assert_text(const char *path, const char *want)
{
	char got[64] = "";
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	assert_string_equal(got, want);
}

// Nothing but the path itself is left in the directory (no temporary file).
static void assert_alone(const struct dir *d, size_t want)
{
	char **names;
	size_t n;
	struct err e;
	assert_int_equal(file_list_dir(d->path, &names, &n, &e), 0);
	for (size_t i = 0; i < n; i++)
		assert_null(strstr(names[i], ".tmp."));
	assert_int_equal(n, want);
	file_list_free(names, n);
}

// Each kind of non-regular file: refused by both writers, left as it was.
static void refused(const struct dir *d, const char *name, const char *kind, size_t entries)
{
	const char *p = at(d, name);
	struct stat before, after;
	assert_int_equal(lstat(p, &before), 0);
	assert_string_equal(file_not_regular(p), kind);
	struct err e;
	err_clear(&e);
	assert_int_equal(file_write_atomic(p, "new", 3, &e), -1);
	assert_int_equal(e.cls, ERR_STORAGE);
	assert_non_null(strstr(e.msg, kind));
	assert_int_equal(file_replace(p, "new", 3, &e), -1);
	assert_int_equal(lstat(p, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(before.st_mode, after.st_mode);
	assert_alone(d, entries);
}

static void test_regular_replaced(void **state)
{
	struct dir *d = *state;
	struct err e;
	assert_null(file_not_regular(at(d, "m.prom")));
	assert_int_equal(file_write_atomic(at(d, "m.prom"), "one", 3, &e), 0);
	assert_text(at(d, "m.prom"), "one");
	assert_null(file_not_regular(at(d, "m.prom")));
	assert_int_equal(file_write_atomic(at(d, "m.prom"), "two", 3, &e), 0);
	assert_text(at(d, "m.prom"), "two");
	assert_alone(d, 1);
}

static void test_link_kept(void **state)
{
	struct dir *d = *state;
	write_text(at(d, "target"), "keep");
	assert_int_equal(symlink("target", at(d, "link")), 0);
	refused(d, "link", "a symbolic link", 2);
	assert_text(at(d, "target"), "keep");
	// A dangling link is not written through either.
	assert_int_equal(symlink("nowhere", at(d, "dangling")), 0);
	refused(d, "dangling", "a symbolic link", 3);
	assert_int_equal(access(at(d, "nowhere"), F_OK), -1);
}

static void test_fifo_dir_socket_kept(void **state)
{
	struct dir *d = *state;
	assert_int_equal(mkfifo(at(d, "fifo"), 0644), 0);
	refused(d, "fifo", "a FIFO", 1);
	assert_int_equal(mkdir(at(d, "dir"), 0755), 0);
	refused(d, "dir", "a directory", 2);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *sp = at(d, "sock");
	assert_true(strlen(sp) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sp, strlen(sp) + 1);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	refused(d, "sock", "a socket", 3);
	close(s);
}

// A character device (1,3 is the null device's number; made here, never
// /dev/null itself). Needs root, as the suite runs.
static void test_device_kept(void **state)
{
	struct dir *d = *state;
	assert_int_equal(mknod(at(d, "null"), S_IFCHR | 0666, makedev(1, 3)), 0);
	refused(d, "null", "a character device", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_regular_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_dir_socket_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_kept, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
