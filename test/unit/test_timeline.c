// SPDX-License-Identifier: Apache-2.0
// The SVG waterfall of a measured pull: a small chart with every kind of
// request and hostile text, bad input refused without output, the size of a
// 20 000-request chart, empty charts. With IMGPULL_TIMELINE_OUT set, the
// charts are also written there, to be parsed and rendered from outside.
#include "report/timeline.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>

#include "util/file.h"

#define HOSTILE "<&\"'>"
#define HOSTILE_ESC "&lt;&amp;&quot;&apos;&gt;"

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void format_ok(struct buf *b, const struct timeline *t, size_t max)
{
	struct err e = { 0 };
	buf_init(b, max);
	if (timeline_svg(b, t, &e) != 0)
		fail_msg("timeline_svg: %s", e.msg);
	assert_int_equal(e.cls, ERR_NONE);
	assert_true(strncmp(buf_str(b), "<?xml ", 6) == 0);
	assert_non_null(strstr(buf_str(b), "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	assert_int_equal(count(buf_str(b), "</svg>"), 1);
	assert_true(b->len > 7 && strcmp(b->data + b->len - 7, "</svg>\n") == 0);
	assert_int_equal(count(buf_str(b), "<g class=\"req"), t->nreqs);
}

// Writes the chart into $IMGPULL_TIMELINE_OUT when it is set.
static void maybe_write(const char *name, const struct timeline *t)
{
	const char *dir = getenv("IMGPULL_TIMELINE_OUT");
	if (!dir || !*dir)
		return;
	struct err e = { 0 };
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (file_mkdirs(dir, &e) != 0 || timeline_write(path, t, &e) != 0)
		fail_msg("writing %s: %s", path, e.msg);
}

static const struct timeline_blob small_blobs[] = {
	{ "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 3000000 },
	{ "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", 1500 },
};

static const char *const small_labels[] = { "10.0.0.5:443 via :51234", "evil " HOSTILE " label",
					    "a very long label that goes on and on and on" };

static const struct timeline_req small_reqs[] = {
	{ 0, 0, 0.30, 0.35, 0.90, 0, 1000000, 1000000, 206, TIMELINE_OK, NULL },
	{ 1, 0, 0.30, 0.40, 0.60, 1000000, 1000000, 400000, 206, TIMELINE_RETRY, "reset " HOSTILE },
	{ 1, 0, 0.62, 0.66, 1.10, 1000000, 1000000, 1000000, 206, TIMELINE_OK, NULL },
	{ 2, 1, 0.30, -1, 0.33, 0, 1500, 0, 307, TIMELINE_REDIRECT, NULL },
	{ 2, 1, 0.34, 0.36, 0.37, 0, 1500, 1500, 200, TIMELINE_OK, NULL },
	{ 0, 0, 0.91, 0.95, 1.40, 2000000, 1000000, 1000000, 206, TIMELINE_OK, NULL },
	{ 2, 0, 0.40, -1, 0.45, 2000000, 1000000, 0, 0, TIMELINE_OTHER, "token renewed" },
};

static struct timeline small_timeline(void)
{
	struct timeline t = {
		.title = "registry.example/app:1 " HOSTILE " \xc2\xb7 run 1 of 1",
		.duration = 1.5,
		.resolve = 0.28,
		.nlanes = 3,
		.lane_labels = small_labels,
		.blobs = small_blobs,
		.nblobs = 2,
		.reqs = small_reqs,
		.nreqs = sizeof(small_reqs) / sizeof(small_reqs[0]),
	};
	return t;
}

static void test_small(void **state)
{
	(void)state;
	struct timeline t = small_timeline();
	struct buf b;
	format_ok(&b, &t, 1 << 20);
	const char *s = buf_str(&b);
	// Hostile text only ever appears escaped.
	assert_null(strstr(s, HOSTILE));
	assert_non_null(strstr(s, "registry.example/app:1 " HOSTILE_ESC));
	assert_non_null(strstr(s, "evil " HOSTILE_ESC " label"));
	assert_non_null(strstr(s, "retry: reset " HOSTILE_ESC));
	assert_non_null(strstr(s, "dropped: token renewed"));
	// Labels are cut where shown (the lane's data-lane keeps it whole), the digests shortened.
	assert_int_equal(count(s, "goes on and on and on"), 1);
	assert_non_null(strstr(s, "data-lane=\"a very long label that goes on and on and on"));
	assert_non_null(strstr(s, "<title>0123456789ab bytes 1000000-1999999\n400000 bytes received\n"
				  "start 0.300 s, first byte 0.400 s, end 0.600 s\nHTTP 206"));
	assert_non_null(strstr(s, "first byte none"));
	assert_null(strstr(s, "0123456789abc"));
	assert_int_equal(count(s, "<g class=\"req rt\">"), 1);
	assert_int_equal(count(s, "<g class=\"req rd\">"), 1);
	assert_int_equal(count(s, "<g class=\"req ot\">"), 1);
	assert_int_equal(count(s, "class=\"xm\""), 2); // the bar's and the legend's
	assert_int_equal(count(s, "class=\"dm\""), 2);
	assert_non_null(strstr(s, ">resolve</text>"));
	assert_non_null(strstr(s, ">seconds</text>"));
	assert_non_null(strstr(s, "mean 2.27 MB/s"));
	assert_non_null(strstr(s, "7 requests \xc2\xb7 3 lanes \xc2\xb7 1 retry \xc2\xb7 1 redirect \xc2\xb7 1 dropped"));
	maybe_write("timeline-small.svg", &t);
	buf_release(&b);
}

// Broken UTF-8 and control characters would make the document invalid XML.
static void test_bad_text(void **state)
{
	(void)state;
	static const char *const labels[] = { "a\xff" "b\x01" "c\xc0\x80" "d\xed\xa0\x80" "e",
					      "\xe2\x82", "\xf0\x9f\x98\x80 ok" };
	struct timeline t = small_timeline();
	t.lane_labels = labels;
	t.title = "t\x1b[31m";
	struct buf b;
	format_ok(&b, &t, 1 << 20);
	const char *s = buf_str(&b);
	assert_non_null(strstr(s, "a\xef\xbf\xbd" "b c\xef\xbf\xbd\xef\xbf\xbd" "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "e<"));
	assert_non_null(strstr(s, ">\xef\xbf\xbd\xef\xbf\xbd<"));
	assert_non_null(strstr(s, "\xf0\x9f\x98\x80 ok"));
	assert_non_null(strstr(s, "t [31m"));
	assert_null(strchr(s, '\x1b'));
	buf_release(&b);
	maybe_write("timeline-badtext.svg", &t);
}

static void expect_fail(const struct timeline *t)
{
	struct err e = { 0 };
	struct buf b;
	buf_init(&b, 1 << 20);
	buf_addstr(&b, "kept");
	assert_int_equal(timeline_svg(&b, t, &e), -1);
	assert_int_equal(e.cls, ERR_INTERNAL);
	assert_true(strlen(e.msg) > 0);
	assert_string_equal(buf_str(&b), "kept");
	buf_release(&b);
}

static void test_invalid(void **state)
{
	(void)state;
	struct timeline_req reqs[sizeof(small_reqs) / sizeof(small_reqs[0])];
	struct timeline t = small_timeline();
	t.reqs = reqs;

	memcpy(reqs, small_reqs, sizeof(reqs));
	reqs[3].lane = 3;
	expect_fail(&t);
	reqs[3].lane = -1;
	expect_fail(&t);

	memcpy(reqs, small_reqs, sizeof(reqs));
	reqs[2].blob = 2;
	expect_fail(&t);
	reqs[2].blob = -1;
	expect_fail(&t);

	memcpy(reqs, small_reqs, sizeof(reqs));
	reqs[0].kind = (enum timeline_kind)7;
	expect_fail(&t);

	memcpy(reqs, small_reqs, sizeof(reqs));
	t.nlanes = -1;
	expect_fail(&t);
	t.nlanes = 1 << 30;
	expect_fail(&t);
	t = small_timeline();
	t.reqs = NULL;
	expect_fail(&t);
	t = small_timeline();
	t.blobs = NULL;
	expect_fail(&t);
	t = small_timeline();
	t.duration = 1e300;
	expect_fail(&t);
	expect_fail(NULL);

	// Too big for the caller's buffer: an error, and the buffer as it was.
	t = small_timeline();
	struct err e = { 0 };
	struct buf b;
	buf_init(&b, 4096);
	buf_addstr(&b, "kept");
	assert_int_equal(timeline_svg(&b, &t, &e), -1);
	assert_int_equal(e.cls, ERR_INTERNAL);
	assert_string_equal(buf_str(&b), "kept");
	assert_false(b.toobig);
	buf_release(&b);
}

// Times out of order, beyond the duration, or not numbers at all are drawn
// clamped; a duration of 0 still gives an axis.
static void test_odd_times(void **state)
{
	(void)state;
	struct timeline_req reqs[] = {
		{ 0, 0, 5, 6, 7, 0, 10, 10, 206, TIMELINE_OK, NULL },
		{ 0, 0, 0.5, 0.2, 0.1, 0, 10, 10, 206, TIMELINE_OK, NULL },
		{ 0, 0, -3, (double)NAN, (double)INFINITY, 0, 0, 5, 206, TIMELINE_OK, NULL },
		{ 0, 0, (double)NAN, 0.1, (double)NAN, 0, 0, 5, 206, TIMELINE_RETRY, NULL },
	};
	struct timeline t = small_timeline();
	t.reqs = reqs;
	t.nreqs = 4;
	t.duration = 0;
	t.resolve = 9;
	struct buf b;
	format_ok(&b, &t, 1 << 20);
	buf_release(&b);
	t.duration = -1;
	t.resolve = -1;
	format_ok(&b, &t, 1 << 20);
	buf_release(&b);
}

static void test_empty(void **state)
{
	(void)state;
	struct timeline t = { .title = NULL, .duration = 2, .resolve = 0.5, .nlanes = 4 };
	struct buf b;
	format_ok(&b, &t, 1 << 20);
	assert_non_null(strstr(buf_str(&b), "no requests"));
	buf_release(&b);
	maybe_write("timeline-empty.svg", &t);
	struct timeline z = { 0 };
	format_ok(&b, &z, 1 << 20);
	buf_release(&b);
	maybe_write("timeline-zero.svg", &z);
}

// A deterministic pull: connections take the next range as they free up, the
// blobs are cut into chunks, with retries, redirects and dropped requests.
struct sim {
	struct timeline t;
	struct timeline_req *reqs;
	struct timeline_blob *blobs;
	char (*digests)[72];
	char (*labels)[48];
	const char **label_ptrs;
};

static uint64_t rng_state;

static double rnd(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void sim_blobs(struct sim *s, size_t nblobs, uint64_t chunk, size_t nreqs)
{
	s->blobs = calloc(nblobs, sizeof(*s->blobs));
	s->digests = calloc(nblobs, sizeof(*s->digests));
	assert_non_null(s->blobs);
	assert_non_null(s->digests);
	for (size_t i = 0; i < nblobs; i++) {
		int n = snprintf(s->digests[i], sizeof(s->digests[i]), "sha256:");
		for (int k = 0; k < 64; k++)
			s->digests[i][n + k] = "0123456789abcdef"[(int)(rnd() * 16)];
		s->blobs[i].digest = s->digests[i];
		// About nreqs chunks in all, some blobs small, some large.
		double chunks = 0.1 + rnd() * 2 * (double)nreqs / (double)nblobs;
		s->blobs[i].size = (uint64_t)(chunks * (double)chunk) + 1000;
	}
}

static void simulate(struct sim *s, size_t nreqs, int nlanes, size_t nblobs, bool labels)
{
	const uint64_t chunk = 8u << 20;
	memset(s, 0, sizeof(*s));
	rng_state = nreqs * 7919 + (uint64_t)nlanes;
	sim_blobs(s, nblobs, chunk, nreqs);
	s->reqs = calloc(nreqs, sizeof(*s->reqs));
	double *cursor = calloc((size_t)nlanes, sizeof(double));
	assert_non_null(s->reqs);
	assert_non_null(cursor);
	const double resolve = 0.35;
	for (int l = 0; l < nlanes; l++)
		cursor[l] = resolve + 0.004 * l;
	size_t blob = 0;
	uint64_t off = 0;
	double end = resolve;
	for (size_t i = 0; i < nreqs; i++) {
		int lane = 0;
		for (int l = 1; l < nlanes; l++)
			if (cursor[l] < cursor[lane])
				lane = l;
		struct timeline_req *r = &s->reqs[i];
		uint64_t left = s->blobs[blob].size - off;
		r->lane = lane;
		r->blob = (int)blob;
		r->offset = off;
		r->len = left < chunk ? left : chunk;
		r->start = cursor[lane] + 0.001 + 0.004 * rnd();
		r->first = r->start + 0.02 + 0.06 * rnd();
		double bw = 25e6 + 20e6 * rnd();
		r->bytes = r->len;
		r->status = 206;
		r->kind = TIMELINE_OK;
		if (i % 41 == 17) {
			r->kind = TIMELINE_RETRY;
			r->bytes = (uint64_t)((double)r->len * rnd());
			r->note = "connection reset by peer";
		} else if (i % 53 == 29) {
			r->kind = TIMELINE_REDIRECT;
			r->first = -1;
			r->bytes = 0;
			r->status = 307;
		} else if (i % 97 == 61) {
			r->kind = TIMELINE_OTHER;
			r->first = -1;
			r->bytes = 0;
			r->status = 0;
			r->note = "token renewed";
		}
		r->end = r->first >= 0 ? r->first + (double)r->bytes / bw : r->start + 0.015;
		if (r->kind == TIMELINE_RETRY)
			r->end += 0.2; // a reset after a stall
		cursor[lane] = r->end;
		end = r->end > end ? r->end : end;
		if (r->kind == TIMELINE_OK) { // the others ask for the same range again
			off += r->len;
			if (off >= s->blobs[blob].size) {
				blob = (blob + 1) % nblobs;
				off = 0;
			}
		}
	}
	free(cursor);
	if (labels) {
		s->labels = calloc((size_t)nlanes, sizeof(*s->labels));
		s->label_ptrs = calloc((size_t)nlanes, sizeof(*s->label_ptrs));
		assert_non_null(s->labels);
		assert_non_null(s->label_ptrs);
		for (int l = 0; l < nlanes; l++) {
			snprintf(s->labels[l], sizeof(s->labels[l]), "10.0.%d.5:443 via :%d", l % 3, 51234 + l);
			s->label_ptrs[l] = s->labels[l];
		}
	}
	s->t = (struct timeline){
		.title = "registry.example/team/app:1.4.2 \xc2\xb7 run 2 of 3",
		.duration = end + 0.05,
		.resolve = resolve,
		.nlanes = nlanes,
		.lane_labels = labels ? s->label_ptrs : NULL,
		.blobs = s->blobs,
		.nblobs = nblobs,
		.reqs = s->reqs,
		.nreqs = nreqs,
	};
}

static void sim_free(struct sim *s)
{
	free(s->reqs);
	free(s->blobs);
	free(s->digests);
	free(s->labels);
	free(s->label_ptrs);
}

static void test_200(void **state)
{
	(void)state;
	struct sim s;
	simulate(&s, 200, 8, 7, true);
	struct buf b;
	format_ok(&b, &s.t, 8u << 20);
	assert_non_null(strstr(buf_str(&b), ">10.0.1.5:443 via :51235</text>"));
	print_message("200 requests, 8 lanes: %zu bytes\n", b.len);
	buf_release(&b);
	maybe_write("timeline-200.svg", &s.t);
	sim_free(&s);
}

static void test_20000(void **state)
{
	(void)state;
	struct sim s;
	simulate(&s, 20000, 64, 40, false);
	struct buf b;
	format_ok(&b, &s.t, 8u << 20);
	assert_true(b.len < 8u << 20);
	assert_non_null(strstr(buf_str(&b), "+28 more blobs"));
	print_message("20000 requests, 64 lanes: %zu bytes\n", b.len);
	buf_release(&b);
	maybe_write("timeline-20000.svg", &s.t);
	sim_free(&s);
}

static void test_256_lanes(void **state)
{
	(void)state;
	struct sim s;
	simulate(&s, 3000, 256, 12, true);
	struct buf b;
	format_ok(&b, &s.t, 8u << 20);
	buf_release(&b);
	maybe_write("timeline-256lanes.svg", &s.t);
	sim_free(&s);
}

static void test_write(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_timeline.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/t.svg", dir);
	struct timeline t = small_timeline();
	struct err e = { 0 };
	if (timeline_write(path, &t, &e) != 0)
		fail_msg("timeline_write: %s", e.msg);
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(file_read_all(path, &b, &e), 0);
	assert_int_equal(count(buf_str(&b), "<g class=\"req"), t.nreqs);
	buf_release(&b);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small),    cmocka_unit_test(test_bad_text), cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_odd_times), cmocka_unit_test(test_empty),  cmocka_unit_test(test_200),
		cmocka_unit_test(test_20000),    cmocka_unit_test(test_256_lanes), cmocka_unit_test(test_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
