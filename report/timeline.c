// SPDX-License-Identifier: Apache-2.0
#include "report/timeline.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file.h"
#include "util/mem.h"

#define TIMELINE_MAX ((size_t)256 << 20)

// The page, in user units. The width is fixed so runs compare side by side;
// the height follows the lane count.
#define W 1200.0
#define ML 180.0 // left margin: lane labels, the throughput axis
#define MR 24.0
#define PW (W - ML - MR)
#define PT 62.0 // the lanes start below the title, the summary and "resolve"
#define PITCH_MAX 16.0 // a 14 px bar and a 2 px gap
#define PITCH_MIN 4.0
#define LANES_MAX 4096 // connections; far more than a pull opens, and a bound on the page
#define LANES_H_MAX 1360.0 // 256 lanes shrink to fit this
#define TH 120.0 // the throughput panel
#define LABEL_CHARS 26
#define LABEL_PX 11.0 // lane labels closer than this would overlap
#define LEGEND_COLS 6
#define LEGEND_COL_W 193.0
#define LEGEND_BLOBS 12
#define BINS_MAX 300
#define BIN_MIN 0.001 // seconds: finer bins only show timer noise
#define DUR_MIN 0.001
#define DUR_MAX 1e7 // beyond any pull; guards the tick and bin loops
#define BAR_MIN 0.5 // px: the shortest request still shows

// Tableau-like colours that stay apart from each other and from the marks:
// red (retry), purple (redirect) and grey (dropped) are left out on purpose.
static const char *const palette[] = {
	"#4e79a7", "#f28e2b", "#59a14f", "#edc948", "#76b7b2", "#9c755f",
	"#ff9da7", "#a0cbe8", "#b6992d", "#8cd17d", "#d37295", "#ffbe7d",
};
#define NPALETTE (sizeof(palette) / sizeof(palette[0]))

struct geo {
	double dur;     // the x axis: 0 .. dur, never 0
	double pitch;   // lane to lane
	double barh;    // a bar's height
	double ph;      // the lanes' panel
	double tt;      // the throughput panel's top
	double lt;      // the legend's top
	double h;       // the page
	int label_step; // label every k-th lane
	size_t legend_rows;
};

// Numbers as text with one decimal and no trailing ".0": most of a big
// chart's bytes are coordinates, and a tenth of a pixel is below what shows.
// The struct keeps the text alive through the printf that uses it.
struct num {
	char s[32];
};

static struct num px(double v)
{
	struct num n;
	if (v > -0.05 && v < 0.05)
		v = 0; // no "-0"
	snprintf(n.s, sizeof(n.s), "%.1f", v);
	size_t l = strlen(n.s);
	if (l > 2 && strcmp(n.s + l - 2, ".0") == 0)
		n.s[l - 2] = '\0';
	return n;
}

// The length of the valid UTF-8 sequence at p that XML 1.0 allows as a
// character, or 0: overlong forms, surrogates, U+FFFE/U+FFFF and cut
// sequences would make the document unreadable for strict parsers.
static size_t utf8_seq(const unsigned char *p)
{
	size_t n;
	unsigned c, min;
	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2, c = p[0] & 0x1fu, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3, c = p[0] & 0x0fu, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4, c = p[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) // also stops at the NUL
			return 0;
		c = c << 6 | (p[i] & 0x3fu);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff)
		return 0;
	return n;
}

// Appends s as XML text, at most max characters (an ellipsis marks a cut
// if asked for). Labels and notes come from the network: markup is escaped,
// and what XML cannot hold at all (controls, broken UTF-8) is replaced.
static void esc_cut(struct buf *out, const char *s, size_t max, bool ellipsis)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	for (size_t n = 0; *p; n++) {
		if (n == max) {
			if (ellipsis)
				buf_addstr(out, "\xe2\x80\xa6");
			return;
		}
		size_t l = utf8_seq(p);
		if (l == 0) {
			buf_addstr(out, "\xef\xbf\xbd");
			p++;
			continue;
		}
		switch (*p) {
		case '&': buf_addstr(out, "&amp;"); break;
		case '<': buf_addstr(out, "&lt;"); break;
		case '>': buf_addstr(out, "&gt;"); break;
		case '"': buf_addstr(out, "&quot;"); break;
		case '\'': buf_addstr(out, "&apos;"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_addstr(out, " ");
			else
				buf_add(out, p, l);
		}
		p += l;
	}
}

