// SPDX-License-Identifier: Apache-2.0
// cosign signatures (auth/sigstore.c). Where the expectations come from:
//  - test/data/sigstore: real cosign and skopeo signatures from
//    containers/image's fixtures (README.md there), checked byte for byte:
//    the payload's digest is the manifest's, each verifies with its own key
//    and not with another.
//  - c/image's signature/internal/sigstore_payload_test.go: its table of
//    payloads broken one field at a time (TestUntrustedSigstorePayloadUnmarshalJSON)
//    and its signature cases (TestVerifySigstorePayload: bad base64, empty and
//    doubled signatures, valid signatures of "&" and "{}").
//  - keys made here with OpenSSL of each type cosign verifies, signing as
//    cosign does (SHA-256 whatever the curve, PKCS#1 v1.5, pure Ed25519),
//    against the ways a signature can fail.
//  - Go's encoding/json and base64 behaviour that c/image inherits (duplicate
//    keys, string decoding, number range, depth, padding), written out below.
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "auth/sigstore.h"
#include "oci/digest.h"
#include "util/base64.h"
#include "util/mem.h"

#define DIGEST_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TYPE "\"type\":\"cosign container image signature\""

// ---- fixtures ----

// test/data/sigstore, found from this file's own path (IMGPULL_SRC wins).
static char *data_path(const char *name)
{
	const char *src = getenv("IMGPULL_SRC");
	if (src && *src)
		return xasprintf("%s/test/data/sigstore/%s", src, name);
	const char *slash = strrchr(__FILE__, '/');
	assert_non_null(slash);
	return xasprintf("%.*s/../data/sigstore/%s", (int)(slash - __FILE__), __FILE__, name);
}

static char *slurp(const char *name, size_t *len)
{
	char *path = data_path(name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	free(path);
	char *buf = xmalloc(1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static EVP_PKEY *pem_key(const char *name)
{
	size_t len;
	char *pem = slurp(name, &len);
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	free(pem);
	assert_non_null(k);
	return k;
}

static EVP_PKEY *cert_key_text(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(x);
	EVP_PKEY *k = X509_get_pubkey(x);
	X509_free(x);
	assert_non_null(k);
	return k;
}

static EVP_PKEY *cert_key(const char *name)
{
	size_t len;
	char *pem = slurp(name, &len);
	EVP_PKEY *k = cert_key_text(pem);
	free(pem);
	return k;
}

// One signature in c/image's stored form: "\0sigstore-json\n" + JSON.
struct stored {
	char *mime;
	char *payload;
	size_t payload_len;
	char *sig; // the signature annotation
	char *cert; // dev.sigstore.cosign/certificate, or NULL
};

static void stored_load(const char *name, struct stored *s)
{
	static const char prefix[] = "\0sigstore-json\n";
	size_t len;
	char *blob = slurp(name, &len);
	assert_true(len > sizeof(prefix) - 1);
	assert_memory_equal(blob, prefix, sizeof(prefix) - 1);
	cJSON *j = cJSON_ParseWithLength(blob + sizeof(prefix) - 1, len - (sizeof(prefix) - 1));
	assert_non_null(j);
	const char *mime = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "mimeType"));
	const char *payload = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "payload"));
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(j, "annotations");
	const char *sig = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ann, SIGSTORE_ANN_SIGNATURE));
	const char *cert = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ann, "dev.sigstore.cosign/certificate"));
	assert_non_null(mime);
	assert_non_null(payload);
	assert_non_null(sig);
	s->mime = xstrdup(mime);
	s->payload = base64_decode(payload, &s->payload_len);
	assert_non_null(s->payload);
	s->sig = xstrdup(sig);
	s->cert = cert ? xstrdup(cert) : NULL;
	cJSON_Delete(j);
	free(blob);
}

static void stored_release(struct stored *s)
{
	free(s->mime);
	free(s->payload);
	free(s->sig);
	free(s->cert);
}

static void expect_verify(EVP_PKEY *k, const void *payload, size_t len, const char *sig, int cls)
{
	struct err e = {0};
	int r = sigstore_verify(k, payload, len, sig, &e);
	if (cls == ERR_NONE) {
		if (r != 0)
			fail_msg("verify failed: %s", e.msg);
		return;
	}
	assert_int_equal(r, -1);
	if ((int)e.cls != cls)
		fail_msg("class %d, want %d: %s", e.cls, cls, e.msg);
	assert_true(e.msg[0] != '\0');
	// The signature text never comes back in the message.
	if (sig && strlen(sig) >= 16) {
		char head[17];
		memcpy(head, sig, 16);
		head[16] = '\0';
		assert_null(strstr(e.msg, head));
	}
}

static void parse_ok(const char *json, const char *want_ref, const char *want_digest)
{
	struct sigstore_payload p;
	struct err e = {0};
	if (sigstore_payload_parse(json, strlen(json), &p, &e) != 0)
		fail_msg("parse failed for %s: %s", json, e.msg);
	assert_string_equal(p.docker_reference, want_ref);
	assert_string_equal(p.manifest_digest, want_digest);
	sigstore_payload_release(&p);
	assert_null(p.docker_reference);
}

static void parse_bad_len(const char *json, size_t len)
{
	struct sigstore_payload p;
	struct err e = {0};
	if (sigstore_payload_parse(json, len, &p, &e) == 0)
		fail_msg("accepted: %.*s", (int)(len > 300 ? 300 : len), json);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	assert_true(e.msg[0] != '\0');
	assert_null(strchr(e.msg, '\n'));
	assert_null(p.docker_reference);
	assert_null(p.manifest_digest);
	sigstore_payload_release(&p);
}

static void parse_bad(const char *json)
{
	parse_bad_len(json, strlen(json));
}

// ---- real cosign signatures ----

