/*
 * inbox: verifies inbound transfers, signs receipts, stores message and receipt in one
 * transaction, and answers only after the commit. It must never send an ACCEPTED
 * receipt for something not on disk, never store a second copy of (sender, id), and
 * never drop an unverifiable document without a trace (it is quarantined with its
 * reason, and the sender gets a signed REJECTED receipt). Error policy: every peer
 * mistake is answered and logged; a full store answers TRY_LATER; nothing is fatal.
 */
#include "inbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "assembly.h"
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
#define INBOX_STAGE_HIGH (8u << 20)  /* chunk bytes queued for the store: stop reading */
#define INBOX_STAGE_LOW (2u << 20)   /* ... resume below this */
#define INBOX_QUOTA_RETRY_MS 60000
#define INBOX_TICK_MS 5000

/* A signer certificate whose chain verified: valid for signatures made within its
 * validity window. Keyed by the SHA-256 of its DER. */
struct trust_entry {
	uint8_t hash[SHA256_DIGEST_LENGTH];
	time_t not_before;
	time_t not_after;
	bool used;
};

/*
 * A message whose attachments are arriving on a link (v1: at most one per link), or,
 * with discard set, one already answered (refused, duplicate, TRY_LATER) whose chunks
 * still in flight are dropped unread. The document waits here; it is committed, with
 * its receipt, only once every attachment matched the signed manifest and every chunk
 * is committed.
 */
struct ib_stage {
	uint64_t link_serial;
	char peer[AUTHORITY_ID_MAX + 1];
	char msg_id[UUID_TEXT_LEN + 1];
	bool discard;
	bool complete;          /* every chunk received; waiting for their commits */
	bool failed;            /* a chunk's commit failed */
	struct assembly as;
	int64_t bset;
	struct store_msg doc;   /* the message as it will be stored (no receipt yet) */
	uint64_t started_ms;
	size_t queued;          /* chunk bytes handed to the store, not yet committed */
	unsigned ops;           /* chunk ops not yet completed */
	bool paused;            /* we stopped reading its link */
	struct ib_stage *next;
};

/* Bytes a sending peer holds here unsettled ([delivery] peer_quota): loaded from the
 * store on first use, then kept: + each message reserved when its transfer is taken
 * (released if it is not stored), + quarantined documents, - fetched messages. */
struct ib_quota {
	char peer[AUTHORITY_ID_MAX + 1];
	int64_t bytes;
	struct ib_quota *next;
};

struct inbox {
	struct rogatoryd *d;
	X509_STORE *ca;
	struct trust_entry cache[INBOX_CACHE];
	unsigned cache_next;
	uint64_t paused[INBOX_PAUSED_MAX];  /* link serials we stopped reading */
	unsigned npaused;
	struct ib_stage *stages;
	struct ib_quota *quotas;
	struct event *tick;
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
static struct ib_quota *ib_quota(struct inbox *ib, const char *peer);
static void ib_quota_add(struct inbox *ib, const char *peer, int64_t bytes);
static void ib_stage_start(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t,
    const Rogatory__V1__DocumentBody *b, const char *mid, const uint8_t hash[32],
    uint64_t size);
static struct ib_stage *ib_stage_of(struct inbox *ib, uint64_t serial);
static void ib_stage_drop(struct inbox *ib, struct ib_stage *st, bool keep_discard);
static void ib_stage_commit(struct inbox *ib, struct ib_stage *st);
static void ib_stage_transfer(const struct ib_stage *st, Rogatory__V1__Transfer *t,
    Rogatory__V1__SignedObject *so);
static void ib_chunk_done(struct journal_op *jo);
static void ib_tick_cb(evutil_socket_t fd, short what, void *arg);
static void ib_discard_chunks(struct inbox *ib, struct link *l,
    const ProtobufCBinaryData *msg_id);
static int ib_answer_stored(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t,
    const Rogatory__V1__DocumentBody *b, const char *mid, const uint8_t hash[32],
    uint64_t size);

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
	ib->tick = event_new(d->base, -1, EV_PERSIST, ib_tick_cb, ib);
	if (ib->tick == NULL) {
		X509_STORE_free(ib->ca);
		free(ib);
		return err_set(err, errlen, "out of memory");
	}
	struct timeval tv = {INBOX_TICK_MS / 1000, 0};
	evtimer_add(ib->tick, &tv);
	*out = ib;
	return 0;
}

