// SPDX-License-Identifier: Apache-2.0
// oci/manifest: manifests and indexes from untrusted bytes, Content-Type
// handling, schema 1 rejection and every malformed-field path we know of.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oci/manifest.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "3333333333333333333333333333333333333333333333333333333333333333"
#define D1 "sha256:" H1
#define D2 "sha256:" H2
#define D3 "sha256:" H3

#define OCI_MANIFEST_BODY                                                                  \
	"{\n"                                                                              \
	"  \"schemaVersion\": 2,\n"                                                        \
	"  \"mediaType\": \"" OCI_MT_MANIFEST "\",\n"                                      \
	"  \"config\": {\"mediaType\": \"" OCI_MT_CONFIG "\", \"digest\": \"" D1 "\", "    \
	"\"size\": 1469},\n"                                                               \
	"  \"layers\": [\n"                                                                \
	"    {\"mediaType\": \"" OCI_MT_LAYER_GZIP "\", \"digest\": \"" D2 "\", "          \
	"\"size\": 2479929, \"annotations\": {\"a\": \"b\"}},\n"                           \
	"    {\"mediaType\": \"" OCI_MT_LAYER_ZSTD "\", \"digest\": \"" D3 "\", "          \
	"\"size\": 0}\n"                                                                   \
	"  ],\n"                                                                           \
	"  \"annotations\": {\"org.opencontainers.image.created\": \"2024-01-01T00:00:00Z\"}\n" \
	"}\n"

// A manifest body with the given top-level fields after schemaVersion.
#define MANIFEST_WITH(fields) "{\"schemaVersion\":2," fields "}"
#define CONFIG_OK "\"config\":{\"mediaType\":\"" OCI_MT_CONFIG "\",\"digest\":\"" D1 "\",\"size\":7}"
#define LAYER(mt, dg, sz) "{\"mediaType\":\"" mt "\",\"digest\":\"" dg "\",\"size\":" sz "}"
#define ENTRY(mt, dg, plat) "{\"mediaType\":\"" mt "\",\"digest\":\"" dg "\",\"size\":10" plat "}"
#define PLAT(os, arch) ",\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\"}"
#define PLATV(os, arch, v)                                                                 \
	",\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\",\"variant\":\"" v "\"}"

// Parses from an exactly sized heap copy with no NUL after it, so ASan
// catches any read past the end.
static int parse_len(struct oci_manifest *m, const char *ct, const char *body, size_t len,
		     struct err *e)
{
	char *copy = xmalloc(len);
	memcpy(copy, body, len);
	int r = oci_manifest_parse(m, ct, copy, len, e);
	free(copy);
	return r;
}

static int parse(struct oci_manifest *m, const char *ct, const char *body, struct err *e)
{
	return parse_len(m, ct, body, strlen(body), e);
}

// Asserts that parsing fails with cls and a message containing want, and that
// the failure left m empty.
static void expect_fail(const char *ct, const char *body, enum err_class cls, const char *want)
{
	struct oci_manifest m;
	struct err e = {0};
	if (parse(&m, ct, body, &e) == 0) {
		oci_manifest_release(&m);
		fail_msg("accepted (ct %s): %s", ct ? ct : "NULL", body);
	}
	if (e.cls != cls || !strstr(e.msg, want))
		fail_msg("body %s: got class %d \"%s\", want class %d containing \"%s\"", body,
			 (int)e.cls, e.msg, (int)cls, want);
	assert_null(m.media_type);
	assert_null(m.layers);
	assert_null(m.manifests);
	assert_null(m.config.digest);
	assert_int_equal(m.nlayers, 0);
	assert_int_equal(m.nmanifests, 0);
	oci_manifest_release(&m); // must be harmless after a failure
}

static void expect_ok(const char *ct, const char *body, enum oci_manifest_kind kind,
		      const char *mt)
{
	struct oci_manifest m;
	struct err e = {0};
	if (parse(&m, ct, body, &e) < 0)
		fail_msg("rejected (ct %s): %s: %s", ct ? ct : "NULL", body, e.msg);
	assert_int_equal(m.kind, kind);
	assert_string_equal(m.media_type, mt);
	oci_manifest_release(&m);
}

static void test_oci_manifest(void **state)
{
	struct oci_manifest m;
	struct err e = {0};
	(void)state;
	assert_int_equal(parse(&m, OCI_MT_MANIFEST, OCI_MANIFEST_BODY, &e), 0);
	assert_int_equal(m.kind, OCI_KIND_MANIFEST);
	assert_string_equal(m.media_type, OCI_MT_MANIFEST);
	assert_string_equal(m.config.media_type, OCI_MT_CONFIG);
	assert_string_equal(m.config.digest, D1);
	assert_int_equal(m.config.size, 1469);
	assert_false(m.config.has_platform);
	assert_int_equal(m.nlayers, 2);
	assert_string_equal(m.layers[0].media_type, OCI_MT_LAYER_GZIP);
	assert_string_equal(m.layers[0].digest, D2);
	assert_int_equal(m.layers[0].size, 2479929);
	assert_string_equal(m.layers[1].media_type, OCI_MT_LAYER_ZSTD);
	assert_string_equal(m.layers[1].digest, D3);
	assert_int_equal(m.layers[1].size, 0);
	assert_int_equal(m.nmanifests, 0);
	assert_null(m.manifests);
	oci_manifest_release(&m);
	assert_null(m.media_type);
	assert_null(m.layers);
	oci_manifest_release(&m); // twice is fine
}

