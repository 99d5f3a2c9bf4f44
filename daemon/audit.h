/*
 * audit: our audit log as an origin (PROTOCOL.md section 15). Every [audit]
 * checkpoint_every, when the tree grew, and at shutdown, it signs a checkpoint (context
 * rogatory/checkpoint/v1: our id, tree size, root, time) and keeps it; it offers each new
 * checkpoint to every linked authority with a consistency proof from the size that
 * authority says it holds (its Hello, its last cosignature or refusal), and keeps the
 * cosignatures that come back. The entries themselves are written by the store with
 * their events (storeaudit.c); the witness side is witness.h.
 */
#ifndef ROGATORY_AUDIT_H
#define ROGATORY_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct audit;
struct link;
struct rogatoryd;

/* Loads our newest checkpoint and starts the checkpoint timer. -1 + err. */
int audit_new(struct rogatoryd *d, struct audit **out, char *err, size_t errlen);
/* Shutdown, after the loop ended and before store_close: queues the last checkpoint
 * (signed once every event queued before it has committed); no more offers. */
void audit_stop(struct audit *a);
void audit_free(struct audit *a);

/* A link became ready: offer our newest checkpoint if that peer lacks it. */
void audit_link_ready(struct audit *a, struct link *l);
/* A Witness frame (Envelope 9) from a ready link: offers go to the witness, answers
 * (cosignatures, refusals) to our checkpoints are ours. */
void audit_frame(struct audit *a, struct link *l, const Rogatory__V1__Witness *w);

/* Runs fn once a checkpoint of at least `need` entries is stored (signing one now if the
 * tree has grown that far), or with ok false and why when it cannot be. */
typedef void (*audit_ready_fn)(void *arg, bool ok, const char *why);
void audit_checkpoint_covering(struct audit *a, uint64_t need, audit_ready_fn fn, void *arg);

/* Our newest checkpoint's size (0: none yet) and the loop's time spent on the log. */
uint64_t audit_newest_size(const struct audit *a);
uint64_t audit_loop_ns(const struct audit *a);

#endif
