// SPDX-License-Identifier: Apache-2.0
// What applying layers counted: entries, bytes read and written, whiteouts.
// A header of its own so that the overlay upper (overlay.c), which counts
// whiteouts, and the layer applier (layer.c), which drives it, include it
// rather than each other.
#ifndef IMGPULL_UNPACK_STATS_H
#define IMGPULL_UNPACK_STATS_H

#include <stdint.h>

struct unpack_stats {
	uint64_t entries, bytes_in, bytes_out, whiteouts;
};

#endif
