/*
 * traffic: message, proxy and /proc helpers for the fault and flood tests (contract in
 * traffic.h). State kept here (a node's real port behind its proxy) is per test: Criterion
 * runs each test in its own process.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "support.h"
#include "traffic.h"

static int tr_real_port[TNET_MAX];
static char tr_listen_opt[TNET_MAX][64];

static const char *
tr_dlog(struct tnet *t, int i)
{
	static char path[4][4096];
	static unsigned slot;
	char *p = path[slot++ % 4];
	snprintf(p, 4096, "%s/state/delivery.jsonl", t->node[i].home);
	return p;
}

static char *tr_last_id(char *out);

char *
tr_send(struct tnet *t, int i, const char *to, const char *subject, int nfields,
    int field_len)
{
	/* An argv, not a shell line: one argument may not exceed 128 KB (MAX_ARG_STRLEN),
	 * a field may. */
	enum { FIXED = 10 };
	char **argv = calloc((size_t)(FIXED + 2 * nfields + 1), sizeof(*argv));
	cr_assert(argv != NULL);
	int n = 0;
	argv[n++] = (char *)ts_build_path("rogatoryctl");
	argv[n++] = "-s";
	argv[n++] = t->node[i].sock;
	argv[n++] = "send";
	argv[n++] = "--to";
	argv[n++] = (char *)to;
	argv[n++] = "--kind";
	argv[n++] = "other";
	argv[n++] = "--subject";
	argv[n++] = (char *)subject;
	for (int f = 0; f < nfields; f++) {
		char *v = malloc((size_t)field_len + 16);
		cr_assert(v != NULL);
		int k = snprintf(v, 16, "pad%d=", f);
		memset(v + k, 'x', (size_t)field_len);
		v[k + field_len] = '\0';
		argv[n++] = "--field";
		argv[n++] = v;
	}
	argv[n] = NULL;
	char *out = NULL;
	int rc = ts_run(argv, &out);
	for (int f = 0; f < nfields; f++)
		free(argv[FIXED + 2 * f + 1]);
	free(argv);
	cr_assert_eq(rc, 0, "send failed (%d): %s", rc, out);
	return tr_last_id(out);
}

char *
tr_send_args(struct tnet *t, int i, const char *args)
{
	char *out = NULL;
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "send %s", args);
	int rc = tnet_ctl(t, i, &out, cmd);
	cr_assert_eq(rc, 0, "send failed (%d): %s", rc, out);
	return tr_last_id(out);
}

/* The message id on the last line of rogatoryctl send's output (frees out). */
static char *
tr_last_id(char *out)
{
	char *end = out + strlen(out);
	while (end > out && end[-1] == '\n')
		*--end = '\0';
	char *last = strrchr(out, '\n');
	char *id = strdup(last ? last + 1 : out);
	free(out);
	cr_assert_eq(strlen(id), 36, "not an id: %s", id);
	return id;
}

bool
tr_wait_state(struct tnet *t, int i, const char *id, const char *state, int ms)
{
	char args[128], want[64];
	snprintf(args, sizeof(args), "show %s", id);
	snprintf(want, sizeof(want), "\nstate           %s\n", state);
	for (int waited = 0; waited < ms; waited += 100) {
		char *out = NULL;
		tnet_ctl(t, i, &out, args);
		bool ok = out != NULL && strstr(out, want) != NULL;
		free(out);
		if (ok)
			return true;
		usleep(100000);
	}
	return false;
}

int
tr_events(struct tnet *t, int i, const char *event, const char *id)
{
	char *buf = ts_read_file(tr_dlog(t, i), NULL);
	if (buf == NULL)
		return 0;
	char ev[64], idq[64];
	snprintf(ev, sizeof(ev), "\"event\":\"%s\"", event);
	snprintf(idq, sizeof(idq), "\"id\":\"%s\"", id ? id : "");
	int n = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		if (strstr(line, ev) != NULL && (id == NULL || strstr(line, idq) != NULL))
			n++;
	free(buf);
	return n;
}

bool
tr_wait_event(struct tnet *t, int i, const char *event, const char *id, int ms)
{
	for (int waited = 0; waited < ms; waited += 20) {
		if (tr_events(t, i, event, id) > 0)
			return true;
		usleep(20000);
	}
	return false;
}

bool
tr_wait_events(struct tnet *t, int i, const char *event, int n, int ms)
{
	for (int waited = 0; waited < ms; waited += 100) {
		if (tr_events(t, i, event, NULL) >= n)
			return true;
		usleep(100000);
	}
	return false;
}

