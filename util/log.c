// SPDX-License-Identifier: Apache-2.0
#include "util/log.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level level = LOG_WARN;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level lvl)
{
	level = lvl;
}

enum log_level log_get_level(void)
{
	return level;
}

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static bool json_lines;

int log_format_parse(const char *s, enum log_format *out)
{
	static const struct { const char *n; enum log_format f; } names[] = {
		{"auto", LOG_FORMAT_AUTO}, {"json", LOG_FORMAT_JSON}, {"text", LOG_FORMAT_TEXT}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].n) == 0) {
			*out = names[i].f;
			return 0;
		}
	}
	return -1;
}

void log_set_format(enum log_format f)
{
	json_lines = f == LOG_FORMAT_JSON || (f == LOG_FORMAT_AUTO && !isatty(STDERR_FILENO));
}

bool log_json(void)
{
	return json_lines;
}

void log_record(enum log_level lvl, const char *msg, cJSON *fields)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[96];
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ts", when);
	cJSON_AddStringToObject(o, "level", level_names[lvl]);
	cJSON_AddStringToObject(o, "msg", msg);
	if (fields) {
		cJSON *f = fields->child;
		while (f) {
			cJSON *next = f->next;
			cJSON_DetachItemViaPointer(fields, f);
			if (!cJSON_GetObjectItemCaseSensitive(o, f->string))
				cJSON_AddItemToObject(o, f->string, f);
			else
				cJSON_Delete(f);
			f = next;
		}
		cJSON_Delete(fields);
	}
	char *line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!line)
		return;
	pthread_mutex_lock(&lock);
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
	pthread_mutex_unlock(&lock);
	free(line);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	if (lvl > level)
		return;
	char text[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (json_lines) {
		log_record(lvl, text, NULL);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	pthread_mutex_lock(&lock);
	fprintf(stderr, "%02d:%02d:%02d.%03ld imgpull %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, level_names[lvl], text);
	pthread_mutex_unlock(&lock);
}

void log_redact_url(const char *url, char *out, size_t outlen)
{
	if (!outlen)
		return;
	const char *scheme_end = strstr(url, "://");
	const char *host = scheme_end ? scheme_end + 3 : url;
	size_t hostlen = strcspn(host, "/?#");
	const char *at = memchr(host, '@', hostlen);
	size_t qlen = strcspn(url, "?#");
	if (at) {
		snprintf(out, outlen, "%.*s%.*s", (int)(host - url), url, (int)(qlen - (size_t)(at + 1 - url)), at + 1);
	} else {
		snprintf(out, outlen, "%.*s", (int)qlen, url);
	}
	if (url[qlen] == '?' && strlen(out) + 12 < outlen)
		strcat(out, "?<redacted>");
}
