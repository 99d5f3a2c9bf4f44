/*
 * Unit tests of rogatory-console's HTTP handlers (console/web.c, api.c, events.c,
 * compose.c) against the contract of the control protocol: the console runs in this
 * process on its own event loop thread, serving a loopback port, and talks to a small
 * fake rogatoryd on a unix socket that answers the console ops as Part A's daemon will
 * (ConsoleRedeem, ConsoleWhoami, a session-checked Status and Retry, a log follow).
 * The test thread speaks raw HTTP over a blocking socket, so that oversized heads and
 * bodies, traversal attempts and missing tokens are sent byte for byte.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "../support/support.h"
#include "console.h"
#include "frame.h"

#define GOOD_TOKEN "00112233445566778899aabbccddeeff"
#define SESSION "0123456789abcdef0123456789abcdef"
#define CSRF "fedcba9876543210fedcba9876543210"
#define OTHER "ffffffffffffffffffffffffffffffff"
#define SESSION_N(n) "0123456789abcdef01234567" "0000000" #n

#define CSP "Content-Security-Policy: default-src 'none'; script-src 'self'; " \
    "style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; " \
    "form-action 'self'; frame-ancestors 'none'\r\n"

/* ---- the fake daemon ---- */

struct fake {
	struct evconnlistener *lev;
	int requests;               /* every request received */
	int mutating;               /* retry requests received */
	char last_csrf[40];
	struct bufferevent *follower;
	uint64_t follow_id;
	struct event *push;         /* test thread -> loop: send one log event */
	struct event *restart;      /* test thread -> loop: drop every connection */
	int64_t next_seq;
	bool session_ended;         /* whoami/status say session-ended from now on */
	struct bufferevent *uploader;   /* a SendRequest with attachments waiting */
	uint64_t upload_id;
	uint64_t upload_total, upload_got;
	char upload_msg[40];
	int sends;
	struct bufferevent *conns[64];  /* every accepted connection, freed at the end */
	int nconns;
	/* As rogatoryd (daemon/control.c) answers a request wire.c refuses: request_id 0. */
	int invalid;                /* requests refused by wire_ctl_request_decode */
	bool zero_status;           /* a Status is answered with request_id 0 */
	int refuse_upload;          /* an UploadRequest is refused session-ended: 1 with its
	                             * own request_id, 2 with request_id 0 */
	int redeems;                /* ConsoleRedeem requests */
	bool mute_status;           /* a Status is never answered */
	bool mute_upload;           /* an upload's send is never answered */
};

static struct event_base *base;
static struct fake fake;
static struct console con;
static struct cconf cfg;
static pthread_t loop_thread;
static int port;
static char *tmp;

static void
fake_reply(struct bufferevent *bev, uint64_t id, Rogatory__Ctl__V1__ReplyCode code,
    const char *ecode, const char *json)
{
	Rogatory__Ctl__V1__Reply r = ROGATORY__CTL__V1__REPLY__INIT;
	r.request_id = id;
	r.code = code;
	if (ecode != NULL) {
		r.error_code.data = (uint8_t *)ecode;
		r.error_code.len = strlen(ecode);
		r.error_text.data = (uint8_t *)"refused by the fake";
		r.error_text.len = strlen("refused by the fake");
	}
	if (json != NULL) {
		r.json.data = (uint8_t *)json;
		r.json.len = strlen(json);
	}
	frame_append(bufferevent_get_output(bev), &r.base, FRAME_CONTROL_MAX);
}

static bool
is(const ProtobufCBinaryData *b, const char *s)
{
	return b->len == strlen(s) && memcmp(b->data, s, b->len) == 0;
}

#define OK ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK
#define REFUSED ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED

static void
fake_handle(struct bufferevent *bev, const Rogatory__Ctl__V1__Request *q)
{
	fake.requests++;
	/* SESSION, and the sessions that differ from it in the last 8 digits (SESSION_N). */
	bool good = q->session.len == 32 && memcmp(q->session.data, SESSION, 24) == 0 &&
	    !fake.session_ended;
	switch (q->op_case) {
	case ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_REDEEM:
		fake.redeems++;
		if (is(&q->console_redeem->token, GOOD_TOKEN))
			fake_reply(bev, q->request_id, OK, NULL, "{\"session\":\"" SESSION "\",\"csrf\":\""
			    CSRF "\",\"name\":\"alice\",\"role\":\"officer\",\"expires\":\"x\"}");
		else
			fake_reply(bev, q->request_id, REFUSED, "login-invalid", NULL);
		return;
	case ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_WHOAMI:
		if (good)
			fake_reply(bev, q->request_id, OK, NULL, "{\"name\":\"alice\",\"role\":\"officer\","
			    "\"csrf\":\"" CSRF "\",\"expires\":\"x\",\"idle_expires\":\"y\"}");
		else
			fake_reply(bev, q->request_id, REFUSED, "session-ended", NULL);
		return;
	case ROGATORY__CTL__V1__REQUEST__OP_STATUS:
		if (fake.mute_status)
			return;
		if (fake.zero_status)
			fake_reply(bev, 0, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST,
			    "bad-request", NULL);
		else if (q->session.len > 0 && !good)
			fake_reply(bev, q->request_id, REFUSED, "session-ended", NULL);
		else
			fake_reply(bev, q->request_id, OK, NULL, "{\"authority\":\"FR-MJ\"}");
		return;
	case ROGATORY__CTL__V1__REQUEST__OP_RETRY:
		fake.mutating++;
		snprintf(fake.last_csrf, sizeof(fake.last_csrf), "%.*s", (int)q->csrf.len,
		    (const char *)q->csrf.data);
		if (!good)
			fake_reply(bev, q->request_id, REFUSED, "session-ended", NULL);
		else if (!is(&q->csrf, CSRF))
			fake_reply(bev, q->request_id, REFUSED, "csrf", NULL);
		else
			fake_reply(bev, q->request_id, OK, NULL, "{\"id\":\"x\",\"state\":\"queued\"}");
		return;
	case ROGATORY__CTL__V1__REQUEST__OP_AUTHORITY:
		fake_reply(bev, q->request_id, OK, NULL, "{\"id\":\"DE-BMJ\",\"name\":\"x\","
		    "\"languages\":[\"en\",\"de\"],\"kinds\":[\"mla\"],\"requirements\":{}}");
		return;
	case ROGATORY__CTL__V1__REQUEST__OP_CASE_GET:
		fake_reply(bev, q->request_id, OK, NULL, "{\"case\":{\"id\":\""
		    "0b5a4c4e-2a51-4c1e-8a4e-2b1d6c0f3a11\",\"kind\":\"mla\",\"side\":\"requested\","
		    "\"status\":\"requested\",\"consulted\":false,\"peer\":\"DE-BMJ\",\"urgent\":"
		    "false,\"requester_reference\":\"R-1\"}}");
		return;
	case ROGATORY__CTL__V1__REQUEST__OP_SEND: {
		const Rogatory__Ctl__V1__SendRequest *sr = q->send;
		fake.sends++;
		if (!good || !is(&q->csrf, CSRF)) {
			fake_reply(bev, q->request_id, REFUSED, good ? "csrf" : "session-ended", NULL);
			return;
		}
		if (sr->n_attachments > 0 && is(&sr->attachments[0]->name, "refuse.txt")) {
			fake_reply(bev, q->request_id, REFUSED, "too-large", NULL);
			return;
		}
		if (sr->n_attachments > 0) {
			fake.uploader = bev;
			fake.upload_id = q->request_id;
			fake.upload_total = 0;
			fake.upload_got = 0;
			for (size_t i = 0; i < sr->n_attachments; i++)
				fake.upload_total += sr->attachments[i]->size;
			snprintf(fake.upload_msg, sizeof(fake.upload_msg), "%.*s",
			    (int)sr->message_id.len, (const char *)sr->message_id.data);
			return;
		}
		fake_reply(bev, q->request_id, OK, NULL, "{\"id\":\"m\",\"state\":\"queued\"}");
		return;
	}
	case ROGATORY__CTL__V1__REQUEST__OP_LOG:
		if (q->log->follow) {
			fake.follower = bev;
			fake.follow_id = q->request_id;
			fake_reply(bev, q->request_id, OK, NULL, "[{\"seq\":5,\"event\":\"queued\"}]");
			fake.next_seq = 6;
		} else {
			fake_reply(bev, q->request_id, OK, NULL, "[]");
		}
		return;
	default:
		fake_reply(bev, q->request_id, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST,
		    "unknown-request", NULL);
	}
}

