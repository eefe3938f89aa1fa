// SPDX-License-Identifier: Apache-2.0
// What every command shares (cmd/cmd.h): the error exit, the parsers of option
// values and the checks of the paths options name.
#include "cmd/cmd.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

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

int cmd_check_log_format(const char *arg, struct err *e)
{
	enum log_format f;
	if (log_format_parse(arg, &f) < 0)
		return err_set(e, ERR_USAGE, "--log-format must be auto, json or text, not '%s'", arg);
	return 0;
}
