// SPDX-License-Identifier: Apache-2.0
// The loop's pace (sched_pace): after a turn that carried little, the next
// waits until TURN_MIN_S after it began; after a full turn, or once that
// time has passed, it does not wait.
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
		uint64_t carried;
		double elapsed, wait;
	} cases[] = {
		{0, 0, TURN_MIN_S},                             // nothing arrived: the whole pause
		{0, TURN_MIN_S / 4, TURN_MIN_S * 3 / 4},        // the rest of it
		{TURN_FULL - 1, TURN_MIN_S / 2, TURN_MIN_S / 2}, // a little short of full
		{TURN_FULL, 0, 0},                              // full: no pause
		{UINT64_MAX, 0, 0},
		{0, TURN_MIN_S, 0},                             // the turn took the pause's time itself
		{16384, 0.5, 0},
		{0, -1, 0},                                     // a clock that went back: no pause
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double w = sched_pace(cases[i].carried, cases[i].elapsed);
		if (w < cases[i].wait - 1e-12 || w > cases[i].wait + 1e-12)
			fail_msg("case %zu: waited %g, want %g", i, w, cases[i].wait);
	}
}

// Never longer than the pause, never negative.
static void test_pace_bounds(void **state)
{
	(void)state;
	for (uint64_t carried = 0; carried <= 2 * TURN_FULL; carried += TURN_FULL / 8) {
		for (double el = -0.01; el < 0.01; el += 0.0001) {
			double w = sched_pace(carried, el);
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
