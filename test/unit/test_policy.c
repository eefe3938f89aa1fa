// SPDX-License-Identifier: Apache-2.0
// Signature policies (auth/policy.c): c/image's own tables from
// policy_reference_match_test.go (prmExactMatchTestTable,
// prmRepositoryMatchTestTable, matchRepoDigestOrExactTestTable, the remapIdentity
// tables) and policy_config_test.go (validateIdentityRemappingPrefix,
// exactReference/exactRepository values), the docker transport's scope
// precedence, every form imgpull refuses, and keys of each type generated here.
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/policy.h"
#include "oci/ref.h"
#include "util/base64.h"
#include "util/file.h"
#include "util/mem.h"

#define FILE_NAME "/etc/imgpull/policy.json"
#define DIGEST "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DIGEST_OTHER "@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FULL_RHEL "registry.access.redhat.com/rhel7/rhel:7.2.3"
#define UNTAGGED_RHEL "registry.access.redhat.com/rhel7/rhel"

// ---------------------------------------------------------------------------
// Helpers

static int parse(struct policy *p, const char *json, struct err *e)
{
	return policy_parse(p, json, strlen(json), FILE_NAME, e);
}

static void expect_ok(const char *json)
{
	struct policy p;
	struct err e = {0};
	if (parse(&p, json, &e) < 0)
		fail_msg("refused: %s\n  policy: %s", e.msg, json);
	policy_release(&p);
}

// The policy is refused with ERR_USAGE, "policy FILE: " first, and want in the message.
static void expect_fail(const char *json, const char *want)
{
	struct policy p;
	struct err e = {0};
	if (parse(&p, json, &e) == 0) {
		policy_release(&p);
		fail_msg("accepted: %s", json);
	}
	if (e.cls != ERR_USAGE || strncmp(e.msg, "policy " FILE_NAME ": ", strlen("policy " FILE_NAME ": ")) != 0)
		fail_msg("class %d, message [%s] for %s", e.cls, e.msg, json);
	if (!strstr(e.msg, want))
		fail_msg("message [%s] lacks [%s] for %s", e.msg, want, json);
	assert_null(p.path);
	assert_int_equal(p.def.n, 0);
	policy_release(&p);
}

// A policy whose default is the given requirement.
static char *with_default(const char *req)
{
	return xasprintf("{\"default\":[%s]}", req);
}

static char *with_scope(const char *transport, const char *scope, const char *req)
{
	return xasprintf("{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"%s\":{\"%s\":[%s]}}}", transport, scope,
			 req);
}

static struct policy_identity ident(enum policy_identity_kind k)
{
	struct policy_identity id = {.kind = k};
	return id;
}

// ---------------------------------------------------------------------------
// Keys

static char *pem_of(EVP_PKEY *k, bool private_key)
{
	BIO *b = BIO_new(BIO_s_mem());
	assert_non_null(b);
	int r = private_key ? PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) : PEM_write_bio_PUBKEY(b, k);
	assert_int_equal(r, 1);
	char *data;
	long n = BIO_get_mem_data(b, &data);
	char *s = xstrndup(data, (size_t)n);
	BIO_free(b);
	return s;
}

static EVP_PKEY *keygen(const char *type, const char *curve, size_t bits)
{
	EVP_PKEY *k = NULL;
	if (curve) {
		k = EVP_PKEY_Q_keygen(NULL, NULL, type, curve);
	} else if (bits) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
		if (ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) == 1)
			EVP_PKEY_generate(ctx, &k);
		EVP_PKEY_CTX_free(ctx);
	} else {
		k = EVP_PKEY_Q_keygen(NULL, NULL, type);
	}
	if (!k)
		fail_msg("cannot generate a %s key", type);
	return k;
}

static char *sigstore_data(const char *pem)
{
	_cleanup_free_ char *b64 = base64_encode(pem, strlen(pem));
	return xasprintf("{\"type\":\"sigstoreSigned\",\"keyData\":\"%s\"}", b64);
}

struct tmpdir {
	char path[64];
};

static void tmpdir_make(struct tmpdir *t)
{
	strcpy(t->path, "/tmp/test_policy.XXXXXX");
	assert_non_null(mkdtemp(t->path));
}

static void tmpdir_remove(struct tmpdir *t)
{
	struct err e = {0};
	assert_int_equal(file_remove_tree(t->path, &e), 0);
}

static char *write_file(const struct tmpdir *t, const char *name, const char *data, size_t len)
{
	char *path = xasprintf("%s/%s", t->path, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

// ---------------------------------------------------------------------------
// c/image's policy_reference_match_test.go tables

struct sym_case {
	const char *a, *b;
	bool want;
};

// prmExactMatchTestTable
static const struct sym_case exact_table[] = {
	{"busybox:latest", "busybox:latest", true},
	{FULL_RHEL, FULL_RHEL, true},
	{"busybox" DIGEST, "busybox" DIGEST, true},
	{"library/busybox:latest", "busybox:latest", true},
	{"docker.io/library/busybox:latest", "busybox:latest", true},
	{"library/busybox" DIGEST, "busybox" DIGEST, true},
	{"busybox:latest", "busybox:notlatest", false},
	{"busybox:latest", "notbusybox:latest", false},
	{"busybox:latest", "hostname/library/busybox:notlatest", false},
	{"hostname/library/busybox:latest", "busybox:notlatest", false},
	{"busybox:latest", FULL_RHEL, false},
	{"busybox" DIGEST, "notbusybox" DIGEST, false},
	{"busybox:latest", "busybox" DIGEST, false},
	{"busybox" DIGEST, "busybox" DIGEST_OTHER, false},
	{"busybox", "busybox:latest", false},
	{"busybox", "busybox" DIGEST, false},
	{"busybox", "busybox", false},
	{"busybox:latest" DIGEST, "busybox:latest" DIGEST, true},
	{"busybox:latest" DIGEST, "busybox:latest" DIGEST_OTHER, false},
	{"busybox:latest" DIGEST, "busybox:notlatest" DIGEST, false},
	{"busybox:latest" DIGEST, "busybox" DIGEST, false},
	{"busybox:latest" DIGEST, "busybox:latest", false},
	{"UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", "busybox:latest", false},
	{"", "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", false},
	{"INVALID", "INVALID", false},
};

// prmRepositoryMatchTestTable
static const struct sym_case repo_table[] = {
	{"busybox:latest", "busybox:latest", true},
	{FULL_RHEL, FULL_RHEL, true},
	{"busybox" DIGEST, "busybox" DIGEST, true},
	{"library/busybox:latest", "busybox:latest", true},
	{"docker.io/library/busybox:latest", "busybox:latest", true},
	{"library/busybox" DIGEST, "busybox" DIGEST, true},
	{"busybox:latest", "busybox:notlatest", true},
	{FULL_RHEL "tagsuffix", FULL_RHEL, true},
	{"library/busybox:latest", "busybox:notlatest", true},
	{"busybox:latest", "library/busybox:notlatest", true},
	{"docker.io/library/busybox:notlatest", "busybox:latest", true},
	{"busybox:notlatest", "docker.io/library/busybox:latest", true},
	{"busybox:latest", "busybox" DIGEST, true},
	{"busybox" DIGEST, "busybox" DIGEST_OTHER, true},
	{"busybox", "busybox:notlatest", true},
	{FULL_RHEL, UNTAGGED_RHEL, true},
	{"busybox", "busybox" DIGEST, true},
	{"library/busybox", "busybox", true},
	{"docker.io/library/busybox", "busybox", true},
	{"busybox:latest", "notbusybox:latest", false},
	{"hostname/library/busybox:latest", "busybox:notlatest", false},
	{"busybox:latest", FULL_RHEL, false},
	{"busybox" DIGEST, "notbusybox" DIGEST, false},
	{"busybox:latest" DIGEST, "busybox:latest" DIGEST, true},
	{"busybox:latest" DIGEST, "busybox:latest" DIGEST_OTHER, true},
	{"busybox:latest" DIGEST, "busybox:notlatest" DIGEST, true},
	{"busybox:latest" DIGEST, "busybox" DIGEST, true},
	{"busybox:latest" DIGEST, "busybox:latest", true},
	{"UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", "busybox:latest", false},
	{"", "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", false},
	{"INVALID", "INVALID", false},
};

// matchRepoDigestOrExactTestTable (image, signature): not symmetric.
static const struct sym_case mrdoe_table[] = {
	{"busybox:latest", "busybox:notlatest", false},
	{FULL_RHEL "tagsuffix", FULL_RHEL, false},
	{"library/busybox:latest", "busybox:notlatest", false},
	{"busybox:latest", "library/busybox:notlatest", false},
	{"docker.io/library/busybox:notlatest", "busybox:latest", false},
	{"busybox:notlatest", "docker.io/library/busybox:latest", false},
	{"busybox", "busybox:latest", false},
	{"busybox:latest", "busybox", false},
	{"busybox", "busybox" DIGEST, false},
	{"busybox" DIGEST, "busybox", false},
	{FULL_RHEL, UNTAGGED_RHEL, false},
	{"busybox", "busybox", false},
	{"busybox:latest", "busybox" DIGEST, false},
	{"busybox" DIGEST, "busybox:latest", true},
	{"busybox" DIGEST, "busybox" DIGEST_OTHER, true},
	{"busybox:latest" DIGEST, "busybox:latest", false},
	{"busybox:latest" DIGEST, "busybox:notlatest", false},
	{"busybox:latest", "busybox:latest" DIGEST, false},
	{"busybox:latest" DIGEST, "busybox:latest" DIGEST_OTHER, false},
	{"busybox:latest" DIGEST, "busybox:notlatest" DIGEST_OTHER, false},
};

#define N(t) (sizeof(t) / sizeof((t)[0]))

static void check_match(const struct policy_identity *id, const char *image, const char *sig, bool want)
{
	if (policy_identity_ok(id, image, sig) != want)
		fail_msg("%s: image [%s] signature [%s]: expected %s", policy_identity_kind_name(id->kind), image, sig,
			 want ? "a match" : "no match");
}

// Both orders, as c/image's symmetric tables are run.
static void check_sym(const struct policy_identity *id, const struct sym_case *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		check_match(id, t[i].a, t[i].b, t[i].want);
		check_match(id, t[i].b, t[i].a, t[i].want);
	}
}

// TestPRMMatchExactMatchesDockerReference
static void test_match_exact(void **state)
{
	(void)state;
	struct policy_identity id = ident(POLICY_ID_MATCH_EXACT);
	check_sym(&id, exact_table, N(exact_table));
	check_match(&id, "busybox:latest", "", false);
}

// TestPRMMatchRepositoryMatchesDockerReference
static void test_match_repository(void **state)
{
	(void)state;
	struct policy_identity id = ident(POLICY_ID_MATCH_REPOSITORY);
	check_sym(&id, repo_table, N(repo_table));
	check_match(&id, "busybox:latest", "", false);
}

// TestPRMMatchRepoDigestOrExactMatchesDockerReference: everything matchExact
// accepts, nothing matchRepository rejects, and the asymmetric table.
static void test_match_repo_digest_or_exact(void **state)
{
	(void)state;
	struct policy_identity id = ident(POLICY_ID_MATCH_REPO_DIGEST_OR_EXACT);
	for (size_t i = 0; i < N(exact_table); i++)
		if (exact_table[i].want)
			check_sym(&id, &exact_table[i], 1);
	for (size_t i = 0; i < N(repo_table); i++)
		if (!repo_table[i].want)
			check_sym(&id, &repo_table[i], 1);
	for (size_t i = 0; i < N(mrdoe_table); i++)
		check_match(&id, mrdoe_table[i].a, mrdoe_table[i].b, mrdoe_table[i].want);
	// The normalized forms imgpull passes.
	check_match(&id, "docker.io/library/busybox:1.36", "busybox:1.36", true);
	check_match(&id, "127.0.0.1:5000/team/app" DIGEST, "127.0.0.1:5000/team/app:v1", true);
	check_match(&id, "127.0.0.1:5000/team/app" DIGEST, "127.0.0.1:5000/team/other:v1", false);
	check_match(&id, "[::1]:5000/app:v1", "[::1]:5000/app:v1", true);
	check_match(&id, "docker.io/library/busybox:1.36", "index.docker.io/library/busybox:1.36", true);
}

// TestPRMExactReferenceMatchesDockerReference: the given reference in place of the image's.
static void test_exact_reference(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(exact_table); i++) {
		struct policy_identity id = ident(POLICY_ID_EXACT_REFERENCE);
		id.reference = (char *)exact_table[i].a;
		check_match(&id, "unrelated.example/image:tag", exact_table[i].b, exact_table[i].want);
		id.reference = (char *)exact_table[i].b;
		check_match(&id, "unrelated.example/image:tag", exact_table[i].a, exact_table[i].want);
	}
	struct policy_identity none = ident(POLICY_ID_EXACT_REFERENCE);
	check_match(&none, "busybox:latest", "busybox:latest", false);
}

