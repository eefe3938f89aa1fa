// SPDX-License-Identifier: Apache-2.0
// WWW-Authenticate parsing: the challenge shapes real registries send, the RFC 7235
// corners, malformed input, a generated round trip and a deterministic fuzz loop.
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "auth/challenge.h"
#include "util/mem.h"

// ---- helpers ----

static struct auth_challenges parse_ok(const char *value)
{
	struct auth_challenges c = { 0 };
	struct err e = { 0 };
	int r = auth_challenge_parse(&c, value, &e);
	if (r != 0)
		fail_msg("parse of [%s] failed: %s", value, e.msg);
	assert_int_equal(e.cls, ERR_NONE);
	return c;
}

// The error contract: ERR_AUTH, one non-empty line, no control bytes, and no
// run of more than 64 characters of the input copied into the message.
static void check_err_msg(const struct err *e, const char *value, size_t vlen)
{
	assert_int_equal(e->cls, ERR_AUTH);
	size_t mlen = strlen(e->msg);
	assert_true(mlen > 0);
	for (size_t i = 0; i < mlen; i++) {
		unsigned char c = (unsigned char)e->msg[i];
		assert_true(c >= 0x20 && c != 0x7f);
	}
	if (value && vlen > 64)
		for (size_t i = 0; i + 65 <= vlen; i++)
			assert_null(memmem(e->msg, mlen, value + i, 65));
}

static void expect_fail(const char *value)
{
	struct auth_challenges c = { 0 };
	struct err e = { 0 };
	int r = auth_challenge_parse(&c, value, &e);
	if (r != -1)
		fail_msg("parse of [%s] unexpectedly succeeded", value);
	check_err_msg(&e, value, value ? strlen(value) : 0);
	// Nothing is appended on failure.
	assert_int_equal(c.n, 0);
	assert_null(c.v);
	auth_challenges_release(&c);
}

static void assert_param(const struct auth_challenge *ch, const char *key, const char *value)
{
	const char *v = auth_challenge_param(ch, key);
	if (!v)
		fail_msg("param %s missing", key);
	assert_string_equal(v, value);
}

// ---- what parses: one row an input, walked by one loop ----

enum { NO_PICK = -1 };

struct want_param {
	const char *key, *value;
};

struct want_challenge {
	const char *scheme;	    // NULL: no more challenges
	struct want_param p[4];	    // every param, in order, key as received; ends at a NULL key
};

struct ok_case {
	const char *in;
	int pick;		    // the index auth_challenges_pick gives, or NO_PICK (NULL)
	struct want_challenge v[5];
	struct want_param lookup[4]; // auth_challenge_param on v[0] (any case) finds these
	const char *absent[4];	    // and does not find these
};

