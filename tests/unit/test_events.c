/*
 * Unit tests for daemon/events.c against a real store in a temp folder: the JSON line
 * (fields, order, time format, metadata only), start-up repair of a torn tail, catch-up
 * of exactly the missing events (and none on a clean re-open), the log mark, duplicate
 * seqs, write failures healed from the store, subscribers, counters and the file mode.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>

#include "../support/support.h"
#include "events.h"
#include "store.h"

#define PEER "FR-MINJUSTICE"
#define MSG_ID "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b"
#define TS_US 1795806973235123LL        /* 2026-11-27T19:16:13.235123Z */
#define WAIT_MS 10000

static char *dir;
static char logpath[512];
static struct event_base *base;
static struct store *st;
static struct events *evs;      /* emitted to from op completions, when set */
static int ops_done;

struct seen {
	int n;
	int64_t seqs[16];
	char lines[16][1024];
};

static void setup(void);
static void teardown(void);
static void run_until(const int *counter, int want);
static void op_done(struct store_op *op, void *arg);
static void store_add(int n);
static void store_mark(int64_t seq);
static void wait_mark(int64_t seq);
static struct store_event event_make(int64_t seq, const char *name);
static char *line_of(int64_t seq);
static void file_of_seqs(int64_t first, int64_t last, const char *tail);
static int file_lines(int64_t *seqs, int max);
static void assert_seqs(int64_t first, int64_t last);
static void on_event(void *arg, const struct store_event *e, const char *line);

static void
setup(void)
{
	char err[512] = "";

	cr_assert(evthread_use_pthreads() == 0);
	dir = ts_tmpdir("events");
	snprintf(logpath, sizeof(logpath), "%s/delivery.log", dir);
	base = event_base_new();
	cr_assert(base != NULL);
	cr_assert(store_open(dir, 0, base, &st, err, sizeof(err)) == 0, "%s", err);
	evs = NULL;
	ops_done = 0;
}

static void
teardown(void)
{
	events_close(evs);
	evs = NULL;
	store_close(st);        /* drains: completes the final mark op */
	event_base_free(base);
	ts_rmrf(dir);
	free(dir);
}

/* Runs the loop until *counter reaches want: completions arrive from the store thread. */
static void
run_until(const int *counter, int want)
{
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (*counter < want) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (*counter >= want)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		cr_assert((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000
		    < WAIT_MS, "store ops did not complete (%d of %d)", *counter, want);
		usleep(1000);
	}
}

/* As the daemon does: emit only after the commit reported success. */
static void
op_done(struct store_op *op, void *arg)
{
	(void)arg;
	cr_assert(op->result == STORE_R_OK, "store op: %s (%s)",
	    store_result_name(op->result), op->error);
	if (evs != NULL && op->event.seq != 0)
		events_emit(evs, &op->event);
	store_msg_clear(&op->stored);
	free(op);
	ops_done++;
}

/* Commits n link events (the store assigns seq and ts). */
static void
store_add(int n)
{
	int want = ops_done + n;

	for (int i = 0; i < n; i++) {
		struct store_op *op = calloc(1, sizeof(*op));

		cr_assert(op != NULL);
		op->kind = STORE_OP_EVENT;
		op->has_event = true;
		op->event = event_make(0, i % 2 == 0 ? "link-up" : "link-down");
		op->done = op_done;
		store_submit(st, op);
	}
	run_until(&ops_done, want);
}

static void
store_mark(int64_t seq)
{
	struct store_op *op = calloc(1, sizeof(*op));
	int want = ops_done + 1;

	cr_assert(op != NULL);
	op->kind = STORE_OP_LOG_MARK;
	op->log_seq = seq;
	op->done = op_done;
	store_submit(st, op);
	run_until(&ops_done, want);
	cr_assert_eq(store_log_mark(st), seq);
}

/* events queues its mark op and frees it itself: poll the store until it shows. */
static void
wait_mark(int64_t seq)
{
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (store_log_mark(st) != seq) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		clock_gettime(CLOCK_MONOTONIC, &now);
		cr_assert((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000
		    < WAIT_MS, "log mark is %lld, want %lld", (long long)store_log_mark(st),
		    (long long)seq);
		usleep(1000);
	}
}

static struct store_event
event_make(int64_t seq, const char *name)
{
	struct store_event e;

	memset(&e, 0, sizeof(e));
	e.seq = seq;
	e.ts_us = TS_US;
	snprintf(e.event, sizeof(e.event), "%s", name);
	snprintf(e.peer, sizeof(e.peer), "%s", PEER);
	e.dir = STORE_OUT;
	return e;
}

