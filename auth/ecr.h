// SPDX-License-Identifier: Apache-2.0
// AWS ECR token APIs: GetAuthorizationToken for a private registry (service
// "ecr", token used as Basic) and for ECR public (service "ecr-public" in
// us-east-1, token used as Bearer), both SigV4-signed with the IAM key from
// the secret. Endpoints honour AWS_ENDPOINT_URL_ECR(_PUBLIC) and AWS_ENDPOINT_URL.
#ifndef IMGPULL_AUTH_ECR_H
#define IMGPULL_AUTH_ECR_H

#include "auth/cloudapi.h"
#include "auth/kind.h"

// The regional API endpoint for a private registry (FIPS, China, dual-stack aware), malloc'd.
char *ecr_api_endpoint(const struct kind_info *ri);
// key: username ACCESS_KEY_ID, password SECRET_ACCESS_KEY. On success out->cred is
// the registry's AWS:password pair.
int ecr_get_token(const struct http_config *cfg, const struct kind_info *ri, const struct auth_cred *key,
		  struct auth_exchange *out, struct err *e);
// On success out->bearer is the token.
// A GetAuthorizationToken answer (authorizationData an array, as the private
// API sends it, or an object, as the public one does) into out: for the
// private API a credential (its token is base64 "AWS:password"), for the public
// one a bearer token; expiresAt (epoch seconds or a date) or 12 hours. ERR_AUTH
// naming api when unusable; the token is never quoted. source names the key.
int ecr_answer_parse(struct cJSON *root, bool public_api, const char *api, const char *source,
		     struct auth_exchange *out, struct err *e);
int ecr_public_get_token(const struct http_config *cfg, const struct auth_cred *key,
			 struct auth_exchange *out, struct err *e);

#endif
