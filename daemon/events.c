/*
 * events: the delivery log (one JSON line per committed event; the lines of one loop turn
 * appended with a single write at its end, see events_batch), the log --follow
 * subscribers and the per-event counters. The file is a copy of
 * the store's events table: it must never get a line twice, never a line out of seq
 * order, and never any message content (subject, body, attachment) — metadata only.
 *
 * Error policy: events_open fails (-1 + err naming the file) when the file cannot be
 * opened, repaired or completed, because the daemon must not start with a log it cannot
 * keep. After that nothing here is fatal: a failed write is logged (rate-limited), the
 * file is cut back to its last complete line, and the missing events are copied from
 * the store before the next line is written (or at the next start-up).
 */
#include "events.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "log.h"

/* Events between two log marks: bounds the catch-up work of the next start-up. */
#define EVENTS_MARK_EVERY 1000
/* Events read from the store per page during a catch-up. */
#define EVENTS_PAGE 1000
/* Block size of the backwards scan for newlines at start-up. */
#define EVENTS_SCAN_BLOCK 4096
/* Our lines stay under ~3 KiB (reason is the only long field); a longer last line is
 * not one of ours. */
#define EVENTS_LINE_MAX 65536
/* Pending lines beyond this are written at once, not at the end of the turn. */
#define EVENTS_BATCH_MAX (256 * 1024)
/* log_ratelimited class for delivery-log write errors (1 link, 2 peer, 3 server). */
#define EVENTS_RL_KEY 4

/* The event names counted separately; anything else counts as "other" (last slot). */
static const char *const events_names[] = {
	"queued", "sent", "delivered", "retry-scheduled", "rejected", "failed", "expired",
	"unconfirmed", "cancelled", "received", "duplicate", "refused-id-conflict",
	"quarantined", "link-up", "link-down", "case-opened", "case-status",
	"case-status-waiting", "case-status-void", "case-void",
};
#define EVENTS_NNAMES (sizeof(events_names) / sizeof(events_names[0]))

struct events_sub {
	int handle;
	events_fn fn;           /* NULL once unsubscribed during a notification */
	void *arg;
};

struct events {
	char *path;
	int fd;
	struct store *st;
	off_t size;             /* end of the last complete line written */
	int64_t last_written;   /* highest seq in the file */
	int64_t last_emitted;   /* highest seq passed to events_emit (subscribers) */
	int64_t marked;         /* highest seq sent to the store as log mark */
	unsigned since_mark;
	bool broken;            /* a write failed: copy the gap from the store first */
	struct event *flush_ev; /* events_batch: writes the turn's lines; NULL: at once */
	char *pend;             /* complete lines not yet written, in seq order */
	size_t pend_len, pend_cap;
	int64_t pend_seq;       /* seq of the last pending line */
	uint64_t counts[EVENTS_NNAMES + 1];
	struct events_sub *subs;
	size_t nsubs;
	size_t capsubs;
	int next_handle;
	int notifying;          /* depth: unsubscribe only marks entries meanwhile */
};

static int events_repair(struct events *ev, int64_t *file_seq, bool *changed, char *err,
    size_t errlen);
static int events_append(struct events *ev, const char *buf, size_t len, int64_t last_seq,
    char *err, size_t errlen);
static int events_pend(struct events *ev, const char *json, int64_t seq, char *err,
    size_t errlen);
static void events_flush(struct events *ev);
static void events_flush_cb(evutil_socket_t fd, short what, void *arg);
static int events_scan_back(int fd, off_t before, off_t *pos);
static int events_line_seq(struct events *ev, off_t start, off_t end, int64_t *seq,
    char *err, size_t errlen);
static int events_catch_up(struct events *ev, int64_t after, int64_t below, char *err,
    size_t errlen);
static int events_write_line(struct events *ev, const struct store_event *e, char *err,
    size_t errlen);
static void events_mark(struct events *ev);
static void events_mark_done(struct store_op *op, void *arg);
static void events_notify(struct events *ev, const struct store_event *e, const char *line);
static void events_compact(struct events *ev);
static size_t events_name_index(const char *name);
static json_t *events_jstr(const char *s, size_t max);
static int events_set(json_t *o, const char *key, json_t *v);
static bool events_ascii(const char *s, size_t max);
static char *events_json_ascii(const struct store_event *e, const char *ts);
static void events_ts(int64_t ts_us, char out[40]);

