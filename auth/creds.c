// SPDX-License-Identifier: Apache-2.0
#include "auth/creds.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/base64.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/mem.h"

#define AUTHFILE_MAX (1u << 20)

void auth_cred_release(struct auth_cred *c)
{
	if (c->password) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->username);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

static void cred_copy(struct auth_cred *dst, const struct auth_cred *src)
{
	dst->username = xstrdup(src->username);
	dst->password = xstrdup(src->password);
	dst->source = xstrdup(src->source);
}

void auth_store_add(struct auth_store *s, struct auth_provider p)
{
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = p;
}

int auth_store_lookup(const struct auth_store *s, const char *host, const char *path,
		      struct auth_cred *out, struct err *e)
{
	for (size_t i = 0; i < s->n; i++) {
		int r = s->v[i].lookup(s->v[i].self, host, path, out, e);
		if (r != 0)
			return r;
	}
	return 0;
}

void auth_store_release(struct auth_store *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].free)
			s->v[i].free(s->v[i].self);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int split_userpass(struct auth_cred *c, const char *up, size_t len)
{
	const char *colon = memchr(up, ':', len);
	if (!colon || colon == up)
		return -1;
	c->username = xstrndup(up, (size_t)(colon - up));
	c->password = xstrndup(colon + 1, len - (size_t)(colon - up) - 1);
	return 0;
}

int auth_cred_from_b64(struct auth_cred *c, const char *b64, const char *what, struct err *e)
{
	size_t len;
	char *raw = base64_decode(b64, &len);
	if (!raw)
		return err_set(e, ERR_AUTH, "%s: credential is not valid base64", what);
	int r = split_userpass(c, raw, len);
	explicit_bzero(raw, len);
	free(raw);
	if (r < 0 || memchr(c->username, '\0', strlen(c->username)))
		return err_set(e, ERR_AUTH, "%s: credential is not base64 of \"user:password\"", what);
	return 0;
}

char *auth_normalize_host(const char *key)
{
	const char *p = strstr(key, "://");
	p = p ? p + 3 : key;
	size_t n = strcspn(p, "/");
	char *h = xstrndup(p, n);
	for (char *c = h; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	if (!strcmp(h, "index.docker.io") || !strcmp(h, "registry-1.docker.io") ||
	    !strcmp(h, "registry.hub.docker.com")) {
		free(h);
		h = xstrdup("docker.io");
	}
	return h;
}

// --creds: one credential for every host.
static int static_lookup(void *self, const char *host, const char *path, struct auth_cred *out,
			 struct err *e)
{
	(void)host;
	(void)path;
	(void)e;
	cred_copy(out, self);
	return 1;
}

static void static_free(void *self)
{
	auth_cred_release(self);
	free(self);
}

int auth_store_add_static(struct auth_store *s, const char *userpass, struct err *e)
{
	struct auth_cred *c = xcalloc(1, sizeof(*c));
	if (split_userpass(c, userpass, strlen(userpass)) < 0) {
		free(c);
		return err_set(e, ERR_USAGE, "--creds must be USER:PASSWORD");
	}
	c->source = xstrdup("--creds");
	auth_store_add(s, (struct auth_provider){static_lookup, static_free, c});
	return 0;
}

// --authfile: a docker config.json, matched on the exact (normalized) host.
struct authfile {
	struct auth_cred *v;
	char **hosts;
	size_t n;
};

static int authfile_lookup(void *self, const char *host, const char *path, struct auth_cred *out,
			   struct err *e)
{
	(void)path;
	(void)e;
	struct authfile *af = self;
	_cleanup_free_ char *want = auth_normalize_host(host);
	for (size_t i = 0; i < af->n; i++) {
		if (strcmp(af->hosts[i], want) == 0) {
			cred_copy(out, &af->v[i]);
			return 1;
		}
	}
	return 0;
}

static void authfile_free(void *self)
{
	struct authfile *af = self;
	for (size_t i = 0; i < af->n; i++) {
		auth_cred_release(&af->v[i]);
		free(af->hosts[i]);
	}
	free(af->v);
	free(af->hosts);
	free(af);
}

int auth_store_add_authfile(struct auth_store *s, const char *path, struct err *e)
{
	struct buf b;
	buf_init(&b, AUTHFILE_MAX);
	if (file_read_all(path, &b, e) < 0)
		return err_wrap(e, "--authfile");
	cJSON *root = cJSON_ParseWithLength(b.data, b.len);
	buf_release(&b);
	if (!root)
		return err_set(e, ERR_AUTH, "%s: not valid JSON", path);
	cJSON *auths = cJSON_GetObjectItemCaseSensitive(root, "auths");
	if (!cJSON_IsObject(auths)) {
		cJSON_Delete(root);
		return err_set(e, ERR_AUTH, "%s: no \"auths\" object", path);
	}
	struct authfile *af = xcalloc(1, sizeof(*af));
	cJSON *ent;
	int ret = 0;
	cJSON_ArrayForEach(ent, auths) {
		if (!cJSON_IsObject(ent))
			continue;
		struct auth_cred c = {0};
		_cleanup_free_ char *what = xasprintf("%s entry '%s'", path, ent->string);
		cJSON *a = cJSON_GetObjectItemCaseSensitive(ent, "auth");
		cJSON *u = cJSON_GetObjectItemCaseSensitive(ent, "username");
		cJSON *p = cJSON_GetObjectItemCaseSensitive(ent, "password");
		if (cJSON_IsString(a) && a->valuestring[0]) {
			if (auth_cred_from_b64(&c, a->valuestring, what, e) < 0) {
				ret = -1;
				break;
			}
		} else if (cJSON_IsString(u) && cJSON_IsString(p)) {
			c.username = xstrdup(u->valuestring);
			c.password = xstrdup(p->valuestring);
		} else {
			continue; // credential helpers and identity tokens are not ours to use
		}
		c.source = xstrdup(what);
		af->v = xrealloc(af->v, (af->n + 1) * sizeof(*af->v));
		af->hosts = xrealloc(af->hosts, (af->n + 1) * sizeof(*af->hosts));
		af->v[af->n] = c;
		af->hosts[af->n] = auth_normalize_host(ent->string);
		af->n++;
	}
	cJSON_Delete(root);
	if (ret < 0) {
		authfile_free(af);
		return -1;
	}
	auth_store_add(s, (struct auth_provider){authfile_lookup, authfile_free, af});
	return 0;
}
