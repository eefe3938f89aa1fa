// SPDX-License-Identifier: Apache-2.0
// Volcano Engine OpenAPI request signing (docs 6369/67269, 6369/67270), used for
// cr GetAuthorizationToken. Same layout as AWS SigV4 with other names:
// X-Date / X-Content-Sha256 headers, "HMAC-SHA256" algorithm, key chain starting
// at HMAC(SK, YYYYMMDD) with no prefix and ending in "request". The path is not
// normalized (OpenAPI paths are "/"). Secrets are handled as in auth/sigv4.h.
#ifndef IMGPULL_AUTH_VOLCSIGN_H
#define IMGPULL_AUTH_VOLCSIGN_H

#include <time.h>

#include "auth/canonical.h"
#include "util/err.h"

struct volcsign_params {
	const char *access_key;
	const char *secret_key;
	const char *region;  // "cn-beijing"
	const char *service; // "cr"
	time_t when;
};

// Signs req: every header given (Content-Type and Host among them) plus X-Date
// and X-Content-Sha256, which the signer adds (out->add, in that order) and the
// request must not carry itself (ERR_INTERNAL). Bad parameters: ERR_USAGE.
// Release out with canonical_result_release, also after a failure.
int volcsign_sign(const struct canonical_req *req, const struct volcsign_params *p,
		  struct canonical_result *out, struct err *e);

#endif
