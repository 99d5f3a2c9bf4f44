/*
 * link: one TLS connection to a peer daemon and its state machine. It must never
 * write an application byte before the peer's certificate identity is checked, never
 * buffer a frame above max_frame, and never take a dropped connection for a complete
 * frame. Error policy: everything a peer does wrong closes this link only, with a
 * logged reason (rate-limited before authentication); nothing here is fatal.
 */
#include "link.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "frame.h"
#include "log.h"
#include "tls.h"

#define LINK_CLOSE_GRACE_MS 2000
#define LINK_SKEW_WARN_MS 60000
#define LINK_SOFTWARE "rogatoryd/0.1.0"

struct link {
	struct event_base *base;
	struct bufferevent *bev;
	struct tls_verify_info vinfo;
	enum link_state state;
	enum link_dir dir;
	bool tls_done;       /* handshake finished: Error frames and close_notify possible */
	bool authenticated;  /* certificate identity accepted */
	bool dirty;          /* transport failed: no close_notify */
	bool finished;
	char expected_id[AUTHORITY_ID_MAX + 1];
	char peer_id[AUTHORITY_ID_MAX + 1];
	char subject[256];
	char remote[80];
	time_t peer_not_after;
	struct link_params p;
	char our_id[AUTHORITY_ID_MAX + 1];
	struct link_callbacks cb;
	void *owner;
	void *odata;
	struct event *hs_timer;
	struct event *tick_timer;
	struct event *grace_timer;
	uint64_t created_ms;
	uint64_t last_rx_ms;
	uint64_t last_tx_ms;
	uint64_t ping_nonce;
	uint32_t peer_window;
	uint32_t peer_max_frame;
	uint64_t peer_max_message_size;
	uint64_t peer_crl_number;
	uint64_t peer_audit_witnessed;
	uint32_t version;              /* the version the link speaks (both Hellos) */
	uint64_t peer_directory_serial;
	bool crl_only;          /* admitted only to exchange CRLs (our CRL expired) */
	char peer_serial[48];   /* peer certificate serial, hex */
	char reason[512];
	uint64_t serial;
	struct link_rate *rate; /* the peer's shared read budget, once joined */
	unsigned holds;         /* LINK_HOLD_* bits: reading stops while any is set */
	unsigned unanswered;    /* inbound Transfers not yet answered (our window) */
	bool output_warned;     /* the output hold was logged once */
};

/* A read budget shared by the links of one peer: a libevent rate-limit group with a
 * reference per member link plus the owner's. */
struct link_rate {
	struct bufferevent_rate_limit_group *group;
	unsigned refs;
};

static struct link *link_new(struct event_base *base, const struct link_params *p,
    const struct link_callbacks *cb, void *owner, enum link_dir dir);
static int link_setup_bev(struct link *l, struct tls *tls, int fd, char *err, size_t errlen);
static bool link_chunk_in_place(struct link *l, struct evbuffer *in, size_t len);
static void link_wrote(struct link *l, struct evbuffer *out);
static uint32_t link_max_version(void);
static void link_read_cb(struct bufferevent *bev, void *arg);
static void link_write_cb(struct bufferevent *bev, void *arg);
static void link_event_cb(struct bufferevent *bev, short what, void *arg);
static void link_handshake_done(struct link *l);
static void link_handle(struct link *l, const Rogatory__V1__Envelope *env);
static void link_on_hello(struct link *l, const Rogatory__V1__Hello *h);
static void link_on_error(struct link *l, const Rogatory__V1__Error *e);
static void link_send_hello(struct link *l);
static int link_write(struct link *l, const Rogatory__V1__Envelope *env);
static void link_finish(struct link *l);
static void link_reap_cb(evutil_socket_t fd, short what, void *arg);
static void link_hs_timeout_cb(evutil_socket_t fd, short what, void *arg);
static void link_tick_cb(evutil_socket_t fd, short what, void *arg);
static void link_grace_cb(evutil_socket_t fd, short what, void *arg);
static void link_transport_failure(struct link *l, short what);
static void ms_to_tv(uint64_t ms, struct timeval *tv);

