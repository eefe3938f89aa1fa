// SPDX-License-Identifier: Apache-2.0
#include "util/timefmt.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/strparse.h"

static bool digits(struct strparse *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		int c = strparse_peek(s);
		if (!strparse_is_digit(c))
			return false;
		v = v * 10 + (c - '0');
		s->p++;
	}
	*out = v;
	return true;
}

int timefmt_parse_rfc3339(const char *str, time_t *out)
{
	struct strparse s;
	strparse_init_str(&s, str);
	struct tm tm = {0};
	int y, mo, d, h, mi, sec;
	if (!digits(&s, 4, &y) || !strparse_char(&s, '-') || !digits(&s, 2, &mo) || !strparse_char(&s, '-') ||
	    !digits(&s, 2, &d))
		return -1;
	if (!strparse_char(&s, 'T') && !strparse_char(&s, 't') && !strparse_char(&s, ' '))
		return -1;
	if (!digits(&s, 2, &h) || !strparse_char(&s, ':') || !digits(&s, 2, &mi) || !strparse_char(&s, ':') ||
	    !digits(&s, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	if (strparse_char(&s, '.')) { // fraction: ignored, at least one digit
		if (!strparse_is_digit(strparse_peek(&s)))
			return -1;
		while (strparse_is_digit(strparse_peek(&s)))
			s.p++;
	}
	long off = 0;
	if (strparse_char(&s, 'Z') || strparse_char(&s, 'z')) {
		off = 0;
	} else {
		int sign = strparse_char(&s, '+') ? 1 : strparse_char(&s, '-') ? -1 : 0;
		int oh, om;
		if (!sign || !digits(&s, 2, &oh) || !strparse_char(&s, ':') || !digits(&s, 2, &om) || oh > 23 ||
		    om > 59)
			return -1;
		off = sign * (oh * 3600L + om * 60L);
	}
	if (!strparse_eof(&s))
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm) - off;
	return 0;
}

void timefmt_rfc3339(time_t t, char *buf, size_t size)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
