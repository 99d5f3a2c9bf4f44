/*
 * directory: directory.conf, the authorities of the network. One INI section per
 * authority: [authority FR-MJ] with name, country (ISO 3166 alpha-2), address
 * (host:port), kinds and languages (comma-separated; ISO 639-1). Errors as in config.
 */
#ifndef ROGATORY_DIRECTORY_H
#define ROGATORY_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "text.h"

#define DIRECTORY_KIND_MLA (1u << 1)
/* kinds bitmask: bit n = Rogatory__V1__Kind value n. */

struct authority {
	char id[AUTHORITY_ID_MAX + 1];
	char *name;
	char country[3];
	char *address;      /* as written */
	char *host;
	char *port;
	unsigned kinds;     /* bit (1u << Rogatory__V1__Kind) per kind served */
	char **languages;   /* NUL-terminated ISO 639-1 codes */
	size_t n_languages;
	int line;           /* the section header's line */
};

struct directory {
	char *path;
	struct authority *authorities;
	size_t n;
};

/* Loads path. 0 and *out, or -1 with every problem appended to d. */
int directory_load(const char *path, struct directory **out, struct diag *d);
void directory_free(struct directory *dir);
/* NULL when id is not listed. */
const struct authority *directory_find(const struct directory *dir, const char *id);

#endif