static void test_docker_schema2(void **state)
{
	static const char body[] =
		"{\"schemaVersion\":2,\"mediaType\":\"" DOCKER_MT_MANIFEST "\","
		"\"config\":{\"mediaType\":\"" DOCKER_MT_CONFIG "\",\"size\":1457,\"digest\":\"" D1 "\"},"
		"\"layers\":[" LAYER(DOCKER_MT_LAYER_GZIP, D2, "2591575") ","
		"{\"mediaType\":\"" DOCKER_MT_LAYER_FOREIGN "\",\"size\":5,\"digest\":\"" D3 "\","
		"\"urls\":[\"https://example.com/layer\"]}]}";
	struct oci_manifest m;
	struct err e = {0};
	(void)state;
	assert_int_equal(parse(&m, DOCKER_MT_MANIFEST, body, &e), 0);
	assert_int_equal(m.kind, OCI_KIND_MANIFEST);
	assert_string_equal(m.media_type, DOCKER_MT_MANIFEST);
	assert_string_equal(m.config.media_type, DOCKER_MT_CONFIG);
	assert_int_equal(m.config.size, 1457);
	assert_int_equal(m.nlayers, 2);
	assert_string_equal(m.layers[0].media_type, DOCKER_MT_LAYER_GZIP);
	assert_int_equal(m.layers[0].size, 2591575);
	assert_string_equal(m.layers[1].media_type, DOCKER_MT_LAYER_FOREIGN);
	oci_manifest_release(&m);
	// Same body, type only from the body.
	expect_ok(NULL, body, OCI_KIND_MANIFEST, DOCKER_MT_MANIFEST);
	expect_ok("application/json", body, OCI_KIND_MANIFEST, DOCKER_MT_MANIFEST);
}

static const char index_body[] =
	"{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":["
	ENTRY(OCI_MT_MANIFEST, D1, PLAT("linux", "amd64")) ","
	ENTRY(OCI_MT_MANIFEST, D2, PLATV("linux", "arm64", "v8")) ","
	"{\"mediaType\":\"application/vnd.example.unknown+json\",\"digest\":42,\"size\":\"x\"},"
	ENTRY(OCI_MT_MANIFEST, D3, PLAT("unknown", "unknown")) ","
	ENTRY(OCI_MT_INDEX, D1, "") ","
	ENTRY(DOCKER_MT_SCHEMA1_SIGNED, D2, PLAT("linux", "s390x")) ","
	ENTRY(OCI_MT_MANIFEST, D2, ",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\","
				   "\"variant\":\"\",\"os.features\":[\"x\"]}")
	"],\"annotations\":{\"k\":\"v\"}}";

static void test_oci_index(void **state)
{
	struct oci_manifest m;
	struct err e = {0};
	(void)state;
	assert_int_equal(parse(&m, OCI_MT_INDEX, index_body, &e), 0);
	assert_int_equal(m.kind, OCI_KIND_INDEX);
	assert_string_equal(m.media_type, OCI_MT_INDEX);
	assert_int_equal(m.nlayers, 0);
	assert_null(m.config.digest);
	// The unknown entry and the schema 1 entry are skipped.
	assert_int_equal(m.nmanifests, 5);
	assert_string_equal(m.manifests[0].digest, D1);
	assert_int_equal(m.manifests[0].size, 10);
	assert_true(m.manifests[0].has_platform);
	assert_string_equal(m.manifests[0].platform.os, "linux");
	assert_string_equal(m.manifests[0].platform.arch, "amd64");
	assert_null(m.manifests[0].platform.variant);
	assert_string_equal(m.manifests[1].platform.arch, "arm64");
	assert_string_equal(m.manifests[1].platform.variant, "v8");
	assert_string_equal(m.manifests[2].platform.os, "unknown");
	assert_string_equal(m.manifests[3].media_type, OCI_MT_INDEX);
	assert_false(m.manifests[3].has_platform);
	assert_null(m.manifests[3].platform.os);
	assert_string_equal(m.manifests[4].platform.arch, "arm");
	assert_null(m.manifests[4].platform.variant); // "" means none
	oci_manifest_release(&m);
}

static void test_docker_list(void **state)
{
	static const char body[] =
		"{\"schemaVersion\":2,\"mediaType\":\"" DOCKER_MT_LIST "\",\"manifests\":["
		ENTRY(DOCKER_MT_MANIFEST, D1, PLAT("linux", "amd64")) ","
		ENTRY(DOCKER_MT_MANIFEST, D2, PLATV("linux", "arm", "v7")) "]}";
	struct oci_manifest m;
	struct err e = {0};
	(void)state;
	assert_int_equal(parse(&m, DOCKER_MT_LIST "; charset=utf-8", body, &e), 0);
	assert_int_equal(m.kind, OCI_KIND_INDEX);
	assert_string_equal(m.media_type, DOCKER_MT_LIST);
	assert_int_equal(m.nmanifests, 2);
	assert_string_equal(m.manifests[0].media_type, DOCKER_MT_MANIFEST);
	assert_string_equal(m.manifests[1].platform.variant, "v7");
	oci_manifest_release(&m);
	expect_ok("text/plain", body, OCI_KIND_INDEX, DOCKER_MT_LIST);
}

static void test_generic_content_type(void **state)
{
	static const char *const generic[] = {
		NULL, "", "   ", "application/json", "application/octet-stream", "text/plain",
		"text/plain; charset=utf-8", "Application/JSON",
	};
	static const char idx_no_mt[] = "{\"schemaVersion\":2,\"manifests\":[]}";
	static const char man_no_mt[] =
		MANIFEST_WITH(CONFIG_OK ",\"layers\":[" LAYER(OCI_MT_LAYER_TAR, D2, "1") "]");
	(void)state;
	for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++) {
		const char *ct = generic[i];
		expect_ok(ct, OCI_MANIFEST_BODY, OCI_KIND_MANIFEST, OCI_MT_MANIFEST);
		expect_ok(ct, index_body, OCI_KIND_INDEX, OCI_MT_INDEX);
		// No mediaType: OCI allows that, the shape decides.
		expect_ok(ct, idx_no_mt, OCI_KIND_INDEX, OCI_MT_INDEX);
		expect_ok(ct, man_no_mt, OCI_KIND_MANIFEST, OCI_MT_MANIFEST);
		expect_fail(ct, "{\"schemaVersion\":2}", ERR_INTEGRITY, "no mediaType");
		expect_fail(ct, "{\"schemaVersion\":2,\"mediaType\":\"application/json\"}",
			    ERR_USAGE, "unsupported manifest media type 'application/json'");
	}
}

