// SPDX-License-Identifier: Apache-2.0
#include "transport/grpc.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/http.h"
#include "util/clock.h"
#include "util/mem.h"

#define GRPC_HEADERS_MAX 16 // extra headers of one call

enum err_class grpc_code_class(int code)
{
	switch (code) {
	case GRPC_OK:
		return ERR_NONE;
	case GRPC_NOT_FOUND:
		return ERR_NOTFOUND;
	case GRPC_UNAUTHENTICATED:
	case GRPC_PERMISSION_DENIED:
		return ERR_AUTH;
	case GRPC_INVALID_ARGUMENT:
		return ERR_USAGE;
	case GRPC_ALREADY_EXISTS:
	case GRPC_FAILED_PRECONDITION:
	case GRPC_RESOURCE_EXHAUSTED:
	case GRPC_OUT_OF_RANGE:
		return ERR_STORAGE;
	case GRPC_DATA_LOSS:
		return ERR_INTEGRITY;
	default: // UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, UNKNOWN, INTERNAL, ...
		return ERR_NETWORK;
	}
}

const char *grpc_code_name(int code)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
		"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
		"OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
	};
	if (code >= 0 && (size_t)code < sizeof(names) / sizeof(names[0]))
		return names[code];
	return code == GRPC_NO_STATUS ? "no status" : "unknown status";
}

long grpc_timeout_s(long bound_s, double deadline)
{
	if (deadline <= 0)
		return bound_s;
	double left = deadline - clock_mono();
	if (left < 1)
		return 1;
	return left < (double)bound_s ? (long)left + 1 : bound_s;
}

void grpc_message_decode(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = in; *p && o + 4 < cap; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
			char hex[3] = {p[1], p[2], 0};
			c = (unsigned char)strtol(hex, NULL, 16);
			p += 2;
		}
		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (*in && o + 4 >= cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

int grpc_frame(struct buf *out, const struct buf *msg)
{
	if (msg->len > UINT32_MAX)
		return -1;
	unsigned char h[5] = {0, (unsigned char)(msg->len >> 24), (unsigned char)(msg->len >> 16),
			      (unsigned char)(msg->len >> 8), (unsigned char)msg->len};
	if (buf_add(out, h, sizeof(h)) < 0)
		return -1;
	return msg->len ? buf_add(out, msg->data, msg->len) : 0;
}

void grpc_frames_init(struct grpc_frames *it, const void *data, size_t len)
{
	it->p = data;
	it->end = it->p + len;
	it->bad = false;
}

int grpc_frames_next(struct grpc_frames *it, const void **msg, size_t *len)
{
	if (it->bad)
		return -1;
	if (it->p == it->end)
		return 0;
	size_t left = (size_t)(it->end - it->p);
	const unsigned char *p = it->p;
	uint32_t n = left >= 5 ? (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4] : 0;
	if (left < 5 || p[0] != 0 || n > left - 5) { // short, compressed (never asked for) or truncated
		it->bad = true;
		return -1;
	}
	*msg = p + 5;
	*len = n;
	it->p = p + 5 + n;
	return 1;
}

int grpc_unframe(const void *data, size_t len, const void **msg, size_t *msg_len)
{
	struct grpc_frames it;
	grpc_frames_init(&it, data, len);
	if (!data || grpc_frames_next(&it, msg, msg_len) != 1 || it.p != it.end)
		return -1; // none, malformed, or more than one
	return 0;
}

// The header list of a call: gRPC's own, then the caller's.
static int grpc_headers(const struct grpc_request *req, const char **out, struct err *e)
{
	size_t n = 0;
	out[n++] = "Content-Type: application/grpc";
	out[n++] = "TE: trailers";
	for (const char *const *h = req->headers; h && *h; h++) {
		if (n + 1 >= GRPC_HEADERS_MAX || strpbrk(*h, "\r\n"))
			return err_set(e, ERR_INTERNAL, "%s: a bad or too many headers for %s", req->service, req->path);
		out[n++] = *h;
	}
	out[n] = NULL;
	return 0;
}

int grpc_status_check(const struct grpc_request *req, long http, const char *status, const char *message,
		      struct grpc_status *st, struct err *e)
{
	st->code = GRPC_NO_STATUS;
	st->message[0] = '\0';
	if (http != 200 || !status) {
		return err_set(e, ERR_NETWORK, "%s: %s does not answer %s as a gRPC service (HTTP %ld%s)", req->service,
			       req->socket, req->path, http, status ? "" : ", no grpc-status");
	}
	char *end;
	long code = strtol(status, &end, 10);
	if (end == status || *end || code < 0 || code > 99)
		return err_set(e, ERR_NETWORK, "%s: %s answers %s with a malformed grpc-status", req->service,
			       req->socket, req->path);
	st->code = (int)code;
	grpc_message_decode(message ? message : "", st->message, sizeof(st->message));
	if (code == GRPC_OK)
		return 0;
	const char *method = strrchr(req->path, '.'); // "Snapshots/Stat" of "/containerd.services....Snapshots/Stat"
	return err_set(e, grpc_code_class(st->code), "%s: %s: %s (gRPC status %d %s)", req->service,
		       method ? method + 1 : req->path, st->message[0] ? st->message : "no message", st->code,
		       grpc_code_name(st->code));
}

int grpc_call(const struct grpc_request *req, struct grpc_status *st, struct buf *answer, struct err *e)
{
	st->code = GRPC_NO_STATUS;
	st->message[0] = '\0';
	buf_init(answer, req->max_answer);
	const char *headers[GRPC_HEADERS_MAX + 1];
	if (grpc_headers(req, headers, e) < 0)
		return -1;
	struct buf framed;
	buf_init(&framed, req->msg->len + 5);
	char *vals[2] = {NULL, NULL};
	int ret = -1;
	if (grpc_frame(&framed, req->msg) < 0) {
		err_set(e, ERR_USAGE, "%s: the %s request is too large", req->service, req->path);
		goto out;
	}
	static const char *const want[] = {"grpc-status", "grpc-message"};
	struct http_unix_post post = {.socket = req->socket, .path = req->path, .headers = headers, .body = framed.data,
				      .body_len = framed.len, .max_body = req->max_answer, .timeout_s = req->timeout_s,
				      .want = want, .nwant = 2};
	long http = 0;
	if (http_unix_post(&post, &http, answer, vals, e) < 0) {
		err_wrap(e, "%s", req->service);
		goto out;
	}
	ret = grpc_status_check(req, http, vals[0], vals[1], st, e);
out:
	if (framed.data)
		explicit_bzero(framed.data, framed.len); // it may hold a credential
	buf_release(&framed);
	if (ret < 0)
		buf_release(answer);
	free(vals[0]);
	free(vals[1]);
	return ret;
}
