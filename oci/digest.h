// SPDX-License-Identifier: Apache-2.0
// Content digests ("sha256:<64 lowercase hex>"), the only algorithm we accept.
#ifndef IMGPULL_OCI_DIGEST_H
#define IMGPULL_OCI_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define OCI_DIGEST_LEN 71 // "sha256:" + 64

// True for exactly "sha256:" followed by 64 lowercase hex digits.
bool oci_digest_valid(const char *s);
// Validates and explains: unsupported algorithm vs malformed. ERR_USAGE unless cls given.
// cls ERR_NONE also means ERR_USAGE. Returns 0 and leaves e alone when valid.
// Messages quote s escaped and shortened, so s may be hostile text.
int oci_digest_check(const char *s, enum err_class cls, struct err *e);
// The hex part of a valid digest (for anything else: what follows the first
// ':', or the whole string when there is none).
const char *oci_digest_hex(const char *digest);
// out (at least OCI_DIGEST_LEN + 1 bytes) = "sha256:" + hex of 32 raw bytes.
void oci_digest_format(char *out, const unsigned char raw[32]);
// SHA-256 of a buffer, formatted.
void oci_digest_of(char *out, const void *data, size_t len);

#endif