static void test_content_type_parameters(void **state)
{
	static const char no_mt[] =
		MANIFEST_WITH(CONFIG_OK ",\"layers\":[]");
	(void)state;
	expect_ok(OCI_MT_MANIFEST "; charset=utf-8", OCI_MANIFEST_BODY, OCI_KIND_MANIFEST,
		  OCI_MT_MANIFEST);
	expect_ok(" " OCI_MT_MANIFEST "\t;q=1", OCI_MANIFEST_BODY, OCI_KIND_MANIFEST,
		  OCI_MT_MANIFEST);
	expect_ok("APPLICATION/VND.OCI.IMAGE.MANIFEST.V1+JSON", OCI_MANIFEST_BODY,
		  OCI_KIND_MANIFEST, OCI_MT_MANIFEST);
	// The Content-Type names the type when the body does not.
	expect_ok(DOCKER_MT_MANIFEST ";x=y", no_mt, OCI_KIND_MANIFEST, DOCKER_MT_MANIFEST);
	expect_ok(OCI_MT_MANIFEST, no_mt, OCI_KIND_MANIFEST, OCI_MT_MANIFEST);
	// A parameter is not part of the type.
	expect_fail(OCI_MT_MANIFEST "x; charset=utf-8", OCI_MANIFEST_BODY, ERR_USAGE,
		    "unsupported manifest media type");
}

static void test_media_type_mismatch(void **state)
{
	(void)state;
	expect_fail(DOCKER_MT_MANIFEST, OCI_MANIFEST_BODY, ERR_INTEGRITY,
		    "manifest mediaType '" OCI_MT_MANIFEST "' does not match Content-Type '" DOCKER_MT_MANIFEST "'");
	expect_fail(OCI_MT_INDEX, OCI_MANIFEST_BODY, ERR_INTEGRITY, "does not match");
	expect_fail(OCI_MT_MANIFEST, index_body, ERR_INTEGRITY, "does not match");
	expect_fail(OCI_MT_MANIFEST,
		    MANIFEST_WITH("\"mediaType\":\"application/vnd.example+json\"," CONFIG_OK
				  ",\"layers\":[]"),
		    ERR_INTEGRITY, "does not match");
	// Without a body mediaType the shape must still fit the Content-Type.
	expect_fail(OCI_MT_MANIFEST, "{\"schemaVersion\":2,\"manifests\":[]}", ERR_INTEGRITY,
		    "invalid manifest: unexpected \"manifests\"");
	expect_fail(OCI_MT_INDEX, MANIFEST_WITH(CONFIG_OK ",\"layers\":[]"), ERR_INTEGRITY,
		    "invalid index: unexpected \"config\"");
	// A document that is both (CVE-2021-41190).
	expect_fail(NULL,
		    MANIFEST_WITH("\"mediaType\":\"" OCI_MT_MANIFEST "\"," CONFIG_OK
				  ",\"layers\":[],\"manifests\":[]"),
		    ERR_INTEGRITY, "ambiguous");
	expect_fail(NULL, "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[]}", ERR_INTEGRITY,
		    "ambiguous");
	// Escape sequences from a header do not reach the message.
	struct oci_manifest m;
	struct err e = {0};
	assert_int_equal(parse(&m, "text/\x1b[31mred", "{}", &e), -1);
	assert_null(strchr(e.msg, '\x1b'));
}

