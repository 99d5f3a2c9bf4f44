/*
 * console: what the files of rogatory-console share. web.c is the HTTP side (evhttp,
 * bounds, security headers, routing, cookies, assets, the JSON error replies); api.c the
 * JSON routes that forward one request; compose.c drafting, validation, sending and
 * status updates; upload.c the chunked upload relay; sse.c the Server-Sent Events
 * streams. The console holds no key and never opens the store: every answer comes from
 * rogatoryd's control socket, asked with the browser's session (Request.session) so the
 * daemon decides who may do what. Everything a browser sends is bounded before it is
 * buffered and checked before it is forwarded; nothing it sends can end the process.
 */
#ifndef ROGATORY_CONSOLE_H
#define ROGATORY_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cclient.h"
#include "cconf.h"

struct event_base;
struct evhttp;
struct evhttp_request;
struct evhttp_connection;
struct evkeyvalq;
struct event;

/* The bounds of the spec (docs/SECURITY.md, "The web console"). */
#define CONSOLE_HEADERS_MAX 8192            /* request line + headers */
#define CONSOLE_BODY_MAX (1u << 20)         /* a JSON body */
#define CONSOLE_CHUNK_MAX (256u << 10)      /* an upload chunk */
#define CONSOLE_TIMEOUT_S 30                /* evhttp's per-connection read/write time-out */
#define CONSOLE_CONNS_MAX 256               /* connections served at once (503 beyond) */
#define CONSOLE_STREAMS_MAX 32              /* event streams at once */
#define CONSOLE_UPLOADS_MAX 16              /* uploads in progress (a control connection each) */
#define CONSOLE_SESSION_UPLOADS_MAX 2       /* of which one session's */
#define CONSOLE_SESSION_STREAMS_MAX 4       /* event streams of one session */
#define CONSOLE_DEADLINE_S 30               /* a request waiting for the daemon: 504 after */
#define CONSOLE_LOGIN_RATE 5                /* login redemptions per second per address, */
#define CONSOLE_LOGIN_BURST 20              /* with a burst of (429 beyond) */
#define CONSOLE_LOGIN_ADDRS 64              /* addresses remembered (least recent reused) */
#define CONSOLE_LOGIN_ALL_RATE 50           /* and from all addresses together */
#define CONSOLE_LOGIN_ALL_BURST 100
#define CONSOLE_UPLOAD_IDLE_S 300           /* an upload without a chunk is dropped */
#define CONSOLE_POOL 4                      /* shared control connections */
#define CONSOLE_TOKEN_LEN 32                /* session and CSRF tokens: lowercase hex */

struct console_streams;
struct console_upload;
struct hconn;

struct console {
	struct event_base *base;
	struct evhttp *http;
	const struct cconf *cfg;
	bool tls;
	struct cclient *pool[CONSOLE_POOL];
	struct hconn *conns;            /* connections that sent a request */
	unsigned nconns;
	struct console_streams *streams;
	struct console_upload *uploads;
	unsigned nuploads;
	struct hreq *hreqs;             /* requests waiting for the daemon */
	/* Time-outs in ms, 0 = the defaults (tests make them short). */
	unsigned sse_tick_ms;           /* the session re-check; every third tick a keep-alive */
	unsigned upload_idle_ms;        /* an upload without a chunk is dropped */
	unsigned deadline_ms;           /* a request waiting for the daemon (504) */
	/* The login redemptions' token buckets: one per client address (so one client
	 * flooding /login empties only its own) and one for all, and when a 429 was last
	 * logged. */
	struct console_bucket {
		char addr[48];          /* "" when unused */
		double tokens;
		int64_t ms;
	} login_addr[CONSOLE_LOGIN_ADDRS], login_all;
	int64_t login_logged_ms;
};

