/*
 * storeop: the write side of the store: queues ops (loop thread) and runs each batch of
 * them in one transaction on the store thread, each op in its own savepoint. It must
 * never execute an op on the loop thread while the store thread lives, and holds no SQL
 * text of its own (the statements are store.c's, used here by id).
 *
 * Error policy: an op that fails gets STORE_R_FULL (SQLITE_FULL: [store] max_size or the
 * disk) or STORE_R_ERROR with SQLite's message and is rolled back to its savepoint; the
 * rest of the batch still commits. A failed BEGIN or COMMIT fails every op of the batch.
 * Nothing is logged here: each op's completion decides what to tell whom.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "outstate.h"
#include "storedb.h"
#include "storeq.h"

/* The columns of a row that an op checks before it writes. */
struct row_key {
	int64_t id;
	enum store_state state;
	char recipient[AUTHORITY_ID_MAX + 1];
	uint32_t attempts;
	uint8_t submit_hash[STORE_HASH_LEN];
	uint8_t payload_hash[STORE_HASH_LEN];
	bool fetched;
	int64_t created_us;
};

static bool batch_once(struct store *s, struct store_op *batch);
static void batch_fail(struct store *s, struct store_op *batch, int rc);
static void op_reset(struct store_op *op);
static void op_run(struct store *s, struct store_op *op, int64_t now);
static enum store_result op_fail(struct store *s, struct store_op *op, int rc);
static enum store_result w_step(struct store *s, struct store_op *op, sqlite3_stmt *st);
static int w_simple(struct store *s, int id);
static int find_row(struct store *s, struct store_op *op, enum store_dir dir,
    struct row_key *k);
static enum store_result load_stored(struct store *s, struct store_op *op, int64_t id);
static enum store_result insert_msg(struct store *s, struct store_op *op, int64_t now);
static void event_fill(struct store_event *e, const char *name, const struct store_msg *m,
    const char *state);
static enum store_result op_submit(struct store *s, struct store_op *op, int64_t now);
static enum store_result op_receive(struct store *s, struct store_op *op, int64_t now);
static enum store_result op_update(struct store *s, struct store_op *op, int64_t now);
static enum store_result op_quarantine(struct store *s, struct store_op *op, int64_t now);
static enum store_result op_quarantine_release(struct store *s, struct store_op *op,
    int64_t now);
static enum store_result op_log_mark(struct store *s, struct store_op *op);
static enum store_result op_drop_set(struct store *s, struct store_op *op);

void
store_set_max_size(struct store *s, uint64_t max_size)
{
	atomic_store(&s->max_size_want, max_size);
}

void
store_stats(struct store *s, uint64_t *commits, uint64_t *ops)
{
	*commits = atomic_load(&s->commits);
	*ops = atomic_load(&s->ops);
}

static void
op_prepare(struct store_op *op)
{
	memset(&op->stored, 0, sizeof(op->stored));
	op->result = STORE_R_OK;
	op->error[0] = '\0';
	op->more = NULL;
	op->n_more = 0;
}

void
store_submit(struct store *s, struct store_op *op)
{
	op_prepare(op);
	storeq_push(s->q, op);
}

void
store_submit_pair(struct store *s, struct store_op *first, struct store_op *second)
{
	op_prepare(first);
	op_prepare(second);
	struct store_op *const ops[2] = {first, second};
	storeq_push_n(s->q, ops, 2);
}

size_t
store_pending(const struct store *s)
{
	return storeq_pending(s->q);
}

#ifdef ROGATORY_TEST_HOOKS
void
store_test_hold(struct store *s, bool hold)
{
	storeq_hold(s->q, hold);
}
#endif

/* ---- the store thread ---- */

