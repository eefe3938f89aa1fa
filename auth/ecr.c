// SPDX-License-Identifier: Apache-2.0
#include "auth/ecr.h"

#include <string.h>
#include <time.h>

#include "auth/sigv4.h"
#include "util/log.h"
#include "util/mem.h"

#define ECR_TOKEN_LIFE (12 * 3600) // when the answer has no usable expiresAt

char *ecr_api_endpoint(const struct kind_info *ri)
{
	if (ri->fips)
		return xasprintf("https://ecr-fips.%s.amazonaws.com", ri->region);
	if (!strcmp(ri->domain, "on.aws")) // dual-stack
		return xasprintf("https://ecr.%s.api.aws", ri->region);
	if (!strcmp(ri->domain, "on.amazonwebservices.com.cn"))
		return xasprintf("https://ecr.%s.api.amazonwebservices.com.cn", ri->region);
	return xasprintf("https://api.ecr.%s.%s", ri->region, ri->domain);
}

// "com.amazonaws...#UnrecognizedClientException" -> "UnrecognizedClientException".
static const char *error_type(const cJSON *root)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "__type");
	if (!cJSON_IsString(t))
		return NULL;
	const char *hash = strrchr(t->valuestring, '#');
	return hash ? hash + 1 : t->valuestring;
}

static int api_error(const char *api, long status, const cJSON *root, const struct auth_cred *key,
		     struct err *e)
{
	const char *type = error_type(root);
	if (!type)
		return err_set(e, status >= 500 ? ERR_NETWORK : ERR_AUTH, "%s answered HTTP %ld", api, status);
	if (!strcmp(type, "UnrecognizedClientException"))
		return err_set(e, ERR_AUTH,
			       "%s does not recognise the access key from %s (UnrecognizedClientException): "
			       "a permanent IAM access key is needed as ACCESS_KEY_ID:SECRET_ACCESS_KEY; "
			       "session (SSO/STS) tokens are not accepted in this format", api, key->source);
	if (!strcmp(type, "InvalidSignatureException") || !strcmp(type, "SignatureDoesNotMatch"))
		return err_set(e, ERR_AUTH, "%s refused the signature made with the key from %s (%s): "
			       "the secret access key is wrong", api, key->source, type);
	if (!strcmp(type, "AccessDeniedException"))
		return err_set(e, ERR_AUTH, "%s: the key from %s may not call GetAuthorizationToken (AccessDeniedException)",
			       api, key->source);
	return err_set(e, status >= 500 || !strcmp(type, "ThrottlingException") ? ERR_NETWORK : ERR_AUTH,
		       "%s answered HTTP %ld (%s)", api, status, type);
}

static int call(const struct http_config *cfg, const char *endpoint, const char *api,
		const char *service, const char *region, const char *target, const struct auth_cred *key,
		long *status, cJSON **root, struct err *e)
{
	struct cloudapi_req r;
	if (cloudapi_req_init(&r, endpoint, NULL, api, e) < 0)
		return -1;
	cloudapi_req_header(&r, "Content-Type", "application/x-amz-json-1.1");
	cloudapi_req_header(&r, "X-Amz-Target", target);
	static const char body[] = "{}";
	struct canonical_req sr = {.method = "POST", .path = r.path, .query = r.query, .headers = r.hdrs,
				   .nheaders = r.nhdrs, .body = body, .body_len = strlen(body)};
	struct sigv4_params p = {.access_key = key->username, .secret_key = key->password,
				 .region = region, .service = service, .when = time(NULL),
				 .normalize_path = true};
	struct canonical_result sig = {0};
	int ret = sigv4_sign(&sr, &p, &sig, e);
	if (ret == 0) {
		log_debug("%s: POST %s (%s)", api, r.url, target);
		ret = cloudapi_req_post(&r, cfg, &sig, body, status, root, e);
		if (ret < 0)
			err_wrap(e, "%s", api);
	}
	canonical_result_release(&sig);
	cloudapi_req_release(&r);
	return ret;
}

// Calls GetAuthorizationToken; on success (HTTP 200) *root owns the answer.
static int get_authorization(const struct http_config *cfg, const char *endpoint, const char *api,
			     const char *service, const char *region, const char *target,
			     const struct auth_cred *key, cJSON **root, struct err *e)
{
	long status = 0;
	*root = NULL;
	if (call(cfg, endpoint, api, service, region, target, key, &status, root, e) < 0)
		return -1;
	if (status != 200) {
		api_error(api, status, *root, key, e);
		cJSON_Delete(*root);
		*root = NULL;
		return -1;
	}
	return 0;
}

int ecr_answer_parse(cJSON *root, bool public_api, const char *api, const char *source, struct auth_exchange *out,
		     struct err *e)
{
	memset(out, 0, sizeof(*out));
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "authorizationData");
	const cJSON *entry = cJSON_IsArray(data) ? cJSON_GetArrayItem(data, 0) : data;
	cJSON *tok = cJSON_GetObjectItemCaseSensitive(entry, "authorizationToken");
	if (!cJSON_IsString(tok) || !tok->valuestring[0] || strpbrk(tok->valuestring, "\r\n "))
		return err_set(e, ERR_AUTH, "%s: no usable authorizationToken in the answer", api);
	int ret = 0;
	if (public_api) {
		out->bearer = xstrdup(tok->valuestring);
	} else {
		// base64("AWS:password"), sent as Basic.
		_cleanup_free_ char *what = xasprintf("%s token", api);
		ret = auth_cred_from_b64(&out->cred, tok->valuestring, what, e);
	}
	explicit_bzero(tok->valuestring, strlen(tok->valuestring));
	if (ret < 0) {
		auth_exchange_release(out);
		return -1;
	}
	out->cred.source = xasprintf("%s via %s", source, api);
	out->expires = cloudapi_parse_expiry(cJSON_GetObjectItemCaseSensitive(entry, "expiresAt"),
					     time(NULL) + ECR_TOKEN_LIFE);
	return 0;
}

int ecr_get_token(const struct http_config *cfg, const struct kind_info *ri, const struct auth_cred *key,
		  struct auth_exchange *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	_cleanup_free_ char *def = ecr_api_endpoint(ri);
	static const char *const envs[] = {"AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL", NULL};
	_cleanup_free_ char *endpoint = cloudapi_endpoint(envs, def);
	_cleanup_free_ char *api = xasprintf("ECR GetAuthorizationToken (%s)", ri->region);
	cJSON *root;
	if (get_authorization(cfg, endpoint, api, "ecr", ri->region,
			      "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken", key, &root, e) < 0)
		return -1;
	int ret = ecr_answer_parse(root, false, api, key->source, out, e);
	auth_json_wipe(root);
	cJSON_Delete(root);
	return ret;
}

int ecr_public_get_token(const struct http_config *cfg, const struct auth_cred *key,
			 struct auth_exchange *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	static const char *const envs[] = {"AWS_ENDPOINT_URL_ECR_PUBLIC", "AWS_ENDPOINT_URL", NULL};
	_cleanup_free_ char *endpoint = cloudapi_endpoint(envs, "https://api.ecr-public.us-east-1.amazonaws.com");
	cJSON *root;
	if (get_authorization(cfg, endpoint, "ECR public GetAuthorizationToken", "ecr-public", "us-east-1",
			      "SpencerFrontendService.GetAuthorizationToken", key, &root, e) < 0)
		return -1;
	int ret = ecr_answer_parse(root, true, "ECR public GetAuthorizationToken", key->source, out, e);
	auth_json_wipe(root);
	cJSON_Delete(root);
	return ret;
}
