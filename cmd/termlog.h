// SPDX-License-Identifier: Apache-2.0
// The termination message: what `kubectl describe pod` and
// status.containerStatuses[].lastState.terminated.message show. At most 4096
// bytes, written on every exit of a pull: a head line (the outcome), then one
// line per image, whole lines only (util/fit).
#ifndef IMGPULL_CMD_TERMLOG_H
#define IMGPULL_CMD_TERMLOG_H

#include <stddef.h>

#define TERMLOG_MAX 4096
#define TERMLOG_DEFAULT "/dev/termination-log"

// --termination-log or IMGPULL_TERMINATION_LOG, else /dev/termination-log when
// it exists and is writable, else NULL (nowhere).
const char *termlog_path(int argc, char **argv);
// Writes the message (best effort: a failure is logged, never fatal).
void termlog_write(const char *path, const char *head, const char *const *full,
		   const char *const *brief, size_t n);

#endif
