/*
 * benchlib: processes, daemons, delivery-log tailing and statistics for the benchmark
 * driver (contract in benchlib.h). Errors end the run with bl_die, which still kills
 * every child: a benchmark must never leave a rogatoryd behind.
 */
#include "benchlib.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

extern char **environ;

#define BL_MAX_CHILDREN 64

static pid_t children[BL_MAX_CHILDREN];

static void
child_forget(pid_t pid)
{
	for (int i = 0; i < BL_MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

void
bl_kill_all(void)
{
	bool any = false;
	for (int i = 0; i < BL_MAX_CHILDREN; i++)
		if (children[i] > 0 && kill(children[i], SIGTERM) == 0)
			any = true;
	for (int waited = 0; any && waited < 5000; waited += 20) {
		any = false;
		for (int i = 0; i < BL_MAX_CHILDREN; i++) {
			if (children[i] <= 0)
				continue;
			if (waitpid(children[i], NULL, WNOHANG) == children[i])
				children[i] = 0;
			else
				any = true;
		}
		if (any)
			usleep(20000);
	}
	for (int i = 0; i < BL_MAX_CHILDREN; i++) {
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
	}
}

static void
on_signal(int sig)
{
	bl_kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

void
bl_guard(void)
{
	atexit(bl_kill_all);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
}

void
bl_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

double
bl_mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t
bl_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
bl_sleep_ms(double ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)((ms - (double)(long)(ms / 1000) * 1000) * 1e6)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

pid_t
bl_spawn(char *const argv[], const char *out_path, int in_fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path ? out_path : "/dev/null",
	    O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		bl_die("cannot start %s: %s", argv[0], strerror(rc));
	for (int i = 0; i < BL_MAX_CHILDREN; i++) {
		if (children[i] == 0) {
			children[i] = pid;
			return pid;
		}
	}
	kill(pid, SIGKILL);
	bl_die("too many children");
}

int
bl_wait(pid_t pid, int timeout_ms)
{
	for (int waited = 0;; waited += 5) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			child_forget(pid);
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		if (r < 0) {
			child_forget(pid);
			return -2;
		}
		if (waited >= timeout_ms)
			return -1;
		usleep(5000);
	}
}

int
bl_stop(pid_t pid, int sig)
{
	if (pid <= 0)
		return -2;
	kill(pid, sig);
	int st = bl_wait(pid, 10000);
	if (st == -1) {
		kill(pid, SIGKILL);
		st = bl_wait(pid, 5000);
	}
	return st;
}

int
bl_sh(char **out, const char *fmt, ...)
{
	va_list ap;
	char *cmd = NULL;
	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		bl_die("out of memory");
	va_end(ap);
	FILE *p = popen(cmd, "r");
	free(cmd);
	if (p == NULL)
		bl_die("popen: %s", strerror(errno));
	char *buf = NULL;
	size_t len = 0, cap = 0;
	char tmp[4096];
	size_t r;
	while ((r = fread(tmp, 1, sizeof(tmp), p)) > 0) {
		if (len + r + 1 > cap) {
			cap = (len + r + 1) * 2;
			buf = realloc(buf, cap);
		}
		memcpy(buf + len, tmp, r);
		len += r;
	}
	if (buf == NULL)
		buf = calloc(1, 1);
	buf[len] = '\0';
	int st = pclose(p);
	if (out != NULL)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int
bl_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
		bl_die("no free port: %s", strerror(errno));
	close(fd);
	return ntohs(sa.sin_port);
}

void
bl_node_init(const struct bench_env *env, struct bnode *n, const char *id)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->id, sizeof(n->id), "%s", id);
	n->port = bl_free_port();
	snprintf(n->home, sizeof(n->home), "%s/%s", env->dir, id);
	snprintf(n->conf, sizeof(n->conf), "%s/rogatoryd.conf", n->home);
	snprintf(n->sock, sizeof(n->sock), "%s/control.sock", n->home);
	snprintf(n->log, sizeof(n->log), "%s/rogatoryd.log", n->home);
	snprintf(n->state, sizeof(n->state), "%s/state", n->home);
	snprintf(n->dlog, sizeof(n->dlog), "%s/delivery.jsonl", n->state);
	if (mkdir(n->home, 0700) != 0)
		bl_die("mkdir %s: %s", n->home, strerror(errno));
	if (bl_sh(NULL, "'%s/pki/rogatory-pki' issue '%s' %s '%s' >/dev/null 2>&1", env->src,
	        env->ca_dir, id, n->home) != 0)
		bl_die("rogatory-pki issue %s failed", id);
	/* Only what has no default: everything else is the daemon's own default. */
	FILE *f = fopen(n->conf, "w");
	if (f == NULL)
		bl_die("cannot write %s", n->conf);
	fprintf(f, "[authority]\nid = %s\n\n[network]\nlisten = 127.0.0.1:%d\n\n"
	           "[tls]\ncertificate = %s.crt\nkey = %s.key\nca = ../ca/ca.crt\n\n"
	           "[store]\nstate_dir = state\n\n[control]\nsocket = control.sock\n\n"
	           "[directory]\npath = directory.conf\n",
	    id, n->port, id, id);
	if (env->conf_more != NULL)
		fprintf(f, "\n%s\n", env->conf_more);
	/* BENCH_EXTRA_CONF: whole sections appended for experiments (not the defaults). */
	const char *extra = getenv("BENCH_EXTRA_CONF");
	if (extra != NULL && extra[0] != '\0')
		fprintf(f, "\n%s\n", extra);
	fclose(f);
}

