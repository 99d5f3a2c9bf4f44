/*
 * 15-demo: `make demo-stop` (scripts/demo.sh stop) returns only once every daemon has
 * exited, and says so when one has not within 10 s of its SIGTERM. Real daemons of a
 * throw-away network stand in for the demo's: the script finds them through DEMO_DIR,
 * their pid files and their command lines, exactly as it finds the demo's.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net.h"
#include "support.h"

static const char *const ids3[] = {"BD-ACC", "FR-MJ", "UA-PGO"};

/* The three started, each with the pid file demo.sh start would have written. */
static struct tnet *
demo_net(const char *tag)
{
	struct tnet *t = tnet_new(tag, ids3, 3);
	for (int i = 0; i < 3; i++) {
		char pidf[4200];
		tnet_start(t, i);
		snprintf(pidf, sizeof(pidf), "%s/rogatoryd.pid", t->node[i].home);
		ts_writef(pidf, 0644, "%d\n", (int)t->node[i].pid);
	}
	return t;
}

static int
demo_stop(struct tnet *t, char **out)
{
	return ts_sh(out, "DEMO_DIR='%s' '%s' stop", t->dir, ts_src_path("scripts/demo.sh"));
}

Test(demo, stop_returns_once_every_daemon_has_exited, .timeout = 60)
{
	struct tnet *t = demo_net("demo-stop");
	char *out = NULL;
	cr_assert_eq(demo_stop(t, &out), 0, "%s", out);
	for (int i = 0; i < 3; i++) {
		char want[128];
		snprintf(want, sizeof(want), "stopped %s (pid %d)", t->node[i].id,
		    (int)t->node[i].pid);
		cr_assert(strstr(out, want) != NULL, "no \"%s\" in:\n%s", want, out);
		/* Already gone when the script returned: reaped without waiting. */
		int st;
		cr_assert_eq(waitpid(t->node[i].pid, &st, WNOHANG), t->node[i].pid,
		    "%s still running after \"stopped\"", t->node[i].id);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %d", t->node[i].id, st);
		t->node[i].pid = 0;
	}
	free(out);
	tnet_free(t);
}

Test(demo, stop_reports_a_daemon_still_running_after_10s, .timeout = 60)
{
	struct tnet *t = demo_net("demo-stuck");
	/* Stopped, FR-MJ cannot act on its SIGTERM until it is continued. */
	cr_assert_eq(kill(t->node[1].pid, SIGSTOP), 0);
	char *out = NULL;
	cr_assert_eq(demo_stop(t, &out), 1, "%s", out);
	char want[256];
	snprintf(want, sizeof(want), "demo: FR-MJ (pid %d) is still running 10 s after SIGTERM",
	    (int)t->node[1].pid);
	cr_assert(strstr(out, want) != NULL, "no \"%s\" in:\n%s", want, out);
	cr_assert(strstr(out, "stopped BD-ACC") != NULL && strstr(out, "stopped UA-PGO") != NULL,
	    "%s", out);
	cr_assert(strstr(out, "stopped FR-MJ") == NULL, "%s", out);
	free(out);
	/* Continued, it acts on the pending SIGTERM; its pid file is still there, so a second
	 * stop finds it gone and says nothing of it. */
	cr_assert_eq(kill(t->node[1].pid, SIGCONT), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(ts_wait_exit(t->node[i].pid, 10000), 0, "%s", t->node[i].id);
		t->node[i].pid = 0;
	}
	cr_assert_eq(demo_stop(t, &out), 0, "%s", out);
	cr_assert(strstr(out, "stopped") == NULL, "%s", out);
	free(out);
	tnet_free(t);
}
