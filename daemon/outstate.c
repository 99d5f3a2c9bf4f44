/*
 * outstate: the outbound state table (see outstate.h). Pure: no I/O, no clock. It must
 * never allow a final state to change, nor `unconfirmed` to turn back into an ordinary
 * retry: retransmissions of an unconfirmed message are attempts, not state changes.
 */
#include "outstate.h"

#include <stddef.h>

/* Which messages a rule applies to. */
enum sent { ANY, SENT, UNSENT };

/* Ordered rules: the first that matches (from, event, sent) decides; none: illegal. */
static const struct {
	enum store_state from;
	enum outstate_event ev;
	enum sent sent;
	enum store_state to;
} rules[] = {
	/* A transmission: recorded before the Transfer leaves. */
	{ STORE_QUEUED, OUTSTATE_SEND, ANY, STORE_SENDING },
	{ STORE_RETRYING, OUTSTATE_SEND, ANY, STORE_SENDING },
	{ STORE_UNCONFIRMED, OUTSTATE_SEND, ANY, STORE_UNCONFIRMED },
	/* It ended without an answer: wait for the next attempt. */
	{ STORE_SENDING, OUTSTATE_UNANSWERED, ANY, STORE_RETRYING },
	{ STORE_UNCONFIRMED, OUTSTATE_UNANSWERED, ANY, STORE_UNCONFIRMED },
	/* Not transmitted now (e.g. the recipient left the directory): wait. */
	{ STORE_QUEUED, OUTSTATE_DEFER, ANY, STORE_RETRYING },
	{ STORE_RETRYING, OUTSTATE_DEFER, ANY, STORE_RETRYING },
	{ STORE_UNCONFIRMED, OUTSTATE_DEFER, ANY, STORE_UNCONFIRMED },
	/* A verified receipt settles whatever was transmitted, late ones included. */
	{ STORE_SENDING, OUTSTATE_ACCEPTED, ANY, STORE_DELIVERED },
	{ STORE_RETRYING, OUTSTATE_ACCEPTED, SENT, STORE_DELIVERED },
	{ STORE_UNCONFIRMED, OUTSTATE_ACCEPTED, ANY, STORE_DELIVERED },
	{ STORE_SENDING, OUTSTATE_REJECTED, ANY, STORE_REJECTED },
	{ STORE_RETRYING, OUTSTATE_REJECTED, SENT, STORE_REJECTED },
	{ STORE_UNCONFIRMED, OUTSTATE_REJECTED, ANY, STORE_REJECTED },
	/* expire_after: never transmitted → expired; transmitted → unconfirmed. A message
	 * in `sending` expires once its transmission ends (it is then retrying). */
	{ STORE_QUEUED, OUTSTATE_EXPIRE, ANY, STORE_EXPIRED },
	{ STORE_RETRYING, OUTSTATE_EXPIRE, UNSENT, STORE_EXPIRED },
	{ STORE_RETRYING, OUTSTATE_EXPIRE, SENT, STORE_UNCONFIRMED },
	/* Refused here, before the first transmission only. */
	{ STORE_QUEUED, OUTSTATE_FAIL, ANY, STORE_FAILED },
	{ STORE_RETRYING, OUTSTATE_FAIL, UNSENT, STORE_FAILED },
	/* The operator: retry now keeps the state; cancel only what never left. */
	{ STORE_QUEUED, OUTSTATE_OP_RETRY, ANY, STORE_QUEUED },
	{ STORE_RETRYING, OUTSTATE_OP_RETRY, ANY, STORE_RETRYING },
	{ STORE_UNCONFIRMED, OUTSTATE_OP_RETRY, ANY, STORE_UNCONFIRMED },
	{ STORE_QUEUED, OUTSTATE_OP_CANCEL, UNSENT, STORE_CANCELLED },
	{ STORE_RETRYING, OUTSTATE_OP_CANCEL, UNSENT, STORE_CANCELLED },
	/* A new signature over the same body: whatever is not settled. */
	{ STORE_QUEUED, OUTSTATE_RESIGN, ANY, STORE_QUEUED },
	{ STORE_SENDING, OUTSTATE_RESIGN, ANY, STORE_SENDING },
	{ STORE_RETRYING, OUTSTATE_RESIGN, ANY, STORE_RETRYING },
	{ STORE_UNCONFIRMED, OUTSTATE_RESIGN, ANY, STORE_UNCONFIRMED },
};

static const char *const event_names[OUTSTATE_EVENT_COUNT] = {
	[OUTSTATE_NONE] = "none",
	[OUTSTATE_SEND] = "send",
	[OUTSTATE_UNANSWERED] = "unanswered",
	[OUTSTATE_DEFER] = "defer",
	[OUTSTATE_ACCEPTED] = "accepted",
	[OUTSTATE_REJECTED] = "rejected",
	[OUTSTATE_EXPIRE] = "expire",
	[OUTSTATE_FAIL] = "fail",
	[OUTSTATE_OP_RETRY] = "operator-retry",
	[OUTSTATE_OP_CANCEL] = "operator-cancel",
	[OUTSTATE_RESIGN] = "resign",
};

bool
outstate_next(enum store_state from, enum outstate_event ev, uint32_t attempts,
    enum store_state *to)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (rules[i].from != from || rules[i].ev != ev)
			continue;
		if ((rules[i].sent == SENT && attempts == 0) ||
		    (rules[i].sent == UNSENT && attempts > 0))
			continue;
		*to = rules[i].to;
		return true;
	}
	return false;
}

const char *
outstate_event_name(enum outstate_event ev)
{
	return (unsigned)ev < OUTSTATE_EVENT_COUNT ? event_names[ev] : "unknown";
}
