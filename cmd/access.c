// SPDX-License-Identifier: Apache-2.0
#include "cmd/access.h"

#include <stdlib.h>
#include <string.h>

#include "auth/secret.h"
#include "cmd/cmd.h"
#include "util/mem.h"

extern char **environ;

static int add_secret(struct cmd_access *a, const char *path, struct err *e)
{
	a->have_secret = true;
	return auth_store_add_secret(&a->store, path, e);
}

// HOST[:PORT] as it stands in an image reference: no scheme, path or blanks.
static int check_hostport(const char *opt, const char *v, struct err *e)
{
	if (cmd_check_value(opt, v, e) < 0)
		return -1;
	if (strpbrk(v, "/ \t@?#") || *v == ':')
		return err_set(e, ERR_USAGE, "%s wants HOST[:PORT], not '%.200s'", opt, v);
	return 0;
}

int cmd_access_option(struct cmd_access *a, int opt, const char *arg, struct err *e)
{
	static const char *const names[] = {
		[ACCESS_O_CREDS - ACCESS_O_CREDS] = "--creds",
		[ACCESS_O_AUTHFILE - ACCESS_O_CREDS] = "--authfile",
		[ACCESS_O_SECRET - ACCESS_O_CREDS] = "--secret",
		[ACCESS_O_KIND - ACCESS_O_CREDS] = "--registry-kind",
		[ACCESS_O_CA - ACCESS_O_CREDS] = "--ca-file",
		[ACCESS_O_PLAIN - ACCESS_O_CREDS] = "--plain-http",
		[ACCESS_O_CONNECT_TO - ACCESS_O_CREDS] = "--connect-to",
	};
	if (opt < ACCESS_O_CREDS || opt > ACCESS_O_CONNECT_TO)
		return 0;
	const char *name = names[opt - ACCESS_O_CREDS];
	if (opt == ACCESS_O_PLAIN) {
		if (check_hostport(name, arg, e) < 0)
			return -1;
	} else if (opt != ACCESS_O_CREDS && cmd_check_value(name, arg, e) < 0) {
		return -1; // --creds has its own check, which never shows the value
	}
	switch (opt) {
	case ACCESS_O_CREDS:
		return auth_store_add_static(&a->store, arg, e) < 0 ? -1 : 1;
	case ACCESS_O_AUTHFILE:
		return auth_store_add_authfile(&a->store, arg, e) < 0 ? -1 : 1;
	case ACCESS_O_SECRET:
		return add_secret(a, arg, e) < 0 ? -1 : 1;
	case ACCESS_O_KIND:
		return reg_kinds_add_override(&a->kinds, arg, e) < 0 ? -1 : 1;
	case ACCESS_O_CA:
		a->http.ca_file = arg;
		return 1;
	case ACCESS_O_PLAIN:
		a->http.plain_hosts = xrealloc(a->http.plain_hosts, (a->http.nplain + 1) * sizeof(char *));
		a->http.plain_hosts[a->http.nplain++] = (char *)arg;
		return 1;
	case ACCESS_O_CONNECT_TO: {
		// HOST:PORT:CONNECT-HOST:CONNECT-PORT; bracketed IPv6 allowed.
		int colons = 0;
		for (const char *s = arg; *s; s++)
			colons += *s == ':';
		if (colons < 3 || strpbrk(arg, " \t/"))
			return err_set(e, ERR_USAGE, "--connect-to must be HOST:PORT:CONNECT_HOST:CONNECT_PORT, not '%s'", arg);
		a->http.connect_to = curl_slist_append(a->http.connect_to, arg);
		return 1;
	}
	default:
		return 0;
	}
}

int cmd_access_finish(struct cmd_access *a, struct err *e)
{
	const char *env = getenv("IMGPULL_SECRET");
	if (!a->have_secret && env && *env) {
		// Several paths may be given, separated by ':'.
		_cleanup_free_ char *list = xstrdup(env);
		char *save = NULL;
		for (char *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
			if (cmd_check_value("a path in IMGPULL_SECRET", p, e) < 0)
				return -1;
			if (add_secret(a, p, e) < 0)
				return err_wrap(e, "IMGPULL_SECRET");
		}
	}
	reg_kinds_load_env(&a->kinds, environ);
	return 0;
}

void cmd_access_usage(FILE *f)
{
	fprintf(f,
		"  --secret PATH              mounted pull secret: a file or a directory (repeatable;\n"
		"                             default $IMGPULL_SECRET, ':'-separated)\n"
		"  --creds USER:PASS          credential for every registry\n"
		"  --authfile PATH            docker config.json with credentials\n"
		"  --registry-kind HOST=KIND  treat HOST as generic, custom, dockerhub, ecr, ecr-public,\n"
		"                             ngc, acr, volcengine, harbor or artifactory (repeatable)\n"
		"  --ca-file PATH             extra CA certificates (PEM)\n"
		"  --plain-http HOST[:PORT]   use http:// for this registry (repeatable)\n"
		"  --connect-to H:P:CH:CP     connect to CH:CP for H:P, as curl (repeatable)\n");
}

void cmd_access_release(struct cmd_access *a)
{
	auth_store_release(&a->store);
	reg_kinds_release(&a->kinds);
	curl_slist_free_all(a->http.connect_to);
	free(a->http.plain_hosts);
	memset(a, 0, sizeof(*a));
}
