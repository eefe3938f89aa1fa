// SPDX-License-Identifier: Apache-2.0
// The download engine's rooms, for its own files only:
//   engine.c  the loop: drives curl, hands finished work to its room, ends the run;
//   sched.c   which range goes on which free connection next;
//   xfer.c    one range request: start, body bytes into buffers, request events;
//   answer.c  what a finished request means (pull_judge's verdict applied);
//   blob.c    a blob's life: claim, cut, hash, progress, restart, fallback, commit;
//   store.c   the disk, on threads of its own: the loop only submits jobs and
//             takes their results (blob.c's bjob_*), so it never waits on a write.
#ifndef IMGPULL_PULL_ENGINE_INT_H
#define IMGPULL_PULL_ENGINE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <curl/curl.h>

#include "auth/challenge.h"
#include "oci/ingest.h"
#include "pull/engine.h"
#include "pull/hasher.h"
#include "pull/judge.h"
#include "pull/store.h"
#include "util/buf.h"

#define ERRBODY_MAX (16u << 10)
#define MAX_REDIRECT_RENEWALS 8 // a blob store refusing a fresh redirect this often is broken
#define MAX_AUTH_RENEWALS 3     // 401s in a row for one blob before we give up
#define BLOB_BUDGET_PER_RETRY 4 // a blob gives up after 4 x retries more failed tries than finished ranges
#define LOCK_POLL_S 0.25        // how often a blob another process holds is looked at again
#define TICK_S 0.1
#define PROGRESS_SAVE_S 0.05 // how often a blob's progress record may be rewritten: a kill loses
			     // at most this long of downloading (plus what sat in buffers)
#define CURL_RECV_BUFFER (128L << 10)
// A turn of the loop that carried less than TURN_FULL body bytes, none of its
// connections TURN_ONE or more, is followed by one no sooner than TURN_MIN_S
// after it began (sched_pace).
#define TURN_MIN_S 0.001
#define TURN_FULL (1u << 20)
#define TURN_ONE ((uint64_t)CURL_RECV_BUFFER) // one connection filled curl's receive buffer
// A mirror gets this many failed tries of a blob before the next endpoint
// takes it over (containerd moves on at the first).
#define MIRROR_FAILURES_MAX 2
// Write buffers a transfer may hold: one filling while one is written. A
// transfer whose buffers all wait for the disk pauses (its connection only).
#define XFER_BUFFERS 2
#define STORE_WORKERS 4

enum chunk_state { CHUNK_PENDING, CHUNK_ACTIVE, CHUNK_DONE };

struct chunk {
	uint64_t start, len;
	uint64_t written; // prefix of [start, start+len) on disk (what records name, the hasher reads)
	uint64_t queued;  // prefix handed to the store (>= written): where a new try starts
	enum chunk_state state;
	int attempts;      // failed tries (a single stream's that moved a chunk's worth excepted)
	double not_before; // monotonic seconds
};

enum range_mode {
	RM_UNKNOWN, // no answer yet: one pilot transfer at a time
	RM_RANGES,  // the source honours Range: chunks in parallel
	RM_SINGLE,  // the source ignores Range: one stream for the whole blob
};

