// SPDX-License-Identifier: Apache-2.0
// A client for the Kubernetes CRI image service on containerd's socket: gRPC
// is HTTP/2 with prior knowledge, which libcurl speaks over a unix socket
// (transport/grpc), and the messages needed are a few fields (util/pb).
// PullImage with the credential imgpull used makes containerd record (and
// unpack) an image whose blobs imgpull already put into its content store.
#ifndef IMGPULL_CRI_CRI_H
#define IMGPULL_CRI_CRI_H

#include <stddef.h>
#include <stdint.h>

#include "transport/grpc.h"
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

// Every call is bounded. The probe is answered at once by a live containerd
// (under 10 ms); PullImage takes as long as containerd's unpack of the image's
// layers (the blobs already in its store). Debian 12's containerd 1.6.20
// unpacked 2.9 GB in 15.5 s with overlayfs (187 MB/s, README's benchmark) and
// 1.07 GB of four 256 MiB layers in 26.6 s with the native snapshotter, which
// copies each parent (40 MB/s, 2 shared cores): the bound allows 5 minutes (the
// manifests, a busy daemon) plus 8 MB/s of layers, 5x below the slowest seen,
// 88 min for 40 GB; what --timeout leaves bounds it too.
#define CRI_PROBE_TIMEOUT_S 15L
#define CRI_PULL_BASE_S 300L
#define CRI_PULL_MIN_RATE 8000000ULL // bytes/s

// The bound of a PullImage of an image of bytes (its layers and config).
long cri_pull_bound_s(uint64_t bytes);

// Whether containerd answers as a CRI service on socket: a RuntimeService/Version
// call bounded by CRI_PROBE_TIMEOUT_S (and deadline), logging the runtime's name
// and version. ERR_NETWORK naming the socket when it cannot be reached, does not
// answer in time (a socket that accepts and stays silent) or has no CRI service.
int cri_probe(const char *socket, double deadline, struct err *e);

// PullImage of image (a full reference, bytes of blobs) on the CRI socket,
// bounded by cri_pull_bound_s(bytes) and deadline (grpc_timeout_s); *image_ref (malloc'd) is
// containerd's image id. Errors: ERR_NETWORK when containerd cannot be reached
// or does not answer in time (through transport/'s http_unix_post), else the
// class cri_status_class gives, with containerd's message (control characters
// replaced, capped).
int cri_pull_image(const char *socket, const char *image, const struct cri_auth *auth, uint64_t bytes,
		   double deadline, char **image_ref, struct err *e);

// Where the CRI plugin's images are unpacked: ImageService/ImageFsInfo's first
// filesystem, ROOT/io.containerd.snapshotter.v1.NAME (containerd 1.6 and 2.x
// alike). *mountpoint (malloc'd) is that directory as containerd names it,
// snapshotter (capped) its NAME. ERR_NETWORK when containerd does not answer
// in time or the answer is malformed or not of that shape.
int cri_image_fs(const char *socket, double deadline, char **mountpoint, char *snapshotter, size_t cap,
		 struct err *e);
// ImageFsInfoResponse's first image_filesystems[].fs_id.mountpoint; -1 when malformed.
int cri_decode_image_fs_response(const void *data, size_t len, char **mountpoint);

// The wire forms, for tests: PullImageRequest, and PullImageResponse's image_ref.
int cri_encode_pull_request(struct buf *out, const char *image, const struct cri_auth *auth);
int cri_decode_pull_response(const void *data, size_t len, char **image_ref, struct err *e);
// VersionResponse as "NAME VERSION" (printable, capped) into out; -1 when malformed.
int cri_decode_version_response(const void *data, size_t len, char *out, size_t cap);
// The class for a gRPC status and containerd's message about a pull.
enum err_class cri_status_class(int code, const char *message);

#endif
