/*
 * casedoc: what a document must hold, per kind of request (the elements of UNCAC
 * art. 46(15) and their kin for extradition and asset recovery) and per status (case.h),
 * and the one encoding of those elements in the signed body (docs/PROTOCOL.md section
 * 14): kind, subject, urgent and respond_by in their own DocumentBody fields; every
 * other element one Content field, named after it, whose value is the element's value
 * as canonical JSON. The operator writes a JSON document (rogatoryctl draft prints one);
 * casejson.c turns it into fields; casedoc_check judges fields with the same code
 * whether they come from rogatoryctl (before anything is queued), from the daemon's
 * control socket (at submission) or from a peer (the receiver). Every problem names its
 * JSON path and the reason. Pure: no store, no clock (the day is an argument), no
 * directory (the languages are an argument).
 */
#ifndef ROGATORY_CASEDOC_H
#define ROGATORY_CASEDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "wire.h"

#define CASEDOC_PROBLEMS_MAX 32
#define CASEDOC_TEXT_MAX 1024       /* bytes of a one-line element (names, references) */

/* One problem: where (a JSON path: "persons[1].nationality", "" for the whole
 * document) and why. */
struct casedoc_problem {
	char path[96];
	char reason[240];
};

struct casedoc_problems {
	struct casedoc_problem p[CASEDOC_PROBLEMS_MAX];
	size_t n;
	size_t more;                /* problems found beyond CASEDOC_PROBLEMS_MAX */
};

/* One Content field as bytes (a document body's, or a control SendRequest's). */
struct casedoc_field {
	const uint8_t *name;
	size_t name_len;
	const uint8_t *value;
	size_t value_len;
};

/* A document to judge: the body fields that matter and its Content. */
struct casedoc_in {
	Rogatory__V1__Kind kind;
	Rogatory__V1__Status status;    /* UNSPECIFIED: a request */
	const uint8_t *subject;
	size_t subject_len;
	bool urgent;
	const uint8_t *respond_by;      /* "" or YYYY-MM-DD */
	size_t respond_by_len;
	struct casedoc_field fields[WIRE_FIELDS_MAX];
	size_t n_fields;
	/* The context: respond_by and estimate may not be before day (YYYY-MM-DD: the
	 * document's creation day, or today at submission); language must be one of
	 * languages (n_languages 0: not checked), those that authority accepts. */
	char day[11];
	const char *const *languages;
	size_t n_languages;
	const char *authority;
};

/* in from a signed body (b's buffers, no copy); day from its created_ms. */
void casedoc_in_body(struct casedoc_in *in, const Rogatory__V1__DocumentBody *b);
/* in from a control SendRequest (q's buffers); kind and status as parsed by the caller;
 * day is today (UTC). */
void casedoc_in_send(struct casedoc_in *in, const Rogatory__Ctl__V1__SendRequest *q,
    Rogatory__V1__Kind kind, Rogatory__V1__Status status);

/* Judges in: 0 when it is a valid document of its kind (or status), else -1 with every
 * problem in out (found in document order). */
int casedoc_check(const struct casedoc_in *in, struct casedoc_problems *out);

/* The problems as one text: "path: reason; path: reason" (at most len bytes). */
void casedoc_problems_text(const struct casedoc_problems *pr, char *out, size_t len);
void casedoc_problem_add(struct casedoc_problems *pr, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The UTC day of a time in ms, "YYYY-MM-DD" into day[11]. */
void casedoc_day(int64_t ms, char day[11]);

/* A field's value when the element is one line of text (a "reference"): the JSON string
 * decoded into out (NUL-terminated, cut at len - 1). 0, or -1 when it is no JSON string. */
int casedoc_field_text(const uint8_t *value, size_t len, char *out, size_t outlen);
/* What the statistics count in a list element (a request's "offences", a status's
 * "reasons"): the string member of each entry, in order, as a compact JSON array of
 * strings into out ("[]" when value is no list or names none). Only whole entries: those
 * that do not fit in outlen are left out. The count written. */
int casedoc_tally(const uint8_t *value, size_t len, const char *member, char *out,
    size_t outlen);

/* ---- casejson.c: the operator's JSON document ---- */

/* A document as the parts of a SendRequest. */
struct casedoc_out {
	char kind[32];
	char *subject;
	bool urgent;
	char respond_by[11];
	struct {
		char name[WIRE_FIELD_NAME_MAX + 1];
		char *value;            /* canonical JSON */
	} fields[WIRE_FIELDS_MAX];
	size_t n_fields;
};

/*
 * The operator's JSON document (an object; members starting with '_' are comments and
 * ignored) as body parts: empty strings, lists and objects and false are left out, each
 * other element becomes one field in the kind's table order, as canonical JSON. status
 * UNSPECIFIED: a request (its "kind" member says which); else the elements of that
 * status's document (reference, note, reasons, estimate) and no kind or subject.
 * 0, or -1 with the problems of form (not an object, unknown member, number) in pr.
 * Judge the result with casedoc_check. Free out with casedoc_out_free.
 */
int casedoc_encode(const json_t *doc, Rogatory__V1__Status status, struct casedoc_out *out,
    struct casedoc_problems *pr);
void casedoc_out_free(struct casedoc_out *out);
/* in from out (out's buffers), as casedoc_in_send does: day is today (UTC). */
void casedoc_in_out(struct casedoc_in *in, const struct casedoc_out *out,
    Rogatory__V1__Kind kind, Rogatory__V1__Status status);

/* The Content fields of a document back as one JSON object {name: value} (values that
 * are not JSON, fields of kind "other", as strings). New reference. */
json_t *casedoc_fields_json(const struct casedoc_field *fields, size_t n);

/*
 * The template of a kind (rogatoryctl draft): every element with an empty value, in
 * order, and "_hints": {path: "required|optional: hint (article)"}. With languages,
 * "language" is the first of them. NULL for an unknown kind. New reference.
 */
json_t *casedoc_template(Rogatory__V1__Kind kind, const char *const *languages,
    size_t n_languages);
/* The elements of a kind as data: [{"path", "type", "required", "hint", "article",
 * "codes": [{"code", "meaning"}]}]. NULL for an unknown kind. New reference. */
json_t *casedoc_elements(Rogatory__V1__Kind kind);
/*
 * A recipient's directory entry (the daemon's `authority` answer, who) as a draft of kind
 * kname sees it: the languages a document of that kind may be written in go to langs (at
 * most max; the kind's own when the directory names some, else the authority's), their
 * count is returned, and who's "requirements" is narrowed to the kind's (null when the
 * directory says nothing of it). rogatoryctl's draft and the web console share it.
 */
size_t casedoc_recipient_languages(json_t *who, const char *kname, const char **langs,
    size_t max);

#endif
