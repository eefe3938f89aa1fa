// SPDX-License-Identifier: Apache-2.0
// bench_inflate FILE gzip|zstd|tar [RUNS] [--inflate-only]: reads a layer blob
// through the inflater imgpull's unpack uses (unpack_layer_diff_id: inflate and
// SHA-256 of the uncompressed stream, nothing written; --inflate-only: no hash)
// on this one thread, RUNS times (default 3), and prints one JSON line: the
// engine, the sizes, the diff_id, the best wall and CPU seconds and the
// compressed and uncompressed MB/s.
// Built twice: bench_inflate (ISA-L where the build has it) and
// bench_inflate_zlib (unpack/layer.c compiled for zlib), for bench/unpack.sh.
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unpack/layer.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	bool hash = true;
	if (argc >= 4 && !strcmp(argv[argc - 1], "--inflate-only")) {
		hash = false;
		argc--;
	}
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: bench_inflate FILE gzip|zstd|tar [RUNS] [--inflate-only]\n");
		return 2;
	}
	enum unpack_compression c;
	if (!strcmp(argv[2], "gzip"))
		c = UNPACK_GZIP;
	else if (!strcmp(argv[2], "zstd"))
		c = UNPACK_ZSTD;
	else if (!strcmp(argv[2], "tar"))
		c = UNPACK_TAR;
	else {
		fprintf(stderr, "bench_inflate: unknown compression '%s'\n", argv[2]);
		return 2;
	}
	int runs = argc == 4 ? atoi(argv[3]) : 3;
	if (runs < 1)
		runs = 1;
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(argv[1]);
		return 1;
	}
	struct unpack_source src = {.fd = fd, .size = (uint64_t)st.st_size};
	double best = 0, best_cpu = 0;
	char id[OCI_DIGEST_LEN + 1] = "";
	uint64_t out = 0;
	for (int i = 0; i < runs; i++) {
		struct err e;
		double t0 = now(), c0 = cpu();
		if (unpack_layer_diff_id(&src, c, argv[1], hash ? id : NULL, &out, &e) < 0) {
			fprintf(stderr, "bench_inflate: %s\n", e.msg);
			return 1;
		}
		double t = now() - t0, ct = cpu() - c0;
		if (i == 0 || t < best) {
			best = t;
			best_cpu = ct;
		}
	}
	close(fd);
	printf("{\"engine\": \"%s\", \"compression\": \"%s\", \"bytes_in\": %llu, \"bytes_out\": %llu, "
	       "\"diff_id\": \"%s\", \"runs\": %d, \"seconds\": %.3f, \"cpu_seconds\": %.3f, "
	       "\"hashed\": %s, \"in_mb_s\": %.1f, \"out_mb_s\": %.1f}\n",
	       c == UNPACK_GZIP ? unpack_gzip_engine() : argv[2], argv[2], (unsigned long long)st.st_size,
	       (unsigned long long)out, id, runs, best, best_cpu, hash ? "true" : "false", (double)st.st_size / best / 1e6,
	       (double)out / best / 1e6);
	return 0;
}