int
events_open(const char *path, struct store *st, struct events **out, char *err,
    size_t errlen)
{
	struct events *ev = NULL;
	struct stat sb;
	int64_t file_seq = 0, from;
	bool changed = false;

	*out = NULL;
	ev = calloc(1, sizeof(*ev));
	if (ev == NULL || (ev->path = strdup(path)) == NULL) {
		free(ev);
		return err_set(err, errlen, "delivery log %s: out of memory", path);
	}
	ev->st = st;
	ev->next_handle = 1;
	ev->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (ev->fd == -1) {
		err_set(err, errlen, "delivery log %s: open: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(ev->fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		err_set(err, errlen, "delivery log %s: not a regular file", path);
		goto fail;
	}
	if (events_repair(ev, &file_seq, &changed, err, errlen) == -1)
		goto fail;
	/* The mark covers a file that was rotated away: start after it, not from 0. */
	from = store_log_mark(st);
	if (from < file_seq)
		from = file_seq;
	ev->last_written = from;
	ev->marked = store_log_mark(st);
	/* A file ahead of the store belongs to another database (or a restored one): every
	 * new event up to its seq would be skipped as already written. */
	if (from > store_last_seq(st)) {
		err_set(err, errlen, "delivery log %s: holds events up to seq %" PRId64 " but the"
		    " store's last is %" PRId64 " (the log of another database?); move the file"
		    " aside", path, from, store_last_seq(st));
		goto fail;
	}
	if (events_catch_up(ev, from, INT64_MAX, err, errlen) == -1)
		goto fail;
	if (ev->last_written > from)
		changed = true;
	if (changed && fsync(ev->fd) == -1) {
		err_set(err, errlen, "delivery log %s: fsync: %s", path, strerror(errno));
		goto fail;
	}
	if (ev->last_written > from)
		log_info("delivery log %s: appended events %" PRId64 "..%" PRId64
		    " from the store", path, from + 1, ev->last_written);
	ev->last_emitted = ev->last_written;
	*out = ev;
	return 0;
fail:
	if (ev->fd != -1)
		close(ev->fd);
	free(ev->path);
	free(ev);
	return -1;
}

void
events_close(struct events *ev)
{
	if (ev == NULL)
		return;
	events_flush(ev);
	if (ev->flush_ev != NULL)
		event_free(ev->flush_ev);
	events_mark(ev);
	if (close(ev->fd) == -1)
		log_warn("delivery log %s: close: %s", ev->path, strerror(errno));
	free(ev->pend);
	free(ev->subs);
	free(ev->path);
	free(ev);
}

int
events_reopen(struct events *ev, char *err, size_t errlen)
{
	struct stat now, cur;
	int64_t file_seq = 0;
	bool changed = false;
	int fd = open(ev->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd == -1)
		return err_set(err, errlen, "delivery log %s: reopen: %s", ev->path,
		    strerror(errno));
	if (fstat(fd, &now) == -1 || !S_ISREG(now.st_mode)) {
		close(fd);
		return err_set(err, errlen, "delivery log %s: reopen: not a regular file",
		    ev->path);
	}
	if (fstat(ev->fd, &cur) == 0 && cur.st_dev == now.st_dev && cur.st_ino == now.st_ino) {
		close(fd);
		return 0;
	}
	/* What the old file holds is marked before it is left (a write that failed leaves a
	 * gap, which the next event copies from the store into the new file). */
	events_flush(ev);
	events_mark(ev);
	int old_fd = ev->fd;
	off_t old_size = ev->size;
	ev->fd = fd;
	ev->size = 0;           /* the new file's end, which events_repair finds */
	if (events_repair(ev, &file_seq, &changed, err, errlen) == -1 ||
	    file_seq > ev->last_written) {
		if (file_seq > ev->last_written)
			err_set(err, errlen, "delivery log %s: the file now there holds events up to "
			    "seq %" PRId64 ", after ours (%" PRId64 "); keeping the old file", ev->path,
			    file_seq, ev->last_written);
		ev->fd = old_fd;
		ev->size = old_size;
		close(fd);
		return -1;
	}
	if (close(old_fd) == -1)
		log_warn("delivery log %s: close of the old file: %s", ev->path, strerror(errno));
	log_notice("delivery log %s reopened (%lld bytes)", ev->path, (long long)ev->size);
	return 0;
}

/*
 * Cuts a torn last line (a crash inside a write, or zero-filled blocks after a power
 * loss) back to the last newline, then reads the seq of the last complete line. Only
 * the tail is read, in blocks, however large the file.
 */
static int
events_repair(struct events *ev, int64_t *file_seq, bool *changed, char *err,
    size_t errlen)
{
	off_t size, nl, prev;

	*file_seq = 0;
	size = lseek(ev->fd, 0, SEEK_END);
	if (size == -1)
		return err_set(err, errlen, "delivery log %s: lseek: %s", ev->path,
		    strerror(errno));
	if (size == 0)
		return 0;
	if (events_scan_back(ev->fd, size, &nl) == -1)
		return err_set(err, errlen, "delivery log %s: read: %s", ev->path,
		    strerror(errno));
	if (nl + 1 < size) {
		if (ftruncate(ev->fd, nl + 1) == -1)
			return err_set(err, errlen, "delivery log %s: truncate: %s", ev->path,
			    strerror(errno));
		log_warn("delivery log %s: dropped a torn last line (%lld bytes at offset %lld)",
		    ev->path, (long long)(size - (nl + 1)), (long long)(nl + 1));
		*changed = true;
	}
	ev->size = nl + 1;
	if (nl < 0)
		return 0;
	if (events_scan_back(ev->fd, nl, &prev) == -1)
		return err_set(err, errlen, "delivery log %s: read: %s", ev->path,
		    strerror(errno));
	return events_line_seq(ev, prev + 1, nl, file_seq, err, errlen);
}

/* Offset of the last '\n' before offset `before`, or -1 in *pos when there is none. */
static int
events_scan_back(int fd, off_t before, off_t *pos)
{
	char buf[EVENTS_SCAN_BLOCK];
	off_t end = before;

	while (end > 0) {
		off_t start = end > EVENTS_SCAN_BLOCK ? end - EVENTS_SCAN_BLOCK : 0;
		size_t want = (size_t)(end - start);
		ssize_t n = pread(fd, buf, want, start);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if ((size_t)n != want) {
			errno = EIO;    /* the file shrank under us */
			return -1;
		}
		for (size_t i = want; i > 0; i--) {
			if (buf[i - 1] == '\n') {
				*pos = start + (off_t)(i - 1);
				return 0;
			}
		}
		end = start;
	}
	*pos = -1;
	return 0;
}

/* The seq of the line [start, end). A last line that is not ours stops the start-up:
 * guessing would risk duplicate or missing lines in an evidence log. */
static int
events_line_seq(struct events *ev, off_t start, off_t end, int64_t *seq, char *err,
    size_t errlen)
{
	size_t len = (size_t)(end - start);
	char *buf = NULL;
	json_t *o = NULL, *s;
	ssize_t n;
	int rc = -1;

	if (len == 0 || len > EVENTS_LINE_MAX) {
		err_set(err, errlen, "delivery log %s: last line (offset %lld, %zu bytes) is not"
		    " a delivery-log record; move the file aside", ev->path, (long long)start, len);
		goto out;
	}
	if ((buf = malloc(len)) == NULL) {
		err_set(err, errlen, "delivery log %s: out of memory", ev->path);
		goto out;
	}
	do {
		n = pread(ev->fd, buf, len, start);
	} while (n == -1 && errno == EINTR);
	if (n != (ssize_t)len) {
		err_set(err, errlen, "delivery log %s: read: %s", ev->path,
		    n == -1 ? strerror(errno) : "short read");
		goto out;
	}
	o = json_loadb(buf, len, 0, NULL);
	s = o != NULL ? json_object_get(o, "seq") : NULL;
	if (!json_is_integer(s) || json_integer_value(s) <= 0) {
		err_set(err, errlen, "delivery log %s: last line (offset %lld) has no valid seq;"
		    " move the file aside", ev->path, (long long)start);
		goto out;
	}
	*seq = json_integer_value(s);
	rc = 0;
out:
	json_decref(o);
	free(buf);
	return rc;
}

/* Appends the store's events with after < seq < below, a page at a time. */
static int
events_catch_up(struct events *ev, int64_t after, int64_t below, char *err, size_t errlen)
{
	struct store_event *page;
	int n, rc = 0;

	page = calloc(EVENTS_PAGE, sizeof(*page));
	if (page == NULL)
		return err_set(err, errlen, "delivery log %s: out of memory", ev->path);
	for (;;) {
		n = store_events_since(ev->st, after, page, EVENTS_PAGE);
		if (n == -1) {
			rc = err_set(err, errlen, "delivery log %s: cannot read events after seq"
			    " %" PRId64 " from the store", ev->path, after);
			break;
		}
		for (int i = 0; i < n && rc == 0; i++) {
			if (page[i].seq >= below)
				goto done;
			if (page[i].seq > ev->last_written)
				rc = events_write_line(ev, &page[i], err, errlen);
			after = page[i].seq;
		}
		if (rc == -1 || n < EVENTS_PAGE)
			break;
	}
done:
	free(page);
	return rc;
}

/* One line, one write(). */
static int
events_write_line(struct events *ev, const struct store_event *e, char *err, size_t errlen)
{
	char *json = events_json(e);
	if (json == NULL)
		return err_set(err, errlen, "delivery log %s: out of memory", ev->path);
	size_t len = strlen(json);
	json[len] = '\n';       /* replaces the NUL: json_dumps gave us len + 1 bytes */
	int rc = events_append(ev, json, len + 1, e->seq, err, errlen);
	free(json);
	return rc;
}

/* Complete lines (the last one's seq last_seq), one write(): a crash leaves at most a
 * torn tail, which start-up cuts. A failed or short write is cut back here so the next
 * line starts on a line boundary. */
static int
events_append(struct events *ev, const char *buf, size_t len, int64_t last_seq, char *err,
    size_t errlen)
{
	ssize_t n;
	do {
		n = write(ev->fd, buf, len);
	} while (n == -1 && errno == EINTR);
	int saved = errno;
	if (n == (ssize_t)len) {
		ev->size += (off_t)n;
		ev->last_written = last_seq;
		return 0;
	}
	if (n > 0 && ftruncate(ev->fd, ev->size) == -1)
		log_warn("delivery log %s: cannot cut a partial line back: %s", ev->path,
		    strerror(errno));
	if (n >= 0)
		return err_set(err, errlen, "delivery log %s: short write up to seq %" PRId64
		    " (%zd of %zu bytes)", ev->path, last_seq, n, len);
	return err_set(err, errlen, "delivery log %s: write up to seq %" PRId64 ": %s",
	    ev->path, last_seq, strerror(saved));
}

void
events_batch(struct events *ev, struct event_base *base)
{
	if (ev->flush_ev == NULL)
		ev->flush_ev = event_new(base, -1, 0, events_flush_cb, ev);
	if (ev->flush_ev == NULL)
		log_warn("delivery log %s: out of memory; one write per line", ev->path);
}

/* Queues a line for the end of the turn (json: without its newline). */
static int
events_pend(struct events *ev, const char *json, int64_t seq, char *err, size_t errlen)
{
	size_t len = strlen(json);
	if (ev->pend_len + len + 1 > ev->pend_cap) {
		size_t cap = ev->pend_cap ? ev->pend_cap : 16384;
		while (cap < ev->pend_len + len + 1)
			cap *= 2;
		char *p = realloc(ev->pend, cap);
		if (p == NULL)
			return err_set(err, errlen, "delivery log %s: out of memory", ev->path);
		ev->pend = p;
		ev->pend_cap = cap;
	}
	memcpy(ev->pend + ev->pend_len, json, len);
	ev->pend[ev->pend_len + len] = '\n';
	ev->pend_len += len + 1;
	ev->pend_seq = seq;
	if (ev->pend_len >= EVENTS_BATCH_MAX)
		events_flush(ev);
	else if (!event_pending(ev->flush_ev, EV_TIMEOUT, NULL))
		event_active(ev->flush_ev, EV_TIMEOUT, 0);
	return 0;
}

/* Writes the pending lines; a failure leaves them to the store (broken: the next event
 * copies the gap first, or the next start-up). */
static void
events_flush(struct events *ev)
{
	char err[512] = "";
	if (ev->pend_len == 0)
		return;
	if (events_append(ev, ev->pend, ev->pend_len, ev->pend_seq, err, sizeof(err)) == -1) {
		ev->broken = true;
		log_ratelimited(EVENTS_RL_KEY, "%s (kept in the store)", err);
	}
	ev->pend_len = 0;
	if (ev->pend_cap > 4 * EVENTS_BATCH_MAX) {
		free(ev->pend);
		ev->pend = NULL;
		ev->pend_cap = 0;
	}
}

static void
events_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	events_flush(arg);
}