uint64_t
link_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t
link_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
ms_to_tv(uint64_t ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

static struct link *
link_new(struct event_base *base, const struct link_params *p,
    const struct link_callbacks *cb, void *owner, enum link_dir dir)
{
	struct link *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->base = base;
	l->p = *p;
	snprintf(l->our_id, sizeof(l->our_id), "%s", p->our_id);
	l->p.our_id = l->our_id;
	l->cb = *cb;
	l->owner = owner;
	l->dir = dir;
	l->state = dir == LINK_OUTBOUND ? LINK_CONNECTING : LINK_HANDSHAKING;
	l->created_ms = l->last_rx_ms = l->last_tx_ms = link_now_ms();
	static uint64_t next_serial;
	l->serial = ++next_serial;
	snprintf(l->subject, sizeof(l->subject), "(none)");
	l->hs_timer = evtimer_new(base, link_hs_timeout_cb, l);
	l->tick_timer = event_new(base, -1, EV_PERSIST, link_tick_cb, l);
	l->grace_timer = evtimer_new(base, link_grace_cb, l);
	if (l->hs_timer == NULL || l->tick_timer == NULL || l->grace_timer == NULL) {
		link_reap_cb(-1, 0, l);
		return NULL;
	}
	struct timeval tv;
	ms_to_tv(p->handshake_timeout_ms, &tv);
	evtimer_add(l->hs_timer, &tv);
	return l;
}

static int
link_setup_bev(struct link *l, struct tls *tls, int fd, char *err, size_t errlen)
{
	SSL *ssl = tls_ssl_new(tls, l->dir == LINK_INBOUND, &l->vinfo, err, errlen);
	if (ssl == NULL)
		return -1;
	/* With BEV_OPT_CLOSE_ON_FREE libevent owns and frees the SSL from here on. */
	l->bev = bufferevent_openssl_socket_new(l->base, fd, ssl,
	    l->dir == LINK_INBOUND ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (l->bev == NULL) {
		SSL_free(ssl);
		return err_set(err, errlen, "cannot create TLS connection: out of memory");
	}
	/* link_write_cb: the close flush, and the drained callback of ready links. */
	bufferevent_setcb(l->bev, link_read_cb, link_write_cb, link_event_cb, l);
	/* Never hold more than one maximal frame unread: reading stops at the mark. */
	bufferevent_setwatermark(l->bev, EV_READ, 0, (size_t)l->p.max_frame + FRAME_HEADER_LEN);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	return 0;
}

struct link *
link_dial(struct event_base *base, struct evdns_base *dns, struct tls *tls, const char *host,
    const char *port, const char *expected_id, const struct link_params *p,
    const struct link_callbacks *cb, void *owner, char *err, size_t errlen)
{
	struct link *l = link_new(base, p, cb, owner, LINK_OUTBOUND);
	if (l == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(l->expected_id, sizeof(l->expected_id), "%s", expected_id);
	snprintf(l->remote, sizeof(l->remote), "%s:%s", host, port);
	if (link_setup_bev(l, tls, -1, err, errlen) != 0) {
		link_reap_cb(-1, 0, l);
		return NULL;
	}
	int port_n = (int)strtol(port, NULL, 10); /* checked digits: config_parse_hostport */
	if (bufferevent_socket_connect_hostname(l->bev, dns, AF_UNSPEC, host, port_n) != 0) {
		err_set(err, errlen, "cannot connect to %s:%s: %s", host, port,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		bufferevent_free(l->bev);
		link_reap_cb(-1, 0, l);
		return NULL;
	}
	return l;
}

struct link *
link_accept(struct event_base *base, struct tls *tls, int fd, const struct sockaddr *sa,
    socklen_t salen, const struct link_params *p, const struct link_callbacks *cb,
    void *owner, char *err, size_t errlen)
{
	(void)salen;
	struct link *l = link_new(base, p, cb, owner, LINK_INBOUND);
	if (l == NULL) {
		evutil_closesocket(fd);
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	char host[64] = "?";
	int port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		evutil_inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		evutil_inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	}
	snprintf(l->remote, sizeof(l->remote), "%s:%d", host, port);
	/* The openssl bufferevent does not make the fd non-blocking by itself. */
	evutil_make_socket_nonblocking(fd);
	if (link_setup_bev(l, tls, fd, err, errlen) != 0) {
		evutil_closesocket(fd);
		link_reap_cb(-1, 0, l);
		return NULL;
	}
	l->state = LINK_HANDSHAKING;
	return l;
}

static void
link_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct link *l = arg;
	if (l->finished)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		link_handshake_done(l);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))
		link_transport_failure(l, what);
}

/* Names why the transport ended. A close without close_notify is "peer dropped",
 * never a complete frame: whatever partial frame is buffered is discarded. */
static void
link_transport_failure(struct link *l, short what)
{
	unsigned long e, first = 0;
	while ((e = bufferevent_get_openssl_error(l->bev)) != 0) {
		if (ERR_GET_LIB(e) == 0)
			continue;
		if (first == 0)
			first = e;
	}
	char why[384];
	int serr = EVUTIL_SOCKET_ERROR();
	int dns_err = bufferevent_socket_get_dns_error(l->bev);
	l->dirty = true;
	if (dns_err != 0) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s", l->remote,
		    evutil_gai_strerror(dns_err));
	} else if (!l->tls_done) {
		if (first == 0 && l->vinfo.error == 0 && serr != 0 && (what & BEV_EVENT_ERROR))
			snprintf(why, sizeof(why), "connection failed: %s",
			    evutil_socket_error_to_string(serr));
		else
			tls_failure_reason(&l->vinfo, first, why, sizeof(why));
	} else if ((what & BEV_EVENT_EOF) || tls_error_is_eof(first) ||
	    (first == 0 && serr == 0)) {
		snprintf(why, sizeof(why), "peer closed the connection");
	} else if (first != 0) {
		char r[256];
		tls_failure_reason(NULL, first, r, sizeof(r));
		snprintf(why, sizeof(why), "TLS error: %s", r);
	} else {
		snprintf(why, sizeof(why), "connection error: %s",
		    evutil_socket_error_to_string(serr));
	}
	if (l->state == LINK_CLOSING) {
		link_finish(l);
		return;
	}
	snprintf(l->reason, sizeof(l->reason), "%s", why);
	l->state = LINK_CLOSING;
	link_finish(l);
}

