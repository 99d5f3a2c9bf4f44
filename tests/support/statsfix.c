/*
 * statsfix: the statistics fixture (contract in statsfix.h). Deterministic from its seed
 * (its own LCG, never rand()), so a failure names a seed that reproduces it.
 */
#include "statsfix.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>

#include "store.h"

#define HOUR_US 3600000000LL
#define DAY_US (24 * HOUR_US)

static const char *const peers[] = {"FR-MJ", "US-DOJ-OIA"};
static const int kinds[] = {1, 2, 5, 6};
/* Spellings differ on purpose: the statistics count "Bribery " as "bribery". */
static const char *const offences[] = {"bribery", "Bribery ", "embezzlement",
    "money laundering", "abuse of functions, \"art. 19\""};
static const char *const refusal_codes[] = {"46-21-a", "46-21-b", "double-criminality",
    "other"};
static const char *const postpone_codes[] = {"46-25", "other"};
static const char *const reject_codes[] = {"invalid-document", "illegal-transition"};

static uint32_t
next(uint64_t *st)
{
	*st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*st >> 33);
}

static uint32_t
pick(uint64_t *st, uint32_t n)
{
	return next(st) % n;
}

static void
exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s: %s", sql,
	    msg != NULL ? msg : "");
}

/* One statement with sqlite3_mprintf's formats (%Q quotes; not printf's, so no format
 * attribute): text values are the generator's own. */
static void
sqlf(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	cr_assert_not_null(sql);
	exec_sql(db, sql);
	sqlite3_free(sql);
}

static void
uuid(char out[40], unsigned seed, int n)
{
	snprintf(out, 40, "%08x-0000-4000-8000-%012x", seed, (unsigned)n);
}

/* The case's life, chosen from the generator. */
static void
make_case(uint64_t *st, int i, struct statsfix_case *c)
{
	/* The first cases sit on month and year ends, to the millisecond either side. */
	static const int64_t edges[] = {STATSFIX_2026 - 1000, STATSFIX_2026,
	    STATSFIX_FEB_2026 - 1000, STATSFIX_FEB_2026, STATSFIX_2027 - 1, STATSFIX_2027};
	memset(c, 0, sizeof(*c));
	c->dir = (int)pick(st, 2);
	c->kind = kinds[pick(st, 4)];
	c->peer = peers[pick(st, 2)];
	c->opened_us = i < 6 ? edges[i] : STATSFIX_2026 - 200 * DAY_US +
	    (int64_t)pick(st, 600 * 24) * HOUR_US;
	c->size = 1000 + i;
	c->n_offences = pick(st, 8) == 0 ? -1 : (int)pick(st, 3);
	for (int k = 0; k < c->n_offences; k++)
		c->offences[k] = offences[pick(st, 5)];
	c->state = "requested";
	if (c->dir == 1) {
		c->msg_state = "received";
		c->recv_us = c->opened_us;
	} else {
		uint32_t fate = pick(st, 10);
		c->attempts = 1 + (int)pick(st, 3);
		if (fate < 8) {
			c->msg_state = "delivered";
			/* Whole seconds plus a half: a wrong rank is never within rounding. */
			c->recv_us = c->opened_us + (int64_t)(1 + pick(st, 900)) * 1000000 + 500000;
		} else if (fate == 8) {
			c->msg_state = "retrying";
			c->attempts++;
		} else {
			c->msg_state = "rejected";
			c->reject_code = reject_codes[pick(st, 2)];
			c->reject_us = c->opened_us + (int64_t)(1 + pick(st, 60)) * 1000000;
			c->state = "void";
		}
	}
	/* The clocks, from the case's number (the generator's sequence stays as it was). */
	static const int within_days[] = {0, 30, 60, 90};
	if (c->recv_us != 0) {
		c->ack_by_us = c->recv_us + 7 * DAY_US;
		if (within_days[i % 4] > 0)
			c->respond_by_us = c->recv_us + within_days[i % 4] * DAY_US;
	}
	if (c->recv_us == 0 || pick(st, 4) == 0)
		return;
	/* Hours, not minutes: a wrong rank differs by more than the rounding to 0.01 day. */
	c->ack_us = c->recv_us + (int64_t)(1 + pick(st, 24 * 14)) * HOUR_US;
	c->state = "acknowledged";
	uint32_t then = pick(st, 20);
	if (then < 10) {
		c->exec_status = pick(st, 3) == 0 ? 6 : 5;
		c->exec_us = c->ack_us + (int64_t)(1 + pick(st, 24 * 120)) * HOUR_US;
		c->state = c->exec_status == 5 ? "executed" : "partially-executed";
	} else if (then < 14) {
		c->final_status = 7;
		c->state = "refused";
	} else if (then < 17) {
		c->final_status = 4;
		c->state = "postponed";
	}
	if (c->final_status != 0) {
		c->final_us = c->ack_us + (int64_t)(1 + pick(st, 24 * 60)) * HOUR_US;
		c->n_reasons = pick(st, 6) == 0 ? -1 : 1 + (int)pick(st, 2);
		for (int k = 0; k < c->n_reasons; k++)
			c->reasons[k] = c->final_status == 7 ? refusal_codes[pick(st, 4)]
			                                     : postpone_codes[pick(st, 2)];
		if (c->n_reasons == 2 && strcmp(c->reasons[0], c->reasons[1]) == 0)
			c->n_reasons = 1;
	}
}

