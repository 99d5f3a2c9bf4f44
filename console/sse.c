/*
 * sse: GET /api/events, the live delivery log as Server-Sent Events. One LogRequest
 * follow connection to the daemon (the console's own, opened with the first stream and
 * closed with the last) is fanned out to at most CONSOLE_STREAMS_MAX streams; a stream
 * that asks for what it missed (?after=SEQ or Last-Event-ID) gets it from a history
 * request made with its own session, then the shared events above what it has. Every
 * 15 s a keep-alive comment; every 5 s each session with a stream is asked again (whoami,
 * touch=false; one request per session, not per stream: rogatoryd logs a line for each)
 * and when it ended its streams are closed. Any request of the console that is answered
 * session-ended closes that session's streams at once (sse_session_ended): none of them
 * gets another event. At most CONSOLE_SESSION_STREAMS_MAX streams per session; HEAD
 * opens none. A browser that does not read is cut when more than EVENTS_OUT_MAX bytes
 * wait for it: a stream never holds more.
 */
#include "console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "log.h"

#define EVENTS_TICK_S 5             /* the session re-check; every third tick a keep-alive */
#define EVENTS_HISTORY 1000         /* events per history request */
#define EVENTS_OUT_MAX (1u << 20)   /* unread bytes a stream may have waiting */
#define EVENTS_WRITE_S 60           /* a write the browser does not take in this long */
#define EVENTS_RETRY_S 2            /* the shared follow reopened after a failure, */
#define EVENTS_RETRY_MAX_S 60       /* doubling up to this while it keeps failing */
/* The last words to a stream whose session ended (the page then shows the login). */
#define END_TEXT "event: end\ndata: {\"error\":\"session-ended\"}\n\n"

struct stream {
	struct console_streams *all;
	struct hreq *h;
	struct stream *prev, *next;
	int64_t last;               /* highest seq sent; -1: from the follow's first */
	bool live;                  /* the 200 and its headers are out */
	bool history;               /* a history request is on its way */
	bool checking;              /* a session re-check is on its way */
	bool ended;                 /* its session ended: no more events, closed soon */
	bool reaped;                /* its closing was tried (it waits for a reply) */
};

struct console_streams {
	struct console *con;
	struct stream *list;
	unsigned n;
	struct cclient *follow;
	bool follow_ready;          /* its first answer (the history) came */
	int64_t last_seq;           /* highest seq the follow has seen */
	struct event *tick;
	struct event *retry;
	struct event *reap;         /* closes the streams marked ended */
	unsigned retry_s;           /* the next wait before reopening the follow */
	unsigned ticks;
};

/* Reopens the follow later: 2 s, then twice as long each time up to a minute. */
static void
follow_later(struct console_streams *all)
{
	if (all->retry_s < EVENTS_RETRY_S)
		all->retry_s = EVENTS_RETRY_S;
	struct timeval tv = {all->retry_s, 0};
	evtimer_add(all->retry, &tv);
	all->retry_s = all->retry_s * 2 > EVENTS_RETRY_MAX_S ? EVENTS_RETRY_MAX_S : all->retry_s * 2;
}

static void follow_start(struct console_streams *all);
static void stream_history(struct stream *s);

/* ---- one stream ---- */

static void
stream_free(void *p)
{
	struct stream *s = p;
	struct console_streams *all = s->all;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		all->list = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	all->n--;
	free(s);
	if (all->n == 0 && all->follow != NULL) {
		/* Nobody listens: the daemon's connection is given back. */
		cclient_free(all->follow);
		all->follow = NULL;
		all->follow_ready = false;
	}
}

/* Ends the stream (and frees its hreq). */
static void
stream_end(struct stream *s)
{
	web_reply_raw(s->h, 200, NULL, 0);
}

/* Writes text to the stream; false (and the stream ended) when the browser lags. */
static bool
stream_write(struct stream *s, const char *text, size_t len)
{
	struct hreq *h = s->h;
	if (h->gone || h->req == NULL) {
		if (h->waiting == 0)
			stream_end(s);
		return false;
	}
	struct evhttp_connection *evcon = evhttp_request_get_connection(h->req);
	struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	if (bev == NULL || evbuffer_get_length(bufferevent_get_output(bev)) > EVENTS_OUT_MAX) {
		if (bev != NULL)
			log_info("console: an event stream was closed: its browser does not read");
		if (h->waiting == 0)
			stream_end(s);
		return false;
	}
	struct evbuffer *b = evbuffer_new();
	if (b == NULL)
		return true;
	evbuffer_add(b, text, len);
	evhttp_send_reply_chunk(h->req, b);
	evbuffer_free(b);
	return true;
}