static void
fake_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		const uint8_t *body;
		size_t len;
		char err[128];
		if (frame_peek(in, FRAME_CONTROL_MAX, &body, &len, err, sizeof(err)) != FRAME_READY)
			return;
		/* Checked as rogatoryd checks it: a request it refuses is answered with
		 * request_id 0 (the daemon cannot tell which request it was). */
		Rogatory__Ctl__V1__Request *q = NULL;
		if (wire_ctl_request_decode(body, len, &q, err, sizeof(err)) != 0) {
			frame_consume(in, len);
			fake.invalid++;
			fake_reply(bev, 0, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST,
			    "bad-request", NULL);
			continue;
		}
		frame_consume(in, len);
		if (q != NULL) {
			if (q->op_case != ROGATORY__CTL__V1__REQUEST__OP_UPLOAD) {
				fake_handle(bev, q);
			} else if (fake.mute_upload) {
				/* taken, never answered */
			} else if (fake.refuse_upload != 0) {
				fake_reply(bev, fake.refuse_upload == 1 ? q->request_id : 0, REFUSED,
				    "session-ended", NULL);
			} else if (bev == fake.uploader && is(&q->upload->message_id, fake.upload_msg) &&
			    q->upload->offset + q->upload->data.len <= fake.upload_total) {
				fake.upload_got += q->upload->data.len;
				if (fake.upload_got == fake.upload_total)
					fake_reply(bev, fake.upload_id, OK, NULL,
					    "{\"id\":\"m\",\"state\":\"queued\",\"attachments\":1}");
			}
			wire_ctl_request_free(q);
		}
	}
}

static void
fake_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (fake.follower == bev)
		fake.follower = NULL;
	for (int i = 0; i < fake.nconns; i++)
		if (fake.conns[i] == bev)
			fake.conns[i] = NULL;
	bufferevent_free(bev);
}

static void
fake_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;
	struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(bev, fake_read, NULL, fake_event, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (fake.nconns < 64)
		fake.conns[fake.nconns++] = bev;
}

static void
fake_push(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (fake.follower == NULL)
		return;
	char json[128];
	snprintf(json, sizeof(json), "{\"seq\":%lld,\"event\":\"delivered\",\"id\":\"m1\"}",
	    (long long)fake.next_seq++);
	fake_reply(fake.follower, fake.follow_id, OK, NULL, json);
}

static void
fake_restart(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	for (int i = 0; i < fake.nconns; i++)
		if (fake.conns[i] != NULL)
			bufferevent_free(fake.conns[i]);
	fake.nconns = 0;
	fake.follower = NULL;
}

/* ---- the console under test ---- */

static void *
loop_main(void *arg)
{
	(void)arg;
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void
start(bool with_daemon)
{
	evthread_use_pthreads();
	tmp = ts_tmpdir("console");
	base = event_base_new();
	cr_assert_not_null(base);
	memset(&fake, 0, sizeof(fake));
	static char sock[256];
	snprintf(sock, sizeof(sock), "%s/ctl.sock", tmp);
	if (with_daemon) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		cr_assert(strlen(sock) < sizeof(sun.sun_path));
		memcpy(sun.sun_path, sock, strlen(sock) + 1);
		fake.lev = evconnlistener_new_bind(base, fake_accept, NULL, LEV_OPT_CLOSE_ON_FREE, 16,
		    (struct sockaddr *)&sun, sizeof(sun));
		cr_assert_not_null(fake.lev, "fake daemon socket %s", sock);
	}
	fake.push = event_new(base, -1, 0, fake_push, NULL);
	fake.restart = event_new(base, -1, 0, fake_restart, NULL);
	memset(&cfg, 0, sizeof(cfg));
	cfg.socket = sock;
	cfg.listen = (char *)"127.0.0.1:0";
	snprintf(cfg.language, sizeof(cfg.language), "en");
	memset(&con, 0, sizeof(con));
	con.base = base;
	con.cfg = &cfg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	cr_assert(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	cr_assert(listen(fd, 64) == 0);
	cr_assert(getsockname(fd, (struct sockaddr *)&sin, &sl) == 0);
	port = ntohs(sin.sin_port);
	evutil_make_socket_nonblocking(fd);
	char err[256];
	cr_assert(web_start_fd(&con, fd, err, sizeof(err)) == 0, "%s", err);
	cr_assert(pthread_create(&loop_thread, NULL, loop_main, NULL) == 0);
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	web_stop(&con);
	if (fake.lev != NULL)
		evconnlistener_free(fake.lev);
	for (int i = 0; i < fake.nconns; i++)
		if (fake.conns[i] != NULL)
			bufferevent_free(fake.conns[i]);
	event_free(fake.push);
	event_free(fake.restart);
	event_base_loopbreak(base);
}

static void
stop(void)
{
	event_base_once(base, -1, EV_TIMEOUT, stop_cb, NULL, NULL);
	pthread_join(loop_thread, NULL);
	event_base_free(base);
	ts_rmrf(tmp);
	free(tmp);
}

static void
setup_daemon(void)
{
	start(true);
}

static void
setup_nodaemon(void)
{
	start(false);
}

/* ---- a raw HTTP client ---- */

/* The source address of the next connections (0: the kernel's choice, 127.0.0.1). */
static in_addr_t http_from;

static int
connect_console(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (http_from != 0) {
		struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr.s_addr = http_from};
		cr_assert(bind(fd, (struct sockaddr *)&from, sizeof(from)) == 0, "bind: %s",
		    strerror(errno));
	}
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0, "connect: %s",
	    strerror(errno));
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return;     /* the console may close early (oversized input) */
		p += w;
		n -= (size_t)w;
	}
}

/* Reads until the peer closes (or the time-out), at most 1 MiB; NUL-terminated. */
static char *
read_all(int fd)
{
	size_t cap = 1 << 20, n = 0;
	char *b = malloc(cap + 1);
	for (;;) {
		ssize_t r = read(fd, b + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == cap)
			break;
	}
	b[n] = '\0';
	return b;
}