static const struct ok_case OK_CASES[] = {
	// the shapes registries send
	{ .in = "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
	  "scope=\"repository:library/busybox:pull\"",
	  .pick = 0,
	  .v = { { "Bearer",
	      { { "realm", "https://auth.docker.io/token" },
		{ "service", "registry.docker.io" },
		{ "scope", "repository:library/busybox:pull" } } } } },
	{ .in = "Bearer realm=\"https://nvcr.io/proxy_auth\",scope=\"repository:nvidia/pytorch:pull,push\"",
	  .pick = 0,
	  .v = { { "Bearer",
	      { { "realm", "https://nvcr.io/proxy_auth" }, { "scope", "repository:nvidia/pytorch:pull,push" } } } },
	  .absent = { "service" } },
	{ .in = "Basic realm=\"harbor\"",
	  .pick = 0,
	  .v = { { "Basic", { { "realm", "harbor" } } } } },
	{ .in = "Bearer realm=\"https://x.azurecr.io/oauth2/token\",service=\"x.azurecr.io\"",
	  .pick = 0,
	  .v = { { "Bearer", { { "realm", "https://x.azurecr.io/oauth2/token" }, { "service", "x.azurecr.io" } } } },
	  .absent = { "scope" } },
	{ .in = "Bearer realm=\"https://authn.nvidia.com/token\",error=\"invalid_token\"",
	  .pick = 0,
	  .v = { { "Bearer", { { "realm", "https://authn.nvidia.com/token" }, { "error", "invalid_token" } } } } },
	// several challenges in one line
	{ .in = "Basic realm=\"a\", Bearer realm=\"b\",service=\"c\"",
	  .pick = 1,
	  .v = { { "Basic", { { "realm", "a" } } }, { "Bearer", { { "realm", "b" }, { "service", "c" } } } } },
	{ .in = "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"",
	  .pick = 1,
	  .v = { { "Newauth", { { "realm", "apps" }, { "type", "1" }, { "title", "Login to \"apps\"" } } },
	    { "Basic", { { "realm", "simple" } } } } },
	// token68 and bare schemes
	{ .in = "Negotiate",
	  .pick = NO_PICK,
	  .v = { { .scheme = "Negotiate" } } },
	{ .in = "Negotiate abc123==",
	  .pick = NO_PICK,
	  .v = { { .scheme = "Negotiate" } } },
	// every token68 character, no padding, trailing whitespace
	{ .in = "Negotiate aZ09-._~+/ \t",
	  .pick = NO_PICK,
	  .v = { { .scheme = "Negotiate" } } },
	// token68 then further challenges
	{ .in = "Negotiate abc=, NTLM, Bearer realm=\"r\"",
	  .pick = 2,
	  .v = { { .scheme = "Negotiate" }, { .scheme = "NTLM" }, { "Bearer", { { "realm", "r" } } } } },
	// "realm=" matches token68 and not auth-param (which needs a value), so RFC 7235
	// reads "Bearer realm=" as a Bearer challenge carrying a token68: no params.
	{ .in = "Bearer realm=",
	  .pick = 0,
	  .v = { { .scheme = "Bearer" } }, .absent = { "realm" } },
	// likewise a lone word after the scheme is a token68
	{ .in = "Bearer realm",
	  .pick = 0,
	  .v = { { .scheme = "Bearer" } } },
	{ .in = "Bearer realm=\"x\", Basic",
	  .pick = 0,
	  .v = { { "Bearer", { { "realm", "x" } } }, { .scheme = "Basic" } } },
	// unquoted values: tokens (':' and '/' are not tchars: see the malformed rows)
	{ .in = "Bearer realm=harbor,service=registry.example,x=!#$%&'*+-.^_`|~09",
	  .pick = 0,
	  .v = { { "Bearer",
	      { { "realm", "harbor" }, { "service", "registry.example" }, { "x", "!#$%&'*+-.^_`|~09" } } } } },
	// kept as received, looked up regardless of case
	{ .in = "BEARER REALM=\"R\",Service=\"S\"",
	  .pick = 0,
	  .v = { { "BEARER", { { "REALM", "R" }, { "Service", "S" } } } },
	  .lookup = { { "realm", "R" }, { "SERVICE", "S" }, { "sErViCe", "S" } } },
	{ .in = "bAsIc realm=x",
	  .pick = 0,
	  .v = { { "bAsIc", { { "realm", "x" } } } } },
	// escapes
	{ .in = "Bearer realm=\"a\\\"b\\\\c\\d\\,\", x=\"\\\"\"",
	  .pick = 0,
	  .v = { { "Bearer", { { "realm", "a\"b\\cd," }, { "x", "\"" } } } } },
	// an escaped quote does not end the string; the comma after it is inside
	{ .in = "Bearer realm=\"x\\\", Basic realm=\\\"y\", service=z",
	  .pick = 0,
	  .v = { { "Bearer", { { "realm", "x\", Basic realm=\"y" }, { "service", "z" } } } } },
	// escaped space and tab are quoted-pairs too
	{ .in = "Bearer realm=\"a\\ b\\\tc\"",
	  .pick = 0,
	  .v = { { "Bearer", { { "realm", "a b\tc" } } } } },
	// BWS and OWS
	{ .in = "  Bearer   realm = \"r\" ,\tservice\t=\ts ,  scope= \"p\"  ",
	  .pick = 0,
	  .v = { { "Bearer", { { "realm", "r" }, { "service", "s" }, { "scope", "p" } } } } },
	{ .in = "Bearer\trealm=\"r\"",
	  .pick = 0,
	  .v = { { "Bearer", { { "realm", "r" } } } } },
	// commas inside quoted strings
	{ .in = "Bearer realm=\"https://a/t\",scope=\"repository:a/b:pull,push repository:c/d:pull\","
	  "service=\"a, Basic realm=b\"",
	  .pick = 0,
	  .v = { { "Bearer",
	      { { "realm", "https://a/t" },
		{ "scope", "repository:a/b:pull,push repository:c/d:pull" },
		{ "service", "a, Basic realm=b" } } } } },
	// empty list elements
	{ .in = ",, Basic realm=\"a\" ,, , Bearer realm=\"b\",,service=\"c\" , ,",
	  .pick = 1,
	  .v = { { "Basic", { { "realm", "a" } } }, { "Bearer", { { "realm", "b" }, { "service", "c" } } } } },
	// RFC 7235's #auth-param may start with empty elements: "Bearer , realm=x"
	{ .in = "Bearer , realm=\"x\"",
	  .pick = 0,
	  .v = { { "Bearer", { { "realm", "x" } } } } },
	// empty values
	{ .in = "Bearer realm=\"\",service=\"\"",
	  .pick = 0,
	  .v = { { "Bearer", { { "realm", "" }, { "service", "" } } } } },
	// obs-text (UTF-8 here) is allowed in quoted strings and kept as bytes
	{ .in = "Basic realm=\"r\xc3\xa9gion\", charset=\"UTF-8\"",
	  .pick = 0,
	  .v = { { "Basic", { { "realm", "r\xc3\xa9gion" }, { "charset", "UTF-8" } } } } },
	// pick: the first Bearer, else the first Basic, any case
	{ .in = "Bearer realm=a, Basic realm=b",
	  .pick = 0,
	  .v = { { "Bearer", { { "realm", "a" } } }, { "Basic", { { "realm", "b" } } } } },
	{ .in = "Digest realm=a, Basic realm=b, bearer realm=c, Bearer realm=d",
	  .pick = 2,
	  .v = { { "Digest", { { "realm", "a" } } },
	    { "Basic", { { "realm", "b" } } },
	    { "bearer", { { "realm", "c" } } },
	    { "Bearer", { { "realm", "d" } } } } },
	{ .in = "Digest realm=a, basic realm=b",
	  .pick = 1,
	  .v = { { "Digest", { { "realm", "a" } } }, { "basic", { { "realm", "b" } } } } },
	// near misses are other schemes
	{ .in = "Bearerx realm=a, Basi realm=b, Digest realm=c",
	  .pick = NO_PICK,
	  .v = { { "Bearerx", { { "realm", "a" } } }, { "Basi", { { "realm", "b" } } }, { "Digest", { { "realm", "c" } } } } },
	// a lookup matches whole names only
	{ .in = "Bearer realm=a",
	  .pick = 0,
	  .v = { { "Bearer", { { "realm", "a" } } } }, .absent = { "realmx", "real", "" } },
};

