// SPDX-License-Identifier: Apache-2.0
// Credential key matching: the kubelet's own keyring_test.go tables (TestURLsMatch,
// TestDockerKeyringForGlob, TestKeyringMiss, TestDockerKeyringLookup, TestIssue3797,
// the Docker Hub cases), Go's path.Match table, and our additions: ports, IPv6,
// case, path boundaries, Docker Hub aliases, key normalisation and ordering.
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/creds.h"
#include "auth/hostmatch.h"
#include "util/mem.h"

struct mcase {
	const char *key;
	const char *target; // "host[/repo/path]" as the kubelet would see the image
	bool want;
};

// Splits target at its first '/' into host and repository path, as an image reference.
static bool match_target(const char *key, const char *target)
{
	const char *slash = strchr(target, '/');
	_cleanup_free_ char *host = slash ? xstrndup(target, (size_t)(slash - target)) : xstrdup(target);
	return auth_host_match(key, host, slash ? slash + 1 : "");
}

static void run_cases(const struct mcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (match_target(c[i].key, c[i].target) != c[i].want)
			fail_msg("key [%s] target [%s]: expected %s", c[i].key, c[i].target,
				 c[i].want ? "match" : "no match");
}

#define RUN(tbl) run_cases(tbl, sizeof(tbl) / sizeof(tbl[0]))

// keyring_test.go TestURLsMatch
static void test_kubelet_urls_match(void **state)
{
	(void)state;
	static const struct mcase t[] = {
		{"*.kubernetes.io", "prefix.kubernetes.io", true},
		{"prefix.*.io", "prefix.kubernetes.io", true},
		{"prefix.kubernetes.*", "prefix.kubernetes.io", true},
		{"*-good.kubernetes.io", "prefix-good.kubernetes.io", true},
		{"*.kubernetes.io/blah", "prefix.kubernetes.io/blah", true},
		{"prefix.*.io/foo", "prefix.kubernetes.io/foo/bar", true},
		{"*.kubernetes.io:1111/blah", "prefix.kubernetes.io:1111/blah", true},
		{"prefix.*.io:1111/foo", "prefix.kubernetes.io:1111/foo/bar", true},
		{"*.kubernetes.io", "kubernetes.io", false},
		{"*.*.kubernetes.io", "prefix.kubernetes.io", false},
		{"*.*.kubernetes.io", "kubernetes.io", false},
		{"kubernetes.io", "kubernetes.com", false},
		{"k*.io", "quay.io", false},
		{"*.kubernetes.io:1234/blah", "prefix.kubernetes.io:1111/blah", false},
		{"prefix.*.io/foo", "prefix.kubernetes.io:1111/foo/bar", false},
	};
	RUN(t);
}

// keyring_test.go TestDockerKeyringForGlob and TestKeyringMiss: the kubelet looks
// up target + "/foo/bar".
static void test_kubelet_keyring_glob(void **state)
{
	(void)state;
	static const struct mcase t[] = {
		{"https://hello.kubernetes.io", "hello.kubernetes.io/foo/bar", true},
		{"https://*.docker.io", "prefix.docker.io/foo/bar", true},
		{"https://prefix.*.io", "prefix.docker.io/foo/bar", true},
		{"https://prefix.docker.*", "prefix.docker.io/foo/bar", true},
		{"https://*.docker.io/path", "prefix.docker.io/path/foo/bar", true},
		{"https://prefix.*.io/path", "prefix.docker.io/path/subpath/foo/bar", true},
		{"https://prefix.docker.*/path", "prefix.docker.io/path/foo/bar", true},
		{"https://*.docker.io:8888", "prefix.docker.io:8888/foo/bar", true},
		{"https://prefix.*.io:8888", "prefix.docker.io:8888/foo/bar", true},
		{"https://prefix.docker.*:8888", "prefix.docker.io:8888/foo/bar", true},
		{"https://*.docker.io/path:1111", "prefix.docker.io/path:1111/foo/bar", true},
		{"https://*.docker.io/v1/", "prefix.docker.io/path:1111/foo/bar", true},
		{"https://*.docker.io/v2/", "prefix.docker.io/path:1111/foo/bar", true},
		{"https://prefix.docker.*/path:1111", "prefix.docker.io/path:1111/foo/bar", true},
		{"prefix.docker.io:1111", "prefix.docker.io:1111/path/foo/bar", true},
		{"*.docker.io:1111", "prefix.docker.io:1111/path/foo/bar", true},
		// TestKeyringMiss
		{"https://hello.kubernetes.io", "world.mesos.org/foo/bar", false},
		{"https://*.docker.com", "prefix.docker.io/foo/bar", false},
		{"https://suffix.*.io", "prefix.docker.io/foo/bar", false},
		{"https://prefix.docker.c*", "prefix.docker.io/foo/bar", false},
		{"https://prefix.*.io/path:1111", "prefix.docker.io/path/subpath:1111/foo/bar", false},
		{"suffix.*.io", "prefix.docker.io/foo/bar", false},
		// TestIssue3797: a scheme and /v1/ still match the bare host
		{"https://quay.io/v1/", "quay.io", true},
		{"https://quay.io/v1/", "quay.io/foo", true},
		{"https://quay.io/v1/", "quay.io/foo/bar", true},
	};
	RUN(t);
}

