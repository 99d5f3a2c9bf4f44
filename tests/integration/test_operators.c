/*
 * 16-operators: rogatoryctl against real daemons for what an operator does every day:
 * the listings' filters (queue, inbox, log), pausing an authority (kept across a
 * restart), bulk retries, log --follow seeing what commits after it started, reload and
 * the delivery log reopened for logrotate (rogatoryctl reload and SIGHUP), the exit codes
 * (usage 2 with a usage line, daemon refusals 1 with the daemon's message, no daemon 3),
 * --json on every command, and an operator's action refused to a non-operator uid.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "net.h"
#include "ops.h"
#include "support.h"
#include "traffic.h"

static const char *const ids3[] = {"BD-ACC", "FR-MJ", "UA-PGO"};

/* The number of lines of out that contain needle. */
static int
lines_with(const char *out, const char *needle)
{
	int n = 0;
	for (const char *p = out; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* rogatoryctl ARGS on node i; asserts the exit status; returns the output. */
static char *
ctl(struct tnet *t, int i, int want_rc, const char *fmt, ...) __attribute__((format(printf,
    4, 5)));

static char *
ctl(struct tnet *t, int i, int want_rc, const char *fmt, ...)
{
	char args[1024], *out = NULL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	int rc = tnet_ctl(t, i, &out, args);
	cr_assert_eq(rc, want_rc, "rogatoryctl %s: exit %d, expected %d:\n%s", args, rc,
	    want_rc, out);
	return out;
}

/* The JSON array rogatoryctl --json ARGS prints. */
static json_t *
ctl_json(struct tnet *t, int i, const char *args)
{
	char *out = ctl(t, i, 0, "--json %s", args);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "%s: not JSON (%s):\n%s", args, je.text, out);
	free(out);
	return j;
}

Test(operators, queue_inbox_and_log_filters, .timeout = 120)
{
	struct tnet *t = tnet_new("ops-filters", ids3, 3);
	tnet_start(t, 0);
	tnet_start(t, 1);
	/* Two for UA-PGO, which is not running: they wait. One for FR-MJ: delivered. */
	char *c1 = tr_send(t, 0, "UA-PGO", "for C one", 0, 0);
	char *c2 = tr_send(t, 0, "UA-PGO", "for C two", 0, 0);
	char *b1 = tr_send(t, 0, "FR-MJ", "for B", 0, 0);
	cr_assert(tr_wait_state(t, 0, b1, "delivered", 10000));

	char *out = ctl(t, 0, 0, "queue");
	cr_assert(strstr(out, c1) && strstr(out, c2) && !strstr(out, b1), "%s", out);
	free(out);
	out = ctl(t, 0, 0, "queue --peer FR-MJ");
	cr_assert(strstr(out, "(none)") != NULL, "%s", out);
	free(out);
	out = ctl(t, 0, 0, "queue --peer UA-PGO --state queued");
	cr_assert(strstr(out, c1) && strstr(out, c2), "%s", out);
	free(out);
	/* A final state asked for by name is listed. */
	out = ctl(t, 0, 0, "queue --state delivered");
	cr_assert(strstr(out, b1) && !strstr(out, c1), "%s", out);
	free(out);
	out = ctl(t, 0, 0, "queue --older-than 1h");
	cr_assert(strstr(out, "(none)") != NULL, "%s", out);
	free(out);
	cr_assert(ops_wait_ctl(t, 0, "queue --older-than 1s", c2, 5000),
	    "--older-than 1s never listed them");
	json_t *j = ctl_json(t, 0, "queue --peer UA-PGO -n 1");
	cr_assert_eq(json_array_size(j), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "id")), c2);
	json_decref(j);
	/* Values rogatoryctl can judge are usage errors: exit 2, before the daemon. */
	out = ctl(t, 0, 2, "queue --state bogus");
	cr_assert(strstr(out, "--state bogus: not a state name") != NULL, "%s", out);
	free(out);
	out = ctl(t, 0, 2, "queue --peer fr-mj");
	cr_assert(strstr(out, "--peer fr-mj is not an authority id") != NULL, "%s", out);
	free(out);
	out = ctl(t, 0, 2, "queue --older-than 5");
	cr_assert(strstr(out, "--older-than: \"5\" has no unit") != NULL, "%s", out);
	free(out);

	/* Inbound: two from FR-MJ, one fetched. */
	char *r1 = tr_send(t, 1, "BD-ACC", "to A one", 0, 0);
	char *r2 = tr_send(t, 1, "BD-ACC", "to A two", 0, 0);
	cr_assert(tr_wait_state(t, 1, r2, "delivered", 10000));
	cr_assert(tr_wait_state(t, 1, r1, "delivered", 10000));
	free(ctl(t, 0, 0, "fetch %s --out '%s/fetched'", r1, t->dir));
	out = ctl(t, 0, 0, "inbox --unfetched");
	cr_assert(strstr(out, r2) && !strstr(out, r1), "%s", out);
	free(out);
	out = ctl(t, 0, 0, "inbox --peer FR-MJ");
	cr_assert(strstr(out, r2) && strstr(out, r1), "%s", out);
	free(out);
	out = ctl(t, 0, 0, "inbox --peer UA-PGO");
	cr_assert(strstr(out, "(none)") != NULL, "%s", out);
	free(out);

	/* The event history. */
	out = ctl(t, 0, 0, "log --event delivered");
	cr_assert_eq(lines_with(out, "\n"), 1, "%s", out);
	cr_assert(strstr(out, b1) != NULL, "%s", out);
	free(out);
	out = ctl(t, 0, 0, "log --peer UA-PGO --event queued");
	cr_assert(lines_with(out, "\n") == 2 && strstr(out, c1) && strstr(out, c2), "%s", out);
	free(out);
	out = ctl(t, 0, 0, "log --id %s", b1);
	/* queued, case-opened (a request opens its case), sent, delivered */
	cr_assert(lines_with(out, b1) == 4 && strstr(out, " queued ") && strstr(out, " sent ") &&
	    strstr(out, " case-opened ") && strstr(out, " delivered "), "%s", out);
	free(out);
	/* --since / --until at the time of b1's queued event: from it on, before it. */
	out = ctl(t, 0, 0, "--json log --id %s --event queued", b1);
	json_t *ev = json_loads(out, 0, NULL);
	cr_assert_not_null(ev, "%s", out);
	const char *ts = json_string_value(json_object_get(ev, "ts"));
	char *since = ctl(t, 0, 0, "log --event queued --since %s", ts);
	cr_assert(strstr(since, b1) && !strstr(since, c1) && !strstr(since, c2), "%s", since);
	char *until = ctl(t, 0, 0, "log --event queued --until %s", ts);
	cr_assert(!strstr(until, b1) && strstr(until, c1) && strstr(until, c2), "%s", until);
	free(since);
	free(until);
	json_decref(ev);
	free(out);
	out = ctl(t, 0, 2, "log --since yesterday");
	cr_assert(strstr(out, "--since yesterday: expected a time") != NULL, "%s", out);
	free(out);
	out = ctl(t, 0, 2, "log --event DELIVERED");
	cr_assert(strstr(out, "not an event name") != NULL, "%s", out);
	free(out);
	free(c1);
	free(c2);
	free(b1);
	free(r1);
	free(r2);
	tnet_free(t);
}

