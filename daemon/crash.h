/*
 * crash: test-only crash points. Builds with ROGATORY_TEST_HOOKS honour the environment
 * variable ROGATORY_CRASH_AT=<point> (or <point>:<n>, the n-th time the point is reached):
 * the daemon says "crash point <point> reached" on stderr and _exit(9)s there, so the
 * tests can prove that every crash between "committed" and "acknowledged" loses and
 * duplicates nothing. Release builds (make RELEASE=1) compile the points out entirely.
 *
 * Points: submit-before-reply, sending-before-write, inbox-before-receipt,
 * receipt-before-commit, inbox-chunk-stored (a staged attachment chunk committed; with
 * :<n>, the n-th), and store-mid-commit in the store thread (storeq.h: it names what its
 * batch held). The count is kept per file that includes this header: one call site per
 * point.
 */
#ifndef ROGATORY_CRASH_H
#define ROGATORY_CRASH_H

#ifdef ROGATORY_TEST_HOOKS
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#else
#define crash_point(name) ((void)0)
#endif

#endif
