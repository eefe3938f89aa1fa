// SPDX-License-Identifier: Apache-2.0
#include "auth/canonical.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/mem.h"
#include "util/strparse.h"

// Our requests are a few hundred bytes; a session token adds a few KiB. The cap
// only guards against a caller bug turning into unbounded growth.
#define CANON_MAX (256 * 1024)

static const char hexdig[] = "0123456789abcdef";

void canonical_hex(char *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[p[i] >> 4];
		out[2 * i + 1] = hexdig[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int canonical_sha256_hex(char out[CANONICAL_HEX_LEN + 1], const void *p, size_t n, struct err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (!EVP_Digest(p ? p : "", n, md, &len, EVP_sha256(), NULL) || len != CANONICAL_SHA256_LEN)
		return err_set(e, ERR_INTERNAL, "sha256 failed");
	canonical_hex(out, md, CANONICAL_SHA256_LEN);
	return 0;
}

int canonical_hmac_sha256(unsigned char out[CANONICAL_SHA256_LEN], const void *key, size_t keylen,
			  const void *msg, size_t msglen, struct err *e)
{
	unsigned int len = 0;
	if (keylen > INT_MAX)
		return err_set(e, ERR_INTERNAL, "hmac key too long");
	if (!HMAC(EVP_sha256(), key ? key : "", (int)keylen, msg ? msg : "", msglen, out, &len) ||
	    len != CANONICAL_SHA256_LEN)
		return err_set(e, ERR_INTERNAL, "hmac-sha256 failed");
	return 0;
}

int canonical_derive_key(unsigned char out[CANONICAL_SHA256_LEN], const char *prefix, const char *secret,
			 const char *date, const char *region, const char *service, const char *terminal,
			 struct err *e)
{
	size_t plen = strlen(prefix), slen = strlen(secret);
	char *k = xmalloc(plen + slen + 1);
	memcpy(k, prefix, plen);
	memcpy(k + plen, secret, slen);
	unsigned char a[CANONICAL_SHA256_LEN], b[CANONICAL_SHA256_LEN];
	int r = canonical_hmac_sha256(a, k, plen + slen, date, strlen(date), e);
	explicit_bzero(k, plen + slen);
	free(k);
	if (r == 0)
		r = canonical_hmac_sha256(b, a, sizeof(a), region, strlen(region), e);
	if (r == 0)
		r = canonical_hmac_sha256(a, b, sizeof(b), service, strlen(service), e);
	if (r == 0)
		r = canonical_hmac_sha256(out, a, sizeof(a), terminal, strlen(terminal), e);
	explicit_bzero(a, sizeof(a));
	explicit_bzero(b, sizeof(b));
	return r;
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int too_big(struct err *e)
{
	return err_set(e, ERR_INTERNAL, "request too large to sign");
}

int canonical_encode(struct buf *out, const char *p, size_t n, bool keep_slash, struct err *e)
{
	static const char up[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		int r;
		if (is_unreserved(c) || (keep_slash && c == '/')) {
			r = buf_add(out, &p[i], 1);
		} else {
			char esc[3] = { '%', up[c >> 4], up[c & 15] };
			r = buf_add(out, esc, 3);
		}
		if (r < 0)
			return too_big(e);
	}
	return 0;
}

int canonical_uri(struct buf *out, const char *path, bool normalize, struct err *e)
{
	size_t len = path ? strlen(path) : 0;
	if (len == 0)
		return buf_addstr(out, "/") < 0 ? too_big(e) : 0;
	if (!normalize)
		return canonical_encode(out, path, len, true, e);

	// A stack of segments: "." and "" push nothing, ".." pops.
	size_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += path[i] == '/';
	struct strparse_str *seg = xcalloc(cap, sizeof(*seg));
	size_t nseg = 0;
	const char *p = path, *end = path + len;
	while (p <= end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *stop = slash ? slash : end;
		size_t n = (size_t)(stop - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (nseg > 0)
				nseg--;
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			seg[nseg].p = p;
			seg[nseg].len = n;
			nseg++;
		}
		p = stop + 1;
	}
	int r = buf_addstr(out, "/") < 0 ? too_big(e) : 0;
	for (size_t i = 0; r == 0 && i < nseg; i++) {
		r = canonical_encode(out, seg[i].p, seg[i].len, false, e);
		if (r == 0 && (i + 1 < nseg || path[len - 1] == '/') && buf_addstr(out, "/") < 0)
			r = too_big(e);
	}
	free(seg);
	return r;
}

// Decodes %XX escapes of p[0..n) and encodes the bytes again, canonically.
static int requote(struct buf *out, const char *p, size_t n, struct err *e)
{
	char *raw = xmalloc(n + 1);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '%') {
			raw[m++] = p[i];
			continue;
		}
		int hi = i + 2 < n ? strparse_hexval((unsigned char)p[i + 1]) : -1;
		int lo = i + 2 < n ? strparse_hexval((unsigned char)p[i + 2]) : -1;
		if (hi < 0 || lo < 0) {
			free(raw);
			return err_set(e, ERR_USAGE, "malformed percent-escape in query string");
		}
		raw[m++] = (char)(hi << 4 | lo);
		i += 2;
	}
	int r = canonical_encode(out, raw, m, false, e);
	free(raw);
	return r;
}

struct qpair {
	char *key;
	char *value;
};

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : strcmp(x->value, y->value);
}

