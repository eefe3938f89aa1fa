// SPDX-License-Identifier: Apache-2.0
// Manifest and index parsing. The body comes straight from the network and may
// not have been checked against a digest yet (a tag pull), so every field is
// type-checked and bounded, and a failure leaves *m empty.
#include "oci/manifest.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oci/digest.h"
#include "util/mem.h"

// Real images have tens of layers and indexes tens of entries; the caps only
// bound the work a hostile document can cause.
#define MANIFEST_MAX_LAYERS 1024
#define MANIFEST_MAX_ENTRIES 4096
// cJSON stores every number as a double; above 2^53 integers are no longer exact.
#define MANIFEST_SIZE_LIMIT 9007199254740992.0

#define MANIFEST_SCHEMA1_MSG                                                                \
	"schema 1 manifests are not supported (obsolete Docker format); ask the registry " \
	"or image owner for a schema 2 or OCI manifest"

enum mt {
	MT_UNKNOWN = 0,
	MT_GENERIC, // says nothing about the body: look inside
	MT_OCI_INDEX,
	MT_OCI_MANIFEST,
	MT_DOCKER_LIST,
	MT_DOCKER_MANIFEST,
	MT_SCHEMA1,
};

static const struct {
	const char *name;
	enum mt mt;
} mt_table[] = {
	{OCI_MT_INDEX, MT_OCI_INDEX},
	{OCI_MT_MANIFEST, MT_OCI_MANIFEST},
	{DOCKER_MT_LIST, MT_DOCKER_LIST},
	{DOCKER_MT_MANIFEST, MT_DOCKER_MANIFEST},
	{DOCKER_MT_SCHEMA1, MT_SCHEMA1},
	{DOCKER_MT_SCHEMA1_SIGNED, MT_SCHEMA1},
	// What misconfigured registries, proxies and static file servers send.
	{"application/json", MT_GENERIC},
	{"application/octet-stream", MT_GENERIC},
	{"text/plain", MT_GENERIC},
};

// Media types are case-insensitive (RFC 6838), so compare them that way.
static enum mt mt_lookup(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(mt_table) / sizeof(mt_table[0]); i++)
		if (strlen(mt_table[i].name) == n && strncasecmp(mt_table[i].name, s, n) == 0)
			return mt_table[i].mt;
	return MT_UNKNOWN;
}

static const char *mt_name(enum mt mt)
{
	switch (mt) {
	case MT_OCI_INDEX:
		return OCI_MT_INDEX;
	case MT_OCI_MANIFEST:
		return OCI_MT_MANIFEST;
	case MT_DOCKER_LIST:
		return DOCKER_MT_LIST;
	case MT_DOCKER_MANIFEST:
		return DOCKER_MT_MANIFEST;
	case MT_UNKNOWN:
	case MT_GENERIC:
	case MT_SCHEMA1:
		break;
	}
	return NULL;
}

static bool mt_supported(enum mt mt)
{
	return mt_name(mt) != NULL;
}

static bool mt_is_index(enum mt mt)
{
	return mt == MT_OCI_INDEX || mt == MT_DOCKER_LIST;
}

