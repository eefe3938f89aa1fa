// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the cosign signature manifest's layers
// (auth/trust.c trust_sig_manifest_parse). Besides crashes and sanitizer
// reports it checks the contract: what is kept has a valid digest, a size
// within the payload cap and a signature, at most TRUST_SIGS_MAX of them; a
// refusal is one ERR_INTEGRITY line.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sigstore.h"
#include "auth/trust.h"
#include "oci/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trust_sig_layer *v = NULL;
	size_t n = 0;
	struct err e;
	if (trust_sig_manifest_parse((const char *)data, size, &v, &n, &e) == 0) {
		if (n > TRUST_SIGS_MAX)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!oci_digest_valid(v[i].digest) || v[i].size > SIGSTORE_PAYLOAD_MAX || !v[i].signature)
				abort();
	} else if (e.cls != ERR_INTEGRITY || !e.msg[0] || strchr(e.msg, '\n')) {
		abort();
	}
	trust_sig_layers_free(v, n);
	return 0;
}