static void
link_handshake_done(struct link *l)
{
	SSL *ssl = bufferevent_openssl_get_ssl(l->bev);
	char err[256];
	/* Frames are written whole: Nagle would hold a receipt back for the peer's delayed
	 * ACK (tens of ms per round trip). */
	int one = 1;
	evutil_socket_t fd = bufferevent_getfd(l->bev);
	if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		log_debug("link %s: TCP_NODELAY: %s", l->remote, strerror(errno));
	l->tls_done = true;
	if (tls_peer_identity(ssl, l->peer_id, l->subject, sizeof(l->subject),
	        &l->peer_not_after, err, sizeof(err)) != 0) {
		l->peer_id[0] = '\0';
		link_close(l, l->dir == LINK_INBOUND ? ROGATORY__V1__ERROR_CODE__ERROR_CODE_WRONG_IDENTITY
		                                     : ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED,
		    err);
		return;
	}
	if (l->dir == LINK_OUTBOUND && strcmp(l->peer_id, l->expected_id) != 0) {
		/* Not a byte for an impostor, not even an Error frame. */
		char why[300];
		snprintf(why, sizeof(why), "wrong identity: dialed %s, certificate names %s",
		    l->expected_id, l->peer_id);
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED, why);
		return;
	}
	if (l->dir == LINK_INBOUND && l->cb.authorize != NULL) {
		Rogatory__V1__ErrorCode code = ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_AUTHORITY;
		char why[300] = "";
		if (l->cb.authorize(l->owner, l, l->peer_id, &code, why, sizeof(why)) != 0) {
			link_close(l, code, why);
			return;
		}
	}
	if (link_wall_ms() / 1000 > (int64_t)l->peer_not_after) {
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_CERTIFICATE, "peer certificate expired");
		return;
	}
	l->crl_only = l->vinfo.crl_only;
	tls_peer_serial(ssl, l->peer_serial, sizeof(l->peer_serial));
	l->authenticated = true;
	l->state = LINK_HELLO;
	log_debug("link %s: TLS established with %s (%s), exchanging Hello", l->remote,
	    l->peer_id, l->subject);
	link_send_hello(l);
}

static void
link_send_hello(struct link *l)
{
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Hello h = ROGATORY__V1__HELLO__INIT;
	h.authority_id.data = (uint8_t *)l->our_id;
	h.authority_id.len = strlen(l->our_id);
	h.min_version = PROTOCOL_VERSION_MIN;
	h.max_version = link_max_version();
	h.software.data = (uint8_t *)LINK_SOFTWARE;
	h.software.len = strlen(LINK_SOFTWARE);
	h.max_message_size = l->p.max_message_size;
	h.max_frame = l->p.max_frame;
	h.window = l->p.window;
	h.time_ms = link_wall_ms();
	h.crl_number = l->p.crl_number;
	/* What the owner says of this peer in particular (the audit log's witnessed size). */
	if (l->cb.hello != NULL)
		l->cb.hello(l->owner, l, &h);
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_HELLO;
	env.hello = &h;
	link_write(l, &env);
}

static int
link_write(struct link *l, const Rogatory__V1__Envelope *env)
{
	/* The peer's max_frame once known; before that the floor every peer accepts. */
	uint32_t max = l->state == LINK_READY ? l->peer_max_frame : FRAME_PEER_MAX_FLOOR;
	struct evbuffer *out = bufferevent_get_output(l->bev);
	if (frame_append(out, &env->base, max) != 0)
		return -1;
	link_wrote(l, out);
	return 0;
}

