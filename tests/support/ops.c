/*
 * ops: HTTP, notify-socket and output helpers for the operators' tests (contract in
 * ops.h). Sockets get a receive time-out, so a daemon that never answers fails the test
 * at its deadline instead of hanging it.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ops.h"
#include "support.h"

int
ops_http(int port, const char *request, char **response)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0,
	    "connect to the metrics port %d: %s", port, strerror(errno));
	size_t len = strlen(request);
	cr_assert_eq(send(fd, request, len, MSG_NOSIGNAL), (ssize_t)len);
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	for (;;) {
		if (n + 4096 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	int code = 0;
	cr_assert_eq(sscanf(buf, "HTTP/1.%*d %d", &code), 1, "not an HTTP answer: %s", buf);
	if (response != NULL)
		*response = buf;
	else
		free(buf);
	return code;
}

char *
ops_metrics(int port)
{
	char *resp = NULL;
	int code = ops_http(port, "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n", &resp);
	cr_assert_eq(code, 200, "%s", resp);
	char *body = strstr(resp, "\r\n\r\n");
	cr_assert_not_null(body);
	char *text = strdup(body + 4);
	free(resp);
	return text;
}

double
ops_metric(const char *text, const char *sample)
{
	size_t n = strlen(sample);
	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, sample, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

bool
ops_wait_metric(int port, const char *sample, double value, int ms)
{
	for (int waited = 0; waited < ms; waited += 100) {
		char *text = ops_metrics(port);
		double v = ops_metric(text, sample);
		free(text);
		if (v >= value)
			return true;
		usleep(100000);
	}
	return false;
}

int
ops_notify_open(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	cr_assert_lt(strlen(path), sizeof(sun.sun_path));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0, "bind %s: %s", path,
	    strerror(errno));
	return fd;
}

char *
ops_notify_next(int fd, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

bool
ops_notify_expect(int fd, const char *want, int ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		int left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return false;
		char *d = ops_notify_next(fd, left);
		if (d == NULL)
			return false;
		bool match = strcmp(want, "RELOADING=1") == 0 ? strncmp(d, want, 11) == 0
		                                              : strcmp(d, want) == 0;
		bool watchdog = strcmp(d, "WATCHDOG=1") == 0;
		if (!match && !watchdog)
			cr_assert_fail("notify: got \"%s\" while waiting for \"%s\"", d, want);
		free(d);
		if (match)
			return true;
	}
}

bool
ops_wait_ctl(struct tnet *t, int i, const char *args, const char *needle, int ms)
{
	for (int waited = 0; waited < ms; waited += 100) {
		char *out = NULL;
		int rc = tnet_ctl(t, i, &out, args);
		bool ok = (rc == 0 || rc == 1) && out != NULL && strstr(out, needle) != NULL;
		free(out);
		if (ok)
			return true;
		usleep(100000);
	}
	return false;
}

/* Length of an RFC 3339 time at p ("2026-12-03T02:15:59Z", ".123456Z"), or 0. */
static size_t
time_len(const char *p)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)p[i]) : p[i] != shape[i])
			return 0;
	size_t n = sizeof(shape) - 1;
	if (p[n] == '.')
		for (n++; isdigit((unsigned char)p[n]); n++)
			;
	return p[n] == 'Z' ? n + 1 : 0;
}

static size_t
hex64_len(const char *p, const char *start)
{
	if (p > start && isxdigit((unsigned char)p[-1]))
		return 0;
	size_t n = strspn(p, "0123456789abcdef");
	return n == 64 ? 64 : 0;
}

char *
ops_normalize(const char *out, const char *const *from, const char *const *to, int nlits)
{
	size_t cap = strlen(out) * 2 + 256, n = 0;
	char *r = malloc(cap);
	cr_assert_not_null(r);
	for (const char *p = out; *p != '\0';) {
		size_t k;
		int lit = -1;
		for (int i = 0; i < nlits && lit < 0; i++)
			if (strncmp(p, from[i], strlen(from[i])) == 0 &&
			    !(isdigit((unsigned char)from[i][0]) && (isdigit((unsigned char)
			        p[strlen(from[i])]) || (p > out && isdigit((unsigned char)p[-1])))))
				lit = i;
		if (lit >= 0) {
			k = strlen(to[lit]);
			cr_assert_lt(n + k + 80, cap);
			memcpy(r + n, to[lit], k);
			n += k;
			p += strlen(from[lit]);
		} else if ((k = time_len(p)) > 0) {
			for (size_t i = 0; i < k; i++)
				r[n++] = isdigit((unsigned char)p[i]) ? '0' : p[i];
			p += k;
		} else if ((k = hex64_len(p, out)) > 0) {
			memset(r + n, '0', k);
			n += k;
			p += k;
		} else if (strncmp(p, "uptime ", 7) == 0 || strncmp(p, "\"uptime_s\": ", 12) == 0) {
			size_t lead = p[0] == 'u' ? 7 : 12;
			memcpy(r + n, p, lead);
			n += lead;
			p += lead;
			while (*p == ' ')
				r[n++] = *p++;
			if (isdigit((unsigned char)*p)) {
				r[n++] = '0';
				while (isdigit((unsigned char)*p))
					p++;
			}
		} else {
			r[n++] = *p++;
		}
		cr_assert_lt(n + 80, cap);
	}
	r[n] = '\0';
	return r;
}
