/*
 * journal: the one path from a state change to its record. A store op is committed by
 * the store thread; when it lands, the event the store wrote with it (if any) goes to
 * events (delivery log, followers), and only then does the caller's completion run, so
 * nothing is acknowledged or announced before it is on disk.
 */
#ifndef ROGATORY_JOURNAL_H
#define ROGATORY_JOURNAL_H

#include "store.h"

struct rogatoryd;

/* A heap op with the journal's bookkeeping; done runs once after the commit, then the
 * op is freed by the journal. */
struct journal_op {
	struct store_op op;
	struct rogatoryd *d;
	void (*done)(struct journal_op *jo);
	void *arg;
	uint64_t link_serial;   /* the link to answer on, when there is one */
	char text[256];         /* caller's scratch */
};

/* A zeroed op of kind k with its event's time-independent fields empty, and the operator
 * whose request is being handled (d->actor) as its event's actor. Never NULL. */
struct journal_op *journal_op_new(struct rogatoryd *d, enum store_op_kind k);
/* Queues it; done (may be NULL) runs on the loop after the commit. */
void journal_submit(struct journal_op *jo);
/* Queues both at once, to be applied in the same batch in that order (store_submit_pair);
 * each one's done runs after the commit, first's first. */
void journal_submit_pair(struct journal_op *first, struct journal_op *second);
/* Fills jo->op.event (has_event = true). */
void journal_event(struct journal_op *jo, const char *event, const char *msg_id,
    const char *peer, enum store_dir dir, const char *state, uint32_t attempt, uint64_t bytes,
    const char *reason);
/* An event alone (link-up, link-down). */
void journal_link_event(struct rogatoryd *d, const char *event, const char *peer,
    enum store_dir dir, const char *reason);

#endif