/* The line the store's event seq gets (as start-up would write it). Caller frees. */
static char *
line_of(int64_t seq)
{
	struct store_event e;
	char *s;

	cr_assert(store_events_since(st, seq - 1, &e, 1) == 1);
	cr_assert_eq(e.seq, seq);
	s = events_json(&e);
	cr_assert(s != NULL);
	return s;
}

/* Writes the lines of store events first..last, then tail (may be NULL). */
static void
file_of_seqs(int64_t first, int64_t last, const char *tail)
{
	FILE *f = fopen(logpath, "w");

	cr_assert(f != NULL);
	for (int64_t s = first; s <= last; s++) {
		char *l = line_of(s);

		fprintf(f, "%s\n", l);
		free(l);
	}
	if (tail != NULL)
		fputs(tail, f);
	cr_assert(fclose(f) == 0);
	cr_assert(chmod(logpath, 0600) == 0);
}

/* Seqs of the file's lines; every line must be a complete JSON object. */
static int
file_lines(int64_t *seqs, int max)
{
	size_t len;
	char *buf = ts_read_file(logpath, &len);
	char *p, *nl;
	int n = 0;

	cr_assert(buf != NULL);
	cr_assert(len == 0 || buf[len - 1] == '\n', "file does not end in a newline");
	cr_assert(strlen(buf) == len, "NUL byte in the file");
	for (p = buf; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		json_error_t jerr;
		json_t *o = json_loadb(p, (size_t)(nl - p), 0, &jerr);

		cr_assert(o != NULL, "line %d is not JSON: %s", n + 1, jerr.text);
		cr_assert(n < max);
		seqs[n++] = json_integer_value(json_object_get(o, "seq"));
		json_decref(o);
	}
	free(buf);
	return n;
}

static void
assert_seqs(int64_t first, int64_t last)
{
	int64_t seqs[64];
	int n = file_lines(seqs, 64);

	cr_assert_eq(n, last - first + 1, "file has %d lines, want %lld", n,
	    (long long)(last - first + 1));
	for (int i = 0; i < n; i++)
		cr_assert_eq(seqs[i], first + i, "line %d has seq %lld", i + 1,
		    (long long)seqs[i]);
}

static void
on_event(void *arg, const struct store_event *e, const char *line)
{
	struct seen *s = arg;

	cr_assert(s->n < 16);
	s->seqs[s->n] = e->seq;
	snprintf(s->lines[s->n], sizeof(s->lines[0]), "%s", line);
	s->n++;
}

TestSuite(events, .init = setup, .fini = teardown);

Test(events, line_has_the_fields_in_order)
{
	static const char *const order[] = { "seq", "ts", "event", "id", "peer", "direction",
		"state", "attempt", "bytes", "reason" };
	struct store_event e = event_make(7, "delivered");
	char *s;
	json_t *o;
	const char *key;
	json_t *v;
	size_t i = 0;

	snprintf(e.msg_id, sizeof(e.msg_id), "%s", MSG_ID);
	snprintf(e.state, sizeof(e.state), "delivered");
	snprintf(e.reason, sizeof(e.reason), "receipt \"ok\"\nverified");
	e.attempt = 2;
	e.bytes = 48213;
	s = events_json(&e);
	cr_assert(s != NULL);
	cr_assert(strchr(s, '\n') == NULL, "a raw newline would split the line: %s", s);
	cr_assert(strncmp(s, "{\"seq\":7,\"ts\":\"2026-11-27T19:16:13.235123Z\",", 44) == 0,
	    "%s", s);
	o = json_loads(s, 0, NULL);
	cr_assert(o != NULL);
	json_object_foreach(o, key, v) {
		cr_assert(i < 10);
		cr_assert_str_eq(key, order[i], "key %zu is %s, want %s", i, key, order[i]);
		i++;
	}
	cr_assert_eq(i, 10);
	cr_assert_str_eq(json_string_value(json_object_get(o, "event")), "delivered");
	cr_assert_str_eq(json_string_value(json_object_get(o, "id")), MSG_ID);
	cr_assert_str_eq(json_string_value(json_object_get(o, "peer")), PEER);
	cr_assert_str_eq(json_string_value(json_object_get(o, "direction")), "out");
	cr_assert_eq(json_integer_value(json_object_get(o, "attempt")), 2);
	cr_assert_eq(json_integer_value(json_object_get(o, "bytes")), 48213);
	cr_assert_str_eq(json_string_value(json_object_get(o, "reason")),
	    "receipt \"ok\"\nverified");
	json_decref(o);
	free(s);
}

