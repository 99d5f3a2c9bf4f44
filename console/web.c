/*
 * web: rogatory-console's HTTP side on libevent 2.1's evhttp. evhttp bounds the request
 * head (8 KiB) and body (1 MiB) before it buffers them and times connections out; this
 * file adds the rest: at most CONSOLE_CONNS_MAX connections served (503 and close
 * beyond), one table of routes, paths checked before any lookup (no "..", no
 * percent-encoding, no backslash, no empty segment: assets are only found by exact
 * name in the embedded table anyway), the security headers on every answer it writes,
 * the session cookie and the CSRF header, and the JSON error replies. A daemon that
 * cannot be reached is a 502, never a crash.
 * What evhttp answers by itself (a malformed request line or a head over 8 KiB: 400, a body
 * over 1 MiB: 413, with Connection: close) carries no security header: 2.1 has no hook for
 * those replies; their body is evhttp's fixed text, no data of anyone.
 */
#include "console.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "ctls.h"
#include "log.h"

#define WEB_CSP "default-src 'none'; script-src 'self'; style-src 'self'; " \
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; " \
    "frame-ancestors 'none'"

#define WEB_UNREAD_MAX (1u << 20)

/* A connection that sent at least one request: counted, and told when it closes. */
struct hconn {
	struct console *con;
	struct evhttp_connection *evcon;
	struct hconn *prev, *next;
};

enum route_kind { R_API, R_PAGE, R_LOGIN };

static const struct route {
	const char *path;
	enum evhttp_cmd_type method;
	enum route_kind kind;
	console_handler fn;
	const char *page;           /* R_PAGE: the shell under www/ */
} routes[] = {
	{"/api/me", EVHTTP_REQ_GET, R_API, api_me, NULL},
	{"/api/status", EVHTTP_REQ_GET, R_API, api_status, NULL},
	{"/api/peers", EVHTTP_REQ_GET, R_API, api_peers, NULL},
	{"/api/alerts", EVHTTP_REQ_GET, R_API, api_alerts, NULL},
	{"/api/directory", EVHTTP_REQ_GET, R_API, api_directory, NULL},
	{"/api/stats", EVHTTP_REQ_GET, R_API, api_stats, NULL},
	{"/api/messages", EVHTTP_REQ_GET, R_API, api_messages, NULL},
	{"/api/message", EVHTTP_REQ_GET, R_API, api_message, NULL},
	{"/api/retry", EVHTTP_REQ_POST, R_API, api_retry, NULL},
	{"/api/cancel", EVHTTP_REQ_POST, R_API, api_cancel, NULL},
	{"/api/pause", EVHTTP_REQ_POST, R_API, api_pause, NULL},
	{"/api/resume", EVHTTP_REQ_POST, R_API, api_resume, NULL},
	{"/api/connect", EVHTTP_REQ_POST, R_API, api_connect, NULL},
	{"/api/logout", EVHTTP_REQ_POST, R_API, api_logout, NULL},
	{"/api/export", EVHTTP_REQ_GET, R_API, api_export, NULL},
	{"/api/export/file", EVHTTP_REQ_GET, R_API, api_export_file, NULL},
	{"/api/events", EVHTTP_REQ_GET, R_API, sse_open, NULL},
	{"/api/cases", EVHTTP_REQ_GET, R_API, api_cases, NULL},
	{"/api/case", EVHTTP_REQ_GET, R_API, api_case, NULL},
	{"/api/kinds", EVHTTP_REQ_GET, R_API, compose_kinds, NULL},
	{"/api/template", EVHTTP_REQ_GET, R_API, compose_template, NULL},
	{"/api/authority", EVHTTP_REQ_GET, R_API, api_authority, NULL},
	{"/api/validate", EVHTTP_REQ_POST, R_API, compose_validate, NULL},
	{"/api/send", EVHTTP_REQ_POST, R_API, compose_send, NULL},
	{"/api/upload", EVHTTP_REQ_POST, R_API, upload_chunk, NULL},
	{"/api/update", EVHTTP_REQ_POST, R_API, compose_update, NULL},
	{"/", EVHTTP_REQ_GET, R_PAGE, NULL, "index.html"},
	{"/messages", EVHTTP_REQ_GET, R_PAGE, NULL, "messages.html"},
	{"/message", EVHTTP_REQ_GET, R_PAGE, NULL, "message.html"},
	{"/log", EVHTTP_REQ_GET, R_PAGE, NULL, "log.html"},
	{"/peers", EVHTTP_REQ_GET, R_PAGE, NULL, "peers.html"},
	{"/directory", EVHTTP_REQ_GET, R_PAGE, NULL, "directory.html"},
	{"/cases", EVHTTP_REQ_GET, R_PAGE, NULL, "cases.html"},
	{"/case", EVHTTP_REQ_GET, R_PAGE, NULL, "case.html"},
	{"/draft", EVHTTP_REQ_GET, R_PAGE, NULL, "draft.html"},
	{"/stats", EVHTTP_REQ_GET, R_PAGE, NULL, "stats.html"},
	{"/login", EVHTTP_REQ_GET, R_LOGIN, NULL, "login.html"},    /* and POST */
};
#define WEB_NROUTES (sizeof(routes) / sizeof(routes[0]))

