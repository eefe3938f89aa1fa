// SPDX-License-Identifier: Apache-2.0
// containerd's hosts.toml (docs/hosts.md; remotes/docker/config/hosts.go in
// 1.6/1.7, core/remotes/docker/config/hosts.go in 2.x, read at v1.6.39,
// v1.7.34, v2.0.0, v2.1.0, v2.2.0 and v2.3.4). Decisions, with what they follow
// (where versions differ: 2.x, else 1.7):
//
// Finding the file (HostDirFromRoot, hostPaths in config_unix.go, loadHostDir):
//  - DIR/<host with its last ":" as "_port_">, DIR/<host>, DIR/_default: the
//    first that exists (stat, any type) is the host's directory; a stat error
//    other than ENOENT is an error. A found directory is final: a docker.io/
//    without hosts.toml does not fall through to _default.
//  - Its hosts.toml missing or empty: the Docker-style certificate files of the
//    directory (loadCertFiles): *.crt as CAs, *.cert with *.key beside it (or
//    alone) as client pairs, names sorted, directories skipped; the server is
//    then the default one.
//  - A hosts.toml that does not decode: containerd logs "failed to decode
//    hosts.toml" and falls back to the certificate files, i.e. silently pulls
//    from the upstream. imgpull refuses it (ERR_USAGE, file:line) instead.
//    (1.6 also failed on a file without any [host] table.)
//
// Reading it (parseHostsFile, parseHostConfig; go-toml v1.9.5 in 1.x, v2 in 2.x):
//  - Unknown keys anywhere are ignored (go-toml's Unmarshal). Known keys match
//    case-insensitively in go-toml (strings.ToLower of the key); a key that
//    only differs by case from a known one is refused ("write "server"").
//  - Types as hostFileConfig's fields: server, dial_timeout strings;
//    skip_verify, override_path booleans; capabilities an array of strings;
//    ca a string or an array of strings; client a string or an array of
//    strings and [cert, key] pairs (exactly two strings); header a table of
//    strings or arrays of strings. Anything else is refused, as containerd
//    fails to decode it; also an empty [table] header over one of these keys
//    (an empty [ca]), which go-toml v2 skips (and for [skip_verify] sets false).
//  - [host."URL"] order: 2.x (getSortedHosts) lists the table headers
//    [host.X...] in file order, skipping a repeat of the previous host only;
//    1.7 sorts the hosts by the line of their table. Where they differ the file
//    is refused: a host whose tables are not consecutive (2.x would list it
//    twice), a host defined by dotted keys or an inline table (2.x ignores it).
//  - URL (server or host key): "https://" prepended unless it starts with
//    "http"; then Go's url.Parse: scheme lower-cased, userinfo, query and
//    fragment dropped (but checked as Go checks them), path unescaped. Path:
//    cleaned, "/v2" appended unless it ends with "/v2" or override_path is
//    set; no path: "/v2", or "" with override_path. The stored path is then
//    path.Join("/", path) as containerd builds request paths ("" -> "/",
//    "//v2" -> "/v2").
//  - Refused where containerd accepts a URL that cannot work: no host (also
//    "httpfoo.example", which containerd reads as a path, and for the server
//    silently replaces by the default), schemes other than http/https, hosts
//    that are not an ASCII name or an [IPv6] literal (no zone) with an
//    optional port 1..65535, paths with '%', '?', '#' or control characters
//    (tab included) once unescaped.
//  - capabilities: pull, resolve, push, and referrers (2.2+; 1.7 refuses it),
//    lower-cased; absent or empty: all four (2.2+; three before).
//  - ca/client paths: absolute as written, else filepath.Join(dir of the file,
//    path) (makeAbsPath). An empty path joins to the directory itself, which
//    containerd then fails to read: refused; except a pair's key "" with no
//    file directory (containerd's own test, baseDir ""), meaning "the key is
//    in the cert file" (key NULL). client = [] sets nothing.
//  - dial_timeout (2.1+, ignored by 1.7): Go's time.ParseDuration; "" is unset;
//    a negative one (every dial fails at once) is refused.
//  - headers: name as written (not canonicalised); a name that is not an HTTP
//    token or a value with control characters but tab is refused (Go's
//    transport refuses to send it).
//  - TOML: 1.0 as written; go-toml v2 is laxer (it takes \e, some table
//    redefinitions) and both take multi-line strings, floats, dates and arrays
//    of tables, which this reader refuses even under unknown keys.
//
// Endpoints (ConfigureHosts, with the CRI plugin's options: no DefaultScheme,
// no DefaultTLS):
//  - [host] entries in order, then the server: the root table's settings with
//    server's URL. Server absent or "": the default for the host, keeping the
//    root's ca/client/skip_verify/header/dial_timeout but with path "/v2" and
//    all capabilities: docker.io -> https://registry-1.docker.io; localhost or
//    a loopback IP (docker.IsLocalhost) -> https when there is no port or 443,
//    else http, and skip_verify unless the port is 80; others https://host.
//  - An "http" endpoint with a TLS config of its own (ca, client, skip_verify
//    given) and a port other than 80 becomes "https" with the HTTP fallback
//    (1.7+; 1.6 also required an explicit port).
//
// Checked against containerd v2.3.4's parseHostsFile and ConfigureHosts'
// decisions built with go-toml v2.2.0 over the unit tests' files, random
// files and the fuzz corpus: same endpoints wherever both accept a file, and
// nothing accepted here that containerd refuses.
#include "transport/hosts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "util/mem.h"
#include "util/strparse.h"

#define TOML_NODES_MAX 8192   // values and tables of a file
#define TOML_DEPTH_MAX 8      // nesting of arrays and inline tables
#define TOML_ENTRIES_MAX 256  // keys of a table, items of an array
#define TOML_STR_MAX 4096     // bytes of a string or key
#define TOML_KEY_PARTS 8      // parts of a dotted key
#define TOML_HEADERS_MAX 256  // [table] headers
#define HOSTS_LIST_MAX 64     // CAs, client pairs, header values of an endpoint
#define HOSTS_QUOTE_MAX 60    // bytes of a key or URL echoed in a message
#define HOSTS_HOST_MAX 300    // a registry host argument

// ---------------------------------------------------------------------------
// Messages

struct hq {
	char s[4 * HOSTS_QUOTE_MAX + 8];
};

// s for a message: ", \, control and non-ASCII bytes as \xHH, cut after HOSTS_QUOTE_MAX bytes.
static struct hq hq(const char *s)
{
	struct hq q;
	strparse_quote(q.s, s, HOSTS_QUOTE_MAX);
	return q;
}

__attribute__((format(printf, 4, 5)))
static int hfail(struct err *e, const char *file, unsigned line, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		return err_set(e, ERR_USAGE, "%s:%u: %s", file, line, msg);
	return err_set(e, ERR_USAGE, "%s: %s", file, msg);
}

// ---------------------------------------------------------------------------
// Go's path.Clean, filepath.Join and filepath.Dir (Unix: the same algorithm)

