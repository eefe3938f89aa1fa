// SPDX-License-Identifier: Apache-2.0
#include "auth/volcsign.h"

#include <string.h>

static const struct canonical_scheme volc_scheme = {
	.algorithm = "HMAC-SHA256",
	.key_prefix = "",
	.terminal = "request",
	.normalize = false,
};

int volcsign_sign(const struct canonical_req *req, const struct volcsign_params *p,
		  struct canonical_result *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	struct canonical_stamp st;
	if (canonical_stamp_init(&st, p->when, req, e) < 0)
		return -1;
	// The official SDKs send and sign the body hash on every call, GET included
	// (content-type;host;x-content-sha256;x-date); our requests look the same.
	const struct canonical_header extra[] = {
		{ "X-Date", st.datetime },
		{ "X-Content-Sha256", st.payload },
	};
	return canonical_sign(out, &volc_scheme, req, p->access_key, p->secret_key, p->region,
			      p->service, &st, extra, 2, NULL, 0, e);
}
