// SPDX-License-Identifier: Apache-2.0
// containers-policy.json(5) signature policies: strict parsing as c/image's
// signature/policy_config*.go, the docker transport's scope lookup
// (docker/policyconfiguration/naming.go, policy_eval.go) and the identity
// matches of policy_reference_match.go. See auth/policy.h for the decisions.
#include "auth/policy.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/ref.h"
#include "util/file.h"
#include "util/mem.h"
#include "util/strparse.h"

#define POLICY_FILE_MAX (1u << 20)
#define POLICY_KEY_FILE_MAX (64u << 10)
#define POLICY_RSA_MIN_BITS 2048
#define POLICY_RSA_MAX_BITS 16384
#define POLICY_QUOTE_MAX 60  // bytes of a scope or value echoed in a message
#define POLICY_FROM_MAX 300  // length of keys_from before it is cut short
#define POLICY_WHERE_MAX 640

// ---------------------------------------------------------------------------
// Messages

// s escaped for a message (", \, control and non-ASCII bytes as \xHH), cut
// after POLICY_QUOTE_MAX bytes. By value, to be used inline as an argument.
struct pq {
	char s[4 * POLICY_QUOTE_MAX + 4];
};

static struct pq pq(const char *s)
{
	struct pq q;
	strparse_quote(q.s, s, POLICY_QUOTE_MAX);
	return q;
}

// Parsing state: the file and the place in it ("default[0]",
// "transports.docker[\"quay.io/ns\"][1]") that messages name.
struct pctx {
	const char *file;
	struct err *e;
	char where[POLICY_WHERE_MAX];
};

static int pfail(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pfail(struct pctx *c, const char *fmt, ...)
{
	char what[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->where[0])
		return err_set(c->e, ERR_USAGE, "policy %s: %s: %s", c->file, c->where, what);
	return err_set(c->e, ERR_USAGE, "policy %s: %s", c->file, what);
}

static void where_set(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void where_set(struct pctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->where, sizeof(c->where), fmt, ap);
	va_end(ap);
}

// Appends ".name" to the place; returns the old length for where_pop.
static size_t where_push(struct pctx *c, const char *name)
{
	size_t n = strlen(c->where);
	snprintf(c->where + n, sizeof(c->where) - n, ".%s", name);
	return n;
}

static void where_pop(struct pctx *c, size_t n)
{
	c->where[n] = '\0';
}

// ---------------------------------------------------------------------------
// Base64 as Go's encoding/json decodes a []byte: standard alphabet, padding
// required, '\r' and '\n' ignored anywhere.

static int b64_val(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

// One group of four; pads is how many '=' end it (only in the last group).
static bool b64_quad(const char *q, bool last, unsigned char *out, size_t *o)
{
	int v[4], pads = 0;
	for (int j = 0; j < 4; j++) {
		if (q[j] == '=' && last && j >= 2 && (j == 3 || q[3] == '=')) {
			v[j] = 0;
			pads++;
			continue;
		}
		if (pads || (v[j] = b64_val((unsigned char)q[j])) < 0)
			return false;
	}
	unsigned long w = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 | (unsigned long)v[2] << 6 |
			  (unsigned long)v[3];
	out[(*o)++] = (unsigned char)(w >> 16);
	if (pads < 2)
		out[(*o)++] = (unsigned char)(w >> 8);
	if (pads < 1)
		out[(*o)++] = (unsigned char)w;
	return true;
}

// malloc'd bytes (NUL-terminated for convenience) or NULL when s is not base64.
static unsigned char *b64_decode(const char *s, size_t *outlen)
{
	size_t n = strlen(s), m = 0, o = 0;
	_cleanup_free_ char *t = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n')
			t[m++] = s[i];
	if (m % 4)
		return NULL;
	unsigned char *out = xmalloc(m / 4 * 3 + 1);
	for (size_t i = 0; i < m; i += 4) {
		if (!b64_quad(t + i, i + 4 == m, out, &o)) {
			free(out);
			return NULL;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

// ---------------------------------------------------------------------------
// Files

// Reads a regular file of at most max bytes into *data (NUL-terminated).
// On failure fills why ("cannot open: ...", "a FIFO, not a regular file").
static int read_regular(const char *path, size_t max, char **data, size_t *len, char *why, size_t whylen)
{
	// O_NONBLOCK: a FIFO put in place of the file must not hang the open.
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(why, whylen, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s, not a regular file", file_kind(st.st_mode));
		return -1;
	}
	struct buf b;
	buf_init(&b, max);
	char tmp[16384];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n > 0 && buf_add(&b, tmp, (size_t)n) < 0)) {
			if (n < 0)
				snprintf(why, whylen, "cannot read: %s", strerror(errno));
			else
				snprintf(why, whylen, "larger than %zu bytes", max);
			buf_release(&b);
			return -1;
		}
		if (n == 0)
			break;
	}
	*len = b.len;
	*data = buf_steal(&b);
	return 0;
}

// ---------------------------------------------------------------------------
// Keys

// c/image's keys are PKIX public keys; imgpull verifies these types only.
static int key_type_check(const EVP_PKEY *k, char *why, size_t whylen)
{
	int id = EVP_PKEY_get_base_id(k);
	if (id == EVP_PKEY_ED25519)
		return 0;
	if (id == EVP_PKEY_RSA) {
		int bits = EVP_PKEY_get_bits(k);
		if (bits >= POLICY_RSA_MIN_BITS && bits <= POLICY_RSA_MAX_BITS)
			return 0;
		snprintf(why, whylen, "an RSA key of %d bits (%d to %d are accepted)", bits, POLICY_RSA_MIN_BITS,
			 POLICY_RSA_MAX_BITS);
		return -1;
	}
	if (id == EVP_PKEY_EC) {
		char group[80] = "";
		int nid = EVP_PKEY_get_group_name(k, group, sizeof(group), NULL) ? OBJ_sn2nid(group) : NID_undef;
		if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 || nid == NID_secp521r1)
			return 0;
		snprintf(why, whylen, "an EC key on curve \"%s\" (P-256, P-384 and P-521 are accepted)",
			 group[0] ? pq(group).s : "(explicit parameters)");
		return -1;
	}
	const char *name = EVP_PKEY_get0_type_name(k);
	snprintf(why, whylen, "a key of type %s (EC P-256/P-384/P-521, RSA and Ed25519 keys are accepted)",
		 name ? pq(name).s : "unknown");
	return -1;
}

// The first PEM block of pem, which must be a "PUBLIC KEY"; what names it
// ("keyPath '/etc/k.pub'", "keyData") in messages, which never quote the bytes.
static int key_from_pem(struct pctx *c, const char *what, const char *pem, size_t len, EVP_PKEY **out)
{
	static const char begin[] = "-----BEGIN ", label[] = "PUBLIC KEY-----";
	const char *b = memmem(pem, len, begin, sizeof(begin) - 1);
	if (!b)
		return pfail(c, "%s: not a PEM public key (no \"-----BEGIN PUBLIC KEY-----\")", what);
	size_t off = (size_t)(b - pem) + sizeof(begin) - 1;
	if (len - off < sizeof(label) - 1 || memcmp(pem + off, label, sizeof(label) - 1) != 0)
		return pfail(c, "%s: the first PEM block is not a \"PUBLIC KEY\" (a PKIX public key as cosign writes)",
			     what);
	BIO *bio = BIO_new_mem_buf(b, (int)(len - (size_t)(b - pem)));
	EVP_PKEY *k = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!k) {
		ERR_clear_error();
		return pfail(c, "%s: not a valid PEM public key", what);
	}
	char why[400];
	if (key_type_check(k, why, sizeof(why)) < 0) {
		ERR_clear_error();
		EVP_PKEY_free(k);
		return pfail(c, "%s: %s", what, why);
	}
	*out = k;
	return 0;
}

