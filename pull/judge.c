// SPDX-License-Identifier: Apache-2.0
#include "pull/judge.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "transport/http.h"

const struct pull_cause_row pull_causes[PULL_CAUSE_COUNT] = {
	[PULL_CAUSE_NONE] = {"", NULL, NULL},
	[PULL_CAUSE_LASTING] = {"lasting", NULL, "{detail}"},
	[PULL_CAUSE_PROTOCOL] = {"protocol", "{detail}", NULL},
	[PULL_CAUSE_STALLED] = {"timeout", "stalled: nothing arrived for {idle} s ({got} bytes this try)", NULL},
	[PULL_CAUSE_TIMEOUT] = {"timeout", "{curl} ({got} bytes this try)", NULL},
	[PULL_CAUSE_CONNECTION] = {"connection", "{curl} ({got} bytes this try)", NULL},
	[PULL_CAUSE_CUT_SHORT] = {"short_body", "{curl} ({got} bytes this try)", NULL},
	[PULL_CAUSE_SHORT_ANSWER] = {"short_body", "short answer", NULL},
	[PULL_CAUSE_TLS_OR_SCHEME] = {"tls_or_scheme", NULL, "blob {digest} from {host}: {curl} ({got} bytes this try)"},
	[PULL_CAUSE_BLOB_SHORT] = {"blob_short", NULL,
				   "blob {digest} is shorter on the server ({pos} bytes) than the manifest says ({size})"},
	[PULL_CAUSE_NO_LOCATION] = {"no_location", NULL, "blob {digest}: redirect without a Location"},
	[PULL_CAUSE_REDIRECT_SCHEME] = {"redirect_scheme", NULL,
					"blob {digest}: {registry} redirected to '{location}', which is not an HTTP URL"},
	[PULL_CAUSE_TOKEN] = {"token", NULL, NULL},
	[PULL_CAUSE_REDIRECT_EXPIRED] = {"redirect_expired", NULL, NULL},
	[PULL_CAUSE_NOT_FOUND] = {"not_found", NULL, "blob {digest} not found in {registry}/{repo}"},
	[PULL_CAUSE_DENIED] = {"denied", NULL, "blob {digest}: access denied by {registry} (HTTP 403)"},
	[PULL_CAUSE_RANGE] = {"range", NULL, "blob {digest}: the server has fewer bytes than the manifest says"},
	[PULL_CAUSE_THROTTLED] = {"http_", NULL, NULL},
	[PULL_CAUSE_HTTP] = {"http_", "HTTP {status}", NULL},
	[PULL_CAUSE_STATUS] = {"status", NULL, "blob {digest}: unexpected HTTP {status} from {from}"},
};

const char *pull_cause_key(enum pull_cause c, long status, char *buf, size_t n)
{
	const char *k = c < PULL_CAUSE_COUNT ? pull_causes[c].key : "";
	if (strcmp(k, "http_") == 0)
		snprintf(buf, n, "http_%ld", status);
	else
		snprintf(buf, n, "%s", k);
	return buf;
}

static int set(struct pull_judgement *j, enum pull_verdict v, enum err_class cls, enum pull_cause cause)
{
	j->verdict = v;
	j->cls = cls;
	j->cause = cause;
	return 0;
}

static int judge(const struct pull_answer *a, struct pull_judgement *j)
{
	long st = a->status;
	bool body = st == 200 || st == 206;
	if (a->lasting)
		return set(j, PULL_V_FATAL, ERR_NETWORK, PULL_CAUSE_LASTING); // the engine keeps its own diagnosis
	if (a->complaint)
		return set(j, PULL_V_RETRY, ERR_NONE, PULL_CAUSE_PROTOCOL);
	if (a->stalled)
		return set(j, PULL_V_RETRY, ERR_NONE, PULL_CAUSE_STALLED);
	if (a->curl_rc != CURLE_OK && !(body && a->complete)) { // a failure after the last byte costs nothing
		if (http_curl_lasting(a->curl_rc))
			return set(j, PULL_V_FATAL, ERR_NETWORK, PULL_CAUSE_TLS_OR_SCHEME);
		enum pull_cause cause = a->curl_rc == CURLE_OPERATION_TIMEDOUT ? PULL_CAUSE_TIMEOUT
					: body && a->curl_rc == CURLE_PARTIAL_FILE ? PULL_CAUSE_CUT_SHORT
										   : PULL_CAUSE_CONNECTION;
		return set(j, PULL_V_RETRY, ERR_NONE, cause);
	}
	if (body) {
		if (a->complete)
			return set(j, PULL_V_DONE, ERR_NONE, PULL_CAUSE_NONE);
		if (st == 200 && a->whole_short)
			return set(j, PULL_V_FATAL, ERR_INTEGRITY, PULL_CAUSE_BLOB_SHORT);
		return set(j, PULL_V_RETRY, ERR_NONE, PULL_CAUSE_SHORT_ANSWER);
	}
	if (a->to_registry && st >= 300 && st < 400 && st != 304) {
		if (!a->location)
			return set(j, PULL_V_FATAL, ERR_NETWORK, PULL_CAUSE_NO_LOCATION);
		if (!a->location_http)
			return set(j, PULL_V_FATAL, ERR_NETWORK, PULL_CAUSE_REDIRECT_SCHEME);
		return set(j, PULL_V_REDIRECT, ERR_NONE, PULL_CAUSE_NONE);
	}
	if (a->to_registry && a->auth_refused)
		return set(j, PULL_V_RENEW_TOKEN, ERR_NONE, PULL_CAUSE_TOKEN);
	// Presigned URLs expire (S3 20 min, GHCR ~5 min), and stores say so in
	// several ways.
	if (!a->to_registry && (st == 400 || st == 401 || st == 403 || st == 404 || st == 410))
		return set(j, PULL_V_RENEW_TARGET, ERR_NONE, PULL_CAUSE_REDIRECT_EXPIRED);
	if (st == 404)
		return set(j, PULL_V_FATAL, ERR_NOTFOUND, PULL_CAUSE_NOT_FOUND);
	if (st == 403)
		return set(j, PULL_V_FATAL, ERR_AUTH, PULL_CAUSE_DENIED);
	if (st == 416)
		return set(j, PULL_V_FATAL, ERR_INTEGRITY, PULL_CAUSE_RANGE);
	if (st == 429 || st == 503)
		return set(j, PULL_V_THROTTLED, ERR_NONE, PULL_CAUSE_THROTTLED);
	if (http_status_retryable(st))
		return set(j, PULL_V_RETRY, ERR_NONE, PULL_CAUSE_HTTP);
	return set(j, PULL_V_FATAL, ERR_NETWORK, PULL_CAUSE_STATUS);
}

void pull_judge(const struct pull_answer *a, struct pull_judgement *j)
{
	(void)judge(a, j);
}
