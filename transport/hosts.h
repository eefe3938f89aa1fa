// SPDX-License-Identifier: Apache-2.0
// containerd's registry host configuration (--hosts-dir, default
// /etc/containerd/certs.d): DIR/<host>/hosts.toml read with the semantics of
// containerd's remotes/docker/config/hosts.go (1.7 and 2.x; where they differ,
// 2.x's) and the endpoints built as config.ConfigureHosts builds its
// docker.RegistryHost list, with the options of containerd's CRI plugin (no
// DefaultScheme, no DefaultTLS). The TOML is read by a small strict reader of
// the subset these files use; what it does not read is refused with the file
// and line. transport/hosts.c lists every decision and the source it follows.
#ifndef IMGPULL_TRANSPORT_HOSTS_H
#define IMGPULL_TRANSPORT_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

// docker.HostCapabilities. REFERRERS is containerd 2.2's (the OCI referrers API).
enum { HOSTS_CAP_PULL = 1, HOSTS_CAP_RESOLVE = 2, HOSTS_CAP_PUSH = 4, HOSTS_CAP_REFERRERS = 8 };
#define HOSTS_CAP_ALL (HOSTS_CAP_PULL | HOSTS_CAP_RESOLVE | HOSTS_CAP_PUSH | HOSTS_CAP_REFERRERS)

#define HOSTS_FILE_MAX (64u << 10) // bytes of a hosts.toml
#define HOSTS_MAX 32               // [host."..."] entries of a file (the server comes on top)

struct hosts_header {
	char *name;  // as written (containerd does not canonicalise it), an HTTP token
	char *value; // one per value: a header with an array of values gives several
};

struct hosts_endpoint {
	char *scheme;   // "https" or "http": the one containerd's RegistryHost has (see http_fallback)
	char *host;     // host[:port] to connect to, as in the URL
	char *path;     // the API root, always starting with '/': "/v2", PATH/v2, or PATH itself with
			// override_path ("/" for an empty one); cleaned as containerd's path.Join does
	unsigned caps;  // HOSTS_CAP_*: containerd's default (all four) when absent or empty
	char **ca;      // CA files: absolute ones as written, relative ones joined to the file's
	size_t nca;     // directory (filepath.Join: cleaned, absolute when the directory is)
	char **client_cert, **client_key; // client certificate/key pairs, resolved as ca; key NULL
	size_t nclient;                   // when containerd takes the key from the cert file
	bool skip_verify;
	struct hosts_header *headers;
	size_t nheaders;
	bool is_server; // the upstream ("server", or the default for the host), last
	// Added beyond the brief's API:
	bool tls_explicit;  // containerd's explicitTLSFromHost: ca, client or skip_verify was given
			    // (even "ca = []" or "skip_verify = false"): the host has a TLS config of its own
	bool http_fallback; // containerd's docker.NewHTTPFallback: the host was configured "http://"
			    // (not port 80) with a TLS config, so containerd tries https first and, when
			    // the server answers TLS with plain HTTP, retries over http (scheme is "https")
	bool has_dial_timeout;
	long long dial_timeout_ns; // dial_timeout (Go duration, >= 0; 0: no connect timeout)
};

struct hosts_config {
	struct hosts_endpoint *v; // in the order containerd tries them: [host.*] entries in file order,
	size_t n;                 // then the server
	char *source; // DIR/<name>/hosts.toml when read; DIR/<name> when that directory has no (or an
		      // empty) hosts.toml and its Docker-style certificates were taken; NULL: no
		      // directory, containerd's default for the host
};

// The endpoints for registry host (host[:port] exactly as in image references:
// "docker.io", "nvcr.io", "localhost:5000") from dir, as containerd's
// HostDirFromRoot and loadHostDir find them: the first of DIR/<host_port_>
// (for a host with a port, ':' as "_port_"), DIR/<host>, DIR/_default that
// exists; its hosts.toml, or when it has none (or an empty one) its *.crt CA
// files and *.cert/*.key client pairs. dir NULL or "" or with none of these:
// containerd's default (server https://host, docker.io: https://registry-1.docker.io,
// localhost and loopback addresses: see hosts.c). ERR_USAGE naming the file
// and line for a malformed file or one containerd would fail on, and for a
// directory that cannot be read.
int hosts_load(struct hosts_config *c, const char *dir, const char *host, struct err *e);
// The same for a file's text. file: its path, for messages and for relative
// paths (joined to its directory); NULL: messages say "hosts.toml" and
// relative paths stay relative, as containerd's parseHostsFile with baseDir "".
// An empty text is a file with no keys (hosts_load takes the directory's
// certificates instead, as containerd does).
int hosts_parse(struct hosts_config *c, const char *toml, size_t len, const char *host, const char *file,
		struct err *e);
void hosts_release(struct hosts_config *c);
// "https://host/v2" style base URL of an endpoint (malloc'd), to which
// "/<repo>/blobs/<digest>" is appended: no trailing '/', path bytes outside
// RFC 3986 pchar percent-encoded as Go's URL.EscapedPath does.
char *hosts_endpoint_base(const struct hosts_endpoint *ep);
// containerd's RegistryHost.isProxy: requests to this endpoint for an image of
// refhost carry "?ns=<refhost>" (its host differs from refhost, registry-1.docker.io
// counting as docker.io).
bool hosts_endpoint_is_proxy(const struct hosts_endpoint *ep, const char *refhost);

#endif
