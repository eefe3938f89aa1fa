// SPDX-License-Identifier: Apache-2.0
// report/outcome: the termination message and the metrics a pull or a chart
// leaves, on success and on each kind of failure, and where they go (a path
// that is not a regular file is never written); report/metrics' CPU and memory
// figures from a struct rusage.
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

#include "report/metrics.h"
#include "report/outcome.h"
#include "util/file.h"
#include "util/mem.h"

#define DIGEST_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIGEST_C "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

struct dir {
	char path[64];
	char *termlog, *metrics;
	struct outcome_to to;
};

static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "/tmp/imgpull-outcome.XXXXXX");
	assert_non_null(mkdtemp(d->path));
	d->termlog = xasprintf("%s/termination-log", d->path);
	d->metrics = xasprintf("%s/metrics.prom", d->path);
	d->to = (struct outcome_to){d->termlog, d->metrics};
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;
	struct err e;
	assert_int_equal(file_remove_tree(d->path, &e), 0);
	free(d->termlog);
	free(d->metrics);
	free(d);
	return 0;
}

// The whole file (empty when it is not there).
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = calloc(1, 1 << 16);
	if (f) {
		size_t n = fread(s, 1, (1 << 16) - 1, f);
		s[n] = '\0';
		fclose(f);
	}
	return s;
}

static void expect_file(const char *path, const char *want)
{
	char *got = slurp(path);
	assert_string_equal(got, want);
	free(got);
}

static void expect_in(const char *path, const char *want)
{
	char *got = slurp(path);
	if (!strstr(got, want))
		fail_msg("'%s' has no '%s' in:\n%s", path, want, got);
	free(got);
}

static void early_paths(void **state)
{
	struct dir *d = *state;
	struct outcome_to to;
	outcome_to_early(&to, d->termlog, d->metrics); // neither there yet: both written
	assert_string_equal(to.termlog, d->termlog);
	assert_string_equal(to.metrics, d->metrics);
	outcome_to_early(&to, d->path, ""); // a directory, an empty value: never written
	assert_null(to.termlog);
	assert_null(to.metrics);
	outcome_to_early(&to, NULL, d->path);
	assert_null(to.metrics);
	_cleanup_free_ char *link = xasprintf("%s/link", d->path);
	assert_int_equal(symlink(d->metrics, link), 0);
	outcome_to_early(&to, link, link); // a symbolic link is not followed
	assert_null(to.termlog);
	assert_null(to.metrics);
}

static void pull_not_resolved(void **state)
{
	struct dir *d = *state;
	char a[] = "registry.example/a:1", b[] = "registry.example/b:2";
	char *refs[] = {a, b};
	struct pull_image imgs[2] = {0};
	struct err e;
	err_set(&e, ERR_NETWORK, "cannot connect to 'registry.example'");
	struct outcome_pull p = {.refs = refs, .imgs = imgs, .nimg = 2, .resolved = 0, .secs = 1.5};
	outcome_pull(&d->to, &p, &e);
	expect_file(d->termlog, "error: network (exit 5): cannot connect to 'registry.example'\n"
				"image registry.example/a:1: not resolved\n");
	expect_in(d->metrics, "imgpull_pull_success 0\n");
	expect_in(d->metrics, "imgpull_pull_exit_code{class=\"network\"} 5\n");
	expect_in(d->metrics, "imgpull_image_bytes{image=\"registry.example/b:2\",digest=\"\"} 0\n");
}

static void pull_usage_error(void **state)
{
	struct dir *d = *state;
	struct err e;
	err_set(&e, ERR_USAGE, "--connections must be 1..256, not '0'");
	outcome_pull(&d->to, &(struct outcome_pull){0}, &e);
	expect_file(d->termlog, "error: usage (exit 2): --connections must be 1..256, not '0'\n");
	expect_in(d->metrics, "imgpull_pull_exit_code{class=\"usage\"} 2\n");
}

