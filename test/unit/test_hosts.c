// SPDX-License-Identifier: Apache-2.0
// containerd's hosts.toml (transport/hosts.c): the examples of containerd's
// docs/hosts.md and the tables of core/remotes/docker/config/hosts_test.go
// (TestParseHostFile, TestDefaultHosts, TestHTTPFallback, TestLoadCertFiles),
// both at containerd v2.3.4, then a row for each decision of hosts.c: URL
// forms, capabilities, ca/client/header forms, defaults, the HTTP fallback,
// 1.7/2.x divergences refused, the TOML reader's subset and its refusals, the
// directory search and the Docker-style certificate files.
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/hosts.h"
#include "util/file.h"
#include "util/mem.h"

// ---------------------------------------------------------------------------
// A config as text: one line per endpoint,
// "<scheme>://<host><path> caps=<...>[ ca=a,b][ client=cert+key,cert][ skip_verify][ tls][ fallback]
//  [ header=name:value|...][ dial=<ns>][ server]"

static char *append(char *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *append(char *s, const char *fmt, ...)
{
	char part[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(part, sizeof(part), fmt, ap);
	va_end(ap);
	char *r = xasprintf("%s%s", s ? s : "", part);
	free(s);
	return r;
}

static char *caps_text(unsigned caps)
{
	static const char *const names[] = {"pull", "resolve", "push", "referrers"};
	if (caps == HOSTS_CAP_ALL)
		return xstrdup("all");
	char *s = NULL;
	for (unsigned i = 0; i < 4; i++)
		if (caps & (1u << i))
			s = append(s, "%s%s", s ? "," : "", names[i]);
	return s ? s : xstrdup("none");
}

static char *ep_dump(const struct hosts_endpoint *ep)
{
	_cleanup_free_ char *caps = caps_text(ep->caps);
	char *s = append(NULL, "%s://%s%s caps=%s", ep->scheme, ep->host, ep->path, caps);
	for (size_t i = 0; i < ep->nca; i++)
		s = append(s, "%s%s", i ? "," : " ca=", ep->ca[i]);
	for (size_t i = 0; i < ep->nclient; i++)
		s = append(s, "%s%s%s%s", i ? "," : " client=", ep->client_cert[i], ep->client_key[i] ? "+" : "",
			   ep->client_key[i] ? ep->client_key[i] : "");
	if (ep->skip_verify)
		s = append(s, " skip_verify");
	if (ep->tls_explicit)
		s = append(s, " tls");
	if (ep->http_fallback)
		s = append(s, " fallback");
	for (size_t i = 0; i < ep->nheaders; i++)
		s = append(s, "%s%s:%s", i ? "|" : " header=", ep->headers[i].name, ep->headers[i].value);
	if (ep->has_dial_timeout)
		s = append(s, " dial=%lld", ep->dial_timeout_ns);
	if (ep->is_server)
		s = append(s, " server");
	return s;
}

static char *config_dump(const struct hosts_config *c)
{
	char *s = xstrdup("");
	for (size_t i = 0; i < c->n; i++) {
		_cleanup_free_ char *line = ep_dump(&c->v[i]);
		s = append(s, "%s%s", i ? "\n" : "", line);
	}
	return s;
}

// ---------------------------------------------------------------------------
// Rows over hosts_parse

struct row {
	const char *name;
	const char *host;
	const char *file; // NULL: as containerd's parseHostsFile("", ...) in hosts_test.go
	const char *toml;
	const char *want; // the dump, NULL when refused
	const char *err;  // part of the refusal's message
};

static bool row_check(const struct row *r)
{
	struct hosts_config c = {0};
	struct err e = {0};
	int rc = hosts_parse(&c, r->toml, strlen(r->toml), r->host, r->file, &e);
	bool ok;
	if (r->want) {
		_cleanup_free_ char *got = rc == 0 ? config_dump(&c) : NULL;
		ok = rc == 0 && !strcmp(got, r->want) && c.n >= 1 && c.v[c.n - 1].is_server;
		if (!ok)
			print_error("[%s] want:\n%s\ngot:\n%s\n", r->name, r->want, rc == 0 ? got : e.msg);
	} else {
		ok = rc < 0 && e.cls == ERR_USAGE && strstr(e.msg, r->err) && !strchr(e.msg, '\n');
		if (!ok)
			print_error("[%s] want a refusal with \"%s\", got %s\n", r->name, r->err,
				    rc < 0 ? e.msg : "success");
	}
	hosts_release(&c);
	return ok;
}

static void run_rows(const struct row *rows, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += !row_check(&rows[i]);
	if (bad)
		fail_msg("%zu of %zu rows failed", bad, n);
}

#define RUN(tbl) run_rows(tbl, sizeof(tbl) / sizeof(tbl[0]))
#define F "/etc/containerd/certs.d/reg.example/hosts.toml"
#define D "/etc/containerd/certs.d/reg.example"

// hosts_test.go TestParseHostFile (v2.3.4), with baseDir "" (file NULL). Path
// "" (override_path without a path) is "/" here: path.Join("/", "") as
// containerd's requests join it.
static void test_containerd_parse_host_file(void **state)
{
	(void)state;
	static const char toml[] =
		"\nserver = \"https://test-default.registry\"\nca = \"/etc/path/default\"\n[header]\n"
		"  x-custom-1 = \"custom header\"\n\n[host.\"https://mirror.registry\"]\n  capabilities = [\"pull\"]\n"
		"  ca = \"/etc/certs/mirror.pem\"\n  skip_verify = false\n  [host.\"https://mirror.registry\".header]\n"
		"    x-custom-2 = [\"value1\", \"value2\"]\n\n[host.\"https://mirror-bak.registry/us\"]\n"
		"  capabilities = [\"pull\"]\n  skip_verify = true\n\n[host.\"http://mirror.registry\"]\n"
		"  capabilities = [\"pull\"]\n\n[host.\"https://test-1.registry\"]\n"
		"  capabilities = [\"pull\", \"resolve\", \"push\", \"referrers\"]\n"
		"  ca = [\"/etc/certs/test-1-ca.pem\", \"/etc/certs/special.pem\"]\n"
		"  client = [[\"/etc/certs/client.cert\", \"/etc/certs/client.key\"],[\"/etc/certs/client.pem\", \"\"]]\n\n"
		"[host.\"https://test-2.registry\"]\n  client = \"/etc/certs/client.pem\"\n\n"
		"[host.\"https://test-3.registry\"]\n  client = [\"/etc/certs/client-1.pem\", \"/etc/certs/client-2.pem\"]\n\n"
		"[host.\"https://no-referrers.registry\"]\n  capabilities = [\"pull\", \"resolve\", \"push\"]\n"
		"  client = [\"/etc/certs/client-1.pem\", \"/etc/certs/client-2.pem\"]\n\n"
		"[host.\"https://noncompliantmirror.registry/v2/namespaceprefix\"]\n  capabilities = [\"pull\"]\n"
		"  override_path = true\n\n[host.\"https://noprefixnoncompliant.registry\"]\n  override_path = true\n\n"
		"[host.\"https://onlyheader.registry\".header]\n  x-custom-1 = \"justaheader\"\n\n"
		"[host.\"https://dial-timeout.registry\"]\n  dial_timeout = \"3s\"\n";
	static const struct row rows[] = {
		{"TestParseHostFile", "test-default.registry", NULL, toml,
		 "https://mirror.registry/v2 caps=pull ca=/etc/certs/mirror.pem tls header=x-custom-2:value1|x-custom-2:value2\n"
		 "https://mirror-bak.registry/us/v2 caps=pull skip_verify tls\n"
		 "http://mirror.registry/v2 caps=pull\n"
		 "https://test-1.registry/v2 caps=all ca=/etc/certs/test-1-ca.pem,/etc/certs/special.pem "
		 "client=/etc/certs/client.cert+/etc/certs/client.key,/etc/certs/client.pem tls\n"
		 "https://test-2.registry/v2 caps=all client=/etc/certs/client.pem tls\n"
		 "https://test-3.registry/v2 caps=all client=/etc/certs/client-1.pem,/etc/certs/client-2.pem tls\n"
		 "https://no-referrers.registry/v2 caps=pull,resolve,push client=/etc/certs/client-1.pem,/etc/certs/client-2.pem tls\n"
		 "https://noncompliantmirror.registry/v2/namespaceprefix caps=pull\n"
		 "https://noprefixnoncompliant.registry/ caps=all\n"
		 "https://onlyheader.registry/v2 caps=all header=x-custom-1:justaheader\n"
		 "https://dial-timeout.registry/v2 caps=all dial=3000000000\n"
		 "https://test-default.registry/v2 caps=all ca=/etc/path/default tls header=x-custom-1:custom header server",
		 NULL},
		// The same file read from a directory: containerd joins the pair's "" to
		// the directory and then fails to read it as a key.
		{"TestParseHostFile from a directory", "test-default.registry", F, toml, NULL,
		 F ":24: \"client\": an empty path names the directory \"" D "\""},
	};
	RUN(rows);
}

// The examples of docs/hosts.md (v2.3.4).
static void test_containerd_docs(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"simple docker.io", "docker.io", "/etc/containerd/certs.d/docker.io/hosts.toml",
		 "server = \"https://docker.io\"\n\n[host.\"https://registry-1.docker.io\"]\n"
		 "  capabilities = [\"pull\", \"resolve\"]\n",
		 "https://registry-1.docker.io/v2 caps=pull,resolve\nhttps://docker.io/v2 caps=all server", NULL},
		{"local mirror for docker", "docker.io", "/etc/containerd/certs.d/docker.io/hosts.toml",
		 "server = \"https://registry-1.docker.io\"    # Exclude this to not use upstream\n\n"
		 "[host.\"https://public-mirror.example.com\"]\n"
		 "  capabilities = [\"pull\"]                  # Requires less trust, won't resolve tag to digest from this host\n"
		 "[host.\"https://docker-mirror.internal\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
		 "  ca = \"docker-mirror.crt\"                 # Or absolute path /etc/containerd/certs.d/docker.io/docker-mirror.crt\n",
		 "https://public-mirror.example.com/v2 caps=pull\n"
		 "https://docker-mirror.internal/v2 caps=pull,resolve ca=/etc/containerd/certs.d/docker.io/docker-mirror.crt tls\n"
		 "https://registry-1.docker.io/v2 caps=all server",
		 NULL},
		{"_default mirror, upstream after it", "quay.io", "/etc/containerd/certs.d/_default/hosts.toml",
		 "[host.\"https://registry.example.com\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
		 "https://registry.example.com/v2 caps=pull,resolve\nhttps://quay.io/v2 caps=all server", NULL},
		{"_default mirror as the server only", "quay.io", "/etc/containerd/certs.d/_default/hosts.toml",
		 "server = \"https://registry.example.com\"\n", "https://registry.example.com/v2 caps=all server", NULL},
		{"bypass TLS verification: http with skip_verify tries https first", "docker.io", NULL,
		 "server = \"https://registry-1.docker.io\"\n\n[host.\"http://192.168.31.250:5000\"]\n"
		 "  capabilities = [\"pull\", \"resolve\", \"push\"]\n  skip_verify = true\n",
		 "https://192.168.31.250:5000/v2 caps=pull,resolve,push skip_verify tls fallback\n"
		 "https://registry-1.docker.io/v2 caps=all server",
		 NULL},
		{"server field", "docker.io", NULL, "server = \"https://docker.io\"\n",
		 "https://docker.io/v2 caps=all server", NULL},
		{"capabilities field", "r.example", NULL, "capabilities =  [\"pull\", \"resolve\", \"push\"]\n",
		 "https://r.example/v2 caps=all server", NULL}, // no server: the default, all capabilities
		{"ca field, array", "r.example", NULL, "server = \"r.example\"\nca = [\"/etc/certs/test-1-ca.pem\", \"/etc/certs/special.pem\"]\n",
		 "https://r.example/v2 caps=all ca=/etc/certs/test-1-ca.pem,/etc/certs/special.pem tls server", NULL},
		{"header field, array", "r.example", NULL, "[header]\n  x-custom-1 = [\"custom header part a\",\"part b\"]\n",
		 "https://r.example/v2 caps=all header=x-custom-1:custom header part a|x-custom-1:part b server", NULL},
		{"override_path field", "r.example", NULL, "server = \"https://r.example/api\"\noverride_path = true\n",
		 "https://r.example/api caps=all server", NULL},
		{"dial_timeout field", "r.example", NULL, "dial_timeout = \"1s\"\n",
		 "https://r.example/v2 caps=all dial=1000000000 server", NULL},
		// "Recursion is not supported": the indented table is a sibling host.
		{"no recursion", "r.example", NULL,
		 "[host.\"http://mirror.registry\"]\n  capabilities = [\"pull\"]\n  [host.\"http://double-mirror.registry\"]\n"
		 "    capabilities = [\"pull\"]\n",
		 "http://mirror.registry/v2 caps=pull\nhttp://double-mirror.registry/v2 caps=pull\nhttps://r.example/v2 caps=all server",
		 NULL},
	};
	RUN(rows);
}

