/*
 * Unit tests for daemon/store.c, storeop.c and storeq.c against real SQLite files in temp
 * folders: open/reopen, schema version, refusal of newer and corrupt databases (byte for
 * byte unchanged), file mode, every op kind and its duplicate/conflict/stale answers,
 * group commit and per-op savepoints, outbox paging through its index, events and the log
 * mark, SQLITE_FULL and max_size at run time, and close draining the queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <dirent.h>
#include <openssl/sha.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>

#include "../support/schema.h"
#include "../support/support.h"

#include "clocks.h"
#include "outstate.h"
#include "store.h"
#include "wire.h"

#define ME "BD-ACC"
#define PEER "FR-MJ"
#define OTHER "US-DOJ-OIA"
#define WAIT_MS 10000

struct fx {
	char *dir;
	char db[512];
	struct event_base *base;
	struct event *tick;
	struct store *s;
	int done;
};

static struct fx fx;
static uint8_t doc[2048];
static uint8_t sig[72];
static uint8_t cert[512];

static void tick_cb(evutil_socket_t fd, short what, void *arg);
static void fx_setup(void);
static void fx_teardown(void);
static void fx_open(uint64_t max_size);
static void fx_close(void);
static int fx_open_err(char *err, size_t errlen);
static void op_count(struct store_op *op, void *arg);
static void fx_wait(int n);
static void fx_run(struct store_op *ops, int n);
static void msg_id(char out[UUID_TEXT_LEN + 1], int n);
static void msg_out(struct store_msg *m, int n, const char *to, bool urgent);
static void op_submit(struct store_op *op, int n, const char *to, bool urgent);
static void op_receive(struct store_op *op, int n, uint8_t hash_byte, uint8_t rcpt_byte);
static void op_update(struct store_op *op, int n, enum store_state to, unsigned mask);
static void op_send_first(struct store_op *u, int n);
static void free_ops(struct store_op *ops, int n);
static void make_db_with_rows(int rows);
static char *db_bytes(size_t *len, struct timespec *mtime);
static void expect_unchanged(const char *before, size_t len, struct timespec mtime);
static int64_t page_ids(int64_t now, int64_t after, int max, int64_t *ids, int *n);
static void peer_cb(void *arg, const char *peer, int64_t earliest_us);

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void
fx_setup(void)
{
	memset(&fx, 0, sizeof(fx));
	for (size_t i = 0; i < sizeof(doc); i++)
		doc[i] = (uint8_t)(i * 7 + 3);
	memset(sig, 0x51, sizeof(sig));
	memset(cert, 0xce, sizeof(cert));
	cr_assert(evthread_use_pthreads() == 0);
	fx.base = event_base_new();
	cr_assert_not_null(fx.base);
	/* Wakes the loop now and then so a lost completion fails the test instead of hanging. */
	fx.tick = event_new(fx.base, -1, EV_PERSIST, tick_cb, NULL);
	struct timeval tv = { 0, 50000 };
	event_add(fx.tick, &tv);
	fx.dir = ts_tmpdir("store");
	snprintf(fx.db, sizeof(fx.db), "%s/rogatory.db", fx.dir);
}

static void
fx_teardown(void)
{
	fx_close();
	event_free(fx.tick);
	event_base_free(fx.base);
	ts_rmrf(fx.dir);
	free(fx.dir);
}

static int
fx_open_err(char *err, size_t errlen)
{
	return store_open(fx.dir, 0, fx.base, &fx.s, err, errlen);
}

static void
fx_open(uint64_t max_size)
{
	char err[512] = "";
	cr_assert_eq(store_open(fx.dir, max_size, fx.base, &fx.s, err, sizeof(err)), 0,
	    "store_open: %s", err);
}

static void
fx_close(void)
{
	store_close(fx.s);
	fx.s = NULL;
}

static void
op_count(struct store_op *op, void *arg)
{
	(void)op;
	(void)arg;
	fx.done++;
}

static void
fx_wait(int n)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (fx.done < n) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		cr_assert((t.tv_sec - t0.tv_sec) * 1000 < WAIT_MS, "only %d of %d ops completed",
		    fx.done, n);
		event_base_loop(fx.base, EVLOOP_ONCE);
	}
}

/* Submits ops[0..n) and runs the loop until all completed. */
static void
fx_run(struct store_op *ops, int n)
{
	int want = fx.done + n;
	for (int i = 0; i < n; i++) {
		ops[i].done = op_count;
		store_submit(fx.s, &ops[i]);
	}
	fx_wait(want);
}

static void
msg_id(char out[UUID_TEXT_LEN + 1], int n)
{
	snprintf(out, UUID_TEXT_LEN + 1, "00000000-0000-4000-8000-%012d", n);
}

static void
msg_out(struct store_msg *m, int n, const char *to, bool urgent)
{
	memset(m, 0, sizeof(*m));
	msg_id(m->msg_id, n);
	snprintf(m->sender, sizeof(m->sender), "%s", ME);
	snprintf(m->recipient, sizeof(m->recipient), "%s", to);
	m->kind = 1;
	m->urgent = urgent;
	m->expire_at_us = INT64_MAX / 2;
	memset(m->submit_hash, n & 0xff, STORE_HASH_LEN);
	memset(m->payload_hash, (n + 1) & 0xff, STORE_HASH_LEN);
	doc[0] = (uint8_t)n;
	m->doc_body = doc;
	m->doc_body_len = sizeof(doc);
	m->doc_sig = sig;
	m->doc_sig_len = sizeof(sig);
	m->doc_cert = cert;
	m->doc_cert_len = sizeof(cert);
}

static void
op_submit(struct store_op *op, int n, const char *to, bool urgent)
{
	memset(op, 0, sizeof(*op));
	op->kind = STORE_OP_SUBMIT;
	msg_out(&op->msg, n, to, urgent);
}

/* An inbound message from PEER; rcpt_byte fills our receipt's blobs (heap, freed by
 * free_ops). */
static void
op_receive(struct store_op *op, int n, uint8_t hash_byte, uint8_t rcpt_byte)
{
	memset(op, 0, sizeof(*op));
	op->kind = STORE_OP_RECEIVE;
	msg_out(&op->msg, n, ME, false);
	snprintf(op->msg.sender, sizeof(op->msg.sender), "%s", PEER);
	memset(op->msg.payload_hash, hash_byte, STORE_HASH_LEN);
	op->msg.rcpt_body_len = 300;
	op->msg.rcpt_body = malloc(300);
	op->msg.rcpt_sig_len = 70;
	op->msg.rcpt_sig = malloc(70);
	op->msg.rcpt_cert_len = 400;
	op->msg.rcpt_cert = malloc(400);
	cr_assert(op->msg.rcpt_body && op->msg.rcpt_sig && op->msg.rcpt_cert);
	memset(op->msg.rcpt_body, rcpt_byte, 300);
	memset(op->msg.rcpt_sig, rcpt_byte ^ 0x11, 70);
	memset(op->msg.rcpt_cert, rcpt_byte ^ 0x22, 400);
}

static void
op_update(struct store_op *op, int n, enum store_state to, unsigned mask)
{
	memset(op, 0, sizeof(*op));
	op->kind = STORE_OP_UPDATE;
	op->msg.dir = STORE_OUT;
	msg_id(op->msg.msg_id, n);
	snprintf(op->msg.sender, sizeof(op->msg.sender), "%s", ME);
	op->msg.state = to;
	op->expect_state_mask = mask;
}

static void
free_ops(struct store_op *ops, int n)
{
	for (int i = 0; i < n; i++) {
		store_msg_clear(&ops[i].stored);
		if (ops[i].kind == STORE_OP_RECEIVE || ops[i].kind == STORE_OP_QUARANTINE) {
			free(ops[i].msg.rcpt_body);
			free(ops[i].msg.rcpt_sig);
			free(ops[i].msg.rcpt_cert);
		}
	}
}

static void
make_db_with_rows(int rows)
{
	struct store_op *ops = calloc((size_t)rows, sizeof(*ops));
	cr_assert_not_null(ops);
	fx_open(0);
	for (int i = 0; i < rows; i++)
		op_submit(&ops[i], i + 1, PEER, false);
	fx_run(ops, rows);
	for (int i = 0; i < rows; i++)
		cr_assert_eq(ops[i].result, STORE_R_OK);
	free_ops(ops, rows);
	free(ops);
	fx_close();
}

static char *
db_bytes(size_t *len, struct timespec *mtime)
{
	struct stat st;
	cr_assert_eq(stat(fx.db, &st), 0);
	*mtime = st.st_mtim;
	char *b = ts_read_file(fx.db, len);
	cr_assert_not_null(b);
	return b;
}

static void
expect_unchanged(const char *before, size_t len, struct timespec mtime)
{
	size_t now_len;
	struct timespec now_mtime;
	char *now = db_bytes(&now_len, &now_mtime);
	cr_assert_eq(now_len, len, "size changed: %zu -> %zu", len, now_len);
	cr_assert(memcmp(now, before, len) == 0, "database bytes changed");
	cr_assert(now_mtime.tv_sec == mtime.tv_sec && now_mtime.tv_nsec == mtime.tv_nsec,
	    "database mtime changed");
	free(now);
	/* Nor did the look leave a journal behind. */
	char side[600];
	snprintf(side, sizeof(side), "%s-wal", fx.db);
	cr_assert(access(side, F_OK) == -1, "%s left behind", side);
	snprintf(side, sizeof(side), "%s-shm", fx.db);
	cr_assert(access(side, F_OK) == -1, "%s left behind", side);
}