Test(operators, pause_survives_a_restart, .timeout = 120)
{
	struct tnet *t = tnet_new("ops-pause", ids3, 3);
	tnet_start(t, 0);
	tnet_start(t, 1);
	tnet_start(t, 2);
	char *out = ctl(t, 0, 0, "pause FR-MJ");
	cr_assert(strstr(out, "FR-MJ: outbound messages paused since ") != NULL, "%s", out);
	free(out);
	char *held = tr_send(t, 0, "FR-MJ", "held back", 0, 0);
	/* The marker: a message to UA-PGO goes through the same outbox meanwhile. */
	char *m1 = tr_send(t, 0, "UA-PGO", "marker one", 0, 0);
	cr_assert(tr_wait_state(t, 0, m1, "delivered", 10000));
	cr_assert(tr_wait_state(t, 0, held, "queued", 100));
	json_t *peers = ctl_json(t, 0, "peers");
	size_t i;
	json_t *p;
	json_array_foreach(peers, i, p) {
		bool fr = strcmp(json_string_value(json_object_get(p, "id")), "FR-MJ") == 0;
		cr_assert_eq(json_is_true(json_object_get(p, "paused")), fr);
	}
	json_decref(peers);
	out = ctl(t, 0, 0, "queue");
	cr_assert(strstr(out, "queued,paused") != NULL, "%s", out);
	free(out);

	/* Restart: still paused, from the store. */
	tnet_stop(t, 0, SIGTERM);
	tnet_start(t, 0);
	cr_assert(tnet_wait_log(t, 0, "outbound messages to FR-MJ are paused (rogatoryctl "
	    "resume FR-MJ)", 5000));
	char *m2 = tr_send(t, 0, "UA-PGO", "marker two", 0, 0);
	cr_assert(tr_wait_state(t, 0, m2, "delivered", 10000));
	cr_assert(tr_wait_state(t, 0, held, "queued", 100), "a paused peer's message left");
	cr_assert_eq(tr_events(t, 1, "received", held), 0);
	out = ctl(t, 0, 0, "peers");
	cr_assert(strstr(out, "paused") != NULL, "%s", out);
	free(out);
	/* A second pause changes nothing; resume lets it go. */
	out = ctl(t, 0, 0, "pause FR-MJ");
	cr_assert(strstr(out, "paused already since") != NULL, "%s", out);
	free(out);
	out = ctl(t, 0, 0, "resume FR-MJ");
	cr_assert(strstr(out, "FR-MJ: outbound messages resumed") != NULL, "%s", out);
	free(out);
	cr_assert(tr_wait_state(t, 0, held, "delivered", 10000));
	cr_assert_eq(tr_events(t, 0, "peer-paused", NULL), 1);
	cr_assert_eq(tr_events(t, 0, "peer-resumed", NULL), 1);
	out = ctl(t, 0, 0, "resume FR-MJ");
	cr_assert(strstr(out, "were not paused") != NULL, "%s", out);
	free(out);
	/* Refused: ourselves, an unknown authority, a malformed id. */
	out = ctl(t, 0, 1, "pause BD-ACC");
	cr_assert(strstr(out, "BD-ACC is this authority") != NULL, "%s", out);
	free(out);
	out = ctl(t, 0, 1, "pause DE-BMJ");
	cr_assert(strstr(out, "unknown-authority: unknown authority DE-BMJ") != NULL, "%s", out);
	free(out);
	out = ctl(t, 0, 2, "pause");
	cr_assert(strstr(out, "usage: rogatoryctl pause ID") != NULL, "%s", out);
	free(out);
	free(held);
	free(m1);
	free(m2);
	tnet_free(t);
}

