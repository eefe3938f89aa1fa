// SPDX-License-Identifier: Apache-2.0
#include "pull/authz.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/creds.h"
#include "util/log.h"
#include "util/mem.h"

// The shortest a fetched header is used before it is fetched again, whatever
// its token claims: a token that says it is already stale must not make the
// loop start a fetch on every pass.
#define MIN_FRESH_S 1

struct authz_repo {
	struct pull_repo *repo;
	char *value;          // NULL: none needed (or not fetched yet)
	bool ready;           // value was fetched
	bool refused;         // the registry refused gen: reject it before the next fetch
	bool failed;          // the last fetch failed: err
	struct err err;
	time_t fresh_until;   // fetch a successor from then on
	unsigned gen;         // bumped with every fetched value
	struct auth_challenges chal; // from the refusal, for the session
	struct authz_repo *next;
};

struct pull_authz {
	struct authz_repo *repos;
	void (*wake)(void *);
	void *ud;
	// The fetch under way: the repository it is for, and what the thread
	// leaves for the loop; written by the thread before `finished` is set.
	struct authz_repo *running;
	pthread_t th;
	atomic_bool finished;
	bool t_reject;        // reject the refused header first, with this challenge
	struct auth_challenges t_chal;
	int t_rc;
	char *t_value;
	struct err t_err;
	time_t t_fresh;
};

struct pull_authz *pull_authz_new(void (*wake)(void *), void *ud)
{
	struct pull_authz *a = xcalloc(1, sizeof(*a));
	a->wake = wake;
	a->ud = ud;
	return a;
}

static void wipe(char **v)
{
	if (*v)
		auth_secret_free(*v, strlen(*v));
	*v = NULL;
}

static void *fetch_main(void *arg)
{
	struct pull_authz *a = arg;
	struct authz_repo *r = a->running;
	struct auth_session *s = &r->repo->reg->auth;
	if (a->t_reject)
		auth_session_reject(s, r->repo->path, &a->t_chal);
	a->t_rc = auth_session_header(s, r->repo->path, &a->t_value, &a->t_err);
	a->t_fresh = a->t_rc == 0 ? auth_session_fresh_until(s, r->repo->path) : 0;
	atomic_store_explicit(&a->finished, true, memory_order_release);
	a->wake(a->ud);
	return NULL;
}

// Takes the answer of a finished fetch (wait: also of one still running).
static void adopt(struct pull_authz *a, bool wait)
{
	struct authz_repo *r = a->running;
	if (!r || (!wait && !atomic_load_explicit(&a->finished, memory_order_acquire)))
		return;
	pthread_join(a->th, NULL);
	a->running = NULL;
	auth_challenges_release(&a->t_chal);
	r->refused = false; // also a refusal that came meanwhile: the answer is a fresh one
	if (a->t_rc < 0) {
		r->failed = true;
		r->err = a->t_err;
		wipe(&a->t_value);
		return;
	}
	wipe(&r->value);
	r->value = a->t_value;
	a->t_value = NULL;
	r->ready = true;
	r->gen++;
	time_t floor = time(NULL) + MIN_FRESH_S;
	r->fresh_until = a->t_fresh < floor ? floor : a->t_fresh;
}

static struct authz_repo *repo_entry(struct pull_authz *a, struct pull_repo *repo)
{
	for (struct authz_repo *r = a->repos; r; r = r->next)
		if (r->repo == repo)
			return r;
	struct authz_repo *r = xcalloc(1, sizeof(*r));
	r->repo = repo;
	r->next = a->repos;
	a->repos = r;
	return r;
}

static int fetch_start(struct pull_authz *a, struct authz_repo *r, struct err *e)
{
	a->running = r;
	atomic_store(&a->finished, false);
	a->t_rc = -1;
	a->t_value = NULL;
	// The thread reads only these copies: the loop may change r meanwhile.
	a->t_reject = r->refused;
	a->t_chal = r->chal;
	r->chal = (struct auth_challenges){0};
	int rc = pthread_create(&a->th, NULL, fetch_main, a);
	if (rc != 0) {
		a->running = NULL;
		r->chal = a->t_chal;
		a->t_chal = (struct auth_challenges){0};
		return err_sys(e, ERR_INTERNAL, rc, "cannot start a thread for the token of %s", r->repo->reg->host);
	}
	log_debug("registry %s: fetching the authorization for %s off the transfer loop", r->repo->reg->host,
		  r->repo->path);
	return 0;
}

// With no fetch running the loop may look at the session itself: a header
// it holds fresh (resolving the manifests fetched it, or the registry wants
// none) is taken without a thread. Never a request: the scheme is known and
// the token fresh, or nothing is done.
static bool take_cached(struct authz_repo *r)
{
	struct auth_session *s = &r->repo->reg->auth;
	time_t now = time(NULL);
	time_t fresh = auth_session_fresh_until(s, r->repo->path);
	if (s->scheme == AUTH_UNKNOWN || fresh <= now + MIN_FRESH_S)
		return false;
	char *v = NULL;
	struct err e;
	if (auth_session_header(s, r->repo->path, &v, &e) < 0)
		return false;
	wipe(&r->value);
	r->value = v;
	r->ready = true;
	r->gen++;
	r->fresh_until = fresh;
	return true;
}

int pull_authz_get(struct pull_authz *a, struct pull_repo *repo, const char **value, unsigned *gen,
		   struct err *e)
{
	adopt(a, false);
	struct authz_repo *r = repo_entry(a, repo);
	*value = NULL;
	*gen = 0;
	if (r->failed) {
		*e = r->err;
		return -1;
	}
	bool usable = r->ready && !r->refused;
	if (usable && time(NULL) < r->fresh_until) {
		*value = r->value;
		*gen = r->gen;
		return 1;
	}
	if (!a->running && !r->refused && take_cached(r))
		return pull_authz_get(a, repo, value, gen, e);
	if (!a->running && fetch_start(a, r, e) < 0)
		return -1;
	if (!usable)
		return 0;
	// Close to its expiry but not refused: good while its successor comes.
	*value = r->value;
	*gen = r->gen;
	return 1;
}

bool pull_authz_refused(struct pull_authz *a, struct pull_repo *repo, unsigned gen, struct auth_challenges *c)
{
	adopt(a, false);
	struct authz_repo *r = repo_entry(a, repo);
	if (gen != r->gen || r->refused)
		return false;
	r->refused = true;
	auth_challenges_release(&r->chal);
	r->chal = *c;
	*c = (struct auth_challenges){0};
	return true;
}

void pull_authz_quiesce(struct pull_authz *a)
{
	adopt(a, true);
}

void pull_authz_free(struct pull_authz *a)
{
	if (!a)
		return;
	adopt(a, true);
	for (struct authz_repo *r = a->repos, *n; r; r = n) {
		n = r->next;
		wipe(&r->value);
		auth_challenges_release(&r->chal);
		free(r);
	}
	free(a);
}
