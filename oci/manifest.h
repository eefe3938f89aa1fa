// SPDX-License-Identifier: Apache-2.0
// Manifests and indexes (OCI image-spec, Docker schema2 / manifest list),
// parsed from untrusted bytes with cJSON, and platform selection.
#ifndef IMGPULL_OCI_MANIFEST_H
#define IMGPULL_OCI_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MT_LAYER_TAR "application/vnd.oci.image.layer.v1.tar"
#define OCI_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define DOCKER_MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define DOCKER_MT_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define DOCKER_MT_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define DOCKER_MT_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define DOCKER_MT_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

// The Accept header value for manifest requests (all four supported types).
#define OCI_MANIFEST_ACCEPT \
	OCI_MT_INDEX ", " OCI_MT_MANIFEST ", " DOCKER_MT_LIST ", " DOCKER_MT_MANIFEST

#define OCI_MANIFEST_MAX (4u << 20) // cap on any manifest or index body

struct oci_platform {
	char *os;
	char *arch;
	char *variant; // NULL when absent
};

struct oci_descriptor {
	char *media_type;
	char *digest; // validated sha256 digest
	uint64_t size;
	bool has_platform;
	struct oci_platform platform;
	char *title; // annotation org.opencontainers.image.title (an artifact's file name), or NULL
	char *filepath; // annotation org.cncf.model.filepath (a ModelPack layer's path; else org.cnai.*), or NULL
	char *file_metadata; // annotation org.cncf.model.file.metadata+json (JSON: mode, mtime, ...; else org.cnai.*), or NULL
};

enum oci_manifest_kind { OCI_KIND_MANIFEST = 1, OCI_KIND_INDEX = 2 };

struct oci_manifest {
	enum oci_manifest_kind kind;
	char *media_type; // the effective media type (one of the four supported)
	// kind == OCI_KIND_MANIFEST
	struct oci_descriptor config;
	struct oci_descriptor *layers;
	size_t nlayers;
	char *artifact_type; // artifactType, or NULL
	// kind == OCI_KIND_INDEX: only entries whose media type is a supported
	// manifest or index type; unknown ones are skipped.
	struct oci_descriptor *manifests;
	size_t nmanifests;
};

// content_type: the response's Content-Type (parameters ignored), may be NULL or
// generic (application/json, application/octet-stream, text/plain): then the type
// comes from the body's mediaType or its shape. A body mediaType that disagrees
// with a specific Content-Type is an ERR_INTEGRITY error. Schema 1 is rejected
// with ERR_USAGE and a message saying so. Other malformed input: ERR_INTEGRITY.
// Details: body need not be NUL-terminated; a type that is neither supported nor
// generic (Content-Type or body mediaType, e.g. an OCI artifact manifest) is
// ERR_USAGE; a manifest/index-ambiguous document (CVE-2021-41190), duplicate keys,
// trailing data, a \u0000 escape or control characters in kept strings are
// ERR_INTEGRITY. At most 1024 layers and 4096 index entries. On failure *m is
// left zeroed (oci_manifest_release on it is harmless).
int oci_manifest_parse(struct oci_manifest *m, const char *content_type, const char *body,
		       size_t len, struct err *e);
void oci_manifest_release(struct oci_manifest *m);

// True for an OCI artifact rather than a filesystem image: an artifactType, or a
// config that is not an image config (ORAS and model packaging tools).
bool oci_manifest_is_artifact(const struct oci_manifest *m);
// An image config's rootfs.diff_ids (the digests of each layer's uncompressed
// tar, in order): *ids (n, malloc'd, each malloc'd). ERR_INTEGRITY for anything
// but an object with rootfs.type "layers" and a list of at most 1024 digests.
int oci_config_diff_ids(const char *body, size_t len, char ***ids, size_t *n, struct err *e);
// "os/arch[/variant]"; ERR_USAGE on malformed input. Architectures are normalized
// (x86_64 -> amd64, aarch64 -> arm64, armhf/armel -> arm + variant).
// Case-insensitive (stored lowercase); variants are canonical ("7" -> "v7",
// arm64 "8"/"v8.0" -> "v8"); an absent variant stays NULL ("linux/arm" = any arm).
int oci_platform_parse(struct oci_platform *p, const char *s, struct err *e);
// The host's platform (linux/amd64, linux/arm64, ...).
void oci_platform_host(struct oci_platform *p);
void oci_platform_release(struct oci_platform *p);
// "linux/arm64/v8" (malloc'd)
char *oci_platform_string(const struct oci_platform *p);
// containerd-style matching: os and normalized arch equal; when want has a
// variant, the candidate's normalized variant must equal it (arm64 "" == "v8");
// when want has none, any variant matches (arm: v7 preferred is not required).
bool oci_platform_match(const struct oci_platform *want, const struct oci_platform *have);
// First index entry matching want; ERR_NOTFOUND listing the available platforms if none.
// Entries without a platform are never selected. *out points into idx.
int oci_index_select(const struct oci_manifest *idx, const struct oci_platform *want,
		     const struct oci_descriptor **out, struct err *e);

#endif
