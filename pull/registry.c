// SPDX-License-Identifier: Apache-2.0
#include "pull/registry.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "util/log.h"
#include "util/mem.h"

#define PULL_TAG_MAX 128 // the distribution spec's longest tag

#define ERROR_BODY_MAX (64u << 10)
#define MAX_INDEX_DEPTH 2 // an index may point at a nested index once

void pull_registries_init(struct pull_registries *rs, const struct http_config *cfg,
			  struct auth_store *store, const struct kind_table *kinds)
{
	memset(rs, 0, sizeof(*rs));
	rs->cfg = cfg;
	rs->store = store;
	rs->kinds = kinds;
}

void pull_registries_release(struct pull_registries *rs)
{
	pull_registries_release_ns(rs);
	for (size_t i = 0; i < rs->n; i++) {
		auth_session_release(&rs->v[i]->auth);
		free(rs->v[i]->host);
		free(rs->v[i]->base_url);
		free(rs->v[i]->api);
		free(rs->v[i]->ns);
		free(rs->v[i]);
	}
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}

struct pull_registry *pull_registries_endpoint(struct pull_registries *rs, const struct pull_endpoint_spec *sp,
					       struct err *e)
{
	for (size_t i = 0; i < rs->n; i++)
		if (!strcmp(rs->v[i]->api, sp->api) && !strcmp(rs->v[i]->ns ? rs->v[i]->ns : "", sp->ns ? sp->ns : ""))
			return rs->v[i];
	struct pull_registry *r = xcalloc(1, sizeof(*r));
	if (auth_session_init(&r->auth, sp->host, sp->cfg ? sp->cfg : rs->cfg, rs->store, rs->kinds, e) < 0) {
		free(r);
		return NULL;
	}
	free(r->auth.api_url);
	r->auth.api_url = xstrdup(sp->api);
	r->host = xstrdup(sp->host);
	r->base_url = xstrdup(sp->base_url);
	r->api = xstrdup(sp->api);
	r->ns = sp->ns ? xstrdup(sp->ns) : NULL;
	r->caps = sp->caps;
	rs->v = xrealloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
	rs->v[rs->n++] = r;
	return r;
}

struct pull_registry *pull_registries_get(struct pull_registries *rs, const char *host, struct err *e)
{
	_cleanup_free_ char *base = http_base_url(rs->cfg, host);
	_cleanup_free_ char *api = xasprintf("%s/v2", base);
	struct pull_endpoint_spec sp = {.host = host, .base_url = base, .api = api, .caps = PULL_CAP_ALL};
	return pull_registries_endpoint(rs, &sp, e);
}

// A query value as Go's url.Values.Encode writes it (containerd's ?ns=):
// unreserved bytes as they are, the rest %XX.
static char *query_escape(const char *v)
{
	char *out = xmalloc(3 * strlen(v) + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p))
			*o++ = (char)*p;
		else
			o += sprintf(o, "%%%02X", *p);
	}
	*o = '\0';
	return out;
}

char *pull_repo_url(const struct pull_repo *repo, const char *suffix)
{
	const struct pull_registry *reg = repo->reg;
	if (!reg->ns)
		return xasprintf("%s/%s%s", reg->api, repo->path, suffix);
	_cleanup_free_ char *ns = query_escape(reg->ns);
	return xasprintf("%s/%s%s%sns=%s", reg->api, repo->path, suffix, strchr(suffix, '?') ? "&" : "?", ns);
}

int pull_repo_auth_error(struct pull_repo *repo, struct err *e)
{
	struct auth_session *a = &repo->reg->auth;
	if (a->cred_source)
		return err_set(e, ERR_AUTH, "registry %s rejected the credential from %s for %s",
			       repo->reg->host, a->cred_source, repo->path);
	return err_set(e, ERR_AUTH, "registry %s denied access to %s: no registry credential found for hostname %s",
		       repo->reg->host, repo->path, repo->reg->host);
}

