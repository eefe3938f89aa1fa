// SPDX-License-Identifier: Apache-2.0
// Which credential key serves which image, decided the way the kubelet decides
// (kubernetes pkg/credentialprovider keyring.go: Add, parseSchemelessURL, splitURL,
// URLsMatch), so a pull secret means here what it means to the kubelet.
//
// A key is "host[:port][/path]", optionally with an http(s):// scheme and a /v1/ or
// /v2/ API prefix on the path (both dropped). Each dot label of the host is a glob
// (Go path.Match: '*', '[a-z]'; '?' and '^' cannot occur, as url.Parse reads '?' as
// the start of a query and refuses '^' in a host); a key matches an image when the
// ports are equal (a key without a port matches only images without one), the hosts
// have the same number of labels, every label matches, and the key path is a prefix
// of the repository path.
//
// Deliberate differences from the kubelet:
// - host names compare case-insensitively (they are DNS names); paths do not;
// - the path prefix must end on a segment boundary ("quay.io/core" does not serve
//   "quay.io/coreos/etcd"), and a trailing '/' on the key path is ignored;
// - Docker Hub's names (docker.io, index.docker.io, registry-1.docker.io,
//   registry.hub.docker.com) are one registry, folded to "docker.io" on both sides;
//   this replaces the kubelet's "index.docker.io serves unqualified images" rule;
// - a bracketed IPv6 host ("[::1]", "[::1]:5000") is compared literally, not as a glob.
#ifndef IMGPULL_AUTH_HOSTMATCH_H
#define IMGPULL_AUTH_HOSTMATCH_H

#include <stdbool.h>

struct auth_host_key {
	char *norm; // "host[:port][/path]": the canonical key, also the sort key
	char *host; // lower case, no port, no IPv6 brackets, Docker Hub folded
	char *port; // "" when absent
	char *path; // "" or "/a/b", no trailing '/'
	bool literal; // an IPv6 address: no globbing
};

// 0, or -1 if key cannot name a registry (empty host, bad port, stray characters);
// the kubelet skips such keys, and so should callers.
int auth_host_key_parse(struct auth_host_key *k, const char *key);
void auth_host_key_release(struct auth_host_key *k);
// Does k serve the image HOST/REPO_PATH? host is as in an image reference
// ("ghcr.io", "localhost:5000", "[::1]:5000"); repo_path is "library/busybox".
bool auth_host_key_match(const struct auth_host_key *k, const char *host, const char *repo_path);
// The kubelet's order of trying keys: < 0 if a comes first. It is the reverse byte
// order of the canonical keys, so "quay.io/coreos" comes before "quay.io" and
// "x.azurecr.io" before "*.azurecr.io"; the first matching key is the most specific.
int auth_host_key_cmp(const struct auth_host_key *a, const struct auth_host_key *b);
// Parse-and-match in one call; false for a key that does not parse.
bool auth_host_match(const char *key, const char *host, const char *repo_path);
// Go's path.Match for one label; a malformed pattern matches nothing.
bool auth_glob_match(const char *pattern, const char *name);
// "docker.io" for any of Docker Hub's names (case-insensitive), else NULL.
const char *auth_docker_hub_alias(const char *host);

#endif