/* One event as SSE; false when the stream ended. */
static bool
stream_event(struct stream *s, const json_t *ev, int64_t seq)
{
	char *data = json_dumps(ev, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (data == NULL)
		return true;
	size_t n = strlen(data) + 64;
	char *text = malloc(n);
	bool ok = true;
	if (text != NULL) {
		int len = snprintf(text, n, "id: %lld\nevent: log\ndata: %s\n\n", (long long)seq, data);
		ok = stream_write(s, text, (size_t)len);
		if (ok)
			s->last = seq;
	}
	free(text);
	free(data);
	return ok;
}

static int64_t
seq_of(const json_t *ev)
{
	json_t *v = json_object_get(ev, "seq");
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static void
stream_gone(struct hreq *h)
{
	/* A request on its way ends it when its answer comes. */
	if (h->waiting == 0)
		web_reply_raw(h, 200, NULL, 0);
}

/* The answer to a history request: the events above what the stream has, then more
 * history while the shared follow is ahead of it. */
static void
history_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	struct stream *s = h->ctx;
	h->waiting--;
	s->history = false;
	web_note_reply(h->con, h->session, r);
	if (s->ended && s->reaped) {
		stream_end(s);
		return;
	}
	if (h->gone || h->req == NULL) {
		stream_end(s);
		return;
	}
	if (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		int st = web_status_of(r);
		if (st == 401 || st == 403) {
			if (stream_write(s, END_TEXT, strlen(END_TEXT)))
				stream_end(s);
			return;
		}
		(void)err;
		return;     /* the daemon may be back later: the follow carries on */
	}
	json_t *a = web_reply_parse(r);
	size_t i, n = json_array_size(a);
	json_t *ev;
	json_array_foreach(a, i, ev) {
		int64_t seq = seq_of(ev);
		if (seq > s->last && !stream_event(s, ev, seq)) {
			json_decref(a);
			return;
		}
	}
	json_decref(a);
	if (n >= EVENTS_HISTORY || (s->all->follow_ready && s->all->last_seq > s->last))
		stream_history(s);
}

static void
stream_history(struct stream *s)
{
	Rogatory__Ctl__V1__LogRequest l = ROGATORY__CTL__V1__LOG_REQUEST__INIT;
	l.after_seq = s->last;
	l.limit = EVENTS_HISTORY;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_LOG;
	req.log = &l;
	s->history = true;
	if (web_ask(s->h, &req, false, history_reply) != 0)
		return;     /* answered: the stream ended */
}

static void
check_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	struct stream *s = h->ctx;
	(void)err;
	h->waiting--;
	s->checking = false;
	web_note_reply(h->con, h->session, r);
	if (s->ended && s->reaped) {
		stream_end(s);
		return;
	}
	int st = web_status_of(r);
	if (h->gone || h->req == NULL) {
		stream_end(s);
	} else if (st == 401 || st == 403) {
		if (stream_write(s, END_TEXT, strlen(END_TEXT)))
			stream_end(s);
	}
}

static void
stream_check(struct stream *s)
{
	if (s->checking || !s->live)
		return;
	Rogatory__Ctl__V1__ConsoleWhoamiRequest w = ROGATORY__CTL__V1__CONSOLE_WHOAMI_REQUEST__INIT;
	w.touch = false;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_WHOAMI;
	req.console_whoami = &w;
	s->checking = true;
	web_ask(s->h, &req, false, check_reply);
}

/* ---- the shared follow ---- */

static void
follow_dispatch(struct console_streams *all, const json_t *ev)
{
	int64_t seq = seq_of(ev);
	if (seq < 0)
		return;
	if (seq > all->last_seq)
		all->last_seq = seq;
	struct stream *next;
	for (struct stream *s = all->list; s != NULL; s = next) {
		next = s->next;
		if (!s->live || s->history || s->ended)
			continue;
		if (s->last < 0)
			s->last = seq - 1;
		if (seq > s->last)
			stream_event(s, ev, seq);
	}
}

static void
follow_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct console_streams *all = arg;
	if (all->n > 0 && all->follow == NULL)
		follow_start(all);
}