static void test_fixture_cosign_valid(void **state)
{
	(void)state;
	struct stored s;
	stored_load("dir-img-cosign-valid/signature-1", &s);
	assert_string_equal(s.mime, SIGSTORE_MT_SIMPLESIGNING);

	struct sigstore_payload p;
	struct err e = {0};
	assert_int_equal(sigstore_payload_parse(s.payload, s.payload_len, &p, &e), 0);
	assert_string_equal(p.docker_reference, "192.168.64.2:5000/cosign-signed-single-sample");
	// The digest signed is the manifest's, computed here from its bytes.
	size_t mlen;
	char *manifest = slurp("dir-img-cosign-valid/manifest.json", &mlen);
	char digest[OCI_DIGEST_LEN + 1];
	oci_digest_of(digest, manifest, mlen);
	assert_string_equal(p.manifest_digest, digest);
	assert_string_equal(digest, "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00");
	sigstore_payload_release(&p);
	free(manifest);

	EVP_PKEY *k1 = pem_key("cosign.pub"), *k2 = pem_key("cosign2.pub");
	expect_verify(k1, s.payload, s.payload_len, s.sig, ERR_NONE);
	expect_verify(k2, s.payload, s.payload_len, s.sig, ERR_UNTRUSTED);
	// One byte of the payload changed, one removed, one added.
	s.payload[10] ^= 1;
	expect_verify(k1, s.payload, s.payload_len, s.sig, ERR_UNTRUSTED);
	s.payload[10] ^= 1;
	expect_verify(k1, s.payload, s.payload_len - 1, s.sig, ERR_UNTRUSTED);
	char *longer = xmalloc(s.payload_len + 1);
	memcpy(longer, s.payload, s.payload_len);
	longer[s.payload_len] = '\n';
	expect_verify(k1, longer, s.payload_len + 1, s.sig, ERR_UNTRUSTED);
	free(longer);

	char *tag = sigstore_sig_tag(digest);
	assert_string_equal(tag, "sha256-634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00.sig");
	free(tag);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	stored_release(&s);
}

static void test_fixture_other_keys(void **state)
{
	(void)state;
	EVP_PKEY *k1 = pem_key("cosign.pub"), *k2 = pem_key("cosign2.pub"), *rsa = cert_key("pki-cert");
	struct stored s;
	struct sigstore_payload p;
	struct err e = {0};

	// skopeo's payload, with optional creator and timestamp.
	stored_load("dir-img-cosign-valid-with-tag/signature-1", &s);
	assert_int_equal(sigstore_payload_parse(s.payload, s.payload_len, &p, &e), 0);
	assert_string_equal(p.docker_reference, "192.168.64.2:5000/skopeo-signed:tag");
	assert_string_equal(p.manifest_digest, "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00");
	sigstore_payload_release(&p);
	expect_verify(k1, s.payload, s.payload_len, s.sig, ERR_NONE);
	expect_verify(k2, s.payload, s.payload_len, s.sig, ERR_UNTRUSTED);
	stored_release(&s);

	// Signed with cosign2.pub's key.
	stored_load("dir-img-cosign-key-rekor-valid/signature-1", &s);
	assert_int_equal(sigstore_payload_parse(s.payload, s.payload_len, &p, &e), 0);
	assert_string_equal(p.docker_reference, "192.168.64.2:5000/cosign-signed/key-1");
	sigstore_payload_release(&p);
	expect_verify(k2, s.payload, s.payload_len, s.sig, ERR_NONE);
	expect_verify(k1, s.payload, s.payload_len, s.sig, ERR_UNTRUSTED);
	expect_verify(rsa, s.payload, s.payload_len, s.sig, ERR_UNTRUSTED);
	stored_release(&s);

	// RSA-4096, PKCS#1 v1.5.
	stored_load("dir-img-cosign-pki-valid/signature-1", &s);
	assert_int_equal(sigstore_payload_parse(s.payload, s.payload_len, &p, &e), 0);
	assert_string_equal(p.docker_reference, "localhost:5000/test");
	assert_string_equal(p.manifest_digest, "sha256:253c890b744fe3efa923b68e3a1be07bd007eb44ba29da1e7deb1d4c53b3e212");
	sigstore_payload_release(&p);
	expect_verify(rsa, s.payload, s.payload_len, s.sig, ERR_NONE);
	expect_verify(k1, s.payload, s.payload_len, s.sig, ERR_UNTRUSTED);
	s.payload[s.payload_len / 2] ^= 0x20;
	expect_verify(rsa, s.payload, s.payload_len, s.sig, ERR_UNTRUSTED);
	stored_release(&s);

	// Fulcio: the key is the one in the signature's own certificate.
	stored_load("dir-img-cosign-fulcio-rekor-valid/signature-1", &s);
	assert_non_null(s.cert);
	EVP_PKEY *fk = cert_key_text(s.cert);
	expect_verify(fk, s.payload, s.payload_len, s.sig, ERR_NONE);
	expect_verify(k1, s.payload, s.payload_len, s.sig, ERR_UNTRUSTED);
	EVP_PKEY_free(fk);
	stored_release(&s);

	// A valid payload signed by a key we do not have.
	stored_load("unknown-cosign-key.signature", &s);
	assert_int_equal(sigstore_payload_parse(s.payload, s.payload_len, &p, &e), 0);
	sigstore_payload_release(&p);
	expect_verify(k1, s.payload, s.payload_len, s.sig, ERR_UNTRUSTED);
	expect_verify(k2, s.payload, s.payload_len, s.sig, ERR_UNTRUSTED);
	stored_release(&s);

	// Another attachment: text, not a payload.
	stored_load("dir-img-cosign-other-attachment/signature-1", &s);
	assert_string_equal(s.mime, "text/plain");
	parse_bad_len(s.payload, s.payload_len);
	stored_release(&s);

	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(rsa);
}

static void test_fixture_rekor_payload(void **state)
{
	(void)state;
	size_t plen, slen;
	char *payload = slurp("rekor-payload", &plen);
	char *sig = slurp("rekor-sig", &slen);
	EVP_PKEY *k = cert_key("rekor-cert"), *k1 = pem_key("cosign.pub");
	expect_verify(k, payload, plen, sig, ERR_NONE);
	expect_verify(k1, payload, plen, sig, ERR_UNTRUSTED);
	// A newline inside the base64 is skipped, as Go's decoder skips it.
	char *split = xasprintf("%.20s\r\n%s", sig, sig + 20);
	expect_verify(k, payload, plen, split, ERR_NONE);
	free(split);
	struct sigstore_payload p;
	struct err e = {0};
	assert_int_equal(sigstore_payload_parse(payload, plen, &p, &e), 0);
	assert_string_equal(p.docker_reference, "192.168.64.2:5000/test-repo-2100826901021538654/alpine");
	assert_string_equal(p.manifest_digest, "sha256:fa93b01658e3a5a1686dc3ae55f170d8de487006fb53a28efcd12ab0710a2e5f");
	sigstore_payload_release(&p);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k1);
	free(payload);
	free(sig);
}