static int key_from_path(struct pctx *c, const char *what, const char *path, EVP_PKEY **out)
{
	if (path[0] != '/')
		return pfail(c, "%s is not an absolute path (c/image would read it from the working directory)",
			     what);
	char *data = NULL, why[200];
	size_t len = 0;
	if (read_regular(path, POLICY_KEY_FILE_MAX, &data, &len, why, sizeof(why)) < 0)
		return pfail(c, "%s: %s", what, why);
	int r = key_from_pem(c, what, data, len, out);
	free(data);
	return r;
}

static int key_from_b64(struct pctx *c, const char *what, const char *b64, EVP_PKEY **out)
{
	size_t len = 0;
	_cleanup_free_ unsigned char *pem = b64_decode(b64, &len);
	if (!pem) // checked while reading the fields already
		return pfail(c, "%s is not base64", what);
	return key_from_pem(c, what, (const char *)pem, len, out);
}

// Adds " /path" (or ", /path") to the description of where the keys come from,
// cut short with ", ..." past POLICY_FROM_MAX.
static void from_add(char **from, const char *sep, const char *item)
{
	size_t n = strlen(*from);
	if (n > POLICY_FROM_MAX)
		return;
	char *next = n + strlen(item) > POLICY_FROM_MAX ? xasprintf("%s%s...", *from, sep)
						       : xasprintf("%s%s%s", *from, sep, item);
	free(*from);
	*from = next;
}

// ---------------------------------------------------------------------------
// JSON objects read strictly: known fields only, each at most once, each of
// its type (as c/image's ParanoidUnmarshalJSONObject).

enum fkind {
	FK_STR,  // a string
	FK_STRS, // a list of strings
	FK_B64,  // a base64 string ([]byte)
	FK_B64S, // a list of base64 strings
	FK_OBJ,  // an object, read by the caller
	FK_LIST, // a list, read by the caller
};

struct fdef {
	const char *name;
	enum fkind kind;
};

static bool is_b64(const cJSON *v)
{
	size_t n;
	if (!cJSON_IsString(v))
		return false;
	unsigned char *d = b64_decode(v->valuestring, &n);
	free(d);
	return d != NULL;
}

static bool all_items(const cJSON *v, bool (*ok)(const cJSON *))
{
	const cJSON *it;
	if (!cJSON_IsArray(v))
		return false;
	cJSON_ArrayForEach(it, v)
		if (!ok(it))
			return false;
	return true;
}

static bool is_str(const cJSON *v)
{
	return cJSON_IsString(v);
}

static bool kind_ok(enum fkind k, const cJSON *v)
{
	switch (k) {
	case FK_STR: return cJSON_IsString(v);
	case FK_STRS: return all_items(v, is_str);
	case FK_B64: return is_b64(v);
	case FK_B64S: return all_items(v, is_b64);
	case FK_OBJ: return cJSON_IsObject(v);
	case FK_LIST: return cJSON_IsArray(v);
	}
	return false;
}

static const char *kind_name(enum fkind k)
{
	static const char *const names[] = {"a string", "a list of strings", "a base64 string",
					    "a list of base64 strings", "an object", "a list"};
	return names[k];
}