void
inbox_free(struct inbox *ib)
{
	if (ib == NULL)
		return;
	/* Staged chunks left in the store are dropped at the next start. */
	while (ib->stages != NULL) {
		struct ib_stage *st = ib->stages;
		ib->stages = st->next;
		assembly_free(&st->as);
		store_msg_clear(&st->doc);
		free(st);
	}
	while (ib->quotas != NULL) {
		struct ib_quota *q = ib->quotas;
		ib->quotas = q->next;
		free(q);
	}
	if (ib->tick != NULL)
		event_free(ib->tick);
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
	/* The whole message's size from its signed manifest, before any chunk. */
	uint64_t size = t->document->body.len;
	for (size_t i = 0; i < b->n_attachments && size <= d->cfg->max_message_size; i++)
		size += b->attachments[i]->size > UINT32_MAX ? (uint64_t)UINT32_MAX + 1
		                                             : b->attachments[i]->size;
	const char *code = NULL;
	if (size > d->cfg->max_message_size) {
		code = "too-large";
		snprintf(why, sizeof(why), "%s%" PRIu64 " bytes; this authority accepts at most %u",
		    size > t->document->body.len ? "signed manifest announces at least " : "",
		    size, d->cfg->max_message_size);
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
		/* A refused message's chunks are not read: nothing beyond its document. */
		ib_discard_chunks(ib, l, &t->message_id);
		return;
	}
	char mid[UUID_TEXT_LEN + 1];
	snprintf(mid, sizeof(mid), "%.*s", (int)b->message_id.len, (const char *)b->message_id.data);
	/* v1 sends one message's chunks together: a new Transfer ends any other still
	 * arriving on this link. */
	struct ib_stage *old = ib_stage_of(ib, link_serial(l));
	if (old != NULL) {
		if (!old->discard)
			log_warn("inbox: %s from %s: attachments incomplete when transfer %s began; "
			    "dropped", old->msg_id, peer, mid);
		ib_stage_drop(ib, old, false);
	}
	struct ib_quota *q = ib_quota(ib, peer);
	if (q == NULL) {
		wire_document_body_free(b);
		ib_send_try_later(ib, link_serial(l), mid, "store unavailable");
		ib_discard_chunks(ib, l, &t->message_id);
		return;
	}
	if (d->cfg->peer_quota > 0 && (uint64_t)q->bytes + size > d->cfg->peer_quota) {
		/* A message we already hold is answered from the store whatever the quota:
		 * its sender can only settle it with the stored receipt. */
		if (ib_answer_stored(ib, l, t, b, mid, hash, size) == 0) {
			wire_document_body_free(b);
			return;
		}
		snprintf(why, sizeof(why), "quota: %s holds %" PRId64 " bytes here unsettled; "
		    "[delivery] peer_quota is %" PRIu64, peer, q->bytes, d->cfg->peer_quota);
		wire_document_body_free(b);
		ib_send_try_later(ib, link_serial(l), mid, why);
		ib_discard_chunks(ib, l, &t->message_id);
		return;
	}
	if (b->n_attachments > 0) {
		ib_stage_start(ib, l, t, b, mid, hash, size);
		wire_document_body_free(b);
		return;
	}

	struct journal_op *jo = journal_op_new(d, STORE_OP_RECEIVE);
	struct store_msg *m = &jo->op.msg;
	if (ib_sign_receipt(ib, &b->message_id, &b->sender_id, hash, true, NULL, NULL, m, err,
	        sizeof(err)) != 0) {
		log_err("inbox: cannot sign a receipt for %s: %s", mid, err);
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
	m->size = size;
	jo->link_serial = link_serial(l);
	jo->arg = ib;
	jo->done = ib_receive_done;
	journal_event(jo, "received", m->msg_id, peer, STORE_IN, "received", 0, size, NULL);
	wire_document_body_free(b);
	ib_quota_add(ib, peer, (int64_t)size);
	journal_submit(jo);
	ib_backpressure(ib, l);
}

static void
ib_receive_done(struct journal_op *jo)
{
	struct inbox *ib = jo->arg;
	struct store_msg *m = &jo->op.msg;
	char err[300];
	if (jo->op.result != STORE_R_OK) {
		/* Not stored: its reservation goes, and so do its staged chunks. */
		ib_quota_add(ib, m->sender, -(int64_t)(m->size ? m->size : m->doc_body_len));
		if (m->bset != 0) {
			struct journal_op *dj = journal_op_new(ib->d, STORE_OP_DROP_SET);
			dj->op.chunk.bset = m->bset;
			journal_submit(dj);
		}
	}
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
	if (jo->op.result == STORE_R_OK)
		ib_quota_add(ib, jo->op.msg.sender, (int64_t)jo->op.msg.doc_body_len);
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
		bool staged = false;   /* its attachment staging holds it too */
		for (struct ib_stage *st = ib->stages; st != NULL && !staged; st = st->next)
			staged = st->paused && st->link_serial == ib->paused[i];
		if (l != NULL && !staged)
			link_set_reading(l, true);
	}
	ib->npaused = 0;
}