// TestDefaultHosts and TestHTTPFallback's rows with HostOptions{} (the CRI
// plugin's options; the rows with DefaultScheme or DefaultTLS are ctr's).
static void test_containerd_defaults(void **state)
{
	(void)state;
	static const struct {
		const char *host, *want;
	} t[] = {
		{"docker.io", "https://registry-1.docker.io/v2 caps=all server"},
		{"localhost:8080", "https://localhost:8080/v2 caps=all skip_verify tls fallback server"},
		{"localhost:80", "http://localhost:80/v2 caps=all server"},
		{"localhost:443", "https://localhost:443/v2 caps=all skip_verify tls server"},
		{"localhost", "https://localhost/v2 caps=all skip_verify tls server"},
		{"localhost:5000", "https://localhost:5000/v2 caps=all skip_verify tls fallback server"},
		{"example.com", "https://example.com/v2 caps=all server"},
		{"example.com:5000", "https://example.com:5000/v2 caps=all server"},
		{"127.0.0.254:5000", "https://127.0.0.254:5000/v2 caps=all skip_verify tls fallback server"},
		{"127.0.0.254", "https://127.0.0.254/v2 caps=all skip_verify tls server"},
		{"[::1]:5000", "https://[::1]:5000/v2 caps=all skip_verify tls fallback server"},
		{"::1", "https://::1/v2 caps=all skip_verify tls server"},
		// Ours: Go's ParseIP and SplitHostPort at the edges.
		{"[::1]", "https://[::1]/v2 caps=all server"}, // SplitHostPort fails: not a loopback IP
		{"[::ffff:127.0.0.1]:5000", "https://[::ffff:127.0.0.1]:5000/v2 caps=all skip_verify tls fallback server"},
		{"127.000.0.1:5000", "https://127.000.0.1:5000/v2 caps=all server"}, // ParseIP refuses leading zeros
		{"LOCALHOST:5000", "https://LOCALHOST:5000/v2 caps=all server"},       // "localhost" exactly
		{"128.0.0.1:5000", "https://128.0.0.1:5000/v2 caps=all server"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct hosts_config c = {0};
		struct err e = {0};
		assert_int_equal(hosts_load(&c, NULL, t[i].host, &e), 0);
		_cleanup_free_ char *got = config_dump(&c);
		if (strcmp(got, t[i].want))
			fail_msg("%s: want [%s] got [%s]", t[i].host, t[i].want, got);
		assert_null(c.source);
		hosts_release(&c);
	}
}

static void test_server_forms(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"no scheme", "r", NULL, "server = \"registry.example.com\"", "https://registry.example.com/v2 caps=all server", NULL},
		{"no scheme, port", "r", NULL, "server = \"registry.example.com:5000\"",
		 "https://registry.example.com:5000/v2 caps=all server", NULL},
		{"http, no TLS config", "r", NULL, "server = \"http://registry.example.com:5000\"",
		 "http://registry.example.com:5000/v2 caps=all server", NULL},
		{"path /v2 kept", "r", NULL, "server = \"https://r.example/v2\"", "https://r.example/v2 caps=all server", NULL},
		{"path / gets /v2", "r", NULL, "server = \"https://r.example/\"", "https://r.example/v2 caps=all server", NULL},
		{"path gets /v2", "r", NULL, "server = \"https://r.example/sub/path\"", "https://r.example/sub/path/v2 caps=all server", NULL},
		{"path cleaned", "r", NULL, "server = \"https://r.example/sub/../path/./x/\"", "https://r.example/path/x/v2 caps=all server", NULL},
		{"path ending in v2 but not /v2", "r", NULL, "server = \"https://r.example/apiv2\"", "https://r.example/apiv2/v2 caps=all server", NULL},
		{"override_path keeps the path", "r", NULL, "server = \"https://r.example/sub\"\noverride_path = true",
		 "https://r.example/sub caps=all server", NULL},
		{"override_path, no path", "r", NULL, "server = \"https://r.example\"\noverride_path = true",
		 "https://r.example/ caps=all server", NULL},
		{"userinfo, query, fragment dropped", "r", NULL, "server = \"https://user:pw@r.example/x?q=1#f\"",
		 "https://r.example/x/v2 caps=all server", NULL},
		{"scheme lower-cased", "r", NULL, "server = \"httpS://r.example\"", "https://r.example/v2 caps=all server", NULL},
		{"escaped path", "r", NULL, "server = \"https://r.example/a%20b/c%2Fd\"", "https://r.example/a b/c/d/v2 caps=all server", NULL},
		{"IPv6", "r", NULL, "server = \"https://[fd00::1]:5000\"", "https://[fd00::1]:5000/v2 caps=all server", NULL},
		{"empty server: the default", "docker.io", NULL, "server = \"\"", "https://registry-1.docker.io/v2 caps=all server", NULL},
		{"not a string", "r", NULL, "server = 5", NULL, "hosts.toml:1: \"server\" must be a string"},
		{"HTTPS:// is not a prefix \"http\"", "r", NULL, "server = \"HTTPS://r.example\"", NULL,
		 "\"HTTPS:\" is not a host[:port]"},
		{"httpfoo: a path for Go", "r", NULL, "server = \"httpfoo.example\"", NULL, "no host"},
		{"http-mirror:5000: a scheme for Go", "r", NULL, "server = \"http-mirror.example:5000\"", NULL, "no host"},
		{"ftp", "r", NULL, "server = \"ftp://r.example\"", NULL, "\"ftp:\" is not a host[:port]"},
		{"httpx", "r", NULL, "server = \"httpx://r.example\"", NULL, "scheme \"httpx\" is not http or https"},
		{"no host", "r", NULL, "server = \"https://\"", NULL, "\"\" is not a host[:port]"},
		{"port range", "r", NULL, "server = \"https://r.example:65536\"", NULL, "is not a host[:port]"},
		{"empty port", "r", NULL, "server = \"https://r.example:\"", NULL, "is not a host[:port]"},
		{"two colons", "r", NULL, "server = \"https://a:b:80\"", NULL, "is not a host[:port]"},
		{"bad escape", "r", NULL, "server = \"https://r.example/%zz\"", NULL, "invalid % escape in the path"},
		{"bad escape in the fragment", "r", NULL, "server = \"https://r.example/#%zz\"", NULL, "invalid % escape in the fragment"},
		{"escaped ?", "r", NULL, "server = \"https://r.example/a%3Fb\"", NULL, "escaped '?'"},
		{"escaped %", "r", NULL, "server = \"https://r.example/a%25b\"", NULL, "escaped '%'"},
		{"escaped tab", "r", NULL, "server = \"https://r.example/a%09b\"", NULL, "escaped '?' or control character"},
		{"tab", "r", NULL, "server = \"https://r.example/a\tb\"", NULL, "control character"},
		{"escaped NUL", "r", NULL, "server = \"https://r.example/a%00b\"", NULL, "escaped control character"},
		{"bad userinfo", "r", NULL, "server = \"https://a b@r.example\"", NULL, "invalid user information"},
		{"space in the host", "r", NULL, "server = \"https://r example\"", NULL, "is not a host[:port]"},
	};
	RUN(rows);
}

