// SPDX-License-Identifier: Apache-2.0
// Content digests: "sha256:<64 lowercase hex>" and "sha512:<128 lowercase hex>".
#ifndef IMGPULL_OCI_DIGEST_H
#define IMGPULL_OCI_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "util/err.h"

#define OCI_DIGEST_LEN 135   // the longest digest accepted: "sha512:" + 128
#define OCI_DIGEST_MD_MAX 64 // its raw length

// True for "sha256:" followed by 64, or "sha512:" followed by 128, lowercase
// hex digits (the OCI image spec's registered algorithms).
bool oci_digest_valid(const char *s);
// Validates and explains: unsupported algorithm vs malformed. ERR_USAGE unless cls given.
// cls ERR_NONE also means ERR_USAGE. Returns 0 and leaves e alone when valid.
// Messages quote s escaped and shortened, so s may be hostile text.
int oci_digest_check(const char *s, enum err_class cls, struct err *e);
// The hex part of a valid digest (for anything else: what follows the first
// ':', or the whole string when there is none).
const char *oci_digest_hex(const char *digest);
// Of a valid digest: its algorithm's name ("sha256", "sha512"), OpenSSL
// digest and raw length; sha256's for anything else.
const char *oci_digest_alg(const char *digest);
const EVP_MD *oci_digest_evp(const char *digest);
size_t oci_digest_md_len(const char *digest);
// out (at least OCI_DIGEST_LEN + 1 bytes) = "sha256:" + hex of 32 raw bytes.
void oci_digest_format(char *out, const unsigned char raw[32]);
// The same in the algorithm of the digest like (raw is as long as its kind).
void oci_digest_format_like(char *out, const char *like, const unsigned char *raw);
// raw (OCI_DIGEST_MD_MAX bytes) = the bytes a valid digest names, *len how
// many; false for an invalid digest.
bool oci_digest_raw(const char *digest, unsigned char *raw, size_t *len);
// SHA-256 of a buffer, formatted; _like: in the algorithm of the digest like.
void oci_digest_of(char *out, const void *data, size_t len);
void oci_digest_of_like(char *out, const char *like, const void *data, size_t len);

#endif
