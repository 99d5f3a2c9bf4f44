/*
 * pause: the authorities whose outbound messages an operator paused (rogatoryctl pause
 * PEER). A paused authority is not dialed for outbound work and nothing is transmitted
 * to it: its messages wait (and still expire at expire_after) until it is resumed. Its
 * links, and what it sends us, are not affected. The set is kept in the store
 * (STORE_OP_PAUSE) across restarts; this module holds it in memory for the outbox, which
 * asks on every kick.
 */
#ifndef ROGATORY_PAUSE_H
#define ROGATORY_PAUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pause;
struct store;

/* Loads the paused authorities from the store. -1 + err. */
int pause_new(struct store *st, struct pause **out, char *err, size_t errlen);
void pause_free(struct pause *p);
/* Whether peer is paused (p NULL: nothing is). */
bool pause_is(const struct pause *p, const char *peer);
/* When peer was paused (µs since 1970), 0 when it is not. */
int64_t pause_since_us(const struct pause *p, const char *peer);
/* After the store committed a pause (on) or a resume of peer. */
void pause_set(struct pause *p, const char *peer, bool on, int64_t since_us);
/* How many authorities are paused. */
size_t pause_count(const struct pause *p);

#endif
