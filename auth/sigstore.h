// SPDX-License-Identifier: Apache-2.0
// cosign signatures as containers/image's sigstoreSigned requirement checks
// them with a public key: the "simple signing" payload a signature layer
// carries, the signature in its annotation, and the tag cosign stores them
// under. Pure functions: no network, no files.
#ifndef IMGPULL_AUTH_SIGSTORE_H
#define IMGPULL_AUTH_SIGSTORE_H

#include <stddef.h>

#include <openssl/evp.h>

#include "util/err.h"

// The signature layer's media type and the annotation holding the signature.
#define SIGSTORE_MT_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define SIGSTORE_ANN_SIGNATURE "dev.cosignproject.cosign/signature"
// The largest payload read (c/image's iolimits.MaxSignatureBodySize).
#define SIGSTORE_PAYLOAD_MAX (4u << 20)
// The longest signature annotation taken (base64 text); real ones are at most
// a few hundred bytes (an RSA-16384 signature is 2732).
#define SIGSTORE_SIG_B64_MAX (16u << 10)

struct sigstore_payload {
	// critical.identity.docker-reference as signed, decoded as Go decodes a
	// JSON string (invalid UTF-8 and lone surrogates become U+FFFD). Never NULL
	// after a successful parse, but it may be "" (a JSON null reads as "", as in
	// c/image): the caller's identity check must refuse what it cannot parse.
	char *docker_reference;
	// critical.image.docker-manifest-digest: a valid sha256 or sha512 digest.
	char *manifest_digest;
};

// The simple-signing payload cosign writes, read as c/image's
// UntrustedSigstorePayload.UnmarshalJSON reads it (signature/internal/
// sigstore_payload.go with json.go's ParanoidUnmarshalJSONObject):
//   {"critical": {"type": "cosign container image signature",
//                 "image": {"docker-manifest-digest": DIGEST},
//                 "identity": {"docker-reference": STRING}},
//    "optional": null | {"creator": STRING|null, "timestamp": INTEGER|null, ...}}
// Exactly these keys in the top level, critical, image and identity (no other,
// none missing, none twice); optional's other keys are ignored but no key may
// repeat there either, and every number in them must fit a float64 (Go decodes
// them into `any`). timestamp must be a whole number that fits an int64. The
// document must be one valid JSON value (RFC 8259, nesting at most 10000 deep,
// as encoding/json) with nothing but whitespace after it; at most
// SIGSTORE_PAYLOAD_MAX bytes. Two refusals c/image leaves to later checks that
// refuse the same: a sha384 digest (go-digest takes it; no pulled manifest has
// one) and a NUL (\u0000) in docker-reference (no reference parses with one).
// Everything refused is ERR_INTEGRITY, with a message that never quotes the
// payload. On failure *p is left zeroed (releasing it is harmless).
int sigstore_payload_parse(const void *data, size_t len, struct sigstore_payload *p, struct err *e);
void sigstore_payload_release(struct sigstore_payload *p);

// Checks sig_b64 (the SIGSTORE_ANN_SIGNATURE annotation: standard base64 as
// Go's base64.StdEncoding reads it: padding required, CR and LF ignored,
// at most SIGSTORE_SIG_B64_MAX bytes) over payload with key, as c/image does
// through sigstore's signature.LoadVerifier(key, crypto.SHA256):
//   - ECDSA on P-224, P-256, P-384 or P-521, SHA-256 whatever the curve. A
//     signature Go's encoding/asn1 reads as SEQUENCE {INTEGER, INTEGER} is
//     checked as strict DER; anything else as IEEE P1363 r||s (an even length
//     of 2 to 132 bytes), as sigstore's ECDSAVerifier does.
//   - RSA: PKCS#1 v1.5 with SHA-256 only (c/image never asks for PSS), keys
//     of 1024 bits or more (Go 1.24's crypto/rsa minimum).
//   - Ed25519: pure Ed25519 over the payload (not Ed25519ph).
// Returns 0 when the signature verifies. -1 with ERR_UNTRUSTED when it does not,
// or when the key is of another type (RSA-PSS, DSA, Ed448, ...) or curve (both
// named in the message); ERR_INTEGRITY when sig_b64 is NULL, too long or not
// valid base64; ERR_INTERNAL for a NULL key, a NULL payload with len > 0, or
// when OpenSSL cannot allocate. Messages never
// contain key or signature bytes.
int sigstore_verify(EVP_PKEY *key, const void *payload, size_t len, const char *sig_b64,
		    struct err *e);

// cosign's signature tag for a manifest digest: "sha256-<hex>.sig" (malloc'd).
// NULL for anything but a valid sha256 digest: a sha512 one would make a
// 139-character tag, past the 128 a tag may have (c/image fails there too).
char *sigstore_sig_tag(const char *digest);

#endif
