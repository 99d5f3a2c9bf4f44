/*
 * outbox: schedules, transmits and settles outbound messages. It must never write a
 * transfer whose `sending` state is not committed, never count a message delivered
 * without a verified receipt signed by its recipient naming its payload hash, and never
 * load the whole queue into memory. Error policy: a bad receipt or a lost link is a
 * logged warning and a retry; only a failed store commit is an error (the operator is
 * told, nothing is acknowledged).
 */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "backoff.h"
#include "caseflow.h"
#include "config.h"
#include "crash.h"
#include "evidence.h"
#include "inbox.h"
#include "journal.h"
#include "link.h"
#include "log.h"
#include "outstate.h"
#include "pause.h"
#include "peer.h"
#include "request.h"
#include "rogatoryd.h"

#define OB_TICK_MS 500
#define OB_EXPIRY_EVERY 20       /* ticks between expiry scans */
#define OB_PAGE_MAX 256
#define OB_STREAM_HIGH (1u << 20)  /* output bytes kept queued while writing chunks */
#define OB_CHUNK_MAX (256u << 10)  /* attachment bytes per Chunk frame */

/* A message committed (or being committed) as `sending` on a link. */
struct ob_flight {
	char msg_id[UUID_TEXT_LEN + 1];
	uint8_t payload_hash[STORE_HASH_LEN];
	uint32_t attempts;
	uint64_t link_serial;
	bool written;
	bool committed;         /* its `sending` update completed (it left the outbox page) */
	uint64_t written_ms;    /* monotonic; a receipt is due within dead_after */
	uint64_t bytes;         /* counted in its peer's inflight_bytes */
	/* Known to be a request (sent at once): its settling cannot make a status due (only
	 * a case's status documents wait for each other, R_OUTBOX), so its receipt is not
	 * counted in nchanging. A flight from the page may be a status. */
	bool request;
	struct ob_flight *next;
};

struct ob_peer {
	char id[AUTHORITY_ID_MAX + 1];
	uint64_t link_serial;        /* our ready outbound link, 0 when none */
	uint32_t window;
	unsigned nflight;
	unsigned nuncommitted;       /* flights whose `sending` is not committed yet */
	uint64_t inflight_bytes;     /* [limits] max_inflight_bytes bounds it */
	uint64_t *inflight_total;    /* the outbox's sum over peers */
	struct ob_flight *flights;
	struct ob_stream *streams;   /* transfers with attachments, in writing order */
	uint64_t unknown_logged_ms;  /* last "not in the directory" warning (monotonic) */
	bool kick_due;               /* ob_kick asked for a look at its page this turn */
	/* Its last page read took every due row it held, on this link: with no op on its
	 * way that may make a row due (nchanging), a new submission may go out in the
	 * commit that queues it (ob_send_at_once) without passing anything due before it. */
	bool drained;
	/* Ops queued, not yet completed, that may make a row of this peer due: submissions
	 * not sent at once, reschedules, receipts of messages that may be statuses, failures
	 * and expiries, an operator's retry or cancel. Each one's completion decrements it
	 * and looks at the page when a row may have become due. */
	unsigned nchanging;
	struct ob_peer *next;
};

/*
 * A message with attachments whose `sending` is committed: v1 writes its Transfer and
 * then all its chunks before the next Transfer, reading one chunk at a time from the
 * store as the link drains (never the whole attachment in memory). Transfers without
 * attachments committed meanwhile wait in the same queue, to keep the order.
 */
struct ob_stream {
	struct store_msg m;          /* the row to transmit (blobs owned here) */
	uint64_t serial;             /* the link its `sending` was recorded for */
	bool started;                /* Transfer written */
	size_t natt;
	uint64_t *sizes;
	uint32_t att;                /* chunk position */
	uint64_t off;
	struct ob_stream *next;
};

struct outbox {
	struct rogatoryd *d;
	uint64_t inflight_total;     /* [limits] max_inflight_total bounds it */
	unsigned nstreams;           /* ob_streams over all peers */
	struct ob_peer *peers;
	struct event *tick;
	unsigned ticks;
	struct event *kick_ev;       /* runs the kicks due at the end of the turn */
	bool kick_pending;           /* kick_ev is active */
};

/* What an op's completion needs to know besides the op itself. */
struct ob_call {
	struct outbox *ob;
	outbox_reply_fn fn;
	void *arg;
	struct ob_peer *waits;       /* counted in this peer's nchanging */
	bool sent_at_once;           /* a submission whose `sending` follows in its batch */
};

static struct ob_peer *ob_peer_get(struct outbox *ob, const char *id);
static struct ob_flight *ob_flight_find(struct ob_peer *p, const char *msg_id);
static void ob_flight_remove(struct ob_peer *p, struct ob_flight *f);
static void ob_kick(struct outbox *ob, struct ob_peer *p);
static void ob_kick_cb(evutil_socket_t fd, short what, void *arg);
static void ob_fill(struct outbox *ob, struct ob_peer *p);
static void ob_send_done(struct journal_op *jo);
static struct journal_op *ob_send_start(struct outbox *ob, struct ob_peer *p,
    const char *msg_id, const uint8_t *payload_hash, uint32_t attempts, uint64_t size,
    uint64_t bytes, bool same_payload);
static void ob_write_transfer(struct link *l, const struct store_msg *m);
static void ob_reschedule(struct outbox *ob, const char *peer, const char *msg_id,
    uint32_t attempts, int64_t delay_us, const char *reason);
static void ob_reschedule_done(struct journal_op *jo);
static void ob_changing(struct outbox *ob, struct journal_op *jo);
static void ob_changing_done(struct journal_op *jo);
static void ob_receipt_done(struct journal_op *jo);
static void ob_receipt_counted_done(struct journal_op *jo);
static int64_t ob_delay_us(const struct outbox *ob, uint32_t attempts);
static void ob_tick_cb(evutil_socket_t fd, short what, void *arg);
static void ob_expiry_scan(struct outbox *ob);
static void ob_recover_sending(struct outbox *ob);
static void ob_call_done(struct journal_op *jo);
static void ob_pump(struct outbox *ob, struct ob_peer *p);
static void ob_stream_free(struct outbox *ob, struct ob_stream *st);
static void ob_stream_stop(struct outbox *ob, struct ob_peer *p, const char *msg_id);
static void ob_drop_set(struct outbox *ob, int64_t bset);
static void ob_stream_answered(struct outbox *ob, struct ob_peer *p, const char *msg_id,
    const char *what);
static void ob_defer_unknown(struct outbox *ob, struct ob_peer *p);

static void
ob_dup(uint8_t **dst, size_t *len, const ProtobufCBinaryData *b)
{
	*dst = malloc(b->len ? b->len : 1);
	if (*dst == NULL)
		fatal("out of memory");
	memcpy(*dst, b->data, b->len);
	*len = b->len;
}

static struct ob_peer *
ob_peer_get(struct outbox *ob, const char *id)
{
	for (struct ob_peer *p = ob->peers; p != NULL; p = p->next)
		if (strcmp(p->id, id) == 0)
			return p;
	struct ob_peer *p = calloc(1, sizeof(*p));
	if (p == NULL)
		fatal("out of memory");
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->window = ob->d->cfg->window;
	p->inflight_total = &ob->inflight_total;
	p->next = ob->peers;
	ob->peers = p;
	return p;
}

static struct ob_flight *
ob_flight_find(struct ob_peer *p, const char *msg_id)
{
	for (struct ob_flight *f = p->flights; f != NULL; f = f->next)
		if (strcmp(f->msg_id, msg_id) == 0)
			return f;
	return NULL;
}

static void
ob_flight_remove(struct ob_peer *p, struct ob_flight *f)
{
	for (struct ob_flight **pp = &p->flights; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			p->nflight--;
			if (!f->committed)
				p->nuncommitted--;
			p->inflight_bytes -= f->bytes;
			*p->inflight_total -= f->bytes;
			free(f);
			return;
		}
	}
}

