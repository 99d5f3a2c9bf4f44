/*
 * storestats: the statistics (rogatoryctl stats), each table one SQL statement on the
 * read-only connection: counts, and percentiles by window functions (nearest rank), so
 * that no C loop walks cases or messages. One table (stat_tables) names each statement's
 * columns for the control reply, the CSV and the docs. It must never write, and never run
 * on the store thread.
 *
 * Error policy: as storeread.c: a statement that cannot be prepared or stepped is logged
 * with the database's message and the call returns -1.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "storedb.h"
#include "wire.h"

/* The status numbers written into the SQL below (case_docs.status holds them). */
_Static_assert(ROGATORY__V1__STATUS__STATUS_ACKNOWLEDGED == 1, "status numbers in SQL");
_Static_assert(ROGATORY__V1__STATUS__STATUS_POSTPONED == 4, "status numbers in SQL");
_Static_assert(ROGATORY__V1__STATUS__STATUS_EXECUTED == 5, "status numbers in SQL");
_Static_assert(ROGATORY__V1__STATUS__STATUS_PARTIALLY_EXECUTED == 6, "status numbers in SQL");
_Static_assert(ROGATORY__V1__STATUS__STATUS_REFUSED == 7, "status numbers in SQL");

/*
 * Every statement binds ?1 since (µs, inclusive; 0 = from the start), ?2 until (µs,
 * exclusive; INT64_MAX when not set), ?3 the other authority ('' = any) and ?4 now (µs:
 * what "overdue" is judged at).
 *
 * The cases of the period: opened (cases.opened_us: our commit of the request, queued or
 * received) at or after since and before until; the other authority is the requested one
 * of our requests and the requester of theirs.
 */
#define CASES_OF_PERIOD \
	"WITH c AS (SELECT *, CASE dir WHEN 0 THEN requested ELSE requester END AS peer" \
	" FROM cases WHERE opened_us >= ?1 AND opened_us < ?2)," \
	" f AS (SELECT * FROM c WHERE ?3 = '' OR peer = ?3)"
/* Nearest rank: the value at rank ceil(p/100 x n) of n ordered values. */
#define RANK(p) "((n * " #p " + 99) / 100)"
/* The code of a refusal reason "code: text". */
#define CODE_OF(col) "CASE WHEN instr(" col ", ':') > 0 THEN substr(" col ", 1," \
	" instr(" col ", ':') - 1) ELSE " col " END"
/* The first applied status document of case r among statuses. */
#define FIRST_STATUS(statuses) "(SELECT min(d.ts_us) FROM case_docs d WHERE" \
	" d.request_id = r.request_id AND d.requester = r.requester AND d.applied = 'applied'" \
	" AND d.status IN " statuses ")"

