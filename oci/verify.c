// SPDX-License-Identifier: Apache-2.0
#include "oci/verify.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "oci/digest.h"
#include "oci/layout.h"
#include "oci/manifest.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/mem.h"

#define WALK_DEPTH 3 // index -> index -> manifest, as a pull resolves them

struct verify {
	const struct oci_layout *l;
	bool repair;
	oci_verify_fn cb;
	void *ud;
	struct oci_verify_stats *st;
	char **damaged; // digests found damaged, sorted
	size_t ndamaged;
};

static void report(struct verify *v, enum oci_verify_kind kind, const char *digest, const char *ref,
		   const char *detail)
{
	struct oci_verify_finding f = {.kind = kind, .digest = digest, .ref = ref, .detail = detail};
	if (v->cb)
		v->cb(v->ud, &f);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_damaged(const struct verify *v, const char *digest)
{
	return v->ndamaged && bsearch(&digest, v->damaged, v->ndamaged, sizeof(char *), cmp_str);
}


static void remember(struct verify *v, const char *digest)
{
	v->damaged = xrealloc(v->damaged, (v->ndamaged + 1) * sizeof(char *));
	v->damaged[v->ndamaged++] = xstrdup(digest);
}

// A damaged blob or an entry that is not a regular file: with repair, the
// entry goes (under the blob's lock; a link itself, never what it points at).
static int mend(struct verify *v, const char *digest, const struct stat *st, struct err *e)
{
	if (!v->repair)
		return 0;
	int r = oci_layout_remove_blob(v->l, digest, st, e);
	if (r < 0)
		return -1;
	if (r == 1) {
		v->st->removed++;
		report(v, OCI_VERIFY_REMOVED, digest, NULL, NULL);
	} else {
		report(v, OCI_VERIFY_KEPT, digest, NULL, S_ISDIR(st->st_mode) ? file_kind(st->st_mode) : NULL);
	}
	return 0;
}

// One entry of blobs/<alg>/ named like a blob: hashed when it is a regular
// file, reported (never read) when it is not.
static int check_blob(struct verify *v, const char *digest, struct err *e)
{
	char got[OCI_DIGEST_LEN + 1];
	struct stat st = {0};
	int r = oci_layout_verify_blob(v->l, digest, got, &st, e);
	if (r < 0 && e->cls == ERR_NOTFOUND) { // removed meanwhile
		err_clear(e);
		return 0;
	}
	if (r < 0 && e->cls == ERR_INTEGRITY && st.st_mode && !S_ISREG(st.st_mode)) {
		err_clear(e);
		v->st->special++;
		remember(v, digest);
		report(v, OCI_VERIFY_SPECIAL, digest, NULL, file_kind(st.st_mode));
		return mend(v, digest, &st, e);
	}
	if (r < 0)
		return -1;
	v->st->blobs++;
	v->st->bytes += (uint64_t)st.st_size;
	if (r == 1)
		return 0;
	v->st->damaged++;
	remember(v, digest);
	report(v, OCI_VERIFY_DAMAGED, digest, NULL, got);
	return mend(v, digest, &st, e);
}

// Checks every entry of blobs/<alg>/ (sha256, and sha512 when there); damaged
// ones are remembered (and removed when repairing). The directory itself must
// be the layout's own: a link there is not followed (ERR_INTEGRITY).
static int scan_alg(struct verify *v, const char *alg, size_t hexlen, struct err *e)
{
	char **names;
	size_t n;
	_cleanup_free_ char *rel = xasprintf("blobs/%s", alg);
	_cleanup_close_ int fd = -1;
	if (oci_layout_list_dir(v->l, rel, &fd, &names, &n, e) < 0)
		return e->cls == ERR_NOTFOUND && strcmp(alg, "sha256") != 0 ? (err_clear(e), 0) : -1;
	if (n)
		qsort(names, n, sizeof(char *), cmp_str);
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		char digest[OCI_DIGEST_LEN + 1];
		snprintf(digest, sizeof(digest), "%s:%.*s", alg, (int)hexlen, names[i]);
		if (strlen(names[i]) == hexlen && oci_digest_valid(digest)) {
			ret = check_blob(v, digest, e);
			continue;
		}
		char where[300];
		snprintf(where, sizeof(where), "%s/%.250s", alg, names[i]);
		v->st->stray++;
		report(v, OCI_VERIFY_STRAY, NULL, NULL, where);
	}
	file_list_free(names, n);
	return ret;
}

