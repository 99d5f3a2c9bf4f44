/*
 * benchprof: what remains when a target is not met (issue 19, "Done when"): latency split
 * by hop from both daemons' delivery logs, each daemon's CPU split by thread, and a perf
 * profile of a separate pass with the next step chosen by table. Everything goes into the
 * bench's JSON (keys *_hop_*, throughput_cpu_us_per_msg_*_{loop,store,other}, profile_*).
 * It never leaves a perf running, and works (without the profile) where perf does not.
 */
#ifndef ROGATORY_BENCHPROF_H
#define ROGATORY_BENCHPROF_H

#include <sys/types.h>

#include "bench.h"
#include "benchlib.h"

/* One daemon's CPU seconds so far: the process (live and exited threads), its loop
 * thread (tid == pid) and its store thread (comm "rogatoryd-store"). */
struct benchprof_cpu {
	double total, loop, store;
};
struct benchprof_cpu benchprof_cpu_now(pid_t pid);

/* Prints the CPU time per message of A and B since a0 / b0 split by thread, n messages,
 * and keeps it as throughput_cpu_us_per_msg_{a,b}_{loop,store,other}. */
void benchprof_threads(struct bench *b, const struct benchprof_cpu *a0,
    const struct benchprof_cpu *b0, int n);

/* Fills ph->received_us from B's delivery log, prints p50 / p99 of the three hops
 * (queued -> sent, sent -> received, received -> delivered) and keeps them as
 * PREFIX_hop_{sent,received,delivered}_{p50,p99}_ms. A missing log: says so. */
void benchprof_hops(struct bench *b, struct bl_phase *ph, const char *prefix);

/* When the throughput or a CPU-per-message target is not met: BENCH_PROFILE_MESSAGES
 * (default 5,000) more messages under `perf record -F 499 -p A,B` (BENCH_PERF_BIN,
 * default /usr/bin/perf; BENCH_PROFILE=0: skipped), each daemon's shares by library and
 * top symbols kept as profile_*. A and B must be running; tag is the pass's message tag. */
void benchprof_profile(struct bench *b, unsigned tag);

/* Prints the "what remains" block from the JSON: the targets not met, the thread split,
 * the profile's shares and top symbols, the largest hop of each latency row not met,
 * and the next step of each, chosen by table (kept as profile_*next_step). */
void benchprof_remains(struct bench *b);

#endif