// vals[i] is the value of defs[i], or NULL when the field is absent.
static int fields_get(struct pctx *c, const cJSON *o, const struct fdef *defs, size_t n, const cJSON **vals)
{
	const cJSON *f;
	if (!cJSON_IsObject(o))
		return pfail(c, "not a JSON object");
	for (size_t i = 0; i < n; i++)
		vals[i] = NULL;
	cJSON_ArrayForEach(f, o) {
		size_t i = 0;
		while (i < n && strcmp(defs[i].name, f->string) != 0)
			i++;
		if (i == n)
			return pfail(c, "unknown field \"%s\"", pq(f->string).s);
		if (vals[i])
			return pfail(c, "field \"%s\" appears twice", defs[i].name);
		if (!kind_ok(defs[i].kind, f))
			return pfail(c, "\"%s\" must be %s", defs[i].name, kind_name(defs[i].kind));
		vals[i] = f;
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// For maps with any keys (transports, scopes): the first name that appears
// twice, or NULL.
static const char *dup_key(const cJSON *o)
{
	size_t n = (size_t)cJSON_GetArraySize(o), i = 0;
	const cJSON *f;
	const char *dup = NULL;
	if (n < 2)
		return NULL;
	const char **names = xcalloc(n, sizeof(*names));
	cJSON_ArrayForEach(f, o)
		names[i++] = f->string;
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 1; i < n && !dup; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			dup = names[i];
	free(names);
	return dup;
}

static bool str_set(const cJSON *v)
{
	return v && v->valuestring[0];
}

// ---------------------------------------------------------------------------
// References, as docker/reference sees them for identities

// A parsed reference and whether its text had a tag (oci_ref_parse fills in
// "latest" when there is neither tag nor digest; c/image keeps such a
// reference "name only").
struct pref {
	struct oci_ref r;
	bool tagged;
};

static bool pref_parse(struct pref *p, const char *s)
{
	struct err e = {0};
	p->tagged = false;
	if (oci_ref_parse(&p->r, s, &e) < 0)
		return false;
	const char *at = strchr(s, '@');
	size_t n = at ? (size_t)(at - s) : strlen(s), t = p->r.tag ? strlen(p->r.tag) : 0;
	p->tagged = p->r.tag && n > t && s[n - t - 1] == ':' && memcmp(s + n - t, p->r.tag, t) == 0;
	return true;
}

static void pref_release(struct pref *p)
{
	oci_ref_release(&p->r);
}

static bool pref_name_only(const struct pref *p)
{
	return !p->tagged && !p->r.digest;
}

// docker/reference's String(): NAME[:TAG][@DIGEST], no tag filled in.
static char *pref_string(const struct pref *p)
{
	return xasprintf("%s/%s%s%s%s%s", p->r.domain, p->r.path, p->tagged ? ":" : "", p->tagged ? p->r.tag : "",
			 p->r.digest ? "@" : "", p->r.digest ? p->r.digest : "");
}

static bool same_name(const struct pref *a, const struct pref *b)
{
	return strcmp(a->r.domain, b->r.domain) == 0 && strcmp(a->r.path, b->r.path) == 0;
}

static bool same_string(const struct pref *a, const struct pref *b)
{
	if (!same_name(a, b) || a->tagged != b->tagged || !a->r.digest != !b->r.digest)
		return false;
	if (a->tagged && strcmp(a->r.tag, b->r.tag) != 0)
		return false;
	return !a->r.digest || strcmp(a->r.digest, b->r.digest) == 0;
}

// ---------------------------------------------------------------------------
// remapIdentity prefixes: c/image's validateIdentityRemappingPrefix, written
// out from docker/reference's DomainRegexp and NameRegexp.

static bool is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool is_lower_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

// domainComponent: [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
static bool dom_component(const char *p, size_t n)
{
	if (n == 0 || !is_alnum((unsigned char)p[0]) || !is_alnum((unsigned char)p[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!is_alnum((unsigned char)p[i]) && p[i] != '-')
			return false;
	return true;
}

// domain: domainComponent ( "." domainComponent )* ( ":" [0-9]+ )?
static bool dom_match(const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n);
	size_t hn = colon ? (size_t)(colon - p) : n;
	if (colon) {
		if (hn + 1 == n)
			return false;
		for (size_t i = hn + 1; i < n; i++)
			if (p[i] < '0' || p[i] > '9')
				return false;
	}
	for (size_t i = 0;;) {
		const char *dot = memchr(p + i, '.', hn - i);
		size_t end = dot ? (size_t)(dot - p) : hn;
		if (!dom_component(p + i, end - i))
			return false;
		if (!dot)
			return true;
		i = end + 1;
	}
}

// nameComponent: [a-z0-9]+ ( ( "." | "_" | "__" | "-"* ) [a-z0-9]+ )*
static bool name_component(const char *p, size_t n)
{
	size_t i = 0;
	for (;;) {
		size_t st = i;
		while (i < n && is_lower_alnum((unsigned char)p[i]))
			i++;
		if (i == st)
			return false;
		if (i == n)
			return true;
		if (p[i] == '.')
			i++;
		else if (p[i] == '_')
			i += i + 1 < n && p[i + 1] == '_' ? 2 : 1;
		else if (p[i] == '-')
			while (i < n && p[i] == '-')
				i++;
		else
			return false;
	}
}

static bool remap_prefix_ok(const char *s)
{
	size_t n = strlen(s);
	if (dom_match(s, n))
		return true;
	const char *p = memchr(s, '/', n);
	if (!p || !dom_match(s, (size_t)(p - s)))
		return false;
	for (;;) {
		const char *q = strchr(p + 1, '/');
		size_t len = q ? (size_t)(q - p - 1) : strlen(p + 1);
		if (!name_component(p + 1, len))
			return false;
		if (!q)
			return true;
		p = q;
	}
}

// ---------------------------------------------------------------------------
// signedIdentity

struct id_type {
	const char *name;
	enum policy_identity_kind kind;
	const char *f1, *f2; // its fields besides "type", all required
};

static const struct id_type id_types[] = {
	{"matchRepoDigestOrExact", POLICY_ID_MATCH_REPO_DIGEST_OR_EXACT, NULL, NULL},
	{"matchRepository", POLICY_ID_MATCH_REPOSITORY, NULL, NULL},
	{"matchExact", POLICY_ID_MATCH_EXACT, NULL, NULL},
	{"exactReference", POLICY_ID_EXACT_REFERENCE, "dockerReference", NULL},
	{"exactRepository", POLICY_ID_EXACT_REPOSITORY, "dockerRepository", NULL},
	{"remapIdentity", POLICY_ID_REMAP, "prefix", "signedPrefix"},
};

// The values of exactReference, exactRepository and remapIdentity, as
// newPRMExactReference, newPRMExactRepository and newPRMRemapIdentity check them.
static int identity_values(struct pctx *c, const struct id_type *t, const char *v1, const char *v2)
{
	struct pref r;
	bool ok;
	switch (t->kind) {
	case POLICY_ID_EXACT_REFERENCE:
	case POLICY_ID_EXACT_REPOSITORY:
		ok = pref_parse(&r, v1) && (t->kind == POLICY_ID_EXACT_REPOSITORY || !pref_name_only(&r));
		pref_release(&r);
		if (!ok)
			return pfail(c, "%s \"%s\" is not a reference%s", t->f1, pq(v1).s,
				     t->kind == POLICY_ID_EXACT_REFERENCE ? " with a tag or digest" : "");
		return 0;
	case POLICY_ID_REMAP:
		if (!remap_prefix_ok(v1))
			return pfail(c, "prefix \"%s\" is not a host[:port], namespace or repository", pq(v1).s);
		if (!remap_prefix_ok(v2))
			return pfail(c, "signedPrefix \"%s\" is not a host[:port], namespace or repository",
				     pq(v2).s);
		return 0;
	default:
		return 0;
	}
}

// id may be NULL: the identity is checked only.
static int identity_parse(struct pctx *c, const cJSON *o, struct policy_identity *id)
{
	size_t w = where_push(c, "signedIdentity");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
	const struct id_type *it = NULL;
	for (size_t i = 0; cJSON_IsString(t) && i < sizeof(id_types) / sizeof(id_types[0]); i++)
		if (strcmp(t->valuestring, id_types[i].name) == 0)
			it = &id_types[i];
	if (!it)
		return cJSON_IsString(t) ? pfail(c, "unknown identity type \"%s\"", pq(t->valuestring).s)
					 : pfail(c, "no \"type\" string");
	struct fdef defs[] = {{"type", FK_STR}, {it->f1 ? it->f1 : "", FK_STR}, {it->f2 ? it->f2 : "", FK_STR}};
	size_t n = it->f2 ? 3 : it->f1 ? 2 : 1;
	const cJSON *v[3];
	if (fields_get(c, o, defs, n, v) < 0)
		return -1;
	for (size_t i = 1; i < n; i++)
		if (!v[i])
			return pfail(c, "%s needs \"%s\"", it->name, defs[i].name);
	if (identity_values(c, it, n > 1 ? v[1]->valuestring : NULL, n > 2 ? v[2]->valuestring : NULL) < 0)
		return -1;
	where_pop(c, w);
	if (!id)
		return 0;
	id->kind = it->kind;
	if (it->kind == POLICY_ID_EXACT_REFERENCE)
		id->reference = xstrdup(v[1]->valuestring);
	if (it->kind == POLICY_ID_EXACT_REPOSITORY)
		id->repository = xstrdup(v[1]->valuestring);
	if (it->kind == POLICY_ID_REMAP) {
		id->prefix = xstrdup(v[1]->valuestring);
		id->signed_prefix = xstrdup(v[2]->valuestring);
	}
	return 0;
}

// ---------------------------------------------------------------------------
// Requirements that imgpull never applies, checked as c/image checks them:
// signedBy, signedBaseLayer, sigstoreSigned's fulcio and pki.

static int check_signed_by(struct pctx *c, const cJSON *o)
{
	static const struct fdef defs[] = {{"type", FK_STR},     {"keyType", FK_STR}, {"keyPath", FK_STR},
					   {"keyPaths", FK_STRS}, {"keyData", FK_B64}, {"signedIdentity", FK_OBJ}};
	static const char *const key_types[] = {"GPGKeys", "signedByGPGKeys", "X509Certificates", "signedByX509CAs"};
	const cJSON *v[6];
	if (fields_get(c, o, defs, 6, v) < 0)
		return -1;
	bool kt = false;
	for (size_t i = 0; v[1] && i < sizeof(key_types) / sizeof(key_types[0]); i++)
		kt = kt || strcmp(v[1]->valuestring, key_types[i]) == 0;
	if (!kt)
		return pfail(c, "signedBy needs a keyType of GPGKeys, signedByGPGKeys, X509Certificates or "
				"signedByX509CAs");
	if (v[2] && !v[2]->valuestring[0])
		return pfail(c, "keyPath is empty");
	if (!!v[2] + !!v[3] + !!v[4] != 1)
		return pfail(c, "exactly one of keyPath, keyPaths and keyData must be given");
	return v[5] ? identity_parse(c, v[5], NULL) : 0;
}

static int check_base_layer(struct pctx *c, const cJSON *o)
{
	static const struct fdef defs[] = {{"type", FK_STR}, {"baseLayerIdentity", FK_OBJ}};
	const cJSON *v[2];
	if (fields_get(c, o, defs, 2, v) < 0)
		return -1;
	if (!v[1])
		return pfail(c, "signedBaseLayer needs \"baseLayerIdentity\"");
	// Read like signedIdentity (newPolicyReferenceMatchFromJSON).
	return identity_parse(c, v[1], NULL);
}

static int check_fulcio(struct pctx *c, const cJSON *o)
{
	static const struct fdef defs[] = {
		{"caPath", FK_STR}, {"caData", FK_B64}, {"oidcIssuer", FK_STR}, {"subjectEmail", FK_STR}};
	const cJSON *v[4];
	size_t w = where_push(c, "fulcio");
	if (fields_get(c, o, defs, 4, v) < 0)
		return -1;
	if (str_set(v[0]) && v[1])
		return pfail(c, "caPath and caData cannot be used simultaneously");
	if (!str_set(v[0]) && !v[1])
		return pfail(c, "one of caPath and caData must be given");
	if (!str_set(v[2]))
		return pfail(c, "oidcIssuer not specified");
	if (!str_set(v[3]))
		return pfail(c, "subjectEmail not specified");
	where_pop(c, w);
	return 0;
}

static int check_pki(struct pctx *c, const cJSON *o)
{
	static const struct fdef defs[] = {{"caRootsPath", FK_STR},	    {"caRootsData", FK_B64},
					   {"caIntermediatesPath", FK_STR}, {"caIntermediatesData", FK_B64},
					   {"subjectEmail", FK_STR},	    {"subjectHostname", FK_STR}};
	const cJSON *v[6];
	size_t w = where_push(c, "pki");
	if (fields_get(c, o, defs, 6, v) < 0)
		return -1;
	if (str_set(v[0]) && v[1])
		return pfail(c, "caRootsPath and caRootsData cannot be used simultaneously");
	if (!str_set(v[0]) && !v[1])
		return pfail(c, "one of caRootsPath and caRootsData must be given");
	if (str_set(v[2]) && v[3])
		return pfail(c, "caIntermediatesPath and caIntermediatesData cannot be used simultaneously");
	if (!str_set(v[4]) && !str_set(v[5]))
		return pfail(c, "one of subjectEmail and subjectHostname must be given");
	where_pop(c, w);
	return 0;
}

// ---------------------------------------------------------------------------
// sigstoreSigned

enum {
	SS_TYPE, SS_KEY_PATH, SS_KEY_PATHS, SS_KEY_DATA, SS_KEY_DATAS, SS_FULCIO, SS_REKOR_PATH, SS_REKOR_PATHS,
	SS_REKOR_DATA, SS_REKOR_DATAS, SS_PKI, SS_IDENTITY, SS_N
};

static const struct fdef ss_defs[SS_N] = {
	{"type", FK_STR},	       {"keyPath", FK_STR},		{"keyPaths", FK_STRS},
	{"keyData", FK_B64},	       {"keyDatas", FK_B64S},		{"fulcio", FK_OBJ},
	{"rekorPublicKeyPath", FK_STR}, {"rekorPublicKeyPaths", FK_STRS}, {"rekorPublicKeyData", FK_B64},
	{"rekorPublicKeyDatas", FK_B64S}, {"pki", FK_OBJ},		{"signedIdentity", FK_OBJ},
};

// What imgpull cannot verify, refused where the policy applies.
static int ss_refuse(struct pctx *c, const cJSON *const *v)
{
	if (v[SS_FULCIO])
		return pfail(c, "sigstoreSigned with \"fulcio\" (keyless, certificate-based signatures) is not "
				"supported by imgpull: use keyPath, keyPaths, keyData or keyDatas");
	if (v[SS_PKI])
		return pfail(c, "sigstoreSigned with \"pki\" (X.509 certificate-based signatures) is not "
				"supported by imgpull: use keyPath, keyPaths, keyData or keyDatas");
	for (int i = SS_REKOR_PATH; i <= SS_REKOR_DATAS; i++)
		if (v[i])
			return pfail(c, "sigstoreSigned with \"%s\" (Rekor transparency-log proofs) is not "
					"supported by imgpull",
				     ss_defs[i].name);
	return 0;
}

// newPRSigstoreSigned's rules.
static int ss_check(struct pctx *c, const cJSON *const *v)
{
	static const int lists[] = {SS_KEY_PATHS, SS_KEY_DATAS, SS_REKOR_PATHS, SS_REKOR_DATAS};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (v[lists[i]] && cJSON_GetArraySize(v[lists[i]]) == 0)
			return pfail(c, "\"%s\" contains no entries", ss_defs[lists[i]].name);
	if (v[SS_KEY_PATH] && !v[SS_KEY_PATH]->valuestring[0])
		return pfail(c, "\"keyPath\" is empty");
	if (v[SS_REKOR_PATH] && !v[SS_REKOR_PATH]->valuestring[0])
		return pfail(c, "\"rekorPublicKeyPath\" is empty");
	const cJSON *it;
	cJSON_ArrayForEach(it, v[SS_KEY_PATHS])
		if (!it->valuestring[0])
			return pfail(c, "\"keyPaths\" contains an empty path");
	int keys = !!v[SS_KEY_PATH] + !!v[SS_KEY_PATHS] + !!v[SS_KEY_DATA] + !!v[SS_KEY_DATAS] + !!v[SS_FULCIO] +
		   !!v[SS_PKI];
	int rekor = !!v[SS_REKOR_PATH] + !!v[SS_REKOR_PATHS] + !!v[SS_REKOR_DATA] + !!v[SS_REKOR_DATAS];
	if (keys != 1)
		return pfail(c, "exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio and pki must be given");
	if (rekor > 1)
		return pfail(c, "at most one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and "
				"rekorPublicKeyDatas can be given");
	if (v[SS_FULCIO] && !rekor)
		return pfail(c, "fulcio needs one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData "
				"and rekorPublicKeyDatas");
	if (v[SS_PKI] && rekor)
		return pfail(c, "rekorPublicKey* fields are not supported with pki");
	if (v[SS_FULCIO] && check_fulcio(c, v[SS_FULCIO]) < 0)
		return -1;
	return v[SS_PKI] ? check_pki(c, v[SS_PKI]) : 0;
}

// The one source of keys of a checked sigstoreSigned: one key per entry.
static int ss_keys(struct pctx *c, const cJSON *const *v, struct policy_req *r)
{
	const cJSON *list = v[SS_KEY_PATHS] ? v[SS_KEY_PATHS] : v[SS_KEY_DATAS];
	bool paths = v[SS_KEY_PATH] || v[SS_KEY_PATHS];
	r->nkeys = list ? (size_t)cJSON_GetArraySize(list) : 1;
	r->keys = xcalloc(r->nkeys, sizeof(*r->keys));
	if (!list) {
		const char *s = (v[SS_KEY_PATH] ? v[SS_KEY_PATH] : v[SS_KEY_DATA])->valuestring;
		_cleanup_free_ char *what = paths ? xasprintf("keyPath '%s'", pq(s).s) : xstrdup("keyData");
		r->keys_from = paths ? xasprintf("keyPath %s", pq(s).s) : xstrdup("keyData");
		return paths ? key_from_path(c, what, s, &r->keys[0]) : key_from_b64(c, what, s, &r->keys[0]);
	}
	r->keys_from = paths ? xstrdup("keyPaths") : xasprintf("keyDatas (%zu key%s)", r->nkeys, r->nkeys == 1 ? "" : "s");
	const cJSON *it;
	size_t i = 0;
	cJSON_ArrayForEach(it, list) {
		_cleanup_free_ char *what = paths ? xasprintf("keyPaths[%zu] '%s'", i, pq(it->valuestring).s)
						  : xasprintf("keyDatas[%zu]", i);
		if (paths)
			from_add(&r->keys_from, i ? ", " : " ", pq(it->valuestring).s);
		int ret = paths ? key_from_path(c, what, it->valuestring, &r->keys[i])
				: key_from_b64(c, what, it->valuestring, &r->keys[i]);
		if (ret < 0)
			return -1;
		i++;
	}
	return 0;
}

// r is NULL where the policy does not apply (checked only).
static int req_sigstore(struct pctx *c, const cJSON *o, struct policy_req *r)
{
	const cJSON *v[SS_N];
	if (fields_get(c, o, ss_defs, SS_N, v) < 0)
		return -1;
	if (r && ss_refuse(c, v) < 0)
		return -1;
	if (ss_check(c, v) < 0)
		return -1;
	if (v[SS_IDENTITY] && identity_parse(c, v[SS_IDENTITY], r ? &r->identity : NULL) < 0)
		return -1;
	if (!r)
		return 0;
	r->kind = POLICY_SIGSTORE;
	return ss_keys(c, v, r);
}

// ---------------------------------------------------------------------------
// Requirements and their lists

static int req_simple(struct pctx *c, const cJSON *o)
{
	static const struct fdef defs[] = {{"type", FK_STR}};
	const cJSON *v[1];
	return fields_get(c, o, defs, 1, v);
}

// One requirement; r is NULL where the policy does not apply (checked only).
static int req_parse(struct pctx *c, const cJSON *o, struct policy_req *r)
{
	if (!cJSON_IsObject(o))
		return pfail(c, "a requirement must be a JSON object");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
	if (!cJSON_IsString(t))
		return pfail(c, "no \"type\" string");
	const char *ty = t->valuestring;
	if (strcmp(ty, "insecureAcceptAnything") == 0 || strcmp(ty, "reject") == 0) {
		if (r)
			r->kind = ty[0] == 'i' ? POLICY_ACCEPT : POLICY_REJECT;
		return req_simple(c, o);
	}
	if (strcmp(ty, "sigstoreSigned") == 0)
		return req_sigstore(c, o, r);
	if (strcmp(ty, "signedBy") == 0)
		return r ? pfail(c, "signedBy (GPG simple signing) is not supported by imgpull: use sigstoreSigned "
				    "with keyPath, keyPaths, keyData or keyDatas")
			 : check_signed_by(c, o);
	if (strcmp(ty, "signedBaseLayer") == 0)
		return r ? pfail(c, "signedBaseLayer is not supported by imgpull (nor implemented by c/image)")
			 : check_base_layer(c, o);
	return pfail(c, "unknown requirement type \"%s\"", pq(ty).s);
}

// A list of requirements; out is NULL where the policy does not apply. The
// place in c->where is the list's; each requirement gets "[i]" added.
static int reqs_parse(struct pctx *c, const cJSON *list, struct policy_reqs *out)
{
	if (!cJSON_IsArray(list))
		return pfail(c, "not a list of requirements");
	size_t n = (size_t)cJSON_GetArraySize(list), i = 0, w = strlen(c->where);
	if (n == 0)
		return pfail(c, "an empty list of requirements (c/image refuses it: write [{\"type\":\"reject\"}] or "
				"[{\"type\":\"insecureAcceptAnything\"}])");
	if (out) {
		out->v = xcalloc(n, sizeof(*out->v));
		out->n = n;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, list) {
		snprintf(c->where + w, sizeof(c->where) - w, "[%zu]", i);
		if (req_parse(c, it, out ? &out->v[i] : NULL) < 0)
			return -1;
		i++;
	}
	c->where[w] = '\0';
	return 0;
}

// ---------------------------------------------------------------------------
// Docker scopes: what DockerReferenceIdentity and DockerReferenceNamespaces
// can produce for some reference, as oci_ref_parse normalizes it.

// host[:port] alone, as a reference's domain is written ("docker.io", not
// "index.docker.io"; "localhost"; "[::1]:5000").
static bool scope_is_domain(const char *s)
{
	struct oci_ref r;
	struct err e = {0};
	_cleanup_free_ char *t = xasprintf("%s/x", s);
	bool ok = oci_ref_parse(&r, t, &e) == 0 && strcmp(r.domain, s) == 0;
	oci_ref_release(&r);
	return ok;
}

// "*." followed by the labels that end some host name ("*.com" for
// registry.example.com), no port.
static bool scope_is_wildcard(const char *s)
{
	return strncmp(s, "*.", 2) == 0 && !strchr(s + 2, ':') && dom_match(s + 2, strlen(s + 2));
}

// A namespace or repository NAME in the expanded form, or NAME:TAG or
// NAME@DIGEST. For docker.io a one-component namespace ("docker.io/library")
// is a namespace but not a repository name.
static bool scope_is_name(const char *s)
{
	struct pref p;
	bool ok = false;
	if (pref_parse(&p, s)) {
		_cleanup_free_ char *str = pref_string(&p);
		if (p.tagged && p.r.digest)
			ok = false;
		else if (strcmp(str, s) == 0)
			ok = true;
		else if (pref_name_only(&p) && strncmp(s, "docker.io/", 10) == 0)
			ok = strncmp(p.r.path, "library/", 8) == 0 && strcmp(s + 10, p.r.path + 8) == 0;
	}
	pref_release(&p);
	return ok;
}

static int scope_check(struct pctx *c, const char *s)
{
	if (strncmp(s, "*.", 2) == 0) {
		if (!scope_is_wildcard(s))
			return pfail(c, "wildcard scope \"%s\": only \"*.\" followed by a host name (no port) is "
					"valid, e.g. \"*.example.com\"",
				     pq(s).s);
		return 0;
	}
	if (strchr(s, '/') ? scope_is_name(s) : scope_is_domain(s))
		return 0;
	return pfail(c, "scope \"%s\" is not a registry host[:port], a namespace or repository in the fully expanded "
			"form (docker.io/library/busybox, not busybox), an image reference with a tag or a digest "
			"(not both), nor \"*.domain\"",
		     pq(s).s);
}

static int docker_parse(struct policy *p, struct pctx *c, const cJSON *scopes)
{
	size_t n = (size_t)cJSON_GetArraySize(scopes);
	const cJSON *s;
	p->docker = xcalloc(n ? n : 1, sizeof(*p->docker));
	cJSON_ArrayForEach(s, scopes) {
		where_set(c, "transports.docker[\"%s\"]", pq(s->string).s);
		if (!s->string[0]) {
			p->has_docker_default = true;
			if (reqs_parse(c, s, &p->docker_default) < 0)
				return -1;
			continue;
		}
		if (scope_check(c, s->string) < 0)
			return -1;
		struct policy_scope *ps = &p->docker[p->ndocker++];
		ps->scope = xstrdup(s->string);
		ps->reqs.scope = ps->scope;
		if (reqs_parse(c, s, &ps->reqs) < 0)
			return -1;
	}
	return 0;
}

// Transports other than docker: their requirements are checked, not kept.
static int other_parse(struct pctx *c, const char *name, const cJSON *scopes)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, scopes) {
		where_set(c, "transports.%s[\"%s\"]", pq(name).s, pq(s->string).s);
		if (reqs_parse(c, s, NULL) < 0)
			return -1;
	}
	return 0;
}

static int transports_parse(struct policy *p, struct pctx *c, const cJSON *tr)
{
	const cJSON *t;
	const char *dup = dup_key(tr);
	where_set(c, "transports");
	if (dup)
		return pfail(c, "transport \"%s\" appears twice", pq(dup).s);
	cJSON_ArrayForEach(t, tr) {
		where_set(c, "transports.%s", pq(t->string).s);
		if (!cJSON_IsObject(t))
			return pfail(c, "not a JSON object of scopes");
		if ((dup = dup_key(t)))
			return pfail(c, "scope \"%s\" appears twice", pq(dup).s);
		int r = strcmp(t->string, "docker") == 0 ? docker_parse(p, c, t) : other_parse(c, t->string, t);
		if (r < 0)
			return -1;
	}
	return 0;
}

// ---------------------------------------------------------------------------
// The document

// What cJSON would read differently from Go: a NUL byte ends its input, and
// "\u0000" cuts a string short (a scope or a key path would silently change).
static int prescan(struct pctx *c, const char *json, size_t len)
{
	if (memchr(json, '\0', len))
		return pfail(c, "the file contains a NUL byte");
	for (const char *p = json; (p = memmem(p, len - (size_t)(p - json), "\\u0000", 6)); p++) {
		size_t bs = 0;
		while (p - bs > json && p[-(ptrdiff_t)bs - 1] == '\\')
			bs++;
		if (bs % 2 == 0) // the backslash is not itself escaped
			return pfail(c, "a string contains \\u0000");
	}
	return 0;
}

static int root_parse(struct policy *p, struct pctx *c, const cJSON *root)
{
	static const struct fdef defs[] = {{"default", FK_LIST}, {"transports", FK_OBJ}};
	const cJSON *v[2];
	if (fields_get(c, root, defs, 2, v) < 0)
		return -1;
	if (!v[0])
		return pfail(c, "no \"default\" (c/image requires one, e.g. \"default\": [{\"type\":\"reject\"}])");
	where_set(c, "default");
	if (reqs_parse(c, v[0], &p->def) < 0)
		return -1;
	return v[1] ? transports_parse(p, c, v[1]) : 0;
}

static int json_fail(struct pctx *c, const char *text, const char *at)
{
	size_t line = 1, col = 1;
	for (const char *q = text; at && q < at && *q; q++) {
		col = *q == '\n' ? 1 : col + 1;
		line += *q == '\n';
	}
	// cJSON's position is where it gave up, at or just past the fault.
	return pfail(c, "not valid JSON (near line %zu, column %zu)", line, col);
}

int policy_parse(struct policy *p, const char *json, size_t len, const char *path, struct err *e)
{
	struct pctx c = {.file = path, .e = e};
	memset(p, 0, sizeof(*p));
	p->path = xstrdup(path);
	p->def.scope = "(default)";
	p->docker_default.scope = "";
	if (prescan(&c, json, len) < 0) {
		policy_release(p);
		return -1;
	}
	_cleanup_free_ char *text = xmalloc(len + 1);
	memcpy(text, json, len);
	text[len] = '\0';
	const char *end = NULL;
	// With the NUL counted, require_null_terminated refuses data after the value.
	cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
	int r = root ? root_parse(p, &c, root) : json_fail(&c, text, end);
	cJSON_Delete(root);
	if (r < 0)
		policy_release(p);
	return r;
}

int policy_load(struct policy *p, const char *path, struct err *e)
{
	char *data = NULL, why[200];
	size_t len = 0;
	memset(p, 0, sizeof(*p));
	if (read_regular(path, POLICY_FILE_MAX, &data, &len, why, sizeof(why)) < 0)
		return err_set(e, ERR_USAGE, "policy %s: %s", path, why);
	int r = policy_parse(p, data, len, path, e);
	free(data);
	return r;
}

static void reqs_release(struct policy_reqs *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct policy_req *r = &rs->v[i];
		for (size_t k = 0; k < r->nkeys; k++)
			EVP_PKEY_free(r->keys[k]);
		free(r->keys);
		free(r->keys_from);
		free(r->identity.reference);
		free(r->identity.repository);
		free(r->identity.prefix);
		free(r->identity.signed_prefix);
	}
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}