struct blob {
	struct pull_blob_info info;
	char *digest;
	struct pull_repo *repo;
	char *reg_url;         // the registry's blob URL
	char *target;          // redirect target (no Authorization), NULL: the registry
	unsigned target_gen;   // bumped whenever the target is dropped for a fresh one
	bool redirected;       // the registry redirected this blob at least once
	struct oci_ingest ing; // lock, partial file and progress record: the store's while jobs run
	int fd;                // the partial file while the blob is ACTIVE
	unsigned gen;          // bumped when the chunks are cut anew: older writes' results are void
	bool claiming;         // a claim job is out
	bool committing;       // a commit job is out
	bool recording;        // a progress record job is out
	bool restarted;        // kept bytes proved wrong once: fetched again from nothing
	int failures;          // failed tries over all ranges
	int ranges_done;       // ranges finished (and long single-stream tries)
	double not_before;     // WAITING: when to look at the lock again
	enum range_mode mode;
	bool pilot;            // a transfer that decides mode/target is in flight
	int renewals;          // fresh redirects asked for after the target refused
	int auth_renewals;
	struct chunk *chunks;
	size_t nchunks;
	size_t frontier;  // first chunk not completely written
	size_t scan_from; // no chunk before this one is pending
	struct hash_job hash;
	bool hashing;
	double progress_saved; // when ingest/<hex>.progress was last written
	uint64_t punched;      // discard: bytes before this are hashed and dropped
	uint64_t in_store;     // bytes handed to the store and not written yet
	uint64_t saved_bytes;  // info.received when it was
	// What a reader on another thread may read (pull_engine_stream_wait),
	// under the engine's stream lock: bytes hashed (and checked), and a
	// descriptor of the partial file (or, once committed, the blob).
	uint64_t published;
	int pub_fd;
	bool pub_broken; // restarted after bytes were published: a reader is lost
	// The blob's clock without progress (blob_watch): seconds its source had
	// to deliver (a try in flight, a backoff, a paused host) and delivered
	// less than the stall rate, and the last failure, for the message.
	double stuck_for, stuck_tick;
	uint64_t stuck_mark;
	int stuck_ranges;
	char last_why[160];
	char last_host[128];
};

// A server we send ranges to. Throttling (429/503) halves how many
// transfers it gets at once and pauses it; each finished range adds one back
// (AIMD), so a throttling CDN is not hammered in lockstep by all connections.
struct host {
	char *origin; // scheme://host:port
	int active;
	int cap;
	double not_before;
	struct host *next;
};

// A connection's worth of reusable parts: the easy handle (and so libcurl's
// receive buffer). Allocating them per range would map and fault in fresh
// memory for every request, which costs more CPU than the copying itself on a VM.
struct slot {
	CURL *h;
	struct slot *next;
};

// A write buffer; free ones wait in the engine's pool.
struct wbuf {
	char *data;
	struct wbuf *next;
};

struct xfer {
	CURL *h;
	struct slot *slot;
	struct host *host;
	struct pull_engine *eng;
	struct blob *b;
	unsigned id;        // for the store's results (the transfer may be gone by then)
	size_t ci;
	uint64_t ask_from, ask_to; // the range as asked (for the request event)
	uint64_t want;      // first blob offset this transfer is after
	uint64_t end;       // exclusive
	uint64_t pos;       // blob offset of the next body byte (200: from 0)
	uint64_t got;       // bytes handed to the store by this transfer
	uint64_t turn_got;  // body bytes in this turn of the loop
	struct wbuf *wb;    // body bytes not yet handed over, for blob offsets [wpos, wpos + wlen)
	size_t wlen;
	uint64_t wpos;
	int writing;        // buffers handed to the store and not back yet
	bool paused;        // its buffers all wait for the disk: curl holds the body
	bool to_registry;
	unsigned auth_gen;   // the generation of the Authorization it carried (pull_authz)
	unsigned target_gen; // the blob's target generation when this request left
	bool pilot;
	bool past_window;   // discard: a frontier range started beyond the window
	bool cancel;        // the blob changed shape under us: drop silently
	bool checked;       // status/Content-Range looked at
	curl_off_t seen;    // body bytes as the progress callback last saw them
	double last_byte;   // when they last grew (or the request left)
	bool stalled;       // dropped: nothing arrived for the stall timeout
	long status;
	bool fatal;
	struct err ferr;    // set with fatal, or a protocol complaint for a retry
	bool complaint;
	struct curl_slist *hdrs;
	char *retry_after;  // of the answer, read when it ended
	struct auth_challenges chal;
	struct buf errbody;
	char errbuf[CURL_ERROR_SIZE];
	// What the request event reports.
	double t_start;
	enum pull_req_outcome outcome;
	char cause[24];
	char note[ERR_MSG_MAX + 64];
	struct xfer *next;
};