static void esc(struct buf *out, const char *s, size_t max)
{
	esc_cut(out, s, max, true);
}

// "sha256:0123456789abcdef..." as its first 12 hex digits: enough to tell the
// blobs of one pull apart, short enough for a legend.
static void short_digest(struct buf *out, const char *digest)
{
	const char *d = digest ? digest : "?";
	const char *colon = strchr(d, ':');
	esc_cut(out, colon ? colon + 1 : d, 12, false);
}

// Decimal units, as the MB/s axis.
static void size_text(struct buf *out, double v)
{
	if (v < 1e3)
		buf_printf(out, "%.0f B", v);
	else if (v < 1e6)
		buf_printf(out, "%.1f kB", v / 1e3);
	else if (v < 1e9)
		buf_printf(out, "%.1f MB", v / 1e6);
	else
		buf_printf(out, "%.2f GB", v / 1e9);
}

struct ticks {
	double step;
	int dec; // decimals that show the step
};

// A step of 1, 2 or 5 x 10^n near raw (up: the smallest one >= raw), so that
// tick labels are round numbers. Loops instead of log10() keep libm out.
static struct ticks nice(double raw, bool up)
{
	static const double f[] = { 1, 2, 5, 10 };
	static const double mid[] = { 1.41, 3.16, 7.07 }; // geometric means
	struct ticks t = { 1, 0 };
	double p = 1;
	if (!(raw > 1e-12 && raw < 1e300))
		return t;
	while (p * 10 <= raw)
		p *= 10;
	while (p > raw) {
		p /= 10;
		t.dec++;
	}
	double m = raw / p;
	size_t i = 0;
	while (i < 3 && (up ? f[i] < m : mid[i] <= m))
		i++;
	t.step = f[i] * p;
	if (i == 3 && t.dec > 0)
		t.dec--;
	return t;
}

static double clampt(const struct geo *g, double v)
{
	if (!(v > 0)) // NaN too
		return 0;
	return v > g->dur ? g->dur : v;
}

static double xat(const struct geo *g, double t)
{
	return ML + clampt(g, t) / g->dur * PW;
}

static double lane_y(const struct geo *g, int lane)
{
	return PT + lane * g->pitch;
}

static int check(const struct timeline *t, struct err *e)
{
	if (!t)
		return err_set(e, ERR_INTERNAL, "timeline: no timeline");
	if (t->nlanes < 0 || t->nlanes > LANES_MAX)
		return err_set(e, ERR_INTERNAL, "timeline: %d lanes not in 0..%d", t->nlanes, LANES_MAX);
	if (t->nreqs > 0 && !t->reqs)
		return err_set(e, ERR_INTERNAL, "timeline: %zu requests but none given", t->nreqs);
	if (t->nblobs > 0 && !t->blobs)
		return err_set(e, ERR_INTERNAL, "timeline: %zu blobs but none given", t->nblobs);
	if (t->duration > DUR_MAX)
		return err_set(e, ERR_INTERNAL, "timeline: duration %g s out of range", t->duration);
	for (size_t i = 0; i < t->nreqs; i++) {
		const struct timeline_req *r = &t->reqs[i];
		if (r->lane < 0 || r->lane >= t->nlanes)
			return err_set(e, ERR_INTERNAL, "timeline: request %zu: lane %d not in 0..%d", i, r->lane,
				       t->nlanes - 1);
		if (r->blob < 0 || (size_t)r->blob >= t->nblobs)
			return err_set(e, ERR_INTERNAL, "timeline: request %zu: blob %d not in 0..%zu", i, r->blob,
				       t->nblobs);
		if ((unsigned)r->kind > TIMELINE_OTHER)
			return err_set(e, ERR_INTERNAL, "timeline: request %zu: kind %d", i, (int)r->kind);
	}
	return 0;
}

