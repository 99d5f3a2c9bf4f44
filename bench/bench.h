/*
 * bench: the driver's shared state and helpers (bench.c), used by the phases in
 * benchscale.c. Figures go into one JSON object; every child dies with the driver.
 */
#ifndef ROGATORY_BENCH_H
#define ROGATORY_BENCH_H

#include <jansson.h>

#include "benchlib.h"

#define ID_A "FR-BENCH-A"
#define ID_B "DE-BENCH-B"
#define ID_C "BE-BENCH-C"   /* the peer that is down while the queue builds */
#define ID_HUB "NL-BENCH-HUB"
#define PEER_PREFIX "NL-P"

enum { TAG_WARM = 1, TAG_IDLE, TAG_THROUGHPUT, TAG_HALF, TAG_LARGE, TAG_QUEUE, TAG_HUGE,
       TAG_RESTART, TAG_PROFILE };

struct counts {
	int idle, throughput, queue, peers;
	double half_s;          /* duration of the half-load phase */
	int large_mb;
	int huge_mb;            /* the "huge" phase's attachment */
	double limits_s;
};

struct bench {
	struct bench_env env;
	struct counts c;
	bool quick;
	struct bnode a, b, nc, hub;     /* nc: the authority C */
	struct bl_tail ta;      /* A's delivery log */
	const char *only;       /* BENCH_ONLY */
	double t_start, budget_s; /* the whole run stays within budget_s */
	json_t *out;            /* the result object */
	json_t *limits;
};

void bench_setr(struct bench *b, const char *key, double v);
void bench_seti(struct bench *b, const char *key, long long v);
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Warns when some of the phase's messages ended rejected, failed or expired. */
void bench_failures(const struct bl_phase *ph, const char *what);
/* BENCH_PERF: perf record of the phase's daemons (0 when not asked for). */
pid_t bench_perf_start(struct bench *b, const char *phase);
void bench_perf_stop(pid_t perf);
/* n batch lines to `to` in a file, submitted by one rogatoryctl send --batch: its pid. */
pid_t bench_batch_submit(struct bench *b, const char *to, unsigned tag, int n);
/* One row of the closing table: value from b->out[key], ratio = value / limit (limit 0:
 * none); limit_how says where the limit comes from (or why there is no figure). */
struct bench_row {
	const char *figure, *key, *unit;
	const char *target;     /* the target, as text */
	double limit;           /* the machine's limit for this figure, 0: none */
	const char *limit_how;
};
/* Prints the row and appends it to the table array arr. */
void bench_table_row(struct bench *b, json_t *arr, const struct bench_row *r);
/* The directory file of node n: members, then `peers` authorities PREFIX0001... */
void bench_write_directory(const struct bnode *n, const struct bnode *const *members,
    int count, const char *peer_prefix, int peers);

#endif
