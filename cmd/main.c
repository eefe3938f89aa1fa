// SPDX-License-Identifier: Apache-2.0
#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "unpack/layer.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"pull", cmd_pull, "pull images into an OCI image layout"},
	{"auth", cmd_auth, "check credentials and tokens for images, without pulling"},
	{"chart", cmd_chart, "pull a Helm chart from an OCI registry, as helm pull does"},
	{"bench", cmd_bench, "measure what pulling images achieves here: time, MB/s, retries"},
	{"verify", cmd_verify, "re-hash a layout's blobs and check its images are complete"},
	{"gc", cmd_gc, "remove blobs no image needs and old partial downloads from a layout"},
	{"idle", cmd_idle, "wait for SIGTERM and exit 0 (a DaemonSet's main container)"},
	{"version", cmd_version, "print the version"},
	{"help", cmd_help, "show help for imgpull or a command"},
};

int cmd_fail(const struct err *e)
{
	int code = err_exit_code(e);
	if (!code)
		code = 1;
	const char *msg = e->msg[0] ? e->msg : "unknown error";
	if (log_json()) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "class", err_class_name(e->cls));
		cJSON_AddNumberToObject(f, "exit_code", code);
		log_record(LOG_ERROR, msg, f);
	} else {
		fprintf(stderr, "imgpull: error: %s\n", msg);
	}
	return code;
}

// strtoull and strtol take leading blanks and signs: numbers here start with a digit.
static bool starts_with_digit(const char *s)
{
	return s && *s >= '0' && *s <= '9';
}

int cmd_parse_size(const char *s, unsigned long long *out)
{
	if (!starts_with_digit(s))
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: return -1;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end != '\0' || v > (ULLONG_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

int cmd_parse_int(const char *s, int min, int max, int *out)
{
	if (!starts_with_digit(s))
		return -1;
	errno = 0;
	char *end;
	long v = strtol(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

int cmd_parse_duration(const char *s, double *out)
{
	if (!starts_with_digit(s))
		return -1;
	errno = 0;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s)
		return -1;
	double mult = 1;
	switch (*end) {
	case '\0': break;
	case 's': end++; break;
	case 'm': mult = 60; end++; break;
	case 'h': mult = 3600; end++; break;
	default: return -1;
	}
	if (*end != '\0' || v > 10u * 365 * 24 * 3600)
		return -1;
	*out = (double)v * mult;
	return 0;
}

int cmd_dest_only(const char *dest, int argc, char **argv, int first, struct err *e)
{
	if (!dest)
		return err_set(e, ERR_USAGE, "--dest DIR (or IMGPULL_DEST) is required (see 'imgpull help %s')", argv[0]);
	if (first < argc)
		return err_set(e, ERR_USAGE, "unexpected argument '%s'", argv[first]);
	return 0;
}

int cmd_check_value(const char *opt, const char *v, struct err *e)
{
	if (!v || !*v)
		return err_set(e, ERR_USAGE, "%s must not be empty", opt);
	size_t n = strlen(v);
	if (strspn(v, " \t\r\n\v\f") == n)
		return err_set(e, ERR_USAGE, "%s must not be blank", opt);
	if (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]))
		return err_set(e, ERR_USAGE, "%s '%.200s' has leading or trailing white space", opt, v);
	return 0;
}

int cmd_check_output(const char *opt, const char *path, struct err *e)
{
	if (cmd_check_value(opt, path, e) < 0)
		return -1;
	const char *kind = file_not_regular(path);
	if (kind)
		return err_set(e, ERR_USAGE, "%s '%.200s' is %s, not a regular file", opt, path, kind);
	return 0;
}

int cmd_check_input(const char *opt, const char *path, struct err *e)
{
	if (cmd_check_value(opt, path, e) < 0)
		return -1;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, ERR_USAGE, errno, "%s '%.200s' cannot be read", opt, path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_sys(e, ERR_USAGE, errno, "%s '%.200s' cannot be read", opt, path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, ERR_USAGE, "%s '%.200s' is %s, not a regular file", opt, path, file_kind(st.st_mode));
	return 0;
}

int cmd_help(int argc, char **argv)
{
	if (argc > 1) {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
			if (strcmp(argv[1], commands[i].name) == 0 && commands[i].fn != cmd_help) {
				char *sub[] = {argv[1], (char *)"--help", NULL};
				return commands[i].fn(2, sub);
			}
		}
		struct err e;
		err_set(&e, ERR_USAGE, "unknown command '%.200s' (see 'imgpull help')", argv[1]);
		return cmd_fail(&e);
	}
	printf("imgpull: a fast, verifying container image puller\n\n"
	       "usage: imgpull COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-9s %s\n", commands[i].name, commands[i].summary);
	printf("\nRun 'imgpull help COMMAND' for a command's options.\n"
	       "Exit status: 0 ok, 1 internal, 2 usage, 3 auth, 4 not found, 5 network,\n"
	       "6 integrity, 7 storage, 8 untrusted (--policy),\n143 (SIGTERM) or 130 (SIGINT) interrupted.\n");
	return 0;
}

int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	printf("imgpull %s (libcurl %s, %s, gzip: %s)\n", IMGPULL_VERSION, v->version,
	       v->ssl_version ? v->ssl_version : "no TLS", unpack_gzip_engine());
	return 0;
}

const char *cmd_early_value(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);
	const char *flag = NULL;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0)
			continue;
		if (a[2 + n] == '\0' && i + 1 < argc)
			flag = argv[++i];
		else if (a[2 + n] == '=')
			flag = a + 3 + n;
	}
	if (flag)
		return flag;
	char var[64];
	cmd_opts_env_name(name, var, sizeof(var));
	return getenv(var);
}

int cmd_check_log_format(const char *arg, struct err *e)
{
	enum log_format f;
	if (log_format_parse(arg, &f) < 0)
		return err_set(e, ERR_USAGE, "--log-format must be auto, json or text, not '%s'", arg);
	return 0;
}

// The message format is needed before the options are parsed, for their
// errors. An invalid value is reported by the command's own parser.
static void early_log_format(int argc, char **argv)
{
	enum log_format f = LOG_FORMAT_AUTO;
	const char *v = cmd_early_value(argc, argv, "log-format");
	if (v)
		log_format_parse(v, &f);
	log_set_format(f);
}

int main(int argc, char **argv)
{
	// A reader that leaves (`imgpull pull --progress json | head -1`) is an
	// EPIPE for the writer to handle, never the end of a pull by SIGPIPE with
	// no exit status of its own and no termination message.
	signal(SIGPIPE, SIG_IGN);
	early_log_format(argc - 1, argv + 1);
	if (argc < 2) {
		cmd_help(1, argv);
		return ERR_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		name = "help";
	if (!strcmp(name, "--version"))
		name = "version";
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(name, commands[i].name) != 0)
			continue;
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			struct err e;
			err_set(&e, ERR_INTERNAL, "cannot initialise libcurl");
			return cmd_fail(&e);
		}
		srand((unsigned)time(NULL) ^ (unsigned)getpid());
		int r = commands[i].fn(argc - 1, argv + 1);
		curl_global_cleanup();
		return r;
	}
	struct err e; // an error record like any other (JSON with --log-format json)
	err_set(&e, ERR_USAGE, "unknown command '%.200s' (see 'imgpull help')", argv[1]);
	return cmd_fail(&e);
}