static void
follow_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct console_streams *all = arg;
	if (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		log_warn("console: the delivery log's follow ended: %s", r == NULL ? err
		    : "the daemon refused it");
		cclient_free(all->follow);
		all->follow = NULL;
		all->follow_ready = false;
		follow_later(all);
		return;
	}
	all->retry_s = EVENTS_RETRY_S;
	json_t *j = web_reply_parse(r);
	if (json_is_array(j)) {
		/* The first answer: the newest event (or none), or what was missed. */
		size_t i;
		json_t *ev;
		json_array_foreach(j, i, ev) {
			int64_t seq = seq_of(ev);
			if (!all->follow_ready) {
				if (seq > all->last_seq)
					all->last_seq = seq;
			} else {
				follow_dispatch(all, ev);
			}
		}
		all->follow_ready = true;
		/* Streams that start now begin here; one whose history stopped short of it
		 * (an event committed between the two queries) asks for the rest. */
		struct stream *next;
		for (struct stream *s = all->list; s != NULL; s = next) {
			next = s->next;
			if (s->last < 0)
				s->last = all->last_seq;
			else if (s->live && !s->history && s->last < all->last_seq)
				stream_history(s);
		}
	} else if (json_is_object(j)) {
		follow_dispatch(all, j);
	}
	json_decref(j);
}

static void
follow_start(struct console_streams *all)
{
	char err[256];
	all->follow = cclient_new(all->con->base, all->con->cfg->socket, err, sizeof(err));
	if (all->follow == NULL) {
		log_warn("console: %s", err);
		follow_later(all);
		return;
	}
	Rogatory__Ctl__V1__LogRequest l = ROGATORY__CTL__V1__LOG_REQUEST__INIT;
	l.follow = true;
	/* Reopened: from what was seen; first: the newest event only (its seq). */
	bool again = all->last_seq > 0;
	l.after_seq = again ? all->last_seq : -1;
	l.limit = again ? EVENTS_HISTORY : 1;
	all->follow_ready = false;
	if (again)
		all->follow_ready = true;   /* its history is dispatched, not taken as the start */
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_LOG;
	req.log = &l;
	if (cclient_call(all->follow, &req, follow_reply, all, true) == 0) {
		cclient_free(all->follow);
		all->follow = NULL;
		follow_later(all);
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct console_streams *all = arg;
	all->ticks++;
	struct stream *next;
	for (struct stream *s = all->list; s != NULL; s = next) {
		next = s->next;
		if (!s->live || s->ended)
			continue;
		if (all->ticks % 3 == 0 && !stream_write(s, ": keep-alive\n\n", 14))
			continue;
		/* One re-check per session: the first of its streams in the list asks. */
		bool first = true;
		for (const struct stream *o = all->list; o != s && first; o = o->next)
			if (o->live && !o->ended && web_token_eq(o->h->session, s->h->session))
				first = false;
		if (first)
			stream_check(s);
	}
}

/* The streams marked ended get the last words and close. */
static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct console_streams *all = arg;
	struct stream *next;
	for (struct stream *s = all->list; s != NULL; s = next) {
		next = s->next;
		if (!s->ended || s->reaped)
			continue;
		s->reaped = true;
		/* Ending it may free others (its connection's): start over. A stream still
		 * waiting for a reply that cannot be written to ends with that reply. */
		if (s->live) {
			if (stream_write(s, END_TEXT, strlen(END_TEXT)))
				web_reply_raw(s->h, 200, NULL, 0);
		} else {
			web_error(s->h, 401, "session-ended", "the console session ended");
		}
		next = all->list;
	}
}

void
sse_session_ended(struct console *con, const char *session)
{
	struct console_streams *all = con->streams;
	if (all == NULL || session == NULL || session[0] == '\0')
		return;
	bool any = false;
	for (struct stream *s = all->list; s != NULL; s = s->next)
		if (!s->ended && web_token_eq(s->h->session, session)) {
			s->ended = true;
			any = true;
		}
	/* Closed from the loop, not from inside the reply being handled now. */
	if (any)
		event_active(all->reap, EV_TIMEOUT, 0);
}

static struct console_streams *
streams_of(struct console *con)
{
	if (con->streams != NULL)
		return con->streams;
	struct console_streams *all = calloc(1, sizeof(*all));
	if (all == NULL)
		return NULL;
	all->con = con;
	all->tick = event_new(con->base, -1, EV_PERSIST, tick_cb, all);
	all->retry = evtimer_new(con->base, follow_retry_cb, all);
	all->reap = event_new(con->base, -1, 0, reap_cb, all);
	if (all->tick == NULL || all->retry == NULL || all->reap == NULL) {
		if (all->tick != NULL)
			event_free(all->tick);
		if (all->retry != NULL)
			event_free(all->retry);
		if (all->reap != NULL)
			event_free(all->reap);
		free(all);
		return NULL;
	}
	unsigned ms = con->sse_tick_ms != 0 ? con->sse_tick_ms : EVENTS_TICK_S * 1000;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(all->tick, &tv);
	con->streams = all;
	return all;
}

