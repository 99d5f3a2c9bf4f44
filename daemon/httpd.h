/*
 * httpd: a bounded HTTP/1.x responder for a port strangers may reach (the metrics
 * endpoint). One request per connection, answered with `Connection: close` and closed
 * once written. What a client can make it hold is fixed in advance, whatever it sends or
 * fails to read:
 *   - at most conns_max connections at once; when full, the oldest that has not sent a
 *     whole request head yet is closed to make room (a client that connects and sends
 *     nothing cannot keep a scraper out), and when every one is being answered a new
 *     one is closed at accept;
 *   - per connection, at most head_max bytes of request line and headers (431 beyond),
 *     never a body (a Content-Length above body_max or any Transfer-Encoding is 413; a
 *     smaller body is not read), one reply;
 *   - head_ms from the accept to the end of the head, then deadline_ms for the reply
 *     and the client's close, whether the client is slow to send or never reads; after
 *     the reply what it still sends is read and dropped, up to 64 KiB (a lingering
 *     close, so that a body or pipelined request left unread does not reset the
 *     connection and cut the reply);
 *   - a listener that runs out of descriptors pauses for a second instead of spinning.
 * Why not evhttp: libevent 2.1's evhttp reads pipelined requests and holds unread
 * replies without bound (a client that never reads took a daemon from 10 MB to 2.6 GB in
 * 10 s), restarts its time-out on every byte, and gives no hook before a connection's
 * first request to count connections; the routing stays with the caller (httpd_fn).
 */
#ifndef ROGATORY_HTTPD_H
#define ROGATORY_HTTPD_H

#include <stddef.h>

struct event_base;
struct httpd;

struct httpd_limits {
	size_t head_max;          /* request line and headers, bytes */
	size_t body_max;          /* a declared body above it: 413 */
	int head_ms;              /* from accept to the end of the request head */
	int deadline_ms;          /* from the head to the client's close after the reply */
	unsigned conns_max;       /* connections at once */
};

/* The caller's answer to one request: code, reason phrase, content type, body (malloc'd,
 * freed by httpd; NULL: the text only), and for 405 the methods allowed. */
struct httpd_reply {
	int code;
	const char *reason;
	const char *content_type;
	char *body;
	size_t len;
	const char *allow;
};

/* method and path (the target without its query) are NUL-terminated and short-lived. */
typedef void (*httpd_fn)(void *arg, const char *method, const char *path,
    struct httpd_reply *r);

/* Serves the listening socket fd (owned from now on, closed by httpd_free) on base. 0;
 * -1 (err set, fd closed). */
int httpd_new(struct event_base *base, int fd, const struct httpd_limits *lim, httpd_fn fn,
    void *arg, struct httpd **out, char *err, size_t errlen);
void httpd_free(struct httpd *h);
/* Connections open now (tests). */
unsigned httpd_conns(const struct httpd *h);

#endif
