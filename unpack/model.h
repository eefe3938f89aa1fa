// SPDX-License-Identifier: Apache-2.0
// Model packages unpacked by `pull --unpack DIR`: the CNCF ModelPack format
// (github.com/modelpack/model-spec: docs/spec.md, docs/config.md,
// specs-go/v1/{mediatype,annotations,config}.go) and KitOps ModelKits
// (github.com/kitops-ml/kitops: pkg/lib/constants/mediaType.go,
// pkg/artifact/kitfile.go, pkg/cmd/unpack/unpack.go).
//
// ModelPack: artifactType application/vnd.cncf.model.manifest.v1+json (or the
// config application/vnd.cncf.model.config.v1+json); layers
// application/vnd.cncf.model.{weight,weight.config,doc,code,dataset}.v1.
// {raw,tar,tar+gzip,tar+zstd}. A raw layer is the file its
// org.cncf.model.filepath annotation names; a tar layer holds its files under
// their paths (modctl's codec extracts it at the top of the output directory,
// the annotation naming what it holds). The config's modelfs.diffIds, one per
// layer, are checked for tar layers (an entry equal to the blob digest, as
// modctl writes for every layer, needs no check beyond the blob's). The config
// is kept verbatim as DIR/.imgpull-model-config.json. A raw file gets the mode
// and mtime of its org.cncf.model.file.metadata+json annotation, as modctl
// gives them.
//
// The older form, before the CNCF rename (model-spec v0.0.1 to v0.0.6, module
// github.com/CloudNativeAI/model-spec; modctl up to v0.0.5): the same with
// application/vnd.cnai.model.* for the artifactType, config and layer media
// types (raw layers from v0.0.3), the config's modelfs.diff_ids (snake case
// before v0.0.7) and the annotations org.cnai.model.filepath and
// org.cnai.model.file.metadata+json. As modctl reads a layer (its legacy
// model-spec v0.0.6), the org.cncf annotation is taken when present, else the
// org.cnai one, whatever the form (oci/manifest.c).
//
// KitOps: config application/vnd.kitops.modelkit.config.v1+json (the Kitfile as
// JSON); layers application/vnd.kitops.modelkit.{model,modelpart,dataset,code,
// docs}.v1.tar[+gzip|+zstd], matched in order with the config's model,
// model.parts[], code[], datasets[], docs[] as kit unpack matches them: an entry
// with a digest (current ModelKits) must name the layer's and its tar is
// extracted at the top (the tar's names carry the paths) with its diffId
// checked; an entry without one (older ModelKits) is extracted under the
// directory of its path. A dataset with a remotePath (S3 or a ModelKit, later
// kits) has no layer: kit unpack leaves it out unless --include-remote, and so
// does imgpull (a warning says so). The Kitfile is written as YAML to
// DIR/Kitfile, the digests and diffIds left out, as kit unpack writes it.
// A model.path that names another ModelKit (kit's "parent", e.g.
// "registry/repo:tag"): kit unpack fetches that ModelKit too and unpacks its
// model and model parts into DIR; a pull fetches one artifact, so that is
// refused (ERR_USAGE) before anything is written.
//
// Every name is a clean relative path inside DIR: an absolute one, '..', a
// name of imgpull's, or one given twice is ERR_INTEGRITY; tar layers go
// through unpack_layer's confinement.
#ifndef IMGPULL_UNPACK_MODEL_H
#define IMGPULL_UNPACK_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/manifest.h"
#include "unpack/layer.h"
#include "unpack/rootfs.h"
#include "util/err.h"

#define UNPACK_MODEL_CONFIG_FILE ".imgpull-model-config.json"
#define UNPACK_KITFILE "Kitfile"

enum unpack_model_kind {
	UNPACK_MODEL_NONE,
	UNPACK_MODEL_MODELPACK,      // application/vnd.cncf.model.*
	UNPACK_MODEL_MODELPACK_CNAI, // the older application/vnd.cnai.model.*
	UNPACK_MODEL_KITOPS,
};

struct unpack_model_layer {
	bool raw;                  // the blob is the file itself
	enum unpack_compression c; // a tar layer's compression
	char *path;                // raw: the file; tar: the directory it is extracted in ("": DIR)
	char *diff_id;             // tar: the uncompressed digest to check, or NULL (the blob's suffices)
	char *label;               // the path the package gives it (the duplicate check), or NULL
	// A raw layer's org.cncf.model.file.metadata+json, as modctl restores it:
	// permission bits (0: keep 0644) and mtime (has_mtime false: now).
	unsigned mode;
	bool has_mtime;
	int64_t mtime_sec;
	long mtime_nsec;
};

struct unpack_model_plan {
	enum unpack_model_kind kind;
	struct unpack_model_layer *layers; // one per manifest layer
	size_t nlayers;
	const char *config_name; // the config's file in DIR
	char *config_text;       // what it holds
	size_t config_len;
	size_t remote_datasets;  // KitOps: datasets with a remotePath (not unpacked)
};

// Which model package the manifest is (UNPACK_MODEL_NONE: neither).
enum unpack_model_kind unpack_model_kind(const struct oci_manifest *m);

// Where each layer of manifest m goes and what the config's file holds, from
// the config's bytes (untrusted). ERR_INTEGRITY for a malformed config, a path
// outside DIR, a duplicate path or a digest that disagrees; ERR_USAGE for a
// layer media type that is not the format's. On failure *p is released.
int unpack_model_plan(const struct oci_manifest *m, const char *config, size_t len, struct unpack_model_plan *p,
		      struct err *e);
void unpack_model_plan_release(struct unpack_model_plan *p);
// An RFC 3339 time as Go's encoding/json writes one (fraction and offset
// optional, 'Z' or +hh:mm): seconds since the epoch and nanoseconds; -1 when
// malformed.
int unpack_model_rfc3339(const char *s, int64_t *sec, long *nsec);

// Whether a Kitfile's model.path names a ModelKit ("registry/repo:tag",
// "repo@sha256:...", a bare digest ...) rather than a path, as kit tells them
// apart (IsModelKitReference: a ':' or '@' and a reference kit can parse).
bool unpack_model_kit_reference(const char *s);

// Unpacks the model package of u into u->rootfs (prepared, empty but for the
// busy marker); the caller writes the completion marker.
int unpack_model_run(const struct unpack_image *u, struct unpack_stats *total, struct err *e);

#endif
