// SPDX-License-Identifier: Apache-2.0
#include "unpack/model.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "oci/digest.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

#define KITOPS_CONFIG "application/vnd.kitops.modelkit.config.v1+json"
#define KITOPS_LAYER "application/vnd.kitops.modelkit."
#define KITFILE_MAX (16u << 20) // the Kitfile as YAML
#define KITFILE_DEPTH 64        // nesting of the Kitfile's parameters

// The two forms of ModelPack: the names each uses (the annotations' for
// messages: oci/manifest.c reads either key).
static const struct modelpack_form {
	enum unpack_model_kind kind;
	const char *artifact, *config, *layer; // artifactType, config and layer media types
	const char *diff_ids;                  // the key of modelfs's list
	const char *filepath, *metadata;       // the layer annotations
} modelpack_forms[] = {
	{UNPACK_MODEL_MODELPACK, "application/vnd.cncf.model.manifest.v1+json",
	 "application/vnd.cncf.model.config.v1+json", "application/vnd.cncf.model.", "diffIds", "org.cncf.model.filepath",
	 "org.cncf.model.file.metadata+json"},
	{UNPACK_MODEL_MODELPACK_CNAI, "application/vnd.cnai.model.manifest.v1+json",
	 "application/vnd.cnai.model.config.v1+json", "application/vnd.cnai.model.", "diff_ids", "org.cnai.model.filepath",
	 "org.cnai.model.file.metadata+json"},
};

// The form of a ModelPack kind (the current one for any other).
static const struct modelpack_form *modelpack_form_of(enum unpack_model_kind kind)
{
	for (size_t i = 1; i < sizeof(modelpack_forms) / sizeof(modelpack_forms[0]); i++)
		if (modelpack_forms[i].kind == kind)
			return &modelpack_forms[i];
	return &modelpack_forms[0];
}

enum unpack_model_kind unpack_model_kind(const struct oci_manifest *m)
{
	if (m->kind != OCI_KIND_MANIFEST)
		return UNPACK_MODEL_NONE;
	const char *ct = m->config.media_type ? m->config.media_type : "";
	for (size_t i = 0; i < sizeof(modelpack_forms) / sizeof(modelpack_forms[0]); i++) {
		const struct modelpack_form *f = &modelpack_forms[i];
		if ((m->artifact_type && strcmp(m->artifact_type, f->artifact) == 0) || strcmp(ct, f->config) == 0)
			return f->kind;
	}
	if (strcmp(ct, KITOPS_CONFIG) == 0)
		return UNPACK_MODEL_KITOPS;
	return UNPACK_MODEL_NONE;
}

// The part of a layer media type after "TYPE.v1.": raw, or tar with its
// compression; -1 for anything else.
static int model_suffix(const char *s, struct unpack_model_layer *l)
{
	static const struct {
		const char *name;
		bool raw;
		enum unpack_compression c;
	} sfx[] = {{"raw", true, UNPACK_TAR},
		   {"tar", false, UNPACK_TAR},
		   {"tar+gzip", false, UNPACK_GZIP},
		   {"tar+zstd", false, UNPACK_ZSTD}};
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (strcmp(s, sfx[i].name) == 0) {
			l->raw = sfx[i].raw;
			l->c = sfx[i].c;
			return 0;
		}
	return -1;
}

// A layer media type PREFIX + one of types + ".v1." + suffix: the index of
// the type in *type, raw/compression in l; -1 otherwise (raw allowed or not).
static int model_media_type(const char *mt, const char *prefix, const char *const *types, bool raw_ok,
			    size_t *type, struct unpack_model_layer *l)
{
	size_t pn = strlen(prefix);
	if (!mt || strncmp(mt, prefix, pn) != 0)
		return -1;
	for (size_t i = 0; types[i]; i++) {
		size_t tn = strlen(types[i]);
		const char *rest = mt + pn;
		if (strncmp(rest, types[i], tn) != 0 || strncmp(rest + tn, ".v1.", 4) != 0)
			continue;
		if (model_suffix(rest + tn + 4, l) < 0 || (l->raw && !raw_ok))
			return -1;
		*type = i;
		return 0;
	}
	return -1;
}