static void test_host_entries(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"no scheme", "r", NULL, "[host.\"mirror.example.com\"]", "https://mirror.example.com/v2 caps=all\nhttps://r/v2 caps=all server", NULL},
		{"http", "r", NULL, "[host.\"http://m.example\"]", "http://m.example/v2 caps=all\nhttps://r/v2 caps=all server", NULL},
		{"http with a ca", "r", NULL, "[host.\"http://m.example\"]\nca = \"/ca.pem\"",
		 "https://m.example/v2 caps=all ca=/ca.pem tls fallback\nhttps://r/v2 caps=all server", NULL},
		{"http on port 80 with skip_verify", "r", NULL, "[host.\"http://m.example:80\"]\nskip_verify = true",
		 "http://m.example:80/v2 caps=all skip_verify tls\nhttps://r/v2 caps=all server", NULL},
		{"http with skip_verify = false", "r", NULL, "[host.\"http://m.example\"]\nskip_verify = false",
		 "https://m.example/v2 caps=all tls fallback\nhttps://r/v2 caps=all server", NULL},
		{"http with ca = []", "r", NULL, "[host.\"http://m.example\"]\nca = []",
		 "https://m.example/v2 caps=all tls fallback\nhttps://r/v2 caps=all server", NULL},
		{"http with client = []", "r", NULL, "[host.\"http://m.example\"]\nclient = []",
		 "http://m.example/v2 caps=all\nhttps://r/v2 caps=all server", NULL},
		{"path without override_path", "r", NULL, "[host.\"https://m.example/v2/upstream\"]\n[host.\"https://n.example/us\"]",
		 "https://m.example/v2/upstream/v2 caps=all\nhttps://n.example/us/v2 caps=all\nhttps://r/v2 caps=all server", NULL},
		{"override_path without a path", "r", NULL, "[host.\"https://m.example\"]\noverride_path = true",
		 "https://m.example/ caps=all\nhttps://r/v2 caps=all server", NULL},
		{"file order kept", "r", NULL, "[host.\"https://c\"]\n[host.\"https://a\"]\n[host.\"https://b\"]\nserver = \"x\"",
		 "https://c/v2 caps=all\nhttps://a/v2 caps=all\nhttps://b/v2 caps=all\nhttps://r/v2 caps=all server", NULL},
		{"a server key in a host table is ignored", "r", NULL, "[host.\"https://c\"]\nserver = \"https://x\"",
		 "https://c/v2 caps=all\nhttps://r/v2 caps=all server", NULL},
		{"capabilities lower-cased", "r", NULL, "[host.\"https://m\"]\ncapabilities = [\"PULL\", \"Resolve\"]",
		 "https://m/v2 caps=pull,resolve\nhttps://r/v2 caps=all server", NULL},
		{"capabilities empty: all", "r", NULL, "[host.\"https://m\"]\ncapabilities = []",
		 "https://m/v2 caps=all\nhttps://r/v2 caps=all server", NULL},
		{"referrers", "r", NULL, "[host.\"https://m\"]\ncapabilities = [\"referrers\"]",
		 "https://m/v2 caps=referrers\nhttps://r/v2 caps=all server", NULL},
		{"unknown capability", "r", NULL, "[host.\"https://m\"]\ncapabilities = [\"pull\", \"delete\"]", NULL,
		 "hosts.toml:2: unknown capability \"delete\""},
		{"capabilities as a string", "r", NULL, "[host.\"https://m\"]\ncapabilities = \"pull\"", NULL,
		 "\"capabilities\" must be an array of strings"},
		{"capabilities with a number", "r", NULL, "[host.\"https://m\"]\ncapabilities = [1]", NULL,
		 "\"capabilities\" must be an array of strings"},
		{"empty host key", "r", NULL, "[host.\"\"]", NULL, "hosts.toml:1: URL \"\": \"\" is not a host[:port]"},
		{"skip_verify as a string", "r", NULL, "[host.\"https://m\"]\nskip_verify = \"true\"", NULL,
		 "\"skip_verify\" must be a boolean"},
		{"override_path as a number", "r", NULL, "override_path = 1", NULL, "\"override_path\" must be a boolean"},
		{"a host that is not a table", "r", NULL, "[host]\n\"https://m\" = 1", NULL, "\"host\" must be a table"},
		{"host not a table", "r", NULL, "host = \"https://m\"", NULL, "\"host\" must be a table"},
	};
	RUN(rows);
}