static void layout(struct geo *g, const struct timeline *t)
{
	g->dur = t->duration >= DUR_MIN ? t->duration : DUR_MIN; // NaN too
	g->pitch = PITCH_MAX;
	if (t->nlanes > 0 && LANES_H_MAX / t->nlanes < PITCH_MAX)
		g->pitch = LANES_H_MAX / t->nlanes;
	if (g->pitch < PITCH_MIN)
		g->pitch = PITCH_MIN;
	double gap = g->pitch / 8;
	g->barh = g->pitch - (gap > 2 ? 2 : gap);
	g->ph = t->nlanes > 0 ? t->nlanes * g->pitch : 24;
	g->label_step = 1;
	while (g->label_step * g->pitch < LABEL_PX)
		g->label_step++;
	g->tt = PT + g->ph + 40;
	g->lt = g->tt + TH + 52;
	size_t entries = t->nblobs > LEGEND_BLOBS ? LEGEND_BLOBS + 1 : t->nblobs;
	g->legend_rows = (entries + LEGEND_COLS - 1) / LEGEND_COLS + 1; // + the marks' row
	g->h = g->lt + (double)g->legend_rows * 18 + 14;
}

static void head(struct buf *out, const struct geo *g, const struct timeline *t)
{
	buf_printf(out,
		   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%s\" height=\"%s\" viewBox=\"0 0 %s %s\" "
		   "font-family=\"sans-serif\" font-size=\"11\">\n<title>",
		   px(W).s, px(g->h).s, px(W).s, px(g->h).s);
	esc(out, t->title ? t->title : "imgpull timeline", 200);
	buf_addstr(out, "</title>\n<style>\n"
			".w{fill-opacity:.38}"
			".rt rect{fill:#d62728}.rd rect{fill:#7b3294}.ot rect{fill:#9e9e9e}\n"
			".g{stroke:#e3e3e3;stroke-width:1}.f{fill:none;stroke:#9a9a9a}.s{fill:#f5f7fa}"
			".l{font-size:10px;fill:#333;text-anchor:end}.m{fill:#555}.c{text-anchor:middle}"
			".e{text-anchor:end}.t{font-size:10px;fill:#444}\n"
			".xm{stroke:#7a0000;stroke-width:1.6;fill:none}.dm{fill:#7b3294;stroke:#fff;stroke-width:.6}"
			".tp{fill:none;stroke:#2b5d8a;stroke-width:1.4}.ta{fill:#4e79a7;fill-opacity:.18}"
			".mn{stroke:#c2185b;stroke-dasharray:5 3;stroke-width:1}\n");
	for (size_t i = 0; i < NPALETTE; i++)
		buf_printf(out, ".c%zu{fill:%s}", i, palette[i]);
	buf_printf(out, "\n</style>\n<defs><pattern id=\"hz\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
			"patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#ececec\"/>"
			"<rect width=\"2\" height=\"6\" fill=\"#d2d2d2\"/></pattern></defs>\n"
			"<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n"
			"<text x=\"20\" y=\"24\" font-size=\"15\" font-weight=\"bold\">");
	esc(out, t->title ? t->title : "imgpull timeline", 110);
	buf_addstr(out, "</text>\n");
}

// One line an operator reads before the chart: what happened, in numbers.
static void summary(struct buf *out, const struct geo *g, const struct timeline *t)
{
	size_t retries = 0, redirects = 0, dropped = 0;
	double bytes = 0;
	for (size_t i = 0; i < t->nreqs; i++) {
		retries += t->reqs[i].kind == TIMELINE_RETRY;
		redirects += t->reqs[i].kind == TIMELINE_REDIRECT;
		dropped += t->reqs[i].kind == TIMELINE_OTHER;
		bytes += (double)t->reqs[i].bytes;
	}
	buf_printf(out,
		   "<text x=\"20\" y=\"43\" class=\"m\">%zu request%s \xc2\xb7 %d lane%s \xc2\xb7 %zu retr%s \xc2\xb7 "
		   "%zu redirect%s \xc2\xb7 %zu dropped \xc2\xb7 ",
		   t->nreqs, t->nreqs == 1 ? "" : "s", t->nlanes, t->nlanes == 1 ? "" : "s", retries,
		   retries == 1 ? "y" : "ies", redirects, redirects == 1 ? "" : "s", dropped);
	size_text(out, bytes);
	buf_printf(out, " in %.3f s \xc2\xb7 mean %.2f MB/s \xc2\xb7 resolve %.3f s</text>\n", g->dur,
		   bytes / g->dur / 1e6, clampt(g, t->resolve));
}

