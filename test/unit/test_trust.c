// SPDX-License-Identifier: Apache-2.0
// auth/trust: a policy's verdict over cosign signatures (keys made here with
// OpenSSL, payloads as cosign writes them), and the signature manifest's layers.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/trust.h"
#include "util/base64.h"
#include "util/mem.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DIGEST_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIGEST_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static EVP_PKEY *key_a, *key_b;
static char *pub_a; // base64 of the PEM, for keyData

static char *pem_b64(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(b, k);
	char *p;
	long n = BIO_get_mem_data(b, &p);
	char *out = base64_encode(p, (size_t)n);
	BIO_free(b);
	return out;
}

static int setup(void **state)
{
	(void)state;
	key_a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	key_b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	pub_a = pem_b64(key_a);
	return key_a && key_b && pub_a ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	free(pub_a);
	return 0;
}

static char *payload_for(const char *identity, const char *digest)
{
	return xasprintf("{\"critical\":{\"identity\":{\"docker-reference\":\"%s\"},\"image\":{\"docker-manifest-digest\":"
			 "\"%s\"},\"type\":\"cosign container image signature\"},\"optional\":null}", identity, digest);
}

static char *sign_b64(EVP_PKEY *k, const char *payload)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[256];
	size_t n = sizeof(sig);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &n, (const unsigned char *)payload, strlen(payload)), 1);
	EVP_MD_CTX_free(ctx);
	return base64_encode(sig, n);
}

// A policy: reject by default, sigstoreSigned with key A (keyData) for
// localhost:5000/team, identity as given (NULL: the default).
static void load(struct policy *p, const char *reqs_json)
{
	char *doc = xasprintf("{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"localhost:5000/team\":%s}}}",
			      reqs_json);
	struct err e;
	if (policy_parse(p, doc, strlen(doc), "test.json", &e) < 0)
		fail_msg("%s: %s", doc, e.msg);
	free(doc);
}

struct eval_case {
	const char *name;     // the image as pulled
	const char *digest;   // what it names
	const char *identity; // signed (NULL: no signature at all)
	const char *signed_digest;
	bool by_b;            // signed with key B
	const char *id_json;  // signedIdentity (NULL: default)
	bool ok;
	const char *msg;
};

static const struct eval_case eval_cases[] = {
	{"localhost:5000/team/app:v1", DIGEST_A, "localhost:5000/team/app", DIGEST_A, false,
	 "{\"type\":\"matchRepository\"}", true, NULL},
	{"localhost:5000/team/app:v1", DIGEST_A, "localhost:5000/team/app:v1", DIGEST_A, false, NULL, true, NULL},
	// matchRepoDigestOrExact: a tag must be signed exactly; by digest the repository.
	{"localhost:5000/team/app:v1", DIGEST_A, "localhost:5000/team/app", DIGEST_A, false, NULL, false, "signedIdentity"},
	// By digest the repository must match, of a signed identity with a tag (a
	// name alone never satisfies matchRepoDigestOrExact, as in containers/image).
	{"localhost:5000/team/app@" DIGEST_A, DIGEST_A, "localhost:5000/team/app:v1", DIGEST_A, false, NULL, true, NULL},
	{"localhost:5000/team/app@" DIGEST_A, DIGEST_A, "localhost:5000/team/app", DIGEST_A, false, NULL, false,
	 "signedIdentity"},
	{"localhost:5000/team/app@" DIGEST_A, DIGEST_A, "localhost:5000/team/other:v1", DIGEST_A, false, NULL, false,
	 "signedIdentity"},
	{"localhost:5000/team/app:v1", DIGEST_A, "localhost:5000/team/app", DIGEST_B, false,
	 "{\"type\":\"matchRepository\"}", false, "not of " DIGEST_A},
	{"localhost:5000/team/app:v1", DIGEST_A, "localhost:5000/team/app", DIGEST_A, true,
	 "{\"type\":\"matchRepository\"}", false, "no key of keyData"},
	{"localhost:5000/team/app:v1", DIGEST_A, NULL, NULL, false, "{\"type\":\"matchRepository\"}", false, "no signature"},
	{"localhost:5000/elsewhere/app:v1", DIGEST_A, "localhost:5000/elsewhere/app", DIGEST_A, false, NULL, false,
	 "rejects it"},
	// A host in upper case is the same host: the scope for it applies.
	{"LOCALHOST:5000/team/app:v1", DIGEST_A, "localhost:5000/team/app", DIGEST_A, false,
	 "{\"type\":\"matchRepository\"}", true, NULL},
	{"LocalHost:5000/team/app:v1", DIGEST_A, NULL, NULL, false, "{\"type\":\"matchRepository\"}", false,
	 "no signature"},
};

