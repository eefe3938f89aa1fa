// SPDX-License-Identifier: Apache-2.0
// chart --untar: a Helm chart's .tgz expanded into its directory.
#ifndef IMGPULL_RUN_CHARTUNTAR_H
#define IMGPULL_RUN_CHARTUNTAR_H

#include "util/buf.h"
#include "util/err.h"

// The chart's .tgz expanded into a fresh directory beside the target, confined
// as --unpack's layers are, then renamed into place: NAME/ alone, never over
// anything that is there.
int chartuntar_into(const char *dir, const char *name, const struct buf *tgz, struct err *e);

#endif
