/*
 * case: the case commands of rogatoryctl. `requests` lists the register, `request ID`
 * shows one whole case, `update ID --status S ...` sends a status document (judged here
 * first with the daemon's own tables: its document, then its transition from the case's
 * state, so that a refusal without reasons or without a consultation never leaves), and
 * `export` of a request writes its case's status documents' bundles beside its own.
 * Everything printed from a peer or the store is made terminal-safe first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#include <jansson.h>

#include "case.h"
#include "casedoc.h"
#include "config.h"
#include "ctl.h"
#include "termsafe.h"
#include "text.h"

#define UPDATE_ARGS_MAX (16 + 2 * WIRE_FIELDS_MAX + 4 * 256)

static const char *
js(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "-";
}

/* "2025-03-01T14:03:07.123456Z" -> "2025-03-01 14:03" (16 characters). */
static const char *
when(const json_t *o, const char *key, char buf[20])
{
	const char *s = json_string_value(json_object_get(o, key));
	if (s == NULL || strlen(s) < 16)
		return "-";
	snprintf(buf, 20, "%.10s %.5s", s, s + 11);
	return buf;
}

/* ---- requests ---- */

/* A clock of case c ("acknowledge_by", "respond_by") as "2026-12-10 08:15 overdue": UTC,
 * to the minute, with its state unless it is simply running; "-" when there is none. */
static const char *
clock_text(const json_t *c, const char *which, char buf[48])
{
	const json_t *k = json_object_get(json_object_get(c, "clocks"), which);
	char w[20];
	if (!json_is_object(k))
		return "-";
	const char *st = js(k, "state");
	snprintf(buf, 48, "%s%s%s", when(k, "due", w), strcmp(st, "running") == 0 ? "" : " ",
	    strcmp(st, "running") == 0 ? "" : st);
	return buf;
}

static void
print_cases(const json_t *a)
{
	char o[20], u[20], ack[48], resp[48];
	printf("%-36s %-3s %-12s %-20s %-3s %-32s %-16s %-16s %-24s %-24s %s\n", "ID", "DIR",
	    "PEER", "KIND", "URG", "STATUS", "OPENED", "LAST CHANGE", "ACKNOWLEDGE-BY (UTC)",
	    "RESPOND-BY (UTC)", "REFERENCES (REQUESTING / REQUESTED)");
	size_t i;
	const json_t *c;
	json_array_foreach(a, i, c)
		printf("%-36s %-3s %-12s %-20s %-3s %-32s %-16s %-16s %-24s %-24s %s / %s\n",
		    js(c, "id"), strcmp(js(c, "direction"), "outgoing") == 0 ? "out" : "in",
		    js(c, "peer"), js(c, "kind"),
		    json_is_true(json_object_get(c, "urgent")) ? "yes" : "no", js(c, "status"),
		    when(c, "opened", o), when(c, "updated", u), clock_text(c, "acknowledge_by", ack),
		    clock_text(c, "respond_by", resp), js(c, "requester_reference"),
		    js(c, "requested_reference"));
	if (json_array_size(a) == 0)
		printf("(none)\n");
}

/* A request's JSON answer, printed whole (--json) or by printer (on a terminal-safe
 * copy; raw: the printer escapes what it prints). The exit code. */
static int
call_raw(struct ctl *c, Rogatory__Ctl__V1__Request *req, void (*printer)(json_t *), bool raw)
{
	int rc = 1;
	Rogatory__Ctl__V1__Reply *r = ctl_roundtrip(c, req, &rc);
	if (r == NULL)
		return rc;
	json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
	wire_ctl_reply_free(r);
	if (j == NULL) {
		fprintf(stderr, "rogatoryctl: the daemon's answer is not JSON\n");
		return 1;
	}
	if (c->json) {
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
	} else {
		if (!raw)
			ctl_json_termsafe(j);
		printer(j);
	}
	json_decref(j);
	return 0;
}

static void
print_cases_j(json_t *j)
{
	print_cases(j);
}

static int
call(struct ctl *c, Rogatory__Ctl__V1__Request *req)
{
	return call_raw(c, req, print_cases_j, false);
}