// Copies at most 80 bytes of s into out for an error message, replacing
// control bytes so a server's header cannot put escape sequences on our stderr.
static void mt_quote(char *out, size_t outlen, const char *s, size_t n)
{
	size_t max = outlen - 4; // room for "..." and NUL
	if (max > 80)
		max = 80;
	size_t i;
	for (i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (i < n) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

// Classifies a Content-Type header: parameters after ';' and surrounding
// whitespace are ignored; a missing or empty header is generic.
static enum mt mt_from_content_type(const char *ct, char *shown, size_t shownlen)
{
	shown[0] = '\0';
	if (!ct)
		return MT_GENERIC;
	const char *end = strchr(ct, ';');
	if (!end)
		end = ct + strlen(ct);
	while (ct < end && (*ct == ' ' || *ct == '\t'))
		ct++;
	while (end > ct && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t n = (size_t)(end - ct);
	if (n == 0)
		return MT_GENERIC;
	mt_quote(shown, shownlen, ct, n);
	return mt_lookup(ct, n);
}

// --- JSON access: every helper names the field in its error, as
// "<ctx>.<key>: <problem>", and the caller prefixes "invalid manifest: ".

static const char *ctx_sep(const char *ctx)
{
	return ctx[0] ? "." : "";
}

// Looks key up, refusing duplicates: cJSON returns the first copy while Go's
// encoding/json (the registry, containerd) keeps the last, so a document with
// two "layers" would mean one thing to us and another to everyone else.
static int json_get(const cJSON *obj, const char *ctx, const char *key, const cJSON **out,
		    struct err *e)
{
	const cJSON *found = NULL;
	*out = NULL; // defined on every path, which also keeps -Wmaybe-uninitialized quiet
	for (const cJSON *c = obj->child; c; c = c->next) {
		if (c->string && strcmp(c->string, key) == 0) {
			if (found)
				return err_set(e, ERR_INTEGRITY, "%s%s%s: duplicate key", ctx,
					       ctx_sep(ctx), key);
			found = c;
		}
	}
	*out = found;
	return 0;
}

// Present and not null (encoding/json treats null like an absent field).
static bool json_present(const cJSON *item)
{
	return item && !cJSON_IsNull(item);
}

enum str_flags {
	STR_REQUIRED = 1, // missing or null is an error
	STR_NONEMPTY = 2, // "" is an error
};

// *out borrows from the cJSON tree; NULL when an optional field is absent.
static int json_string(const cJSON *obj, const char *ctx, const char *key, unsigned flags,
		       const char **out, struct err *e)
{
	const cJSON *item;
	*out = NULL;
	if (json_get(obj, ctx, key, &item, e) < 0)
		return -1;
	if (!json_present(item)) {
		if (flags & STR_REQUIRED)
			return err_set(e, ERR_INTEGRITY, "%s%s%s: missing", ctx, ctx_sep(ctx), key);
		return 0;
	}
	if (!cJSON_IsString(item) || !item->valuestring)
		return err_set(e, ERR_INTEGRITY, "%s%s%s: not a string", ctx, ctx_sep(ctx), key);
	const char *s = item->valuestring;
	if ((flags & STR_NONEMPTY) && !s[0])
		return err_set(e, ERR_INTEGRITY, "%s%s%s: empty", ctx, ctx_sep(ctx), key);
	// These strings end up in file names, logs and error messages.
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return err_set(e, ERR_INTEGRITY, "%s%s%s: contains control characters",
				       ctx, ctx_sep(ctx), key);
	*out = s;
	return 0;
}

static int json_size(const cJSON *obj, const char *ctx, uint64_t *out, struct err *e)
{
	const cJSON *item;
	if (json_get(obj, ctx, "size", &item, e) < 0)
		return -1;
	if (!json_present(item))
		return err_set(e, ERR_INTEGRITY, "%s%ssize: missing", ctx, ctx_sep(ctx));
	if (!cJSON_IsNumber(item))
		return err_set(e, ERR_INTEGRITY, "%s%ssize: not a number", ctx, ctx_sep(ctx));
	double d = item->valuedouble;
	// The range check comes first so the cast below is defined; the round trip
	// then rejects fractions.
	if (!(d >= 0 && d < MANIFEST_SIZE_LIMIT) || (double)(uint64_t)d != d)
		return err_set(e, ERR_INTEGRITY,
			       "%s%ssize: not an integer between 0 and 2^53", ctx, ctx_sep(ctx));
	*out = (uint64_t)d;
	return 0;
}

static int parse_platform(const cJSON *o, const char *ctx, struct oci_platform *p,
			  struct err *e)
{
	const char *os, *arch, *variant;
	if (!cJSON_IsObject(o))
		return err_set(e, ERR_INTEGRITY, "%s%splatform: not an object", ctx, ctx_sep(ctx));
	char sub[64];
	snprintf(sub, sizeof(sub), "%s%splatform", ctx, ctx_sep(ctx));
	// Empty os/architecture are tolerated: such an entry simply never matches.
	if (json_string(o, sub, "os", STR_REQUIRED, &os, e) < 0 ||
	    json_string(o, sub, "architecture", STR_REQUIRED, &arch, e) < 0 ||
	    json_string(o, sub, "variant", 0, &variant, e) < 0)
		return -1;
	p->os = xstrdup(os);
	p->arch = xstrdup(arch);
	// Some tools write "variant": "" for none.
	p->variant = variant && variant[0] ? xstrdup(variant) : NULL;
	return 0;
}

// Fills d in place; on failure d may be partly filled (descriptor_release frees it).
static int parse_descriptor(const cJSON *o, const char *ctx, bool with_platform,
			    struct oci_descriptor *d, struct err *e)
{
	const char *mt, *digest;
	const cJSON *plat;
	if (!cJSON_IsObject(o))
		return err_set(e, ERR_INTEGRITY, "%s: not an object", ctx);
	if (json_string(o, ctx, "mediaType", STR_REQUIRED | STR_NONEMPTY, &mt, e) < 0 ||
	    json_string(o, ctx, "digest", STR_REQUIRED, &digest, e) < 0)
		return -1;
	if (oci_digest_check(digest, ERR_INTEGRITY, e) < 0)
		return err_wrap(e, "%s.digest", ctx);
	if (json_size(o, ctx, &d->size, e) < 0)
		return -1;
	d->media_type = xstrdup(mt);
	d->digest = xstrdup(digest);
	const cJSON *ann;
	if (json_get(o, ctx, "annotations", &ann, e) < 0)
		return -1;
	if (json_present(ann)) {
		char actx[48];
		const char *title;
		snprintf(actx, sizeof(actx), "%s.annotations", ctx);
		if (!cJSON_IsObject(ann))
			return err_set(e, ERR_INTEGRITY, "%s: not an object", actx);
		const char *fpath, *fmeta;
		// ModelPack's annotations, or those of its older CNAI form when
		// absent, as modctl reads them.
		if (json_string(ann, actx, "org.opencontainers.image.title", 0, &title, e) < 0 ||
		    json_string(ann, actx, "org.cncf.model.filepath", 0, &fpath, e) < 0 ||
		    (!fpath && json_string(ann, actx, "org.cnai.model.filepath", 0, &fpath, e) < 0) ||
		    json_string(ann, actx, "org.cncf.model.file.metadata+json", 0, &fmeta, e) < 0 ||
		    (!fmeta && json_string(ann, actx, "org.cnai.model.file.metadata+json", 0, &fmeta, e) < 0))
			return -1;
		d->title = title ? xstrdup(title) : NULL;
		d->filepath = fpath ? xstrdup(fpath) : NULL;
		d->file_metadata = fmeta ? xstrdup(fmeta) : NULL;
	}
	if (!with_platform)
		return 0;
	if (json_get(o, ctx, "platform", &plat, e) < 0)
		return -1;
	if (!json_present(plat))
		return 0;
	d->has_platform = true;
	return parse_platform(plat, ctx, &d->platform, e);
}

static void descriptor_release(struct oci_descriptor *d)
{
	free(d->title);
	free(d->filepath);
	free(d->file_metadata);
	free(d->media_type);
	free(d->digest);
	oci_platform_release(&d->platform);
	memset(d, 0, sizeof(*d));
}

// Counts array elements, stopping one past max so a huge array costs nothing.
static size_t json_count(const cJSON *arr, size_t max)
{
	size_t n = 0;
	for (const cJSON *c = arr->child; c && n <= max; c = c->next)
		n++;
	return n;
}

// OCI image-spec (after CVE-2021-41190): a document must not be readable as
// both a manifest and an index, or a registry and a client could disagree on
// what was pushed. Same check as containerd's validateMediaType.
static int check_unambiguous(const cJSON *root, bool is_index, struct err *e)
{
	static const char *const manifest_keys[] = {"config", "layers"};
	const cJSON *item;
	if (is_index) {
		for (size_t i = 0; i < sizeof(manifest_keys) / sizeof(manifest_keys[0]); i++) {
			if (json_get(root, "", manifest_keys[i], &item, e) < 0)
				return -1;
			if (json_present(item))
				return err_set(e, ERR_INTEGRITY,
					       "unexpected \"%s\" (ambiguous manifest/index)",
					       manifest_keys[i]);
		}
		return 0;
	}
	if (json_get(root, "", "manifests", &item, e) < 0)
		return -1;
	if (json_present(item))
		return err_set(e, ERR_INTEGRITY,
			       "unexpected \"manifests\" (ambiguous manifest/index)");
	return 0;
}

static int parse_image_manifest(struct oci_manifest *m, const cJSON *root, struct err *e)
{
	const cJSON *config, *layers;
	if (json_get(root, "", "config", &config, e) < 0 ||
	    json_get(root, "", "layers", &layers, e) < 0)
		return -1;
	if (!json_present(config))
		return err_set(e, ERR_INTEGRITY, "config: missing");
	if (parse_descriptor(config, "config", false, &m->config, e) < 0)
		return -1;
	const char *at;
	if (json_string(root, "", "artifactType", STR_NONEMPTY, &at, e) < 0)
		return -1;
	m->artifact_type = at ? xstrdup(at) : NULL;
	if (!json_present(layers))
		return err_set(e, ERR_INTEGRITY, "layers: missing");
	if (!cJSON_IsArray(layers))
		return err_set(e, ERR_INTEGRITY, "layers: not an array");
	size_t n = json_count(layers, MANIFEST_MAX_LAYERS);
	if (n > MANIFEST_MAX_LAYERS)
		return err_set(e, ERR_INTEGRITY, "layers: more than %d entries",
			       MANIFEST_MAX_LAYERS);
	// Artifacts (and the empty image) legitimately have no layers.
	if (n == 0)
		return 0;
	m->layers = xcalloc(n, sizeof(*m->layers));
	m->nlayers = n;
	size_t i = 0;
	for (const cJSON *c = layers->child; c; c = c->next, i++) {
		char ctx[32];
		snprintf(ctx, sizeof(ctx), "layers[%zu]", i);
		// Unknown layer media types are kept: the puller decides what to do
		// with them, and foreign/non-distributable layers are still layers.
		if (parse_descriptor(c, ctx, false, &m->layers[i], e) < 0)
			return -1;
	}
	return 0;
}

static int parse_index(struct oci_manifest *m, const cJSON *root, struct err *e)
{
	const cJSON *entries;
	if (json_get(root, "", "manifests", &entries, e) < 0)
		return -1;
	if (!json_present(entries))
		return err_set(e, ERR_INTEGRITY, "manifests: missing");
	if (!cJSON_IsArray(entries))
		return err_set(e, ERR_INTEGRITY, "manifests: not an array");
	size_t n = json_count(entries, MANIFEST_MAX_ENTRIES);
	if (n > MANIFEST_MAX_ENTRIES)
		return err_set(e, ERR_INTEGRITY, "manifests: more than %d entries",
			       MANIFEST_MAX_ENTRIES);
	if (n == 0)
		return 0;
	m->manifests = xcalloc(n, sizeof(*m->manifests));
	size_t i = 0;
	for (const cJSON *c = entries->child; c; c = c->next, i++) {
		char ctx[32];
		const char *mt;
		snprintf(ctx, sizeof(ctx), "manifests[%zu]", i);
		if (!cJSON_IsObject(c))
			return err_set(e, ERR_INTEGRITY, "%s: not an object", ctx);
		if (json_string(c, ctx, "mediaType", STR_REQUIRED | STR_NONEMPTY, &mt, e) < 0)
			return -1;
		// Attestations, signatures, schema 1 and future types: not ours to
		// pull, and their shape is not ours to judge either.
		if (!mt_supported(mt_lookup(mt, strlen(mt))))
			continue;
		// Count the slot before filling it so a failure frees what was filled.
		struct oci_descriptor *d = &m->manifests[m->nmanifests++];
		if (parse_descriptor(c, ctx, true, d, e) < 0)
			return -1;
	}
	return 0;
}

// Whether the body is schema 1, whatever the headers said: schemaVersion 1, a
// schema 1 mediaType or the fsLayers array only schema 1 has. Checked before
// anything else so a schema 1 body always gets the message that explains it.
static int check_schema(const cJSON *root, struct err *e)
{
	const cJSON *ver, *fs, *mt;
	if (json_get(root, "", "schemaVersion", &ver, e) < 0 ||
	    json_get(root, "", "fsLayers", &fs, e) < 0 ||
	    json_get(root, "", "mediaType", &mt, e) < 0)
		return err_wrap(e, "invalid manifest");
	if (json_present(fs) || (cJSON_IsNumber(ver) && ver->valuedouble == 1) ||
	    (cJSON_IsString(mt) && mt->valuestring &&
	     mt_lookup(mt->valuestring, strlen(mt->valuestring)) == MT_SCHEMA1))
		return err_set(e, ERR_USAGE, MANIFEST_SCHEMA1_MSG);
	if (!json_present(ver))
		return err_set(e, ERR_INTEGRITY, "invalid manifest: schemaVersion: missing");
	if (!cJSON_IsNumber(ver))
		return err_set(e, ERR_INTEGRITY, "invalid manifest: schemaVersion: not a number");
	if (ver->valuedouble != 2)
		return err_set(e, ERR_INTEGRITY, "invalid manifest: unsupported schemaVersion %g",
			       ver->valuedouble);
	return 0;
}

// Decides the effective media type from the Content-Type and the body.
static int resolve_type(const cJSON *root, enum mt ct, const char *ct_shown, enum mt *out,
			struct err *e)
{
	const char *body_mt;
	char shown[96];
	if (json_string(root, "", "mediaType", 0, &body_mt, e) < 0)
		return err_wrap(e, "invalid manifest");
	enum mt bmt = MT_UNKNOWN;
	if (body_mt) {
		bmt = mt_lookup(body_mt, strlen(body_mt));
		if (bmt == MT_SCHEMA1)
			return err_set(e, ERR_USAGE, MANIFEST_SCHEMA1_MSG);
		if (bmt == MT_GENERIC) // a body naming itself application/json says nothing useful
			bmt = MT_UNKNOWN;
		mt_quote(shown, sizeof(shown), body_mt, strlen(body_mt));
	}
	if (ct != MT_GENERIC) {
		// ct is one of the four supported types here.
		if (body_mt && bmt != ct)
			return err_set(e, ERR_INTEGRITY,
				       "manifest mediaType '%s' does not match Content-Type '%s'",
				       shown, ct_shown);
		*out = ct;
		return 0;
	}
	if (body_mt) {
		if (bmt == MT_UNKNOWN)
			return err_set(e, ERR_USAGE, "unsupported manifest media type '%s'", shown);
		*out = bmt;
		return 0;
	}
	// No usable type anywhere: OCI allows omitting mediaType (Docker never
	// does), so go by shape.
	const cJSON *item;
	if (json_get(root, "", "manifests", &item, e) < 0)
		return err_wrap(e, "invalid manifest");
	if (json_present(item)) {
		*out = MT_OCI_INDEX;
		return 0;
	}
	if (json_get(root, "", "config", &item, e) < 0)
		return err_wrap(e, "invalid manifest");
	if (json_present(item)) {
		*out = MT_OCI_MANIFEST;
		return 0;
	}
	return err_set(e, ERR_INTEGRITY,
		       "invalid manifest: no mediaType and neither \"manifests\" nor \"config\"");
}

// Whether [p, end) is only JSON whitespace: cJSON stops after the first value,
// and trailing bytes would be silently ignored otherwise.
static bool json_tail_blank(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
	return true;
}

// Everything after the JSON syntax check; on failure m may be partly filled.
static int parse_root(struct oci_manifest *m, const cJSON *root, enum mt ct, const char *ct_shown,
		      struct err *e)
{
	enum mt eff = MT_UNKNOWN;
	if (!cJSON_IsObject(root))
		return err_set(e, ERR_INTEGRITY, "manifest is not a JSON object");
	if (check_schema(root, e) < 0 || resolve_type(root, ct, ct_shown, &eff, e) < 0)
		return -1;
	bool is_index = mt_is_index(eff);
	m->kind = is_index ? OCI_KIND_INDEX : OCI_KIND_MANIFEST;
	m->media_type = xstrdup(mt_name(eff));
	if (check_unambiguous(root, is_index, e) < 0 ||
	    (is_index ? parse_index(m, root, e) : parse_image_manifest(m, root, e)) < 0)
		return err_wrap(e, "invalid %s", is_index ? "index" : "manifest");
	return 0;
}

// Whether a JSON text contains the escape \u0000. cJSON decodes it into a NUL
// that silently cuts the string short ("sha256:<hex>\u0000junk" would read as
// a valid digest), and it has no business in a manifest. Only valid JSON is
// scanned, where backslashes occur inside strings only.
static bool json_has_nul_escape(const char *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] != '\\')
			continue;
		if (p[i + 1] == 'u' && len - i >= 6 && memcmp(p + i + 2, "0000", 4) == 0)
			return true;
		i++; // skip the escaped character, which may itself be a backslash
	}
	return false;
}

