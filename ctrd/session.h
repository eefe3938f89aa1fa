// SPDX-License-Identifier: Apache-2.0
// A client for containerd's own gRPC API (not the Kubernetes CRI of cri/): its
// snapshots, leases and content services (snapshots.h, leases.h, content.h),
// called through transport/grpc on containerd's socket with the namespace
// header and, when a lease is held, the lease header. Answers are untrusted:
// every string, count and total is capped as it is decoded.
#ifndef IMGPULL_CTRD_SESSION_H
#define IMGPULL_CTRD_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "transport/grpc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/pb.h"

#define CTRD_NAMESPACE "k8s.io"   // the kubelet's
#define CTRD_CALL_TIMEOUT_S 15L    // one call (CRI_PROBE_TIMEOUT_S): a live containerd answers in ms
#define CTRD_ANSWER_MAX (64u << 10) // a unary answer
#define CTRD_LIST_ANSWER_MAX (1u << 20) // a List stream (with filters it is small)
#define CTRD_ID_MAX 76             // containerd's identifiers (namespaces, leases)

// Caps on what an answer may hold.
#define CTRD_STRING_MAX 4096       // a name, key, parent, digest, type, source or target
#define CTRD_LABEL_MAX 4096        // a label's key + value (containerd's own limit)
#define CTRD_LABELS_MAX 256        // labels of one object
#define CTRD_LIST_MAX 16384        // objects of a List

struct ctrd_session {
	const char *socket;           // containerd's socket (a path)
	const char *ns;               // the containerd-namespace header: CTRD_NAMESPACE
	const char *snapshotter;      // "overlayfs", "native"
	char lease[CTRD_ID_MAX + 1];  // the containerd-lease header when not "" (ctrd_session_set_lease)
	long timeout_s;               // of each call: CTRD_CALL_TIMEOUT_S
	double deadline;              // the pull's (a clock_mono() time), 0: none; bounds every call too
	struct grpc_status status;    // of the last call: status.code is GRPC_OK, containerd's gRPC
	                              // status (GRPC_ALREADY_EXISTS, ...), or GRPC_NO_STATUS when none came
};

// A session on socket for snapshotter, in CTRD_NAMESPACE, no lease, the
// default timeout. The strings are borrowed: they must outlive the session.
// One thread at a time uses a session (status is the last call's).
void ctrd_session_init(struct ctrd_session *s, const char *socket, const char *snapshotter, double deadline);
// Sends id as containerd-lease on the calls that create something (Prepare,
// View, Commit, content Write) from now on; NULL or "" stops it. ERR_USAGE
// when id is not a containerd identifier.
int ctrd_session_set_lease(struct ctrd_session *s, const char *id, struct err *e);
// containerd's identifier rule (identifiers.Validate): 1..76 characters,
// [A-Za-z0-9]+ components joined by one of '.', '_', '-'.
bool ctrd_id_valid(const char *s);

// A label to send (key and value borrowed).
struct ctrd_label {
	const char *key;
	const char *value;
};
// Labels read from an answer (each key and value malloc'd).
struct ctrd_labels {
	struct ctrd_label *v;
	size_t n;
};
void ctrd_labels_free(struct ctrd_labels *l);
// The value of key, or NULL.
const char *ctrd_labels_get(const struct ctrd_labels *l, const char *key);

// For ctrd/'s calls. One call of method path ("/containerd.services...") with
// msg, the namespace header and (with_lease) the lease header, bounded by
// bound_s (0: s->timeout_s) and s->deadline, the answer capped at max_answer:
// 0 and *answer (its frames; release it) on status OK; else -1, s->status
// saying which status came (grpc_call's errors, prefixed "containerd").
int ctrd_call(struct ctrd_session *s, const char *path, const struct buf *msg, bool with_lease, long bound_s,
	      size_t max_answer, struct buf *answer, struct err *e);
// The one message of a unary answer; ERR_NETWORK naming what when it is not one frame.
int ctrd_unframe(const struct buf *answer, const char *what, const void **msg, size_t *len, struct err *e);
// Each label as one entry of the map<string,string> field; a label with a NULL
// value is skipped. -1 when out's cap is reached or a label is over CTRD_LABEL_MAX.
int ctrd_put_labels(struct buf *out, unsigned field, const struct ctrd_label *labels, size_t n);
// Appends the map entry f to l; -1 when malformed or past the caps.
int ctrd_get_label(const struct pb_field *f, struct ctrd_labels *l);
// A google.protobuf.Timestamp's seconds (field 1, int64; nanos ignored); -1 when malformed.
int ctrd_get_timestamp(const struct pb_field *f, int64_t *seconds);
// A string field of an answer, capped at CTRD_STRING_MAX; replaces *out. -1 when malformed.
int ctrd_get_string(const struct pb_field *f, char **out);

#endif