// TestPRMExactRepositoryMatchesDockerReference
static void test_exact_repository(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(repo_table); i++) {
		struct policy_identity id = ident(POLICY_ID_EXACT_REPOSITORY);
		id.repository = (char *)repo_table[i].a;
		check_match(&id, "unrelated.example/image:tag", repo_table[i].b, repo_table[i].want);
		id.repository = (char *)repo_table[i].b;
		check_match(&id, "unrelated.example/image:tag", repo_table[i].a, repo_table[i].want);
	}
}

// TestPRMRemapIdentityRefMatchesPrefix, through the rewriting: a matching
// prefix is replaced by "docker.io/library/signed-prefix".
static void test_remap_prefix_match(void **state)
{
	(void)state;
	static const struct {
		const char *ref, *prefix;
		bool want;
	} t[] = {
		{"docker.io/image", "docker.io", true},
		{"docker.io/image", "example.com", false},
		{"example.com:5000/image", "example.com:5000", true},
		{"example.com:50000/image", "example.com:5000", false},
		{"example.com:5000/image", "example.com", false},
		{"example.com/foo", "example.com", true},
		{"example.com/foo/bar", "example.com", true},
		{"example.com/foo/bar:baz", "example.com", true},
		{"example.com/foo/bar" DIGEST, "example.com", true},
		{"docker.io/ns/image", "docker.io/library", false},
		{"example.com/library", "docker.io/library", false},
		{"docker.io/libraryy/image", "docker.io/library", false},
		{"docker.io/library/busybox", "docker.io/library", true},
		{"example.com/ns/image", "example.com/ns", true},
		{"example.com/ns2/image", "example.com/ns", false},
		{"example.com/n2/image", "example.com/ns", false},
		{"example.com", "example.com/library/busybox", false},
		{"example.com:5000/ns/image", "example.com/ns", false},
		{"example.com/ns/image", "example.com:5000/ns", false},
		{"docker.io/library/busybox", "docker.io/library/busybox", true},
		{"example.com/library/busybox", "docker.io/library/busybox", false},
		{"docker.io/library/busybox2", "docker.io/library/busybox", false},
		{"example.com/ns/image", "example.com/ns/image", true},
		{"example.com/ns/imag2", "example.com/ns/image", false},
		{"example.com/ns/imagee", "example.com/ns/image", false},
		{"example.com:5000/ns/image", "example.com/ns/image", false},
		{"example.com/ns/image", "example.com:5000/ns/image", false},
		{"example.com/ns/image:tag", "example.com/ns/image", true},
		{"example.com/ns/image" DIGEST, "example.com/ns/image", true},
		{"example.com/ns/image:tag" DIGEST, "example.com/ns/image", true},
	};
	for (size_t i = 0; i < N(t); i++) {
		char *out = NULL;
		if (policy_remap_ref(t[i].prefix, "docker.io/library/signed-prefix", t[i].ref, &out) < 0)
			fail_msg("%s vs %s: rewriting failed", t[i].ref, t[i].prefix);
		bool rewritten = strncmp(out, "docker.io/library/signed-prefix", 31) == 0;
		if (rewritten != t[i].want)
			fail_msg("%s vs %s: got %s", t[i].ref, t[i].prefix, out);
		free(out);
	}
}

// TestPRMRemapIdentityRemapReferencePrefix; "" expects a failed rewrite.
static void test_remap_rewrite(void **state)
{
	(void)state;
	static const struct {
		const char *prefix, *signed_prefix, *ref, *want;
	} t[] = {
		{"mirror.example", "vendor.example", "mirror.example/ns/image:tag", "vendor.example/ns/image:tag"},
		{"mirror.example", "vendor.example", "different.com/ns/image:tag", "different.com/ns/image:tag"},
		{"mirror.example/ns", "vendor.example/vendor-ns", "mirror.example/different-ns/image:tag",
		 "mirror.example/different-ns/image:tag"},
		{"docker.io", "not-docker-signed.example/ns", "busybox", "not-docker-signed.example/ns/library/busybox"},
		{"example.com/mirror", "example.com/vendor", "example.com/mirror/image:tag", "example.com/vendor/image:tag"},
		{"example.com/ns/mirror", "example.com/ns/vendor", "example.com/ns/mirror:tag", "example.com/ns/vendor:tag"},
		{"mirror.example", "vendor.example", "prefixmirror.example/ns/image:tag",
		 "prefixmirror.example/ns/image:tag"},
		{"docker.io", "not-docker-signed.example", "busybox", "not-docker-signed.example/library/busybox"},
		{"docker.io/library", "not-docker-signed.example/ns", "busybox", "not-docker-signed.example/ns/busybox"},
		{"docker.io/library/busybox", "not-docker-signed.example/ns/notbusybox", "busybox",
		 "not-docker-signed.example/ns/notbusybox"},
		{"mirror.example", "vendor.example", "mirror.example/image", "vendor.example/image"},
		{"mirror.example", "vendor.example", "mirror.example/image:tag", "vendor.example/image:tag"},
		{"mirror.example", "vendor.example", "mirror.example/image" DIGEST, "vendor.example/image" DIGEST},
		{"mirror.example", "vendor.example", "mirror.example/image:tag" DIGEST, "vendor.example/image:tag" DIGEST},
		{"mirror.example/ns/image", "vendor.example:5000", "mirror.example/ns/image:tag", ""},
		{"mirror.example/ns/image", "vendor.example:5000", "mirror.example/ns/image" DIGEST, ""},
		{"mirror.example/ns/image", "notlocalhost", "mirror.example/ns/image:tag", ""},
	};
	for (size_t i = 0; i < N(t); i++) {
		char *out = NULL;
		int r = policy_remap_ref(t[i].prefix, t[i].signed_prefix, t[i].ref, &out);
		if (!t[i].want[0] && r == 0)
			fail_msg("%s -> %s on %s: rewrote to %s, expected a failure", t[i].prefix, t[i].signed_prefix,
				 t[i].ref, out);
		if (t[i].want[0] && (r < 0 || strcmp(out, t[i].want) != 0))
			fail_msg("%s -> %s on %s: got %s, expected %s", t[i].prefix, t[i].signed_prefix, t[i].ref,
				 out ? out : "(failure)", t[i].want);
		free(out);
	}
	char *out = (char *)"x";
	assert_int_equal(policy_remap_ref("docker.io", "quay.io", "NOT VALID", &out), -1);
	assert_null(out);
}