void
events_emit(struct events *ev, const struct store_event *e)
{
	char err[512] = "";

	if (e->seq <= ev->last_emitted)
		return;
	ev->last_emitted = e->seq;
	ev->counts[events_name_index(e->event)]++;
	/* Complete what an earlier failed write left out, so lines stay in seq order. */
	if (ev->broken) {
		/* The lines of this turn queued before the failure go first: the catch-up
		 * starts after them, so none is written twice. */
		events_flush(ev);
		if (ftruncate(ev->fd, ev->size) == -1)
			err_set(err, sizeof(err), "delivery log %s: cannot cut back a failed"
			    " write: %s", ev->path, strerror(errno));
		else if (events_catch_up(ev, ev->last_written, e->seq, err, sizeof(err)) == 0)
			ev->broken = false;
	}
	/* One JSON text for the file and every subscriber. */
	char *line = events_json(e);
	if (line == NULL) {
		/* Its line is missing: the next event (or start-up) copies it from the store. */
		err_set(err, sizeof(err), "delivery log %s: out of memory", ev->path);
		ev->broken = true;
	}
	if (!ev->broken && line != NULL && e->seq > ev->last_written) {
		int rc;
		if (ev->flush_ev != NULL) {
			rc = events_pend(ev, line, e->seq, err, sizeof(err));
		} else {
			size_t len = strlen(line);
			line[len] = '\n';
			rc = events_append(ev, line, len + 1, e->seq, err, sizeof(err));
			line[len] = '\0';
		}
		if (rc == -1)
			ev->broken = true;
	}
	if (ev->broken || line == NULL)
		log_ratelimited(EVENTS_RL_KEY, "%s (seq %" PRId64 " kept in the store)", err,
		    e->seq);
	if (ev->nsubs > 0 && line != NULL)
		events_notify(ev, e, line);
	free(line);
	if (++ev->since_mark >= EVENTS_MARK_EVERY)
		events_mark(ev);
}

