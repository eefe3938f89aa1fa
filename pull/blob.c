// SPDX-License-Identifier: Apache-2.0
// A blob's life in the engine: claimed (its lock, partial file and space, on
// the store's threads), cut into chunks, written (by the store), hashed (by
// the hasher), its progress recorded, restarted or handed to the next
// endpoint when it proves wrong, committed. The loop submits the disk work
// as jobs (struct bjob) and applies their results in blob_store_results.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pull/engine_int.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

enum bjob_kind { BJOB_CLAIM, BJOB_WRITE, BJOB_RECORD, BJOB_RESET, BJOB_COMMIT, BJOB_FORGET };

struct bjob {
	struct pull_store_job sj; // first: the store hands this back
	enum bjob_kind kind;
	struct blob *b;
	const struct oci_layout *layout; // CLAIM: where a present blob is opened (stream)
	bool discard;
	unsigned gen; // WRITE: the blob's cut when the bytes were taken
	// WRITE
	unsigned xfer_id;
	struct wbuf *wb;
	size_t len, ci;
	uint64_t off;
	int fd;
	// RECORD
	uint64_t *written;
	size_t n;
	uint64_t chunk, hashed;
	unsigned char md[OCI_DIGEST_MD_MAX];
	// results
	int rc;
	int state; // CLAIM: enum oci_ingest_state
	struct err err;
};

// ---- on the store's threads: nothing here touches the engine ----

static void claim_run(struct bjob *j)
{
	j->rc = j->state = oci_ingest_try(&j->b->ing, &j->err);
	if (j->rc < 0)
		return;
	if (j->state == OCI_INGEST_PRESENT && j->layout) {
		j->fd = oci_layout_open_blob(j->layout, j->b->digest, &j->err);
		j->rc = j->fd < 0 ? -1 : 0;
	} else if (j->state == OCI_INGEST_HELD) {
		j->fd = oci_ingest_open(&j->b->ing, &j->err);
		j->rc = j->fd < 0 ? -1 : 0;
	}
}

static void write_run(struct bjob *j)
{
	j->rc = file_pwrite_all(j->fd, j->wb->data, j->len, (long long)j->off);
	if (j->rc < 0 && j->discard)
		err_sys(&j->err, ERR_STORAGE, errno, "cannot write the memory file of --discard");
	else if (j->rc < 0)
		oci_ingest_write_failed(&j->b->ing, errno, &j->err);
}

static void bjob_run(struct pull_store_job *sj)
{
	struct bjob *j = (struct bjob *)sj;
	switch (j->kind) {
	case BJOB_CLAIM:
		claim_run(j);
		break;
	case BJOB_WRITE:
		write_run(j);
		break;
	case BJOB_RECORD:
		j->rc = oci_ingest_save(&j->b->ing, j->chunk, j->written, j->n, j->hashed, j->md, &j->err);
		break;
	case BJOB_RESET:
		j->rc = oci_ingest_reset(&j->b->ing, &j->err);
		break;
	case BJOB_COMMIT:
		j->rc = oci_ingest_commit(&j->b->ing, &j->err);
		break;
	case BJOB_FORGET:
		oci_ingest_discard(&j->b->ing);
		break;
	}
}

static struct bjob *bjob_new(struct pull_engine *eng, struct blob *b, enum bjob_kind kind)
{
	struct bjob *j = xcalloc(1, sizeof(*j));
	j->sj.run = bjob_run;
	j->sj.key = b;
	j->kind = kind;
	j->b = b;
	j->gen = b->gen;
	j->discard = eng->o.discard;
	j->fd = -1;
	return j;
}

static void bjob_submit(struct pull_engine *eng, struct bjob *j)
{
	pull_store_submit(eng->store, &j->sj);
}

// ---- on the loop ----

const char *blob_url(const struct blob *b)
{
	return b->target ? b->target : b->reg_url;
}

struct blob *blob_find(const struct pull_engine *eng, const char *digest)
{
	for (size_t i = 0; i < eng->nblobs; i++)
		if (strcmp(eng->blobs[i]->digest, digest) == 0)
			return eng->blobs[i];
	return NULL;
}

// Bytes [0, n) of b become readable by stream readers; fd (when >= 0) is the
// file they read, kept as a descriptor of the engine's own.
void blob_publish(struct pull_engine *eng, struct blob *b, uint64_t n, int fd)
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

// A blob in the layout before the run: stream readers take the layout's file.
int blob_publish_layout(struct pull_engine *eng, struct blob *b, struct err *e)
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

uint64_t blob_contig(const struct blob *b)
{
	if (b->frontier >= b->nchunks)
		return b->info.size;
	const struct chunk *c = &b->chunks[b->frontier];
	return c->start + c->written;
}

