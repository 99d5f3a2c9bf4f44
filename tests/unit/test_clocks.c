/*
 * Unit tests for daemon/clocks.c: a case's deadlines as arithmetic. Date deadlines hold
 * through their whole UTC day (month, leap-year and year ends included), durations count
 * from the receipt, nothing from nothing, the states at each edge, the UTC text form, and
 * the test clock's offset file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "../support/support.h"
#include "clocks.h"

#define S INT64_C(1000000)
#define DAY (86400 * S)

Test(clocks, a_date_holds_through_its_whole_utc_day)
{
	int64_t t;
	cr_assert_eq(clocks_date_end_us("1970-01-01", &t), 0);
	cr_assert_eq(t, DAY);
	cr_assert_eq(clocks_date_end_us("2026-12-31", &t), 0);
	char out[32];
	clocks_format(t, out, sizeof(out));
	cr_assert_str_eq(out, "2027-01-01T00:00:00Z");
	cr_assert_eq(clocks_date_end_us("2028-02-28", &t), 0);
	clocks_format(t, out, sizeof(out));
	cr_assert_str_eq(out, "2028-02-29T00:00:00Z", "2028 is a leap year");
	cr_assert_eq(clocks_date_end_us("2100-02-28", &t), 0);
	clocks_format(t, out, sizeof(out));
	cr_assert_str_eq(out, "2100-03-01T00:00:00Z", "2100 is not");
	cr_assert_eq(clocks_date_end_us("2026-04-30", &t), 0);
	clocks_format(t, out, sizeof(out));
	cr_assert_str_eq(out, "2026-05-01T00:00:00Z");
	/* The last date there is: never printed as year 10000. */
	cr_assert_eq(clocks_date_end_us("9999-12-31", &t), 0);
	clocks_format(t, out, sizeof(out));
	cr_assert_str_eq(out, "9999-12-31T23:59:59Z");
}

Test(clocks, bad_dates_are_refused)
{
	int64_t t = 42;
	static const char *const bad[] = {"", "2026-02-30", "2026-13-01", "2026-1-01",
	    "26-01-01", "2026-01-01T00", "abcd-ef-gh"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(clocks_date_end_us(bad[i], &t), -1, "%s", bad[i]);
	cr_assert_eq(clocks_date_end_us(NULL, &t), -1);
	cr_assert_eq(t, 42, "untouched");
}

Test(clocks, durations_count_from_the_receipt_and_nothing_from_nothing)
{
	int64_t rcv = 1764748800 * S;     /* 2025-12-03T08:00:00Z */
	cr_assert_eq(clocks_after(rcv, 7 * 86400 * 1000ULL), rcv + 7 * DAY);
	cr_assert_eq(clocks_after(rcv, 0), 0, "no duration: no clock");
	cr_assert_eq(clocks_after(0, 1000), 0, "receipt not known yet: no clock");
	/* respond-by: the requester's date wins over the kind's duration. */
	int64_t end;
	cr_assert_eq(clocks_date_end_us("2026-01-15", &end), 0);
	cr_assert_eq(clocks_respond_by("2026-01-15", rcv, 90 * 86400 * 1000ULL), end);
	cr_assert_eq(clocks_respond_by("2026-01-15", 0, 0), end, "known before the receipt");
	cr_assert_eq(clocks_respond_by("", rcv, 90 * 86400 * 1000ULL), rcv + 90 * DAY);
	cr_assert_eq(clocks_respond_by("", rcv, 0), 0, "kind other: none");
	cr_assert_eq(clocks_respond_by(NULL, 0, 90 * 86400 * 1000ULL), 0);
}

Test(clocks, states_at_each_edge)
{
	int64_t due = 1000 * S;
	uint64_t warn = 100 * 1000;   /* 100 s */
	cr_assert_eq(clocks_state_at(0, false, due, warn), CLOCKS_NONE);
	cr_assert_eq(clocks_state_at(due, false, due - 100 * S - 1, warn), CLOCKS_RUNNING);
	cr_assert_eq(clocks_state_at(due, false, due - 100 * S, warn), CLOCKS_DUE_SOON);
	cr_assert_eq(clocks_state_at(due, false, due - 1, warn), CLOCKS_DUE_SOON);
	cr_assert_eq(clocks_state_at(due, false, due, warn), CLOCKS_OVERDUE);
	cr_assert_eq(clocks_state_at(due, true, due + 5 * S, warn), CLOCKS_MET, "met wins");
	cr_assert_eq(clocks_state_at(due, false, due - 1, 0), CLOCKS_RUNNING, "no warning");
	cr_assert_str_eq(clocks_state_name(CLOCKS_DUE_SOON), "due-soon");
	cr_assert_str_eq(clocks_state_name(CLOCKS_OVERDUE), "overdue");
	cr_assert_str_eq(clocks_name(CLOCKS_ACK), "acknowledge-by");
	cr_assert_str_eq(clocks_name(CLOCKS_RESPOND), "respond-by");
}

Test(clocks, the_test_clock_moves_by_its_file)
{
	char path[512];
	char *dir = ts_tmpdir("clocks");
	snprintf(path, sizeof(path), "%s/clock", dir);
	setenv("ROGATORY_TEST_CLOCK_FILE", path, 1);
	int64_t a = clocks_now_us();
	ts_write_file(path, "86400\n", 0644);
	int64_t b = clocks_now_us();
	cr_assert_geq(b - a, DAY, "a day ahead");
	cr_assert_lt(b - a, DAY + 60 * S);
	ts_write_file(path, "-3600", 0644);
	int64_t c = clocks_now_us();
	cr_assert_lt(c, b - DAY, "and back");
	unsetenv("ROGATORY_TEST_CLOCK_FILE");
	ts_rmrf(dir);
	free(dir);
}