// TestVerifySigstorePayload's signature cases, with cosign.pub.
static void test_cimage_verify_cases(void **state)
{
	(void)state;
	EVP_PKEY *k = pem_key("cosign.pub");
	struct stored s;
	stored_load("dir-img-cosign-valid/signature-1", &s);
	size_t n = strlen(s.sig);

	// Invalid base64: a bad character, extra padding, truncated.
	expect_verify(k, s.payload, s.payload_len, "&", ERR_INTEGRITY);
	char *extra = xasprintf("%s=", s.sig);
	expect_verify(k, s.payload, s.payload_len, extra, ERR_INTEGRITY);
	free(extra);
	char *trunc = xstrndup(s.sig, n - 1);
	expect_verify(k, s.payload, s.payload_len, trunc, ERR_INTEGRITY);
	free(trunc);

	// Invalid signatures: empty, text, the valid one twice.
	size_t raw_len;
	char *raw = base64_decode(s.sig, &raw_len);
	char *twice_raw = xmalloc(2 * raw_len);
	memcpy(twice_raw, raw, raw_len);
	memcpy(twice_raw + raw_len, raw, raw_len);
	char *twice = base64_encode(twice_raw, 2 * raw_len);
	char *text = base64_encode("invalid signature", 17);
	expect_verify(k, s.payload, s.payload_len, "", ERR_UNTRUSTED);
	expect_verify(k, s.payload, s.payload_len, text, ERR_UNTRUSTED);
	expect_verify(k, s.payload, s.payload_len, twice, ERR_UNTRUSTED);
	free(raw);
	free(twice_raw);
	free(twice);
	free(text);

	// Valid signatures of "&" and of "{}": they verify, the payloads do not parse.
	const char *amp = "MEUCIARnnxZQPALBfqkB4aNAYXad79Qs6VehcrgIeZ8p7I2FAiEAzq2HXwXlz1iJeh+ucUR3L0zpjynQk6Rk0+/gXYp49RU=";
	const char *braces = "MEUCIQDkySOBGxastVP0+koTA33NH5hXjwosFau4rxTPN6g48QIgb7eWKkGqfEpHMM3aT4xiqyP/170jEkdFuciuwN4mux4=";
	expect_verify(k, "&", 1, amp, ERR_NONE);
	expect_verify(k, "{}", 2, braces, ERR_NONE);
	expect_verify(k, "{}", 2, amp, ERR_UNTRUSTED);
	parse_bad("&");
	parse_bad("{}");

	// No annotation at all.
	expect_verify(k, s.payload, s.payload_len, NULL, ERR_INTEGRITY);
	// Longer than the cap, though otherwise valid base64.
	char *huge = xmalloc(SIGSTORE_SIG_B64_MAX + 5);
	memset(huge, 'A', SIGSTORE_SIG_B64_MAX + 4);
	huge[SIGSTORE_SIG_B64_MAX + 4] = '\0';
	expect_verify(k, s.payload, s.payload_len, huge, ERR_INTEGRITY);
	huge[SIGSTORE_SIG_B64_MAX] = '\0';
	expect_verify(k, s.payload, s.payload_len, huge, ERR_UNTRUSTED);
	free(huge);

	EVP_PKEY_free(k);
	stored_release(&s);
}

// ---- keys made here ----

static EVP_PKEY *gen(const char *type, const char *param)
{
	EVP_PKEY *k = NULL;
	if (!strcmp(type, "EC"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
	else if (!strcmp(type, "RSA"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, type, (size_t)strtoul(param, NULL, 10));
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, type);
	if (!k)
		fail_msg("cannot make a %s %s key", type, param ? param : "");
	return k;
}

// base64 of key's signature over msg; md NULL for Ed25519; pss for RSA-PSS padding.
static char *sign_b64(EVP_PKEY *key, const EVP_MD *md, bool pss, const void *msg, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	assert_int_equal(EVP_DigestSignInit(ctx, &pctx, md, NULL, key), 1);
	if (pss)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, msg, len), 1);
	EVP_MD_CTX_free(ctx);
	return base64_encode(sig, siglen);
}

static const char payload1[] =
	"{\"critical\":{\"identity\":{\"docker-reference\":\"registry.example.com/app\"},"
	"\"image\":{\"docker-manifest-digest\":\"" DIGEST_A "\"}," TYPE "},\"optional\":null}";
static const char payload2[] =
	"{\"critical\":{\"identity\":{\"docker-reference\":\"registry.example.com/other\"},"
	"\"image\":{\"docker-manifest-digest\":\"" DIGEST_A "\"}," TYPE "},\"optional\":null}";

