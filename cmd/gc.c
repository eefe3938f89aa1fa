// SPDX-License-Identifier: Apache-2.0
// imgpull gc: free the space a layout holds for nothing: blobs that no image in
// index.json reaches any more, partial downloads older than --partial-age (with
// their progress records and locks), leftovers of processes that died. Waits
// until no process has the layout open, so a running pull loses nothing.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "report/progress.h"
#include "oci/gc.h"
#include "oci/layout.h"
#include "util/clock.h"
#include "util/interrupt.h"
#include "util/log.h"

#define DEFAULT_PARTIAL_AGE_S (24 * 3600.0)
#define DEFAULT_WAIT_S 600.0
#define LOCK_POLL_S 0.25

enum { O_DEST = 256, O_AGE, O_DRY, O_WAIT, O_LOGFMT };

static const struct cmd_opt gc_opt_table[] = {
	{"dest", O_DEST, "DIR", "the layout to clean (required; never created)", 0},
	{"partial-age", O_AGE, "DURATION",
	 "remove partial downloads not written to for this long\n"
	 "(default 24h; 0: all of them)", 0},
	{"dry-run", O_DRY, NULL, "report what would be removed, remove nothing", 0},
	{"wait", O_WAIT, "DURATION",
	 "how long to wait for the pulls using the layout to end\n(default 10m)", 0},
	{"log-format", O_LOGFMT, "FORMAT", "auto, json or text, for messages on stderr (default auto)", 0},
	{"quiet", 'q', NULL, "only the summary", 0},
	{"help", 'h', NULL, "show this help", CMD_OPT_NOENV},
};
static const struct cmd_opts gc_opts = {gc_opt_table, sizeof(gc_opt_table) / sizeof(gc_opt_table[0]), "gc"};

static void usage(FILE *f)
{
	fprintf(f, "usage: imgpull gc --dest DIR [--partial-age DURATION] [--dry-run] [-q]\n\n"
		   "Removes from the OCI image layout DIR the blobs no image in index.json reaches\n"
		   "and the partial downloads older than --partial-age, and reports what it freed.\n"
		   "Runs only while no imgpull has DIR open: it waits for running pulls to end.\n"
		   "Never follows a symbolic link: a layout whose blobs/ or ingest/ is one is\n"
		   "damaged (exit 6, nothing removed); a link or FIFO among the blobs is removed\n"
		   "itself, never its target.\n\n");
	cmd_opts_usage(f, &gc_opts);
}

struct gc_cli {
	const char *dest;
	double age, wait;
	bool dry, quiet;
};

static int gc_option(void *ud, int id, const char *arg, struct err *e)
{
	struct gc_cli *c = ud;
	switch (id) {
	case O_DEST:
		if (cmd_check_value("--dest", arg, e) < 0)
			return -1;
		c->dest = arg;
		return 0;
	case O_AGE:
		if (cmd_parse_duration(arg, &c->age) < 0)
			return err_set(e, ERR_USAGE, "--partial-age must be a duration like 30m or 24h, not '%s'", arg);
		return 0;
	case O_WAIT:
		if (cmd_parse_duration(arg, &c->wait) < 0)
			return err_set(e, ERR_USAGE, "--wait must be a duration like 30s or 10m, not '%s'", arg);
		return 0;
	case O_DRY: c->dry = true; return 0;
	case O_LOGFMT: return cmd_check_log_format(arg, e);
	case 'q': c->quiet = true; return 0;
	default: return err_set(e, ERR_INTERNAL, "option %d not handled", id);
	}
}

static void on_item(void *ud, const struct oci_gc_item *it)
{
	const struct gc_cli *c = ud;
	if (c->quiet)
		return;
	static const char *const what[] = {[OCI_GC_BLOB] = "blob", [OCI_GC_PARTIAL] = "partial",
					   [OCI_GC_STRAY] = "leftover"};
	if (it->kind == OCI_GC_KEPT) {
		printf("kept %s: %s\n", it->name, it->note);
		fflush(stdout);
		return;
	}
	char size[32];
	progress_bytes(size, sizeof(size), (double)it->bytes);
	printf("%s %-8s %s (%s%s%s, %.0f s old)\n", c->dry ? "would remove" : "removed", what[it->kind], it->name,
	       it->note ? it->note : "", it->note ? ", " : "", size, it->age_s);
	fflush(stdout);
}

// The layout alone: no pull has it open. Waits up to c->wait.
static int lock_alone(const struct oci_layout *l, const struct gc_cli *c, int *fd, struct err *e)
{
	double until = clock_mono() + c->wait;
	bool said = false;
	for (;;) {
		int r = oci_layout_lock_alone(l, fd, e);
		if (r != 0)
			return r < 0 ? -1 : 0;
		if (interrupt_signal())
			return err_set(e, ERR_INTERRUPTED, "interrupted while waiting for the pulls using '%s'", l->dir);
		if (clock_mono() >= until)
			return err_set(e, ERR_STORAGE, "'%s' is still in use by a pull after %.0f s: nothing removed",
				       l->dir, c->wait);
		if (!said && !c->quiet) {
			log_warn("waiting for the pulls using '%s' to end", l->dir);
			said = true;
		}
		usleep((useconds_t)(LOCK_POLL_S * 1e6));
	}
}

int cmd_gc(int argc, char **argv)
{
	interrupt_install();
	struct gc_cli c = {.age = DEFAULT_PARTIAL_AGE_S, .wait = DEFAULT_WAIT_S};
	struct err e;
	int first;
	int r = cmd_opts_parse(&gc_opts, argc, argv, gc_option, &c, &first, &e);
	if (r == 1) {
		usage(stdout);
		return 0;
	}
	if (r < 0)
		return cmd_fail(&e);
	if (cmd_dest_only(c.dest, argc, argv, first, &e) < 0)
		return cmd_fail(&e);
	struct oci_layout l;
	struct oci_gc_stats st;
	double t0 = clock_mono();
	int fd = -1;
	int ret = oci_layout_attach(&l, c.dest, &e);
	if (ret == 0)
		ret = lock_alone(&l, &c, &fd, &e);
	if (ret == 0)
		ret = oci_gc(&l, c.age, c.dry, on_item, &c, &st, &e);
	if (fd >= 0)
		close(fd);
	oci_layout_release(&l);
	if (ret < 0)
		return cmd_fail(&e);
	char freed[32];
	progress_bytes(freed, sizeof(freed), (double)st.bytes);
	printf("%s %zu blobs, %zu partial downloads and %zu leftover files: %s (%llu bytes) in %.1f s; "
	       "kept %zu blobs of the images in index.json and %zu partial downloads younger than %.0f s\n",
	       c.dry ? "would remove" : "removed", st.blobs, st.partials, st.strays, freed, (unsigned long long)st.bytes,
	       clock_mono() - t0, st.reachable, st.partials_kept, c.age);
	if (st.kept_special)
		printf("left %zu entries that are neither blobs nor partial downloads (see 'kept' above)\n",
		       st.kept_special);
	return 0;
}
