/*
 * audit: `rogatoryctl audit verify | prove SEQ | prove --id ID [--from AUTHORITY]
 * [--size N] [--out FILE] | check FILE --ca CA.crt | status` (PROTOCOL.md section 15). verify, prove
 * and status ask the daemon; check reads a proof bundle and checks it offline against
 * the CA alone (daemon/auditcheck.c), with no daemon. Everything printed from a bundle
 * or the daemon goes through the terminal-safe escaping. Exit: 0 holds / done; 1 the
 * log or the proof does not hold, or the daemon refused; 2 usage; 3 no daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "auditcheck.h"
#include "ctl.h"
#include "termsafe.h"
#include "text.h"

/* verify reads the whole log: give it longer than an ordinary request. */
#define AUDIT_VERIFY_TIMEOUT_S 3600

static int audit_usage(void);
static json_t *audit_request(struct ctl *c, Rogatory__Ctl__V1__Request *req, int *rc);
static int audit_verify(struct ctl *c);
static int audit_prove(struct ctl *c, int argc, char **argv);
static int audit_check(struct ctl *c, int argc, char **argv);
static int audit_status(struct ctl *c);
static const char *audit_ms_str(int64_t ms, char *buf, size_t len);
static void audit_print_entry(const json_t *e);

static int
audit_usage(void)
{
	fprintf(stderr, "usage: rogatoryctl audit verify\n"
	                "       rogatoryctl audit prove SEQ | --id ID [--from AUTHORITY] "
	                "[--size N] [--out FILE]\n"
	                "       rogatoryctl audit check FILE --ca CA.crt\n"
	                "       rogatoryctl audit status\n");
	return 2;
}

/* One request; its JSON answer (NULL with *rc set and the daemon's words printed). */
static json_t *
audit_request(struct ctl *c, Rogatory__Ctl__V1__Request *req, int *rc)
{
	if (c->fd < 0 && ctl_open(c) != 0) {
		*rc = 3;
		return NULL;
	}
	Rogatory__Ctl__V1__Reply *r = ctl_roundtrip(c, req, rc);
	if (r == NULL)
		return NULL;
	json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
	wire_ctl_reply_free(r);
	if (j == NULL) {
		fprintf(stderr, "rogatoryctl: the daemon's answer is not JSON\n");
		*rc = 1;
	}
	return j;
}

static const char *
audit_ms_str(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (ms <= 0 || gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ",
	        &tm) == 0)
		snprintf(buf, len, "?");
	return buf;
}

