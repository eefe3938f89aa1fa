// SPDX-License-Identifier: Apache-2.0
#include "pull/chartrepo.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/session.h"
#include "oci/digest.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/semver.h"

static void chartrepo_wipe(char **s)
{
	if (*s) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

// A URL for messages: no user information, query or fragment (a presigned
// chart URL carries its signature in the query).
static char *chartrepo_display(const char *url)
{
	CURLU *u = curl_url();
	char *out = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
		curl_url_set(u, CURLUPART_USER, NULL, 0);
		curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
		curl_url_set(u, CURLUPART_QUERY, NULL, 0);
		curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
		char *s = NULL;
		if (curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
			out = xstrdup(s);
		curl_free(s);
	}
	curl_url_cleanup(u);
	return out ? out : xstrdup("(a URL that does not parse)");
}

static bool chartrepo_scheme_ok(CURLU *u)
{
	char *scheme = NULL;
	bool ok = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		  (!strcasecmp(scheme, "https") || !strcasecmp(scheme, "http"));
	curl_free(scheme);
	return ok;
}

char *chartrepo_resolve(const char *repo_url, const char *ref)
{
	size_t n = strlen(repo_url);
	_cleanup_free_ char *base = n && repo_url[n - 1] == '/' ? xstrdup(repo_url) : xasprintf("%s/", repo_url);
	CURLU *u = curl_url();
	char *s = NULL, *out = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK && chartrepo_scheme_ok(u) &&
	    curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
		out = xstrdup(s);
	curl_free(s);
	curl_url_cleanup(u);
	return out;
}

// r->url, r->origin, r->host and the path credentials are matched with, from
// the URL given; ERR_USAGE for anything but a plain http(s) URL.
static int chartrepo_parse_url(struct chartrepo *r, const char *url, char **path, struct err *e)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *p = NULL, *q = NULL, *user = NULL;
	int ret = err_set(e, ERR_USAGE, "--repo '%.200s' is not an http:// or https:// URL without user, query or "
			  "fragment", url);
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK && chartrepo_scheme_ok(u) &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &p, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_QUERY, &q, 0) == CURLUE_NO_QUERY &&
	    curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER && !strchr(url, '#')) {
		bool named = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK;
		r->host = named ? xasprintf("%s:%s", host, port) : xstrdup(host);
		size_t n = strlen(url);
		while (n > 0 && url[n - 1] == '/')
			n--;
		r->url = xstrndup(url, n);
		r->origin = http_origin(url);
		const char *s = p;
		while (*s == '/')
			s++;
		*path = xstrdup(s);
		size_t pl = strlen(*path);
		while (pl > 0 && (*path)[pl - 1] == '/')
			(*path)[--pl] = 0;
		ret = 0;
	}
	curl_free(host);
	curl_free(port);
	curl_free(p);
	curl_free(q);
	curl_free(user);
	curl_url_cleanup(u);
	return ret;
}

// The credential for charts the store has for the repository, as its registry
// kind makes it, as a Basic header value.
static int chartrepo_credential(struct chartrepo *r, struct auth_store *store, const struct kind_table *kinds,
				const char *path, struct err *e)
{
	struct auth_session s;
	if (auth_session_init(&s, r->host, r->cfg, store, kinds, e) < 0)
		return -1;
	r->kind = xstrdup(kind_name(s.info.kind));
	struct auth_cred c = {0}, src = {0};
	int rc = auth_session_registry_cred(&s, path, &c, e);
	if (rc == 0 && c.username && auth_store_lookup(store, AUTH_ART_CHART, r->host, path, &src, e) > 0)
		r->cred_source = xstrdup(src.source ? src.source : "a credential");
	if (rc == 0 && c.username) {
		_cleanup_free_ char *up = xasprintf("%s:%s", c.username, c.password ? c.password : "");
		char *b64 = base64_encode(up, strlen(up));
		r->authorization = xasprintf("Basic %s", b64);
		explicit_bzero(up, strlen(up));
		chartrepo_wipe(&b64);
	} else if (rc == 0) {
		r->missing = auth_session_missing_cred(&s, path);
	}
	auth_cred_release(&c);
	auth_cred_release(&src);
	auth_session_release(&s);
	return rc < 0 ? -1 : 0;
}

int chartrepo_open(struct chartrepo *r, const char *url, const struct http_config *cfg, struct auth_store *store,
		   const struct kind_table *kinds, struct err *e)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	_cleanup_free_ char *path = NULL;
	if (chartrepo_parse_url(r, url, &path, e) < 0)
		return -1;
	r->path = xstrdup(path);
	r->store = store;
	r->kinds = kinds;
	return chartrepo_credential(r, store, kinds, path, e);
}

void chartrepo_close(struct chartrepo *r)
{
	free(r->url);
	free(r->origin);
	free(r->host);
	free(r->path);
	chartrepo_wipe(&r->authorization);
	free(r->cred_source);
	free(r->kind);
	free(r->missing);
	memset(r, 0, sizeof(*r));
}

