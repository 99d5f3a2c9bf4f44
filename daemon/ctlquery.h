/*
 * ctlquery: the operators' listings over the control socket, each with its filters:
 * `queue` (outbound: peer, state, older than), `inbox` (inbound: peer, unfetched) and
 * `log` (the event history: time range, peer, message id, event name; --follow keeps
 * sending what matches). Registered in control.c's table; reads only.
 */
#ifndef ROGATORY_CTLQUERY_H
#define ROGATORY_CTLQUERY_H

#include "ctlop.h"

void ctlquery_queue(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
void ctlquery_inbox(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
/* The web console's list (MessagesRequest): both directions or one, newest first, a page
 * at a time by rowid cursor; {"messages": [..., each with "cursor"], "next"}. */
void ctlquery_messages(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
void ctlquery_log(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);

#endif