/* A JSON array of strings, or NULL when n is -1 (SQL text, quotes from %Q). */
static char *
json_list(const char *const *v, int n)
{
	if (n < 0)
		return sqlite3_mprintf("NULL");
	char buf[512] = "[";
	for (int k = 0; k < n; k++) {
		strcat(buf, k > 0 ? ",\"" : "\"");
		for (const char *p = v[k]; *p != '\0'; p++) {
			size_t used = strlen(buf);
			if (*p == '"' || *p == '\\')
				buf[used++] = '\\';
			buf[used++] = *p;
			buf[used] = '\0';
		}
		strcat(buf, "\"");
	}
	strcat(buf, "]");
	return sqlite3_mprintf("%Q", buf);
}

static void
write_doc(sqlite3 *db, const struct statsfix_case *c, const char *requester, unsigned seed,
    int n, int status, int seq, int64_t ts, const char *reasons)
{
	char id[40];
	uuid(id, seed ^ 0x5a5a5a5aU, n);
	/* The requested side sends these statuses. */
	const char *sender = c->dir == 0 ? c->peer : STATSFIX_ME;
	sqlf(db, "INSERT INTO case_docs (request_id, requester, dir, sender, msg_id, kind, status,"
	    " side, sequence, applied, ts_us, reasons) VALUES ('%s', '%s', %d, '%s', '%s', %d, %d,"
	    " 'requested', %d, 'applied', %lld, %s)", c->id, requester, c->dir == 0 ? 1 : 0,
	    sender, id, c->kind, status, seq, (long long)ts, reasons);
}

static void
event(sqlite3 *db, int64_t ts, const char *name, const char *msg_id, const char *peer, int dir,
    const char *reason)
{
	sqlf(db, "INSERT INTO events (ts_us, event, msg_id, peer, dir, state, reason) VALUES"
	    " (%lld, '%s', '%s', '%s', %d, '', %Q)", (long long)ts, name, msg_id, peer, dir,
	    reason != NULL ? reason : "");
}

