// SPDX-License-Identifier: Apache-2.0
// cosign signatures checked with a public key, as containers/image's
// sigstoreSigned requirement checks them (see auth/sigstore.h). The payload is
// read by a JSON reader of its own rather than cJSON, because what is accepted
// must be what Go's encoding/json accepts: duplicate keys refused, strings
// decoded the Go way (invalid UTF-8 and lone surrogates -> U+FFFD), numbers in
// the strict grammar, nesting at most 10000 deep.
#include "auth/sigstore.h"

#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "oci/digest.h"
#include "util/mem.h"
#include "util/strparse.h"

#define SIGSTORE_TYPE "cosign container image signature"
#define JSON_DEPTH_MAX 10000 // encoding/json's maxNestingDepth

// ---- JSON reading -----------------------------------------------------------

struct jr {
	const unsigned char *p, *end, *start;
	int depth;
	locale_t c_locale; // for strtod_l, made on the first number that needs it
	struct err *e;
};

static int jr_fail(struct jr *j, const char *what)
{
	return err_set(j->e, ERR_INTEGRITY, "signature payload: %s at byte %zu", what,
		       (size_t)(j->p - j->start));
}

static void jr_ws(struct jr *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

// Skips whitespace, then consumes c if it is next.
static bool jr_eat(struct jr *j, char c)
{
	jr_ws(j);
	if (j->p < j->end && *j->p == (unsigned char)c) {
		j->p++;
		return true;
	}
	return false;
}

// The string at j->p (after whitespace), checked as encoding/json's scanner
// checks it (no control characters, known escapes, four hex digits after \u);
// [*b, *e) is its text between the quotes, j->p is left after the closing one.
static int jr_string_raw(struct jr *j, const unsigned char **b, const unsigned char **e)
{
	jr_ws(j);
	if (j->p >= j->end || *j->p != '"')
		return jr_fail(j, "expected a string");
	const unsigned char *s = ++j->p;
	while (j->p < j->end && *j->p != '"') {
		if (*j->p < 0x20)
			return jr_fail(j, "control character in a string");
		if (*j->p++ != '\\')
			continue;
		if (j->p >= j->end || !strchr("\"\\/bfnrtu", *j->p) || !*j->p)
			return jr_fail(j, "invalid escape in a string");
		if (*j->p++ != 'u')
			continue;
		for (int i = 0; i < 4; i++, j->p++)
			if (j->p >= j->end || strparse_hexval(*j->p) < 0)
				return jr_fail(j, "invalid \\u escape in a string");
	}
	if (j->p >= j->end)
		return jr_fail(j, "unterminated string");
	if (b) {
		*b = s;
		*e = j->p;
	}
	j->p++;
	return 0;
}

// The length of the valid UTF-8 sequence at p as Go's utf8.DecodeRune takes it
// (no overlong forms, no surrogates, nothing past U+10FFFF), 0 if invalid.
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n = (size_t)(end - p);
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t len;

	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return len;
}

