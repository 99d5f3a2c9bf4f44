/*
 * benchconsole: the web console over a full store. With the queue at rest (100,000
 * messages in A's store), one rogatory-console is started on A's control socket, a
 * viewer session is opened through a real login link, and the requests behind the
 * overview page and the message list are timed over HTTP, as a browser would make them.
 * Reports what it could not measure instead of failing the run.
 */
#include "benchconsole.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "benchlib.h"

#define BC_REPS 30
#define BC_REPLY_MAX (4u << 20)

struct bc_reply {
	int status;
	char *head;     /* the status line and headers, NUL-terminated */
	char *body;
	size_t body_len;
};

static void
bc_reply_free(struct bc_reply *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* One HTTP/1.1 request with Connection: close (a body: a form, POSTed); -1 when the
 * console could not be reached or the answer was not HTTP. */
static int
bc_request(int port, const char *path, const char *cookie, const char *form,
    struct bc_reply *r)
{
	memset(r, 0, sizeof(*r));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	char req[2048];
	char post[512] = "";
	if (form != NULL)   /* what the login page's form sends: its Origin, the body */
		snprintf(post, sizeof(post), "Origin: http://127.0.0.1:%d\r\nContent-Type: "
		    "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n", port,
		    strlen(form));
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s%s%s"
	    "Connection: close\r\n\r\n%s", form != NULL ? "POST" : "GET", path, port,
	    cookie ? "Cookie: rg_session=" : "", cookie ? cookie : "", cookie ? "\r\n" : "", post,
	    form != NULL ? form : "");
	if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	if (buf == NULL)
		bl_die("out of memory");
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= BC_REPLY_MAX)
				break;
			cap *= 2;
			if ((buf = realloc(buf, cap)) == NULL)
				bl_die("out of memory");
		}
		ssize_t got = read(fd, buf + len, cap - len - 1);
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	buf[len] = '\0';
	char *end = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.", 7) != 0 || end == NULL) {
		free(buf);
		return -1;
	}
	r->status = atoi(buf + 9);
	size_t hl = (size_t)(end - buf);
	r->head = strndup(buf, hl);
	r->body_len = len - hl - 4;
	r->body = malloc(r->body_len + 1);
	if (r->head == NULL || r->body == NULL)
		bl_die("out of memory");
	memcpy(r->body, end + 4, r->body_len);
	r->body[r->body_len] = '\0';
	free(buf);
	return 0;
}

