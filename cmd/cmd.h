// SPDX-License-Identifier: Apache-2.0
// Subcommands: one file each, dispatched from main.c's table; what they share
// is in cmd.c. Only cmd/ prints (and report/, to the streams cmd hands it);
// everything below returns errors.
#ifndef IMGPULL_CMD_CMD_H
#define IMGPULL_CMD_CMD_H

#include "util/err.h"

int cmd_pull(int argc, char **argv);
int cmd_auth(int argc, char **argv);
int cmd_chart(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_idle(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);

// Prints "imgpull: error: MSG" on stderr and returns the class's exit status.
int cmd_fail(const struct err *e);
// Parses "16M", "512k", "1G", "1048576" (binary units); -1 on junk.
int cmd_parse_size(const char *s, unsigned long long *out);
int cmd_parse_int(const char *s, int min, int max, int *out);
// After the options of a command that works on one layout (verify, gc): --dest
// was given and there is no operand; ERR_USAGE naming the command otherwise.
int cmd_dest_only(const char *dest, int argc, char **argv, int first, struct err *e);
// --log-format's value is used before parsing (main.c); the parser checks it.
int cmd_check_log_format(const char *arg, struct err *e);
// "90", "90s", "20m", "2h" (whole numbers); -1 on junk.
int cmd_parse_duration(const char *s, double *out);
// A path or name given to opt: not empty, not blank, no white space around it
// (a quoting slip in a pod spec, never meant). ERR_USAGE naming opt.
int cmd_check_value(const char *opt, const char *v, struct err *e);
// A file opt writes (--metrics, --termination-log, --timeline): a value
// cmd_check_value takes, where nothing is yet or a regular file is. A symbolic
// link, a device, a FIFO, a directory or a socket there is never written
// through nor replaced: ERR_USAGE naming opt and what the path is.
int cmd_check_output(const char *opt, const char *path, struct err *e);
// A file opt reads that is no credential (--ca-file): a value cmd_check_value
// takes, a regular file (through links) that can be opened for reading, checked
// before any request and never waiting on a FIFO. ERR_USAGE naming opt.
int cmd_check_input(const char *opt, const char *path, struct err *e);

#endif