static int
tr_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the n ids of v and joins them, one per line (frees nothing). */
static char *
tr_join_sorted(char **v, size_t n)
{
	qsort(v, n, sizeof(*v), tr_strcmp);
	char *out = calloc(n * 37 + 1, 1);
	cr_assert(out != NULL);
	for (size_t k = 0; k < n; k++) {
		memcpy(out + k * 37, v[k], 36);
		out[k * 37 + 36] = '\n';
	}
	return out;
}

char *
tr_event_ids(struct tnet *t, int i, const char *event, const char *skip)
{
	char *buf = ts_read_file(tr_dlog(t, i), NULL);
	char ev[64];
	snprintf(ev, sizeof(ev), "\"event\":\"%s\"", event);
	size_t n = 0, cap = 0;
	char **v = NULL, *save = NULL;
	for (char *line = buf ? strtok_r(buf, "\n", &save) : NULL; line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *id = strstr(line, "\"id\":\"");
		if (strstr(line, ev) == NULL || id == NULL || strlen(id + 6) < 37 || id[42] != '"')
			continue;
		id[42] = '\0';
		if (skip != NULL && strcmp(id + 6, skip) == 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			v = realloc(v, cap * sizeof(*v));
			cr_assert(v != NULL);
		}
		v[n++] = id + 6;
	}
	char *out = tr_join_sorted(v, n);
	free(v);
	free(buf);
	return out;
}

char *
tr_output_ids(const char *out)
{
	char *buf = strdup(out), *save = NULL;
	cr_assert(buf != NULL);
	size_t n = 0;
	char **v = calloc(strlen(out) / 37 + 1, sizeof(*v));
	cr_assert(v != NULL);
	for (char *l = strtok_r(buf, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
		if (strlen(l) == 36 && l[8] == '-' && l[13] == '-' && l[18] == '-' && l[23] == '-')
			v[n++] = l;
	char *ids = tr_join_sorted(v, n);
	free(v);
	free(buf);
	return ids;
}

char *
tr_settle(struct tnet *t, int from, int to)
{
	char *id = tr_send(t, from, t->node[to].id, "settle marker", 0, 0);
	cr_assert(tr_wait_state(t, from, id, "delivered", 30000),
	    "the settle marker %s from %s to %s was not delivered", id, t->node[from].id,
	    t->node[to].id);
	return id;
}

void
tr_start_crashing(struct tnet *t, int i, const char *point)
{
	setenv("ROGATORY_CRASH_AT", point, 1);
	tnet_start(t, i);
	unsetenv("ROGATORY_CRASH_AT");
}

void
tr_behind_proxy(struct tnet *t, int i)
{
	int real = ts_free_port();
	while (real == t->node[i].port)
		real = ts_free_port();
	tr_real_port[i] = real;
	snprintf(tr_listen_opt[i], sizeof(tr_listen_opt[i]), "network.listen=127.0.0.1:%d",
	    real);
	tnet_opt(t, i, tr_listen_opt[i]);
}

const char *
tr_proxy_log(struct tnet *t, int i)
{
	static char path[4][4096];
	static unsigned slot;
	char *p = path[slot++ % 4];
	snprintf(p, 4096, "%s/proxy-%d.log", t->dir, i);
	return p;
}

pid_t
tr_proxy_start(struct tnet *t, int i, const char *fmt, ...)
{
	cr_assert(tr_real_port[i] != 0, "tr_proxy_start: node %d is not behind a proxy", i);
	va_list ap;
	char *opts = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&opts, fmt, ap);
	va_end(ap);
	cr_assert(r >= 0);
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "exec '%s' %d %d %s", ts_build_path("tests/faultproxy"),
	    t->node[i].port, tr_real_port[i], opts);
	free(opts);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	const char *log = tr_proxy_log(t, i);
	pid_t pid = ts_spawn(argv, log);
	cr_assert(ts_wait_file_contains(log, "listening", 5000), "faultproxy did not start");
	return pid;
}

long
tr_proc_kb(pid_t pid, const char *field)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *buf = ts_read_file(path, NULL);
	cr_assert(buf != NULL, "no %s", path);
	char key[64];
	snprintf(key, sizeof(key), "\n%s:", field);
	char *p = strstr(buf, key);
	long kb = p != NULL ? strtol(p + strlen(key), NULL, 10) : -1;
	free(buf);
	return kb;
}

int
tr_proc_fds(pid_t pid)
{
	char *out = NULL;
	int rc = ts_sh(&out, "ls /proc/%d/fd | wc -l", (int)pid);
	cr_assert_eq(rc, 0, "%s", out);
	int n = atoi(out);
	free(out);
	return n;
}

