// SPDX-License-Identifier: Apache-2.0
#include "oci/gc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "oci/digest.h"
#include "util/file.h"
#include "util/mem.h"

struct reach {
	const struct oci_layout *l;
	char **digests;
	size_t n, cap;
};

static void reach_add(struct reach *r, const char *digest)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->digests = xrealloc(r->digests, r->cap * sizeof(char *));
	}
	r->digests[r->n++] = xstrdup(digest);
}

static int reach_step(void *ud, const struct oci_walk_step *s, struct err *e)
{
	struct reach *r = ud;
	// A manifest that is there but of the wrong size (or not a regular file)
	// is damaged: what it reaches is unknown, and its layers may well be
	// worth keeping.
	struct stat sb;
	if (s->manifest && !oci_layout_has_blob(r->l, s->digest, s->size) &&
	    oci_layout_blob_stat(r->l, s->digest, &sb) == 0) {
		if (!S_ISREG(sb.st_mode))
			return err_set(e, ERR_INTEGRITY, "manifest %s in the layout is %s, not a regular file", s->digest,
				       file_kind(sb.st_mode));
		return err_set(e, ERR_INTEGRITY, "manifest %s in the layout is %lld bytes, %llu expected", s->digest,
			       (long long)sb.st_size, (unsigned long long)s->size);
	}
	reach_add(r, s->digest);
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
		// The one more blob an entry keeps (a signed index).
		const cJSON *keep = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "annotations"),
								     OCI_ANNOT_KEEP);
		if (cJSON_IsString(keep) && oci_digest_valid(keep->valuestring))
			reach_add(r, keep->valuestring);
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

// One directory gc walks, listed before anything is removed.
struct gc_dir {
	const char *rel; // "blobs/sha256", "ingest"
	int fd;          // -1: absent
	char **names;
	size_t n;
};

struct gc_run {
	const struct oci_layout *l;
	const struct reach *r;
	double age;
	bool dry_run;
	oci_gc_fn cb;
	void *ud;
	struct oci_gc_stats *st;
};

static void gc_report(struct gc_run *g, enum oci_gc_kind kind, const char *name, const struct stat *sb,
		      const char *note)
{
	struct oci_gc_item it = {kind, name, kind == OCI_GC_KEPT ? 0 : (uint64_t)sb->st_blocks * 512, age_of(sb), note};
	g->st->bytes += it.bytes;
	g->st->blobs += kind == OCI_GC_BLOB;
	g->st->partials += kind == OCI_GC_PARTIAL;
	g->st->strays += kind == OCI_GC_STRAY;
	g->st->kept_special += kind == OCI_GC_KEPT;
	if (g->cb)
		g->cb(g->ud, &it);
}

