// SPDX-License-Identifier: Apache-2.0
// oci/platform: parsing and normalization of "os/arch[/variant]", containerd
// style matching, the host platform and choosing an index entry.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oci/manifest.h"
#include "util/err.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define D4 "sha256:4444444444444444444444444444444444444444444444444444444444444444"
#define D5 "sha256:5555555555555555555555555555555555555555555555555555555555555555"
#define D6 "sha256:6666666666666666666666666666666666666666666666666666666666666666"

#define ENTRY(dg, plat) \
	"{\"mediaType\":\"" OCI_MT_MANIFEST "\",\"digest\":\"" dg "\",\"size\":1" plat "}"
#define PLAT(os, arch) ",\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\"}"
#define PLATV(os, arch, v) \
	",\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\",\"variant\":\"" v "\"}"
#define INDEX(entries) \
	"{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":[" entries "]}"

static void expect_parse(const char *s, const char *os, const char *arch, const char *variant,
			 const char *str)
{
	struct oci_platform p;
	struct err e = {0};
	if (oci_platform_parse(&p, s, &e) < 0)
		fail_msg("rejected '%s': %s", s, e.msg);
	assert_string_equal(p.os, os);
	assert_string_equal(p.arch, arch);
	if (variant)
		assert_string_equal(p.variant, variant);
	else
		assert_null(p.variant);
	char *got = oci_platform_string(&p);
	assert_string_equal(got, str);
	free(got);
	oci_platform_release(&p);
	assert_null(p.os);
	oci_platform_release(&p);
}

static void test_parse(void **state)
{
	(void)state;
	expect_parse("linux/amd64", "linux", "amd64", NULL, "linux/amd64");
	expect_parse("linux/arm64/v8", "linux", "arm64", "v8", "linux/arm64/v8");
	expect_parse("linux/arm/v7", "linux", "arm", "v7", "linux/arm/v7");
	expect_parse("linux/arm/7", "linux", "arm", "v7", "linux/arm/v7");
	expect_parse("linux/arm/6", "linux", "arm", "v6", "linux/arm/v6");
	expect_parse("linux/arm/v5", "linux", "arm", "v5", "linux/arm/v5");
	// A bare arm means any arm variant, so no v7 is filled in.
	expect_parse("linux/arm", "linux", "arm", NULL, "linux/arm");
	expect_parse("linux/x86_64", "linux", "amd64", NULL, "linux/amd64");
	expect_parse("linux/x86-64", "linux", "amd64", NULL, "linux/amd64");
	expect_parse("linux/amd64/v3", "linux", "amd64", "v3", "linux/amd64/v3");
	expect_parse("linux/amd64/v1", "linux", "amd64", NULL, "linux/amd64");
	expect_parse("linux/aarch64", "linux", "arm64", NULL, "linux/arm64");
	expect_parse("linux/aarch64/8", "linux", "arm64", "v8", "linux/arm64/v8");
	expect_parse("linux/arm64/8", "linux", "arm64", "v8", "linux/arm64/v8");
	expect_parse("linux/arm64/v8.0", "linux", "arm64", "v8", "linux/arm64/v8");
	expect_parse("linux/arm64/9", "linux", "arm64", "v9", "linux/arm64/v9");
	expect_parse("linux/armhf", "linux", "arm", "v7", "linux/arm/v7");
	expect_parse("linux/armel", "linux", "arm", "v6", "linux/arm/v6");
	expect_parse("linux/i386", "linux", "386", NULL, "linux/386");
	expect_parse("linux/386", "linux", "386", NULL, "linux/386");
	expect_parse("linux/riscv64", "linux", "riscv64", NULL, "linux/riscv64");
	expect_parse("linux/ppc64le", "linux", "ppc64le", NULL, "linux/ppc64le");
	expect_parse("windows/amd64", "windows", "amd64", NULL, "windows/amd64");
	expect_parse("macos/arm64", "darwin", "arm64", NULL, "darwin/arm64");
	// Case does not matter, as in containerd and docker --platform.
	expect_parse("LINUX/AMD64", "linux", "amd64", NULL, "linux/amd64");
	expect_parse("Linux/ARM/V7", "linux", "arm", "v7", "linux/arm/v7");
	expect_parse("linux/AArch64", "linux", "arm64", NULL, "linux/arm64");
}

