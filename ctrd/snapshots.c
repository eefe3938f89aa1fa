// SPDX-License-Identifier: Apache-2.0
#include "ctrd/snapshots.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cri/cri.h"
#include "util/mem.h"

#define SNAP_SERVICE "/containerd.services.snapshots.v1.Snapshots/"
#define SNAP_MSG_MAX (64u << 10) // a request: a few names and labels

// Field numbers (api/services/snapshots/v1/snapshots.proto, api/types/mount.proto).
enum { PREPARE_SNAPSHOTTER = 1, PREPARE_KEY = 2, PREPARE_PARENT = 3, PREPARE_LABELS = 4 };
enum { KEY_SNAPSHOTTER = 1, KEY_KEY = 2 };
enum { COMMIT_SNAPSHOTTER = 1, COMMIT_NAME = 2, COMMIT_KEY = 3, COMMIT_LABELS = 4 };
enum { LIST_SNAPSHOTTER = 1, LIST_FILTERS = 2 };
enum { MOUNTS_RESP_MOUNTS = 1, STAT_RESP_INFO = 1, LIST_RESP_INFO = 1 };
enum { MOUNT_TYPE = 1, MOUNT_SOURCE = 2, MOUNT_TARGET = 3, MOUNT_OPTIONS = 4 };
enum { INFO_NAME = 1, INFO_PARENT = 2, INFO_KIND = 3, INFO_CREATED = 4, INFO_UPDATED = 5, INFO_LABELS = 6 };

const char *ctrd_kind_name(int kind)
{
	static const char *const names[] = {"unknown", "view", "active", "committed"};
	return kind >= 0 && kind <= CTRD_KIND_COMMITTED ? names[kind] : "unknown";
}

static void mount_free(struct ctrd_mount *m)
{
	free(m->type);
	free(m->source);
	free(m->target);
	for (size_t i = 0; i < m->noptions; i++)
		free(m->options[i]);
	free(m->options);
}

