/*
 * storeq: a mutex+condvar queue of store ops, the store thread that takes everything queued
 * as one batch, and the libevent event that brings finished batches back to the loop.
 * It must never call a completion on the store thread, nor hold its mutex while a batch
 * runs (the loop would then wait for a disk flush in storeq_push).
 *
 * Error policy: failing to create the thread or the event at start-up is returned to the
 * caller (-1 + err). Once running nothing here can fail: pthread mutex and condvar calls
 * on valid objects do not, and event_active on a valid event does not.
 */
#include "storeq.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "store.h"

struct storeq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool stopping;
	bool held;
	struct store_op *head, *tail;      /* queued, oldest first */
	size_t nqueued;
	struct store_op *done_head, *done_tail; /* committed, completion not yet run */
	_Atomic size_t pending;            /* queued + in the running batch */
	struct event *ev;
	storeq_batch_fn fn;
	void *ctx;
#ifdef ROGATORY_TEST_HOOKS
	const char *hold_path;             /* ROGATORY_TEST_STORE_HOLD (storeq.h) */
	size_t hold_logged;                /* ops queued when the queue hold last said so */
	bool hold_released;                /* the batch being run was held back */
#endif
};

static void *storeq_main(void *arg);
static size_t storeq_take(struct storeq *q, struct store_op **batch);
static void storeq_finish(struct storeq *q, struct store_op *batch, size_t n);
static void storeq_complete(evutil_socket_t fd, short what, void *arg);
#ifdef ROGATORY_TEST_HOOKS
static bool storeq_queue_held(struct storeq *q);
static void storeq_test_released(struct storeq *q, size_t n);
#endif

