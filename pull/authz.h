// SPDX-License-Identifier: Apache-2.0
// The Authorization header the download engine sends to a registry, one per
// repository, fetched off the transfer loop. A token request (or an ECR or
// Volcengine exchange, with its retries and backoff) runs on a thread of its
// own while the other ranges keep flowing; the loop is told of its end by a
// wake callback and picks the answer up on its next pass. One fetch runs at a
// time (sessions of one pull share their secret store), and the loop never
// touches a registry session while a fetch runs.
#ifndef IMGPULL_PULL_AUTHZ_H
#define IMGPULL_PULL_AUTHZ_H

#include <stdbool.h>

#include "auth/challenge.h"
#include "pull/registry.h"
#include "util/err.h"

struct pull_authz;

// wake(ud) is called from the fetching thread when a fetch ends.
struct pull_authz *pull_authz_new(void (*wake)(void *), void *ud);
// Joins a running fetch and frees everything (values are wiped).
void pull_authz_free(struct pull_authz *a);

// The header value for requests to repo's registry, never blocking:
//   1: *value is ready (NULL: the registry wants none), *gen its generation,
//      both valid until the next call. A header close to its expiry is
//      still handed out while its successor is fetched;
//   0: a fetch is under way (started now if needed): ask again after a wake;
//  -1: the last fetch failed (e, e.g. ERR_AUTH for a refused credential).
int pull_authz_get(struct pull_authz *a, struct pull_repo *repo, const char **value, unsigned *gen,
		   struct err *e);
// The registry refused a request sent with generation gen (401): the header
// is renewed before it is used again, the new challenge in c (moved out) taken
// into account. True when gen was the current one (the first refusal of that
// header); false when it was renewed since, and the request may just go again.
bool pull_authz_refused(struct pull_authz *a, struct pull_repo *repo, unsigned gen, struct auth_challenges *c);
// Waits for a running fetch, so that the caller may use the sessions.
void pull_authz_quiesce(struct pull_authz *a);

#endif
