// SPDX-License-Identifier: Apache-2.0
// unpack/model: which manifests are model packages, and where each layer of a
// ModelPack artifact or a KitOps ModelKit goes, from untrusted manifests and
// configs; the Kitfile written as YAML.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oci/manifest.h"
#include "unpack/model.h"
#include "util/err.h"
#include "util/mem.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define D9 "sha256:9999999999999999999999999999999999999999999999999999999999999999"
#define MP "application/vnd.cncf.model."
#define KIT "application/vnd.kitops.modelkit."

// A manifest: artifactType AT (or none), config media type CT, and layers
// (a JSON array's contents).
static void manifest(struct oci_manifest *m, const char *at, const char *ct, const char *layers)
{
	char *body = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\",%s%s%s"
			       "\"config\":{\"mediaType\":\"%s\",\"digest\":\"" D9 "\",\"size\":2},\"layers\":[%s]}",
			       at ? "\"artifactType\":\"" : "", at ? at : "", at ? "\"," : "", ct, layers);
	struct err e;
	int r = oci_manifest_parse(m, OCI_MT_MANIFEST, body, strlen(body), &e);
	if (r < 0)
		fprintf(stderr, "%s\n%s\n", body, e.msg);
	free(body);
	assert_int_equal(r, 0);
}

static void mp_manifest(struct oci_manifest *m, const char *layers)
{
	manifest(m, "application/vnd.cncf.model.manifest.v1+json", "application/vnd.cncf.model.config.v1+json", layers);
}

static void kit_manifest(struct oci_manifest *m, const char *layers)
{
	manifest(m, NULL, "application/vnd.kitops.modelkit.config.v1+json", layers);
}

static int plan(const struct oci_manifest *m, const char *cfg, struct unpack_model_plan *p, struct err *e)
{
	return unpack_model_plan(m, cfg, strlen(cfg), p, e);
}

#define LAYER(mt, d, path) "{\"mediaType\":\"" mt "\",\"digest\":\"" d "\",\"size\":5" path "}"
#define FP(p) ",\"annotations\":{\"org.cncf.model.filepath\":\"" p "\"}"

static void test_kind(void **state)
{
	(void)state;
	struct oci_manifest m;
	mp_manifest(&m, "");
	assert_int_equal(unpack_model_kind(&m), UNPACK_MODEL_MODELPACK);
	oci_manifest_release(&m);
	manifest(&m, NULL, "application/vnd.cncf.model.config.v1+json", ""); // no artifactType: the config says
	assert_int_equal(unpack_model_kind(&m), UNPACK_MODEL_MODELPACK);
	oci_manifest_release(&m);
	kit_manifest(&m, "");
	assert_int_equal(unpack_model_kind(&m), UNPACK_MODEL_KITOPS);
	oci_manifest_release(&m);
	manifest(&m, "application/vnd.example.model", "application/vnd.oci.empty.v1+json", ""); // ORAS
	assert_int_equal(unpack_model_kind(&m), UNPACK_MODEL_NONE);
	oci_manifest_release(&m);
	manifest(&m, NULL, OCI_MT_CONFIG, "");
	assert_int_equal(unpack_model_kind(&m), UNPACK_MODEL_NONE);
	oci_manifest_release(&m);
}

