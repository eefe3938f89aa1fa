// SPDX-License-Identifier: Apache-2.0
// Masterminds/semver v3 in C. Each piece names the Go function it follows
// (version.go: coerceNewVersion, StrictNewVersion, Compare, comparePrerelease,
// comparePrePart; constraints.go: NewConstraint, rewriteRange,
// parseConstraint, constraint*). Go's regular expressions match leftmost-first;
// for these ones that is the greedy scan written out below (a differential run
// against the Go code, outside the suite, found no difference in about two
// million random and fuzzer-made inputs but for this file's length bounds).
#include "util/semver.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

enum semver_op { OP_EQ, OP_NE, OP_GT, OP_LT, OP_GE, OP_LE, OP_TILDE, OP_CARET };

struct semver_term {
	enum semver_op op;
	bool dirty, minor_dirty, patch_dirty; // a wildcard or missing part
	struct semver con;
};

struct semver_group {
	size_t first, count;
	bool pre; // a comparison carries a prerelease: prereleases may match
};

struct semver_constraint {
	size_t nterms, ngroups;
	struct semver_term terms[SEMVER_MAX_TERMS];
	struct semver_group groups[SEMVER_MAX_TERMS];
};

struct span {
	size_t off, len;
};

// The shape shared by NewVersion's regex (segments [0-9]) and a constraint's
// version (segments [0-9|x|X|\*]):
// v?(SEG+)(\.SEG+)?(\.SEG+)?(-IDENT(\.IDENT)*)?(\+IDENT(\.IDENT)*)?
struct shape {
	struct span seg[3]; // without their '.'; len 0 when absent
	struct span pre, meta; // without '-' / '+'
	size_t end;
};

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

// cvRegex's class [0-9|x|X|\*], '|' included.
static bool is_cseg(int c)
{
	return is_digit(c) || c == '|' || c == 'x' || c == 'X' || c == '*';
}

// RE2's \s.
static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static bool is_opchar(int c)
{
	return c == '=' || c == '!' || c == '<' || c == '>' || c == '~' || c == '^';
}

static size_t run(const char *s, size_t i, size_t n, bool (*cls)(int))
{
	while (i < n && cls((unsigned char)s[i]))
		i++;
	return i;
}

// IDENT(\.IDENT)* from i, greedy; i when there is none.
static size_t dotted(const char *s, size_t i, size_t n)
{
	size_t j = run(s, i, n, is_ident);
	if (j == i)
		return i;
	while (j + 1 < n && s[j] == '.' && is_ident((unsigned char)s[j + 1]))
		j = run(s, j + 1, n, is_ident);
	return j;
}

// An optional part: lead, then a run of seg (dotted identifiers when seg is
// NULL); its span without lead, len 0 when absent.
static size_t part(const char *s, size_t i, size_t n, char lead, bool (*seg)(int), struct span *out)
{
	*out = (struct span){ i, 0 };
	if (i + 1 >= n || s[i] != lead)
		return i;
	size_t j = seg ? run(s, i + 1, n, seg) : dotted(s, i + 1, n);
	if (j == i + 1)
		return i;
	*out = (struct span){ i + 1, j - i - 1 };
	return j;
}

// The shape at the start of s[0..n), as much as matches; false if not even a
// major number does.
static bool shape_scan(const char *s, size_t n, bool (*seg)(int), struct shape *sh)
{
	size_t i = (n > 0 && s[0] == 'v') ? 1 : 0;
	size_t j = run(s, i, n, seg);
	if (j == i)
		return false;
	sh->seg[0] = (struct span){ i, j - i };
	j = part(s, j, n, '.', seg, &sh->seg[1]);
	if (sh->seg[1].len)
		j = part(s, j, n, '.', seg, &sh->seg[2]);
	else
		sh->seg[2] = (struct span){ j, 0 };
	j = part(s, j, n, '-', NULL, &sh->pre);
	j = part(s, j, n, '+', NULL, &sh->meta);
	sh->end = j;
	return true;
}

