// SPDX-License-Identifier: Apache-2.0
// Image references, following distribution/reference (reference.go for the
// grammar, normalize.go for docker.io / library/ defaults):
//
//   reference := name [ ":" tag ] [ "@" digest ]
//   name      := [ domain "/" ] path
//   domain    := host [ ":" port ]            host: dns name or "[" ipv6 "]"
//   path      := component ( "/" component )*
//   component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//   digest    := "sha256:" [0-9a-f]{64} | "sha512:" [0-9a-f]{128}
//
// As in normalize.go, the first component is only a domain when it contains
// '.' or ':' or is "localhost"; "busybox/x" is a Docker Hub path. Unlike
// Docker we reject a first component with uppercase and no dot or colon
// (Docker would take "Foo/bar" as a registry host "Foo"): a user typing that
// almost certainly meant a repository, and "must be lowercase" says why it
// failed. We also reject "host:port" with no path, which Docker would read as
// the Docker Hub image "library/host" with tag "port".
#include "oci/ref.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/digest.h"
#include "util/mem.h"
#include "util/strparse.h"

#define REF_DEFAULT_DOMAIN "docker.io"
#define REF_LEGACY_DOMAIN "index.docker.io"
#define REF_DEFAULT_REGISTRY "registry-1.docker.io"
#define REF_OFFICIAL_PREFIX "library/"
#define REF_DEFAULT_TAG "latest"
#define REF_NAME_MAX 255 // distribution's NameTotalLengthMax, on the normalized name
#define REF_TAG_MAX 128
#define REF_PORT_MAX 65535

// How much input an error message echoes, so that a megabyte-long argument
// still gives a readable one-line message. The whole reference is quoted up
// to a length no real one reaches (255 name + 128 tag + 72 digest is more,
// but only in theory); a piece of it named in front needs less room.
#define REF_QUOTE_INPUT_MAX 256
#define REF_QUOTE_PART_MAX 100

struct ref_quoted {
	char s[4 * REF_QUOTE_INPUT_MAX + 4];
};

// Everything an error message needs: the whole input is quoted in each one.
struct ref_ctx {
	const char *input;
	struct err *e;
};

// The bytes of [p, p + len) escaped for a double-quoted message, shortened
// with "..." past max bytes. Returned by value so it can be used inline as an
// argument: the temporary lives until the end of the full expression.
static struct ref_quoted ref_quote(const char *p, size_t len, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	struct ref_quoted q;
	size_t o = 0;
	size_t i;

	for (i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '"' || c == '\\') {
			q.s[o++] = '\\';
			q.s[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			q.s[o++] = '\\';
			q.s[o++] = 'x';
			q.s[o++] = hex[c >> 4];
			q.s[o++] = hex[c & 0xf];
		} else {
			q.s[o++] = (char)c;
		}
	}
	if (i < len) {
		memcpy(q.s + o, "...", 3);
		o += 3;
	}
	q.s[o] = '\0';
	return q;
}

static struct ref_quoted ref_q(const char *p, size_t len)
{
	return ref_quote(p, len, REF_QUOTE_PART_MAX);
}

static struct ref_quoted ref_qs(struct strparse_str s)
{
	return ref_q(s.p, s.len);
}