static size_t utf8_put(char *out, uint32_t r)
{
	if (r < 0x80) {
		out[0] = (char)r;
		return 1;
	}
	if (r < 0x800) {
		out[0] = (char)(0xC0 | r >> 6);
		out[1] = (char)(0x80 | (r & 0x3F));
		return 2;
	}
	if (r < 0x10000) {
		out[0] = (char)(0xE0 | r >> 12);
		out[1] = (char)(0x80 | (r >> 6 & 0x3F));
		out[2] = (char)(0x80 | (r & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | r >> 18);
	out[1] = (char)(0x80 | (r >> 12 & 0x3F));
	out[2] = (char)(0x80 | (r >> 6 & 0x3F));
	out[3] = (char)(0x80 | (r & 0x3F));
	return 4;
}

static uint32_t hex4(const unsigned char *p)
{
	return (uint32_t)(strparse_hexval(p[0]) << 12 | strparse_hexval(p[1]) << 8 | strparse_hexval(p[2]) << 4 |
			  strparse_hexval(p[3]));
}

// One escape at p (checked by jr_string_raw) decoded into out + *w as Go's
// unquote does: a surrogate pair is one rune, any other surrogate is U+FFFD
// (and the escape after a lone high surrogate is read on its own).
static const unsigned char *unescape(const unsigned char *p, const unsigned char *end, char *out,
				     size_t *w)
{
	static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
	const char *m = strchr(from, p[1]);

	if (p[1] != 'u') {
		out[(*w)++] = m ? to[m - from] : (char)p[1]; // '"', '\\', '/'
		return p + 2;
	}
	uint32_t r = hex4(p + 2);
	p += 6;
	if (r >= 0xD800 && r < 0xE000) {
		bool pair = r < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u';
		uint32_t r2 = pair ? hex4(p + 2) : 0;
		if (pair && r2 >= 0xDC00 && r2 < 0xE000) {
			r = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00);
			p += 6;
		} else {
			r = 0xFFFD;
		}
	}
	*w += utf8_put(out + *w, r);
	return p;
}

// The decoded text of a raw string (malloc'd, NUL-terminated, *n bytes: it may
// hold NULs from \u0000). Every input byte yields at most 3 output bytes.
static char *string_decode(const unsigned char *p, const unsigned char *end, size_t *n)
{
	char *out = xmalloc(3 * (size_t)(end - p) + 1);
	size_t w = 0;

	while (p < end) {
		if (*p == '\\') {
			p = unescape(p, end, out, &w);
		} else if (*p < 0x80) {
			out[w++] = (char)*p++;
		} else {
			size_t len = utf8_len(p, end);
			if (len) {
				memcpy(out + w, p, len);
				w += len;
				p += len;
			} else {
				w += utf8_put(out + w, 0xFFFD);
				p++;
			}
		}
	}
	out[w] = '\0';
	*n = w;
	return out;
}

static int jr_string(struct jr *j, char **out, size_t *n)
{
	const unsigned char *b, *e;

	if (jr_string_raw(j, &b, &e) < 0)
		return -1;
	*out = string_decode(b, e, n);
	return 0;
}

static bool is_digit(const unsigned char *p, const unsigned char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

static const unsigned char *digits(const unsigned char *p, const unsigned char *end)
{
	while (is_digit(p, end))
		p++;
	return p;
}

// A number in JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// and its float64 (strconv.ParseFloat's: refused when out of range).
static int jr_number(struct jr *j, double *value)
{
	const unsigned char *s = j->p, *p = j->p, *end = j->end;

	if (p < end && *p == '-')
		p++;
	if (!is_digit(p, end))
		return jr_fail(j, "invalid value");
	p = *p == '0' ? p + 1 : digits(p, end);
	if (p < end && *p == '.') {
		if (!is_digit(++p, end))
			return jr_fail(j, "invalid number");
		p = digits(p, end);
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (!is_digit(p, end))
			return jr_fail(j, "invalid number");
		p = digits(p, end);
	}
	j->p = p;
	if (!j->c_locale && !(j->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0)))
		return err_set(j->e, ERR_INTERNAL, "signature payload: no C locale for numbers");
	_cleanup_free_ char *text = xstrndup((const char *)s, (size_t)(p - s));
	*value = strtod_l(text, NULL, j->c_locale);
	if (isinf(*value))
		return err_set(j->e, ERR_INTEGRITY, "signature payload: number out of range at byte %zu",
			       (size_t)(s - j->start));
	return 0;
}

// One literal, string or number; a number's float64 must exist (Go decodes
// optional's values into `any`, i.e. float64).
static int jr_scalar(struct jr *j)
{
	static const char *const lits[] = {"true", "false", "null"};
	double ignored;

	jr_ws(j);
	if (j->p < j->end && *j->p == '"')
		return jr_string_raw(j, NULL, NULL);
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(lits[i]);
		if ((size_t)(j->end - j->p) >= n && !memcmp(j->p, lits[i], n)) {
			j->p += n;
			return 0;
		}
	}
	return jr_number(j, &ignored);
}

// "key": of a member inside a skipped object.
static int jr_member_key(struct jr *j)
{
	if (jr_string_raw(j, NULL, NULL) < 0)
		return -1;
	return jr_eat(j, ':') ? 0 : jr_fail(j, "expected ':'");
}

