/*
 * storedb: what store.c, storeop.c, storeread.c and the case files (storecase.c,
 * storecaseread.c) share, and nothing else may include: the store's connections and
 * statement caches. The SQL text lives in store.c (schema, messages, events, quarantine)
 * and storecase.c (the cases' statements); the others run statements by id. Never
 * include this header outside the store module: it is where sqlite3.h comes in.
 */
#ifndef ROGATORY_STOREDB_H
#define ROGATORY_STOREDB_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "merkle.h"
#include "store.h"

struct storeq;

/* Writer statements (store thread), prepared once per connection. */
enum { W_BEGIN, W_COMMIT, W_ROLLBACK, W_SAVEPOINT, W_RELEASE, W_ROLLBACK_TO, W_FIND, W_ROW,
       W_INSERT, W_UPDATE, W_DOC_PUT, W_DOC_DROP, W_RCPT_PUT, W_RCPT_DROP, W_EVENT,
       W_QUARANTINE, W_QUARANTINE_SAME, W_QUARANTINE_OTHER, W_QUARANTINE_RELEASE,
       W_QUARANTINE_ROW, W_MARK, W_ATT_REF, W_PAGES, W_AUDIT_NODE,
       W_AUDIT_FRONTIER, W_AUDIT_READ_FRONTIER, W_AUDIT_BACKFILL, W_AUDIT_BACKFILL_DONE,
       W_AUDIT_ALL_EVENTS, W_AUDIT_SET_LEAF, W_AUDIT_LAST_SEQ, W_AUDIT_CHECKPOINT,
       W_AUDIT_COSIGNATURE, W_AUDIT_WITNESS, W_AUDIT_FORK, W_AUDIT_FORK_MARK, W_PAUSE, W_RESUME, W_ALERT_FIRE,
       W_ALERT_CLEAR, W_COUNT };
/* Reader statements (loop thread, read-only connection). */
enum { R_OUTBOX, R_URGENT, R_PEERS, R_LIST_STATE, R_GET, R_GET_ANY, R_LIST, R_EVENTS_SINCE,
       R_EVENTS_OF, R_LOG_MARK, R_LAST_SEQ, R_ATT, R_MAX_BSET, R_UNSETTLED, R_QUARANTINE,
       R_QUARANTINE_SAME, R_QUARANTINE_OTHER, R_AUDIT_FRONTIER, R_AUDIT_LEAF, R_AUDIT_NODE,
       R_AUDIT_CHECKPOINTS, R_AUDIT_CHECKPOINTS_AFTER, R_AUDIT_COVERING, R_AUDIT_COSIGNATURES,
       R_AUDIT_COSIGNED_BY, R_AUDIT_WITNESSED, R_AUDIT_FORKS, R_LIST_FILTER, R_EVENTS_FILTER, R_EVENTS_LAST,
       R_EVENTS_ID, R_EVENTS_ID_LAST, R_SEQ_FROM, R_SEQ_UNTIL, R_QUEUE_STATS, R_INBOX_STATS,
       R_PAGES, R_PAUSED, R_ALERTS, R_MSG_PAGE,
       R_MSG_PAGE_LAST = R_MSG_PAGE + 11, R_MSG_NEWEST,
       R_COUNT };

/* The console's page statement for a direction (STORE_OUT, STORE_IN, STORE_DIR_ANY) and
 * its filters: R_MSG_PAGE + MSG_PAGE_K(dir, by peer, by state). */
#define MSG_PAGE_K(dir, peer, state) ((int)(dir) * 4 + ((peer) ? 2 : 0) + ((state) ? 1 : 0))
/* Case statements (storecase.c): writer (store thread) and reader (loop thread). */
enum { CW_FIND, CW_FIND_REQ, CW_SEQ_USED, CW_INSERT, CW_UPDATE, CW_DOC_INSERT, CW_DOC_SET,
       CW_WAITING, CW_APPLIED, CW_DOC_OF_MSG, CW_CLOCKS, CW_DUE, CW_MARK, CW_MARKED,
       CW_MARK_ADD, CW_COUNT };