static const char *const ss_sql[SS_COUNT] = {
	[SS_CASES_OPENED] = CASES_OF_PERIOD
	    " SELECT dir, kind, peer, state, count(*) FROM f GROUP BY dir, kind, peer, state"
	    " ORDER BY dir, kind, peer, state",
	/* Received: by us (inbound: the case opened when the request was stored), or by them
	 * (outbound: our first "delivered" event of the request, i.e. its verified receipt);
	 * acknowledged / executed: the first such status applied to the case (executed:
	 * executed or partially-executed), as committed here. Negative spans (a status that
	 * overtook its request's receipt) count as 0. */
	[SS_CASE_TIMES] = CASES_OF_PERIOD ","
	    " r AS (SELECT dir, kind, request_id, requester, CASE dir WHEN 1 THEN opened_us"
	    " ELSE (SELECT min(e.ts_us) FROM events e WHERE e.msg_id = f.request_id AND e.dir = 0"
	    " AND e.event = 'delivered') END AS recv_us FROM f),"
	    " m AS (SELECT dir, kind, 'acknowledged' AS milestone, " FIRST_STATUS("(1)")
	    " - recv_us AS us FROM r UNION ALL SELECT dir, kind, 'executed', "
	    FIRST_STATUS("(5, 6)") " - recv_us FROM r),"
	    " v AS (SELECT dir, kind, milestone, max(us, 0) AS us, row_number() OVER"
	    " (PARTITION BY dir, kind, milestone ORDER BY us) AS rn, count(*) OVER"
	    " (PARTITION BY dir, kind, milestone) AS n FROM m WHERE us IS NOT NULL)"
	    " SELECT dir, kind, milestone, max(n),"
	    " round(max(CASE WHEN rn = " RANK(50) " THEN us END) / 86400000000.0, 2),"
	    " round(max(CASE WHEN rn = " RANK(90) " THEN us END) / 86400000000.0, 2)"
	    " FROM v GROUP BY dir, kind, milestone ORDER BY dir, kind, milestone",
	/* Refusals and postponements applied in the period (the status document's commit
	 * here), one row per code named; documents from before schema 11: "(not recorded)". */
	[SS_REASONS] = "WITH d AS (SELECT d.status, d.reasons FROM case_docs d JOIN cases c"
	    " ON c.request_id = d.request_id AND c.requester = d.requester"
	    " WHERE d.status IN (4, 7) AND d.applied = 'applied' AND d.ts_us >= ?1"
	    " AND d.ts_us < ?2 AND (?3 = '' OR CASE c.dir WHEN 0 THEN c.requested"
	    " ELSE c.requester END = ?3)),"
	    " x AS (SELECT d.status, j.value AS code FROM d, json_each(d.reasons) j"
	    " UNION ALL SELECT status, '(not recorded)' FROM d WHERE reasons IS NULL)"
	    " SELECT status, code, count(*) AS n FROM x GROUP BY status, code"
	    " ORDER BY status DESC, n DESC, code",
	/* Offences named by the requests of the period's cases, by name (ASCII case and outer
	 * spaces ignored); a case counts once per name; the 50 most named. */
	[SS_OFFENCES] = CASES_OF_PERIOD ","
	    " x AS (SELECT lower(trim(j.value)) AS name, count(DISTINCT f.id) AS n"
	    " FROM f, json_each(f.offences) j GROUP BY 1"
	    " UNION ALL SELECT '(not recorded)', count(*) FROM f WHERE offences IS NULL"
	    " HAVING count(*) > 0)"
	    " SELECT name, n FROM x ORDER BY n DESC, name LIMIT 50",
	/* Messages created (submitted, or received) in the period. */
	[SS_MESSAGES] = "SELECT dir, state, count(*), sum(size) FROM messages"
	    " WHERE created_us >= ?1 AND created_us < ?2"
	    " AND (?3 = '' OR (dir = 0 AND recipient = ?3) OR (dir = 1 AND sender = ?3))"
	    " GROUP BY dir, state ORDER BY dir, state",
	/* Outbound messages submitted in the period, per authority and "(all)": delivery
	 * time from submission to the first "delivered" event (the verified receipt),
	 * retransmissions = transmissions after the first. */
	[SS_DELIVERY] = "WITH o AS (SELECT msg_id, recipient AS peer, attempts, created_us"
	    " FROM messages WHERE dir = 0 AND created_us >= ?1 AND created_us < ?2"
	    " AND (?3 = '' OR recipient = ?3)),"
	    " d AS (SELECT peer, (SELECT min(e.ts_us) FROM events e WHERE e.msg_id = o.msg_id"
	    " AND e.dir = 0 AND e.event = 'delivered') - created_us AS us FROM o),"
	    " g AS (SELECT peer, us FROM d UNION ALL SELECT '(all)', us FROM d),"
	    " v AS (SELECT peer, us, row_number() OVER (PARTITION BY peer ORDER BY us) AS rn,"
	    " count(*) OVER (PARTITION BY peer) AS n FROM g WHERE us IS NOT NULL),"
	    " q AS (SELECT peer, max(n) AS n, max(CASE WHEN rn = " RANK(50) " THEN us END) AS p50,"
	    " max(CASE WHEN rn = " RANK(90) " THEN us END) AS p90 FROM v GROUP BY peer),"
	    " a AS (SELECT peer, count(*) AS sent, sum(attempts > 1) AS retried,"
	    " sum(max(attempts - 1, 0)) AS again FROM o GROUP BY peer"
	    " UNION ALL SELECT '(all)', count(*), sum(attempts > 1), sum(max(attempts - 1, 0))"
	    " FROM o HAVING count(*) > 0)"
	    " SELECT a.peer, a.sent, coalesce(q.n, 0), round(max(q.p50, 0) / 1000000.0, 3),"
	    " round(max(q.p90, 0) / 1000000.0, 3), a.retried, a.again"
	    " FROM a LEFT JOIN q ON q.peer = a.peer ORDER BY a.peer",
	/* Refused in the period: ours by the peer's signed REJECTED receipt (event
	 * "rejected"), theirs by us (the quarantine), by reason code. */
	[SS_REJECTIONS] = "SELECT dir, code, count(*) AS n FROM (SELECT 0 AS dir, "
	    CODE_OF("reason") " AS code FROM events WHERE event = 'rejected' AND dir = 0"
	    " AND ts_us >= ?1 AND ts_us < ?2 AND (?3 = '' OR peer = ?3)"
	    " UNION ALL SELECT 1, " CODE_OF("reason") " FROM quarantine"
	    " WHERE ts_us >= ?1 AND ts_us < ?2 AND (?3 = '' OR peer = ?3))"
	    " GROUP BY dir, code ORDER BY dir, n DESC, code",
	/* The period's cases whose clock runs and has passed now (as requests --overdue). */
	[SS_OVERDUE] = CASES_OF_PERIOD ","
	    " o AS (SELECT dir, kind, 'acknowledge-by' AS clock FROM f WHERE " CLOCK_ACK_RUNS
	    " AND ack_by_us <= ?4 UNION ALL SELECT dir, kind, 'respond-by' FROM f WHERE "
	    CLOCK_RESPOND_RUNS " AND respond_by_us <= ?4)"
	    " SELECT dir, kind, clock, count(*) FROM o GROUP BY dir, kind, clock"
	    " ORDER BY dir, kind, clock",
	/* The period's cases with a respond-by that got an answer (the first executed,
	 * partially-executed or refused status applied): how many by their respond-by as it
	 * stands (a postponement's estimate included), and the share. */
	[SS_ON_TIME] = CASES_OF_PERIOD ","
	    " r AS (SELECT dir, kind, request_id, requester, respond_by_us FROM f"
	    " WHERE respond_by_us > 0),"
	    " a AS (SELECT dir, kind, respond_by_us, " FIRST_STATUS("(5, 6, 7)") " AS at FROM r)"
	    " SELECT dir, kind, count(*), sum(at <= respond_by_us),"
	    " round(100.0 * sum(at <= respond_by_us) / count(*), 1) FROM a WHERE at IS NOT NULL"
	    " GROUP BY dir, kind ORDER BY dir, kind",
};

