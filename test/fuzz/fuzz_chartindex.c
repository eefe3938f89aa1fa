// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the chart repository's index.yaml reader
// (pull/chartrepo_index.c). Besides crashes and sanitizer reports it checks
// the contract: an accepted index gives at least one version, each with a
// version and a URL within the caps; a refusal is one line of class
// ERR_INTEGRITY or ERR_NOTFOUND. The chart read is "demo", or the text after
// the first NUL when there is one.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pull/chartrepo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	size_t n = strlen(s);
	const char *name = n < size ? s + n + 1 : "demo";
	struct chartrepo_versions vs;
	struct err e;
	if (chartrepo_index_read(s, n, name, &vs, &e) == 0) {
		if (vs.n == 0 || vs.n > CHARTREPO_VERSIONS_MAX)
			abort();
		for (size_t i = 0; i < vs.n; i++)
			if (!vs.v[i].version || !vs.v[i].url || strlen(vs.v[i].url) > CHARTREPO_SCALAR_MAX ||
			    strlen(vs.v[i].version) > CHARTREPO_SCALAR_MAX)
				abort();
		chartrepo_versions_release(&vs);
	} else if ((e.cls != ERR_INTEGRITY && e.cls != ERR_NOTFOUND) || !e.msg[0] || strchr(e.msg, '\n') || vs.n) {
		abort();
	}
	free(s);
	return 0;
}