/* One HTTP request in progress: what its handlers keep between the daemon's replies. */
struct hreq {
	struct console *con;
	struct evhttp_request *req;
	struct hreq *prev, *next;
	char session[CONSOLE_TOKEN_LEN + 1];    /* "" when the cookie has none */
	char csrf[CONSOLE_TOKEN_LEN + 1];       /* the X-CSRF-Token header, "" when none */
	bool head;                              /* HEAD: headers only */
	bool streaming;                         /* a chunked reply started: errors end it */
	int waiting;                            /* daemon replies still expected */
	json_t *acc;                            /* a composite answer under construction */
	json_t *body;                           /* the request's JSON body (POST) */
	void *ctx;                              /* the handler's own state */
	void (*ctx_free)(void *ctx);
	struct evhttp_connection *evcon;        /* the browser's connection it came on */
	bool gone;                              /* that connection closed (req detached) */
	void (*on_gone)(struct hreq *h);        /* told when it closes (streams) */
	struct cclient *cc;                     /* the connection its requests went to */
	uint64_t ids[4];
	int nids;
	struct event *deadline;                 /* 504 when the daemon does not answer */
	bool changed;                           /* it asked for a change (its 504 says the
	                                         * change may still happen) */
};

/* A route's handler: answers (now or later) through the hreq. */
typedef void (*console_handler)(struct hreq *h, const struct evkeyvalq *query);

/* ---- web.c ---- */

/* Builds the HTTP server on con->base (listening socket from the config; TLS when it
 * names a certificate). 0 / -1 + err. */
int web_start(struct console *con, char *err, size_t errlen);
/* Serves on a socket already bound and listening (tests). 0 / -1. */
int web_start_fd(struct console *con, int fd, char *err, size_t errlen);
/* Ends every stream, upload and waiting request, then the server. */
void web_stop(struct console *con);

/* A shared control connection (least busy of the pool, reopened when broken); NULL when
 * the socket cannot be reached. */
struct cclient *web_pool(struct console *con);
/* Sends one request for h with its session (and CSRF when mutating). The reply goes to
 * fn; h->waiting counts it. 0 / -1 (h already answered 502). */
int web_ask(struct hreq *h, Rogatory__Ctl__V1__Request *req, bool mutating,
    cclient_reply_fn fn);