// The failures every key type shares.
static void check_key_type(const char *type, const char *param, const EVP_MD *md)
{
	EVP_PKEY *k = gen(type, param), *other = gen(type, param);
	size_t len = sizeof(payload1) - 1;
	char *sig = sign_b64(k, md, false, payload1, len);
	char *sig2 = sign_b64(k, md, false, payload2, sizeof(payload2) - 1);

	expect_verify(k, payload1, len, sig, ERR_NONE);
	expect_verify(other, payload1, len, sig, ERR_UNTRUSTED);       // another key
	expect_verify(k, payload1, len, sig2, ERR_UNTRUSTED);          // another payload's
	char changed[sizeof(payload1)];
	memcpy(changed, payload1, sizeof(payload1));
	changed[len / 2] ^= 1;
	expect_verify(k, changed, len, sig, ERR_UNTRUSTED);            // one byte changed
	size_t raw_len;
	unsigned char *raw = (unsigned char *)base64_decode(sig, &raw_len);
	raw[raw_len / 2] ^= 0x10;
	char *flipped = base64_encode(raw, raw_len);
	expect_verify(k, payload1, len, flipped, ERR_UNTRUSTED);       // signature bit flipped
	raw[raw_len / 2] ^= 0x10;
	char *cut = base64_encode(raw, raw_len - 1);
	expect_verify(k, payload1, len, cut, ERR_UNTRUSTED);           // a byte short
	char *trunc = xstrndup(sig, strlen(sig) - 1);
	expect_verify(k, payload1, len, trunc, ERR_INTEGRITY);         // truncated base64
	expect_verify(k, payload1, len, "not base64 at all!", ERR_INTEGRITY);
	expect_verify(k, payload1, len, "QUJD*EVG", ERR_INTEGRITY);
	char *lf = xasprintf("%.8s\n%s\n", sig, sig + 8);
	expect_verify(k, payload1, len, lf, ERR_NONE);                 // LF skipped, as in Go
	char *tab = xasprintf("%.8s\t%s", sig, sig + 8);
	expect_verify(k, payload1, len, tab, ERR_INTEGRITY);           // other whitespace is not
	char *sp = xasprintf(" %s", sig);
	expect_verify(k, payload1, len, sp, ERR_INTEGRITY);
	if (strchr(sig, '=')) {                                        // padding is required
		char *unpadded = xstrndup(sig, strcspn(sig, "="));
		expect_verify(k, payload1, len, unpadded, ERR_INTEGRITY);
		free(unpadded);
	}
	free(raw);
	free(flipped);
	free(cut);
	free(trunc);
	free(lf);
	free(tab);
	free(sp);
	free(sig);
	free(sig2);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

static void test_generated_keys(void **state)
{
	(void)state;
	check_key_type("EC", "P-256", EVP_sha256());
	check_key_type("EC", "P-384", EVP_sha256());
	check_key_type("EC", "P-521", EVP_sha256());
	check_key_type("EC", "P-224", EVP_sha256());
	check_key_type("RSA", "2048", EVP_sha256());
	check_key_type("RSA", "3072", EVP_sha256());
	check_key_type("ED25519", NULL, NULL);
}

// SHA-256 is the hash for every curve (c/image's sigstoreHarcodedHashAlgorithm,
// cosign's default): a P-384 or P-521 signature over SHA-384/512 does not verify.
static void test_ecdsa_hash_is_sha256(void **state)
{
	(void)state;
	static const struct {
		const char *curve;
		const EVP_MD *(*md)(void);
	} cases[] = {{"P-384", EVP_sha384}, {"P-521", EVP_sha512}, {"P-256", EVP_sha512}, {"P-256", EVP_sha1}};
	size_t len = sizeof(payload1) - 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *k = gen("EC", cases[i].curve);
		char *sig = sign_b64(k, cases[i].md(), false, payload1, len);
		expect_verify(k, payload1, len, sig, ERR_UNTRUSTED);
		free(sig);
		EVP_PKEY_free(k);
	}
}

// The DER signature of key over payload1, and its r and s as fixed-size big-endian halves.
static unsigned char *ecdsa_der(EVP_PKEY *k, size_t *len)
{
	char *b64 = sign_b64(k, EVP_sha256(), false, payload1, sizeof(payload1) - 1);
	unsigned char *der = (unsigned char *)base64_decode(b64, len);
	free(b64);
	return der;
}

static char *p1363_b64(const unsigned char *der, size_t derlen, size_t half)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	assert_non_null(es);
	unsigned char *raw = xcalloc(2, half);
	assert_true(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)half) > 0);
	assert_true(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, (int)half) > 0);
	char *b64 = base64_encode(raw, 2 * half);
	free(raw);
	ECDSA_SIG_free(es);
	return b64;
}

// sigstore's ECDSAVerifier also takes IEEE P1363 r||s when encoding/asn1
// cannot read the bytes: any even length up to 132, halves read as numbers.
static void test_ecdsa_p1363(void **state)
{
	(void)state;
	size_t len = sizeof(payload1) - 1, derlen;
	static const struct {
		const char *curve;
		size_t half;
	} curves[] = {{"P-256", 32}, {"P-384", 48}, {"P-521", 66}};
	for (size_t i = 0; i < 3; i++) {
		EVP_PKEY *k = gen("EC", curves[i].curve);
		unsigned char *der = ecdsa_der(k, &derlen);
		char *raw = p1363_b64(der, derlen, curves[i].half);
		expect_verify(k, payload1, len, raw, ERR_NONE);
		char *wide = p1363_b64(der, derlen, 66); // zero-padded halves, 132 bytes
		expect_verify(k, payload1, len, wide, ERR_NONE);
		char *too_wide = p1363_b64(der, derlen, 67); // 134 bytes: refused
		expect_verify(k, payload1, len, too_wide, ERR_UNTRUSTED);
		// DER with a byte after it: encoding/asn1 still reads it, so it is
		// checked as DER (strictly) and refused, not retried as r||s.
		unsigned char *longer = xmalloc(derlen + 1);
		memcpy(longer, der, derlen);
		longer[derlen] = 0;
		char *trail = base64_encode(longer, derlen + 1);
		expect_verify(k, payload1, len, trail, ERR_UNTRUSTED);
		// Odd-length r||s.
		size_t rl;
		unsigned char *rr = (unsigned char *)base64_decode(raw, &rl);
		char *odd = base64_encode(rr, rl - 1);
		expect_verify(k, payload1, len, odd, ERR_UNTRUSTED);
		// r = 0 or s = 0.
		memset(rr, 0, rl / 2);
		char *zr = base64_encode(rr, rl);
		expect_verify(k, payload1, len, zr, ERR_UNTRUSTED);
		free(rr);
		free(zr);
		free(odd);
		free(trail);
		free(longer);
		free(too_wide);
		free(wide);
		free(raw);
		free(der);
		EVP_PKEY_free(k);
	}

	// r||s starting with 0x30 (a SEQUENCE tag) that encoding/asn1 still cannot
	// read (the byte after the length is no INTEGER tag): taken as r||s, not
	// refused as bad DER. Signatures are made until r begins that way (1 in ~500).
	EVP_PKEY *k = gen("EC", "P-256");
	char *found = NULL;
	for (int tries = 0; tries < 100000 && !found; tries++) {
		unsigned char *der = ecdsa_der(k, &derlen);
		char *raw = p1363_b64(der, derlen, 32);
		size_t rl;
		unsigned char *rr = (unsigned char *)base64_decode(raw, &rl);
		if (rr[0] == 0x30 && rr[1] < 0x80 && rr[2] != 0x02)
			found = steal_pointer(&raw);
		free(rr);
		free(raw);
		free(der);
	}
	assert_non_null(found);
	expect_verify(k, payload1, len, found, ERR_NONE);
	free(found);
	EVP_PKEY_free(k);
}