// Vertical gridlines over both panels and the tick labels under each.
static void xaxis(struct buf *out, const struct geo *g)
{
	struct ticks tk = nice(g->dur / 10, false);
	double bottom = g->tt + TH;
	buf_addstr(out, "<g class=\"g\">");
	for (int i = 0; i <= 100 && i * tk.step <= g->dur * (1 + 1e-9); i++) {
		double x = xat(g, i * tk.step);
		buf_printf(out, "<path d=\"M%s %sV%sM%s %sV%s\"/>", px(x).s, px(PT).s, px(PT + g->ph + 4).s, px(x).s,
			   px(g->tt).s, px(bottom + 4).s);
	}
	buf_addstr(out, "</g>\n<g class=\"t c\">");
	for (int i = 0; i <= 100 && i * tk.step <= g->dur * (1 + 1e-9); i++) {
		double x = xat(g, i * tk.step);
		buf_printf(out, "<text x=\"%s\" y=\"%s\">%.*f</text><text x=\"%s\" y=\"%s\">%.*f</text>", px(x).s,
			   px(PT + g->ph + 14).s, tk.dec, i * tk.step, px(x).s, px(bottom + 14).s, tk.dec, i * tk.step);
	}
	buf_printf(out, "</g>\n<text x=\"%s\" y=\"%s\" class=\"c m\">seconds</text>\n", px(ML + PW / 2).s,
		   px(bottom + 32).s);
}

// The resolve phase (auth, manifests) hatched over both panels: the time
// before any blob byte could flow.
static void resolve(struct buf *out, const struct geo *g, const struct timeline *t)
{
	double w = xat(g, t->resolve) - ML;
	if (w <= 0)
		return;
	buf_printf(out, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"url(#hz)\"/>", px(ML).s, px(PT).s,
		   px(w).s, px(g->ph).s);
	buf_printf(out, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"url(#hz)\"/>\n", px(ML).s,
		   px(g->tt).s, px(w).s, px(TH).s);
	if (w >= 44)
		buf_printf(out, "<text x=\"%s\" y=\"%s\" class=\"t c\">resolve</text>\n", px(ML + w / 2).s,
			   px(PT - 5).s);
}

static void lane_label(struct buf *out, const struct timeline *t, int lane)
{
	const char *l = t->lane_labels ? t->lane_labels[lane] : NULL;
	if (l)
		esc(out, l, LABEL_CHARS);
	else
		buf_printf(out, "conn %d", lane + 1);
}

// Every other lane striped so that a bar's lane shows, and the labels (every
// k-th when the lanes are too thin for all of them to be read).
static void lanes(struct buf *out, const struct geo *g, const struct timeline *t)
{
	buf_addstr(out, "<g class=\"s\">");
	for (int i = 1; i < t->nlanes; i += 2)
		buf_printf(out, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\"/>", px(ML).s, px(lane_y(g, i)).s,
			   px(PW).s, px(g->pitch).s);
	buf_addstr(out, "</g>\n<g class=\"l\">");
	for (int i = 0; i < t->nlanes; i += g->label_step) {
		buf_printf(out, "<text x=\"%s\" y=\"%s\">", px(ML - 6).s, px(lane_y(g, i) + g->pitch / 2 + 3.5).s);
		lane_label(out, t, i);
		buf_addstr(out, "</text>");
	}
	buf_addstr(out, "</g>\n");
	if (t->nlanes == 0 || t->nreqs == 0)
		buf_printf(out, "<text x=\"%s\" y=\"%s\" class=\"c m\">no requests</text>\n", px(ML + PW / 2).s,
			   px(PT + (t->nlanes ? g->ph / 2 + 4 : 16)).s);
}