static struct policy_identity remap(const char *prefix, const char *signed_prefix)
{
	struct policy_identity id = ident(POLICY_ID_REMAP);
	id.prefix = (char *)prefix;
	id.signed_prefix = (char *)signed_prefix;
	return id;
}

// c/image's modifiedString: the first letter moved on by one.
static char *modified(const char *s)
{
	char *m = xstrdup(s);
	assert_true(m[0] >= 'a' && m[0] <= 'z');
	m[0] = m[0] == 'z' ? 'a' : (char)(m[0] + 1);
	return m;
}

// prmRemapIdentityMRDOETestCase: without a rewrite, and with the image moved to
// another domain that the prefix maps back.
static void remap_as_mrdoe(const char *image, const char *sig, bool want, bool skip_invalid)
{
	struct oci_ref r;
	struct err e = {0};
	if (oci_ref_parse(&r, image, &e) < 0) {
		if (!skip_invalid)
			fail_msg("invalid image reference %s", image);
		return;
	}
	struct policy_identity none = remap("never-causes-a-rewrite.example", "never-causes-a-rewrite.example");
	check_match(&none, image, sig, want);
	char *canon = NULL;
	assert_int_equal(policy_remap_ref(NULL, NULL, image, &canon), 0);
	_cleanup_free_ char *mdomain = modified(r.domain);
	_cleanup_free_ char *mimage = modified(canon);
	struct policy_identity back = remap(mdomain, r.domain);
	check_match(&back, mimage, sig, want);
	free(canon);
	oci_ref_release(&r);
}

// TestPRMRemapIdentityMatchesDockerReference
static void test_remap_match(void **state)
{
	(void)state;
	static const struct {
		const char *prefix, *signed_prefix, *image, *sig;
		bool want;
	} t[] = {
		{"does-not-match.com", "does-not-match.rewritten", "busybox:latest", "busybox:latest", true},
		{"does-not-match.com", "does-not-match.rewritten", "busybox:latest", "notbusybox:latest", false},
		{"mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:1", true},
		{"mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:not1", false},
		{"mirror.example", "docker.io/library", "mirror.example/busybox:latest", "busybox:latest", true},
		{"mirror.example", "docker.io/library", "mirror.example/alpine:latest", "busybox:latest", false},
		{"docker.io/library", "original.com", "copied:latest", "original.com/copied:latest", true},
		{"docker.io/library", "original.com", "copied:latest", "original.com/ns/copied:latest", false},
		{"busybox", "example.com/busybox", "busybox:latest", "example.com/busybox:latest", false},
		{"docker.io/library/busybox", "busybox", "docker.io/library/busybox:latest", "busybox:latest", false},
		{"UPPERCASE", "example.com", "example.com/foo:latest", "example.com/foo:latest", true},
		{"example.com", "UPPERCASE", "example.com/foo:latest", "UPPERCASE/foo:latest", false},
	};
	for (size_t i = 0; i < N(t); i++) {
		struct policy_identity id = remap(t[i].prefix, t[i].signed_prefix);
		check_match(&id, t[i].image, t[i].sig, t[i].want);
	}
	struct policy_identity id = remap("docker.io", "docker.io");
	check_match(&id, "busybox:latest", "", false);
	for (size_t i = 0; i < N(exact_table); i++)
		if (exact_table[i].want) {
			remap_as_mrdoe(exact_table[i].a, exact_table[i].b, true, true);
			remap_as_mrdoe(exact_table[i].b, exact_table[i].a, true, true);
		}
	for (size_t i = 0; i < N(repo_table); i++)
		if (!repo_table[i].want) {
			remap_as_mrdoe(repo_table[i].a, repo_table[i].b, false, true);
			remap_as_mrdoe(repo_table[i].b, repo_table[i].a, false, true);
		}
	for (size_t i = 0; i < N(mrdoe_table); i++)
		remap_as_mrdoe(mrdoe_table[i].a, mrdoe_table[i].b, mrdoe_table[i].want, false);
}

// ---------------------------------------------------------------------------
// Identities as read from the file

// TestValidateIdentityRemappingPrefix, TestNewPRMExactReference, TestNewPRMExactRepository
static void test_identity_values(void **state)
{
	(void)state;
	static const char *const good_prefixes[] = {
		"localhost", "example.com", "example.com:80", "example.com/repo",
		"example.com/ns1/ns2/ns3/repo.with.dots-dashes_underscores",
		"example.com:80/ns1/ns2/ns3/repo.with.dots-dashes_underscores", "shortname", "ns/shortname",
		"Example.COM/repo", "a--b.example/x__y",
	};
	static const char *const bad_prefixes[] = {
		"", "repo_with_underscores", "example.com/", "example.com/UPPERCASEISINVALID", "example.com/repo/",
		"example.com/repo:tag", "example.com/repo" DIGEST, "example.com/repo:tag" DIGEST, "-example.com",
		"example.com:", "example.com:port", "example..com", "example.com//repo", "example.com/_repo",
	};
	for (size_t i = 0; i < N(good_prefixes); i++) {
		_cleanup_free_ char *req = xasprintf("{\"type\":\"sigstoreSigned\",\"keyPath\":\"/nonexistent\","
						     "\"signedIdentity\":{\"type\":\"remapIdentity\",\"prefix\":\"%s\","
						     "\"signedPrefix\":\"%s\"}}",
						     good_prefixes[i], good_prefixes[i]);
		_cleanup_free_ char *json = with_scope("atomic", "x", req);
		expect_ok(json);
	}
	for (size_t i = 0; i < N(bad_prefixes); i++) {
		_cleanup_free_ char *req = xasprintf("{\"type\":\"sigstoreSigned\",\"keyPath\":\"/nonexistent\","
						     "\"signedIdentity\":{\"type\":\"remapIdentity\",\"prefix\":\"%s\","
						     "\"signedPrefix\":\"example.com\"}}",
						     bad_prefixes[i]);
		_cleanup_free_ char *json = with_scope("atomic", "x", req);
		expect_fail(json, "prefix");
		_cleanup_free_ char *req2 = xasprintf("{\"type\":\"sigstoreSigned\",\"keyPath\":\"/nonexistent\","
						      "\"signedIdentity\":{\"type\":\"remapIdentity\",\"prefix\":"
						      "\"example.com\",\"signedPrefix\":\"%s\"}}",
						      bad_prefixes[i]);
		_cleanup_free_ char *json2 = with_scope("atomic", "x", req2);
		expect_fail(json2, "signedPrefix");
	}
	static const struct {
		const char *type, *field, *value;
		bool ok;
	} vals[] = {
		{"exactReference", "dockerReference", "library/busybox:latest", true},
		{"exactReference", "dockerReference", "quay.io/ns/app" DIGEST, true},
		{"exactReference", "dockerReference", "", false},
		{"exactReference", "dockerReference", "INVALIDUPPERCASE:latest", false},
		{"exactReference", "dockerReference", "library/busybox", false},
		{"exactRepository", "dockerRepository", "library/busybox:latest", true},
		{"exactRepository", "dockerRepository", "quay.io/ns/app", true},
		{"exactRepository", "dockerRepository", "", false},
		{"exactRepository", "dockerRepository", "INVALIDUPPERCASE", false},
	};
	for (size_t i = 0; i < N(vals); i++) {
		_cleanup_free_ char *req = xasprintf("{\"type\":\"sigstoreSigned\",\"keyPath\":\"/nonexistent\","
						     "\"signedIdentity\":{\"type\":\"%s\",\"%s\":\"%s\"}}",
						     vals[i].type, vals[i].field, vals[i].value);
		_cleanup_free_ char *json = with_scope("atomic", "x", req);
		if (vals[i].ok)
			expect_ok(json);
		else
			expect_fail(json, vals[i].field);
	}
}