static void test_modelpack(void **state)
{
	(void)state;
	struct oci_manifest m;
	mp_manifest(&m, LAYER(MP "weight.v1.raw", D1, FP("model.safetensors")) "," LAYER(
				MP "weight.config.v1.tar+gzip", D2, FP("./tok/tokenizer.json")) "," LAYER(MP "doc.v1.tar+zstd", D3,
											       "") "," LAYER(MP "dataset.v1.tar", D1,
													     FP("data")));
	const char *cfg = "{\"descriptor\":{},\"modelfs\":{\"type\":\"layers\",\"diffIds\":[\"" D1 "\",\"" D9
			  "\",\"" D9 "\",\"" D1 "\"]}}";
	struct unpack_model_plan p;
	struct err e;
	assert_int_equal(plan(&m, cfg, &p, &e), 0);
	assert_int_equal(p.nlayers, 4);
	assert_true(p.layers[0].raw);
	assert_string_equal(p.layers[0].path, "model.safetensors");
	assert_null(p.layers[0].diff_id);
	assert_false(p.layers[1].raw);
	assert_int_equal(p.layers[1].c, UNPACK_GZIP);
	assert_string_equal(p.layers[1].path, ""); // a tar holds its names: extracted at the top
	assert_string_equal(p.layers[1].label, "tok/tokenizer.json");
	assert_string_equal(p.layers[1].diff_id, D9);
	assert_int_equal(p.layers[2].c, UNPACK_ZSTD);
	assert_null(p.layers[2].label);
	assert_int_equal(p.layers[3].c, UNPACK_TAR);
	assert_null(p.layers[3].diff_id); // modctl's diffIds are the blob digests: the blob's check suffices
	assert_string_equal(p.config_name, ".imgpull-model-config.json");
	assert_int_equal(p.config_len, strlen(cfg));
	assert_memory_equal(p.config_text, cfg, strlen(cfg));
	unpack_model_plan_release(&p);
	// No modelfs: no diff_id checks.
	assert_int_equal(plan(&m, "{}", &p, &e), 0);
	assert_null(p.layers[1].diff_id);
	unpack_model_plan_release(&p);
	// A diffIds list of another length, a bad digest, a config that is not an object.
	static const char *const bad[] = {"{\"modelfs\":{\"diffIds\":[\"" D1 "\"]}}",
					  "{\"modelfs\":{\"diffIds\":[1,2,3,4]}}",
					  "{\"modelfs\":{\"diffIds\":[\"sha256:x\",\"" D1 "\",\"" D1 "\",\"" D1 "\"]}}",
					  "{\"modelfs\":[]}", "[]", "{", "null"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(plan(&m, bad[i], &p, &e), -1);
		assert_int_equal(e.cls, ERR_INTEGRITY);
		assert_null(p.layers);
	}
	oci_manifest_release(&m);
}

