/*
 * sdnotify: the systemd notification protocol, by hand (no libsystemd): one datagram per
 * state change to $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace), and
 * the watchdog. Outside systemd ($NOTIFY_SOCKET unset) every call does nothing.
 *   READY=1          start-up finished: listening, store open, control socket ready
 *   RELOADING=1      a reload starts (with MONOTONIC_USEC, as Type=notify-reload wants),
 *                    READY=1 when it has finished (applied or refused)
 *   STOPPING=1       a stop starts
 *   WATCHDOG=1       every half of $WATCHDOG_USEC, from the event loop (a loop that
 *                    stops turning stops it, and systemd restarts the daemon)
 * A failed send is logged once and never stops the daemon.
 */
#ifndef ROGATORY_SDNOTIFY_H
#define ROGATORY_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;

/* Sends state (e.g. "READY=1\nSTATUS=..."). 0 sent, 1 no $NOTIFY_SOCKET, -1 failed
 * (logged once). */
int sdnotify(const char *state);
/* Sends "RELOADING=1\nMONOTONIC_USEC=<now>". */
int sdnotify_reloading(void);
/* The watchdog interval asked for: $WATCHDOG_USEC when set, positive and meant for this
 * process ($WATCHDOG_PID unset or ours); 0 otherwise. */
uint64_t sdnotify_watchdog_usec(void);
/* Starts the WATCHDOG=1 timer on base (half the interval) when systemd asks for one.
 * Returns whether it runs. */
bool sdnotify_watchdog_start(struct event_base *base);
/* Stops and frees the timer (stop, or before the base goes). */
void sdnotify_watchdog_stop(void);

#endif
