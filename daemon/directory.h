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

/* kinds bitmask: bit n = Rogatory__V1__Kind value n (proto/rogatory.proto enum Kind). */
#define DIRECTORY_KIND_MLA (1u << 1)
#define DIRECTORY_KIND_EXTRADITION (1u << 2)
#define DIRECTORY_KIND_PROVISIONAL_ARREST (1u << 3)
#define DIRECTORY_KIND_ASSET_RECOVERY (1u << 4)
#define DIRECTORY_KIND_SERVICE_OF_DOCUMENTS (1u << 5)
#define DIRECTORY_KIND_OTHER (1u << 6)

#define DIRECTORY_NAME_MAX 200  /* bytes of UTF-8 in an authority's name */

struct authority {
	char id[AUTHORITY_ID_MAX + 1];
	char *name;
	char country[3];
	char *address;      /* as written */
	char *host;
	char *port;
	unsigned kinds;     /* bit (1u << Rogatory__V1__Kind) per kind served */
	char **languages;   /* ISO 639-1 codes, n_languages of them, then NULL */
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
/* The directory.conf spelling of one kind bit ("mla", "asset-recovery"); NULL if none. */
const char *directory_kind_name(unsigned kind_bit);

#endif
