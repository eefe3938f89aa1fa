// SPDX-License-Identifier: Apache-2.0
// Mounted pull secrets: the three formats, kubelet-style ..data layouts, skipping
// what is not ours, error messages that name the file and entry but never the
// value, the most specific key across several secrets, rotation, and --authfile
// using the same matcher.
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/creds.h"
#include "auth/secret.h"
#include "auth/session.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/mem.h"

// ---- fixtures ----

static char *tmp_root(void)
{
	const char *t = getenv("TMPDIR");
	char *dir = xasprintf("%s/imgpull-secret-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir))
		fail_msg("mkdtemp %s failed", dir);
	return dir;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static int setup(void **state)
{
	*state = tmp_root();
	return 0;
}

static int teardown(void **state)
{
	nftw(*state, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(*state);
	return 0;
}

static char *put(const char *dir, const char *name, const char *content)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	return p;
}

static void put_free(const char *dir, const char *name, const char *content)
{
	free(put(dir, name, content));
}

static char *b64(const char *s)
{
	return base64_encode(s, strlen(s));
}

// Sends stderr (where the log goes) to path until capture_end.
static int capture_begin(const char *path)
{
	fflush(stderr);
	int saved = dup(2);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	return saved;
}

static char *capture_end(int saved, const char *path)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *text = xcalloc(1, 65536);
	size_t n = fread(text, 1, 65535, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static char *mkdir_in(const char *root, const char *name)
{
	char *p = xasprintf("%s/%s", root, name);
	assert_int_equal(mkdir(p, 0755), 0);
	return p;
}

// The kubelet's AtomicWriter: files in ..TS, ..data -> ..TS swapped by rename,
// NAME -> ..data/NAME.
static void kubelet_version(const char *dir, const char *ts, const char *name, const char *content)
{
	_cleanup_free_ char *tsdir = xasprintf("%s/%s", dir, ts);
	assert_int_equal(mkdir(tsdir, 0755), 0);
	put_free(tsdir, name, content);
	_cleanup_free_ char *tmp = xasprintf("%s/..data_tmp", dir);
	_cleanup_free_ char *data = xasprintf("%s/..data", dir);
	assert_int_equal(symlink(ts, tmp), 0);
	assert_int_equal(rename(tmp, data), 0);
	_cleanup_free_ char *link = xasprintf("%s/%s", dir, name);
	_cleanup_free_ char *target = xasprintf("..data/%s", name);
	if (access(link, F_OK) != 0 && symlink(target, link) != 0)
		fail_msg("symlink %s", link);
}

static char *dockerconfigjson(const char *key, const char *userpass)
{
	_cleanup_free_ char *a = b64(userpass);
	return xasprintf("{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}", key, a);
}

// Looks up host/path; returns the password (static buffer) or NULL.
static const char *lookup(const struct auth_store *s, const char *host, const char *path,
			  struct auth_cred *keep)
{
	static char pw[128];
	struct auth_cred c = {0};
	struct err e = {0};
	int r = auth_store_lookup(s, AUTH_ART_IMAGE, host, path, &c, &e);
	assert_true(r >= 0);
	if (!r)
		return NULL;
	snprintf(pw, sizeof(pw), "%s", c.password);
	if (keep)
		*keep = c;
	else
		auth_cred_release(&c);
	return pw;
}

static void expect_error(const char *path, const char *const *must, const char *const *never)
{
	struct auth_store s = {0};
	struct err e = {0};
	assert_int_equal(auth_store_add_secret(&s, path, &e), -1);
	assert_int_equal(e.cls, ERR_AUTH);
	assert_null(strchr(e.msg, '\n'));
	for (; must && *must; must++)
		if (!strstr(e.msg, *must))
			fail_msg("message [%s] lacks [%s]", e.msg, *must);
	for (; never && *never; never++)
		if (strstr(e.msg, *never))
			fail_msg("message [%s] reveals [%s]", e.msg, *never);
	assert_int_equal(s.n, 0);
	auth_store_release(&s);
}

// ---- formats ----

static void test_dockerconfigjson_file(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *a = b64("$oauthtoken:nvapi-123");
	_cleanup_free_ char *both = b64("fromauth:authpw");
	_cleanup_free_ char *doc = xasprintf(
		"{\"auths\":{\"nvcr.io\":{\"auth\":\"%s\"},"
		"\"ghcr.io\":{\"username\":\"gh\",\"password\":\"ghpw\"},"
		"\"both.example.com\":{\"auth\":\"%s\",\"username\":\"x\",\"password\":\"userpw\"},"
		"\"helper.example.com\":{\"identitytoken\":\"tok\"}},\"credsStore\":\"desktop\"}",
		a, both);
	_cleanup_free_ char *path = put(root, ".dockerconfigjson", doc);
	struct auth_store s = {0};
	struct err e = {0};
	assert_int_equal(auth_store_add_secret(&s, path, &e), 0);
	assert_int_equal(e.cls, ERR_NONE);
	struct auth_cred c = {0};
	assert_string_equal(lookup(&s, "nvcr.io", "nvidia/cuda", &c), "nvapi-123");
	assert_string_equal(c.username, "$oauthtoken");
	_cleanup_free_ char *src = xasprintf("%s entry 'nvcr.io'", path);
	assert_string_equal(c.source, src);
	assert_string_equal(c.matched, "nvcr.io");
	auth_cred_release(&c);
	assert_string_equal(lookup(&s, "ghcr.io", "org/app", NULL), "ghpw");
	assert_string_equal(lookup(&s, "both.example.com", "x", NULL), "authpw"); // auth wins
	assert_null(lookup(&s, "helper.example.com", "x", NULL));
	assert_null(lookup(&s, "quay.io", "x", NULL));
	auth_store_release(&s);
}

static void test_legacy_dockercfg_unpadded(void **state)
{
	const char *root = *state;
	// "user:pw" is 7 bytes: base64 "dXNlcjpwdw==", written here without padding
	_cleanup_free_ char *path = put(root, ".dockercfg",
		"{\"https://index.docker.io/v1/\":{\"auth\":\"dXNlcjpwdw\",\"email\":\"a@b.c\"},"
		" \"quay.io\":{\"auth\":\"dXNlcjpwdw==\"}}");
	struct auth_store s = {0};
	struct err e = {0};
	assert_int_equal(auth_store_add_secret(&s, path, &e), 0);
	struct auth_cred c = {0};
	assert_string_equal(lookup(&s, "registry-1.docker.io", "library/busybox", &c), "pw");
	assert_string_equal(c.username, "user");
	assert_string_equal(c.matched, "https://index.docker.io/v1/");
	auth_cred_release(&c);
	assert_string_equal(lookup(&s, "quay.io", "a/b", NULL), "pw");
	auth_store_release(&s);
}

static void test_registry_credentials(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *ngc = b64("$oauthtoken:ngc-key");
	_cleanup_free_ char *gh = b64("gh:gh-pw");
	_cleanup_free_ char *doc = xasprintf(
		"{\"registryCredentials\":["
		"{\"registryHostname\":\"nvcr.io\",\"secret\":{\"name\":\"ngc\",\"value\":\"%s\"},"
		"\"artifactTypes\":[\"CONTAINER\",\"HELM\"],\"description\":\"NGC\"},"
		"{\"registryHostname\":\"model.example.com\",\"secret\":{\"name\":\"m\",\"value\":\"!!bad\"},"
		"\"artifactTypes\":[\"MODEL\"]},"
		"{\"registryHostname\":\"ghcr.io\",\"secret\":{\"name\":\"gh\",\"value\":\"%s\"}},"
		"{\"registryHostname\":\"https://index.docker.io/v1/\",\"secret\":{\"value\":\"%s\"},"
		"\"artifactTypes\":[]}]}",
		ngc, gh, gh);
	_cleanup_free_ char *path = put(root, "registry-credentials.json", doc);
	struct auth_store s = {0};
	struct err e = {0};
	assert_int_equal(auth_store_add_secret(&s, path, &e), 0);
	struct auth_cred c = {0};
	assert_string_equal(lookup(&s, "nvcr.io", "nvidia/pytorch", &c), "ngc-key");
	_cleanup_free_ char *src = xasprintf("%s entry 'nvcr.io'", path);
	assert_string_equal(c.source, src);
	auth_cred_release(&c);
	assert_string_equal(lookup(&s, "ghcr.io", "o/a", NULL), "gh-pw");
	assert_string_equal(lookup(&s, "registry-1.docker.io", "library/x", NULL), "gh-pw");
	assert_null(lookup(&s, "model.example.com", "x", NULL)); // neither CONTAINER nor HELM: skipped
	auth_store_release(&s);
}

// ---- artifact types: which entries serve images, which serve charts ----

static char *rc_entry(const char *host, const char *types, const char *userpass)
{
	_cleanup_free_ char *v = b64(userpass);
	return types ? xasprintf("{\"registryHostname\":\"%s\",\"secret\":{\"name\":\"n\",\"value\":\"%s\"},"
				 "\"artifactTypes\":%s}",
				 host, v, types)
		     : xasprintf("{\"registryHostname\":\"%s\",\"secret\":{\"name\":\"n\",\"value\":\"%s\"}}",
				 host, v);
}

static const char *lookup_art(const struct auth_store *s, enum auth_artifact art, const char *host,
			      const char *path)
{
	static char pw[128];
	struct auth_cred c = {0};
	struct err e = {0};
	int r = auth_store_lookup(s, art, host, path, &c, &e);
	assert_true(r >= 0);
	if (!r)
		return NULL;
	snprintf(pw, sizeof(pw), "%s", c.password);
	auth_cred_release(&c);
	return pw;
}

static void test_artifact_types(void **state)
{
	const char *root = *state;
	static const struct {
		const char *host, *types, *userpass;
	} ents[] = {
		{"both.example.com", "[\"CONTAINER\",\"HELM\"]", "u:both"},
		{"img.example.com", "[\"CONTAINER\"]", "u:img"},
		{"helm.example.com", "[\"HELM\"]", "u:helm"},
		{"lower.example.com", "[\"helm\"]", "u:lower"},
		{"helmmodel.example.com", "[\"MODEL\",\"HELM\"]", "u:helmmodel"},
		{"none.example.com", NULL, "u:none"},
		{"empty.example.com", "[]", "u:empty"},
		{"nulltypes.example.com", "null", "u:null"},
		// a HELM-only entry more specific than a CONTAINER one, and the reverse
		{"*.mixed.io", "[\"CONTAINER\"]", "u:mixed-img"},
		{"x.mixed.io", "[\"HELM\"]", "u:mixed-helm"},
		{"*.other.io", "[\"HELM\"]", "u:other-helm"},
		{"y.other.io", "[\"CONTAINER\"]", "u:other-img"},
	};
	_cleanup_free_ char *list = xstrdup("");
	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		_cleanup_free_ char *ent = rc_entry(ents[i].host, ents[i].types, ents[i].userpass);
		char *t = xasprintf("%s%s%s", list, i ? "," : "", ent);
		free(list);
		list = t;
	}
	_cleanup_free_ char *doc = xasprintf("{\"registryCredentials\":[%s]}", list);
	_cleanup_free_ char *rc = put(root, "rc.json", doc);
	_cleanup_free_ char *dcj_doc = dockerconfigjson("dcj.example.com", "u:dcj");
	_cleanup_free_ char *dcj = put(root, "dcj.json", dcj_doc);
	_cleanup_free_ char *cfg_doc = dockerconfigjson("af.example.com", "u:authfile");
	_cleanup_free_ char *cfg = put(root, "config.json", cfg_doc);
	struct auth_store s = {0};
	struct err e = {0};
	assert_int_equal(auth_store_add_secret(&s, rc, &e), 0);
	assert_int_equal(auth_store_add_secret(&s, dcj, &e), 0);
	assert_int_equal(auth_store_add_authfile(&s, cfg, &e), 0);
	static const struct {
		const char *host;
		enum auth_artifact art;
		const char *want;
	} t[] = {
		{"both.example.com", AUTH_ART_IMAGE, "both"},	   {"both.example.com", AUTH_ART_CHART, "both"},
		{"img.example.com", AUTH_ART_IMAGE, "img"},	   {"img.example.com", AUTH_ART_CHART, NULL},
		{"helm.example.com", AUTH_ART_IMAGE, NULL},	   {"helm.example.com", AUTH_ART_CHART, "helm"},
		{"lower.example.com", AUTH_ART_IMAGE, NULL},	   {"lower.example.com", AUTH_ART_CHART, "lower"},
		{"helmmodel.example.com", AUTH_ART_IMAGE, NULL},   {"helmmodel.example.com", AUTH_ART_CHART, "helmmodel"},
		{"none.example.com", AUTH_ART_IMAGE, "none"},	   {"none.example.com", AUTH_ART_CHART, "none"},
		{"empty.example.com", AUTH_ART_IMAGE, "empty"},	   {"empty.example.com", AUTH_ART_CHART, "empty"},
		{"nulltypes.example.com", AUTH_ART_IMAGE, "null"}, {"nulltypes.example.com", AUTH_ART_CHART, "null"},
		{"x.mixed.io", AUTH_ART_IMAGE, "mixed-img"},	   {"x.mixed.io", AUTH_ART_CHART, "mixed-helm"},
		{"z.mixed.io", AUTH_ART_IMAGE, "mixed-img"},	   {"z.mixed.io", AUTH_ART_CHART, NULL},
		{"y.other.io", AUTH_ART_IMAGE, "other-img"},	   {"y.other.io", AUTH_ART_CHART, "other-helm"},
		{"z.other.io", AUTH_ART_IMAGE, NULL},		   {"z.other.io", AUTH_ART_CHART, "other-helm"},
		{"dcj.example.com", AUTH_ART_IMAGE, "dcj"},	   {"dcj.example.com", AUTH_ART_CHART, "dcj"},
		{"af.example.com", AUTH_ART_IMAGE, "authfile"},	   {"af.example.com", AUTH_ART_CHART, "authfile"},
		{"quay.io", AUTH_ART_IMAGE, NULL},		   {"quay.io", AUTH_ART_CHART, NULL},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *got = lookup_art(&s, t[i].art, t[i].host, "team/app");
		if (!t[i].want != !got || (got && strcmp(got, t[i].want) != 0))
			fail_msg("%s for %s: expected %s, got %s", t[i].host, auth_artifact_name(t[i].art),
				 t[i].want ? t[i].want : "(none)", got ? got : "(none)");
	}
	// the image lookup existing callers make is the AUTH_ART_IMAGE one
	assert_null(lookup(&s, "helm.example.com", "team/app", NULL));
	assert_string_equal(lookup(&s, "x.mixed.io", "team/app", NULL), "mixed-img");
	auth_store_release(&s);

	// --creds serves both
	assert_int_equal(auth_store_add_static(&s, "u:static", &e), 0);
	assert_string_equal(lookup_art(&s, AUTH_ART_IMAGE, "any.io", "a"), "static");
	assert_string_equal(lookup_art(&s, AUTH_ART_CHART, "any.io", "a"), "static");
	auth_store_release(&s);
}

// A changed artifactTypes is a changed secret: the rotation re-read adopts it.
static void test_artifact_types_rotation(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *e1 = rc_entry("r.example.com", "[\"HELM\"]", "u:pw");
	_cleanup_free_ char *d1 = xasprintf("{\"registryCredentials\":[%s]}", e1);
	_cleanup_free_ char *path = put(root, "rc.json", d1);
	struct auth_store s = {0};
	struct err e = {0};
	assert_int_equal(auth_store_add_secret(&s, path, &e), 0);
	assert_null(lookup_art(&s, AUTH_ART_IMAGE, "r.example.com", "a"));
	_cleanup_free_ char *e2 = rc_entry("r.example.com", "[\"CONTAINER\"]", "u:pw");
	_cleanup_free_ char *d2 = xasprintf("{\"registryCredentials\":[%s]}", e2);
	put_free(root, "rc.json", d2);
	assert_int_equal(auth_store_refresh(&s, &e), 1);
	assert_string_equal(lookup_art(&s, AUTH_ART_IMAGE, "r.example.com", "a"), "pw");
	assert_null(lookup_art(&s, AUTH_ART_CHART, "r.example.com", "a"));
	auth_store_release(&s);
}

// The error when nothing serves the wanted type names the entry that serves the other.
static void test_missing_cred_message(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *h = rc_entry("helm.example.com", "[\"HELM\"]", "u:pw");
	_cleanup_free_ char *c = rc_entry("img.example.com", "[\"CONTAINER\"]", "u:pw");
	_cleanup_free_ char *b = rc_entry("both.example.com", NULL, "u:pw");
	_cleanup_free_ char *doc = xasprintf("{\"registryCredentials\":[%s,%s,%s]}", h, c, b);
	_cleanup_free_ char *path = put(root, "rc.json", doc);
	struct auth_store s = {0};
	struct err e = {0};
	assert_int_equal(auth_store_add_secret(&s, path, &e), 0);
	static const struct {
		const char *host;
		enum auth_artifact art;
		const char *want, *other; // other: the entry for the other type, if named
	} t[] = {
		{"helm.example.com", AUTH_ART_IMAGE, "no registry credential for images found for hostname helm.example.com",
		 "HELM"},
		{"img.example.com", AUTH_ART_CHART, "no registry credential for charts found for hostname img.example.com",
		 "CONTAINER"},
		{"quay.io", AUTH_ART_IMAGE, "no registry credential found for hostname quay.io", NULL},
		{"quay.io", AUTH_ART_CHART, "no registry credential for charts found for hostname quay.io", NULL},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char host[64];
		snprintf(host, sizeof(host), "%s", t[i].host);
		struct auth_session ses = {.host = host, .store = &s, .artifact = t[i].art};
		_cleanup_free_ char *got = auth_session_missing_cred(&ses, "team/app");
		_cleanup_free_ char *want = t[i].other ? xasprintf("%s (%s entry '%s' serves %s only)", t[i].want, path,
								    t[i].host, t[i].other)
						       : xstrdup(t[i].want);
		assert_string_equal(got, want);
	}
	auth_store_release(&s);
}

// ---- errors ----

static void test_hostname_with_path(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *v = b64("u:TOPSECRET");
	_cleanup_free_ char *doc = xasprintf("{\"registryCredentials\":[{\"registryHostname\":"
					     "\"nvcr.io/nvidia\",\"secret\":{\"value\":\"%s\"}}]}", v);
	_cleanup_free_ char *path = put(root, "creds.json", doc);
	const char *must[] = {path, "'nvcr.io/nvidia'", "base host only", NULL};
	const char *never[] = {v, "TOPSECRET", NULL};
	expect_error(path, must, never);
}

static void test_bad_base64_never_revealed(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *p1 = put(root, "a.json",
		"{\"auths\":{\"r.example.com\":{\"auth\":\"!!S3CRETVALUE\"}}}");
	const char *m1[] = {p1, "entry 'r.example.com'", "not valid base64", NULL};
	const char *n1[] = {"S3CRETVALUE", NULL};
	expect_error(p1, m1, n1);

	// valid base64, but of no "user:password"
	_cleanup_free_ char *nocolon = b64("justaS3CRETtoken");
	_cleanup_free_ char *doc = dockerconfigjson("r.example.com", "justaS3CRETtoken");
	_cleanup_free_ char *p2 = put(root, "b.json", doc);
	const char *m2[] = {p2, "entry 'r.example.com'", "user:password", NULL};
	const char *n2[] = {"S3CRET", nocolon, NULL};
	expect_error(p2, m2, n2);

	// in the registryCredentials form, named by hostname
	_cleanup_free_ char *p3 = put(root, "c.json",
		"{\"registryCredentials\":[{\"registryHostname\":\"nvcr.io\","
		"\"secret\":{\"name\":\"n\",\"value\":\"%%%S3CRET%%%\"}}]}");
	const char *m3[] = {p3, "entry 'nvcr.io'", NULL};
	const char *n3[] = {"S3CRET", NULL};
	expect_error(p3, m3, n3);

	// a key with a newline is shown on one line
	_cleanup_free_ char *p4 = put(root, "d.json", "{\"auths\":{\"r\\n.io\":{\"auth\":\"!!x\"}}}");
	const char *m4[] = {"entry 'r?.io'", NULL};
	expect_error(p4, m4, NULL);
}

static void test_malformed_documents(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *p1 = put(root, "broken.json", "{\"auths\":{\"x\":{\"auth\":\"S3CRET\"");
	const char *m1[] = {p1, "not valid JSON", NULL};
	const char *n1[] = {"S3CRET", NULL};
	expect_error(p1, m1, n1);
	_cleanup_free_ char *p2 = put(root, "config.json", "{\"credsStore\":\"desktop\"}");
	const char *m2[] = {p2, "not a .dockerconfigjson", NULL};
	expect_error(p2, m2, NULL);
	_cleanup_free_ char *p3 = put(root, "ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n");
	const char *m3[] = {p3, "JSON expected", NULL};
	expect_error(p3, m3, NULL); // a file named directly must be a credential file
	_cleanup_free_ char *p4 = put(root, "e.json", "{\"auths\":{\"r.io\":\"S3CRET\"}}");
	const char *m4[] = {p4, "entry 'r.io'", "not an object", NULL};
	const char *n4[] = {"S3CRET", NULL};
	expect_error(p4, m4, n4);
	_cleanup_free_ char *p5 = put(root, "f.json",
		"{\"registryCredentials\":[{\"registryHostname\":\"a.io\",\"secret\":{}}]}");
	const char *m5[] = {p5, "entry 'a.io'", "secret.value", NULL};
	expect_error(p5, m5, NULL);
	_cleanup_free_ char *p6 = put(root, "g.json",
		"{\"registryCredentials\":[{\"registryHostname\":\"a.io\",\"artifactTypes\":\"CONTAINER\"}]}");
	const char *m6[] = {p6, "artifactTypes", NULL};
	expect_error(p6, m6, NULL);
	_cleanup_free_ char *missing = xasprintf("%s/nope", root);
	const char *m7[] = {missing, NULL};
	expect_error(missing, m7, NULL);
	_cleanup_free_ char *empty = mkdir_in(root, "empty");
	put_free(empty, "ca.crt", "not json");
	const char *m8[] = {empty, "no registry credential file", NULL};
	expect_error(empty, m8, NULL);
}

static void test_caps(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *many = mkdir_in(root, "many");
	for (int i = 0; i < 257; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%03d", i);
		put_free(many, name, "x");
	}
	const char *m1[] = {many, "more than 256", NULL};
	expect_error(many, m1, NULL);
	char *big = xmalloc((1u << 20) + 2);
	memset(big, ' ', (1u << 20) + 1);
	big[0] = '{';
	big[(1u << 20) + 1] = '\0';
	_cleanup_free_ char *p = put(root, "big.json", big);
	free(big);
	const char *m2[] = {p, "larger than", NULL};
	expect_error(p, m2, NULL);
}

// ---- directories ----

static void test_directory_skips(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *dir = mkdir_in(root, "regcred");
	_cleanup_free_ char *doc = dockerconfigjson("r.example.com", "u:dirpw");
	kubelet_version(dir, "..2026_11_22_10_00_00.1", ".dockerconfigjson", doc);
	// other keys of the secret, hidden names, subdirectories: not ours
	put_free(dir, "ca.crt", "-----BEGIN CERTIFICATE-----\n");
	put_free(dir, "token", "");
	put_free(dir, "..hidden", "{ broken");
	_cleanup_free_ char *sub = mkdir_in(dir, "sub");
	put_free(sub, "x.json", "{ broken");
	_cleanup_free_ char *dangling = xasprintf("%s/gone", dir);
	assert_int_equal(symlink("..data/gone", dangling), 0);
	struct auth_store s = {0};
	struct err e = {0};
	_cleanup_free_ char *logpath = xasprintf("%s/log", root);
	enum log_level lvl = log_get_level();
	log_set_level(LOG_DEBUG);
	int saved = capture_begin(logpath);
	assert_int_equal(auth_store_add_secret(&s, dir, &e), 0);
	struct auth_cred c = {0};
	assert_string_equal(lookup(&s, "r.example.com", "a", &c), "dirpw");
	_cleanup_free_ char *log = capture_end(saved, logpath);
	log_set_level(lvl);
	_cleanup_free_ char *skipped = xasprintf("%s/ca.crt: not JSON, skipped", dir);
	if (!strstr(log, skipped))
		fail_msg("log [%s] does not name the skipped file", log);
	_cleanup_free_ char *enc = b64("u:dirpw");
	assert_null(strstr(log, "dirpw"));
	assert_null(strstr(log, enc));
	assert_null(strstr(log, "..hidden"));
	_cleanup_free_ char *src = xasprintf("%s/.dockerconfigjson entry 'r.example.com'", dir);
	assert_string_equal(c.source, src);
	auth_cred_release(&c);
	auth_store_release(&s);

	// but a broken JSON file among them is an error naming it
	put_free(dir, "extra.json", " \n{\"auths\": ");
	_cleanup_free_ char *bad = xasprintf("%s/extra.json", dir);
	const char *m[] = {bad, "not valid JSON", NULL};
	expect_error(dir, m, NULL);
}

static void test_most_specific_across_secrets(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *d1 = mkdir_in(root, "one");
	_cleanup_free_ char *doc1 = dockerconfigjson("registry.example.com", "a:host-wide");
	kubelet_version(d1, "..2026_01_01", ".dockerconfigjson", doc1);
	_cleanup_free_ char *v = b64("b:team-only");
	_cleanup_free_ char *doc2 = xasprintf("{\"registry.example.com/team\":{\"auth\":\"%s\"}}", v);
	_cleanup_free_ char *f2 = put(root, "team.dockercfg", doc2);
	for (int order = 0; order < 2; order++) {
		struct auth_store s = {0};
		struct err e = {0};
		assert_int_equal(auth_store_add_secret(&s, order ? f2 : d1, &e), 0);
		assert_int_equal(auth_store_add_secret(&s, order ? d1 : f2, &e), 0);
		assert_int_equal(s.n, 1); // one provider for every --secret
		assert_string_equal(lookup(&s, "registry.example.com", "team/app", NULL), "team-only");
		assert_string_equal(lookup(&s, "registry.example.com", "other/app", NULL), "host-wide");
		assert_string_equal(lookup(&s, "registry.example.com", "teamster/app", NULL), "host-wide");
		auth_store_release(&s);
	}
}

// ---- rotation ----

static void swap_version(const char *dir, const char *old_ts, const char *ts, const char *doc)
{
	kubelet_version(dir, ts, ".dockerconfigjson", doc);
	_cleanup_free_ char *old = xasprintf("%s/%s", dir, old_ts);
	nftw(old, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_rotation(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *dir = mkdir_in(root, "rotating");
	_cleanup_free_ char *v1 = dockerconfigjson("nvcr.io", "$oauthtoken:old-key");
	kubelet_version(dir, "..2026_11_22_10_00_00.1", ".dockerconfigjson", v1);
	struct auth_store s = {0};
	struct err e = {0};
	assert_int_equal(auth_store_add_static(&s, "x:y", &e), 0);
	assert_null(s.v[0].refresh); // a --creds value cannot change
	struct auth_store st = {0};
	assert_int_equal(auth_store_add_secret(&st, dir, &e), 0);
	assert_string_equal(lookup(&st, "nvcr.io", "nvidia/x", NULL), "old-key");
	assert_int_equal(auth_store_refresh(&st, &e), 0);
	assert_int_equal(auth_store_refresh(&s, &e), 0);

	_cleanup_free_ char *v2 = dockerconfigjson("nvcr.io", "$oauthtoken:new-key");
	swap_version(dir, "..2026_11_22_10_00_00.1", "..2026_11_22_11_00_00.2", v2);
	assert_int_equal(auth_store_refresh(&st, &e), 1);
	assert_string_equal(lookup(&st, "nvcr.io", "nvidia/x", NULL), "new-key");
	assert_int_equal(auth_store_refresh(&st, &e), 0);

	// a broken new version: the error is reported, the last good entries stay
	swap_version(dir, "..2026_11_22_11_00_00.2", "..2026_11_22_12_00_00.3",
		     "{\"auths\":{\"nvcr.io\":{\"auth\":\"!!S3CRET\"}}}");
	err_clear(&e);
	assert_int_equal(auth_store_refresh(&st, &e), -1);
	assert_int_equal(e.cls, ERR_AUTH);
	assert_non_null(strstr(e.msg, "entry 'nvcr.io'"));
	assert_null(strstr(e.msg, "S3CRET"));
	assert_string_equal(lookup(&st, "nvcr.io", "nvidia/x", NULL), "new-key");

	// fixed again
	_cleanup_free_ char *v4 = dockerconfigjson("nvcr.io", "$oauthtoken:newest-key");
	swap_version(dir, "..2026_11_22_12_00_00.3", "..2026_11_22_13_00_00.4", v4);
	err_clear(&e);
	assert_int_equal(auth_store_refresh(&st, &e), 1);
	assert_string_equal(lookup(&st, "nvcr.io", "nvidia/x", NULL), "newest-key");
	auth_store_release(&st);
	auth_store_release(&s);
}

// ---- --authfile uses the same matcher ----

static void test_authfile_matching(void **state)
{
	const char *root = *state;
	_cleanup_free_ char *a1 = b64("org:org-pw");
	_cleanup_free_ char *a2 = b64("host:host-pw");
	_cleanup_free_ char *a3 = b64("hub:hub-pw");
	_cleanup_free_ char *doc = xasprintf(
		"{\"auths\":{\"ghcr.io\":{\"auth\":\"%s\"},\"ghcr.io/org\":{\"auth\":\"%s\"},"
		"\"https://index.docker.io/v1/\":{\"auth\":\"%s\"},\"*.azurecr.io\":{\"auth\":\"%s\"},"
		"\"skipped.io\":\"not an object\"}}",
		a2, a1, a3, a2);
	_cleanup_free_ char *path = put(root, "config.json", doc);
	struct auth_store s = {0};
	struct err e = {0};
	assert_int_equal(auth_store_add_authfile(&s, path, &e), 0);
	assert_null(s.v[0].refresh);
	assert_string_equal(lookup(&s, "ghcr.io", "org/app", NULL), "org-pw");
	assert_string_equal(lookup(&s, "ghcr.io", "other/app", NULL), "host-pw");
	assert_string_equal(lookup(&s, "registry-1.docker.io", "library/busybox", NULL), "hub-pw");
	assert_string_equal(lookup(&s, "x.azurecr.io", "a", NULL), "host-pw");
	assert_null(lookup(&s, "a.b.azurecr.io", "a", NULL));
	struct auth_cred c = {0};
	assert_non_null(lookup(&s, "ghcr.io", "org/app", &c));
	_cleanup_free_ char *src = xasprintf("%s entry 'ghcr.io/org'", path);
	assert_string_equal(c.source, src);
	auth_cred_release(&c);
	assert_int_equal(auth_store_refresh(&s, &e), 0);
	auth_store_release(&s);

	_cleanup_free_ char *bad = put(root, "bad.json", "{\"auths\":{\"r.io\":{\"auth\":\"!!notbase64\"}}}");
	assert_int_equal(auth_store_add_authfile(&s, bad, &e), -1);
	assert_int_equal(e.cls, ERR_AUTH);
	assert_non_null(strstr(e.msg, "not valid base64"));
	_cleanup_free_ char *noauths = put(root, "noauths.json", "{}");
	assert_int_equal(auth_store_add_authfile(&s, noauths, &e), -1);
	assert_non_null(strstr(e.msg, "no \"auths\" object"));
	assert_int_equal(s.n, 0);
	auth_store_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dockerconfigjson_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_dockercfg_unpadded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_artifact_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_artifact_types_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_cred_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostname_with_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_base64_never_revealed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_documents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_skips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_most_specific_across_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authfile_matching, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
