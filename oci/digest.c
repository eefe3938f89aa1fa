// SPDX-License-Identifier: Apache-2.0
// sha256 and sha512 content digests. Digests arrive from untrusted places (manifests,
// response headers, the command line), so every check is exact and every
// message quotes the offending text escaped and shortened.
#include "oci/digest.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

// The algorithms accepted: the OCI image spec's registered ones.
static const struct alg {
	const char *name;   // with the colon
	size_t md_len;
	const EVP_MD *(*evp)(void);
} algs[] = {{"sha256:", 32, EVP_sha256}, {"sha512:", 64, EVP_sha512}};
#define PREFIX_LEN 7

// Longest piece of a bad digest we echo back; a hostile header must not be
// able to fill the whole error message.
#define DIGEST_QUOTE_MAX 96

static bool digest_is_lower_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// OCI image-spec: algorithm := component ([+._-] component)*, component := [a-z0-9]+.
// Lets us tell "sha512:..." (well-formed, just not supported) from garbage.
static bool digest_alg_wellformed(const char *p, size_t len)
{
	bool want_alnum = true;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (alnum) {
			want_alnum = false;
		} else if (!want_alnum && strchr("+._-", c)) {
			want_alnum = true;
		} else {
			return false;
		}
	}
	return !want_alnum;
}

// Writes the first len bytes of s into out as a C-ish escaped string without
// surrounding quotes, cut at DIGEST_QUOTE_MAX source bytes with a "..." marker.
static void digest_quote(char *out, size_t outlen, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	size_t i;

	for (i = 0; i < len && i < DIGEST_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + 5 > outlen)
			break;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		} else {
			out[o++] = (char)c;
		}
	}
	if (i < len && o + 4 <= outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

// The algorithm of a valid digest; NULL for anything else.
static const struct alg *digest_alg(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
		if (n != PREFIX_LEN + 2 * algs[a].md_len || strncmp(s, algs[a].name, PREFIX_LEN) != 0)
			continue;
		for (size_t i = PREFIX_LEN; i < n; i++)
			if (!digest_is_lower_hex((unsigned char)s[i]))
				return NULL;
		return &algs[a];
	}
	return NULL;
}

bool oci_digest_valid(const char *s)
{
	return digest_alg(s) != NULL;
}

const char *oci_digest_alg(const char *digest)
{
	static const char *const names[] = {"sha256", "sha512"};
	const struct alg *a = digest_alg(digest);
	return names[a ? a - algs : 0];
}

const EVP_MD *oci_digest_evp(const char *digest)
{
	const struct alg *a = digest_alg(digest);
	return (a ? a : &algs[0])->evp();
}

size_t oci_digest_md_len(const char *digest)
{
	const struct alg *a = digest_alg(digest);
	return (a ? a : &algs[0])->md_len;
}

int oci_digest_check(const char *s, enum err_class cls, struct err *e)
{
	char q[4 * DIGEST_QUOTE_MAX + 8];
	const char *colon;

	// ERR_NONE would mean "no error" to the caller's exit code: use usage.
	if (cls == ERR_NONE)
		cls = ERR_USAGE;
	if (oci_digest_valid(s))
		return 0;
	if (!s || !*s)
		return err_set(e, cls, "empty digest");

	digest_quote(q, sizeof(q), s, strlen(s));
	colon = strchr(s, ':');
	if (colon && strncmp(s, "sha256:", PREFIX_LEN) != 0 && strncmp(s, "sha512:", PREFIX_LEN) != 0 &&
	    digest_alg_wellformed(s, (size_t)(colon - s))) {
		char alg[4 * DIGEST_QUOTE_MAX + 8];

		digest_quote(alg, sizeof(alg), s, (size_t)(colon - s));
		return err_set(e, cls, "unsupported digest algorithm \"%s\" (sha256 and sha512 are supported)", alg);
	}
	return err_set(e, cls,
		       "invalid digest \"%s\" (want \"sha256:\" and 64, or \"sha512:\" and 128, lowercase hex digits)", q);
}

const char *oci_digest_hex(const char *digest)
{
	const char *colon = strchr(digest, ':');

	// For a valid digest this is always digest + 7; tolerate anything else
	// rather than point past the end of a short string.
	return colon ? colon + 1 : digest;
}

static void format_as(char *out, const struct alg *a, const unsigned char *raw)
{
	static const char hex[] = "0123456789abcdef";

	memcpy(out, a->name, PREFIX_LEN);
	for (size_t i = 0; i < a->md_len; i++) {
		out[PREFIX_LEN + 2 * i] = hex[raw[i] >> 4];
		out[PREFIX_LEN + 2 * i + 1] = hex[raw[i] & 0xf];
	}
	out[PREFIX_LEN + 2 * a->md_len] = '\0';
}

void oci_digest_format(char *out, const unsigned char raw[32])
{
	format_as(out, &algs[0], raw);
}

void oci_digest_format_like(char *out, const char *like, const unsigned char *raw)
{
	const struct alg *a = digest_alg(like);
	format_as(out, a ? a : &algs[0], raw);
}

void oci_digest_of_like(char *out, const char *like, const void *data, size_t len)
{
	const struct alg *a = digest_alg(like);
	if (!a)
		a = &algs[0];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	// EVP_Digest only fails when OpenSSL cannot allocate; treat it like any
	// other out-of-memory condition.
	if (EVP_Digest(data ? data : "", len, md, &mdlen, a->evp(), NULL) != 1 || mdlen != a->md_len)
		abort();
	format_as(out, a, md);
}

void oci_digest_of(char *out, const void *data, size_t len)
{
	oci_digest_of_like(out, "sha256:", data, len);
}

bool oci_digest_raw(const char *digest, unsigned char *raw, size_t *len)
{
	const struct alg *a = digest_alg(digest);
	size_t n = 0;
	if (!a || OPENSSL_hexstr2buf_ex(raw, OCI_DIGEST_MD_MAX, &n, digest + PREFIX_LEN, '\0') != 1 ||
	    n != a->md_len)
		return false;
	*len = n;
	return true;
}
