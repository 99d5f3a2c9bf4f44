/*
 * ctlcase: the daemon's side of the case commands (control requests CasesRequest,
 * CaseRequest, AuthorityRequest, DirectoryRequest): the case register as JSON, one whole case with every
 * document in order, and what the directory says of an authority (for drafts). Reads
 * only: a request or status is submitted like any message (SendRequest). Registered in
 * control.c's table.
 */
#ifndef ROGATORY_CTLCASE_H
#define ROGATORY_CTLCASE_H

#include "ctlop.h"

/* requests: one object per case, newest first. */
void ctlcase_list(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
/* request ID: {"case", "request", "documents": [...]}. */
void ctlcase_get(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
/* authority ID: {"id", "name", "country", "address", "kinds", "languages",
 * "requirements": {KIND: {...}}, "self"}. */
void ctlcase_authority(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
/* directory [ID]: {"path", "authorities": [entry + "link", "links_up",
 * "certificate_not_after"]}, in directory order; one entry when an id is given. */
void ctlcase_directory(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);

#endif