static char *go_clean(const char *p)
{
	size_t n = strlen(p);
	if (n == 0)
		return xstrdup(".");
	bool rooted = p[0] == '/';
	char *out = xmalloc(n + 2);
	size_t w = 0, r = 0, dotdot = 0;
	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/') {
			r++;
		} else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
			r++;
		} else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				for (w--; w > dotdot && out[w] != '/'; w--)
					;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && p[r] != '/'; r++)
				out[w++] = p[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

// filepath.Join(base, p) for two elements: empty ones are ignored, "" when both are.
static char *go_join(const char *base, const char *p)
{
	if (!base[0] && !p[0])
		return xstrdup("");
	if (!base[0])
		return go_clean(p);
	if (!p[0])
		return go_clean(base);
	_cleanup_free_ char *j = xasprintf("%s/%s", base, p);
	return go_clean(j);
}

static char *go_dir(const char *file)
{
	const char *slash = strrchr(file, '/');
	if (!slash)
		return xstrdup(".");
	_cleanup_free_ char *d = xstrndup(file, (size_t)(slash - file) + 1);
	return go_clean(d);
}

// ---------------------------------------------------------------------------
// A strict reader for the TOML subset of hosts.toml: comments, [table]
// headers, dotted and quoted keys, basic (with escapes) and literal strings on
// one line, booleans, decimal integers, arrays over several lines, inline
// tables. Multi-line strings, floats, dates, other integer forms and arrays of
// tables are refused. TOML 1.0's rules on defining tables are enforced.

enum tkind { TK_STR, TK_BOOL, TK_INT, TK_ARR, TK_TAB };
enum { TF_EXPLICIT = 1, TF_IMPLICIT = 2, TF_DOTTED = 4, TF_INLINE = 8 };

struct tnode {
	enum tkind kind;
	unsigned flags; // TF_*, tables
	unsigned line;
	char *str;
	bool b;
	struct tnode **v; // array items, table values
	char **keys;      // table keys
	size_t n;
};

struct tkey {
	char *parts[TOML_KEY_PARTS];
	size_t n;
};

struct theader {
	char *p0, *p1; // the first two parts of a [table] header (p1 NULL for one part)
	unsigned line;
};

struct toml {
	const char *s;
	size_t len, pos;
	unsigned line;
	const char *file;
	struct err *e;
	size_t nodes;
	struct tnode *root;
	struct theader hdr[TOML_HEADERS_MAX];
	size_t nhdr;
};

__attribute__((format(printf, 2, 3)))
static int tfail(struct toml *t, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(t->e, ERR_USAGE, "%s:%u: %s", t->file, t->line, msg);
}

static int tpeek(const struct toml *t, size_t off)
{
	return t->pos + off < t->len ? (unsigned char)t->s[t->pos + off] : -1;
}

struct tdesc {
	char s[24];
};

// What is at the reading position, for a message.
static struct tdesc tdesc(const struct toml *t)
{
	struct tdesc d;
	int ch = tpeek(t, 0);
	if (ch < 0)
		snprintf(d.s, sizeof(d.s), "the end of the file");
	else if (ch == '\n' || ch == '\r')
		snprintf(d.s, sizeof(d.s), "the end of the line");
	else if (ch > 0x20 && ch < 0x7f)
		snprintf(d.s, sizeof(d.s), "'%c'", ch);
	else
		snprintf(d.s, sizeof(d.s), "byte 0x%02x", (unsigned)ch);
	return d;
}

static void tnode_free(struct tnode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		tnode_free(n->v[i]);
		if (n->keys)
			free(n->keys[i]);
	}
	free(n->v);
	free(n->keys);
	free(n->str);
	free(n);
}

static void tkey_free(struct tkey *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->parts[i]);
	k->n = 0;
}

static struct tnode *tnode_new(struct toml *t, enum tkind kind, unsigned flags)
{
	if (++t->nodes > TOML_NODES_MAX) {
		tfail(t, "more than %d values", TOML_NODES_MAX);
		return NULL;
	}
	struct tnode *n = xcalloc(1, sizeof(*n));
	n->kind = kind;
	n->flags = flags;
	n->line = t->line;
	return n;
}

static const struct tnode *tab_get(const struct tnode *tab, const char *key)
{
	for (size_t i = 0; i < tab->n; i++)
		if (!strcmp(tab->keys[i], key))
			return tab->v[i];
	return NULL;
}

static struct tnode *tab_getm(struct tnode *tab, const char *key)
{
	return (struct tnode *)tab_get(tab, key);
}

// Appends v (an array item when key is NULL); takes key and v, also on failure.
static int tnode_add(struct toml *t, struct tnode *to, char *key, struct tnode *v)
{
	if (to->n >= TOML_ENTRIES_MAX) {
		const char *what = key ? "keys in a table" : "items in an array";
		free(key);
		tnode_free(v);
		return tfail(t, "more than %d %s", TOML_ENTRIES_MAX, what);
	}
	to->v = xrealloc(to->v, (to->n + 1) * sizeof(*to->v));
	if (to->kind == TK_TAB) {
		to->keys = xrealloc(to->keys, (to->n + 1) * sizeof(*to->keys));
		to->keys[to->n] = key;
	}
	to->v[to->n++] = v;
	return 0;
}

// The whole text is UTF-8 (TOML 1.0): no overlong forms, surrogates or code points past U+10FFFF.
static int toml_check_utf8(struct toml *t)
{
	const unsigned char *s = (const unsigned char *)t->s;
	size_t i = 0;
	while (i < t->len) {
		unsigned char c = s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp = n == 2 ? c & 0x1fu : n == 3 ? c & 0x0fu : c & 0x07u;
		bool ok = n > 0 && i + n <= t->len && (n != 2 || c >= 0xc2);
		for (size_t k = 1; ok && k < n; k++) {
			ok = (s[i + k] & 0xc0) == 0x80;
			cp = (cp << 6) | (s[i + k] & 0x3fu);
		}
		if (ok && n == 3)
			ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
		if (ok && n == 4)
			ok = cp >= 0x10000 && cp <= 0x10ffff;
		if (!ok) {
			t->line = 1;
			for (size_t k = 0; k < i; k++)
				t->line += s[k] == '\n';
			return tfail(t, "the file is not valid UTF-8");
		}
		i += n;
	}
	return 0;
}

static void skip_ws(struct toml *t)
{
	while (tpeek(t, 0) == ' ' || tpeek(t, 0) == '\t')
		t->pos++;
}

static bool is_ctl(int ch)
{
	return (ch >= 0 && ch < 0x20 && ch != '\t') || ch == 0x7f;
}

// Go's stringContainsCTLByte, which url.Parse refuses: tabs too.
static bool is_url_ctl(int ch)
{
	return ch == '\t' || is_ctl(ch);
}

// '#' to the end of the line, if there; tabs but no other control characters.
static int skip_comment(struct toml *t)
{
	if (tpeek(t, 0) != '#')
		return 0;
	for (int ch; (ch = tpeek(t, 0)) >= 0 && ch != '\n'; t->pos++) {
		if (ch == '\r' && tpeek(t, 1) == '\n')
			break;
		if (is_ctl(ch))
			return tfail(t, "control character 0x%02x in a comment", (unsigned)ch);
	}
	return 0;
}

// A newline (LF or CRLF): true when one was taken.
static bool take_newline(struct toml *t)
{
	if (tpeek(t, 0) == '\n' || (tpeek(t, 0) == '\r' && tpeek(t, 1) == '\n')) {
		t->pos += tpeek(t, 0) == '\r' ? 2 : 1;
		t->line++;
		return true;
	}
	return false;
}

// Blanks, comments and newlines (between the items of an array).
static int skip_blank(struct toml *t)
{
	for (;;) {
		skip_ws(t);
		if (skip_comment(t) < 0)
			return -1;
		if (!take_newline(t))
			return 0;
	}
}

// The end of a statement: blanks, a comment, a newline or the end of the text.
static int end_of_line(struct toml *t, const char *after)
{
	skip_ws(t);
	if (skip_comment(t) < 0)
		return -1;
	if (t->pos == t->len || take_newline(t))
		return 0;
	return tfail(t, "unexpected %s after %s", tdesc(t).s, after);
}

// \uXXXX or \UXXXXXXXX (t->pos on the u) as UTF-8 into out.
static int take_unicode(struct toml *t, char *out, size_t *o)
{
	size_t digits = tpeek(t, 0) == 'u' ? 4 : 8;
	uint32_t cp = 0;
	for (size_t i = 1; i <= digits; i++) {
		int h = strparse_hexval(tpeek(t, i));
		if (h < 0)
			return tfail(t, "invalid \\%c escape: %zu hexadecimal digits expected", tpeek(t, 0), digits);
		cp = (cp << 4) | (uint32_t)h;
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return tfail(t, "escape \\%c%0*X is not a Unicode scalar value", tpeek(t, 0), (int)digits, cp);
	if (cp == 0)
		return tfail(t, "a NUL character in a string is not supported");
	t->pos += digits + 1;
	if (cp < 0x80) {
		out[(*o)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*o)++] = (char)(0xc0 | (cp >> 6));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*o)++] = (char)(0xe0 | (cp >> 12));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*o)++] = (char)(0xf0 | (cp >> 18));
		out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	}
	return 0;
}