int
outbox_new(struct rogatoryd *d, struct outbox **out, char *err, size_t errlen)
{
	struct outbox *ob = calloc(1, sizeof(*ob));
	if (ob == NULL)
		return err_set(err, errlen, "out of memory");
	ob->d = d;
	ob->tick = event_new(d->base, -1, EV_PERSIST, ob_tick_cb, ob);
	ob->kick_ev = event_new(d->base, -1, 0, ob_kick_cb, ob);
	struct timeval tv = {.tv_sec = 0, .tv_usec = OB_TICK_MS * 1000};
	if (ob->tick == NULL || ob->kick_ev == NULL || event_add(ob->tick, &tv) != 0) {
		if (ob->tick != NULL)
			event_free(ob->tick);
		if (ob->kick_ev != NULL)
			event_free(ob->kick_ev);
		free(ob);
		return err_set(err, errlen, "cannot start the outbox timer");
	}
	ob_recover_sending(ob);
	*out = ob;
	return 0;
}

void
outbox_free(struct outbox *ob)
{
	if (ob == NULL)
		return;
	event_free(ob->tick);
	event_free(ob->kick_ev);
	while (ob->peers != NULL) {
		struct ob_peer *p = ob->peers;
		ob->peers = p->next;
		while (p->flights != NULL)
			ob_flight_remove(p, p->flights);
		while (p->streams != NULL) {
			struct ob_stream *st = p->streams;
			p->streams = st->next;
			ob_stream_free(ob, st);
		}
		free(p);
	}
	free(ob);
}

/* A crash (or kill -9) between "sending committed" and the receipt leaves rows in
 * `sending`; the transfer may or may not have left. Retrying is safe: the receiver
 * answers a duplicate with its stored receipt. */
static void
ob_recover_sending(struct outbox *ob)
{
	struct store_msg page[OB_PAGE_MAX];
	int64_t after = 0;
	unsigned total = 0;
	for (;;) {
		int n = store_list_state(ob->d->store, STORE_SENDING, after, page, OB_PAGE_MAX);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			ob_reschedule(ob, page[i].recipient, page[i].msg_id, page[i].attempts, 0,
			    "restart: the last transmission may have arrived");
			after = page[i].rowid;
			store_msg_clear(&page[i]);
		}
		total += (unsigned)n;
		if (n < OB_PAGE_MAX)
			break;
	}
	if (total > 0)
		log_notice("outbox: %u messages were being sent at the last stop; resending", total);
}

static int64_t
ob_delay_us(const struct outbox *ob, uint32_t attempts)
{
	const struct config *c = ob->d->cfg;
	return (int64_t)backoff_delay_ms(c->retry_min_ms, c->retry_max_ms, attempts,
	    backoff_random()) * 1000;
}

/* Makes m select our outbound message msg_id to peer (for an UPDATE op). */
static void
ob_select(const struct outbox *ob, struct store_msg *m, const char *msg_id, const char *peer)
{
	m->dir = STORE_OUT;
	snprintf(m->msg_id, sizeof(m->msg_id), "%s", msg_id);
	snprintf(m->sender, sizeof(m->sender), "%s", ob->d->cfg->authority_id);
	snprintf(m->recipient, sizeof(m->recipient), "%s", peer);
}

/* An UPDATE op for our outbound message msg_id to peer: event ev of the state table,
 * applied by the store to the row's state when it commits (outstate.h). */
static struct journal_op *
ob_transition_op(struct outbox *ob, const char *msg_id, const char *peer,
    enum outstate_event ev)
{
	struct journal_op *jo = journal_op_new(ob->d, STORE_OP_UPDATE);
	ob_select(ob, &jo->op.msg, msg_id, peer);
	jo->op.transition = ev;
	return jo;
}

/* A transmission ended unanswered: the next attempt after delay_us (`sending` becomes
 * `retrying`; `unconfirmed` stays unconfirmed). */
static void
ob_reschedule(struct outbox *ob, const char *peer, const char *msg_id, uint32_t attempts,
    int64_t delay_us, const char *reason)
{
	struct journal_op *jo = ob_transition_op(ob, msg_id, peer, OUTSTATE_UNANSWERED);
	struct store_msg *m = &jo->op.msg;
	m->attempts = attempts;
	m->next_attempt_us = request_now_us() + delay_us;
	snprintf(m->last_error, sizeof(m->last_error), "%s", reason);
	jo->op.set = STORE_SET_NEXT_ATTEMPT | STORE_SET_LAST_ERROR | STORE_SET_ATTEMPTS;
	journal_event(jo, "retry-scheduled", msg_id, peer, STORE_OUT, NULL, attempts, 0, reason);
	jo->arg = ob;
	jo->done = ob_reschedule_done;
	ob_peer_get(ob, peer)->nchanging++;
	journal_submit(jo);
}

/* An op that may settle a status (failed, expired): the next one of its case may be due
 * now. Counted in its peer's nchanging until done; then the page decides. */
static void
ob_changing(struct outbox *ob, struct journal_op *jo)
{
	jo->arg = ob;
	jo->done = ob_changing_done;
	ob_peer_get(ob, jo->op.msg.recipient)->nchanging++;
}

static void
ob_changing_done(struct journal_op *jo)
{
	struct outbox *ob = jo->arg;
	struct ob_peer *p = ob_peer_get(ob, jo->op.msg.recipient);
	p->nchanging--;
	if (jo->op.result == STORE_R_OK)
		ob_kick(ob, p);
}

/* Due now (delay 0): the page decides what goes next. */
static void
ob_reschedule_done(struct journal_op *jo)
{
	struct outbox *ob = jo->arg;
	struct ob_peer *p = ob_peer_get(ob, jo->op.msg.recipient);
	p->nchanging--;
	if (jo->op.result == STORE_R_OK && jo->op.msg.next_attempt_us <= request_now_us())
		ob_kick(ob, p);
}

/* Refused here, before any transmission: the peer said it would not take it. */
static void
ob_fail(struct outbox *ob, const struct store_msg *m, const char *code, uint64_t limit)
{
	char why[200];
	snprintf(why, sizeof(why), "%s: %llu bytes, %s accepts at most %llu", code,
	    (unsigned long long)(m->size > 0 ? m->size : m->doc_body_len), m->recipient,
	    (unsigned long long)limit);
	struct journal_op *jo = ob_transition_op(ob, m->msg_id, m->recipient, OUTSTATE_FAIL);
	struct store_msg *u = &jo->op.msg;
	snprintf(u->last_error, sizeof(u->last_error), "%s", why);
	jo->op.set = STORE_SET_LAST_ERROR;
	journal_event(jo, "failed", m->msg_id, m->recipient, STORE_OUT, NULL, m->attempts,
	    m->doc_body_len, why);
	ob_changing(ob, jo);
	journal_submit(jo);
	log_warn("outbox: %s to %s failed: %s", m->msg_id, m->recipient, why);
}

/*
 * Asks for a look at p's page at the end of this loop turn: the completions of one store
 * batch (N receipts, N submissions) read each peer's page once, not N times. kick_ev is
 * made active, so it runs in this same turn, after the callback that asked: a message
 * queued while its link is idle still goes out at once.
 */
static void
ob_kick(struct outbox *ob, struct ob_peer *p)
{
	p->kick_due = true;
	if (!ob->kick_pending) {
		ob->kick_pending = true;
		event_active(ob->kick_ev, EV_TIMEOUT, 0);
	}
}

static void
ob_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox *ob = arg;
	(void)fd;
	(void)what;
	ob->kick_pending = false;
	for (struct ob_peer *p = ob->peers; p != NULL; p = p->next) {
		if (p->kick_due) {
			p->kick_due = false;
			ob_fill(ob, p);
		}
	}
}

