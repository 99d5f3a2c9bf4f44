/*
 * upload: the chunked upload relay of rogatory-console. One control connection per upload
 * (closing it drops whatever the daemon staged): the SendRequest with the attachments
 * announced, then a barrier request on the same connection, so that a refusal the daemon
 * gives at once (it answers the send before the barrier) is the answer to the browser's
 * POST /api/send; otherwise the browser gets {"upload": U}, 128 random bits bound to its
 * session and CSRF token. Each POST /api/upload chunk must be the next one expected, is
 * forwarded as one UploadRequest, and is answered only once it has left for the daemon
 * (the connection's output is empty: a daemon that stops reading stops the browser); the
 * last one waits for the daemon's answer to the send. An upload without a chunk for
 * CONSOLE_UPLOAD_IDLE_S is dropped; a chunk (the last included) or a send the daemon
 * does not answer within CONSOLE_DEADLINE_S is 504 and the upload dropped. Any reply on
 * the upload's connection to neither the send nor the barrier (a chunk refused: the
 * session ended, CSRF; or request_id 0) ends the upload with that refusal: the chunk
 * waiting gets it (else the next one), the connection is closed and the slot freed at
 * once. Besides the CONSOLE_UPLOADS_MAX in all, a session has at most
 * CONSOLE_SESSION_UPLOADS_MAX. What is sent is first checked as rogatoryd checks it.
 */
#include "console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "log.h"
#include "text.h"

static void
bin(ProtobufCBinaryData *b, const char *s)
{
	b->data = (uint8_t *)s;
	b->len = s != NULL ? strlen(s) : 0;
}


struct console_upload {
	struct console *con;
	struct console_upload *prev, *next;
	char id[CONSOLE_TOKEN_LEN + 1];         /* U: what the browser names it by */
	char session[CONSOLE_TOKEN_LEN + 1];
	char csrf[CONSOLE_TOKEN_LEN + 1];
	char msg_id[UUID_TEXT_LEN + 1];
	struct cclient *cc;
	uint64_t send_id;
	bool accepted;              /* the barrier answered before the send: uploading */
	bool answered;              /* the send's reply came */
	int status;                 /* its HTTP status */
	json_t *answer;             /* its answer: {"message": ...} or an error */
	size_t natt;
	uint64_t sizes[WIRE_ATTACHMENTS_MAX];
	uint32_t index;             /* the next chunk expected */
	uint64_t offset;
	uint64_t total, received;
	struct hreq *waiting;       /* the browser request waiting for us */
	struct event *idle;
	bool ended;                 /* refused mid-way: its connection closed, its slot free;
	                             * kept (until the idle time) to answer the next chunk */
};

static unsigned
upload_ms(const struct console *con)
{
	return con->upload_idle_ms != 0 ? con->upload_idle_ms : CONSOLE_UPLOAD_IDLE_S * 1000;
}

static unsigned
deadline_ms(const struct console *con)
{
	return con->deadline_ms != 0 ? con->deadline_ms : CONSOLE_DEADLINE_S * 1000;
}

static void
upload_free(struct console_upload *u)
{
	struct console *con = u->con;
	if (u->prev != NULL)
		u->prev->next = u->next;
	else
		con->uploads = u->next;
	if (u->next != NULL)
		u->next->prev = u->prev;
	if (!u->ended)
		con->nuploads--;
	cclient_free(u->cc);
	if (u->idle != NULL)
		event_free(u->idle);
	json_decref(u->answer);
	free(u);
}

/* The waiting browser request gets the send's answer, and the upload ends. */
static void
upload_finish(struct console_upload *u)
{
	struct hreq *h = u->waiting;
	u->waiting = NULL;
	json_t *a = u->answer;
	u->answer = NULL;
	int st = u->status;
	upload_free(u);
	if (h != NULL)
		web_reply_json(h, st, a);
	else
		json_decref(a);
}

