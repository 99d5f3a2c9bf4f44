/*
 * control: serves rogatoryctl over the unix socket. It must never open a path a client
 * names, never answer a caller outside the allowed credentials, and never let one
 * client's malformed request affect another: every failure is a Reply with a code.
 */
#include "control.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "assembly.h"
#include "config.h"
#include "crash.h"
#include "ctlcase.h"
#include "ctlstats.h"
#include "ctlaudit.h"
#include "ctlsock.h"
#include "ctlexport.h"
#include "ctloper.h"
#include "ctlquery.h"
#include "ctlconsole.h"
#include "ctlop.h"
#include "dirsig.h"
#include "events.h"
#include "inbox.h"
#include "journal.h"
#include "request.h"
#include "evidence.h"
#include "outbox.h"
#include "pause.h"
#include "store.h"
#include "frame.h"
#include "link.h"
#include "log.h"
#include "peer.h"
#include "proof.h"
#include "retrieval.h"
#include "revocation.h"
#include "rogatoryd.h"
#include "server.h"
#include "session.h"
#include "tls.h"
#include "wire.h"

#define CONTROL_MAX_CLIENTS 64
#define CONTROL_MAX_GROUPS 256

struct control_client {
	struct control *c;
	struct bufferevent *bev;
	uid_t uid;
	char user[64];          /* uid's user name at connect time, "" when it has none */
	uint64_t id;            /* asynchronous replies find their client by id */
	int follow;             /* events subscription of `log --follow`, 0 when none */
	uint64_t follow_request;
	int64_t follow_after;   /* highest seq already sent in the history reply */
	struct store_event_filter follow_filter;  /* its strings point into follow_text */
	char follow_text[3][UUID_TEXT_LEN + 1];   /* peer, message id, event name */
	struct control_upload *up;  /* send --attach in progress, NULL when none */
	char discard_id[UUID_TEXT_LEN + 1]; /* a failed upload: its further chunks are dropped */
	struct control_client *next;
};

/* A console session's actor ("console:NAME"), kept where a reply or an event comes after
 * the request (an upload's last commit). */
#define CONTROL_ACTOR_MAX 64

/*
 * The attachments of one SendRequest arriving as UploadRequests: each chunk is hashed
 * (assembly) and committed to a staging blob set as it comes; reading stops while too
 * many bytes wait for the store. After the last byte and its commit, the document is
 * built with the manifest and submitted; the SendRequest's reply comes after that.
 */
struct control_upload {
	uint64_t request_id;    /* the SendRequest's */
	char msg_id[UUID_TEXT_LEN + 1];
	uint8_t *req;           /* the SendRequest, packed */
	size_t req_len;
	struct assembly as;
	int64_t bset;
	char actor[CONTROL_ACTOR_MAX]; /* the console's actor, "" when the caller itself */
};

struct control {
	struct rogatoryd *d;
	struct evconnlistener *lev;
	struct ctlsock sock;    /* the socket file, held by descriptors */
	gid_t group;
	bool has_group;
	struct control_client *clients;
	unsigned nclients;
	uint64_t next_client_id;
	struct control_client *current; /* the client whose request is being handled */
	uint8_t *reply_data;            /* fetch: bytes for the reply being made (owned) */
	size_t reply_data_len;
	struct sessions *sessions;      /* the web console's login links and sessions */
	bool has_session;               /* the request being handled came with a session */
	struct session_info session;    /* ... this one */
	char actor[CONTROL_ACTOR_MAX];  /* "console:NAME" while it is handled, else "" */
};

static void control_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg);
static void control_read_cb(struct bufferevent *bev, void *arg);
static void control_event_cb(struct bufferevent *bev, short what, void *arg);
static void control_client_free(struct control_client *cl);
static void control_refused_write_cb(struct bufferevent *bev, void *arg);
static int control_check_peer(struct control *c, int fd, uid_t *uid, char *why, size_t len);
static void control_reply(struct control_client *cl, uint64_t request_id,
    struct control_result *res);
