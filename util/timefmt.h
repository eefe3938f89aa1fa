// SPDX-License-Identifier: Apache-2.0
// Timestamps as the token APIs send them: RFC 3339 strings ("2026-11-22T10:00:00Z",
// fractions and numeric offsets allowed) and epoch numbers.
#ifndef IMGPULL_UTIL_TIMEFMT_H
#define IMGPULL_UTIL_TIMEFMT_H

#include <stddef.h>
#include <time.h>

// 0 and *out on success, -1 if s is not an RFC 3339 date-time.
int timefmt_parse_rfc3339(const char *s, time_t *out);
// "2026-11-22T10:00:00Z" into buf (at least 21 bytes).
void timefmt_rfc3339(time_t t, char *buf, size_t size);

#endif
