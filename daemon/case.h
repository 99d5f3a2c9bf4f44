/*
 * case: the legal life cycle of a request under UNCAC art. 46, as tables and nothing
 * else. A request opens a case; each status document moves it on. Four tables decide:
 * the statuses (who may send each, what its document must hold), the case states, the
 * one transition table ((state, status, side) -> state), and the coded reasons of a
 * refusal or postponement (art. 46(21), (23), (25)). Pure functions, no store, no clock,
 * no I/O: the store thread, the daemon and rogatoryctl decide with the same rows.
 */
#ifndef ROGATORY_CASE_H
#define ROGATORY_CASE_H

#include <stdbool.h>
#include <stddef.h>

#include "wire.h"

/* The two parties of a case. */
enum case_side {
	CASE_REQUESTING = 0,    /* the authority that sent the request */
	CASE_REQUESTED = 1,     /* the authority that received it */
};

/* Where a case stands: "requested" when it opens, then the state each status enters
 * (progress-inquiry enters none), "void" when the request never reached the requested
 * authority (refused by it, expired, cancelled). Names in case_state_name. */
enum case_state {
	CASE_S_REQUESTED,
	CASE_S_ACKNOWLEDGED,
	CASE_S_IN_PROGRESS,
	CASE_S_INFO_REQUESTED,      /* additional-information-requested */
	CASE_S_INFO_GIVEN,          /* additional-information */
	CASE_S_CONSULTATION,
	CASE_S_CONDITIONS_ACCEPTED,
	CASE_S_CONDITIONS_DECLINED,
	CASE_S_POSTPONED,
	CASE_S_PARTIALLY_EXECUTED,
	CASE_S_EXECUTED,
	CASE_S_REFUSED,
	CASE_S_WITHDRAWN,
	CASE_S_VOID,
	CASE_STATE_COUNT,
};

/* The elements a status document may hold (content fields; casedoc.h encodes them). */
enum {
	CASE_F_REFERENCE = 1 << 0,  /* the sender's own reference */
	CASE_F_NOTE = 1 << 1,       /* free text */
	CASE_F_REASONS = 1 << 2,    /* coded reasons, case_reasons */
	CASE_F_ESTIMATE = 1 << 3,   /* a date */
};

/* One row of the status table: every Status value but UNSPECIFIED has one. */
struct case_status {
	Rogatory__V1__Status status;
	enum case_side side;        /* the only side that may send it */
	const char *article;        /* the rule it comes from, e.g. "UNCAC art. 46(16)" */
	const char *meaning;        /* one line, for help and docs */
	unsigned needs;             /* CASE_F_* its document must hold */
	unsigned allows;            /* CASE_F_* it may hold (needs included) */
};

/* One row of the coded reasons. */
struct case_reason {
	const char *code;           /* [a-z0-9-], as written in a "reasons" element */
	const char *article;
	const char *meaning;
	unsigned statuses;          /* bit (1u << Status) of the statuses it may be given for */
	bool text_required;         /* "other": the text says what the ground is */
};

/* The status table's row of s; NULL for UNSPECIFIED or out of range. */
const struct case_status *case_status_row(Rogatory__V1__Status s);
/* Every status row, in enum order; *n set. */
const struct case_status *case_statuses(size_t *n);
/* Every reason row; *n set. */
const struct case_reason *case_reasons(size_t *n);
/* The reason row of code; NULL when there is none. */
const struct case_reason *case_reason_find(const char *code);

const char *case_side_name(enum case_side side);          /* "requesting", "requested" */
const char *case_state_name(enum case_state s);           /* "invalid" outside the range */
int case_state_parse(const char *name, enum case_state *out);   /* 0 / -1 */
/* Executed, refused, withdrawn, void: nothing moves the case any more. */
bool case_state_final(enum case_state s);

/*
 * The transition table: whether side may send status in a case in state from, where
 * consulted says a consultation was applied earlier in the case. true with *to set
 * (progress-inquiry: to = from); false with the rule it breaks in why, e.g. "refused needs
 * an earlier consultation in the case (UNCAC art. 46(26))".
 */
bool case_next(enum case_state from, bool consulted, Rogatory__V1__Status status,
    enum case_side side, enum case_state *to, char *why, size_t whylen);

/* The transition table as the Markdown of docs/OPERATIONS.md (a test keeps them equal).
 * Caller frees; NULL when out of memory. */
char *case_table_markdown(void);

#endif
