/*
 * ctlexport: the daemon's side of `rogatoryctl export` (control request ExportRequest):
 * the evidence bundle of one stored message (bundle.h), its manifest as JSON (part 0)
 * and its files' bytes (part p, from an offset). Registered in control.c's table.
 */
#ifndef ROGATORY_CTLEXPORT_H
#define ROGATORY_CTLEXPORT_H

#include "ctlop.h"

void ctlexport_handle(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);

#endif
