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

enum kind_registry {
	KIND_GENERIC = 0, // unknown host: whatever the challenge says
	KIND_CUSTOM,      // allowlisted (NVCF env): no credential required
	KIND_DOCKERHUB,
	KIND_ECR,         // private ECR: ID:SECRET -> GetAuthorizationToken -> Basic
	KIND_ECR_PUBLIC,  // public.ecr.aws: ecr-public token used as Bearer
	KIND_NGC,
	KIND_ACR,
	KIND_VOLCENGINE,  // ID:SECRET -> signed GetAuthorizationToken -> user:pass
	KIND_HARBOR,
	KIND_ARTIFACTORY,
};

struct kind_info {
	enum kind_registry kind;
	const char *why;  // how the kind was decided: "hostname", "--registry-kind", env name
	char *label;      // NVCF _NAME of an allowlisted registry, or NULL
	// ECR private: account, region and the API host's domain; Volcengine: instance, region.
	char account[13];
	bool fips;
	char *region;
	char *domain;     // ECR: "amazonaws.com", "amazonaws.com.cn", "on.aws", ...
	char *instance;
};

struct kind_table {
	struct kind_override {
		char *host;
		enum kind_registry kind;
		char *why;
		char *label;
	} *v;
	size_t n;
};

const char *kind_name(enum kind_registry k);
// Accepts the names kind_name gives (ecr, ecr-public, ngc, ...), case-insensitive.
int kind_parse(const char *name, enum kind_registry *out);
// --registry-kind HOST=KIND. ERR_USAGE when malformed.
int kind_table_add_override(struct kind_table *ks, const char *spec, struct err *e);
// The NVCF_REGISTRIES_RECOGNIZED_CONTAINER_<KEY>_HOSTNAME (and _NAME) pairs of env:
// built-in keys (DOCKER, NGC, ECR, ECR_PUBLIC, VOLCENGINE, ACR) name extra hosts of
// that kind, any other key a custom registry. Overrides given earlier win.
void kind_table_load_env(struct kind_table *ks, char *const *env);
void kind_table_release(struct kind_table *ks);

// Classifies host[:port]. ECR and Volcengine hosts are parsed for the values their
// token APIs need; a host forced to one of those kinds that does not parse is an
// ERR_USAGE error. Release info with kind_info_release.
int kind_classify(const struct kind_table *ks, const char *host, struct kind_info *out, struct err *e);
void kind_info_release(struct kind_info *i);
// A kind learnt from the registry's Bearer realm (Harbor, Artifactory), or `k` unchanged.
enum kind_registry kind_from_realm(enum kind_registry k, const char *realm);

#endif