TestSuite(store, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

Test(store, open_close_reopen_keeps_rows)
{
	struct store_op op;
	struct store_msg m;
	fx_open(0);
	op_submit(&op, 1, PEER, false);
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	fx_close();
	fx_open(0);
	cr_assert_eq(store_get(fx.s, STORE_OUT, ME, op.msg.msg_id, &m), 0);
	cr_assert_eq(m.state, STORE_QUEUED);
	store_msg_clear(&m);
	cr_assert_eq(store_get(fx.s, STORE_OUT, ME, "00000000-0000-4000-8000-999999999999", &m),
	    1);
	fx_close();
	fx_open(0);
}

Test(store, schema_version_and_application_id_in_the_header)
{
	size_t len;
	fx_open(0);
	fx_close();
	unsigned char *b = (unsigned char *)ts_read_file(fx.db, &len);
	cr_assert(b != NULL && len >= 100);
	uint32_t version = (uint32_t)b[60] << 24 | b[61] << 16 | b[62] << 8 | b[63];
	uint32_t app = (uint32_t)b[68] << 24 | b[69] << 16 | b[70] << 8 | b[71];
	cr_assert_eq(version, STORE_SCHEMA_VERSION);
	cr_assert_eq(app, 0x524f4741);
	cr_assert_eq(b[18], 2, "not in WAL mode");
	free(b);
}

Test(store, file_is_created_0600)
{
	struct stat st;
	struct store_op op;
	char wal[600];
	fx_open(0);
	cr_assert_eq(stat(fx.db, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	/* SQLite gives its -wal the main file's mode. */
	op_submit(&op, 1, PEER, false);
	fx_run(&op, 1);
	snprintf(wal, sizeof(wal), "%s-wal", fx.db);
	cr_assert_eq(stat(wal, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "-wal mode %o", st.st_mode & 0777);
}

Test(store, newer_schema_is_refused_and_left_unchanged)
{
	char err[512] = "";
	size_t len;
	struct timespec mtime;
	make_db_with_rows(3);
	int fd = open(fx.db, O_RDWR);
	cr_assert(fd >= 0);
	const unsigned char v99[4] = { 0, 0, 0, 99 };
	cr_assert_eq(pwrite(fd, v99, 4, 60), 4);
	close(fd);
	char *before = db_bytes(&len, &mtime);
	cr_assert_eq(fx_open_err(err, sizeof(err)), -1);
	cr_assert_null(fx.s);
	cr_assert(strstr(err, fx.db) != NULL, "%s", err);
	char want[128];
	snprintf(want, sizeof(want), "has schema version 99; this rogatoryd knows up to %d; "
	    "refusing to touch it", STORE_SCHEMA_VERSION);
	cr_assert(strstr(err, want) != NULL, "%s", err);
	expect_unchanged(before, len, mtime);
	free(before);
}

Test(store, garbage_file_is_refused_as_corrupt_and_left_unchanged)
{
	char err[512] = "";
	size_t len;
	struct timespec mtime;
	char junk[8192];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)('A' + i % 23);
	junk[sizeof(junk) - 1] = '\0';
	ts_write_file(fx.db, junk, 0600);
	char *before = db_bytes(&len, &mtime);
	cr_assert_eq(fx_open_err(err, sizeof(err)), -1);
	cr_assert(strstr(err, "is corrupt (quick_check: ") != NULL, "%s", err);
	cr_assert(strstr(err, "); it was not modified") != NULL, "%s", err);
	cr_assert(strstr(err, fx.db) != NULL, "%s", err);
	expect_unchanged(before, len, mtime);
	free(before);
}

Test(store, overwritten_pages_are_refused_as_corrupt_and_left_unchanged)
{
	char err[512] = "";
	size_t len;
	struct timespec mtime;
	unsigned char junk[4096];
	make_db_with_rows(40);
	struct stat st;
	cr_assert_eq(stat(fx.db, &st), 0);
	cr_assert(st.st_size >= 16 * 4096, "db too small: %lld", (long long)st.st_size);
	/* A whole page in the middle of the file: b-tree pages and overflow chains alike
	 * then point nowhere or hold a bad header. */
	memset(junk, 0xff, sizeof(junk));
	off_t at = (st.st_size / 2) / 4096 * 4096;
	int fd = open(fx.db, O_RDWR);
	cr_assert(fd >= 0);
	cr_assert_eq(pwrite(fd, junk, sizeof(junk), at), (ssize_t)sizeof(junk));
	close(fd);
	char *before = db_bytes(&len, &mtime);
	cr_assert_eq(fx_open_err(err, sizeof(err)), -1);
	cr_assert(strstr(err, "is corrupt (quick_check: ") != NULL, "%s", err);
	/* What SQLite found, not an empty finding: it names the page or says malformed
	 * (whether the finding came with the "*** in database main ***" line or not). */
	cr_assert(strstr(err, "malformed") != NULL || strstr(err, "Page ") != NULL ||
	    strstr(err, "page ") != NULL, "%s", err);
	cr_assert(strstr(err, "it was not modified") != NULL, "%s", err);
	expect_unchanged(before, len, mtime);
	free(before);
}

Test(store, submit_round_trip)
{
	struct store_op op;
	struct store_msg m;
	struct store_event ev[4];
	fx_open(0);
	op_submit(&op, 7, PEER, true);
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	cr_assert_gt(op.msg.rowid, 0);
	cr_assert_gt(op.msg.created_us, 0);
	cr_assert_gt(op.event.seq, 0);
	cr_assert_gt(op.event.ts_us, 0);
	cr_assert_str_eq(op.event.event, "queued");
	cr_assert_str_eq(op.event.peer, PEER);
	cr_assert_eq(store_pending(fx.s), 0);

	cr_assert_eq(store_get(fx.s, STORE_OUT, ME, op.msg.msg_id, &m), 0);
	cr_assert_eq(m.rowid, op.msg.rowid);
	cr_assert_eq(m.state, STORE_QUEUED);
	cr_assert(m.urgent);
	cr_assert_str_eq(m.recipient, PEER);
	cr_assert_eq(m.doc_body_len, sizeof(doc));
	cr_assert(memcmp(m.doc_body, doc, sizeof(doc)) == 0);
	cr_assert(memcmp(m.doc_cert, cert, sizeof(cert)) == 0);
	cr_assert(memcmp(m.submit_hash, op.msg.submit_hash, STORE_HASH_LEN) == 0);
	cr_assert_null(m.rcpt_body);
	store_msg_clear(&m);
	cr_assert_eq(store_get(fx.s, STORE_OUT, NULL, op.msg.msg_id, &m), 0, "any sender");
	store_msg_clear(&m);

	cr_assert_eq(store_events_of(fx.s, op.msg.msg_id, ev, 4), 1);
	cr_assert_eq(ev[0].seq, op.event.seq);
	cr_assert_str_eq(ev[0].state, "queued");
}

/* An update's event carries the message's submission time (metrics' delivery latency
 * reads no row); other events and events read back do not. */
Test(store, update_event_carries_the_message_created_us)
{
	struct store_op op;
	struct store_event ev[4];
	fx_open(0);
	op_submit(&op, 8, PEER, false);
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	cr_assert_eq(op.event.msg_created_us, 0, "not on a submission's event");
	int64_t created = op.msg.created_us;
	cr_assert_gt(created, 0);
	op_update(&op, 8, STORE_DELIVERED, 0);
	op.has_event = true;
	snprintf(op.event.event, sizeof(op.event.event), "delivered");
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	cr_assert_eq(op.event.msg_created_us, created);
	cr_assert_geq(op.event.ts_us, created);
	cr_assert_eq(store_events_of(fx.s, op.msg.msg_id, ev, 4), 2);
	cr_assert_eq(ev[1].msg_created_us, 0, "not a column");
}

Test(store, group_commit_takes_many_ops_per_transaction)
{
	enum { N = 1000 };
	uint64_t commits, ops;
	struct store_op *v = calloc(N, sizeof(*v));
	cr_assert_not_null(v);
	fx_open(0);
	for (int i = 0; i < N; i++)
		op_submit(&v[i], i + 1, PEER, false);
	fx_run(v, N);
	for (int i = 0; i < N; i++)
		cr_assert_eq(v[i].result, STORE_R_OK, "op %d: %s", i, v[i].error);
	store_stats(fx.s, &commits, &ops);
	cr_assert_eq(ops, N);
	cr_assert_lt(commits, 50, "%llu transactions for %d ops", (unsigned long long)commits, N);
	cr_assert_eq(store_last_seq(fx.s), N);

	/* Held: whatever is submitted meanwhile is exactly one batch. */
	for (int i = 0; i < N; i++)
		op_submit(&v[i], N + i + 1, PEER, false);
	store_test_hold(fx.s, true);
	for (int i = 0; i < N; i++) {
		v[i].done = op_count;
		store_submit(fx.s, &v[i]);
	}
	cr_assert_eq(store_pending(fx.s), N);
	store_test_hold(fx.s, false);
	fx_wait(2 * N);
	uint64_t commits2;
	store_stats(fx.s, &commits2, &ops);
	cr_assert_eq(commits2, commits + 1);
	cr_assert_eq(ops, 2 * N);
	free(v);
}

Test(store, one_bad_op_does_not_fail_its_batch)
{
	struct store_op first, v[5];
	struct store_msg m;
	uint64_t c0, c1, n;
	fx_open(0);
	op_submit(&first, 1, PEER, false);
	fx_run(&first, 1);
	cr_assert_eq(first.result, STORE_R_OK);
	store_stats(fx.s, &c0, &n);

	op_submit(&v[0], 2, PEER, false);
	op_update(&v[1], 99, STORE_SENDING, 0);            /* no such message */
	op_update(&v[2], 1, STORE_SENDING, 0);             /* fails after its UPDATE ran */
	v[2].set = STORE_SET_ATTEMPTS;
	v[2].msg.attempts = 5;
	v[2].has_event = true;                             /* an event without a name */
	op_submit(&v[3], 2, PEER, false);                  /* same id as v[0], other hash */
	memset(v[3].msg.submit_hash, 0xee, STORE_HASH_LEN);
	op_submit(&v[4], 3, PEER, false);
	store_test_hold(fx.s, true);
	for (int i = 0; i < 5; i++) {
		v[i].done = op_count;
		store_submit(fx.s, &v[i]);
	}
	store_test_hold(fx.s, false);
	fx_wait(6);
	store_stats(fx.s, &c1, &n);
	cr_assert_eq(c1, c0 + 1, "not one batch");
	cr_assert_eq(v[0].result, STORE_R_OK, "%s", v[0].error);
	cr_assert_eq(v[1].result, STORE_R_NOT_FOUND);
	cr_assert_eq(v[2].result, STORE_R_ERROR);
	cr_assert(strstr(v[2].error, "CHECK constraint") != NULL, "%s", v[2].error);
	cr_assert_eq(v[2].event.seq, 0);
	cr_assert_eq(v[3].result, STORE_R_CONFLICT);
	cr_assert_eq(v[4].result, STORE_R_OK, "%s", v[4].error);
	/* The failed op's own UPDATE was rolled back with its savepoint. */
	cr_assert_eq(store_get(fx.s, STORE_OUT, ME, first.msg.msg_id, &m), 0);
	cr_assert_eq(m.state, STORE_QUEUED);
	cr_assert_eq(m.attempts, 0);
	store_msg_clear(&m);
	cr_assert_eq(store_get(fx.s, STORE_OUT, ME, v[4].msg.msg_id, &m), 0);
	store_msg_clear(&m);
	cr_assert_eq(store_last_seq(fx.s), 3);
}

Test(store, submit_same_id_exists_or_conflicts)
{
	struct store_op a, b, c;
	fx_open(0);
	op_submit(&a, 5, PEER, false);
	fx_run(&a, 1);
	cr_assert_eq(a.result, STORE_R_OK);
	op_submit(&b, 5, PEER, false);
	fx_run(&b, 1);
	cr_assert_eq(b.result, STORE_R_EXISTS);
	cr_assert_eq(b.stored.rowid, a.msg.rowid);
	cr_assert_eq(b.stored.state, STORE_QUEUED);
	cr_assert_eq(b.stored.doc_body_len, sizeof(doc));
	cr_assert_eq(b.event.seq, 0, "no event for a resubmission");
	op_submit(&c, 5, PEER, false);
	c.msg.submit_hash[0] ^= 1;
	fx_run(&c, 1);
	cr_assert_eq(c.result, STORE_R_CONFLICT);
	cr_assert_eq(c.event.seq, 0);
	cr_assert_eq(store_last_seq(fx.s), 1);
	free_ops(&b, 1);
}

/* The whole receipt of a (body, signature, certificate), byte for byte, is b's. */
static void
assert_same_receipt(const struct store_msg *a, const struct store_msg *b)
{
	const struct {
		const char *what;
		const uint8_t *pa, *pb;
		size_t la, lb;
	} part[] = {
		{"body", a->rcpt_body, b->rcpt_body, a->rcpt_body_len, b->rcpt_body_len},
		{"signature", a->rcpt_sig, b->rcpt_sig, a->rcpt_sig_len, b->rcpt_sig_len},
		{"certificate", a->rcpt_cert, b->rcpt_cert, a->rcpt_cert_len, b->rcpt_cert_len},
	};
	for (size_t i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
		cr_assert_eq(part[i].la, part[i].lb, "receipt %s: %zu bytes, not %zu", part[i].what,
		    part[i].la, part[i].lb);
		cr_assert(part[i].la > 0 && memcmp(part[i].pa, part[i].pb, part[i].la) == 0,
		    "receipt %s differs", part[i].what);
	}
}

Test(store, receive_duplicate_returns_the_stored_receipt)
{
	struct store_op v[3];
	struct store_event ev[8];
	fx_open(0);
	op_receive(&v[0], 9, 0xab, 0x10);
	fx_run(&v[0], 1);
	cr_assert_eq(v[0].result, STORE_R_OK, "%s", v[0].error);
	cr_assert_str_eq(v[0].event.event, "received");
	cr_assert_str_eq(v[0].event.peer, PEER);
	cr_assert_eq(v[0].event.dir, STORE_IN);

	op_receive(&v[1], 9, 0xab, 0x20);    /* re-signed receipt: must not replace ours */
	fx_run(&v[1], 1);
	cr_assert_eq(v[1].result, STORE_R_EXISTS);
	assert_same_receipt(&v[1].stored, &v[0].msg);
	cr_assert_str_eq(v[1].event.event, "duplicate");
	cr_assert_gt(v[1].event.seq, v[0].event.seq);

	/* Other content under the id: the caller refuses it with a quarantine op, which
	 * records the event; nothing is written here. */
	op_receive(&v[2], 9, 0xcd, 0x30);
	fx_run(&v[2], 1);
	cr_assert_eq(v[2].result, STORE_R_CONFLICT);
	cr_assert_null(v[2].stored.rcpt_body);
	cr_assert_eq(v[2].event.seq, 0);

	int n = store_events_of(fx.s, v[0].msg.msg_id, ev, 8);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(ev[0].event, "received");
	cr_assert_str_eq(ev[1].event, "duplicate");
	free_ops(v, 3);
}

/* A quarantine op of peer's document n with content hash_byte, refused with a receipt
 * whose blobs are filled with rcpt_byte (heap, freed by free_ops). */
static void
op_refuse(struct store_op *op, int n, uint8_t hash_byte, uint8_t rcpt_byte)
{
	op_receive(op, n, hash_byte, rcpt_byte);
	op->kind = STORE_OP_QUARANTINE;
	snprintf(op->reason, sizeof(op->reason), "too-large: test");
}

/* A refusal is a decision: the same content again (refused or now acceptable) gets the
 * stored REJECTED receipt and no new row; other content under the id is a conflict for
 * RECEIVE; an accepted message answers a later refusal of the same content; and
 * store_settled (the loop's read) agrees with the ops. */
Test(store, refusals_are_decisions_that_stand)
{
	struct store_op v[6];
	struct store_msg m;
	struct store_quarantined q[4];
	uint8_t h1[STORE_HASH_LEN], h2[STORE_HASH_LEN];
	memset(h1, 0x71, sizeof(h1));
	memset(h2, 0x72, sizeof(h2));
	fx_open(0);
	op_refuse(&v[0], 20, 0x71, 0x40);
	fx_run(&v[0], 1);
	cr_assert_eq(v[0].result, STORE_R_OK, "%s", v[0].error);
	cr_assert_str_eq(v[0].event.event, "quarantined");
	op_refuse(&v[1], 20, 0x71, 0x41);          /* the resend, signed anew: not kept */
	op_receive(&v[2], 20, 0x71, 0x42);         /* the same content, judged acceptable now */
	op_receive(&v[3], 20, 0x72, 0x43);         /* other content under the id */
	fx_run(&v[1], 3);
	cr_assert_eq(v[1].result, STORE_R_EXISTS);
	cr_assert_eq(v[2].result, STORE_R_EXISTS);
	cr_assert_eq(v[3].result, STORE_R_CONFLICT);
	for (int i = 1; i <= 2; i++) {
		cr_assert(v[i].stored.refused);
		cr_assert_eq(v[i].stored.rcpt_body_len, 300);
		cr_assert(memcmp(v[i].stored.rcpt_body, v[0].msg.rcpt_body, 300) == 0,
		    "op %d: not the stored receipt", i);
		cr_assert(memcmp(v[i].stored.rcpt_sig, v[0].msg.rcpt_sig, 70) == 0);
		cr_assert_str_eq(v[i].event.event, "duplicate");
	}
	cr_assert_eq(store_quarantine_list(fx.s, 0, q, 4), 1, "a resend made a new row");
	cr_assert_eq(q[0].bytes, sizeof(doc) + sizeof(sig) + sizeof(cert),
	    "body, signature and certificate count");
	cr_assert_eq(store_unsettled(fx.s, PEER), (int64_t)q[0].bytes);
	cr_assert_eq(store_get(fx.s, STORE_IN, PEER, v[0].msg.msg_id, &m), 1, "not received");

	cr_assert_eq(store_settled(fx.s, PEER, v[0].msg.msg_id, h1, &m), STORE_SETTLED_SAME);
	cr_assert(m.refused);
	cr_assert(memcmp(m.rcpt_body, v[0].msg.rcpt_body, 300) == 0);
	store_msg_clear(&m);
	cr_assert_eq(store_settled(fx.s, PEER, v[0].msg.msg_id, h2, &m), STORE_SETTLED_OTHER);
	cr_assert_eq(store_settled(fx.s, OTHER, v[0].msg.msg_id, h1, &m), STORE_SETTLED_NONE);

	/* Received first: a later refusal of the same content answers the receipt. */
	op_receive(&v[4], 21, 0x72, 0x50);
	op_refuse(&v[5], 21, 0x72, 0x51);
	fx_run(&v[4], 2);
	cr_assert_eq(v[4].result, STORE_R_OK, "%s", v[4].error);
	cr_assert_eq(v[5].result, STORE_R_EXISTS);
	cr_assert_not(v[5].stored.refused);
	cr_assert(memcmp(v[5].stored.rcpt_body, v[4].msg.rcpt_body, 300) == 0);
	cr_assert_eq(store_quarantine_list(fx.s, 0, q, 4), 1);
	cr_assert_eq(store_settled(fx.s, PEER, v[4].msg.msg_id, h2, &m), STORE_SETTLED_SAME);
	cr_assert_not(m.refused);
	cr_assert_eq(m.state, STORE_RECEIVED);
	store_msg_clear(&m);

	/* Other content under that received id, refused once as a conflict: that refusal
	 * answers it ever after, not a new one each time. */
	struct store_op w[2];
	uint8_t h3[STORE_HASH_LEN];
	memset(h3, 0x73, sizeof(h3));
	cr_assert_eq(store_settled(fx.s, PEER, v[4].msg.msg_id, h3, &m), STORE_SETTLED_OTHER);
	op_refuse(&w[0], 21, 0x73, 0x60);
	snprintf(w[0].reason, sizeof(w[0].reason), "id-conflict: test");
	op_receive(&w[1], 21, 0x73, 0x61);
	fx_run(&w[0], 2);
	cr_assert_eq(w[0].result, STORE_R_OK, "%s", w[0].error);
	cr_assert_eq(w[1].result, STORE_R_EXISTS, "the conflict was decided again");
	cr_assert(w[1].stored.refused);
	cr_assert(memcmp(w[1].stored.rcpt_body, w[0].msg.rcpt_body, 300) == 0);
	cr_assert_eq(store_settled(fx.s, PEER, v[4].msg.msg_id, h3, &m), STORE_SETTLED_SAME);
	cr_assert(m.refused);
	store_msg_clear(&m);
	cr_assert_eq(store_quarantine_list(fx.s, 0, q, 4), 2);
	free_ops(w, 2);
	free_ops(v, 6);
}

Test(store, update_with_a_stale_state_changes_nothing)
{
	struct store_op a, u;
	struct store_msg m;
	fx_open(0);
	op_submit(&a, 3, PEER, false);
	fx_run(&a, 1);
	op_update(&u, 3, STORE_DELIVERED, 1u << STORE_SENDING);
	u.set = STORE_SET_ATTEMPTS;
	u.msg.attempts = 4;
	u.has_event = true;
	snprintf(u.event.event, sizeof(u.event.event), "delivered");
	fx_run(&u, 1);
	cr_assert_eq(u.result, STORE_R_STALE);
	cr_assert_eq(u.stored.state, STORE_QUEUED);
	cr_assert_eq(u.event.seq, 0);
	cr_assert_eq(store_get(fx.s, STORE_OUT, ME, a.msg.msg_id, &m), 0);
	cr_assert_eq(m.state, STORE_QUEUED);
	cr_assert_eq(m.attempts, 0);
	store_msg_clear(&m);
	cr_assert_eq(store_last_seq(fx.s), 1);

	op_update(&u, 3, STORE_SENDING, 1u << STORE_QUEUED | 1u << STORE_RETRYING);
	u.set = STORE_SET_ATTEMPTS | STORE_SET_LAST_ERROR;
	u.msg.attempts = 1;
	snprintf(u.msg.last_error, sizeof(u.msg.last_error), "none yet");
	u.has_event = true;
	snprintf(u.event.event, sizeof(u.event.event), "sent");
	fx_run(&u, 1);
	cr_assert_eq(u.result, STORE_R_OK, "%s", u.error);
	cr_assert_str_eq(u.event.peer, PEER, "peer filled from the row");
	cr_assert_str_eq(u.event.state, "sending");
	cr_assert_eq(u.event.attempt, 1);
	cr_assert_eq(store_get(fx.s, STORE_OUT, ME, a.msg.msg_id, &m), 0);
	cr_assert_eq(m.state, STORE_SENDING);
	cr_assert_eq(m.attempts, 1);
	cr_assert_str_eq(m.last_error, "none yet");
	cr_assert_geq(m.updated_us, m.created_us);
	store_msg_clear(&m);
}

/* Outbound changes name an event of the state table; the store applies it to the row's
 * state at commit: a send returns the row as committed (the document to transmit), an
 * illegal event changes nothing, and the event is named after the state entered. */
/* Runs the first transmission of outbound message n: the row as committed comes back. */
static void
op_send_first(struct store_op *u, int n)
{
	op_update(u, n, STORE_STATE_COUNT, 0);
	u->transition = OUTSTATE_SEND;
	u->set = STORE_SET_ATTEMPTS;
	u->msg.attempts = 1;
	fx_run(u, 1);
	cr_assert_eq(u->result, STORE_R_OK, "%s", u->error);
	cr_assert_eq(u->stored.doc_body_len, sizeof(doc), "the row as committed comes back");
}

Test(store, transitions_apply_the_table_to_the_current_row)
{
	struct store_op a, u;
	struct store_msg m;
	fx_open(0);
	op_submit(&a, 5, PEER, false);
	fx_run(&a, 1);
	op_send_first(&u, 5);
	cr_assert_eq(u.msg.state, STORE_SENDING);
	cr_assert_eq(u.stored.state, STORE_SENDING);
	cr_assert_eq(u.stored.attempts, 1);
	store_msg_clear(&u.stored);

	/* A receipt settles it; a late "unanswered" for the same transmission is stale. */
	op_update(&u, 5, STORE_STATE_COUNT, 0);
	u.transition = OUTSTATE_ACCEPTED;
	u.has_event = true;
	fx_run(&u, 1);
	cr_assert_eq(u.result, STORE_R_OK, "%s", u.error);
	cr_assert_str_eq(u.event.event, "delivered", "named after the state entered");
	cr_assert_str_eq(u.event.state, "delivered");
	op_update(&u, 5, STORE_STATE_COUNT, 0);
	u.transition = OUTSTATE_UNANSWERED;
	u.set = STORE_SET_NEXT_ATTEMPT;
	u.msg.next_attempt_us = 1;
	fx_run(&u, 1);
	cr_assert_eq(u.result, STORE_R_STALE);
	cr_assert_eq(u.stored.state, STORE_DELIVERED);
	cr_assert_eq(store_get(fx.s, STORE_OUT, ME, a.msg.msg_id, &m), 0);
	cr_assert_eq(m.state, STORE_DELIVERED);
	cr_assert_eq(m.attempts, 1);
	store_msg_clear(&m);
}

/* The outbox's submission sent at once: SUBMIT and its SEND queued as a pair run in one
 * batch (one commit), the SEND finding the row the SUBMIT inserted. With expect_payload
 * the SEND takes only the row of its payload hash and recipient: when the id names
 * another message (the SUBMIT's conflict), that message is left as it was. */
static void
op_send_pair(struct store_op *a, struct store_op *u, int n, const char *to, int hash_of)
{
	op_submit(a, n, to, false);
	memset(a->msg.payload_hash, (hash_of + 1) & 0xff, STORE_HASH_LEN);
	memset(a->msg.submit_hash, hash_of & 0xff, STORE_HASH_LEN);
	op_update(u, n, STORE_STATE_COUNT, 0);
	u->transition = OUTSTATE_SEND;
	u->set = STORE_SET_ATTEMPTS;
	u->msg.attempts = 1;
	snprintf(u->msg.recipient, sizeof(u->msg.recipient), "%s", to);
	memcpy(u->msg.payload_hash, a->msg.payload_hash, STORE_HASH_LEN);
	u->expect_payload = true;
	a->done = op_count;
	u->done = op_count;
	int want = fx.done + 2;
	store_submit_pair(fx.s, a, u);
	fx_wait(want);
}

Test(store, a_submission_and_its_send_as_a_pair_commit_once_and_take_only_that_row)
{
	struct store_op a, u;
	struct store_msg m;
	uint64_t c0, c1, ops;
	fx_open(0);
	store_stats(fx.s, &c0, &ops);
	op_send_pair(&a, &u, 7, PEER, 7);
	store_stats(fx.s, &c1, &ops);
	cr_assert_eq(a.result, STORE_R_OK, "%s", a.error);
	cr_assert_eq(u.result, STORE_R_OK, "%s", u.error);
	cr_assert_eq(c1 - c0, 1, "the pair took %llu commits", (unsigned long long)(c1 - c0));
	cr_assert_eq(u.stored.state, STORE_SENDING);
	cr_assert_eq(u.stored.doc_body_len, sizeof(doc), "the row as committed comes back");
	store_msg_clear(&u.stored);
	store_msg_clear(&a.stored);

	/* Id 8 queued for UA-PGO; the same id submitted for PEER with other content. */
	op_submit(&a, 8, "UA-PGO", false);
	fx_run(&a, 1);
	cr_assert_eq(a.result, STORE_R_OK, "%s", a.error);
	op_send_pair(&a, &u, 8, PEER, 99);
	cr_assert_eq(a.result, STORE_R_CONFLICT);
	cr_assert_eq(u.result, STORE_R_STALE, "the SEND took the other message: %d", u.result);
	store_msg_clear(&u.stored);
	store_msg_clear(&a.stored);
	cr_assert_eq(store_get(fx.s, STORE_OUT, ME, a.msg.msg_id, &m), 0);
	cr_assert_eq(m.state, STORE_QUEUED);
	cr_assert_str_eq(m.recipient, "UA-PGO");
	cr_assert_eq(m.attempts, 0);
	store_msg_clear(&m);
}

static int64_t
page_ids(int64_t now, int64_t after, int max, int64_t *ids, int *n)
{
	struct store_msg page[8];
	*n = store_outbox_page(fx.s, PEER, now, after, page, max);
	cr_assert_geq(*n, 0);
	for (int i = 0; i < *n; i++) {
		ids[i] = page[i].rowid;
		cr_assert_str_eq(page[i].recipient, PEER);
		cr_assert_eq(page[i].doc_body_len, sizeof(doc), "the blobs' lengths");
		cr_assert_eq(page[i].doc_cert_len, sizeof(cert));
		cr_assert_null(page[i].doc_body, "not their bytes: the SEND transition reads them");
		store_msg_clear(&page[i]);
	}
	return *n > 0 ? ids[*n - 1] : after;
}

Test(store, outbox_pages_urgent_first_then_oldest)
{
	struct store_op v[8];
	const bool urgent[5] = { false, true, false, true, false };
	int64_t ids[8], row[9], now = 0;
	int n;
	fx_open(0);
	for (int i = 0; i < 5; i++)
		op_submit(&v[i], i + 1, PEER, urgent[i]);
	op_submit(&v[5], 6, OTHER, true);           /* another peer */
	op_submit(&v[6], 7, PEER, true);            /* retrying later */
	op_submit(&v[7], 8, PEER, true);            /* already delivered */
	fx_run(v, 8);
	for (int i = 0; i < 8; i++)
		row[i + 1] = v[i].msg.rowid;
	now = v[7].msg.created_us + 1000;
	op_update(&v[0], 7, STORE_RETRYING, 0);
	v[0].set = STORE_SET_NEXT_ATTEMPT;
	v[0].msg.next_attempt_us = now + 60000000;
	op_update(&v[1], 8, STORE_DELIVERED, 0);
	fx_run(v, 2);
	cr_assert_eq(v[0].result, STORE_R_OK);
	cr_assert_eq(v[1].result, STORE_R_OK);

	int64_t cur = page_ids(now, 0, 2, ids, &n);
	cr_assert_eq(n, 2);
	cr_assert(ids[0] == row[2] && ids[1] == row[4], "urgent first, oldest first");
	cur = page_ids(now, cur, 2, ids, &n);
	cr_assert_eq(n, 2);
	cr_assert(ids[0] == row[1] && ids[1] == row[3]);
	cur = page_ids(now, cur, 2, ids, &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(ids[0], row[5]);
	page_ids(now, cur, 2, ids, &n);
	cr_assert_eq(n, 0);
	/* Once its time has come the retrying one is due, among the urgent. */
	page_ids(now + 60000000, 0, 8, ids, &n);
	cr_assert_eq(n, 6);
	cr_assert(ids[0] == row[2] && ids[1] == row[4] && ids[2] == row[7]);

	char plan[512];
	cr_assert_eq(store_test_outbox_plan(fx.s, plan, sizeof(plan)), 0);
	cr_assert(strstr(plan, "USING INDEX messages_outbox") != NULL ||
	    strstr(plan, "USING COVERING INDEX messages_outbox") != NULL, "%s", plan);
	cr_assert(strstr(plan, "TEMP B-TREE") == NULL, "%s", plan);
	cr_log_info("outbox page plan: %s", plan);
}

/* The console's pages: every combination of filters is a range of one index read from the
 * cursor down (two merged for both directions), never every matching entry sorted. */
Test(store, messages_pages_are_index_ranges_without_a_sort)
{
	fx_open(0);
	static const enum store_dir dirs[] = {STORE_OUT, STORE_IN, STORE_DIR_ANY};
	for (int k = 0; k < 3 * 4 + 1; k++) {
		bool newest = k == 12;
		enum store_dir dir = newest ? STORE_DIR_ANY : dirs[k / 4];
		bool by_peer = !newest && (k & 2) != 0, by_state = !newest && (k & 1) != 0;
		char plan[2048];
		cr_assert_eq(store_test_messages_page_plan(fx.s, dir, by_peer, by_state, newest, plan,
		    sizeof(plan)), 0, "%s", plan);
		cr_log_info("messages page dir %d peer %d state %d newest %d: %s", (int)dir,
		    by_peer, by_state, newest, plan);
		cr_assert(strstr(plan, "TEMP B-TREE") == NULL, "dir %d peer %d state %d: %s",
		    (int)dir, by_peer, by_state, plan);
		cr_assert(strstr(plan, "SCAN") == NULL, "dir %d peer %d state %d: %s", (int)dir,
		    by_peer, by_state, plan);
		if (newest) {
			cr_assert(strstr(plan, "SEARCH messages USING INTEGER PRIMARY KEY (rowid<?)") !=
			    NULL, "%s", plan);
			continue;
		}
		/* Each range: a covering index whose key is the filters, then id. */
		char want[160];
		snprintf(want, sizeof(want), "COVERING INDEX messages_list%s%s (dir=?%s%s AND id<?)",
		    by_peer ? "_to" : "", by_state ? "_state" : "", by_peer ? " AND recipient=?" : "",
		    by_state ? " AND state=?" : "");
		if (dir != STORE_IN)
			cr_assert(strstr(plan, want) != NULL, "no %s in %s", want, plan);
		snprintf(want, sizeof(want), "COVERING INDEX messages_list%s%s (dir=?%s%s AND id<?)",
		    by_peer ? "_from" : "", by_state ? "_state" : "", by_peer ? " AND sender=?" : "",
		    by_state ? " AND state=?" : "");
		if (dir != STORE_OUT)
			cr_assert(strstr(plan, want) != NULL, "no %s in %s", want, plan);
		if (dir == STORE_DIR_ANY)
			cr_assert(strstr(plan, "MERGE (UNION ALL)") != NULL, "%s", plan);
	}
	fx_close();
}

struct peers_seen {
	int n;
	char peer[4][AUTHORITY_ID_MAX + 1];
	int64_t earliest[4];
};

static void
peer_cb(void *arg, const char *peer, int64_t earliest_us)
{
	struct peers_seen *p = arg;
	cr_assert_lt(p->n, 4);
	snprintf(p->peer[p->n], sizeof(p->peer[0]), "%s", peer);
	p->earliest[p->n++] = earliest_us;
}

Test(store, peers_lists_and_states)
{
	struct store_op v[4];
	struct store_msg list[8];
	struct peers_seen seen = { 0 };
	fx_open(0);
	op_submit(&v[0], 1, PEER, false);
	op_submit(&v[1], 2, OTHER, false);
	op_receive(&v[2], 3, 0x01, 0x02);
	fx_run(v, 3);
	op_update(&v[3], 2, STORE_SENDING, 0);
	fx_run(&v[3], 1);
	cr_assert_eq(store_outbox_peers(fx.s, peer_cb, &seen), 0);
	cr_assert_eq(seen.n, 1, "a peer with only a sending message has nothing due");
	cr_assert_str_eq(seen.peer[0], PEER);
	cr_assert_eq(seen.earliest[0], 0);

	cr_assert_eq(store_list_state(fx.s, STORE_SENDING, 0, list, 8), 1);
	cr_assert_str_eq(list[0].recipient, OTHER);
	cr_assert_null(list[0].doc_body);
	store_msg_clear(&list[0]);
	int n = store_list(fx.s, STORE_DIR_ANY, false, 0, list, 8);
	cr_assert_eq(n, 3);
	cr_assert(list[0].rowid > list[1].rowid && list[1].rowid > list[2].rowid, "newest first");
	cr_assert_eq(list[0].dir, STORE_IN);
	for (int i = 0; i < n; i++)
		store_msg_clear(&list[i]);
	n = store_list(fx.s, STORE_OUT, true, 0, list, 8);
	cr_assert_eq(n, 2);
	int64_t before = list[0].rowid;
	for (int i = 0; i < n; i++)
		store_msg_clear(&list[i]);
	cr_assert_eq(store_list(fx.s, STORE_OUT, true, before, list, 8), 1);
	store_msg_clear(&list[0]);
	free_ops(v, 4);
}

Test(store, events_have_increasing_seq_and_the_log_mark_only_rises)
{
	struct store_op v[6];
	struct store_event ev[8];
	fx_open(0);
	cr_assert_eq(store_log_mark(fx.s), 0);
	cr_assert_eq(store_last_seq(fx.s), 0);
	op_submit(&v[0], 1, PEER, false);
	memset(&v[1], 0, sizeof(v[1]));
	v[1].kind = STORE_OP_EVENT;
	snprintf(v[1].event.event, sizeof(v[1].event.event), "link-up");
	snprintf(v[1].event.peer, sizeof(v[1].event.peer), "%s", PEER);
	memset(&v[2], 0, sizeof(v[2]));
	v[2].kind = STORE_OP_QUARANTINE;
	snprintf(v[2].msg.sender, sizeof(v[2].msg.sender), "%s", PEER);
	v[2].msg.doc_body = doc;
	v[2].msg.doc_body_len = 100;
	snprintf(v[2].reason, sizeof(v[2].reason), "signature does not verify");
	op_submit(&v[3], 2, PEER, false);
	fx_run(v, 4);
	int n = store_events_since(fx.s, 0, ev, 8);
	cr_assert_eq(n, 4);
	for (int i = 0; i < n; i++) {
		cr_assert_gt(ev[i].ts_us, 0);
		if (i > 0) {
			cr_assert_gt(ev[i].seq, ev[i - 1].seq);
			cr_assert_geq(ev[i].ts_us, ev[i - 1].ts_us);
		}
	}
	cr_assert_str_eq(ev[1].event, "link-up");
	cr_assert_eq(ev[1].seq, v[1].event.seq);
	cr_assert_str_eq(ev[2].event, "quarantined");
	cr_assert_str_eq(ev[2].reason, "signature does not verify");
	cr_assert_eq(ev[2].dir, STORE_IN);
	cr_assert_eq(store_events_since(fx.s, ev[1].seq, ev, 8), 2);
	cr_assert_eq(store_last_seq(fx.s), v[3].event.seq);

	memset(&v[4], 0, sizeof(v[4]));
	v[4].kind = STORE_OP_LOG_MARK;
	v[4].log_seq = 3;
	fx_run(&v[4], 1);
	cr_assert_eq(v[4].result, STORE_R_OK);
	cr_assert_eq(store_log_mark(fx.s), 3);
	memset(&v[5], 0, sizeof(v[5]));
	v[5].kind = STORE_OP_LOG_MARK;
	v[5].log_seq = 2;
	fx_run(&v[5], 1);
	cr_assert_eq(store_log_mark(fx.s), 3, "a mark never goes back");
	fx_close();
	fx_open(0);
	cr_assert_eq(store_log_mark(fx.s), 3);
}

/* A released entry stays listed (evidence) and leaves its sender's unsettled bytes,
 * once; an unknown entry is not found. */
Test(store, quarantine_release_keeps_the_entry_and_frees_the_quota_once)
{
	struct store_op v[4];
	struct store_quarantined q[4];
	fx_open(0);
	memset(&v[0], 0, sizeof(v[0]));
	v[0].kind = STORE_OP_QUARANTINE;
	snprintf(v[0].msg.sender, sizeof(v[0].msg.sender), "%s", PEER);
	msg_id(v[0].msg.msg_id, 7);
	v[0].msg.doc_body = doc;
	v[0].msg.doc_body_len = 300;
	snprintf(v[0].reason, sizeof(v[0].reason), "too-large: test");
	fx_run(v, 1);
	cr_assert_eq(v[0].result, STORE_R_OK);
	cr_assert_eq(store_unsettled(fx.s, PEER), 300);
	cr_assert_eq(store_quarantine_list(fx.s, 0, q, 4), 1);
	cr_assert_eq(q[0].released_us, 0);
	for (int i = 1; i < 4; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].kind = STORE_OP_QUARANTINE_RELEASE;
		v[i].qid = i < 3 ? q[0].id : q[0].id + 100;
	}
	fx_run(&v[1], 3);
	cr_assert_eq(v[1].result, STORE_R_OK);
	cr_assert_str_eq(v[1].msg.sender, PEER);
	cr_assert_str_eq(v[1].msg.msg_id, v[0].msg.msg_id);
	cr_assert_eq(v[1].msg.size, 300);
	cr_assert_gt(v[1].event.seq, 0);
	cr_assert_str_eq(v[1].event.event, "quarantine-released");
	cr_assert_eq(v[2].result, STORE_R_STALE, "released twice");
	cr_assert_eq(v[2].event.seq, 0);
	cr_assert_eq(v[3].result, STORE_R_NOT_FOUND);
	cr_assert_eq(store_unsettled(fx.s, PEER), 0);
	cr_assert_eq(store_quarantine_list(fx.s, 0, q, 4), 1, "the entry stays");
	cr_assert_gt(q[0].released_us, 0);
	fx_close();
}

Test(store, full_database_refuses_growth_keeps_rows_and_grows_when_allowed)
{
	enum { MAX = 200 };
	struct store_op op;
	struct store_msg m;
	int ok = 0;
	fx_open(64 * 1024);
	for (;;) {
		cr_assert_lt(ok, MAX, "never full");
		op_submit(&op, ok + 1, PEER, false);
		fx_run(&op, 1);
		if (op.result != STORE_R_OK)
			break;
		ok++;
	}
	cr_assert_eq(op.result, STORE_R_FULL, "%s: %s", store_result_name(op.result), op.error);
	cr_assert(strstr(op.error, "full") != NULL, "%s", op.error);
	cr_assert(strstr(op.error, fx.db) != NULL, "%s", op.error);
	cr_assert_eq(op.event.seq, 0);
	cr_assert_gt(ok, 0);
	fx_close();

	fx_open(64 * 1024);
	for (int i = 1; i <= ok; i++) {
		char id[UUID_TEXT_LEN + 1];
		msg_id(id, i);
		cr_assert_eq(store_get(fx.s, STORE_OUT, ME, id, &m), 0, "row %d lost", i);
		cr_assert_eq(m.doc_body[0], (uint8_t)i);
		cr_assert(memcmp(m.doc_body + 1, doc + 1, sizeof(doc) - 1) == 0);
		store_msg_clear(&m);
	}
	cr_assert_eq(store_last_seq(fx.s), ok);
	op_submit(&op, ok + 1, PEER, false);
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_FULL);
	store_set_max_size(fx.s, 1024 * 1024);
	op_submit(&op, ok + 1, PEER, false);
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	store_set_max_size(fx.s, 0);
	op_submit(&op, ok + 2, PEER, false);
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
}

Test(store, close_drains_the_queue)
{
	enum { N = 100 };
	struct store_op v[N];
	struct store_msg list[N + 1];
	fx_open(0);
	for (int i = 0; i < N; i++) {
		op_submit(&v[i], i + 1, PEER, false);
		v[i].done = op_count;
		store_submit(fx.s, &v[i]);
	}
	fx_close();
	cr_assert_eq(fx.done, N, "completions run by store_close");
	for (int i = 0; i < N; i++)
		cr_assert_eq(v[i].result, STORE_R_OK);
	fx_open(0);
	int n = store_list(fx.s, STORE_OUT, false, 0, list, N + 1);
	cr_assert_eq(n, N);
	for (int i = 0; i < n; i++)
		store_msg_clear(&list[i]);
}

Test(store, names_round_trip)
{
	static const char *const names[] = { "queued", "sending", "retrying", "delivered",
		"rejected", "failed", "expired", "unconfirmed", "cancelled", "received" };
	for (int i = 0; i < STORE_STATE_COUNT; i++) {
		enum store_state st;
		cr_assert_str_eq(store_state_name((enum store_state)i), names[i]);
		cr_assert_eq(store_state_parse(names[i], &st), 0);
		cr_assert_eq((int)st, i);
	}
	enum store_state st;
	cr_assert_eq(store_state_parse("quarantined", &st), -1);
	cr_assert_str_eq(store_result_name(STORE_R_FULL), "full");
	cr_assert_str_eq(store_result_name(STORE_R_NOT_FOUND), "not-found");
}

/* The file an attachment of content c (n bytes) is sealed as. */
static void
att_file(char *out, size_t len, const uint8_t *c, size_t n, struct store_att *a)
{
	static const char hx[] = "0123456789abcdef";
	char hex[65];
	SHA256(c, n, a->sha256);
	a->size = n;
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = hx[a->sha256[i] >> 4];
		hex[2 * i + 1] = hx[a->sha256[i] & 15];
	}
	hex[64] = '\0';
	snprintf(out, len, "%s/attachments/%.2s/%s", fx.dir, hex, hex);
}

static void
att_name(struct store_msg *m, const struct store_att *a, size_t n)
{
	m->atts = calloc(n, sizeof(*a));
	cr_assert_not_null(m->atts);
	memcpy(m->atts, a, n * sizeof(*a));
	m->n_atts = n;
}

static size_t
staged_files(void)
{
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/attachments/staging", fx.dir);
	DIR *dh = opendir(dir);
	cr_assert_not_null(dh, "%s", dir);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dh)) != NULL)
		n += de->d_name[0] != '.';
	closedir(dh);
	return n;
}

