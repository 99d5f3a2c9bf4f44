/*
 * journal: commits ops through the store and announces their events afterwards. It must
 * never announce an event the store did not commit (seq 0 means "not written").
 */
#include "journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "inbox.h"
#include "log.h"
#include "rogatoryd.h"

static void journal_done(struct store_op *op, void *arg);

struct journal_op *
journal_op_new(struct rogatoryd *d, enum store_op_kind k)
{
	struct journal_op *jo = calloc(1, sizeof(*jo));
	if (jo == NULL)
		fatal("out of memory");
	jo->d = d;
	jo->op.kind = k;
	if (d->actor.set) {
		jo->op.event.has_actor = true;
		jo->op.event.actor_uid = d->actor.uid;
		snprintf(jo->op.event.actor_user, sizeof(jo->op.event.actor_user), "%s",
		    d->actor.user);
	}
	return jo;
}

void
journal_event(struct journal_op *jo, const char *event, const char *msg_id, const char *peer,
    enum store_dir dir, const char *state, uint32_t attempt, uint64_t bytes,
    const char *reason)
{
	struct store_event *e = &jo->op.event;
	jo->op.has_event = true;
	snprintf(e->event, sizeof(e->event), "%s", event);
	snprintf(e->msg_id, sizeof(e->msg_id), "%s", msg_id ? msg_id : "");
	snprintf(e->peer, sizeof(e->peer), "%s", peer ? peer : "");
	e->dir = dir;
	snprintf(e->state, sizeof(e->state), "%s", state ? state : "");
	e->attempt = attempt;
	e->bytes = bytes;
	snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "");
}

void
journal_submit(struct journal_op *jo)
{
	jo->op.done = journal_done;
	jo->op.arg = jo;
	store_submit(jo->d->store, &jo->op);
}

void
journal_submit_pair(struct journal_op *first, struct journal_op *second)
{
	first->op.done = journal_done;
	first->op.arg = first;
	second->op.done = journal_done;
	second->op.arg = second;
	store_submit_pair(first->d->store, &first->op, &second->op);
}

static void
journal_done(struct store_op *op, void *arg)
{
	struct journal_op *jo = arg;
	if (op->result == STORE_R_ERROR || op->result == STORE_R_FULL)
		log_err("store: %s for message %s: %s", store_result_name(op->result),
		    op->msg.msg_id[0] ? op->msg.msg_id : "-", op->error);
	if (op->has_event && op->event.seq > 0 && jo->d->events != NULL)
		events_emit(jo->d->events, &op->event);
	/* The case events committed with it (store.h: op->more), in seq order. */
	for (size_t i = 0; i < op->n_more && jo->d->events != NULL; i++)
		if (op->more[i].seq > 0)
			events_emit(jo->d->events, &op->more[i]);
	free(op->more);
	op->more = NULL;
	op->n_more = 0;
	if (jo->done != NULL)
		jo->done(jo);
	store_msg_clear(&jo->op.msg);
	store_msg_clear(&jo->op.stored);
	store_retrieval_clear(&jo->op.retr);
	free(jo);
}

void
journal_link_event(struct rogatoryd *d, const char *event, const char *peer,
    enum store_dir dir, const char *reason)
{
	if (d->store == NULL)
		return;
	struct journal_op *jo = journal_op_new(d, STORE_OP_EVENT);
	journal_event(jo, event, NULL, peer, dir, NULL, 0, 0, reason);
	journal_submit(jo);
}