static void control_dispatch(struct control_client *cl, const Rogatory__Ctl__V1__Request *req);
static void do_status(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_peers(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_connect(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_crl_install(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static json_t *json_crl(const struct crl *crl);
static json_t *json_time(int64_t unix_s);
static void do_send(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_show(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_cancel(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_verify(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_upload(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_fetch(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_fetched(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void quarantine_release_done(struct journal_op *jo);
static json_t *quarantine_json(const struct store_quarantined *q);
static void do_quarantine(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void upload_free(struct control *c, struct control_upload *up, bool drop);
static void upload_finish(struct control *c, struct control_client *cl);
static struct control_client *control_find_client(struct control *c, uint64_t id);
static void fetched_done(struct journal_op *jo);
static void id_of(char out[UUID_TEXT_LEN + 1], const ProtobufCBinaryData *b);
static void control_actor(struct control *c, const struct control_client *cl,
    const char *user);
static int control_session_check(struct control_client *cl,
    const Rogatory__Ctl__V1__Request *req, int role, bool csrf, const char *name,
    const char *does, struct control_result *res);

/*
 * The command table: one row per request type, with what a web console session may do
 * (docs/OPERATIONS.md, "The web console: sessions and roles"): the lowest role that may
 * send it (ROLE_HOST: never with a session, only a caller acting as itself) and whether
 * it needs the session's CSRF token (everything that changes something).
 */
#define ROLE_HOST CONTROL_OP_HOST
#define V SESSION_VIEWER
#define OF SESSION_OFFICER
#define OP SESSION_OPERATOR
static const struct {
	Rogatory__Ctl__V1__Request__OpCase op;
	const char *name;       /* its rogatoryctl command (logs, host-only refusals) */
	const char *does;       /* what it does, as a verb phrase: "viewer X may not ..." */
	control_handler fn;
	int role;
	bool csrf;
} control_ops[] = {
	{ROGATORY__CTL__V1__REQUEST__OP_STATUS, "status", "see the daemon's status",
	    do_status, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_PEERS, "peers", "list the authorities",
	    do_peers, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_CONNECT, "connect", "dial an authority",
	    do_connect, OP, true},
	{ROGATORY__CTL__V1__REQUEST__OP_CRL_INSTALL, "crl install", "install a CRL",
	    do_crl_install, ROLE_HOST, true},
	{ROGATORY__CTL__V1__REQUEST__OP_SEND, "send", "send a message",
	    do_send, OF, true},
	{ROGATORY__CTL__V1__REQUEST__OP_QUEUE, "queue", "list the queue",
	    ctlquery_queue, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_SHOW, "show", "show a message",
	    do_show, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_INBOX, "inbox", "list the inbox",
	    ctlquery_inbox, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_RETRY, "retry", "retry a message",
	    ctloper_retry, OP, true},
	{ROGATORY__CTL__V1__REQUEST__OP_CANCEL, "cancel", "cancel a message",
	    do_cancel, OP, true},
	{ROGATORY__CTL__V1__REQUEST__OP_LOG, "log", "read the delivery log",
	    ctlquery_log, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_VERIFY, "verify", "verify a message",
	    do_verify, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_UPLOAD, "upload", "upload an attachment",
	    do_upload, OF, true},
	{ROGATORY__CTL__V1__REQUEST__OP_FETCH, "fetch", "fetch a message",
	    do_fetch, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_FETCHED, "fetched", "mark a message fetched",
	    do_fetched, OF, true},
	{ROGATORY__CTL__V1__REQUEST__OP_QUARANTINE, "quarantine", "release a quarantined document",
	    do_quarantine, ROLE_HOST, true},
	{ROGATORY__CTL__V1__REQUEST__OP_EXPORT, "export", "export a message's evidence",
	    ctlexport_handle, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_CASES, "requests", "list the requests",
	    ctlcase_list, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_CASE_GET, "request", "read a case",
	    ctlcase_get, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_AUTHORITY, "authority", "look up an authority",
	    ctlcase_authority, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_DIRECTORY, "directory", "read the directory",
	    ctlcase_directory, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_STATS, "stats", "read the statistics",
	    ctlstats_run, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_MESSAGES, "messages", "list the messages",
	    ctlquery_messages, V, false},
	/* verify recomputes the whole tree (the host's tool); prove may sign a checkpoint. */
	{ROGATORY__CTL__V1__REQUEST__OP_AUDIT_VERIFY, "audit verify", "verify the audit log",
	    ctlaudit_verify, ROLE_HOST, false},
	{ROGATORY__CTL__V1__REQUEST__OP_AUDIT_PROVE, "audit prove", "prove the audit log",
	    ctlaudit_prove, ROLE_HOST, true},
	{ROGATORY__CTL__V1__REQUEST__OP_AUDIT_STATUS, "audit status", "read the audit log's status",
	    ctlaudit_status, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_PAUSE, "pause", "pause an authority",
	    ctloper_pause, OP, true},
	{ROGATORY__CTL__V1__REQUEST__OP_RESUME, "resume", "resume an authority",
	    ctloper_pause, OP, true},
	{ROGATORY__CTL__V1__REQUEST__OP_RELOAD, "reload", "reload the configuration",
	    ctloper_reload, ROLE_HOST, true},
	{ROGATORY__CTL__V1__REQUEST__OP_ALERTS, "alerts", "list the alerts",
	    ctloper_alerts, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_LOGIN, "console login", "make a console login link",
	    ctlconsole_login, ROLE_HOST, true},
	{ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_REDEEM, "console redeem", "redeem a console login link",
	    ctlconsole_redeem, ROLE_HOST, true},
	{ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_WHOAMI, "console whoami", "read its own session",
	    ctlconsole_whoami, V, false},
	{ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_SESSIONS, "console sessions", "list the console sessions",
	    ctlconsole_sessions, ROLE_HOST, false},
	{ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_REVOKE, "console revoke", "revoke console sessions",
	    ctlconsole_revoke, ROLE_HOST, true},
	{ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_LOGOUT, "console logout", "log out",
	    ctlconsole_logout, V, true},
};
#undef V
#undef OF
#undef OP

int
control_op_policy(int op_case, const char **name, bool *csrf)
{
	for (size_t i = 0; i < sizeof(control_ops) / sizeof(control_ops[0]); i++) {
		if ((int)control_ops[i].op == op_case) {
			*name = control_ops[i].name;
			*csrf = control_ops[i].csrf;
			return control_ops[i].role;
		}
	}
	return CONTROL_OP_UNKNOWN;
}

int
control_start(struct rogatoryd *d, struct control **out, char *err, size_t errlen)
{
	const struct config *cfg = d->cfg;
	struct sockaddr_un sun;
	if (strlen(cfg->control_socket) >= sizeof(sun.sun_path))
		return err_set(err, errlen, "[control] socket %s: path longer than %zu bytes",
		    cfg->control_socket, sizeof(sun.sun_path) - 1);

	struct control *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return err_set(err, errlen, "out of memory");
	c->d = d;
	ctlsock_init(&c->sock);
	struct session_times st;
	session_times_default(&st);
	if ((c->sessions = sessions_new(&st)) == NULL) {
		err_set(err, errlen, "out of memory");
		goto fail;
	}
	if (cfg->control_group != NULL) {
		struct group *g = getgrnam(cfg->control_group);
		if (g == NULL) {
			err_set(err, errlen, "[control] group %s: no such group", cfg->control_group);
			goto fail;
		}
		c->group = g->gr_gid;
		c->has_group = true;
	}
	/* Made with its mode and group, through descriptors nobody can swap (ctlsock.h). */
	int fd = -1;
	if (ctlsock_open(&c->sock, cfg->control_socket, ctlsock_run_uid(cfg), cfg->control_mode,
	        c->has_group ? c->group : (gid_t)-1, &fd, err, errlen) != 0)
		goto fail;
	c->lev = evconnlistener_new(d->base, control_accept_cb, c,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16, fd);
	if (c->lev == NULL) {
		err_set(err, errlen, "cannot listen on control socket %s: %s",
		    cfg->control_socket, strerror(errno));
		close(fd);
		goto fail;
	}
	log_info("control socket %s (mode %04o%s%s)", cfg->control_socket,
	    (unsigned)cfg->control_mode, c->has_group ? ", group " : "",
	    c->has_group ? cfg->control_group : "");
	*out = c;
	return 0;
fail:
	control_free(c);
	return -1;
}

const struct ctlsock *
control_sock(const struct control *c)
{
	return &c->sock;
}

void
control_free(struct control *c)
{
	if (c == NULL)
		return;
	while (c->clients != NULL)
		control_client_free(c->clients);
	if (c->lev != NULL)
		evconnlistener_free(c->lev);
	ctlsock_close(&c->sock, true);
	sessions_free(c->sessions);
	free(c);
}

/* Allowed: root, the daemon's own uid, or a member (primary or supplementary) of
 * [control] group. The group check uses the caller's credentials as the kernel saw
 * them at connect time, not a name lookup. */
static int
control_check_peer(struct control *c, int fd, uid_t *uid, char *why, size_t len)
{
	struct ucred cr;
	socklen_t sl = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &sl) != 0)
		return err_set(why, len, "cannot read caller credentials: %s", strerror(errno));
	*uid = cr.uid;
	if (cr.uid == 0 || cr.uid == geteuid())
		return 0;
	if (c->has_group) {
		if (cr.gid == c->group)
			return 0;
		gid_t groups[CONTROL_MAX_GROUPS];
		socklen_t gl = sizeof(groups);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) == 0) {
			for (size_t i = 0; i < gl / sizeof(gid_t); i++)
				if (groups[i] == c->group)
					return 0;
		}
	}
	return err_set(why, len,
	    "permission denied: uid %u is neither root, the daemon's user, nor in the "
	    "operators' group%s%s",
	    (unsigned)cr.uid, c->has_group ? " " : " (no [control] group is set)",
	    c->has_group ? c->d->cfg->control_group : "");
}

static void
control_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	(void)lev;
	(void)sa;
	(void)salen;
	struct control *c = arg;
	struct control_client *cl = calloc(1, sizeof(*cl));
	if (cl == NULL) {
		close(fd);
		return;
	}
	cl->c = c;
	evutil_make_socket_nonblocking(fd);
	cl->bev = bufferevent_socket_new(c->d->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (cl->bev == NULL) {
		close(fd);
		free(cl);
		return;
	}
	cl->id = ++c->next_client_id;
	cl->next = c->clients;
	c->clients = cl;
	c->nclients++;
	char why[256];
	if (control_check_peer(c, fd, &cl->uid, why, sizeof(why)) != 0 ||
	    c->nclients > CONTROL_MAX_CLIENTS) {
		if (c->nclients > CONTROL_MAX_CLIENTS)
			snprintf(why, sizeof(why), "too many control clients (%d)",
			    CONTROL_MAX_CLIENTS);
		log_warn("control: refused a client: %s", why);
		struct control_result res = {.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED,
		    .error_code = "permission-denied"};
		snprintf(res.error_text, sizeof(res.error_text), "%s", why);
		control_reply(cl, 0, &res);
		/* Flush the refusal, then close; nothing the caller sends is read. */
		bufferevent_setcb(cl->bev, NULL, control_refused_write_cb, control_event_cb, cl);
		bufferevent_enable(cl->bev, EV_WRITE);
		return;
	}
	/* The name as the uid has it now: what the audit log records beside the uid. */
	struct passwd pw, *pwp = NULL;
	char pwbuf[1024];
	if (getpwuid_r(cl->uid, &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 && pwp != NULL)
		snprintf(cl->user, sizeof(cl->user), "%s", pw.pw_name);
	bufferevent_setcb(cl->bev, control_read_cb, NULL, control_event_cb, cl);
	bufferevent_setwatermark(cl->bev, EV_READ, 0, FRAME_CONTROL_MAX + FRAME_HEADER_LEN);
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
}

static void
control_client_free(struct control_client *cl)
{
	struct control *c = cl->c;
	for (struct control_client **pp = &c->clients; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	c->nclients--;
	if (cl->follow > 0 && c->d->events != NULL)
		events_unsubscribe(c->d->events, cl->follow);
	if (cl->up != NULL) {
		log_info("control: uid %u left during the upload of %s; staged attachments dropped",
		    (unsigned)cl->uid, cl->up->msg_id);
		upload_free(c, cl->up, true);
	}
	bufferevent_free(cl->bev);
	free(cl);
}

static void
control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	/* EOF, error, or (for refused clients) the refusal has been written. */
	control_client_free(arg);
}

static void
control_refused_write_cb(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		control_client_free(arg);
}

static void
control_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		const uint8_t *body;
		size_t len;
		char err[256];
		enum frame_status st = frame_peek(in, FRAME_CONTROL_MAX, &body, &len, err,
		    sizeof(err));
		if (st == FRAME_INCOMPLETE)
			return;
		struct control_result res = {.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST,
		    .error_code = "bad-request"};
		if (st == FRAME_TOO_LARGE) {
			snprintf(res.error_text, sizeof(res.error_text), "%s", err);
			control_reply(cl, 0, &res);
			log_warn("control: uid %u sent an oversized frame: %s", (unsigned)cl->uid, err);
			bufferevent_disable(bev, EV_READ);
			evbuffer_drain(in, evbuffer_get_length(in));
			return;
		}
		Rogatory__Ctl__V1__Request *req = NULL;
		uint64_t request_id = 0;
		int rc = wire_ctl_request_decode_id(body, len, &req, &request_id, err, sizeof(err));
		frame_consume(in, len);
		if (rc != 0) {
			/* Answered with the request's own id when its bytes unpacked (a pipelining
			 * client matches replies by id); 0 only for bytes that are no Request. */
			if (strncmp(err, "unsupported control protocol version", 36) == 0) {
				res.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_UNSUPPORTED_VERSION;
				res.error_code = "unsupported-version";
			}
			snprintf(res.error_text, sizeof(res.error_text), "%s", err);
			control_reply(cl, request_id, &res);
			continue;
		}
		control_dispatch(cl, req);
		wire_ctl_request_free(req);
	}
}

static void
control_dispatch(struct control_client *cl, const Rogatory__Ctl__V1__Request *req)
{
	struct control_result res = {.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK};
	struct control *c = cl->c;
	for (size_t i = 0; i < sizeof(control_ops) / sizeof(control_ops[0]); i++) {
		if (control_ops[i].op != req->op_case)
			continue;
		if (control_session_check(cl, req, control_ops[i].role, control_ops[i].csrf,
		        control_ops[i].name, control_ops[i].does, &res) != 0) {
			control_reply(cl, req->request_id, &res);
			return;
		}
		log_debug("control: uid %u: %s (request %llu)", (unsigned)cl->uid,
		    control_ops[i].name, (unsigned long long)req->request_id);
		c->current = cl;
		control_actor(c, cl, c->has_session ? c->actor : NULL);
		control_ops[i].fn(c, req, &res);
		control_actor(c, NULL, NULL);
		c->current = NULL;
		c->has_session = false;
		c->actor[0] = '\0';
		if (!res.deferred)
			control_reply(cl, req->request_id, &res);
		return;
	}
	res.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST;
	res.error_code = "unknown-request";
	snprintf(res.error_text, sizeof(res.error_text), "unknown request type %d",
	    (int)req->op_case);
	control_reply(cl, req->request_id, &res);
}

/*
 * A request with a console session (Request.session): the session must be live, its
 * role at least the op's, and an op that changes something needs the session's CSRF
 * token. Sets c->has_session, c->session and c->actor for the handler; -1 with res
 * filled (REFUSED session-ended / forbidden / csrf). Without a session: 0, nothing set
 * (the caller acts as itself, as the socket's credentials allow).
 */
static int
control_session_check(struct control_client *cl, const Rogatory__Ctl__V1__Request *req,
    int role, bool csrf, const char *name, const char *does, struct control_result *res)
{
	struct control *c = cl->c;
	c->has_session = false;
	c->actor[0] = '\0';
	if (req->session.len == 0) {
		if (req->op_case == ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_WHOAMI ||
		    req->op_case == ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_LOGOUT) {
			res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
			res->error_code = "no-session";
			snprintf(res->error_text, sizeof(res->error_text), "%s needs a console "
			    "session (Request.session)", name);
			return -1;
		}
		return 0;
	}
	res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
	/* The console's periodic re-check of a live event stream is no use of the session. */
	bool touch = !(req->op_case == ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_WHOAMI &&
	    !req->console_whoami->touch);
	struct session_info si;
	if (sessions_find(c->sessions, req->session.data, req->session.len, link_now_ms(), touch,
	        &si) != 0) {
		res->error_code = "session-ended";
		snprintf(res->error_text, sizeof(res->error_text), "the console session is unknown, "
		    "ended, idle too long or past its time limit: log in again");
		return -1;
	}
	if (role == ROLE_HOST || (int)si.role < role) {
		res->error_code = "forbidden";
		if (role == ROLE_HOST)
			snprintf(res->error_text, sizeof(res->error_text), "%s is not allowed from the "
			    "web console (only on the host, with rogatoryctl)", name);
		else
			snprintf(res->error_text, sizeof(res->error_text), "%s %s may not %s (it needs "
			    "the role %s)", session_role_name(si.role), si.name, does,
			    session_role_name((enum session_role)role));
		log_notice("control: console %s (%s) via uid %u: %s refused: forbidden", si.name,
		    session_role_name(si.role), (unsigned)cl->uid, name);
		return -1;
	}
	if (csrf && !sessions_csrf_ok(c->sessions, si.serial, req->csrf.data, req->csrf.len)) {
		res->error_code = "csrf";
		snprintf(res->error_text, sizeof(res->error_text), "to %s changes something: it "
		    "needs the session's CSRF token", does);
		log_notice("control: console %s (%s) via uid %u: %s refused: no valid CSRF token",
		    si.name, session_role_name(si.role), (unsigned)cl->uid, name);
		return -1;
	}
	res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK;
	c->has_session = true;
	c->session = si;
	snprintf(c->actor, sizeof(c->actor), "console:%s", si.name);
	/* Each chunk of an upload is part of its send: not a line each. */
	if (req->op_case == ROGATORY__CTL__V1__REQUEST__OP_UPLOAD)
		log_debug("control: console %s (%s) via uid %u: %s", si.name,
		    session_role_name(si.role), (unsigned)cl->uid, name);
	else
		log_info("control: console %s (%s) via uid %u: %s", si.name,
		    session_role_name(si.role), (unsigned)cl->uid, name);
	return 0;
}

/* Every event journaled while a client's request is handled names that client (NULL:
 * none): its uid, and its user name or (user set) the console's "console:NAME". */
static void
control_actor(struct control *c, const struct control_client *cl, const char *user)
{
	struct rogatoryd_actor *a = &c->d->actor;
	memset(a, 0, sizeof(*a));
	if (cl == NULL)
		return;
	a->set = true;
	a->uid = (uint32_t)cl->uid;
	snprintf(a->user, sizeof(a->user), "%s", user != NULL && user[0] != '\0' ? user
	                                                                       : cl->user);
}

static void
control_reply(struct control_client *cl, uint64_t request_id, struct control_result *res)
{
	Rogatory__Ctl__V1__Reply r = ROGATORY__CTL__V1__REPLY__INIT;
	char *js = NULL;
	/* cppcheck-suppress unreadVariable ; packed through &r.base below */
	r.request_id = request_id;
	/* cppcheck-suppress unreadVariable ; packed through &r.base below */
	r.code = res->code;
	if (res->error_code != NULL) {
		r.error_code.data = (uint8_t *)res->error_code;
		r.error_code.len = strlen(res->error_code);
	}
	r.error_text.data = (uint8_t *)res->error_text;
	r.error_text.len = strlen(res->error_text);
	uint8_t *data = cl->c->reply_data;
	cl->c->reply_data = NULL;
	if (data != NULL) {
		r.data.data = data;
		r.data.len = cl->c->reply_data_len;
	}
	if (res->json != NULL) {
		/* Reals (the statistics, rounded by the store) with 15 digits: 73.96, not
		 * 73.959999999999994. */
		js = json_dumps(res->json, JSON_COMPACT | JSON_ENSURE_ASCII |
		    JSON_REAL_PRECISION(15));
		json_decref(res->json);
		res->json = NULL;
		if (js != NULL) {
			r.json.data = (uint8_t *)js;
			r.json.len = strlen(js);
		}
	}
	size_t size = protobuf_c_message_get_packed_size(&r.base);
	char text[256];             /* the refusal's text: packed below, after the if */
	if (size > FRAME_CONTROL_MAX) {
		/* Never a silent drop (the client would wait its whole time-out): the answer
		 * says it did not fit, and what to do. */
		log_warn("control: the reply to request %llu is %zu bytes, more than the "
		    "control frame's %u; answered with an error", (unsigned long long)request_id,
		    size, FRAME_CONTROL_MAX);
		snprintf(text, sizeof(text), "the answer is %zu bytes, more than the control "
		    "protocol's %u: ask for less (-n, a filter, one authority or message)", size,
		    FRAME_CONTROL_MAX);
		static const char code[] = "reply-too-large";
		/* cppcheck-suppress unreadVariable ; packed through &r.base below */
		r.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
		r.error_code.data = (uint8_t *)code;
		r.error_code.len = sizeof(code) - 1;
		r.error_text.data = (uint8_t *)text;
		r.error_text.len = strlen(text);
		r.json.data = NULL;
		r.json.len = 0;
		r.data.data = NULL;
		r.data.len = 0;
	}
	if (frame_append(bufferevent_get_output(cl->bev), &r.base, FRAME_CONTROL_MAX) != 0)
		log_warn("control: reply to request %llu could not be queued",
		    (unsigned long long)request_id);
	free(js);
	free(data);
}

static json_t *
json_time(int64_t unix_s)
{
	if (unix_s <= 0)
		return json_null();
	char buf[32];
	time_t t = (time_t)unix_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static void
do_status(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	(void)req;
	struct rogatoryd *d = c->d;
	uint64_t up_ms = link_now_ms();
	json_t *o = json_object();
	json_object_set_new(o, "authority", json_string(d->cfg->authority_id));
	json_object_set_new(o, "version", json_string(ROGATORY_VERSION));
	json_object_set_new(o, "uptime_s", json_integer((json_int_t)((up_ms - d->started_mono_ms) / 1000)));
	json_object_set_new(o, "listen", json_string(d->cfg->listen));
	json_object_set_new(o, "port", json_integer(d->listen_port));
	json_object_set_new(o, "links_up", json_integer(peers_links_up(d->peers)));
	json_object_set_new(o, "peers_total", json_integer((json_int_t)peers_count(d->peers)));
	json_object_set_new(o, "unauthenticated", json_integer(peers_unauthenticated(d->peers)));
	json_object_set_new(o, "certificate_not_after", json_time(tls_own_not_after(d->tls)));
	json_object_set_new(o, "crl", json_crl(revocation_crl(d->revocation)));
	/* The directory in force: signed (its serial and where it came from) or not. */
	json_t *dj = json_object();
	json_object_set_new(dj, "path", json_string(d->cfg->directory->path));
	json_object_set_new(dj, "serial", d->dirsig != NULL
	    ? json_integer((json_int_t)dirsig_serial(d->dirsig)) : json_null());
	json_object_set_new(dj, "source", json_string(dirsig_source(d->dirsig)));
	json_object_set_new(o, "directory", dj);
	res->json = o;
}

static void
do_peers(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	(void)req;
	json_t *a = json_array();
	size_t n;
	struct peer_info *all = peers_info_all(c->d->peers, &n);
	for (size_t i = 0; i < n; i++) {
		const struct peer_info pi = all[i];
		json_t *o = json_object();
		json_object_set_new(o, "id", json_string(pi.id));
		json_object_set_new(o, "name", json_string(pi.name ? pi.name : ""));
		json_object_set_new(o, "address", json_string(pi.address ? pi.address : ""));
		json_object_set_new(o, "state", json_string(peer_state_name(pi.state)));
		json_object_set_new(o, "links_up", json_integer(pi.links_up));
		json_object_set_new(o, "last_contact", json_time(pi.last_contact_ms / 1000));
		json_object_set_new(o, "last_error",
		    pi.last_error && pi.last_error[0] ? json_string(pi.last_error) : json_null());
		json_object_set_new(o, "certificate_not_after", json_time(pi.cert_not_after));
		if (pi.state == PEER_BACKOFF)
			json_object_set_new(o, "retry_in_ms", json_integer((json_int_t)pi.retry_in_ms));
		/* Our outbound messages to it wait (rogatoryctl pause / resume). */
		json_object_set_new(o, "paused", json_boolean(pause_is(c->d->paused, pi.id)));
		if (pause_is(c->d->paused, pi.id))
			json_object_set_new(o, "paused_since",
			    control_time_us(pause_since_us(c->d->paused, pi.id)));
		json_array_append_new(a, o);
	}
	free(all);
	res->json = a;
}

static void
do_connect(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	char id[AUTHORITY_ID_MAX + 1];
	const ProtobufCBinaryData *b = &req->connect->authority_id;
	snprintf(id, sizeof(id), "%.*s", (int)b->len, (const char *)b->data);
	if (peers_connect(c->d->peers, id, res->error_text, sizeof(res->error_text)) != 0) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND;
		res->error_code = "unknown-authority";
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "authority", json_string(id));
	json_object_set_new(o, "dialing", json_true());
	res->json = o;
}

/* The effective CRL for status; null when revocation is off. */
static json_t *
json_crl(const struct crl *crl)
{
	if (crl == NULL)
		return json_null();
	time_t now = time(NULL);
	json_t *o = json_object();
	json_object_set_new(o, "number", json_integer((json_int_t)crl_number(crl)));
	json_object_set_new(o, "this_update", json_time(crl_this_update(crl)));
	json_object_set_new(o, "next_update", json_time(crl_next_update(crl)));
	json_object_set_new(o, "expired", json_boolean(crl_expired(crl, now)));
	json_object_set_new(o, "renewal_due", json_boolean(crl_renewal_due(crl, now)));
	json_object_set_new(o, "revoked", json_integer((json_int_t)crl_revoked_count(crl)));
	json_object_set_new(o, "source", json_string(crl_source(crl)));
	return o;
}

static void
do_crl_install(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	struct revocation *r = c->d->revocation;
	char msg[1024];
	if (revocation_crl(r) == NULL) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
		res->error_code = "revocation-off";
		snprintf(res->error_text, sizeof(res->error_text), "revocation is off: set [tls] "
		    "crl in rogatoryd.conf and reload");
		return;
	}
	const ProtobufCBinaryData *b = &req->crl_install->der;
	switch (revocation_offer(r, b->data, b->len, "rogatoryctl", msg, sizeof(msg))) {
	case CRL_OFFER_ADOPTED: {
		/* An operator's change: an event (and so an audit entry naming the operator). */
		char why[96];
		snprintf(why, sizeof(why), "CRL number %llu installed by an operator",
		    (unsigned long long)revocation_number(r));
		journal_link_event(c->d, "crl-installed", NULL, STORE_OUT, why);
		json_t *o = json_object();
		json_object_set_new(o, "adopted", json_true());
		json_object_set_new(o, "crl", json_crl(revocation_crl(r)));
		res->json = o;
		return;
	}
	case CRL_OFFER_NOT_NEWER:
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
		res->error_code = "crl-not-newer";
		break;
	case CRL_OFFER_INVALID:
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
		res->error_code = "crl-refused";
		break;
	case CRL_OFFER_ERROR:
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
		res->error_code = "crl-not-stored";
		break;
	}
	/* The whole line is in the daemon's log; the reply carries what fits. */
	snprintf(res->error_text, sizeof(res->error_text), "%.*s",
	    (int)sizeof(res->error_text) - 1, msg);
}

/* ---- delivery operations ---- */

/* An operator call waiting for its commit; finds its client again by id. */
struct control_pending {
	struct rogatoryd *d;    /* d->control is NULL once the socket is gone (shutdown) */
	uint64_t client_id;
	uint64_t request_id;
};

static struct control_client *
control_find_client(struct control *c, uint64_t id)
{
	for (struct control_client *cl = c->clients; cl != NULL; cl = cl->next)
		if (cl->id == id)
			return cl;
	return NULL;
}

/* ctlop.h: a reply that comes later, from a handler in a file of its own. */
struct control_later {
	struct control_pending p;
};

struct control_later *
control_later(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	struct control_later *l = calloc(1, sizeof(*l));
	if (l == NULL)
		fatal("out of memory");
	l->p.d = c->d;
	l->p.client_id = c->current->id;
	l->p.request_id = req->request_id;
	res->deferred = true;
	return l;
}

struct rogatoryd *
control_later_daemon(const struct control_later *l)
{
	return l->p.d;
}

bool
control_later_gone(const struct control_later *l)
{
	return l->p.d->control == NULL || control_find_client(l->p.d->control,
	    l->p.client_id) == NULL;
}

void
control_later_reply(struct control_later *l, struct control_result *res)
{
	struct control_client *cl = l->p.d->control != NULL
	    ? control_find_client(l->p.d->control, l->p.client_id) : NULL;
	if (cl != NULL)
		control_reply(cl, l->p.request_id, res);
	json_decref(res->json);
	res->json = NULL;
	free(l);
}

struct control_pending *
control_defer(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	struct control_pending *p = calloc(1, sizeof(*p));
	if (p == NULL)
		fatal("out of memory");
	p->d = c->d;
	p->client_id = c->current->id;
	p->request_id = req->request_id;
	res->deferred = true;
	return p;
}

static void
hex(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

json_t *
control_time_us(int64_t us)
{
	if (us <= 0)
		return json_null();
	char buf[40];
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%06lldZ", (long long)(us % 1000000));
	return json_string(buf);
}

json_t *
control_msg_json(const struct store_msg *m)
{
	char h[2 * STORE_HASH_LEN + 1];
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(m->msg_id));
	json_object_set_new(o, "direction", json_string(m->dir == STORE_OUT ? "out" : "in"));
	json_object_set_new(o, "peer", json_string(m->dir == STORE_OUT ? m->recipient : m->sender));
	json_object_set_new(o, "kind", json_string(wire_kind_name((Rogatory__V1__Kind)m->kind)));
	json_object_set_new(o, "urgent", json_boolean(m->urgent));
	json_object_set_new(o, "state", json_string(store_state_name(m->state)));
	json_object_set_new(o, "attempts", json_integer(m->attempts));
	json_object_set_new(o, "created", control_time_us(m->created_us));
	json_object_set_new(o, "updated", control_time_us(m->updated_us));
	if (m->dir == STORE_OUT) {
		json_object_set_new(o, "next_attempt", control_time_us(m->next_attempt_us));
		json_object_set_new(o, "expires", control_time_us(m->expire_at_us));
	} else {
		json_object_set_new(o, "fetched", json_boolean(m->fetched));
	}
	json_object_set_new(o, "last_error", m->last_error[0] ? json_string(m->last_error)
	                                                      : json_null());
	hex(h, m->payload_hash, STORE_HASH_LEN);
	json_object_set_new(o, "payload_sha256", json_string(h));
	json_object_set_new(o, "receipt", json_boolean(m->rcpt_body_len > 0));
	json_object_set_new(o, "size", json_integer((json_int_t)(m->size ? m->size
	                                                                 : m->doc_body_len)));
	return o;
}

json_t *
control_retrieval_json(struct rogatoryd *d, const struct store_msg *m)
{
	struct store_retrieval t;
	const char *peer = m->dir == STORE_OUT ? m->recipient : m->sender;
	if (store_retrieval_get(d->store, m->dir, peer, m->msg_id, &t) != 0)
		return NULL;
	char h[2 * STORE_HASH_LEN + 1];
	uint8_t sha[STORE_HASH_LEN];
	json_t *o = json_object();
	json_object_set_new(o, "time", control_time_us(t.retrieved_ms * 1000));
	json_object_set_new(o, "by", json_string(m->dir == STORE_IN ? d->cfg->authority_id : peer));
	json_object_set_new(o, "uid", json_integer((json_int_t)t.actor_uid));
	json_object_set_new(o, "user", t.actor_user[0] ? json_string(t.actor_user) : json_null());
	evidence_payload_hash(t.body, t.body_len, sha);
	hex(h, sha, STORE_HASH_LEN);
	json_object_set_new(o, "evidence_sha256", json_string(h));
	json_object_set_new(o, "receipt", t.receipted_us != 0 ? json_string(t.rcpt_outcome)
	                                                       : json_null());
	json_object_set_new(o, "receipted", control_time_us(t.receipted_us));
	store_retrieval_clear(&t);
	return o;
}

void
control_pending_reply(struct control_pending *p, struct control_result *res)
{
	struct control_client *cl = p->d->control != NULL
	    ? control_find_client(p->d->control, p->client_id) : NULL;
	if (cl != NULL)
		control_reply(cl, p->request_id, res);
	json_decref(res->json);     /* NULL after a reply; set when the client is gone */
	res->json = NULL;
	free(p);
}

struct rogatoryd *
control_pending_daemon(const struct control_pending *p)
{
	return p->d;
}

void
control_async_reply(void *arg, int ok, const struct store_msg *m, const char *error_code,
    const char *error_text)
{
	struct control_pending *p = arg;
	struct control_client *cl = p->d->control != NULL
	    ? control_find_client(p->d->control, p->client_id) : NULL;
	if (cl != NULL) {
		struct control_result res = {.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK};
		if (ok != 0) {
			res.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
			if (error_code != NULL && strcmp(error_code, "not-found") == 0)
				res.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND;
			res.error_code = error_code;
			snprintf(res.error_text, sizeof(res.error_text), "%s", error_text ? error_text : "");
		} else if (m != NULL) {
			res.json = control_msg_json(m);
		}
		control_reply(cl, p->request_id, &res);
	}
	free(p);
}

static void
do_send(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	const Rogatory__Ctl__V1__SendRequest *q = req->send;
	struct control_client *cl = c->current;
	if (q->n_attachments == 0) {
		outbox_submit(c->d->outbox, q, control_async_reply, control_defer(c, req, res));
		return;
	}
	/* Attachments: refuse what cannot succeed before a byte is uploaded. */
	Rogatory__V1__Kind kind;
	Rogatory__V1__Status status;
	const char *code = "invalid";
	char err[400];
	res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
	/* Refused: the chunks the client streams meanwhile are dropped unread. */
	id_of(cl->discard_id, &q->message_id);
	if (cl->up != NULL) {
		res->error_code = "busy";
		snprintf(res->error_text, sizeof(res->error_text), "the upload of %s is still in "
		    "progress on this connection", cl->up->msg_id);
		return;
	}
	if (request_check(c->d, q, &kind, &status, &code, err, sizeof(err)) != 0) {
		res->error_code = code;
		snprintf(res->error_text, sizeof(res->error_text), "%s", err);
		return;
	}
	uint64_t total = 0;
	uint64_t sizes[WIRE_ATTACHMENTS_MAX];
	for (size_t i = 0; i < q->n_attachments; i++) {
		sizes[i] = q->attachments[i]->size;
		total += sizes[i] < (1ULL << 40) ? sizes[i] : (1ULL << 40);
	}
	if (total > c->d->cfg->max_message_size) {
		res->error_code = "too-large";
		snprintf(res->error_text, sizeof(res->error_text), "attachments of %llu bytes; "
		    "[delivery] max_message_size is %u (document and attachments)",
		    (unsigned long long)total, c->d->cfg->max_message_size);
		return;
	}
	struct control_upload *up = calloc(1, sizeof(*up));
	if (up == NULL)
		fatal("out of memory");
	if (assembly_init(&up->as, q->n_attachments, sizes, NULL, err, sizeof(err)) != 0)
		fatal("upload: %s", err);
	up->request_id = req->request_id;
	id_of(up->msg_id, &q->message_id);
	up->req_len = protobuf_c_message_get_packed_size(&q->base);
	if ((up->req = malloc(up->req_len ? up->req_len : 1)) == NULL)
		fatal("out of memory");
	protobuf_c_message_pack(&q->base, up->req);
	up->bset = store_bset_new(c->d->store);
	snprintf(up->actor, sizeof(up->actor), "%s", c->actor);
	cl->up = up;
	res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK;
	res->deferred = true;
	log_info("control: uid %u: receiving %zu attachments (%llu bytes) for %s",
	    (unsigned)cl->uid, q->n_attachments, (unsigned long long)total, up->msg_id);
	if (assembly_complete(&up->as))
		upload_finish(c, cl);
}

static void
upload_free(struct control *c, struct control_upload *up, bool drop)
{
	if (drop) {
		struct journal_op *jo = journal_op_new(c->d, STORE_OP_DROP_SET);
		jo->op.chunk.bset = up->bset;
		journal_submit(jo);
	}
	assembly_free(&up->as);
	free(up->req);
	free(up);
}

/* Ends an upload with an error as the SendRequest's reply; later chunks are dropped. */
static void
upload_fail(struct control *c, struct control_client *cl, const char *code, const char *text)
{
	struct control_upload *up = cl->up;
	struct control_result res = {.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST,
	    .error_code = code};
	snprintf(res.error_text, sizeof(res.error_text), "%s", text);
	log_warn("control: uid %u: upload of %s refused: %s", (unsigned)cl->uid, up->msg_id, text);
	control_reply(cl, up->request_id, &res);
	snprintf(cl->discard_id, sizeof(cl->discard_id), "%s", up->msg_id);
	cl->up = NULL;
	upload_free(c, up, true);
}

/* Every byte arrived and is staged: sign the document with its manifest, submit. */
static void
upload_finish(struct control *c, struct control_client *cl)
{
	struct control_upload *up = cl->up;
	cl->up = NULL;
	Rogatory__Ctl__V1__SendRequest *q = rogatory__ctl__v1__send_request__unpack(NULL,
	    up->req_len, up->req);
	struct control_pending *p = calloc(1, sizeof(*p));
	if (q == NULL || p == NULL)
		fatal("out of memory");
	p->d = c->d;
	p->client_id = cl->id;
	p->request_id = up->request_id;
	uint8_t hashes[WIRE_ATTACHMENTS_MAX * ASSEMBLY_HASH_LEN];
	for (size_t i = 0; i < up->as.n; i++)
		memcpy(hashes + i * ASSEMBLY_HASH_LEN, up->as.parts[i].sha256, ASSEMBLY_HASH_LEN);
	/* After the last upload's commit, outside any request: the sender is still the actor. */
	control_actor(c, cl, up->actor);
	outbox_submit_attached(c->d->outbox, q, hashes, up->bset, control_async_reply, p);
	control_actor(c, NULL, NULL);
	rogatory__ctl__v1__send_request__free_unpacked(q, NULL);
	upload_free(c, up, false);
}

static void
do_upload(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	const Rogatory__Ctl__V1__UploadRequest *u = req->upload;
	struct control_client *cl = c->current;
	struct control_upload *up = cl->up;
	char id[UUID_TEXT_LEN + 1], err[300];
	id_of(id, &u->message_id);
	res->deferred = true;   /* no reply per chunk */
	if (up == NULL || strcmp(up->msg_id, id) != 0) {
		if (strcmp(cl->discard_id, id) == 0)
			return;
		res->deferred = false;
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST;
		res->error_code = "no-upload";
		snprintf(res->error_text, sizeof(res->error_text), "no attachment upload in progress "
		    "for %s on this connection", id);
		return;
	}
	enum assembly_status st = assembly_add(&up->as, u->attachment_index, u->offset,
	    u->data.data, u->data.len, err, sizeof(err));
	if (st != ASSEMBLY_MORE && st != ASSEMBLY_COMPLETE) {
		upload_fail(c, cl, "bad-upload", err);
		return;
	}
	/* Written at once to its staging file (no copy, no wait for the store). */
	struct iovec v = {u->data.data, u->data.len};
	enum store_result r = store_stage_write(c->d->store, up->bset, u->attachment_index,
	    u->offset, &v, 1, err, sizeof(err));
	if (r != STORE_R_OK) {
		upload_fail(c, cl, r == STORE_R_FULL ? "store-full" : "store-error",
		    r == STORE_R_FULL ? "store full: the message store reached [store] "
		    "max_size or the disk is full; nothing was queued" : err);
		return;
	}
	if (st == ASSEMBLY_COMPLETE)
		upload_finish(c, cl);
}

/* An inbound message by id (and sender, when given). -1 with res filled. */
static int
find_received(struct control *c, const ProtobufCBinaryData *bid,
    const ProtobufCBinaryData *bsender, struct store_msg *m, struct control_result *res)
{
	char id[UUID_TEXT_LEN + 1], sender[AUTHORITY_ID_MAX + 1];
	id_of(id, bid);
	snprintf(sender, sizeof(sender), "%.*s", (int)bsender->len, (const char *)bsender->data);
	int r = store_get(c->d->store, STORE_IN, sender[0] ? sender : NULL, id, m);
	if (r == 0)
		return 0;
	res->code = r < 0 ? ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL
	                  : ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND;
	res->error_code = r < 0 ? "store-error" : "not-found";
	snprintf(res->error_text, sizeof(res->error_text), "%s received message %s%s%s",
	    r < 0 ? "cannot read" : "no", id, sender[0] ? " from " : "", sender);
	return -1;
}

static json_t *
json_bytes(const ProtobufCBinaryData *b)
{
	return json_stringn((const char *)b->data, b->len);
}

/* The signed document's content as JSON (texts are validated UTF-8 by wire). */
json_t *
control_doc_json(const struct store_msg *m)
{
	size_t plen = strlen(EVIDENCE_CTX_DOCUMENT) + 1;
	Rogatory__V1__DocumentBody *b = NULL;
	char err[300], h[2 * STORE_HASH_LEN + 1];
	if (m->doc_body_len < plen ||
	    wire_document_body_decode(m->doc_body + plen, m->doc_body_len - plen, &b, err,
	        sizeof(err)) != 0)
		return NULL;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_bytes(&b->message_id));
	json_object_set_new(o, "sender", json_bytes(&b->sender_id));
	json_object_set_new(o, "recipient", json_bytes(&b->recipient_id));
	/* A signed value from a peer: clamped before it is scaled. */
	int64_t cms = b->created_ms;
	if (cms < 0 || cms > INT64_MAX / 1000)
		cms = 0;
	json_object_set_new(o, "created", control_time_us(cms * 1000));
	json_object_set_new(o, "type", json_string(wire_doc_type_name(b->doc_type)));
	json_object_set_new(o, "kind", json_string(wire_kind_name(b->kind)));
	json_object_set_new(o, "urgent", json_boolean(b->urgent));
	if (b->respond_by.len > 0)
		json_object_set_new(o, "respond_by", json_bytes(&b->respond_by));
	if (b->in_reply_to.len > 0)
		json_object_set_new(o, "in_reply_to", json_bytes(&b->in_reply_to));
	if (b->status != ROGATORY__V1__STATUS__STATUS_UNSPECIFIED)
		json_object_set_new(o, "status", json_string(wire_status_name(b->status)));
	if (b->content != NULL) {
		json_object_set_new(o, "subject", json_bytes(&b->content->subject));
		json_t *fs = json_array();
		for (size_t i = 0; i < b->content->n_fields; i++) {
			json_t *f = json_object();
			json_object_set_new(f, "name", json_bytes(&b->content->fields[i]->name));
			json_object_set_new(f, "value", json_bytes(&b->content->fields[i]->value));
			json_array_append_new(fs, f);
		}
		json_object_set_new(o, "fields", fs);
	}
	json_t *as = json_array();
	for (size_t i = 0; i < b->n_attachments; i++) {
		const Rogatory__V1__Attachment *a = b->attachments[i];
		json_t *j = json_object();
		json_object_set_new(j, "name", json_bytes(&a->name));
		json_object_set_new(j, "media_type", json_bytes(&a->media_type));
		json_object_set_new(j, "size", json_integer((json_int_t)a->size));
		hex(h, a->sha256.data, a->sha256.len < STORE_HASH_LEN ? a->sha256.len : STORE_HASH_LEN);
		json_object_set_new(j, "sha256", json_string(h));
		json_array_append_new(as, j);
	}
	json_object_set_new(o, "attachments", as);
	hex(h, m->payload_hash, STORE_HASH_LEN);
	json_object_set_new(o, "payload_sha256", json_string(h));
	wire_document_body_free(b);
	return o;
}

static void
do_fetch(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	const Rogatory__Ctl__V1__FetchRequest *f = req->fetch;
	struct store_msg m = {0};
	if (find_received(c, &f->message_id, &f->sender_id, &m, res) != 0)
		return;
	if (f->index == 0) {
		json_t *o = control_doc_json(&m);
		if (o == NULL) {
			res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
			res->error_code = "store-error";
			snprintf(res->error_text, sizeof(res->error_text), "stored document of %s "
			    "does not decode", m.msg_id);
		} else {
			json_object_set_new(o, "received", control_time_us(m.created_us));
			json_object_set_new(o, "fetched", json_boolean(m.fetched));
			res->json = o;
		}
		store_msg_clear(&m);
		return;
	}
	if (m.bset == 0) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND;
		res->error_code = "not-found";
		snprintf(res->error_text, sizeof(res->error_text), "%s has no attachments", m.msg_id);
		store_msg_clear(&m);
		return;
	}
	uint8_t *data = NULL;
	size_t len = 0;
	int r = store_chunk_read(c->d->store, m.bset, f->index - 1, f->offset, CONTROL_CHUNK_MAX,
	    &data, &len);
	if (r < 0) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
		res->error_code = "store-error";
		snprintf(res->error_text, sizeof(res->error_text), "cannot read attachment %u of %s",
		    f->index, m.msg_id);
	} else if (r == 0) {
		/* The reply frame carries the bytes; the caller frees them after it. */
		c->reply_data = data;
		c->reply_data_len = len;
	}
	/* r == 1: past the end: an empty reply. */
	store_msg_clear(&m);
}

static void
do_fetched(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	const Rogatory__Ctl__V1__FetchedRequest *f = req->fetched;
	struct store_msg m = {0};
	if (find_received(c, &f->message_id, &f->sender_id, &m, res) != 0)
		return;
	if (m.fetched) {
		res->json = control_msg_json(&m);
		store_msg_clear(&m);
		return;
	}
	/* Proof of retrieval: signed now, kept by the store only when this is the first
	 * fetch, in its transaction (PROTOCOL.md section 16). */
	struct store_retrieval ev;
	char err[300];
	if (retrieval_sign(c->d, &m, &ev, err, sizeof(err)) != 0) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
		res->error_code = "sign-failed";
		snprintf(res->error_text, sizeof(res->error_text), "cannot sign the evidence of "
		    "retrieval of %s: %s", m.msg_id, err);
		store_msg_clear(&m);
		return;
	}
	struct journal_op *jo = journal_op_new(c->d, STORE_OP_UPDATE);
	struct store_msg *u = &jo->op.msg;
	u->dir = STORE_IN;
	snprintf(u->msg_id, sizeof(u->msg_id), "%s", m.msg_id);
	snprintf(u->sender, sizeof(u->sender), "%s", m.sender);
	u->state = STORE_RECEIVED;
	u->fetched = true;
	u->size = m.size;
	jo->op.set = STORE_SET_FETCHED;
	jo->op.expect_state_mask = 1u << STORE_RECEIVED;
	jo->op.retr = ev;     /* the op owns its bytes now */
	journal_event(jo, "fetched", m.msg_id, m.sender, STORE_IN, "received", 0, m.size, NULL);
	jo->arg = control_defer(c, req, res);
	jo->done = fetched_done;
	journal_submit(jo);
	store_msg_clear(&m);
}

static void
fetched_done(struct journal_op *jo)
{
	struct control_pending *p = jo->arg;
	const struct store_msg *u = &jo->op.msg;
	if (jo->op.result == STORE_R_OK || jo->op.result == STORE_R_STALE) {
		/* STALE: another request marked it first; its bytes were freed once. */
		if (jo->op.result == STORE_R_OK) {
			inbox_fetched(p->d->inbox, u->sender, u->size);
			/* Committed with the fetch: a crash from here on still sends it. */
			crash_point("retrieval-before-send");
			if (p->d->retrieval != NULL)
				retrieval_fetched(p->d->retrieval, u->sender, u->msg_id);
		}
		struct store_msg row = {0};
		int got = store_get(p->d->store, STORE_IN, u->sender, u->msg_id, &row);
		control_async_reply(p, 0, got == 0 ? &row : NULL, NULL, NULL);
		store_msg_clear(&row);
		return;
	}
	control_async_reply(p, -1, NULL, jo->op.result == STORE_R_FULL ? "store-full"
	    : "store-error", jo->op.error);
}

static void
do_quarantine(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	if (req->quarantine->release != 0) {
		struct journal_op *jo = journal_op_new(c->d, STORE_OP_QUARANTINE_RELEASE);
		jo->op.qid = (int64_t)req->quarantine->release;
		jo->arg = control_defer(c, req, res);
		jo->done = quarantine_release_done;
		journal_submit(jo);
		return;
	}
	uint32_t limit = req->quarantine->limit ? req->quarantine->limit : 100;
	if (limit > 1000)
		limit = 1000;
	struct store_quarantined *q = calloc(limit, sizeof(*q));
	if (q == NULL)
		fatal("out of memory");
	int n = store_quarantine_list(c->d->store, 0, q, (int)limit);
	if (n < 0) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
		res->error_code = "store-error";
		snprintf(res->error_text, sizeof(res->error_text), "cannot read the quarantine");
		free(q);
		return;
	}
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, quarantine_json(&q[i]));
	free(q);
	res->json = a;
}

