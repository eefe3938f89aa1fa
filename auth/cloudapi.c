// SPDX-License-Identifier: Apache-2.0
#include "auth/cloudapi.h"

#define EXPIRY_MAX_S (30 * 24 * 3600)

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/mem.h"
#include "util/timefmt.h"

#define CLOUD_BODY_MAX (256u << 10)

void auth_exchange_release(struct auth_exchange *x)
{
	auth_cred_release(&x->cred);
	if (x->bearer) {
		explicit_bzero(x->bearer, strlen(x->bearer));
		free(x->bearer);
	}
	memset(x, 0, sizeof(*x));
}

char *cloudapi_endpoint(const char *const *names, const char *def)
{
	for (; *names; names++) {
		const char *v = getenv(*names);
		if (v && *v) {
			log_info("token API endpoint from %s", *names);
			return xstrdup(v);
		}
	}
	return xstrdup(def);
}

int cloudapi_req_init(struct cloudapi_req *r, const char *endpoint, const char *query, const char *what,
		      struct err *e)
{
	memset(r, 0, sizeof(*r));
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *path = NULL, *scheme = NULL;
	int ret = 0;
	if (!u || curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)) {
		ret = err_set(e, ERR_USAGE, "%s endpoint '%s' is not an http(s) URL", what, endpoint);
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	r->hostport = port ? xasprintf("%s:%s", host, port) : xstrdup(host);
	r->path = xstrdup(path && *path ? path : "/");
	r->query = query ? xstrdup(query) : NULL;
	r->url = xasprintf("%s://%s%s%s%s", scheme, r->hostport, r->path, query ? "?" : "", query ? query : "");
	cloudapi_req_header(r, "Host", r->hostport);
out:
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(scheme);
	curl_url_cleanup(u);
	return ret;
}

void cloudapi_req_header(struct cloudapi_req *r, const char *name, const char *value)
{
	if (r->nhdrs == sizeof(r->hdrs) / sizeof(r->hdrs[0]))
		abort(); // a programming error: the callers use a handful
	r->hdrs[r->nhdrs].name = xstrdup(name);
	r->hdrs[r->nhdrs].value = xstrdup(value);
	r->nhdrs++;
}

void cloudapi_req_release(struct cloudapi_req *r)
{
	for (size_t i = 0; i < r->nhdrs; i++) {
		free((char *)r->hdrs[i].name);
		free((char *)r->hdrs[i].value);
	}
	free(r->url);
	free(r->hostport);
	free(r->path);
	free(r->query);
	memset(r, 0, sizeof(*r));
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value)
{
	char *line = xasprintf("%s: %s", name, value);
	l = curl_slist_append(l, line);
	explicit_bzero(line, strlen(line));
	free(line);
	return l;
}

int cloudapi_req_post(const struct cloudapi_req *r, const struct http_config *cfg, const struct canonical_result *sig,
		      const char *body, long *status, cJSON **json, struct err *e)
{
	struct curl_slist *hdrs = NULL;
	for (size_t i = 0; i < r->nhdrs; i++)
		hdrs = add_header(hdrs, r->hdrs[i].name, r->hdrs[i].value);
	for (size_t i = 0; i < sig->nadd; i++)
		hdrs = add_header(hdrs, sig->add[i].name, sig->add[i].value);
	hdrs = add_header(hdrs, "Authorization", sig->authorization);
	hdrs = curl_slist_append(hdrs, "Expect:"); // no 100-continue round trip
	struct http_req req = {.url = r->url, .method = "POST", .body = body, .body_len = strlen(body),
			       .headers = hdrs, .max_body = CLOUD_BODY_MAX, .accept = "application/json"};
	struct http_resp resp;
	int rc = http_request(cfg, &req, &resp, e);
	for (struct curl_slist *x = hdrs; x; x = x->next)
		explicit_bzero(x->data, strlen(x->data));
	curl_slist_free_all(hdrs);
	if (rc < 0)
		return -1;
	*status = resp.status;
	*json = cJSON_ParseWithLength(resp.body.data ? resp.body.data : "", resp.body.len);
	if (resp.body.data)
		explicit_bzero(resp.body.data, resp.body.len); // it may hold a token
	http_resp_release(&resp);
	return 0;
}

time_t cloudapi_parse_expiry(const cJSON *v, time_t fallback)
{
	time_t t = 0, now = time(NULL);
	if (cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 1e11)
		t = (time_t)v->valuedouble;
	else if (!cJSON_IsString(v) || timefmt_parse_rfc3339(v->valuestring, &t) < 0)
		return fallback;
	// An expiry already past (or absurdly far) is nonsense or a skewed clock:
	// trusting it would ask the API again for every request. The fallback
	// holds until the registry refuses the credential, which renews it.
	return t > now && t - now <= EXPIRY_MAX_S ? t : fallback;
}
