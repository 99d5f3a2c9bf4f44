/*
 * 21-session: the web console's sessions against real daemons, speaking the control
 * protocol as rogatory-console does (Request.session, Request.csrf): a login link works
 * once; an expired link and an idle or too old session are refused (the test hook
 * ROGATORY_TEST_CONSOLE_TIMES shortens the times); revoke ends a name's sessions and
 * links; a viewer cannot send, an officer cannot retry, host-only requests are
 * forbidden to every session; a change without the CSRF token is refused; what a session
 * causes names "console:NAME" in the delivery and audit log and the daemon's log; the
 * messages list pages over both directions with its filters, and answers fast with
 * 100,000 messages in the store.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <sqlite3.h>

#include "frame.h"
#include "net.h"
#include "store.h"
#include "support.h"
#include "traffic.h"
#include "wire.h"

static const char *const ids3[] = {"BD-ACC", "FR-MJ", "UA-PGO"};

typedef Rogatory__Ctl__V1__Request Req;
typedef Rogatory__Ctl__V1__Reply Rep;

/* A console's view of one session: its tokens. */
struct sess {
	char token[33];
	char csrf[33];
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The pause between two polls of a condition with a deadline (a session's time-outs
 * under the test hook's seconds): never a wait on its own. */
static void
pause_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* A control connection to node i, as the console (same uid as the test) makes it. */
static int
cx_open(struct tnet *t, int i)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", t->node[i].sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0, "connect %s: %s",
	    sun.sun_path, strerror(errno));
	struct timeval tv = {.tv_sec = 30};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
io_all(int fd, uint8_t *p, size_t n, bool out)
{
	while (n > 0) {
		ssize_t r = out ? write(fd, p, n) : read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		cr_assert_gt(r, 0, "control socket %s: %s", out ? "write" : "read",
		    r < 0 ? strerror(errno) : "closed");
		p += r;
		n -= (size_t)r;
	}
}

/* One request with the session s (NULL: none; csrf: send its CSRF token), one reply. */
static Rep *
cx_call(int fd, Req *req, const struct sess *s, bool csrf)
{
	static uint64_t next_id = 100;
	req->version = CONTROL_PROTOCOL_VERSION;
	req->request_id = ++next_id;
	if (s != NULL) {
		req->session.data = (uint8_t *)s->token;
		req->session.len = strlen(s->token);
		if (csrf) {
			req->csrf.data = (uint8_t *)s->csrf;
			req->csrf.len = strlen(s->csrf);
		}
	}
	size_t n = protobuf_c_message_get_packed_size(&req->base);
	uint8_t *buf = malloc(FRAME_HEADER_LEN + n);
	cr_assert_not_null(buf);
	frame_header_put(buf, (uint32_t)n);
	protobuf_c_message_pack(&req->base, buf + FRAME_HEADER_LEN);
	io_all(fd, buf, FRAME_HEADER_LEN + n, true);
	free(buf);
	uint8_t hdr[FRAME_HEADER_LEN];
	io_all(fd, hdr, sizeof(hdr), false);
	uint32_t len = frame_header_len(hdr);
	cr_assert_leq(len, FRAME_CONTROL_MAX);
	uint8_t *body = malloc(len ? len : 1);
	cr_assert_not_null(body);
	io_all(fd, body, len, false);
	Rep *r = NULL;
	char err[256];
	cr_assert_eq(wire_ctl_reply_decode(body, len, &r, err, sizeof(err)), 0, "%s", err);
	free(body);
	cr_assert_eq(r->request_id, req->request_id);
	return r;
}

static void
want_ok(const Rep *r, const char *what)
{
	cr_assert_eq(r->code, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK, "%s: code %d %.*s: %.*s",
	    what, r->code, (int)r->error_code.len, (const char *)r->error_code.data,
	    (int)r->error_text.len, (const char *)r->error_text.data);
}

/* r is REFUSED with error_code code (and its text holds text, when given); freed. */
static void
want_refused(Rep *r, const char *code, const char *text, const char *what)
{
	cr_assert_eq(r->code, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED,
	    "%s: code %d, expected REFUSED %s (%.*s)", what, r->code, code,
	    (int)r->error_text.len, (const char *)r->error_text.data);
	cr_assert(r->error_code.len == strlen(code) &&
	    memcmp(r->error_code.data, code, r->error_code.len) == 0, "%s: error %.*s, expected %s",
	    what, (int)r->error_code.len, (const char *)r->error_code.data, code);
	if (text != NULL)
		cr_assert(memmem(r->error_text.data, r->error_text.len, text, strlen(text)) != NULL,
		    "%s: text \"%.*s\" lacks \"%s\"", what, (int)r->error_text.len,
		    (const char *)r->error_text.data, text);
	wire_ctl_reply_free(r);
}

static json_t *
rep_json(Rep *r)
{
	json_error_t je;
	json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, &je);
	cr_assert_not_null(j, "reply not JSON: %s", je.text);
	wire_ctl_reply_free(r);
	return j;
}

