// SPDX-License-Identifier: Apache-2.0
// Whether a Kitfile's model.path names another ModelKit, as kit decides it:
// kitops pkg/lib/repo/util/kitfile.go IsModelKitReference and reference.go
// ParseReference (the same in its later pkg/artifact), with oras-go's
// registry.Reference checks and go-digest's Parse. The registry part is
// checked as Go's net/url reads the host of "dummy://" + it.
#include <stdbool.h>
#include <string.h>

#include "unpack/model.h"

static bool ref_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool ref_word(char c)
{
	return ref_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool ref_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'f') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

// go-digest's Parse of s[0..n): an available algorithm and its hex.
static bool ref_digest(const char *s, size_t n)
{
	static const struct {
		const char *alg;
		size_t hex;
	} algs[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		size_t an = strlen(algs[i].alg);
		if (n == an + 1 + algs[i].hex && strncmp(s, algs[i].alg, an) == 0 && s[an] == ':')
			return ref_hex(s + an + 1, algs[i].hex);
	}
	return false;
}

// oras-go's tag pattern: ^[\w][\w.-]{0,127}$.
static bool ref_tag(const char *s, size_t n)
{
	if (n == 0 || n > 128 || !ref_word(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!ref_word(s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

// oras-go's repository pattern: components of [a-z0-9]+ joined by '.', '_',
// '__' or dashes, separated by '/'.
static bool ref_repository(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (!ref_lower_alnum(s[i]))
			return false;
		while (i < n && ref_lower_alnum(s[i]))
			i++;
		if (i == n || s[i] == '/') {
			i += i < n;
			if (i == n && s[n - 1] == '/')
				return false;
			continue;
		}
		size_t k = i;
		while (k < n && !ref_lower_alnum(s[k]) && s[k] != '/')
			k++;
		size_t sep = k - i;
		bool dashes = strspn(s + i, "-") >= sep;
		if (!(dashes || (sep == 1 && (s[i] == '.' || s[i] == '_')) || (sep == 2 && s[i] == '_' && s[i + 1] == '_')))
			return false;
		if (k == n || !ref_lower_alnum(s[k])) // a separator joins two runs
			return false;
		i = k;
	}
	return n > 0;
}

static bool ref_port(const char *s, size_t n)
{
	if (n == 0)
		return true;
	if (s[0] != ':')
		return false;
	for (size_t i = 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

// url.ParseRequestURI("dummy://" + reg).Host == reg: a host of the
// characters net/url leaves unescaped there (or non-ASCII), an optional port
// after the last ':' (or after an "[...]" literal).
static bool ref_registry(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80 && !ref_word((char)c) && !strchr("-.~!$&'()*+;=:[]<>\"", c))
			return false;
	}
	if (s[0] == '[') {
		const char *close = NULL;
		for (size_t i = 0; i < n; i++)
			if (s[i] == ']')
				close = s + i;
		return close && ref_port(close + 1, (size_t)(s + n - close - 1));
	}
	const char *colon = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ':')
			colon = s + i;
	return !colon || ref_port(colon, (size_t)(s + n - colon));
}

static const char *ref_find(const char *s, size_t n, char c)
{
	return memchr(s, c, n);
}

bool unpack_model_kit_reference(const char *s)
{
	if (!s || (!strchr(s, ':') && !strchr(s, '@')))
		return false;
	size_t n = strlen(s);
	if (ref_digest(s, n))
		return true;
	const char *comma = strchr(s, ','); // extra tags: not checked
	if (comma)
		n = (size_t)(comma - s);
	const char *rest = s, *slash = ref_find(s, n, '/');
	bool ok = true;
	if (slash && (ref_find(s, (size_t)(slash - s), ':') || ref_find(s, (size_t)(slash - s), '.'))) {
		ok = ref_registry(s, (size_t)(slash - s));
		rest = slash + 1;
	}
	size_t rn = (size_t)(s + n - rest);
	const char *at = ref_find(rest, rn, '@'), *colon = ref_find(rest, rn, ':');
	if (at) {
		size_t repo = (size_t)((colon && colon < at ? colon : at) - rest);
		return ok && ref_repository(rest, repo) && ref_digest(at + 1, (size_t)(rest + rn - at - 1));
	}
	if (colon)
		return ok && ref_repository(rest, (size_t)(colon - rest)) &&
		       ref_tag(colon + 1, (size_t)(rest + rn - colon - 1));
	return ok && ref_repository(rest, rn);
}