// strconv.ParseUint(s, 10, 64): digits only, at least one, no overflow.
static bool u64_parse(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

// validatePrerelease / validateMetadata: dot-separated non-empty identifiers of
// [0-9A-Za-z-]; a prerelease's numeric identifier has no leading zero.
static bool idents_valid(const char *s, size_t n, bool pre)
{
	size_t i = 0;
	for (;;) {
		size_t j = run(s, i, n, is_ident);
		if (j == i || (j < n && s[j] != '.'))
			return false;
		if (pre && j - i > 1 && s[i] == '0' && run(s, i, j, is_digit) == j)
			return false;
		if (j == n)
			return true;
		i = j + 1;
	}
}

static void span_copy(char *dst, const char *s, struct span sp)
{
	memcpy(dst, s + sp.off, sp.len);
	dst[sp.len] = '\0';
}

// coerceNewVersion over s[0..n).
static int parse_span(const char *s, size_t n, struct semver *out)
{
	struct shape sh;
	if (n > SEMVER_MAX_LEN || !shape_scan(s, n, is_digit, &sh) || sh.end != n)
		return -1;
	struct semver v = { 0 };
	if (!u64_parse(s + sh.seg[0].off, sh.seg[0].len, &v.major) ||
	    (sh.seg[1].len && !u64_parse(s + sh.seg[1].off, sh.seg[1].len, &v.minor)) ||
	    (sh.seg[2].len && !u64_parse(s + sh.seg[2].off, sh.seg[2].len, &v.patch)))
		return -1;
	if (sh.pre.len && !idents_valid(s + sh.pre.off, sh.pre.len, true))
		return -1;
	span_copy(v.pre, s, sh.pre);
	span_copy(v.build, s, sh.meta);
	*out = v;
	return 0;
}

int semver_parse(const char *s, struct semver *v)
{
	size_t n = s ? strnlen(s, SEMVER_MAX_LEN + 1) : 0;
	if (!s || n > SEMVER_MAX_LEN)
		return -1;
	return parse_span(s, n, v);
}

// One of StrictNewVersion's numbers: digits, no leading zero, fits.
static bool strict_number(const char *s, size_t n, uint64_t *out)
{
	return !(n > 1 && s[0] == '0') && u64_parse(s, n, out);
}

int semver_parse_strict(const char *s, struct semver *out)
{
	size_t n = s ? strnlen(s, SEMVER_MAX_LEN + 1) : 0;
	if (!s || n == 0 || n > SEMVER_MAX_LEN)
		return -1;
	const char *d1 = memchr(s, '.', n);
	const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - s)) : NULL;
	if (!d2)
		return -1;
	const char *p = d2 + 1, *end = s + n;
	const char *plus = memchr(p, '+', (size_t)(end - p));
	const char *num_end = plus ? plus : end;
	const char *dash = memchr(p, '-', (size_t)(num_end - p));
	struct semver v = { 0 };
	if (plus && !idents_valid(plus + 1, (size_t)(end - plus - 1), false))
		return -1;
	if (dash && !idents_valid(dash + 1, (size_t)(num_end - dash - 1), true))
		return -1;
	if (!strict_number(s, (size_t)(d1 - s), &v.major) ||
	    !strict_number(d1 + 1, (size_t)(d2 - d1 - 1), &v.minor) ||
	    !strict_number(p, (size_t)((dash ? dash : num_end) - p), &v.patch))
		return -1;
	if (dash)
		span_copy(v.pre, s, (struct span){ (size_t)(dash + 1 - s), (size_t)(num_end - dash - 1) });
	if (plus)
		span_copy(v.build, s, (struct span){ (size_t)(plus + 1 - s), (size_t)(end - plus - 1) });
	*out = v;
	return 0;
}

// comparePrePart over two identifiers (either may be empty).
static int compare_part(const char *s, size_t sn, const char *o, size_t on)
{
	if (sn == on && memcmp(s, o, sn) == 0)
		return 0;
	if (sn == 0)
		return -1;
	if (on == 0)
		return 1;
	uint64_t si = 0, oi = 0;
	bool snum = u64_parse(s, sn, &si), onum = u64_parse(o, on, &oi);
	if (!snum && !onum) {
		int c = memcmp(s, o, sn < on ? sn : on);
		return (c > 0 || (c == 0 && sn > on)) ? 1 : -1;
	}
	if (!onum)
		return -1;
	if (!snum)
		return 1;
	return si > oi ? 1 : -1;
}

// comparePrerelease: identifier by identifier; a missing one is "" (and, as
// with strings.Split, "" is one empty identifier).
static int compare_pre(const char *a, const char *b)
{
	for (;;) {
		const char *ad = strchr(a, '.'), *bd = strchr(b, '.');
		size_t an = ad ? (size_t)(ad - a) : strlen(a);
		size_t bn = bd ? (size_t)(bd - b) : strlen(b);
		int d = compare_part(a, an, b, bn);
		if (d != 0)
			return d;
		if (!ad && !bd)
			return 0;
		a = ad ? ad + 1 : "";
		b = bd ? bd + 1 : "";
	}
}

static int compare_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