// Cuts the blob into chunks; with keep, each starts with the bytes the
// ingest kept (else from nothing: the ingest is being reset).
static void blob_cut(struct pull_engine *eng, struct blob *b, bool keep)
{
	uint64_t cs = eng->o.chunk_size;
	b->gen++;
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
		c->written = keep && !eng->o.discard ? oci_ingest_kept(&b->ing, c->start, c->start + c->len) : 0;
		c->queued = c->written;
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

void blob_advance(struct pull_engine *eng, struct blob *b)
{
	while (b->frontier < b->nchunks && b->chunks[b->frontier].written == b->chunks[b->frontier].len)
		b->frontier++;
	pull_hasher_advance(eng->hasher, &b->hash, blob_contig(b));
	if (eng->o.discard || !eng->o.stream)
		return;
	// Readers get what the hasher has read; kept bytes with a prefix check
	// only once the hash is past it (a failed check stops the hash there);
	// the last byte once the digest is verified (blob_finish_hashed).
	uint64_t h = pull_hasher_hashed(eng->hasher, &b->hash);
	if (b->hash.check_at && h <= b->hash.check_at)
		h = 0;
	if (h && h >= b->info.size)
		h = b->info.size - 1;
	blob_publish(eng, b, h, b->fd);
}

// The blob is ours with its partial file open (fd): cut, hashed, recorded.
static void blob_ready(struct pull_engine *eng, struct blob *b, int fd)
{
	b->fd = fd;
	blob_cut(eng, b, true);
	blob_hash_start(eng, b);
	// A first record now, while the space is reserved: should the disk fill,
	// later ones are written over its pages.
	blob_save_progress(eng, b);
	b->info.state = PULL_BLOB_ACTIVE;
	char detail[96] = "";
	if (b->info.kept)
		snprintf(detail, sizeof(detail), "resuming with %llu bytes kept", (unsigned long long)b->info.kept);
	engine_emit(eng, PULL_EV_BLOB_START, &b->info, b->info.kept ? detail : NULL);
	if (b->info.kept)
		log_info("blob %s: %s", b->digest, detail);
	blob_advance(eng, b);
}

// A queued or waiting blob: with discard, taken now (memory, not disk: the
// hasher reads it back, then it is punched out), 1; else its claim goes to
// the store (its lock, partial file and space), 0.
int blob_claim(struct pull_engine *eng, struct blob *b, struct err *e)
{
	if (eng->o.discard) {
		int fd = memfd_create("imgpull-discard", MFD_CLOEXEC);
		if (fd < 0)
			return err_sys(e, ERR_STORAGE, errno, "cannot create a memory file for --discard");
		b->punched = 0;
		blob_ready(eng, b, fd);
		return 1;
	}
	if (b->claiming)
		return 0;
	struct bjob *j = bjob_new(eng, b, BJOB_CLAIM);
	j->layout = eng->o.stream ? eng->o.layout : NULL;
	b->claiming = true;
	eng->nclaiming++;
	bjob_submit(eng, j);
	return 0;
}

static void claim_done(struct pull_engine *eng, struct bjob *j)
{
	struct blob *b = j->b;
	double now = clock_mono();
	b->claiming = false;
	eng->nclaiming--;
	if (j->rc < 0) {
		engine_fail(eng, &j->err);
		return;
	}
	if (j->state == OCI_INGEST_PRESENT) {
		b->info.state = PULL_BLOB_CACHED;
		if (j->fd >= 0) {
			blob_publish(eng, b, b->info.size, j->fd);
			close(j->fd);
		}
		b->info.finished = now - eng->t0;
		engine_emit(eng, PULL_EV_BLOB_CACHED, &b->info, NULL);
	} else if (j->state == OCI_INGEST_BUSY) {
		if (b->info.state != PULL_BLOB_WAITING) {
			b->info.state = PULL_BLOB_WAITING;
			log_info("blob %s: another imgpull is fetching it into this layout; waiting", b->digest);
			engine_emit(eng, PULL_EV_BLOB_WAIT, &b->info, "another imgpull is fetching it into this layout");
		}
		b->not_before = now + LOCK_POLL_S;
	} else {
		blob_ready(eng, b, j->fd);
	}
}

// The gathered bytes of x go to the file, on the store's threads.
void blob_write(struct pull_engine *eng, struct xfer *x)
{
	struct blob *b = x->b;
	struct bjob *j = bjob_new(eng, b, BJOB_WRITE);
	j->xfer_id = x->id;
	j->wb = x->wb;
	j->len = x->wlen;
	j->off = x->wpos;
	j->ci = x->ci;
	j->fd = b->fd;
	struct chunk *c = &b->chunks[x->ci];
	if (x->wpos + x->wlen - c->start > c->queued)
		c->queued = x->wpos + x->wlen - c->start;
	b->in_store += j->len;
	bjob_submit(eng, j);
}

static void write_done(struct pull_engine *eng, struct bjob *j)
{
	struct blob *b = j->b;
	xfer_wrote(eng, j->xfer_id, j->wb);
	b->in_store -= j->len < b->in_store ? j->len : b->in_store;
	if (j->rc < 0) {
		engine_fail(eng, &j->err);
		return;
	}
	if (j->gen != b->gen || j->ci >= b->nchunks)
		return; // the blob was cut anew since: these bytes count no more
	struct chunk *c = &b->chunks[j->ci];
	if (j->off + j->len - c->start > c->written)
		c->written = j->off + j->len - c->start;
	b->info.received += j->len;
	eng->received += j->len;
}

// Records which bytes of the partial file are in place, so whoever comes next
// (a later run, or a process taking over) keeps them. One record at a time
// per blob: a slow disk gets the latest state, not a queue of old ones. None
// once the blob is being committed: the commit lets go of its lock, and a
// record queued behind it would name a blob that is no longer partial.
void blob_save_progress(struct pull_engine *eng, struct blob *b)
{
	if (b->fd < 0 || !b->chunks || eng->o.discard || b->recording || b->committing)
		return;
	struct bjob *j = bjob_new(eng, b, BJOB_RECORD);
	j->n = b->nchunks;
	j->written = xcalloc(b->nchunks ? b->nchunks : 1, sizeof(*j->written));
	for (size_t i = 0; i < b->nchunks; i++)
		j->written[i] = b->chunks[i].written;
	uint64_t cs = b->mode == RM_SINGLE ? b->info.size : eng->o.chunk_size;
	j->chunk = cs ? cs : 1;
	if (b->hashing && eng->hasher)
		pull_hasher_mark(eng->hasher, &b->hash, &j->hashed, j->md);
	b->recording = true;
	b->progress_saved = clock_mono();
	b->saved_bytes = b->info.received;
	bjob_submit(eng, j);
}

static void commit_done(struct pull_engine *eng, struct bjob *j)
{
	struct blob *b = j->b;
	b->committing = false;
	if (j->rc < 0) {
		engine_fail(eng, &j->err);
		return;
	}
	b->fd = -1;
	b->info.state = PULL_BLOB_DONE;
	if (eng->o.stream)
		blob_publish(eng, b, b->info.size, -1);
	b->info.finished = clock_mono() - eng->t0;
	engine_emit(eng, PULL_EV_BLOB_DONE, &b->info, NULL);
}

// The results of the store's jobs, in the order they ran.
void blob_store_results(struct pull_engine *eng)
{
	for (struct pull_store_job *sj = pull_store_take_done(eng->store), *nx; sj; sj = nx) {
		nx = sj->next;
		struct bjob *j = (struct bjob *)sj;
		switch (j->kind) {
		case BJOB_CLAIM:
			claim_done(eng, j);
			break;
		case BJOB_WRITE:
			write_done(eng, j);
			break;
		case BJOB_RECORD:
			j->b->recording = false;
			if (j->rc < 0)
				log_warn("%s", j->err.msg);
			free(j->written);
			break;
		case BJOB_RESET:
			if (j->rc < 0)
				engine_fail(eng, &j->err);
			break;
		case BJOB_COMMIT:
			commit_done(eng, j);
			break;
		case BJOB_FORGET:
			break;
		}
		free(j);
	}
}

// The results of jobs left when the engine goes: only their memory and
// descriptors are let go.
void blob_store_forget(struct pull_engine *eng)
{
	for (struct pull_store_job *sj = pull_store_take_done(eng->store), *nx; sj; sj = nx) {
		nx = sj->next;
		struct bjob *j = (struct bjob *)sj;
		if (j->kind == BJOB_WRITE)
			xfer_wrote(eng, j->xfer_id, j->wb);
		if (j->kind == BJOB_CLAIM && j->fd >= 0 && j->state == OCI_INGEST_PRESENT)
			close(j->fd);
		free(j->written);
		free(j);
	}
}

// Fetches a blob again from nothing: its kept bytes proved wrong, or another
// endpoint takes it over. Its transfers still in flight are dropped, the
// writes still on their way count no more, the partial file is emptied.
void blob_restart(struct pull_engine *eng, struct blob *b)
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
	if (!eng->o.discard)
		bjob_submit(eng, bjob_new(eng, b, BJOB_RESET));
	blob_cut(eng, b, false);
	blob_hash_start(eng, b);
}

