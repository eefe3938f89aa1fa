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
#define CNAI "application/vnd.cnai.model."
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

// The older ModelPack form (model-spec v0.0.1 to v0.0.6).
static void cnai_manifest(struct oci_manifest *m, const char *layers)
{
	manifest(m, CNAI "manifest.v1+json", CNAI "config.v1+json", layers);
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
#define FPC(p) ",\"annotations\":{\"org.cnai.model.filepath\":\"" p "\"}"

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
	cnai_manifest(&m, "");
	assert_int_equal(unpack_model_kind(&m), UNPACK_MODEL_MODELPACK_CNAI);
	oci_manifest_release(&m);
	manifest(&m, NULL, CNAI "config.v1+json", ""); // the older form's config alone
	assert_int_equal(unpack_model_kind(&m), UNPACK_MODEL_MODELPACK_CNAI);
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

// The older ModelPack form: application/vnd.cnai.model.* media types,
// org.cnai.model.* annotations, modelfs.diff_ids; placed as the current form.
static void test_modelpack_cnai(void **state)
{
	(void)state;
	struct oci_manifest m;
	cnai_manifest(&m, LAYER(CNAI "weight.v1.raw", D1, FPC("model.safetensors")) "," LAYER(
				  CNAI "weight.config.v1.tar+gzip", D2, FPC("tok/tokenizer.json")) "," LAYER(CNAI "doc.v1.tar+zstd", D3,
												   FPC("README.md")) "," LAYER(CNAI "dataset.v1.tar", D1,
															  FP("data")));
	const char *cfg = "{\"descriptor\":{},\"modelfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D9 "\",\"" D9
			  "\",\"" D1 "\"]}}";
	struct unpack_model_plan p;
	struct err e;
	assert_int_equal(plan(&m, cfg, &p, &e), 0);
	assert_true(p.layers[0].raw);
	assert_string_equal(p.layers[0].path, "model.safetensors");
	assert_int_equal(p.layers[1].c, UNPACK_GZIP);
	assert_string_equal(p.layers[1].path, "");
	assert_string_equal(p.layers[1].label, "tok/tokenizer.json");
	assert_string_equal(p.layers[1].diff_id, D9); // diff_ids: the older config's key
	assert_int_equal(p.layers[2].c, UNPACK_ZSTD);
	assert_string_equal(p.layers[2].diff_id, D9);
	assert_string_equal(p.layers[3].label, "data"); // the current annotation is read too, as modctl reads it
	assert_null(p.layers[3].diff_id);
	assert_string_equal(p.config_name, ".imgpull-model-config.json");
	assert_memory_equal(p.config_text, cfg, strlen(cfg));
	unpack_model_plan_release(&p);
	// The current form's key is not the older form's (v0.0.1 to v0.0.6: diff_ids).
	assert_int_equal(plan(&m, "{\"modelfs\":{\"diffIds\":[\"" D1 "\",\"" D9 "\",\"" D9 "\",\"" D1 "\"]}}", &p, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_non_null(strstr(e.msg, "modelfs.diff_ids is not an array"));
	assert_int_equal(plan(&m, "{}", &p, &e), 0); // no modelfs: no checks
	assert_null(p.layers[1].diff_id);
	unpack_model_plan_release(&p);
	assert_int_equal(plan(&m, "{\"modelfs\":{\"diff_ids\":[\"" D1 "\"]}}", &p, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_non_null(strstr(e.msg, "modelfs.diff_ids names 1 layers, the manifest 4"));
	oci_manifest_release(&m);
	// Both annotations: the current one wins (modctl's order).
	cnai_manifest(&m, LAYER(CNAI "code.v1.raw", D1,
				",\"annotations\":{\"org.cnai.model.filepath\":\"old.py\",\"org.cncf.model.filepath\":\"new.py\"}"));
	assert_int_equal(plan(&m, "{}", &p, &e), 0);
	assert_string_equal(p.layers[0].path, "new.py");
	unpack_model_plan_release(&p);
	oci_manifest_release(&m);
}

// Older-form ModelPack manifests that must be refused, and with what class.
static void test_modelpack_cnai_refused(void **state)
{
	(void)state;
	static const struct {
		const char *layers;
		enum err_class cls;
		const char *msg;
	} cases[] = {
		{LAYER(CNAI "weight.v1.raw", D1, FPC("../w")), ERR_INTEGRITY, "org.cnai.model.filepath '../w' refused"},
		{LAYER(CNAI "weight.v1.raw", D1, FPC("/etc/w")), ERR_INTEGRITY, "'/etc/w' refused"},
		{LAYER(CNAI "weight.v1.tar", D1, FPC("a/../../t")), ERR_INTEGRITY, "refused"},
		{LAYER(CNAI "weight.v1.raw", D1, FPC(".imgpull-model-config.json")), ERR_INTEGRITY, "refused"},
		{LAYER(CNAI "weight.v1.raw", D1, ""), ERR_INTEGRITY, "a raw layer without org.cnai.model.filepath"},
		{LAYER(CNAI "weight.v1.raw", D1, FPC("w")) "," LAYER(CNAI "doc.v1.raw", D2, FPC("./w")), ERR_INTEGRITY,
		 "model layers 1 and 2 have the same path 'w'"},
		{LAYER(CNAI "weight.v1.raw", D1, FPC("w")) "," LAYER(CNAI "doc.v1.tar", D2, FP("w")), ERR_INTEGRITY,
		 "same path 'w'"},
		{LAYER(CNAI "code.v1.raw", D1,
		       ",\"annotations\":{\"org.cnai.model.filepath\":\"a\",\"org.cnai.model.file.metadata+json\":\"[]\"}"),
		 ERR_INTEGRITY, "org.cnai.model.file.metadata+json is malformed"},
		{LAYER(MP "weight.v1.raw", D1, FPC("w")), ERR_USAGE, "not a ModelPack layer"}, // one form's layers only
		{LAYER(CNAI "layer.v1.tar", D1, FPC("w")), ERR_USAGE, "not a ModelPack layer"}, // untagged drafts' type
		{LAYER(CNAI "weight.v1.tar+bzip2", D1, FPC("w")), ERR_USAGE, "not a ModelPack layer"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct oci_manifest m;
		cnai_manifest(&m, cases[i].layers);
		struct unpack_model_plan p;
		struct err e;
		assert_int_equal(plan(&m, "{}", &p, &e), -1);
		if (e.cls != cases[i].cls || !strstr(e.msg, cases[i].msg))
			fail_msg("case %zu: %s", i, e.msg);
		oci_manifest_release(&m);
	}
	// The current form does not take the older form's layers.
	struct oci_manifest m;
	mp_manifest(&m, LAYER(CNAI "weight.v1.raw", D1, FPC("w")));
	struct unpack_model_plan p;
	struct err e;
	assert_int_equal(plan(&m, "{}", &p, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	oci_manifest_release(&m);
}

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// Which model.path strings kit takes for a ModelKit reference (its parent).
static void test_kit_reference(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool ref;
	} cases[] = {
		{"registry.example.com/org/model:v1", true},
		{"127.0.0.1:5000/models/parent:v1", true},
		{"localhost:5000/repo", true}, // a registry's port: no tag, "latest"
		{"[::1]:5000/m:1", true},
		{"org/model:latest", true}, // "org" is no registry: localhost/org/model
		{"model:v1.0", true},
		{"models/m:1.gguf", true}, // kit reads it so too
		{"jozu.ml/jozu/llama3:8B-instruct-q4_0", true},
		{"r.io/m@sha256:" HEX64, true},
		{"r.io/m:v1@sha256:" HEX64, true},
		{"sha256:" HEX64, true},
		{"m:v1,v2,v3", true}, // extra tags
		{"r.io/a__b.c-d---e/f_g:1", true},
		{"sha256:abc", true}, // localhost/sha256, tag abc
		{"models/m.gguf", false}, // no ':' or '@'
		{"", false},
		{"Models/M:1", false}, // not lower case
		{"r.io/m:", false},
		{"r.io/m@sha256:abc", false},
		{"r.io/m@md5:" HEX64, false},
		{"a:b/c", false}, // a port that is not a number
		{"r.io:5000x/m:1", false},
		{"r.io/-m:1", false},
		{"r.io/m-:1", false},
		{"r.io/a..b:1", false},
		{"r.io/a___b:1", false},
		{"r.io/a//b:1", false},
		{"r.io/a/:1", false},
		{"user@r.io/m:1", false},
		{"r io/m:1", false},
		{"data/x y:1", false},
		{"r.io/m:.x", false},
		{"r.io/m:x/y", false},
		{"[::1/m:1", false},
		{"m:" HEX64 HEX64 "x", false}, // a tag of 129 characters
		{"m:" HEX64 HEX64, true},      // and of 128
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (unpack_model_kit_reference(cases[i].s) != cases[i].ref)
			fail_msg("'%s': %s", cases[i].s, cases[i].ref ? "not taken for a reference" : "taken for a reference");
}

// A ModelKit whose model.path names another ModelKit: kit unpack would fetch
// that one too; refused (ERR_USAGE) with the reference named.
static void test_kitops_parent(void **state)
{
	(void)state;
	struct oci_manifest m;
	kit_manifest(&m, LAYER(KIT "docs.v1.tar", D1, ""));
	struct unpack_model_plan p;
	struct err e;
	assert_int_equal(plan(&m, KCFG("\"model\":{\"path\":\"reg.io/org/parent:v1,extra\"},"
				       "\"docs\":[{\"path\":\"README.md\",\"digest\":\"" D1 "\"}]"),
			      &p, &e),
			 -1);
	assert_int_equal(e.cls, ERR_USAGE);
	if (!strstr(e.msg, "names another ModelKit, 'reg.io/org/parent:v1',") || !strstr(e.msg, "not supported"))
		fail_msg("%s", e.msg);
	assert_null(p.layers);
	// A path: no parent.
	assert_int_equal(plan(&m, KCFG("\"model\":{\"path\":\"models/m.gguf\"},"
				       "\"docs\":[{\"path\":\"README.md\",\"digest\":\"" D1 "\"}]"),
			      &p, &e),
			 0);
	unpack_model_plan_release(&p);
	oci_manifest_release(&m);
}

// Datasets with a remotePath (later kits) have no layer: the dataset layers
// match the others, in order; the Kitfile keeps them.
static void test_kitops_remote_datasets(void **state)
{
	(void)state;
	struct oci_manifest m;
	kit_manifest(&m, LAYER(KIT "dataset.v1.tar", D1, "") "," LAYER(KIT "dataset.v1.tar+gzip", D2, ""));
	const char *cfg = KCFG("\"datasets\":[{\"path\":\"remote/ds\",\"remotePath\":\"s3://b/k\",\"remoteHash\":\"h\"},"
			       "{\"path\":\"data/train.csv\",\"digest\":\"" D1 "\"},"
			       "{\"path\":\"far/x\",\"remotePath\":\"reg.io/org/ds:v1\"},"
			       "{\"path\":\"data/test.csv\",\"digest\":\"" D2 "\"}]");
	struct unpack_model_plan p;
	struct err e;
	assert_int_equal(plan(&m, cfg, &p, &e), 0);
	assert_string_equal(p.layers[0].label, "data/train.csv");
	assert_string_equal(p.layers[0].path, "");
	assert_string_equal(p.layers[1].label, "data/test.csv");
	assert_int_equal(p.remote_datasets, 2);
	assert_non_null(strstr(p.config_text, "  - path: \"remote/ds\"\n    remotePath: \"s3://b/k\"\n"));
	unpack_model_plan_release(&p);
	// An empty remotePath is none.
	assert_int_equal(plan(&m, KCFG("\"datasets\":[{\"path\":\"a\",\"remotePath\":\"\",\"digest\":\"" D1 "\"},"
				       "{\"path\":\"b\",\"digest\":\"" D2 "\"}]"),
			      &p, &e),
			 0);
	assert_string_equal(p.layers[0].label, "a");
	assert_int_equal(p.remote_datasets, 0);
	unpack_model_plan_release(&p);
	oci_manifest_release(&m);
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
		cmocka_unit_test(test_modelpack_cnai),
		cmocka_unit_test(test_modelpack_cnai_refused),
		cmocka_unit_test(test_kit_reference),
		cmocka_unit_test(test_kitops_parent),
		cmocka_unit_test(test_kitops_remote_datasets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
