// SPDX-License-Identifier: Apache-2.0
// A client for the Kubernetes CRI image service on containerd's socket: gRPC
// is HTTP/2 with prior knowledge, which libcurl speaks over a unix socket, and
// the messages needed are a few fields (cri/proto). PullImage with the
// credential imgpull used makes containerd record (and unpack) an image whose
// blobs imgpull already put into its content store.
#ifndef IMGPULL_CRI_CRI_H
#define IMGPULL_CRI_CRI_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

#define CRI_DEFAULT_SOCKET "/run/containerd/containerd.sock"

// runtime.v1.AuthConfig: username/password (a registry credential, or ECR's
// AWS:<token>), or a bearer registry token; server_address is the registry host.
struct cri_auth {
	const char *username;
	const char *password;
	const char *registry_token;
	const char *server_address;
};

// gRPC status codes (grpc/grpc doc/statuscodes.md).
enum {
	GRPC_OK = 0, GRPC_CANCELLED = 1, GRPC_UNKNOWN = 2, GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4, GRPC_NOT_FOUND = 5, GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8, GRPC_UNIMPLEMENTED = 12, GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14, GRPC_UNAUTHENTICATED = 16,
};

// PullImage of image (a full reference) on the CRI socket; *image_ref
// (malloc'd) is containerd's image id. Errors: ERR_NETWORK when containerd
// cannot be reached (through transport/'s http_unix_post), else the class cri_status_class gives, with containerd's
// message (control characters replaced, capped).
int cri_pull_image(const char *socket, const char *image, const struct cri_auth *auth, long timeout_s,
		   char **image_ref, struct err *e);

// The wire forms, for tests: PullImageRequest, and PullImageResponse's image_ref.
int cri_encode_pull_request(struct buf *out, const char *image, const struct cri_auth *auth);
int cri_decode_pull_response(const void *data, size_t len, char **image_ref, struct err *e);
// A gRPC message of len bytes, framed (5-byte prefix); the message inside a
// response frame (*msg points into data). -1 on a malformed or compressed frame.
int cri_frame(struct buf *out, const struct buf *msg);
int cri_unframe(const void *data, size_t len, const void **msg, size_t *msg_len);
// The class for a gRPC status and containerd's message about a pull.
enum err_class cri_status_class(int code, const char *message);

#endif
