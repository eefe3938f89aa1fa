// SPDX-License-Identifier: Apache-2.0
#include "auth/kind.h"

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/hostmatch.h"
#include "util/mem.h"

#define NVCF_PREFIX "NVCF_REGISTRIES_RECOGNIZED_CONTAINER_"

static const struct {
	enum kind_registry kind;
	const char *name;
	const char *nvcf_key; // built-in key of the NVCF allowlist, if any
} kinds[] = {
	{KIND_GENERIC, "generic", NULL},
	{KIND_CUSTOM, "custom", NULL},
	{KIND_DOCKERHUB, "dockerhub", "DOCKER"},
	{KIND_ECR, "ecr", "ECR"},
	{KIND_ECR_PUBLIC, "ecr-public", "ECR_PUBLIC"},
	{KIND_NGC, "ngc", "NGC"},
	{KIND_ACR, "acr", "ACR"},
	{KIND_VOLCENGINE, "volcengine", "VOLCENGINE"},
	{KIND_HARBOR, "harbor", NULL},
	{KIND_ARTIFACTORY, "artifactory", NULL},
};

// Private ECR hosts, as the ECR credential helper recognises them (ecr-login/api),
// dual-stack (dkr-ecr, on.aws) and the isolated partitions included.
static const char ecr_re[] =
	"^([0-9]{12})\\.dkr[.-]ecr(-fips)?\\.([a-z0-9][a-z0-9_-]*)\\."
	"(amazonaws\\.com(\\.cn)?|amazonaws\\.eu|on\\.aws|on\\.amazonwebservices\\.com\\.cn|"
	"sc2s\\.sgov\\.gov|c2s\\.ic\\.gov|cloud\\.adc-e\\.uk|csp\\.hci\\.ic\\.gov)$";
// Volcano Engine CR: <instance>-<region>.cr.volces.com (ivolces: the VPC endpoint).
// Instance names contain hyphens; the region is the known-shaped suffix.
static const char volc_re[] =
	"^([a-z0-9][a-z0-9-]*)-((cn|ap|eu|us|me|sa|af)-[a-z]+(-[0-9]+)?)\\.cr\\.i?volces\\.com$";

const char *kind_name(enum kind_registry k)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == k)
			return kinds[i].name;
	return "generic";
}

int kind_parse(const char *name, enum kind_registry *out)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcasecmp(kinds[i].name, name) == 0) {
			*out = kinds[i].kind;
			return 0;
		}
	}
	return -1;
}