// The tooltip: which bytes of which blob, when, and how it ended.
static void tooltip(struct buf *out, const struct timeline *t, const struct timeline_req *r)
{
	buf_addstr(out, "<title>");
	short_digest(out, t->blobs[r->blob].digest);
	buf_printf(out, " bytes %llu-", (unsigned long long)r->offset);
	if (r->len > 0 && r->len - 1 <= UINT64_MAX - r->offset)
		buf_printf(out, "%llu", (unsigned long long)(r->offset + r->len - 1));
	buf_printf(out, "\n%llu bytes received\nstart %.3f s, first byte ", (unsigned long long)r->bytes, r->start);
	if (r->first >= 0)
		buf_printf(out, "%.3f s", r->first);
	else
		buf_addstr(out, "none");
	buf_printf(out, ", end %.3f s\n", r->end);
	if (r->status)
		buf_printf(out, "HTTP %d", r->status);
	else
		buf_addstr(out, "no HTTP status");
	static const char *const kinds[] = { "", "retry", "redirect", "dropped" };
	if (r->kind != TIMELINE_OK)
		buf_printf(out, "\n%s", kinds[r->kind]);
	if (r->note) {
		buf_addstr(out, r->kind != TIMELINE_OK ? ": " : "\n");
		esc(out, r->note, 200);
	}
	buf_addstr(out, "</title>");
}

// A bar or a legend swatch, in blob colour unless colour < 0. A y of 0 is
// left out: the bars' lane groups carry it, once per lane, not per bar.
static void rect(struct buf *out, const char *cls, int colour, double x, double y, double w, double h)
{
	buf_addstr(out, "<rect");
	if (colour >= 0)
		buf_printf(out, " class=\"c%d%s%s\"", colour, *cls ? " " : "", cls);
	else if (*cls)
		buf_printf(out, " class=\"%s\"", cls);
	buf_printf(out, " x=\"%s\"", px(x).s);
	if (y != 0)
		buf_printf(out, " y=\"%s\"", px(y).s);
	buf_printf(out, " width=\"%s\" height=\"%s\"/>", px(w).s, px(h).s);
}

// The span of a request on the x axis: waiting (sent .. first byte) and body
// (first byte .. end), with a minimum width so that none disappears.
struct span {
	double x0, xf, x1; // xf < 0: no body
};

static struct span span_of(const struct geo *g, const struct timeline_req *r)
{
	struct span s;
	s.x0 = xat(g, r->start);
	s.x1 = xat(g, r->end);
	if (s.x1 < s.x0)
		s.x1 = s.x0;
	s.xf = -1;
	if (r->first >= 0) {
		s.xf = xat(g, r->first);
		s.xf = s.xf < s.x0 ? s.x0 : s.xf > s.x1 ? s.x1 : s.xf;
	}
	if (s.x1 - s.x0 < BAR_MIN) {
		s.x1 = s.x0 + BAR_MIN;
		if (s.xf >= 0)
			s.xf = s.x0;
	} else if (s.xf >= 0 && s.x1 - s.xf < BAR_MIN) {
		s.xf = s.x1 - BAR_MIN;
	}
	// A wait under half a pixel would be a smear beside the body (and, in a
	// big chart, a megabyte of rects): the tooltip still has its time.
	if (s.xf >= 0 && s.xf - s.x0 < BAR_MIN)
		s.xf = s.x0;
	return s;
}

static void bar(struct buf *out, const struct geo *g, const struct timeline *t, const struct timeline_req *r)
{
	static const char *const kinds[] = { "req", "req rt", "req rd", "req ot" };
	struct span s = span_of(g, r);
	// The kinds draw in their own colour: the blob's is left out.
	int colour = r->kind == TIMELINE_OK ? (int)((size_t)r->blob % NPALETTE) : -1;
	buf_printf(out, "<g class=\"%s\">", kinds[r->kind]);
	tooltip(out, t, r);
	if (s.xf < 0 || s.xf > s.x0)
		rect(out, "w", colour, s.x0, 0, (s.xf >= 0 ? s.xf : s.x1) - s.x0, g->barh);
	if (s.xf >= 0)
		rect(out, "", colour, s.xf, 0, s.x1 - s.xf, g->barh);
	buf_addstr(out, "</g>\n");
}

