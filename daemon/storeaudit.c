/*
 * storeaudit: the audit log's part of the store. On the store thread: every event row
 * becomes a leaf in its own transaction (write_event in storeop.c seals and appends
 * through here), the frontier follows each savepoint and transaction (restored on their
 * rollback, written with the batch that grew it), and the audit ops keep checkpoints,
 * cosignatures and what we witness. On the loop thread: the reads proofs, `audit verify`
 * and the witness need. It must never rewrite a leaf, a node or a checkpoint once
 * committed, nor recompute the tree on the hot path (only the one-time hashing of rows
 * from before schema 7 reads it whole).
 *
 * Error policy: as storeop.c (op results) and storeread.c (reads log and return -1). At
 * open, a frontier that does not match the events table stops the start-up: the store
 * was changed outside rogatoryd, and appending to it would hide that.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auditentry.h"
#include "log.h"
#include "storedb.h"

/* Levels of complete subtrees kept in audit_nodes: multiples of this (16, 256, ... leaves). */
#define NODE_STRIDE STORE_AUDIT_NODE_STRIDE

static uint64_t now_ns(void);
static int keep_node(void *arg, unsigned level, uint64_t index, const uint8_t h[MERKLE_HASH_LEN]);
static int backfill(struct store *s, char *err, size_t errlen);
static int load_frontier(struct store *s, struct merkle_frontier *f, char *err, size_t errlen);
static enum store_result op_checkpoint(struct store *s, struct store_op *op);
static enum store_result op_cosignature(struct store *s, struct store_op *op);
static enum store_result op_witness(struct store *s, struct store_op *op, int64_t now);
static int read_checkpoints(struct store *s, sqlite3_stmt *st, struct store_checkpoint *out,
    int max);

