// SPDX-License-Identifier: Apache-2.0
// Helm charts stored as OCI artifacts (Helm's pkg/registry): the oci://
// reference form, the manifest's shape (config and layer media types), and the
// fetch of the chart's .tgz (and provenance) with verified digests and sizes.
#ifndef IMGPULL_PULL_CHART_H
#define IMGPULL_PULL_CHART_H

#include <stddef.h>

#include "oci/manifest.h"
#include "pull/registry.h"
#include "util/buf.h"
#include "util/err.h"

#define CHART_MT_CONFIG "application/vnd.cncf.helm.config.v1+json"
#define CHART_MT_CONTENT "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
#define CHART_MT_CONTENT_LEGACY "application/tar+gzip"
#define CHART_MT_PROV "application/vnd.cncf.helm.chart.provenance.v1.prov"
// Helm's own limit on a chart (MaxDecompressedChartSize, 100 MiB): neither the
// .tgz nor what it expands to may be larger.
#define CHART_MAX_BYTES (100ull << 20)
#define CHART_PROV_MAX (1u << 20)

struct chart_ref {
	char *ref;     // "HOST/PATH/NAME:TAG" for oci_ref_parse
	char *host;    // "HOST[:PORT]" as given
	char *name;    // the last path component: NAME
	char *version; // as Helm writes it (with '+'); the tag has '_' for '+'
};

// "oci://HOST/PATH/NAME[:VERSION]" with version (--version, may be NULL). The
// version comes from either (both: they must be equal); semver characters only
// ([0-9A-Za-z.+-], not starting with '.', '-' or '+', at most 128). An https://
// or http:// chart repository, or a plain chart name, is ERR_USAGE ("not yet").
// r is always initialised; release it either way.
int chart_ref_parse(struct chart_ref *r, const char *s, const char *version, struct err *e);
void chart_ref_release(struct chart_ref *r);

// The chart's layer (*chart) and its provenance (*prov, NULL if none) in a
// manifest: a config of Helm's media type, else ERR_USAGE (not a Helm chart);
// exactly one chart layer and at most one provenance layer, else ERR_INTEGRITY.
int chart_manifest_layers(const struct oci_manifest *m, const char *what, const struct oci_descriptor **chart,
			  const struct oci_descriptor **prov, struct err *e);


// Helm's config JSON (Chart.yaml's fields): its name and version (malloc'd).
// ERR_INTEGRITY when it is not an object with string name and version.
int chart_config_parse(const char *body, size_t len, char **name, char **version, struct err *e);

#endif
