/*
 * storecase: the cases in the store. It holds the cases' SQL (both connections) and, on
 * the store thread, opens and moves a case inside the savepoint of the op that writes the
 * message changing it, so that a case is never derived later by a scan and never
 * disagrees with the messages: a request opens its case; a status document moves it by
 * the transition table (case.h) applied to the row as committed, or waits (kept, in
 * case_docs) when its request is not in yet, and is applied when the request arrives; an
 * outbound document that never reached its peer (rejected, expired, cancelled, failed)
 * stops counting, and the case is folded again from what still counts.
 *
 * Error policy: as storeop.c (STORE_R_FULL / STORE_R_ERROR with SQLite's message; the op's
 * savepoint is rolled back). STORE_R_ILLEGAL is decided before anything is written.
 * Nothing is logged here.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "clocks.h"
#include "log.h"
#include "storedb.h"

#define CASE_COLS "id, request_id, requester, requested, dir, kind, urgent, state, consulted," \
	" requester_ref, requested_ref, respond_by, opened_us, updated_us, received_us, ack_by_us," \
	" respond_base_us, respond_by_us"
/* A clock whose event is not recorded yet: ?1 now, ?2 warn_before (µs). Written as a
 * bounded range of due (<= now + warn) so that its partial index is searched, not the
 * table: due <= now and overdue not recorded, or near and due-soon not recorded. */
#define CLOCK_DUE(due, soon, over) due " > 0 AND " due " <= ?1 + ?2 AND " over " <> " due \
	" AND (" due " <= ?1 OR " soon " <> " due ")"
/* Clocks in case_list: passed at ?9 (overdue), or due after ?9 and by ?8 (due within).
 * CASE_FINAL, CLOCK_ACK_RUNS, CLOCK_RESPOND_RUNS: storedb.h (the statistics use them). */
#define CASE_BETWEEN "request_id = ?1 AND ((requester = ?2 AND requested = ?3) OR" \
	" (requester = ?3 AND requested = ?2))"

static const char *const cw_sql[CW_COUNT] = {
	[CW_FIND] = "SELECT " CASE_COLS " FROM cases WHERE " CASE_BETWEEN,
	[CW_FIND_REQ] = "SELECT " CASE_COLS " FROM cases WHERE request_id = ?1 AND requester = ?2",
	[CW_SEQ_USED] = "SELECT 1 FROM case_docs WHERE request_id = ?1 AND requester = ?2"
	    " AND sender = ?3 AND sequence = ?4 LIMIT 1",
	[CW_INSERT] = "INSERT INTO cases (request_id, requester, requested, dir, kind, urgent,"
	    " state, requester_ref, respond_by, opened_us, updated_us, received_us, ack_by_us,"
	    " respond_base_us, respond_by_us, offences) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
	    " 'requested', ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?12, nullif(?13, ''))",
	[CW_UPDATE] = "UPDATE cases SET state = ?2, consulted = ?3, requested_ref = ?4,"
	    " updated_us = ?5, respond_by_us = ?6 WHERE id = ?1",
	[CW_DOC_INSERT] = "INSERT INTO case_docs (request_id, requester, dir, sender, msg_id, kind,"
	    " status, side, sequence, reference, applied, note, ts_us, estimate, reasons) VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, nullif(?15, ''))",
	[CW_DOC_SET] = "UPDATE case_docs SET applied = ?2, note = ?3 WHERE id = ?1",
	[CW_WAITING] = "SELECT id, sender, msg_id, kind, status, sequence, estimate FROM case_docs"
	    " WHERE request_id = ?1 AND requester = ?2 AND applied = 'waiting'"
	    " ORDER BY sequence, id",
	[CW_APPLIED] = "SELECT status, side, reference, estimate FROM case_docs WHERE request_id = ?1"
	    " AND requester = ?2 AND applied = 'applied' ORDER BY id",
	[CW_DOC_OF_MSG] = "SELECT id, request_id, requester, status, sequence, applied"
	    " FROM case_docs WHERE dir = ?1 AND sender = ?2 AND msg_id = ?3",
	[CW_CLOCKS] = "UPDATE cases SET received_us = ?2, ack_by_us = ?3, respond_base_us = ?4,"
	    " respond_by_us = ?5 WHERE id = ?1",
	/* Two range searches of cases_ack and cases_respond (EXPLAIN QUERY PLAN: SEARCH ...
	 * USING INDEX, never SCAN cases): only clocks still running and due by now + warn
	 * are looked at. Their terms repeat the partial indexes' WHERE, which SQLite needs to
	 * use them. */
	[CW_DUE] = "SELECT " CASE_COLS ", ack_soon_for, ack_over_for, respond_soon_for,"
	    " respond_over_for FROM cases WHERE id IN (SELECT id FROM cases WHERE"
	    " state = 'requested' AND " CLOCK_DUE("ack_by_us", "ack_soon_for", "ack_over_for")
	    " UNION ALL SELECT id FROM cases WHERE state NOT IN " CASE_FINAL " AND "
	    CLOCK_DUE("respond_by_us", "respond_soon_for", "respond_over_for") ") ORDER BY id"
	    " LIMIT ?3",
	[CW_MARK] = "UPDATE cases SET ack_soon_for = ?2, ack_over_for = ?3, respond_soon_for = ?4,"
	    " respond_over_for = ?5 WHERE id = ?1",
	[CW_MARKED] = "SELECT 1 FROM case_marks WHERE case_id = ?1 AND clock = ?2 AND due_us = ?3"
	    " AND event = ?4",
	[CW_MARK_ADD] = "INSERT OR IGNORE INTO case_marks (case_id, clock, due_us, event)"
	    " VALUES (?1, ?2, ?3, ?4)",
};