static void check_ok_case(const struct ok_case *k)
{
	struct auth_challenges c = parse_ok(k->in);
	size_t n = 0;
	while (n < sizeof(k->v) / sizeof(k->v[0]) && k->v[n].scheme)
		n++;
	if (c.n != n)
		fail_msg("[%s]: %zu challenges, expected %zu", k->in, c.n, n);
	for (size_t i = 0; i < n; i++) {
		const struct want_challenge *w = &k->v[i];
		assert_string_equal(c.v[i].scheme, w->scheme);
		size_t np = 0;
		for (; np < sizeof(w->p) / sizeof(w->p[0]) && w->p[np].key; np++) {
			if (np >= c.v[i].nparams)
				fail_msg("[%s]: challenge %zu lacks param %s", k->in, i, w->p[np].key);
			assert_string_equal(c.v[i].params[np].key, w->p[np].key);
			assert_string_equal(c.v[i].params[np].value, w->p[np].value);
			assert_param(&c.v[i], w->p[np].key, w->p[np].value);
		}
		if (c.v[i].nparams != np)
			fail_msg("[%s]: challenge %zu has %zu params, expected %zu", k->in, i, c.v[i].nparams, np);
	}
	for (size_t j = 0; j < sizeof(k->lookup) / sizeof(k->lookup[0]) && k->lookup[j].key; j++)
		assert_param(&c.v[0], k->lookup[j].key, k->lookup[j].value);
	for (size_t j = 0; j < sizeof(k->absent) / sizeof(k->absent[0]) && k->absent[j]; j++)
		assert_null(auth_challenge_param(&c.v[0], k->absent[j]));
	if (k->pick == NO_PICK)
		assert_null(auth_challenges_pick(&c));
	else
		assert_ptr_equal(auth_challenges_pick(&c), &c.v[k->pick]);
	auth_challenges_release(&c);
}

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(OK_CASES) / sizeof(OK_CASES[0]); i++)
		check_ok_case(&OK_CASES[i]);
}

