/*
 * privdrop: running as [daemon] user. Started as root with a user set, rogatoryd binds its
 * listener and creates its control socket as root, then gives root up for good
 * (initgroups, setresgid, setresuid, then a check that root cannot be regained) before it
 * reads the key, opens the store or starts a thread. Everything it reads or writes after
 * that, and on every reload, must be reachable by that user: privdrop_check names each
 * file that is not, from config_load, so `rogatoryd -n` and a reload report it.
 *
 * Policy: root without a user is a warning (nothing is dropped); not root with a user set
 * is an error unless the process already runs as that user (systemd's User=).
 */
#ifndef ROGATORY_PRIVDROP_H
#define ROGATORY_PRIVDROP_H

#include <stddef.h>

struct config;
struct ctlsock;
struct diag;

/*
 * With [daemon] user set: appends to d, as "CONFIG: message", one error per file or
 * folder that user could not use: the config file, the directory, [tls] certificate,
 * key, ca and crl must be readable; state_dir (when it exists) and the store, CRL and
 * delivery-log files in it must be readable and writable; every folder above them must
 * be searchable. Judged from owner, group (the user's groups) and mode bits, not ACLs.
 * Nothing when the user is unset.
 */
void privdrop_check(const struct config *c, struct diag *d);

/*
 * At start-up, after the listener and the control socket exist and before anything else
 * is opened. As root with a user: gives state_dir (when root owns it: it was just
 * created), <state_dir>/listen.port and the control socket file sock (through its
 * descriptor, never its path) to the user, then drops to the user and its groups for
 * good. As root without a user: a warning. Not root: 0 when no user is set or the
 * process already is that user, else -1. 0 / -1 + err.
 */
int privdrop_apply(const struct config *c, const struct ctlsock *sock, char *err,
    size_t errlen);

#endif
