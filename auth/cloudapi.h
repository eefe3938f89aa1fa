// SPDX-License-Identifier: Apache-2.0
// What the cloud token APIs (ECR, ECR public, Volcano Engine) share: the
// credential they hand back, endpoint overrides from the environment, and a
// signed JSON POST whose answer is parsed with a size cap.
#ifndef IMGPULL_AUTH_CLOUDAPI_H
#define IMGPULL_AUTH_CLOUDAPI_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <time.h>

#include "auth/canonical.h"
#include "auth/creds.h"
#include "transport/http.h"
#include "util/err.h"

// A registry credential obtained from a cloud token API.
struct auth_exchange {
	struct auth_cred cred; // username:password for the registry (ECR private, Volcengine)
	char *bearer;          // ECR public: the token itself, sent as "Bearer <token>"
	time_t expires;
};

void auth_exchange_release(struct auth_exchange *x);
// True while x holds a credential or token from an API call.
static inline bool auth_exchange_held(const struct auth_exchange *x)
{
	return x->bearer || x->cred.username;
}

// The first of the environment variables names (NULL-terminated) that is set,
// else def; malloc'd.
char *cloudapi_endpoint(const char *const *names, const char *def);

// A request being prepared: URL parts the signature covers and the headers sent.
struct cloudapi_req {
	char *url;
	char *hostport;   // the Host header, as signed
	char *path;       // "/" when the URL has none
	char *query;      // NULL when none
	struct canonical_header hdrs[8];
	size_t nhdrs;
};

// Splits endpoint (+ "?query" when given) into a request; ERR_USAGE for a bad URL.
int cloudapi_req_init(struct cloudapi_req *r, const char *endpoint, const char *query, const char *what,
		      struct err *e);
void cloudapi_req_header(struct cloudapi_req *r, const char *name, const char *value);
// Sends body with the request's headers plus the signature's; parses the JSON answer
// (NULL when the body is not JSON). Any HTTP status is success: *status says which.
int cloudapi_req_post(const struct cloudapi_req *r, const struct http_config *cfg, const struct canonical_result *sig,
		      const char *body, long *status, cJSON **json, struct err *e);
void cloudapi_req_release(struct cloudapi_req *r);

// Expiry fields: epoch seconds (number) or an RFC 3339 string; fallback when absent,
// bad, already past or more than 30 days ahead.
time_t cloudapi_parse_expiry(const cJSON *v, time_t fallback);

#endif
