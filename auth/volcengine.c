// SPDX-License-Identifier: Apache-2.0
#include "auth/volcengine.h"

#include <string.h>
#include <time.h>

#include "auth/volcsign.h"
#include "util/log.h"
#include "util/mem.h"

#define VOLC_TOKEN_LIFE 3600 // when the answer has no usable ExpireTime

static int api_error(const char *api, long status, const cJSON *root, const struct auth_cred *key,
		     struct err *e)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "ResponseMetadata");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(meta, "Error");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "Code");
	const char *c = cJSON_IsString(code) ? code->valuestring : NULL;
	if (!c)
		return err_set(e, status >= 500 ? ERR_NETWORK : ERR_AUTH, "%s answered HTTP %ld", api, status);
	if (strstr(c, "Signature"))
		return err_set(e, ERR_AUTH, "%s refused the signature made with the key from %s (%s): "
			       "the secret access key is wrong", api, key->source, c);
	if (strstr(c, "AccessKey") || strstr(c, "Authentication"))
		return err_set(e, ERR_AUTH, "%s does not accept the access key from %s (%s)", api, key->source, c);
	if (strstr(c, "NotFound"))
		return err_set(e, ERR_NOTFOUND, "%s: %s (is the instance name in the registry host right?)", api, c);
	return err_set(e, status >= 500 ? ERR_NETWORK : ERR_AUTH, "%s answered HTTP %ld (%s)", api, status, c);
}

int volcengine_get_token(const struct http_config *cfg, const struct kind_info *ri,
			 const struct auth_cred *key, struct auth_exchange *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	_cleanup_free_ char *def = xasprintf("https://cr.%s.volcengineapi.com", ri->region);
	static const char *const envs[] = {"IMGPULL_VOLCENGINE_ENDPOINT", NULL};
	_cleanup_free_ char *endpoint = cloudapi_endpoint(envs, def);
	_cleanup_free_ char *api = xasprintf("Volcano Engine GetAuthorizationToken (%s, %s)", ri->instance, ri->region);
	struct cloudapi_req r;
	if (cloudapi_req_init(&r, endpoint, "Action=GetAuthorizationToken&Version=2022-05-12", api, e) < 0)
		return -1;
	cloudapi_req_header(&r, "Content-Type", "application/json");
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "Registry", ri->instance);
	_cleanup_free_ char *body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	struct canonical_req sr = {.method = "POST", .path = r.path, .query = r.query, .headers = r.hdrs,
				   .nheaders = r.nhdrs, .body = body, .body_len = strlen(body)};
	struct volcsign_params p = {.access_key = key->username, .secret_key = key->password,
				.region = ri->region, .service = "cr", .when = time(NULL)};
	struct canonical_result sig = {0};
	long status = 0;
	cJSON *root = NULL;
	int ret = volcsign_sign(&sr, &p, &sig, e);
	if (ret == 0) {
		log_debug("%s: POST %s", api, r.url);
		ret = cloudapi_req_post(&r, cfg, &sig, body, &status, &root, e);
		if (ret < 0)
			err_wrap(e, "%s", api);
	}
	canonical_result_release(&sig);
	cloudapi_req_release(&r);
	if (ret < 0)
		return -1;
	if (status != 200) {
		ret = api_error(api, status, root, key, e);
		goto out;
	}
	ret = volcengine_answer_parse(root, api, key->source, out, e);
out:
	auth_json_wipe(root);
	cJSON_Delete(root);
	if (ret < 0)
		auth_exchange_release(out);
	return ret;
}

int volcengine_answer_parse(cJSON *root, const char *api, const char *source, struct auth_exchange *out,
			    struct err *e)
{
	memset(out, 0, sizeof(*out));
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "Result");
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(res, "Username");
	cJSON *tok = cJSON_GetObjectItemCaseSensitive(res, "Token");
	if (!cJSON_IsString(user) || !user->valuestring[0] || strpbrk(user->valuestring, "\r\n:") ||
	    !cJSON_IsString(tok) || !tok->valuestring[0] || strpbrk(tok->valuestring, "\r\n"))
		return err_set(e, ERR_AUTH, "%s: no usable Username and Token in the answer", api);
	out->cred.username = xstrdup(user->valuestring);
	out->cred.password = xstrdup(tok->valuestring);
	explicit_bzero(tok->valuestring, strlen(tok->valuestring));
	out->cred.source = xasprintf("%s via Volcano Engine GetAuthorizationToken", source);
	out->expires = cloudapi_parse_expiry(cJSON_GetObjectItemCaseSensitive(res, "ExpireTime"),
					     time(NULL) + VOLC_TOKEN_LIFE);
	return 0;
}
