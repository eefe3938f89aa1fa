// SPDX-License-Identifier: Apache-2.0
#include "auth/secret.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/mem.h"

// A Kubernetes secret is at most 1 MiB in all, so no key of one is larger.
#define SECRET_FILE_MAX (1u << 20)
#define SECRET_DIR_MAX 256
// How often to re-read a directory whose ..data link moved during the read.
#define SECRET_SWAP_RETRIES 3

struct secret_provider {
	char **paths;
	size_t npaths;
	struct auth_keyring ring;
};

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir);
	return xasprintf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

// The AUTH_SERVES() bits of an entry's artifactTypes (CONTAINER: images, HELM:
// charts; none listed: both), 0 if it names only other types, -1 if malformed.
static int entry_serves(const cJSON *types)
{
	if (!types || cJSON_IsNull(types))
		return (int)AUTH_SERVES_ALL;
	if (!cJSON_IsArray(types))
		return -1;
	bool any = false;
	unsigned serves = 0;
	const cJSON *t;
	cJSON_ArrayForEach(t, types) {
		if (!cJSON_IsString(t))
			return -1;
		any = true;
		if (strcasecmp(t->valuestring, "CONTAINER") == 0)
			serves |= AUTH_SERVES(AUTH_ART_IMAGE);
		else if (strcasecmp(t->valuestring, "HELM") == 0)
			serves |= AUTH_SERVES(AUTH_ART_CHART);
	}
	return (int)(any ? serves : AUTH_SERVES_ALL);
}

static int add_registry_credentials(struct auth_keyring *k, const cJSON *list, const char *file,
				    struct err *e)
{
	int i = -1;
	const cJSON *ent;
	cJSON_ArrayForEach(ent, list) {
		i++;
		if (!cJSON_IsObject(ent))
			return err_set(e, ERR_AUTH, "%s: registryCredentials[%d] is not an object", file, i);
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(ent, "registryHostname");
		if (!cJSON_IsString(h) || !h->valuestring[0])
			return err_set(e, ERR_AUTH, "%s: registryCredentials[%d] has no registryHostname",
				       file, i);
		_cleanup_free_ char *disp = auth_key_display(h->valuestring);
		_cleanup_free_ char *what = xasprintf("%s entry '%s'", file, disp);
		int serves = entry_serves(cJSON_GetObjectItemCaseSensitive(ent, "artifactTypes"));
		if (serves < 0)
			return err_set(e, ERR_AUTH, "%s: artifactTypes is not a list of strings", what);
		if (!serves) {
			log_debug("%s: neither CONTAINER nor HELM, skipped", what);
			continue;
		}
		struct auth_host_key hk;
		if (auth_host_key_parse(&hk, h->valuestring) < 0)
			return err_set(e, ERR_AUTH, "%s: not a registry host name", what);
		bool has_path = hk.path[0] != '\0';
		auth_host_key_release(&hk);
		if (has_path)
			return err_set(e, ERR_AUTH,
				       "%s: the hostname is the base host only, not a repository path", what);
		const cJSON *sec = cJSON_GetObjectItemCaseSensitive(ent, "secret");
		const cJSON *v = cJSON_IsObject(sec) ? cJSON_GetObjectItemCaseSensitive(sec, "value") : NULL;
		if (!cJSON_IsString(v) || !v->valuestring[0])
			return err_set(e, ERR_AUTH, "%s: no secret.value", what);
		struct auth_cred c = {0};
		if (auth_cred_from_b64(&c, v->valuestring, what, e) < 0)
			return -1;
		c.source = steal_pointer(&what);
		auth_keyring_add_serving(k, h->valuestring, (unsigned)serves, &c);
	}
	return 0;
}