// One escape sequence of a basic string (t->pos on the backslash).
static int take_escape(struct toml *t, char *out, size_t *o)
{
	static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
	t->pos++;
	int ch = tpeek(t, 0);
	if (ch == 'u' || ch == 'U')
		return take_unicode(t, out, o);
	const char *at = ch > 0 ? strchr(from, ch) : NULL;
	if (!at)
		return tfail(t, "invalid escape in a string: \\%s", ch > 0x20 && ch < 0x7f ? (char[]){(char)ch, 0} : "?");
	out[(*o)++] = to[at - from];
	t->pos++;
	return 0;
}

// A basic ("...") or literal ('...') string on one line, into *out (malloc'd).
static int take_string(struct toml *t, char **out)
{
	char q = t->s[t->pos];
	if (tpeek(t, 1) == q && tpeek(t, 2) == q)
		return tfail(t, "multi-line strings are not supported");
	t->pos++;
	char buf[TOML_STR_MAX + 8];
	size_t o = 0;
	for (;;) {
		int ch = tpeek(t, 0);
		if (ch < 0 || ch == '\n' || (ch == '\r' && tpeek(t, 1) == '\n'))
			return tfail(t, "unterminated string (multi-line strings are not supported)");
		if (is_ctl(ch))
			return tfail(t, "control character 0x%02x in a string", (unsigned)ch);
		if (ch == q) {
			t->pos++;
			break;
		}
		if (ch == '\\' && q == '"') {
			if (take_escape(t, buf, &o) < 0)
				return -1;
		} else {
			buf[o++] = (char)ch;
			t->pos++;
		}
		if (o > TOML_STR_MAX)
			return tfail(t, "a string longer than %d bytes", TOML_STR_MAX);
	}
	*out = xstrndup(buf, o);
	return 0;
}

static bool is_bare(int ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
	       ch == '-';
}

// A dotted key: simple keys (bare, "basic" or 'literal') joined by dots.
static int take_key(struct toml *t, struct tkey *k)
{
	for (;;) {
		skip_ws(t);
		int ch = tpeek(t, 0);
		if (k->n == TOML_KEY_PARTS)
			return tfail(t, "a dotted key of more than %d parts", TOML_KEY_PARTS);
		if (ch == '"' || ch == '\'') {
			if (take_string(t, &k->parts[k->n]) < 0)
				return -1;
			k->n++;
		} else if (is_bare(ch)) {
			size_t start = t->pos;
			while (is_bare(tpeek(t, 0)))
				t->pos++;
			if (t->pos - start > TOML_STR_MAX)
				return tfail(t, "a key longer than %d bytes", TOML_STR_MAX);
			k->parts[k->n++] = xstrndup(t->s + start, t->pos - start);
		} else {
			return tfail(t, "expected a key, found %s", tdesc(t).s);
		}
		skip_ws(t);
		if (tpeek(t, 0) != '.')
			return 0;
		t->pos++;
	}
}

// A decimal integer (TOML: sign, no leading zero, '_' between digits only).
static bool toml_decimal(const char *s, size_t n)
{
	size_t i = (n && (s[0] == '+' || s[0] == '-')) ? 1 : 0, digits = 0;
	if (i == n || (s[i] == '0' && n - i > 1))
		return false;
	for (; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (s[i] != '_' || i + 1 == n || !(s[i + 1] >= '0' && s[i + 1] <= '9') || !digits)
			return false;
	}
	return digits > 0 && digits <= 18; // within int64 whatever the digits
}

static int take_scalar(struct toml *t, struct tnode **out)
{
	size_t start = t->pos;
	while (is_bare(tpeek(t, 0)) || tpeek(t, 0) == '+' || tpeek(t, 0) == '.' || tpeek(t, 0) == ':')
		t->pos++;
	size_t n = t->pos - start;
	const char *s = t->s + start;
	if ((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5))) {
		if (!(*out = tnode_new(t, TK_BOOL, 0)))
			return -1;
		(*out)->b = n == 4;
		return 0;
	}
	if (toml_decimal(s, n))
		return (*out = tnode_new(t, TK_INT, 0)) ? 0 : -1;
	t->pos = start;
	if (n == 0)
		return tfail(t, "expected a value, found %s", tdesc(t).s);
	char shown[41];
	snprintf(shown, sizeof(shown), "%.*s", (int)(n < 40 ? n : 40), s);
	return tfail(t, "unsupported value \"%s\" (this reader takes strings on one line, booleans, decimal "
			"integers, arrays and tables)", hq(shown).s);
}

static int take_value(struct toml *t, struct tnode **out, unsigned depth);

static int take_array(struct toml *t, struct tnode **out, unsigned depth)
{
	if (!(*out = tnode_new(t, TK_ARR, 0)))
		return -1;
	t->pos++;
	for (;;) {
		if (skip_blank(t) < 0)
			return -1;
		if (tpeek(t, 0) == ']')
			break;
		struct tnode *v = NULL;
		if (take_value(t, &v, depth + 1) < 0) {
			tnode_free(v);
			return -1;
		}
		if (tnode_add(t, *out, NULL, v) < 0)
			return -1;
		if (skip_blank(t) < 0)
			return -1;
		if (tpeek(t, 0) == ']')
			break;
		if (tpeek(t, 0) != ',')
			return tfail(t, "expected ',' or ']' in an array, found %s", tdesc(t).s);
		t->pos++;
	}
	t->pos++;
	return 0;
}

static struct hq tkey_desc(const struct tkey *k, size_t upto)
{
	return hq(k->parts[upto]);
}

// key = v into tab: the key's leading parts name tables, made (TF_DOTTED) or
// entered only when made by dotted keys (TOML 1.0). Takes v, also on failure.
static int put_dotted(struct toml *t, struct tnode *tab, struct tkey *k, struct tnode *v)
{
	for (size_t i = 0; i + 1 < k->n; i++) {
		struct tnode *child = tab_getm(tab, k->parts[i]);
		if (!child) {
			if (!(child = tnode_new(t, TK_TAB, TF_DOTTED)) ||
			    tnode_add(t, tab, xstrdup(k->parts[i]), child) < 0) {
				tnode_free(v);
				return -1;
			}
		} else if (child->kind != TK_TAB || !(child->flags & TF_DOTTED) || (child->flags & TF_INLINE)) {
			tnode_free(v);
			return tfail(t, "key \"%s\" is already defined and cannot be extended here", tkey_desc(k, i).s);
		}
		tab = child;
	}
	if (tab_get(tab, k->parts[k->n - 1])) {
		tnode_free(v);
		return tfail(t, "duplicate key \"%s\"", tkey_desc(k, k->n - 1).s);
	}
	return tnode_add(t, tab, steal_pointer(&k->parts[k->n - 1]), v);
}

// key = value (t->pos on the key); the value taken into tab.
static int take_keyval(struct toml *t, struct tnode *tab, unsigned depth)
{
	struct tkey k = {0};
	struct tnode *v = NULL;
	int r = take_key(t, &k);
	if (r == 0 && tpeek(t, 0) != '=')
		r = tfail(t, "expected '=' after key \"%s\", found %s", tkey_desc(&k, k.n - 1).s, tdesc(t).s);
	if (r == 0) {
		t->pos++;
		skip_ws(t);
		r = take_value(t, &v, depth);
	}
	if (r == 0)
		r = put_dotted(t, tab, &k, steal_pointer(&v));
	tnode_free(v);
	tkey_free(&k);
	return r;
}

static void tab_seal(struct tnode *tab)
{
	tab->flags |= TF_INLINE;
	for (size_t i = 0; i < tab->n; i++)
		if (tab->v[i]->kind == TK_TAB)
			tab_seal(tab->v[i]);
}