/* One request (raw bytes), the whole answer. */
static char *
http_raw(const char *req, size_t len)
{
	int fd = connect_console();
	send_all(fd, req, len);
	char *a = read_all(fd);
	close(fd);
	return a;
}

static char *
http(const char *method, const char *target, const char *headers, const char *body)
{
	char *req = NULL;
	int n = asprintf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
	    "%s%sContent-Length: %zu\r\n\r\n%s", method, target, headers ? headers : "",
	    "", body ? strlen(body) : 0, body ? body : "");
	cr_assert(n > 0);
	char *a = http_raw(req, (size_t)n);
	free(req);
	return a;
}

static int
status_of(const char *a)
{
	int code = 0;
	if (sscanf(a, "HTTP/1.%*d %d", &code) != 1)
		return 0;
	return code;
}

static void
assert_security_headers(const char *a, const char *what)
{
	cr_assert(strstr(a, CSP) != NULL, "%s: no CSP in:\n%s", what, a);
	cr_assert(strstr(a, "\r\nX-Frame-Options: DENY\r\n") != NULL, "%s: X-Frame-Options", what);
	cr_assert(strstr(a, "\r\nX-Content-Type-Options: nosniff\r\n") != NULL, "%s: nosniff",
	    what);
	cr_assert(strstr(a, "\r\nReferrer-Policy: no-referrer\r\n") != NULL, "%s: Referrer", what);
}

#define COOKIE "Cookie: rg_session=" SESSION "\r\n"
/* What a browser sends with the login page's form (http() says Host: 127.0.0.1). */
#define LOGIN_H "Origin: http://127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"

/* ---- tests ---- */

TestSuite(console_http, .init = setup_daemon, .fini = stop, .timeout = 30);

Test(console_http, unknown_paths_are_404)
{
	static const char *const paths[] = {"/nope", "/static/nope.js", "/api/nope",
	    "/api/status/extra", "/index.html", "/static/", "/login/x"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char *a = http("GET", paths[i], COOKIE, NULL);
		cr_assert_eq(status_of(a), 404, "%s: %s", paths[i], a);
		assert_security_headers(a, paths[i]);
		free(a);
	}
}

Test(console_http, path_traversal_is_refused)
{
	static const char *const paths[] = {"/static/../console.h", "/static/%2e%2e/web.c",
	    "/static/..%2fweb.c", "/static%2fapp.js", "/%2e%2e/%2e%2e/etc/passwd",
	    "/static/.%2e/web.c", "/static//app.js", "/static/app.js%00", "/static/..\\web.c",
	    "/static/%252e%252e/x", "/../../etc/passwd", "/static/./app.js"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char *a = http("GET", paths[i], COOKIE, NULL);
		int st = status_of(a);
		cr_assert(st == 400 || st == 404, "%s: %d\n%s", paths[i], st, a);
		cr_assert(strstr(a, "placeholder") == NULL, "%s served a file", paths[i]);
		free(a);
	}
	/* And the plain one is served. */
	char *a = http("GET", "/static/app.js", NULL, NULL);
	cr_assert_eq(status_of(a), 200, "%s", a);
	cr_assert(strstr(a, "Content-Type: text/javascript") != NULL, "%s", a);
	free(a);
}

Test(console_http, every_response_carries_the_security_headers)
{
	static const struct {
		const char *method, *target, *headers, *body;
		int status;
	} cases[] = {
		{"GET", "/", NULL, NULL, 303},
		{"GET", "/", COOKIE, NULL, 200},
		{"GET", "/messages", COOKIE, NULL, 200},
		{"GET", "/login", NULL, NULL, 200},
		{"GET", "/login?token=" GOOD_TOKEN, NULL, NULL, 200},
		{"GET", "/login?token=nope", NULL, NULL, 403},
		{"POST", "/login", LOGIN_H, "token=" GOOD_TOKEN, 303},
		{"POST", "/login", LOGIN_H, "token=" OTHER, 403},
		{"POST", "/login", "Origin: http://evil.example\r\n", "token=" GOOD_TOKEN, 403},
		{"GET", "/static/app.css", NULL, NULL, 200},
		{"GET", "/api/status", NULL, NULL, 401},
		{"GET", "/api/status", COOKIE, NULL, 200},
		{"GET", "/api/status", "Cookie: rg_session=" OTHER "\r\n", NULL, 401},
		{"GET", "/api/message?id=nope", COOKIE, NULL, 400},
		{"POST", "/api/retry", COOKIE, "{}", 403},
		{"PUT", "/api/retry", COOKIE, "{}", 405},
		{"GET", "/api/retry", COOKIE, NULL, 405},
		{"GET", "/nope", NULL, NULL, 404},
		{"GET", "/static/../x", NULL, NULL, 400},
		{"GET", "/api/kinds", COOKIE, NULL, 200},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *a = http(cases[i].method, cases[i].target, cases[i].headers, cases[i].body);
		char what[128];
		snprintf(what, sizeof(what), "%s %s", cases[i].method, cases[i].target);
		cr_assert_eq(status_of(a), cases[i].status, "%s: %s", what, a);
		assert_security_headers(a, what);
		if (strncmp(cases[i].target, "/api/", 5) == 0)
			cr_assert(strstr(a, "\r\nCache-Control: no-store\r\n") != NULL, "%s", what);
		free(a);
	}
}

Test(console_http, a_post_without_csrf_is_403_before_the_daemon_is_asked)
{
	char *a = http("POST", "/api/retry", COOKIE "Content-Type: application/json\r\n",
	    "{\"id\":\"0b5a4c4e-2a51-4c1e-8a4e-2b1d6c0f3a11\"}");
	cr_assert_eq(status_of(a), 403, "%s", a);
	cr_assert(strstr(a, "\"error\":\"csrf\"") != NULL, "%s", a);
	free(a);
	cr_assert_eq(fake.requests, 0, "the daemon was asked %d times", fake.requests);
	/* A malformed token is no token. */
	a = http("POST", "/api/retry", COOKIE "X-CSRF-Token: nope\r\n", "{}");
	cr_assert_eq(status_of(a), 403, "%s", a);
	free(a);
	cr_assert_eq(fake.requests, 0);
	/* A wrong one: the session's token is asked for, the retry never sent. */
	a = http("POST", "/api/retry", COOKIE "X-CSRF-Token: " OTHER "\r\n",
	    "{\"id\":\"0b5a4c4e-2a51-4c1e-8a4e-2b1d6c0f3a11\"}");
	cr_assert_eq(status_of(a), 403, "%s", a);
	cr_assert(strstr(a, "\"error\":\"csrf\"") != NULL, "%s", a);
	free(a);
	cr_assert_eq(fake.mutating, 0);
	/* The right one: forwarded with the token. */
	a = http("POST", "/api/retry", COOKIE "X-CSRF-Token: " CSRF "\r\n",
	    "{\"id\":\"0b5a4c4e-2a51-4c1e-8a4e-2b1d6c0f3a11\"}");
	cr_assert_eq(status_of(a), 200, "%s", a);
	cr_assert(strstr(a, "\"state\":\"queued\"") != NULL, "%s", a);
	free(a);
	cr_assert_eq(fake.mutating, 1);
	cr_assert_str_eq(fake.last_csrf, CSRF);
}