static void
write_case(sqlite3 *db, unsigned seed, int i, const struct statsfix_case *c)
{
	const char *requester = c->dir == 0 ? STATSFIX_ME : c->peer;
	const char *requested = c->dir == 0 ? c->peer : STATSFIX_ME;
	char *offs = json_list(c->offences, c->n_offences);
	sqlf(db, "INSERT INTO cases (request_id, requester, requested, dir, kind, urgent, state,"
	    " opened_us, updated_us, offences, received_us, ack_by_us, respond_base_us,"
	    " respond_by_us) VALUES ('%s', '%s', '%s', %d, %d, 0, '%s', %lld, %lld, %s, %lld,"
	    " %lld, %lld, %lld)", c->id, requester, requested, c->dir, c->kind, c->state,
	    (long long)c->opened_us, (long long)c->opened_us, offs, (long long)c->recv_us,
	    (long long)c->ack_by_us, (long long)c->respond_by_us, (long long)c->respond_by_us);
	sqlite3_free(offs);
	sqlf(db, "INSERT INTO messages (dir, msg_id, sender, recipient, kind, urgent, state,"
	    " attempts, created_us, updated_us, payload_hash, size) VALUES (%d, '%s', '%s', '%s',"
	    " %d, 0, '%s', %d, %lld, %lld, zeroblob(32), %lld)", c->dir, c->id, requester,
	    requested, c->kind, c->msg_state, c->attempts, (long long)c->opened_us,
	    (long long)c->opened_us, (long long)c->size);
	if (c->dir == 0) {
		event(db, c->opened_us, "queued", c->id, c->peer, 0, NULL);
		/* At the same time as the request: must never pass for its receipt. */
		event(db, c->opened_us, "case-opened", c->id, c->peer, 0, "a request");
		if (c->recv_us != 0)
			event(db, c->recv_us, "delivered", c->id, c->peer, 0, NULL);
		if (c->reject_code != NULL) {
			char why[96];
			snprintf(why, sizeof(why), "%s: refused by the receiver", c->reject_code);
			event(db, c->reject_us, "rejected", c->id, c->peer, 0, why);
		}
	} else {
		event(db, c->opened_us, "received", c->id, c->peer, 1, NULL);
		event(db, c->opened_us, "case-opened", c->id, c->peer, 1, "a request");
	}
	int seq = 1;
	if (c->ack_us != 0)
		write_doc(db, c, requester, seed, i * 4, 1, seq++, c->ack_us, "'[]'");
	if (c->exec_us != 0)
		write_doc(db, c, requester, seed, i * 4 + 1, c->exec_status, seq++, c->exec_us, "'[]'");
	if (c->final_status != 0) {
		char *r = json_list(c->reasons, c->n_reasons);
		write_doc(db, c, requester, seed, i * 4 + 2, c->final_status, seq++, c->final_us, r);
		sqlite3_free(r);
	}
}

void
statsfix_make(const char *state_dir, unsigned seed, int n, struct statsfix *fx)
{
	cr_assert_leq(n, STATSFIX_MAX);
	memset(fx, 0, sizeof(*fx));
	/* The schema, as the daemon makes it. */
	cr_assert_eq(evthread_use_pthreads(), 0);
	struct event_base *base = event_base_new();
	struct store *s = NULL;
	char err[512] = "", path[600];
	cr_assert_eq(store_open(state_dir, 0, base, &s, err, sizeof(err)), 0, "%s", err);
	store_close(s);
	event_base_free(base);

	snprintf(path, sizeof(path), "%s/rogatory.db", state_dir);
	sqlite3 *db = NULL;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	exec_sql(db, "BEGIN");
	uint64_t st = seed * 2654435761ULL + 1;
	fx->n = n;
	for (int i = 0; i < n; i++) {
		struct statsfix_case *c = &fx->c[i];
		make_case(&st, i, c);
		uuid(c->id, seed, i);
		write_case(db, seed, i, c);
	}
	/* Documents we refused: the quarantine (two on the first second of 2026). */
	fx->nq = 5;
	for (int k = 0; k < fx->nq; k++) {
		struct statsfix_q *q = &fx->q[k];
		q->peer = peers[k % 2];
		q->code = k < 3 ? "bad-signature" : "invalid-document";
		q->ts_us = k < 2 ? STATSFIX_2026 + k : STATSFIX_2026 + (int64_t)k * 30 * DAY_US;
		sqlf(db, "INSERT INTO quarantine (ts_us, peer, msg_id, reason) VALUES (%lld, '%s',"
		    " '', '%s: as the fixture says')", (long long)q->ts_us, q->peer, q->code);
	}
	/* The events rows become audit leaves at the next open, as after a migration. */
	exec_sql(db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_backfill', 1)");
	exec_sql(db, "COMMIT");
	sqlite3_close(db);
}
