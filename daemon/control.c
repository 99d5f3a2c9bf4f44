/*
 * control: serves rogatoryctl over the unix socket. It must never open a path a client
 * names, never answer a caller outside the allowed credentials, and never let one
 * client's malformed request affect another: every failure is a Reply with a code.
 */
#include "control.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "config.h"
#include "events.h"
#include "evidence.h"
#include "outbox.h"
#include "store.h"
#include "frame.h"
#include "link.h"
#include "log.h"
#include "peer.h"
#include "proof.h"
#include "revocation.h"
#include "rogatoryd.h"
#include "server.h"
#include "tls.h"
#include "wire.h"

#define CONTROL_MAX_CLIENTS 64
#define CONTROL_MAX_GROUPS 256

struct control_client {
	struct control *c;
	struct bufferevent *bev;
	uid_t uid;
	uint64_t id;            /* asynchronous replies find their client by id */
	int follow;             /* events subscription of `log --follow`, 0 when none */
	uint64_t follow_request;
	int64_t follow_after;   /* highest seq already sent in the history reply */
	struct control_client *next;
};

struct control {
	struct rogatoryd *d;
	struct evconnlistener *lev;
	char *path;
	gid_t group;
	bool has_group;
	struct control_client *clients;
	unsigned nclients;
	uint64_t next_client_id;
	struct control_client *current; /* the client whose request is being handled */
};

/* A handler fills *json (owned by the caller afterwards) or an error. */
struct control_result {
	Rogatory__Ctl__V1__ReplyCode code;
	const char *error_code;
	char error_text[512];
	json_t *json;
	bool deferred;          /* the handler replies later (after a store commit) */
};

