// SPDX-License-Identifier: Apache-2.0
// Helm charts stored as OCI artifacts (Helm's pkg/registry): the oci://
// reference form, the manifest's shape (config and layer media types), and the
// fetch of the chart's .tgz (and provenance) with verified digests and sizes.
#ifndef IMGPULL_PULL_CHART_H
#define IMGPULL_PULL_CHART_H

#include <stdbool.h>
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
	char *ref;     // "HOST/PATH/NAME:TAG[@DIGEST]" or "HOST/PATH/NAME@DIGEST" for pull_image_resolve;
		       // NULL while the version is to be looked up
	char *repo;    // "HOST/PATH/NAME"
	char *host;    // "HOST[:PORT]" as given
	char *name;    // the last path component: NAME
	char *version; // as Helm writes it (with '+'; the tag has '_'); NULL until known
	char *want;    // with lookup: the range --version gave (NULL: the latest stable)
	char *digest;  // "sha256:..." when the reference pins one, else NULL
	bool lookup;   // the version is to be picked among the repository's tags
};

// "oci://HOST/PATH/NAME[:VERSION][@sha256:HEX]" with version (--version, may
// be NULL), read as `helm pull` reads them: a version in the reference (and
// --version, if both: equal) or a --version that is a semver version is the
// tag ('+' as '_'; semver characters only, not starting with '.', '-' or '+',
// at most 128); another --version is a range and no version at all the latest
// stable, both looked up among the tags (lookup); a digest alone takes the
// version from the chart. An http(s):// URL or a plain name (the --repo forms)
// is ERR_USAGE. r is always initialised; release it either way.
int chart_ref_parse(struct chart_ref *r, const char *s, const char *version, struct err *e);
void chart_ref_release(struct chart_ref *r);
// Sets the version (checked as chart_ref_parse checks it) and r->ref from it.
int chart_ref_set_version(struct chart_ref *r, const char *version, struct err *e);
bool chart_version_valid(const char *v);
// The version Helm picks among a repository's tags ('_' read as '+') for want
// (a range, or NULL: the latest stable): *version malloc'd, as Helm writes it.
// ERR_NOTFOUND when none fits, ERR_USAGE for a range that does not parse.
int chart_pick_tag(char *const *tags, size_t n, const char *want, char **version, struct err *e);

// The chart's layer (*chart) and its provenance (*prov, NULL if none) in a
// manifest: a config of Helm's media type, else ERR_USAGE (not a Helm chart);
// exactly one chart layer and at most one provenance layer, else ERR_INTEGRITY.
int chart_manifest_layers(const struct oci_manifest *m, const char *what, const struct oci_descriptor **chart,
			  const struct oci_descriptor **prov, struct err *e);


// Helm's config JSON (Chart.yaml's fields): its name and version (malloc'd).
// ERR_INTEGRITY when it is not an object with string name and version.
int chart_config_parse(const char *body, size_t len, char **name, char **version, struct err *e);

#endif
