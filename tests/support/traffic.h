/*
 * traffic: what the fault and flood tests share on top of net: submitting messages
 * (optionally large), waiting for a state, counting delivery-log events per id, the
 * fault proxy between two nodes, and a daemon's memory, descriptors and CPU time read
 * from /proc. Every function aborts the test on internal failure (like support).
 */
#ifndef ROGATORY_TEST_TRAFFIC_H
#define ROGATORY_TEST_TRAFFIC_H

#include <stdbool.h>
#include <sys/types.h>

#include "net.h"

/* rogatoryctl send --to TO --kind other --subject SUBJECT plus nfields fields of
 * field_len bytes each (0: none). Returns the message id (malloc'd); asserts success. */
char *tr_send(struct tnet *t, int i, const char *to, const char *subject, int nfields,
    int field_len);
/* rogatoryctl send ARGS (a shell-quoted string) on node i; returns the message id
 * (malloc'd); asserts success. */
char *tr_send_args(struct tnet *t, int i, const char *args);
/* Node i (stopped) holds attachment att (index within its message; the test's store
 * has one message with attachments) as a file of its state directory: byte 99 of that
 * file becomes 0x00 (the path of the file in *path, malloc'd, when path is not NULL).
 * Asserts the file exists. */
void tr_attachment_tamper(struct tnet *t, int i, int att, char **path);
/* Polls `show ID` on node i until its state is state; true if it was within ms. */
bool tr_wait_state(struct tnet *t, int i, const char *id, const char *state, int ms);
/* Lines of node i's delivery log with this event (and this id unless NULL). */
int tr_events(struct tnet *t, int i, const char *event, const char *id);
/* Polls until node i's delivery log holds this event for id; true if within ms. A state
 * seen by `show` is committed, but its event reaches the log a moment later. */
bool tr_wait_event(struct tnet *t, int i, const char *event, const char *id, int ms);
/* Polls until node i's delivery log holds at least n such events; true if within ms. */
bool tr_wait_events(struct tnet *t, int i, const char *event, int n, int ms);
/* The ids of node i's delivery-log events of this kind, sorted, one per line (a
 * duplicate shows twice), leaving out the id skip (NULL: none). Caller frees. */
char *tr_event_ids(struct tnet *t, int i, const char *event, const char *skip);
/* The message ids (36-character lines) in a rogatoryctl output, sorted, one per line.
 * Caller frees. */
char *tr_output_ids(const char *out);
/* The positive marker for "nothing more happens": sends a message from node from to node
 * to and waits until it is delivered; returns its id (caller frees). Transfers on a link
 * are read, stored and logged in order, and a sender never transmits a delivered message
 * again, so once the marker is delivered every copy of an earlier delivered message has
 * left its events in both delivery logs. */
char *tr_settle(struct tnet *t, int from, int to);

/* The store's test hold (ROGATORY_TEST_STORE_HOLD, daemon/storeq.h): writes where
 * ("queue", "commit", ...) to path whole (by rename); NULL removes it (the hold ends). */
void tr_hold_set(const char *path, const char *where);
/* The last "ops queued" count node i's queue hold logged, or -1 when none yet. */
int tr_held_ops(struct tnet *t, int i);
/* Polls (up to ms) until node i's queue hold logged at least n ops queued. */
bool tr_wait_held_ops(struct tnet *t, int i, int n, int ms);
/* Runs rogatoryctl against node i in the background with the formatted arguments, its
 * output in <dir>/<tag>.out: a request the store's test hold keeps waiting (the caller
 * waits for it with tr_wait_held_ops). */
void tr_ctl_background(struct tnet *t, int i, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The line number (0 first) of the first (last: the last) `event` line naming id in node
 * i's delivery log, or -1. */
int tr_event_line(struct tnet *t, int i, const char *event, const char *id, bool last);

/* Starts node i with ROGATORY_CRASH_AT=point (daemon/crash.h): it exits 9 there. */
void tr_start_crashing(struct tnet *t, int i, const char *point);

/* Puts node i behind a fault proxy: the directory keeps the node's port (which the proxy
 * takes) and the node listens on a fresh real port. Call before starting node i. */
void tr_behind_proxy(struct tnet *t, int i);
/* Starts build/tests/faultproxy in front of node i (after tr_behind_proxy) with a
 * formatted option string; waits until it listens. Its output goes to
 * <dir>/proxy-<i>.log. Returns its pid. */
pid_t tr_proxy_start(struct tnet *t, int i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The proxy log of node i (a path in a static slot). */
const char *tr_proxy_log(struct tnet *t, int i);

/* Starts fakepeer with node as's credentials and Hello id: "fakepeer connect 127.0.0.1
 * PORT ..." (mode "connect") or "fakepeer listen PORT ..." (mode "listen"), then the
 * options formatted from fmt; its output goes to <dir>/<tag>.out, whose path is written
 * to outp. Returns its pid. */
pid_t tr_fakepeer_as(struct tnet *t, int as, const char *tag, char *outp, size_t outlen,
    const char *mode, int port, const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* A field of /proc/PID/status in kB (VmRSS, VmHWM, ...); -1 when absent. */
long tr_proc_kb(pid_t pid, const char *field);
/* Open descriptors of pid (entries of /proc/PID/fd). */
int tr_proc_fds(pid_t pid);
/* utime + stime of pid in milliseconds. */
long tr_proc_cpu_ms(pid_t pid);
/* Raises this process's RLIMIT_NOFILE soft limit to at least want (up to the hard limit);
 * returns the new soft limit. */
long tr_raise_nofile(long want);

#endif