// The bars lane by lane (in the order given within a lane), each lane a group
// that holds the lane's y once.
static void bars(struct buf *out, const struct geo *g, const struct timeline *t)
{
	size_t *first = xcalloc((size_t)t->nlanes + 1, sizeof(*first));
	size_t *order = xcalloc(t->nreqs + 1, sizeof(*order));
	for (size_t i = 0; i < t->nreqs; i++)
		first[t->reqs[i].lane + 1]++;
	for (int l = 0; l < t->nlanes; l++)
		first[l + 1] += first[l];
	for (size_t i = 0; i < t->nreqs; i++)
		order[first[t->reqs[i].lane]++] = i; // first[l] ends as lane l+1's start
	buf_addstr(out, "<g id=\"requests\">\n");
	for (int l = 0; l < t->nlanes; l++) {
		size_t begin = l ? first[l - 1] : 0;
		if (begin == first[l])
			continue;
		// The lane's group names its connection in full (the visible label may be cut).
		buf_printf(out, "<g class=\"lane\" data-lane=\"");
		if (t->lane_labels && t->lane_labels[l])
			esc(out, t->lane_labels[l], 256);
		else
			buf_printf(out, "conn %d", l + 1);
		buf_printf(out, "\" transform=\"translate(0 %s)\">\n", px(lane_y(g, l) + (g->pitch - g->barh) / 2).s);
		for (size_t k = begin; k < first[l]; k++)
			bar(out, g, t, &t->reqs[order[k]]);
		buf_addstr(out, "</g>\n");
	}
	buf_addstr(out, "</g>\n");
	free(order);
	free(first);
}

// Retry and redirect marks, after all bars so that none hides under the next
// request on the same connection.
static void marks(struct buf *out, const struct geo *g, const struct timeline *t)
{
	double m = g->barh * 0.45;
	m = m < 2.5 ? 2.5 : m > 4.5 ? 4.5 : m;
	buf_addstr(out, "<g id=\"marks\">");
	for (size_t i = 0; i < t->nreqs; i++) {
		const struct timeline_req *r = &t->reqs[i];
		if (r->kind != TIMELINE_RETRY && r->kind != TIMELINE_REDIRECT)
			continue;
		struct span s = span_of(g, r);
		double y = lane_y(g, r->lane) + g->pitch / 2;
		if (r->kind == TIMELINE_RETRY)
			buf_printf(out, "<path class=\"xm\" d=\"M%s %sl%s %sm0 -%sl-%s %s\"/>", px(s.x1 - m).s,
				   px(y - m).s, px(2 * m).s, px(2 * m).s, px(2 * m).s, px(2 * m).s, px(2 * m).s);
		else
			buf_printf(out, "<path class=\"dm\" d=\"M%s %sl%s %sl-%s %sl-%s -%sz\"/>", px(s.x0).s,
				   px(y - m - 1).s, px(m + 1).s, px(m + 1).s, px(m + 1).s, px(m + 1).s, px(m + 1).s,
				   px(m + 1).s);
	}
	buf_addstr(out, "</g>\n");
}

// Spreads the bytes of r evenly over the time they arrived in.
static void spread(double *bins, int nbins, double bw, const struct geo *g, const struct timeline_req *r)
{
	if (r->bytes == 0)
		return;
	double a = clampt(g, r->first >= 0 ? r->first : r->start), b = clampt(g, r->end);
	if (b < a)
		b = a;
	int ia = (int)(a / bw), ib = (int)(b / bw);
	ia = ia >= nbins ? nbins - 1 : ia;
	ib = ib >= nbins ? nbins - 1 : ib;
	if (ia == ib) {
		bins[ia] += (double)r->bytes;
		return;
	}
	for (int i = ia; i <= ib; i++) {
		double lo = i * bw > a ? i * bw : a, hi = (i + 1) * bw < b ? (i + 1) * bw : b;
		if (hi > lo)
			bins[i] += (double)r->bytes * (hi - lo) / (b - a);
	}
}