// No server: ConfigureHosts' default replaces scheme, host, path and capabilities.
static void test_server_absent(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"docker.io", "docker.io", NULL, "[host.\"https://m\"]", "https://m/v2 caps=all\nhttps://registry-1.docker.io/v2 caps=all server", NULL},
		{"root capabilities overwritten", "r.example", NULL, "capabilities = [\"pull\"]\noverride_path = true",
		 "https://r.example/v2 caps=all server", NULL},
		{"localhost: skip_verify forced", "localhost:5000", NULL, "skip_verify = false",
		 "https://localhost:5000/v2 caps=all skip_verify tls fallback server", NULL},
		{"root TLS and headers kept", "r.example", F, "ca = \"ca.crt\"\nclient = [[\"c.cert\", \"c.key\"]]\n[header]\nx-a = \"1\"",
		 "https://r.example/v2 caps=all ca=" D "/ca.crt client=" D "/c.cert+" D "/c.key tls header=x-a:1 server", NULL},
		{"empty file", "r.example", F, "", "https://r.example/v2 caps=all server", NULL},
		{"comments only", "r.example", F, "# nothing\n\n", "https://r.example/v2 caps=all server", NULL},
	};
	RUN(rows);
}

static void test_tls_paths(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"ca relative", "r", F, "server = \"r\"\nca = \"rel/ca.pem\"", "https://r/v2 caps=all ca=" D "/rel/ca.pem tls server", NULL},
		{"ca relative upwards", "r", F, "server = \"r\"\nca = \"../shared/ca.pem\"",
		 "https://r/v2 caps=all ca=/etc/containerd/certs.d/shared/ca.pem tls server", NULL},
		{"ca absolute as written", "r", F, "server = \"r\"\nca = \"/abs//ca.pem\"", "https://r/v2 caps=all ca=/abs//ca.pem tls server", NULL},
		{"ca relative, no directory", "r", NULL, "server = \"r\"\nca = \"./a/../ca.pem\"", "https://r/v2 caps=all ca=ca.pem tls server", NULL},
		{"ca relative to a relative file", "r", "certs.d/r/hosts.toml", "server = \"r\"\nca = \"ca.pem\"",
		 "https://r/v2 caps=all ca=certs.d/r/ca.pem tls server", NULL},
		{"ca array", "r", F, "server = \"r\"\nca = [\"a.pem\", \"/b.pem\"]", "https://r/v2 caps=all ca=" D "/a.pem,/b.pem tls server", NULL},
		{"ca empty", "r", F, "ca = \"\"", NULL, F ":1: \"ca\": an empty path names the directory"},
		{"ca empty, no directory", "r", NULL, "ca = [\"\"]", NULL, "hosts.toml:1: \"ca\": empty path"},
		{"ca number", "r", F, "ca = [1]", NULL, "\"ca\" must be a string or an array of strings"},
		{"ca boolean", "r", F, "ca = true", NULL, "\"ca\" must be a string or an array of strings"},
		{"ca table", "r", F, "[ca]\na = \"b\"", NULL, "\"ca\" must be a string or an array of strings"},
		{"client string", "r", F, "server = \"r\"\nclient = \"c.pem\"", "https://r/v2 caps=all client=" D "/c.pem tls server", NULL},
		{"client strings", "r", F, "server = \"r\"\nclient = [\"a.pem\", \"/b.pem\"]",
		 "https://r/v2 caps=all client=" D "/a.pem," "/b.pem tls server", NULL},
		{"client pairs", "r", F, "server = \"r\"\nclient = [[\"c.cert\", \"/k/c.key\"]]",
		 "https://r/v2 caps=all client=" D "/c.cert+/k/c.key tls server", NULL},
		{"client mixed", "r", F, "server = \"r\"\nclient = [\"a.pem\", [\"b.cert\", \"b.key\"]]",
		 "https://r/v2 caps=all client=" D "/a.pem," D "/b.cert+" D "/b.key tls server", NULL},
		{"client pair of one", "r", F, "client = [[\"c.cert\"]]", NULL, "\"client\": a pair must be two strings"},
		{"client pair of three", "r", F, "client = [[\"a\", \"b\", \"c\"]]", NULL, "\"client\": a pair must be two strings"},
		{"client pair with a number", "r", F, "client = [[\"a\", 1]]", NULL, "\"client\": a pair must be two strings"},
		{"client table", "r", F, "client = [{a = \"b\"}]", NULL, "\"client\" must be a string, an array"},
		{"client empty cert", "r", F, "client = \"\"", NULL, "\"client\": an empty path names the directory"},
		{"client key empty, no directory", "r", NULL, "server = \"r\"\nclient = [[\"/c.pem\", \"\"]]",
		 "https://r/v2 caps=all client=/c.pem tls server", NULL},
		{"client key empty with a directory", "r", F, "client = [[\"/c.pem\", \"\"]]", NULL,
		 "give the certificate alone to take the key from it"},
	};
	RUN(rows);
}