/* After a frame went into the output: a peer that does not read what we write stops
 * being read. */
static void
link_wrote(struct link *l, struct evbuffer *out)
{
	l->last_tx_ms = link_now_ms();
	/* A peer that does not read what we write (answers, Pongs) stops being read: our
	 * output, and so our memory, stays bounded whatever it sends. */
	size_t pending = evbuffer_get_length(out);
	if (pending > l->p.max_output && !(l->holds & LINK_HOLD_OUTPUT) &&
	    l->state != LINK_CLOSING) {
		if (!l->output_warned)
			log_info("link %s %s (%s): %zu bytes of output the peer has not read; "
			         "reading paused until it does ([limits] max_link_output %u)",
			    l->dir == LINK_OUTBOUND ? "to" : "from", l->peer_id, l->remote, pending,
			    l->p.max_output);
		l->output_warned = true;
		link_hold(l, LINK_HOLD_OUTPUT, true);
	}
}

int
link_send_chunk(struct link *l, const char *msg_id, uint32_t index, uint64_t offset,
    size_t len, int (*fill)(void *arg, uint8_t *dst, size_t len), void *arg)
{
	if (l->state != LINK_READY || l->crl_only)
		return -1;
	uint8_t head[FRAME_HEADER_LEN + WIRECHUNK_HEAD_MAX];
	size_t hl = FRAME_HEADER_LEN + wirechunk_head_put(head + FRAME_HEADER_LEN, msg_id,
	    index, offset, len);
	size_t body = hl - FRAME_HEADER_LEN + len;
	if (body > l->peer_max_frame)
		return -1;
	frame_header_put(head, (uint32_t)body);
	/* Header and head, then the data read straight into the output buffer. */
	struct evbuffer *out = bufferevent_get_output(l->bev);
	struct evbuffer_iovec v;
	if (evbuffer_reserve_space(out, (ev_ssize_t)(hl + len), &v, 1) != 1 ||
	    v.iov_len < hl + len)
		return -1;
	memcpy(v.iov_base, head, hl);
	if (fill(arg, (uint8_t *)v.iov_base + hl, len) != 0)
		return -2;
	v.iov_len = hl + len;
	if (evbuffer_commit_space(out, &v, 1) != 0)
		return -1;
	link_wrote(l, out);
	return 0;
}

int
link_send(struct link *l, const Rogatory__V1__Envelope *env)
{
	if (l->state != LINK_READY)
		return -1;
	if (l->crl_only && env->msg_case != ROGATORY__V1__ENVELOPE__MSG_CRL)
		return -1;
	/* An answer to an inbound Transfer frees a place in the window we announced. */
	if (l->unanswered > 0 && (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_RECEIPT ||
	        (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_ERROR &&
	            env->error->message_id.len > 0)))
		l->unanswered--;
	return link_write(l, env);
}

/* A Chunk frame (whole in the buffer, its length checked) handed to the owner with its
 * data where they are: no pullup, no decoded copy (attachment streaming). false: not a
 * Chunk this path takes; the frame is decoded whole as any other. */
static bool
link_chunk_in_place(struct link *l, struct evbuffer *in, size_t len)
{
	if (l->cb.chunk == NULL || l->state != LINK_READY || l->crl_only ||
	    l->dir != LINK_INBOUND)
		return false;
	uint8_t head[FRAME_HEADER_LEN + WIRECHUNK_HEAD_MAX];
	size_t want = FRAME_HEADER_LEN + (len < WIRECHUNK_HEAD_MAX ? len : WIRECHUNK_HEAD_MAX);
	struct wirechunk_head h;
	if (evbuffer_copyout(in, head, want) != (ev_ssize_t)want ||
	    wirechunk_head_decode(head + FRAME_HEADER_LEN, want - FRAME_HEADER_LEN, len, &h) != 1)
		return false;
	evbuffer_drain(in, FRAME_HEADER_LEN + h.data_off);
	l->last_rx_ms = link_now_ms();
	l->cb.chunk(l->owner, l, &h, in);
	/* A link the owner finished meanwhile no longer has its buffer. */
	if (!l->finished)
		evbuffer_drain(in, h.data_len);
	return true;
}

/* The highest version we speak: PROTOCOL_VERSION_MAX; test builds may speak less
 * (ROGATORY_TEST_MAX_VERSION), to play a peer of an earlier release. */
static uint32_t
link_max_version(void)
{
#ifdef ROGATORY_TEST_HOOKS
	const char *v = getenv("ROGATORY_TEST_MAX_VERSION");
	if (v != NULL && atoi(v) >= PROTOCOL_VERSION_MIN && atoi(v) < PROTOCOL_VERSION_MAX)
		return (uint32_t)atoi(v);
#endif
	return PROTOCOL_VERSION_MAX;
}