// c/image loads RSA keys with LoadVerifier, which means PKCS#1 v1.5 only.
static void test_rsa_pkcs1_only(void **state)
{
	(void)state;
	size_t len = sizeof(payload1) - 1;
	EVP_PKEY *k = gen("RSA", "2048");
	char *pss = sign_b64(k, EVP_sha256(), true, payload1, len);
	expect_verify(k, payload1, len, pss, ERR_UNTRUSTED);
	char *sha512 = sign_b64(k, EVP_sha512(), false, payload1, len);
	expect_verify(k, payload1, len, sha512, ERR_UNTRUSTED);
	free(pss);
	free(sha512);
	EVP_PKEY_free(k);

	// Keys under 1024 bits: refused whatever the signature (Go 1.24's minimum).
	EVP_PKEY *small = gen("RSA", "768");
	char *sig = sign_b64(small, EVP_sha256(), false, payload1, len);
	struct err e = {0};
	assert_int_equal(sigstore_verify(small, payload1, len, sig, &e), -1);
	assert_int_equal(e.cls, ERR_UNTRUSTED);
	assert_non_null(strstr(e.msg, "768"));
	free(sig);
	EVP_PKEY_free(small);
}

// Ed25519 is pure: a signature over the payload's SHA-512 or SHA-256 is not one over the payload.
static void test_ed25519_pure(void **state)
{
	(void)state;
	size_t len = sizeof(payload1) - 1;
	EVP_PKEY *k = gen("ED25519", NULL);
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl;
	assert_int_equal(EVP_Digest(payload1, len, h, &hl, EVP_sha512(), NULL), 1);
	char *over_hash = sign_b64(k, NULL, false, h, hl);
	expect_verify(k, payload1, len, over_hash, ERR_UNTRUSTED);
	assert_int_equal(EVP_Digest(payload1, len, h, &hl, EVP_sha256(), NULL), 1);
	char *over_sha256 = sign_b64(k, NULL, false, h, hl);
	expect_verify(k, payload1, len, over_sha256, ERR_UNTRUSTED);
	free(over_hash);
	free(over_sha256);
	EVP_PKEY_free(k);
}

static void expect_key_refused(EVP_PKEY *k, const char *sig, const char *name)
{
	struct err e = {0};
	assert_int_equal(sigstore_verify(k, payload1, sizeof(payload1) - 1, sig, &e), -1);
	assert_int_equal(e.cls, ERR_UNTRUSTED);
	if (!strstr(e.msg, name))
		fail_msg("message does not name \"%s\": %s", name, e.msg);
}

// Key types LoadVerifier has no verifier for, and curves Go cannot load.
static void test_wrong_key_types(void **state)
{
	(void)state;
	ERR_clear_error();
	size_t len = sizeof(payload1) - 1;
	EVP_PKEY *ed448 = gen("ED448", NULL);
	char *sig448 = sign_b64(ed448, NULL, false, payload1, len);
	expect_key_refused(ed448, sig448, "ED448");
	free(sig448);
	EVP_PKEY_free(ed448);

	EVP_PKEY *x = gen("X25519", NULL);
	expect_key_refused(x, "AAAA", "X25519");
	EVP_PKEY_free(x);

	EVP_PKEY_CTX *pssc = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
	EVP_PKEY *pss = NULL;
	assert_int_equal(EVP_PKEY_keygen_init(pssc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(pssc, 2048), 1);
	assert_int_equal(EVP_PKEY_keygen(pssc, &pss), 1);
	EVP_PKEY_CTX_free(pssc);
	char *sigpss = sign_b64(pss, EVP_sha256(), false, payload1, len);
	expect_key_refused(pss, sigpss, "RSA-PSS");
	free(sigpss);
	EVP_PKEY_free(pss);

	EVP_PKEY *k1 = gen("EC", "secp256k1");
	char *sigk1 = sign_b64(k1, EVP_sha256(), false, payload1, len);
	expect_key_refused(k1, sigk1, "secp256k1");
	free(sigk1);
	EVP_PKEY_free(k1);

	EVP_PKEY *bp = gen("EC", "brainpoolP256r1");
	char *sigbp = sign_b64(bp, EVP_sha256(), false, payload1, len);
	expect_key_refused(bp, sigbp, "brainpoolP256r1");
	free(sigbp);
	EVP_PKEY_free(bp);

	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL);
	EVP_PKEY *params = NULL, *dsa = NULL;
	assert_int_equal(EVP_PKEY_paramgen_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_dsa_paramgen_bits(pc, 1024), 1);
	assert_int_equal(EVP_PKEY_paramgen(pc, &params), 1);
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL);
	assert_int_equal(EVP_PKEY_keygen_init(kc), 1);
	assert_int_equal(EVP_PKEY_keygen(kc, &dsa), 1);
	char *sigdsa = sign_b64(dsa, EVP_sha256(), false, payload1, len);
	expect_key_refused(dsa, sigdsa, "DSA");
	free(sigdsa);
	EVP_PKEY_free(dsa);
	EVP_PKEY_free(params);
	EVP_PKEY_CTX_free(kc);
	EVP_PKEY_CTX_free(pc);
	// Nothing is left on OpenSSL's error queue for others to trip over.
	assert_int_equal(ERR_peek_error(), 0);
}

// ---- the payload ----

#define V_CRIT(ident, image, type) "\"critical\":{\"identity\":" ident ",\"image\":" image "," type "}"
#define V_IDENT "{\"docker-reference\":\"reference#@!\"}"
#define V_IMAGE "{\"docker-manifest-digest\":\"" DIGEST_A "\"}"
#define V_OPT "\"optional\":{\"creator\":\"CREATOR\",\"timestamp\":1484683104}"
#define VALID "{" V_CRIT(V_IDENT, V_IMAGE, TYPE) "," V_OPT "}"

