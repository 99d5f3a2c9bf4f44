/*
 * casedocint: the element tables that casedoc.c (judging) and casejson.c (the operator's
 * JSON, templates) share, and nothing else may include. One table of elements (every
 * element once, by its path), one table of which kind uses which element.
 */
#ifndef ROGATORY_CASEDOCINT_H
#define ROGATORY_CASEDOCINT_H

#include <stdbool.h>
#include <stddef.h>

#include "casedoc.h"

enum cd_type {
	CD_TEXT,        /* one line, no bidi controls, 1..CASEDOC_TEXT_MAX bytes */
	CD_PROSE,       /* text of several lines (LF, TAB) */
	CD_TRUE,        /* true (false is written by leaving the element out) */
	CD_DATE,        /* YYYY-MM-DD */
	CD_LANG,        /* ISO 639-1 */
	CD_COUNTRY,     /* ISO 3166-1 alpha-2 */
	CD_CODE,        /* one of codes */
	CD_REASON,      /* one of case_reasons (case.h), for the document's status */
	CD_OBJECT,      /* members: the rows whose path continues this one's */
	CD_LIST,        /* 1.. items: objects (members) or codes (codes set) */
};

/* Where an element lives in the signed body. */
enum cd_place { CD_FIELD, CD_KIND, CD_SUBJECT, CD_URGENT, CD_RESPOND_BY };

struct cd_code {
	const char *code;
	const char *meaning;
};

struct cd_elem {
	const char *path;             /* "persons.nationality"; items of a list need no [] */
	enum cd_type type;
	enum cd_place place;
	bool required;                /* a member's default; top level: cd_uses decides */
	const struct cd_code *codes;  /* CD_CODE, CD_LIST of codes; {NULL} ends it */
	const char *hint;
};

/* Which kinds use an element (top level), or need a member the element table leaves
 * optional; in document order. */
struct cd_use {
	unsigned kinds;               /* bit (1u << Rogatory__V1__Kind) */
	const char *path;
	bool required;
	const char *article;
};

extern const struct cd_elem cd_elems[];
extern const size_t cd_n_elems;
extern const struct cd_use cd_uses[];
extern const size_t cd_n_uses;

/* The row of path; NULL when none. */
const struct cd_elem *cd_elem_find(const char *path);
/* The use row of path for kind (or for status documents, kind 0); NULL when the kind
 * does not use it. */
const struct cd_use *cd_use_find(unsigned kind, const char *path);
/* Whether the element at path is required in a document of kind (status: the element's
 * CASE_F_* need). */
bool cd_required(unsigned kind, Rogatory__V1__Status status, const struct cd_elem *e);
/* The CASE_F_* flag of a status element ("reference", "note", ...); 0 for others. */
unsigned cd_status_flag(const char *path);
/* The direct members of e (rows "e.path.x"), one by one: start with *i = 0; NULL at the
 * end. */
const struct cd_elem *cd_member_next(const struct cd_elem *e, size_t *i);
/* The canonical JSON of v (compact, members sorted by name); caller frees. */
char *cd_canonical(const json_t *v);

#define CD_KIND_BIT(k) (1u << (unsigned)(k))
/* Status documents' elements are listed under this pseudo-kind. */
#define CD_STATUS_KINDS (1u << 31)

#endif
