// SPDX-License-Identifier: Apache-2.0
// What a finished request means: pull_judge's verdict on what arrived,
// applied to the blob, its chunk, the host and the session. The messages come
// from pull_causes (pull/judge.c), filled in here.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pull/authz.h"
#include "pull/engine_int.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

// Puts a chunk back in the queue (keeps the scheduler's scan hint right).
void answer_requeue(struct blob *b, size_t ci)
{
	b->chunks[ci].state = CHUNK_PENDING;
	if (ci < b->scan_from)
		b->scan_from = ci;
}

struct answer_ctx {
	const struct xfer *x;
	long status;
	const char *loc;
	CURLcode rc;
};

// The value of one template field ({name}) into v.
static void field_value(const struct answer_ctx *a, const char *name, size_t len, char *v, size_t n)
{
	const struct xfer *x = a->x;
	const struct blob *b = x->b;
#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
	if (IS("digest"))
		snprintf(v, n, "%s", b->digest);
	else if (IS("host"))
		snprintf(v, n, "%s", xfer_host(x));
	else if (IS("registry"))
		snprintf(v, n, "%s", b->repo->reg->host);
	else if (IS("repo"))
		snprintf(v, n, "%s", b->repo->path);
	else if (IS("from"))
		snprintf(v, n, "%s", x->to_registry ? b->repo->reg->host : "the blob store");
	else if (IS("status"))
		snprintf(v, n, "%ld", a->status);
	else if (IS("got"))
		snprintf(v, n, "%llu", (unsigned long long)x->got);
	else if (IS("pos"))
		snprintf(v, n, "%llu", (unsigned long long)x->pos);
	else if (IS("size"))
		snprintf(v, n, "%llu", (unsigned long long)b->info.size);
	else if (IS("idle"))
		snprintf(v, n, "%.0f", clock_mono() - x->last_byte);
	else if (IS("curl"))
		snprintf(v, n, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(a->rc));
	else if (IS("location"))
		log_redact_url(a->loc ? a->loc : "", v, n < 128 ? n : 128);
	else if (IS("detail"))
		snprintf(v, n, "%.400s", x->ferr.msg);
	else
		snprintf(v, n, "{%.*s}", (int)len, name);
#undef IS
}

// tmpl with its fields filled in, into out.
static void answer_message(const struct answer_ctx *a, const char *tmpl, char *out, size_t n)
{
	size_t o = 0;
	out[0] = '\0';
	for (const char *p = tmpl; *p && o + 1 < n;) {
		const char *close = *p == '{' ? strchr(p, '}') : NULL;
		if (!close) {
			out[o++] = *p++;
			out[o] = '\0';
			continue;
		}
		char v[ERR_MSG_MAX];
		field_value(a, p + 1, (size_t)(close - p - 1), v, sizeof(v));
		o += (size_t)snprintf(out + o, n - o, "%s", v);
		if (o >= n)
			o = n - 1;
		p = close + 1;
	}
}

static const char *cause_key(const struct pull_judgement *j, long status, char *buf, size_t n)
{
	return pull_cause_key(j->cause, status, buf, n);
}

// counts: the try failed (throttling that we answered by backing off does not).
// Every failed try counts against its range and its blob, whatever it
// delivered before failing: a server that resets after a few bytes, or
// trickles, every time, must run the budget out. Only a single stream (a
// source that ignores Range) that moved a chunk's worth before failing
// starts its range's count again, as a finished range would.
// The error that ends the pull once a range or its blob has run out of tries.
static bool tries_exhausted(struct pull_engine *eng, struct xfer *x, const char *why, struct err *e)
{
	struct blob *b = x->b;
	const struct chunk *c = &b->chunks[x->ci];
	if (c->attempts > eng->o.retries) {
		err_set(e, ERR_NETWORK, "blob %s from %s: %s (gave up after %d retries)", b->digest, xfer_host(x), why,
			eng->o.retries);
		return true;
	}
	if (b->failures > BLOB_BUDGET_PER_RETRY * eng->o.retries + b->ranges_done) {
		err_set(e, ERR_NETWORK, "blob %s from %s: %s (gave up after %d failed tries with %d ranges finished)",
			b->digest, xfer_host(x), why, b->failures, b->ranges_done);
		return true;
	}
	double ra = http_retry_after_s(x->retry_after), left = eng->stuck_bound - b->stuck_for;
	if (ra > left) {
		err_set(e, ERR_NETWORK, "blob %s from %s: %s, asking to wait %.0f s (Retry-After): gave up, more than "
			"the %.0f s left of the %.0f s a blob may go without progress", b->digest, xfer_host(x), why, ra,
			left > 0 ? left : 0, eng->stuck_bound);
		return true;
	}
	return false;
}