void ctrd_mounts_free(struct ctrd_mounts *m)
{
	for (size_t i = 0; i < m->n; i++)
		mount_free(&m->v[i]);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

void ctrd_info_free(struct ctrd_info *i)
{
	free(i->name);
	free(i->parent);
	ctrd_labels_free(&i->labels);
	memset(i, 0, sizeof(*i));
}

void ctrd_infos_free(struct ctrd_infos *l)
{
	for (size_t i = 0; i < l->n; i++)
		ctrd_info_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int ctrd_snap_encode_prepare(struct buf *out, const char *snapshotter, const char *key, const char *parent,
			     const struct ctrd_label *labels, size_t nlabels)
{
	if (pb_put_string(out, PREPARE_SNAPSHOTTER, snapshotter) < 0 || pb_put_string(out, PREPARE_KEY, key) < 0 ||
	    pb_put_string(out, PREPARE_PARENT, parent) < 0)
		return -1;
	return ctrd_put_labels(out, PREPARE_LABELS, labels, nlabels);
}

int ctrd_snap_encode_key(struct buf *out, const char *snapshotter, const char *key)
{
	if (pb_put_string(out, KEY_SNAPSHOTTER, snapshotter) < 0)
		return -1;
	return pb_put_string(out, KEY_KEY, key);
}

int ctrd_snap_encode_commit(struct buf *out, const char *snapshotter, const char *name, const char *key,
			    const struct ctrd_label *labels, size_t nlabels)
{
	if (pb_put_string(out, COMMIT_SNAPSHOTTER, snapshotter) < 0 || pb_put_string(out, COMMIT_NAME, name) < 0 ||
	    pb_put_string(out, COMMIT_KEY, key) < 0)
		return -1;
	return ctrd_put_labels(out, COMMIT_LABELS, labels, nlabels);
}

int ctrd_snap_encode_list(struct buf *out, const char *snapshotter, const char *const *filters, size_t nfilters)
{
	if (pb_put_string(out, LIST_SNAPSHOTTER, snapshotter) < 0)
		return -1;
	for (size_t i = 0; i < nfilters; i++)
		if (pb_put_string(out, LIST_FILTERS, filters[i]) < 0)
			return -1;
	return 0;
}

// One Mount message into *m (zeroed by the caller); -1 when malformed.
static int decode_mount(const struct pb_field *f, struct ctrd_mount *m)
{
	if (f->wire != PB_LEN)
		return -1;
	struct pb_reader r;
	struct pb_field g;
	pb_reader_init(&r, f->data, f->len);
	int n;
	while ((n = pb_next(&r, &g)) > 0) {
		char *opt = NULL;
		switch (g.number) {
		case MOUNT_TYPE:
			n = ctrd_get_string(&g, &m->type);
			break;
		case MOUNT_SOURCE:
			n = ctrd_get_string(&g, &m->source);
			break;
		case MOUNT_TARGET:
			n = ctrd_get_string(&g, &m->target);
			break;
		case MOUNT_OPTIONS:
			if (m->noptions >= CTRD_OPTIONS_MAX || pb_get_string(&g, CTRD_OPTION_MAX, &opt) < 0)
				return -1;
			m->options = xrealloc(m->options, (m->noptions + 1) * sizeof(*m->options));
			m->options[m->noptions++] = opt;
			break;
		default:
			break; // a field of a later version
		}
		if (n < 0)
			return -1;
	}
	if (n < 0)
		return -1;
	// Never NULL for the reader.
	char **s[] = {&m->type, &m->source, &m->target};
	for (size_t i = 0; i < 3; i++)
		if (!*s[i])
			*s[i] = xstrdup("");
	return 0;
}

int ctrd_snap_decode_mounts(const void *msg, size_t len, struct ctrd_mounts *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	struct pb_reader r;
	struct pb_field f;
	pb_reader_init(&r, msg, len);
	int n;
	while ((n = pb_next(&r, &f)) > 0) {
		if (f.number != MOUNTS_RESP_MOUNTS)
			continue;
		if (out->n >= CTRD_MOUNTS_MAX) {
			n = -1;
			break;
		}
		out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
		memset(&out->v[out->n], 0, sizeof(out->v[0]));
		out->n++; // freed with the rest when it is malformed
		if (decode_mount(&f, &out->v[out->n - 1]) < 0) {
			n = -1;
			break;
		}
	}
	if (n < 0) {
		ctrd_mounts_free(out);
		return err_set(e, ERR_NETWORK, "containerd's mounts answer is malformed or over %d mounts", CTRD_MOUNTS_MAX);
	}
	return 0;
}

// One Info message into *i (zeroed by the caller); -1 when malformed.
static int decode_info(const struct pb_field *f, struct ctrd_info *i)
{
	if (f->wire != PB_LEN)
		return -1;
	struct pb_reader r;
	struct pb_field g;
	pb_reader_init(&r, f->data, f->len);
	int n;
	while ((n = pb_next(&r, &g)) > 0) {
		switch (g.number) {
		case INFO_NAME:
			n = ctrd_get_string(&g, &i->name);
			break;
		case INFO_PARENT:
			n = ctrd_get_string(&g, &i->parent);
			break;
		case INFO_KIND:
			n = g.wire == PB_VARINT && g.varint <= INT_MAX ? 0 : -1;
			i->kind = (int)g.varint;
			break;
		case INFO_CREATED:
			n = ctrd_get_timestamp(&g, &i->created_s);
			break;
		case INFO_UPDATED:
			n = ctrd_get_timestamp(&g, &i->updated_s);
			break;
		case INFO_LABELS:
			n = ctrd_get_label(&g, &i->labels);
			break;
		default:
			break;
		}
		if (n < 0)
			return -1;
	}
	if (n < 0)
		return -1;
	if (!i->name)
		i->name = xstrdup("");
	if (!i->parent)
		i->parent = xstrdup("");
	return 0;
}

int ctrd_snap_decode_stat(const void *msg, size_t len, struct ctrd_info *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	struct pb_reader r;
	struct pb_field f;
	pb_reader_init(&r, msg, len);
	int n;
	bool seen = false;
	while ((n = pb_next(&r, &f)) > 0) {
		if (f.number != STAT_RESP_INFO)
			continue;
		ctrd_info_free(out); // the last one wins
		if (decode_info(&f, out) < 0) {
			n = -1;
			break;
		}
		seen = true;
	}
	if (n < 0 || !seen || !out->name[0]) {
		ctrd_info_free(out);
		return err_set(e, ERR_NETWORK, "containerd's snapshot Stat answer is malformed");
	}
	return 0;
}

int ctrd_snap_decode_list(const void *msg, size_t len, struct ctrd_infos *out, struct err *e)
{
	struct pb_reader r;
	struct pb_field f;
	pb_reader_init(&r, msg, len);
	int n;
	while ((n = pb_next(&r, &f)) > 0) {
		if (f.number != LIST_RESP_INFO)
			continue;
		if (out->n >= CTRD_LIST_MAX)
			return err_set(e, ERR_NETWORK, "containerd lists more than %d snapshots", CTRD_LIST_MAX);
		out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
		memset(&out->v[out->n], 0, sizeof(out->v[0]));
		out->n++;
		if (decode_info(&f, &out->v[out->n - 1]) < 0) {
			n = -1;
			break;
		}
	}
	if (n < 0)
		return err_set(e, ERR_NETWORK, "containerd's snapshot List answer is malformed");
	return 0;
}

int ctrd_snap_decode_list_frames(const void *data, size_t len, struct ctrd_infos *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	struct grpc_frames it;
	grpc_frames_init(&it, data, len);
	const void *msg;
	size_t mlen;
	int n;
	while ((n = grpc_frames_next(&it, &msg, &mlen)) > 0)
		if (ctrd_snap_decode_list(msg, mlen, out, e) < 0)
			break;
	if (n != 0) {
		if (n < 0)
			err_set(e, ERR_NETWORK, "containerd's snapshot List answer has a malformed frame");
		ctrd_infos_free(out);
		return -1;
	}
	return 0;
}

// A call whose answer is mounts (Prepare, View, Mounts).
static int snap_mounts_call(struct ctrd_session *s, const char *method, const struct buf *msg, bool with_lease,
			    long bound_s, struct ctrd_mounts *mounts, struct err *e)
{
	struct buf answer;
	if (ctrd_call(s, method, msg, with_lease, bound_s, CTRD_ANSWER_MAX, &answer, e) < 0)
		return -1;
	const void *m;
	size_t len;
	int r = ctrd_unframe(&answer, "snapshot mounts", &m, &len, e);
	if (r == 0)
		r = ctrd_snap_decode_mounts(m, len, mounts, e);
	buf_release(&answer);
	return r;
}

// A call whose answer is Empty (Commit, Remove).
static int snap_empty_call(struct ctrd_session *s, const char *method, const struct buf *msg, bool with_lease,
			   struct err *e)
{
	struct buf answer;
	if (ctrd_call(s, method, msg, with_lease, 0, CTRD_ANSWER_MAX, &answer, e) < 0)
		return -1;
	buf_release(&answer); // google.protobuf.Empty: nothing to read
	return 0;
}

static int too_large(const char *what, const char *key, struct err *e)
{
	return err_set(e, ERR_USAGE, "the snapshot %s request for '%.200s' is too large", what, key ? key : "");
}

int ctrd_snap_prepare(struct ctrd_session *s, const char *key, const char *parent, const struct ctrd_label *labels,
		      size_t nlabels, long bound_s, struct ctrd_mounts *mounts, struct err *e)
{
	memset(mounts, 0, sizeof(*mounts));
	struct buf msg;
	buf_init(&msg, SNAP_MSG_MAX);
	int r = ctrd_snap_encode_prepare(&msg, s->snapshotter, key, parent, labels, nlabels) < 0
			? too_large("Prepare", key, e)
			: snap_mounts_call(s, SNAP_SERVICE "Prepare", &msg, true, bound_s, mounts, e);
	buf_release(&msg);
	return r;
}

int ctrd_snap_view(struct ctrd_session *s, const char *key, const char *parent, const struct ctrd_label *labels,
		   size_t nlabels, struct ctrd_mounts *mounts, struct err *e)
{
	memset(mounts, 0, sizeof(*mounts));
	struct buf msg;
	buf_init(&msg, SNAP_MSG_MAX);
	int r = ctrd_snap_encode_prepare(&msg, s->snapshotter, key, parent, labels, nlabels) < 0
			? too_large("View", key, e)
			: snap_mounts_call(s, SNAP_SERVICE "View", &msg, true, 0, mounts, e);
	buf_release(&msg);
	return r;
}

int ctrd_snap_mounts(struct ctrd_session *s, const char *key, struct ctrd_mounts *mounts, struct err *e)
{
	memset(mounts, 0, sizeof(*mounts));
	struct buf msg;
	buf_init(&msg, SNAP_MSG_MAX);
	int r = ctrd_snap_encode_key(&msg, s->snapshotter, key) < 0
			? too_large("Mounts", key, e)
			: snap_mounts_call(s, SNAP_SERVICE "Mounts", &msg, false, 0, mounts, e);
	buf_release(&msg);
	return r;
}

int ctrd_snap_commit(struct ctrd_session *s, const char *name, const char *key, const struct ctrd_label *labels,
		     size_t nlabels, struct err *e)
{
	struct buf msg;
	buf_init(&msg, SNAP_MSG_MAX);
	int r = ctrd_snap_encode_commit(&msg, s->snapshotter, name, key, labels, nlabels) < 0
			? too_large("Commit", key, e)
			: snap_empty_call(s, SNAP_SERVICE "Commit", &msg, true, e);
	buf_release(&msg);
	return r;
}

int ctrd_snap_remove(struct ctrd_session *s, const char *key, struct err *e)
{
	struct buf msg;
	buf_init(&msg, SNAP_MSG_MAX);
	int r = ctrd_snap_encode_key(&msg, s->snapshotter, key) < 0 ? too_large("Remove", key, e)
								      : snap_empty_call(s, SNAP_SERVICE "Remove", &msg, false, e);
	buf_release(&msg);
	return r;
}

int ctrd_snap_stat(struct ctrd_session *s, const char *key, struct ctrd_info *info, struct err *e)
{
	memset(info, 0, sizeof(*info));
	struct buf msg, answer;
	buf_init(&msg, SNAP_MSG_MAX);
	int r = ctrd_snap_encode_key(&msg, s->snapshotter, key) < 0
			? too_large("Stat", key, e)
			: ctrd_call(s, SNAP_SERVICE "Stat", &msg, false, 0, CTRD_ANSWER_MAX, &answer, e);
	buf_release(&msg);
	if (r < 0)
		return -1;
	const void *m;
	size_t len;
	r = ctrd_unframe(&answer, "snapshot Stat", &m, &len, e);
	if (r == 0)
		r = ctrd_snap_decode_stat(m, len, info, e);
	buf_release(&answer);
	return r;
}

int ctrd_snap_list(struct ctrd_session *s, const char *const *filters, size_t nfilters, struct ctrd_infos *out,
		   struct err *e)
{
	memset(out, 0, sizeof(*out));
	struct buf msg, answer;
	buf_init(&msg, SNAP_MSG_MAX);
	int r = ctrd_snap_encode_list(&msg, s->snapshotter, filters, nfilters) < 0
			? too_large("List", "", e)
			: ctrd_call(s, SNAP_SERVICE "List", &msg, false, 0, CTRD_LIST_ANSWER_MAX, &answer, e);
	buf_release(&msg);
	if (r < 0)
		return -1;
	r = ctrd_snap_decode_list_frames(answer.data, answer.len, out, e);
	buf_release(&answer);
	return r;
}

long ctrd_prepare_bound_s(const char *snapshotter, const char *parent, uint64_t parent_bytes)
{
	if (snapshotter && strcmp(snapshotter, "native") == 0 && parent && *parent)
		return cri_pull_bound_s(parent_bytes);
	return CTRD_CALL_TIMEOUT_S;
}