// A path from the package as a clean relative name inside DIR (the top
// allowed when top_ok); NULL with ERR_INTEGRITY otherwise.
static char *model_clean(const char *path, bool top_ok, const char *what, size_t i, struct err *e)
{
	char *c = path ? unpack_clean_name(path) : NULL;
	if (c && (*c || top_ok) && strncmp(c, ".imgpull-", 9) != 0)
		return c;
	free(c);
	if (!path)
		err_set(e, ERR_INTEGRITY, "model layer %zu: no %s", i + 1, what);
	else
		err_set(e, ERR_INTEGRITY, "model layer %zu: %s '%.200s' refused: absolute, '..', empty or a name of imgpull's",
			i + 1, what, path);
	return NULL;
}

// ERR_INTEGRITY when layer i's path repeats an earlier layer's.
static int model_unique(const struct unpack_model_plan *p, size_t i, struct err *e)
{
	const char *n = p->layers[i].label;
	for (size_t k = 0; n && *n && k < i; k++)
		if (p->layers[k].label && strcmp(p->layers[k].label, n) == 0)
			return err_set(e, ERR_INTEGRITY, "model layers %zu and %zu have the same path '%.200s'", k + 1, i + 1,
				       n);
	return 0;
}

// A digest string of the config (NULL when absent); -1 when malformed.
static int model_digest(const cJSON *o, const char *key, const char **out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || oci_digest_check(v->valuestring, ERR_INTEGRITY, e) < 0)
		return err_set(e, ERR_INTEGRITY, "model config: '%s' is not a digest", key);
	*out = v->valuestring;
	return 0;
}

// An RFC 3339 time as Go's encoding/json writes a time.Time
// ("2025-01-01T00:00:00.5+08:00"); -1 when malformed.
int unpack_model_rfc3339(const char *s, int64_t *sec, long *nsec)
{
	int y, mo, d, h, mi, se, n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 19 || mo < 1 ||
	    mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || y < 0 || mo < 0 || h < 0 || mi < 0 || se < 0)
		return -1;
	const char *p = s + 19;
	long frac = 0, scale = 1000000000;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -1;
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (scale > 1)
				frac += (scale /= 10) * (*p - '0');
	}
	int off = 0;
	if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh, om, k = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5 || oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		off = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
	} else if (strcmp(p, "Z") != 0)
		return -1;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = se};
	*sec = (int64_t)timegm(&tm) - off;
	*nsec = frac;
	return 0;
}

// A raw layer's file metadata annotation (JSON, named key): its mode and mtime.
static int modelpack_metadata(const char *text, const char *key, struct unpack_model_layer *l, size_t i,
			      struct err *e)
{
	cJSON *o = cJSON_Parse(text);
	const cJSON *mode = cJSON_GetObjectItemCaseSensitive(o, "mode");
	const cJSON *mtime = cJSON_GetObjectItemCaseSensitive(o, "mtime");
	int r = 0;
	bool bad_mode = mode && (!cJSON_IsNumber(mode) || mode->valuedouble < 0 || mode->valuedouble > 4294967295.0);
	bool bad_mtime = mtime && (!cJSON_IsString(mtime) ||
				   unpack_model_rfc3339(mtime->valuestring, &l->mtime_sec, &l->mtime_nsec) < 0);
	if (!cJSON_IsObject(o) || bad_mode || bad_mtime)
		r = err_set(e, ERR_INTEGRITY, "model layer %zu: %s is malformed", i + 1, key);
	else {
		l->mode = mode ? (unsigned)mode->valuedouble & 0777u : 0;
		// Go's zero time (0001-01-01T00:00:00Z) means none, as modctl reads it.
		l->has_mtime = mtime && strncmp(mtime->valuestring, "0001-01-01T00:00:00", 19) != 0;
	}
	cJSON_Delete(o);
	return r;
}