static int scan_blobs(struct verify *v, struct err *e)
{
	if (scan_alg(v, "sha256", 64, e) < 0 || scan_alg(v, "sha512", 128, e) < 0)
		return -1;
	if (v->ndamaged)
		qsort(v->damaged, v->ndamaged, sizeof(char *), cmp_str);
	return 0;
}

// A blob ref needs: present with its size (damaged ones were reported already).
static bool need_blob(struct verify *v, const char *digest, uint64_t size, const char *ref)
{
	if (is_damaged(v, digest))
		return false;
	struct stat st;
	bool there = oci_layout_blob_stat(v->l, digest, &st) == 0;
	if (there && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size)
		return true;
	char detail[64] = "absent";
	if (there && !S_ISREG(st.st_mode))
		snprintf(detail, sizeof(detail), "%s", file_kind(st.st_mode));
	else if (there)
		snprintf(detail, sizeof(detail), "%lld bytes, %llu expected", (long long)st.st_size,
			 (unsigned long long)size);
	v->st->missing++;
	report(v, OCI_VERIFY_MISSING, digest, ref, detail);
	return false;
}

static void walk_manifest(struct verify *v, const char *mt, const char *digest, uint64_t size,
			  const char *ref, int depth)
{
	if (!oci_digest_valid(digest)) {
		v->st->bad_manifests++;
		report(v, OCI_VERIFY_BAD_MANIFEST, digest, ref, "not a sha256 digest");
		return;
	}
	if (!need_blob(v, digest, size, ref))
		return;
	struct buf b;
	buf_init(&b, OCI_MANIFEST_MAX);
	struct err e;
	struct oci_manifest m;
	if (depth >= WALK_DEPTH) {
		err_set(&e, ERR_INTEGRITY, "indexes nested too deeply");
	} else if (oci_layout_read_blob(v->l, digest, &b, &e) == 0 &&
		   oci_manifest_parse(&m, mt, buf_str(&b), b.len, &e) == 0) {
		buf_release(&b);
		if (m.kind == OCI_KIND_INDEX) {
			for (size_t i = 0; i < m.nmanifests; i++)
				walk_manifest(v, m.manifests[i].media_type, m.manifests[i].digest, m.manifests[i].size,
					      ref, depth + 1);
		} else {
			need_blob(v, m.config.digest, m.config.size, ref);
			for (size_t i = 0; i < m.nlayers; i++)
				need_blob(v, m.layers[i].digest, m.layers[i].size, ref);
		}
		oci_manifest_release(&m);
		return;
	}
	buf_release(&b);
	v->st->bad_manifests++;
	report(v, OCI_VERIFY_BAD_MANIFEST, digest, ref, e.msg);
}

static int walk_index(struct verify *v, struct err *e)
{
	cJSON *root;
	const cJSON *mans, *m;
	if (oci_layout_index_read(v->l, &root, &mans, e) < 0)
		return -1;
	cJSON_ArrayForEach(m, mans) {
		const char *mt, *digest, *name;
		uint64_t size;
		oci_index_entry_fields(m, &mt, &digest, &size, &name);
		const char *ref = name ? name : digest ? digest : "";
		v->st->refs++;
		const cJSON *sz = cJSON_GetObjectItemCaseSensitive(m, "size");
		if (!mt || !cJSON_IsNumber(sz) || sz->valuedouble < 0) {
			v->st->bad_manifests++;
			report(v, OCI_VERIFY_BAD_MANIFEST, digest ? digest : "", ref, "index entry without mediaType or size");
			continue;
		}
		walk_manifest(v, mt, digest ? digest : "", size, ref, 0);
	}
	cJSON_Delete(root);
	return 0;
}

static void on_dropped(void *ud, const char *ref, const char *missing)
{
	struct verify *v = ud;
	v->st->dropped++;
	report(v, OCI_VERIFY_DROPPED, missing, ref, NULL);
}

int oci_verify_layout(const struct oci_layout *l, bool repair, oci_verify_fn cb, void *ud,
		      struct oci_verify_stats *st, struct err *e)
{
	memset(st, 0, sizeof(*st));
	struct verify v = {.l = l, .repair = repair, .cb = cb, .ud = ud, .st = st};
	int ret = scan_blobs(&v, e);
	if (ret == 0)
		ret = walk_index(&v, e);
	if (ret == 0 && repair && (st->removed || st->missing))
		ret = oci_layout_prune_refs(l, on_dropped, &v, e);
	file_list_free(v.damaged, v.ndamaged);
	return ret;
}
