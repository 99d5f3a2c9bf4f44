/*
 * ctloper: the operators' actions over the control socket: `pause` / `resume` an
 * authority's outbound messages (kept in the store), `retry` one message or in bulk (an
 * authority's, or every one whose last attempt failed), `reload` (as SIGHUP, with the
 * answer), and `alerts` (what is active now). Registered in control.c's table.
 */
#ifndef ROGATORY_CTLOPER_H
#define ROGATORY_CTLOPER_H

#include "ctlop.h"

/* PauseRequest and ResumeRequest. */
void ctloper_pause(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
void ctloper_retry(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
void ctloper_reload(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
void ctloper_alerts(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);

#endif