/* Fills the peer's window from the store, or asks for a link. */
static void
ob_fill(struct outbox *ob, struct ob_peer *p)
{
	struct rogatoryd *d = ob->d;
	p->drained = false;
	/* A paused authority's messages wait: no dial, no transmission (pause.h). */
	if (d->stopping || pause_is(d->paused, p->id))
		return;
	if (p->link_serial == 0) {
		if (!peers_want(d->peers, p->id))
			ob_defer_unknown(ob, p);
		return;
	}
	if (p->nflight >= p->window)
		return;
	/* A peer that stops reading holds at most max_inflight_bytes of ours in our
	 * buffers; a larger message still goes, alone, so every message is admissible. */
	uint64_t max_bytes = d->cfg->max_inflight_bytes, max_total = d->cfg->max_inflight_total;
	if (p->nflight > 0 && (p->inflight_bytes >= max_bytes || ob->inflight_total >= max_total))
		return;
	int want = (int)(p->window - p->nflight);
	/* Flights already `sending` are not on the page; the others may be, and are
	 * skipped: read only what can be sent. */
	int max = want + (int)p->nuncommitted;
	if (max > OB_PAGE_MAX)
		max = OB_PAGE_MAX;
	struct store_msg *page = calloc((size_t)max, sizeof(*page));
	if (page == NULL)
		fatal("out of memory");
	log_debug("outbox: %s: page read for %d free slot(s), up to %d rows", p->id, want, max);
	int n = store_outbox_page(d->store, p->id, request_now_us(), 0, page, max);
	struct link *l = peers_link_find(d->peers, p->link_serial);
	if (l == NULL || link_state(l) != LINK_READY) {
		/* Nothing is recorded as sent without a link to send it on. */
		for (int i = 0; i < n; i++)
			store_msg_clear(&page[i]);
		free(page);
		p->link_serial = 0;
		if (!peers_want(d->peers, p->id))
			ob_defer_unknown(ob, p);
		return;
	}
	uint64_t peer_max = link_peer_max_message_size(l);
	bool left = false;           /* a due row not taken */
	for (int i = 0; i < n; i++) {
		struct store_msg *m = &page[i];
		if (ob_flight_find(p, m->msg_id) != NULL) {
			store_msg_clear(m);
			continue;
		}
		if (want <= 0) {
			left = true;
			store_msg_clear(m);
			continue;
		}
		uint64_t bytes = (uint64_t)m->doc_body_len + m->doc_sig_len + m->doc_cert_len;
		if (p->nflight > 0 && (p->inflight_bytes + bytes > max_bytes ||
		        ob->inflight_total + bytes > max_total)) {
			log_debug("outbox: %s: %llu bytes in flight (%llu to all peers), %s waits (%s)",
			    p->id, (unsigned long long)p->inflight_bytes,
			    (unsigned long long)ob->inflight_total, m->msg_id,
			    p->inflight_bytes + bytes > max_bytes ? "max_inflight_bytes"
			                                          : "max_inflight_total");
			want = 0;
			left = true;
			store_msg_clear(m);
			continue;
		}
		if ((m->size > 0 ? m->size : m->doc_body_len) > peer_max && m->attempts == 0) {
			ob_fail(ob, m, "too-large-for-peer", peer_max);
			store_msg_clear(m);
			continue;
		}
		want--;
		journal_submit(ob_send_start(ob, p, m->msg_id, m->payload_hash, m->attempts,
		    m->size ? m->size : m->doc_body_len, bytes, false));
		store_msg_clear(m);
	}
	p->drained = n >= 0 && n < max && !left;
	free(page);
}

/*
 * A flight on p's ready link and its `sending` op, for the caller to submit (the
 * transition from the row's state, attempts + 1): the transmission is recorded before it
 * happens, and the Transfer is written from the row the store returns with the commit
 * (op.stored, ob_send_done). An unconfirmed message stays unconfirmed; should this
 * attempt vanish, it is due again after retry_max. same_payload: see below.
 */
static struct journal_op *
ob_send_start(struct outbox *ob, struct ob_peer *p, const char *msg_id,
    const uint8_t *payload_hash, uint32_t attempts, uint64_t size, uint64_t bytes,
    bool same_payload)
{
	struct ob_flight *f = calloc(1, sizeof(*f));
	if (f == NULL)
		fatal("out of memory");
	snprintf(f->msg_id, sizeof(f->msg_id), "%s", msg_id);
	memcpy(f->payload_hash, payload_hash, STORE_HASH_LEN);
	f->attempts = attempts + 1;
	f->link_serial = p->link_serial;
	f->next = p->flights;
	p->flights = f;
	p->nflight++;
	p->nuncommitted++;
	f->bytes = bytes;
	f->request = same_payload;   /* ob_send_at_once takes only requests */
	p->inflight_bytes += bytes;
	ob->inflight_total += bytes;
	struct journal_op *jo = ob_transition_op(ob, msg_id, p->id, OUTSTATE_SEND);
	jo->op.msg.attempts = f->attempts;
	jo->op.msg.next_attempt_us = request_now_us() + (int64_t)ob->d->cfg->retry_max_ms * 1000;
	jo->op.set = STORE_SET_ATTEMPTS | STORE_SET_NEXT_ATTEMPT;
	/* A transmission is the daemon's doing, even when an operator's submission started
	 * it (ob_send_at_once runs while a control request is handled): no actor. */
	jo->op.event.has_actor = false;
	jo->op.event.actor_uid = 0;
	jo->op.event.actor_user[0] = '\0';
	/* same_payload: only the row of this content to p (a submission's id may already
	 * name another message, which the submission's op answers with a conflict). */
	if (same_payload) {
		memcpy(jo->op.msg.payload_hash, payload_hash, STORE_HASH_LEN);
		jo->op.expect_payload = true;
	}
	jo->link_serial = p->link_serial;
	jo->arg = ob;
	jo->done = ob_send_done;
	journal_event(jo, "sent", f->msg_id, p->id, STORE_OUT, NULL, f->attempts, size, NULL);
	return jo;
}

/*
 * May the submission m go out in the batch that queues it? Only what ob_fill would take
 * at once, and only when nothing due waits for the page before it: p's link is ready
 * and not paused, the window and the in-flight bytes have room, its last page read took
 * every due row (drained) with no look at the page pending (kick_due) and no op on its
 * way that may make a row due (nchanging). Only a request: a status document waits
 * while an earlier one of its case is open, a rule of the page's query (R_OUTBOX). A
 * message with attachments keeps the page's path (ob_pump streams them). The `sending`
 * op is queued together with the submission's, so the store thread applies both in one
 * batch (one commit instead of two, no page read); should the submission fail, the
 * `sending` finds no row of its payload and changes nothing (STALE / NOT_FOUND:
 * ob_send_done drops the flight and kicks the page). A retry that came due by time since
 * the last page read (the tick finds it within OB_TICK_MS) may go after this submission.
 */
static bool
ob_send_at_once(struct outbox *ob, struct ob_peer *p, const struct store_msg *m,
    uint64_t bytes)
{
	struct rogatoryd *d = ob->d;
	if (d->stopping || pause_is(d->paused, p->id) || m->bset != 0 || m->cd.doc_type != 1 ||
	    p->link_serial == 0 ||
	    !p->drained || p->kick_due || p->nchanging > 0 || p->nflight >= p->window ||
	    p->streams != NULL || ob_flight_find(p, m->msg_id) != NULL)
		return false;
	if (p->nflight > 0 && (p->inflight_bytes + bytes > d->cfg->max_inflight_bytes ||
	        ob->inflight_total + bytes > d->cfg->max_inflight_total))
		return false;
	struct link *l = peers_link_find(d->peers, p->link_serial);
	return l != NULL && link_state(l) == LINK_READY &&
	    (m->size > 0 ? m->size : m->doc_body_len) <= link_peer_max_message_size(l);
}

/* The recipient is not (or no longer) in the directory: its due messages wait
 * retry_max with the reason as their last error, and expire like any other
 * undeliverable message; once the authority is back they go out at their next attempt.
 * Warned once per peer, then at most hourly. */
