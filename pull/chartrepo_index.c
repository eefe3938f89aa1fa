// SPDX-License-Identifier: Apache-2.0
// index.yaml as libyaml's event stream: a recursive descent three levels deep
// (the document, entries, one chart's versions); everything else is skipped by
// counting nesting, so memory is the document's bytes and the one chart's
// versions, never a tree.
#include "pull/chartrepo.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/log.h"
#include "util/mem.h"

struct yrd {
	yaml_parser_t p;
	yaml_event_t ev;
	bool have; // ev holds an event to delete
	struct err *e;
};

static int yrd_next(struct yrd *y)
{
	if (y->have)
		yaml_event_delete(&y->ev);
	y->have = false;
	if (!yaml_parser_parse(&y->p, &y->ev))
		return err_set(y->e, ERR_INTEGRITY, "index.yaml is not YAML: %s at line %zu", y->p.problem ? y->p.problem
			       : "a syntax error", (size_t)y->p.problem_mark.line + 1);
	y->have = true;
	return 0;
}

static int yrd_expect(struct yrd *y, yaml_event_type_t t, const char *what)
{
	if (yrd_next(y) < 0)
		return -1;
	if (y->ev.type != t)
		return err_set(y->e, ERR_INTEGRITY, "index.yaml: %s expected at line %zu", what,
			       (size_t)y->ev.start_mark.line + 1);
	return 0;
}

// The value whose first event is current: a scalar or alias is one event, a
// mapping or a sequence runs to its matching end.
static int yrd_skip(struct yrd *y)
{
	size_t depth = 0;
	for (;;) {
		switch (y->ev.type) {
		case YAML_MAPPING_START_EVENT: case YAML_SEQUENCE_START_EVENT: depth++; break;
		case YAML_MAPPING_END_EVENT: case YAML_SEQUENCE_END_EVENT: depth--; break;
		case YAML_SCALAR_EVENT: case YAML_ALIAS_EVENT: break;
		default: return err_set(y->e, ERR_INTEGRITY, "index.yaml ends inside a value");
		}
		if (depth == 0)
			return 0;
		if (yrd_next(y) < 0)
			return -1;
	}
}

// The current event as a string scalar of at most CHARTREPO_SCALAR_MAX bytes;
// YAML's null (~, null, empty, unquoted) as NULL.
static int yrd_scalar(struct yrd *y, const char *field, char **out)
{
	if (y->ev.type != YAML_SCALAR_EVENT)
		return err_set(y->e, ERR_INTEGRITY, "index.yaml: '%s' is not a string at line %zu", field,
			       (size_t)y->ev.start_mark.line + 1);
	const char *v = (const char *)y->ev.data.scalar.value;
	size_t n = y->ev.data.scalar.length;
	if (n > CHARTREPO_SCALAR_MAX || strlen(v) != n)
		return err_set(y->e, ERR_INTEGRITY, "index.yaml: '%s' at line %zu is too long or holds a NUL", field,
			       (size_t)y->ev.start_mark.line + 1);
	bool null = y->ev.data.scalar.plain_implicit && (n == 0 || !strcmp(v, "~") || !strcmp(v, "null") ||
							 !strcmp(v, "Null") || !strcmp(v, "NULL"));
	free(*out);
	*out = null ? NULL : xstrdup(v);
	return 0;
}

