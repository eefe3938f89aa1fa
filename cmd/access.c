// SPDX-License-Identifier: Apache-2.0
#include "cmd/access.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth/secret.h"
#include "cmd/cmd.h"
#include "util/mem.h"
#include "util/strparse.h"

extern char **environ;

// HOST[:PORT] as it stands in an image reference: no scheme, path or blanks,
// a port 1..65535.
static int check_hostport(const char *opt, const char *v, struct err *e)
{
	if (cmd_check_value(opt, v, e) < 0)
		return -1;
	if (!strparse_hostport_valid(v))
		return err_set(e, ERR_USAGE, "%s wants HOST[:PORT] (a port 1..65535; IPv6 in brackets), not '%.200s'",
			       opt, v);
	return 0;
}

// The option's name for messages; NULL when opt is not an access option.
static const char *access_option_name(int opt)
{
	static const char *const names[] = {
		[ACCESS_O_CREDS - ACCESS_O_CREDS] = "--creds",
		[ACCESS_O_AUTHFILE - ACCESS_O_CREDS] = "--authfile",
		[ACCESS_O_SECRET - ACCESS_O_CREDS] = "--secret",
		[ACCESS_O_KIND - ACCESS_O_CREDS] = "--registry-kind",
		[ACCESS_O_CA - ACCESS_O_CREDS] = "--ca-file",
		[ACCESS_O_PLAIN - ACCESS_O_CREDS] = "--plain-http",
		[ACCESS_O_CONNECT_TO - ACCESS_O_CREDS] = "--connect-to",
		[ACCESS_O_POLICY - ACCESS_O_CREDS] = "--policy",
		[ACCESS_O_HOSTS_DIR - ACCESS_O_CREDS] = "--hosts-dir",
	};
	if (opt < ACCESS_O_CREDS || opt > ACCESS_O_HOSTS_DIR)
		return NULL;
	return names[opt - ACCESS_O_CREDS];
}

// The check of the value that comes before its option's own.
static int access_check_value(int opt, const char *name, const char *arg, struct err *e)
{
	if (opt == ACCESS_O_PLAIN) {
		if (check_hostport(name, arg, e) < 0)
			return -1;
	} else if (opt != ACCESS_O_CREDS && opt != ACCESS_O_HOSTS_DIR && cmd_check_value(name, arg, e) < 0) {
		return -1; // --creds has its own check, which never shows the value
	}
	return 0;
}

static int access_connect_to(struct cmd_access *a, const char *arg, struct err *e)
{
	// HOST:PORT:CONNECT-HOST:CONNECT-PORT; bracketed IPv6 allowed.
	if (!strparse_connect_to_valid(arg))
		return err_set(e, ERR_USAGE,
			       "--connect-to must be HOST:PORT:CONNECT_HOST:CONNECT_PORT (ports 1..65535; IPv6 in "
			       "brackets), not '%.200s'", arg);
	a->http.connect_to = curl_slist_append(a->http.connect_to, arg);
	return 1;
}

// Read now: a policy imgpull cannot honour fails before any request.
static int access_policy(struct cmd_access *a, const char *name, const char *arg, struct err *e)
{
	if (a->has_policy)
		return err_set(e, ERR_USAGE, "--policy given twice");
	if (cmd_check_input(name, arg, e) < 0 || policy_load(&a->policy, arg, e) < 0)
		return -1;
	a->has_policy = true;
	return 1;
}

int cmd_access_option(struct cmd_access *a, int opt, const char *arg, struct err *e)
{
	const char *name = access_option_name(opt);
	if (!name)
		return 0;
	if (access_check_value(opt, name, arg, e) < 0)
		return -1;
	switch (opt) {
	case ACCESS_O_CREDS:
		return auth_store_add_static(&a->store, arg, e) < 0 ? -1 : 1;
	case ACCESS_O_AUTHFILE:
		return auth_store_add_authfile(&a->store, arg, e) < 0 ? -1 : 1;
	case ACCESS_O_SECRET:
		return auth_store_add_secret(&a->store, arg, e) < 0 ? -1 : 1;
	case ACCESS_O_KIND:
		return kind_table_add_override(&a->kinds, arg, e) < 0 ? -1 : 1;
	case ACCESS_O_CA: // read now: a file with no certificate fails before any request
		if (cmd_check_input(name, arg, e) < 0) // never waits on a FIFO
			return -1;
		return http_ca_add(&a->http, arg, e) < 0 ? -1 : 1;
	case ACCESS_O_PLAIN:
		a->http.plain_hosts = xrealloc(a->http.plain_hosts, (a->http.nplain + 1) * sizeof(char *));
		a->http.plain_hosts[a->http.nplain++] = xstrdup(arg);
		return 1;
	case ACCESS_O_CONNECT_TO:
		return access_connect_to(a, arg, e);
	case ACCESS_O_HOSTS_DIR: // '' turns the default off
		a->hosts_dir = *arg ? arg : NULL;
		a->hosts_dir_given = true;
		return 1;
	case ACCESS_O_POLICY:
		return access_policy(a, name, arg, e);
	default:
		return 0;
	}
}

int cmd_access_finish(struct cmd_access *a, struct err *e)
{
	kind_table_load_env(&a->kinds, environ);
	struct stat st;
	if (!a->hosts_dir_given && stat(CMD_HOSTS_DIR_DEFAULT, &st) == 0 && S_ISDIR(st.st_mode))
		a->hosts_dir = CMD_HOSTS_DIR_DEFAULT; // what the node's containerd reads
	if (a->hosts_dir && (stat(a->hosts_dir, &st) < 0 || !S_ISDIR(st.st_mode)))
		return err_set(e, ERR_USAGE, "--hosts-dir '%.200s' is not a directory", a->hosts_dir);
	return 0;
}

void cmd_access_release(struct cmd_access *a)
{
	auth_store_release(&a->store);
	kind_table_release(&a->kinds);
	if (a->has_policy)
		policy_release(&a->policy);
	curl_slist_free_all(a->http.connect_to);
	http_ca_release(&a->http);
	for (size_t i = 0; i < a->http.nplain; i++)
		free(a->http.plain_hosts[i]);
	free(a->http.plain_hosts);
	memset(a, 0, sizeof(*a));
}
