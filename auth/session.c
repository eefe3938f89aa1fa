// SPDX-License-Identifier: Apache-2.0
#include "auth/session.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/ecr.h"
#include "auth/volcengine.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/mem.h"

#define TOKEN_BODY_MAX (1u << 20)
#define PROBE_BODY_MAX (64u << 10)
// Refresh this long before expiry, so a request never leaves with a token
// that dies on the way.
#define TOKEN_MARGIN_S 30

int auth_session_init(struct auth_session *s, const char *host, const struct http_config *cfg,
		      struct auth_store *store, const struct kind_table *kinds, struct err *e)
{
	memset(s, 0, sizeof(*s));
	if (kind_classify(kinds, host, &s->info, e) < 0)
		return -1;
	s->host = xstrdup(host);
	_cleanup_free_ char *base = http_base_url(cfg, host);
	s->api_url = xasprintf("%s/v2", base);
	s->cfg = cfg;
	s->store = store;
	s->artifact = store ? store->artifact : AUTH_ART_IMAGE;
	log_debug("registry %s: kind %s (from %s)", host, kind_name(s->info.kind), s->info.why);
	return 0;
}

static void token_release(struct auth_token *t)
{
	free(t->scope);
	if (t->value) {
		explicit_bzero(t->value, strlen(t->value));
		free(t->value);
	}
}

void auth_session_release(struct auth_session *s)
{
	for (size_t i = 0; i < s->ntokens; i++)
		token_release(&s->tokens[i]);
	free(s->tokens);
	free(s->host);
	free(s->api_url);
	free(s->realm);
	free(s->service);
	free(s->cred_source);
	kind_info_release(&s->info);
	auth_exchange_release(&s->xch);
	memset(s, 0, sizeof(*s));
}

static void adopt_challenge(struct auth_session *s, const struct auth_challenges *c)
{
	const struct auth_challenge *ch = auth_challenges_pick(c);
	if (!ch)
		return;
	if (strcasecmp(ch->scheme, "Bearer") == 0) {
		const char *realm = auth_challenge_param(ch, "realm");
		const char *service = auth_challenge_param(ch, "service");
		if (!realm)
			return;
		s->scheme = AUTH_BEARER;
		free(s->realm);
		free(s->service);
		s->realm = xstrdup(realm);
		s->service = service ? xstrdup(service) : NULL;
	} else {
		s->scheme = AUTH_BASIC;
	}
}

const char *auth_scheme_name(enum auth_scheme s)
{
	switch (s) {
	case AUTH_NONE: return "none";
	case AUTH_BASIC: return "basic";
	case AUTH_BEARER: return "bearer";
	default: return "unknown";
	}
}

int auth_session_probe(struct auth_session *s, struct err *e)
{
	if (s->scheme != AUTH_UNKNOWN)
		return 0;
	_cleanup_free_ char *url = xasprintf("%s/", s->api_url);
	struct http_resp r;
	struct http_req req = {.url = url, .max_body = PROBE_BODY_MAX};
	if (http_request(s->cfg, &req, &r, e) < 0)
		return err_wrap(e, "cannot reach registry %s", s->host);
	int ret = 0;
	if (r.status == 200) {
		s->scheme = AUTH_NONE;
	} else if (r.status == 401) {
		struct auth_challenges chal = {0};
		bool parsed = auth_challenge_parse_lines(&chal, r.www_authenticate, r.nwww_authenticate);
		adopt_challenge(s, &chal);
		auth_challenges_release(&chal);
		enum kind_registry k = kind_from_realm(s->info.kind, s->realm);
		if (k != s->info.kind) {
			s->info.kind = k;
			s->info.why = "token realm";
		}
		if (s->scheme == AUTH_UNKNOWN)
			ret = err_set(e, ERR_AUTH, "registry %s asks for authentication with no usable challenge%s",
				      s->host, parsed ? "" : " (malformed WWW-Authenticate)");
	} else if (r.status == 404) {
		ret = err_set(e, ERR_NOTFOUND, "%s does not serve the registry API (GET /v2/: HTTP 404)", s->host);
	} else {
		ret = err_set(e, ERR_NETWORK, "registry %s: GET /v2/ answered HTTP %ld", s->host, r.status);
	}
	log_debug("registry %s: auth scheme %s", s->host, auth_scheme_name(s->scheme));
	http_resp_release(&r);
	return ret;
}

static struct auth_token *find_token(const struct auth_session *s, const char *scope)
{
	for (size_t i = 0; i < s->ntokens; i++)
		if (strcmp(s->tokens[i].scope, scope) == 0)
			return &s->tokens[i];
	return NULL;
}

