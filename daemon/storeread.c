/*
 * storeread: the store's reads, run synchronously on the loop thread through the
 * read-only connection (under WAL they never wait for the writer). It must never write,
 * never be called from the store thread, and holds no SQL text of its own (the
 * statements are store.c's, used here by id).
 *
 * Error policy: a failed read logs the database's message with log_warn and returns -1;
 * running out of memory while copying blobs counts as a failed read. Nothing is fatal:
 * the caller retries later or reports the error to the operator who asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "storedb.h"

static int64_t read_int(struct store *s, int id);
static int outbox_segment(struct store *s, const char *peer, int urgent, int64_t after,
    int64_t now, struct store_msg *out, int max);

sqlite3_stmt *
store_r_stmt(struct store *s, int id)
{
	sqlite3_stmt *st = store_rstmt(s, id);
	if (st == NULL)
		log_warn("database %s: cannot prepare a read: %s", s->path, sqlite3_errmsg(s->r));
	return st;
}

/* Logs the reader's error and resets st. -1. */
int
store_r_fail(struct store *s, sqlite3_stmt *st)
{
	log_warn("database %s: read failed: %s", s->path, sqlite3_errmsg(s->r));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return -1;
}

/* Steps a bound statement into out (at most max rows); the count, or -1 (out cleared). */
int
store_read_msgs(struct store *s, sqlite3_stmt *st, struct store_msg *out, int max)
{
	int n = 0, rc = SQLITE_DONE;
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (store_msg_from_row(st, &out[n]) != 0) {
			log_warn("database %s: out of memory reading message blobs", s->path);
			rc = SQLITE_NOMEM;
			break;
		}
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		for (int i = 0; i < n; i++)
			store_msg_clear(&out[i]);
		if (rc != SQLITE_NOMEM)
			return store_r_fail(s, st);
		n = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return n;
}

int
store_read_events(struct store *s, sqlite3_stmt *st, struct store_event *out, int max)
{
	int n = 0, rc = SQLITE_DONE;
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		store_event_from_row(st, &out[n++]);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_r_fail(s, st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return n;
}

/* One integer from a one-row query: 0 when there is no row, -1 on error (logged). */
static int64_t
read_int(struct store *s, int id)
{
	sqlite3_stmt *st = store_r_stmt(s, id);
	if (st == NULL)
		return -1;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_r_fail(s, st);
	int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return v;
}

/* One (peer, urgent) range of the outbox index, after rowid `after`. */
static int
outbox_segment(struct store *s, const char *peer, int urgent, int64_t after, int64_t now,
    struct store_msg *out, int max)
{
	sqlite3_stmt *st = store_r_stmt(s, R_OUTBOX);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, urgent);
	sqlite3_bind_int64(st, 3, after);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int(st, 5, max);
	return store_read_msgs(s, st, out, max);
}

/*
 * The order is (urgent first, then rowid) but the cursor is one rowid: the cursor row's
 * own urgent flag (which never changes) says where in that order the page resumes, so
 * each page is at most two index range scans, never a sort of the whole outbox.
 */
int
store_outbox_page(struct store *s, const char *peer, int64_t now_us, int64_t after_rowid,
    struct store_msg *out, int max)
{
	int urgent = 1, n = 0;
	if (max <= 0)
		return 0;
	if (after_rowid > 0) {
		sqlite3_stmt *st = store_r_stmt(s, R_URGENT);
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, after_rowid);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return store_r_fail(s, st);
		urgent = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
		sqlite3_reset(st);
	}
	if (urgent) {
		if ((n = outbox_segment(s, peer, 1, after_rowid, now_us, out, max)) < 0)
			return -1;
		after_rowid = 0;
	}
	if (n < max) {
		int k = outbox_segment(s, peer, 0, after_rowid, now_us, out + n, max - n);
		if (k < 0) {
			for (int i = 0; i < n; i++)
				store_msg_clear(&out[i]);
			return -1;
		}
		n += k;
	}
	return n;
}

int
store_outbox_peers(struct store *s,
    void (*fn)(void *arg, const char *peer, int64_t earliest_us), void *arg)
{
	sqlite3_stmt *st = store_r_stmt(s, R_PEERS);
	int rc;
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char peer[AUTHORITY_ID_MAX + 1];
		store_col_text(st, 0, peer, sizeof(peer));
		fn(arg, peer, sqlite3_column_type(st, 1) == SQLITE_NULL ? INT64_MAX :
		    sqlite3_column_int64(st, 1));
	}
	if (rc != SQLITE_DONE)
		return store_r_fail(s, st);
	sqlite3_reset(st);
	return 0;
}

int
store_list_state(struct store *s, enum store_state state, int64_t after_rowid,
    struct store_msg *out, int max)
{
	sqlite3_stmt *st = store_r_stmt(s, R_LIST_STATE);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, store_state_name(state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after_rowid);
	sqlite3_bind_int(st, 3, max);
	return store_read_msgs(s, st, out, max);
}

