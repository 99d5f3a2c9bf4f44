/*
 * cclient: the console's asynchronous control-socket connection (contract in
 * cclient.h). Errors are never fatal: a broken connection fails its pending requests
 * with a reason and the caller opens another one.
 */
#include "cclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "frame.h"

struct pending {
	struct pending *next;
	uint64_t id;
	cclient_reply_fn fn;
	void *arg;
	bool repeat;
};

struct cclient {
	struct bufferevent *bev;
	struct event *drained_ev;
	struct pending *pending;
	size_t npending;
	uint64_t next_id;
	bool broken;
	char why[160];
	int depth;                  /* inside one of our callbacks */
	bool freed;                 /* cclient_free was called meanwhile */
	cclient_drained_fn drained;
	void *drained_arg;
	cclient_reply_fn orphan;
	void *orphan_arg;
};

static void cclient_fail(struct cclient *c, const char *why);

static void
cclient_destroy(struct cclient *c)
{
	struct pending *p = c->pending;
	while (p != NULL) {
		struct pending *n = p->next;
		free(p);
		p = n;
	}
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->drained_ev != NULL)
		event_free(c->drained_ev);
	free(c);
}

void
cclient_free(struct cclient *c)
{
	if (c == NULL)
		return;
	if (c->depth > 0) {
		c->freed = true;
		c->drained = NULL;
		if (c->bev != NULL)
			bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	cclient_destroy(c);
}

/* Leaves a callback: true when the client was freed inside it (and is gone now). */
static bool
cclient_leave(struct cclient *c)
{
	if (--c->depth == 0 && c->freed) {
		cclient_destroy(c);
		return true;
	}
	return c->freed;
}

static struct pending *
pending_take(struct cclient *c, uint64_t id, bool *repeat)
{
	for (struct pending **pp = &c->pending; *pp != NULL; pp = &(*pp)->next) {
		struct pending *p = *pp;
		if (p->id != id)
			continue;
		*repeat = p->repeat;
		if (!p->repeat) {
			*pp = p->next;
			c->npending--;
		}
		return p;
	}
	return NULL;
}

static void
cclient_read_cb(struct bufferevent *bev, void *arg)
{
	struct cclient *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	c->depth++;
	while (!c->freed && !c->broken) {
		const uint8_t *body;
		size_t len;
		char err[256];
		enum frame_status st = frame_peek(in, FRAME_CONTROL_MAX, &body, &len, err,
		    sizeof(err));
		if (st == FRAME_INCOMPLETE)
			break;
		if (st == FRAME_TOO_LARGE) {
			cclient_fail(c, err);
			break;
		}
		Rogatory__Ctl__V1__Reply *r = NULL;
		int rc = wire_ctl_reply_decode(body, len, &r, err, sizeof(err));
		frame_consume(in, len);
		if (rc != 0) {
			char why[300];
			snprintf(why, sizeof(why), "bad answer from the daemon: %s", err);
			cclient_fail(c, why);
			break;
		}
		if (r->request_id == 0) {
			/* The daemon could not tell which request this answers: it answers each
			 * of them (none would get another reply). */
			while (c->pending != NULL && !c->freed) {
				struct pending *p = c->pending;
				c->pending = p->next;
				c->npending--;
				p->fn(p->arg, r, NULL);
				free(p);
			}
			if (c->orphan != NULL && !c->freed)
				c->orphan(c->orphan_arg, r, NULL);
			wire_ctl_reply_free(r);
			continue;
		}
		bool repeat = false;
		struct pending *p = pending_take(c, r->request_id, &repeat);
		if (p != NULL) {
			p->fn(p->arg, r, NULL);
			if (!repeat)
				free(p);
		} else if (c->orphan != NULL) {
			c->orphan(c->orphan_arg, r, NULL);
		}
		wire_ctl_reply_free(r);
	}
	cclient_leave(c);
}

static void
cclient_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct cclient *c = arg;
	cclient_drained_fn fn = c->drained;
	if (fn == NULL)
		return;
	c->drained = NULL;
	c->depth++;
	fn(c->drained_arg);
	cclient_leave(c);
}

static void
cclient_drained_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cclient_write_cb(NULL, arg);
}

