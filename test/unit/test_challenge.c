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

// ---- the shapes registries send ----

static void test_docker_hub(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok(
		"Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
		"scope=\"repository:library/busybox:pull\"");
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0].scheme, "Bearer");
	assert_int_equal(c.v[0].nparams, 3);
	assert_string_equal(c.v[0].params[0].key, "realm");
	assert_string_equal(c.v[0].params[1].key, "service");
	assert_string_equal(c.v[0].params[2].key, "scope");
	assert_param(&c.v[0], "realm", "https://auth.docker.io/token");
	assert_param(&c.v[0], "service", "registry.docker.io");
	assert_param(&c.v[0], "scope", "repository:library/busybox:pull");
	assert_ptr_equal(auth_challenges_pick(&c), &c.v[0]);
	auth_challenges_release(&c);
}

static void test_nvcr_no_service(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok(
		"Bearer realm=\"https://nvcr.io/proxy_auth\",scope=\"repository:nvidia/pytorch:pull,push\"");
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].nparams, 2);
	assert_param(&c.v[0], "realm", "https://nvcr.io/proxy_auth");
	assert_param(&c.v[0], "scope", "repository:nvidia/pytorch:pull,push");
	assert_null(auth_challenge_param(&c.v[0], "service"));
	auth_challenges_release(&c);
}

static void test_basic_harbor(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok("Basic realm=\"harbor\"");
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0].scheme, "Basic");
	assert_int_equal(c.v[0].nparams, 1);
	assert_param(&c.v[0], "realm", "harbor");
	assert_ptr_equal(auth_challenges_pick(&c), &c.v[0]);
	auth_challenges_release(&c);
}

static void test_acr(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok(
		"Bearer realm=\"https://x.azurecr.io/oauth2/token\",service=\"x.azurecr.io\"");
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].nparams, 2);
	assert_param(&c.v[0], "realm", "https://x.azurecr.io/oauth2/token");
	assert_param(&c.v[0], "service", "x.azurecr.io");
	assert_null(auth_challenge_param(&c.v[0], "scope"));
	auth_challenges_release(&c);
}

static void test_error_param(void **state)
{
	(void)state;
	struct auth_challenges c =
		parse_ok("Bearer realm=\"https://authn.nvidia.com/token\",error=\"invalid_token\"");
	assert_int_equal(c.n, 1);
	assert_param(&c.v[0], "realm", "https://authn.nvidia.com/token");
	assert_param(&c.v[0], "error", "invalid_token");
	auth_challenges_release(&c);
}

static void test_two_challenges_one_line(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok("Basic realm=\"a\", Bearer realm=\"b\",service=\"c\"");
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[0].scheme, "Basic");
	assert_int_equal(c.v[0].nparams, 1);
	assert_param(&c.v[0], "realm", "a");
	assert_string_equal(c.v[1].scheme, "Bearer");
	assert_int_equal(c.v[1].nparams, 2);
	assert_param(&c.v[1], "realm", "b");
	assert_param(&c.v[1], "service", "c");
	assert_ptr_equal(auth_challenges_pick(&c), &c.v[1]);
	auth_challenges_release(&c);
}

static void test_three_challenges_mixed(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok(
		"Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"");
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[0].scheme, "Newauth");
	assert_int_equal(c.v[0].nparams, 3);
	assert_param(&c.v[0], "realm", "apps");
	assert_param(&c.v[0], "type", "1");
	assert_param(&c.v[0], "title", "Login to \"apps\"");
	assert_string_equal(c.v[1].scheme, "Basic");
	assert_param(&c.v[1], "realm", "simple");
	assert_ptr_equal(auth_challenges_pick(&c), &c.v[1]);
	auth_challenges_release(&c);
}