static int
bc_get(int port, const char *path, const char *cookie, struct bc_reply *r)
{
	return bc_request(port, path, cookie, NULL, r);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Times BC_REPS renders of one view (its requests one after the other, as the page
 * makes them); p50 and max in ms into the results under key_p50 / key_max. -1 when a
 * request did not answer 200. */
static int
bc_time(struct bench *b, int port, const char *cookie, const char *what,
    const char *const *paths, const char *key_p50, const char *key_max)
{
	double t[BC_REPS];
	size_t bytes = 0;
	for (int i = 0; i < BC_REPS; i++) {
		double t0 = bl_mono_s();
		bytes = 0;
		for (const char *const *p = paths; *p != NULL; p++) {
			struct bc_reply r;
			if (bc_get(port, *p, cookie, &r) != 0 || r.status != 200) {
				printf("   console %s: GET %s answered %d: %.200s\n", what, *p, r.status,
				    r.body ? r.body : "(no answer)");
				bc_reply_free(&r);
				return -1;
			}
			bytes += r.body_len;
			bc_reply_free(&r);
		}
		t[i] = (bl_mono_s() - t0) * 1000.0;
	}
	qsort(t, BC_REPS, sizeof(t[0]), cmp_double);
	double p50 = t[BC_REPS / 2], max = t[BC_REPS - 1];
	printf("   console %s: p50 %.1f ms, max %.1f ms over %d renders (%zu bytes of JSON each)\n",
	    what, p50, max, BC_REPS, bytes);
	bench_setr(b, key_p50, p50);
	if (key_max != NULL)
		bench_setr(b, key_max, max);
	return 0;
}

/* The "next" cursor of a messages page, 0 when there is none. */
static unsigned long long
bc_next_cursor(const char *body)
{
	const char *p = strstr(body, "\"next\":");
	if (p == NULL)
		return 0;
	return strtoull(p + 7, NULL, 10);
}

void
benchconsole_measure(struct bench *b, int messages)
{
	static const char *const keys[] = {"console_overview_p50_ms", "console_overview_max_ms",
	    "console_messages_p50_ms", "console_messages_max_ms", "console_messages_deep_p50_ms",
	    "console_messages_filtered_p50_ms", "console_id_search_p50_ms", "console_http_floor_ms"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		json_object_set_new(b->out, keys[i], json_null());
	bench_note("web console: the overview and the message list with %d messages in the "
	    "store", messages);
	char bin[600], conf[700], log[700];
	snprintf(bin, sizeof(bin), "%s/rogatory-console", b->env.build);
	if (access(bin, X_OK) != 0) {
		printf("   console: not measured (%s is not built)\n", bin);
		return;
	}
	int port = bl_free_port();
	snprintf(conf, sizeof(conf), "%s/console.conf", b->env.dir);
	snprintf(log, sizeof(log), "%s/console.log", b->env.dir);
	FILE *f = fopen(conf, "w");
	if (f == NULL)
		bl_die("cannot write %s", conf);
	fprintf(f, "[console]\nlisten = 127.0.0.1:%d\nsocket = %s\n", port, b->a.sock);
	fclose(f);
	char *argv[] = {bin, "-c", conf, NULL};
	pid_t pid = bl_spawn(argv, log, -1);
	/* Up when it answers: the login page needs no session. */
	struct bc_reply r = {0};
	double t0 = bl_mono_s();
	int up = -1;
	while (bl_mono_s() - t0 < 20 && (up = bc_get(port, "/login", NULL, &r)) != 0) {
		if (bl_wait(pid, 0) >= 0)
			break;
		bl_sleep_ms(20);
	}
	bc_reply_free(&r);
	char *out = NULL, *cookie = NULL;
	if (up != 0) {
		bl_sh(&out, "tail -n 5 '%s'", log);
		printf("   console: not measured (it did not answer within 20 s): %s\n", out);
		goto done;
	}
	if (bl_ctl(&b->env, &b->a, &out, "console login bench --role viewer --url "
	        "http://127.0.0.1") != 0 || strstr(out, "/login?token=") == NULL) {
		printf("   console: not measured (rogatoryctl console login: %s)\n", out);
		goto done;
	}
	/* The link's page POSTs the token from the console's own origin. */
	char form[64];
	snprintf(form, sizeof(form), "token=%.32s", strstr(out, "/login?token=") + 13);
	const char *set;
	if (bc_request(port, "/login", NULL, form, &r) != 0 ||
	    (set = strstr(r.head, "rg_session=")) == NULL) {
		printf("   console: not measured (the login link gave no session: %d)\n", r.status);
		bc_reply_free(&r);
		goto done;
	}
	cookie = strndup(set + 11, strcspn(set + 11, ";\r\n"));
	bc_reply_free(&r);

	static const char *const overview[] = {"/", "/api/me", "/api/status", "/api/peers",
	    "/api/alerts", NULL};
	static const char *const list[] = {"/messages", "/api/me", "/api/messages?limit=50",
	    NULL};
	/* The floor of any console request on this machine: a static page, no daemon. */
	static const char *const floor[] = {"/login", NULL};
	bc_time(b, port, NULL, "HTTP floor (the static login page)", floor,
	    "console_http_floor_ms", NULL);
	bc_time(b, port, cookie, "overview", overview, "console_overview_p50_ms",
	    "console_overview_max_ms");
	bc_time(b, port, cookie, "message list (newest 50)", list, "console_messages_p50_ms",
	    "console_messages_max_ms");
	/* A page half-way down: the cursor of page 1 followed until the middle. */
	unsigned long long cur = 0;
	int pages = messages / 2 / 200;
	for (int i = 0; i < pages; i++) {
		char p[128];
		if (cur > 0)
			snprintf(p, sizeof(p), "/api/messages?limit=200&before=%llu", cur);
		else
			snprintf(p, sizeof(p), "/api/messages?limit=200");
		if (bc_get(port, p, cookie, &r) != 0 || r.status != 200) {
			bc_reply_free(&r);
			break;
		}
		cur = bc_next_cursor(r.body);
		bc_reply_free(&r);
		if (cur == 0)
			break;
	}
	if (cur > 0) {
		char deep[128];
		snprintf(deep, sizeof(deep), "/api/messages?limit=50&before=%llu", cur);
		const char *const dv[] = {deep, NULL};
		bc_time(b, port, cookie, "message list, a page half-way down", dv,
		    "console_messages_deep_p50_ms", NULL);
	}
	static const char *const filtered[] = {"/api/messages?limit=50&direction=out&state="
	    "queued&peer=" ID_C, NULL};
	bc_time(b, port, cookie, "message list, filtered (out, queued, one peer)", filtered,
	    "console_messages_filtered_p50_ms", NULL);
	/* The queue phase's ids are bl_msg_id(TAG_QUEUE, i): this prefix names 16 of them,
	 * "ffff" none. */
	static const char *const search[] = {"/api/messages?limit=50&id="
	    "be000006-0000-4000-8000-00000000123", "/api/messages?limit=50&id=ffff", NULL};
	bc_time(b, port, cookie, "id search (a prefix of 16 ids, then one of none)", search,
	    "console_id_search_p50_ms", NULL);
	printf("   console RSS %.1f MiB; daemon A RSS %.1f MiB\n", bl_proc_kb(pid, "VmRSS") / 1024.0,
	    bl_proc_kb(b->a.pid, "VmRSS") / 1024.0);
done:
	free(out);
	free(cookie);
	bl_stop(pid, SIGTERM);
}
