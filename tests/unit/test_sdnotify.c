/*
 * Unit tests for daemon/sdnotify.c with a datagram socket standing in for systemd: a
 * path and an abstract ("@name") $NOTIFY_SOCKET both get the state as one datagram;
 * without $NOTIFY_SOCKET nothing is sent; RELOADING=1 carries MONOTONIC_USEC; the
 * watchdog interval is taken only when meant for this process; the timer sends WATCHDOG=1
 * from the event loop. (The sequence a real daemon sends is tests/integration's.)
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/event.h>

#include "../support/support.h"
#include "sdnotify.h"

static int
listener(const char *name, bool abstract)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	size_t n = strlen(name);
	memcpy(sun.sun_path + (abstract ? 1 : 0), name, n);
	/* A path: the name and its NUL; abstract: a NUL, then the name. */
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, len), 0, "bind: %s", strerror(errno));
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static char *
datagram(int fd, char *buf, size_t cap)
{
	ssize_t n = recv(fd, buf, cap - 1, 0);
	cr_assert_gt(n, 0, "no datagram: %s", strerror(errno));
	buf[n] = '\0';
	return buf;
}

Test(sdnotify, path_socket_gets_one_datagram_per_state)
{
	char *dir = ts_tmpdir("notify"), path[256], buf[256];
	snprintf(path, sizeof(path), "%s/notify", dir);
	int fd = listener(path, false);
	setenv("NOTIFY_SOCKET", path, 1);
	cr_assert_eq(sdnotify("READY=1"), 0);
	cr_assert_str_eq(datagram(fd, buf, sizeof(buf)), "READY=1");
	cr_assert_eq(sdnotify_reloading(), 0);
	datagram(fd, buf, sizeof(buf));
	cr_assert(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0, "%s", buf);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	unsigned long long us = strtoull(buf + 27, NULL, 10);
	unsigned long long now_us = (unsigned long long)now.tv_sec * 1000000 +
	    (unsigned long long)now.tv_nsec / 1000;
	cr_assert(us <= now_us && now_us - us < 5000000, "MONOTONIC_USEC %llu, now %llu", us,
	    now_us);
	cr_assert_eq(sdnotify("STOPPING=1"), 0);
	cr_assert_str_eq(datagram(fd, buf, sizeof(buf)), "STOPPING=1");
	close(fd);
	ts_rmrf(dir);
	free(dir);
}

Test(sdnotify, abstract_socket)
{
	char name[64], buf[64];
	snprintf(name, sizeof(name), "rogatory-test-%d", (int)getpid());
	int fd = listener(name, true);
	char env[80];
	snprintf(env, sizeof(env), "@%s", name);
	setenv("NOTIFY_SOCKET", env, 1);
	cr_assert_eq(sdnotify("READY=1"), 0);
	cr_assert_str_eq(datagram(fd, buf, sizeof(buf)), "READY=1");
	close(fd);
}

Test(sdnotify, nothing_outside_systemd)
{
	unsetenv("NOTIFY_SOCKET");
	cr_assert_eq(sdnotify("READY=1"), 1);
	setenv("WATCHDOG_USEC", "1000000", 1);
	cr_assert_eq(sdnotify_watchdog_usec(), 0, "no watchdog without NOTIFY_SOCKET");
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	cr_assert_eq(sdnotify("READY=1"), -1);
}

Test(sdnotify, watchdog_interval_for_this_process_only)
{
	char pid[32];
	setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
	setenv("WATCHDOG_USEC", "3000000", 1);
	unsetenv("WATCHDOG_PID");
	cr_assert_eq(sdnotify_watchdog_usec(), 3000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	cr_assert_eq(sdnotify_watchdog_usec(), 3000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	cr_assert_eq(sdnotify_watchdog_usec(), 0, "meant for another process");
	unsetenv("WATCHDOG_PID");
	static const char *const bad[] = {"0", "", "12x", "-5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("WATCHDOG_USEC", bad[i], 1);
		cr_assert_eq(sdnotify_watchdog_usec(), 0, "WATCHDOG_USEC=%s", bad[i]);
	}
}

static void
stop_loop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* WATCHDOG=1 at start, then every half interval, from the loop. */
Test(sdnotify, watchdog_timer_pings_from_the_loop)
{
	char *dir = ts_tmpdir("notify"), path[256], buf[64];
	snprintf(path, sizeof(path), "%s/notify", dir);
	int fd = listener(path, false);
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "100000", 1);
	unsetenv("WATCHDOG_PID");
	struct event_base *base = event_base_new();
	cr_assert(sdnotify_watchdog_start(base));
	cr_assert_str_eq(datagram(fd, buf, sizeof(buf)), "WATCHDOG=1");
	/* The loop runs 175 ms: three half-intervals of 50 ms fit in it. */
	struct timeval tv = {.tv_usec = 175000};
	event_base_once(base, -1, EV_TIMEOUT, stop_loop, base, &tv);
	event_base_dispatch(base);
	for (int i = 0; i < 3; i++)
		cr_assert_str_eq(datagram(fd, buf, sizeof(buf)), "WATCHDOG=1");
	sdnotify_watchdog_stop();
	event_base_free(base);
	close(fd);
	ts_rmrf(dir);
	free(dir);
}
