// SPDX-License-Identifier: Apache-2.0
// Authentication with one registry host: the /v2/ probe, the challenge it
// answers with, and Bearer tokens cached per scope until shortly before they
// expire. Credentials are sent only after a challenge asked for them (Harbor
// answers differently otherwise) and only to the registry or its token realm.
#ifndef IMGPULL_AUTH_SESSION_H
#define IMGPULL_AUTH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth/challenge.h"
#include "auth/cloudapi.h"
#include "auth/creds.h"
#include "auth/kind.h"
#include "transport/http.h"
#include "util/err.h"

enum auth_scheme { AUTH_UNKNOWN = 0, AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct auth_token {
	char *scope;
	char *value;     // the full header value, "Bearer x" or "Basic x"
	time_t expires;  // 0: never (Basic)
	time_t obtained;
};

struct auth_session {
	char *host;      // registry host[:port] as contacted
	char *api_url;   // the API's root ("https://host/v2"; a mirror's own path)
	const struct http_config *cfg;
	struct auth_store *store;
	enum auth_artifact artifact; // what credentials are looked up for: store->artifact at init
	struct kind_info info; // the registry's kind decides how a credential becomes a token
	struct auth_exchange xch; // from a cloud token API (ECR, ECR public, Volcengine), cached
	enum auth_scheme scheme;
	char *realm;
	char *service;   // NULL when the challenge has none (nvcr.io)
	char *cred_source; // where the last credential sent came from; NULL if none was
	unsigned generation; // bumped by every reject: a 401 for an older token needs no new reject
	struct auth_token *tokens;
	size_t ntokens;
};

// Classifies host with kinds (ERR_USAGE when a forced kind does not fit the name).
int auth_session_init(struct auth_session *s, const char *host, const struct http_config *cfg,
		      struct auth_store *store, const struct kind_table *kinds, struct err *e);
void auth_session_release(struct auth_session *s);
// "none", "basic", "bearer" or "unknown".
const char *auth_scheme_name(enum auth_scheme s);
// GET /v2/ without credentials and learn the scheme. Idempotent.
int auth_session_probe(struct auth_session *s, struct err *e);
// The Authorization value for a pull of repository path (NULL for anonymous
// registries). Fetches or refreshes a token as needed. *out is malloc'd.
int auth_session_header(struct auth_session *s, const char *path, char **out, struct err *e);
// After a 401 for path: adopt the new challenge and forget the cached token,
// so the next auth_session_header fetches a fresh one.
void auth_session_reject(struct auth_session *s, const char *path, const struct auth_challenges *c);
// Why no credential was sent for path, for an error message: "no registry
// credential found for hostname H" (images), "no registry credential for charts
// found for hostname H", and when an entry for the other artifact type matches,
// "... for images found for hostname H (FILE entry 'KEY' serves HELM only)". malloc'd.
char *auth_session_missing_cred(const struct auth_session *s, const char *path);
// True when an answer means "your authorization is no good": 401, and for ECR
// public also 400 DENIED (its answer to an expired token).
bool auth_session_rejected(const struct auth_session *s, long status, const char *body, size_t len);
// The registry credential a pull of path used, for another client of the same
// registry (containerd's CRI pull): the secret's user/password, or for ECR the
// AWS:<token> its API exchanged it for. 0 with *out empty when none matched (or
// only a bearer token exists, which containerd's CRI cannot take); release *out.
int auth_session_registry_cred(struct auth_session *s, const char *path, struct auth_cred *out, struct err *e);
// Until when auth_session_header answers for path from its cache, without a
// request: 0 when nothing is cached, AUTH_FRESH_FOREVER for Basic and
// anonymous registries. (The pull engine fetches off its transfer loop and
// needs to know when to fetch again.)
#define AUTH_FRESH_FOREVER ((time_t)INT64_MAX)
time_t auth_session_fresh_until(const struct auth_session *s, const char *path);
// Seconds the cached token for path stays valid (negative if none).
long auth_session_token_ttl(const struct auth_session *s, const char *path);
// A token endpoint's answer: *value "Bearer <token>" (token or access_token; no
// CR/LF in it), *life_s its expires_in clamped to 60..86400 (60 when absent).
// -1 when there is no usable token. The parsed copy of the token is wiped.
int auth_token_answer_parse(const char *body, size_t len, char **value, long *life_s);

#endif