/* ---- quotas ---- */

/* NULL when the store cannot say (the transfer then gets TRY_LATER). */
static struct ib_quota *
ib_quota(struct inbox *ib, const char *peer)
{
	for (struct ib_quota *q = ib->quotas; q != NULL; q = q->next)
		if (strcmp(q->peer, peer) == 0)
			return q;
	int64_t v = store_unsettled(ib->d->store, peer);
	if (v < 0)
		return NULL;
	struct ib_quota *q = calloc(1, sizeof(*q));
	if (q == NULL)
		fatal("out of memory");
	snprintf(q->peer, sizeof(q->peer), "%s", peer);
	q->bytes = v;
	q->next = ib->quotas;
	ib->quotas = q;
	return q;
}

static void
ib_quota_add(struct inbox *ib, const char *peer, int64_t bytes)
{
	/* Only a figure already loaded: one loaded later reads the committed change. */
	struct ib_quota *q = ib->quotas;
	while (q != NULL && strcmp(q->peer, peer) != 0)
		q = q->next;
	if (q == NULL)
		return;
	q->bytes += bytes;
	if (q->bytes < 0)
		q->bytes = 0;
}

void
inbox_fetched(struct inbox *ib, const char *peer, uint64_t size)
{
	ib_quota_add(ib, peer, -(int64_t)size);
}

/* ---- attachments ---- */

/* The store-queue backpressure (ib_backpressure) holds this link. */
static bool
ib_globally_paused(const struct inbox *ib, uint64_t serial)
{
	for (unsigned i = 0; i < ib->npaused; i++)
		if (ib->paused[i] == serial)
			return true;
	return false;
}

static void
ib_discard_chunks(struct inbox *ib, struct link *l, const ProtobufCBinaryData *msg_id)
{
	struct ib_stage *st = ib_stage_of(ib, link_serial(l));
	if (st != NULL)
		ib_stage_drop(ib, st, false);
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		fatal("out of memory");
	st->link_serial = link_serial(l);
	st->discard = true;
	snprintf(st->peer, sizeof(st->peer), "%s", link_peer_id(l));
	snprintf(st->msg_id, sizeof(st->msg_id), "%.*s", (int)msg_id->len,
	    (const char *)msg_id->data);
	st->next = ib->stages;
	ib->stages = st;
}

