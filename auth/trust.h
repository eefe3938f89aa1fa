// SPDX-License-Identifier: Apache-2.0
// The verdict of a signature policy (auth/policy.h) on one image: its
// requirements evaluated, as containers/image evaluates them, over the
// signatures found for it (cosign's, auth/sigstore.h). Pure: the signatures
// come from the caller (the registry, or a layout that kept them).
#ifndef IMGPULL_AUTH_TRUST_H
#define IMGPULL_AUTH_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/policy.h"
#include "util/err.h"

#define TRUST_SIGS_MAX 64 // signature layers considered for one image

// A layer of a cosign signature manifest: the simple-signing payload's
// descriptor and the signature annotation on it.
struct trust_sig_layer {
	char *digest;
	uint64_t size;
	char *signature; // base64, as in the annotation
};

// The simple-signing layers (application/vnd.dev.cosign.simplesigning.v1+json
// with a dev.cosignproject.cosign/signature annotation) of a signature
// manifest, appended to *v (at most TRUST_SIGS_MAX in all). ERR_INTEGRITY for
// a document that is not an image manifest; other layers are skipped.
int trust_sig_manifest_parse(const char *body, size_t len, struct trust_sig_layer **v, size_t *n, struct err *e);
void trust_sig_layers_free(struct trust_sig_layer *v, size_t n);

// One signature to weigh: its payload's bytes (already checked against the
// layer's digest) and the annotation's signature.
struct trust_candidate {
	const void *payload;
	size_t len;
	const char *signature;
};

// The image as pulled: its normalized reference (host/path:tag or @digest) and
// the digest that reference names (the manifest, or the index it was picked
// from).
struct trust_image {
	const char *name;
	const char *digest;
};

// Every requirement of the policy for the image must hold: insecureAcceptAnything
// holds, reject never, sigstoreSigned when at least one candidate verifies with
// one of its keys and its payload names the digest and an identity its
// signedIdentity accepts. 0 when all hold (accepted[i], when given, set for the
// candidates that satisfied a sigstoreSigned requirement); else -1 with
// ERR_UNTRUSTED naming the image, the policy's scope and why (no signature, a
// signature no key verifies, another digest, another identity).
int trust_evaluate(const struct policy *p, const struct trust_image *img, const struct trust_candidate *c, size_t n,
		   bool *accepted, struct err *e);
// Whether the policy's requirements for name ask for a signature at all.
bool trust_needs_signature(const struct policy *p, const char *name);

#endif