static void test_negotiate(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok("Negotiate");
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0].scheme, "Negotiate");
	assert_int_equal(c.v[0].nparams, 0);
	assert_null(auth_challenges_pick(&c));
	auth_challenges_release(&c);

	c = parse_ok("Negotiate abc123==");
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0].scheme, "Negotiate");
	assert_int_equal(c.v[0].nparams, 0);
	auth_challenges_release(&c);

	// Every token68 character, no padding, trailing whitespace.
	c = parse_ok("Negotiate aZ09-._~+/ \t");
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].nparams, 0);
	auth_challenges_release(&c);

	// token68 then further challenges.
	c = parse_ok("Negotiate abc=, NTLM, Bearer realm=\"r\"");
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0].scheme, "Negotiate");
	assert_string_equal(c.v[1].scheme, "NTLM");
	assert_int_equal(c.v[1].nparams, 0);
	assert_string_equal(c.v[2].scheme, "Bearer");
	assert_param(&c.v[2], "realm", "r");
	assert_ptr_equal(auth_challenges_pick(&c), &c.v[2]);
	auth_challenges_release(&c);
}

// "realm=" matches token68 and not auth-param (which needs a value), so RFC 7235
// reads "Bearer realm=" as a Bearer challenge carrying a token68: no params.
static void test_token68_looks_like_param(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok("Bearer realm=");
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].nparams, 0);
	assert_null(auth_challenge_param(&c.v[0], "realm"));
	auth_challenges_release(&c);

	// Likewise a lone word after the scheme is a token68.
	c = parse_ok("Bearer realm");
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].nparams, 0);
	auth_challenges_release(&c);
}

static void test_lone_scheme_at_end(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok("Bearer realm=\"x\", Basic");
	assert_int_equal(c.n, 2);
	assert_int_equal(c.v[0].nparams, 1);
	assert_string_equal(c.v[1].scheme, "Basic");
	assert_int_equal(c.v[1].nparams, 0);
	auth_challenges_release(&c);
}

static void test_unquoted_values(void **state)
{
	(void)state;
	// ':' and '/' are not tchars: an unquoted URL is not a token.
	expect_fail("Bearer realm=https://auth.example/token");

	struct auth_challenges c = parse_ok("Bearer realm=harbor,service=registry.example,x=!#$%&'*+-.^_`|~09");
	assert_int_equal(c.v[0].nparams, 3);
	assert_param(&c.v[0], "realm", "harbor");
	assert_param(&c.v[0], "service", "registry.example");
	assert_param(&c.v[0], "x", "!#$%&'*+-.^_`|~09");
	auth_challenges_release(&c);
}

static void test_case_insensitive(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok("BEARER REALM=\"R\",Service=\"S\"");
	assert_int_equal(c.n, 1);
	// Kept as received.
	assert_string_equal(c.v[0].scheme, "BEARER");
	assert_string_equal(c.v[0].params[0].key, "REALM");
	// Looked up regardless of case.
	assert_param(&c.v[0], "realm", "R");
	assert_param(&c.v[0], "SERVICE", "S");
	assert_param(&c.v[0], "sErViCe", "S");
	assert_ptr_equal(auth_challenges_pick(&c), &c.v[0]);
	auth_challenges_release(&c);

	c = parse_ok("bAsIc realm=x");
	assert_ptr_equal(auth_challenges_pick(&c), &c.v[0]);
	auth_challenges_release(&c);
}

static void test_escapes(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok("Bearer realm=\"a\\\"b\\\\c\\d\\,\", x=\"\\\"\"");
	assert_param(&c.v[0], "realm", "a\"b\\cd,");
	assert_param(&c.v[0], "x", "\"");
	auth_challenges_release(&c);

	// An escaped quote does not end the string; the comma after it is inside.
	c = parse_ok("Bearer realm=\"x\\\", Basic realm=\\\"y\", service=z");
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].nparams, 2);
	assert_param(&c.v[0], "realm", "x\", Basic realm=\"y");
	assert_param(&c.v[0], "service", "z");
	auth_challenges_release(&c);

	// Escaped space and tab are quoted-pairs too.
	c = parse_ok("Bearer realm=\"a\\ b\\\tc\"");
	assert_param(&c.v[0], "realm", "a b\tc");
	auth_challenges_release(&c);
}

