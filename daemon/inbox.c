/*
 * inbox: verifies inbound transfers, signs receipts, stores message and receipt in one
 * transaction, and answers only after the commit. It must never send an ACCEPTED
 * receipt for something not on disk, never store a second copy of (sender, id), and
 * never drop an unverifiable document without a trace (it is quarantined with its
 * reason, and the sender gets a signed REJECTED receipt). Error policy: every peer
 * mistake is answered and logged; a full store answers TRY_LATER; nothing is fatal.
 */
#include "inbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <openssl/x509.h>

#include "cert.h"
#include "config.h"
#include "crash.h"
#include "directory.h"
#include "evidence.h"
#include "journal.h"
#include "link.h"
#include "log.h"
#include "peer.h"
#include "request.h"
#include "crl.h"
#include "revocation.h"
#include "rogatoryd.h"

#define INBOX_CACHE 256
#define INBOX_PENDING_HIGH 4096   /* store ops queued: stop reading inbound links */
#define INBOX_PENDING_LOW 1024    /* ... resume below this */
#define INBOX_TRY_LATER_MS 30000
#define INBOX_PAUSED_MAX 1024

/* A signer certificate whose chain verified: valid for signatures made within its
 * validity window. Keyed by the SHA-256 of its DER. */
struct trust_entry {
	uint8_t hash[SHA256_DIGEST_LENGTH];
	time_t not_before;
	time_t not_after;
	bool used;
};

struct inbox {
	struct rogatoryd *d;
	X509_STORE *ca;
	struct trust_entry cache[INBOX_CACHE];
	unsigned cache_next;
	uint64_t paused[INBOX_PAUSED_MAX];  /* link serials we stopped reading */
	unsigned npaused;
};

static void ib_reject(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t,
    const uint8_t hash[32], const char *code, const char *text);
static void ib_receive_done(struct journal_op *jo);
static void ib_quarantine_done(struct journal_op *jo);
static int ib_sign_receipt(struct inbox *ib, const ProtobufCBinaryData *msg_id,
    const ProtobufCBinaryData *sender, const uint8_t hash[32], bool accepted,
    const char *code, const char *text, struct store_msg *m, char *err, size_t errlen);
static void ib_send_receipt(struct inbox *ib, uint64_t serial, const struct store_msg *m);
static void ib_send_try_later(struct inbox *ib, uint64_t serial, const char *msg_id,
    const char *why);
static int ib_trusted(struct inbox *ib, const ProtobufCBinaryData *der, int64_t at_ms,
    char *err, size_t errlen);
static void ib_backpressure(struct inbox *ib, struct link *l);
static void ib_resume(struct inbox *ib);

int
inbox_new(struct rogatoryd *d, struct inbox **out, char *err, size_t errlen)
{
	struct inbox *ib = calloc(1, sizeof(*ib));
	if (ib == NULL)
		return err_set(err, errlen, "out of memory");
	ib->d = d;
	if (cert_store_load(d->cfg->tls_ca, &ib->ca, err, errlen) != 0) {
		free(ib);
		return -1;
	}
	*out = ib;
	return 0;
}

void
inbox_free(struct inbox *ib)
{
	if (ib == NULL)
		return;
	X509_STORE_free(ib->ca);
	free(ib);
}

void
inbox_reset_trust(struct inbox *ib)
{
	char err[256];
	X509_STORE *ca = NULL;
	memset(ib->cache, 0, sizeof(ib->cache));
	if (cert_store_load(ib->d->cfg->tls_ca, &ca, err, sizeof(err)) != 0) {
		log_err("inbox: keeping the previous CA: %s", err);
		return;
	}
	X509_STORE_free(ib->ca);
	ib->ca = ca;
}

static bool
bytes_is(const ProtobufCBinaryData *b, const char *s)
{
	return b->len == strlen(s) && memcmp(b->data, s, b->len) == 0;
}