static void
link_read_cb(struct bufferevent *bev, void *arg)
{
	struct link *l = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	/* A hold stops the handling of frames already buffered too: what a held link costs
	 * is bounded by what it holds now, not by what its peer sent meanwhile. */
	while (!l->finished && l->holds == 0 &&
	    (l->state == LINK_HELLO || l->state == LINK_READY)) {
		const uint8_t *body;
		size_t len;
		char err[256];
		enum frame_status st = frame_length(in, l->p.max_frame, &len, err, sizeof(err));
		if (st == FRAME_INCOMPLETE)
			return;
		if (st == FRAME_READY && link_chunk_in_place(l, in, len))
			continue;
		if (st == FRAME_READY)
			st = frame_peek(in, l->p.max_frame, &body, &len, err, sizeof(err));
		if (st == FRAME_TOO_LARGE) {
			link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_FRAME_TOO_LARGE, err);
			return;
		}
		Rogatory__V1__Envelope *env = NULL;
		int rc = wire_envelope_decode(body, len, &env, err, sizeof(err));
		frame_consume(in, len);
		if (rc != 0) {
			char why[300];
			snprintf(why, sizeof(why), "bad frame: %s", err);
			link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_BAD_FRAME, why);
			return;
		}
		l->last_rx_ms = link_now_ms();
		link_handle(l, env);
		wire_envelope_free(env);
	}
	/* Closing: what the peer still sends is of no use. */
	if (l->state == LINK_CLOSING && !l->finished)
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void
link_handle(struct link *l, const Rogatory__V1__Envelope *env)
{
	if (l->state == LINK_HELLO) {
		if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_HELLO)
			link_on_hello(l, env->hello);
		else if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_ERROR)
			link_on_error(l, env->error);
		else
			link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_BAD_HELLO,
			    "bad hello: first frame is not a Hello");
		return;
	}
	/* The window our Hello announced binds the peer. */
	if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_TRANSFER && l->dir == LINK_INBOUND &&
	    !l->crl_only) {
		if (l->unanswered >= l->p.window) {
			char why[200];
			snprintf(why, sizeof(why), "window exceeded: %u transfers unanswered, our "
			    "Hello announced a window of %u", l->unanswered, l->p.window);
			log_warn("link from %s (%s, %s): %s", l->peer_id, l->remote, l->subject, why);
			link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, why);
			return;
		}
		l->unanswered++;
	}
	switch (env->msg_case) {
	case ROGATORY__V1__ENVELOPE__MSG_HELLO:
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, "second Hello on a ready link");
		return;
	case ROGATORY__V1__ENVELOPE__MSG_PING: {
		Rogatory__V1__Envelope out = ROGATORY__V1__ENVELOPE__INIT;
		Rogatory__V1__Pong pong = ROGATORY__V1__PONG__INIT;
		pong.nonce = env->ping->nonce;
		out.msg_case = ROGATORY__V1__ENVELOPE__MSG_PONG;
		out.pong = &pong;
		link_write(l, &out);
		return;
	}
	case ROGATORY__V1__ENVELOPE__MSG_PONG:
		return;

	case ROGATORY__V1__ENVELOPE__MSG_ERROR:
		/* Errors about one message (TRY_LATER, or naming an id) are the owner's;
		 * any other error ends the link. */
		if (env->error->code == ROGATORY__V1__ERROR_CODE__ERROR_CODE_TRY_LATER ||
		    env->error->message_id.len > 0) {
			if (l->cb.frame != NULL)
				l->cb.frame(l->owner, l, env);
			return;
		}
		link_on_error(l, env->error);
		return;
	default:
		if (l->crl_only && env->msg_case != ROGATORY__V1__ENVELOPE__MSG_CRL) {
			char why[160];
			snprintf(why, sizeof(why), "CRL-only link: frame type %d refused (our CRL "
			    "has expired; only CRLs are exchanged until a fresh one arrives)",
			    (int)env->msg_case);
			link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_CRL_ONLY, why);
			return;
		}
		if (l->cb.frame != NULL)
			l->cb.frame(l->owner, l, env);
		else
			link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, "unexpected frame");
		return;
	}
}

static void
link_on_error(struct link *l, const Rogatory__V1__Error *e)
{
	char why[1200];
	snprintf(why, sizeof(why), "peer sent error %s: %.*s", wire_error_code_name(e->code),
	    (int)e->text.len, (const char *)e->text.data);
	link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED, why);
}