static void retry_later(struct pull_engine *eng, struct xfer *x, const char *why, const char *cause, bool counts)
{
	struct blob *b = x->b;
	struct chunk *c = &b->chunks[x->ci];
	answer_requeue(b, x->ci);
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
	if (tries_exhausted(eng, x, why, &e)) {
		xfer_outcome(x, PULL_REQ_FAILED, cause, e.msg);
		engine_fail(eng, &e);
		return;
	}
	snprintf(b->last_why, sizeof(b->last_why), "%s", why);
	snprintf(b->last_host, sizeof(b->last_host), "%s", xfer_host(x));
	double d = http_backoff_seconds(c->attempts > 0 ? c->attempts - 1 : 0, x->retry_after);
	c->not_before = clock_mono() + d;
	char msg[ERR_MSG_MAX + 64];
	snprintf(msg, sizeof(msg), "%s; retry %d/%d in %.1fs", why, c->attempts, eng->o.retries, d);
	log_info("blob %s from %s: %s", b->digest, xfer_host(x), msg);
	xfer_outcome(x, PULL_REQ_RETRY, cause, msg);
	if (eng->o.on_event) {
		struct pull_event ev = {.kind = PULL_EV_RETRY, .blob = &b->info, .detail = msg,
					.host = xfer_host(x), .attempt = c->attempts};
		engine_emit_event(eng, &ev);
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

// A 401 for a blob: the token renewed (once for all its ranges), the next
// endpoint asked, or the pull failed after too many.
static void renew_token(struct pull_engine *eng, struct xfer *x, const char *cause)
{
	struct blob *b = x->b;
	struct err e;
	// Every range in flight meets the expiry of a shared token at once:
	// only the first 401 for a token renews it, the rest just go again.
	xfer_challenges(x);
	if (!pull_authz_refused(eng->authz, b->repo, x->auth_gen, &x->chal)) {
		answer_requeue(b, x->ci);
		xfer_outcome(x, PULL_REQ_RENEW, cause, "the token was renewed meanwhile");
		return;
	}
	if (++b->auth_renewals > MAX_AUTH_RENEWALS && b->repo->next_src) {
		xfer_outcome(x, PULL_REQ_RENEW, cause, "token refused again: the next endpoint");
		blob_fallback(eng, b, "the credential is refused");
		return;
	}
	if (b->auth_renewals > MAX_AUTH_RENEWALS) {
		pull_authz_quiesce(eng->authz); // the session is ours again
		pull_repo_auth_error(b->repo, &e);
		engine_fail(eng, &e);
		return;
	}
	answer_requeue(b, x->ci);
	xfer_outcome(x, PULL_REQ_RENEW, cause, "token refused: renewing it");
}

// A blob store refused its redirect target: a fresh one asked for (once for
// all the ranges sent to it), the next endpoint asked, or the pull failed.
static void renew_target(struct pull_engine *eng, struct xfer *x, const char *cause, long status)
{
	struct blob *b = x->b;
	struct err e;
	if (x->target_gen != b->target_gen) {
		answer_requeue(b, x->ci);
		xfer_outcome(x, PULL_REQ_RENEW, cause, "the redirect was renewed meanwhile");
		return;
	}
	if (++b->renewals > MAX_REDIRECT_RENEWALS && b->repo->next_src) {
		xfer_outcome(x, PULL_REQ_RENEW, cause, "the blob store keeps refusing: the next endpoint");
		blob_fallback(eng, b, "its blob store keeps refusing");
		return;
	}
	if (b->renewals > MAX_REDIRECT_RENEWALS) {
		err_set(&e, ERR_NETWORK, "blob %s: the blob store keeps refusing (HTTP %ld)", b->digest, status);
		engine_fail(eng, &e);
		return;
	}
	free(b->target);
	b->target = NULL;
	b->target_gen++;
	answer_requeue(b, x->ci);
	char why[ERR_MSG_MAX];
	snprintf(why, sizeof(why), "the blob store refused (HTTP %ld): asking the registry again", status);
	xfer_outcome(x, PULL_REQ_RENEW, cause, why);
}

static void on_done(struct pull_engine *eng, struct xfer *x)
{
	struct blob *b = x->b;
	b->ranges_done++;
	b->chunks[x->ci].state = CHUNK_DONE;
	xfer_outcome(x, PULL_REQ_OK, NULL, NULL);
	b->auth_renewals = 0;
	b->renewals = 0; // the renewed target works: a long pull may renew again later
	if (x->host->cap < eng->o.connections)
		x->host->cap++;
}

// 429/503: fewer connections to the host, a pause, the range again.
static void on_throttled(struct pull_engine *eng, struct xfer *x, const char *cause, long status)
{
	struct host *h = x->host;
	bool at_floor = h->cap <= 1;
	h->cap = h->active / 2 > 1 ? h->active / 2 : 1;
	double pause = http_backoff_seconds(0, x->retry_after);
	if (h->not_before < clock_mono() + pause)
		h->not_before = clock_mono() + pause;
	char why[ERR_MSG_MAX];
	snprintf(why, sizeof(why), "HTTP %ld, %d connection%s to this server now", status, h->cap, h->cap == 1 ? "" : "s");
	retry_later(eng, x, why, cause, at_floor);
}

static void on_redirect(struct xfer *x, const char *loc)
{
	struct blob *b = x->b;
	free(b->target);
	b->target = xstrdup(loc);
	b->redirected = true;
	answer_requeue(b, x->ci);
	xfer_outcome(x, PULL_REQ_REDIRECT, NULL, NULL);
	char safe[512];
	log_redact_url(loc, safe, sizeof(safe));
	log_debug("blob %s: redirected to %s", b->digest, safe);
}

// A verdict that ends the pull, unless (not the disk's fault: a lasting
// error is a write's) the next endpoint can take the blob over.
static void on_fatal(struct pull_engine *eng, const struct answer_ctx *a, const struct pull_judgement *j)
{
	struct xfer *x = (struct xfer *)a->x;
	char key[24];
	cause_key(j, a->status, key, sizeof(key));
	if (j->cause != PULL_CAUSE_LASTING && x->b->repo->next_src) {
		char fw[96];
		snprintf(fw, sizeof(fw), "%s (HTTP %ld)", key, a->status);
		xfer_outcome(x, PULL_REQ_RETRY, key, fw);
		blob_fallback(eng, x->b, fw);
		return;
	}
	struct err e;
	if (j->cause == PULL_CAUSE_LASTING) {
		e = x->ferr;
	} else {
		char msg[ERR_MSG_MAX];
		answer_message(a, pull_causes[j->cause].fatal, msg, sizeof(msg));
		err_set(&e, j->cls, "%s", msg);
	}
	engine_fail(eng, &e);
}

// What arrived for x, for pull_judge.
static void answer_read(struct xfer *x, CURLcode rc, struct answer_ctx *a, struct pull_answer *ans)
{
	const struct blob *b = x->b;
	const struct chunk *c = &b->chunks[x->ci];
	*a = (struct answer_ctx){.x = x, .rc = rc};
	char *loc = NULL;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &a->status);
	curl_easy_getinfo(x->h, CURLINFO_REDIRECT_URL, &loc);
	a->loc = loc;
	x->retry_after = http_header_get(x->h, "Retry-After", 0, NULL);
	long st = a->status;
	*ans = (struct pull_answer){
		.curl_rc = rc, .status = st, .to_registry = x->to_registry,
		.complete = c->queued == c->len, .whole_short = st == 200 && x->pos < b->info.size,
		.complaint = x->complaint, .lasting = x->fatal, .location = loc != NULL, .stalled = x->stalled,
		.location_http = loc && (strncasecmp(loc, "http://", 7) == 0 || strncasecmp(loc, "https://", 8) == 0),
		.auth_refused = x->to_registry &&
				auth_session_rejected(&b->repo->reg->auth, st, x->errbody.data, x->errbody.len),
	};
}

void answer_apply(struct pull_engine *eng, struct xfer *x, CURLcode rc)
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
		xfer_hand_over(x); // whatever arrived is good for the retry
	struct answer_ctx a;
	struct pull_answer ans;
	answer_read(x, rc, &a, &ans);
	struct pull_judgement j;
	pull_judge(&ans, &j);
	char key[24], why[ERR_MSG_MAX];
	cause_key(&j, a.status, key, sizeof(key));
	switch (j.verdict) {
	case PULL_V_DONE:
		on_done(eng, x);
		return;
	case PULL_V_RETRY:
		answer_message(&a, pull_causes[j.cause].retry, why, sizeof(why));
		retry_later(eng, x, why, key, true);
		return;
	case PULL_V_THROTTLED:
		on_throttled(eng, x, key, a.status);
		return;
	case PULL_V_REDIRECT:
		on_redirect(x, a.loc);
		return;
	case PULL_V_RENEW_TOKEN:
		renew_token(eng, x, key);
		return;
	case PULL_V_RENEW_TARGET:
		renew_target(eng, x, key, a.status);
		return;
	case PULL_V_FATAL:
		on_fatal(eng, &a, &j);
		return;
	}
}
