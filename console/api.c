/*
 * api: the console's JSON routes that forward to rogatoryd: the login link, the
 * session's own view, the lists and single objects the daemon answers as JSON (passed
 * on as they are), the operators' actions, and the evidence export (its files streamed
 * part by part, one daemon reply at a time: a browser that reads slowly holds at most
 * one 256 KiB part). Every parameter is checked here (ids, authority ids, names,
 * numbers) before anything is asked; the daemon decides who may do what.
 */
#include "console.h"

#include <errno.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "log.h"
#include "text.h"

/* ---- parameters ---- */

static bool
is_uuid(const char *s)
{
	return s != NULL && text_uuid_valid((const uint8_t *)s, strlen(s));
}

static bool
is_authority(const char *s)
{
	return s != NULL && text_authority_id_valid((const uint8_t *)s, strlen(s));
}

/* A short name ("queued", "in", "mla"): [a-z0-9-]{1,max}. */
static bool
is_name(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* A decimal number up to max; "" or NULL is 0. 0 / -1. */
static int
number(const char *s, uint64_t max, uint64_t *out)
{
	*out = 0;
	if (s == NULL || s[0] == '\0')
		return 0;
	if (strlen(s) > 20)
		return -1;
	for (const char *p = s; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	unsigned long long v = strtoull(s, NULL, 10);
	if (errno != 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static void
bin(ProtobufCBinaryData *b, const char *s)
{
	b->data = (uint8_t *)s;
	b->len = s != NULL ? strlen(s) : 0;
}

/* A string member of the POST body; NULL when absent or not a string. */
static const char *
body_str(const struct hreq *h, const char *key)
{
	return json_string_value(json_object_get(h->body, key));
}

/* ---- forwarding ---- */

static void
forward_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	h->waiting--;
	if (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		web_reply_refusal(h, r, err);
		return;
	}
	web_reply_raw(h, 200, r->json.data, r->json.len);
}

static void
forward(struct hreq *h, Rogatory__Ctl__V1__Request *req, bool mutating)
{
	web_ask(h, req, mutating, forward_reply);
}

#define REQ(name, field, type, INIT, OPCASE) \
	type name = INIT; \
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT; \
	req.op_case = OPCASE; \
	req.field = &name

/* ---- login ---- */

#define LOGIN_MARK "<!--form-->"

/* The login page; with a token its form (a button that POSTs it), with refused the
 * refusal. No script is needed for either: login.html has LOGIN_MARK where they go. */
static void
login_page(struct hreq *h, int code, const char *token, bool refused)
{
	const struct console_asset *a = asset_find("login.html");
	if (h->req == NULL || a == NULL) {
		web_page(h, "login.html", code);
		return;
	}
	const char *page = (const char *)a->data;
	const char *mark = strstr(page, LOGIN_MARK);
	char ins[512] = "";
	if (token != NULL)  /* a token is 32 hex digits: nothing to escape */
		snprintf(ins, sizeof(ins), "<form id=\"signin\" method=\"post\" action=\"/login\">"
		    "<input type=\"hidden\" name=\"token\" value=\"%s\">"
		    "<button type=\"submit\" data-i18n=\"login.signin\">Sign in</button></form>",
		    token);
	else if (refused)
		snprintf(ins, sizeof(ins), "<p id=\"refused\" class=\"error\" role=\"alert\" "
		    "data-i18n=\"login.refused\">This login link is not valid.</p>");
	struct evbuffer *b = evbuffer_new();
	if (b == NULL || mark == NULL) {
		if (b != NULL)
			evbuffer_free(b);
		web_page(h, "login.html", code);
		return;
	}
	if (!h->head) {
		evbuffer_add(b, page, (size_t)(mark - page));
		evbuffer_add(b, ins, strlen(ins));
		evbuffer_add(b, mark + strlen(LOGIN_MARK),
		    a->len - (size_t)(mark - page) - strlen(LOGIN_MARK));
	}
	web_security_headers(h->req, true);
	evhttp_add_header(evhttp_request_get_output_headers(h->req), "Content-Type",
	    "text/html; charset=utf-8");
	evhttp_send_reply(h->req, code, code == 200 ? "OK" : code == 403 ? "Forbidden"
	    : code == 429 ? "Too Many Requests" : "Bad Gateway", b);
	evbuffer_free(b);
	h->req = NULL;
	web_hreq_free(h);
}

static void
login_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	(void)err;
	h->waiting--;
	if (r == NULL) {
		login_page(h, 502, NULL, false);
		return;
	}
	json_t *j = r->code == ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK ? web_reply_parse(r)
	                                                                    : NULL;
	const char *s = json_string_value(json_object_get(j, "session"));
	if (s == NULL || !web_token_valid(s) || h->req == NULL) {
		json_decref(j);
		login_page(h, r->code == ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK ? 502 : 403,
		    NULL, true);
		return;
	}
	char cookie[160];
	snprintf(cookie, sizeof(cookie), "%s=%s; HttpOnly; SameSite=Strict; Path=/%s",
	    web_cookie_name(h->con), s, h->con->tls ? "; Secure" : "");
	json_decref(j);
	struct evkeyvalq *out = evhttp_request_get_output_headers(h->req);
	web_security_headers(h->req, true);
	evhttp_add_header(out, "Set-Cookie", cookie);
	evhttp_add_header(out, "Location", "/");
	evhttp_send_reply(h->req, 303, "See Other", NULL);
	h->req = NULL;
	web_hreq_free(h);
}

/* The POST comes from a page of this console: its Origin is ours (scheme, Host), or it
 * has none (or "null") and Sec-Fetch-Site says same-origin. */
static bool
login_same_origin(const struct hreq *h)
{
	const struct evkeyvalq *in = evhttp_request_get_input_headers(h->req);
	const char *origin = evhttp_find_header(in, "Origin");
	const char *host = evhttp_find_header(in, "Host");
	/* Our pages say Referrer-Policy: no-referrer, under which a browser posts a form
	 * with "Origin: null": then its Sec-Fetch-Site decides, as when there is none. */
	if (origin == NULL || strcmp(origin, "null") == 0) {
		const char *site = evhttp_find_header(in, "Sec-Fetch-Site");
		return site != NULL && strcmp(site, "same-origin") == 0;
	}
	if (host == NULL || host[0] == '\0')
		return false;
	const char *scheme = h->con->tls ? "https://" : "http://";
	size_t sl = strlen(scheme);
	return strncmp(origin, scheme, sl) == 0 && strcmp(origin + sl, host) == 0;
}

/* Refills b (rate a second, at most burst) up to now and takes one token if it has one. */
static bool
bucket_take(struct console_bucket *b, int64_t now, double rate, double burst)
{
	if (b->ms == 0) {
		b->tokens = burst;
	} else {
		b->tokens += (double)(now - b->ms) * rate / 1000.0;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	b->ms = now;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

/* The token buckets of redemptions: CONSOLE_LOGIN_RATE a second per client address
 * (CONSOLE_LOGIN_BURST at once; the CONSOLE_LOGIN_ADDRS addresses seen last are
 * remembered, the least recent one's bucket is reused), and CONSOLE_LOGIN_ALL_RATE from
 * all together, which bounds what reaches the daemon and its log. false (a 429, logged at
 * most once a minute) when either is empty: a client that floods /login blocks itself,
 * not the officers at other addresses. */
static bool
login_allowed(struct hreq *h)
{
	struct console *con = h->con;
	int64_t now = web_now_ms();
	char *addr = NULL;
	ev_uint16_t port = 0;
	struct evhttp_connection *evc = evhttp_request_get_connection(h->req);
	if (evc != NULL)
		evhttp_connection_get_peer(evc, &addr, &port);
	struct console_bucket *b = NULL, *oldest = &con->login_addr[0];
	for (size_t i = 0; i < CONSOLE_LOGIN_ADDRS; i++) {
		struct console_bucket *c = &con->login_addr[i];
		if (addr != NULL && c->addr[0] != '\0' && strcmp(c->addr, addr) == 0) {
			b = c;
			break;
		}
		if (c->addr[0] == '\0' || c->ms < oldest->ms)
			oldest = c;
	}
	if (b == NULL) {
		b = oldest;
		memset(b, 0, sizeof(*b));
		snprintf(b->addr, sizeof(b->addr), "%s", addr != NULL ? addr : "?");
	}
	bool ok = bucket_take(b, now, CONSOLE_LOGIN_RATE, CONSOLE_LOGIN_BURST) &&
	    bucket_take(&con->login_all, now, CONSOLE_LOGIN_ALL_RATE, CONSOLE_LOGIN_ALL_BURST);
	if (!ok && (con->login_logged_ms == 0 || now - con->login_logged_ms >= 60000)) {
		con->login_logged_ms = now;
		log_warn("console: login redemptions from %s above %d a second (or from all above "
		    "%d): refused (429) for now (logged once a minute)", b->addr,
		    CONSOLE_LOGIN_RATE, CONSOLE_LOGIN_ALL_RATE);
	}
	return ok;
}

void
api_login(struct hreq *h, const struct evkeyvalq *q)
{
	if (h->req == NULL || evhttp_request_get_command(h->req) != EVHTTP_REQ_POST) {
		/* GET: the page; with a token, the form that redeems it (never redeemed here: a
		 * link another site makes the browser open logs nobody in). */
		const char *token = web_param(q, "token");
		if (token == NULL)
			login_page(h, 200, NULL, false);
		else if (!web_token_valid(token))
			login_page(h, 403, NULL, true);
		else
			login_page(h, 200, token, false);
		return;
	}
	if (!login_same_origin(h)) {
		web_error(h, 403, "cross-origin", "a login is posted from this console's own page");
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(h->req);
	size_t len = evbuffer_get_length(in);
	char body[256];
	struct evkeyvalq form;
	TAILQ_INIT(&form);
	const char *token = NULL;
	if (len < sizeof(body)) {
		evbuffer_copyout(in, body, len);
		body[len] = '\0';
		if (memchr(body, '\0', len) == NULL && evhttp_parse_query_str(body, &form) == 0)
			token = evhttp_find_header(&form, "token");
	}
	if (token == NULL || !web_token_valid(token)) {
		evhttp_clear_headers(&form);
		login_page(h, 403, NULL, true);
		return;
	}
	char tok[CONSOLE_TOKEN_LEN + 1];
	memcpy(tok, token, sizeof(tok));
	evhttp_clear_headers(&form);
	if (!login_allowed(h)) {
		web_error(h, 429, "too-many-logins", "too many logins at once; try again in a "
		    "few seconds");
		return;
	}
	REQ(x, console_redeem, Rogatory__Ctl__V1__ConsoleRedeemRequest,
	    ROGATORY__CTL__V1__CONSOLE_REDEEM_REQUEST__INIT,
	    ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_REDEEM);
	bin(&x.token, tok);
	/* A redemption acts for no session: whatever cookie came along stays out of it. */
	h->session[0] = '\0';
	web_ask(h, &req, false, login_reply);
}

/* ---- the session ---- */

static void
me_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	h->waiting--;
	json_t *j = r != NULL && r->code == ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK
	    ? web_reply_parse(r) : NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		web_reply_refusal(h, r, err);
		return;
	}
	/* The pages' default language when the browser asks for none the console has. */
	json_object_set_new(j, "language", json_string(h->con->cfg->language));
	web_reply_json(h, 200, j);
}

void
api_me(struct hreq *h, const struct evkeyvalq *q)
{
	(void)q;
	REQ(x, console_whoami, Rogatory__Ctl__V1__ConsoleWhoamiRequest,
	    ROGATORY__CTL__V1__CONSOLE_WHOAMI_REQUEST__INIT,
	    ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_WHOAMI);
	x.touch = true;
	web_ask(h, &req, false, me_reply);
}

static void
logout_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	h->waiting--;
	if (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		web_reply_refusal(h, r, err);
		return;
	}
	if (h->req != NULL) {
		char cookie[128];
		snprintf(cookie, sizeof(cookie), "%s=; HttpOnly; SameSite=Strict; Path=/; "
		    "Max-Age=0%s", web_cookie_name(h->con), h->con->tls ? "; Secure" : "");
		evhttp_add_header(evhttp_request_get_output_headers(h->req), "Set-Cookie", cookie);
	}
	web_reply_raw(h, 200, r->json.data, r->json.len);
}

void
api_logout(struct hreq *h, const struct evkeyvalq *q)
{
	(void)q;
	REQ(x, console_logout, Rogatory__Ctl__V1__ConsoleLogoutRequest,
	    ROGATORY__CTL__V1__CONSOLE_LOGOUT_REQUEST__INIT,
	    ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_LOGOUT);
	web_ask(h, &req, true, logout_reply);
}

/* ---- what the daemon answers as it is ---- */

void
api_status(struct hreq *h, const struct evkeyvalq *q)
{
	(void)q;
	REQ(x, status, Rogatory__Ctl__V1__StatusRequest, ROGATORY__CTL__V1__STATUS_REQUEST__INIT,
	    ROGATORY__CTL__V1__REQUEST__OP_STATUS);
	forward(h, &req, false);
}

void
api_peers(struct hreq *h, const struct evkeyvalq *q)
{
	(void)q;
	REQ(x, peers, Rogatory__Ctl__V1__PeersRequest, ROGATORY__CTL__V1__PEERS_REQUEST__INIT,
	    ROGATORY__CTL__V1__REQUEST__OP_PEERS);
	forward(h, &req, false);
}

void
api_alerts(struct hreq *h, const struct evkeyvalq *q)
{
	(void)q;
	REQ(x, alerts, Rogatory__Ctl__V1__AlertsRequest, ROGATORY__CTL__V1__ALERTS_REQUEST__INIT,
	    ROGATORY__CTL__V1__REQUEST__OP_ALERTS);
	forward(h, &req, false);
}

void
api_directory(struct hreq *h, const struct evkeyvalq *q)
{
	const char *id = web_param(q, "id");
	if (id != NULL && id[0] != '\0' && !is_authority(id)) {
		web_error(h, 400, "bad-request", "id: not an authority id");
		return;
	}
	REQ(x, directory, Rogatory__Ctl__V1__DirectoryRequest,
	    ROGATORY__CTL__V1__DIRECTORY_REQUEST__INIT, ROGATORY__CTL__V1__REQUEST__OP_DIRECTORY);
	bin(&x.authority_id, id);
	forward(h, &req, false);
}

void
api_authority(struct hreq *h, const struct evkeyvalq *q)
{
	const char *id = web_param(q, "id");
	if (!is_authority(id)) {
		web_error(h, 400, "bad-request", "id: not an authority id (like FR-MJ)");
		return;
	}
	REQ(x, authority, Rogatory__Ctl__V1__AuthorityRequest,
	    ROGATORY__CTL__V1__AUTHORITY_REQUEST__INIT, ROGATORY__CTL__V1__REQUEST__OP_AUTHORITY);
	bin(&x.authority_id, id);
	forward(h, &req, false);
}

void
api_stats(struct hreq *h, const struct evkeyvalq *q)
{
	const char *peer = web_param(q, "peer");
	int64_t since, until;
	if (web_time_param(web_param(q, "since"), &since) != 0 ||
	    web_time_param(web_param(q, "until"), &until) != 0) {
		web_error(h, 400, "bad-request", "since, until: an RFC 3339 date or time (UTC), "
		    "like 2026-01-01 or 2026-01-01T10:00:00Z");
		return;
	}
	if (peer != NULL && peer[0] != '\0' && !is_authority(peer)) {
		web_error(h, 400, "bad-request", "peer: not an authority id");
		return;
	}
	REQ(x, stats, Rogatory__Ctl__V1__StatsRequest, ROGATORY__CTL__V1__STATS_REQUEST__INIT,
	    ROGATORY__CTL__V1__REQUEST__OP_STATS);
	x.since_us = since;
	x.until_us = until;
	bin(&x.peer, peer);
	forward(h, &req, false);
}

void
api_messages(struct hreq *h, const struct evkeyvalq *q)
{
	const char *dir = web_param(q, "direction"), *peer = web_param(q, "peer"),
	           *state = web_param(q, "state"), *id = web_param(q, "id");
	uint64_t before, limit;
	if (dir != NULL && dir[0] != '\0' && strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0) {
		web_error(h, 400, "bad-request", "direction: in, out or empty");
		return;
	}
	if (peer != NULL && peer[0] != '\0' && !is_authority(peer)) {
		web_error(h, 400, "bad-request", "peer: not an authority id");
		return;
	}
	if (state != NULL && state[0] != '\0' && !is_name(state, 32)) {
		web_error(h, 400, "bad-request", "state: not a state name");
		return;
	}
	size_t idn = id != NULL ? strlen(id) : 0;
	for (size_t i = 0; i < idn && idn <= 36; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f') ||
		        id[i] == '-'))
			idn = 99;   /* ends the loop: refused below */
	if (idn > 36) {
		web_error(h, 400, "bad-request", "id: the start of a message id, [0-9a-f-]{1,36}");
		return;
	}
	if (number(web_param(q, "before"), UINT64_MAX, &before) != 0 ||
	    number(web_param(q, "limit"), 200, &limit) != 0) {
		web_error(h, 400, "bad-request", "before: a cursor; limit: 0 to 200");
		return;
	}
	REQ(x, messages, Rogatory__Ctl__V1__MessagesRequest,
	    ROGATORY__CTL__V1__MESSAGES_REQUEST__INIT, ROGATORY__CTL__V1__REQUEST__OP_MESSAGES);
	bin(&x.direction, dir);
	bin(&x.peer, peer);
	bin(&x.state, state);
	bin(&x.id_prefix, id);
	x.before = before;
	x.limit = (uint32_t)limit;
	forward(h, &req, false);
}

void
api_cases(struct hreq *h, const struct evkeyvalq *q)
{
	const char *dir = web_param(q, "dir"), *state = web_param(q, "state"),
	           *peer = web_param(q, "peer"), *kind = web_param(q, "kind"),
	           *overdue = web_param(q, "overdue");
	uint64_t within;
	if ((dir != NULL && dir[0] != '\0' && strcmp(dir, "incoming") != 0 &&
	        strcmp(dir, "outgoing") != 0) ||
	    (state != NULL && state[0] != '\0' && !is_name(state, 40)) ||
	    (kind != NULL && kind[0] != '\0' && !is_name(kind, 32)) ||
	    (peer != NULL && peer[0] != '\0' && !is_authority(peer)) ||
	    (overdue != NULL && overdue[0] != '\0' && strcmp(overdue, "1") != 0 &&
	        strcmp(overdue, "0") != 0) ||
	    number(web_param(q, "due_within"), 100ULL * 365 * 86400, &within) != 0) {
		web_error(h, 400, "bad-request", "dir: incoming or outgoing; state, kind: names; "
		    "peer: an authority id; overdue: 1; due_within: seconds");
		return;
	}
	REQ(x, cases, Rogatory__Ctl__V1__CasesRequest, ROGATORY__CTL__V1__CASES_REQUEST__INIT,
	    ROGATORY__CTL__V1__REQUEST__OP_CASES);
	x.incoming = dir != NULL && strcmp(dir, "incoming") == 0;
	x.outgoing = dir != NULL && strcmp(dir, "outgoing") == 0;
	bin(&x.state, state);
	bin(&x.peer, peer);
	bin(&x.kind, kind);
	x.overdue = overdue != NULL && strcmp(overdue, "1") == 0;
	x.due_within_ms = within * 1000;
	forward(h, &req, false);
}

void
api_case(struct hreq *h, const struct evkeyvalq *q)
{
	const char *id = web_param(q, "id"), *from = web_param(q, "requester");
	if (!is_uuid(id) || (from != NULL && from[0] != '\0' && !is_authority(from))) {
		web_error(h, 400, "bad-request", "id: a message id; requester: an authority id");
		return;
	}
	REQ(x, case_get, Rogatory__Ctl__V1__CaseRequest, ROGATORY__CTL__V1__CASE_REQUEST__INIT,
	    ROGATORY__CTL__V1__REQUEST__OP_CASE_GET);
	bin(&x.request_id, id);
	bin(&x.requester_id, from);
	forward(h, &req, false);
}

/* ---- one message: show + its events + verify, in one answer ---- */

struct msg_ctx {
	int status;                 /* the show's HTTP status */
	json_t *show_error;
};

static void
msg_done(struct hreq *h)
{
	if (h->waiting > 0)
		return;
	struct msg_ctx *m = h->ctx;
	if (m->status != 200) {
		json_t *e = m->show_error;
		m->show_error = NULL;
		web_reply_json(h, m->status, e);
		return;
	}
	json_t *acc = h->acc;
	h->acc = NULL;
	web_reply_json(h, 200, acc);
}

static json_t *
part_of(const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	if (r == NULL)
		return json_pack("{s:s, s:s}", "error", "daemon-unreachable", "text",
		    err != NULL ? err : "");
	if (r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		json_t *o = json_object();
		json_object_set_new(o, "error", json_stringn_nocheck(
		    (const char *)r->error_code.data, r->error_code.len));
		json_object_set_new(o, "text", json_stringn_nocheck(
		    (const char *)r->error_text.data, r->error_text.len));
		return o;
	}
	json_t *j = web_reply_parse(r);
	return j != NULL ? j : json_null();
}

static void
msg_show_cb(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	struct msg_ctx *m = h->ctx;
	h->waiting--;
	json_t *p = part_of(r, err);
	if (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		m->status = web_status_of(r);
		json_decref(m->show_error);
		m->show_error = p;
	} else {
		json_object_set_new(h->acc, "message", p);
	}
	msg_done(h);
}

static void
msg_events_cb(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	h->waiting--;
	json_object_set_new(h->acc, "events", part_of(r, err));
	msg_done(h);
}

static void
msg_verify_cb(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	h->waiting--;
	json_object_set_new(h->acc, "verify", part_of(r, err));
	msg_done(h);
}

static void
msg_ctx_free(void *p)
{
	struct msg_ctx *m = p;
	json_decref(m->show_error);
	free(m);
}

void
api_message(struct hreq *h, const struct evkeyvalq *q)
{
	const char *id = web_param(q, "id"), *sender = web_param(q, "sender");
	if (!is_uuid(id) || (sender != NULL && sender[0] != '\0' && !is_authority(sender))) {
		web_error(h, 400, "bad-request", "id: a message id; sender: an authority id");
		return;
	}
	struct msg_ctx *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		web_error(h, 503, "busy", "out of memory");
		return;
	}
	/* The route's context (its query) is no longer needed: ours replaces it. */
	char idc[UUID_TEXT_LEN + 1], sc[AUTHORITY_ID_MAX + 1];
	snprintf(idc, sizeof(idc), "%s", id);
	snprintf(sc, sizeof(sc), "%s", sender != NULL ? sender : "");
	if (h->ctx_free != NULL)
		h->ctx_free(h->ctx);
	h->ctx = m;
	h->ctx_free = msg_ctx_free;
	m->status = 200;
	h->acc = json_object();

	Rogatory__Ctl__V1__ShowRequest s = ROGATORY__CTL__V1__SHOW_REQUEST__INIT;
	bin(&s.message_id, idc);
	Rogatory__Ctl__V1__Request r1 = ROGATORY__CTL__V1__REQUEST__INIT;
	r1.op_case = ROGATORY__CTL__V1__REQUEST__OP_SHOW;
	r1.show = &s;
	if (web_ask(h, &r1, false, msg_show_cb) != 0)
		return;

	Rogatory__Ctl__V1__LogRequest l = ROGATORY__CTL__V1__LOG_REQUEST__INIT;
	bin(&l.message_id, idc);
	l.limit = 1000;
	Rogatory__Ctl__V1__Request r2 = ROGATORY__CTL__V1__REQUEST__INIT;
	r2.op_case = ROGATORY__CTL__V1__REQUEST__OP_LOG;
	r2.log = &l;
	if (web_ask(h, &r2, false, msg_events_cb) != 0)
		return;

	Rogatory__Ctl__V1__VerifyRequest v = ROGATORY__CTL__V1__VERIFY_REQUEST__INIT;
	bin(&v.message_id, idc);
	bin(&v.sender_id, sc);
	Rogatory__Ctl__V1__Request r3 = ROGATORY__CTL__V1__REQUEST__INIT;
	r3.op_case = ROGATORY__CTL__V1__REQUEST__OP_VERIFY;
	r3.verify = &v;
	web_ask(h, &r3, false, msg_verify_cb);
}

