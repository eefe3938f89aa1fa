// SPDX-License-Identifier: Apache-2.0
// An image or artifact unpacked into a directory: a model package as its
// format lays it out (unpack/model.c), another artifact as files
// (unpack/rootfs.c), an image as its filesystem layers applied in order.
#ifndef IMGPULL_UNPACK_IMAGE_H
#define IMGPULL_UNPACK_IMAGE_H

#include "unpack/rootfs.h"
#include "unpack/stats.h"
#include "util/err.h"

// 1 when ROOTFS already holds this image (its marker names the manifest
// digest), 0 once unpacked, -1 on error.
int unpack_image_run(const struct unpack_image *u, struct unpack_stats *total, struct err *e);

#endif