static void
ob_defer_unknown(struct outbox *ob, struct ob_peer *p)
{
	struct rogatoryd *d = ob->d;
	char why[200];
	snprintf(why, sizeof(why), "%s is not in the directory (%s); the message waits until "
	    "it is listed again or expires", p->id, d->cfg->directory_path);
	uint64_t now = link_now_ms();
	if (p->unknown_logged_ms == 0 || now - p->unknown_logged_ms >= 3600 * 1000) {
		log_warn("outbox: messages for %s wait: %s", p->id, why);
		p->unknown_logged_ms = now;
	}
	struct store_msg *page = calloc(OB_PAGE_MAX, sizeof(*page));
	if (page == NULL)
		fatal("out of memory");
	int n = store_outbox_page(d->store, p->id, request_now_us(), 0, page, OB_PAGE_MAX);
	for (int i = 0; i < n; i++) {
		struct journal_op *jo = ob_transition_op(ob, page[i].msg_id, p->id, OUTSTATE_DEFER);
		struct store_msg *m = &jo->op.msg;
		m->next_attempt_us = request_now_us() + (int64_t)d->cfg->retry_max_ms * 1000;
		snprintf(m->last_error, sizeof(m->last_error), "%s", why);
		jo->op.set = STORE_SET_NEXT_ATTEMPT | STORE_SET_LAST_ERROR;
		journal_event(jo, "retry-scheduled", page[i].msg_id, p->id, STORE_OUT, NULL,
		    page[i].attempts, 0, why);
		journal_submit(jo);
		store_msg_clear(&page[i]);
	}
	free(page);
}

static void
ob_send_done(struct journal_op *jo)
{
	struct outbox *ob = jo->arg;
	const struct store_msg *m = &jo->op.msg;
	struct ob_peer *p = ob_peer_get(ob, m->recipient);
	struct ob_flight *f = ob_flight_find(p, m->msg_id);
	if (f != NULL && !f->committed) {
		f->committed = true;
		p->nuncommitted--;
	}
	if (jo->op.result != STORE_R_OK) {
		/* Cancelled meanwhile (stale), or the store failed: nothing was sent. A
		 * submission's own `sending` (ob_send_at_once) may have failed after the
		 * submission committed: the page takes it from there. */
		if (f != NULL)
			ob_flight_remove(p, f);
		if (jo->op.expect_payload)
			ob_kick(ob, p);
		return;
	}
	crash_point("sending-before-write");
	struct link *l = peers_link_find(ob->d->peers, jo->link_serial);
	/* A pause that committed after this transmission was recorded (its op ahead in the
	 * same batch, say) still holds it: paused means nothing more is written. */
	bool paused = pause_is(ob->d->paused, p->id);
	if (l == NULL || link_state(l) != LINK_READY || paused) {
		if (f != NULL)
			ob_flight_remove(p, f);
		/* Recorded but never written: it does not count as a transmission. */
		ob_reschedule(ob, m->recipient, m->msg_id, m->attempts > 0 ? m->attempts - 1 : 0, 0,
		    paused ? "paused before the transfer was written"
		           : "link closed before the transfer was written");
		return;
	}
	/* The row as committed with this transmission: its current signature. */
	const struct store_msg *row = &jo->op.stored;
	if (row->bset == 0 && p->streams == NULL) {
		ob_write_transfer(l, row);
		if (f != NULL) {
			f->written = true;
			f->written_ms = link_now_ms();
		}
		return;
	}
	/* Attachments, or behind a message still writing its own: queue, in order. */
	struct ob_stream *st = calloc(1, sizeof(*st));
	if (st == NULL)
		fatal("out of memory");
	ob->nstreams++;
	st->m = jo->op.stored;     /* takes the row and its blobs */
	st->serial = jo->link_serial;
	memset(&jo->op.stored, 0, sizeof(jo->op.stored));
	struct ob_stream **tail = &p->streams;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = st;
	ob_pump(ob, p);
}

static void
ob_stream_free(struct outbox *ob, struct ob_stream *st)
{
	ob->nstreams--;
	store_msg_clear(&st->m);
	free(st->sizes);
	free(st);
}

/* The attachment sizes from the signed manifest of our own stored document. */
static int
ob_stream_sizes(struct ob_stream *st, char *err, size_t errlen)
{
	size_t plen = strlen(EVIDENCE_CTX_DOCUMENT) + 1;
	Rogatory__V1__DocumentBody *b = NULL;
	if (st->m.doc_body_len < plen ||
	    wire_document_body_decode(st->m.doc_body + plen, st->m.doc_body_len - plen, &b, err,
	        errlen) != 0)
		return -1;
	st->natt = b->n_attachments;
	if (st->natt > 0 && (st->sizes = calloc(st->natt, sizeof(*st->sizes))) == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < st->natt; i++)
		st->sizes[i] = b->attachments[i]->size;
	wire_document_body_free(b);
	return 0;
}

/* Where a Chunk's data come from (link_send_chunk's fill). */
struct ob_fill {
	struct store *s;
	int64_t bset;
	uint32_t att;
	uint64_t off;
};

static int
ob_fill_chunk(void *arg, uint8_t *dst, size_t len)
{
	const struct ob_fill *f = arg;
	return store_chunk_read_into(f->s, f->bset, f->att, f->off, dst, len);
}

/* Writes queued transfers and their chunks while the link's output stays below
 * OB_STREAM_HIGH; the link's drained callback calls again. */
static void
ob_pump(struct outbox *ob, struct ob_peer *p)
{
	struct link *l = p->link_serial ? peers_link_find(ob->d->peers, p->link_serial) : NULL;
	char err[300];
	while (p->streams != NULL) {
		struct ob_stream *st = p->streams;
		if (l == NULL || link_state(l) != LINK_READY)
			return;   /* outbox_link_down reschedules what is queued */
		if (st->serial != p->link_serial) {
			/* Recorded for a link that is gone: not a transmission; retry it. */
			struct ob_flight *f = ob_flight_find(p, st->m.msg_id);
			if (!st->started && f != NULL) {
				ob_reschedule(ob, p->id, st->m.msg_id, f->attempts > 0 ? f->attempts - 1 : 0,
				    0, "link closed before the transfer was written");
				ob_flight_remove(p, f);
			}
			p->streams = st->next;
			ob_stream_free(ob, st);
			continue;
		}
		if (!st->started) {
			if (st->m.bset != 0 && ob_stream_sizes(st, err, sizeof(err)) != 0) {
				char why[400];
				snprintf(why, sizeof(why), "own stored document does not decode: %s", err);
				log_err("outbox: %s: %s", st->m.msg_id, why);
				struct ob_flight *f = ob_flight_find(p, st->m.msg_id);
				if (f != NULL)
					ob_flight_remove(p, f);
				ob_reschedule(ob, p->id, st->m.msg_id, st->m.attempts > 0 ?
				    st->m.attempts - 1 : 0, ob_delay_us(ob, st->m.attempts), why);
				ob_stream_stop(ob, p, st->m.msg_id);
				continue;
			}
			ob_write_transfer(l, &st->m);
			st->started = true;
			struct ob_flight *f = ob_flight_find(p, st->m.msg_id);
			if (f != NULL) {
				f->written = true;
				f->written_ms = link_now_ms();
			}
		}
		while (st->att < st->natt && link_output_pending(l) < OB_STREAM_HIGH) {
			if (st->off >= st->sizes[st->att]) {
				st->att++;
				st->off = 0;
				continue;
			}
			size_t len = OB_CHUNK_MAX;
			if (len > st->sizes[st->att] - st->off)
				len = (size_t)(st->sizes[st->att] - st->off);
			/* Read from the file straight into the link's output buffer. */
			struct ob_fill fill = {ob->d->store, st->m.bset, st->att, st->off};
			int w = link_send_chunk(l, st->m.msg_id, st->att, st->off, len, ob_fill_chunk,
			    &fill);
			if (w == -2) {
				char why[200];
				snprintf(why, sizeof(why), "attachment %u at offset %llu missing from "
				    "the store", st->att, (unsigned long long)st->off);
				log_err("outbox: %s: %s; closing the link to %s, the message will be "
				    "retried", st->m.msg_id, why, p->id);
				/* Its Transfer is out and the receiver waits for the rest: only a
				 * closed link ends that (outbox_link_down reschedules it). */
				link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED, why);
				return;
			}
			if (w != 0)
				return;
			st->off += len;
		}
		if (st->att < st->natt)
			return;   /* the link drains first */
		/* All written: the receipt is due from now. */
		struct ob_flight *f = ob_flight_find(p, st->m.msg_id);
		if (f != NULL)
			f->written_ms = link_now_ms();
		p->streams = st->next;
		ob_stream_free(ob, st);
	}
}