// ModelPack: modelfs.diffIds (diff_ids in the older form), one per layer
// (absent: *ids NULL).
static int modelpack_diff_ids(const cJSON *cfg, const char *key, const cJSON **ids, size_t nlayers, struct err *e)
{
	*ids = NULL;
	const cJSON *fs = cJSON_GetObjectItemCaseSensitive(cfg, "modelfs");
	if (!fs)
		return 0;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(fs, key);
	if (!cJSON_IsObject(fs) || !cJSON_IsArray(d))
		return err_set(e, ERR_INTEGRITY, "model config: modelfs.%s is not an array", key);
	if ((size_t)cJSON_GetArraySize(d) != nlayers)
		return err_set(e, ERR_INTEGRITY, "model config: modelfs.%s names %d layers, the manifest %zu", key,
			       cJSON_GetArraySize(d), nlayers);
	*ids = d;
	return 0;
}

static int modelpack_plan(const struct oci_manifest *m, const cJSON *cfg, const struct modelpack_form *f,
			  struct unpack_model_plan *p, struct err *e)
{
	static const char *const types[] = {"weight.config", "weight", "doc", "code", "dataset", NULL};
	const cJSON *ids;
	if (modelpack_diff_ids(cfg, f->diff_ids, &ids, m->nlayers, e) < 0)
		return -1;
	const cJSON *id = ids ? ids->child : NULL;
	for (size_t i = 0; i < m->nlayers; i++, id = id ? id->next : NULL) {
		const struct oci_descriptor *d = &m->layers[i];
		struct unpack_model_layer *l = &p->layers[i];
		size_t t;
		if (model_media_type(d->media_type, f->layer, types, true, &t, l) < 0)
			return err_set(e, ERR_USAGE, "model layer %zu (%s): media type '%.100s' is not a ModelPack layer",
				       i + 1, d->digest, d->media_type ? d->media_type : "");
		// A raw layer is the file its annotation names; a tar holds its own
		// names (modctl extracts it at the top), the annotation saying which:
		// a clean one too, and no two alike.
		if (d->filepath && !(l->label = model_clean(d->filepath, false, f->filepath, i, e)))
			return -1;
		if (l->raw && !l->label)
			return err_set(e, ERR_INTEGRITY, "model layer %zu: a raw layer without %s", i + 1, f->filepath);
		l->path = xstrdup(l->raw ? l->label : "");
		if (l->raw && d->file_metadata && modelpack_metadata(d->file_metadata, f->metadata, l, i, e) < 0)
			return -1;
		if (model_unique(p, i, e) < 0)
			return -1;
		if (id && (!cJSON_IsString(id) || oci_digest_check(id->valuestring, ERR_INTEGRITY, e) < 0))
			return err_set(e, ERR_INTEGRITY, "model config: modelfs.%s[%zu] is not a digest", f->diff_ids, i);
		if (id && !l->raw && strcmp(id->valuestring, d->digest) != 0)
			l->diff_id = xstrdup(id->valuestring);
	}
	return 0;
}

// A dataset entry with a remotePath (later kits: S3 or a ModelKit): no layer.
static bool kitops_remote(const cJSON *o)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "remotePath");
	return cJSON_IsString(r) && *r->valuestring;
}

// KitOps: the Kitfile entry of layer type t, the counters of the list types
// advanced as kit unpack advances them (past remote datasets, which have no
// layer). NULL with ERR_INTEGRITY when missing.
static const cJSON *kitops_entry(const cJSON *cfg, size_t t, size_t idx[5], size_t i, struct err *e)
{
	static const char *const lists[] = {NULL, "parts", "datasets", "code", "docs"};
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(cfg, "model");
	const cJSON *o;
	if (t == 0)
		o = model;
	else {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(t == 1 ? model : cfg, lists[t]);
		do
			o = cJSON_IsArray(arr) ? cJSON_GetArrayItem(arr, (int)idx[t]++) : NULL;
		while (t == 2 && o && kitops_remote(o));
	}
	if (!cJSON_IsObject(o))
		err_set(e, ERR_INTEGRITY, "model layer %zu: the Kitfile has no %s entry for it", i + 1,
			t == 0 ? "model" : lists[t]);
	return cJSON_IsObject(o) ? o : NULL;
}

