/*
 * httpd: a bounded HTTP/1.x responder (contract in httpd.h). Each connection reads at
 * most head_max + 1 bytes (the bufferevent's read watermark stops the socket reads
 * there), is answered once and freed when the reply is written, when the peer goes, or
 * at its deadline, whichever comes first.
 */
#include "httpd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"

#define HTTPD_PAUSE_MS 1000       /* the listener's rest after EMFILE/ENFILE */
#define HTTPD_LOG_KEY 5           /* log_ratelimited class */
#define HTTPD_LINGER_MAX 65536    /* bytes dropped after a reply before we stop listening */

struct hconn {
	struct httpd *h;
	struct bufferevent *bev;
	struct event *deadline;
	struct hconn *prev, *next;   /* newest first */
	bool answered;               /* its head was read and a reply is on its way */
	size_t dropped;              /* bytes read and dropped after the reply */
};

struct httpd {
	struct event_base *base;
	struct evconnlistener *lev;
	struct event *resume;
	struct httpd_limits lim;
	httpd_fn fn;
	void *arg;
	struct hconn *conns;
	unsigned nconns;
};

static void conn_free(struct hconn *c);
static void conn_reply(struct hconn *c, struct httpd_reply *r);
static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_arm(struct hconn *c, int ms);

/* ---- one connection ---- */

static void
conn_free(struct hconn *c)
{
	struct httpd *h = c->h;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->nconns--;
	event_free(c->deadline);
	bufferevent_free(c->bev);
	free(c);
}

static void
conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct hconn *c = arg;
	log_debug("metrics: a client kept its connection past %d ms; closed",
	    c->h->lim.deadline_ms);
	conn_free(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_free(arg);
}

static void
conn_arm(struct hconn *c, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	evtimer_add(c->deadline, &tv);
}

/* After the reply: what the client still sends (a body, pipelined requests) is read and
 * dropped until it closes or the deadline, so that closing with unread input does not
 * reset the connection and cut the reply short in the client's kernel. */
static void
conn_discard_cb(struct bufferevent *bev, void *arg)
{
	struct hconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	c->dropped += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	/* A client that keeps sending after its answer is not worth reading for. */
	if (c->dropped > HTTPD_LINGER_MAX)
		conn_free(c);
}

/* The reply is written: no more output; wait for the client's close (lingering). */
static void
conn_written_cb(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	if (shutdown(bufferevent_getfd(bev), SHUT_WR) != 0) {
		conn_free(arg);
		return;
	}
	struct hconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	c->dropped = evbuffer_get_length(in);
	evbuffer_drain(in, c->dropped);
	bufferevent_setcb(bev, conn_discard_cb, NULL, conn_event_cb, arg);
	bufferevent_disable(bev, EV_WRITE);
	bufferevent_enable(bev, EV_READ);
}

static void
conn_reply(struct hconn *c, struct httpd_reply *r)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	const char *text = r->body != NULL ? r->body : "";
	size_t len = r->body != NULL ? r->len : 0;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n", r->code, r->reason,
	    r->content_type != NULL ? r->content_type : "text/plain; charset=utf-8", len);
	if (r->allow != NULL)
		evbuffer_add_printf(out, "Allow: %s\r\n", r->allow);
	evbuffer_add(out, "\r\n", 2);
	evbuffer_add(out, text, len);
	free(r->body);
	r->body = NULL;
	/* No second request: the input is dropped from now on (conn_written_cb). */
	c->answered = true;
	conn_arm(c, c->h->lim.deadline_ms);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, conn_written_cb, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_WRITE);
}

/* A protocol-level answer of our own (the caller never sees the request). */
static void
conn_error(struct hconn *c, int code, const char *reason, const char *text)
{
	struct httpd_reply r = {.code = code, .reason = reason};
	size_t n = strlen(text);
	if ((r.body = malloc(n + 1)) != NULL) {
		memcpy(r.body, text, n);
		r.body[n] = '\n';
		r.len = n + 1;
	}
	conn_reply(c, &r);
}

/* The request line and headers (head, NUL-terminated, its final blank line cut off). */
static void
conn_request(struct hconn *c, char *head)
{
	char *save = NULL, *line = strtok_r(head, "\r\n", &save);
	char method[17], target[2049], version[9];
	if (line == NULL || sscanf(line, "%16[A-Z] %2048[^ ] %8s", method, target, version) != 3 ||
	    target[0] != '/' || (strcmp(version, "HTTP/1.0") != 0 &&
	    strcmp(version, "HTTP/1.1") != 0)) {
		conn_error(c, 400, "Bad Request", "bad request: expected GET /metrics HTTP/1.1");
		return;
	}
	while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
		char *colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		const char *v = colon + 1 + strspn(colon + 1, " \t");
		char *end = NULL;
		if (strcasecmp(line, "transfer-encoding") == 0 ||
		    (strcasecmp(line, "content-length") == 0 &&
		    (strtoull(v, &end, 10) > c->h->lim.body_max || end == v))) {
			conn_error(c, 413, "Payload Too Large", "request body too large: this port "
			    "reads none");
			return;
		}
	}
	target[strcspn(target, "?#")] = '\0';
	struct httpd_reply r = {0};
	c->h->fn(c->h->arg, method, target, &r);
	conn_reply(c, &r);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct hconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t have = evbuffer_get_length(in);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0 || (size_t)end.pos > c->h->lim.head_max) {
		if (have > c->h->lim.head_max)
			conn_error(c, 431, "Request Header Fields Too Large", "request line and "
			    "headers too large");
		return;
	}
	char *head = malloc((size_t)end.pos + 1);
	if (head == NULL) {
		conn_free(c);
		return;
	}
	evbuffer_copyout(in, head, (size_t)end.pos);
	head[end.pos] = '\0';
	conn_request(c, head);
	free(head);
}

