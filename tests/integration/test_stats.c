/*
 * stats: `rogatoryctl stats` against a real daemon whose store is a fixture made from a
 * seed before it starts (tests/support/statsfix.c): the JSON document's tables and their
 * totals against what the generator wrote (all, one authority, January 2026, the last
 * millisecond of January), the readable tables, the CSV (RFC 4180: a name line, a header
 * line, quoted fields with a comma or quotes, CRLF), and bad arguments refused with exit
 * 2 before anything reaches the daemon.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "net.h"
#include "statsfix.h"
#include "support.h"

static const char *const ids[] = {"BD-ACC", "FR-MJ"};
static struct statsfix fx;

/* A network of one running daemon (BD-ACC) on a fixture store of seed. */
static struct tnet *
start(const char *tag, unsigned seed)
{
	struct tnet *t = tnet_new(tag, ids, 2);
	char state[4200];
	snprintf(state, sizeof(state), "%s/state", t->node[0].home);
	cr_assert(mkdir(state, 0700) == 0 || access(state, F_OK) == 0);
	statsfix_make(state, seed, STATSFIX_MAX, &fx);
	tnet_start(t, 0);
	return t;
}

static json_t *
stats_json(struct tnet *t, const char *args)
{
	char *out = NULL;
	int rc = tnet_ctlf(t, 0, &out, "stats %s --json", args);
	cr_assert_eq(rc, 0, "stats %s: exit %d\n%s", args, rc, out);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "stats %s: not JSON (%s):\n%s", args, je.text, out);
	free(out);
	return j;
}

static json_t *
table(const json_t *j, const char *name)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(j, "tables"), i, t)
		if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0)
			return t;
	cr_assert_fail("no table %s", name);
	return NULL;
}

/* The sum of column col of a table's rows. */
static long long
column_sum(const json_t *j, const char *name, const char *col)
{
	const json_t *t = table(j, name);
	size_t c, i;
	json_t *v, *row;
	long long sum = 0;
	json_array_foreach(json_object_get(t, "columns"), c, v)
		if (strcmp(json_string_value(v), col) == 0)
			break;
	cr_assert_lt(c, json_array_size(json_object_get(t, "columns")), "%s.%s", name, col);
	json_array_foreach(json_object_get(t, "rows"), i, row)
		sum += json_integer_value(json_array_get(row, c));
	return sum;
}

static int
cases_in(int64_t since, int64_t until, const char *peer)
{
	int n = 0;
	for (int i = 0; i < fx.n; i++)
		n += fx.c[i].opened_us >= since && (until == 0 || fx.c[i].opened_us < until) &&
		    (peer == NULL || strcmp(peer, fx.c[i].peer) == 0);
	return n;
}

Test(stats, json_totals_periods_and_peer, .timeout = 120)
{
	struct tnet *t = start("stats-json", 11);
	json_t *j = stats_json(t, "");
	static const char *const names[] = {"cases_opened", "case_times", "reasons", "offences",
	    "messages", "delivery", "rejections", "overdue", "answered_on_time"};
	cr_assert_eq(json_array_size(json_object_get(j, "tables")), 9);
	for (size_t i = 0; i < 9; i++)
		cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
		    json_object_get(j, "tables"), i), "name")), names[i]);
	cr_assert(json_is_null(json_object_get(j, "since")));
	cr_assert_eq(column_sum(j, "cases_opened", "cases"), fx.n);
	cr_assert_eq(column_sum(j, "messages", "messages"), fx.n);
	/* The fixture's clocks (2025-2027) judged by the daemon's clock: some have passed
	 * (the unit tests check every count by construction at a fixed time). */
	cr_assert_gt(column_sum(j, "overdue", "cases"), 0);
	cr_assert_gt(column_sum(j, "answered_on_time", "answered"), 0);
	json_decref(j);

	j = stats_json(t, "--peer FR-MJ");
	cr_assert_eq(column_sum(j, "cases_opened", "cases"), cases_in(0, 0, "FR-MJ"));
	cr_assert_str_eq(json_string_value(json_object_get(j, "peer")), "FR-MJ");
	json_decref(j);

	j = stats_json(t, "--since 2026-01-01 --until 2026-02-01");
	int jan = cases_in(STATSFIX_2026, STATSFIX_FEB_2026, NULL);
	cr_assert_geq(jan, 2, "the fixture has the January edge cases");
	cr_assert_eq(column_sum(j, "cases_opened", "cases"), jan);
	cr_assert_str_eq(json_string_value(json_object_get(j, "since")),
	    "2026-01-01T00:00:00.000000Z");
	cr_assert_str_eq(json_string_value(json_object_get(j, "until")),
	    "2026-02-01T00:00:00.000000Z");
	json_decref(j);

	/* The last millisecond of January holds one case; the next instant is February. */
	j = stats_json(t, "--since 2026-01-31T23:59:59.999Z --until 2026-02-01");
	cr_assert_eq(column_sum(j, "cases_opened", "cases"), 1);
	json_decref(j);
	j = stats_json(t, "--since 2026-02-01 --until 2026-02-01T00:00:00.001Z");
	cr_assert_eq(column_sum(j, "cases_opened", "cases"), 1);
	json_decref(j);
	tnet_free(t);
}

