// SPDX-License-Identifier: Apache-2.0
// The endpoints of a registry's namespace from containerd's hosts.toml
// (transport/hosts.h): mirrors and pull-through caches in file order, then
// the registry; each a pull_registry of its own (its host's credential, its
// own TLS settings and headers), shared by every image of the run.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pull/registry.h"
#include "transport/hosts.h"
#include "util/log.h"
#include "util/mem.h"

struct pull_ns {
	char *domain;
	struct pull_registry **eps;
	size_t n;
	struct http_config *cfgs; // one per endpoint with settings of its own (n of them)
	char *source;             // the hosts.toml read, NULL: none
};

static void ns_release(struct pull_ns *ns)
{
	for (size_t i = 0; ns->cfgs && i < ns->n; i++)
		http_config_release(&ns->cfgs[i]);
	free(ns->cfgs);
	free(ns->eps);
	free(ns->domain);
	free(ns->source);
}

void pull_registries_release_ns(struct pull_registries *rs)
{
	for (size_t i = 0; i < rs->nns; i++) {
		ns_release(rs->ns[i]);
		free(rs->ns[i]);
	}
	free(rs->ns);
	rs->ns = NULL;
	rs->nns = 0;
}

// An endpoint's own HTTP settings (its CAs beside the run's, client
// certificate, skip_verify, headers) into cfg; false when it has none.
static int ns_endpoint_cfg(const struct pull_registries *rs, const struct hosts_endpoint *ep, struct http_config *cfg,
			   bool *own, struct err *e)
{
	*own = ep->nca || ep->nclient || ep->skip_verify || ep->nheaders || ep->has_dial_timeout;
	if (!*own)
		return 0;
	http_config_derive(cfg, rs->cfg);
	if (ep->has_dial_timeout) // containerd's 0 is "none": libcurl's longest
		cfg->connect_timeout_s = ep->dial_timeout_ns > 0 ? (long)((ep->dial_timeout_ns + 999999999) / 1000000000)
								: 300;
	for (size_t i = 0; i < ep->nca; i++)
		if (http_ca_add(cfg, ep->ca[i], e) < 0)
			return -1;
	if (ep->nclient) { // libcurl takes one client certificate: the first
		cfg->client_cert = xstrdup(ep->client_cert[0]);
		cfg->client_key = ep->client_key[0] ? xstrdup(ep->client_key[0]) : NULL;
	}
	cfg->skip_verify = ep->skip_verify;
	for (size_t i = 0; i < ep->nheaders; i++) {
		_cleanup_free_ char *h = xasprintf("%s: %s", ep->headers[i].name, ep->headers[i].value);
		cfg->headers = curl_slist_append(cfg->headers, h);
	}
	return 0;
}

// The registries of the endpoints of hc for namespace domain.
static int ns_build(struct pull_registries *rs, struct pull_ns *ns, const struct hosts_config *hc, struct err *e)
{
	ns->eps = xcalloc(hc->n ? hc->n : 1, sizeof(*ns->eps));
	ns->cfgs = xcalloc(hc->n ? hc->n : 1, sizeof(*ns->cfgs));
	for (size_t i = 0; i < hc->n; i++) {
		const struct hosts_endpoint *ep = &hc->v[i];
		bool own;
		if (ns_endpoint_cfg(rs, ep, &ns->cfgs[i], &own, e) < 0)
			return err_wrap(e, "%s", hc->source ? hc->source : "hosts");
		_cleanup_free_ char *base = xasprintf("%s://%s", ep->scheme, ep->host);
		_cleanup_free_ char *api = hosts_endpoint_base(ep);
		unsigned caps = ((ep->caps & HOSTS_CAP_PULL) ? PULL_CAP_PULL : 0) |
				((ep->caps & HOSTS_CAP_RESOLVE) ? PULL_CAP_RESOLVE : 0);
		struct pull_endpoint_spec sp = {.host = ep->host, .base_url = base, .api = api,
						.ns = hosts_endpoint_is_proxy(ep, ns->domain) ? ns->domain : NULL, .caps = caps,
						.cfg = own ? &ns->cfgs[i] : NULL};
		ns->eps[i] = pull_registries_endpoint(rs, &sp, e);
		if (!ns->eps[i])
			return -1;
		ns->n = i + 1;
	}
	return 0;
}

int pull_registries_endpoints(struct pull_registries *rs, const char *domain, const char *registry,
			      struct pull_registry *const **eps, size_t *n, struct err *e)
{
	for (size_t i = 0; i < rs->nns; i++)
		if (!strcmp(rs->ns[i]->domain, domain)) {
			*eps = rs->ns[i]->eps;
			*n = rs->ns[i]->n;
			return 0;
		}
	struct pull_ns *ns = xcalloc(1, sizeof(*ns));
	ns->domain = xstrdup(domain);
	struct hosts_config hc = {0};
	int r = rs->hosts_dir ? hosts_load(&hc, rs->hosts_dir, domain, e) : 0;
	if (r == 0 && hc.source) {
		ns->source = xstrdup(hc.source);
		r = ns_build(rs, ns, &hc, e);
		log_info("registry %s: %zu endpoint%s from %s", domain, ns->n, ns->n == 1 ? "" : "s", hc.source);
	} else if (r == 0) { // no hosts.toml: the registry alone, as before
		ns->eps = xcalloc(1, sizeof(*ns->eps));
		ns->eps[0] = pull_registries_get(rs, registry, e);
		ns->n = ns->eps[0] ? 1 : 0;
		r = ns->eps[0] ? 0 : -1;
	}
	hosts_release(&hc);
	if (r < 0) {
		ns_release(ns);
		free(ns);
		return -1;
	}
	rs->ns = xrealloc(rs->ns, (rs->nns + 1) * sizeof(*rs->ns));
	rs->ns[rs->nns++] = ns;
	*eps = ns->eps;
	*n = ns->n;
	return 0;
}