Test(events, emitted_lines_are_json_with_the_fields)
{
	char err[512] = "";
	struct store_event e;
	int64_t seqs[8];

	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	store_add(3);
	cr_assert_eq(file_lines(seqs, 8), 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(seqs[i], i + 1);
	/* A link event has no id or state: they are left out, not written empty. */
	e = event_make(4, "link-up");
	e.dir = STORE_IN;
	events_emit(evs, &e);
	{
		char *buf = ts_read_file(logpath, NULL);
		char *last = strstr(buf, "{\"seq\":4,");

		cr_assert(last != NULL);
		cr_assert(strstr(last, "\"id\"") == NULL && strstr(last, "\"state\"") == NULL &&
		    strstr(last, "\"reason\"") == NULL, "%s", last);
		cr_assert(strstr(last, "\"direction\":\"in\"") != NULL, "%s", last);
		free(buf);
	}
}

Test(events, line_never_carries_other_fields)
{
	static const char *const allowed[] = { "seq", "ts", "event", "id", "peer",
		"direction", "state", "attempt", "bytes", "reason" };
	char err[512] = "";
	struct store_event e = event_make(1, "quarantined");
	char *buf;
	json_t *o, *v;
	const char *key;

	snprintf(e.msg_id, sizeof(e.msg_id), "%s", MSG_ID);
	snprintf(e.reason, sizeof(e.reason), "document signature does not verify");
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	events_emit(evs, &e);
	buf = ts_read_file(logpath, NULL);
	o = json_loads(buf, 0, NULL);
	cr_assert(o != NULL, "%s", buf);
	json_object_foreach(o, key, v) {
		bool ok = false;

		for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
			ok = ok || strcmp(key, allowed[i]) == 0;
		cr_assert(ok, "unexpected field %s in %s", key, buf);
	}
	cr_assert_str_eq(json_string_value(json_object_get(o, "reason")),
	    "document signature does not verify");
	json_decref(o);
	free(buf);
}

/* Fills every string field of e with ASCII bytes from *next on (1..127, wrapping). */
static void
ascii_fill(struct store_event *e, int *next, size_t len)
{
	char *fields[] = {e->msg_id, e->peer, e->state, e->reason, e->actor_user, e->alert};
	size_t sizes[] = {sizeof(e->msg_id), sizeof(e->peer), sizeof(e->state),
	    sizeof(e->reason), sizeof(e->actor_user), sizeof(e->alert)};
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		size_t n = len < sizes[f] - 1 ? len : sizes[f] - 1;
		for (size_t i = 0; i < n; i++) {
			fields[f][i] = (char)*next;
			*next = *next == 127 ? 1 : *next + 1;
		}
		fields[f][n] = '\0';
	}
}

/* The direct writer of ASCII events gives, byte for byte, the line jansson writes for
 * the same object (every ASCII byte in every string field, each optional field present
 * and absent, the largest numbers): the line reloaded and dumped again is unchanged. */
Test(events, events_json_ascii_is_what_jansson_writes)
{
	int next = 1;
	for (int round = 0; round < 64; round++) {
		struct store_event e = event_make(round % 2 ? INT64_MAX : round, "delivered");
		ascii_fill(&e, &next, (size_t)(round % 9 == 0 ? 0 : 1 + round * 7 % 300));
		e.has_actor = round % 3 != 0;
		e.actor_uid = round % 4 == 0 ? UINT32_MAX : (uint32_t)round;
		e.attempt = round % 5 == 0 ? UINT32_MAX : (uint32_t)round;
		e.bytes = round % 6 == 0 ? UINT64_MAX : (uint64_t)round * 1000;
		e.dir = round % 2 ? STORE_IN : STORE_OUT;
		char *s = events_json(&e);
		cr_assert(s != NULL);
		json_error_t jerr;
		json_t *o = json_loads(s, 0, &jerr);
		cr_assert(o != NULL, "round %d: %s: %s", round, jerr.text, s);
		char *again = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
		cr_assert_str_eq(s, again, "round %d", round);
		cr_assert_str_eq(json_string_value(json_object_get(o, "reason")) ?
		    json_string_value(json_object_get(o, "reason")) : "", e.reason);
		cr_assert_str_eq(json_string_value(json_object_get(o, "peer")), e.peer);
		if (e.has_actor)
			cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "actor"),
			    "user")), e.actor_user);
		free(again);
		json_decref(o);
		free(s);
	}
}

