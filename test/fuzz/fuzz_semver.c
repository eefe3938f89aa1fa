// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for util/semver.c. Not built by default; e.g.
//   clang -std=gnu11 -D_GNU_SOURCE -I. -g -fsanitize=fuzzer,address,undefined \
//     test/fuzz/fuzz_semver.c util/*.c -o fuzz_semver
// The input's first line is a constraint (semver_pick's want), each further
// line a version. Besides crashes and sanitizer reports it checks the
// contract: a rejected version leaves its output alone, a strict version is a
// loose one with the same parts, comparison is antisymmetric, a rejected
// constraint is one ERR_USAGE line, and semver_pick returns the exact match or
// the highest (first among equals) satisfying version, or says why not.
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/semver.h"

#define FUZZ_VERSIONS_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_version {
	const char *s;
	bool ok;
	struct semver v;
};

static void check_version(struct fuzz_version *f)
{
	struct semver strict;
	memset(&f->v, 0x5a, sizeof(f->v));
	f->ok = semver_parse(f->s, &f->v) == 0;
	if (!f->ok) {
		if (f->v.major != 0x5a5a5a5a5a5a5a5aULL)
			abort();
	} else if (semver_compare(&f->v, &f->v) != 0 || strlen(f->v.pre) >= strlen(f->s)) {
		abort();
	}
	if (semver_parse_strict(f->s, &strict) == 0 &&
	    (!f->ok || semver_compare(&strict, &f->v) != 0 || strcmp(strict.pre, f->v.pre) != 0 ||
	     strcmp(strict.build, f->v.build) != 0))
		abort();
}

static void check_err(const struct err *e, enum err_class cls)
{
	if (e->cls != cls || !e->msg[0] || strchr(e->msg, '\n'))
		abort();
}

// semver_pick's answer against the definition, c being want's constraint
// (NULL if it is not one; "*"'s for an empty want).
static void check_pick(struct fuzz_version *f, size_t n, const char *want,
		       const struct semver_constraint *c)
{
	const char *names[FUZZ_VERSIONS_MAX];
	for (size_t i = 0; i < n; i++)
		names[i] = f[i].s;
	struct err e = { 0 };
	int got = semver_pick(names, n, want, &e);
	for (size_t i = 0; i < n && *want; i++) {
		if (strcmp(f[i].s, want) == 0) {
			if (got != (int)i)
				abort();
			return;
		}
	}
	if (!c) {
		check_err(&e, ERR_USAGE);
		return;
	}
	int best = -1;
	for (size_t i = 0; i < n; i++)
		if (f[i].ok && semver_constraint_check(c, &f[i].v) &&
		    (best < 0 || semver_compare(&f[i].v, &f[best].v) > 0))
			best = (int)i;
	if (got != best)
		abort();
	if (got < 0)
		check_err(&e, ERR_NOTFOUND);
}

static size_t split_lines(char *s, const char **lines, size_t max)
{
	size_t n = 0;
	for (char *p = s; n < max; p++) {
		lines[n++] = p;
		p = strchr(p, '\n');
		if (!p)
			break;
		*p = '\0';
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	const char *lines[FUZZ_VERSIONS_MAX + 1];
	size_t n = split_lines(s, lines, FUZZ_VERSIONS_MAX + 1) - 1;
	struct fuzz_version *f = calloc(FUZZ_VERSIONS_MAX, sizeof(*f));
	if (!f) {
		free(s);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		f[i].s = lines[i + 1];
		check_version(&f[i]);
		if (i > 0 && f[i].ok && f[i - 1].ok &&
		    semver_compare(&f[i].v, &f[i - 1].v) != -semver_compare(&f[i - 1].v, &f[i].v))
			abort();
	}
	struct semver_constraint *c = NULL;
	struct err e = { 0 };
	if (semver_constraint_parse(lines[0], &c, &e) == 0) {
		if (!c)
			abort();
	} else {
		check_err(&e, ERR_USAGE);
		if (c)
			abort();
	}
	if (!lines[0][0] && semver_constraint_parse("*", &c, &e) != 0)
		abort();
	check_pick(f, n, lines[0], c);
	semver_constraint_free(c);
	free(f);
	free(s);
	return 0;
}