static const char *const cr_sql[CR_COUNT] = {
	[CR_LIST] = "SELECT " CASE_COLS " FROM cases WHERE (?1 = 2 OR dir = ?1)"
	    " AND (?2 = '' OR state = ?2) AND (?3 = '' OR (dir = 0 AND requested = ?3)"
	    " OR (dir = 1 AND requester = ?3)) AND (?4 = 0 OR kind = ?4)"
	    " AND (?5 = 0 OR id < ?5)"
	    " AND (?7 = 0 OR (" CLOCK_ACK_RUNS " AND ack_by_us <= ?9) OR (" CLOCK_RESPOND_RUNS
	    " AND respond_by_us <= ?9))"
	    " AND (?8 = 0 OR (" CLOCK_ACK_RUNS " AND ack_by_us > ?9 AND ack_by_us <= ?8) OR ("
	    CLOCK_RESPOND_RUNS " AND respond_by_us > ?9 AND respond_by_us <= ?8))"
	    " ORDER BY id DESC LIMIT ?6",
	[CR_GET] = "SELECT " CASE_COLS " FROM cases WHERE request_id = ?1 AND requester = ?2",
	[CR_GET_ANY] = "SELECT " CASE_COLS " FROM cases WHERE request_id = ?1 ORDER BY id LIMIT 1",
	[CR_GET_BY_DOC] = "SELECT " CASE_COLS " FROM cases WHERE (request_id, requester) IN"
	    " (SELECT request_id, requester FROM case_docs WHERE msg_id = ?1) ORDER BY id LIMIT 1",
	[CR_BETWEEN] = "SELECT " CASE_COLS " FROM cases WHERE " CASE_BETWEEN,
	[CR_DOCS] = "SELECT id, dir, sender, msg_id, status, side, sequence, applied, note, ts_us"
	    " FROM case_docs WHERE request_id = ?1 AND requester = ?2 ORDER BY id",
	[CR_STATS] = "SELECT dir, state, count(*) FROM cases GROUP BY dir, state ORDER BY dir, state",
	[CR_LAST_SEQ] = "SELECT coalesce(max(sequence), 0) FROM case_docs WHERE request_id = ?1"
	    " AND requester = ?2 AND sender = ?3",
};

/* A waiting status document, read before any is applied. */
struct waiting {
	int64_t id;
	char sender[AUTHORITY_ID_MAX + 1];
	char msg_id[UUID_TEXT_LEN + 1];
	int kind;
	int status;
	uint64_t sequence;
	char estimate[11];
};

sqlite3_stmt *
storecase_rstmt(struct store *s, int id)
{
	return store_stmt_get(s->r, s->crst, cr_sql, id);
}

static sqlite3_stmt *
cw(struct store *s, int id)
{
	return store_stmt_get(s->w, s->cwst, cw_sql, id);
}

static enum store_result
fail(struct store *s, struct store_op *op, sqlite3_stmt *st, int rc)
{
	err_set(op->error, sizeof(op->error), "database %s: %s", s->path, sqlite3_errmsg(s->w));
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return (rc & 0xff) == SQLITE_FULL ? STORE_R_FULL : STORE_R_ERROR;
}

