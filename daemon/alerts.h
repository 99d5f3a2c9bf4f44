/*
 * alerts: the alert conditions at work. Every [alerts] interval a snapshot is judged by
 * the rules of alertrule.c; a condition that starts is recorded once (store op ALERT:
 * event "alert" with its name, a warning in the log), one that ends once ("alert-
 * cleared", a notice). Active alerts are kept in the store: after a restart a condition
 * still true stays active without a second "alert", one that ended while the daemon was
 * down is cleared at the first check. rogatoryctl alerts and the metrics list them.
 */
#ifndef ROGATORY_ALERTS_H
#define ROGATORY_ALERTS_H

#include <stddef.h>

#include "store.h"

struct alerts;
struct rogatoryd;

/* Loads the active alerts from the store and starts the timer (first check after one
 * interval). -1 + err. Free it after store_close: commits still in the queue complete
 * into it. */
int alerts_new(struct rogatoryd *d, struct alerts **out, char *err, size_t errlen);
void alerts_free(struct alerts *a);
/* Checks every condition now (the timer calls it; so may a reload). */
void alerts_check(struct alerts *a);
/* The alerts active now (recorded or waiting for their commit); *out stays valid until
 * the next call. */
size_t alerts_active(struct alerts *a, const struct store_alert **out);

#endif