static void test_headers(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"string", "r", NULL, "server = \"r\"\n[header]\nx-a = \"1\"", "https://r/v2 caps=all header=x-a:1 server", NULL},
		{"array", "r", NULL, "server = \"r\"\n[header]\nx-a = [\"1\", \"2\"]\nX-B = \"3\"",
		 "https://r/v2 caps=all header=x-a:1|x-a:2|X-B:3 server", NULL},
		{"inline table", "r", NULL, "server = \"r\"\nheader = { \"x-a\" = \"1\", x-b = [\"2\"] }",
		 "https://r/v2 caps=all header=x-a:1|x-b:2 server", NULL},
		{"dotted keys", "r", NULL, "server = \"r\"\nheader.x-a = \"1\"\nheader.x-b = \"2\"",
		 "https://r/v2 caps=all header=x-a:1|x-b:2 server", NULL},
		{"empty array", "r", NULL, "server = \"r\"\n[header]\nx-a = []", "https://r/v2 caps=all server", NULL},
		{"host header table", "r", NULL, "[host.\"https://m\"]\ncapabilities = [\"pull\"]\n[host.\"https://m\".header]\nAuthorization = \"Bearer t\"",
		 "https://m/v2 caps=pull header=Authorization:Bearer t\nhttps://r/v2 caps=all server", NULL},
		{"bad name", "r", NULL, "[header]\n\"bad name\" = \"x\"", NULL, "hosts.toml:2: header \"bad name\": not a valid header name"},
		{"empty name", "r", NULL, "[header]\n\"\" = \"x\"", NULL, "header \"\": not a valid header name"},
		{"CR LF in a value", "r", NULL, "[header]\nx-a = \"a\\r\\nInjected: b\"", NULL, "a value with a control character"},
		{"number", "r", NULL, "[header]\nx-a = 1", NULL, "header \"x-a\": a string or an array of strings expected"},
		{"number in an array", "r", NULL, "[header]\nx-a = [\"1\", 2]", NULL, "header \"x-a\": values must be strings"},
		{"sub-table", "r", NULL, "[header.sub]\nx = \"y\"", NULL, "header \"sub\": a string or an array of strings expected"},
		{"not a table", "r", NULL, "header = \"x\"", NULL, "\"header\" must be a table"},
		{"secrets not echoed", "r", NULL, "[header]\nx-a = \"sekrit\\u0001\"", NULL, "header \"x-a\": a value with"},
	};
	RUN(rows);
	// The refusal of a value never quotes it.
	struct hosts_config c = {0};
	struct err e = {0};
	static const char t[] = "[header]\nx-a = \"sekrit\\u0001\"";
	assert_int_equal(hosts_parse(&c, t, strlen(t), "r", NULL, &e), -1);
	assert_null(strstr(e.msg, "sekrit"));
}

static void test_keys(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"unknown keys ignored", "r", NULL,
		 "foo = \"bar\"\nmirrors = {a = \"b\"}\nn = -12_000\n[host.\"https://m\"]\nbar = 1\n[host.\"https://m\".foo]\na = true\n"
		 "[other]\nx = [1, \"a\", [true]]\n[other.deeper]\ny = 'z'",
		 "https://m/v2 caps=all\nhttps://r/v2 caps=all server", NULL},
		{"Server", "r", NULL, "Server = \"x\"", NULL,
		 "hosts.toml:1: key \"Server\": containerd reads it as \"server\" (keys match without regard to case); write \"server\""},
		{"Capabilities in a host", "r", NULL, "[host.\"https://m\"]\nCapabilities = [\"pull\"]", NULL, "key \"Capabilities\""},
		{"Host", "r", NULL, "[Host.\"https://m\"]", NULL, "key \"Host\""},
		{"SKIP_VERIFY", "r", NULL, "SKIP_VERIFY = true", NULL, "key \"SKIP_VERIFY\""},
		{"Kelvin sign", "r", NULL, "\"s\\u212Aip_verify\" = true", NULL, "reads it as \"skip_verify\""},
		{"dotted I", "r", NULL, "\"cl\\u0130ent\" = \"x\"", NULL, "reads it as \"client\""},
	};
	RUN(rows);
}

// Where containerd 1.7 and 2.x list the hosts differently: refused.
static void test_order_divergences(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"subtable first", "r", NULL, "[host.\"https://a\".header]\nx = \"1\"\n[host.\"https://a\"]\ncapabilities = [\"pull\"]",
		 "https://a/v2 caps=pull header=x:1\nhttps://r/v2 caps=all server", NULL},
		{"header-only host then another", "r", NULL, "[host.\"https://b\".header]\nx = \"1\"\n[host.\"https://a\"]",
		 "https://b/v2 caps=all header=x:1\nhttps://a/v2 caps=all\nhttps://r/v2 caps=all server", NULL},
		{"other tables between", "r", NULL, "[host.\"https://a\"]\n[other]\n[host.\"https://a\".header]\nx = \"1\"",
		 "https://a/v2 caps=all header=x:1\nhttps://r/v2 caps=all server", NULL},
		{"tables apart", "r", NULL, "[host.\"https://a\"]\n[host.\"https://b\"]\n[host.\"https://a\".header]\nx = \"1\"", NULL,
		 "hosts.toml:3: the tables of host \"https://a\" are not together"},
		{"inline host", "r", NULL, "[host]\n\"https://m\" = { capabilities = [\"pull\"] }", NULL,
		 "hosts.toml:2: host \"https://m\" is not defined by a [host.\"URL\"] table header"},
		{"dotted host", "r", NULL, "host.\"https://m\".capabilities = [\"pull\"]", NULL, "is not defined by a [host.\"URL\"] table header"},
		{"dotted host beside a table", "r", NULL, "[host]\n\"https://n\".capabilities = [\"pull\"]\n[host.\"https://m\"]", NULL,
		 "host \"https://n\" is not defined"},
	};
	RUN(rows);
}