static void test_parse_errors(void **state)
{
	static const char *const bad[] = {
		"", "linux", "linux/", "/amd64", "/", "//", "a/b/c/d", "linux/arm/v7/",
		"linux//v7", "linux/amd64/", "linux/am d64", "linux/amd64\n", " linux/amd64",
		"linux/amd64 ", "linux:amd64", "linux\\amd64", "linux/amd64@x", "linux/\xc3\xa9",
		"linux/arm/v7/extra/more",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct oci_platform p;
		struct err e = {0};
		if (oci_platform_parse(&p, bad[i], &e) == 0) {
			oci_platform_release(&p);
			fail_msg("accepted '%s'", bad[i]);
		}
		assert_int_equal(e.cls, ERR_USAGE);
		assert_non_null(strstr(e.msg, "invalid platform"));
		assert_non_null(strstr(e.msg, "os/arch[/variant]"));
		assert_null(p.os);
		assert_null(p.arch);
		assert_null(p.variant);
	}
	struct oci_platform p;
	struct err e = {0};
	assert_int_equal(oci_platform_parse(&p, NULL, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
}

static void test_string(void **state)
{
	struct oci_platform p = {.os = (char *)"linux", .arch = (char *)"arm64", .variant = NULL};
	(void)state;
	char *s = oci_platform_string(&p);
	assert_string_equal(s, "linux/arm64");
	free(s);
	p.variant = (char *)"";
	s = oci_platform_string(&p);
	assert_string_equal(s, "linux/arm64");
	free(s);
	p.variant = (char *)"v8";
	s = oci_platform_string(&p);
	assert_string_equal(s, "linux/arm64/v8");
	free(s);
}

struct match_case {
	const char *want; // parsed with oci_platform_parse
	const char *os, *arch, *variant; // as an index would have it, unnormalized
	bool match;
};

static void test_match(void **state)
{
	static const struct match_case cases[] = {
		{"linux/amd64", "linux", "amd64", NULL, true},
		{"linux/amd64", "linux", "x86_64", NULL, true},
		{"linux/amd64", "Linux", "AMD64", NULL, true},
		{"linux/amd64", "windows", "amd64", NULL, false},
		{"linux/amd64", "linux", "arm64", NULL, false},
		{"linux/amd64", "linux", "386", NULL, false},
		// No variant wanted: any variant matches.
		{"linux/amd64", "linux", "amd64", "v3", true},
		{"linux/amd64/v3", "linux", "amd64", NULL, false},
		{"linux/amd64/v3", "linux", "amd64", "v3", true},
		// arm64: "", "8", "v8" are the same.
		{"linux/arm64", "linux", "arm64", NULL, true},
		{"linux/arm64", "linux", "arm64", "v8", true},
		{"linux/arm64", "linux", "aarch64", NULL, true},
		{"linux/arm64/v8", "linux", "arm64", NULL, true},
		{"linux/arm64/v8", "linux", "arm64", "", true},
		{"linux/arm64/v8", "linux", "arm64", "v8", true},
		{"linux/arm64/v8", "linux", "arm64", "8", true},
		{"linux/arm64/v8", "linux", "aarch64", "v8.0", true},
		{"linux/arm64/v8", "linux", "arm64", "v9", false},
		{"linux/arm64/v9", "linux", "arm64", NULL, false},
		{"linux/arm64/v9", "linux", "arm64", "9", true},
		{"linux/arm64/8", "linux", "arm64", NULL, true},
		// arm: a bare arm in the index is v7 (containerd).
		{"linux/arm/v7", "linux", "arm", NULL, true},
		{"linux/arm/v7", "linux", "arm", "v7", true},
		{"linux/arm/v7", "linux", "arm", "7", true},
		{"linux/arm/v7", "linux", "armhf", NULL, true},
		{"linux/arm/v7", "linux", "arm", "v6", false},
		{"linux/arm/v6", "linux", "arm", "v6", true},
		{"linux/arm/v6", "linux", "armel", NULL, true},
		{"linux/arm/v6", "linux", "arm", NULL, false},
		{"linux/arm", "linux", "arm", "v5", true},
		{"linux/arm", "linux", "arm", "v6", true},
		{"linux/arm", "linux", "arm64", NULL, false},
		{"linux/armhf", "linux", "arm", "v7", true},
		{"linux/armhf", "linux", "arm", "v6", false},
		{"linux/386", "linux", "i386", NULL, true},
		{"linux/i386", "linux", "386", NULL, true},
		{"darwin/arm64", "macos", "arm64", NULL, true},
		{"linux/riscv64", "linux", "riscv64", NULL, true},
		{"linux/amd64", "unknown", "unknown", NULL, false},
		{"linux/amd64", "", "", NULL, false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct match_case *c = &cases[i];
		struct oci_platform want;
		struct err e = {0};
		if (oci_platform_parse(&want, c->want, &e) < 0)
			fail_msg("%s: %s", c->want, e.msg);
		struct oci_platform have = {
			.os = (char *)c->os, .arch = (char *)c->arch, .variant = (char *)c->variant};
		if (oci_platform_match(&want, &have) != c->match)
			fail_msg("want %s, have %s/%s/%s: expected %s", c->want, c->os, c->arch,
				 c->variant ? c->variant : "(none)", c->match ? "match" : "no match");
		oci_platform_release(&want);
	}
	// Incomplete platforms never match.
	struct oci_platform a = {.os = (char *)"linux", .arch = (char *)"amd64"};
	struct oci_platform none = {0};
	assert_false(oci_platform_match(&a, &none));
	assert_false(oci_platform_match(&none, &a));
	assert_false(oci_platform_match(NULL, &a));
}

static void test_host(void **state)
{
	struct oci_platform p;
	(void)state;
	oci_platform_host(&p);
	assert_non_null(p.os);
	assert_non_null(p.arch);
#if defined(__linux__)
	assert_string_equal(p.os, "linux");
#endif
#if defined(__x86_64__)
	assert_string_equal(p.arch, "amd64");
	assert_null(p.variant);
#elif defined(__aarch64__)
	assert_string_equal(p.arch, "arm64");
#endif
	// The host string round-trips through the parser to the same platform.
	char *s = oci_platform_string(&p);
	struct oci_platform q;
	struct err e = {0};
	assert_int_equal(oci_platform_parse(&q, s, &e), 0);
	assert_true(oci_platform_match(&q, &p));
	assert_true(oci_platform_match(&p, &q));
	free(s);
	oci_platform_release(&q);
	oci_platform_release(&p);
}

// A realistic multi-arch index, with the clutter real ones have.
static const char multi[] = INDEX(
	ENTRY(D1, PLAT("linux", "amd64")) ","
	ENTRY(D2, PLATV("linux", "arm", "v6")) ","
	ENTRY(D3, PLATV("linux", "arm", "v7")) ","
	ENTRY(D4, PLATV("linux", "arm64", "v8")) ","
	ENTRY(D5, PLAT("unknown", "unknown")) ","
	ENTRY(D6, PLAT("linux", "amd64")) ","
	ENTRY(D6, ""));

static void parse_index(struct oci_manifest *m, const char *body)
{
	struct err e = {0};
	if (oci_manifest_parse(m, NULL, body, strlen(body), &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(m->kind, OCI_KIND_INDEX);
}

static void expect_select(const struct oci_manifest *idx, const char *want_s, const char *digest)
{
	struct oci_platform want;
	struct err e = {0};
	const struct oci_descriptor *d = (const void *)1;
	assert_int_equal(oci_platform_parse(&want, want_s, &e), 0);
	int r = oci_index_select(idx, &want, &d, &e);
	oci_platform_release(&want);
	if (r < 0)
		fail_msg("%s: %s", want_s, e.msg);
	assert_non_null(d);
	if (strcmp(d->digest, digest) != 0)
		fail_msg("%s: selected %s, want %s", want_s, d->digest, digest);
}

static void expect_notfound(const struct oci_manifest *idx, const char *want_s, const char *msg)
{
	struct oci_platform want;
	struct err e = {0};
	const struct oci_descriptor *d = (const void *)1;
	assert_int_equal(oci_platform_parse(&want, want_s, &e), 0);
	assert_int_equal(oci_index_select(idx, &want, &d, &e), -1);
	oci_platform_release(&want);
	assert_null(d);
	assert_int_equal(e.cls, ERR_NOTFOUND);
	assert_string_equal(e.msg, msg);
}

static void test_select(void **state)
{
	struct oci_manifest m;
	(void)state;
	parse_index(&m, multi);
	expect_select(&m, "linux/amd64", D1); // the first of two amd64 entries
	expect_select(&m, "linux/x86_64", D1);
	expect_select(&m, "linux/arm64", D4);
	expect_select(&m, "linux/arm64/v8", D4);
	expect_select(&m, "linux/aarch64", D4);
	expect_select(&m, "linux/arm/v7", D3);
	expect_select(&m, "linux/armhf", D3);
	expect_select(&m, "linux/arm/v6", D2);
	expect_select(&m, "linux/armel", D2);
	expect_select(&m, "linux/arm", D3); // any arm, the baseline v7 first
	expect_notfound(&m, "linux/riscv64",
			"no manifest for platform linux/riscv64 in index (available: linux/amd64, "
			"linux/arm/v6, linux/arm/v7, linux/arm64/v8, unknown/unknown)");
	expect_notfound(&m, "linux/arm/v5",
			"no manifest for platform linux/arm/v5 in index (available: linux/amd64, "
			"linux/arm/v6, linux/arm/v7, linux/arm64/v8, unknown/unknown)");
	expect_notfound(&m, "windows/amd64",
			"no manifest for platform windows/amd64 in index (available: linux/amd64, "
			"linux/arm/v6, linux/arm/v7, linux/arm64/v8, unknown/unknown)");
	oci_manifest_release(&m);
}

static void test_select_variants(void **state)
{
	struct oci_manifest m;
	(void)state;
	// Variants omitted or spelled differently in the index.
	parse_index(&m, INDEX(ENTRY(D1, PLAT("linux", "amd64")) ","
			      ENTRY(D2, PLAT("linux", "arm64")) ","
			      ENTRY(D3, PLAT("linux", "arm")) ","
			      ENTRY(D4, PLATV("linux", "arm64", "v9"))));
	expect_select(&m, "linux/arm64/v8", D2);
	expect_select(&m, "linux/arm64", D2);
	expect_select(&m, "linux/arm64/v9", D4);
	expect_select(&m, "linux/arm/v7", D3);
	expect_notfound(&m, "linux/arm/v6",
			"no manifest for platform linux/arm/v6 in index (available: linux/amd64, "
			"linux/arm64, linux/arm, linux/arm64/v9)");
	oci_manifest_release(&m);

	parse_index(&m, INDEX(ENTRY(D1, PLATV("linux", "arm64", "8")) ","
			      ENTRY(D2, PLATV("linux", "aarch64", "v8"))));
	expect_select(&m, "linux/arm64/v8", D1);
	expect_select(&m, "linux/arm64", D1);
	oci_manifest_release(&m);

	// A CPU-level build listed first: without a wanted variant the baseline
	// wins; asking for the variant, or having nothing else, still gets it.
	parse_index(&m, INDEX(ENTRY(D1, PLATV("linux", "amd64", "v3")) ","
			      ENTRY(D2, PLAT("linux", "amd64")) ","
			      ENTRY(D3, PLATV("linux", "arm64", "v9"))));
	expect_select(&m, "linux/amd64", D2);
	expect_select(&m, "linux/amd64/v3", D1);
	expect_select(&m, "linux/arm64", D3);
	oci_manifest_release(&m);
}

static void test_select_message(void **state)
{
	struct oci_manifest m;
	(void)state;
	// The example from the interface's documentation.
	parse_index(&m, INDEX(ENTRY(D1, PLAT("linux", "amd64")) ","
			      ENTRY(D2, PLATV("linux", "arm64", "v8"))));
	expect_notfound(&m, "linux/riscv64",
			"no manifest for platform linux/riscv64 in index "
			"(available: linux/amd64, linux/arm64/v8)");
	oci_manifest_release(&m);

	// Nothing selectable: no entries, only entries without a platform.
	parse_index(&m, INDEX(""));
	expect_notfound(&m, "linux/amd64",
			"no manifest for platform linux/amd64 in index (available: none)");
	oci_manifest_release(&m);
	parse_index(&m, INDEX(ENTRY(D1, "") ",{\"mediaType\":\"application/x-unknown\"}"));
	expect_notfound(&m, "linux/amd64",
			"no manifest for platform linux/amd64 in index (available: none)");
	oci_manifest_release(&m);

	// A long list is cut short with "...".
	parse_index(&m, INDEX(ENTRY(D1, PLAT("os1", "a")) "," ENTRY(D1, PLAT("os2", "a")) ","
			      ENTRY(D1, PLAT("os3", "a")) "," ENTRY(D1, PLAT("os4", "a")) ","
			      ENTRY(D1, PLAT("os5", "a")) "," ENTRY(D1, PLAT("os6", "a")) ","
			      ENTRY(D1, PLAT("os7", "a")) "," ENTRY(D1, PLAT("os8", "a")) ","
			      ENTRY(D1, PLAT("os9", "a")) "," ENTRY(D1, PLAT("os10", "a")) ","
			      ENTRY(D1, PLAT("os11", "a")) "," ENTRY(D1, PLAT("os12", "a")) ","
			      ENTRY(D1, PLAT("os13", "a")) "," ENTRY(D1, PLAT("os14", "a")) ","
			      ENTRY(D1, PLAT("os15", "a")) "," ENTRY(D1, PLAT("os16", "a")) ","
			      ENTRY(D1, PLAT("os16", "a")) "," ENTRY(D1, PLAT("os17", "a")) ","
			      ENTRY(D1, PLAT("os18", "a"))));
	expect_notfound(&m, "linux/amd64",
			"no manifest for platform linux/amd64 in index (available: os1/a, os2/a, "
			"os3/a, os4/a, os5/a, os6/a, os7/a, os8/a, os9/a, os10/a, os11/a, os12/a, "
			"os13/a, os14/a, os15/a, os16/a, ...)");
	oci_manifest_release(&m);

	// Selecting from a manifest is a caller bug.
	static const char man[] =
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a\",\"digest\":\"" D1
		"\",\"size\":1},\"layers\":[]}";
	struct oci_platform want;
	struct err e = {0};
	const struct oci_descriptor *d;
	assert_int_equal(oci_manifest_parse(&m, NULL, man, strlen(man), &e), 0);
	oci_platform_host(&want);
	assert_int_equal(oci_index_select(&m, &want, &d, &e), -1);
	assert_int_equal(e.cls, ERR_INTERNAL);
	assert_null(d);
	oci_platform_release(&want);
	oci_manifest_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_select_variants),
		cmocka_unit_test(test_select_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
