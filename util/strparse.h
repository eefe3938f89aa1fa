// SPDX-License-Identifier: Apache-2.0
// A cursor parser over a byte range that never allocates and never reads past
// end. Used for headers and other untrusted text.
#ifndef IMGPULL_UTIL_STRPARSE_H
#define IMGPULL_UTIL_STRPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sp {
	const char *p;
	const char *end;
};

struct sp_str {
	const char *p;
	size_t len;
};

void sp_init(struct sp *s, const char *p, size_t len);
void sp_init_str(struct sp *s, const char *str);
bool sp_eof(const struct sp *s);
size_t sp_left(const struct sp *s);
// Next byte, or -1 at end.
int sp_peek(const struct sp *s);
// Consumes c if it is next.
bool sp_char(struct sp *s, char c);
// Consumes the literal if it is next (case-sensitive / insensitive).
bool sp_lit(struct sp *s, const char *lit);
bool sp_lit_ci(struct sp *s, const char *lit);
// Skips spaces and horizontal tabs.
void sp_ws(struct sp *s);
// Consumes the longest run of bytes for which accept() is true; returns its length.
size_t sp_span(struct sp *s, bool (*accept)(int c), struct sp_str *out);
// Decimal unsigned integer, at least one digit, no sign, overflow-checked.
int sp_u64(struct sp *s, uint64_t *out);

// A host as a registry or curl names it: a name or IPv4 address (letters,
// digits, '.', '-', '_'), or an IPv6 address in brackets; false (nothing
// consumed) if there is none.
bool sp_host(struct sp *s, struct sp_str *out);
// A TCP port: 1..65535 in decimal (at most 5 digits); -1 (nothing consumed) otherwise.
int sp_port(struct sp *s, unsigned *out);
// HOST or HOST:PORT, nothing else (--plain-http, a registry's name).
bool sp_hostport_valid(const char *v);
// curl's HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT (--connect-to): each host
// may be empty (any host; the same host), each port too (any port; the same
// port); a port given is 1..65535.
bool sp_connect_to_valid(const char *v);

bool sp_is_digit(int c);
// The value of a hex digit (either case), or -1.
int sp_hexval(int c);
// s for a one-line message, into out (at least 4 * max + 4 bytes): '"' and
// '\\' escaped with a backslash, control and non-ASCII bytes as \xHH, cut after max
// bytes of s with "..." added. Returns out.
char *sp_quote(char *out, const char *s, size_t max);
bool sp_is_tchar(int c); // RFC 7230 token character
bool sp_str_eq(struct sp_str a, const char *b);
bool sp_str_eq_ci(struct sp_str a, const char *b);

#endif
