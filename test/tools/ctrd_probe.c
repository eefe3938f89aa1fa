// SPDX-License-Identifier: Apache-2.0
// Test driver of ctrd/ (test/integration/containerd_snapshots.sh): one call of
// containerd's own API per run, what it answered on stdout.
//
//   ctrd_probe [OPTIONS] COMMAND ARGS...
//     --socket PATH        containerd's socket (required)
//     --snapshotter NAME   (default overlayfs)
//     --lease ID           sent as containerd-lease on Prepare, View, Commit, content Write
//     --timeout S          the per-call bound (default 15)
//     --deadline S         the pull's deadline, S seconds from now
//     --root DIR           the snapshotter's root as containerd names it: print where to write
//     --local-root DIR     where that root is seen here (the answers' prefix replaced)
//   lease-create ID [K=V...]        lease-delete ID [sync]       lease-add ID RES_ID TYPE
//   lease-list [FILTER...]          prepare KEY PARENT [K=V...]  view KEY PARENT [K=V...]
//   mounts KEY                      commit NAME KEY [K=V...]     remove KEY
//   stat KEY                        list [FILTER...]
//   content-register DIGEST SIZE [K=V...]   content-info DIGEST   content-update DIGEST K=V|K...
//   chain-ids DIFF_ID...
// PARENT "" is none. In content-update a bare K removes that label. Exits as
// imgpull does for the error's class; the message and the gRPC status on stderr.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrd/content.h"
#include "ctrd/leases.h"
#include "ctrd/mount.h"
#include "ctrd/session.h"
#include "ctrd/snapshots.h"
#include "oci/chainid.h"
#include "util/clock.h"
#include "util/mem.h"

#define LABELS_MAX 16

struct probe {
	struct ctrd_session s;
	const char *root, *local_root;
	struct ctrd_label labels[LABELS_MAX];
	size_t nlabels;
};

// K=V arguments into p->labels (a bare K: a NULL value); -1 when too many.
static int parse_labels(struct probe *p, char **argv, int argc)
{
	for (int i = 0; i < argc; i++) {
		if (p->nlabels >= LABELS_MAX)
			return -1;
		char *eq = strchr(argv[i], '=');
		if (eq)
			*eq = '\0';
		p->labels[p->nlabels].key = argv[i];
		p->labels[p->nlabels].value = eq ? eq + 1 : NULL;
		p->nlabels++;
	}
	return 0;
}

static void print_labels(const struct ctrd_labels *l)
{
	for (size_t i = 0; i < l->n; i++)
		printf("label %s=%s\n", l->v[i].key, l->v[i].value);
}

static void print_mounts(const struct probe *p, const struct ctrd_mounts *m)
{
	for (size_t i = 0; i < m->n; i++) {
		printf("mount %s %s", m->v[i].type, m->v[i].source);
		for (size_t k = 0; k < m->v[i].noptions; k++)
			printf("%s%s", k ? "," : " ", m->v[i].options[k]);
		printf("\n");
	}
	if (!p->root)
		return;
	struct ctrd_target t;
	struct err e;
	if (ctrd_mount_target(m, p->root, p->local_root, &t, &e) < 0) {
		printf("target refused (%s): %s\n", err_class_name(e.cls), e.msg);
		return;
	}
	printf("target %s %s\n", t.overlay ? "overlay" : "bind", t.dir);
	for (size_t i = 0; i < t.nlowers; i++)
		printf("lower %s\n", t.lowers[i]);
	ctrd_target_free(&t);
}

static int snapshots_cmd(struct probe *p, const char *cmd, int argc, char **argv, struct err *e)
{
	struct ctrd_mounts m;
	int r;
	if ((strcmp(cmd, "prepare") == 0 || strcmp(cmd, "view") == 0) && argc >= 2) {
		if (parse_labels(p, argv + 2, argc - 2) < 0)
			return err_set(e, ERR_USAGE, "too many labels");
		r = cmd[0] == 'p' ? ctrd_snap_prepare(&p->s, argv[0], argv[1], p->labels, p->nlabels, 0, &m, e)
				  : ctrd_snap_view(&p->s, argv[0], argv[1], p->labels, p->nlabels, &m, e);
	} else if (strcmp(cmd, "mounts") == 0 && argc == 1) {
		r = ctrd_snap_mounts(&p->s, argv[0], &m, e);
	} else if (strcmp(cmd, "commit") == 0 && argc >= 2) {
		if (parse_labels(p, argv + 2, argc - 2) < 0)
			return err_set(e, ERR_USAGE, "too many labels");
		return ctrd_snap_commit(&p->s, argv[0], argv[1], p->labels, p->nlabels, e);
	} else if (strcmp(cmd, "remove") == 0 && argc == 1) {
		return ctrd_snap_remove(&p->s, argv[0], e);
	} else if (strcmp(cmd, "stat") == 0 && argc == 1) {
		struct ctrd_info i;
		if (ctrd_snap_stat(&p->s, argv[0], &i, e) < 0)
			return -1;
		printf("name=%s\nparent=%s\nkind=%s\n", i.name, i.parent, ctrd_kind_name(i.kind));
		print_labels(&i.labels);
		ctrd_info_free(&i);
		return 0;
	} else if (strcmp(cmd, "list") == 0) {
		struct ctrd_infos l;
		if (ctrd_snap_list(&p->s, (const char *const *)argv, (size_t)argc, &l, e) < 0)
			return -1;
		for (size_t k = 0; k < l.n; k++)
			printf("%s\t%s\t%s\n", ctrd_kind_name(l.v[k].kind), l.v[k].name, l.v[k].parent);
		ctrd_infos_free(&l);
		return 0;
	} else {
		return err_set(e, ERR_USAGE, "bad arguments for %s", cmd);
	}
	if (r == 0) {
		print_mounts(p, &m);
		ctrd_mounts_free(&m);
	}
	return r;
}

