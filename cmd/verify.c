// SPDX-License-Identifier: Apache-2.0
// imgpull verify: hash every blob of a layout again and check that every image
// index.json names is complete; with --repair, remove damaged blobs and drop
// the index entries that lost one, so that the next pull fetches them again.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "oci/layout.h"
#include "oci/verify.h"
#include "pull/trust.h"
#include "util/clock.h"
#include "util/log.h"

enum { O_DEST = 256, O_REPAIR, O_LOGFMT, O_POLICY };

static const struct cmd_opt verify_opt_table[] = {
	{"dest", O_DEST, "DIR", "the layout to check (required; never created)", 0},
	{"repair", O_REPAIR, NULL,
	 "remove damaged blobs (and links, FIFOs... in blobs/: the entry\n"
	 "itself, never a link's target) and drop index.json entries of\n"
	 "images that lost a blob; pull those images again to heal the layout", 0},
	{"policy", O_POLICY, "FILE",
	 "also weigh every image against this signature policy\n"
	 "(containers-policy.json), with the signatures the pull kept", 0},
	{"log-format", O_LOGFMT, "FORMAT", "auto, json or text, for messages on stderr (default auto)", 0},
	{"quiet", 'q', NULL, "print problems only, no summary", 0},
	{"help", 'h', NULL, "show this help", CMD_OPT_NOENV},
};
static const struct cmd_opts verify_opts = {verify_opt_table, sizeof(verify_opt_table) / sizeof(verify_opt_table[0]),
					    "verify"};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: imgpull verify --dest DIR [--repair] [--policy FILE] [-q]\n\n"
		"Hashes every blob in the OCI image layout DIR and checks that every blob an\n"
		"image in index.json needs is there with its size. Reports damaged and missing\n"
		"blobs, and entries of blobs/ that are not regular files (a symbolic link, a\n"
		"FIFO: never read nor followed); exit status 6 if there are any, 0 if the\n"
		"layout is whole. With --policy, each image is also weighed against the policy\n"
		"with the signatures a pull under a policy kept beside it: exit status 8 for an\n"
		"image it does not accept.\n\n");
	cmd_opts_usage(f, &verify_opts);
}

struct verify_cli {
	const char *dest;
	bool repair, quiet;
	struct policy policy;
	bool has_policy;
};

static int verify_option(void *ud, int id, const char *arg, struct err *e)
{
	struct verify_cli *c = ud;
	switch (id) {
	case O_DEST:
		if (cmd_check_value("--dest", arg, e) < 0)
			return -1;
		c->dest = arg;
		return 0;
	case O_REPAIR: c->repair = true; return 0;
	case O_POLICY:
		if (c->has_policy)
			return err_set(e, ERR_USAGE, "--policy given twice");
		if (cmd_check_input("--policy", arg, e) < 0 || policy_load(&c->policy, arg, e) < 0)
			return -1;
		c->has_policy = true;
		return 0;
	case O_LOGFMT: return cmd_check_log_format(arg, e);
	case 'q': c->quiet = true; return 0;
	default: return err_set(e, ERR_INTERNAL, "option %d not handled", id);
	}
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
		if (f->detail)
			printf("kept     %s (%s: remove it by hand)\n", f->digest, f->detail);
		else
			printf("kept     %s (another imgpull is fetching a good copy now)\n", f->digest);
		break;
	case OCI_VERIFY_MISSING:
		printf("missing  %s needed by %s (%s)\n", f->digest, f->ref, f->detail);
		break;
	case OCI_VERIFY_BAD_MANIFEST:
		printf("bad      manifest %s of %s: %s\n", f->digest, f->ref, f->detail);
		break;
	case OCI_VERIFY_STRAY:
		printf("stray    blobs/%s is not a blob\n", f->detail);
		break;
	case OCI_VERIFY_DROPPED:
		printf("dropped  %s from index.json (blob %s is gone): pull it again\n", f->ref, f->digest);
		break;
	case OCI_VERIFY_SPECIAL:
		printf("special  %s is %s, not a regular file (not read)\n", f->digest, f->detail);
		break;
	}
	fflush(stdout);
}

// Every image index.json names (not the signatures kept beside them) against
// the policy: the first it refuses is the error, the others warnings.
static int verify_policy(const struct oci_layout *l, const struct policy *p, size_t *weighed, struct err *e)
{
	cJSON *root;
	const cJSON *mans;
	if (oci_layout_index_read(l, &root, &mans, e) < 0)
		return -1;
	int ret = 0;
	struct err first = {0};
	for (const cJSON *m = mans->child; m; m = m->next) {
		const char *mt, *digest, *name;
		uint64_t size;
		oci_index_entry_fields(m, &mt, &digest, &size, &name);
		if (!digest || !name || pull_trust_is_kept_sig(m))
			continue;
		(*weighed)++;
		struct err ie;
		if (pull_trust_check_layout(p, l, name, digest, &ie) < 0) {
			if (ret == 0)
				first = ie; // the error; the others are warnings
			else
				log_warn("%s", ie.msg);
			ret = -1;
		}
	}
	cJSON_Delete(root);
	if (ret < 0)
		*e = first;
	return ret;
}

int cmd_verify(int argc, char **argv)
{
	struct verify_cli c = {0};
	struct err e;
	int first;
	int r = cmd_opts_parse(&verify_opts, argc, argv, verify_option, &c, &first, &e);
	if (r == 0)
		r = cmd_dest_only(c.dest, argc, argv, first, &e);
	if (r != 0 && c.has_policy)
		policy_release(&c.policy);
	if (r == 1) {
		usage(stdout);
		return 0;
	}
	if (r < 0)
		return cmd_fail(&e);
	const char *dest = c.dest;
	bool repair = c.repair, quiet = c.quiet;
	struct oci_layout l;
	struct oci_verify_stats st;
	double t0 = clock_mono();
	int ret = oci_layout_attach(&l, dest, &e);
	if (ret == 0)
		ret = oci_verify_layout(&l, repair, on_finding, NULL, &st, &e);
	size_t weighed = 0;
	struct err pe = {0};
	int pr = ret == 0 && c.has_policy ? verify_policy(&l, &c.policy, &weighed, &pe) : 0;
	oci_layout_release(&l);
	if (c.has_policy)
		policy_release(&c.policy);
	if (ret < 0)
		return cmd_fail(&e);
	if (!quiet) {
		printf("verified %zu blobs (%llu bytes) and %zu images in %.1f s: %zu damaged, %zu missing",
		       st.blobs, (unsigned long long)st.bytes, st.refs, clock_mono() - t0, st.damaged, st.missing);
		if (st.bad_manifests)
			printf(", %zu unreadable manifests", st.bad_manifests);
		if (st.special)
			printf(", %zu not regular files", st.special);
		if (repair)
			printf("; removed %zu, dropped %zu index entries", st.removed, st.dropped);
		if (pr == 0 && weighed)
			printf("; %zu images accepted by the policy", weighed);
		printf("\n");
	}
	if (st.damaged || st.missing || st.bad_manifests || st.special) {
		char special[96] = "";
		if (st.special)
			snprintf(special, sizeof(special), ", %zu entries in blobs/ that are not regular files", st.special);
		err_set(&e, ERR_INTEGRITY, "%s: %zu damaged and %zu missing blobs%s%s", dest, st.damaged, st.missing,
			special, repair ? " (repaired: pull the dropped images again)" : " (--repair removes the damaged ones)");
		return cmd_fail(&e);
	}
	if (pr < 0)
		return cmd_fail(&pe);
	return 0;
}
