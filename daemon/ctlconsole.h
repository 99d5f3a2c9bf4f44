/*
 * ctlconsole: the web console's session requests over the control socket: a one-time
 * login link (console_login, host only), its redemption by the console
 * (console_redeem, host side), the session's own view and its end (console_whoami,
 * console_logout, with a session), the host's list and revocation (console_sessions,
 * console_revoke). The sessions themselves live in daemon/session; control.c checks a
 * request's session, role and CSRF token before any handler here runs.
 */
#ifndef ROGATORY_CTLCONSOLE_H
#define ROGATORY_CTLCONSOLE_H

#include "ctlop.h"

void ctlconsole_login(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
void ctlconsole_redeem(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
void ctlconsole_whoami(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
void ctlconsole_sessions(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
void ctlconsole_revoke(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
void ctlconsole_logout(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);

#endif