Test(console_http, oversized_headers_are_refused_and_the_console_goes_on)
{
	size_t big = 10 * 1024;
	char *filler = malloc(big + 1);
	memset(filler, 'a', big);
	filler[big] = '\0';
	char *req = NULL;
	int n = asprintf(&req, "GET /api/status HTTP/1.1\r\nHost: x\r\nX-Filler: %s\r\n"
	    "Connection: close\r\n\r\n", filler);
	char *a = http_raw(req, (size_t)n);
	int st = status_of(a);
	cr_assert(st == 0 || st == 400 || st == 413 || st == 431, "%d\n%.300s", st, a);
	free(a);
	free(req);
	/* Many small headers past 8 KiB in all. */
	char *many = malloc(64 * 200 + 1);
	many[0] = '\0';
	for (int i = 0; i < 200; i++)
		snprintf(many + strlen(many), 64, "X-H%d: %040d\r\n", i, i);
	a = http("GET", "/api/status", many, NULL);
	st = status_of(a);
	cr_assert(st == 0 || st == 400 || st == 413 || st == 431, "%d\n%.300s", st, a);
	free(a);
	free(many);
	free(filler);
	a = http("GET", "/api/status", COOKIE, NULL);
	cr_assert_eq(status_of(a), 200, "%s", a);
	free(a);
}

Test(console_http, oversized_bodies_are_refused)
{
	/* Declared above 1 MiB: refused from the head alone. */
	const char *head = "POST /api/retry HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    COOKIE "X-CSRF-Token: " CSRF "\r\nContent-Length: 2000000\r\n\r\n{";
	char *a = http_raw(head, strlen(head));
	int st = status_of(a);
	cr_assert(st == 413 || st == 400 || st == 0, "%d\n%.300s", st, a);
	cr_assert_neq(st, 200);
	free(a);
	cr_assert_eq(fake.mutating, 0);
	/* An upload chunk above 256 KiB, even within 1 MiB: 413 from the console. */
	size_t len = 300 * 1024;
	char *body = malloc(len + 1);
	memset(body, 'x', len);
	body[len] = '\0';
	a = http("POST", "/api/upload?u=" OTHER "&index=0&offset=0",
	    COOKIE "X-CSRF-Token: " CSRF "\r\n", body);
	cr_assert_eq(status_of(a), 413, "%.400s", a);
	assert_security_headers(a, "upload");
	free(a);
	/* A JSON body that is no object. */
	a = http("POST", "/api/retry", COOKIE "X-CSRF-Token: " CSRF "\r\n", "[1,2]");
	cr_assert_eq(status_of(a), 400, "%s", a);
	free(a);
	free(body);
	a = http("GET", "/api/status", COOKIE, NULL);
	cr_assert_eq(status_of(a), 200, "%s", a);
	free(a);
}

Test(console_http, the_login_link_sets_the_cookie)
{
	char *a = http("POST", "/login", LOGIN_H, "token=" GOOD_TOKEN);
	cr_assert_eq(status_of(a), 303, "%s", a);
	cr_assert(strstr(a, "\r\nSet-Cookie: rg_session=" SESSION "; HttpOnly; SameSite=Strict; "
	    "Path=/\r\n") != NULL, "%s", a);
	cr_assert(strstr(a, "\r\nLocation: /\r\n") != NULL, "%s", a);
	cr_assert(strstr(a, CSRF) == NULL, "the CSRF token belongs in /api/me only");
	free(a);
	a = http("POST", "/login", LOGIN_H, "token=" OTHER);
	cr_assert_eq(status_of(a), 403, "%s", a);
	cr_assert(strstr(a, "Set-Cookie") == NULL);
	cr_assert(strstr(a, "rogatoryctl console login") != NULL, "the login page: %s", a);
	cr_assert(strstr(a, "id=\"refused\"") != NULL, "the refusal: %s", a);
	free(a);
	a = http("GET", "/login?token=../../x", NULL, NULL);
	cr_assert_eq(status_of(a), 403, "%s", a);
	free(a);
	/* Without an Origin, the browser's Sec-Fetch-Site says where it comes from. */
	a = http("POST", "/login", "Sec-Fetch-Site: same-origin\r\n", "token=" GOOD_TOKEN);
	cr_assert_eq(status_of(a), 303, "%s", a);
	free(a);
	/* Nor when it is "null" (a form posted under Referrer-Policy: no-referrer). */
	a = http("POST", "/login", "Origin: null\r\nSec-Fetch-Site: same-origin\r\n",
	    "token=" GOOD_TOKEN);
	cr_assert_eq(status_of(a), 303, "%s", a);
	free(a);
}

Test(console_http, the_login_link_only_shows_a_form_and_a_foreign_post_is_refused)
{
	/* GET with the token: a page whose button POSTs it; nothing redeemed. */
	char *a = http("GET", "/login?token=" GOOD_TOKEN, NULL, NULL);
	cr_assert_eq(status_of(a), 200, "%s", a);
	cr_assert(strstr(a, "Set-Cookie") == NULL, "%s", a);
	cr_assert(strstr(a, "<form id=\"signin\" method=\"post\" action=\"/login\">") != NULL,
	    "%s", a);
	cr_assert(strstr(a, "<input type=\"hidden\" name=\"token\" value=\"" GOOD_TOKEN
	    "\">") != NULL, "%s", a);
	cr_assert(strstr(a, "data-i18n=\"login.signin\"") != NULL, "%s", a);
	cr_assert(strstr(a, "<script>") == NULL, "no inline script: %s", a);
	assert_security_headers(a, "login form");
	free(a);
	cr_assert_eq(fake.redeems, 0, "a GET redeemed the token");
	/* A POST from another site, or with nothing to say where it comes from: 403. */
	static const char *const foreign[] = {"Origin: http://evil.example\r\n",
	    "Origin: https://127.0.0.1\r\n", "Origin: null\r\n", "",
	    "Origin: null\r\nSec-Fetch-Site: cross-site\r\n",
	    "Origin: http://evil.example\r\nSec-Fetch-Site: same-origin\r\n",
	    "Sec-Fetch-Site: cross-site\r\n", "Sec-Fetch-Site: same-site\r\n"};
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		a = http("POST", "/login", foreign[i], "token=" GOOD_TOKEN);
		cr_assert_eq(status_of(a), 403, "%s: %s", foreign[i], a);
		cr_assert(strstr(a, "Set-Cookie") == NULL, "%s", a);
		free(a);
	}
	cr_assert_eq(fake.redeems, 0);
}

Test(console_http, the_cookie_is_secure_under_tls)
{
	con.tls = true;     /* what web_start sets with a certificate (the TLS itself: conf) */
	char *a = http("POST", "/login", "Origin: https://127.0.0.1\r\n", "token=" GOOD_TOKEN);
	cr_assert_eq(status_of(a), 303, "%s", a);
	cr_assert(strstr(a, "\r\nSet-Cookie: __Host-rg_session=" SESSION "; HttpOnly; "
	    "SameSite=Strict; Path=/; Secure\r\n") != NULL, "%s", a);
	free(a);
	/* Only the name of the mode is a session. */
	a = http("GET", "/api/status", COOKIE, NULL);
	cr_assert_eq(status_of(a), 401, "%s", a);
	free(a);
	a = http("GET", "/api/status", "Cookie: __Host-rg_session=" SESSION "\r\n", NULL);
	cr_assert_eq(status_of(a), 200, "%s", a);
	free(a);
	/* And an http:// origin is not ours. */
	a = http("POST", "/login", LOGIN_H, "token=" GOOD_TOKEN);
	cr_assert_eq(status_of(a), 403, "%s", a);
	free(a);
}

