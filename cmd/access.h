// SPDX-License-Identifier: Apache-2.0
// Options every command that talks to registries shares (credentials, secrets,
// registry kinds, TLS and addressing), parsed in one place for pull and auth.
#ifndef IMGPULL_CMD_ACCESS_H
#define IMGPULL_CMD_ACCESS_H

#include <stdbool.h>
#include <stdio.h>

#include "auth/creds.h"
#include "auth/kind.h"
#include "auth/policy.h"
#include "cmd/opts.h"
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
	ACCESS_O_POLICY,
	ACCESS_O_HOSTS_DIR,
};

// The access options' entries for a command's option table (cmd/opts.h).
#define CMD_ACCESS_OPTS                                                                              \
	{"secret", ACCESS_O_SECRET, "PATH",                                                          \
	 "mounted pull secret: a file or a directory (repeatable;\n"                                 \
	 "its variable also takes ':' between paths)", CMD_OPT_LIST | CMD_OPT_COLON},               \
	{"creds", ACCESS_O_CREDS, "USER:PASS", "credential for every registry", 0},                  \
	{"authfile", ACCESS_O_AUTHFILE, "PATH", "docker config.json with credentials", 0},           \
	{"registry-kind", ACCESS_O_KIND, "HOST=KIND",                                                \
	 "treat HOST as generic, custom, dockerhub, ecr, ecr-public,\n"                              \
	 "ngc, acr, volcengine, harbor or artifactory (repeatable)", CMD_OPT_LIST},                  \
	{"ca-file", ACCESS_O_CA, "PATH", "extra CA certificates (PEM)", 0},                          \
	{"plain-http", ACCESS_O_PLAIN, "HOST[:PORT]", "use http:// for this registry (repeatable)",   \
	 CMD_OPT_LIST},                                                                             \
	{"connect-to", ACCESS_O_CONNECT_TO, "H:P:CH:CP", "connect to CH:CP for H:P, as curl (repeatable)", \
	 CMD_OPT_LIST},                                                                             \
	{"hosts-dir", ACCESS_O_HOSTS_DIR, "DIR",                                                     \
	 "containerd's registry host configuration: mirrors and caches\n"                           \
	 "from DIR/<host>/hosts.toml (default " CMD_HOSTS_DIR_DEFAULT " when it\n"                  \
	 "exists; '' for none)", 0}

// The signature policy option (pull, bench, chart), read into cmd_access.
#define CMD_POLICY_OPT                                                                               \
	{"policy", ACCESS_O_POLICY, "FILE",                                                          \
	 "signature policy (containers-policy.json): images it does not\n"                          \
	 "accept are refused (exit 8) before any blob is kept", 0}

#define CMD_HOSTS_DIR_DEFAULT "/etc/containerd/certs.d"

struct cmd_access {
	const char *hosts_dir; // --hosts-dir, or the default when it exists; NULL: none
	bool hosts_dir_given;
	struct http_config http;
	struct auth_store store;
	struct kind_table kinds;
	struct policy policy;
	bool has_policy; // --policy given
};

// 1 if opt was one of CMD_ACCESS_OPTIONS (and is now applied), 0 if not, < 0 on error.
int cmd_access_option(struct cmd_access *a, int opt, const char *arg, struct err *e);
// After the options: the NVCF allowlist from the environment.
int cmd_access_finish(struct cmd_access *a, struct err *e);
void cmd_access_release(struct cmd_access *a);

#endif