/* Staging: chunks go to staging files; DROP_SET removes a set's, the next open every
 * one no message names; a message naming its bset seals them as a file named by its
 * SHA-256 (before its row), readable by offset. */
Test(store, attachment_chunks_staging_and_reads)
{
	fx_open(0);
	int64_t kept = store_bset_new(fx.s), lost = store_bset_new(fx.s),
	        dropped = store_bset_new(fx.s);
	cr_assert(kept > 0 && lost > kept && dropped > lost);
	cr_assert_gt(store_bset_new(fx.s), dropped, "a blob set id given out twice in one run");
	static uint8_t part[3][1000];
	struct store_op ops[8];
	memset(ops, 0, sizeof(ops));
	int64_t sets[3] = {kept, lost, dropped};
	char err[300];
	for (int i = 0; i < 6; i++) {
		memset(part[i % 3], 'a' + i, sizeof(part[0]));
		struct iovec v = {part[i % 3], sizeof(part[0])};
		cr_assert_eq(store_stage_write(fx.s, sets[i / 2], 0, (uint64_t)(i % 2) * 1000, &v, 1,
		    err, sizeof(err)), STORE_R_OK, "chunk %d: %s", i, err);
	}
	/* What the kept set holds: its two chunks, written at once ('a's, then 'b's). */
	uint8_t whole[2000];
	memset(whole, 'a', 1000);
	memset(whole + 1000, 'b', 1000);
	cr_assert_eq(staged_files(), 3);
	char file[700];
	struct store_att a;
	att_file(file, sizeof(file), whole, sizeof(whole), &a);
	op_submit(&ops[6], 1, PEER, false);
	ops[6].msg.bset = kept;
	ops[6].msg.size = 2000 + sizeof(doc);
	att_name(&ops[6].msg, &a, 1);
	ops[7].kind = STORE_OP_DROP_SET;
	ops[7].chunk.bset = dropped;
	fx_run(ops + 6, 2);
	cr_assert_eq(ops[6].result, STORE_R_OK, "%s", ops[6].error);
	cr_assert_eq(ops[7].result, STORE_R_OK, "%s", ops[7].error);
	cr_assert_eq(staged_files(), 1, "sealed and dropped sets still staged");
	struct stat sb;
	cr_assert_eq(stat(file, &sb), 0, "no file %s", file);
	cr_assert_eq(sb.st_size, 2000);
	uint8_t *d = NULL;
	size_t n = 0;
	cr_assert_eq(store_chunk_read(fx.s, dropped, 0, 0, 4096, &d, &n), 1, "dropped set read");
	cr_assert_eq(store_chunk_read(fx.s, kept, 0, 1500, 300, &d, &n), 0);
	cr_assert_eq(n, 300, "a read stops at max");
	cr_assert_eq(d[0], 'b', "offset 1500 is in the second chunk");
	free(d);
	cr_assert_eq(store_chunk_read(fx.s, kept, 0, 2000, 300, &d, &n), 1, "past the end");
	free_ops(ops, 8);
	fx_close();
	/* Reopened: the message's file stays, the unnamed set is gone. */
	fx_open(0);
	cr_assert_eq(staged_files(), 0, "staging survived the open");
	cr_assert_eq(store_chunk_read(fx.s, kept, 0, 999, 10, &d, &n), 0);
	cr_assert_eq(n, 10);
	cr_assert_eq(d[0], 'a');
	cr_assert_eq(d[1], 'b');
	free(d);
	cr_assert_eq(store_chunk_read(fx.s, lost, 0, 0, 10, &d, &n), 1, "staging survived");
	/* After a restart, a new set never takes the id of a set the store still holds, and
	 * starts empty (the ids of sets dropped whole may come back: nothing names them). */
	int64_t next = store_bset_new(fx.s);
	cr_assert_gt(next, kept, "the id of a kept blob set given out again");
	cr_assert_eq(store_chunk_read(fx.s, next, 0, 0, 10, &d, &n), 1, "a new set holds chunks");
	struct store_msg m;
	char id[UUID_TEXT_LEN + 1];
	msg_id(id, 1);
	cr_assert_eq(store_get(fx.s, STORE_OUT, ME, id, &m), 0);
	cr_assert_eq(m.bset, kept);
	cr_assert_eq(m.size, 2000 + sizeof(doc));
	store_msg_clear(&m);
}

