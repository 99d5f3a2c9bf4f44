/*
 * backoff: the one retry-delay rule of the daemon, for dialing a peer and for
 * retransmitting a message: exponential from min, capped at max, with jitter so that
 * peers that failed together do not come back together. Pure: the caller supplies the
 * randomness, so the bounds are testable.
 */
#ifndef ROGATORY_BACKOFF_H
#define ROGATORY_BACKOFF_H

#include <stdint.h>

/*
 * The delay before attempt number `attempt` (1 = the first retry): min * 2^(attempt-1)
 * capped at max, then a point in [delay/2, delay] chosen by r, never below min.
 * Always within [min, max] when min <= max.
 */
uint64_t backoff_delay_ms(uint64_t min_ms, uint64_t max_ms, uint32_t attempt, uint32_t r);

/* 32 random bits (getrandom; falls back to the clock). */
uint32_t backoff_random(void);

#endif
