// SPDX-License-Identifier: Apache-2.0
// AWS Signature Version 4, Authorization-header form, for the few AWS calls we
// make (ECR GetAuthorizationToken). Checked against the aws-c-auth v4 suite
// (test/data/aws-sigv4). The signing key is derived per call and wiped; the
// secret key is never copied into the result or an error message.
#ifndef IMGPULL_AUTH_SIGV4_H
#define IMGPULL_AUTH_SIGV4_H

#include <stdbool.h>
#include <time.h>

#include "auth/canonical.h"
#include "util/err.h"

struct sigv4_params {
	const char *access_key;
	const char *secret_key;
	const char *session_token; // NULL or "" for long-term keys
	const char *region;	   // "us-east-1"
	const char *service;	   // "ecr"
	time_t when;
	bool normalize_path;	 // true for every service but S3
	bool sign_body;		 // add and sign X-Amz-Content-Sha256
	bool omit_session_token; // add X-Amz-Security-Token after signing, unsigned
};

// Signs req. out->add lists what to add to the request: X-Amz-Date, then
// X-Amz-Content-Sha256 (sign_body) and X-Amz-Security-Token (a session token).
// The request must not carry those itself (ERR_INTERNAL). Bad parameters: ERR_USAGE.
// Release out with canonical_result_release, also after a failure.
int sigv4_sign(const struct canonical_req *req, const struct sigv4_params *p,
	       struct canonical_result *out, struct err *e);

#endif
