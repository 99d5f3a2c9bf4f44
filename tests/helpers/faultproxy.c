/*
 * faultproxy: a TCP relay on 127.0.0.1 that misbehaves on purpose, for the fault tests
 * (never installed). It relays LISTEN_PORT to 127.0.0.1:TARGET_PORT and applies one
 * fault to the first --faults connections; later ones are relayed untouched, so a test
 * can check that deliveries complete once the fault clears. Plain poll(), one process,
 * no threads; it prints one line per event for the tests to match:
 * "listening P", "conn N open", "conn N cut at B", "conn N truncated at B",
 * "conn N stall", "conn N resume", "conn N closed up=B down=B".
 *
 *   faultproxy LISTEN_PORT TARGET_PORT [options]
 *   --cut-after N          after N bytes relayed (both directions together), reset both
 *                          sides (RST, no FIN)
 *   --truncate-after N     relay only the first N bytes towards the target, then close
 *                          both sides with FIN: the target sees a stream cut mid-record
 *   --truncate-big-record R  towards the target, at the first TLS record of R bytes or
 *                          more: relay that record whole and 100 bytes of the next one,
 *                          then close both sides (the record carries part of a frame
 *                          that never completes)
 *   --stall-after N        after N bytes relayed, stop relaying (and reading) ...
 *   --stall-ms T           ... for T ms (default 3000), then go on
 *   --delay-ms D           hold every chunk D ms before relaying it (both directions)
 *   --faults K             connections that get the fault (default 1; 0: every one)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FP_MAX_CONNS 64
#define FP_BUF (64 * 1024)
#define FP_TLS_HDR 5

struct fp_opts {
	long long cut_after, truncate_after, big_record, stall_after;
	long stall_ms, delay_ms;
	int faults;
};

/* One direction of a relayed connection. */
struct fp_dir {
	int from, to;
	uint8_t buf[FP_BUF];
	size_t len, off;
	long long ready_ms;   /* --delay-ms: not before this */
	long long total;      /* bytes relayed */
	bool eof;
	/* TLS record scanner (towards the target only). */
	uint8_t hdr[FP_TLS_HDR];
	size_t hdr_have;
	long long body_left;
};

struct fp_conn {
	int n;
	bool used, faulty;
	int client, server;
	struct fp_dir dir[2]; /* 0: client -> server (up), 1: server -> client (down) */
	long long limit_up;   /* truncation point towards the target; -1: none */
	long long stall_until;
	bool stalled_once;
};

static struct fp_opts opt = {.cut_after = -1, .truncate_after = -1, .big_record = -1,
    .stall_after = -1, .stall_ms = 3000, .faults = 1};
static struct fp_conn conns[FP_MAX_CONNS];

