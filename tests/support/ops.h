/*
 * ops: what the operators' integration tests share on top of net and traffic: an HTTP
 * exchange with a daemon's metrics endpoint, a sample's value in the exposition text, a
 * datagram socket standing in for systemd's notify socket, waiting for a rogatoryctl
 * output to hold a text, and the normalisation of outputs for the golden files. Every
 * function aborts the test on internal failure (like support).
 */
#ifndef ROGATORY_TEST_OPS_H
#define ROGATORY_TEST_OPS_H

#include <stdbool.h>

#include "net.h"

/* Sends request (a whole HTTP request) to 127.0.0.1:port and reads the answer until the
 * server closes (at most 10 s). Returns the status code; *response gets it all. */
int ops_http(int port, const char *request, char **response);
/* GET /metrics; asserts 200; returns the body (caller frees). */
char *ops_metrics(int port);
/* The value of the sample whose name-and-labels part is exactly sample (like
 * `rogatory_peer_link_up{peer="FR-MJ"}`), or -1 when there is none. */
double ops_metric(const char *text, const char *sample);
/* Polls GET /metrics until sample has at least value; true if within ms. */
bool ops_wait_metric(int port, const char *sample, double value, int ms);

/* A datagram socket bound at path, standing in for systemd's $NOTIFY_SOCKET. */
int ops_notify_open(const char *path);
/* The next datagram within ms, NUL-terminated (caller frees); NULL on time-out. */
char *ops_notify_next(int fd, int ms);
/* Reads datagrams until one equals (or, for RELOADING=1, starts with) want; true if it
 * came within ms. Datagrams passed over are WATCHDOG=1 only, or it fails. */
bool ops_notify_expect(int fd, const char *want, int ms);

/* Runs rogatoryctl ARGS on node i until its output holds needle (exit status 0 or 1);
 * true if within ms. */
bool ops_wait_ctl(struct tnet *t, int i, const char *args, const char *needle, int ms);

/* A rogatoryctl output with what differs between runs made fixed: RFC 3339 times and
 * 64-hex hashes become runs of 0 of the same length, "uptime N s" / "uptime_s": N
 * become 0, and each of the n literals from[k] (ports, folders) becomes to[k]. Caller
 * frees. */
char *ops_normalize(const char *out, const char *const *from, const char *const *to, int n);

#endif
