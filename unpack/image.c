// SPDX-License-Identifier: Apache-2.0
#include "unpack/image.h"

#include <string.h>

#include "oci/manifest.h"
#include "unpack/model.h"

int unpack_image_run(const struct unpack_image *u, struct unpack_stats *total, struct err *e)
{
	memset(total, 0, sizeof(*total));
	const struct oci_manifest *m = u->manifest;
	int pr = unpack_image_prepare(u, e);
	if (pr != 0)
		return pr;
	int r;
	if (unpack_model_kind(m) != UNPACK_MODEL_NONE)
		r = unpack_model_run(u, total, e);
	else if (oci_manifest_is_artifact(m))
		r = unpack_image_files(u, total, e);
	else
		r = unpack_image_layers(u, total, e);
	return r < 0 ? -1 : unpack_image_finish(u, e);
}
