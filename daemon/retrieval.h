/*
 * retrieval: proof of retrieval (PROTOCOL.md section 16). As a recipient: the first time
 * an operator fetches a message, our signed evidence (context rogatory/retrieval/v1) is
 * committed with the fetch and sent to the message's sender on any ready link, again
 * after every link loss and restart, until the sender's signed receipt is kept. As a
 * sender: a recipient's evidence about one of our messages is checked (signature, signer
 * = link peer = the message's recipient, its certificate, our message, its payload hash),
 * kept once with our receipt (event "retrieved"), and receipted; what fails a check is
 * refused with a signed REJECTED receipt and a warning naming the peer, its certificate
 * subject and the message id, and changes nothing.
 */
#ifndef ROGATORY_RETRIEVAL_H
#define ROGATORY_RETRIEVAL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "wire.h"

struct rogatoryd;
struct link;
struct retrieval;

/* Loads the evidence not yet receipted and asks for links to those peers. Never NULL. */
struct retrieval *retrieval_new(struct rogatoryd *d);
void retrieval_free(struct retrieval *r);

/* Signs our evidence that the operator d->actor fetches received message m now, into
 * out (blobs malloc'd: the op owns them). 0 / -1 + err. */
int retrieval_sign(struct rogatoryd *d, const struct store_msg *m, struct store_retrieval *out,
    char *err, size_t errlen);
/* The fetch that kept our evidence about (peer, msg_id) committed: send it. */
void retrieval_fetched(struct retrieval *r, const char *peer, const char *msg_id);

/* A link to a peer became ready / went down. */
void retrieval_link_ready(struct retrieval *r, struct link *l);
void retrieval_link_down(struct retrieval *r, const char *peer, uint64_t serial);
/* A Retrieval or RetrievalReceipt frame (validated by wire). */
void retrieval_frame(struct retrieval *r, struct link *l, const Rogatory__V1__Envelope *env);

#endif
