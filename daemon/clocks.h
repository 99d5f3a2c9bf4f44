/*
 * clocks: a case's deadlines as pure arithmetic, in UTC microseconds since 1970. Two
 * clocks: acknowledge-by ([cases] acknowledge_within after the request was received; the
 * receiver's signed received_ms on both sides) and respond-by (the requester's date, else
 * [cases] respond_within.KIND after receipt; a postponed status's estimate replaces it).
 * No store, no I/O: the store thread, the daemon and the tests compute with the same
 * functions. clocks_now_us is the one clock the deadlines are judged by (a test hook
 * may move it).
 */
#ifndef ROGATORY_CLOCKS_H
#define ROGATORY_CLOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The two clocks of a case. */
enum clocks_which { CLOCKS_ACK = 0, CLOCKS_RESPOND = 1 };

/* Where a clock stands at a given time. */
enum clocks_state {
	CLOCKS_NONE,        /* no deadline (0) */
	CLOCKS_MET,         /* the case moved past what the clock waits for */
	CLOCKS_RUNNING,     /* more than warn_before to go */
	CLOCKS_DUE_SOON,    /* within warn_before */
	CLOCKS_OVERDUE,     /* passed */
};

/*
 * The end of the UTC day YYYY-MM-DD (the next day's 00:00:00Z): a date deadline holds
 * through its whole day. 0 and *out set; -1 when date is not a valid date.
 */
int clocks_date_end_us(const char *date, int64_t *out);

/* received + within; 0 when within is 0 (no clock) or received is unknown (0). */
int64_t clocks_after(int64_t received_us, uint64_t within_ms);

/*
 * respond-by of a case: the requester's date (YYYY-MM-DD, "" none) when given, else
 * received + within_ms (0: none). 0 when there is none.
 */
int64_t clocks_respond_by(const char *requester_date, int64_t received_us, uint64_t within_ms);

/* The state of deadline due at now, with warn_before_ms of notice; met wins. */
enum clocks_state clocks_state_at(int64_t due_us, bool met, int64_t now_us,
    uint64_t warn_before_ms);
const char *clocks_state_name(enum clocks_state s);  /* "none", "met", "running", ... */
const char *clocks_name(enum clocks_which w);        /* "acknowledge-by", "respond-by" */

/* "2026-12-03T08:15:00Z" (no fraction) into out (at least 21 bytes). */
void clocks_format(int64_t us, char *out, size_t len);

/* The deadlines' clock: wall-clock µs. Test builds add the offset in seconds read from
 * the file named by ROGATORY_TEST_CLOCK_FILE (absent or empty: 0), re-read each call, so
 * a test moves the deadlines' time forward (or back) without waiting. */
int64_t clocks_now_us(void);

#endif
