/*
 * crash: test-only crash points. Builds with ROGATORY_TEST_HOOKS honour the environment
 * variable ROGATORY_CRASH_AT=<point> (or <point>:<n>, the n-th time the point is reached):
 * the daemon says "crash point <point> reached" on stderr and _exit(9)s there, so the
 * tests can prove that every crash between "committed" and "acknowledged" loses and
 * duplicates nothing. Release builds (make RELEASE=1) compile the points out entirely.
 *
 * Points: submit-before-reply, sending-before-write, inbox-before-receipt,
 * retrieval-before-send (the first fetch committed, its proof of retrieval not sent yet),
 * receipt-before-commit, inbox-chunk-stored (a staged attachment chunk committed; with
 * :<n>, the n-th), inbox-stage-durable (a staging record written after its files were
 * synced, every 32 MiB; with :<n>, the n-th), and store-mid-commit in the store thread (storeq.h: it names what its
 * batch held). The count is kept per file that includes this header: one call site per
 * point.
 *
 * Pause points, likewise: with ROGATORY_PAUSE_AT=<point> and ROGATORY_PAUSE_FILE=<path>
 * the daemon prints "paused at <point>" on stderr when it reaches the point and waits
 * until <path> exists (at most 10 s), so a test can act at that exact moment of the
 * start-up (swap the control socket for a symbolic link) and then let it go on.
 * Points: control-bound (the socket file exists, group not set yet), before-privdrop.
 */
#ifndef ROGATORY_CRASH_H
#define ROGATORY_CRASH_H

#ifdef ROGATORY_TEST_HOOKS
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline void
crash_point(const char *name)
{
	static unsigned long reached;   /* times the point named in the variable was reached */
	const char *at = getenv("ROGATORY_CRASH_AT");
	size_t len = strlen(name);
	if (at == NULL || strncmp(at, name, len) != 0 || (at[len] != '\0' && at[len] != ':'))
		return;
	if (at[len] == ':' && ++reached < strtoul(at + len + 1, NULL, 10))
		return;
	fprintf(stderr, "crash point %s reached\n", at);
	_exit(9);
}

static inline void
pause_point(const char *name)
{
	const char *at = getenv("ROGATORY_PAUSE_AT"), *go = getenv("ROGATORY_PAUSE_FILE");
	if (at == NULL || go == NULL || strcmp(at, name) != 0)
		return;
	fprintf(stderr, "paused at %s\n", name);
	/* Test-only: waits for the test's go-ahead (a file), polling every 10 ms. */
	struct timespec tick = {.tv_nsec = 10000000};
	for (int i = 0; i < 1000 && access(go, F_OK) != 0; i++)
		nanosleep(&tick, NULL);
}
#else
#define crash_point(name) ((void)0)
#define pause_point(name) ((void)0)
#endif

#endif
