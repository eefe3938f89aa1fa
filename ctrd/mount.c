// SPDX-License-Identifier: Apache-2.0
#include "ctrd/mount.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void ctrd_target_free(struct ctrd_target *t)
{
	free(t->dir);
	for (size_t i = 0; i < t->nlowers; i++)
		free(t->lowers[i]);
	free(t->lowers);
	memset(t, 0, sizeof(*t));
}

// An absolute path without ".", ".." or empty components (no trailing '/').
static bool path_clean(const char *p, size_t n)
{
	if (n < 2 || p[0] != '/' || p[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1; // past the '/'
		size_t k = j;
		while (k < n && p[k] != '/')
			k++;
		size_t len = k - j;
		if (len == 0 || (len == 1 && p[j] == '.') || (len == 2 && p[j] == '.' && p[j + 1] == '.'))
			return false;
		i = k;
	}
	return true;
}

// The path p (n bytes) as imgpull sees it: under root, root replaced by local.
static int translate(const char *p, size_t n, const char *root, const char *local, char **out, struct err *e)
{
	size_t rl = strlen(root);
	if (!path_clean(p, n))
		return err_set(e, ERR_NETWORK, "containerd's mount names '%.*s', not a clean absolute path",
			       (int)(n > 200 ? 200 : n), p);
	if (n <= rl + 1 || memcmp(p, root, rl) != 0 || p[rl] != '/')
		return err_set(e, ERR_USAGE, "containerd's mount names '%.*s', outside the snapshotter's root '%s'",
			       (int)(n > 200 ? 200 : n), p, root);
	*out = xasprintf("%s%.*s", local, (int)(n - rl), p + rl);
	return 0;
}

// The options of an overlay: upper and lower (pointing into them) or an error.
static int overlay_options(const struct ctrd_mount *m, const char **upper, const char **lower, struct err *e)
{
	*upper = *lower = NULL;
	for (size_t i = 0; i < m->noptions; i++) {
		const char *o = m->options[i];
		if (strncmp(o, "upperdir=", 9) == 0 || strncmp(o, "lowerdir=", 9) == 0) {
			const char **to = o[0] == 'u' ? upper : lower;
			if (*to)
				return err_set(e, ERR_NETWORK, "containerd's overlay mount has two %.8s options", o);
			*to = o + 9;
		} else if (strcmp(o, "ro") == 0 || strcmp(o, "userxattr") == 0 || strncmp(o, "uidmap=", 7) == 0 ||
			   strncmp(o, "gidmap=", 7) == 0) {
			return err_set(e, ERR_USAGE, "containerd's overlay mount has option '%.100s', which imgpull does not write",
				       o);
		}
	}
	if (!*upper || !*lower)
		return err_set(e, ERR_USAGE, "containerd's overlay mount has no %s: not a writable snapshot on a parent",
			       *upper ? "lowerdir" : "upperdir");
	return 0;
}

static int overlay_target(const struct ctrd_mount *m, const char *root, const char *local, struct ctrd_target *t,
			  struct err *e)
{
	const char *upper, *lower;
	if (overlay_options(m, &upper, &lower, e) < 0)
		return -1;
	t->overlay = true;
	if (translate(upper, strlen(upper), root, local, &t->dir, e) < 0)
		return -1;
	for (const char *p = lower;;) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (t->nlowers >= CTRD_LOWERS_MAX)
			return err_set(e, ERR_USAGE, "containerd's overlay mount has over %d lowerdirs", CTRD_LOWERS_MAX);
		t->lowers = xrealloc(t->lowers, (t->nlowers + 1) * sizeof(*t->lowers));
		t->lowers[t->nlowers] = NULL;
		if (translate(p, n, root, local, &t->lowers[t->nlowers], e) < 0)
			return -1;
		t->nlowers++;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

static int bind_target(const struct ctrd_mount *m, const char *root, const char *local, struct ctrd_target *t,
		       struct err *e)
{
	for (size_t i = 0; i < m->noptions; i++)
		if (strcmp(m->options[i], "ro") == 0)
			return err_set(e, ERR_USAGE, "containerd's bind mount is read-only: not an active snapshot");
	return translate(m->source, strlen(m->source), root, local, &t->dir, e);
}

int ctrd_mount_target(const struct ctrd_mounts *m, const char *root, const char *local_root, struct ctrd_target *t,
		      struct err *e)
{
	memset(t, 0, sizeof(*t));
	size_t rl = root ? strlen(root) : 0;
	if (!root || !path_clean(root, rl))
		return err_set(e, ERR_USAGE, "the snapshotter's root '%s' is not a clean absolute path", root ? root : "");
	if (local_root && *local_root && !path_clean(local_root, strlen(local_root)))
		return err_set(e, ERR_USAGE, "'%s' is not a clean absolute path", local_root);
	if (m->n != 1)
		return err_set(e, ERR_USAGE, "containerd answers %zu mounts for a snapshot, imgpull writes into one", m->n);
	const struct ctrd_mount *mt = &m->v[0];
	const char *local = local_root && *local_root ? local_root : root;
	int r;
	if (strcmp(mt->type, "bind") == 0)
		r = bind_target(mt, root, local, t, e);
	else if (strcmp(mt->type, "overlay") == 0)
		r = overlay_target(mt, root, local, t, e);
	else
		r = err_set(e, ERR_USAGE, "containerd answers a mount of type '%.40s', imgpull writes into bind and overlay only",
			    mt->type);
	if (r < 0)
		ctrd_target_free(t);
	return r;
}