/* Runs one batch (storeq_batch_fn): applies a changed max_size first, then the ops. */
void
store_batch(void *ctx, struct store_op *batch, size_t n)
{
	struct store *s = ctx;
	uint64_t want = atomic_load(&s->max_size_want);

	if (want != s->max_size_set)
		store_max_pages(s, want);
	/* Dropped staging alone needs no sync of its own: nothing is acknowledged on it.
	 * Any other op makes the batch FULL. */
	bool chunks_only = true;
	for (struct store_op *op = batch; op != NULL && chunks_only; op = op->next)
		chunks_only = op->kind == STORE_OP_DROP_SET;
	if (chunks_only != s->sync_normal) {
		int rc = sqlite3_exec(s->w, chunks_only ? "PRAGMA synchronous = NORMAL"
		                                        : "PRAGMA synchronous = FULL", NULL, NULL, NULL);
		if (rc == SQLITE_OK) {
			s->sync_normal = chunks_only;
		} else if (!chunks_only) {
			/* Never commit an acknowledged op without a sync: fail the batch. */
			for (struct store_op *op = batch; op != NULL; op = op->next)
				op_reset(op);
			batch_fail(s, batch, rc);
			atomic_fetch_add(&s->ops, n);
			return;
		}
	}
	for (struct store_op *op = batch; op != NULL; op = op->next)
		op_reset(op);
	/* Rarely SQLite must roll back the whole transaction after an error (it says so
	 * through autocommit); then the batch runs again without the ops that failed. Each
	 * round drops at least one op, so this ends. */
	while (!batch_once(s, batch))
		store_audit_batch_abort(s);
	atomic_fetch_add(&s->ops, n);
}

/* false: the transaction was lost and the batch must run again. */
static bool
batch_once(struct store *s, struct store_op *batch)
{
	int64_t now = store_now_us();
	int rc = w_simple(s, W_BEGIN);

	if (rc != SQLITE_OK) {
		batch_fail(s, batch, rc);
		return true;
	}
	store_audit_batch_begin(s);
	for (struct store_op *op = batch; op != NULL; op = op->next) {
		if (op->result == STORE_R_FULL || op->result == STORE_R_ERROR)
			continue;
		op_run(s, op, now);
		if (!sqlite3_get_autocommit(s->w))
			continue;
		if (op->result != STORE_R_FULL && op->result != STORE_R_ERROR)
			op_fail(s, op, SQLITE_ERROR);
		for (struct store_op *o = batch; o != NULL; o = o->next)
			if (o->result != STORE_R_FULL && o->result != STORE_R_ERROR)
				op_reset(o);
		return false;
	}
#ifdef ROGATORY_TEST_HOOKS
	/* Test hooks (storeq.h): the hold before a commit, and the crash point
	 * store-mid-commit: everything executed, nothing committed. */
	storeq_test_before_commit(s->q, batch, s->crash_mid_commit);
#endif
	/* The frontier goes with the batch that grew the tree, or not at all. */
	if ((rc = store_audit_batch_commit(s)) != SQLITE_OK ||
	    (rc = w_simple(s, W_COMMIT)) != SQLITE_OK) {
		store_audit_batch_abort(s);
		batch_fail(s, batch, rc);
		if (!sqlite3_get_autocommit(s->w))
			w_simple(s, W_ROLLBACK);
		return true;
	}
	atomic_fetch_add(&s->commits, 1);
	return true;
}

/* The whole batch failed (BEGIN or COMMIT): nothing of it is in the database. */
static void
batch_fail(struct store *s, struct store_op *batch, int rc)
{
	char why[256];
	snprintf(why, sizeof(why), "%s", sqlite3_errmsg(s->w));
	for (struct store_op *op = batch; op != NULL; op = op->next) {
		op_reset(op);
		op->result = (rc & 0xff) == SQLITE_FULL ? STORE_R_FULL : STORE_R_ERROR;
		err_set(op->error, sizeof(op->error), "database %s: %s", s->path, why);
	}
}

/* Forgets what an earlier run of the op produced (results, answers, event seq). */
static void
op_reset(struct store_op *op)
{
	op->result = STORE_R_OK;
	op->error[0] = '\0';
	store_msg_clear(&op->stored);
	store_op_more_clear(op);
	op->event.seq = 0;
	op->event.ts_us = 0;
}