/* Stops writing msg_id's chunks (answered early: a duplicate's receipt, TRY_LATER). */
static void
ob_stream_stop(struct outbox *ob, struct ob_peer *p, const char *msg_id)
{
	(void)ob;
	for (struct ob_stream **pp = &p->streams; *pp != NULL; pp = &(*pp)->next) {
		struct ob_stream *st = *pp;
		if (strcmp(st->m.msg_id, msg_id) == 0) {
			*pp = st->next;
			ob_stream_free(ob, st);
			return;
		}
	}
}

/* msg_id got its answer (what) while its chunks are still being written: the rest is
 * not sent (the receiver drops what is on the way), the next transfer goes. */
static void
ob_stream_answered(struct outbox *ob, struct ob_peer *p, const char *msg_id, const char *what)
{
	struct ob_stream *st = p->streams;
	if (st == NULL || !st->started || strcmp(st->m.msg_id, msg_id) != 0)
		return;
	uint64_t total = 0, sent = st->off;
	for (size_t i = 0; i < st->natt; i++) {
		total += st->sizes[i];
		if (i < st->att)
			sent += st->sizes[i];
	}
	log_info("outbox: %s to %s: %s before its last chunk; %llu of %llu attachment bytes "
	    "not sent", msg_id, p->id, what, (unsigned long long)(total - sent),
	    (unsigned long long)total);
	ob_stream_stop(ob, p, msg_id);
	ob_pump(ob, p);
}

void
outbox_link_drained(struct outbox *ob, struct link *l)
{
	/* Called after every write on every outbound link: nothing to do unless some
	 * message's chunks are waiting. */
	if (ob->nstreams == 0)
		return;
	struct ob_peer *p = ob_peer_get(ob, link_peer_id(l));
	if (p->streams != NULL && p->link_serial == link_serial(l))
		ob_pump(ob, p);
}

static void
ob_write_transfer(struct link *l, const struct store_msg *m)
{
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Transfer t = ROGATORY__V1__TRANSFER__INIT;
	Rogatory__V1__SignedObject so;
	t.message_id.data = (uint8_t *)m->msg_id;
	t.message_id.len = strlen(m->msg_id);
	t.sender_id.data = (uint8_t *)m->sender;
	t.sender_id.len = strlen(m->sender);
	t.recipient_id.data = (uint8_t *)m->recipient;
	t.recipient_id.len = strlen(m->recipient);
	wire_signed_object_set(&so, m->doc_body, m->doc_body_len, m->doc_sig, m->doc_sig_len,
	    m->doc_cert, m->doc_cert_len);
	t.document = &so;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_TRANSFER;
	env.transfer = &t;
	if (link_send(l, &env) != 0)
		log_warn("outbox: transfer of %s to %s not written (link closing); it will be "
		         "retried", m->msg_id, m->recipient);
}

void
outbox_link_ready(struct outbox *ob, struct link *l)
{
	struct ob_peer *p = ob_peer_get(ob, link_peer_id(l));
	p->link_serial = link_serial(l);
	p->drained = false;
	uint32_t w = link_peer_window(l);
	p->window = w < ob->d->cfg->window ? w : ob->d->cfg->window;
	ob_kick(ob, p);
}

void
outbox_link_down(struct outbox *ob, struct link *l, const char *reason)
{
	struct ob_peer *p = ob_peer_get(ob, link_peer_id(l));
	uint64_t serial = link_serial(l);
	if (p->link_serial == serial) {
		p->link_serial = 0;
		p->drained = false;
	}
	char why[300];
	snprintf(why, sizeof(why), "link closed: %s", reason);
	/* This link's streams end; those queued behind another's chunks were never written:
	 * not a transmission. Another link's streams stay. */
	for (struct ob_stream **pp = &p->streams; *pp != NULL;) {
		struct ob_stream *st = *pp;
		if (st->serial != serial) {
			pp = &st->next;
			continue;
		}
		*pp = st->next;
		struct ob_flight *sf = ob_flight_find(p, st->m.msg_id);
		if (!st->started && sf != NULL) {
			ob_reschedule(ob, p->id, st->m.msg_id, sf->attempts > 0 ? sf->attempts - 1 : 0,
			    0, "link closed before the transfer was written");
			ob_flight_remove(p, sf);
		}
		ob_stream_free(ob, st);
	}
	struct ob_flight *f = p->flights;
	while (f != NULL) {
		struct ob_flight *next = f->next;
		/* Written transfers are now unanswered: retry later. Unwritten ones are
		 * rescheduled by their own completion. */
		if (f->link_serial == serial && f->written) {
			ob_reschedule(ob, p->id, f->msg_id, f->attempts, ob_delay_us(ob, f->attempts), why);
			ob_flight_remove(p, f);
		}
		f = next;
	}
}

static void
ob_receipt_counted_done(struct journal_op *jo)
{
	struct outbox *ob = jo->arg;
	ob_peer_get(ob, jo->op.msg.recipient)->nchanging--;
	ob_receipt_done(jo);
}

static void
ob_receipt_done(struct journal_op *jo)
{
	struct outbox *ob = jo->arg;
	const struct store_msg *m = &jo->op.msg;
	struct ob_peer *p = ob_peer_get(ob, m->recipient);
	struct ob_flight *f = ob_flight_find(p, m->msg_id);
	if (f != NULL)
		ob_flight_remove(p, f);
	if (jo->op.result == STORE_R_OK)
		log_info("outbox: %s to %s %s", m->msg_id, m->recipient,
		    m->state == STORE_DELIVERED ? "delivered" : "rejected");
	else if (jo->op.result == STORE_R_STALE)
		log_debug("outbox: receipt for %s already settled", m->msg_id);
	ob_kick(ob, p);
}

