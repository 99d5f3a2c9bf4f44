/*
 * metrics: the Prometheus endpoint ([metrics] listen, off by default): GET /metrics in
 * the text exposition format (version 0.0.4), nothing else on that port (404 for any
 * other path, 405 for any other method), with header and body size limits and a time-out.
 * One table of metric families (name, type, HELP, labels) drives the output; counters
 * move with the committed events (messages by direction, authority and outcome; delivery
 * latency), with handshake and identity refusals (peer.c), and gauges are read from a
 * snapshot at each scrape. Label values are authority ids and fixed words, escaped as
 * the format says all the same. Never message content.
 */
#ifndef ROGATORY_METRICS_H
#define ROGATORY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct metrics;
struct rogatoryd;
struct snapshot;
struct store_alert;
struct store_event;

/* One metric family of the table. */
struct metric_family {
	const char *name;
	const char *type;           /* "counter", "gauge" or "histogram" */
	const char *help;
	const char *labels;         /* label names, comma-separated; "" for none */
};
size_t metrics_family_count(void);
const struct metric_family *metrics_family_at(size_t i);

/* Before the privilege drop: binds and listens on [metrics] listen (*fd -1 when it is
 * unset). -1 + err naming the address. */
int metrics_bind(const struct config *cfg, int *fd, char *err, size_t errlen);
/* The counters, subscribed to d's events, and the endpoint on fd (taken; -1: none).
 * d NULL: counters alone (tests). -1 + err. */
int metrics_new(struct rogatoryd *d, int fd, struct metrics **out, char *err,
    size_t errlen);
void metrics_free(struct metrics *m);
/* The bound port, 0 when there is no endpoint. */
uint16_t metrics_port(const struct metrics *m);

/* A connection refused in the handshake or by the identity checks, with the link's
 * reason (classified into a fixed set of label values). m NULL: nothing. */
void metrics_refusal(struct metrics *m, const char *reason);
/* Counts a committed event; latency_us >= 0 observes a delivery's latency. */
void metrics_record(struct metrics *m, const struct store_event *e, int64_t latency_us);
/* The exposition text of every family for this reading (caller frees). NULL on ENOMEM. */
char *metrics_render(const struct metrics *m, const struct snapshot *s,
    const struct store_alert *alerts, size_t nalerts, size_t *len);
/* The label value a refusal reason counts under (tests). */
const char *metrics_refusal_label(const char *reason);

#endif
