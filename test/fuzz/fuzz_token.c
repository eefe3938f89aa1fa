// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for a token endpoint's answer (distribution's token auth,
// OAuth2 access_token). Checks the contract: a token is "Bearer " and one line,
// its lifetime within 60..86400 seconds.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = NULL;
	long life = -1;
	if (auth_token_answer_parse((const char *)data, size, &value, &life) == 0) {
		if (!value || strncmp(value, "Bearer ", 7) != 0 || !value[7] || strpbrk(value, "\r\n") ||
		    life < 60 || life > 86400)
			abort();
	} else if (value) {
		abort();
	}
	free(value);
	return 0;
}
