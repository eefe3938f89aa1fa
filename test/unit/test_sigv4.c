// SPDX-License-Identifier: Apache-2.0
// AWS SigV4 against the aws-c-auth v4 suite: every case directory under
// $IMGPULL_SIGV4_SUITE (else $IMGPULL_SIGV4_SUITE_DEFAULT, which CMake sets)
// is parsed and signed; canonical request, string to sign, signature and the
// Authorization line must match the suite's files byte for byte. No suite, or
// an empty one, is a failure: a signer that is never checked is not tested.
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "auth/sigv4.h"
#include "util/mem.h"

#define MAX_HEADERS 32

static char *slurp(const char *dir, const char *name, size_t *len)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *p = xmalloc(cap);
	size_t r;
	while ((r = fread(p + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n - 1 == 0)
			p = xrealloc(p, cap *= 2);
	}
	fclose(f);
	p[n] = '\0';
	if (len)
		*len = n;
	return p;
}

// Expected-value files may or may not end in a newline; the value does not.
static char *slurp_trimmed(const char *dir, const char *name)
{
	size_t n = 0;
	char *p = slurp(dir, name, &n);
	while (p && n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		p[--n] = '\0';
	return p;
}

// A raw HTTP request as the suite writes it: request line (the target may hold
// spaces), "Name:value" lines, folded continuation lines (kept with their
// newline and indentation for the signer to collapse), a blank line, the body.
struct raw_request {
	char *text; // owns method, path, query and body
	char *method, *path, *query;
	char *names[MAX_HEADERS], *values[MAX_HEADERS];
	struct canonical_header h[MAX_HEADERS];
	size_t nh;
	const char *body;
	size_t body_len;
};

static void raw_request_release(struct raw_request *rq)
{
	for (size_t i = 0; i < rq->nh; i++) {
		free(rq->names[i]);
		free(rq->values[i]);
	}
	rq->nh = 0;
}

static bool parse_request(struct raw_request *rq, char *text, size_t len)
{
	memset(rq, 0, sizeof(*rq));
	rq->text = text;
	char *end = text + len;
	char *eol = memchr(text, '\n', len);
	if (!eol)
		return false;
	*eol = '\0';
	if (eol > text && eol[-1] == '\r')
		eol[-1] = '\0';
	char *sp1 = strchr(text, ' '), *sp2 = strrchr(text, ' ');
	if (!sp1 || sp2 == sp1)
		return false;
	*sp1 = *sp2 = '\0';
	rq->method = text;
	rq->path = sp1 + 1;
	char *q = strchr(rq->path, '?');
	if (q) {
		*q = '\0';
		rq->query = q + 1;
	}
	char *p = eol + 1;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *stop = nl ? nl : end;
		size_t n = (size_t)(stop - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0) { // the blank line: the body follows
			p = nl ? nl + 1 : end;
			break;
		}
		if (p[0] == ' ' || p[0] == '\t') {
			// Continuation: joined to the value it continues, newline kept.
			if (rq->nh == 0)
				return false;
			char **v = &rq->values[rq->nh - 1];
			char *joined = xasprintf("%s\n%.*s", *v, (int)n, p);
			free(*v);
			*v = joined;
		} else {
			char *colon = memchr(p, ':', n);
			if (!colon || rq->nh == MAX_HEADERS)
				return false;
			rq->names[rq->nh] = xstrndup(p, (size_t)(colon - p));
			rq->values[rq->nh] = xstrndup(colon + 1, n - (size_t)(colon + 1 - p));
			rq->nh++;
		}
		p = nl ? nl + 1 : end;
	}
	for (size_t i = 0; i < rq->nh; i++)
		rq->h[i] = (struct canonical_header){ rq->names[i], rq->values[i] };
	rq->body = p;
	rq->body_len = (size_t)(end - p);
	return true;
}

static bool json_bool(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool parse_time(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	if (!end || *end)
		return false;
	*out = timegm(&tm);
	return true;
}

static bool same(const char *casename, const char *what, const char *got, const char *want)
{
	if (want && got && strcmp(got, want) == 0)
		return true;
	printf("  %s: %s differs\n--- want\n%s\n--- got\n%s\n---\n", casename, what,
	       want ? want : "(missing file)", got ? got : "(null)");
	return false;
}

// The suite's signed request has each header we must add and the Authorization line.
static bool check_signed_request(const char *name, const char *text, const struct canonical_result *r)
{
	bool ok = true;
	_cleanup_free_ char *auth = NULL;
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n > 14 && strncasecmp(line, "Authorization:", 14) == 0)
			auth = xstrndup(line + 14, n - 14);
		line = nl ? nl + 1 : NULL;
	}
	ok = same(name, "Authorization", r->authorization, auth) && ok;
	for (size_t i = 0; i < r->nadd; i++) {
		_cleanup_free_ char *want = xasprintf("%s:%s", r->add[i].name, r->add[i].value);
		bool found = false;
		size_t wl = strlen(want), nl = strlen(r->add[i].name);
		for (const char *p = text; (p = strchr(p, '\n')) != NULL && !found; p++)
			found = strncasecmp(p + 1, want, nl) == 0 &&
				strncmp(p + 1 + nl, want + nl, wl - nl) == 0 &&
				(p[1 + wl] == '\n' || p[1 + wl] == '\r' || p[1 + wl] == '\0');
		if (!found) {
			printf("  %s: signed request lacks added header %s\n", name, r->add[i].name);
			ok = false;
		}
	}
	return ok;
}

