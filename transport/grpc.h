// SPDX-License-Identifier: Apache-2.0
// gRPC calls to a local daemon (containerd: its CRI service in cri/, its own
// API in ctrd/) over HTTP/2 with prior knowledge on a unix socket, through
// http_unix_post: the 5-byte message framing, the grpc-status and
// grpc-message trailers, and the class of error a status stands for. Every
// call is bounded by the caller's timeout and its answer capped.
#ifndef IMGPULL_TRANSPORT_GRPC_H
#define IMGPULL_TRANSPORT_GRPC_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

// gRPC status codes (grpc/grpc doc/statuscodes.md).
enum {
	GRPC_NO_STATUS = -1, // the call got no gRPC status (transport failure, not a gRPC service)
	GRPC_OK = 0, GRPC_CANCELLED = 1, GRPC_UNKNOWN = 2, GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4, GRPC_NOT_FOUND = 5, GRPC_ALREADY_EXISTS = 6, GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8, GRPC_FAILED_PRECONDITION = 9, GRPC_ABORTED = 10, GRPC_OUT_OF_RANGE = 11,
	GRPC_UNIMPLEMENTED = 12, GRPC_INTERNAL = 13, GRPC_UNAVAILABLE = 14, GRPC_DATA_LOSS = 15,
	GRPC_UNAUTHENTICATED = 16,
};

#define GRPC_MESSAGE_MAX 400 // of the daemon's grpc-message, decoded, in ours

// One call: a unary request, or a stream of one request (content Write).
struct grpc_request {
	const char *socket;
	const char *path;            // "/containerd.services.snapshots.v1.Snapshots/Prepare"
	const char *const *headers;  // extra "Name: value" (containerd-namespace, ...), NULL-terminated; or NULL
	const struct buf *msg;       // the request message, unframed
	size_t max_answer;           // cap of the answer (its frames), bytes
	long timeout_s;              // the whole call (grpc_timeout_s); 0: none
	const char *service;         // prefixes transport errors: "containerd's CRI service"
};

struct grpc_status {
	int code;                       // gRPC status, GRPC_NO_STATUS when none came
	char message[GRPC_MESSAGE_MAX]; // grpc-message, percent-decoded, unprintable bytes as '?'
};

// Sends req. 0 when the daemon answered status OK: *answer holds the answer's
// frames (read them with grpc_frames_next or grpc_unframe; release it). Else
// -1, *answer empty, st->code the gRPC status (GRPC_NO_STATUS when the daemon
// could not be reached, did not answer within req->timeout_s, or did not answer
// as a gRPC service: ERR_NETWORK naming the socket, prefixed by req->service;
// ERR_INTERRUPTED on SIGTERM/SIGINT) and for a status other than OK e has the
// class grpc_code_class gives and "<service>: <path>: <message> (gRPC status N)".
// The request's bytes are wiped after the call (they may hold a credential).
int grpc_call(const struct grpc_request *req, struct grpc_status *st, struct buf *answer, struct err *e);

// How grpc_call reads an answer of HTTP status http with the trailers
// grpc-status (NULL: absent) and grpc-message: 0 for status OK, else -1 with
// st and e as grpc_call sets them. For tests.
int grpc_status_check(const struct grpc_request *req, long http, const char *status, const char *message,
		      struct grpc_status *st, struct err *e);

// The class of a gRPC status: NOT_FOUND 4; UNAUTHENTICATED, PERMISSION_DENIED
// 3; INVALID_ARGUMENT 2; ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED,
// OUT_OF_RANGE 7 (the daemon's store refused: callers that expect one of these
// read the code); DATA_LOSS 6; UNAVAILABLE, DEADLINE_EXCEEDED and the rest 5.
enum err_class grpc_code_class(int code);
// "NOT_FOUND" for 5 ..., "status N" beyond the table.
const char *grpc_code_name(int code);

// The seconds a call may take: bound_s, or what is left before deadline (a
// clock_mono() time, 0: none) when that is less (at least 1).
long grpc_timeout_s(long bound_s, double deadline);

// Framing: msg with its 5-byte prefix appended to out; -1 when out's cap is reached.
int grpc_frame(struct buf *out, const struct buf *msg);
// The frames of an answer, one message after the other (a server stream, or
// content Write's answer of two frames).
struct grpc_frames {
	const unsigned char *p, *end;
	bool bad;
};
void grpc_frames_init(struct grpc_frames *it, const void *data, size_t len);
// 1 and *msg (pointing into the data) for the next frame, 0 at the end, -1 on
// a compressed or truncated frame (the iteration then stays at -1).
int grpc_frames_next(struct grpc_frames *it, const void **msg, size_t *len);
// The message of an answer that is exactly one frame; -1 otherwise.
int grpc_unframe(const void *data, size_t len, const void **msg, size_t *msg_len);
// grpc-message's value (percent-encoded) decoded into out (cap bytes),
// unprintable bytes as '?', "..." when cut.
void grpc_message_decode(const char *in, char *out, size_t cap);

#endif
