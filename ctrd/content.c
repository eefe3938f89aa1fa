// SPDX-License-Identifier: Apache-2.0
#include "ctrd/content.h"

#include <stdlib.h>
#include <string.h>

#include "oci/digest.h"
#include "util/mem.h"

#define CONTENT_SERVICE "/containerd.services.content.v1.Content/"
#define CONTENT_MSG_MAX (64u << 10)

// Field numbers (api/services/content/v1/content.proto, google/protobuf/field_mask.proto).
enum { WRITE_COMMIT = 2 }; // WriteAction
enum { WREQ_ACTION = 1, WREQ_REF = 2, WREQ_TOTAL = 3, WREQ_EXPECTED = 4, WREQ_OFFSET = 5, WREQ_LABELS = 7 };
enum { WRESP_ACTION = 1, WRESP_OFFSET = 4, WRESP_TOTAL = 5, WRESP_DIGEST = 6 };
enum { INFO_DIGEST = 1, INFO_SIZE = 2, INFO_LABELS = 5 };
enum { INFO_REQ_DIGEST = 1, INFO_RESP_INFO = 1 };
enum { UPDATE_INFO = 1, UPDATE_MASK = 2, MASK_PATHS = 1 };

void ctrd_content_info_free(struct ctrd_content_info *i)
{
	free(i->digest);
	ctrd_labels_free(&i->labels);
	memset(i, 0, sizeof(*i));
}

int ctrd_content_encode_commit(struct buf *out, const char *ref, const char *digest, uint64_t size,
			       const struct ctrd_label *labels, size_t nlabels)
{
	if (size > (uint64_t)INT64_MAX)
		return -1;
	if (pb_put_varint_field(out, WREQ_ACTION, WRITE_COMMIT) < 0 || pb_put_string(out, WREQ_REF, ref) < 0 ||
	    pb_put_int64(out, WREQ_TOTAL, (int64_t)size) < 0 || pb_put_string(out, WREQ_EXPECTED, digest) < 0 ||
	    pb_put_int64(out, WREQ_OFFSET, (int64_t)size) < 0) // offset = size: nothing left to write
		return -1;
	return ctrd_put_labels(out, WREQ_LABELS, labels, nlabels);
}

int ctrd_content_encode_info(struct buf *out, const char *digest)
{
	return pb_put_string(out, INFO_REQ_DIGEST, digest);
}

int ctrd_content_encode_update(struct buf *out, const char *digest, const struct ctrd_label *labels, size_t nlabels)
{
	struct buf info, mask;
	buf_init(&info, out->max);
	buf_init(&mask, out->max);
	int r = pb_put_string(&info, INFO_DIGEST, digest);
	if (r == 0)
		r = ctrd_put_labels(&info, INFO_LABELS, labels, nlabels);
	for (size_t i = 0; r == 0 && i < nlabels; i++) {
		if (!labels[i].key || !*labels[i].key || strlen(labels[i].key) > CTRD_LABEL_MAX) {
			r = -1;
			break;
		}
		char *path = xasprintf("labels.%s", labels[i].key);
		r = pb_put_string(&mask, MASK_PATHS, path);
		free(path);
	}
	if (r == 0)
		r = pb_put_message(out, UPDATE_INFO, &info);
	if (r == 0)
		r = pb_put_message(out, UPDATE_MASK, &mask);
	buf_release(&info);
	buf_release(&mask);
	return r;
}

// One WriteContentResponse: the digest it names, if any, must be digest.
static int decode_write_one(const void *msg, size_t len, const char *digest, struct err *e)
{
	struct pb_reader r;
	struct pb_field f;
	pb_reader_init(&r, msg, len);
	int n;
	while ((n = pb_next(&r, &f)) > 0) {
		int64_t v;
		if ((f.number == WRESP_ACTION || f.number == WRESP_OFFSET || f.number == WRESP_TOTAL) &&
		    pb_get_int64(&f, &v) < 0)
			break;
		if (f.number != WRESP_DIGEST)
			continue;
		if (f.wire != PB_LEN)
			break;
		if (f.len && (f.len != strlen(digest) || memcmp(f.data, digest, f.len) != 0))
			return err_set(e, ERR_INTEGRITY, "containerd committed another digest than %s", digest);
	}
	if (n != 0)
		return err_set(e, ERR_NETWORK, "containerd's content Write answer is malformed");
	return 0;
}

int ctrd_content_decode_write(const void *data, size_t len, const char *digest, struct err *e)
{
	struct grpc_frames it;
	grpc_frames_init(&it, data, len);
	const void *msg;
	size_t mlen;
	int n, frames = 0;
	while ((n = grpc_frames_next(&it, &msg, &mlen)) > 0) {
		if (decode_write_one(msg, mlen, digest, e) < 0)
			return -1;
		frames++;
	}
	if (n < 0 || frames == 0)
		return err_set(e, ERR_NETWORK, "containerd's content Write answer is %s", n < 0 ? "malformed" : "empty");
	return 0;
}