static void test_several_lines_append(void **state)
{
	(void)state;
	struct auth_challenges c = { 0 };
	struct err e = { 0 };
	assert_int_equal(auth_challenge_parse(&c, "Basic realm=\"harbor\"", &e), 0);
	assert_int_equal(auth_challenge_parse(&c, "Negotiate", &e), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(auth_challenges_pick(&c)->scheme, "Basic");
	assert_int_equal(auth_challenge_parse(&c, "Bearer realm=\"https://r/t\",service=\"s\"", &e), 0);
	assert_int_equal(c.n, 3);
	const struct auth_challenge *ch = auth_challenges_pick(&c);
	assert_ptr_equal(ch, &c.v[2]);
	assert_param(ch, "realm", "https://r/t");

	// A bad line leaves what the good lines gave untouched.
	assert_int_equal(auth_challenge_parse(&c, "Bearer realm=\"oops", &e), -1);
	assert_int_equal(e.cls, ERR_AUTH);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0].scheme, "Basic");
	assert_string_equal(c.v[2].scheme, "Bearer");
	assert_param(&c.v[2], "service", "s");
	auth_challenges_release(&c);
	assert_int_equal(c.n, 0);
	assert_null(c.v);
	// Release is idempotent and accepts NULL.
	auth_challenges_release(&c);
	auth_challenges_release(NULL);
}

// Lookups and picks on nothing: no challenges, NULL arguments.
static void test_null_arguments(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok("Bearer realm=a");
	assert_null(auth_challenge_param(&c.v[0], NULL));
	assert_null(auth_challenge_param(NULL, "realm"));
	auth_challenges_release(&c);

	struct auth_challenges empty = { 0 };
	assert_null(auth_challenges_pick(&empty));
	assert_null(auth_challenges_pick(NULL));
}

// ---- malformed input: one row an input (and a word its message must hold) ----

struct bad_case {
	const char *in;
	const char *msg; // NULL: any message (the contract of check_err_msg holds)
};