int canonical_query(struct buf *out, const char *query, struct err *e)
{
	if (!query || !*query)
		return 0;
	size_t cap = 1;
	for (const char *q = query; *q; q++)
		cap += *q == '&';
	struct qpair *v = xcalloc(cap, sizeof(*v));
	size_t n = 0;
	int r = 0;
	for (const char *p = query; r == 0 && *p;) {
		size_t plen = strcspn(p, "&");
		if (plen > 0) {
			const char *eq = memchr(p, '=', plen);
			size_t klen = eq ? (size_t)(eq - p) : plen;
			struct buf k, val;
			buf_init(&k, CANON_MAX);
			buf_init(&val, CANON_MAX);
			r = requote(&k, p, klen, e);
			if (r == 0 && eq)
				r = requote(&val, eq + 1, plen - klen - 1, e);
			v[n].key = buf_steal(&k);
			v[n].value = buf_steal(&val);
			n++;
		}
		p += plen;
		if (*p == '&')
			p++;
	}
	if (r == 0) {
		qsort(v, n, sizeof(*v), qpair_cmp);
		for (size_t i = 0; r == 0 && i < n; i++)
			if (buf_printf(out, "%s%s=%s", i ? "&" : "", v[i].key, v[i].value) < 0)
				r = too_big(e);
	}
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
	return r;
}

struct hentry {
	char *lname;
	const char *value;
	size_t idx; // position in the input: keeps repeated names in their order
};