/*
 * Tells the store the file holds every event up to last_written, after an fsync: a mark
 * ahead of what is on disk would make the next start-up skip lines a power loss took.
 */
static void
events_mark(struct events *ev)
{
	struct store_op *op;

	ev->since_mark = 0;
	events_flush(ev);
	if (ev->broken || ev->last_written <= ev->marked)
		return;
	if (fsync(ev->fd) == -1) {
		log_warn("delivery log %s: fsync: %s", ev->path, strerror(errno));
		return;
	}
	op = calloc(1, sizeof(*op));
	if (op == NULL) {
		log_warn("delivery log %s: out of memory recording the log mark", ev->path);
		return;
	}
	op->kind = STORE_OP_LOG_MARK;
	op->log_seq = ev->last_written;
	op->done = events_mark_done;
	store_submit(ev->st, op);
	ev->marked = ev->last_written;
}

/* Runs after ev may be gone (events_close queues the last mark): touches only op. */
static void
events_mark_done(struct store_op *op, void *arg)
{
	(void)arg;
	if (op->result != STORE_R_OK)
		log_warn("delivery log mark at seq %" PRId64 " not recorded: %s (%s); the next"
		    " start-up re-checks more of the log", op->log_seq,
		    store_result_name(op->result), op->error);
	store_msg_clear(&op->stored);   /* empty for a mark; the op contract says so */
	free(op);
}