// TestKeyringMissWithDockerHubCredentials, TestKeyringHit*DockerHub: our
// references always name Docker Hub as registry-1.docker.io.
static void test_docker_hub(void **state)
{
	(void)state;
	static const struct mcase t[] = {
		{"https://index.docker.io/v1/", "world.mesos.org/foo/bar", false},
		{"https://index.docker.io/v1/", "registry-1.docker.io/google/docker-registry", true},
		{"https://index.docker.io/v1/", "registry-1.docker.io/library/jenkins", true},
		{"https://index.docker.io/v1/", "index.docker.io/v1//google/docker-registry", true},
		{"index.docker.io", "registry-1.docker.io/library/busybox", true},
		{"docker.io", "registry-1.docker.io/library/busybox", true},
		{"registry-1.docker.io", "registry-1.docker.io/library/busybox", true},
		{"registry.hub.docker.com", "registry-1.docker.io/library/busybox", true},
		{"https://registry-1.docker.io/v2/", "registry-1.docker.io/library/busybox", true},
		{"DOCKER.IO", "registry-1.docker.io/library/busybox", true},
		{"docker.io", "docker.io/library/busybox", true},
		{"docker.io", "Index.Docker.IO/library/busybox", true},
		{"docker.io/myorg", "registry-1.docker.io/myorg/app", true},
		{"https://index.docker.io/v1/myorg", "registry-1.docker.io/myorg/app", true},
		{"docker.io/myorg", "registry-1.docker.io/other/app", false},
		// folded names are one literal registry: a glob over them does not match
		{"*.docker.io", "registry-1.docker.io/library/busybox", false},
		{"docker.io", "quay.io/library/busybox", false},
		{"docker.io", "docker.io:5000/library/busybox", false},
		{"myhostdocker.io", "registry-1.docker.io/foo/bar", false},
	};
	RUN(t);
}

static void test_ports(void **state)
{
	(void)state;
	static const struct mcase t[] = {
		{"localhost:5000", "localhost:5000/app", true},
		{"localhost:5000", "localhost/app", false},
		{"localhost:5000", "localhost:5001/app", false},
		{"localhost", "localhost:5000/app", false}, // like the kubelet: no port, no match
		{"localhost", "localhost/app", true},
		{"http://registry:5000/team", "registry:5000/team/app", true},
		{"registry:5000/team", "registry:5000/other/app", false},
		{"127.0.0.1:5000", "127.0.0.1:5000/app", true},
		{"127.0.0.*:5000", "127.0.0.9:5000/app", true},
		{"127.0.0.1", "127.0.0.1:5000/app", false},
		{"*:5000", "localhost:5000/app", true},
		{"*:5000", "r.example.com:5000/app", false},
	};
	RUN(t);
}

