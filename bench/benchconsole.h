/*
 * benchconsole: the web console's figures in `make bench` — the overview and the message
 * list timed over HTTP against a daemon whose store holds the queue at rest.
 */
#ifndef ROGATORY_BENCHCONSOLE_H
#define ROGATORY_BENCHCONSOLE_H

struct bench;

/* Starts rogatory-console on A's control socket, logs in with a real link, times the
 * overview's and the message list's requests (p50/max ms into b->out), stops it. */
void benchconsole_measure(struct bench *b, int messages);

#endif
