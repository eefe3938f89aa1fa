// SPDX-License-Identifier: Apache-2.0
#include "auth/creds.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/base64.h"
#include "util/log.h"
#include "util/mem.h"

#define AUTHFILE_MAX (1u << 20)

static void free_secret_str(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void auth_cred_release(struct auth_cred *c)
{
	free_secret_str(c->password);
	free(c->username);
	free(c->source);
	free(c->matched);
	memset(c, 0, sizeof(*c));
}

void auth_cred_copy(struct auth_cred *dst, const struct auth_cred *src)
{
	dst->username = src->username ? xstrdup(src->username) : NULL;
	dst->password = src->password ? xstrdup(src->password) : NULL;
	dst->source = src->source ? xstrdup(src->source) : NULL;
	dst->matched = src->matched ? xstrdup(src->matched) : NULL;
}

const char *auth_artifact_name(enum auth_artifact a)
{
	return a == AUTH_ART_CHART ? "charts" : "images";
}

void auth_store_add(struct auth_store *s, struct auth_provider p)
{
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = p;
}

int auth_store_lookup(const struct auth_store *s, enum auth_artifact art, const char *host,
		      const char *path, struct auth_cred *out, struct err *e)
{
	for (size_t i = 0; i < s->n; i++) {
		int r = s->v[i].lookup(s->v[i].self, art, host, path, out, e);
		if (r != 0)
			return r;
	}
	return 0;
}

int auth_store_refresh(const struct auth_store *s, struct err *e)
{
	int changed = 0;
	bool failed = false;
	for (size_t i = 0; i < s->n; i++) {
		if (!s->v[i].refresh)
			continue;
		struct err later = {0};
		int r = s->v[i].refresh(s->v[i].self, failed ? &later : e);
		if (r < 0)
			failed = true;
		else if (r > 0)
			changed = 1;
	}
	return failed ? -1 : changed;
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
	// A user name is printable; a control character there is a damaged or
	// hostile credential (it would also break any header or log it reached).
	for (const char *p = up; p < colon; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
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
	// A NUL would silently cut the name or password short.
	int r = memchr(raw, '\0', len) ? -1 : split_userpass(c, raw, len);
	explicit_bzero(raw, len);
	free(raw);
	if (r < 0)
		return err_set(e, ERR_AUTH, "%s: credential is not base64 of \"user:password\"", what);
	return 0;
}

char *auth_key_display(const char *key)
{
	size_t n = strnlen(key, 129);
	char *d = xstrndup(key, n > 128 ? 125 : n);
	for (char *c = d; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	if (n > 128) {
		char *t = xasprintf("%s...", d);
		free(d);
		d = t;
	}
	return d;
}

void auth_json_wipe(struct cJSON *j)
{
	for (; j; j = j->next) {
		if (j->valuestring)
			explicit_bzero(j->valuestring, strlen(j->valuestring));
		auth_json_wipe(j->child);
	}
}

int auth_secret_read(const char *path, size_t max, char **data, size_t *len, struct err *e)
{
	*data = NULL;
	*len = 0;
	// O_NONBLOCK: a FIFO put in place of the file must not hang us; fstat rejects it.
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return err_sys(e, errno == ENOENT ? ERR_NOTFOUND : ERR_STORAGE, errno,
			       "cannot open '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot stat '%s'", path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, ERR_STORAGE, "'%s' is not a regular file", path);
	if ((unsigned long long)st.st_size > max)
		return err_set(e, ERR_STORAGE, "'%s' is larger than %zu bytes", path, max);
	// Sized once and never grown, so no stray copy of a secret is left in freed memory.
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *b = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			auth_secret_free(b, n);
			return err_set(e, ERR_STORAGE, "'%s' changed while being read", path);
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			auth_secret_free(b, n);
			return err_sys(e, ERR_STORAGE, saved, "cannot read '%s'", path);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b[n] = '\0';
	*data = b;
	*len = n;
	return 0;
}

void auth_secret_free(char *data, size_t len)
{
	if (data) {
		explicit_bzero(data, len);
		free(data);
	}
}

// ---- keyring ----

bool auth_keyring_add(struct auth_keyring *k, const char *key, struct auth_cred *c)
{
	return auth_keyring_add_serving(k, key, AUTH_SERVES_ALL, c);
}

bool auth_keyring_add_serving(struct auth_keyring *k, const char *key, unsigned serves,
			      struct auth_cred *c)
{
	struct auth_host_key hk;
	if (auth_host_key_parse(&hk, key) < 0) {
		auth_cred_release(c);
		return false;
	}
	free(c->matched);
	c->matched = xstrdup(key);
	k->v = xrealloc(k->v, (k->n + 1) * sizeof(*k->v));
	k->v[k->n].key = hk;
	k->v[k->n].cred = *c;
	k->v[k->n].serves = serves;
	k->n++;
	memset(c, 0, sizeof(*c));
	return true;
}

void auth_keyring_append(struct auth_keyring *dst, struct auth_keyring *src)
{
	if (!src->n)
		return;
	dst->v = xrealloc(dst->v, (dst->n + src->n) * sizeof(*dst->v));
	memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	free(src->v);
	src->v = NULL;
	src->n = 0;
}

struct keyed_pos {
	struct auth_keyed *e;
	size_t pos;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed_pos *x = a, *y = b;
	int r = auth_host_key_cmp(&x->e->key, &y->e->key);
	if (r)
		return r;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

void auth_keyring_sort(struct auth_keyring *k)
{
	if (k->n < 2)
		return;
	// qsort is not stable; the position makes equal keys keep their load order.
	struct keyed_pos *tmp = xmalloc(k->n * sizeof(*tmp));
	for (size_t i = 0; i < k->n; i++)
		tmp[i] = (struct keyed_pos){&k->v[i], i};
	qsort(tmp, k->n, sizeof(*tmp), keyed_cmp);
	struct auth_keyed *sorted = xmalloc(k->n * sizeof(*sorted));
	for (size_t i = 0; i < k->n; i++)
		sorted[i] = *tmp[i].e;
	free(tmp);
	free(k->v);
	k->v = sorted;
}

int auth_keyring_lookup_for(const struct auth_keyring *k, enum auth_artifact art, const char *host,
			    const char *path, struct auth_cred *out)
{
	for (size_t i = 0; i < k->n; i++) {
		if ((k->v[i].serves & AUTH_SERVES(art)) && auth_host_key_match(&k->v[i].key, host, path)) {
			auth_cred_copy(out, &k->v[i].cred);
			return 1;
		}
	}
	return 0;
}

int auth_keyring_lookup(const struct auth_keyring *k, const char *host, const char *path,
			struct auth_cred *out)
{
	return auth_keyring_lookup_for(k, AUTH_ART_IMAGE, host, path, out);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool auth_keyring_equal(const struct auth_keyring *a, const struct auth_keyring *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct auth_cred *x = &a->v[i].cred, *y = &b->v[i].cred;
		if (a->v[i].serves != b->v[i].serves || !str_eq(a->v[i].key.norm, b->v[i].key.norm) ||
		    !str_eq(x->matched, y->matched) ||
		    !str_eq(x->username, y->username) || !str_eq(x->password, y->password) ||
		    !str_eq(x->source, y->source))
			return false;
	}
	return true;
}

void auth_keyring_release(struct auth_keyring *k)
{
	for (size_t i = 0; i < k->n; i++) {
		auth_host_key_release(&k->v[i].key);
		auth_cred_release(&k->v[i].cred);
	}
	free(k->v);
	k->v = NULL;
	k->n = 0;
}

int auth_keyring_add_dockercfg(struct auth_keyring *k, const struct cJSON *map, const char *file,
			       bool strict, struct err *e)
{
	const cJSON *ent;
	cJSON_ArrayForEach(ent, map) {
		_cleanup_free_ char *disp = auth_key_display(ent->string);
		_cleanup_free_ char *what = xasprintf("%s entry '%s'", file, disp);
		if (!cJSON_IsObject(ent)) {
			if (strict)
				return err_set(e, ERR_AUTH, "%s: not an object", what);
			continue;
		}
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(ent, "auth");
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(ent, "username");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(ent, "password");
		if (a && !cJSON_IsString(a) && !cJSON_IsNull(a))
			return err_set(e, ERR_AUTH, "%s: \"auth\" is not a string", what);
		struct auth_cred c = {0};
		if (cJSON_IsString(a) && a->valuestring[0]) {
			if (auth_cred_from_b64(&c, a->valuestring, what, e) < 0)
				return -1;
		} else if (cJSON_IsString(u) && u->valuestring[0]) {
			c.username = xstrdup(u->valuestring);
			c.password = xstrdup(cJSON_IsString(p) ? p->valuestring : "");
		} else {
			log_debug("%s: no auth or username, skipped", what);
			continue; // credential helpers and identity tokens are not ours to use
		}
		c.source = steal_pointer(&what);
		if (!auth_keyring_add(k, ent->string, &c))
			log_warn("%s entry '%s': not a registry name, ignored", file, disp);
	}
	return 0;
}

// ---- --creds: one credential for every host ----

static int static_lookup(void *self, enum auth_artifact art, const char *host, const char *path,
			 struct auth_cred *out, struct err *e)
{
	(void)art; // --creds serves every artifact type
	(void)host;
	(void)path;
	(void)e;
	auth_cred_copy(out, self);
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
	auth_store_add(s, (struct auth_provider){static_lookup, static_free, c, NULL});
	return 0;
}

// ---- --authfile: a docker config.json ----

static int authfile_lookup(void *self, enum auth_artifact art, const char *host, const char *path,
			   struct auth_cred *out, struct err *e)
{
	(void)e;
	return auth_keyring_lookup_for(self, art, host, path, out);
}

static void authfile_free(void *self)
{
	auth_keyring_release(self);
	free(self);
}

int auth_store_add_authfile(struct auth_store *s, const char *path, struct err *e)
{
	char *data;
	size_t len;
	if (auth_secret_read(path, AUTHFILE_MAX, &data, &len, e) < 0) {
		e->cls = ERR_AUTH; // a credential input, missing or unreadable, as a --secret is
		return err_wrap(e, "--authfile");
	}
	cJSON *root = cJSON_ParseWithLength(data, len);
	auth_secret_free(data, len);
	if (!root)
		return err_set(e, ERR_AUTH, "%s: not valid JSON", path);
	cJSON *auths = cJSON_GetObjectItemCaseSensitive(root, "auths");
	struct auth_keyring *k = xcalloc(1, sizeof(*k));
	int ret = cJSON_IsObject(auths) ? auth_keyring_add_dockercfg(k, auths, path, false, e)
					: err_set(e, ERR_AUTH, "%s: no \"auths\" object", path);
	auth_json_wipe(root);
	cJSON_Delete(root);
	if (ret < 0) {
		authfile_free(k);
		return -1;
	}
	auth_keyring_sort(k);
	auth_store_add(s, (struct auth_provider){authfile_lookup, authfile_free, k, NULL});
	return 0;
}