static void test_schema1(void **state)
{
	static const char s1[] =
		"{\"schemaVersion\":1,\"name\":\"library/busybox\",\"tag\":\"latest\","
		"\"architecture\":\"amd64\",\"fsLayers\":[{\"blobSum\":\"" D1 "\"}],"
		"\"history\":[{\"v1Compatibility\":\"{}\"}],\"signatures\":[]}";
	(void)state;
	// By Content-Type, whatever the body.
	expect_fail(DOCKER_MT_SCHEMA1, s1, ERR_USAGE, "schema 1 manifests are not supported");
	expect_fail(DOCKER_MT_SCHEMA1_SIGNED, s1, ERR_USAGE, "schema 1");
	expect_fail(DOCKER_MT_SCHEMA1_SIGNED "; charset=utf-8", "not json", ERR_USAGE, "schema 1");
	// By body, whatever the Content-Type.
	expect_fail(NULL, s1, ERR_USAGE, "schema 1");
	expect_fail("application/json", s1, ERR_USAGE, "schema 1");
	expect_fail(DOCKER_MT_MANIFEST, s1, ERR_USAGE, "schema 1");
	expect_fail(NULL, "{\"schemaVersion\":1}", ERR_USAGE, "schema 1");
	expect_fail(NULL, "{\"schemaVersion\":2,\"fsLayers\":[]}", ERR_USAGE, "schema 1");
	expect_fail(NULL, "{\"schemaVersion\":2,\"mediaType\":\"" DOCKER_MT_SCHEMA1 "\"}",
		    ERR_USAGE, "schema 1");
	expect_fail(OCI_MT_MANIFEST, "{\"mediaType\":\"" DOCKER_MT_SCHEMA1_SIGNED "\"}", ERR_USAGE,
		    "schema 1");
}

static void test_unsupported_type(void **state)
{
	(void)state;
	expect_fail("application/vnd.oci.artifact.manifest.v1+json", OCI_MANIFEST_BODY, ERR_USAGE,
		    "unsupported manifest media type 'application/vnd.oci.artifact.manifest.v1+json'");
	expect_fail("text/html", "<html></html>", ERR_USAGE, "unsupported");
	expect_fail(NULL,
		    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.artifact.manifest.v1+json\"}",
		    ERR_USAGE, "unsupported manifest media type");
}

struct bad_case {
	const char *body;
	const char *want;
};

static void run_bad(const char *ct, const struct bad_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_fail(ct, c[i].body, ERR_INTEGRITY, c[i].want);
}

static void test_manifest_fields(void **state)
{
	static const struct bad_case cases[] = {
		{"{\"mediaType\":\"" OCI_MT_MANIFEST "\"}", "schemaVersion: missing"},
		{"{\"schemaVersion\":\"2\"}", "schemaVersion: not a number"},
		{"{\"schemaVersion\":null}", "schemaVersion: missing"},
		{"{\"schemaVersion\":3}", "unsupported schemaVersion 3"},
		{"{\"schemaVersion\":2.5}", "unsupported schemaVersion"},
		{MANIFEST_WITH("\"mediaType\":7," CONFIG_OK ",\"layers\":[]"), "mediaType: not a string"},
		{MANIFEST_WITH("\"layers\":[]"), "invalid manifest: config: missing"},
		{MANIFEST_WITH("\"config\":null,\"layers\":[]"), "config: missing"},
		{MANIFEST_WITH("\"config\":[],\"layers\":[]"), "config: not an object"},
		{MANIFEST_WITH("\"config\":\"x\",\"layers\":[]"), "config: not an object"},
		{MANIFEST_WITH("\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]"),
		 "config.mediaType: missing"},
		{MANIFEST_WITH("\"config\":{\"mediaType\":1,\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]"),
		 "config.mediaType: not a string"},
		{MANIFEST_WITH("\"config\":{\"mediaType\":\"\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]"),
		 "config.mediaType: empty"},
		{MANIFEST_WITH("\"config\":{\"mediaType\":\"a\",\"size\":1},\"layers\":[]"),
		 "config.digest: missing"},
		{MANIFEST_WITH("\"config\":{\"mediaType\":\"a\",\"digest\":[],\"size\":1},\"layers\":[]"),
		 "config.digest: not a string"},
		{MANIFEST_WITH("\"config\":{\"mediaType\":\"a\",\"digest\":\"" D1 "\"},\"layers\":[]"),
		 "config.size: missing"},
		{MANIFEST_WITH("\"config\":{\"mediaType\":\"a\",\"digest\":\"" D1 "\",\"size\":\"1\"},\"layers\":[]"),
		 "config.size: not a number"},
		{MANIFEST_WITH("\"config\":{\"mediaType\":\"a\",\"digest\":\"" D1 "\",\"size\":true},\"layers\":[]"),
		 "config.size: not a number"},
		{MANIFEST_WITH(CONFIG_OK), "invalid manifest: layers: missing"},
		{MANIFEST_WITH(CONFIG_OK ",\"layers\":{}"), "layers: not an array"},
		{MANIFEST_WITH(CONFIG_OK ",\"layers\":\"x\""), "layers: not an array"},
		{MANIFEST_WITH(CONFIG_OK ",\"layers\":[\"" D2 "\"]"), "layers[0]: not an object"},
		{MANIFEST_WITH(CONFIG_OK ",\"layers\":[" LAYER("a", D2, "1") ",null]"),
		 "layers[1]: not an object"},
		{MANIFEST_WITH(CONFIG_OK ",\"layers\":[{\"mediaType\":\"a\",\"digest\":\"" D2 "\"}]"),
		 "layers[0].size: missing"},
		{MANIFEST_WITH(CONFIG_OK ",\"layers\":[" LAYER("a\\u001b[31m", D2, "1") "]"),
		 "layers[0].mediaType: contains control characters"},
		{MANIFEST_WITH(CONFIG_OK ",\"layers\":[" LAYER("a\\nb", D2, "1") "]"),
		 "control characters"},
		// cJSON keeps the first duplicate, Go the last: refuse to pick.
		{MANIFEST_WITH(CONFIG_OK ",\"layers\":[],\"layers\":[" LAYER("a", D2, "1") "]"),
		 "layers: duplicate key"},
		{MANIFEST_WITH(CONFIG_OK "," CONFIG_OK ",\"layers\":[]"), "config: duplicate key"},
		{"{\"schemaVersion\":2,\"schemaVersion\":1}", "schemaVersion: duplicate key"},
		{MANIFEST_WITH("\"config\":{\"mediaType\":\"a\",\"digest\":\"" D1 "\",\"digest\":\"" D2
			       "\",\"size\":1},\"layers\":[]"),
		 "config.digest: duplicate key"},
	};
	(void)state;
	run_bad(OCI_MT_MANIFEST, cases, sizeof(cases) / sizeof(cases[0]));
	// Without a Content-Type, cases 6 and 7 have no "config" and so no shape.
	run_bad(NULL, cases, 6);
	run_bad(NULL, cases + 8, sizeof(cases) / sizeof(cases[0]) - 8);
	expect_fail(NULL, MANIFEST_WITH("\"layers\":[]"), ERR_INTEGRITY, "no mediaType");
}

