/*
 * Unit tests for the statistics (daemon/storestats.c) on fixture stores made from seeds
 * (tests/support/statsfix.c): every table's rows against answers computed here in C
 * from what the generator wrote (counts, nearest-rank percentiles, the period's edges at
 * month and year ends to the microsecond, one authority), never from the store; a store
 * of schema 8 migrating to 11 with its old rows counted as "(not recorded)"; the
 * offence and reason lists the documents give the store (casedoc_tally).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <criterion/criterion.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>

#include "../support/statsfix.h"
#include "../support/schema.h"
#include "../support/support.h"
#include "casedoc.h"
#include "store.h"

#define ROWS_MAX 256
#define DAY_US 86400000000.0

/* A row: its integer and text cells joined by '|', its real cells aside. */
struct srow {
	char s[300];
	double r[4];
	int nr;
	bool seen;
};
struct stab {
	struct srow row[ROWS_MAX];
	int n;
	const struct store_stat_table *t;
};

static char *dir;
static struct event_base *base;
static struct store *st;
static struct statsfix fx;

static void
setup(void)
{
	cr_assert_eq(evthread_use_pthreads(), 0);
	base = event_base_new();
	dir = ts_tmpdir("stats");
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	event_base_free(base);
	ts_rmrf(dir);
	free(dir);
}

static void
open_store(void)
{
	char err[512] = "";
	cr_assert_eq(store_open(dir, 0, base, &st, err, sizeof(err)), 0, "%s", err);
}

static size_t
table_index(const char *name)
{
	size_t n;
	const struct store_stat_table *t = store_stat_tables(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return i;
	cr_assert_fail("no statistics table %s", name);
	return 0;
}

static int
collect(void *arg, const struct store_stat_value *v)
{
	struct stab *x = arg;
	cr_assert_lt(x->n, ROWS_MAX);
	struct srow *r = &x->row[x->n++];
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < x->t->n_cols; i++) {
		size_t used = strlen(r->s);
		if (x->t->cols[i].type == STORE_STAT_REAL) {
			r->r[r->nr++] = v[i].null ? NAN : v[i].r;
			continue;
		}
		if (x->t->cols[i].type == STORE_STAT_TEXT)
			snprintf(r->s + used, sizeof(r->s) - used, "%s%s", used ? "|" : "", v[i].text);
		else
			snprintf(r->s + used, sizeof(r->s) - used, "%s%lld", used ? "|" : "",
			    (long long)v[i].i);
	}
	return 0;
}

static void
actual(const char *name, const struct store_stats_filter *f, struct stab *out)
{
	size_t n, i = table_index(name);
	memset(out, 0, sizeof(*out));
	out->t = &store_stat_tables(&n)[i];
	struct store_stats_filter g = *f;
	cr_assert_eq(store_stats_table(st, i, &g, collect, out), 0, "table %s", name);
}

/* The expected row with key s (added when new). */
static struct srow *
xrow(struct stab *x, const char *s)
{
	for (int i = 0; i < x->n; i++)
		if (strcmp(x->row[i].s, s) == 0)
			return &x->row[i];
	cr_assert_lt(x->n, ROWS_MAX);
	struct srow *r = &x->row[x->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->s, sizeof(r->s), "%s", s);
	return r;
}

/* The expected rows of a table of counts: each key of acc (its count in nr) as the row
 * "key|count". */
static void
counted_rows(const struct stab *acc, struct stab *x)
{
	memset(x, 0, sizeof(*x));
	for (int i = 0; i < acc->n; i++) {
		char key[300];
		snprintf(key, sizeof(key), "%s|%d", acc->row[i].s, acc->row[i].nr);
		xrow(x, key);
	}
}

