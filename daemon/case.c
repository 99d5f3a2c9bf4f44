/*
 * case: the tables of a request's life cycle (contract in case.h). Every rule about which
 * status may follow which lives in the rows below, once; the functions only read them.
 * It must never look at anything but its arguments: the same question has the same
 * answer in the store thread, in the daemon and in rogatoryctl.
 */
#include "case.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) ROGATORY__V1__STATUS__STATUS_##x
#define BIT(st) (1u << (st))

/* Case states that no status leaves. */
#define FINAL (BIT(CASE_S_EXECUTED) | BIT(CASE_S_REFUSED) | BIT(CASE_S_WITHDRAWN) | \
	BIT(CASE_S_VOID))
#define OPEN (((1u << CASE_STATE_COUNT) - 1) & ~FINAL)
/* Where the requested authority is working on it (nothing awaited from the requester). */
#define WORKING (BIT(CASE_S_ACKNOWLEDGED) | BIT(CASE_S_IN_PROGRESS) | \
	BIT(CASE_S_INFO_GIVEN) | BIT(CASE_S_CONDITIONS_ACCEPTED) | BIT(CASE_S_POSTPONED) | \
	BIT(CASE_S_PARTIALLY_EXECUTED))

static const char *const state_names[CASE_STATE_COUNT] = {
	[CASE_S_REQUESTED] = "requested",
	[CASE_S_ACKNOWLEDGED] = "acknowledged",
	[CASE_S_IN_PROGRESS] = "in-progress",
	[CASE_S_INFO_REQUESTED] = "additional-information-requested",
	[CASE_S_INFO_GIVEN] = "additional-information",
	[CASE_S_CONSULTATION] = "consultation",
	[CASE_S_CONDITIONS_ACCEPTED] = "conditions-accepted",
	[CASE_S_CONDITIONS_DECLINED] = "conditions-declined",
	[CASE_S_POSTPONED] = "postponed",
	[CASE_S_PARTIALLY_EXECUTED] = "partially-executed",
	[CASE_S_EXECUTED] = "executed",
	[CASE_S_REFUSED] = "refused",
	[CASE_S_WITHDRAWN] = "withdrawn",
	[CASE_S_VOID] = "void",
};

/* The statuses: who sends each, what its document holds. Indexed by Status value. */
static const struct case_status statuses[] = {
	{S(ACKNOWLEDGED), CASE_REQUESTED, "EIO Directive Annex B's role",
	    "the request arrived and is registered; with the requested authority's reference",
	    CASE_F_REFERENCE, CASE_F_REFERENCE | CASE_F_NOTE},
	{S(IN_PROGRESS), CASE_REQUESTED, "UNCAC art. 46(24)",
	    "execution has begun", 0, CASE_F_REFERENCE | CASE_F_NOTE},
	{S(ADDITIONAL_INFORMATION_REQUESTED), CASE_REQUESTED, "UNCAC art. 46(16)",
	    "more information is needed to execute it: the note says what is missing",
	    CASE_F_NOTE, CASE_F_REFERENCE | CASE_F_NOTE},
	{S(POSTPONED), CASE_REQUESTED, "UNCAC art. 46(25)",
	    "execution is postponed: coded reasons and a new estimated date",
	    CASE_F_REASONS | CASE_F_ESTIMATE, CASE_F_REFERENCE | CASE_F_NOTE | CASE_F_REASONS |
	    CASE_F_ESTIMATE},
	{S(EXECUTED), CASE_REQUESTED, "UNCAC art. 46(24)",
	    "executed in full (results usually attached)", 0, CASE_F_REFERENCE | CASE_F_NOTE},
	{S(PARTIALLY_EXECUTED), CASE_REQUESTED, "UNCAC art. 46(24)",
	    "executed in part; the note says what remains", 0, CASE_F_REFERENCE | CASE_F_NOTE},
	{S(REFUSED), CASE_REQUESTED, "UNCAC art. 46(21), 46(23)",
	    "refused: coded reasons are mandatory", CASE_F_REASONS,
	    CASE_F_REFERENCE | CASE_F_NOTE | CASE_F_REASONS},
	{S(PROGRESS_INQUIRY), CASE_REQUESTING, "UNCAC art. 46(24)",
	    "asks how execution stands; moves the case nowhere", 0,
	    CASE_F_REFERENCE | CASE_F_NOTE},
	{S(WITHDRAWN), CASE_REQUESTING, "-",
	    "the requesting authority no longer asks for it", 0, CASE_F_REFERENCE | CASE_F_NOTE},
	{S(CONSULTATION), CASE_REQUESTED, "UNCAC art. 46(26)",
	    "before refusing or postponing: the grounds and any conditions under which "
	    "assistance could be given", CASE_F_NOTE,
	    CASE_F_REFERENCE | CASE_F_NOTE | CASE_F_REASONS},
	{S(ADDITIONAL_INFORMATION), CASE_REQUESTING, "UNCAC art. 46(16)",
	    "the information asked for (usually attached)", 0, CASE_F_REFERENCE | CASE_F_NOTE},
	{S(CONDITIONS_ACCEPTED), CASE_REQUESTING, "UNCAC art. 46(26)",
	    "the conditions proposed in the consultation are accepted", 0,
	    CASE_F_REFERENCE | CASE_F_NOTE},
	{S(CONDITIONS_DECLINED), CASE_REQUESTING, "UNCAC art. 46(26)",
	    "the conditions proposed in the consultation are declined", 0,
	    CASE_F_REFERENCE | CASE_F_NOTE},
};