static void
dup_blob(uint8_t **dst, size_t *len, const uint8_t *src, size_t n)
{
	*dst = malloc(n ? n : 1);
	if (*dst == NULL)
		fatal("out of memory");
	memcpy(*dst, src, n);
	*len = n;
}

/* Revocation is judged now, against the effective CRL (never cached): a signer whose
 * key was compromised is refused even for documents signed before. */
static bool
ib_revoked(struct inbox *ib, X509 *c, char *err, size_t errlen)
{
	const struct crl *crl = ib->d->revocation ? revocation_crl(ib->d->revocation) : NULL;
	if (crl == NULL || !crl_cert_revoked(crl, c))
		return false;
	err_set(err, errlen, "signer certificate is revoked (effective CRL)");
	return true;
}

/* Chain to our CA at the signed creation time, without CRL flags (a CRL issued after
 * the signature must not make OpenSSL call it "not yet valid"); cached by certificate. */
static int
ib_trusted(struct inbox *ib, const ProtobufCBinaryData *der, int64_t at_ms, char *err,
    size_t errlen)
{
	uint8_t h[SHA256_DIGEST_LENGTH];
	time_t at = (time_t)(at_ms / 1000);
	SHA256(der->data, der->len, h);
	for (unsigned i = 0; i < INBOX_CACHE; i++) {
		struct trust_entry *e = &ib->cache[i];
		if (e->used && memcmp(e->hash, h, sizeof(h)) == 0) {
			if (at > e->not_after || e->not_before > time(NULL))
				return err_set(err, errlen, "signed at %lld, outside the signer "
				    "certificate's validity", (long long)at);
			if (!ib->d->revocation || revocation_crl(ib->d->revocation) == NULL)
				return 0;
			X509 *cc = NULL;
			if (cert_from_der(der->data, der->len, &cc, err, errlen) != 0)
				return -1;
			int revoked = ib_revoked(ib, cc, err, errlen);
			X509_free(cc);
			return revoked ? -1 : 0;
		}
	}
	X509 *c = NULL;
	if (cert_from_der(der->data, der->len, &c, err, errlen) != 0)
		return -1;
	int rc = cert_verify_at(ib->ca, c, cert_signing_time(c, at), err, errlen);
	if (rc == 0 && ib_revoked(ib, c, err, errlen)) {
		X509_free(c);
		return -1;
	}
	if (rc == 0) {
		struct trust_entry *e = &ib->cache[ib->cache_next++ % INBOX_CACHE];
		memcpy(e->hash, h, sizeof(h));
		e->not_before = cert_not_before(c);
		e->not_after = cert_not_after(c);
		e->used = true;
	}
	X509_free(c);
	return rc;
}

int
inbox_signer_trusted(struct inbox *ib, const ProtobufCBinaryData *der, int64_t at_ms,
    char *err, size_t errlen)
{
	return ib_trusted(ib, der, at_ms, err, errlen);
}

