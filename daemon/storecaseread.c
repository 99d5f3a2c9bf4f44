/*
 * storecaseread: the cases' reads (contract in store.h), on the loop thread through the
 * read-only connection, with the statements storecase.c holds. It must never write and
 * never be called from the store thread. Error policy as storeread.c: a failed read logs
 * the database's message and returns -1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "storedb.h"

static sqlite3_stmt *
cr(struct store *s, int id)
{
	sqlite3_stmt *st = storecase_rstmt(s, id);
	if (st == NULL)
		log_warn("database %s: cannot prepare a case read: %s", s->path, sqlite3_errmsg(s->r));
	return st;
}

static int
cr_fail(struct store *s, sqlite3_stmt *st)
{
	log_warn("database %s: case read failed: %s", s->path, sqlite3_errmsg(s->r));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return -1;
}

static void
text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Steps a bound statement of case rows into out (at most max). Count or -1. */
static int
read_cases(struct store *s, sqlite3_stmt *st, struct store_case *out, int max)
{
	int n = 0, rc = SQLITE_DONE;
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		storecase_from_row(st, &out[n++]);
	if (n < max && rc != SQLITE_DONE)
		return cr_fail(s, st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return n;
}

int
store_case_list(struct store *s, const struct store_case_filter *f, int64_t before_id,
    struct store_case *out, int max)
{
	sqlite3_stmt *st = cr(s, CR_LIST);
	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, (int)f->dir);
	text(st, 2, f->state);
	text(st, 3, f->peer);
	sqlite3_bind_int(st, 4, f->kind);
	sqlite3_bind_int64(st, 5, before_id);
	sqlite3_bind_int(st, 6, max);
	sqlite3_bind_int(st, 7, f->overdue ? 1 : 0);
	/* now + within, saturated (an operator may ask for centuries). */
	int64_t by = f->due_within_us <= 0 ? 0 : f->due_within_us > INT64_MAX - f->now_us ?
	    INT64_MAX : f->now_us + f->due_within_us;
	sqlite3_bind_int64(st, 8, by);
	sqlite3_bind_int64(st, 9, f->now_us);
	return read_cases(s, st, out, max);
}

int
store_case_get(struct store *s, const char *request_id, const char *requester,
    struct store_case *out)
{
	sqlite3_stmt *st = cr(s, requester != NULL ? CR_GET : CR_GET_ANY);
	if (st == NULL)
		return -1;
	text(st, 1, request_id);
	if (requester != NULL)
		text(st, 2, requester);
	int n = read_cases(s, st, out, 1);
	if (n != 0 || requester != NULL)
		return n < 0 ? -1 : n == 1 ? 0 : 1;
	/* Not a request's id: perhaps one of its status documents'. */
	if ((st = cr(s, CR_GET_BY_DOC)) == NULL)
		return -1;
	text(st, 1, request_id);
	n = read_cases(s, st, out, 1);
	return n < 0 ? -1 : n == 1 ? 0 : 1;
}

int
store_case_between(struct store *s, const char *request_id, const char *a, const char *b,
    struct store_case *out)
{
	sqlite3_stmt *st = cr(s, CR_BETWEEN);
	if (st == NULL)
		return -1;
	text(st, 1, request_id);
	text(st, 2, a);
	text(st, 3, b);
	int n = read_cases(s, st, out, 1);
	return n < 0 ? -1 : n == 1 ? 0 : 1;
}

int
store_case_docs(struct store *s, const struct store_case *c, struct store_case_doc *out,
    int max)
{
	sqlite3_stmt *st = cr(s, CR_DOCS);
	if (st == NULL)
		return -1;
	text(st, 1, c->request_id);
	text(st, 2, c->requester);
	int n = 0, rc = SQLITE_DONE;
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_case_doc *d = &out[n++];
		memset(d, 0, sizeof(*d));
		d->id = sqlite3_column_int64(st, 0);
		d->dir = sqlite3_column_int(st, 1) == STORE_IN ? STORE_IN : STORE_OUT;
		store_col_text(st, 2, d->sender, sizeof(d->sender));
		store_col_text(st, 3, d->msg_id, sizeof(d->msg_id));
		d->status = sqlite3_column_int(st, 4);
		store_col_text(st, 5, d->side, sizeof(d->side));
		d->sequence = (uint64_t)sqlite3_column_int64(st, 6);
		store_col_text(st, 7, d->applied, sizeof(d->applied));
		store_col_text(st, 8, d->note, sizeof(d->note));
		d->ts_us = sqlite3_column_int64(st, 9);
	}
	if (n < max && rc != SQLITE_DONE)
		return cr_fail(s, st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return n;
}

int64_t
store_case_last_sequence(struct store *s, const struct store_case *c, const char *sender)
{
	sqlite3_stmt *st = cr(s, CR_LAST_SEQ);
	if (st == NULL)
		return -1;
	text(st, 1, c->request_id);
	text(st, 2, c->requester);
	text(st, 3, sender);
	int64_t v = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		return cr_fail(s, st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return v;
}

int
store_case_stats(struct store *s, void (*fn)(void *arg, enum store_dir dir, const char *state,
    int64_t count), void *arg)
{
	sqlite3_stmt *st = cr(s, CR_STATS);
	if (st == NULL)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *state = sqlite3_column_text(st, 1);
		fn(arg, sqlite3_column_int(st, 0) == STORE_IN ? STORE_IN : STORE_OUT,
		    state != NULL ? (const char *)state : "", sqlite3_column_int64(st, 2));
	}
	if (rc != SQLITE_DONE)
		return cr_fail(s, st);
	sqlite3_reset(st);
	return 0;
}
