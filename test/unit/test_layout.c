// SPDX-License-Identifier: Apache-2.0
// oci/layout: entries inside a layout are reached without following a link and
// only regular files are read (a FIFO, a link to a file or a directory, a
// directory in a file's place: ERR_INTEGRITY, without blocking); entries are
// removed themselves, never a link's target; index.json is judged alike by all
// its readers (not JSON, not an index: ERR_INTEGRITY), and an entry is replaced
// once among many.
#include <errno.h>
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
#include <cjson/cJSON.h>

#include "oci/digest.h"
#include "oci/layout.h"
#include "oci/manifest.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/file.h"

// The digest of "hello\n".
#define HELLO "hello\n"
#define HELLO_HEX "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
#define HELLO_D "sha256:" HELLO_HEX
#define OTHER_HEX "1111111111111111111111111111111111111111111111111111111111111111"
#define OTHER_D "sha256:" OTHER_HEX

struct fixture {
	char dir[64];
	struct oci_layout l;
};

static char *at(const struct fixture *f, const char *rel)
{
	static char p[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", f->dir, rel);
	return p[k];
}

static void put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

// An image whose config and only layer are "hello\n": its manifest's digest in md.
static void make_image(struct fixture *f, char md[OCI_DIGEST_LEN + 1], size_t *len)
{
	static const char m[] = "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\",\"config\":{\"mediaType\":\""
		OCI_MT_CONFIG "\",\"digest\":\"" HELLO_D "\",\"size\":6},\"layers\":[{\"mediaType\":\"" OCI_MT_LAYER_TAR
		"\",\"digest\":\"" HELLO_D "\",\"size\":6}]}";
	struct err e;
	put(at(f, "blobs/sha256/" HELLO_HEX), HELLO);
	oci_digest_of(md, m, strlen(m));
	assert_int_equal(oci_layout_put_blob(&f->l, md, m, strlen(m), &e), 0);
	*len = strlen(m);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/imgpull-layout-XXXXXX");
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

static void test_only_regular_files(void **state)
{
	struct fixture *f = *state;
	struct err e;
	struct stat st;
	struct buf b;
	put(at(f, "blobs/sha256/" HELLO_HEX), HELLO);
	put(at(f, "outside"), HELLO);
	assert_int_equal(mkfifo(at(f, "blobs/sha256/" OTHER_HEX), 0644), 0);
	assert_int_equal(symlink(at(f, "outside"), at(f, "blobs/sha256/link")), 0);
	assert_int_equal(mkdir(at(f, "blobs/sha256/dir"), 0755), 0);

	int fd = oci_layout_open_file(&f->l, "blobs/sha256/" HELLO_HEX, &st, &e);
	assert_true(fd >= 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	// A FIFO: refused at once (no writer is waited for), st says what it is.
	assert_int_equal(oci_layout_open_file(&f->l, "blobs/sha256/" OTHER_HEX, &st, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_true(S_ISFIFO(st.st_mode));
	assert_non_null(strstr(e.msg, "is a FIFO, not a regular file"));
	// A link to a good file is not followed.
	assert_int_equal(oci_layout_open_file(&f->l, "blobs/sha256/link", &st, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(oci_layout_open_file(&f->l, "blobs/sha256/dir", &st, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_int_equal(oci_layout_open_file(&f->l, "blobs/sha256/absent", &st, &e), -1);
	assert_int_equal(e.cls, ERR_NOTFOUND);
	buf_init(&b, 1024);
	assert_int_equal(oci_layout_read_file(&f->l, "blobs/sha256/" HELLO_HEX, &b, &e), 0);
	assert_string_equal(buf_str(&b), HELLO);
	buf_release(&b);

	// Blobs: the FIFO is neither present nor read; verify says what it is.
	assert_true(oci_layout_has_blob(&f->l, HELLO_D, 6));
	assert_false(oci_layout_has_blob(&f->l, OTHER_D, 0));
	memset(&st, 0, sizeof(st));
	assert_int_equal(oci_layout_verify_blob(&f->l, OTHER_D, NULL, &st, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(oci_layout_verify_blob(&f->l, HELLO_D, NULL, NULL, &e), 1);
	assert_int_equal(oci_layout_open_blob(&f->l, OTHER_D, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
}

static void test_link_in_a_blobs_place(void **state)
{
	struct fixture *f = *state;
	struct err e;
	struct stat st;
	// A link named like the blob, to a file with the right content and size:
	// not a blob of the layout.
	put(at(f, "outside"), HELLO);
	assert_int_equal(symlink(at(f, "outside"), at(f, "blobs/sha256/" HELLO_HEX)), 0);
	assert_false(oci_layout_has_blob(&f->l, HELLO_D, 6));
	assert_int_equal(oci_layout_blob_stat(&f->l, HELLO_D, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	// Removed: the link, not its target; and only while it is the entry seen.
	struct stat other = st;
	other.st_ino++;
	assert_int_equal(oci_layout_remove_entry(&f->l, "blobs/sha256/" HELLO_HEX, &other, &e), 0);
	assert_int_equal(lstat(at(f, "blobs/sha256/" HELLO_HEX), &other), 0);
	assert_int_equal(oci_layout_remove_entry(&f->l, "blobs/sha256/" HELLO_HEX, &st, &e), 1);
	assert_int_equal(lstat(at(f, "blobs/sha256/" HELLO_HEX), &other), -1);
	assert_int_equal(stat(at(f, "outside"), &other), 0);
	// A directory is never removed.
	assert_int_equal(mkdir(at(f, "blobs/sha256/" OTHER_HEX), 0755), 0);
	assert_int_equal(oci_layout_blob_stat(&f->l, OTHER_D, &st), 0);
	assert_int_equal(oci_layout_remove_entry(&f->l, "blobs/sha256/" OTHER_HEX, &st, &e), 0);
	assert_int_equal(stat(at(f, "blobs/sha256/" OTHER_HEX), &other), 0);
}

// A layout as another command finds it.
static void attach(struct fixture *f, struct oci_layout *l)
{
	struct err e;
	assert_int_equal(oci_layout_attach(l, f->dir, &e), 0);
}

static void test_linked_directories(void **state)
{
	struct fixture *f = *state;
	struct err e;
	struct oci_layout l;
	// blobs/sha256 a link to a directory holding the blob: never gone through.
	assert_int_equal(rename(at(f, "blobs/sha256"), at(f, "elsewhere")), 0);
	put(at(f, "elsewhere/" HELLO_HEX), HELLO);
	assert_int_equal(symlink(at(f, "elsewhere"), at(f, "blobs/sha256")), 0);
	attach(f, &l);
	assert_int_equal(oci_layout_open_dir(&l, "blobs/sha256", &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_non_null(strstr(e.msg, "is a symbolic link, not a directory: the layout is damaged"));
	assert_false(oci_layout_has_blob(&l, HELLO_D, 6));
	assert_int_equal(oci_layout_open_blob(&l, HELLO_D, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	char **names;
	size_t n;
	int fd;
	assert_int_equal(oci_layout_list_dir(&l, "blobs/sha256", &fd, &names, &n, &e), -1);
	assert_int_equal(fd, -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	oci_layout_release(&l);
	// The layout opened before keeps the directory it found then.
	assert_true(oci_layout_has_blob(&f->l, HELLO_D, 6));
	// Opening the layout for a pull refuses it.
	assert_int_equal(oci_layout_open(&l, f->dir, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	oci_layout_release(&l);
	// blobs/ itself a link: what is under it is refused as well.
	assert_int_equal(unlink(at(f, "blobs/sha256")), 0);
	assert_int_equal(rename(at(f, "blobs"), at(f, "blobs2")), 0);
	assert_int_equal(rename(at(f, "elsewhere"), at(f, "blobs2/sha256")), 0);
	assert_int_equal(symlink(at(f, "blobs2"), at(f, "blobs")), 0);
	attach(f, &l);
	assert_int_equal(oci_layout_open_dir(&l, "blobs/sha256", &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_false(oci_layout_has_blob(&l, HELLO_D, 6));
	// A file where the directory belongs.
	assert_int_equal(unlink(at(f, "blobs")), 0);
	put(at(f, "blobs"), "x");
	assert_int_equal(oci_layout_open_dir(&l, "blobs", &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_int_equal(oci_layout_open_dir(&l, "nothing", &e), -1);
	assert_int_equal(e.cls, ERR_NOTFOUND);
	oci_layout_release(&l);
}

static void test_index_judged_alike(void **state)
{
	struct fixture *f = *state;
	struct err e;
	struct cJSON *root;
	const struct cJSON *mans;
	char md[OCI_DIGEST_LEN + 1];
	size_t len;
	make_image(f, md, &len);
	struct oci_index_entry ent = {.media_type = OCI_MT_MANIFEST, .digest = md, .size = len, .ref_name = "x"};
	static const char *const bad[] = {"{\"manifests\": [", "[1, 2]", "{\"manifests\": 3}", "", "nul\x01"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(at(f, "index.json"), bad[i]);
		assert_int_equal(oci_layout_index_read(&f->l, &root, &mans, &e), -1);
		assert_int_equal(e.cls, ERR_INTEGRITY);
		// A pull adding an image says the same, and leaves the file alone.
		assert_int_equal(oci_layout_add_ref(&f->l, &ent, &e), -1);
		assert_int_equal(e.cls, ERR_INTEGRITY);
	}
	assert_int_equal(unlink(at(f, "index.json")), 0);
	assert_int_equal(mkfifo(at(f, "index.json"), 0644), 0);
	assert_int_equal(oci_layout_index_read(&f->l, &root, &mans, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_int_equal(oci_layout_add_ref(&f->l, &ent, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
}

// Entries of many names; adding one replaces just its own, wherever it is.
static void test_add_ref_replaces_one(void **state)
{
	struct fixture *f = *state;
	struct err e;
	char md[OCI_DIGEST_LEN + 1];
	size_t len;
	make_image(f, md, &len);
	const char *mt = OCI_MT_MANIFEST;
	char name[32];
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		struct oci_index_entry ent = {.media_type = mt, .digest = md, .size = len, .ref_name = name};
		assert_int_equal(oci_layout_add_ref(&f->l, &ent, &e), 0);
	}
	struct oci_index_entry again = {.media_type = mt, .digest = md, .size = len, .ref_name = "r17"};
	assert_int_equal(oci_layout_add_ref(&f->l, &again, &e), 0);
	struct cJSON *root;
	const struct cJSON *mans, *m;
	assert_int_equal(oci_layout_index_read(&f->l, &root, &mans, &e), 0);
	assert_int_equal(cJSON_GetArraySize(mans), 50);
	int seen17 = 0, k = 0;
	cJSON_ArrayForEach(m, mans) {
		const char *emt, *d, *n;
		uint64_t size;
		oci_index_entry_fields(m, &emt, &d, &size, &n);
		seen17 += strcmp(n, "r17") == 0;
		// The others keep their order; the replaced one comes last.
		if (k < 49) {
			snprintf(name, sizeof(name), "r%d", k < 17 ? k : k + 1);
			assert_string_equal(n, name);
		}
		k++;
	}
	assert_int_equal(seen17, 1);
	cJSON_Delete(root);
	// An entry that lost its blob is pruned, the others stay.
	assert_int_equal(unlink(at(f, "blobs/sha256/" HELLO_HEX)), 0);
	assert_int_equal(oci_layout_prune_refs(&f->l, NULL, NULL, &e), 0);
	assert_int_equal(oci_layout_index_read(&f->l, &root, &mans, &e), 0);
	assert_int_equal(cJSON_GetArraySize(mans), 0);
	cJSON_Delete(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_only_regular_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_in_a_blobs_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linked_directories, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_judged_alike, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_ref_replaces_one, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