static void
events_notify(struct events *ev, const struct store_event *e, const char *line)
{
	/* Subscribers added by a callback start with the next event. */
	size_t n = ev->nsubs;

	ev->notifying++;
	for (size_t i = 0; i < n; i++) {
		if (ev->subs[i].fn != NULL)
			ev->subs[i].fn(ev->subs[i].arg, e, line);
	}
	ev->notifying--;
	if (ev->notifying == 0)
		events_compact(ev);
}

/* Drops entries unsubscribed during a notification. */
static void
events_compact(struct events *ev)
{
	size_t j = 0;

	for (size_t i = 0; i < ev->nsubs; i++) {
		if (ev->subs[i].fn != NULL)
			ev->subs[j++] = ev->subs[i];
	}
	ev->nsubs = j;
}

int
events_subscribe(struct events *ev, events_fn fn, void *arg)
{
	if (fn == NULL)
		return -1;
	if (ev->nsubs == ev->capsubs) {
		size_t cap = ev->capsubs == 0 ? 4 : ev->capsubs * 2;
		struct events_sub *s = realloc(ev->subs, cap * sizeof(*s));

		if (s == NULL)
			return -1;
		ev->subs = s;
		ev->capsubs = cap;
	}
	if (ev->next_handle <= 0)
		ev->next_handle = 1;    /* wrapped: handles stay > 0 */
	ev->subs[ev->nsubs].handle = ev->next_handle++;
	ev->subs[ev->nsubs].fn = fn;
	ev->subs[ev->nsubs].arg = arg;
	return ev->subs[ev->nsubs++].handle;
}

