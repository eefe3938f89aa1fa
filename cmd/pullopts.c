// SPDX-License-Identifier: Apache-2.0
#include "cmd/pullopts.h"

#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cri/cri.h"
#include "oci/ref.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

void pullopts_init(struct pullopts *c)
{
	*c = (struct pullopts){.run = {.connections = PULLOPTS_DEFAULT_CONNECTIONS, .chunk = PULLOPTS_DEFAULT_CHUNK,
				       .retries = PULLOPTS_DEFAULT_RETRIES, .min_free = FILE_ROOM_PCT,
				       .min_free_pct = PULLOPTS_DEFAULT_MIN_FREE_PCT},
			       .timeout = PULLOPTS_DEFAULT_TIMEOUT_S, .stall = (double)HTTP_STALL_TIMEOUT_S,
			       .progress = PROGRESS_AUTO};
}

static int parse_min_free(struct pullopts *c, const char *arg, struct err *e)
{
	size_t n = strlen(arg);
	int pct;
	unsigned long long bytes;
	if (n > 1 && arg[n - 1] == '%') {
		_cleanup_free_ char *num = xstrndup(arg, n - 1);
		if (cmd_parse_int(num, 0, 99, &pct) < 0)
			return err_set(e, ERR_USAGE, "--min-free must be a size (5G) or a percentage 0%%..99%%, not '%s'", arg);
		c->run.min_free = FILE_ROOM_PCT;
		c->run.min_free_pct = (unsigned)pct;
	} else if (cmd_parse_size(arg, &bytes) == 0) {
		c->run.min_free = bytes;
	} else {
		return err_set(e, ERR_USAGE, "--min-free must be a size (5G) or a percentage 0%%..99%%, not '%s'", arg);
	}
	return 0;
}

#define NOT_MINE 1 // an option id the handler leaves to the next

// How the blobs are fetched (PULLOPTS_FETCH_OPTS but the access options).
static int fetch_option(struct pullopts *c, int id, const char *arg, struct err *e)
{
	switch (id) {
	case PULLOPTS_O_PLATFORM: { // checked now: a bad value names its option, or its variable
		struct oci_platform want;
		int r = oci_platform_parse(&want, arg, e);
		oci_platform_release(&want);
		if (r < 0)
			return err_wrap(e, "--platform");
		c->run.platform = arg;
		return 0;
	}
	case PULLOPTS_O_CONN:
		if (cmd_parse_int(arg, 1, 256, &c->run.connections) < 0)
			return err_set(e, ERR_USAGE, "--connections must be 1..256, not '%s'", arg);
		return 0;
	case PULLOPTS_O_CHUNK:
		if (cmd_parse_size(arg, &c->run.chunk) < 0 || c->run.chunk < (64u << 10) || c->run.chunk > (1ull << 32))
			return err_set(e, ERR_USAGE, "--chunk-size must be 64K..4G, not '%s'", arg);
		return 0;
	case PULLOPTS_O_RETRIES:
		if (cmd_parse_int(arg, 0, 100, &c->run.retries) < 0)
			return err_set(e, ERR_USAGE, "--retries must be 0..100, not '%s'", arg);
		return 0;
	case PULLOPTS_O_TIMEOUT:
		if (cmd_parse_duration(arg, &c->timeout) < 0)
			return err_set(e, ERR_USAGE, "--timeout must be a duration like 90s, 30m or 2h (0: none), not '%s'",
				       arg);
		return 0;
	case PULLOPTS_O_STALL:
		if (cmd_parse_duration(arg, &c->stall) < 0 || c->stall < 1 || c->stall > 3600)
			return err_set(e, ERR_USAGE, "--stall-timeout must be 1s..1h, not '%s'", arg);
		return 0;
	case PULLOPTS_O_MINFREE: return parse_min_free(c, arg, e);
	case PULLOPTS_O_FSYNC: c->run.fsync = true; return 0;
	default: return NOT_MINE;
	}
}

