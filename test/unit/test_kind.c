// SPDX-License-Identifier: Apache-2.0
// Registry kinds from hostnames (ECR forms, Volcano Engine instance/region
// split, ACR, NGC, Docker Hub), --registry-kind overrides, the NVCF allowlist
// from the environment, realm-based refinement, and RFC 3339 expiry parsing.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/ecr.h"
#include "auth/kind.h"
#include "util/timefmt.h"

static void expect_kind(const struct kind_table *ks, const char *host, enum kind_registry want)
{
	struct kind_info i;
	struct err e = {0};
	if (kind_classify(ks, host, &i, &e) != 0)
		fail_msg("classify %s: %s", host, e.msg);
	if (i.kind != want)
		fail_msg("%s: kind %s, want %s", host, kind_name(i.kind), kind_name(want));
	kind_info_release(&i);
}

static void test_hostnames(void **state)
{
	(void)state;
	expect_kind(NULL, "nvcr.io", KIND_NGC);
	expect_kind(NULL, "NVCR.IO", KIND_NGC);
	expect_kind(NULL, "public.ecr.aws", KIND_ECR_PUBLIC);
	expect_kind(NULL, "myreg.azurecr.io", KIND_ACR);
	expect_kind(NULL, "myreg.azurecr.cn", KIND_ACR);
	expect_kind(NULL, "myreg.azurecr.us", KIND_ACR);
	expect_kind(NULL, "azurecr.io", KIND_GENERIC);
	expect_kind(NULL, "registry-1.docker.io", KIND_DOCKERHUB);
	expect_kind(NULL, "docker.io", KIND_DOCKERHUB);
	expect_kind(NULL, "acme.jfrog.io", KIND_ARTIFACTORY);
	expect_kind(NULL, "ghcr.io", KIND_GENERIC);
	expect_kind(NULL, "localhost:5000", KIND_GENERIC);
	expect_kind(NULL, "[::1]:5000", KIND_GENERIC);
	expect_kind(NULL, "1234567890123.dkr.ecr.us-west-2.amazonaws.com", KIND_GENERIC); // 13 digits
	expect_kind(NULL, "12345678901.dkr.ecr.us-west-2.amazonaws.com", KIND_GENERIC);   // 11 digits
	expect_kind(NULL, "123456789012.dkr.ecr.us-west-2.amazonaws.com.evil.com", KIND_GENERIC);
	expect_kind(NULL, "x123456789012.dkr.ecr.us-west-2.amazonaws.com", KIND_GENERIC);
	expect_kind(NULL, "cr.volces.com", KIND_GENERIC);
	expect_kind(NULL, "inst-cn-beijing.cr.volces.com.evil.com", KIND_GENERIC);
}

static void expect_ecr(const char *host, const char *account, const char *region, const char *domain, bool fips,
		       const char *api)
{
	struct kind_info i;
	struct err e = {0};
	assert_int_equal(kind_classify(NULL, host, &i, &e), 0);
	if (i.kind != KIND_ECR)
		fail_msg("%s is not ECR", host);
	assert_string_equal(i.account, account);
	assert_string_equal(i.region, region);
	assert_string_equal(i.domain, domain);
	assert_int_equal(i.fips, fips);
	char *endpoint = ecr_api_endpoint(&i);
	assert_string_equal(endpoint, api);
	free(endpoint);
	kind_info_release(&i);
}

static void test_ecr(void **state)
{
	(void)state;
	expect_ecr("123456789012.dkr.ecr.us-west-2.amazonaws.com", "123456789012", "us-west-2", "amazonaws.com", false,
		   "https://api.ecr.us-west-2.amazonaws.com");
	expect_ecr("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "123456789012", "us-gov-west-1",
		   "amazonaws.com", true, "https://ecr-fips.us-gov-west-1.amazonaws.com");
	expect_ecr("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "123456789012", "cn-north-1", "amazonaws.com.cn",
		   false, "https://api.ecr.cn-north-1.amazonaws.com.cn");
	expect_ecr("123456789012.dkr-ecr.eu-west-1.on.aws", "123456789012", "eu-west-1", "on.aws", false,
		   "https://ecr.eu-west-1.api.aws");
	expect_ecr("123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu", "123456789012", "eusc-de-east-1", "amazonaws.eu",
		   false, "https://api.ecr.eusc-de-east-1.amazonaws.eu");
	expect_ecr("123456789012.dkr.ecr.us-west-2.amazonaws.com:443", "123456789012", "us-west-2", "amazonaws.com",
		   false, "https://api.ecr.us-west-2.amazonaws.com");
}

static void expect_volc(const char *host, const char *instance, const char *region)
{
	struct kind_info i;
	struct err e = {0};
	assert_int_equal(kind_classify(NULL, host, &i, &e), 0);
	if (i.kind != KIND_VOLCENGINE)
		fail_msg("%s is not Volcano Engine", host);
	assert_string_equal(i.instance, instance);
	assert_string_equal(i.region, region);
	kind_info_release(&i);
}

static void test_volcengine(void **state)
{
	(void)state;
	expect_volc("myinst-cn-beijing.cr.volces.com", "myinst", "cn-beijing");
	expect_volc("my-team-inst-cn-shanghai.cr.volces.com", "my-team-inst", "cn-shanghai");
	expect_volc("team-cn-test-cn-guangzhou.cr.volces.com", "team-cn-test", "cn-guangzhou");
	expect_volc("abc-ap-southeast-1.cr.volces.com", "abc", "ap-southeast-1");
	expect_volc("abc-cn-beijing.cr.ivolces.com", "abc", "cn-beijing");
}

