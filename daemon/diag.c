/*
 * diag: collects configuration diagnostics in order of discovery.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
diag_add(struct diag *d, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		char **p = realloc(d->lines, cap * sizeof(*p));
		if (p == NULL)
			fatal("out of memory");
		d->lines = p;
		d->cap = cap;
	}
	char *s = NULL;
	int r = line > 0 ? asprintf(&s, "%s:%d: %s", file, line, msg)
	                 : asprintf(&s, "%s: %s", file, msg);
	if (r < 0)
		fatal("out of memory");
	d->lines[d->n++] = s;
}

void
diag_print(const struct diag *d, int to_stderr)
{
	for (size_t i = 0; i < d->n; i++) {
		if (to_stderr)
			fprintf(stderr, "%s\n", d->lines[i]);
		else
			log_err("%s", d->lines[i]);
	}
}

int
diag_contains(const struct diag *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->lines[i], needle) != NULL)
			return 1;
	return 0;
}

void
diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->lines[i]);
	free(d->lines);
	d->lines = NULL;
	d->n = d->cap = 0;
}