int
ctl_requests_run(struct ctl *c, int argc, char **argv)
{
	Rogatory__Ctl__V1__CasesRequest q = ROGATORY__CTL__V1__CASES_REQUEST__INIT;
	char *end = NULL;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		ProtobufCBinaryData *dst = strcmp(a, "--status") == 0 ? &q.state
		    : strcmp(a, "--peer") == 0 ? &q.peer : strcmp(a, "--kind") == 0 ? &q.kind : NULL;
		uint64_t ms = 0;
		char derr[200] = "";
		if (strcmp(a, "--incoming") == 0) {
			q.incoming = true;
		} else if (strcmp(a, "--overdue") == 0) {
			q.overdue = true;
		} else if (strcmp(a, "--due-within") == 0 && i + 1 < argc) {
			v = argv[++i];
			if (config_parse_duration(v, &ms, derr, sizeof(derr)) != 0 || ms == 0) {
				fprintf(stderr, "rogatoryctl: --due-within %s: %s\n", v, ms == 0 &&
				    derr[0] == '\0' ? "must be more than 0" : derr);
				return 2;
			}
			q.due_within_ms = ms;
		} else if (strcmp(a, "--outgoing") == 0) {
			q.outgoing = true;
		} else if (dst != NULL && v != NULL) {
			dst->data = (uint8_t *)v;
			dst->len = strlen(v);
			i++;
		} else if (strcmp(a, "-n") == 0 && v != NULL && strtoul(v, &end, 10) > 0 &&
		    *end == '\0') {
			q.limit = (uint32_t)strtoul(v, NULL, 10);
			i++;
		} else {
			fprintf(stderr, "usage: rogatoryctl requests [--incoming|--outgoing] [--status S] "
			    "[--peer ID] [--kind K] [--overdue] [--due-within DURATION] [-n N]\n");
			return 2;
		}
	}
	if (q.peer.len > 0 && !text_authority_id_valid(q.peer.data, q.peer.len)) {
		fprintf(stderr, "rogatoryctl: --peer: not an authority id\n");
		return 2;
	}
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CASES;
	req.cases = &q;
	return call(c, &req);
}

/* ---- request ---- */

/* Text of several lines as "label: line", the next lines under the first; each line made
 * terminal-safe here (the document's content is not escaped beforehand, so that its line
 * breaks stay line breaks). */
static void
print_lines(int depth, const char *label, const char *s)
{
	int pad = depth * 2 + (int)strlen(label) + 2;
	for (bool first = true;; first = false) {
		const char *nl = strchr(s, '\n');
		size_t n = nl != NULL ? (size_t)(nl - s) : strlen(s);
		char *line = termsafe_dup(s, n);
		if (first)
			printf("%*s%s: %s\n", depth * 2, "", label, line != NULL ? line : "?");
		else
			printf("%*s%s\n", pad, "", line != NULL ? line : "?");
		free(line);
		if (nl == NULL)
			break;
		s = nl + 1;
	}
}

/* A coded reason with what the code means. */
static void
print_reason(int depth, const json_t *r)
{
	const char *code = json_string_value(json_object_get(r, "code"));
	const struct case_reason *cr = code != NULL ? case_reason_find(code) : NULL;
	char label[256];
	snprintf(label, sizeof(label), "reason %s (%s: %s)", cr ? cr->code : "?",
	    cr ? cr->article : "?", cr ? cr->meaning : "unknown code");
	const char *text = json_string_value(json_object_get(r, "text"));
	if (text != NULL)
		print_lines(depth, label, text);
	else
		printf("%*s%s\n", depth * 2, "", label);
}

/* One element of a document: text with its lines, true, an object member by member, a
 * list item by item (1, 2, ...). Element names come from the element table (or are
 * [a-z0-9_-] field names): they need no escaping. */
