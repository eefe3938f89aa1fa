// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for signature policies (--policy FILE) as policy_parse reads
// them: arbitrary JSON, with keys in keyData (a keyPath names a file that is, for
// a fuzzer, almost always missing: an error like any other). Besides crashes and
// sanitizer reports it checks the contract: an error is ERR_USAGE, one line,
// "policy FILE: " first, and leaves the policy empty; a policy taken has a
// non-empty default, non-empty requirement lists, a key for every
// sigstoreSigned, and the lookup and identity matches answer for any reference.
#include <openssl/err.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"

#define FUZZ_FILE "/fuzz/policy.json"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const refs[] = {
	"docker.io/library/busybox:1.36",
	"quay.io/ns/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"a.b.example.com:5000/team/app:v1",
	"[::1]:5000/x:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"not a reference",
};

static void check_reqs(const struct policy_reqs *rs)
{
	if (!rs->scope || rs->n == 0 || !rs->v)
		abort();
	for (size_t i = 0; i < rs->n; i++) {
		const struct policy_req *r = &rs->v[i];
		if (r->kind == POLICY_SIGSTORE && (r->nkeys == 0 || !r->keys_from))
			abort();
		for (size_t k = 0; k < r->nkeys; k++)
			if (!r->keys[k])
				abort();
		for (size_t a = 0; a < sizeof(refs) / sizeof(refs[0]); a++)
			for (size_t b = 0; b < sizeof(refs) / sizeof(refs[0]); b++)
				(void)policy_identity_ok(&r->identity, refs[a], refs[b]);
	}
}

static void check_policy(const struct policy *p)
{
	check_reqs(&p->def);
	if (p->has_docker_default)
		check_reqs(&p->docker_default);
	for (size_t i = 0; i < p->ndocker; i++) {
		if (!p->docker[i].scope[0] || p->docker[i].reqs.scope != p->docker[i].scope)
			abort();
		check_reqs(&p->docker[i].reqs);
	}
	for (size_t a = 0; a < sizeof(refs) / sizeof(refs[0]); a++) {
		const struct policy_reqs *rs = policy_for(p, refs[a]);
		if (!rs || rs->n == 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy p;
	struct err e = {0};
	if (policy_parse(&p, (const char *)data, size, FUZZ_FILE, &e) < 0) {
		if (e.cls != ERR_USAGE || strncmp(e.msg, "policy " FUZZ_FILE ": ", strlen("policy " FUZZ_FILE ": ")) != 0)
			abort();
		for (const char *c = e.msg; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
				abort();
		if (p.path || p.def.v || p.docker || p.docker_default.v)
			abort();
	} else {
		check_policy(&p);
	}
	policy_release(&p);
	// OpenSSL's error queue is per thread: nothing may be left behind.
	if (ERR_peek_error() != 0)
		abort();
	return 0;
}
