// SPDX-License-Identifier: Apache-2.0
#include "ctrd/session.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void ctrd_session_init(struct ctrd_session *s, const char *socket, const char *snapshotter, double deadline)
{
	memset(s, 0, sizeof(*s));
	s->socket = socket;
	s->ns = CTRD_NAMESPACE;
	s->snapshotter = snapshotter;
	s->timeout_s = CTRD_CALL_TIMEOUT_S;
	s->deadline = deadline;
	s->status.code = GRPC_NO_STATUS;
}

static bool id_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool ctrd_id_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > CTRD_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (id_alnum(s[i]))
			continue;
		// A separator between two alphanumerics.
		if (!strchr("._-", s[i]) || i == 0 || i + 1 == n || !id_alnum(s[i - 1]) || !id_alnum(s[i + 1]))
			return false;
	}
	return true;
}

int ctrd_session_set_lease(struct ctrd_session *s, const char *id, struct err *e)
{
	if (!id || !*id) {
		s->lease[0] = '\0';
		return 0;
	}
	if (!ctrd_id_valid(id))
		return err_set(e, ERR_USAGE, "'%.100s' is not a containerd lease id", id);
	snprintf(s->lease, sizeof(s->lease), "%s", id);
	return 0;
}

int ctrd_call(struct ctrd_session *s, const char *path, const struct buf *msg, bool with_lease, long bound_s,
	      size_t max_answer, struct buf *answer, struct err *e)
{
	s->status.code = GRPC_NO_STATUS;
	s->status.message[0] = '\0';
	buf_init(answer, max_answer);
	if (!ctrd_id_valid(s->ns))
		return err_set(e, ERR_USAGE, "'%.100s' is not a containerd namespace", s->ns ? s->ns : "");
	char ns[32 + CTRD_ID_MAX], lease[32 + CTRD_ID_MAX];
	snprintf(ns, sizeof(ns), "containerd-namespace: %s", s->ns);
	snprintf(lease, sizeof(lease), "containerd-lease: %s", s->lease);
	const char *headers[3] = {ns, with_lease && s->lease[0] ? lease : NULL, NULL};
	struct grpc_request req = {.socket = s->socket, .path = path, .headers = headers, .msg = msg,
				   .max_answer = max_answer,
				   .timeout_s = grpc_timeout_s(bound_s > 0 ? bound_s : s->timeout_s, s->deadline),
				   .service = "containerd"};
	return grpc_call(&req, &s->status, answer, e);
}

int ctrd_unframe(const struct buf *answer, const char *what, const void **msg, size_t *len, struct err *e)
{
	if (grpc_unframe(answer->data, answer->len, msg, len) < 0)
		return err_set(e, ERR_NETWORK, "containerd's %s answer is not one gRPC message", what);
	return 0;
}

void ctrd_labels_free(struct ctrd_labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free((char *)l->v[i].key);
		free((char *)l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const char *ctrd_labels_get(const struct ctrd_labels *l, const char *key)
{
	for (size_t i = l->n; i-- > 0;) // the last one wins, as in a Go map decoded
		if (strcmp(l->v[i].key, key) == 0)
			return l->v[i].value;
	return NULL;
}

int ctrd_put_labels(struct buf *out, unsigned field, const struct ctrd_label *labels, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!labels[i].value)
			continue;
		if (!labels[i].key || strlen(labels[i].key) + strlen(labels[i].value) > CTRD_LABEL_MAX)
			return -1;
		if (pb_put_map_entry(out, field, labels[i].key, labels[i].value) < 0)
			return -1;
	}
	return 0;
}

int ctrd_get_label(const struct pb_field *f, struct ctrd_labels *l)
{
	if (l->n >= CTRD_LABELS_MAX)
		return -1;
	char *k, *v;
	if (pb_get_map_entry(f, CTRD_LABEL_MAX, &k, &v) < 0)
		return -1;
	if (!*k) { // containerd never sets a label without a key
		free(k);
		free(v);
		return -1;
	}
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n].key = k;
	l->v[l->n].value = v;
	l->n++;
	return 0;
}

int ctrd_get_timestamp(const struct pb_field *f, int64_t *seconds)
{
	if (f->wire != PB_LEN)
		return -1;
	struct pb_reader r;
	struct pb_field g;
	pb_reader_init(&r, f->data, f->len);
	*seconds = 0;
	int n;
	while ((n = pb_next(&r, &g)) > 0)
		if (g.number == 1 && pb_get_int64(&g, seconds) < 0)
			return -1;
	return n;
}

int ctrd_get_string(const struct pb_field *f, char **out)
{
	char *s;
	if (pb_get_string(f, CTRD_STRING_MAX, &s) < 0)
		return -1;
	free(*out);
	*out = s;
	return 0;
}