/* ---- small helpers ---- */

bool
web_token_valid(const char *s)
{
	size_t i = 0;
	for (; i <= CONSOLE_TOKEN_LEN && s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == CONSOLE_TOKEN_LEN;
}

bool
web_token_eq(const char *a, const char *b)
{
	if (!web_token_valid(a) || !web_token_valid(b))
		return false;
	unsigned char d = 0;
	for (size_t i = 0; i < CONSOLE_TOKEN_LEN; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

const char *
web_param(const struct evkeyvalq *q, const char *name)
{
	return q != NULL ? evhttp_find_header(q, name) : NULL;
}

int
web_time_param(const char *s, int64_t *out)
{
	*out = 0;
	if (s == NULL || s[0] == '\0')
		return 0;
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL)
		return -1;
	if (*end == 'T') {
		end = strptime(end + 1, "%H:%M:%S", &tm);
		if (end == NULL)
			return -1;
		if (*end == '.') {
			end++;
			while (*end >= '0' && *end <= '9')
				end++;
		}
		if (*end != 'Z')
			return -1;
		end++;
	}
	if (*end != '\0')
		return -1;
	time_t t = timegm(&tm);
	if (t < 0)
		return -1;
	*out = (int64_t)t * 1000000;
	return 0;
}

void
web_security_headers(struct evhttp_request *req, bool api)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Security-Policy", WEB_CSP);
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
	evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
	if (api)
		evhttp_add_header(h, "Cache-Control", "no-store");
}

static const char *
reason_of(int code)
{
	switch (code) {
	case 200: return "OK";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

void
web_send(struct evhttp_request *req, int code, const char *type, const void *body,
    size_t len, bool head)
{
	struct evbuffer *b = evbuffer_new();
	if (type != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
	if (b != NULL && body != NULL && len > 0 && !head)
		evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, reason_of(code), b);
	if (b != NULL)
		evbuffer_free(b);
}

void
web_plain_error(struct evhttp_request *req, int code, const char *ecode, const char *text)
{
	web_security_headers(req, true);
	json_t *o = json_pack("{s:s, s:s}", "error", ecode, "text", text);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	web_send(req, code, "application/json; charset=utf-8", s, s != NULL ? strlen(s) : 0,
	    false);
	free(s);
	json_decref(o);
}

/* ---- hreq ---- */

void
web_hreq_free(struct hreq *h)
{
	struct console *con = h->con;
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		con->hreqs = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	/* h->cc is only known to be alive while a reply is awaited on it. */
	for (int i = 0; h->waiting > 0 && i < h->nids; i++)
		if (h->cc != NULL && h->ids[i] != 0)
			cclient_forget(h->cc, h->ids[i]);
	if (h->deadline != NULL)
		event_free(h->deadline);
	if (h->ctx_free != NULL)
		h->ctx_free(h->ctx);
	json_decref(h->acc);
	json_decref(h->body);
	free(h);
}

bool
web_hreq_alive(const struct hreq *h)
{
	return h->req != NULL && evhttp_request_get_connection(h->req) != NULL;
}

void
web_reply_raw(struct hreq *h, int code, const uint8_t *json, size_t len)
{
	/* h lets go of the request and its connection first: evhttp may free both inside
	 * the call (an HTTP/1.0 stream ended with nothing left to write closes at once), and
	 * the close callback must then find nothing of h to touch. */
	struct evhttp_request *req = h->req;
	h->req = NULL;
	h->evcon = NULL;
	if (req != NULL && h->streaming) {
		evhttp_send_reply_end(req);
	} else if (req != NULL) {
		web_security_headers(req, true);
		web_send(req, code, "application/json; charset=utf-8", json, len, h->head);
	}
	web_hreq_free(h);
}

void
web_reply_json(struct hreq *h, int code, json_t *body)
{
	char *s = body != NULL ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(body);
	web_reply_raw(h, code, (const uint8_t *)s, s != NULL ? strlen(s) : 0);
	free(s);
}

void
web_error(struct hreq *h, int status, const char *code, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	web_reply_json(h, status, json_pack("{s:s, s:s}", "error", code, "text", text));
}

int
web_status_of(const Rogatory__Ctl__V1__Reply *r)
{
	if (r == NULL)
		return 502;
	const char *code = (const char *)r->error_code.data;
	size_t n = r->error_code.len;
#define IS(s) (n == strlen(s) && memcmp(code, s, n) == 0)
	switch (r->code) {
	case ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK:
		return 200;
	case ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST:
		return IS("unknown-request") ? 502 : 400;
	case ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND:
		return 404;
	case ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED:
		if (IS("session-ended"))
			return 401;
		if (IS("forbidden") || IS("csrf") || IS("login-invalid") ||
		    IS("permission-denied"))
			return 403;
		if (IS("too-large"))
			return 413;
		return 409;
	default:
		return 502;
	}
#undef IS
}

bool
web_session_ended(const Rogatory__Ctl__V1__Reply *r)
{
	return r != NULL && r->code == ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED &&
	    r->error_code.len == strlen("session-ended") &&
	    memcmp(r->error_code.data, "session-ended", r->error_code.len) == 0;
}

void
web_note_reply(struct console *con, const char *session, const Rogatory__Ctl__V1__Reply *r)
{
	if (session != NULL && session[0] != '\0' && web_session_ended(r))
		sse_session_ended(con, session);
}

int64_t
web_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
web_cookie_name(const struct console *con)
{
	return con->tls ? "__Host-rg_session" : "rg_session";
}

void
web_reply_refusal(struct hreq *h, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	web_note_reply(h->con, h->session, r);
	if (r == NULL) {
		web_error(h, 502, "daemon-unreachable", "rogatoryd cannot be reached: %s",
		    err != NULL ? err : "no answer");
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "error", json_stringn_nocheck((const char *)r->error_code.data,
	    r->error_code.len));
	json_object_set_new(o, "text", json_stringn_nocheck((const char *)r->error_text.data,
	    r->error_text.len));
	if (json_object_get(o, "error") == NULL)
		json_object_set_new(o, "error", json_string("refused"));
	web_reply_json(h, web_status_of(r), o);
}

json_t *
web_reply_parse(const Rogatory__Ctl__V1__Reply *r)
{
	if (r->json.len == 0)
		return json_null();
	return json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
}

/* ---- the control connections ---- */

struct cclient *
web_pool(struct console *con)
{
	struct cclient *best = NULL;
	int free_slot = -1;
	for (int i = 0; i < CONSOLE_POOL; i++) {
		struct cclient *c = con->pool[i];
		if (c != NULL && cclient_broken(c)) {
			cclient_free(c);
			c = con->pool[i] = NULL;
		}
		if (c == NULL) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (best == NULL || cclient_pending(c) < cclient_pending(best))
			best = c;
	}
	/* A new connection only when every open one is busy. */
	if ((best == NULL || cclient_pending(best) > 0) && free_slot >= 0) {
		char err[256];
		struct cclient *c = cclient_new(con->base, con->cfg->socket, err, sizeof(err));
		if (c != NULL) {
			con->pool[free_slot] = c;
			return c;
		}
		log_warn("console: %s", err);
	}
	return best;
}

/* The daemon did not answer in time: 504, and everything of h is freed (its pending
 * requests forgotten). */
static void
web_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct hreq *h = arg;
	if (h->waiting <= 0)
		return;
	unsigned s = (h->con->deadline_ms != 0 ? h->con->deadline_ms
	                                       : CONSOLE_DEADLINE_S * 1000) / 1000;
	/* A change may still be carried out after we stop waiting: never "failed", so that
	 * nobody sends the same request twice. */
	if (h->changed)
		web_error(h, 504, "daemon-timeout", "rogatoryd did not answer in %u s: whether it "
		    "was done is not known; look at the messages before trying again", s);
	else
		web_error(h, 504, "daemon-timeout", "rogatoryd did not answer in %u s", s);
}

int
web_ask(struct hreq *h, Rogatory__Ctl__V1__Request *req, bool mutating, cclient_reply_fn fn)
{
	if (h->session[0] != '\0') {
		req->session.data = (uint8_t *)h->session;
		req->session.len = strlen(h->session);
	}
	if (mutating)
		h->changed = true;
	if (mutating && h->csrf[0] != '\0') {
		req->csrf.data = (uint8_t *)h->csrf;
		req->csrf.len = strlen(h->csrf);
	}
	/* What rogatoryd would refuse is refused here, with its checker's words: nothing is
	 * sent (a request it cannot read it could not answer as ours). */
	char cerr[256];
	if (cclient_check(req, cerr, sizeof(cerr)) != 0) {
		web_error(h, 400, "bad-request", "%s", cerr);
		return -1;
	}
	if (h->deadline == NULL)
		h->deadline = evtimer_new(h->con->base, web_deadline_cb, h);
	if (h->deadline == NULL) {
		web_error(h, 503, "busy", "out of memory");
		return -1;
	}
	if (h->waiting == 0) {
		h->cc = NULL;
		h->nids = 0;
	}
	/* Every request of one answer on one connection, so that h can forget them. */
	struct cclient *c = h->cc != NULL ? h->cc : web_pool(h->con);
	uint64_t id = 0;
	if (c != NULL && h->nids < (int)(sizeof(h->ids) / sizeof(h->ids[0])))
		id = cclient_call(c, req, fn, h, false);
	if (id == 0) {
		web_error(h, 502, "daemon-unreachable", "rogatoryd cannot be reached on %s",
		    h->con->cfg->socket);
		return -1;
	}
	h->cc = c;
	h->ids[h->nids++] = id;
	h->waiting++;
	unsigned ms = h->con->deadline_ms != 0 ? h->con->deadline_ms : CONSOLE_DEADLINE_S * 1000;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(h->deadline, &tv);
	return 0;
}

/* ---- connections ---- */

static void
/* cppcheck-suppress constParameter ; evhttp's close callback type */
web_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct hconn *hc = arg;
	struct console *con = hc->con;
	if (hc->prev != NULL)
		hc->prev->next = hc->next;
	else
		con->conns = hc->next;
	if (hc->next != NULL)
		hc->next->prev = hc->prev;
	con->nconns--;
	free(hc);
	/* A request of this connection still attached to it is freed by evhttp with it:
	 * forget it; a detached one stays ours until answered (evhttp then frees it). */
	struct hreq *next;
	for (struct hreq *h = con->hreqs; h != NULL; h = next) {
		next = h->next;
		if (h->evcon != evcon)
			continue;
		if (h->req != NULL && evhttp_request_get_connection(h->req) == evcon)
			h->req = NULL;
		h->gone = true;
		h->evcon = NULL;
		if (h->on_gone != NULL) {
			/* It may free itself and others of this connection: start over. */
			h->on_gone(h);
			next = con->hreqs;
		}
	}
}

/* The connection's record, made at its first request; NULL when over the bound. */
static struct hconn *
web_conn(struct console *con, struct evhttp_connection *evcon)
{
	for (struct hconn *hc = con->conns; hc != NULL; hc = hc->next)
		if (hc->evcon == evcon)
			return hc;
	if (con->nconns >= CONSOLE_CONNS_MAX)
		return NULL;
	struct hconn *hc = calloc(1, sizeof(*hc));
	if (hc == NULL)
		return NULL;
	hc->con = con;
	hc->evcon = evcon;
	hc->next = con->conns;
	if (con->conns != NULL)
		con->conns->prev = hc;
	con->conns = hc;
	con->nconns++;
	evhttp_connection_set_closecb(evcon, web_conn_closed, hc);
	return hc;
}

void
web_page(struct hreq *h, const char *page, int code)
{
	if (h->req != NULL)
		asset_page(h->req, page, code, h->head);
	h->req = NULL;
	web_hreq_free(h);
}

/* ---- requests ---- */

/* The session cookie's value when it is a well-formed token; "" otherwise. Only the
 * name of the console's mode counts (__Host-rg_session under TLS, else rg_session). */
static void
session_of(const struct console *con, struct evhttp_request *req,
    char out[CONSOLE_TOKEN_LEN + 1])
{
	out[0] = '\0';
	char name[32];
	size_t nl = (size_t)snprintf(name, sizeof(name), "%s=", web_cookie_name(con));
	const char *c = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");
	while (c != NULL && *c != '\0') {
		while (*c == ' ' || *c == ';')
			c++;
		if (strncmp(c, name, nl) == 0) {
			const char *v = c + nl;
			size_t n = strcspn(v, "; ");
			if (n == CONSOLE_TOKEN_LEN) {
				char tok[CONSOLE_TOKEN_LEN + 1];
				memcpy(tok, v, n);
				tok[n] = '\0';
				if (web_token_valid(tok)) {
					memcpy(out, tok, sizeof(tok));
					return;
				}
			}
		}
		c = strchr(c, ';');
	}
}

/* Paths a lookup may see: [A-Za-z0-9/._-], starting with '/', no "..", no "//". */
static bool
path_ok(const char *p)
{
	if (p == NULL || p[0] != '/' || strstr(p, "..") != NULL || strstr(p, "//") != NULL ||
	    strlen(p) > 256)
		return false;
	for (const char *s = p; *s != '\0'; s++) {
		char ch = *s;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		        (ch >= '0' && ch <= '9') || ch == '/' || ch == '.' || ch == '_' ||
		        ch == '-'))
			return false;
	}
	return true;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* No control byte in the query, raw or percent-encoded (%00 would read as the end of a
 * value: "?id=%00FR-MJ" as an empty id). */
