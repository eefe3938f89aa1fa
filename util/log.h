// SPDX-License-Identifier: Apache-2.0
// Diagnostic logging to stderr, off unless --verbose/--debug. Never pass a
// secret: use log_redact_url() for URLs (presigned query strings are
// credentials) and never log Authorization values.
#ifndef IMGPULL_UTIL_LOG_H
#define IMGPULL_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

// text: "hh:mm:ss.mmm imgpull LEVEL: message" lines; json: one object per line,
// {"ts":"2026-11-30T09:40:00.123Z","level":"info","msg":"...",...fields}.
// auto: json when stderr is not a terminal (a pod's log), text on a terminal.
enum log_format { LOG_FORMAT_AUTO, LOG_FORMAT_JSON, LOG_FORMAT_TEXT };

int log_format_parse(const char *s, enum log_format *out);
// Sets the format (auto is decided here, from stderr).
void log_set_format(enum log_format f);
// True when stderr carries JSON lines.
bool log_json(void);
// One JSON record on stderr whatever the level filter: ts, level, msg and the
// members of fields (consumed; may be NULL). For events that cmd/ reports.
void log_record(enum log_level lvl, const char *msg, struct cJSON *fields);

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Copies url into out without its query string and userinfo.
void log_redact_url(const char *url, char *out, size_t outlen);

#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