Test(console_http, login_redemptions_are_rate_limited)
{
	int ok = 0, limited = 0;
	for (int i = 0; i < 40; i++) {
		char *a = http("POST", "/login", LOGIN_H, "token=" GOOD_TOKEN);
		int st = status_of(a);
		cr_assert(st == 303 || st == 429, "%s", a);
		if (st == 429) {
			limited++;
			cr_assert(strstr(a, "too-many-logins") != NULL, "%s", a);
			assert_security_headers(a, "429");
		} else {
			ok++;
		}
		free(a);
	}
	cr_assert_geq(ok, CONSOLE_LOGIN_BURST, "%d", ok);
	cr_assert_gt(limited, 0, "40 logins at once, none refused");
	cr_assert_eq(fake.redeems, ok, "a refused login reached the daemon");
	/* The flood emptied 127.0.0.1's bucket only: an officer at another address still
	 * logs in (the buckets are per client address). */
	http_from = htonl(0x7f000002);      /* 127.0.0.2 */
	char *a = http("POST", "/login", LOGIN_H, "token=" GOOD_TOKEN);
	http_from = 0;
	cr_assert_eq(status_of(a), 303, "a login from another address was refused:\n%s", a);
	free(a);
}

Test(console_http, pages_need_a_session)
{
	char *a = http("GET", "/cases", NULL, NULL);
	cr_assert_eq(status_of(a), 303, "%s", a);
	cr_assert(strstr(a, "\r\nLocation: /login\r\n") != NULL, "%s", a);
	free(a);
	a = http("GET", "/cases", COOKIE, NULL);
	cr_assert_eq(status_of(a), 200, "%s", a);
	cr_assert(strstr(a, "Content-Type: text/html") != NULL, "%s", a);
	free(a);
	a = http("GET", "/cases", "Cookie: rg_session=" OTHER "\r\n", NULL);
	cr_assert_eq(status_of(a), 303, "%s", a);
	free(a);
	a = http("GET", "/api/me", COOKIE, NULL);
	cr_assert_eq(status_of(a), 200, "%s", a);
	cr_assert(strstr(a, "\"csrf\":\"" CSRF "\"") != NULL, "%s", a);
	cr_assert(strstr(a, "\"language\":\"en\"") != NULL, "%s", a);
	free(a);
}

Test(console_http, bad_parameters_are_400_before_the_daemon)
{
	static const char *const targets[] = {"/api/message?id=x", "/api/messages?direction=up",
	    "/api/messages?limit=201", "/api/messages?id=XYZ", "/api/stats?since=yesterday",
	    "/api/case?id=", "/api/cases?dir=sideways", "/api/export/file?id="
	    "0b5a4c4e-2a51-4c1e-8a4e-2b1d6c0f3a11&part=0", "/api/template?kind=nope",
	    "/api/authority?id=%00", "/api/events?after=-3",
	    /* What the console's own checks let by and rogatoryd's (wire.c) would not: */
	    "/api/messages?before=18446744073709551615", "/api/messages?state=abcdefghijklmnop",
	    "/api/directory?id=%00FR-MJ", "/api/directory?id=FR%01MJ",
	    "/api/messages?peer=%7fFR"};
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		char *a = http("GET", targets[i], COOKIE, NULL);
		cr_assert_eq(status_of(a), 400, "%s: %s", targets[i], a);
		free(a);
	}
	cr_assert_eq(fake.requests, 0);
	/* Attachment names rogatoryd refuses: 400 with its checker's text, no send. */
	static const char *const atts[] = {
	    "[{\"name\":\"..\",\"size\":10}]",
	    "[{\"name\":\"a.txt\",\"size\":10},{\"name\":\"a.txt\",\"size\":10}]"};
	for (size_t i = 0; i < sizeof(atts) / sizeof(atts[0]); i++) {
		char body[512];
		snprintf(body, sizeof(body), "{\"request_id\":\"0b5a4c4e-2a51-4c1e-8a4e-2b1d6c0f3a11\","
		    "\"status\":\"acknowledged\",\"reference\":\"OUR-1\",\"attachments\":%s}",
		    atts[i]);
		char *a = http("POST", "/api/update", COOKIE "X-CSRF-Token: " CSRF "\r\n", body);
		cr_assert_eq(status_of(a), 400, "%s: %s", atts[i], a);
		cr_assert(strstr(a, "\"error\":\"bad-request\"") != NULL, "%s", a);
		free(a);
	}
	cr_assert_eq(fake.sends, 0);
	cr_assert_eq(fake.invalid, 0, "the daemon was sent what it refuses");
}

Test(console_http, a_reply_with_request_id_0_fails_the_pending_request)
{
	fake.zero_status = true;
	char *a = http("GET", "/api/status", COOKIE, NULL);
	cr_assert_eq(status_of(a), 400, "%s", a);
	cr_assert(strstr(a, "\"error\":\"bad-request\"") != NULL, "%s", a);
	free(a);
	fake.zero_status = false;
	a = http("GET", "/api/status", COOKIE, NULL);
	cr_assert_eq(status_of(a), 200, "%s", a);
	free(a);
}

Test(console_http, a_request_the_daemon_does_not_answer_is_504)
{
	con.deadline_ms = 300;
	fake.mute_status = true;
	char *a = http("GET", "/api/status", COOKIE, NULL);
	cr_assert_eq(status_of(a), 504, "%s", a);
	cr_assert(strstr(a, "\"error\":\"daemon-timeout\"") != NULL, "%s", a);
	assert_security_headers(a, "504");
	free(a);
	fake.mute_status = false;
	a = http("GET", "/api/status", COOKIE, NULL);
	cr_assert_eq(status_of(a), 200, "%s", a);
	free(a);
}

Test(console_http, the_template_is_drafts)
{
	char *a = http("GET", "/api/template?kind=mla", COOKIE, NULL);
	cr_assert_eq(status_of(a), 200, "%s", a);
	cr_assert(strstr(a, "\"document\":") != NULL && strstr(a, "\"elements\":") != NULL, "%s",
	    a);
	free(a);
}

Test(console_http, the_event_stream_fans_out_the_follow)
{
	int fd = connect_console();
	const char *req = "GET /api/events HTTP/1.1\r\nHost: x\r\n" COOKIE "\r\n";
	send_all(fd, req, strlen(req));
	char buf[4096] = "";
	size_t n = 0;
	bool pushed = false;
	for (int tries = 0; tries < 100 && strstr(buf, "event: log") == NULL; tries++) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		cr_assert(r > 0, "stream ended: %.*s", (int)n, buf);
		n += (size_t)r;
		buf[n] = '\0';
		if (!pushed && strstr(buf, "retry: 3000") != NULL) {
			/* Push once the fake holds the follow: it answered the history on that
			 * connection first, so the pushed event comes after it. */
			for (int w = 0; w < 250 && fake.follower == NULL; w++)
				usleep(20000);   /* a poll's pause: until the follow, 5 s at most */
			event_active(fake.push, EV_TIMEOUT, 0);
			pushed = true;
		}
	}
	cr_assert(strstr(buf, "Content-Type: text/event-stream") != NULL, "%s", buf);
	assert_security_headers(buf, "events");
	cr_assert(strstr(buf, "id: 6\r\nevent: log") != NULL || strstr(buf, "id: 6\nevent: log")
	    != NULL, "%s", buf);
	cr_assert(strstr(buf, "\"event\":\"delivered\"") != NULL, "%s", buf);
	close(fd);
}

