// SPDX-License-Identifier: Apache-2.0
// Credential lookup: where a username:password for a registry comes from.
// A store holds providers tried in order (--creds, --authfile, --secret); the
// first provider with a match answers. Values are secrets: never log them;
// `source` says where a credential came from without revealing it.
// Not thread-safe: lookups and refreshes happen on the pull loop's thread.
#ifndef IMGPULL_AUTH_CREDS_H
#define IMGPULL_AUTH_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/hostmatch.h"
#include "util/err.h"

struct cJSON;

// What a credential is for. A registryCredentials entry names the artifact types it
// serves (artifactTypes: CONTAINER serves images, HELM serves charts); every other
// credential (no artifactTypes, .dockerconfigjson, .dockercfg, --authfile, --creds)
// serves both. Lookups consider only the entries that serve the wanted type.
enum auth_artifact { AUTH_ART_IMAGE = 0, AUTH_ART_CHART };
#define AUTH_SERVES(a) (1u << (unsigned)(a))
#define AUTH_SERVES_ALL (AUTH_SERVES(AUTH_ART_IMAGE) | AUTH_SERVES(AUTH_ART_CHART))
// "images" or "charts", for messages.
const char *auth_artifact_name(enum auth_artifact a);

struct auth_cred {
	char *username;
	char *password;
	char *source; // e.g. "--creds", "/root/.docker/config.json entry 'ghcr.io'"
	char *matched; // the key that matched, as written ("https://index.docker.io/v1/"), or NULL
};

struct auth_provider {
	// 1 and *out filled when a credential for art matches host (and path), 0 if
	// none, < 0 on error.
	int (*lookup)(void *self, enum auth_artifact art, const char *host, const char *path,
		      struct auth_cred *out, struct err *e);
	void (*free)(void *self);
	void *self;
	// Re-reads the credentials if they can change (NULL if they cannot): 1 if they
	// changed, 0 if not, < 0 on error with the old credentials still in place.
	int (*refresh)(void *self, struct err *e);
};

struct auth_store {
	struct auth_provider *v;
	size_t n;
	// What the registry sessions using this store look credentials up for
	// (auth_session_init copies it): AUTH_ART_IMAGE unless a command fetching
	// charts sets AUTH_ART_CHART before it opens its sessions.
	enum auth_artifact artifact;
};

void auth_store_add(struct auth_store *s, struct auth_provider p);
// A single USER:PASS for every registry (the --creds option). ERR_USAGE if malformed.
int auth_store_add_static(struct auth_store *s, const char *userpass, struct err *e);
// A docker config.json ({"auths":{key:{"auth":b64}|{"username","password"}}}); keys
// are matched like the kubelet matches pull secrets (auth/hostmatch.h).
int auth_store_add_authfile(struct auth_store *s, const char *path, struct err *e);
// The credential for art from the first provider with a match for host and path:
// 1 and *out filled, 0 if none, < 0 on error.
int auth_store_lookup(const struct auth_store *s, enum auth_artifact art, const char *host,
		      const char *path, struct auth_cred *out, struct err *e);
// Asks every provider that can change to re-read (call it before retrying after
// the registry rejected a credential): 1 if any credential changed, 0 if none,
// < 0 if a provider failed (e describes the first failure; the others still ran).
int auth_store_refresh(const struct auth_store *s, struct err *e);
void auth_store_release(struct auth_store *s);
void auth_cred_release(struct auth_cred *c);
void auth_cred_copy(struct auth_cred *dst, const struct auth_cred *src);
// Splits a base64 "user:pass" value; ERR_AUTH naming `what` (never the value) on failure.
int auth_cred_from_b64(struct auth_cred *c, const char *b64, const char *what, struct err *e);

// ---- shared by the providers in auth/ ----

// Credentials under registry keys, looked up like the kubelet's keyring: keys are
// kept in kubelet order (auth_host_key_cmp, ties in load order) and the first key
// that matches the image answers, so the most specific one wins.
struct auth_keyed {
	struct auth_host_key key;
	struct auth_cred cred;
	unsigned serves; // AUTH_SERVES() bits
};

struct auth_keyring {
	struct auth_keyed *v;
	size_t n;
};

// Takes *c (left empty) under key; c->matched is set to key. Returns false, and
// releases *c, for a key no registry can have (the kubelet ignores those too).
// The entry serves every artifact type.
bool auth_keyring_add(struct auth_keyring *k, const char *key, struct auth_cred *c);
// The same for an entry serving only the types in serves (AUTH_SERVES() bits, not 0).
bool auth_keyring_add_serving(struct auth_keyring *k, const char *key, unsigned serves,
			      struct auth_cred *c);
// Moves every entry of src to the end of dst.
void auth_keyring_append(struct auth_keyring *dst, struct auth_keyring *src);
void auth_keyring_sort(struct auth_keyring *k);
// The most specific key among the entries serving art that matches: 1 and *out
// filled, or 0.
int auth_keyring_lookup_for(const struct auth_keyring *k, enum auth_artifact art, const char *host,
			    const char *path, struct auth_cred *out);
// auth_keyring_lookup_for images.
int auth_keyring_lookup(const struct auth_keyring *k, const char *host, const char *path,
			struct auth_cred *out);
bool auth_keyring_equal(const struct auth_keyring *a, const struct auth_keyring *b);
void auth_keyring_release(struct auth_keyring *k);
// Adds a docker config map {KEY:{"auth":b64}|{"username","password"}} read from
// file (named in sources and errors). A non-empty auth wins over username and
// password; entries with neither (credential helpers, identity tokens) are skipped.
// strict: an entry that is not an object is an error rather than skipped.
int auth_keyring_add_dockercfg(struct auth_keyring *k, const struct cJSON *map, const char *file,
			       bool strict, struct err *e);
// Reads a credential file of at most max bytes into a malloc'd NUL-terminated
// buffer without intermediate copies; free it with auth_secret_free. Classes as
// file_read_all (ERR_NOTFOUND, ERR_STORAGE); callers that want ERR_AUTH override.
int auth_secret_read(const char *path, size_t max, char **data, size_t *len, struct err *e);
void auth_secret_free(char *data, size_t len);
// Zeroes every string in a parsed document before it is freed.
void auth_json_wipe(struct cJSON *j);
// A copy of a key or host name fit for a one-line message: control and non-ASCII
// bytes become '?', and it is cut at 128 bytes.
char *auth_key_display(const char *key);

#endif
