// SPDX-License-Identifier: Apache-2.0
#include "ctrd/leases.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define LEASE_SERVICE "/containerd.services.leases.v1.Leases/"
#define LEASE_MSG_MAX (64u << 10)

// Field numbers (api/services/leases/v1/leases.proto): CreateRequest has no field 2.
enum { CREATE_ID = 1, CREATE_LABELS = 3 };
enum { DELETE_ID = 1, DELETE_SYNC = 2 };
enum { ADD_ID = 1, ADD_RESOURCE = 2 };
enum { RESOURCE_ID = 1, RESOURCE_TYPE = 2 };
enum { LIST_FILTERS = 1 };
enum { CREATE_RESP_LEASE = 1, LIST_RESP_LEASES = 1 };
enum { LEASE_ID = 1, LEASE_CREATED = 2, LEASE_LABELS = 3 };

void ctrd_lease_free(struct ctrd_lease *l)
{
	free(l->id);
	ctrd_labels_free(&l->labels);
	memset(l, 0, sizeof(*l));
}

void ctrd_leases_free(struct ctrd_leases *l)
{
	for (size_t i = 0; i < l->n; i++)
		ctrd_lease_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int ctrd_lease_encode_create(struct buf *out, const char *id, const struct ctrd_label *labels, size_t nlabels)
{
	if (pb_put_string(out, CREATE_ID, id) < 0)
		return -1;
	return ctrd_put_labels(out, CREATE_LABELS, labels, nlabels);
}

int ctrd_lease_encode_delete(struct buf *out, const char *id, bool sync)
{
	if (pb_put_string(out, DELETE_ID, id) < 0)
		return -1;
	return pb_put_bool(out, DELETE_SYNC, sync);
}

int ctrd_lease_encode_add_resource(struct buf *out, const char *id, const char *res_id, const char *res_type)
{
	struct buf res;
	buf_init(&res, out->max);
	int r = pb_put_string(out, ADD_ID, id);
	if (r == 0)
		r = pb_put_string(&res, RESOURCE_ID, res_id);
	if (r == 0)
		r = pb_put_string(&res, RESOURCE_TYPE, res_type);
	if (r == 0)
		r = pb_put_message(out, ADD_RESOURCE, &res);
	buf_release(&res);
	return r;
}

int ctrd_lease_encode_list(struct buf *out, const char *const *filters, size_t nfilters)
{
	for (size_t i = 0; i < nfilters; i++)
		if (pb_put_string(out, LIST_FILTERS, filters[i]) < 0)
			return -1;
	return 0;
}

// One Lease message into *l (zeroed by the caller); -1 when malformed.
static int decode_lease(const struct pb_field *f, struct ctrd_lease *l)
{
	if (f->wire != PB_LEN)
		return -1;
	struct pb_reader r;
	struct pb_field g;
	pb_reader_init(&r, f->data, f->len);
	int n;
	while ((n = pb_next(&r, &g)) > 0) {
		if (g.number == LEASE_ID)
			n = ctrd_get_string(&g, &l->id);
		else if (g.number == LEASE_CREATED)
			n = ctrd_get_timestamp(&g, &l->created_s);
		else if (g.number == LEASE_LABELS)
			n = ctrd_get_label(&g, &l->labels);
		if (n < 0)
			return -1;
	}
	if (n < 0 || !l->id || !l->id[0])
		return -1;
	return 0;
}

int ctrd_lease_decode_create(const void *msg, size_t len, struct ctrd_lease *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	struct pb_reader r;
	struct pb_field f;
	pb_reader_init(&r, msg, len);
	int n;
	bool seen = false;
	while ((n = pb_next(&r, &f)) > 0) {
		if (f.number != CREATE_RESP_LEASE)
			continue;
		ctrd_lease_free(out);
		if (decode_lease(&f, out) < 0) {
			n = -1;
			break;
		}
		seen = true;
	}
	if (n < 0 || !seen) {
		ctrd_lease_free(out);
		return err_set(e, ERR_NETWORK, "containerd's lease Create answer is malformed");
	}
	return 0;
}

int ctrd_lease_decode_list(const void *msg, size_t len, struct ctrd_leases *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	struct pb_reader r;
	struct pb_field f;
	pb_reader_init(&r, msg, len);
	int n;
	while ((n = pb_next(&r, &f)) > 0) {
		if (f.number != LIST_RESP_LEASES)
			continue;
		if (out->n >= CTRD_LIST_MAX) {
			n = -1;
			break;
		}
		out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
		memset(&out->v[out->n], 0, sizeof(out->v[0]));
		out->n++;
		if (decode_lease(&f, &out->v[out->n - 1]) < 0) {
			n = -1;
			break;
		}
	}
	if (n < 0) {
		ctrd_leases_free(out);
		return err_set(e, ERR_NETWORK, "containerd's lease List answer is malformed or over %d leases",
			       CTRD_LIST_MAX);
	}
	return 0;
}

// One call of method with msg; the answer's one message handed to decode (NULL: Empty).
static int lease_call(struct ctrd_session *s, const char *method, const struct buf *msg, size_t max,
		      int (*decode)(const void *, size_t, void *, struct err *), void *out, struct err *e)
{
	struct buf answer;
	if (ctrd_call(s, method, msg, false, 0, max, &answer, e) < 0)
		return -1;
	const void *m;
	size_t len;
	int r = 0;
	if (decode) {
		r = ctrd_unframe(&answer, strrchr(method, '.') + 1, &m, &len, e); // "Leases/List"
		if (r == 0)
			r = decode(m, len, out, e);
	}
	buf_release(&answer);
	return r;
}

static int decode_create(const void *m, size_t len, void *out, struct err *e)
{
	return ctrd_lease_decode_create(m, len, out, e);
}

static int decode_list(const void *m, size_t len, void *out, struct err *e)
{
	return ctrd_lease_decode_list(m, len, out, e);
}

int ctrd_lease_create(struct ctrd_session *s, const char *id, const struct ctrd_label *labels, size_t nlabels,
		      struct err *e)
{
	if (!ctrd_id_valid(id))
		return err_set(e, ERR_USAGE, "'%.100s' is not a containerd lease id", id ? id : "");
	struct buf msg;
	buf_init(&msg, LEASE_MSG_MAX);
	struct ctrd_lease got = {0};
	int r = ctrd_lease_encode_create(&msg, id, labels, nlabels) < 0
			? err_set(e, ERR_USAGE, "the lease Create request for '%s' is too large", id)
			: lease_call(s, LEASE_SERVICE "Create", &msg, CTRD_ANSWER_MAX, decode_create, &got, e);
	if (r == 0 && strcmp(got.id, id) != 0)
		r = err_set(e, ERR_NETWORK, "containerd created lease '%.100s' when asked for '%s'", got.id, id);
	ctrd_lease_free(&got);
	buf_release(&msg);
	return r;
}

int ctrd_lease_delete(struct ctrd_session *s, const char *id, bool sync, struct err *e)
{
	struct buf msg;
	buf_init(&msg, LEASE_MSG_MAX);
	int r = ctrd_lease_encode_delete(&msg, id, sync) < 0
			? err_set(e, ERR_USAGE, "the lease Delete request is too large")
			: lease_call(s, LEASE_SERVICE "Delete", &msg, CTRD_ANSWER_MAX, NULL, NULL, e);
	buf_release(&msg);
	return r;
}

int ctrd_lease_add_resource(struct ctrd_session *s, const char *id, const char *res_id, const char *res_type,
			    struct err *e)
{
	struct buf msg;
	buf_init(&msg, LEASE_MSG_MAX);
	int r = ctrd_lease_encode_add_resource(&msg, id, res_id, res_type) < 0
			? err_set(e, ERR_USAGE, "the lease AddResource request is too large")
			: lease_call(s, LEASE_SERVICE "AddResource", &msg, CTRD_ANSWER_MAX, NULL, NULL, e);
	buf_release(&msg);
	return r;
}

int ctrd_lease_list(struct ctrd_session *s, const char *const *filters, size_t nfilters, struct ctrd_leases *out,
		    struct err *e)
{
	memset(out, 0, sizeof(*out));
	struct buf msg;
	buf_init(&msg, LEASE_MSG_MAX);
	int r = ctrd_lease_encode_list(&msg, filters, nfilters) < 0
			? err_set(e, ERR_USAGE, "the lease List request is too large")
			: lease_call(s, LEASE_SERVICE "List", &msg, CTRD_LIST_ANSWER_MAX, decode_list, out, e);
	buf_release(&msg);
	return r;
}
