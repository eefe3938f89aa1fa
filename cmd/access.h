// SPDX-License-Identifier: Apache-2.0
// Options every command that talks to registries shares (credentials, secrets,
// registry kinds, TLS and addressing), parsed in one place for pull and auth.
#ifndef IMGPULL_CMD_ACCESS_H
#define IMGPULL_CMD_ACCESS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "auth/creds.h"
#include "auth/kind.h"
#include "transport/http.h"
#include "util/err.h"

enum {
	ACCESS_O_CREDS = 512,
	ACCESS_O_AUTHFILE,
	ACCESS_O_SECRET,
	ACCESS_O_KIND,
	ACCESS_O_CA,
	ACCESS_O_PLAIN,
	ACCESS_O_CONNECT_TO,
};

#define CMD_ACCESS_OPTIONS                                                  \
	{"creds", required_argument, NULL, ACCESS_O_CREDS},                 \
	{"authfile", required_argument, NULL, ACCESS_O_AUTHFILE},           \
	{"secret", required_argument, NULL, ACCESS_O_SECRET},               \
	{"registry-kind", required_argument, NULL, ACCESS_O_KIND},          \
	{"ca-file", required_argument, NULL, ACCESS_O_CA},                  \
	{"plain-http", required_argument, NULL, ACCESS_O_PLAIN},            \
	{"connect-to", required_argument, NULL, ACCESS_O_CONNECT_TO}

struct cmd_access {
	struct http_config http;
	struct auth_store store;
	struct reg_kinds kinds;
	bool have_secret;
};

// 1 if opt was one of CMD_ACCESS_OPTIONS (and is now applied), 0 if not, < 0 on error.
int cmd_access_option(struct cmd_access *a, int opt, const char *arg, struct err *e);
// After the options: IMGPULL_SECRET when no --secret was given, the NVCF allowlist.
int cmd_access_finish(struct cmd_access *a, struct err *e);
void cmd_access_usage(FILE *f);
void cmd_access_release(struct cmd_access *a);

#endif