// TestUntrustedSigstorePayloadUnmarshalJSON, case by case.
static void test_cimage_payload_table(void **state)
{
	(void)state;
	parse_ok(VALID, "reference#@!", DIGEST_A);
	// The /usr/bin/cosign-generated payload of that test.
	parse_ok("{\"critical\":{\"identity\":{\"docker-reference\":\"192.168.64.2:5000/cosign-signed-multi\"},"
		 "\"image\":{\"docker-manifest-digest\":\"sha256:43955d6857268cc948ae9b370b221091057de83c4962da0826f9a2bdc9bd6b44\"},"
		 TYPE "},\"optional\":null}",
		 "192.168.64.2:5000/cosign-signed-multi",
		 "sha256:43955d6857268cc948ae9b370b221091057de83c4962da0826f9a2bdc9bd6b44");
	static const char *const broken[] = {
		"&", "1",
		"{" V_OPT "}",                                                  // critical missing
		"{" V_CRIT(V_IDENT, V_IMAGE, TYPE) "}",                         // optional missing
		"{" V_CRIT(V_IDENT, V_IMAGE, TYPE) "," V_OPT ",\"unexpected\":1}",
		"{\"critical\":1," V_OPT "}",
		"{" V_CRIT(V_IDENT, V_IMAGE, TYPE) ",\"optional\":1}",
		"{\"critical\":{\"identity\":" V_IDENT ",\"image\":" V_IMAGE "}," V_OPT "}", // type missing
		"{\"critical\":{\"identity\":" V_IDENT "," TYPE "}," V_OPT "}",              // image missing
		"{\"critical\":{\"image\":" V_IMAGE "," TYPE "}," V_OPT "}",                 // identity missing
		"{\"critical\":{\"identity\":" V_IDENT ",\"image\":" V_IMAGE "," TYPE ",\"unexpected\":1}," V_OPT "}",
		"{" V_CRIT(V_IDENT, V_IMAGE, "\"type\":1") "," V_OPT "}",
		"{" V_CRIT(V_IDENT, V_IMAGE, "\"type\":\"unexpected\"") "," V_OPT "}",
		"{" V_CRIT(V_IDENT, "1", TYPE) "," V_OPT "}",
		"{" V_CRIT(V_IDENT, "{}", TYPE) "," V_OPT "}",
		"{" V_CRIT(V_IDENT, "{\"docker-manifest-digest\":\"" DIGEST_A "\",\"unexpected\":1}", TYPE) "," V_OPT "}",
		"{" V_CRIT(V_IDENT, "{\"docker-manifest-digest\":1}", TYPE) "," V_OPT "}",
		"{" V_CRIT(V_IDENT, "{\"docker-manifest-digest\":\"sha256:../..\"}", TYPE) "," V_OPT "}",
		"{" V_CRIT("1", V_IMAGE, TYPE) "," V_OPT "}",
		"{" V_CRIT("{}", V_IMAGE, TYPE) "," V_OPT "}",
		"{" V_CRIT("{\"docker-reference\":\"r\",\"unexpected\":1}", V_IMAGE, TYPE) "," V_OPT "}",
		"{" V_CRIT("{\"docker-reference\":1}", V_IMAGE, TYPE) "," V_OPT "}",
		"{" V_CRIT(V_IDENT, V_IMAGE, TYPE) ",\"optional\":{\"creator\":1,\"timestamp\":1484683104}}",
		"{" V_CRIT(V_IDENT, V_IMAGE, TYPE) ",\"optional\":{\"creator\":\"C\",\"timestamp\":\"unexpected\"}}",
		"{" V_CRIT(V_IDENT, V_IMAGE, TYPE) ",\"optional\":{\"creator\":\"C\",\"timestamp\":0.5}}",
	};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++)
		parse_bad(broken[i]);
	// Unknown optional fields are ignored; creator and timestamp may be missing.
	parse_ok("{" V_CRIT(V_IDENT, V_IMAGE, TYPE) ",\"optional\":{\"creator\":\"C\",\"timestamp\":1,\"unexpected\":1}}",
		 "reference#@!", DIGEST_A);
	parse_ok("{" V_CRIT(V_IDENT, V_IMAGE, TYPE) ",\"optional\":{}}", "reference#@!", DIGEST_A);
}

#define WITH_OPT(opt) "{" V_CRIT(V_IDENT, V_IMAGE, TYPE) ",\"optional\":" opt "}"
#define WITH_REF(ref) "{" V_CRIT("{\"docker-reference\":" ref "}", V_IMAGE, TYPE) ",\"optional\":null}"
#define WITH_DIGEST(d) "{" V_CRIT(V_IDENT, "{\"docker-manifest-digest\":" d "}", TYPE) ",\"optional\":null}"

