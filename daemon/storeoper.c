/*
 * storeoper: what the operators' tools need from the store: the paused authorities and
 * the active alerts (ops STORE_OP_PAUSE and STORE_OP_ALERT, on the store thread), and
 * the filtered listings, event history and queue statistics (reads, on the loop thread
 * through the read-only connection). Like storeop.c and storeread.c it holds no SQL text
 * (the statements are store.c's, used here by id) and must never write from a read.
 *
 * Error policy: an op that fails returns STORE_R_FULL or STORE_R_ERROR with SQLite's
 * message (storeop.c rolls it back); a read that fails is logged and returns -1.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "storedb.h"

static enum store_result w_run(struct store *s, struct store_op *op, sqlite3_stmt *st);
static int64_t seq_bound(struct store *s, int id, int64_t ts_us, int64_t none);
static const char *or_empty(const char *s);

/* Steps a bound writer statement; its changes() tell whether anything was written. */
static enum store_result
w_run(struct store *s, struct store_op *op, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	enum store_result r = STORE_R_OK;
	if (rc != SQLITE_DONE) {
		err_set(op->error, sizeof(op->error), "database %s: %s", s->path,
		    sqlite3_errmsg(s->w));
		r = (rc & 0xff) == SQLITE_FULL ? STORE_R_FULL : STORE_R_ERROR;
	} else if (sqlite3_changes(s->w) == 0) {
		r = STORE_R_STALE;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static enum store_result
w_prepare_fail(struct store *s, struct store_op *op)
{
	err_set(op->error, sizeof(op->error), "database %s: %s", s->path, sqlite3_errmsg(s->w));
	return (sqlite3_errcode(s->w) & 0xff) == SQLITE_FULL ? STORE_R_FULL : STORE_R_ERROR;
}

enum store_result
store_op_pause(struct store *s, struct store_op *op, int64_t now)
{
	struct store_event *e = &op->event;
	sqlite3_stmt *st = store_wstmt(s, op->on ? W_PAUSE : W_RESUME);
	if (st == NULL)
		return w_prepare_fail(s, op);
	sqlite3_bind_text(st, 1, e->peer, -1, SQLITE_STATIC);
	if (op->on)
		sqlite3_bind_int64(st, 2, now);
	enum store_result r = w_run(s, op, st);
	if (r != STORE_R_OK)
		return r;
	op->has_event = true;
	snprintf(e->event, sizeof(e->event), "%s", op->on ? "peer-paused" : "peer-resumed");
	e->dir = STORE_OUT;
	return store_write_event(s, op, now);
}

enum store_result
store_op_alert(struct store *s, struct store_op *op, int64_t now)
{
	struct store_event *e = &op->event;
	sqlite3_stmt *st = store_wstmt(s, op->on ? W_ALERT_FIRE : W_ALERT_CLEAR);
	if (st == NULL)
		return w_prepare_fail(s, op);
	sqlite3_bind_text(st, 1, e->alert, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->peer, -1, SQLITE_STATIC);
	if (op->on) {
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_text(st, 4, e->reason, -1, SQLITE_STATIC);
	}
	enum store_result r = w_run(s, op, st);
	if (r != STORE_R_OK)
		return r;
	op->has_event = true;
	snprintf(e->event, sizeof(e->event), "%s", op->on ? "alert" : "alert-cleared");
	e->dir = STORE_OUT;
	return store_write_event(s, op, now);
}

/* ---- reads ---- */

static const char *
or_empty(const char *s)
{
	return s != NULL ? s : "";
}

int
store_list_filter(struct store *s, const struct store_filter *f, int64_t before_rowid,
    struct store_msg *out, int max)
{
	sqlite3_stmt *st = store_r_stmt(s, R_LIST_FILTER);
	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, f->dir == STORE_DIR_ANY ? STORE_OUT : (int)f->dir);
	sqlite3_bind_int(st, 2, f->dir == STORE_DIR_ANY ? STORE_IN : (int)f->dir);
	sqlite3_bind_int64(st, 3, before_rowid > 0 ? before_rowid : INT64_MAX);
	sqlite3_bind_int(st, 4, f->only_open ? 1 : 0);
	sqlite3_bind_text(st, 5, or_empty(f->peer), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, f->state >= 0 && f->state < STORE_STATE_COUNT
	    ? store_state_name((enum store_state)f->state) : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, f->created_before_us);
	sqlite3_bind_int(st, 8, f->unfetched ? 1 : 0);
	sqlite3_bind_int(st, 9, max);
	return store_read_msgs(s, st, out, max);
}

int
store_messages_page(struct store *s, enum store_dir dir, const char *peer, const char *state,
    const char *id_prefix, int64_t before_rowid, struct store_msg *out, int max)
{
	bool any = (peer == NULL || peer[0] == '\0') && (state == NULL || state[0] == '\0') &&
	    (id_prefix == NULL || id_prefix[0] == '\0');
	int64_t before = before_rowid > 0 ? before_rowid : INT64_MAX;
	sqlite3_stmt *st;
	if (any && dir == STORE_DIR_ANY) {
		/* Every row matches: the newest through the rowid, nothing else read. */
		if ((st = store_r_stmt(s, R_MSG_NEWEST)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, before);
		sqlite3_bind_int(st, 2, max);
		return store_read_msgs(s, st, out, max);
	}
	bool by_state = state != NULL && state[0] != '\0';
	bool by_peer = peer != NULL && peer[0] != '\0';
	if ((st = store_r_stmt(s, R_MSG_PAGE + MSG_PAGE_K(dir, by_peer, by_state))) == NULL)
		return -1;
	char hi[UUID_TEXT_LEN + 2];
	snprintf(hi, sizeof(hi), "%s~", or_empty(id_prefix));
	sqlite3_bind_int64(st, 3, before);
	if (by_peer)
		sqlite3_bind_text(st, 4, peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, or_empty(id_prefix), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, hi, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 7, max);
	if (by_state)
		sqlite3_bind_text(st, 8, state, -1, SQLITE_STATIC);
	return store_read_msgs(s, st, out, max);
}

/* The seq a time bound stands for (R_SEQ_FROM / R_SEQ_UNTIL); none when no event is on
 * that side of it; -1 on error (logged). */
static int64_t
seq_bound(struct store *s, int id, int64_t ts_us, int64_t none)
{
	sqlite3_stmt *st = store_r_stmt(s, id);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, ts_us);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_r_fail(s, st);
	int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : none;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return v;
}

int
store_events_filter(struct store *s, const struct store_event_filter *f, int64_t after_seq,
    bool last, struct store_event *out, int max)
{
	int64_t lo = after_seq, hi = INT64_MAX;
	if (f->since_us > 0) {
		int64_t first = seq_bound(s, R_SEQ_FROM, f->since_us, INT64_MAX);
		if (first < 0)
			return -1;
		if (first == INT64_MAX)
			return 0;
		if (first - 1 > lo)
			lo = first - 1;
	}
	if (f->until_us > 0 && (hi = seq_bound(s, R_SEQ_UNTIL, f->until_us, 0)) <= 0)
		return (int)hi;     /* 0: nothing before it; -1: error */
	bool by_id = f->msg_id != NULL && f->msg_id[0] != '\0';
	int id = by_id ? (last ? R_EVENTS_ID_LAST : R_EVENTS_ID)
	               : (last ? R_EVENTS_LAST : R_EVENTS_FILTER);
	sqlite3_stmt *st = store_r_stmt(s, id);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	sqlite3_bind_text(st, 3, or_empty(f->peer), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, or_empty(f->event), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, max);
	if (by_id)
		sqlite3_bind_text(st, 6, f->msg_id, -1, SQLITE_STATIC);
	int n = store_read_events(s, st, out, max);
	if (n > 1 && last) {
		/* Newest first from the query; the caller gets them oldest first. */
		for (int i = 0, j = n - 1; i < j; i++, j--) {
			struct store_event t = out[i];
			out[i] = out[j];
			out[j] = t;
		}
	}
	return n;
}

bool
store_event_matches(const struct store_event_filter *f, const struct store_event *e)
{
	if (f->since_us > 0 && e->ts_us < f->since_us)
		return false;
	if (f->until_us > 0 && e->ts_us >= f->until_us)
		return false;
	if (f->peer != NULL && f->peer[0] != '\0' && strcmp(f->peer, e->peer) != 0)
		return false;
	if (f->msg_id != NULL && f->msg_id[0] != '\0' && strcmp(f->msg_id, e->msg_id) != 0)
		return false;
	return f->event == NULL || f->event[0] == '\0' || strcmp(f->event, e->event) == 0;
}

int
store_queue_stats(struct store *s, void (*fn)(void *arg, const char *peer,
    enum store_state state, int64_t count, int64_t oldest_created_us), void *arg)
{
	sqlite3_stmt *st = store_r_stmt(s, R_QUEUE_STATS);
	int rc;
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char peer[AUTHORITY_ID_MAX + 1], state[16];
		enum store_state ss;
		store_col_text(st, 0, peer, sizeof(peer));
		store_col_text(st, 1, state, sizeof(state));
		if (store_state_parse(state, &ss) != 0)
			continue;
		fn(arg, peer, ss, sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
	}
	if (rc != SQLITE_DONE)
		return store_r_fail(s, st);
	sqlite3_reset(st);
	return 0;
}

int
store_inbox_stats(struct store *s, void (*fn)(void *arg, const char *peer, int64_t count),
    void *arg)
{
	sqlite3_stmt *st = store_r_stmt(s, R_INBOX_STATS);
	int rc;
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char peer[AUTHORITY_ID_MAX + 1];
		store_col_text(st, 0, peer, sizeof(peer));
		fn(arg, peer, sqlite3_column_int64(st, 1));
	}
	if (rc != SQLITE_DONE)
		return store_r_fail(s, st);
	sqlite3_reset(st);
	return 0;
}

