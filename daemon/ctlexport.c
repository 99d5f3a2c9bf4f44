/*
 * ctlexport: answers ExportRequest (contract in ctlexport.h). Every request reads the
 * message again through store_get and rebuilds its bundle (small allocations; the
 * attachments stay in the store and are read with store_chunk_read): no state between
 * requests, so a client that hangs up leaves nothing behind. The manifest gives each
 * file's SHA-256, so the client sees a file that changed between two of its requests (a
 * receipt that arrived, a re-signature after a renewal, a new CRL) and can start again.
 * The manifest's "verify" is proof_check's result, the very one `verify` answers.
 */
#include "ctlexport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auditproof.h"
#include "bundle.h"
#include "config.h"
#include "crl.h"
#include "evidence.h"
#include "frame.h"
#include "log.h"
#include "proof.h"
#include "revocation.h"
#include "rogatoryd.h"
#include "store.h"

static json_t *hexj(const uint8_t b[32]);
static json_t *timej(time_t t);
static json_t *signer_json(const struct bundle_signer *s, const char *file, const char *ctx,
    const char *time_field);
static json_t *document_json(const struct bundle *b);
static json_t *receipt_json(const struct bundle *b);
static json_t *attachments_json(const struct bundle *b);
static json_t *files_json(struct rogatoryd *d, const struct bundle *b, const char **bad);
static void manifest(struct control *c, const struct bundle *b, struct control_result *res);
static void part_bytes(struct control *c, const struct bundle *b, unsigned part,
    uint64_t offset, struct control_result *res);
static void add_audit(struct rogatoryd *d, struct bundle *b, const struct crl *crl);

/* A SHA-256 in lower-case hex (signed hashes are 32 bytes: wire checked them). */
static json_t *
hexj(const uint8_t b[32])
{
	char h[2 * 32 + 1];
	for (size_t i = 0; i < 32; i++)
		snprintf(h + 2 * i, 3, "%02x", b[i]);
	return json_string(h);
}

static json_t *
timej(time_t t)
{
	char buf[32];
	return t > 0 ? json_string(crl_time_str(t, buf, sizeof(buf))) : json_null();
}

static json_t *
signer_json(const struct bundle_signer *s, const char *file, const char *ctx,
    const char *time_field)
{
	json_t *o = json_object();
	json_object_set_new(o, "file", json_string(file));
	json_object_set_new(o, "context", json_string(ctx));
	json_object_set_new(o, "context_bytes", json_integer((json_int_t)strlen(ctx) + 1));
	json_object_set_new(o, "signer", s->id[0] ? json_string(s->id) : json_null());
	json_object_set_new(o, "signer_subject", json_string(s->subject));
	json_object_set_new(o, "signer_serial", json_string(s->serial));
	json_object_set_new(o, "signer_not_before", timej(s->not_before));
	json_object_set_new(o, "signer_not_after", timej(s->not_after));
	json_object_set_new(o, time_field, json_integer((json_int_t)s->claimed_ms));
	json_object_set_new(o, "signing_time", timej(s->signing_time));
	json_object_set_new(o, "signing_time_unix", json_integer((json_int_t)s->signing_time));
	json_object_set_new(o, "revoked_since", timej(s->revoked_since));
	return o;
}

static json_t *
document_json(const struct bundle *b)
{
	json_t *o = signer_json(&b->doc_signer, "document.body", EVIDENCE_CTX_DOCUMENT,
	    "created_ms");
	json_object_set_new(o, "payload_sha256", hexj(b->payload_sha256));
	json_object_set_new(o, "decodes", json_boolean(b->doc != NULL));
	if (b->doc != NULL) {
		json_object_set_new(o, "type", json_string(wire_doc_type_name(b->doc->doc_type)));
		json_object_set_new(o, "kind", json_string(wire_kind_name(b->doc->kind)));
		if (b->doc->in_reply_to.len > 0)
			json_object_set_new(o, "in_reply_to", json_stringn(
			    (const char *)b->doc->in_reply_to.data, b->doc->in_reply_to.len));
		if (b->doc->status != ROGATORY__V1__STATUS__STATUS_UNSPECIFIED)
			json_object_set_new(o, "status", json_string(wire_status_name(b->doc->status)));
	}
	return o;
}

