/*
 * compose: what a case officer writes. The kinds and their templates (casedoc, the
 * tables rogatoryctl draft prints), the document check exactly as ctl/draft.c runs it
 * (casedoc_encode, then casedoc_check with the recipient's languages for that kind, from
 * the daemon's directory), sending, status updates judged with the case tables as
 * ctl/case.c does. A send with attachments goes on to upload.c.
 */
#include "console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "casedoc.h"
#include "text.h"

#define COMPOSE_LANGS 64

static const struct {
	const char *kind, *label;
} kind_labels[] = {
	{"mla", "Mutual legal assistance"},
	{"extradition", "Extradition"},
	{"provisional-arrest", "Provisional arrest"},
	{"asset-recovery", "Asset recovery"},
	{"service-of-documents", "Service of documents"},
	{"other", "Other"},
};

void
compose_kinds(struct hreq *h, const struct evkeyvalq *q)
{
	(void)q;
	json_t *a = json_array();
	for (int k = 1; k < 64; k++) {
		const char *name = wire_kind_name((Rogatory__V1__Kind)k);
		if (strcmp(name, "unknown") == 0)
			break;
		const char *label = name;
		for (size_t i = 0; i < sizeof(kind_labels) / sizeof(kind_labels[0]); i++)
			if (strcmp(kind_labels[i].kind, name) == 0)
				label = kind_labels[i].label;
		json_array_append_new(a, json_pack("{s:s, s:s}", "kind", name, "label", label));
	}
	web_reply_json(h, 200, a);
}

static json_t *
problems_json(const struct casedoc_problems *pr)
{
	json_t *a = json_array();
	for (size_t i = 0; i < pr->n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "path", pr->p[i].path, "reason",
		    pr->p[i].reason));
	if (pr->more > 0) {
		char more[64];
		snprintf(more, sizeof(more), "and %zu more problems", pr->more);
		json_array_append_new(a, json_pack("{s:s, s:s}", "path", "", "reason", more));
	}
	return a;
}

static void
bin(ProtobufCBinaryData *b, const char *s)
{
	b->data = (uint8_t *)s;
	b->len = s != NULL ? strlen(s) : 0;
}

static void
ask_authority(struct hreq *h, const char *to, cclient_reply_fn fn)
{
	Rogatory__Ctl__V1__AuthorityRequest a = ROGATORY__CTL__V1__AUTHORITY_REQUEST__INIT;
	bin(&a.authority_id, to);
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_AUTHORITY;
	req.authority = &a;
	web_ask(h, &req, false, fn);
}

/* ---- template ---- */

struct tmpl {
	Rogatory__V1__Kind kind;
	char kname[32];
};

static void
template_answer(struct hreq *h, json_t *who)
{
	struct tmpl *t = h->ctx;
	const char *langs[COMPOSE_LANGS] = {NULL};
	size_t nlangs = 0;
	if (who != NULL) {
		nlangs = casedoc_recipient_languages(who, t->kname, langs, COMPOSE_LANGS);
		json_object_del(who, "self");
	}
	json_t *doc = casedoc_template(t->kind, langs, nlangs);
	json_t *out = json_object();
	json_object_del(doc, "_hints");
	json_object_set_new(out, "document", doc);
	json_object_set_new(out, "elements", casedoc_elements(t->kind));
	json_object_set_new(out, "recipient", who != NULL ? who : json_null());
	web_reply_json(h, 200, out);
}

static void
template_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	h->waiting--;
	if (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		web_reply_refusal(h, r, err);
		return;
	}
	json_t *who = web_reply_parse(r);
	if (!json_is_object(who)) {
		json_decref(who);
		web_error(h, 502, "bad-answer", "the daemon's authority answer is not an object");
		return;
	}
	template_answer(h, who);
}