static void
link_on_hello(struct link *l, const Rogatory__V1__Hello *h)
{
	char why[300];
	if (h->authority_id.len != strlen(l->peer_id) ||
	    memcmp(h->authority_id.data, l->peer_id, h->authority_id.len) != 0) {
		snprintf(why, sizeof(why), "bad hello: names %.*s but the certificate names %s",
		    (int)h->authority_id.len, (const char *)h->authority_id.data, l->peer_id);
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_WRONG_IDENTITY, why);
		return;
	}
	uint32_t max = link_max_version();
	uint32_t lo = h->min_version > PROTOCOL_VERSION_MIN ? h->min_version : PROTOCOL_VERSION_MIN;
	uint32_t hi = h->max_version < max ? h->max_version : max;
	if (lo > hi) {
		snprintf(why, sizeof(why),
		    "no common version: peer speaks %u..%u, we speak %u..%u", h->min_version,
		    h->max_version, (unsigned)PROTOCOL_VERSION_MIN, (unsigned)max);
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_NO_COMMON_VERSION, why);
		return;
	}
	int64_t skew = h->time_ms - link_wall_ms();
	if (skew > LINK_SKEW_WARN_MS || skew < -LINK_SKEW_WARN_MS)
		log_warn("link %s: clock of %s differs from ours by %+.1f s (Hello time); "
		         "check NTP on both sides",
		    l->remote, l->peer_id, (double)skew / 1000.0);
	l->peer_window = h->window;
	l->peer_max_message_size = h->max_message_size;
	l->peer_crl_number = h->crl_number;
	l->peer_audit_witnessed = h->audit_witnessed;
	l->version = hi;
	l->peer_directory_serial = h->directory_serial;
	/* We never send a frame above the peer's limit. */
	l->peer_max_frame = h->max_frame;
	l->state = LINK_READY;
	/* The write callback fires when the output drains to this: time to refill it
	 * (attachment chunks are written as it drains, never all at once). */
	bufferevent_setwatermark(l->bev, EV_WRITE, LINK_DRAIN_LOW, 0);
	evtimer_del(l->hs_timer);
	struct timeval tv;
	uint64_t tick = l->p.keepalive_ms / 2;
	ms_to_tv(tick < 100 ? 100 : tick, &tv);
	event_add(l->tick_timer, &tv);
	if (l->crl_only) {
		/* Bounded like the handshake: a CRL-only link never lingers. */
		ms_to_tv(l->p.handshake_timeout_ms, &tv);
		evtimer_add(l->hs_timer, &tv);
		log_notice("CRL-only link %s %s (%s, %s): our CRL has expired; exchanging CRLs, "
		           "nothing else",
		    l->dir == LINK_OUTBOUND ? "to" : "from", l->peer_id, l->remote, l->subject);
	} else {
		log_info("link %s %s: up (%s, %s, protocol %u)",
		    l->dir == LINK_OUTBOUND ? "to" : "from", l->peer_id, l->remote, l->subject, hi);
	}
	if (l->cb.ready != NULL)
		l->cb.ready(l->owner, l);
}

void
link_close(struct link *l, Rogatory__V1__ErrorCode code, const char *reason)
{
	if (l->state == LINK_CLOSING || l->finished)
		return;
	snprintf(l->reason, sizeof(l->reason), "%s", reason);
	if (code != ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED && l->tls_done) {
		Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
		Rogatory__V1__Error e = ROGATORY__V1__ERROR__INIT;
		e.code = code;
		e.text.data = (uint8_t *)reason;
		e.text.len = strnlen(reason, WIRE_TEXT_MAX);
		env.msg_case = ROGATORY__V1__ENVELOPE__MSG_ERROR;
		env.error = &e;
		link_write(l, &env);
	}
	l->state = LINK_CLOSING;
	evtimer_del(l->hs_timer);
	event_del(l->tick_timer);
	bufferevent_disable(l->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(l->bev)) == 0) {
		link_finish(l);
		return;
	}
	/* Flush the Error frame (link_write_cb finishes once it is out), but never wait
	 * on a peer that stopped reading. */
	bufferevent_setwatermark(l->bev, EV_WRITE, 0, 0);
	struct timeval tv;
	ms_to_tv(LINK_CLOSE_GRACE_MS, &tv);
	evtimer_add(l->grace_timer, &tv);
}

static void
link_write_cb(struct bufferevent *bev, void *arg)
{
	struct link *l = arg;
	if (l->state == LINK_CLOSING && !l->finished &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		link_finish(l);
		return;
	}
	/* The peer read its output down to the drain mark: read it again. */
	if ((l->holds & LINK_HOLD_OUTPUT) && !l->finished &&
	    evbuffer_get_length(bufferevent_get_output(bev)) <= LINK_DRAIN_LOW)
		link_hold(l, LINK_HOLD_OUTPUT, false);
	if (l->state == LINK_READY && !l->finished && l->cb.drained != NULL)
		l->cb.drained(l->owner, l);
}

