// SPDX-License-Identifier: Apache-2.0
// util/fit: whole records under the 4096-byte cap of a termination message.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/fit.h"

#define CAP 4096

static char *full_rec(size_t i)
{
	char *s = malloc(256);
	snprintf(s, 256, "registry.example.com/team/model-%03zu:v1 sha256:%064zu 21474836480 bytes 123.45 s 174.0 MB/s", i, i);
	return s;
}

static char *brief_rec(size_t i)
{
	char *s = malloc(256);
	snprintf(s, 256, "team/model-%03zu:v1 sha256:%012zu 21474836480 B", i, i);
	return s;
}

// Every line of out is the head, one of the given records whole, or the "more" line.
static void check_whole(const char *out, const char *head, char **full, char **brief, size_t n)
{
	char *copy = strdup(out);
	char *save = NULL;
	size_t line = 0;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save), line++) {
		if (line == 0) {
			assert_int_equal(strncmp(l, head, strlen(l) > 3 ? strlen(l) - 3 : 0), 0);
			continue;
		}
		bool found = strncmp(l, "... and ", 8) == 0;
		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(l, full[i]) == 0 || (brief && strcmp(l, brief[i]) == 0);
		if (!found)
			fail_msg("line %zu is not a whole record: '%s'", line, l);
	}
	free(copy);
}

static void run(size_t n, bool with_brief, const char *head, size_t *kept)
{
	char **full = calloc(n + 1, sizeof(char *)), **brief = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		full[i] = full_rec(i);
		brief[i] = brief_rec(i);
	}
	struct buf out;
	buf_init(&out, CAP + 1);
	fit_records(&out, CAP, head, (const char *const *)full, with_brief ? (const char *const *)brief : NULL, n);
	assert_true(out.len <= CAP);
	assert_true(out.len > 0 && out.data[out.len - 1] == '\n');
	check_whole(buf_str(&out), head, full, with_brief ? brief : NULL, n);
	size_t lines = 0;
	for (size_t i = 0; i < out.len; i++)
		lines += out.data[i] == '\n';
	*kept = lines - 1;
	if (strstr(buf_str(&out), "... and ")) {
		size_t more;
		assert_int_equal(sscanf(strstr(buf_str(&out), "... and "), "... and %zu more", &more), 1);
		assert_int_equal(more + (lines - 2), n);
	}
	buf_release(&out);
	for (size_t i = 0; i < n; i++) {
		free(full[i]);
		free(brief[i]);
	}
	free(full);
	free(brief);
}

static void test_few_fit_whole(void **state)
{
	(void)state;
	size_t kept;
	run(3, true, "pulled 3 images", &kept);
	assert_int_equal(kept, 3);
}

static void test_fifty_images(void **state)
{
	(void)state;
	size_t kept;
	run(50, true, "pulled 50 images, 1073741824000 bytes in 600.00 s (1789.6 MB/s)", &kept);
	assert_true(kept >= 50); // the brief forms of 50 images fit
	run(50, false, "pulled 50 images", &kept);
	assert_true(kept < 50); // full records do not: some, then "... and N more"
	run(500, true, "pulled 500 images", &kept);
}

static void test_long_head(void **state)
{
	(void)state;
	char head[8000];
	memset(head, 'x', sizeof(head) - 1);
	head[sizeof(head) - 1] = '\0';
	size_t kept;
	run(5, true, head, &kept);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_few_fit_whole),
		cmocka_unit_test(test_fifty_images),
		cmocka_unit_test(test_long_head),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