static const struct bad_case BAD_CASES[] = {
	// no challenge at all
	{ "", NULL },
	{ "   ", NULL },
	{ ",,,", NULL },
	{ " , \t, ", NULL },
	// missing or bad scheme
	{ "\"Bearer\"", NULL },
	{ "=x", NULL },
	{ "realm=\"x\"", "scheme" },
	{ "realm = \"x\", Bearer", NULL },
	{ "Bearer=\"x\"", NULL },
	{ "@Bearer realm=x", NULL },
	{ "Bearer(x) realm=x", NULL },
	// unterminated quoted string
	{ "Bearer realm=\"x", "unterminated" },
	{ "Bearer realm=\"x\\\"", NULL },
	{ "Bearer realm=\"x\\", NULL },
	{ "Bearer realm=\"", NULL },
	{ "Bearer realm=\"a\",service=\"b", NULL },
	// '=' with no value, or a bad value
	{ "Bearer realm=\"a\",service=", "no value" },
	{ "Bearer realm=\"a\",service= ", NULL },
	{ "Bearer realm=\"a\", service= ,x=y", NULL },
	{ "Bearer realm=\"a\",service=,", NULL },
	{ "Bearer realm==\"x\"", NULL },
	{ "Bearer realm=@", NULL },
	// ':' and '/' are not tchars: an unquoted URL is not a token
	{ "Bearer realm=https://a/t", NULL },
	{ "Bearer realm=https://auth.example/token", NULL },
	{ "Bearer realm= \"a\" \"b\"", NULL },
	// token68 that goes on, or params after a token68
	{ "Negotiate abc== def", NULL },
	{ "Negotiate abc==, realm=\"x\"", NULL },
	{ "Bearer realm=, service=\"x\"", NULL },
	{ "Negotiate =abc", NULL },
	// junk between or after elements
	{ "Bearer realm=\"a\" service=\"b\"", NULL },
	{ "Bearer realm=\"a\"x", NULL },
	{ "Bearer realm=a b", NULL },
	{ "Bearer realm=\"a\";service=b", NULL },
	{ "Bearer realm=\"a\",,\"b\"", NULL },
	{ "Bearer \"x\"", NULL },
	{ "Bearer realm, service=x", NULL },
	{ "Basic realm=\"a\", Bearer realm=\"b\" x", NULL },
	// control characters, in and out of quotes (the message holds none: check_err_msg)
	{ "Bearer realm=\"a\x01\"", "control" },
	{ "Bearer realm=\"a\nb\"", NULL },
	{ "Bearer realm=\"a\rb\"", NULL },
	{ "Bearer realm=\"a\x7f\"", NULL },
	{ "Bearer realm=\"a\\\x01\"", NULL },
	{ "Bearer realm=\"a\"\r\n", NULL },
	{ "Bearer\x01 realm=a", NULL },
	{ "Bearer realm=a\x1b[31m", NULL },
	{ "\x7f", NULL },
	// duplicates (RFC 7235 2.1), case-insensitively
	{ "Bearer realm=\"a\",realm=\"b\"", NULL },
	{ "Bearer realm=\"a\",Realm=\"b\"", "duplicate" },
	{ "Bearer realm=\"a\",service=s,REALM=\"b\"", NULL },
};

static void test_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(BAD_CASES) / sizeof(BAD_CASES[0]); i++) {
		const struct bad_case *k = &BAD_CASES[i];
		struct auth_challenges c = { 0 };
		struct err e = { 0 };
		expect_fail(k->in);
		if (!k->msg)
			continue;
		assert_int_equal(auth_challenge_parse(&c, k->in, &e), -1);
		if (!strstr(e.msg, k->msg))
			fail_msg("[%s]: message \"%s\" lacks \"%s\"", k->in, e.msg, k->msg);
		assert_int_equal(c.n, 0);
	}
	expect_fail(NULL);
}

// Long malformed headers with the fault at the start, middle and end: the
// message quotes at most 64 characters of them.
static void test_message_not_echoed(void **state)
{
	(void)state;
	enum { N = 2000 };
	char *v = xmalloc(N + 64);
	// A non-repeating-looking fill, so a copied run of 65 would be unmistakable.
	for (size_t i = 0; i < N; i++)
		v[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[(i * 7 + i / 62) % 62];

	static const char *const shapes[] = { "Bearer realm=\"", "Bearer realm=\"x\" ", "Bearer realm=",
					      "Bearer ", "\"" };
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		size_t pl = strlen(shapes[s]);
		char *w = xmalloc(N + pl + 2);
		memcpy(w, shapes[s], pl);
		memcpy(w + pl, v, N);
		w[pl + N] = '\0';
		struct auth_challenges c = { 0 };
		struct err e = { 0 };
		int r = auth_challenge_parse(&c, w, &e);
		if (r == 0) {
			auth_challenges_release(&c);
		} else {
			check_err_msg(&e, w, strlen(w));
		}
		free(w);
	}
	// A fault only at the very end of a long, otherwise valid header.
	char *w = xmalloc(N + 64);
	memcpy(w, "Bearer realm=\"", 14);
	memcpy(w + 14, v, N);
	memcpy(w + 14 + N, "\",x=", 5);
	expect_fail(w);
	free(w);
	free(v);
}

