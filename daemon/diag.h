/*
 * diag: a list of "FILE:LINE: message" diagnostics, so a configuration check can report
 * every problem at once instead of stopping at the first.
 */
#ifndef ROGATORY_DIAG_H
#define ROGATORY_DIAG_H

#include <stddef.h>

#include "log.h"

struct diag {
	char **lines;
	size_t n;
	size_t cap;
};

/* Appends "file:line: message" (line 0: "file: message"). Out of memory is fatal. */
void diag_add(struct diag *d, const char *file, int line, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
/* Writes every line to the log at level err (or to stderr when to_stderr). */
void diag_print(const struct diag *d, int to_stderr);
/* 1 if some line contains needle (tests use it). */
int diag_contains(const struct diag *d, const char *needle);
void diag_free(struct diag *d);

#endif