enum { CR_LIST, CR_GET, CR_GET_ANY, CR_GET_BY_DOC, CR_BETWEEN, CR_DOCS, CR_LAST_SEQ,
       CR_STATS, CR_COUNT };
/* Statistics statements (storestats.c, reader): one per table of store_stat_tables. */
enum { SS_CASES_OPENED, SS_CASE_TIMES, SS_REASONS, SS_OFFENCES, SS_MESSAGES, SS_DELIVERY,
       SS_REJECTIONS, SS_OVERDUE, SS_ON_TIME, SS_COUNT };

/* A case's clocks in SQL over the cases table (storecase.c, storestats.c): its final
 * states, and whether each clock still runs (acknowledge-by while it is requested,
 * respond-by until it is final); a clock that runs and has passed is overdue. */
#define CASE_FINAL "('executed', 'refused', 'withdrawn', 'void')"
#define CLOCK_ACK_RUNS "state = 'requested' AND ack_by_us > 0"
#define CLOCK_RESPOND_RUNS "state NOT IN " CASE_FINAL " AND respond_by_us > 0"

/* Retrieval statements (storeretr.c): writer and reader. */
enum { TW_FIND_OUT, TW_INSERT, TW_RECEIPTED, TW_COUNT };
enum { TR_GET, TR_UNSENT, TR_COUNT };

struct store {
	char path[PATH_MAX];
	sqlite3 *w;                   /* writer: store thread (and open/close) */
	sqlite3 *r;                   /* read-only: loop thread */
	sqlite3_stmt *wst[W_COUNT];
	sqlite3_stmt *rst[R_COUNT];
	sqlite3_stmt *cwst[CW_COUNT];
	sqlite3_stmt *crst[CR_COUNT];
	sqlite3_stmt *twst[TW_COUNT];
	sqlite3_stmt *trst[TR_COUNT];
	sqlite3_stmt *sst[SS_COUNT];
	struct storeq *q;
	int64_t page_size;
	int64_t default_max_pages;    /* SQLite's own limit: what max_size 0 restores */
	uint64_t max_size_set;        /* store thread */
	_Atomic uint64_t max_size_want;
	_Atomic uint64_t commits, ops;
	bool crash_mid_commit;
	bool sync_normal;             /* store thread: the current batch holds chunks only */
	int64_t last_bset;            /* loop thread: the highest blob set id handed out */
	/* Attachment files (storeatt.c): <state_dir>/attachments; the bytes of its files
	 * (sealed and staged), for max_size. */
	char att_dir[PATH_MAX / 2];
	_Atomic int64_t att_bytes;
	struct stagerec *kept;        /* staging records kept by the sweep (storestage.c) */
	size_t n_kept;
	/* The audit tree (storeaudit.c), store thread: as the open transaction has it, as
	 * it was at BEGIN, and at the running op's SAVEPOINT, so a rollback of either puts
	 * it back with the rows. */
	struct merkle_frontier fr, fr_batch, fr_op;
	_Atomic uint64_t audit_entries, audit_ns;  /* leaves written, time spent on them */
};

/* storeop.c: the batch function the store thread runs (see storeq_batch_fn). */
void store_batch(void *ctx, struct store_op *batch, size_t n);

/* storecase.c (store thread), within an op's savepoint. SUBMIT and RECEIVE: before the
 * message row, whether its case change may happen (STORE_R_OK, or STORE_R_ILLEGAL with
 * op->error saying why); after it, the change itself with its events in op->more. */
struct storecase_plan {
	int what;                 /* STORECASE_* */
	struct store_case c;      /* STORECASE_MOVE: the case as it is */
	int to;                   /* STORECASE_MOVE: the enum case_state entered */
	int side;                 /* STORECASE_MOVE: the sender's enum case_side */
};
enum { STORECASE_NOTHING, STORECASE_OPEN, STORECASE_MOVE, STORECASE_WAIT };
enum store_result storecase_check(struct store *s, struct store_op *op,
    struct storecase_plan *plan);
