/*
 * 08-floods: resource bounds against strangers and slow peers, all from 127.0.0.1 (so
 * per-address limits could not help): 2,000 idle connects and half-finished TLS
 * handshakes, max_unauthenticated with eviction of the oldest, the pre-authentication
 * time-out, descriptor exhaustion (EMFILE). Each test asserts that a legitimate peer
 * still delivers, and bounds what it can: descriptors, memory (VmHWM from /proc) and CPU
 * time. Slow and greedy peers are in test_slowpeer.c.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "net.h"
#include "support.h"
#include "traffic.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

static long
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A TCP connection to 127.0.0.1:port, non-blocking; -1 when the kernel refuses. */
static int
tcp_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* True once the daemon closed its end (EOF or reset) within ms. */
static bool
closed_within(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, ms) <= 0)
		return false;
	char c;
	ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);
	return r == 0 || (r < 0 && errno != EAGAIN);
}

/* A TLS 1.3 ClientHello (from a memory BIO): the first flight of a handshake we never
 * finish. */
static size_t
client_hello(unsigned char *buf, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL *ssl = SSL_new(ctx);
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	SSL_set_bio(ssl, rb, wb);
	cr_assert_leq(SSL_connect(ssl), 0);
	int n = BIO_read(wb, buf, (int)cap);
	cr_assert_gt(n, 100, "no ClientHello");
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return (size_t)n;
}

static int
status_unauthenticated(struct tnet *t, int i)
{
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, i, &out, "status --json"), 0, "%s", out);
	char *p = strstr(out, "\"unauthenticated\":");
	int n = p != NULL ? atoi(p + strlen("\"unauthenticated\":")) : -1;
	free(out);
	return n;
}

