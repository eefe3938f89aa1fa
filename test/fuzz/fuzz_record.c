// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the progress record (oci/ingest), which a resume trusts
// to decide which bytes of a partial file to keep. Besides crashes it checks
// the parser's contract: an accepted record has one written prefix per chunk,
// none longer than its chunk; a refused one hands nothing out.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "oci/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define D "sha256:0000000000000000000000000000000000000000000000000000000000000001"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t sizes[] = {0, 1, 10, 1u << 20, 40000000000ull};
	uint64_t blob = sizes[size ? data[0] % 5 : 0];
	uint64_t chunk = 0, *w = NULL;
	size_t n = 99;
	struct err e;
	(void)oci_ingest_record_intact((const char *)data, size); // the seal check reads it too
	if (oci_ingest_record_parse((const char *)data, size, D, blob, "boot", &chunk, &w, &n, &e) == 0) {
		if (!chunk || n != (blob ? (blob - 1) / chunk + 1 : 0))
			abort();
		for (size_t k = 0; k < n; k++) {
			uint64_t start = (uint64_t)k * chunk, len = blob - start < chunk ? blob - start : chunk;
			if (w[k] > len)
				abort();
		}
		free(w);
	} else if (w || n != 0 || e.cls != ERR_STORAGE) {
		abort();
	}
	return 0;
}
