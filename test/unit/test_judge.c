// SPDX-License-Identifier: Apache-2.0
// pull/judge: what the engine does when a range request ends, by table.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "pull/judge.h"

struct row {
	const char *what;
	struct pull_answer a;
	enum pull_verdict verdict;
	enum err_class cls;
	const char *cause;
};

#define REG .to_registry = true
static const struct row rows[] = {
	{"206 in full", {.status = 206, .complete = true}, PULL_V_DONE, ERR_NONE, ""},
	{"200 in full (a source ignoring Range)", {.status = 200, .complete = true}, PULL_V_DONE, ERR_NONE, ""},
	{"a reset after the last byte costs nothing", {.curl_rc = CURLE_RECV_ERROR, .status = 206, .complete = true},
	 PULL_V_DONE, ERR_NONE, ""},
	{"connection reset", {.curl_rc = CURLE_RECV_ERROR, .status = 206}, PULL_V_RETRY, ERR_NONE, "connection"},
	{"refused", {.curl_rc = CURLE_COULDNT_CONNECT}, PULL_V_RETRY, ERR_NONE, "connection"},
	{"a stall (low-speed limit)", {.curl_rc = CURLE_OPERATION_TIMEDOUT, .status = 206}, PULL_V_RETRY, ERR_NONE,
	 "timeout"},
	{"a stall (nothing for the stall timeout)", {.curl_rc = CURLE_ABORTED_BY_CALLBACK, .status = 206, .stalled = true},
	 PULL_V_RETRY, ERR_NONE, "timeout"},
	{"body shorter than announced", {.curl_rc = CURLE_PARTIAL_FILE, .status = 206}, PULL_V_RETRY, ERR_NONE,
	 "short_body"},
	{"connection closed before any answer", {.curl_rc = CURLE_PARTIAL_FILE}, PULL_V_RETRY, ERR_NONE, "connection"},
	{"206 that ended early without an error", {.status = 206}, PULL_V_RETRY, ERR_NONE, "short_body"},
	{"200 shorter than the blob", {.status = 200, .whole_short = true}, PULL_V_FATAL, ERR_INTEGRITY, "blob_short"},
	{"wrong Content-Range", {.status = 206, .complaint = true}, PULL_V_RETRY, ERR_NONE, "protocol"},
	{"a complaint wins over a transfer error", {.curl_rc = CURLE_WRITE_ERROR, .status = 206, .complaint = true},
	 PULL_V_RETRY, ERR_NONE, "protocol"},
	{"a lasting fault found in the body", {.curl_rc = CURLE_WRITE_ERROR, .status = 200, .lasting = true},
	 PULL_V_FATAL, ERR_NETWORK, "lasting"},
	{"bad certificate", {.curl_rc = CURLE_PEER_FAILED_VERIFICATION}, PULL_V_FATAL, ERR_NETWORK, "tls_or_scheme"},
	{"redirect loop at the store", {.curl_rc = CURLE_TOO_MANY_REDIRECTS}, PULL_V_FATAL, ERR_NETWORK,
	 "tls_or_scheme"},
	{"redirect to ftp at the store", {.curl_rc = CURLE_UNSUPPORTED_PROTOCOL}, PULL_V_FATAL, ERR_NETWORK,
	 "tls_or_scheme"},
	{"registry 307", {REG, .status = 307, .location = true, .location_http = true}, PULL_V_REDIRECT, ERR_NONE, ""},
	{"registry 302 without Location", {REG, .status = 302}, PULL_V_FATAL, ERR_NETWORK, "no_location"},
	{"registry 307 to file://", {REG, .status = 307, .location = true}, PULL_V_FATAL, ERR_NETWORK,
	 "redirect_scheme"},
	{"registry 401: token expired", {REG, .status = 401, .auth_refused = true}, PULL_V_RENEW_TOKEN, ERR_NONE, "token"},
	{"registry 403 meaning the token", {REG, .status = 403, .auth_refused = true}, PULL_V_RENEW_TOKEN, ERR_NONE,
	 "token"},
	{"registry 403: denied", {REG, .status = 403}, PULL_V_FATAL, ERR_AUTH, "denied"},
	{"registry 404", {REG, .status = 404}, PULL_V_FATAL, ERR_NOTFOUND, "not_found"},
	{"store 403: presigned URL expired", {.status = 403}, PULL_V_RENEW_TARGET, ERR_NONE, "redirect_expired"},
	{"store 400 (S3 'request has expired')", {.status = 400}, PULL_V_RENEW_TARGET, ERR_NONE, "redirect_expired"},
	{"store 401", {.status = 401}, PULL_V_RENEW_TARGET, ERR_NONE, "redirect_expired"},
	{"store 404", {.status = 404}, PULL_V_RENEW_TARGET, ERR_NONE, "redirect_expired"},
	{"store 410", {.status = 410}, PULL_V_RENEW_TARGET, ERR_NONE, "redirect_expired"},
	{"store 3xx is followed by curl, a leftover is odd", {.status = 302}, PULL_V_FATAL, ERR_NETWORK, "status"},
	{"416", {REG, .status = 416}, PULL_V_FATAL, ERR_INTEGRITY, "range"},
	{"429", {.status = 429}, PULL_V_THROTTLED, ERR_NONE, "http_429"},
	{"503", {REG, .status = 503}, PULL_V_THROTTLED, ERR_NONE, "http_503"},
	{"500", {.status = 500}, PULL_V_RETRY, ERR_NONE, "http_500"},
	{"502", {REG, .status = 502}, PULL_V_RETRY, ERR_NONE, "http_502"},
	{"504", {.status = 504}, PULL_V_RETRY, ERR_NONE, "http_504"},
	{"408", {.status = 408}, PULL_V_RETRY, ERR_NONE, "http_408"},
	{"405", {REG, .status = 405}, PULL_V_FATAL, ERR_NETWORK, "status"},
	{"no status at all, no error", {.status = 0}, PULL_V_FATAL, ERR_NETWORK, "status"},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pull_judgement j;
		memset(&j, 0x55, sizeof(j));
		pull_judge(&rows[i].a, &j);
		char key[24];
		pull_cause_key(j.cause, rows[i].a.status, key, sizeof(key));
		if (j.verdict != rows[i].verdict || (rows[i].verdict == PULL_V_FATAL && j.cls != rows[i].cls) ||
		    strcmp(key, rows[i].cause) != 0)
			fail_msg("%s: verdict %d cls %d cause '%s', expected %d %d '%s'", rows[i].what, j.verdict, j.cls,
				 key, rows[i].verdict, rows[i].cls, rows[i].cause);
		// Every cause a try can end with has its message; every fatal one too.
		if (j.verdict == PULL_V_RETRY && !pull_causes[j.cause].retry)
			fail_msg("%s: cause '%s' has no retry message", rows[i].what, key);
		if (j.verdict == PULL_V_FATAL && !pull_causes[j.cause].fatal)
			fail_msg("%s: cause '%s' has no message", rows[i].what, key);
	}
}

// Every cause has a row with a key.
static void test_causes_named(void **state)
{
	(void)state;
	for (int c = PULL_CAUSE_LASTING; c < PULL_CAUSE_COUNT; c++)
		if (!pull_causes[c].key || !pull_causes[c].key[0])
			fail_msg("cause %d has no key", c);
	char key[24];
	assert_string_equal(pull_cause_key(PULL_CAUSE_THROTTLED, 503, key, sizeof(key)), "http_503");
	assert_string_equal(pull_cause_key(PULL_CAUSE_STALLED, 0, key, sizeof(key)), "timeout");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_causes_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
