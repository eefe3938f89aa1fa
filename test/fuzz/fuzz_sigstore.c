// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for cosign signatures (auth/sigstore.c): the input as a
// simple-signing payload, as a digest for the signature tag, and as the
// signature annotation checked with cosign.pub (containers/image's fixture
// key) over a real payload. Besides crashes and sanitizer reports it checks the
// contract: a refused payload is ERR_INTEGRITY with a one-line message that
// never quotes the input and leaves the result zeroed; an accepted one has a
// reference without NUL (the caller compares it as a C string) and a valid
// digest, reads the same a second time, and still reads after whitespace is
// added around it; a tag exists exactly for valid sha256 digests and has the
// form cosign uses; a signature that is refused is ERR_INTEGRITY or
// ERR_UNTRUSTED.
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "auth/sigstore.h"
#include "oci/digest.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// test/data/sigstore/cosign.pub and the payload it signed
// (dir-img-cosign-valid/signature-1).
static const char cosign_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFNLqFhf4fiN6o/glAuYnq2jYUeL0\n"
	"vRuLu/z39pmbVwS9ff5AYnlwaP9sxREajdLY9ynM6G1sy6AAmb7Z63TsLg==\n"
	"-----END PUBLIC KEY-----\n";
static const char signed_payload[] =
	"{\"critical\":{\"identity\":{\"docker-reference\":\"192.168.64.2:5000/cosign-signed-single-sample\"},"
	"\"image\":{\"docker-manifest-digest\":\"sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00\"},"
	"\"type\":\"cosign container image signature\"},\"optional\":null}";

static EVP_PKEY *fuzz_key(void)
{
	static EVP_PKEY *key;
	if (!key) {
		BIO *b = BIO_new_mem_buf(cosign_pub, -1);
		key = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
		BIO_free(b);
		if (!key)
			abort();
	}
	return key;
}

static void check_refusal(const struct err *e, const struct sigstore_payload *p, const uint8_t *data,
			  size_t size)
{
	if (e->cls != ERR_INTEGRITY || !e->msg[0] || strchr(e->msg, '\n'))
		abort();
	if (p->docker_reference || p->manifest_digest)
		abort();
	// The payload's text never comes back: a long input is not in the message.
	if (size >= 24 && memmem(e->msg, strlen(e->msg), data, 24))
		abort();
}

static void check_payload(const uint8_t *data, size_t size)
{
	struct sigstore_payload p, again;
	struct err e = {0};
	if (sigstore_payload_parse(data, size, &p, &e) < 0) {
		check_refusal(&e, &p, data, size);
		return;
	}
	if (!p.docker_reference || !p.manifest_digest || !oci_digest_valid(p.manifest_digest))
		abort();
	char *tag = sigstore_sig_tag(p.manifest_digest);
	if (!tag != !!strncmp(p.manifest_digest, "sha256:", 7))
		abort();
	free(tag);
	// The same bytes read the same; with whitespace around, too.
	char *padded = xmalloc(size + 4);
	memcpy(padded, " \n", 2);
	memcpy(padded + 2, data, size);
	memcpy(padded + 2 + size, "\t\r", 2);
	for (int i = 0; i < 2; i++) {
		const void *in = i ? (const void *)padded : (const void *)data;
		size_t len = i ? size + 4 : size;
		if (len > SIGSTORE_PAYLOAD_MAX)
			continue;
		if (sigstore_payload_parse(in, len, &again, &e) != 0 ||
		    strcmp(again.docker_reference, p.docker_reference) ||
		    strcmp(again.manifest_digest, p.manifest_digest))
			abort();
		sigstore_payload_release(&again);
	}
	free(padded);
	sigstore_payload_release(&p);
}

static void check_tag(const char *s)
{
	char *tag = sigstore_sig_tag(s);
	bool want = oci_digest_valid(s) && !strncmp(s, "sha256:", 7);
	if (!tag != !want)
		abort();
	if (tag && (strlen(tag) != 7 + 64 + 4 || strncmp(tag, "sha256-", 7) || strcmp(tag + 71, ".sig") ||
		    memcmp(tag + 7, s + 7, 64)))
		abort();
	free(tag);
}

static void check_signature(const char *s)
{
	struct err e = {0};
	int r = sigstore_verify(fuzz_key(), signed_payload, sizeof(signed_payload) - 1, s, &e);
	if (r != 0 && (r != -1 || (e.cls != ERR_INTEGRITY && e.cls != ERR_UNTRUSTED) || !e.msg[0]))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_payload(data, size);
	// As a C string: a digest for the tag, a signature annotation.
	char *s = xstrndup((const char *)data, size);
	check_tag(s);
	if (size <= 2 * SIGSTORE_SIG_B64_MAX)
		check_signature(s);
	free(s);
	return 0;
}