/* Two messages with the same attachment: one file, both read it. A file no row names
 * (a seal whose message never committed) is gone after the next open; the store's size
 * counts the files. */
Test(store, identical_attachments_are_one_file_and_orphans_are_swept)
{
	fx_open(0);
	static uint8_t body[5000];
	memset(body, 'z', sizeof(body));
	struct store_att a;
	char file[700];
	att_file(file, sizeof(file), body, sizeof(body), &a);
	int64_t before = store_size_bytes(fx.s);
	struct store_op ops[2];
	memset(ops, 0, sizeof(ops));
	int64_t sets[2] = {store_bset_new(fx.s), store_bset_new(fx.s)};
	char err[300];
	for (int i = 0; i < 2; i++) {
		/* In two pieces, the second written first: a write lands at its offset. */
		struct iovec v[2] = {{body, 1000}, {body + 1000, sizeof(body) - 1000}};
		cr_assert_eq(store_stage_write(fx.s, sets[i], 0, 1000, &v[1], 1, err, sizeof(err)),
		    STORE_R_OK, "%s", err);
		cr_assert_eq(store_stage_write(fx.s, sets[i], 0, 0, &v[0], 1, err, sizeof(err)),
		    STORE_R_OK, "%s", err);
		op_submit(&ops[i], 1 + i, PEER, false);
		ops[i].msg.bset = sets[i];
		ops[i].msg.size = sizeof(body) + sizeof(doc);
		att_name(&ops[i].msg, &a, 1);
	}
	fx_run(ops, 2);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(ops[i].result, STORE_R_OK, "op %d: %s", i, ops[i].error);
	free_ops(ops, 2);
	cr_assert_eq(staged_files(), 0, "the second copy stayed in staging");
	struct stat sb;
	cr_assert_eq(stat(file, &sb), 0, "no file %s", file);
	cr_assert_eq(sb.st_nlink, 1);
	for (int i = 0; i < 2; i++) {
		uint8_t *d = NULL;
		size_t n = 0;
		cr_assert_eq(store_chunk_read(fx.s, sets[i], 0, 4990, 100, &d, &n), 0);
		cr_assert_eq(n, 10);
		free(d);
	}
	int64_t after = store_size_bytes(fx.s);
	cr_assert_geq(after - before, (int64_t)sizeof(body), "files not counted in the size");
	/* A sealed file whose row never committed (a crash between the two). */
	uint8_t other[3] = {1, 2, 3};
	char orphan[700];
	struct store_att b;
	att_file(orphan, sizeof(orphan), other, sizeof(other), &b);
	char dir[700];
	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(orphan, '/') - orphan), orphan);
	mkdir(dir, 0700);
	int fd = open(orphan, O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, other, 3), 3);
	close(fd);
	fx_close();
	fx_open(0);
	cr_assert_eq(access(orphan, F_OK), -1, "a file no row names survived the open");
	cr_assert_eq(access(file, F_OK), 0, "a named file was swept");
	fx_close();
}