static void test_bws_and_ows(void **state)
{
	(void)state;
	struct auth_challenges c =
		parse_ok("  Bearer   realm = \"r\" ,\tservice\t=\ts ,  scope= \"p\"  ");
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].nparams, 3);
	assert_param(&c.v[0], "realm", "r");
	assert_param(&c.v[0], "service", "s");
	assert_param(&c.v[0], "scope", "p");
	auth_challenges_release(&c);

	c = parse_ok("Bearer\trealm=\"r\"");
	assert_param(&c.v[0], "realm", "r");
	auth_challenges_release(&c);
}

static void test_commas_in_quoted(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok(
		"Bearer realm=\"https://a/t\",scope=\"repository:a/b:pull,push repository:c/d:pull\","
		"service=\"a, Basic realm=b\"");
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].nparams, 3);
	assert_param(&c.v[0], "scope", "repository:a/b:pull,push repository:c/d:pull");
	assert_param(&c.v[0], "service", "a, Basic realm=b");
	auth_challenges_release(&c);
}

static void test_empty_elements(void **state)
{
	(void)state;
	struct auth_challenges c =
		parse_ok(",, Basic realm=\"a\" ,, , Bearer realm=\"b\",,service=\"c\" , ,");
	assert_int_equal(c.n, 2);
	assert_int_equal(c.v[0].nparams, 1);
	assert_int_equal(c.v[1].nparams, 2);
	assert_param(&c.v[1], "service", "c");
	auth_challenges_release(&c);

	// RFC 7235's #auth-param may start with empty elements: "Bearer , realm=x".
	c = parse_ok("Bearer , realm=\"x\"");
	assert_int_equal(c.n, 1);
	assert_param(&c.v[0], "realm", "x");
	auth_challenges_release(&c);
}

static void test_empty_and_odd_values(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok("Bearer realm=\"\",service=\"\"");
	assert_param(&c.v[0], "realm", "");
	assert_param(&c.v[0], "service", "");
	auth_challenges_release(&c);

	// obs-text (UTF-8 here) is allowed in quoted strings and kept as bytes.
	c = parse_ok("Basic realm=\"r\xc3\xa9gion\", charset=\"UTF-8\"");
	assert_param(&c.v[0], "realm", "r\xc3\xa9gion");
	assert_param(&c.v[0], "charset", "UTF-8");
	auth_challenges_release(&c);
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

static void test_pick(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok("Bearer realm=a, Basic realm=b");
	assert_ptr_equal(auth_challenges_pick(&c), &c.v[0]);
	auth_challenges_release(&c);

	c = parse_ok("Digest realm=a, Basic realm=b, bearer realm=c, Bearer realm=d");
	assert_ptr_equal(auth_challenges_pick(&c), &c.v[2]);
	auth_challenges_release(&c);

	c = parse_ok("Digest realm=a, basic realm=b");
	assert_ptr_equal(auth_challenges_pick(&c), &c.v[1]);
	auth_challenges_release(&c);

	// Near misses are other schemes.
	c = parse_ok("Bearerx realm=a, Basi realm=b, Digest realm=c");
	assert_null(auth_challenges_pick(&c));
	auth_challenges_release(&c);

	struct auth_challenges empty = { 0 };
	assert_null(auth_challenges_pick(&empty));
	assert_null(auth_challenges_pick(NULL));
}

static void test_param_lookup(void **state)
{
	(void)state;
	struct auth_challenges c = parse_ok("Bearer realm=a");
	assert_null(auth_challenge_param(&c.v[0], "realmx"));
	assert_null(auth_challenge_param(&c.v[0], "real"));
	assert_null(auth_challenge_param(&c.v[0], ""));
	assert_null(auth_challenge_param(&c.v[0], NULL));
	assert_null(auth_challenge_param(NULL, "realm"));
	auth_challenges_release(&c);
}

// ---- malformed input ----

static void test_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		// no challenge at all
		"",
		"   ",
		",,,",
		" , \t, ",
		// missing or bad scheme
		"\"Bearer\"",
		"=x",
		"realm=\"x\"",
		"realm = \"x\", Bearer",
		"Bearer=\"x\"",
		"@Bearer realm=x",
		"Bearer(x) realm=x",
		// unterminated quoted string
		"Bearer realm=\"x",
		"Bearer realm=\"x\\\"",
		"Bearer realm=\"x\\",
		"Bearer realm=\"",
		"Bearer realm=\"a\",service=\"b",
		// '=' with no value, or a bad value
		"Bearer realm=\"a\",service=",
		"Bearer realm=\"a\",service= ",
		"Bearer realm=\"a\", service= ,x=y",
		"Bearer realm=\"a\",service=,",
		"Bearer realm==\"x\"",
		"Bearer realm=@",
		"Bearer realm=https://a/t",
		"Bearer realm= \"a\" \"b\"",
		// token68 that goes on, or params after a token68
		"Negotiate abc== def",
		"Negotiate abc==, realm=\"x\"",
		"Bearer realm=, service=\"x\"",
		"Negotiate =abc",
		// junk between or after elements
		"Bearer realm=\"a\" service=\"b\"",
		"Bearer realm=\"a\"x",
		"Bearer realm=a b",
		"Bearer realm=\"a\";service=b",
		"Bearer realm=\"a\",,\"b\"",
		"Bearer \"x\"",
		"Bearer realm, service=x",
		"Basic realm=\"a\", Bearer realm=\"b\" x",
		// control characters, in and out of quotes
		"Bearer realm=\"a\x01\"",
		"Bearer realm=\"a\nb\"",
		"Bearer realm=\"a\rb\"",
		"Bearer realm=\"a\x7f\"",
		"Bearer realm=\"a\\\x01\"",
		"Bearer realm=\"a\"\r\n",
		"Bearer\x01 realm=a",
		"Bearer realm=a\x1b[31m",
		"\x7f",
		// duplicates (RFC 7235 2.1), case-insensitively
		"Bearer realm=\"a\",realm=\"b\"",
		"Bearer realm=\"a\",service=s,REALM=\"b\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_fail(bad[i]);
	expect_fail(NULL);
}

