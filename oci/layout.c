// SPDX-License-Identifier: Apache-2.0
#include "oci/layout.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/digest.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/mem.h"

#define INDEX_MAX (64u << 20)
#define LAYOUT_FILE "{\"imageLayoutVersion\":\"1.0.0\"}"
#define EMPTY_INDEX "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":[]}"
#define ANNOT_REF "org.opencontainers.image.ref.name"
#define ANNOT_CONTAINERD "io.containerd.image.name"

// Held while index.json (or the layout's skeleton) is being changed.
static int layout_lock(const struct oci_layout *l, struct err *e)
{
	_cleanup_free_ char *p = xasprintf("%s/.imgpull.lock", l->dir);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot open lock '%s'", p);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int saved = errno;
			close(fd);
			return err_sys(e, ERR_STORAGE, saved, "cannot lock '%s'", p);
		}
	}
	return fd;
}

static void layout_unlock(int fd)
{
	close(fd); // releases the flock
}

int oci_layout_open(struct oci_layout *l, const char *dir, struct err *e)
{
	memset(l, 0, sizeof(*l));
	l->dir = xstrdup(dir);
	l->blobs_dir = xasprintf("%s/blobs/sha256", dir);
	l->ingest_dir = xasprintf("%s/ingest", dir);
	l->fsync = true;
	if (file_mkdirs(l->blobs_dir, e) < 0 || file_mkdirs(l->ingest_dir, e) < 0)
		return -1;
	int lk = layout_lock(l, e);
	if (lk < 0)
		return -1;
	int ret = 0;
	_cleanup_free_ char *lf = xasprintf("%s/oci-layout", dir);
	_cleanup_free_ char *idx = xasprintf("%s/index.json", dir);
	struct stat st;
	if (stat(lf, &st) == 0) {
		struct buf b;
		buf_init(&b, 4096);
		if (file_read_all(lf, &b, e) < 0) {
			ret = -1;
		} else {
			cJSON *j = cJSON_ParseWithLength(buf_str(&b), b.len);
			cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "imageLayoutVersion");
			if (!cJSON_IsString(v))
				ret = err_set(e, ERR_STORAGE, "'%s' exists but is not an OCI image layout", dir);
			cJSON_Delete(j);
		}
		buf_release(&b);
	} else if (file_write_atomic(lf, LAYOUT_FILE, strlen(LAYOUT_FILE), e) < 0) {
		ret = -1;
	}
	if (ret == 0 && stat(idx, &st) < 0)
		ret = file_write_atomic(idx, EMPTY_INDEX, strlen(EMPTY_INDEX), e);
	layout_unlock(lk);
	return ret;
}

void oci_layout_release(struct oci_layout *l)
{
	free(l->dir);
	free(l->blobs_dir);
	free(l->ingest_dir);
	memset(l, 0, sizeof(*l));
}

char *oci_layout_blob_path(const struct oci_layout *l, const char *digest)
{
	return xasprintf("%s/%s", l->blobs_dir, oci_digest_hex(digest));
}

char *oci_layout_ingest_path(const struct oci_layout *l, const char *digest)
{
	return xasprintf("%s/%s.partial", l->ingest_dir, oci_digest_hex(digest));
}

bool oci_layout_has_blob(const struct oci_layout *l, const char *digest, uint64_t size)
{
	_cleanup_free_ char *p = oci_layout_blob_path(l, digest);
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
}

int oci_layout_put_blob(const struct oci_layout *l, const char *digest, const void *data,
			size_t len, struct err *e)
{
	char got[OCI_DIGEST_LEN + 1];
	oci_digest_of(got, data, len);
	if (strcmp(got, digest) != 0)
		return err_set(e, ERR_INTEGRITY, "content of %s has digest %s", digest, got);
	_cleanup_free_ char *p = oci_layout_blob_path(l, digest);
	return file_write_atomic(p, data, len, e);
}

int oci_layout_commit_blob(const struct oci_layout *l, const char *digest, int fd,
			   const char *partial, struct err *e)
{
	if (l->fsync && fdatasync(fd) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot sync '%s'", partial);
	_cleanup_free_ char *p = oci_layout_blob_path(l, digest);
	if (rename(partial, p) < 0)
		return err_sys(e, ERR_STORAGE, errno, "cannot move '%s' into the layout", partial);
	return 0;
}

static cJSON *platform_json(const struct oci_platform *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "architecture", p->arch);
	cJSON_AddStringToObject(o, "os", p->os);
	if (p->variant)
		cJSON_AddStringToObject(o, "variant", p->variant);
	return o;
}

int oci_layout_add_ref(const struct oci_layout *l, const struct oci_index_entry *ent, struct err *e)
{
	int lk = layout_lock(l, e);
	if (lk < 0)
		return -1;
	_cleanup_free_ char *idx = xasprintf("%s/index.json", l->dir);
	struct buf b;
	buf_init(&b, INDEX_MAX);
	int ret = file_read_all(idx, &b, e);
	cJSON *root = NULL;
	if (ret == 0) {
		root = cJSON_ParseWithLength(buf_str(&b), b.len);
		if (!cJSON_IsObject(root))
			ret = err_set(e, ERR_STORAGE, "'%s' is not valid JSON", idx);
	}
	buf_release(&b);
	if (ret < 0)
		goto out;
	cJSON *mans = cJSON_GetObjectItemCaseSensitive(root, "manifests");
	if (!cJSON_IsArray(mans)) {
		cJSON_DeleteItemFromObjectCaseSensitive(root, "manifests");
		mans = cJSON_AddArrayToObject(root, "manifests");
	}
	// One entry per reference name: a re-pull of a moved tag replaces it.
	for (int i = cJSON_GetArraySize(mans) - 1; i >= 0; i--) {
		cJSON *m = cJSON_GetArrayItem(mans, i);
		cJSON *ann = cJSON_GetObjectItemCaseSensitive(m, "annotations");
		cJSON *name = cJSON_GetObjectItemCaseSensitive(ann, ANNOT_REF);
		if (cJSON_IsString(name) && strcmp(name->valuestring, ent->ref_name) == 0)
			cJSON_DeleteItemFromArray(mans, i);
	}
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "mediaType", ent->media_type);
	cJSON_AddStringToObject(d, "digest", ent->digest);
	cJSON_AddNumberToObject(d, "size", (double)ent->size);
	cJSON *ann = cJSON_AddObjectToObject(d, "annotations");
	cJSON_AddStringToObject(ann, ANNOT_CONTAINERD, ent->ref_name);
	cJSON_AddStringToObject(ann, ANNOT_REF, ent->ref_name);
	if (ent->platform)
		cJSON_AddItemToObject(d, "platform", platform_json(ent->platform));
	cJSON_AddItemToArray(mans, d);
	if (!cJSON_GetObjectItemCaseSensitive(root, "schemaVersion"))
		cJSON_AddNumberToObject(root, "schemaVersion", 2);
	char *out = cJSON_PrintUnformatted(root);
	if (!out) {
		ret = err_set(e, ERR_INTERNAL, "cannot serialize index.json");
		goto out;
	}
	ret = file_write_atomic(idx, out, strlen(out), e);
	free(out);
out:
	cJSON_Delete(root);
	layout_unlock(lk);
	return ret;
}
