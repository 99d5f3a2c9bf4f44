/*
 * Unit tests for daemon/case.c: every (state, status, side) triple, with and without an
 * earlier consultation, against a matrix written out here by hand, so the table and
 * this page must agree; the rules the issue states in words (who sends what, refusal and
 * postponement only after a consultation, nothing after a final state); every status and
 * reason row; and docs/OPERATIONS.md holding the table exactly as the code has it.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "support.h"

#define S(x) ROGATORY__V1__STATUS__STATUS_##x
#define N_STATUSES 13

/*
 * Letters: the state entered; '=' unchanged (progress-inquiry); '-' illegal for the side
 * that may send it. Columns: statuses in enum order 1..13: acknowledged, in-progress,
 * additional-information-requested, postponed, executed, partially-executed, refused,
 * progress-inquiry, withdrawn, consultation, additional-information, conditions-accepted,
 * conditions-declined. Two strings per state: without, then with a consultation before.
 */
static const char *const expect[CASE_STATE_COUNT][2] = {
	/*                             1234567890123    1234567890123 */
	[CASE_S_REQUESTED] =          {"A------=W----", "A------=W----"},
	[CASE_S_ACKNOWLEDGED] =       {"-PQ-EX-=WC---", "-PQOEXF=WC---"},
	[CASE_S_IN_PROGRESS] =        {"--Q-EX-=WC---", "--QOEXF=WC---"},
	[CASE_S_INFO_REQUESTED] =     {"-------=WCI--", "------F=WCI--"},
	[CASE_S_INFO_GIVEN] =         {"-PQ-EX-=WC---", "-PQOEXF=WC---"},
	[CASE_S_CONSULTATION] =       {"-------=W--YN", "---O--F=W--YN"},
	[CASE_S_CONDITIONS_ACCEPTED] = {"-PQ-EX-=WC---", "-PQOEXF=WC---"},
	[CASE_S_CONDITIONS_DECLINED] = {"-------=WC---", "---O--F=WC---"},
	[CASE_S_POSTPONED] =          {"-PQ-EX-=WC---", "-PQ-EXF=WC---"},
	[CASE_S_PARTIALLY_EXECUTED] = {"-PQ-E--=WC---", "-PQOE-F=WC---"},
	[CASE_S_EXECUTED] =           {"-------------", "-------------"},
	[CASE_S_REFUSED] =            {"-------------", "-------------"},
	[CASE_S_WITHDRAWN] =          {"-------------", "-------------"},
	[CASE_S_VOID] =               {"-------------", "-------------"},
};

static char
letter(enum case_state s)
{
	static const char l[CASE_STATE_COUNT] = {
		[CASE_S_REQUESTED] = 'R', [CASE_S_ACKNOWLEDGED] = 'A', [CASE_S_IN_PROGRESS] = 'P',
		[CASE_S_INFO_REQUESTED] = 'Q', [CASE_S_INFO_GIVEN] = 'I', [CASE_S_CONSULTATION] = 'C',
		[CASE_S_CONDITIONS_ACCEPTED] = 'Y', [CASE_S_CONDITIONS_DECLINED] = 'N',
		[CASE_S_POSTPONED] = 'O', [CASE_S_PARTIALLY_EXECUTED] = 'X', [CASE_S_EXECUTED] = 'E',
		[CASE_S_REFUSED] = 'F', [CASE_S_WITHDRAWN] = 'W', [CASE_S_VOID] = 'V',
	};
	return l[s];
}