static json_t *
quarantine_json(const struct store_quarantined *q)
{
	json_t *o = json_object();
	json_object_set_new(o, "entry", json_integer((json_int_t)q->id));
	json_object_set_new(o, "time", control_time_us(q->ts_us));
	json_object_set_new(o, "peer", json_string(q->peer));
	json_object_set_new(o, "id", q->msg_id[0] ? json_string(q->msg_id) : json_null());
	json_object_set_new(o, "reason", json_string(q->reason));
	json_object_set_new(o, "bytes", json_integer((json_int_t)q->bytes));
	json_object_set_new(o, "released", control_time_us(q->released_us));
	return o;
}

/* Released: its bytes leave the sender's quota (once: a second release is STALE). */
static void
quarantine_release_done(struct journal_op *jo)
{
	struct control_pending *p = jo->arg;
	const struct store_op *op = &jo->op;
	if (op->result == STORE_R_OK && p->d->inbox != NULL)
		inbox_fetched(p->d->inbox, op->msg.sender, op->msg.size);
	struct control_client *cl = p->d->control != NULL
	    ? control_find_client(p->d->control, p->client_id) : NULL;
	if (cl != NULL) {
		struct control_result res = {.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK};
		if (op->result == STORE_R_OK) {
			struct store_quarantined q = {.id = op->qid, .ts_us = 0,
			    .bytes = op->msg.size, .released_us = op->event.ts_us};
			snprintf(q.peer, sizeof(q.peer), "%s", op->msg.sender);
			snprintf(q.msg_id, sizeof(q.msg_id), "%s", op->msg.msg_id);
			snprintf(q.reason, sizeof(q.reason), "%s", op->event.reason);
			res.json = quarantine_json(&q);
		} else if (op->result == STORE_R_NOT_FOUND) {
			res.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND;
			res.error_code = "not-found";
			snprintf(res.error_text, sizeof(res.error_text), "no quarantine entry %" PRId64,
			    op->qid);
		} else if (op->result == STORE_R_STALE) {
			res.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
			res.error_code = "already-released";
			snprintf(res.error_text, sizeof(res.error_text), "quarantine entry %" PRId64
			    " was already released", op->qid);
		} else {
			res.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
			res.error_code = op->result == STORE_R_FULL ? "store-full" : "store-error";
			snprintf(res.error_text, sizeof(res.error_text), "%s", op->error);
		}
		control_reply(cl, p->request_id, &res);
	}
	free(p);
}

