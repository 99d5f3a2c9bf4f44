/*
 * 08-privileges: [daemon] user with real daemons. Started as root with a user, rogatoryd
 * binds, creates its control socket, then runs as that user for good (checked in
 * /proc/PID/status), still delivers, and still reloads; `rogatoryd -n` names a file the
 * user could not read, and a reload refuses it while the daemon keeps running. Root
 * without a user is a warning; another user than the one configured is refused.
 * The tests run as root (here and in CI) and use the existing user nobody.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "support.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

/* Skips unless root with a user nobody and a temp folder nobody can reach. */
static struct passwd
pv_nobody(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	struct passwd *pw = getpwnam("nobody");
	if (pw == NULL)
		cr_skip_test("no user nobody");
	return *pw;
}

/* Node i runs as nobody: its folder becomes nobody's; the shared files above it
 * (directory, CA certificate) become readable by others, their folders searchable. */
static void
pv_give_to_nobody(struct tnet *t, int i, const struct passwd *pw)
{
	char *out = NULL;
	int rc = ts_sh(&out, "chmod 0711 '%s' '%s' && chmod 0644 '%s' '%s' && "
	                     "chown -R %u:%u '%s' 2>&1",
	    t->dir, t->ca_dir, t->directory, t->ca, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid,
	    t->node[i].home);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	/* Every folder above the test folder must let nobody through. */
	char up[4096];
	snprintf(up, sizeof(up), "%s", t->dir);
	for (char *s = strrchr(up, '/'); s != NULL && s != up; s = strrchr(up, '/')) {
		*s = '\0';
		struct stat st;
		if (stat(up, &st) == 0 && !(st.st_mode & S_IXOTH))
			cr_skip_test("%s is not searchable by others; set TMPDIR", up);
	}
	tnet_opt(t, i, "daemon.user=nobody");
}

/* The four ids of a "Uid:" or "Gid:" line of /proc/PID/status, all equal to want. */
static void
pv_assert_ids(pid_t pid, const char *field, unsigned want)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *st = ts_read_file(path, NULL);
	cr_assert(st != NULL, "cannot read %s", path);
	char key[16];
	snprintf(key, sizeof(key), "\n%s:", field);
	char *line = strstr(st, key);
	cr_assert(line != NULL, "%s: no %s line", path, field);
	unsigned a, b, c, d;
	cr_assert_eq(sscanf(line + strlen(key), "%u %u %u %u", &a, &b, &c, &d), 4, "%s", line);
	cr_assert(a == want && b == want && c == want && d == want,
	    "%s %u %u %u %u, expected %u everywhere (real, effective, saved, fs)", field, a, b,
	    c, d, want);
	line = strstr(st, "\nGroups:");
	cr_assert(line != NULL);
	char *eol = strchr(line + 1, '\n');
	if (eol != NULL)
		*eol = '\0';
	cr_assert(strstr(line, "\t0 ") == NULL && strstr(line, " 0 ") == NULL &&
	    strcmp(line + strlen(line) - 2, "\t0") != 0, "root's group kept: %s", line + 1);
	free(st);
}

static void
pv_reload(struct tnet *t, int i, const char *needle)
{
	int before = tnet_log_count(t, i, needle);
	cr_assert_eq(kill(t->node[i].pid, SIGHUP), 0);
	for (int waited = 0; waited < 10000; waited += 50) {
		if (tnet_log_count(t, i, needle) > before)
			return;
		usleep(50000);
	}
	cr_assert_fail("%s: no \"%s\" within 10 s after SIGHUP", t->node[i].id, needle);
}

static char *
pv_send(struct tnet *t, int i, const char *to)
{
	char args[256], *out = NULL;
	snprintf(args, sizeof(args), "send --to %s --kind other --subject 'Privileges'", to);
	cr_assert_eq(tnet_ctl(t, i, &out, args), 0, "%s", out);
	char *end = out + strlen(out);
	while (end > out && end[-1] == '\n')
		*--end = '\0';
	char *last = strrchr(out, '\n');
	char *id = strdup(last ? last + 1 : out);
	free(out);
	return id;
}

