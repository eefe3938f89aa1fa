// SPDX-License-Identifier: Apache-2.0
// Which range goes on which free connection next: first one pilot per blob
// that needs its source's answer (Range honoured? redirected?), then the
// ranges of blobs whose source is known, in manifest order, each host within
// its cap, with --discard within the memory window.
#include <fcntl.h>

#include "pull/authz.h"
#include "pull/engine_int.h"
#include "util/clock.h"

uint64_t pull_engine_discard_window(const struct pull_engine_opts *o)
{
	uint64_t cs = o->chunk_size < (64u << 10) ? 64u << 10 : o->chunk_size;
	return (uint64_t)((o->connections < 1 ? 1 : o->connections) + 2) * cs;
}

// With discard: bytes held in memory, and those on their way there.
static uint64_t discard_held(const struct pull_engine *eng)
{
	uint64_t held = blob_discard_held(eng);
	for (const struct xfer *x = eng->active; x; x = x->next)
		if (x->end > x->pos)
			held += x->end - x->pos;
	return held;
}

// With discard: what the hasher is done with leaves memory (in 1 MiB steps).
void sched_discard_punch(struct pull_engine *eng)
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
	uint64_t held = blob_discard_held(eng);
	if (held > eng->discard_peak)
		eng->discard_peak = held;
}

// The discard window: a range the hash needs next (it has read everything
// before) may go past it, one at a time, so that the hash always moves;
// everything else stays a chunk below it.
struct window {
	uint64_t size, held;
	bool past;
};

// The hash has read all the blob's bytes in place: it waits for the frontier
// chunk (and memory is freed only once that comes). A hash still behind frees
// memory as it goes: no range need pass the window for it.
static bool hash_waits(const struct pull_engine *eng, struct blob *b)
{
	return b->hashing && pull_hasher_hashed(eng->hasher, &b->hash) >= blob_contig(b);
}

static bool connections_free(const struct pull_engine *eng)
{
	return eng->nactive + eng->nclaiming < eng->o.connections;
}

// Starts the blob's pending ranges on free connections (only one for a pilot).
static int start_ranges(struct pull_engine *eng, struct blob *b, bool pilot, const char *authz, unsigned gen,
			struct window *w, struct err *e)
{
	double now = clock_mono();
	while (b->scan_from < b->nchunks && b->chunks[b->scan_from].state != CHUNK_PENDING)
		b->scan_from++;
	struct host *h = engine_host(eng, blob_url(b));
	for (size_t ci = b->scan_from; ci < b->nchunks && connections_free(eng); ci++) {
		struct chunk *c = &b->chunks[ci];
		if (h->active >= h->cap || h->not_before > now)
			break;
		if (c->state != CHUNK_PENDING || c->not_before > now)
			continue;
		if (b->mode == RM_SINGLE && b->info.connections > 0)
			break;
		bool past = false;
		if (eng->o.discard) {
			if (w->held + (c->len - c->queued) > w->size) {
				if (ci != b->frontier || w->past || !hash_waits(eng, b))
					break;
				past = w->past = true;
			}
			w->held += c->len - c->queued;
		}
		if (xfer_start(eng, b, ci, pilot, authz, gen, e) < 0)
			return -1;
		eng->active->past_window = past; // xfer_start put it first
		if (pilot)
			break;
	}
	return 0;
}

// 1 when blob b may get ranges now (*authz: its registry's Authorization, or
// NULL), 0 when not yet (its token, its claim, another process's lock), -1
// when the pull fails.
static int blob_startable(struct pull_engine *eng, struct blob *b, const char **authz, unsigned *gen, struct err *e)
{
	bool unclaimed = b->info.state == PULL_BLOB_QUEUED || b->info.state == PULL_BLOB_WAITING;
	if (unclaimed && b->not_before > clock_mono())
		return 0;
	// A request to the registry waits for its token; the fetch runs off the
	// loop, and other blobs' ranges go on meanwhile. A blob is only taken on
	// (its space reserved) once it can start.
	*authz = NULL;
	*gen = 0;
	if (!b->target) {
		int ar = pull_authz_get(eng->authz, b->repo, authz, gen, e);
		if (ar < 0 && blob_fallback(eng, b, e->msg))
			return 0; // a mirror that cannot be reached or refuses us
		if (ar <= 0)
			return ar;
	}
	return unclaimed ? blob_claim(eng, b, e) : 1;
}

void sched_fill(struct pull_engine *eng)
{
	struct window w = {0};
	if (eng->o.discard) {
		w.size = pull_engine_discard_window(&eng->o) - eng->o.chunk_size;
		w.held = discard_held(eng);
		for (const struct xfer *x = eng->active; x; x = x->next)
			w.past |= x->past_window;
	}
	for (int pass = 0; pass < 2 && !eng->failed; pass++) {
		for (size_t i = 0; i < eng->nblobs && connections_free(eng); i++) {
			struct blob *b = eng->blobs[i];
			if (b->info.state == PULL_BLOB_DONE || b->info.state == PULL_BLOB_CACHED || b->pilot ||
			    b->claiming || b->committing)
				continue;
			const char *authz;
			unsigned gen;
			struct err e;
			int r = blob_startable(eng, b, &authz, &gen, &e);
			if (r <= 0) {
				if (r < 0)
					engine_fail(eng, &e);
				if (r < 0)
					return;
				continue;
			}
			bool needs_pilot = b->mode == RM_UNKNOWN || (b->redirected && !b->target);
			if (pass == 0 && !needs_pilot)
				continue;
			if (start_ranges(eng, b, needs_pilot, authz, gen, &w, &e) < 0) {
				engine_fail(eng, &e);
				return;
			}
		}
	}
}

// How long the loop waits before it looks at its connections again, after
// a turn that carried t and began `elapsed` seconds ago. A turn costs about
// the same however little it carries (curl looks at every connection, the
// store's and hasher's threads are woken for what it handed over): when
// ranges arrive slowly (say 40 MB/s each from a capped store), every burst
// of every connection would be a turn of its own. Waiting until TURN_MIN_S
// after the turn began lets more arrive for the next: about a third as many
// turns, wakes and switches on bench.sh's capped store, at most 1 ms more
// for any byte. No wait after a turn that carried TURN_FULL or more (data
// comes fast enough that turns are full anyway), nor when one connection
// brought TURN_ONE or more (curl's whole receive buffer): that socket is
// fast, and a wait could fill its buffer and close its window.
double sched_pace(const struct pull_turn *t, double elapsed)
{
	if (t->bytes >= TURN_FULL || t->most >= TURN_ONE || !(elapsed >= 0) || elapsed >= TURN_MIN_S)
		return 0;
	return TURN_MIN_S - elapsed;
}

// When the loop must look again without socket activity: the end of the
// earliest retry delay, or the next progress tick. Chunks that are ready but
// wait for a free connection need no timer: a finishing transfer wakes us,
// and so does the store when a job has run.
double sched_next_due(const struct pull_engine *eng, double now)
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