/* [store] max_size counts the attachment files: a staging write beyond it is refused
 * (STORE_R_FULL, nothing written). */
Test(store, staging_beyond_max_size_is_full)
{
	fx_open(1u << 20);
	static uint8_t big[600000];
	struct iovec v = {big, sizeof(big)};
	char err[300];
	int64_t set = store_bset_new(fx.s);
	cr_assert_eq(store_stage_write(fx.s, set, 0, 0, &v, 1, err, sizeof(err)), STORE_R_OK,
	    "%s", err);
	cr_assert_eq(store_stage_write(fx.s, set, 0, sizeof(big), &v, 1, err, sizeof(err)),
	    STORE_R_FULL, "a second 600 kB past a 1 MiB max_size was written");
	cr_assert(strstr(err, "max_size") != NULL, "%s", err);
	cr_assert_eq(staged_files(), 1);
	fx_close();
}

/* A store of schema 13 keeps attachments as chunk rows: the open moves them into files
 * (the staging rows no message names are not moved) and drops the table. */
Test(store, a_version_13_store_moves_its_chunks_to_files)
{
	fx_open(0);
	struct store_op op;
	memset(&op, 0, sizeof(op));
	op_submit(&op, 1, PEER, false);
	op.msg.bset = 7;
	op.msg.size = 3000 + sizeof(doc);
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	free_ops(&op, 1);
	fx_close();
	sqlite3 *db = NULL;
	cr_assert_eq(sqlite3_open(fx.db, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, TS_SCHEMA_DOWN_TO_13
	    "INSERT INTO chunks VALUES (7, 0, 0, zeroblob(1000));"
	    "INSERT INTO chunks VALUES (7, 0, 1000, randomblob(2000));"
	    "INSERT INTO chunks VALUES (7, 1, 0, x'616263');"
	    "INSERT INTO chunks VALUES (9, 0, 0, x'00');", NULL, NULL, NULL), SQLITE_OK, "%s",
	    sqlite3_errmsg(db));
	/* What the rows hold, to compare. */
	uint8_t want[3000];
	sqlite3_stmt *st = NULL;
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT data FROM chunks WHERE bset = 7 AND att = 0"
	    " ORDER BY off", -1, &st, NULL), SQLITE_OK);
	size_t at = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		memcpy(want + at, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
		at += (size_t)sqlite3_column_bytes(st, 0);
	}
	sqlite3_finalize(st);
	cr_assert_eq(at, 3000);
	sqlite3_close(db);
	fx_open(0);
	uint8_t *d = NULL;
	size_t n = 0;
	cr_assert_eq(store_chunk_read(fx.s, 7, 0, 0, 4000, &d, &n), 0);
	cr_assert_eq(n, 3000);
	cr_assert_eq(memcmp(d, want, 3000), 0, "the moved bytes differ");
	free(d);
	cr_assert_eq(store_chunk_read(fx.s, 7, 1, 1, 10, &d, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(memcmp(d, "bc", 2), 0);
	free(d);
	char file[700];
	struct store_att a;
	att_file(file, sizeof(file), want, sizeof(want), &a);
	cr_assert_eq(access(file, F_OK), 0, "no file %s", file);
	cr_assert_eq(store_chunk_read(fx.s, 9, 0, 0, 10, &d, &n), 1, "staging moved");
	fx_close();
	cr_assert_eq(sqlite3_open(fx.db, &db), SQLITE_OK);
	cr_assert_neq(sqlite3_exec(db, "SELECT 1 FROM chunks", NULL, NULL, NULL), SQLITE_OK,
	    "the chunks table is still there");
	sqlite3_close(db);
}

/* `fetched` changes once: a second request finds nothing to change (the quota it frees
 * must be freed once). */
Test(store, fetched_is_set_once)
{
	struct store_op v[3];
	fx_open(0);
	op_receive(&v[0], 7, 0x07, 0x08);
	fx_run(v, 1);
	cr_assert_eq(v[0].result, STORE_R_OK, "%s", v[0].error);
	for (int i = 1; i < 3; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].kind = STORE_OP_UPDATE;
		v[i].msg.dir = STORE_IN;
		msg_id(v[i].msg.msg_id, 7);
		snprintf(v[i].msg.sender, sizeof(v[i].msg.sender), "%s", PEER);
		v[i].msg.state = STORE_RECEIVED;
		v[i].msg.fetched = true;
		v[i].set = STORE_SET_FETCHED;
		v[i].expect_state_mask = 1u << STORE_RECEIVED;
	}
	fx_run(&v[1], 2);
	cr_assert_eq(v[1].result, STORE_R_OK, "%s", v[1].error);
	cr_assert_eq(v[2].result, STORE_R_STALE, "the second fetched changed the row again");
	free_ops(v, 3);
}

/* ---- cases (storecase.c): opened and moved in the transaction of their message ---- */

#define ST(x) ROGATORY__V1__STATUS__STATUS_##x

/* Marks op's message as a case document: a request (status 0) or a status about the
 * request numbered about, with its sequence. */
static void
case_doc(struct store_op *op, int status, int about, uint64_t seq, const char *ref)
{
	struct store_casedoc *cd = &op->msg.cd;
	cd->doc_type = status == 0 ? 1 : 2;
	cd->status = status;
	if (status != 0)
		msg_id(cd->in_reply_to, about);
	cd->sequence = seq;
	snprintf(cd->reference, sizeof(cd->reference), "%s", ref);
}

/* The case events op committed after its own, by name, ","-joined. */
static void
more_names(struct store_op *op, char *out, size_t len)
{
	out[0] = '\0';
	for (size_t i = 0; i < op->n_more; i++) {
		cr_assert_gt(op->more[i].seq, op->event.seq, "case events follow the message's");
		if (i > 0)
			cr_assert_eq(op->more[i].seq, op->more[i - 1].seq + 1);
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "",
		    op->more[i].event);
	}
	free(op->more);
	op->more = NULL;
	op->n_more = 0;
}

static void
expect_case(int request, const char *requester, const char *state, bool consulted)
{
	char id[UUID_TEXT_LEN + 1];
	struct store_case c;
	msg_id(id, request);
	cr_assert_eq(store_case_get(fx.s, id, requester, &c), 0, "no case of %s", id);
	cr_assert_str_eq(c.state, state);
	cr_assert_eq(c.consulted, consulted);
}

