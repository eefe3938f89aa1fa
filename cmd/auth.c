// SPDX-License-Identifier: Apache-2.0
// imgpull auth: for operators debugging an init container that cannot pull.
// Resolves each image's credential and token exactly as pull would, fetches its
// manifest to prove the token grants pull access, and prints where everything
// came from (file and entry, never a value) and when the token expires.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/access.h"
#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "oci/manifest.h"
#include "oci/ref.h"
#include "pull/registry.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timefmt.h"

enum { O_LOGFMT = 256 };

static const struct cmd_opt auth_opt_table[] = {
	CMD_ACCESS_OPTS,
	{"log-format", O_LOGFMT, "FORMAT", "auto, json or text, for messages on stderr (default auto)", 0},
	{"verbose", 'v', NULL, "diagnostic log on stderr (twice: debug)", CMD_OPT_COUNT},
	{"help", 'h', NULL, "show this help", CMD_OPT_NOENV},
};
static const struct cmd_opts auth_opts = {auth_opt_table, sizeof(auth_opt_table) / sizeof(auth_opt_table[0]), "auth"};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: imgpull auth [OPTIONS] IMAGE...\n\n"
		"Obtains a registry token for each image's repository without pulling, checks it\n"
		"by fetching the manifest, and shows how: registry kind, matching secret entry,\n"
		"auth scheme, token expiry. Exit status as for pull. Without an IMAGE argument,\n"
		"the images come from $IMGPULL_IMAGES.\n\n");
	cmd_opts_usage(f, &auth_opts);
}

struct auth_cli {
	struct cmd_access acc;
	int verbose;
};

static int auth_option(void *ud, int id, const char *arg, struct err *e)
{
	struct auth_cli *c = ud;
	if (id == 'v') {
		c->verbose++;
		return 0;
	}
	if (id == O_LOGFMT)
		return cmd_check_log_format(arg, e);
	return cmd_access_option(&c->acc, id, arg, e) < 0 ? -1 : 0;
}

static void print_expiry(const char *what, time_t expires, const char *note)
{
	char when[32];
	timefmt_rfc3339(expires, when, sizeof(when));
	printf("  %-11s valid %lds, until %s%s\n", what, (long)(expires - time(NULL)), when, note);
}

// Where the registry sends us for access, and how it was recognised.
static void print_session(const struct auth_session *s, const char *registry)
{
	printf("  %-11s %s\n", "registry", registry);
	printf("  %-11s %s (from %s%s%s)\n", "kind", kind_name(s->info.kind), s->info.why,
	       s->info.label ? ", " : "", s->info.label ? s->info.label : "");
	if (s->scheme == AUTH_BEARER)
		printf("  %-11s bearer, realm %s, service %s\n", "scheme", s->realm, s->service ? s->service : "(none)");
	else
		printf("  %-11s %s%s\n", "scheme", auth_scheme_name(s->scheme),
		       s->scheme == AUTH_NONE ? " (anonymous access)" : "");
}

// The credential for path, then the token it buys and when that expires.
static int check_token(struct auth_session *s, const char *path, struct err *e)
{
	_cleanup_free_ char *authz = NULL;
	int r = auth_session_header(s, path, &authz, e);
	printf("  %-11s %s\n", "credential", s->cred_source ? s->cred_source : "none matched: anonymous");
	if (authz)
		explicit_bzero(authz, strlen(authz));
	if (r < 0)
		return -1;
	if (auth_exchange_held(&s->xch))
		print_expiry("api token", s->xch.expires, " (from the registry's GetAuthorizationToken API)");
	long ttl = auth_session_token_ttl(s, path);
	if (s->scheme == AUTH_NONE)
		printf("  %-11s not needed\n", "token");
	else if (ttl > 0)
		print_expiry("token", time(NULL) + ttl, "");
	else
		printf("  %-11s %s credential on every request (no expiry)\n", "token",
		       s->scheme == AUTH_BASIC ? "basic" : "the");
	return 0;
}

// The manifest GET that proves the token grants pull access; name is the
// reference as printed.
static int check_manifest(struct pull_repo *repo, const struct oci_ref *ref, const char *name, struct err *e)
{
	const struct auth_session *s = &repo->reg->auth;
	const char *reference = ref->digest ? ref->digest : ref->tag;
	_cleanup_free_ char *suffix = xasprintf("/manifests/%s", reference);
	struct http_resp resp;
	int ret = -1;
	if (pull_repo_get(repo, suffix, OCI_MANIFEST_ACCEPT, OCI_MANIFEST_MAX, &resp, e) < 0)
		return -1;
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
	return ret;
}

// Token, then a manifest GET with it; prints as it learns.
static int check_image(struct pull_registries *regs, const char *refstr, struct err *e)
{
	struct oci_ref ref = {0};
	if (oci_ref_parse(&ref, refstr, e) < 0)
		return -1;
	_cleanup_free_ char *name = oci_ref_string(&ref);
	int ret = -1;
	struct pull_repo repo = {.path = ref.path};
	printf("%s\n", name);
	repo.reg = pull_registries_get(regs, ref.registry, e);
	if (!repo.reg || auth_session_probe(&repo.reg->auth, e) < 0)
		goto out;
	print_session(&repo.reg->auth, ref.registry);
	if (check_token(&repo.reg->auth, ref.path, e) < 0)
		goto out;
	ret = check_manifest(&repo, &ref, name, e);
out:
	oci_ref_release(&ref);
	return ret;
}

struct image_list {
	char **v;
	size_t n;
};

static int add_image(void *ud, const char *item, struct err *e)
{
	(void)e;
	struct image_list *l = ud;
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(char *));
	l->v[l->n++] = xstrdup(item);
	return 0;
}

int cmd_auth(int argc, char **argv)
{
	struct auth_cli c = {0};
	c.acc.http.retries = 3;
	struct err e;
	struct image_list imgs = {0};
	int first, ret = 0;
	int r = cmd_opts_parse(&auth_opts, argc, argv, auth_option, &c, &first, &e);
	if (r == 1) {
		usage(stdout);
		goto out;
	}
	log_set_level(c.verbose >= 2 ? LOG_DEBUG : c.verbose == 1 ? LOG_INFO : LOG_WARN);
	for (int i = first; i < argc; i++)
		add_image(&imgs, argv[i], &e);
	const char *env = getenv("IMGPULL_IMAGES");
	if (r == 0 && !imgs.n && env && *env)
		cmd_opts_split(env, false, add_image, &imgs, &e);
	if (r < 0 || cmd_access_finish(&c.acc, &e) < 0 ||
	    (!imgs.n && err_set(&e, ERR_USAGE, "no image given, as arguments or in IMGPULL_IMAGES (see 'imgpull help auth')") < 0)) {
		ret = cmd_fail(&e);
		goto out;
	}
	struct pull_registries regs;
	pull_registries_init(&regs, &c.acc.http, &c.acc.store, &c.acc.kinds);
	for (size_t i = 0; i < imgs.n; i++) {
		err_clear(&e);
		if (check_image(&regs, imgs.v[i], &e) < 0) {
			fflush(stdout);
			int code = cmd_fail(&e);
			if (!ret)
				ret = code; // the first failure decides; the rest are still shown
		}
	}
	pull_registries_release(&regs);
out:
	for (size_t i = 0; i < imgs.n; i++)
		free(imgs.v[i]);
	free(imgs.v);
	cmd_access_release(&c.acc);
	return ret;
}