static void
print_value(int depth, const char *label, const json_t *v)
{
	if (json_is_string(v)) {
		print_lines(depth, label, json_string_value(v));
		return;
	}
	if (!json_is_object(v) && !json_is_array(v)) {
		printf("%*s%s: %s\n", depth * 2, "", label, json_is_true(v) ? "yes" : "no");
		return;
	}
	printf("%*s%s:\n", depth * 2, "", label);
	const char *k;
	const json_t *m;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, m)
			print_value(depth + 1, k, m);
		return;
	}
	json_array_foreach(v, i, m) {
		char n[24];
		snprintf(n, sizeof(n), "%zu", i + 1);
		if (strcmp(label, "reasons") == 0)
			print_reason(depth + 1, m);
		else
			print_value(depth + 1, n, m);
	}
}

static void
print_attachments(const char *indent, const json_t *doc)
{
	size_t i;
	const json_t *a;
	json_array_foreach(json_object_get(doc, "attachments"), i, a)
		printf("%sattachment: %s (%s, %lld bytes, sha256 %s)\n", indent, js(a, "name"),
		    js(a, "media_type"), (long long)json_integer_value(json_object_get(a, "size")),
		    js(a, "sha256"));
}

/* "delivered, receipt" / "received, our receipt" */
static void
delivery_line(const json_t *doc, char *out, size_t len)
{
	const json_t *d = json_object_get(doc, "delivery");
	const char *err = json_string_value(json_object_get(d, "last_error"));
	const json_t *rt = json_object_get(d, "retrieved");
	char rs[160] = "";
	if (json_is_object(rt))
		snprintf(rs, sizeof(rs), ", retrieved %s%s", js(rt, "time"),
		    strcmp(js(doc, "direction"), "in") == 0 ? " (our evidence)" : "");
	snprintf(out, len, "%s%s%s%s%s%s", js(d, "state"), json_is_true(json_object_get(d,
	    "receipt")) ? strcmp(js(doc, "direction"), "in") == 0 ? ", our receipt sent"
	    : ", signed receipt" : ", no receipt yet", rs, err ? " (" : "", err ? err : "",
	    err ? ")" : "");
}

static void
print_case(const json_t *j)
{
	const json_t *cs = json_object_get(j, "case"), *rq = json_object_get(j, "request");
	char o[20], u[20], dl[600];
	bool out = strcmp(js(cs, "direction"), "outgoing") == 0;
	printf("request         %s\n", js(cs, "id"));
	printf("case            %s %s %s %s%s\n", js(cs, "kind"), out ? "request to" :
	    "request from", js(cs, "peer"), out ? "(we ask)" : "(we are asked)",
	    json_is_true(json_object_get(cs, "urgent")) ? ", urgent" : "");
	printf("status          %s%s\n", js(cs, "status"),
	    json_is_true(json_object_get(cs, "consulted")) ? " (after a consultation)" : "");
	/* What our side may send now (the daemon's transition table): the statuses
	 * `update` accepts in this case. */
	const json_t *next = json_object_get(j, "next_statuses"), *ns;
	size_t ni;
	printf("we may send     ");
	json_array_foreach(next, ni, ns)
		printf("%s%s", ni > 0 ? ", " : "", json_string_value(ns));
	printf("%s\n", json_array_size(next) == 0 ? "nothing (the case is closed to us)" : "");
	printf("references      %s (requesting), %s (requested)\n",
	    js(cs, "requester_reference"), js(cs, "requested_reference"));
	printf("opened          %s   last change %s\n", when(cs, "opened", o),
	    when(cs, "updated", u));
	const json_t *ck = json_object_get(cs, "clocks"), *rb = json_object_get(ck, "respond_by");
	char ack[48], resp[48], rcv[20];
	printf("received        %s (the requested authority's signed receipt time, UTC)\n",
	    when(ck, "received", rcv));
	printf("acknowledge by  %s\n", clock_text(cs, "acknowledge_by", ack));
	printf("respond by      %s%s%s%s\n", clock_text(cs, "respond_by", resp),
	    json_is_object(rb) ? " (" : "", json_is_object(rb) ? (strcmp(js(rb, "source"),
	    "requester") == 0 ? "the requester's date" : strcmp(js(rb, "source"), "postponed")
	    == 0 ? "the postponement's estimate" : "[cases] respond_within for its kind") : "",
	    json_is_object(rb) ? ")" : "");
	printf("subject         %s\n", js(rq, "subject"));
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)json_object_get(rq, "content"), k, v)
		print_value(1, k, v);
	print_attachments("  ", rq);
	delivery_line(rq, dl, sizeof(dl));
	printf("delivery        %s\n", dl);
	const json_t *docs = json_object_get(j, "documents");
	printf("documents       %zu\n", json_array_size(docs));
	size_t i;
	const json_t *d;
	json_array_foreach(docs, i, d) {
		delivery_line(d, dl, sizeof(dl));
		printf("%2zu %s  %-36s  %s (%s)  %s  #%lld  %s%s%s  [%s]\n", i + 1,
		    when(d, "created", o), js(d, "id"), js(d, "sender"), js(d, "side"),
		    js(d, "status"), (long long)json_integer_value(json_object_get(d, "sequence")),
		    js(d, "applied"), json_is_string(json_object_get(d, "note")) ? ": " : "",
		    json_is_string(json_object_get(d, "note")) ? js(d, "note") : "", dl);
		json_object_foreach((json_t *)json_object_get(d, "content"), k, v)
			print_value(3, k, v);
		print_attachments("      ", d);
	}
}