// The throughput over time, in MB/s per bin, with its own y axis.
static void throughput(struct buf *out, const struct geo *g, const struct timeline *t)
{
	double bins[BINS_MAX] = { 0 }, total = 0, peak = 0;
	int nbins = BINS_MAX;
	if (g->dur / BINS_MAX < BIN_MIN)
		nbins = (int)(g->dur / BIN_MIN) > 1 ? (int)(g->dur / BIN_MIN) : 1;
	double bw = g->dur / nbins;
	for (size_t i = 0; i < t->nreqs; i++) {
		spread(bins, nbins, bw, g, &t->reqs[i]);
		total += (double)t->reqs[i].bytes;
	}
	for (int i = 0; i < nbins; i++) {
		bins[i] = bins[i] / bw / 1e6;
		peak = bins[i] > peak ? bins[i] : peak;
	}
	struct ticks tk = nice(peak / 4, true);
	int n = (int)(peak / tk.step);
	n += n * tk.step < peak;
	n = n < 1 ? 1 : n;
	double ymax = n * tk.step, bottom = g->tt + TH;
	buf_addstr(out, "<g class=\"g\">");
	for (int i = 1; i <= n; i++)
		buf_printf(out, "<path d=\"M%s %sH%s\"/>", px(ML - 4).s, px(bottom - TH * i / n).s, px(ML + PW).s);
	buf_addstr(out, "</g>\n<g class=\"t e\">");
	for (int i = 0; i <= n; i++)
		buf_printf(out, "<text x=\"%s\" y=\"%s\">%.*f</text>", px(ML - 7).s, px(bottom - TH * i / n + 3.5).s,
			   tk.dec, i * tk.step);
	buf_printf(out, "</g>\n<text transform=\"translate(%s %s) rotate(-90)\" class=\"c m\">MB/s</text>\n",
		   px(ML - 48).s, px(g->tt + TH / 2).s);
	// Steps, not a smoothed line: a bin is an average, and steps say so.
	struct buf d;
	buf_init(&d, 64 << 10);
	buf_printf(&d, "M%s %s", px(ML).s, px(bottom).s);
	for (int i = 0; i < nbins; i++)
		buf_printf(&d, "V%sH%s", px(bottom - TH * bins[i] / ymax).s, px(ML + PW * (i + 1) / nbins).s);
	buf_printf(out, "<path class=\"ta\" d=\"%sV%sz\"/>\n<path class=\"tp\" d=\"%s\"/>\n", buf_str(&d),
		   px(bottom).s, buf_str(&d));
	buf_release(&d);
	double mean = total / g->dur / 1e6;
	if (mean > 0)
		buf_printf(out, "<path class=\"mn\" d=\"M%s %sH%s\"/>\n", px(ML).s, px(bottom - TH * mean / ymax).s,
			   px(ML + PW).s);
	buf_printf(out,
		   "<text x=\"%s\" y=\"%s\" font-weight=\"bold\">throughput</text>"
		   "<text x=\"%s\" y=\"%s\" class=\"e m\">mean %.2f MB/s (dashed) \xc2\xb7 peak %.2f MB/s "
		   "\xc2\xb7 %d bins of %.3f s</text>\n",
		   px(ML).s, px(g->tt - 7).s, px(ML + PW).s, px(g->tt - 7).s, mean, peak, nbins, bw);
	buf_printf(out, "<rect class=\"f\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\"/>\n", px(ML).s, px(g->tt).s,
		   px(PW).s, px(TH).s);
}

// Where the legend's entry i goes: a grid below everything, so that it never
// covers a bar.
static void slot(const struct geo *g, size_t i, double *x, double *y)
{
	*x = 20 + (double)(i % LEGEND_COLS) * LEGEND_COL_W;
	*y = g->lt + (double)(i / LEGEND_COLS) * 18;
	if (i / LEGEND_COLS == g->legend_rows - 1 && g->legend_rows > 1)
		*y += 6; // the marks' row apart from the blobs'
}

