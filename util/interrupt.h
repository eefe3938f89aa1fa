// SPDX-License-Identifier: Apache-2.0
// SIGTERM (the kubelet stopping a pod) and SIGINT: the handler only records the
// signal; the transfer loop and the blocking client look at it at least every
// 100 ms and stop, keeping what is on disk. A second signal ends the process at
// once (partial files and their records stay consistent: they are only ever
// replaced by rename).
#ifndef IMGPULL_UTIL_INTERRUPT_H
#define IMGPULL_UTIL_INTERRUPT_H

void interrupt_install(void);
// 0, or the number of the signal that asked us to stop.
int interrupt_signal(void);

#endif