Test(events, invalid_utf8_in_reason_still_gives_a_line)
{
	struct store_event e = event_make(1, "refused-id-conflict");
	char *s;
	json_t *o;

	snprintf(e.reason, sizeof(e.reason), "peer sent \xff\xfe here");
	s = events_json(&e);
	cr_assert(s != NULL);
	o = json_loads(s, 0, NULL);
	cr_assert(o != NULL, "%s", s);
	cr_assert_str_eq(json_string_value(json_object_get(o, "reason")), "peer sent ?? here");
	json_decref(o);
	free(s);
}

Test(events, file_is_created_0600)
{
	char err[512] = "";
	struct stat sb;

	umask(022);
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	cr_assert(stat(logpath, &sb) == 0);
	cr_assert_eq(sb.st_mode & 07777, 0600, "mode %o", (unsigned)(sb.st_mode & 07777));
}

Test(events, torn_last_line_is_cut_and_completed)
{
	char err[512] = "";
	char *half;

	store_add(5);
	half = line_of(4);
	half[strlen(half) / 2] = '\0';
	file_of_seqs(1, 3, half);
	free(half);
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	assert_seqs(1, 5);
}

/* A power loss can leave zero-filled blocks at the end; the scan crosses blocks. */
Test(events, zero_filled_tail_larger_than_a_block_is_cut)
{
	char err[512] = "";
	FILE *f;

	store_add(40);
	file_of_seqs(1, 38, NULL);
	f = fopen(logpath, "a");
	cr_assert(f != NULL);
	for (int i = 0; i < 9000; i++)
		fputc('\0', f);
	cr_assert(fclose(f) == 0);
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	assert_seqs(1, 40);
}

Test(events, file_that_is_only_a_torn_line_is_emptied_then_completed)
{
	char err[512] = "";

	store_add(2);
	file_of_seqs(1, 0, "{\"seq\":1,\"ts\":\"2026");
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	assert_seqs(1, 2);
}

Test(events, catch_up_appends_exactly_the_missing_events)
{
	char err[512] = "";

	store_add(10);
	file_of_seqs(1, 6, NULL);
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	assert_seqs(1, 10);
}

Test(events, reopen_with_nothing_missing_adds_nothing)
{
	char err[512] = "";
	char *before, *after;
	size_t lb, la;

	store_add(10);
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	events_close(evs);
	evs = NULL;
	before = ts_read_file(logpath, &lb);
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	events_close(evs);
	evs = NULL;
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	after = ts_read_file(logpath, &la);
	cr_assert_eq(la, lb);
	cr_assert(memcmp(before, after, la) == 0);
	assert_seqs(1, 10);
	free(before);
	free(after);
}

/* A rotated-away file: the store's mark says 1..8 are in the old one. */
Test(events, catch_up_starts_after_the_log_mark)
{
	char err[512] = "";

	store_add(10);
	store_mark(8);
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	assert_seqs(9, 10);
}

Test(events, close_records_the_log_mark)
{
	char err[512] = "";

	store_add(4);
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	store_add(2);
	events_close(evs);
	evs = NULL;
	wait_mark(6);
}

Test(events, mark_every_thousand_events)
{
	char err[512] = "";
	struct store_event e;

	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	for (int64_t s = 1; s <= 1000; s++) {
		e = event_make(s, "sent");
		events_emit(evs, &e);
	}
	wait_mark(1000);
}

Test(events, a_seq_already_written_is_skipped)
{
	char err[512] = "";
	struct store_event e;
	struct seen seen = { 0 };

	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	cr_assert(events_subscribe(evs, on_event, &seen) > 0);
	e = event_make(1, "queued");
	events_emit(evs, &e);
	events_emit(evs, &e);
	e = event_make(2, "sent");
	events_emit(evs, &e);
	e = event_make(1, "queued");
	events_emit(evs, &e);
	assert_seqs(1, 2);
	cr_assert_eq(seen.n, 2);
	cr_assert_eq(events_count(evs, "queued"), 1);
}