static void legend(struct buf *out, const struct geo *g, const struct timeline *t)
{
	double x, y;
	size_t i;
	buf_addstr(out, "<g id=\"legend\">\n");
	for (i = 0; i < t->nblobs && i < LEGEND_BLOBS; i++) {
		slot(g, i, &x, &y);
		buf_printf(out, "<rect class=\"c%zu\" x=\"%s\" y=\"%s\" width=\"12\" height=\"10\"/><text x=\"%s\" y=\"%s\">",
			   i % NPALETTE, px(x).s, px(y - 9).s, px(x + 17).s, px(y).s);
		short_digest(out, t->blobs[i].digest);
		buf_addstr(out, " ");
		size_text(out, (double)t->blobs[i].size);
		buf_addstr(out, "</text>\n");
	}
	if (t->nblobs > LEGEND_BLOBS) {
		slot(g, i++, &x, &y);
		buf_printf(out, "<text x=\"%s\" y=\"%s\" class=\"m\">+%zu more blobs (colours repeat)</text>\n",
			   px(x).s, px(y).s, t->nblobs - LEGEND_BLOBS);
	}
	// The marks' row, always the last.
	i = (g->legend_rows - 1) * LEGEND_COLS;
	static const char *const keys[] = { "waiting for the first byte", "receiving the body", "retry",
					    "redirect", "dropped", "resolve (auth, manifests)" };
	for (size_t k = 0; k < 6; k++) {
		slot(g, i + k, &x, &y);
		double cy = y - 4;
		switch (k) {
		case 0: rect(out, "w", 0, x, y - 9, 12, 10); break;
		case 1: rect(out, "", 0, x, y - 9, 12, 10); break;
		case 2:
			buf_printf(out, "<g class=\"rt\">");
			rect(out, "", -1, x, y - 9, 8, 10);
			buf_printf(out, "</g><path class=\"xm\" d=\"M%s %sl7 7m0 -7l-7 7\"/>", px(x + 5).s, px(cy - 3.5).s);
			break;
		case 3:
			buf_printf(out, "<path class=\"dm\" d=\"M%s %sl5 5l-5 5l-5 -5z\"/>", px(x + 6).s, px(cy - 5).s);
			break;
		case 4:
			buf_printf(out, "<g class=\"ot\">");
			rect(out, "", -1, x, y - 9, 12, 10);
			buf_addstr(out, "</g>");
			break;
		default:
			buf_printf(out, "<rect x=\"%s\" y=\"%s\" width=\"12\" height=\"10\" fill=\"url(#hz)\" "
					"stroke=\"#bbb\"/>", px(x).s, px(y - 9).s);
		}
		buf_printf(out, "<text x=\"%s\" y=\"%s\">%s</text>\n", px(x + 17).s, px(y).s, keys[k]);
	}
	buf_addstr(out, "</g>\n");
}

int timeline_svg(struct buf *out, const struct timeline *t, struct err *e)
{
	if (check(t, e) < 0)
		return -1;
	size_t len0 = out->len;
	bool toobig0 = out->toobig;
	struct geo g;
	layout(&g, t);
	head(out, &g, t);
	summary(out, &g, t);
	lanes(out, &g, t);
	resolve(out, &g, t);
	xaxis(out, &g);
	buf_printf(out, "<rect class=\"f\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\"/>\n", px(ML).s, px(PT).s,
		   px(PW).s, px(g.ph).s);
	bars(out, &g, t);
	marks(out, &g, t);
	throughput(out, &g, t);
	legend(out, &g, t);
	buf_addstr(out, "</svg>\n");
	if (out->toobig) {
		// Leave out as it was: half a document is no use to anyone.
		out->len = len0;
		out->toobig = toobig0;
		if (out->data)
			out->data[len0] = '\0';
		return err_set(e, ERR_INTERNAL, "timeline larger than %zu bytes", out->max);
	}
	return 0;
}

int timeline_write(const char *path, const struct timeline *t, struct err *e)
{
	struct buf b;
	buf_init(&b, TIMELINE_MAX);
	int r = timeline_svg(&b, t, e);
	if (r == 0)
		r = file_write_atomic(path, b.data, b.len, e);
	buf_release(&b);
	return r;
}