static json_t *
receipt_json(const struct bundle *b)
{
	if (b->m->rcpt_body_len == 0)
		return json_null();
	json_t *o = signer_json(&b->rcpt_signer, "receipt.body", EVIDENCE_CTX_RECEIPT,
	    "received_ms");
	json_object_set_new(o, "receipt_sha256", hexj(b->receipt_sha256));
	json_object_set_new(o, "decodes", json_boolean(b->rcpt != NULL));
	if (b->rcpt != NULL) {
		json_object_set_new(o, "outcome", json_string(wire_outcome_name(b->rcpt->outcome)));
		json_object_set_new(o, "reason_code", json_stringn(
		    (const char *)b->rcpt->reason_code.data, b->rcpt->reason_code.len));
		json_object_set_new(o, "payload_sha256", hexj(b->rcpt->payload_sha256.data));
	}
	json_object_set_new(o, "payload_sha256_offset", b->payload_hash_at > 0
	    ? json_integer((json_int_t)b->payload_hash_at) : json_null());
	return o;
}

/* The signed manifest: names and media types are a peer's text (validated UTF-8, no
 * control characters), here as JSON strings only, never as paths. */
static json_t *
attachments_json(const struct bundle *b)
{
	json_t *a = json_array();
	for (size_t i = 0; b->doc != NULL && i < b->doc->n_attachments; i++) {
		const Rogatory__V1__Attachment *at = b->doc->attachments[i];
		const struct bundle_file *f = bundle_file(b, BUNDLE_ATTACHMENT_0 + (unsigned)i);
		json_t *o = json_object();
		json_object_set_new(o, "index", json_integer((json_int_t)i));
		json_object_set_new(o, "file", json_string(f != NULL ? f->path : ""));
		json_object_set_new(o, "name", json_stringn((const char *)at->name.data,
		    at->name.len));
		json_object_set_new(o, "media_type", json_stringn((const char *)at->media_type.data,
		    at->media_type.len));
		json_object_set_new(o, "size", json_integer((json_int_t)at->size));
		json_object_set_new(o, "sha256", hexj(at->sha256.data));
		json_object_set_new(o, "sha256_offset", b->att_hash_at[i] > 0
		    ? json_integer((json_int_t)b->att_hash_at[i]) : json_null());
		json_array_append_new(a, o);
	}
	return a;
}

/* Every file with its SHA-256; attachments hashed from the store as they are now.
 * *bad names an attachment the store cannot give whole (NULL when none). */
static json_t *
files_json(struct rogatoryd *d, const struct bundle *b, const char **bad)
{
	json_t *a = json_array();
	*bad = NULL;
	for (size_t i = 0; i < b->nfiles; i++) {
		const struct bundle_file *f = &b->files[i];
		uint8_t h[32];
		uint64_t got = 0;
		memcpy(h, f->sha256, sizeof(h));
		if (f->data == NULL &&
		    proof_attachment_sha256(d, b->m->bset, f->attachment, f->size, h, &got) != 0)
			*bad = f->path;
		json_t *o = json_object();
		json_object_set_new(o, "part", json_integer(f->part));
		json_object_set_new(o, "path", json_string(f->path));
		json_object_set_new(o, "size", json_integer((json_int_t)f->size));
		json_object_set_new(o, "sha256", hexj(h));
		json_object_set_new(o, "what", json_string(f->what));
		json_array_append_new(a, o);
	}
	return a;
}

static void
manifest(struct control *c, const struct bundle *b, struct control_result *res)
{
	struct rogatoryd *d = control_daemon(c);
	const struct store_msg *m = b->m;
	const char *bad = NULL;
	json_t *files = files_json(d, b, &bad);
	if (bad != NULL) {
		json_decref(files);
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
		res->error_code = "store-error";
		snprintf(res->error_text, sizeof(res->error_text), "%s of %s: the store does not "
		    "hold all of its bytes", bad, m->msg_id);
		return;
	}
	struct proof p;
	proof_check(d, m, &p);
	json_t *o = json_object();
	json_object_set_new(o, "format", json_string("rogatory-evidence/1"));
	json_object_set_new(o, "exported_by", json_string(d->cfg->authority_id));
	json_object_set_new(o, "exported_at", timej(time(NULL)));
	json_t *msg = json_object();
	json_object_set_new(msg, "id", json_string(m->msg_id));
	json_object_set_new(msg, "direction", json_string(m->dir == STORE_OUT ? "out" : "in"));
	json_object_set_new(msg, "sender", json_string(m->sender));
	json_object_set_new(msg, "recipient", json_string(m->recipient));
	json_object_set_new(msg, "state", json_string(store_state_name(m->state)));
	json_object_set_new(o, "message", msg);
	json_object_set_new(o, "document", document_json(b));
	json_object_set_new(o, "receipt", receipt_json(b));
	json_object_set_new(o, "attachments", attachments_json(b));
	json_t *ca = json_object();
	json_object_set_new(ca, "file", json_string("ca.pem"));
	json_object_set_new(ca, "subject", json_string(b->ca_subject));
	json_object_set_new(ca, "sha256_fingerprint", hexj(b->ca_sha256));
	json_object_set_new(o, "ca", ca);
	json_t *crl = json_null();
	if (b->crl_number > 0) {
		crl = json_object();
		json_object_set_new(crl, "file", json_string("crl.pem"));
		json_object_set_new(crl, "number", json_integer((json_int_t)b->crl_number));
		json_object_set_new(crl, "this_update", timej(b->crl_this_update));
		json_object_set_new(crl, "next_update", timej(b->crl_next_update));
	}
	json_object_set_new(o, "crl", crl);
	json_object_set_new(o, "verify", control_proof_json(m->msg_id, &p));
	json_object_set_new(o, "files", files);
	res->json = o;
}

