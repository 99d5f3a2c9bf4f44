/*
 * log: `rogatoryctl log`: the delivery events the store holds, the last N that match the
 * filters (time range, authority, message id, event name), and with --follow every
 * further one that matches, as it commits. Times are read here (RFC 3339 UTC, a date, or
 * a duration ago) and sent as µs; the daemon applies the same filter to history and to
 * what follows. --json prints one JSON object a line (the delivery log's own format).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "config.h"
#include "ctl.h"
#include "text.h"

static int log_parse(int argc, char **argv, Rogatory__Ctl__V1__LogRequest *q, long *n);
static void log_print(const struct ctl *c, json_t *e);

int
ctl_log_time(const char *s, int64_t now_us, int64_t *out)
{
	struct tm tm = {0};
	const char *end = NULL;
	uint64_t ms;
	char err[128];
	int64_t us = 0;
	if (strlen(s) == 10)
		end = strptime(s, "%Y-%m-%d", &tm);
	else if (strlen(s) >= 19 && s[10] == 'T')
		end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end != NULL && *end == '.') {
		/* A fraction, as the log prints times: up to µs. */
		int64_t scale = 100000;
		for (end++; *end >= '0' && *end <= '9'; end++, scale /= 10)
			us += scale > 0 ? (*end - '0') * scale : 0;
	}
	if (end != NULL && (*end == '\0' || strcmp(end, "Z") == 0)) {
		time_t t = timegm(&tm);
		if (t < 0)          /* (time_t)-1 included: timegm's failure */
			return -1;
		*out = (int64_t)t * 1000000 + us;
		return 0;
	}
	/* A duration ago: "90m", "2h", "7d". */
	if (config_parse_duration(s, &ms, err, sizeof(err)) != 0 ||
	    ms > (uint64_t)now_us / 1000)
		return -1;
	*out = now_us - (int64_t)ms * 1000;
	return *out > 0 ? 0 : -1;
}

/* The filters into q; n is the count asked for. 0, or 2 (said). */
static int
log_parse(int argc, char **argv, Rogatory__Ctl__V1__LogRequest *q, long *n)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t now_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--follow") == 0 || strcmp(a, "-f") == 0) {
			q->follow = true;
			continue;
		}
		if (v == NULL)
			return ctl_usage("log");
		i++;
		if (strcmp(a, "-n") == 0) {
			char *end = NULL;
			errno = 0;
			*n = strtol(v, &end, 10);
			if (errno != 0 || end == v || *end != '\0' || *n < 0) {
				fprintf(stderr, "rogatoryctl: -n %s: expected a count\n", v);
				return 2;
			}
		} else if (strcmp(a, "--since") == 0 || strcmp(a, "--until") == 0) {
			int64_t *t = a[2] == 's' ? &q->since_us : &q->until_us;
			if (ctl_log_time(v, now_us, t) != 0) {
				fprintf(stderr, "rogatoryctl: %s %s: expected a time like "
				    "2026-03-01T10:00:00Z or 2026-03-01 (UTC), or a duration ago like 2h\n",
				    a, v);
				return 2;
			}
		} else if (strcmp(a, "--peer") == 0) {
			if (!ctl_authority_arg("--peer", v))
				return 2;
			ctl_bin(&q->peer, v);
		} else if (strcmp(a, "--id") == 0) {
			if (!text_uuid_valid((const uint8_t *)v, strlen(v))) {
				fprintf(stderr, "rogatoryctl: --id %s is not a message id (a lower-case "
				    "UUID)\n", v);
				return 2;
			}
			ctl_bin(&q->message_id, v);
		} else if (strcmp(a, "--event") == 0) {
			if (v[0] == '\0' || strlen(v) > 31 ||
			    strspn(v, "abcdefghijklmnopqrstuvwxyz-") != strlen(v)) {
				fprintf(stderr, "rogatoryctl: --event %s: not an event name (queued, "
				    "delivered, alert, ...)\n", v);
				return 2;
			}
			ctl_bin(&q->event, v);
		} else {
			return ctl_usage("log");
		}
	}
	if (q->since_us > 0 && q->until_us > 0 && q->until_us <= q->since_us) {
		fprintf(stderr, "rogatoryctl: --until must be after --since\n");
		return 2;
	}
	return 0;
}

static void
log_print(const struct ctl *c, json_t *e)
{
	if (c->json) {
		ctl_json_print(e, true);
	} else {
		ctl_json_termsafe(e);
		ctl_messages_print_event(e);
	}
}

int
ctl_log_run(struct ctl *c, int argc, char **argv)
{
	Rogatory__Ctl__V1__LogRequest q = ROGATORY__CTL__V1__LOG_REQUEST__INIT;
	long n = 100;
	int u = log_parse(argc, argv, &q, &n);
	if (u != 0)
		return u;
	/* The last n that match; -n 0: none of the history (with --follow: only new ones). */
	q.after_seq = n > 0 ? -(int64_t)(n < 1000 ? n : 1000) : 0;
	q.limit = n > 0 && n < 1000 ? (uint32_t)n : 1000;
	if (n == 0) {
		q.after_seq = INT64_MAX;
		q.limit = 1;
	}
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_LOG;
	req.log = &q;
	req.version = CONTROL_PROTOCOL_VERSION;
	req.request_id = ++c->next_id;
	if (ctl_send(c, &req) != 0)
		return 3;
	if (q.follow) {
		/* Replies keep coming; no read time-out while following. */
		struct timeval tv = {0};
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	for (bool first = true;; first = false) {
		Rogatory__Ctl__V1__Reply *r = ctl_recv(c);
		if (r == NULL)
			return q.follow && !first ? 0 : 3;
		if (r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
			ctl_say_refusal("", r);
			wire_ctl_reply_free(r);
			return 1;
		}
		json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
		wire_ctl_reply_free(r);
		size_t i;
		json_t *e;
		if (json_is_array(j)) {
			json_array_foreach(j, i, e)
				log_print(c, e);
		} else if (j != NULL) {
			log_print(c, j);
		}
		json_decref(j);
		fflush(stdout);
		if (!q.follow)
			return 0;
	}
}
