// SPDX-License-Identifier: Apache-2.0
#include "pull/trust.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sigstore.h"
#include "util/log.h"
#include "util/mem.h"

#define TRUST_CONFIG_MAX (1u << 20) // a signature manifest's config

static void trust_sig_release(struct pull_trust_sig *s)
{
	free(s->body);
	oci_manifest_release(&s->m);
	buf_release(&s->config);
	for (size_t i = 0; s->payloads && i < s->nlayers; i++)
		buf_release(&s->payloads[i]);
	free(s->payloads);
	free(s->accepted);
	trust_sig_layers_free(s->layers, s->nlayers);
	memset(s, 0, sizeof(*s));
}

void pull_trust_release(struct pull_trust *t)
{
	for (size_t i = 0; i < t->n; i++)
		trust_sig_release(&t->v[i]);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

// The config and each simple-signing payload of s, by digest, checked.
static int trust_sig_blobs(struct pull_repo *repo, struct pull_trust_sig *s, uint64_t *held, struct err *e)
{
	buf_init(&s->config, TRUST_CONFIG_MAX);
	if (pull_repo_get_blob(repo, &s->m.config, TRUST_CONFIG_MAX, &s->config, e) < 0)
		return -1;
	s->payloads = xcalloc(s->nlayers ? s->nlayers : 1, sizeof(*s->payloads));
	s->accepted = xcalloc(s->nlayers ? s->nlayers : 1, sizeof(*s->accepted));
	for (size_t i = 0; i < s->nlayers; i++) {
		if (*held + s->layers[i].size > TRUST_PAYLOADS_MAX)
			return err_set(e, ERR_INTEGRITY, "the signatures' payloads pass %u MiB", TRUST_PAYLOADS_MAX >> 20);
		*held += s->layers[i].size;
		struct oci_descriptor d = {.digest = s->layers[i].digest, .size = s->layers[i].size};
		buf_init(&s->payloads[i], SIGSTORE_PAYLOAD_MAX);
		if (pull_repo_get_blob(repo, &d, SIGSTORE_PAYLOAD_MAX, &s->payloads[i], e) < 0)
			return -1;
	}
	return 0;
}

// The signature manifest at reference (cosign's tag, or a referrer's digest)
// into t; nothing when the registry has none (404).
static int trust_fetch_sig(struct pull_repo *repo, const char *reference, struct pull_trust *t, struct err *e)
{
	if (t->n == TRUST_MANIFESTS_MAX)
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].digest, reference))
			return 0; // a referrer that is also the tag's
	struct pull_trust_sig s = {0};
	_cleanup_free_ char *what = xasprintf("%s/%s signature %s", repo->reg->host, repo->path, reference);
	struct err fe;
	if (pull_repo_manifest(repo, reference, what, &s.body, &s.len, s.digest, &s.m, &fe) < 0) {
		trust_sig_release(&s);
		if (fe.cls == ERR_NOTFOUND)
			return 0;
		*e = fe;
		return -1;
	}
	int r = s.m.kind == OCI_KIND_MANIFEST ? 0 : err_set(e, ERR_INTEGRITY, "%s: an index, not a manifest", what);
	if (r == 0)
		r = trust_sig_manifest_parse(s.body, s.len, &s.layers, &s.nlayers, e);
	if (r == 0)
		r = trust_sig_blobs(repo, &s, &t->held, e);
	if (r < 0) {
		trust_sig_release(&s);
		return err_wrap(e, "%s", what);
	}
	t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	t->v[t->n++] = s;
	return 0;
}

// The referrers of digest whose artifactType is cosign's signature, where the
// registry has the OCI 1.1 referrers API (any answer but 200: it has not).
static int trust_referrers(struct pull_repo *repo, const char *digest, struct pull_trust *t, struct err *e)
{
	_cleanup_free_ char *suffix = xasprintf("/referrers/%s?artifactType=application%%2Fvnd.dev.cosign.artifact."
						"sig.v1%%2Bjson", digest);
	struct http_resp r;
	if (pull_repo_get(repo, suffix, OCI_MT_INDEX, OCI_MANIFEST_MAX, &r, e) < 0)
		return err_wrap(e, "%s/%s: referrers of %s", repo->reg->host, repo->path, digest);
	cJSON *root = r.status == 200 ? cJSON_ParseWithLength(buf_str(&r.body), r.body.len) : NULL;
	http_resp_release(&r);
	const cJSON *mans = cJSON_GetObjectItemCaseSensitive(root, "manifests");
	int ret = 0;
	for (const cJSON *m = cJSON_IsArray(mans) ? mans->child : NULL; m && ret == 0; m = m->next) {
		const cJSON *at = cJSON_GetObjectItemCaseSensitive(m, "artifactType");
		const cJSON *dg = cJSON_GetObjectItemCaseSensitive(m, "digest");
		if (cJSON_IsString(at) && !strcmp(at->valuestring, TRUST_MT_COSIGN_SIG) && cJSON_IsString(dg) &&
		    oci_digest_valid(dg->valuestring))
			ret = trust_fetch_sig(repo, dg->valuestring, t, e);
	}
	cJSON_Delete(root);
	return ret;
}

