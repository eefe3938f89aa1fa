// SPDX-License-Identifier: Apache-2.0
// What to do when a range request ends: a pure function from what was asked
// and what arrived (HTTP status, curl's result, the body checks) to a verdict,
// as curl's own tool splits post_per_transfer. The engine applies verdicts;
// it decides nothing of this itself. Unit-tested by table (test_judge.c).
#ifndef IMGPULL_PULL_JUDGE_H
#define IMGPULL_PULL_JUDGE_H

#include <stdbool.h>
#include <stddef.h>

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

// Why a request did not simply succeed. Each has one row in pull_causes:
// its short key (what request events and summaries count) and, where the
// cause ends a try or the pull, the message the engine fills in.
enum pull_cause {
	PULL_CAUSE_NONE,
	PULL_CAUSE_LASTING,          // the body checks found a lasting fault (their own message)
	PULL_CAUSE_PROTOCOL,         // the answer contradicted what was asked
	PULL_CAUSE_STALLED,          // nothing arrived for the stall timeout
	PULL_CAUSE_TIMEOUT,          // curl's own timeout
	PULL_CAUSE_CONNECTION,       // the connection failed
	PULL_CAUSE_CUT_SHORT,        // closed before Content-Length
	PULL_CAUSE_SHORT_ANSWER,     // ended cleanly before the range's end
	PULL_CAUSE_TLS_OR_SCHEME,    // TLS or an unsupported scheme: no retry cures it
	PULL_CAUSE_BLOB_SHORT,       // a whole-blob answer shorter than the manifest says
	PULL_CAUSE_NO_LOCATION,      // a redirect without a Location
	PULL_CAUSE_REDIRECT_SCHEME,  // a redirect to something not http(s)
	PULL_CAUSE_TOKEN,            // the registry refused the token
	PULL_CAUSE_REDIRECT_EXPIRED, // the redirect target refused
	PULL_CAUSE_NOT_FOUND,
	PULL_CAUSE_DENIED,
	PULL_CAUSE_RANGE,            // 416
	PULL_CAUSE_THROTTLED,        // 429/503
	PULL_CAUSE_HTTP,             // another status worth a retry
	PULL_CAUSE_STATUS,           // a status no retry cures
	PULL_CAUSE_COUNT,
};

// Messages are templates: {digest} {host} (asked, host[:port]) {registry}
// {repo} {from} (the registry or "the blob store") {status} {got} (bytes of
// this try) {pos} {size} {idle} (seconds without a byte) {curl} (curl's
// error) {location} (redacted) {detail} (the try's own diagnosis).
struct pull_cause_row {
	const char *key;   // "http_" keys take the status: http_503
	const char *retry; // the message of a failed try (NULL: not a retry cause)
	const char *fatal; // the message when the pull fails of it (NULL: not fatal alone)
};

extern const struct pull_cause_row pull_causes[PULL_CAUSE_COUNT];

// The cause's key into buf (http_<status> for statuses).
const char *pull_cause_key(enum pull_cause c, long status, char *buf, size_t n);

struct pull_judgement {
	enum pull_verdict verdict;
	enum err_class cls;     // FATAL
	enum pull_cause cause;  // NONE for DONE and REDIRECT
};

void pull_judge(const struct pull_answer *a, struct pull_judgement *j);

#endif
