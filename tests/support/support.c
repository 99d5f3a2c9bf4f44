/*
 * support: process, file and port helpers shared by the Criterion tests (contract in
 * support.h). Children are started with posix_spawnp only, never fork: a forked copy of
 * the Criterion runner that returns through Criterion code hangs it.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

extern char **environ;

/* Long enough for any openssl or daemon start; a hung child must fail the test, not
 * the whole run. */
#define TS_RUN_TIMEOUT_MS 120000
#define TS_PATH_SLOTS 8

/* Children started by ts_spawn and not yet reaped: killed when the test process exits,
 * so a test that fails an assertion (and skips its teardown) leaves no daemon behind
 * to hold ports and CPU for the tests after it. */
#define TS_SPAWN_MAX 64
static pid_t ts_spawned[TS_SPAWN_MAX];

static void spawned_track(pid_t pid, bool add);
static void spawned_kill_all(void);
static const char *env_dir(const char *name, char *buf, size_t len);
static const char *path_slot(const char *base, const char *rel);
static int status_code(int status);
static long long now_ms(void);
static void sleep_ms(int ms);
static int rmrf_one(const char *path, const struct stat *st, int flag, struct FTW *ftw);
static void spawn_actions_stdio(posix_spawn_file_actions_t *fa, int out_fd);
static void buf_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n);
static void drain(int fd, char **buf, size_t *len, size_t *cap, bool *eof);

static const char *
env_dir(const char *name, char *buf, size_t len)
{
	const char *v;
	char resolved[PATH_MAX];

	if (buf[0] != '\0')
		return buf;
	v = getenv(name);
	cr_assert(v != NULL && v[0] != '\0',
	    "%s is not set (the Makefile sets it; run through make or export it)", name);
	cr_assert(realpath(v, resolved) != NULL, "%s=%s: %s", name, v, strerror(errno));
	cr_assert(strlen(resolved) < len, "%s too long", name);
	memcpy(buf, resolved, strlen(resolved) + 1);
	return buf;
}

const char *
ts_src(void)
{
	static char dir[PATH_MAX];

	return env_dir("ROGATORY_SRC", dir, sizeof(dir));
}

const char *
ts_build(void)
{
	static char dir[PATH_MAX];

	return env_dir("ROGATORY_BUILD", dir, sizeof(dir));
}

/* Rotating slots so that a call can use several paths at once, e.g. in one argv. */
static const char *
path_slot(const char *base, const char *rel)
{
	static char slots[TS_PATH_SLOTS][PATH_MAX];
	static unsigned next;
	char *p;
	int n;

	p = slots[next++ % TS_PATH_SLOTS];
	n = snprintf(p, PATH_MAX, "%s/%s", base, rel);
	cr_assert(n > 0 && n < PATH_MAX, "path too long: %s/%s", base, rel);
	return p;
}

const char *
ts_src_path(const char *rel)
{
	return path_slot(ts_src(), rel);
}

const char *
ts_build_path(const char *rel)
{
	return path_slot(ts_build(), rel);
}

char *
ts_tmpdir(const char *tag)
{
	const char *base;
	char *path;

	base = getenv("TMPDIR");
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	cr_assert(asprintf(&path, "%s/rogatory-%s-XXXXXX", base, tag) > 0, "asprintf");
	cr_assert(mkdtemp(path) != NULL, "mkdtemp %s: %s", path, strerror(errno));
	cr_assert(chmod(path, 0700) == 0, "chmod %s: %s", path, strerror(errno));
	return path;
}

static int
rmrf_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

void
ts_rmrf(const char *path)
{
	struct stat st;

	cr_assert(path != NULL && path[0] != '\0' && strcmp(path, "/") != 0,
	    "ts_rmrf refuses '%s'", path != NULL ? path : "(null)");
	if (lstat(path, &st) == -1 && errno == ENOENT)
		return;
	cr_assert(nftw(path, rmrf_one, 32, FTW_DEPTH | FTW_PHYS) == 0,
	    "rm -rf %s: %s", path, strerror(errno));
}