/* 1,000 idle connects, then 1,000 ClientHellos left unanswered, while FR-MJ delivers. */
Test(floods, idle_connects_and_half_handshakes, .timeout = 90)
{
	enum { IDLE = 1000, HALF = 1000 };
	tr_raise_nofile(IDLE + HALF + 256);
	struct tnet *t = tnet_new("fld-2000", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	pid_t a = t->node[0].pid;
	int fds0 = tr_proc_fds(a);
	long rss0 = tr_proc_kb(a, "VmRSS");
	unsigned char hello[4096];
	size_t hello_len = client_hello(hello, sizeof(hello));
	static int fd[IDLE + HALF];
	int opened = 0, max_fds = 0;
	for (int k = 0; k < IDLE; k++) {
		fd[opened] = tcp_open(t->node[0].port);
		if (fd[opened] >= 0)
			opened++;
		if (k % 100 == 0) {
			int n = tr_proc_fds(a);
			max_fds = n > max_fds ? n : max_fds;
		}
	}
	char *id = tr_send(t, 1, "BD-ACC", "through the flood", 0, 0);
	for (int k = 0; k < HALF; k++) {
		int f = tcp_open(t->node[0].port);
		if (f < 0)
			continue;
		struct pollfd p = {.fd = f, .events = POLLOUT};
		if (poll(&p, 1, 1000) == 1 && (p.revents & POLLOUT))
			(void)!write(f, hello, hello_len);
		fd[opened++] = f;
		if (k % 100 == 0) {
			int n = tr_proc_fds(a);
			max_fds = n > max_fds ? n : max_fds;
		}
	}
	cr_assert_geq(opened, (IDLE + HALF) * 9 / 10, "only %d connections opened", opened);
	cr_assert(tr_wait_state(t, 1, id, "delivered", 30000), "FR-MJ could not deliver");
	cr_assert_eq(tr_events(t, 0, "received", id), 1);
	long hwm = tr_proc_kb(a, "VmHWM"), rss1 = tr_proc_kb(a, "VmRSS");
	/* max_unauthenticated (256) bounds the daemon's descriptors during the flood. */
	/* Plus at most two accept bursts (16) whose closes wait for the next loop turn. */
	cr_assert_leq(max_fds, fds0 + 256 + 48, "%d descriptors (%d before the flood)", max_fds,
	    fds0);
	cr_assert(tnet_log_count(t, 0, "evicted: too many unauthenticated") >= 1);
	/* Everything unauthenticated is gone after handshake_timeout (2 s). */
	int pending = -1;
	for (int w = 0; w < 15000 && pending != 0; w += 250) {
		pending = status_unauthenticated(t, 0);
		usleep(250000);
	}
	cr_assert_eq(pending, 0, "%d connections still unauthenticated", pending);
	cr_log_info("flood of %d: daemon fds %d -> max %d; VmRSS %ld -> %ld kB, VmHWM %ld kB",
	    opened, fds0, max_fds, rss0, rss1, hwm);
	fprintf(stderr, "floods: %d connections: fds %d -> max %d; VmRSS %ld -> %ld kB, "
	    "VmHWM %ld kB\n", opened, fds0, max_fds, rss0, rss1, hwm);
	/* Under ASan freed memory waits in its 256 MiB quarantine: the bound scales. */
	long bound = (ts_sanitizer() ? 640 : 64) * 1024;
	cr_assert_lt(hwm - rss0, bound, "memory grew by %ld kB under the flood", hwm - rss0);
	for (int k = 0; k < opened; k++)
		close(fd[k]);
	free(id);
	tnet_free(t);
}

/* max_unauthenticated = 8: the ninth connection evicts the first, the tenth the
 * second; the others are closed by handshake_timeout (3 s), not before. */
Test(floods, max_unauthenticated_evicts_oldest_then_times_out, .timeout = 60)
{
	struct tnet *t = tnet_new("fld-evict", ids2, 2);
	tnet_opt(t, 0, "network.max_unauthenticated=8");
	tnet_opt(t, 0, "network.handshake_timeout=3s");
	tnet_start(t, 0);
	tnet_start(t, 1);
	int c[10];
	/* One at a time, each counted by the daemon before the next: their age is their
	 * order. */
	for (int k = 0; k < 8; k++) {
		c[k] = tcp_open(t->node[0].port);
		cr_assert_geq(c[k], 0);
		for (int w = 0; w < 5000 && status_unauthenticated(t, 0) < k + 1; w += 20)
			usleep(20000);
		cr_assert_eq(status_unauthenticated(t, 0), k + 1, "connection %d not accepted", k);
	}
	for (int k = 0; k < 8; k++)
		cr_assert(!closed_within(c[k], 0), "connection %d closed early", k);
	c[8] = tcp_open(t->node[0].port);
	long t8 = mono_ms();
	cr_assert(closed_within(c[0], 2000), "the oldest was not evicted");
	for (int k = 1; k <= 8; k++)
		cr_assert(!closed_within(c[k], 0), "connection %d closed instead of the oldest", k);
	c[9] = tcp_open(t->node[0].port);
	cr_assert(closed_within(c[1], 2000), "the second oldest was not evicted");
	cr_assert(!closed_within(c[2], 0));
	cr_assert(tnet_wait_log(t, 0, "evicted: too many unauthenticated connections", 3000));
	/* The rest: closed by handshake_timeout, never before it. */
	cr_assert(!closed_within(c[9], 1000), "closed before handshake_timeout");
	for (int k = 2; k < 10; k++)
		cr_assert(closed_within(c[k], 10000), "connection %d outlived handshake_timeout", k);
	cr_assert_geq(mono_ms() - t8, 2000);
	cr_assert(tnet_wait_log(t, 0, "TLS handshake not completed within handshake_timeout",
	    2000));
	char *id = tr_send(t, 1, "BD-ACC", "after the evictions", 0, 0);
	cr_assert(tr_wait_state(t, 1, id, "delivered", 15000));
	free(id);
	for (int k = 0; k < 10; k++)
		close(c[k]);
	tnet_free(t);
}

/* [limits] max_open_files = 64: a flood of 300 connects exhausts the descriptors. The
 * listener pauses (no busy loop: CPU time stays low) and accepts again once the flood
 * is gone; FR-MJ then delivers. */
Test(floods, emfile_pauses_listener_then_recovers, .timeout = 60)
{
	enum { N = 300 };
	tr_raise_nofile(N + 256);
	struct tnet *t = tnet_new("fld-emfile", ids2, 2);
	tnet_opt(t, 0, "limits.max_open_files=64");
	tnet_opt(t, 0, "network.handshake_timeout=10s");
	tnet_start(t, 0);
	tnet_start(t, 1);
	cr_assert(tnet_wait_log(t, 0, "RLIMIT_NOFILE set from", 1000) ||
	    tnet_wait_log(t, 0, "RLIMIT_NOFILE 64", 1000));
	pid_t a = t->node[0].pid;
	int fd[N], opened = 0;
	for (int k = 0; k < N; k++) {
		fd[opened] = tcp_open(t->node[0].port);
		if (fd[opened] >= 0)
			opened++;
	}
	cr_assert(tnet_wait_log(t, 0, "pausing the listener", 10000), "no EMFILE pause");
	long cpu0 = tr_proc_cpu_ms(a), w0 = mono_ms();
	sleep(3); /* a measurement window for the CPU time, not a synchronisation */
	long cpu = tr_proc_cpu_ms(a) - cpu0, wall = mono_ms() - w0;
	fprintf(stderr, "floods: EMFILE: %ld ms CPU in %ld ms, %d fds\n", cpu, wall,
	    tr_proc_fds(a));
	cr_assert_lt(cpu, wall / 3, "the daemon spun: %ld ms of CPU in %ld ms", cpu, wall);
	for (int k = 0; k < opened; k++)
		close(fd[k]);
	char *id = tr_send(t, 1, "BD-ACC", "after EMFILE", 0, 0);
	cr_assert(tr_wait_state(t, 1, id, "delivered", 30000), "FR-MJ could not deliver");
	cr_assert_eq(tr_events(t, 0, "received", id), 1);
	free(id);
	tnet_free(t);
}
