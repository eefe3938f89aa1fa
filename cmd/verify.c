// SPDX-License-Identifier: Apache-2.0
// imgpull verify: hash every blob of a layout again and check that every image
// index.json names is complete; with --repair, remove damaged blobs and drop
// the index entries that lost one, so that the next pull fetches them again.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "oci/layout.h"
#include "oci/verify.h"
#include "util/clock.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: imgpull verify --dest DIR [--repair] [-q]\n\n"
		"Hashes every blob in the OCI image layout DIR and checks that every blob an\n"
		"image in index.json needs is there with its size. Reports damaged and missing\n"
		"blobs; exit status 6 if there are any, 0 if the layout is whole.\n\n"
		"  --dest DIR   the layout to check (required; never created)\n"
		"  --repair     remove damaged blobs and drop index.json entries of images that\n"
		"               lost a blob; pull those images again to heal the layout\n"
		"  -q, --quiet  print problems only, no summary\n");
}

static void on_finding(void *ud, const struct oci_verify_finding *f)
{
	(void)ud;
	switch (f->kind) {
	case OCI_VERIFY_DAMAGED:
		printf("damaged  %s (its content hashes to %s)\n", f->digest, f->detail);
		break;
	case OCI_VERIFY_REMOVED:
		printf("removed  %s\n", f->digest);
		break;
	case OCI_VERIFY_KEPT:
		printf("kept     %s (another imgpull is fetching a good copy now)\n", f->digest);
		break;
	case OCI_VERIFY_MISSING:
		printf("missing  %s needed by %s (%s)\n", f->digest, f->ref, f->detail);
		break;
	case OCI_VERIFY_BAD_MANIFEST:
		printf("bad      manifest %s of %s: %s\n", f->digest, f->ref, f->detail);
		break;
	case OCI_VERIFY_STRAY:
		printf("stray    blobs/sha256/%s is not a blob\n", f->detail);
		break;
	case OCI_VERIFY_DROPPED:
		printf("dropped  %s from index.json (blob %s is gone): pull it again\n", f->ref, f->digest);
		break;
	}
	fflush(stdout);
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dest", required_argument, NULL, 'd'},
		{"repair", no_argument, NULL, 'r'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dest = NULL;
	bool repair = false, quiet = false;
	struct err e;
	err_clear(&e);
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (cmd_check_value("--dest", optarg, &e) < 0)
				return cmd_fail(&e);
			dest = optarg;
			break;
		case 'r': repair = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return 0;
		default:
			err_set(&e, ERR_USAGE, "unknown or incomplete option '%s' (see 'imgpull help verify')", argv[optind - 1]);
			return cmd_fail(&e);
		}
	}
	if (!dest) {
		err_set(&e, ERR_USAGE, "--dest DIR is required (see 'imgpull help verify')");
		return cmd_fail(&e);
	}
	if (optind < argc) {
		err_set(&e, ERR_USAGE, "unexpected argument '%s'", argv[optind]);
		return cmd_fail(&e);
	}
	struct oci_layout l;
	struct oci_verify_stats st;
	double t0 = clock_mono();
	int ret = oci_layout_attach(&l, dest, &e);
	if (ret == 0)
		ret = oci_verify_layout(&l, repair, on_finding, NULL, &st, &e);
	oci_layout_release(&l);
	if (ret < 0)
		return cmd_fail(&e);
	if (!quiet) {
		printf("verified %zu blobs (%llu bytes) and %zu images in %.1f s: %zu damaged, %zu missing",
		       st.blobs, (unsigned long long)st.bytes, st.refs, clock_mono() - t0, st.damaged, st.missing);
		if (st.bad_manifests)
			printf(", %zu unreadable manifests", st.bad_manifests);
		if (repair)
			printf("; removed %zu, dropped %zu index entries", st.removed, st.dropped);
		printf("\n");
	}
	if (st.damaged || st.missing || st.bad_manifests) {
		err_set(&e, ERR_INTEGRITY, "%s: %zu damaged and %zu missing blobs%s", dest, st.damaged, st.missing,
			repair ? " (repaired: pull the dropped images again)" : " (--repair removes the damaged ones)");
		return cmd_fail(&e);
	}
	return 0;
}