Test(case, every_state_status_side_triple_matches_the_matrix)
{
	int checked = 0;
	for (int s = 0; s < CASE_STATE_COUNT; s++) {
		for (int consulted = 0; consulted < 2; consulted++) {
			const char *row = expect[s][consulted];
			cr_assert_eq(strlen(row), N_STATUSES, "matrix row %d", s);
			for (int st = 1; st <= N_STATUSES; st++) {
				const struct case_status *cs = case_status_row((Rogatory__V1__Status)st);
				cr_assert_not_null(cs, "status %d has no row", st);
				for (int side = 0; side < 2; side++) {
					enum case_state to = CASE_STATE_COUNT;
					char why[512] = "";
					bool ok = case_next((enum case_state)s, consulted, (Rogatory__V1__Status)st,
					    (enum case_side)side, &to, why, sizeof(why));
					checked++;
					if ((enum case_side)side != cs->side) {
						cr_expect(!ok, "%s from the %s side was accepted",
						    wire_status_name((Rogatory__V1__Status)st),
						    case_side_name((enum case_side)side));
						cr_expect(strstr(why, "is sent by the") != NULL, "%s", why);
						continue;
					}
					char want = row[st - 1];
					char got = !ok ? '-' : to == (enum case_state)s && want == '=' ? '='
					    : letter(to);
					cr_expect_eq(got, want, "%s + %s (%s, %s consultation): table says %c, "
					    "matrix %c (%s)", case_state_name((enum case_state)s),
					    wire_status_name((Rogatory__V1__Status)st),
					    case_side_name((enum case_side)side), consulted ? "after a" : "no",
					    got, want, why);
					if (!ok)
						cr_expect(why[0] != '\0', "an illegal step without its rule");
				}
			}
		}
	}
	cr_assert_eq(checked, CASE_STATE_COUNT * 2 * N_STATUSES * 2);
}

Test(case, rules_are_named)
{
	enum case_state to;
	char why[512];
	cr_assert(!case_next(CASE_S_ACKNOWLEDGED, false, S(REFUSED), CASE_REQUESTED, &to, why,
	    sizeof(why)));
	cr_assert_str_eq(why, "refused needs an earlier consultation in the case (UNCAC art. "
	    "46(26))");
	cr_assert(!case_next(CASE_S_IN_PROGRESS, false, S(POSTPONED), CASE_REQUESTED, &to, why,
	    sizeof(why)));
	cr_assert(strstr(why, "postponed needs an earlier consultation") != NULL, "%s", why);
	cr_assert(!case_next(CASE_S_EXECUTED, true, S(PROGRESS_INQUIRY), CASE_REQUESTING, &to, why,
	    sizeof(why)));
	cr_assert_str_eq(why, "the case is closed (executed): nothing follows it");
	cr_assert(!case_next(CASE_S_REQUESTED, false, S(ACKNOWLEDGED), CASE_REQUESTING, &to, why,
	    sizeof(why)));
	cr_assert_str_eq(why, "acknowledged is sent by the requested authority, not the "
	    "requesting one");
	cr_assert(!case_next(CASE_S_REQUESTED, false, S(EXECUTED), CASE_REQUESTED, &to, why,
	    sizeof(why)));
	cr_assert(strstr(why, "executed cannot follow requested (it may follow acknowledged, ")
	    != NULL, "%s", why);
	/* The life the issue walks through, step by step. */
	static const struct {
		Rogatory__V1__Status st;
		enum case_side side;
		enum case_state to;
	} life[] = {
		{S(ACKNOWLEDGED), CASE_REQUESTED, CASE_S_ACKNOWLEDGED},
		{S(ADDITIONAL_INFORMATION_REQUESTED), CASE_REQUESTED, CASE_S_INFO_REQUESTED},
		{S(ADDITIONAL_INFORMATION), CASE_REQUESTING, CASE_S_INFO_GIVEN},
		{S(CONSULTATION), CASE_REQUESTED, CASE_S_CONSULTATION},
		{S(CONDITIONS_ACCEPTED), CASE_REQUESTING, CASE_S_CONDITIONS_ACCEPTED},
		{S(PROGRESS_INQUIRY), CASE_REQUESTING, CASE_S_CONDITIONS_ACCEPTED},
		{S(EXECUTED), CASE_REQUESTED, CASE_S_EXECUTED},
	};
	enum case_state at = CASE_S_REQUESTED;
	for (size_t i = 0; i < sizeof(life) / sizeof(life[0]); i++) {
		cr_assert(case_next(at, true, life[i].st, life[i].side, &at, why, sizeof(why)),
		    "step %zu: %s", i, why);
		cr_assert_eq(at, life[i].to, "step %zu", i);
	}
}

