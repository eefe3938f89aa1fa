// SPDX-License-Identifier: Apache-2.0
// transport/http: the retry arithmetic the README's time bounds are made of.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "transport/http.h"

static void test_bound(void **state)
{
	(void)state;
	static const struct {
		int retries;
		long stall;
		double want;
	} rows[] = {
		{5, 20, 6 * 20 + 0.25 + 0.5 + 1 + 2 + 4},  // a blob range at the defaults: README's 128 s
		{5, 0, 6 * 20 + 0.25 + 0.5 + 1 + 2 + 4},   // 0: the default stall timeout
		{3, 20, 4 * 20 + 0.25 + 0.5 + 1},          // manifests, tokens, probes: README's 82 s
		{0, 20, 20},                               // one try, no backoff
		{0, 3, 3},
		{10, 2, 11 * 2 + 0.25 + 0.5 + 1 + 2 + 4 + 8 + 16 + 30 + 30 + 30}, // backoff capped at 30 s
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		double got = http_retry_bound_s(rows[i].retries, rows[i].stall);
		if (got < rows[i].want - 1e-9 || got > rows[i].want + 1e-9)
			fail_msg("row %zu: %d retries of %ld s: %.3f, want %.3f", i, rows[i].retries, rows[i].stall, got,
				 rows[i].want);
	}
}

static void test_retry_after(void **state)
{
	(void)state;
	assert_true(http_retry_after_s(NULL) < 0);
	assert_true(http_retry_after_s("") < 0);
	assert_true(http_retry_after_s("soon") < 0);
	assert_true(http_retry_after_s("-5") < 0);
	assert_true(http_retry_after_s("12abc") < 0);
	assert_true(http_retry_after_s("99999999999999999999999") < 0); // out of range
	assert_true(http_retry_after_s("0") == 0);
	assert_true(http_retry_after_s("300") == 300);
	assert_true(http_retry_after_s("86400") == 86400); // the wait is not capped here: callers compare it
	char date[64];
	time_t later = time(NULL) + 120;
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime(&later));
	double d = http_retry_after_s(date);
	assert_true(d > 115 && d <= 120);
	assert_true(http_retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0); // in the past: no wait
}

static void test_backoff(void **state)
{
	(void)state;
	for (int round = 0; round < 200; round++) {
		for (int a = 0; a < 12; a++) {
			double cap = 0.25;
			for (int i = 0; i < a && cap < HTTP_BACKOFF_MAX_S; i++)
				cap *= 2;
			if (cap > HTTP_BACKOFF_MAX_S)
				cap = HTTP_BACKOFF_MAX_S;
			double d = http_backoff_seconds(a, NULL);
			if (d < cap / 2 || d > cap)
				fail_msg("attempt %d: %.3f outside [%.3f, %.3f]", a, d, cap / 2, cap);
		}
	}
	assert_true(http_backoff_seconds(0, "7") == 7);          // a longer Retry-After wins
	assert_true(http_backoff_seconds(0, "100000") == HTTP_RETRY_AFTER_MAX_S); // ... up to its cap
	assert_true(http_backoff_seconds(8, "1") >= 15);         // a shorter one does not
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