static void test_identity_forms(void **state)
{
	(void)state;
	static const struct {
		const char *identity, *want; // want NULL: accepted
	} t[] = {
		{"{\"type\":\"matchExact\"}", NULL},
		{"{\"type\":\"matchRepoDigestOrExact\"}", NULL},
		{"{\"type\":\"matchRepository\"}", NULL},
		{"{\"type\":\"matchExact\",\"extra\":1}", "unknown field \"extra\""},
		{"{\"type\":\"matchRepository\",\"type\":\"matchRepository\"}", "appears twice"},
		{"{\"type\":\"matchSomething\"}", "unknown identity type \"matchSomething\""},
		{"{\"type\":1}", "no \"type\" string"},
		{"{}", "no \"type\" string"},
		{"{\"type\":\"exactReference\"}", "exactReference needs \"dockerReference\""},
		{"{\"type\":\"exactReference\",\"dockerReference\":null}", "\"dockerReference\" must be a string"},
		{"{\"type\":\"exactRepository\"}", "exactRepository needs \"dockerRepository\""},
		{"{\"type\":\"remapIdentity\",\"prefix\":\"a.example\"}", "remapIdentity needs \"signedPrefix\""},
		{"{\"type\":\"remapIdentity\",\"signedPrefix\":\"a.example\"}", "remapIdentity needs \"prefix\""},
		{"{\"type\":\"exactRepository\",\"dockerRepository\":\"quay.io/x\",\"prefix\":\"q.io\"}",
		 "unknown field \"prefix\""},
		{"\"matchExact\"", "\"signedIdentity\" must be an object"},
		{"null", "\"signedIdentity\" must be an object"},
	};
	for (size_t i = 0; i < N(t); i++) {
		for (int where = 0; where < 2; where++) {
			_cleanup_free_ char *req = xasprintf("{\"type\":\"sigstoreSigned\",\"keyPath\":\"/nonexistent\","
							     "\"signedIdentity\":%s}",
							     t[i].identity);
			_cleanup_free_ char *json = with_scope(where ? "atomic" : "docker-daemon", "", req);
			if (t[i].want)
				expect_fail(json, t[i].want);
			else
				expect_ok(json);
		}
	}
	// The location is named: file, transport, scope, index, field.
	_cleanup_free_ char *json = with_scope("atomic", "quay.io/ns",
					       "{\"type\":\"reject\"},{\"type\":\"sigstoreSigned\",\"keyData\":\"\","
					       "\"signedIdentity\":{\"type\":\"matchExact\",\"x\":1}}");
	expect_fail(json, "policy " FILE_NAME ": transports.atomic[\"quay.io/ns\"][1].signedIdentity: unknown "
			  "field \"x\"");
}

// ---------------------------------------------------------------------------
// The document

static const struct {
	const char *json, *want;
} doc_bad[] = {
	{"", "not valid JSON (near line 1, column 1)"},
	{"{\"default\":[{\"type\":\"reject\"}]", "not valid JSON"},
	{"{\n\"default\": [{\"type\":\"reject\"}],\n x}", "not valid JSON (near line 3, column "},
	{"{\"default\":[{\"type\":\"reject\"}]} {}", "not valid JSON"},
	{"{\"default\":[{\"type\":\"reject\"}]} x", "not valid JSON"},
	{"[]", "not a JSON object"},
	{"null", "not a JSON object"},
	{"{}", "no \"default\""},
	{"{\"transports\":{}}", "no \"default\""},
	{"{\"default\":[]}", "default: an empty list of requirements"},
	{"{\"default\":null}", "\"default\" must be a list"},
	{"{\"default\":1}", "\"default\" must be a list"},
	{"{\"default\":{}}", "\"default\" must be a list"},
	{"{\"default\":[{\"type\":\"reject\"}],\"unexpected\":1}", "unknown field \"unexpected\""},
	{"{\"Default\":[{\"type\":\"reject\"}]}", "unknown field \"Default\""},
	{"{\"default\":[{\"type\":\"reject\"}],\"default\":[{\"type\":\"reject\"}]}",
	 "field \"default\" appears twice"},
	{"{\"default\":[{\"type\":\"reject\"}],\"transports\":1}", "\"transports\" must be an object"},
	{"{\"default\":[{\"type\":\"reject\"}],\"transports\":[]}", "\"transports\" must be an object"},
	{"{\"default\":[{\"type\":\"reject\"}],\"transports\":null}", "\"transports\" must be an object"},
	{"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":1}}",
	 "transports.docker: not a JSON object of scopes"},
	{"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{},\"docker\":{}}}",
	 "transport \"docker\" appears twice"},
	{"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"\":[{\"type\":\"reject\"}],"
	 "\"\":[{\"type\":\"reject\"}]}}}",
	 "scope \"\" appears twice"},
	{"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"atomic\":{\"x\":[{\"type\":\"reject\"}],"
	 "\"x\":[{\"type\":\"reject\"}]}}}",
	 "scope \"x\" appears twice"},
	{"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"\":[]}}}",
	 "transports.docker[\"\"]: an empty list"},
	{"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"\":{}}}}", "not a list of requirements"},
	{"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"quay.io\":1}}}",
	 "not a list of requirements"},
	{"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"dir\":{\"/x\":[]}}}",
	 "transports.dir[\"/x\"]: an empty list"},
	{"{\"default\":[1]}", "default[0]: a requirement must be a JSON object"},
	{"{\"default\":[{\"type\":\"reject\"},null]}", "default[1]: a requirement must be a JSON object"},
	{"{\"default\":[{}]}", "default[0]: no \"type\" string"},
	{"{\"default\":[{\"type\":null}]}", "no \"type\" string"},
	{"{\"default\":[{\"type\":\"reject\",\"x\":1}]}", "default[0]: unknown field \"x\""},
	{"{\"default\":[{\"type\":\"reject\",\"type\":\"reject\"}]}", "appears twice"},
	{"{\"default\":[{\"type\":\"insecureAcceptAnything\",\"keyPath\":\"/k\"}]}", "unknown field \"keyPath\""},
	{"{\"default\":[{\"type\":\"Reject\"}]}", "unknown requirement type \"Reject\""},
	{"{\"default\":[{\"type\":\"this is invalid\"}]}", "unknown requirement type \"this is invalid\""},
	{"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"atomic\":{\"x\":[{\"type\":\"foo\"}]}}}",
	 "transports.atomic[\"x\"][0]: unknown requirement type \"foo\""},
	{"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"\\u0000\":[{\"type\":\"reject\"}]}}}",
	 "a string contains \\u0000"},
	{"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"quay.io/x\\u0000y\":[]}}}",
	 "a string contains \\u0000"},
};

static const char *const doc_good[] = {
	"{\"default\":[{\"type\":\"reject\"}]}",
	" \n{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}\n\t ",
	"{\"default\":[{\"type\":\"reject\"}],\"transports\":{}}",
	"{\"transports\":{\"docker\":{}},\"default\":[{\"type\":\"reject\"}]}",
	"{\"default\":[{\"type\":\"reject\"},{\"type\":\"insecureAcceptAnything\"}]}",
	// An escaped backslash before "u0000" is no NUL.
	"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"x\":{\"a\\\\u0000\":[{\"type\":\"reject\"}]}}}",
};

static void test_document_forms(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(doc_bad); i++)
		expect_fail(doc_bad[i].json, doc_bad[i].want);
	for (size_t i = 0; i < N(doc_good); i++)
		expect_ok(doc_good[i]);
	// A NUL byte inside the length.
	static const char nul[] = "{\"default\":[{\"type\":\"reject\"}]}\0{}";
	struct policy p;
	struct err e = {0};
	assert_int_equal(policy_parse(&p, nul, sizeof(nul) - 1, FILE_NAME, &e), -1);
	assert_non_null(strstr(e.msg, "NUL byte"));
	policy_release(&p);
	// Not NUL-terminated: the length is the end.
	static const char part[] = "{\"default\":[{\"type\":\"reject\"}]}garbage";
	assert_int_equal(policy_parse(&p, part, sizeof(part) - 1 - 7, FILE_NAME, &e), 0);
	assert_int_equal(p.def.n, 1);
	assert_int_equal(p.def.v[0].kind, POLICY_REJECT);
	assert_string_equal(p.def.scope, "(default)");
	assert_string_equal(p.path, FILE_NAME);
	policy_release(&p);
	policy_release(&p);
}