// host[:port] -> lowercase host without the port (brackets of IPv6 kept).
static char *bare_host(const char *host)
{
	size_t n = strlen(host);
	if (host[0] == '[') {
		const char *rb = strchr(host, ']');
		n = rb ? (size_t)(rb - host + 1) : n;
	} else {
		const char *colon = strrchr(host, ':');
		if (colon)
			n = (size_t)(colon - host);
	}
	char *h = xstrndup(host, n);
	for (char *c = h; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return h;
}

static void add(struct kind_table *ks, const char *host, enum kind_registry kind, const char *why,
		const char *label)
{
	ks->v = xrealloc(ks->v, (ks->n + 1) * sizeof(*ks->v));
	ks->v[ks->n++] = (struct kind_override){bare_host(host), kind, xstrdup(why),
						label ? xstrdup(label) : NULL};
}

int kind_table_add_override(struct kind_table *ks, const char *spec, struct err *e)
{
	const char *eq = strchr(spec, '=');
	enum kind_registry k;
	if (!eq || eq == spec || kind_parse(eq + 1, &k) < 0)
		return err_set(e, ERR_USAGE,
			       "--registry-kind must be HOST=KIND with KIND one of generic, custom, dockerhub, "
			       "ecr, ecr-public, ngc, acr, volcengine, harbor, artifactory; not '%s'", spec);
	_cleanup_free_ char *host = xstrndup(spec, (size_t)(eq - spec));
	add(ks, host, k, "--registry-kind", NULL);
	return 0;
}

static const char *env_get(char *const *env, const char *name)
{
	size_t n = strlen(name);
	for (char *const *p = env; p && *p; p++)
		if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
			return *p + n + 1;
	return NULL;
}

void kind_table_load_env(struct kind_table *ks, char *const *env)
{
	static const char suffix[] = "_HOSTNAME";
	for (char *const *p = env; p && *p; p++) {
		if (strncmp(*p, NVCF_PREFIX, strlen(NVCF_PREFIX)) != 0)
			continue;
		const char *eq = strchr(*p, '=');
		const char *key = *p + strlen(NVCF_PREFIX);
		if (!eq || (size_t)(eq - key) <= strlen(suffix) ||
		    strncmp(eq - strlen(suffix), suffix, strlen(suffix)) != 0 || !eq[1])
			continue;
		_cleanup_free_ char *k = xstrndup(key, (size_t)(eq - key) - strlen(suffix));
		_cleanup_free_ char *namevar = xasprintf(NVCF_PREFIX "%s_NAME", k);
		_cleanup_free_ char *why = xstrndup(*p, (size_t)(eq - *p));
		// The value is a hostname; be lenient about a scheme or a trailing slash.
		const char *v = eq + 1;
		const char *s = strstr(v, "://");
		_cleanup_free_ char *host = xstrndup(s ? s + 3 : v, strcspn(s ? s + 3 : v, "/"));
		enum kind_registry kind = KIND_CUSTOM;
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (kinds[i].nvcf_key && strcmp(kinds[i].nvcf_key, k) == 0)
				kind = kinds[i].kind;
		add(ks, host, kind, why, env_get(env, namevar));
	}
}

void kind_table_release(struct kind_table *ks)
{
	for (size_t i = 0; i < ks->n; i++) {
		free(ks->v[i].host);
		free(ks->v[i].why);
		free(ks->v[i].label);
	}
	free(ks->v);
	memset(ks, 0, sizeof(*ks));
}

void kind_info_release(struct kind_info *i)
{
	free(i->label);
	free(i->region);
	free(i->domain);
	free(i->instance);
	memset(i, 0, sizeof(*i));
}

static char *group(const char *s, const regmatch_t *m)
{
	return m->rm_so < 0 ? NULL : xstrndup(s + m->rm_so, (size_t)(m->rm_eo - m->rm_so));
}

static bool parse_ecr(const char *h, struct kind_info *out)
{
	regex_t re;
	regmatch_t m[6];
	if (regcomp(&re, ecr_re, REG_EXTENDED) != 0)
		abort();
	bool ok = regexec(&re, h, 6, m, 0) == 0;
	regfree(&re);
	if (!ok)
		return false;
	memcpy(out->account, h + m[1].rm_so, 12);
	out->account[12] = '\0';
	out->fips = m[2].rm_so >= 0;
	out->region = group(h, &m[3]);
	out->domain = group(h, &m[4]);
	return true;
}

static bool parse_volc(const char *h, struct kind_info *out)
{
	regex_t re;
	regmatch_t m[3];
	if (regcomp(&re, volc_re, REG_EXTENDED) != 0)
		abort();
	bool ok = regexec(&re, h, 3, m, 0) == 0;
	regfree(&re);
	if (!ok)
		return false;
	out->instance = group(h, &m[1]);
	out->region = group(h, &m[2]);
	return true;
}

static bool suffix_is(const char *h, const char *suffix)
{
	size_t n = strlen(h), s = strlen(suffix);
	return n > s && strcmp(h + n - s, suffix) == 0 && h[n - s - 1] == '.';
}

static enum kind_registry from_hostname(const char *h, struct kind_info *out)
{
	if (parse_ecr(h, out))
		return KIND_ECR;
	if (parse_volc(h, out))
		return KIND_VOLCENGINE;
	if (!strcmp(h, "public.ecr.aws"))
		return KIND_ECR_PUBLIC;
	if (!strcmp(h, "nvcr.io") || suffix_is(h, "nvcr.io"))
		return KIND_NGC;
	if (suffix_is(h, "azurecr.io") || suffix_is(h, "azurecr.cn") || suffix_is(h, "azurecr.us"))
		return KIND_ACR;
	if (auth_docker_hub_alias(h))
		return KIND_DOCKERHUB;
	if (suffix_is(h, "jfrog.io"))
		return KIND_ARTIFACTORY;
	return KIND_GENERIC;
}

int kind_classify(const struct kind_table *ks, const char *host, struct kind_info *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	_cleanup_free_ char *h = bare_host(host);
	const struct kind_override *o = NULL;
	for (size_t i = 0; ks && i < ks->n && !o; i++)
		if (strcmp(ks->v[i].host, h) == 0)
			o = &ks->v[i];
	out->kind = from_hostname(h, out);
	out->why = "hostname";
	if (!o)
		return 0;
	// The API parameters still come from the name; a forced kind must provide them.
	if (o->kind != out->kind) {
		kind_info_release(out);
		if (o->kind == KIND_ECR && !parse_ecr(h, out))
			return err_set(e, ERR_USAGE, "%s is not an ECR registry name (ACCOUNT.dkr.ecr.REGION.amazonaws.com)", host);
		if (o->kind == KIND_VOLCENGINE && !parse_volc(h, out))
			return err_set(e, ERR_USAGE, "%s is not a Volcano Engine registry name (INSTANCE-REGION.cr.volces.com)", host);
	}
	out->kind = o->kind;
	out->why = o->why;
	out->label = o->label ? xstrdup(o->label) : NULL;
	return 0;
}

enum kind_registry kind_from_realm(enum kind_registry k, const char *realm)
{
	if (k != KIND_GENERIC || !realm)
		return k;
	size_t n = strcspn(realm, "?");
	static const char harbor[] = "/service/token";
	if (n >= strlen(harbor) && strncmp(realm + n - strlen(harbor), harbor, strlen(harbor)) == 0)
		return KIND_HARBOR;
	if (strstr(realm, "/artifactory/api/docker/"))
		return KIND_ARTIFACTORY;
	return k;
}