Test(events, subscribers_get_events_after_subscribing_only)
{
	char err[512] = "";
	struct seen a = { 0 }, b = { 0 };
	int ha, hb;
	char *json;

	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	store_add(1);
	ha = events_subscribe(evs, on_event, &a);
	cr_assert(ha > 0);
	store_add(2);
	hb = events_subscribe(evs, on_event, &b);
	cr_assert(hb > 0 && hb != ha);
	store_add(1);
	events_unsubscribe(evs, ha);
	store_add(1);
	cr_assert_eq(a.n, 3);
	cr_assert_eq(a.seqs[0], 2);
	cr_assert_eq(a.seqs[2], 4);
	cr_assert_eq(b.n, 2);
	cr_assert_eq(b.seqs[0], 4);
	cr_assert_eq(b.seqs[1], 5);
	json = line_of(5);
	cr_assert_str_eq(b.lines[1], json, "subscribers get the file's line");
	free(json);
	assert_seqs(1, 5);
}

struct self_remover {
	struct events *ev;
	int handle;
	int calls;
};

static void
remove_self(void *arg, const struct store_event *e, const char *line)
{
	struct self_remover *r = arg;

	(void)e;
	(void)line;
	r->calls++;
	events_unsubscribe(r->ev, r->handle);
}

/* A follower that disconnects while being notified (its write failed). */
Test(events, unsubscribe_from_inside_a_callback)
{
	char err[512] = "";
	struct self_remover r = { 0 };
	struct seen after = { 0 };

	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	r.ev = evs;
	r.handle = events_subscribe(evs, remove_self, &r);
	cr_assert(events_subscribe(evs, on_event, &after) > 0);
	store_add(3);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(after.n, 3);
}

Test(events, counts_per_event_name)
{
	char err[512] = "";
	const char *names[] = { "queued", "sent", "sent", "delivered", "something-new" };
	struct store_event e;

	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	for (int i = 0; i < 5; i++) {
		e = event_make(i + 1, names[i]);
		events_emit(evs, &e);
	}
	cr_assert_eq(events_count(evs, "queued"), 1);
	cr_assert_eq(events_count(evs, "sent"), 2);
	cr_assert_eq(events_count(evs, "delivered"), 1);
	cr_assert_eq(events_count(evs, "rejected"), 0);
	cr_assert_eq(events_count(evs, "other"), 1);
	cr_assert_eq(events_count(evs, "something-new"), 0);
}

/* A write that fails (here: file size limit, partial write) is cut back and the
 * missing event is copied from the store before the next line. */
Test(events, failed_write_is_healed_from_the_store)
{
	char err[512] = "";
	struct rlimit rl, small;
	struct stat sb;
	struct store_event third;
	struct events *saved;

	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	store_add(2);
	/* Commit seq 3 first: the limit is per process and would fail the store too. */
	saved = evs;
	evs = NULL;
	store_add(1);
	evs = saved;
	cr_assert(store_events_since(st, 2, &third, 1) == 1);
	cr_assert(stat(logpath, &sb) == 0);
	signal(SIGXFSZ, SIG_IGN);
	cr_assert(getrlimit(RLIMIT_FSIZE, &rl) == 0);
	small = rl;
	small.rlim_cur = (rlim_t)sb.st_size + 20;
	cr_assert(setrlimit(RLIMIT_FSIZE, &small) == 0);
	events_emit(evs, &third);       /* partial write, cut back */
	cr_assert(setrlimit(RLIMIT_FSIZE, &rl) == 0);
	assert_seqs(1, 2);
	store_add(1);           /* seq 4: seq 3 comes from the store first */
	assert_seqs(1, 4);
}

/* logrotate moved the file: the next lines go to a new one at the name, the old one
 * keeps what it had, and the log mark covers it (a restart copies none of it again). */
Test(events, reopen_after_a_rename_writes_a_new_file)
{
	char err[512] = "", rotated[600];
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	store_add(3);
	snprintf(rotated, sizeof(rotated), "%s.1", logpath);
	cr_assert_eq(rename(logpath, rotated), 0);
	cr_assert(events_reopen(evs, err, sizeof(err)) == 0, "%s", err);
	wait_mark(3);
	store_add(2);
	assert_seqs(4, 5);
	cr_assert_eq(ts_file_count(rotated, "\"seq\":"), 3);
	/* The same file still there: nothing changes. */
	cr_assert(events_reopen(evs, err, sizeof(err)) == 0, "%s", err);
	store_add(1);
	assert_seqs(4, 6);
}