static void test_bad_digests(void **state)
{
	static const char *const bad[] = {
		"", "sha256:", "sha256:" H1 "1", "sha256:" "111", "SHA256:" H1,
		"sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"sha384:" H1, "sha512:" H1, H1, " sha256:" H1, "sha256:" H1 " ",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *layer = xasprintf(MANIFEST_WITH(CONFIG_OK ",\"layers\":[{\"mediaType\":\"a\","
							       "\"digest\":\"%s\",\"size\":1}]"),
					bad[i]);
		char *config = xasprintf(MANIFEST_WITH("\"config\":{\"mediaType\":\"a\","
							"\"digest\":\"%s\",\"size\":1},\"layers\":[]"),
					 bad[i]);
		char *entry = xasprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MT_MANIFEST
					"\",\"digest\":\"%s\",\"size\":1}]}",
					bad[i]);
		expect_fail(OCI_MT_MANIFEST, layer, ERR_INTEGRITY, "invalid manifest: layers[0].digest: ");
		expect_fail(NULL, config, ERR_INTEGRITY, "invalid manifest: config.digest: ");
		expect_fail(NULL, entry, ERR_INTEGRITY, "invalid index: manifests[0].digest: ");
		free(layer);
		free(config);
		free(entry);
	}
	// cJSON would cut the string at the NUL and see a valid digest.
	expect_fail(NULL,
		    MANIFEST_WITH(CONFIG_OK ",\"layers\":[" LAYER("a", D2 "\\u0000junk", "1") "]"),
		    ERR_INTEGRITY, "NUL character");
	expect_fail(NULL, MANIFEST_WITH(CONFIG_OK ",\"layers\":[],\"x\":\"\\U0000\""),
		    ERR_INTEGRITY, "not valid JSON");
	// An escaped backslash followed by "u0000" is just text.
	expect_ok(NULL, MANIFEST_WITH(CONFIG_OK ",\"layers\":[],\"x\":\"\\\\u0000\""),
		  OCI_KIND_MANIFEST, OCI_MT_MANIFEST);
}

static void test_sizes(void **state)
{
	static const char *const bad[] = {
		"-1", "-0.5", "1.5", "0.0001", "9007199254740992", "9007199254740993",
		"18446744073709551615", "18446744073709551616", "1e300", "-1e300", "1e400",
	};
	static const struct {
		const char *text;
		uint64_t value;
	} good[] = {
		{"0", 0},
		{"1", 1},
		{"9007199254740991", 9007199254740991ull},
		{"4294967296", 4294967296ull},
		{"1e3", 1000}, // JSON has one number type: an integral value is an integer
		{"2.0", 2},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *body = xasprintf(MANIFEST_WITH(CONFIG_OK ",\"layers\":[{\"mediaType\":\"a\","
							      "\"digest\":\"" D2 "\",\"size\":%s}]"),
				       bad[i]);
		expect_fail(NULL, body, ERR_INTEGRITY,
			    "layers[0].size: not an integer between 0 and 2^53");
		free(body);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct oci_manifest m;
		struct err e = {0};
		char *body = xasprintf(MANIFEST_WITH(CONFIG_OK ",\"layers\":[{\"mediaType\":\"a\","
							      "\"digest\":\"" D2 "\",\"size\":%s}]"),
				       good[i].text);
		if (parse(&m, NULL, body, &e) < 0)
			fail_msg("size %s rejected: %s", good[i].text, e.msg);
		assert_int_equal(m.layers[0].size, good[i].value);
		oci_manifest_release(&m);
		free(body);
	}
}

