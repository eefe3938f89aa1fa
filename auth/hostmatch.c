// SPDX-License-Identifier: Apache-2.0
#include "auth/hostmatch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/mem.h"

const char *auth_docker_hub_alias(const char *host)
{
	static const char *const names[] = {
		"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(host, names[i]) == 0)
			return "docker.io";
	return NULL;
}

// ---- Go's path.Match, byte-wise (host names are ASCII) ----

// scanChunk: the literal/class run up to the next '*' outside a [...] class.
static size_t chunk_len(const char *p)
{
	bool inrange = false;
	size_t i;
	for (i = 0; p[i]; i++) {
		if (p[i] == '\\') {
			if (p[i + 1])
				i++;
		} else if (p[i] == '[') {
			inrange = true;
		} else if (p[i] == ']') {
			inrange = false;
		} else if (p[i] == '*' && !inrange) {
			break;
		}
	}
	return i;
}

// getEsc: one class endpoint, possibly escaped; -1 on a malformed class.
static int get_esc(const char **c, const char *end, unsigned char *out)
{
	const char *p = *c;
	if (p == end || *p == '-' || *p == ']')
		return -1;
	if (*p == '\\' && ++p == end)
		return -1;
	*out = (unsigned char)*p++;
	if (p == end)
		return -1;
	*c = p;
	return 0;
}

// The ranges of a [...] class, *c just past its '[' (and moved past its ']'):
// *in tells whether r is in the class (out of it, after a '^'); -1 on a
// malformed class.
static int match_class(const char **c, const char *end, unsigned char r, bool *in)
{
	const char *p = *c;
	unsigned char lo, hi;
	bool negated = p < end && *p == '^';
	if (negated)
		p++;
	bool match = false;
	for (int nrange = 0;; nrange++) {
		if (p < end && *p == ']' && nrange > 0) {
			p++;
			break;
		}
		if (get_esc(&p, end, &lo) < 0)
			return -1;
		hi = lo;
		if (*p == '-') {
			p++;
			if (get_esc(&p, end, &hi) < 0)
				return -1;
		}
		if (lo <= r && r <= hi)
			match = true;
	}
	*c = p;
	*in = match != negated;
	return 0;
}

// matchChunk: 1 and *rest past the match, 0 on mismatch, -1 on a malformed
// chunk. Like Go it keeps parsing after a mismatch, so a bad pattern is never
// mistaken for a mere mismatch.
static int match_chunk(const char *c, size_t clen, const char *s, const char **rest)
{
	const char *end = c + clen;
	bool failed = false;
	while (c < end) {
		if (!failed && !*s)
			failed = true;
		switch (*c) {
		case '[': {
			unsigned char r = 0;
			bool in;
			if (!failed)
				r = (unsigned char)*s++;
			c++;
			if (match_class(&c, end, r, &in) < 0)
				return -1;
			if (!in)
				failed = true;
			break;
		}
		case '?':
			if (!failed) {
				if (*s == '/')
					failed = true;
				s++;
			}
			c++;
			break;
		case '\\':
			if (++c == end)
				return -1;
			__attribute__((fallthrough));
		default:
			if (!failed) {
				if (*c != *s)
					failed = true;
				s++;
			}
			c++;
		}
	}
	if (failed)
		return 0;
	*rest = s;
	return 1;
}

bool auth_glob_match(const char *pat, const char *name)
{
	while (*pat) {
		bool star = false;
		while (*pat == '*') {
			pat++;
			star = true;
		}
		const char *chunk = pat;
		size_t clen = chunk_len(pat);
		pat += clen;
		if (star && clen == 0)
			return strchr(name, '/') == NULL;
		const char *rest = NULL;
		int r = match_chunk(chunk, clen, name, &rest);
		if (r < 0)
			return false;
		// The last chunk must use up the name, or a star may still do better.
		if (r > 0 && (*rest == '\0' || *pat)) {
			name = rest;
			continue;
		}
		bool found = false;
		for (size_t i = 0; star && name[i] && name[i] != '/'; i++) {
			r = match_chunk(chunk, clen, name + i + 1, &rest);
			if (r < 0)
				return false;
			if (r > 0 && !(*pat == '\0' && *rest)) {
				name = rest;
				found = true;
				break;
			}
		}
		if (!found)
			return false;
	}
	return *name == '\0';
}

// ---- keys ----

// url.Parse's view of an authority, then net.SplitHostPort's: "host[:port]" or
// "[v6][:port]". -1 for what url.Parse rejects (bad port, stray characters) and
// for what SplitHostPort cannot split (unbracketed colons).
static int split_authority(const char *a, size_t n, struct auth_host_key *k)
{
	// url.Parse's host alphabet (shouldEscape in encodeHost mode); %-escapes are
	// not decoded here but refused.
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];
		if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || (c && strchr("-_.~!$&'()*+,;=:[]<>\"", c))))
			return -1;
	}
	const char *host = a, *colon = NULL;
	size_t hlen = n;
	if (n && a[0] == '[') {
		const char *rb = memchr(a, ']', n);
		if (!rb || rb == a + 1)
			return -1;
		host = a + 1;
		hlen = (size_t)(rb - host);
		if (rb + 1 < a + n) {
			if (rb[1] != ':')
				return -1;
			colon = rb + 1;
		}
		k->literal = true;
	} else {
		colon = memrchr(a, ':', n);
		if (colon)
			hlen = (size_t)(colon - a);
		if (!hlen || memchr(host, ':', hlen))
			return -1;
	}
	const char *port = colon ? colon + 1 : a + n;
	size_t plen = (size_t)(a + n - port);
	for (size_t i = 0; i < plen; i++)
		if (port[i] < '0' || port[i] > '9')
			return -1;
	k->host = xstrndup(host, hlen);
	for (char *c = k->host; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	k->port = xstrndup(port, plen);
	const char *hub = k->literal || plen ? NULL : auth_docker_hub_alias(k->host);
	if (hub) {
		free(k->host);
		k->host = xstrdup(hub);
	}
	return 0;
}

