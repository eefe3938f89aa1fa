// SPDX-License-Identifier: Apache-2.0
// A growable byte buffer with a mandatory size cap. Everything read from the
// network goes through one, so a hostile peer cannot make us grow without bound.
// Invariants: data is NULL or NUL-terminated at data[len]; len <= max.
#ifndef IMGPULL_UTIL_BUF_H
#define IMGPULL_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t alloc;
	size_t max;
	bool toobig; // set once an append would have passed max
};

void buf_init(struct buf *b, size_t max);
// Appends n bytes; returns -1 (and sets toobig) if len would pass max.
int buf_add(struct buf *b, const void *p, size_t n);
int buf_addstr(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_release(struct buf *b);
// Hands out the NUL-terminated contents (never NULL) and leaves b empty.
char *buf_steal(struct buf *b);
const char *buf_str(const struct buf *b);

#endif