void
compose_template(struct hreq *h, const struct evkeyvalq *q)
{
	const char *k = web_param(q, "kind"), *to = web_param(q, "to");
	Rogatory__V1__Kind kind;
	if (k == NULL || strlen(k) > 31 || wire_kind_parse(k, &kind) != 0) {
		web_error(h, 400, "bad-request", "kind: mla, extradition, provisional-arrest, "
		    "asset-recovery, service-of-documents or other");
		return;
	}
	if (to != NULL && to[0] != '\0' && !text_authority_id_valid((const uint8_t *)to,
	        strlen(to))) {
		web_error(h, 400, "bad-request", "to: an authority id");
		return;
	}
	struct tmpl *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		web_error(h, 503, "busy", "out of memory");
		return;
	}
	t->kind = kind;
	snprintf(t->kname, sizeof(t->kname), "%s", k);
	char tobuf[AUTHORITY_ID_MAX + 1] = "";
	if (to != NULL)
		snprintf(tobuf, sizeof(tobuf), "%s", to);
	if (h->ctx_free != NULL)
		h->ctx_free(h->ctx);
	h->ctx = t;
	h->ctx_free = free;
	if (tobuf[0] == '\0')
		template_answer(h, NULL);
	else
		ask_authority(h, tobuf, template_reply);
}

/* ---- validate and send ---- */

struct attach {
	char *name;
	char *media_type;
	uint64_t size;
};

struct compose {
	bool send;                  /* send after the check; else only answer it */
	char to[AUTHORITY_ID_MAX + 1];
	struct casedoc_out out;
	bool have_out;
	struct attach att[WIRE_ATTACHMENTS_MAX];
	size_t natt;
	/* status updates */
	Rogatory__V1__Status status;
	char sname[48];
	json_t *elems;
};

static void
compose_free(void *p)
{
	struct compose *c = p;
	if (c->have_out)
		casedoc_out_free(&c->out);
	for (size_t i = 0; i < c->natt; i++) {
		free(c->att[i].name);
		free(c->att[i].media_type);
	}
	json_decref(c->elems);
	free(c);
}

static struct compose *
compose_ctx(struct hreq *h)
{
	struct compose *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		web_error(h, 503, "busy", "out of memory");
		return NULL;
	}
	if (h->ctx_free != NULL)
		h->ctx_free(h->ctx);
	h->ctx = c;
	h->ctx_free = compose_free;
	return c;
}

/* The attachments announced in the body: [{name, media_type, size}]. 0 / -1 (answered). */
static int
attachments_of(struct hreq *h, struct compose *c)
{
	json_t *a = json_object_get(h->body, "attachments");
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > WIRE_ATTACHMENTS_MAX) {
		web_error(h, 400, "bad-request", "attachments: a list of at most %d "
		    "{name, media_type, size}", WIRE_ATTACHMENTS_MAX);
		return -1;
	}
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *mt = json_string_value(json_object_get(e, "media_type"));
		json_t *sz = json_object_get(e, "size");
		size_t nl = name != NULL ? strlen(name) : 0, ml = mt != NULL ? strlen(mt) : 0;
		if (nl == 0 || nl > 255 || strchr(name, '/') != NULL || strchr(name, '\\') != NULL ||
		    !text_utf8_valid((const uint8_t *)name, nl) ||
		    (mt != NULL && (ml > 127 || strchr(mt, '/') == NULL)) ||
		    !json_is_integer(sz) || json_integer_value(sz) < 0 ||
		    json_integer_value(sz) > (json_int_t)1 << 40) {
			web_error(h, 400, "bad-request", "attachments[%zu]: {name (no '/'), media_type "
			    "(type/subtype), size (bytes)}", i);
			return -1;
		}
		for (size_t k = 0; mt != NULL && k < ml; k++)
			if (mt[k] <= ' ' || mt[k] >= 127) {
				web_error(h, 400, "bad-request", "attachments[%zu].media_type", i);
				return -1;
			}
		c->att[c->natt].name = strdup(name);
		c->att[c->natt].media_type = strdup(mt != NULL && ml > 0 ? mt
		                                                         : "application/octet-stream");
		c->att[c->natt].size = (uint64_t)json_integer_value(sz);
		c->natt++;
	}
	return 0;
}