int
storeq_start(struct event_base *base, storeq_batch_fn fn, void *ctx, struct storeq **out,
    char *err, size_t errlen)
{
	struct storeq *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return err_set(err, errlen, "store queue: out of memory");
	q->fn = fn;
	q->ctx = ctx;
#ifdef ROGATORY_TEST_HOOKS
	q->hold_path = getenv("ROGATORY_TEST_STORE_HOLD");
	q->hold_logged = SIZE_MAX;
#endif
	atomic_init(&q->pending, 0);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->ev = event_new(base, -1, 0, storeq_complete, q);
	if (q->ev == NULL) {
		err_set(err, errlen, "store queue: cannot create the completion event");
		goto fail;
	}
	/* Signals belong to the loop thread: the store thread starts with all blocked. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&q->thread, NULL, storeq_main, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		err_set(err, errlen, "store queue: cannot start the store thread: %s",
		    strerror(rc));
		goto fail;
	}
	*out = q;
	return 0;
fail:
	if (q->ev != NULL)
		event_free(q->ev);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
	return -1;
}

/* Called with q->mu held: moves the whole queue into *batch. */
static size_t
storeq_take(struct storeq *q, struct store_op **batch)
{
	size_t n = q->nqueued;
	*batch = q->head;
	q->head = q->tail = NULL;
	q->nqueued = 0;
	return n;
}

/* Called without q->mu: the batch has run; its completions are due on the loop. */
static void
storeq_finish(struct storeq *q, struct store_op *batch, size_t n)
{
	struct store_op *last = batch;
	while (last->next != NULL)
		last = last->next;
	pthread_mutex_lock(&q->mu);
	if (q->done_tail != NULL)
		q->done_tail->next = batch;
	else
		q->done_head = batch;
	q->done_tail = last;
	atomic_fetch_sub(&q->pending, n);
	pthread_mutex_unlock(&q->mu);
}

static void *
storeq_main(void *arg)
{
	struct storeq *q = arg;

	/* Its own name in /proc/PID/task/TID/comm: the bench splits CPU time by thread. */
	pthread_setname_np(pthread_self(), "rogatoryd-store");

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while ((q->head == NULL || q->held) && !q->stopping)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->head == NULL)
			break;
#ifdef ROGATORY_TEST_HOOKS
		if (!q->stopping && storeq_queue_held(q))
			continue;
#endif
		struct store_op *batch;
		size_t n = storeq_take(q, &batch);
		pthread_mutex_unlock(&q->mu);
		q->fn(q->ctx, batch, n);
#ifdef ROGATORY_TEST_HOOKS
		storeq_test_released(q, n);
#endif
		storeq_finish(q, batch, n);
		event_active(q->ev, EV_READ, 0);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Loop thread: runs the completions of every finished op, in submission order. */
static void
storeq_complete(evutil_socket_t fd, short what, void *arg)
{
	struct storeq *q = arg;
	(void)fd;
	(void)what;

	pthread_mutex_lock(&q->mu);
	struct store_op *op = q->done_head;
	q->done_head = q->done_tail = NULL;
	pthread_mutex_unlock(&q->mu);
	while (op != NULL) {
		/* done may free or resubmit op: read the link first. */
		struct store_op *next = op->next;
		op->next = NULL;
		if (op->done != NULL)
			op->done(op, op->arg);
		op = next;
	}
}

void
storeq_push(struct storeq *q, struct store_op *op)
{
	storeq_push_n(q, &op, 1);
}

void
storeq_push_n(struct storeq *q, struct store_op *const *ops, size_t n)
{
	pthread_mutex_lock(&q->mu);
	for (size_t i = 0; i < n; i++) {
		struct store_op *op = ops[i];
		op->next = NULL;
		if (q->tail != NULL)
			q->tail->next = op;
		else
			q->head = op;
		q->tail = op;
		q->nqueued++;
		atomic_fetch_add(&q->pending, 1);
	}
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

size_t
storeq_pending(const struct storeq *q)
{
	return atomic_load(&q->pending);
}

void
storeq_hold(struct storeq *q, bool hold)
{
	pthread_mutex_lock(&q->mu);
	q->held = hold;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void
storeq_stop(struct storeq *q)
{
	pthread_mutex_lock(&q->mu);
	q->stopping = true;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);

	/* The thread is gone; completions may still submit (a retry, a follow-up event), so
	 * run batches here until both lists stay empty. */
	for (;;) {
		storeq_complete(-1, 0, q);
		pthread_mutex_lock(&q->mu);
		struct store_op *batch;
		size_t n = storeq_take(q, &batch);
		pthread_mutex_unlock(&q->mu);
		if (batch == NULL)
			break;
		q->fn(q->ctx, batch, n);
		storeq_finish(q, batch, n);
	}
	event_free(q->ev);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

#ifdef ROGATORY_TEST_HOOKS
/* ---- the test hold (storeq.h) ---- */

/* True when the hold file exists and its first word is where ("" counts as "queue"). */
static bool
storeq_hold_says(const struct storeq *q, const char *where)
{
	char word[16] = "";
	FILE *f = q->hold_path != NULL ? fopen(q->hold_path, "re") : NULL;
	if (f == NULL)
		return false;
	if (fscanf(f, "%15s", word) != 1)
		word[0] = '\0';
	fclose(f);
	return strcmp(word, where) == 0 || (word[0] == '\0' && strcmp(where, "queue") == 0);
}

/* RECEIVE ops in a list; *n gets the list's length. */
static size_t
storeq_receives(const struct store_op *op, size_t *n)
{
	size_t r = 0;
	for (*n = 0; op != NULL; op = op->next, (*n)++)
		r += op->kind == STORE_OP_RECEIVE;
	return r;
}

/* A polling interval of the hold, not a synchronisation: the file is the condition. */
static void
storeq_nap(void)
{
	struct timespec ts = {0, 5 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

/* Called with q->mu held and ops queued: true after one polling interval of holding. */
static bool
storeq_queue_held(struct storeq *q)
{
	if (!storeq_hold_says(q, "queue")) {
		q->hold_released = q->hold_logged != SIZE_MAX;
		q->hold_logged = SIZE_MAX;
		return false;
	}
	size_t n, r = storeq_receives(q->head, &n);
	if (n != q->hold_logged)
		log_info("store: test hold (queue): %zu ops queued, %zu receive", n, r);
	q->hold_logged = n;
	pthread_mutex_unlock(&q->mu);
	storeq_nap();
	pthread_mutex_lock(&q->mu);
	return true;
}

/* Store thread, after a batch ran: says once that the batch a hold kept back is in. */
static void
storeq_test_released(struct storeq *q, size_t n)
{
	if (q->hold_released)
		log_info("store: test hold released: the batch it held back (%zu ops) has run", n);
	q->hold_released = false;
}

void
storeq_test_before_commit(struct storeq *q, const struct store_op *batch, bool crash)
{
	size_t n, r = storeq_receives(batch, &n), logged = SIZE_MAX;
	while (q->hold_path != NULL) {
		size_t qn, qr;
		pthread_mutex_lock(&q->mu);
		bool stopping = q->stopping;
		qr = storeq_receives(q->head, &qn);
		pthread_mutex_unlock(&q->mu);
		if (stopping || !storeq_hold_says(q, "commit"))
			break;
		if (qn != logged)
			log_info("store: test hold (commit): batch of %zu ops, %zu receive; %zu ops "
			    "queued, %zu receive", n, r, qn, qr);
		logged = qn;
		q->hold_released = true;
		storeq_nap();
	}
	if (crash) {
		fprintf(stderr, "crash point store-mid-commit reached: batch of %zu ops, %zu "
		    "receive\n", n, r);
		_exit(9);
	}
}
#endif
