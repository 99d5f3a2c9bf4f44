/*
 * statsfix: a statistics fixture store made from a seed. The store's own schema is
 * created by store_open (every migration), then the rows are written with SQL at chosen
 * times: cases with their status documents, the request messages, their events
 * (queued / delivered / rejected / received, and case-opened to be ignored), the
 * quarantine. The events become audit leaves at the next open (meta audit_backfill), as
 * a migrated store's do. What was written stays in struct statsfix, so a test computes
 * the expected answers from it in C, by construction, never from the store.
 */
#ifndef ROGATORY_TEST_STATSFIX_H
#define ROGATORY_TEST_STATSFIX_H

#include <stdbool.h>
#include <stdint.h>

#define STATSFIX_ME "BD-ACC"
#define STATSFIX_MAX 80
#define STATSFIX_QMAX 8

/* Boundary instants, µs since 1970: the first cases are opened at these. */
#define STATSFIX_2026 1767225600000000LL          /* 2026-01-01T00:00:00Z */
#define STATSFIX_FEB_2026 1769904000000000LL      /* 2026-02-01T00:00:00Z */
#define STATSFIX_2027 1798761600000000LL          /* 2027-01-01T00:00:00Z */

struct statsfix_case {
	char id[40];
	int dir;                  /* 0 we requested, 1 they did */
	int kind;                 /* Rogatory__V1__Kind */
	const char *peer;
	const char *state;        /* the case's state */
	int64_t opened_us;
	int64_t recv_us;          /* received by the requested side; 0: never */
	int64_t ack_by_us;        /* its clocks (0: none): recv_us + 7 days, */
	int64_t respond_by_us;    /* recv_us + 0 (none), 30, 60 or 90 days by its number */
	int64_t ack_us;           /* 0: none */
	int64_t exec_us;          /* 0: none */
	int exec_status;          /* 5 executed, 6 partially-executed */
	int final_status;         /* 0, 4 postponed, 7 refused */
	int64_t final_us;
	const char *reasons[2];
	int n_reasons;            /* -1: not recorded (NULL) */
	const char *offences[3];
	int n_offences;           /* -1: not recorded (NULL) */
	/* The request as a message. */
	const char *msg_state;    /* delivered, retrying, rejected, received */
	int attempts;
	int64_t size;
	const char *reject_code;  /* msg_state rejected */
	int64_t reject_us;
};

struct statsfix_q {
	const char *peer;
	const char *code;
	int64_t ts_us;
};

struct statsfix {
	int n;
	struct statsfix_case c[STATSFIX_MAX];
	int nq;
	struct statsfix_q q[STATSFIX_QMAX];
};

/* Writes <state_dir>/rogatory.db (which must not exist yet) with n (<= STATSFIX_MAX)
 * cases from seed; fx receives what was written. Asserts (Criterion) on failure. */
void statsfix_make(const char *state_dir, unsigned seed, int n, struct statsfix *fx);

#endif