/* Same rows (order aside), reals within tol (the store rounds them). */
static void
same(const char *name, struct stab *got, struct stab *want, double tol)
{
	for (int i = 0; i < want->n; i++) {
		struct srow *w = &want->row[i], *g = NULL;
		for (int k = 0; k < got->n && g == NULL; k++)
			if (!got->row[k].seen && strcmp(got->row[k].s, w->s) == 0)
				g = &got->row[k];
		cr_assert_not_null(g, "%s: expected row %s is missing (%d rows, first %s)", name,
		    w->s, got->n, got->n > 0 ? got->row[0].s : "-");
		g->seen = true;
		cr_assert_eq(g->nr, w->nr, "%s: %s", name, w->s);
		for (int k = 0; k < w->nr; k++) {
			if (isnan(w->r[k]))
				cr_assert(isnan(g->r[k]), "%s: %s: value %d should be null, is %g", name,
				    w->s, k, g->r[k]);
			else
				cr_assert(fabs(g->r[k] - w->r[k]) <= tol, "%s: %s: value %d is %g, "
				    "expected %g", name, w->s, k, g->r[k], w->r[k]);
		}
	}
	for (int k = 0; k < got->n; k++)
		cr_assert(got->row[k].seen, "%s: unexpected row %s", name, got->row[k].s);
}

static bool
in_period(const struct store_stats_filter *f, int64_t ts)
{
	return ts >= f->since_us && (f->until_us == 0 || ts < f->until_us);
}

static bool
case_in(const struct store_stats_filter *f, const struct statsfix_case *c)
{
	return in_period(f, c->opened_us) && (f->peer == NULL || f->peer[0] == '\0' ||
	    strcmp(f->peer, c->peer) == 0);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest rank: the value at rank ceil(p/100 x n). */
static double
rank(int64_t *v, int n, int p)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	return (double)v[(n * p + 99) / 100 - 1];
}

static void
expect_cases_opened(const struct store_stats_filter *f, struct stab *x)
{
	struct stab acc = {0};
	for (int i = 0; i < fx.n; i++) {
		const struct statsfix_case *c = &fx.c[i];
		if (!case_in(f, c))
			continue;
		char key[200];
		snprintf(key, sizeof(key), "%d|%d|%s|%s", c->dir, c->kind, c->peer, c->state);
		xrow(&acc, key)->nr++;       /* nr as the count, for now */
	}
	counted_rows(&acc, x);
}

static void
expect_case_times(const struct store_stats_filter *f, struct stab *x)
{
	memset(x, 0, sizeof(*x));
	static const int dk[] = {1, 2, 5, 6};
	for (int d = 0; d < 2; d++)
		for (int k = 0; k < 4; k++)
			for (int m = 0; m < 2; m++) {
				int64_t v[STATSFIX_MAX];
				int n = 0;
				for (int i = 0; i < fx.n; i++) {
					const struct statsfix_case *c = &fx.c[i];
					int64_t at = m == 0 ? c->ack_us : c->exec_us;
					if (case_in(f, c) && c->dir == d && c->kind == dk[k] && at != 0)
						v[n++] = at - c->recv_us;
				}
				if (n == 0)
					continue;
				char key[200];
				snprintf(key, sizeof(key), "%d|%d|%s|%d", d, dk[k],
				    m == 0 ? "acknowledged" : "executed", n);
				struct srow *r = xrow(x, key);
				r->nr = 2;
				r->r[0] = rank(v, n, 50) / DAY_US;
				r->r[1] = rank(v, n, 90) / DAY_US;
			}
}

static void
expect_reasons(const struct store_stats_filter *f, struct stab *x)
{
	struct stab acc = {0};
	for (int i = 0; i < fx.n; i++) {
		const struct statsfix_case *c = &fx.c[i];
		if (c->final_status == 0 || !in_period(f, c->final_us) || (f->peer != NULL &&
		    f->peer[0] != '\0' && strcmp(f->peer, c->peer) != 0))
			continue;
		char key[200];
		if (c->n_reasons < 0) {
			snprintf(key, sizeof(key), "%d|(not recorded)", c->final_status);
			xrow(&acc, key)->nr++;
		}
		for (int k = 0; k < c->n_reasons; k++) {
			snprintf(key, sizeof(key), "%d|%s", c->final_status, c->reasons[k]);
			xrow(&acc, key)->nr++;
		}
	}
	counted_rows(&acc, x);
}