Test(console_http, an_ended_session_gets_401)
{
	fake.session_ended = true;
	char *a = http("GET", "/api/status", COOKIE, NULL);
	cr_assert_eq(status_of(a), 401, "%s", a);
	cr_assert(strstr(a, "\"error\":\"session-ended\"") != NULL, "%s", a);
	free(a);
}

#define CSRF_H COOKIE "X-CSRF-Token: " CSRF "\r\n"

Test(console_http, validate_names_each_problem_with_its_path)
{
	char *a = http("POST", "/api/validate", CSRF_H,
	    "{\"to\":\"DE-BMJ\",\"document\":{\"kind\":\"mla\",\"subject\":\"s\","
	    "\"purpose\":\"evidence\"}}");
	cr_assert_eq(status_of(a), 200, "%s", a);
	cr_assert(strstr(a, "\"ok\":false") != NULL, "%s", a);
	cr_assert(strstr(a, "\"path\":\"facts\"") != NULL, "%s", a);
	free(a);
	a = http("POST", "/api/send", CSRF_H,
	    "{\"to\":\"DE-BMJ\",\"document\":{\"kind\":\"mla\",\"subject\":\"s\"}}");
	cr_assert_eq(status_of(a), 400, "%s", a);
	cr_assert(strstr(a, "\"error\":\"invalid-document\"") != NULL, "%s", a);
	free(a);
	cr_assert_eq(fake.sends, 0, "nothing reaches the daemon's send");
	a = http("POST", "/api/validate", CSRF_H, "{\"to\":\"nope\",\"document\":{}}");
	cr_assert_eq(status_of(a), 400, "%s", a);
	free(a);
}

/* "upload":"<32 hex>" out of an answer. */
static void
upload_id(const char *a, char out[33])
{
	const char *u = strstr(a, "\"upload\":\"");
	cr_assert_not_null(u, "%s", a);
	memcpy(out, u + 10, 32);
	out[32] = '\0';
}

Test(console_http, a_status_update_with_an_attachment_is_relayed_in_chunks)
{
	char *a = http("POST", "/api/update", CSRF_H, "{\"request_id\":"
	    "\"0b5a4c4e-2a51-4c1e-8a4e-2b1d6c0f3a11\",\"status\":\"acknowledged\","
	    "\"reference\":\"OUR-1\",\"attachments\":[{\"name\":\"a.txt\",\"media_type\":"
	    "\"text/plain\",\"size\":300000}]}");
	cr_assert_eq(status_of(a), 200, "%s", a);
	char u[33], target[200];
	upload_id(a, u);
	free(a);
	size_t first = 256 * 1024, second = 300000 - first;
	char *body = malloc(first + 1);
	memset(body, 'z', first);
	body[first] = '\0';
	/* Out of order: refused, nothing sent. */
	snprintf(target, sizeof(target), "/api/upload?u=%s&index=0&offset=5", u);
	a = http("POST", target, CSRF_H, "abc");
	cr_assert_eq(status_of(a), 409, "%s", a);
	free(a);
	/* Another token, another session, no token: refused, nothing sent. */
	snprintf(target, sizeof(target), "/api/upload?u=%s&index=0&offset=0", u);
	a = http("POST", target, COOKIE "X-CSRF-Token: " OTHER "\r\n", "abc");
	cr_assert_eq(status_of(a), 403, "%s", a);
	free(a);
	a = http("POST", target, "Cookie: rg_session=" OTHER "\r\nX-CSRF-Token: " CSRF "\r\n",
	    "abc");
	cr_assert_eq(status_of(a), 403, "%s", a);
	free(a);
	a = http("POST", target, COOKIE, "abc");
	cr_assert_eq(status_of(a), 403, "%s", a);
	free(a);
	cr_assert_eq(fake.upload_got, 0);
	a = http("POST", target, CSRF_H, body);
	cr_assert_eq(status_of(a), 200, "%s", a);
	cr_assert(strstr(a, "\"received\":262144") != NULL, "%s", a);
	free(a);
	body[second] = '\0';
	snprintf(target, sizeof(target), "/api/upload?u=%s&index=0&offset=%zu", u, first);
	a = http("POST", target, CSRF_H, body);
	cr_assert_eq(status_of(a), 200, "%s", a);
	cr_assert(strstr(a, "\"message\":{") != NULL, "%s", a);
	cr_assert(strstr(a, "\"attachments\":1") != NULL, "%s", a);
	free(a);
	cr_assert_eq(fake.upload_got, 300000);
	/* The upload is over. */
	a = http("POST", target, CSRF_H, "x");
	cr_assert_eq(status_of(a), 404, "%s", a);
	free(a);
	free(body);
}

Test(console_http, an_upload_refused_at_once_says_so)
{
	char *a = http("POST", "/api/update", CSRF_H, "{\"request_id\":"
	    "\"0b5a4c4e-2a51-4c1e-8a4e-2b1d6c0f3a11\",\"status\":\"acknowledged\","
	    "\"reference\":\"OUR-1\",\"attachments\":[{\"name\":\"refuse.txt\",\"size\":10}]}");
	cr_assert_eq(status_of(a), 413, "%s", a);
	cr_assert(strstr(a, "\"error\":\"too-large\"") != NULL, "%s", a);
	free(a);
	/* An update the case table refuses never reaches the daemon's send. */
	int sends = fake.sends;
	a = http("POST", "/api/update", CSRF_H, "{\"request_id\":"
	    "\"0b5a4c4e-2a51-4c1e-8a4e-2b1d6c0f3a11\",\"status\":\"withdrawn\"}");
	cr_assert(status_of(a) == 409 || status_of(a) == 400, "%s", a);
	free(a);
	cr_assert_eq(fake.sends, sends);
}

#define UPDATE_10 "{\"request_id\":\"0b5a4c4e-2a51-4c1e-8a4e-2b1d6c0f3a11\",\"status\":" \
    "\"acknowledged\",\"reference\":\"OUR-1\",\"attachments\":[{\"name\":\"a.txt\"," \
    "\"size\":10}]}"

/* Starts an upload of one 10-byte attachment (with headers hd); its U in u. */
static void
start_upload(const char *hd, char u[33])
{
	char *a = http("POST", "/api/update", hd, UPDATE_10);
	cr_assert_eq(status_of(a), 200, "%s", a);
	upload_id(a, u);
	free(a);
}

