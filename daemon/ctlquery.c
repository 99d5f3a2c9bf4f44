/*
 * ctlquery: answers QueueRequest, InboxRequest and LogRequest (contract in ctlquery.h).
 * The filters arrive checked by wire (ids, UUID, name syntax); what only the daemon
 * knows (which state names exist) is checked here. Reads only: nothing here changes a
 * message, and a failed read answers "store-error" without touching the client's state.
 */
#include "ctlquery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pause.h"
#include "request.h"
#include "rogatoryd.h"
#include "store.h"

#define CTLQUERY_LIST_DEFAULT 100
#define CTLQUERY_LIST_MAX 1000
#define CTLQUERY_LOG_MAX 1000
#define CTLQUERY_PAGE_DEFAULT 50
#define CTLQUERY_PAGE_MAX 200

static int list(struct control *c, const struct store_filter *f, uint32_t limit,
    struct control_result *res);
static void text_of(char *out, size_t cap, const ProtobufCBinaryData *b);
static void store_error(struct control_result *res, const char *what);

static void
text_of(char *out, size_t cap, const ProtobufCBinaryData *b)
{
	snprintf(out, cap, "%.*s", (int)b->len, (const char *)b->data);
}

static void
store_error(struct control_result *res, const char *what)
{
	res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
	res->error_code = "store-error";
	snprintf(res->error_text, sizeof(res->error_text), "cannot read %s", what);
}

/* The newest `limit` messages matching f; outbound ones to a paused authority say so. */
static int
list(struct control *c, const struct store_filter *f, uint32_t limit,
    struct control_result *res)
{
	struct rogatoryd *d = control_daemon(c);
	int max = limit == 0 ? CTLQUERY_LIST_DEFAULT
	                     : (int)(limit > CTLQUERY_LIST_MAX ? CTLQUERY_LIST_MAX : limit);
	struct store_msg *v = calloc((size_t)max, sizeof(*v));
	if (v == NULL)
		fatal("out of memory");
	int n = store_list_filter(d->store, f, 0, v, max);
	if (n < 0) {
		free(v);
		store_error(res, "the store");
		return -1;
	}
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		json_t *o = control_msg_json(&v[i]);
		if (v[i].dir == STORE_OUT)
			json_object_set_new(o, "paused", json_boolean(pause_is(d->paused,
			    v[i].recipient)));
		json_array_append_new(a, o);
		store_msg_clear(&v[i]);
	}
	free(v);
	res->json = a;
	return 0;
}

void
ctlquery_queue(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	const Rogatory__Ctl__V1__QueueRequest *q = req->queue;
	char peer[AUTHORITY_ID_MAX + 1], state[16];
	struct store_filter f = {.dir = STORE_OUT, .only_open = !q->all, .state = -1};
	text_of(peer, sizeof(peer), &q->peer);
	text_of(state, sizeof(state), &q->state);
	if (state[0] != '\0') {
		enum store_state st;
		if (store_state_parse(state, &st) != 0 || st == STORE_RECEIVED) {
			res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST;
			res->error_code = "bad-request";
			snprintf(res->error_text, sizeof(res->error_text), "unknown state %s; expected "
			    "queued, sending, retrying, unconfirmed, delivered, rejected, failed, "
			    "expired or cancelled", state);
			return;
		}
		f.state = (int)st;
		f.only_open = false;    /* a final state asked for by name is listed */
	}
	f.peer = peer[0] != '\0' ? peer : NULL;
	if (q->older_than_ms > 0) {
		int64_t now = request_now_us();
		uint64_t us = q->older_than_ms > (uint64_t)INT64_MAX / 1000 ? (uint64_t)INT64_MAX
		                                                            : q->older_than_ms * 1000;
		f.created_before_us = (int64_t)us < now ? now - (int64_t)us : 1;
	}
	list(c, &f, q->limit, res);
}

void
ctlquery_inbox(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	const Rogatory__Ctl__V1__InboxRequest *q = req->inbox;
	char peer[AUTHORITY_ID_MAX + 1];
	text_of(peer, sizeof(peer), &q->peer);
	struct store_filter f = {.dir = STORE_IN, .state = -1, .unfetched = q->unfetched,
	    .peer = peer[0] != '\0' ? peer : NULL};
	list(c, &f, q->limit, res);
}

