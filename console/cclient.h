/*
 * cclient: one asynchronous connection to rogatoryd's control socket on the console's
 * event loop (a bufferevent on the unix socket). Requests are framed with proto/frame;
 * replies are decoded and validated with proto/wire (wire_ctl_reply_decode), as
 * rogatoryctl does, and handed to the callback of the request whose id they echo.
 * A reply larger than the control frame limit or one that does not decode breaks the
 * connection: every pending callback is then called once with r == NULL and a reason.
 * Never blocks; never holds more than one frame of input.
 */
#ifndef ROGATORY_CCLIENT_H
#define ROGATORY_CCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct event_base;
struct cclient;

/* A reply to the request (r valid only during the call), or r == NULL when the
 * connection ended before it (err says why). A repeating request (log follow) is called
 * for every reply until the connection ends. */
typedef void (*cclient_reply_fn)(void *arg, const Rogatory__Ctl__V1__Reply *r,
    const char *err);
/* The connection's output was written to the socket in full (upload flow control). */
typedef void (*cclient_drained_fn)(void *arg);

/* Starts connecting to path. NULL + err when the socket cannot even be created or the
 * path is too long; a refused connection shows as the first call's failure. */
struct cclient *cclient_new(struct event_base *base, const char *path, char *err,
    size_t errlen);
/* Ends the connection (closing it drops whatever the daemon staged for it). Pending
 * callbacks are not called. Safe inside one of its own callbacks. */
void cclient_free(struct cclient *c);

/*
 * Sends req (its version and request_id are set here) and calls fn with its reply.
 * repeat: keep fn for every reply with that id (log follow). Returns the request id, or
 * 0 when the connection is broken or req is larger than the control frame limit (fn is
 * then not called).
 */
uint64_t cclient_call(struct cclient *c, Rogatory__Ctl__V1__Request *req,
    cclient_reply_fn fn, void *arg, bool repeat);
/* Sends req expecting no reply of its own (an UploadRequest). 0 / -1. */
int cclient_write(struct cclient *c, Rogatory__Ctl__V1__Request *req);
/* Forgets the callback of request id (its reply, if any comes, is dropped). */
void cclient_forget(struct cclient *c, uint64_t id);
/* fn is called once the output buffer is empty (now, from the loop, if it already is). */
void cclient_on_drained(struct cclient *c, cclient_drained_fn fn, void *arg);

/* Runs on req the check rogatoryd runs on every request it reads (req packed, then
 * wire_ctl_request_decode): 0, or -1 with the checker's text in err. version and
 * request_id are set (1) for the check; cclient_call sets them again. */
int cclient_check(Rogatory__Ctl__V1__Request *req, char *err, size_t errlen);
/* A reply that answers no pending request (an UploadRequest refused, or request_id 0
 * when the daemon could not tell which request it answers) goes to fn. A reply with
 * request_id 0 first fails every pending request of the connection: each callback is
 * called once with that reply. */
void cclient_on_orphan(struct cclient *c, cclient_reply_fn fn, void *arg);

bool cclient_broken(const struct cclient *c);
size_t cclient_pending(const struct cclient *c);
/* Bytes waiting in the output buffer. */
size_t cclient_output(const struct cclient *c);

#endif