// After a value inside skipped containers: closes what ends here, then reads
// one ',' (and the member key after it in an object). *top 0: all closed.
static int jr_after_value(struct jr *j, const unsigned char *open, size_t *top)
{
	while (*top) {
		unsigned char o = open[*top - 1];
		if (jr_eat(j, ','))
			return o == '{' ? jr_member_key(j) : 0;
		if (!jr_eat(j, o == '{' ? '}' : ']'))
			return jr_fail(j, "expected ',' or a closing bracket");
		(*top)--;
		j->depth--;
	}
	return 0;
}

// One value of any kind, checked and skipped without recursion.
static int jr_skip(struct jr *j)
{
	unsigned char open[JSON_DEPTH_MAX];
	size_t top = 0;

	for (;;) {
		jr_ws(j);
		unsigned char c = j->p < j->end ? *j->p : 0;
		if (c == '{' || c == '[') {
			if (j->depth >= JSON_DEPTH_MAX)
				return jr_fail(j, "nesting too deep");
			j->depth++;
			open[top++] = c;
			j->p++;
			if (!jr_eat(j, c == '{' ? '}' : ']')) {
				if (c == '{' && jr_member_key(j) < 0)
					return -1;
				continue;
			}
			top--;
			j->depth--;
		} else if (jr_scalar(j) < 0) {
			return -1;
		}
		if (jr_after_value(j, open, &top) < 0)
			return -1;
		if (!top)
			return 0;
	}
}

static bool jr_null(struct jr *j)
{
	jr_ws(j);
	if (j->end - j->p >= 4 && !memcmp(j->p, "null", 4)) {
		j->p += 4;
		return true;
	}
	return false;
}

// The members of an object, one call of member(j, ctx, key, key length) each,
// which reads the value. Keys are decoded (they may hold NULs).
typedef int (*jr_member_fn)(struct jr *j, void *ctx, const char *key, size_t klen);

static int jr_object(struct jr *j, const char *what, jr_member_fn member, void *ctx)
{
	if (!jr_eat(j, '{'))
		return err_set(j->e, ERR_INTEGRITY, "signature payload: %s is not an object", what);
	if (++j->depth > JSON_DEPTH_MAX)
		return jr_fail(j, "nesting too deep");
	if (jr_eat(j, '}')) {
		j->depth--;
		return 0;
	}
	for (;;) {
		_cleanup_free_ char *key = NULL;
		size_t klen;
		if (jr_string(j, &key, &klen) < 0)
			return -1;
		if (!jr_eat(j, ':'))
			return jr_fail(j, "expected ':'");
		if (member(j, ctx, key, klen) < 0)
			return -1;
		if (jr_eat(j, ','))
			continue;
		if (!jr_eat(j, '}'))
			return jr_fail(j, "expected ',' or '}'");
		j->depth--;
		return 0;
	}
}

// ---- the payload's objects --------------------------------------------------

// An object with exactly the named fields (ParanoidUnmarshalJSONObjectExactFields).
struct exact {
	const char *what;            // "critical", for messages
	const char *const *names;    // NULL-terminated
	unsigned seen;
	int (*field)(struct jr *j, void *ctx, size_t index);
	void *ctx;
};

static int exact_member(struct jr *j, void *ctx, const char *key, size_t klen)
{
	struct exact *x = ctx;

	for (size_t i = 0; x->names[i]; i++) {
		if (strlen(x->names[i]) != klen || memcmp(x->names[i], key, klen))
			continue;
		if (x->seen & (1u << i))
			return err_set(j->e, ERR_INTEGRITY, "signature payload: duplicate key \"%s\" in %s",
				       x->names[i], x->what);
		x->seen |= 1u << i;
		return x->field(j, x->ctx, i);
	}
	return err_set(j->e, ERR_INTEGRITY, "signature payload: unknown key in %s", x->what);
}

