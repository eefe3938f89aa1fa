// SPDX-License-Identifier: Apache-2.0
// Base64 on top of OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock.
#ifndef IMGPULL_UTIL_BASE64_H
#define IMGPULL_UTIL_BASE64_H

#include <stddef.h>

// malloc'd, NUL-terminated standard base64 with padding.
char *base64_encode(const void *data, size_t len);
// Decodes standard base64, padded or not, ignoring surrounding whitespace.
// Returns malloc'd NUL-terminated bytes and their length, or NULL if invalid.
char *base64_decode(const char *s, size_t *outlen);

#endif
