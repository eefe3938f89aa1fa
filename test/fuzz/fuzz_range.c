// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for Content-Range parsing. Not built by default; e.g.
//   clang -std=gnu11 -D_GNU_SOURCE -I. -g -fsanitize=fuzzer,address,undefined \
//     test/fuzz/fuzz_range.c pull/range.c util/*.c -o fuzz_range
// Besides crashes and sanitizer reports it checks the parser's contract: an
// accepted range is consistent, a rejected one leaves the outputs alone.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pull/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	uint64_t first = 1, last = 0, total = 0;
	struct err e = { 0 };
	if (pull_content_range_parse(s, &first, &last, &total, &e) == 0) {
		if (first > last || last == UINT64_MAX ||
		    (total != PULL_RANGE_TOTAL_UNKNOWN && last >= total))
			abort();
	} else if (e.cls != ERR_NETWORK || !e.msg[0] || first != 1 || last != 0 || total != 0) {
		abort();
	}
	free(s);
	return 0;
}
