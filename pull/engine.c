// SPDX-License-Identifier: Apache-2.0
// The loop: drives curl, hands each finished request to answer.c, takes the
// store's and the hasher's results back, keeps the clocks (ticks, progress
// records, the deadline), and ends the run. It never waits on the disk: the
// store does the writing (see engine_int.h for the rooms).
#include "pull/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oci/digest.h"
#include "pull/authz.h"
#include "pull/engine_int.h"
#include "util/clock.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/mem.h"

// Fills in the totals and hands ev to the caller's callback.
void engine_emit_event(struct pull_engine *eng, struct pull_event *ev)
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

void engine_emit(struct pull_engine *eng, enum pull_event_kind kind, const struct pull_blob_info *bi,
		 const char *detail)
{
	struct pull_event ev = {.kind = kind, .blob = bi, .detail = detail};
	engine_emit_event(eng, &ev);
}

void engine_fail(struct pull_engine *eng, const struct err *e)
{
	if (!eng->failed) {
		eng->failed = true;
		eng->err = *e;
	}
}

struct host *engine_host(struct pull_engine *eng, const char *url)
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

static bool all_done(const struct pull_engine *eng)
{
	for (size_t i = 0; i < eng->nblobs; i++)
		if (eng->blobs[i]->info.state != PULL_BLOB_DONE && eng->blobs[i]->info.state != PULL_BLOB_CACHED)
			return false;
	return true;
}

// curl's turn: transfers move, finished ones are judged and let go.
static void loop_transfers(struct pull_engine *eng)
{
	int running = 0;
	CURLMcode mc = curl_multi_perform(eng->multi, &running);
	if (mc != CURLM_OK) {
		struct err me;
		err_set(&me, ERR_INTERNAL, "transfer loop: %s", curl_multi_strerror(mc));
		engine_fail(eng, &me);
		return;
	}
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(eng->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct xfer *x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &x);
		answer_apply(eng, x, msg->data.result);
		xfer_emit_request(eng, x);
		xfer_free(eng, x);
	}
	// Transfers of a blob that switched to one stream (or restarted) stop here.
	for (struct xfer *x = eng->active, *nx; x; x = nx) {
		nx = x->next;
		if (x->cancel) {
			xfer_outcome(x, PULL_REQ_CANCELLED, "cancelled", "the source ignores Range: one stream now");
			xfer_emit_request(eng, x);
			xfer_free(eng, x);
		}
	}
}

// What the store and the hasher finished: written bytes move the hash on,
// hashed blobs are judged and committed, paused transfers go on.
static void loop_results(struct pull_engine *eng)
{
	blob_store_results(eng);
	for (size_t i = 0; i < eng->nblobs; i++)
		if (eng->blobs[i]->hashing)
			blob_advance(eng, eng->blobs[i]);
	if (eng->o.discard)
		sched_discard_punch(eng);
	blob_finish_hashed(eng);
	xfer_resume_paused(eng);
}

// What a process taking over (or a later run) may keep: bytes already
// written. Buffered bytes go to the store first, so that a slow transfer's
// buffer does not hold back what the record can name.
static void loop_records(struct pull_engine *eng, double now)
{
	for (struct xfer *x = eng->active; x; x = x->next)
		if (!x->cancel && !x->fatal && x->wlen && now - x->b->progress_saved >= PROGRESS_SAVE_S)
			xfer_hand_over(x);
	for (size_t i = 0; i < eng->nblobs; i++) {
		struct blob *b = eng->blobs[i];
		if (b->info.state == PULL_BLOB_ACTIVE && b->info.received != b->saved_bytes &&
		    now - b->progress_saved >= PROGRESS_SAVE_S)
			blob_save_progress(eng, b);
	}
}