static long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int
target_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
conn_close(struct fp_conn *c, bool reset, const char *what, long long at)
{
	if (what != NULL)
		printf("conn %d %s at %lld\n", c->n, what, at);
	printf("conn %d closed up=%lld down=%lld\n", c->n, c->dir[0].total, c->dir[1].total);
	if (reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(c->client, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		setsockopt(c->server, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->client);
	close(c->server);
	c->used = false;
}

/* Advances the TLS record scanner over bytes p[0..n) towards the target; sets the
 * truncation point at the first record of big_record bytes or more. */
static void
scan_records(struct fp_conn *c, const uint8_t *p, size_t n, long long stream_at)
{
	struct fp_dir *d = &c->dir[0];
	for (size_t i = 0; i < n && c->limit_up < 0;) {
		if (d->body_left > 0) {
			size_t k = (size_t)d->body_left < n - i ? (size_t)d->body_left : n - i;
			d->body_left -= (long long)k;
			i += k;
			continue;
		}
		d->hdr[d->hdr_have++] = p[i++];
		if (d->hdr_have < FP_TLS_HDR)
			continue;
		d->hdr_have = 0;
		d->body_left = (d->hdr[3] << 8) | d->hdr[4];
		if (d->body_left >= opt.big_record) {
			c->limit_up = stream_at + (long long)i + d->body_left + 100;
			printf("conn %d big record of %lld bytes at %lld\n", c->n, d->body_left,
			    stream_at + (long long)i - FP_TLS_HDR);
		}
	}
}

/* Reads what is there into the direction's buffer (only when it is empty). */
static int
dir_read(struct fp_conn *c, int k)
{
	struct fp_dir *d = &c->dir[k];
	ssize_t r = read(d->from, d->buf, sizeof(d->buf));
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (r == 0) {
		d->eof = true;
		return 0;
	}
	d->len = (size_t)r;
	d->off = 0;
	d->ready_ms = now_ms() + (c->faulty ? opt.delay_ms : 0);
	if (k == 0 && c->faulty && opt.big_record > 0)
		scan_records(c, d->buf, d->len, d->total);
	return 0;
}

/* Writes buffered bytes, honouring the cut and truncation points. 1: the connection
 * was closed here. */
static int
dir_write(struct fp_conn *c, int k)
{
	struct fp_dir *d = &c->dir[k];
	size_t n = d->len - d->off;
	if (c->faulty && opt.cut_after >= 0) {
		long long room = opt.cut_after - (c->dir[0].total + c->dir[1].total);
		if ((long long)n > room)
			n = room > 0 ? (size_t)room : 0;
	}
	if (k == 0 && c->limit_up >= 0) {
		long long room = c->limit_up - d->total;
		if ((long long)n > room)
			n = room > 0 ? (size_t)room : 0;
	}
	if (n > 0) {
		ssize_t w = write(d->to, d->buf + d->off, n);
		if (w < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : (conn_close(c, false, NULL, 0), 1);
		d->off += (size_t)w;
		d->total += w;
		if (d->off == d->len)
			d->len = d->off = 0;
	}
	if (c->faulty && opt.cut_after >= 0 &&
	    c->dir[0].total + c->dir[1].total >= opt.cut_after) {
		conn_close(c, true, "cut", c->dir[0].total + c->dir[1].total);
		return 1;
	}
	if (k == 0 && c->limit_up >= 0 && d->total >= c->limit_up) {
		conn_close(c, false, "truncated", d->total);
		return 1;
	}
	return 0;
}

static void
accept_one(int ls, int target, int *nconn)
{
	int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct fp_conn *c = NULL;
	for (int i = 0; i < FP_MAX_CONNS && c == NULL; i++)
		if (!conns[i].used)
			c = &conns[i];
	int s = c != NULL ? target_connect(target) : -1;
	if (s < 0) {
		printf("conn refused: %s\n", c == NULL ? "too many" : strerror(errno));
		close(fd);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->n = ++*nconn;
	c->faulty = opt.faults == 0 || c->n <= opt.faults;
	c->client = fd;
	c->server = s;
	c->dir[0].from = c->dir[1].to = fd;
	c->dir[0].to = c->dir[1].from = s;
	c->limit_up = c->faulty && opt.truncate_after >= 0 ? opt.truncate_after : -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_nonblock(fd);
	set_nonblock(s);
	printf("conn %d open%s\n", c->n, c->faulty ? " (faulty)" : "");
}

/* A stall starts once stall_after bytes went through, once per connection. */
static bool
stalled(struct fp_conn *c, long long now)
{
	if (!c->faulty || opt.stall_after < 0)
		return false;
	if (!c->stalled_once && c->dir[0].total + c->dir[1].total >= opt.stall_after) {
		c->stalled_once = true;
		c->stall_until = now + opt.stall_ms;
		printf("conn %d stall\n", c->n);
	}
	if (c->stall_until != 0 && now >= c->stall_until) {
		c->stall_until = 0;
		printf("conn %d resume\n", c->n);
	}
	return c->stall_until != 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: faultproxy LISTEN_PORT TARGET_PORT [--cut-after N] "
	    "[--truncate-after N] [--truncate-big-record R] [--stall-after N] [--stall-ms T] "
	    "[--delay-ms D] [--faults K]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		usage();
	int lport = atoi(argv[1]), target = atoi(argv[2]);
	for (int i = 3; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		const char *a = argv[i], *v = argv[++i];
		if (strcmp(a, "--cut-after") == 0)
			opt.cut_after = atoll(v);
		else if (strcmp(a, "--truncate-after") == 0)
			opt.truncate_after = atoll(v);
		else if (strcmp(a, "--truncate-big-record") == 0)
			opt.big_record = atoll(v);
		else if (strcmp(a, "--stall-after") == 0)
			opt.stall_after = atoll(v);
		else if (strcmp(a, "--stall-ms") == 0)
			opt.stall_ms = atol(v);
		else if (strcmp(a, "--delay-ms") == 0)
			opt.delay_ms = atol(v);
		else if (strcmp(a, "--faults") == 0)
			opt.faults = atoi(v);
		else
			usage();
	}
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)lport)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 64) != 0) {
		printf("listen-failed %s\n", strerror(errno));
		return 1;
	}
	printf("listening %d -> %d\n", lport, target);
	int nconn = 0;
	for (;;) {
		struct pollfd pfd[1 + 2 * FP_MAX_CONNS];
		struct fp_conn *owner[1 + 2 * FP_MAX_CONNS];
		int np = 0;
		long long now = now_ms(), wake = -1;
		pfd[np++] = (struct pollfd){.fd = ls, .events = POLLIN};
		for (int i = 0; i < FP_MAX_CONNS; i++) {
			struct fp_conn *c = &conns[i];
			if (!c->used)
				continue;
			bool st = stalled(c, now);
			if (st && (wake < 0 || c->stall_until - now < wake))
				wake = c->stall_until - now;
			for (int k = 0; k < 2; k++) {
				const struct fp_dir *d = &c->dir[k];
				if (!st && d->len > 0 && d->ready_ms > now &&
				    (wake < 0 || d->ready_ms - now < wake))
					wake = d->ready_ms - now;
			}
			short ce = 0, se = 0;
			struct fp_dir *up = &c->dir[0], *down = &c->dir[1];
			if (!st && up->len == 0 && !up->eof)
				ce |= POLLIN;
			if (!st && down->len > 0 && down->ready_ms <= now)
				ce |= POLLOUT;
			if (!st && down->len == 0 && !down->eof)
				se |= POLLIN;
			if (!st && up->len > 0 && up->ready_ms <= now)
				se |= POLLOUT;
			owner[np] = c;
			pfd[np++] = (struct pollfd){.fd = c->client, .events = ce};
			owner[np] = c;
			pfd[np++] = (struct pollfd){.fd = c->server, .events = se};
		}
		int r = poll(pfd, (nfds_t)np, (int)(wake < 0 ? 1000 : wake + 1));
		if (r < 0 && errno != EINTR)
			return 1;
		if (pfd[0].revents & POLLIN)
			accept_one(ls, target, &nconn);
		for (int j = 1; j < np; j += 2) {
			struct fp_conn *c = owner[j];
			if (!c->used)
				continue;
			short cr = pfd[j].revents, sr = pfd[j + 1].revents;
			/* Writes first, so a buffer empties before the next read fills it. */
			if ((sr & POLLOUT) && dir_write(c, 0))
				continue;
			if ((cr & POLLOUT) && dir_write(c, 1))
				continue;
			if ((cr & (POLLIN | POLLHUP | POLLERR)) && c->dir[0].len == 0 &&
			    dir_read(c, 0) < 0) {
				conn_close(c, false, NULL, 0);
				continue;
			}
			if ((sr & (POLLIN | POLLHUP | POLLERR)) && c->dir[1].len == 0 &&
			    dir_read(c, 1) < 0) {
				conn_close(c, false, NULL, 0);
				continue;
			}
			/* An end closed and everything it sent is relayed: close the pair. */
			if ((c->dir[0].eof && c->dir[0].len == 0) ||
			    (c->dir[1].eof && c->dir[1].len == 0))
				conn_close(c, false, NULL, 0);
		}
		fflush(stdout);
	}
}