void
outbox_receipt(struct outbox *ob, struct link *l, const Rogatory__V1__Receipt *r)
{
	char signer[AUTHORITY_ID_MAX + 1], err[300];
	Rogatory__V1__ReceiptBody *b = NULL;
	const char *peer = link_peer_id(l);
	if (evidence_open_receipt(r->receipt, signer, &b, err, sizeof(err)) != 0) {
		/* Not even its message id can be trusted: end the link; its unanswered
		 * transfers are retried (outbox_link_down). */
		char why[400];
		snprintf(why, sizeof(why), "unverifiable receipt: %s", err);
		log_warn("outbox: receipt from %s (%s) refused: %s", peer, link_subject(l), err);
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, why);
		return;
	}
	char msg_id[UUID_TEXT_LEN + 1];
	snprintf(msg_id, sizeof(msg_id), "%.*s", (int)b->message_id.len,
	    (const char *)b->message_id.data);
	struct ob_peer *p = ob_peer_get(ob, peer);
	struct ob_flight *f = ob_flight_find(p, msg_id);
	struct store_msg stored = {0};
	/* Answered before its last chunk (a duplicate): stop writing them. */
	ob_stream_answered(ob, p, msg_id, "a receipt");
	const uint8_t *want_hash = f ? f->payload_hash : NULL;
	char why[400];
	if (strcmp(signer, peer) != 0 ||
	    !(b->sender_id.len == strlen(ob->d->cfg->authority_id) &&
	        memcmp(b->sender_id.data, ob->d->cfg->authority_id, b->sender_id.len) == 0)) {
		snprintf(why, sizeof(why), "receipt on the link from %s is signed by %s for sender "
		    "%.*s", peer, signer, (int)b->sender_id.len, (const char *)b->sender_id.data);
		goto bad;
	}
	/* A receipt is proof only if its signer was a certificate of our network at the
	 * time it signed, and is not revoked now. */
	if (inbox_signer_trusted(ob->d->inbox, &r->receipt->signer_certificate, b->received_ms,
	        err, sizeof(err)) != 0) {
		snprintf(why, sizeof(why), "receipt signer certificate: %s", err);
		goto bad;
	}
	if (want_hash == NULL) {
		if (store_get(ob->d->store, STORE_OUT, ob->d->cfg->authority_id, msg_id, &stored) != 0 ||
		    strcmp(stored.recipient, peer) != 0) {
			log_warn("outbox: receipt from %s for unknown message %s; ignored", peer, msg_id);
			goto done;
		}
		want_hash = stored.payload_hash;
	}
	/* cppcheck-suppress nullPointerRedundantCheck ; set just above when it was NULL */
	if (memcmp(want_hash, b->payload_sha256.data, STORE_HASH_LEN) != 0) {
		snprintf(why, sizeof(why), "receipt names another payload hash");
		goto bad;
	}
	crash_point("receipt-before-commit");
	bool ok = b->outcome == ROGATORY__V1__OUTCOME__OUTCOME_ACCEPTED;
	char reason[sizeof(((struct store_msg *)0)->last_error)] = "";
	if (!ok)
		snprintf(reason, sizeof(reason), "%.*s: %.*s", (int)b->reason_code.len,
		    (const char *)b->reason_code.data, (int)b->reason_text.len,
		    (const char *)b->reason_text.data);
	struct journal_op *jo = ob_transition_op(ob, msg_id, peer,
	    ok ? OUTSTATE_ACCEPTED : OUTSTATE_REJECTED);
	struct store_msg *m = &jo->op.msg;
	/* The envelope is freed when this call returns; the op needs its own copy. */
	ob_dup(&m->rcpt_body, &m->rcpt_body_len, &r->receipt->body);
	ob_dup(&m->rcpt_sig, &m->rcpt_sig_len, &r->receipt->signature);
	ob_dup(&m->rcpt_cert, &m->rcpt_cert_len, &r->receipt->signer_certificate);
	snprintf(m->last_error, sizeof(m->last_error), "%s", reason);
	jo->op.set = STORE_SET_RECEIPT | (ok ? 0 : STORE_SET_LAST_ERROR);
	/* The case of our request, if it is one, starts its clocks at the receiver's time. */
	if (ok) {
		caseflow_clocks(ob->d, m);
		m->cd.received_ms = (int64_t)b->received_ms;
	}
	jo->arg = ob;
	jo->done = ob_receipt_done;
	if (f == NULL || !f->request) {
		/* Settling a status may make the next one of its case due. */
		jo->done = ob_receipt_counted_done;
		p->nchanging++;
	}
	journal_event(jo, ok ? "delivered" : "rejected", msg_id, peer, STORE_OUT, NULL,
	    f ? f->attempts : stored.attempts, 0, ok ? NULL : reason);
	journal_submit(jo);
	goto done;
bad:
	/* Not proof of anything: the transfer stays unanswered and is retried, rather
	 * than holding its window slot. */
	log_warn("outbox: receipt for %s from %s refused: %s; retrying", msg_id, peer, why);
	if (f != NULL) {
		ob_reschedule(ob, p->id, msg_id, f->attempts, ob_delay_us(ob, f->attempts), why);
		ob_flight_remove(p, f);
		ob_stream_stop(ob, p, msg_id);   /* never written after its flight is gone */
		ob_pump(ob, p);
	}
done:
	store_msg_clear(&stored);
	wire_receipt_body_free(b);
}

void
outbox_resume(struct outbox *ob, struct link *l, const Rogatory__V1__Resume *r)
{
	char msg_id[UUID_TEXT_LEN + 1];
	snprintf(msg_id, sizeof(msg_id), "%.*s", (int)r->message_id.len,
	    (const char *)r->message_id.data);
	struct ob_peer *p = ob_peer_get(ob, link_peer_id(l));
	struct ob_stream *st = p->streams;
	while (st != NULL && strcmp(st->m.msg_id, msg_id) != 0)
		st = st->next;
	if (st == NULL || st->serial != link_serial(l) || !st->started) {
		/* Its chunks are all written (the receiver drops those below its point). */
		log_debug("outbox: resume of %s from %s: nothing left to skip", msg_id, p->id);
		return;
	}
	if (r->attachment_index >= st->natt ||
	    r->offset > st->sizes[r->attachment_index]) {
		char why[200];
		snprintf(why, sizeof(why), "resume of %s at attachment %u offset %llu: beyond its "
		    "manifest", msg_id, r->attachment_index, (unsigned long long)r->offset);
		log_warn("outbox: %s from %s (%s)", why, p->id, link_subject(l));
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, why);
		return;
	}
	/* Ahead only: what is written already stays written. */
	if (r->attachment_index < st->att ||
	    (r->attachment_index == st->att && r->offset <= st->off))
		return;
	uint64_t skipped = 0;
	for (uint32_t a = st->att; a < r->attachment_index; a++)
		skipped += st->sizes[a] - (a == st->att ? st->off : 0);
	skipped += r->offset - (r->attachment_index == st->att ? st->off : 0);
	log_info("outbox: %s to %s: resumed at attachment %u offset %llu (%llu bytes the "
	    "receiver holds not sent again)", msg_id, p->id, r->attachment_index,
	    (unsigned long long)r->offset, (unsigned long long)skipped);
	st->att = r->attachment_index;
	st->off = r->offset;
}

void
outbox_error(struct outbox *ob, struct link *l, const Rogatory__V1__Error *e)
{
	char msg_id[UUID_TEXT_LEN + 1];
	snprintf(msg_id, sizeof(msg_id), "%.*s", (int)e->message_id.len,
	    (const char *)e->message_id.data);
	struct ob_peer *p = ob_peer_get(ob, link_peer_id(l));
	struct ob_flight *f = ob_flight_find(p, msg_id);
	char why[1200];
	snprintf(why, sizeof(why), "%s from %s: %.*s", wire_error_code_name(e->code), p->id,
	    (int)e->text.len, (const char *)e->text.data);
	if (f == NULL || !f->written || f->link_serial != link_serial(l)) {
		log_warn("outbox: %s (no transfer of %s in flight on this link)", why, msg_id);
		return;
	}
	ob_stream_answered(ob, p, msg_id, wire_error_code_name(e->code));
	bool later = e->code == ROGATORY__V1__ERROR_CODE__ERROR_CODE_TRY_LATER;
	/* TRY_LATER means "not taken": it does not count as an unanswered transmission. */
	uint32_t attempts = later && f->attempts > 0 ? f->attempts - 1 : f->attempts;
	int64_t delay = later && e->retry_after_ms > 0 ? (int64_t)e->retry_after_ms * 1000
	                                              : ob_delay_us(ob, f->attempts);
	int64_t cap = (int64_t)ob->d->cfg->retry_max_ms * 1000;
	if (delay > cap)
		delay = cap;
	ob_reschedule(ob, p->id, msg_id, attempts, delay, why);
	ob_flight_remove(p, f);
	ob_stream_stop(ob, p, msg_id);
	ob_pump(ob, p);
}

static void
ob_peer_due(void *arg, const char *peer, int64_t earliest_us)
{
	struct outbox *ob = arg;
	if (earliest_us <= request_now_us())
		ob_kick(ob, ob_peer_get(ob, peer));
}