void
inbox_transfer(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t)
{
	struct rogatoryd *d = ib->d;
	const char *peer = link_peer_id(l);
	const char *us = d->cfg->authority_id;
	uint8_t hash[EVIDENCE_HASH_LEN];
	char signer[AUTHORITY_ID_MAX + 1], err[300], why[400];
	Rogatory__V1__DocumentBody *b = NULL;
	evidence_payload_hash(t->document->body.data, t->document->body.len, hash);

	if (evidence_open_document(t->document, signer, &b, err, sizeof(err)) != 0) {
		ib_reject(ib, l, t, hash, "bad-signature", err);
		return;
	}
	const char *code = NULL;
	if (t->document->body.len > d->cfg->max_message_size) {
		code = "too-large";
		snprintf(why, sizeof(why), "%zu bytes; this authority accepts at most %u",
		    t->document->body.len, d->cfg->max_message_size);
	} else if (!bytes_is(&b->sender_id, peer)) {
		code = "wrong-sender";
		snprintf(why, sizeof(why), "signed by %s but arrived on the link from %s", signer, peer);
	} else if (!bytes_is(&b->recipient_id, us)) {
		code = "not-for-us";
		snprintf(why, sizeof(why), "addressed to %.*s, this is %s", (int)b->recipient_id.len,
		    (const char *)b->recipient_id.data, us);
	} else if (wire_transfer_matches(t, b, err, sizeof(err)) != 0) {
		code = "routing-mismatch";
		snprintf(why, sizeof(why), "%s", err);
	} else if (ib_trusted(ib, &t->document->signer_certificate, b->created_ms, err,
	               sizeof(err)) != 0) {
		code = "untrusted-signer";
		snprintf(why, sizeof(why), "signer certificate: %s", err);
	} else {
		const struct authority *self = directory_find(d->cfg->directory, us);
		if (self != NULL && !(self->kinds & (1u << b->kind))) {
			code = "unknown-kind";
			snprintf(why, sizeof(why), "this authority does not receive %s requests",
			    wire_kind_name(b->kind));
		}
	}
	if (code != NULL) {
		wire_document_body_free(b);
		ib_reject(ib, l, t, hash, code, why);
		return;
	}

	struct journal_op *jo = journal_op_new(d, STORE_OP_RECEIVE);
	struct store_msg *m = &jo->op.msg;
	if (ib_sign_receipt(ib, &b->message_id, &b->sender_id, hash, true, NULL, NULL, m, err,
	        sizeof(err)) != 0) {
		log_err("inbox: cannot sign a receipt for %.*s: %s", (int)b->message_id.len,
		    (const char *)b->message_id.data, err);
		char mid[UUID_TEXT_LEN + 1];
		snprintf(mid, sizeof(mid), "%.*s", (int)b->message_id.len,
		    (const char *)b->message_id.data);
		ib_send_try_later(ib, link_serial(l), mid, "cannot sign a receipt now");
		wire_document_body_free(b);
		free(jo);
		return;
	}
	m->dir = STORE_IN;
	snprintf(m->msg_id, sizeof(m->msg_id), "%.*s", (int)b->message_id.len,
	    (const char *)b->message_id.data);
	snprintf(m->sender, sizeof(m->sender), "%s", peer);
	snprintf(m->recipient, sizeof(m->recipient), "%s", us);
	m->kind = b->kind;
	m->urgent = b->urgent;
	m->state = STORE_RECEIVED;
	m->created_us = request_now_us();
	memcpy(m->payload_hash, hash, sizeof(hash));
	dup_blob(&m->doc_body, &m->doc_body_len, t->document->body.data, t->document->body.len);
	dup_blob(&m->doc_sig, &m->doc_sig_len, t->document->signature.data,
	    t->document->signature.len);
	dup_blob(&m->doc_cert, &m->doc_cert_len, t->document->signer_certificate.data,
	    t->document->signer_certificate.len);
	jo->link_serial = link_serial(l);
	jo->arg = ib;
	jo->done = ib_receive_done;
	journal_event(jo, "received", m->msg_id, peer, STORE_IN, "received", 0,
	    t->document->body.len, NULL);
	wire_document_body_free(b);
	journal_submit(jo);
	ib_backpressure(ib, l);
}

