// SPDX-License-Identifier: Apache-2.0
// A cursor parser over a byte range that never allocates and never reads past
// end. Used for headers and other untrusted text.
#ifndef IMGPULL_UTIL_STRPARSE_H
#define IMGPULL_UTIL_STRPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strparse {
	const char *p;
	const char *end;
};

struct strparse_str {
	const char *p;
	size_t len;
};

void strparse_init(struct strparse *s, const char *p, size_t len);
void strparse_init_str(struct strparse *s, const char *str);
bool strparse_eof(const struct strparse *s);
size_t strparse_left(const struct strparse *s);
// Next byte, or -1 at end.
int strparse_peek(const struct strparse *s);
// Consumes c if it is next.
bool strparse_char(struct strparse *s, char c);
// Consumes the literal if it is next (case-sensitive / insensitive).
bool strparse_lit(struct strparse *s, const char *lit);
bool strparse_lit_ci(struct strparse *s, const char *lit);
// Skips spaces and horizontal tabs.
void strparse_ws(struct strparse *s);
// Consumes the longest run of bytes for which accept() is true; returns its length.
size_t strparse_span(struct strparse *s, bool (*accept)(int c), struct strparse_str *out);
// Decimal unsigned integer, at least one digit, no sign, overflow-checked.
int strparse_u64(struct strparse *s, uint64_t *out);

// A host as a registry or curl names it: a name or IPv4 address (letters,
// digits, '.', '-', '_'), or an IPv6 address in brackets; false (nothing
// consumed) if there is none.
bool strparse_host(struct strparse *s, struct strparse_str *out);
// A TCP port: 1..65535 in decimal (at most 5 digits); -1 (nothing consumed) otherwise.
int strparse_port(struct strparse *s, unsigned *out);
// HOST or HOST:PORT, nothing else (--plain-http, a registry's name).
bool strparse_hostport_valid(const char *v);
// curl's HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT (--connect-to): each host
// may be empty (any host; the same host), each port too (any port; the same
// port); a port given is 1..65535.
bool strparse_connect_to_valid(const char *v);

bool strparse_is_digit(int c);
// The value of a hex digit (either case), or -1.
int strparse_hexval(int c);
// s for a one-line message, into out (at least 4 * max + 4 bytes): '"' and
// '\\' escaped with a backslash, control and non-ASCII bytes as \xHH, cut after max
// bytes of s with "..." added. Returns out.
char *strparse_quote(char *out, const char *s, size_t max);
bool strparse_is_tchar(int c); // RFC 7230 token character
bool strparse_str_eq(struct strparse_str a, const char *b);
bool strparse_str_eq_ci(struct strparse_str a, const char *b);

#endif
