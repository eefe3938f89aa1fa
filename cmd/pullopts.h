// SPDX-License-Identifier: Apache-2.0
// The options pull and bench share, parsed into what the run is given
// (struct pullrun_conf, run/pullrun.h) and what the command keeps for itself
// (progress, quiet, verbosity, the access options' storage).
#ifndef IMGPULL_CMD_PULLOPTS_H
#define IMGPULL_CMD_PULLOPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "cmd/access.h"
#include "cmd/opts.h"
#include "report/progress.h"
#include "run/pullrun.h"
#include "util/err.h"

#define PULLOPTS_DEFAULT_CONNECTIONS 16
#define PULLOPTS_DEFAULT_CHUNK (16ull << 20)
#define PULLOPTS_DEFAULT_RETRIES 5
#define PULLOPTS_DEFAULT_TIMEOUT_S (2 * 3600.0) // 40 GB at 5.6 MB/s; a rerun keeps what was fetched
#define PULLOPTS_MAX_BLOCKING_RETRIES 3         // manifests, tokens, probes
#define PULLOPTS_DEFAULT_MIN_FREE_PCT 10        // the kubelet's default eviction margin (nodefs.available < 10%)

#define PULLOPTS_STR_(x) #x
#define PULLOPTS_STR(x) PULLOPTS_STR_(x)

enum {
	PULLOPTS_O_DEST = 256, PULLOPTS_O_PLATFORM, PULLOPTS_O_CONN, PULLOPTS_O_CHUNK, PULLOPTS_O_RETRIES,
	PULLOPTS_O_STALL, PULLOPTS_O_TIMEOUT, PULLOPTS_O_PROGRESS, PULLOPTS_O_LOGFMT, PULLOPTS_O_TERMLOG,
	PULLOPTS_O_FSYNC, PULLOPTS_O_MINFREE, PULLOPTS_O_CONTAINERD, PULLOPTS_O_CROOT, PULLOPTS_O_METRICS,
	PULLOPTS_O_UNPACK, PULLOPTS_O_NOCHOWN, PULLOPTS_O_SNAPSHOTTER,
};

// How the blobs are fetched: the option entries pull and bench share.
#define PULLOPTS_FETCH_OPTS                                                                                            \
	{"platform", PULLOPTS_O_PLATFORM, "OS/ARCH[/VAR]", "platform to pick from an index (default: this host's)", 0},\
	{"connections", PULLOPTS_O_CONN, "N",                                                                          \
	 "connections in total, all blobs (default " PULLOPTS_STR(PULLOPTS_DEFAULT_CONNECTIONS) ")", 0},               \
	{"chunk-size", PULLOPTS_O_CHUNK, "SIZE", "byte range per request, e.g. 16M (default 16M)", 0},                 \
	{"retries", PULLOPTS_O_RETRIES, "N",                                                                           \
	 "retries per range, every failed try counting (default " PULLOPTS_STR(PULLOPTS_DEFAULT_RETRIES) ");\n"        \
	 "a blob gives up after 4 x N more failures than finished ranges", 0},                                         \
	{"stall-timeout", PULLOPTS_O_STALL, "DURATION",                                                                \
	 "drop and retry a transfer that receives nothing,\nor under 1 KiB/s, for this long (default 20s)", 0},        \
	{"timeout", PULLOPTS_O_TIMEOUT, "DURATION",                                                                    \
	 "give up on the whole pull after this long, e.g. 90m\n(default 2h; 0: never)", 0},                            \
	{"min-free", PULLOPTS_O_MINFREE, "SIZE|PCT%",                                                                  \
	 "space to leave free on the layout's filesystem: a pull that\n"                                               \
	 "would need more fails before downloading (default 10%)", 0},                                                 \
	{"fsync", PULLOPTS_O_FSYNC, NULL,                                                                              \
	 "sync every blob to disk before it enters the layout\n"                                                       \
	 "(default: journal unsynced blobs, re-verify after a reboot)", 0},                                            \
	CMD_ACCESS_OPTS, CMD_POLICY_OPT

struct pullopts {
	struct pullrun_conf run; // what the run is given; its strings point into argv and below
	struct cmd_access acc;   // run's access points here (pullopts_finish)
	double timeout;
	double stall;
	enum progress_mode progress;
	bool quiet;
	int verbose;
	char *default_dest; // with --containerd or --unpack and no --dest: run.dest
	char *unpack_dir;   // run.unpack
};

void pullopts_init(struct pullopts *c);
// The option handler for every PULLOPTS_O_* and access option (cmd_opt_fn).
int pullopts_option(void *ud, int id, const char *arg, struct err *e);
// After the options: the access options' finish (cmd_access_finish), and the
// run's access pointed at them. c is not moved after this.
int pullopts_finish(struct pullopts *c, struct err *e);
// The images: operands argv[first..], or else IMGPULL_IMAGES; at least one.
int pullopts_images(struct pullopts *c, int argc, char **argv, int first, struct err *e);
// The transport's settings that follow from the options; t0 starts --timeout.
void pullopts_apply(struct pullopts *c, double t0);
// The log level -v asks for (part of pullopts_apply).
void pullopts_log_level(const struct pullopts *c);
void pullopts_release(struct pullopts *c);

#endif