/* The link's stage still taking chunks (or discarding them), if any. */
static struct ib_stage *
ib_stage_of(struct inbox *ib, uint64_t serial)
{
	for (struct ib_stage *st = ib->stages; st != NULL; st = st->next)
		if (st->link_serial == serial && !st->complete)
			return st;
	return NULL;
}

static struct ib_stage *
ib_stage_by_bset(struct inbox *ib, int64_t bset)
{
	for (struct ib_stage *st = ib->stages; st != NULL; st = st->next)
		if (!st->discard && st->bset == bset)
			return st;
	return NULL;
}

/* Forgets a stage and deletes its chunks (the store drops them after whatever chunk
 * ops are still queued, which run first). keep_discard: the link's further chunks for
 * this message are still dropped unread. */
static void
ib_stage_drop(struct inbox *ib, struct ib_stage *st, bool keep_discard)
{
	if (!st->discard) {
		struct journal_op *jo = journal_op_new(ib->d, STORE_OP_DROP_SET);
		jo->op.chunk.bset = st->bset;
		journal_submit(jo);
		ib_quota_add(ib, st->peer, -(int64_t)st->doc.size);
		if (st->paused && !ib_globally_paused(ib, st->link_serial)) {
			struct link *l = peers_link_find(ib->d->peers, st->link_serial);
			if (l != NULL)
				link_set_reading(l, true);
		}
	}
	if (keep_discard && !st->discard) {
		assembly_free(&st->as);
		store_msg_clear(&st->doc);
		st->discard = true;
		st->bset = 0;
		st->paused = false;
		return;
	}
	for (struct ib_stage **pp = &ib->stages; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	}
	assembly_free(&st->as);
	store_msg_clear(&st->doc);
	free(st);
}

static void
ib_blob(uint8_t **dst, size_t *len, const ProtobufCBinaryData *b)
{
	dup_blob(dst, len, b->data, b->len);
}

/* A Transfer whose (sender, id) is already stored: answered at once from the store
 * (its chunks, if any, are dropped unread): the stored receipt for the same content, a
 * signed id-conflict refusal for other content. 0 answered, 1 not stored, -1 store
 * error. */
static int
ib_answer_stored(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t,
    const Rogatory__V1__DocumentBody *b, const char *mid, const uint8_t hash[32],
    uint64_t size)
{
	struct rogatoryd *d = ib->d;
	const char *peer = link_peer_id(l);
	char err[300];
	struct store_msg stored = {0};
	int r = store_get(d->store, STORE_IN, peer, mid, &stored);
	if (r != 0)
		return r < 0 ? -1 : 1;
	ib_discard_chunks(ib, l, &t->message_id);
	if (memcmp(stored.payload_hash, hash, STORE_HASH_LEN) == 0) {
		log_info("inbox: %s from %s is a duplicate; stored receipt sent again, its "
		    "attachments are not read again", mid, peer);
		struct journal_op *jo = journal_op_new(d, STORE_OP_EVENT);
		journal_event(jo, "duplicate", mid, peer, STORE_IN, NULL, 0, size, NULL);
		journal_submit(jo);
		ib_send_receipt(ib, link_serial(l), &stored);
	} else {
		struct store_msg rj = {0};
		log_warn("inbox: %s from %s reuses an id with different content; refused", mid,
		    peer);
		struct journal_op *jo = journal_op_new(d, STORE_OP_EVENT);
		journal_event(jo, "refused-id-conflict", mid, peer, STORE_IN, NULL, 0, size,
		    "message id already received with different content");
		journal_submit(jo);
		if (ib_sign_receipt(ib, &b->message_id, &b->sender_id, hash, false, "id-conflict",
		        "this message id was already received with different content", &rj, err,
		        sizeof(err)) == 0)
			ib_send_receipt(ib, link_serial(l), &rj);
		store_msg_clear(&rj);
	}
	store_msg_clear(&stored);
	return 0;
}

