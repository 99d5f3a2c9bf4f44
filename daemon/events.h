/*
 * events: every committed state change fans out from here, after its store commit:
 * one JSON line appended to the delivery log ([log] delivery_log), one push to each
 * `rogatoryctl log --follow` subscriber, one metric counter. The store's events table
 * is the truth; the file is a copy that start-up repairs (a torn last line is cut back
 * to the last newline) and completes (events the file misses are appended), so after
 * any crash the file ends up with every event exactly once, in seq order.
 * Metadata only: never a subject or any content.
 */
#ifndef ROGATORY_EVENTS_H
#define ROGATORY_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct events;
struct event_base;

/* A subscriber gets every event emitted after it subscribed, as the JSON line (without
 * the newline) and the struct. */
typedef void (*events_fn)(void *arg, const struct store_event *ev, const char *json_line);

/*
 * Opens (creating 0600) the delivery log at path, repairs a torn last line, and appends
 * every event of the store with seq greater than the file's last seq (and the store's
 * log mark). -1 + err naming the file.
 */
int events_open(const char *path, struct store *st, struct events **out, char *err,
    size_t errlen);
/* Flushes, records the log mark in the store (queued), closes. */
void events_close(struct events *ev);
/* Reopens the delivery log at its path, for logrotate (SIGHUP, rogatoryctl reload): the
 * file there now (created 0600 when it was moved away) gets the next lines; the old one
 * is synced and the log mark recorded for what it holds, so a restart never copies its
 * lines into the new file. The same file still there: nothing changes. -1 + err (the
 * old file stays in use). */
int events_reopen(struct events *ev, char *err, size_t errlen);

/* From now on the lines of one turn of base's loop (the completions of a store batch)
 * go out in one write at its end, or earlier past 256 KiB; before, each line at once.
 * Either way a line is written only after its commit, in seq order. */
void events_batch(struct events *ev, struct event_base *base);
/* Called with each event after its commit (seq and ts_us set). Writes the line (or
 * queues it, events_batch), then notifies subscribers. A write error is logged (rate-limited) and retried on the
 * next event: the store still has the event, and start-up completes the file. */
void events_emit(struct events *ev, const struct store_event *e);

/* The JSON line of an event: {"seq":..,"ts":"RFC 3339 UTC with µs","event":..,"id":..,
 * "peer":..,"direction":"out"|"in","state":..,"attempt":..,"bytes":..,"reason":..,
 * "actor":{"uid":..,"user":..}} "alert":.. (empty id/state/reason/alert and no actor omitted). Caller frees. NULL on ENOMEM. */
char *events_json(const struct store_event *e);

/* Subscribe / unsubscribe (log --follow). Returns a handle > 0, or -1. */
int events_subscribe(struct events *ev, events_fn fn, void *arg);
void events_unsubscribe(struct events *ev, int handle);

/* Count of events emitted per event name since start (for metrics and tests). */
uint64_t events_count(const struct events *ev, const char *event_name);

#endif