static const struct {
	const char *req, *refusal;
	bool other_ok; // what c/image accepts in another transport
} refused[] = {
	{"{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/etc/pki/rpm-gpg/RPM-GPG-KEY\"}",
	 "signedBy (GPG simple signing) is not supported by imgpull", true},
	{"{\"type\":\"signedBy\",\"keyType\":\"signedByGPGKeys\",\"keyPaths\":[\"/a\",\"/b\"],"
	 "\"signedIdentity\":{\"type\":\"matchRepository\"}}",
	 "signedBy", true},
	{"{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyData\":\"YWJj\"}", "signedBy", true},
	{"{\"type\":\"signedBy\",\"keyType\":\"this is invalid\",\"keyData\":\"YWJj\"}", "signedBy", false},
	{"{\"type\":\"signedBy\",\"keyData\":\"YWJj\"}", "signedBy", false},
	{"{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\"}", "signedBy", false},
	{"{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/a\",\"keyData\":\"YWJj\"}", "signedBy",
	 false},
	{"{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyData\":\"YWJj\",\"x\":1}", "signedBy", false},
	{"{\"type\":\"signedBaseLayer\",\"baseLayerIdentity\":{\"type\":\"matchRepository\"}}",
	 "signedBaseLayer is not supported", true},
	{"{\"type\":\"signedBaseLayer\"}", "signedBaseLayer", false},
	{"{\"type\":\"sigstoreSigned\",\"fulcio\":{\"caPath\":\"/f.pem\",\"oidcIssuer\":\"https://o\","
	 "\"subjectEmail\":\"a@b\"},\"rekorPublicKeyPath\":\"/r.pub\"}",
	 "\"fulcio\" (keyless, certificate-based signatures) is not supported", true},
	{"{\"type\":\"sigstoreSigned\",\"fulcio\":{\"caData\":\"YWJj\",\"oidcIssuer\":\"https://o\","
	 "\"subjectEmail\":\"a@b\"},\"rekorPublicKeyData\":\"YWJj\"}",
	 "\"fulcio\"", true},
	{"{\"type\":\"sigstoreSigned\",\"fulcio\":{\"caPath\":\"/f.pem\",\"oidcIssuer\":\"https://o\","
	 "\"subjectEmail\":\"a@b\"}}",
	 "\"fulcio\"", false},
	{"{\"type\":\"sigstoreSigned\",\"fulcio\":{\"caPath\":\"/f.pem\",\"caData\":\"\",\"oidcIssuer\":\"o\","
	 "\"subjectEmail\":\"a@b\"},\"rekorPublicKeyPath\":\"/r.pub\"}",
	 "\"fulcio\"", false},
	{"{\"type\":\"sigstoreSigned\",\"fulcio\":{\"caPath\":\"/f.pem\",\"subjectEmail\":\"a@b\"},"
	 "\"rekorPublicKeyPath\":\"/r.pub\"}",
	 "\"fulcio\"", false},
	{"{\"type\":\"sigstoreSigned\",\"fulcio\":{},\"rekorPublicKeyPath\":\"/r.pub\"}", "\"fulcio\"", false},
	{"{\"type\":\"sigstoreSigned\",\"pki\":{\"caRootsPath\":\"/r.pem\",\"subjectHostname\":\"h\"}}",
	 "\"pki\" (X.509 certificate-based signatures) is not supported", true},
	{"{\"type\":\"sigstoreSigned\",\"pki\":{\"caRootsData\":\"YWJj\",\"caIntermediatesPath\":\"/i.pem\","
	 "\"subjectEmail\":\"a@b\"}}",
	 "\"pki\"", true},
	{"{\"type\":\"sigstoreSigned\",\"pki\":{\"caRootsPath\":\"/r.pem\",\"subjectHostname\":\"h\"},"
	 "\"rekorPublicKeyPath\":\"/r.pub\"}",
	 "\"pki\"", false},
	{"{\"type\":\"sigstoreSigned\",\"pki\":{\"caRootsPath\":\"/r.pem\"}}", "\"pki\"", false},
	{"{\"type\":\"sigstoreSigned\",\"pki\":{\"caRootsPath\":\"/r\",\"caRootsData\":\"\",\"subjectEmail\":\"e\"}}",
	 "\"pki\"", false},
	{"{\"type\":\"sigstoreSigned\",\"pki\":{\"caRootsPath\":\"/r\",\"caIntermediatesPath\":\"/i\","
	 "\"caIntermediatesData\":\"\",\"subjectEmail\":\"e\"}}",
	 "\"pki\"", false},
	{"{\"type\":\"sigstoreSigned\",\"keyData\":\"YWJj\",\"pki\":{\"caRootsPath\":\"/r\",\"subjectEmail\":\"e\"}}",
	 "\"pki\"", false},
	{"{\"type\":\"sigstoreSigned\",\"keyData\":\"YWJj\",\"rekorPublicKeyPath\":\"/r.pub\"}",
	 "\"rekorPublicKeyPath\" (Rekor transparency-log proofs) is not supported", true},
	{"{\"type\":\"sigstoreSigned\",\"keyData\":\"YWJj\",\"rekorPublicKeyPaths\":[\"/r.pub\"]}",
	 "\"rekorPublicKeyPaths\"", true},
	{"{\"type\":\"sigstoreSigned\",\"keyData\":\"YWJj\",\"rekorPublicKeyData\":\"YWJj\"}",
	 "\"rekorPublicKeyData\"", true},
	{"{\"type\":\"sigstoreSigned\",\"keyData\":\"YWJj\",\"rekorPublicKeyDatas\":[\"YWJj\"]}",
	 "\"rekorPublicKeyDatas\"", true},
	{"{\"type\":\"sigstoreSigned\",\"keyData\":\"YWJj\",\"rekorPublicKeyDatas\":[]}", "\"rekorPublicKeyDatas\"",
	 false},
	{"{\"type\":\"sigstoreSigned\",\"keyData\":\"YWJj\",\"rekorPublicKeyPaths\":[]}", "\"rekorPublicKeyPaths\"",
	 false},
	{"{\"type\":\"sigstoreSigned\",\"keyData\":\"YWJj\",\"rekorPublicKeyData\":\"this is invalid base64\"}",
	 "\"rekorPublicKeyData\"", false},
	{"{\"type\":\"sigstoreSigned\",\"keyData\":\"YWJj\",\"rekorPublicKeyPath\":\"/a\","
	 "\"rekorPublicKeyData\":\"YWJj\"}",
	 "\"rekorPublicKeyPath\"", false},
	{"{\"type\":\"sigstoreSigned\",\"keyData\":\"YWJj\",\"rekorPublicKeyPath\":1}", "rekorPublicKeyPath",
	 false},
	{"{\"type\":\"somethingNew\"}", "unknown requirement type \"somethingNew\"", false},
};

// What imgpull cannot honour, wherever it applies (default, docker scopes,
// docker's ""), and the same forms accepted in other transports when c/image
// would accept them.
static void test_refused_requirements(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(refused); i++) {
		_cleanup_free_ char *d = with_default(refused[i].req);
		expect_fail(d, refused[i].refusal);
		_cleanup_free_ char *s = with_scope("docker", "quay.io/ns", refused[i].req);
		expect_fail(s, "transports.docker[\"quay.io/ns\"][0]: ");
		_cleanup_free_ char *s2 = with_scope("docker", "", refused[i].req);
		expect_fail(s2, refused[i].refusal);
		for (int o = 0; o < 3; o++) {
			static const char *const others[] = {"atomic", "docker-daemon", "unknown"};
			_cleanup_free_ char *j = with_scope(others[o], "registry.example/rhel7", refused[i].req);
			if (refused[i].other_ok)
				expect_ok(j);
			else
				expect_fail(j, "transports.");
		}
	}
}

static const struct {
	const char *fields, *want; // want NULL: c/image accepts the form
} ss_fields[] = {
	{"\"keyPath\":\"/foo/bar\"", NULL},
	{"\"keyPaths\":[\"/foo/bar\",\"/foo/baz\"]", NULL},
	{"\"keyData\":\"YWJj\"", NULL},
	{"\"keyData\":\"YW\\nJj\\r\\n\"", NULL},
	{"\"keyData\":\"\"", NULL},
	{"\"keyDatas\":[\"YWJj\",\"ZGVm\"]", NULL},
	{"\"keyData\":\"YWJj\",\"signedIdentity\":{\"type\":\"matchRepository\"}", NULL},
	{"", "exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio and pki"},
	{"\"keyData\":\"YWJj\",\"keyPath\":\"/foo/bar\"", "exactly one of"},
	{"\"keyData\":\"YWJj\",\"keyPaths\":[\"/foo/bar\"]", "exactly one of"},
	{"\"keyData\":\"YWJj\",\"keyDatas\":[\"YWJj\"]", "exactly one of"},
	{"\"keyPath\":\"/a\",\"keyPaths\":[\"/b\"]", "exactly one of"},
	{"\"keyPath\":1", "\"keyPath\" must be a string"},
	{"\"keyPath\":null", "\"keyPath\" must be a string"},
	{"\"keyPath\":\"\"", "\"keyPath\" is empty"},
	{"\"keyPaths\":1", "\"keyPaths\" must be a list of strings"},
	{"\"keyPaths\":{}", "\"keyPaths\" must be a list of strings"},
	{"\"keyPaths\":[1]", "\"keyPaths\" must be a list of strings"},
	{"\"keyPaths\":[]", "\"keyPaths\" contains no entries"},
	{"\"keyPaths\":[\"/a\",\"\"]", "\"keyPaths\" contains an empty path"},
	{"\"keyData\":1", "\"keyData\" must be a base64 string"},
	{"\"keyData\":\"this is invalid base64\"", "\"keyData\" must be a base64 string"},
	{"\"keyData\":\"YWJ\"", "\"keyData\" must be a base64 string"},
	{"\"keyData\":\"YQ\"", "\"keyData\" must be a base64 string"},
	{"\"keyData\":\"YQ==YQ==\"", "\"keyData\" must be a base64 string"},
	{"\"keyData\":\"Y===\"", "\"keyData\" must be a base64 string"},
	{"\"keyData\":\"YW=j\"", "\"keyData\" must be a base64 string"},
	{"\"keyData\":\"YW-_\"", "\"keyData\" must be a base64 string"},
	{"\"keyData\":\" YWJj\"", "\"keyData\" must be a base64 string"},
	{"\"keyDatas\":1", "\"keyDatas\" must be a list of base64 strings"},
	{"\"keyDatas\":{}", "\"keyDatas\" must be a list of base64 strings"},
	{"\"keyDatas\":[\"YWJj\",\"!\"]", "\"keyDatas\" must be a list of base64 strings"},
	{"\"keyDatas\":[]", "\"keyDatas\" contains no entries"},
	{"\"fulcio\":1", "\"fulcio\" must be an object"},
	{"\"fulcio\":null", "\"fulcio\" must be an object"},
	{"\"pki\":1", "\"pki\" must be an object"},
	{"\"keyData\":\"YWJj\",\"unexpected\":1", "unknown field \"unexpected\""},
	{"\"keyData\":\"YWJj\",\"keydata\":\"YWJj\"", "unknown field \"keydata\""},
	{"\"keyData\":\"YWJj\",\"keyData\":\"YWJj\"", "field \"keyData\" appears twice"},
	{"\"keyData\":\"YWJj\",\"signedIdentity\":\"this is invalid\"", "\"signedIdentity\" must be an object"},
	{"\"keyData\":\"YWJj\",\"signedIdentity\":null", "\"signedIdentity\" must be an object"},
};