Test(store, cases_open_with_their_request_and_move_by_the_table)
{
	struct store_op op;
	char names[256];
	struct store_msg m;
	fx_open(0);
	op_submit(&op, 1, PEER, true);
	case_doc(&op, 0, 0, 0, "BD-ACC/1");
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	more_names(&op, names, sizeof(names));
	cr_assert_str_eq(names, "case-opened");
	expect_case(1, ME, "requested", false);

	/* The requested side acknowledges with its reference. */
	op_receive(&op, 2, 0x22, 0x33);
	case_doc(&op, ST(ACKNOWLEDGED), 1, 1, "FR-MJ/9");
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	more_names(&op, names, sizeof(names));
	cr_assert_str_eq(names, "case-status");
	free_ops(&op, 1);
	struct store_case c;
	char id1[UUID_TEXT_LEN + 1];
	msg_id(id1, 1);
	cr_assert_eq(store_case_get(fx.s, id1, ME, &c), 0);
	cr_assert_str_eq(c.state, "acknowledged");
	cr_assert_str_eq(c.requester_ref, "BD-ACC/1");
	cr_assert_str_eq(c.requested_ref, "FR-MJ/9");
	cr_assert(c.urgent && c.dir == STORE_OUT);

	/* A refusal without a consultation: refused, nothing written, not even the message. */
	op_receive(&op, 3, 0x23, 0x34);
	case_doc(&op, ST(REFUSED), 1, 2, "");
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_ILLEGAL);
	cr_assert_str_eq(op.error, "refused needs an earlier consultation in the case (UNCAC "
	    "art. 46(26))");
	cr_assert_eq(op.n_more, 0);
	free_ops(&op, 1);
	char id3[UUID_TEXT_LEN + 1];
	msg_id(id3, 3);
	cr_assert_eq(store_get(fx.s, STORE_IN, PEER, id3, &m), 1, "an illegal status is not stored");
	/* Its sequence number again, on another document: refused too. */
	op_receive(&op, 4, 0x24, 0x35);
	case_doc(&op, ST(IN_PROGRESS), 1, 1, "");
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_ILLEGAL);
	cr_assert_str_eq(op.error, "sequence 1 from FR-MJ is already in this case");
	free_ops(&op, 1);
	/* Ours: a progress inquiry moves it nowhere; a status of the wrong side is refused. */
	op_submit(&op, 5, PEER, false);
	case_doc(&op, ST(PROGRESS_INQUIRY), 1, 1, "");
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	more_names(&op, names, sizeof(names));
	expect_case(1, ME, "acknowledged", false);
	op_submit(&op, 6, PEER, false);
	case_doc(&op, ST(EXECUTED), 1, 2, "");
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_ILLEGAL);
	cr_assert(strstr(op.error, "executed is sent by the requested authority") != NULL, "%s",
	    op.error);
	struct store_case_doc docs[8];
	cr_assert_eq(store_case_docs(fx.s, &c, docs, 8), 2);
	cr_assert_str_eq(docs[0].applied, "applied");
	cr_assert_eq(docs[0].status, ST(ACKNOWLEDGED));
	cr_assert_str_eq(docs[1].side, "requesting");
	cr_assert_eq(store_case_last_sequence(fx.s, &c, ME), 1);
	cr_assert_eq(store_case_last_sequence(fx.s, &c, PEER), 1);
	/* Found by one of its status documents' ids too. */
	char id2[UUID_TEXT_LEN + 1];
	msg_id(id2, 2);
	cr_assert_eq(store_case_get(fx.s, id2, NULL, &c), 0);
	cr_assert_str_eq(c.request_id, id1);
}

Test(store, a_status_before_its_request_waits_and_is_applied_when_it_arrives)
{
	struct store_op op[3];
	char names[256];
	fx_open(0);
	/* Statuses about request 10 of PEER, before it: an inquiry, a withdrawal, and one that
	 * the table will refuse once they are applied in sequence order. */
	op_receive(&op[0], 12, 0x41, 0x51);
	case_doc(&op[0], ST(WITHDRAWN), 10, 2, "");
	op_receive(&op[1], 11, 0x42, 0x52);
	case_doc(&op[1], ST(PROGRESS_INQUIRY), 10, 1, "");
	op_receive(&op[2], 13, 0x43, 0x53);
	case_doc(&op[2], ST(CONDITIONS_ACCEPTED), 10, 3, "");
	fx_run(op, 3);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(op[i].result, STORE_R_OK, "%s", op[i].error);
		more_names(&op[i], names, sizeof(names));
		cr_assert_str_eq(names, "case-status-waiting");
	}
	free_ops(op, 3);
	char id10[UUID_TEXT_LEN + 1];
	struct store_case c;
	msg_id(id10, 10);
	cr_assert_eq(store_case_get(fx.s, id10, NULL, &c), 1, "no case before its request");
	/* The request: its case opens and takes them, in sequence order. */
	op_receive(&op[0], 10, 0x40, 0x50);
	case_doc(&op[0], 0, 0, 0, "FR-MJ/R");
	fx_run(op, 1);
	cr_assert_eq(op[0].result, STORE_R_OK, "%s", op[0].error);
	more_names(&op[0], names, sizeof(names));
	cr_assert_str_eq(names, "case-opened,case-status,case-status,case-status-void");
	free_ops(op, 1);
	cr_assert_eq(store_case_get(fx.s, id10, PEER, &c), 0);
	cr_assert_str_eq(c.state, "withdrawn");
	cr_assert_eq(c.dir, STORE_IN);
	struct store_case_doc d[4];
	cr_assert_eq(store_case_docs(fx.s, &c, d, 4), 3);
	cr_assert_str_eq(d[0].applied, "applied");   /* rows in arrival order: 12, 11, 13 */
	cr_assert_eq(d[1].sequence, 1);
	cr_assert_str_eq(d[2].applied, "void");
	cr_assert(strstr(d[2].note, "the case is closed (withdrawn)") != NULL, "%s", d[2].note);
}

/* An outbound status that never reaches its peer stops counting; a request that never
 * does leaves its case void. */
Test(store, outbound_documents_that_never_arrive_stop_counting)
{
	struct store_op op;
	char names[256];
	fx_open(0);
	op_submit(&op, 20, PEER, false);
	case_doc(&op, 0, 0, 0, "");
	fx_run(&op, 1);
	more_names(&op, names, sizeof(names));
	static const struct {
		int n, status;
		uint64_t seq;
	} in[] = {{21, ST(ACKNOWLEDGED), 1}, {22, ST(CONSULTATION), 2}};
	for (size_t i = 0; i < 2; i++) {
		op_receive(&op, in[i].n, (uint8_t)in[i].n, 0x60);
		case_doc(&op, in[i].status, 20, in[i].seq, "X");
		fx_run(&op, 1);
		cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
		more_names(&op, names, sizeof(names));
		free_ops(&op, 1);
	}
	op_submit(&op, 23, PEER, false);
	case_doc(&op, ST(CONDITIONS_ACCEPTED), 20, 1, "");
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	more_names(&op, names, sizeof(names));
	expect_case(20, ME, "conditions-accepted", true);
	/* The peer refuses it: the case is folded again without it. */
	op_update(&op, 23, STORE_STATE_COUNT, 0);
	op.transition = OUTSTATE_SEND;
	fx_run(&op, 1);
	store_msg_clear(&op.stored);
	op_update(&op, 23, STORE_STATE_COUNT, 0);
	op.transition = OUTSTATE_REJECTED;
	op.has_event = true;
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	more_names(&op, names, sizeof(names));
	cr_assert_str_eq(names, "case-status-void");
	expect_case(20, ME, "consultation", true);
	/* A request cancelled before it left: its case is void. */
	op_submit(&op, 30, PEER, false);
	case_doc(&op, 0, 0, 0, "");
	fx_run(&op, 1);
	more_names(&op, names, sizeof(names));
	op_update(&op, 30, STORE_STATE_COUNT, 0);
	op.transition = OUTSTATE_OP_CANCEL;
	op.has_event = true;
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	more_names(&op, names, sizeof(names));
	cr_assert_str_eq(names, "case-void");
	expect_case(30, ME, "void", false);
	/* The register lists both, newest first, with its filters. */
	struct store_case list[4];
	struct store_case_filter f = {.dir = STORE_DIR_ANY};
	cr_assert_eq(store_case_list(fx.s, &f, 0, list, 4), 2);
	cr_assert_eq(list[0].id > list[1].id, true);
	snprintf(f.state, sizeof(f.state), "void");
	cr_assert_eq(store_case_list(fx.s, &f, 0, list, 4), 1);
	f.state[0] = '\0';
	f.dir = STORE_IN;
	cr_assert_eq(store_case_list(fx.s, &f, 0, list, 4), 0);
	f.dir = STORE_OUT;
	snprintf(f.peer, sizeof(f.peer), "%s", PEER);
	f.kind = 1;
	cr_assert_eq(store_case_list(fx.s, &f, 0, list, 4), 2);
	f.kind = 2;
	cr_assert_eq(store_case_list(fx.s, &f, 0, list, 4), 0);
}

/* ---- deadlines (schema 9): the clocks of a case and their events, once each ---- */

#define SEC_US INT64_C(1000000)
#define T0 (INT64_C(1800000000) * SEC_US)      /* 2027-01-15T08:00:00Z */

static void
more_free(struct store_op *op)
{
	free(op->more);
	op->more = NULL;
	op->n_more = 0;
}

/* A request received from PEER at T0: acknowledge within 100 s, respond (mla) within
 * 1000 s, unless date. */
static void
received_request(struct store_op *op, int n, const char *date)
{
	op_receive(op, n, (uint8_t)(0x40 + n), 0x41);
	case_doc(op, 0, 0, 0, "FR-MJ/REQ");
	op->msg.created_us = T0;
	op->msg.cd.ack_within_ms = 100 * 1000;
	op->msg.cd.respond_within_ms[1] = 1000 * 1000;
	snprintf(op->msg.cd.respond_by, sizeof(op->msg.cd.respond_by), "%s", date);
}

/* received_request n, committed (its case events freed). */
static void
receive_request(int n, const char *date)
{
	struct store_op op;
	received_request(&op, n, date);
	fx_run(&op, 1);
	more_free(&op);
	free_ops(&op, 1);
}

/* One deadline scan at T0 + at_s with warn_before warn_s: the events it recorded. */
static void
scan_warn(int64_t at_s, uint64_t warn_s, char *names, size_t len)
{
	struct store_op op;
	memset(&op, 0, sizeof(op));
	op.kind = STORE_OP_DEADLINES;
	op.due.now_us = T0 + at_s * SEC_US;
	op.due.warn_before_ms = warn_s * 1000;
	op.due.limit = 8;
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	names[0] = '\0';
	for (size_t i = 0; i < op.n_more; i++)
		snprintf(names + strlen(names), len - strlen(names), "%s%s %s", i ? "," : "",
		    op.more[i].event, op.more[i].reason);
	more_free(&op);
}

/* The same with warn_before 60 s. */
static void
scan(int64_t at_s, char *names, size_t len)
{
	scan_warn(at_s, 60, names, len);
}

Test(store, deadlines_are_recorded_once_per_case_and_clock)
{
	struct store_op op;
	char names[512], id[UUID_TEXT_LEN + 1];
	fx_open(0);
	received_request(&op, 1, "");
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	more_free(&op);
	free_ops(&op, 1);
	struct store_case c;
	msg_id(id, 1);
	cr_assert_eq(store_case_get(fx.s, id, PEER, &c), 0);
	cr_assert_eq(c.received_us, T0, "from the receipt's time, not the commit's");
	cr_assert_eq(c.ack_by_us, T0 + 100 * SEC_US);
	cr_assert_eq(c.respond_by_us, T0 + 1000 * SEC_US);

	scan(10, names, sizeof(names));
	cr_assert_str_eq(names, "", "nothing near yet");
	scan(50, names, sizeof(names));
	cr_assert_str_eq(names, "due-soon acknowledge-by 2027-01-15T08:01:40Z is near");
	scan(51, names, sizeof(names));
	cr_assert_str_eq(names, "", "never twice");
	/* The filters of the register, judged at a given time. */
	struct store_case_filter f = {.dir = STORE_DIR_ANY, .now_us = T0 + 50 * SEC_US};
	struct store_case list[4];
	f.overdue = true;
	cr_assert_eq(store_case_list(fx.s, &f, 0, list, 4), 0);
	f.overdue = false;
	f.due_within_us = 60 * SEC_US;
	cr_assert_eq(store_case_list(fx.s, &f, 0, list, 4), 1, "acknowledge-by within 60 s");
	f.due_within_us = 10 * SEC_US;
	cr_assert_eq(store_case_list(fx.s, &f, 0, list, 4), 0);

	/* A restart in between: the marks are in the store. */
	fx_close();
	fx_open(0);
	scan(60, names, sizeof(names));
	cr_assert_str_eq(names, "");
	scan(100, names, sizeof(names));
	cr_assert_str_eq(names, "overdue acknowledge-by 2027-01-15T08:01:40Z has passed");
	f = (struct store_case_filter){.dir = STORE_DIR_ANY, .now_us = T0 + 100 * SEC_US,
	    .overdue = true};
	cr_assert_eq(store_case_list(fx.s, &f, 0, list, 4), 1);
	/* The clock jumps far ahead over respond-by's window: its due-soon, never recorded,
	 * comes first (never missed), then its overdue. */
	scan(5000, names, sizeof(names));
	cr_assert_str_eq(names, "due-soon respond-by 2027-01-15T08:16:40Z was near (recorded late: nothing watched in its "
	    "window),overdue respond-by 2027-01-15T08:16:40Z has passed");
	/* ... and back: nothing is recorded again. */
	scan(950, names, sizeof(names));
	cr_assert_str_eq(names, "");
	scan(6000, names, sizeof(names));
	cr_assert_str_eq(names, "");
}

/* A respond-by that goes back to an earlier one (a postponement that never reached its
 * peer) whose events were recorded: they are not recorded again (review finding). */