void
ctlquery_log(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	const Rogatory__Ctl__V1__LogRequest *q = req->log;
	struct rogatoryd *d = control_daemon(c);
	char peer[AUTHORITY_ID_MAX + 1], id[UUID_TEXT_LEN + 1], event[32];
	text_of(peer, sizeof(peer), &q->peer);
	text_of(id, sizeof(id), &q->message_id);
	text_of(event, sizeof(event), &q->event);
	struct store_event_filter f = {.since_us = q->since_us, .until_us = q->until_us,
	    .peer = peer, .msg_id = id, .event = event};
	int max = q->limit == 0 ? CTLQUERY_LOG_MAX
	                        : (int)(q->limit > CTLQUERY_LOG_MAX ? CTLQUERY_LOG_MAX : q->limit);
	/* after_seq < 0: the last -after_seq events that match. */
	bool last = q->after_seq < 0;
	if (last && -q->after_seq < max)
		max = (int)-q->after_seq;
	struct store_event *ev = calloc((size_t)max, sizeof(*ev));
	if (ev == NULL)
		fatal("out of memory");
	/* Read before the history: whatever commits meanwhile is in one or the other. */
	int64_t upto = q->follow ? store_last_seq(d->store) : 0;
	int n = store_events_filter(d->store, &f, last ? 0 : q->after_seq, last, ev, max);
	if (n < 0) {
		free(ev);
		store_error(res, "the event history");
		return;
	}
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, control_event_json(&ev[i]));
	if (n > 0 && ev[n - 1].seq > upto)
		upto = ev[n - 1].seq;
	free(ev);
	res->json = a;
	if (q->follow) {
		/* What committed before is history (sent, or not matching); what follows is
		 * what commits from now on. */
		if (control_follow(c, req->request_id, upto > 0 ? upto : 0, &f) != 0) {
			json_decref(res->json);
			res->json = NULL;
			res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
			res->error_code = "busy";
			snprintf(res->error_text, sizeof(res->error_text), "this connection follows the "
			    "log already");
		}
	}
}

void
ctlquery_messages(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	const Rogatory__Ctl__V1__MessagesRequest *q = req->messages;
	struct rogatoryd *d = control_daemon(c);
	char peer[AUTHORITY_ID_MAX + 1], state[16], prefix[UUID_TEXT_LEN + 1], dir[4];
	text_of(peer, sizeof(peer), &q->peer);
	text_of(state, sizeof(state), &q->state);
	text_of(prefix, sizeof(prefix), &q->id_prefix);
	text_of(dir, sizeof(dir), &q->direction);
	enum store_state st;
	if (state[0] != '\0' && store_state_parse(state, &st) != 0) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST;
		res->error_code = "bad-request";
		snprintf(res->error_text, sizeof(res->error_text), "unknown state %s; expected "
		    "queued, sending, retrying, unconfirmed, delivered, rejected, failed, expired, "
		    "cancelled or received", state);
		return;
	}
	enum store_dir sd = strcmp(dir, "in") == 0 ? STORE_IN
	                  : strcmp(dir, "out") == 0 ? STORE_OUT : STORE_DIR_ANY;
	int max = q->limit == 0 ? CTLQUERY_PAGE_DEFAULT
	                        : (int)(q->limit > CTLQUERY_PAGE_MAX ? CTLQUERY_PAGE_MAX : q->limit);
	struct store_msg *v = calloc((size_t)max, sizeof(*v));
	if (v == NULL)
		fatal("out of memory");
	int n = store_messages_page(d->store, sd, peer, state, prefix, (int64_t)q->before, v, max);
	if (n < 0) {
		free(v);
		store_error(res, "the store");
		return;
	}
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		json_t *o = control_msg_json(&v[i]);
		json_object_set_new(o, "cursor", json_integer((json_int_t)v[i].rowid));
		if (v[i].dir == STORE_OUT)
			json_object_set_new(o, "paused", json_boolean(pause_is(d->paused,
			    v[i].recipient)));
		json_array_append_new(a, o);
	}
	json_t *o = json_object();
	json_object_set_new(o, "messages", a);
	json_object_set_new(o, "next", n == max ? json_integer((json_int_t)v[n - 1].rowid)
	                                        : json_null());
	for (int i = 0; i < n; i++)
		store_msg_clear(&v[i]);
	free(v);
	res->json = o;
}