// pull_repo_get with extra request headers (hdrs, may be NULL).
static int repo_get(struct pull_repo *repo, const char *suffix, const char *accept, const struct curl_slist *hdrs,
		    size_t max, struct http_resp *r, struct err *e)
{
	struct pull_registry *reg = repo->reg;
	_cleanup_free_ char *url = pull_repo_url(repo, suffix);
	for (int attempt = 0; attempt < 2; attempt++) {
		_cleanup_free_ char *authz = NULL;
		if (auth_session_header(&reg->auth, repo->path, &authz, e) < 0)
			return -1;
		// A manifest or index over its cap breaks the limits: no retry cures
		// that (exit 6, as a config over the cap is).
		struct http_req req = {.url = url, .authorization = authz, .accept = accept, .headers = hdrs,
				       .max_body = max, .too_big = ERR_INTEGRITY, .follow = true};
		int rc = http_request(reg->auth.cfg, &req, r, e);
		if (authz)
			explicit_bzero(authz, strlen(authz));
		if (rc < 0)
			return -1;
		if (!auth_session_rejected(&reg->auth, r->status, r->body.data, r->body.len))
			return 0;
		log_debug("registry %s: HTTP %ld for %s%s, re-authenticating", reg->host, r->status, repo->path, suffix);
		struct auth_challenges chal = {0};
		auth_challenge_parse_lines(&chal, r->www_authenticate, r->nwww_authenticate);
		auth_session_reject(&reg->auth, repo->path, &chal);
		auth_challenges_release(&chal);
		if (attempt == 0)
			http_resp_release(r);
	}
	http_resp_release(r);
	return pull_repo_auth_error(repo, e);
}

int pull_repo_get(struct pull_repo *repo, const char *suffix, const char *accept, size_t max,
		  struct http_resp *r, struct err *e)
{
	return repo_get(repo, suffix, accept, NULL, max, r, e);
}

// The registry's error code ("MANIFEST_UNKNOWN") from an errors body, if any.
static char *registry_error_code(const struct http_resp *r)
{
	cJSON *root = cJSON_ParseWithLength(buf_str(&r->body), r->body.len);
	cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "errors");
	cJSON *first = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
	cJSON *code = cJSON_GetObjectItemCaseSensitive(first, "code");
	char *out = NULL;
	if (cJSON_IsString(code) && strlen(code->valuestring) < 64)
		out = xstrdup(code->valuestring);
	cJSON_Delete(root);
	return out;
}

int pull_repo_get_blob(struct pull_repo *repo, const struct oci_descriptor *d, uint64_t max, struct buf *out,
		       struct err *e)
{
	if (d->size > max || d->size >= SIZE_MAX)
		return err_set(e, ERR_INTEGRITY, "blob %s: %llu bytes, more than the %llu it may have", d->digest,
			       (unsigned long long)d->size, (unsigned long long)max);
	_cleanup_free_ char *suffix = xasprintf("/blobs/%s", d->digest);
	// A closed range, as the engine asks for every blob (stores, proxies and
	// access logs see imgpull's requests alike); a 200 with the whole blob is
	// as good.
	char range[64];
	snprintf(range, sizeof(range), "Range: bytes=0-%llu", (unsigned long long)(d->size ? d->size - 1 : 0));
	struct curl_slist *hdrs = d->size ? curl_slist_append(NULL, range) : NULL;
	struct http_resp r;
	int got_rc = repo_get(repo, suffix, NULL, hdrs, (size_t)d->size + 1, &r, e);
	curl_slist_free_all(hdrs);
	if (got_rc < 0)
		return err_wrap(e, "blob %s", d->digest);
	int ret = 0;
	char got[OCI_DIGEST_LEN + 1];
	if (r.status != 200 && r.status != 206)
		ret = err_set(e, r.status == 404 ? ERR_NOTFOUND : ERR_NETWORK, "blob %s from %s/%s: HTTP %ld", d->digest,
			      repo->reg->host, repo->path, r.status);
	else if (r.body.len != d->size)
		ret = err_set(e, ERR_INTEGRITY, "blob %s is %zu bytes, the manifest says %llu", d->digest, r.body.len,
			      (unsigned long long)d->size);
	else if (oci_digest_of_like(got, d->digest, r.body.data ? r.body.data : "", r.body.len),
		 strcmp(got, d->digest) != 0)
		ret = err_set(e, ERR_INTEGRITY, "blob %s from %s/%s has digest %s", d->digest, repo->reg->host,
			      repo->path, got);
	else if (buf_add(out, r.body.data ? r.body.data : "", r.body.len) < 0)
		ret = err_set(e, ERR_INTEGRITY, "blob %s is too large", d->digest);
	http_resp_release(&r);
	return ret;
}

