// SPDX-License-Identifier: Apache-2.0
// Monotonic time for durations, timeouts and rates.
#ifndef IMGPULL_UTIL_CLOCK_H
#define IMGPULL_UTIL_CLOCK_H

// Seconds on CLOCK_MONOTONIC (an arbitrary origin; only differences mean anything).
double clock_mono(void);

#endif