/* ---- the operators' actions ---- */

static void
act_on_message(struct hreq *h, bool retry)
{
	const char *id = body_str(h, "id");
	if (!is_uuid(id)) {
		web_error(h, 400, "bad-request", "id: a message id");
		return;
	}
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__RetryRequest r = ROGATORY__CTL__V1__RETRY_REQUEST__INIT;
	Rogatory__Ctl__V1__CancelRequest c = ROGATORY__CTL__V1__CANCEL_REQUEST__INIT;
	if (retry) {
		bin(&r.message_id, id);
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_RETRY;
		req.retry = &r;
	} else {
		bin(&c.message_id, id);
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CANCEL;
		req.cancel = &c;
	}
	forward(h, &req, true);
}

void
api_retry(struct hreq *h, const struct evkeyvalq *q)
{
	(void)q;
	act_on_message(h, true);
}

void
api_cancel(struct hreq *h, const struct evkeyvalq *q)
{
	(void)q;
	act_on_message(h, false);
}

enum peer_act { PEER_PAUSE, PEER_RESUME, PEER_CONNECT };

static void
act_on_peer(struct hreq *h, enum peer_act what)
{
	const char *peer = body_str(h, "peer");
	if (!is_authority(peer)) {
		web_error(h, 400, "bad-request", "peer: an authority id (like FR-MJ)");
		return;
	}
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__PauseRequest p = ROGATORY__CTL__V1__PAUSE_REQUEST__INIT;
	Rogatory__Ctl__V1__ResumeRequest r = ROGATORY__CTL__V1__RESUME_REQUEST__INIT;
	Rogatory__Ctl__V1__ConnectRequest c = ROGATORY__CTL__V1__CONNECT_REQUEST__INIT;
	switch (what) {
	case PEER_PAUSE:
		bin(&p.authority_id, peer);
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_PAUSE;
		req.pause = &p;
		break;
	case PEER_RESUME:
		bin(&r.authority_id, peer);
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_RESUME;
		req.resume = &r;
		break;
	case PEER_CONNECT:
		bin(&c.authority_id, peer);
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONNECT;
		req.connect = &c;
		break;
	}
	forward(h, &req, true);
}

