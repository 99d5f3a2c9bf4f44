/*
 * ctlcase: answers the case requests (contract in ctlcase.h) from the store's case rows
 * and the stored documents. No state between requests, nothing written. Every text from a
 * peer goes out as JSON (the control reply is ASCII-escaped; rogatoryctl escapes what it
 * prints).
 */
#include "ctlcase.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "casedoc.h"
#include "clocks.h"
#include "config.h"
#include "directory.h"
#include "peer.h"
#include "tls.h"
#include "rogatoryd.h"
#include "store.h"

#define CASES_DEFAULT 100
#define CASES_MAX 1000
#define CASE_DOCS_MAX 512

static void
bytes_str(char *dst, size_t len, const ProtobufCBinaryData *b)
{
	snprintf(dst, len, "%.*s", (int)b->len, (const char *)b->data);
}

static void
refuse(struct control_result *res, Rogatory__Ctl__V1__ReplyCode code, const char *ecode,
    const char *fmt, const char *a, const char *b)
{
	res->code = code;
	res->error_code = ecode;
	snprintf(res->error_text, sizeof(res->error_text), fmt, a, b);
}

/* null for NULL or "". */
static json_t *
text_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* One clock: {"due": time, "state": running|due-soon|overdue|met, ...}; null when none. */
static json_t *
clock_json(int64_t due, bool met, int64_t now, uint64_t warn_ms, const char *source)
{
	if (due <= 0)
		return json_null();
	json_t *o = json_object();
	char at[32];
	clocks_format(due, at, sizeof(at));
	json_object_set_new(o, "due", json_string(at));
	json_object_set_new(o, "state", json_string(clocks_state_name(clocks_state_at(due, met,
	    now, warn_ms))));
	if (source != NULL)
		json_object_set_new(o, "source", json_string(source));
	return o;
}

/* The case's clocks judged at now (clocks.h), with where respond-by comes from. */
static json_t *
clocks_json(const struct store_case *c, int64_t now, uint64_t warn_ms)
{
	enum case_state st = CASE_S_REQUESTED;
	case_state_parse(c->state, &st);
	json_t *o = json_object();
	json_object_set_new(o, "received", c->received_us > 0 ? control_time_us(c->received_us)
	    : json_null());
	json_object_set_new(o, "acknowledge_by", clock_json(c->ack_by_us,
	    st != CASE_S_REQUESTED, now, warn_ms, NULL));
	json_object_set_new(o, "respond_by", clock_json(c->respond_by_us, case_state_final(st),
	    now, warn_ms, c->respond_by_us != c->respond_base_us ? "postponed"
	    : c->respond_by[0] != '\0' ? "requester" : "kind"));
	return o;
}

/* One case as the register shows it. */
static json_t *
case_json(const struct store_case *c, int64_t now, uint64_t warn_ms)
{
	json_t *o = json_object();
	bool out = c->dir == STORE_OUT;
	json_object_set_new(o, "id", json_string(c->request_id));
	json_object_set_new(o, "direction", json_string(out ? "outgoing" : "incoming"));
	json_object_set_new(o, "side", json_string(case_side_name(out ? CASE_REQUESTING
	                                                                  : CASE_REQUESTED)));
	json_object_set_new(o, "peer", json_string(out ? c->requested : c->requester));
	json_object_set_new(o, "requester", json_string(c->requester));
	json_object_set_new(o, "requested", json_string(c->requested));
	json_object_set_new(o, "kind", json_string(wire_kind_name((Rogatory__V1__Kind)c->kind)));
	json_object_set_new(o, "urgent", json_boolean(c->urgent));
	json_object_set_new(o, "status", json_string(c->state));
	json_object_set_new(o, "consulted", json_boolean(c->consulted));
	json_object_set_new(o, "requester_reference", text_or_null(c->requester_ref));
	json_object_set_new(o, "requested_reference", text_or_null(c->requested_ref));
	json_object_set_new(o, "respond_by", text_or_null(c->respond_by));
	json_object_set_new(o, "opened", control_time_us(c->opened_us));
	json_object_set_new(o, "updated", control_time_us(c->updated_us));
	json_object_set_new(o, "clocks", clocks_json(c, now, warn_ms));
	return o;
}