static void
sent_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	h->waiting--;
	if (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		web_reply_refusal(h, r, err);
		return;
	}
	json_t *m = web_reply_parse(r);
	web_reply_json(h, 200, json_pack("{s:o}", "message", m != NULL ? m : json_null()));
}

/* The SendRequest of c's document (out) to c->to; with attachments, the upload. */
static void
compose_submit(struct hreq *h, struct compose *c, const char *in_reply_to,
    const char *status, const char *subject, bool urgent)
{
	Rogatory__Ctl__V1__SendRequest s = ROGATORY__CTL__V1__SEND_REQUEST__INIT;
	Rogatory__Ctl__V1__Field fv[WIRE_FIELDS_MAX], *fp[WIRE_FIELDS_MAX];
	Rogatory__Ctl__V1__AttachmentSpec av[WIRE_ATTACHMENTS_MAX];
	Rogatory__Ctl__V1__AttachmentSpec *ap[WIRE_ATTACHMENTS_MAX];
	char id[UUID_TEXT_LEN + 1];
	if (text_uuid_random(id) != 0) {
		web_error(h, 503, "busy", "no randomness for a message id");
		return;
	}
	bin(&s.message_id, id);
	bin(&s.recipient_id, c->to);
	bin(&s.kind, c->out.kind);
	bin(&s.subject, subject != NULL ? subject : c->out.subject);
	s.urgent = urgent;
	bin(&s.respond_by, c->out.respond_by);
	bin(&s.in_reply_to, in_reply_to);
	bin(&s.status, status);
	for (size_t i = 0; i < c->out.n_fields && i < WIRE_FIELDS_MAX; i++) {
		rogatory__ctl__v1__field__init(&fv[i]);
		bin(&fv[i].name, c->out.fields[i].name);
		bin(&fv[i].value, c->out.fields[i].value);
		fp[i] = &fv[i];
	}
	s.n_fields = c->out.n_fields;
	s.fields = fp;
	for (size_t i = 0; i < c->natt; i++) {
		rogatory__ctl__v1__attachment_spec__init(&av[i]);
		bin(&av[i].name, c->att[i].name);
		bin(&av[i].media_type, c->att[i].media_type);
		av[i].size = c->att[i].size;
		ap[i] = &av[i];
	}
	s.n_attachments = c->natt;
	s.attachments = ap;
	if (c->natt > 0) {
		upload_start(h, &s);
		return;
	}
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_SEND;
	req.send = &s;
	web_ask(h, &req, true, sent_reply);
}

/* The recipient is known: judge the document as rogatoryctl does, then answer or send. */
static void
judged_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	struct compose *c = h->ctx;
	h->waiting--;
	if (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		web_reply_refusal(h, r, err);
		return;
	}
	json_t *who = web_reply_parse(r);
	const char *langs[COMPOSE_LANGS] = {NULL};
	struct casedoc_in in;
	struct casedoc_problems pr;
	Rogatory__V1__Kind kind;
	wire_kind_parse(c->out.kind, &kind);
	casedoc_in_out(&in, &c->out, kind, ROGATORY__V1__STATUS__STATUS_UNSPECIFIED);
	in.n_languages = json_is_object(who)
	    ? casedoc_recipient_languages(who, c->out.kind, langs, COMPOSE_LANGS) : 0;
	in.languages = langs;
	in.authority = c->to;
	int bad = casedoc_check(&in, &pr);
	json_decref(who);
	if (!c->send) {
		web_reply_json(h, 200, json_pack("{s:b, s:o}", "ok", bad == 0, "problems",
		    bad == 0 ? json_array() : problems_json(&pr)));
		return;
	}
	if (bad != 0) {
		web_reply_json(h, 400, json_pack("{s:s, s:s, s:o}", "error", "invalid-document",
		    "text", "the document has problems; nothing was sent", "problems",
		    problems_json(&pr)));
		return;
	}
	compose_submit(h, c, NULL, NULL, NULL, c->out.urgent);
}

