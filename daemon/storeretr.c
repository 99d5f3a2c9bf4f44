/*
 * storeretr: the store's part of proof of retrieval (PROTOCOL.md section 16, schema 10):
 * our signed evidence that an operator fetched a received message, written in the very
 * savepoint of the UPDATE that marks it fetched (so a crash can never leave a fetched
 * message without the obligation to tell its sender), kept until the sender's receipt;
 * and a recipient's evidence about a message we sent, kept with our receipt, once.
 * It never replaces evidence once kept.
 *
 * Error policy: as storeop.c: a failed step is STORE_R_ERROR / STORE_R_FULL with
 * SQLite's message in op->error, rolled back with its op.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storedb.h"

#define RETR_COLS "dir, msg_id, peer, payload_hash, retrieved_ms, actor_uid, actor_user," \
	" body, sig, cert, rcpt_body, rcpt_sig, rcpt_cert, rcpt_outcome, created_us, receipted_us"

static const char *const tw_sql[TW_COUNT] = {
	[TW_FIND_OUT] = "SELECT body, rcpt_body, rcpt_sig, rcpt_cert FROM retrievals"
	    " WHERE dir = ?1 AND msg_id = ?2 AND peer = ?3",
	[TW_INSERT] = "INSERT INTO retrievals (" RETR_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
	    " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
	[TW_RECEIPTED] = "UPDATE retrievals SET rcpt_body = ?4, rcpt_sig = ?5, rcpt_cert = ?6,"
	    " rcpt_outcome = ?7, receipted_us = ?8 WHERE dir = ?1 AND msg_id = ?2 AND peer = ?3"
	    " AND receipted_us = 0",
};

static const char *const tr_sql[TR_COUNT] = {
	[TR_GET] = "SELECT " RETR_COLS " FROM retrievals WHERE dir = ?1 AND msg_id = ?2"
	    " AND peer = ?3",
	[TR_UNSENT] = "SELECT peer, msg_id FROM retrievals WHERE dir = 1 AND receipted_us = 0"
	    " ORDER BY created_us",
};

static enum store_result insert(struct store *s, struct store_op *op, int64_t now);

static sqlite3_stmt *
tw(struct store *s, int id)
{
	return store_stmt_get(s->w, s->twst, tw_sql, id);
}

static enum store_result
fail(struct store *s, struct store_op *op)
{
	return store_op_fail(s, op, sqlite3_errcode(s->w));
}

static enum store_result
insert(struct store *s, struct store_op *op, int64_t now)
{
	const struct store_retrieval *r = &op->retr;
	sqlite3_stmt *st = tw(s, TW_INSERT);
	if (st == NULL)
		return fail(s, op);
	sqlite3_bind_int(st, 1, (int)r->dir);
	sqlite3_bind_text(st, 2, r->msg_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->peer, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, r->payload_hash, STORE_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, r->retrieved_ms);
	sqlite3_bind_int64(st, 6, r->actor_uid);
	sqlite3_bind_text(st, 7, r->actor_user, -1, SQLITE_STATIC);
	store_bind_blob(st, 8, r->body, r->body_len);
	store_bind_blob(st, 9, r->sig, r->sig_len);
	store_bind_blob(st, 10, r->cert, r->cert_len);
	store_bind_blob(st, 11, r->rcpt_body, r->rcpt_body_len);
	store_bind_blob(st, 12, r->rcpt_sig, r->rcpt_sig_len);
	store_bind_blob(st, 13, r->rcpt_cert, r->rcpt_cert_len);
	sqlite3_bind_text(st, 14, r->rcpt_outcome, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 15, now);
	sqlite3_bind_int64(st, 16, r->rcpt_body != NULL ? now : 0);
	return store_w_step(s, op, st);
}

enum store_result
store_retrieval_oblige(struct store *s, struct store_op *op, int64_t now)
{
	op->retr.dir = STORE_IN;
	op->retr.rcpt_body = op->retr.rcpt_sig = op->retr.rcpt_cert = NULL;
	op->retr.rcpt_outcome[0] = '\0';
	return insert(s, op, now);
}

enum store_result
store_op_retrieved(struct store *s, struct store_op *op, int64_t now)
{
	struct store_retrieval *r = &op->retr;
	r->dir = STORE_OUT;
	sqlite3_stmt *st = tw(s, TW_FIND_OUT);
	if (st == NULL)
		return fail(s, op);
	sqlite3_bind_int(st, 1, STORE_OUT);
	sqlite3_bind_text(st, 2, r->msg_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->peer, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		/* Kept before: the same bytes get the same receipt; other bytes are refused. */
		const void *b = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		bool same = (size_t)n == r->body_len && b != NULL && memcmp(b, r->body, r->body_len) == 0;
		enum store_result res = STORE_R_CONFLICT;
		if (same) {
			res = STORE_R_EXISTS;
			if (store_col_blob(st, 1, &op->stored.rcpt_body, &op->stored.rcpt_body_len) != 0 ||
			    store_col_blob(st, 2, &op->stored.rcpt_sig, &op->stored.rcpt_sig_len) != 0 ||
			    store_col_blob(st, 3, &op->stored.rcpt_cert, &op->stored.rcpt_cert_len) != 0) {
				snprintf(op->error, sizeof(op->error), "out of memory");
				res = STORE_R_ERROR;
			}
		}
		sqlite3_reset(st);
		return res;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_op_fail(s, op, rc);
	enum store_result res = insert(s, op, now);
	if (res != STORE_R_OK)
		return res;
	struct store_event *e = &op->event;
	op->has_event = true;
	snprintf(e->event, sizeof(e->event), "retrieved");
	snprintf(e->msg_id, sizeof(e->msg_id), "%s", r->msg_id);
	snprintf(e->peer, sizeof(e->peer), "%s", r->peer);
	e->dir = STORE_OUT;
	e->bytes = r->body_len;
	return store_write_event(s, op, now);
}