static void
upload_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct console_upload *u = arg;
	if (u->waiting != NULL) {
		/* A chunk (the last one, or one the daemon does not take) waited too long. */
		struct hreq *h = u->waiting;
		unsigned s = deadline_ms(u->con) / 1000;
		char id[sizeof(u->msg_id)];
		memcpy(id, u->msg_id, sizeof(id));     /* the answer below outlives u */
		u->waiting = NULL;
		log_info("console: upload of %s dropped: rogatoryd did not answer in %u s", id, s);
		upload_free(u);
		/* After the last chunk the daemon may still queue it: never "failed". */
		web_error(h, 504, "daemon-timeout", "rogatoryd did not answer in %u s: whether "
		    "message %s was queued is not known; look at the messages before sending it "
		    "again", s, id);
		return;
	}
	if (!u->ended)
		log_info("console: upload of %s dropped after %u s without a chunk (the daemon "
		    "drops what it staged)", u->msg_id, upload_ms(u->con) / 1000);
	upload_free(u);
}

static void
upload_arm_ms(struct console_upload *u, unsigned ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(u->idle, &tv);
}

static void
upload_arm(struct console_upload *u)
{
	upload_arm_ms(u, upload_ms(u->con));
}

/* The upload is over before its end (refused, its connection lost): the chunk waiting
 * gets the answer now, else the next one will (until the idle time); the connection is
 * closed (the daemon drops what it staged) and the slot is free at once. */
static void
upload_end(struct console_upload *u)
{
	if (u->waiting != NULL || !u->accepted) {
		upload_finish(u);
		return;
	}
	cclient_free(u->cc);
	u->cc = NULL;
	if (!u->ended) {
		u->ended = true;
		u->con->nuploads--;
	}
	upload_arm(u);
}

static json_t *
refusal_json(const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	if (r == NULL)
		return json_pack("{s:s, s:s}", "error", "daemon-unreachable", "text",
		    err != NULL ? err : "the control connection ended");
	json_t *o = json_object();
	json_object_set_new(o, "error", json_stringn_nocheck((const char *)r->error_code.data,
	    r->error_code.len));
	json_object_set_new(o, "text", json_stringn_nocheck((const char *)r->error_text.data,
	    r->error_text.len));
	return o;
}

static void
upload_send_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct console_upload *u = arg;
	if (u->answered)
		return;
	u->answered = true;
	u->status = web_status_of(r);
	web_note_reply(u->con, u->session, r);
	if (r != NULL && r->code == ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		json_t *m = web_reply_parse(r);
		u->answer = json_pack("{s:o}", "message", m != NULL ? m : json_null());
	} else {
		u->answer = refusal_json(r, err);
		log_info("console: upload of %s ended: %s", u->msg_id,
		    json_string_value(json_object_get(u->answer, "text")));
	}
	/* Before the barrier: refused at once (or nothing to upload). While a chunk waits
	 * for its drain: that chunk answers. */
	if (u->waiting != NULL || !u->accepted)
		upload_finish(u);
	else if (u->status != 200)
		upload_end(u);
}

/* A reply to neither the send nor the barrier: a chunk refused (session ended, CSRF,
 * no such upload...), or request_id 0. The upload ends with that refusal. */
static void
upload_orphan(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct console_upload *u = arg;
	if (u->answered)
		return;
	if (r != NULL && r->code == ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		/* Not an answer we know of: the upload cannot be trusted to go on. */
		u->answered = true;
		u->status = 502;
		u->answer = json_pack("{s:s, s:s}", "error", "daemon-unexpected", "text",
		    "an answer to no request of the upload");
	} else {
		u->answered = true;
		u->status = web_status_of(r);
		u->answer = refusal_json(r, err);
		web_note_reply(u->con, u->session, r);
	}
	log_info("console: upload of %s ended: %s", u->msg_id,
	    json_string_value(json_object_get(u->answer, "text")));
	upload_end(u);
}

static void
upload_barrier_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct console_upload *u = arg;
	(void)err;
	if (u->answered || r == NULL)
		return;     /* the send's answer (or the failure) finishes it */
	u->accepted = true;
	struct hreq *h = u->waiting;
	u->waiting = NULL;
	upload_arm(u);
	if (h != NULL)
		web_reply_json(h, 200, json_pack("{s:s, s:s, s:I}", "upload", u->id, "id", u->msg_id,
		    "size", (json_int_t)u->total));
}

