// SPDX-License-Identifier: Apache-2.0
// HTTP byte ranges (RFC 9110 14.4): Content-Range parsing for 206 answers.
#ifndef IMGPULL_PULL_RANGE_H
#define IMGPULL_PULL_RANGE_H

#include <stdint.h>

#include "util/err.h"

#define PULL_RANGE_TOTAL_UNKNOWN UINT64_MAX

// Parses "bytes FIRST-LAST/TOTAL" (TOTAL may be "*"); leading/trailing spaces
// allowed, unit compared case-insensitively. Requires FIRST <= LAST and
// LAST < TOTAL when TOTAL is known. "bytes */TOTAL" (a 416 form) is rejected.
// Malformed: -1 with ERR_NETWORK.
int pull_content_range_parse(const char *value, uint64_t *first, uint64_t *last,
			     uint64_t *total, struct err *e);

#endif
