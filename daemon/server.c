/*
 * server: accepts TCP connections for peers. It never reads a byte itself and never
 * decides who may connect (peers and link do); it only keeps accepting alive.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>

#include "config.h"
#include "log.h"
#include "peer.h"
#include "rogatoryd.h"

#define SERVER_PAUSE_MS 1000
/* Accepts per loop turn. libevent's listener accepts until the backlog is empty (512),
 * while a closed link's descriptor is released only when the loop next runs the
 * bufferevent's finalizer: without a cap, a flood would hold backlog + max_unauthenticated
 * descriptors at once. */
#define SERVER_ACCEPT_BURST 16

struct server {
	struct rogatoryd *d;
	struct evconnlistener *lev;
	struct event *resume;
	struct event *again;  /* next loop turn after a burst of accepts */
	unsigned burst;
	uint16_t port;
};

static void server_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg);
static void server_error_cb(struct evconnlistener *lev, void *arg);
static void server_resume_cb(evutil_socket_t fd, short what, void *arg);
static void server_again_cb(evutil_socket_t fd, short what, void *arg);
static int server_write_port(const char *state_dir, uint16_t port, char *err, size_t errlen);

int
server_start(struct rogatoryd *d, struct server **out, char *err, size_t errlen)
{
	const struct config *c = d->cfg;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(c->listen_host, c->listen_port, &hints, &res);
	if (gai != 0)
		return err_set(err, errlen, "[network] listen %s: %s", c->listen, gai_strerror(gai));
	struct server *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		freeaddrinfo(res);
		return err_set(err, errlen, "out of memory");
	}
	s->d = d;
	s->lev = evconnlistener_new_bind(d->base, server_accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 512,
	    res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (s->lev == NULL) {
		err_set(err, errlen, "cannot listen on %s: %s", c->listen, strerror(errno));
		free(s);
		return -1;
	}
	evconnlistener_set_error_cb(s->lev, server_error_cb);
	s->resume = evtimer_new(d->base, server_resume_cb, s);
	s->again = evtimer_new(d->base, server_again_cb, s);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(evconnlistener_get_fd(s->lev), (struct sockaddr *)&ss, &sl) != 0) {
		err_set(err, errlen, "cannot read the address of %s: %s", c->listen,
		    strerror(errno));
		server_free(s);
		return -1;
	}
	s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
	                                   : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (s->resume == NULL || s->again == NULL || server_write_port(c->state_dir, s->port, err, errlen) != 0) {
		server_free(s);
		return -1;
	}
	log_info("listening on %s (port %u)", c->listen, s->port);
	*out = s;
	return 0;
}

/* Atomically, so a reader never sees a half-written number. */
static int
server_write_port(const char *state_dir, uint16_t port, char *err, size_t errlen)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/listen.port", state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u\n", port);
	bool ok = write(fd, buf, (size_t)n) == n && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) != 0)
		return err_set(err, errlen, "cannot write %s: %s", path, strerror(errno));
	return 0;
}

static void
server_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	(void)lev;
	struct server *s = arg;
	if (s->d->stopping) {
		close(fd);
		return;
	}
	peers_accept(s->d->peers, fd, sa, (socklen_t)salen);
	if (++s->burst >= SERVER_ACCEPT_BURST) {
		/* The listener's accept loop stops when it finds itself disabled. */
		static const struct timeval now = {0, 0};
		evconnlistener_disable(lev);
		evtimer_add(s->again, &now);
	}
}

static void
server_again_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct server *s = arg;
	s->burst = 0;
	/* Not while an EMFILE pause runs: its own timer resumes. */
	if (!s->d->stopping && !evtimer_pending(s->resume, NULL))
		evconnlistener_enable(s->lev);
}

static void
server_error_cb(struct evconnlistener *lev, void *arg)
{
	struct server *s = arg;
	int e = EVUTIL_SOCKET_ERROR();
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		log_ratelimited(3, "accept: %s; pausing the listener for %d ms", strerror(e),
		    SERVER_PAUSE_MS);
		evconnlistener_disable(lev);
		evtimer_del(s->again);
		struct timeval tv = {.tv_sec = SERVER_PAUSE_MS / 1000,
		    .tv_usec = (SERVER_PAUSE_MS % 1000) * 1000};
		evtimer_add(s->resume, &tv);
		return;
	}
	log_ratelimited(3, "accept: %s", strerror(e));
}

static void
server_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct server *s = arg;
	s->burst = 0;
	if (!s->d->stopping)
		evconnlistener_enable(s->lev);
}

void
server_stop(struct server *s)
{
	if (s != NULL && s->lev != NULL)
		evconnlistener_disable(s->lev);
}

void
server_free(struct server *s)
{
	if (s == NULL)
		return;
	if (s->resume != NULL)
		event_free(s->resume);
	if (s->again != NULL)
		event_free(s->again);
	if (s->lev != NULL)
		evconnlistener_free(s->lev);
	free(s);
}

uint16_t
server_port(const struct server *s)
{
	return s->port;
}
