// SPDX-License-Identifier: Apache-2.0
// The registry client: one authenticated session per host, repositories on it,
// manifest fetch with digest verification and platform resolution.
#ifndef IMGPULL_PULL_REGISTRY_H
#define IMGPULL_PULL_REGISTRY_H

#include <stddef.h>

#include "auth/session.h"
#include "oci/digest.h"
#include "oci/manifest.h"
#include "oci/ref.h"
#include "transport/http.h"
#include "util/err.h"

// One endpoint serving a registry's namespace: the registry itself, or a
// mirror or pull-through cache (containerd's hosts.toml).
struct pull_registry {
	struct auth_session auth; // the credential of this endpoint's own host name
	char *host;     // host[:port] contacted
	char *base_url; // scheme://host[:port]
	char *api;      // the API's root: base_url + "/v2", or a mirror's own path
	char *ns;       // a mirror's: the namespace it serves, sent as ?ns= (as containerd does); else NULL
	unsigned caps;  // PULL_CAP_*: what it may be asked
};
#define PULL_CAP_PULL 1u    // blobs and manifests by digest
#define PULL_CAP_RESOLVE 2u // tags
#define PULL_CAP_ALL (PULL_CAP_PULL | PULL_CAP_RESOLVE)

struct pull_repo {
	struct pull_registry *reg;
	char *path;
	// The next endpoint to ask for a blob this one fails (a mirror's, in
	// hosts.toml order, ending with the registry); NULL: none.
	struct pull_repo *next_src;
};

struct pull_ns;
struct pull_registries {
	struct pull_registry **v;
	size_t n;
	const struct http_config *cfg;
	struct auth_store *store;
	const struct kind_table *kinds;
	const char *hosts_dir; // containerd's registry host configuration (--hosts-dir), or NULL
	struct pull_ns **ns;   // each namespace's endpoints, as read from it
	size_t nns;
};

void pull_registries_init(struct pull_registries *rs, const struct http_config *cfg,
			  struct auth_store *store, const struct kind_table *kinds);
void pull_registries_release(struct pull_registries *rs);
// The shared registry object for host (created on first use); NULL and e on error.
struct pull_registry *pull_registries_get(struct pull_registries *rs, const char *host, struct err *e);
// The endpoints serving the namespace domain (an image reference's domain:
// "docker.io", "nvcr.io") in the order to ask them: hosts_dir's hosts.toml
// mirrors in file order, then its server; without a file, registry (the
// reference's host to contact) alone. *eps stays valid with rs.
int pull_registries_endpoints(struct pull_registries *rs, const char *domain, const char *registry,
			      struct pull_registry *const **eps, size_t *n, struct err *e);
void pull_registries_release_ns(struct pull_registries *rs);
// An endpoint: host contacted, its base URL (scheme://host), its API root,
// the namespace host when it is a mirror (NULL: the registry itself), its
// capabilities and HTTP settings (NULL: the registries'). Shared by api and ns.
struct pull_endpoint_spec {
	const char *host, *base_url, *api, *ns;
	unsigned caps;
	const struct http_config *cfg;
};
struct pull_registry *pull_registries_endpoint(struct pull_registries *rs, const struct pull_endpoint_spec *sp,
					       struct err *e);
// The URL of suffix ("/manifests/x", "/blobs/d", "/tags/list?n=1") of repo
// (malloc'd): API root, path, suffix, and a mirror's ns query.
char *pull_repo_url(const struct pull_repo *repo, const char *suffix);

// Authenticated GET of base_url + "/v2/" + repo + suffix, with one
// re-authentication when the registry answers 401. Answers other than 401
// come back in r; a final 401 becomes an ERR_AUTH error.
int pull_repo_get(struct pull_repo *repo, const char *suffix, const char *accept, size_t max,
		  struct http_resp *r, struct err *e);
// A small blob of at most max bytes (an image config, a Helm chart) whole
// into out, by one blocking GET that follows the registry's redirect; its
// size and digest are checked (ERR_INTEGRITY). out's own cap must allow it.
int pull_repo_get_blob(struct pull_repo *repo, const struct oci_descriptor *d, uint64_t max, struct buf *out,
		       struct err *e);
// Every tag of the repository (GET /v2/PATH/tags/list, following the Link
// header's next pages on the same registry): *tags malloc'd strings (free each
// and the array), in the registry's order. ERR_NOTFOUND for an unknown
// repository, ERR_INTEGRITY past the caps or for an answer not the API's.
#define PULL_TAGS_MAX 100000
#define PULL_TAGS_PAGE_MAX (16u << 20)
#define PULL_TAGS_PAGES_MAX 1000
int pull_repo_tags(struct pull_repo *repo, char ***tags, size_t *n, struct err *e);
// The suffix after /v2/PATH of a Link header's next page
// (`</v2/PATH/tags/list?last=x&n=100>; rel="next"`, relative or on base_url's
// origin; other link-values skipped): 0 with *suffix malloc'd, or NULL when
// there is no next page; -1 when the next page is elsewhere or malformed.
int pull_tags_next(const char *link, const char *base_url, const char *path, char **suffix);
// GET a manifest or index by tag or digest (reference), its digest checked
// against the reference and the registry's Docker-Content-Digest, parsed;
// what names it in errors. ERR_NOTFOUND for a 404.
int pull_repo_manifest(struct pull_repo *repo, const char *reference, const char *what, char **body, size_t *len,
		       char digest[OCI_DIGEST_LEN + 1], struct oci_manifest *m, struct err *e);
// The error for a final 401 (says whether a credential was sent, and whence).
int pull_repo_auth_error(struct pull_repo *repo, struct err *e);

// A resolved image: the manifest for the chosen platform, its bytes and digest.
struct pull_image {
	struct oci_ref ref;
	char *name;            // full normalized reference (index.json annotations)
	struct pull_repo repo; // the endpoint that answered the manifest
	// Where its blobs come from, in order: every endpoint that may serve them
	// (hosts.toml's mirrors, then the registry), linked by next_src; srcs[0]
	// heads the list (pull_image_blob_source).
	struct pull_repo *srcs;
	size_t nsrcs;
	char *manifest_body;   // exact bytes, stored as a blob
	size_t manifest_len;
	char manifest_digest[OCI_DIGEST_LEN + 1];
	struct oci_manifest manifest;
	bool has_platform;     // the manifest came from an index entry with this platform
	struct oci_platform platform;
	// What the reference named first: the manifest itself, or the index the
	// manifest was picked from (its exact bytes kept in top_body then, NULL
	// otherwise). A signature signs this digest (cosign signs what a tag names).
	char top_digest[OCI_DIGEST_LEN + 1];
	char *top_body;
	size_t top_len;
	char *top_media_type;
};

// Fetches the manifest for ref (following an index to want's platform) and
// verifies every digest on the way.
int pull_image_resolve(struct pull_image *img, struct pull_registries *rs, const char *refstr,
		       const struct oci_platform *want, struct err *e);
void pull_image_release(struct pull_image *img);
// The first of the image's blob sources (the engine moves down the list).
struct pull_repo *pull_image_blob_source(struct pull_image *img);

#endif