static void
ib_receive_done(struct journal_op *jo)
{
	struct inbox *ib = jo->arg;
	struct store_msg *m = &jo->op.msg;
	char err[300];
	switch (jo->op.result) {
	case STORE_R_OK:
		crash_point("inbox-before-receipt");
		log_info("inbox: %s from %s received", m->msg_id, m->sender);
		ib_send_receipt(ib, jo->link_serial, m);
		break;
	case STORE_R_EXISTS:
		/* The stored receipt, byte for byte: the sender gets the same proof again. */
		log_info("inbox: %s from %s is a duplicate; stored receipt sent again", m->msg_id,
		    m->sender);
		ib_send_receipt(ib, jo->link_serial, &jo->op.stored);
		break;
	case STORE_R_CONFLICT: {
		ProtobufCBinaryData id = {strlen(m->msg_id), (uint8_t *)m->msg_id};
		ProtobufCBinaryData snd = {strlen(m->sender), (uint8_t *)m->sender};
		struct store_msg r = {0};
		log_warn("inbox: %s from %s reuses an id with different content; refused",
		    m->msg_id, m->sender);
		if (ib_sign_receipt(ib, &id, &snd, m->payload_hash, false, "id-conflict",
		        "this message id was already received with different content", &r, err,
		        sizeof(err)) == 0)
			ib_send_receipt(ib, jo->link_serial, &r);
		store_msg_clear(&r);
		break;
	}
	case STORE_R_FULL:
		ib_send_try_later(ib, jo->link_serial, m->msg_id, "store full");
		break;
	default:
		ib_send_try_later(ib, jo->link_serial, m->msg_id, "store error");
		break;
	}
	ib_resume(ib);
}

/* A signed REJECTED receipt, sent after the document is quarantined. */
static void
ib_reject(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t,
    const uint8_t hash[32], const char *code, const char *text)
{
	char err[300];
	const char *peer = link_peer_id(l);
	log_warn("inbox: transfer %.*s from %s (%s) refused: %s: %s", (int)t->message_id.len,
	    (const char *)t->message_id.data, peer, link_subject(l), code, text);
	struct journal_op *jo = journal_op_new(ib->d, STORE_OP_QUARANTINE);
	struct store_msg *m = &jo->op.msg;
	if (ib_sign_receipt(ib, &t->message_id, &t->sender_id, hash, false, code, text, m, err,
	        sizeof(err)) != 0)
		log_err("inbox: cannot sign a rejection: %s", err);
	m->dir = STORE_IN;
	snprintf(m->msg_id, sizeof(m->msg_id), "%.*s", (int)t->message_id.len,
	    (const char *)t->message_id.data);
	snprintf(m->sender, sizeof(m->sender), "%s", peer);
	snprintf(m->recipient, sizeof(m->recipient), "%s", ib->d->cfg->authority_id);
	memcpy(m->payload_hash, hash, STORE_HASH_LEN);
	dup_blob(&m->doc_body, &m->doc_body_len, t->document->body.data, t->document->body.len);
	dup_blob(&m->doc_sig, &m->doc_sig_len, t->document->signature.data,
	    t->document->signature.len);
	dup_blob(&m->doc_cert, &m->doc_cert_len, t->document->signer_certificate.data,
	    t->document->signer_certificate.len);
	snprintf(jo->op.reason, sizeof(jo->op.reason), "%s: %s", code, text);
	jo->link_serial = link_serial(l);
	jo->arg = ib;
	jo->done = ib_quarantine_done;
	journal_event(jo, "quarantined", m->msg_id, peer, STORE_IN, NULL, 0,
	    t->document->body.len, jo->op.reason);
	journal_submit(jo);
}

static void
ib_quarantine_done(struct journal_op *jo)
{
	struct inbox *ib = jo->arg;
	if (jo->op.result == STORE_R_OK && jo->op.msg.rcpt_body != NULL)
		ib_send_receipt(ib, jo->link_serial, &jo->op.msg);
	else if (jo->op.result != STORE_R_OK)
		ib_send_try_later(ib, jo->link_serial, jo->op.msg.msg_id, "store unavailable");
	else
		ib_send_try_later(ib, jo->link_serial, jo->op.msg.msg_id,
		    "cannot sign a receipt now");
	ib_resume(ib);
}