static struct auth_token *put_token(struct auth_session *s, const char *scope)
{
	struct auth_token *t = find_token(s, scope);
	if (t) {
		token_release(t);
	} else {
		s->tokens = xrealloc(s->tokens, (s->ntokens + 1) * sizeof(*s->tokens));
		t = &s->tokens[s->ntokens++];
	}
	memset(t, 0, sizeof(*t));
	t->scope = xstrdup(scope);
	return t;
}

static char *basic_value(const struct auth_cred *c)
{
	_cleanup_free_ char *up = xasprintf("%s:%s", c->username, c->password);
	_cleanup_free_ char *b64 = base64_encode(up, strlen(up));
	explicit_bzero(up, strlen(up));
	char *v = xasprintf("Basic %s", b64);
	explicit_bzero(b64, strlen(b64));
	return v;
}

static char *url_escape(const char *s)
{
	char *t = curl_easy_escape(NULL, s, 0);
	char *r = xstrdup(t ? t : "");
	curl_free(t);
	return r;
}

char *auth_session_missing_cred(const struct auth_session *s, const char *path)
{
	enum auth_artifact other = s->artifact == AUTH_ART_CHART ? AUTH_ART_IMAGE : AUTH_ART_CHART;
	struct auth_cred c = {0};
	struct err ignored = {0};
	int found = s->store ? auth_store_lookup(s->store, other, s->host, path, &c, &ignored) : 0;
	char *hint = found > 0 ? xasprintf(" (%s serves %s only)", c.source ? c.source : "an entry",
					   other == AUTH_ART_CHART ? "HELM" : "CONTAINER")
			       : xstrdup("");
	auth_cred_release(&c);
	// Images keep the plain wording: it is the one users and scripts know.
	char *what = s->artifact == AUTH_ART_IMAGE && !*hint ? xstrdup("")
				  : xasprintf(" for %s", auth_artifact_name(s->artifact));
	char *msg = xasprintf("no registry credential%s found for hostname %s%s", what, s->host, hint);
	free(what);
	free(hint);
	return msg;
}

static int no_credential(const struct auth_session *s, const char *path, struct err *e)
{
	_cleanup_free_ char *why = auth_session_missing_cred(s, path);
	return err_set(e, ERR_AUTH, "registry %s requires authentication and %s", s->host, why);
}

// GET {realm}?service=..&scope=.. with Basic credentials when we have them.
int auth_token_answer_parse(const char *body, size_t len, char **value, long *life_s)
{
	*value = NULL;
	cJSON *root = cJSON_ParseWithLength(body, len);
	cJSON *tok = cJSON_GetObjectItemCaseSensitive(root, "token");
	if (!cJSON_IsString(tok) || !tok->valuestring[0])
		tok = cJSON_GetObjectItemCaseSensitive(root, "access_token");
	int ret = -1;
	if (cJSON_IsString(tok) && tok->valuestring[0] && !strpbrk(tok->valuestring, "\r\n")) {
		cJSON *exp = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
		double life = cJSON_IsNumber(exp) ? exp->valuedouble : 60;
		if (!(life >= 60)) // the spec's minimum; shorter values (and NaN) are clamped up
			life = 60;
		if (life > 86400)
			life = 86400;
		*life_s = (long)life;
		*value = xasprintf("Bearer %s", tok->valuestring);
		explicit_bzero(tok->valuestring, strlen(tok->valuestring));
		ret = 0;
	}
	auth_json_wipe(root);
	cJSON_Delete(root);
	return ret;
}