// { k = v, ... } on one line, without a trailing comma (TOML 1.0); sealed once read.
static int take_inline(struct toml *t, struct tnode **out, unsigned depth)
{
	if (!(*out = tnode_new(t, TK_TAB, TF_EXPLICIT)))
		return -1;
	t->pos++;
	skip_ws(t);
	if (tpeek(t, 0) != '}') {
		for (;;) {
			if (take_keyval(t, *out, depth + 1) < 0)
				return -1;
			skip_ws(t);
			if (tpeek(t, 0) == '}')
				break;
			if (tpeek(t, 0) != ',')
				return tfail(t, "expected ',' or '}' in an inline table (on one line), found %s",
					     tdesc(t).s);
			t->pos++;
		}
	}
	t->pos++;
	tab_seal(*out);
	return 0;
}

static int take_value(struct toml *t, struct tnode **out, unsigned depth)
{
	if (depth > TOML_DEPTH_MAX)
		return tfail(t, "arrays and inline tables nested deeper than %d", TOML_DEPTH_MAX);
	int ch = tpeek(t, 0);
	if (ch == '"' || ch == '\'') {
		if (!(*out = tnode_new(t, TK_STR, 0)))
			return -1;
		return take_string(t, &(*out)->str);
	}
	if (ch == '[')
		return take_array(t, out, depth);
	if (ch == '{')
		return take_inline(t, out, depth);
	return take_scalar(t, out);
}

static int record_header(struct toml *t, const struct tkey *k)
{
	if (t->nhdr == TOML_HEADERS_MAX)
		return tfail(t, "more than %d [table] headers", TOML_HEADERS_MAX);
	struct theader *h = &t->hdr[t->nhdr++];
	h->p0 = xstrdup(k->parts[0]);
	h->p1 = k->n > 1 ? xstrdup(k->parts[1]) : NULL;
	h->line = t->line;
	return 0;
}

// The table a header names: its leading parts made (TF_IMPLICIT) or entered,
// the last one made or, when only implied so far, defined.
static int header_table(struct toml *t, struct tkey *k, struct tnode **cur)
{
	struct tnode *tab = t->root;
	for (size_t i = 0; i < k->n; i++) {
		bool last = i + 1 == k->n;
		struct tnode *child = tab_getm(tab, k->parts[i]);
		if (!child) {
			if (!(child = tnode_new(t, TK_TAB, last ? TF_EXPLICIT : TF_IMPLICIT)))
				return -1;
			if (tnode_add(t, tab, xstrdup(k->parts[i]), child) < 0)
				return -1;
		} else if (child->kind != TK_TAB || (child->flags & TF_INLINE)) {
			return tfail(t, "key \"%s\" is not a table that a [table] header can open", tkey_desc(k, i).s);
		} else if (last && child->flags != TF_IMPLICIT) {
			return tfail(t, "table \"%s\" is defined twice", tkey_desc(k, i).s);
		} else if (last) {
			child->flags = TF_EXPLICIT;
			child->line = t->line;
		}
		tab = child;
	}
	*cur = tab;
	return 0;
}

static int take_header(struct toml *t, struct tnode **cur)
{
	t->pos++;
	if (tpeek(t, 0) == '[')
		return tfail(t, "arrays of tables ([[...]]) are not supported");
	struct tkey k = {0};
	int r = take_key(t, &k);
	if (r == 0 && tpeek(t, 0) != ']')
		r = tfail(t, "expected ']' to end the table header, found %s", tdesc(t).s);
	if (r == 0) {
		t->pos++;
		r = record_header(t, &k);
	}
	if (r == 0)
		r = header_table(t, &k, cur);
	if (r == 0)
		r = end_of_line(t, "a table header");
	tkey_free(&k);
	return r;
}

static int toml_parse(struct toml *t)
{
	t->line = 1;
	if (toml_check_utf8(t) < 0)
		return -1;
	if (!(t->root = tnode_new(t, TK_TAB, TF_EXPLICIT)))
		return -1;
	struct tnode *cur = t->root;
	for (;;) {
		skip_ws(t);
		if (skip_comment(t) < 0)
			return -1;
		if (take_newline(t))
			continue;
		if (t->pos == t->len)
			return 0;
		if (tpeek(t, 0) == '[') {
			if (take_header(t, &cur) < 0)
				return -1;
		} else if (take_keyval(t, cur, 0) < 0 || end_of_line(t, "a value") < 0) {
			return -1;
		}
	}
}

static void toml_release(struct toml *t)
{
	tnode_free(t->root);
	for (size_t i = 0; i < t->nhdr; i++) {
		free(t->hdr[i].p0);
		free(t->hdr[i].p1);
	}
}

// ---------------------------------------------------------------------------
// Go's url.Parse as containerd uses it, and host names

static bool is_unreserved(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_' || c == '~';
}

// host[:port] as a name or an [IPv6] literal, with a port 1..65535 when there is one.
static bool url_host_ok(const char *h)
{
	const char *port = NULL;
	if (h[0] == '[') {
		const char *close = strchr(h, ']');
		if (!close || close == h + 1 || (close[1] && close[1] != ':'))
			return false;
		for (const char *p = h + 1; p < close; p++)
			if (strparse_hexval(*p) < 0 && *p != ':' && *p != '.')
				return false;
		port = close[1] ? close + 2 : NULL;
	} else {
		size_t n = strcspn(h, ":");
		if (n == 0)
			return false;
		for (size_t i = 0; i < n; i++)
			if (!is_unreserved((unsigned char)h[i]))
				return false;
		port = h[n] ? h + n + 1 : NULL;
	}
	if (!port)
		return true;
	size_t np = strlen(port);
	if (np == 0 || np > 5 || strspn(port, "0123456789") != np)
		return false;
	long v = strtol(port, NULL, 10);
	return v >= 1 && v <= 65535;
}

// Unescapes %XX in place (Go's unescape: an invalid escape is an error).
static int url_unescape(char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++) {
		if (*r != '%') {
			*w++ = *r;
			continue;
		}
		int hi = strparse_hexval((unsigned char)r[1]), lo = hi < 0 ? -1 : strparse_hexval((unsigned char)r[2]);
		if (lo < 0)
			return -1;
		*w++ = (char)(hi << 4 | lo);
		r += 2;
	}
	*w = '\0';
	return 0;
}

// Go's validUserinfo and the unescaping of user and password.
static bool url_userinfo_ok(const char *u)
{
	for (const char *p = u; *p; p++)
		if (!is_unreserved((unsigned char)*p) && !strchr("!$&'()*+,;=:%@", *p))
			return false;
	_cleanup_free_ char *copy = xstrdup(u);
	return url_unescape(copy) == 0;
}

struct hctx {
	const char *file; // for messages
	const char *base; // the file's directory for relative paths ("": none)
	struct err *e;
};

// The path of a URL (from its first '/' after the authority): unescaped, and
// without what containerd's requests, which put it back in a URL, cannot carry.
static int url_path(const struct hctx *h, unsigned line, const char *raw, char *p)
{
	if (strstr(p, "%00")) // the one escape a C string cannot hold
		return hfail(h->e, h->file, line, "URL \"%s\": the path has an escaped control character, which "
			     "containerd's requests cannot carry", hq(raw).s);
	if (url_unescape(p) < 0)
		return hfail(h->e, h->file, line, "URL \"%s\": invalid %% escape in the path", hq(raw).s);
	for (const char *q = p; *q; q++)
		if (*q == '%' || *q == '?' || *q == '#' || is_url_ctl((unsigned char)*q))
			return hfail(h->e, h->file, line, "URL \"%s\": the path has an escaped '%c' or control "
				     "character, which containerd's requests cannot carry", hq(raw).s,
				     is_url_ctl((unsigned char)*q) ? '?' : *q);
	return 0;
}

