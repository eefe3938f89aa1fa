// SPDX-License-Identifier: Apache-2.0
// WWW-Authenticate parsing after RFC 7235 sections 2.1 and 4.1:
//
//   WWW-Authenticate = 1#challenge
//   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//   auth-param = token BWS "=" BWS ( token / quoted-string )
//   token68    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// Commas separate both challenges and the auth-params inside one challenge, so
// after a comma the next element is either another auth-param of the current
// challenge or a new challenge. An auth-param always starts `token BWS "="`; a
// challenge never does (its scheme is followed by a space, a comma or the end),
// so one token of lookahead decides without ever splitting on commas, which
// would break quoted values such as scope="repository:a/b:pull,push".
#include "auth/challenge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/mem.h"
#include "util/strparse.h"

// A server decides how many of these we allocate; cap it.
#define AUTH_MAX_CHALLENGES 16
#define AUTH_MAX_PARAMS 32
// How much of the header an error message may quote (the contract is <= 64).
#define AUTH_ERR_SNIPPET 32

struct chal_parser {
	struct strparse s;
	const char *start; // the whole header value, for offsets in messages
	struct err *e;
};

// Fails with a message pointing at `at`. The quoted excerpt is short and has
// non-printable bytes replaced, so a hostile header can neither flood the
// message nor smuggle terminal escapes into it.
static int chal_fail(const struct chal_parser *ps, const char *at, const char *what)
{
	if (at >= ps->s.end)
		return err_set(ps->e, ERR_AUTH,
			       "malformed WWW-Authenticate header: %s at end of value", what);
	char snip[AUTH_ERR_SNIPPET + 1];
	size_t n = (size_t)(ps->s.end - at);
	bool more = n > AUTH_ERR_SNIPPET;
	if (more)
		n = AUTH_ERR_SNIPPET;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)at[i];
		snip[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	snip[n] = '\0';
	return err_set(ps->e, ERR_AUTH,
		       "malformed WWW-Authenticate header: %s at offset %zu near \"%s%s\"", what,
		       (size_t)(at - ps->start), snip, more ? "..." : "");
}

// RFC 7230 CTL minus HTAB, which qdtext allows. Bytes >= 0x80 are obs-text and allowed.
static bool chal_is_ctl(int c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static bool chal_is_token68(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || strparse_is_digit(c))
		return true;
	return c != 0 && strchr("-._~+/", c) != NULL;
}

// True if the cursor is on `token BWS "="`, i.e. an auth-param rather than a challenge.
static bool chal_at_param(const struct strparse *s)
{
	struct strparse look = *s;
	if (!strparse_span(&look, strparse_is_tchar, NULL))
		return false;
	strparse_ws(&look);
	return strparse_peek(&look) == '=';
}

// Consumes a token68 if one is next and is the whole rest of its list element.
// Otherwise leaves the cursor alone: "realm=x" starts like a token68 ("realm=")
// but continues, so it is an auth-param.
static bool chal_token68(struct strparse *s)
{
	struct strparse save = *s;
	if (!strparse_span(s, chal_is_token68, NULL))
		return false;
	while (strparse_char(s, '='))
		;
	struct strparse look = *s;
	strparse_ws(&look);
	if (strparse_eof(&look) || strparse_peek(&look) == ',')
		return true;
	*s = save;
	return false;
}

// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, cursor on the opening
// quote. Returns the unescaped contents. Validates in a first pass so the copy
// is allocated at its exact size.
static int chal_quoted(struct chal_parser *ps, char **out)
{
	const char *open = ps->s.p;
	const char *p = open + 1;
	size_t n = 0;
	for (;;) {
		if (p >= ps->s.end)
			return chal_fail(ps, open, "unterminated quoted string");
		if (*p == '"')
			break;
		if (*p == '\\' && ++p >= ps->s.end)
			return chal_fail(ps, open, "unterminated quoted string");
		if (chal_is_ctl((unsigned char)*p))
			return chal_fail(ps, p, "control character in quoted string");
		n++;
		p++;
	}
	char *v = xmalloc(n + 1);
	size_t i = 0;
	for (const char *q = open + 1; q < p; q++) {
		if (*q == '\\')
			q++;
		v[i++] = *q;
	}
	v[i] = '\0';
	ps->s.p = p + 1; // past the closing quote
	*out = v;
	return 0;
}

// auth-param = token BWS "=" BWS ( token / quoted-string ), appended to ch.
static int chal_param(struct chal_parser *ps, struct auth_challenge *ch)
{
	struct strparse_str key;
	const char *at = ps->s.p;
	if (!strparse_span(&ps->s, strparse_is_tchar, &key))
		return chal_fail(ps, at, "expected auth-param");
	if (ch->nparams >= AUTH_MAX_PARAMS)
		return chal_fail(ps, at, "too many auth-params");
	// RFC 7235 2.1: a parameter name occurs once per challenge. Two realms
	// would be read differently by different clients, so refuse rather than guess.
	for (size_t i = 0; i < ch->nparams; i++)
		if (strparse_str_eq_ci(key, ch->params[i].key))
			return chal_fail(ps, at, "duplicate auth-param");
	strparse_ws(&ps->s);
	if (!strparse_char(&ps->s, '='))
		return chal_fail(ps, ps->s.p, "expected '=' after auth-param name");
	strparse_ws(&ps->s);

	char *value = NULL;
	if (strparse_peek(&ps->s) == '"') {
		if (chal_quoted(ps, &value) < 0)
			return -1;
	} else {
		struct strparse_str tok;
		const char *vat = ps->s.p;
		if (!strparse_span(&ps->s, strparse_is_tchar, &tok))
			return chal_fail(ps, vat, "'=' with no value");
		value = xstrndup(tok.p, tok.len);
	}
	ch->params = xrealloc(ch->params, (ch->nparams + 1) * sizeof(*ch->params));
	ch->params[ch->nparams++] = (struct auth_param){
		.key = xstrndup(key.p, key.len),
		.value = value,
	};
	return 0;
}