static void
op_run(struct store *s, struct store_op *op, int64_t now)
{
	int rc = w_simple(s, W_SAVEPOINT);
	if (rc != SQLITE_OK) {
		op->result = op_fail(s, op, rc);
		return;
	}
	store_audit_op_begin(s);
	switch (op->kind) {
	case STORE_OP_SUBMIT: op->result = op_submit(s, op, now); break;
	case STORE_OP_RECEIVE: op->result = op_receive(s, op, now); break;
	case STORE_OP_UPDATE: op->result = op_update(s, op, now); break;
	case STORE_OP_QUARANTINE: op->result = op_quarantine(s, op, now); break;
	case STORE_OP_QUARANTINE_RELEASE: op->result = op_quarantine_release(s, op, now); break;
	case STORE_OP_EVENT: op->result = store_write_event(s, op, now); break;
	case STORE_OP_LOG_MARK: op->result = op_log_mark(s, op); break;
	case STORE_OP_DROP_SET: op->result = op_drop_set(s, op); break;
	case STORE_OP_AUDIT_HEAD:
	case STORE_OP_AUDIT_CHECKPOINT:
	case STORE_OP_AUDIT_COSIGNATURE: op->result = store_audit_op(s, op, now); break;
	case STORE_OP_AUDIT_WITNESS:
		/* A fork's alert event, the first time only (storeaudit.c decides). */
		op->result = store_audit_op(s, op, now);
		if (op->result == STORE_R_OK && op->has_event)
			op->result = store_write_event(s, op, now);
		break;
	case STORE_OP_PAUSE: op->result = store_op_pause(s, op, now); break;
	case STORE_OP_ALERT: op->result = store_op_alert(s, op, now); break;
	case STORE_OP_DEADLINES: op->result = storecase_deadlines(s, op, now); break;
	case STORE_OP_RETRIEVED: op->result = store_op_retrieved(s, op, now); break;
	case STORE_OP_RETRIEVAL_RECEIPTED:
		op->result = store_op_retrieval_receipted(s, op, now);
		break;
	default:
		snprintf(op->error, sizeof(op->error), "unknown store op kind %d", (int)op->kind);
		op->result = STORE_R_ERROR;
	}
	if (op->result != STORE_R_FULL && op->result != STORE_R_ERROR) {
		if ((rc = w_simple(s, W_RELEASE)) == SQLITE_OK)
			return;
		op->result = op_fail(s, op, rc);
	}
	/* Undo this op's half-done writes; the transaction, and the batch, go on. */
	if (!sqlite3_get_autocommit(s->w)) {
		w_simple(s, W_ROLLBACK_TO);
		w_simple(s, W_RELEASE);
	}
	store_audit_op_abort(s);
	store_msg_clear(&op->stored);
	store_op_more_clear(op);
	op->event.seq = 0;
	op->event.ts_us = 0;
}

static enum store_result
op_fail(struct store *s, struct store_op *op, int rc)
{
	err_set(op->error, sizeof(op->error), "database %s: %s", s->path, sqlite3_errmsg(s->w));
	return (rc & 0xff) == SQLITE_FULL ? STORE_R_FULL : STORE_R_ERROR;
}

enum store_result
store_op_fail(struct store *s, struct store_op *op, int rc)
{
	return op_fail(s, op, rc);
}

enum store_result
store_w_step(struct store *s, struct store_op *op, sqlite3_stmt *st)
{
	return w_step(s, op, st);
}

