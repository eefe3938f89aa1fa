// SPDX-License-Identifier: Apache-2.0
// Volcano Engine CR: the signed OpenAPI call GetAuthorizationToken for the
// instance named in the registry host, returning a username and a temporary
// password for the registry's own token flow. IMGPULL_VOLCENGINE_ENDPOINT
// overrides https://cr.{region}.volcengineapi.com.
#ifndef IMGPULL_AUTH_VOLCENGINE_H
#define IMGPULL_AUTH_VOLCENGINE_H

#include "auth/cloudapi.h"
#include "auth/kind.h"

// key: username ACCESS_KEY_ID, password SECRET_ACCESS_KEY.
// A GetAuthorizationToken answer (Result.Username, Result.Token, Result.ExpireTime)
// into out->cred; ERR_AUTH naming api when unusable. source names the key.
int volcengine_answer_parse(struct cJSON *root, const char *api, const char *source, struct auth_exchange *out,
			    struct err *e);
int volcengine_get_token(const struct http_config *cfg, const struct kind_info *ri,
			 const struct auth_cred *key, struct auth_exchange *out, struct err *e);

#endif
