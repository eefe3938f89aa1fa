// SPDX-License-Identifier: Apache-2.0
// imgpull chart: a Helm chart stored as an OCI artifact, pulled as `helm pull
// oci://...` does: NAME-VERSION.tgz (and its .prov when pushed) written into
// the destination byte for byte, or with --untar the chart's tree.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cmd/access.h"
#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "pull/chart.h"
#include "pull/chartrepo.h"
#include "pull/registry.h"
#include "pull/trust.h"
#include "report/outcome.h"
#include "report/termlog.h"
#include "run/chartuntar.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

enum { O_DEST = 256, O_VERSION, O_UNTAR, O_UNTARDIR, O_REPO, O_LOGFMT, O_TERMLOG, O_METRICS };

static const struct cmd_opt chart_opt_table[] = {
	{"dest", O_DEST, "DIR", "where the chart goes (created if missing; default .)", 0},
	{"destination", 'd', "DIR", "the same as --dest (helm pull's name)", 0},
	{"untar", O_UNTAR, NULL, "unpack the chart into DIR/UNTARDIR/NAME instead of\nwriting the .tgz", 0},
	{"untardir", O_UNTARDIR, "DIR", "with --untar: the directory under DIR the chart is\nexpanded in (default .)", 0},
	{"repo", O_REPO, "URL", "the chart repository (its index.yaml) the chart is in;\nthe operand is then the chart's NAME", 0},
	{"version", O_VERSION, "VERSION", "the chart's version or a semver range (default: the\nlatest stable version)", 0},
	CMD_ACCESS_OPTS,
	CMD_POLICY_OPT,
	{"log-format", O_LOGFMT, "FORMAT", "auto, json or text, for messages on stderr (default auto)", 0},
	{"termination-log", O_TERMLOG, "PATH",
	 "where the outcome goes on exit, at most 4096 bytes (default\n" TERMLOG_DEFAULT " when it exists and is writable)", 0},
	{"metrics", O_METRICS, "FILE", "on exit, the figures in Prometheus text format, written atomically", 0},
	{"quiet", 'q', NULL, "print nothing on success", 0},
	{"verbose", 'v', NULL, "diagnostic log on stderr (twice: debug)", CMD_OPT_COUNT},
	{"help", 'h', NULL, "show this help", CMD_OPT_NOENV},
};
static const struct cmd_opts chart_opts = {chart_opt_table, sizeof(chart_opt_table) / sizeof(chart_opt_table[0]),
					   "chart"};

static void usage(FILE *f)
{
	fprintf(f, "usage: imgpull chart [--dest DIR] [--version V] [--untar [--untardir D]] [OPTIONS]\n"
		   "                     oci://HOST/PATH/NAME[:VERSION][@sha256:HEX]\n"
		   "       imgpull chart --repo URL [--version V] [OPTIONS] NAME\n\n"
		   "Pulls a Helm chart as `helm pull` does, into DIR: NAME-VERSION.tgz exactly as published\n"
		   "(and NAME-VERSION.tgz.prov when an OCI chart has a provenance), or with --untar its\n"
		   "tree in DIR/UNTARDIR/NAME.\n"
		   "  oci://  a chart in an OCI registry; the tag is the version, '+' written '_'. Without\n"
		   "          an exact version the repository's tags are looked up: --version as a semver\n"
		   "          range (\">=1.2 <2\", \"^1.2\", \"~1.2.3\", \"1.x\"), none: the latest stable.\n"
		   "  --repo  a chart repository (https://HOST/PATH with an index.yaml, e.g.\n"
		   "          https://helm.ngc.nvidia.com/ORG[/TEAM]): NAME's version as picked above,\n"
		   "          its .tgz checked against the index's digest; the repository's credential is\n"
		   "          sent only to its own origin, never to a chart URL on another host.\n"
		   "Credentials for charts come from entries serving HELM (or every artifact type);\n"
		   "TLS, logs, termination message and metrics as for pull; exit status as for pull\n"
		   "(2 also for a reference that is not a Helm chart).\n\n");
	cmd_opts_usage(f, &chart_opts);
}

struct chart_cli {
	struct cmd_access acc;
	const char *dest, *version, *untardir, *repo, *operand;
	bool untar, quiet;
	int verbose;
};

