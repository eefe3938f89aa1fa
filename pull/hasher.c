// SPDX-License-Identifier: Apache-2.0
#include "pull/hasher.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/mem.h"

#define HASH_READ (128u << 10)  // one read buffer for all jobs, small enough to stay in L2
#define HASH_SLICE (16u << 20)  // a job's turn before the next job gets one

struct pull_hasher {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct hash_job *jobs; // registered, unfinished or unclaimed
	struct hash_job *cursor;
	struct hash_job *busy; // the job being read, outside the lock
	bool idle;             // waiting for bytes: only then is it woken
	void (*wake)(void *);
	void *ud;
	unsigned char *buf;
};

// Round robin over jobs that have unhashed bytes, starting after the cursor.
static struct hash_job *next_job(struct pull_hasher *h)
{
	struct hash_job *start = h->cursor && h->cursor->next ? h->cursor->next : h->jobs;
	struct hash_job *j = start;
	if (!j)
		return NULL;
	do {
		if (!j->done && j->avail > j->hashed)
			return j;
		j = j->next ? j->next : h->jobs;
	} while (j != start);
	return NULL;
}

// One turn of a job: the bytes [from, to) read and hashed, outside the lock.
struct slice {
	uint64_t from, to, pos;
	int error;
	bool marked, check_failed, finished;
	unsigned char mark[OCI_DIGEST_MD_MAX];
};

static void slice_hash(struct pull_hasher *h, struct hash_job *j, struct slice *s)
{
	s->pos = s->from;
	while (s->pos < s->to) {
		size_t want = (size_t)(s->to - s->pos < HASH_READ ? s->to - s->pos : HASH_READ);
		ssize_t n = pread(j->fd, h->buf, want, (off_t)s->pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->error = n < 0 ? errno : EIO;
			return;
		}
		EVP_DigestUpdate(j->ctx, h->buf, (size_t)n);
		s->pos += (uint64_t)n;
	}
}

// The prefix digest so far (from a copy of the running context), checked
// where the check is; the blob's digest, and its data synced, once it is whole.
static void slice_end(struct hash_job *j, struct slice *s)
{
	if (!s->error && s->pos > s->from) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		s->marked = c && EVP_MD_CTX_copy_ex(c, j->ctx) && EVP_DigestFinal_ex(c, s->mark, NULL);
		EVP_MD_CTX_free(c);
		if (s->marked && s->pos == j->check_at &&
		    memcmp(s->mark, j->check_md, (size_t)EVP_MD_get_size(j->alg)) != 0)
			s->check_failed = true;
	}
	s->finished = !s->error && !s->check_failed && s->pos == j->size;
	if (s->finished) {
		EVP_DigestFinal_ex(j->ctx, j->md, NULL);
		// Syncing here keeps the event loop free while the disk catches up.
		if (j->sync && fdatasync(j->fd) < 0)
			s->error = errno;
	}
}

// Under the lock: what the slice did, for the job's owner.
static void slice_publish(struct pull_hasher *h, struct hash_job *j, const struct slice *s)
{
	h->busy = NULL;
	pthread_cond_broadcast(&h->cond); // a cancel may wait for this slice
	j->hashed = s->pos;
	if (s->marked) {
		j->mark_len = s->pos;
		memcpy(j->mark_md, s->mark, sizeof(s->mark));
	}
	if (s->error || s->finished || s->check_failed) {
		j->error = s->error;
		j->check_failed = s->check_failed;
		j->done = true;
		h->wake(h->ud);
	}
}