enum store_result
store_op_retrieval_receipted(struct store *s, struct store_op *op, int64_t now)
{
	const struct store_retrieval *r = &op->retr;
	sqlite3_stmt *st = tw(s, TW_RECEIPTED);
	if (st == NULL)
		return fail(s, op);
	sqlite3_bind_int(st, 1, STORE_IN);
	sqlite3_bind_text(st, 2, r->msg_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->peer, -1, SQLITE_STATIC);
	store_bind_blob(st, 4, r->rcpt_body, r->rcpt_body_len);
	store_bind_blob(st, 5, r->rcpt_sig, r->rcpt_sig_len);
	store_bind_blob(st, 6, r->rcpt_cert, r->rcpt_cert_len);
	sqlite3_bind_text(st, 7, r->rcpt_outcome, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now);
	enum store_result res = store_w_step(s, op, st);
	if (res != STORE_R_OK)
		return res;
	if (sqlite3_changes(s->w) > 0)
		return STORE_R_OK;
	/* Nothing changed: receipted before, or no such evidence. */
	st = tw(s, TW_FIND_OUT);
	if (st == NULL)
		return fail(s, op);
	sqlite3_bind_int(st, 1, STORE_IN);
	sqlite3_bind_text(st, 2, r->msg_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->peer, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORE_R_STALE;
	return rc == SQLITE_DONE ? STORE_R_NOT_FOUND : store_op_fail(s, op, rc);
}

/* ---- reads (loop thread) ---- */

int
store_retrieval_get(struct store *s, enum store_dir dir, const char *peer, const char *msg_id,
    struct store_retrieval *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = store_stmt_get(s->r, s->trst, tr_sql, TR_GET);
	if (st == NULL)
		return store_r_fail(s, NULL);
	sqlite3_bind_int(st, 1, (int)dir);
	sqlite3_bind_text(st, 2, msg_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, peer, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 1;
	}
	if (rc != SQLITE_ROW)
		return store_r_fail(s, st);
	out->dir = (enum store_dir)sqlite3_column_int(st, 0);
	store_col_text(st, 1, out->msg_id, sizeof(out->msg_id));
	store_col_text(st, 2, out->peer, sizeof(out->peer));
	store_col_hash(st, 3, out->payload_hash);
	out->retrieved_ms = sqlite3_column_int64(st, 4);
	out->actor_uid = (uint32_t)sqlite3_column_int64(st, 5);
	store_col_text(st, 6, out->actor_user, sizeof(out->actor_user));
	int bad = store_col_blob(st, 7, &out->body, &out->body_len) |
	    store_col_blob(st, 8, &out->sig, &out->sig_len) |
	    store_col_blob(st, 9, &out->cert, &out->cert_len) |
	    store_col_blob(st, 10, &out->rcpt_body, &out->rcpt_body_len) |
	    store_col_blob(st, 11, &out->rcpt_sig, &out->rcpt_sig_len) |
	    store_col_blob(st, 12, &out->rcpt_cert, &out->rcpt_cert_len);
	store_col_text(st, 13, out->rcpt_outcome, sizeof(out->rcpt_outcome));
	out->created_us = sqlite3_column_int64(st, 14);
	out->receipted_us = sqlite3_column_int64(st, 15);
	sqlite3_reset(st);
	if (bad != 0) {
		store_retrieval_clear(out);
		return -1;
	}
	return 0;
}

int
store_retrieval_unsent(struct store *s, void (*fn)(void *arg, const char *peer,
    const char *msg_id), void *arg)
{
	sqlite3_stmt *st = store_stmt_get(s->r, s->trst, tr_sql, TR_UNSENT);
	if (st == NULL)
		return store_r_fail(s, NULL);
	int n = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char peer[AUTHORITY_ID_MAX + 1], id[UUID_TEXT_LEN + 1];
		store_col_text(st, 0, peer, sizeof(peer));
		store_col_text(st, 1, id, sizeof(id));
		fn(arg, peer, id);
		n++;
	}
	if (rc != SQLITE_DONE)
		return store_r_fail(s, st);
	sqlite3_reset(st);
	return n;
}

void
store_retrieval_clear(struct store_retrieval *r)
{
	if (r == NULL)
		return;
	free(r->body);
	free(r->sig);
	free(r->cert);
	free(r->rcpt_body);
	free(r->rcpt_sig);
	free(r->rcpt_cert);
	r->body = r->sig = r->cert = r->rcpt_body = r->rcpt_sig = r->rcpt_cert = NULL;
	r->body_len = r->sig_len = r->cert_len = 0;
	r->rcpt_body_len = r->rcpt_sig_len = r->rcpt_cert_len = 0;
}
