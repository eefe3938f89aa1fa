// SPDX-License-Identifier: Apache-2.0
#include "pull/chart.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/ref.h"
#include "util/mem.h"

#define CHART_VERSION_MAX 128

void chart_ref_release(struct chart_ref *r)
{
	free(r->ref);
	free(r->host);
	free(r->name);
	free(r->version);
	memset(r, 0, sizeof(*r));
}

// Semver's characters, as a tag can carry them once '+' is '_' (Helm's mapping).
static bool chart_version_valid(const char *v)
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
		return err_set(e, ERR_USAGE, "chart repositories ('%.200s') are not supported yet: only oci:// references",
			       s);
	return err_set(e, ERR_USAGE, "'%.200s' is not an oci:// chart reference (chart repositories and --repo are "
		       "not supported yet)", s);
}

// r->ref from HOST/PATH/NAME and the version; checked by oci_ref_parse, and
// HOST must be taken as the registry (no docker.io normalisation).
static int chart_ref_check(struct chart_ref *r, const char *repo, struct err *e)
{
	_cleanup_free_ char *tag = xstrdup(r->version);
	for (char *p = tag; *p; p++)
		if (*p == '+')
			*p = '_';
	r->ref = xasprintf("%s:%s", repo, tag);
	struct oci_ref o;
	if (oci_ref_parse(&o, r->ref, e) < 0)
		return err_wrap(e, "chart oci://%.200s", repo);
	const char *path = strchr(repo, '/') + 1;
	int ret = 0;
	if (strcmp(o.domain, r->host) != 0 || strcmp(o.path, path) != 0)
		ret = err_set(e, ERR_USAGE, "chart oci://%.200s: '%.200s' is not a registry host (a host has a '.' or a "
			      "port, or is localhost)", repo, r->host);
	oci_ref_release(&o);
	return ret;
}

int chart_ref_parse(struct chart_ref *r, const char *s, const char *version, struct err *e)
{
	memset(r, 0, sizeof(*r));
	if (chart_has_control(s) || (version && chart_has_control(version)))
		return err_set(e, ERR_USAGE, "a chart reference or version with a control character");
	if (strncmp(s, "oci://", 6) != 0)
		return chart_not_oci(s, e);
	const char *rest = s + 6, *slash = strchr(rest, '/'), *last = strrchr(rest, '/');
	if (strchr(rest, '@'))
		return err_set(e, ERR_USAGE, "chart '%.200s': a digest in a chart reference is not supported yet", s);
	if (!slash || slash == rest || !last[1])
		return err_set(e, ERR_USAGE, "chart '%.200s' must be oci://HOST/PATH/NAME[:VERSION]", s);
	const char *colon = strchr(last, ':');
	size_t end = colon ? (size_t)(colon - rest) : strlen(rest);
	_cleanup_free_ char *repo = xstrndup(rest, end);
	r->host = xstrndup(rest, (size_t)(slash - rest));
	r->name = xstrndup(last + 1, (size_t)(rest + end - last - 1));
	const char *v = colon ? colon + 1 : NULL;
	if (v && version && strcmp(v, version) != 0)
		return err_set(e, ERR_USAGE, "chart '%.200s' names version '%.200s' and --version '%.200s'", s, v,
			       version);
	if (!v)
		v = version;
	if (!v)
		return err_set(e, ERR_USAGE, "chart '%.200s': give its version (--version V or oci://...:V); the latest "
			       "version is not looked up yet", s);
	if (!chart_version_valid(v))
		return err_set(e, ERR_USAGE, "chart '%.200s': invalid version '%.200s'", s, v);
	r->version = xstrdup(v);
	if (!*r->name)
		return err_set(e, ERR_USAGE, "chart '%.200s' has no name", s);
	return chart_ref_check(r, repo, e);
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
