// SPDX-License-Identifier: Apache-2.0
// Whole records under a byte cap, for messages a reader truncates (Kubernetes
// keeps at most 4096 bytes of a termination message): a head line, then one
// line per record. If the full records do not all fit, their brief forms are
// tried; if those do not fit either, as many brief records as fit are kept and
// a last line says how many were left out. A record is never cut; the head is
// shortened (with "...") only if it alone would not leave room for that line.
#ifndef IMGPULL_UTIL_FIT_H
#define IMGPULL_UTIL_FIT_H

#include <stddef.h>

#include "util/buf.h"

// Fills out (initialised by the caller, its max at least cap + 1) with at most
// cap bytes. full[i] and brief[i] are lines without their newline; brief may be
// NULL (then full is used for both).
void fit_records(struct buf *out, size_t cap, const char *head, const char *const *full,
		 const char *const *brief, size_t n);

#endif