// ---- limits ----

static char *make_challenges(size_t n)
{
	char *p = xmalloc(n * 32 + 1);
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		char *s = xasprintf("%sS%zu realm=\"r%zu\"", i ? ", " : "", i, i);
		size_t l = strlen(s);
		memcpy(p + len, s, l);
		len += l;
		free(s);
	}
	p[len] = '\0';
	return p;
}

static char *make_params(size_t n)
{
	char *p = xmalloc(16 + n * 32);
	memcpy(p, "Bearer ", 7);
	size_t len = 7;
	for (size_t i = 0; i < n; i++) {
		char *s = xasprintf("%sk%zu=\"v,%zu\"", i ? "," : "", i, i);
		size_t l = strlen(s);
		memcpy(p + len, s, l);
		len += l;
		free(s);
	}
	p[len] = '\0';
	return p;
}

static void test_limits(void **state)
{
	(void)state;
	_cleanup_free_ char *c16 = make_challenges(16);
	_cleanup_free_ char *c17 = make_challenges(17);
	_cleanup_free_ char *p32 = make_params(32);
	_cleanup_free_ char *p33 = make_params(33);

	struct auth_challenges c = parse_ok(c16);
	assert_int_equal(c.n, 16);
	assert_param(&c.v[15], "realm", "r15");
	auth_challenges_release(&c);
	expect_fail(c17);

	c = parse_ok(p32);
	assert_int_equal(c.v[0].nparams, 32);
	assert_param(&c.v[0], "k31", "v,31");
	auth_challenges_release(&c);
	expect_fail(p33);

	// The challenge cap covers everything in out, over several header lines.
	_cleanup_free_ char *c10 = make_challenges(10);
	_cleanup_free_ char *c6 = make_challenges(6);
	_cleanup_free_ char *c7 = make_challenges(7);
	struct err e = { 0 };
	assert_int_equal(auth_challenge_parse(&c, c10, &e), 0);
	assert_int_equal(auth_challenge_parse(&c, c7, &e), -1);
	check_err_msg(&e, c7, strlen(c7));
	assert_int_equal(c.n, 10);
	assert_int_equal(auth_challenge_parse(&c, c6, &e), 0);
	assert_int_equal(c.n, 16);
	assert_int_equal(auth_challenge_parse(&c, "Bearer", &e), -1);
	assert_int_equal(c.n, 16);
	auth_challenges_release(&c);
}

// ---- generated round trip ----

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	// xorshift64*: deterministic across platforms, good enough to pick cases.
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static size_t rng_below(struct rng *r, size_t n)
{
	return (size_t)(rng_next(r) % n);
}

static const char TCHARS[] = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const char T68CHARS[] = "-._~+/0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_addc(struct sbuf *b, char c)
{
	if (b->len + 2 > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->p = xrealloc(b->p, b->cap);
	}
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

static void sb_adds(struct sbuf *b, const char *s)
{
	while (*s)
		sb_addc(b, *s++);
}

static void sb_ws(struct sbuf *b, struct rng *r, size_t min, size_t max)
{
	size_t n = min + rng_below(r, max - min + 1);
	for (size_t i = 0; i < n; i++)
		sb_addc(b, rng_below(r, 4) ? ' ' : '\t');
}

static char *rand_token(struct rng *r, const char *set, size_t setlen)
{
	size_t n = 1 + rng_below(r, 12);
	char *t = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		t[i] = set[rng_below(r, setlen)];
	t[n] = '\0';
	return t;
}

// Any byte a quoted-string may carry: HTAB, SP, VCHAR, obs-text.
static char *rand_value(struct rng *r)
{
	size_t n = rng_below(r, 24);
	char *v = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		size_t k = rng_below(r, 20);
		if (k == 0)
			v[i] = '"';
		else if (k == 1)
			v[i] = '\\';
		else if (k == 2)
			v[i] = ',';
		else if (k == 3)
			v[i] = '\t';
		else if (k == 4)
			v[i] = (char)(0x80 + rng_below(r, 0x80));
		else
			v[i] = (char)(0x20 + rng_below(r, 0x5f));
	}
	v[n] = '\0';
	return v;
}