static bool
query_clean(const char *qs)
{
	for (const char *p = qs; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x20 || ch == 0x7f)
			return false;
		if (ch == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			int v = hexval(p[1]) * 16 + hexval(p[2]);
			if (v < 0x20 || v == 0x7f)
				return false;
		}
	}
	return true;
}

static struct hreq *
hreq_new(struct console *con, struct evhttp_request *req)
{
	struct hreq *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->con = con;
	h->req = req;
	h->head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
	h->evcon = evhttp_request_get_connection(req);
	session_of(con, req, h->session);
	const char *t = evhttp_find_header(evhttp_request_get_input_headers(req), "X-CSRF-Token");
	if (t != NULL && web_token_valid(t))
		memcpy(h->csrf, t, CONSOLE_TOKEN_LEN + 1);
	h->next = con->hreqs;
	if (con->hreqs != NULL)
		con->hreqs->prev = h;
	con->hreqs = h;
	return h;
}

struct routed {
	const struct route *rt;
	struct evkeyvalq query;
};

static void
routed_free(void *p)
{
	struct routed *r = p;
	evhttp_clear_headers(&r->query);
	free(r);
}

/* The session's whoami, before a page or a POST: a page is served (or 303 to /login),
 * a POST's CSRF token compared with the session's, then its handler runs. */