// Go's url.Parse of a server or [host] URL, after the "https://" containerd
// prepends unless it starts with "http": scheme, host and unescaped path
// (userinfo, query and fragment are parsed and dropped, as containerd does).
static int url_split(const struct hctx *h, unsigned line, const char *raw, struct hosts_endpoint *ep,
		     char **path)
{
	_cleanup_free_ char *s = strncmp(raw, "http", 4) ? xasprintf("https://%s", raw) : xstrdup(raw);
	for (const char *p = s; *p; p++)
		if (is_url_ctl((unsigned char)*p))
			return hfail(h->e, h->file, line, "URL \"%s\": control character", hq(raw).s);
	char *frag = strchr(s, '#');
	if (frag && url_unescape(frag + 1) < 0)
		return hfail(h->e, h->file, line, "URL \"%s\": invalid %% escape in the fragment", hq(raw).s);
	s[strcspn(s, "#")] = '\0';
	s[strcspn(s, "?")] = '\0';
	size_t sl = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
	if (s[sl] != ':' || strncmp(s + sl + 1, "//", 2))
		return hfail(h->e, h->file, line, "URL \"%s\": no host (containerd would read it as a path)",
			     hq(raw).s);
	s[sl] = '\0';
	for (char *p = s; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	if (strcmp(s, "https") && strcmp(s, "http"))
		return hfail(h->e, h->file, line, "URL \"%s\": scheme \"%s\" is not http or https", hq(raw).s,
			     hq(s).s);
	char *auth = s + sl + 3, *slash = auth + strcspn(auth, "/");
	_cleanup_free_ char *p = xstrdup(slash);
	*slash = '\0';
	char *at = strrchr(auth, '@');
	if (at)
		*at = '\0';
	const char *hostpart = at ? at + 1 : auth;
	if (at && !url_userinfo_ok(auth))
		return hfail(h->e, h->file, line, "URL \"%s\": invalid user information", hq(raw).s);
	if (!url_host_ok(hostpart))
		return hfail(h->e, h->file, line, "URL \"%s\": \"%s\" is not a host[:port]", hq(raw).s,
			     hq(hostpart).s);
	if (url_path(h, line, raw, p) < 0)
		return -1;
	ep->scheme = xstrdup(s);
	ep->host = xstrdup(hostpart);
	*path = steal_pointer(&p);
	return 0;
}

// containerd's path rule, then path.Join("/", path) as its requests use it.
static char *url_api_path(const char *path, bool override)
{
	_cleanup_free_ char *p = NULL;
	if (path[0]) {
		p = go_clean(path);
		size_t n = strlen(p);
		if (!override && !(n >= 3 && !strcmp(p + n - 3, "/v2"))) {
			char *q = xasprintf("%s/v2", p);
			free(p);
			p = q;
		}
	} else {
		p = xstrdup(override ? "" : "/v2");
	}
	_cleanup_free_ char *rooted = xasprintf("/%s", p);
	return go_clean(rooted);
}

// ---------------------------------------------------------------------------
// Go's time.ParseDuration

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{"ns", 1},
	{"us", 1000},
	{"\xc2\xb5s", 1000}, // U+00B5 micro sign
	{"\xce\xbcs", 1000}, // U+03BC Greek mu
	{"ms", 1000000},
	{"s", 1000000000},
	{"m", 60000000000ull},
	{"h", 3600000000000ull},
};

// One "<number><unit>" of a duration at *s into *v; -1 when it is not one.
static int duration_part(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0, f = 0;
	double scale = 1;
	bool pre = false, post = false, overflow = false;
	for (; *p >= '0' && *p <= '9'; p++, pre = true) {
		if (x > (1ull << 63) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*p - '0');
		if (x > 1ull << 63)
			return -1;
	}
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, post = true) {
			uint64_t y = f * 10 + (uint64_t)(*p - '0');
			if (overflow || f > ((1ull << 63) - 1) / 10 || y > 1ull << 63) {
				overflow = true;
				continue;
			}
			f = y;
			scale *= 10;
		}
	size_t ul = strcspn(p, ".0123456789");
	if ((!pre && !post) || ul == 0)
		return -1;
	uint64_t unit = 0;
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
		if (strlen(duration_units[i].name) == ul && !memcmp(p, duration_units[i].name, ul))
			unit = duration_units[i].ns;
	if (!unit || x > (1ull << 63) / unit)
		return -1;
	x *= unit;
	if (f > 0) {
		x += (uint64_t)((double)f * ((double)unit / scale));
		if (x > 1ull << 63)
			return -1;
	}
	*v = x;
	*s = p + ul;
	return 0;
}