// sigstoreSigned's key fields, as c/image reads them (checked in another
// transport, where no key is decoded) and as imgpull refuses them.
static void test_sigstore_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(ss_fields); i++) {
		_cleanup_free_ char *req = xasprintf("{\"type\":\"sigstoreSigned\"%s%s}", ss_fields[i].fields[0] ? "," : "",
						     ss_fields[i].fields);
		_cleanup_free_ char *other = with_scope("containers-storage", "[overlay@/var/lib/containers]", req);
		_cleanup_free_ char *mine = with_default(req);
		if (ss_fields[i].want) {
			expect_fail(other, ss_fields[i].want);
			expect_fail(mine, ss_fields[i].want);
		} else {
			expect_ok(other);
			// Where imgpull applies it the key itself is read: these are no keys.
			expect_fail(mine, "default[0]: key");
		}
	}
}

// ---------------------------------------------------------------------------
// Keys

struct key_case {
	const char *type, *curve;
	size_t bits;
	const char *refusal; // NULL: accepted
};

static const struct key_case key_cases[] = {
	{"EC", "P-256", 0, NULL},
	{"EC", "P-384", 0, NULL},
	{"EC", "P-521", 0, NULL},
	{"RSA", NULL, 2048, NULL},
	{"RSA", NULL, 3072, NULL},
	{"ED25519", NULL, 0, NULL},
	{"RSA", NULL, 1024, "an RSA key of 1024 bits (2048 to 16384 are accepted)"},
	{"EC", "secp256k1", 0, "an EC key on curve \"secp256k1\""},
	{"EC", "P-224", 0, "an EC key on curve \"secp224r1\""},
	{"ED448", NULL, 0, "a key of type ED448"},
	{"X25519", NULL, 0, "a key of type X25519"},
	{"RSA-PSS", NULL, 2048, "a key of type RSA-PSS"},
};

static void test_key_types(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(key_cases); i++) {
		const struct key_case *kc = &key_cases[i];
		EVP_PKEY *k = keygen(kc->type, kc->curve, kc->bits);
		_cleanup_free_ char *pem = pem_of(k, false);
		_cleanup_free_ char *req = sigstore_data(pem);
		_cleanup_free_ char *json = with_default(req);
		struct policy p;
		struct err e = {0};
		int r = parse(&p, json, &e);
		if (kc->refusal) {
			if (r == 0 || e.cls != ERR_USAGE || !strstr(e.msg, kc->refusal) || !strstr(e.msg, "keyData: "))
				fail_msg("%s %s: [%s]", kc->type, kc->curve ? kc->curve : "", e.msg);
		} else {
			if (r < 0)
				fail_msg("%s %s refused: %s", kc->type, kc->curve ? kc->curve : "", e.msg);
			assert_int_equal(p.def.v[0].kind, POLICY_SIGSTORE);
			assert_int_equal(p.def.v[0].nkeys, 1);
			assert_int_equal(EVP_PKEY_eq(p.def.v[0].keys[0], k), 1);
			assert_string_equal(p.def.v[0].keys_from, "keyData");
			assert_int_equal(p.def.v[0].identity.kind, POLICY_ID_MATCH_REPO_DIGEST_OR_EXACT);
		}
		policy_release(&p);
		EVP_PKEY_free(k);
	}
}

// PEM data that is no public key; the bytes never reach the message.
static void test_key_data_refused(void **state)
{
	(void)state;
	EVP_PKEY *k = keygen("EC", "P-256", 0);
	_cleanup_free_ char *priv = pem_of(k, true);
	_cleanup_free_ char *pub = pem_of(k, false);
	_cleanup_free_ char *cert_then_pub = xasprintf("-----BEGIN CERTIFICATE-----\nYWJj\n-----END CERTIFICATE-----\n%s",
						       pub);
	_cleanup_free_ char *text_then_pub = xasprintf("comment line\n%s\ntrailing", pub);
	_cleanup_free_ char *broken = xstrdup(pub);
	broken[40] = broken[40] == 'A' ? 'B' : 'A';
	broken[41] = '*';
	static const char pkcs1[] = "-----BEGIN RSA PUBLIC KEY-----\nMIIBCgKCAQEA\n-----END RSA PUBLIC KEY-----\n";
	const struct {
		const char *pem, *want;
	} t[] = {
		{priv, "the first PEM block is not a \"PUBLIC KEY\""},
		{cert_then_pub, "the first PEM block is not a \"PUBLIC KEY\""},
		{pkcs1, "the first PEM block is not a \"PUBLIC KEY\""},
		{"abc", "not a PEM public key (no \"-----BEGIN PUBLIC KEY-----\")"},
		{"", "not a PEM public key"},
		{broken, "keyData: not a valid PEM public key"},
		{"-----BEGIN PUBLIC KEY-----\nYWJj\n-----END PUBLIC KEY-----\n", "not a valid PEM public key"},
		{"-----BEGIN PUBLIC KEY-----", "not a valid PEM public key"},
		{text_then_pub, NULL},
	};
	for (size_t i = 0; i < N(t); i++) {
		_cleanup_free_ char *b64 = base64_encode(t[i].pem, strlen(t[i].pem));
		_cleanup_free_ char *req = sigstore_data(t[i].pem);
		_cleanup_free_ char *json = with_default(req);
		struct policy p;
		struct err e = {0};
		int r = parse(&p, json, &e);
		if (!t[i].want) {
			if (r < 0)
				fail_msg("case %zu refused: %s", i, e.msg);
			assert_int_equal(EVP_PKEY_eq(p.def.v[0].keys[0], k), 1);
		} else if (r == 0 || !strstr(e.msg, t[i].want)) {
			fail_msg("case %zu: [%s], expected [%s]", i, e.msg, t[i].want);
		}
		// Neither the base64 nor the PEM's body is quoted back.
		char probe[17];
		snprintf(probe, sizeof(probe), "%s", b64);
		if (strlen(b64) >= 16 && strstr(e.msg, probe))
			fail_msg("case %zu: message quotes the key data: %s", i, e.msg);
		if (strlen(t[i].pem) > 60 && strstr(e.msg, t[i].pem + 30))
			fail_msg("case %zu: message quotes the PEM: %s", i, e.msg);
		policy_release(&p);
	}
	ERR_clear_error();
	EVP_PKEY_free(k);
}