/* rogatoryctl console login NAME --role ROLE --json on node i: the token. */
static void
ctl_login(struct tnet *t, int i, const char *name, const char *role, char token[33])
{
	char *out = NULL;
	int rc = tnet_ctlf(t, i, &out, "--json console login %s --role %s --url "
	    "http://console.test:8743/", name, role);
	cr_assert_eq(rc, 0, "console login: exit %d\n%s", rc, out);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	const char *tok = json_string_value(json_object_get(j, "token"));
	cr_assert_not_null(tok, "%s", out);
	cr_assert_eq(strlen(tok), 32);
	char url[128];
	snprintf(url, sizeof(url), "http://console.test:8743/login?token=%s", tok);
	cr_assert_str_eq(json_string_value(json_object_get(j, "url")), url);
	cr_assert_str_eq(json_string_value(json_object_get(j, "name")), name);
	cr_assert_str_eq(json_string_value(json_object_get(j, "role")), role);
	snprintf(token, 33, "%s", tok);
	json_decref(j);
	free(out);
}

static Rep *
redeem(int fd, const char *token)
{
	Req req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__ConsoleRedeemRequest q = ROGATORY__CTL__V1__CONSOLE_REDEEM_REQUEST__INIT;
	q.token.data = (uint8_t *)token;
	q.token.len = strlen(token);
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_REDEEM;
	req.console_redeem = &q;
	return cx_call(fd, &req, NULL, false);
}

/* A login link for name made and redeemed: the session's tokens. */
static void
open_session(struct tnet *t, int i, int fd, const char *name, const char *role,
    struct sess *s)
{
	char tok[33];
	ctl_login(t, i, name, role, tok);
	Rep *r = redeem(fd, tok);
	want_ok(r, "console_redeem");
	json_t *j = rep_json(r);
	snprintf(s->token, sizeof(s->token), "%s", json_string_value(json_object_get(j, "session")));
	snprintf(s->csrf, sizeof(s->csrf), "%s", json_string_value(json_object_get(j, "csrf")));
	cr_assert_eq(strlen(s->token), 32);
	cr_assert_eq(strlen(s->csrf), 32);
	cr_assert_str_eq(json_string_value(json_object_get(j, "name")), name);
	cr_assert_str_eq(json_string_value(json_object_get(j, "role")), role);
	json_decref(j);
}

static Rep *
whoami(int fd, const struct sess *s, bool touch)
{
	Req req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__ConsoleWhoamiRequest q = ROGATORY__CTL__V1__CONSOLE_WHOAMI_REQUEST__INIT;
	q.touch = touch;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_WHOAMI;
	req.console_whoami = &q;
	return cx_call(fd, &req, s, false);
}

static Rep *
status(int fd, const struct sess *s)
{
	Req req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__StatusRequest q = ROGATORY__CTL__V1__STATUS_REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_STATUS;
	req.status = &q;
	return cx_call(fd, &req, s, false);
}

static Rep *
send_note(int fd, const struct sess *s, bool csrf, const char *id, const char *subject)
{
	Req req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__SendRequest q = ROGATORY__CTL__V1__SEND_REQUEST__INIT;
	q.message_id.data = (uint8_t *)id;
	q.message_id.len = strlen(id);
	q.recipient_id.data = (uint8_t *)"FR-MJ";
	q.recipient_id.len = 5;
	q.kind.data = (uint8_t *)"other";
	q.kind.len = 5;
	q.subject.data = (uint8_t *)subject;
	q.subject.len = strlen(subject);
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_SEND;
	req.send = &q;
	return cx_call(fd, &req, s, csrf);
}

static Rep *
retry(int fd, const struct sess *s, bool csrf, const char *id)
{
	Req req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__RetryRequest q = ROGATORY__CTL__V1__RETRY_REQUEST__INIT;
	q.message_id.data = (uint8_t *)id;
	q.message_id.len = strlen(id);
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_RETRY;
	req.retry = &q;
	return cx_call(fd, &req, s, csrf);
}

Test(session, a_login_link_works_once, .timeout = 60)
{
	struct tnet *t = tnet_new("sess-once", ids3, 1);
	tnet_start(t, 0);
	int fd = cx_open(t, 0);
	char tok[33];
	ctl_login(t, 0, "alice", "officer", tok);
	/* The token is never in the daemon's log. */
	cr_assert(tnet_wait_log(t, 0, "console login link created for alice (officer)", 5000));
	Rep *r = redeem(fd, tok);
	want_ok(r, "first redeem");
	json_t *j = rep_json(r);
	struct sess s;
	snprintf(s.token, sizeof(s.token), "%s", json_string_value(json_object_get(j, "session")));
	snprintf(s.csrf, sizeof(s.csrf), "%s", json_string_value(json_object_get(j, "csrf")));
	json_decref(j);
	want_refused(redeem(fd, tok), "login-invalid", "unknown, already used or expired",
	    "second redeem");
	want_refused(redeem(fd, "0123456789abcdef0123456789abcdef"), "login-invalid",
	    "unknown, already used or expired", "unknown token");
	want_refused(redeem(fd, "garbage"), "login-invalid", NULL, "malformed token");
	cr_assert_eq(tnet_log_count(t, 0, tok), 0, "the login token is in the daemon's log");
	cr_assert_eq(tnet_log_count(t, 0, s.token), 0, "the session token is in the log");

	r = whoami(fd, &s, true);
	want_ok(r, "whoami");
	j = rep_json(r);
	cr_assert_str_eq(json_string_value(json_object_get(j, "name")), "alice");
	cr_assert_str_eq(json_string_value(json_object_get(j, "role")), "officer");
	cr_assert_str_eq(json_string_value(json_object_get(j, "csrf")), s.csrf);
	cr_assert(json_is_string(json_object_get(j, "expires")));
	cr_assert(json_is_string(json_object_get(j, "idle_expires")));
	json_decref(j);

	/* The host's list names it. */
	char *out = tnet_ctl_ok(t, 0, "console sessions");
	cr_assert(strstr(out, "alice") && strstr(out, "officer"), "%s", out);
	free(out);
	/* Host-only requests are refused to a session, and whoami to a caller without one. */
	Req req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__ConsoleSessionsRequest cs = ROGATORY__CTL__V1__CONSOLE_SESSIONS_REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_SESSIONS;
	req.console_sessions = &cs;
	want_refused(cx_call(fd, &req, &s, true), "forbidden", "not allowed from the web console",
	    "console_sessions with a session");
	want_refused(whoami(fd, NULL, true), "no-session", NULL, "whoami without a session");

	/* Logout needs the CSRF token, then ends the session. */
	Req lo = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__ConsoleLogoutRequest lq = ROGATORY__CTL__V1__CONSOLE_LOGOUT_REQUEST__INIT;
	lo.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_LOGOUT;
	lo.console_logout = &lq;
	want_refused(cx_call(fd, &lo, &s, false), "csrf", NULL, "logout without csrf");
	want_ok(r = cx_call(fd, &lo, &s, true), "logout");
	wire_ctl_reply_free(r);
	want_refused(whoami(fd, &s, true), "session-ended", "log in again", "after logout");
	want_refused(status(fd, &s), "session-ended", NULL, "status after logout");
	out = tnet_ctl_ok(t, 0, "console sessions");
	cr_assert(strstr(out, "no console session is open"), "%s", out);
	free(out);
	close(fd);
	tnet_free(t);
}