static int
audit_verify(struct ctl *c)
{
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__AuditVerifyRequest q = ROGATORY__CTL__V1__AUDIT_VERIFY_REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_AUDIT_VERIFY;
	req.audit_verify = &q;
	int rc = 0;
	if (ctl_open(c) != 0)
		return 3;
	struct timeval tv = {.tv_sec = AUDIT_VERIFY_TIMEOUT_S};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	json_t *j = audit_request(c, &req, &rc);
	if (j == NULL)
		return rc;
	bool intact = json_is_true(json_object_get(j, "intact"));
	if (c->json) {
		json_dumpf(j, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
		putchar('\n');
	} else {
		ctl_json_termsafe(j);
		long long n = (long long)json_integer_value(json_object_get(j, "entries"));
		const json_t *cp = json_object_get(j, "checkpoint");
		if (intact && json_is_object(cp)) {
			const json_t *by = json_object_get(cp, "cosigned_by");
			printf("audit log intact: %lld entries, checkpoint of %lld cosigned by %zu "
			    "authorit%s", n, (long long)json_integer_value(json_object_get(cp,
			    "tree_size")), json_array_size(by), json_array_size(by) == 1 ? "y" : "ies");
			for (size_t i = 0; i < json_array_size(by); i++)
				printf("%s%s", i == 0 ? " (" : ", ",
				    json_string_value(json_array_get(by, i)));
			printf("%s\n", json_array_size(by) > 0 ? ")" : "");
		} else if (intact) {
			printf("audit log intact: %lld entries, no checkpoint signed yet\n", n);
		} else {
			const json_t *seq = json_object_get(j, "first_bad_seq");
			if (json_is_integer(seq))
				printf("audit log NOT intact: first bad entry seq %lld: %s\n",
				    (long long)json_integer_value(seq),
				    json_string_value(json_object_get(j, "problem")));
			else
				printf("audit log NOT intact: %s\n",
				    json_string_value(json_object_get(j, "problem")));
		}
	}
	json_decref(j);
	return intact ? 0 : 1;
}

static int
audit_prove(struct ctl *c, int argc, char **argv)
{
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__AuditProveRequest q = ROGATORY__CTL__V1__AUDIT_PROVE_REQUEST__INIT;
	const char *id = NULL, *from = NULL, *out = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--id") == 0 && i + 1 < argc)
			id = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc &&
		    strspn(argv[i + 1], "0123456789") == strlen(argv[i + 1]) &&
		    strlen(argv[i + 1]) < 19)
			q.tree_size = strtoull(argv[++i], NULL, 10);
		else if (q.seq == 0 && argv[i][0] >= '1' && argv[i][0] <= '9' &&
		    strspn(argv[i], "0123456789") == strlen(argv[i]) && strlen(argv[i]) < 19)
			q.seq = strtoull(argv[i], NULL, 10);
		else
			return audit_usage();
	}
	if ((q.seq == 0) == (id == NULL))
		return audit_usage();
	if (id != NULL) {
		if (!text_uuid_valid((const uint8_t *)id, strlen(id))) {
			fprintf(stderr, "rogatoryctl: --id %s: not a message id (lower-case UUID)\n", id);
			return 2;
		}
		q.message_id.data = (uint8_t *)id;
		q.message_id.len = strlen(id);
	}
	if (from != NULL) {
		q.sender_id.data = (uint8_t *)from;
		q.sender_id.len = strlen(from);
	}
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_AUDIT_PROVE;
	req.audit_prove = &q;
	int rc = 0;
	json_t *j = audit_request(c, &req, &rc);
	if (j == NULL)
		return rc;
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (text == NULL)
		return 1;
	rc = 0;
	if (out == NULL) {
		printf("%s\n", text);
	} else {
		/* Written with the operator's rights, new and private: evidence, not a cache. */
		int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		size_t n = strlen(text);
		text[n] = '\n';
		if (fd < 0 || ctl_write_all(fd, (const uint8_t *)text, n + 1) != 0 ||
		    fsync(fd) != 0) {
			fprintf(stderr, "rogatoryctl: cannot write %s: %s\n", out, strerror(errno));
			rc = 1;
		} else {
			printf("proof written to %s; check it with: rogatoryctl audit check %s --ca "
			    "CA.crt\n", out, out);
		}
		if (fd >= 0)
			close(fd);
	}
	free(text);
	return rc;
}

/* One proven entry as its bytes say it (decoded again here, never the bundle's "shows"). */
static void
audit_print_entry(const json_t *e)
{
	const json_t *s = json_object_get(e, "entry");
	size_t n = json_is_string(s) ? json_string_length(s) : 0;
	uint8_t *buf = malloc(n / 4 * 3 + 3);
	int got = buf != NULL && n > 0 ? EVP_DecodeBlock(buf, (const unsigned char *)
	    json_string_value(s), (int)n) : -1;
	Rogatory__V1__AuditEntry *a = NULL;
	char why[200];
	if (got > 0) {
		const char *t = json_string_value(s);
		got -= (t[n - 1] == '=') + (t[n - 2] == '=');
	}
	if (got <= 0 || wire_audit_entry_decode(buf, (size_t)got, &a, why, sizeof(why)) != 0) {
		free(buf);
		return;
	}
	char ts[32], ev[64], id[64], peer[64], reason[4 * 256 + 1], user[4 * 64 + 1];
	audit_ms_str(a->time_us / 1000, ts, sizeof(ts));
	termsafe(a->event.data, a->event.len, ev, sizeof(ev));
	termsafe(a->message_id.data, a->message_id.len, id, sizeof(id));
	termsafe(a->peer.data, a->peer.len, peer, sizeof(peer));
	termsafe(a->reason.data, a->reason.len, reason, sizeof(reason));
	printf("  seq %-8" PRIu64 " %s %-20s %s %s %s", a->seq, ts, ev, peer,
	    a->direction == ROGATORY__V1__DIRECTION__DIRECTION_IN ? "in " : "out", id);
	if (a->actor != NULL) {
		termsafe(a->actor->user.data, a->actor->user.len, user, sizeof(user));
		printf(" by uid %u%s%s%s", a->actor->uid, user[0] ? " (" : "", user,
		    user[0] ? ")" : "");
	}
	if (reason[0] != '\0')
		printf(" (%s)", reason);
	putchar('\n');
	wire_audit_free(a);
	free(buf);
}

