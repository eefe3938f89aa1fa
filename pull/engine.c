// SPDX-License-Identifier: Apache-2.0
#include "pull/engine.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "oci/digest.h"
#include "oci/ingest.h"
#include "pull/authz.h"
#include "pull/hasher.h"
#include "pull/judge.h"
#include "pull/range.h"
#include "util/file.h"
#include "util/interrupt.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#define ERRBODY_MAX (16u << 10)
#define MAX_REDIRECT_RENEWALS 8 // a blob store refusing a fresh redirect this often is broken
#define MAX_AUTH_RENEWALS 3     // 401s in a row for one blob before we give up
#define BLOB_BUDGET_PER_RETRY 4  // a blob gives up after 4 x retries more failed tries than finished ranges
#define LOCK_POLL_S 0.25         // how often a blob another process holds is looked at again
#define TICK_S 0.1
#define PROGRESS_SAVE_S 0.05 // how often a blob's progress record may be rewritten: a kill loses
                             // at most this long of downloading (plus what sat in buffers)
#define CURL_RECV_BUFFER (128L << 10)

enum chunk_state { CHUNK_PENDING, CHUNK_ACTIVE, CHUNK_DONE };

struct chunk {
	uint64_t start, len, written; // written: prefix of [start, start+len) on disk
	enum chunk_state state;
	int attempts;                 // failed tries (a single stream's that moved a chunk's worth excepted)
	double not_before;            // monotonic seconds
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
	char *reg_url;     // the registry's blob URL
	char *target;      // redirect target (no Authorization), NULL: the registry
	unsigned target_gen; // bumped whenever the target is dropped for a fresh one
	bool redirected;   // the registry redirected this blob at least once
	struct oci_ingest ing; // lock, partial file and progress record
	int fd;            // the partial file while the blob is ACTIVE
	bool restarted;    // kept bytes proved wrong once: fetched again from nothing
	int failures;      // failed tries over all ranges
	int ranges_done;   // ranges finished (and long single-stream tries)
	double not_before; // WAITING: when to look at the lock again
	enum range_mode mode;
	bool pilot;        // a transfer that decides mode/target is in flight
	int renewals;      // fresh redirects asked for after the target refused
	int auth_renewals;
	struct chunk *chunks;
	size_t nchunks;
	size_t frontier;   // first chunk not completely written
	size_t scan_from;  // no chunk before this one is pending
	struct hash_job hash;
	bool hashing;
	double progress_saved; // when ingest/<hex>.progress was last written
	uint64_t punched;      // discard: bytes before this are hashed and dropped
	uint64_t saved_bytes;  // info.received when it was
	// What a reader on another thread may read (pull_engine_stream_wait),
	// under the engine's stream lock: bytes hashed (and checked), and a
	// descriptor of the partial file (or, once committed, the blob).
	uint64_t published;
	int pub_fd;
	bool pub_broken;       // restarted after bytes were published: a reader is lost
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
// receive buffer) and the write buffer. Allocating them per range would map
// and fault in fresh memory for every request, which costs more CPU than the
// copying itself on a VM.
struct slot {
	CURL *h;
	char *wbuf;
	struct slot *next;
};

struct xfer {
	CURL *h;
	struct slot *slot;
	struct host *host;
	struct pull_engine *eng;
	struct blob *b;
	size_t ci;
	uint64_t ask_from, ask_to; // the range as asked (for the request event)
	uint64_t want;      // first blob offset this transfer is after
	uint64_t end;       // exclusive
	uint64_t pos;       // blob offset of the next body byte (200: from 0)
	uint64_t got;       // bytes written by this transfer
	char *wbuf;         // body bytes not yet written, for blob offsets [wpos, wpos + wlen)
	size_t wlen;
	uint64_t wpos;
	bool to_registry;
	unsigned auth_gen;  // the generation of the Authorization it carried (pull_authz)
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

struct pull_engine {
	struct pull_engine_opts o;
	CURLM *multi;
	struct blob **blobs;
	size_t nblobs;
	struct pull_blob_info *snapshot;
	struct xfer *active;
	int nactive;
	struct pull_hasher *hasher;
	struct pull_authz *authz;
	struct host *hosts;
	struct slot *free_slots;
	bool failed;
	struct err err;
	double t0, last_tick;
	double stuck_bound;    // seconds a blob may go without progress (blob_watch)
	uint64_t received;
	uint64_t discard_peak; // most bytes held in memory at once (discard)
	// Readers on other threads (pull_engine_stream_wait) and their abort.
	pthread_mutex_t smu;
	pthread_cond_t scond;
	bool run_over;
	struct err over_err;
	atomic_bool aborting;
	struct err abort_err; // under smu
};

// Fills in the totals and hands ev to the caller's callback.
static void emit_event(struct pull_engine *eng, struct pull_event *ev)
{
	if (!eng->o.on_event)
		return;
	ev->received_bytes = eng->received;
	ev->elapsed = clock_mono() - eng->t0;
	for (size_t i = 0; i < eng->nblobs; i++) {
		struct blob *b = eng->blobs[i];
		ev->total_bytes += b->info.size;
		ev->done_bytes += b->info.state == PULL_BLOB_CACHED ? b->info.size : b->info.received;
	}
	eng->o.on_event(eng->o.ud, ev);
}

static void emit(struct pull_engine *eng, enum pull_event_kind kind, const struct pull_blob_info *bi,
		 const char *detail)
{
	struct pull_event ev = {.kind = kind, .blob = bi, .detail = detail};
	emit_event(eng, &ev);
}

// Sets what became of x (for its request event).
static void xfer_outcome(struct xfer *x, enum pull_req_outcome o, const char *cause, const char *note)
{
	x->outcome = o;
	snprintf(x->cause, sizeof(x->cause), "%s", cause ? cause : "");
	snprintf(x->note, sizeof(x->note), "%s", note ? note : "");
}

static void fail(struct pull_engine *eng, const struct err *e)
{
	if (!eng->failed) {
		eng->failed = true;
		eng->err = *e;
	}
}

static struct host *host_get(struct pull_engine *eng, const char *url)
{
	_cleanup_free_ char *origin = http_origin(url);
	for (struct host *h = eng->hosts; h; h = h->next)
		if (strcmp(h->origin, origin) == 0)
			return h;
	struct host *h = xcalloc(1, sizeof(*h));
	h->origin = steal_pointer(&origin);
	h->cap = eng->o.connections;
	h->next = eng->hosts;
	eng->hosts = h;
	return h;
}

static const char *blob_url(const struct blob *b)
{
	return b->target ? b->target : b->reg_url;
}

static void wake_loop(void *ud)
{
	curl_multi_wakeup(ud);
}

int pull_engine_new(struct pull_engine **out, const struct pull_engine_opts *o, struct err *e)
{
	struct pull_engine *eng = xcalloc(1, sizeof(*eng));
	eng->o = *o;
	if (eng->o.connections < 1)
		eng->o.connections = 1;
	if (eng->o.chunk_size < (64u << 10))
		eng->o.chunk_size = 64u << 10;
	if (!eng->o.buffer_size)
		eng->o.buffer_size = 512u << 10;
	eng->multi = curl_multi_init();
	if (!eng->multi) {
		free(eng);
		return err_set(e, ERR_INTERNAL, "cannot create the transfer loop");
	}
	long n = eng->o.connections;
	curl_multi_setopt(eng->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, n);
	curl_multi_setopt(eng->multi, CURLMOPT_MAX_HOST_CONNECTIONS, n);
	curl_multi_setopt(eng->multi, CURLMOPT_MAXCONNECTS, n + 4);
	// No HTTP/2 multiplexing: parallel ranges must be separate TCP connections,
	// or a per-connection rate cap applies to all of them together.
	curl_multi_setopt(eng->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
	eng->authz = pull_authz_new(wake_loop, eng->multi);
	eng->stuck_bound = http_retry_bound_s(eng->o.retries, eng->o.http->stall_timeout_s);
	pthread_mutex_init(&eng->smu, NULL);
	pthread_cond_init(&eng->scond, NULL);
	*out = eng;
	return 0;
}

static struct blob *blob_find(const struct pull_engine *eng, const char *digest)
{
	for (size_t i = 0; i < eng->nblobs; i++)
		if (strcmp(eng->blobs[i]->digest, digest) == 0)
			return eng->blobs[i];
	return NULL;
}

static void blob_publish(struct pull_engine *eng, struct blob *b, uint64_t n, int fd);

// A blob in the layout (before the run, or committed by another process
// during it): stream readers take the layout's file, all of it.
static int blob_publish_layout(struct pull_engine *eng, struct blob *b, struct err *e)
{
	if (!eng->o.stream)
		return 0;
	int fd = oci_layout_open_blob(eng->o.layout, b->digest, e);
	if (fd < 0)
		return -1;
	blob_publish(eng, b, b->info.size, fd);
	close(fd);
	return 0;
}

int pull_engine_add(struct pull_engine *eng, struct pull_repo *repo, const char *digest,
		    uint64_t size, struct err *e)
{
	if (!oci_digest_valid(digest))
		return err_set(e, ERR_INTEGRITY, "invalid blob digest '%.80s'", digest);
	const struct blob *had = blob_find(eng, digest);
	if (had) {
		if (had->info.size != size)
			return err_set(e, ERR_INTEGRITY, "blob %s is listed with sizes %llu and %llu", digest,
				       (unsigned long long)had->info.size, (unsigned long long)size);
		return 0;
	}
	struct blob *b = xcalloc(1, sizeof(*b));
	b->digest = xstrdup(digest);
	b->info.digest = b->digest;
	b->info.size = size;
	b->repo = repo;
	b->info.source = repo->reg->host;
	b->fd = -1;
	b->pub_fd = -1;
	_cleanup_free_ char *suffix = xasprintf("/blobs/%s", digest);
	b->reg_url = pull_repo_url(repo, suffix);
	if (eng->o.discard) {
		oci_ingest_init(&b->ing, NULL, digest, size); // no layout: nothing to lock or keep
		b->info.state = PULL_BLOB_QUEUED;
	} else {
		oci_ingest_init(&b->ing, eng->o.layout, digest, size);
		b->info.state = oci_layout_has_blob(eng->o.layout, digest, size) ? PULL_BLOB_CACHED : PULL_BLOB_QUEUED;
	}
	eng->blobs = xrealloc(eng->blobs, (eng->nblobs + 1) * sizeof(*eng->blobs));
	eng->blobs[eng->nblobs++] = b;
	if (b->info.state == PULL_BLOB_CACHED && blob_publish_layout(eng, b, e) < 0)
		return -1;
	return 0;
}

// Cuts the blob into chunks; each starts with the bytes the ingest kept.
static void blob_cut(struct pull_engine *eng, struct blob *b)
{
	uint64_t cs = eng->o.chunk_size;
	b->mode = RM_UNKNOWN;
	b->pilot = false; // transfers of an earlier cut are cancelled, their pilot with them
	b->nchunks = b->info.size ? (size_t)((b->info.size + cs - 1) / cs) : 0;
	free(b->chunks);
	b->chunks = xcalloc(b->nchunks ? b->nchunks : 1, sizeof(*b->chunks));
	b->frontier = b->scan_from = 0;
	b->info.kept = 0;
	for (size_t i = 0; i < b->nchunks; i++) {
		struct chunk *c = &b->chunks[i];
		c->start = (uint64_t)i * cs;
		c->len = b->info.size - c->start < cs ? b->info.size - c->start : cs;
		c->written = eng->o.discard ? 0 : oci_ingest_kept(&b->ing, c->start, c->start + c->len);
		c->state = c->written == c->len ? CHUNK_DONE : CHUNK_PENDING;
		b->info.kept += c->written;
	}
	b->info.received = b->info.kept;
}

static void blob_hash_start(struct pull_engine *eng, struct blob *b)
{
	b->hash.fd = b->fd;
	b->hash.size = b->info.size;
	b->hash.sync = !eng->o.discard && oci_ingest_durable(&b->ing);
	b->hash.alg = oci_digest_evp(b->digest);
	// Kept bytes must hash as they did when their record was written.
	b->hash.check_at = 0;
	if (!eng->o.discard && b->info.kept)
		(void)oci_ingest_kept_check(&b->ing, &b->hash.check_at, b->hash.check_md);
	pull_hasher_add(eng->hasher, &b->hash);
	b->hashing = true;
}

static void blob_advance(struct pull_engine *eng, struct blob *b);
static void blob_save_progress(struct pull_engine *eng, struct blob *b);

// The blob is ours: open its partial file, keep what an earlier holder left.
static int blob_prepare(struct pull_engine *eng, struct blob *b, struct err *e)
{
	if (eng->o.discard) {
		// Memory, not disk: the hasher reads it back, then it is punched out.
		b->fd = memfd_create("imgpull-discard", MFD_CLOEXEC);
		if (b->fd < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot create a memory file for --discard");
		b->punched = 0;
	} else {
		b->fd = oci_ingest_open(&b->ing, e);
		if (b->fd < 0)
			return -1;
	}
	blob_cut(eng, b);
	blob_hash_start(eng, b);
	// A first record now, while the space is reserved: should the disk fill,
	// later ones are written over its pages.
	blob_save_progress(eng, b);
	b->info.state = PULL_BLOB_ACTIVE;
	char detail[96] = "";
	if (b->info.kept)
		snprintf(detail, sizeof(detail), "resuming with %llu bytes kept", (unsigned long long)b->info.kept);
	emit(eng, PULL_EV_BLOB_START, &b->info, b->info.kept ? detail : NULL);
	if (b->info.kept)
		log_info("blob %s: %s", b->digest, detail);
	blob_advance(eng, b);
	return 0;
}

// A queued or waiting blob: take it, find it done by another process, or wait.
// 1 when it is ours to fetch now.
static int blob_claim(struct pull_engine *eng, struct blob *b, double now, struct err *e)
{
	if (eng->o.discard)
		return blob_prepare(eng, b, e) < 0 ? -1 : 1;
	int st = oci_ingest_try(&b->ing, e);
	if (st < 0)
		return -1;
	if (st == OCI_INGEST_PRESENT) {
		b->info.state = PULL_BLOB_CACHED;
		if (blob_publish_layout(eng, b, e) < 0)
			return -1;
		b->info.finished = now - eng->t0;
		emit(eng, PULL_EV_BLOB_CACHED, &b->info, NULL);
		return 0;
	}
	if (st == OCI_INGEST_BUSY) {
		if (b->info.state != PULL_BLOB_WAITING) {
			b->info.state = PULL_BLOB_WAITING;
			log_info("blob %s: another imgpull is fetching it into this layout; waiting", b->digest);
			emit(eng, PULL_EV_BLOB_WAIT, &b->info, "another imgpull is fetching it into this layout");
		}
		b->not_before = now + LOCK_POLL_S;
		return 0;
	}
	return blob_prepare(eng, b, e) < 0 ? -1 : 1;
}

static uint64_t blob_contig(const struct blob *b)
{
	if (b->frontier >= b->nchunks)
		return b->info.size;
	const struct chunk *c = &b->chunks[b->frontier];
	return c->start + c->written;
}

// Bytes [0, n) of b become readable by stream readers; fd (when >= 0) is the
// file they read, kept as a descriptor of the engine's own.
static void blob_publish(struct pull_engine *eng, struct blob *b, uint64_t n, int fd)
{
	pthread_mutex_lock(&eng->smu);
	if (b->pub_fd < 0 && fd >= 0)
		b->pub_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (n > b->published) {
		b->published = n;
		pthread_cond_broadcast(&eng->scond);
	}
	pthread_mutex_unlock(&eng->smu);
}

static void blob_advance(struct pull_engine *eng, struct blob *b)
{
	while (b->frontier < b->nchunks && b->chunks[b->frontier].written == b->chunks[b->frontier].len)
		b->frontier++;
	pull_hasher_advance(eng->hasher, &b->hash, blob_contig(b));
	if (eng->o.discard || !eng->o.stream)
		return;
	// Readers get what the hasher has read; kept bytes with a prefix check
	// only once the hash is past it (a failed check stops the hash there);
	// the last byte once the digest is verified (finish_hashed).
	uint64_t h = pull_hasher_hashed(eng->hasher, &b->hash);
	if (b->hash.check_at && h <= b->hash.check_at)
		h = 0;
	if (h && h >= b->info.size)
		h = b->info.size - 1;
	blob_publish(eng, b, h, b->fd);
}

// Records which bytes of the partial file are in place, so whoever comes next
// (a later run, or a process taking over) keeps them.
static void blob_save_progress(struct pull_engine *eng, struct blob *b)
{
	if (b->fd < 0 || !b->chunks || eng->o.discard)
		return;
	uint64_t *w = xcalloc(b->nchunks ? b->nchunks : 1, sizeof(*w));
	for (size_t i = 0; i < b->nchunks; i++)
		w[i] = b->chunks[i].written;
	struct err e;
	uint64_t cs = b->mode == RM_SINGLE ? b->info.size : eng->o.chunk_size;
	uint64_t hashed = 0;
	unsigned char md[OCI_DIGEST_MD_MAX];
	if (b->hashing && eng->hasher)
		pull_hasher_mark(eng->hasher, &b->hash, &hashed, md);
	if (oci_ingest_save(&b->ing, cs ? cs : 1, w, b->nchunks, hashed, md, &e) < 0)
		log_warn("%s", e.msg);
	free(w);
	b->progress_saved = clock_mono();
	b->saved_bytes = b->info.received;
}

// ---- transfer callbacks (called from inside curl_multi_perform) ----

// The blob's source ignores Range: from now on one stream carries all of it.
static void switch_to_single(struct pull_engine *eng, struct xfer *x)
{
	struct blob *b = x->b;
	uint64_t keep = blob_contig(b);
	for (struct xfer *o = eng->active; o; o = o->next)
		if (o != x && o->b == b)
			o->cancel = true;
	b->mode = RM_SINGLE;
	b->nchunks = 1;
	b->frontier = 0;
	b->scan_from = 0;
	b->chunks[0] = (struct chunk){.start = 0, .len = b->info.size, .written = keep, .state = CHUNK_ACTIVE};
	x->ci = 0;
	x->want = keep;
	x->end = b->info.size;
	x->pos = 0;
	log_info("blob %s: source ignores Range, using one stream", b->digest);
}

// First body byte of a 2xx answer: check what we got is what we asked for.
static int check_answer(struct pull_engine *eng, struct xfer *x)
{
	struct blob *b = x->b;
	if (x->status == 200) {
		// The whole blob: a length other than the manifest's can never be right.
		curl_off_t cl = -1;
		curl_easy_getinfo(x->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		if (cl >= 0 && (uint64_t)cl != b->info.size) {
			err_set(&x->ferr, ERR_INTEGRITY, "blob %s is %lld bytes on the server, the manifest says %llu",
				b->digest, (long long)cl, (unsigned long long)b->info.size);
			x->fatal = true;
			return -1;
		}
		if (b->mode == RM_UNKNOWN || b->mode == RM_RANGES)
			switch_to_single(eng, x);
		else
			x->pos = 0; // a resumed single stream restarted from the top
		return 0;
	}
	uint64_t first, last, total;
	_cleanup_free_ char *cr = http_header_get(x->h, "Content-Range", 0, NULL);
	if (!cr || pull_content_range_parse(cr, &first, &last, &total, &x->ferr) < 0) {
		err_set(&x->ferr, ERR_NETWORK, "206 without a valid Content-Range");
		x->complaint = true;
		return -1;
	}
	if (total != PULL_RANGE_TOTAL_UNKNOWN && total != b->info.size) {
		err_set(&x->ferr, ERR_INTEGRITY, "blob %s is %llu bytes on the server, the manifest says %llu",
			b->digest, (unsigned long long)total, (unsigned long long)b->info.size);
		x->fatal = true;
		return -1;
	}
	if (first != x->want || last >= x->end) {
		err_set(&x->ferr, ERR_NETWORK, "asked for bytes %llu-%llu, got %llu-%llu",
			(unsigned long long)x->want, (unsigned long long)(x->end - 1),
			(unsigned long long)first, (unsigned long long)last);
		x->complaint = true;
		return -1;
	}
	x->end = last + 1; // a shorter range is allowed; bytes past it are not
	if (b->mode == RM_UNKNOWN)
		b->mode = RM_RANGES;
	// The first byte answers what the pilot was for (the source and its Range
	// support): the other ranges need not wait for the rest of its body.
	if (x->pilot) {
		x->pilot = false;
		b->pilot = false;
	}
	x->pos = first;
	return 0;
}

// Writes the gathered bytes at their offset; the chunk's written prefix
// (what the hasher may read) only grows once the bytes are in the file.
static int xfer_flush(struct xfer *x)
{
	if (!x->wlen)
		return 0;
	struct blob *b = x->b;
	if (file_pwrite_all(b->fd, x->wbuf, x->wlen, (long long)x->wpos) < 0) {
		if (x->eng->o.discard)
			err_sys(&x->ferr, ERR_STORAGE, errno, "cannot write the memory file of --discard");
		else
			oci_ingest_write_failed(&b->ing, errno, &x->ferr);
		x->fatal = true;
		x->wlen = 0;
		return -1;
	}
	struct chunk *c = &b->chunks[x->ci];
	x->got += x->wlen;
	c->written = x->wpos + x->wlen - c->start;
	b->info.received += x->wlen;
	x->eng->received += x->wlen;
	x->wlen = 0;
	return 0;
}

// Drops a transfer that received nothing for the stall timeout. curl's own
// low-speed check (still set) averages over several seconds, so a range that
// stops dead after a burst would only be noticed up to 6 s later; this one
// counts from the last byte.
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal, (void)ultotal, (void)ulnow;
	struct xfer *x = ud;
	double now = clock_mono();
	if (dlnow != x->seen) {
		x->seen = dlnow;
		x->last_byte = now;
		return 0;
	}
	long limit = x->eng->o.http->stall_timeout_s > 0 ? x->eng->o.http->stall_timeout_s : HTTP_STALL_TIMEOUT_S;
	if (now - x->last_byte < (double)limit)
		return 0;
	x->stalled = true;
	return 1;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	if (x->cancel)
		return 0;
	if (!x->checked) {
		x->checked = true;
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
		if ((x->status == 200 || x->status == 206) && check_answer(x->eng, x) < 0)
			return 0;
	}
	if (x->status != 200 && x->status != 206) {
		buf_add(&x->errbody, data, len); // kept for the message; overflow just truncates
		return len;
	}
	struct blob *b = x->b;
	struct chunk *c = &b->chunks[x->ci];
	const char *p = data;
	size_t left = len;
	if (x->pos < x->want) { // a 200 restarting below what we already have
		uint64_t skip = x->want - x->pos < left ? x->want - x->pos : left;
		p += skip;
		left -= (size_t)skip;
		x->pos += skip;
	}
	if (!left)
		return len;
	if (left > x->end - x->pos) {
		// Not a glitch a retry cures: the server's own framing is wrong.
		if (x->status == 200)
			err_set(&x->ferr, ERR_INTEGRITY, "blob %s: the server sent more than the manifest's %llu bytes",
				b->digest, (unsigned long long)b->info.size);
		else
			err_set(&x->ferr, ERR_NETWORK, "blob %s: the server sent more bytes than its Content-Range announced",
				b->digest);
		x->fatal = true;
		return 0;
	}
	// libcurl hands over at most 16 KiB per call: gather a buffer's worth
	// so the file sees few large writes instead of many small ones.
	while (left) {
		if (x->wlen == 0)
			x->wpos = x->pos;
		size_t room = x->eng->o.buffer_size - x->wlen;
		size_t take = left < room ? left : room;
		memcpy(x->wbuf + x->wlen, p, take);
		x->wlen += take;
		x->pos += take;
		p += take;
		left -= take;
		if (x->wlen == x->eng->o.buffer_size && xfer_flush(x) < 0)
			return 0;
	}
	(void)c;
	return len;
}

// ---- starting and finishing transfers ----

static void xfer_free(struct pull_engine *eng, struct xfer *x)
{
	for (struct xfer **pp = &eng->active; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	}
	eng->nactive--;
	x->host->active--;
	x->b->info.connections--;
	curl_multi_remove_handle(eng->multi, x->h);
	x->slot->next = eng->free_slots; // handle and buffer serve the next range
	eng->free_slots = x->slot;
	for (struct curl_slist *s = x->hdrs; s; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(x->hdrs);
	free(x->retry_after);
	auth_challenges_release(&x->chal);
	buf_release(&x->errbody);
	free(x);
}

// host[:port] a transfer went to, for messages (never a path or query).
static const char *xfer_host(const struct xfer *x)
{
	const char *o = strstr(x->host->origin, "://");
	return o ? o + 3 : x->host->origin;
}

// The request event of a transfer that ended (or was dropped): what was asked,
// what arrived and when, over which connection, and what became of it.
static void emit_request(struct pull_engine *eng, struct xfer *x)
{
	if (!eng->o.on_event)
		return;
	struct pull_request_info r = {.offset = x->ask_from, .len = x->ask_to - x->ask_from,
				      .start = x->t_start - eng->t0, .first = -1, .outcome = x->outcome,
				      .cause = x->cause[0] ? x->cause : NULL, .detail = x->note[0] ? x->note : NULL,
				      .host = xfer_host(x), .to_registry = x->to_registry};
	curl_off_t v = 0, first = 0, total = 0;
	if (curl_easy_getinfo(x->h, CURLINFO_SIZE_DOWNLOAD_T, &v) == CURLE_OK && v > 0)
		r.bytes = (uint64_t)v;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(x->h, CURLINFO_STARTTRANSFER_TIME_T, &first);
	curl_easy_getinfo(x->h, CURLINFO_TOTAL_TIME_T, &total);
	if (first > 0)
		r.first = r.start + (double)first / 1e6;
	// A dropped transfer never got its total time: it ends now.
	r.end = x->outcome == PULL_REQ_CANCELLED || total <= 0 ? clock_mono() - eng->t0 : r.start + (double)total / 1e6;
	if (r.first > r.end)
		r.first = r.end;
	char *ip = NULL;
	long port = 0;
	curl_easy_getinfo(x->h, CURLINFO_PRIMARY_IP, &ip);
	curl_easy_getinfo(x->h, CURLINFO_PRIMARY_PORT, &port);
	curl_easy_getinfo(x->h, CURLINFO_LOCAL_PORT, &r.local_port);
	if (ip && *ip)
		snprintf(r.remote, sizeof(r.remote), strchr(ip, ':') ? "[%s]:%ld" : "%s:%ld", ip, port);
	char cause[16];
	if (r.outcome == PULL_REQ_FAILED && !r.cause) {
		snprintf(cause, sizeof(cause), r.status ? "http_%ld" : "error", r.status);
		r.cause = cause;
	}
	if (r.outcome == PULL_REQ_FAILED && !r.detail)
		r.detail = x->fatal ? x->ferr.msg : eng->failed ? eng->err.msg : NULL;
	struct pull_event ev = {.kind = PULL_EV_REQUEST, .blob = &x->b->info, .req = &r};
	emit_event(eng, &ev);
}

// authz: the Authorization for a request to the registry (NULL: none), of
// generation auth_gen.
static int xfer_start(struct pull_engine *eng, struct blob *b, size_t ci, bool pilot, const char *authz,
		      unsigned auth_gen, struct err *e)
{
	struct chunk *c = &b->chunks[ci];
	struct xfer *x = xcalloc(1, sizeof(*x));
	x->eng = eng;
	x->b = b;
	x->ci = ci;
	x->want = c->start + c->written;
	x->end = c->start + c->len;
	x->pos = x->want;
	x->ask_from = x->want;
	x->ask_to = x->end;
	x->t_start = clock_mono();
	x->pilot = pilot;
	x->to_registry = b->target == NULL;
	buf_init(&x->errbody, ERRBODY_MAX);
	const char *url = blob_url(b);
	x->host = host_get(eng, url);
	x->auth_gen = auth_gen;
	x->target_gen = b->target_gen;
	if (x->to_registry && authz) {
		_cleanup_free_ char *h = xasprintf("Authorization: %s", authz);
		x->hdrs = curl_slist_append(x->hdrs, h);
		explicit_bzero(h, strlen(h));
	}
	// A hosts.toml endpoint's headers, for it alone (not a redirect target).
	for (const struct curl_slist *hd = x->to_registry ? b->repo->reg->auth.cfg->headers : NULL; hd; hd = hd->next)
		x->hdrs = curl_slist_append(x->hdrs, hd->data);
	char range[64];
	snprintf(range, sizeof(range), "Range: bytes=%llu-%llu", (unsigned long long)x->want,
		 (unsigned long long)(x->end - 1));
	x->hdrs = curl_slist_append(x->hdrs, range);
	struct slot *sl = eng->free_slots;
	if (sl) {
		eng->free_slots = sl->next;
		curl_easy_reset(sl->h);
	} else {
		sl = xcalloc(1, sizeof(*sl));
		sl->h = curl_easy_init();
		if (!sl->h) {
			free(sl);
			curl_slist_free_all(x->hdrs);
			free(x);
			return err_set(e, ERR_INTERNAL, "cannot create an HTTP handle");
		}
		sl->wbuf = xmalloc(eng->o.buffer_size);
	}
	x->slot = sl;
	x->h = sl->h;
	x->wbuf = sl->wbuf;
	http_setup(x->h, b->repo->reg->auth.cfg); // a mirror's own TLS, or the run's
	curl_easy_setopt(x->h, CURLOPT_URL, url);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	// Registry answers are not followed: a redirect is resolved once per blob
	// and later ranges go straight to the target. Targets may chain (CDN),
	// and carry no credentials, so following there is safe.
	curl_easy_setopt(x->h, CURLOPT_FOLLOWLOCATION, x->to_registry ? 0L : 1L);
	curl_easy_setopt(x->h, CURLOPT_BUFFERSIZE, CURL_RECV_BUFFER);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	x->last_byte = x->t_start;
	curl_easy_setopt(x->h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(x->h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(x->h, CURLOPT_XFERINFODATA, x);
	long left_ms = http_deadline_ms(eng->o.http);
	if (left_ms > 0)
		curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, left_ms);
	if (log_get_level() >= LOG_DEBUG) {
		char safe[512];
		log_redact_url(url, safe, sizeof(safe));
		log_debug("GET %s %s%s", safe, range + 7, pilot ? " (pilot)" : "");
	}
	c->state = CHUNK_ACTIVE;
	if (pilot)
		b->pilot = true;
	x->next = eng->active;
	eng->active = x;
	eng->nactive++;
	x->host->active++;
	b->info.connections++;
	curl_multi_add_handle(eng->multi, x->h);
	return 0;
}

// Puts a chunk back in the queue (keeps the scheduler's scan hint right).
static void chunk_requeue(struct blob *b, size_t ci)
{
	b->chunks[ci].state = CHUNK_PENDING;
	if (ci < b->scan_from)
		b->scan_from = ci;
}

// counts: the try failed (throttling that we answered by backing off does not).
// Every failed try counts against its range and its blob, whatever it
// delivered before failing: a server that resets after a few bytes, or
// trickles, every time, must run the budget out. Only a single stream (a
// source that ignores Range) that moved a chunk's worth before failing
// starts its range's count again, as a finished range would.
static bool blob_fallback(struct pull_engine *eng, struct blob *b, const char *why);

// A mirror gets this many failed tries of a blob before the next endpoint
// takes it over (containerd moves on at the first).
#define MIRROR_FAILURES_MAX 2

static void retry_later(struct pull_engine *eng, struct xfer *x, const char *why, const char *cause, bool counts)
{
	struct blob *b = x->b;
	struct chunk *c = &b->chunks[x->ci];
	chunk_requeue(b, x->ci);
	if (x->got >= eng->o.chunk_size) {
		c->attempts = 0;
		b->ranges_done++;
	}
	if (counts) {
		c->attempts++;
		b->failures++;
	}
	if (counts && b->repo->next_src && b->failures >= MIRROR_FAILURES_MAX) {
		xfer_outcome(x, PULL_REQ_RETRY, cause, why);
		blob_fallback(eng, b, why);
		return;
	}
	struct err e;
	if (c->attempts > eng->o.retries) {
		err_set(&e, ERR_NETWORK, "blob %s from %s: %s (gave up after %d retries)", b->digest,
			xfer_host(x), why, eng->o.retries);
		xfer_outcome(x, PULL_REQ_FAILED, cause, e.msg);
		fail(eng, &e);
		return;
	}
	if (b->failures > BLOB_BUDGET_PER_RETRY * eng->o.retries + b->ranges_done) {
		err_set(&e, ERR_NETWORK, "blob %s from %s: %s (gave up after %d failed tries with %d ranges finished)",
			b->digest, xfer_host(x), why, b->failures, b->ranges_done);
		xfer_outcome(x, PULL_REQ_FAILED, cause, e.msg);
		fail(eng, &e);
		return;
	}
	snprintf(b->last_why, sizeof(b->last_why), "%s", why);
	snprintf(b->last_host, sizeof(b->last_host), "%s", xfer_host(x));
	double ra = http_retry_after_s(x->retry_after), left = eng->stuck_bound - b->stuck_for;
	if (ra > left) {
		err_set(&e, ERR_NETWORK, "blob %s from %s: %s, asking to wait %.0f s (Retry-After): gave up, more than "
			"the %.0f s left of the %.0f s a blob may go without progress", b->digest, xfer_host(x), why, ra,
			left > 0 ? left : 0, eng->stuck_bound);
		xfer_outcome(x, PULL_REQ_FAILED, cause, e.msg);
		fail(eng, &e);
		return;
	}
	double d = http_backoff_seconds(c->attempts > 0 ? c->attempts - 1 : 0, x->retry_after);
	c->not_before = clock_mono() + d;
	char msg[ERR_MSG_MAX + 64];
	snprintf(msg, sizeof(msg), "%s; retry %d/%d in %.1fs", why, c->attempts, eng->o.retries, d);
	log_info("blob %s from %s: %s", b->digest, xfer_host(x), msg);
	xfer_outcome(x, PULL_REQ_RETRY, cause, msg);
	if (eng->o.on_event) {
		struct pull_event ev = {.kind = PULL_EV_RETRY, .blob = &b->info, .detail = msg,
					.host = xfer_host(x), .attempt = c->attempts};
		emit_event(eng, &ev);
	}
}

// The WWW-Authenticate challenges of a refusal, for the token's renewal.
static void xfer_challenges(struct xfer *x)
{
	size_t n = 0;
	char *v = http_header_get(x->h, "WWW-Authenticate", 0, &n);
	for (size_t i = 0; v && i < HTTP_CHALLENGE_LINES_MAX; i++) {
		struct err ignored;
		auth_challenge_parse(&x->chal, v, &ignored);
		free(v);
		v = i + 1 < n ? http_header_get(x->h, "WWW-Authenticate", i + 1, NULL) : NULL;
	}
	free(v);
}

// Applies the verdict of pull_judge to the blob, its chunk, the host and the
// session; the messages name the blob, the host and what it did.
// The error that ends the pull for a fatal verdict on x (j->cause says which).
// A 401 for a blob: the token renewed (once for all its ranges), the next
// endpoint asked, or the pull failed after too many.
static void xfer_renew_token(struct pull_engine *eng, struct xfer *x, const struct pull_judgement *jd)
{
	struct blob *b = x->b;
	struct err e;
	// Every range in flight meets the expiry of a shared token at once:
	// only the first 401 for a token renews it, the rest just go again.
	xfer_challenges(x);
	if (!pull_authz_refused(eng->authz, b->repo, x->auth_gen, &x->chal)) {
		chunk_requeue(b, x->ci);
		xfer_outcome(x, PULL_REQ_RENEW, jd->cause, "the token was renewed meanwhile");
		return;
	}
	if (++b->auth_renewals > MAX_AUTH_RENEWALS && b->repo->next_src) {
		xfer_outcome(x, PULL_REQ_RENEW, jd->cause, "token refused again: the next endpoint");
		blob_fallback(eng, b, "the credential is refused");
		return;
	}
	if (b->auth_renewals > MAX_AUTH_RENEWALS) {
		pull_authz_quiesce(eng->authz); // the session is ours again
		pull_repo_auth_error(b->repo, &e);
		fail(eng, &e);
		return;
	}
	chunk_requeue(b, x->ci);
	xfer_outcome(x, PULL_REQ_RENEW, jd->cause, "token refused: renewing it");
}

// A blob store refused its redirect target: a fresh one asked for (once for
// all the ranges sent to it), the next endpoint asked, or the pull failed.
static void xfer_renew_target(struct pull_engine *eng, struct xfer *x, const struct pull_judgement *jd, long status)
{
	struct blob *b = x->b;
	struct err e;
	char why[ERR_MSG_MAX];
	// Once for all the ranges that were sent to the expired URL.
	if (x->target_gen != b->target_gen) {
		chunk_requeue(b, x->ci);
		xfer_outcome(x, PULL_REQ_RENEW, jd->cause, "the redirect was renewed meanwhile");
		return;
	}
	if (++b->renewals > MAX_REDIRECT_RENEWALS && b->repo->next_src) {
		xfer_outcome(x, PULL_REQ_RENEW, jd->cause, "the blob store keeps refusing: the next endpoint");
		blob_fallback(eng, b, "its blob store keeps refusing");
		return;
	}
	if (b->renewals > MAX_REDIRECT_RENEWALS) {
		err_set(&e, ERR_NETWORK, "blob %s: the blob store keeps refusing (HTTP %ld)", b->digest, status);
		fail(eng, &e);
		return;
	}
	free(b->target);
	b->target = NULL;
	b->target_gen++;
	chunk_requeue(b, x->ci);
	snprintf(why, sizeof(why), "the blob store refused (HTTP %ld): asking the registry again", status);
	xfer_outcome(x, PULL_REQ_RENEW, jd->cause, why);
}

static void xfer_fatal(const struct xfer *x, const struct pull_judgement *jd, long status, const char *loc, CURLcode rc,
		       struct err *ep)
{
	const struct blob *b = x->b;
	const char *from = x->to_registry ? b->repo->reg->host : "the blob store";
	if (strcmp(jd->cause, "lasting") == 0) {
		*ep = x->ferr;
	} else if (strcmp(jd->cause, "tls_or_scheme") == 0) {
		err_set(ep, jd->cls, "blob %s from %s: %s (%llu bytes this try)", b->digest, xfer_host(x),
			x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc), (unsigned long long)x->got);
	} else if (strcmp(jd->cause, "blob_short") == 0) {
		err_set(ep, jd->cls, "blob %s is shorter on the server (%llu bytes) than the manifest says (%llu)", b->digest,
			(unsigned long long)x->pos, (unsigned long long)b->info.size);
	} else if (strcmp(jd->cause, "no_location") == 0) {
		err_set(ep, jd->cls, "blob %s: redirect without a Location", b->digest);
	} else if (strcmp(jd->cause, "redirect_scheme") == 0) {
		char safe[128];
		log_redact_url(loc, safe, sizeof(safe));
		err_set(ep, jd->cls, "blob %s: %s redirected to '%s', which is not an HTTP URL", b->digest,
			b->repo->reg->host, safe);
	} else if (strcmp(jd->cause, "not_found") == 0) {
		err_set(ep, jd->cls, "blob %s not found in %s/%s", b->digest, b->repo->reg->host, b->repo->path);
	} else if (strcmp(jd->cause, "denied") == 0) {
		err_set(ep, jd->cls, "blob %s: access denied by %s (HTTP 403)", b->digest, b->repo->reg->host);
	} else if (strcmp(jd->cause, "range") == 0) {
		err_set(ep, jd->cls, "blob %s: the server has fewer bytes than the manifest says", b->digest);
	} else {
		err_set(ep, jd->cls, "blob %s: unexpected HTTP %ld from %s", b->digest, status, from);
	}
}

static void xfer_done(struct pull_engine *eng, struct xfer *x, CURLcode rc)
{
	struct blob *b = x->b;
	if (x->pilot)
		b->pilot = false;
	if (x->cancel) {
		xfer_outcome(x, PULL_REQ_CANCELLED, "cancelled", NULL);
		return;
	}
	x->outcome = PULL_REQ_FAILED; // unless the verdict says otherwise
	if (!x->fatal)
		xfer_flush(x); // whatever arrived is good for the retry
	struct chunk *c = &b->chunks[x->ci];
	long status = 0;
	char *loc = NULL;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->h, CURLINFO_REDIRECT_URL, &loc);
	x->retry_after = http_header_get(x->h, "Retry-After", 0, NULL);
	struct pull_answer ans = {
		.curl_rc = rc, .status = status, .to_registry = x->to_registry,
		.complete = c->written == c->len, .whole_short = status == 200 && x->pos < b->info.size,
		.complaint = x->complaint, .lasting = x->fatal, .location = loc != NULL, .stalled = x->stalled,
		.location_http = loc && (strncasecmp(loc, "http://", 7) == 0 || strncasecmp(loc, "https://", 8) == 0),
		.auth_refused = x->to_registry &&
				auth_session_rejected(&b->repo->reg->auth, status, x->errbody.data, x->errbody.len),
	};
	struct pull_judgement j;
	pull_judge(&ans, &j);
	struct err e;
	char why[ERR_MSG_MAX];
	switch (j.verdict) {
	case PULL_V_DONE:
		b->ranges_done++;
		c->state = CHUNK_DONE;
		xfer_outcome(x, PULL_REQ_OK, NULL, NULL);
		b->auth_renewals = 0;
		b->renewals = 0; // the renewed target works: a long pull may renew again later
		if (x->host->cap < eng->o.connections)
			x->host->cap++;
		return;
	case PULL_V_RETRY:
		if (x->complaint)
			snprintf(why, sizeof(why), "%.400s", x->ferr.msg);
		else if (x->stalled)
			snprintf(why, sizeof(why), "stalled: nothing arrived for %.0f s (%llu bytes this try)",
				 clock_mono() - x->last_byte, (unsigned long long)x->got);
		else if (rc != CURLE_OK)
			snprintf(why, sizeof(why), "%s (%llu bytes this try)",
				 x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc), (unsigned long long)x->got);
		else if (status == 200 || status == 206)
			snprintf(why, sizeof(why), "short answer");
		else
			snprintf(why, sizeof(why), "HTTP %ld", status);
		retry_later(eng, x, why, j.cause, true);
		return;
	case PULL_V_THROTTLED: {
		struct host *h = x->host;
		bool at_floor = h->cap <= 1;
		h->cap = h->active / 2 > 1 ? h->active / 2 : 1;
		double pause = http_backoff_seconds(0, x->retry_after);
		if (h->not_before < clock_mono() + pause)
			h->not_before = clock_mono() + pause;
		snprintf(why, sizeof(why), "HTTP %ld, %d connection%s to this server now", status, h->cap,
			 h->cap == 1 ? "" : "s");
		retry_later(eng, x, why, j.cause, at_floor);
		return;
	}
	case PULL_V_REDIRECT: {
		free(b->target);
		b->target = xstrdup(loc);
		b->redirected = true;
		chunk_requeue(b, x->ci);
		xfer_outcome(x, PULL_REQ_REDIRECT, NULL, NULL);
		char safe[512];
		log_redact_url(loc, safe, sizeof(safe));
		log_debug("blob %s: redirected to %s", b->digest, safe);
		return;
	}
	case PULL_V_RENEW_TOKEN:
		xfer_renew_token(eng, x, &j);
		return;
	case PULL_V_RENEW_TARGET:
		xfer_renew_target(eng, x, &j, status);
		return;
	case PULL_V_FATAL:
		break;
	}
	// Not the disk's fault (a lasting error is a write's): the next endpoint's turn.
	if (strcmp(j.cause, "lasting") != 0 && b->repo->next_src) {
		char fw[96];
		snprintf(fw, sizeof(fw), "%s (HTTP %ld)", j.cause, status);
		xfer_outcome(x, PULL_REQ_RETRY, j.cause, fw);
		blob_fallback(eng, b, fw);
		return;
	}
	xfer_fatal(x, &j, status, loc, rc, &e);
	fail(eng, &e);
}

uint64_t pull_engine_discard_window(const struct pull_engine_opts *o)
{
	uint64_t cs = o->chunk_size < (64u << 10) ? 64u << 10 : o->chunk_size;
	return (uint64_t)((o->connections < 1 ? 1 : o->connections) + 2) * cs;
}

// With discard: bytes of the blobs being fetched that sit in memory, not
// dropped yet.
static uint64_t discard_in_memory(const struct pull_engine *eng)
{
	uint64_t held = 0;
	for (size_t i = 0; i < eng->nblobs; i++) {
		const struct blob *b = eng->blobs[i];
		if (b->info.state == PULL_BLOB_ACTIVE && b->info.received > b->punched)
			held += b->info.received - b->punched;
	}
	return held;
}

// With discard: those, and the bytes on their way there.
static uint64_t discard_held(const struct pull_engine *eng)
{
	uint64_t held = discard_in_memory(eng);
	for (const struct xfer *x = eng->active; x; x = x->next)
		if (x->end > x->pos)
			held += x->end - x->pos;
	return held;
}

// With discard: what the hasher is done with leaves memory (in 1 MiB steps).
static void discard_punch(struct pull_engine *eng)
{
	for (size_t i = 0; i < eng->nblobs; i++) {
		struct blob *b = eng->blobs[i];
		if (!b->hashing || b->fd < 0)
			continue;
		uint64_t h = pull_hasher_hashed(eng->hasher, &b->hash) & ~(uint64_t)((1u << 20) - 1);
		if (h > b->punched &&
		    fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)b->punched, (off_t)(h - b->punched)) == 0)
			b->punched = h;
	}
	uint64_t held = discard_in_memory(eng);
	if (held > eng->discard_peak)
		eng->discard_peak = held;
}

// Fills free connection slots: first one pilot per blob that needs its
// redirect or Range support learned, then ranges in blob order.
static void schedule(struct pull_engine *eng)
{
	double now = clock_mono();
	// With discard, ranges ahead of the hash wait in memory: start one past
	// the window only where the hash needs it next.
	// A range the hash needs next may go past the window, one at a time, so
	// that the hash always moves: everything else stays a chunk below it.
	uint64_t window = eng->o.discard ? pull_engine_discard_window(&eng->o) - eng->o.chunk_size : 0;
	uint64_t held = eng->o.discard ? discard_held(eng) : 0;
	bool past_window = false;
	for (const struct xfer *x = eng->active; x && eng->o.discard; x = x->next)
		past_window |= x->past_window;
	for (int pass = 0; pass < 2 && !eng->failed; pass++) {
		for (size_t i = 0; i < eng->nblobs && eng->nactive < eng->o.connections; i++) {
			struct blob *b = eng->blobs[i];
			if (b->info.state == PULL_BLOB_DONE || b->info.state == PULL_BLOB_CACHED || b->pilot)
				continue;
			bool unclaimed = b->info.state == PULL_BLOB_QUEUED || b->info.state == PULL_BLOB_WAITING;
			if (unclaimed && b->not_before > now)
				continue;
			// A request to the registry waits for its token; the fetch runs
			// off the loop, and other blobs' ranges go on meanwhile. A blob
			// is only taken on (its space reserved) once it can start.
			const char *authz = NULL;
			unsigned auth_gen = 0;
			if (!b->target) {
				struct err e;
				int ar = pull_authz_get(eng->authz, b->repo, &authz, &auth_gen, &e);
				if (ar < 0 && blob_fallback(eng, b, e.msg))
					continue; // a mirror that cannot be reached or refuses us
				if (ar < 0) {
					fail(eng, &e);
					return;
				}
				if (ar == 0)
					continue;
			}
			if (unclaimed) {
				struct err e;
				int r = blob_claim(eng, b, now, &e);
				if (r < 0) {
					fail(eng, &e);
					return;
				}
				if (r == 0)
					continue;
			}
			bool needs_pilot = b->mode == RM_UNKNOWN || (b->redirected && !b->target);
			if (pass == 0 && !needs_pilot)
				continue;
			while (b->scan_from < b->nchunks && b->chunks[b->scan_from].state != CHUNK_PENDING)
				b->scan_from++;
			struct host *h = host_get(eng, blob_url(b));
			for (size_t ci = b->scan_from; ci < b->nchunks && eng->nactive < eng->o.connections; ci++) {
				struct chunk *c = &b->chunks[ci];
				if (h->active >= h->cap || h->not_before > now)
					break;
				if (c->state != CHUNK_PENDING || c->not_before > now)
					continue;
				if (b->mode == RM_SINGLE && b->info.connections > 0)
					break;
				bool past = false;
				if (eng->o.discard) {
					if (held + (c->len - c->written) > window) {
						if (ci != b->frontier || past_window)
							break;
						past = past_window = true;
					}
					held += c->len - c->written;
				}
				struct err e;
				if (xfer_start(eng, b, ci, needs_pilot, authz, auth_gen, &e) < 0) {
					fail(eng, &e);
					return;
				}
				eng->active->past_window = past; // xfer_start put it first
				if (needs_pilot)
					break;
			}
		}
	}
}

// Fetches a blob again from nothing, once: its kept bytes proved wrong. Its
// transfers still in flight are dropped with the chunks they wrote into.
static int blob_restart(struct pull_engine *eng, struct blob *b)
{
	b->restarted = true;
	pthread_mutex_lock(&eng->smu);
	if (b->published) {
		b->pub_broken = true; // a reader took bytes that proved wrong
		pthread_cond_broadcast(&eng->scond);
	}
	b->published = 0;
	pthread_mutex_unlock(&eng->smu);
	for (struct xfer *x = eng->active; x; x = x->next) {
		if (x->b == b) {
			x->cancel = true;
			x->pilot = false; // the new cut's own pilot decides now
		}
	}
	struct err e;
	if (oci_ingest_reset(&b->ing, &e) < 0) {
		fail(eng, &e);
		return -1;
	}
	blob_cut(eng, b);
	blob_hash_start(eng, b);
	return 0;
}

// A mirror failed the blob (not found, refused, unreachable, wrong bytes, no
// progress): it comes from the next endpoint, from nothing. False when there
// is none (the caller fails the pull).
static bool blob_fallback(struct pull_engine *eng, struct blob *b, const char *why)
{
	struct pull_repo *next = b->repo->next_src;
	if (!next || eng->failed)
		return false;
	log_warn("blob %s: %s: %s; fetching it from %s", b->digest, b->repo->reg->host, why, next->reg->host);
	b->repo = next;
	b->info.source = next->reg->host;
	free(b->reg_url);
	_cleanup_free_ char *suffix = xasprintf("/blobs/%s", b->digest);
	b->reg_url = pull_repo_url(next, suffix);
	free(b->target);
	b->target = NULL;
	b->target_gen++;
	b->redirected = false;
	b->renewals = b->auth_renewals = b->failures = b->ranges_done = 0;
	b->stuck_for = 0;
	b->last_why[0] = b->last_host[0] = '\0';
	if (b->info.state != PULL_BLOB_ACTIVE)
		return true; // not started: it starts from the next endpoint
	if (b->hashing) {
		pull_hasher_cancel(eng->hasher, &b->hash);
		b->hashing = false;
	}
	bool restarted = b->restarted;
	blob_restart(eng, b);
	b->restarted = restarted; // kept bytes may still be retried once elsewhere
	return true;
}

static void finish_hashed(struct pull_engine *eng)
{
	for (size_t i = 0; i < eng->nblobs && !eng->failed; i++) {
		struct blob *b = eng->blobs[i];
		if (!b->hashing || !pull_hasher_result(eng->hasher, &b->hash))
			continue;
		b->hashing = false;
		struct err e;
		if (b->hash.error) {
			err_sys(&e, ERR_STORAGE, b->hash.error, "cannot read back '%s'",
				eng->o.discard ? "(memory file of --discard)" : oci_ingest_partial_path(&b->ing));
			fail(eng, &e);
			return;
		}
		char got[OCI_DIGEST_LEN + 1];
		oci_digest_format_like(got, b->digest, b->hash.md);
		if (b->hash.check_failed && !b->restarted) {
			// The kept prefix no longer hashes as it did (lost with the page
			// cache in a crash, or changed on disk): fetch the blob anew.
			log_warn("blob %s: the first %llu bytes kept from an earlier run no longer hash as recorded; "
				 "fetching it again", b->digest, (unsigned long long)b->hash.check_at);
			if (blob_restart(eng, b) < 0)
				return;
			continue;
		}
		if (strcmp(got, b->digest) != 0 && b->info.kept && !b->restarted) {
			// Bytes taken over from an earlier run were wrong (or the record
			// lied): they are worth nothing. Fetch the blob again, once.
			log_warn("blob %s: the %llu bytes kept from an earlier run do not verify; fetching it again",
				 b->digest, (unsigned long long)b->info.kept);
			if (blob_restart(eng, b) < 0)
				return;
			continue;
		}
		if (strcmp(got, b->digest) != 0) {
			char why[160];
			snprintf(why, sizeof(why), "its bytes have digest %s", got);
			if (blob_fallback(eng, b, why))
				continue;
			// A partial file that does not hash right is worth nothing for a
			// resume: no record may name its bytes again (the failed run's
			// last records are written for blobs still open).
			if (!eng->o.discard) {
				oci_ingest_discard(&b->ing);
				b->fd = -1; // closed when the ingest is released
			}
			err_set(&e, ERR_INTEGRITY, "blob %s from %s/%s has digest %s", b->digest,
				b->repo->reg->host, b->repo->path, got);
			fail(eng, &e);
			return;
		}
		if (eng->o.discard) {
			close(b->fd); // verified; nothing is kept
		} else if (oci_ingest_commit(&b->ing, &e) < 0) {
			fail(eng, &e);
			return;
		}
		b->fd = -1;
		b->info.state = PULL_BLOB_DONE;
		if (!eng->o.discard && eng->o.stream)
			blob_publish(eng, b, b->info.size, -1);
		b->info.finished = clock_mono() - eng->t0;
		emit(eng, PULL_EV_BLOB_DONE, &b->info, NULL);
	}
}

// True while the blob's lack of progress is its source's doing: a try in
// flight, a range waiting out its backoff, or its host paused by throttling.
// A blob whose ranges only wait for a free connection is not being failed.
static bool blob_waits_on_source(struct pull_engine *eng, const struct blob *b, double now)
{
	if (b->info.connections > 0)
		return true;
	if (host_get(eng, blob_url(b))->not_before > now)
		return true;
	for (size_t ci = b->scan_from; ci < b->nchunks; ci++)
		if (b->chunks[ci].state == CHUNK_PENDING && b->chunks[ci].not_before > now)
			return true;
	return false;
}

// A blob gives up when its source, over all its ranges and connections,
// finished no range and delivered less than the stall rate for as long as one
// range may take through all its retries (127.75 s at the defaults). The
// tries alone do not bound it: ranges failing in turn, each with tries left,
// or a pilot that never gets past the headers, would go on for longer.
static void blob_watch(struct pull_engine *eng, double now)
{
	long stall = eng->o.http->stall_timeout_s > 0 ? eng->o.http->stall_timeout_s : HTTP_STALL_TIMEOUT_S;
	uint64_t quantum = (uint64_t)HTTP_STALL_RATE * (uint64_t)stall;
	for (size_t i = 0; i < eng->nblobs && !eng->failed; i++) {
		struct blob *b = eng->blobs[i];
		double dt = b->stuck_tick > 0 ? now - b->stuck_tick : 0;
		b->stuck_tick = now;
		if (b->info.state != PULL_BLOB_ACTIVE)
			continue;
		if (b->info.received < b->stuck_mark || b->info.received - b->stuck_mark >= quantum ||
		    b->ranges_done != b->stuck_ranges) {
			b->stuck_mark = b->info.received;
			b->stuck_ranges = b->ranges_done;
			b->stuck_for = 0;
			continue;
		}
		if (blob_waits_on_source(eng, b, now))
			b->stuck_for += dt;
		if (b->stuck_for <= eng->stuck_bound)
			continue;
		if (blob_fallback(eng, b, "no progress"))
			continue;
		struct err e;
		err_set(&e, ERR_NETWORK, "blob %s from %s: %s (gave up: %llu bytes and no range in %.0f s)", b->digest,
			b->last_host[0] ? b->last_host : "its source", b->last_why[0] ? b->last_why : "no progress",
			(unsigned long long)(b->info.received - b->stuck_mark), b->stuck_for);
		fail(eng, &e);
	}
}

static bool all_done(const struct pull_engine *eng)
{
	for (size_t i = 0; i < eng->nblobs; i++)
		if (eng->blobs[i]->info.state != PULL_BLOB_DONE && eng->blobs[i]->info.state != PULL_BLOB_CACHED)
			return false;
	return true;
}

// When the loop must look again without socket activity: the end of the
// earliest retry delay, or the next progress tick. Chunks that are ready but
// wait for a free connection need no timer: a finishing transfer wakes us.
static double next_due(const struct pull_engine *eng, double now)
{
	double due = now + TICK_S;
	for (const struct host *h = eng->hosts; h; h = h->next)
		if (h->not_before > now && h->not_before < due)
			due = h->not_before;
	for (size_t i = 0; i < eng->nblobs; i++) {
		const struct blob *b = eng->blobs[i];
		for (size_t ci = b->scan_from; ci < b->nchunks; ci++) {
			const struct chunk *c = &b->chunks[ci];
			if (c->state == CHUNK_PENDING && c->not_before > now && c->not_before < due)
				due = c->not_before;
		}
	}
	return due;
}

int pull_engine_run(struct pull_engine *eng, struct err *e)
{
	eng->t0 = clock_mono();
	for (size_t i = 0; i < eng->nblobs; i++)
		if (eng->blobs[i]->info.state == PULL_BLOB_CACHED)
			emit(eng, PULL_EV_BLOB_CACHED, &eng->blobs[i]->info, NULL);
	if (pull_hasher_start(&eng->hasher, wake_loop, eng->multi, e) < 0)
		return -1;
	while (!eng->failed && !all_done(eng)) {
		schedule(eng);
		int running = 0;
		CURLMcode mc = curl_multi_perform(eng->multi, &running);
		if (mc != CURLM_OK) {
			struct err me;
			err_set(&me, ERR_INTERNAL, "transfer loop: %s", curl_multi_strerror(mc));
			fail(eng, &me);
			break;
		}
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(eng->multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct xfer *x = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &x);
			CURLcode rc = msg->data.result;
			xfer_done(eng, x, rc);
			emit_request(eng, x);
			xfer_free(eng, x);
		}
		// Transfers of a blob that switched to one stream stop here.
		for (struct xfer *x = eng->active, *nx; x; x = nx) {
			nx = x->next;
			if (x->cancel) {
				xfer_outcome(x, PULL_REQ_CANCELLED, "cancelled", "the source ignores Range: one stream now");
				emit_request(eng, x);
				xfer_free(eng, x);
			}
		}
		for (size_t i = 0; i < eng->nblobs; i++)
			if (eng->blobs[i]->hashing)
				blob_advance(eng, eng->blobs[i]);
		if (eng->o.discard)
			discard_punch(eng);
		finish_hashed(eng);
		double now = clock_mono();
		// What a process taking over (or a later run) may keep: bytes already
		// written. Buffered bytes are written first, so that a slow transfer's
		// buffer does not hold back what the record can name.
		for (struct xfer *x = eng->active; x; x = x->next) {
			struct blob *b = x->b;
			if (!x->cancel && !x->fatal && x->wlen && now - b->progress_saved >= PROGRESS_SAVE_S &&
			    xfer_flush(x) < 0)
				fail(eng, &x->ferr);
		}
		for (size_t i = 0; i < eng->nblobs; i++) {
			struct blob *b = eng->blobs[i];
			if (b->info.state == PULL_BLOB_ACTIVE && b->info.received != b->saved_bytes &&
			    now - b->progress_saved >= PROGRESS_SAVE_S)
				blob_save_progress(eng, b);
		}
		if (atomic_load(&eng->aborting) && !eng->failed) {
			pthread_mutex_lock(&eng->smu);
			struct err ae = eng->abort_err;
			pthread_mutex_unlock(&eng->smu);
			fail(eng, &ae);
		}
		int sig = interrupt_signal();
		if (sig && !eng->failed) {
			struct err ie;
			err_set(&ie, ERR_INTERRUPTED, "interrupted by %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
			fail(eng, &ie);
		}
		if (eng->o.http->deadline > 0 && now >= eng->o.http->deadline && !eng->failed && !all_done(eng)) {
			struct err te;
			uint64_t total = 0, done = 0;
			for (size_t i = 0; i < eng->nblobs; i++) {
				const struct blob *b = eng->blobs[i];
				total += b->info.size;
				done += b->info.state == PULL_BLOB_CACHED || b->info.state == PULL_BLOB_DONE ? b->info.size
													  : b->info.received;
			}
			err_set(&te, ERR_NETWORK, "the pull did not finish within its --timeout (%llu of %llu bytes in place)",
				(unsigned long long)done, (unsigned long long)total);
			fail(eng, &te);
		}
		if (now - eng->last_tick >= TICK_S) {
			eng->last_tick = now;
			blob_watch(eng, now);
			emit(eng, PULL_EV_TICK, NULL, NULL);
		}
		if (eng->failed || all_done(eng))
			break;
		double wait = next_due(eng, now) - now;
		int ms = wait <= 0 ? 0 : (int)(wait * 1000) + 1;
		curl_multi_poll(eng->multi, NULL, 0, ms, NULL);
	}
	while (eng->active) {
		if (!eng->active->cancel)
			xfer_flush(eng->active); // bytes that arrived are kept for a resume
		xfer_outcome(eng->active, PULL_REQ_CANCELLED, "cancelled", "the pull ended");
		emit_request(eng, eng->active);
		xfer_free(eng, eng->active);
	}
	pull_hasher_stop(eng->hasher);
	eng->hasher = NULL;
	pull_authz_quiesce(eng->authz); // the sessions are the caller's again
	if (eng->failed)
		for (size_t i = 0; i < eng->nblobs; i++)
			if (eng->blobs[i]->info.state == PULL_BLOB_ACTIVE)
				blob_save_progress(eng, eng->blobs[i]);
	for (size_t i = 0; i < eng->nblobs; i++)
		eng->blobs[i]->hashing = false;
	pthread_mutex_lock(&eng->smu); // stream readers learn the run is over, and how
	eng->run_over = true;
	if (eng->failed)
		eng->over_err = eng->err;
	pthread_cond_broadcast(&eng->scond);
	pthread_mutex_unlock(&eng->smu);
	if (!eng->failed) {
		emit(eng, PULL_EV_TICK, NULL, NULL);
		if (!eng->o.discard && oci_layout_sync_blob_dirs(eng->o.layout, e) < 0)
			return -1;
		return 0;
	}
	*e = eng->err;
	return -1;
}

uint64_t pull_engine_stream_wait(struct pull_engine *eng, const char *digest, uint64_t want, int *fd,
				 struct err *e)
{
	if (fd)
		*fd = -1;
	if (!eng->o.stream) {
		err_set(e, ERR_INTERNAL, "the engine was not opened for streaming");
		return (uint64_t)-1;
	}
	struct blob *b = blob_find(eng, digest);
	if (!b) {
		err_set(e, ERR_INTERNAL, "blob %s is not part of the pull", digest);
		return (uint64_t)-1;
	}
	pthread_mutex_lock(&eng->smu);
	while (b->published < want && !b->pub_broken && !eng->run_over)
		pthread_cond_wait(&eng->scond, &eng->smu);
	uint64_t n = b->published;
	if (b->pub_broken) {
		err_set(e, ERR_INTEGRITY, "blob %s proved wrong after part of it was read, and is fetched again", digest);
		n = 0;
	} else if (n < want) {
		if (eng->over_err.msg[0])
			*e = eng->over_err;
		else
			err_set(e, ERR_INTERNAL, "the pull ended with %llu bytes of blob %s", (unsigned long long)n, digest);
	}
	if (fd && n && b->pub_fd >= 0)
		*fd = fcntl(b->pub_fd, F_DUPFD_CLOEXEC, 0);
	pthread_mutex_unlock(&eng->smu);
	if (fd && n && *fd < 0) {
		err_sys(e, ERR_STORAGE, errno, "cannot read blob %s", digest);
		return 0;
	}
	return n;
}

void pull_engine_abort(struct pull_engine *eng, const struct err *e)
{
	pthread_mutex_lock(&eng->smu);
	if (!atomic_load(&eng->aborting)) {
		eng->abort_err = *e;
		atomic_store(&eng->aborting, true);
	}
	pthread_mutex_unlock(&eng->smu);
	curl_multi_wakeup(eng->multi);
}

uint64_t pull_engine_discard_peak(const struct pull_engine *eng)
{
	return eng->discard_peak;
}

uint64_t pull_engine_received(const struct pull_engine *eng)
{
	return eng->received;
}

size_t pull_engine_blobs(struct pull_engine *eng, const struct pull_blob_info **out)
{
	eng->snapshot = xrealloc(eng->snapshot, (eng->nblobs ? eng->nblobs : 1) * sizeof(*eng->snapshot));
	for (size_t i = 0; i < eng->nblobs; i++)
		eng->snapshot[i] = eng->blobs[i]->info;
	*out = eng->snapshot;
	return eng->nblobs;
}

void pull_engine_free(struct pull_engine *eng)
{
	if (!eng)
		return;
	while (eng->active)
		xfer_free(eng, eng->active);
	pull_hasher_stop(eng->hasher);
	for (size_t i = 0; i < eng->nblobs; i++) {
		struct blob *b = eng->blobs[i];
		if (eng->o.discard && b->fd >= 0)
			close(b->fd);
		if (b->pub_fd >= 0)
			close(b->pub_fd);
		oci_ingest_release(&b->ing); // closes the partial file; the lock goes last
		free(b->digest);
		free(b->reg_url);
		free(b->target);
		free(b->chunks);
		free(b);
	}
	for (struct slot *sl = eng->free_slots, *nx; sl; sl = nx) {
		nx = sl->next;
		curl_easy_cleanup(sl->h);
		free(sl->wbuf);
		free(sl);
	}
	free(eng->blobs);
	free(eng->snapshot);
	for (struct host *h = eng->hosts, *nh; h; h = nh) {
		nh = h->next;
		free(h->origin);
		free(h);
	}
	pthread_mutex_destroy(&eng->smu);
	pthread_cond_destroy(&eng->scond);
	pull_authz_free(eng->authz); // before the loop its thread wakes goes
	curl_multi_cleanup(eng->multi);
	free(eng);
}