static void
norm(const char *in, char *out, size_t len)
{
	while (*in == ' ')
		in++;
	size_t n = 0;
	for (; *in != '\0' && n + 1 < len; in++)
		out[n++] = (char)tolower((unsigned char)*in);
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static void
expect_offences(const struct store_stats_filter *f, struct stab *x)
{
	struct stab acc = {0};
	for (int i = 0; i < fx.n; i++) {
		const struct statsfix_case *c = &fx.c[i];
		if (!case_in(f, c))
			continue;
		if (c->n_offences < 0) {
			xrow(&acc, "(not recorded)")->nr++;
			continue;
		}
		/* A case counts once per name. */
		char seen[3][64];
		int ns = 0;
		for (int k = 0; k < c->n_offences; k++) {
			char name[64];
			norm(c->offences[k], name, sizeof(name));
			bool dup = false;
			for (int j = 0; j < ns; j++)
				dup |= strcmp(seen[j], name) == 0;
			if (dup)
				continue;
			snprintf(seen[ns++], sizeof(seen[0]), "%s", name);
			xrow(&acc, name)->nr++;
		}
	}
	counted_rows(&acc, x);
}

static void
expect_messages(const struct store_stats_filter *f, struct stab *x)
{
	struct stab acc = {0};
	int64_t bytes[ROWS_MAX] = {0};
	for (int i = 0; i < fx.n; i++) {
		const struct statsfix_case *c = &fx.c[i];
		if (!case_in(f, c))
			continue;
		char key[200];
		snprintf(key, sizeof(key), "%d|%s", c->dir, c->msg_state);
		struct srow *r = xrow(&acc, key);
		r->nr++;
		bytes[r - acc.row] += c->size;
	}
	memset(x, 0, sizeof(*x));
	for (int i = 0; i < acc.n; i++) {
		char key[300];
		snprintf(key, sizeof(key), "%s|%d|%lld", acc.row[i].s, acc.row[i].nr,
		    (long long)bytes[i]);
		xrow(x, key);
	}
}

static void
expect_delivery(const struct store_stats_filter *f, struct stab *x)
{
	static const char *const who[] = {"(all)", "FR-MJ", "US-DOJ-OIA"};
	memset(x, 0, sizeof(*x));
	for (int p = 0; p < 3; p++) {
		int64_t v[STATSFIX_MAX];
		int n = 0, sent = 0, retried = 0, again = 0;
		for (int i = 0; i < fx.n; i++) {
			const struct statsfix_case *c = &fx.c[i];
			if (c->dir != 0 || !case_in(f, c) || (p > 0 && strcmp(c->peer, who[p]) != 0))
				continue;
			sent++;
			retried += c->attempts > 1;
			again += c->attempts - 1;
			if (c->recv_us != 0)
				v[n++] = c->recv_us - c->opened_us;
		}
		if (sent == 0)
			continue;
		char key[200];
		snprintf(key, sizeof(key), "%s|%d|%d|%d|%d", who[p], sent, n, retried, again);
		struct srow *r = xrow(x, key);
		r->nr = 2;
		r->r[0] = n > 0 ? rank(v, n, 50) / 1e6 : NAN;
		r->r[1] = n > 0 ? rank(v, n, 90) / 1e6 : NAN;
	}
}

static void
expect_rejections(const struct store_stats_filter *f, struct stab *x)
{
	struct stab acc = {0};
	bool any_peer = f->peer == NULL || f->peer[0] == '\0';
	for (int i = 0; i < fx.n; i++) {
		const struct statsfix_case *c = &fx.c[i];
		char key[200];
		if (c->reject_code == NULL || !in_period(f, c->reject_us) ||
		    (!any_peer && strcmp(f->peer, c->peer) != 0))
			continue;
		snprintf(key, sizeof(key), "0|%s", c->reject_code);
		xrow(&acc, key)->nr++;
	}
	for (int k = 0; k < fx.nq; k++) {
		char key[200];
		if (!in_period(f, fx.q[k].ts_us) || (!any_peer && strcmp(f->peer, fx.q[k].peer) != 0))
			continue;
		snprintf(key, sizeof(key), "1|%s", fx.q[k].code);
		xrow(&acc, key)->nr++;
	}
	counted_rows(&acc, x);
}

/* What "overdue" is judged at when a test does not say. */
#define NOW (STATSFIX_2026 + 200 * 24 * 3600000000LL)

static bool
final_state(const char *state)
{
	return strcmp(state, "executed") == 0 || strcmp(state, "refused") == 0 ||
	    strcmp(state, "withdrawn") == 0 || strcmp(state, "void") == 0;
}

static void
expect_overdue(const struct store_stats_filter *f, struct stab *x)
{
	struct stab acc = {0};
	for (int i = 0; i < fx.n; i++) {
		const struct statsfix_case *c = &fx.c[i];
		if (!case_in(f, c))
			continue;
		char key[200];
		if (strcmp(c->state, "requested") == 0 && c->ack_by_us > 0 &&
		    c->ack_by_us <= f->now_us) {
			snprintf(key, sizeof(key), "%d|%d|acknowledge-by", c->dir, c->kind);
			xrow(&acc, key)->nr++;
		}
		if (!final_state(c->state) && c->respond_by_us > 0 && c->respond_by_us <= f->now_us) {
			snprintf(key, sizeof(key), "%d|%d|respond-by", c->dir, c->kind);
			xrow(&acc, key)->nr++;
		}
	}
	counted_rows(&acc, x);
}

static void
expect_on_time(const struct store_stats_filter *f, struct stab *x)
{
	memset(x, 0, sizeof(*x));
	static const int dk[] = {1, 2, 5, 6};
	for (int d = 0; d < 2; d++)
		for (int k = 0; k < 4; k++) {
			int answered = 0, on_time = 0;
			for (int i = 0; i < fx.n; i++) {
				const struct statsfix_case *c = &fx.c[i];
				/* The first answer: executed (in part or whole), else refused. */
				int64_t at = c->exec_us != 0 ? c->exec_us :
				    c->final_status == 7 ? c->final_us : 0;
				if (!case_in(f, c) || c->dir != d || c->kind != dk[k] ||
				    c->respond_by_us == 0 || at == 0)
					continue;
				answered++;
				on_time += at <= c->respond_by_us;
			}
			if (answered == 0)
				continue;
			char key[200];
			snprintf(key, sizeof(key), "%d|%d|%d|%d", d, dk[k], answered, on_time);
			struct srow *r = xrow(x, key);
			r->nr = 1;
			r->r[0] = 100.0 * on_time / answered;
		}
}

/* Every table of the store against its expectation, for f (now: NOW unless f says). */
static void
check_all(const struct store_stats_filter *f)
{
	static struct stab got, want;
	static const struct {
		const char *name;
		void (*expect)(const struct store_stats_filter *, struct stab *);
		double tol;
	} tabs[] = {
		{"cases_opened", expect_cases_opened, 0},
		{"case_times", expect_case_times, 0.0051},
		{"reasons", expect_reasons, 0},
		{"offences", expect_offences, 0},
		{"messages", expect_messages, 0},
		{"delivery", expect_delivery, 0.00051},
		{"rejections", expect_rejections, 0},
		{"overdue", expect_overdue, 0},
		{"answered_on_time", expect_on_time, 0.051},
	};
	struct store_stats_filter g = *f;
	if (g.now_us == 0)
		g.now_us = NOW;
	f = &g;
	size_t n;
	store_stat_tables(&n);
	cr_assert_eq(n, sizeof(tabs) / sizeof(tabs[0]), "a table without a test");
	for (size_t i = 0; i < n; i++) {
		actual(tabs[i].name, f, &got);
		tabs[i].expect(f, &want);
		same(tabs[i].name, &got, &want, tabs[i].tol);
	}
}

TestSuite(stats, .init = setup, .fini = teardown, .timeout = 60);

Test(stats, every_table_by_construction_over_several_seeds)
{
	for (unsigned seed = 1; seed <= 4; seed++) {
		char sub[600];
		snprintf(sub, sizeof(sub), "%s/seed%u", dir, seed);
		cr_assert_eq(mkdir(sub, 0700), 0);
		statsfix_make(sub, seed, STATSFIX_MAX, &fx);
		char err[512] = "";
		cr_assert_eq(store_open(sub, 0, base, &st, err, sizeof(err)), 0, "%s", err);
		struct store_stats_filter all = {0};
		check_all(&all);
		/* The deadline tables are not empty by chance: cases overdue now, answers on
		 * time and late, on every seed. */
		struct store_stats_filter now = {.now_us = NOW};
		struct stab got;
		actual("overdue", &now, &got);
		bool ack = false, respond = false;
		for (int i = 0; i < got.n; i++) {
			ack |= strstr(got.row[i].s, "|acknowledge-by|") != NULL;
			respond |= strstr(got.row[i].s, "|respond-by|") != NULL;
		}
		cr_assert(ack && respond, "seed %u: overdue has not both clocks", seed);
		actual("answered_on_time", &now, &got);
		cr_assert_gt(got.n, 0, "seed %u: nothing answered", seed);
		bool late = false, in_time = false;
		for (int i = 0; i < got.n; i++) {
			late |= got.row[i].r[0] < 100;
			in_time |= got.row[i].r[0] > 0;
		}
		cr_assert(late && in_time, "seed %u: answers all late or all on time", seed);
		struct store_stats_filter one = {.peer = "US-DOJ-OIA"};
		check_all(&one);
		store_close(st);
		st = NULL;
	}
}

Test(stats, month_and_year_ends)
{
	statsfix_make(dir, 7, STATSFIX_MAX, &fx);
	open_store();
	/* January 2026: the case of 2026-01-31T23:59:59.999Z is in, 2026-02-01T00:00:00Z
	 * and 2025-12-31T23:59:59.999Z are out. */
	struct store_stats_filter jan = {.since_us = STATSFIX_2026, .until_us = STATSFIX_FEB_2026};
	check_all(&jan);
	struct store_stats_filter edge = {.since_us = STATSFIX_FEB_2026 - 1000,
	    .until_us = STATSFIX_FEB_2026};
	struct stab got;
	actual("cases_opened", &edge, &got);
	cr_assert_eq(got.n, 1, "only the case at 2026-01-31T23:59:59.999Z");
	size_t len = strlen(got.row[0].s);
	cr_assert(len > 2 && strcmp(got.row[0].s + len - 2, "|1") == 0, "%s", got.row[0].s);
	check_all(&edge);
	/* The year 2026: ends before 2027-01-01T00:00:00Z, the case a microsecond before
	 * is in it. */
	struct store_stats_filter y2026 = {.since_us = STATSFIX_2026, .until_us = STATSFIX_2027};
	check_all(&y2026);
	struct store_stats_filter last = {.since_us = STATSFIX_2027 - 1, .until_us = STATSFIX_2027};
	actual("cases_opened", &last, &got);
	cr_assert_eq(got.n, 1, "the case at 2026-12-31T23:59:59.999999Z");
	struct store_stats_filter from2027 = {.since_us = STATSFIX_2027, .peer = "FR-MJ"};
	check_all(&from2027);
}

/* A deadline already passed stops the statement (SQLite's progress handler), says so,
 * and leaves the connection usable: the loop thread is never held past the budget. */
Test(stats, a_spent_time_budget_stops_the_statistics)
{
	statsfix_make(dir, 5, STATSFIX_MAX, &fx);
	open_store();
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	struct store_stats_filter f = {.deadline_ms = (int64_t)ts.tv_sec * 1000 +
	    ts.tv_nsec / 1000000 - 1};
	struct stab got = {0};
	size_t n;
	got.t = &store_stat_tables(&n)[table_index("delivery")];
	cr_assert_eq(store_stats_table(st, table_index("delivery"), &f, collect, &got), -1);
	cr_assert(f.over_budget, "not said");
	/* Without a budget the same table answers. */
	struct store_stats_filter all = {0};
	actual("delivery", &all, &got);
	cr_assert_gt(got.n, 0);
}

Test(stats, an_empty_period_has_no_rows)
{
	statsfix_make(dir, 3, 20, &fx);
	open_store();
	struct store_stats_filter f = {.since_us = 1000000, .until_us = 2000000};
	size_t n;
	store_stat_tables(&n);
	for (size_t i = 0; i < n; i++) {
		struct stab got;
		actual(store_stat_tables(&n)[i].name, &f, &got);
		cr_assert_eq(got.n, 0, "%s: %d rows", store_stat_tables(&n)[i].name, got.n);
	}
}

static void
sql(const char *statements)
{
	char path[600];
	sqlite3 *db = NULL;
	snprintf(path, sizeof(path), "%s/rogatory.db", dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, statements, NULL, NULL, NULL), SQLITE_OK, "%s: %s",
	    statements, sqlite3_errmsg(db));
	sqlite3_close(db);
}