int semver_compare(const struct semver *a, const struct semver *b)
{
	int d = compare_u64(a->major, b->major);
	if (!d)
		d = compare_u64(a->minor, b->minor);
	if (!d)
		d = compare_u64(a->patch, b->patch);
	if (d)
		return d;
	if (!a->pre[0] && !b->pre[0])
		return 0;
	if (!a->pre[0])
		return 1; // a release is above its prereleases
	if (!b->pre[0])
		return -1;
	return compare_pre(a->pre, b->pre);
}

// ---- constraints ----

// constraintRangeRegex `\s*(cv)\s+-\s+(cv)\s*` tried at i: the end of the
// match, or 0 when there is none at i.
static size_t range_at(const char *s, size_t n, size_t i, struct span *a, struct span *b)
{
	struct shape sh;
	size_t j = run(s, i, n, is_space);
	if (!shape_scan(s + j, n - j, is_cseg, &sh))
		return 0;
	*a = (struct span){ j, sh.end };
	size_t k = run(s, j + sh.end, n, is_space);
	if (k == j + sh.end || k >= n || s[k] != '-')
		return 0;
	size_t m = run(s, k + 1, n, is_space);
	if (m == k + 1 || !shape_scan(s + m, n - m, is_cseg, &sh))
		return 0;
	*b = (struct span){ m, sh.end };
	return run(s, m + sh.end, n, is_space);
}

// strings.Replace(*buf, old, new, 1).
static void replace_first(char **buf, const char *old, size_t oldn, const char *new, size_t newn)
{
	size_t len = strlen(*buf);
	char *at = memmem(*buf, len, old, oldn);
	if (!at)
		return;
	size_t pre = (size_t)(at - *buf);
	char *out = xmalloc(len - oldn + newn + 1);
	memcpy(out, *buf, pre);
	memcpy(out + pre, new, newn);
	memcpy(out + pre + newn, at + oldn, len - pre - oldn + 1);
	free(*buf);
	*buf = out;
}

// rewriteRange: every match of the range regex in s, in turn, replaced by
// ">= A, <= B " where it first occurs in the string rewritten so far.
static char *rewrite_ranges(const char *s, size_t n)
{
	char *out = xstrdup(s);
	size_t i = 0;
	while (i < n) {
		struct span a, b;
		size_t end = range_at(s, n, i, &a, &b);
		if (!end) {
			i++;
			continue;
		}
		char *t = xasprintf(">= %.*s, <= %.*s ", (int)a.len, s + a.off, (int)b.len, s + b.off);
		replace_first(&out, s + i, end - i, t, strlen(t));
		free(t);
		i = end;
	}
	return out;
}

// The operator spelled s[0..n) ("" included), as constraintOps maps it.
static bool op_lookup(const char *s, size_t n, enum semver_op *op)
{
	static const struct {
		const char *name;
		enum semver_op op;
	} ops[] = {
		{ "", OP_EQ },   { "=", OP_EQ },  { "!=", OP_NE },    { ">", OP_GT },
		{ "<", OP_LT },  { ">=", OP_GE }, { "=>", OP_GE },    { "<=", OP_LE },
		{ "=<", OP_LE }, { "~", OP_TILDE }, { "~>", OP_TILDE }, { "^", OP_CARET },
	};
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		if (strlen(ops[k].name) == n && memcmp(ops[k].name, s, n) == 0) {
			*op = ops[k].op;
			return true;
		}
	}
	return false;
}

static bool is_x(const char *s, struct span sp)
{
	return sp.len == 1 && (s[sp.off] == 'x' || s[sp.off] == 'X' || s[sp.off] == '*');
}

// Appends s[sp] to buf[*len], within SEMVER_MAX_LEN.
static bool put(char *buf, size_t *len, const char *s, size_t n)
{
	if (*len + n > SEMVER_MAX_LEN)
		return false;
	memcpy(buf + *len, s, n);
	*len += n;
	return true;
}

