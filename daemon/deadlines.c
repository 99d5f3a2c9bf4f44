/*
 * deadlines: the scan of the cases' clocks (contract in deadlines.h). One op at a time;
 * the store decides which clocks are due and records them with their marks, so this file
 * only says when to look and with which time. It must never record an event itself and
 * never stop the daemon: a failed op is logged and the next tick looks again.
 */
#include "deadlines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clocks.h"
#include "config.h"
#include "journal.h"
#include "link.h"
#include "log.h"
#include "rogatoryd.h"

/* A wall clock that moved this much more (or less) than the monotonic one is a jump. */
#define JUMP_US (2 * INT64_C(1000000))

struct deadlines {
	struct rogatoryd *d;
	struct event *timer;
	bool busy;                  /* an op is in the store */
	bool stopped;
	int64_t skew_us;            /* wall - monotonic at the last scan */
	uint64_t recorded;          /* cases that got an event since start */
};

static void deadlines_tick(evutil_socket_t fd, short what, void *arg);
static void deadlines_arm(struct deadlines *dl, uint64_t ms);
static void scan_done(struct journal_op *jo);

int
deadlines_new(struct rogatoryd *d, struct deadlines **out, char *err, size_t errlen)
{
	struct deadlines *dl = calloc(1, sizeof(*dl));
	*out = NULL;
	if (dl == NULL)
		return err_set(err, errlen, "out of memory");
	dl->d = d;
	dl->timer = event_new(d->base, -1, 0, deadlines_tick, dl);
	if (dl->timer == NULL) {
		free(dl);
		return err_set(err, errlen, "deadlines: cannot create the timer");
	}
	dl->skew_us = clocks_now_us() - (int64_t)link_now_ms() * 1000;
	deadlines_arm(dl, 0);       /* the scan at start */
	*out = dl;
	return 0;
}

void
deadlines_stop(struct deadlines *dl)
{
	if (dl == NULL)
		return;
	dl->stopped = true;
	event_del(dl->timer);
}

void
deadlines_free(struct deadlines *dl)
{
	if (dl == NULL)
		return;
	event_free(dl->timer);
	free(dl);
}

static void
deadlines_arm(struct deadlines *dl, uint64_t ms)
{
	if (dl->stopped)
		return;
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	event_add(dl->timer, &tv);
}

static void
deadlines_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct deadlines *dl = arg;
	struct rogatoryd *d = dl->d;
	if (dl->busy || dl->stopped)
		return;
	int64_t now = clocks_now_us();
	int64_t skew = now - (int64_t)link_now_ms() * 1000;
	if (skew - dl->skew_us > JUMP_US || dl->skew_us - skew > JUMP_US)
		log_notice("deadlines: the wall clock jumped by %+lld s; every clock is judged by "
		    "the time now, and what was recorded is never recorded again",
		    (long long)((skew - dl->skew_us) / 1000000));
	dl->skew_us = skew;
	struct journal_op *jo = journal_op_new(d, STORE_OP_DEADLINES);
	jo->op.due.now_us = now;
	jo->op.due.warn_before_ms = d->cfg->case_warn_before_ms;
	jo->op.due.limit = DEADLINES_BATCH;
	jo->arg = dl;
	jo->done = scan_done;
	dl->busy = true;
	journal_submit(jo);
}

static void
scan_done(struct journal_op *jo)
{
	struct deadlines *dl = jo->arg;
	struct store_op *op = &jo->op;
	dl->busy = false;
	if (op->result != STORE_R_OK) {
		log_warn("deadlines: cannot record the clocks that passed: %s (%s); trying again "
		    "in %llu s", store_result_name(op->result), op->error,
		    (unsigned long long)(dl->d->cfg->case_check_every_ms / 1000));
		deadlines_arm(dl, dl->d->cfg->case_check_every_ms);
		return;
	}
	dl->recorded += (uint64_t)op->due.cases;
	/* The events themselves went to the delivery log with the commit (journal.c). */
	if (op->due.cases > 0)
		log_info("deadlines: %d case%s reached a clock", op->due.cases,
		    op->due.cases == 1 ? "" : "s");
	else
		log_debug("deadlines: looked at the clocks; none reached");
	/* More than one op's worth: the rest on the next loop turn, after other work. */
	deadlines_arm(dl, op->due.more ? 0 : dl->d->cfg->case_check_every_ms);
}
