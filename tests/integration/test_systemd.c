/*
 * 19-systemd: a real daemon under a stand-in for systemd: a datagram socket named by
 * $NOTIFY_SOCKET gets READY=1 once the daemon listens, RELOADING=1 then READY=1 around a
 * reload (SIGHUP, rogatoryctl reload, and one that fails), STOPPING=1 at SIGTERM, and
 * WATCHDOG=1 every half of $WATCHDOG_USEC (none when $WATCHDOG_PID names another
 * process); an abstract "@name" socket works too; with $JOURNAL_STREAM naming its
 * stderr, every log line starts with its syslog priority.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net.h"
#include "ops.h"
#include "support.h"

static const char *const ids1[] = {"BD-ACC"};

/* The notify socket in the test's folder, named in the environment the daemon gets. */
static int
notify_socket(struct tnet *t)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/notify", t->dir);
	int fd = ops_notify_open(path);
	setenv("NOTIFY_SOCKET", path, 1);
	return fd;
}

Test(systemd, notify_sequence_start_reload_stop, .timeout = 60)
{
	struct tnet *t = tnet_new("sd-seq", ids1, 1);
	int fd = notify_socket(t);
	tnet_start(t, 0);
	cr_assert(ops_notify_expect(fd, "READY=1", 5000), "no READY=1");
	cr_assert_eq(kill(t->node[0].pid, SIGHUP), 0);
	cr_assert(ops_notify_expect(fd, "RELOADING=1", 5000), "no RELOADING=1 at SIGHUP");
	cr_assert(ops_notify_expect(fd, "READY=1", 5000), "no READY=1 after SIGHUP");
	cr_assert_eq(tnet_ctl(t, 0, NULL, "reload"), 0);
	cr_assert(ops_notify_expect(fd, "RELOADING=1", 5000), "no RELOADING=1 at ctl reload");
	cr_assert(ops_notify_expect(fd, "READY=1", 5000), "no READY=1 after ctl reload");
	/* A refused reload: still READY=1 (the running configuration serves on). */
	tnet_opt(t, 0, "network.bogus=1");
	cr_assert_eq(tnet_ctl(t, 0, NULL, "reload"), 1);
	cr_assert(ops_notify_expect(fd, "RELOADING=1", 5000));
	cr_assert(ops_notify_expect(fd, "READY=1", 5000), "no READY=1 after a failed reload");
	cr_assert_eq(tnet_stop(t, 0, SIGTERM), 0);
	cr_assert(ops_notify_expect(fd, "STOPPING=1", 5000), "no STOPPING=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
	tnet_free(t);
}

Test(systemd, watchdog_every_half_interval, .timeout = 60)
{
	struct tnet *t = tnet_new("sd-wd", ids1, 1);
	int fd = notify_socket(t);
	setenv("WATCHDOG_USEC", "200000", 1);
	tnet_start(t, 0);
	/* Three pings within a second of READY=1: the loop sends one every 100 ms. */
	cr_assert(ops_notify_expect(fd, "READY=1", 5000));
	for (int i = 0; i < 3; i++) {
		char *d = ops_notify_next(fd, 1000);
		cr_assert(d != NULL && strcmp(d, "WATCHDOG=1") == 0, "got %s", d ? d : "nothing");
		free(d);
	}
	cr_assert(tnet_wait_log(t, 0, "systemd: watchdog every 100 ms", 1000));
	tnet_stop(t, 0, SIGTERM);
	close(fd);
	tnet_free(t);
}

Test(systemd, watchdog_meant_for_another_process, .timeout = 60)
{
	struct tnet *t = tnet_new("sd-wdpid", ids1, 1);
	int fd = notify_socket(t);
	setenv("WATCHDOG_USEC", "200000", 1);
	setenv("WATCHDOG_PID", "1", 1);
	tnet_start(t, 0);
	cr_assert(ops_notify_expect(fd, "READY=1", 5000));
	/* A window of five would-be intervals: nothing comes (a deliberate observation, not a
	 * synchronisation). */
	char *d = ops_notify_next(fd, 500);
	cr_assert_null(d, "got %s", d);
	cr_assert_eq(tnet_log_count(t, 0, "systemd: watchdog"), 0);
	tnet_stop(t, 0, SIGTERM);
	close(fd);
	tnet_free(t);
}

Test(systemd, abstract_notify_socket, .timeout = 60)
{
	struct tnet *t = tnet_new("sd-abs", ids1, 1);
	char name[64], env[80];
	snprintf(name, sizeof(name), "rogatory-sd-%d", (int)getpid());
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	memcpy(sun.sun_path + 1, name, strlen(name));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name))), 0, "%s",
	    strerror(errno));
	snprintf(env, sizeof(env), "@%s", name);
	setenv("NOTIFY_SOCKET", env, 1);
	tnet_start(t, 0);
	cr_assert(ops_notify_expect(fd, "READY=1", 5000), "no READY=1 on %s", env);
	tnet_stop(t, 0, SIGTERM);
	cr_assert(ops_notify_expect(fd, "STOPPING=1", 5000));
	close(fd);
	tnet_free(t);
}

Test(systemd, journal_priorities, .timeout = 60)
{
	struct tnet *t = tnet_new("sd-journal", ids1, 1);
	/* The daemon's stderr is its log file: name that file as the journal's stream. */
	ts_write_file(t->node[0].log, "", 0644);
	struct stat st;
	cr_assert_eq(stat(t->node[0].log, &st), 0);
	char js[64];
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	tnet_start(t, 0);
	cr_assert(tnet_wait_log(t, 0, "<5>notice: rogatoryd ", 1000));
	cr_assert(tnet_wait_log(t, 0, "<4>warn: revocation is off", 1000));
	cr_assert(tnet_wait_log(t, 0, "<6>info: control socket ", 1000));
	cr_assert_eq(tnet_ctl(t, 0, NULL, "status"), 0);
	cr_assert(tnet_wait_log(t, 0, "<7>debug: control: uid 0: status", 5000));
	/* Every line has its priority and no timestamp of its own (the journal has one). */
	char *log = ts_read_file(t->node[0].log, NULL);
	for (char *save = NULL, *l = strtok_r(log, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save))
		cr_assert(l[0] == '<' && l[1] >= '0' && l[1] <= '7' && l[2] == '>', "line %s", l);
	free(log);
	tnet_stop(t, 0, SIGTERM);
	/* Another stream: plain lines with their own time. */
	setenv("JOURNAL_STREAM", "1:2", 1);
	tnet_start(t, 0);
	cr_assert(tnet_wait_log(t, 0, "Z notice: rogatoryd ", 5000));
	unsetenv("JOURNAL_STREAM");
	tnet_free(t);
}