void
bl_directory_entry(FILE *f, const char *id, const char *address)
{
	fprintf(f, "[authority %s]\nname = Benchmark authority %s\ncountry = %.2s\n"
	           "address = %s\nkinds = mla, extradition, other\nlanguages = en\n\n",
	    id, id, id, address);
}

static int
file_count(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

double
bl_node_start(const struct bench_env *env, struct bnode *n)
{
	char bin[600];
	snprintf(bin, sizeof(bin), "%s/rogatoryd", env->build);
	char *argv[] = {bin, "-f", "-c", n->conf, NULL};
	int before = file_count(n->log, "started as");
	double t0 = bl_mono_s();
	n->pid = bl_spawn(argv, n->log, -1);
	while (bl_mono_s() - t0 < 60) {
		if (file_count(n->log, "started as") > before)
			return bl_mono_s() - t0;
		int st = bl_wait(n->pid, 0);
		if (st >= 0) {
			char *log = NULL;
			bl_sh(&log, "tail -n 20 '%s'", n->log);
			bl_die("rogatoryd %s exited with %d at start-up:\n%s", n->id, st, log);
		}
		usleep(1000);
	}
	bl_die("rogatoryd %s did not start within 60 s", n->id);
}

void
bl_node_stop(struct bnode *n)
{
	if (n->pid > 0)
		bl_stop(n->pid, SIGTERM);
	n->pid = 0;
}

int
bl_ctl(const struct bench_env *env, const struct bnode *n, char **out, const char *args)
{
	return bl_sh(out, "'%s/rogatoryctl' -s '%s' %s 2>&1", env->build, n->sock, args);
}

long
bl_proc_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	long kb = -1;
	size_t fl = strlen(field);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, fl) == 0 && line[fl] == ':')
			kb = strtol(line + fl + 1, NULL, 10);
	fclose(f);
	return kb;
}

