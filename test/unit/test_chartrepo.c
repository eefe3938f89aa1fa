// SPDX-License-Identifier: Apache-2.0
// pull/chartrepo: index.yaml read as events (one chart's versions), chart URLs
// resolved against the repository, and the tag list's next page (pull/registry).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pull/chartrepo.h"
#include "pull/registry.h"
#include "util/mem.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

// As `helm repo index` writes it (sigs.k8s.io/yaml: keys sorted, two-space
// indent, lists not indented), with a second chart around the one read.
static const char helm_index[] =
	"apiVersion: v1\n"
	"entries:\n"
	"  alpha:\n"
	"  - apiVersion: v2\n"
	"    created: \"2026-12-01T10:00:00.000000000Z\"\n"
	"    digest: 1111111111111111111111111111111111111111111111111111111111111111\n"
	"    name: alpha\n"
	"    urls:\n"
	"    - alpha-1.0.0.tgz\n"
	"    version: 1.0.0\n"
	"  demo:\n"
	"  - annotations:\n"
	"      category: Test\n"
	"    apiVersion: v2\n"
	"    appVersion: \"1.16\"\n"
	"    created: \"2026-12-02T10:00:00Z\"\n"
	"    dependencies:\n"
	"    - name: alpha\n"
	"      repository: https://charts.example.com\n"
	"      version: ^1.0.0\n"
	"    description: a demo\n"
	"    digest: 2f1bd9c2e5b6bd6e1b6ab62f3bd0a10e54b46ee5b2e6e0d8b0fb4a0a8c2f1b3e\n"
	"    maintainers:\n"
	"    - email: a@example.com\n"
	"      name: a\n"
	"    name: demo\n"
	"    urls:\n"
	"    - charts/demo-0.2.0.tgz\n"
	"    - https://mirror.example.com/demo-0.2.0.tgz\n"
	"    version: 0.2.0\n"
	"  - apiVersion: v2\n"
	"    created: \"2026-12-01T10:00:00Z\"\n"
	"    name: demo\n"
	"    urls:\n"
	"    - https://other.example.com/demo-0.1.0.tgz\n"
	"    version: 0.1.0\n"
	"  zeta:\n"
	"  - name: zeta\n"
	"    urls: [zeta-1.tgz]\n"
	"    version: \"1\"\n"
	"generated: \"2026-12-02T10:00:00Z\"\n"
	"serverInfo: {}\n";

static void test_helm_index(void **state)
{
	(void)state;
	struct chartrepo_versions vs;
	struct err e;
	assert_int_equal(chartrepo_index_read(helm_index, strlen(helm_index), "demo", &vs, &e), 0);
	assert_int_equal(vs.n, 2);
	assert_string_equal(vs.v[0].version, "0.2.0");
	assert_string_equal(vs.v[0].url, "charts/demo-0.2.0.tgz");
	assert_string_equal(vs.v[0].digest, "2f1bd9c2e5b6bd6e1b6ab62f3bd0a10e54b46ee5b2e6e0d8b0fb4a0a8c2f1b3e");
	assert_string_equal(vs.v[1].version, "0.1.0");
	assert_string_equal(vs.v[1].url, "https://other.example.com/demo-0.1.0.tgz");
	assert_null(vs.v[1].digest);
	chartrepo_versions_release(&vs);
	assert_int_equal(chartrepo_index_read(helm_index, strlen(helm_index), "zeta", &vs, &e), 0);
	assert_int_equal(vs.n, 1);
	assert_string_equal(vs.v[0].url, "zeta-1.tgz");
	assert_string_equal(vs.v[0].version, "1");
	chartrepo_versions_release(&vs);
}