#define COLS(...) (const struct store_stat_column[]){__VA_ARGS__}, \
	sizeof((const struct store_stat_column[]){__VA_ARGS__}) / sizeof(struct store_stat_column)
#define C(name, type) {name, STORE_STAT_##type}

/* The tables in the order they are shown; id = the statement. */
static const struct store_stat_table stat_tables[] = {
	{"cases_opened", "Cases opened, by direction, kind, authority and current status",
	    SS_CASES_OPENED, COLS(C("direction", DIR), C("kind", KIND), C("peer", TEXT),
	    C("status", TEXT), C("cases", INT))},
	{"case_times", "Days from received to acknowledged and to executed (median, 90th "
	    "percentile)", SS_CASE_TIMES, COLS(C("direction", DIR), C("kind", KIND),
	    C("milestone", TEXT), C("cases", INT), C("median_days", REAL), C("p90_days", REAL))},
	{"reasons", "Refusals and postponements by reason code", SS_REASONS,
	    COLS(C("status", STATUS), C("reason", TEXT), C("documents", INT))},
	{"offences", "Offences most often named", SS_OFFENCES,
	    COLS(C("offence", TEXT), C("cases", INT))},
	{"messages", "Messages by direction and state", SS_MESSAGES,
	    COLS(C("direction", DIR), C("state", TEXT), C("messages", INT), C("bytes", INT))},
	{"delivery", "Outbound delivery: time to a verified receipt, retransmissions",
	    SS_DELIVERY, COLS(C("peer", TEXT), C("messages", INT), C("delivered", INT),
	    C("median_seconds", REAL), C("p90_seconds", REAL), C("retried", INT),
	    C("retransmissions", INT))},
	{"rejections", "Messages refused, by reason code", SS_REJECTIONS,
	    COLS(C("direction", DIR), C("reason", TEXT), C("messages", INT))},
	{"overdue", "Cases overdue now, by clock", SS_OVERDUE,
	    COLS(C("direction", DIR), C("kind", KIND), C("clock", TEXT), C("cases", INT))},
	{"answered_on_time", "Cases answered (executed or refused) by their respond-by date",
	    SS_ON_TIME, COLS(C("direction", DIR), C("kind", KIND), C("answered", INT),
	    C("by_respond_by", INT), C("percent", REAL))},
};
#define N_TABLES (sizeof(stat_tables) / sizeof(stat_tables[0]))
_Static_assert(N_TABLES == SS_COUNT, "one table per statistics statement");

