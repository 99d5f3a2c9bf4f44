/*
 * Unit tests for daemon/outstate.c: every (state, event, transmitted or not) triple
 * against a matrix written out here by hand, so the table and this page must agree; plus
 * the rules the issue states in words (unconfirmed never flaps, finals never change).
 * The store applying the table in its transaction is tested in test_store.c.
 */
#include <criterion/criterion.h>

#include "outstate.h"
#include "store.h"

/* -: illegal. Letters: q queued, s sending, r retrying, d delivered, j rejected,
 * f failed, e expired, u unconfirmed, c cancelled. Columns are the events in enum
 * order from OUTSTATE_SEND; two rows per state: never transmitted, transmitted. */
static const char *const expect[STORE_STATE_COUNT][2] = {
	/*                 send unan defer acc rej exp fail retry cancel resign */
	[STORE_QUEUED] = {"s-r--efqcq", "s-r--efq-q"},
	[STORE_SENDING] = {"-r-dj----s", "-r-dj----s"},
	[STORE_RETRYING] = {"s-r--efrcr", "s-rdju-r-r"},
	[STORE_DELIVERED] = {"----------", "----------"},
	[STORE_REJECTED] = {"----------", "----------"},
	[STORE_FAILED] = {"----------", "----------"},
	[STORE_EXPIRED] = {"----------", "----------"},
	[STORE_UNCONFIRMED] = {"uuudj--u-u", "uuudj--u-u"},
	[STORE_CANCELLED] = {"----------", "----------"},
	[STORE_RECEIVED] = {"----------", "----------"},
};

static char
letter(enum store_state s)
{
	static const char l[STORE_STATE_COUNT] = {
		[STORE_QUEUED] = 'q', [STORE_SENDING] = 's', [STORE_RETRYING] = 'r',
		[STORE_DELIVERED] = 'd', [STORE_REJECTED] = 'j', [STORE_FAILED] = 'f',
		[STORE_EXPIRED] = 'e', [STORE_UNCONFIRMED] = 'u', [STORE_CANCELLED] = 'c',
		[STORE_RECEIVED] = 'R',
	};
	return l[s];
}

Test(outstate, every_state_event_pair_matches_the_matrix)
{
	int checked = 0;
	for (int s = 0; s < STORE_STATE_COUNT; s++) {
		for (int sent = 0; sent < 2; sent++) {
			const char *row = expect[s][sent];
			cr_assert_eq(strlen(row), OUTSTATE_EVENT_COUNT - 1, "matrix row %d", s);
			for (int ev = OUTSTATE_SEND; ev < OUTSTATE_EVENT_COUNT; ev++) {
				enum store_state to = STORE_STATE_COUNT;
				bool ok = outstate_next((enum store_state)s, (enum outstate_event)ev,
				    sent ? 3 : 0, &to);
				char want = row[ev - OUTSTATE_SEND];
				char got = ok ? letter(to) : '-';
				cr_expect_eq(got, want, "%s + %s (%s): table says %c, matrix %c",
				    store_state_name((enum store_state)s),
				    outstate_event_name((enum outstate_event)ev),
				    sent ? "transmitted" : "never transmitted", got, want);
				checked++;
			}
		}
	}
	cr_assert_eq(checked, STORE_STATE_COUNT * 2 * (OUTSTATE_EVENT_COUNT - 1));
}

Test(outstate, unconfirmed_stays_unconfirmed_through_retransmissions)
{
	enum store_state st = STORE_UNCONFIRMED;
	/* send, no answer, send, no answer, operator retry, send: never leaves. */
	const enum outstate_event cycle[] = {OUTSTATE_SEND, OUTSTATE_UNANSWERED, OUTSTATE_SEND,
	    OUTSTATE_UNANSWERED, OUTSTATE_OP_RETRY, OUTSTATE_SEND, OUTSTATE_RESIGN};
	for (size_t i = 0; i < sizeof(cycle) / sizeof(cycle[0]); i++) {
		cr_assert(outstate_next(st, cycle[i], 4, &st));
		cr_assert_eq(st, STORE_UNCONFIRMED, "after %s", outstate_event_name(cycle[i]));
	}
	/* Expiry again is not an event for it (no second `unconfirmed`). */
	cr_assert_not(outstate_next(st, OUTSTATE_EXPIRE, 4, &st));
	cr_assert(outstate_next(st, OUTSTATE_ACCEPTED, 4, &st));
	cr_assert_eq(st, STORE_DELIVERED);
}

Test(outstate, final_states_never_change)
{
	const enum store_state finals[] = {STORE_DELIVERED, STORE_REJECTED, STORE_FAILED,
	    STORE_EXPIRED, STORE_CANCELLED};
	for (size_t i = 0; i < sizeof(finals) / sizeof(finals[0]); i++)
		for (int ev = 0; ev < OUTSTATE_EVENT_COUNT; ev++) {
			enum store_state to;
			cr_assert_not(outstate_next(finals[i], (enum outstate_event)ev, 1, &to),
			    "%s left on %s", store_state_name(finals[i]),
			    outstate_event_name((enum outstate_event)ev));
		}
}

Test(outstate, event_names)
{
	cr_assert_str_eq(outstate_event_name(OUTSTATE_SEND), "send");
	cr_assert_str_eq(outstate_event_name(OUTSTATE_RESIGN), "resign");
	cr_assert_str_eq(outstate_event_name((enum outstate_event)99), "unknown");
}