int
store_get(struct store *s, enum store_dir dir, const char *sender, const char *msg_id,
    struct store_msg *out)
{
	sqlite3_stmt *st = store_r_stmt(s, sender != NULL ? R_GET : R_GET_ANY);
	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, (int)dir);
	if (sender != NULL)
		sqlite3_bind_text(st, 2, sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, sender != NULL ? 3 : 2, msg_id, -1, SQLITE_STATIC);
	int n = store_read_msgs(s, st, out, 1);
	return n < 0 ? -1 : n == 1 ? 0 : 1;
}

int
store_settled(struct store *s, const char *peer, const char *msg_id,
    const uint8_t payload_hash[STORE_HASH_LEN], struct store_msg *out)
{
	memset(out, 0, sizeof(*out));
	int r = store_get(s, STORE_IN, peer, msg_id, out);
	if (r < 0)
		return -1;
	if (r == 0 && memcmp(out->payload_hash, payload_hash, STORE_HASH_LEN) == 0)
		return STORE_SETTLED_SAME;
	bool other = r == 0;
	store_msg_clear(out);
	/* As in the store thread (settled in storeop.c): a refusal of this content stands
	 * even when the id names another message. */
	sqlite3_stmt *same = store_r_stmt(s, R_QUARANTINE_SAME),
	    *oth = store_r_stmt(s, R_QUARANTINE_OTHER);
	if (same == NULL || oth == NULL)
		return -1;
	int m = store_quarantine_lookup(same, oth, peer, msg_id, payload_hash, out);
	if (m < 0) {
		log_warn("database %s: read failed: %s", s->path, sqlite3_errmsg(s->r));
		return -1;
	}
	return m == STORE_SETTLED_NONE && other ? STORE_SETTLED_OTHER : m;
}

int
store_list(struct store *s, enum store_dir dir, bool only_open, int64_t before_rowid,
    struct store_msg *out, int max)
{
	sqlite3_stmt *st = store_r_stmt(s, R_LIST);
	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, dir == STORE_DIR_ANY ? STORE_OUT : (int)dir);
	sqlite3_bind_int(st, 2, dir == STORE_DIR_ANY ? STORE_IN : (int)dir);
	sqlite3_bind_int64(st, 3, before_rowid > 0 ? before_rowid : INT64_MAX);
	sqlite3_bind_int(st, 4, only_open ? 1 : 0);
	sqlite3_bind_int(st, 5, max);
	return store_read_msgs(s, st, out, max);
}

int
store_events_since(struct store *s, int64_t after_seq, struct store_event *out, int max)
{
	sqlite3_stmt *st = store_r_stmt(s, R_EVENTS_SINCE);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, after_seq);
	sqlite3_bind_int(st, 2, max);
	return store_read_events(s, st, out, max);
}

int
store_events_of(struct store *s, const char *msg_id, struct store_event *out, int max)
{
	sqlite3_stmt *st = store_r_stmt(s, R_EVENTS_OF);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, msg_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, max);
	return store_read_events(s, st, out, max);
}

int64_t
store_log_mark(struct store *s)
{
	return read_int(s, R_LOG_MARK);
}

int64_t
store_last_seq(struct store *s)
{
	return read_int(s, R_LAST_SEQ);
}

int64_t
store_bset_new(struct store *s)
{
	return ++s->last_bset;
}

int
store_chunk_read(struct store *s, int64_t bset, uint32_t att, uint64_t off, size_t max,
    uint8_t **data, size_t *len)
{
	return storeatt_read(s, bset, att, off, max, data, len);
}

int64_t
store_unsettled(struct store *s, const char *peer)
{
	sqlite3_stmt *st = store_r_stmt(s, R_UNSETTLED);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_r_fail(s, st);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

int
store_quarantine_list(struct store *s, int64_t before_id, struct store_quarantined *out,
    int max)
{
	sqlite3_stmt *st = store_r_stmt(s, R_QUARANTINE);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before_id > 0 ? before_id : INT64_MAX);
	sqlite3_bind_int(st, 2, max);
	int n = 0, rc = SQLITE_DONE;
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_quarantined *q = &out[n++];
		memset(q, 0, sizeof(*q));
		q->id = sqlite3_column_int64(st, 0);
		q->ts_us = sqlite3_column_int64(st, 1);
		store_col_text(st, 2, q->peer, sizeof(q->peer));
		store_col_text(st, 3, q->msg_id, sizeof(q->msg_id));
		store_col_text(st, 4, q->reason, sizeof(q->reason));
		q->bytes = (uint64_t)sqlite3_column_int64(st, 5);
		q->released_us = sqlite3_column_int64(st, 6);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_r_fail(s, st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return n;
}
