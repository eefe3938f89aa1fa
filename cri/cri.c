// SPDX-License-Identifier: Apache-2.0
#include "cri/cri.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cri/proto.h"
#include "transport/http.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#define CRI_MSG_MAX (64u << 10)  // a request or an answer: a few strings
#define GRPC_MESSAGE_MAX 400     // of containerd's message, in ours

// runtime.v1 field numbers (k8s.io/cri-api pkg/apis/runtime/v1/api.proto).
enum { PULL_REQ_IMAGE = 1, PULL_REQ_AUTH = 2 };
enum { IMAGE_SPEC_IMAGE = 1 };
enum { AUTH_USERNAME = 1, AUTH_PASSWORD = 2, AUTH_SERVER_ADDRESS = 4, AUTH_REGISTRY_TOKEN = 6 };
enum { PULL_RESP_IMAGE_REF = 1 };
enum { VERSION_RESP_RUNTIME_NAME = 2, VERSION_RESP_RUNTIME_VERSION = 3 };

int cri_encode_pull_request(struct buf *out, const char *image, const struct cri_auth *auth)
{
	struct buf spec, a;
	buf_init(&spec, CRI_MSG_MAX);
	buf_init(&a, CRI_MSG_MAX);
	int r = pb_put_string(&spec, IMAGE_SPEC_IMAGE, image);
	if (r == 0)
		r = pb_put_message(out, PULL_REQ_IMAGE, &spec);
	if (r == 0 && auth) {
		r = pb_put_string(&a, AUTH_USERNAME, auth->username);
		if (r == 0)
			r = pb_put_string(&a, AUTH_PASSWORD, auth->password);
		if (r == 0)
			r = pb_put_string(&a, AUTH_SERVER_ADDRESS, auth->server_address);
		if (r == 0)
			r = pb_put_string(&a, AUTH_REGISTRY_TOKEN, auth->registry_token);
		if (r == 0 && a.len)
			r = pb_put_message(out, PULL_REQ_AUTH, &a);
	}
	if (a.data)
		explicit_bzero(a.data, a.len); // it held a credential
	buf_release(&spec);
	buf_release(&a);
	return r;
}

int cri_decode_pull_response(const void *data, size_t len, char **image_ref, struct err *e)
{
	struct pb_reader r;
	struct pb_field f;
	pb_reader_init(&r, data, len);
	*image_ref = NULL;
	int n;
	while ((n = pb_next(&r, &f)) > 0) {
		if (f.number != PULL_RESP_IMAGE_REF || f.wire != PB_LEN)
			continue; // fields of later versions
		if (f.len == 0 || f.len > 1024 || memchr(f.data, '\0', f.len)) {
			n = -1;
			break;
		}
		free(*image_ref);
		*image_ref = xstrndup((const char *)f.data, f.len);
	}
	if (n < 0 || !*image_ref) {
		free(*image_ref);
		*image_ref = NULL;
		return err_set(e, ERR_NETWORK, "containerd's PullImage answer is malformed");
	}
	return 0;
}

int cri_frame(struct buf *out, const struct buf *msg)
{
	unsigned char h[5] = {0, (unsigned char)(msg->len >> 24), (unsigned char)(msg->len >> 16),
			      (unsigned char)(msg->len >> 8), (unsigned char)msg->len};
	if (buf_add(out, h, sizeof(h)) < 0)
		return -1;
	return msg->len ? buf_add(out, msg->data, msg->len) : 0;
}

int cri_unframe(const void *data, size_t len, const void **msg, size_t *msg_len)
{
	const unsigned char *p = data;
	if (len < 5 || p[0] != 0) // 1: compressed, which we never asked for
		return -1;
	uint32_t n = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
	if (n != len - 5) // exactly one message
		return -1;
	*msg = p + 5;
	*msg_len = n;
	return 0;
}

enum err_class cri_status_class(int code, const char *message)
{
	const char *m = message ? message : "";
	switch (code) {
	case GRPC_UNAUTHENTICATED:
	case GRPC_PERMISSION_DENIED:
		return ERR_AUTH;
	case GRPC_NOT_FOUND:
		return ERR_NOTFOUND;
	case GRPC_INVALID_ARGUMENT:
		return ERR_USAGE;
	case GRPC_RESOURCE_EXHAUSTED:
		return ERR_STORAGE;
	default:
		break;
	}
	// containerd wraps registry answers in UNKNOWN: read its words.
	if (strstr(m, "401 Unauthorized") || strstr(m, "403 Forbidden") || strstr(m, "authorization failed"))
		return ERR_AUTH;
	if (strstr(m, "not found"))
		return ERR_NOTFOUND;
	if (strstr(m, "no space left on device"))
		return ERR_STORAGE;
	if (strstr(m, "unexpected commit digest") || strstr(m, "failed precondition"))
		return ERR_INTEGRITY;
	return ERR_NETWORK;
}

// grpc-message is percent-encoded; decoded, with anything unprintable replaced.
static void grpc_message(const char *in, char *out, size_t cap)
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

long cri_timeout_s(long bound_s, double deadline)
{
	if (deadline <= 0)
		return bound_s;
	double left = deadline - clock_mono();
	if (left < 1)
		return 1;
	return left < (double)bound_s ? (long)left + 1 : bound_s;
}

long cri_pull_bound_s(uint64_t bytes)
{
	uint64_t s = (uint64_t)CRI_PULL_BASE_S + bytes / CRI_PULL_MIN_RATE;
	return s > (uint64_t)LONG_MAX ? LONG_MAX : (long)s;
}

// The answer of one unary gRPC call.
struct cri_answer {
	int code;                        // gRPC status
	char message[GRPC_MESSAGE_MAX];  // grpc-message, decoded
	struct buf body;                 // the framed answer
};