struct bad_case {
	const char *doc, *name;
	enum err_class cls;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{"", "demo", ERR_INTEGRITY, "expected"},
	{"- a\n- b\n", "demo", ERR_INTEGRITY, "a mapping expected"},
	{"apiVersion: v1\n", "demo", ERR_INTEGRITY, "no 'entries'"},
	{"entries:\n  other:\n  - {name: other, version: 1.0.0, urls: [x.tgz]}\n", "demo", ERR_NOTFOUND, "no chart 'demo'"},
	{"entries:\n  demo: []\n", "demo", ERR_NOTFOUND, "no version"},
	{"entries:\n  demo: {version: 1}\n", "demo", ERR_INTEGRITY, "not a list"},
	// Entries without a version or a URL are dropped, as Helm drops them.
	{"entries:\n  demo:\n  - {version: 1.0.0}\n", "demo", ERR_NOTFOUND, "no version"},
	{"entries:\n  demo:\n  - {urls: [a.tgz]}\n  - ~\n  - {version: 1.0.0, urls: []}\n", "demo", ERR_NOTFOUND,
	 "no version"},
	{"entries:\n  demo:\n  - {version: [1], urls: [a.tgz]}\n", "demo", ERR_INTEGRITY, "'version' is not a string"},
	{"entries:\n  demo:\n  - {version: 1.0.0, urls: a.tgz}\n", "demo", ERR_INTEGRITY, "'urls' is not a list"},
	{"entries:\n  demo:\n  - &v {version: 1.0.0, urls: [a.tgz]}\n  - *v\n", "demo", ERR_INTEGRITY,
	 "not a mapping"},
	{"entries:\n  demo:\n  - {version: 1.0.0, urls: [*u]}\n", "demo", ERR_INTEGRITY, "'urls' is not a string"},
	{"entries:\n  demo:\n  - {version: 1.0.0, urls: [a.tgz]}\n  demo:\n  - {version: 1.0.0, urls: [a.tgz]}\n",
	 "demo", ERR_INTEGRITY, "twice"},
	{"entries: {}\nentries: {}\n", "demo", ERR_INTEGRITY, "twice"},
	{"entries:\n  demo:\n  - {version: 1.0.0, urls: [a.tgz]\n", "demo", ERR_INTEGRITY, "not YAML"},
	{"entries:\n  demo:\n  - {version: \"1\\0\", urls: [a.tgz]}\n", "demo", ERR_INTEGRITY, "NUL"},
};

static void test_bad(void **state)
{
	const struct bad_case *c = *state;
	struct chartrepo_versions vs;
	struct err e;
	assert_int_equal(chartrepo_index_read(c->doc, strlen(c->doc), c->name, &vs, &e), -1);
	if (e.cls != c->cls || !strstr(e.msg, c->msg))
		fail_msg("%s: class %d, message '%s' (want %d, '%s')", c->doc, e.cls, e.msg, c->cls, c->msg);
	assert_null(vs.v);
	assert_int_equal(vs.n, 0);
}

// Other charts' values are skipped whatever they hold, aliases and deep nesting
// included; JSON (helm repo index --json) reads the same.
static void test_skips_and_json(void **state)
{
	(void)state;
	static const char doc[] = "x: &a [1, {b: [[[[[[[[[[[deep]]]]]]]]]]]}]\n"
				  "entries:\n  other: *a\n  other2: [{version: [weird], urls: 7}]\n"
				  "  demo:\n  - {version: 2.0.0-rc.1, urls: [\"d.tgz\"], digest: ~}\n";
	struct chartrepo_versions vs;
	struct err e;
	assert_int_equal(chartrepo_index_read(doc, strlen(doc), "demo", &vs, &e), 0);
	assert_int_equal(vs.n, 1);
	assert_null(vs.v[0].digest);
	chartrepo_versions_release(&vs);
	// Incomplete entries around a complete one: only it is kept.
	static const char mixed[] = "entries:\n  demo:\n  - {version: 1.2.0}\n  - ~\n  - {version: 1.1.0, urls: [b.tgz]}\n"
				    "  - {urls: [c.tgz]}\n";
	assert_int_equal(chartrepo_index_read(mixed, strlen(mixed), "demo", &vs, &e), 0);
	assert_int_equal(vs.n, 1);
	assert_string_equal(vs.v[0].version, "1.1.0");
	chartrepo_versions_release(&vs);
	static const char json[] = "{\"apiVersion\":\"v1\",\"entries\":{\"demo\":[{\"name\":\"demo\",\"version\":\"1.2.3\","
				   "\"urls\":[\"https://x.example/demo-1.2.3.tgz\"],\"digest\":\"ab\"}]}}";
	assert_int_equal(chartrepo_index_read(json, strlen(json), "demo", &vs, &e), 0);
	assert_string_equal(vs.v[0].url, "https://x.example/demo-1.2.3.tgz");
	assert_string_equal(vs.v[0].digest, "ab");
	chartrepo_versions_release(&vs);
}

// A scalar over the cap inside the chart is refused; elsewhere it is skipped.
static void test_caps(void **state)
{
	(void)state;
	size_t big = CHARTREPO_SCALAR_MAX + 1;
	char *filler = xmalloc(big + 1);
	memset(filler, 'a', big);
	filler[big] = 0;
	char *doc = xasprintf("entries:\n  other: [{description: %s}]\n  demo:\n  - {version: 1.0.0, urls: [%s]}\n",
			      filler, filler);
	struct chartrepo_versions vs;
	struct err e;
	assert_int_equal(chartrepo_index_read(doc, strlen(doc), "demo", &vs, &e), -1);
	assert_non_null(strstr(e.msg, "too long"));
	free(doc);
	doc = xasprintf("entries:\n  other: [{description: %s}]\n  demo:\n  - {version: 1.0.0, urls: [a.tgz]}\n", filler);
	assert_int_equal(chartrepo_index_read(doc, strlen(doc), "demo", &vs, &e), 0);
	chartrepo_versions_release(&vs);
	free(doc);
	free(filler);
}