/* Up to CONTROL_CHUNK_MAX bytes of one file from offset; empty past its end. */
static void
part_bytes(struct control *c, const struct bundle *b, unsigned part, uint64_t offset,
    struct control_result *res)
{
	const struct bundle_file *f = bundle_file(b, part);
	if (f == NULL) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND;
		res->error_code = "not-found";
		snprintf(res->error_text, sizeof(res->error_text), "the bundle of %s has no part %u",
		    b->m->msg_id, part);
		return;
	}
	if (offset >= f->size)
		return;
	size_t want = f->size - offset < CONTROL_CHUNK_MAX ? (size_t)(f->size - offset)
	                                                   : CONTROL_CHUNK_MAX;
	if (f->data != NULL) {
		uint8_t *copy = malloc(want);
		if (copy == NULL)
			fatal("out of memory");
		memcpy(copy, f->data + offset, want);
		control_reply_data(c, copy, want);
		return;
	}
	uint8_t *data = NULL;
	size_t len = 0;
	int r = store_chunk_read(control_daemon(c)->store, b->m->bset, f->attachment, offset, want,
	    &data, &len);
	if (r < 0) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
		res->error_code = "store-error";
		snprintf(res->error_text, sizeof(res->error_text), "cannot read %s of %s", f->path,
		    b->m->msg_id);
		return;
	}
	if (r == 0)
		control_reply_data(c, data, len > want ? want : len);
}

/* The audit log's proof of the message's entries, under the checkpoint the store picks
 * for them (the same at every request while no witness cosigns an older one). None when
 * no checkpoint covers them yet: `rogatoryctl export` asks `audit prove` first, which
 * signs one. */
static void
add_audit(struct rogatoryd *d, struct bundle *b, const struct crl *crl)
{
	const struct store_msg *m = b->m;
	int64_t *seqs = calloc(AUDITPROOF_ENTRIES_MAX, sizeof(*seqs));
	struct store_checkpoint cp = {0};
	char err[300];
	if (seqs == NULL)
		fatal("out of memory");
	int n = auditproof_message_seqs(d->store, m->msg_id, m->dir == STORE_OUT ? m->recipient :
	    m->sender, m->dir, seqs, AUDITPROOF_ENTRIES_MAX);
	int64_t need = 0;
	for (int i = 0; i < n; i++)
		need = seqs[i] > need ? seqs[i] : need;
	json_t *proof = NULL;
	if (n > 0 && store_audit_covering(d->store, (uint64_t)need, &cp) == 0)
		proof = auditproof_bundle(d->store, d->cfg->authority_id, seqs, (size_t)n, &cp, err,
		    sizeof(err));
	if (proof != NULL && bundle_add_audit(b, proof, d->cfg->authority_id, crl, err,
	        sizeof(err)) != 0)
		log_warn("export of %s: %s", m->msg_id, err);
	json_decref(proof);
	store_checkpoint_clear(&cp);
	free(seqs);
}

void
ctlexport_handle(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	const Rogatory__Ctl__V1__ExportRequest *q = req->export;
	struct rogatoryd *d = control_daemon(c);
	struct store_msg m = {0};
	if (control_find_message(c, &q->message_id, &q->sender_id, &m, res) != 0)
		return;
	struct bundle *b = NULL;
	char err[300];
	const struct crl *crl = d->revocation != NULL ? revocation_crl(d->revocation) : NULL;
	if (bundle_build(&m, d->cfg->tls_ca, crl, d->cfg->authority_id, &b, err,
	        sizeof(err)) != 0) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
		res->error_code = "export-failed";
		snprintf(res->error_text, sizeof(res->error_text), "%s: %s", m.msg_id, err);
	} else {
		add_audit(d, b, crl);
		struct store_retrieval t;
		if (store_retrieval_get(d->store, m.dir, m.dir == STORE_OUT ? m.recipient : m.sender,
		        m.msg_id, &t) == 0) {
			bundle_add_retrieval(b, &t, d->cfg->authority_id, crl);
			store_retrieval_clear(&t);
		}
		if (q->part == 0)
			manifest(c, b, res);
		else
			part_bytes(c, b, q->part, q->offset, res);
	}
	bundle_free(b);
	store_msg_clear(&m);
}
