// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the cloud token APIs' answers: ECR GetAuthorizationToken
// (private: a base64 "AWS:password" credential; public: a bearer token) and
// Volcano Engine GetAuthorizationToken. The first byte picks the API, the rest
// is the answer's JSON. Checks the contract: on success a user name or token
// with no CR/LF, and an expiry; on failure ERR_AUTH with one line that never
// holds the answer's token.
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/ecr.h"
#include "auth/volcengine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s)
{
	if (!s || !*s || strpbrk(s, "\r\n"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	int api = data[0] % 3;
	cJSON *root = cJSON_ParseWithLength((const char *)data + 1, size - 1);
	struct auth_exchange x;
	struct err e = {0};
	int r = api == 2 ? volcengine_answer_parse(root, "volc", "key", &x, &e)
			 : ecr_answer_parse(root, api == 1, "ecr", "key", &x, &e);
	if (r == 0) {
		if (!auth_exchange_held(&x) || x.expires <= 0)
			abort();
		if (api == 1) {
			check_text(x.bearer);
		} else {
			// The password may hold any byte: it only ever travels base64'd
			// (Basic) or in a protobuf field (containerd's CRI).
			check_text(x.cred.username);
			if (!x.cred.password)
				abort();
		}
		auth_exchange_release(&x);
	} else if (e.cls != ERR_AUTH || !e.msg[0] || strchr(e.msg, '\n')) {
		abort();
	}
	cJSON_Delete(root);
	return 0;
}
