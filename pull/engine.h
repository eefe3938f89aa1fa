// SPDX-License-Identifier: Apache-2.0
// The download engine: one libcurl multi loop, a fixed number of connections
// shared by every blob of every image. Large blobs are cut into closed byte
// ranges fetched in parallel on separate connections; a registry redirect is
// resolved once per blob and the ranges go straight to its target without the
// registry's Authorization. Bytes land in a partial file at their offset,
// hashing follows the contiguous prefix on its own thread, and a blob enters
// the layout only after its size and digest check out. Memory is bounded by
// connections x buffer size, whatever the image size.
#ifndef IMGPULL_PULL_ENGINE_H
#define IMGPULL_PULL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/layout.h"
#include "transport/http.h"
#include "pull/registry.h"
#include "util/err.h"

enum pull_blob_state {
	PULL_BLOB_QUEUED,
	PULL_BLOB_WAITING, // another process is fetching it into the same layout
	PULL_BLOB_ACTIVE,
	PULL_BLOB_DONE,   // downloaded and verified in this run
	PULL_BLOB_CACHED, // already in the layout
};

struct pull_blob_info {
	const char *digest;
	uint64_t size;
	uint64_t received;  // bytes on disk for this blob (kept ones included)
	uint64_t kept;      // of these, taken over from an earlier run
	enum pull_blob_state state;
	int connections;    // transfers in flight
	double finished;    // DONE or CACHED: seconds into the run when it became so
	const char *source; // host[:port] of the endpoint it is asked from (a mirror, the registry)
};

enum pull_event_kind {
	PULL_EV_BLOB_CACHED,
	PULL_EV_BLOB_START,
	PULL_EV_BLOB_DONE,
	PULL_EV_RETRY,
	PULL_EV_TICK, // periodic, ~every 100 ms while running
	PULL_EV_BLOB_WAIT, // another process holds the blob: wait for its commit
	PULL_EV_REQUEST,   // a range request ended, whatever its outcome (req)
};

// What became of one request (one transfer of one range).
enum pull_req_outcome {
	PULL_REQ_OK,        // the range arrived in full
	PULL_REQ_RETRY,     // failed; asked for again later (cause, detail)
	PULL_REQ_REDIRECT,  // the registry redirected: ranges go to the target now
	PULL_REQ_RENEW,     // a token or redirect target expired: asked again after renewing it
	PULL_REQ_CANCELLED, // dropped by the engine (the source ignores Range, or the run ended)
	PULL_REQ_FAILED,    // ended the pull (detail)
};

struct pull_request_info {
	uint64_t offset, len;  // the byte range asked for
	uint64_t bytes;        // body bytes received (as the server sent them)
	double start;          // seconds since the engine started: request queued
	double first;          // first response byte; < 0 when none arrived
	double end;
	long status;           // HTTP status; 0 when none arrived
	enum pull_req_outcome outcome;
	const char *cause;     // RETRY/RENEW/FAILED: a short key ("timeout", "http_503", ...)
	const char *detail;    // RETRY/FAILED: the message
	const char *host;      // host[:port] asked (never a path or query)
	char remote[64];       // the peer's IP:port, "" when no connection was made
	long local_port;       // our end of the connection; 0 when none
	bool to_registry;      // false: a redirect target
};

struct pull_event {
	enum pull_event_kind kind;
	const struct pull_blob_info *blob; // NULL for TICK
	const struct pull_request_info *req; // REQUEST
	const char *detail;                // RETRY: why
	const char *host;                  // RETRY: host[:port] of the failed try
	int attempt;                       // RETRY: failed tries of the range so far
	uint64_t total_bytes;              // all blobs of the run, cached included
	uint64_t done_bytes;               // cached + received
	uint64_t received_bytes;           // transferred in this run
	double elapsed;
};

struct pull_engine_opts {
	const struct http_config *http;
	struct oci_layout *layout;
	int connections;      // total, across all hosts
	uint64_t chunk_size;  // range size; blobs up to this size are one request
	int retries;          // failed tries per range (all count; see README "Time bounds")
	size_t buffer_size;   // per-connection write memory, in two buffers (default 512 KiB)
	// Verify every byte, keep none: no layout (layout NULL); bytes go to
	// memory and are dropped once hashed. At most pull_engine_discard_window()
	// bytes wait there for the hash.
	bool discard;
	// Blobs are read while they download (pull_engine_stream_wait): the
	// engine publishes what it has hashed. Off: nothing is published.
	bool stream;
	void (*on_event)(void *ud, const struct pull_event *ev);
	void *ud;
};

struct pull_engine;

int pull_engine_new(struct pull_engine **out, const struct pull_engine_opts *o, struct err *e);
// Queues a blob (once per digest); blobs already in the layout are not fetched.
int pull_engine_add(struct pull_engine *eng, struct pull_repo *repo, const char *digest,
		    uint64_t size, struct err *e);
// Runs until every queued blob is in the layout, or the first error that
// retries cannot fix, or the http config's deadline. Partial files stay in the
// layout's ingest/ directory. A blob another process is fetching into the same
// layout is waited for (and taken over, with the bytes it kept, if that
// process dies).
int pull_engine_run(struct pull_engine *eng, struct err *e);
// Bytes transferred in this run (kept bytes not included).
uint64_t pull_engine_received(const struct pull_engine *eng);
void pull_engine_free(struct pull_engine *eng);
// With discard: the most bytes held in memory at once (a memfd: charged to
// the cgroup as shared memory, not part of the process's RSS).
uint64_t pull_engine_discard_peak(const struct pull_engine *eng);
// With discard: bytes that may wait in memory for the hash, (connections + 2) x chunk size.
uint64_t pull_engine_discard_window(const struct pull_engine_opts *o);
// Reading a blob while it downloads (pull --unpack, opts.stream), from
// another thread: blocks until bytes [0, want) of digest are written and
// hashed (and, when kept from an earlier run, have passed their prefix check),
// or the run is over. The last byte of a blob is readable only once its digest
// has checked out, so a reader that got all of it got verified bytes. Returns
// how many bytes are readable (fewer than want only when the run ended first:
// e says why). With fd set, *fd is a descriptor of the caller's own (close it)
// that reads them. -1 cast: unknown digest.
uint64_t pull_engine_stream_wait(struct pull_engine *eng, const char *digest, uint64_t want, int *fd,
				 struct err *e);
// From another thread: the run fails with e (the first such error wins).
void pull_engine_abort(struct pull_engine *eng, const struct err *e);
// Snapshot of all blobs, valid until the next call into the engine.
size_t pull_engine_blobs(struct pull_engine *eng, const struct pull_blob_info **out);

#endif