void policy_release(struct policy *p)
{
	reqs_release(&p->def);
	for (size_t i = 0; i < p->ndocker; i++) {
		reqs_release(&p->docker[i].reqs);
		free(p->docker[i].scope);
	}
	free(p->docker);
	reqs_release(&p->docker_default);
	free(p->path);
	memset(p, 0, sizeof(*p));
}

// ---------------------------------------------------------------------------
// Lookup

static const struct policy_reqs *scope_find(const struct policy *p, const char *s, size_t n)
{
	for (size_t i = 0; i < p->ndocker; i++)
		if (strlen(p->docker[i].scope) == n && memcmp(p->docker[i].scope, s, n) == 0)
			return &p->docker[i].reqs;
	return NULL;
}

// The image itself, its repository and namespaces up to the host, then the
// host's wildcards without the port (DockerReferenceNamespaces).
static const struct policy_reqs *scope_lookup(const struct policy *p, const struct oci_ref *r)
{
	_cleanup_free_ char *name = oci_ref_name(r);
	_cleanup_free_ char *id = r->digest ? xasprintf("%s@%s", name, r->digest) : xasprintf("%s:%s", name, r->tag);
	const struct policy_reqs *hit = scope_find(p, id, strlen(id));
	for (size_t n = strlen(name); !hit;) {
		hit = scope_find(p, name, n);
		const char *slash = memrchr(name, '/', n);
		if (!slash)
			break;
		n = (size_t)(slash - name);
	}
	if (hit)
		return hit;
	// As c/image: cut at the first ':' ("[::1]:5000" leaves "[", no wildcards).
	size_t hn = strcspn(r->domain, ":");
	for (const char *d = memchr(r->domain, '.', hn); d && !hit; d = memchr(d + 1, '.', hn - (size_t)(d + 1 - r->domain))) {
		_cleanup_free_ char *w = xasprintf("*.%.*s", (int)(hn - (size_t)(d + 1 - r->domain)), d + 1);
		hit = scope_find(p, w, strlen(w));
	}
	return hit;
}