static void *hasher_main(void *arg)
{
	struct pull_hasher *h = arg;
	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		struct hash_job *j = next_job(h);
		if (!j) {
			h->idle = true;
			pthread_cond_wait(&h->cond, &h->lock);
			h->idle = false;
			continue;
		}
		h->cursor = j;
		h->busy = j;
		struct slice s = {.from = j->hashed, .to = j->avail};
		if (s.to - s.from > HASH_SLICE)
			s.to = s.from + HASH_SLICE;
		if (s.from < j->check_at && s.to > j->check_at)
			s.to = j->check_at; // a slice ends where the check is
		pthread_mutex_unlock(&h->lock);
		slice_hash(h, j, &s);
		slice_end(j, &s);
		pthread_mutex_lock(&h->lock);
		slice_publish(h, j, &s);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

int pull_hasher_start(struct pull_hasher **out, void (*wake)(void *), void *ud, struct err *e)
{
	struct pull_hasher *h = xcalloc(1, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->wake = wake;
	h->ud = ud;
	h->buf = xmalloc(HASH_READ);
	if (pthread_create(&h->thread, NULL, hasher_main, h) != 0) {
		free(h->buf);
		free(h);
		return err_set(e, ERR_INTERNAL, "cannot start the hashing thread");
	}
	*out = h;
	return 0;
}

void pull_hasher_add(struct pull_hasher *h, struct hash_job *j)
{
	j->ctx = EVP_MD_CTX_new();
	if (!j->alg)
		j->alg = EVP_sha256();
	if (!j->ctx || !EVP_DigestInit_ex(j->ctx, j->alg, NULL))
		abort();
	j->avail = j->hashed = j->mark_len = 0;
	j->done = j->check_failed = false;
	j->error = 0;
	if (j->check_at > j->size)
		j->check_at = 0;
	pthread_mutex_lock(&h->lock);
	j->next = h->jobs;
	h->jobs = j;
	if (j->size == 0)
		pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (j->size == 0) // nothing will ever advance it: finish now
		pull_hasher_advance(h, j, 0);
}

void pull_hasher_advance(struct pull_hasher *h, struct hash_job *j, uint64_t avail)
{
	pthread_mutex_lock(&h->lock);
	if (avail > j->avail) {
		j->avail = avail;
		// A busy hasher finds the bytes when its slice ends: only an idle
		// one is woken (signalled with the lock held, so no wait is missed).
		if (h->idle)
			pthread_cond_signal(&h->cond);
	} else if (j->size == 0 && !j->done) {
		EVP_DigestFinal_ex(j->ctx, j->md, NULL);
		j->done = true;
		h->wake(h->ud);
	}
	pthread_mutex_unlock(&h->lock);
}

// Takes j off the list (the lock held) and frees its context.
static void job_unlink(struct pull_hasher *h, struct hash_job *j)
{
	for (struct hash_job **pp = &h->jobs; *pp; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
	if (h->cursor == j)
		h->cursor = NULL;
	EVP_MD_CTX_free(j->ctx);
	j->ctx = NULL;
}

bool pull_hasher_result(struct pull_hasher *h, struct hash_job *j)
{
	pthread_mutex_lock(&h->lock);
	bool done = j->done;
	if (done)
		job_unlink(h, j);
	pthread_mutex_unlock(&h->lock);
	return done;
}

void pull_hasher_cancel(struct pull_hasher *h, struct hash_job *j)
{
	pthread_mutex_lock(&h->lock);
	while (h->busy == j)
		pthread_cond_wait(&h->cond, &h->lock);
	job_unlink(h, j);
	j->done = false;
	pthread_mutex_unlock(&h->lock);
}

void pull_hasher_mark(struct pull_hasher *h, struct hash_job *j, uint64_t *len,
		      unsigned char md[OCI_DIGEST_MD_MAX])
{
	pthread_mutex_lock(&h->lock);
	*len = j->mark_len;
	memcpy(md, j->mark_md, OCI_DIGEST_MD_MAX);
	pthread_mutex_unlock(&h->lock);
}

uint64_t pull_hasher_hashed(struct pull_hasher *h, struct hash_job *j)
{
	pthread_mutex_lock(&h->lock);
	uint64_t v = j->hashed;
	pthread_mutex_unlock(&h->lock);
	return v;
}

void pull_hasher_stop(struct pull_hasher *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	for (struct hash_job *j = h->jobs; j; j = j->next) {
		EVP_MD_CTX_free(j->ctx);
		j->ctx = NULL;
	}
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h->buf);
	free(h);
}