static void test_dial_timeout(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		long long ns; // -1: refused, -2: unset
	} t[] = {
		{"3s", 3000000000LL}, {"1.5h", 5400000000000LL}, {"1m30s", 90000000000LL}, {".5s", 500000000LL},
		{"5.s", 5000000000LL}, {"500ms", 500000000LL}, {"1\xc2\xb5s", 1000}, {"1\xce\xbcs", 1000}, {"1us", 1000},
		{"7ns", 7}, {"0", 0}, {"+2s", 2000000000LL}, {"-0s", 0}, {"", -2}, {"9223372036s", 9223372036000000000LL},
		{"2562047h47m16.854775807s", 9223372036854775807LL}, {"-1s", -1}, {"1", -1}, {"1x", -1}, {"s", -1},
		{".s", -1}, {"1.2.3s", -1}, {"9223372037s", -1}, {"2562047h47m16.854775808s", -1}, {" 1s", -1},
		{"0.0000000001s", 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		_cleanup_free_ char *toml = xasprintf("dial_timeout = \"%s\"", t[i].v);
		struct hosts_config c = {0};
		struct err e = {0};
		int r = hosts_parse(&c, toml, strlen(toml), "r", NULL, &e);
		if (t[i].ns == -1) {
			if (r != -1 || e.cls != ERR_USAGE)
				fail_msg("[%s] accepted", t[i].v);
		} else if (r != 0 || c.v[0].has_dial_timeout != (t[i].ns != -2) ||
			   (t[i].ns >= 0 && c.v[0].dial_timeout_ns != t[i].ns)) {
			fail_msg("[%s] want %lld got %s %lld", t[i].v, t[i].ns, r ? e.msg : "", r ? 0 : c.v[0].dial_timeout_ns);
		}
		hosts_release(&c);
	}
	static const struct row rows[] = {
		{"not a string", "r", NULL, "dial_timeout = 3", NULL, "\"dial_timeout\" must be a string"},
		{"negative", "r", NULL, "dial_timeout = \"-1s\"", NULL, "a negative duration"},
	};
	RUN(rows);
}

static void test_toml(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"comments, CRLF, spaces in headers", "r", NULL,
		 "# c\r\nserver = \"r\" # c\r\n[ host . \"https://m\" ] # c\r\ncapabilities = [ # c\r\n  \"pull\", # c\r\n\r\n  'push', # c\r\n] # c\r\n",
		 "https://m/v2 caps=pull,push\nhttps://r/v2 caps=all server", NULL},
		{"literal keys and strings", "r", NULL, "[host.'https://m/a\\b']\n'capabilities' = ['pull']",
		 "https://m/a\\b/v2 caps=pull\nhttps://r/v2 caps=all server", NULL}, // no escapes in literals
		{"escapes", "r", NULL, "server = \"r\"\n[header]\nx-a = \"\\u00e9\\U0001F600\\t\\\"\\\\\"",
		 "https://r/v2 caps=all header=x-a:\xc3\xa9\xf0\x9f\x98\x80\t\"\\ server", NULL},
		{"nested tables then the parent", "r", NULL, "[a.b.c]\n[a]\nx = 1\n[a.b]\ny = 2", "https://r/v2 caps=all server", NULL},
		{"header into a dotted table", "r", NULL, "[a]\nb.c = 1\n[a.b.d]\ne = 1", "https://r/v2 caps=all server", NULL},
		{"integers", "r", NULL, "a = 0\nb = +1_000\nc = -7", "https://r/v2 caps=all server", NULL},
		{"unterminated string", "r", NULL, "server = \"r\n", NULL, "hosts.toml:1: unterminated string"},
		{"multi-line basic", "r", NULL, "a = \"\"\"x\"\"\"", NULL, "hosts.toml:1: multi-line strings are not supported"},
		{"multi-line literal", "r", NULL, "\na = '''x'''", NULL, "hosts.toml:2: multi-line strings are not supported"},
		{"float", "r", NULL, "a = 1.5", NULL, "unsupported value \"1.5\""},
		{"exponent", "r", NULL, "a = 1e5", NULL, "unsupported value \"1e5\""},
		{"inf", "r", NULL, "a = inf", NULL, "unsupported value \"inf\""},
		{"date", "r", NULL, "a = 1979-05-27", NULL, "unsupported value \"1979-05-27\""},
		{"hex", "r", NULL, "a = 0x10", NULL, "unsupported value \"0x10\""},
		{"leading zero", "r", NULL, "a = 01", NULL, "unsupported value \"01\""},
		{"double underscore", "r", NULL, "a = 1__0", NULL, "unsupported value"},
		{"bare word", "r", NULL, "a = yes", NULL, "unsupported value \"yes\""},
		{"True", "r", NULL, "skip_verify = True", NULL, "unsupported value \"True\""},
		{"array of tables", "r", NULL, "\n\n[[host]]", NULL, "hosts.toml:3: arrays of tables ([[...]]) are not supported"},
		{"duplicate key", "r", NULL, "a = 1\na = 2", NULL, "hosts.toml:2: duplicate key \"a\""},
		{"table twice", "r", NULL, "[a]\n[b]\n[a]", NULL, "hosts.toml:3: table \"a\" is defined twice"},
		{"host table twice", "r", NULL, "[host.\"https://m\"]\n[host.\"https://m\"]", NULL, "table \"https://m\" is defined twice"},
		{"header over a dotted table", "r", NULL, "a.b = 1\n[a]", NULL, "table \"a\" is defined twice"},
		{"dotted key into a defined table", "r", NULL, "[a.b]\nx = 1\n[a]\nb.y = 2", NULL, "key \"b\" is already defined"},
		{"dotted key into a value", "r", NULL, "a = 1\na.b = 2", NULL, "key \"a\" is already defined"},
		{"header into a value", "r", NULL, "a = 1\n[a.b]", NULL, "key \"a\" is not a table"},
		{"header into an inline table", "r", NULL, "a = {x = 1}\n[a.b]", NULL, "key \"a\" is not a table"},
		{"dotted key into an inline table", "r", NULL, "a = {x = 1}\na.y = 2", NULL, "key \"a\" is already defined"},
		{"inline dotted keys", "r", NULL, "a = { b.c = 1, b.d = 2 }", "https://r/v2 caps=all server", NULL},
		{"inline on two lines", "r", NULL, "a = { b = 1,\n c = 2 }", NULL, "hosts.toml:1: expected a key, found the end of the line"},
		{"inline trailing comma", "r", NULL, "a = { b = 1, }", NULL, "expected a key, found '}'"},
		{"array without comma", "r", NULL, "a = [1 2]", NULL, "expected ',' or ']' in an array"},
		{"unterminated array", "r", NULL, "a = [1,\n", NULL, "hosts.toml:2: expected a value, found the end of the file"},
		{"key without value", "r", NULL, "a =\n", NULL, "expected a value, found the end of the line"},
		{"key without =", "r", NULL, "a\n", NULL, "expected '=' after key \"a\""},
		{"two values", "r", NULL, "a = \"x\" \"y\"", NULL, "unexpected '\"' after a value"},
		{"text after a header", "r", NULL, "[a] b = 1", NULL, "unexpected 'b' after a table header"},
		{"unclosed header", "r", NULL, "[a", NULL, "expected ']' to end the table header"},
		{"empty header", "r", NULL, "[]", NULL, "expected a key, found ']'"},
		{"bad escape", "r", NULL, "a = \"\\x41\"", NULL, "invalid escape in a string: \\x"},
		{"escape e", "r", NULL, "a = \"\\e\"", NULL, "invalid escape in a string: \\e"},
		{"short unicode escape", "r", NULL, "a = \"\\u12\"", NULL, "invalid \\u escape"},
		{"surrogate escape", "r", NULL, "a = \"\\uD800\"", NULL, "is not a Unicode scalar value"},
		{"NUL escape", "r", NULL, "a = \"\\u0000\"", NULL, "a NUL character in a string is not supported"},
		{"tab in a string", "r", NULL, "server = \"r\"\n[header]\nx = \"a\tb\"", "https://r/v2 caps=all header=x:a\tb server", NULL},
		{"control character in a string", "r", NULL, "a = \"\x01\"", NULL, "control character 0x01 in a string"},
		{"control character in a comment", "r", NULL, "# \x7f", NULL, "control character 0x7f in a comment"},
		{"lone CR", "r", NULL, "a = 1\r", NULL, "unexpected the end of the line after a value"},
		{"invalid UTF-8", "r", NULL, "a = 1\n# \xc3\x28", NULL, "hosts.toml:2: the file is not valid UTF-8"},
		{"overlong UTF-8", "r", NULL, "# \xc0\xaf", NULL, "not valid UTF-8"},
		{"UTF-8 surrogate", "r", NULL, "# \xed\xa0\x80", NULL, "not valid UTF-8"},
		{"UTF-8 comment", "r", NULL, "# \xc3\xa9\xf0\x9f\x98\x80", "https://r/v2 caps=all server", NULL},
		{"dotted key of 9 parts", "r", NULL, "a.b.c.d.e.f.g.h.i = 1", NULL, "a dotted key of more than 8 parts"},
		{"nesting", "r", NULL, "a = [[[[[[[[[[1]]]]]]]]]]", NULL, "nested deeper than 8"},
	};
	RUN(rows);
	// A NUL byte in the text (not a C string: through len).
	struct hosts_config c = {0};
	struct err e = {0};
	assert_int_equal(hosts_parse(&c, "a = 1\n\0", 7, "r", NULL, &e), -1);
	assert_non_null(strstr(e.msg, "hosts.toml:2: expected a key, found byte 0x00"));
}