static int fetch_token(struct auth_session *s, const char *path, const char *scope,
		       const struct auth_cred *cred, struct auth_token *t, struct err *e)
{
	_cleanup_free_ char *origin = http_origin(s->realm);
	if (strncmp(origin, "https://", 8) != 0 && !(strncmp(origin, "http://", 7) == 0 &&
						      http_is_plain(s->cfg, s->host)))
		return err_set(e, ERR_AUTH, "registry %s: token realm must be https", s->host);
	_cleanup_free_ char *esc_scope = url_escape(scope);
	_cleanup_free_ char *esc_service = s->service ? url_escape(s->service) : NULL;
	const char *sep = strchr(s->realm, '?') ? "&" : "?";
	_cleanup_free_ char *url = esc_service
		? xasprintf("%s%sservice=%s&scope=%s", s->realm, sep, esc_service, esc_scope)
		: xasprintf("%s%sscope=%s", s->realm, sep, esc_scope);
	_cleanup_free_ char *basic = cred ? basic_value(cred) : NULL;
	struct http_resp r;
	struct http_req req = {.url = url, .authorization = basic, .max_body = TOKEN_BODY_MAX, .follow = false};
	int rc = http_request(s->cfg, &req, &r, e);
	if (basic)
		explicit_bzero(basic, strlen(basic));
	if (rc < 0)
		return err_wrap(e, "registry %s: token request", s->host);
	int ret = 0;
	cJSON *root = NULL;
	if (r.status == 401 || r.status == 403) {
		ret = cred ? err_set(e, ERR_AUTH, "registry %s rejected the credential from %s (token endpoint: HTTP %ld)",
				     s->host, cred->source, r.status)
			   : no_credential(s, path, e);
		goto out;
	}
	if (r.status != 200) {
		ret = err_set(e, r.status == 404 ? ERR_NOTFOUND : ERR_NETWORK,
			      "registry %s: token endpoint answered HTTP %ld", s->host, r.status);
		goto out;
	}
	long life;
	if (auth_token_answer_parse(r.body.data ? r.body.data : "", r.body.len, &t->value, &life) < 0) {
		ret = err_set(e, ERR_AUTH, "registry %s: token endpoint returned no usable token", s->host);
		goto out;
	}
	t->obtained = time(NULL);
	t->expires = t->obtained + (time_t)life;
out:
	cJSON_Delete(root);
	if (r.body.data)
		explicit_bzero(r.body.data, r.body.len);
	http_resp_release(&r);
	return ret;
}

// Turns the secret's credential into what the registry's own auth flow takes:
// ECR and Volcengine keys go through their token APIs (cached until shortly
// before expiry). *use points at cred or at the cached exchange.
static int exchange(struct auth_session *s, const struct auth_cred *cred, const struct auth_cred **use,
		    struct err *e)
{
	*use = cred;
	enum kind_registry k = s->info.kind;
	if (k == KIND_ECR && strcmp(cred->username, "AWS") == 0)
		return 0; // already a registry password (aws ecr get-login-password)
	if (k != KIND_ECR && k != KIND_ECR_PUBLIC && k != KIND_VOLCENGINE)
		return 0;
	time_t now = time(NULL);
	if (auth_exchange_held(&s->xch) && now + TOKEN_MARGIN_S < s->xch.expires) {
		*use = &s->xch.cred;
		return 0;
	}
	auth_exchange_release(&s->xch);
	int r = k == KIND_ECR ? ecr_get_token(s->cfg, &s->info, cred, &s->xch, e)
		: k == KIND_ECR_PUBLIC ? ecr_public_get_token(s->cfg, cred, &s->xch, e)
		: volcengine_get_token(s->cfg, &s->info, cred, &s->xch, e);
	if (r < 0)
		return err_wrap(e, "registry %s", s->host);
	log_debug("registry %s: %s token valid %lds", s->host, kind_name(k), (long)(s->xch.expires - now));
	*use = &s->xch.cred;
	return 0;
}

int auth_session_registry_cred(struct auth_session *s, const char *path, struct auth_cred *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	struct auth_cred cred = {0};
	int found = auth_store_lookup(s->store, s->artifact, s->host, path, &cred, e);
	if (found <= 0)
		return found;
	const struct auth_cred *use = &cred;
	int ret = exchange(s, &cred, &use, e);
	if (ret == 0 && !(use == &s->xch.cred && s->xch.bearer))
		auth_cred_copy(out, use);
	auth_cred_release(&cred);
	return ret;
}

// One attempt with the credential the store has now.
static int header_once(struct auth_session *s, const char *path, const char *scope, char **out,
		       struct err *e)
{
	struct auth_cred cred = {0};
	int found = auth_store_lookup(s->store, s->artifact, s->host, path, &cred, e);
	if (found < 0)
		return -1;
	int ret = 0;
	free(s->cred_source);
	s->cred_source = found ? xstrdup(cred.source) : NULL;
	const struct auth_cred *use = found ? &cred : NULL;
	if (found && (ret = exchange(s, &cred, &use, e)) < 0)
		goto out;
	if (use && s->xch.bearer && use == &s->xch.cred) {
		// ECR public: the API's token is the registry's Bearer token itself.
		struct auth_token *t = put_token(s, scope);
		t->value = xasprintf("Bearer %s", s->xch.bearer);
		t->obtained = time(NULL);
		t->expires = s->xch.expires;
		*out = xstrdup(t->value);
	} else if (s->scheme == AUTH_BASIC) {
		if (!use) {
			ret = no_credential(s, path, e);
		} else {
			struct auth_token *t = put_token(s, scope);
			t->value = basic_value(use);
			if (use == &s->xch.cred) { // an ECR token: renewed ahead of its expiry
				t->obtained = time(NULL);
				t->expires = s->xch.expires;
			}
			*out = xstrdup(t->value);
		}
	} else {
		struct auth_token fresh = {0};
		ret = fetch_token(s, path, scope, use, &fresh, e);
		if (ret == 0) {
			struct auth_token *t = put_token(s, scope);
			t->value = fresh.value;
			t->expires = fresh.expires;
			t->obtained = fresh.obtained;
			*out = xstrdup(t->value);
			log_debug("registry %s: token for %s valid %lds", s->host, scope,
				  (long)(fresh.expires - fresh.obtained));
		}
	}
out:
	auth_cred_release(&cred);
	return ret;
}

