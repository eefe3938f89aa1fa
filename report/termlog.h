// SPDX-License-Identifier: Apache-2.0
// The termination message: what `kubectl describe pod` and
// status.containerStatuses[].lastState.terminated.message show. At most 4096
// bytes, written on every exit of a pull: a head line (the outcome), then one
// line per image, whole lines only (util/fit).
#ifndef IMGPULL_REPORT_TERMLOG_H
#define IMGPULL_REPORT_TERMLOG_H

#include <stddef.h>

#define TERMLOG_MAX 4096
#define TERMLOG_DEFAULT "/dev/termination-log"

// The path named (--termination-log or IMGPULL_TERMINATION_LOG, as the command
// found it before parsing; NULL or empty: none), else /dev/termination-log when
// it exists, is a regular file and is writable, else NULL (nowhere). A named
// path that is there and is not a regular file is NULL too (the option's check,
// cmd_check_output, refuses it).
const char *termlog_path(const char *named);
// Writes the message (best effort: a failure is logged, never fatal), only
// into a regular file: never through a symbolic link, into a device, or into a
// FIFO (which would wait for a reader).
void termlog_write(const char *path, const char *head, const char *const *full,
		   const char *const *brief, size_t n);

#endif
