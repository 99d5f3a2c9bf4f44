/*
 * storedb: what store.c, storeop.c and storeread.c share, and nothing else may include:
 * the store's connections and statement caches. The SQL text (schema, every statement)
 * lives in store.c alone; storeop.c and storeread.c run its statements by id. Never
 * include this header outside the store module: it is where sqlite3.h comes in.
 */
#ifndef ROGATORY_STOREDB_H
#define ROGATORY_STOREDB_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

struct storeq;

/* Writer statements (store thread), prepared once per connection. */
enum { W_BEGIN, W_COMMIT, W_ROLLBACK, W_SAVEPOINT, W_RELEASE, W_ROLLBACK_TO, W_FIND, W_ROW,
       W_INSERT, W_UPDATE, W_EVENT, W_QUARANTINE, W_QUARANTINE_FIND, W_QUARANTINE_RELEASE,
       W_QUARANTINE_ROW, W_MARK, W_CHUNK, W_DROP_SET, W_ORPHANS, W_PAUSE, W_RESUME,
       W_ALERT_FIRE, W_ALERT_CLEAR, W_COUNT };
/* Reader statements (loop thread, read-only connection). */
enum { R_OUTBOX, R_URGENT, R_PEERS, R_LIST_STATE, R_GET, R_GET_ANY, R_LIST, R_EVENTS_SINCE,
       R_EVENTS_OF, R_LOG_MARK, R_LAST_SEQ, R_CHUNK, R_MAX_BSET, R_UNSETTLED, R_QUARANTINE,
       R_QUARANTINE_FIND, R_LIST_FILTER, R_EVENTS_FILTER, R_EVENTS_LAST, R_EVENTS_ID,
       R_EVENTS_ID_LAST, R_SEQ_FROM, R_SEQ_UNTIL, R_QUEUE_STATS, R_INBOX_STATS, R_CREATED,
       R_PAGES, R_PAUSED, R_ALERTS, R_COUNT };

struct store {
	char path[PATH_MAX];
	sqlite3 *w;                   /* writer: store thread (and open/close) */
	sqlite3 *r;                   /* read-only: loop thread */
	sqlite3_stmt *wst[W_COUNT];
	sqlite3_stmt *rst[R_COUNT];
	struct storeq *q;
	int64_t page_size;
	int64_t default_max_pages;    /* SQLite's own limit: what max_size 0 restores */
	uint64_t max_size_set;        /* store thread */
	_Atomic uint64_t max_size_want;
	_Atomic uint64_t commits, ops;
	bool crash_mid_commit;
	bool sync_normal;             /* store thread: the current batch holds chunks only */
	int64_t last_bset;            /* loop thread: the highest blob set id handed out */
};

/* storeop.c: the batch function the store thread runs (see storeq_batch_fn). */
void store_batch(void *ctx, struct store_op *batch, size_t n);

/* store.c: */
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
/* One row of message columns (with blobs) into m. -1: out of memory, m cleared. */
int store_msg_from_row(sqlite3_stmt *st, struct store_msg *m);
/* Steps a bound quarantine lookup (W_/R_QUARANTINE_FIND) through its rows: the refusal
 * of the same payload hash into out (receipt blobs, refused = true) and STORE_SETTLED_SAME,
 * else STORE_SETTLED_OTHER when a row names other content, else STORE_SETTLED_NONE;
 * -1 on a failed step or out of memory (the statement is reset either way). */
int store_quarantine_match(sqlite3_stmt *st, const uint8_t hash[STORE_HASH_LEN],
    struct store_msg *out);

/* storeread.c: */
/* One row of EV_COLS into e (zeroed first). */
void store_event_from_row(sqlite3_stmt *st, struct store_event *e);
/* Steps a bound reader statement into out (at most max rows); the count, or -1 (logged,
 * the statement reset). */
int store_read_events(struct store *s, sqlite3_stmt *st, struct store_event *out, int max);
int store_read_msgs(struct store *s, sqlite3_stmt *st, struct store_msg *out, int max);
/* The reader statement id (NULL logged) and a failed step (logged, reset; -1). */
sqlite3_stmt *store_r_stmt(struct store *s, int id);
int store_r_fail(struct store *s, sqlite3_stmt *st);

/* storeop.c: writes op->event (seq and ts_us filled). */
enum store_result store_write_event(struct store *s, struct store_op *op, int64_t now);
/* storeoper.c: STORE_OP_PAUSE and STORE_OP_ALERT (store thread). */
enum store_result store_op_pause(struct store *s, struct store_op *op, int64_t now);
enum store_result store_op_alert(struct store *s, struct store_op *op, int64_t now);

#endif