/* The session is good: the stream starts. */
static void
open_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	struct stream *s = h->ctx;
	h->waiting--;
	if (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK || h->gone ||
	    h->req == NULL) {
		web_reply_refusal(h, r, err);
		return;
	}
	if (s->ended) {
		web_error(h, 401, "session-ended", "the console session ended");
		return;
	}
	web_security_headers(h->req, true);
	struct evkeyvalq *out = evhttp_request_get_output_headers(h->req);
	evhttp_add_header(out, "Content-Type", "text/event-stream; charset=utf-8");
	evhttp_add_header(out, "X-Accel-Buffering", "no");
	evhttp_send_reply_start(h->req, 200, "OK");
	h->streaming = true;
	s->live = true;
	/* The browser sends nothing more: no read time-out, a write one. */
	struct evhttp_connection *evcon = evhttp_request_get_connection(h->req);
	struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	if (bev != NULL) {
		struct timeval wtv = {EVENTS_WRITE_S, 0};
		bufferevent_set_timeouts(bev, NULL, &wtv);
	}
	if (!stream_write(s, "retry: 3000\n\n", 13))
		return;
	struct console_streams *all = s->all;
	if (all->follow == NULL)
		follow_start(all);
	if (s->last < 0 && all->follow_ready)
		s->last = all->last_seq;
	if (s->last >= 0 && (!all->follow_ready || all->last_seq > s->last))
		stream_history(s);
}

static void
head_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	h->waiting--;
	if (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK ||
	    h->req == NULL) {
		web_reply_refusal(h, r, err);
		return;
	}
	web_security_headers(h->req, true);
	web_send(h->req, 200, "text/event-stream; charset=utf-8", NULL, 0, true);
	h->req = NULL;
	web_hreq_free(h);
}

void
sse_open(struct hreq *h, const struct evkeyvalq *q)
{
	struct console_streams *all = streams_of(h->con);
	if (all == NULL) {
		web_error(h, 503, "busy", "out of memory");
		return;
	}
	if (h->head) {
		/* HEAD opens no stream: the session's answer, headers only. */
		Rogatory__Ctl__V1__ConsoleWhoamiRequest w =
		    ROGATORY__CTL__V1__CONSOLE_WHOAMI_REQUEST__INIT;
		Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_WHOAMI;
		req.console_whoami = &w;
		web_ask(h, &req, false, head_reply);
		return;
	}
	if (all->n >= CONSOLE_STREAMS_MAX) {
		web_error(h, 503, "too-many-streams", "at most %d event streams at once",
		    CONSOLE_STREAMS_MAX);
		return;
	}
	unsigned mine = 0;
	for (const struct stream *o = all->list; o != NULL; o = o->next)
		if (!o->ended && web_token_eq(o->h->session, h->session))
			mine++;
	if (mine >= CONSOLE_SESSION_STREAMS_MAX) {
		web_error(h, 503, "too-many-streams", "at most %d event streams per session",
		    CONSOLE_SESSION_STREAMS_MAX);
		return;
	}
	const char *after = web_param(q, "after");
	if ((after == NULL || after[0] == '\0') && h->req != NULL)
		after = evhttp_find_header(evhttp_request_get_input_headers(h->req), "Last-Event-ID");
	int64_t last = -1;
	if (after != NULL && after[0] != '\0') {
		char *end;
		long long v = strlen(after) <= 19 ? strtoll(after, &end, 10) : -1;
		if (v < 0 || *end != '\0') {
			web_error(h, 400, "bad-request", "after: an event's seq (0 or more)");
			return;
		}
		last = v;
	}
	struct stream *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		web_error(h, 503, "busy", "out of memory");
		return;
	}
	s->all = all;
	s->h = h;
	s->last = last;
	s->next = all->list;
	if (all->list != NULL)
		all->list->prev = s;
	all->list = s;
	all->n++;
	if (h->ctx_free != NULL)
		h->ctx_free(h->ctx);
	h->ctx = s;
	h->ctx_free = stream_free;
	h->on_gone = stream_gone;
	Rogatory__Ctl__V1__ConsoleWhoamiRequest w = ROGATORY__CTL__V1__CONSOLE_WHOAMI_REQUEST__INIT;
	w.touch = true;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_WHOAMI;
	req.console_whoami = &w;
	web_ask(h, &req, false, open_reply);
}

unsigned
sse_count(const struct console *con)
{
	return con->streams != NULL ? con->streams->n : 0;
}

void
sse_stop(struct console *con)
{
	struct console_streams *all = con->streams;
	if (all == NULL)
		return;
	while (all->list != NULL)
		stream_end(all->list);
	cclient_free(all->follow);
	event_free(all->tick);
	event_free(all->retry);
	event_free(all->reap);
	free(all);
	con->streams = NULL;
}
