// SPDX-License-Identifier: Apache-2.0
// Progress output: a live display on a terminal, periodic plain lines
// otherwise, or one JSON object per event. All of it goes to the command's
// error stream except JSON, which goes to its output stream so it can be piped.
#ifndef IMGPULL_REPORT_PROGRESS_H
#define IMGPULL_REPORT_PROGRESS_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

#include "pull/engine.h"
#include "util/err.h"

// LOG: JSON records on stderr through util/log (ts, level, msg, fields), what
// auto becomes when the log format is JSON (a pod): events as they happen and a
// progress record (bytes, total, rate, ETA) every few seconds.
enum progress_mode { PROGRESS_AUTO, PROGRESS_TTY, PROGRESS_PLAIN, PROGRESS_JSON, PROGRESS_NONE, PROGRESS_LOG };

struct progress;

// Parses auto|tty|plain|json|none.
int progress_mode_parse(const char *s, enum progress_mode *out);
// Writes JSON events and the summary to out, the rest to err (the command's
// stdout and stderr); a TTY display when mode is auto and err is a terminal.
struct progress *progress_new(enum progress_mode mode, double plain_interval_s, FILE *out, FILE *err);
void progress_attach(struct progress *p, struct pull_engine *eng);
// The engine's on_event callback (ud is the struct progress).
void progress_on_event(void *ud, const struct pull_event *ev);
void progress_resolved(struct progress *p, const char *ref, const char *digest, size_t nblobs);
void progress_image_done(struct progress *p, const char *ref, const char *digest);
void progress_summary(struct progress *p, size_t images, uint64_t bytes, uint64_t received, double secs);
void progress_error(struct progress *p, const struct err *e);
void progress_free(struct progress *p);
// Adds r's body bytes to what its host sent (*by_host: "host[:port]" -> bytes,
// made at the first bytes), for the summary's and bench's bytes_by_host.
void progress_tally_host(cJSON **by_host, const struct pull_request_info *r);
// "1.5 GB" (decimal units, as MB/s).
void progress_bytes(char *out, size_t n, double bytes);

#endif