void
ctlcase_list(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	const Rogatory__Ctl__V1__CasesRequest *q = req->cases;
	struct store_case_filter f = {.dir = STORE_DIR_ANY};
	char kind[32];
	enum case_state st;
	if (q->incoming != q->outgoing)
		f.dir = q->incoming ? STORE_IN : STORE_OUT;
	bytes_str(f.state, sizeof(f.state), &q->state);
	bytes_str(f.peer, sizeof(f.peer), &q->peer);
	bytes_str(kind, sizeof(kind), &q->kind);
	if (f.state[0] != '\0' && case_state_parse(f.state, &st) != 0) {
		refuse(res, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST, "bad-request",
		    "unknown status %s (a case is requested, acknowledged, ... executed, refused, "
		    "withdrawn or void%s)", f.state, "");
		return;
	}
	Rogatory__V1__Kind k = ROGATORY__V1__KIND__KIND_UNSPECIFIED;
	if (kind[0] != '\0' && wire_kind_parse(kind, &k) != 0) {
		refuse(res, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_BAD_REQUEST, "bad-request",
		    "unknown kind %s%s", kind, "");
		return;
	}
	f.kind = (int)k;
	f.overdue = q->overdue;
	f.now_us = clocks_now_us();
	if (q->due_within_ms > 0)
		f.due_within_us = q->due_within_ms > (uint64_t)INT64_MAX / 1000 ? INT64_MAX / 2
		    : (int64_t)q->due_within_ms * 1000;
	int max = q->limit == 0 ? CASES_DEFAULT : q->limit > CASES_MAX ? CASES_MAX : (int)q->limit;
	struct store_case *v = calloc((size_t)max, sizeof(*v));
	if (v == NULL)
		fatal("out of memory");
	int n = store_case_list(control_daemon(c)->store, &f, 0, v, max);
	if (n < 0) {
		refuse(res, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL, "store-error",
		    "cannot read the cases%s%s", "", "");
	} else {
		res->json = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(res->json, case_json(&v[i], f.now_us,
			    control_daemon(c)->cfg->case_warn_before_ms));
	}
	free(v);
}

/* The delivery of a stored message: its state, attempts, last error, receipt. */
static json_t *
delivery_json(const struct store_msg *m)
{
	json_t *all = control_msg_json(m), *o = json_object();
	static const char *const keys[] = {"state", "attempts", "updated", "last_error",
	    "receipt", "fetched"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(all, keys[i]);
		if (v != NULL)
			json_object_set(o, keys[i], v);
	}
	json_decref(all);
	return o;
}

/* One stored document of the case: its signed content with the elements as JSON again
 * ("content"), its attachments and its delivery. */
static json_t *
document_json(struct rogatoryd *d, enum store_dir dir, const char *sender, const char *msg_id)
{
	struct store_msg m = {0};
	json_t *o = NULL;
	if (store_get(d->store, dir, sender, msg_id, &m) == 0)
		o = control_doc_json(&m);
	if (o == NULL) {
		o = json_object();
		json_object_set_new(o, "id", json_string(msg_id));
		json_object_set_new(o, "sender", json_string(sender));
		json_object_set_new(o, "missing", json_true());
		store_msg_clear(&m);
		return o;
	}
	json_t *fields = json_object_get(o, "fields");
	struct casedoc_field f[WIRE_FIELDS_MAX];
	size_t n = 0;
	json_t *e;
	size_t i;
	json_array_foreach(fields, i, e) {
		json_t *name = json_object_get(e, "name"), *value = json_object_get(e, "value");
		if (n < WIRE_FIELDS_MAX && json_is_string(name) && json_is_string(value))
			f[n++] = (struct casedoc_field){(const uint8_t *)json_string_value(name),
			    json_string_length(name), (const uint8_t *)json_string_value(value),
			    json_string_length(value)};
	}
	json_object_set_new(o, "content", casedoc_fields_json(f, n));
	json_object_del(o, "fields");
	json_object_set_new(o, "direction", json_string(dir == STORE_OUT ? "out" : "in"));
	json_t *dl = delivery_json(&m), *rt = control_retrieval_json(d, &m);
	json_object_set_new(dl, "retrieved", rt != NULL ? rt : json_null());
	json_object_set_new(o, "delivery", dl);
	store_msg_clear(&m);
	return o;
}

/* The statuses our side may send in the case now, in the status table's order (the
 * transition table decides, as it does when the document is sent). */