// Where the images go besides the layout: containerd (--containerd and its
// companions), a root file system (--unpack).
static int handoff_option(struct pullopts *c, int id, const char *arg, struct err *e)
{
	switch (id) {
	case PULLOPTS_O_SNAPSHOTTER:
		if (cmd_check_value("--snapshotter", arg, e) < 0)
			return -1;
		if (strcmp(arg, "overlayfs") != 0 && strcmp(arg, "native") != 0 && strcmp(arg, "none") != 0)
			return err_set(e, ERR_USAGE, "--snapshotter takes overlayfs, native or none, not '%.100s'", arg);
		c->run.snapshotter = arg;
		return 0;
	case PULLOPTS_O_CONTAINERD: {
		const char *a = arg ? arg : "unix://" CRI_DEFAULT_SOCKET;
		if (strncmp(a, "unix://", 7) == 0)
			a += 7;
		if (cmd_check_value("--containerd", a, e) < 0)
			return -1;
		if (a[0] != '/')
			return err_set(e, ERR_USAGE, "--containerd wants unix:///PATH or /PATH, not '%s'", arg);
		c->run.containerd = a;
		return 0;
	}
	case PULLOPTS_O_CROOT:
		if (cmd_check_value("--containerd-root", arg, e) < 0)
			return -1;
		c->run.containerd_root = arg;
		return 0;
	case PULLOPTS_O_UNPACK:
		if (cmd_check_value("--unpack", arg, e) < 0)
			return -1;
		free(c->unpack_dir); // a flag after its variable
		c->run.unpack = c->unpack_dir = NULL;
		if (unpack_rootfs_name(arg, &c->unpack_dir, e) < 0)
			return -1;
		c->run.unpack = c->unpack_dir;
		return 0;
	case PULLOPTS_O_NOCHOWN: c->run.no_chown = true; return 0;
	default: return NOT_MINE;
	}
}

int pullopts_option(void *ud, int id, const char *arg, struct err *e)
{
	struct pullopts *c = ud;
	int r = fetch_option(c, id, arg, e);
	if (r == NOT_MINE)
		r = handoff_option(c, id, arg, e);
	if (r != NOT_MINE)
		return r;
	switch (id) {
	case PULLOPTS_O_DEST:
		if (cmd_check_value("--dest", arg, e) < 0)
			return -1;
		c->run.dest = arg;
		return 0;
	case PULLOPTS_O_PROGRESS:
		if (progress_mode_parse(arg, &c->progress) < 0)
			return err_set(e, ERR_USAGE, "--progress must be auto, tty, plain, json or none, not '%s'", arg);
		return 0;
	case PULLOPTS_O_LOGFMT: return cmd_check_log_format(arg, e);
	case PULLOPTS_O_TERMLOG: return cmd_check_output("--termination-log", arg, e); // read early, see termlog_path
	case PULLOPTS_O_METRICS: return cmd_check_output("--metrics", arg, e);          // read early too
	case 'q': c->quiet = true; return 0;
	case 'v': c->verbose++; return 0;
	default: return cmd_access_option(&c->acc, id, arg, e) < 0 ? -1 : 0;
	}
}

static int add_image(void *ud, const char *item, struct err *e)
{
	struct pullopts *c = ud;
	// A malformed reference is a usage error before anything is created.
	struct oci_ref r;
	if (oci_ref_parse(&r, item, e) < 0)
		return -1;
	oci_ref_release(&r);
	c->run.images = xrealloc(c->run.images, (c->run.nimages + 1) * sizeof(char *));
	c->run.images[c->run.nimages++] = xstrdup(item);
	return 0;
}

int pullopts_finish(struct pullopts *c, struct err *e)
{
	if (cmd_access_finish(&c->acc, e) < 0)
		return -1;
	c->run.http = &c->acc.http;
	c->run.store = &c->acc.store;
	c->run.kinds = &c->acc.kinds;
	c->run.hosts_dir = c->acc.hosts_dir;
	c->run.policy = c->acc.has_policy ? &c->acc.policy : NULL;
	return 0;
}

int pullopts_images(struct pullopts *c, int argc, char **argv, int first, struct err *e)
{
	for (int i = first; i < argc; i++)
		if (add_image(c, argv[i], e) < 0)
			return -1;
	const char *env = getenv("IMGPULL_IMAGES");
	if (!c->run.nimages && env && *env && cmd_opts_split(env, false, add_image, c, e) < 0)
		return e->cls ? err_wrap(e, "IMGPULL_IMAGES") : err_set(e, ERR_USAGE, "IMGPULL_IMAGES must not be blank");
	if (!c->run.nimages)
		return err_set(e, ERR_USAGE, "no image given, as arguments or in IMGPULL_IMAGES (see 'imgpull help %s')",
			       argv[0]);
	return 0;
}

void pullopts_apply(struct pullopts *c, double t0)
{
	c->acc.http.retries =
		c->run.retries < PULLOPTS_MAX_BLOCKING_RETRIES ? c->run.retries : PULLOPTS_MAX_BLOCKING_RETRIES;
	c->acc.http.stall_timeout_s = (long)c->stall;
	c->acc.http.deadline = c->timeout > 0 ? t0 + c->timeout : 0;
	pullopts_log_level(c);
}

void pullopts_log_level(const struct pullopts *c)
{
	log_set_level(c->verbose >= 2 ? LOG_DEBUG : c->verbose == 1 ? LOG_INFO : LOG_WARN);
}

void pullopts_release(struct pullopts *c)
{
	cmd_access_release(&c->acc);
	free(c->default_dest);
	free(c->unpack_dir);
	for (size_t i = 0; i < c->run.nimages; i++)
		free(c->run.images[i]);
	free(c->run.images);
}