// cJSON builds the whole tree before our layer and entry caps apply, and a
// 4 MiB body of "[0,0,0,..." would become millions of nodes (100+ MB). Count
// the values first, roughly (separators outside strings), and refuse bodies
// far beyond any real manifest: 1024 layers or 4096 index entries take well
// under 100000.
#define MANIFEST_MAX_VALUES 100000u

static size_t json_values_estimate(const char *p, size_t len)
{
	size_t n = 1;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == ',' || c == '[' || c == '{' || c == ':') {
			n++;
		}
	}
	return n;
}

int oci_manifest_parse(struct oci_manifest *m, const char *content_type, const char *body,
		       size_t len, struct err *e)
{
	char ct_shown[96];
	memset(m, 0, sizeof(*m));

	enum mt ct = mt_from_content_type(content_type, ct_shown, sizeof(ct_shown));
	if (ct == MT_SCHEMA1)
		return err_set(e, ERR_USAGE, MANIFEST_SCHEMA1_MSG);
	if (ct == MT_UNKNOWN)
		return err_set(e, ERR_USAGE, "unsupported manifest media type '%s'", ct_shown);
	if (len > OCI_MANIFEST_MAX)
		return err_set(e, ERR_INTEGRITY, "manifest too large (%zu bytes, limit %u)", len,
			       OCI_MANIFEST_MAX);
	if (!body || len == 0)
		return err_set(e, ERR_INTEGRITY, "empty manifest");
	if (json_values_estimate(body, len) > MANIFEST_MAX_VALUES)
		return err_set(e, ERR_INTEGRITY, "manifest has more than %u JSON values", MANIFEST_MAX_VALUES);

	// With a length cJSON never reads past body + len, so body need not be
	// NUL-terminated.
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (!root) {
		size_t at = end && end >= body && end <= body + len ? (size_t)(end - body) : len;
		return err_set(e, ERR_INTEGRITY, "manifest is not valid JSON (at byte %zu)", at);
	}
	int r;
	if (!end || end < body || end > body + len || !json_tail_blank(end, body + len))
		r = err_set(e, ERR_INTEGRITY, "manifest has trailing data after the JSON value");
	else if (json_has_nul_escape(body, len))
		r = err_set(e, ERR_INTEGRITY, "manifest contains a NUL character (\\u0000)");
	else
		r = parse_root(m, root, ct, ct_shown, e);
	cJSON_Delete(root);
	if (r < 0)
		oci_manifest_release(m);
	return r;
}

