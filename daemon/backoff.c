/*
 * backoff: exponential retry delays with jitter. It must never return a delay outside
 * [min, max] (for min <= max) nor overflow for large attempt counts.
 */
#include "backoff.h"

#include <sys/random.h>
#include <time.h>

uint64_t
backoff_delay_ms(uint64_t min_ms, uint64_t max_ms, uint32_t attempt, uint32_t r)
{
	uint64_t d = min_ms;
	for (uint32_t i = 1; i < attempt && d < max_ms; i++)
		d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;
	if (d > max_ms)
		d = max_ms;
	uint64_t half = d / 2;
	d = half + (half ? (uint64_t)r % (half + 1) : 0);
	return d < min_ms ? min_ms : d;
}

uint32_t
backoff_random(void)
{
	uint32_t r;
	if (getrandom(&r, sizeof(r), 0) == (ssize_t)sizeof(r))
		return r;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_nsec;
}