static void
gate_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	struct routed *rd = h->ctx;
	const struct route *rt = rd->rt;
	h->waiting--;
	h->nids = 0;
	if (h->req == NULL) {
		web_hreq_free(h);
		return;
	}
	if (rt->kind == R_PAGE) {
		if (r != NULL && web_status_of(r) == 401) {
			web_security_headers(h->req, true);
			evhttp_add_header(evhttp_request_get_output_headers(h->req), "Location",
			    "/login");
			web_send(h->req, 303, NULL, NULL, 0, false);
			h->req = NULL;
			web_hreq_free(h);
		} else if (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
			web_reply_refusal(h, r, err);
		} else {
			asset_page(h->req, rt->page, 200, h->head);
			h->req = NULL;
			web_hreq_free(h);
		}
		return;
	}
	/* A POST: the session's CSRF token against the header's. */
	if (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		web_reply_refusal(h, r, err);
		return;
	}
	json_t *who = web_reply_parse(r);
	const char *csrf = json_string_value(json_object_get(who, "csrf"));
	bool ok = csrf != NULL && web_token_eq(csrf, h->csrf);
	json_decref(who);
	if (!ok) {
		web_error(h, 403, "csrf", "the X-CSRF-Token header does not match the session");
		return;
	}
	rt->fn(h, &rd->query);
}