// [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ or "0", as Go reads it; -1 when invalid or out of range.
static int go_duration(const char *s, long long *ns, bool *neg)
{
	*neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	if (!strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	if (!*s || !((*s >= '0' && *s <= '9') || *s == '.'))
		return -1;
	uint64_t d = 0;
	while (*s) {
		uint64_t v;
		if (!((*s >= '0' && *s <= '9') || *s == '.') || duration_part(&s, &v) < 0)
			return -1;
		d += v;
		if (d > 1ull << 63)
			return -1;
	}
	if (!*neg && d > (1ull << 63) - 1)
		return -1;
	*ns = d > (uint64_t)INT64_MAX ? INT64_MIN : (*neg ? -(long long)d : (long long)d);
	return 0;
}

// ---------------------------------------------------------------------------
// hostFileConfig: a [host."URL"] table, or the root table for the server

enum hkey { HK_CAPS, HK_CA, HK_CLIENT, HK_SKIP, HK_HEADER, HK_OVERRIDE, HK_DIAL, HK_SERVER, HK_HOST, HK_N };
static const char *const hkey_names[HK_N] = {"capabilities", "ca",           "client", "skip_verify", "header",
					     "override_path", "dial_timeout", "server", "host"};

// go-toml's match of a key to a field: strings.ToLower(key) == the tag. Besides
// ASCII, U+0130 lowers to 'i' and U+212A (Kelvin) to 'k'.
static bool key_folds_to(const char *k, const char *tag)
{
	for (; *k && *tag; tag++) {
		const unsigned char *u = (const unsigned char *)k;
		char c = *k;
		if (u[0] == 0xc4 && u[1] == 0xb0) {
			c = 'i';
			k += 2;
		} else if (u[0] == 0xe2 && u[1] == 0x84 && u[2] == 0xaa) {
			c = 'k';
			k += 3;
		} else {
			c = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			k++;
		}
		if (c != *tag)
			return false;
	}
	return !*k && !*tag;
}

// The known keys of a table (root: also server and host) into o; others are ignored.
static int hkeys_collect(const struct hctx *h, const struct tnode *tab, bool root, const struct tnode *o[HK_N])
{
	for (size_t i = 0; i < tab->n; i++)
		for (size_t k = 0; k < (size_t)(root ? HK_N : HK_SERVER); k++) {
			if (!key_folds_to(tab->keys[i], hkey_names[k]))
				continue;
			if (strcmp(tab->keys[i], hkey_names[k]))
				return hfail(h->e, h->file, tab->v[i]->line, "key \"%s\": containerd reads it as "
					     "\"%s\" (keys match without regard to case); write \"%s\"",
					     hq(tab->keys[i]).s, hkey_names[k], hkey_names[k]);
			o[k] = tab->v[i];
		}
	return 0;
}

static int type_fail(const struct hctx *h, const struct tnode *v, const char *key, const char *want)
{
	return hfail(h->e, h->file, v->line, "\"%s\" must be %s", key, want);
}

static int ep_caps(const struct hctx *h, struct hosts_endpoint *ep, const struct tnode *v)
{
	static const char *const names[] = {"pull", "resolve", "push", "referrers"};
	ep->caps = 0;
	if (v && v->kind != TK_ARR)
		return type_fail(h, v, "capabilities", "an array of strings");
	for (size_t i = 0; v && i < v->n; i++) {
		const struct tnode *c = v->v[i];
		if (c->kind != TK_STR)
			return type_fail(h, c, "capabilities", "an array of strings");
		_cleanup_free_ char *low = xstrdup(c->str);
		for (char *p = low; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		size_t k = 0;
		while (k < 4 && strcmp(low, names[k]))
			k++;
		if (k == 4)
			return hfail(h->e, h->file, c->line, "unknown capability \"%s\" (pull, resolve, push, "
				     "referrers)", hq(c->str).s);
		ep->caps |= 1u << k;
	}
	if (!ep->caps)
		ep->caps = HOSTS_CAP_ALL;
	return 0;
}

// makeAbsPath: absolute as written, else joined to the file's directory. An
// empty path is refused (it joins to the directory) but for a key with no
// directory, which containerd reads as "the key is in the cert file" (NULL).
static int ep_path(const struct hctx *h, const struct tnode *v, const char *what, bool key, char **out)
{
	*out = NULL;
	if (!v->str[0]) {
		if (key && !h->base[0])
			return 0;
		if (h->base[0])
			return hfail(h->e, h->file, v->line, "\"%s\": an empty path names the directory \"%s\" in "
				     "containerd, which cannot be read as a file%s", what, hq(h->base).s,
				     key ? "; give the certificate alone to take the key from it" : "");
		return hfail(h->e, h->file, v->line, "\"%s\": empty path", what);
	}
	*out = v->str[0] == '/' ? xstrdup(v->str) : go_join(h->base, v->str);
	return 0;
}

static int ep_ca(const struct hctx *h, struct hosts_endpoint *ep, const struct tnode *v)
{
	if (!v)
		return 0;
	if (v->kind != TK_STR && v->kind != TK_ARR)
		return type_fail(h, v, "ca", "a string or an array of strings");
	ep->tls_explicit = true;
	size_t n = v->kind == TK_STR ? 1 : v->n;
	if (n > HOSTS_LIST_MAX)
		return hfail(h->e, h->file, v->line, "\"ca\": more than %d files", HOSTS_LIST_MAX);
	ep->ca = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const struct tnode *s = v->kind == TK_STR ? v : v->v[i];
		if (s->kind != TK_STR)
			return type_fail(h, s, "ca", "a string or an array of strings");
		if (ep_path(h, s, "ca", false, &ep->ca[i]) < 0)
			return -1;
		ep->nca++;
	}
	return 0;
}

// One client entry: a cert path, or a [cert, key] pair of strings.
static int ep_client_one(const struct hctx *h, struct hosts_endpoint *ep, const struct tnode *c)
{
	size_t i = ep->nclient;
	if (c->kind == TK_ARR && (c->n != 2 || c->v[0]->kind != TK_STR || c->v[1]->kind != TK_STR))
		return hfail(h->e, h->file, c->line, "\"client\": a pair must be two strings [cert, key]");
	if (c->kind != TK_STR && c->kind != TK_ARR)
		return type_fail(h, c, "client", "a string, an array of strings or of [cert, key] pairs");
	if (ep_path(h, c->kind == TK_STR ? c : c->v[0], "client", false, &ep->client_cert[i]) < 0)
		return -1;
	ep->nclient++;
	return c->kind == TK_ARR ? ep_path(h, c->v[1], "client", true, &ep->client_key[i]) : 0;
}

static int ep_client(const struct hctx *h, struct hosts_endpoint *ep, const struct tnode *v)
{
	if (!v)
		return 0;
	if (v->kind != TK_STR && v->kind != TK_ARR)
		return type_fail(h, v, "client", "a string, an array of strings or of [cert, key] pairs");
	size_t n = v->kind == TK_STR ? 1 : v->n;
	if (n > HOSTS_LIST_MAX)
		return hfail(h->e, h->file, v->line, "\"client\": more than %d entries", HOSTS_LIST_MAX);
	if (n == 0)
		return 0; // client = []: no pairs, no TLS config (clientPairs stays nil)
	ep->tls_explicit = true;
	ep->client_cert = xcalloc(n, sizeof(char *));
	ep->client_key = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		if (ep_client_one(h, ep, v->kind == TK_STR ? v : v->v[i]) < 0)
			return -1;
	return 0;
}

// An HTTP token (Go's httpguts.ValidHeaderFieldName).
static bool header_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_unreserved((unsigned char)*s) && !strchr("!#$%&'*+^`|", *s))
			return false;
	return true;
}

static bool header_value_ok(const char *s)
{
	for (; *s; s++)
		if (is_ctl((unsigned char)*s))
			return false;
	return true;
}

static int ep_header_add(const struct hctx *h, struct hosts_endpoint *ep, const char *name, const struct tnode *s)
{
	if (s->kind != TK_STR)
		return hfail(h->e, h->file, s->line, "header \"%s\": values must be strings", hq(name).s);
	if (!header_value_ok(s->str))
		return hfail(h->e, h->file, s->line, "header \"%s\": a value with a control character cannot be "
			     "sent", hq(name).s);
	if (ep->nheaders == HOSTS_LIST_MAX)
		return hfail(h->e, h->file, s->line, "more than %d header values", HOSTS_LIST_MAX);
	ep->headers = xrealloc(ep->headers, (ep->nheaders + 1) * sizeof(*ep->headers));
	ep->headers[ep->nheaders].name = xstrdup(name);
	ep->headers[ep->nheaders++].value = xstrdup(s->str);
	return 0;
}

static int ep_headers(const struct hctx *h, struct hosts_endpoint *ep, const struct tnode *v)
{
	if (!v)
		return 0;
	if (v->kind != TK_TAB)
		return type_fail(h, v, "header", "a table");
	for (size_t i = 0; i < v->n; i++) {
		const char *name = v->keys[i];
		const struct tnode *x = v->v[i];
		if (!header_name_ok(name))
			return hfail(h->e, h->file, x->line, "header \"%s\": not a valid header name", hq(name).s);
		if (x->kind != TK_STR && x->kind != TK_ARR)
			return hfail(h->e, h->file, x->line, "header \"%s\": a string or an array of strings "
				     "expected", hq(name).s);
		for (size_t k = 0; k < (x->kind == TK_STR ? 1 : x->n); k++)
			if (ep_header_add(h, ep, name, x->kind == TK_STR ? x : x->v[k]) < 0)
				return -1;
	}
	return 0;
}

static int ep_dial(const struct hctx *h, struct hosts_endpoint *ep, const struct tnode *v)
{
	if (!v)
		return 0;
	if (v->kind != TK_STR)
		return type_fail(h, v, "dial_timeout", "a string (a Go duration, \"3s\")");
	if (!v->str[0])
		return 0;
	bool neg;
	if (go_duration(v->str, &ep->dial_timeout_ns, &neg) < 0)
		return hfail(h->e, h->file, v->line, "\"dial_timeout\": invalid duration \"%s\"", hq(v->str).s);
	if (ep->dial_timeout_ns < 0)
		return hfail(h->e, h->file, v->line, "\"dial_timeout\": a negative duration makes every "
			     "connection fail");
	ep->has_dial_timeout = true;
	return 0;
}

// parseHostConfig: server (a [host] key or the root's server, NULL for none) and its settings.
static int ep_config(const struct hctx *h, struct hosts_endpoint *ep, const char *server, unsigned line,
		     const struct tnode *o[HK_N])
{
	if (o[HK_SKIP] && o[HK_SKIP]->kind != TK_BOOL)
		return type_fail(h, o[HK_SKIP], "skip_verify", "a boolean");
	if (o[HK_OVERRIDE] && o[HK_OVERRIDE]->kind != TK_BOOL)
		return type_fail(h, o[HK_OVERRIDE], "override_path", "a boolean");
	if (server) {
		_cleanup_free_ char *path = NULL;
		if (url_split(h, line, server, ep, &path) < 0)
			return -1;
		ep->path = url_api_path(path, o[HK_OVERRIDE] && o[HK_OVERRIDE]->b);
	}
	if (o[HK_SKIP]) {
		ep->skip_verify = o[HK_SKIP]->b;
		ep->tls_explicit = true;
	}
	if (ep_caps(h, ep, o[HK_CAPS]) < 0 || ep_ca(h, ep, o[HK_CA]) < 0 || ep_client(h, ep, o[HK_CLIENT]) < 0 ||
	    ep_headers(h, ep, o[HK_HEADER]) < 0 || ep_dial(h, ep, o[HK_DIAL]) < 0)
		return -1;
	return 0;
}