static void test_layers(void **state)
{
	struct oci_manifest m;
	struct err e = {0};
	(void)state;
	// An artifact or empty image: no layers is fine.
	assert_int_equal(parse(&m, OCI_MT_MANIFEST, MANIFEST_WITH(CONFIG_OK ",\"layers\":[]"), &e), 0);
	assert_int_equal(m.nlayers, 0);
	assert_null(m.layers);
	oci_manifest_release(&m);
	// Unknown layer types are kept for the puller to judge.
	assert_int_equal(parse(&m, NULL,
			       MANIFEST_WITH("\"config\":{\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\","
					     "\"digest\":\"" D1 "\",\"size\":2},"
					     "\"layers\":[" LAYER("application/vnd.example.thing", D2, "3") ","
					     LAYER("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", D3, "4") "]"),
			       &e),
			 0);
	assert_int_equal(m.nlayers, 2);
	assert_string_equal(m.config.media_type, "application/vnd.cncf.helm.config.v1+json");
	assert_string_equal(m.layers[0].media_type, "application/vnd.example.thing");
	assert_string_equal(m.layers[1].digest, D3);
	oci_manifest_release(&m);
}

// Builds a manifest with n layers or an index with n entries.
static char *build_many(bool index, size_t n)
{
	struct buf b;
	buf_init(&b, OCI_MANIFEST_MAX);
	buf_addstr(&b, index ? "{\"schemaVersion\":2,\"manifests\":["
			     : MANIFEST_WITH(CONFIG_OK ",\"layers\":["));
	// MANIFEST_WITH closes the object; drop that brace and reopen below.
	if (!index)
		b.data[--b.len] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addstr(&b, ",");
		buf_addstr(&b, index ? ENTRY(OCI_MT_MANIFEST, D1, PLAT("linux", "amd64"))
				     : LAYER(OCI_MT_LAYER_GZIP, D2, "1"));
	}
	buf_addstr(&b, "]}");
	assert_false(b.toobig);
	return buf_steal(&b);
}