Test(session, expired_link_idle_and_old_sessions_refused, .timeout = 90)
{
	/* Links 2 s, idle 2 s, at most 5 s. */
	setenv("ROGATORY_TEST_CONSOLE_TIMES", "2,2,5", 1);
	struct tnet *t = tnet_new("sess-expiry", ids3, 1);
	tnet_start(t, 0);
	unsetenv("ROGATORY_TEST_CONSOLE_TIMES");
	cr_assert(tnet_wait_log(t, 0, "test hook: console login links last 2s", 5000));
	int fd = cx_open(t, 0);

	/* A link used after its time: refused like an unknown one. */
	char tok[33];
	uint64_t made = mono_ms();
	ctl_login(t, 0, "late", "viewer", tok);
	while (mono_ms() < made + 2500)
		pause_ms(50);
	want_refused(redeem(fd, tok), "login-invalid", NULL, "expired link");

	/* Idle: re-checks without touch do not keep it alive; it ends within the deadline. */
	struct sess s;
	open_session(t, 0, fd, "idler", "viewer", &s);
	uint64_t opened = mono_ms(), ended = 0;
	Rep *r;
	while (ended == 0 && mono_ms() < opened + 15000) {
		r = whoami(fd, &s, false);
		if (r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
			ended = mono_ms();
			want_refused(r, "session-ended", NULL, "idle session");
		} else {
			wire_ctl_reply_free(r);
			pause_ms(100);
		}
	}
	cr_assert_neq(ended, 0, "the idle session never ended");
	cr_assert_geq(ended - opened, 1500, "ended after %llu ms, before its idle time-out",
	    (unsigned long long)(ended - opened));

	/* Used all the time, it still ends at its absolute limit. */
	open_session(t, 0, fd, "busy", "viewer", &s);
	opened = mono_ms();
	ended = 0;
	while (ended == 0 && mono_ms() < opened + 20000) {
		r = status(fd, &s);
		if (r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
			ended = mono_ms();
			want_refused(r, "session-ended", NULL, "old session");
		} else {
			wire_ctl_reply_free(r);
			pause_ms(200);
		}
	}
	cr_assert_neq(ended, 0, "the busy session never ended");
	cr_assert_geq(ended - opened, 4500, "ended after %llu ms: its idle time-out, not its "
	    "limit", (unsigned long long)(ended - opened));
	cr_assert(tnet_wait_log(t, 0, "console session of busy (viewer) ended: its time limit "
	    "passed", 5000));
	cr_assert(tnet_wait_log(t, 0, "console session of idler (viewer) ended: idle time-out",
	    5000));
	close(fd);
	tnet_free(t);
}

Test(session, revoke_ends_a_names_sessions_and_links, .timeout = 60)
{
	struct tnet *t = tnet_new("sess-revoke", ids3, 1);
	tnet_start(t, 0);
	int fd = cx_open(t, 0);
	struct sess b1, b2, c1;
	open_session(t, 0, fd, "bob", "viewer", &b1);
	open_session(t, 0, fd, "bob", "operator", &b2);
	open_session(t, 0, fd, "carol", "viewer", &c1);
	char link[33];
	ctl_login(t, 0, "bob", "viewer", link);
	char *out = tnet_ctl_ok(t, 0, "console revoke bob");
	cr_assert(strstr(out, "bob: 2 console sessions ended, 1 unused login links revoked"),
	    "%s", out);
	free(out);
	want_refused(status(fd, &b1), "session-ended", NULL, "bob's first session");
	want_refused(status(fd, &b2), "session-ended", NULL, "bob's second session");
	want_refused(redeem(fd, link), "login-invalid", NULL, "bob's unused link");
	Rep *r = status(fd, &c1);
	want_ok(r, "carol's session");
	wire_ctl_reply_free(r);
	cr_assert(tnet_wait_log(t, 0, "console session of bob (operator) ended: revoked by an "
	    "operator", 5000));
	out = tnet_ctl_ok(t, 0, "--json console sessions");
	cr_assert(strstr(out, "carol") && !strstr(out, "bob"), "%s", out);
	free(out);
	/* Bad names are refused before the daemon is asked. */
	cr_assert_eq(tnet_ctl(t, 0, &out, "console revoke 'no such'"), 2, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "console login x --role admin"), 2, "%s", out);
	free(out);
	close(fd);
	tnet_free(t);
}