void
upload_start(struct hreq *h, Rogatory__Ctl__V1__SendRequest *s)
{
	struct console *con = h->con;
	if (con->nuploads >= CONSOLE_UPLOADS_MAX) {
		web_error(h, 409, "busy", "at most %d uploads at once; try again",
		    CONSOLE_UPLOADS_MAX);
		return;
	}
	unsigned mine = 0;
	for (const struct console_upload *x = con->uploads; x != NULL; x = x->next)
		if (!x->ended && web_token_eq(x->session, h->session))
			mine++;
	if (mine >= CONSOLE_SESSION_UPLOADS_MAX) {
		web_error(h, 409, "busy", "at most %d uploads at once per session; try again",
		    CONSOLE_SESSION_UPLOADS_MAX);
		return;
	}
	struct console_upload *u = calloc(1, sizeof(*u));
	char err[256] = "out of memory";
	uint8_t rnd[CONSOLE_TOKEN_LEN / 2];
	if (u == NULL || text_uuid_random(u->msg_id) != 0 ||
	    getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		free(u);
		web_error(h, 503, "busy", "no randomness for an upload");
		return;
	}
	/* U: 128 random bits of its own, never the message id. */
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(u->id + 2 * i, 3, "%02x", rnd[i]);
	u->con = con;
	memcpy(u->session, h->session, sizeof(u->session));
	memcpy(u->csrf, h->csrf, sizeof(u->csrf));
	u->natt = s->n_attachments;
	for (size_t i = 0; i < u->natt; i++) {
		u->sizes[i] = s->attachments[i]->size;
		u->total += u->sizes[i];
	}
	while (u->index < u->natt && u->sizes[u->index] == 0)
		u->index++;
	u->idle = evtimer_new(con->base, upload_idle_cb, u);
	u->cc = cclient_new(con->base, con->cfg->socket, err, sizeof(err));
	u->next = con->uploads;
	if (con->uploads != NULL)
		con->uploads->prev = u;
	con->uploads = u;
	con->nuploads++;
	if (u->idle == NULL || u->cc == NULL) {
		upload_free(u);
		web_error(h, 502, "daemon-unreachable", "%s", err);
		return;
	}
	cclient_on_orphan(u->cc, upload_orphan, u);
	bin(&s->message_id, u->msg_id);
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_SEND;
	req.send = s;
	bin(&req.session, u->session);
	bin(&req.csrf, u->csrf);
	/* What rogatoryd would refuse without knowing which request it was is refused here. */
	if (cclient_check(&req, err, sizeof(err)) != 0) {
		upload_free(u);
		web_error(h, 400, "bad-request", "%s", err);
		return;
	}
	u->send_id = cclient_call(u->cc, &req, upload_send_reply, u, false);
	/* The barrier: answered after the send only when the send was not refused at once. */
	Rogatory__Ctl__V1__ConsoleWhoamiRequest w = ROGATORY__CTL__V1__CONSOLE_WHOAMI_REQUEST__INIT;
	Rogatory__Ctl__V1__Request b = ROGATORY__CTL__V1__REQUEST__INIT;
	b.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_WHOAMI;
	b.console_whoami = &w;
	bin(&b.session, u->session);
	if (u->send_id == 0 || cclient_call(u->cc, &b, upload_barrier_reply, u, false) == 0) {
		upload_free(u);
		web_error(h, 502, "daemon-unreachable", "rogatoryd cannot be reached on %s",
		    con->cfg->socket);
		return;
	}
	u->waiting = h;
	upload_arm_ms(u, deadline_ms(con));
}

static void
upload_drained(void *arg)
{
	struct console_upload *u = arg;
	struct hreq *h = u->waiting;
	if (h == NULL)
		return;
	if (cclient_broken(u->cc) && !u->answered) {
		u->answered = true;
		u->status = 502;
		u->answer = json_pack("{s:s, s:s}", "error", "daemon-unreachable", "text",
		    "the control connection of the upload ended");
	}
	if (u->answered) {
		upload_finish(u);
		return;
	}
	if (u->received == u->total) {
		/* The last chunk: the send's answer answers it, within the deadline. */
		upload_arm_ms(u, deadline_ms(u->con));
		return;
	}
	u->waiting = NULL;
	upload_arm(u);
	web_reply_json(h, 200, json_pack("{s:I}", "received", (json_int_t)u->received));
}