static void test_messages(void **state)
{
	(void)state;
	struct auth_challenges c = { 0 };
	struct err e = { 0 };

	assert_int_equal(auth_challenge_parse(&c, "Bearer realm=\"x", &e), -1);
	assert_non_null(strstr(e.msg, "unterminated"));
	assert_int_equal(auth_challenge_parse(&c, "realm=\"x\"", &e), -1);
	assert_non_null(strstr(e.msg, "scheme"));
	assert_int_equal(auth_challenge_parse(&c, "Bearer realm=\"a\",service=", &e), -1);
	assert_non_null(strstr(e.msg, "no value"));
	assert_int_equal(auth_challenge_parse(&c, "Bearer realm=\"a\x01\"", &e), -1);
	assert_non_null(strstr(e.msg, "control"));
	assert_null(strchr(e.msg, '\x01'));
	assert_int_equal(auth_challenge_parse(&c, "Bearer realm=\"a\",Realm=\"b\"", &e), -1);
	assert_non_null(strstr(e.msg, "duplicate"));
	assert_int_equal(c.n, 0);
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
		cmocka_unit_test(test_docker_hub),
		cmocka_unit_test(test_nvcr_no_service),
		cmocka_unit_test(test_basic_harbor),
		cmocka_unit_test(test_acr),
		cmocka_unit_test(test_error_param),
		cmocka_unit_test(test_two_challenges_one_line),
		cmocka_unit_test(test_three_challenges_mixed),
		cmocka_unit_test(test_negotiate),
		cmocka_unit_test(test_token68_looks_like_param),
		cmocka_unit_test(test_lone_scheme_at_end),
		cmocka_unit_test(test_unquoted_values),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_bws_and_ows),
		cmocka_unit_test(test_commas_in_quoted),
		cmocka_unit_test(test_empty_elements),
		cmocka_unit_test(test_empty_and_odd_values),
		cmocka_unit_test(test_several_lines_append),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_param_lookup),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_message_not_echoed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