static int leases_cmd(struct probe *p, const char *cmd, int argc, char **argv, struct err *e)
{
	if (strcmp(cmd, "lease-create") == 0 && argc >= 1) {
		if (parse_labels(p, argv + 1, argc - 1) < 0)
			return err_set(e, ERR_USAGE, "too many labels");
		return ctrd_lease_create(&p->s, argv[0], p->labels, p->nlabels, e);
	}
	if (strcmp(cmd, "lease-delete") == 0 && (argc == 1 || (argc == 2 && strcmp(argv[1], "sync") == 0)))
		return ctrd_lease_delete(&p->s, argv[0], argc == 2, e);
	if (strcmp(cmd, "lease-add") == 0 && argc == 3)
		return ctrd_lease_add_resource(&p->s, argv[0], argv[1], argv[2], e);
	if (strcmp(cmd, "lease-list") == 0) {
		struct ctrd_leases l;
		if (ctrd_lease_list(&p->s, (const char *const *)argv, (size_t)argc, &l, e) < 0)
			return -1;
		for (size_t k = 0; k < l.n; k++) {
			printf("lease %s\n", l.v[k].id);
			print_labels(&l.v[k].labels);
		}
		ctrd_leases_free(&l);
		return 0;
	}
	return err_set(e, ERR_USAGE, "bad arguments for %s", cmd);
}

static int content_cmd(struct probe *p, const char *cmd, int argc, char **argv, struct err *e)
{
	struct ctrd_content_info i;
	if (strcmp(cmd, "content-register") == 0 && argc >= 2) {
		if (parse_labels(p, argv + 2, argc - 2) < 0)
			return err_set(e, ERR_USAGE, "too many labels");
		int r = ctrd_content_register(&p->s, argv[0], strtoull(argv[1], NULL, 10), p->labels, p->nlabels, e);
		if (r >= 0)
			printf("%s\n", r ? "registered" : "already registered");
		return r < 0 ? -1 : 0;
	}
	if (strcmp(cmd, "content-info") == 0 && argc == 1) {
		if (ctrd_content_info(&p->s, argv[0], &i, e) < 0)
			return -1;
	} else if (strcmp(cmd, "content-update") == 0 && argc >= 2) {
		if (parse_labels(p, argv + 1, argc - 1) < 0)
			return err_set(e, ERR_USAGE, "too many labels");
		if (ctrd_content_update(&p->s, argv[0], p->labels, p->nlabels, &i, e) < 0)
			return -1;
	} else {
		return err_set(e, ERR_USAGE, "bad arguments for %s", cmd);
	}
	printf("%s %lld\n", i.digest, (long long)i.size);
	print_labels(&i.labels);
	ctrd_content_info_free(&i);
	return 0;
}

static int chain_ids_cmd(int argc, char **argv, struct err *e)
{
	char (*out)[OCI_DIGEST_LEN + 1] = xcalloc((size_t)argc + 1, sizeof(*out));
	int r = oci_chain_ids((const char *const *)argv, (size_t)argc, out, e);
	for (int i = 0; r == 0 && i < argc; i++)
		printf("%s\n", out[i]);
	free(out);
	return r;
}

static int run(struct probe *p, const char *cmd, int argc, char **argv, struct err *e)
{
	if (strcmp(cmd, "chain-ids") == 0)
		return chain_ids_cmd(argc, argv, e);
	if (!p->s.socket)
		return err_set(e, ERR_USAGE, "--socket is required");
	if (strncmp(cmd, "lease-", 6) == 0)
		return leases_cmd(p, cmd, argc, argv, e);
	if (strncmp(cmd, "content-", 8) == 0)
		return content_cmd(p, cmd, argc, argv, e);
	return snapshots_cmd(p, cmd, argc, argv, e);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"socket", required_argument, NULL, 's'},     {"snapshotter", required_argument, NULL, 'n'},
		{"lease", required_argument, NULL, 'l'},      {"timeout", required_argument, NULL, 't'},
		{"deadline", required_argument, NULL, 'd'},   {"root", required_argument, NULL, 'r'},
		{"local-root", required_argument, NULL, 'L'}, {NULL, 0, NULL, 0},
	};
	struct probe p = {0};
	ctrd_session_init(&p.s, NULL, "overlayfs", 0);
	struct err e = {0};
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 's': p.s.socket = optarg; break;
		case 'n': p.s.snapshotter = optarg; break;
		case 'l':
			if (ctrd_session_set_lease(&p.s, optarg, &e) < 0)
				goto fail;
			break;
		case 't': p.s.timeout_s = atol(optarg); break;
		case 'd': p.s.deadline = clock_mono() + atof(optarg); break;
		case 'r': p.root = optarg; break;
		case 'L': p.local_root = optarg; break;
		default: return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: ctrd_probe [OPTIONS] COMMAND ARGS... (see test/tools/ctrd_probe.c)\n");
		return 2;
	}
	if (run(&p, argv[optind], argc - optind - 1, argv + optind + 1, &e) == 0)
		return 0;
fail:
	fprintf(stderr, "ctrd_probe: error: %s\n", e.msg);
	fprintf(stderr, "grpc-status %d\n", p.s.status.code);
	return err_exit_code(&e);
}