void
events_unsubscribe(struct events *ev, int handle)
{
	for (size_t i = 0; i < ev->nsubs; i++) {
		if (ev->subs[i].handle == handle && ev->subs[i].fn != NULL) {
			ev->subs[i].fn = NULL;
			break;
		}
	}
	/* During a notification the loop still walks the array: compact afterwards. */
	if (ev->notifying == 0)
		events_compact(ev);
}

static size_t
events_name_index(const char *name)
{
	for (size_t i = 0; i < EVENTS_NNAMES; i++) {
		if (strcmp(events_names[i], name) == 0)
			return i;
	}
	return EVENTS_NNAMES;
}

uint64_t
events_count(const struct events *ev, const char *event_name)
{
	size_t i = events_name_index(event_name);

	if (i == EVENTS_NNAMES && strcmp(event_name, "other") != 0)
		return 0;
	return ev->counts[i];
}

char *
events_json(const struct store_event *e)
{
	char ts[40];
	events_ts(e->ts_us, ts);
	/* Every line of ours unless a reason or a name carries non-ASCII bytes: written
	 * directly, without building an object per event. */
	if (events_ascii(e->event, sizeof(e->event)) && events_ascii(e->msg_id, sizeof(e->msg_id)) &&
	    events_ascii(e->peer, sizeof(e->peer)) && events_ascii(e->state, sizeof(e->state)) &&
	    events_ascii(e->reason, sizeof(e->reason)) && events_ascii(e->alert, sizeof(e->alert)) &&
	    (!e->has_actor || events_ascii(e->actor_user, sizeof(e->actor_user))))
		return events_json_ascii(e, ts);
	json_t *o = json_object();
	char *s = NULL;
	int bad = 0;

	if (o == NULL)
		return NULL;
	/* Insertion order is output order (jansson >= 2.8): keep the documented order. */
	bad |= events_set(o, "seq", json_integer(e->seq));
	bad |= events_set(o, "ts", json_string(ts));
	bad |= events_set(o, "event", events_jstr(e->event, sizeof(e->event)));
	if (e->msg_id[0] != '\0')
		bad |= events_set(o, "id", events_jstr(e->msg_id, sizeof(e->msg_id)));
	bad |= events_set(o, "peer", events_jstr(e->peer, sizeof(e->peer)));
	bad |= events_set(o, "direction", json_string(e->dir == STORE_IN ? "in" : "out"));
	if (e->state[0] != '\0')
		bad |= events_set(o, "state", events_jstr(e->state, sizeof(e->state)));
	bad |= events_set(o, "attempt", json_integer(e->attempt));
	/* json_int_t is signed 64-bit; a byte count above 2^63 is not a real message. */
	bad |= events_set(o, "bytes", json_integer(e->bytes > INT64_MAX ? INT64_MAX :
	    (json_int_t)e->bytes));
	if (e->reason[0] != '\0')
		bad |= events_set(o, "reason", events_jstr(e->reason, sizeof(e->reason)));
	/* The operator whose request caused it (the audit log keeps the same). */
	if (e->has_actor) {
		json_t *a = json_object();
		bad |= a == NULL;
		if (a != NULL) {
			bad |= events_set(a, "uid", json_integer(e->actor_uid));
			bad |= events_set(a, "user", events_jstr(e->actor_user, sizeof(e->actor_user)));
			bad |= events_set(o, "actor", a);
		}
	}
	if (e->alert[0] != '\0')
		bad |= events_set(o, "alert", events_jstr(e->alert, sizeof(e->alert)));
	/* ASCII only: a reason may quote a peer, and the log is read in terminals. */
	if (bad == 0)
		s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}

/*
 * The same line as the jansson path below (JSON_COMPACT | JSON_ENSURE_ASCII, keys in the
 * same order), for events whose strings are all ASCII: '"' and '\\' escaped, the short
 * escapes \b \f \n \r \t, other control bytes as \u00XX, the rest as is. The unit
 * test test_events events_json_ascii_is_what_jansson_writes holds the two equal.
 */
