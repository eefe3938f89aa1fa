// SPDX-License-Identifier: Apache-2.0
// Content-Range for 206 answers (RFC 9110 14.4):
//
//   Content-Range = range-unit SP ( range-resp / unsatisfied-range )
//   range-resp    = incl-range "/" ( complete-length / "*" )
//   incl-range    = first-pos "-" last-pos
//
// A resumed download trusts these numbers to decide where the bytes go, so
// anything that is not exactly one well-formed, consistent range is refused.
#include "pull/range.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/strparse.h"

// How much of the header an error message may quote (the contract is <= 64).
#define RANGE_ERR_SNIPPET 48

static int range_fail(const char *value, struct err *e, const char *what)
{
	char snip[RANGE_ERR_SNIPPET + 1];
	size_t n = 0;
	// Non-printable bytes are replaced so a hostile header cannot put
	// terminal escapes into our error output.
	for (; n < RANGE_ERR_SNIPPET && value[n]; n++) {
		unsigned char c = (unsigned char)value[n];
		snip[n] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	snip[n] = '\0';
	return err_set(e, ERR_NETWORK, "malformed Content-Range \"%s%s\": %s", snip,
		       value[n] ? "..." : "", what);
}

// A position or length. strparse_u64 refuses overflow by leaving the cursor on the
// digits, which tells "too large" apart from "missing". UINT64_MAX itself is
// refused too: it is the "unknown" sentinel, and refusing it lets callers
// compute last + 1 and last - first + 1 without wrapping.
static int range_num(struct strparse *s, uint64_t *out, const char *value, struct err *e,
		     const char *name)
{
	if (strparse_u64(s, out) == 0)
		return *out == UINT64_MAX ? range_fail(value, e, "number too large") : 0;
	if (strparse_is_digit(strparse_peek(s)))
		return range_fail(value, e, "number too large");
	return range_fail(value, e, name);
}

int pull_content_range_parse(const char *value, uint64_t *first, uint64_t *last,
			     uint64_t *total, struct err *e)
{
	if (!value)
		return err_set(e, ERR_NETWORK, "missing Content-Range");
	struct strparse s;
	strparse_init_str(&s, value);
	strparse_ws(&s);

	// "bytes" must be the whole unit: "bytesx 0-1/2" is some other unit.
	if (!strparse_lit_ci(&s, "bytes"))
		return range_fail(value, e, "unit is not bytes");
	const char *after_unit = s.p;
	strparse_ws(&s);
	if (s.p == after_unit)
		return range_fail(value, e, strparse_eof(&s) ? "no range" : "unit is not bytes");

	if (strparse_peek(&s) == '*')
		return range_fail(value, e, "unsatisfied range");
	uint64_t f, l, t;
	if (range_num(&s, &f, value, e, "missing first position") < 0)
		return -1;
	if (!strparse_char(&s, '-'))
		return range_fail(value, e, "expected '-'");
	if (range_num(&s, &l, value, e, "missing last position") < 0)
		return -1;
	if (!strparse_char(&s, '/'))
		return range_fail(value, e, "expected '/'");
	if (strparse_char(&s, '*')) {
		t = PULL_RANGE_TOTAL_UNKNOWN;
	} else {
		if (range_num(&s, &t, value, e, "missing complete length") < 0)
			return -1;
	}
	strparse_ws(&s);
	if (!strparse_eof(&s))
		return range_fail(value, e, "trailing characters");

	if (f > l)
		return err_set(e, ERR_NETWORK,
			       "malformed Content-Range: first position %" PRIu64
			       " after last position %" PRIu64,
			       f, l);
	if (t != PULL_RANGE_TOTAL_UNKNOWN && l >= t)
		return err_set(e, ERR_NETWORK,
			       "malformed Content-Range: last position %" PRIu64
			       " not below complete length %" PRIu64,
			       l, t);
	if (first)
		*first = f;
	if (last)
		*last = l;
	if (total)
		*total = t;
	return 0;
}
