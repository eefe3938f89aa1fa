// SPDX-License-Identifier: Apache-2.0
#include "pull/judge.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "transport/http.h"

static int set(struct pull_judgement *j, enum pull_verdict v, enum err_class cls, const char *cause)
{
	j->verdict = v;
	j->cls = cls;
	snprintf(j->cause, sizeof(j->cause), "%s", cause ? cause : "");
	return 0;
}

static int judge(const struct pull_answer *a, struct pull_judgement *j)
{
	long st = a->status;
	char code[24];
	snprintf(code, sizeof(code), "http_%ld", st);
	bool body = st == 200 || st == 206;
	if (a->lasting)
		return set(j, PULL_V_FATAL, ERR_NETWORK, "lasting"); // the engine keeps its own diagnosis
	if (a->complaint)
		return set(j, PULL_V_RETRY, ERR_NONE, "protocol");
	if (a->stalled)
		return set(j, PULL_V_RETRY, ERR_NONE, "timeout");
	if (a->curl_rc != CURLE_OK && !(body && a->complete)) { // a failure after the last byte costs nothing
		if (http_curl_lasting(a->curl_rc))
			return set(j, PULL_V_FATAL, ERR_NETWORK, "tls_or_scheme");
		const char *cause = a->curl_rc == CURLE_OPERATION_TIMEDOUT ? "timeout"
				    : body && a->curl_rc == CURLE_PARTIAL_FILE ? "short_body" // closed before Content-Length
										 : "connection";
		return set(j, PULL_V_RETRY, ERR_NONE, cause);
	}
	if (body) {
		if (a->complete)
			return set(j, PULL_V_DONE, ERR_NONE, NULL);
		if (st == 200 && a->whole_short)
			return set(j, PULL_V_FATAL, ERR_INTEGRITY, "blob_short");
		return set(j, PULL_V_RETRY, ERR_NONE, "short_body");
	}
	if (a->to_registry && st >= 300 && st < 400 && st != 304) {
		if (!a->location)
			return set(j, PULL_V_FATAL, ERR_NETWORK, "no_location");
		if (!a->location_http)
			return set(j, PULL_V_FATAL, ERR_NETWORK, "redirect_scheme");
		return set(j, PULL_V_REDIRECT, ERR_NONE, NULL);
	}
	if (a->to_registry && a->auth_refused)
		return set(j, PULL_V_RENEW_TOKEN, ERR_NONE, "token");
	// Presigned URLs expire (S3 20 min, GHCR ~5 min), and stores say so in
	// several ways.
	if (!a->to_registry && (st == 400 || st == 401 || st == 403 || st == 404 || st == 410))
		return set(j, PULL_V_RENEW_TARGET, ERR_NONE, "redirect_expired");
	if (st == 404)
		return set(j, PULL_V_FATAL, ERR_NOTFOUND, "not_found");
	if (st == 403)
		return set(j, PULL_V_FATAL, ERR_AUTH, "denied");
	if (st == 416)
		return set(j, PULL_V_FATAL, ERR_INTEGRITY, "range");
	if (st == 429 || st == 503)
		return set(j, PULL_V_THROTTLED, ERR_NONE, code);
	if (http_status_retryable(st))
		return set(j, PULL_V_RETRY, ERR_NONE, code);
	return set(j, PULL_V_FATAL, ERR_NETWORK, "status");
}

void pull_judge(const struct pull_answer *a, struct pull_judgement *j)
{
	(void)judge(a, j);
}