int pull_repo_manifest(struct pull_repo *repo, const char *reference, const char *what, char **body, size_t *len,
		       char digest[OCI_DIGEST_LEN + 1], struct oci_manifest *m, struct err *e)
{
	_cleanup_free_ char *suffix = xasprintf("/manifests/%s", reference);
	struct http_resp r;
	if (pull_repo_get(repo, suffix, OCI_MANIFEST_ACCEPT, OCI_MANIFEST_MAX, &r, e) < 0)
		return err_wrap(e, "%s", what);
	int ret = 0;
	if (r.status == 404) {
		_cleanup_free_ char *code = registry_error_code(&r);
		ret = err_set(e, ERR_NOTFOUND, "%s: not found (%s)", what, code ? code : "HTTP 404");
		goto out;
	}
	if (r.status == 403) {
		ret = err_set(e, ERR_AUTH, "%s: access denied (HTTP 403)", what);
		goto out;
	}
	if (r.status != 200) {
		ret = err_set(e, ERR_NETWORK, "%s: registry answered HTTP %ld", what, r.status);
		goto out;
	}
	// In the algorithm of the digest asked for (sha256 for a tag).
	oci_digest_of_like(digest, reference, r.body.data ? r.body.data : "", r.body.len);
	if (oci_digest_valid(reference) && strcmp(reference, digest) != 0) {
		ret = err_set(e, ERR_INTEGRITY, "%s: manifest content has digest %s", what, digest);
		goto out;
	}
	if (r.docker_digest && oci_digest_valid(r.docker_digest)) {
		char said[OCI_DIGEST_LEN + 1];
		oci_digest_of_like(said, r.docker_digest, r.body.data ? r.body.data : "", r.body.len);
		if (strcmp(r.docker_digest, said) != 0) {
			ret = err_set(e, ERR_INTEGRITY, "%s: manifest content has digest %s, registry says %s",
				      what, said, r.docker_digest);
			goto out;
		}
	}
	if (oci_manifest_parse(m, r.content_type, buf_str(&r.body), r.body.len, e) < 0) {
		ret = err_wrap(e, "%s", what);
		goto out;
	}
	*len = r.body.len;
	*body = buf_steal(&r.body);
out:
	http_resp_release(&r);
	return ret;
}

// The manifest for ref from img->repo (following an index to want's platform).
static int resolve_at(struct pull_image *img, const struct oci_platform *want, struct err *e)
{
	const char *reference = img->ref.digest ? img->ref.digest : img->ref.tag;
	char next[OCI_DIGEST_LEN + 1];
	_cleanup_free_ char *what = xstrdup(img->name);
	for (int depth = 0;; depth++) {
		if (pull_repo_manifest(&img->repo, reference, what, &img->manifest_body, &img->manifest_len,
				       img->manifest_digest, &img->manifest, e) < 0)
			return -1;
		if (depth == 0)
			memcpy(img->top_digest, img->manifest_digest, sizeof(img->top_digest));
		if (img->manifest.kind == OCI_KIND_MANIFEST)
			return 0;
		if (depth >= MAX_INDEX_DEPTH)
			return err_set(e, ERR_INTEGRITY, "%s: indexes nested too deeply", img->name);
		const struct oci_descriptor *d;
		if (oci_index_select(&img->manifest, want, &d, e) < 0)
			return err_wrap(e, "%s", img->name);
		snprintf(next, sizeof(next), "%s", d->digest);
		if (d->has_platform) {
			oci_platform_release(&img->platform);
			img->platform.os = xstrdup(d->platform.os);
			img->platform.arch = xstrdup(d->platform.arch);
			img->platform.variant = d->platform.variant ? xstrdup(d->platform.variant) : NULL;
			img->has_platform = true;
		}
		if (depth == 0) { // the index a signature signs, kept for the layout
			img->top_body = img->manifest_body;
			img->top_len = img->manifest_len;
			img->top_media_type = xstrdup(img->manifest.media_type ? img->manifest.media_type
										: OCI_MT_INDEX);
		} else {
			free(img->manifest_body);
		}
		img->manifest_body = NULL;
		oci_manifest_release(&img->manifest);
		free(what);
		what = xasprintf("%s (%s)", img->name, next);
		reference = next;
	}
}

