// SPDX-License-Identifier: Apache-2.0
// One table per command describes its options: getopt's long options, the help
// text and the environment contract all come from it. Every option --NAME has
// a variable IMGPULL_NAME (upper case, '-' as '_'), read when the flag is not
// on the command line (a flag wins over its variable). Lists (repeatable
// options) take comma- or white-space-separated items; flags take 1/true/yes/on
// or 0/false/no/off; an empty variable counts as unset. A bad value is a usage
// error naming the variable. The pod spec can so configure everything.
#ifndef IMGPULL_CMD_OPTS_H
#define IMGPULL_CMD_OPTS_H

#include <stdbool.h>
#include <stdio.h>

#include "util/err.h"

enum {
	CMD_OPT_LIST = 1,   // repeatable; its variable is a list
	CMD_OPT_COLON = 2,  // with LIST: ':' separates items too (paths, as in $PATH)
	CMD_OPT_COUNT = 4,  // a flag that may be repeated (-v -v); its variable is a number
	CMD_OPT_NOENV = 8,  // no variable (--help)
	CMD_OPT_OPTARG = 16, // --NAME or --NAME=VALUE (arg names the value); its variable is
	                     // a boolean, or else the value
};

struct cmd_opt {
	const char *name;  // long name, without "--"
	int id;            // what the handler gets (a short option's letter, or >= 256)
	const char *arg;   // metavariable ("DIR"); NULL for a flag
	const char *help;  // one or more lines, '\n'-separated
	unsigned flags;
};

// Applies one option value (arg NULL for flags); < 0 with e set on a bad value.
typedef int (*cmd_opt_fn)(void *ud, int id, const char *arg, struct err *e);

struct cmd_opts {
	const struct cmd_opt *v;
	size_t n;
	const char *command; // for messages: "pull"
};

// Parses argv (argv[0] is the command), then the variables of every option not
// given as a flag, calling apply for each value. *first is the index of the
// first operand. --help prints the usage and returns 1.
int cmd_opts_parse(const struct cmd_opts *o, int argc, char **argv, cmd_opt_fn apply, void *ud,
		   int *first, struct err *e);
// "IMGPULL_CHUNK_SIZE" for "chunk-size" into buf.
void cmd_opts_env_name(const char *name, char *buf, size_t len);
// The options' lines of a usage text, each with its variable.
void cmd_opts_usage(FILE *f, const struct cmd_opts *o);
// The value of --NAME in a command's argv (argv[0] is the command; the last one) or else of IMGPULL_NAME, before the
// command's parser runs (for what its own errors need: the log format, where the
// termination message goes); NULL if neither.
const char *cmd_opts_early_value(int argc, char **argv, const char *name);
// Splits a list variable's value into items (comma, white space, and ':' when
// colon); calls fn for each non-empty one. -1 if there is none at all.
int cmd_opts_split(const char *value, bool colon, int (*fn)(void *ud, const char *item, struct err *e),
		   void *ud, struct err *e);

#endif