// A final answer other than 200 as an error naming what and where.
static int chartrepo_status(const struct chartrepo *r, const char *what, const char *url, long status, bool sent,
			    struct err *e)
{
	_cleanup_free_ char *shown = chartrepo_display(url);
	if (status == 401 || status == 403) {
		if (sent)
			return err_set(e, ERR_AUTH, "%s answered %ld for %s (%s): the credential for charts from %s (registry "
				       "kind %s) was refused", r->host, status, what, shown, r->cred_source, r->kind);
		if (r->missing)
			return err_set(e, ERR_AUTH, "%s answered %ld for %s (%s): it requires authentication and %s (registry "
				       "kind %s)", r->host, status, what, shown, r->missing, r->kind);
		return err_set(e, ERR_AUTH, "%s answered %ld for %s (%s), on another origin than the repository's: "
			       "the repository's credential is not sent there", r->host, status, what, shown);
	}
	if (status == 404)
		return err_set(e, ERR_NOTFOUND, "%s: %s not found (%s)", r->host, what, shown);
	return err_set(e, ERR_NETWORK, "%s: %s answered %ld (%s)", r->host, what, status, shown);
}

// GET url into out (at most max bytes), with the repository's credential when
// url is on its origin; once more after the secret changed when it was refused.
static int chartrepo_get(struct chartrepo *r, const char *what, const char *url, size_t max, struct buf *out,
			 struct err *e)
{
	_cleanup_free_ char *origin = http_origin(url);
	bool mine = !strcmp(origin, r->origin);
	for (int attempt = 0;; attempt++) {
		struct http_req req = {.url = url, .authorization = mine ? r->authorization : NULL, .max_body = max,
				       .too_big = ERR_INTEGRITY, .follow = true};
		struct http_resp resp = {0};
		if (http_request(r->cfg, &req, &resp, e) < 0)
			return err_wrap(e, "%s: %s", r->host, what);
		long status = resp.status;
		if (status == 200) {
			*out = resp.body;
			memset(&resp.body, 0, sizeof(resp.body));
		}
		http_resp_release(&resp);
		if (status == 200)
			return 0;
		struct err re;
		if ((status == 401 || status == 403) && mine && attempt == 0 && r->store &&
		    auth_store_refresh(r->store, &re) > 0) {
			chartrepo_wipe(&r->authorization);
			free(r->cred_source);
			free(r->kind);
			free(r->missing);
			r->cred_source = r->kind = r->missing = NULL;
			if (chartrepo_credential(r, r->store, r->kinds, r->path, e) < 0)
				return -1;
			continue;
		}
		return chartrepo_status(r, what, url, status, mine && r->authorization, e);
	}
}

// The index's digest (hex, or sha256:hex) against the chart's bytes.
static int chartrepo_check_digest(const char *want, const struct buf *tgz, const char *name, const char *version,
				  struct err *e)
{
	if (!want) {
		log_warn("chart %s %s: the repository's index gives no digest; only the transfer checks its bytes", name,
			 version);
		return 0;
	}
	_cleanup_free_ char *full = strchr(want, ':') ? xstrdup(want) : xasprintf("sha256:%s", want);
	for (char *p = full; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (strncmp(full, "sha256:", 7) != 0 || !oci_digest_valid(full))
		return err_set(e, ERR_INTEGRITY, "chart %s %s: the index's digest '%.100s' is not a SHA-256", name,
			       version, want);
	char got[OCI_DIGEST_LEN + 1];
	oci_digest_of(got, tgz->data ? tgz->data : "", tgz->len);
	if (strcmp(got, full) != 0)
		return err_set(e, ERR_INTEGRITY, "chart %s %s has digest %s, not %s as the repository's index says", name,
			       version, got, full);
	return 0;
}

int chartrepo_fetch(struct chartrepo *r, const char *name, const char *want, uint64_t max, struct buf *tgz,
		    char **version, char **url, struct err *e)
{
	*version = *url = NULL;
	_cleanup_free_ char *index_url = xasprintf("%s/index.yaml", r->url), *full = NULL;
	struct buf index = {0};
	struct chartrepo_versions vs = {0};
	int ret = -1;
	if (chartrepo_get(r, "index.yaml", index_url, CHARTREPO_INDEX_MAX, &index, e) < 0)
		goto out;
	if (chartrepo_index_read(index.data ? index.data : "", index.len, name, &vs, e) < 0) {
		err_wrap(e, "%s", r->url);
		goto out;
	}
	buf_release(&index);
	const char **list = xcalloc(vs.n, sizeof(*list));
	for (size_t i = 0; i < vs.n; i++)
		list[i] = vs.v[i].version;
	int at = semver_pick(list, vs.n, want, e);
	free(list);
	if (at < 0) {
		err_wrap(e, "chart %.200s in %s", name, r->url);
		goto out;
	}
	const struct chartrepo_version *v = &vs.v[at];
	full = chartrepo_resolve(r->url, v->url);
	if (!full) {
		err_set(e, ERR_INTEGRITY, "chart %s %s: the index's URL '%.200s' is not an http(s) URL", name, v->version,
			v->url);
		goto out;
	}
	*version = xstrdup(v->version);
	*url = chartrepo_display(full);
	log_info("chart %s: version %s of %zu, from %s", name, v->version, vs.n, *url);
	if (chartrepo_get(r, "the chart", full, max, tgz, e) < 0 ||
	    chartrepo_check_digest(v->digest, tgz, name, v->version, e) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&index);
	chartrepo_versions_release(&vs);
	return ret;
}