static void
compose_document(struct hreq *h, bool send)
{
	const char *to = json_string_value(json_object_get(h->body, "to"));
	json_t *doc = json_object_get(h->body, "document");
	if (to == NULL || !text_authority_id_valid((const uint8_t *)to, strlen(to))) {
		web_error(h, 400, "bad-request", "to: the recipient's authority id");
		return;
	}
	if (!json_is_object(doc)) {
		web_error(h, 400, "bad-request", "document: the document as a JSON object");
		return;
	}
	struct compose *c = compose_ctx(h);
	if (c == NULL)
		return;
	c->send = send;
	snprintf(c->to, sizeof(c->to), "%s", to);
	if (send && attachments_of(h, c) != 0)
		return;
	struct casedoc_problems pr;
	c->have_out = true;
	if (casedoc_encode(doc, ROGATORY__V1__STATUS__STATUS_UNSPECIFIED, &c->out, &pr) != 0) {
		if (!send)
			web_reply_json(h, 200, json_pack("{s:b, s:o}", "ok", 0, "problems",
			    problems_json(&pr)));
		else
			web_reply_json(h, 400, json_pack("{s:s, s:s, s:o}", "error",
			    "invalid-document", "text", "the document has problems; nothing was sent",
			    "problems", problems_json(&pr)));
		return;
	}
	ask_authority(h, c->to, judged_reply);
}

void
compose_validate(struct hreq *h, const struct evkeyvalq *q)
{
	(void)q;
	compose_document(h, false);
}

void
compose_send(struct hreq *h, const struct evkeyvalq *q)
{
	(void)q;
	compose_document(h, true);
}

/* ---- status updates (ctl/case.c's update, on the console's side) ---- */