static void
id_of(char out[UUID_TEXT_LEN + 1], const ProtobufCBinaryData *b)
{
	snprintf(out, UUID_TEXT_LEN + 1, "%.*s", (int)b->len, (const char *)b->data);
}

static void
do_cancel(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	char id[UUID_TEXT_LEN + 1];
	id_of(id, &req->cancel->message_id);
	outbox_cancel(c->d->outbox, id, control_async_reply, control_defer(c, req, res));
}

json_t *
control_event_json(const struct store_event *e)
{
	char *line = events_json(e);
	json_t *j = line ? json_loads(line, 0, NULL) : NULL;
	free(line);
	return j ? j : json_null();
}

struct rogatoryd *
control_daemon(struct control *c)
{
	return c->d;
}

struct sessions *
control_sessions(struct control *c)
{
	return c->sessions;
}

const struct session_info *
control_session(const struct control *c)
{
	return c->has_session ? &c->session : NULL;
}

unsigned
control_caller_uid(const struct control *c)
{
	return c->current != NULL ? (unsigned)c->current->uid : 0;
}

void
control_reply_data(struct control *c, uint8_t *data, size_t len)
{
	free(c->reply_data);
	c->reply_data = data;
	c->reply_data_len = len;
}

int
control_find_message(struct control *c, const ProtobufCBinaryData *bid,
    const ProtobufCBinaryData *bsender, struct store_msg *m, struct control_result *res)
{
	char id[UUID_TEXT_LEN + 1], sender[AUTHORITY_ID_MAX + 1] = "";
	const char *us = c->d->cfg->authority_id;
	id_of(id, bid);
	if (bsender != NULL)
		snprintf(sender, sizeof(sender), "%.*s", (int)bsender->len,
		    (const char *)bsender->data);
	int r = 1;
	if (sender[0] == '\0' || strcmp(sender, us) == 0)
		r = store_get(c->d->store, STORE_OUT, us, id, m);
	if (r == 1 && strcmp(sender, us) != 0)
		r = store_get(c->d->store, STORE_IN, sender[0] ? sender : NULL, id, m);
	if (r == 0)
		return 0;
	res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND;
	res->error_code = "not-found";
	snprintf(res->error_text, sizeof(res->error_text), "no message %s%s%s", id,
	    sender[0] ? " from " : "", sender);
	return -1;
}