// Weighs every signature of t; marks those that satisfied the policy.
static int trust_weigh(const struct policy *p, const struct trust_image *ti, struct pull_trust *t, struct err *e)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++)
		n += t->v[i].nlayers;
	struct trust_candidate *c = xcalloc(n ? n : 1, sizeof(*c));
	bool *acc = xcalloc(n ? n : 1, sizeof(*acc));
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++)
		for (size_t j = 0; j < t->v[i].nlayers; j++)
			c[k++] = (struct trust_candidate){.payload = t->v[i].payloads[j].data ? t->v[i].payloads[j].data : "",
							  .len = t->v[i].payloads[j].len,
							  .signature = t->v[i].layers[j].signature};
	int r = trust_evaluate(p, ti, c, n, acc, e);
	k = 0;
	for (size_t i = 0; i < t->n; i++)
		for (size_t j = 0; j < t->v[i].nlayers; j++)
			t->v[i].accepted[j] = acc[k++];
	free(c);
	free(acc);
	return r;
}

int pull_trust_check(const struct policy *p, struct pull_image *img, struct pull_trust *t, struct err *e)
{
	struct trust_image ti = {.name = img->name, .digest = img->top_digest};
	if (!trust_needs_signature(p, img->name))
		return trust_evaluate(p, &ti, NULL, 0, NULL, e);
	_cleanup_free_ char *tag = sigstore_sig_tag(img->top_digest);
	if (!tag)
		return err_set(e, ERR_UNTRUSTED, "%s: the digest %s has no cosign signature tag", img->name, img->top_digest);
	if (trust_fetch_sig(&img->repo, tag, t, e) < 0 || trust_referrers(&img->repo, img->top_digest, t, e) < 0)
		return -1;
	if (trust_weigh(p, &ti, t, e) < 0)
		return -1;
	log_info("%s: signed as the policy requires (%zu signature manifest%s)", img->name, t->n, t->n == 1 ? "" : "s");
	return 0;
}

// REPOSITORY:sha256-<hex>.sig, as the registry names the signature of digest.
static char *trust_sig_name(const struct oci_ref *ref, const char *digest)
{
	_cleanup_free_ char *tag = sigstore_sig_tag(digest);
	return tag ? xasprintf("%s/%s:%s", ref->domain, ref->path, tag) : NULL;
}

static int trust_store_one(const struct oci_layout *l, const struct pull_image *img, const struct pull_trust_sig *s,
			   size_t nth, struct err *e)
{
	if (oci_layout_put_blob(l, s->m.config.digest, s->config.data ? s->config.data : "", s->config.len, e) < 0)
		return -1;
	for (size_t i = 0; i < s->nlayers; i++)
		if (oci_layout_put_blob(l, s->layers[i].digest, s->payloads[i].data ? s->payloads[i].data : "",
					s->payloads[i].len, e) < 0)
			return -1;
	if (oci_layout_put_blob(l, s->digest, s->body, s->len, e) < 0)
		return -1;
	bool index = strcmp(img->top_digest, img->manifest_digest) != 0 && img->top_body;
	if (index && oci_layout_put_blob(l, img->top_digest, img->top_body, img->top_len, e) < 0)
		return -1;
	_cleanup_free_ char *tag = trust_sig_name(&img->ref, img->top_digest);
	if (!tag)
		return 0;
	// The first as the registry names it; the others (referrers) numbered after it.
	_cleanup_free_ char *name = nth ? xasprintf("%s.%zu", tag, nth) : xstrdup(tag);
	struct oci_index_entry ent = {.media_type = s->m.media_type, .digest = s->digest, .size = s->len,
				      .ref_name = name, .keep = index ? img->top_digest : NULL,
				      .signature_of = img->top_digest};
	return oci_layout_add_ref(l, &ent, e);
}

int pull_trust_store(const struct oci_layout *l, const struct pull_image *img, const struct pull_trust *t,
		     struct err *e)
{
	size_t kept = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct pull_trust_sig *s = &t->v[i];
		bool any = false;
		for (size_t j = 0; j < s->nlayers; j++)
			any |= s->accepted[j];
		if (!any)
			continue;
		// A manifest with other layers than signatures would not be whole in the layout.
		if (s->nlayers != s->m.nlayers) {
			log_warn("%s: signature manifest %s has other layers than signatures: not kept (verify --policy "
				 "will not see it)", img->name, s->digest);
			continue;
		}
		if (trust_store_one(l, img, s, kept++, e) < 0)
			return err_wrap(e, "%s: keeping its signature %s", img->name, s->digest);
	}
	return 0;
}

