// SPDX-License-Identifier: Apache-2.0
// Credential lookup: where a username:password for a registry comes from.
// A store holds providers tried in order (--creds, --authfile; the mounted
// secrets of a later issue add their own). Values are secrets: never log them;
// `source` says where a credential came from without revealing it.
#ifndef IMGPULL_AUTH_CREDS_H
#define IMGPULL_AUTH_CREDS_H

#include <stddef.h>

#include "util/err.h"

struct auth_cred {
	char *username;
	char *password;
	char *source; // e.g. "--creds", "/root/.docker/config.json entry 'ghcr.io'"
};

struct auth_provider {
	// 1 and *out filled when a credential matches host (and path), 0 if none, < 0 on error.
	int (*lookup)(void *self, const char *host, const char *path, struct auth_cred *out,
		      struct err *e);
	void (*free)(void *self);
	void *self;
};

struct auth_store {
	struct auth_provider *v;
	size_t n;
};

void auth_store_add(struct auth_store *s, struct auth_provider p);
// A single USER:PASS for every registry (the --creds option). ERR_USAGE if malformed.
int auth_store_add_static(struct auth_store *s, const char *userpass, struct err *e);
// A docker config.json ({"auths":{host:{"auth":b64}|{"username","password"}}}).
int auth_store_add_authfile(struct auth_store *s, const char *path, struct err *e);
int auth_store_lookup(const struct auth_store *s, const char *host, const char *path,
		      struct auth_cred *out, struct err *e);
void auth_store_release(struct auth_store *s);
void auth_cred_release(struct auth_cred *c);
// Splits a base64 "user:pass" value; ERR_AUTH naming `what` (never the value) on failure.
int auth_cred_from_b64(struct auth_cred *c, const char *b64, const char *what, struct err *e);
// Docker Hub has several names; folds them to "docker.io" and strips scheme and /v1/ paths.
char *auth_normalize_host(const char *key);

#endif