Test(session, roles_csrf_and_the_actor, .timeout = 90)
{
	struct tnet *t = tnet_new("sess-roles", ids3, 3);
	tnet_start(t, 0);
	int fd = cx_open(t, 0);
	struct sess viewer, officer, op;
	open_session(t, 0, fd, "vic", "viewer", &viewer);
	open_session(t, 0, fd, "olga", "officer", &officer);
	open_session(t, 0, fd, "omar", "operator", &op);
	const char *id1 = "c0de0001-0000-4000-8000-000000000001";
	const char *id2 = "c0de0001-0000-4000-8000-000000000002";

	/* Reading is every role's. */
	Rep *r = status(fd, &viewer);
	want_ok(r, "viewer status");
	wire_ctl_reply_free(r);
	/* A viewer cannot send, even with its CSRF token. */
	want_refused(send_note(fd, &viewer, true, id1, "from a viewer"), "forbidden",
	    "viewer vic may not send", "viewer send");
	/* An officer sends only with its CSRF token, and only its own. */
	want_refused(send_note(fd, &officer, false, id1, "no csrf"), "csrf", NULL,
	    "officer send without csrf");
	struct sess wrong = officer;
	snprintf(wrong.csrf, sizeof(wrong.csrf), "%s", viewer.csrf);
	want_refused(send_note(fd, &wrong, true, id1, "wrong csrf"), "csrf", NULL,
	    "officer send with another session's csrf");
	r = send_note(fd, &officer, true, id1, "from the console");
	want_ok(r, "officer send");
	wire_ctl_reply_free(r);
	/* An officer cannot retry; an operator can (the message is queued: FR-MJ is down). */
	want_refused(retry(fd, &officer, true, id1), "forbidden", "officer olga may not retry",
	    "officer retry");
	want_refused(retry(fd, &op, false, id1), "csrf", NULL, "operator retry without csrf");
	r = retry(fd, &op, true, id1);
	want_ok(r, "operator retry");
	wire_ctl_reply_free(r);
	/* Host-only requests: forbidden to every role, the operator's too. */
	Req req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__ReloadRequest rl = ROGATORY__CTL__V1__RELOAD_REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_RELOAD;
	req.reload = &rl;
	want_refused(cx_call(fd, &req, &op, true), "forbidden", "reload is not allowed from the "
	    "web console", "operator reload");
	Req lg = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__ConsoleLoginRequest lq = ROGATORY__CTL__V1__CONSOLE_LOGIN_REQUEST__INIT;
	lq.name.data = (uint8_t *)"mallory";
	lq.name.len = 7;
	lq.role.data = (uint8_t *)"operator";
	lq.role.len = 8;
	lg.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_LOGIN;
	lg.console_login = &lq;
	want_refused(cx_call(fd, &lg, &op, true), "forbidden", NULL, "a session making links");
	/* A session token that was never issued. */
	struct sess fake;
	snprintf(fake.token, sizeof(fake.token), "0123456789abcdef0123456789abcdef");
	snprintf(fake.csrf, sizeof(fake.csrf), "0123456789abcdef0123456789abcdef");
	want_refused(send_note(fd, &fake, true, id2, "forged"), "session-ended", NULL,
	    "unknown session");

	/* The console's actor in the delivery and audit log: the events of the send and
	 * of the retry name console:NAME. */
	char *out = tnet_ctl_ok(t, 0, "--json log --id c0de0001-0000-4000-8000-000000000001");
	cr_assert(strstr(out, "\"user\":\"console:olga\""), "%s", out);
	cr_assert(strstr(out, "\"user\":\"console:omar\""), "the retry: %s", out);
	free(out);
	char path[4200];
	snprintf(path, sizeof(path), "%s/state/delivery.jsonl", t->node[0].home);
	cr_assert(ts_wait_file_contains(path, "\"user\":\"console:olga\"", 5000),
	    "the delivery log does not name console:olga");
	/* One line per session action in the daemon's log. */
	cr_assert(tnet_wait_log(t, 0, "control: console olga (officer) via uid ", 5000));
	cr_assert(tnet_wait_log(t, 0, "control: console omar (operator) via uid ", 5000));
	cr_assert(tnet_wait_log(t, 0, ": retry", 5000));
	cr_assert(tnet_wait_log(t, 0, "control: console vic (viewer) via uid ", 5000));
	/* What rogatoryctl does as itself still names its user, not a console. */
	free(tr_send_args(t, 0, "--to FR-MJ --kind other --subject host --id "
	    "c0de0001-0000-4000-8000-000000000003"));
	out = tnet_ctl_ok(t, 0, "--json log --id c0de0001-0000-4000-8000-000000000003");
	cr_assert(strstr(out, "\"actor\"") && !strstr(out, "console:"), "%s", out);
	free(out);
	close(fd);
	tnet_free(t);
}

