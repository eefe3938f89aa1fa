// SPDX-License-Identifier: Apache-2.0
// oci/ref: the distribution/reference grammar and Docker's normalisation.
// Table-driven: every table row is its own cmocka test, named after its input.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oci/ref.h"
#include "util/err.h"
#include "util/mem.h"

#define HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define DG "sha256:" HEX
#define HUB "docker.io"
#define HUBREG "registry-1.docker.io"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct ok_case {
	const char *in;
	const char *domain;
	const char *registry;
	const char *path;
	const char *tag; // NULL: expect none
	const char *digest;
	const char *str; // oci_ref_string
};

static struct ok_case ok_cases[] = {
	// Docker Hub short names and library/.
	{ "busybox", HUB, HUBREG, "library/busybox", "latest", NULL, "docker.io/library/busybox:latest" },
	{ "busybox:1.36", HUB, HUBREG, "library/busybox", "1.36", NULL, "docker.io/library/busybox:1.36" },
	{ "library/busybox", HUB, HUBREG, "library/busybox", "latest", NULL,
	  "docker.io/library/busybox:latest" },
	{ "docker.io/busybox", HUB, HUBREG, "library/busybox", "latest", NULL,
	  "docker.io/library/busybox:latest" },
	{ "docker.io/library/busybox:1.36", HUB, HUBREG, "library/busybox", "1.36", NULL,
	  "docker.io/library/busybox:1.36" },
	{ "index.docker.io/busybox", HUB, HUBREG, "library/busybox", "latest", NULL,
	  "docker.io/library/busybox:latest" },
	{ "index.docker.io/foo/bar:t", HUB, HUBREG, "foo/bar", "t", NULL, "docker.io/foo/bar:t" },
	{ "docker.io/library", HUB, HUBREG, "library/library", "latest", NULL,
	  "docker.io/library/library:latest" },
	{ "foo/bar", HUB, HUBREG, "foo/bar", "latest", NULL, "docker.io/foo/bar:latest" },
	{ "foo/bar/baz", HUB, HUBREG, "foo/bar/baz", "latest", NULL, "docker.io/foo/bar/baz:latest" },
	{ "0/1", HUB, HUBREG, "0/1", "latest", NULL, "docker.io/0/1:latest" },
	{ "x:5", HUB, HUBREG, "library/x", "5", NULL, "docker.io/library/x:5" },
	{ "ubuntu:22.04", HUB, HUBREG, "library/ubuntu", "22.04", NULL, "docker.io/library/ubuntu:22.04" },
	// "localhost" without a slash is a Docker Hub name, as in Docker.
	{ "localhost", HUB, HUBREG, "library/localhost", "latest", NULL,
	  "docker.io/library/localhost:latest" },
	{ "localhost:latest", HUB, HUBREG, "library/localhost", "latest", NULL,
	  "docker.io/library/localhost:latest" },
	{ "example.com", HUB, HUBREG, "library/example.com", "latest", NULL,
	  "docker.io/library/example.com:latest" },
	// A name and a numeric tag are a host and port only when the name has a
	// dot or is localhost; a tag that is not all digits is a tag.
	{ "foo:5000", HUB, HUBREG, "library/foo", "5000", NULL, "docker.io/library/foo:5000" },
	{ "example.com:44a", HUB, HUBREG, "library/example.com", "44a", NULL,
	  "docker.io/library/example.com:44a" },
	// Digests, alone and with a tag.
	{ "busybox@" DG, HUB, HUBREG, "library/busybox", NULL, DG, "docker.io/library/busybox@" DG },
	{ "busybox:1.36@" DG, HUB, HUBREG, "library/busybox", "1.36", DG,
	  "docker.io/library/busybox:1.36@" DG },
	{ "docker.io/library/busybox:latest@" DG, HUB, HUBREG, "library/busybox", "latest", DG,
	  "docker.io/library/busybox:latest@" DG },
	{ "quay.io/coreos/etcd@" DG, "quay.io", "quay.io", "coreos/etcd", NULL, DG,
	  "quay.io/coreos/etcd@" DG },
	// Other registries.
	{ "localhost/foo", "localhost", "localhost", "foo", "latest", NULL, "localhost/foo:latest" },
	{ "localhost:5000/foo/bar:v1", "localhost:5000", "localhost:5000", "foo/bar", "v1", NULL,
	  "localhost:5000/foo/bar:v1" },
	{ "localhost:1/a", "localhost:1", "localhost:1", "a", "latest", NULL, "localhost:1/a:latest" },
	{ "localhost:65535/a", "localhost:65535", "localhost:65535", "a", "latest", NULL,
	  "localhost:65535/a:latest" },
	{ "host:5000/a/b:t@" DG, "host:5000", "host:5000", "a/b", "t", DG, "host:5000/a/b:t@" DG },
	{ "host:5000/foo@" DG, "host:5000", "host:5000", "foo", NULL, DG, "host:5000/foo@" DG },
	{ "example.com/foo", "example.com", "example.com", "foo", "latest", NULL,
	  "example.com/foo:latest" },
	{ "Example.COM/foo", "Example.COM", "Example.COM", "foo", "latest", NULL,
	  "Example.COM/foo:latest" },
	{ "example.com:443/a/b/c/d/e:tag@" DG, "example.com:443", "example.com:443", "a/b/c/d/e", "tag",
	  DG, "example.com:443/a/b/c/d/e:tag@" DG },
	{ "registry.k8s.io/pause:3.9", "registry.k8s.io", "registry.k8s.io", "pause", "3.9", NULL,
	  "registry.k8s.io/pause:3.9" },
	{ "ghcr.io/owner/repo/sub:v1.2.3", "ghcr.io", "ghcr.io", "owner/repo/sub", "v1.2.3", NULL,
	  "ghcr.io/owner/repo/sub:v1.2.3" },
	{ "my-registry.example-1.com/x", "my-registry.example-1.com", "my-registry.example-1.com", "x",
	  "latest", NULL, "my-registry.example-1.com/x:latest" },
	{ "xn--bcher-kva.example/foo", "xn--bcher-kva.example", "xn--bcher-kva.example", "foo", "latest",
	  NULL, "xn--bcher-kva.example/foo:latest" },
	{ "192.168.1.10:5000/foo", "192.168.1.10:5000", "192.168.1.10:5000", "foo", "latest", NULL,
	  "192.168.1.10:5000/foo:latest" },
	{ "1.2.3.4/foo", "1.2.3.4", "1.2.3.4", "foo", "latest", NULL, "1.2.3.4/foo:latest" },
	// IPv6 literals.
	{ "[::1]:5000/foo", "[::1]:5000", "[::1]:5000", "foo", "latest", NULL, "[::1]:5000/foo:latest" },
	{ "[::1]/foo", "[::1]", "[::1]", "foo", "latest", NULL, "[::1]/foo:latest" },
	{ "[2001:db8::1]/foo:bar", "[2001:db8::1]", "[2001:db8::1]", "foo", "bar", NULL,
	  "[2001:db8::1]/foo:bar" },
	{ "[2001:DB8::A]:443/x/y@" DG, "[2001:DB8::A]:443", "[2001:DB8::A]:443", "x/y", NULL, DG,
	  "[2001:DB8::A]:443/x/y@" DG },
	{ "[::ffff:192.0.2.1]:8443/x", "[::ffff:192.0.2.1]:8443", "[::ffff:192.0.2.1]:8443", "x", "latest",
	  NULL, "[::ffff:192.0.2.1]:8443/x:latest" },
	// Path separators.
	{ "a__b", HUB, HUBREG, "library/a__b", "latest", NULL, "docker.io/library/a__b:latest" },
	{ "a_b", HUB, HUBREG, "library/a_b", "latest", NULL, "docker.io/library/a_b:latest" },
	{ "a-b--c", HUB, HUBREG, "library/a-b--c", "latest", NULL, "docker.io/library/a-b--c:latest" },
	{ "a.b", HUB, HUBREG, "library/a.b", "latest", NULL, "docker.io/library/a.b:latest" },
	{ "a---------b", HUB, HUBREG, "library/a---------b", "latest", NULL,
	  "docker.io/library/a---------b:latest" },
	{ "a0/b.c-d__e---f/g0.h_i", HUB, HUBREG, "a0/b.c-d__e---f/g0.h_i", "latest", NULL,
	  "docker.io/a0/b.c-d__e---f/g0.h_i:latest" },
	{ "example.com/a.b/c__d/e-f", "example.com", "example.com", "a.b/c__d/e-f", "latest", NULL,
	  "example.com/a.b/c__d/e-f:latest" },
	// Tags: uppercase, '_' first, '.', '-'.
	{ "foo/bar:TAG_with.Caps-1", HUB, HUBREG, "foo/bar", "TAG_with.Caps-1", NULL,
	  "docker.io/foo/bar:TAG_with.Caps-1" },
	{ "foo:_x", HUB, HUBREG, "library/foo", "_x", NULL, "docker.io/library/foo:_x" },
	{ "foo:0", HUB, HUBREG, "library/foo", "0", NULL, "docker.io/library/foo:0" },
	{ "foo:a..--__", HUB, HUBREG, "library/foo", "a..--__", NULL, "docker.io/library/foo:a..--__" },
};