// ---------------------------------------------------------------------------
// Endpoints

static void ep_release(struct hosts_endpoint *ep)
{
	free(ep->scheme);
	free(ep->host);
	free(ep->path);
	for (size_t i = 0; i < ep->nca; i++)
		free(ep->ca[i]);
	free(ep->ca);
	for (size_t i = 0; i < ep->nclient; i++) {
		free(ep->client_cert[i]);
		free(ep->client_key[i]);
	}
	free(ep->client_cert);
	free(ep->client_key);
	for (size_t i = 0; i < ep->nheaders; i++) {
		free(ep->headers[i].name);
		free(ep->headers[i].value);
	}
	free(ep->headers);
	memset(ep, 0, sizeof(*ep));
}

void hosts_release(struct hosts_config *c)
{
	for (size_t i = 0; c->v && i < c->n; i++)
		ep_release(&c->v[i]);
	free(c->v);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

// Go's net.SplitHostPort: the port of hostport ("" when it has none or is malformed).
static struct hq go_port(const char *hp, struct hq *hostpart)
{
	struct hq port = {{0}};
	snprintf(hostpart->s, sizeof(hostpart->s), "%s", hp);
	const char *colon = strrchr(hp, ':');
	if (!colon)
		return port;
	size_t j = 0, k = 0, i = (size_t)(colon - hp);
	if (hp[0] == '[') {
		const char *end = strchr(hp, ']');
		if (!end || (size_t)(end - hp) + 1 != i)
			return port;
		j = 1;
		k = (size_t)(end - hp) + 1;
		snprintf(hostpart->s, sizeof(hostpart->s), "%.*s", (int)(end - hp - 1), hp + 1);
	} else {
		if (memchr(hp, ':', i))
			return port;
		snprintf(hostpart->s, sizeof(hostpart->s), "%.*s", (int)i, hp);
	}
	if (strchr(hp + j, '[') || strchr(hp + k, ']')) {
		snprintf(hostpart->s, sizeof(hostpart->s), "%s", hp);
		return port;
	}
	snprintf(port.s, sizeof(port.s), "%s", colon + 1);
	return port;
}

// docker.IsLocalhost: "localhost" or a loopback IP (Go's ParseIP, IsLoopback), port aside.
static bool go_is_localhost(const char *host)
{
	struct hq h;
	(void)go_port(host, &h);
	if (!strcmp(h.s, "localhost"))
		return true;
	unsigned char a[16];
	if (inet_pton(AF_INET, h.s, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, h.s, a) != 1)
		return false;
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	if (!memcmp(a, mapped, 12))
		return a[12] == 127;
	return !memcmp(a, loop6, 16);
}

// ConfigureHosts' default for the last endpoint when it has no host.
static void ep_default_server(struct hosts_endpoint *ep, const char *host)
{
	free(ep->scheme);
	free(ep->host);
	free(ep->path);
	if (!strcmp(host, "docker.io")) {
		ep->scheme = xstrdup("https");
		ep->host = xstrdup("registry-1.docker.io");
	} else if (go_is_localhost(host)) {
		struct hq hp, port = go_port(host, &hp);
		ep->host = xstrdup(host);
		ep->scheme = xstrdup(!port.s[0] || !strcmp(port.s, "443") ? "https" : "http");
		if (strcmp(port.s, "80")) {
			ep->skip_verify = true;
			ep->tls_explicit = true;
		}
	} else {
		ep->scheme = xstrdup("https");
		ep->host = xstrdup(host);
	}
	ep->path = xstrdup("/v2");
	ep->caps = HOSTS_CAP_ALL;
}

// The defaults and ConfigureHosts' HTTP fallback over the endpoints of c.
static void hosts_finish(struct hosts_config *c, const char *host)
{
	struct hosts_endpoint *last = &c->v[c->n - 1];
	last->is_server = true;
	if (!last->host)
		ep_default_server(last, host);
	for (size_t i = 0; i < c->n; i++) {
		struct hosts_endpoint *ep = &c->v[i];
		struct hq hp;
		if (!strcmp(ep->scheme, "http") && ep->tls_explicit && strcmp(go_port(ep->host, &hp).s, "80")) {
			free(ep->scheme);
			ep->scheme = xstrdup("https");
			ep->http_fallback = true;
		}
	}
}

// getSortedHosts (2.x): [host.X...] headers' X in file order, a repeat of the
// previous one skipped. Refused where 1.7 would differ (see the top).
static int hosts_order(const struct hctx *h, const struct toml *t, const char **order, size_t *n)
{
	const char *prev = NULL;
	*n = 0;
	for (size_t i = 0; i < t->nhdr; i++) {
		const struct theader *hd = &t->hdr[i];
		if (strcmp(hd->p0, "host") || !hd->p1 || (prev && !strcmp(prev, hd->p1)))
			continue;
		for (size_t k = 0; k < *n; k++)
			if (!strcmp(order[k], hd->p1))
				return hfail(h->e, h->file, hd->line, "the tables of host \"%s\" are not together "
					     "(containerd 2.x would try it twice, 1.7 once): put them one after "
					     "the other", hq(hd->p1).s);
		if (*n == HOSTS_MAX)
			return hfail(h->e, h->file, hd->line, "more than %d [host] entries", HOSTS_MAX);
		order[(*n)++] = prev = hd->p1;
	}
	return 0;
}

// Every entry of the host table has a [host."URL"] header (2.x ignores the others).
static int hosts_check_table(const struct hctx *h, const struct tnode *hosts, const char **order, size_t n)
{
	if (hosts->kind != TK_TAB)
		return type_fail(h, hosts, "host", "a table of [host.\"URL\"] tables");
	for (size_t i = 0; i < hosts->n; i++) {
		size_t k = 0;
		while (k < n && strcmp(order[k], hosts->keys[i]))
			k++;
		if (hosts->v[i]->kind != TK_TAB)
			return type_fail(h, hosts->v[i], "host", "a table of [host.\"URL\"] tables");
		if (k == n)
			return hfail(h->e, h->file, hosts->v[i]->line, "host \"%s\" is not defined by a "
				     "[host.\"URL\"] table header (containerd 2.x ignores it, 1.7 does not)",
				     hq(hosts->keys[i]).s);
	}
	return 0;
}

static int hosts_build(struct hosts_config *c, const struct hctx *h, const struct toml *t, const char *host)
{
	const struct tnode *root[HK_N] = {0};
	const char *order[HOSTS_MAX];
	size_t n;
	if (hkeys_collect(h, t->root, true, root) < 0 || hosts_order(h, t, order, &n) < 0)
		return -1;
	if (root[HK_HOST] && hosts_check_table(h, root[HK_HOST], order, n) < 0)
		return -1;
	if (root[HK_SERVER] && root[HK_SERVER]->kind != TK_STR)
		return type_fail(h, root[HK_SERVER], "server", "a string");
	c->v = xcalloc(n + 1, sizeof(*c->v));
	for (size_t i = 0; i < n; i++) {
		const struct tnode *tab = tab_get(root[HK_HOST], order[i]), *o[HK_N] = {0};
		c->n++;
		if (hkeys_collect(h, tab, false, o) < 0 || ep_config(h, &c->v[i], order[i], tab->line, o) < 0)
			return -1;
	}
	c->n++;
	// An empty server is no server (parseHostConfig); an empty [host.""] is refused by url_split.
	const char *server = root[HK_SERVER] && root[HK_SERVER]->str[0] ? root[HK_SERVER]->str : NULL;
	if (ep_config(h, &c->v[n], server, root[HK_SERVER] ? root[HK_SERVER]->line : 0, root) < 0)
		return -1;
	hosts_finish(c, host);
	return 0;
}

static int host_arg_ok(const char *host, struct err *e)
{
	size_t n = host ? strlen(host) : 0;
	if (!n || n > HOSTS_HOST_MAX || strchr(host, '/') || !strcmp(host, ".") || !strcmp(host, ".."))
		return err_set(e, ERR_USAGE, "registry host \"%s\" is not a host[:port]", host ? hq(host).s : "");
	return 0;
}

int hosts_parse(struct hosts_config *c, const char *toml, size_t len, const char *host, const char *file,
		struct err *e)
{
	memset(c, 0, sizeof(*c));
	if (host_arg_ok(host, e) < 0)
		return -1;
	_cleanup_free_ char *base = file ? go_dir(file) : xstrdup("");
	struct hctx h = {.file = file ? file : "hosts.toml", .base = base, .e = e};
	if (len > HOSTS_FILE_MAX)
		return hfail(e, h.file, 0, "larger than %u bytes", HOSTS_FILE_MAX);
	struct toml t = {.s = toml, .len = len, .file = h.file, .e = e};
	int r = toml_parse(&t);
	if (r == 0)
		r = hosts_build(c, &h, &t, host);
	toml_release(&t);
	if (r < 0) {
		hosts_release(c);
		return -1;
	}
	if (file)
		c->source = xstrdup(file);
	return 0;
}

// ---------------------------------------------------------------------------
// The directory

// A hosts.toml's text (*absent when there is none), a regular file of at most HOSTS_FILE_MAX bytes.
static int hosts_read(const char *path, char **text, size_t *len, bool *absent, struct err *e)
{
	*absent = false;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 && errno == ENOENT) {
		*absent = true;
		return 0;
	}
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return err_sys(e, ERR_USAGE, errno, "cannot read '%s'", path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, ERR_USAGE, "'%s' is %s, not a regular file", path, file_kind(st.st_mode));
	char *buf = xmalloc(HOSTS_FILE_MAX + 2);
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, HOSTS_FILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return err_sys(e, ERR_USAGE, errno, "cannot read '%s'", path);
		}
		n += (size_t)r;
		if (r == 0 || n > HOSTS_FILE_MAX)
			break;
	}
	if (n > HOSTS_FILE_MAX) {
		free(buf);
		return err_set(e, ERR_USAGE, "'%s' is larger than %u bytes", path, HOSTS_FILE_MAX);
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcmp(s + n - m, suf);
}