// Removes the entry d/name itself (unless dry_run: a link, never what it
// points at) and reports it as name. 0 also when it vanished meanwhile. A
// directory is never removed: it is reported as kept.
static int drop(struct gc_run *g, const struct gc_dir *d, const char *entry, const char *name,
		enum oci_gc_kind kind, struct err *e)
{
	struct stat sb;
	if (fstatat(d->fd, entry, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_sys(e, ERR_STORAGE, errno, "cannot stat '%s/%s/%s'", g->l->dir, d->rel, entry);
	if (S_ISDIR(sb.st_mode)) {
		_cleanup_free_ char *where = xasprintf("%s/%s", d->rel, entry);
		gc_report(g, OCI_GC_KEPT, where, &sb, "a directory: left alone");
		return 0;
	}
	if (!g->dry_run && unlinkat(d->fd, entry, 0) < 0)
		return errno == ENOENT ? 0 : err_sys(e, ERR_STORAGE, errno, "cannot remove '%s/%s/%s'", g->l->dir, d->rel, entry);
	gc_report(g, S_ISREG(sb.st_mode) ? kind : OCI_GC_STRAY, name, &sb,
		  S_ISREG(sb.st_mode) ? NULL : S_ISLNK(sb.st_mode) ? "a symbolic link, not followed" : file_kind(sb.st_mode));
	return 0;
}

static int gc_alg(struct gc_run *g, const struct gc_dir *d, const char *alg, size_t hexlen, struct err *e)
{
	int ret = 0;
	for (size_t i = 0; i < d->n && ret == 0; i++) {
		const char *name = d->names[i];
		char digest[OCI_DIGEST_LEN + 1];
		snprintf(digest, sizeof(digest), "%s:%.*s", alg, (int)hexlen, name);
		bool blob = strlen(name) == hexlen && oci_digest_valid(digest);
		if (!blob || !reached(g->r, digest)) {
			// Not a blob: a temporary file of a put that died (a live one
			// cannot exist while gc holds the layout alone).
			ret = drop(g, d, name, blob ? digest : name, blob ? OCI_GC_BLOB : OCI_GC_STRAY, e);
			continue;
		}
		struct stat sb;
		if (fstatat(d->fd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue; // gone meanwhile
		if (S_ISREG(sb.st_mode)) {
			g->st->reachable++;
			continue;
		}
		// An image needs this name, but it is no blob: left for verify.
		_cleanup_free_ char *where = xasprintf("%s/%s", d->rel, name);
		_cleanup_free_ char *note = xasprintf("%s in place of a blob an image needs: imgpull verify --repair removes it",
						      file_kind(sb.st_mode));
		gc_report(g, OCI_GC_KEPT, where, &sb, note);
	}
	return ret;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n > m && strcmp(s + n - m, suf) == 0;
}

// ingest/: partial files past the age, with their records and locks; records
// and locks whose partial file is gone. The unsynced journal stays. Anything
// there that is not a regular file is a leftover (a directory: kept).
static int gc_ingest(struct gc_run *g, const struct gc_dir *d, struct err *e)
{
	int ret = 0;
	for (size_t i = 0; i < d->n && ret == 0; i++) {
		const char *name = d->names[i];
		struct stat sb;
		if (fstatat(d->fd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISREG(sb.st_mode)) {
			ret = drop(g, d, name, name, OCI_GC_STRAY, e);
			continue;
		}
		if (strcmp(name, "unsynced") == 0)
			continue;
		if (has_suffix(name, ".partial")) {
			if (age_of(&sb) < g->age)
				g->st->partials_kept++;
			else
				ret = drop(g, d, name, name, OCI_GC_PARTIAL, e);
			continue;
		}
		// A record or lock goes with its partial file (kept when it is).
		size_t stem = strcspn(name, ".");
		_cleanup_free_ char *partial = xasprintf("%.*s.partial", (int)stem, name);
		bool kept = fstatat(d->fd, partial, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
			    age_of(&sb) < g->age;
		if (!kept)
			ret = drop(g, d, name, name, OCI_GC_STRAY, e);
	}
	return ret;
}

// Lists a directory of the layout: absent is fine (nothing in it), a link or
// a file in its place is ERR_INTEGRITY.
static int gc_dir_list(const struct oci_layout *l, struct gc_dir *d, struct err *e)
{
	if (oci_layout_list_dir(l, d->rel, &d->fd, &d->names, &d->n, e) == 0) {
		if (d->n)
			qsort(d->names, d->n, sizeof(char *), cmp_str);
		return 0;
	}
	if (e->cls != ERR_NOTFOUND)
		return err_wrap(e, "nothing removed");
	err_clear(e);
	return 0;
}

int oci_gc(const struct oci_layout *l, double partial_age_s, bool dry_run, oci_gc_fn cb, void *ud,
	   struct oci_gc_stats *st, struct err *e)
{
	memset(st, 0, sizeof(*st));
	struct reach r = {.l = l};
	struct gc_dir dirs[] = {{"blobs/sha256", -1, NULL, 0}, {"blobs/sha512", -1, NULL, 0}, {"ingest", -1, NULL, 0}};
	struct gc_run g = {l, &r, partial_age_s, dry_run, cb, ud, st};
	// Everything is read before anything is removed: a layout whose index.json,
	// a manifest or one of these directories is damaged loses nothing.
	int ret = 0;
	for (size_t i = 0; i < 3 && ret == 0; i++)
		ret = gc_dir_list(l, &dirs[i], e);
	if (ret == 0)
		ret = reachable(l, &r, e);
	if (ret == 0)
		ret = gc_alg(&g, &dirs[0], "sha256", 64, e);
	if (ret == 0)
		ret = gc_alg(&g, &dirs[1], "sha512", 128, e);
	if (ret == 0)
		ret = gc_ingest(&g, &dirs[2], e);
	for (size_t i = 0; i < 3; i++) {
		file_list_free(dirs[i].names, dirs[i].n);
		if (dirs[i].fd >= 0)
			close(dirs[i].fd);
	}
	for (size_t i = 0; i < r.n; i++)
		free(r.digests[i]);
	free(r.digests);
	return ret;
}