static int
ib_sign_receipt(struct inbox *ib, const ProtobufCBinaryData *msg_id,
    const ProtobufCBinaryData *sender, const uint8_t hash[32], bool accepted,
    const char *code, const char *text, struct store_msg *m, char *err, size_t errlen)
{
	const char *us = ib->d->cfg->authority_id;
	Rogatory__V1__ReceiptBody rb = ROGATORY__V1__RECEIPT_BODY__INIT;
	rb.message_id = *msg_id;
	rb.sender_id = *sender;
	rb.receiver_id.data = (uint8_t *)us;
	rb.receiver_id.len = strlen(us);
	rb.payload_sha256.data = (uint8_t *)hash;
	rb.payload_sha256.len = EVIDENCE_HASH_LEN;
	rb.outcome = accepted ? ROGATORY__V1__OUTCOME__OUTCOME_ACCEPTED
	                      : ROGATORY__V1__OUTCOME__OUTCOME_REJECTED;
	if (!accepted) {
		rb.reason_code.data = (uint8_t *)code;
		rb.reason_code.len = strlen(code);
		rb.reason_text.data = (uint8_t *)text;
		rb.reason_text.len = strnlen(text, WIRE_TEXT_MAX);
	}
	rb.received_ms = request_now_us() / 1000;
	struct signed_object so = {0};
	if (evidence_sign_receipt(ib->d->signer, &rb, &so, err, errlen) != 0)
		return -1;
	/* The signed object's buffers become the message's receipt blobs. */
	m->rcpt_body = so.body;
	m->rcpt_body_len = so.body_len;
	m->rcpt_sig = so.signature;
	m->rcpt_sig_len = so.signature_len;
	m->rcpt_cert = so.cert;
	m->rcpt_cert_len = so.cert_len;
	return 0;
}

static void
ib_send_receipt(struct inbox *ib, uint64_t serial, const struct store_msg *m)
{
	struct link *l = peers_link_find(ib->d->peers, serial);
	if (l == NULL || link_state(l) != LINK_READY) {
		/* The sender retries; its duplicate gets this stored receipt. */
		log_info("inbox: link gone before the receipt for %s could be sent", m->msg_id);
		return;
	}
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Receipt r = ROGATORY__V1__RECEIPT__INIT;
	Rogatory__V1__SignedObject so;
	wire_signed_object_set(&so, m->rcpt_body, m->rcpt_body_len, m->rcpt_sig, m->rcpt_sig_len,
	    m->rcpt_cert, m->rcpt_cert_len);
	r.receipt = &so;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_RECEIPT;
	env.receipt = &r;
	link_send(l, &env);
}

static void
ib_send_try_later(struct inbox *ib, uint64_t serial, const char *msg_id, const char *why)
{
	struct link *l = peers_link_find(ib->d->peers, serial);
	if (l == NULL || link_state(l) != LINK_READY)
		return;
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Error e = ROGATORY__V1__ERROR__INIT;
	e.code = ROGATORY__V1__ERROR_CODE__ERROR_CODE_TRY_LATER;
	e.text.data = (uint8_t *)why;
	e.text.len = strlen(why);
	e.retry_after_ms = INBOX_TRY_LATER_MS;
	e.message_id.data = (uint8_t *)msg_id;
	e.message_id.len = strlen(msg_id);
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_ERROR;
	env.error = &e;
	log_warn("inbox: %s from %s: TRY_LATER (%s)", msg_id, link_peer_id(l), why);
	link_send(l, &env);
}

/* When the store falls behind, stop reading inbound links until it drains. */
static void
ib_backpressure(struct inbox *ib, struct link *l)
{
	if (store_pending(ib->d->store) < INBOX_PENDING_HIGH || ib->npaused >= INBOX_PAUSED_MAX)
		return;
	link_set_reading(l, false);
	ib->paused[ib->npaused++] = link_serial(l);
}

void
inbox_resume(struct inbox *ib)
{
	ib_resume(ib);
}

static void
ib_resume(struct inbox *ib)
{
	if (ib->npaused == 0 || store_pending(ib->d->store) > INBOX_PENDING_LOW)
		return;
	for (unsigned i = 0; i < ib->npaused; i++) {
		struct link *l = peers_link_find(ib->d->peers, ib->paused[i]);
		if (l != NULL)
			link_set_reading(l, true);
	}
	ib->npaused = 0;
}