static bool
pv_delivered(struct tnet *t, int i, const char *id, int ms)
{
	char args[128];
	snprintf(args, sizeof(args), "show %s", id);
	for (int waited = 0; waited < ms; waited += 100) {
		char *out = NULL;
		tnet_ctl(t, i, &out, args);
		bool ok = out != NULL && strstr(out, "delivered") != NULL;
		free(out);
		if (ok)
			return true;
		usleep(100000);
	}
	return false;
}

Test(privileges, drops_to_user_after_binding_and_still_reloads, .timeout = 90)
{
	struct passwd pw = pv_nobody();
	struct tnet *t = tnet_new("priv-drop", ids2, 2);
	pv_give_to_nobody(t, 0, &pw);
	char *out = NULL;
	cr_assert_eq(ts_sh(&out, "'%s' -n -c '%s'", ts_build_path("rogatoryd"), t->node[0].conf),
	    0, "%s", out);
	free(out);
	tnet_start(t, 0);
	tnet_start(t, 1);
	cr_assert(tnet_wait_log(t, 0, "running as [daemon] user nobody", 5000));
	cr_assert_eq(tnet_log_count(t, 0, "running as root"), 0);
	pv_assert_ids(t->node[0].pid, "Uid", (unsigned)pw.pw_uid);
	pv_assert_ids(t->node[0].pid, "Gid", (unsigned)pw.pw_gid);
	/* What it made after the drop is the user's: the store, the delivery log. */
	char path[4200];
	struct stat st;
	snprintf(path, sizeof(path), "%s/state/rogatory.db", t->node[0].home);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_uid, pw.pw_uid, "%s owned by %u", path, (unsigned)st.st_uid);
	cr_assert_eq(lstat(t->node[0].sock, &st), 0);
	cr_assert_eq(st.st_uid, pw.pw_uid, "control socket owned by %u", (unsigned)st.st_uid);
	/* It still works both ways. */
	char *a = pv_send(t, 0, "FR-MJ");
	char *b = pv_send(t, 1, "BD-ACC");
	cr_assert(pv_delivered(t, 0, a, 15000), "BD-ACC (as nobody) could not deliver");
	cr_assert(pv_delivered(t, 1, b, 15000), "FR-MJ could not deliver to BD-ACC (as nobody)");
	/* A reload re-reads the config, key, certificate, CA and directory as nobody. */
	pv_reload(t, 0, "reload: done");
	cr_assert_eq(tnet_log_count(t, 0, "reload failed"), 0);
	free(a);
	a = pv_send(t, 0, "FR-MJ");
	cr_assert(pv_delivered(t, 0, a, 15000), "no delivery after the reload");
	/* A key nobody can no longer read: -n names it, and a reload keeps the running
	 * configuration instead of breaking the daemon. */
	cr_assert_eq(chown(t->node[0].key, 0, 0), 0);
	cr_assert_eq(ts_sh(&out, "'%s' -n -c '%s'", ts_build_path("rogatoryd"), t->node[0].conf),
	    1, "%s", out);
	char want[4300];
	snprintf(want, sizeof(want), "[tls] key %s is not readable by [daemon] user nobody",
	    t->node[0].key);
	cr_assert(strstr(out, want) != NULL, "no \"%s\" in:\n%s", want, out);
	free(out);
	pv_reload(t, 0, "reload failed");
	cr_assert_eq(kill(t->node[0].pid, 0), 0, "the daemon died on a failed reload");
	cr_assert_eq(tnet_ctl(t, 0, &out, "status"), 0, "%s", out);
	free(out);
	free(a);
	free(b);
	tnet_free(t);
}

Test(privileges, root_without_user_warns, .timeout = 60)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	struct tnet *t = tnet_new("priv-warn", ids2, 2);
	tnet_start(t, 0);
	cr_assert(tnet_wait_log(t, 0, "running as root: set [daemon] user", 5000));
	tnet_free(t);
}