json_t *
control_proof_json(const char *id, const struct proof *p)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "valid", json_boolean(p->valid));
	json_t *a = json_array();
	for (size_t i = 0; i < p->n; i++) {
		json_t *ck = json_object();
		json_object_set_new(ck, "check", json_string(p->checks[i].what));
		json_object_set_new(ck, "ok", json_boolean(p->checks[i].ok));
		json_object_set_new(ck, "detail", json_string(p->checks[i].detail));
		json_array_append_new(a, ck);
	}
	json_object_set_new(o, "checks", a);
	return o;
}

static void
do_verify(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	struct store_msg m = {0};
	if (control_find_message(c, &req->verify->message_id, &req->verify->sender_id, &m,
	        res) != 0)
		return;
	struct proof p;
	proof_check(c->d, &m, &p);
	res->json = control_proof_json(m.msg_id, &p);
	store_msg_clear(&m);
}

static void
do_show(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	struct store_msg m = {0};
	if (control_find_message(c, &req->show->message_id, NULL, &m, res) != 0)
		return;
	const char *id = m.msg_id;
	json_t *o = control_msg_json(&m);
	struct store_event ev[64];
	int n = store_events_of(c->d->store, id, ev, 64);
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, control_event_json(&ev[i]));
	json_object_set_new(o, "events", a);
	json_t *dj = control_doc_json(&m);
	if (dj != NULL) {
		json_object_set(o, "attachments", json_object_get(dj, "attachments"));
		json_decref(dj);
	}
	if (m.rcpt_body_len > 0) {
		uint8_t h[STORE_HASH_LEN];
		char hx[2 * STORE_HASH_LEN + 1];
		evidence_payload_hash(m.rcpt_body, m.rcpt_body_len, h);
		hex(hx, h, STORE_HASH_LEN);
		json_object_set_new(o, "receipt_sha256", json_string(hx));
		json_object_set_new(o, "receipt_bytes", json_integer((json_int_t)m.rcpt_body_len));
	}
	json_t *rj = control_retrieval_json(c->d, &m);
	if (rj != NULL)
		json_object_set_new(o, "retrieved", rj);
	store_msg_clear(&m);
	res->json = o;
}