Test(stats, human_and_csv, .timeout = 120)
{
	struct tnet *t = start("stats-csv", 12);
	char *out = NULL;
	int rc = tnet_ctl(t, 0, &out, "stats");
	cr_assert_eq(rc, 0, "%s", out);
	static const char *const titles[] = {"Cases opened", "Days from received to "
	    "acknowledged", "Refusals and postponements by reason code", "Offences most often "
	    "named", "Messages by direction and state", "Outbound delivery", "Messages refused",
	    "Cases overdue now", "Cases answered (executed or refused) by their respond-by"};
	for (size_t i = 0; i < 9; i++)
		cr_assert(strstr(out, titles[i]) != NULL, "no %s in:\n%s", titles[i], out);
	cr_assert(strstr(out, "median_days") != NULL, "%s", out);
	free(out);

	json_t *j = stats_json(t, "");
	size_t opened_rows = json_array_size(json_object_get(table(j, "cases_opened"), "rows"));
	json_decref(j);
	rc = tnet_ctl(t, 0, &out, "stats --csv");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strncmp(out, "cases_opened\r\ndirection,kind,peer,status,cases\r\n", 48) == 0,
	    "%s", out);
	/* The rows of the first table, up to the blank line before the next. */
	const char *p = out + 48;
	size_t rows = 0;
	while (strncmp(p, "\r\n", 2) != 0) {
		const char *e = strstr(p, "\r\n");
		cr_assert_not_null(e);
		rows++;
		p = e + 2;
	}
	cr_assert_eq(rows, opened_rows);
	cr_assert(strncmp(p, "\r\ncase_times\r\ndirection,kind,milestone,cases,median_days,"
	    "p90_days\r\n", 67) == 0, "%s", p);
	cr_assert(strstr(out, "\r\nrejections\r\ndirection,reason,messages\r\n") != NULL);
	/* An offence with a comma and quotes: one quoted field, its quotes doubled. */
	cr_assert(strstr(out, "\r\n\"abuse of functions, \"\"art. 19\"\"\",") != NULL, "%s", out);
	for (const char *c = strchr(out, '\n'); c != NULL; c = strchr(c + 1, '\n'))
		cr_assert(c > out && c[-1] == '\r', "a line not ended by CRLF at %td", c - out);
	free(out);
	tnet_free(t);
}

Test(stats, bad_arguments_exit_2, .timeout = 60)
{
	struct tnet *t = start("stats-args", 13);
	static const char *const bad[] = {
	    "--since 2026-02-30", "--since 2026-13-01", "--until yesterday", "--until 2h",
	    "--since 2026-01-01T00:00:00+02:00", "--peer fr-mj", "--since",
	    "--since 2026-02-01 --until 2026-01-01", "--since 2026-01-01 --until 2026-01-01",
	    "--csv --json", "extra", "--kind mla",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = NULL;
		int rc = tnet_ctlf(t, 0, &out, "stats %s", bad[i]);
		cr_assert_eq(rc, 2, "stats %s: exit %d\n%s", bad[i], rc, out);
		cr_assert(strstr(out, "rogatoryctl") != NULL || strstr(out, "usage") != NULL,
		    "stats %s says why:\n%s", bad[i], out);
		free(out);
	}
	tnet_free(t);
}
