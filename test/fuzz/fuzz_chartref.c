// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for oci:// chart references (pull/chart.c). Besides crashes
// and sanitizer reports it checks the contract: an accepted reference's
// registry reference parses, its tag is the version with '+' as '_', and it
// parses again to the same fields (or it is a lookup of --version, or a digest
// alone); a rejection is one ERR_USAGE line.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/ref.h"
#include "pull/chart.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// An accepted reference with its version known: the registry reference
// parses, its tag is the version with '+' as '_', and it reads back the same.
static void check_versioned(const struct chart_ref *r)
{
	struct err e;
	struct oci_ref o;
	if (oci_ref_parse(&o, r->ref, &e) != 0 || !o.tag || strcmp(o.domain, r->host) != 0)
		abort();
	char *tag = xstrdup(r->version);
	for (char *p = tag; *p; p++)
		if (*p == '+')
			*p = '_';
	if (strcmp(o.tag, tag) != 0 || strchr(r->name, '/') || strchr(r->name, ':') ||
	    (r->digest && (!o.digest || strcmp(o.digest, r->digest) != 0)))
		abort();
	free(tag);
	oci_ref_release(&o);
	char *again = r->digest ? xasprintf("oci://%s:%s@%s", r->repo, r->version, r->digest)
				: xasprintf("oci://%s:%s", r->repo, r->version);
	struct chart_ref r2;
	if (chart_ref_parse(&r2, again, NULL, &e) != 0 || strcmp(r2.ref, r->ref) != 0 ||
	    strcmp(r2.version, r->version) != 0 || strcmp(r2.name, r->name) != 0)
		abort();
	chart_ref_release(&r2);
	free(again);
}

static void check(const char *s, const char *version)
{
	struct chart_ref r;
	struct err e;
	if (chart_ref_parse(&r, s, version, &e) == 0) {
		if (!r.repo || !r.host || !r.name || strncmp(r.repo, r.host, strlen(r.host)) != 0)
			abort();
		if (r.lookup) {
			// A range (or none) to look up: no reference yet.
			if (r.ref || r.version || (version && (!r.want || strcmp(r.want, version) != 0)))
				abort();
		} else if (r.version) {
			check_versioned(&r);
		} else {
			// A digest alone.
			char *want = xasprintf("%s@%s", r.repo, r.digest ? r.digest : "");
			if (!r.digest || strcmp(r.ref, want) != 0)
				abort();
			free(want);
		}
	} else if (e.cls != ERR_USAGE || !e.msg[0] || strchr(e.msg, '\n')) {
		abort();
	}
	chart_ref_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check(s, NULL);
	// A second NUL-separated part, if any, is the --version value.
	size_t n = strlen(s);
	check(s, n < size ? s + n + 1 : "1.0.0+x");
	free(s);
	return 0;
}