long
tr_proc_cpu_ms(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	char *buf = ts_read_file(path, NULL);
	cr_assert(buf != NULL, "no %s", path);
	/* Fields after the command name (which may hold spaces): state is field 3,
	 * utime 14, stime 15. */
	char *p = strrchr(buf, ')');
	cr_assert(p != NULL);
	unsigned long ut = 0, st = 0;
	int n = sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
	free(buf);
	cr_assert_eq(n, 2);
	long hz = sysconf(_SC_CLK_TCK);
	return (long)((ut + st) * 1000 / (unsigned long)hz);
}

long
tr_raise_nofile(long want)
{
	struct rlimit rl;
	cr_assert(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if ((long)rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || (long)rl.rlim_max > want
		    ? (rlim_t)want : rl.rlim_max;
		cr_assert(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	}
	return (long)rl.rlim_cur;
}

pid_t
tr_fakepeer_as(struct tnet *t, int as, const char *tag, char *outp, size_t outlen,
    const char *mode, int port, const char *fmt, ...)
{
	char opts[2048], cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(opts, sizeof(opts), fmt, ap);
	va_end(ap);
	snprintf(outp, outlen, "%s/%s.out", t->dir, tag);
	snprintf(cmd, sizeof(cmd), "exec '%s' %s %s%d --cert '%s' --key '%s' --ca '%s' "
	    "--hello-id %s %s", tnet_fakepeer(), mode, strcmp(mode, "connect") == 0 ?
	    "127.0.0.1 " : "", port, t->node[as].cert, t->node[as].key, t->ca, t->node[as].id,
	    opts);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	return ts_spawn(argv, outp);
}

void
tr_attachment_tamper(struct tnet *t, int i, int att, char **path)
{
	char *out = NULL;
	int rc = ts_sh(&out, "cd '%s/state' && h=$(sqlite3 rogatory.db \"SELECT lower(hex(sha256)) "
	    "FROM attachments WHERE att = %d\") && f=attachments/$(echo $h | cut -c1-2)/$h && "
	    "test -s $f && printf '\\000' | dd of=$f bs=1 seek=99 conv=notrunc 2>/dev/null && "
	    "echo \"$PWD/$f\"", t->node[i].home, att);
	cr_assert_eq(rc, 0, "node %d: no attachment file %d: %s", i, att, out);
	out[strcspn(out, "\n")] = '\0';
	if (path != NULL)
		*path = out;
	else
		free(out);
}

void
tr_hold_set(const char *path, const char *where)
{
	if (where == NULL) {
		cr_assert_eq(unlink(path), 0, "%s: %s", path, strerror(errno));
		return;
	}
	char tmp[4300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ts_write_file(tmp, where, 0600);
	cr_assert_eq(rename(tmp, path), 0, "%s: %s", path, strerror(errno));
}

int
tr_held_ops(struct tnet *t, int i)
{
	static const char key[] = "store: test hold (queue): ";
	char *log = ts_read_file(t->node[i].log, NULL);
	int last = -1;
	for (const char *p = log; p != NULL && (p = strstr(p, key)) != NULL; p++)
		last = atoi(p + strlen(key));
	free(log);
	return last;
}

bool
tr_wait_held_ops(struct tnet *t, int i, int n, int ms)
{
	for (long waited = 0; waited <= ms; waited += 20) {
		if (tr_held_ops(t, i) >= n)
			return true;
		usleep(20 * 1000);   /* a poll's pause, not a synchronisation: ms is the deadline */
	}
	return false;
}

int
tr_event_line(struct tnet *t, int i, const char *event, const char *id, bool last)
{
	char path[4200], ev[64];
	snprintf(path, sizeof(path), "%s/state/delivery.jsonl", t->node[i].home);
	char *log = ts_read_file(path, NULL);
	cr_assert(log != NULL, "no delivery log at %s", path);
	snprintf(ev, sizeof(ev), "\"event\":\"%s\"", event);
	int n = 0, found = -1;
	for (char *line = strtok(log, "\n"); line != NULL; line = strtok(NULL, "\n"), n++) {
		if (strstr(line, ev) != NULL && strstr(line, id) != NULL) {
			found = n;
			if (!last)
				break;
		}
	}
	free(log);
	return found;
}

void
tr_ctl_background(struct tnet *t, int i, const char *tag, const char *fmt, ...)
{
	char args[1024], *out = NULL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	cr_assert_eq(ts_sh(&out, "'%s' -s '%s' %s > '%s/%s.out' 2>&1 &",
	    ts_build_path("rogatoryctl"), t->node[i].sock, args, t->dir, tag), 0, "%s", out);
	free(out);
}