struct resolve_case {
	const char *repo, *ref, *want; // NULL want: refused
};

static const struct resolve_case resolve_cases[] = {
	{"https://helm.ngc.nvidia.com/nvidia", "charts/gpu-operator-v24.9.0.tgz",
	 "https://helm.ngc.nvidia.com/nvidia/charts/gpu-operator-v24.9.0.tgz"},
	{"https://helm.ngc.nvidia.com/nvidia/", "gpu-operator-v24.9.0.tgz",
	 "https://helm.ngc.nvidia.com/nvidia/gpu-operator-v24.9.0.tgz"},
	{"https://h.example/a/b", "/root.tgz", "https://h.example/root.tgz"},
	{"https://h.example/a/b", "../up.tgz", "https://h.example/a/up.tgz"},
	{"https://h.example/a", "https://cdn.example.com/x/y.tgz?sig=1", "https://cdn.example.com/x/y.tgz?sig=1"},
	{"http://127.0.0.1:8080/charts", "demo-1.tgz", "http://127.0.0.1:8080/charts/demo-1.tgz"},
	{"https://h.example/a", "//other.example/z.tgz", "https://other.example/z.tgz"},
	{"https://h.example/a", "file:///etc/passwd", NULL},
	{"https://h.example/a", "ftp://h.example/x.tgz", NULL},
	{"https://h.example/a", "javascript:alert(1)", NULL},
};

static void test_resolve(void **state)
{
	const struct resolve_case *c = *state;
	char *got = chartrepo_resolve(c->repo, c->ref);
	if (c->want) {
		if (!got)
			fail_msg("%s + %s: refused", c->repo, c->ref);
		assert_string_equal(got, c->want);
	} else if (got) {
		fail_msg("%s + %s: %s, want a refusal", c->repo, c->ref, got);
	}
	free(got);
}

struct link_case {
	const char *link, *want;
	int rc;
};

static const struct link_case link_cases[] = {
	{"</v2/charts/demo/tags/list?last=0.1.0&n=2>; rel=\"next\"", "/tags/list?last=0.1.0&n=2", 0},
	{"<http://127.0.0.1:5000/v2/charts/demo/tags/list?n=2&last=b>; rel=\"next\"", "/tags/list?n=2&last=b", 0},
	{"<HTTP://127.0.0.1:5000/v2/charts/demo/tags/list?n=2&last=b>; rel=next", "/tags/list?n=2&last=b", 0},
	{"</v2/charts/demo/tags/list?last=a>; rel=\"prev\", </v2/charts/demo/tags/list?last=z>; rel=\"next\"",
	 "/tags/list?last=z", 0},
	{"</v2/charts/demo/tags/list?last=a>; rel=\"prev\"", NULL, 0},
	{"</v2/charts/other/tags/list?last=a>; rel=\"next\"", NULL, -1},
	{"<https://evil.example/v2/charts/demo/tags/list?last=a>; rel=\"next\"", NULL, -1},
	{"<http://127.0.0.1:5001/v2/charts/demo/tags/list?last=a>; rel=\"next\"", NULL, -1},
	{"</v2/charts/demo/tags/list?last=a b>; rel=\"next\"", NULL, -1},
	{"/v2/charts/demo/tags/list?last=a; rel=\"next\"", NULL, 0},
	{NULL, NULL, 0},
};

static void test_link(void **state)
{
	const struct link_case *c = *state;
	char *got = NULL;
	assert_int_equal(pull_tags_next(c->link, "http://127.0.0.1:5000", "charts/demo", &got), c->rc);
	if (c->want) {
		if (!got)
			fail_msg("%s: no next page", c->link);
		assert_string_equal(got, c->want);
	} else if (got) {
		fail_msg("%s: %s, want none", c->link ? c->link : "(null)", got);
	}
	free(got);
}

int main(void)
{
	struct CMUnitTest t[ARRAY_SIZE(bad_cases) + ARRAY_SIZE(resolve_cases) + ARRAY_SIZE(link_cases) + 3];
	size_t n = 0;
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_helm_index);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_skips_and_json);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_caps);
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++)
		t[n++] = (struct CMUnitTest){.name = bad_cases[i].msg, .test_func = test_bad,
					     .initial_state = (void *)&bad_cases[i]};
	for (size_t i = 0; i < ARRAY_SIZE(resolve_cases); i++)
		t[n++] = (struct CMUnitTest){.name = resolve_cases[i].ref, .test_func = test_resolve,
					     .initial_state = (void *)&resolve_cases[i]};
	for (size_t i = 0; i < ARRAY_SIZE(link_cases); i++)
		t[n++] = (struct CMUnitTest){.name = link_cases[i].link ? link_cases[i].link : "none",
					     .test_func = test_link, .initial_state = (void *)&link_cases[i]};
	return _cmocka_run_group_tests("chartrepo", t, n, NULL, NULL);
}