// One ModelKit layer from its Kitfile entry: with a digest (current kit) the
// tar's names carry the paths and it is extracted at the top; without one
// (older ModelKits) under the directory of the entry's path.
static int kitops_layer(const struct oci_descriptor *d, const cJSON *o, struct unpack_model_layer *l, size_t i,
			struct err *e)
{
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "path");
	if (path && !cJSON_IsString(path))
		return err_set(e, ERR_INTEGRITY, "model layer %zu: its Kitfile path is not a string", i + 1);
	const char *digest, *diff_id;
	if (model_digest(o, "digest", &digest, e) < 0 || model_digest(o, "diffId", &diff_id, e) < 0)
		return -1;
	if (digest && strcmp(digest, d->digest) != 0)
		return err_set(e, ERR_INTEGRITY, "model layer %zu: the Kitfile says digest %s, the manifest %s", i + 1,
			       digest, d->digest);
	if (path && !(l->label = model_clean(path->valuestring, true, "Kitfile path", i, e)))
		return -1;
	if (digest) {
		l->path = xstrdup("");
		l->diff_id = diff_id ? xstrdup(diff_id) : NULL;
		return 0;
	}
	if (!l->label)
		return err_set(e, ERR_INTEGRITY, "model layer %zu: its Kitfile entry has neither a digest nor a path", i + 1);
	_cleanup_free_ char *dir = NULL;
	const char *base;
	unpack_split_name(l->label, &dir, &base);
	l->path = xstrdup(dir);
	return 0;
}

// kit unpack unpacks a ModelKit whose model.path names another ModelKit
// (its parent) after that ModelKit's model and model parts, fetched from its
// registry (recursively, up to 10 deep): an artifact this pull does not fetch.
static int kitops_parent(const cJSON *cfg, struct err *e)
{
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(cfg, "model");
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(model, "path");
	if (!cJSON_IsString(path) || !unpack_model_kit_reference(path->valuestring))
		return 0;
	int n = (int)strcspn(path->valuestring, ","); // kit's extra tags left out
	return err_set(e, ERR_USAGE,
		       "the ModelKit's model.path names another ModelKit, '%.*s', whose model and model parts "
		       "kit unpack adds: fetching a parent ModelKit is not supported (pull that ModelKit on its own)",
		       n > 200 ? 200 : n, path->valuestring);
}

// How many datasets have a remotePath.
static size_t kitops_remotes(const cJSON *cfg)
{
	size_t n = 0;
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(cfg, "datasets");
	for (const cJSON *c = cJSON_IsArray(arr) ? arr->child : NULL; c; c = c->next)
		n += kitops_remote(c);
	return n;
}

static int kitops_plan(const struct oci_manifest *m, const cJSON *cfg, struct unpack_model_plan *p, struct err *e)
{
	static const char *const types[] = {"model", "modelpart", "dataset", "code", "docs", NULL};
	size_t idx[5] = {0};
	if (kitops_parent(cfg, e) < 0)
		return -1;
	p->remote_datasets = kitops_remotes(cfg);
	for (size_t i = 0; i < m->nlayers; i++) {
		const struct oci_descriptor *d = &m->layers[i];
		struct unpack_model_layer *l = &p->layers[i];
		size_t t;
		if (model_media_type(d->media_type, KITOPS_LAYER, types, false, &t, l) < 0)
			return err_set(e, ERR_USAGE, "model layer %zu (%s): media type '%.100s' is not a ModelKit layer",
				       i + 1, d->digest, d->media_type ? d->media_type : "");
		const cJSON *o = kitops_entry(cfg, t, idx, i, e);
		if (!o || kitops_layer(d, o, l, i, e) < 0 || model_unique(p, i, e) < 0)
			return -1;
	}
	return 0;
}

