/*
 * messages: `rogatoryctl queue`, `inbox`, `show ID`, `retry`, `cancel ID` and `verify
 * ID`: messages one at a time or listed, with the listings' filters. Every filter is
 * checked here before a byte goes to the daemon (an authority id, a state name, a
 * duration), so a mistyped line exits 2 with its usage and never reaches it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "store.h"
#include "text.h"

static void print_messages(const json_t *r);
static void print_retry(const json_t *r);
static int list_limit(const char *s, uint32_t *out);

/* -n N: 1..1000. */
static int
list_limit(const char *s, uint32_t *out)
{
	char *end = NULL;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < 1 || n > 1000) {
		fprintf(stderr, "rogatoryctl: -n %s: expected a number from 1 to 1000\n", s);
		return -1;
	}
	*out = (uint32_t)n;
	return 0;
}

int
ctl_messages_queue(struct ctl *c, int argc, char **argv)
{
	Rogatory__Ctl__V1__QueueRequest q = ROGATORY__CTL__V1__QUEUE_REQUEST__INIT;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char err[200];
		uint64_t ms;
		if (strcmp(a, "--all") == 0) {
			q.all = true;
			continue;
		}
		if (v == NULL)
			return ctl_usage("queue");
		i++;
		if (strcmp(a, "--peer") == 0) {
			if (!ctl_authority_arg("--peer", v))
				return 2;
			ctl_bin(&q.peer, v);
		} else if (strcmp(a, "--state") == 0) {
			enum store_state st;
			if (store_state_parse(v, &st) != 0 || st == STORE_RECEIVED) {
				fprintf(stderr, "rogatoryctl: --state %s: not a state name (queued, "
				    "sending, retrying, unconfirmed, delivered, ...)\n", v);
				return 2;
			}
			ctl_bin(&q.state, v);
		} else if (strcmp(a, "--older-than") == 0) {
			if (config_parse_duration(v, &ms, err, sizeof(err)) != 0) {
				fprintf(stderr, "rogatoryctl: --older-than: %s\n", err);
				return 2;
			}
			q.older_than_ms = ms;
		} else if (strcmp(a, "-n") == 0) {
			if (list_limit(v, &q.limit) != 0)
				return 2;
		} else {
			return ctl_usage("queue");
		}
	}
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_QUEUE;
	req.queue = &q;
	return ctl_call(c, &req, print_messages);
}

int
ctl_messages_inbox(struct ctl *c, int argc, char **argv)
{
	Rogatory__Ctl__V1__InboxRequest q = ROGATORY__CTL__V1__INBOX_REQUEST__INIT;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--unfetched") == 0) {
			q.unfetched = true;
		} else if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc) {
			if (!ctl_authority_arg("--peer", argv[++i]))
				return 2;
			ctl_bin(&q.peer, argv[i]);
		} else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			if (list_limit(argv[++i], &q.limit) != 0)
				return 2;
		} else {
			return ctl_usage("inbox");
		}
	}
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_INBOX;
	req.inbox = &q;
	return ctl_call(c, &req, print_messages);
}

/* One line per message; an outbound one to a paused authority shows ",paused" after its
 * state, an urgent one ",urgent" after its kind (urgent messages go first). */
static void
print_messages(const json_t *r)
{
	printf("%-36s %-3s %-14s %-20s %-18s %-3s %-27s %s\n", "ID", "DIR", "PEER", "KIND",
	    "STATE", "TRY", "UPDATED", "LAST ERROR");
	size_t i;
	const json_t *m;
	json_array_foreach(r, i, m) {
		char state[32], kind[40];
		snprintf(state, sizeof(state), "%s%s", ctl_jstr(m, "state"),
		    json_is_true(json_object_get(m, "paused")) ? ",paused" : "");
		snprintf(kind, sizeof(kind), "%s%s", ctl_jstr(m, "kind"),
		    json_is_true(json_object_get(m, "urgent")) ? ",urgent" : "");
		printf("%-36s %-3s %-14s %-20s %-18s %-3lld %-27s %s\n", ctl_jstr(m, "id"),
		    ctl_jstr(m, "direction"), ctl_jstr(m, "peer"), kind, state,
		    (long long)json_integer_value(json_object_get(m, "attempts")),
		    ctl_jstr(m, "updated"), ctl_jstr(m, "last_error"));
	}
	if (json_array_size(r) == 0)
		printf("(none)\n");
}

void
ctl_messages_print_event(const json_t *e)
{
	long long att = (long long)json_integer_value(json_object_get(e, "attempt"));
	const char *reason = json_string_value(json_object_get(e, "reason"));
	const char *alert = json_string_value(json_object_get(e, "alert"));
	printf("%-6lld %-27s %-16s %-36s %-3s %-10s %-11s",
	    (long long)json_integer_value(json_object_get(e, "seq")), ctl_jstr(e, "ts"),
	    ctl_jstr(e, "event"), alert != NULL ? alert : ctl_jstr(e, "id"),
	    ctl_jstr(e, "direction"), ctl_jstr(e, "peer"), ctl_jstr(e, "state"));
	if (att > 0)
		printf(" attempt %lld", att);
	if (reason != NULL)
		printf(" (%s)", reason);
	putchar('\n');
}