/* ---- the listener ---- */

/* Full: the oldest connection that has not sent a whole head yet makes room (a client
 * that connects and sends nothing must not keep a scraper out). false when every
 * connection is being answered. */
static bool
evict_idle(struct httpd *h)
{
	struct hconn *oldest = NULL;
	for (struct hconn *c = h->conns; c != NULL; c = c->next)
		if (!c->answered)
			oldest = c;
	if (oldest == NULL)
		return false;
	log_ratelimited(HTTPD_LOG_KEY, "metrics: %u connections open; closing the oldest that "
	    "has not sent a request yet", h->nconns);
	conn_free(oldest);
	return true;
}

static void
httpd_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	(void)lev;
	(void)sa;
	(void)salen;
	struct httpd *h = arg;
	if (h->nconns >= h->lim.conns_max && !evict_idle(h)) {
		log_ratelimited(HTTPD_LOG_KEY, "metrics: %u connections open, all being answered; "
		    "refusing another", h->nconns);
		close(fd);
		return;
	}
	struct hconn *c = calloc(1, sizeof(*c));
	struct bufferevent *bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
	struct event *dl = c != NULL ? evtimer_new(h->base, conn_deadline_cb, c) : NULL;
	if (c == NULL || bev == NULL || dl == NULL) {
		log_ratelimited(HTTPD_LOG_KEY, "metrics: out of memory for a connection");
		free(c);
		if (bev != NULL)
			bufferevent_free(bev);
		else
			close(fd);
		if (dl != NULL)
			event_free(dl);
		return;
	}
	*c = (struct hconn){.h = h, .bev = bev, .deadline = dl, .next = h->conns};
	/* conn_free (evict_idle) unlinks what it frees; the analyzer does not follow the
	 * list through it. */
	if (h->conns != NULL)
		h->conns->prev = c; // NOLINT(clang-analyzer-unix.Malloc)
	h->conns = c;
	h->nconns++;
	conn_arm(c, h->lim.head_ms);
	/* The socket is read no further than one byte past the largest head. */
	bufferevent_setwatermark(bev, EV_READ, 0, h->lim.head_max + 1);
	bufferevent_setcb(bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(bev, EV_READ);
}

static void
httpd_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct httpd *h = arg;
	evconnlistener_enable(h->lev);
}

static void
httpd_error_cb(struct evconnlistener *lev, void *arg)
{
	struct httpd *h = arg;
	int e = EVUTIL_SOCKET_ERROR();
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		log_ratelimited(HTTPD_LOG_KEY, "metrics: accept: %s; pausing the listener for "
		    "%d ms", strerror(e), HTTPD_PAUSE_MS);
		evconnlistener_disable(lev);
		struct timeval tv = {.tv_sec = HTTPD_PAUSE_MS / 1000,
		    .tv_usec = (HTTPD_PAUSE_MS % 1000) * 1000};
		evtimer_add(h->resume, &tv);
		return;
	}
	log_ratelimited(HTTPD_LOG_KEY, "metrics: accept: %s", strerror(e));
}

int
httpd_new(struct event_base *base, int fd, const struct httpd_limits *lim, httpd_fn fn,
    void *arg, struct httpd **out, char *err, size_t errlen)
{
	struct httpd *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		close(fd);
		return err_set(err, errlen, "out of memory");
	}
	*h = (struct httpd){.base = base, .lim = *lim, .fn = fn, .arg = arg};
	h->resume = evtimer_new(base, httpd_resume_cb, h);
	/* backlog -1: the socket already listens. */
	h->lev = h->resume != NULL ? evconnlistener_new(base, httpd_accept_cb, h,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd) : NULL;
	if (h->lev == NULL) {
		close(fd);
		httpd_free(h);
		return err_set(err, errlen, "cannot listen for HTTP on it");
	}
	evconnlistener_set_error_cb(h->lev, httpd_error_cb);
	*out = h;
	return 0;
}

void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	for (struct hconn *c = h->conns, *next; c != NULL; c = next) {
		next = c->next;
		conn_free(c);
	}
	if (h->lev != NULL)
		evconnlistener_free(h->lev);
	if (h->resume != NULL)
		event_free(h->resume);
	free(h);
}

unsigned
httpd_conns(const struct httpd *h)
{
	return h != NULL ? h->nconns : 0;
}