int64_t
store_size_bytes(struct store *s)
{
	sqlite3_stmt *st = store_r_stmt(s, R_PAGES);
	if (st == NULL)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_r_fail(s, st);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v + storeatt_bytes(s);   /* the attachment files count too */
}

int
store_paused_list(struct store *s, void (*fn)(void *arg, const char *peer, int64_t since_us),
    void *arg)
{
	sqlite3_stmt *st = store_r_stmt(s, R_PAUSED);
	int rc;
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char peer[AUTHORITY_ID_MAX + 1];
		store_col_text(st, 0, peer, sizeof(peer));
		fn(arg, peer, sqlite3_column_int64(st, 1));
	}
	if (rc != SQLITE_DONE)
		return store_r_fail(s, st);
	sqlite3_reset(st);
	return 0;
}

int
store_alerts_list(struct store *s, struct store_alert *out, int max)
{
	sqlite3_stmt *st = store_r_stmt(s, R_ALERTS);
	int n = 0, rc = SQLITE_DONE;
	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_alert *a = &out[n++];
		memset(a, 0, sizeof(*a));
		store_col_text(st, 0, a->name, sizeof(a->name));
		store_col_text(st, 1, a->subject, sizeof(a->subject));
		a->since_us = sqlite3_column_int64(st, 2);
		store_col_text(st, 3, a->detail, sizeof(a->detail));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_r_fail(s, st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return n;
}