// One-layer ModelPack manifests that must be refused, and with what class.
static void test_modelpack_refused(void **state)
{
	(void)state;
	static const struct {
		const char *layers;
		enum err_class cls;
		const char *msg;
	} cases[] = {
		{LAYER(MP "weight.v1.raw", D1, FP("../w")), ERR_INTEGRITY, "'../w' refused"},
		{LAYER(MP "weight.v1.raw", D1, FP("/etc/w")), ERR_INTEGRITY, "'/etc/w' refused"},
		{LAYER(MP "weight.v1.raw", D1, FP("a/../../w")), ERR_INTEGRITY, "refused"},
		{LAYER(MP "weight.v1.raw", D1, FP(".")), ERR_INTEGRITY, "refused"},
		{LAYER(MP "weight.v1.raw", D1, FP(".imgpull-unpacked")), ERR_INTEGRITY, "refused"},
		{LAYER(MP "weight.v1.tar", D1, FP("../t")), ERR_INTEGRITY, "refused"},
		{LAYER(MP "weight.v1.raw", D1, ""), ERR_INTEGRITY, "without org.cncf.model.filepath"},
		{LAYER(MP "weight.v1.raw", D1, FP("w")) "," LAYER(MP "code.v1.raw", D2, FP("./w")), ERR_INTEGRITY,
		 "same path 'w'"},
		{LAYER(MP "weight.v1.tar", D1, FP("w")) "," LAYER(MP "code.v1.raw", D2, FP("w")), ERR_INTEGRITY,
		 "same path"},
		{LAYER(MP "weight.v1.tar+bzip2", D1, FP("w")), ERR_USAGE, "not a ModelPack layer"},
		{LAYER(MP "weights.v1.raw", D1, FP("w")), ERR_USAGE, "not a ModelPack layer"},
		{LAYER(MP "weight.v2.raw", D1, FP("w")), ERR_USAGE, "not a ModelPack layer"},
		{LAYER(OCI_MT_LAYER_GZIP, D1, FP("w")), ERR_USAGE, "not a ModelPack layer"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct oci_manifest m;
		mp_manifest(&m, cases[i].layers);
		struct unpack_model_plan p;
		struct err e;
		assert_int_equal(plan(&m, "{}", &p, &e), -1);
		if (e.cls != cases[i].cls || !strstr(e.msg, cases[i].msg))
			fail_msg("case %zu: %s", i, e.msg);
		oci_manifest_release(&m);
	}
}

#define KCFG(entries) "{\"manifestVersion\":\"1.0\"," entries "}"

static void test_kitops(void **state)
{
	(void)state;
	struct oci_manifest m;
	kit_manifest(&m, LAYER(KIT "model.v1.tar+gzip", D1, "") "," LAYER(KIT "code.v1.tar", D2, "") "," LAYER(
				 KIT "docs.v1.tar", D3, "") "," LAYER(KIT "modelpart.v1.tar+zstd", D9, ""));
	const char *cfg =
		KCFG("\"package\":{\"name\":\"t\",\"authors\":[\"a\",\"b\"]},"
		     "\"model\":{\"name\":\"m\",\"path\":\"models/m.gguf\",\"digest\":\"" D1 "\",\"diffId\":\"" D2 "\","
		     "\"parameters\":{\"t\":0.5,\"l\":[],\"o\":{}},\"parts\":[{\"path\":\"models/p.bin\",\"digest\":\"" D9
		     "\"}]},"
		     "\"code\":[{\"path\":\"src\"}],"
		     "\"docs\":[{\"path\":\"./README.md\",\"digest\":\"" D3 "\",\"diffId\":\"" D1 "\"}]");
	struct unpack_model_plan p;
	struct err e;
	assert_int_equal(plan(&m, cfg, &p, &e), 0);
	assert_string_equal(p.layers[0].path, "");
	assert_string_equal(p.layers[0].label, "models/m.gguf");
	assert_string_equal(p.layers[0].diff_id, D2);
	assert_int_equal(p.layers[0].c, UNPACK_GZIP);
	assert_string_equal(p.layers[1].path, ""); // no digest: an older ModelKit, under its path's directory (".")
	assert_null(p.layers[1].diff_id);
	assert_string_equal(p.layers[2].path, "");
	assert_string_equal(p.layers[2].label, "README.md");
	assert_int_equal(p.layers[3].c, UNPACK_ZSTD);
	assert_string_equal(p.layers[3].label, "models/p.bin");
	assert_null(p.layers[3].diff_id);
	assert_string_equal(p.config_name, "Kitfile");
	assert_string_equal(p.config_text, "manifestVersion: \"1.0\"\n"
					   "package:\n"
					   "  name: \"t\"\n"
					   "  authors:\n"
					   "    - \"a\"\n"
					   "    - \"b\"\n"
					   "model:\n"
					   "  name: \"m\"\n"
					   "  path: \"models/m.gguf\"\n"
					   "  parameters:\n"
					   "    t: 0.5\n"
					   "    l: []\n"
					   "    o: {}\n"
					   "  parts:\n"
					   "    - path: \"models/p.bin\"\n"
					   "code:\n"
					   "  - path: \"src\"\n"
					   "docs:\n"
					   "  - path: \"./README.md\"\n");
	unpack_model_plan_release(&p);
	oci_manifest_release(&m);
	// An older ModelKit's path at the top: extracted at the top.
	kit_manifest(&m, LAYER(KIT "model.v1.tar", D1, ""));
	assert_int_equal(plan(&m, KCFG("\"model\":{\"path\":\"m.gguf\"}"), &p, &e), 0);
	assert_string_equal(p.layers[0].path, "");
	unpack_model_plan_release(&p);
	oci_manifest_release(&m);
}

static void test_kitops_refused(void **state)
{
	(void)state;
	static const struct {
		const char *layers, *cfg;
		enum err_class cls;
		const char *msg;
	} cases[] = {
		{LAYER(KIT "model.v1.tar", D1, ""), KCFG("\"model\":{\"path\":\"../m\"}"), ERR_INTEGRITY,
		 "Kitfile path '../m' refused"},
		{LAYER(KIT "model.v1.tar", D1, ""), KCFG("\"model\":{\"path\":\"/m\",\"digest\":\"" D1 "\"}"),
		 ERR_INTEGRITY, "'/m' refused"},
		{LAYER(KIT "model.v1.tar", D1, ""), KCFG("\"model\":{\"path\":\"m\",\"digest\":\"" D2 "\"}"),
		 ERR_INTEGRITY, "the Kitfile says digest"},
		{LAYER(KIT "model.v1.tar", D1, ""), KCFG("\"model\":{\"path\":\"m\",\"diffId\":\"x\"}"), ERR_INTEGRITY,
		 "not a digest"},
		{LAYER(KIT "model.v1.tar", D1, ""), KCFG("\"model\":{\"path\":7}"), ERR_INTEGRITY, "not a string"},
		{LAYER(KIT "model.v1.tar", D1, ""), KCFG("\"model\":{}"), ERR_INTEGRITY, "neither a digest nor a path"},
		{LAYER(KIT "model.v1.tar", D1, ""), KCFG("\"code\":[]"), ERR_INTEGRITY, "no model entry"},
		{LAYER(KIT "code.v1.tar", D1, "") "," LAYER(KIT "code.v1.tar", D2, ""), KCFG("\"code\":[{\"path\":\"s\"}]"),
		 ERR_INTEGRITY, "no code entry"},
		{LAYER(KIT "modelpart.v1.tar", D1, ""), KCFG("\"model\":{\"parts\":{}}"), ERR_INTEGRITY,
		 "no parts entry"},
		{LAYER(KIT "code.v1.tar", D1, "") "," LAYER(KIT "docs.v1.tar", D2, ""),
		 KCFG("\"code\":[{\"path\":\"a/b\"}],\"docs\":[{\"path\":\"a//b/\"}]"), ERR_INTEGRITY, "same path 'a/b'"},
		{LAYER(KIT "model.v1.raw", D1, ""), KCFG("\"model\":{\"path\":\"m\"}"), ERR_USAGE, "not a ModelKit layer"},
		{LAYER(KIT "weights.v1.tar", D1, ""), KCFG("\"model\":{\"path\":\"m\"}"), ERR_USAGE,
		 "not a ModelKit layer"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct oci_manifest m;
		kit_manifest(&m, cases[i].layers);
		struct unpack_model_plan p;
		struct err e;
		assert_int_equal(plan(&m, cases[i].cfg, &p, &e), -1);
		if (e.cls != cases[i].cls || !strstr(e.msg, cases[i].msg))
			fail_msg("case %zu: %s", i, e.msg);
		oci_manifest_release(&m);
	}
}

// The Kitfile's YAML: quoted keys and strings where needed, nesting capped.
static void test_kitfile_yaml(void **state)
{
	(void)state;
	struct oci_manifest m;
	kit_manifest(&m, "");
	struct unpack_model_plan p;
	struct err e;
	assert_int_equal(plan(&m, "{\"a b\":\"x\\ny\\\"\",\"-k\":true,\"n\":null,\"l\":[[1],{\"k\":[]},{}]}", &p, &e), 0);
	assert_string_equal(p.config_text, "\"a b\": \"x\\ny\\\"\"\n"
					   "\"-k\": true\n"
					   "n: null\n"
					   "l:\n"
					   "  -\n"
					   "    - 1\n"
					   "  - k: []\n"
					   "  - {}\n");
	unpack_model_plan_release(&p);
	char deep[400] = "{\"a\":";
	for (int i = 0; i < 100; i++)
		strcat(deep, "[");
	for (int i = 0; i < 100; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	assert_int_equal(plan(&m, deep, &p, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	oci_manifest_release(&m);
}

static void test_rfc3339(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int64_t sec;
		long nsec;
	} good[] = {
		{"1970-01-01T00:00:00Z", 0, 0},
		{"2024-05-06T07:08:09.5+02:00", 1714972089, 500000000},
		{"2024-05-06T05:08:09.123456789Z", 1714972089, 123456789},
		{"2024-05-06T05:08:09.1234567891Z", 1714972089, 123456789},
		{"2024-05-05T23:08:09-06:00", 1714972089, 0},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t sec;
		long nsec;
		if (unpack_model_rfc3339(good[i].s, &sec, &nsec) < 0 || sec != good[i].sec || nsec != good[i].nsec)
			fail_msg("'%s'", good[i].s);
	}
	static const char *const bad[] = {"", "2024-05-06", "2024-05-06T05:08:09", "2024-05-06 05:08:09Z",
					  "2024-13-06T05:08:09Z", "2024-05-06T25:08:09Z", "2024-05-06T05:08:09.Z",
					  "2024-05-06T05:08:09+2:00", "2024-05-06T05:08:09+02:0x", "2024-05-06T05:08:09Zx",
					  "2024-05-06T05:08:09+0200"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t sec;
		long nsec;
		if (unpack_model_rfc3339(bad[i], &sec, &nsec) == 0)
			fail_msg("'%s' accepted", bad[i]);
	}
}

#define META(j) ",\"org.cncf.model.file.metadata+json\":\"" j "\""
#define FPM(p, j) ",\"annotations\":{\"org.cncf.model.filepath\":\"" p "\"" META(j) "}"

// A raw layer's file metadata: mode's permission bits and mtime, as modctl
// restores them; Go's zero time and mode 0 mean none; malformed: refused.
static void test_file_metadata(void **state)
{
	(void)state;
	struct oci_manifest m;
	mp_manifest(&m, LAYER(MP "code.v1.raw", D1, FPM("a", "{\\\"mode\\\":35309,\\\"mtime\\\":\\\"1970-01-01T00:01:00.25Z\\\"}")) "," LAYER(
				MP "code.v1.raw", D2, FPM("b", "{\\\"mode\\\":0,\\\"mtime\\\":\\\"0001-01-01T00:00:00Z\\\"}")));
	struct unpack_model_plan p;
	struct err e;
	assert_int_equal(plan(&m, "{}", &p, &e), 0);
	assert_int_equal(p.layers[0].mode, 0755); // 35309 = 0104755: the permission bits only
	assert_true(p.layers[0].has_mtime);
	assert_int_equal(p.layers[0].mtime_sec, 60);
	assert_int_equal(p.layers[0].mtime_nsec, 250000000);
	assert_int_equal(p.layers[1].mode, 0);
	assert_false(p.layers[1].has_mtime);
	unpack_model_plan_release(&p);
	oci_manifest_release(&m);
	static const char *const bad[] = {
		LAYER(MP "code.v1.raw", D1, FPM("a", "{\\\"mode\\\":\\\"755\\\"}")),
		LAYER(MP "code.v1.raw", D1, FPM("a", "{\\\"mode\\\":-1}")),
		LAYER(MP "code.v1.raw", D1, FPM("a", "{\\\"mtime\\\":\\\"yesterday\\\"}")),
		LAYER(MP "code.v1.raw", D1, FPM("a", "[]")),
		LAYER(MP "code.v1.raw", D1, FPM("a", "{")),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mp_manifest(&m, bad[i]);
		assert_int_equal(plan(&m, "{}", &p, &e), -1);
		if (e.cls != ERR_INTEGRITY || !strstr(e.msg, "metadata+json is malformed"))
			fail_msg("case %zu: %s", i, e.msg);
		oci_manifest_release(&m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind),
		cmocka_unit_test(test_modelpack),
		cmocka_unit_test(test_modelpack_refused),
		cmocka_unit_test(test_kitops),
		cmocka_unit_test(test_kitops_refused),
		cmocka_unit_test(test_kitfile_yaml),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_file_metadata),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