// A blob of the layout whole, its digest checked (a layout on disk can be altered).
static int trust_read(const struct oci_layout *l, const char *digest, size_t max, struct buf *b, struct err *e)
{
	buf_init(b, max);
	if (oci_layout_read_blob(l, digest, b, e) < 0)
		return -1;
	char got[OCI_DIGEST_LEN + 1];
	oci_digest_of_like(got, digest, b->data ? b->data : "", b->len);
	if (strcmp(got, digest) != 0)
		return err_set(e, ERR_INTEGRITY, "blob %s in the layout has digest %s", digest, got);
	return 0;
}

// Whether signed names digest itself or an index in the layout that lists it.
static bool trust_signs(const struct oci_layout *l, const char *signed_digest, const char *digest)
{
	if (!strcmp(signed_digest, digest))
		return true;
	struct buf b;
	struct err ie;
	struct oci_manifest idx = {0};
	bool lists = false;
	if (trust_read(l, signed_digest, OCI_MANIFEST_MAX, &b, &ie) == 0 &&
	    oci_manifest_parse(&idx, NULL, buf_str(&b), b.len, &ie) == 0 && idx.kind == OCI_KIND_INDEX)
		for (size_t i = 0; i < idx.nmanifests && !lists; i++)
			lists = !strcmp(idx.manifests[i].digest, digest);
	oci_manifest_release(&idx);
	buf_release(&b);
	return lists;
}

// The policy's verdict from one kept signature manifest (sig) of signed_digest.
static int trust_weigh_kept(const struct policy *p, const struct oci_layout *l, const struct trust_image *ti,
			    const char *sig, struct err *e)
{
	struct pull_trust_sig s = {0};
	struct buf body;
	int r = trust_read(l, sig, OCI_MANIFEST_MAX, &body, e);
	if (r == 0)
		r = trust_sig_manifest_parse(buf_str(&body), body.len, &s.layers, &s.nlayers, e);
	buf_release(&body);
	s.payloads = xcalloc(s.nlayers ? s.nlayers : 1, sizeof(*s.payloads));
	s.accepted = xcalloc(s.nlayers ? s.nlayers : 1, sizeof(*s.accepted));
	for (size_t i = 0; r == 0 && i < s.nlayers; i++)
		r = trust_read(l, s.layers[i].digest, SIGSTORE_PAYLOAD_MAX, &s.payloads[i], e);
	struct pull_trust t = {.v = &s, .n = 1};
	if (r == 0)
		r = trust_weigh(p, ti, &t, e);
	trust_sig_release(&s);
	return r;
}

// A kept signature entry of the image's repository (prefix "DOMAIN/PATH:"):
// the digest it signs, or NULL.
static const char *trust_kept_sig(const cJSON *m, const char *prefix)
{
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(m, "annotations");
	const cJSON *of = cJSON_GetObjectItemCaseSensitive(ann, OCI_ANNOT_SIGNATURE_OF);
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(ann, "org.opencontainers.image.ref.name");
	if (!cJSON_IsString(of) || !oci_digest_valid(of->valuestring) || !cJSON_IsString(name) ||
	    strncmp(name->valuestring, prefix, strlen(prefix)) != 0)
		return NULL;
	return of->valuestring;
}

int pull_trust_check_layout(const struct policy *p, const struct oci_layout *l, const char *name,
			    const char *digest, struct err *e)
{
	struct oci_ref ref;
	if (oci_ref_parse(&ref, name, e) < 0)
		return -1;
	_cleanup_free_ char *prefix = xasprintf("%s/%s:", ref.domain, ref.path);
	oci_ref_release(&ref);
	cJSON *root;
	const cJSON *mans;
	if (oci_layout_index_read(l, &root, &mans, e) < 0)
		return -1;
	int ret = 1; // no kept signature weighed yet
	for (const cJSON *m = mans->child; m && ret != 0; m = m->next) {
		const char *mt, *sig, *ref_name;
		uint64_t size;
		oci_index_entry_fields(m, &mt, &sig, &size, &ref_name);
		const char *signed_digest = trust_kept_sig(m, prefix);
		if (!sig || !signed_digest || !trust_signs(l, signed_digest, digest))
			continue;
		struct trust_image ti = {.name = name, .digest = signed_digest};
		ret = trust_weigh_kept(p, l, &ti, sig, e);
	}
	cJSON_Delete(root);
	if (ret == 1) {
		struct trust_image ti = {.name = name, .digest = digest};
		ret = trust_evaluate(p, &ti, NULL, 0, NULL, e);
	}
	return ret;
}

bool pull_trust_is_kept_sig(const cJSON *entry)
{
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(entry, "annotations");
	return cJSON_GetObjectItemCaseSensitive(ann, OCI_ANNOT_SIGNATURE_OF) != NULL;
}
