// SPDX-License-Identifier: Apache-2.0
// One error style for the whole program: a fallible function returns < 0 and
// fills a struct err with a one-line message and a class. Only cmd/ prints it;
// the class decides the exit status.
#ifndef IMGPULL_UTIL_ERR_H
#define IMGPULL_UTIL_ERR_H

#include <stdarg.h>

enum err_class {
	ERR_NONE = 0,
	ERR_INTERNAL = 1,
	ERR_USAGE = 2,
	ERR_AUTH = 3,
	ERR_NOTFOUND = 4,
	ERR_NETWORK = 5,
	ERR_INTEGRITY = 6,
	ERR_STORAGE = 7,
	ERR_INTERRUPTED = 8, // SIGTERM/SIGINT: exit status 128 + the signal (143, 130)
	ERR_UNTRUSTED = 9,   // refused by the signature policy (--policy): exit status 8
};

#define ERR_MSG_MAX 512

struct err {
	enum err_class cls;
	char msg[ERR_MSG_MAX];
};

// Sets class and message; always returns -1 so callers can `return err_set(...)`.
int err_set(struct err *e, enum err_class cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
// Like err_set, appending ": strerror(errnum)".
int err_sys(struct err *e, enum err_class cls, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
// Prefixes context ("context: old message"), keeps the class; returns -1.
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(struct err *e);
// Exit status for a class: 0 ok, 1 internal, 2 usage ... 7 storage, 8 untrusted.
int err_exit_code(const struct err *e);
const char *err_class_name(enum err_class cls);

#endif