void
api_pause(struct hreq *h, const struct evkeyvalq *q)
{
	(void)q;
	act_on_peer(h, PEER_PAUSE);
}

void
api_resume(struct hreq *h, const struct evkeyvalq *q)
{
	(void)q;
	act_on_peer(h, PEER_RESUME);
}

void
api_connect(struct hreq *h, const struct evkeyvalq *q)
{
	(void)q;
	act_on_peer(h, PEER_CONNECT);
}

/* ---- evidence export ---- */

static int
export_params(struct hreq *h, const struct evkeyvalq *q, const char **id, const char **sender)
{
	*id = web_param(q, "id");
	*sender = web_param(q, "sender");
	if (!is_uuid(*id) || (*sender != NULL && (*sender)[0] != '\0' && !is_authority(*sender))) {
		web_error(h, 400, "bad-request", "id: a message id; sender: an authority id");
		return -1;
	}
	return 0;
}

void
api_export(struct hreq *h, const struct evkeyvalq *q)
{
	const char *id, *sender;
	if (export_params(h, q, &id, &sender) != 0)
		return;
	REQ(x, export, Rogatory__Ctl__V1__ExportRequest, ROGATORY__CTL__V1__EXPORT_REQUEST__INIT,
	    ROGATORY__CTL__V1__REQUEST__OP_EXPORT);
	bin(&x.message_id, id);
	bin(&x.sender_id, sender);
	forward(h, &req, false);
}