static void
control_follow_cb(void *arg, const struct store_event *ev, const char *line)
{
	struct control_client *cl = arg;
	/* Committed events are in the store before their completions announce them: the
	 * history reply may already hold this one. */
	if (ev->seq <= cl->follow_after || !store_event_matches(&cl->follow_filter, ev))
		return;
	struct control_result res = {.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK};
	res.json = json_loads(line, 0, NULL);
	control_reply(cl, cl->follow_request, &res);
}

int
control_follow(struct control *c, uint64_t request_id, int64_t after_seq,
    const struct store_event_filter *f)
{
	struct control_client *cl = c->current;
	if (cl->follow != 0 || c->d->events == NULL)
		return -1;
	const char *src[3] = {f->peer, f->msg_id, f->event};
	const char **dst[3] = {&cl->follow_filter.peer, &cl->follow_filter.msg_id,
	    &cl->follow_filter.event};
	cl->follow_filter = *f;
	for (size_t i = 0; i < 3; i++) {
		snprintf(cl->follow_text[i], sizeof(cl->follow_text[i]), "%s", src[i] ? src[i] : "");
		*dst[i] = cl->follow_text[i];
	}
	cl->follow_request = request_id;
	cl->follow_after = after_seq;
	cl->follow = events_subscribe(c->d->events, control_follow_cb, cl);
	return cl->follow > 0 ? 0 : -1;
}
