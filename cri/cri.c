// SPDX-License-Identifier: Apache-2.0
#include "cri/cri.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/grpc.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/pb.h"

#define CRI_MSG_MAX (64u << 10)  // a request or an answer: a few strings

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

long cri_pull_bound_s(uint64_t bytes)
{
	uint64_t s = (uint64_t)CRI_PULL_BASE_S + bytes / CRI_PULL_MIN_RATE;
	return s > (uint64_t)LONG_MAX ? LONG_MAX : (long)s;
}

// One unary call of method (e.g. "/runtime.v1.RuntimeService/Version") with the
// message msg, bounded by timeout_s: 0 and the answer's frames in *answer
// (release it) when the status is OK, else -1 and st->code (GRPC_NO_STATUS
// when containerd could not be reached, did not answer in time or not as a gRPC
// service: ERR_NETWORK naming the socket).
static int cri_call(const char *socket, const char *method, const struct buf *msg, long timeout_s,
		    struct grpc_status *st, struct buf *answer, struct err *e)
{
	struct grpc_request req = {.socket = socket, .path = method, .msg = msg, .max_answer = CRI_MSG_MAX + 5,
				   .timeout_s = timeout_s, .service = "containerd's CRI service"};
	return grpc_call(&req, st, answer, e);
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
	long timeout_s = grpc_timeout_s(CRI_PROBE_TIMEOUT_S, deadline);
	struct buf msg = {0}; // VersionRequest, all defaults: no bytes
	struct grpc_status st;
	struct buf answer;
	if (cri_call(socket, "/runtime.v1.RuntimeService/Version", &msg, timeout_s, &st, &answer, e) < 0) {
		if (st.code != GRPC_NO_STATUS)
			err_set(e, ERR_NETWORK, "%s does not answer as a CRI service (Version: gRPC status %d: %s)", socket,
				st.code, st.message[0] ? st.message : "no message");
		return -1;
	}
	int ret = 0;
	const void *body;
	size_t blen;
	char runtime[160];
	if (grpc_unframe(answer.data, answer.len, &body, &blen) < 0 ||
	    cri_decode_version_response(body, blen, runtime, sizeof(runtime)) < 0)
		ret = err_set(e, ERR_NETWORK, "%s does not answer as a CRI service (a malformed Version answer)", socket);
	else
		log_info("containerd: %s answers on %s in %.2f s", runtime, socket, clock_mono() - t0);
	buf_release(&answer);
	return ret;
}

// ImageFsInfoResponse {1 repeated FilesystemUsage}; FilesystemUsage {2
// FilesystemIdentifier fs_id}; FilesystemIdentifier {1 string mountpoint}.
int cri_decode_image_fs_response(const void *data, size_t len, char **mountpoint)
{
	*mountpoint = NULL;
	struct pb_reader r, u, id;
	struct pb_field f, g, h;
	pb_reader_init(&r, data, len);
	int n;
	while (!*mountpoint && (n = pb_next(&r, &f)) > 0) {
		if (f.number != 1 || f.wire != PB_LEN)
			continue;
		pb_reader_init(&u, f.data, f.len);
		while (!*mountpoint && pb_next(&u, &g) > 0) {
			if (g.number != 2 || g.wire != PB_LEN)
				continue;
			pb_reader_init(&id, g.data, g.len);
			while (!*mountpoint && pb_next(&id, &h) > 0)
				if (h.number == 1 && pb_get_string(&h, 4096, mountpoint) < 0)
					return -1;
		}
	}
	return *mountpoint ? 0 : -1;
}

int cri_image_fs(const char *socket, double deadline, char **mountpoint, char *snapshotter, size_t cap,
		 struct err *e)
{
	*mountpoint = NULL;
	struct buf msg = {0}; // ImageFsInfoRequest: no fields
	struct grpc_status st;
	struct buf answer;
	if (cri_call(socket, "/runtime.v1.ImageService/ImageFsInfo", &msg,
		     grpc_timeout_s(CRI_PROBE_TIMEOUT_S, deadline), &st, &answer, e) < 0)
		return -1;
	const void *body;
	size_t blen;
	char *mp = NULL;
	int r = grpc_unframe(answer.data, answer.len, &body, &blen) < 0 ||
				cri_decode_image_fs_response(body, blen, &mp) < 0
			? err_set(e, ERR_NETWORK, "%s: a malformed ImageFsInfo answer", socket)
			: 0;
	buf_release(&answer);
	static const char prefix[] = "io.containerd.snapshotter.v1.";
	const char *base = mp ? strrchr(mp, '/') : NULL;
	if (r == 0 && (!base || mp[0] != '/' || strncmp(base + 1, prefix, sizeof(prefix) - 1) != 0 ||
		       !base[sizeof(prefix)] || strlen(base + sizeof(prefix)) >= cap))
		r = err_set(e, ERR_NETWORK, "%s: ImageFsInfo names '%.200s', not a containerd snapshotter's directory",
			    socket, mp ? mp : "");
	if (r < 0) {
		free(mp);
		return -1;
	}
	snprintf(snapshotter, cap, "%s", base + sizeof(prefix));
	*mountpoint = mp;
	return 0;
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
	struct grpc_status st;
	struct buf answer;
	if (cri_call(socket, "/runtime.v1.ImageService/PullImage", &msg, grpc_timeout_s(cri_pull_bound_s(bytes), deadline),
		     &st, &answer, e) < 0) {
		if (st.code != GRPC_NO_STATUS)
			err_set(e, cri_status_class(st.code, st.message), "containerd could not pull %s (gRPC status %d): %s",
				image, st.code, st.message[0] ? st.message : "no message");
		goto out;
	}
	const void *body;
	size_t blen;
	if (grpc_unframe(answer.data, answer.len, &body, &blen) < 0)
		err_set(e, ERR_NETWORK, "containerd's PullImage answer is not one gRPC message");
	else
		ret = cri_decode_pull_response(body, blen, image_ref, e);
	buf_release(&answer);
out:
	if (msg.data)
		explicit_bzero(msg.data, msg.len);
	buf_release(&msg);
	return ret;
}
