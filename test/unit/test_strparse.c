// SPDX-License-Identifier: Apache-2.0
// util/strparse: hosts and ports as --plain-http and --connect-to take them
// (ports 1..65535 in decimal, IPv6 in brackets).
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/strparse.h"

static void test_port(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rc;
		unsigned port;
		size_t left;
	} cases[] = {
		{"1", 0, 1, 0},           {"80", 0, 80, 0},       {"65535", 0, 65535, 0}, {"05000", 0, 5000, 0},
		{"443:x", 0, 443, 2},     {"0", -1, 0, 1},        {"65536", -1, 0, 5},    {"99999", -1, 0, 5},
		{"100000", -1, 0, 6},     {"000080", -1, 0, 6},   {"-5", -1, 0, 2},       {"+5", -1, 0, 2},
		{"", -1, 0, 0},           {"x", -1, 0, 1},        {"18446744073709551617", -1, 0, 20},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strparse s;
		strparse_init_str(&s, cases[i].in);
		unsigned port = 0;
		int rc = strparse_port(&s, &port);
		if (rc != cases[i].rc || (rc == 0 && port != cases[i].port) || strparse_left(&s) != cases[i].left)
			fail_msg("strparse_port('%s'): rc %d port %u left %zu", cases[i].in, rc, port, strparse_left(&s));
	}
}

static void test_hostport(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		bool ok;
	} cases[] = {
		{"registry.example.com", true}, {"127.0.0.1:5000", true}, {"localhost:1", true},
		{"my_reg-1.local:65535", true}, {"[::1]", true},          {"[::1]:5000", true},
		{"[fe80::a:b]:443", true},      {"127.0.0.1:-5", false},  {"127.0.0.1:0", false},
		{"127.0.0.1:65536", false},     {"127.0.0.1:99999", false}, {"127.0.0.1:", false},
		{"127.0.0.1:5000x", false},     {"::1", false},           {"fe80::1", false},
		{"[::1", false},                {"[]:5000", false},       {"[::g]", false},
		{":5000", false},               {"", false},              {"http://127.0.0.1:1", false},
		{"127.0.0.1:1/v2", false},      {"a b", false},           {"user@host", false},
		{"host:1:2", false},            {"host?x", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strparse_hostport_valid(cases[i].in) != cases[i].ok)
			fail_msg("strparse_hostport_valid('%s') is not %d", cases[i].in, cases[i].ok);
}

static void test_connect_to(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		bool ok;
	} cases[] = {
		{"registry.example.com:443:127.0.0.1:5000", true},
		{"h:443:[::1]:5000", true},
		{"[2001:db8::1]:443:127.0.0.1:8443", true},
		{"::127.0.0.1:5000", true},   // any host, any port (curl)
		{"h:443::5000", true},        // the same host, port 5000
		{"h:443:127.0.0.1:", true},   // the same port
		{"h:65535:c:1", true},
		{"h:443:127.0.0.1:99999", false},
		{"h:99999:127.0.0.1:5000", false},
		{"h:0:c:5000", false},
		{"h:443:c:-5", false},
		{"h:-5:c:5000", false},
		{"h:443:c:5000:x", false},
		{"h:443:c", false},
		{"nonsense", false},
		{"a:1: b:2", false},
		{"h:443:c/x:1", false},
		{"h:443:[::1:5000", false},
		{"", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strparse_connect_to_valid(cases[i].in) != cases[i].ok)
			fail_msg("strparse_connect_to_valid('%s') is not %d", cases[i].in, cases[i].ok);
}

// strparse_quote: escapes, the cut, and hex digits (policy and hosts messages use it).
static void test_quote(void **state)
{
	(void)state;
	char out[4 * 8 + 4];
	assert_string_equal(strparse_quote(out, "a\"b\\c", 8), "a\\\"b\\\\c");
	assert_string_equal(strparse_quote(out, "\n\x7f\xc3", 8), "\\x0a\\x7f\\xc3");
	assert_string_equal(strparse_quote(out, "0123456789", 8), "01234567...");
	assert_string_equal(strparse_quote(out, "", 8), "");
	assert_int_equal(strparse_hexval('0'), 0);
	assert_int_equal(strparse_hexval('f'), 15);
	assert_int_equal(strparse_hexval('A'), 10);
	assert_int_equal(strparse_hexval('g'), -1);
	assert_int_equal(strparse_hexval(-61), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_connect_to),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
