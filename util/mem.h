// SPDX-License-Identifier: Apache-2.0
// Allocation with one out-of-memory policy: abort. Cleanup attributes for
// scope-bound ownership; "steal" a pointer to hand it out.
#ifndef IMGPULL_UTIL_MEM_H
#define IMGPULL_UTIL_MEM_H

#include <stddef.h>
#include <stdio.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void cleanup_freep(void *p);
void cleanup_closep(int *fd);
void cleanup_fclosep(FILE **f);

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))

// Returns *pp and sets *pp to NULL, so a cleanup attribute no longer frees it.
#define steal_pointer(pp) __extension__({ __typeof__(*(pp)) _v = *(pp); *(pp) = NULL; _v; })
#define steal_fd(pfd) __extension__({ int _v = *(pfd); *(pfd) = -1; _v; })

#endif
