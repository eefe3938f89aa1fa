// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for manifest/index parsing and platform selection. Not built
// by default; e.g.
//   clang -std=gnu11 -D_GNU_SOURCE -I. -g -fsanitize=fuzzer,address,undefined \
//     test/fuzz/fuzz_manifest.c oci/manifest.c oci/platform.c oci/digest.c util/*.c \
//     $(pkg-config --cflags --libs libcjson libcrypto) -o fuzz_manifest
// The first input byte picks the Content-Type, the rest is the body, passed in
// an exactly sized buffer (no NUL after it) as it would come off the wire.
// The body is also read as an image config (rootfs.diff_ids, for --unpack).
// Besides crashes and sanitizer reports it checks the parser's contract, so a
// fuzzer-found violation aborts instead of passing silently.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/digest.h"
#include "oci/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_content_types[] = {
	NULL,
	"",
	"application/json",
	"text/plain; charset=utf-8",
	OCI_MT_INDEX,
	OCI_MT_MANIFEST,
	DOCKER_MT_LIST,
	DOCKER_MT_MANIFEST "; charset=utf-8",
	DOCKER_MT_SCHEMA1_SIGNED,
	"application/vnd.example+json",
};

static void fuzz_check_descriptor(const struct oci_descriptor *d, bool index_entry)
{
	if (!d->media_type || !d->media_type[0] || !oci_digest_valid(d->digest) ||
	    d->size >= (UINT64_C(1) << 53))
		abort();
	if (d->has_platform != (d->platform.os != NULL) || (d->platform.os && !d->platform.arch))
		abort();
	if (!index_entry && d->has_platform)
		abort();
	if (d->platform.variant && !d->platform.variant[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t nct = sizeof(fuzz_content_types) / sizeof(fuzz_content_types[0]);
	const char *ct = fuzz_content_types[data[0] % nct];
	size_t len = size - 1;
	char *body = malloc(len ? len : 1);
	if (!body)
		return 0;
	memcpy(body, data + 1, len);

	struct oci_manifest m;
	struct err e = {0};
	if (oci_manifest_parse(&m, ct, body, len, &e) == 0) {
		if (!m.media_type)
			abort();
		if (m.kind == OCI_KIND_MANIFEST) {
			if (m.nmanifests || m.manifests || (m.nlayers == 0) != (m.layers == NULL))
				abort();
			fuzz_check_descriptor(&m.config, false);
			for (size_t i = 0; i < m.nlayers; i++)
				fuzz_check_descriptor(&m.layers[i], false);
		} else if (m.kind == OCI_KIND_INDEX) {
			if (m.nlayers || m.layers || m.config.digest)
				abort();
			for (size_t i = 0; i < m.nmanifests; i++) {
				fuzz_check_descriptor(&m.manifests[i], true);
				if (m.manifests[i].has_platform) {
					char *s = oci_platform_string(&m.manifests[i].platform);
					free(s);
				}
			}
			struct oci_platform host;
			const struct oci_descriptor *d = NULL;
			oci_platform_host(&host);
			if (oci_index_select(&m, &host, &d, &e) == 0) {
				if (!d || !d->has_platform || !oci_platform_match(&host, &d->platform))
					abort();
			} else if (d || e.cls != ERR_NOTFOUND) {
				abort();
			}
			oci_platform_release(&host);
		} else {
			abort();
		}
	} else if (e.cls != ERR_INTEGRITY && e.cls != ERR_USAGE) {
		abort();
	} else if (!e.msg[0] || m.media_type || m.layers || m.manifests || m.config.digest) {
		abort();
	}
	oci_manifest_release(&m);
	// The same bytes as an image config: its diff_ids are digests, or nothing.
	char **ids = NULL;
	size_t nids = 99;
	if (oci_config_diff_ids(body, len, &ids, &nids, &e) == 0) {
		for (size_t i = 0; i < nids; i++) {
			if (!oci_digest_valid(ids[i]))
				abort();
			free(ids[i]);
		}
		free(ids);
	} else if (ids || nids || e.cls != ERR_INTEGRITY) {
		abort();
	}
	free(body);
	return 0;
}
