// SPDX-License-Identifier: Apache-2.0
// pull/hasher: jobs hashed as bytes become available, and a job cancelled
// midway (the engine's fallback to another endpoint) added again from nothing.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "pull/hasher.h"

#define SIZE (3u << 20)

static void wake(void *ud)
{
	(void)ud;
}

static int file_of(unsigned char fill)
{
	int fd = memfd_create("hasher", 0);
	assert_true(fd >= 0);
	unsigned char *b = malloc(SIZE);
	memset(b, fill, SIZE);
	assert_int_equal(pwrite(fd, b, SIZE, 0), (ssize_t)SIZE);
	free(b);
	return fd;
}

static void wait_done(struct pull_hasher *h, struct hash_job *j)
{
	for (int i = 0; i < 5000 && !pull_hasher_result(h, j); i++)
		usleep(1000);
}

static void expect_md(const struct hash_job *j, unsigned char fill)
{
	unsigned char *b = malloc(SIZE), md[32];
	memset(b, fill, SIZE);
	EVP_Digest(b, SIZE, md, NULL, EVP_sha256(), NULL);
	free(b);
	assert_memory_equal(j->md, md, 32);
}

static void test_cancel_and_again(void **state)
{
	(void)state;
	struct pull_hasher *h;
	struct err e;
	assert_int_equal(pull_hasher_start(&h, wake, NULL, &e), 0);
	int bad = file_of('x'), good = file_of('y');
	struct hash_job j = {.fd = bad, .size = SIZE};
	pull_hasher_add(h, &j);
	pull_hasher_advance(h, &j, SIZE / 2); // half of the wrong bytes
	usleep(20000);
	pull_hasher_cancel(h, &j);
	assert_false(pull_hasher_result(h, &j)); // not registered any more: never done
	j.fd = good;
	pull_hasher_add(h, &j);
	pull_hasher_advance(h, &j, SIZE);
	wait_done(h, &j);
	assert_true(j.done);
	assert_int_equal(j.error, 0);
	expect_md(&j, 'y');
	// A cancel of a job the hasher is not at (nothing available) is as good.
	struct hash_job k = {.fd = good, .size = SIZE};
	pull_hasher_add(h, &k);
	pull_hasher_cancel(h, &k);
	pull_hasher_stop(h);
	close(bad);
	close(good);
}

int main(void)
{
	const struct CMUnitTest t[] = {cmocka_unit_test(test_cancel_and_again)};
	return cmocka_run_group_tests(t, NULL, NULL);
}
