// SPDX-License-Identifier: Apache-2.0
#include "oci/chainid.h"

#include <stdio.h>
#include <string.h>

int oci_chain_ids(const char *const *diff_ids, size_t n, char (*out)[OCI_DIGEST_LEN + 1], struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		if (oci_digest_check(diff_ids[i], ERR_INTEGRITY, e) < 0)
			return err_wrap(e, "diff_id %zu", i);
		if (i == 0) {
			snprintf(out[0], OCI_DIGEST_LEN + 1, "%s", diff_ids[0]);
			continue;
		}
		char joined[2 * OCI_DIGEST_LEN + 2];
		int len = snprintf(joined, sizeof(joined), "%s %s", out[i - 1], diff_ids[i]);
		oci_digest_of(out[i], joined, (size_t)len);
	}
	return 0;
}