static void
whoami_gate(struct hreq *h, bool touch)
{
	Rogatory__Ctl__V1__ConsoleWhoamiRequest w = ROGATORY__CTL__V1__CONSOLE_WHOAMI_REQUEST__INIT;
	w.touch = touch;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_WHOAMI;
	req.console_whoami = &w;
	web_ask(h, &req, false, gate_reply);
}

/* The JSON body of a POST (an object), except for uploads (raw bytes). */
static int
body_of(struct hreq *h, const struct route *rt)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(h->req);
	size_t len = evbuffer_get_length(in);
	if (rt->fn == upload_chunk) {
		if (len > CONSOLE_CHUNK_MAX) {
			web_error(h, 413, "too-large", "an upload chunk is at most %u bytes",
			    CONSOLE_CHUNK_MAX);
			return -1;
		}
		return 0;
	}
	if (len > CONSOLE_BODY_MAX) {
		web_error(h, 413, "too-large", "a request body is at most %u bytes",
		    CONSOLE_BODY_MAX);
		return -1;
	}
	const unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)len);
	json_error_t je;
	h->body = len == 0 ? json_object()
	                   : json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(h->body)) {
		web_error(h, 400, "bad-request", "the body is not a JSON object%s%s",
		    h->body == NULL ? ": " : "", h->body == NULL ? je.text : "");
		return -1;
	}
	return 0;
}

