/*
 * storeq: the store's write queue and its thread. It moves ops from the loop to the store
 * thread and completions back to the loop; it knows nothing of SQL (store.c runs the
 * batches through the function it is given) and must never run a completion anywhere but
 * on the loop thread (or in storeq_stop, which the loop thread calls).
 */
#ifndef ROGATORY_STOREQ_H
#define ROGATORY_STOREQ_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct store_op;
struct storeq;

/*
 * Executes and commits one batch: n ops linked by op->next, in submission order. It must
 * set every op's result; it runs on the store thread (during storeq_stop, on the caller's).
 */
typedef void (*storeq_batch_fn)(void *ctx, struct store_op *batch, size_t n);

/* Starts the thread; completions run on base. -1 + err. */
int storeq_start(struct event_base *base, storeq_batch_fn fn, void *ctx, struct storeq **out,
    char *err, size_t errlen);
/* Finishes every queued op (including ops that completions submit meanwhile), runs every
 * completion, stops the thread and frees q. */
void storeq_stop(struct storeq *q);

/* Queues op. Never waits for the disk: only for the queue's mutex. */
void storeq_push(struct storeq *q, struct store_op *op);
/* Queues ops[0..n) in that order at once: the thread takes all that is queued as one
 * batch, so they run in the same batch. */
void storeq_push_n(struct storeq *q, struct store_op *const *ops, size_t n);
/* Ops queued or in the batch being committed. */
size_t storeq_pending(const struct storeq *q);
/* While held, the thread takes no ops, so that tests can build one batch of a known size;
 * storeq_stop overrides it. */
void storeq_hold(struct storeq *q, bool hold);

#ifdef ROGATORY_TEST_HOOKS
/*
 * Tests, from outside the process: ROGATORY_TEST_STORE_HOLD=PATH. While PATH exists the
 * store thread holds where its first word says (write PATH by rename, never half-written):
 * "queue" (or nothing): it takes no ops, so the next batch is everything queued until
 * PATH goes; "commit": it takes and runs a batch but does not commit it until PATH goes
 * (ops queue behind it). Holding, it logs each change of what waits:
 *   store: test hold (queue): N ops queued, R receive
 *   store: test hold (commit): batch of N ops, R receive; M ops queued, S receive
 * (R, S: how many of them are STORE_OP_RECEIVE), and once PATH is gone and the batch
 * it held back has run (committed, or failed): "store: test hold released: ...".
 * storeq_stop ends either hold.
 * The batch function calls this with its batch, everything executed, before the commit;
 * with crash set (ROGATORY_CRASH_AT=store-mid-commit) the process then ends there with
 * "crash point store-mid-commit reached: batch of N ops, R receive" and status 9.
 */
void storeq_test_before_commit(struct storeq *q, const struct store_op *batch, bool crash);
#endif

#endif