static int
audit_check(struct ctl *c, int argc, char **argv)
{
	const char *file = NULL, *ca = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc)
			ca = argv[++i];
		else if (file == NULL)
			file = argv[i];
		else
			return audit_usage();
	}
	if (file == NULL || ca == NULL)
		return audit_usage();
	json_error_t je;
	json_t *b = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	if (b == NULL) {
		fprintf(stderr, "rogatoryctl: %s:%d: %s\n", file, je.line, je.text);
		return 1;
	}
	struct auditcheck r;
	int rc = auditcheck_bundle(b, ca, &r);
	char ts[32], safe[4 * sizeof(r.problem) + 1];
	if (c->json) {
		json_t *o = json_object(), *by = json_array();
		json_object_set_new(o, "valid", json_boolean(rc == 0));
		json_object_set_new(o, "problem", rc == 0 ? json_null() : json_string(r.problem));
		json_object_set_new(o, "origin", json_string(r.origin));
		json_object_set_new(o, "tree_size", json_integer((json_int_t)r.size));
		json_object_set_new(o, "signed_ms", json_integer(r.time_ms));
		json_object_set_new(o, "entries", json_integer((json_int_t)r.entries));
		for (size_t i = 0; i < r.cosigners; i++)
			json_array_append_new(by, json_string(r.cosigner[i]));
		json_object_set_new(o, "cosigned_by", by);
		json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
		putchar('\n');
		json_decref(o);
	} else if (rc != 0) {
		printf("proof does NOT hold: %s\n", termsafe(r.problem, strlen(r.problem), safe,
		    sizeof(safe)));
	} else {
		printf("proof holds: %zu entr%s of %s's audit log under its checkpoint of %" PRIu64
		    " entries signed %s", r.entries, r.entries == 1 ? "y" : "ies", r.origin, r.size,
		    audit_ms_str(r.time_ms, ts, sizeof(ts)));
		printf(", cosigned by %zu authorit%s", r.cosigners, r.cosigners == 1 ? "y" : "ies");
		for (size_t i = 0; i < r.cosigners; i++)
			printf("%s%s at %s", i == 0 ? ": " : ", ", r.cosigner[i],
			    audit_ms_str(r.cosigned_ms[i], ts, sizeof(ts)));
		putchar('\n');
		size_t i;
		const json_t *e;
		json_array_foreach(json_object_get(b, "entries"), i, e)
			audit_print_entry(e);
	}
	json_decref(b);
	return rc == 0 ? 0 : 1;
}

static int
audit_status(struct ctl *c)
{
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__AuditStatusRequest q = ROGATORY__CTL__V1__AUDIT_STATUS_REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_AUDIT_STATUS;
	req.audit_status = &q;
	int rc = 0;
	json_t *j = audit_request(c, &req, &rc);
	if (j == NULL)
		return rc;
	if (c->json) {
		json_dumpf(j, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
		putchar('\n');
		json_decref(j);
		return 0;
	}
	ctl_json_termsafe(j);
	const json_t *cp = json_object_get(j, "checkpoint");
	printf("audit log of %s: %lld entries\n", json_string_value(json_object_get(j, "origin")),
	    (long long)json_integer_value(json_object_get(j, "entries")));
	if (json_is_object(cp))
		printf("newest checkpoint: %lld entries, signed %s\n",
		    (long long)json_integer_value(json_object_get(cp, "tree_size")),
		    json_string_value(json_object_get(cp, "time")));
	else
		printf("newest checkpoint: none yet\n");
	size_t i;
	const json_t *e;
	json_array_foreach(json_object_get(j, "witnesses"), i, e) {
		long long n = (long long)json_integer_value(json_object_get(e, "cosignatures"));
		printf("witness %-16s cosigned up to %lld entries (%lld cosignature%s)\n",
		    json_string_value(json_object_get(e, "witness")),
		    (long long)json_integer_value(json_object_get(e, "tree_size")), n,
		    n == 1 ? "" : "s");
	}
	json_array_foreach(json_object_get(j, "witnessed"), i, e)
		printf("we witness %-12s up to %lld entries (signed %s)%s\n",
		    json_string_value(json_object_get(e, "origin")),
		    (long long)json_integer_value(json_object_get(e, "tree_size")),
		    json_string_value(json_object_get(e, "time")),
		    json_is_true(json_object_get(e, "forked")) ? "  FORK seen (audit-fork)" : "");
	json_decref(j);
	return 0;
}

int
ctl_audit_run(struct ctl *c, int argc, char **argv)
{
	if (argc < 1)
		return audit_usage();
	if (strcmp(argv[0], "verify") == 0 && argc == 1)
		return audit_verify(c);
	if (strcmp(argv[0], "prove") == 0)
		return audit_prove(c, argc - 1, argv + 1);
	if (strcmp(argv[0], "check") == 0)
		return audit_check(c, argc - 1, argv + 1);
	if (strcmp(argv[0], "status") == 0 && argc == 1)
		return audit_status(c);
	return audit_usage();
}