// What an endpoint's failure leaves for the next: nothing of the manifest.
static void resolve_reset(struct pull_image *img)
{
	free(img->manifest_body);
	free(img->top_body);
	free(img->top_media_type);
	img->manifest_body = img->top_body = img->top_media_type = NULL;
	oci_manifest_release(&img->manifest);
	oci_platform_release(&img->platform);
	img->has_platform = false;
}

// The image's blob sources: the endpoints that may serve blobs, in order.
static void resolve_sources(struct pull_image *img, struct pull_registry *const *eps, size_t n)
{
	img->srcs = xcalloc(n ? n : 1, sizeof(*img->srcs));
	for (size_t i = 0; i < n; i++)
		if (eps[i]->caps & PULL_CAP_PULL)
			img->srcs[img->nsrcs++] = (struct pull_repo){.reg = eps[i], .path = xstrdup(img->ref.path)};
	for (size_t i = 0; i + 1 < img->nsrcs; i++)
		img->srcs[i].next_src = &img->srcs[i + 1];
}

int pull_image_resolve(struct pull_image *img, struct pull_registries *rs, const char *refstr,
		       const struct oci_platform *want, struct err *e)
{
	memset(img, 0, sizeof(*img));
	if (oci_ref_parse(&img->ref, refstr, e) < 0)
		return -1;
	img->name = oci_ref_string(&img->ref);
	struct pull_registry *const *eps;
	size_t n;
	if (pull_registries_endpoints(rs, img->ref.domain, img->ref.registry, &eps, &n, e) < 0)
		return -1;
	// A tag only where resolving is allowed; a digest anywhere that serves pulls.
	unsigned need = img->ref.digest ? PULL_CAP_PULL : PULL_CAP_RESOLVE;
	img->repo.path = xstrdup(img->ref.path);
	int r = err_set(e, ERR_USAGE, "%s: no endpoint of %s may %s", img->name, img->ref.domain,
			img->ref.digest ? "serve it (capabilities pull)" : "resolve its tag (capabilities resolve)");
	for (size_t i = 0; i < n; i++) {
		if (!(eps[i]->caps & need))
			continue;
		img->repo.reg = eps[i];
		r = resolve_at(img, want, e);
		if (r == 0)
			break;
		resolve_reset(img);
		if (i + 1 < n)
			log_warn("%s: %s: %s; asking the next endpoint", img->name, eps[i]->host, e->msg);
	}
	if (r == 0)
		resolve_sources(img, eps, n);
	return r;
}

struct pull_repo *pull_image_blob_source(struct pull_image *img)
{
	return img->nsrcs ? &img->srcs[0] : &img->repo;
}

void pull_image_release(struct pull_image *img)
{
	oci_ref_release(&img->ref);
	free(img->name);
	free(img->repo.path);
	free(img->manifest_body);
	free(img->top_body);
	free(img->top_media_type);
	for (size_t i = 0; i < img->nsrcs; i++)
		free(img->srcs[i].path);
	free(img->srcs);
	oci_manifest_release(&img->manifest);
	oci_platform_release(&img->platform);
	memset(img, 0, sizeof(*img));
}

// One link-value of a Link header ("<target>; rel=\"next\"", with other
// parameters maybe): whether it is rel next, and its target (malloc'd).
static bool tags_link_next(const char *v, size_t len, char **target)
{
	*target = NULL;
	const char *open = memchr(v, '<', len), *close = open ? memchr(open, '>', len - (size_t)(open - v)) : NULL;
	if (!open || !close)
		return false;
	_cleanup_free_ char *params = xstrndup(close + 1, len - (size_t)(close + 1 - v));
	for (char *p = params; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!strstr(params, "rel=\"next\"") && !strstr(params, "rel=next"))
		return false;
	*target = xstrndup(open + 1, (size_t)(close - open - 1));
	return true;
}