// item() for each element of the sequence whose start is current (what names
// it in the error when it is not a sequence).
static int yrd_each(struct yrd *y, const char *what, int (*item)(struct yrd *y, void *ud), void *ud)
{
	if (y->ev.type != YAML_SEQUENCE_START_EVENT)
		return err_set(y->e, ERR_INTEGRITY, "index.yaml: %s is not a list at line %zu", what,
			       (size_t)y->ev.start_mark.line + 1);
	for (;;) {
		if (yrd_next(y) < 0)
			return -1;
		if (y->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (item(y, ud) < 0)
			return -1;
	}
}

// urls: a list of strings; the first is Helm's.
static int yrd_url(struct yrd *y, void *ud)
{
	char **url = ud;
	return *url ? yrd_skip(y) : yrd_scalar(y, "urls", url);
}

// pair() for each key (a string, or NULL for YAML's null) and value of the
// mapping whose start is current; keys are named what in errors.
static int yrd_pairs(struct yrd *y, const char *what, int (*pair)(struct yrd *y, const char *key, void *ud), void *ud)
{
	for (;;) {
		if (yrd_next(y) < 0)
			return -1;
		if (y->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		_cleanup_free_ char *key = NULL;
		if (yrd_scalar(y, what, &key) < 0 || yrd_next(y) < 0 || pair(y, key, ud) < 0)
			return -1;
	}
}

static int yrd_version_field(struct yrd *y, const char *key, void *ud)
{
	struct chartrepo_version *v = ud;
	return !key ? yrd_skip(y)
	       : !strcmp(key, "version") ? yrd_scalar(y, "version", &v->version)
	       : !strcmp(key, "digest") ? yrd_scalar(y, "digest", &v->digest)
	       : !strcmp(key, "urls") ? yrd_each(y, "'urls'", yrd_url, &v->url)
	       : yrd_skip(y);
}

// One version's mapping, current at its start.
static int yrd_version(struct yrd *y, struct chartrepo_version *v)
{
	if (y->ev.type != YAML_MAPPING_START_EVENT)
		return err_set(y->e, ERR_INTEGRITY, "index.yaml: a version that is not a mapping at line %zu",
			       (size_t)y->ev.start_mark.line + 1);
	size_t line = (size_t)y->ev.start_mark.line + 1;
	if (yrd_pairs(y, "key", yrd_version_field, v) < 0)
		return -1;
	if (!v->version || !v->url) // Helm drops such entries when it loads the index
		log_warn("index.yaml: the entry at line %zu has no %s: skipped, as Helm skips it", line,
			 v->version ? "URL" : "version");
	return 0;
}

static int yrd_version_item(struct yrd *y, void *ud)
{
	struct chartrepo_versions *out = ud;
	if (y->ev.type == YAML_SCALAR_EVENT) { // a null entry: Helm drops it
		_cleanup_free_ char *v = NULL;
		if (yrd_scalar(y, "version entry", &v) < 0)
			return -1;
		if (!v)
			return 0;
	}
	if (out->n == CHARTREPO_VERSIONS_MAX)
		return err_set(y->e, ERR_INTEGRITY, "index.yaml lists more than %d versions of the chart",
			       CHARTREPO_VERSIONS_MAX);
	out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
	struct chartrepo_version *v = &out->v[out->n++];
	memset(v, 0, sizeof(*v));
	if (yrd_version(y, v) < 0)
		return -1;
	if (!v->version || !v->url) {
		free(v->version);
		free(v->url);
		free(v->digest);
		out->n--;
	}
	return 0;
}

struct yrd_want {
	const char *name;
	struct chartrepo_versions *out;
	bool found, entries;
};

// entries: chart name -> list of versions; only name's list is read.
static int yrd_entry(struct yrd *y, const char *key, void *ud)
{
	struct yrd_want *w = ud;
	bool mine = key && !strcmp(key, w->name);
	if (mine && w->found)
		return err_set(y->e, ERR_INTEGRITY, "index.yaml lists chart '%.200s' twice", w->name);
	w->found |= mine;
	return mine ? yrd_each(y, "the chart's entry", yrd_version_item, w->out) : yrd_skip(y);
}

// The document's top level: entries is read, the rest skipped.
static int yrd_top(struct yrd *y, const char *key, void *ud)
{
	struct yrd_want *w = ud;
	if (!key || strcmp(key, "entries") != 0)
		return yrd_skip(y);
	if (w->entries)
		return err_set(y->e, ERR_INTEGRITY, "index.yaml has 'entries' twice");
	w->entries = true;
	if (y->ev.type != YAML_MAPPING_START_EVENT)
		return err_set(y->e, ERR_INTEGRITY, "index.yaml: 'entries' is not a mapping");
	return yrd_pairs(y, "chart name", yrd_entry, w);
}

static int yrd_document(struct yrd *y, struct yrd_want *w)
{
	if (yrd_expect(y, YAML_STREAM_START_EVENT, "a document") < 0 ||
	    yrd_expect(y, YAML_DOCUMENT_START_EVENT, "a document") < 0 ||
	    yrd_expect(y, YAML_MAPPING_START_EVENT, "a mapping") < 0 || yrd_pairs(y, "key", yrd_top, w) < 0)
		return -1;
	if (!w->entries)
		return err_set(y->e, ERR_INTEGRITY, "index.yaml has no 'entries': not a chart repository's index");
	return yrd_expect(y, YAML_DOCUMENT_END_EVENT, "the document's end");
}

void chartrepo_versions_release(struct chartrepo_versions *vs)
{
	for (size_t i = 0; i < vs->n; i++) {
		free(vs->v[i].version);
		free(vs->v[i].url);
		free(vs->v[i].digest);
	}
	free(vs->v);
	vs->v = NULL;
	vs->n = 0;
}

int chartrepo_index_read(const char *data, size_t len, const char *name, struct chartrepo_versions *out,
			 struct err *e)
{
	memset(out, 0, sizeof(*out));
	struct yrd y = {.e = e};
	if (!yaml_parser_initialize(&y.p))
		return err_set(e, ERR_INTERNAL, "cannot start the YAML parser");
	yaml_parser_set_input_string(&y.p, (const unsigned char *)data, len);
	struct yrd_want w = {.name = name, .out = out};
	int r = yrd_document(&y, &w);
	bool found = w.found;
	if (y.have)
		yaml_event_delete(&y.ev);
	yaml_parser_delete(&y.p);
	if (r == 0 && !found)
		r = err_set(e, ERR_NOTFOUND, "the repository's index has no chart '%.200s'", name);
	if (r == 0 && out->n == 0)
		r = err_set(e, ERR_NOTFOUND, "the repository's index lists no version of chart '%.200s'", name);
	if (r < 0)
		chartrepo_versions_release(out);
	return r;
}
