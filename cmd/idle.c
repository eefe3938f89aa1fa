// SPDX-License-Identifier: Apache-2.0
// imgpull idle: waits for SIGTERM or SIGINT and exits 0. The main container of
// the node-prefetch DaemonSet, whose init container does the work: one pod per
// node stays Running, and a rollout or node drain stops it cleanly.
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

int cmd_idle(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: imgpull idle\n\nWaits until SIGTERM or SIGINT, then exits 0 (the main container of\n"
		       "a DaemonSet whose init container prefetches).\n");
		return 0;
	}
	if (argc > 1) {
		struct err e;
		err_set(&e, ERR_USAGE, "idle takes no arguments (see 'imgpull help idle')");
		return cmd_fail(&e);
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sig = 0;
	while (sigwait(&set, &sig) != 0)
		;
	return 0;
}