/* Human output of a case: everything escaped but the documents' content, which
 * print_value escapes line by line. */
static void
print_case_escaped(json_t *j)
{
	json_t *docs = json_object_get(j, "documents"), *d;
	size_t n = json_array_size(docs) + 1;
	json_t **holder = calloc(n, sizeof(json_t *)), **content = calloc(n, sizeof(json_t *));
	if (holder == NULL || content == NULL) {
		free(holder);
		free(content);
		return;
	}
	size_t i;
	holder[0] = json_object_get(j, "request");
	json_array_foreach(docs, i, d)
		holder[i + 1] = d;
	for (i = 0; i < n; i++) {
		content[i] = json_incref(json_object_get(holder[i], "content"));
		json_object_del(holder[i], "content");
	}
	ctl_json_termsafe(j);
	for (i = 0; i < n; i++)
		if (content[i] != NULL)
			json_object_set_new(holder[i], "content", content[i]);
	print_case(j);
	free(holder);
	free(content);
}

/* The whole case of id (from: the requester, or NULL). NULL: printed, *rc set. */
static json_t *
case_of(struct ctl *c, const char *id, const char *from, int *rc)
{
	Rogatory__Ctl__V1__CaseRequest q = ROGATORY__CTL__V1__CASE_REQUEST__INIT;
	q.request_id.data = (uint8_t *)id;
	q.request_id.len = strlen(id);
	q.requester_id.data = (uint8_t *)from;
	q.requester_id.len = from != NULL ? strlen(from) : 0;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CASE_GET;
	req.case_get = &q;
	Rogatory__Ctl__V1__Reply *r = ctl_roundtrip(c, &req, rc);
	if (r == NULL)
		return NULL;
	json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
	wire_ctl_reply_free(r);
	return j;
}

/* ID [--from AUTHORITY]: 0, or 2 (usage printed). */
static int
id_from(int argc, char **argv, const char **id, const char **from, const char *usage)
{
	*id = *from = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			*from = argv[++i];
		else if (*id == NULL && argv[i][0] != '-')
			*id = argv[i];
		else
			*id = NULL, i = argc;
	}
	if (*id != NULL && text_uuid_valid((const uint8_t *)*id, strlen(*id)) &&
	    (*from == NULL || text_authority_id_valid((const uint8_t *)*from, strlen(*from))))
		return 0;
	fprintf(stderr, "usage: rogatoryctl %s\n  (ID a lower-case UUID, AUTHORITY an authority "
	    "id)\n", usage);
	return 2;
}

int
ctl_request_run(struct ctl *c, int argc, char **argv)
{
	const char *id, *from;
	if (id_from(argc, argv, &id, &from, "request ID [--from AUTHORITY]") != 0)
		return 2;
	Rogatory__Ctl__V1__CaseRequest q = ROGATORY__CTL__V1__CASE_REQUEST__INIT;
	q.request_id.data = (uint8_t *)id;
	q.request_id.len = strlen(id);
	q.requester_id.data = (uint8_t *)from;
	q.requester_id.len = from != NULL ? strlen(from) : 0;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CASE_GET;
	req.case_get = &q;
	return call_raw(c, &req, print_case_escaped, true);
}

