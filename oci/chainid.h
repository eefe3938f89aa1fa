// SPDX-License-Identifier: Apache-2.0
// Chain IDs (opencontainers/image-spec identity.ChainID): the name containerd
// gives the committed snapshot of an image's first n layers, from the layers'
// diff_ids (the config's rootfs.diff_ids).
#ifndef IMGPULL_OCI_CHAINID_H
#define IMGPULL_OCI_CHAINID_H

#include <stddef.h>

#include "oci/digest.h"
#include "util/err.h"

// out[0] = diff_ids[0]; out[i] = "sha256:" + hex(sha256(out[i-1] + " " +
// diff_ids[i])) (sha256 whatever the diff_ids' algorithm, as go-digest's
// FromString). ERR_INTEGRITY naming the index when a diff_id is not a valid
// digest (the config is the registry's).
int oci_chain_ids(const char *const *diff_ids, size_t n, char (*out)[OCI_DIGEST_LEN + 1], struct err *e);

#endif
