// SPDX-License-Identifier: Apache-2.0
// containerd.services.leases.v1.Leases (api/services/leases/v1/leases.proto,
// the same field numbers in 1.6 and 2.x). A lease holds what is created under
// it (the containerd-lease header: ctrd_session_set_lease) from garbage
// collection until it is deleted or expires (label containerd.io/gc.expire).
#ifndef IMGPULL_CTRD_LEASES_H
#define IMGPULL_CTRD_LEASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrd/session.h"

#define CTRD_LEASE_EXPIRE_LABEL "containerd.io/gc.expire" // an RFC 3339 time

struct ctrd_lease {
	char *id;
	int64_t created_s; // Unix seconds
	struct ctrd_labels labels;
};
struct ctrd_leases {
	struct ctrd_lease *v;
	size_t n;
};
void ctrd_lease_free(struct ctrd_lease *l);
void ctrd_leases_free(struct ctrd_leases *l);

// Create lease id (a containerd identifier, ERR_USAGE otherwise) with labels.
// AlreadyExists when it exists (s->status.code).
int ctrd_lease_create(struct ctrd_session *s, const char *id, const struct ctrd_label *labels, size_t nlabels,
		      struct err *e);
// Delete lease id; sync: containerd collects garbage before it answers (bound
// by s->timeout_s like any call). ERR_NOTFOUND when there is none.
int ctrd_lease_delete(struct ctrd_session *s, const char *id, bool sync, struct err *e);
// Add resource {res_id, res_type} to lease id: type "content" (res_id a
// digest), "ingests", or "snapshots/<snapshotter>" (res_id a key or name).
int ctrd_lease_add_resource(struct ctrd_session *s, const char *id, const char *res_id, const char *res_type,
			    struct err *e);
// The leases matching any of filters (e.g. `id~="^imgpull-"`; none: all).
int ctrd_lease_list(struct ctrd_session *s, const char *const *filters, size_t nfilters, struct ctrd_leases *out,
		    struct err *e);

// The wire forms, for tests.
int ctrd_lease_encode_create(struct buf *out, const char *id, const struct ctrd_label *labels, size_t nlabels);
int ctrd_lease_encode_delete(struct buf *out, const char *id, bool sync);
int ctrd_lease_encode_add_resource(struct buf *out, const char *id, const char *res_id, const char *res_type);
int ctrd_lease_encode_list(struct buf *out, const char *const *filters, size_t nfilters);
// CreateResponse {1 Lease}; ERR_NETWORK when malformed.
int ctrd_lease_decode_create(const void *msg, size_t len, struct ctrd_lease *out, struct err *e);
// ListResponse {1 repeated Lease}; at most CTRD_LIST_MAX.
int ctrd_lease_decode_list(const void *msg, size_t len, struct ctrd_leases *out, struct err *e);

#endif
