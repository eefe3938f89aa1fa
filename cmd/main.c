// SPDX-License-Identifier: Apache-2.0
// The command table, help, version and main: the dispatch to cmd/*.c.
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "unpack/layer.h"
#include "util/log.h"

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

// The message format is needed before the options are parsed, for their
// errors. An invalid value is reported by the command's own parser.
static void early_log_format(int argc, char **argv)
{
	enum log_format f = LOG_FORMAT_AUTO;
	const char *v = cmd_opts_early_value(argc, argv, "log-format");
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