static void
link_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct link *l = arg;
	l->dirty = true;
	link_finish(l);
}

static void
link_finish(struct link *l)
{
	if (l->finished)
		return;
	l->finished = true;
	l->state = LINK_CLOSING;
	evtimer_del(l->hs_timer);
	event_del(l->tick_timer);
	evtimer_del(l->grace_timer);
	if (l->tls_done && !l->dirty) {
		/* close_notify, written straight to the socket (output is drained). */
		SSL_shutdown(bufferevent_openssl_get_ssl(l->bev));
	}
	ERR_clear_error();
	if (l->authenticated) {
		log_info("%slink %s %s closed (%s, %s): %s", l->crl_only ? "CRL-only " : "",
		    l->dir == LINK_OUTBOUND ? "to" : "from", l->peer_id, l->remote, l->subject,
		    l->reason);
	} else if (l->dir == LINK_OUTBOUND) {
		log_warn("link to %s (%s) failed: %s; certificate subject %s",
		    l->expected_id, l->remote, l->reason, l->subject);
	} else {
		/* A stranger can cause these at will: diagnostics, rate-limited. */
		log_ratelimited(1, "refused connection from %s (certificate subject %s): %s",
		    l->remote, l->subject, l->reason);
	}
	if (l->cb.closed != NULL)
		l->cb.closed(l->owner, l, l->authenticated, l->reason);
	if (l->rate != NULL) {
		/* Now, not at libevent's deferred finalisation: the group may go first. */
		bufferevent_remove_from_rate_limit_group(l->bev);
		link_rate_release(l->rate);
		l->rate = NULL;
	}
	bufferevent_free(l->bev);
	l->bev = NULL;
	/* Free the struct from the loop, after every caller up the stack returned. */
	event_base_once(l->base, -1, EV_TIMEOUT, link_reap_cb, l, NULL);
}

static void
link_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct link *l = arg;
	if (l->hs_timer)
		event_free(l->hs_timer);
	if (l->tick_timer)
		event_free(l->tick_timer);
	if (l->grace_timer)
		event_free(l->grace_timer);
	free(l);
}

static void
link_hs_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct link *l = arg;
	char why[128];
	if (l->state == LINK_READY) {
		/* Only CRL-only links keep this timer past Hello. */
		snprintf(why, sizeof(why), "no CRL received within handshake_timeout (%llu ms)",
		    (unsigned long long)l->p.handshake_timeout_ms);
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED, why);
		return;
	}
	snprintf(why, sizeof(why), "%s not completed within handshake_timeout (%llu ms)",
	    l->tls_done ? "Hello exchange" : "TLS handshake",
	    (unsigned long long)l->p.handshake_timeout_ms);
	l->dirty = !l->tls_done;
	link_close(l, l->tls_done ? ROGATORY__V1__ERROR_CODE__ERROR_CODE_BAD_HELLO
	                          : ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED,
	    why);
}

static void
link_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct link *l = arg;
	uint64_t now = link_now_ms();
	if (now - l->last_rx_ms >= l->p.dead_after_ms) {
		char why[128];
		snprintf(why, sizeof(why), "nothing received for %llu ms (dead_after)",
		    (unsigned long long)(now - l->last_rx_ms));
		l->dirty = true;
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED, why);
		return;
	}
	if (link_wall_ms() / 1000 > (int64_t)l->peer_not_after) {
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_CERTIFICATE,
		    "peer certificate expired while linked");
		return;
	}
	if (now - l->last_tx_ms >= l->p.keepalive_ms) {
		Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
		Rogatory__V1__Ping ping = ROGATORY__V1__PING__INIT;
		ping.nonce = ++l->ping_nonce;
		env.msg_case = ROGATORY__V1__ENVELOPE__MSG_PING;
		env.ping = &ping;
		link_write(l, &env);
	}
}

void
link_hold(struct link *l, unsigned why, bool on)
{
	unsigned before = l->holds;
	l->holds = on ? l->holds | why : l->holds & ~why;
	if (l->state == LINK_CLOSING || l->finished || (before == 0) == (l->holds == 0))
		return;
	if (l->holds == 0) {
		bufferevent_enable(l->bev, EV_READ);
		/* Frames already buffered would otherwise wait for the next byte. */
		if (evbuffer_get_length(bufferevent_get_input(l->bev)) > 0)
			bufferevent_trigger(l->bev, EV_READ, BEV_OPT_DEFER_CALLBACKS);
	} else {
		bufferevent_disable(l->bev, EV_READ);
	}
}