static void test_globs_per_label(void **state)
{
	(void)state;
	static const struct mcase t[] = {
		{"*.azurecr.io", "x.azurecr.io/app", true},
		{"*.azurecr.io", "a.b.azurecr.io/app", false},
		{"*.azurecr.io", "azurecr.io/app", false},
		{"*.*.azurecr.io", "a.b.azurecr.io/app", true},
		{"*.dkr.ecr.*.amazonaws.com", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app", true},
		{"*.dkr.ecr.*.amazonaws.com", "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn/app", false},
		{"app*.k8s.io", "apps.k8s.io/x", true},
		{"app*.k8s.io", "api.k8s.io/x", false},
		{"k8s.*", "k8s.io/x", true},
		{"registry[0-9].example.com", "registry7.example.com/x", true},
		{"registry[0-9].example.com", "registrya.example.com/x", false},
		// url.Parse refuses '^' in a host, so the kubelet ignores such a key
		{"registry[^0-9].example.com", "registrya.example.com/x", false},
		{"registry[.example.com", "registry[.example.com/x", false}, // malformed: matches nothing
		// '?' starts a URL query, as in url.Parse: the key's host is just "r"
		{"r?.io", "r1.io/x", false},
		{"r?.io", "r/x", true},
	};
	RUN(t);
}

static void test_paths(void **state)
{
	(void)state;
	static const struct mcase t[] = {
		{"quay.io/coreos", "quay.io/coreos", true},
		{"quay.io/coreos", "quay.io/coreos/etcd", true},
		{"quay.io/coreos/", "quay.io/coreos/etcd", true},
		{"quay.io/core", "quay.io/coreos/etcd", false}, // segment boundary (the kubelet would match)
		{"quay.io/coreos/etcd", "quay.io/coreos", false},
		{"quay.io/coreos", "quay.io", false},
		{"quay.io", "quay.io", true},
		{"quay.io/Org", "quay.io/Org/app", true},
		{"quay.io/Org", "quay.io/org/app", false}, // paths are case-sensitive
		{"quay.io/a?b", "quay.io/a/x", true},      // the query is not part of the path
		{"quay.io/a#frag", "quay.io/a/x", true},
		{"host/v1", "host/v1/x", true}, // only "/v1/" is the API root
		{"host/v1", "host/x", false},
	};
	RUN(t);
}

static void test_ipv6_and_case(void **state)
{
	(void)state;
	static const struct mcase t[] = {
		{"[::1]:5000", "[::1]:5000/app", true},
		{"[::1]:5000", "[::1]:5001/app", false},
		{"[::1]:5000", "[::1]/app", false},
		{"[::1]", "[::1]/app", true},
		{"http://[::1]:5000/team", "[::1]:5000/team/app", true},
		{"[::1]:5000/team", "[::1]:5000/other", false},
		{"[::2]:5000", "[::1]:5000/app", false},
		{"[::1]:5000", "localhost:5000/app", false},
		{"[FE80::1]:5000", "[fe80::1]:5000/app", true},
		{"GHCR.IO", "ghcr.io/org/app", true},
		{"ghcr.io", "GHCR.io/org/app", true},
		{"HTTPS://ghcr.io/org", "ghcr.io/org/app", true},
		{"*.AzureCR.io", "x.azurecr.IO/app", true},
		{"https://user:pw@ghcr.io", "ghcr.io/x", true}, // userinfo is not the host
	};
	RUN(t);
}

static void test_invalid_keys(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "https://", "/path", "host:abc", "a:b:5000", "bad host", "[::1", "[::1]x",
		"[]:5000", "host\n", "host/pa\tth", "ho\\st", "host%41", "r[^a].io", "a|b.io",
		"a{b}.io",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct auth_host_key k;
		if (auth_host_key_parse(&k, bad[i]) != -1)
			fail_msg("key [%s] parsed", bad[i]);
		assert_false(auth_host_match(bad[i], "host", "x"));
	}
	// an image host that is not one matches nothing
	assert_false(auth_host_match("*", "a:b:c", "x"));
	assert_false(auth_host_match("*", NULL, "x"));
}

