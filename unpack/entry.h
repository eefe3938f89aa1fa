// SPDX-License-Identifier: Apache-2.0
// A layer entry's name: made clean, split, checked against the caller's own
// names, and refused in one message. Shared by the layer applier (layer.c)
// and the overlay upper (overlay.c), below both.
#ifndef IMGPULL_UNPACK_ENTRY_H
#define IMGPULL_UNPACK_ENTRY_H

#include <stdbool.h>

#include "util/err.h"

// A name from an image as a clean relative path ("a/b": "." components and
// repeated slashes dropped; "" for the root), malloc'd; NULL for an absolute
// name or one with a ".." component.
char *unpack_clean_name(const char *name);
// Splits a clean relative path into its directory (*dir, malloc'd; "" at the
// top) and its last name (*base, pointing into path).
void unpack_split_name(const char *path, char **dir, const char **base);

// layer.c's refusal of an entry: ERR_INTEGRITY, "layer WHAT: entry 'NAME' refused: WHY".
int unpack_entry_refused(const char *what, const char *name, const char *why, struct err *e);
// path (clean, relative) is one of the reserved top-level names or under one.
bool unpack_reserved(const char *const *reserved, const char *path);

#endif
