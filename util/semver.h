// SPDX-License-Identifier: Apache-2.0
// Semantic versions and version constraints exactly as Helm 3 reads them, that
// is with the semantics of github.com/Masterminds/semver/v3 (v3.4.0 and later:
// NewVersion, StrictNewVersion, Version.Compare, NewConstraint,
// Constraints.Check), and the choice of a chart version that Helm's repository
// index (IndexFile.Get) and OCI registry (GetTagMatchingVersionOrConstraint)
// paths make. Pure functions: no I/O, no global state.
#ifndef IMGPULL_UTIL_SEMVER_H
#define IMGPULL_UTIL_SEMVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

// Longest version string accepted (longer ones do not parse).
#define SEMVER_MAX_LEN 256
// Longest constraint string, and most comparisons in one (all || groups together).
#define SEMVER_CONSTRAINT_MAX_LEN 1024
#define SEMVER_MAX_TERMS 32

struct semver {
	uint64_t major, minor, patch;
	char pre[SEMVER_MAX_LEN + 1];   // prerelease without its '-'; "" for none
	char build[SEMVER_MAX_LEN + 1]; // build metadata without its '+'; "" for none
};

// Masterminds NewVersion (lenient): an optional leading 'v', minor and patch
// may be missing (0), leading zeros in them are allowed, then "-PRERELEASE"
// (dot-separated [0-9A-Za-z-]+, no numeric identifier with a leading zero) and
// "+BUILD". Numbers must fit in uint64. 0, or -1 with *v untouched.
int semver_parse(const char *s, struct semver *v);
// Masterminds StrictNewVersion: exactly MAJOR.MINOR.PATCH, no 'v', no leading
// zeros (what Helm keeps of an OCI repository's tags, '_' turned into '+').
int semver_parse_strict(const char *s, struct semver *v);
// -1, 0 or 1 as a < b, a == b, a > b: numbers, then a version without
// prerelease above one with, then the prerelease identifiers (numeric ones by
// value, below alphanumeric ones, which compare as bytes; fewer identifiers are
// lower). Build metadata is ignored. As in Masterminds, a numeric identifier
// too large for uint64 compares as alphanumeric.
int semver_compare(const struct semver *a, const struct semver *b);

// A parsed constraint: "||" alternatives of comparisons joined by commas or
// spaces: =, !=, >, <, >=, =>, <=, =<, ~, ~>, ^ or none (= or, with a
// wildcard, ~), wildcards x X * in any position, hyphen ranges "1.2 - 1.4.5".
// A version with a prerelease satisfies an alternative only if one of that
// alternative's comparisons carries a prerelease.
struct semver_constraint;

// Masterminds NewConstraint. 0 with *out to free, or -1 with ERR_USAGE (the
// message quotes the constraint). An empty constraint is invalid (as in
// Masterminds); semver_pick reads an empty want as "*".
int semver_constraint_parse(const char *s, struct semver_constraint **out, struct err *e);
bool semver_constraint_check(const struct semver_constraint *c, const struct semver *v);
void semver_constraint_free(struct semver_constraint *c);
void semver_constraint_freep(struct semver_constraint **c);
#define _cleanup_semver_constraint_ __attribute__((cleanup(semver_constraint_freep)))

// Helm 3's choice of a version among versions[0..n): with want NULL or "" the
// constraint is "*" (the highest version without prerelease); otherwise a
// version equal to want as a string wins (the first one), else the highest
// version (semver_parse; those that do not parse are skipped) that satisfies
// the constraint want, the first in input order among equal ones. Returns its
// index, or -1 with ERR_USAGE (want is not a valid constraint) or ERR_NOTFOUND
// (nothing matches; the caller adds the chart's name).
// Helm's repository index checks the constraint before the exact match, its
// OCI path after it; they differ only for a want that is not a constraint but
// equals a version that is not semver, which this takes (the OCI order).
int semver_pick(const char *const *versions, size_t n, const char *want, struct err *e);

#endif
