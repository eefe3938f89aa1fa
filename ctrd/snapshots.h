// SPDX-License-Identifier: Apache-2.0
// containerd.services.snapshots.v1.Snapshots (api/services/snapshots/v1/
// snapshots.proto, the same field numbers in 1.6 and 2.x; 2.2's Commit parent
// is not sent) and containerd.types.Mount (api/types/mount.proto). Every call
// names s->snapshotter; Prepare, View and Commit carry the session's lease.
#ifndef IMGPULL_CTRD_SNAPSHOTS_H
#define IMGPULL_CTRD_SNAPSHOTS_H

#include <stddef.h>
#include <stdint.h>

#include "ctrd/session.h"

#define CTRD_MOUNTS_MAX 16         // mounts of one answer
#define CTRD_OPTIONS_MAX 64        // options of one mount
#define CTRD_OPTION_MAX (32u << 10) // one option (a lowerdir= of many layers)

// containerd.types.Mount.
struct ctrd_mount {
	char *type;     // "bind", "overlay"
	char *source;
	char *target;   // "" (a subdirectory of the mount point in 2.x, unused here)
	char **options; // "rbind", "upperdir=...", ...
	size_t noptions;
};
struct ctrd_mounts {
	struct ctrd_mount *v;
	size_t n;
};
void ctrd_mounts_free(struct ctrd_mounts *m);

// snapshots.v1.Kind.
enum ctrd_kind { CTRD_KIND_UNKNOWN = 0, CTRD_KIND_VIEW = 1, CTRD_KIND_ACTIVE = 2, CTRD_KIND_COMMITTED = 3 };
const char *ctrd_kind_name(int kind); // "committed", ...

// snapshots.v1.Info.
struct ctrd_info {
	char *name;    // the key of an active snapshot, the name of a committed one
	char *parent;  // "" when none
	int kind;      // enum ctrd_kind (another value when containerd adds one)
	int64_t created_s, updated_s; // Unix seconds (Go's zero time: -62135596800)
	struct ctrd_labels labels;
};
struct ctrd_infos {
	struct ctrd_info *v;
	size_t n;
};
void ctrd_info_free(struct ctrd_info *i);
void ctrd_infos_free(struct ctrd_infos *l);

// Prepare: an active snapshot key on parent (NULL or "": none) with labels;
// *mounts how to reach it (ctrd_mount_target reads them). bound_s bounds the
// call (0: s->timeout_s; ctrd_prepare_bound_s). AlreadyExists (s->status.code
// GRPC_ALREADY_EXISTS): the key, or with containerd.io/snapshot.ref the target
// name, exists ("target snapshot" in s->status.message).
int ctrd_snap_prepare(struct ctrd_session *s, const char *key, const char *parent, const struct ctrd_label *labels,
		      size_t nlabels, long bound_s, struct ctrd_mounts *mounts, struct err *e);
// View: a read-only snapshot key of parent; *mounts as Prepare.
int ctrd_snap_view(struct ctrd_session *s, const char *key, const char *parent, const struct ctrd_label *labels,
		   size_t nlabels, struct ctrd_mounts *mounts, struct err *e);
// Mounts of the active or view snapshot key.
int ctrd_snap_mounts(struct ctrd_session *s, const char *key, struct ctrd_mounts *mounts, struct err *e);
// Commit the active snapshot key as name with labels (containerd keeps only
// these: pass containerd.io/snapshot.ref again).
int ctrd_snap_commit(struct ctrd_session *s, const char *name, const char *key, const struct ctrd_label *labels,
		     size_t nlabels, struct err *e);
// Remove the snapshot key (its directory goes at containerd's next GC).
int ctrd_snap_remove(struct ctrd_session *s, const char *key, struct err *e);
// Stat of key (a key or a committed name): ERR_NOTFOUND when there is none.
int ctrd_snap_stat(struct ctrd_session *s, const char *key, struct ctrd_info *info, struct err *e);
// List the snapshots matching any of filters (containerd's filter syntax,
// e.g. `kind==active,name~="^imgpull-"`; none: all), at most CTRD_LIST_MAX.
int ctrd_snap_list(struct ctrd_session *s, const char *const *filters, size_t nfilters, struct ctrd_infos *out,
		   struct err *e);

// The bound of a Prepare: CTRD_CALL_TIMEOUT_S, except for native with a parent,
// which copies the parent's bytes (cri_pull_bound_s of them).
long ctrd_prepare_bound_s(const char *snapshotter, const char *parent, uint64_t parent_bytes);

// The wire forms, for tests. Prepare and View requests have the same fields.
int ctrd_snap_encode_prepare(struct buf *out, const char *snapshotter, const char *key, const char *parent,
			     const struct ctrd_label *labels, size_t nlabels);
// MountsRequest, RemoveSnapshotRequest, StatSnapshotRequest: {1 snapshotter, 2 key}.
int ctrd_snap_encode_key(struct buf *out, const char *snapshotter, const char *key);
int ctrd_snap_encode_commit(struct buf *out, const char *snapshotter, const char *name, const char *key,
			    const struct ctrd_label *labels, size_t nlabels);
int ctrd_snap_encode_list(struct buf *out, const char *snapshotter, const char *const *filters, size_t nfilters);
// Prepare, View and Mounts answers ({1 repeated Mount}); ERR_NETWORK when malformed or past the caps.
int ctrd_snap_decode_mounts(const void *msg, size_t len, struct ctrd_mounts *out, struct err *e);
// StatSnapshotResponse {1 Info}.
int ctrd_snap_decode_stat(const void *msg, size_t len, struct ctrd_info *out, struct err *e);
// One ListSnapshotsResponse {1 repeated Info}, appended to out.
int ctrd_snap_decode_list(const void *msg, size_t len, struct ctrd_infos *out, struct err *e);
// A List answer: each of its frames.
int ctrd_snap_decode_list_frames(const void *data, size_t len, struct ctrd_infos *out, struct err *e);

#endif