// parseConstraint's version: a wildcard or missing part makes the term dirty
// and the version "0.0.0", "M.0.0" or "M.m.0" with the prerelease (no 'v', no
// build metadata); otherwise it is the text as written. The version must parse.
static int term_version(const char *s, const struct shape *sh, struct semver_term *t)
{
	char ver[SEMVER_MAX_LEN + 1];
	size_t len = 0;
	bool ok = true;
	t->minor_dirty = !is_x(s, sh->seg[0]) && (!sh->seg[1].len || is_x(s, sh->seg[1]));
	t->patch_dirty = !is_x(s, sh->seg[0]) && !t->minor_dirty &&
			 (!sh->seg[2].len || is_x(s, sh->seg[2]));
	t->dirty = is_x(s, sh->seg[0]) || t->minor_dirty || t->patch_dirty;
	if (!t->dirty)
		return parse_span(s, sh->end, &t->con);
	if (is_x(s, sh->seg[0]))
		ok = put(ver, &len, "0.0.0", 5);
	else
		ok = put(ver, &len, s + sh->seg[0].off, sh->seg[0].len);
	if (t->minor_dirty)
		ok = ok && put(ver, &len, ".0.0", 4);
	if (t->patch_dirty)
		ok = ok && put(ver, &len, s + sh->seg[1].off - 1, sh->seg[1].len + 1) &&
		     put(ver, &len, ".0", 2);
	if (sh->pre.len)
		ok = ok && put(ver, &len, s + sh->pre.off - 1, sh->pre.len + 1);
	return ok ? parse_span(ver, len, &t->con) : -1;
}

// One comparison at s[*i..n): OP \s* VERSION (findConstraintRegex's match).
static int parse_term(const char *s, size_t n, size_t *i, struct semver_term *t)
{
	size_t e = run(s, *i, n, is_opchar);
	if (!op_lookup(s + *i, e - *i, &t->op))
		return -1;
	size_t j = run(s, e, n, is_space);
	struct shape sh;
	if (!shape_scan(s + j, n - j, is_cseg, &sh))
		return -1;
	*i = j + sh.end;
	return term_version(s + j, &sh, t);
}

// One || alternative: validConstraintRegex's grammar (comparisons joined by
// \s+ or ",\s*", spaces around), the comparisons findConstraintRegex finds.
static int parse_group(struct semver_constraint *c, const char *s, size_t n)
{
	struct semver_group *g = &c->groups[c->ngroups++];
	*g = (struct semver_group){ c->nterms, 0, false };
	size_t i = run(s, 0, n, is_space);
	for (;;) {
		if (c->nterms == SEMVER_MAX_TERMS)
			return -2;
		struct semver_term *t = &c->terms[c->nterms];
		if (parse_term(s, n, &i, t) < 0)
			return -1;
		c->nterms++;
		g->count++;
		g->pre = g->pre || t->con.pre[0];
		size_t j = run(s, i, n, is_space);
		if (j == n)
			return 0;
		if (s[j] == ',')
			j = run(s, j + 1, n, is_space);
		else if (j == i)
			return -1;
		i = j;
	}
}

// NewConstraint after the range rewrite: the alternatives strings.Split finds.
static int parse_groups(struct semver_constraint *c, const char *s)
{
	for (;;) {
		const char *bar = strstr(s, "||");
		size_t n = bar ? (size_t)(bar - s) : strlen(s);
		if (c->ngroups == SEMVER_MAX_TERMS)
			return -2;
		int r = parse_group(c, s, n);
		if (r < 0)
			return r;
		if (!bar)
			return 0;
		s = bar + 2;
	}
}

int semver_constraint_parse(const char *s, struct semver_constraint **out, struct err *e)
{
	*out = NULL;
	size_t n = s ? strnlen(s, SEMVER_CONSTRAINT_MAX_LEN + 1) : 0;
	if (!s)
		return err_set(e, ERR_USAGE, "invalid version constraint ''");
	if (n > SEMVER_CONSTRAINT_MAX_LEN)
		return err_set(e, ERR_USAGE, "version constraint '%.64s...' is longer than %d bytes", s,
			       SEMVER_CONSTRAINT_MAX_LEN);
	struct semver_constraint *c = xcalloc(1, sizeof(*c));
	char *rewritten = rewrite_ranges(s, n);
	int r = parse_groups(c, rewritten);
	free(rewritten);
	if (r < 0) {
		free(c);
		if (r == -2)
			return err_set(e, ERR_USAGE, "version constraint '%.128s' has more than %d comparisons",
				       s, SEMVER_MAX_TERMS);
		return err_set(e, ERR_USAGE, "invalid version constraint '%.128s'", s);
	}
	*out = c;
	return 0;
}

void semver_constraint_free(struct semver_constraint *c)
{
	free(c);
}

void semver_constraint_freep(struct semver_constraint **c)
{
	semver_constraint_free(*c);
	*c = NULL;
}

// ---- checks (constraints.go's constraint* functions) ----

// constraintTilde: >= con, then the same major (and minor unless it was a wildcard).
static bool check_tilde(const struct semver *v, const struct semver_term *t)
{
	const struct semver *c = &t->con;
	if (semver_compare(v, c) < 0)
		return false;
	if (c->major == 0 && c->minor == 0 && c->patch == 0 && !t->minor_dirty && !t->patch_dirty)
		return true;
	if (v->major != c->major)
		return false;
	return v->minor == c->minor || t->minor_dirty;
}