static bool all_tchar(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!memchr(TCHARS, *s, sizeof(TCHARS) - 1))
			return false;
	return true;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct rng r = { 0x9E3779B97F4A7C15ULL };
	for (int iter = 0; iter < 2000; iter++) {
		struct auth_challenges want = { 0 };
		want.n = 1 + rng_below(&r, 5);
		want.v = xcalloc(want.n, sizeof(*want.v));
		struct sbuf b = { 0 };
		if (rng_below(&r, 4) == 0)
			sb_adds(&b, ", ");
		for (size_t i = 0; i < want.n; i++) {
			struct auth_challenge *ch = &want.v[i];
			ch->scheme = rand_token(&r, TCHARS, sizeof(TCHARS) - 1);
			if (i) {
				sb_ws(&b, &r, 0, 2);
				sb_addc(&b, ',');
				if (rng_below(&r, 5) == 0)
					sb_adds(&b, " ,,");
				sb_ws(&b, &r, 0, 2);
			}
			sb_adds(&b, ch->scheme);
			size_t kind = rng_below(&r, 6);
			if (kind == 0)
				continue; // bare scheme
			if (kind == 1) {
				// token68: no params
				char *t = rand_token(&r, T68CHARS, sizeof(T68CHARS) - 1);
				sb_ws(&b, &r, 1, 2);
				sb_adds(&b, t);
				for (size_t k = rng_below(&r, 3); k; k--)
					sb_addc(&b, '=');
				free(t);
				continue;
			}
			sb_ws(&b, &r, 1, 2);
			size_t np = 1 + rng_below(&r, 6);
			ch->params = xcalloc(np, sizeof(*ch->params));
			for (size_t j = 0; j < np; j++) {
				char *key;
				bool dup;
				do {
					key = rand_token(&r, TCHARS, sizeof(TCHARS) - 1);
					dup = false;
					for (size_t q = 0; q < j; q++)
						if (strcasecmp(ch->params[q].key, key) == 0)
							dup = true;
					if (dup)
						free(key);
				} while (dup);
				char *val = rand_value(&r);
				ch->params[j] = (struct auth_param){ .key = key, .value = val };
				ch->nparams = j + 1;
				if (j) {
					sb_ws(&b, &r, 0, 1);
					sb_addc(&b, ',');
					if (rng_below(&r, 8) == 0)
						sb_addc(&b, ',');
					sb_ws(&b, &r, 0, 1);
				}
				sb_adds(&b, key);
				sb_ws(&b, &r, 0, 1);
				sb_addc(&b, '=');
				sb_ws(&b, &r, 0, 1);
				if (all_tchar(val) && rng_below(&r, 2)) {
					sb_adds(&b, val);
				} else {
					sb_addc(&b, '"');
					for (const char *p = val; *p; p++) {
						if (*p == '"' || *p == '\\' || rng_below(&r, 10) == 0)
							sb_addc(&b, '\\');
						sb_addc(&b, *p);
					}
					sb_addc(&b, '"');
				}
			}
		}
		if (rng_below(&r, 4) == 0)
			sb_adds(&b, " ,");

		struct auth_challenges got = parse_ok(b.p);
		assert_int_equal(got.n, want.n);
		for (size_t i = 0; i < want.n; i++) {
			assert_string_equal(got.v[i].scheme, want.v[i].scheme);
			assert_int_equal(got.v[i].nparams, want.v[i].nparams);
			for (size_t j = 0; j < want.v[i].nparams; j++) {
				assert_string_equal(got.v[i].params[j].key, want.v[i].params[j].key);
				assert_string_equal(got.v[i].params[j].value, want.v[i].params[j].value);
			}
		}
		auth_challenges_release(&got);
		auth_challenges_release(&want);
		free(b.p);
	}
}

// ---- fuzz loop: only "no crash, no ASan report, contract holds" ----