static struct policy_req invalid_req = {.kind = POLICY_REJECT};
static const struct policy_reqs invalid_reqs = {&invalid_req, 1, "(invalid reference)"};

const struct policy_reqs *policy_for(const struct policy *p, const char *ref)
{
	struct oci_ref r;
	struct err e = {0};
	if (!ref || oci_ref_parse(&r, ref, &e) < 0)
		return &invalid_reqs;
	const struct policy_reqs *hit = scope_lookup(p, &r);
	oci_ref_release(&r);
	if (hit)
		return hit;
	return p->has_docker_default ? &p->docker_default : &p->def;
}

// ---------------------------------------------------------------------------
// Identities (policy_reference_match.go)

// refMatchesPrefix: the name is prefix, or continues it after a '/'.
static bool prefix_matches(const struct pref *in, const char *prefix)
{
	_cleanup_free_ char *name = oci_ref_name(&in->r);
	size_t n = strlen(prefix);
	return strncmp(name, prefix, n) == 0 && (name[n] == '\0' || name[n] == '/');
}

// remapReferencePrefix: the rewritten reference, which must be canonical
// (ParseNamed), or NULL.
static char *remap_string(const char *prefix, const char *signed_prefix, const struct pref *in)
{
	char *full = pref_string(in);
	if (!prefix || !signed_prefix || !prefix_matches(in, prefix))
		return full;
	char *out = xasprintf("%s%s", signed_prefix, full + strlen(prefix));
	free(full);
	struct pref np;
	bool ok = pref_parse(&np, out);
	if (ok) {
		_cleanup_free_ char *canon = pref_string(&np);
		ok = strcmp(canon, out) == 0;
	}
	pref_release(&np);
	if (!ok) {
		free(out);
		return NULL;
	}
	return out;
}