/* ---- refused requests keep their id ---- */

/* A frame of req (packed as is) appended to *buf. */
static void
frame_add(uint8_t **buf, size_t *len, const Req *req)
{
	size_t n = protobuf_c_message_get_packed_size(&req->base);
	*buf = realloc(*buf, *len + FRAME_HEADER_LEN + n);
	cr_assert_not_null(*buf);
	frame_header_put(*buf + *len, (uint32_t)n);
	protobuf_c_message_pack(&req->base, *buf + *len + FRAME_HEADER_LEN);
	*len += FRAME_HEADER_LEN + n;
}

static Rep *
reply_read(int fd)
{
	uint8_t hdr[FRAME_HEADER_LEN];
	io_all(fd, hdr, sizeof(hdr), false);
	uint32_t len = frame_header_len(hdr);
	cr_assert_leq(len, FRAME_CONTROL_MAX);
	uint8_t *body = malloc(len ? len : 1);
	cr_assert_not_null(body);
	io_all(fd, body, len, false);
	Rep *r = NULL;
	char err[256];
	cr_assert_eq(wire_ctl_reply_decode(body, len, &r, err, sizeof(err)), 0, "%s", err);
	free(body);
	return r;
}

/* Requests sent one after the other before any reply is read, as the console pipelines
 * them: one whose bytes unpack but fail a check (a field's rule, the version) is answered
 * with its own request_id, in order; only a frame that is no Request at all gets 0. */
Test(session, refused_requests_answered_with_their_own_id, .timeout = 60)
{
	struct tnet *t = tnet_new("sess-ids", ids3, 3);
	tnet_start(t, 0);
	int fd = cx_open(t, 0);
	uint8_t *buf = NULL;
	size_t len = 0;
	Req req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__StatusRequest st = ROGATORY__CTL__V1__STATUS_REQUEST__INIT;
	Rogatory__Ctl__V1__MessagesRequest mq = ROGATORY__CTL__V1__MESSAGES_REQUEST__INIT;
	req.version = CONTROL_PROTOCOL_VERSION;
	req.request_id = 501;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_STATUS;
	req.status = &st;
	frame_add(&buf, &len, &req);
	req.request_id = 502;                       /* before above INT64_MAX: wire refuses */
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_MESSAGES;
	req.messages = &mq;
	mq.before = UINT64_MAX;
	frame_add(&buf, &len, &req);
	req.request_id = 503;                       /* a state of 16 characters */
	mq.before = 0;
	mq.state.data = (uint8_t *)"abcdefghijklmnop";
	mq.state.len = 16;
	frame_add(&buf, &len, &req);
	req.request_id = 504;                       /* another version */
	req.version = CONTROL_PROTOCOL_VERSION + 1;
	frame_add(&buf, &len, &req);
	/* Not a Request: a field cut short. */
	static const uint8_t junk[] = {0, 0, 0, 3, 0x10, 0xff, 0xff};
	buf = realloc(buf, len + sizeof(junk));
	cr_assert_not_null(buf);
	memcpy(buf + len, junk, sizeof(junk));
	len += sizeof(junk);
	req.version = CONTROL_PROTOCOL_VERSION;     /* and the connection still serves */
	req.request_id = 506;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_STATUS;
	req.status = &st;
	frame_add(&buf, &len, &req);
	io_all(fd, buf, len, true);
	free(buf);

	static const struct {
		uint64_t id;
		Rogatory__Ctl__V1__ReplyCode code;
		const char *text;
	} want[] = {
		{501, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK, NULL},
		{502, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST, "before"},
		{503, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST, "state"},
		{504, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_UNSUPPORTED_VERSION,
		    "unsupported control protocol version"},
		{0, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST, "not a valid protobuf"},
		{506, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK, NULL},
	};
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		Rep *r = reply_read(fd);
		cr_assert_eq(r->request_id, want[k].id, "reply %zu: request_id %llu, expected %llu "
		    "(%.*s)", k, (unsigned long long)r->request_id, (unsigned long long)want[k].id,
		    (int)r->error_text.len, (const char *)r->error_text.data);
		cr_assert_eq(r->code, want[k].code, "reply %zu: code %d, expected %d (%.*s)", k,
		    r->code, want[k].code, (int)r->error_text.len, (const char *)r->error_text.data);
		if (want[k].text != NULL)
			cr_assert(memmem(r->error_text.data, r->error_text.len, want[k].text,
			    strlen(want[k].text)) != NULL, "reply %zu: \"%.*s\" lacks \"%s\"", k,
			    (int)r->error_text.len, (const char *)r->error_text.data, want[k].text);
		wire_ctl_reply_free(r);
	}
	close(fd);
	tnet_free(t);
}

/* ---- the messages list ---- */