static const char *const SEEDS[] = {
	"Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull\"",
	"Bearer realm=\"https://nvcr.io/proxy_auth\",scope=\"repository:nvidia/pytorch:pull,push\"",
	"Basic realm=\"harbor\"",
	"Basic realm=\"a\", Bearer realm=\"b\",service=\"c\"",
	"Negotiate abc123==, NTLM",
	"Bearer realm = \"a\\\"b\\\\c\" , error=invalid_token,,",
};

static void check_result(int r, const struct auth_challenges *c, size_t before,
			 const struct err *e, const char *in, size_t inlen)
{
	if (r == 0) {
		assert_true(c->n > before);
		assert_true(c->n <= 16);
		for (size_t i = 0; i < c->n; i++) {
			assert_non_null(c->v[i].scheme);
			assert_true(c->v[i].scheme[0] != '\0');
			assert_true(c->v[i].nparams <= 32);
			for (size_t j = 0; j < c->v[i].nparams; j++) {
				assert_true(c->v[i].params[j].key[0] != '\0');
				assert_non_null(c->v[i].params[j].value);
			}
		}
		const struct auth_challenge *p = auth_challenges_pick(c);
		if (p)
			(void)auth_challenge_param(p, "realm");
	} else {
		assert_int_equal(r, -1);
		assert_int_equal(c->n, before);
		check_err_msg(e, in, inlen);
	}
}

static void test_fuzz(void **state)
{
	(void)state;
	static const char ALPHA[] = "Bb=,\"\\ \t,==\"\"realm";
	struct rng r = { 20240601 };
	struct auth_challenges acc = { 0 };
	char buf[256];
	for (int iter = 0; iter < 6000; iter++) {
		size_t len;
		if (rng_below(&r, 3) == 0) {
			// Random bytes, biased towards the grammar's punctuation.
			len = rng_below(&r, 80);
			for (size_t i = 0; i < len; i++) {
				size_t k = rng_below(&r, 4);
				if (k == 0)
					buf[i] = (char)(1 + rng_below(&r, 255));
				else if (k == 1)
					buf[i] = TCHARS[rng_below(&r, sizeof(TCHARS) - 1)];
				else
					buf[i] = ALPHA[rng_below(&r, sizeof(ALPHA) - 1)];
			}
		} else {
			// Mutations of a real header.
			const char *seed = SEEDS[rng_below(&r, sizeof(SEEDS) / sizeof(SEEDS[0]))];
			len = strlen(seed);
			memcpy(buf, seed, len);
			for (size_t m = 1 + rng_below(&r, 4); m; m--) {
				size_t k = rng_below(&r, 5);
				size_t at = len ? rng_below(&r, len) : 0;
				if (k == 0 && len) {
					buf[at] = ALPHA[rng_below(&r, sizeof(ALPHA) - 1)];
				} else if (k == 1 && len < sizeof(buf) - 2) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = (char)(1 + rng_below(&r, 255));
					len++;
				} else if (k == 2 && len) {
					memmove(buf + at, buf + at + 1, len - at - 1);
					len--;
				} else if (k == 3) {
					len = at;
				} else if (len) {
					// Duplicate a chunk: repeats params and challenges.
					size_t n = 1 + rng_below(&r, 40);
					if (at + n > len)
						n = len - at;
					if (len + n < sizeof(buf) - 1) {
						memmove(buf + at + n, buf + at, len - at);
						len += n;
					}
				}
			}
		}
		buf[len] = '\0';

		struct err e = { 0 };
		struct auth_challenges c = { 0 };
		int ret = auth_challenge_parse(&c, buf, &e);
		check_result(ret, &c, 0, &e, buf, strlen(buf));
		auth_challenges_release(&c);

		// Also accumulate, as several header lines do, to reach the cap.
		size_t before = acc.n;
		ret = auth_challenge_parse(&acc, buf, &e);
		check_result(ret, &acc, before, &e, buf, strlen(buf));
		if (iter % 97 == 0)
			auth_challenges_release(&acc);
	}
	auth_challenges_release(&acc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_several_lines_append),
		cmocka_unit_test(test_null_arguments),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_message_not_echoed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