double
bl_stat_cpu_s(const char *path, char *comm, size_t commlen)
{
	char buf[2048];
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name (which may hold spaces and parentheses): state is
	 * field 3, utime 14 and stime 15. */
	char *l = strchr(buf, '('), *p = strrchr(buf, ')');
	unsigned long long ut = 0, st = 0;
	if (l == NULL || p == NULL || p < l ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	if (comm != NULL && commlen > 0)
		snprintf(comm, commlen, "%.*s", (int)(p - l - 1), l + 1);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double
bl_proc_cpu_s(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return bl_stat_cpu_s(path, NULL, 0);
}

double
bl_proc_runwait_s(pid_t pid)
{
	char path[300];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	double sum = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		FILE *f = fopen(path, "r");
		unsigned long long run = 0, wait = 0;
		if (f != NULL) {
			if (fscanf(f, "%llu %llu", &run, &wait) == 2)
				sum += (double)wait / 1e9;
			fclose(f);
		}
	}
	closedir(d);
	return sum;
}

void
bl_reset_hwm(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	FILE *f = fopen(path, "w");
	if (f != NULL) {
		fputs("5", f);
		fclose(f);
	}
}

long long
bl_file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

void
bl_msg_id(char out[37], unsigned tag, int i)
{
	snprintf(out, 37, "be%06x-0000-4000-8000-%012x", tag & 0xffffff, (unsigned)i);
}

static bool
msg_index(const char *id, unsigned *tag, int *i)
{
	unsigned t, k;
	if (strlen(id) != 36 || id[0] != 'b' || id[1] != 'e' ||
	    sscanf(id, "be%6x-0000-4000-8000-%12x", &t, &k) != 2)
		return false;
	*tag = t;
	*i = (int)k;
	return true;
}

struct bl_phase *
bl_phase_new(unsigned tag, int n)
{
	struct bl_phase *p = calloc(1, sizeof(*p));
	p->tag = tag;
	p->n = n;
	size_t k = (size_t)(n > 0 ? n : 1); /* a phase of 0 messages is legal */
	p->queued_us = calloc(k, sizeof(int64_t));
	p->delivered_us = calloc(k, sizeof(int64_t));
	p->sent_us = calloc(k, sizeof(int64_t));
	p->received_us = calloc(k, sizeof(int64_t));
	if (p->queued_us == NULL || p->delivered_us == NULL || p->sent_us == NULL ||
	    p->received_us == NULL)
		bl_die("out of memory");
	return p;
}

void
bl_phase_free(struct bl_phase *p)
{
	if (p == NULL)
		return;
	free(p->queued_us);
	free(p->delivered_us);
	free(p->sent_us);
	free(p->received_us);
	free(p);
}

/* "2026-11-27T19:40:01.131554Z" -> µs since the epoch. */
static int64_t
ts_us(const char *s)
{
	struct tm tm = {0};
	int us = 0;
	if (s == NULL || sscanf(s, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us) < 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000000 + us;
}

void
bl_tail_open(struct bl_tail *t, const char *path)
{
	bl_tail_open_from(t, path, false);
}

void
bl_tail_open_from(struct bl_tail *t, const char *path, bool from_start)
{
	memset(t, 0, sizeof(*t));
	t->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->fd < 0)
		bl_die("cannot open %s: %s", path, strerror(errno));
	if (!from_start)
		lseek(t->fd, 0, SEEK_END);
	t->cap = 1 << 20;
	t->buf = malloc(t->cap);
}

static void
tail_line(struct bl_tail *t, struct bl_phase *ph, const char *line, size_t len)
{
	json_t *j = json_loadb(line, len, 0, NULL);
	if (j == NULL)
		return;
	const char *ev = json_string_value(json_object_get(j, "event"));
	const char *id = json_string_value(json_object_get(j, "id"));
	int64_t us = ts_us(json_string_value(json_object_get(j, "ts")));
	unsigned tag;
	int i;
	if (ev != NULL && strcmp(ev, "link-up") == 0) {
		t->link_ups++;
		if (us > t->last_link_up_us)
			t->last_link_up_us = us;
	} else if (ev != NULL && ph != NULL && id != NULL && msg_index(id, &tag, &i) &&
	           tag == ph->tag && i >= 0 && i < ph->n) {
		ph->events++;
		if (us != ph->last_us) {
			ph->commits++;
			ph->last_us = us;
		}
		if (strcmp(ev, "received") == 0) {
			ph->received++;
			if (ph->received_us[i] == 0)
				ph->received_us[i] = us;
		} else if (strcmp(ev, "sent") == 0 && ph->sent_us[i] == 0) {
			ph->sent_us[i] = us;
		}
		if (strcmp(ev, "queued") == 0 && ph->queued_us[i] == 0) {
			ph->queued_us[i] = us;
			ph->queued++;
		} else if (strcmp(ev, "delivered") == 0 && ph->delivered_us[i] == 0) {
			ph->delivered_us[i] = us;
			ph->delivered++;
		} else if (strcmp(ev, "rejected") == 0 || strcmp(ev, "failed") == 0 ||
		           strcmp(ev, "expired") == 0) {
			ph->failed++;
		}
	}
	json_decref(j);
}

void
bl_tail_poll(struct bl_tail *t, struct bl_phase *ph)
{
	for (;;) {
		if (t->cap - t->len < 65536) {
			t->cap *= 2;
			t->buf = realloc(t->buf, t->cap);
		}
		ssize_t r = read(t->fd, t->buf + t->len, t->cap - t->len);
		if (r <= 0)
			return;
		t->len += (size_t)r;
		size_t start = 0;
		for (size_t k = 0; k < t->len; k++) {
			if (t->buf[k] == '\n') {
				tail_line(t, ph, t->buf + start, k - start);
				start = k + 1;
			}
		}
		memmove(t->buf, t->buf + start, t->len - start);
		t->len -= start;
	}
}

void
bl_tail_close(struct bl_tail *t)
{
	if (t->fd >= 0)
		close(t->fd);
	free(t->buf);
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

bool
bl_tail_wait(struct bl_tail *t, struct bl_phase *ph, int want, double timeout_s)
{
	double t0 = bl_mono_s();
	for (;;) {
		bl_tail_poll(t, ph);
		if (ph->delivered + ph->failed >= want)
			return true;
		if (bl_mono_s() - t0 > timeout_s)
			return false;
		usleep(200);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void
bl_sort(double *v, int n)
{
	if (n > 1)
		qsort(v, (size_t)n, sizeof(double), cmp_double);
}

double
bl_pct(const double *v, int n, double p)
{
	if (n == 0)
		return 0;
	int k = (int)(p * (double)n + 0.999999) - 1; /* nearest rank */
	if (k < 0)
		k = 0;
	if (k >= n)
		k = n - 1;
	return v[k];
}

struct bl_lat
bl_latency(const struct bl_phase *ph)
{
	struct bl_lat l = {0};
	double *v = malloc(sizeof(double) * (size_t)(ph->n > 0 ? ph->n : 1));
	for (int i = 0; i < ph->n; i++)
		if (ph->queued_us[i] > 0 && ph->delivered_us[i] > 0)
			v[l.n++] = (double)(ph->delivered_us[i] - ph->queued_us[i]) / 1000.0;
	bl_sort(v, l.n);
	l.p50 = bl_pct(v, l.n, 0.50);
	l.p90 = bl_pct(v, l.n, 0.90);
	l.p99 = bl_pct(v, l.n, 0.99);
	l.max = l.n > 0 ? v[l.n - 1] : 0;
	free(v);
	return l;
}

int
bl_batch_line(char *buf, size_t cap, const char *to, unsigned tag, int i)
{
	/* ~1 KiB of content: a subject and one field, as a real request carries. */
	static char text[901];
	if (text[0] == '\0') {
		for (size_t k = 0; k < sizeof(text) - 1; k++)
			text[k] = "abcdefghijklmnopqrstuvwxyz0123456789 "[k % 37];
	}
	char id[37];
	bl_msg_id(id, tag, i);
	return snprintf(buf, cap,
	    "{\"to\":\"%s\",\"kind\":\"other\",\"id\":\"%s\",\"subject\":\"Benchmark request %d: "
	    "bank records of Example Trading Ltd, account 0000 1111 2222 3333\","
	    "\"fields\":{\"basis\":\"UNCAC art. 46(3)(f)\",\"text\":\"%s\"}}\n",
	    to, id, i, text);
}