static json_t *
messages(int fd, const struct sess *s, const char *dir, const char *peer, const char *state,
    const char *prefix, uint64_t before, uint32_t limit, Rogatory__Ctl__V1__ReplyCode want)
{
	Req req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__MessagesRequest q = ROGATORY__CTL__V1__MESSAGES_REQUEST__INIT;
	const char *v[4] = {dir, peer, state, prefix};
	ProtobufCBinaryData *b[4] = {&q.direction, &q.peer, &q.state, &q.id_prefix};
	for (int i = 0; i < 4; i++) {
		b[i]->data = (uint8_t *)v[i];
		b[i]->len = v[i] != NULL ? strlen(v[i]) : 0;
	}
	q.before = before;
	q.limit = limit;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_MESSAGES;
	req.messages = &q;
	Rep *r = cx_call(fd, &req, s, false);
	cr_assert_eq(r->code, want, "messages: code %d: %.*s", r->code, (int)r->error_text.len,
	    (const char *)r->error_text.data);
	if (want != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		wire_ctl_reply_free(r);
		return NULL;
	}
	return rep_json(r);
}

/* Every page of a listing, limit at a time: the ids in order, one line each; asserts
 * the cursors fall, no id repeats, "next" is null only on the last page, and each
 * message matches the filters. */
static char *
all_pages(int fd, const struct sess *s, const char *dir, const char *peer,
    const char *state, const char *prefix, uint32_t limit, int *pages)
{
	size_t cap = 65536, len = 0;
	char *ids = calloc(1, cap);
	cr_assert_not_null(ids);
	uint64_t before = 0;
	int64_t last = INT64_MAX;
	*pages = 0;
	for (;;) {
		json_t *j = messages(fd, s, dir, peer, state, prefix, before, limit,
		    ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK);
		(*pages)++;
		cr_assert_lt(*pages, 100, "paging does not end");
		json_t *a = json_object_get(j, "messages"), *m;
		size_t i;
		cr_assert_leq(json_array_size(a), limit);
		json_array_foreach(a, i, m) {
			int64_t cur = json_integer_value(json_object_get(m, "cursor"));
			cr_assert_lt(cur, last, "cursors do not fall: %lld after %lld",
			    (long long)cur, (long long)last);
			last = cur;
			const char *id = json_string_value(json_object_get(m, "id"));
			const char *d = json_string_value(json_object_get(m, "direction"));
			if (dir != NULL)
				cr_assert_str_eq(d, dir);
			if (peer != NULL)
				cr_assert_str_eq(json_string_value(json_object_get(m, "peer")), peer);
			if (state != NULL)
				cr_assert_str_eq(json_string_value(json_object_get(m, "state")), state);
			if (prefix != NULL)
				cr_assert_eq(strncmp(id, prefix, strlen(prefix)), 0, "%s", id);
			cr_assert_null(strstr(ids, id), "%s twice", id);
			len += (size_t)snprintf(ids + len, cap - len, "%s %s\n", d, id);
		}
		json_t *next = json_object_get(j, "next");
		size_t got = json_array_size(a);
		if (got == limit) {
			cr_assert(json_is_integer(next), "a full page without next");
			cr_assert_eq(json_integer_value(next), last);
			before = (uint64_t)json_integer_value(next);
		} else {
			cr_assert(json_is_null(next), "a short page with a next");
		}
		json_decref(j);
		if (got < limit)
			break;
	}
	return ids;
}

static int
count_lines(const char *s, const char *needle)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