void auth_host_key_release(struct auth_host_key *k)
{
	free(k->norm);
	free(k->host);
	free(k->port);
	free(k->path);
	memset(k, 0, sizeof(*k));
}

int auth_host_key_parse(struct auth_host_key *k, const char *key)
{
	memset(k, 0, sizeof(*k));
	const char *p = key;
	if (strncasecmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncasecmp(p, "http://", 7) == 0)
		p += 7;
	size_t alen = strcspn(p, "/?#");
	const char *auth = p, *after = p + alen;
	const char *at = memrchr(auth, '@', alen); // userinfo is not part of the host
	if (at) {
		alen -= (size_t)(at + 1 - auth);
		auth = at + 1;
	}
	if (split_authority(auth, alen, k) < 0) {
		auth_host_key_release(k);
		return -1;
	}
	const char *path = after;
	size_t plen = *after == '/' ? strcspn(after, "?#") : 0;
	for (size_t i = 0; i < plen; i++) {
		if ((unsigned char)path[i] <= ' ' || path[i] == 0x7f) {
			auth_host_key_release(k);
			return -1;
		}
	}
	// Docker clients write "https://index.docker.io/v1/": the API root, not a repository.
	if (plen >= 4 && (strncmp(path, "/v1/", 4) == 0 || strncmp(path, "/v2/", 4) == 0)) {
		path += 3;
		plen -= 3;
	}
	while (plen && path[plen - 1] == '/')
		plen--;
	k->path = xstrndup(path, plen);
	k->norm = xasprintf("%s%s%s%s%s%s", k->literal ? "[" : "", k->host, k->literal ? "]" : "",
			    *k->port ? ":" : "", k->port, k->path);
	return 0;
}

int auth_host_key_cmp(const struct auth_host_key *a, const struct auth_host_key *b)
{
	return strcmp(b->norm, a->norm);
}

static bool labels_match(const char *pat, const char *name)
{
	_cleanup_free_ char *p = xstrdup(pat);
	_cleanup_free_ char *n = xstrdup(name);
	char *ps = p, *ns = n;
	for (;;) {
		char *pd = strchr(ps, '.'), *nd = strchr(ns, '.');
		if (!pd != !nd)
			return false; // a different number of labels
		if (pd)
			*pd = *nd = '\0';
		if (!auth_glob_match(ps, ns))
			return false;
		if (!pd)
			return true;
		ps = pd + 1;
		ns = nd + 1;
	}
}

bool auth_host_key_match(const struct auth_host_key *k, const char *host, const char *repo_path)
{
	struct auth_host_key t = {0};
	if (!host || split_authority(host, strlen(host), &t) < 0) {
		auth_host_key_release(&t);
		return false;
	}
	bool ok = strcmp(k->port, t.port) == 0;
	if (ok && (k->literal || t.literal))
		ok = k->literal == t.literal && strcmp(k->host, t.host) == 0;
	else if (ok)
		ok = labels_match(k->host, t.host);
	auth_host_key_release(&t);
	if (!ok || !*k->path)
		return ok;
	const char *rp = repo_path ? repo_path : "";
	while (*rp == '/')
		rp++;
	size_t n = strlen(k->path + 1);
	return strncmp(rp, k->path + 1, n) == 0 && (rp[n] == '\0' || rp[n] == '/');
}

bool auth_host_match(const char *key, const char *host, const char *repo_path)
{
	struct auth_host_key k;
	if (auth_host_key_parse(&k, key) < 0)
		return false;
	bool ok = auth_host_key_match(&k, host, repo_path);
	auth_host_key_release(&k);
	return ok;
}