// Body bytes of one turn of the loop: in all, and the most one transfer got.
struct pull_turn {
	uint64_t bytes, most;
};

struct pull_engine {
	struct pull_engine_opts o;
	CURLM *multi;
	struct blob **blobs;
	size_t nblobs;
	struct pull_blob_info *snapshot;
	struct xfer *active;
	int nactive;
	int nclaiming;        // claim jobs out: they count as connections
	unsigned next_xfer_id;
	struct pull_hasher *hasher;
	struct pull_store *store;
	struct pull_authz *authz;
	struct host *hosts;
	struct slot *free_slots;
	struct wbuf *free_bufs;
	size_t nbufs;         // allocated, free or not
	bool failed;
	struct err err;
	double t0, last_tick;
	double stuck_bound;    // seconds a blob may go without progress (blob_watch)
	uint64_t received;
	struct pull_turn turn; // what this turn of the loop carried
	uint64_t discard_peak; // most bytes held in memory at once (discard)
	// Readers on other threads (pull_engine_stream_wait) and their abort.
	pthread_mutex_t smu;
	pthread_cond_t scond;
	bool run_over;
	struct err over_err;
	atomic_bool aborting;
	struct err abort_err; // under smu
};

// engine.c
void engine_emit_event(struct pull_engine *eng, struct pull_event *ev);
void engine_emit(struct pull_engine *eng, enum pull_event_kind kind, const struct pull_blob_info *bi,
		 const char *detail);
void engine_fail(struct pull_engine *eng, const struct err *e);
struct host *engine_host(struct pull_engine *eng, const char *url);

// sched.c
void sched_fill(struct pull_engine *eng);
double sched_next_due(const struct pull_engine *eng, double now);
double sched_pace(const struct pull_turn *t, double elapsed);
void sched_discard_punch(struct pull_engine *eng);

// xfer.c
int xfer_start(struct pull_engine *eng, struct blob *b, size_t ci, bool pilot, const char *authz,
	       unsigned auth_gen, struct err *e);
void xfer_hand_over(struct xfer *x);
void xfer_resume_paused(struct pull_engine *eng);
void xfer_wrote(struct pull_engine *eng, unsigned id, struct wbuf *wb);
void xfer_outcome(struct xfer *x, enum pull_req_outcome o, const char *cause, const char *note);
const char *xfer_host(const struct xfer *x);
void xfer_emit_request(struct pull_engine *eng, struct xfer *x);
void xfer_free(struct pull_engine *eng, struct xfer *x);
void xfer_free_buffers(struct pull_engine *eng);

// answer.c
void answer_apply(struct pull_engine *eng, struct xfer *x, CURLcode rc);
void answer_requeue(struct blob *b, size_t ci);

// blob.c
const char *blob_url(const struct blob *b);
struct blob *blob_find(const struct pull_engine *eng, const char *digest);
int blob_publish_layout(struct pull_engine *eng, struct blob *b, struct err *e);
void blob_publish(struct pull_engine *eng, struct blob *b, uint64_t n, int fd);
int blob_claim(struct pull_engine *eng, struct blob *b, struct err *e);
void blob_advance(struct pull_engine *eng, struct blob *b);
void blob_save_progress(struct pull_engine *eng, struct blob *b);
void blob_write(struct pull_engine *eng, struct xfer *x);
void blob_restart(struct pull_engine *eng, struct blob *b);
bool blob_fallback(struct pull_engine *eng, struct blob *b, const char *why);
void blob_finish_hashed(struct pull_engine *eng);
void blob_watch(struct pull_engine *eng, double now);
void blob_store_results(struct pull_engine *eng);
void blob_store_forget(struct pull_engine *eng);
uint64_t blob_contig(const struct blob *b);
uint64_t blob_discard_held(const struct pull_engine *eng);

#endif