static int
status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* stdin from /dev/null (a child must never wait on the terminal), stdout+stderr to out_fd. */
static void
spawn_actions_stdio(posix_spawn_file_actions_t *fa, int out_fd)
{
	cr_assert(posix_spawn_file_actions_init(fa) == 0, "posix_spawn_file_actions_init");
	cr_assert(posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0) == 0,
	    "spawn addopen");
	cr_assert(posix_spawn_file_actions_adddup2(fa, out_fd, 1) == 0, "spawn adddup2");
	cr_assert(posix_spawn_file_actions_adddup2(fa, out_fd, 2) == 0, "spawn adddup2");
}

static void
buf_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = *cap ? *cap : 4096;

		while (*len + n + 1 > ncap)
			ncap *= 2;
		*buf = realloc(*buf, ncap);
		cr_assert(*buf != NULL, "out of memory");
		*cap = ncap;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* Reads what is available now (fd is non-blocking). */
static void
drain(int fd, char **buf, size_t *len, size_t *cap, bool *eof)
{
	char chunk[4096];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n > 0) {
			buf_append(buf, len, cap, chunk, (size_t)n);
			continue;
		}
		if (n == 0)
			*eof = true;
		else
			cr_assert(errno == EAGAIN || errno == EINTR, "read pipe: %s",
			    strerror(errno));
		return;
	}
}

int
ts_run(char *const argv[], char **out)
{
	posix_spawn_file_actions_t fa;
	struct pollfd pfd;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	bool eof = false, exited = false;
	long long deadline;
	int fds[2], status = 0, rc;
	pid_t pid, w;

	cr_assert(argv != NULL && argv[0] != NULL, "ts_run: empty argv");
	cr_assert(pipe2(fds, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	spawn_actions_stdio(&fa, fds[1]);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	cr_assert(rc == 0, "cannot start %s: %s", argv[0], strerror(rc));
	cr_assert(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0, "fcntl: %s", strerror(errno));
	buf_append(&buf, &len, &cap, "", 0);

	/*
	 * Poll the pipe and the child together: a grandchild that keeps the pipe open
	 * (a daemon started by the command) must not keep us from returning.
	 */
	deadline = now_ms() + TS_RUN_TIMEOUT_MS;
	while (!exited) {
		if (!eof) {
			pfd.fd = fds[0];
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 20) > 0)
				drain(fds[0], &buf, &len, &cap, &eof);
		} else
			sleep_ms(5);
		w = waitpid(pid, &status, WNOHANG);
		cr_assert(w != -1 || errno == EINTR, "waitpid %d: %s", (int)pid,
		    strerror(errno));
		if (w == pid) {
			exited = true;
			if (!eof)
				drain(fds[0], &buf, &len, &cap, &eof);
		} else if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(fds[0]);
			cr_assert_fail("%s did not finish within %d ms; output so far:\n%s",
			    argv[0], TS_RUN_TIMEOUT_MS, buf);
		}
	}
	close(fds[0]);
	if (out != NULL)
		*out = buf;
	else
		free(buf);
	return status_code(status);
}

int
ts_sh(char **out, const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	cr_assert(rc >= 0, "vasprintf");
	{
		char *argv[] = { "/bin/sh", "-c", cmd, NULL };

		rc = ts_run(argv, out);
	}
	free(cmd);
	return rc;
}

pid_t
ts_spawn(char *const argv[], const char *log_path)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int fd, rc;

	cr_assert(argv != NULL && argv[0] != NULL, "ts_spawn: empty argv");
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	cr_assert(fd != -1, "open %s: %s", log_path, strerror(errno));
	spawn_actions_stdio(&fa, fd);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fd);
	cr_assert(rc == 0, "cannot start %s: %s", argv[0], strerror(rc));
	spawned_track(pid, true);
	return pid;
}

static void
spawned_kill_all(void)
{
	for (int i = 0; i < TS_SPAWN_MAX; i++) {
		if (ts_spawned[i] > 0) {
			kill(ts_spawned[i], SIGKILL);
			waitpid(ts_spawned[i], NULL, 0);
			ts_spawned[i] = 0;
		}
	}
}

static void
spawned_track(pid_t pid, bool add)
{
	static bool registered;
	if (add && !registered) {
		atexit(spawned_kill_all);
		registered = true;
	}
	for (int i = 0; i < TS_SPAWN_MAX; i++) {
		if (add ? ts_spawned[i] == 0 : ts_spawned[i] == pid) {
			ts_spawned[i] = add ? pid : 0;
			return;
		}
	}
}

