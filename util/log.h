// SPDX-License-Identifier: Apache-2.0
// Diagnostic logging to stderr, off unless --verbose/--debug. Never pass a
// secret: use log_redact_url() for URLs (presigned query strings are
// credentials) and never log Authorization values.
#ifndef IMGPULL_UTIL_LOG_H
#define IMGPULL_UTIL_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Copies url into out without its query string and userinfo.
void log_redact_url(const char *url, char *out, size_t outlen);

#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