Test(case, every_status_and_reason_row)
{
	size_t n;
	const struct case_status *st = case_statuses(&n);
	cr_assert_eq(n, N_STATUSES);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq((int)st[i].status, (int)i + 1, "rows in enum order");
		cr_assert_eq(st[i].needs & ~st[i].allows, 0u, "%s needs what it does not allow",
		    wire_status_name(st[i].status));
		cr_assert(st[i].meaning[0] != '\0' && st[i].article[0] != '\0');
		cr_assert_str_neq(wire_status_name(st[i].status), "unknown");
	}
	/* Art. 46(23): a refusal states reasons; art. 46(25): a postponement too, with a date. */
	cr_assert(case_status_row(S(REFUSED))->needs & CASE_F_REASONS);
	cr_assert_eq(case_status_row(S(POSTPONED))->needs, CASE_F_REASONS | CASE_F_ESTIMATE);
	cr_assert(case_status_row(S(ACKNOWLEDGED))->needs & CASE_F_REFERENCE);
	const struct case_reason *r = case_reasons(&n);
	static const char *const refusal[] = {"46-21-a", "46-21-b", "46-21-c", "46-21-d",
	    "double-criminality", "ne-bis-in-idem", "other"};
	for (size_t i = 0; i < sizeof(refusal) / sizeof(refusal[0]); i++) {
		const struct case_reason *f = case_reason_find(refusal[i]);
		cr_assert_not_null(f, "%s", refusal[i]);
		cr_assert(f->statuses & (1u << S(REFUSED)), "%s is a refusal ground", refusal[i]);
	}
	for (size_t i = 0; i < n; i++) {
		cr_assert(r[i].statuses != 0 && r[i].meaning[0] != '\0', "%s", r[i].code);
		cr_assert_eq(r[i].text_required, strcmp(r[i].code, "other") == 0, "%s", r[i].code);
	}
	cr_assert_null(case_reason_find("fiscal"));
	for (int s = 0; s < CASE_STATE_COUNT; s++) {
		enum case_state back;
		cr_assert_eq(case_state_parse(case_state_name((enum case_state)s), &back), 0);
		cr_assert_eq((int)back, s);
	}
	cr_assert_eq(case_state_parse("delivered", &(enum case_state){0}), -1);
}

/* The transition table in docs/OPERATIONS.md is the code's, character for character. */
Test(case, operations_md_holds_the_table)
{
	char *table = case_table_markdown();
	cr_assert_not_null(table);
	char *doc = ts_read_file(ts_src_path("docs/OPERATIONS.md"), NULL);
	cr_assert_not_null(doc);
	cr_assert(strstr(doc, table) != NULL, "docs/OPERATIONS.md lacks the transition table; "
	    "it is:\n%s", table);
	free(doc);
	free(table);
}

/* docs/PROTOCOL.md section 14 is the contract others implement from: the same
 * transition table, a row per status with its side, a row per reason code. */
Test(case, protocol_md_holds_the_tables)
{
	char *doc = ts_read_file(ts_src_path("docs/PROTOCOL.md"), NULL);
	cr_assert_not_null(doc);
	char *table = case_table_markdown();
	cr_assert(strstr(doc, table) != NULL, "docs/PROTOCOL.md 14.6 lacks the table:\n%s", table);
	free(table);
	size_t n;
	const struct case_status *st = case_statuses(&n);
	for (size_t i = 0; i < n; i++) {
		char row[160];
		snprintf(row, sizeof(row), "| %d | `%s` | %s |", (int)st[i].status,
		    wire_status_name(st[i].status), case_side_name(st[i].side));
		cr_expect(strstr(doc, row) != NULL, "docs/PROTOCOL.md 14.4 lacks \"%s\"", row);
	}
	const struct case_reason *r = case_reasons(&n);
	for (size_t i = 0; i < n; i++) {
		char row[160];
		snprintf(row, sizeof(row), "| `%s` | %s |", r[i].code, r[i].article);
		cr_expect(strstr(doc, row) != NULL, "docs/PROTOCOL.md 14.5 lacks \"%s\"", row);
	}
	free(doc);
}
