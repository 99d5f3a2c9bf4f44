/*
 * request: from an operator's submission to a signed document body. It must never sign
 * a document that names another sender than us or a recipient outside the directory.
 * Errors are the operator's (returned with a code), never fatal.
 */
#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "caseflow.h"
#include "config.h"
#include "directory.h"
#include "log.h"
#include "rogatoryd.h"

#define REQUEST_DEFAULT_EXPIRE_US (7LL * 24 * 3600 * 1000000)

int64_t
request_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
bytes_str(char *dst, size_t len, const ProtobufCBinaryData *b)
{
	snprintf(dst, len, "%.*s", (int)b->len, (const char *)b->data);
}

static void
copy_blob(uint8_t **dst, size_t *dlen, const uint8_t *src, size_t len)
{
	*dst = malloc(len ? len : 1);
	if (*dst == NULL)
		fatal("out of memory");
	memcpy(*dst, src, len);
	*dlen = len;
}

/* The domain checks that need the directory; wire already checked the forms. */
int
request_check(struct rogatoryd *d, const Rogatory__Ctl__V1__SendRequest *req,
    Rogatory__V1__Kind *kind, Rogatory__V1__Status *status, const char **code, char *err,
    size_t errlen)
{
	char rcpt[AUTHORITY_ID_MAX + 1], kbuf[32], sbuf[64];
	bytes_str(rcpt, sizeof(rcpt), &req->recipient_id);
	bytes_str(kbuf, sizeof(kbuf), &req->kind);
	bytes_str(sbuf, sizeof(sbuf), &req->status);
	*code = "invalid";
	if (wire_kind_parse(kbuf, kind) != 0)
		return err_set(err, errlen, "unknown kind %s", kbuf);
	if (strcmp(rcpt, d->cfg->authority_id) == 0)
		return err_set(err, errlen, "%s is this authority", rcpt);
	const struct authority *a = directory_find(d->cfg->directory, rcpt);
	if (a == NULL) {
		*code = "unknown-authority";
		return err_set(err, errlen, "unknown authority %s (not in the directory)", rcpt);
	}
	*status = ROGATORY__V1__STATUS__STATUS_UNSPECIFIED;
	if (req->status.len > 0) {
		if (wire_status_parse(sbuf, status) != 0)
			return err_set(err, errlen, "unknown status %s", sbuf);
		if (req->in_reply_to.len == 0)
			return err_set(err, errlen, "a status update needs --reply-to (the request's id)");
	} else if (req->in_reply_to.len > 0) {
		return err_set(err, errlen, "--reply-to needs --status");
	}
	/* Which kinds an authority receives concerns requests; a status answers its case. */
	if (*status == ROGATORY__V1__STATUS__STATUS_UNSPECIFIED && !(a->kinds & (1u << *kind))) {
		*code = "kind-not-served";
		return err_set(err, errlen, "%s does not receive %s requests (directory: %s line %d)",
		    rcpt, kbuf, d->cfg->directory->path, a->line);
	}
	return caseflow_check_submission(d, req, *kind, *status, code, err, errlen);
}

