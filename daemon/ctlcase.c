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
#include "config.h"
#include "directory.h"
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

static json_t *
text_or_null(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

/* One case as the register shows it. */
static json_t *
case_json(const struct store_case *c)
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
			json_array_append_new(res->json, case_json(&v[i]));
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
	json_object_set_new(o, "case", case_json(&cs));
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
	if (n < 0)
		json_object_set_new(o, "error", json_string("cannot read the case's documents"));
	free(docs);
	res->json = o;
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
	json_t *o = json_object(), *kinds = json_array(), *langs = json_array();
	json_object_set_new(o, "id", json_string(a->id));
	json_object_set_new(o, "name", json_string(a->name ? a->name : ""));
	json_object_set_new(o, "country", json_string(a->country));
	for (unsigned k = 1; k < 32; k++)
		if ((a->kinds & (1u << k)) != 0 && directory_kind_name(1u << k) != NULL)
			json_array_append_new(kinds, json_string(directory_kind_name(1u << k)));
	for (size_t i = 0; i < a->n_languages; i++)
		json_array_append_new(langs, json_string(a->languages[i]));
	json_object_set_new(o, "kinds", kinds);
	json_object_set_new(o, "languages", langs);
	json_object_set_new(o, "self", json_boolean(strcmp(a->id, cfg->authority_id) == 0));
	res->json = o;
}
