/*
 * reload: applying a changed configuration to the running daemon (SIGHUP, systemctl
 * reload, rogatoryctl reload), and reopening the delivery log for logrotate. A reload
 * that fails keeps everything that runs; links keep the TLS context they started with.
 * systemd hears RELOADING=1 before and READY=1 after (sdnotify.h).
 */
#ifndef ROGATORY_RELOAD_H
#define ROGATORY_RELOAD_H

struct diag;
struct rogatoryd;

/*
 * Reopens the delivery log (always, even when the configuration is refused), then
 * re-reads the configuration, directory, credentials and CRL and applies them. 0:
 * applied; notes gets what the operator should know (keys that need a restart, a log
 * that could not be reopened). -1: refused, the running configuration stays; notes has
 * every problem ("FILE:LINE: message"). Each line is logged too.
 */
int reload_run(struct rogatoryd *d, struct diag *notes);

/* Warns when our certificate expires within 30 days (start-up, reload, daily). */
void reload_check_certificate(struct rogatoryd *d);

#endif
