// SPDX-License-Identifier: Apache-2.0
#include "auth/trust.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sigstore.h"
#include "oci/digest.h"
#include "util/mem.h"

void trust_sig_layers_free(struct trust_sig_layer *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].digest);
		free(v[i].signature);
	}
	free(v);
}

static int trust_sig_layer_add(const cJSON *l, struct trust_sig_layer **v, size_t *n, struct err *e)
{
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(l, "mediaType");
	const cJSON *dg = cJSON_GetObjectItemCaseSensitive(l, "digest");
	const cJSON *sz = cJSON_GetObjectItemCaseSensitive(l, "size");
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(l, "annotations");
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(ann, SIGSTORE_ANN_SIGNATURE);
	if (!cJSON_IsString(mt) || strcmp(mt->valuestring, SIGSTORE_MT_SIMPLESIGNING) != 0 || !cJSON_IsString(sig))
		return 0;
	if (!cJSON_IsString(dg) || !oci_digest_valid(dg->valuestring) || !cJSON_IsNumber(sz) || sz->valuedouble < 0 ||
	    sz->valuedouble > SIGSTORE_PAYLOAD_MAX)
		return err_set(e, ERR_INTEGRITY, "a signature layer without a valid digest and size");
	if (*n == TRUST_SIGS_MAX)
		return err_set(e, ERR_INTEGRITY, "more than %d signatures", TRUST_SIGS_MAX);
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n] = (struct trust_sig_layer){.digest = xstrdup(dg->valuestring), .size = (uint64_t)sz->valuedouble,
					     .signature = xstrdup(sig->valuestring)};
	(*n)++;
	return 0;
}

int trust_sig_manifest_parse(const char *body, size_t len, struct trust_sig_layer **v, size_t *n, struct err *e)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
	int ret = 0;
	if (!cJSON_IsObject(root) || !cJSON_IsArray(layers))
		ret = err_set(e, ERR_INTEGRITY, "a signature manifest that is not an image manifest");
	for (const cJSON *l = ret == 0 ? layers->child : NULL; l && ret == 0; l = l->next)
		ret = cJSON_IsObject(l) ? trust_sig_layer_add(l, v, n, e)
					: err_set(e, ERR_INTEGRITY, "a signature manifest's layer is not an object");
	cJSON_Delete(root);
	return ret;
}

// Why a candidate does not satisfy req, or NULL when it does.
static char *trust_candidate_why(const struct policy_req *req, const struct trust_image *img,
				 const struct trust_candidate *c)
{
	struct err ve;
	bool verified = false;
	for (size_t k = 0; k < req->nkeys && !verified; k++)
		verified = sigstore_verify(req->keys[k], c->payload, c->len, c->signature, &ve) == 0;
	if (!verified)
		return xasprintf("a signature no key of %s verifies", req->keys_from ? req->keys_from : "the policy");
	struct sigstore_payload pl = {0};
	char *why = NULL;
	if (sigstore_payload_parse(c->payload, c->len, &pl, &ve) < 0)
		why = xasprintf("a signed payload that is not cosign's: %s", ve.msg);
	else if (strcmp(pl.manifest_digest, img->digest) != 0)
		why = xasprintf("a signature of %.80s, not of %s", pl.manifest_digest, img->digest);
	else if (!policy_identity_ok(&req->identity, img->name, pl.docker_reference))
		why = xasprintf("a signature of %.200s, an identity signedIdentity does not accept for %.200s",
				pl.docker_reference, img->name);
	sigstore_payload_release(&pl);
	return why;
}

// One sigstoreSigned requirement: at least one candidate satisfies it.
static int trust_sigstore(const struct policy_req *req, const struct trust_image *img, const struct trust_candidate *c,
			  size_t n, bool *accepted, char **why)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		char *w = trust_candidate_why(req, img, &c[i]);
		if (!w) {
			any = true;
			if (accepted)
				accepted[i] = true;
		} else if (!*why) {
			*why = w;
		} else {
			free(w);
		}
	}
	if (!any && !*why)
		*why = xstrdup("no signature (none at the cosign tag nor among the referrers)");
	return any ? 0 : -1;
}

// name with its host in lower case: host names are case-insensitive, policy
// scopes are matched as strings, and "LOCALHOST:5000/x" must not escape a
// scope "localhost:5000".
static char *trust_norm_name(const char *name)
{
	char *n = xstrdup(name);
	for (char *q = n; *q && *q != '/'; q++)
		*q = (char)tolower((unsigned char)*q);
	return n;
}

int trust_evaluate(const struct policy *p, const struct trust_image *img_in, const struct trust_candidate *c, size_t n,
		   bool *accepted, struct err *e)
{
	_cleanup_free_ char *name = trust_norm_name(img_in->name);
	const struct trust_image im = {.name = name, .digest = img_in->digest}, *img = &im;
	const struct policy_reqs *reqs = policy_for(p, img->name);
	const char *scope = reqs->scope ? reqs->scope : "(default)";
	if (accepted)
		memset(accepted, 0, n * sizeof(*accepted));
	for (size_t r = 0; r < reqs->n; r++) {
		const struct policy_req *req = &reqs->v[r];
		if (req->kind == POLICY_ACCEPT)
			continue;
		if (req->kind == POLICY_REJECT)
			return err_set(e, ERR_UNTRUSTED, "%s: the policy %s rejects it (scope '%s')", img->name, p->path,
				       scope);
		_cleanup_free_ char *why = NULL;
		if (trust_sigstore(req, img, c, n, accepted, &why) < 0)
			return err_set(e, ERR_UNTRUSTED, "%s (%s): not signed as the policy %s requires (scope '%s'): %s",
				       img->name, img->digest, p->path, scope, why);
	}
	return 0;
}

bool trust_needs_signature(const struct policy *p, const char *name_in)
{
	_cleanup_free_ char *name = trust_norm_name(name_in);
	const struct policy_reqs *reqs = policy_for(p, name);
	for (size_t r = 0; r < reqs->n; r++)
		if (reqs->v[r].kind == POLICY_SIGSTORE)
			return true;
	return false;
}
