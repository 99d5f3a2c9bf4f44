/*
 * sdnotify: the sd_notify datagram protocol (contract in sdnotify.h). It holds the one
 * pieces of process-wide state the daemon allows for it: the watchdog timer and the
 * datagram socket, since $NOTIFY_SOCKET belongs to the process, not to a module. It must never block the loop
 * (the socket is non-blocking; a full queue drops the datagram) nor stop the daemon.
 */
#include "sdnotify.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

static struct event *sd_watchdog;
static bool sd_warned;
static int sd_fd = -1;            /* the datagram socket, kept open once made */

static void sd_watchdog_cb(evutil_socket_t fd, short what, void *arg);

int
sdnotify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len;

	if (path == NULL || path[0] == '\0')
		return 1;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sun.sun_path)) {
		if (!sd_warned)
			log_warn("systemd: NOTIFY_SOCKET %s is neither an absolute path nor @name; "
			    "no notifications", path);
		sd_warned = true;
		return -1;
	}
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';     /* the abstract namespace: no trailing NUL counted */
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    (path[0] == '@' ? 0 : 1));
	/* One socket for the life of the process, made at the first notification (start-up):
	 * a daemon out of descriptors later must still reach its watchdog. */
	if (sd_fd < 0)
		sd_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ssize_t n = -1;
	if (sd_fd >= 0)
		n = sendto(sd_fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun,
		    salen);
	if (n == (ssize_t)strlen(state))
		return 0;
	if (!sd_warned)
		log_warn("systemd: cannot notify %s: %s", path, strerror(errno));
	sd_warned = true;
	return -1;
}

int
sdnotify_reloading(void)
{
	char buf[64];
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	    (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
	return sdnotify(buf);
}

uint64_t
sdnotify_watchdog_usec(void)
{
	const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end = NULL;
	if (us == NULL || getenv("NOTIFY_SOCKET") == NULL)
		return 0;
	if (pid != NULL && pid[0] != '\0') {
		long p = strtol(pid, &end, 10);
		if (end == pid || *end != '\0' || p != (long)getpid())
			return 0;   /* meant for another process (a parent that execs us) */
	}
	if (us[0] < '0' || us[0] > '9')
		return 0;
	errno = 0;
	unsigned long long v = strtoull(us, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		return 0;
	return (uint64_t)v;
}

static void
sd_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sdnotify("WATCHDOG=1");
}

bool
sdnotify_watchdog_start(struct event_base *base)
{
	uint64_t us = sdnotify_watchdog_usec() / 2;
	if (us == 0 || sd_watchdog != NULL)
		return false;
	struct timeval tv = {.tv_sec = (time_t)(us / 1000000),
	    .tv_usec = (suseconds_t)(us % 1000000)};
	sd_watchdog = event_new(base, -1, EV_PERSIST, sd_watchdog_cb, NULL);
	if (sd_watchdog == NULL || event_add(sd_watchdog, &tv) != 0) {
		log_warn("systemd: cannot start the watchdog timer");
		sdnotify_watchdog_stop();
		return false;
	}
	log_info("systemd: watchdog every %" PRIu64 " ms (half of WATCHDOG_USEC)", us / 1000);
	sdnotify("WATCHDOG=1");
	return true;
}

void
sdnotify_watchdog_stop(void)
{
	if (sd_watchdog != NULL)
		event_free(sd_watchdog);
	sd_watchdog = NULL;
}