// YAML for a JSON value (the Kitfile): block mappings and sequences, strings
// double-quoted with JSON's escapes (YAML's double-quoted style reads them).
static int yaml_value(struct buf *b, const cJSON *v, int indent, int depth, bool layer_info);

static void yaml_scalar(struct buf *b, const cJSON *v)
{
	char *t = cJSON_PrintUnformatted(v);
	buf_addstr(b, t ? t : "null");
	free(t);
}

// The keys of the Kitfile's entries that kit unpack leaves out (yaml:"-").
static bool yaml_dropped(const cJSON *c, bool layer_info)
{
	return layer_info && (strcmp(c->string, "digest") == 0 || strcmp(c->string, "diffId") == 0);
}

static bool yaml_plain_key(const char *k)
{
	if (!*k)
		return false;
	for (const char *c = k; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
		      (*c == '-' && c != k)))
			return false;
	return true;
}

// Which children are Kitfile entries (their digest and diffId left out).
static bool yaml_entries(const char *key, int depth)
{
	return depth == 0 && (strcmp(key, "code") == 0 || strcmp(key, "datasets") == 0 || strcmp(key, "docs") == 0);
}

static int yaml_object(struct buf *b, const cJSON *v, int indent, int depth, bool layer_info, bool first_inline)
{
	bool first = true;
	for (const cJSON *c = v->child; c; c = c->next) {
		if (yaml_dropped(c, layer_info))
			continue;
		if (!(first && first_inline))
			buf_printf(b, "%*s", indent, "");
		first = false;
		cJSON key = {.type = cJSON_String, .valuestring = c->string};
		if (yaml_plain_key(c->string))
			buf_addstr(b, c->string);
		else
			yaml_scalar(b, &key);
		buf_addstr(b, ":");
		bool child_info = (depth == 0 && strcmp(c->string, "model") == 0) || (depth == 1 && layer_info &&
										      strcmp(c->string, "parts") == 0);
		if (yaml_value(b, c, indent + 2, depth + 1, child_info || yaml_entries(c->string, depth)) < 0)
			return -1;
	}
	return 0;
}

static int yaml_value(struct buf *b, const cJSON *v, int indent, int depth, bool layer_info)
{
	if (depth > KITFILE_DEPTH || b->toobig)
		return -1;
	if ((cJSON_IsObject(v) || cJSON_IsArray(v)) && !v->child) {
		buf_addstr(b, cJSON_IsObject(v) ? " {}\n" : " []\n");
		return 0;
	}
	if (cJSON_IsObject(v)) {
		buf_addstr(b, "\n");
		return yaml_object(b, v, indent, depth, layer_info, false);
	}
	if (!cJSON_IsArray(v)) {
		buf_addstr(b, " ");
		yaml_scalar(b, v);
		buf_addstr(b, "\n");
		return 0;
	}
	buf_addstr(b, "\n");
	for (const cJSON *c = v->child; c; c = c->next) {
		buf_printf(b, "%*s-", indent, "");
		if (cJSON_IsObject(c) && c->child) {
			buf_addstr(b, " ");
			if (yaml_object(b, c, indent + 2, depth + 1, layer_info, true) < 0)
				return -1;
		} else if (yaml_value(b, c, indent + 2, depth + 1, false) < 0)
			return -1;
	}
	return b->toobig ? -1 : 0;
}

// The Kitfile as kit unpack writes it: YAML, without the layers' digests.
static int kitops_kitfile(const cJSON *cfg, struct unpack_model_plan *p, struct err *e)
{
	struct buf b;
	buf_init(&b, KITFILE_MAX);
	int r = yaml_object(&b, cfg, 0, 0, false, false);
	if (r < 0 || b.toobig) {
		buf_release(&b);
		return err_set(e, ERR_INTEGRITY, "model config: the Kitfile nests deeper than %d or is larger than %u bytes",
			       KITFILE_DEPTH, KITFILE_MAX);
	}
	p->config_len = b.len;
	p->config_text = buf_steal(&b);
	return 0;
}

