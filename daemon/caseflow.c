/*
 * caseflow: the case rules at submission and at reception (contract in caseflow.h). It
 * reads the store (committed cases) and the directory, and decides with case.c's tables
 * and casedoc.c's checks; it writes nothing: the store applies the change in the
 * message's own transaction. Errors are the operator's or the peer's, never fatal.
 */
#include "caseflow.h"

#include <stdio.h>
#include <string.h>

#include "case.h"
#include "casedoc.h"
#include "config.h"
#include "directory.h"
#include "log.h"
#include "rogatoryd.h"

static void
bytes_str(char *dst, size_t len, const ProtobufCBinaryData *b)
{
	snprintf(dst, len, "%.*s", (int)b->len, (const char *)b->data);
}

/* The languages that authority accepts for in's kind ([requirements ID KIND] languages,
 * else its own), for the language check. */
static void
languages_of(struct rogatoryd *d, const char *id, struct casedoc_in *in)
{
	const struct authority *a = directory_find(d->cfg->directory, id);
	if (a == NULL)
		return;
	in->languages = directory_languages(a, (unsigned)in->kind, &in->n_languages);
	in->authority = a->id;
}

/* "invalid document: path: reason; ..." into err. -1. */
static int
problems(const struct casedoc_problems *pr, const char **code, char *err, size_t errlen)
{
	char text[1024];
	casedoc_problems_text(pr, text, sizeof(text));
	*code = "invalid-document";
	return err_set(err, errlen, "invalid document: %s", text);
}

/* Our case with peer about request_id; its side for us. 0; 1 none; -1 store error. */
static int
case_with(struct rogatoryd *d, const char *request_id, const char *peer, struct store_case *c,
    enum case_side *side)
{
	const char *us = d->cfg->authority_id;
	int r = store_case_between(d->store, request_id, us, peer, c);
	if (r == 0)
		*side = strcmp(c->requester, us) == 0 ? CASE_REQUESTING : CASE_REQUESTED;
	return r;
}

int
caseflow_check_submission(struct rogatoryd *d, const Rogatory__Ctl__V1__SendRequest *req,
    Rogatory__V1__Kind kind, Rogatory__V1__Status status, const char **code, char *err,
    size_t errlen)
{
	char rcpt[AUTHORITY_ID_MAX + 1], about[UUID_TEXT_LEN + 1];
	struct casedoc_in in;
	struct casedoc_problems pr;
	bytes_str(rcpt, sizeof(rcpt), &req->recipient_id);
	casedoc_in_send(&in, req, kind, status);
	if (status == ROGATORY__V1__STATUS__STATUS_UNSPECIFIED) {
		languages_of(d, rcpt, &in);
		return casedoc_check(&in, &pr) == 0 ? 0 : problems(&pr, code, err, errlen);
	}
	bytes_str(about, sizeof(about), &req->in_reply_to);
	struct store_case c;
	enum case_side side;
	int r = case_with(d, about, rcpt, &c, &side);
	if (r != 0) {
		*code = r < 0 ? "store-error" : "not-found";
		return err_set(err, errlen, r < 0 ? "cannot read the case of %s" : "no case of request "
		    "%s with %s (see rogatoryctl requests)", about, rcpt);
	}
	if (c.kind != (int)kind) {
		*code = "invalid-document";
		return err_set(err, errlen, "kind: %s, but request %s is of kind %s", wire_kind_name(kind),
		    about, wire_kind_name(c.kind));
	}
	if (casedoc_check(&in, &pr) != 0)
		return problems(&pr, code, err, errlen);
	enum case_state from, to;
	char why[400];
	if (case_state_parse(c.state, &from) != 0 ||
	    !case_next(from, c.consulted, status, side, &to, why, sizeof(why))) {
		*code = "illegal-transition";
		return err_set(err, errlen, "request %s is %s: %s", about, c.state, why);
	}
	return 0;
}

uint64_t
caseflow_next_sequence(struct rogatoryd *d, const Rogatory__Ctl__V1__SendRequest *req)
{
	char rcpt[AUTHORITY_ID_MAX + 1], about[UUID_TEXT_LEN + 1];
	struct store_case c;
	enum case_side side;
	bytes_str(rcpt, sizeof(rcpt), &req->recipient_id);
	bytes_str(about, sizeof(about), &req->in_reply_to);
	if (case_with(d, about, rcpt, &c, &side) != 0)
		return 1;
	int64_t last = store_case_last_sequence(d->store, &c, d->cfg->authority_id);
	return last > 0 ? (uint64_t)last + 1 : 1;
}