/* ---- update ---- */

/* The status document's elements from the options, as a JSON object; NULL: usage
 * printed. Attachments and --id go to pass (for send). */
static json_t *
update_options(int argc, char **argv, const char **status, char **pass, int *npass)
{
	json_t *o = json_object(), *reasons = json_array();
	*status = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[++i] : NULL;
		static const char *const plain[] = {"--note", "--reference", "--estimate"};
		size_t k = 0;
		while (k < 3 && (v == NULL || strcmp(a, plain[k]) != 0))
			k++;
		if (k < 3) {
			json_object_set_new(o, plain[k] + 2, json_string(v));
			continue;
		}
		if (strcmp(a, "--status") == 0 && v != NULL) {
			*status = v;
		} else if (strcmp(a, "--reason") == 0 && v != NULL) {
			json_t *r = json_object();
			const char *eq = strchr(v, '=');
			json_object_set_new(r, "code", eq ? json_stringn(v, (size_t)(eq - v))
			                                  : json_string(v));
			if (eq != NULL)
				json_object_set_new(r, "text", json_string(eq + 1));
			json_array_append_new(reasons, r);
		} else if ((strcmp(a, "--attach") == 0 || strcmp(a, "--media-type") == 0 ||
		               strcmp(a, "--id") == 0) && v != NULL && *npass < 4 * 256) {
			pass[(*npass)++] = (char *)a;
			pass[(*npass)++] = (char *)v;
		} else {
			json_decref(o);
			json_decref(reasons);
			return NULL;
		}
	}
	if (json_array_size(reasons) > 0)
		json_object_set_new(o, "reasons", reasons);
	else
		json_decref(reasons);
	return o;
}

/* The document and the transition, judged here with the daemon's tables. 0 or 1. */
static int
update_check(const json_t *cs, const json_t *elems, Rogatory__V1__Status st,
    struct casedoc_out *out)
{
	struct casedoc_problems pr;
	Rogatory__V1__Kind kind;
	if (casedoc_encode(elems, st, out, &pr) != 0) {
		ctl_problems_print("update", &pr);
		return 1;
	}
	struct casedoc_in in;
	wire_kind_parse(js(cs, "kind"), &kind);
	casedoc_in_out(&in, out, kind, st);
	in.subject = (const uint8_t *)"-";
	in.subject_len = 1;
	if (casedoc_check(&in, &pr) != 0) {
		ctl_problems_print("update", &pr);
		return 1;
	}
	enum case_state from, to;
	char why[512];
	enum case_side side = strcmp(js(cs, "side"), "requesting") == 0 ? CASE_REQUESTING
	                                                                : CASE_REQUESTED;
	if (case_state_parse(js(cs, "status"), &from) != 0 || !case_next(from,
	        json_is_true(json_object_get(cs, "consulted")), st, side, &to, why, sizeof(why))) {
		fprintf(stderr, "rogatoryctl: update: request %s is %s: %s\n", js(cs, "id"),
		    js(cs, "status"), why);
		return 1;
	}
	return 0;
}

