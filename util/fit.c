// SPDX-License-Identifier: Apache-2.0
#include "util/fit.h"

#include <stdio.h>
#include <string.h>

#define MORE_MAX 48 // "... and 18446744073709551615 more\n"

static size_t lines_len(const char *const *v, size_t n)
{
	size_t t = 0;
	for (size_t i = 0; i < n; i++)
		t += strlen(v[i]) + 1;
	return t;
}

void fit_records(struct buf *out, size_t cap, const char *head, const char *const *full,
		 const char *const *brief, size_t n)
{
	if (!brief)
		brief = full;
	buf_reset(out);
	if (cap <= MORE_MAX + 8)
		return;
	// The head keeps room for the "more" line.
	size_t hmax = cap - MORE_MAX - 1, hl = strlen(head);
	if (hl > hmax)
		buf_printf(out, "%.*s...\n", (int)(hmax - 3), head);
	else
		buf_printf(out, "%s\n", head);
	size_t room = cap - out->len;
	const char *const *use = lines_len(full, n) <= room ? full : brief;
	if (lines_len(use, n) <= room) {
		for (size_t i = 0; i < n; i++)
			buf_printf(out, "%s\n", use[i]);
		return;
	}
	size_t i = 0;
	for (; i < n; i++) {
		size_t l = strlen(brief[i]) + 1;
		if (out->len + l + MORE_MAX > cap)
			break;
		buf_printf(out, "%s\n", brief[i]);
	}
	buf_printf(out, "... and %zu more\n", n - i);
}