static void test_caps(void **state)
{
	(void)state;
	struct hosts_config c = {0};
	struct err e = {0};
	char *t = xstrdup("");
	for (int i = 0; i < 32; i++)
		t = append(t, "[host.\"https://m%d\"]\n", i);
	assert_int_equal(hosts_parse(&c, t, strlen(t), "r", NULL, &e), 0);
	assert_int_equal(c.n, 33);
	assert_true(c.v[32].is_server && !c.v[31].is_server);
	assert_string_equal(c.v[31].host, "m31");
	hosts_release(&c);
	t = append(t, "[host.\"https://m32\"]\n");
	assert_int_equal(hosts_parse(&c, t, strlen(t), "r", NULL, &e), -1);
	assert_string_equal(e.msg, "hosts.toml:33: more than 32 [host] entries");
	free(t);
	// The file's size.
	size_t big = HOSTS_FILE_MAX + 1;
	char *text = xmalloc(big);
	memset(text, '\n', big);
	assert_int_equal(hosts_parse(&c, text, big, "r", F, &e), -1);
	assert_string_equal(e.msg, F ": larger than 65536 bytes");
	assert_int_equal(hosts_parse(&c, text, big - 1, "r", F, &e), 0);
	hosts_release(&c);
	free(text);
	// 64 CAs are taken, 65 are not.
	char *ca = xstrdup("ca = [");
	for (int i = 0; i < 65; i++)
		ca = append(ca, "%s\"/c%d\"", i ? "," : "", i);
	ca = append(ca, "]");
	assert_int_equal(hosts_parse(&c, ca, strlen(ca), "r", NULL, &e), -1);
	assert_string_equal(e.msg, "hosts.toml:1: \"ca\": more than 64 files");
	free(ca);
	// The host argument.
	assert_int_equal(hosts_parse(&c, "", 0, "", NULL, &e), -1);
	assert_int_equal(hosts_parse(&c, "", 0, "a/b", NULL, &e), -1);
	assert_int_equal(hosts_load(&c, "/nonexistent", "..", &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
}

static void test_base_and_proxy(void **state)
{
	(void)state;
	static const struct {
		const char *path, *want;
	} t[] = {
		{"/v2", "https://h.example/v2"},
		{"/", "https://h.example"},
		{"/a b/v2", "https://h.example/a%20b/v2"},
		{"/a!b[c]/v2", "https://h.example/a!b[c]/v2"},       // Go keeps a valid RawPath
		{"/a!b c/v2", "https://h.example/a%21b%20c/v2"},     // else escapes it whole
		{"/\xc3\xa9/v2", "https://h.example/%C3%A9/v2"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct hosts_endpoint ep = {.scheme = (char *)"https", .host = (char *)"h.example", .path = (char *)t[i].path};
		_cleanup_free_ char *got = hosts_endpoint_base(&ep);
		assert_string_equal(got, t[i].want);
	}
	struct hosts_endpoint ep = {.host = (char *)"registry-1.docker.io"};
	assert_false(hosts_endpoint_is_proxy(&ep, "docker.io"));
	assert_true(hosts_endpoint_is_proxy(&ep, "quay.io"));
	ep.host = (char *)"mirror.example";
	assert_true(hosts_endpoint_is_proxy(&ep, "docker.io"));
	assert_false(hosts_endpoint_is_proxy(&ep, "mirror.example"));
}

// ---------------------------------------------------------------------------
// The directory (hosts_load)

static void put(const char *dir, const char *rel, const char *text)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
	_cleanup_free_ char *parent = xstrdup(p);
	*strrchr(parent, '/') = '\0';
	struct err e = {0};
	assert_int_equal(file_mkdirs(parent, &e), 0);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void rm(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
	struct err e = {0};
	assert_int_equal(file_remove_tree(p, &e), 0);
}

// hosts_load's dump, or "error: <message>".
static char *load(const char *dir, const char *host, char **source)
{
	struct hosts_config c = {0};
	struct err e = {0};
	char *s = hosts_load(&c, dir, host, &e) == 0 ? config_dump(&c) : xasprintf("error: %s", e.msg);
	if (source)
		*source = c.source ? xstrdup(c.source) : NULL;
	hosts_release(&c);
	return s;
}

#define CHECK_LOAD(dir, host, want)                                  \
	do {                                                         \
		_cleanup_free_ char *got_ = load(dir, host, NULL);   \
		if (strcmp(got_, want))                              \
			fail_msg("%s: want [%s] got [%s]", host, want, got_); \
	} while (0)

static void test_load_dirs(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/test_hosts.XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	CHECK_LOAD(NULL, "r.example", "https://r.example/v2 caps=all server");
	CHECK_LOAD("", "r.example", "https://r.example/v2 caps=all server");
	CHECK_LOAD("/nonexistent/certs.d", "r.example", "https://r.example/v2 caps=all server");
	CHECK_LOAD(dir, "r.example", "https://r.example/v2 caps=all server");
	// host_port_ first, then host:port, then _default.
	put(dir, "localhost_5000_/hosts.toml", "server = \"https://underscore\"");
	put(dir, "localhost:5000/hosts.toml", "server = \"https://colon\"");
	put(dir, "_default/hosts.toml", "server = \"https://default\"");
	CHECK_LOAD(dir, "localhost:5000", "https://underscore/v2 caps=all server");
	rm(dir, "localhost_5000_");
	CHECK_LOAD(dir, "localhost:5000", "https://colon/v2 caps=all server");
	rm(dir, "localhost:5000");
	CHECK_LOAD(dir, "localhost:5000", "https://default/v2 caps=all server");
	CHECK_LOAD(dir, "docker.io", "https://default/v2 caps=all server");
	put(dir, "[::1]_5000_/hosts.toml", "server = \"https://v6\"");
	CHECK_LOAD(dir, "[::1]:5000", "https://v6/v2 caps=all server");
	// The source, and relative paths joined to the directory.
	put(dir, "r.example/hosts.toml", "server = \"https://r.example\"\nca = \"ca.pem\"");
	char *src = NULL;
	_cleanup_free_ char *got = load(dir, "r.example", &src);
	_cleanup_free_ char *want = xasprintf("https://r.example/v2 caps=all ca=%s/r.example/ca.pem tls server", dir);
	_cleanup_free_ char *want_src = xasprintf("%s/r.example/hosts.toml", dir);
	assert_string_equal(got, want);
	assert_string_equal(src, want_src);
	free(src);
	// A malformed file names itself and the line.
	put(dir, "bad.example/hosts.toml", "server = \"https://b\"\n[host.\"https://m\"]\ncapabilities = pull\n");
	_cleanup_free_ char *bad = load(dir, "bad.example", NULL);
	_cleanup_free_ char *want_bad = xasprintf("error: %s/bad.example/hosts.toml:3: unsupported value \"pull\"", dir);
	assert_true(!strncmp(bad, want_bad, strlen(want_bad)));
	// A hosts.toml that is a directory, a DIR that is a file.
	put(dir, "dirfile.example/hosts.toml/x", "");
	_cleanup_free_ char *df = load(dir, "dirfile.example", NULL);
	assert_non_null(strstr(df, "hosts.toml' is a directory, not a regular file"));
	_cleanup_free_ char *file_root = xasprintf("%s/r.example/hosts.toml", dir);
	_cleanup_free_ char *fr = load(file_root, "x.example", NULL);
	assert_non_null(strstr(fr, "error: cannot read"));
	assert_non_null(strstr(fr, "Not a directory"));
	// Too large.
	char *huge = xmalloc(HOSTS_FILE_MAX + 2);
	memset(huge, '#', HOSTS_FILE_MAX + 1);
	huge[HOSTS_FILE_MAX + 1] = '\0';
	put(dir, "huge.example/hosts.toml", huge);
	free(huge);
	_cleanup_free_ char *hg = load(dir, "huge.example", NULL);
	assert_non_null(strstr(hg, "hosts.toml' is larger than 65536 bytes"));
	struct err e = {0};
	assert_int_equal(file_remove_tree(dir, &e), 0);
}

// TestLoadCertFiles and loadCertFiles' rules: the directory found is final,
// its hosts.toml absent or empty gives its Docker-style certificates.
static void test_load_cert_files(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/test_hosts.XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	put(dir, "_default/hosts.toml", "server = \"https://default\"");
	put(dir, "testing.io/ca.crt", "x");
	_cleanup_free_ char *w1 = xasprintf("https://testing.io/v2 caps=all ca=%s/testing.io/ca.crt tls server", dir);
	char *src = NULL;
	_cleanup_free_ char *g1 = load(dir, "testing.io", &src);
	assert_string_equal(g1, w1);
	_cleanup_free_ char *wsrc = xasprintf("%s/testing.io", dir);
	assert_string_equal(src, wsrc);
	free(src);
	put(dir, "testing.io/client.cert", "x");
	put(dir, "testing.io/client.key", "x");
	put(dir, "testing.io/other.cert", "x");
	put(dir, "testing.io/sub.crt/x", "");
	put(dir, "testing.io/readme.txt", "x");
	put(dir, "testing.io/hosts.toml", "");
	_cleanup_free_ char *w2 = xasprintf("https://testing.io/v2 caps=all ca=%s/testing.io/ca.crt "
					    "client=%s/testing.io/client.cert+%s/testing.io/client.key,"
					    "%s/testing.io/other.cert tls server", dir, dir, dir, dir);
	_cleanup_free_ char *g2 = load(dir, "testing.io", NULL);
	assert_string_equal(g2, w2);
	// An empty directory: the default server, not _default.
	put(dir, "empty.io/.keep", "");
	_cleanup_free_ char *g3 = load(dir, "empty.io", NULL);
	assert_string_equal(g3, "https://empty.io/v2 caps=all server");
	// localhost certificates keep the localhost default.
	put(dir, "localhost_5000_/ca.crt", "x");
	_cleanup_free_ char *w4 = xasprintf("https://localhost:5000/v2 caps=all ca=%s/localhost_5000_/ca.crt skip_verify tls fallback server", dir);
	_cleanup_free_ char *g4 = load(dir, "localhost:5000", NULL);
	assert_string_equal(g4, w4);
	struct err e = {0};
	assert_int_equal(file_remove_tree(dir, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_containerd_parse_host_file),
		cmocka_unit_test(test_containerd_docs),
		cmocka_unit_test(test_containerd_defaults),
		cmocka_unit_test(test_server_forms),
		cmocka_unit_test(test_host_entries),
		cmocka_unit_test(test_server_absent),
		cmocka_unit_test(test_tls_paths),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_order_divergences),
		cmocka_unit_test(test_dial_timeout),
		cmocka_unit_test(test_toml),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_base_and_proxy),
		cmocka_unit_test(test_load_dirs),
		cmocka_unit_test(test_load_cert_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