// A mirror failed the blob (not found, refused, unreachable, wrong bytes, no
// progress): it comes from the next endpoint, from nothing. False when there
// is none (the caller fails the pull).
bool blob_fallback(struct pull_engine *eng, struct blob *b, const char *why)
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

// A hashed blob whose digest is wrong: restarted, handed on, or the end.
// True when the pull goes on without it for now.
static bool blob_wrong(struct pull_engine *eng, struct blob *b, const char *got)
{
	if (b->hash.check_failed && !b->restarted) {
		// The kept prefix no longer hashes as it did (lost with the page
		// cache in a crash, or changed on disk): fetch the blob anew.
		log_warn("blob %s: the first %llu bytes kept from an earlier run no longer hash as recorded; "
			 "fetching it again", b->digest, (unsigned long long)b->hash.check_at);
		blob_restart(eng, b);
		return true;
	}
	if (b->info.kept && !b->restarted) {
		// Bytes taken over from an earlier run were wrong (or the record
		// lied): they are worth nothing. Fetch the blob again, once.
		log_warn("blob %s: the %llu bytes kept from an earlier run do not verify; fetching it again",
			 b->digest, (unsigned long long)b->info.kept);
		blob_restart(eng, b);
		return true;
	}
	char why[160];
	snprintf(why, sizeof(why), "its bytes have digest %s", got);
	if (blob_fallback(eng, b, why))
		return true;
	// A partial file that does not hash right is worth nothing for a
	// resume: no record may name its bytes again (the failed run's last
	// records are written for blobs still open).
	if (!eng->o.discard) {
		bjob_submit(eng, bjob_new(eng, b, BJOB_FORGET));
		b->fd = -1; // closed when the ingest is released
	}
	struct err e;
	err_set(&e, ERR_INTEGRITY, "blob %s from %s/%s has digest %s", b->digest, b->repo->reg->host, b->repo->path,
		got);
	engine_fail(eng, &e);
	return false;
}

