/*
 * inbox: inbound transfers, from the frame to the signed receipt. First, a decision this
 * authority already took on the same content (sender, id, payload hash), acceptance or
 * refusal, is answered again with its stored receipt, byte for byte. Else the checks, in
 * order: the signature verifies with the signer certificate carried in the object; the
 * manifest's size is within max_message_size; the link's peer is the signed sender; the
 * signed recipient is us; the unsigned routing fields equal the signed ones; the signer's
 * chain leads to our CA at the signed creation time and it is not revoked; we receive
 * the kind; the id was not used for other content. The receipt is signed before the
 * commit and stored with the message (or, refused, with the document in the quarantine)
 * in one transaction; it is sent only after that commit. Bytes waiting for the store
 * are bounded per authority and in total ([limits] max_inbound_*): links stop reading
 * above them.
 */
#ifndef ROGATORY_INBOX_H
#define ROGATORY_INBOX_H

#include <stddef.h>

#include "wire.h"

struct rogatoryd;
struct link;
struct inbox;
struct evbuffer;
struct wirechunk_head;

int inbox_new(struct rogatoryd *d, struct inbox **out, char *err, size_t errlen);
void inbox_free(struct inbox *ib);

void inbox_transfer(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t);
/* A signer certificate (DER) of a signed object that claims time at_ms: chains to our
 * CA at the signing time and is not on the effective CRL now. 0 / -1 + err. Used for
 * documents here and for receipts by the outbox. */
int inbox_signer_trusted(struct inbox *ib, const ProtobufCBinaryData *der, int64_t at_ms,
    char *err, size_t errlen);

/* A Chunk frame (attachment bytes after their Transfer) on an inbound link. */
void inbox_chunk(struct inbox *ib, struct link *l, const Rogatory__V1__Chunk *c);
/* The same for a Chunk the link recognised by its head (link.h: chunk callback): its
 * data are the h->data_len bytes at the head of in, read in place, never drained. */
void inbox_chunk_data(struct inbox *ib, struct link *l, const struct wirechunk_head *h,
    struct evbuffer *in);
/* An inbound link closed: its incomplete staging is dropped. */
void inbox_link_down(struct inbox *ib, struct link *l);
/* The operator fetched a message of size bytes from peer: its quota is freed. */
void inbox_fetched(struct inbox *ib, const char *peer, uint64_t size);

/* The CA or CRL changed: forget cached chain results. */
void inbox_reset_trust(struct inbox *ib);

#endif