// constraintNotEqual.
static bool check_ne(const struct semver *v, const struct semver_term *t)
{
	const struct semver *c = &t->con;
	if (t->dirty) {
		if (c->major != v->major)
			return true;
		if (c->minor != v->minor && !t->minor_dirty)
			return true;
		if (t->minor_dirty)
			return false;
		if (c->patch != v->patch && !t->patch_dirty)
			return true;
		if (t->patch_dirty)
			return (v->pre[0] || c->pre[0]) && compare_pre(v->pre, c->pre) != 0;
	}
	return semver_compare(v, c) != 0;
}

// constraintGreaterThan.
static bool check_gt(const struct semver *v, const struct semver_term *t)
{
	const struct semver *c = &t->con;
	if (!t->dirty)
		return semver_compare(v, c) > 0;
	if (v->major != c->major)
		return v->major > c->major;
	if (t->minor_dirty)
		return false;
	if (t->patch_dirty)
		return v->minor > c->minor;
	return semver_compare(v, c) > 0;
}

// constraintLessThanEqual.
static bool check_le(const struct semver *v, const struct semver_term *t)
{
	const struct semver *c = &t->con;
	if (!t->dirty)
		return semver_compare(v, c) <= 0;
	if (v->major > c->major)
		return false;
	return !(v->major == c->major && v->minor > c->minor && !t->minor_dirty);
}

// constraintCaret.
static bool check_caret(const struct semver *v, const struct semver_term *t)
{
	const struct semver *c = &t->con;
	if (semver_compare(v, c) < 0)
		return false;
	if (c->major > 0 || t->minor_dirty)
		return v->major == c->major;
	if (v->major > 0)
		return false;
	if (c->minor > 0 || t->patch_dirty)
		return v->minor == c->minor;
	if (v->minor > 0)
		return false;
	return v->patch == c->patch;
}

static bool check_term(const struct semver *v, const struct semver_term *t, bool include_pre)
{
	if (v->pre[0] && !include_pre)
		return false;
	switch (t->op) {
	case OP_EQ:
		return t->dirty ? check_tilde(v, t) : semver_compare(v, &t->con) == 0;
	case OP_NE:
		return check_ne(v, t);
	case OP_GT:
		return check_gt(v, t);
	case OP_LT:
		return semver_compare(v, &t->con) < 0;
	case OP_GE:
		return semver_compare(v, &t->con) >= 0;
	case OP_LE:
		return check_le(v, t);
	case OP_TILDE:
		return check_tilde(v, t);
	case OP_CARET:
		return check_caret(v, t);
	}
	return false;
}

bool semver_constraint_check(const struct semver_constraint *c, const struct semver *v)
{
	for (size_t g = 0; g < c->ngroups; g++) {
		const struct semver_group *grp = &c->groups[g];
		bool all = true;
		for (size_t k = 0; all && k < grp->count; k++)
			all = check_term(v, &c->terms[grp->first + k], grp->pre);
		if (all)
			return true;
	}
	return false;
}

// ---- Helm's choice ----

static int pick_highest(const char *const *versions, size_t n, const struct semver_constraint *c)
{
	struct semver best, v;
	int found = -1;
	for (size_t i = 0; i < n && i <= (size_t)INT32_MAX; i++) {
		if (!versions[i] || semver_parse(versions[i], &v) < 0 || !semver_constraint_check(c, &v))
			continue;
		if (found < 0 || semver_compare(&v, &best) > 0) {
			best = v;
			found = (int)i;
		}
	}
	return found;
}

int semver_pick(const char *const *versions, size_t n, const char *want, struct err *e)
{
	bool any = !want || !*want;
	if (!any) {
		for (size_t i = 0; i < n && i <= (size_t)INT32_MAX; i++)
			if (versions[i] && strcmp(versions[i], want) == 0)
				return (int)i;
	}
	_cleanup_semver_constraint_ struct semver_constraint *c = NULL;
	if (semver_constraint_parse(any ? "*" : want, &c, e) < 0)
		return -1;
	int found = pick_highest(versions, n, c);
	if (found >= 0)
		return found;
	if (any)
		return err_set(e, ERR_NOTFOUND, "no version without a prerelease (a constraint such as "
						"'>0.0.0-0' takes prereleases)");
	return err_set(e, ERR_NOTFOUND, "no version matches '%.128s'", want);
}