/* One file of the bundle, streamed: the manifest first (for its name), then its part
 * from offset 0 one reply at a time, each written out before the next is asked. */
struct xfile {
	char id[UUID_TEXT_LEN + 1];
	char sender[AUTHORITY_ID_MAX + 1];
	uint32_t part;
	uint64_t offset;
	bool started;               /* the 200 and its headers are out */
	bool writing;               /* a chunk is on its way to the browser */
};

static void xfile_next(struct hreq *h);

/* The file name a browser may save it as: the path's last component, [A-Za-z0-9._-]. */
static void
xfile_name(const json_t *manifest, uint32_t part, char *out, size_t len)
{
	snprintf(out, len, "part-%u", part);
	size_t i;
	const json_t *f;
	json_array_foreach(json_object_get(manifest, "files"), i, f) {
		if (json_integer_value(json_object_get(f, "part")) != (json_int_t)part)
			continue;
		const char *p = json_string_value(json_object_get(f, "path"));
		const char *b = p != NULL ? strrchr(p, '/') : NULL;
		b = b != NULL ? b + 1 : p;
		if (b == NULL || b[0] == '\0')
			return;
		size_t n = 0;
		for (; b[n] != '\0' && n + 1 < len; n++) {
			char c = b[n];
			bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
			out[n] = c;
			if (!keep)
				out[n] = '_';
		}
		out[n] = '\0';
		if (out[0] == '.')
			out[0] = '_';
		return;
	}
}