static void test_normalised_keys(void **state)
{
	(void)state;
	static const char *const t[][2] = {
		{"https://index.docker.io/v1/", "docker.io"},
		{"registry.hub.docker.com", "docker.io"},
		{"HTTPS://Quay.IO/coreos/", "quay.io/coreos"},
		{"[::1]:5000/x", "[::1]:5000/x"},
		{"[::1]", "[::1]"},
		{"registry:5000/v2/foo", "registry:5000/foo"},
		{"host/v1", "host/v1"},
		{"host:", "host"},
		{"u@host:443/a//", "host:443/a"},
		{"docker.io:5000", "docker.io:5000"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct auth_host_key k;
		assert_int_equal(auth_host_key_parse(&k, t[i][0]), 0);
		assert_string_equal(k.norm, t[i][1]);
		auth_host_key_release(&k);
	}
}

// Go's path.Match table (match_test.go), ASCII cases; errors are "no match".
static void test_go_path_match(void **state)
{
	(void)state;
	static const struct {
		const char *pat, *s;
		bool want;
	} t[] = {
		{"abc", "abc", true},	    {"*", "abc", true},		 {"*c", "abc", true},
		{"a*", "a", true},	    {"a*", "abc", true},	 {"a*", "ab/c", false},
		{"a*/b", "abc/b", true},    {"a*/b", "a/c/b", false},	 {"a*b*c*d*e*/f", "axbxcxdxe/f", true},
		{"a*b*c*d*e*/f", "axbxcxdxexxx/f", true}, {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false},
		{"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false}, {"a*b?c*x", "abxbbxdbxebxczzx", true},
		{"a*b?c*x", "abxbbxdbxebxczzy", false}, {"ab[c]", "abc", true}, {"ab[b-d]", "abc", true},
		{"ab[e-g]", "abc", false},  {"ab[^c]", "abc", false},	 {"ab[^b-d]", "abc", false},
		{"ab[^e-g]", "abc", true},  {"a\\*b", "a*b", true},	 {"a\\*b", "ab", false},
		{"a?b", "a/b", false},	    {"a*b", "a/b", false},	 {"[\\]a]", "]", true},
		{"[\\-]", "-", true},	    {"[x\\-]", "x", true},	 {"[x\\-]", "-", true},
		{"[x\\-]", "z", false},	    {"[\\-x]", "x", true},	 {"[\\-x]", "-", true},
		{"[\\-x]", "a", false},	    {"[]a]", "]", false},	 {"[-]", "-", false},
		{"[x-]", "x", false},	    {"[x-]", "-", false},	 {"[-x]", "x", false},
		{"\\", "a", false},	    {"[a-b-c]", "a", false},	 {"[", "a", false},
		{"[^", "a", false},	    {"[^bc", "a", false},	 {"a[", "a", false},
		{"a[", "ab", false},	    {"a[", "x", false},		 {"a/b[", "x", false},
		{"*x", "xxx", true},	    {"", "", true},		 {"", "a", false},
		// ours: a name used up before the chunk, a mismatch followed by a
		// class or escape (still parsed), several ranges, '/' in a class
		{"ab[c]", "ab", false},	    {"a?", "a", false},		 {"x[a]", "ya", false},
		{"x[a", "ya", false},	    {"x[a-", "ya", false},	 {"x\\", "y", false},
		{"[a-cx-z]", "y", true},    {"[a-cx-z]", "d", false},	 {"[^a-cx-z]", "d", true},
		{"[^a]", "/", true},	    {"[", "", false},		 {"[\\", "a", false},
		{"[a-\\", "a", false},	    {"*[a]", "bba", true},	 {"a*[", "ab", false},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (auth_glob_match(t[i].pat, t[i].s) != t[i].want)
			fail_msg("Match(%s, %s) expected %d", t[i].pat, t[i].s, t[i].want);
}

// ---- ordering: the first key in kubelet order that matches wins ----

static void ring_add(struct auth_keyring *k, const char *key, const char *user)
{
	struct auth_cred c = {.username = xstrdup(user), .password = xstrdup("pw"),
			      .source = xasprintf("test entry '%s'", key)};
	assert_true(auth_keyring_add(k, key, &c));
	assert_null(c.username);
}

static const char *ring_user(const struct auth_keyring *k, const char *target)
{
	static char user[64];
	const char *slash = strchr(target, '/');
	_cleanup_free_ char *host = slash ? xstrndup(target, (size_t)(slash - target)) : xstrdup(target);
	struct auth_cred c = {0};
	if (!auth_keyring_lookup(k, host, slash ? slash + 1 : "", &c))
		return NULL;
	snprintf(user, sizeof(user), "%s", c.username);
	auth_cred_release(&c);
	return user;
}

static void expect_user(const struct auth_keyring *k, const char *target, const char *want)
{
	const char *got = ring_user(k, target);
	if (!want && got)
		fail_msg("%s: expected no credential, got %s", target, got);
	if (want && (!got || strcmp(got, want) != 0))
		fail_msg("%s: expected %s, got %s", target, want, got ? got : "(none)");
}

// keyring_test.go TestDockerKeyringLookup: bar.example.com/pong before bar.example.com.
static void test_kubelet_keyring_lookup(void **state)
{
	(void)state;
	struct auth_keyring k = {0};
	ring_add(&k, "bar.example.com", "ada");
	ring_add(&k, "bar.example.com/pong", "grace");
	auth_keyring_sort(&k);
	expect_user(&k, "bar.example.com", "ada");
	expect_user(&k, "bar.example.com/pong", "grace");
	expect_user(&k, "bar.example.com/ping", "ada");
	expect_user(&k, "bar.example.com/pongz", "ada"); // the kubelet would offer grace first
	expect_user(&k, "bar.example.com/pong/pang", "grace");
	expect_user(&k, "example.com", NULL);
	expect_user(&k, "foo.example.com", NULL);
	auth_keyring_release(&k);
}

static void test_specificity(void **state)
{
	(void)state;
	struct auth_keyring k = {0};
	// loaded least specific first, so only sorting can get the answers right
	ring_add(&k, "*.azurecr.io", "wild");
	ring_add(&k, "*.azurecr.io/team", "wildteam");
	ring_add(&k, "myreg.azurecr.io", "myreg");
	ring_add(&k, "myreg.azurecr.io/team", "team");
	ring_add(&k, "myreg.azurecr.io/team/sub", "sub");
	ring_add(&k, "ghcr.io", "first");
	ring_add(&k, "https://ghcr.io/", "second"); // same key: load order decides
	ring_add(&k, "https://index.docker.io/v1/", "hub1");
	ring_add(&k, "docker.io", "hub2");
	ring_add(&k, "docker.io/library", "library");
	auth_keyring_sort(&k);
	expect_user(&k, "myreg.azurecr.io/team/sub/app", "sub");
	expect_user(&k, "myreg.azurecr.io/team/app", "team");
	expect_user(&k, "myreg.azurecr.io/other", "myreg");
	expect_user(&k, "other.azurecr.io/team/app", "wildteam");
	expect_user(&k, "other.azurecr.io/x", "wild");
	expect_user(&k, "ghcr.io/a/b", "first");
	expect_user(&k, "registry-1.docker.io/library/busybox", "library");
	expect_user(&k, "registry-1.docker.io/someone/app", "hub1");
	// The kubelet's order is by key text: a literal host comes before a glob
	// host even when the glob key has a longer path.
	struct auth_keyring k2 = {0};
	ring_add(&k2, "*.azurecr.io/team", "wildteam");
	ring_add(&k2, "x.azurecr.io", "x");
	auth_keyring_sort(&k2);
	expect_user(&k2, "x.azurecr.io/team/app", "x");
	auth_keyring_release(&k2);

	struct auth_host_key a, b;
	assert_int_equal(auth_host_key_parse(&a, "quay.io/coreos"), 0);
	assert_int_equal(auth_host_key_parse(&b, "quay.io"), 0);
	assert_true(auth_host_key_cmp(&a, &b) < 0);
	assert_true(auth_host_key_cmp(&b, &a) > 0);
	assert_int_equal(auth_host_key_cmp(&a, &a), 0);
	auth_host_key_release(&a);
	auth_host_key_release(&b);
	// the key as written is reported, not the normalised one
	struct auth_cred c = {0};
	assert_int_equal(auth_keyring_lookup(&k, "registry-1.docker.io", "x/y", &c), 1);
	assert_string_equal(c.matched, "https://index.docker.io/v1/");
	assert_string_equal(c.source, "test entry 'https://index.docker.io/v1/'");
	auth_cred_release(&c);
	auth_keyring_release(&k);
}

// Lookups for an artifact type consider only the entries serving it, with the
// kubelet's order unchanged among them.
static void test_keyring_serving(void **state)
{
	(void)state;
	const unsigned img = AUTH_SERVES(AUTH_ART_IMAGE), chart = AUTH_SERVES(AUTH_ART_CHART);
	static const struct {
		const char *key, *user;
		unsigned serves; // 0: auth_keyring_add (every type)
	} ents[] = {
		{"*.azurecr.io", "wild-img", 1},	{"x.azurecr.io", "x-chart", 2},
		{"quay.io", "quay-all", 0},		{"quay.io/team", "team-chart", 2},
		{"localhost:5000", "port-img", 1},	{"localhost", "noport-chart", 2},
		{"https://index.docker.io/v1/", "hub-chart", 2}, {"docker.io/library", "lib-img", 1},
	};
	struct auth_keyring k = {0};
	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		struct auth_cred c = {.username = xstrdup(ents[i].user), .password = xstrdup("pw")};
		unsigned serves = ents[i].serves == 1 ? img : ents[i].serves == 2 ? chart : AUTH_SERVES_ALL;
		assert_true(auth_keyring_add_serving(&k, ents[i].key, serves, &c));
	}
	auth_keyring_sort(&k);
	static const struct {
		const char *host, *path;
		enum auth_artifact art;
		const char *want;
	} t[] = {
		{"x.azurecr.io", "a", AUTH_ART_IMAGE, "wild-img"}, // the more specific key serves charts only
		{"x.azurecr.io", "a", AUTH_ART_CHART, "x-chart"},
		{"y.azurecr.io", "a", AUTH_ART_CHART, NULL},
		{"a.b.azurecr.io", "a", AUTH_ART_IMAGE, NULL}, // globs stay per label
		{"quay.io", "team/app", AUTH_ART_CHART, "team-chart"},
		{"quay.io", "team/app", AUTH_ART_IMAGE, "quay-all"},
		{"quay.io", "teamster/app", AUTH_ART_CHART, "quay-all"}, // segment boundary kept
		{"localhost:5000", "a", AUTH_ART_IMAGE, "port-img"},
		{"localhost:5000", "a", AUTH_ART_CHART, NULL}, // ports must be equal
		{"localhost", "a", AUTH_ART_CHART, "noport-chart"},
		{"localhost", "a", AUTH_ART_IMAGE, NULL},
		{"registry-1.docker.io", "library/busybox", AUTH_ART_IMAGE, "lib-img"},
		{"registry-1.docker.io", "library/busybox", AUTH_ART_CHART, "hub-chart"},
		{"registry-1.docker.io", "someone/app", AUTH_ART_IMAGE, NULL},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct auth_cred c = {0};
		int r = auth_keyring_lookup_for(&k, t[i].art, t[i].host, t[i].path, &c);
		if (r != (t[i].want != NULL) || (r && strcmp(c.username, t[i].want) != 0))
			fail_msg("%s/%s for %s: expected %s, got %s", t[i].host, t[i].path,
				 auth_artifact_name(t[i].art), t[i].want ? t[i].want : "(none)",
				 r ? c.username : "(none)");
		auth_cred_release(&c);
	}
	// auth_keyring_lookup asks for images
	struct auth_cred c = {0};
	assert_int_equal(auth_keyring_lookup(&k, "x.azurecr.io", "a", &c), 1);
	assert_string_equal(c.username, "wild-img");
	auth_cred_release(&c);
	// a change of what an entry serves is a change of the keyring
	struct auth_keyring k2 = {0};
	struct auth_keyring k3 = {0};
	struct auth_cred c2 = {.username = xstrdup("u"), .password = xstrdup("p")};
	struct auth_cred c3 = {.username = xstrdup("u"), .password = xstrdup("p")};
	assert_true(auth_keyring_add_serving(&k2, "r.io", img, &c2));
	assert_true(auth_keyring_add_serving(&k3, "r.io", chart, &c3));
	assert_false(auth_keyring_equal(&k2, &k3));
	auth_keyring_release(&k2);
	auth_keyring_release(&k3);
	auth_keyring_release(&k);
}

static void test_keyring_rejects_bad_key(void **state)
{
	(void)state;
	struct auth_keyring k = {0};
	struct auth_cred c = {.username = xstrdup("u"), .password = xstrdup("p")};
	assert_false(auth_keyring_add(&k, "bad host", &c));
	assert_null(c.password);
	assert_int_equal(k.n, 0);
	auth_keyring_release(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubelet_urls_match),
		cmocka_unit_test(test_kubelet_keyring_glob),
		cmocka_unit_test(test_docker_hub),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_globs_per_label),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_ipv6_and_case),
		cmocka_unit_test(test_invalid_keys),
		cmocka_unit_test(test_normalised_keys),
		cmocka_unit_test(test_go_path_match),
		cmocka_unit_test(test_kubelet_keyring_lookup),
		cmocka_unit_test(test_specificity),
		cmocka_unit_test(test_keyring_serving),
		cmocka_unit_test(test_keyring_rejects_bad_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