bool oci_manifest_is_artifact(const struct oci_manifest *m)
{
	if (m->kind != OCI_KIND_MANIFEST)
		return false;
	if (m->artifact_type)
		return true;
	const char *ct = m->config.media_type;
	return !ct || (strcmp(ct, "application/vnd.oci.image.config.v1+json") != 0 &&
		       strcmp(ct, "application/vnd.docker.container.image.v1+json") != 0);
}

int oci_config_diff_ids(const char *body, size_t len, char ***ids, size_t *n, struct err *e)
{
	*ids = NULL;
	*n = 0;
	if (!body || len == 0 || len > OCI_MANIFEST_MAX)
		return err_set(e, ERR_INTEGRITY, "image config is empty or larger than %u bytes", OCI_MANIFEST_MAX);
	if (json_values_estimate(body, len) > MANIFEST_MAX_VALUES)
		return err_set(e, ERR_INTEGRITY, "image config has more than %u JSON values", MANIFEST_MAX_VALUES);
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (!root)
		return err_set(e, ERR_INTEGRITY, "image config is not valid JSON");
	const cJSON *rootfs = NULL, *type = NULL, *list = NULL;
	int r = 0;
	if (!end || end < body || end > body + len || !json_tail_blank(end, body + len) || !cJSON_IsObject(root))
		r = err_set(e, ERR_INTEGRITY, "image config is not one JSON object");
	else if (json_get(root, "config", "rootfs", &rootfs, e) < 0)
		r = -1;
	else if (!cJSON_IsObject(rootfs))
		r = err_set(e, ERR_INTEGRITY, "image config has no rootfs object");
	else if (json_get(rootfs, "config.rootfs", "type", &type, e) < 0 ||
		 json_get(rootfs, "config.rootfs", "diff_ids", &list, e) < 0)
		r = -1;
	else if (!cJSON_IsString(type) || strcmp(type->valuestring, "layers") != 0)
		r = err_set(e, ERR_INTEGRITY, "image config: rootfs.type is not \"layers\"");
	else if (!cJSON_IsArray(list) || json_count(list, MANIFEST_MAX_LAYERS) > MANIFEST_MAX_LAYERS)
		r = err_set(e, ERR_INTEGRITY, "image config: rootfs.diff_ids is not a list of at most %d digests",
			    MANIFEST_MAX_LAYERS);
	size_t count = r == 0 ? json_count(list, MANIFEST_MAX_LAYERS) : 0;
	if (r == 0 && count)
		*ids = xcalloc(count, sizeof(char *));
	const cJSON *it = r == 0 ? list->child : NULL;
	for (size_t i = 0; r == 0 && i < count; i++, it = it->next) {
		if (!cJSON_IsString(it) || !oci_digest_valid(it->valuestring)) {
			r = err_set(e, ERR_INTEGRITY, "image config: rootfs.diff_ids[%zu] is not a digest", i);
			break;
		}
		(*ids)[i] = xstrdup(it->valuestring);
		*n = i + 1;
	}
	cJSON_Delete(root);
	if (r < 0) {
		for (size_t i = 0; i < *n; i++)
			free((*ids)[i]);
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return r;
}

void oci_manifest_release(struct oci_manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	free(m->artifact_type);
	descriptor_release(&m->config);
	for (size_t i = 0; i < m->nlayers; i++)
		descriptor_release(&m->layers[i]);
	free(m->layers);
	for (size_t i = 0; i < m->nmanifests; i++)
		descriptor_release(&m->manifests[i]);
	free(m->manifests);
	memset(m, 0, sizeof(*m));
}
