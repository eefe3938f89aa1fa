// SPDX-License-Identifier: Apache-2.0
// Registry kinds: what a registry host is (ECR, NGC, ACR, ...) decides how a
// credential from the secret becomes a registry token. Detected from the
// hostname, overridden per host by --registry-kind, extended by the NVCF
// allowlist in the environment (NVCF_REGISTRIES_RECOGNIZED_CONTAINER_<KEY>_*).
#ifndef IMGPULL_AUTH_KIND_H
#define IMGPULL_AUTH_KIND_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

enum reg_kind {
	REG_GENERIC = 0, // unknown host: whatever the challenge says
	REG_CUSTOM,      // allowlisted (NVCF env): no credential required
	REG_DOCKERHUB,
	REG_ECR,         // private ECR: ID:SECRET -> GetAuthorizationToken -> Basic
	REG_ECR_PUBLIC,  // public.ecr.aws: ecr-public token used as Bearer
	REG_NGC,
	REG_ACR,
	REG_VOLCENGINE,  // ID:SECRET -> signed GetAuthorizationToken -> user:pass
	REG_HARBOR,
	REG_ARTIFACTORY,
};

struct reg_info {
	enum reg_kind kind;
	const char *why;  // how the kind was decided: "hostname", "--registry-kind", env name
	char *label;      // NVCF _NAME of an allowlisted registry, or NULL
	// ECR private: account, region and the API host's domain; Volcengine: instance, region.
	char account[13];
	bool fips;
	char *region;
	char *domain;     // ECR: "amazonaws.com", "amazonaws.com.cn", "on.aws", ...
	char *instance;
};

struct reg_kinds {
	struct reg_override {
		char *host;
		enum reg_kind kind;
		char *why;
		char *label;
	} *v;
	size_t n;
};

const char *reg_kind_name(enum reg_kind k);
// Accepts the names reg_kind_name gives (ecr, ecr-public, ngc, ...), case-insensitive.
int reg_kind_parse(const char *name, enum reg_kind *out);
// --registry-kind HOST=KIND. ERR_USAGE when malformed.
int reg_kinds_add_override(struct reg_kinds *ks, const char *spec, struct err *e);
// The NVCF_REGISTRIES_RECOGNIZED_CONTAINER_<KEY>_HOSTNAME (and _NAME) pairs of env:
// built-in keys (DOCKER, NGC, ECR, ECR_PUBLIC, VOLCENGINE, ACR) name extra hosts of
// that kind, any other key a custom registry. Overrides given earlier win.
void reg_kinds_load_env(struct reg_kinds *ks, char *const *env);
void reg_kinds_release(struct reg_kinds *ks);

// Classifies host[:port]. ECR and Volcengine hosts are parsed for the values their
// token APIs need; a host forced to one of those kinds that does not parse is an
// ERR_USAGE error. Release info with reg_info_release.
int reg_classify(const struct reg_kinds *ks, const char *host, struct reg_info *out, struct err *e);
void reg_info_release(struct reg_info *i);
// A kind learnt from the registry's Bearer realm (Harbor, Artifactory), or `k` unchanged.
enum reg_kind reg_kind_from_realm(enum reg_kind k, const char *realm);

#endif