/* After a reopen, a failed write is cut back to the new file's end, not the old one's. */
Test(events, failed_write_after_a_reopen_is_healed)
{
	char err[512] = "", rotated[600];
	struct rlimit rl, small;
	struct store_event next;
	struct events *saved;
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	store_add(3);
	snprintf(rotated, sizeof(rotated), "%s.1", logpath);
	cr_assert_eq(rename(logpath, rotated), 0);
	cr_assert(events_reopen(evs, err, sizeof(err)) == 0, "%s", err);
	saved = evs;
	evs = NULL;
	store_add(1);
	evs = saved;
	cr_assert(store_events_since(st, 3, &next, 1) == 1);
	signal(SIGXFSZ, SIG_IGN);
	cr_assert(getrlimit(RLIMIT_FSIZE, &rl) == 0);
	small = rl;
	small.rlim_cur = 20;
	cr_assert(setrlimit(RLIMIT_FSIZE, &small) == 0);
	events_emit(evs, &next);        /* partial write into the new, empty file */
	cr_assert(setrlimit(RLIMIT_FSIZE, &rl) == 0);
	store_add(1);           /* seq 5: seq 4 comes from the store first */
	assert_seqs(4, 5);
}

Test(events, last_line_that_is_not_ours_refuses_to_open)
{
	char err[512] = "";

	store_add(2);
	file_of_seqs(1, 1, "not json at all\n");
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == -1);
	cr_assert(evs == NULL);
	cr_assert(strstr(err, logpath) != NULL, "error names the file: %s", err);
}

Test(events, file_ahead_of_the_store_refuses_to_open)
{
	char err[512] = "";
	struct store_event e = event_make(5, "sent");
	char *l = events_json(&e);

	store_add(2);
	file_of_seqs(1, 2, l);
	free(l);
	{
		FILE *f = fopen(logpath, "a");

		cr_assert(f != NULL);
		fputc('\n', f);
		fclose(f);
	}
	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == -1);
	cr_assert(strstr(err, "seq 5") != NULL, "%s", err);
}

Test(events, unopenable_path_names_the_file)
{
	char err[512] = "";
	char bad[600];

	snprintf(bad, sizeof(bad), "%s/missing/delivery.log", dir);
	cr_assert(events_open(bad, st, &evs, err, sizeof(err)) == -1);
	cr_assert(strstr(err, bad) != NULL, "%s", err);
}

/* events_batch: the lines of one loop turn (a store batch's completions) go out in one
 * write at its end, in seq order; subscribers are not kept waiting; closing writes what
 * is pending. */
Test(events, the_lines_of_one_loop_turn_go_out_together_at_its_end)
{
	char err[512] = "";
	struct seen s = {0};
	int64_t seqs[8];

	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	events_batch(evs, base);
	cr_assert(events_subscribe(evs, on_event, &s) > 0);
	for (int i = 1; i <= 3; i++) {
		struct store_event e = event_make(i, "link-up");
		events_emit(evs, &e);
	}
	cr_assert_eq(s.n, 3, "followers get each line at once");
	cr_assert_eq(file_lines(seqs, 8), 0, "nothing written before the turn ends");
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	cr_assert_eq(file_lines(seqs, 8), 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(seqs[i], i + 1);
	struct store_event e = event_make(4, "link-down");
	events_emit(evs, &e);
	events_close(evs);
	evs = NULL;
	cr_assert_eq(file_lines(seqs, 8), 4, "closing writes the pending line");
	cr_assert_eq(seqs[3], 4);
}

static bool json_alloc_fails;

static void *
json_alloc_maybe(size_t n)
{
	return json_alloc_fails ? NULL : malloc(n);
}

/* Out of memory while making one event's line: the line is not skipped for good, the
 * next event copies it from the store first (the file keeps every seq, in order). */
Test(events, a_line_that_could_not_be_made_is_copied_from_the_store_next)
{
	char err[512] = "";
	struct store_event second;
	struct events *saved;

	cr_assert(events_open(logpath, st, &evs, err, sizeof(err)) == 0, "%s", err);
	store_add(1);
	saved = evs;
	evs = NULL;
	store_add(1);
	evs = saved;
	cr_assert(store_events_since(st, 1, &second, 1) == 1);
	/* Not ASCII: its line goes through jansson, whose allocator fails here. */
	snprintf(second.reason, sizeof(second.reason), "d\xc3\xa9lai");
	json_set_alloc_funcs(json_alloc_maybe, free);
	json_alloc_fails = true;
	events_emit(evs, &second);
	json_alloc_fails = false;
	json_set_alloc_funcs(malloc, free);
	assert_seqs(1, 1);
	store_add(1);           /* seq 3: seq 2 comes from the store first */
	assert_seqs(1, 3);
}