int unpack_model_plan(const struct oci_manifest *m, const char *config, size_t len, struct unpack_model_plan *p,
		      struct err *e)
{
	*p = (struct unpack_model_plan){.kind = unpack_model_kind(m)};
	if (p->kind == UNPACK_MODEL_NONE)
		return err_set(e, ERR_USAGE, "not a model package");
	if (!config || len == 0 || len > OCI_MANIFEST_MAX)
		return err_set(e, ERR_INTEGRITY, "model config: empty or larger than %u bytes", OCI_MANIFEST_MAX);
	cJSON *cfg = cJSON_ParseWithLength(config, len);
	if (!cJSON_IsObject(cfg)) {
		cJSON_Delete(cfg);
		return err_set(e, ERR_INTEGRITY, "model config: not a JSON object");
	}
	p->layers = xcalloc(m->nlayers + 1, sizeof(*p->layers));
	p->nlayers = m->nlayers;
	int r;
	if (p->kind != UNPACK_MODEL_KITOPS) {
		p->config_name = UNPACK_MODEL_CONFIG_FILE;
		r = modelpack_plan(m, cfg, modelpack_form_of(p->kind), p, e);
		if (r == 0) {
			p->config_text = xmalloc(len + 1);
			memcpy(p->config_text, config, len);
			p->config_text[len] = '\0';
			p->config_len = len;
		}
	} else {
		p->config_name = UNPACK_KITFILE;
		r = kitops_plan(m, cfg, p, e);
		if (r == 0)
			r = kitops_kitfile(cfg, p, e);
	}
	cJSON_Delete(cfg);
	if (r < 0)
		unpack_model_plan_release(p);
	return r;
}

void unpack_model_plan_release(struct unpack_model_plan *p)
{
	for (size_t i = 0; p->layers && i < p->nlayers; i++) {
		free(p->layers[i].path);
		free(p->layers[i].diff_id);
		free(p->layers[i].label);
	}
	free(p->layers);
	free(p->config_text);
	*p = (struct unpack_model_plan){0};
}

static uint64_t model_room(const char *dir)
{
	struct statvfs sv;
	return statvfs(dir, &sv) < 0 ? 0 : (uint64_t)sv.f_bavail * sv.f_frsize;
}

// A tar layer extracted in its directory (made beneath DIR, never through a
// link) by the confined layer applier.
static int model_tar(const struct unpack_image *u, int root, const struct oci_descriptor *d,
		     const struct unpack_model_layer *l, bool drop, const char *what, struct unpack_stats *st,
		     struct err *e)
{
	static const char *const reserved[] = {UNPACK_MARKER_DONE, UNPACK_MARKER_BUSY, UNPACK_MODEL_CONFIG_FILE, NULL};
	if (*l->path) {
		int fd = unpack_mkdirs_beneath(root, l->path, what, e);
		if (fd < 0)
			return -1;
		close(fd);
	}
	_cleanup_free_ char *dir = *l->path ? xasprintf("%s/%s", u->rootfs, l->path) : xstrdup(u->rootfs);
	struct unpack_source src;
	if (unpack_image_source(u, d, &src, e) < 0)
		return -1;
	src.drop = drop;
	struct unpack_opts o = {.chown = u->chown, .max_bytes = model_room(u->rootfs), .reserved = reserved};
	int r = unpack_layer(dir, &src, l->c, l->diff_id, what, &o, st, e);
	if (src.fd >= 0)
		close(src.fd);
	if (src.done)
		src.done(src.ud);
	return r;
}