static void pull_done(void **state)
{
	struct dir *d = *state;
	char name[] = "registry.example/a:1", config[] = DIGEST_C;
	char *refs[] = {name};
	struct pull_image img = {.name = name, .manifest_len = 500};
	snprintf(img.manifest_digest, sizeof(img.manifest_digest), "%s", DIGEST_A);
	img.manifest.config = (struct oci_descriptor){.digest = config, .size = 1500};
	struct outcome_pull p = {.refs = refs, .imgs = &img, .nimg = 1, .resolved = 1, .secs = 2, .run_at = 0.5};
	outcome_pull(&d->to, &p, NULL);
	expect_file(d->termlog, "pulled 1 image, 0 bytes (0 downloaded) in 2.00 s, 0.0 MB/s\n"
				"registry.example/a:1 " DIGEST_A " 2000 bytes 0.50 s 0.0 MB/s\n");
	expect_in(d->metrics, "imgpull_pull_success 1\n");
	expect_in(d->metrics, "imgpull_pull_resolve_seconds 0.500000\n");
	expect_in(d->metrics, "imgpull_image_bytes{image=\"registry.example/a:1\",digest=\"" DIGEST_A "\"} 2000\n");
	expect_in(d->metrics, "imgpull_image_seconds{image=\"registry.example/a:1\",digest=\"" DIGEST_A "\"} 0.5\n");
}

static void unpacked(void **state)
{
	struct dir *d = *state;
	char name[] = "registry.example/a:1";
	struct pull_image img = {.name = name};
	snprintf(img.manifest_digest, sizeof(img.manifest_digest), "%s", DIGEST_A);
	outcome_unpacked(&d->to, "/rootfs", &img, 4096, 0.25);
	expect_file(d->termlog, "unpacked already: '/rootfs' holds the image, 0 bytes downloaded in 0.25 s\n"
				"registry.example/a:1 " DIGEST_A " 4096 bytes complete already\n");
	expect_in(d->metrics, "imgpull_pull_success 1\n");
	expect_in(d->metrics, "imgpull_pull_downloaded_bytes 0\n");
	expect_in(d->metrics, "imgpull_image_bytes{image=\"registry.example/a:1\",digest=\"" DIGEST_A "\"} 4096\n");
}

static void chart(void **state)
{
	struct dir *d = *state;
	struct outcome_chart c = {.ref = "registry.example/charts/app:1.2.0", .name = "app", .version = "1.2.0",
				  .digest = DIGEST_A, .written = "/out/app-1.2.0.tgz", .bytes = 3000, .blobs = 3,
				  .secs = 1};
	outcome_chart(&d->to, &c, NULL);
	expect_file(d->termlog, "pulled chart app 1.2.0, 3000 bytes in 1.00 s into /out/app-1.2.0.tgz\n"
				"registry.example/charts/app:1.2.0 " DIGEST_A " 3000 bytes 1.00 s\n");
	expect_in(d->metrics, "imgpull_pull_blobs{state=\"downloaded\"} 3\n");
	struct err e;
	err_set(&e, ERR_NOTFOUND, "chart 'app' has no version 9");
	c = (struct outcome_chart){.ref = "app", .secs = 1};
	outcome_chart(&d->to, &c, &e);
	expect_file(d->termlog, "error: not found (exit 4): chart 'app' has no version 9\nchart app: not pulled\n");
	expect_in(d->metrics, "imgpull_pull_blobs{state=\"downloaded\"} 0\n");
	expect_in(d->metrics, "imgpull_pull_success 0\n");
}

// No destination: nothing is written anywhere.
static void nowhere(void **state)
{
	struct dir *d = *state;
	struct outcome_to to = {NULL, NULL};
	outcome_chart(&to, &(struct outcome_chart){.ref = "app"}, NULL);
	struct stat st;
	assert_int_equal(stat(d->termlog, &st), -1);
	assert_int_equal(stat(d->metrics, &st), -1);
}

static void rusage_figures(void **state)
{
	(void)state;
	struct rusage ru = {0};
	ru.ru_utime.tv_sec = 1;
	ru.ru_utime.tv_usec = 500000;
	ru.ru_stime.tv_sec = 2;
	ru.ru_stime.tv_usec = 250000;
	ru.ru_maxrss = 100;
	assert_true(metrics_cpu_seconds(&ru) > 3.749999 && metrics_cpu_seconds(&ru) < 3.750001);
	assert_int_equal(metrics_rss_bytes(&ru), 102400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(early_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(pull_not_resolved, setup, teardown),
		cmocka_unit_test_setup_teardown(pull_usage_error, setup, teardown),
		cmocka_unit_test_setup_teardown(pull_done, setup, teardown),
		cmocka_unit_test_setup_teardown(unpacked, setup, teardown),
		cmocka_unit_test_setup_teardown(chart, setup, teardown),
		cmocka_unit_test_setup_teardown(nowhere, setup, teardown),
		cmocka_unit_test(rusage_figures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