Test(session, messages_pages_both_directions_with_filters, .timeout = 120)
{
	struct tnet *t = tnet_new("sess-messages", ids3, 3);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char args[512];
	/* Out to FR-MJ (delivered): 5, two of them with ids starting "ab". */
	for (int i = 0; i < 5; i++) {
		snprintf(args, sizeof(args), "--to FR-MJ --kind other --subject out%d --id "
		    "%s%06d-0000-4000-8000-000000000000", i, i < 2 ? "ab" : "0a", i);
		free(tr_send_args(t, 0, args));
	}
	/* Out to UA-PGO (down: queued): 3. */
	for (int i = 0; i < 3; i++) {
		snprintf(args, sizeof(args), "--to UA-PGO --kind other --subject wait%d --id "
		    "1b%06d-0000-4000-8000-000000000000", i, i);
		free(tr_send_args(t, 0, args));
	}
	/* In from FR-MJ: 4, one of them "ab". */
	for (int i = 0; i < 4; i++) {
		snprintf(args, sizeof(args), "--to BD-ACC --kind other --subject in%d --id "
		    "%s%06d-0000-4000-8000-000000000000", i, i == 0 ? "ab" : "2c", i + 10);
		free(tr_send_args(t, 1, args));
	}
	cr_assert(tr_wait_events(t, 0, "received", 4, 20000));
	cr_assert(tr_wait_events(t, 0, "delivered", 5, 20000));
	int fd = cx_open(t, 0);
	struct sess v;
	open_session(t, 0, fd, "reader", "viewer", &v);

	int pages;
	/* Both directions, pages of 5: 12 messages in 3 pages, newest first. */
	char *ids = all_pages(fd, &v, NULL, NULL, NULL, NULL, 5, &pages);
	cr_assert_eq(count_lines(ids, "\n"), 12, "%s", ids);
	cr_assert_eq(count_lines(ids, "in "), 4, "%s", ids);
	cr_assert_eq(pages, 3);
	/* Newest first: the last received ones come before our first sends. */
	cr_assert_lt(strstr(ids, "2c000013"), strstr(ids, "ab000000"), "%s", ids);
	free(ids);
	/* Exactly a page's worth: the full page says next, the one after is empty. */
	ids = all_pages(fd, &v, NULL, NULL, NULL, NULL, 4, &pages);
	cr_assert_eq(pages, 4, "12 in pages of 4: 3 full and an empty one");
	free(ids);
	/* One direction, with peer and state. */
	ids = all_pages(fd, &v, "in", NULL, NULL, NULL, 3, &pages);
	cr_assert_eq(count_lines(ids, "\n"), 4, "%s", ids);
	free(ids);
	ids = all_pages(fd, &v, "out", "UA-PGO", "queued", NULL, 2, &pages);
	cr_assert_eq(count_lines(ids, "\n"), 3, "%s", ids);
	cr_assert_eq(pages, 2);
	free(ids);
	ids = all_pages(fd, &v, NULL, "FR-MJ", NULL, NULL, 4, &pages);
	cr_assert_eq(count_lines(ids, "\n"), 9, "out 5 to and in 4 from FR-MJ:\n%s", ids);
	free(ids);
	ids = all_pages(fd, &v, NULL, NULL, "delivered", NULL, 2, &pages);
	cr_assert_eq(count_lines(ids, "\n"), 5, "%s", ids);
	free(ids);
	/* The id's start, both directions. */
	ids = all_pages(fd, &v, NULL, NULL, NULL, "ab", 2, &pages);
	cr_assert_eq(count_lines(ids, "\n"), 3, "%s", ids);
	cr_assert_eq(count_lines(ids, "in "), 1, "%s", ids);
	free(ids);
	ids = all_pages(fd, &v, NULL, NULL, NULL, "ab000001-", 50, &pages);
	cr_assert_eq(count_lines(ids, "\n"), 1, "%s", ids);
	free(ids);
	ids = all_pages(fd, &v, "in", "UA-PGO", NULL, NULL, 50, &pages);
	cr_assert_eq(count_lines(ids, "\n"), 0, "%s", ids);
	free(ids);
	/* An unknown state is a bad request; the limit is at most 200. */
	messages(fd, &v, NULL, NULL, "stuck", NULL, 0, 0,
	    ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST);
	json_t *j = messages(fd, NULL, NULL, NULL, NULL, NULL, 0, 0,
	    ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK);
	cr_assert_eq(json_array_size(json_object_get(j, "messages")), 12);
	cr_assert(json_is_null(json_object_get(j, "next")));
	json_t *m0 = json_array_get(json_object_get(j, "messages"), 0);
	cr_assert(json_is_integer(json_object_get(m0, "cursor")));
	cr_assert(json_is_string(json_object_get(m0, "payload_sha256")));
	json_decref(j);

	/* An officer marks a received message fetched: the signed evidence of retrieval
	 * names the console's actor, and its sender accepts it. */
	struct sess clerk;
	open_session(t, 0, fd, "clerk", "officer", &clerk);
	const char *rx = "2c000011-0000-4000-8000-000000000000";
	Req req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__FetchedRequest fq = ROGATORY__CTL__V1__FETCHED_REQUEST__INIT;
	fq.message_id.data = (uint8_t *)rx;
	fq.message_id.len = strlen(rx);
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_FETCHED;
	req.fetched = &fq;
	want_refused(cx_call(fd, &req, &v, true), "forbidden",
	    "viewer reader may not mark a message fetched",
	    "viewer marks fetched");
	Rep *r = cx_call(fd, &req, &clerk, true);
	want_ok(r, "officer marks fetched");
	wire_ctl_reply_free(r);
	cr_assert(tnet_wait_log(t, 0, "evidence of retrieval of 2c000011-0000-4000-8000-"
	    "000000000000 receipted by FR-MJ", 15000));
	char *out = tnet_ctl_ok(t, 0, "--json show 2c000011-0000-4000-8000-000000000000");
	j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "retrieved"),
	    "user")), "console:clerk", "%s", out);
	json_decref(j);
	free(out);
	close(fd);
	tnet_free(t);
}

/* 100,000 messages written straight into node 0's store before it starts, each with a
 * kilobyte of document inline, as the store keeps them. */
static void
big_store(struct tnet *t)
{
	char state[4200], path[4300];
	snprintf(state, sizeof(state), "%s/state", t->node[0].home);
	cr_assert(mkdir(state, 0700) == 0 || errno == EEXIST);
	cr_assert_eq(evthread_use_pthreads(), 0);
	struct event_base *base = event_base_new();
	struct store *s = NULL;
	char err[512] = "";
	cr_assert_eq(store_open(state, 0, base, &s, err, sizeof(err)), 0, "%s", err);
	store_close(s);
	event_base_free(base);
	snprintf(path, sizeof(path), "%s/rogatory.db", state);
	sqlite3 *db = NULL;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	char *e = NULL;
	/* Odd i: received from FR-MJ or UA-PGO; even i: ours to them, one in a thousand
	 * failed. Ids start with i in hex: the rowid order is the id order. */
	int rc = sqlite3_exec(db, "BEGIN;"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)"
	    " INSERT INTO messages (dir, msg_id, sender, recipient, kind, urgent, state, attempts,"
	    " created_us, updated_us, fetched, payload_hash, size)"
	    " SELECT i % 2, printf('%08x-0000-4000-8000-%012x', i, i),"
	    " CASE WHEN i % 2 = 1 THEN (CASE WHEN i % 3 = 0 THEN 'FR-MJ' ELSE 'UA-PGO' END)"
	    "  ELSE 'BD-ACC' END,"
	    " CASE WHEN i % 2 = 0 THEN (CASE WHEN i % 3 = 0 THEN 'FR-MJ' ELSE 'UA-PGO' END)"
	    "  ELSE 'BD-ACC' END,"
	    " 6, 0, CASE WHEN i % 2 = 1 THEN 'received' WHEN i % 1000 = 0 THEN 'failed'"
	    "  ELSE 'delivered' END, 1,"
	    " 1767225600000000 + i * 1000000, 1767225600000000 + i * 1000000, 1, zeroblob(32),"
	    " 1024 FROM n;"
	    "INSERT INTO message_docs (msg, body) SELECT id, randomblob(1024) FROM messages;"
	    "COMMIT;", NULL, NULL, &e);
	cr_assert_eq(rc, SQLITE_OK, "%s", e ? e : "");
	sqlite3_close(db);
}

