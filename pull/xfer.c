// SPDX-License-Identifier: Apache-2.0
// One range request: started on a pooled handle, its body gathered into
// write buffers handed to the store (blob_write), its answer checked at the
// first byte, its request event. A transfer whose buffers all wait for the
// disk pauses until one comes back; the others go on.
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pull/authz.h"
#include "pull/engine_int.h"
#include "pull/range.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

// ---- write buffers ----

// A connection's write memory (buffer_size) in XFER_BUFFERS buffers, and as
// many buffers in all as the connections have: memory stays at connections x
// buffer_size, as with one buffer each.
static size_t wbuf_size(const struct pull_engine *eng)
{
	size_t bs = eng->o.buffer_size / XFER_BUFFERS;
	return bs < (16u << 10) ? 16u << 10 : bs;
}

static size_t bufs_cap(const struct pull_engine *eng)
{
	return (size_t)eng->o.connections * XFER_BUFFERS;
}

// k buffers can be had from the pool now.
static bool bufs_available(const struct pull_engine *eng, size_t k)
{
	size_t n = eng->nbufs < bufs_cap(eng) ? bufs_cap(eng) - eng->nbufs : 0;
	for (const struct wbuf *w = eng->free_bufs; w && n < k; w = w->next)
		n++;
	return n >= k;
}

static struct wbuf *buf_take(struct pull_engine *eng)
{
	struct wbuf *w = eng->free_bufs;
	if (w) {
		eng->free_bufs = w->next;
		return w;
	}
	w = xcalloc(1, sizeof(*w));
	w->data = xmalloc(wbuf_size(eng));
	eng->nbufs++;
	return w;
}

static void buf_give(struct pull_engine *eng, struct wbuf *w)
{
	w->next = eng->free_bufs;
	eng->free_bufs = w;
}

void xfer_free_buffers(struct pull_engine *eng)
{
	for (struct wbuf *w = eng->free_bufs, *nx; w; w = nx) {
		nx = w->next;
		free(w->data);
		free(w);
	}
	eng->free_bufs = NULL;
}

// Hands the gathered bytes to the store; the chunk's written prefix (what the
// hasher may read) grows once they are in the file.
void xfer_hand_over(struct xfer *x)
{
	if (!x->wlen)
		return;
	blob_write(x->eng, x); // takes x->wb
	x->got += x->wlen;
	x->writing++;
	x->wb = NULL;
	x->wlen = 0;
}

// A buffer of transfer id is back from the store.
void xfer_wrote(struct pull_engine *eng, unsigned id, struct wbuf *wb)
{
	buf_give(eng, wb);
	for (struct xfer *x = eng->active; x; x = x->next) {
		if (x->id == id) {
			x->writing--;
			return;
		}
	}
}

// Paused transfers whose buffers came back go on (curl delivers what it held).
void xfer_resume_paused(struct pull_engine *eng)
{
	for (struct xfer *x = eng->active, *nx; x; x = nx) {
		nx = x->next;
		if (x->paused && !x->cancel && x->writing < XFER_BUFFERS - 1 && bufs_available(eng, 1)) {
			x->paused = false;
			curl_easy_pause(x->h, CURLPAUSE_CONT);
		}
	}
}

// Whether left more body bytes fit: the buffers they need can be had and
// no more than one is then waiting for the disk (a transfer with none
// waiting may always go on).
static bool xfer_room(const struct xfer *x, size_t left)
{
	size_t bs = wbuf_size(x->eng);
	size_t room = x->wb ? bs - x->wlen : 0;
	if (left <= room)
		return true;
	size_t k = (left - room + bs - 1) / bs;
	size_t waiting = (size_t)x->writing + (x->wb ? 1 : 0) + (k - 1);
	if (x->writing > 0 && waiting > XFER_BUFFERS - 1)
		return false;
	return bufs_available(x->eng, k);
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
	b->gen++; // writes of the other ranges still on their way count no more
	b->mode = RM_SINGLE;
	b->nchunks = 1;
	b->frontier = 0;
	b->scan_from = 0;
	b->chunks[0] = (struct chunk){.start = 0, .len = b->info.size, .written = keep, .queued = keep,
				      .state = CHUNK_ACTIVE};
	b->info.received = keep;
	x->ci = 0;
	x->want = keep;
	x->end = b->info.size;
	x->pos = 0;
	log_info("blob %s: source ignores Range, using one stream", b->digest);
}

