/*
 * crash: test-only crash points. Builds with ROGATORY_TEST_HOOKS honour the environment
 * variable ROGATORY_CRASH_AT=<point>: the daemon _exit(9)s when it reaches that point, so
 * the tests can prove that every crash between "committed" and "acknowledged" loses and
 * duplicates nothing. Release builds (make RELEASE=1) compile the points out entirely.
 *
 * Points: submit-before-reply, sending-before-write, inbox-before-receipt,
 * receipt-before-commit (and store-mid-commit in the store thread).
 */
#ifndef ROGATORY_CRASH_H
#define ROGATORY_CRASH_H

#ifdef ROGATORY_TEST_HOOKS
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void
crash_point(const char *name)
{
	const char *at = getenv("ROGATORY_CRASH_AT");
	if (at != NULL && strcmp(at, name) == 0)
		_exit(9);
}
#else
#define crash_point(name) ((void)0)
#endif

#endif
