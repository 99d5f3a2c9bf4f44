/*
 * benchscale: the queue-at-rest and many-peers phases of `make bench`
 * (figures written into b->out under the keys).
 */
#ifndef ROGATORY_BENCHSCALE_H
#define ROGATORY_BENCHSCALE_H

struct bench;

/* b->c.queue messages for C while it is down: RSS, DB size, restart, drain. */
void benchscale_queue(struct bench *b);
/* b->c.peers light authorities dial a fresh daemon at once: time to all up, RSS/link. */
void benchscale_peers(struct bench *b);

#endif
