/*
 * caseflow: the case layer at the daemon's two doors, above the outbox and the inbox
 * (which stay transport). At submission (request.c): a request must be a valid document
 * of its kind in a language its recipient accepts; a status must answer a case this
 * authority is party to, be a valid document of its status and legal in the case's state
 * for our side, and it gets our next sequence number in that case. At reception (the
 * inbox's ordered checks): the same document rules (reason code invalid-document) and the
 * transition against the case as committed (illegal-transition; the store judges again
 * at commit, where it cannot race). And the case coordinates of a message row, from its
 * signed body, for the store to open or move the case in the message's transaction.
 */
#ifndef ROGATORY_CASEFLOW_H
#define ROGATORY_CASEFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "wire.h"

struct rogatoryd;

/* The case rules of a submission (kind and status parsed by the caller). 0, or -1 with
 * *code ("invalid-document", "illegal-transition", "not-found", "store-error") and err:
 * every problem with its JSON path, or the rule broken. */
int caseflow_check_submission(struct rogatoryd *d, const Rogatory__Ctl__V1__SendRequest *req,
    Rogatory__V1__Kind kind, Rogatory__V1__Status status, const char **code, char *err,
    size_t errlen);
/* A status submission's sequence number: ours in its case plus one (1 for the first). */
uint64_t caseflow_next_sequence(struct rogatoryd *d, const Rogatory__Ctl__V1__SendRequest *req);

/* Inbound (the inbox's checks), b from the authenticated sender: true when the document
 * is to be refused, why saying so. */
bool caseflow_refuses_document(struct rogatoryd *d, const Rogatory__V1__DocumentBody *b,
    char *why, size_t whylen);
bool caseflow_refuses_transition(struct rogatoryd *d, const Rogatory__V1__DocumentBody *b,
    char *why, size_t whylen);

/* m's case coordinates (m->cd) from its signed body, with the clocks' policy of d's
 * [cases] for the request's kind. */
void caseflow_fill(struct rogatoryd *d, struct store_msg *m, const Rogatory__V1__DocumentBody *b);
/* The clocks' policy of d's [cases] into m->cd (caseflow_fill does it; the outbox for the
 * receipt of our request, with received_ms). */
void caseflow_clocks(struct rogatoryd *d, struct store_msg *m);

#endif
