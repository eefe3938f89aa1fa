// SPDX-License-Identifier: Apache-2.0
#include "auth/volcsign.h"

#include <string.h>

static const struct sign_scheme volc_scheme = {
	.algorithm = "HMAC-SHA256",
	.key_prefix = "",
	.terminal = "request",
	.normalize = false,
};

int volc_sign(const struct sign_request *req, const struct volc_params *p,
	      struct sign_result *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	struct sign_stamp st;
	if (sign_stamp_init(&st, p->when, req, e) < 0)
		return -1;
	// The official SDKs send and sign the body hash on every call, GET included
	// (content-type;host;x-content-sha256;x-date); our requests look the same.
	const struct sign_header extra[] = {
		{ "X-Date", st.datetime },
		{ "X-Content-Sha256", st.payload },
	};
	return sign_compute(out, &volc_scheme, req, p->access_key, p->secret_key, p->region,
			    p->service, &st, extra, 2, NULL, 0, e);
}