static int exact_object(struct jr *j, struct exact *x)
{
	if (jr_object(j, x->what, exact_member, x) < 0)
		return -1;
	for (size_t i = 0; x->names[i]; i++)
		if (!(x->seen & (1u << i)))
			return err_set(j->e, ERR_INTEGRITY, "signature payload: key \"%s\" missing in %s",
				       x->names[i], x->what);
	return 0;
}

// A string field; a JSON null reads as "" (Go leaves a string untouched on null).
static int string_field(struct jr *j, const char *what, char **out, size_t *n)
{
	if (jr_null(j)) {
		*out = xstrdup("");
		*n = 0;
		return 0;
	}
	jr_ws(j);
	if (j->p >= j->end || *j->p != '"')
		return err_set(j->e, ERR_INTEGRITY, "signature payload: %s is not a string", what);
	return jr_string(j, out, n);
}

static int image_field(struct jr *j, void *ctx, size_t index)
{
	struct sigstore_payload *p = ctx;
	size_t n;

	(void)index;
	if (string_field(j, "critical.image.docker-manifest-digest", &p->manifest_digest, &n) < 0)
		return -1;
	if (n != strlen(p->manifest_digest) || !oci_digest_valid(p->manifest_digest))
		return err_set(j->e, ERR_INTEGRITY,
			       "signature payload: critical.image.docker-manifest-digest is not a valid digest");
	return 0;
}

static int identity_field(struct jr *j, void *ctx, size_t index)
{
	struct sigstore_payload *p = ctx;
	size_t n;

	(void)index;
	if (string_field(j, "critical.identity.docker-reference", &p->docker_reference, &n) < 0)
		return -1;
	if (n != strlen(p->docker_reference))
		return err_set(j->e, ERR_INTEGRITY,
			       "signature payload: critical.identity.docker-reference holds a NUL");
	return 0;
}

static int critical_field(struct jr *j, void *ctx, size_t index)
{
	static const char *const image_names[] = {"docker-manifest-digest", NULL};
	static const char *const identity_names[] = {"docker-reference", NULL};

	if (index == 0) { // type
		_cleanup_free_ char *t = NULL;
		size_t n;
		if (string_field(j, "critical.type", &t, &n) < 0)
			return -1;
		if (n != strlen(SIGSTORE_TYPE) || memcmp(t, SIGSTORE_TYPE, n))
			return err_set(j->e, ERR_INTEGRITY,
				       "signature payload: critical.type is not \"" SIGSTORE_TYPE "\"");
		return 0;
	}
	struct exact x = {.what = index == 1 ? "critical.image" : "critical.identity",
			  .names = index == 1 ? image_names : identity_names,
			  .field = index == 1 ? image_field : identity_field,
			  .ctx = ctx};
	return exact_object(j, &x);
}

// optional's keys, to refuse a repeated one (decoded keys compared).
struct keyset {
	struct {
		char *s;
		size_t n;
	} *v;
	size_t len, cap;
};