Test(privileges, check_names_what_the_user_cannot_reach, .timeout = 60)
{
	struct passwd pw = pv_nobody();
	struct tnet *t = tnet_new("priv-check", ids2, 2);
	pv_give_to_nobody(t, 0, &pw);
	/* The state folder and the store in it left to root: both named, with the file. */
	char state[4200], db[4300];
	snprintf(state, sizeof(state), "%s/state", t->node[0].home);
	snprintf(db, sizeof(db), "%s/rogatory.db", state);
	cr_assert_eq(mkdir(state, 0700), 0);
	ts_write_file(db, "", 0600);
	char *out = NULL;
	cr_assert_eq(ts_sh(&out, "'%s' -n -c '%s'", ts_build_path("rogatoryd"), t->node[0].conf),
	    1, "%s", out);
	char want[4400];
	snprintf(want, sizeof(want), "[store] state_dir %s is not readable, writable and "
	    "searchable by [daemon] user nobody (owner uid 0", state);
	cr_assert(strstr(out, want) != NULL, "no \"%s\" in:\n%s", want, out);
	free(out);
	/* The folder given to nobody, the store left to root: the store is named. */
	cr_assert_eq(chown(state, pw.pw_uid, pw.pw_gid), 0);
	cr_assert_eq(ts_sh(&out, "'%s' -n -c '%s'", ts_build_path("rogatoryd"), t->node[0].conf),
	    1, "%s", out);
	snprintf(want, sizeof(want), "state file %s is not readable and writable by [daemon] "
	    "user nobody (owner uid 0", db);
	cr_assert(strstr(out, want) != NULL, "no \"%s\" in:\n%s", want, out);
	free(out);
	/* Unknown user and root itself: refused at their line. */
	tnet_opt(t, 0, "daemon.user=no-such-user-rogatory");
	cr_assert_eq(ts_sh(&out, "'%s' -n -c '%s'", ts_build_path("rogatoryd"), t->node[0].conf),
	    1, "%s", out);
	cr_assert(strstr(out, "[daemon] user: user \"no-such-user-rogatory\" does not exist") !=
	    NULL, "%s", out);
	free(out);
	tnet_opt(t, 0, "daemon.user=root");
	cr_assert_eq(ts_sh(&out, "'%s' -n -c '%s'", ts_build_path("rogatoryd"), t->node[0].conf),
	    1, "%s", out);
	cr_assert(strstr(out, "is root; unset [daemon] user") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}

Test(privileges, not_root_and_not_that_user_is_refused, .timeout = 60)
{
	struct passwd pw = pv_nobody();
	if (access("/usr/bin/setpriv", X_OK) != 0)
		cr_skip_test("no setpriv");
	struct tnet *t = tnet_new("priv-other", ids2, 2);
	pv_give_to_nobody(t, 0, &pw);
	/* Started as nobody, configured for daemon: it cannot become daemon. */
	tnet_opt(t, 0, "daemon.user=daemon");
	char *out = NULL;
	int rc = ts_sh(&out, "setpriv --reuid=%u --regid=%u --clear-groups '%s' -f -c '%s' 2>&1",
	    (unsigned)pw.pw_uid, (unsigned)pw.pw_gid, ts_build_path("rogatoryd"),
	    t->node[0].conf);
	cr_assert_neq(rc, 0, "started:\n%s", out);
	/* The key is nobody's (mode 0600), so the check already stops it; either way the
	 * reason names the configured user. */
	cr_assert(strstr(out, "[daemon] user daemon") != NULL, "%s", out);
	cr_assert(strstr(out, "started as") == NULL, "%s", out);
	free(out);
	tnet_free(t);
}

/* ---- the control socket's file: made and given away by root without following a name
 * someone else could swap (daemon/ctlsock.c) ---- */

/* Starts node i with ROGATORY_PAUSE_AT=point; returns once it says it paused there. It
 * goes on when the file go exists. */
static void
pv_start_paused(struct tnet *t, int i, const char *point, const char *go)
{
	char *argv[] = {(char *)ts_build_path("rogatoryd"), "-f", "-d", "-c", t->node[i].conf,
		NULL};
	char want[64];
	setenv("ROGATORY_PAUSE_AT", point, 1);
	setenv("ROGATORY_PAUSE_FILE", go, 1);
	t->node[i].pid = ts_spawn(argv, t->node[i].log);
	unsetenv("ROGATORY_PAUSE_AT");
	unsetenv("ROGATORY_PAUSE_FILE");
	snprintf(want, sizeof(want), "paused at %s", point);
	cr_assert(ts_wait_file_contains(t->node[i].log, want, 10000), "no \"%s\" in %s", want,
	    t->node[i].log);
}

/* Starts node i, which must refuse to start with needle in its log (a new occurrence). */
static void
pv_start_refused(struct tnet *t, int i, const char *needle)
{
	char *argv[] = {(char *)ts_build_path("rogatoryd"), "-f", "-d", "-c", t->node[i].conf,
		NULL};
	int before = tnet_log_count(t, i, needle);
	pid_t pid = ts_spawn(argv, t->node[i].log);
	int st = ts_wait_exit(pid, 10000);
	if (st < 0)
		ts_stop(pid, SIGKILL);
	char *log = ts_read_file(t->node[i].log, NULL);
	cr_assert(st > 0, "rogatoryd %s started (status %d); wanted \"%s\":\n%s", t->node[i].id,
	    st, needle, log ? log : "");
	cr_assert(tnet_log_count(t, i, needle) > before, "no \"%s\" in:\n%s", needle,
	    log ? log : "");
	free(log);
}

/* A root-owned file, mode 0600, that root must never be tricked into changing. */
static void
pv_precious(const char *path)
{
	ts_write_file(path, "root only\n", 0600);
	cr_assert_eq(chown(path, 0, 0), 0);
}

static void
pv_assert_untouched(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(st.st_uid == 0 && st.st_gid == 0 && (st.st_mode & 07777) == 0600,
	    "%s changed: owner %u, group %u, mode %04o (was 0:0 0600)", path, (unsigned)st.st_uid,
	    (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
}

/* The socket swapped for a symbolic link to a root-owned file right after it was made
 * (before its group is set) and just before the privilege drop (which gives it to the
 * user): root changes neither the file's owner, group nor mode, and the start-up stops
 * saying what happened. */
Test(privileges, control_socket_swapped_for_a_symlink_is_not_followed, .timeout = 90)
{
	struct passwd pw = pv_nobody();
	static const char *const points[] = {"control-bound", "before-privdrop"};
	for (size_t p = 0; p < sizeof(points) / sizeof(points[0]); p++) {
		struct tnet *t = tnet_new("priv-swap", ids2, 2);
		pv_give_to_nobody(t, 0, &pw);
		tnet_opt(t, 0, "control.group=users");
		char target[4200], go[4200];
		snprintf(target, sizeof(target), "%s/precious", t->dir);
		snprintf(go, sizeof(go), "%s/go", t->dir);
		pv_precious(target);
		pv_start_paused(t, 0, points[p], go);
		cr_assert_eq(unlink(t->node[0].sock), 0, "%s: %s", points[p], strerror(errno));
		cr_assert_eq(symlink(target, t->node[0].sock), 0);
		ts_write_file(go, "", 0600);
		int st = ts_wait_exit(t->node[0].pid, 10000);
		if (st < 0)
			ts_stop(t->node[0].pid, SIGKILL);
		t->node[0].pid = 0;
		pv_assert_untouched(target);
		char *log = ts_read_file(t->node[0].log, NULL);
		cr_assert(st > 0, "%s: status %d:\n%s", points[p], st, log);
		cr_assert(strstr(log, "was replaced while rogatoryd set it up (it is now a symbolic "
		    "link") != NULL, "%s:\n%s", points[p], log);
		free(log);
		tnet_free(t);
	}
}

/* A socket folder others may write to (group- or world-writable, sticky or not) or that
 * belongs to another user is refused by `rogatoryd -n` and at start, naming the folder,
 * its owner and mode; a folder of root's, mode 0750, is fine. */
Test(privileges, control_socket_folder_others_may_write_is_refused, .timeout = 90)
{
	struct passwd pw = pv_nobody();
	struct tnet *t = tnet_new("priv-sockdir", ids2, 2);
	char dir[4200], opt[4300], want[4600];
	snprintf(dir, sizeof(dir), "%s/run", t->dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(opt, sizeof(opt), "control.socket=%s/ctl.sock", dir);
	tnet_opt(t, 0, opt);
	static const struct {
		mode_t mode;
		bool nobodys;
		const char *why;
	} cases[] = {
		{01777, false, "is writable by its group or by others"},
		{0770, false, "is writable by its group or by others"},
		{0750, true, "belongs to another user"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uid_t owner = cases[i].nobodys ? pw.pw_uid : 0;
		cr_assert_eq(chown(dir, owner, 0), 0);
		cr_assert_eq(chmod(dir, cases[i].mode), 0);
		snprintf(want, sizeof(want), "[control] socket folder %s (owner uid %u, group gid 0, "
		    "mode %04o) %s", dir, (unsigned)owner, (unsigned)cases[i].mode, cases[i].why);
		char *out = NULL;
		cr_assert_eq(ts_sh(&out, "'%s' -n -c '%s'", ts_build_path("rogatoryd"),
		                 t->node[0].conf), 1, "case %zu: %s", i, out);
		cr_assert(strstr(out, want) != NULL, "no \"%s\" in:\n%s", want, out);
		free(out);
		pv_start_refused(t, 0, want);
	}
	cr_assert_eq(chown(dir, 0, 0), 0);
	cr_assert_eq(chmod(dir, 0750), 0);
	char *out = NULL;
	cr_assert_eq(ts_sh(&out, "'%s' -n -c '%s'", ts_build_path("rogatoryd"), t->node[0].conf),
	    0, "%s", out);
	free(out);
	tnet_start(t, 0);
	tnet_free(t);
}

/* A stale socket (its daemon killed) is replaced; a live one is refused; a symbolic link
 * or a file at the socket's name is refused and left as it is. */
Test(privileges, control_socket_stale_replaced_live_and_others_refused, .timeout = 90)
{
	struct tnet *t = tnet_new("priv-stale", ids2, 2);
	tnet_start(t, 0);
	tnet_stop(t, 0, SIGKILL);
	struct stat st;
	cr_assert(lstat(t->node[0].sock, &st) == 0 && S_ISSOCK(st.st_mode), "no stale socket");
	tnet_start(t, 0);
	cr_assert(tnet_wait_log(t, 0, "removed a stale control socket", 1000));
	/* FR-MJ configured with BD-ACC's socket while BD-ACC answers on it. */
	char opt[4300], want[4400];
	snprintf(opt, sizeof(opt), "control.socket=%s", t->node[0].sock);
	tnet_opt(t, 1, opt);
	snprintf(want, sizeof(want), "[control] socket %s is in use: is another rogatoryd "
	    "running?", t->node[0].sock);
	pv_start_refused(t, 1, want);
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "status"), 0, "BD-ACC lost its socket: %s", out);
	free(out);
	tnet_stop(t, 0, SIGTERM);
	cr_assert(lstat(t->node[0].sock, &st) != 0, "a clean stop leaves no socket behind");

	char target[4200];
	snprintf(target, sizeof(target), "%s/precious", t->dir);
	pv_precious(target);
	cr_assert_eq(symlink(target, t->node[0].sock), 0);
	snprintf(want, sizeof(want), "[control] socket %s exists and is a symbolic link",
	    t->node[0].sock);
	pv_start_refused(t, 0, want);
	cr_assert(lstat(t->node[0].sock, &st) == 0 && S_ISLNK(st.st_mode), "link removed");
	pv_assert_untouched(target);
	cr_assert_eq(unlink(t->node[0].sock), 0);
	ts_write_file(t->node[0].sock, "not a socket\n", 0600);
	snprintf(want, sizeof(want), "[control] socket %s exists and is a file", t->node[0].sock);
	pv_start_refused(t, 0, want);
	char *left = ts_read_file(t->node[0].sock, NULL);
	cr_assert(left != NULL && strcmp(left, "not a socket\n") == 0, "the file was changed");
	free(left);
	tnet_free(t);
}
