/*
 * backoff: the retry delays of dialing and retransmission stay within [min, max], grow
 * exponentially, and are spread by jitter.
 */
#include <criterion/criterion.h>

#include <stdint.h>

#include "backoff.h"

Test(backoff, bounds_hold_for_every_attempt_and_random_value)
{
	static const uint32_t rs[] = {0, 1, 2, 12345, 0x7fffffff, 0xffffffff};
	for (uint32_t attempt = 0; attempt < 200; attempt++) {
		for (size_t k = 0; k < sizeof(rs) / sizeof(rs[0]); k++) {
			uint64_t d = backoff_delay_ms(5000, 600000, attempt, rs[k]);
			cr_assert(d >= 5000 && d <= 600000, "attempt %u r %u: %llu ms", attempt, rs[k],
			    (unsigned long long)d);
		}
	}
}

Test(backoff, grows_exponentially_until_the_cap)
{
	/* The upper end (largest r) doubles per attempt: 1s, 2s, 4s, 8s, then capped at 10s. */
	uint32_t top = 0xffffffff;
	cr_assert_leq(backoff_delay_ms(1000, 10000, 1, top), 1000);
	cr_assert_leq(backoff_delay_ms(1000, 10000, 2, top), 2000);
	cr_assert_gt(backoff_delay_ms(1000, 10000, 3, 2000), 2000);
	cr_assert_leq(backoff_delay_ms(1000, 10000, 4, top), 8000);
	cr_assert_leq(backoff_delay_ms(1000, 10000, 30, top), 10000);
	cr_assert_geq(backoff_delay_ms(1000, 10000, 30, 0), 5000, "jitter never below half");
}

Test(backoff, jitter_spreads_delays)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	for (uint32_t r = 0; r < 5000; r += 7) {
		uint64_t d = backoff_delay_ms(1000, 600000, 8, r * 2654435761u);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	cr_assert_gt(hi - lo, 30000, "delays not spread: %llu..%llu", (unsigned long long)lo,
	    (unsigned long long)hi);
}

Test(backoff, huge_attempt_counts_do_not_overflow)
{
	cr_assert_eq(backoff_delay_ms(UINT64_MAX / 2, UINT64_MAX, UINT32_MAX, 0) >= UINT64_MAX / 2,
	    1);
}
