// SPDX-License-Identifier: Apache-2.0
// What AWS Signature Version 4 and Volcano Engine's OpenAPI signing share: the
// canonical request (method, URI, query, headers, signed header list, payload
// hash), the string to sign, the HMAC key chain and the result both hand back.
// The two schemes differ only in names, a key prefix and the scope's last word;
// auth/sigv4.c and auth/volcsign.c supply those. Crypto is OpenSSL's.
//
// Secrets (secret keys, derived keys) pass through here but are never stored in
// a result, never put in an error message, and are wiped before memory is freed.
#ifndef IMGPULL_AUTH_CANONICAL_H
#define IMGPULL_AUTH_CANONICAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"

#define CANONICAL_SHA256_LEN 32
#define CANONICAL_HEX_LEN 64 // lowercase hex of a SHA-256 / HMAC-SHA256, without the NUL

struct canonical_header {
	const char *name;
	const char *value;
};

// A request as it will be sent. Nothing here is modified or kept.
struct canonical_req {
	const char *method; // "POST"
	// Path as on the request line ("/", may hold raw UTF-8 or spaces). Every byte
	// but unreserved ones and '/' is percent-encoded, '%' included: that is the
	// "double encoding" AWS services other than S3 check.
	const char *path;
	// Raw query after '?', or NULL. Percent-escapes are decoded before being
	// re-encoded; '+' is a literal plus, so write a space as %20.
	const char *query;
	const struct canonical_header *headers; // must include Host
	size_t nheaders;
	const void *body;
	size_t body_len;
};

struct canonical_result {
	char *canonical_request;
	char *string_to_sign;
	char signature[CANONICAL_HEX_LEN + 1];
	char *authorization; // the whole Authorization header value
	// Headers the caller must add to the request: static names, malloc'd values.
	struct canonical_header *add;
	size_t nadd;
};

// Frees a result and wipes what came from the secret (signature, header values).
void canonical_result_release(struct canonical_result *r);

// Lowercase hex of n bytes into out, which has room for 2 * n + 1.
void canonical_hex(char *out, const unsigned char *p, size_t n);
int canonical_sha256_hex(char out[CANONICAL_HEX_LEN + 1], const void *p, size_t n, struct err *e);
int canonical_hmac_sha256(unsigned char out[CANONICAL_SHA256_LEN], const void *key, size_t keylen,
			  const void *msg, size_t msglen, struct err *e);
// The key chain both schemes use:
// HMAC(HMAC(HMAC(HMAC(prefix + secret, date), region), service), terminal).
// out holds the signing key: the caller wipes it with explicit_bzero.
int canonical_derive_key(unsigned char out[CANONICAL_SHA256_LEN], const char *prefix, const char *secret,
			 const char *date, const char *region, const char *service, const char *terminal,
			 struct err *e);

// RFC 3986 percent-encoding with uppercase hex, keeping A-Za-z0-9 - . _ ~ (and
// '/' when keep_slash). -1 (ERR_INTERNAL) only if the buffer's cap is reached.
int canonical_encode(struct buf *out, const char *p, size_t n, bool keep_slash, struct err *e);
// Canonical URI. normalize removes "." and ".." segments and empty segments
// (repeated slashes), keeping a trailing slash, as AWS does for every service
// but S3. An empty path is "/".
int canonical_uri(struct buf *out, const char *path, bool normalize, struct err *e);
// Canonical query string from a raw one: pairs split on '&' (empty pieces
// dropped), key and value on the first '=' (none: empty value, kept as "key="),
// decoded, re-encoded, sorted by encoded key then value. A malformed
// percent-escape is ERR_USAGE: a guess would only fail later at the server.
int canonical_query(struct buf *out, const char *query, struct err *e);
// Canonical header block ("name:value\n" each) and signed header list
// ("a;b;c") from the request's headers plus the signer's own (extra). Names are
// lowercased; values trimmed, each run of whitespace (folded lines included)
// made one space; values of a repeated name joined with ',' in the order given;
// names sorted. Headers a proxy or the HTTP library may rewrite (Authorization,
// User-Agent, Expect, Connection, Transfer-Encoding, X-Amzn-Trace-Id) are left
// out. A request without Host is ERR_INTERNAL.
int canonical_headers(struct buf *block, struct buf *signed_list, const struct canonical_header *h,
		      size_t n, const struct canonical_header *extra, size_t nextra, struct err *e);
// The whole canonical request: METHOD \n URI \n query \n headers \n signed \n payload_hex.
// *signed_headers (may be NULL if not wanted) receives the signed header list.
int canonical_request(char **out, char **signed_headers, const struct canonical_req *req,
		      const struct canonical_header *extra, size_t nextra, bool normalize,
		      const char *payload_hex, struct err *e);
// algorithm \n datetime \n scope \n hex(sha256(canonical)).
int canonical_string_to_sign(char **out, const char *algorithm, const char *datetime,
			const char *scope, const char *canonical, struct err *e);

// What sets one scheme apart from the other.
struct canonical_scheme {
	const char *algorithm;	// "AWS4-HMAC-SHA256" / "HMAC-SHA256"
	const char *key_prefix; // prepended to the secret: "AWS4" / ""
	const char *terminal;	// last scope element: "aws4_request" / "request"
	bool normalize;		// normalize the URI path
};

// Formats t (UTC) as YYYYMMDDTHHMMSSZ into datetime[17] and YYYYMMDD into date[9].
int canonical_format_time(char datetime[17], char date[9], time_t t, struct err *e);

// When a request is signed and what its body hashes to: both schemes put these
// in headers they add and in the string they sign.
struct canonical_stamp {
	char datetime[17];
	char date[9];
	char payload[CANONICAL_HEX_LEN + 1]; // hex SHA-256 of the body
};

int canonical_stamp_init(struct canonical_stamp *st, time_t when, const struct canonical_req *req, struct err *e);

// Runs a scheme: canonical request, string to sign, key chain, signature and
// Authorization value, into out (zeroed first; released again on failure).
// extra are the headers the signer adds and signs (their values are copied
// into out->add); unsigned_add go into out->add after them, not signed.
int canonical_sign(struct canonical_result *out, const struct canonical_scheme *s,
		   const struct canonical_req *req, const char *access_key, const char *secret_key,
		   const char *region, const char *service, const struct canonical_stamp *st,
		   const struct canonical_header *extra, size_t nextra,
		   const struct canonical_header *unsigned_add, size_t nunsigned, struct err *e);

#endif
