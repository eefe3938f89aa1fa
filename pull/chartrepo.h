// SPDX-License-Identifier: Apache-2.0
// Helm chart repositories (`helm pull --repo URL NAME`): the repository's
// index.yaml read as a stream of YAML events, keeping only the versions of the
// one chart wanted; the version picked as Helm picks it; the chart's URL
// resolved against the repository; the .tgz fetched with the repository's
// credential only when it lies on the repository's own origin, and checked
// against the index's digest.
#ifndef IMGPULL_PULL_CHARTREPO_H
#define IMGPULL_PULL_CHARTREPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/creds.h"
#include "auth/kind.h"
#include "transport/http.h"
#include "util/buf.h"
#include "util/err.h"

#define CHARTREPO_INDEX_MAX (256u << 20) // index.yaml: bitnami's was ~20 MB at its largest
#define CHARTREPO_VERSIONS_MAX 100000    // of one chart
#define CHARTREPO_SCALAR_MAX 8192        // a version, URL or digest longer than this is refused

struct chartrepo_version {
	char *version;
	char *url;    // the first of its urls, as written (relative or absolute)
	char *digest; // the .tgz's SHA-256 in hex as Helm writes it, or NULL when the index has none
};

struct chartrepo_versions {
	struct chartrepo_version *v;
	size_t n;
};

// The versions of chart name in an index.yaml (or its JSON form), in the
// index's order, without building the document's tree: other charts are
// skipped event by event. ERR_INTEGRITY for a document that is not an index
// (no mapping at the top, entries not a mapping of lists of mappings), a
// version without version or urls, an alias or a value over the caps inside
// the chart's own entries; ERR_NOTFOUND when the index has no such chart.
int chartrepo_index_read(const char *data, size_t len, const char *name, struct chartrepo_versions *out,
			 struct err *e);
void chartrepo_versions_release(struct chartrepo_versions *vs);

// url with a relative reference resolved against the repository's URL the way
// Helm does (the repository's path taken as a directory); malloc'd, NULL for a
// reference libcurl's parser refuses or a scheme other than http(s).
char *chartrepo_resolve(const char *repo_url, const char *ref);

// A chart repository at url (http:// or https://, no query or fragment). The
// credential is the one the store has for the repository's host and path for
// charts (registryCredentials entries serving HELM), made by the host's
// registry kind (NGC's $oauthtoken API key, an ECR or Volcano Engine token) and
// sent as Basic, to the repository's own origin only.
struct chartrepo {
	const struct http_config *cfg;
	char *url;    // without a trailing '/'
	char *origin; // scheme://host[:port]
	char *host;   // host[:port]
	char *path;   // the URL's path without its outer slashes, for matching credentials
	struct auth_store *store;
	const struct kind_table *kinds;
	char *authorization; // "Basic ...", or NULL when no credential matched
	char *cred_source;   // where it came from (never the value)
	char *kind;          // the registry kind's name ("ngc", "generic", ...)
	char *missing;       // why no credential was found, when none was
};

int chartrepo_open(struct chartrepo *r, const char *url, const struct http_config *cfg, struct auth_store *store,
		   const struct kind_table *kinds, struct err *e);
void chartrepo_close(struct chartrepo *r);

// The chart the repository's index lists as name at the version Helm would
// pick for want (an exact version, a semver range, or NULL: the latest stable),
// fetched into tgz (at most max bytes) and checked against the index's digest
// (ERR_INTEGRITY on a mismatch). *version and *url (the resolved URL without
// its query, for messages) are malloc'd.
int chartrepo_fetch(struct chartrepo *r, const char *name, const char *want, uint64_t max, struct buf *tgz,
		    char **version, char **url, struct err *e);

#endif