static void
xfile_end(struct hreq *h)
{
	/* As web_reply_raw: let go of the request first, evhttp may free it in the call. */
	struct evhttp_request *req = h->req;
	h->req = NULL;
	h->evcon = NULL;
	if (req != NULL)
		evhttp_send_reply_end(req);
	web_hreq_free(h);
}

static void
xfile_written(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	struct hreq *h = arg;
	struct xfile *x = h->ctx;
	x->writing = false;
	xfile_next(h);
}

static void
xfile_gone(struct hreq *h)
{
	/* Waiting for the daemon: its reply ends it. Else (a chunk whose write will never
	 * be confirmed) now. */
	if (h->waiting == 0)
		xfile_end(h);
}

static void
xfile_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	struct xfile *x = h->ctx;
	h->waiting--;
	if (!x->started && (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK)) {
		web_reply_refusal(h, r, err);
		return;
	}
	if (x->started && (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK ||
	        h->gone || h->req == NULL)) {
		/* Cut short: the browser sees a truncated download, never a wrong one. */
		xfile_end(h);
		return;
	}
	if (!x->started && x->offset == 0 && r->data.len == 0 && r->json.len > 0 &&
	    h->acc == NULL) {
		/* The manifest: the name, then the part itself. */
		h->acc = web_reply_parse(r);
		xfile_next(h);
		return;
	}
	if (!x->started) {
		if (h->req == NULL) {
			web_hreq_free(h);
			return;
		}
		char name[96], disp[160];
		xfile_name(h->acc, x->part, name, sizeof(name));
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
		web_security_headers(h->req, true);
		struct evkeyvalq *out = evhttp_request_get_output_headers(h->req);
		evhttp_add_header(out, "Content-Type", "application/octet-stream");
		evhttp_add_header(out, "Content-Disposition", disp);
		evhttp_send_reply_start(h->req, 200, "OK");
		x->started = true;
		h->streaming = true;
	}
	if (r->data.len == 0) {
		xfile_end(h);
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (b == NULL) {
		xfile_end(h);
		return;
	}
	evbuffer_add(b, r->data.data, r->data.len);
	x->offset += r->data.len;
	x->writing = true;
	evhttp_send_reply_chunk_with_cb(h->req, b, xfile_written, h);
	evbuffer_free(b);
}