static void test_eval(void **state)
{
	const struct eval_case *c = *state;
	char *reqs = c->id_json ? xasprintf("[{\"type\":\"sigstoreSigned\",\"keyData\":\"%s\",\"signedIdentity\":%s}]",
					    pub_a, c->id_json)
				: xasprintf("[{\"type\":\"sigstoreSigned\",\"keyData\":\"%s\"}]", pub_a);
	struct policy p;
	load(&p, reqs);
	char *payload = c->identity ? payload_for(c->identity, c->signed_digest) : NULL;
	char *sig = payload ? sign_b64(c->by_b ? key_b : key_a, payload) : NULL;
	struct trust_candidate cand = {.payload = payload, .len = payload ? strlen(payload) : 0, .signature = sig};
	struct trust_image img = {.name = c->name, .digest = c->digest};
	bool acc[1] = {false};
	struct err e;
	int r = trust_evaluate(&p, &img, &cand, payload ? 1 : 0, acc, &e);
	if (c->ok) {
		if (r != 0)
			fail_msg("%s: %s", c->name, e.msg);
		assert_true(acc[0]);
	} else {
		assert_int_equal(r, -1);
		assert_int_equal(e.cls, ERR_UNTRUSTED);
		if (!strstr(e.msg, c->msg))
			fail_msg("%s: '%s' lacks '%s'", c->name, e.msg, c->msg);
		assert_false(acc[0]);
	}
	policy_release(&p);
	free(payload);
	free(sig);
	free(reqs);
}

// Several requirements are all needed; insecureAcceptAnything needs nothing;
// one good signature among bad ones is enough.
static void test_lists(void **state)
{
	(void)state;
	struct policy p;
	load(&p, "[{\"type\":\"insecureAcceptAnything\"}]");
	struct trust_image img = {.name = "localhost:5000/team/app:v1", .digest = DIGEST_A};
	struct err e;
	assert_int_equal(trust_evaluate(&p, &img, NULL, 0, NULL, &e), 0);
	assert_false(trust_needs_signature(&p, img.name));
	policy_release(&p);
	char *reqs = xasprintf("[{\"type\":\"insecureAcceptAnything\"},{\"type\":\"sigstoreSigned\",\"keyData\":\"%s\","
			       "\"signedIdentity\":{\"type\":\"matchRepository\"}}]", pub_a);
	load(&p, reqs);
	assert_true(trust_needs_signature(&p, img.name));
	char *good = payload_for("localhost:5000/team/app", DIGEST_A), *bad = payload_for("localhost:5000/team/app", DIGEST_B);
	char *sg = sign_b64(key_a, good), *sb = sign_b64(key_a, bad);
	struct trust_candidate c[3] = {{bad, strlen(bad), sb}, {good, strlen(good), sb}, {good, strlen(good), sg}};
	bool acc[3];
	assert_int_equal(trust_evaluate(&p, &img, c, 3, acc, &e), 0);
	assert_false(acc[0]);
	assert_false(acc[1]);
	assert_true(acc[2]);
	assert_int_equal(trust_evaluate(&p, &img, c, 2, acc, &e), -1);
	policy_release(&p);
	free(reqs);
	free(good);
	free(bad);
	free(sg);
	free(sb);
}

static void test_sig_manifest(void **state)
{
	(void)state;
	static const char m[] =
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{},"
		"\"layers\":[{\"mediaType\":\"application/vnd.dev.cosign.simplesigning.v1+json\",\"size\":242,\"digest\":\""
		DIGEST_A "\",\"annotations\":{\"dev.cosignproject.cosign/signature\":\"MEUC\"}},"
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"size\":1,\"digest\":\"" DIGEST_B "\"},"
		"{\"mediaType\":\"application/vnd.dev.cosign.simplesigning.v1+json\",\"size\":1,\"digest\":\"" DIGEST_B "\"}]}";
	struct trust_sig_layer *v = NULL;
	size_t n = 0;
	struct err e;
	assert_int_equal(trust_sig_manifest_parse(m, strlen(m), &v, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].digest, DIGEST_A);
	assert_int_equal(v[0].size, 242);
	assert_string_equal(v[0].signature, "MEUC");
	trust_sig_layers_free(v, n);
	static const char *const bad[] = {
		"[]", "{\"layers\":{}}", "{\"layers\":[1]}", "not json",
		"{\"layers\":[{\"mediaType\":\"application/vnd.dev.cosign.simplesigning.v1+json\",\"size\":-1,\"digest\":\""
		DIGEST_A "\",\"annotations\":{\"dev.cosignproject.cosign/signature\":\"x\"}}]}",
		"{\"layers\":[{\"mediaType\":\"application/vnd.dev.cosign.simplesigning.v1+json\",\"size\":1,\"digest\":\"x\","
		"\"annotations\":{\"dev.cosignproject.cosign/signature\":\"x\"}}]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = NULL;
		n = 0;
		assert_int_equal(trust_sig_manifest_parse(bad[i], strlen(bad[i]), &v, &n, &e), -1);
		assert_int_equal(e.cls, ERR_INTEGRITY);
		trust_sig_layers_free(v, n);
	}
}

int main(void)
{
	struct CMUnitTest t[ARRAY_SIZE(eval_cases) + 2];
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(eval_cases); i++)
		t[n++] = (struct CMUnitTest){.name = eval_cases[i].name, .test_func = test_eval,
					     .initial_state = (void *)&eval_cases[i]};
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_lists);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_sig_manifest);
	return _cmocka_run_group_tests("trust", t, n, setup, teardown);
}
