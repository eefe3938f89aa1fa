// SPDX-License-Identifier: Apache-2.0
#include "pull/chart.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/digest.h"
#include "oci/ref.h"
#include "util/semver.h"
#include "util/mem.h"

#define CHART_VERSION_MAX 128
#define CHART_RANGE_MAX 256

void chart_ref_release(struct chart_ref *r)
{
	free(r->ref);
	free(r->repo);
	free(r->host);
	free(r->name);
	free(r->version);
	free(r->want);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

// Semver's characters, as a tag can carry them once '+' is '_' (Helm's mapping).
bool chart_version_valid(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > CHART_VERSION_MAX || strchr(".-+", v[0]))
		return false;
	return strspn(v, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+-") == n;
}

// Messages quote what was given: one line, nothing a terminal acts on.
static bool chart_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int chart_not_oci(const char *s, struct err *e)
{
	if (!strncmp(s, "https://", 8) || !strncmp(s, "http://", 7))
		return err_set(e, ERR_USAGE, "'%.200s': a chart repository is given with --repo URL and the chart's name "
			       "as the operand (helm pull --repo URL NAME)", s);
	return err_set(e, ERR_USAGE, "'%.200s' is not an oci:// chart reference (a chart of a chart repository "
		       "needs --repo URL)", s);
}

int chart_ref_set_version(struct chart_ref *r, const char *version, struct err *e)
{
	if (!chart_version_valid(version))
		return err_set(e, ERR_USAGE, "chart oci://%.200s: invalid version '%.200s'", r->repo, version);
	free(r->version);
	free(r->ref);
	r->version = xstrdup(version);
	_cleanup_free_ char *tag = xstrdup(version);
	for (char *p = tag; *p; p++)
		if (*p == '+')
			*p = '_';
	r->ref = r->digest ? xasprintf("%s:%s@%s", r->repo, tag, r->digest) : xasprintf("%s:%s", r->repo, tag);
	return 0;
}

// r->repo checked by oci_ref_parse: HOST must be taken as the registry (no
// docker.io normalisation) and the path as given.
static int chart_ref_check(struct chart_ref *r, struct err *e)
{
	_cleanup_free_ char *probe = xasprintf("%s:x", r->repo);
	struct oci_ref o;
	if (oci_ref_parse(&o, probe, e) < 0)
		return err_wrap(e, "chart oci://%.200s", r->repo);
	const char *path = strchr(r->repo, '/') + 1;
	int ret = 0;
	if (strcmp(o.domain, r->host) != 0 || strcmp(o.path, path) != 0)
		ret = err_set(e, ERR_USAGE, "chart oci://%.200s: '%.200s' is not a registry host (a host has a '.' or a "
			      "port, or is localhost)", r->repo, r->host);
	oci_ref_release(&o);
	return ret;
}

// What names the version: the reference's tag (exact), else --version (exact
// when it is a semver version, as Helm takes it, else a range to look up),
// else the digest alone (the version from the chart's config) or, with
// neither, the latest stable version among the tags.
static int chart_ref_version(struct chart_ref *r, const char *s, const char *tag, const char *version,
			     struct err *e)
{
	if (tag && version && strcmp(tag, version) != 0)
		return err_set(e, ERR_USAGE, "chart '%.200s' names version '%.200s' and --version '%.200s'", s, tag,
			       version);
	if (tag)
		return chart_ref_set_version(r, tag, e);
	struct semver sv;
	if (version && chart_version_valid(version) && semver_parse(version, &sv) == 0)
		return chart_ref_set_version(r, version, e);
	if (version && (!*version || strlen(version) > CHART_RANGE_MAX))
		return err_set(e, ERR_USAGE, "chart '%.200s': invalid version '%.200s'", s, version);
	if (version || !r->digest) {
		r->want = version ? xstrdup(version) : NULL;
		r->lookup = true;
		return 0;
	}
	r->ref = xasprintf("%s@%s", r->repo, r->digest);
	return 0;
}

int chart_ref_parse(struct chart_ref *r, const char *s, const char *version, struct err *e)
{
	memset(r, 0, sizeof(*r));
	if (chart_has_control(s) || (version && chart_has_control(version)))
		return err_set(e, ERR_USAGE, "a chart reference or version with a control character");
	if (strncmp(s, "oci://", 6) != 0)
		return chart_not_oci(s, e);
	const char *rest = s + 6, *at = strchr(rest, '@');
	_cleanup_free_ char *body = at ? xstrndup(rest, (size_t)(at - rest)) : xstrdup(rest);
	if (at && (strncmp(at + 1, "sha256:", 7) != 0 || !oci_digest_valid(at + 1)))
		return err_set(e, ERR_USAGE, "chart '%.200s': '%.200s' is not a sha256: digest", s, at + 1);
	r->digest = at ? xstrdup(at + 1) : NULL;
	const char *slash = strchr(body, '/'), *last = strrchr(body, '/');
	if (!slash || slash == body || !last[1])
		return err_set(e, ERR_USAGE, "chart '%.200s' must be oci://HOST/PATH/NAME[:VERSION][@DIGEST]", s);
	const char *colon = strchr(last, ':');
	size_t end = colon ? (size_t)(colon - body) : strlen(body);
	r->repo = xstrndup(body, end);
	r->host = xstrndup(body, (size_t)(slash - body));
	r->name = xstrndup(last + 1, (size_t)(body + end - last - 1));
	if (!*r->name)
		return err_set(e, ERR_USAGE, "chart '%.200s' has no name", s);
	if (colon && !chart_version_valid(colon + 1))
		return err_set(e, ERR_USAGE, "chart '%.200s': invalid version '%.200s'", s, colon + 1);
	if (chart_ref_check(r, e) < 0)
		return -1;
	return chart_ref_version(r, s, colon ? colon + 1 : NULL, version, e);
}

int chart_manifest_layers(const struct oci_manifest *m, const char *what, const struct oci_descriptor **chart,
			  const struct oci_descriptor **prov, struct err *e)
{
	*chart = *prov = NULL;
	if (m->kind != OCI_KIND_MANIFEST || !m->config.media_type || strcmp(m->config.media_type, CHART_MT_CONFIG))
		return err_set(e, ERR_USAGE, "%s is not a Helm chart (config media type '%.100s', not " CHART_MT_CONFIG ")",
			       what, m->kind == OCI_KIND_MANIFEST && m->config.media_type ? m->config.media_type : "none");
	for (size_t i = 0; i < m->nlayers; i++) {
		const struct oci_descriptor *d = &m->layers[i];
		const char *mt = d->media_type ? d->media_type : "";
		bool is_chart = !strcmp(mt, CHART_MT_CONTENT) || !strcmp(mt, CHART_MT_CONTENT_LEGACY);
		bool is_prov = !strcmp(mt, CHART_MT_PROV);
		if ((is_chart && *chart) || (is_prov && *prov))
			return err_set(e, ERR_INTEGRITY, "%s: more than one %s layer", what, is_chart ? "chart" : "provenance");
		if (is_chart)
			*chart = d;
		if (is_prov)
			*prov = d;
	}
	if (!*chart)
		return err_set(e, ERR_INTEGRITY, "%s: a Helm config but no chart layer (" CHART_MT_CONTENT ")", what);
	return 0;
}

int chart_config_parse(const char *body, size_t len, char **name, char **version, struct err *e)
{
	*name = *version = NULL;
	cJSON *root = cJSON_ParseWithLength(body, len);
	cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "name");
	cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "version");
	int ret = 0;
	if (!cJSON_IsObject(root) || !cJSON_IsString(n) || !cJSON_IsString(v) || strlen(n->valuestring) > 256 ||
	    strlen(v->valuestring) > CHART_VERSION_MAX)
		ret = err_set(e, ERR_INTEGRITY, "the chart's config is not Helm's (an object with a name and a version)");
	else {
		*name = xstrdup(n->valuestring);
		*version = xstrdup(v->valuestring);
	}
	cJSON_Delete(root);
	return ret;
}

int chart_pick_tag(char *const *tags, size_t n, const char *want, char **version, struct err *e)
{
	*version = NULL;
	// What Helm keeps of the tags: strict semver versions once '_' is '+'.
	char **kept = xcalloc(n ? n : 1, sizeof(*kept));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char *v = xstrdup(tags[i]);
		for (char *p = v; *p; p++)
			if (*p == '_')
				*p = '+';
		struct semver sv;
		if (semver_parse_strict(v, &sv) == 0)
			kept[k++] = v;
		else
			free(v);
	}
	int at = semver_pick((const char *const *)kept, k, want, e);
	if (at >= 0)
		*version = xstrdup(kept[at]);
	for (size_t i = 0; i < k; i++)
		free(kept[i]);
	free(kept);
	return at < 0 ? -1 : 0;
}
