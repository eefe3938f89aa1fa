// SPDX-License-Identifier: Apache-2.0
// Signatures for --policy: cosign's signature manifests of an image, found in
// its registry (the tag sha256-<hex>.sig, and the OCI 1.1 referrers API where
// the registry has it) or in a layout that kept them; the policy's verdict on
// the image (auth/trust.h); the signatures that verified kept in the layout
// beside it, so that `imgpull verify --policy` can check it again offline.
#ifndef IMGPULL_PULL_TRUST_H
#define IMGPULL_PULL_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/policy.h"
#include "auth/trust.h"
#include "oci/layout.h"
#include "pull/registry.h"
#include "util/buf.h"
#include "util/err.h"

#define TRUST_MT_COSIGN_SIG "application/vnd.dev.cosign.artifact.sig.v1+json" // a referrer's artifactType
#define TRUST_MANIFESTS_MAX 16 // signature manifests considered for one image

// A signature manifest: its bytes, config and simple-signing layers with their payloads.
struct pull_trust_sig {
	char digest[OCI_DIGEST_LEN + 1];
	char *body;
	size_t len;
	struct oci_manifest m;
	struct buf config;
	struct trust_sig_layer *layers;
	size_t nlayers;
	struct buf *payloads; // nlayers of them
	bool *accepted;       // nlayers: the layer's signature satisfied the policy
};

#define TRUST_PAYLOADS_MAX (16u << 20) // payload bytes held for one image, all signatures

struct pull_trust {
	struct pull_trust_sig *v;
	size_t n;
	uint64_t held; // payload bytes fetched
};

void pull_trust_release(struct pull_trust *t);
// The policy's verdict on img as resolved (its top-level digest: the index a
// tag names, or the manifest): signatures are fetched only when a requirement
// asks for them; t keeps them, with the ones that verified marked.
int pull_trust_check(const struct policy *p, struct pull_image *img, struct pull_trust *t, struct err *e);
// The signatures of t that verified, into the layout: their blobs, the index
// img was picked from when a signature signs it, and an index.json entry
// REPOSITORY:sha256-<hex>.sig for each signature manifest (as the registry
// names it).
int pull_trust_store(const struct oci_layout *l, const struct pull_image *img, const struct pull_trust *t,
		     struct err *e);
// The policy's verdict on an image of a layout, from the signatures kept
// there: name and digest as its index.json entry has them. The signature may
// sign that manifest or an index in the layout that lists it.
int pull_trust_check_layout(const struct policy *p, const struct oci_layout *l, const char *name,
			    const char *digest, struct err *e);
// Whether an index.json entry is a signature kept by pull_trust_store (not an image).
struct cJSON;
bool pull_trust_is_kept_sig(const struct cJSON *entry);

#endif
