// SPDX-License-Identifier: Apache-2.0
// Signature policies (--policy FILE) in the containers-policy.json(5) format of
// containers/image (signature/policy_config.go, policy_config_sigstore.go,
// policy_reference_match.go): the pure part, no network.
//
// Parsing is as strict as c/image's: unknown, duplicated or mistyped fields are
// errors, "default" is required, a list of requirements may not be empty, and
// exactly one of keyPath/keyPaths/keyData/keyDatas names a sigstoreSigned key.
// Everything that applies to an image imgpull pulls ("default" and
// transports.docker) must be something imgpull honours: signedBy (GPG),
// signedBaseLayer, sigstoreSigned with fulcio, pki or any rekorPublicKey* field,
// and unknown requirement types are refused at load time (ERR_USAGE naming the
// file and the requirement), never ignored. Differences from c/image, decided:
//  - Sections of other transports (docker-daemon, containers-storage, dir, atomic,
//    an unknown name ...) are never applied by imgpull. Their requirements are
//    checked with c/image's own syntax rules (so signedBy, fulcio, pki, rekor are
//    accepted there, as c/image accepts them) but no key is read; their scope
//    strings are not checked, as c/image itself accepts any scope for a transport
//    it was built without.
//  - transports.docker scopes are checked (c/image accepts any string and a scope
//    that cannot match is silently dead): a scope must be something the lookup
//    can produce: a registry host[:port], a repository or namespace in the fully
//    expanded form (docker.io/library/busybox, docker.io/library, quay.io/ns),
//    a repository with a tag or a digest (not both), or "*.domain" (no port).
//  - keyPath/keyPaths must be absolute (c/image opens a relative path from the
//    working directory, which is whatever directory imgpull runs in); each file
//    is read at load time: a regular file, at most 64 KiB.
//  - A null value, an empty keyPath or an empty string in keyPaths is an error
//    (c/image treats some of those as absent fields).
//  - Keys are PEM "PUBLIC KEY" (PKIX) blocks: EC P-256/P-384/P-521, RSA of
//    2048 to 16384 bits, Ed25519 (c/image also reads "RSA PUBLIC KEY" and other
//    curves). As in Go's pem.Decode, only the first PEM block is read.
//  - "default" is always honoured, even when transports.docker[""] hides it.
#ifndef IMGPULL_AUTH_POLICY_H
#define IMGPULL_AUTH_POLICY_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

enum policy_req_kind {
	POLICY_ACCEPT, // insecureAcceptAnything
	POLICY_REJECT,
	POLICY_SIGSTORE, // sigstoreSigned
};
enum policy_identity_kind {
	POLICY_ID_MATCH_REPO_DIGEST_OR_EXACT, // the default
	POLICY_ID_MATCH_REPOSITORY,
	POLICY_ID_MATCH_EXACT,
	POLICY_ID_EXACT_REFERENCE,
	POLICY_ID_EXACT_REPOSITORY,
	POLICY_ID_REMAP,
};

struct policy_identity {
	enum policy_identity_kind kind;
	char *reference;             // exactReference.dockerReference
	char *repository;            // exactRepository.dockerRepository
	char *prefix, *signed_prefix; // remapIdentity
};

struct policy_req {
	enum policy_req_kind kind;
	EVP_PKEY **keys; // sigstoreSigned: keyPath|keyPaths|keyData|keyDatas, any one of them verifies
	size_t nkeys;
	char *keys_from; // for messages: "keyPath /etc/keys/cosign.pub" or "keyData" — never key bytes
	struct policy_identity identity;
};

// AND-ed: every requirement must be satisfied.
struct policy_reqs {
	struct policy_req *v;
	size_t n;
	// The scope that matched: "" for the docker transport's default, "(default)"
	// for the top-level default, else the scope string.
	const char *scope;
};

struct policy {
	struct policy_reqs def; // "default"
	struct policy_scope {
		char *scope;
		struct policy_reqs reqs;
	} *docker;
	size_t ndocker;
	bool has_docker_default;
	struct policy_reqs docker_default; // transports.docker[""]
	char *path;
};

// Reads the file (a regular file, at most 1 MiB) and parses it.
int policy_load(struct policy *p, const char *path, struct err *e);
// Parses json (len bytes, need not be NUL-terminated); path names the file in
// messages. keyPath files are read now. Every error is ERR_USAGE with the prefix
// "policy PATH: "; p is left empty on error (policy_release is still harmless).
int policy_parse(struct policy *p, const char *json, size_t len, const char *path, struct err *e);
void policy_release(struct policy *p);

// The requirements for an image in the docker transport, by c/image's precedence:
// the most specific scope that matches ref (a full normalized reference
// "host[:port]/path[:tag][@digest]", e.g. "docker.io/library/busybox:1.36",
// "127.0.0.1:5000/team/app@sha256:..."), i.e. exact ref (with tag or digest), then
// repository, then each namespace prefix from longest, then host[:port], then
// wildcard "*.domain" scopes from most specific, then transports.docker[""], then
// "default". A ref with both a tag and a digest is looked up by its digest
// (NAME@DIGEST), as podman does (c/image refuses such references). A ref that
// does not parse gets a single reject requirement (scope "(invalid reference)"),
// never NULL.
const struct policy_reqs *policy_for(const struct policy *p, const char *ref);

// Does a signature whose critical.identity.docker-reference is signed_ref satisfy
// identity for the image pulled as ref (normalized as above, with tag and/or
// digest)? As c/image's policy_reference_match.go: matchRepoDigestOrExact: if ref
// has a tag, exactly equal (tag and digest, when both); if only a digest, the same
// repository (the caller has verified the digest); matchRepository: the same
// repository; matchExact: equal, neither side name-only (a digest reference
// matches the same digest reference, as in c/image's tests); exactReference /
// exactRepository: against the given value instead of ref; remapIdentity: ref's
// prefix rewritten, then as matchRepoDigestOrExact. signed_ref must parse as a
// reference (oci_ref_parse, with Docker's normalization: "busybox:1" is
// docker.io/library/busybox:1), else false; a signed_ref without tag or digest
// only satisfies the repository matches.
bool policy_identity_ok(const struct policy_identity *id, const char *ref, const char *signed_ref);

// remapIdentity's rewriting (c/image's remapReferencePrefix): *out is ref in its
// canonical form, with prefix replaced by signed_prefix when ref's repository name
// is prefix or lies under it. -1 (and *out NULL) when ref does not parse or the
// rewritten reference is not a canonical reference.
int policy_remap_ref(const char *prefix, const char *signed_prefix, const char *ref, char **out);

// c/image's names: "insecureAcceptAnything", "reject", "sigstoreSigned";
// "matchRepoDigestOrExact", "matchRepository", ...
const char *policy_req_kind_name(enum policy_req_kind k);
const char *policy_identity_kind_name(enum policy_identity_kind k);

#endif