static int decode_info(const struct pb_field *f, struct ctrd_content_info *i)
{
	if (f->wire != PB_LEN)
		return -1;
	struct pb_reader r;
	struct pb_field g;
	pb_reader_init(&r, f->data, f->len);
	int n;
	while ((n = pb_next(&r, &g)) > 0) {
		if (g.number == INFO_DIGEST)
			n = ctrd_get_string(&g, &i->digest);
		else if (g.number == INFO_SIZE)
			n = pb_get_int64(&g, &i->size);
		else if (g.number == INFO_LABELS)
			n = ctrd_get_label(&g, &i->labels);
		if (n < 0)
			return -1;
	}
	return n < 0 || !i->digest || i->size < 0 ? -1 : 0;
}

int ctrd_content_decode_info(const void *msg, size_t len, struct ctrd_content_info *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	struct pb_reader r;
	struct pb_field f;
	pb_reader_init(&r, msg, len);
	int n;
	bool seen = false;
	while ((n = pb_next(&r, &f)) > 0) {
		if (f.number != INFO_RESP_INFO)
			continue;
		ctrd_content_info_free(out);
		if (decode_info(&f, out) < 0) {
			n = -1;
			break;
		}
		seen = true;
	}
	if (n < 0 || !seen) {
		ctrd_content_info_free(out);
		return err_set(e, ERR_NETWORK, "containerd's content Info answer is malformed");
	}
	return 0;
}

int ctrd_content_register(struct ctrd_session *s, const char *digest, uint64_t size, const struct ctrd_label *labels,
			  size_t nlabels, struct err *e)
{
	if (oci_digest_check(digest, ERR_USAGE, e) < 0)
		return -1;
	_cleanup_free_ char *ref = xasprintf("imgpull-%s", digest);
	struct buf msg, answer;
	buf_init(&msg, CONTENT_MSG_MAX);
	int r = ctrd_content_encode_commit(&msg, ref, digest, size, labels, nlabels) < 0
			? err_set(e, ERR_USAGE, "the content Write request for %s is too large", digest)
			: ctrd_call(s, CONTENT_SERVICE "Write", &msg, true, 0, CTRD_ANSWER_MAX, &answer, e);
	buf_release(&msg);
	if (r < 0)
		return s->status.code == GRPC_ALREADY_EXISTS ? 0 : -1;
	r = ctrd_content_decode_write(answer.data, answer.len, digest, e);
	buf_release(&answer);
	return r < 0 ? -1 : 1;
}

// Info and Update: a request, an answer {1 Info} for digest.
static int info_call(struct ctrd_session *s, const char *method, const struct buf *msg, const char *digest,
		     struct ctrd_content_info *out, struct err *e)
{
	struct buf answer;
	if (ctrd_call(s, method, msg, false, 0, CTRD_ANSWER_MAX, &answer, e) < 0)
		return -1;
	const void *m;
	size_t len;
	int r = ctrd_unframe(&answer, "content Info", &m, &len, e);
	if (r == 0)
		r = ctrd_content_decode_info(m, len, out, e);
	if (r == 0 && strcmp(out->digest, digest) != 0) {
		ctrd_content_info_free(out);
		r = err_set(e, ERR_NETWORK, "containerd answers about another blob than %s", digest);
	}
	buf_release(&answer);
	return r;
}

int ctrd_content_info(struct ctrd_session *s, const char *digest, struct ctrd_content_info *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	if (oci_digest_check(digest, ERR_USAGE, e) < 0)
		return -1;
	struct buf msg;
	buf_init(&msg, CONTENT_MSG_MAX);
	int r = ctrd_content_encode_info(&msg, digest) < 0
			? err_set(e, ERR_USAGE, "the content Info request is too large")
			: info_call(s, CONTENT_SERVICE "Info", &msg, digest, out, e);
	buf_release(&msg);
	return r;
}

int ctrd_content_update(struct ctrd_session *s, const char *digest, const struct ctrd_label *labels, size_t nlabels,
			struct ctrd_content_info *out, struct err *e)
{
	struct ctrd_content_info tmp;
	struct ctrd_content_info *info = out ? out : &tmp;
	memset(info, 0, sizeof(*info));
	if (oci_digest_check(digest, ERR_USAGE, e) < 0)
		return -1;
	struct buf msg;
	buf_init(&msg, CONTENT_MSG_MAX);
	int r = ctrd_content_encode_update(&msg, digest, labels, nlabels) < 0
			? err_set(e, ERR_USAGE, "the content Update request for %s is too large", digest)
			: info_call(s, CONTENT_SERVICE "Update", &msg, digest, info, e);
	buf_release(&msg);
	if (!out)
		ctrd_content_info_free(&tmp);
	return r;
}