// Formats "<what> in reference \"<input>\"" as an ERR_USAGE error.
static int ref_fail(const struct ref_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ref_fail(const struct ref_ctx *c, const char *fmt, ...)
{
	char what[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(c->e, ERR_USAGE, "%s in reference \"%s\"", what,
		       ref_quote(c->input, strlen(c->input), REF_QUOTE_INPUT_MAX).s);
}

static struct strparse_str ref_str(const char *p, const char *end)
{
	struct strparse_str s = { p, (size_t)(end - p) };
	return s;
}

static bool ref_is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool ref_is_alnum(int c)
{
	return ref_is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool ref_is_dash(int c)
{
	return c == '-';
}

static bool ref_is_upper(int c)
{
	return c >= 'A' && c <= 'Z';
}

static bool ref_is_hostchar(int c)
{
	return ref_is_alnum(c) || c == '-';
}

static bool ref_is_ipv6char(int c)
{
	return strparse_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
	       c == '.';
}

static bool ref_is_tagchar(int c)
{
	return ref_is_alnum(c) || c == '_' || c == '.' || c == '-';
}

static bool ref_is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// True when pred() holds for every byte of s.
static bool ref_all(struct strparse_str s, bool (*pred)(int c))
{
	struct strparse sp;

	strparse_init(&sp, s.p, s.len);
	return strparse_span(&sp, pred, NULL) == s.len;
}

static bool ref_any(struct strparse_str s, bool (*pred)(int c))
{
	for (size_t i = 0; i < s.len; i++)
		if (pred((unsigned char)s.p[i]))
			return true;
	return false;
}

// normalize.go's splitDockerDomain test, plus a leading '[' so that a bad
// IPv6 literal is reported as such rather than as a bad path component.
static bool ref_looks_like_domain(struct strparse_str first)
{
	return first.len > 0 && (memchr(first.p, '.', first.len) || memchr(first.p, ':', first.len) ||
				 strparse_str_eq(first, "localhost") || first.p[0] == '[');
}

// One DNS label: alphanumerics and '-', not starting or ending with '-'.
static bool ref_label_ok(struct strparse_str l)
{
	return l.len > 0 && ref_all(l, ref_is_hostchar) && l.p[0] != '-' && l.p[l.len - 1] != '-';
}

static int ref_check_ipv6(const struct ref_ctx *c, struct strparse_str dom, struct strparse *sp)
{
	const char *close = memchr(sp->p, ']', strparse_left(sp));
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr addr;
	struct strparse_str a;

	if (!close)
		return ref_fail(c, "unclosed '[' in registry host \"%s\"", ref_qs(dom).s);
	a = ref_str(sp->p, close);
	// The character check gives the documented grammar; inet_pton then
	// rejects things like "[1:::2]" that only look like addresses.
	if (a.len == 0 || a.len >= sizeof(buf) || !ref_all(a, ref_is_ipv6char))
		return ref_fail(c, "invalid IPv6 address \"[%s]\" in registry host \"%s\"", ref_qs(a).s,
				ref_qs(dom).s);
	memcpy(buf, a.p, a.len);
	buf[a.len] = '\0';
	if (inet_pton(AF_INET6, buf, &addr) != 1)
		return ref_fail(c, "invalid IPv6 address \"[%s]\" in registry host \"%s\"", ref_qs(a).s,
				ref_qs(dom).s);
	sp->p = close + 1;
	return 0;
}

// domain := ( dns-name | "[" ipv6 "]" ) [ ":" port ], port 1-65535.
static int ref_check_domain(const struct ref_ctx *c, struct strparse_str dom)
{
	struct strparse sp;
	uint64_t port;

	strparse_init(&sp, dom.p, dom.len);
	if (strparse_char(&sp, '[')) {
		if (ref_check_ipv6(c, dom, &sp) < 0)
			return -1;
	} else {
		const char *hend = memchr(dom.p, ':', dom.len);
		struct strparse_str label;

		if (!hend)
			hend = dom.p + dom.len;
		if (hend == dom.p)
			return ref_fail(c, "missing host name in registry host \"%s\"", ref_qs(dom).s);
		while (sp.p < hend) {
			const char *dot = memchr(sp.p, '.', (size_t)(hend - sp.p));

			label = ref_str(sp.p, dot ? dot : hend);
			if (!ref_label_ok(label))
				return ref_fail(c, "invalid registry host \"%s\"", ref_qs(dom).s);
			sp.p = dot ? dot + 1 : hend;
			// A trailing dot leaves an empty last label.
			if (dot && sp.p == hend)
				return ref_fail(c, "invalid registry host \"%s\"", ref_qs(dom).s);
		}
	}
	if (strparse_eof(&sp))
		return 0;
	if (!strparse_char(&sp, ':'))
		return ref_fail(c, "invalid registry host \"%s\"", ref_qs(dom).s);
	{
		struct strparse_str ps = ref_str(sp.p, sp.end);

		if (strparse_u64(&sp, &port) < 0 || !strparse_eof(&sp) || port == 0 || port > REF_PORT_MAX)
			return ref_fail(c, "invalid port \"%s\" in registry host \"%s\" (want 1-%d)",
					ref_qs(ps).s, ref_qs(dom).s, REF_PORT_MAX);
	}
	return 0;
}

// component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
static bool ref_component_ok(struct strparse_str comp)
{
	struct strparse sp;

	strparse_init(&sp, comp.p, comp.len);
	if (strparse_span(&sp, ref_is_lower_alnum, NULL) == 0)
		return false;
	while (!strparse_eof(&sp)) {
		if (!strparse_lit(&sp, "__") && !strparse_char(&sp, '_') && !strparse_char(&sp, '.') &&
		    strparse_span(&sp, ref_is_dash, NULL) == 0)
			return false;
		if (strparse_span(&sp, ref_is_lower_alnum, NULL) == 0)
			return false;
	}
	return true;
}

static int ref_check_path(const struct ref_ctx *c, struct strparse_str path)
{
	const char *p = path.p;
	const char *end = path.p + path.len;

	// Checked first, over the whole path, as normalize.go does: "must be
	// lowercase" is the message a user with "MyApp" needs to see.
	if (ref_any(path, ref_is_upper))
		return ref_fail(c, "repository name \"%s\" must be lowercase", ref_qs(path).s);
	for (;;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		struct strparse_str comp = ref_str(p, slash ? slash : end);

		if (comp.len == 0)
			return ref_fail(c, "invalid repository path \"%s\" (empty path component)",
					ref_qs(path).s);
		if (!ref_component_ok(comp))
			return ref_fail(c, "invalid path component \"%s\"", ref_qs(comp).s);
		if (!slash)
			return 0;
		p = slash + 1;
	}
}

static int ref_check_tag(const struct ref_ctx *c, struct strparse_str tag)
{
	if (tag.len == 0)
		return ref_fail(c, "empty tag after ':'");
	if (tag.p[0] == '.' || tag.p[0] == '-' || !ref_all(tag, ref_is_tagchar))
		return ref_fail(c, "invalid tag \"%s\"", ref_qs(tag).s);
	if (tag.len > REF_TAG_MAX)
		return ref_fail(c, "invalid tag \"%s\" (%zu characters, at most %d)", ref_qs(tag).s,
				tag.len, REF_TAG_MAX);
	return 0;
}

static int ref_check_digest(const struct ref_ctx *c, const char *digest)
{
	char why[ERR_MSG_MAX];

	if (!*digest)
		return ref_fail(c, "missing digest after '@'");
	if (oci_digest_check(digest, ERR_USAGE, c->e) == 0)
		return 0;
	// Keep oci_digest_check's explanation, add which reference it was in.
	memcpy(why, c->e->msg, sizeof(why));
	return ref_fail(c, "%s", why);
}

// Rejects input that no part of the grammar could accept anyway, so that the
// message can say what is wrong with it instead of blaming some component.
static int ref_check_bytes(const struct ref_ctx *c, const char *s, size_t len)
{
	if (len == 0)
		return err_set(c->e, ERR_USAGE, "empty image reference");
	if (ref_is_space((unsigned char)s[0]) || ref_is_space((unsigned char)s[len - 1]))
		return ref_fail(c, "leading or trailing whitespace");
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch >= 0x7f)
			return ref_fail(c, "invalid character '\\x%02x' at offset %zu", ch, i);
	}
	return 0;
}

// The pieces of a reference as oci_ref_parse splits it, pointing into the input.
struct ref_parts {
	const char *at;             // the '@' before the digest, or NULL
	const char *name_end;       // at, or the end of the input
	const char *slash;          // the first '/' before name_end, or NULL
	const char *rest;           // the name past the domain
	struct strparse_str domain; // .p is NULL when none is given
	struct strparse_str path;
	struct strparse_str tag;
	bool has_tag;
};

// Splits off the domain: the first component, when it looks like one.
static int ref_split_domain(const struct ref_ctx *c, struct ref_parts *p)
{
	const char *s = c->input;

	p->slash = memchr(s, '/', (size_t)(p->name_end - s));
	p->rest = s;
	if (p->slash && ref_looks_like_domain(ref_str(s, p->slash))) {
		p->domain = ref_str(s, p->slash);
		p->rest = p->slash + 1;
	} else if (!p->slash && s[0] == '[') {
		// An IPv6 host alone: say what is wrong with it first, if anything.
		struct strparse_str host = ref_str(s, p->name_end);

		if (ref_check_domain(c, host) < 0)
			return -1;
		return ref_fail(c, "missing repository path after registry host \"%s\"",
				ref_qs(host).s);
	}
	return 0;
}

// The tag separator is a ':' after the last '/'; a ':' before it can
// only be a port, and that was split off with the domain (ref_split_domain).
static void ref_split_tag(struct ref_parts *p)
{
	const char *colon = memrchr(p->rest, ':', (size_t)(p->name_end - p->rest));
	const char *lastslash = memrchr(p->rest, '/', (size_t)(p->name_end - p->rest));

	p->path = ref_str(p->rest, p->name_end);
	if (colon && (!lastslash || colon > lastslash)) {
		p->tag = ref_str(colon + 1, p->name_end);
		p->path = ref_str(p->rest, colon);
		p->has_tag = true;
	}
}

// The registry host when one is given, and that a repository path is there.
static int ref_check_host(const struct ref_ctx *c, const struct ref_parts *p)
{
	const char *s = c->input;

	if (p->domain.p) {
		if (ref_check_domain(c, p->domain) < 0)
			return -1;
		if (p->path.len == 0)
			return ref_fail(c, "missing repository path after registry host \"%s\"",
					ref_qs(p->domain).s);
		return 0;
	}
	if (p->path.len == 0)
		return ref_fail(c, "missing repository name");
	// "localhost:5000" or "registry.example.com:443" alone: a host
	// and port with the path forgotten, not a Docker Hub tag.
	if (!p->slash && p->has_tag && p->tag.len > 0 && ref_all(p->tag, strparse_is_digit) &&
	    (memchr(p->path.p, '.', p->path.len) || strparse_str_eq(p->path, "localhost")))
		return ref_fail(c, "missing repository path after registry host \"%s\"",
				ref_q(s, (size_t)(p->name_end - s)).s);
	return 0;
}

// Fills r from the checked pieces, normalized; fails (r untouched) when the
// normalized name is too long.
static int ref_fill(const struct ref_ctx *c, struct oci_ref *r, const struct ref_parts *p)
{
	const char *dom = NULL, *prefix;
	size_t namelen;

	// dom: Docker Hub's canonical domain, or NULL to keep the one given;
	// Docker Hub's one-component names are official images under library/.
	if (!p->domain.p || strparse_str_eq(p->domain, REF_DEFAULT_DOMAIN) ||
	    strparse_str_eq(p->domain, REF_LEGACY_DOMAIN))
		dom = REF_DEFAULT_DOMAIN;
	prefix = dom && !memchr(p->path.p, '/', p->path.len) ? REF_OFFICIAL_PREFIX : "";
	namelen = (dom ? strlen(dom) : p->domain.len) + 1 + strlen(prefix) + p->path.len;
	if (namelen > REF_NAME_MAX)
		return ref_fail(c, "repository name too long (%zu characters, at most %d)", namelen,
				REF_NAME_MAX);

	r->path = xasprintf("%s%.*s", prefix, (int)p->path.len, p->path.p);
	if (dom) {
		r->domain = xstrdup(dom);
		r->registry = xstrdup(REF_DEFAULT_REGISTRY);
	} else {
		r->domain = xstrndup(p->domain.p, p->domain.len);
		r->registry = xstrndup(p->domain.p, p->domain.len);
	}
	if (p->has_tag)
		r->tag = xstrndup(p->tag.p, p->tag.len);
	if (p->at)
		r->digest = xstrdup(p->at + 1);
	if (!p->has_tag && !p->at)
		r->tag = xstrdup(REF_DEFAULT_TAG);
	return 0;
}

int oci_ref_parse(struct oci_ref *r, const char *s, struct err *e)
{
	struct ref_ctx c = { s, e };
	size_t len = strlen(s);
	struct ref_parts p = { 0 };

	memset(r, 0, sizeof(*r));
	if (ref_check_bytes(&c, s, len) < 0)
		return -1;

	// The digest is everything after the first '@': nothing before it may
	// contain one, and a second '@' makes the digest invalid.
	p.at = strchr(s, '@');
	p.name_end = p.at ? p.at : s + len;
	if (p.name_end == s)
		return ref_fail(&c, "missing repository name");
	if (p.at && ref_check_digest(&c, p.at + 1) < 0)
		return -1;

	if (ref_split_domain(&c, &p) < 0)
		return -1;
	ref_split_tag(&p);
	if (ref_check_host(&c, &p) < 0 || ref_check_path(&c, p.path) < 0)
		return -1;
	if (p.has_tag && ref_check_tag(&c, p.tag) < 0)
		return -1;
	// normalize.go refuses a bare 64-hex name: it is an image ID that
	// someone pasted where a name was expected.
	if (len == 64 && strspn(s, "0123456789abcdef") == 64)
		return ref_fail(&c, "invalid repository name \"%s\" (64 hex digits is an image ID, not a name)",
				ref_qs(p.path).s);
	return ref_fill(&c, r, &p);
}

void oci_ref_release(struct oci_ref *r)
{
	free(r->domain);
	free(r->registry);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

char *oci_ref_string(const struct oci_ref *r)
{
	return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
			 r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *oci_ref_name(const struct oci_ref *r)
{
	return xasprintf("%s/%s", r->domain, r->path);
}