int
ts_wait_exit(pid_t pid, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	int status;
	pid_t w;

	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			spawned_track(pid, false);
			return status_code(status);
		}
		cr_assert(w != -1 || errno == EINTR, "waitpid %d: %s", (int)pid,
		    strerror(errno));
		if (now_ms() >= deadline)
			return -1;
		sleep_ms(10);
	}
}

int
ts_stop(pid_t pid, int sig)
{
	int rc;

	cr_assert(pid > 0, "ts_stop: bad pid %d", (int)pid);
	/* A child that already exited is a zombie until reaped, so kill still succeeds. */
	cr_assert(kill(pid, sig) == 0, "kill %d: %s", (int)pid, strerror(errno));
	rc = ts_wait_exit(pid, 5000);
	if (rc != -1)
		return rc;
	kill(pid, SIGKILL);
	rc = ts_wait_exit(pid, 5000);
	cr_assert(rc != -1, "pid %d survived SIGKILL", (int)pid);
	return rc;
}

char *
ts_read_file(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;
	char chunk[8192];
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		cr_assert(errno == ENOENT || errno == ENOTDIR, "open %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	buf_append(&buf, &n, &cap, "", 0);
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		cr_assert(r > 0, "read %s: %s", path, strerror(errno));
		buf_append(&buf, &n, &cap, chunk, (size_t)r);
	}
	close(fd);
	if (len != NULL)
		*len = n;
	return buf;
}

void
ts_write_file(const char *path, const char *content, mode_t mode)
{
	size_t len = strlen(content), off = 0;
	ssize_t w;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert(fd != -1, "create %s: %s", path, strerror(errno));
	/* The umask must not decide a mode a test asked for (key files are 0600 on purpose,
	 * and some tests want a too-open 0644 one). */
	cr_assert(fchmod(fd, mode) == 0, "chmod %s: %s", path, strerror(errno));
	while (off < len) {
		w = write(fd, content + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		cr_assert(w > 0, "write %s: %s", path, strerror(errno));
		off += (size_t)w;
	}
	cr_assert(close(fd) == 0, "close %s: %s", path, strerror(errno));
}

void
ts_writef(const char *path, mode_t mode, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	cr_assert(rc >= 0, "vasprintf");
	ts_write_file(path, s, mode);
	free(s);
}

bool
ts_wait_file_contains(const char *path, const char *needle, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	size_t len;
	char *buf;
	bool found;

	for (;;) {
		buf = ts_read_file(path, &len);
		found = buf != NULL && memmem(buf, len, needle, strlen(needle)) != NULL;
		free(buf);
		if (found)
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(20);
	}
}

int
ts_file_count(const char *path, const char *needle)
{
	size_t len, nlen = strlen(needle);
	const char *p, *end;
	char *buf;
	int count = 0;

	cr_assert(nlen > 0, "ts_file_count: empty needle");
	buf = ts_read_file(path, &len);
	if (buf == NULL)
		return 0;
	end = buf + len;
	for (p = buf; (p = memmem(p, (size_t)(end - p), needle, nlen)) != NULL; p += nlen)
		count++;
	free(buf);
	return count;
}

int
ts_free_port(void)
{
	enum { LO = 20000, HI = 32767 };
	struct sockaddr_in sa;
	uint32_t r;
	int i, port, fd, ok;

	/* Random start: tests running side by side should not all probe 20000 first. */
	if (getentropy(&r, sizeof(r)) != 0)
		r = (uint32_t)getpid() ^ (uint32_t)now_ms();
	for (i = 0; i <= HI - LO; i++) {
		port = LO + (int)((r + (uint32_t)i) % (uint32_t)(HI - LO + 1));
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert(fd != -1, "socket: %s", strerror(errno));
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		/* No SO_REUSEADDR: a port in TIME_WAIT is not free for a daemon either. */
		ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok)
			return port;
	}
	cr_assert_fail("no free TCP port in %d-%d on 127.0.0.1", LO, HI);
	return -1;
}

const char *
ts_pki(void)
{
	static char path[PATH_MAX];
	int n;

	if (path[0] == '\0') {
		n = snprintf(path, sizeof(path), "%s/pki/rogatory-pki", ts_src());
		cr_assert(n > 0 && (size_t)n < sizeof(path), "path too long");
	}
	return path;
}

bool
ts_sanitizer(void)
{
	return getenv("ASAN_OPTIONS") != NULL;
}