// The config's file, new (a layer that made one of its name: ERR_INTEGRITY).
static int model_config_file(int root, const struct unpack_model_plan *p, struct err *e)
{
	int fd = openat(root, p->config_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(e, errno == EEXIST ? ERR_INTEGRITY : ERR_STORAGE, errno,
			       "model config '%s': cannot create it (a layer holds that name?)", p->config_name);
	int r = file_pwrite_all(fd, p->config_text, p->config_len, 0) < 0
			? err_sys(e, ERR_STORAGE, errno, "model config '%s': cannot write it", p->config_name)
			: 0;
	close(fd);
	return r;
}

// A raw file's mode and mtime from its metadata.
static int model_attrs(int root, const struct unpack_model_layer *l, const char *what, struct err *e)
{
	if (!l->mode && !l->has_mtime)
		return 0;
	int fd = file_open_beneath(root, l->path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return err_sys(e, ERR_STORAGE, errno, "%s: cannot open it", what);
	struct timespec ts[2] = {{.tv_sec = (time_t)l->mtime_sec, .tv_nsec = l->mtime_nsec},
				 {.tv_sec = (time_t)l->mtime_sec, .tv_nsec = l->mtime_nsec}};
	int r = 0;
	if (l->mode && fchmod(fd, l->mode) < 0)
		r = err_sys(e, ERR_STORAGE, errno, "%s: cannot set its mode", what);
	if (r == 0 && l->has_mtime && futimens(fd, ts) < 0)
		r = err_sys(e, ERR_STORAGE, errno, "%s: cannot set its mtime", what);
	close(fd);
	return r;
}

static int model_layers(const struct unpack_image *u, int root, const struct unpack_model_plan *p,
			struct unpack_stats *total, struct err *e)
{
	const struct oci_manifest *m = u->manifest;
	for (size_t i = 0; i < m->nlayers; i++) {
		const struct oci_descriptor *d = &m->layers[i];
		const struct unpack_model_layer *l = &p->layers[i];
		char what[320];
		snprintf(what, sizeof(what), "%s: model layer %zu (%s) '%.150s'", u->name, i + 1, d->digest,
			 l->label ? l->label : l->path);
		struct unpack_stats st = {.entries = 1, .bytes_in = d->size, .bytes_out = d->size};
		bool drop = unpack_image_drops(u, i);
		if (l->raw ? unpack_blob_file(u, root, d, l->path, what, e) || model_attrs(root, l, what, e)
			   : model_tar(u, root, d, l, drop, what, &st, e))
			return -1;
		if (drop) // applied: its blob leaves the temporary layout
			unpack_image_drop_blob(u, d->digest);
		log_info("unpack: layer %zu/%zu %s: %llu entries, %llu bytes from %llu", i + 1, m->nlayers, d->digest,
			 (unsigned long long)st.entries, (unsigned long long)st.bytes_out,
			 (unsigned long long)st.bytes_in);
		total->entries += st.entries;
		total->bytes_in += st.bytes_in;
		total->bytes_out += st.bytes_out;
	}
	return 0;
}

int unpack_model_run(const struct unpack_image *u, struct unpack_stats *total, struct err *e)
{
	struct buf cb;
	buf_init(&cb, OCI_MANIFEST_MAX);
	struct unpack_model_plan p;
	int r = unpack_image_config(u, &cb, e);
	if (r == 0)
		r = unpack_model_plan(u->manifest, buf_str(&cb), cb.len, &p, e);
	buf_release(&cb);
	if (r < 0)
		return err_wrap(e, "%s", u->name);
	if (p.remote_datasets)
		log_warn("%s: %zu remote dataset(s) (the Kitfile's datasets[].remotePath) not unpacked, as kit unpack "
			 "leaves them without --include-remote", u->name, p.remote_datasets);
	int root = open(u->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		r = err_sys(e, ERR_STORAGE, errno, "cannot open '%s'", u->rootfs);
	if (r == 0)
		r = model_layers(u, root, &p, total, e);
	if (r == 0)
		r = model_config_file(root, &p, e);
	if (root >= 0)
		close(root);
	unpack_model_plan_release(&p);
	return r;
}
