// SPDX-License-Identifier: Apache-2.0
// Registry credentials from mounted Kubernetes-style secrets (the --secret option).
//
// A path is a file or a directory. A directory is read the way the kubelet mounts
// a secret: every regular file, following symlinks (NAME -> ..data/NAME,
// ..data -> ..2026_11_22_...), skipping names that begin with "..". Files whose
// first non-space byte is not '{' are other keys of the secret (ca.crt, a token)
// and are skipped; a directory must hold at least one JSON file. A file given
// directly must be one of the formats, recognised by content:
//   .dockerconfigjson    {"auths":{KEY:{"auth":b64(user:pass)}|{"username","password"}}}
//   .dockercfg (legacy)  the same map without "auths"
//   registry credentials {"registryCredentials":[{"registryHostname":HOST,
//                          "secret":{"name":..,"value":b64(user:pass)},
//                          "artifactTypes":["CONTAINER",..]}]}
// In the last, entries whose artifactTypes include CONTAINER serve images
// (AUTH_ART_IMAGE), those that include HELM serve charts (AUTH_ART_CHART), those
// without artifactTypes (or with an empty list) serve both, and those naming
// neither are skipped; HOST is the base host only: a path is an error. The other
// formats serve both.
//
// Keys match images as in auth/hostmatch.h. Every --secret path feeds one provider,
// so the most specific key across all of them wins. A credential's source names the
// file and the key ("/var/run/secrets/regcred/.dockerconfigjson entry 'nvcr.io'"),
// never the value; errors do the same.
#ifndef IMGPULL_AUTH_SECRET_H
#define IMGPULL_AUTH_SECRET_H

#include "auth/creds.h"
#include "util/err.h"

// Reads path now (ERR_AUTH on any problem) and adds it to the store's secret
// provider, creating that provider on first use. Its refresh re-reads every path,
// following ..data again, and keeps the old credentials if the new read fails.
int auth_store_add_secret(struct auth_store *s, const char *path, struct err *e);
// One document's credentials (a .dockerconfigjson, a .dockercfg or a
// registryCredentials list) into k; file names it in messages. ERR_AUTH when
// it is none of them; the text is never quoted back.
int auth_secret_parse(struct auth_keyring *k, const char *file, const char *data, size_t len, struct err *e);

#endif