/* A checked Transfer whose manifest lists attachments: answer a duplicate at once with
 * the stored receipt (its chunks are then dropped unread), else stage it. */
static void
ib_stage_start(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t,
    const Rogatory__V1__DocumentBody *b, const char *mid, const uint8_t hash[32],
    uint64_t size)
{
	struct rogatoryd *d = ib->d;
	const char *peer = link_peer_id(l);
	char err[300];
	int r = ib_answer_stored(ib, l, t, b, mid, hash, size);
	if (r == 0)
		return;
	if (r < 0) {
		ib_send_try_later(ib, link_serial(l), mid, "store unavailable");
		ib_discard_chunks(ib, l, &t->message_id);
		return;
	}
	/* (inbox_transfer has ended this link's earlier staging.) */
	struct ib_stage *st = calloc(1, sizeof(*st));
	if (st == NULL)
		fatal("out of memory");
	uint64_t sizes[WIRE_ATTACHMENTS_MAX];
	uint8_t hashes[WIRE_ATTACHMENTS_MAX * ASSEMBLY_HASH_LEN];
	for (size_t i = 0; i < b->n_attachments; i++) {
		sizes[i] = b->attachments[i]->size;
		memcpy(hashes + i * ASSEMBLY_HASH_LEN, b->attachments[i]->sha256.data,
		    ASSEMBLY_HASH_LEN);
	}
	st->link_serial = link_serial(l);
	snprintf(st->peer, sizeof(st->peer), "%s", peer);
	snprintf(st->msg_id, sizeof(st->msg_id), "%s", mid);
	st->started_ms = link_now_ms();
	struct store_msg *m = &st->doc;
	m->dir = STORE_IN;
	snprintf(m->msg_id, sizeof(m->msg_id), "%s", mid);
	snprintf(m->sender, sizeof(m->sender), "%s", peer);
	snprintf(m->recipient, sizeof(m->recipient), "%s", d->cfg->authority_id);
	m->kind = b->kind;
	m->urgent = b->urgent;
	m->state = STORE_RECEIVED;
	m->size = size;
	memcpy(m->payload_hash, hash, STORE_HASH_LEN);
	ib_blob(&m->doc_body, &m->doc_body_len, &t->document->body);
	ib_blob(&m->doc_sig, &m->doc_sig_len, &t->document->signature);
	ib_blob(&m->doc_cert, &m->doc_cert_len, &t->document->signer_certificate);
	st->next = ib->stages;
	ib->stages = st;
	if (assembly_init(&st->as, b->n_attachments, sizes, hashes, err, sizeof(err)) != 0) {
		/* Only an empty attachment whose manifest hash is not that of no bytes. */
		Rogatory__V1__Transfer tt;
		Rogatory__V1__SignedObject so;
		ib_stage_transfer(st, &tt, &so);
		st->discard = true;   /* nothing staged yet: nothing to drop */
		ib_reject(ib, l, &tt, hash, "attachment-mismatch", err);
		return;
	}
	st->bset = store_bset_new(d->store);
	m->bset = st->bset;
	ib_quota_add(ib, peer, (int64_t)size);
	log_debug("inbox: %s from %s: receiving %zu attachments, %" PRIu64 " bytes", mid, peer,
	    b->n_attachments, size);
	if (assembly_complete(&st->as)) {
		st->complete = true;
		ib_stage_commit(ib, st);
	}
}

/* A Transfer rebuilt from a stage's document (for a rejection). */
static void
ib_stage_transfer(const struct ib_stage *st, Rogatory__V1__Transfer *t,
    Rogatory__V1__SignedObject *so)
{
	rogatory__v1__transfer__init(t);
	t->message_id.data = (uint8_t *)st->doc.msg_id;
	t->message_id.len = strlen(st->doc.msg_id);
	t->sender_id.data = (uint8_t *)st->doc.sender;
	t->sender_id.len = strlen(st->doc.sender);
	t->recipient_id.data = (uint8_t *)st->doc.recipient;
	t->recipient_id.len = strlen(st->doc.recipient);
	wire_signed_object_set(so, st->doc.doc_body, st->doc.doc_body_len, st->doc.doc_sig,
	    st->doc.doc_sig_len, st->doc.doc_cert, st->doc.doc_cert_len);
	t->document = so;
}

