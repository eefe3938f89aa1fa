// SPDX-License-Identifier: Apache-2.0
#include "util/err.h"

#include <stdio.h>
#include <string.h>

#include "util/interrupt.h"

__attribute__((format(printf, 3, 0)))
static void set_va(struct err *e, enum err_class cls, const char *fmt, va_list ap)
{
	e->cls = cls;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	// Messages are one line: a newline from a server's text must not split them.
	for (char *p = e->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

int err_set(struct err *e, enum err_class cls, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_va(e, cls, fmt, ap);
	va_end(ap);
	return -1;
}

int err_sys(struct err *e, enum err_class cls, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_va(e, cls, fmt, ap);
	va_end(ap);
	size_t n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(errnum));
	return -1;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
	char prefix[ERR_MSG_MAX];
	char old[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	char joined[2 * ERR_MSG_MAX + 2];
	memcpy(old, e->msg, sizeof(old));
	snprintf(joined, sizeof(joined), "%s: %s", prefix, old);
	snprintf(e->msg, sizeof(e->msg), "%.*s", (int)sizeof(e->msg) - 1, joined);
	if (e->cls == ERR_NONE)
		e->cls = ERR_INTERNAL;
	return -1;
}

void err_clear(struct err *e)
{
	e->cls = ERR_NONE;
	e->msg[0] = '\0';
}

int err_exit_code(const struct err *e)
{
	if (e->cls == ERR_INTERRUPTED) {
		int sig = interrupt_signal();
		return 128 + (sig ? sig : 15);
	}
	if (e->cls == ERR_UNTRUSTED)
		return 8;
	return (int)e->cls;
}

const char *err_class_name(enum err_class cls)
{
	switch (cls) {
	case ERR_NONE: return "ok";
	case ERR_INTERNAL: return "internal";
	case ERR_USAGE: return "usage";
	case ERR_AUTH: return "auth";
	case ERR_NOTFOUND: return "not found";
	case ERR_NETWORK: return "network";
	case ERR_INTEGRITY: return "integrity";
	case ERR_STORAGE: return "storage";
	case ERR_INTERRUPTED: return "interrupted";
	case ERR_UNTRUSTED: return "untrusted";
	}
	return "internal";
}
