/*
 * control: the unix control socket that rogatoryctl talks to. Every connection's
 * credentials are checked with SO_PEERCRED/SO_PEERGROUPS (root, the daemon's own user,
 * or a member of [control] group); the control protocol version is checked on every
 * request; request ids are echoed so clients may pipeline. Results are JSON documents.
 */
#ifndef ROGATORY_CONTROL_H
#define ROGATORY_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

struct rogatoryd;
struct control;
struct ctlsock;

/* Creates the socket ([control] socket, mode, group) through ctlsock: refuses a folder
 * others may write to, a socket a running daemon still answers on, and anything at the
 * name that is not a socket. -1 + err. */
int control_start(struct rogatoryd *d, struct control **out, char *err, size_t errlen);
/* The socket file, for the privilege drop to give it to [daemon] user. */
const struct ctlsock *control_sock(const struct control *c);
/* The web console's rule for a request type (a Request oneof case): the lowest session
 * role (enum session_role) that may send it, CONTROL_OP_HOST when no session may (only a
 * caller acting as itself), CONTROL_OP_UNKNOWN when the table has no row; *name and
 * *csrf (the session's CSRF token is needed) set for a known one. For the tests and
 * the docs: control.c's dispatch reads the same table. */
#define CONTROL_OP_HOST (-1)
#define CONTROL_OP_UNKNOWN (-2)
int control_op_policy(int op_case, const char **name, bool *csrf);
/* Closes every client and removes the socket file. */
void control_free(struct control *c);

#endif
