// SPDX-License-Identifier: Apache-2.0
#include "util/base64.h"

#include <openssl/evp.h>
#include <string.h>

#include "util/mem.h"

char *base64_encode(const void *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

char *base64_decode(const char *s, size_t *outlen)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (n > (1u << 20))
		return NULL;
	// EVP_DecodeBlock wants padded input: restore missing '=' first.
	size_t padded = (n + 3) / 4 * 4;
	if (padded - n == 3)
		return NULL;
	char *in = xmalloc(padded + 1);
	memcpy(in, s, n);
	memset(in + n, '=', padded - n);
	in[padded] = '\0';
	size_t pad = 0;
	while (pad < 2 && padded > pad && in[padded - 1 - pad] == '=')
		pad++;
	unsigned char *out = xmalloc(padded / 4 * 3 + 1);
	int r = EVP_DecodeBlock(out, (unsigned char *)in, (int)padded);
	free(in);
	if (r < 0 || (size_t)r < pad) {
		free(out);
		return NULL;
	}
	size_t len = (size_t)r - pad;
	out[len] = '\0';
	if (outlen)
		*outlen = len;
	return (char *)out;
}
