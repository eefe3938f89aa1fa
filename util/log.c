// SPDX-License-Identifier: Apache-2.0
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	if (lvl > level)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char line[2048];
	int n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld imgpull %s: ", tm.tm_hour,
			 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[lvl]);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&lock);
	fprintf(stderr, "%s\n", line);
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