int
ctl_update_run(struct ctl *c, int argc, char **argv)
{
	char *pass[4 * 256];
	int npass = 0, rc = 1;
	const char *sname = NULL;
	json_t *elems = argc > 0 ? update_options(argc, argv, &sname, pass, &npass) : NULL;
	Rogatory__V1__Status st;
	if (elems == NULL || sname == NULL || argv[0][0] == '-' ||
	    !text_uuid_valid((const uint8_t *)argv[0], strlen(argv[0]))) {
		fprintf(stderr, "usage: rogatoryctl update REQUEST-ID --status STATUS [--reason "
		    "CODE[=TEXT]]... [--note TEXT] [--estimate DATE] [--reference REF] [--attach FILE "
		    "[--media-type TYPE]]... [--id UUID]\n");
		json_decref(elems);
		return 2;
	}
	if (wire_status_parse(sname, &st) != 0) {
		fprintf(stderr, "rogatoryctl: update: unknown status %s (acknowledged, in-progress, "
		    "additional-information-requested, consultation, postponed, partially-executed, "
		    "executed, refused; additional-information, conditions-accepted, "
		    "conditions-declined, progress-inquiry, withdrawn)\n", sname);
		json_decref(elems);
		return 2;
	}
	json_t *j = case_of(c, argv[0], NULL, &rc);
	const json_t *cs = json_object_get(j, "case");
	struct casedoc_out out = {.n_fields = 0};
	if (cs == NULL || update_check(cs, elems, st, &out) != 0) {
		if (cs != NULL)
			fprintf(stderr, "rogatoryctl: nothing was sent\n");
		goto done;
	}
	char *args[UPDATE_ARGS_MAX], subject[400];
	bool own[UPDATE_ARGS_MAX] = {false};
	int n = 0;
	snprintf(subject, sizeof(subject), "%s: %s", sname, js(cs, "requester_reference"));
	const char *fixed[] = {"--to", js(cs, "peer"), "--kind", js(cs, "kind"), "--subject",
	    subject, "--reply-to", js(cs, "id"), "--status", sname};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		args[n++] = (char *)fixed[i];
	if (json_is_true(json_object_get(cs, "urgent")))
		args[n++] = "--urgent";
	for (size_t i = 0; i < out.n_fields; i++) {
		args[n++] = "--field";
		own[n] = asprintf(&args[n], "%s=%s", out.fields[i].name, out.fields[i].value) >= 0;
		n += own[n] ? 1 : -1;
	}
	for (int i = 0; i < npass; i++)
		args[n++] = pass[i];
	rc = ctl_send_one(c, n, args);
	for (int i = 0; i < n; i++)
		if (own[i])
			free(args[i]);
done:
	casedoc_out_free(&out);
	json_decref(elems);
	json_decref(j);
	return rc;
}

/* ---- export of a case ---- */

/* DIR/case.json (0600, new): the case as `request ID --json` gives it. */
static int
write_case_json(const char *dir, const json_t *j)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/case.json", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	int rc = fd >= 0 && text != NULL && ctl_write_all(fd, (const uint8_t *)text,
	    strlen(text)) == 0 && fsync(fd) == 0 ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "rogatoryctl: cannot write %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(text);
	return rc;
}

int
ctl_case_export_run(struct ctl *c, int argc, char **argv)
{
	int rc = ctl_export_run(c, argc, argv);
	const char *id = NULL, *dir = NULL, *from = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (argv[i][0] != '-')
			id = argv[i];
	}
	if (rc > 1 || id == NULL || dir == NULL)
		return rc;
	/* A request's case: the bundle of each of its status documents, then the case. */
	int crc;
	json_t *j = case_of(c, id, from, &crc);
	const json_t *docs = json_object_get(j, "documents");
	if (j == NULL || strcmp(js(json_object_get(j, "case"), "id"), id) != 0 ||
	    json_array_size(docs) == 0) {
		json_decref(j);
		return rc;
	}
	char sub[4096];
	snprintf(sub, sizeof(sub), "%s/case", dir);
	if (mkdir(sub, 0700) != 0) {
		fprintf(stderr, "rogatoryctl: cannot create %s: %s\n", sub, strerror(errno));
		json_decref(j);
		return 1;
	}
	size_t i;
	const json_t *d;
	bool quiet = c->quiet;
	c->quiet = true;
	json_array_foreach(docs, i, d) {
		snprintf(sub, sizeof(sub), "%s/case/%02zu-%s", dir, i + 1, js(d, "status"));
		char *args[] = {(char *)js(d, "id"), "--from", (char *)js(d, "sender"), "--out", sub};
		int r = ctl_export_run(c, 5, args);
		if (!quiet && !c->json)
			printf("%s: %s %s, exported to %s (%s)\n", js(d, "id"), js(d, "status"),
			    js(d, "sender"), sub, r == 0 ? "verify: valid" : "INVALID or failed");
		rc = rc != 0 ? rc : r;
	}
	c->quiet = quiet;
	if (write_case_json(dir, j) != 0 && rc == 0)
		rc = 1;
	json_decref(j);
	return rc;
}
