// SPDX-License-Identifier: Apache-2.0
// Test driver of unpack_layer's overlay mode (test/integration/unpack_overlay.sh):
//
//   overlay_apply UPPER MEDIA_TYPE DIFF_ID BLOB [LOWER...]
//
// applies the layer BLOB (of MEDIA_TYPE, whose uncompressed stream must hash to
// DIFF_ID) into the empty directory UPPER as an overlayfs upper over the LOWERs
// (topmost first, as lowerdir= lists them), numeric owners kept. Exits as
// imgpull does for the error's class (6 a hostile entry, 7 storage), the
// message on stderr; -v logs what the mode decided (copy-ups, kept names).
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unpack/layer.h"
#include "util/err.h"
#include "util/log.h"

int main(int argc, char **argv)
{
	int a = 1;
	if (a < argc && strcmp(argv[a], "-v") == 0) {
		log_set_level(LOG_DEBUG);
		a++;
	}
	if (argc - a < 4) {
		fprintf(stderr, "usage: overlay_apply [-v] UPPER MEDIA_TYPE DIFF_ID BLOB [LOWER...]\n");
		return 2;
	}
	const char *upper = argv[a], *mt = argv[a + 1], *diff_id = argv[a + 2], *blob = argv[a + 3];
	enum unpack_compression c;
	if (unpack_compression_of(mt, &c) < 0) {
		fprintf(stderr, "overlay_apply: '%s' is no layer media type\n", mt);
		return 2;
	}
	int fd = open(blob, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(blob);
		return 7;
	}
	struct unpack_source src = {.fd = fd, .size = (uint64_t)st.st_size};
	struct unpack_opts o = {.chown = geteuid() == 0,
				.mode = UNPACK_OVERLAY_UPPER,
				.lowers = (const char *const *)argv + a + 4};
	struct unpack_stats us;
	struct err e;
	err_clear(&e);
	int r = unpack_layer(upper, &src, c, diff_id, blob, &o, &us, &e);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "overlay_apply: %s\n", e.msg);
		return err_exit_code(&e);
	}
	fprintf(stderr, "overlay_apply: %llu entries, %llu whiteouts into %s\n", (unsigned long long)us.entries,
		(unsigned long long)us.whiteouts, upper);
	return 0;
}