// One unary call of method (e.g. "/runtime.v1.RuntimeService/Version") with the
// message msg, bounded by timeout_s: -1 when containerd cannot be reached, does
// not answer in time (ERR_NETWORK naming the socket) or does not answer as a
// gRPC service; else 0, a->code saying how the call went. Release a->body.
static int cri_call(const char *socket, const char *method, const struct buf *msg, long timeout_s,
		    struct cri_answer *a, struct err *e)
{
	struct buf req;
	buf_init(&req, CRI_MSG_MAX + 5);
	char *vals[2] = {NULL, NULL};
	int ret = -1;
	memset(a, 0, sizeof(*a));
	if (cri_frame(&req, msg) < 0) {
		err_set(e, ERR_USAGE, "the %s request is too large", method);
		goto out;
	}
	static const char *const headers[] = {"Content-Type: application/grpc", "TE: trailers", NULL};
	static const char *const want[] = {"grpc-status", "grpc-message"};
	struct http_unix_post post = {.socket = socket, .path = method, .headers = headers, .body = req.data,
				      .body_len = req.len, .max_body = CRI_MSG_MAX + 5, .timeout_s = timeout_s,
				      .want = want, .nwant = 2};
	long status = 0;
	if (http_unix_post(&post, &status, &a->body, vals, e) < 0) {
		err_wrap(e, "containerd's CRI service");
		goto out;
	}
	if (status != 200 || !vals[0]) {
		err_set(e, ERR_NETWORK, "%s does not answer as a CRI service (HTTP %ld%s)", socket, status,
			vals[0] ? "" : ", no grpc-status");
		goto out;
	}
	a->code = atoi(vals[0]);
	grpc_message(vals[1] ? vals[1] : "", a->message, sizeof(a->message));
	ret = 0;
out:
	if (req.data)
		explicit_bzero(req.data, req.len); // it may hold a credential
	buf_release(&req);
	if (ret < 0)
		buf_release(&a->body);
	free(vals[0]);
	free(vals[1]);
	return ret;
}

int cri_decode_version_response(const void *data, size_t len, char *out, size_t cap)
{
	struct pb_reader r;
	struct pb_field f;
	pb_reader_init(&r, data, len);
	char name[64] = "", version[64] = "";
	int n;
	while ((n = pb_next(&r, &f)) > 0) {
		char *to = f.number == VERSION_RESP_RUNTIME_NAME ? name : f.number == VERSION_RESP_RUNTIME_VERSION ? version : NULL;
		if (!to || f.wire != PB_LEN)
			continue;
		size_t k = 0;
		for (; k < f.len && k + 1 < sizeof(name); k++)
			to[k] = f.data[k] >= 0x20 && f.data[k] < 0x7f ? (char)f.data[k] : '?';
		to[k] = '\0';
	}
	if (n < 0)
		return -1;
	snprintf(out, cap, "%s%s%s", name[0] ? name : "a CRI runtime", version[0] ? " " : "", version);
	return 0;
}

int cri_probe(const char *socket, double deadline, struct err *e)
{
	double t0 = clock_mono();
	long timeout_s = cri_timeout_s(CRI_PROBE_TIMEOUT_S, deadline);
	struct buf msg = {0}; // VersionRequest, all defaults: no bytes
	struct cri_answer a;
	if (cri_call(socket, "/runtime.v1.RuntimeService/Version", &msg, timeout_s, &a, e) < 0)
		return -1;
	int ret = 0;
	const void *body;
	size_t blen;
	char runtime[160];
	if (a.code != GRPC_OK)
		ret = err_set(e, ERR_NETWORK, "%s does not answer as a CRI service (Version: gRPC status %d: %s)", socket,
			      a.code, a.message[0] ? a.message : "no message");
	else if (cri_unframe(a.body.data, a.body.len, &body, &blen) < 0 ||
		 cri_decode_version_response(body, blen, runtime, sizeof(runtime)) < 0)
		ret = err_set(e, ERR_NETWORK, "%s does not answer as a CRI service (a malformed Version answer)", socket);
	else
		log_info("containerd: %s answers on %s in %.2f s", runtime, socket, clock_mono() - t0);
	buf_release(&a.body);
	return ret;
}

int cri_pull_image(const char *socket, const char *image, const struct cri_auth *auth, uint64_t bytes,
		   double deadline, char **image_ref, struct err *e)
{
	*image_ref = NULL;
	struct buf msg;
	buf_init(&msg, CRI_MSG_MAX);
	int ret = -1;
	if (cri_encode_pull_request(&msg, image, auth) < 0) {
		err_set(e, ERR_USAGE, "PullImage request for '%.200s' is too large", image);
		goto out;
	}
	struct cri_answer a;
	if (cri_call(socket, "/runtime.v1.ImageService/PullImage", &msg, cri_timeout_s(cri_pull_bound_s(bytes), deadline),
		     &a, e) < 0)
		goto out;
	const void *body;
	size_t blen;
	if (a.code != GRPC_OK)
		err_set(e, cri_status_class(a.code, a.message), "containerd could not pull %s (gRPC status %d): %s", image,
			a.code, a.message[0] ? a.message : "no message");
	else if (cri_unframe(a.body.data, a.body.len, &body, &blen) < 0)
		err_set(e, ERR_NETWORK, "containerd's PullImage answer is not one gRPC message");
	else
		ret = cri_decode_pull_response(body, blen, image_ref, e);
	buf_release(&a.body);
out:
	if (msg.data)
		explicit_bzero(msg.data, msg.len);
	buf_release(&msg);
	return ret;
}
