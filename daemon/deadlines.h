/*
 * deadlines: the cases' clocks at work. A scan runs at start and every [cases]
 * check_every, judging each clock against the wall clock now (so a jump forward is caught
 * by the next scan and logged, a jump back repeats nothing); it hands the store one op
 * (STORE_OP_DEADLINES) that records "due-soon" and "overdue" for the clocks that reached
 * them, each once per case and deadline: what was recorded is marked in the transaction
 * of its event, so a restart, a kill -9 or a clock jump neither repeats nor skips one.
 * Bounded: at most DEADLINES_BATCH cases per op; when the limit is reached the next op
 * follows on the next loop turn.
 */
#ifndef ROGATORY_DEADLINES_H
#define ROGATORY_DEADLINES_H

#include <stddef.h>

struct rogatoryd;
struct deadlines;

#define DEADLINES_BATCH 64

/* Starts the timer and the first scan. 0; -1 + err. */
int deadlines_new(struct rogatoryd *d, struct deadlines **out, char *err, size_t errlen);
/* Stops the timer (an op in the store completes into a stopped scanner harmlessly: the
 * caller frees after store_close). NULL is fine. */
void deadlines_stop(struct deadlines *dl);
void deadlines_free(struct deadlines *dl);

#endif