/* Steps a bound writer statement to its end and resets it (error captured first). */
static enum store_result
w_step(struct store *s, struct store_op *op, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	enum store_result r = rc == SQLITE_DONE ? STORE_R_OK : op_fail(s, op, rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

/* A statement without parameters or rows (BEGIN, COMMIT, SAVEPOINT...). */
static int
w_simple(struct store *s, int id)
{
	sqlite3_stmt *st = store_wstmt(s, id);
	if (st == NULL)
		return sqlite3_errcode(s->w);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* 1 found (k filled), 0 not found, -1 failed (op->error set). */
static int
find_row(struct store *s, struct store_op *op, enum store_dir dir, struct row_key *k)
{
	sqlite3_stmt *st = store_wstmt(s, W_FIND);
	if (st == NULL) {
		op->result = op_fail(s, op, sqlite3_errcode(s->w));
		return -1;
	}
	sqlite3_bind_int(st, 1, (int)dir);
	sqlite3_bind_text(st, 2, op->msg.sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, op->msg.msg_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st), ret = 0;
	if (rc == SQLITE_ROW) {
		const unsigned char *state = sqlite3_column_text(st, 1);
		memset(k, 0, sizeof(*k));
		k->id = sqlite3_column_int64(st, 0);
		if (state == NULL || store_state_parse((const char *)state, &k->state) != 0)
			k->state = STORE_FAILED;
		store_col_text(st, 2, k->recipient, sizeof(k->recipient));
		k->attempts = (uint32_t)sqlite3_column_int64(st, 3);
		store_col_hash(st, 4, k->submit_hash);
		store_col_hash(st, 5, k->payload_hash);
		k->fetched = sqlite3_column_int(st, 6) != 0;
		k->created_us = sqlite3_column_int64(st, 7);
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		op->result = op_fail(s, op, rc);
		ret = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

/* The stored row into op->stored (the answer to a duplicate). */
static enum store_result
load_stored(struct store *s, struct store_op *op, int64_t id)
{
	sqlite3_stmt *st = store_wstmt(s, W_ROW);
	if (st == NULL)
		return op_fail(s, op, sqlite3_errcode(s->w));
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	enum store_result r = STORE_R_OK;
	if (rc != SQLITE_ROW) {
		r = op_fail(s, op, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
	} else if (store_msg_from_row(st, &op->stored) != 0) {
		snprintf(op->error, sizeof(op->error), "out of memory reading message %s",
		    op->msg.msg_id);
		r = STORE_R_ERROR;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

/* A message's signed object (its document or its receipt) into the table put names, by
 * rowid, replacing the one there; none at all (all three NULL): the row of drop goes. */
static enum store_result
put_signed(struct store *s, struct store_op *op, int64_t id, int put, int drop,
    const uint8_t *body, size_t body_len, const uint8_t *sig, size_t sig_len,
    const uint8_t *cert, size_t cert_len)
{
	bool none = body == NULL && sig == NULL && cert == NULL;
	sqlite3_stmt *st = store_wstmt(s, none ? drop : put);
	if (st == NULL)
		return op_fail(s, op, sqlite3_errcode(s->w));
	sqlite3_bind_int64(st, 1, id);
	if (!none) {
		store_bind_blob(st, 2, body, body_len);
		store_bind_blob(st, 3, sig, sig_len);
		store_bind_blob(st, 4, cert, cert_len);
	}
	return w_step(s, op, st);
}

static enum store_result
insert_msg(struct store *s, struct store_op *op, int64_t now)
{
	struct store_msg *m = &op->msg;
	/* Its attachments durable under their names before the row that names them. */
	if (m->bset != 0 && m->n_atts > 0) {
		enum store_result r = storeatt_seal(s, op);
		if (r != STORE_R_OK)
			return r;
	}
	sqlite3_stmt *st = store_wstmt(s, W_INSERT);
	if (st == NULL)
		return op_fail(s, op, sqlite3_errcode(s->w));
	if (m->created_us == 0)
		m->created_us = now;
	m->updated_us = now;
	m->attempts = 0;
	m->fetched = false;
	sqlite3_bind_int(st, 1, (int)m->dir);
	sqlite3_bind_text(st, 2, m->msg_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m->sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, m->recipient, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, m->kind);
	sqlite3_bind_int(st, 6, m->urgent ? 1 : 0);
	sqlite3_bind_text(st, 7, store_state_name(m->state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, m->created_us);
	sqlite3_bind_int64(st, 9, m->updated_us);
	sqlite3_bind_int64(st, 10, m->next_attempt_us);
	sqlite3_bind_int64(st, 11, m->expire_at_us);
	store_bind_blob(st, 12, m->dir == STORE_OUT ? m->submit_hash : NULL, STORE_HASH_LEN);
	store_bind_blob(st, 13, m->payload_hash, STORE_HASH_LEN);
	sqlite3_bind_text(st, 14, m->last_error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 15, m->bset);
	sqlite3_bind_int64(st, 16, (int64_t)(m->size > 0 ? m->size : m->doc_body_len));
	enum store_result r = w_step(s, op, st);
	if (r != STORE_R_OK)
		return r;
	m->rowid = sqlite3_last_insert_rowid(s->w);
	if ((r = put_signed(s, op, m->rowid, W_DOC_PUT, W_DOC_DROP, m->doc_body, m->doc_body_len,
	    m->doc_sig, m->doc_sig_len, m->doc_cert, m->doc_cert_len)) != STORE_R_OK)
		return r;
	return put_signed(s, op, m->rowid, W_RCPT_PUT, W_RCPT_DROP, m->rcpt_body,
	    m->rcpt_body_len, m->rcpt_sig, m->rcpt_sig_len, m->rcpt_cert, m->rcpt_cert_len);
}

/* Fills what the caller left empty; the peer is the other end of the message. */
static void
event_fill(struct store_event *e, const char *name, const struct store_msg *m,
    const char *state)
{
	const char *peer = m->dir == STORE_OUT ? m->recipient : m->sender;
	if (name != NULL)
		snprintf(e->event, sizeof(e->event), "%s", name);
	if (e->msg_id[0] == '\0')
		snprintf(e->msg_id, sizeof(e->msg_id), "%s", m->msg_id);
	if (e->peer[0] == '\0')
		snprintf(e->peer, sizeof(e->peer), "%s", peer);
	if (e->state[0] == '\0' && state != NULL)
		snprintf(e->state, sizeof(e->state), "%s", state);
	e->dir = m->dir;
	if (e->bytes == 0)
		e->bytes = m->doc_body_len;
}

/*
 * Every event row of every op (its own, and the case events of storecase.c) is written
 * here, and with it its audit leaf: the entry is
 * the row itself (auditentry.h), its seq the next leaf index + 1, so the tree grows in
 * the same transaction as what it records, and a rolled-back op takes its leaf along.
 */
enum store_result
store_event_write(struct store *s, struct store_op *op, struct store_event *e, int64_t now)
{
	sqlite3_stmt *st = store_wstmt(s, W_EVENT);
	if (st == NULL)
		return op_fail(s, op, sqlite3_errcode(s->w));
	enum store_result r = store_audit_seal(s, op, e, now);
	if (r != STORE_R_OK)
		return r;
	sqlite3_bind_int64(st, 1, e->seq);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, e->event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->msg_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, e->peer, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, (int)e->dir);
	sqlite3_bind_text(st, 7, e->state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, e->attempt);
	sqlite3_bind_int64(st, 9, (int64_t)e->bytes);
	sqlite3_bind_text(st, 10, e->reason, -1, SQLITE_STATIC);
	if (e->has_actor)
		sqlite3_bind_int64(st, 11, e->actor_uid);
	else
		sqlite3_bind_null(st, 11);
	sqlite3_bind_text(st, 12, e->actor_user, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 13, e->leaf, STORE_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, e->alert, -1, SQLITE_STATIC);
	r = w_step(s, op, st);
	if (r == STORE_R_OK)
		r = store_audit_append(s, op, e);
	if (r != STORE_R_OK) {
		e->seq = 0;
		e->ts_us = 0;
	}
	return r;
}

/* The op's own event. */
enum store_result
store_write_event(struct store *s, struct store_op *op, int64_t now)
{
	return store_event_write(s, op, &op->event, now);
}

static enum store_result
op_submit(struct store *s, struct store_op *op, int64_t now)
{
	struct row_key k;
	op->msg.dir = STORE_OUT;
	op->msg.state = STORE_QUEUED;
	int found = find_row(s, op, STORE_OUT, &k);
	if (found < 0)
		return op->result;
	if (found) {
		if (memcmp(k.submit_hash, op->msg.submit_hash, STORE_HASH_LEN) != 0)
			return STORE_R_CONFLICT;
		enum store_result r = load_stored(s, op, k.id);
		return r == STORE_R_OK ? STORE_R_EXISTS : r;
	}
	/* Its case may refuse it (a status the transition table does not allow now). */
	struct storecase_plan plan;
	enum store_result r = storecase_check(s, op, &plan);
	if (r != STORE_R_OK)
		return r;
	if ((r = insert_msg(s, op, now)) != STORE_R_OK)
		return r;
	op->has_event = true;
	event_fill(&op->event, "queued", &op->msg, "queued");
	if ((r = store_write_event(s, op, now)) != STORE_R_OK)
		return r;
	return storecase_apply(s, op, &plan, now);
}

/*
 * What was already decided about the inbound (sender, msg_id) of op: a received message
 * or a refusal (quarantine, with its receipt). STORE_SETTLED_SAME loads that stored
 * answer into op->stored; -1 failed (op->error set).
 */
static int
settled(struct store *s, struct store_op *op)
{
	struct row_key k;
	int found = find_row(s, op, STORE_IN, &k);
	if (found < 0)
		return -1;
	if (found && memcmp(k.payload_hash, op->msg.payload_hash, STORE_HASH_LEN) == 0) {
		enum store_result r = load_stored(s, op, k.id);
		if (r != STORE_R_OK) {
			op->result = r;
			return -1;
		}
		return STORE_SETTLED_SAME;
	}
	/* This content refused before stands, even when the id names another message
	 * (an id-conflict refused once is answered with that refusal ever after). */
	sqlite3_stmt *same = store_wstmt(s, W_QUARANTINE_SAME);
	sqlite3_stmt *other = store_wstmt(s, W_QUARANTINE_OTHER);
	if (same == NULL || other == NULL) {
		op->result = op_fail(s, op, sqlite3_errcode(s->w));
		return -1;
	}
	int m = store_quarantine_lookup(same, other, op->msg.sender, op->msg.msg_id,
	    op->msg.payload_hash, &op->stored);
	if (m < 0)
		op->result = op_fail(s, op, sqlite3_errcode(s->w));
	else if (m == STORE_SETTLED_NONE && found)
		m = STORE_SETTLED_OTHER;
	return m;
}

/* A resend of something decided (received or refused): the stored answer, recorded as a
 * "duplicate" event. */
static enum store_result
answer_settled(struct store *s, struct store_op *op, int64_t now)
{
	op->has_event = true;
	event_fill(&op->event, "duplicate", &op->msg, NULL);
	enum store_result r = store_write_event(s, op, now);
	return r != STORE_R_OK ? r : STORE_R_EXISTS;
}

static enum store_result
op_receive(struct store *s, struct store_op *op, int64_t now)
{
	op->msg.dir = STORE_IN;
	op->msg.state = STORE_RECEIVED;
	int found = settled(s, op);
	if (found < 0)
		return op->result;
	if (found == STORE_SETTLED_SAME)
		return answer_settled(s, op, now);
	/* An id reused for other content: the caller refuses it (a quarantine op, which
	 * records the event). */
	if (found == STORE_SETTLED_OTHER)
		return STORE_R_CONFLICT;
	/* Judged against the case as committed: the caller refuses an illegal status (a
	 * quarantine op with its signed illegal-transition receipt). */
	struct storecase_plan plan;
	enum store_result r = storecase_check(s, op, &plan);
	if (r != STORE_R_OK)
		return r;
	op->has_event = true;
	if ((r = insert_msg(s, op, now)) != STORE_R_OK)
		return r;
	event_fill(&op->event, "received", &op->msg, "received");
	if ((r = store_write_event(s, op, now)) != STORE_R_OK)
		return r;
	return storecase_apply(s, op, &plan, now);
}

static enum store_result
op_update(struct store *s, struct store_op *op, int64_t now)
{
	struct store_msg *m = &op->msg;
	struct row_key k;
	int found = find_row(s, op, m->dir, &k);
	if (found <= 0)
		return found < 0 ? op->result : STORE_R_NOT_FOUND;
	m->rowid = k.id;
	/* An outbound change is an event of the state table, applied to the row as it is
	 * now; fetched changes once: a second `fetched` finds nothing to change. */
	bool legal = true;
	if (op->transition != OUTSTATE_NONE)
		legal = outstate_next(k.state, (enum outstate_event)op->transition, k.attempts,
		    &m->state);
	if (!legal ||
	    (op->expect_state_mask != 0 && (op->expect_state_mask & (1u << k.state)) == 0) ||
	    (op->expect_payload && (memcmp(k.payload_hash, m->payload_hash, STORE_HASH_LEN) != 0 ||
	        strcmp(k.recipient, m->recipient) != 0)) ||
	    ((op->set & STORE_SET_FETCHED) != 0 && k.fetched == m->fetched)) {
		op->stored.rowid = k.id;
		op->stored.state = k.state;
		return STORE_R_STALE;
	}
	sqlite3_stmt *st = store_wstmt(s, W_UPDATE);
	if (st == NULL)
		return op_fail(s, op, sqlite3_errcode(s->w));
	unsigned set = op->set;
	m->updated_us = now;
	sqlite3_bind_int64(st, 1, k.id);
	sqlite3_bind_text(st, 2, store_state_name(m->state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int(st, 4, (set & STORE_SET_ATTEMPTS) != 0 ? 1 : 0);
	sqlite3_bind_int64(st, 5, m->attempts);
	sqlite3_bind_int(st, 6, (set & STORE_SET_NEXT_ATTEMPT) != 0 ? 1 : 0);
	sqlite3_bind_int64(st, 7, m->next_attempt_us);
	sqlite3_bind_int(st, 8, (set & STORE_SET_LAST_ERROR) != 0 ? 1 : 0);
	sqlite3_bind_text(st, 9, m->last_error, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 10, (set & STORE_SET_FETCHED) != 0 ? 1 : 0);
	sqlite3_bind_int(st, 11, m->fetched ? 1 : 0);
	sqlite3_bind_int(st, 12, (set & STORE_SET_DOCUMENT) != 0 ? 1 : 0);
	store_bind_blob(st, 13, m->payload_hash, STORE_HASH_LEN);
	enum store_result r = w_step(s, op, st);
	if (r == STORE_R_OK && (set & STORE_SET_RECEIPT) != 0)
		r = put_signed(s, op, k.id, W_RCPT_PUT, W_RCPT_DROP, m->rcpt_body, m->rcpt_body_len,
		    m->rcpt_sig, m->rcpt_sig_len, m->rcpt_cert, m->rcpt_cert_len);
	if (r == STORE_R_OK && (set & STORE_SET_DOCUMENT) != 0)
		r = put_signed(s, op, k.id, W_DOC_PUT, W_DOC_DROP, m->doc_body, m->doc_body_len,
		    m->doc_sig, m->doc_sig_len, m->doc_cert, m->doc_cert_len);
	if (r == STORE_R_OK && op->transition == OUTSTATE_SEND)
		r = load_stored(s, op, k.id);
	/* The first fetch: the retrieval evidence to send is kept in the same savepoint. */
	if (r == STORE_R_OK && (set & STORE_SET_FETCHED) != 0 && m->fetched &&
	    op->retr.body != NULL)
		r = store_retrieval_oblige(s, op, now);
	if (r != STORE_R_OK || !op->has_event)
		return r;
	if (op->transition != OUTSTATE_NONE && op->event.event[0] == '\0')
		snprintf(op->event.event, sizeof(op->event.event), "%s", store_state_name(m->state));
	struct store_msg who = { .dir = m->dir };
	snprintf(who.msg_id, sizeof(who.msg_id), "%s", m->msg_id);
	snprintf(who.sender, sizeof(who.sender), "%s", m->sender);
	snprintf(who.recipient, sizeof(who.recipient), "%s", k.recipient);
	event_fill(&op->event, NULL, &who, store_state_name(m->state));
	if (op->event.attempt == 0)
		op->event.attempt = (set & STORE_SET_ATTEMPTS) != 0 ? m->attempts : k.attempts;
	op->event.msg_created_us = k.created_us;
	if ((r = store_write_event(s, op, now)) != STORE_R_OK)
		return r;
	/* Our request received: its clocks start at the receiver's signed time. */
	if (m->dir == STORE_OUT && m->state == STORE_DELIVERED && m->cd.received_ms > 0 &&
	    (r = storecase_outbound_delivered(s, op, now)) != STORE_R_OK)
		return r;
	/* An outbound document that will never reach its peer: its case no longer counts it. */
	bool lost = m->state == STORE_REJECTED || m->state == STORE_EXPIRED ||
	    m->state == STORE_CANCELLED || m->state == STORE_FAILED;
	return m->dir == STORE_OUT && op->transition != OUTSTATE_NONE && lost
	    ? storecase_outbound_final(s, op, now) : STORE_R_OK;
}

static enum store_result
op_quarantine(struct store *s, struct store_op *op, int64_t now)
{
	struct store_msg *m = &op->msg;
	m->dir = STORE_IN;
	int found = settled(s, op);
	if (found < 0)
		return op->result;
	if (found == STORE_SETTLED_SAME)
		return answer_settled(s, op, now);
	sqlite3_stmt *st = store_wstmt(s, W_QUARANTINE);
	if (st == NULL)
		return op_fail(s, op, sqlite3_errcode(s->w));
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, m->sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m->msg_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, op->reason, -1, SQLITE_STATIC);
	store_bind_blob(st, 5, m->doc_body, m->doc_body_len);
	store_bind_blob(st, 6, m->doc_sig, m->doc_sig_len);
	store_bind_blob(st, 7, m->doc_cert, m->doc_cert_len);
	store_bind_blob(st, 8, m->payload_hash, STORE_HASH_LEN);
	store_bind_blob(st, 9, m->rcpt_body, m->rcpt_body_len);
	store_bind_blob(st, 10, m->rcpt_sig, m->rcpt_sig_len);
	store_bind_blob(st, 11, m->rcpt_cert, m->rcpt_cert_len);
	enum store_result r = w_step(s, op, st);
	if (r != STORE_R_OK)
		return r;
	op->has_event = true;
	/* The caller may name it (refused-id-conflict); else "quarantined". */
	event_fill(&op->event, op->event.event[0] ? NULL : "quarantined", m, "quarantined");
	if (op->event.reason[0] == '\0')
		snprintf(op->event.reason, sizeof(op->event.reason), "%s", op->reason);
	return store_write_event(s, op, now);
}

static enum store_result
op_quarantine_release(struct store *s, struct store_op *op, int64_t now)
{
	struct store_msg *m = &op->msg;
	sqlite3_stmt *st = store_wstmt(s, W_QUARANTINE_RELEASE);
	if (st == NULL)
		return op_fail(s, op, sqlite3_errcode(s->w));
	sqlite3_bind_int64(st, 1, op->qid);
	sqlite3_bind_int64(st, 2, now);
	int rc = sqlite3_step(st);
	bool released = rc == SQLITE_ROW;
	if (released) {
		store_col_text(st, 0, m->sender, sizeof(m->sender));
		store_col_text(st, 1, m->msg_id, sizeof(m->msg_id));
		m->size = (uint64_t)sqlite3_column_int64(st, 2);
		rc = sqlite3_step(st);   /* RETURNING: the update completes at SQLITE_DONE */
	}
	enum store_result r = rc == SQLITE_DONE ? STORE_R_OK : op_fail(s, op, rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r != STORE_R_OK)
		return r;
	if (!released) {
		/* Nothing changed: already released, or no such entry. */
		st = store_wstmt(s, W_QUARANTINE_ROW);
		if (st == NULL)
			return op_fail(s, op, sqlite3_errcode(s->w));
		sqlite3_bind_int64(st, 1, op->qid);
		rc = sqlite3_step(st);
		r = rc == SQLITE_ROW ? STORE_R_STALE : rc == SQLITE_DONE ? STORE_R_NOT_FOUND
		                                                       : op_fail(s, op, rc);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return r;
	}
	m->dir = STORE_IN;
	op->has_event = true;
	event_fill(&op->event, "quarantine-released", m, "quarantined");
	op->event.bytes = m->size;
	if (op->event.reason[0] == '\0')
		snprintf(op->event.reason, sizeof(op->event.reason),
		    "quarantine entry %" PRId64 " released by the operator", op->qid);
	return store_write_event(s, op, now);
}

static enum store_result
op_log_mark(struct store *s, struct store_op *op)
{
	sqlite3_stmt *st = store_wstmt(s, W_MARK);
	if (st == NULL)
		return op_fail(s, op, sqlite3_errcode(s->w));
	sqlite3_bind_int64(st, 1, op->log_seq);
	return w_step(s, op, st);
}

static enum store_result
op_drop_set(struct store *s, struct store_op *op)
{
	return storeatt_drop(s, op);
}