static bool
events_ascii(const char *s, size_t max)
{
	for (size_t i = 0; i < max && s[i] != '\0'; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

static char *
events_put_str(char *w, const char *key, const char *s, size_t max)
{
	static const char short_esc[0x20] = {
		['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
	};
	w += sprintf(w, ",\"%s\":\"", key);
	for (size_t i = 0; i < max && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			*w++ = '\\';
			*w++ = (char)c;
		} else if (c < 0x20 && short_esc[c] != 0) {
			*w++ = '\\';
			*w++ = short_esc[c];
		} else if (c < 0x20) {
			w += sprintf(w, "\\u%04X", c);
		} else {
			*w++ = (char)c;
		}
	}
	*w++ = '"';
	return w;
}

static char *
events_json_ascii(const struct store_event *e, const char *ts)
{
	/* Each byte of a string takes at most 6 ("\u001F"); keys and numbers ~250. */
	size_t cap = 512 + 6 * (sizeof(e->event) + sizeof(e->msg_id) + sizeof(e->peer) +
	    sizeof(e->state) + sizeof(e->reason) + sizeof(e->actor_user) + sizeof(e->alert));
	char *s = malloc(cap), *w = s;
	if (s == NULL)
		return NULL;
	w += sprintf(w, "{\"seq\":%" PRId64 ",\"ts\":\"%s\"", e->seq, ts);
	w = events_put_str(w, "event", e->event, sizeof(e->event));
	if (e->msg_id[0] != '\0')
		w = events_put_str(w, "id", e->msg_id, sizeof(e->msg_id));
	w = events_put_str(w, "peer", e->peer, sizeof(e->peer));
	w += sprintf(w, ",\"direction\":\"%s\"", e->dir == STORE_IN ? "in" : "out");
	if (e->state[0] != '\0')
		w = events_put_str(w, "state", e->state, sizeof(e->state));
	w += sprintf(w, ",\"attempt\":%" PRIu32 ",\"bytes\":%" PRIu64, e->attempt,
	    e->bytes > INT64_MAX ? (uint64_t)INT64_MAX : e->bytes);
	if (e->reason[0] != '\0')
		w = events_put_str(w, "reason", e->reason, sizeof(e->reason));
	if (e->has_actor) {
		w += sprintf(w, ",\"actor\":{\"uid\":%" PRIu32, e->actor_uid);
		/* events_put_str starts with a comma: the object's second member. */
		w = events_put_str(w, "user", e->actor_user, sizeof(e->actor_user));
		*w++ = '}';
	}
	if (e->alert[0] != '\0')
		w = events_put_str(w, "alert", e->alert, sizeof(e->alert));
	*w++ = '}';
	*w = '\0';
	return s;
}

/* A string field that may be unterminated or invalid UTF-8 (a reason can quote what a
 * peer sent): bounded, and with non-ASCII bytes replaced when jansson refuses it. */
static json_t *
events_jstr(const char *s, size_t max)
{
	size_t len = strnlen(s, max);
	char clean[256];
	json_t *j = json_stringn(s, len);

	if (j != NULL || len > sizeof(clean))
		return j;
	for (size_t i = 0; i < len; i++)
		clean[i] = (char)((unsigned char)s[i] < 0x80 && s[i] != '\0' ? s[i] : '?');
	return json_stringn(clean, len);
}

static int
events_set(json_t *o, const char *key, json_t *v)
{
	/* json_object_set_new takes v (and releases it on failure); NULL is ENOMEM. */
	return v == NULL || json_object_set_new(o, key, v) == -1;
}

/* RFC 3339 UTC with microseconds: 2026-11-27T19:16:13.235123Z. */
static void
events_ts(int64_t ts_us, char out[40])
{
	int64_t sec = ts_us / 1000000, us = ts_us % 1000000;
	time_t t;
	struct tm tm;
	size_t n;

	if (us < 0) {           /* floor, so times before 1970 still read correctly */
		us += 1000000;
		sec--;
	}
	t = (time_t)sec;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(out, 40, "1970-01-01T00:00:00.000000Z");
		return;
	}
	n = strlen(out);        /* 19, unless the year has more than four digits */
	snprintf(out + n, 40 - n, ".%06dZ", (int)us);
}