static int key_cmp(const void *a, const void *b)
{
	const struct {
		char *s;
		size_t n;
	} *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

static bool keyset_has_duplicate(struct keyset *k)
{
	if (k->len < 2)
		return false;
	qsort(k->v, k->len, sizeof(*k->v), key_cmp);
	for (size_t i = 1; i < k->len; i++)
		if (!key_cmp(&k->v[i - 1], &k->v[i]))
			return true;
	return false;
}

static void keyset_release(struct keyset *k)
{
	for (size_t i = 0; i < k->len; i++)
		free(k->v[i].s);
	free(k->v);
}

// timestamp: a number (or null) whose float64 is a whole int64, as
// float64(int64(t)) == t decides it in Go on amd64.
static int timestamp_value(struct jr *j)
{
	double t;

	if (jr_null(j))
		return 0;
	jr_ws(j);
	if (j->p >= j->end || !(*j->p == '-' || (*j->p >= '0' && *j->p <= '9')))
		return err_set(j->e, ERR_INTEGRITY, "signature payload: optional.timestamp is not a number");
	if (jr_number(j, &t) < 0)
		return -1;
	if (!(t >= -0x1p63 && t < 0x1p63) || (double)(int64_t)t != t)
		return err_set(j->e, ERR_INTEGRITY,
			       "signature payload: optional.timestamp is not an integer");
	return 0;
}

static int optional_member(struct jr *j, void *ctx, const char *key, size_t klen)
{
	struct keyset *k = ctx;

	if (k->len == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 8;
		k->v = xrealloc(k->v, k->cap * sizeof(*k->v));
	}
	k->v[k->len].s = xmalloc(klen ? klen : 1);
	memcpy(k->v[k->len].s, key, klen);
	k->v[k->len++].n = klen;
	if (klen == 7 && !memcmp(key, "creator", 7)) {
		_cleanup_free_ char *creator = NULL;
		size_t n;
		return string_field(j, "optional.creator", &creator, &n);
	}
	if (klen == 9 && !memcmp(key, "timestamp", 9))
		return timestamp_value(j);
	return jr_skip(j);
}

static int optional_value(struct jr *j)
{
	struct keyset k = {0};

	if (jr_null(j)) // cosign writes "optional": null
		return 0;
	int r = jr_object(j, "optional", optional_member, &k);
	if (r == 0 && keyset_has_duplicate(&k))
		r = err_set(j->e, ERR_INTEGRITY, "signature payload: duplicate key in optional");
	keyset_release(&k);
	return r;
}

static int top_field(struct jr *j, void *ctx, size_t index)
{
	static const char *const critical_names[] = {"type", "image", "identity", NULL};

	if (index == 1)
		return optional_value(j);
	struct exact x = {.what = "critical", .names = critical_names, .field = critical_field, .ctx = ctx};
	return exact_object(j, &x);
}

int sigstore_payload_parse(const void *data, size_t len, struct sigstore_payload *p, struct err *e)
{
	static const char *const top_names[] = {"critical", "optional", NULL};
	struct jr j = {.p = data, .end = (const unsigned char *)data + len, .start = data, .e = e};
	struct exact x = {.what = "the payload", .names = top_names, .field = top_field, .ctx = p};

	memset(p, 0, sizeof(*p));
	if (len > SIGSTORE_PAYLOAD_MAX)
		return err_set(e, ERR_INTEGRITY, "signature payload: larger than %u bytes",
			       SIGSTORE_PAYLOAD_MAX);
	if (!data)
		j.p = j.end = j.start = (const unsigned char *)"";
	int r = exact_object(&j, &x);
	if (r == 0) {
		jr_ws(&j);
		if (j.p != j.end)
			r = jr_fail(&j, "data after the JSON object");
	}
	if (j.c_locale)
		freelocale(j.c_locale);
	if (r < 0)
		sigstore_payload_release(p);
	return r;
}

void sigstore_payload_release(struct sigstore_payload *p)
{
	free(p->docker_reference);
	free(p->manifest_digest);
	memset(p, 0, sizeof(*p));
}

// ---- signatures ---------------------------------------------------------------

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

// Go's base64.StdEncoding.DecodeString: CR and LF anywhere are skipped; the
// rest comes in groups of four, the last one possibly "xx==" or "xxx="; the
// unused low bits of the last character are not checked. NULL when invalid.
static unsigned char *b64_decode(const char *s, size_t *outlen)
{
	size_t n = 0, w = 0;
	_cleanup_free_ char *t = xmalloc(strlen(s) + 1);

	for (const char *c = s; *c; c++)
		if (*c != '\r' && *c != '\n')
			t[n++] = *c;
	if (n % 4)
		return NULL;
	unsigned char *out = xmalloc(n / 4 * 3 + 1);
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		size_t pad = 0;
		for (size_t k = 0; k < 4; k++) {
			bool last = i + 4 == n;
			if (last && k >= 2 && t[i + k] == '=' && (k == 3 || t[i + 3] == '=')) {
				pad++;
				v[k] = 0;
			} else if ((v[k] = b64val((unsigned char)t[i + k])) < 0 || pad) {
				free(out);
				return NULL;
			}
		}
		uint32_t q = (uint32_t)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
		out[w++] = (unsigned char)(q >> 16);
		if (pad < 2)
			out[w++] = (unsigned char)(q >> 8);
		if (pad < 1)
			out[w++] = (unsigned char)q;
	}
	*outlen = w;
	return out;
}