static bool run_case(const char *dir, const char *name)
{
	size_t len = 0;
	char *text = slurp(dir, "request.txt", &len);
	_cleanup_free_ char *ctx_text = slurp(dir, "context.json", NULL);
	if (!text || !ctx_text) {
		free(text);
		printf("  %s: request.txt or context.json missing\n", name);
		return false;
	}
	struct raw_request rq = { 0 };
	cJSON *ctx = cJSON_Parse(ctx_text);
	const cJSON *cred = cJSON_GetObjectItemCaseSensitive(ctx, "credentials");
	struct sigv4_params p = {
		.access_key = json_str(cred, "access_key_id"),
		.secret_key = json_str(cred, "secret_access_key"),
		.session_token = json_str(cred, "token"),
		.region = json_str(ctx, "region"),
		.service = json_str(ctx, "service"),
		.normalize_path = json_bool(ctx, "normalize"),
		.sign_body = json_bool(ctx, "sign_body"),
		.omit_session_token = json_bool(ctx, "omit_session_token"),
	};
	bool ok = ctx && parse_request(&rq, text, len) &&
		  parse_time(json_str(ctx, "timestamp"), &p.when);
	if (!ok)
		printf("  %s: cannot parse the case\n", name);

	struct canonical_req req = {
		.method = rq.method,
		.path = rq.path,
		.query = rq.query,
		.headers = rq.h,
		.nheaders = rq.nh,
		.body = rq.body,
		.body_len = rq.body_len,
	};
	struct canonical_result r;
	struct err e = { 0 };
	if (ok && sigv4_sign(&req, &p, &r, &e) < 0) {
		printf("  %s: sigv4_sign failed: %s\n", name, e.msg);
		ok = false;
	} else if (ok) {
		_cleanup_free_ char *cr = slurp_trimmed(dir, "header-canonical-request.txt");
		_cleanup_free_ char *sts = slurp_trimmed(dir, "header-string-to-sign.txt");
		_cleanup_free_ char *sig = slurp_trimmed(dir, "header-signature.txt");
		_cleanup_free_ char *signed_req = slurp(dir, "header-signed-request.txt", NULL);
		ok = same(name, "canonical request", r.canonical_request, cr) && ok;
		ok = same(name, "string to sign", r.string_to_sign, sts) && ok;
		ok = same(name, "signature", r.signature, sig) && ok;
		ok = signed_req && check_signed_request(name, signed_req, &r) && ok;
		canonical_result_release(&r);
	}
	raw_request_release(&rq);
	cJSON_Delete(ctx);
	free(text);
	return ok;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_suite(void **state)
{
	(void)state;
	const char *suite = getenv("IMGPULL_SIGV4_SUITE");
	if (!suite || !*suite)
		suite = getenv("IMGPULL_SIGV4_SUITE_DEFAULT");
	if (!suite || !*suite)
		fail_msg("set IMGPULL_SIGV4_SUITE to the aws-c-auth v4 suite directory");
	DIR *d = opendir(suite);
	if (!d)
		fail_msg("cannot open SigV4 suite '%s'", suite);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", suite, de->d_name);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			names = xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = xstrdup(de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);

	size_t passed = 0;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", suite, names[i]);
		bool ok = run_case(dir, names[i]);
		printf("sigv4 %-40s %s\n", names[i], ok ? "ok" : "FAILED");
		passed += ok;
		free(names[i]);
	}
	free(names);
	printf("sigv4 suite %s: %zu of %zu cases pass\n", suite, passed, n);
	if (n == 0)
		fail_msg("no cases in SigV4 suite '%s'", suite);
	assert_int_equal(passed, n);
}

static void expect_sign_error(const struct canonical_header *h, size_t nh,
			      const struct sigv4_params *p, enum err_class cls)
{
	const struct canonical_req req = { .method = "POST", .path = "/", .headers = h, .nheaders = nh };
	struct canonical_result r;
	struct err e = { 0 };
	assert_int_equal(sigv4_sign(&req, p, &r, &e), -1);
	assert_int_equal(e.cls, cls);
	if (p->secret_key && *p->secret_key)
		assert_null(strstr(e.msg, p->secret_key));
	assert_null(r.authorization);
	canonical_result_release(&r);
}

// Headers the signer adds may not come from the caller too, signed or not.
static void test_errors(void **state)
{
	(void)state;
	const struct sigv4_params base = {
		.access_key = "AKIDEXAMPLE",
		.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		.session_token = "TOKEN",
		.region = "us-east-1",
		.service = "ecr",
		.when = 1440938160,
		.normalize_path = true,
		.sign_body = true,
	};
	const struct canonical_header date[] = { { "Host", "h" }, { "X-Amz-Date", "x" } };
	expect_sign_error(date, 2, &base, ERR_INTERNAL);
	const struct canonical_header sha[] = { { "Host", "h" }, { "x-amz-content-sha256", "x" } };
	expect_sign_error(sha, 2, &base, ERR_INTERNAL);
	const struct canonical_header tok[] = { { "Host", "h" }, { "X-Amz-Security-Token", "x" } };
	expect_sign_error(tok, 2, &base, ERR_INTERNAL);
	struct sigv4_params p = base;
	p.omit_session_token = true;
	expect_sign_error(tok, 2, &p, ERR_INTERNAL);
	const struct canonical_header host[] = { { "Host", "h" } };
	p = base;
	p.region = "";
	expect_sign_error(host, 1, &p, ERR_USAGE);
	p = base;
	p.secret_key = "";
	expect_sign_error(host, 1, &p, ERR_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suite),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