Test(operators, log_follow_sees_an_event_made_after_it_started, .timeout = 60)
{
	struct tnet *t = tnet_new("ops-follow", ids3, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *before = tr_send(t, 0, "FR-MJ", "before the follower", 0, 0);
	cr_assert(tr_wait_state(t, 0, before, "delivered", 10000));
	char path[4096];
	snprintf(path, sizeof(path), "%s/follow.out", t->dir);
	char *argv[] = {(char *)ts_build_path("rogatoryctl"), "-s", t->node[0].sock, "--json",
	    "log", "-n", "0", "--follow", "--event", "delivered", NULL};
	int subscribed = tnet_log_count(t, 0, ": log (request");
	pid_t f = ts_spawn(argv, path);
	/* Its request reached the daemon (the debug log says so): it is subscribed. */
	for (int w = 0; w < 5000 && tnet_log_count(t, 0, ": log (request") == subscribed; w += 20)
		usleep(20000);
	cr_assert_gt(tnet_log_count(t, 0, ": log (request"), subscribed);
	char *after = tr_send(t, 0, "FR-MJ", "after the follower", 0, 0);
	cr_assert(ts_wait_file_contains(path, after, 10000), "the follower did not see %s", after);
	char *seen = ts_read_file(path, NULL);
	/* One line: the later delivery only (-n 0: no history; --event: no queued/sent). */
	cr_assert_eq(lines_with(seen, "\n"), 1, "%s", seen);
	cr_assert(strstr(seen, "\"event\":\"delivered\"") && !strstr(seen, before), "%s", seen);
	free(seen);
	ts_stop(f, SIGTERM);
	free(before);
	free(after);
	tnet_free(t);
}

Test(operators, retry_in_bulk, .timeout = 90)
{
	struct tnet *t = tnet_new("ops-retry", ids3, 3);
	/* A long dial backoff: only an operator's retry gets through at once. */
	tnet_opt(t, 0, "delivery.retry_min=30s");
	tnet_opt(t, 0, "delivery.retry_max=1m");
	tnet_start(t, 0);
	char *b1 = tr_send(t, 0, "FR-MJ", "b one", 0, 0);
	char *b2 = tr_send(t, 0, "FR-MJ", "b two", 0, 0);
	char *c1 = tr_send(t, 0, "UA-PGO", "c one", 0, 0);
	/* UA-PGO leaves A's directory: its message waits in retrying (its last attempt
	 * failed), with the reason. */
	tnet_write_directory(t, 0x3);
	free(ctl(t, 0, 0, "reload"));
	cr_assert(tr_wait_state(t, 0, c1, "retrying", 5000));
	char *out = ctl(t, 0, 0, "retry --peer FR-MJ");
	cr_assert(strstr(out, "retrying 2 messages now") && strstr(out, b1) && strstr(out, b2),
	    "%s", out);
	free(out);
	out = ctl(t, 0, 0, "retry --all-failed");
	cr_assert(strstr(out, "retrying 1 messages now") && strstr(out, c1), "%s", out);
	free(out);
	json_t *j = ctl_json(t, 0, "retry --all-failed");
	cr_assert_eq(json_integer_value(json_object_get(j, "retried")), 1);
	json_decref(j);
	/* A paused authority: refused, it would not go. */
	free(ctl(t, 0, 0, "pause FR-MJ"));
	out = ctl(t, 0, 1, "retry --peer FR-MJ");
	cr_assert(strstr(out, "rogatoryctl: paused: outbound messages to FR-MJ are paused") !=
	    NULL, "%s", out);
	free(out);
	out = ctl(t, 0, 1, "retry %s", b1);
	cr_assert(strstr(out, "is for FR-MJ, whose outbound messages are paused") != NULL, "%s",
	    out);
	free(out);
	free(ctl(t, 0, 0, "resume FR-MJ"));
	/* FR-MJ is back; the retry dials it now instead of at the end of the backoff. */
	tnet_start(t, 1);
	free(ctl(t, 0, 0, "retry --peer FR-MJ"));
	cr_assert(tr_wait_state(t, 0, b1, "delivered", 10000));
	cr_assert(tr_wait_state(t, 0, b2, "delivered", 10000));
	out = ctl(t, 0, 2, "retry --peer");
	cr_assert(strstr(out, "usage: rogatoryctl retry ID | --peer ID | --all-failed") != NULL,
	    "%s", out);
	free(out);
	free(b1);
	free(b2);
	free(c1);
	tnet_free(t);
}

/* Appends the seqs of a delivery-log file, in its order, to seqs[*n]. */
static void
file_seqs(const char *path, long long *seqs, int *n, int max)
{
	char *buf = ts_read_file(path, NULL);
	for (char *save = NULL, *l = buf ? strtok_r(buf, "\n", &save) : NULL; l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(l, 0, NULL);
		cr_assert_not_null(o, "%s: not a JSON line: %s", path, l);
		cr_assert_lt(*n, max);
		seqs[(*n)++] = (long long)json_integer_value(json_object_get(o, "seq"));
		json_decref(o);
	}
	free(buf);
}

Test(operators, reload_reopens_the_delivery_log, .timeout = 90)
{
	struct tnet *t = tnet_new("ops-rotate", ids3, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char log[4096], r1[4200], r2[4200];
	snprintf(log, sizeof(log), "%s/state/delivery.jsonl", t->node[0].home);
	snprintf(r1, sizeof(r1), "%s.1", log);
	snprintf(r2, sizeof(r2), "%s.2", log);
	char *m1 = tr_send(t, 0, "FR-MJ", "before rotation", 0, 0);
	cr_assert(tr_wait_event(t, 0, "delivered", m1, 10000));
	/* logrotate: rename, then `rogatoryctl reload`. */
	cr_assert_eq(rename(log, r1), 0);
	char *out = ctl(t, 0, 0, "reload");
	cr_assert(strstr(out, "reloaded (2 authorities in the directory); delivery log reopened")
	    != NULL, "%s", out);
	free(out);
	char *m2 = tr_send(t, 0, "FR-MJ", "after the first rotation", 0, 0);
	cr_assert(tr_wait_event(t, 0, "delivered", m2, 10000));
	cr_assert_eq(ts_file_count(r1, m2), 0, "the old file got a new line");
	/* queued, case-opened, sent, delivered */
	cr_assert_eq(ts_file_count(r1, m1), 4);
	/* The same with SIGHUP. */
	cr_assert_eq(rename(log, r2), 0);
	cr_assert_eq(kill(t->node[0].pid, SIGHUP), 0);
	cr_assert(tnet_wait_log(t, 0, "reload: done", 5000));
	char *m3 = tr_send(t, 0, "FR-MJ", "after the second rotation", 0, 0);
	cr_assert(tr_wait_event(t, 0, "delivered", m3, 10000));
	cr_assert_eq(ts_file_count(r2, m3), 0);
	cr_assert_eq(ts_file_count(r2, m2), 4);
	/* A restart copies nothing the rotated files hold into the new one: every seq is
	 * in exactly one file, in order. */
	tnet_stop(t, 0, SIGTERM);
	tnet_start(t, 0);
	char *m4 = tr_send(t, 0, "FR-MJ", "after the restart", 0, 0);
	cr_assert(tr_wait_event(t, 0, "delivered", m4, 10000));
	long long seqs[1000];
	int n = 0;
	file_seqs(r1, seqs, &n, 1000);
	file_seqs(r2, seqs, &n, 1000);
	file_seqs(log, seqs, &n, 1000);
	cr_assert_gt(n, 12);
	for (int k = 0; k < n; k++)
		cr_assert_eq(seqs[k], k + 1, "line %d of the three files has seq %lld", k, seqs[k]);
	/* A configuration that does not load: refused, every problem said, nothing changed. */
	tnet_opt(t, 0, "network.bogus_key=1");
	out = ctl(t, 0, 1, "reload");
	cr_assert(strstr(out, "rogatoryctl: reload-failed: reload refused, the running "
	    "configuration stays: ") && strstr(out, "unknown key [network] bogus_key"), "%s", out);
	free(out);
	free(m1);
	free(m2);
	free(m3);
	free(m4);
	tnet_free(t);
}

Test(operators, exit_codes_and_json_everywhere, .timeout = 60)
{
	struct tnet *t = tnet_new("ops-exit", ids3, 2);
	/* No daemon: usage is still checked first (2); anything else cannot reach it (3). */
	char *out = ctl(t, 0, 2, "queue --frobnicate");
	cr_assert(strstr(out, "usage: rogatoryctl queue [--all] [--peer ID]") != NULL, "%s", out);
	free(out);
	/* A value that cannot be a message state is a usage error too, daemon or not. */
	out = ctl(t, 0, 2, "queue --state nosuch");
	cr_assert(strstr(out, "--state nosuch: not a state name") != NULL, "%s", out);
	free(out);
	out = ctl(t, 0, 3, "status");
	cr_assert(strstr(out, "rogatoryctl: rogatoryd is not running (no socket at ") != NULL &&
	    strstr(out, t->node[0].sock) != NULL, "%s", out);
	free(out);
	tnet_start(t, 0);
	out = ctl(t, 0, 1, "show 7c0d5f4e-52a7-4f38-9a64-3c1b0b4bd3a2");
	cr_assert(strstr(out, "rogatoryctl: not-found: no message 7c0d5f4e") != NULL, "%s", out);
	free(out);
	out = ctl(t, 0, 2, "show 7C0D5F4E");
	cr_assert(strstr(out, "is not a message id") != NULL, "%s", out);
	free(out);
	/* --json: every command that needs no argument answers JSON. */
	static const char *const cmds[] = {"status", "peers", "queue", "queue --all", "inbox",
	    "quarantine", "alerts", "reload", "help", "help queue"};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		json_decref(ctl_json(t, 0, cmds[i]));
	out = ctl(t, 0, 0, "--json log -n 5");
	for (char *save = NULL, *l = strtok_r(out, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(l, 0, NULL);
		cr_assert_not_null(o, "log --json line: %s", l);
		json_decref(o);
	}
	free(out);
	json_t *j = ctl_json(t, 0, "send --to FR-MJ --kind other --subject json");
	cr_assert(json_is_object(j) && json_object_get(j, "id") != NULL);
	json_decref(j);
	tnet_free(t);
}

Test(operators, actions_refused_to_a_non_operator, .timeout = 60)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to run rogatoryctl as another uid");
	struct tnet *t = tnet_new("ops-uid", ids3, 2);
	char sockdir[4096], opt[4200], *out = NULL;
	snprintf(sockdir, sizeof(sockdir), "%s/run", t->dir);
	cr_assert_eq(mkdir(sockdir, 0711), 0);
	cr_assert_eq(chmod(t->dir, 0711), 0);
	snprintf(opt, sizeof(opt), "control.socket=%s/ctl.sock", sockdir);
	tnet_opt(t, 0, opt);
	tnet_start(t, 0);
	/* In the socket's group (root's, 0660) but neither root, the daemon's user nor in
	 * [control] group: the daemon refuses, and nothing is paused. */
	int rc = ts_sh(&out, "setpriv --reuid=65534 --regid=65534 --groups=0 '%s' -s "
	    "'%s/ctl.sock' pause FR-MJ", ts_build_path("rogatoryctl"), sockdir);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "rogatoryctl: permission-denied: permission denied: uid 65534") !=
	    NULL, "%s", out);
	free(out);
	rc = ts_sh(&out, "'%s' -s '%s/ctl.sock' --json peers", ts_build_path("rogatoryctl"),
	    sockdir);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "\"paused\": true") == NULL, "%s", out);
	free(out);
	cr_assert_eq(tr_events(t, 0, "peer-paused", NULL), 0);
	tnet_free(t);
}
