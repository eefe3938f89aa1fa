// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for image references (built by scripts/fuzz.sh). Besides
// crashes and sanitizer reports it checks the contract: an accepted reference
// prints to a string that parses to the same reference.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct oci_ref r, again;
	struct err e;
	if (oci_ref_parse(&r, s, &e) == 0) {
		char *full = oci_ref_string(&r);
		if (oci_ref_parse(&again, full, &e) != 0)
			abort();
		if (!eq(r.domain, again.domain) || !eq(r.path, again.path) || !eq(r.tag, again.tag) ||
		    !eq(r.digest, again.digest) || !eq(r.registry, again.registry))
			abort();
		oci_ref_release(&again);
		free(full);
		oci_ref_release(&r);
	} else if (e.cls != ERR_USAGE || !e.msg[0] || strchr(e.msg, '\n')) {
		abort();
	}
	free(s);
	return 0;
}