int
request_build(struct rogatoryd *d, const Rogatory__Ctl__V1__SendRequest *req,
    const uint8_t *hashes, int64_t bset, struct store_msg *m, const char **code, char *err,
    size_t errlen)
{
	Rogatory__V1__Kind kind = ROGATORY__V1__KIND__KIND_UNSPECIFIED;
	Rogatory__V1__Status status = ROGATORY__V1__STATUS__STATUS_UNSPECIFIED;
	if (request_check(d, req, &kind, &status, code, err, errlen) != 0)
		return -1;
	int64_t now = request_now_us();
	Rogatory__V1__DocumentBody b = ROGATORY__V1__DOCUMENT_BODY__INIT;
	Rogatory__V1__Content c = ROGATORY__V1__CONTENT__INIT;
	Rogatory__V1__Field *fields[WIRE_FIELDS_MAX];
	Rogatory__V1__Field fv[WIRE_FIELDS_MAX];
	b.message_id = req->message_id;
	b.sender_id.data = (uint8_t *)d->cfg->authority_id;
	b.sender_id.len = strlen(d->cfg->authority_id);
	b.recipient_id = req->recipient_id;
	b.created_ms = now / 1000;
	b.kind = kind;
	b.urgent = req->urgent;
	b.respond_by = req->respond_by;
	b.in_reply_to = req->in_reply_to;
	b.doc_type = status == ROGATORY__V1__STATUS__STATUS_UNSPECIFIED
	    ? ROGATORY__V1__DOC_TYPE__DOC_TYPE_REQUEST
	    : ROGATORY__V1__DOC_TYPE__DOC_TYPE_STATUS;
	b.status = status;
	if (status != ROGATORY__V1__STATUS__STATUS_UNSPECIFIED)
		b.sequence = caseflow_next_sequence(d, req);
	c.subject = req->subject;
	for (size_t i = 0; i < req->n_fields && i < WIRE_FIELDS_MAX; i++) {
		rogatory__v1__field__init(&fv[i]);
		fv[i].name = req->fields[i]->name;
		fv[i].value = req->fields[i]->value;
		fields[i] = &fv[i];
	}
	c.n_fields = req->n_fields;
	c.fields = fields;
	b.content = &c;
	/* The manifest: what the operator announced, with the SHA-256 of what arrived. */
	Rogatory__V1__Attachment av[WIRE_ATTACHMENTS_MAX];
	Rogatory__V1__Attachment *ap[WIRE_ATTACHMENTS_MAX];
	uint64_t total = 0;
	for (size_t i = 0; i < req->n_attachments && i < WIRE_ATTACHMENTS_MAX; i++) {
		rogatory__v1__attachment__init(&av[i]);
		av[i].name = req->attachments[i]->name;
		av[i].media_type = req->attachments[i]->media_type;
		av[i].size = req->attachments[i]->size;
		av[i].sha256.data = (uint8_t *)hashes + i * STORE_HASH_LEN;
		av[i].sha256.len = STORE_HASH_LEN;
		ap[i] = &av[i];
		total += req->attachments[i]->size;
	}
	b.n_attachments = req->n_attachments;
	b.attachments = ap;

	struct signed_object so = {0};
	if (evidence_sign_document(d->signer, &b, &so, err, errlen) != 0) {
		*code = "invalid";
		return -1;
	}
	/* Sign what the receiver will check: our own wire rules on the exact bytes. */
	Rogatory__V1__DocumentBody *check = NULL;
	size_t plen = strlen(EVIDENCE_CTX_DOCUMENT) + 1;
	if (wire_document_body_decode(so.body + plen, so.body_len - plen, &check, err, errlen) != 0) {
		*code = "invalid";
		signed_object_clear(&so);
		return -1;
	}
	wire_document_body_free(check);
	if (so.body_len + total > d->cfg->max_message_size) {
		*code = "too-large";
		err_set(err, errlen, "%llu bytes (document and attachments); [delivery] "
		    "max_message_size is %u", (unsigned long long)so.body_len + total,
		    d->cfg->max_message_size);
		signed_object_clear(&so);
		return -1;
	}

	memset(m, 0, sizeof(*m));
	m->dir = STORE_OUT;
	bytes_str(m->msg_id, sizeof(m->msg_id), &req->message_id);
	snprintf(m->sender, sizeof(m->sender), "%s", d->cfg->authority_id);
	bytes_str(m->recipient, sizeof(m->recipient), &req->recipient_id);
	m->kind = kind;
	m->urgent = req->urgent;
	m->state = STORE_QUEUED;
	m->created_us = now;
	m->expire_at_us = now + (int64_t)d->cfg->expire_after_ms * 1000;
	if (d->cfg->expire_after_ms == 0)
		m->expire_at_us = now + REQUEST_DEFAULT_EXPIRE_US;
	evidence_payload_hash(so.body, so.body_len, m->payload_hash);
	/* The submission as sent is canonical protobuf: equal content, equal bytes. */
	size_t n = protobuf_c_message_get_packed_size(&req->base);
	uint8_t *packed = malloc(n ? n : 1);
	if (packed == NULL)
		fatal("out of memory");
	protobuf_c_message_pack(&req->base, packed);
	/* With the attachments' hashes: same announcement, other bytes = other content. */
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	if (mc == NULL || EVP_DigestInit_ex(mc, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(mc, packed, n) != 1 ||
	    (req->n_attachments > 0 &&
	        EVP_DigestUpdate(mc, hashes, req->n_attachments * STORE_HASH_LEN) != 1) ||
	    EVP_DigestFinal_ex(mc, m->submit_hash, NULL) != 1)
		fatal("SHA-256 failed");
	EVP_MD_CTX_free(mc);
	free(packed);
	m->bset = bset;
	m->size = so.body_len + total;
	/* The files the store seals under these names before the row. */
	if (bset != 0 && req->n_attachments > 0) {
		if ((m->atts = calloc(req->n_attachments, sizeof(*m->atts))) == NULL)
			fatal("out of memory");
		m->n_atts = req->n_attachments;
		for (size_t i = 0; i < req->n_attachments; i++) {
			m->atts[i].size = req->attachments[i]->size;
			memcpy(m->atts[i].sha256, hashes + i * STORE_HASH_LEN, STORE_HASH_LEN);
		}
	}
	copy_blob(&m->doc_body, &m->doc_body_len, so.body, so.body_len);
	copy_blob(&m->doc_sig, &m->doc_sig_len, so.signature, so.signature_len);
	copy_blob(&m->doc_cert, &m->doc_cert_len, so.cert, so.cert_len);
	signed_object_clear(&so);
	caseflow_fill(d, m, &b);
	return 0;
}
