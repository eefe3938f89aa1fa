// SPDX-License-Identifier: Apache-2.0
#include "oci/gc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/file.h"
#include "util/mem.h"

struct reach {
	const struct oci_layout *l;
	char **digests;
	size_t n;
};

static int reach_step(void *ud, const struct oci_walk_step *s, struct err *e)
{
	struct reach *r = ud;
	// A manifest that is there but of the wrong size is damaged: what it
	// reaches is unknown, and its layers may well be worth keeping.
	if (s->manifest && !oci_layout_has_blob(r->l, s->digest, s->size)) {
		_cleanup_free_ char *p = oci_layout_blob_path(r->l, s->digest);
		struct stat sb;
		if (lstat(p, &sb) == 0)
			return err_set(e, ERR_INTEGRITY, "manifest %s in the layout is %lld bytes, %llu expected",
				       s->digest, (long long)sb.st_size, (unsigned long long)s->size);
	}
	r->digests = xrealloc(r->digests, (r->n + 1) * sizeof(char *));
	r->digests[r->n++] = xstrdup(s->digest);
	return OCI_WALK_DESCEND;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

// Every digest index.json reaches, present or not, sorted.
static int reachable(const struct oci_layout *l, struct reach *r, struct err *e)
{
	cJSON *root;
	const cJSON *mans, *m;
	if (oci_layout_index_read(l, &root, &mans, e) < 0)
		return err_wrap(e, "nothing removed");
	int ret = 0;
	cJSON_ArrayForEach(m, mans) {
		const char *mt, *digest, *name;
		uint64_t size;
		oci_index_entry_fields(m, &mt, &digest, &size, &name);
		if (!mt || !digest || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(m, "size"))) {
			ret = err_set(e, ERR_INTEGRITY, "'%s/index.json' has an entry without mediaType, digest or size: "
				      "nothing removed", l->dir);
			break;
		}
		if (oci_layout_walk(l, mt, digest, size, reach_step, r, e) < 0) {
			ret = err_wrap(e, "nothing removed (imgpull verify shows what is damaged)");
			break;
		}
	}
	cJSON_Delete(root);
	if (r->n)
		qsort(r->digests, r->n, sizeof(char *), cmp_str);
	return ret;
}

static bool reached(const struct reach *r, const char *digest)
{
	return r->n && bsearch(&digest, r->digests, r->n, sizeof(char *), cmp_str);
}

static double age_of(const struct stat *st)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double a = (double)(now.tv_sec - st->st_mtim.tv_sec) + (double)(now.tv_nsec - st->st_mtim.tv_nsec) / 1e9;
	return a < 0 ? 0 : a;
}

// Removes path (unless dry_run) and reports it. 0 also when it vanished meanwhile.
static int drop(const char *path, const char *name, enum oci_gc_kind kind, bool dry_run, oci_gc_fn cb, void *ud,
		struct oci_gc_stats *st, struct err *e)
{
	struct stat sb;
	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : err_sys(e, ERR_STORAGE, errno, "cannot stat '%s'", path);
	if (!dry_run && unlink(path) < 0)
		return errno == ENOENT ? 0 : err_sys(e, ERR_STORAGE, errno, "cannot remove '%s'", path);
	struct oci_gc_item it = {kind, name, (uint64_t)sb.st_blocks * 512, age_of(&sb)};
	st->bytes += it.bytes;
	st->blobs += kind == OCI_GC_BLOB;
	st->partials += kind == OCI_GC_PARTIAL;
	st->strays += kind == OCI_GC_STRAY;
	if (cb)
		cb(ud, &it);
	return 0;
}

static int gc_alg(const struct oci_layout *l, const char *alg, size_t hexlen, const struct reach *r, bool dry_run,
		  oci_gc_fn cb, void *ud, struct oci_gc_stats *st, struct err *e)
{
	char **names;
	size_t n;
	_cleanup_free_ char *dir = oci_layout_alg_dir(l, alg);
	if (file_list_dir(dir, &names, &n, e) < 0)
		return e->cls == ERR_NOTFOUND ? (err_clear(e), 0) : -1;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		char digest[OCI_DIGEST_LEN + 1];
		snprintf(digest, sizeof(digest), "%s:%.*s", alg, (int)hexlen, names[i]);
		bool blob = strlen(names[i]) == hexlen && oci_digest_valid(digest);
		if (blob && reached(r, digest)) {
			st->reachable++;
			continue;
		}
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, names[i]);
		// Not a blob: a temporary file of a put that died (a live one
		// cannot exist while gc holds the layout alone).
		ret = drop(p, blob ? digest : names[i], blob ? OCI_GC_BLOB : OCI_GC_STRAY, dry_run, cb, ud, st, e);
	}
	file_list_free(names, n);
	return ret;
}

static int gc_blobs(const struct oci_layout *l, const struct reach *r, bool dry_run, oci_gc_fn cb, void *ud,
		    struct oci_gc_stats *st, struct err *e)
{
	if (gc_alg(l, "sha256", 64, r, dry_run, cb, ud, st, e) < 0)
		return -1;
	return gc_alg(l, "sha512", 128, r, dry_run, cb, ud, st, e);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n > m && strcmp(s + n - m, suf) == 0;
}

// ingest/: partial files past the age, with their records and locks; records
// and locks whose partial file is gone. The unsynced journal stays.
static int gc_ingest(const struct oci_layout *l, double age, bool dry_run, oci_gc_fn cb, void *ud,
		     struct oci_gc_stats *st, struct err *e)
{
	char **names;
	size_t n;
	if (file_list_dir(l->ingest_dir, &names, &n, e) < 0)
		return e->cls == ERR_NOTFOUND ? (err_clear(e), 0) : -1;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		const char *name = names[i];
		if (strcmp(name, "unsynced") == 0)
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", l->ingest_dir, name);
		if (has_suffix(name, ".partial")) {
			struct stat sb;
			if (lstat(p, &sb) < 0)
				continue;
			if (age_of(&sb) < age) {
				st->partials_kept++;
				continue;
			}
			ret = drop(p, name, OCI_GC_PARTIAL, dry_run, cb, ud, st, e);
			continue;
		}
		// A record or lock goes with its partial file (kept when it is).
		size_t stem = strcspn(name, ".");
		_cleanup_free_ char *partial = xasprintf("%s/%.*s.partial", l->ingest_dir, (int)stem, name);
		struct stat sb;
		bool kept = stat(partial, &sb) == 0 && age_of(&sb) < age;
		if (!kept)
			ret = drop(p, name, OCI_GC_STRAY, dry_run, cb, ud, st, e);
	}
	file_list_free(names, n);
	return ret;
}

int oci_gc(const struct oci_layout *l, double partial_age_s, bool dry_run, oci_gc_fn cb, void *ud,
	   struct oci_gc_stats *st, struct err *e)
{
	memset(st, 0, sizeof(*st));
	struct reach r = {.l = l};
	int ret = reachable(l, &r, e);
	if (ret == 0)
		ret = gc_blobs(l, &r, dry_run, cb, ud, st, e);
	if (ret == 0)
		ret = gc_ingest(l, partial_age_s, dry_run, cb, ud, st, e);
	for (size_t i = 0; i < r.n; i++)
		free(r.digests[i]);
	free(r.digests);
	return ret;
}