void
inbox_chunk(struct inbox *ib, struct link *l, const Rogatory__V1__Chunk *c)
{
	char mid[UUID_TEXT_LEN + 1], err[300];
	snprintf(mid, sizeof(mid), "%.*s", (int)c->message_id.len, (const char *)c->message_id.data);
	struct ib_stage *st = ib_stage_of(ib, link_serial(l));
	if (st == NULL || strcmp(st->msg_id, mid) != 0) {
		char why[200];
		snprintf(why, sizeof(why), "chunk for message %s without its transfer", mid);
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, why);
		return;
	}
	if (st->discard)
		return;
	enum assembly_status as = assembly_add(&st->as, c->attachment_index, c->offset,
	    c->data.data, c->data.len, err, sizeof(err));
	if (as == ASSEMBLY_ORDER) {
		char why[400];
		snprintf(why, sizeof(why), "message %s: %s", mid, err);
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, why);
		return;
	}
	if (as == ASSEMBLY_OVERRUN || as == ASSEMBLY_MISMATCH) {
		/* The signed manifest and the bytes disagree: a final refusal. */
		Rogatory__V1__Transfer tt;
		Rogatory__V1__SignedObject so;
		ib_stage_transfer(st, &tt, &so);
		ib_reject(ib, l, &tt, st->doc.payload_hash, "attachment-mismatch", err);
		ib_stage_drop(ib, st, true);
		return;
	}
	struct journal_op *jo = journal_op_new(ib->d, STORE_OP_CHUNK);
	/* The op's message owns the copy (freed with the op). */
	dup_blob(&jo->op.msg.doc_body, &jo->op.msg.doc_body_len, c->data.data, c->data.len);
	snprintf(jo->op.msg.msg_id, sizeof(jo->op.msg.msg_id), "%s", mid);
	snprintf(jo->op.msg.sender, sizeof(jo->op.msg.sender), "%s", st->peer);
	jo->op.chunk.bset = st->bset;
	jo->op.chunk.att = c->attachment_index;
	jo->op.chunk.off = c->offset;
	jo->op.chunk.data = jo->op.msg.doc_body;
	jo->op.chunk.len = c->data.len;
	jo->link_serial = link_serial(l);
	jo->arg = ib;
	jo->done = ib_chunk_done;
	st->queued += c->data.len;
	st->ops++;
	journal_submit(jo);
	if (as == ASSEMBLY_COMPLETE)
		st->complete = true;
	if (st->queued > INBOX_STAGE_HIGH && !st->paused) {
		link_set_reading(l, false);
		st->paused = true;
	}
}

static void
ib_chunk_done(struct journal_op *jo)
{
	struct inbox *ib = jo->arg;
	struct ib_stage *st = ib_stage_by_bset(ib, jo->op.chunk.bset);
	if (st == NULL)
		return;    /* dropped meanwhile: its chunks are being deleted */
	st->queued -= jo->op.chunk.len;
	st->ops--;
	if (jo->op.result != STORE_R_OK && !st->failed) {
		st->failed = true;
		ib_send_try_later(ib, st->link_serial, st->msg_id,
		    jo->op.result == STORE_R_FULL ? "store full" : "store error");
	}
	if (st->failed) {
		if (!st->complete) {
			ib_stage_drop(ib, st, true);
		} else if (st->ops == 0) {
			ib_stage_drop(ib, st, false);
		}
		return;
	}
	crash_point("inbox-chunk-stored");
	if (st->paused && st->queued < INBOX_STAGE_LOW) {
		struct link *l = peers_link_find(ib->d->peers, st->link_serial);
		if (l != NULL && !ib_globally_paused(ib, st->link_serial))
			link_set_reading(l, true);
		st->paused = false;
	}
	if (st->complete && st->ops == 0)
		ib_stage_commit(ib, st);
}

