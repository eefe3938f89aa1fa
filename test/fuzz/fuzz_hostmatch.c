// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for credential keys (from mounted secrets) and their matching
// against image hosts and paths. Input: KEY NUL HOST NUL PATH. Checks the
// contract: a key that parses matches only through auth_host_key_match, the
// one-call form agrees with it, and the display form stays printable and short.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/creds.h"
#include "auth/hostmatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 3);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = s[size + 1] = s[size + 2] = '\0';
	const char *key = s;
	const char *host = key + strlen(key) + 1;
	const char *path = host <= s + size ? host + strlen(host) + 1 : s + size + 2;
	if (host > s + size + 1)
		host = s + size + 1;

	struct auth_host_key k;
	bool m = false;
	if (auth_host_key_parse(&k, key) == 0) {
		m = auth_host_key_match(&k, host, path);
		if (auth_host_key_cmp(&k, &k) != 0)
			abort();
		auth_host_key_release(&k);
	}
	if (auth_host_match(key, host, path) != m)
		abort();
	(void)auth_glob_match(key, host);
	char *d = auth_key_display(key);
	for (const char *c = d; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			abort();
	if (strlen(d) > 256)
		abort();
	free(d);
	free(s);
	return 0;
}