// What ParanoidUnmarshalJSONObject and encoding/json add to the table.
static void test_payload_go_json(void **state)
{
	(void)state;
	// Duplicate keys, at every level, also when only the decoded keys are equal.
	parse_bad("{" V_CRIT(V_IDENT, V_IMAGE, TYPE) "," V_CRIT(V_IDENT, V_IMAGE, TYPE) ",\"optional\":null}");
	parse_bad("{" V_CRIT(V_IDENT, V_IMAGE, TYPE) ",\"optional\":null,\"optional\":null}");
	parse_bad("{" V_CRIT(V_IDENT, V_IMAGE, TYPE "," TYPE) ",\"optional\":null}");
	parse_bad(WITH_DIGEST("\"" DIGEST_A "\",\"docker-manifest-digest\":\"" DIGEST_A "\""));
	parse_bad(WITH_REF("\"a\",\"docker-reference\":\"a\""));
	parse_bad(WITH_OPT("{\"creator\":\"a\",\"creator\":\"b\"}"));
	parse_bad(WITH_OPT("{\"x\":1,\"y\":2,\"x\":3}"));
	parse_bad(WITH_OPT("{\"ab\":1,\"a\\u0062\":2}"));
	parse_bad(WITH_OPT("{\"\xff\":1,\"\xfe\":2}")); // both decode to U+FFFD
	parse_ok(WITH_OPT("{\"x\":{\"k\":1,\"k\":2}}"), "reference#@!", DIGEST_A); // nested: a Go map
	// Escapes in keys and values are decoded before comparing.
	parse_ok("{\"crit\\u0069cal\":{\"identity\":" V_IDENT ",\"image\":" V_IMAGE
		 ",\"type\":\"cosign container image signatur\\u0065\"},\"optional\":null}",
		 "reference#@!", DIGEST_A);
	// Key names are case-sensitive.
	parse_bad("{\"Critical\":{\"identity\":" V_IDENT ",\"image\":" V_IMAGE "," TYPE "},\"optional\":null}");
	parse_bad(WITH_DIGEST("null"));
	parse_bad("{" V_CRIT(V_IDENT, "null", TYPE) ",\"optional\":null}");
	parse_bad("{" V_CRIT("null", V_IMAGE, TYPE) ",\"optional\":null}");
	parse_bad("{" V_CRIT(V_IDENT, V_IMAGE, "\"type\":null") ",\"optional\":null}");
	parse_bad("{\"critical\":null,\"optional\":null}");
	// A null docker-reference reads as "", as in Go.
	parse_ok(WITH_REF("null"), "", DIGEST_A);
	parse_ok(WITH_OPT("{\"creator\":null,\"timestamp\":null}"), "reference#@!", DIGEST_A);
	// Whitespace around; nothing else after.
	parse_ok(" \t\r\n" VALID " \n", "reference#@!", DIGEST_A);
	parse_bad(VALID "x");
	parse_bad(VALID "{}");
	parse_bad(VALID "\f");
	parse_bad("\xef\xbb\xbf" VALID); // a BOM
	parse_bad("");
	parse_bad("null");
	parse_bad("[]");
	parse_bad("{" V_CRIT(V_IDENT, V_IMAGE, TYPE) ",\"optional\":null,}");
	struct sigstore_payload p;
	struct err e = {0};
	assert_int_equal(sigstore_payload_parse(NULL, 0, &p, &e), -1);
	// Invalid JSON inside an ignored optional field is still invalid.
	parse_bad(WITH_OPT("{\"x\":[1,]}"));
	parse_bad(WITH_OPT("{\"x\":{\"a\"}}"));
	parse_bad(WITH_OPT("{\"x\":tru}"));
	parse_bad(WITH_OPT("{\"x\":'a'}"));
	parse_ok(WITH_OPT("{\"x\":[true,false,null,\"s\",{},[],{\"a\":[{}]},-0.5e-3]}"), "reference#@!", DIGEST_A);
}

static void test_payload_numbers(void **state)
{
	(void)state;
	static const char *const bad_numbers[] = {"01", "+1", ".5", "1.", "1e", "1e+", "-", "--1", "0x1", "1_000",
						  "Infinity", "NaN", "1e400", "-1e400"};
	char buf[512];
	for (size_t i = 0; i < sizeof(bad_numbers) / sizeof(bad_numbers[0]); i++) {
		snprintf(buf, sizeof(buf), WITH_OPT("{\"x\":%s}"), bad_numbers[i]);
		parse_bad(buf);
		snprintf(buf, sizeof(buf), WITH_OPT("{\"timestamp\":%s}"), bad_numbers[i]);
		parse_bad(buf);
	}
	// Go reads these into float64 without error (1e-400 underflows to 0).
	static const char *const ok_numbers[] = {"0", "-0", "1e-400", "1E5", "1.5e+2", "-12.25", "1.7976931348623157e308"};
	for (size_t i = 0; i < sizeof(ok_numbers) / sizeof(ok_numbers[0]); i++) {
		snprintf(buf, sizeof(buf), WITH_OPT("{\"x\":[%s]}"), ok_numbers[i]);
		parse_ok(buf, "reference#@!", DIGEST_A);
	}
	// timestamp: a whole number fitting an int64, however written.
	static const char *const ok_ts[] = {"0", "-0", "1.0", "1e3", "1484683104", "-9223372036854775808",
					    "9223372036854774784", "1e-400"};
	for (size_t i = 0; i < sizeof(ok_ts) / sizeof(ok_ts[0]); i++) {
		snprintf(buf, sizeof(buf), WITH_OPT("{\"timestamp\":%s}"), ok_ts[i]);
		parse_ok(buf, "reference#@!", DIGEST_A);
	}
	static const char *const bad_ts[] = {"0.5", "1e-3", "9223372036854775808", "-9223372036854777856", "1e19",
					     "true", "\"1\"", "[1]", "{}"};
	for (size_t i = 0; i < sizeof(bad_ts) / sizeof(bad_ts[0]); i++) {
		snprintf(buf, sizeof(buf), WITH_OPT("{\"timestamp\":%s}"), bad_ts[i]);
		parse_bad(buf);
	}
}

static void check_ref(const char *json_string, const char *want, size_t want_len)
{
	char *doc = xasprintf(WITH_REF("%s"), json_string);
	struct sigstore_payload p;
	struct err e = {0};
	if (sigstore_payload_parse(doc, strlen(doc), &p, &e) != 0)
		fail_msg("%s: %s", doc, e.msg);
	assert_int_equal(strlen(p.docker_reference), want_len);
	assert_memory_equal(p.docker_reference, want, want_len);
	sigstore_payload_release(&p);
	free(doc);
}

