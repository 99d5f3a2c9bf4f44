/*
 * outbox: outbound messages from submission to a verified receipt. Per peer, urgent
 * first then oldest first, at most `window` transfers in flight on a link (never more
 * than the peer's Hello window); a dead peer never blocks another; the store is read in
 * pages. A transmission is recorded (state sending, event sent) before the transfer is
 * written, so after any crash the daemon knows whether a message may have left.
 */
#ifndef ROGATORY_OUTBOX_H
#define ROGATORY_OUTBOX_H

#include <stddef.h>

#include "store.h"
#include "wire.h"

struct rogatoryd;
struct link;
struct outbox;

/* The answer to an operator's call, after its commit. ok: 0; else error_code/text say
 * why ("id-conflict", "store-full", "not-found", "refused"). m: the message (may be
 * NULL on errors). */
typedef void (*outbox_reply_fn)(void *arg, int ok, const struct store_msg *m,
    const char *error_code, const char *error_text);

/* Re-queues messages left in `sending` by a crash (they may have left: the receiver's
 * duplicate check makes a resend safe) and starts the scheduler. -1 + err. */
int outbox_new(struct rogatoryd *d, struct outbox **out, char *err, size_t errlen);
void outbox_free(struct outbox *ob);

void outbox_submit(struct outbox *ob, const Rogatory__Ctl__V1__SendRequest *req,
    outbox_reply_fn fn, void *arg);
/* The same, for a message whose attachments are staged in blob set bset with the given
 * SHA-256s (32 bytes each, in manifest order); the staging is dropped if it fails. */
void outbox_submit_attached(struct outbox *ob, const Rogatory__Ctl__V1__SendRequest *req,
    const uint8_t *hashes, int64_t bset, outbox_reply_fn fn, void *arg);
void outbox_retry(struct outbox *ob, const char *msg_id, outbox_reply_fn fn, void *arg);
void outbox_cancel(struct outbox *ob, const char *msg_id, outbox_reply_fn fn, void *arg);

/* After a reload with a renewed certificate: re-sign pending messages' bodies. */
void outbox_resign(struct outbox *ob);

/* From peer: an outbound link became ready / went away; a Receipt or a message-level
 * Error arrived on an outbound link. */
void outbox_link_ready(struct outbox *ob, struct link *l);
void outbox_link_down(struct outbox *ob, struct link *l, const char *reason);
void outbox_receipt(struct outbox *ob, struct link *l, const Rogatory__V1__Receipt *r);
/* A Resume from the recipient (link version 3): the stream of that message on l skips
 * ahead to its point (never back); a point beyond the manifest closes the link. */
void outbox_resume(struct outbox *ob, struct link *l, const Rogatory__V1__Resume *r);
void outbox_error(struct outbox *ob, struct link *l, const Rogatory__V1__Error *e);
/* An outbound link's output drained: write more attachment chunks. */
void outbox_link_drained(struct outbox *ob, struct link *l);

#endif