const struct store_stat_table *
store_stat_tables(size_t *n)
{
	*n = N_TABLES;
	return stat_tables;
}

/* The progress handler: stop the statement once the budget is spent. */
static int
over_budget(void *arg)
{
	const int64_t *deadline_ms = arg;   /* f->deadline_ms */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 > *deadline_ms;
}

int
store_stats_table(struct store *s, size_t table, struct store_stats_filter *f,
    int (*row)(void *arg, const struct store_stat_value *v), void *arg)
{
	if (table >= N_TABLES)
		return -1;
	const struct store_stat_table *t = &stat_tables[table];
	sqlite3_stmt *st = store_stmt_get(s->r, s->sst, ss_sql, t->id);
	if (st == NULL) {
		log_warn("database %s: cannot prepare statistics %s: %s", s->path, t->name,
		    sqlite3_errmsg(s->r));
		return -1;
	}
	sqlite3_bind_int64(st, 1, f->since_us > 0 ? f->since_us : 0);
	sqlite3_bind_int64(st, 2, f->until_us > 0 ? f->until_us : INT64_MAX);
	sqlite3_bind_text(st, 3, f->peer != NULL ? f->peer : "", -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 4)
		sqlite3_bind_int64(st, 4, f->now_us);
	/* These run on the loop thread, on the read connection: bounded in time (the caller
	 * sets one deadline for the whole request), so that a year of a large store cannot
	 * stall the links. */
	if (f->deadline_ms > 0)
		sqlite3_progress_handler(s->r, 1000, over_budget, &f->deadline_ms);
	struct store_stat_value v[STORE_STAT_COLS_MAX];
	int rc, ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (size_t i = 0; i < t->n_cols && i < STORE_STAT_COLS_MAX; i++) {
			int type = sqlite3_column_type(st, (int)i);
			const unsigned char *txt = type == SQLITE_TEXT ?
			    sqlite3_column_text(st, (int)i) : NULL;
			v[i].null = type == SQLITE_NULL;
			v[i].i = type == SQLITE_INTEGER ? sqlite3_column_int64(st, (int)i) : 0;
			v[i].r = type == SQLITE_INTEGER || type == SQLITE_FLOAT ?
			    sqlite3_column_double(st, (int)i) : 0;
			v[i].text = txt != NULL ? (const char *)txt : "";
		}
		if (row(arg, v) != 0) {
			ret = -1;
			break;
		}
	}
	if (ret == 0 && rc == SQLITE_INTERRUPT && f->deadline_ms > 0) {
		log_warn("database %s: statistics %s stopped: the request's time budget ran out",
		    s->path, t->name);
		f->over_budget = true;
		ret = -1;
	} else if (ret == 0 && rc != SQLITE_DONE) {
		log_warn("database %s: statistics %s: %s", s->path, t->name, sqlite3_errmsg(s->r));
		ret = -1;
	}
	if (f->deadline_ms > 0)
		sqlite3_progress_handler(s->r, 0, NULL, NULL);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}
