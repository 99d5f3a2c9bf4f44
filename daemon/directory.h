/*
 * directory: directory.conf, the authorities of the network. One INI section per
 * authority: [authority FR-MJ] with name, country (ISO 3166 alpha-2), address
 * (host:port), kinds and languages (comma-separated; ISO 639-1). Errors as in config.
 */
#ifndef ROGATORY_DIRECTORY_H
#define ROGATORY_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
#define DIRECTORY_KINDS 7       /* kind numbers 1..6 (Rogatory__V1__Kind); 0 unused */

/*
 * What an authority asks of incoming requests of one kind ([requirements ID KIND]): the
 * expert meeting's "tell other States one's requirements and procedures". Every member
 * is optional; text is UTF-8 under the rule of a subject. Shown by `rogatoryctl
 * directory ID` and `draft KIND --to ID`; the languages, when given, replace the
 * authority's for that kind in the language check of both sides.
 */
struct dir_requirements {
	char *legal_bases;      /* the legal bases it accepts, as written; NULL = not said */
	char **languages;       /* n_languages, then NULL; none = the authority's */
	size_t n_languages;
	int certified_copies;   /* 1 yes, 0 no, -1 not said */
	int translation;        /* 1 a translation into one of its languages is needed */
	char *urgent_contact;   /* who to call when it is urgent; NULL = not said */
	char *url;              /* https:// page with its procedures; NULL = not said */
	int line;               /* the section header's line */
	int keys;               /* keys given (at least one) */
};

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
	struct dir_requirements *requirements[DIRECTORY_KINDS];  /* by kind number; NULL none */
	int line;           /* the section header's line */
};

struct directory {
	char *path;
	struct authority *authorities;
	size_t n;
};

/* Loads path. 0 and *out, or -1 with every problem appended to d. */
int directory_load(const char *path, struct directory **out, struct diag *d);
/* The same from bytes already read (a signed directory, checked before it is parsed:
 * the bytes verified are the bytes used); path names them in the diagnostics. */
int directory_load_mem(const char *path, const uint8_t *buf, size_t len,
    struct directory **out, struct diag *d);
void directory_free(struct directory *dir);
/* NULL when id is not listed. */
const struct authority *directory_find(const struct directory *dir, const char *id);
/* The languages a of that kind number may be written in: the kind's own, else a's. */
const char *const *directory_languages(const struct authority *a, unsigned kind,
    size_t *n);
/* The directory.conf spelling of one kind bit ("mla", "asset-recovery"); NULL if none. */
const char *directory_kind_name(unsigned kind_bit);

#endif