static void
cclient_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct cclient *c = arg;
	if (what & BEV_EVENT_CONNECTED)
		return;
	char why[160];
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "the daemon closed the control connection");
	else
		snprintf(why, sizeof(why), "control socket: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	c->depth++;
	cclient_fail(c, why);
	cclient_leave(c);
}

/* Every pending request fails once; the connection is of no further use. */
static void
cclient_fail(struct cclient *c, const char *why)
{
	if (c->broken)
		return;
	c->broken = true;
	snprintf(c->why, sizeof(c->why), "%s", why);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	c->depth++;
	while (c->pending != NULL && !c->freed) {
		struct pending *p = c->pending;
		c->pending = p->next;
		c->npending--;
		p->fn(p->arg, NULL, c->why);
		free(p);
	}
	cclient_drained_fn fn = c->drained;
	c->drained = NULL;
	if (fn != NULL && !c->freed)
		fn(c->drained_arg);
	c->depth--;
}

struct cclient *
cclient_new(struct event_base *base, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return NULL;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	struct cclient *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	c->drained_ev = event_new(base, -1, 0, cclient_drained_cb, c);
	if (c->bev == NULL || c->drained_ev == NULL) {
		snprintf(err, errlen, "out of memory");
		cclient_destroy(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, cclient_read_cb, cclient_write_cb, cclient_event_cb, c);
	/* At most one whole frame is read ahead of its decoding. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, FRAME_CONTROL_MAX + FRAME_HEADER_LEN);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		/* Reported at the first call, as for a refused connection. */
		c->broken = true;
		snprintf(c->why, sizeof(c->why), "cannot connect to %s: %s", path,
		    strerror(errno));
	}
	return c;
}

static int
cclient_frame(struct cclient *c, Rogatory__Ctl__V1__Request *req)
{
	req->version = CONTROL_PROTOCOL_VERSION;
	req->request_id = ++c->next_id;
	if (c->broken || c->freed)
		return -1;
	if (frame_append(bufferevent_get_output(c->bev), &req->base, FRAME_CONTROL_MAX) != 0)
		return -1;
	return 0;
}

uint64_t
cclient_call(struct cclient *c, Rogatory__Ctl__V1__Request *req, cclient_reply_fn fn,
    void *arg, bool repeat)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return 0;
	if (cclient_frame(c, req) != 0) {
		free(p);
		return 0;
	}
	p->id = req->request_id;
	p->fn = fn;
	p->arg = arg;
	p->repeat = repeat;
	p->next = c->pending;
	c->pending = p;
	c->npending++;
	return p->id;
}

int
cclient_write(struct cclient *c, Rogatory__Ctl__V1__Request *req)
{
	return cclient_frame(c, req);
}

void
cclient_forget(struct cclient *c, uint64_t id)
{
	for (struct pending **pp = &c->pending; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct pending *p = *pp;
			*pp = p->next;
			c->npending--;
			free(p);
			return;
		}
	}
}

void
cclient_on_drained(struct cclient *c, cclient_drained_fn fn, void *arg)
{
	c->drained = fn;
	c->drained_arg = arg;
	if (c->broken || evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		event_active(c->drained_ev, EV_TIMEOUT, 0);
}

int
cclient_check(Rogatory__Ctl__V1__Request *req, char *err, size_t errlen)
{
	req->version = CONTROL_PROTOCOL_VERSION;
	req->request_id = 1;
	size_t len = protobuf_c_message_get_packed_size(&req->base);
	if (len > FRAME_CONTROL_MAX) {
		snprintf(err, errlen, "the request is larger than the control frame limit");
		return -1;
	}
	uint8_t *buf = malloc(len > 0 ? len : 1);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	protobuf_c_message_pack(&req->base, buf);
	Rogatory__Ctl__V1__Request *out = NULL;
	int rc = wire_ctl_request_decode(buf, len, &out, err, errlen);
	free(buf);
	if (rc == 0)
		wire_ctl_request_free(out);
	return rc == 0 ? 0 : -1;
}

void
cclient_on_orphan(struct cclient *c, cclient_reply_fn fn, void *arg)
{
	c->orphan = fn;
	c->orphan_arg = arg;
}

bool
cclient_broken(const struct cclient *c)
{
	return c->broken || c->freed;
}

size_t
cclient_pending(const struct cclient *c)
{
	return c->npending;
}

size_t
cclient_output(const struct cclient *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}