/* A stored frontier: the packed form, zero-padded to its largest size. */
static int
frontier_unpack(const uint8_t *buf, size_t len, struct merkle_frontier *f)
{
	if (buf == NULL || len < 8)
		return -1;
	uint64_t size = 0;
	for (int i = 0; i < 8; i++)
		size = size << 8 | buf[i];
	size_t need = 8 + (size_t)__builtin_popcountll(size) * MERKLE_HASH_LEN;
	return need <= len ? merkle_frontier_unpack(buf, need, f) : -1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the tree, on the store thread ---- */

struct node_ctx {
	struct store *s;
	int rc;
};

/* merkle_closed_fn: keeps every closed subtree of 16^k leaves. */
static int
keep_node(void *arg, unsigned level, uint64_t index, const uint8_t h[MERKLE_HASH_LEN])
{
	struct node_ctx *c = arg;
	if (level % NODE_STRIDE != 0)
		return 0;
	sqlite3_stmt *st = store_wstmt(c->s, W_AUDIT_NODE);
	if (st == NULL) {
		c->rc = sqlite3_errcode(c->s->w);
		return -1;
	}
	sqlite3_bind_int(st, 1, (int)level);
	sqlite3_bind_int64(st, 2, (int64_t)index);
	sqlite3_bind_blob(st, 3, h, MERKLE_HASH_LEN, SQLITE_STATIC);
	c->rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return c->rc == SQLITE_DONE ? 0 : -1;
}

void
store_audit_batch_begin(struct store *s)
{
	s->fr_batch = s->fr;
}

int
store_audit_batch_commit(struct store *s)
{
	if (s->fr.size == s->fr_batch.size)
		return SQLITE_OK;
	uint64_t t0 = now_ns();
	/* Always the largest size, zero-padded: rewriting it never needs a new page, so a
	 * full store still commits the ops that fit. */
	uint8_t buf[MERKLE_FRONTIER_PACKED_MAX] = {0};
	merkle_frontier_pack(&s->fr, buf);
	sqlite3_stmt *st = store_wstmt(s, W_AUDIT_FRONTIER);
	if (st == NULL)
		return sqlite3_errcode(s->w);
	sqlite3_bind_blob(st, 1, buf, (int)sizeof(buf), SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	atomic_fetch_add(&s->audit_ns, now_ns() - t0);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

void
store_audit_batch_abort(struct store *s)
{
	s->fr = s->fr_batch;
}

void
store_audit_op_begin(struct store *s)
{
	s->fr_op = s->fr;
}

void
store_audit_op_abort(struct store *s)
{
	s->fr = s->fr_op;
}

enum store_result
store_audit_seal(struct store *s, struct store_op *op, struct store_event *e, int64_t now)
{
	uint64_t t0 = now_ns();
	e->seq = (int64_t)s->fr.size + 1;
	e->ts_us = now;
	enum store_result r = STORE_R_OK;
	if (auditentry_leaf(e, e->leaf) != 0) {
		snprintf(op->error, sizeof(op->error), "audit: event %.31s (seq %" PRId64 ") cannot "
		    "be encoded as an entry", e->event, e->seq);
		r = STORE_R_ERROR;
	}
	atomic_fetch_add(&s->audit_ns, now_ns() - t0);
	return r;
}

enum store_result
store_audit_append(struct store *s, struct store_op *op, const struct store_event *e)
{
	uint64_t t0 = now_ns();
	struct node_ctx c = {.s = s, .rc = SQLITE_DONE};
	enum store_result r = STORE_R_OK;
	if (merkle_append(&s->fr, e->leaf, keep_node, &c) != 0)
		r = store_op_fail(s, op, c.rc);
	else
		atomic_fetch_add(&s->audit_entries, 1);
	atomic_fetch_add(&s->audit_ns, now_ns() - t0);
	return r;
}

/* ---- open: the one-time hashing of older rows, the frontier and its check ---- */

/* Rows written before schema 7 become leaves once, in seq order, in one transaction. */
static int
backfill(struct store *s, char *err, size_t errlen)
{
	struct merkle_frontier f = {0};
	struct store_event e;
	struct node_ctx c = {.s = s, .rc = SQLITE_DONE};
	sqlite3_stmt *all = store_wstmt(s, W_AUDIT_ALL_EVENTS), *set = store_wstmt(s,
	    W_AUDIT_SET_LEAF);
	int rc = SQLITE_ERROR;
	if (all == NULL || set == NULL ||
	    sqlite3_exec(s->w, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return err_set(err, errlen, "database %s: audit log: %s", s->path,
		    sqlite3_errmsg(s->w));
	while ((rc = sqlite3_step(all)) == SQLITE_ROW) {
		store_event_from_row(all, &e);
		if (e.seq != (int64_t)f.size + 1) {
			err_set(err, errlen, "database %s: audit log: the events table has no seq "
			    "%" PRIu64 " (next is %" PRId64 "); its rows cannot become the audit "
			    "tree", s->path, f.size + 1, e.seq);
			goto fail;
		}
		if (auditentry_leaf(&e, e.leaf) != 0) {
			err_set(err, errlen, "database %s: audit log: event seq %" PRId64 " cannot "
			    "be encoded", s->path, e.seq);
			goto fail;
		}
		sqlite3_bind_int64(set, 1, e.seq);
		sqlite3_bind_blob(set, 2, e.leaf, MERKLE_HASH_LEN, SQLITE_STATIC);
		rc = sqlite3_step(set);
		sqlite3_reset(set);
		if (rc != SQLITE_DONE || merkle_append(&f, e.leaf, keep_node, &c) != 0)
			break;
	}
	if (rc != SQLITE_DONE) {
		err_set(err, errlen, "database %s: audit log: hashing the existing events: %s",
		    s->path, sqlite3_errmsg(s->w));
		goto fail;
	}
	sqlite3_reset(all);
	s->fr = f;
	s->fr_batch.size = UINT64_MAX;   /* makes batch_commit write it */
	if (store_audit_batch_commit(s) != SQLITE_OK ||
	    sqlite3_exec(s->w, "DELETE FROM meta WHERE key = 'audit_backfill'; COMMIT", NULL, NULL,
	        NULL) != SQLITE_OK) {
		err_set(err, errlen, "database %s: audit log: %s", s->path, sqlite3_errmsg(s->w));
		goto fail;
	}
	if (f.size > 0)
		log_notice("database %s: audit log: the %" PRIu64 " events recorded before it "
		    "became its first entries", s->path, f.size);
	return 0;
fail:
	sqlite3_reset(all);
	sqlite3_reset(set);
	sqlite3_exec(s->w, "ROLLBACK", NULL, NULL, NULL);
	memset(&s->fr, 0, sizeof(s->fr));
	return -1;
}

static int
load_frontier(struct store *s, struct merkle_frontier *f, char *err, size_t errlen)
{
	sqlite3_stmt *st = store_wstmt(s, W_AUDIT_READ_FRONTIER);
	memset(f, 0, sizeof(*f));
	if (st == NULL)
		return err_set(err, errlen, "database %s: %s", s->path, sqlite3_errmsg(s->w));
	int rc = sqlite3_step(st), ret = 0;
	if (rc == SQLITE_ROW &&
	    frontier_unpack(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), f) != 0)
		ret = err_set(err, errlen, "database %s: audit log: the stored frontier is not "
		    "one (%d bytes)", s->path, sqlite3_column_bytes(st, 0));
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = err_set(err, errlen, "database %s: %s", s->path, sqlite3_errmsg(s->w));
	sqlite3_reset(st);
	return ret;
}

int
store_audit_open(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *st = store_wstmt(s, W_AUDIT_BACKFILL);
	if (st == NULL)
		return err_set(err, errlen, "database %s: %s", s->path, sqlite3_errmsg(s->w));
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return backfill(s, err, errlen);
	if (load_frontier(s, &s->fr, err, errlen) != 0)
		return -1;
	if ((st = store_wstmt(s, W_AUDIT_LAST_SEQ)) == NULL || sqlite3_step(st) != SQLITE_ROW) {
		err_set(err, errlen, "database %s: %s", s->path, sqlite3_errmsg(s->w));
		if (st != NULL)
			sqlite3_reset(st);
		return -1;
	}
	int64_t last = sqlite3_column_int64(st, 0), rows = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	/* A frontier behind the events (deleted or replaced) would make the next leaf's seq
	 * one that exists: nothing could be recorded. Rows missing from the events table
	 * (in the middle, or at the end) leave the tree as it was: the daemon goes on, says
	 * so, and `audit verify` names the first missing seq. */
	if (s->fr.size < (uint64_t)last)
		return err_set(err, errlen, "database %s: audit log: the tree holds %" PRIu64
		    " entries but the events table goes up to seq %" PRId64 "; the store was "
		    "changed outside rogatoryd (restore it from a backup; `rogatoryctl audit "
		    "verify` on the backup names what differs)", s->path, s->fr.size, last);
	if ((uint64_t)rows != s->fr.size)
		log_err("database %s: audit log: the tree holds %" PRIu64 " entries but the events "
		    "table has %" PRId64 " rows: events were deleted outside rogatoryd "
		    "(`rogatoryctl audit verify` names the first)", s->path, s->fr.size, rows);
	return 0;
}

/* ---- the audit ops ---- */

static void
bind_signed(sqlite3_stmt *st, int first, const struct store_op *op)
{
	store_bind_blob(st, first, op->audit.body, op->audit.body_len);
	store_bind_blob(st, first + 1, op->audit.sig, op->audit.sig_len);
	store_bind_blob(st, first + 2, op->audit.cert, op->audit.cert_len);
}

static enum store_result
op_checkpoint(struct store *s, struct store_op *op)
{
	sqlite3_stmt *st = store_wstmt(s, W_AUDIT_CHECKPOINT);
	if (st == NULL)
		return store_op_fail(s, op, sqlite3_errcode(s->w));
	sqlite3_bind_int64(st, 1, (int64_t)op->audit.size);
	sqlite3_bind_blob(st, 2, op->audit.root, STORE_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, op->audit.time_ms);
	bind_signed(st, 4, op);
	return store_w_step(s, op, st);
}

static enum store_result
op_cosignature(struct store *s, struct store_op *op)
{
	sqlite3_stmt *st = store_wstmt(s, W_AUDIT_COSIGNATURE);
	if (st == NULL)
		return store_op_fail(s, op, sqlite3_errcode(s->w));
	sqlite3_bind_int64(st, 1, (int64_t)op->audit.size);
	sqlite3_bind_text(st, 2, op->audit.who, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, op->audit.root, STORE_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, op->audit.time_ms);
	bind_signed(st, 5, op);
	return store_w_step(s, op, st);
}

/* Newest checkpoint of an origin, or a fork kept beside the one held (and its alert,
 * written once per origin: the mark and the event commit together). */
static enum store_result
op_witness(struct store *s, struct store_op *op, int64_t now)
{
	enum store_result r;
	sqlite3_stmt *st = store_wstmt(s, op->audit.fork ? W_AUDIT_FORK : W_AUDIT_WITNESS);
	if (st == NULL)
		return store_op_fail(s, op, sqlite3_errcode(s->w));
	sqlite3_bind_text(st, 1, op->audit.who, -1, SQLITE_STATIC);
	if (!op->audit.fork) {
		sqlite3_bind_int64(st, 2, (int64_t)op->audit.size);
		sqlite3_bind_blob(st, 3, op->audit.root, STORE_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, op->audit.time_ms);
		bind_signed(st, 5, op);
		sqlite3_bind_int64(st, 8, now);
		return store_w_step(s, op, st);
	}
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, op->audit.reason, -1, SQLITE_STATIC);
	bind_signed(st, 4, op);
	sqlite3_bind_int64(st, 7, (int64_t)op->audit.from_size);
	store_bind_blob(st, 8, op->audit.proof, op->audit.proof_len);
	if ((r = store_w_step(s, op, st)) != STORE_R_OK)
		return r;
	if ((st = store_wstmt(s, W_AUDIT_FORK_MARK)) == NULL)
		return store_op_fail(s, op, sqlite3_errcode(s->w));
	sqlite3_bind_text(st, 1, op->audit.who, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if ((r = store_w_step(s, op, st)) != STORE_R_OK)
		return r;
	/* The caller's event (audit-fork) is written by op_run, the first time only. */
	op->audit.first_fork = sqlite3_changes(s->w) > 0;
	op->has_event = op->audit.first_fork && op->event.event[0] != '\0';
	return STORE_R_OK;
}

enum store_result
store_audit_op(struct store *s, struct store_op *op, int64_t now)
{
	uint64_t t0 = now_ns();
	enum store_result r = STORE_R_OK;
	switch (op->kind) {
	case STORE_OP_AUDIT_HEAD:
		op->audit.size = s->fr.size;
		merkle_root(&s->fr, op->audit.root);
		break;
	case STORE_OP_AUDIT_CHECKPOINT: r = op_checkpoint(s, op); break;
	case STORE_OP_AUDIT_COSIGNATURE: r = op_cosignature(s, op); break;
	case STORE_OP_AUDIT_WITNESS: r = op_witness(s, op, now); break;
	default: r = STORE_R_ERROR; break;
	}
	atomic_fetch_add(&s->audit_ns, now_ns() - t0);
	return r;
}

/* ---- reads (loop thread, read-only connection) ---- */

static sqlite3_stmt *
r_stmt(struct store *s, int id)
{
	sqlite3_stmt *st = store_rstmt(s, id);
	if (st == NULL)
		log_warn("database %s: cannot prepare an audit read: %s", s->path,
		    sqlite3_errmsg(s->r));
	return st;
}

static int
r_fail(struct store *s, sqlite3_stmt *st)
{
	log_warn("database %s: audit read failed: %s", s->path, sqlite3_errmsg(s->r));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return -1;
}

void
store_checkpoint_clear(struct store_checkpoint *c)
{
	free(c->body);
	free(c->sig);
	free(c->cert);
	memset(c, 0, sizeof(*c));
}

/* Rows of CP_COLS, who, seen_us, forked_us into out; the count or -1 (out cleared). */
static int
read_checkpoints(struct store *s, sqlite3_stmt *st, struct store_checkpoint *out, int max)
{
	int n = 0, rc = SQLITE_DONE;
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_checkpoint *c = &out[n];
		memset(c, 0, sizeof(*c));
		c->size = (uint64_t)sqlite3_column_int64(st, 0);
		store_col_hash(st, 1, c->root);
		c->time_ms = sqlite3_column_int64(st, 2);
		store_col_text(st, 6, c->who, sizeof(c->who));
		c->seen_us = sqlite3_column_int64(st, 7);
		c->forked_us = sqlite3_column_int64(st, 8);
		n++;
		if (store_col_blob(st, 3, &c->body, &c->body_len) != 0 ||
		    store_col_blob(st, 4, &c->sig, &c->sig_len) != 0 ||
		    store_col_blob(st, 5, &c->cert, &c->cert_len) != 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		for (int i = 0; i < n; i++)
			store_checkpoint_clear(&out[i]);
		return r_fail(s, st);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return n;
}

int
store_audit_frontier(struct store *s, struct merkle_frontier *f)
{
	sqlite3_stmt *st = r_stmt(s, R_AUDIT_FRONTIER);
	memset(f, 0, sizeof(*f));
	if (st == NULL)
		return -1;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return r_fail(s, st);
	int ret = 0;
	if (rc == SQLITE_ROW && frontier_unpack(sqlite3_column_blob(st, 0),
	        (size_t)sqlite3_column_bytes(st, 0), f) != 0) {
		log_warn("database %s: the audit frontier is not one", s->path);
		ret = -1;
	}
	sqlite3_reset(st);
	return ret;
}

/* A stored hash: a leaf (level 0, by seq) or a kept node. */
static int
stored_hash(struct store *s, int id, int64_t a, int64_t b, uint8_t out[STORE_HASH_LEN])
{
	sqlite3_stmt *st = r_stmt(s, id);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, a);
	if (id == R_AUDIT_NODE)
		sqlite3_bind_int64(st, 2, b);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return r_fail(s, st);
	int ret = 0;
	if (rc != SQLITE_ROW || sqlite3_column_bytes(st, 0) != STORE_HASH_LEN) {
		if (id == R_AUDIT_NODE)
			log_warn("database %s: audit log: node %" PRId64 "/%" PRId64 " is missing",
			    s->path, a, b);
		else
			log_warn("database %s: audit log: the leaf of seq %" PRId64 " is missing",
			    s->path, a);
		ret = -1;
	} else {
		memcpy(out, sqlite3_column_blob(st, 0), STORE_HASH_LEN);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

int
store_audit_node(struct store *s, unsigned level, uint64_t index, uint8_t out[STORE_HASH_LEN])
{
	if (level == 0)
		return stored_hash(s, R_AUDIT_LEAF, (int64_t)index + 1, 0, out);
	if (level % NODE_STRIDE == 0)
		return stored_hash(s, R_AUDIT_NODE, (int64_t)level, (int64_t)index, out);
	/* Between two kept levels: at most 2^(NODE_STRIDE-1) reads of the level below. */
	uint8_t l[STORE_HASH_LEN], r[STORE_HASH_LEN];
	if (store_audit_node(s, level - 1, 2 * index, l) != 0 ||
	    store_audit_node(s, level - 1, 2 * index + 1, r) != 0)
		return -1;
	merkle_node_hash(l, r, out);
	return 0;
}

int
store_audit_get(void *arg, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	return store_audit_node(arg, level, index, out);
}

int
store_audit_checkpoints(struct store *s, uint64_t max_size, struct store_checkpoint *out,
    int max)
{
	sqlite3_stmt *st = r_stmt(s, R_AUDIT_CHECKPOINTS);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, max_size > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)max_size);
	sqlite3_bind_int(st, 2, max);
	return read_checkpoints(s, st, out, max);
}

int
store_audit_checkpoints_after(struct store *s, uint64_t after, struct store_checkpoint *out,
    int max)
{
	sqlite3_stmt *st = r_stmt(s, R_AUDIT_CHECKPOINTS_AFTER);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)after);
	sqlite3_bind_int(st, 2, max);
	return read_checkpoints(s, st, out, max);
}

int
store_audit_covering(struct store *s, uint64_t min_size, struct store_checkpoint *out)
{
	sqlite3_stmt *st = r_stmt(s, R_AUDIT_COVERING);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)min_size);
	int n = read_checkpoints(s, st, out, 1);
	return n < 0 ? -1 : n == 1 ? 0 : 1;
}