typedef void (*control_handler)(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);

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
static void do_queue(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_show(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_inbox(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_retry(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_cancel(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_log(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void do_verify(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static int socket_in_use(const char *path);

/* The command table: one row per request type. */
static const struct {
	Rogatory__Ctl__V1__Request__OpCase op;
	const char *name;
	control_handler fn;
} control_ops[] = {
	{ROGATORY__CTL__V1__REQUEST__OP_STATUS, "status", do_status},
	{ROGATORY__CTL__V1__REQUEST__OP_PEERS, "peers", do_peers},
	{ROGATORY__CTL__V1__REQUEST__OP_CONNECT, "connect", do_connect},
	{ROGATORY__CTL__V1__REQUEST__OP_CRL_INSTALL, "crl install", do_crl_install},
	{ROGATORY__CTL__V1__REQUEST__OP_SEND, "send", do_send},
	{ROGATORY__CTL__V1__REQUEST__OP_QUEUE, "queue", do_queue},
	{ROGATORY__CTL__V1__REQUEST__OP_SHOW, "show", do_show},
	{ROGATORY__CTL__V1__REQUEST__OP_INBOX, "inbox", do_inbox},
	{ROGATORY__CTL__V1__REQUEST__OP_RETRY, "retry", do_retry},
	{ROGATORY__CTL__V1__REQUEST__OP_CANCEL, "cancel", do_cancel},
	{ROGATORY__CTL__V1__REQUEST__OP_LOG, "log", do_log},
	{ROGATORY__CTL__V1__REQUEST__OP_VERIFY, "verify", do_verify},
};

/* 1 when a process answers on path: then it is not ours to remove. */
static int
socket_in_use(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int r = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return r;
}

int
control_start(struct rogatoryd *d, struct control **out, char *err, size_t errlen)
{
	const struct config *cfg = d->cfg;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(cfg->control_socket) >= sizeof(sun.sun_path))
		return err_set(err, errlen, "[control] socket %s: path longer than %zu bytes",
		    cfg->control_socket, sizeof(sun.sun_path) - 1);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", cfg->control_socket);

	struct stat st;
	if (lstat(cfg->control_socket, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(err, errlen, "[control] socket %s exists and is not a socket",
			    cfg->control_socket);
		if (socket_in_use(cfg->control_socket))
			return err_set(err, errlen,
			    "[control] socket %s is in use: is another rogatoryd running?",
			    cfg->control_socket);
		unlink(cfg->control_socket);
	}

	struct control *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return err_set(err, errlen, "out of memory");
	c->d = d;
	c->path = strdup(cfg->control_socket);
	if (cfg->control_group != NULL) {
		struct group *g = getgrnam(cfg->control_group);
		if (g == NULL) {
			err_set(err, errlen, "[control] group %s: no such group", cfg->control_group);
			goto fail;
		}
		c->group = g->gr_gid;
		c->has_group = true;
	}
	/* Bind with a tight umask so the socket never exists with a wider mode than asked. */
	mode_t old = umask(0177);
	c->lev = evconnlistener_new_bind(d->base, control_accept_cb, c,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16, (struct sockaddr *)&sun,
	    sizeof(sun));
	umask(old);
	if (c->lev == NULL) {
		err_set(err, errlen, "cannot create control socket %s: %s", cfg->control_socket,
		    strerror(errno));
		goto fail;
	}
	if (c->has_group && chown(cfg->control_socket, (uid_t)-1, c->group) != 0) {
		err_set(err, errlen, "cannot give control socket %s to group %s: %s",
		    cfg->control_socket, cfg->control_group, strerror(errno));
		goto fail;
	}
	if (chmod(cfg->control_socket, cfg->control_mode) != 0) {
		err_set(err, errlen, "cannot chmod control socket %s: %s", cfg->control_socket,
		    strerror(errno));
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

void
control_free(struct control *c)
{
	if (c == NULL)
		return;
	while (c->clients != NULL)
		control_client_free(c->clients);
	if (c->lev != NULL) {
		evconnlistener_free(c->lev);
		unlink(c->path);
	}
	free(c->path);
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
		int rc = wire_ctl_request_decode(body, len, &req, err, sizeof(err));
		frame_consume(in, len);
		if (rc != 0) {
			if (strncmp(err, "unsupported control protocol version", 36) == 0) {
				res.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_UNSUPPORTED_VERSION;
				res.error_code = "unsupported-version";
			}
			snprintf(res.error_text, sizeof(res.error_text), "%s", err);
			control_reply(cl, 0, &res);
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
	for (size_t i = 0; i < sizeof(control_ops) / sizeof(control_ops[0]); i++) {
		if (control_ops[i].op == req->op_case) {
			log_debug("control: uid %u: %s (request %llu)", (unsigned)cl->uid,
			    control_ops[i].name, (unsigned long long)req->request_id);
			cl->c->current = cl;
			control_ops[i].fn(cl->c, req, &res);
			cl->c->current = NULL;
			if (!res.deferred)
				control_reply(cl, req->request_id, &res);
			return;
		}
	}
	res.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST;
	res.error_code = "unknown-request";
	snprintf(res.error_text, sizeof(res.error_text), "unknown request type %d",
	    (int)req->op_case);
	control_reply(cl, req->request_id, &res);
}

static void
control_reply(struct control_client *cl, uint64_t request_id, struct control_result *res)
{
	Rogatory__Ctl__V1__Reply r = ROGATORY__CTL__V1__REPLY__INIT;
	char *js = NULL;
	r.request_id = request_id;
	r.code = res->code;
	if (res->error_code != NULL) {
		r.error_code.data = (uint8_t *)res->error_code;
		r.error_code.len = strlen(res->error_code);
	}
	r.error_text.data = (uint8_t *)res->error_text;
	r.error_text.len = strlen(res->error_text);
	if (res->json != NULL) {
		js = json_dumps(res->json, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(res->json);
		res->json = NULL;
		if (js != NULL) {
			r.json.data = (uint8_t *)js;
			r.json.len = strlen(js);
		}
	}
	if (frame_append(bufferevent_get_output(cl->bev), &r.base, FRAME_CONTROL_MAX) != 0)
		log_warn("control: reply to request %llu too large, dropped",
		    (unsigned long long)request_id);
	free(js);
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
	res->json = o;
}

static void
do_peers(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	(void)req;
	json_t *a = json_array();
	struct peers *ps = c->d->peers;
	for (size_t i = 0; i < peers_count(ps); i++) {
		struct peer_info pi;
		peers_info(ps, i, &pi);
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
		json_array_append_new(a, o);
	}
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

static struct control_pending *
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

static json_t *
json_time_us(int64_t us)
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

static json_t *
msg_json(const struct store_msg *m)
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
	json_object_set_new(o, "created", json_time_us(m->created_us));
	json_object_set_new(o, "updated", json_time_us(m->updated_us));
	if (m->dir == STORE_OUT) {
		json_object_set_new(o, "next_attempt", json_time_us(m->next_attempt_us));
		json_object_set_new(o, "expires", json_time_us(m->expire_at_us));
	} else {
		json_object_set_new(o, "fetched", json_boolean(m->fetched));
	}
	json_object_set_new(o, "last_error", m->last_error[0] ? json_string(m->last_error)
	                                                      : json_null());
	hex(h, m->payload_hash, STORE_HASH_LEN);
	json_object_set_new(o, "payload_sha256", json_string(h));
	json_object_set_new(o, "receipt", json_boolean(m->rcpt_body_len > 0));
	return o;
}

static void
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
			res.json = msg_json(m);
		}
		control_reply(cl, p->request_id, &res);
	}
	free(p);
}

static void
do_send(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	outbox_submit(c->d->outbox, req->send, control_async_reply, control_defer(c, req, res));
}

static void
id_of(char out[UUID_TEXT_LEN + 1], const ProtobufCBinaryData *b)
{
	snprintf(out, UUID_TEXT_LEN + 1, "%.*s", (int)b->len, (const char *)b->data);
}

static void
do_retry(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	char id[UUID_TEXT_LEN + 1];
	id_of(id, &req->retry->message_id);
	outbox_retry(c->d->outbox, id, control_async_reply, control_defer(c, req, res));
}

static void
do_cancel(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	char id[UUID_TEXT_LEN + 1];
	id_of(id, &req->cancel->message_id);
	outbox_cancel(c->d->outbox, id, control_async_reply, control_defer(c, req, res));
}

#define CONTROL_LIST_DEFAULT 100
#define CONTROL_LIST_MAX 1000

static void
list_messages(struct control *c, enum store_dir dir, bool only_open, uint32_t limit,
    struct control_result *res)
{
	int max = limit == 0 ? CONTROL_LIST_DEFAULT : (int)(limit > CONTROL_LIST_MAX ? CONTROL_LIST_MAX : limit);
	struct store_msg *v = calloc((size_t)max, sizeof(*v));
	if (v == NULL)
		fatal("out of memory");
	int n = store_list(c->d->store, dir, only_open, 0, v, max);
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		json_array_append_new(a, msg_json(&v[i]));
		store_msg_clear(&v[i]);
	}
	free(v);
	if (n < 0) {
		json_decref(a);
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
		res->error_code = "store-error";
		snprintf(res->error_text, sizeof(res->error_text), "cannot read the store");
		return;
	}
	res->json = a;
}

static void
do_queue(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	list_messages(c, STORE_OUT, !req->queue->all, req->queue->limit, res);
}

static void
do_inbox(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	list_messages(c, STORE_IN, false, req->inbox->limit, res);
}

static json_t *
event_json_obj(const struct store_event *e)
{
	char *line = events_json(e);
	json_t *j = line ? json_loads(line, 0, NULL) : NULL;
	free(line);
	return j ? j : json_null();
}

/* Our outbound message with that id, else an inbound one. -1 with res filled. */
static int
find_message(struct control *c, const ProtobufCBinaryData *bid, struct store_msg *m,
    struct control_result *res)
{
	char id[UUID_TEXT_LEN + 1];
	id_of(id, bid);
	int r = store_get(c->d->store, STORE_OUT, c->d->cfg->authority_id, id, m);
	if (r == 1)
		r = store_get(c->d->store, STORE_IN, NULL, id, m);
	if (r == 0)
		return 0;
	res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND;
	res->error_code = "not-found";
	snprintf(res->error_text, sizeof(res->error_text), "no message %s", id);
	return -1;
}

static void
do_verify(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	struct store_msg m = {0};
	if (find_message(c, &req->verify->message_id, &m, res) != 0)
		return;
	struct proof p;
	proof_check(c->d, &m, &p);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(m.msg_id));
	json_object_set_new(o, "valid", json_boolean(p.valid));
	json_t *a = json_array();
	for (size_t i = 0; i < p.n; i++) {
		json_t *ck = json_object();
		json_object_set_new(ck, "check", json_string(p.checks[i].what));
		json_object_set_new(ck, "ok", json_boolean(p.checks[i].ok));
		json_object_set_new(ck, "detail", json_string(p.checks[i].detail));
		json_array_append_new(a, ck);
	}
	json_object_set_new(o, "checks", a);
	store_msg_clear(&m);
	res->json = o;
}

static void
do_show(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	struct store_msg m = {0};
	if (find_message(c, &req->show->message_id, &m, res) != 0)
		return;
	const char *id = m.msg_id;
	json_t *o = msg_json(&m);
	struct store_event ev[64];
	int n = store_events_of(c->d->store, id, ev, 64);
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, event_json_obj(&ev[i]));
	json_object_set_new(o, "events", a);
	if (m.rcpt_body_len > 0) {
		uint8_t h[STORE_HASH_LEN];
		char hx[2 * STORE_HASH_LEN + 1];
		evidence_payload_hash(m.rcpt_body, m.rcpt_body_len, h);
		hex(hx, h, STORE_HASH_LEN);
		json_object_set_new(o, "receipt_sha256", json_string(hx));
		json_object_set_new(o, "receipt_bytes", json_integer((json_int_t)m.rcpt_body_len));
	}
	store_msg_clear(&m);
	res->json = o;
}

static void
control_follow_cb(void *arg, const struct store_event *ev, const char *line)
{
	struct control_client *cl = arg;
	/* Committed events are in the store before their completions announce them: the
	 * history reply may already hold this one. */
	if (ev->seq <= cl->follow_after)
		return;
	struct control_result res = {.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK};
	res.json = json_loads(line, 0, NULL);
	control_reply(cl, cl->follow_request, &res);
}

static void
do_log(struct control *c, const Rogatory__Ctl__V1__Request *req, struct control_result *res)
{
	const Rogatory__Ctl__V1__LogRequest *q = req->log;
	int max = q->limit == 0 ? CONTROL_LIST_MAX : (int)(q->limit > CONTROL_LIST_MAX ? CONTROL_LIST_MAX : q->limit);
	struct store_event *ev = calloc((size_t)max, sizeof(*ev));
	if (ev == NULL)
		fatal("out of memory");
	int64_t after = q->after_seq;
	if (q->after_seq < 0) {
		/* The last -after_seq events. */
		int64_t last = store_last_seq(c->d->store);
		after = last + q->after_seq > 0 ? last + q->after_seq : 0;
	}
	int n = store_events_since(c->d->store, after, ev, max);
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, event_json_obj(&ev[i]));
	int64_t last = n > 0 ? ev[n - 1].seq : after;
	free(ev);
	res->json = a;
	if (q->follow && c->current->follow == 0 && c->d->events != NULL) {
		c->current->follow_request = req->request_id;
		c->current->follow_after = last;
		c->current->follow = events_subscribe(c->d->events, control_follow_cb, c->current);
	}
}