// matchRepoDigestOrExactReferenceValues
static bool match_repo_digest_or_exact(const struct pref *in, const struct pref *sig)
{
	if (pref_name_only(sig))
		return false;
	if (in->tagged)
		return same_string(in, sig);
	if (in->r.digest)
		return same_name(in, sig);
	return false;
}

static bool match_exact(const struct pref *in, const struct pref *sig)
{
	return !pref_name_only(in) && !pref_name_only(sig) && same_string(in, sig);
}

static bool match_remap(const struct policy_identity *id, const struct pref *in, const struct pref *sig)
{
	_cleanup_free_ char *s = remap_string(id->prefix, id->signed_prefix, in);
	struct pref re;
	bool ok = s && pref_parse(&re, s) && match_repo_digest_or_exact(&re, sig);
	if (s)
		pref_release(&re);
	return ok;
}

static bool identity_match(const struct policy_identity *id, const struct pref *in, const struct pref *sig)
{
	switch (id->kind) {
	case POLICY_ID_MATCH_REPO_DIGEST_OR_EXACT: return match_repo_digest_or_exact(in, sig);
	case POLICY_ID_MATCH_EXACT:
	case POLICY_ID_EXACT_REFERENCE: return match_exact(in, sig);
	case POLICY_ID_MATCH_REPOSITORY:
	case POLICY_ID_EXACT_REPOSITORY: return same_name(in, sig);
	case POLICY_ID_REMAP: return match_remap(id, in, sig);
	}
	return false;
}