// One entry of loadCertFiles: name.crt a CA, name.cert a client certificate with name.key if it exists.
static int cert_entry(struct hosts_endpoint *ep, const char *d, const char *name, struct err *e)
{
	_cleanup_free_ char *path = go_join(d, name);
	struct stat st;
	bool crt = has_suffix(name, ".crt"), cert = has_suffix(name, ".cert");
	if ((!crt && !cert) || lstat(path, &st) < 0 || S_ISDIR(st.st_mode))
		return 0;
	if (ep->nca + ep->nclient == HOSTS_LIST_MAX)
		return err_set(e, ERR_USAGE, "'%s': more than %d certificate files", d, HOSTS_LIST_MAX);
	ep->tls_explicit = true;
	if (crt) {
		ep->ca = xrealloc(ep->ca, (ep->nca + 1) * sizeof(char *));
		ep->ca[ep->nca++] = steal_pointer(&path);
		return 0;
	}
	_cleanup_free_ char *stem = xstrndup(name, strlen(name) - 5);
	_cleanup_free_ char *keyname = xasprintf("%s.key", stem);
	_cleanup_free_ char *key = go_join(d, keyname);
	bool have_key = stat(key, &st) == 0;
	if (!have_key && errno != ENOENT)
		return err_sys(e, ERR_USAGE, errno, "cannot read '%s'", key);
	ep->client_cert = xrealloc(ep->client_cert, (ep->nclient + 1) * sizeof(char *));
	ep->client_key = xrealloc(ep->client_key, (ep->nclient + 1) * sizeof(char *));
	ep->client_cert[ep->nclient] = steal_pointer(&path);
	ep->client_key[ep->nclient++] = have_key ? steal_pointer(&key) : NULL;
	return 0;
}

// loadCertFiles: the server (the default one) with d's Docker-style certificates.
static int hosts_cert_files(struct hosts_config *c, const char *d, const char *host, struct err *e)
{
	char **names = NULL;
	size_t n = 0;
	if (file_list_dir(d, &names, &n, e) < 0) {
		if (e->cls != ERR_NOTFOUND) { // gone since: os.ReadDir's IsNotExist, no files
			e->cls = ERR_USAGE;
			return -1;
		}
		err_clear(e);
	}
	c->v = xcalloc(1, sizeof(*c->v));
	c->n = 1;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = cert_entry(&c->v[0], d, names[i], e);
	file_list_free(names, n);
	if (r < 0)
		return -1;
	hosts_finish(c, host);
	c->source = xstrdup(d);
	return 0;
}

// HostDirFromRoot: the first of DIR/<host_port_>, DIR/<host>, DIR/_default that exists, or *d NULL.
static int hosts_find_dir(const char *dir, const char *host, char **d, struct err *e)
{
	_cleanup_free_ char *alt = NULL;
	const char *colon = strrchr(host, ':');
	if (colon && colon > host)
		alt = xasprintf("%.*s_%s_", (int)(colon - host), host, colon + 1);
	const char *names[] = {alt ? alt : host, host, "_default"};
	*d = NULL;
	for (size_t i = alt ? 0 : 1; i < 3; i++) {
		_cleanup_free_ char *p = go_join(dir, names[i]);
		struct stat st;
		if (stat(p, &st) == 0) {
			*d = steal_pointer(&p);
			return 0;
		}
		if (errno != ENOENT)
			return err_sys(e, ERR_USAGE, errno, "cannot read '%s'", p);
	}
	return 0;
}

static int hosts_default(struct hosts_config *c, const char *host)
{
	c->v = xcalloc(1, sizeof(*c->v));
	c->n = 1;
	hosts_finish(c, host);
	return 0;
}

int hosts_load(struct hosts_config *c, const char *dir, const char *host, struct err *e)
{
	memset(c, 0, sizeof(*c));
	if (host_arg_ok(host, e) < 0)
		return -1;
	_cleanup_free_ char *d = NULL;
	if (dir && dir[0] && hosts_find_dir(dir, host, &d, e) < 0)
		return -1;
	if (!d)
		return hosts_default(c, host);
	_cleanup_free_ char *file = go_join(d, "hosts.toml");
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	bool absent;
	if (hosts_read(file, &text, &len, &absent, e) < 0)
		return -1;
	int r = absent || len == 0 ? hosts_cert_files(c, d, host, e) : hosts_parse(c, text, len, host, file, e);
	if (r < 0)
		hosts_release(c);
	return r;
}

// ---------------------------------------------------------------------------
// URLs

char *hosts_endpoint_base(const struct hosts_endpoint *ep)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *p = strcmp(ep->path, "/") ? ep->path : "";
	// Go's URL.EscapedPath: the path as it is when every byte may appear in a
	// path, else escaped whole (encodePath keeps unreserved and $&+,/:;=@).
	bool raw = true;
	for (const char *q = p; *q; q++)
		raw = raw && (is_unreserved((unsigned char)*q) || strchr("!$&'()*+,;=:@[]/", *q));
	size_t n = strlen(p);
	_cleanup_free_ char *out = xmalloc(3 * n + 1);
	size_t o = 0;
	for (const char *q = p; *q; q++) {
		unsigned char ch = (unsigned char)*q;
		if (raw || is_unreserved(ch) || strchr("$&+,/:;=@", ch)) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 0xf];
		}
	}
	out[o] = '\0';
	return xasprintf("%s://%s%s", ep->scheme, ep->host, out);
}

bool hosts_endpoint_is_proxy(const struct hosts_endpoint *ep, const char *refhost)
{
	if (!strcmp(refhost, ep->host))
		return false;
	return strcmp(refhost, "docker.io") || strcmp(ep->host, "registry-1.docker.io");
}
