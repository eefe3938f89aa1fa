// SPDX-License-Identifier: Apache-2.0
#include "util/strparse.h"

#include <string.h>
#include <strings.h>

void strparse_init(struct strparse *s, const char *p, size_t len)
{
	s->p = p;
	s->end = p + len;
}

void strparse_init_str(struct strparse *s, const char *str)
{
	strparse_init(s, str, strlen(str));
}

bool strparse_eof(const struct strparse *s)
{
	return s->p >= s->end;
}

size_t strparse_left(const struct strparse *s)
{
	return (size_t)(s->end - s->p);
}

int strparse_peek(const struct strparse *s)
{
	return strparse_eof(s) ? -1 : (unsigned char)*s->p;
}

bool strparse_char(struct strparse *s, char c)
{
	if (strparse_eof(s) || *s->p != c)
		return false;
	s->p++;
	return true;
}

bool strparse_lit(struct strparse *s, const char *lit)
{
	size_t n = strlen(lit);
	if (strparse_left(s) < n || memcmp(s->p, lit, n) != 0)
		return false;
	s->p += n;
	return true;
}

bool strparse_lit_ci(struct strparse *s, const char *lit)
{
	size_t n = strlen(lit);
	if (strparse_left(s) < n || strncasecmp(s->p, lit, n) != 0)
		return false;
	s->p += n;
	return true;
}

void strparse_ws(struct strparse *s)
{
	while (!strparse_eof(s) && (*s->p == ' ' || *s->p == '\t'))
		s->p++;
}

size_t strparse_span(struct strparse *s, bool (*accept)(int c), struct strparse_str *out)
{
	const char *start = s->p;
	while (!strparse_eof(s) && accept((unsigned char)*s->p))
		s->p++;
	if (out) {
		out->p = start;
		out->len = (size_t)(s->p - start);
	}
	return (size_t)(s->p - start);
}

int strparse_u64(struct strparse *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *start = s->p;
	while (!strparse_eof(s) && strparse_is_digit((unsigned char)*s->p)) {
		unsigned d = (unsigned)(*s->p - '0');
		if (v > (UINT64_MAX - d) / 10) {
			s->p = start;
			return -1;
		}
		v = v * 10 + d;
		s->p++;
	}
	if (s->p == start)
		return -1;
	*out = v;
	return 0;
}

bool strparse_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

int strparse_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *strparse_quote(char *out, const char *s, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;
	for (i = 0; s[i] && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 0xf];
		} else {
			out[o++] = (char)ch;
		}
	}
	if (s[i]) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

bool strparse_is_tchar(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || strparse_is_digit(c))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool strparse_str_eq(struct strparse_str a, const char *b)
{
	return strlen(b) == a.len && memcmp(a.p, b, a.len) == 0;
}

bool strparse_str_eq_ci(struct strparse_str a, const char *b)
{
	return strlen(b) == a.len && strncasecmp(a.p, b, a.len) == 0;
}

static bool is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || strparse_is_digit(c) || c == '.' || c == '-' ||
	       c == '_';
}

static bool is_ipv6_char(int c)
{
	return strparse_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

bool strparse_host(struct strparse *s, struct strparse_str *out)
{
	const char *start = s->p;
	if (strparse_char(s, '[')) {
		if (!strparse_span(s, is_ipv6_char, NULL) || !strparse_char(s, ']')) {
			s->p = start;
			return false;
		}
	} else if (!strparse_span(s, is_name_char, NULL)) {
		return false;
	}
	if (out) {
		out->p = start;
		out->len = (size_t)(s->p - start);
	}
	return true;
}

int strparse_port(struct strparse *s, unsigned *out)
{
	const char *start = s->p;
	uint64_t v;
	if (strparse_u64(s, &v) < 0 || s->p - start > 5 || v < 1 || v > 65535) {
		s->p = start;
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

bool strparse_hostport_valid(const char *v)
{
	struct strparse s;
	unsigned port;
	strparse_init_str(&s, v);
	if (!strparse_host(&s, NULL))
		return false;
	if (strparse_char(&s, ':') && strparse_port(&s, &port) < 0)
		return false;
	return strparse_eof(&s);
}

bool strparse_connect_to_valid(const char *v)
{
	struct strparse s;
	unsigned port;
	strparse_init_str(&s, v);
	for (int field = 0; field < 2; field++) {
		strparse_host(&s, NULL); // empty: any host (then: the same host)
		if (!strparse_char(&s, ':'))
			return false;
		if (strparse_is_digit(strparse_peek(&s)) && strparse_port(&s, &port) < 0)
			return false; // absent: any port (then: the same port)
		if (field == 0 && !strparse_char(&s, ':'))
			return false;
	}
	return strparse_eof(&s);
}