bool policy_identity_ok(const struct policy_identity *id, const char *ref, const char *signed_ref)
{
	if (!id || !signed_ref)
		return false;
	const char *intended = id->kind == POLICY_ID_EXACT_REFERENCE    ? id->reference
			       : id->kind == POLICY_ID_EXACT_REPOSITORY ? id->repository
									: ref;
	struct pref in, sig;
	bool ok = false;
	if (intended && pref_parse(&in, intended)) {
		if (pref_parse(&sig, signed_ref))
			ok = identity_match(id, &in, &sig);
		pref_release(&sig);
	}
	if (intended)
		pref_release(&in);
	return ok;
}

int policy_remap_ref(const char *prefix, const char *signed_prefix, const char *ref, char **out)
{
	struct pref in;
	*out = NULL;
	if (!ref || !pref_parse(&in, ref)) {
		if (ref)
			pref_release(&in);
		return -1;
	}
	*out = remap_string(prefix, signed_prefix, &in);
	pref_release(&in);
	return *out ? 0 : -1;
}

const char *policy_req_kind_name(enum policy_req_kind k)
{
	switch (k) {
	case POLICY_ACCEPT: return "insecureAcceptAnything";
	case POLICY_REJECT: return "reject";
	case POLICY_SIGSTORE: return "sigstoreSigned";
	}
	return "unknown";
}

const char *policy_identity_kind_name(enum policy_identity_kind k)
{
	for (size_t i = 0; i < sizeof(id_types) / sizeof(id_types[0]); i++)
		if (id_types[i].kind == k)
			return id_types[i].name;
	return "unknown";
}
