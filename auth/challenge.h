// SPDX-License-Identifier: Apache-2.0
// WWW-Authenticate parsing (RFC 7235): a scheme token followed by auth-params,
// values either tokens or quoted strings with backslash escapes. Quoted values
// may contain commas, so the header is never split on commas blindly. Several
// challenges may share one header line or arrive on several lines.
#ifndef IMGPULL_AUTH_CHALLENGE_H
#define IMGPULL_AUTH_CHALLENGE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

struct auth_param {
	char *key;   // as received; compare case-insensitively
	char *value; // unescaped
};

struct auth_challenge {
	char *scheme; // as received; compare case-insensitively ("Bearer", "Basic")
	struct auth_param *params;
	size_t nparams;
};

struct auth_challenges {
	struct auth_challenge *v;
	size_t n;
};

// Parses one header value and appends its challenges to out. A token68
// credential form (e.g. "Negotiate abc==") is kept as a scheme with no params.
// Malformed input: -1, ERR_AUTH, message names the problem (never echoes the value
// beyond 64 characters). At most 16 challenges and 32 params each are accepted.
int auth_challenge_parse(struct auth_challenges *out, const char *value, struct err *e);
// Parses each of n header values (as the transport collected them) into out;
// true if every one parsed. Malformed lines are skipped, the others kept.
bool auth_challenge_parse_lines(struct auth_challenges *out, char *const *lines, size_t n);
// The challenge to answer: Bearer over Basic; NULL if neither is offered.
const struct auth_challenge *auth_challenges_pick(const struct auth_challenges *c);
// Value of a param (key compared case-insensitively), or NULL.
const char *auth_challenge_param(const struct auth_challenge *c, const char *key);
void auth_challenges_release(struct auth_challenges *c);

#endif