static void
web_request_cb(struct evhttp_request *req, void *arg)
{
	struct console *con = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	if (evcon != NULL && web_conn(con, evcon) == NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		web_plain_error(req, 503, "busy", "too many connections; try again");
		return;
	}
	/* A client that sends requests and reads no answers: at most WEB_UNREAD_MAX of
	 * answers wait for it, then it is closed after a last short one. */
	struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	if (bev != NULL && evbuffer_get_length(bufferevent_get_output(bev)) > WEB_UNREAD_MAX) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		web_plain_error(req, 503, "busy", "answers unread");
		return;
	}
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL || path[0] == '\0')
		path = "/";
	if (!path_ok(path)) {
		web_plain_error(req, 400, "bad-path", "that path is not one the console serves");
		return;
	}
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	bool head = m == EVHTTP_REQ_HEAD;
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD && m != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD, POST");
		web_plain_error(req, 405, "method", "only GET, HEAD and POST");
		return;
	}
	if (strncmp(path, "/static/", 8) == 0) {
		const struct console_asset *a = asset_find(path + 8);
		if (a == NULL || m == EVHTTP_REQ_POST) {
			web_plain_error(req, a == NULL ? 404 : 405, a == NULL ? "not-found" : "method",
			    a == NULL ? "no such file" : "GET only");
			return;
		}
		asset_send(req, a, 200, head);
		return;
	}
	const struct route *rt = NULL;
	for (size_t i = 0; i < WEB_NROUTES && rt == NULL; i++)
		if (strcmp(routes[i].path, path) == 0)
			rt = &routes[i];
	if (rt == NULL) {
		web_plain_error(req, 404, "not-found", "no such page");
		return;
	}
	if (rt->kind != R_LOGIN && (rt->method == EVHTTP_REQ_POST) != (m == EVHTTP_REQ_POST)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
		    rt->method == EVHTTP_REQ_POST ? "POST" : "GET, HEAD");
		web_plain_error(req, 405, "method", rt->method == EVHTTP_REQ_POST ? "POST only"
		                                                                  : "GET only");
		return;
	}
	struct routed *rd = calloc(1, sizeof(*rd));
	struct hreq *h = rd != NULL ? hreq_new(con, req) : NULL;
	if (h == NULL) {
		free(rd);
		web_plain_error(req, 503, "busy", "out of memory");
		return;
	}
	rd->rt = rt;
	TAILQ_INIT(&rd->query);
	const char *qs = evhttp_uri_get_query(uri);
	if (qs != NULL && !query_clean(qs)) {
		routed_free(rd);
		web_error(h, 400, "bad-query", "a control character in the query string");
		return;
	}
	if (qs != NULL && evhttp_parse_query_str(qs, &rd->query) != 0) {
		routed_free(rd);
		web_error(h, 400, "bad-query", "the query string is malformed");
		return;
	}
	h->ctx = rd;
	h->ctx_free = routed_free;
	if (rt->kind == R_LOGIN) {
		api_login(h, &rd->query);
		return;
	}
	if (rt->kind == R_PAGE) {
		if (h->session[0] == '\0') {
			web_security_headers(req, true);
			evhttp_add_header(evhttp_request_get_output_headers(req), "Location", "/login");
			web_send(req, 303, NULL, NULL, 0, false);
			h->req = NULL;
			web_hreq_free(h);
			return;
		}
		whoami_gate(h, true);
		return;
	}
	if (h->session[0] == '\0') {
		web_error(h, 401, "session-ended", "no session: open a login link (rogatoryctl "
		    "console login NAME)");
		return;
	}
	if (m == EVHTTP_REQ_POST) {
		/* Refused before the daemon is asked anything. */
		if (h->csrf[0] == '\0') {
			web_error(h, 403, "csrf", "a POST needs the session's X-CSRF-Token header");
			return;
		}
		if (body_of(h, rt) != 0)
			return;
		/* An upload's chunks are held to the token the send was checked with (and the
		 * daemon checks each UploadRequest's): no whoami per 256 KiB. */
		if (rt->fn == upload_chunk)
			rt->fn(h, &rd->query);
		else
			whoami_gate(h, false);
		return;
	}
	rt->fn(h, &rd->query);
}