/*
 * The transition table: for each status, the states it may be sent in, the state it
 * enters (CASE_SAME: none), and whether an earlier consultation is needed. The side is
 * the status's own (statuses[]): the other side may never send it.
 */
#define CASE_SAME (-1)
static const struct {
	Rogatory__V1__Status status;
	unsigned from;
	int to;
	bool after_consultation;
} transitions[] = {
	{S(ACKNOWLEDGED), BIT(CASE_S_REQUESTED), CASE_S_ACKNOWLEDGED, false},
	{S(IN_PROGRESS), WORKING & ~BIT(CASE_S_IN_PROGRESS), CASE_S_IN_PROGRESS, false},
	{S(ADDITIONAL_INFORMATION_REQUESTED), WORKING, CASE_S_INFO_REQUESTED, false},
	{S(CONSULTATION), WORKING | BIT(CASE_S_INFO_REQUESTED) | BIT(CASE_S_CONDITIONS_DECLINED),
	    CASE_S_CONSULTATION, false},
	{S(POSTPONED), (WORKING & ~BIT(CASE_S_POSTPONED)) | BIT(CASE_S_CONSULTATION) |
	    BIT(CASE_S_CONDITIONS_DECLINED), CASE_S_POSTPONED, true},
	{S(PARTIALLY_EXECUTED), WORKING & ~BIT(CASE_S_PARTIALLY_EXECUTED),
	    CASE_S_PARTIALLY_EXECUTED, false},
	{S(EXECUTED), WORKING, CASE_S_EXECUTED, false},
	{S(REFUSED), OPEN & ~BIT(CASE_S_REQUESTED), CASE_S_REFUSED, true},
	{S(ADDITIONAL_INFORMATION), BIT(CASE_S_INFO_REQUESTED), CASE_S_INFO_GIVEN, false},
	{S(CONDITIONS_ACCEPTED), BIT(CASE_S_CONSULTATION), CASE_S_CONDITIONS_ACCEPTED, false},
	{S(CONDITIONS_DECLINED), BIT(CASE_S_CONSULTATION), CASE_S_CONDITIONS_DECLINED, false},
	{S(PROGRESS_INQUIRY), OPEN, CASE_SAME, false},
	{S(WITHDRAWN), OPEN, CASE_S_WITHDRAWN, false},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The coded reasons of a refusal, a postponement or a consultation's grounds. */
#define R_REFUSAL (BIT(S(REFUSED)) | BIT(S(CONSULTATION)))
static const struct case_reason reasons[] = {
	{"46-21-a", "UNCAC art. 46(21)(a)",
	    "the request is not made in conformity with article 46", R_REFUSAL, false},
	{"46-21-b", "UNCAC art. 46(21)(b)", "execution is likely to prejudice sovereignty, "
	    "security, ordre public or other essential interests", R_REFUSAL, false},
	{"46-21-c", "UNCAC art. 46(21)(c)", "domestic law would prohibit the action for a "
	    "similar offence under the requested State's own jurisdiction", R_REFUSAL, false},
	{"46-21-d", "UNCAC art. 46(21)(d)", "granting it would be contrary to the legal "
	    "system of the requested State relating to mutual legal assistance", R_REFUSAL,
	    false},
	{"double-criminality", "UNCAC art. 46(9)(b)", "absence of dual criminality (for "
	    "assistance involving coercive action)", R_REFUSAL, false},
	{"ne-bis-in-idem", "treaty or domestic law", "the person was already finally tried "
	    "for the same conduct (ne bis in idem)", R_REFUSAL, false},
	{"46-25", "UNCAC art. 46(25)", "it interferes with an ongoing investigation, "
	    "prosecution or judicial proceeding", BIT(S(POSTPONED)) | BIT(S(CONSULTATION)),
	    false},
	{"other", "-", "another ground, stated in the text (the text is required)",
	    R_REFUSAL | BIT(S(POSTPONED)), true},
};

const struct case_status *
case_status_row(Rogatory__V1__Status s)
{
	for (size_t i = 0; i < N_OF(statuses); i++)
		if (statuses[i].status == s)
			return &statuses[i];
	return NULL;
}

const struct case_status *
case_statuses(size_t *n)
{
	*n = N_OF(statuses);
	return statuses;
}

const struct case_reason *
case_reasons(size_t *n)
{
	*n = N_OF(reasons);
	return reasons;
}

const struct case_reason *
case_reason_find(const char *code)
{
	for (size_t i = 0; i < N_OF(reasons); i++)
		if (strcmp(reasons[i].code, code) == 0)
			return &reasons[i];
	return NULL;
}

const char *
case_side_name(enum case_side side)
{
	return side == CASE_REQUESTED ? "requested" : "requesting";
}

const char *
case_state_name(enum case_state s)
{
	return (unsigned)s < CASE_STATE_COUNT ? state_names[s] : "invalid";
}

int
case_state_parse(const char *name, enum case_state *out)
{
	for (int i = 0; i < CASE_STATE_COUNT; i++) {
		if (strcmp(state_names[i], name) == 0) {
			*out = (enum case_state)i;
			return 0;
		}
	}
	return -1;
}

bool
case_state_final(enum case_state s)
{
	return (unsigned)s < CASE_STATE_COUNT && (FINAL & BIT(s)) != 0;
}

/* "a, b or c": the names of the states in mask, into out. */
static void
states_list(unsigned mask, char *out, size_t len)
{
	size_t used = 0, n = 0, total = 0;
	for (int i = 0; i < CASE_STATE_COUNT; i++)
		total += (mask & BIT(i)) != 0;
	out[0] = '\0';
	for (int i = 0; i < CASE_STATE_COUNT && used < len; i++) {
		if ((mask & BIT(i)) == 0)
			continue;
		n++;
		int w = snprintf(out + used, len - used, "%s%s", n == 1 ? "" : n == total ? " or "
		    : ", ", state_names[i]);
		used += w > 0 ? (size_t)w : 0;
	}
}

bool
case_next(enum case_state from, bool consulted, Rogatory__V1__Status status,
    enum case_side side, enum case_state *to, char *why, size_t whylen)
{
	const struct case_status *st = case_status_row(status);
	const char *name = wire_status_name(status);
	if (st == NULL) {
		snprintf(why, whylen, "%s is not a status", name);
		return false;
	}
	if (st->side != side) {
		snprintf(why, whylen, "%s is sent by the %s authority, not the %s one", name,
		    case_side_name(st->side), case_side_name(side));
		return false;
	}
	if ((unsigned)from >= CASE_STATE_COUNT) {
		snprintf(why, whylen, "the case is in no known state");
		return false;
	}
	if (case_state_final(from)) {
		snprintf(why, whylen, "the case is closed (%s): nothing follows it", state_names[from]);
		return false;
	}
	for (size_t i = 0; i < N_OF(transitions); i++) {
		if (transitions[i].status != status)
			continue;
		if ((transitions[i].from & BIT(from)) == 0) {
			char list[512];
			states_list(transitions[i].from, list, sizeof(list));
			snprintf(why, whylen, "%s cannot follow %s (it may follow %s)", name,
			    state_names[from], list);
			return false;
		}
		if (transitions[i].after_consultation && !consulted) {
			snprintf(why, whylen, "%s needs an earlier consultation in the case "
			    "(UNCAC art. 46(26))", name);
			return false;
		}
		*to = transitions[i].to == CASE_SAME ? from : (enum case_state)transitions[i].to;
		return true;
	}
	snprintf(why, whylen, "%s has no row in the transition table", name);
	return false;
}

char *
case_table_markdown(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	fprintf(f, "| status | sent by | legal in the states | enters | rule |\n");
	fprintf(f, "| --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < N_OF(transitions); i++) {
		const struct case_status *st = case_status_row(transitions[i].status);
		char list[512];
		states_list(transitions[i].from, list, sizeof(list));
		fprintf(f, "| `%s` | %s | %s%s | %s | %s |\n", wire_status_name(st->status),
		    case_side_name(st->side), list, transitions[i].after_consultation
		    ? ", after a consultation" : "", transitions[i].to == CASE_SAME ? "(no change)"
		    : state_names[transitions[i].to], st->article);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