// Re-reads rotated secrets; true if a credential changed (then exchanged
// credentials and tokens from the old one are dropped).
static bool secrets_rotated(struct auth_session *s)
{
	struct err e;
	int r = auth_store_refresh(s->store, &e);
	if (r < 0) {
		log_warn("registry %s: re-reading the secrets: %s", s->host, e.msg);
		return false;
	}
	if (r == 0)
		return false;
	log_info("registry %s: the secret changed since it was read; using the new one", s->host);
	auth_exchange_release(&s->xch);
	for (size_t i = 0; i < s->ntokens; i++)
		token_release(&s->tokens[i]);
	s->ntokens = 0;
	return true;
}

// Until when a cached token is handed out as it is: TOKEN_MARGIN_S before it
// expires, or 5 s before for tokens that live less than twice the margin.
static time_t token_fresh_until(const struct auth_token *t)
{
	if (!t || !t->value)
		return 0;
	if (t->expires == 0)
		return AUTH_FRESH_FOREVER;
	if (t->expires - t->obtained <= 2 * TOKEN_MARGIN_S)
		return t->expires - 5;
	return t->expires - TOKEN_MARGIN_S;
}

time_t auth_session_fresh_until(const struct auth_session *s, const char *path)
{
	if (s->scheme == AUTH_NONE)
		return AUTH_FRESH_FOREVER;
	_cleanup_free_ char *scope = xasprintf("repository:%s:pull", path);
	return token_fresh_until(find_token(s, scope));
}

int auth_session_header(struct auth_session *s, const char *path, char **out, struct err *e)
{
	*out = NULL;
	if (auth_session_probe(s, e) < 0)
		return -1;
	_cleanup_free_ char *scope = xasprintf("repository:%s:pull", path);
	struct auth_token *t = find_token(s, scope);
	if (t && t->value && time(NULL) < token_fresh_until(t)) {
		*out = xstrdup(t->value);
		return 0;
	}
	if (s->scheme == AUTH_NONE)
		return 0;
	int r = header_once(s, path, scope, out, e);
	// A refused credential may have been rotated by the kubelet meanwhile.
	if (r < 0 && e->cls == ERR_AUTH && secrets_rotated(s))
		r = header_once(s, path, scope, out, e);
	return r;
}

void auth_session_reject(struct auth_session *s, const char *path, const struct auth_challenges *c)
{
	_cleanup_free_ char *scope = xasprintf("repository:%s:pull", path);
	struct auth_token *t = find_token(s, scope);
	s->generation++;
	if (t && t->value) {
		explicit_bzero(t->value, strlen(t->value));
		free(t->value);
		t->value = NULL;
	}
	if (auth_exchange_held(&s->xch)) // the registry no longer takes it
		auth_exchange_release(&s->xch);
	secrets_rotated(s);
	if (s->info.kind == KIND_NGC) {
		// After expiry nvcr.io points elsewhere (error="invalid_token"); the
		// realm that takes the API key comes back from an unauthenticated probe.
		s->scheme = AUTH_UNKNOWN;
	} else if (c && c->n) {
		adopt_challenge(s, c);
	} else if (s->scheme == AUTH_NONE) {
		s->scheme = AUTH_UNKNOWN; // the registry changed its mind: probe again
	}
}

bool auth_session_rejected(const struct auth_session *s, long status, const char *body, size_t len)
{
	if (status == 401)
		return true;
	// ECR public answers an expired or foreign token with 400 DENIED.
	return status == 400 && s->info.kind == KIND_ECR_PUBLIC && body && memmem(body, len, "DENIED", 6);
}

long auth_session_token_ttl(const struct auth_session *s, const char *path)
{
	_cleanup_free_ char *scope = xasprintf("repository:%s:pull", path);
	const struct auth_token *t = find_token(s, scope);
	if (!t || !t->value)
		return -1;
	return t->expires ? (long)(t->expires - time(NULL)) : 0;
}