Test(stats, a_schema_8_store_migrates_and_its_rows_are_not_recorded)
{
	open_store();
	store_close(st);
	st = NULL;
	/* The store as schema 8 left it, with a case and a refusal from then. */
	sql(TS_SCHEMA_DOWN_TO_8
	    "INSERT INTO cases (request_id, requester, requested, dir, kind, urgent, state,"
	    " opened_us, updated_us) VALUES ('00000000-0000-4000-8000-000000000001', 'FR-MJ',"
	    " 'BD-ACC', 1, 1, 0, 'refused', 1767225600000000, 1767225600000000);"
	    "INSERT INTO case_docs (request_id, requester, dir, sender, msg_id, kind, status, side,"
	    " sequence, applied, ts_us) VALUES ('00000000-0000-4000-8000-000000000001', 'FR-MJ',"
	    " 0, 'BD-ACC', '00000000-0000-4000-8000-000000000002', 1, 7, 'requested', 1,"
	    " 'applied', 1767225700000000);");
	open_store();
	struct stab got;
	struct store_stats_filter all = {0};
	actual("offences", &all, &got);
	cr_assert_eq(got.n, 1);
	cr_assert_str_eq(got.row[0].s, "(not recorded)|1");
	actual("reasons", &all, &got);
	cr_assert_eq(got.n, 1);
	cr_assert_str_eq(got.row[0].s, "7|(not recorded)|1");
	actual("cases_opened", &all, &got);
	cr_assert_eq(got.n, 1);
	cr_assert_str_eq(got.row[0].s, "1|1|FR-MJ|refused|1");
	store_close(st);
	st = NULL;
	/* The header says the newest version and the new columns take JSON only. */
	char path[600];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	snprintf(path, sizeof(path), "%s/rogatory.db", dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
	cr_assert_eq(sqlite3_column_int(q, 0), STORE_SCHEMA_VERSION);
	sqlite3_finalize(q);
	cr_assert_neq(sqlite3_exec(db, "UPDATE cases SET offences = 'not json'", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
}

Test(stats, tally_of_offences_and_reasons)
{
	char out[64];
	const char *offs = "[{\"law\":\"s. 161\",\"name\":\"bribery\"},{\"name\":\"embezzlement\"},"
	    "{\"law\":\"no name\"}]";
	cr_assert_eq(casedoc_tally((const uint8_t *)offs, strlen(offs), "name", out, sizeof(out)), 2);
	cr_assert_str_eq(out, "[\"bribery\",\"embezzlement\"]");
	/* Whole entries only. */
	cr_assert_eq(casedoc_tally((const uint8_t *)offs, strlen(offs), "name", out, 16), 1);
	cr_assert_str_eq(out, "[\"bribery\"]");
	const char *reasons = "[{\"code\":\"46-21-a\",\"text\":\"a, \\\"quoted\\\"\"}]";
	cr_assert_eq(casedoc_tally((const uint8_t *)reasons, strlen(reasons), "code", out,
	    sizeof(out)), 1);
	cr_assert_str_eq(out, "[\"46-21-a\"]");
	cr_assert_eq(casedoc_tally((const uint8_t *)"\"text\"", 6, "code", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "[]");
	cr_assert_eq(casedoc_tally(NULL, 0, "code", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "[]");
}