enum store_result storecase_apply(struct store *s, struct store_op *op,
    const struct storecase_plan *plan, int64_t now);
/* UPDATE of an outbound message into rejected, expired, cancelled or failed: what the
 * document did to its case is void (a status no longer counts; a request's case is void). */
enum store_result storecase_outbound_final(struct store *s, struct store_op *op, int64_t now);
/* UPDATE of our request to delivered with its receipt's received_ms: its case's clocks
 * start then (the receiver's time, so both sides show the same deadlines). */
enum store_result storecase_outbound_delivered(struct store *s, struct store_op *op,
    int64_t now);
/* STORE_OP_DEADLINES (store.h). */
enum store_result storecase_deadlines(struct store *s, struct store_op *op, int64_t now);
/* Reader statement id of the cases (storecaseread.c); NULL with the error in s->r. */
sqlite3_stmt *storecase_rstmt(struct store *s, int id);
/* One row of a case statement's columns into c. */
void storecase_from_row(sqlite3_stmt *st, struct store_case *c);
/* Frees op->more. */
void store_op_more_clear(struct store_op *op);

/* store.c: */
/* Statement id of sql[] in cache, prepared on first use; NULL with the error in db. */
sqlite3_stmt *store_stmt_get(sqlite3 *db, sqlite3_stmt **cache, const char *const *sql, int id);
/* Writer statement id, prepared on first use; NULL with the error in s->w. */
sqlite3_stmt *store_wstmt(struct store *s, int id);
/* Reader statement id, prepared on first use; NULL with the error in s->r. */
sqlite3_stmt *store_rstmt(struct store *s, int id);
/* Applies max_size (0 = SQLite's own limit) on the writer connection. 0 / -1 (logged). */
int store_max_pages(struct store *s, uint64_t max_size);
int64_t store_now_us(void);
/* A NULL pointer binds NULL; the bytes must outlive the statement's step. */
void store_bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t len);
void store_col_text(sqlite3_stmt *st, int i, char *dst, size_t cap);
void store_col_hash(sqlite3_stmt *st, int i, uint8_t dst[STORE_HASH_LEN]);
/* A copy of a blob column (malloc'd; NULL and 0 for NULL). 0 / -1 out of memory. */
int store_col_blob(sqlite3_stmt *st, int i, uint8_t **dst, size_t *len);
/* One row of message columns (with blobs) into m. -1: out of memory, m cleared. */
int store_msg_from_row(sqlite3_stmt *st, struct store_msg *m);
/* One row of event columns (EV_COLS) into e. */
void store_event_from_row(sqlite3_stmt *st, struct store_event *e);
/* The refusal of (peer, msg_id, hash) from the quarantine through statements
 * W_/R_QUARANTINE_SAME and _OTHER of one connection: STORE_SETTLED_SAME with the stored
 * receipt in out (refused set); STORE_SETTLED_OTHER when that id was refused for other
 * content; STORE_SETTLED_NONE; -1 on a failed step or out of memory. */
int store_quarantine_lookup(sqlite3_stmt *same, sqlite3_stmt *other, const char *peer,
    const char *msg_id, const uint8_t hash[STORE_HASH_LEN], struct store_msg *out);

/* storeop.c, for the audit ops of storeaudit.c: op->error from the writer's message and
 * the result it means; a bound writer statement stepped to its end and reset. */
enum store_result store_op_fail(struct store *s, struct store_op *op, int rc);
/* Writes event e of op as the next row of events with its audit leaf (e->seq, e->ts_us
 * set); the frontier grows with it and is put back if the op is undone. */
enum store_result store_event_write(struct store *s, struct store_op *op, struct store_event *e,
    int64_t now);
enum store_result store_w_step(struct store *s, struct store_op *op, sqlite3_stmt *st);

/* storeaudit.c (store thread; store_audit_open at open, before the thread starts): */
/* Hashes the rows of a database migrated from before the audit log (once), loads the
 * frontier and checks it against the events table. -1 + err. */