static const char *
js(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

static void
update_case_reply(void *arg, const Rogatory__Ctl__V1__Reply *r, const char *err)
{
	struct hreq *h = arg;
	struct compose *c = h->ctx;
	h->waiting--;
	if (r == NULL || r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		web_reply_refusal(h, r, err);
		return;
	}
	json_t *j = web_reply_parse(r);
	const json_t *cs = json_object_get(j, "case");
	if (!json_is_object(cs)) {
		json_decref(j);
		web_error(h, 502, "bad-answer", "the daemon's case answer has no \"case\"");
		return;
	}
	struct casedoc_problems pr;
	Rogatory__V1__Kind kind;
	c->have_out = true;
	if (casedoc_encode(c->elems, c->status, &c->out, &pr) != 0)
		goto problems;
	struct casedoc_in in;
	if (wire_kind_parse(js(cs, "kind"), &kind) != 0)
		kind = ROGATORY__V1__KIND__KIND_OTHER;
	casedoc_in_out(&in, &c->out, kind, c->status);
	in.subject = (const uint8_t *)"-";
	in.subject_len = 1;
	if (casedoc_check(&in, &pr) != 0)
		goto problems;
	enum case_state from, to;
	char why[512];
	enum case_side side = strcmp(js(cs, "side"), "requesting") == 0 ? CASE_REQUESTING
	                                                                : CASE_REQUESTED;
	if (case_state_parse(js(cs, "status"), &from) != 0 || !case_next(from,
	        json_is_true(json_object_get(cs, "consulted")), c->status, side, &to, why,
	        sizeof(why))) {
		web_error(h, 409, "transition", "request %s is %s: %s", js(cs, "id"),
		    js(cs, "status"), why);
		json_decref(j);
		return;
	}
	char subject[400], reply_to[UUID_TEXT_LEN + 1];
	snprintf(subject, sizeof(subject), "%s: %s", c->sname, js(cs, "requester_reference"));
	snprintf(reply_to, sizeof(reply_to), "%s", js(cs, "id"));
	snprintf(c->to, sizeof(c->to), "%s", js(cs, "peer"));
	snprintf(c->out.kind, sizeof(c->out.kind), "%s", js(cs, "kind"));
	bool urgent = json_is_true(json_object_get(cs, "urgent"));
	json_decref(j);
	compose_submit(h, c, reply_to, c->sname, subject, urgent);
	return;
problems:
	json_decref(j);
	web_reply_json(h, 400, json_pack("{s:s, s:s, s:o}", "error", "invalid-document", "text",
	    "the status document has problems; nothing was sent", "problems", problems_json(&pr)));
}

/* The status document's elements from the body: note, reference, estimate, and
 * "reason": a code, a list of codes, or a list of {code, text}. NULL: answered. */
static json_t *
update_elements(struct hreq *h)
{
	json_t *o = json_object();
	static const char *const plain[] = {"note", "reference", "estimate"};
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(h->body, plain[i]);
		if (json_is_string(v) && json_string_length(v) > 0)
			json_object_set(o, plain[i], v);
		else if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
			json_decref(o);
			web_error(h, 400, "bad-request", "%s: a string", plain[i]);
			return NULL;
		}
	}
	json_t *r = json_object_get(h->body, "reason");
	if (r == NULL)
		r = json_object_get(h->body, "reasons");
	json_t *reasons = json_array();
	if (json_is_string(r) && json_string_length(r) > 0) {
		json_array_append_new(reasons, json_pack("{s:O}", "code", r));
	} else if (json_is_array(r)) {
		size_t i;
		json_t *e;
		json_array_foreach(r, i, e) {
			if (json_is_string(e))
				json_array_append_new(reasons, json_pack("{s:O}", "code", e));
			else if (json_is_object(e))
				json_array_append(reasons, e);
		}
	}
	if (json_array_size(reasons) > 0)
		json_object_set_new(o, "reasons", reasons);
	else
		json_decref(reasons);
	return o;
}

void
compose_update(struct hreq *h, const struct evkeyvalq *q)
{
	(void)q;
	const char *id = json_string_value(json_object_get(h->body, "request_id"));
	const char *from = json_string_value(json_object_get(h->body, "requester"));
	const char *status = json_string_value(json_object_get(h->body, "status"));
	Rogatory__V1__Status st;
	if (id == NULL || !text_uuid_valid((const uint8_t *)id, strlen(id)) ||
	    (from != NULL && from[0] != '\0' &&
	        !text_authority_id_valid((const uint8_t *)from, strlen(from)))) {
		web_error(h, 400, "bad-request", "request_id: the request's message id; requester: "
		    "an authority id");
		return;
	}
	if (status == NULL || strlen(status) > 47 || wire_status_parse(status, &st) != 0) {
		web_error(h, 400, "bad-request", "status: a status name (acknowledged, in-progress, "
		    "executed, refused, ...)");
		return;
	}
	json_t *elems = update_elements(h);
	if (elems == NULL)
		return;
	char idc[UUID_TEXT_LEN + 1], fromc[AUTHORITY_ID_MAX + 1];
	snprintf(idc, sizeof(idc), "%s", id);
	snprintf(fromc, sizeof(fromc), "%s", from != NULL ? from : "");
	struct compose *c = compose_ctx(h);
	if (c == NULL) {
		json_decref(elems);
		return;
	}
	c->send = true;
	c->status = st;
	snprintf(c->sname, sizeof(c->sname), "%s", status);
	c->elems = elems;
	if (attachments_of(h, c) != 0)
		return;
	Rogatory__Ctl__V1__CaseRequest cr = ROGATORY__CTL__V1__CASE_REQUEST__INIT;
	bin(&cr.request_id, idc);
	bin(&cr.requester_id, fromc);
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CASE_GET;
	req.case_get = &cr;
	web_ask(h, &req, false, update_case_reply);
}
