// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the progress record (oci/ingest), which a resume trusts
// to decide which bytes of a partial file to keep. Besides crashes it checks
// the parser's contract: an accepted record has one written prefix per chunk,
// none longer than its chunk; a refused one hands nothing out.
#include <stdbool.h>
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
	struct oci_ingest_record r = {.n = 99};
	struct err e;
	(void)oci_ingest_record_intact((const char *)data, size); // the seal check reads it too
	const char *boot = size > 1 && data[1] & 1 ? "boot" : "other";
	if (oci_ingest_record_parse((const char *)data, size, D, blob, boot, &r, &e) == 0) {
		if (!r.chunk || r.n != (blob ? (blob - 1) / r.chunk + 1 : 0) || r.hashed > blob)
			abort();
		uint64_t contig = 0;
		bool gap = false;
		for (size_t k = 0; k < r.n; k++) {
			uint64_t start = (uint64_t)k * r.chunk, len = blob - start < r.chunk ? blob - start : r.chunk;
			if (r.written[k] > len)
				abort();
			// Another boot's record keeps nothing past its hashed prefix.
			if (r.other_boot && start + r.written[k] > r.hashed && r.written[k])
				abort();
			if (!gap)
				contig = start + r.written[k];
			gap |= r.written[k] < len;
		}
		if (r.hashed > contig || (r.other_boot && !r.hashed))
			abort();
		oci_ingest_record_release(&r);
	} else if (r.written || r.n != 0 || e.cls != ERR_STORAGE) {
		abort();
	}
	return 0;
}