/* A transfer without an answer on a link that stays up (the receiver lost it, or could
 * not sign a receipt) must not hold its window slot forever: retry it like a lost one. */
static void
ob_receipt_timeouts(struct outbox *ob)
{
	uint64_t now = link_now_ms(), limit = ob->d->cfg->dead_after_ms;
	/* The link is closed, not only the flight forgotten: the receiver still counts the
	 * transfer against the window it announced, so a new one in its place would break
	 * that window. outbox_link_down then reschedules everything unanswered on it. */
	uint64_t late[OB_PAGE_MAX];
	unsigned nlate = 0;
	char why[128];
	snprintf(why, sizeof(why), "no receipt within %llu ms (dead_after)",
	    (unsigned long long)limit);
	for (struct ob_peer *p = ob->peers; p != NULL && nlate < OB_PAGE_MAX; p = p->next) {
		for (struct ob_flight *f = p->flights; f != NULL; f = f->next) {
			/* Still writing its chunks: the receipt is due from their end. */
			bool streaming = p->streams != NULL && p->streams->started &&
			    strcmp(p->streams->m.msg_id, f->msg_id) == 0;
			if (f->written && !streaming && now - f->written_ms > limit) {
				log_warn("outbox: %s to %s: %s; closing the link, the transfer will "
				         "be retried", f->msg_id, p->id, why);
				late[nlate++] = f->link_serial;
				break;
			}
		}
	}
	/* Closing changes the peers' flights: only after the walk. */
	for (unsigned i = 0; i < nlate; i++) {
		struct link *l = peers_link_find(ob->d->peers, late[i]);
		if (l != NULL)
			link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED, why);
	}
}

static void
ob_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct outbox *ob = arg;
	if (ob->d->stopping)
		return;
	ob_receipt_timeouts(ob);
	store_outbox_peers(ob->d->store, ob_peer_due, ob);
	if (++ob->ticks % OB_EXPIRY_EVERY == 0)
		ob_expiry_scan(ob);
}

/* A row in `sending` with no transmission in progress (its settling update failed, e.g.
 * a full store) would wait for a restart: retry it now. A second reschedule of the same
 * row finds it no longer `sending` and changes nothing. */
static void
ob_sending_sweep(struct outbox *ob)
{
	struct store_msg page[OB_PAGE_MAX];
	int64_t after = 0;
	int n;
	while ((n = store_list_state(ob->d->store, STORE_SENDING, after, page, OB_PAGE_MAX)) > 0) {
		for (int i = 0; i < n; i++) {
			after = page[i].rowid;
			if (ob_flight_find(ob_peer_get(ob, page[i].recipient), page[i].msg_id) == NULL)
				ob_reschedule(ob, page[i].recipient, page[i].msg_id, page[i].attempts, 0,
				    "in sending with no transmission in progress");
			store_msg_clear(&page[i]);
		}
		if (n < OB_PAGE_MAX)
			break;
	}
}

/* expire_after passed: never transmitted → expired; transmitted → unconfirmed. */
static void
ob_expiry_scan(struct outbox *ob)
{
	ob_sending_sweep(ob);
	static const enum store_state states[] = {STORE_QUEUED, STORE_RETRYING};
	int64_t now = request_now_us();
	struct store_msg page[OB_PAGE_MAX];
	for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
		int64_t after = 0;
		int n;
		while ((n = store_list_state(ob->d->store, states[s], after, page, OB_PAGE_MAX)) > 0) {
			for (int i = 0; i < n; i++) {
				struct store_msg *m = &page[i];
				after = m->rowid;
				if (m->expire_at_us > 0 && m->expire_at_us <= now) {
					/* The event is named by the state the store enters: expired
					 * or unconfirmed (an unconfirmed message is still retried,
					 * every retry_max). */
					bool sent = m->attempts > 0;
					struct journal_op *jo = ob_transition_op(ob, m->msg_id,
					    m->recipient, OUTSTATE_EXPIRE);
					struct store_msg *u = &jo->op.msg;
					u->next_attempt_us = now + (int64_t)ob->d->cfg->retry_max_ms * 1000;
					jo->op.set = STORE_SET_NEXT_ATTEMPT;
					journal_event(jo, "", m->msg_id, m->recipient, STORE_OUT, NULL,
					    m->attempts, 0, sent ? "expire_after passed after a "
					    "transmission without receipt" : "expire_after passed without a "
					    "transmission");
					ob_changing(ob, jo);
					journal_submit(jo);
				}
				store_msg_clear(m);
			}
			if (n < OB_PAGE_MAX)
				break;
		}
	}
}

/* ---- operator calls ---- */

static void
ob_call_done(struct journal_op *jo)
{
	struct ob_call *c = jo->arg;
	const struct store_msg *m = &jo->op.msg;
	if (c->waits != NULL) {
		c->waits->nchanging--;
		/* An operator's retry or cancel may make a row due (a status behind a
		 * cancelled one): the page decides. */
		if (jo->op.kind != STORE_OP_SUBMIT)
			ob_kick(c->ob, c->waits);
	}
	if (jo->op.kind == STORE_OP_SUBMIT && jo->op.result != STORE_R_OK)
		ob_drop_set(c->ob, m->bset);
	switch (jo->op.result) {
	case STORE_R_OK:
		if (jo->op.kind == STORE_OP_SUBMIT) {
			crash_point("submit-before-reply");
			c->fn(c->arg, 0, m, NULL, NULL);
		} else {
			/* An update's op holds only the selector: answer with the row. */
			struct store_msg row = {0};
			int got = store_get(c->ob->d->store, STORE_OUT, m->sender, m->msg_id, &row);
			c->fn(c->arg, 0, got == 0 ? &row : m, NULL, NULL);
			store_msg_clear(&row);
		}
		/* A submission sent at once has its `sending` op behind it already. */
		if (!c->sent_at_once && (m->state == STORE_QUEUED || m->state == STORE_RETRYING ||
		    m->state == STORE_UNCONFIRMED))
			ob_kick(c->ob, ob_peer_get(c->ob, m->recipient));
		break;
	case STORE_R_EXISTS:
		/* The same submission again: the message as it stands. */
		c->fn(c->arg, 0, &jo->op.stored, NULL, NULL);
		break;
	case STORE_R_CONFLICT:
		c->fn(c->arg, -1, m, "id-conflict",
		    "this message id was already submitted with different content");
		break;
	case STORE_R_ILLEGAL:
		/* Its case moved meanwhile (another update committed first). */
		c->fn(c->arg, -1, NULL, "illegal-transition", jo->op.error);
		break;
	case STORE_R_STALE:
		c->fn(c->arg, -1, m, "refused", jo->text[0] ? jo->text : "the message changed state meanwhile");
		break;
	case STORE_R_NOT_FOUND:
		c->fn(c->arg, -1, NULL, "not-found", "no such outbound message");
		break;
	case STORE_R_FULL:
		c->fn(c->arg, -1, NULL, "store-full", "store full: the message store reached "
		    "[store] max_size or the disk is full; nothing was queued");
		break;
	default:
		c->fn(c->arg, -1, NULL, "store-error", jo->op.error);
		break;
	}
	free(c);
}

/* Staged attachments that no message will name. */
static void
ob_drop_set(struct outbox *ob, int64_t bset)
{
	if (bset == 0)
		return;
	struct journal_op *jo = journal_op_new(ob->d, STORE_OP_DROP_SET);
	jo->op.chunk.bset = bset;
	journal_submit(jo);
}

/* jo (an ob_call op) may make a row of p due: counted in p->nchanging until it completes. */
static void
ob_call_waits(struct journal_op *jo, struct ob_peer *p)
{
	struct ob_call *c = jo->arg;
	c->waits = p;
	p->nchanging++;
}

