// SPDX-License-Identifier: Apache-2.0
#include "pull/store.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/mem.h"

#define STORE_WORKERS_MAX 16

struct pull_store {
	pthread_mutex_t lock;
	pthread_cond_t work;  // a job was queued, or stop
	pthread_cond_t idle;  // a job has run
	struct pull_store_job *queue, **queue_tail;
	struct pull_store_job *done, **done_tail;
	const void *busy[STORE_WORKERS_MAX]; // the key each worker is running (NULL: none)
	size_t running;       // queued or running
	int idle_workers;     // waiting for work
	int drainers;         // waiting in pull_store_drain
	bool stop;
	void (*wake)(void *);
	void *ud;
	int nworkers;
	pthread_t workers[STORE_WORKERS_MAX];
};

static bool key_busy(const struct pull_store *s, const void *key)
{
	for (int i = 0; i < s->nworkers; i++)
		if (s->busy[i] == key)
			return true;
	return false;
}

// The first queued job whose key no worker is running and that no earlier
// job of its key waits before (the lock held). Unlinked from the queue.
// The link to the first queued job that may run now: its key is not being
// run, and no earlier job of its key is queued. NULL when none.
static struct pull_store_job **find_runnable(struct pull_store *s)
{
	for (struct pull_store_job **pp = &s->queue; *pp; pp = &(*pp)->next) {
		struct pull_store_job *j = *pp;
		if (key_busy(s, j->key))
			continue;
		bool earlier = false;
		for (struct pull_store_job *q = s->queue; q != j && !earlier; q = q->next)
			earlier = q->key == j->key;
		if (!earlier)
			return pp;
	}
	return NULL;
}

static struct pull_store_job *next_runnable(struct pull_store *s)
{
	struct pull_store_job **pp = find_runnable(s);
	if (!pp)
		return NULL;
	struct pull_store_job *j = *pp;
	*pp = j->next;
	if (s->queue_tail == &j->next)
		s->queue_tail = pp;
	j->next = NULL;
	return j;
}

struct worker_arg {
	struct pull_store *s;
	int slot;
};

// Runs jobs until stopped. The caller is woken outside the lock (it takes
// the lock at once when woken): before the next job runs, or before waiting;
// and only for the first result it has not taken (it takes them all at once).
static void *worker_main(void *arg)
{
	struct pull_store *s = ((struct worker_arg *)arg)->s;
	int slot = ((struct worker_arg *)arg)->slot;
	free(arg);
	bool wake = false;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct pull_store_job *j = next_runnable(s);
		if (!j && wake) {
			pthread_mutex_unlock(&s->lock);
			s->wake(s->ud);
			wake = false;
			pthread_mutex_lock(&s->lock);
			continue;
		}
		if (!j) {
			if (s->stop)
				break;
			s->idle_workers++;
			pthread_cond_wait(&s->work, &s->lock);
			s->idle_workers--;
			continue;
		}
		s->busy[slot] = j->key;
		// Another key's job may run beside this one: one more worker. (The
		// key's own next job is this worker's, once this one has run.)
		if (s->idle_workers && find_runnable(s))
			pthread_cond_signal(&s->work);
		pthread_mutex_unlock(&s->lock);
		if (wake)
			s->wake(s->ud);
		wake = false;
		j->run(j);
		pthread_mutex_lock(&s->lock);
		s->busy[slot] = NULL;
		wake = !s->done;
		*s->done_tail = j;
		s->done_tail = &j->next;
		s->running--;
		if (s->drainers)
			pthread_cond_broadcast(&s->idle);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int pull_store_start(struct pull_store **out, int workers, void (*wake)(void *), void *ud, struct err *e)
{
	struct pull_store *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->idle, NULL);
	s->queue_tail = &s->queue;
	s->done_tail = &s->done;
	s->wake = wake;
	s->ud = ud;
	if (workers < 1)
		workers = 1;
	if (workers > STORE_WORKERS_MAX)
		workers = STORE_WORKERS_MAX;
	for (int i = 0; i < workers; i++) {
		struct worker_arg *a = xcalloc(1, sizeof(*a));
		a->s = s;
		a->slot = i;
		if (pthread_create(&s->workers[i], NULL, worker_main, a) != 0) {
			free(a);
			pull_store_stop(s);
			return err_set(e, ERR_INTERNAL, "cannot start the storage threads");
		}
		s->nworkers = i + 1;
	}
	*out = s;
	return 0;
}

void pull_store_submit(struct pull_store *s, struct pull_store_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&s->lock);
	*s->queue_tail = j;
	s->queue_tail = &j->next;
	s->running++;
	pthread_mutex_unlock(&s->lock);
}

void pull_store_kick(struct pull_store *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->idle_workers && find_runnable(s))
		pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
}

struct pull_store_job *pull_store_take_done(struct pull_store *s)
{
	pthread_mutex_lock(&s->lock);
	struct pull_store_job *list = s->done;
	s->done = NULL;
	s->done_tail = &s->done;
	pthread_mutex_unlock(&s->lock);
	return list;
}

void pull_store_drain(struct pull_store *s)
{
	pull_store_kick(s);
	pthread_mutex_lock(&s->lock);
	s->drainers++;
	while (s->running)
		pthread_cond_wait(&s->idle, &s->lock);
	s->drainers--;
	pthread_mutex_unlock(&s->lock);
}

void pull_store_stop(struct pull_store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->idle);
	free(s);
}
