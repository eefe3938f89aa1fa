// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the model package reader (unpack/model.c): which
// layers of a ModelPack artifact (vnd.cncf or the older vnd.cnai form) or a
// KitOps ModelKit (a parent ModelKit named in model.path, remote datasets) go
// where, from the manifest and the config (the Kitfile as JSON, written back
// as YAML). Not built by default (cmake -DIMGPULL_FUZZ=ON with clang).
// Input: the manifest's bytes, a NUL, the config's bytes (each passed in an
// exactly sized buffer, as they would come off the wire). Besides crashes and
// sanitizer reports it checks the reader's contract, so a violation aborts:
// every path it gives is a clean relative name (no '..', not absolute, no name
// of imgpull's), a raw layer's is not empty, no two labels alike, the config's
// file named and filled.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/manifest.h"
#include "unpack/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_path(const char *path, bool empty_ok)
{
	if (!path || (!empty_ok && !*path) || path[0] == '/' || strncmp(path, ".imgpull-", 9) == 0)
		abort();
	char *clean = unpack_clean_name(path);
	if (!clean || strcmp(clean, path) != 0)
		abort();
	free(clean);
}

static void fuzz_check_plan(const struct oci_manifest *m, const struct unpack_model_plan *p)
{
	if (p->kind == UNPACK_MODEL_NONE || p->nlayers != m->nlayers || !p->config_name || !p->config_text ||
	    strlen(p->config_text) > p->config_len)
		abort();
	for (size_t i = 0; i < p->nlayers; i++) {
		const struct unpack_model_layer *l = &p->layers[i];
		fuzz_check_path(l->path, !l->raw);
		if (l->label)
			fuzz_check_path(l->label, true);
		for (size_t k = 0; k < i && l->label && *l->label; k++)
			if (p->layers[k].label && strcmp(p->layers[k].label, l->label) == 0)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t mlen = nul ? (size_t)(nul - data) : size;
	size_t clen = nul ? size - mlen - 1 : 0;
	char *mbody = malloc(mlen ? mlen : 1), *cbody = malloc(clen ? clen : 1);
	if (!mbody || !cbody)
		abort();
	memcpy(mbody, data, mlen);
	if (clen)
		memcpy(cbody, nul + 1, clen);
	struct oci_manifest m;
	struct err e;
	if (oci_manifest_parse(&m, OCI_MT_MANIFEST, mbody, mlen, &e) == 0 && m.kind == OCI_KIND_MANIFEST) {
		struct unpack_model_plan p;
		int r = unpack_model_plan(&m, cbody, clen, &p, &e);
		if (r == 0)
			fuzz_check_plan(&m, &p);
		else if (p.layers || p.config_text || (e.cls != ERR_INTEGRITY && e.cls != ERR_USAGE))
			abort();
		unpack_model_plan_release(&p);
	}
	oci_manifest_release(&m);
	free(mbody);
	free(cbody);
	return 0;
}