static void
xfile_next(struct hreq *h)
{
	struct xfile *x = h->ctx;
	if (h->gone || (x->started && h->req == NULL)) {
		xfile_end(h);
		return;
	}
	REQ(e, export, Rogatory__Ctl__V1__ExportRequest, ROGATORY__CTL__V1__EXPORT_REQUEST__INIT,
	    ROGATORY__CTL__V1__REQUEST__OP_EXPORT);
	bin(&e.message_id, x->id);
	bin(&e.sender_id, x->sender);
	e.part = h->acc == NULL ? 0 : x->part;
	e.offset = h->acc == NULL ? 0 : x->offset;
	/* On failure web_ask answered (or ended the stream) and freed h. */
	web_ask(h, &req, false, xfile_reply);
}

void
api_export_file(struct hreq *h, const struct evkeyvalq *q)
{
	const char *id, *sender;
	uint64_t part;
	if (export_params(h, q, &id, &sender) != 0)
		return;
	if (number(web_param(q, "part"), 100000, &part) != 0 || part == 0) {
		web_error(h, 400, "bad-request", "part: a file's part number from the manifest (1..)");
		return;
	}
	struct xfile *x = calloc(1, sizeof(*x));
	if (x == NULL) {
		web_error(h, 503, "busy", "out of memory");
		return;
	}
	snprintf(x->id, sizeof(x->id), "%s", id);
	snprintf(x->sender, sizeof(x->sender), "%s", sender != NULL ? sender : "");
	x->part = (uint32_t)part;
	if (h->ctx_free != NULL)
		h->ctx_free(h->ctx);
	h->ctx = x;
	h->ctx_free = free;
	h->on_gone = xfile_gone;
	xfile_next(h);
}