void
ctl_messages_print_one(const json_t *r)
{
	static const char *const keys[] = {"id", "direction", "peer", "kind", "urgent", "state",
	    "paused",
	    "attempts", "created", "updated", "next_attempt", "expires", "fetched", "last_error",
	    "payload_sha256", "receipt_sha256", "receipt_bytes"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *v = json_object_get(r, keys[i]);
		if (v == NULL)
			continue;
		char *s = json_is_string(v) || json_is_null(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
		printf("%-15s %s\n", keys[i], s ? s : json_is_null(v) ? "-" : json_string_value(v));
		free(s);
	}
	/* Proof of retrieval (PROTOCOL.md section 16): who took it up, and when. */
	const json_t *rt = json_object_get(r, "retrieved");
	if (json_is_object(rt)) {
		const char *user = json_string_value(json_object_get(rt, "user"));
		const char *rc = json_string_value(json_object_get(rt, "receipt"));
		printf("%-15s %s by %s, uid %lld%s%s%s, evidence sha256 %s, %s\n", "retrieved",
		    ctl_jstr(rt, "time"), ctl_jstr(rt, "by"),
		    (long long)json_integer_value(json_object_get(rt, "uid")), user ? " (" : "",
		    user ? user : "", user ? ")" : "", ctl_jstr(rt, "evidence_sha256"),
		    rc == NULL ? "no receipt yet" : strcmp(rc, "accepted") == 0 ? "receipted"
		    : "refused by the sender");
	}
	const json_t *ev = json_object_get(r, "events");
	if (json_is_array(ev) && json_array_size(ev) > 0) {
		printf("events:\n");
		size_t i;
		const json_t *e;
		json_array_foreach(ev, i, e)
			ctl_messages_print_event(e);
	}
}

int
ctl_messages_show(struct ctl *c, int argc, char **argv)
{
	Rogatory__Ctl__V1__ShowRequest q = ROGATORY__CTL__V1__SHOW_REQUEST__INIT;
	int b = ctl_msg_id_arg(argc, argv, &q.message_id);
	if (b != 0)
		return b == -1 ? ctl_usage("show") : 2;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_SHOW;
	req.show = &q;
	return ctl_call(c, &req, ctl_messages_print_one);
}

int
ctl_messages_cancel(struct ctl *c, int argc, char **argv)
{
	Rogatory__Ctl__V1__CancelRequest q = ROGATORY__CTL__V1__CANCEL_REQUEST__INIT;
	int b = ctl_msg_id_arg(argc, argv, &q.message_id);
	if (b != 0)
		return b == -1 ? ctl_usage("cancel") : 2;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CANCEL;
	req.cancel = &q;
	return ctl_call(c, &req, ctl_messages_print_one);
}

/* retry ID | --peer ID | --all-failed */
int
ctl_messages_retry(struct ctl *c, int argc, char **argv)
{
	Rogatory__Ctl__V1__RetryRequest q = ROGATORY__CTL__V1__RETRY_REQUEST__INIT;
	if (argc == 1 && strcmp(argv[0], "--all-failed") == 0) {
		q.all_failed = true;
	} else if (argc == 2 && strcmp(argv[0], "--peer") == 0) {
		if (!ctl_authority_arg("--peer", argv[1]))
			return 2;
		ctl_bin(&q.peer, argv[1]);
	} else {
		int b = ctl_msg_id_arg(argc, argv, &q.message_id);
		if (b != 0)
			return b == -1 ? ctl_usage("retry") : 2;
	}
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_RETRY;
	req.retry = &q;
	return ctl_call(c, &req, q.message_id.len > 0 ? ctl_messages_print_one : print_retry);
}

static void
print_retry(const json_t *r)
{
	long long paused = (long long)json_integer_value(json_object_get(r, "paused"));
	long long refused = (long long)json_integer_value(json_object_get(r, "refused"));
	printf("retrying %lld messages now", (long long)json_integer_value(json_object_get(r,
	    "retried")));
	if (refused > 0)
		printf("; %lld changed state meanwhile", refused);
	if (paused > 0)
		printf("; %lld left waiting: their authorities are paused", paused);
	putchar('\n');
	size_t i;
	const json_t *id;
	json_array_foreach(json_object_get(r, "ids"), i, id)
		printf("%s\n", json_string_value(id));
}

int
ctl_messages_verify(struct ctl *c, int argc, char **argv)
{
	Rogatory__Ctl__V1__VerifyRequest q = ROGATORY__CTL__V1__VERIFY_REQUEST__INIT;
	char *id[1] = {NULL};
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			ctl_bin(&q.sender_id, argv[++i]);
		else if (n++ == 0)
			id[0] = argv[i];
	}
	int b = ctl_msg_id_arg(n, id, &q.message_id);
	if (b == 0 && q.sender_id.len > 0 &&
	    !ctl_authority_arg("--from", (const char *)q.sender_id.data))
		b = -2;
	if (b != 0)
		return b == -1 ? ctl_usage("verify") : 2;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_VERIFY;
	req.verify = &q;
	int rc = 1;
	Rogatory__Ctl__V1__Reply *r = ctl_roundtrip(c, &req, &rc);
	if (r == NULL)
		return rc;
	json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
	bool valid = json_is_true(json_object_get(j, "valid"));
	if (c->json) {
		ctl_json_print(j, false);
	} else {
		size_t i;
		json_t *ck;
		ctl_json_termsafe(j);
		json_array_foreach(json_object_get(j, "checks"), i, ck)
			printf("%-4s %-28s %s\n", json_is_true(json_object_get(ck, "ok")) ? "ok" : "FAIL",
			    ctl_jstr(ck, "check"), ctl_jstr(ck, "detail"));
		printf("%s: %s\n", ctl_jstr(j, "id"), valid ? "valid" : "INVALID");
	}
	json_decref(j);
	wire_ctl_reply_free(r);
	return valid ? 0 : 1;
}
