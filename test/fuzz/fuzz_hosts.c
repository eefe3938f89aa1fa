// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for containerd's hosts.toml as hosts_parse reads it (the
// registry host and the file's path picked by the input's size). Besides
// crashes and sanitizer reports it checks the contract: a refusal is one
// ERR_USAGE line and leaves nothing; an accepted file gives 1..HOSTS_MAX+1
// endpoints, the server last and only there, http or https, a host, an API
// path from '/' that hosts_endpoint_base turns into a URL without blanks or
// control characters, capabilities, paths, headers and a dial timeout as the
// HTTP layer can take them.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/hosts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static void check_base(const struct hosts_endpoint *ep)
{
	char *base = hosts_endpoint_base(ep);
	size_t ls = strlen(ep->scheme), lh = strlen(ep->host);
	if (strncmp(base, ep->scheme, ls) || strncmp(base + ls, "://", 3) || strncmp(base + ls + 3, ep->host, lh))
		abort();
	const char *rest = base + ls + 3 + lh;
	if ((*rest && *rest != '/') || has_ctl(base) || strpbrk(base, " \"<>\\^`{|}") ||
	    base[strlen(base) - 1] == '/')
		abort();
	free(base);
}

static void check_endpoint(const struct hosts_endpoint *ep, bool last, bool abs_paths)
{
	if (ep->is_server != last || (strcmp(ep->scheme, "https") && strcmp(ep->scheme, "http")))
		abort();
	if (!ep->host[0] || strpbrk(ep->host, "/ @?#") || has_ctl(ep->host))
		abort();
	if (ep->path[0] != '/' || strstr(ep->path, "//") || strpbrk(ep->path, "%?#") || has_ctl(ep->path) ||
	    (strlen(ep->path) > 1 && ep->path[strlen(ep->path) - 1] == '/'))
		abort();
	if (!ep->caps || (ep->caps & ~(unsigned)HOSTS_CAP_ALL) || (ep->http_fallback && strcmp(ep->scheme, "https")))
		abort();
	if ((ep->nca || ep->nclient || ep->skip_verify || ep->http_fallback) && !ep->tls_explicit)
		abort();
	for (size_t i = 0; i < ep->nca; i++)
		if (!ep->ca[i][0] || (abs_paths && ep->ca[i][0] != '/'))
			abort();
	for (size_t i = 0; i < ep->nclient; i++)
		if (!ep->client_cert[i][0] || (abs_paths && ep->client_cert[i][0] != '/') ||
		    (ep->client_key[i] && (!ep->client_key[i][0] || (abs_paths && ep->client_key[i][0] != '/'))))
			abort();
	for (size_t i = 0; i < ep->nheaders; i++)
		if (!ep->headers[i].name[0] || strpbrk(ep->headers[i].name, " :\t") || has_ctl(ep->headers[i].name) ||
		    strpbrk(ep->headers[i].value, "\r\n"))
			abort();
	if (ep->has_dial_timeout ? ep->dial_timeout_ns < 0 : ep->dial_timeout_ns != 0)
		abort();
	check_base(ep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hosts[] = {"docker.io", "localhost:5000", "registry.example.com", "[::1]:5000"};
	static const char *const files[] = {NULL, "/etc/containerd/certs.d/registry.example.com/hosts.toml"};
	const char *file = files[(size / 4) % 2];
	struct hosts_config c = {0};
	struct err e = {0};
	if (hosts_parse(&c, (const char *)data, size, hosts[size % 4], file, &e) < 0) {
		if (e.cls != ERR_USAGE || !e.msg[0] || strchr(e.msg, '\n') || c.n || c.v || c.source)
			abort();
		return 0;
	}
	if (c.n < 1 || c.n > HOSTS_MAX + 1 || (file && strcmp(c.source, file)) || (!file && c.source))
		abort();
	for (size_t i = 0; i < c.n; i++)
		check_endpoint(&c.v[i], i + 1 == c.n, file != NULL);
	hosts_release(&c);
	return 0;
}
