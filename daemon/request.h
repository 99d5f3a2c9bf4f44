/*
 * request: the domain rules of a submission (UNCAC art. 46): which authority may receive
 * which kind, what a status update needs, and turning an operator's submission into the
 * signed document body. It decides nothing about delivery.
 */
#ifndef ROGATORY_REQUEST_H
#define ROGATORY_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "evidence.h"
#include "store.h"
#include "wire.h"

struct rogatoryd;

/*
 * Validates req against the directory (known recipient, not ourselves, serves that
 * kind when it is a request; a status needs in_reply_to) and the case rules (caseflow.h:
 * a valid document of its kind or status, a legal transition), builds and signs
 * the document body, and fills m for a STORE_OP_SUBMIT: ids, kind, urgency, the signed
 * document, its payload hash, the submission hash (SHA-256 of the submission as sent,
 * so a re-submission with the same content matches and different content conflicts),
 * created/expiry times, its case coordinates (m->cd; a status's sequence number). -1 +
 * err with a short code in code ("unknown-authority", "kind-not-served", "invalid",
 * "invalid-document", "illegal-transition", "not-found") for the ctl.
 */
int request_build(struct rogatoryd *d, const Rogatory__Ctl__V1__SendRequest *req,
    const uint8_t *hashes, int64_t bset, struct store_msg *m, const char **code, char *err,
    size_t errlen);
/* The checks of request_build that need no document (recipient in the directory,
 * kind served, status rules): before an upload starts. 0 / -1 with *code and err. */
int request_check(struct rogatoryd *d, const Rogatory__Ctl__V1__SendRequest *req,
    Rogatory__V1__Kind *kind, Rogatory__V1__Status *status, const char **code, char *err,
    size_t errlen);

/* Wall clock in µs. */
int64_t request_now_us(void);

#endif
