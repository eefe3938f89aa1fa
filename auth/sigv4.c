// SPDX-License-Identifier: Apache-2.0
#include "auth/sigv4.h"

#include <string.h>

static const struct canonical_scheme sigv4_scheme = {
	.algorithm = "AWS4-HMAC-SHA256",
	.key_prefix = "AWS4",
	.terminal = "aws4_request",
};

int sigv4_sign(const struct canonical_req *req, const struct sigv4_params *p,
	       struct canonical_result *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	struct canonical_stamp st;
	if (canonical_stamp_init(&st, p->when, req, e) < 0)
		return -1;

	struct canonical_header extra[3], after[1];
	size_t nextra = 0, nafter = 0;
	extra[nextra++] = (struct canonical_header){ "X-Amz-Date", st.datetime };
	if (p->sign_body)
		extra[nextra++] = (struct canonical_header){ "X-Amz-Content-Sha256", st.payload };
	if (p->session_token && *p->session_token) {
		// STS-style callers (the suite's "omit_session_token") sign without the
		// token and only then attach it.
		struct canonical_header tok = { "X-Amz-Security-Token", p->session_token };
		if (p->omit_session_token)
			after[nafter++] = tok;
		else
			extra[nextra++] = tok;
	}

	struct canonical_scheme s = sigv4_scheme;
	s.normalize = p->normalize_path;
	return canonical_sign(out, &s, req, p->access_key, p->secret_key, p->region, p->service,
			      &st, extra, nextra, after, nafter, e);
}
