// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for WWW-Authenticate parsing. Not built by default; e.g.
//   clang -std=gnu11 -D_GNU_SOURCE -I. -g -fsanitize=fuzzer,address,undefined \
//     test/fuzz/fuzz_challenge.c auth/challenge.c util/*.c -o fuzz_challenge
// Besides crashes and sanitizer reports it checks the parser's contract, so a
// fuzzer-found violation aborts instead of passing silently.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/challenge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	// Header values arrive NUL-terminated; an embedded NUL just ends the value.
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	struct auth_challenges c = { 0 };
	struct err e = { 0 };
	if (auth_challenge_parse(&c, s, &e) == 0) {
		if (c.n == 0 || c.n > 16)
			abort();
		for (size_t i = 0; i < c.n; i++) {
			if (!c.v[i].scheme[0] || c.v[i].nparams > 32)
				abort();
			for (size_t j = 0; j < c.v[i].nparams; j++)
				if (!c.v[i].params[j].key[0] || !c.v[i].params[j].value)
					abort();
		}
		const struct auth_challenge *p = auth_challenges_pick(&c);
		if (p)
			(void)auth_challenge_param(p, "realm");
		// A second line appends after the first.
		size_t n = c.n;
		if (auth_challenge_parse(&c, s, &e) == 0 ? c.n != 2 * n : c.n != n)
			abort();
	} else if (e.cls != ERR_AUTH || !e.msg[0] || c.n != 0 || c.v) {
		abort();
	}
	auth_challenges_release(&c);
	free(s);
	return 0;
}