/* Answers h and frees it: status, JSON body (stolen; NULL: none). */
void web_reply_json(struct hreq *h, int code, json_t *body);
/* Answers h with the daemon's JSON bytes as they are. */
void web_reply_raw(struct hreq *h, int code, const uint8_t *json, size_t len);
/* {"error": code, "text": text} with status. */
void web_error(struct hreq *h, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The daemon's refusal (or r == NULL: unreachable) as the HTTP answer of the spec:
 * 401 session-ended, 403 forbidden/csrf, 404, 400, 409 other refusals, 502. */
void web_reply_refusal(struct hreq *h, const Rogatory__Ctl__V1__Reply *r, const char *err);
/* The session's cookie name in this console's mode (__Host-rg_session under TLS). */
const char *web_cookie_name(const struct console *con);
/* Notes a daemon reply to a request made with session: session-ended closes that
 * session's event streams at once. */
void web_note_reply(struct console *con, const char *session,
    const Rogatory__Ctl__V1__Reply *r);
/* The session-ended refusal. */
bool web_session_ended(const Rogatory__Ctl__V1__Reply *r);
/* Milliseconds of a monotonic clock. */
int64_t web_now_ms(void);
/* The HTTP status of a daemon reply (200 for OK). */
int web_status_of(const Rogatory__Ctl__V1__Reply *r);
/* The reply's JSON parsed (new reference); NULL when it is not JSON. */
json_t *web_reply_parse(const Rogatory__Ctl__V1__Reply *r);
/* Frees h without answering (its connection is gone, or it was answered). */
void web_hreq_free(struct hreq *h);
/* Answers h with a page shell of www/ (index.html when it has none) and frees h. */
void web_page(struct hreq *h, const char *page, int code);
/* Adds the security headers (and Cache-Control: no-store when api) to req's output. */
void web_security_headers(struct evhttp_request *req, bool api);
/* The connection h came on is still open. */
bool web_hreq_alive(const struct hreq *h);

/* A query parameter: NULL when absent; "" allowed. */
const char *web_param(const struct evkeyvalq *q, const char *name);
/* Constant-time equality of two NUL-terminated tokens of CONSOLE_TOKEN_LEN. */
bool web_token_eq(const char *a, const char *b);
/* s is CONSOLE_TOKEN_LEN lowercase hex digits. */
bool web_token_valid(const char *s);
/* "2026-03-01", "2026-03-01T10:00:00Z" (fraction allowed) as µs since 1970; "" is 0.
 * 0 / -1. */
int web_time_param(const char *s, int64_t *out);

/* ---- api.c: the routes that forward ---- */
/* GET /login[?token=T]: the login page (with a token: its form, that POSTs it);
 * POST /login (token=T, same origin only): the token redeemed into the cookie. */
void api_login(struct hreq *h, const struct evkeyvalq *q);
void api_me(struct hreq *h, const struct evkeyvalq *q);
void api_status(struct hreq *h, const struct evkeyvalq *q);
void api_peers(struct hreq *h, const struct evkeyvalq *q);
void api_alerts(struct hreq *h, const struct evkeyvalq *q);
void api_directory(struct hreq *h, const struct evkeyvalq *q);
void api_stats(struct hreq *h, const struct evkeyvalq *q);
void api_messages(struct hreq *h, const struct evkeyvalq *q);
void api_message(struct hreq *h, const struct evkeyvalq *q);
void api_retry(struct hreq *h, const struct evkeyvalq *q);
void api_cancel(struct hreq *h, const struct evkeyvalq *q);
void api_pause(struct hreq *h, const struct evkeyvalq *q);
void api_resume(struct hreq *h, const struct evkeyvalq *q);
void api_connect(struct hreq *h, const struct evkeyvalq *q);
void api_logout(struct hreq *h, const struct evkeyvalq *q);
void api_export(struct hreq *h, const struct evkeyvalq *q);
void api_export_file(struct hreq *h, const struct evkeyvalq *q);
void api_cases(struct hreq *h, const struct evkeyvalq *q);
void api_case(struct hreq *h, const struct evkeyvalq *q);
void api_authority(struct hreq *h, const struct evkeyvalq *q);

/* ---- compose.c ---- */
void compose_kinds(struct hreq *h, const struct evkeyvalq *q);
void compose_template(struct hreq *h, const struct evkeyvalq *q);
void compose_validate(struct hreq *h, const struct evkeyvalq *q);
void compose_send(struct hreq *h, const struct evkeyvalq *q);
void compose_update(struct hreq *h, const struct evkeyvalq *q);

/* ---- upload.c ---- */
/* The SendRequest s (attachments announced) on a connection of its own; h gets
 * {"upload": U, "id", "size"} or the daemon's immediate refusal. */
void upload_start(struct hreq *h, Rogatory__Ctl__V1__SendRequest *s);
/* POST /api/upload?u=U&index=I&offset=O: one chunk. */
void upload_chunk(struct hreq *h, const struct evkeyvalq *q);
/* Drops every upload (shutdown). */
void upload_stop(struct console *con);

/* ---- sse.c ---- */
void sse_open(struct hreq *h, const struct evkeyvalq *q);
/* Ends every stream and the shared follow (shutdown). */
void sse_stop(struct console *con);
/* The session ended: its streams get event: end and close, none gets another event. */
void sse_session_ended(struct console *con, const char *session);
/* Streams open now (tests). */
unsigned sse_count(const struct console *con);

/* Sends req's answer (security headers already added): status, Content-Type (NULL:
 * none), body (nothing for HEAD). */
void web_send(struct evhttp_request *req, int code, const char *type, const void *body,
    size_t len, bool head);
/* A JSON error answer before any hreq exists (routing, bounds), with the headers. */
void web_plain_error(struct evhttp_request *req, int code, const char *ecode,
    const char *text);

/* ---- asset.c ---- */
struct console_asset;
/* The embedded file of that name under www/ ("app.js", "i18n/fr.json"); NULL if none. */
const struct console_asset *asset_find(const char *name);
/* Answers req with the file. */
void asset_send(struct evhttp_request *req, const struct console_asset *a, int code,
    bool head);
/* A page shell: its own file, else index.html (the script reads the path); 404 if
 * neither is embedded. */
void asset_page(struct evhttp_request *req, const char *page, int code, bool head);

/* ---- assets (generated from console/www/ by the Makefile) ---- */
struct console_asset {
	const char *name;           /* path under www/: "index.html", "i18n/fr.json" */
	const unsigned char *data;
	size_t len;
};
extern const struct console_asset console_assets[];
extern const size_t console_assets_count;

#endif