int
store_audit_cosignatures(struct store *s, uint64_t size, struct store_checkpoint *out, int max)
{
	sqlite3_stmt *st = r_stmt(s, R_AUDIT_COSIGNATURES);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)size);
	sqlite3_bind_int(st, 2, max);
	return read_checkpoints(s, st, out, max);
}

int
store_audit_cosigned_by(struct store *s,
    void (*fn)(void *arg, const char *witness, uint64_t size, int64_t count), void *arg)
{
	sqlite3_stmt *st = r_stmt(s, R_AUDIT_COSIGNED_BY);
	if (st == NULL)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char w[AUTHORITY_ID_MAX + 1];
		store_col_text(st, 0, w, sizeof(w));
		fn(arg, w, (uint64_t)sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
	}
	if (rc != SQLITE_DONE)
		return r_fail(s, st);
	sqlite3_reset(st);
	return 0;
}

int
store_audit_witnessed(struct store *s, const char *origin, struct store_checkpoint *out,
    int max)
{
	sqlite3_stmt *st = r_stmt(s, R_AUDIT_WITNESSED);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, origin != NULL ? origin : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, max);
	return read_checkpoints(s, st, out, max);
}

int64_t
store_audit_forks(struct store *s)
{
	sqlite3_stmt *st = r_stmt(s, R_AUDIT_FORKS);
	if (st == NULL)
		return -1;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return r_fail(s, st);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

void
store_audit_cost(struct store *s, uint64_t *entries, uint64_t *ns)
{
	*entries = atomic_load(&s->audit_entries);
	*ns = atomic_load(&s->audit_ns);
}
