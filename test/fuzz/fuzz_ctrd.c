// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for what containerd's own API answers (ctrd/): the first
// input byte picks the decoder (mounts, with where to write from them; a
// snapshot Stat; a List stream; a lease Create or List; a content Info or
// Write stream), the rest is the answer in an exactly sized buffer. Besides
// crashes and sanitizer reports it checks the decoders' contract (caps held,
// nothing left allocated on failure, a write target always under the root),
// so a violation aborts instead of passing silently.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctrd/content.h"
#include "ctrd/leases.h"
#include "ctrd/mount.h"
#include "ctrd/snapshots.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_labels(const struct ctrd_labels *l)
{
	if (l->n > CTRD_LABELS_MAX)
		abort();
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].key[0] || strlen(l->v[i].key) + strlen(l->v[i].value) > CTRD_LABEL_MAX)
			abort();
}

// A target must be the local root's, clean, never the root itself.
static void check_path(const char *p)
{
	if (strncmp(p, "/L/", 3) != 0 || strstr(p, "/../") || strstr(p, "/./") || strstr(p, "//") ||
	    p[strlen(p) - 1] == '/' || (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0) ||
	    strcmp(p + strlen(p) - 2, "/.") == 0)
		abort();
}

static void fuzz_mounts(const uint8_t *in, size_t n)
{
	struct ctrd_mounts m;
	struct err e;
	if (ctrd_snap_decode_mounts(in, n, &m, &e) < 0) {
		if (m.v || m.n)
			abort();
		return;
	}
	if (m.n > CTRD_MOUNTS_MAX)
		abort();
	for (size_t i = 0; i < m.n; i++) {
		const struct ctrd_mount *mt = &m.v[i];
		if (!mt->type || !mt->source || !mt->target || mt->noptions > CTRD_OPTIONS_MAX ||
		    strlen(mt->source) > CTRD_STRING_MAX)
			abort();
		for (size_t k = 0; k < mt->noptions; k++)
			if (strlen(mt->options[k]) > CTRD_OPTION_MAX)
				abort();
	}
	struct ctrd_target t;
	if (ctrd_mount_target(&m, "/r", "/L", &t, &e) == 0) {
		check_path(t.dir);
		for (size_t i = 0; i < t.nlowers; i++)
			check_path(t.lowers[i]);
		if (!t.overlay && t.nlowers)
			abort();
		ctrd_target_free(&t);
	} else if (t.dir || t.lowers) {
		abort();
	}
	ctrd_mounts_free(&m);
}

static void fuzz_infos(int which, const uint8_t *in, size_t n)
{
	struct err e;
	if (which == 1) {
		struct ctrd_info i;
		if (ctrd_snap_decode_stat(in, n, &i, &e) < 0) {
			if (i.name || i.labels.v)
				abort();
			return;
		}
		if (!i.name[0] || !i.parent)
			abort();
		check_labels(&i.labels);
		ctrd_info_free(&i);
		return;
	}
	struct ctrd_infos l;
	if (ctrd_snap_decode_list_frames(in, n, &l, &e) < 0) {
		if (l.v || l.n)
			abort();
		return;
	}
	if (l.n > CTRD_LIST_MAX)
		abort();
	for (size_t k = 0; k < l.n; k++) {
		if (!l.v[k].name || !l.v[k].parent)
			abort();
		check_labels(&l.v[k].labels);
	}
	ctrd_infos_free(&l);
}

static void fuzz_leases(int which, const uint8_t *in, size_t n)
{
	struct err e;
	if (which == 3) {
		struct ctrd_lease l;
		if (ctrd_lease_decode_create(in, n, &l, &e) < 0) {
			if (l.id || l.labels.v)
				abort();
			return;
		}
		if (!l.id[0])
			abort();
		check_labels(&l.labels);
		ctrd_lease_free(&l);
		return;
	}
	struct ctrd_leases ls;
	if (ctrd_lease_decode_list(in, n, &ls, &e) < 0) {
		if (ls.v || ls.n)
			abort();
		return;
	}
	for (size_t k = 0; k < ls.n; k++)
		check_labels(&ls.v[k].labels);
	ctrd_leases_free(&ls);
}

static void fuzz_content(int which, const uint8_t *in, size_t n)
{
	struct err e;
	if (which == 5) {
		struct ctrd_content_info i;
		if (ctrd_content_decode_info(in, n, &i, &e) < 0) {
			if (i.digest || i.labels.v)
				abort();
			return;
		}
		if (i.size < 0)
			abort();
		check_labels(&i.labels);
		ctrd_content_info_free(&i);
		return;
	}
	if (ctrd_content_decode_write(in, n, "sha256:d", &e) < 0 && e.cls != ERR_NETWORK && e.cls != ERR_INTEGRITY)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int which = data[0] % 7;
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	switch (which) {
	case 0:
		fuzz_mounts(in, n);
		break;
	case 1:
	case 2:
		fuzz_infos(which, in, n);
		break;
	case 3:
	case 4:
		fuzz_leases(which, in, n);
		break;
	default:
		fuzz_content(which, in, n);
		break;
	}
	return 0;
}
