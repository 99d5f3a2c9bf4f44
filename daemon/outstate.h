/*
 * outstate: the life of an outbound message as one table. Every change of an outbound
 * message's state names an event; the store applies it in the transaction that writes
 * it, to the state the row has at that moment, through outstate_next (so a stale
 * decision taken on the loop cannot move a message backwards). Whether the message was
 * ever transmitted (attempts > 0) decides some events (expiry, cancel, fail).
 *
 * Rules the table keeps: `unconfirmed` (expired after a transmission, no receipt) stays
 * unconfirmed through every retransmission until a receipt settles it; a final state
 * (delivered, rejected, failed, expired, cancelled) never changes.
 */
#ifndef ROGATORY_OUTSTATE_H
#define ROGATORY_OUTSTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

enum outstate_event {
	OUTSTATE_NONE = 0,     /* not a transition: a plain UPDATE (inbound rows) */
	OUTSTATE_SEND,         /* a transmission is recorded, before the Transfer is written */
	OUTSTATE_UNANSWERED,   /* a transmission ended without an answer (link lost, no
	                        * receipt in time, TRY_LATER, never written, restart) */
	OUTSTATE_DEFER,        /* not transmitted now, try later (recipient unknown) */
	OUTSTATE_ACCEPTED,     /* verified ACCEPTED receipt */
	OUTSTATE_REJECTED,     /* verified REJECTED receipt */
	OUTSTATE_EXPIRE,       /* expire_after passed */
	OUTSTATE_FAIL,         /* refused here before any transmission (too large for peer) */
	OUTSTATE_OP_RETRY,     /* operator: retry now */
	OUTSTATE_OP_CANCEL,    /* operator: cancel */
	OUTSTATE_RESIGN,       /* the document was signed again (certificate renewal) */
	OUTSTATE_EVENT_COUNT,
};

/* The state an event leads to from `from` for a message transmitted `attempts` times:
 * true and *to, or false when the event is not legal there (nothing may change). */
bool outstate_next(enum store_state from, enum outstate_event ev, uint32_t attempts,
    enum store_state *to);

/* "send", "unanswered", ... for logs and tests. */
const char *outstate_event_name(enum outstate_event ev);

#endif