Test(console_http, an_upload_refused_mid_way_answers_the_chunk_and_frees_its_slot)
{
	/* A chunk refused by the daemon (the session ended meanwhile), answered with the
	 * chunk's own request_id (1) or with 0 (2): the chunk waiting gets the refusal. */
	for (int mode = 1; mode <= 2; mode++) {
		char u[33], target[200];
		start_upload(CSRF_H, u);
		fake.refuse_upload = mode;
		snprintf(target, sizeof(target), "/api/upload?u=%s&index=0&offset=0", u);
		char *a = http("POST", target, CSRF_H, "0123456789");
		cr_assert_eq(status_of(a), 401, "mode %d: %s", mode, a);
		cr_assert(strstr(a, "\"error\":\"session-ended\"") != NULL, "%s", a);
		free(a);
		/* It is over. */
		a = http("POST", target, CSRF_H, "0123456789");
		cr_assert_eq(status_of(a), 404, "%s", a);
		free(a);
		fake.refuse_upload = 0;
	}
	/* Their slots are free: 16 more uploads, one after the other, all go through. */
	for (int i = 0; i < CONSOLE_UPLOADS_MAX; i++) {
		char u[33], target[200];
		start_upload(CSRF_H, u);
		snprintf(target, sizeof(target), "/api/upload?u=%s&index=0&offset=0", u);
		char *a = http("POST", target, CSRF_H, "0123456789");
		cr_assert_eq(status_of(a), 200, "upload %d: %s", i, a);
		cr_assert(strstr(a, "\"message\":{") != NULL, "%s", a);
		free(a);
	}
}

Test(console_http, an_upload_whose_last_chunk_the_daemon_does_not_answer_is_504)
{
	con.deadline_ms = 300;
	char u[33], target[200];
	start_upload(CSRF_H, u);
	fake.mute_upload = true;
	snprintf(target, sizeof(target), "/api/upload?u=%s&index=0&offset=0", u);
	char *a = http("POST", target, CSRF_H, "0123456789");
	cr_assert_eq(status_of(a), 504, "%s", a);
	cr_assert(strstr(a, "\"error\":\"daemon-timeout\"") != NULL, "%s", a);
	free(a);
	/* Its slot is free: this session may start 2 again. */
	fake.mute_upload = false;
	start_upload(CSRF_H, u);
	start_upload(CSRF_H, u);
}

Test(console_http, a_session_has_at_most_2_uploads_at_once)
{
	char u[33];
	start_upload(CSRF_H, u);
	start_upload(CSRF_H, u);
	char *a = http("POST", "/api/update", CSRF_H, UPDATE_10);
	cr_assert_eq(status_of(a), 409, "%s", a);
	cr_assert(strstr(a, "per session") != NULL, "%s", a);
	free(a);
	/* Another session still may. */
	start_upload("Cookie: rg_session=" SESSION_N(1) "\r\nX-CSRF-Token: " CSRF "\r\n", u);
}

/* Reads one answer's head (up to the blank line) from a kept-alive connection. */
static int
read_head(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	while (n + 1 < cap && strstr(buf, "\r\n\r\n") == NULL) {
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
	}
	return status_of(buf);
}

Test(console_http, at_most_32_event_streams)
{
	int fds[CONSOLE_STREAMS_MAX];
	char buf[2048];
	const char *req = "GET /api/events HTTP/1.1\r\nHost: x\r\n" COOKIE "\r\n";
	for (int i = 0; i < CONSOLE_STREAMS_MAX; i++) {
		/* 4 streams for each of 8 sessions (SESSION_N(0..7)). */
		char ri[256];
		snprintf(ri, sizeof(ri), "GET /api/events HTTP/1.1\r\nHost: x\r\nCookie: "
		    "rg_session=0123456789abcdef012345670000000%d\r\n\r\n",
		    i / CONSOLE_SESSION_STREAMS_MAX);
		fds[i] = connect_console();
		send_all(fds[i], ri, strlen(ri));
		cr_assert_eq(read_head(fds[i], buf, sizeof(buf)), 200, "stream %d: %s", i, buf);
	}
	char *a = http("GET", "/api/events", COOKIE, NULL);
	cr_assert_eq(status_of(a), 503, "%s", a);
	cr_assert(strstr(a, "too-many-streams") != NULL, "%s", a);
	free(a);
	/* One leaves: a place again (for its session, or one without streams). */
	req = "GET /api/events HTTP/1.1\r\nHost: x\r\nCookie: rg_session="
	    "0123456789abcdef0123456700000000\r\n\r\n";
	close(fds[0]);
	int st = 0;
	for (int tries = 0; tries < 50 && st != 200; tries++) {
		usleep(20000);  /* a poll: the closes reach the console; 1 s deadline */
		int fd = connect_console();
		send_all(fd, req, strlen(req));
		st = read_head(fd, buf, sizeof(buf));
		close(fd);
	}
	cr_assert_eq(st, 200, "%s", buf);
	for (int i = 1; i < CONSOLE_STREAMS_MAX; i++)
		close(fds[i]);
}

Test(console_http, connections_beyond_the_bound_get_503)
{
	static int fds[CONSOLE_CONNS_MAX + 1];
	char buf[2048];
	const char *req = "GET /static/app.css HTTP/1.1\r\nHost: x\r\n\r\n";
	for (int i = 0; i < CONSOLE_CONNS_MAX; i++) {
		fds[i] = connect_console();
		send_all(fds[i], req, strlen(req));
		cr_assert_eq(read_head(fds[i], buf, sizeof(buf)), 200, "connection %d: %s", i, buf);
	}
	char *a = http("GET", "/static/app.css", NULL, NULL);
	cr_assert_eq(status_of(a), 503, "%.300s", a);
	assert_security_headers(a, "503");
	free(a);
	for (int i = 0; i < CONSOLE_CONNS_MAX; i++)
		close(fds[i]);
	int st = 0;
	for (int tries = 0; tries < 50 && st != 200; tries++) {
		usleep(20000);  /* a poll: the closes reach the console; 1 s deadline */
		a = http("GET", "/static/app.css", NULL, NULL);
		st = status_of(a);
		free(a);
	}
	cr_assert_eq(st, 200);
}

Test(console_http, a_session_has_at_most_4_streams_and_head_opens_none)
{
	int fds[CONSOLE_SESSION_STREAMS_MAX];
	char buf[2048];
	const char *req = "GET /api/events HTTP/1.1\r\nHost: x\r\n" COOKIE "\r\n";
	for (int i = 0; i < CONSOLE_SESSION_STREAMS_MAX; i++) {
		fds[i] = connect_console();
		send_all(fds[i], req, strlen(req));
		cr_assert_eq(read_head(fds[i], buf, sizeof(buf)), 200, "stream %d: %s", i, buf);
	}
	char *a = http("GET", "/api/events", COOKIE, NULL);
	cr_assert_eq(status_of(a), 503, "%s", a);
	cr_assert(strstr(a, "too-many-streams") != NULL, "%s", a);
	free(a);
	/* Another session has its own. */
	int other = connect_console();
	const char *ro = "GET /api/events HTTP/1.1\r\nHost: x\r\nCookie: rg_session="
	    SESSION_N(1) "\r\n\r\n";
	send_all(other, ro, strlen(ro));
	cr_assert_eq(read_head(other, buf, sizeof(buf)), 200, "%s", buf);
	/* HEAD: the headers, no stream (the connection closes, no stream stays). */
	for (int i = 0; i < 8; i++) {
		a = http("HEAD", "/api/events", "Cookie: rg_session=" SESSION_N(2) "\r\n", NULL);
		cr_assert_eq(status_of(a), 200, "%s", a);
		cr_assert(strstr(a, "text/event-stream") != NULL, "%s", a);
		free(a);
	}
	cr_assert_eq(sse_count(&con), CONSOLE_SESSION_STREAMS_MAX + 1);
	int fd = connect_console();
	const char *r2 = "GET /api/events HTTP/1.1\r\nHost: x\r\nCookie: rg_session="
	    SESSION_N(2) "\r\n\r\n";
	send_all(fd, r2, strlen(r2));
	cr_assert_eq(read_head(fd, buf, sizeof(buf)), 200, "%s", buf);
	close(fd);
	close(other);
	for (int i = 0; i < CONSOLE_SESSION_STREAMS_MAX; i++)
		close(fds[i]);
}