// The legacy .dockercfg is a bare map of registry entries; anything else at the
// top level is some other document.
static bool is_dockercfg(const cJSON *root)
{
	static const char *const fields[] = {"auth", "username", "password", "email", "identitytoken"};
	const cJSON *ent;
	cJSON_ArrayForEach(ent, root) {
		if (!cJSON_IsObject(ent))
			return false;
		bool known = false;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			known = known || cJSON_GetObjectItemCaseSensitive(ent, fields[i]);
		if (!known)
			return false;
	}
	return true;
}

int auth_secret_parse(struct auth_keyring *k, const char *file, const char *data, size_t len, struct err *e)
{
	cJSON *root = cJSON_ParseWithLength(data, len);
	if (!root) // cJSON's error position points into the secret: never show it
		return err_set(e, ERR_AUTH, "%s: not valid JSON", file);
	const cJSON *auths = cJSON_GetObjectItemCaseSensitive(root, "auths");
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "registryCredentials");
	int r;
	if (cJSON_IsObject(root) && cJSON_IsObject(auths))
		r = auth_keyring_add_dockercfg(k, auths, file, true, e);
	else if (cJSON_IsObject(root) && cJSON_IsArray(list))
		r = add_registry_credentials(k, list, file, e);
	else if (cJSON_IsObject(root) && !auths && !list && is_dockercfg(root))
		r = auth_keyring_add_dockercfg(k, root, file, true, e);
	else
		r = err_set(e, ERR_AUTH,
			    "%s: not a .dockerconfigjson, .dockercfg or registryCredentials document", file);
	auth_json_wipe(root);
	cJSON_Delete(root);
	return r;
}

