// SPDX-License-Identifier: Apache-2.0
// pull/chart: the oci:// chart reference, the manifest's shape, Helm's config.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pull/chart.h"
#include "util/mem.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct ref_case {
	const char *in, *version; // --version (NULL: none)
	// ref NULL and cls 0: a lookup of want (NULL: the latest stable); ref NULL
	// and cls set: an error of class cls
	const char *ref, *host, *name, *want_version;
	enum err_class cls;
	const char *msg; // part of the message, or with a lookup the range
};

#define LOOKUP(in, version, want) {in, version, NULL, NULL, NULL, NULL, 0, want}

static const struct ref_case ref_cases[] = {
	{"oci://localhost:5000/charts/nginx:1.2.3", NULL, "localhost:5000/charts/nginx:1.2.3", "localhost:5000",
	 "nginx", "1.2.3", 0, NULL},
	{"oci://localhost:5000/charts/nginx", "1.2.3", "localhost:5000/charts/nginx:1.2.3", "localhost:5000", "nginx",
	 "1.2.3", 0, NULL},
	{"oci://reg.example.com/a/b/c/mychart:0.1.0+build.7", NULL, "reg.example.com/a/b/c/mychart:0.1.0_build.7",
	 "reg.example.com", "mychart", "0.1.0+build.7", 0, NULL},
	{"oci://127.0.0.1:5000/x:1.0.0-rc.1+meta", "1.0.0-rc.1+meta", "127.0.0.1:5000/x:1.0.0-rc.1_meta",
	 "127.0.0.1:5000", "x", "1.0.0-rc.1+meta", 0, NULL},
	{"oci://localhost/chart:1", NULL, "localhost/chart:1", "localhost", "chart", "1", 0, NULL},
	// --version as Helm reads it: a semver version is the tag, anything else a
	// range looked up among the tags; none: the latest stable.
	{"oci://localhost/chart", "v1.2", "localhost/chart:v1.2", "localhost", "chart", "v1.2", 0, NULL},
	LOOKUP("oci://localhost:5000/charts/nginx", NULL, NULL),
	LOOKUP("oci://localhost:5000/charts/nginx", "^1.2", "^1.2"),
	LOOKUP("oci://localhost:5000/charts/nginx", ">=1.0 <2", ">=1.0 <2"),
	LOOKUP("oci://localhost:5000/charts/nginx", "1.x", "1.x"),
	// A digest: with a version both, alone the version from the chart.
	{"oci://localhost:5000/charts/x:1.0.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	 NULL, "localhost:5000/charts/x:1.0.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	 "localhost:5000", "x", "1.0.0", 0, NULL},
	{"oci://localhost:5000/charts/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL,
	 "localhost:5000/charts/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	 "localhost:5000", "x", NULL, 0, NULL},
	{"oci://localhost:5000/charts/x:1@sha256:0000", NULL, NULL, NULL, NULL, NULL, ERR_USAGE, "not a sha256: digest"},
	{"oci://localhost:5000/charts/x@md5:0000", NULL, NULL, NULL, NULL, NULL, ERR_USAGE, "not a sha256: digest"},
	// Chart repositories and plain names: --repo.
	{"https://helm.ngc.nvidia.com/nvidia/gpu-operator", NULL, NULL, NULL, NULL, NULL, ERR_USAGE, "--repo URL"},
	{"http://charts.example.com/x", "1", NULL, NULL, NULL, NULL, ERR_USAGE, "--repo URL"},
	{"nginx", "1", NULL, NULL, NULL, NULL, ERR_USAGE, "not an oci://"},
	{"", NULL, NULL, NULL, NULL, NULL, ERR_USAGE, "not an oci://"},
	// Versions.
	{"oci://localhost:5000/charts/nginx:1.0", "2.0", NULL, NULL, NULL, NULL, ERR_USAGE, "and --version"},
	{"oci://localhost:5000/charts/nginx:1.0", "1.0", "localhost:5000/charts/nginx:1.0", "localhost:5000", "nginx",
	 "1.0", 0, NULL},
	{"oci://localhost:5000/charts/nginx:1.0_x", NULL, NULL, NULL, NULL, NULL, ERR_USAGE, "invalid version"},
	{"oci://localhost:5000/charts/nginx:.1", NULL, NULL, NULL, NULL, NULL, ERR_USAGE, "invalid version"},
	{"oci://localhost:5000/charts/nginx:+1", NULL, NULL, NULL, NULL, NULL, ERR_USAGE, "invalid version"},
	{"oci://localhost:5000/charts/nginx:", NULL, NULL, NULL, NULL, NULL, ERR_USAGE, "invalid version"},
	{"oci://localhost:5000/charts/nginx", "", NULL, NULL, NULL, NULL, ERR_USAGE, "invalid version"},
	// Control characters never reach a message.
	{"oci://localhost:5000/a\n/x:1", NULL, NULL, NULL, NULL, NULL, ERR_USAGE, "control character"},
	{"oci://localhost:5000/a/x", "1\x1b[2J", NULL, NULL, NULL, NULL, ERR_USAGE, "control character"},
	// Shapes.
	{"oci://localhost:5000", "1", NULL, NULL, NULL, NULL, ERR_USAGE, "HOST/PATH/NAME"},
	{"oci://localhost:5000/", "1", NULL, NULL, NULL, NULL, ERR_USAGE, "HOST/PATH/NAME"},
	{"oci:///charts/x", "1", NULL, NULL, NULL, NULL, ERR_USAGE, "HOST/PATH/NAME"},
	{"oci://localhost:5000/charts/:1", NULL, NULL, NULL, NULL, NULL, ERR_USAGE, "no name"},
	{"oci://myregistry/charts/x:1", NULL, NULL, NULL, NULL, NULL, ERR_USAGE, "not a registry host"},
	{"oci://localhost:5000/Charts/x:1", NULL, NULL, NULL, NULL, NULL, ERR_USAGE, "oci://"},
	{"oci://localhost:5000/a//x:1", NULL, NULL, NULL, NULL, NULL, ERR_USAGE, "oci://"},
};

static void test_ref(void **state)
{
	const struct ref_case *c = *state;
	struct chart_ref r;
	struct err e;
	int rc = chart_ref_parse(&r, c->in, c->version, &e);
	if (c->ref) {
		if (rc != 0)
			fail_msg("%s: %s", c->in, e.msg);
		assert_string_equal(r.ref, c->ref);
		assert_string_equal(r.host, c->host);
		assert_string_equal(r.name, c->name);
		if (c->want_version)
			assert_string_equal(r.version, c->want_version);
		else
			assert_null(r.version);
		assert_false(r.lookup);
	} else if (!c->cls) {
		if (rc != 0)
			fail_msg("%s: %s", c->in, e.msg);
		assert_true(r.lookup);
		assert_null(r.ref);
		assert_null(r.version);
		if (c->msg)
			assert_string_equal(r.want, c->msg);
		else
			assert_null(r.want);
		assert_string_equal(r.repo, "localhost:5000/charts/nginx");
	} else {
		assert_int_equal(rc, -1);
		assert_int_equal(e.cls, c->cls);
		if (!strstr(e.msg, c->msg))
			fail_msg("%s: message '%s' lacks '%s'", c->in, e.msg, c->msg);
	}
	chart_ref_release(&r);
	chart_ref_release(&r); // twice: harmless
}

struct pick_case {
	const char *tags, *want, *version; // tags space-separated; NULL version: an error of class cls
	enum err_class cls;
};

// Helm keeps the tags that are strict semver once '_' is '+', then picks.
static const struct pick_case pick_cases[] = {
	{"0.1.0 0.2.0_build.5 0.3.0-rc.1 latest v9.0.0 1.0 main", NULL, "0.2.0+build.5", 0},
	{"0.1.0 0.2.0_build.5 0.3.0-rc.1", "~0.1", "0.1.0", 0},
	{"0.1.0 0.2.0_build.5 0.3.0-rc.1", ">=0.3.0-0", "0.3.0-rc.1", 0},
	{"0.1.0 0.2.0_build.5", "0.2.0+build.5", "0.2.0+build.5", 0},
	{"1.0.0 1.10.0 1.9.0", "^1", "1.10.0", 0},
	{"latest main", NULL, NULL, ERR_NOTFOUND},
	{"", NULL, NULL, ERR_NOTFOUND},
	{"1.0.0", ">=2", NULL, ERR_NOTFOUND},
	{"1.0.0", ">>2", NULL, ERR_USAGE},
};

static void test_pick(void **state)
{
	const struct pick_case *c = *state;
	char *tags[16];
	size_t n = 0;
	char *list = xstrdup(c->tags), *save = NULL;
	for (char *t = strtok_r(list, " ", &save); t && n < 16; t = strtok_r(NULL, " ", &save))
		tags[n++] = t;
	char *version = NULL;
	struct err e;
	int rc = chart_pick_tag(tags, n, c->want, &version, &e);
	if (c->version) {
		if (rc != 0)
			fail_msg("%s / %s: %s", c->tags, c->want ? c->want : "(none)", e.msg);
		assert_string_equal(version, c->version);
	} else {
		assert_int_equal(rc, -1);
		assert_int_equal(e.cls, c->cls);
		assert_null(version);
	}
	free(version);
	free(list);
}

static struct oci_descriptor desc(const char *mt)
{
	return (struct oci_descriptor){.media_type = (char *)mt, .digest = (char *)"sha256:00", .size = 1};
}

static void test_layers(void **state)
{
	(void)state;
	struct oci_descriptor layers[3] = {desc(CHART_MT_PROV), desc(CHART_MT_CONTENT), desc("application/x-other")};
	struct oci_manifest m = {.kind = OCI_KIND_MANIFEST, .config = desc(CHART_MT_CONFIG), .layers = layers,
				 .nlayers = 3};
	const struct oci_descriptor *chart, *prov;
	struct err e;
	assert_int_equal(chart_manifest_layers(&m, "x", &chart, &prov, &e), 0);
	assert_ptr_equal(chart, &layers[1]);
	assert_ptr_equal(prov, &layers[0]);
	m.nlayers = 2; // the legacy chart type counts too; no provenance is fine
	layers[0] = desc(CHART_MT_CONTENT_LEGACY);
	layers[1] = desc("application/x-other");
	assert_int_equal(chart_manifest_layers(&m, "x", &chart, &prov, &e), 0);
	assert_ptr_equal(chart, &layers[0]);
	assert_null(prov);
	layers[1] = desc(CHART_MT_CONTENT); // two charts
	assert_int_equal(chart_manifest_layers(&m, "x", &chart, &prov, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	layers[0] = desc(CHART_MT_PROV);
	layers[1] = desc(CHART_MT_PROV); // two provenances, no chart
	assert_int_equal(chart_manifest_layers(&m, "x", &chart, &prov, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	m.nlayers = 1; // no chart layer
	assert_int_equal(chart_manifest_layers(&m, "x", &chart, &prov, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_non_null(strstr(e.msg, "no chart layer"));
	m.config = desc("application/vnd.oci.image.config.v1+json"); // an image: not a chart
	assert_int_equal(chart_manifest_layers(&m, "img", &chart, &prov, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	assert_non_null(strstr(e.msg, "img is not a Helm chart"));
	m.config = desc(NULL);
	assert_int_equal(chart_manifest_layers(&m, "img", &chart, &prov, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	m.config = desc(CHART_MT_CONFIG);
	m.kind = OCI_KIND_INDEX; // an index is no chart
	assert_int_equal(chart_manifest_layers(&m, "idx", &chart, &prov, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
}

static void test_config(void **state)
{
	(void)state;
	char *n, *v;
	struct err e;
	const char *ok = "{\"name\":\"demo\",\"version\":\"0.1.0+b\",\"apiVersion\":\"v2\",\"description\":\"d\"}";
	assert_int_equal(chart_config_parse(ok, strlen(ok), &n, &v, &e), 0);
	assert_string_equal(n, "demo");
	assert_string_equal(v, "0.1.0+b");
	free(n);
	free(v);
	const char *bad[] = {"", "[]", "{\"name\":\"x\"}", "{\"name\":1,\"version\":\"1\"}", "{\"name\":\"x\",\"version\":\"1\""};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(chart_config_parse(bad[i], strlen(bad[i]), &n, &v, &e), -1);
		assert_int_equal(e.cls, ERR_INTEGRITY);
		assert_null(n);
		assert_null(v);
	}
}

int main(void)
{
	enum { NREF = ARRAY_SIZE(ref_cases), NPICK = ARRAY_SIZE(pick_cases) };
	struct CMUnitTest tests[NREF + NPICK + 2];
	char *names[NREF + NPICK];
	for (size_t i = 0; i < NREF; i++) {
		names[i] = xasprintf("ref \"%s\" %s", ref_cases[i].in, ref_cases[i].version ? ref_cases[i].version : "-");
		tests[i] = (struct CMUnitTest){names[i], test_ref, NULL, NULL, (void *)&ref_cases[i]};
	}
	for (size_t i = 0; i < NPICK; i++) {
		names[NREF + i] = xasprintf("pick \"%s\" %s", pick_cases[i].tags, pick_cases[i].want ? pick_cases[i].want : "-");
		tests[NREF + i] = (struct CMUnitTest){names[NREF + i], test_pick, NULL, NULL, (void *)&pick_cases[i]};
	}
	tests[NREF + NPICK] = (struct CMUnitTest)cmocka_unit_test(test_layers);
	tests[NREF + NPICK + 1] = (struct CMUnitTest)cmocka_unit_test(test_config);
	int rc = _cmocka_run_group_tests("unit_chart", tests, ARRAY_SIZE(tests), NULL, NULL);
	for (size_t i = 0; i < NREF + NPICK; i++)
		free(names[i]);
	return rc;
}