bool
caseflow_refuses_document(struct rogatoryd *d, const Rogatory__V1__DocumentBody *b, char *why,
    size_t whylen)
{
	struct casedoc_in in;
	struct casedoc_problems pr;
	casedoc_in_body(&in, b);
	if (b->doc_type == ROGATORY__V1__DOC_TYPE__DOC_TYPE_STATUS && b->sequence == 0) {
		snprintf(why, whylen, "sequence: 0; a status document's sequence starts at 1");
		return true;
	}
	if (b->doc_type == ROGATORY__V1__DOC_TYPE__DOC_TYPE_REQUEST)
		languages_of(d, d->cfg->authority_id, &in);
	if (casedoc_check(&in, &pr) == 0)
		return false;
	casedoc_problems_text(&pr, why, whylen);
	return true;
}

bool
caseflow_refuses_transition(struct rogatoryd *d, const Rogatory__V1__DocumentBody *b,
    char *why, size_t whylen)
{
	if (b->doc_type != ROGATORY__V1__DOC_TYPE__DOC_TYPE_STATUS)
		return false;
	char about[UUID_TEXT_LEN + 1], sender[AUTHORITY_ID_MAX + 1], rule[400];
	bytes_str(about, sizeof(about), &b->in_reply_to);
	bytes_str(sender, sizeof(sender), &b->sender_id);
	struct store_case c;
	enum case_side side;
	/* Not in yet (or the store cannot say now): it waits; the store decides at commit. */
	if (case_with(d, about, sender, &c, &side) != 0)
		return false;
	/* The sender's side is the other one of ours. */
	side = side == CASE_REQUESTING ? CASE_REQUESTED : CASE_REQUESTING;
	if (c.kind != (int)b->kind) {
		snprintf(why, whylen, "a %s document about request %s of kind %s",
		    wire_kind_name(b->kind), about, wire_kind_name(c.kind));
		return true;
	}
	enum case_state from, to;
	if (case_state_parse(c.state, &from) == 0 &&
	    case_next(from, c.consulted, b->status, side, &to, rule, sizeof(rule)))
		return false;
	snprintf(why, whylen, "request %s is %s here: %s", about, c.state, rule);
	return true;
}

/* The element called name of b; NULL when it has none. */
static const Rogatory__V1__Field *
field_of(const Rogatory__V1__DocumentBody *b, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; b->content != NULL && i < b->content->n_fields; i++) {
		const Rogatory__V1__Field *f = b->content->fields[i];
		if (f->name.len == n && memcmp(f->name.data, name, n) == 0)
			return f;
	}
	return NULL;
}

/* The element name of b, as text cut to what a case row keeps (UTF-8 whole). */
static void
element_of(const Rogatory__V1__DocumentBody *b, const char *name, char *out, size_t len)
{
	const Rogatory__V1__Field *f = field_of(b, name);
	char full[CASEDOC_TEXT_MAX + 1];
	out[0] = '\0';
	if (f == NULL || casedoc_field_text(f->value.data, f->value.len, full, sizeof(full)) != 0)
		return;
	size_t n = strlen(full);
	if (n >= len) {
		n = len - 1;
		while (n > 0 && ((unsigned char)full[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, full, n);
	out[n] = '\0';
}

void
caseflow_clocks(struct rogatoryd *d, struct store_msg *m)
{
	const struct config *c = d->cfg;
	_Static_assert(sizeof(c->case_respond_within_ms) == sizeof(m->cd.respond_within_ms),
	    "one respond_within per kind");
	m->cd.ack_within_ms = c->case_ack_within_ms;
	memcpy(m->cd.respond_within_ms, c->case_respond_within_ms,
	    sizeof(m->cd.respond_within_ms));
}

void
caseflow_fill(struct rogatoryd *d, struct store_msg *m, const Rogatory__V1__DocumentBody *b)
{
	struct store_casedoc *cd = &m->cd;
	memset(cd, 0, sizeof(*cd));
	cd->doc_type = (int)b->doc_type;
	cd->status = (int)b->status;
	bytes_str(cd->in_reply_to, sizeof(cd->in_reply_to), &b->in_reply_to);
	cd->sequence = b->sequence;
	element_of(b, "reference", cd->reference, sizeof(cd->reference));
	if (b->status == ROGATORY__V1__STATUS__STATUS_POSTPONED)
		element_of(b, "estimate", cd->estimate, sizeof(cd->estimate));
	if (b->respond_by.len == 10)
		bytes_str(cd->respond_by, sizeof(cd->respond_by), &b->respond_by);
	caseflow_clocks(d, m);
	/* For the statistics (storestats.c): a request's offences, a status's reasons. */
	const char *list = cd->doc_type == 1 ? "offences" : "reasons";
	const char *member = cd->doc_type == 1 ? "name" : "code";
	const Rogatory__V1__Field *f = field_of(b, list);
	casedoc_tally(f != NULL ? f->value.data : NULL, f != NULL ? f->value.len : 0, member,
	    cd->tally, sizeof(cd->tally));
}