struct bad_case {
	const char *in;
	const char *part; // substring the message must contain
};

static struct bad_case bad_cases[] = {
	{ "", "empty image reference" },
	// Uppercase in the path.
	{ "Busybox", "repository name \"Busybox\" must be lowercase" },
	{ "busyBox:1", "repository name \"busyBox\" must be lowercase" },
	{ "Foo/bar", "repository name \"Foo/bar\" must be lowercase" },
	{ "foo/Bar", "repository name \"foo/Bar\" must be lowercase" },
	{ "LOCALHOST/foo", "must be lowercase" },
	{ "localhost:5000/Foo", "repository name \"Foo\" must be lowercase" },
	{ "docker.io/library/BusyBox@" DG, "must be lowercase" },
	// Tags.
	{ "busybox:x!", "invalid tag \"x!\"" },
	{ "busybox:.x", "invalid tag \".x\"" },
	{ "busybox:-x", "invalid tag \"-x\"" },
	{ "busybox:a+b", "invalid tag \"a+b\"" },
	{ "busybox:", "empty tag" },
	{ "localhost:", "empty tag" },
	{ "example.com:", "empty tag" },
	{ "busybox:@" DG, "empty tag" },
	{ "foo/bar:1:2", "invalid path component \"bar:1\"" },
	{ "busybox:a/b", "invalid port \"a\"" },
	// Digests.
	{ "busybox@sha256:abc", "invalid digest \"sha256:abc\"" },
	{ "busybox@sha256:" HEX "0", "invalid digest" },
	{ "busybox@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", "invalid digest" },
	{ "busybox@sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "invalid digest" },
	{ "busybox@sha256:z3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "invalid digest" },
	{ "busybox@SHA256:" HEX, "invalid digest" },
	{ "busybox@" HEX, "invalid digest" },
	{ "busybox@sha384:" HEX, "unsupported digest algorithm \"sha384\"" },
	{ "busybox@sha512:" HEX, "invalid digest" },
	{ "busybox@md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported digest algorithm \"md5\"" },
	{ "busybox@", "missing digest after '@'" },
	{ "busybox:tag@", "missing digest after '@'" },
	{ "busybox@" DG "@" DG, "invalid digest" },
	{ "a@b@c", "invalid digest \"b@c\"" },
	// Empty pieces.
	{ "a/", "invalid repository path \"a/\" (empty path component)" },
	{ "a//b", "empty path component" },
	{ "/a", "empty path component" },
	{ "//", "empty path component" },
	{ "/", "empty path component" },
	{ ":tag", "missing repository name" },
	{ ":", "missing repository name" },
	{ "@" DG, "missing repository name" },
	{ "@", "missing repository name" },
	// Whitespace and bytes no part of the grammar allows.
	{ " busybox", "leading or trailing whitespace" },
	{ "busybox ", "leading or trailing whitespace" },
	{ "busybox\t", "leading or trailing whitespace" },
	{ "\nbusybox", "leading or trailing whitespace" },
	{ " ", "leading or trailing whitespace" },
	{ "busy box", "invalid path component \"busy box\"" },
	{ "busybox: 1", "invalid tag \" 1\"" },
	{ "busy\x01" "box", "invalid character '\\x01' at offset 4" },
	{ "caf\xc3\xa9", "invalid character '\\xc3' at offset 3" },
	// Path components.
	{ "a..b", "invalid path component \"a..b\"" },
	{ "a___b", "invalid path component \"a___b\"" },
	{ "a_-b", "invalid path component" },
	{ "a._b", "invalid path component" },
	{ "-a", "invalid path component \"-a\"" },
	{ "a-", "invalid path component \"a-\"" },
	{ "a.", "invalid path component \"a.\"" },
	{ "_a", "invalid path component \"_a\"" },
	{ "a/b_", "invalid path component \"b_\"" },
	{ "a/-b/c", "invalid path component \"-b\"" },
	{ "example.com/foo/.bar", "invalid path component \".bar\"" },
	{ "a/b!c", "invalid path component \"b!c\"" },
	{ "a/[b]", "invalid path component \"[b]\"" },
	// Hosts and ports.
	{ "[::1/foo", "unclosed '[' in registry host \"[::1\"" },
	{ "[::1", "unclosed '['" },
	{ "[", "unclosed '['" },
	{ "[::1]:5000", "missing repository path after registry host \"[::1]:5000\"" },
	{ "[::1]", "missing repository path after registry host \"[::1]\"" },
	{ "[::1]:5000@" DG, "missing repository path" },
	{ "[zz::1]:5000/foo", "invalid IPv6 address \"[zz::1]\"" },
	{ "[]/foo", "invalid IPv6 address \"[]\"" },
	{ "[1:::2]/foo", "invalid IPv6 address \"[1:::2]\"" },
	{ "[1.2.3.4]/foo", "invalid IPv6 address" },
	{ "[::1]x/foo", "invalid registry host \"[::1]x\"" },
	{ "[::1]:/foo", "invalid port \"\"" },
	{ "[::1]:0/foo", "invalid port \"0\"" },
	{ "localhost:0/foo", "invalid port \"0\" in registry host \"localhost:0\"" },
	{ "localhost:99999/foo", "invalid port \"99999\"" },
	{ "localhost:65536/foo", "invalid port \"65536\"" },
	{ "localhost:184467440737095516160/foo", "invalid port" },
	{ "localhost:/foo", "invalid port \"\"" },
	{ "localhost:50a/foo", "invalid port \"50a\"" },
	{ "localhost:-1/foo", "invalid port \"-1\"" },
	{ "localhost:5000:1/foo", "invalid port \"5000:1\"" },
	{ "localhost:5000", "missing repository path after registry host \"localhost:5000\"" },
	{ "example.com:443", "missing repository path after registry host \"example.com:443\"" },
	{ "example.com:443@" DG, "missing repository path" },
	{ "localhost:5000/", "missing repository path after registry host \"localhost:5000\"" },
	{ "example.com/", "missing repository path after registry host \"example.com\"" },
	{ "example.com/:tag", "missing repository path" },
	{ "example.com/@" DG, "missing repository path" },
	{ "-bad.com/foo", "invalid registry host \"-bad.com\"" },
	{ "bad-.com/foo", "invalid registry host \"bad-.com\"" },
	{ "a..b.com/foo", "invalid registry host \"a..b.com\"" },
	{ ".com/foo", "invalid registry host \".com\"" },
	{ "foo.com./x", "invalid registry host \"foo.com.\"" },
	{ "foo_bar.com/x", "invalid registry host \"foo_bar.com\"" },
	{ "foo!.com/x", "invalid registry host" },
	{ ":5000/foo", "missing host name in registry host \":5000\"" },
	// An image ID is not a name.
	{ HEX, "image ID" },
};

// Prints what we got when a row fails, so the failing input is obvious.
static void check_str(const char *in, const char *what, const char *got, const char *want)
{
	if (!want && !got)
		return;
	if (!want || !got || strcmp(want, got) != 0)
		fail_msg("\"%s\": %s is \"%s\", want \"%s\"", in, what, got ? got : "(null)",
			 want ? want : "(null)");
}

static void test_ok(void **state)
{
	const struct ok_case *c = *state;
	struct oci_ref r, again;
	struct err e = { 0 };
	char *s, *s2, *name, *want_name;

	if (oci_ref_parse(&r, c->in, &e) != 0)
		fail_msg("\"%s\" rejected: %s", c->in, e.msg);
	assert_int_equal(e.cls, ERR_NONE);
	check_str(c->in, "domain", r.domain, c->domain);
	check_str(c->in, "registry", r.registry, c->registry);
	check_str(c->in, "path", r.path, c->path);
	check_str(c->in, "tag", r.tag, c->tag);
	check_str(c->in, "digest", r.digest, c->digest);
	s = oci_ref_string(&r);
	check_str(c->in, "string", s, c->str);
	name = oci_ref_name(&r);
	want_name = xasprintf("%s/%s", c->domain, c->path);
	check_str(c->in, "name", name, want_name);

	// The normalized form is a fixed point.
	if (oci_ref_parse(&again, s, &e) != 0)
		fail_msg("normalized \"%s\" rejected: %s", s, e.msg);
	s2 = oci_ref_string(&again);
	check_str(s, "reparsed string", s2, s);

	free(s2);
	free(s);
	free(name);
	free(want_name);
	oci_ref_release(&again);
	oci_ref_release(&r);
	// Release leaves the struct empty, so a second one is harmless.
	assert_null(r.domain);
	assert_null(r.path);
	oci_ref_release(&r);
}

static void test_bad(void **state)
{
	const struct bad_case *c = *state;
	struct oci_ref r;
	struct err e = { 0 };
	char *quoted;

	// Junk in r beforehand must not matter: parse initialises it.
	memset(&r, 0xa5, sizeof(r));
	if (oci_ref_parse(&r, c->in, &e) != -1)
		fail_msg("\"%s\" accepted", c->in);
	assert_int_equal(e.cls, ERR_USAGE);
	if (!strstr(e.msg, c->part))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", c->in, e.msg, c->part);
	assert_null(strchr(e.msg, '\n'));
	assert_null(strchr(e.msg, '\r'));
	// The whole input is quoted (when it is printable, has no quotes and is
	// of a length that a real reference has).
	if (*c->in && strlen(c->in) <= 256 && !strpbrk(c->in, "\"\\\x01\xc3\n\t")) {
		quoted = xasprintf("in reference \"%s\"", c->in);
		if (!strstr(e.msg, quoted))
			fail_msg("\"%s\": message \"%s\" does not quote the input", c->in, e.msg);
		free(quoted);
	}
	// A failed parse leaves nothing to free.
	assert_null(r.domain);
	assert_null(r.registry);
	assert_null(r.path);
	assert_null(r.tag);
	assert_null(r.digest);
	oci_ref_release(&r);
}

static void test_exact_message(void **state)
{
	struct oci_ref r;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(oci_ref_parse(&r, "busybox:x!", &e), -1);
	assert_string_equal(e.msg, "invalid tag \"x!\" in reference \"busybox:x!\"");
	assert_int_equal(oci_ref_parse(&r, "busybox@sha1:abc", &e), -1);
	assert_string_equal(e.msg, "unsupported digest algorithm \"sha1\" (sha256 and sha512 are supported) "
				   "in reference \"busybox@sha1:abc\"");
	assert_int_equal(oci_ref_parse(&r, "x\"y", &e), -1);
	assert_string_equal(e.msg, "invalid path component \"x\\\"y\" in reference \"x\\\"y\"");
	assert_int_equal(oci_ref_parse(&r, "\tx", &e), -1);
	assert_string_equal(e.msg, "leading or trailing whitespace in reference \"\\x09x\"");
}

static char *repeat(char ch, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

static void test_name_length(void **state)
{
	struct oci_ref r;
	struct err e = { 0 };
	char *comp, *in;

	(void)state;
	// "example.com/" is 12 characters: 243 more makes exactly 255.
	comp = repeat('a', 243);
	in = xasprintf("example.com/%s", comp);
	assert_int_equal(oci_ref_parse(&r, in, &e), 0);
	assert_int_equal(strlen(r.domain) + 1 + strlen(r.path), 255);
	oci_ref_release(&r);
	free(in);
	in = xasprintf("example.com/%sa:tag", comp);
	assert_int_equal(oci_ref_parse(&r, in, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	assert_non_null(strstr(e.msg, "repository name too long (256 characters, at most 255)"));
	assert_null(r.path);
	free(in);
	free(comp);

	// The limit applies to the normalized name: "docker.io/library/" is 18.
	comp = repeat('b', 237);
	assert_int_equal(oci_ref_parse(&r, comp, &e), 0);
	assert_int_equal(strlen(r.path), 237 + 8);
	oci_ref_release(&r);
	free(comp);
	comp = repeat('b', 238);
	assert_int_equal(oci_ref_parse(&r, comp, &e), -1);
	assert_non_null(strstr(e.msg, "too long (256 characters"));
	free(comp);

	// Many short components add up too.
	in = xstrdup("x");
	for (int i = 0; i < 130; i++) {
		char *next = xasprintf("%s/x", in);

		free(in);
		in = next;
	}
	assert_int_equal(oci_ref_parse(&r, in, &e), -1);
	assert_non_null(strstr(e.msg, "too long"));
	free(in);
}

static void test_tag_length(void **state)
{
	struct oci_ref r;
	struct err e = { 0 };
	char *tag, *in;

	(void)state;
	tag = repeat('t', 128);
	in = xasprintf("busybox:%s", tag);
	assert_int_equal(oci_ref_parse(&r, in, &e), 0);
	assert_string_equal(r.tag, tag);
	oci_ref_release(&r);
	free(in);
	in = xasprintf("busybox:%su@" DG, tag);
	assert_int_equal(oci_ref_parse(&r, in, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	assert_non_null(strstr(e.msg, "invalid tag"));
	assert_non_null(strstr(e.msg, "(129 characters, at most 128)"));
	free(in);
	free(tag);
}

static void test_huge_input(void **state)
{
	struct oci_ref r;
	struct err e = { 0 };
	char *in;

	(void)state;
	// A megabyte of junk still gives a short, one-line, quoted message.
	in = repeat('A', 1 << 20);
	assert_int_equal(oci_ref_parse(&r, in, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	assert_non_null(strstr(e.msg, "must be lowercase in reference \"AAAA"));
	assert_non_null(strstr(e.msg, "...\""));
	assert_true(strlen(e.msg) < ERR_MSG_MAX - 1);
	free(in);

	in = repeat('a', 1 << 20);
	in[10] = ':';
	assert_int_equal(oci_ref_parse(&r, in, &e), -1);
	assert_non_null(strstr(e.msg, "invalid tag \"aaaa"));
	assert_non_null(strstr(e.msg, "...\" (1048565 characters, at most 128) in reference \"aaaaaaaaaa:aaa"));
	free(in);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_exact_message),
		cmocka_unit_test(test_name_length),
		cmocka_unit_test(test_tag_length),
		cmocka_unit_test(test_huge_input),
	};
	struct CMUnitTest tests[ARRAY_SIZE(ok_cases) + ARRAY_SIZE(bad_cases) + ARRAY_SIZE(fixed)];
	char *names[ARRAY_SIZE(ok_cases) + ARRAY_SIZE(bad_cases)];
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < ARRAY_SIZE(ok_cases); i++, n++) {
		names[n] = xasprintf("ok %s", ok_cases[i].in);
		tests[n] = (struct CMUnitTest){ names[n], test_ok, NULL, NULL, &ok_cases[i] };
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++, n++) {
		names[n] = xasprintf("bad \"%s\"", bad_cases[i].in);
		tests[n] = (struct CMUnitTest){ names[n], test_bad, NULL, NULL, &bad_cases[i] };
	}
	// Test names go to the terminal: no raw control bytes.
	for (size_t i = 0; i < n; i++)
		for (char *p = names[i]; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[n + i] = fixed[i];

	rc = _cmocka_run_group_tests("unit_ref", tests, ARRAY_SIZE(tests), NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return rc;
}