// A blob the hasher is done with: verified and committed (by the store), or wrong.
static void blob_hashed(struct pull_engine *eng, struct blob *b)
{
	b->hashing = false;
	struct err e;
	if (b->hash.error) {
		err_sys(&e, ERR_STORAGE, b->hash.error, "cannot read back '%s'",
			eng->o.discard ? "(memory file of --discard)" : oci_ingest_partial_path(&b->ing));
		engine_fail(eng, &e);
		return;
	}
	char got[OCI_DIGEST_LEN + 1];
	oci_digest_format_like(got, b->digest, b->hash.md);
	if (b->hash.check_failed || strcmp(got, b->digest) != 0) {
		blob_wrong(eng, b, got);
		return;
	}
	if (eng->o.discard) {
		close(b->fd); // verified; nothing is kept
		b->fd = -1;
		b->info.state = PULL_BLOB_DONE;
		b->info.finished = clock_mono() - eng->t0;
		engine_emit(eng, PULL_EV_BLOB_DONE, &b->info, NULL);
		return;
	}
	b->committing = true;
	bjob_submit(eng, bjob_new(eng, b, BJOB_COMMIT));
}

void blob_finish_hashed(struct pull_engine *eng)
{
	for (size_t i = 0; i < eng->nblobs && !eng->failed; i++) {
		struct blob *b = eng->blobs[i];
		if (b->hashing && pull_hasher_result(eng->hasher, &b->hash))
			blob_hashed(eng, b);
	}
}

// True while the blob's lack of progress is its source's doing: a try in
// flight, a range waiting out its backoff, or its host paused by throttling.
// A blob whose ranges only wait for a free connection is not being failed.
static bool blob_waits_on_source(struct pull_engine *eng, const struct blob *b, double now)
{
	if (b->info.connections > 0)
		return true;
	if (engine_host(eng, blob_url(b))->not_before > now)
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
void blob_watch(struct pull_engine *eng, double now)
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
		engine_fail(eng, &e);
	}
}

// With discard: bytes of the blobs being fetched that sit in memory, not
// dropped yet: in the memory file, on their way to it, in write buffers.
uint64_t blob_discard_held(const struct pull_engine *eng)
{
	uint64_t held = 0;
	for (size_t i = 0; i < eng->nblobs; i++) {
		const struct blob *b = eng->blobs[i];
		if (b->info.state == PULL_BLOB_ACTIVE && b->info.received + b->in_store > b->punched)
			held += b->info.received + b->in_store - b->punched;
	}
	for (const struct xfer *x = eng->active; x; x = x->next)
		held += x->wlen;
	return held;
}
