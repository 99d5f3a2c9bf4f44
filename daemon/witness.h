/*
 * witness: the other authorities' audit logs as we witness them (PROTOCOL.md section
 * 14). An offered checkpoint is checked (the origin's signature, its certificate at the
 * signing time, that it is the link's peer) and compared with the newest one we hold of
 * that origin: an extension proven by its consistency proof is stored as the newest and
 * cosigned (context rogatory/cosignature/v1, with our time) after the commit; a smaller
 * tree signed later, the same size with another root, or a failing proof is a fork:
 * refused, kept beside the one held as proof, logged with the origin, and an event
 * `audit-fork` the first time. It never cosigns a smaller or inconsistent tree.
 */
#ifndef ROGATORY_WITNESS_H
#define ROGATORY_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct link;
struct rogatoryd;
struct witness;

/* Loads what we hold of every origin. -1 + err. */
int witness_new(struct rogatoryd *d, struct witness **out, char *err, size_t errlen);
void witness_free(struct witness *w);

/* The size of origin's newest checkpoint we hold; 0 when none (our Hello says it). */
uint64_t witness_held_size(const struct witness *w, const char *origin);
/* An offer from the link's peer. Answers on that link after the commit. */
void witness_offer(struct witness *w, struct link *l, const Rogatory__V1__CheckpointOffer *o);

#endif