// A challenge up to the end of its first list element: the scheme, then nothing,
// a token68 or the first auth-param. *token68 tells whether auth-params may follow.
static int chal_challenge(struct chal_parser *ps, struct auth_challenges *cs, bool *token68)
{
	struct strparse_str scheme;
	const char *at = ps->s.p;
	if (!strparse_span(&ps->s, strparse_is_tchar, &scheme))
		return chal_fail(ps, at, "expected auth scheme");
	// Owned by cs from here on, so an error below frees it with the rest.
	cs->v = xrealloc(cs->v, (cs->n + 1) * sizeof(*cs->v));
	struct auth_challenge *ch = &cs->v[cs->n++];
	*ch = (struct auth_challenge){ .scheme = xstrndup(scheme.p, scheme.len) };
	*token68 = false;

	const char *after = ps->s.p;
	strparse_ws(&ps->s);
	int c = strparse_peek(&ps->s);
	if (c < 0 || c == ',')
		return 0; // a bare scheme ("Negotiate"); params may still follow the comma
	if (ps->s.p == after)
		return chal_fail(ps, after, "expected space after auth scheme");
	if (chal_token68(&ps->s)) {
		// The credential form carries nothing a registry client uses; the
		// scheme alone is kept so the caller can see it was offered.
		*token68 = true;
		return 0;
	}
	return chal_param(ps, ch);
}

static int chal_list(struct chal_parser *ps, struct auth_challenges *cs, size_t have)
{
	bool token68 = false;
	for (;;) {
		// Leading, trailing and repeated commas are empty list elements (RFC 7230 7).
		do
			strparse_ws(&ps->s);
		while (strparse_char(&ps->s, ','));
		if (strparse_eof(&ps->s))
			break;

		if (chal_at_param(&ps->s)) {
			if (cs->n == 0)
				return chal_fail(ps, ps->s.p, "auth-param without auth scheme");
			if (token68)
				return chal_fail(ps, ps->s.p, "auth-param after token68");
			if (chal_param(ps, &cs->v[cs->n - 1]) < 0)
				return -1;
		} else {
			if (have + cs->n >= AUTH_MAX_CHALLENGES)
				return chal_fail(ps, ps->s.p, "too many challenges");
			if (chal_challenge(ps, cs, &token68) < 0)
				return -1;
		}

		strparse_ws(&ps->s);
		if (strparse_eof(&ps->s))
			break;
		if (strparse_peek(&ps->s) != ',')
			return chal_fail(ps, ps->s.p, "expected ',' or end of value");
	}
	if (cs->n == 0)
		return err_set(ps->e, ERR_AUTH, "malformed WWW-Authenticate header: no challenge");
	return 0;
}

int auth_challenge_parse(struct auth_challenges *out, const char *value, struct err *e)
{
	if (!value)
		return err_set(e, ERR_AUTH, "malformed WWW-Authenticate header: no value");
	struct chal_parser ps = { .start = value, .e = e };
	strparse_init_str(&ps.s, value);

	// Parse aside and append only on success, so a bad header line leaves out
	// exactly as the good lines before it left it.
	struct auth_challenges tmp = { 0 };
	if (chal_list(&ps, &tmp, out->n) < 0) {
		auth_challenges_release(&tmp);
		return -1;
	}
	out->v = xrealloc(out->v, (out->n + tmp.n) * sizeof(*out->v));
	memcpy(out->v + out->n, tmp.v, tmp.n * sizeof(*tmp.v));
	out->n += tmp.n;
	free(tmp.v);
	return 0;
}

bool auth_challenge_parse_lines(struct auth_challenges *out, char *const *lines, size_t n)
{
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		struct err e;
		if (auth_challenge_parse(out, lines[i], &e) < 0)
			ok = false;
	}
	return ok;
}

static const struct auth_challenge *chal_find(const struct auth_challenges *c, const char *scheme)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcasecmp(c->v[i].scheme, scheme) == 0)
			return &c->v[i];
	return NULL;
}

const struct auth_challenge *auth_challenges_pick(const struct auth_challenges *c)
{
	if (!c)
		return NULL;
	const struct auth_challenge *ch = chal_find(c, "Bearer");
	return ch ? ch : chal_find(c, "Basic");
}

const char *auth_challenge_param(const struct auth_challenge *c, const char *key)
{
	if (!c || !key)
		return NULL;
	for (size_t i = 0; i < c->nparams; i++)
		if (strcasecmp(c->params[i].key, key) == 0)
			return c->params[i].value;
	return NULL;
}

void auth_challenges_release(struct auth_challenges *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		struct auth_challenge *ch = &c->v[i];
		for (size_t j = 0; j < ch->nparams; j++) {
			free(ch->params[j].key);
			free(ch->params[j].value);
		}
		free(ch->params);
		free(ch->scheme);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}
