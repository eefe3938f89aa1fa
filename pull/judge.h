// SPDX-License-Identifier: Apache-2.0
// What to do when a range request ends: a pure function from what was asked
// and what arrived (HTTP status, curl's result, the body checks) to a verdict,
// as curl's own tool splits post_per_transfer. The engine applies verdicts;
// it decides nothing of this itself. Unit-tested by table (test_judge.c).
#ifndef IMGPULL_PULL_JUDGE_H
#define IMGPULL_PULL_JUDGE_H

#include <stdbool.h>

#include "util/err.h"

enum pull_verdict {
	PULL_V_DONE,         // the range is in
	PULL_V_RETRY,        // ask for it again after a backoff; a failed try
	PULL_V_THROTTLED,    // 429/503: fewer connections to that host, pause, ask again
	PULL_V_REDIRECT,     // the registry redirected: the target serves the ranges now
	PULL_V_RENEW_TOKEN,  // the registry refused the token: renew it, ask again
	PULL_V_RENEW_TARGET, // the redirect target refused (expired presigned URL): ask the registry again
	PULL_V_FATAL,        // the pull fails with cls
};

// What arrived for one request.
struct pull_answer {
	int curl_rc;         // CURLcode of the transfer
	long status;         // HTTP status, 0 when none
	bool to_registry;    // false: sent to a redirect target
	bool complete;       // every byte of the range is written
	bool whole_short;    // a 200 (whole blob) that ended before the blob's end
	bool complaint;      // status line or Content-Range contradicted what was asked
	bool lasting;        // the body checks found a lasting fault (diagnosed already)
	bool location;       // a redirect came with a Location
	bool location_http;  // ... and it is http(s)
	bool auth_refused;   // the registry's answer means: this token is not (or no longer) good
	bool stalled;        // the engine dropped it: nothing arrived for the stall timeout
};

struct pull_judgement {
	enum pull_verdict verdict;
	enum err_class cls;  // FATAL
	char cause[24];      // a short key: timeout, connection, http_503, short_body, protocol,
	                     // tls_or_scheme, redirect_scheme, no_location, not_found, denied,
	                     // range, status, blob_short, lasting
};

void pull_judge(const struct pull_answer *a, struct pull_judgement *j);

#endif
