// SPDX-License-Identifier: Apache-2.0
// containerd.services.content.v1.Content (api/services/content/v1/
// content.proto, the same field numbers in 1.6 and 2.x): registering in the
// session's namespace a blob already in containerd's content store on disk
// (cri/content.c puts it there), its Info, and its labels. A blob only on disk
// is deleted by containerd's next garbage collection; a registered one is kept
// while something (a lease, an image) references it.
#ifndef IMGPULL_CTRD_CONTENT_H
#define IMGPULL_CTRD_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "ctrd/session.h"

#define CTRD_LABEL_UNCOMPRESSED "containerd.io/uncompressed" // a layer's diff_id

struct ctrd_content_info {
	char *digest;
	int64_t size;
	struct ctrd_labels labels;
};
void ctrd_content_info_free(struct ctrd_content_info *i);

// Registers blob digest of size bytes, already in the content store's
// blobs/<alg>/<hex>, with labels, under the session's lease: one Write
// {action COMMIT, ref "imgpull-<digest>", total = offset = size, expected =
// digest} (containerd's metadata store finds the file and commits it). 1 when
// registered now, 0 when it was already (AlreadyExists). When the file is not
// in the store or has another size, containerd 1.6.20 answers OUT_OF_RANGE
// ("write @N must occur at current offset 0"; s->status.code, ERR_STORAGE) and
// keeps an empty ingest under the ref until the lease goes: put the blob again
// and retry (the retry succeeds). ERR_INTEGRITY when containerd committed
// another digest.
int ctrd_content_register(struct ctrd_session *s, const char *digest, uint64_t size, const struct ctrd_label *labels,
			  size_t nlabels, struct err *e);
// Info of digest in the namespace; ERR_NOTFOUND when it is not registered there.
int ctrd_content_info(struct ctrd_session *s, const char *digest, struct ctrd_content_info *out, struct err *e);
// Sets the labels of digest (a label with a NULL value is removed), and only
// those (the field mask names each "labels.<key>"); *out (may be NULL) the
// Info afterwards. ERR_NOTFOUND when digest is not registered.
int ctrd_content_update(struct ctrd_session *s, const char *digest, const struct ctrd_label *labels, size_t nlabels,
			struct ctrd_content_info *out, struct err *e);

// The wire forms, for tests.
int ctrd_content_encode_commit(struct buf *out, const char *ref, const char *digest, uint64_t size,
			       const struct ctrd_label *labels, size_t nlabels);
int ctrd_content_encode_info(struct buf *out, const char *digest);
int ctrd_content_encode_update(struct buf *out, const char *digest, const struct ctrd_label *labels, size_t nlabels);
// Write's answer (its frames, one WriteContentResponse each): 0 when each is
// well formed and none names a digest other than digest.
int ctrd_content_decode_write(const void *data, size_t len, const char *digest, struct err *e);
// InfoResponse and UpdateResponse: {1 Info}.
int ctrd_content_decode_info(const void *msg, size_t len, struct ctrd_content_info *out, struct err *e);

#endif