unsigned
link_holds(const struct link *l)
{
	return l->holds;
}

enum link_state
link_state(const struct link *l)
{
	return l->state;
}

enum link_dir
link_dir(const struct link *l)
{
	return l->dir;
}

bool
link_authenticated(const struct link *l)
{
	return l->authenticated;
}

const char *
link_peer_id(const struct link *l)
{
	return l->authenticated ? l->peer_id : "";
}

const char *
link_subject(const struct link *l)
{
	return l->subject;
}

const char *
link_remote(const struct link *l)
{
	return l->remote;
}

time_t
link_peer_not_after(const struct link *l)
{
	return l->peer_not_after;
}

uint32_t
link_peer_window(const struct link *l)
{
	return l->peer_window;
}

uint64_t
link_peer_max_message_size(const struct link *l)
{
	return l->peer_max_message_size;
}

uint64_t
link_peer_crl_number(const struct link *l)
{
	return l->peer_crl_number;
}

uint32_t
link_version(const struct link *l)
{
	return l->version;
}

uint64_t
link_peer_audit_witnessed(const struct link *l)
{
	return l->peer_audit_witnessed;
}

uint64_t
link_peer_directory_serial(const struct link *l)
{
	return l->peer_directory_serial;
}

void
link_set_peer_directory_serial(struct link *l, uint64_t n)
{
	if (n > l->peer_directory_serial)
		l->peer_directory_serial = n;
}

void
link_set_peer_crl_number(struct link *l, uint64_t n)
{
	if (n > l->peer_crl_number)
		l->peer_crl_number = n;
}

bool
link_crl_only(const struct link *l)
{
	return l->crl_only;
}

const char *
link_peer_cert_serial(const struct link *l)
{
	return l->authenticated ? l->peer_serial : "";
}

size_t
link_output_pending(const struct link *l)
{
	return l->bev ? evbuffer_get_length(bufferevent_get_output(l->bev)) : 0;
}

uint64_t
link_created_ms(const struct link *l)
{
	return l->created_ms;
}

void *
link_owner_data(const struct link *l)
{
	return l->odata;
}

uint64_t
link_serial(const struct link *l)
{
	return l->serial;
}

void
link_set_owner_data(struct link *l, void *data)
{
	l->odata = data;
}

/* Read rate per 100 ms tick; the burst always holds one maximal frame, so a frame is
 * never starved whatever the rate. Writes are not limited. */
static struct ev_token_bucket_cfg *
link_rate_cfg(uint32_t bytes_per_s, uint32_t max_frame)
{
	static const struct timeval tick = {.tv_sec = 0, .tv_usec = 100000};
	size_t per_tick = bytes_per_s / 10 > 0 ? bytes_per_s / 10 : 1;
	size_t burst = (size_t)max_frame + FRAME_HEADER_LEN;
	if (burst < bytes_per_s)
		burst = bytes_per_s;
	return ev_token_bucket_cfg_new(per_tick, burst, EV_RATE_LIMIT_MAX, EV_RATE_LIMIT_MAX,
	    &tick);
}

struct link_rate *
link_rate_new(struct event_base *base, uint32_t bytes_per_s, uint32_t max_frame)
{
	struct link_rate *r = calloc(1, sizeof(*r));
	struct ev_token_bucket_cfg *cfg = link_rate_cfg(bytes_per_s, max_frame);
	if (r == NULL || cfg == NULL) {
		free(r);
		if (cfg != NULL)
			ev_token_bucket_cfg_free(cfg);
		return NULL;
	}
	r->group = bufferevent_rate_limit_group_new(base, cfg);
	ev_token_bucket_cfg_free(cfg); /* the group keeps a copy */
	if (r->group == NULL) {
		free(r);
		return NULL;
	}
	r->refs = 1;
	return r;
}

void
link_rate_set(struct link_rate *r, uint32_t bytes_per_s, uint32_t max_frame)
{
	struct ev_token_bucket_cfg *cfg = link_rate_cfg(bytes_per_s, max_frame);
	if (cfg == NULL)
		return;
	bufferevent_rate_limit_group_set_cfg(r->group, cfg);
	ev_token_bucket_cfg_free(cfg);
}

void
link_rate_release(struct link_rate *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	bufferevent_rate_limit_group_free(r->group);
	free(r);
}

void
link_rate_join(struct link *l, struct link_rate *r)
{
	if (l->rate != NULL || l->finished || l->bev == NULL)
		return;
	if (bufferevent_add_to_rate_limit_group(l->bev, r->group) != 0) {
		log_warn("link %s: cannot join the read rate limit of %s", l->remote, l->peer_id);
		return;
	}
	r->refs++;
	l->rate = r;
}