// encoding/asn1's reading of one element of DER with the universal tag byte
// tag at p[*off] (parseTagAndLength: definite, minimal lengths; the content
// must fit). *off is left at the content, *len its length.
static bool asn1_element(const unsigned char *p, size_t n, size_t *off, unsigned char tag, size_t *len)
{
	size_t o = *off, l;

	if (o + 2 > n || p[o] != tag)
		return false;
	unsigned char b = p[o + 1];
	o += 2;
	if (!(b & 0x80)) {
		l = b;
	} else {
		size_t k = b & 0x7f;
		if (!k)
			return false; // indefinite length
		l = 0;
		for (size_t i = 0; i < k; i++) {
			if (o >= n || l >= (1u << 23))
				return false;
			l = l << 8 | p[o++];
			if (!l)
				return false; // leading zero byte
		}
		if (l < 0x80)
			return false; // long form for a short length
	}
	if (l > n - o)
		return false;
	*off = o;
	*len = l;
	return true;
}

// An INTEGER as encoding/asn1 takes it into a *big.Int: not empty, minimal.
static bool asn1_integer(const unsigned char *p, size_t n, size_t *off)
{
	size_t l;

	if (!asn1_element(p, n, off, 0x02, &l) || l == 0)
		return false;
	const unsigned char *c = p + *off;
	if (l > 1 && ((c[0] == 0 && !(c[1] & 0x80)) || (c[0] == 0xff && (c[1] & 0x80))))
		return false;
	*off += l;
	return true;
}

// Whether asn1.Unmarshal(sig, &struct{R, S *big.Int}{}) succeeds, which is how
// sigstore's ECDSAVerifier tells DER from IEEE P1363: SEQUENCE {INTEGER,
// INTEGER}, more elements in the sequence and bytes after it allowed.
static bool ecdsa_sig_is_asn1(const unsigned char *sig, size_t n)
{
	size_t off = 0, l;

	if (!asn1_element(sig, n, &off, 0x30, &l))
		return false;
	const unsigned char *in = sig + off;
	size_t o = 0;
	return asn1_integer(in, l, &o) && asn1_integer(in, l, &o);
}

// IEEE P1363 r||s re-encoded as DER for OpenSSL, as ecdsa.Verify(r, s) takes
// it; NULL when sigstore refuses it (odd or no length, more than 132 bytes, a
// zero half).
static unsigned char *ecdsa_p1363_to_der(const unsigned char *sig, size_t n, size_t *outlen)
{
	if (n == 0 || n > 132 || n % 2)
		return NULL;
	BIGNUM *r = BN_bin2bn(sig, (int)(n / 2), NULL);
	BIGNUM *s = BN_bin2bn(sig + n / 2, (int)(n / 2), NULL);
	ECDSA_SIG *es = ECDSA_SIG_new();
	unsigned char *der = NULL;

	if (r && s && es && !BN_is_zero(r) && !BN_is_zero(s) && ECDSA_SIG_set0(es, r, s) == 1) {
		r = s = NULL; // owned by es now
		int len = i2d_ECDSA_SIG(es, &der);
		if (len > 0)
			*outlen = (size_t)len;
		else
			der = NULL;
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return der;
}

enum sig_kind { SIG_RSA, SIG_ECDSA, SIG_ED25519 };

// The curve of an EC key, when c/image can use it (Go's crypto/elliptic curves).
static int key_curve(EVP_PKEY *key, const char **name, struct err *e)
{
	static const struct {
		int nid;
		const char *name;
	} curves[] = {{NID_secp224r1, "P-224"},
		      {NID_X9_62_prime256v1, "P-256"},
		      {NID_secp384r1, "P-384"},
		      {NID_secp521r1, "P-521"}};
	char group[80] = "";
	size_t glen = 0;

	if (EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) != 1)
		snprintf(group, sizeof(group), "explicit parameters");
	int nid = OBJ_sn2nid(group);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(group);
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (nid != NID_undef && curves[i].nid == nid) {
			*name = curves[i].name;
			return 0;
		}
	ERR_clear_error();
	return err_set(e, ERR_UNTRUSTED,
		       "signature: ECDSA key on curve \"%s\" is not supported (P-224, P-256, P-384, P-521 are)",
		       group);
}

