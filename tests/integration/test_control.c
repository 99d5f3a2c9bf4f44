/*
 * 03-control: the control socket and rogatoryctl against a real daemon: the commands,
 * their errors, and the credential check (SO_PEERCRED/SO_PEERGROUPS) for callers that
 * are neither root nor the daemon's user, tested as uid 65534 in and out of the
 * operators' group.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "support.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

Test(control, commands_and_errors, .timeout = 60)
{
	struct tnet *t = tnet_new("ctl-cmds", ids2, 2);
	tnet_start(t, 0);
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "status --json"), 0, "%s", out);
	cr_assert(strstr(out, "\"authority\": \"BD-ACC\"") != NULL, "%s", out);
	cr_assert(strstr(out, "\"certificate_not_after\": \"20") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "peers"), 0, "%s", out);
	cr_assert(strstr(out, "FR-MJ") != NULL && strstr(out, "idle") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "connect DE-BMJ"), 1, "%s", out);
	cr_assert(strstr(out, "unknown authority DE-BMJ") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "connect BD-ACC"), 1, "%s", out);
	cr_assert(strstr(out, "BD-ACC is this authority") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "connect fr-mj"), 2, "%s", out);
	cr_assert(strstr(out, "not an authority id") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "frobnicate"), 2, "%s", out);
	cr_assert(strstr(out, "unknown command frobnicate") != NULL, "%s", out);
	free(out);
	/* help is a command: the usage, exit 0; help COMMAND: that command's lines. */
	cr_assert_eq(tnet_ctl(t, 0, &out, "help"), 0, "%s", out);
	cr_assert(strncmp(out, "usage: rogatoryctl", 18) == 0 && strstr(out, "  fetch ID") != NULL,
	    "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "help fetch"), 0, "%s", out);
	cr_assert(strstr(out, "usage: rogatoryctl fetch ID [--from AUTHORITY] --out DIR") != NULL,
	    "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "help frobnicate"), 2, "%s", out);
	cr_assert(strstr(out, "help frobnicate: no such command") != NULL, "%s", out);
	free(out);
	/* With -c the socket comes from the daemon's own config file. */
	cr_assert_eq(ts_sh(&out, "'%s' -c '%s' status", ts_build_path("rogatoryctl"),
	                 t->node[0].conf),
	    0, "%s", out);
	cr_assert(strstr(out, "BD-ACC") != NULL, "%s", out);
	free(out);
	tnet_stop(t, 0, SIGTERM);
	cr_assert_eq(tnet_ctl(t, 0, &out, "status"), 3, "%s", out);
	cr_assert(strstr(out, "rogatoryd is not running (no socket at ") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}

Test(control, credentials_checked, .timeout = 60)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to run rogatoryctl as another uid");
	struct tnet *t = tnet_new("ctl-creds", ids2, 2);
	/* A socket folder anyone may traverse; the socket's mode decides who reaches it. */
	char sockdir[4096], opt[4200], *out = NULL;
	snprintf(sockdir, sizeof(sockdir), "%s/run", t->dir);
	cr_assert_eq(mkdir(sockdir, 0711), 0);
	cr_assert_eq(chmod(t->dir, 0711), 0);
	snprintf(opt, sizeof(opt), "control.socket=%s/ctl.sock", sockdir);
	tnet_opt(t, 0, opt);

	/* 1. No [control] group: the socket (0660) belongs to root's group. A caller in
	 * that group reaches the socket, but the daemon's own SO_PEERCRED check refuses
	 * it: it is neither root nor the daemon's user, and no operators' group is set. */
	tnet_start(t, 0);
	int rc = ts_sh(&out, "setpriv --reuid=65534 --regid=65534 --groups=0 '%s' -s '%s/ctl.sock' status",
	    ts_build_path("rogatoryctl"), sockdir);
	cr_assert_eq(rc, 1, "daemon must refuse: %s", out);
	cr_assert(strstr(out, "rogatoryctl: permission-denied: permission denied: uid 65534 is "
	    "neither root, the daemon's user, nor in the operators' group") != NULL, "%s", out);
	free(out);
	cr_assert(tnet_wait_log(t, 0, "control: refused a client: permission denied: uid 65534", 3000));
	tnet_stop(t, 0, SIGTERM);

	/* 2. [control] group = users: a member is served (supplementary group, seen with
	 * SO_PEERGROUPS); a non-member cannot even reach the socket. */
	tnet_opt(t, 0, "control.group=users");
	tnet_start(t, 0);
	rc = ts_sh(&out, "setpriv --reuid=65534 --regid=65534 --groups=100 '%s' -s '%s/ctl.sock' status",
	    ts_build_path("rogatoryctl"), sockdir);
	cr_assert_eq(rc, 0, "operator in group users: %s", out);
	cr_assert(strstr(out, "BD-ACC") != NULL, "%s", out);
	free(out);
	rc = ts_sh(&out, "setpriv --reuid=65534 --regid=65534 --clear-groups '%s' -s '%s/ctl.sock' status",
	    ts_build_path("rogatoryctl"), sockdir);
	cr_assert_eq(rc, 3, "outsider: %s", out);
	cr_assert(strstr(out, "Permission denied (are you in the operators' group?)") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}