static void test_overrides(void **state)
{
	(void)state;
	struct kind_table ks = {0};
	struct err e = {0};
	assert_int_equal(kind_table_add_override(&ks, "harbor.corp.example:8443=harbor", &e), 0);
	assert_int_equal(kind_table_add_override(&ks, "nvcr.io=generic", &e), 0);
	assert_int_equal(kind_table_add_override(&ks, "ecr.local=ecr", &e), 0);
	assert_int_equal(kind_table_add_override(&ks, "nope", &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	assert_int_equal(kind_table_add_override(&ks, "x=martian", &e), -1);
	assert_int_equal(kind_table_add_override(&ks, "=ecr", &e), -1);
	expect_kind(&ks, "harbor.corp.example:8443", KIND_HARBOR);
	expect_kind(&ks, "nvcr.io", KIND_GENERIC);
	struct kind_info i;
	// Forced to ECR, but the name carries no account or region: refused.
	assert_int_equal(kind_classify(&ks, "ecr.local", &i, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	kind_table_release(&ks);
}

static void test_env(void **state)
{
	(void)state;
	char *env[] = {
		(char *)"PATH=/bin",
		(char *)"NVCF_REGISTRIES_RECOGNIZED_CONTAINER_GHCR_HOSTNAME=ghcr.io",
		(char *)"NVCF_REGISTRIES_RECOGNIZED_CONTAINER_GHCR_NAME=GitHub",
		(char *)"NVCF_REGISTRIES_RECOGNIZED_CONTAINER_NGC_HOSTNAME=stg.nvidia-registry.example",
		(char *)"NVCF_REGISTRIES_RECOGNIZED_CONTAINER_INTERNAL_HOSTNAME=https://registry.internal:5000/",
		(char *)"NVCF_REGISTRIES_RECOGNIZED_CONTAINER_EMPTY_HOSTNAME=",
		(char *)"NVCF_REGISTRIES_RECOGNIZED_CONTAINER_X_NAME=only a name",
		NULL,
	};
	struct kind_table ks = {0};
	kind_table_load_env(&ks, env);
	assert_int_equal(ks.n, 3);
	struct kind_info i;
	struct err e = {0};
	assert_int_equal(kind_classify(&ks, "ghcr.io", &i, &e), 0);
	assert_int_equal(i.kind, KIND_CUSTOM);
	assert_string_equal(i.label, "GitHub");
	assert_string_equal(i.why, "NVCF_REGISTRIES_RECOGNIZED_CONTAINER_GHCR_HOSTNAME");
	kind_info_release(&i);
	expect_kind(&ks, "stg.nvidia-registry.example", KIND_NGC);
	expect_kind(&ks, "registry.internal:5000", KIND_CUSTOM);
	expect_kind(&ks, "quay.io", KIND_GENERIC);
	kind_table_release(&ks);
}

static void test_realm(void **state)
{
	(void)state;
	assert_int_equal(kind_from_realm(KIND_GENERIC, "https://h.example/service/token"), KIND_HARBOR);
	assert_int_equal(kind_from_realm(KIND_GENERIC, "https://a.example/artifactory/api/docker/docker-remote/v2/token"), KIND_ARTIFACTORY);
	assert_int_equal(kind_from_realm(KIND_GENERIC, "https://auth.example/token"), KIND_GENERIC);
	assert_int_equal(kind_from_realm(KIND_NGC, "https://h.example/service/token"), KIND_NGC);
	assert_int_equal(kind_from_realm(KIND_GENERIC, NULL), KIND_GENERIC);
}

static void test_rfc3339(void **state)
{
	(void)state;
	time_t t;
	assert_int_equal(timefmt_parse_rfc3339("2026-11-22T10:00:00Z", &t), 0);
	assert_int_equal((long)t, 1795341600L);
	assert_int_equal(timefmt_parse_rfc3339("2026-11-22T10:00:00.123456Z", &t), 0);
	assert_int_equal((long)t, 1795341600L);
	assert_int_equal(timefmt_parse_rfc3339("2026-11-22T18:00:00+08:00", &t), 0);
	assert_int_equal((long)t, 1795341600L);
	assert_int_equal(timefmt_parse_rfc3339("2026-11-22T05:00:00-05:00", &t), 0);
	assert_int_equal((long)t, 1795341600L);
	const char *bad[] = {"", "2026-11-22", "2026-11-22T10:00:00", "2026-13-22T10:00:00Z",
			     "2026-11-22T10:00:00Zjunk", "2026-11-22T10:00:00.Z", "20261122T100000Z",
			     "2026-11-22T10:00:00+0800"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (timefmt_parse_rfc3339(bad[i], &t) == 0)
			fail_msg("accepted [%s]", bad[i]);
	char buf[32];
	timefmt_rfc3339(1795341600, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-22T10:00:00Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostnames), cmocka_unit_test(test_ecr), cmocka_unit_test(test_volcengine),
		cmocka_unit_test(test_overrides), cmocka_unit_test(test_env), cmocka_unit_test(test_realm),
		cmocka_unit_test(test_rfc3339),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