Test(console_http, a_session_ended_closes_its_streams_at_once)
{
	/* The periodic re-check is far (5 s): a request answered session-ended ends the
	 * session's streams now, and no event reaches them meanwhile. */
	int fd = connect_console();
	const char *req = "GET /api/events HTTP/1.1\r\nHost: x\r\n" COOKIE "\r\n";
	send_all(fd, req, strlen(req));
	char buf[8192] = "";
	cr_assert_eq(read_head(fd, buf, sizeof(buf)), 200, "%s", buf);
	int keep = connect_console();
	const char *rk = "GET /api/events HTTP/1.1\r\nHost: x\r\nCookie: rg_session="
	    SESSION_N(1) "\r\n\r\n";
	send_all(keep, rk, strlen(rk));
	char kb[4096] = "";
	cr_assert_eq(read_head(keep, kb, sizeof(kb)), 200, "%s", kb);
	fake.session_ended = true;
	char *a = http("GET", "/api/status", COOKIE, NULL);
	cr_assert_eq(status_of(a), 401, "%s", a);
	free(a);
	struct timeval tv = {2, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	size_t n = strlen(buf);
	while (strstr(buf, "\r\n0\r\n\r\n") == NULL && n + 1 < sizeof(buf)) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
	}
	cr_assert(strstr(buf, "event: end\ndata: {\"error\":\"session-ended\"}") != NULL, "%s",
	    buf);
	cr_assert(strstr(buf, "\r\n0\r\n\r\n") != NULL, "the stream was not ended: %s", buf);
	cr_assert(strstr(buf, "event: log") == NULL, "%s", buf);
	close(fd);
	close(keep);
}

Test(console_http, head_answers_without_a_body)
{
	char *a = http("HEAD", "/static/app.js", NULL, NULL);
	cr_assert_eq(status_of(a), 200, "%s", a);
	cr_assert(strstr(a, "placeholder") == NULL, "%s", a);
	assert_security_headers(a, "HEAD");
	free(a);
}

Test(console_http, a_stream_whose_session_ended_is_closed)
{
	con.sse_tick_ms = 100;      /* the re-check every 100 ms, a keep-alive every 300 ms */
	int fd = connect_console();
	const char *req = "GET /api/events HTTP/1.1\r\nHost: x\r\n" COOKIE "\r\n";
	send_all(fd, req, strlen(req));
	char buf[8192] = "";
	cr_assert_eq(read_head(fd, buf, sizeof(buf)), 200, "%s", buf);
	size_t n = strlen(buf);
	while (strstr(buf, ": keep-alive") == NULL && n + 1 < sizeof(buf)) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		cr_assert(r > 0, "the stream ended: %s", buf);
		n += (size_t)r;
		buf[n] = '\0';
	}
	fake.session_ended = true;
	for (;;) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (n + 1 >= sizeof(buf))
			break;
	}
	cr_assert(strstr(buf, ": keep-alive") != NULL, "%s", buf);
	cr_assert(strstr(buf, "event: end\ndata: {\"error\":\"session-ended\"}") != NULL, "%s",
	    buf);
	cr_assert(strstr(buf, "\r\n0\r\n\r\n") != NULL, "the stream was not ended: %s", buf);
	close(fd);
	for (int tries = 0; tries < 50 && sse_count(&con) > 0; tries++)
		usleep(20000);
	cr_assert_eq(sse_count(&con), 0);
}

Test(console_http, an_idle_upload_is_dropped)
{
	con.upload_idle_ms = 200;
	char *a = http("POST", "/api/update", CSRF_H, "{\"request_id\":"
	    "\"0b5a4c4e-2a51-4c1e-8a4e-2b1d6c0f3a11\",\"status\":\"acknowledged\","
	    "\"reference\":\"OUR-1\",\"attachments\":[{\"name\":\"a.txt\",\"size\":10}]}");
	cr_assert_eq(status_of(a), 200, "%s", a);
	char u[33], target[200];
	upload_id(a, u);
	free(a);
	usleep(600000);
	snprintf(target, sizeof(target), "/api/upload?u=%s&index=0&offset=0", u);
	a = http("POST", target, CSRF_H, "0123456789");
	cr_assert_eq(status_of(a), 404, "%s", a);
	cr_assert(strstr(a, "\"error\":\"no-upload\"") != NULL, "%s", a);
	free(a);
	cr_assert_eq(fake.upload_got, 0);
}

Test(console_http, a_daemon_restart_is_survived)
{
	int fd = connect_console();
	const char *req = "GET /api/events HTTP/1.1\r\nHost: x\r\n" COOKIE "\r\n";
	send_all(fd, req, strlen(req));
	char buf[8192] = "";
	cr_assert_eq(read_head(fd, buf, sizeof(buf)), 200, "%s", buf);
	char *a = http("GET", "/api/status", COOKIE, NULL);
	cr_assert_eq(status_of(a), 200, "%s", a);
	free(a);
	usleep(100000);
	event_active(fake.restart, EV_TIMEOUT, 0);
	usleep(100000);
	/* The shared connections are opened again. */
	a = http("GET", "/api/status", COOKIE, NULL);
	cr_assert_eq(status_of(a), 200, "%s", a);
	free(a);
	/* The stream stays, its follow comes back (2 s later) and events flow again. */
	for (int tries = 0; tries < 60 && fake.follower == NULL; tries++)
		usleep(100000);
	cr_assert_not_null(fake.follower, "the follow was not reopened");
	usleep(100000);
	event_active(fake.push, EV_TIMEOUT, 0);
	size_t n = strlen(buf);
	while (strstr(buf, "event: log") == NULL && n + 1 < sizeof(buf)) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		cr_assert(r > 0, "the stream ended: %s", buf);
		n += (size_t)r;
		buf[n] = '\0';
	}
	cr_assert(strstr(buf, "\"event\":\"delivered\"") != NULL, "%s", buf);
	close(fd);
}

TestSuite(console_nodaemon, .init = setup_nodaemon, .fini = stop, .timeout = 30);

Test(console_nodaemon, no_daemon_is_502)
{
	char *a = http("GET", "/api/status", COOKIE, NULL);
	cr_assert_eq(status_of(a), 502, "%s", a);
	cr_assert(strstr(a, "\"error\":\"daemon-unreachable\"") != NULL, "%s", a);
	assert_security_headers(a, "502");
	free(a);
	a = http("GET", "/static/app.js", NULL, NULL);
	cr_assert_eq(status_of(a), 200, "%s", a);
	free(a);
}