static json_t *
next_statuses(const struct store_case *cs)
{
	json_t *a = json_array();
	enum case_state from;
	if (case_state_parse(cs->state, &from) != 0)
		return a;
	enum case_side side = cs->dir == STORE_OUT ? CASE_REQUESTING : CASE_REQUESTED;
	size_t n;
	const struct case_status *rows = case_statuses(&n);
	for (size_t i = 0; i < n; i++) {
		enum case_state to;
		char why[200];
		if (rows[i].side == side &&
		    case_next(from, cs->consulted, rows[i].status, side, &to, why, sizeof(why)))
			json_array_append_new(a, json_string(wire_status_name(rows[i].status)));
	}
	return a;
}

void
ctlcase_get(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	struct rogatoryd *d = control_daemon(c);
	char id[UUID_TEXT_LEN + 1], requester[AUTHORITY_ID_MAX + 1];
	bytes_str(id, sizeof(id), &req->case_get->request_id);
	bytes_str(requester, sizeof(requester), &req->case_get->requester_id);
	struct store_case cs;
	int r = store_case_get(d->store, id, requester[0] ? requester : NULL, &cs);
	if (r != 0) {
		refuse(res, r < 0 ? ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL
		    : ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND, r < 0 ? "store-error"
		    : "not-found", r < 0 ? "cannot read the case of %s%s" : "no case of request %s%s "
		    "(rogatoryctl requests lists them)", id, "");
		return;
	}
	struct store_case_doc *docs = calloc(CASE_DOCS_MAX, sizeof(*docs));
	if (docs == NULL)
		fatal("out of memory");
	int n = store_case_docs(d->store, &cs, docs, CASE_DOCS_MAX);
	json_t *o = json_object(), *a = json_array();
	json_object_set_new(o, "case", case_json(&cs, clocks_now_us(), d->cfg->case_warn_before_ms));
	json_object_set_new(o, "request", document_json(d, cs.dir, cs.requester, cs.request_id));
	for (int i = 0; i < n; i++) {
		json_t *doc = document_json(d, docs[i].dir, docs[i].sender, docs[i].msg_id);
		json_object_set_new(doc, "status", json_string(wire_status_name(
		    (Rogatory__V1__Status)docs[i].status)));
		json_object_set_new(doc, "side", json_string(docs[i].side));
		json_object_set_new(doc, "sequence", json_integer((json_int_t)docs[i].sequence));
		json_object_set_new(doc, "applied", json_string(docs[i].applied));
		json_object_set_new(doc, "note", text_or_null(docs[i].note));
		json_array_append_new(a, doc);
	}
	json_object_set_new(o, "documents", a);
	json_object_set_new(o, "next_statuses", next_statuses(&cs));
	if (n < 0)
		json_object_set_new(o, "error", json_string("cannot read the case's documents"));
	free(docs);
	res->json = o;
}

/* requirements as JSON: null for what the directory does not say. */
static json_t *
requirements_json(const struct dir_requirements *r)
{
	json_t *o = json_object(), *langs = json_array();
	for (size_t i = 0; i < r->n_languages; i++)
		json_array_append_new(langs, json_string(r->languages[i]));
	json_object_set_new(o, "legal_bases", text_or_null(r->legal_bases));
	json_object_set_new(o, "languages", langs);
	json_object_set_new(o, "certified_copies", r->certified_copies < 0 ? json_null() :
	    json_boolean(r->certified_copies));
	json_object_set_new(o, "translation", r->translation < 0 ? json_null() :
	    json_boolean(r->translation));
	json_object_set_new(o, "urgent_contact", text_or_null(r->urgent_contact));
	json_object_set_new(o, "url", text_or_null(r->url));
	return o;
}

/* One directory entry: {"id", "name", "country", "address", "kinds", "languages",
 * "requirements": {KIND: {...}}, "self"}. */
static json_t *
authority_json(const struct config *cfg, const struct authority *a)
{
	json_t *o = json_object(), *kinds = json_array(), *langs = json_array();
	json_t *reqs = json_object();
	json_object_set_new(o, "id", json_string(a->id));
	json_object_set_new(o, "name", json_string(a->name ? a->name : ""));
	json_object_set_new(o, "country", json_string(a->country));
	json_object_set_new(o, "address", json_string(a->address ? a->address : ""));
	for (unsigned k = 1; k < 32; k++)
		if ((a->kinds & (1u << k)) != 0 && directory_kind_name(1u << k) != NULL)
			json_array_append_new(kinds, json_string(directory_kind_name(1u << k)));
	for (size_t i = 0; i < a->n_languages; i++)
		json_array_append_new(langs, json_string(a->languages[i]));
	for (unsigned k = 1; k < DIRECTORY_KINDS; k++)
		if (a->requirements[k] != NULL && directory_kind_name(1u << k) != NULL)
			json_object_set_new(reqs, directory_kind_name(1u << k),
			    requirements_json(a->requirements[k]));
	json_object_set_new(o, "kinds", kinds);
	json_object_set_new(o, "languages", langs);
	json_object_set_new(o, "requirements", reqs);
	json_object_set_new(o, "self", json_boolean(strcmp(a->id, cfg->authority_id) == 0));
	return o;
}