Test(store, deadline_events_not_recorded_again_when_a_postponement_is_undone)
{
	struct store_op op;
	char names[512];
	fx_open(0);
	receive_request(1, "2027-01-20");
	int64_t date_end, est_end;
	cr_assert_eq(clocks_date_end_us("2027-01-20", &date_end), 0);
	cr_assert_eq(clocks_date_end_us("2027-03-01", &est_end), 0);
	op_submit(&op, 2, PEER, false);
	case_doc(&op, ST(ACKNOWLEDGED), 1, 1, "ME/1");
	msg_id(op.msg.cd.in_reply_to, 1);
	fx_run(&op, 1);
	more_free(&op);
	/* The requester's date passes: its events, once. */
	scan((date_end - T0) / SEC_US + 10, names, sizeof(names));
	cr_assert_str_eq(names, "due-soon respond-by 2027-01-21T00:00:00Z was near (recorded "
	    "late: nothing watched in its window),overdue respond-by 2027-01-21T00:00:00Z has "
	    "passed");
	op_submit(&op, 3, PEER, false);
	case_doc(&op, ST(CONSULTATION), 1, 2, "");
	fx_run(&op, 1);
	more_free(&op);
	op_submit(&op, 4, PEER, false);
	case_doc(&op, ST(POSTPONED), 1, 3, "");
	snprintf(op.msg.cd.estimate, sizeof(op.msg.cd.estimate), "2027-03-01");
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	more_free(&op);
	/* The estimate passes: its own events. */
	scan((est_end - T0) / SEC_US, names, sizeof(names));
	cr_assert_str_eq(names, "due-soon respond-by 2027-03-02T00:00:00Z was near (recorded "
	    "late: nothing watched in its window),overdue respond-by 2027-03-02T00:00:00Z has "
	    "passed");
	/* The postponement never reached the peer: respond-by is the date again, whose
	 * events are in the history; nothing is recorded, now or later. */
	op_update(&op, 4, STORE_CANCELLED, 0);
	op.transition = OUTSTATE_OP_CANCEL;
	op.has_event = true;
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	more_free(&op);
	scan((est_end - T0) / SEC_US + 20, names, sizeof(names));
	cr_assert_str_eq(names, "", "the date's events recorded a second time");
	scan((est_end - T0) / SEC_US + 9000, names, sizeof(names));
	cr_assert_str_eq(names, "");
}

/* Our request delivered with a receipt time that cannot be true: the clocks count from
 * a time that can (the case's opening, or now), never from the peer's claim. */
Test(store, a_receipt_time_that_cannot_be_true_moves_no_clock)
{
	struct store_op op;
	char id[UUID_TEXT_LEN + 1];
	struct store_case c;
	fx_open(0);
	for (int n = 1; n <= 3; n++) {
		op_submit(&op, n, PEER, false);
		case_doc(&op, 0, 0, 0, "ME/REQ");
		fx_run(&op, 1);
		cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
		more_free(&op);
		int64_t opened = op.msg.created_us;
		op_update(&op, n, STORE_DELIVERED, 0);
		op.has_event = true;
		snprintf(op.event.event, sizeof(op.event.event), "delivered");
		op.msg.cd.ack_within_ms = 100 * 1000;
		/* 1: a year before the request existed; 2: in 2100; 3: true (just after). */
		op.msg.cd.received_ms = n == 1 ? opened / 1000 - 365LL * 86400000 :
		    n == 2 ? INT64_C(4102444800000) : opened / 1000 + 2000;
		fx_run(&op, 1);
		cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
		more_free(&op);
		msg_id(id, n);
		cr_assert_eq(store_case_get(fx.s, id, ME, &c), 0);
		if (n == 1)
			cr_assert_eq(c.received_us, c.opened_us, "before the case: its opening");
		else if (n == 2)
			cr_assert(c.received_us >= c.opened_us && c.received_us < INT64_C(4102444800000000),
			    "in 2100: now, not the claim (%lld)", (long long)c.received_us);
		else
			cr_assert_eq(c.received_us, (opened / 1000 + 2000) * 1000, "a true time is kept");
		cr_assert_eq(c.ack_by_us, c.received_us + 100 * SEC_US);
	}
}

/* [cases] warn_before 0: no window, so no due-soon, late or not; the overdue once. */
Test(store, no_due_soon_without_a_warning_window)
{
	char names[512];
	fx_open(0);
	receive_request(1, "");
	scan_warn(99, 0, names, sizeof(names));
	cr_assert_str_eq(names, "");
	scan_warn(100, 0, names, sizeof(names));
	cr_assert_str_eq(names, "overdue acknowledge-by 2027-01-15T08:01:40Z has passed");
	scan_warn(5000, 0, names, sizeof(names));
	cr_assert_str_eq(names, "overdue respond-by 2027-01-15T08:16:40Z has passed");
	scan_warn(6000, 0, names, sizeof(names));
	cr_assert_str_eq(names, "");
}

Test(store, deadlines_stop_when_the_case_moves_on_and_follow_a_postponement)
{
	struct store_op op;
	char names[512], id[UUID_TEXT_LEN + 1];
	fx_open(0);
	receive_request(1, "2027-01-20");
	msg_id(id, 1);
	struct store_case c;
	cr_assert_eq(store_case_get(fx.s, id, PEER, &c), 0);
	int64_t date_end;
	cr_assert_eq(clocks_date_end_us("2027-01-20", &date_end), 0);
	cr_assert_eq(c.respond_by_us, date_end, "the requester's date wins over the kind's");
	/* We acknowledge: acknowledge-by is met and never reported. */
	op_submit(&op, 2, PEER, false);
	case_doc(&op, ST(ACKNOWLEDGED), 1, 1, "ME/1");
	msg_id(op.msg.cd.in_reply_to, 1);
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	more_free(&op);
	scan(200, names, sizeof(names));
	cr_assert_str_eq(names, "");
	/* A consultation, then a postponement to an estimate: respond-by is the estimate. */
	op_submit(&op, 3, PEER, false);
	case_doc(&op, ST(CONSULTATION), 1, 2, "");
	fx_run(&op, 1);
	more_free(&op);
	op_submit(&op, 4, PEER, false);
	case_doc(&op, ST(POSTPONED), 1, 3, "");
	snprintf(op.msg.cd.estimate, sizeof(op.msg.cd.estimate), "2027-03-01");
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	more_free(&op);
	cr_assert_eq(store_case_get(fx.s, id, PEER, &c), 0);
	int64_t est_end;
	cr_assert_eq(clocks_date_end_us("2027-03-01", &est_end), 0);
	cr_assert_eq(c.respond_by_us, est_end);
	cr_assert_eq(c.respond_base_us, date_end, "the first respond-by is kept");
	/* The old date passes unnoticed; the estimate's clocks are reported (its due-soon
	 * late: the scan jumps over its window). */
	scan((date_end - T0) / SEC_US + 10, names, sizeof(names));
	cr_assert_str_eq(names, "");
	scan((est_end - T0) / SEC_US, names, sizeof(names));
	cr_assert_str_eq(names, "due-soon respond-by 2027-03-02T00:00:00Z was near (recorded late: nothing watched in its "
	    "window),overdue respond-by 2027-03-02T00:00:00Z has passed");
	/* The postponement never reached the peer: respond-by is the requester's date again. */
	op_update(&op, 4, STORE_CANCELLED, 0);
	op.transition = OUTSTATE_OP_CANCEL;
	op.has_event = true;
	fx_run(&op, 1);
	cr_assert_eq(op.result, STORE_R_OK, "%s", op.error);
	more_free(&op);
	cr_assert_eq(store_case_get(fx.s, id, PEER, &c), 0);
	cr_assert_eq(c.respond_by_us, date_end);
	cr_assert_str_eq(c.state, "consultation");
}