/* Every attachment matched and every chunk is committed: the message and its receipt
 * go in one transaction, as for a message without attachments. */
static void
ib_stage_commit(struct inbox *ib, struct ib_stage *st)
{
	char err[300];
	struct journal_op *jo = journal_op_new(ib->d, STORE_OP_RECEIVE);
	struct store_msg *m = &jo->op.msg;
	ProtobufCBinaryData id = {strlen(st->doc.msg_id), (uint8_t *)st->doc.msg_id};
	ProtobufCBinaryData snd = {strlen(st->doc.sender), (uint8_t *)st->doc.sender};
	if (ib_sign_receipt(ib, &id, &snd, st->doc.payload_hash, true, NULL, NULL, m, err,
	        sizeof(err)) != 0) {
		log_err("inbox: cannot sign a receipt for %s: %s", st->msg_id, err);
		ib_send_try_later(ib, st->link_serial, st->msg_id, "cannot sign a receipt now");
		free(jo);
		ib_stage_drop(ib, st, false);
		return;
	}
	/* The stage's document moves into the op (receipt blobs already set). */
	uint8_t *rb = m->rcpt_body, *rs = m->rcpt_sig, *rc = m->rcpt_cert;
	size_t rbl = m->rcpt_body_len, rsl = m->rcpt_sig_len, rcl = m->rcpt_cert_len;
	*m = st->doc;
	memset(&st->doc, 0, sizeof(st->doc));
	m->rcpt_body = rb;
	m->rcpt_body_len = rbl;
	m->rcpt_sig = rs;
	m->rcpt_sig_len = rsl;
	m->rcpt_cert = rc;
	m->rcpt_cert_len = rcl;
	m->created_us = request_now_us();
	jo->link_serial = st->link_serial;
	jo->arg = ib;
	jo->done = ib_receive_done;
	journal_event(jo, "received", m->msg_id, m->sender, STORE_IN, "received", 0, m->size,
	    NULL);
	journal_submit(jo);
	/* The reservation and the chunks now belong to the op (ib_receive_done). */
	for (struct ib_stage **pp = &ib->stages; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	}
	assembly_free(&st->as);
	free(st);
}

void
inbox_link_down(struct inbox *ib, struct link *l)
{
	uint64_t serial = link_serial(l);
	struct ib_stage *st = ib->stages;
	while (st != NULL) {
		struct ib_stage *next = st->next;
		/* Complete stages finish their commit (the receipt then finds no link; the
		 * sender's resend gets the stored receipt). */
		if (st->link_serial == serial && !st->complete) {
			if (!st->discard)
				log_info("inbox: %s from %s: link lost with attachments incomplete "
				    "(%" PRIu64 " of %" PRIu64 " bytes); staging dropped", st->msg_id,
				    st->peer, st->as.received, st->as.total);
			ib_stage_drop(ib, st, false);
		}
		st = next;
	}
}

static void
ib_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct inbox *ib = arg;
	uint64_t now = link_now_ms();
	struct ib_stage *st = ib->stages;
	while (st != NULL) {
		struct ib_stage *next = st->next;
		if (!st->discard && !st->complete &&
		    now - st->started_ms > ib->d->cfg->staging_timeout_ms) {
			struct link *l = peers_link_find(ib->d->peers, st->link_serial);
			log_warn("inbox: %s from %s: attachments incomplete after [delivery] "
			    "staging_timeout; staging dropped", st->msg_id, st->peer);
			ib_stage_drop(ib, st, false);
			if (l != NULL) {
				/* Closing may drop the link's other stages, `next` among them:
				 * start over (the dropped stages are gone from the list). */
				link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_PROTOCOL,
				    "attachments incomplete after staging_timeout");
				next = ib->stages;
			}
		}
		st = next;
	}
}