static void test_key_lists(void **state)
{
	(void)state;
	EVP_PKEY *a = keygen("EC", "P-256", 0), *b = keygen("ED25519", NULL, 0);
	_cleanup_free_ char *pa = pem_of(a, false), *pb = pem_of(b, false);
	_cleanup_free_ char *ba = base64_encode(pa, strlen(pa)), *bb = base64_encode(pb, strlen(pb));
	_cleanup_free_ char *json = xasprintf(
		"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyDatas\":[\"%s\",\"%s\"],"
		"\"signedIdentity\":{\"type\":\"remapIdentity\",\"prefix\":\"mirror.example/ns\",\"signedPrefix\":"
		"\"quay.io/vendor\"}},{\"type\":\"sigstoreSigned\",\"keyData\":\"%s\",\"signedIdentity\":{\"type\":"
		"\"exactReference\",\"dockerReference\":\"quay.io/vendor/app:1\"}},{\"type\":\"sigstoreSigned\","
		"\"keyData\":\"%s\",\"signedIdentity\":{\"type\":\"exactRepository\",\"dockerRepository\":"
		"\"quay.io/vendor/app\"}},{\"type\":\"sigstoreSigned\",\"keyData\":\"%s\",\"signedIdentity\":"
		"{\"type\":\"matchExact\"}}]}",
		ba, bb, ba, bb, ba);
	struct policy p;
	struct err e = {0};
	if (parse(&p, json, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(p.def.n, 4);
	const struct policy_req *r = &p.def.v[0];
	assert_int_equal(r->nkeys, 2);
	assert_int_equal(EVP_PKEY_eq(r->keys[0], a), 1);
	assert_int_equal(EVP_PKEY_eq(r->keys[1], b), 1);
	assert_string_equal(r->keys_from, "keyDatas (2 keys)");
	assert_int_equal(r->identity.kind, POLICY_ID_REMAP);
	assert_string_equal(r->identity.prefix, "mirror.example/ns");
	assert_string_equal(r->identity.signed_prefix, "quay.io/vendor");
	assert_true(policy_identity_ok(&r->identity, "mirror.example/ns/app:1", "quay.io/vendor/app:1"));
	assert_false(policy_identity_ok(&r->identity, "mirror.example/ns/app:1", "mirror.example/ns/app:1"));
	assert_int_equal(p.def.v[1].identity.kind, POLICY_ID_EXACT_REFERENCE);
	assert_string_equal(p.def.v[1].identity.reference, "quay.io/vendor/app:1");
	assert_true(policy_identity_ok(&p.def.v[1].identity, "anything.example/x:2", "quay.io/vendor/app:1"));
	assert_int_equal(p.def.v[2].identity.kind, POLICY_ID_EXACT_REPOSITORY);
	assert_string_equal(p.def.v[2].identity.repository, "quay.io/vendor/app");
	assert_int_equal(p.def.v[3].identity.kind, POLICY_ID_MATCH_EXACT);
	assert_string_equal(policy_identity_kind_name(p.def.v[3].identity.kind), "matchExact");
	assert_string_equal(policy_req_kind_name(r->kind), "sigstoreSigned");
	policy_release(&p);
	// One bad key in the list names its index.
	_cleanup_free_ char *bad = xasprintf("{\"default\":[{\"type\":\"sigstoreSigned\",\"keyDatas\":[\"%s\",\"YWJj\"]}]}",
					     ba);
	expect_fail(bad, "default[0]: keyDatas[1]: not a PEM public key");
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

// Key files refused, alone and as the second of keyPaths (good is readable).
static void key_files_refused(const char *good, const char *dir, const char *big, const char *fifo)
{
	const struct {
		const char *path, *want;
	} bad[] = {
		{big, "larger than 65536 bytes"},
		{fifo, "a FIFO, not a regular file"},
		{dir, "a directory, not a regular file"},
		{"/nonexistent/cosign.pub", "cannot open: No such file or directory"},
		{"cosign.pub", "is not an absolute path"},
		{"./a.pub", "is not an absolute path"},
	};
	for (size_t i = 0; i < N(bad); i++) {
		_cleanup_free_ char *json =
			xasprintf("{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"%s\"}]}", bad[i].path);
		_cleanup_free_ char *want = xasprintf("default[0]: keyPath '%s'", bad[i].path);
		expect_fail(json, want);
		expect_fail(json, bad[i].want);
		_cleanup_free_ char *list = xasprintf(
			"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPaths\":[\"%s\",\"%s\"]}]}", good, bad[i].path);
		_cleanup_free_ char *want2 = xasprintf("default[0]: keyPaths[1] '%s'", bad[i].path);
		expect_fail(list, want2);
	}
	// Other transports never read key files.
	_cleanup_free_ char *other = xasprintf("{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker-daemon\":"
					       "{\"\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"%s\"}]}}}",
					       fifo);
	expect_ok(other);
}

// keyPath and keyPaths read, keys_from describing them.
static void key_files_read(const char *fa, EVP_PKEY *a, const char *fb, EVP_PKEY *b)
{
	_cleanup_free_ char *one = xasprintf("{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"%s\"}]}", fa);
	_cleanup_free_ char *two = xasprintf("{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPaths\":[\"%s\",\"%s\"]}]}",
					     fa, fb);
	struct policy p;
	struct err e = {0};
	assert_int_equal(parse(&p, one, &e), 0);
	assert_int_equal(EVP_PKEY_eq(p.def.v[0].keys[0], a), 1);
	_cleanup_free_ char *from = xasprintf("keyPath %s", fa);
	assert_string_equal(p.def.v[0].keys_from, from);
	policy_release(&p);
	assert_int_equal(parse(&p, two, &e), 0);
	assert_int_equal(p.def.v[0].nkeys, 2);
	assert_int_equal(EVP_PKEY_eq(p.def.v[0].keys[1], b), 1);
	_cleanup_free_ char *from2 = xasprintf("keyPaths %s, %s", fa, fb);
	assert_string_equal(p.def.v[0].keys_from, from2);
	policy_release(&p);
}

static void test_key_files(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_make(&t);
	EVP_PKEY *a = keygen("EC", "P-384", 0), *b = keygen("RSA", NULL, 2048);
	_cleanup_free_ char *pa = pem_of(a, false), *pb = pem_of(b, false);
	_cleanup_free_ char *fa = write_file(&t, "a.pub", pa, strlen(pa));
	_cleanup_free_ char *fb = write_file(&t, "b.pub", pb, strlen(pb));
	char *big = xmalloc(65537);
	memset(big, '\n', 65537);
	memcpy(big, pa, strlen(pa));
	_cleanup_free_ char *fbig = write_file(&t, "big.pub", big, 65537);
	_cleanup_free_ char *fmax = write_file(&t, "max.pub", big, 65536);
	free(big);
	_cleanup_free_ char *fifo = xasprintf("%s/fifo.pub", t.path);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	_cleanup_free_ char *link = xasprintf("%s/link.pub", t.path);
	assert_int_equal(symlink(fa, link), 0);
	key_files_read(fa, a, fb, b);
	key_files_refused(fa, t.path, fbig, fifo);
	// At the cap, and through a symbolic link: read.
	const char *fine[] = {fmax, link};
	for (size_t i = 0; i < N(fine); i++) {
		_cleanup_free_ char *json =
			xasprintf("{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"%s\"}]}", fine[i]);
		expect_ok(json);
	}
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	tmpdir_remove(&t);
}

static void test_load(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_make(&t);
	static const char doc[] = "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}";
	_cleanup_free_ char *good = write_file(&t, "policy.json", doc, strlen(doc));
	_cleanup_free_ char *bad = write_file(&t, "bad.json", "{", 1);
	char *big = xmalloc((1u << 20) + 1);
	memset(big, ' ', (1u << 20) + 1);
	memcpy(big, doc, strlen(doc));
	_cleanup_free_ char *fbig = write_file(&t, "big.json", big, (1u << 20) + 1);
	_cleanup_free_ char *fmax = write_file(&t, "max.json", big, 1u << 20);
	free(big);
	_cleanup_free_ char *fifo = xasprintf("%s/fifo.json", t.path);
	assert_int_equal(mkfifo(fifo, 0600), 0);

	struct policy p;
	struct err e = {0};
	assert_int_equal(policy_load(&p, good, &e), 0);
	assert_string_equal(p.path, good);
	assert_int_equal(p.def.v[0].kind, POLICY_ACCEPT);
	policy_release(&p);
	assert_int_equal(policy_load(&p, fmax, &e), 0);
	policy_release(&p);
	const struct {
		const char *path, *want;
	} t2[] = {
		{bad, "not valid JSON (near line 1, column 2)"},
		{fbig, "larger than 1048576 bytes"},
		{fifo, "a FIFO, not a regular file"},
		{t.path, "a directory, not a regular file"},
		{"/nonexistent/policy.json", "cannot open: No such file or directory"},
	};
	for (size_t i = 0; i < N(t2); i++) {
		e = (struct err){0};
		assert_int_equal(policy_load(&p, t2[i].path, &e), -1);
		_cleanup_free_ char *want = xasprintf("policy %s: %s", t2[i].path, t2[i].want);
		if (e.cls != ERR_USAGE || strcmp(e.msg, want) != 0)
			fail_msg("[%s], expected [%s]", e.msg, want);
		policy_release(&p);
	}
	tmpdir_remove(&t);
}

// ---------------------------------------------------------------------------
// Scopes

static void test_scope_forms(void **state)
{
	(void)state;
	static const char *const good[] = {
		"docker.io", "docker.io/library", "docker.io/library/busybox", "docker.io/library/busybox:1.36",
		"docker.io/library/busybox" DIGEST, "docker.io/foo", "docker.io/foo/bar", "quay.io", "quay.io/ns",
		"quay.io/ns/app", "quay.io/ns:tag", "localhost", "localhost/app", "localhost:5000", "localhost:5000/team",
		"127.0.0.1:5000", "[::1]:5000", "[::1]:5000/app:v1", "hostname:5000/myns/sigstore-signed",
		"Registry.Example.com/x", "*.example.com", "*.com", "*.foo", "*.temporary-project.example.com",
		"*.localhost", "registry.example.com/a/b/c/d/e:latest",
	};
	static const char *const bad[] = {
		"busybox", "library/busybox", "busybox:latest", "docker.io/busybox:latest", "docker.io/library:1",
		"index.docker.io", "index.docker.io/library/busybox", "quay.io/ns/", "quay.io//ns", "quay.io/NS",
		"quay.io/ns/app:1" DIGEST, "quay.io/ns/app@sha256:abc", "quay.io/ns/app:", "quay.io/ns/app:-x",
		"https://quay.io/ns", "quay.io:0", "quay.io:65536", "quay.io:port", "*.example.com:5000", "*.",
		"*", "*.*.com", "example*.*.com", "*example.com", "*.-example.com", "*.example..com", "*.[::1]",
		"myregistry", "hostname:5000/myns/sigstore-signed-fulcio-rekor- allows-malicious-tag-substitution",
		" quay.io", "quay.io ", "quay.io/ns\\n", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	for (size_t i = 0; i < N(good); i++) {
		_cleanup_free_ char *json = with_scope("docker", good[i], "{\"type\":\"reject\"}");
		expect_ok(json);
	}
	for (size_t i = 0; i < N(bad); i++) {
		_cleanup_free_ char *json = with_scope("docker", bad[i], "{\"type\":\"reject\"}");
		expect_fail(json, bad[i][0] == '*' && bad[i][1] == '.' ? "wildcard scope" : "is not a registry host");
		// Other transports' scopes are c/image's business: never looked at.
		_cleanup_free_ char *other = with_scope("atomic", bad[i], "{\"type\":\"reject\"}");
		expect_ok(other);
	}
}

struct lookup_case {
	const char *ref, *scope; // FALLBACK: transports.docker[""] if there is one, else the default
};

#define FALLBACK "fallback"

static void check_lookup(const struct policy *p, const struct lookup_case *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct policy_reqs *r = policy_for(p, t[i].ref);
		assert_non_null(r);
		const char *want = strcmp(t[i].scope, FALLBACK) != 0 ? t[i].scope : p->has_docker_default ? "" : "(default)";
		if (strcmp(r->scope, want) != 0)
			fail_msg("%s: scope [%s], expected [%s]", t[i].ref, r->scope, want);
	}
}

static const char *const prec_scopes[] = {
	"docker.io/library/busybox:1.36", "docker.io/library/busybox", "docker.io/library", "docker.io",
	"quay.io/ns/sub/app" DIGEST, "quay.io/ns/sub/app", "quay.io/ns/sub", "quay.io/ns", "quay.io",
	"*.example.com", "*.com", "*.b.example.com", "registry.b.example.com:5000", "localhost:5000/team",
	"[::1]:5000",
};

static const struct lookup_case prec_cases[] = {
	{"docker.io/library/busybox:1.36", "docker.io/library/busybox:1.36"},
	{"busybox:1.36", "docker.io/library/busybox:1.36"},
	{"docker.io/library/busybox:1.37", "docker.io/library/busybox"},
	{"docker.io/library/busybox" DIGEST, "docker.io/library/busybox"},
	// Both tag and digest: looked up by digest, as podman drops the tag.
	{"docker.io/library/busybox:1.36" DIGEST, "docker.io/library/busybox"},
	{"docker.io/library/alpine:3", "docker.io/library"},
	{"docker.io/foo/bar:1", "docker.io"},
	{"quay.io/ns/sub/app" DIGEST, "quay.io/ns/sub/app" DIGEST},
	{"quay.io/ns/sub/app" DIGEST_OTHER, "quay.io/ns/sub/app"},
	{"quay.io/ns/sub/app:1", "quay.io/ns/sub/app"},
	{"quay.io/ns/sub/app:1" DIGEST, "quay.io/ns/sub/app" DIGEST},
	{"quay.io/ns/sub/other:1", "quay.io/ns/sub"},
	{"quay.io/ns/sub/deeper/app:1", "quay.io/ns/sub"},
	{"quay.io/ns/subx/app:1", "quay.io/ns"},
	{"quay.io/nsx/app:1", "quay.io"},
	{"quay.io:443/ns/app:1", FALLBACK},
	{"a.b.example.com/x:1", "*.b.example.com"},
	{"registry.b.example.com:5000/x:1", "registry.b.example.com:5000"},
	{"registry.b.example.com:5001/x:1", "*.b.example.com"},
	{"registry.b.example.com/x:1", "*.b.example.com"},
	{"b.example.com/x:1", "*.example.com"},
	{"c.example.com:8443/ns/x:1", "*.example.com"},
	{"example.com/x:1", "*.com"},
	{"other.com/x:1", "*.com"},
	{"localhost:5000/team/app:1", "localhost:5000/team"},
	{"localhost:5000/team:1", "localhost:5000/team"},
	{"localhost:5000/teamx/app:1", FALLBACK},
	{"localhost/team/app:1", FALLBACK},
	{"[::1]:5000/x:1", "[::1]:5000"},
	{"[::1]:5001/x:1", FALLBACK},
	{"registry.io/x:1", FALLBACK},
	{"127.0.0.1:5000/x:1", FALLBACK},
	{"ghcr.io/org/app:v1", FALLBACK},
};

// {"default":[reject],"transports":{"docker":{SCOPE:[accept]...[,"":[reject,accept]]},"unknown":{}}}
static void prec_policy(struct policy *p, bool with_docker_default)
{
	struct buf b;
	buf_init(&b, 1u << 16);
	buf_addstr(&b, "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{");
	for (size_t i = 0; i < N(prec_scopes); i++)
		buf_printf(&b, "\"%s\":[{\"type\":\"insecureAcceptAnything\"}],", prec_scopes[i]);
	if (with_docker_default)
		buf_addstr(&b, "\"\":[{\"type\":\"reject\"},{\"type\":\"insecureAcceptAnything\"}],");
	b.data[b.len - 1] = '}';
	buf_addstr(&b, ",\"unknown\":{}}}");
	struct err e = {0};
	if (parse(p, b.data, &e) < 0)
		fail_msg("%s", e.msg);
	buf_release(&b);
}

static void test_precedence(void **state)
{
	(void)state;
	for (int with_docker_default = 0; with_docker_default < 2; with_docker_default++) {
		struct policy p;
		prec_policy(&p, with_docker_default);
		check_lookup(&p, prec_cases, N(prec_cases));
		const struct policy_reqs *r = policy_for(&p, "quay.io/ns/app:1");
		assert_int_equal(r->n, 1);
		assert_int_equal(r->v[0].kind, POLICY_ACCEPT);
		r = policy_for(&p, "registry.io/x:1");
		assert_int_equal(r->n, with_docker_default ? 2 : 1);
		assert_int_equal(r->v[0].kind, POLICY_REJECT);
		assert_int_equal(p.has_docker_default, with_docker_default);
		// A reference that does not parse gets a reject, never NULL.
		static const char *const invalid[] = {"", "UPPER/x:1", "quay.io/x:1@sha256:xyz", "a b"};
		for (size_t i = 0; i < N(invalid); i++) {
			r = policy_for(&p, invalid[i]);
			assert_string_equal(r->scope, "(invalid reference)");
			assert_int_equal(r->n, 1);
			assert_int_equal(r->v[0].kind, POLICY_REJECT);
		}
		assert_string_equal(policy_for(&p, NULL)->scope, "(invalid reference)");
		policy_release(&p);
	}
	// No transports at all, or another transport only: the default.
	struct policy p;
	struct err e = {0};
	assert_int_equal(parse(&p, "{\"default\":[{\"type\":\"insecureAcceptAnything\"}],\"transports\":{\"docker-daemon\":"
				   "{\"\":[{\"type\":\"reject\"}]}}}",
			       &e),
			 0);
	assert_string_equal(policy_for(&p, "quay.io/x:1")->scope, "(default)");
	assert_int_equal(policy_for(&p, "quay.io/x:1")->v[0].kind, POLICY_ACCEPT);
	policy_release(&p);
}

// The documentation's locked-down example, less what imgpull refuses.
static void test_documented_example(void **state)
{
	(void)state;
	EVP_PKEY *k = keygen("EC", "P-256", 0);
	_cleanup_free_ char *pem = pem_of(k, false);
	struct tmpdir t;
	tmpdir_make(&t);
	_cleanup_free_ char *kp = write_file(&t, "sigstore-pubkey.pub", pem, strlen(pem));
	_cleanup_free_ char *json = xasprintf(
		"{\n"
		"  \"default\": [{\"type\": \"reject\"}],\n"
		"  \"transports\": {\n"
		"    \"docker\": {\n"
		"      \"docker.io/openshift\": [{\"type\": \"insecureAcceptAnything\"}],\n"
		"      \"docker.io/library/busybox\": [{\"type\": \"insecureAcceptAnything\"}],\n"
		"      \"*.temporary-project.example.com\": [{\"type\": \"insecureAcceptAnything\"}],\n"
		"      \"hostname:5000/myns/sigstore-signed-with-full-references\": [\n"
		"        {\"type\": \"sigstoreSigned\", \"keyPath\": \"%s\"}],\n"
		"      \"hostname:5000/myns/sigstore-signed-allows-malicious-tag-substitution\": [\n"
		"        {\"type\": \"sigstoreSigned\", \"keyPath\": \"%s\",\n"
		"         \"signedIdentity\": {\"type\": \"matchRepository\"}}]\n"
		"    },\n"
		"    \"dir\": {\"\": [{\"type\": \"insecureAcceptAnything\"}]},\n"
		"    \"atomic\": {\n"
		"      \"hostname:5000/myns/official\": [\n"
		"        {\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": \"/path/to/official-pubkey.gpg\"}],\n"
		"      \"private-mirror:5000/vendor-mirror\": [\n"
		"        {\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": \"/path/to/vendor-pubkey.gpg\",\n"
		"         \"signedIdentity\": {\"type\": \"remapIdentity\", \"prefix\": \"private-mirror:5000/vendor-mirror\",\n"
		"                              \"signedPrefix\": \"vendor.example.com\"}}]\n"
		"    }\n"
		"  }\n"
		"}\n",
		kp, kp);
	struct policy p;
	struct err e = {0};
	if (parse(&p, json, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(p.ndocker, 5);
	const struct lookup_case lc[] = {
		{"docker.io/openshift/origin:v3", "docker.io/openshift"},
		{"docker.io/library/busybox:latest", "docker.io/library/busybox"},
		{"docker.io/library/alpine:latest", "(default)"},
		{"a.temporary-project.example.com/x/y:1", "*.temporary-project.example.com"},
		{"hostname:5000/myns/sigstore-signed-with-full-references:1",
		 "hostname:5000/myns/sigstore-signed-with-full-references"},
	};
	check_lookup(&p, lc, N(lc));
	const struct policy_reqs *r = policy_for(&p, "hostname:5000/myns/sigstore-signed-allows-malicious-tag-substitution:1");
	assert_int_equal(r->v[0].kind, POLICY_SIGSTORE);
	assert_int_equal(r->v[0].identity.kind, POLICY_ID_MATCH_REPOSITORY);
	assert_int_equal(EVP_PKEY_eq(r->v[0].keys[0], k), 1);
	policy_release(&p);
	tmpdir_remove(&t);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_exact),
		cmocka_unit_test(test_match_repository),
		cmocka_unit_test(test_match_repo_digest_or_exact),
		cmocka_unit_test(test_exact_reference),
		cmocka_unit_test(test_exact_repository),
		cmocka_unit_test(test_remap_prefix_match),
		cmocka_unit_test(test_remap_rewrite),
		cmocka_unit_test(test_remap_match),
		cmocka_unit_test(test_identity_values),
		cmocka_unit_test(test_identity_forms),
		cmocka_unit_test(test_document_forms),
		cmocka_unit_test(test_refused_requirements),
		cmocka_unit_test(test_sigstore_fields),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_key_data_refused),
		cmocka_unit_test(test_key_lists),
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_scope_forms),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_documented_example),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
