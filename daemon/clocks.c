/*
 * clocks: the deadlines' arithmetic (contract in clocks.h). It must never look at
 * anything but its arguments, except clocks_now_us: the same case has the same clocks on
 * the store thread, in the daemon and in the tests.
 */
#include "clocks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text.h"

#define US_PER_DAY (INT64_C(86400) * 1000000)

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t
days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

int
clocks_date_end_us(const char *date, int64_t *out)
{
	if (date == NULL || strlen(date) != 10 || !text_date_valid((const uint8_t *)date, 10))
		return -1;
	/* text_date_valid checked the digits: the fields convert whole. */
	int y = (int)strtol(date, NULL, 10);
	unsigned m = (unsigned)strtoul(date + 5, NULL, 10), d = (unsigned)strtoul(date + 8, NULL, 10);
	*out = (days_from_civil(y, m, d) + 1) * US_PER_DAY;
	return 0;
}

int64_t
clocks_after(int64_t received_us, uint64_t within_ms)
{
	if (received_us <= 0 || within_ms == 0)
		return 0;
	return received_us + (int64_t)within_ms * 1000;
}

int64_t
clocks_respond_by(const char *requester_date, int64_t received_us, uint64_t within_ms)
{
	int64_t due;
	if (requester_date != NULL && requester_date[0] != '\0' &&
	    clocks_date_end_us(requester_date, &due) == 0)
		return due;
	return clocks_after(received_us, within_ms);
}

enum clocks_state
clocks_state_at(int64_t due_us, bool met, int64_t now_us, uint64_t warn_before_ms)
{
	if (due_us <= 0)
		return CLOCKS_NONE;
	if (met)
		return CLOCKS_MET;
	if (now_us >= due_us)
		return CLOCKS_OVERDUE;
	if (now_us >= due_us - (int64_t)warn_before_ms * 1000)
		return CLOCKS_DUE_SOON;
	return CLOCKS_RUNNING;
}

const char *
clocks_state_name(enum clocks_state s)
{
	static const char *const names[] = {
		[CLOCKS_NONE] = "none", [CLOCKS_MET] = "met", [CLOCKS_RUNNING] = "running",
		[CLOCKS_DUE_SOON] = "due-soon", [CLOCKS_OVERDUE] = "overdue",
	};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "invalid";
}

const char *
clocks_name(enum clocks_which w)
{
	return w == CLOCKS_ACK ? "acknowledge-by" : "respond-by";
}

void
clocks_format(int64_t us, char *out, size_t len)
{
	/* The end of 9999-12-31 (a date's deadline lasts its whole day) would print as year
	 * 10000, which RFC 3339 and every column width refuse: its last second instead. */
	const int64_t year_10000_s = INT64_C(253402300800);
	if (us >= year_10000_s * 1000000)
		us = (year_10000_s - 1) * 1000000;
	time_t t = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "?");
}

int64_t
clocks_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
#ifdef ROGATORY_TEST_HOOKS
	const char *path = getenv("ROGATORY_TEST_CLOCK_FILE");
	FILE *f = path != NULL ? fopen(path, "r") : NULL;
	if (f != NULL) {
		char line[32], *end = NULL;
		if (fgets(line, sizeof(line), f) != NULL) {
			long long off = strtoll(line, &end, 10);
			if (end != line)
				now += (int64_t)off * 1000000;
		}
		fclose(f);
	}
#endif
	return now;
}