/* Steps a bound statement without rows to its end. */
static enum store_result
run(struct store *s, struct store_op *op, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return fail(s, op, st, rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return STORE_R_OK;
}

static void
text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* One row of CASE_COLS (both connections read the same columns). */
void
storecase_from_row(sqlite3_stmt *st, struct store_case *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	store_col_text(st, 1, c->request_id, sizeof(c->request_id));
	store_col_text(st, 2, c->requester, sizeof(c->requester));
	store_col_text(st, 3, c->requested, sizeof(c->requested));
	c->dir = sqlite3_column_int(st, 4) == STORE_IN ? STORE_IN : STORE_OUT;
	c->kind = sqlite3_column_int(st, 5);
	c->urgent = sqlite3_column_int(st, 6) != 0;
	store_col_text(st, 7, c->state, sizeof(c->state));
	c->consulted = sqlite3_column_int(st, 8) != 0;
	store_col_text(st, 9, c->requester_ref, sizeof(c->requester_ref));
	store_col_text(st, 10, c->requested_ref, sizeof(c->requested_ref));
	store_col_text(st, 11, c->respond_by, sizeof(c->respond_by));
	c->opened_us = sqlite3_column_int64(st, 12);
	c->updated_us = sqlite3_column_int64(st, 13);
	c->received_us = sqlite3_column_int64(st, 14);
	c->ack_by_us = sqlite3_column_int64(st, 15);
	c->respond_base_us = sqlite3_column_int64(st, 16);
	c->respond_by_us = sqlite3_column_int64(st, 17);
}

/* 1 found (c filled), 0 none, -1 failed (op->error). */
static int
find_case(struct store *s, struct store_op *op, int id, const char *a, const char *b,
    const char *c3, struct store_case *c, enum store_result *r)
{
	sqlite3_stmt *st = cw(s, id);
	if (st == NULL) {
		*r = fail(s, op, NULL, sqlite3_errcode(s->w));
		return -1;
	}
	text(st, 1, a);
	text(st, 2, b);
	if (c3 != NULL)
		text(st, 3, c3);
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		storecase_from_row(st, c);
		found = 1;
	} else if (rc != SQLITE_DONE) {
		*r = fail(s, op, st, rc);
		return -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return found;
}

/* 1 when sender already used sequence in the case (request_id, requester). */
static int
sequence_used(struct store *s, struct store_op *op, const char *request_id,
    const char *requester, enum store_result *r)
{
	sqlite3_stmt *st = cw(s, CW_SEQ_USED);
	if (st == NULL) {
		*r = fail(s, op, NULL, sqlite3_errcode(s->w));
		return -1;
	}
	text(st, 1, request_id);
	text(st, 2, requester);
	text(st, 3, op->msg.sender);
	sqlite3_bind_int64(st, 4, (int64_t)op->msg.cd.sequence);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*r = fail(s, op, st, rc);
		return -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW;
}

static enum store_result
illegal(struct store_op *op, const char *fmt, const char *a, const char *b)
{
	snprintf(op->error, sizeof(op->error), fmt, a, b);
	return STORE_R_ILLEGAL;
}

enum store_result
storecase_check(struct store *s, struct store_op *op, struct storecase_plan *plan)
{
	const struct store_msg *m = &op->msg;
	enum store_result r = STORE_R_OK;
	memset(plan, 0, sizeof(*plan));
	struct store_case *c = &plan->c;
	if (m->cd.doc_type == 1) {
		/* One case per request id between two authorities: a peer's request that reuses
		 * the id of one of ours would make every status about either ambiguous. */
		int clash = find_case(s, op, CW_FIND, m->msg_id, m->sender, m->recipient, c, &r);
		if (clash < 0)
			return r;
		if (clash)
			return illegal(op, "request id %s already names a case between %s and the "
			    "other authority", m->msg_id, m->sender);
		plan->what = STORECASE_OPEN;
		return STORE_R_OK;
	}
	if (m->cd.doc_type != 2)
		return STORE_R_OK;
	int found = find_case(s, op, CW_FIND, m->cd.in_reply_to, m->sender, m->recipient, c, &r);
	if (found < 0)
		return r;
	char seq[24];
	snprintf(seq, sizeof(seq), "%" PRIu64, m->cd.sequence);
	int used = sequence_used(s, op, m->cd.in_reply_to, found ? c->requester : m->sender, &r);
	if (used < 0)
		return r;
	if (used)
		return illegal(op, "sequence %s from %s is already in this case", seq, m->sender);
	if (!found) {
		if (m->dir == STORE_OUT)
			return illegal(op, "no case of request %s with %s", m->cd.in_reply_to,
			    m->recipient);
		plan->what = STORECASE_WAIT;
		return STORE_R_OK;
	}
	if (c->kind != m->kind)
		return illegal(op, "a %s document about a %s request", wire_kind_name(m->kind),
		    wire_kind_name(c->kind));
	enum case_state from, to;
	enum case_side side = strcmp(m->sender, c->requester) == 0 ? CASE_REQUESTING
	                                                          : CASE_REQUESTED;
	if (case_state_parse(c->state, &from) != 0)
		return illegal(op, "the case is in an unknown state %s%s", c->state, "");
	if (!case_next(from, c->consulted, (Rogatory__V1__Status)m->cd.status, side, &to,
	        op->error, sizeof(op->error)))
		return STORE_R_ILLEGAL;
	plan->what = STORECASE_MOVE;
	plan->to = (int)to;
	plan->side = (int)side;
	return STORE_R_OK;
}

/* A new event in op->more, after the op's own. NULL when out of memory. */
static struct store_event *
more_event(struct store_op *op, const char *name, const struct store_case *c,
    const char *state)
{
	struct store_event *grown = realloc(op->more, (op->n_more + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	op->more = grown;
	struct store_event *e = &op->more[op->n_more++];
	memset(e, 0, sizeof(*e));
	snprintf(e->event, sizeof(e->event), "%s", name);
	snprintf(e->msg_id, sizeof(e->msg_id), "%s", c->request_id);
	snprintf(e->peer, sizeof(e->peer), "%s", c->dir == STORE_OUT ? c->requested : c->requester);
	e->dir = c->dir;
	snprintf(e->state, sizeof(e->state), "%s", state);
	/* The operator whose request moved the case, as on the op's own event. */
	e->has_actor = op->event.has_actor;
	e->actor_uid = op->event.actor_uid;
	snprintf(e->actor_user, sizeof(e->actor_user), "%s", op->event.actor_user);
	return e;
}

/* Writes e (the last of op->more) as a row of events, with its audit leaf (storeop.c). */
static enum store_result
write_more(struct store *s, struct store_op *op, int64_t now)
{
	return store_event_write(s, op, &op->more[op->n_more - 1], now);
}

/* An event about case c: name, the state it is in, the reason; written at once. */
static enum store_result
case_event(struct store *s, struct store_op *op, const char *name, const struct store_case *c,
    int64_t now, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static enum store_result
case_event(struct store *s, struct store_op *op, const char *name, const struct store_case *c,
    int64_t now, const char *fmt, ...)
{
	struct store_event *e = more_event(op, name, c, c->state);
	if (e == NULL) {
		snprintf(op->error, sizeof(op->error), "out of memory recording a case event");
		return STORE_R_ERROR;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
	return write_more(s, op, now);
}

static enum store_result
update_case(struct store *s, struct store_op *op, const struct store_case *c, int64_t now)
{
	sqlite3_stmt *st = cw(s, CW_UPDATE);
	if (st == NULL)
		return fail(s, op, NULL, sqlite3_errcode(s->w));
	sqlite3_bind_int64(st, 1, c->id);
	text(st, 2, c->state);
	sqlite3_bind_int(st, 3, c->consulted ? 1 : 0);
	text(st, 4, c->requested_ref);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, c->respond_by_us);
	return run(s, op, st);
}

/* The row of op's status document in case_docs. */
static enum store_result
insert_doc(struct store *s, struct store_op *op, const char *requester, const char *side,
    const char *applied, const char *note, int64_t now)
{
	const struct store_msg *m = &op->msg;
	sqlite3_stmt *st = cw(s, CW_DOC_INSERT);
	if (st == NULL)
		return fail(s, op, NULL, sqlite3_errcode(s->w));
	text(st, 1, m->cd.in_reply_to);
	text(st, 2, requester);
	sqlite3_bind_int(st, 3, (int)m->dir);
	text(st, 4, m->sender);
	text(st, 5, m->msg_id);
	sqlite3_bind_int(st, 6, m->kind);
	sqlite3_bind_int(st, 7, m->cd.status);
	text(st, 8, side);
	sqlite3_bind_int64(st, 9, (int64_t)m->cd.sequence);
	text(st, 10, m->cd.reference);
	text(st, 11, applied);
	text(st, 12, note);
	sqlite3_bind_int64(st, 13, now);
	text(st, 14, m->cd.estimate);
	text(st, 15, m->cd.tally);
	return run(s, op, st);
}

static enum store_result
set_doc(struct store *s, struct store_op *op, int64_t id, const char *applied, const char *note)
{
	sqlite3_stmt *st = cw(s, CW_DOC_SET);
	if (st == NULL)
		return fail(s, op, NULL, sqlite3_errcode(s->w));
	sqlite3_bind_int64(st, 1, id);
	text(st, 2, applied);
	text(st, 3, note);
	return run(s, op, st);
}

/* Moves c by status from side; false with why when the table refuses it. A postponement
 * with an estimate (YYYY-MM-DD) makes the estimate's day respond-by. */
static bool
step(struct store_case *c, int status, enum case_side side, const char *reference,
    const char *estimate, char *why, size_t whylen)
{
	enum case_state from, to;
	if (case_state_parse(c->state, &from) != 0) {
		snprintf(why, whylen, "the case is in an unknown state %s", c->state);
		return false;
	}
	if (!case_next(from, c->consulted, (Rogatory__V1__Status)status, side, &to, why, whylen))
		return false;
	snprintf(c->state, sizeof(c->state), "%s", case_state_name(to));
	c->consulted |= status == ROGATORY__V1__STATUS__STATUS_CONSULTATION;
	if (side == CASE_REQUESTED && reference[0] != '\0')
		snprintf(c->requested_ref, sizeof(c->requested_ref), "%s", reference);
	int64_t due;
	if (status == ROGATORY__V1__STATUS__STATUS_POSTPONED && clocks_date_end_us(estimate, &due) == 0)
		c->respond_by_us = due;
	return true;
}

/* The status documents that waited for this request (read first, then applied in
 * sequence order): each is applied, or void when the table refuses it by then. */
static enum store_result
apply_waiting(struct store *s, struct store_op *op, struct store_case *c, int64_t now)
{
	sqlite3_stmt *st = cw(s, CW_WAITING);
	if (st == NULL)
		return fail(s, op, NULL, sqlite3_errcode(s->w));
	text(st, 1, c->request_id);
	text(st, 2, c->requester);
	struct waiting *w = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct waiting *grown = realloc(w, (n + 1) * sizeof(*w));
		if (grown == NULL) {
			free(w);
			snprintf(op->error, sizeof(op->error), "out of memory applying waiting statuses");
			sqlite3_reset(st);
			return STORE_R_ERROR;
		}
		w = grown;
		w[n].id = sqlite3_column_int64(st, 0);
		store_col_text(st, 1, w[n].sender, sizeof(w[n].sender));
		store_col_text(st, 2, w[n].msg_id, sizeof(w[n].msg_id));
		w[n].kind = sqlite3_column_int(st, 3);
		w[n].status = sqlite3_column_int(st, 4);
		w[n].sequence = (uint64_t)sqlite3_column_int64(st, 5);
		store_col_text(st, 6, w[n].estimate, sizeof(w[n].estimate));
		n++;
	}
	if (rc != SQLITE_DONE) {
		free(w);
		return fail(s, op, st, rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	enum store_result r = STORE_R_OK;
	for (size_t i = 0; i < n && r == STORE_R_OK; i++) {
		char why[200] = "";
		const char *name = wire_status_name((Rogatory__V1__Status)w[i].status);
		bool ok = w[i].kind == c->kind;
		if (!ok)
			snprintf(why, sizeof(why), "a %s document about a %s request",
			    wire_kind_name(w[i].kind), wire_kind_name(c->kind));
		else
			ok = step(c, w[i].status, CASE_REQUESTING, "", w[i].estimate, why, sizeof(why));
		r = set_doc(s, op, w[i].id, ok ? "applied" : "void", ok ? "applied when its "
		    "request arrived" : why);
		if (r == STORE_R_OK)
			r = ok ? case_event(s, op, "case-status", c, now, "%s from %s, sequence %" PRIu64
			         ", document %s: applied now that its request is in", name, w[i].sender,
			         w[i].sequence, w[i].msg_id)
			       : case_event(s, op, "case-status-void", c, now, "%s from %s, sequence %"
			         PRIu64 ", document %s, waited and is not applied: %s", name, w[i].sender,
			         w[i].sequence, w[i].msg_id, why);
	}
	free(w);
	return r == STORE_R_OK ? update_case(s, op, c, now) : r;
}

/* A request: its case opens (requested), then what waited for it is applied. */
static enum store_result
open_case(struct store *s, struct store_op *op, int64_t now)
{
	const struct store_msg *m = &op->msg;
	struct store_case c = {.dir = m->dir, .kind = m->kind, .urgent = m->urgent};
	snprintf(c.request_id, sizeof(c.request_id), "%s", m->msg_id);
	snprintf(c.requester, sizeof(c.requester), "%s", m->sender);
	snprintf(c.requested, sizeof(c.requested), "%s", m->recipient);
	snprintf(c.state, sizeof(c.state), "%s", case_state_name(CASE_S_REQUESTED));
	snprintf(c.requester_ref, sizeof(c.requester_ref), "%s", m->cd.reference);
	/* Its clocks: from our receipt's time when it is theirs (created_us is the received_ms
	 * we signed); ours start when their receipt is in (storecase_outbound_delivered), but
	 * a date the requester gave is known now. */
	if (m->dir == STORE_IN)
		c.received_us = m->created_us > 0 ? m->created_us : now;
	c.ack_by_us = clocks_after(c.received_us, m->cd.ack_within_ms);
	c.respond_base_us = clocks_respond_by(m->cd.respond_by, c.received_us,
	    c.kind > 0 && c.kind < STORE_KINDS ? m->cd.respond_within_ms[c.kind] : 0);
	c.respond_by_us = c.respond_base_us;
	sqlite3_stmt *st = cw(s, CW_INSERT);
	if (st == NULL)
		return fail(s, op, NULL, sqlite3_errcode(s->w));
	text(st, 1, c.request_id);
	text(st, 2, c.requester);
	text(st, 3, c.requested);
	sqlite3_bind_int(st, 4, (int)c.dir);
	sqlite3_bind_int(st, 5, c.kind);
	sqlite3_bind_int(st, 6, c.urgent ? 1 : 0);
	text(st, 7, c.requester_ref);
	text(st, 8, m->cd.respond_by);
	sqlite3_bind_int64(st, 9, now);
	sqlite3_bind_int64(st, 10, c.received_us);
	sqlite3_bind_int64(st, 11, c.ack_by_us);
	sqlite3_bind_int64(st, 12, c.respond_base_us);
	text(st, 13, m->cd.tally);
	enum store_result r = run(s, op, st);
	if (r != STORE_R_OK)
		return r;
	c.id = sqlite3_last_insert_rowid(s->w);
	/* Metadata only (events.h): the kind, never the reference or any other element. */
	r = case_event(s, op, "case-opened", &c, now, "%s request%s", wire_kind_name(c.kind),
	    c.urgent ? ", urgent" : "");
	return r == STORE_R_OK && m->dir == STORE_IN ? apply_waiting(s, op, &c, now) : r;
}

enum store_result
storecase_apply(struct store *s, struct store_op *op, const struct storecase_plan *plan,
    int64_t now)
{
	const struct store_msg *m = &op->msg;
	const char *name = wire_status_name((Rogatory__V1__Status)m->cd.status);
	if (plan->what == STORECASE_OPEN)
		return open_case(s, op, now);
	if (plan->what == STORECASE_WAIT) {
		struct store_case c = {.dir = STORE_IN};
		snprintf(c.request_id, sizeof(c.request_id), "%s", m->cd.in_reply_to);
		snprintf(c.requester, sizeof(c.requester), "%s", m->sender);
		enum store_result r = insert_doc(s, op, m->sender, "requesting", "waiting",
		    "its request is not in yet", now);
		return r != STORE_R_OK ? r : case_event(s, op, "case-status-waiting", &c, now,
		    "%s from %s, sequence %" PRIu64 ", document %s: waits for its request", name,
		    m->sender, m->cd.sequence, m->msg_id);
	}
	if (plan->what != STORECASE_MOVE)
		return STORE_R_OK;
	struct store_case c = plan->c;
	char why[200];
	if (!step(&c, m->cd.status, (enum case_side)plan->side, m->cd.reference, m->cd.estimate,
	        why, sizeof(why)))
		return illegal(op, "%s%s", why, "");   /* checked before: cannot happen */
	enum store_result r = insert_doc(s, op, c.requester, case_side_name(
	    (enum case_side)plan->side), "applied", "", now);
	if (r == STORE_R_OK)
		r = update_case(s, op, &c, now);
	if (r == STORE_R_OK)
		r = case_event(s, op, "case-status", &c, now, "%s from %s (%s side), sequence %" PRIu64
		    ", document %s", name, m->sender, case_side_name((enum case_side)plan->side),
		    m->cd.sequence, m->msg_id);
	return r;
}

/* The case folded again from the documents that still count, from "requested". */
static enum store_result
refold(struct store *s, struct store_op *op, struct store_case *c)
{
	sqlite3_stmt *st = cw(s, CW_APPLIED);
	if (st == NULL)
		return fail(s, op, NULL, sqlite3_errcode(s->w));
	text(st, 1, c->request_id);
	text(st, 2, c->requester);
	snprintf(c->state, sizeof(c->state), "%s", case_state_name(CASE_S_REQUESTED));
	c->consulted = false;
	c->requested_ref[0] = '\0';
	c->respond_by_us = c->respond_base_us;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char side[16], ref[STORE_REF_MAX + 1], why[200], estimate[11];
		store_col_text(st, 1, side, sizeof(side));
		store_col_text(st, 2, ref, sizeof(ref));
		store_col_text(st, 3, estimate, sizeof(estimate));
		/* Each was legal when applied; one that no longer is stays out of the fold. */
		step(c, sqlite3_column_int(st, 0), strcmp(side, "requested") == 0 ? CASE_REQUESTED
		    : CASE_REQUESTING, ref, estimate, why, sizeof(why));
	}
	if (rc != SQLITE_DONE)
		return fail(s, op, st, rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return STORE_R_OK;
}

enum store_result
storecase_outbound_final(struct store *s, struct store_op *op, int64_t now)
{
	const struct store_msg *m = &op->msg;
	const char *what = store_state_name(m->state);
	sqlite3_stmt *st = cw(s, CW_DOC_OF_MSG);
	if (st == NULL)
		return fail(s, op, NULL, sqlite3_errcode(s->w));
	sqlite3_bind_int(st, 1, STORE_OUT);
	text(st, 2, m->sender);
	text(st, 3, m->msg_id);
	int rc = sqlite3_step(st);
	enum store_result r = STORE_R_OK;
	struct store_case c;
	if (rc == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		char request_id[UUID_TEXT_LEN + 1], requester[AUTHORITY_ID_MAX + 1], applied[16];
		store_col_text(st, 1, request_id, sizeof(request_id));
		store_col_text(st, 2, requester, sizeof(requester));
		int status = sqlite3_column_int(st, 3);
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 4);
		store_col_text(st, 5, applied, sizeof(applied));
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (strcmp(applied, "applied") != 0)
			return STORE_R_OK;
		char note[256];
		snprintf(note, sizeof(note), "%s%s%.200s", what, m->last_error[0] ? ": " : "",
		    m->last_error);
		int found = find_case(s, op, CW_FIND_REQ, request_id, requester, NULL, &c, &r);
		if (found <= 0)
			return found < 0 ? r : STORE_R_OK;
		if ((r = set_doc(s, op, id, "void", note)) != STORE_R_OK ||
		    (r = refold(s, op, &c)) != STORE_R_OK || (r = update_case(s, op, &c, now))
		    != STORE_R_OK)
			return r;
		return case_event(s, op, "case-status-void", &c, now, "%s, sequence %" PRIu64
		    ", document %s, %s: it no longer counts", wire_status_name(
		    (Rogatory__V1__Status)status), seq, m->msg_id, note);
	}
	if (rc != SQLITE_DONE)
		return fail(s, op, st, rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	/* Not a status: perhaps a request, whose case is then void. */
	int found = find_case(s, op, CW_FIND_REQ, m->msg_id, m->sender, NULL, &c, &r);
	if (found <= 0 || strcmp(c.state, case_state_name(CASE_S_VOID)) == 0)
		return found < 0 ? r : STORE_R_OK;
	snprintf(c.state, sizeof(c.state), "%s", case_state_name(CASE_S_VOID));
	if ((r = update_case(s, op, &c, now)) != STORE_R_OK)
		return r;
	return case_event(s, op, "case-void", &c, now, "the request was %s%s%s%s: it never "
	    "reached %s", what, m->last_error[0] ? " (" : "", m->last_error,
	    m->last_error[0] ? ")" : "", c.requested);
}

enum store_result
storecase_outbound_delivered(struct store *s, struct store_op *op, int64_t now)
{
	const struct store_msg *m = &op->msg;
	struct store_case c;
	enum store_result r = STORE_R_OK;
	int found = find_case(s, op, CW_FIND_REQ, m->msg_id, m->sender, NULL, &c, &r);
	/* Not a request, or its clocks already started (a second receipt changes nothing). */
	if (found <= 0 || c.received_us > 0)
		return found < 0 ? r : STORE_R_OK;
	c.received_us = m->cd.received_ms * 1000;
	/* The receiver's signed time, unless it cannot be true: before we opened the case or
	 * later than now (5 minutes of clock difference allowed). A peer's wrong or hostile
	 * clock then moves no deadline of ours into the past or out of sight. */
	const int64_t skew_us = 300 * INT64_C(1000000);
	if (c.received_us < c.opened_us || c.received_us > now + skew_us) {
		int64_t to = c.received_us < c.opened_us ? c.opened_us : now;
		log_warn("case %s: %s's receipt says it received the request at %lld ms, %s; its "
		    "clocks count from %lld ms instead", c.request_id, c.requested,
		    (long long)m->cd.received_ms, c.received_us < c.opened_us ? "before we opened "
		    "the case" : "later than now", (long long)(to / 1000));
		c.received_us = to;
	}
	c.ack_by_us = clocks_after(c.received_us, m->cd.ack_within_ms);
	int64_t base = clocks_respond_by(c.respond_by, c.received_us,
	    c.kind > 0 && c.kind < STORE_KINDS ? m->cd.respond_within_ms[c.kind] : 0);
	/* A postponement applied before the receipt came back keeps its estimate. */
	if (c.respond_by_us == c.respond_base_us)
		c.respond_by_us = base;
	c.respond_base_us = base;
	sqlite3_stmt *st = cw(s, CW_CLOCKS);
	if (st == NULL)
		return fail(s, op, NULL, sqlite3_errcode(s->w));
	sqlite3_bind_int64(st, 1, c.id);
	sqlite3_bind_int64(st, 2, c.received_us);
	sqlite3_bind_int64(st, 3, c.ack_by_us);
	sqlite3_bind_int64(st, 4, c.respond_base_us);
	sqlite3_bind_int64(st, 5, c.respond_by_us);
	return run(s, op, st);
}

/* A case the deadline scan found, with the deadline each of its events was recorded for
 * (the columns: the deadline in force only; case_marks holds every one). */
struct due_case {
	struct store_case c;
	int64_t soon_for[2], over_for[2];
	bool moved;                 /* a column mark changed */
};

/* Whether event was recorded for deadline due of clock w of case id (case_marks). 1 yes,
 * 0 no, -1 store error (*r says which; op->error why). */
static int
marked(struct store *s, struct store_op *op, int64_t id, int w, int64_t due, const char *event,
    enum store_result *r)
{
	sqlite3_stmt *st = cw(s, CW_MARKED);
	if (st == NULL) {
		*r = fail(s, op, NULL, sqlite3_errcode(s->w));
		return -1;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, w);
	sqlite3_bind_int64(st, 3, due);
	text(st, 4, event);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*r = fail(s, op, st, rc);
		return -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? 1 : 0;
}

/*
 * The event clock w of d needs at now (NULL: none), its mark set in d. An event the
 * history says was recorded for this very deadline (a respond-by gone back to an earlier
 * one) is marked and never recorded again. *r: a store error.
 */
static const char *
due_event(struct store *s, struct store_op *op, struct due_case *d, enum clocks_which w,
    int64_t now, uint64_t warn_ms, enum store_result *r)
{
	int64_t due = w == CLOCKS_ACK ? d->c.ack_by_us : d->c.respond_by_us;
	enum case_state st;
	bool runs = case_state_parse(d->c.state, &st) == 0 && (w == CLOCKS_ACK
	    ? st == CASE_S_REQUESTED : !case_state_final(st));
	if (!runs || due <= 0 || d->over_for[w] == due)
		return NULL;
	enum clocks_state cs = clocks_state_at(due, false, now, warn_ms);
	/* Never missed: a due-soon that was not recorded in its window (the daemon was down
	 * through it, or the clock jumped over it) comes first, then the overdue. With
	 * warn_before 0 there is no window and no due-soon. */
	if (warn_ms > 0 && (cs == CLOCKS_DUE_SOON || cs == CLOCKS_OVERDUE) &&
	    d->soon_for[w] != due) {
		d->soon_for[w] = due;
		d->moved = true;
		int m = marked(s, op, d->c.id, (int)w, due, "due-soon", r);
		if (m < 0)
			return NULL;        /* *r: the op fails whole, marks and all */
		if (m == 0)
			return "due-soon";
	}
	if (cs == CLOCKS_OVERDUE) {
		d->over_for[w] = due;
		d->moved = true;
		int m = marked(s, op, d->c.id, (int)w, due, "overdue", r);
		return m == 0 ? "overdue" : NULL;
	}
	return NULL;
}

enum store_result
storecase_deadlines(struct store *s, struct store_op *op, int64_t now)
{
	int limit = op->due.limit > 0 ? op->due.limit : 1;
	sqlite3_stmt *st = cw(s, CW_DUE);
	if (st == NULL)
		return fail(s, op, NULL, sqlite3_errcode(s->w));
	struct due_case *v = calloc((size_t)limit, sizeof(*v));
	if (v == NULL) {
		snprintf(op->error, sizeof(op->error), "out of memory scanning the deadlines");
		return STORE_R_ERROR;
	}
	sqlite3_bind_int64(st, 1, op->due.now_us);
	sqlite3_bind_int64(st, 2, (int64_t)op->due.warn_before_ms * 1000);
	sqlite3_bind_int(st, 3, limit);
	int n = 0, rc = SQLITE_DONE;
	while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		storecase_from_row(st, &v[n].c);
		v[n].soon_for[CLOCKS_ACK] = sqlite3_column_int64(st, 18);
		v[n].over_for[CLOCKS_ACK] = sqlite3_column_int64(st, 19);
		v[n].soon_for[CLOCKS_RESPOND] = sqlite3_column_int64(st, 20);
		v[n].over_for[CLOCKS_RESPOND] = sqlite3_column_int64(st, 21);
		n++;
	}
	if (n < limit && rc != SQLITE_DONE) {
		free(v);
		return fail(s, op, st, rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	enum store_result r = STORE_R_OK;
	op->due.cases = 0;
	op->due.more = n == limit;
	for (int i = 0; i < n && r == STORE_R_OK; i++) {
		struct due_case *d = &v[i];
		bool any = false;
		for (int w = CLOCKS_ACK; w <= CLOCKS_RESPOND && r == STORE_R_OK; w++) {
			const char *ev;
			int64_t due = w == CLOCKS_ACK ? d->c.ack_by_us : d->c.respond_by_us;
			while (r == STORE_R_OK && (ev = due_event(s, op, d, (enum clocks_which)w,
			    op->due.now_us, op->due.warn_before_ms, &r)) != NULL) {
				char at[32];
				clocks_format(due, at, sizeof(at));
				any = true;
				r = case_event(s, op, ev, &d->c, now, "%s %s %s", clocks_name(
				    (enum clocks_which)w), at, strcmp(ev, "overdue") == 0 ? "has passed"
				    : due <= op->due.now_us ? "was near (recorded late: nothing watched "
				    "in its window)" : "is near");
				if (r != STORE_R_OK)
					break;
				if ((st = cw(s, CW_MARK_ADD)) == NULL) {
					r = fail(s, op, NULL, sqlite3_errcode(s->w));
					break;
				}
				sqlite3_bind_int64(st, 1, d->c.id);
				sqlite3_bind_int(st, 2, w);
				sqlite3_bind_int64(st, 3, due);
				text(st, 4, ev);
				r = run(s, op, st);
			}
		}
		if (r != STORE_R_OK || !d->moved)
			continue;
		if (any)
			op->due.cases++;
		if ((st = cw(s, CW_MARK)) == NULL) {
			r = fail(s, op, NULL, sqlite3_errcode(s->w));
			break;
		}
		sqlite3_bind_int64(st, 1, d->c.id);
		sqlite3_bind_int64(st, 2, d->soon_for[CLOCKS_ACK]);
		sqlite3_bind_int64(st, 3, d->over_for[CLOCKS_ACK]);
		sqlite3_bind_int64(st, 4, d->soon_for[CLOCKS_RESPOND]);
		sqlite3_bind_int64(st, 5, d->over_for[CLOCKS_RESPOND]);
		r = run(s, op, st);
	}
	free(v);
	return r;
}

void
store_op_more_clear(struct store_op *op)
{
	free(op->more);
	op->more = NULL;
	op->n_more = 0;
}