static int chart_option(void *ud, int id, const char *arg, struct err *e)
{
	struct chart_cli *c = ud;
	switch (id) {
	case 'v': c->verbose++; return 0;
	case 'q': c->quiet = true; return 0;
	case O_UNTAR: c->untar = true; return 0;
	case O_DEST: case 'd': c->dest = arg; return cmd_check_value("--dest", arg, e);
	case O_VERSION: c->version = arg; return cmd_check_value("--version", arg, e);
	case O_UNTARDIR: c->untardir = arg; return cmd_check_value("--untardir", arg, e);
	case O_REPO: c->repo = arg; return cmd_check_value("--repo", arg, e);
	case O_LOGFMT: return cmd_check_log_format(arg, e);
	case O_TERMLOG: return cmd_check_output("--termination-log", arg, e);
	case O_METRICS: return cmd_check_output("--metrics", arg, e);
	default: return cmd_access_option(&c->acc, id, arg, e) < 0 ? -1 : 0;
	}
}

struct chart_got {
	struct pull_image img;
	struct chart_ref ref;
	struct buf tgz, prov;
	bool has_prov;
	char *what;    // the chart in messages: HOST/PATH/NAME:VERSION, or the chart's URL
	char *digest;  // the manifest's, or for a chart repository the .tgz's
	char *name, *version;
	char *file;    // the .tgz's name
	char *written; // what was made: a file or a directory
};

// Helm's version lookup for oci:// without an exact version: the repository's
// tags, read as versions.
static int chart_lookup_version(struct pull_registries *regs, struct chart_ref *ref, struct err *e)
{
	struct pull_registry *reg = pull_registries_get(regs, ref->host, e);
	if (!reg)
		return -1;
	struct pull_repo repo = {.reg = reg, .path = (char *)ref->repo + strlen(ref->host) + 1};
	char **tags = NULL;
	size_t n = 0;
	_cleanup_free_ char *version = NULL;
	int r = pull_repo_tags(&repo, &tags, &n, e);
	if (r == 0 && (r = chart_pick_tag(tags, n, ref->want, &version, e)) < 0)
		err_wrap(e, "chart oci://%s (%zu tags)", ref->repo, n);
	for (size_t i = 0; i < n; i++)
		free(tags[i]);
	free(tags);
	if (r == 0) {
		log_info("chart oci://%s: version %s for '%s'", ref->repo, version, ref->want ? ref->want : "latest");
		r = chart_ref_set_version(ref, version, e);
	}
	return r;
}

// The chart's config: its name and version; the version is the chart's own when
// the reference pinned a digest alone.
static int chart_check_config(struct chart_got *g, struct err *e)
{
	struct buf cfg;
	buf_init(&cfg, OCI_MANIFEST_MAX);
	_cleanup_free_ char *name = NULL, *version = NULL;
	int r = pull_repo_get_blob(&g->img.repo, &g->img.manifest.config, OCI_MANIFEST_MAX, &cfg, e);
	if (r == 0)
		r = chart_config_parse(buf_str(&cfg), cfg.len, &name, &version, e);
	buf_release(&cfg);
	if (r < 0)
		return err_wrap(e, "%s: config", g->img.name);
	if (!g->ref.version && !chart_version_valid(version))
		return err_set(e, ERR_INTEGRITY, "%s: the chart's config gives the version '%.100s', not one a file can "
			       "be named with", g->img.name, version);
	if (strcmp(name, g->ref.name) != 0 || (g->ref.version && strcmp(version, g->ref.version) != 0))
		log_warn("%s: the chart's config names %s %s", g->img.name, name, version);
	g->version = xstrdup(g->ref.version ? g->ref.version : version);
	return 0;
}

// oci://: resolves (looking the version up when needed), checks the manifest
// and the config, fetches the chart (and its provenance).
static int chart_fetch_oci(struct chart_cli *c, struct pull_registries *regs, struct chart_got *g, struct err *e)
{
	if (chart_ref_parse(&g->ref, c->operand, c->version, e) < 0)
		return -1;
	if (g->ref.lookup && chart_lookup_version(regs, &g->ref, e) < 0)
		return -1;
	struct oci_platform host = {0};
	oci_platform_host(&host);
	int r = pull_image_resolve(&g->img, regs, g->ref.ref, &host, e);
	oci_platform_release(&host);
	if (r < 0)
		return -1;
	g->what = xstrdup(g->img.name);
	g->digest = xstrdup(g->img.manifest_digest);
	struct pull_trust t = {0};
	r = c->acc.has_policy ? pull_trust_check(&c->acc.policy, &g->img, &t, e) : 0;
	pull_trust_release(&t);
	if (r < 0)
		return -1;
	const struct oci_descriptor *chart, *prov;
	if (chart_manifest_layers(&g->img.manifest, g->img.name, &chart, &prov, e) < 0 || chart_check_config(g, e) < 0)
		return -1;
	g->name = xstrdup(g->ref.name);
	g->file = xasprintf("%s-%s.tgz", g->name, g->version);
	buf_init(&g->tgz, CHART_MAX_BYTES);
	if (pull_repo_get_blob(&g->img.repo, chart, CHART_MAX_BYTES, &g->tgz, e) < 0)
		return err_wrap(e, "%s: chart", g->img.name);
	buf_init(&g->prov, CHART_PROV_MAX);
	g->has_prov = prov != NULL;
	if (prov && pull_repo_get_blob(&g->img.repo, prov, CHART_PROV_MAX, &g->prov, e) < 0)
		return err_wrap(e, "%s: provenance", g->img.name);
	return 0;
}