// 1 if the file was a credential document, 0 if skipped (in a directory, not JSON).
static int load_file(struct auth_keyring *k, const char *path, bool in_dir, struct err *e)
{
	char *data;
	size_t len;
	if (auth_secret_read(path, SECRET_FILE_MAX, &data, &len, e) < 0) {
		e->cls = ERR_AUTH;
		return -1;
	}
	size_t i = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
		i++;
	if (i == len || data[i] != '{') {
		auth_secret_free(data, len);
		if (!in_dir)
			return err_set(e, ERR_AUTH, "%s: not a registry credential file (JSON expected)", path);
		log_debug("%s: not JSON, skipped", path);
		return 0;
	}
	int r = auth_secret_parse(k, path, data, len, e);
	auth_secret_free(data, len);
	return r < 0 ? -1 : 1;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_dir_once(struct auth_keyring *k, const char *dir, struct err *e)
{
	DIR *d = opendir(dir);
	if (!d)
		return err_sys(e, ERR_AUTH, errno, "cannot open secret directory '%s'", dir);
	char **names = NULL;
	size_t n = 0, json = 0;
	int ret = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		// ".." prefixes are the kubelet's bookkeeping (..data, ..2026_...), never keys.
		if (strcmp(de->d_name, ".") == 0 || strncmp(de->d_name, "..", 2) == 0)
			continue;
		if (n == SECRET_DIR_MAX) {
			ret = err_set(e, ERR_AUTH, "secret directory '%s' has more than %d files", dir,
				      SECRET_DIR_MAX);
			break;
		}
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	if (!de && errno && ret == 0)
		ret = err_sys(e, ERR_AUTH, errno, "cannot read secret directory '%s'", dir);
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && ret == 0; i++) {
		_cleanup_free_ char *p = path_join(dir, names[i]);
		struct stat st;
		if (stat(p, &st) < 0) {
			// The kubelet drops a removed key's link just after swapping ..data.
			if (errno == ENOENT && lstat(p, &st) == 0 && S_ISLNK(st.st_mode)) {
				log_debug("%s: dangling link, skipped", p);
				continue;
			}
			ret = err_sys(e, ERR_AUTH, errno, "cannot read '%s'", p);
		} else if (!S_ISREG(st.st_mode)) {
			log_debug("%s: not a regular file, skipped", p);
		} else {
			int r = load_file(k, p, true, e);
			if (r < 0)
				ret = -1;
			else
				json += (size_t)r;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (ret == 0 && json == 0)
		ret = err_set(e, ERR_AUTH, "secret directory '%s' holds no registry credential file", dir);
	return ret;
}

static void read_link(const char *path, char *out, size_t outlen)
{
	ssize_t n = readlink(path, out, outlen - 1);
	out[n < 0 ? 0 : n] = '\0';
}

static int load_dir(struct auth_keyring *k, const char *dir, struct err *e)
{
	_cleanup_free_ char *link = path_join(dir, "..data");
	for (int attempt = 0;; attempt++) {
		char before[PATH_MAX], after[PATH_MAX];
		struct err ae = {0};
		struct auth_keyring tmp = {0};
		read_link(link, before, sizeof(before));
		int r = read_dir_once(&tmp, dir, &ae);
		read_link(link, after, sizeof(after));
		// The kubelet swapped ..data while we read: the files may mix two versions.
		if (strcmp(before, after) != 0 && attempt < SECRET_SWAP_RETRIES) {
			auth_keyring_release(&tmp);
			continue;
		}
		if (r < 0) {
			auth_keyring_release(&tmp);
			*e = ae;
			return -1;
		}
		auth_keyring_append(k, &tmp);
		return 0;
	}
}

static int load_path(struct auth_keyring *k, const char *path, struct err *e)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return err_sys(e, ERR_AUTH, errno, "cannot read secret '%s'", path);
	if (S_ISDIR(st.st_mode))
		return load_dir(k, path, e);
	if (!S_ISREG(st.st_mode))
		return err_set(e, ERR_AUTH, "secret '%s' is not a file or a directory", path);
	return load_file(k, path, false, e) < 0 ? -1 : 0;
}

static int secret_lookup(void *self, enum auth_artifact art, const char *host, const char *path,
			 struct auth_cred *out, struct err *e)
{
	(void)e;
	struct secret_provider *sp = self;
	return auth_keyring_lookup_for(&sp->ring, art, host, path, out);
}

static void secret_free(void *self)
{
	struct secret_provider *sp = self;
	for (size_t i = 0; i < sp->npaths; i++)
		free(sp->paths[i]);
	free(sp->paths);
	auth_keyring_release(&sp->ring);
	free(sp);
}

static int secret_refresh(void *self, struct err *e)
{
	struct secret_provider *sp = self;
	struct auth_keyring fresh = {0};
	for (size_t i = 0; i < sp->npaths; i++) {
		if (load_path(&fresh, sp->paths[i], e) < 0) {
			auth_keyring_release(&fresh);
			return -1;
		}
	}
	auth_keyring_sort(&fresh);
	if (auth_keyring_equal(&fresh, &sp->ring)) {
		auth_keyring_release(&fresh);
		return 0;
	}
	auth_keyring_release(&sp->ring);
	sp->ring = fresh;
	log_info("registry credentials in the mounted secrets changed; using the new ones");
	return 1;
}

int auth_store_add_secret(struct auth_store *s, const char *path, struct err *e)
{
	struct auth_keyring ring = {0};
	if (load_path(&ring, path, e) < 0) {
		auth_keyring_release(&ring);
		return -1;
	}
	struct secret_provider *sp = NULL;
	for (size_t i = 0; i < s->n && !sp; i++)
		if (s->v[i].lookup == secret_lookup)
			sp = s->v[i].self;
	if (!sp) {
		sp = xcalloc(1, sizeof(*sp));
		auth_store_add(s, (struct auth_provider){secret_lookup, secret_free, sp, secret_refresh});
	}
	sp->paths = xrealloc(sp->paths, (sp->npaths + 1) * sizeof(*sp->paths));
	sp->paths[sp->npaths++] = xstrdup(path);
	auth_keyring_append(&sp->ring, &ring);
	auth_keyring_sort(&sp->ring);
	return 0;
}
