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
       W_INSERT, W_UPDATE, W_EVENT, W_QUARANTINE, W_QUARANTINE_SAME, W_QUARANTINE_OTHER,
       W_QUARANTINE_RELEASE,
       W_QUARANTINE_ROW, W_MARK, W_CHUNK, W_DROP_SET, W_ORPHANS, W_COUNT };
/* Reader statements (loop thread, read-only connection). */
enum { R_OUTBOX, R_URGENT, R_PEERS, R_LIST_STATE, R_GET, R_GET_ANY, R_LIST, R_EVENTS_SINCE,
       R_EVENTS_OF, R_LOG_MARK, R_LAST_SEQ, R_CHUNK, R_MAX_BSET, R_UNSETTLED, R_QUARANTINE,
       R_QUARANTINE_SAME, R_QUARANTINE_OTHER, R_COUNT };

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
/* The refusal of (peer, msg_id, hash) from the quarantine through statements
 * W_/R_QUARANTINE_SAME and _OTHER of one connection: STORE_SETTLED_SAME with the stored
 * receipt in out (refused set); STORE_SETTLED_OTHER when that id was refused for other
 * content; STORE_SETTLED_NONE; -1 on a failed step or out of memory. */
int store_quarantine_lookup(sqlite3_stmt *same, sqlite3_stmt *other, const char *peer,
    const char *msg_id, const uint8_t hash[STORE_HASH_LEN], struct store_msg *out);

#endif