// Strings are decoded as Go decodes them.
static void test_payload_strings(void **state)
{
	(void)state;
	check_ref("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\te\"", "a\"b\\c/d\b\f\n\r\te", 13);
	check_ref("\"\\u00e9\\u20AC\"", "\xc3\xa9\xe2\x82\xac", 5);
	check_ref("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);            // a surrogate pair
	check_ref("\"\\ud83dx\"", "\xef\xbf\xbdx", 4);                       // lone high surrogate
	check_ref("\"\\ude00\\ud83d\"", "\xef\xbf\xbd\xef\xbf\xbd", 6);      // low then high
	check_ref("\"\\ud83d\\ud83d\\ude00\"", "\xef\xbf\xbd\xf0\x9f\x98\x80", 7);
	check_ref("\"\\ud83d\\\\ude00\"", "\xef\xbf\xbd\\ude00", 9);          // not a \u after it
	check_ref("\"a\xffz\"", "a\xef\xbf\xbdz", 5);                         // invalid UTF-8
	check_ref("\"\xc0\xaf\"", "\xef\xbf\xbd\xef\xbf\xbd", 6);             // overlong
	check_ref("\"\xed\xa0\x80\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9); // UTF-8 surrogate
	check_ref("\"\xf4\x90\x80\x80\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12); // > U+10FFFF
	check_ref("\"\xe2\x82\"", "\xef\xbf\xbd\xef\xbf\xbd", 6);             // truncated sequence
	check_ref("\"\xf0\x9f\x98\x80\x7f\"", "\xf0\x9f\x98\x80\x7f", 5);     // valid, and DEL
	check_ref("\"\"", "", 0);
	parse_bad(WITH_REF("\"a\\u0000b\"")); // a NUL could cut the reference short
	parse_bad(WITH_REF("\"a\x01z\""));
	parse_bad(WITH_REF("\"a\nz\""));
	parse_bad(WITH_REF("\"\\x41\""));
	parse_bad(WITH_REF("\"\\u12\""));
	parse_bad(WITH_REF("\"\\u12g4\""));
	parse_bad(WITH_REF("\"\\U0041\""));
	parse_bad(WITH_REF("\"abc"));
	parse_bad(WITH_REF("\"abc\\\""));
	parse_bad(WITH_REF("'abc'"));
	// A NUL byte (not an escape) in the payload is a control character.
	static const char nul[] = WITH_REF("\"a\0b\"");
	parse_bad_len(nul, sizeof(nul) - 1);
}

static void test_payload_digests(void **state)
{
	(void)state;
	parse_ok(WITH_DIGEST("\"sha512:" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
		 "reference#@!",
		 "sha512:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	parse_ok(WITH_DIGEST("\"sha256:\\u0061aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
		 "reference#@!", DIGEST_A);
	static const char *const bad[] = {
		"\"\"", "\"sha256:\"", "\"sha256\"", "\":aaaa\"",
		"\"sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"",
		"\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
		"\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
		"\"" DIGEST_A "\\u0000\"",
		"\" " DIGEST_A "\"",
		"\"sha384:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
		"\"md5:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
		"[\"" DIGEST_A "\"]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *doc = xasprintf(WITH_DIGEST("%s"), bad[i]);
		parse_bad(doc);
		free(doc);
	}
}

// Nesting: encoding/json allows 10000 levels in all, the payload's own two included.
static void test_payload_depth_and_size(void **state)
{
	(void)state;
	const char *head = "{" V_CRIT(V_IDENT, V_IMAGE, TYPE) ",\"optional\":{\"x\":";
	for (size_t levels = 9998; levels <= 9999; levels++) {
		size_t hl = strlen(head), n = hl + 2 * levels + 2;
		char *doc = xmalloc(n + 1);
		memcpy(doc, head, hl);
		memset(doc + hl, '[', levels);
		memset(doc + hl + levels, ']', levels);
		memcpy(doc + hl + 2 * levels, "}}", 3);
		struct sigstore_payload p;
		struct err e = {0};
		int r = sigstore_payload_parse(doc, n, &p, &e);
		if (levels == 9998) {
			if (r != 0)
				fail_msg("10000 levels refused: %s", e.msg);
			sigstore_payload_release(&p);
		} else {
			assert_int_equal(r, -1);
			assert_int_equal(e.cls, ERR_INTEGRITY);
		}
		free(doc);
	}
	// Objects count too.
	size_t levels = 9999;
	char *doc = xmalloc(strlen(head) + 6 * levels + 8);
	size_t w = (size_t)sprintf(doc, "%s", head);
	for (size_t i = 0; i < levels; i++)
		w += (size_t)sprintf(doc + w, "{\"a\":");
	w += (size_t)sprintf(doc + w, "1");
	memset(doc + w, '}', levels);
	w += levels;
	w += (size_t)sprintf(doc + w, "}}");
	parse_bad_len(doc, w);
	free(doc);

	// At most SIGSTORE_PAYLOAD_MAX bytes: padded with whitespace to the cap and past it.
	size_t vl = strlen(VALID);
	char *big = xmalloc(SIGSTORE_PAYLOAD_MAX + 2);
	memcpy(big, VALID, vl);
	memset(big + vl, ' ', SIGSTORE_PAYLOAD_MAX + 1 - vl);
	struct sigstore_payload p;
	struct err e = {0};
	assert_int_equal(sigstore_payload_parse(big, SIGSTORE_PAYLOAD_MAX, &p, &e), 0);
	sigstore_payload_release(&p);
	parse_bad_len(big, SIGSTORE_PAYLOAD_MAX + 1);
	free(big);
}

static void test_sig_tag(void **state)
{
	(void)state;
	// SIGNATURE_SPEC.md's example.
	char *t = sigstore_sig_tag("sha256:97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36");
	assert_string_equal(t, "sha256-97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36.sig");
	free(t);
	assert_null(sigstore_sig_tag(NULL));
	assert_null(sigstore_sig_tag(""));
	assert_null(sigstore_sig_tag("sha256:"));
	assert_null(sigstore_sig_tag("sha256-97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36"));
	assert_null(sigstore_sig_tag("sha256:97FC222CEE7991B5B061D4D4AFDB5F3428FCB0C9054E1690313786BEFA1E4E36"));
	assert_null(sigstore_sig_tag("sha256:97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e3"));
	assert_null(sigstore_sig_tag("sha256:97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36/"));
	assert_null(sigstore_sig_tag("sha256:../../../../../../../../../../../../../../../../../../../../../.."));
	assert_null(sigstore_sig_tag("sha512:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_cosign_valid),
		cmocka_unit_test(test_fixture_other_keys),
		cmocka_unit_test(test_fixture_rekor_payload),
		cmocka_unit_test(test_cimage_verify_cases),
		cmocka_unit_test(test_generated_keys),
		cmocka_unit_test(test_ecdsa_hash_is_sha256),
		cmocka_unit_test(test_ecdsa_p1363),
		cmocka_unit_test(test_rsa_pkcs1_only),
		cmocka_unit_test(test_ed25519_pure),
		cmocka_unit_test(test_wrong_key_types),
		cmocka_unit_test(test_cimage_payload_table),
		cmocka_unit_test(test_payload_go_json),
		cmocka_unit_test(test_payload_numbers),
		cmocka_unit_test(test_payload_strings),
		cmocka_unit_test(test_payload_digests),
		cmocka_unit_test(test_payload_depth_and_size),
		cmocka_unit_test(test_sig_tag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
