// SPDX-License-Identifier: Apache-2.0
// The loop's pace (sched_pace): after a turn that carried little, the next
// waits until TURN_MIN_S after it began; after a full turn, a turn in which
// one connection brought a receive buffer's worth, or once that time has
// passed, it does not wait.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pull/engine_int.h"

static void test_pace_table(void **state)
{
	(void)state;
	static const struct {
		uint64_t bytes, most;
		double elapsed, wait;
	} cases[] = {
		{0, 0, 0, TURN_MIN_S},                                  // nothing arrived: the whole pause
		{0, 0, TURN_MIN_S / 4, TURN_MIN_S * 3 / 4},             // the rest of it
		{TURN_FULL - 1, TURN_ONE - 1, TURN_MIN_S / 2, TURN_MIN_S / 2}, // many slow connections, a little short
		{TURN_FULL, 16384, 0, 0},                               // full: no pause
		{UINT64_MAX, 0, 0, 0},
		{TURN_ONE, TURN_ONE, 0, 0},                             // one fast connection: no pause
		{3 * TURN_ONE, TURN_ONE + 1, 0.0002, 0},
		{0, 0, TURN_MIN_S, 0},                                  // the turn took the pause's time itself
		{16384, 16384, 0.5, 0},
		{0, 0, -1, 0},                                          // a clock that went back: no pause
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pull_turn t = {.bytes = cases[i].bytes, .most = cases[i].most};
		double w = sched_pace(&t, cases[i].elapsed);
		if (w < cases[i].wait - 1e-12 || w > cases[i].wait + 1e-12)
			fail_msg("case %zu: waited %g, want %g", i, w, cases[i].wait);
	}
}

// Never longer than the pause, never negative.
static void test_pace_bounds(void **state)
{
	(void)state;
	for (uint64_t bytes = 0; bytes <= 2 * TURN_FULL; bytes += TURN_FULL / 8) {
		for (double el = -0.01; el < 0.01; el += 0.0001) {
			struct pull_turn t = {.bytes = bytes, .most = bytes / 16};
			double w = sched_pace(&t, el);
			assert_true(w >= 0 && w <= TURN_MIN_S);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pace_table),
		cmocka_unit_test(test_pace_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
