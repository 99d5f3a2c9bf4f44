/*
 * ctlaudit: the daemon's side of `rogatoryctl audit` (control requests 80-82): verify
 * (the whole log recomputed from the stored entries and checked against every stored
 * checkpoint and cosignature, a slice per loop turn), prove (an inclusion proof bundle,
 * auditproof.h, signing a checkpoint first when none covers the entries yet) and status.
 * Registered in control.c's table.
 */
#ifndef ROGATORY_CTLAUDIT_H
#define ROGATORY_CTLAUDIT_H

#include "ctlop.h"

void ctlaudit_verify(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
void ctlaudit_prove(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
void ctlaudit_status(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);

#endif