Test(session, messages_fast_with_100000_in_the_store, .timeout = 240)
{
	struct tnet *t = tnet_new("sess-big", ids3, 3);
	big_store(t);
	tnet_start(t, 0);
	int fd = cx_open(t, 0);
	/* The first request warms nothing up: every one is timed. */
	static const struct {
		const char *dir, *peer, *state, *prefix;
		int want;       /* messages on the first page of 50 */
	} cases[] = {
		{NULL, NULL, NULL, NULL, 50},
		{"in", NULL, NULL, NULL, 50},
		{"out", "UA-PGO", NULL, NULL, 50},
		{NULL, NULL, "failed", NULL, 50},
		{"out", "FR-MJ", "failed", NULL, 33},   /* i % 3000 == 0 */
		{NULL, NULL, NULL, "0001", 50},
		{NULL, NULL, NULL, "000186a0", 1},      /* the last one, 100000 */
		{"in", "FR-MJ", "received", "0000f", 50},
		{"out", NULL, "queued", NULL, 0},
	};
	uint64_t limit_ms = ts_sanitizer() ? 1000 : 100;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		for (int page = 0; page < 2; page++) {
			uint64_t before = 0;
			if (page == 1) {
				/* The second page, from the middle of the store. */
				before = 50001;
			}
			struct timespec a, b;
			clock_gettime(CLOCK_MONOTONIC, &a);
			json_t *j = messages(fd, NULL, cases[k].dir, cases[k].peer, cases[k].state,
			    cases[k].prefix, before, 50, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK);
			clock_gettime(CLOCK_MONOTONIC, &b);
			uint64_t ms = (uint64_t)((b.tv_sec - a.tv_sec) * 1000 +
			    (b.tv_nsec - a.tv_nsec) / 1000000);
			size_t n = json_array_size(json_object_get(j, "messages"));
			if (page == 0)
				cr_assert_eq(n, (size_t)cases[k].want, "case %zu: %zu messages", k, n);
			cr_log_info("messages case %zu page %d: %zu in %llu ms", k, page, n,
			    (unsigned long long)ms);
			cr_assert_lt(ms, limit_ms, "case %zu (dir %s peer %s state %s id %s) page %d "
			    "took %llu ms", k, cases[k].dir, cases[k].peer, cases[k].state,
			    cases[k].prefix, page, (unsigned long long)ms);
			json_decref(j);
		}
	}
	close(fd);
	tnet_free(t);
}

/* next_statuses of `request` as JSON: the names joined by ','. */
static char *
next_statuses(struct tnet *t, int i, const char *id)
{
	char *out = NULL;
	int rc = tnet_ctlf(t, i, &out, "--json request %s", id);
	cr_assert_eq(rc, 0, "request %s on node %d: exit %d\n%s", id, i, rc, out);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	json_t *a = json_object_get(j, "next_statuses"), *s;
	cr_assert(json_is_array(a), "no next_statuses in\n%s", out);
	char *names = calloc(1, 1024);
	cr_assert_not_null(names);
	size_t k;
	json_array_foreach(a, k, s)
		snprintf(names + strlen(names), 1024 - strlen(names), "%s%s", k ? "," : "",
		    json_string_value(s));
	json_decref(j);
	free(out);
	return names;
}

Test(session, a_case_lists_the_statuses_our_side_may_send, .timeout = 90)
{
	struct tnet *t = tnet_new("sess-next", ids3, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	const char *id = "5e550000-0000-4000-8000-000000000001";
	free(tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'next statuses' --id "
	    "5e550000-0000-4000-8000-000000000001"));
	cr_assert(tr_wait_state(t, 0, id, "delivered", 15000));
	/* Requested: we who asked may only ask how it stands or withdraw; they acknowledge. */
	char *n = next_statuses(t, 0, id);
	cr_assert_str_eq(n, "progress-inquiry,withdrawn");
	free(n);
	n = next_statuses(t, 1, id);
	cr_assert_str_eq(n, "acknowledged");
	free(n);
	char *out = tnet_ctl_ok(t, 1, "request 5e550000-0000-4000-8000-000000000001");
	cr_assert(strstr(out, "we may send     acknowledged\n"), "%s", out);
	free(out);
	free(tnet_ctl_ok(t, 1, "update 5e550000-0000-4000-8000-000000000001 --status "
	    "acknowledged --reference FR/1"));
	/* Acknowledged: every next step but those that need a consultation first, in the
	 * status table's order. */
	n = next_statuses(t, 1, id);
	cr_assert_str_eq(n, "in-progress,additional-information-requested,executed,"
	    "partially-executed,consultation");
	free(n);
	tnet_free(t);
}