static int hentry_cmp(const void *a, const void *b)
{
	const struct hentry *x = a, *y = b;
	int c = strcmp(x->lname, y->lname);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

// Headers that something between us and the server may add, drop or rewrite.
static bool skipped(const char *lname)
{
	static const char *const names[] = { "authorization", "user-agent",	   "expect",
					     "connection",    "transfer-encoding", "x-amzn-trace-id" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(lname, names[i]) == 0)
			return true;
	return false;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Trimmed value, whitespace runs as one space: "Trimall" of both specs.
static int add_trimmed(struct buf *out, const char *v, struct err *e)
{
	bool pending = false, any = false;
	for (; *v; v++) {
		if (is_ws(*v)) {
			pending = any;
			continue;
		}
		if ((pending && buf_add(out, " ", 1) < 0) || buf_add(out, v, 1) < 0)
			return too_big(e);
		pending = false;
		any = true;
	}
	return 0;
}

static char *lower_name(const char *name, struct err *e)
{
	if (!name || !*name) {
		err_set(e, ERR_INTERNAL, "empty header name");
		return NULL;
	}
	for (const char *c = name; *c; c++) {
		if (!strparse_is_tchar((unsigned char)*c)) {
			err_set(e, ERR_INTERNAL, "invalid header name '%.64s'", name);
			return NULL;
		}
	}
	char *l = xstrdup(name);
	for (char *c = l; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return l;
}

static int fill_entries(struct hentry *v, size_t *n, const struct canonical_header *h, size_t nh,
			size_t first, struct err *e)
{
	for (size_t i = 0; i < nh; i++) {
		char *l = lower_name(h[i].name, e);
		if (!l)
			return -1;
		if (skipped(l)) {
			free(l);
			continue;
		}
		v[*n].lname = l;
		v[*n].value = h[i].value ? h[i].value : "";
		v[*n].idx = first + i;
		(*n)++;
	}
	return 0;
}

int canonical_headers(struct buf *block, struct buf *signed_list, const struct canonical_header *h,
		      size_t n, const struct canonical_header *extra, size_t nextra, struct err *e)
{
	struct hentry *v = xcalloc(n + nextra + 1, sizeof(*v));
	size_t nv = 0;
	int r = fill_entries(v, &nv, h, n, 0, e);
	size_t nmine = nv;
	if (r == 0)
		r = fill_entries(v, &nv, extra, nextra, n, e);
	// The signer's own headers must not also come from the caller: the server
	// would see two values and the signature would not match either.
	for (size_t i = nmine; r == 0 && i < nv; i++)
		for (size_t j = 0; r == 0 && j < nmine; j++)
			if (strcmp(v[i].lname, v[j].lname) == 0)
				r = err_set(e, ERR_INTERNAL, "header '%s' is set by the signer",
					    v[i].lname);
	bool host = false;
	for (size_t i = 0; i < nmine; i++)
		host = host || strcmp(v[i].lname, "host") == 0;
	if (r == 0 && !host)
		r = err_set(e, ERR_INTERNAL, "request to sign has no Host header");
	if (r == 0)
		qsort(v, nv, sizeof(*v), hentry_cmp);
	for (size_t i = 0; r == 0 && i < nv; i++) {
		bool first = i == 0 || strcmp(v[i].lname, v[i - 1].lname) != 0;
		if (first) {
			if ((i > 0 && buf_addstr(block, "\n") < 0) ||
			    buf_printf(block, "%s:", v[i].lname) < 0 ||
			    buf_printf(signed_list, "%s%s", i ? ";" : "", v[i].lname) < 0)
				r = too_big(e);
		} else if (buf_addstr(block, ",") < 0) {
			r = too_big(e);
		}
		if (r == 0)
			r = add_trimmed(block, v[i].value, e);
	}
	if (r == 0 && nv > 0 && buf_addstr(block, "\n") < 0)
		r = too_big(e);
	for (size_t i = 0; i < nv; i++)
		free(v[i].lname);
	free(v);
	return r;
}

int canonical_request(char **out, char **signed_headers, const struct canonical_req *req,
		      const struct canonical_header *extra, size_t nextra, bool normalize,
		      const char *payload_hex, struct err *e)
{
	struct buf cr, block, list;
	buf_init(&cr, CANON_MAX);
	buf_init(&block, CANON_MAX);
	buf_init(&list, CANON_MAX);
	int r = 0;
	const char *m = req->method ? req->method : "";
	for (const char *c = m; r == 0 && *c; c++)
		if (!strparse_is_tchar((unsigned char)*c))
			r = err_set(e, ERR_INTERNAL, "invalid method '%.32s'", m);
	if (r == 0 && !*m)
		r = err_set(e, ERR_INTERNAL, "request to sign has no method");
	if (r == 0 && buf_printf(&cr, "%s\n", m) < 0)
		r = too_big(e);
	if (r == 0)
		r = canonical_uri(&cr, req->path, normalize, e);
	if (r == 0 && buf_addstr(&cr, "\n") < 0)
		r = too_big(e);
	if (r == 0)
		r = canonical_query(&cr, req->query, e);
	if (r == 0 && buf_addstr(&cr, "\n") < 0)
		r = too_big(e);
	if (r == 0)
		r = canonical_headers(&block, &list, req->headers, req->nheaders, extra, nextra, e);
	if (r == 0 && buf_printf(&cr, "%s\n%s\n%s", buf_str(&block), buf_str(&list),
				 payload_hex) < 0)
		r = too_big(e);
	if (r == 0) {
		*out = buf_steal(&cr);
		if (signed_headers)
			*signed_headers = buf_steal(&list);
	}
	buf_release(&cr);
	buf_release(&block);
	buf_release(&list);
	return r;
}

int canonical_string_to_sign(char **out, const char *algorithm, const char *datetime,
			const char *scope, const char *canonical, struct err *e)
{
	char hash[CANONICAL_HEX_LEN + 1];
	if (canonical_sha256_hex(hash, canonical, strlen(canonical), e) < 0)
		return -1;
	*out = xasprintf("%s\n%s\n%s\n%s", algorithm, datetime, scope, hash);
	return 0;
}

int canonical_format_time(char datetime[17], char date[9], time_t t, struct err *e)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_year < 0 - 1900 || tm.tm_year > 9999 - 1900 ||
	    strftime(datetime, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return err_set(e, ERR_INTERNAL, "cannot format signing time %lld", (long long)t);
	memcpy(date, datetime, 8);
	date[8] = '\0';
	return 0;
}

int canonical_stamp_init(struct canonical_stamp *st, time_t when, const struct canonical_req *req, struct err *e)
{
	if (canonical_format_time(st->datetime, st->date, when, e) < 0)
		return -1;
	return canonical_sha256_hex(st->payload, req->body, req->body_len, e);
}

void canonical_result_release(struct canonical_result *r)
{
	if (!r)
		return;
	free(r->canonical_request);
	free(r->string_to_sign);
	if (r->authorization) {
		explicit_bzero(r->authorization, strlen(r->authorization));
		free(r->authorization);
	}
	for (size_t i = 0; i < r->nadd; i++) {
		// Values are ours (malloc'd); the type is const for the caller's sake.
		char *v = (char *)(uintptr_t)r->add[i].value;
		if (v) {
			explicit_bzero(v, strlen(v));
			free(v);
		}
	}
	free(r->add);
	explicit_bzero(r, sizeof(*r));
}

// Scope elements and the access key go into the Authorization value as is.
static int check_field(const char *what, const char *v, struct err *e)
{
	if (!v || !*v)
		return err_set(e, ERR_USAGE, "signing: %s is empty", what);
	for (const char *c = v; *c; c++)
		if (*c <= ' ' || *c >= 0x7f || *c == '/' || *c == ',')
			return err_set(e, ERR_USAGE, "signing: invalid character in %s", what);
	return 0;
}

static int compute(struct canonical_result *out, const struct canonical_scheme *s,
		   const struct canonical_req *req, const char *access_key, const char *secret_key,
		   const char *region, const char *service, const struct canonical_stamp *st,
		   const struct canonical_header *extra, size_t nextra,
		   const struct canonical_header *unsigned_add, size_t nunsigned, struct err *e)
{
	if (check_field("access key", access_key, e) < 0 || check_field("region", region, e) < 0 ||
	    check_field("service", service, e) < 0)
		return -1;
	if (!secret_key || !*secret_key)
		return err_set(e, ERR_USAGE, "signing: secret key is empty");
	// Added unsigned, so canonical_headers never sees them: check for doubles here.
	for (size_t i = 0; i < nunsigned; i++)
		for (size_t j = 0; j < req->nheaders; j++)
			if (req->headers[j].name &&
			    strcasecmp(req->headers[j].name, unsigned_add[i].name) == 0)
				return err_set(e, ERR_INTERNAL, "header '%s' is set by the signer",
					       unsigned_add[i].name);
	_cleanup_free_ char *signed_headers = NULL;
	if (canonical_request(&out->canonical_request, &signed_headers, req, extra, nextra,
			      s->normalize, st->payload, e) < 0)
		return -1;
	_cleanup_free_ char *scope = xasprintf("%s/%s/%s/%s", st->date, region, service, s->terminal);
	if (canonical_string_to_sign(&out->string_to_sign, s->algorithm, st->datetime, scope,
				out->canonical_request, e) < 0)
		return -1;
	unsigned char key[CANONICAL_SHA256_LEN], mac[CANONICAL_SHA256_LEN];
	int r = canonical_derive_key(key, s->key_prefix, secret_key, st->date, region, service, s->terminal,
				e);
	if (r == 0)
		r = canonical_hmac_sha256(mac, key, sizeof(key), out->string_to_sign,
					  strlen(out->string_to_sign), e);
	explicit_bzero(key, sizeof(key));
	if (r < 0)
		return -1;
	canonical_hex(out->signature, mac, sizeof(mac));
	explicit_bzero(mac, sizeof(mac));
	out->authorization = xasprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
				       s->algorithm, access_key, scope, signed_headers,
				       out->signature);
	out->add = xcalloc(nextra + nunsigned + 1, sizeof(*out->add));
	for (size_t i = 0; i < nextra + nunsigned; i++) {
		const struct canonical_header *h = i < nextra ? &extra[i] : &unsigned_add[i - nextra];
		out->add[i].name = h->name;
		out->add[i].value = xstrdup(h->value);
		out->nadd++;
	}
	return 0;
}

int canonical_sign(struct canonical_result *out, const struct canonical_scheme *s,
		   const struct canonical_req *req, const char *access_key, const char *secret_key,
		   const char *region, const char *service, const struct canonical_stamp *st,
		   const struct canonical_header *extra, size_t nextra,
		   const struct canonical_header *unsigned_add, size_t nunsigned, struct err *e)
{
	memset(out, 0, sizeof(*out));
	if (compute(out, s, req, access_key, secret_key, region, service, st, extra, nextra,
		    unsigned_add, nunsigned, e) < 0) {
		canonical_result_release(out);
		return -1;
	}
	return 0;
}