void
upload_chunk(struct hreq *h, const struct evkeyvalq *q)
{
	const char *uid = web_param(q, "u");
	struct console_upload *u = NULL;
	for (struct console_upload *x = h->con->uploads; uid != NULL && x != NULL; x = x->next)
		if (web_token_eq(x->id, uid))
			u = x;
	if (u == NULL) {
		web_error(h, 404, "no-upload", "no upload in progress with that id (they end "
		    "after %d s without a chunk)", CONSOLE_UPLOAD_IDLE_S);
		return;
	}
	if (!web_token_eq(u->session, h->session) || !web_token_eq(u->csrf, h->csrf)) {
		web_error(h, 403, "forbidden", "that upload belongs to another session");
		return;
	}
	if (u->waiting != NULL) {
		web_error(h, 409, "busy", "one chunk at a time");
		return;
	}
	if (u->answered) {
		u->waiting = h;
		upload_finish(u);
		return;
	}
	uint64_t index, offset;
	char *end;
	const char *si = web_param(q, "index"), *so = web_param(q, "offset");
	index = si != NULL && si[0] != '\0' && strlen(si) <= 10 ? strtoull(si, &end, 10) : ~0ULL;
	if (si != NULL && index != ~0ULL && *end != '\0')
		index = ~0ULL;
	offset = so != NULL && so[0] != '\0' && strlen(so) <= 20 ? strtoull(so, &end, 10) : ~0ULL;
	if (so != NULL && offset != ~0ULL && *end != '\0')
		offset = ~0ULL;
	if (index != u->index || offset != u->offset || u->index >= u->natt) {
		web_reply_json(h, 409, json_pack("{s:s, s:s, s:I, s:I}", "error", "out-of-order",
		    "text", "not the chunk expected next", "index", (json_int_t)u->index, "offset",
		    (json_int_t)u->offset));
		return;
	}
	struct evbuffer *in = h->req != NULL ? evhttp_request_get_input_buffer(h->req) : NULL;
	size_t len = in != NULL ? evbuffer_get_length(in) : 0;
	if (len == 0 || len > CONSOLE_CHUNK_MAX || len > u->sizes[u->index] - u->offset) {
		web_error(h, 400, "bad-chunk", "a chunk is 1 to %u bytes, within its attachment",
		    CONSOLE_CHUNK_MAX);
		return;
	}
	Rogatory__Ctl__V1__UploadRequest up = ROGATORY__CTL__V1__UPLOAD_REQUEST__INIT;
	bin(&up.message_id, u->msg_id);
	up.attachment_index = u->index;
	up.offset = u->offset;
	up.data.data = evbuffer_pullup(in, (ev_ssize_t)len);
	up.data.len = len;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_UPLOAD;
	req.upload = &up;
	bin(&req.session, u->session);
	bin(&req.csrf, u->csrf);
	char err[256];
	if (cclient_check(&req, err, sizeof(err)) != 0) {
		web_error(h, 400, "bad-request", "%s", err);
		return;
	}
	if (cclient_write(u->cc, &req) != 0) {
		web_error(h, 502, "daemon-unreachable", "the control connection of the upload "
		    "ended");
		upload_free(u);
		return;
	}
	u->received += len;
	u->offset += len;
	while (u->index < u->natt && u->offset == u->sizes[u->index]) {
		u->index++;
		u->offset = 0;
	}
	u->waiting = h;
	/* The chunk is answered when it has left (or the send's answer comes, for the last
	 * one): within the deadline either way. */
	upload_arm_ms(u, deadline_ms(u->con));
	cclient_on_drained(u->cc, upload_drained, u);
}

void
upload_stop(struct console *con)
{
	struct console_upload *next;
	for (struct console_upload *u = con->uploads; u != NULL; u = next) {
		next = u->next;
		struct hreq *h = u->waiting;
		u->waiting = NULL;
		upload_free(u);
		if (h != NULL)
			web_error(h, 503, "stopping", "the console is stopping");
	}
}
