// SPDX-License-Identifier: Apache-2.0
// Runs a libFuzzer target's input function over a seed corpus without
// libFuzzer, so that every compiler (and the ASan build) replays the corpora
// in test/fuzz/corpus on each CI run: replay_NAME DIR... Fails when a
// directory is missing or empty (a corpus that is not there tests nothing).
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INPUT_MAX (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	uint8_t *buf = malloc(INPUT_MAX);
	size_t n = buf ? fread(buf, 1, INPUT_MAX, f) : 0;
	fclose(f);
	if (!buf)
		return -1;
	// An exact-size copy, so that ASan sees reads past the input's end.
	uint8_t *exact = malloc(n ? n : 1);
	if (exact) {
		memcpy(exact, buf, n);
		LLVMFuzzerTestOneInput(exact, n);
	}
	free(exact);
	free(buf);
	return exact ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR...\n", argv[0]);
		return 2;
	}
	size_t total = 0;
	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		if (!d) {
			perror(argv[i]);
			return 1;
		}
		size_t n = 0;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			if (run_file(path) < 0) {
				closedir(d);
				return 1;
			}
			n++;
		}
		closedir(d);
		if (!n) {
			fprintf(stderr, "%s: empty corpus\n", argv[i]);
			return 1;
		}
		total += n;
	}
	printf("%zu inputs replayed\n", total);
	return 0;
}
