// SPDX-License-Identifier: Apache-2.0
// imgpull auth: for operators debugging an init container that cannot pull.
// Resolves each image's credential and token exactly as pull would, fetches its
// manifest to prove the token grants pull access, and prints where everything
// came from (file and entry, never a value) and when the token expires.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/access.h"
#include "cmd/cmd.h"
#include "oci/manifest.h"
#include "oci/ref.h"
#include "pull/registry.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timefmt.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: imgpull auth [OPTIONS] IMAGE...\n\n"
		"Obtains a registry token for each image's repository without pulling, checks it\n"
		"by fetching the manifest, and shows how: registry kind, matching secret entry,\n"
		"auth scheme, token expiry. Exit status as for pull.\n\n");
	cmd_access_usage(f);
	fprintf(f, "  -v, --verbose              diagnostic log on stderr (twice: debug)\n");
}

static void print_expiry(const char *what, time_t expires, const char *note)
{
	char when[32];
	time_format_rfc3339(expires, when, sizeof(when));
	printf("  %-11s valid %lds, until %s%s\n", what, (long)(expires - time(NULL)), when, note);
}

// Token, then a manifest GET with it; prints as it learns.
static int check_image(struct pull_registries *regs, const char *refstr, struct err *e)
{
	struct oci_ref ref = {0};
	if (oci_ref_parse(&ref, refstr, e) < 0)
		return -1;
	_cleanup_free_ char *name = oci_ref_string(&ref);
	_cleanup_free_ char *authz = NULL;
	_cleanup_free_ char *suffix = NULL;
	int ret = -1;
	struct pull_repo repo = {.path = ref.path};
	printf("%s\n", name);
	repo.reg = pull_registries_get(regs, ref.registry, e);
	if (!repo.reg)
		goto out;
	struct auth_session *s = &repo.reg->auth;
	if (auth_session_probe(s, e) < 0)
		goto out;
	printf("  %-11s %s\n", "registry", ref.registry);
	printf("  %-11s %s (from %s%s%s)\n", "kind", reg_kind_name(s->info.kind), s->info.why,
	       s->info.label ? ", " : "", s->info.label ? s->info.label : "");
	if (s->scheme == AUTH_BEARER)
		printf("  %-11s bearer, realm %s, service %s\n", "scheme", s->realm, s->service ? s->service : "(none)");
	else
		printf("  %-11s %s%s\n", "scheme", auth_scheme_name(s->scheme),
		       s->scheme == AUTH_NONE ? " (anonymous access)" : "");
	int r = auth_session_header(s, ref.path, &authz, e);
	printf("  %-11s %s\n", "credential", s->cred_source ? s->cred_source : "none matched: anonymous");
	if (authz)
		explicit_bzero(authz, strlen(authz));
	if (r < 0)
		goto out;
	if (auth_exchange_held(&s->xch))
		print_expiry("api token", s->xch.expires, " (from the registry's GetAuthorizationToken API)");
	long ttl = auth_session_token_ttl(s, ref.path);
	if (s->scheme == AUTH_NONE)
		printf("  %-11s not needed\n", "token");
	else if (ttl > 0)
		print_expiry("token", time(NULL) + ttl, "");
	else
		printf("  %-11s %s credential on every request (no expiry)\n", "token",
		       s->scheme == AUTH_BASIC ? "basic" : "the");
	const char *reference = ref.digest ? ref.digest : ref.tag;
	suffix = xasprintf("/manifests/%s", reference);
	struct http_resp resp;
	if (pull_repo_get(&repo, suffix, OCI_MANIFEST_ACCEPT, OCI_MANIFEST_MAX, &resp, e) < 0)
		goto out;
	if (resp.status == 200) {
		printf("  %-11s ok, %s%s%s\n", "manifest", resp.content_type ? resp.content_type : "(no type)",
		       resp.docker_digest ? " " : "", resp.docker_digest ? resp.docker_digest : "");
		ret = 0;
	} else if (resp.status == 404) {
		err_set(e, ERR_NOTFOUND, "%s: manifest unknown (HTTP 404)", name);
	} else if (resp.status == 403) {
		err_set(e, ERR_AUTH, "%s: access denied (HTTP 403) with the credential from %s", name,
			s->cred_source ? s->cred_source : "nowhere (anonymous)");
	} else {
		err_set(e, ERR_NETWORK, "%s: manifest request answered HTTP %ld", name, resp.status);
	}
	http_resp_release(&resp);
out:
	oci_ref_release(&ref);
	return ret;
}

int cmd_auth(int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_ACCESS_OPTIONS,
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_access acc = {0};
	acc.http.retries = 3;
	struct err e;
	err_clear(&e);
	int verbose = 0, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		if (ch == 'v') {
			verbose++;
		} else if (ch == 'h') {
			usage(stdout);
			cmd_access_release(&acc);
			return 0;
		} else {
			int r = cmd_access_option(&acc, ch, optarg, &e);
			if (r == 0)
				err_set(&e, ERR_USAGE, "unknown or incomplete option '%s' (see 'imgpull help auth')",
					argv[optind - 1]);
			if (r <= 0) {
				cmd_access_release(&acc);
				return cmd_fail(&e);
			}
		}
	}
	log_set_level(verbose >= 2 ? LOG_DEBUG : verbose == 1 ? LOG_INFO : LOG_WARN);
	if (cmd_access_finish(&acc, &e) < 0 ||
	    (optind >= argc && err_set(&e, ERR_USAGE, "no image given (see 'imgpull help auth')") < 0)) {
		cmd_access_release(&acc);
		return cmd_fail(&e);
	}
	struct pull_registries regs;
	pull_registries_init(&regs, &acc.http, &acc.store, &acc.kinds);
	int ret = 0;
	for (int i = optind; i < argc; i++) {
		err_clear(&e);
		if (check_image(&regs, argv[i], &e) < 0) {
			fflush(stdout);
			int code = cmd_fail(&e);
			if (!ret)
				ret = code; // the first failure decides; the rest are still shown
		}
	}
	pull_registries_release(&regs);
	cmd_access_release(&acc);
	return ret;
}