static struct journal_op *
ob_call_op(struct outbox *ob, enum store_op_kind k, outbox_reply_fn fn, void *arg)
{
	struct ob_call *c = calloc(1, sizeof(*c));
	if (c == NULL)
		fatal("out of memory");
	c->ob = ob;
	c->fn = fn;
	c->arg = arg;
	struct journal_op *jo = journal_op_new(ob->d, k);
	jo->arg = c;
	jo->done = ob_call_done;
	return jo;
}

void
outbox_submit(struct outbox *ob, const Rogatory__Ctl__V1__SendRequest *req,
    outbox_reply_fn fn, void *arg)
{
	outbox_submit_attached(ob, req, NULL, 0, fn, arg);
}

void
outbox_submit_attached(struct outbox *ob, const Rogatory__Ctl__V1__SendRequest *req,
    const uint8_t *hashes, int64_t bset, outbox_reply_fn fn, void *arg)
{
	char err[512];
	const char *code = "invalid";
	struct journal_op *jo = ob_call_op(ob, STORE_OP_SUBMIT, fn, arg);
	if (request_build(ob->d, req, hashes, bset, &jo->op.msg, &code, err, sizeof(err)) != 0) {
		fn(arg, -1, NULL, code, err);
		free(jo->arg);
		store_msg_clear(&jo->op.msg);
		free(jo);
		ob_drop_set(ob, bset);
		return;
	}
	/* Two submissions of one id resolve in the store thread, which applies ops one by
	 * one: the second finds the first (EXISTS or CONFLICT), committed or not. */
	const struct store_msg *m = &jo->op.msg;
	uint64_t size = m->size ? m->size : m->doc_body_len;
	journal_event(jo, "queued", m->msg_id, m->recipient, STORE_OUT, "queued", 0, size, NULL);
	struct ob_call *c = jo->arg;
	struct ob_peer *p = ob_peer_get(ob, m->recipient);
	uint64_t bytes = (uint64_t)m->doc_body_len + m->doc_sig_len + m->doc_cert_len;
	c->sent_at_once = ob_send_at_once(ob, p, m, bytes);
	if (c->sent_at_once) {
		journal_submit_pair(jo, ob_send_start(ob, p, m->msg_id, m->payload_hash, 0, size,
		    bytes, true));
		return;
	}
	ob_call_waits(jo, p);
	journal_submit(jo);
}

static int
ob_lookup(struct outbox *ob, const char *msg_id, struct store_msg *m, outbox_reply_fn fn,
    void *arg)
{
	if (store_get(ob->d->store, STORE_OUT, ob->d->cfg->authority_id, msg_id, m) != 0) {
		fn(arg, -1, NULL, "not-found", "no outbound message with that id");
		return -1;
	}
	return 0;
}

void
outbox_retry(struct outbox *ob, const char *msg_id, outbox_reply_fn fn, void *arg)
{
	struct store_msg m = {0};
	if (ob_lookup(ob, msg_id, &m, fn, arg) != 0)
		return;
	enum store_state to;
	if (!outstate_next(m.state, OUTSTATE_OP_RETRY, m.attempts, &to)) {
		char why[128];
		snprintf(why, sizeof(why), "message is %s; only queued, retrying or unconfirmed "
		    "messages can be retried", store_state_name(m.state));
		fn(arg, -1, &m, "refused", why);
		store_msg_clear(&m);
		return;
	}
	struct journal_op *jo = ob_call_op(ob, STORE_OP_UPDATE, fn, arg);
	struct store_msg *u = &jo->op.msg;
	ob_select(ob, u, m.msg_id, m.recipient);
	jo->op.transition = OUTSTATE_OP_RETRY;
	u->next_attempt_us = 0;
	jo->op.set = STORE_SET_NEXT_ATTEMPT;
	snprintf(jo->text, sizeof(jo->text), "cannot retry: its state changed meanwhile");
	journal_event(jo, "retry-scheduled", m.msg_id, m.recipient, STORE_OUT, NULL, m.attempts, 0,
	    "operator asked for a retry now");
	ob_call_waits(jo, ob_peer_get(ob, m.recipient));
	store_msg_clear(&m);
	journal_submit(jo);
}

void
outbox_cancel(struct outbox *ob, const char *msg_id, outbox_reply_fn fn, void *arg)
{
	struct store_msg m = {0};
	if (ob_lookup(ob, msg_id, &m, fn, arg) != 0)
		return;
	enum store_state to;
	if (!outstate_next(m.state, OUTSTATE_OP_CANCEL, m.attempts, &to)) {
		char why[200];
		if (m.attempts > 0)
			snprintf(why, sizeof(why), "cannot cancel: already transmitted %u time%s "
			    "(state %s); it may have arrived, and a receipt may still come",
			    m.attempts, m.attempts == 1 ? "" : "s", store_state_name(m.state));
		else
			snprintf(why, sizeof(why), "cannot cancel: message is %s",
			    store_state_name(m.state));
		fn(arg, -1, &m, "refused", why);
		store_msg_clear(&m);
		return;
	}
	struct journal_op *jo = ob_call_op(ob, STORE_OP_UPDATE, fn, arg);
	struct store_msg *u = &jo->op.msg;
	ob_select(ob, u, m.msg_id, m.recipient);
	jo->op.transition = OUTSTATE_OP_CANCEL;
	snprintf(jo->text, sizeof(jo->text), "cannot cancel: it was transmitted meanwhile");
	journal_event(jo, "cancelled", m.msg_id, m.recipient, STORE_OUT, NULL, 0, 0,
	    "cancelled by an operator");
	store_msg_clear(&m);
	ob_call_waits(jo, ob_peer_get(ob, u->recipient));
	journal_submit(jo);
}

/* ---- certificate renewal ---- */

/* Our certificate changed: every message not yet transmitted-and-answered gets the same
 * body signed again with the new key, so its signature outlives the old certificate. The
 * payload hash stays the same, so the receiver's duplicate check still holds. */
void
outbox_resign(struct outbox *ob)
{
	/* `sending` too: its next transmission carries the new signature (the Transfer is
	 * written from the row committed with it). */
	static const enum store_state states[] = {STORE_QUEUED, STORE_SENDING, STORE_RETRYING,
	    STORE_UNCONFIRMED};
	struct store_msg page[OB_PAGE_MAX];
	unsigned n_done = 0, n_failed = 0;
	for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
		int64_t after = 0;
		int n;
		while ((n = store_list_state(ob->d->store, states[s], after, page, OB_PAGE_MAX)) > 0) {
			for (int i = 0; i < n; i++) {
				after = page[i].rowid;
				struct journal_op *jo = journal_op_new(ob->d, STORE_OP_UPDATE);
				struct signed_object so = {0};
				char err[256];
				if (store_get(ob->d->store, STORE_OUT, page[i].sender, page[i].msg_id,
				        &jo->op.msg) != 0 ||
				    evidence_resign(ob->d->signer, jo->op.msg.doc_body, jo->op.msg.doc_body_len,
				        EVIDENCE_DOCUMENT, &so, err, sizeof(err)) != 0) {
					log_err("outbox: cannot re-sign %s after the certificate renewal: %s",
					    page[i].msg_id, jo->op.msg.doc_body ? err : "not in the store");
					n_failed++;
					store_msg_clear(&jo->op.msg);
					free(jo);
					store_msg_clear(&page[i]);
					continue;
				}
				struct store_msg *m = &jo->op.msg;
				free(m->doc_sig);
				free(m->doc_cert);
				m->doc_sig = so.signature;
				m->doc_sig_len = so.signature_len;
				m->doc_cert = so.cert;
				m->doc_cert_len = so.cert_len;
				free(so.body);
				jo->op.set = STORE_SET_DOCUMENT;
				jo->op.transition = OUTSTATE_RESIGN;
				journal_submit(jo);
				n_done++;
				store_msg_clear(&page[i]);
			}
			if (n < OB_PAGE_MAX)
				break;
		}
	}
	log_notice("outbox: certificate renewed: %u pending messages re-signed with the new key%s",
	    n_done, n_failed ? " (some could not be, see above)" : "");
}