int store_audit_open(struct store *s, char *err, size_t errlen);
void store_audit_batch_begin(struct store *s);
/* Writes the frontier when the batch grew the tree; SQLite's result code. */
int store_audit_batch_commit(struct store *s);
void store_audit_batch_abort(struct store *s);
void store_audit_op_begin(struct store *s);
void store_audit_op_abort(struct store *s);
/* Before an event row is inserted: its seq (the next leaf index + 1), time and leaf. */
enum store_result store_audit_seal(struct store *s, struct store_op *op,
    struct store_event *e, int64_t now);
/* After it was inserted: the leaf joins the tree (and any node of 16^k leaves closed). */
enum store_result store_audit_append(struct store *s, struct store_op *op,
    const struct store_event *e);
/* STORE_OP_AUDIT_HEAD, _CHECKPOINT, _COSIGNATURE, _WITNESS. */
enum store_result store_audit_op(struct store *s, struct store_op *op, int64_t now);

/* storeread.c: */
/* Steps a bound reader statement into out (at most max rows); the count, or -1 (logged,
 * the statement reset). */
int store_read_events(struct store *s, sqlite3_stmt *st, struct store_event *out, int max);
int store_read_msgs(struct store *s, sqlite3_stmt *st, struct store_msg *out, int max);
/* The reader statement id (NULL logged) and a failed step (logged, reset; -1). */
sqlite3_stmt *store_r_stmt(struct store *s, int id);
int store_r_fail(struct store *s, sqlite3_stmt *st);

/* storeop.c: writes op->event (seq and ts_us filled). */
enum store_result store_write_event(struct store *s, struct store_op *op, int64_t now);
/* storeretr.c (store thread): STORE_OP_RETRIEVED, STORE_OP_RETRIEVAL_RECEIPTED, and the
 * obligation a first `fetched` UPDATE writes (op->retr set). */
enum store_result store_op_retrieved(struct store *s, struct store_op *op, int64_t now);
enum store_result store_op_retrieval_receipted(struct store *s, struct store_op *op,
    int64_t now);
enum store_result store_retrieval_oblige(struct store *s, struct store_op *op, int64_t now);
/* storeatt.c: attachments as files. At open (before the thread): the folders, chunk
 * rows of an older store moved into files, the sweep of staging and of files no row
 * names; -1 + err. Store thread: STORE_OP_DROP_SET; the seal of op->msg.atts inside a
 * SUBMIT or RECEIVE, before its row. Loop thread: store_stage_write and the read of
 * store_chunk_read (store.h). */
int storeatt_open(struct store *s, const char *state_dir, char *err, size_t errlen);
enum store_result storeatt_drop(struct store *s, struct store_op *op);
enum store_result storeatt_seal(struct store *s, struct store_op *op);
int storeatt_read(struct store *s, int64_t bset, uint32_t att, uint64_t off, size_t max,
    uint8_t **data, size_t *len);
int64_t storeatt_bytes(struct store *s);

/* storeatt.c: len bytes of the file at path from off into dst. 0 / -1 + err. */
int storeatt_pread(const char *path, uint64_t off, uint8_t *dst, size_t len, char *err,
    size_t errlen);
/* storeatt.c: the staging file of (bset, att). */
void storeatt_staging_path(const struct store *s, int64_t bset, uint32_t att, char *out,
    size_t len);
/* storestage.c: staging records. At open, from the sweep: staging with a valid record is
 * kept (files cut to its durable point, s->kept), every other staging file removed, each
 * with one log line; -1 + err when the folder cannot be read. Either thread: the record
 * of bset removed (its staging dropped or sealed). */
int storestage_sweep(struct store *s, char *err, size_t errlen);
void storestage_forget(struct store *s, int64_t bset);

/* storeoper.c: STORE_OP_PAUSE and STORE_OP_ALERT (store thread). */
enum store_result store_op_pause(struct store *s, struct store_op *op, int64_t now);
enum store_result store_op_alert(struct store *s, struct store_op *op, int64_t now);

#endif