// The name helm pull gives a chart of a repository: its URL's last path
// segment, when that is a plain NAME.tgz; NAME-VERSION.tgz otherwise.
static char *chart_repo_file(const char *url, const char *name, const char *version)
{
	const char *q = url + strcspn(url, "?#");
	const char *b = q;
	while (b > url && b[-1] != '/')
		b--;
	size_t n = (size_t)(q - b);
	if (n > 4 && n <= 255 && b[0] != '.' && !strncmp(q - 4, ".tgz", 4) &&
	    strspn(b, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._+-_") >= n)
		return xstrndup(b, n);
	return xasprintf("%s-%s.tgz", name, version);
}

// A chart repository's chart under --policy: it carries no cosign signature,
// so only a scope that asks for none (insecureAcceptAnything) lets it pass;
// it is weighed as HOST/PATH/NAME:VERSION of the repository's URL.
static int chart_repo_trust(const struct chart_cli *c, const struct chart_got *g, struct err *e)
{
	const char *rest = strstr(c->repo, "://");
	rest = rest ? rest + 3 : c->repo;
	size_t n = strlen(rest);
	while (n > 0 && rest[n - 1] == '/')
		n--;
	_cleanup_free_ char *name = xasprintf("%.*s/%s:%s", (int)n, rest, g->name, g->version);
	for (char *p = name; *p; p++)
		if (*p == '+')
			*p = '_';
	struct trust_image ti = {.name = name, .digest = g->digest};
	if (trust_evaluate(&c->acc.policy, &ti, NULL, 0, NULL, e) < 0)
		return err_wrap(e, "chart repositories carry no cosign signatures");
	return 0;
}

// --repo URL NAME: the chart as the repository's index lists it.
static int chart_fetch_repo(struct chart_cli *c, struct chart_got *g, struct err *e)
{
	const char *name = c->operand;
	if (!*name || strlen(name) > 256 || strpbrk(name, "/\\:@?#") || name[0] == '.' ||
	    strspn(name, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._+-_") != strlen(name))
		return err_set(e, ERR_USAGE, "with --repo, '%.200s' must be a chart's name as the repository's index "
			       "lists it", name);
	struct chartrepo repo;
	int r = chartrepo_open(&repo, c->repo, &c->acc.http, &c->acc.store, &c->acc.kinds, e);
	buf_init(&g->tgz, CHART_MAX_BYTES);
	if (r == 0)
		r = chartrepo_fetch(&repo, name, c->version, CHART_MAX_BYTES, &g->tgz, &g->version, &g->what, e);
	chartrepo_close(&repo);
	if (r < 0)
		return -1;
	if (!chart_version_valid(g->version))
		return err_set(e, ERR_INTEGRITY, "chart %s: the index gives the version '%.100s', not one a file can be "
			       "named with", name, g->version);
	g->name = xstrdup(name);
	g->file = chart_repo_file(g->what, name, g->version);
	char d[OCI_DIGEST_LEN + 1];
	oci_digest_of(d, g->tgz.data ? g->tgz.data : "", g->tgz.len);
	g->digest = xstrdup(d);
	return c->acc.has_policy ? chart_repo_trust(c, g, e) : 0;
}

static int chart_store(struct chart_cli *c, struct chart_got *g, struct err *e)
{
	const char *dest = c->dest ? c->dest : ".";
	if (c->untar) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", dest, c->untardir ? c->untardir : ".");
		if (file_mkdirs(dir, e) < 0 || chartuntar_into(dir, g->name, &g->tgz, e) < 0)
			return -1;
		g->written = xasprintf("%s/%s", dir, g->name);
		return 0;
	}
	if (file_mkdirs(dest, e) < 0)
		return -1;
	_cleanup_free_ char *path = xasprintf("%s/%s", dest, g->file);
	if (file_write_atomic(path, g->tgz.data ? g->tgz.data : "", g->tgz.len, e) < 0)
		return -1;
	if (g->has_prov) {
		_cleanup_free_ char *pp = xasprintf("%s.prov", path);
		if (file_write_atomic(pp, g->prov.data ? g->prov.data : "", g->prov.len, e) < 0)
			return -1;
	}
	g->written = xstrdup(path);
	return 0;
}

// The termination message and the metrics, on every exit after parsing.
static void chart_report(const struct outcome_to *to, const char *operand, const struct chart_got *g,
			 const struct err *e, double secs)
{
	struct outcome_chart oc = {.ref = g->what ? g->what : operand ? operand : "(none)", .name = g->name,
				   .version = g->version, .digest = g->digest, .written = g->written,
				   .bytes = g->tgz.len + g->prov.len, .blobs = g->img.name ? 2u + g->has_prov : 1u,
				   .secs = secs};
	outcome_chart(to, &oc, e);
}

static void chart_done(const struct chart_cli *c, const struct chart_got *g)
{
	if (log_json()) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "chart", g->what);
		cJSON_AddStringToObject(f, "version", g->version);
		cJSON_AddStringToObject(f, "digest", g->digest);
		cJSON_AddStringToObject(f, "path", g->written);
		log_record(LOG_INFO, "pulled chart", f);
	} else if (!c->quiet) {
		printf("Pulled: %s\nDigest: %s\n%s\n", g->what, g->digest, g->written);
	}
}

static int chart_args(struct chart_cli *c, int argc, char **argv, struct err *e)
{
	int first;
	int r = cmd_opts_parse(&chart_opts, argc, argv, chart_option, c, &first, e);
	if (r != 0)
		return r;
	log_set_level(c->verbose >= 2 ? LOG_DEBUG : c->verbose == 1 ? LOG_INFO : LOG_WARN);
	if (cmd_access_finish(&c->acc, e) < 0)
		return -1;
	if (first >= argc)
		return err_set(e, ERR_USAGE, "no chart given (see 'imgpull help chart')");
	if (first + 1 < argc && argv[first + 1][0] == '-')
		return err_set(e, ERR_USAGE, "option '%.200s' after the chart: options go before it", argv[first + 1]);
	if (first + 1 < argc)
		return err_set(e, ERR_USAGE, "one chart at a time, not '%.200s' too", argv[first + 1]);
	c->operand = argv[first];
	if (c->repo && !strncmp(c->operand, "oci://", 6))
		return err_set(e, ERR_USAGE, "--repo with an oci:// reference: an oci:// chart names its registry itself");
	return 0;
}

static void chart_got_release(struct chart_got *g)
{
	pull_image_release(&g->img);
	chart_ref_release(&g->ref);
	buf_release(&g->tgz);
	buf_release(&g->prov);
	free(g->what);
	free(g->digest);
	free(g->name);
	free(g->version);
	free(g->file);
	free(g->written);
}

int cmd_chart(int argc, char **argv)
{
	struct outcome_to to;
	outcome_to_early(&to, cmd_opts_early_value(argc, argv, "termination-log"),
			 cmd_opts_early_value(argc, argv, "metrics"));
	struct chart_cli c = {0};
	c.acc.http.retries = 3;
	struct chart_got g = {0};
	struct err e;
	err_clear(&e);
	double t0 = clock_mono();
	int ret = 0, r = chart_args(&c, argc, argv, &e);
	if (r == 1) {
		usage(stdout);
		goto out;
	}
	// registryCredentials entries serving HELM, not those serving CONTAINER only.
	c.acc.store.artifact = AUTH_ART_CHART;
	struct pull_registries regs;
	pull_registries_init(&regs, &c.acc.http, &c.acc.store, &c.acc.kinds);
	regs.hosts_dir = c.acc.hosts_dir;
	if (r == 0)
		r = c.repo ? chart_fetch_repo(&c, &g, &e) : chart_fetch_oci(&c, &regs, &g, &e);
	if (r == 0)
		r = chart_store(&c, &g, &e);
	pull_registries_release(&regs);
	chart_report(&to, c.operand, &g, r < 0 ? &e : NULL, clock_mono() - t0);
	if (r < 0)
		ret = cmd_fail(&e);
	else
		chart_done(&c, &g);
out:
	chart_got_release(&g);
	cmd_access_release(&c.acc);
	return ret;
}