/* ---- the server ---- */

static int
web_setup(struct console *con, char *err, size_t errlen)
{
	con->http = evhttp_new(con->base);
	if (con->http == NULL) {
		snprintf(err, errlen, "cannot create the HTTP server");
		return -1;
	}
	evhttp_set_max_headers_size(con->http, CONSOLE_HEADERS_MAX);
	evhttp_set_max_body_size(con->http, CONSOLE_BODY_MAX);
	evhttp_set_timeout(con->http, CONSOLE_TIMEOUT_S);
	/* Every method reaches web_request_cb, which answers 405 with the headers. */
	evhttp_set_allowed_methods(con->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	    EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(con->http, "application/json; charset=utf-8");
	evhttp_set_gencb(con->http, web_request_cb, con);
	return 0;
}

int
web_start_fd(struct console *con, int fd, char *err, size_t errlen)
{
	if (web_setup(con, err, errlen) != 0)
		return -1;
	if (evhttp_accept_socket(con->http, fd) != 0) {
		snprintf(err, errlen, "cannot serve the listening socket");
		return -1;
	}
	return 0;
}

static struct ctls *web_tls;

int
web_start(struct console *con, char *err, size_t errlen)
{
	if (web_setup(con, err, errlen) != 0)
		return -1;
	if (con->cfg->certificate != NULL) {
		web_tls = ctls_new(con->cfg->certificate, con->cfg->key, err, errlen);
		if (web_tls == NULL)
			return -1;
		ctls_attach(web_tls, con->http);
		con->tls = true;
	}
	char *endp;
	errno = 0;
	unsigned long port = strtoul(con->cfg->port, &endp, 10);
	if (errno != 0 || *endp != '\0' || port == 0 || port > 65535) {
		snprintf(err, errlen, "[console] listen: bad port %s", con->cfg->port);
		return -1;
	}
	if (evhttp_bind_socket_with_handle(con->http, con->cfg->host, (uint16_t)port) == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", con->cfg->listen,
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
web_stop(struct console *con)
{
	sse_stop(con);
	upload_stop(con);
	struct hreq *next;
	for (struct hreq *h = con->hreqs; h != NULL; h = next) {
		next = h->next;
		if (h->req != NULL)
			web_error(h, 503, "stopping", "the console is stopping");
		else
			web_hreq_free(h);
	}
	for (int i = 0; i < CONSOLE_POOL; i++) {
		cclient_free(con->pool[i]);
		con->pool[i] = NULL;
	}
	if (con->http != NULL)
		evhttp_free(con->http);
	con->http = NULL;
	while (con->conns != NULL) {
		struct hconn *hc = con->conns;
		con->conns = hc->next;
		free(hc);
	}
	con->nconns = 0;
	ctls_free(web_tls);
	web_tls = NULL;
}
