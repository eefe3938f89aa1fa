// SPDX-License-Identifier: Apache-2.0
#include "cmd/opts.h"

#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/cmd.h"
#include "util/mem.h"

#define ENV_NAME_MAX 64
#define HELP_COLUMN 29

void cmd_opts_env_name(const char *name, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "IMGPULL_%s", name);
	for (size_t i = 8; i < n && i < len; i++)
		buf[i] = buf[i] == '-' ? '_' : (char)toupper((unsigned char)buf[i]);
}

int cmd_opts_split(const char *value, bool colon, int (*fn)(void *ud, const char *item, struct err *e),
		   void *ud, struct err *e)
{
	_cleanup_free_ char *copy = xstrdup(value);
	const char *seps = colon ? ", \t\r\n:" : ", \t\r\n";
	char *save = NULL;
	int items = 0;
	for (char *p = strtok_r(copy, seps, &save); p; p = strtok_r(NULL, seps, &save)) {
		items++;
		if (fn(ud, p, e) < 0)
			return -1;
	}
	return items ? 0 : -1;
}

// 1, 0, or -1 for a word that is neither.
static int parse_bool(const char *v)
{
	static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

struct list_ctx {
	cmd_opt_fn apply;
	void *ud;
	int id;
};

static int apply_item(void *ud, const char *item, struct err *e)
{
	struct list_ctx *c = ud;
	return c->apply(c->ud, c->id, item, e);
}

// The variable of option t, if set (and not empty).
static int apply_env(const struct cmd_opt *t, cmd_opt_fn apply, void *ud, struct err *e)
{
	char var[ENV_NAME_MAX];
	cmd_opts_env_name(t->name, var, sizeof(var));
	const char *v = getenv(var);
	if (!v || !*v)
		return 0;
	int r = 0;
	if (t->flags & CMD_OPT_COUNT) {
		int n;
		int b = parse_bool(v);
		if (b >= 0)
			n = b;
		else if (cmd_parse_int(v, 0, 9, &n) < 0)
			return err_set(e, ERR_USAGE, "%s must be a count 0..9 or a boolean, not '%.80s'", var, v);
		for (int i = 0; i < n && r == 0; i++)
			r = apply(ud, t->id, NULL, e);
	} else if (t->flags & CMD_OPT_OPTARG) {
		int b = parse_bool(v);
		if (b != 0)
			r = apply(ud, t->id, b == 1 ? NULL : v, e);
	} else if (!t->arg) {
		int b = parse_bool(v);
		if (b < 0)
			return err_set(e, ERR_USAGE, "%s must be true or false (1/0, yes/no, on/off), not '%.80s'", var, v);
		if (b)
			r = apply(ud, t->id, NULL, e);
	} else if (t->flags & CMD_OPT_LIST) {
		struct list_ctx c = {.apply = apply, .ud = ud, .id = t->id};
		r = cmd_opts_split(v, t->flags & CMD_OPT_COLON, apply_item, &c, e);
		if (r < 0 && e->cls == ERR_NONE)
			return err_set(e, ERR_USAGE, "%s must not be blank", var);
	} else {
		r = apply(ud, t->id, v, e);
	}
	return r < 0 ? err_wrap(e, "%s", var) : 0;
}

int cmd_opts_parse(const struct cmd_opts *o, int argc, char **argv, cmd_opt_fn apply, void *ud,
		   int *first, struct err *e)
{
	struct option *lo = xcalloc(o->n + 1, sizeof(*lo));
	bool *seen = xcalloc(o->n + 1, sizeof(*seen));
	char shorts[64] = "+";
	size_t ns = 1;
	for (size_t i = 0; i < o->n; i++) {
		const struct cmd_opt *t = &o->v[i];
		int has = t->flags & CMD_OPT_OPTARG ? optional_argument : t->arg ? required_argument : no_argument;
		lo[i] = (struct option){t->name, has, NULL, t->id};
		if (t->id < 256 && isalpha(t->id) && ns + 2 < sizeof(shorts)) {
			shorts[ns++] = (char)t->id;
			if (t->arg)
				shorts[ns++] = ':';
		}
	}
	shorts[ns] = '\0';
	err_clear(e);
	optind = 1;
	opterr = 0;
	int ch, ret = 0;
	while (ret == 0 && (ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		size_t i = 0;
		while (i < o->n && o->v[i].id != ch)
			i++;
		if (i == o->n) {
			ret = err_set(e, ERR_USAGE, "unknown or incomplete option '%s' (see 'imgpull help %s')",
				      argv[optind - 1], o->command);
			break;
		}
		if (ch == 'h') {
			ret = 1;
			break;
		}
		seen[i] = true;
		if (apply(ud, ch, optarg, e) < 0)
			ret = -1;
	}
	*first = optind;
	for (size_t i = 0; i < o->n && ret == 0; i++)
		if (!seen[i] && !(o->v[i].flags & CMD_OPT_NOENV))
			ret = apply_env(&o->v[i], apply, ud, e);
	free(lo);
	free(seen);
	return ret;
}

void cmd_opts_usage(FILE *f, const struct cmd_opts *o)
{
	for (size_t i = 0; i < o->n; i++) {
		const struct cmd_opt *t = &o->v[i];
		char head[64];
		const char *sep = t->flags & CMD_OPT_OPTARG ? "[=" : " ", *end = t->flags & CMD_OPT_OPTARG ? "]" : "";
		if (!t->arg)
			sep = end = "";
		if (t->id < 256 && isalpha(t->id))
			snprintf(head, sizeof(head), "-%c, --%s%s%s%s", t->id, t->name, sep, t->arg ? t->arg : "", end);
		else
			snprintf(head, sizeof(head), "--%s%s%s%s", t->name, sep, t->arg ? t->arg : "", end);
		int col = fprintf(f, "  %s", head);
		for (const char *h = t->help; *h;) {
			size_t len = strcspn(h, "\n");
			if (col >= HELP_COLUMN) { // a long head: the text starts on the next line
				fputc('\n', f);
				col = 0;
			}
			fprintf(f, "%*s%.*s\n", HELP_COLUMN - col, "", (int)len, h);
			col = 0;
			h += len + (h[len] == '\n');
		}
		if (!(t->flags & CMD_OPT_NOENV)) {
			char var[ENV_NAME_MAX];
			cmd_opts_env_name(t->name, var, sizeof(var));
			fprintf(f, "%*s$%s%s\n", HELP_COLUMN, "", var,
				t->flags & CMD_OPT_LIST ? " (a list)" : "");
		}
	}
}

const char *cmd_opts_early_value(int argc, char **argv, const char *name)
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