Test(store, a_version_8_store_migrates_its_cases_clocks)
{
	char id[UUID_TEXT_LEN + 1];
	fx_open(0);
	receive_request(1, "2027-01-20");
	receive_request(2, "");
	receive_request(3, "2027-01-20");
	fx_close();
	/* Back to what schema 8 had: the cases without their clocks; case 3 postponed then
	 * (its estimate only in its signed status document). */
	sqlite3 *db = NULL;
	cr_assert_eq(sqlite3_open(fx.db, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, TS_SCHEMA_DOWN_TO_8, NULL, NULL, NULL), SQLITE_OK, "%s",
	    sqlite3_errmsg(db));
	msg_id(id, 3);
	char *upd = sqlite3_mprintf("UPDATE cases SET state = 'postponed' WHERE request_id = %Q",
	    id);
	cr_assert_eq(sqlite3_exec(db, upd, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_free(upd);
	sqlite3_close(db);
	fx_open(0);
	struct store_case c;
	int64_t date_end;
	cr_assert_eq(clocks_date_end_us("2027-01-20", &date_end), 0);
	msg_id(id, 1);
	cr_assert_eq(store_case_get(fx.s, id, PEER, &c), 0);
	cr_assert_eq(c.respond_by_us, date_end, "the requester's date becomes respond-by");
	cr_assert_eq(c.respond_base_us, date_end);
	cr_assert_eq(c.ack_by_us, 0, "unknown from before");
	msg_id(id, 2);
	cr_assert_eq(store_case_get(fx.s, id, PEER, &c), 0);
	cr_assert_eq(c.respond_by_us, 0);
	msg_id(id, 3);
	cr_assert_eq(store_case_get(fx.s, id, PEER, &c), 0);
	cr_assert_eq(c.respond_by_us, 0, "postponed to an estimate the migration cannot read: "
	    "no respond-by, not the date it was postponed from");
	cr_assert_eq(c.respond_base_us, date_end);
	fx_close();
	cr_assert_eq(sqlite3_open(fx.db, &db), SQLITE_OK);
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_eq(sqlite3_column_int(st, 0), STORE_SCHEMA_VERSION);
	sqlite3_finalize(st);
	sqlite3_close(db);
	fx_open(0);
	/* The migrated store works on: a scan finds the date's clock. */
	char names[256];
	scan((date_end - T0) / SEC_US, names, sizeof(names));
	cr_assert_str_eq(names, "due-soon respond-by 2027-01-21T00:00:00Z was near (recorded late: nothing watched in its "
	    "window),overdue respond-by 2027-01-21T00:00:00Z has passed");
}

/* ---- proof of retrieval (storeretr.c, schema 10) ---- */

static void
retr_count(void *arg, const char *peer, const char *msg_id)
{
	(void)msg_id;
	cr_assert_str_eq(peer, PEER);
	(*(int *)arg)++;
}

/* A fetched UPDATE of received message n carrying evidence whose bytes are all fill. */
static void
op_fetched_with_evidence(struct store_op *op, int n, uint8_t fill)
{
	memset(op, 0, sizeof(*op));
	op->kind = STORE_OP_UPDATE;
	op->msg.dir = STORE_IN;
	msg_id(op->msg.msg_id, n);
	snprintf(op->msg.sender, sizeof(op->msg.sender), "%s", PEER);
	op->msg.state = STORE_RECEIVED;
	op->msg.fetched = true;
	op->set = STORE_SET_FETCHED;
	op->expect_state_mask = 1u << STORE_RECEIVED;
	struct store_retrieval *t = &op->retr;
	msg_id(t->msg_id, n);
	snprintf(t->peer, sizeof(t->peer), "%s", PEER);
	memset(t->payload_hash, 0x07, STORE_HASH_LEN);
	t->retrieved_ms = 1700000000000;
	t->actor_uid = 1000;
	snprintf(t->actor_user, sizeof(t->actor_user), "clerk");
	t->body = malloc(120);
	t->sig = malloc(70);
	t->cert = malloc(400);
	cr_assert(t->body && t->sig && t->cert);
	memset(t->body, fill, 120);
	memset(t->sig, fill ^ 1, 70);
	memset(t->cert, fill ^ 2, 400);
	t->body_len = 120;
	t->sig_len = 70;
	t->cert_len = 400;
}

/* A store written by schema 8 (everything but the retrievals table) is migrated at open:
 * its rows stay, and a first fetch then keeps its evidence, a second none. */
Test(store, a_version_8_store_migrates_and_keeps_retrieval_evidence)
{
	struct store_op v[3];
	fx_open(0);
	op_receive(&v[0], 7, 0x07, 0x08);
	fx_run(v, 1);
	cr_assert_eq(v[0].result, STORE_R_OK, "%s", v[0].error);
	free_ops(v, 1);
	fx_close();
	sqlite3 *db = NULL;
	cr_assert_eq(sqlite3_open(fx.db, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "BEGIN;" TS_SCHEMA_DOWN_TO_8 "COMMIT;", NULL, NULL, NULL),
	    SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);

	fx_open(0);
	struct store_msg m = {0};
	char id[UUID_TEXT_LEN + 1];
	msg_id(id, 7);
	cr_assert_eq(store_get(fx.s, STORE_IN, PEER, id, &m), 0, "the received row is gone");
	cr_assert_eq(m.state, STORE_RECEIVED);
	store_msg_clear(&m);
	struct store_retrieval t;
	cr_assert_eq(store_retrieval_get(fx.s, STORE_IN, PEER, id, &t), 1);

	op_fetched_with_evidence(&v[1], 7, 0xa1);
	op_fetched_with_evidence(&v[2], 7, 0xb2);
	fx_run(&v[1], 2);
	cr_assert_eq(v[1].result, STORE_R_OK, "%s", v[1].error);
	cr_assert_eq(v[2].result, STORE_R_STALE, "a second fetch changed something");
	cr_assert_eq(store_retrieval_get(fx.s, STORE_IN, PEER, id, &t), 0);
	cr_assert_eq(t.body_len, 120);
	cr_assert_eq(t.body[0], 0xa1, "the second fetch's evidence replaced the first");
	cr_assert_eq(t.actor_uid, 1000);
	cr_assert_str_eq(t.actor_user, "clerk");
	cr_assert_eq(t.receipted_us, 0);
	store_retrieval_clear(&t);
	int unsent = 0;
	cr_assert_eq(store_retrieval_unsent(fx.s, retr_count, &unsent), 1);
	cr_assert_eq(unsent, 1);
	for (int i = 1; i < 3; i++)
		store_retrieval_clear(&v[i].retr);
	fx_close();
	sqlite3_stmt *st = NULL;
	cr_assert_eq(sqlite3_open(fx.db, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_eq(sqlite3_column_int(st, 0), STORE_SCHEMA_VERSION);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The sender's side: a recipient's evidence kept once with its receipt and event; the
 * same bytes again answered with that receipt, other bytes refused. */
Test(store, retrieved_once_exists_then_conflict)
{
	struct store_op v[3];
	fx_open(0);
	for (int i = 0; i < 3; i++) {
		op_fetched_with_evidence(&v[i], 9, i == 2 ? 0xc3 : 0xa1);
		v[i].kind = STORE_OP_RETRIEVED;
		v[i].retr.rcpt_body = malloc(50);
		cr_assert(v[i].retr.rcpt_body != NULL);
		memset(v[i].retr.rcpt_body, 0x50 + i, 50);
		v[i].retr.rcpt_body_len = 50;
		snprintf(v[i].retr.rcpt_outcome, sizeof(v[i].retr.rcpt_outcome), "accepted");
	}
	fx_run(v, 3);
	cr_assert_eq(v[0].result, STORE_R_OK, "%s", v[0].error);
	cr_assert(v[0].event.seq > 0);
	cr_assert_str_eq(v[0].event.event, "retrieved");
	cr_assert_eq(v[1].result, STORE_R_EXISTS);
	cr_assert_eq(v[1].stored.rcpt_body_len, 50);
	cr_assert_eq(v[1].stored.rcpt_body[0], 0x50, "not the stored receipt");
	cr_assert_eq(v[1].event.seq, 0);
	cr_assert_eq(v[2].result, STORE_R_CONFLICT);
	struct store_retrieval t;
	char id[UUID_TEXT_LEN + 1];
	msg_id(id, 9);
	cr_assert_eq(store_retrieval_get(fx.s, STORE_OUT, PEER, id, &t), 0);
	cr_assert_eq(t.body[0], 0xa1);
	cr_assert(t.receipted_us > 0);
	store_retrieval_clear(&t);
	for (int i = 0; i < 3; i++) {
		store_retrieval_clear(&v[i].retr);
		store_msg_clear(&v[i].stored);
	}
}

/* ---- the signed blobs beside the row (schema 15) ---- */

/* One integer from a one-row query on the raw file. */
static int64_t
raw_int(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	cr_assert_eq(sqlite3_open(fx.db, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
	    sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* A state change rewrites the small row only: the document stays where the insert put
 * it, and a receipt is a row of its own; every reader joins them back. */
Test(store, a_state_change_leaves_the_signed_blobs_where_they_are)
{
	struct store_op a, u, r;
	struct store_msg m;
	fx_open(0);
	op_submit(&a, 5, PEER, false);
	op_receive(&r, 6, 0x06, 0x5c);
	fx_run(&a, 1);
	fx_run(&r, 1);
	op_send_first(&u, 5);
	store_msg_clear(&u.stored);
	uint8_t rb[40], rs[20], rc[30];
	memset(rb, 0xb1, sizeof(rb));
	memset(rs, 0xb2, sizeof(rs));
	memset(rc, 0xb3, sizeof(rc));
	op_update(&u, 5, STORE_STATE_COUNT, 0);
	u.transition = OUTSTATE_ACCEPTED;
	u.set = STORE_SET_RECEIPT;
	u.msg.rcpt_body = rb;
	u.msg.rcpt_body_len = sizeof(rb);
	u.msg.rcpt_sig = rs;
	u.msg.rcpt_sig_len = sizeof(rs);
	u.msg.rcpt_cert = rc;
	u.msg.rcpt_cert_len = sizeof(rc);
	fx_run(&u, 1);
	cr_assert_eq(u.result, STORE_R_OK, "%s", u.error);
	cr_assert_eq(store_get(fx.s, STORE_OUT, ME, a.msg.msg_id, &m), 0);
	cr_assert_eq(m.state, STORE_DELIVERED);
	cr_assert_eq(m.doc_body_len, sizeof(doc));
	cr_assert_eq(memcmp(m.doc_body, doc, sizeof(doc)), 0);
	cr_assert_eq(m.doc_sig_len, sizeof(sig));
	cr_assert_eq(m.rcpt_body_len, sizeof(rb));
	cr_assert_eq(m.rcpt_body[0], 0xb1);
	cr_assert_eq(m.rcpt_cert_len, sizeof(rc));
	store_msg_clear(&m);
	cr_assert_eq(store_get(fx.s, STORE_IN, PEER, r.msg.msg_id, &m), 0);
	cr_assert_eq(m.rcpt_body_len, 300, "the receipt of a received message");
	cr_assert_eq(m.rcpt_body[0], 0x5c);
	store_msg_clear(&m);
	free_ops(&r, 1);
	fx_close();
	cr_assert_eq(raw_int("SELECT count(*) FROM pragma_table_info('messages')"
	    " WHERE name IN ('doc_body', 'doc_sig', 'doc_cert', 'rcpt_body', 'rcpt_sig',"
	    " 'rcpt_cert')"), 0, "the message row has no blob left");
	cr_assert_eq(raw_int("SELECT count(*) FROM pragma_index_list('messages')"
	    " WHERE name = 'messages_state'"), 0, "its prefix of messages_list_state is gone");
	cr_assert_eq(raw_int("SELECT count(*) FROM message_docs"), 2);
	cr_assert_eq(raw_int("SELECT count(*) FROM message_receipts"), 2);
	cr_assert_eq(raw_int("SELECT length(body) FROM message_receipts r JOIN messages m"
	    " ON m.id = r.msg WHERE m.dir = 0"), (int64_t)sizeof(rb));
}

/* A store from before schema 15 keeps every blob: the migration moves them out of the
 * rows, and the readers find them where they went. */
Test(store, a_version_13_store_moves_its_signed_blobs_out_of_the_rows)
{
	struct store_op a, r;
	struct store_msg m;
	fx_open(0);
	op_submit(&a, 7, PEER, false);
	op_receive(&r, 8, 0x08, 0x6d);
	fx_run(&a, 1);
	fx_run(&r, 1);
	free_ops(&r, 1);
	fx_close();
	sqlite3 *db = NULL;
	cr_assert_eq(sqlite3_open(fx.db, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "BEGIN;" TS_SCHEMA_DOWN_TO_13 "COMMIT;", NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
	cr_assert_eq(raw_int("SELECT count(*) FROM messages WHERE doc_body IS NOT NULL"), 2,
	    "taken back to 13: the blobs are in the rows");
	fx_open(0);
	cr_assert_eq(store_get(fx.s, STORE_OUT, ME, a.msg.msg_id, &m), 0);
	cr_assert_eq(m.doc_body_len, sizeof(doc));
	cr_assert_eq(memcmp(m.doc_body, doc, sizeof(doc)), 0);
	cr_assert_eq(m.doc_cert_len, sizeof(cert));
	cr_assert_null(m.rcpt_body, "no receipt yet: none made up");
	store_msg_clear(&m);
	cr_assert_eq(store_get(fx.s, STORE_IN, PEER, r.msg.msg_id, &m), 0);
	cr_assert_eq(m.rcpt_body_len, 300);
	cr_assert_eq(m.rcpt_body[299], 0x6d);
	cr_assert_eq(m.rcpt_sig[0], 0x6d ^ 0x11);
	store_msg_clear(&m);
	fx_close();
	cr_assert_eq(raw_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	cr_assert_eq(raw_int("SELECT count(*) FROM pragma_table_info('messages')"
	    " WHERE name = 'doc_body'"), 0);
}

/* The process's write() calls so far (/proc/self/io syscw). */
static long
write_calls(void)
{
	char *io = ts_read_file("/proc/self/io", NULL);
	cr_assert(io != NULL);
	char *p = strstr(io, "syscw: ");
	cr_assert(p != NULL, "%s", io);
	long n = strtol(p + 7, NULL, 10);
	free(io);
	return n;
}

/* Each op's SAVEPOINT journal stays in memory: a batch of submits costs the WAL frames
 * of its one commit, not a temp-file write of every page each op touched. */
Test(store, a_batch_writes_its_wal_frames_not_a_savepoint_journal_file)
{
	enum { N = 40 };
	struct store_op v[N];
	fx_open(0);
	op_submit(&v[0], 1, PEER, false);
	fx_run(v, 1);               /* the file exists, its first pages written */
	store_test_hold(fx.s, true);
	for (int i = 1; i < N; i++) {
		op_submit(&v[i], 100 + i, PEER, false);
		v[i].done = op_count;
		store_submit(fx.s, &v[i]);
	}
	long before = write_calls();
	store_test_hold(fx.s, false);
	fx_wait(N);
	long calls = write_calls() - before;
	for (int i = 1; i < N; i++)
		cr_assert_eq(v[i].result, STORE_R_OK, "%s", v[i].error);
	cr_assert_lt(calls, 4 * N, "%ld write() calls for a batch of %d submits", calls, N - 1);
}

/* The lookups of every message read run their prepared plan: none is prepared again
 * because a bound value changed (a Transfer received costs one store_get). */
Test(store, message_lookups_are_never_prepared_again)
{
	struct store_op a[4], r[4], u;
	struct store_msg m;
	fx_open(0);
	for (int i = 0; i < 4; i++) {
		op_submit(&a[i], 10 + i, PEER, false);
		op_receive(&r[i], 20 + i, (uint8_t)(0x20 + i), 0x5c);
	}
	fx_run(a, 4);
	fx_run(r, 4);
	op_send_first(&u, 10);
	store_msg_clear(&u.stored);
	int64_t ids[8];
	int n;
	page_ids(INT64_MAX / 4, 0, 8, ids, &n);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(store_get(fx.s, STORE_OUT, ME, a[i].msg.msg_id, &m), 0);
		store_msg_clear(&m);
		cr_assert_eq(store_get(fx.s, STORE_IN, PEER, r[i].msg.msg_id, &m), 0);
		store_msg_clear(&m);
		cr_assert_eq(store_get(fx.s, STORE_OUT, NULL, a[i].msg.msg_id, &m), 0);
		store_msg_clear(&m);
		cr_assert_eq(store_get(fx.s, STORE_IN, NULL, r[i].msg.msg_id, &m), 0);
		store_msg_clear(&m);
		cr_assert_eq(store_settled(fx.s, PEER, r[i].msg.msg_id, r[i].msg.payload_hash, &m),
		    STORE_SETTLED_SAME);
		store_msg_clear(&m);
	}
	free_ops(r, 4);
	cr_assert_eq(store_test_reprepares(fx.s), 0, "statements prepared again");
}

/* A batch re-run after its transaction was lost: the op's staging was already renamed to
 * the file under its hash by the first run. The re-run names that file instead of
 * failing on the missing staging (a file of another size is still refused). */
Test(store, a_seal_run_again_names_the_file_its_first_run_sealed)
{
	fx_open(0);
	static uint8_t body[3000];
	memset(body, 'q', sizeof(body));
	struct store_att a;
	char file[700], err[300];
	att_file(file, sizeof(file), body, sizeof(body), &a);
	struct store_op ops[3];
	memset(ops, 0, sizeof(ops));
	int64_t sets[3] = {store_bset_new(fx.s), store_bset_new(fx.s), store_bset_new(fx.s)};
	struct iovec v = {body, sizeof(body)};
	cr_assert_eq(store_stage_write(fx.s, sets[0], 0, 0, &v, 1, err, sizeof(err)), STORE_R_OK,
	    "%s", err);
	for (int i = 0; i < 3; i++) {
		op_submit(&ops[i], 1 + i, PEER, false);
		ops[i].msg.bset = sets[i];
		ops[i].msg.size = sizeof(body) + sizeof(doc);
	}
	att_name(&ops[0].msg, &a, 1);
	att_name(&ops[1].msg, &a, 1);       /* no staging: sealed by "its first run" */
	struct store_att wrong = a;
	wrong.size = a.size + 1;
	att_name(&ops[2].msg, &wrong, 1);   /* no staging, and the file is not its size */
	fx_run(ops, 3);
	cr_assert_eq(ops[0].result, STORE_R_OK, "%s", ops[0].error);
	cr_assert_eq(ops[1].result, STORE_R_OK, "%s", ops[1].error);
	cr_assert_neq(ops[2].result, STORE_R_OK, "a staging file that is not there, for a file of another size");
	free_ops(ops, 3);
	uint8_t *d = NULL;
	size_t n = 0;
	cr_assert_eq(store_chunk_read(fx.s, sets[1], 0, 0, sizeof(body), &d, &n), 0);
	cr_assert_eq(n, sizeof(body));
	cr_assert_eq(memcmp(d, body, n), 0);
	free(d);
}

/* A partial index's condition is evaluated for the row before and after at every write;
 * an IN list there is a temporary table built each time (schema 16 wrote the outbox's
 * as ORs). The messages table's, written for every message; also after a migration
 * from 13. */
static void
assert_no_in_list_index(const char *when)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	cr_assert_eq(sqlite3_open(fx.db, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT name, sql FROM sqlite_master WHERE type ="
	    " 'index' AND tbl_name = 'messages' AND sql IS NOT NULL", -1, &st, NULL), SQLITE_OK);
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *sql = (const char *)sqlite3_column_text(st, 1);
		const char *where = strstr(sql, " WHERE ");
		cr_assert(where == NULL || strstr(where, " IN ") == NULL, "%s: index %s: %s", when,
		    sqlite3_column_text(st, 0), sql);
		n++;
	}
	cr_assert_gt(n, 5);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

Test(store, no_partial_index_condition_is_an_in_list)
{
	fx_open(0);
	fx_close();
	assert_no_in_list_index("new store");
	sqlite3 *db = NULL;
	cr_assert_eq(sqlite3_open(fx.db, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "BEGIN;" TS_SCHEMA_DOWN_TO_13 "COMMIT;", NULL, NULL, NULL),
	    SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
	fx_open(0);
	fx_close();
	assert_no_in_list_index("migrated from 13");
}