static int check_whole(struct pull_engine *eng, struct xfer *x)
{
	struct blob *b = x->b;
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

// First body byte of a 2xx answer: check what we got is what we asked for.
static int check_answer(struct pull_engine *eng, struct xfer *x)
{
	struct blob *b = x->b;
	if (x->status == 200)
		return check_whole(eng, x);
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

// Drops a transfer that received nothing for the stall timeout. curl's own
// low-speed check (still set) averages over several seconds, so a range that
// stops dead after a burst would only be noticed up to 6 s later; this one
// counts from the last byte. A transfer paused for the disk is not stalled.
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal, (void)ultotal, (void)ulnow;
	struct xfer *x = ud;
	double now = clock_mono();
	if (dlnow != x->seen || x->paused) {
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

// Body bytes past what the answer may carry: the server's framing is wrong.
static size_t too_long(struct xfer *x)
{
	const struct blob *b = x->b;
	if (x->status == 200)
		err_set(&x->ferr, ERR_INTEGRITY, "blob %s: the server sent more than the manifest's %llu bytes",
			b->digest, (unsigned long long)b->info.size);
	else
		err_set(&x->ferr, ERR_NETWORK, "blob %s: the server sent more bytes than its Content-Range announced",
			b->digest);
	x->fatal = true;
	return 0;
}

// What the loop's turn carried, for its pace (sched_pace).
static void turn_count(struct xfer *x, size_t len)
{
	struct pull_turn *t = &x->eng->turn;
	x->turn_got += len;
	t->bytes += len;
	if (x->turn_got > t->most)
		t->most = x->turn_got;
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
		// The blob's current target answers with its bytes: it works, even
		// if the store refuses some requests (renewals count refusals in a row).
		if ((x->status == 200 || x->status == 206) && x->target_gen == x->b->target_gen)
			x->b->renewals = 0;
	}
	if (x->status != 200 && x->status != 206) {
		buf_add(&x->errbody, data, len); // kept for the message; overflow just truncates
		return len;
	}
	// A 200 restarting below what we already have: those bytes are skipped.
	size_t skip = x->pos < x->want ? (size_t)(x->want - x->pos < len ? x->want - x->pos : len) : 0;
	size_t left = len - skip;
	if (left > x->end - (x->pos + skip))
		return too_long(x);
	if (left && !xfer_room(x, left)) {
		x->paused = true; // nothing taken: curl hands the same bytes again on resume
		return CURL_WRITEFUNC_PAUSE;
	}
	x->pos += skip;
	turn_count(x, left);
	const char *p = data + skip;
	// libcurl hands over at most CURL_RECV_BUFFER per call: gather a buffer's worth
	// so the file sees few large writes instead of many small ones.
	while (left) {
		if (!x->wb) {
			x->wb = buf_take(x->eng);
			x->wpos = x->pos;
		}
		size_t room = wbuf_size(x->eng) - x->wlen;
		size_t take = left < room ? left : room;
		memcpy(x->wb->data + x->wlen, p, take);
		x->wlen += take;
		x->pos += take;
		p += take;
		left -= take;
		if (x->wlen == wbuf_size(x->eng))
			xfer_hand_over(x);
	}
	return len;
}

// ---- starting and ending transfers ----

void xfer_free(struct pull_engine *eng, struct xfer *x)
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
	x->slot->next = eng->free_slots; // the handle serves the next range
	eng->free_slots = x->slot;
	if (x->wb)
		buf_give(eng, x->wb);
	for (struct curl_slist *s = x->hdrs; s; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(x->hdrs);
	free(x->retry_after);
	auth_challenges_release(&x->chal);
	buf_release(&x->errbody);
	free(x);
}

// Sets what became of x (for its request event).
void xfer_outcome(struct xfer *x, enum pull_req_outcome o, const char *cause, const char *note)
{
	x->outcome = o;
	snprintf(x->cause, sizeof(x->cause), "%s", cause ? cause : "");
	snprintf(x->note, sizeof(x->note), "%s", note ? note : "");
}

// host[:port] a transfer went to, for messages (never a path or query).
const char *xfer_host(const struct xfer *x)
{
	const char *o = strstr(x->host->origin, "://");
	return o ? o + 3 : x->host->origin;
}

// Where the request went and when its bytes came, from curl.
static void request_timing(struct pull_engine *eng, struct xfer *x, struct pull_request_info *r)
{
	curl_off_t v = 0, first = 0, total = 0;
	if (curl_easy_getinfo(x->h, CURLINFO_SIZE_DOWNLOAD_T, &v) == CURLE_OK && v > 0)
		r->bytes = (uint64_t)v;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(x->h, CURLINFO_STARTTRANSFER_TIME_T, &first);
	curl_easy_getinfo(x->h, CURLINFO_TOTAL_TIME_T, &total);
	if (first > 0)
		r->first = r->start + (double)first / 1e6;
	// A dropped transfer never got its total time: it ends now.
	r->end = x->outcome == PULL_REQ_CANCELLED || total <= 0 ? clock_mono() - eng->t0 : r->start + (double)total / 1e6;
	if (r->first > r->end)
		r->first = r->end;
	char *ip = NULL;
	long port = 0;
	curl_easy_getinfo(x->h, CURLINFO_PRIMARY_IP, &ip);
	curl_easy_getinfo(x->h, CURLINFO_PRIMARY_PORT, &port);
	curl_easy_getinfo(x->h, CURLINFO_LOCAL_PORT, &r->local_port);
	if (ip && *ip)
		snprintf(r->remote, sizeof(r->remote), strchr(ip, ':') ? "[%s]:%ld" : "%s:%ld", ip, port);
}

// The request event of a transfer that ended (or was dropped): what was asked,
// what arrived and when, over which connection, and what became of it.
void xfer_emit_request(struct pull_engine *eng, struct xfer *x)
{
	if (!eng->o.on_event)
		return;
	struct pull_request_info r = {.offset = x->ask_from, .len = x->ask_to - x->ask_from,
				      .start = x->t_start - eng->t0, .first = -1, .outcome = x->outcome,
				      .cause = x->cause[0] ? x->cause : NULL, .detail = x->note[0] ? x->note : NULL,
				      .host = xfer_host(x), .to_registry = x->to_registry};
	request_timing(eng, x, &r);
	char cause[16];
	if (r.outcome == PULL_REQ_FAILED && !r.cause) {
		snprintf(cause, sizeof(cause), r.status ? "http_%ld" : "error", r.status);
		r.cause = cause;
	}
	if (r.outcome == PULL_REQ_FAILED && !r.detail)
		r.detail = x->fatal ? x->ferr.msg : eng->failed ? eng->err.msg : NULL;
	struct pull_event ev = {.kind = PULL_EV_REQUEST, .blob = &x->b->info, .req = &r};
	engine_emit_event(eng, &ev);
}

// The request's headers: the registry's Authorization and a hosts.toml
// endpoint's own headers (never to a redirect target), and the range.
static void xfer_headers(struct xfer *x, const char *authz)
{
	if (x->to_registry && authz) {
		_cleanup_free_ char *h = xasprintf("Authorization: %s", authz);
		x->hdrs = curl_slist_append(x->hdrs, h);
		explicit_bzero(h, strlen(h));
	}
	for (const struct curl_slist *hd = x->to_registry ? x->b->repo->reg->auth.cfg->headers : NULL; hd; hd = hd->next)
		x->hdrs = curl_slist_append(x->hdrs, hd->data);
	char range[64];
	snprintf(range, sizeof(range), "Range: bytes=%llu-%llu", (unsigned long long)x->want,
		 (unsigned long long)(x->end - 1));
	x->hdrs = curl_slist_append(x->hdrs, range);
}

// A pooled handle, reset, or a new one (NULL: none could be made).
static struct slot *slot_take(struct pull_engine *eng)
{
	struct slot *sl = eng->free_slots;
	if (sl) {
		eng->free_slots = sl->next;
		curl_easy_reset(sl->h);
		return sl;
	}
	sl = xcalloc(1, sizeof(*sl));
	sl->h = curl_easy_init();
	if (!sl->h) {
		free(sl);
		return NULL;
	}
	return sl;
}

static void xfer_setopts(struct pull_engine *eng, struct xfer *x, const char *url)
{
	http_setup(x->h, x->b->repo->reg->auth.cfg); // a mirror's own TLS, or the run's
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
	curl_easy_setopt(x->h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(x->h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(x->h, CURLOPT_XFERINFODATA, x);
	long left_ms = http_deadline_ms(eng->o.http);
	if (left_ms > 0)
		curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, left_ms);
	if (log_get_level() >= LOG_DEBUG) {
		char safe[512];
		log_redact_url(url, safe, sizeof(safe));
		log_debug("GET %s bytes=%llu-%llu%s", safe, (unsigned long long)x->want,
			  (unsigned long long)(x->end - 1), x->pilot ? " (pilot)" : "");
	}
}

// authz: the Authorization for a request to the registry (NULL: none), of
// generation auth_gen.
int xfer_start(struct pull_engine *eng, struct blob *b, size_t ci, bool pilot, const char *authz,
	       unsigned auth_gen, struct err *e)
{
	struct chunk *c = &b->chunks[ci];
	struct slot *sl = slot_take(eng);
	if (!sl)
		return err_set(e, ERR_INTERNAL, "cannot create an HTTP handle");
	struct xfer *x = xcalloc(1, sizeof(*x));
	*x = (struct xfer){.eng = eng, .b = b, .ci = ci, .id = ++eng->next_xfer_id, .want = c->start + c->queued,
			   .end = c->start + c->len, .t_start = clock_mono(), .pilot = pilot,
			   .to_registry = b->target == NULL, .auth_gen = auth_gen, .target_gen = b->target_gen,
			   .slot = sl, .h = sl->h};
	x->pos = x->ask_from = x->want;
	x->ask_to = x->end;
	x->last_byte = x->t_start;
	buf_init(&x->errbody, ERRBODY_MAX);
	const char *url = blob_url(b);
	x->host = engine_host(eng, url);
	xfer_headers(x, authz);
	xfer_setopts(eng, x, url);
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