static void test_caps(void **state)
{
	struct oci_manifest m;
	struct err e = {0};
	(void)state;

	char *body = build_many(false, 1024);
	assert_int_equal(parse(&m, NULL, body, &e), 0);
	assert_int_equal(m.nlayers, 1024);
	oci_manifest_release(&m);
	free(body);
	body = build_many(false, 1025);
	expect_fail(NULL, body, ERR_INTEGRITY, "layers: more than 1024 entries");
	free(body);

	body = build_many(true, 4096);
	assert_int_equal(parse(&m, NULL, body, &e), 0);
	assert_int_equal(m.nmanifests, 4096);
	oci_manifest_release(&m);
	free(body);
	body = build_many(true, 4097);
	expect_fail(NULL, body, ERR_INTEGRITY, "manifests: more than 4096 entries");
	free(body);

	// Over the size cap: refused before parsing, so content does not matter.
	size_t big = OCI_MANIFEST_MAX + 1;
	char *huge = xmalloc(big);
	memset(huge, ' ', big);
	huge[0] = '{';
	huge[big - 1] = '}';
	assert_int_equal(oci_manifest_parse(&m, NULL, huge, big, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_non_null(strstr(e.msg, "too large"));
	free(huge);

	// Within the size cap but a million tiny values: refused before cJSON
	// would build a tree far larger than the body.
	size_t n = 2000001;
	char *flat = xmalloc(n);
	flat[0] = '[';
	for (size_t i = 1; i + 1 < n; i += 2) {
		flat[i] = '0';
		flat[i + 1] = ',';
	}
	flat[n - 1] = ']';
	assert_int_equal(oci_manifest_parse(&m, NULL, flat, n, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_non_null(strstr(e.msg, "more than 100000 JSON values"));
	// Separators inside strings are not values.
	memset(flat, ',', n);
	memcpy(flat, "{\"a\":\"", 6);
	memcpy(flat + n - 2, "\"}", 2);
	assert_int_equal(oci_manifest_parse(&m, NULL, flat, n, &e), -1);
	assert_null(strstr(e.msg, "JSON values"));
	free(flat);

	assert_int_equal(oci_manifest_parse(&m, NULL, NULL, 0, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_int_equal(oci_manifest_parse(&m, OCI_MT_MANIFEST, "{}", 0, &e), -1);
	assert_non_null(strstr(e.msg, "empty manifest"));
}

static void test_truncated(void **state)
{
	static const char *const bodies[] = {OCI_MANIFEST_BODY, index_body};
	(void)state;
	for (size_t b = 0; b < 2; b++) {
		const char *body = bodies[b];
		size_t len = strlen(body);
		// Every proper prefix of the JSON (the trailing newline aside) is broken.
		size_t end = body[len - 1] == '\n' ? len - 1 : len;
		for (size_t n = 1; n < end; n++) {
			struct oci_manifest m;
			struct err e = {0};
			if (parse_len(&m, NULL, body, n, &e) == 0)
				fail_msg("accepted a %zu-byte prefix", n);
			assert_int_equal(e.cls, ERR_INTEGRITY);
			assert_null(m.media_type);
		}
	}
	expect_fail(NULL, "{\"schemaVersion\":2,", ERR_INTEGRITY, "not valid JSON");
	expect_fail(NULL, "{\"schemaVersion\":2", ERR_INTEGRITY, "not valid JSON");
	expect_fail(NULL, "{'schemaVersion':2}", ERR_INTEGRITY, "not valid JSON");
	expect_fail(NULL, "\xef\xbb", ERR_INTEGRITY, "not valid JSON");
	// Trailing whitespace is fine, trailing data is not.
	expect_ok(NULL, OCI_MANIFEST_BODY " \r\n\t", OCI_KIND_MANIFEST, OCI_MT_MANIFEST);
	expect_fail(NULL, OCI_MANIFEST_BODY "{}", ERR_INTEGRITY, "trailing data");
	expect_fail(NULL, OCI_MANIFEST_BODY "x", ERR_INTEGRITY, "trailing data");

	// Embedded NUL after a complete document: trailing data too.
	struct oci_manifest m;
	struct err e = {0};
	static const char nul[] = "{\"schemaVersion\":2,\"manifests\":[]}\0{}";
	assert_int_equal(parse_len(&m, NULL, nul, sizeof(nul) - 1, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
}

static void test_non_object(void **state)
{
	static const char *const bodies[] = {
		"[]", "[{\"schemaVersion\":2}]", "\"x\"", "42", "null", "true", "false",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		expect_fail(NULL, bodies[i], ERR_INTEGRITY, "not a JSON object");
		expect_fail(OCI_MT_INDEX, bodies[i], ERR_INTEGRITY, "not a JSON object");
	}
	expect_fail(NULL, "  ", ERR_INTEGRITY, "not valid JSON");
}

static void test_index_fields(void **state)
{
#define IDX(entries) "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":[" entries "]}"
	static const struct bad_case cases[] = {
		{"{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\"}",
		 "invalid index: manifests: missing"},
		{"{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":{}}",
		 "manifests: not an array"},
		{IDX("1"), "manifests[0]: not an object"},
		{IDX(ENTRY(OCI_MT_MANIFEST, D1, "") ",[]"), "manifests[1]: not an object"},
		{IDX("{\"digest\":\"" D1 "\",\"size\":1}"), "manifests[0].mediaType: missing"},
		{IDX("{\"mediaType\":null,\"digest\":\"" D1 "\",\"size\":1}"),
		 "manifests[0].mediaType: missing"},
		{IDX("{\"mediaType\":5}"), "manifests[0].mediaType: not a string"},
		{IDX("{\"mediaType\":\"" OCI_MT_MANIFEST "\",\"digest\":\"" D1 "\"}"),
		 "manifests[0].size: missing"},
		{IDX(ENTRY(OCI_MT_MANIFEST, D1, ",\"platform\":\"linux/amd64\"")),
		 "manifests[0].platform: not an object"},
		{IDX(ENTRY(OCI_MT_MANIFEST, D1, ",\"platform\":{\"architecture\":\"amd64\"}")),
		 "manifests[0].platform.os: missing"},
		{IDX(ENTRY(OCI_MT_MANIFEST, D1, ",\"platform\":{\"os\":\"linux\"}")),
		 "manifests[0].platform.architecture: missing"},
		{IDX(ENTRY(OCI_MT_MANIFEST, D1, ",\"platform\":{\"os\":\"linux\",\"architecture\":64}")),
		 "manifests[0].platform.architecture: not a string"},
		{IDX(ENTRY(OCI_MT_MANIFEST, D1,
			   ",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":7}")),
		 "manifests[0].platform.variant: not a string"},
		{IDX(ENTRY(OCI_MT_MANIFEST, D1,
			   ",\"platform\":{\"os\":\"li\\u0007nux\",\"architecture\":\"arm\"}")),
		 "manifests[0].platform.os: contains control characters"},
		{IDX(ENTRY(OCI_MT_MANIFEST, D1, PLAT("linux", "amd64") PLAT("linux", "arm64"))),
		 "manifests[0].platform: duplicate key"},
		{IDX(ENTRY(OCI_MT_MANIFEST, D1, "") "," ENTRY(DOCKER_MT_MANIFEST, D2, ",\"size\":-1")),
		 "manifests[1].size: duplicate key"},
	};
	struct oci_manifest m;
	struct err e = {0};
	(void)state;
	run_bad(NULL, cases, sizeof(cases) / sizeof(cases[0]));
	run_bad(OCI_MT_INDEX, cases, sizeof(cases) / sizeof(cases[0]));

	// Unknown entries are not checked beyond their mediaType.
	assert_int_equal(parse(&m, NULL,
			       IDX("{\"mediaType\":\"application/vnd.in-toto+json\",\"digest\":null}," ENTRY(
				       OCI_MT_MANIFEST, D1,
				       ",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\",\"variant\":null}")),
			       &e),
			 0);
	assert_int_equal(m.nmanifests, 1);
	assert_null(m.manifests[0].platform.variant);
	oci_manifest_release(&m);
	// Only unknown entries, or none at all: an empty but valid index.
	assert_int_equal(parse(&m, NULL, IDX("{\"mediaType\":\"x/y\"}"), &e), 0);
	assert_int_equal(m.kind, OCI_KIND_INDEX);
	assert_int_equal(m.nmanifests, 0);
	oci_manifest_release(&m);
	assert_int_equal(parse(&m, NULL, IDX(""), &e), 0);
	assert_int_equal(m.nmanifests, 0);
	assert_null(m.manifests);
	oci_manifest_release(&m);
	// platform: null is no platform.
	assert_int_equal(parse(&m, NULL, IDX(ENTRY(OCI_MT_MANIFEST, D1, ",\"platform\":null")), &e), 0);
	assert_false(m.manifests[0].has_platform);
	oci_manifest_release(&m);
#undef IDX
}

// Artifacts: artifactType, a config that is not an image config, and the
// title annotation that names an artifact's file.
static void test_artifact(void **state)
{
	(void)state;
	struct oci_manifest m;
	struct err e;
	const char *art = MANIFEST_WITH("\"artifactType\":\"application/vnd.example.model\","
					"\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"" D1
					"\",\"size\":2},\"layers\":[{\"mediaType\":\"application/vnd.example.weights\","
					"\"digest\":\"" D2 "\",\"size\":9,\"annotations\":{\"org.opencontainers.image.title\":"
					"\"model/w.bin\",\"other\":\"x\"}}]");
	assert_int_equal(oci_manifest_parse(&m, OCI_MT_MANIFEST, art, strlen(art), &e), 0);
	assert_string_equal(m.artifact_type, "application/vnd.example.model");
	assert_string_equal(m.layers[0].title, "model/w.bin");
	assert_true(oci_manifest_is_artifact(&m));
	oci_manifest_release(&m);
	const char *img = MANIFEST_WITH(CONFIG_OK ",\"layers\":[]");
	assert_int_equal(oci_manifest_parse(&m, OCI_MT_MANIFEST, img, strlen(img), &e), 0);
	assert_false(oci_manifest_is_artifact(&m));
	assert_null(m.artifact_type);
	oci_manifest_release(&m);
	static const char *const bad[] = {
		MANIFEST_WITH("\"artifactType\":\"\"," CONFIG_OK ",\"layers\":[]"),
		MANIFEST_WITH("\"artifactType\":7," CONFIG_OK ",\"layers\":[]"),
		MANIFEST_WITH(CONFIG_OK ",\"layers\":[{\"mediaType\":\"a\",\"digest\":\"" D2
			      "\",\"size\":1,\"annotations\":[]}]"),
		MANIFEST_WITH(CONFIG_OK ",\"layers\":[{\"mediaType\":\"a\",\"digest\":\"" D2
			      "\",\"size\":1,\"annotations\":{\"org.opencontainers.image.title\":1}}]"),
		MANIFEST_WITH(CONFIG_OK ",\"layers\":[{\"mediaType\":\"a\",\"digest\":\"" D2
			      "\",\"size\":1,\"annotations\":{\"org.opencontainers.image.title\":\"a\\nb\"}}]"),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (oci_manifest_parse(&m, OCI_MT_MANIFEST, bad[i], strlen(bad[i]), &e) == 0)
			fail_msg("accepted %zu: %s", i, bad[i]);
		assert_int_equal(e.cls, ERR_INTEGRITY);
	}
}

// An image config's rootfs.diff_ids (for --unpack).
static void test_config_diff_ids(void **state)
{
	(void)state;
	struct err e;
	char **ids;
	size_t n;
	const char *good = "{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" H1
			   "\",\"sha512:" H1 H1 "\"]}}";
	assert_int_equal(oci_config_diff_ids(good, strlen(good), &ids, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], "sha256:" H1);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	const char *empty = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
	assert_int_equal(oci_config_diff_ids(empty, strlen(empty), &ids, &n, &e), 0);
	assert_int_equal(n, 0);
	static const char *const bad[] = {
		"", "[]", "{}", "{\"rootfs\":null}",
		"{\"rootfs\":{\"type\":\"tar\",\"diff_ids\":[]}}",
		"{\"rootfs\":{\"type\":\"layers\"}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":\"sha256:" H1 "\"}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" H1 "\",1]}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"md5:00\"]}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}} trailing",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ids = (char **)1;
		n = 99;
		if (oci_config_diff_ids(bad[i], strlen(bad[i]), &ids, &n, &e) == 0)
			fail_msg("accepted config %zu: %s", i, bad[i]);
		assert_null(ids);
		assert_int_equal(n, 0);
		assert_int_equal(e.cls, ERR_INTEGRITY);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oci_manifest),
		cmocka_unit_test(test_docker_schema2),
		cmocka_unit_test(test_oci_index),
		cmocka_unit_test(test_docker_list),
		cmocka_unit_test(test_generic_content_type),
		cmocka_unit_test(test_content_type_parameters),
		cmocka_unit_test(test_media_type_mismatch),
		cmocka_unit_test(test_schema1),
		cmocka_unit_test(test_unsupported_type),
		cmocka_unit_test(test_manifest_fields),
		cmocka_unit_test(test_bad_digests),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_layers),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_non_object),
		cmocka_unit_test(test_index_fields),
		cmocka_unit_test(test_config_diff_ids),
		cmocka_unit_test(test_artifact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