// The run's end from outside: an abort from another thread, a signal, the deadline.
static void loop_limits(struct pull_engine *eng, double now)
{
	if (atomic_load(&eng->aborting) && !eng->failed) {
		pthread_mutex_lock(&eng->smu);
		struct err ae = eng->abort_err;
		pthread_mutex_unlock(&eng->smu);
		engine_fail(eng, &ae);
	}
	int sig = interrupt_signal();
	if (sig && !eng->failed) {
		struct err ie;
		err_set(&ie, ERR_INTERRUPTED, "interrupted by %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
		engine_fail(eng, &ie);
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
		engine_fail(eng, &te);
	}
}

// The run is over: transfers dropped (what they gathered goes to the file,
// kept for a resume), the disk work finished, records written for blobs left
// half-way, stream readers told.
static void loop_end(struct pull_engine *eng)
{
	while (eng->active) {
		struct xfer *x = eng->active;
		if (!x->cancel && !x->fatal)
			xfer_hand_over(x);
		xfer_outcome(x, PULL_REQ_CANCELLED, "cancelled", "the pull ended");
		xfer_emit_request(eng, x);
		xfer_free(eng, x);
	}
	pull_store_drain(eng->store);
	blob_store_results(eng);
	if (eng->failed)
		for (size_t i = 0; i < eng->nblobs; i++)
			if (eng->blobs[i]->info.state == PULL_BLOB_ACTIVE)
				blob_save_progress(eng, eng->blobs[i]);
	pull_hasher_stop(eng->hasher);
	eng->hasher = NULL;
	pull_store_drain(eng->store);
	blob_store_results(eng);
	pull_authz_quiesce(eng->authz); // the sessions are the caller's again
	for (size_t i = 0; i < eng->nblobs; i++)
		eng->blobs[i]->hashing = false;
	pthread_mutex_lock(&eng->smu); // stream readers learn the run is over, and how
	eng->run_over = true;
	if (eng->failed)
		eng->over_err = eng->err;
	pthread_cond_broadcast(&eng->scond);
	pthread_mutex_unlock(&eng->smu);
}

// Before the loop waits for its connections (at most ms): a turn that
// carried little is followed by the next only after a pause (sched_pace).
static void loop_pace(struct pull_engine *eng, double began, int ms)
{
	double wait = sched_pace(&eng->turn, clock_mono() - began);
	eng->turn = (struct pull_turn){0};
	for (struct xfer *x = eng->active; x; x = x->next)
		x->turn_got = 0;
	if (wait > ms / 1000.0)
		wait = ms / 1000.0;
	if (wait <= 0)
		return;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(wait * 1e9)};
	nanosleep(&ts, NULL);
}

int pull_engine_run(struct pull_engine *eng, struct err *e)
{
	eng->t0 = clock_mono();
	for (size_t i = 0; i < eng->nblobs; i++)
		if (eng->blobs[i]->info.state == PULL_BLOB_CACHED)
			engine_emit(eng, PULL_EV_BLOB_CACHED, &eng->blobs[i]->info, NULL);
	if (pull_hasher_start(&eng->hasher, wake_loop, eng->multi, e) < 0)
		return -1;
	if (pull_store_start(&eng->store, STORE_WORKERS, wake_loop, eng->multi, e) < 0)
		return -1;
	double began = clock_mono();
	while (!eng->failed && !all_done(eng)) {
		sched_fill(eng);
		loop_transfers(eng);
		loop_results(eng);
		double now = clock_mono();
		loop_records(eng, now);
		loop_limits(eng, now);
		if (now - eng->last_tick >= TICK_S) {
			eng->last_tick = now;
			blob_watch(eng, now);
			engine_emit(eng, PULL_EV_TICK, NULL, NULL);
		}
		if (eng->failed || all_done(eng))
			break;
		double wait = sched_next_due(eng, now) - now;
		int ms = wait <= 0 ? 0 : (int)(wait * 1000) + 1;
		pull_store_kick(eng->store); // what this turn submitted, at once
		loop_pace(eng, began, ms);
		curl_multi_poll(eng->multi, NULL, 0, ms, NULL);
		began = clock_mono();
	}
	loop_end(eng);
	if (eng->failed) {
		*e = eng->err;
		return -1;
	}
	engine_emit(eng, PULL_EV_TICK, NULL, NULL);
	if (!eng->o.discard && oci_layout_sync_blob_dirs(eng->o.layout, e) < 0)
		return -1;
	return 0;
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
	if (eng->store) {
		pull_store_drain(eng->store);
		blob_store_forget(eng); // results no one will read: their memory goes
		pull_store_stop(eng->store);
	}
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
		free(sl);
	}
	xfer_free_buffers(eng);
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