static int key_kind(EVP_PKEY *key, enum sig_kind *kind, const char **name, struct err *e)
{
	if (EVP_PKEY_is_a(key, "RSA")) {
		int bits = EVP_PKEY_get_bits(key);
		*kind = SIG_RSA;
		*name = "RSA";
		if (bits < 1024)
			return err_set(e, ERR_UNTRUSTED,
				       "signature: RSA key of %d bits is too short (1024 at least)", bits);
		return 0;
	}
	if (EVP_PKEY_is_a(key, "EC")) {
		*kind = SIG_ECDSA;
		return key_curve(key, name, e);
	}
	if (EVP_PKEY_is_a(key, "ED25519")) {
		*kind = SIG_ED25519;
		*name = "Ed25519";
		return 0;
	}
	const char *type = EVP_PKEY_get0_type_name(key);
	return err_set(e, ERR_UNTRUSTED,
		       "signature: key type \"%s\" is not supported (ECDSA, RSA and Ed25519 are)",
		       type ? type : "unknown");
}

// 1: sig verifies over msg; 0: it does not; -1: OpenSSL could not allocate.
static int evp_verify(EVP_PKEY *key, enum sig_kind kind, const unsigned char *sig, size_t siglen,
		      const void *msg, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int r = 0;

	if (!ctx)
		return -1;
	const EVP_MD *md = kind == SIG_ED25519 ? NULL : EVP_sha256();
	if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key) == 1 &&
	    (kind != SIG_RSA || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1))
		r = EVP_DigestVerify(ctx, sig, siglen, msg ? msg : "", len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

int sigstore_verify(EVP_PKEY *key, const void *payload, size_t len, const char *sig_b64,
		    struct err *e)
{
	enum sig_kind kind = SIG_RSA;
	const char *name = NULL;
	size_t siglen = 0, derlen = 0;

	if (!key || (!payload && len))
		return err_set(e, ERR_INTERNAL, "signature: no key or no payload");
	if (!sig_b64)
		return err_set(e, ERR_INTEGRITY, "signature: no \"%s\" annotation", SIGSTORE_ANN_SIGNATURE);
	if (strlen(sig_b64) > SIGSTORE_SIG_B64_MAX)
		return err_set(e, ERR_INTEGRITY, "signature: \"%s\" annotation longer than %u bytes",
			       SIGSTORE_ANN_SIGNATURE, SIGSTORE_SIG_B64_MAX);
	_cleanup_free_ unsigned char *sig = b64_decode(sig_b64, &siglen);
	if (!sig)
		return err_set(e, ERR_INTEGRITY, "signature: \"%s\" annotation is not valid base64",
			       SIGSTORE_ANN_SIGNATURE);
	if (key_kind(key, &kind, &name, e) < 0)
		return -1;
	// ECDSA: DER as it is when encoding/asn1 reads it, else r||s re-encoded.
	bool asn1 = kind == SIG_ECDSA && ecdsa_sig_is_asn1(sig, siglen);
	unsigned char *der = NULL;
	if (kind == SIG_ECDSA && !asn1)
		der = ecdsa_p1363_to_der(sig, siglen, &derlen);
	int ok = 0;
	if (siglen && (kind != SIG_ECDSA || asn1 || der))
		ok = evp_verify(key, kind, der ? der : sig, der ? derlen : siglen, payload, len);
	OPENSSL_free(der);
	if (ok < 0)
		return err_set(e, ERR_INTERNAL, "signature: out of memory");
	if (!ok)
		return err_set(e, ERR_UNTRUSTED, "signature: does not verify with the %s%s key",
			       kind == SIG_ECDSA ? "ECDSA " : "", name);
	return 0;
}

char *sigstore_sig_tag(const char *digest)
{
	if (!digest || strncmp(digest, "sha256:", 7) || !oci_digest_valid(digest))
		return NULL;
	return xasprintf("sha256-%s.sig", digest + 7);
}