void
ctlcase_authority(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	const struct config *cfg = control_daemon(c)->cfg;
	char id[AUTHORITY_ID_MAX + 1];
	bytes_str(id, sizeof(id), &req->authority->authority_id);
	const struct authority *a = directory_find(cfg->directory, id);
	if (a == NULL) {
		refuse(res, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND, "unknown-authority",
		    "unknown authority %s (not in the directory %s)", id, cfg->directory->path);
		return;
	}
	res->json = authority_json(cfg, a);
}

/* The link columns of one entry: "link" (up, connecting, backoff, idle; "self" for us),
 * "links_up", "certificate_not_after" (of the certificate it last showed; null before).
 * peers: every authority's snapshot sorted by id (by_id), so each lookup is a search. */
static int
by_id(const void *a, const void *b)
{
	return strcmp(((const struct peer_info *)a)->id, ((const struct peer_info *)b)->id);
}

static void
link_json(struct rogatoryd *d, const struct authority *a, const struct peer_info *peers,
    size_t n, json_t *o)
{
	if (strcmp(a->id, d->cfg->authority_id) == 0) {
		json_object_set_new(o, "link", json_string("self"));
		json_object_set_new(o, "links_up", json_integer(0));
		json_object_set_new(o, "certificate_not_after",
		    control_time_us((int64_t)tls_own_not_after(d->tls) * 1000000));
		return;
	}
	struct peer_info key = {.id = a->id};
	const struct peer_info *pi = n > 0 ? bsearch(&key, peers, n, sizeof(*peers), by_id) : NULL;
	if (pi != NULL) {
		json_object_set_new(o, "link", json_string(peer_state_name(pi->state)));
		json_object_set_new(o, "links_up", json_integer(pi->links_up));
		json_object_set_new(o, "certificate_not_after",
		    control_time_us((int64_t)pi->cert_not_after * 1000000));
		return;
	}
	json_object_set_new(o, "link", json_string("idle"));
	json_object_set_new(o, "links_up", json_integer(0));
	json_object_set_new(o, "certificate_not_after", json_null());
}

void
ctlcase_directory(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	struct rogatoryd *d = control_daemon(c);
	const struct config *cfg = d->cfg;
	char id[AUTHORITY_ID_MAX + 1];
	bytes_str(id, sizeof(id), &req->directory->authority_id);
	json_t *o = json_object(), *all = json_array();
	size_t np;
	struct peer_info *peers = peers_info_all(d->peers, &np);
	qsort(peers, np, sizeof(*peers), by_id);
	json_object_set_new(o, "path", json_string(cfg->directory->path));
	for (size_t i = 0; i < cfg->directory->n; i++) {
		const struct authority *a = &cfg->directory->authorities[i];
		if (id[0] != '\0' && strcmp(a->id, id) != 0)
			continue;
		json_t *e = authority_json(cfg, a);
		if (id[0] == '\0') {
			/* The listing names the kinds only: every authority's requirements whole
			 * could pass the 1 MiB reply frame of a large network. */
			json_t *kinds = json_array();
			const char *k;
			json_t *v;
			json_object_foreach(json_object_get(e, "requirements"), k, v)
				json_array_append_new(kinds, json_string(k));
			json_object_del(e, "requirements");
			json_object_set_new(e, "requirements_for", kinds);
		}
		link_json(d, a, peers, np, e);
		json_array_append_new(all, e);
	}
	free(peers);
	if (id[0] != '\0' && json_array_size(all) == 0) {
		json_decref(all);
		json_decref(o);
		refuse(res, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND, "unknown-authority",
		    "unknown authority %s (not in the directory %s)", id, cfg->directory->path);
		return;
	}
	json_object_set_new(o, "authorities", all);
	res->json = o;
}