int pull_tags_next(const char *link, const char *base_url, const char *path, char **suffix)
{
	*suffix = NULL;
	_cleanup_free_ char *target = NULL;
	for (const char *v = link; v && *v && !target;) { // link-values, comma-separated
		size_t len = strcspn(v, ",");
		char *t;
		if (tags_link_next(v, len, &t))
			target = t;
		v += len + (v[len] == ',');
	}
	if (!target)
		return 0;
	_cleanup_free_ char *prefix = xasprintf("/v2/%s/tags/list?", path);
	const char *rel = target;
	if (target[0] != '/') { // absolute: on the registry's own origin
		_cleanup_free_ char *to = http_origin(target), *bo = http_origin(base_url);
		const char *p = strstr(target, "://");
		rel = p ? strchr(p + 3, '/') : NULL;
		if (!rel || strcmp(to, bo) != 0)
			return -1;
	}
	if (strncmp(rel, prefix, strlen(prefix)) != 0 || strpbrk(rel, " \t\r\n#"))
		return -1;
	*suffix = xstrdup(rel + strlen("/v2/") + strlen(path));
	return 0;
}

// One page of tags: {"name": ..., "tags": [..] | null}.
static int tags_page(const struct http_resp *r, const char *what, char ***tags, size_t *n, struct err *e)
{
	cJSON *root = cJSON_ParseWithLength(buf_str(&r->body), r->body.len);
	cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "tags");
	int ret = 0;
	if (!cJSON_IsObject(root) || (!cJSON_IsArray(list) && !cJSON_IsNull(list) && list)) {
		ret = err_set(e, ERR_INTEGRITY, "%s: the tag list is not the registry API's", what);
		goto out;
	}
	int count = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0;
	const cJSON *t = count ? list->child : NULL;
	for (; t; t = t->next) {
		if (!cJSON_IsString(t) || strlen(t->valuestring) > PULL_TAG_MAX) {
			ret = err_set(e, ERR_INTEGRITY, "%s: the tag list holds something that is not a tag", what);
			goto out;
		}
		if (*n == PULL_TAGS_MAX) {
			ret = err_set(e, ERR_INTEGRITY, "%s: more than %d tags", what, PULL_TAGS_MAX);
			goto out;
		}
		*tags = xrealloc(*tags, (*n + 1) * sizeof(**tags));
		(*tags)[(*n)++] = xstrdup(t->valuestring);
	}
out:
	cJSON_Delete(root);
	return ret;
}

int pull_repo_tags(struct pull_repo *repo, char ***tags, size_t *n, struct err *e)
{
	*tags = NULL;
	*n = 0;
	_cleanup_free_ char *what = xasprintf("%s/%s", repo->reg->host, repo->path);
	char *suffix = xstrdup("/tags/list");
	int ret = 0;
	for (int page = 0; suffix && ret == 0; page++) {
		struct http_resp r;
		if (page == PULL_TAGS_PAGES_MAX) {
			ret = err_set(e, ERR_INTEGRITY, "%s: the tag list runs over %d pages", what, PULL_TAGS_PAGES_MAX);
			break;
		}
		if (repo_get(repo, suffix, "application/json", NULL, PULL_TAGS_PAGE_MAX, &r, e) < 0) {
			ret = err_wrap(e, "%s: tags", what);
			break;
		}
		free(suffix);
		suffix = NULL;
		if (r.status != 200)
			ret = err_set(e, r.status == 404 ? ERR_NOTFOUND : ERR_NETWORK, "%s: the tag list answered HTTP %ld",
				      what, r.status);
		else if ((ret = tags_page(&r, what, tags, n, e)) == 0 &&
			 pull_tags_next(r.link, repo->reg->base_url, repo->path, &suffix) < 0)
			ret = err_set(e, ERR_INTEGRITY, "%s: the tag list's next page is elsewhere or malformed", what);
		http_resp_release(&r);
	}
	free(suffix);
	if (ret < 0) {
		for (size_t i = 0; i < *n; i++)
			free((*tags)[i]);
		free(*tags);
		*tags = NULL;
		*n = 0;
	}
	return ret;
}
