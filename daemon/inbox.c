/*
 * inbox: decides each inbound Transfer, signs its receipt, stores message and receipt in
 * one transaction, and answers only after the commit. It must never send an ACCEPTED
 * receipt for something not on disk, never store a second copy of (sender, id), never
 * decide the same content twice (a decision stored, acceptance or refusal, is answered
 * again byte for byte, whatever the settings, the CRL or the clock say now), and never
 * drop an unverifiable document without a trace (it is quarantined with its reason and
 * its signed REJECTED receipt). Error policy: every peer mistake is answered and
 * logged; a full store or quota answers TRY_LATER; nothing is fatal.
 *
 * Attachments arriving in chunks are inboxstage.c's; what each sending authority costs
 * (quota, bytes waiting for the store, duplicates) is inboxpeer.c's.
 */
#include "inbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "caseflow.h"
#include "cert.h"
#include "config.h"
#include "crash.h"
#include "crl.h"
#include "directory.h"
#include "evidence.h"
#include "inboxint.h"
#include "link.h"
#include "log.h"
#include "peer.h"
#include "request.h"
#include "revocation.h"
#include "rogatoryd.h"

#define INBOX_TRY_LATER_MS 30000
#define INBOX_TICK_MS 5000

/* What the checks of one Transfer look at. */
struct ib_judge {
	struct inbox *ib;
	struct link *l;
	const Rogatory__V1__Transfer *t;
	const Rogatory__V1__DocumentBody *b;
	const char *signer;
	uint64_t size;          /* signed body + the manifest's attachment sizes */
	char *why;
	size_t whylen;
};

static void ib_tick_cb(evutil_socket_t fd, short what, void *arg);
static const char *ib_judge(struct ib_judge *j);
static void ib_answer_settled(struct inbox *ib, struct link *l, const struct store_msg *stored,
    const char *mid, uint64_t bytes);
static void ib_receive(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t,
    const Rogatory__V1__DocumentBody *b, const char *mid, const uint8_t hash[32],
    uint64_t size);
static void ib_quarantine_done(struct journal_op *jo);
static int ib_trusted(struct inbox *ib, const ProtobufCBinaryData *der, int64_t at_ms,
    char *err, size_t errlen);

int
inbox_new(struct rogatoryd *d, struct inbox **out, char *err, size_t errlen)
{
	struct inbox *ib = calloc(1, sizeof(*ib));
	X509_STORE *ca = NULL;
	if (ib == NULL)
		return err_set(err, errlen, "out of memory");
	ib->d = d;
	if (cert_store_load(d->cfg->tls_ca, &ca, err, errlen) != 0) {
		free(ib);
		return -1;
	}
	ib->ca = ca;
	ib->tick = event_new(d->base, -1, EV_PERSIST, ib_tick_cb, ib);
	if (ib->tick == NULL) {
		X509_STORE_free(ca);
		free(ib);
		return err_set(err, errlen, "out of memory");
	}
	struct timeval tv = {INBOX_TICK_MS / 1000, 0};
	evtimer_add(ib->tick, &tv);
	/* Staging that survived a restart waits for its resent Transfer. */
	ib_keep_restore(ib);
	*out = ib;
	return 0;
}

void
inbox_free(struct inbox *ib)
{
	if (ib == NULL)
		return;
	/* Staged chunks left in the store are dropped at the next start, unless a staging
	 * record keeps them for a resume (inboxkeep.c). */
	ib_stage_free_all(ib);
	ib_peers_free(ib);
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

static void
ib_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ib_stage_tick(arg);
}

static bool
bytes_is(const ProtobufCBinaryData *b, const char *s)
{
	return b->len == strlen(s) && memcmp(b->data, s, b->len) == 0;
}

void
ib_dup(uint8_t **dst, size_t *len, const uint8_t *src, size_t n)
{
	*dst = malloc(n ? n : 1);
	if (*dst == NULL)
		fatal("out of memory");
	memcpy(*dst, src, n);
	*len = n;
}

/* ---- trust in signer certificates ---- */

/* Revocation is judged now, against the effective CRL: a signer whose key was
 * compromised is refused even for documents signed before. The verdict is kept with the
 * trusted certificate for that CRL only (its fingerprint): a new CRL judges it again. */
static bool
ib_revoked(struct inbox *ib, X509 *c, struct ib_trust *e, char *err, size_t errlen)
{
	const struct crl *crl = ib->d->revocation ? revocation_crl(ib->d->revocation) : NULL;
	const uint8_t *fp = crl_fingerprint(crl);
	bool revoked = fp != NULL && crl_cert_revoked(crl, c);
	if (e != NULL && fp != NULL) {
		memcpy(e->crl_fp, fp, sizeof(e->crl_fp));
		e->crl_judged = true;
		e->revoked = revoked;
	}
	if (revoked)
		err_set(err, errlen, "signer certificate is revoked (effective CRL)");
	return revoked;
}

/* A trusted certificate's verdict against the CRL in force now: the cached one when it
 * was judged against this CRL, else judged now (its DER parsed once per CRL). */
static int
ib_cached_revoked(struct inbox *ib, struct ib_trust *e, const ProtobufCBinaryData *der,
    char *err, size_t errlen)
{
	const struct crl *crl = ib->d->revocation ? revocation_crl(ib->d->revocation) : NULL;
	const uint8_t *fp = crl_fingerprint(crl);
	if (fp == NULL)
		return 0;
	if (e->crl_judged && memcmp(e->crl_fp, fp, sizeof(e->crl_fp)) == 0) {
		if (!e->revoked)
			return 0;
		return err_set(err, errlen, "signer certificate is revoked (effective CRL)");
	}
	X509 *cc = NULL;
	if (cert_from_der(der->data, der->len, &cc, err, errlen) != 0)
		return -1;
	bool revoked = ib_revoked(ib, cc, e, err, errlen);
	X509_free(cc);
	return revoked ? -1 : 0;
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
	for (unsigned i = 0; i < IB_TRUST_CACHE; i++) {
		struct ib_trust *e = &ib->cache[i];
		if (e->used && memcmp(e->hash, h, sizeof(h)) == 0) {
			if (at > e->not_after || e->not_before > time(NULL))
				return err_set(err, errlen, "signed at %lld, outside the signer "
				    "certificate's validity", (long long)at);
			return ib_cached_revoked(ib, e, der, err, errlen);
		}
	}
	X509 *c = NULL;
	if (cert_from_der(der->data, der->len, &c, err, errlen) != 0)
		return -1;
	int rc = cert_verify_at(ib->ca, c, cert_signing_time(c, at), err, errlen);
	struct ib_trust t = {0};
	if (rc == 0 && ib_revoked(ib, c, &t, err, errlen)) {
		X509_free(c);
		return -1;
	}
	if (rc == 0) {
		struct ib_trust *e = &ib->cache[ib->cache_next++ % IB_TRUST_CACHE];
		*e = t;
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

/* ---- the checks of an authenticated document, in order ---- */

typedef bool (*ib_check_fn)(struct ib_judge *j);

static bool
chk_size(struct ib_judge *j)
{
	uint32_t max = j->ib->d->cfg->max_message_size;
	if (j->size <= max)
		return false;
	snprintf(j->why, j->whylen, "%s%" PRIu64 " bytes; this authority accepts at most %u",
	    j->size > j->t->document->body.len ? "signed manifest announces at least " : "",
	    j->size, max);
	return true;
}

static bool
chk_sender(struct ib_judge *j)
{
	if (bytes_is(&j->b->sender_id, link_peer_id(j->l)))
		return false;
	snprintf(j->why, j->whylen, "signed by %s but arrived on the link from %s", j->signer,
	    link_peer_id(j->l));
	return true;
}

static bool
chk_recipient(struct ib_judge *j)
{
	const char *us = j->ib->d->cfg->authority_id;
	if (bytes_is(&j->b->recipient_id, us))
		return false;
	snprintf(j->why, j->whylen, "addressed to %.*s, this is %s", (int)j->b->recipient_id.len,
	    (const char *)j->b->recipient_id.data, us);
	return true;
}

static bool
chk_routing(struct ib_judge *j)
{
	char err[300];
	if (wire_transfer_matches(j->t, j->b, err, sizeof(err)) == 0)
		return false;
	snprintf(j->why, j->whylen, "%s", err);
	return true;
}

static bool
chk_signer(struct ib_judge *j)
{
	char err[300];
	if (ib_trusted(j->ib, &j->t->document->signer_certificate, j->b->created_ms, err,
	        sizeof(err)) == 0)
		return false;
	snprintf(j->why, j->whylen, "signer certificate: %s", err);
	return true;
}

/* Which kinds we receive concerns requests; a status answers a case (its own check). */
static bool
chk_kind(struct ib_judge *j)
{
	const struct config *c = j->ib->d->cfg;
	if (j->b->doc_type != ROGATORY__V1__DOC_TYPE__DOC_TYPE_REQUEST)
		return false;
	const struct authority *self = directory_find(c->directory, c->authority_id);
	if (self == NULL || (self->kinds & (1u << j->b->kind)))
		return false;
	snprintf(j->why, j->whylen, "this authority does not receive %s requests",
	    wire_kind_name(j->b->kind));
	return true;
}

/* The case layer's rules (caseflow.h): the document of its kind or status, and a status
 * legal in its case as committed (the store judges it again at commit). */
static bool
chk_document(struct ib_judge *j)
{
	return caseflow_refuses_document(j->ib->d, j->b, j->why, j->whylen);
}

static bool
chk_transition(struct ib_judge *j)
{
	return caseflow_refuses_transition(j->ib->d, j->b, j->why, j->whylen);
}

/* After the signature (bad-signature), in this order; the first that refuses names the
 * reason (PROTOCOL.md section 8). */
static const struct {
	const char *code;
	ib_check_fn refuses;
} ib_checks[] = {
	{ "too-large", chk_size },
	{ "wrong-sender", chk_sender },
	{ "not-for-us", chk_recipient },
	{ "routing-mismatch", chk_routing },
	{ "untrusted-signer", chk_signer },
	{ "unknown-kind", chk_kind },
	{ "invalid-document", chk_document },
	{ "illegal-transition", chk_transition },
};

/* The reason code refusing the document, or NULL when it is acceptable. */
static const char *
ib_judge(struct ib_judge *j)
{
	/* The whole message's size from its signed manifest, before any chunk. */
	j->size = j->t->document->body.len;
	for (size_t i = 0; i < j->b->n_attachments && j->size <= UINT32_MAX; i++)
		j->size += j->b->attachments[i]->size > UINT32_MAX ? (uint64_t)UINT32_MAX + 1
		                                                 : j->b->attachments[i]->size;
	for (size_t i = 0; i < sizeof(ib_checks) / sizeof(ib_checks[0]); i++)
		if (ib_checks[i].refuses(j))
			return ib_checks[i].code;
	return NULL;
}

/* ---- a Transfer ---- */

void
inbox_transfer(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t)
{
	struct rogatoryd *d = ib->d;
	const char *peer = link_peer_id(l);
	uint64_t serial = link_serial(l);
	uint8_t hash[EVIDENCE_HASH_LEN];
	char mid[UUID_TEXT_LEN + 1], sender[AUTHORITY_ID_MAX + 1], signer[AUTHORITY_ID_MAX + 1];
	char why[400];
	const Rogatory__V1__SignedObject *so = t->document;
	evidence_payload_hash(so->body.data, so->body.len, hash);
	/* The routing copies (checked against the signed body below): the key of what was
	 * decided before, and what a refusal of an unauthenticated body names. */
	snprintf(mid, sizeof(mid), "%.*s", (int)t->message_id.len, (const char *)t->message_id.data);
	snprintf(sender, sizeof(sender), "%.*s", (int)t->sender_id.len,
	    (const char *)t->sender_id.data);
	struct ib_doc doc = {mid, peer, sender, hash, so->body.data, so->body.len,
	    so->signature.data, so->signature.len, so->signer_certificate.data,
	    so->signer_certificate.len};
	/* v1 sends one message's chunks together: a new Transfer ends the link's earlier
	 * one still waiting for its chunks. */
	ib_stage_end_link(ib, l, mid);

	/* 1. A decision already taken on this content stands, byte for byte, whatever the
	 * settings, the CRL or the clock say now. */
	struct store_msg stored;
	int settled = store_settled(d->store, peer, mid, hash, &stored);
	if (settled < 0) {
		ib_send_try_later(ib, serial, mid, "store unavailable");
		ib_stage_discard(ib, l, mid);
		return;
	}
	if (settled == STORE_SETTLED_SAME) {
		ib_answer_settled(ib, l, &stored, mid, so->body.len);
		store_msg_clear(&stored);
		ib_stage_discard(ib, l, mid);
		return;
	}

	/* 2. Is it acceptable? */
	Rogatory__V1__DocumentBody *b = NULL;
	const char *code = NULL;
	struct ib_judge j = {ib, l, t, NULL, signer, 0, why, sizeof(why)};
	if (evidence_open_document(so, signer, &b, why, sizeof(why)) != 0) {
		code = "bad-signature";
	} else {
		j.b = b;
		code = ib_judge(&j);
		if (code == NULL && settled == STORE_SETTLED_OTHER) {
			code = "id-conflict";
			snprintf(why, sizeof(why), "this message id was already used for other content");
		}
	}
	if (code != NULL) {
		wire_document_body_free(b);
		ib_reject(ib, serial, &doc, code, why);
		/* A refused message's chunks are not read: nothing beyond its document. */
		ib_stage_discard(ib, l, mid);
		return;
	}

	/* A resend of a message whose bytes were arriving when its link was lost: they
	 * stay (their quota too), the sender continues where they stop (version 3). */
	if (b->n_attachments > 0 && ib_stage_resume(ib, l, t, b, mid, hash, j.size)) {
		wire_document_body_free(b);
		return;
	}

	/* 3. Room in its sender's quota for the whole message. */
	int q = ib_quota_check(ib, ib_peer_get(ib, peer), j.size, why, sizeof(why));
	if (q != 0) {
		wire_document_body_free(b);
		ib_send_try_later(ib, serial, mid, q < 0 ? "store unavailable" : why);
		ib_stage_discard(ib, l, mid);
		return;
	}
	if (b->n_attachments > 0)
		ib_stage_start(ib, l, t, b, mid, hash, j.size);
	else
		ib_receive(ib, l, t, b, mid, hash, j.size);
	wire_document_body_free(b);
}

/* A resend of something decided: the stored receipt, ACCEPTED or REJECTED, verbatim. It
 * is recorded as a "duplicate" event at a bounded rate per peer. */
static void
ib_answer_settled(struct inbox *ib, struct link *l, const struct store_msg *stored,
    const char *mid, uint64_t bytes)
{
	const char *peer = link_peer_id(l);
	unsigned unlogged = 0;
	if (ib_duplicate_record(ib, ib_peer_get(ib, peer), &unlogged)) {
		char reason[256], more[96] = "";
		if (unlogged > 0)
			snprintf(more, sizeof(more), "; %u further duplicates from %s since the last "
			    "one recorded", unlogged, peer);
		snprintf(reason, sizeof(reason), "%s%s", stored->refused ? "refused before: its "
		    "signed refusal sent again" : "received before: its signed receipt sent again",
		    more);
		log_info("inbox: %s from %s is a duplicate; stored %s sent again, its attachments "
		         "are not read again%s", mid, peer, stored->refused ? "refusal" : "receipt",
		    more);
		struct journal_op *jo = journal_op_new(ib->d, STORE_OP_EVENT);
		journal_event(jo, "duplicate", mid, peer, STORE_IN, NULL, 0, bytes, reason);
		journal_submit(jo);
	}
	ib_send_receipt(ib, link_serial(l), stored);
}

/* An acceptable message without attachments: signed receipt, then message and receipt
 * in one transaction; the receipt goes out after the commit (ib_receive_done). */
static void
ib_receive(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t,
    const Rogatory__V1__DocumentBody *b, const char *mid, const uint8_t hash[32],
    uint64_t size)
{
	const char *peer = link_peer_id(l);
	char err[300];
	struct journal_op *jo = journal_op_new(ib->d, STORE_OP_RECEIVE);
	struct store_msg *m = &jo->op.msg;
	if (ib_sign_receipt(ib, mid, peer, hash, true, NULL, NULL, m, err, sizeof(err)) != 0) {
		log_err("inbox: cannot sign a receipt for %s: %s", mid, err);
		ib_send_try_later(ib, link_serial(l), mid, "cannot sign a receipt now");
		store_msg_clear(m);
		free(jo);
		return;
	}
	m->dir = STORE_IN;
	snprintf(m->msg_id, sizeof(m->msg_id), "%s", mid);
	snprintf(m->sender, sizeof(m->sender), "%s", peer);
	snprintf(m->recipient, sizeof(m->recipient), "%s", ib->d->cfg->authority_id);
	m->kind = b->kind;
	m->urgent = b->urgent;
	m->state = STORE_RECEIVED;
	/* created_us: the receipt's received_ms (ib_sign_receipt). */
	memcpy(m->payload_hash, hash, EVIDENCE_HASH_LEN);
	ib_dup(&m->doc_body, &m->doc_body_len, t->document->body.data, t->document->body.len);
	ib_dup(&m->doc_sig, &m->doc_sig_len, t->document->signature.data,
	    t->document->signature.len);
	ib_dup(&m->doc_cert, &m->doc_cert_len, t->document->signer_certificate.data,
	    t->document->signer_certificate.len);
	m->size = size;
	caseflow_fill(ib->d, m, b);
	jo->link_serial = link_serial(l);
	jo->arg = ib;
	jo->done = ib_receive_done;
	journal_event(jo, "received", m->msg_id, peer, STORE_IN, "received", 0, size, NULL);
	ib_quota_add(ib, peer, (int64_t)size);
	ib_submit(ib, jo);
}

void
ib_receive_done(struct journal_op *jo)
{
	struct inbox *ib = jo->arg;
	struct store_msg *m = &jo->op.msg;
	ib_op_done(ib, jo);
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
		/* Decided meanwhile (another copy): that stored answer, byte for byte. */
		log_info("inbox: %s from %s is a duplicate; stored %s sent again", m->msg_id,
		    m->sender, jo->op.stored.refused ? "refusal" : "receipt");
		ib_send_receipt(ib, jo->link_serial, &jo->op.stored);
		break;
	case STORE_R_CONFLICT:
	case STORE_R_ILLEGAL: {
		/* Other content under its id; or a status its case, as committed, refuses. */
		struct ib_doc doc = {m->msg_id, m->sender, m->sender, m->payload_hash, m->doc_body,
		    m->doc_body_len, m->doc_sig, m->doc_sig_len, m->doc_cert, m->doc_cert_len};
		bool conflict = jo->op.result == STORE_R_CONFLICT;
		ib_reject(ib, jo->link_serial, &doc, conflict ? "id-conflict" : "illegal-transition",
		    conflict ? "this message id was already used for other content" : jo->op.error);
		break;
	}
	case STORE_R_FULL:
		ib_send_try_later(ib, jo->link_serial, m->msg_id, "store full");
		break;
	default:
		ib_send_try_later(ib, jo->link_serial, m->msg_id, "store error");
		break;
	}
}

/* ---- refusals ---- */

void
ib_reject(struct inbox *ib, uint64_t serial, const struct ib_doc *doc, const char *code,
    const char *text)
{
	char err[300], why[400];
	/* A refusal is kept, so it costs its sender's quota: the signed document. */
	uint64_t bytes = (uint64_t)doc->body_len + doc->sig_len + doc->cert_len;
	int q = ib_quota_check(ib, ib_peer_get(ib, doc->peer), bytes, why, sizeof(why));
	if (q != 0) {
		ib_send_try_later(ib, serial, doc->msg_id, q < 0 ? "store unavailable" : why);
		return;
	}
	struct link *l = peers_link_find(ib->d->peers, serial);
	log_warn("inbox: transfer %s from %s (%s) refused: %s: %s", doc->msg_id, doc->peer,
	    l != NULL ? link_subject(l) : "link gone", code, text);
	struct journal_op *jo = journal_op_new(ib->d, STORE_OP_QUARANTINE);
	struct store_msg *m = &jo->op.msg;
	if (ib_sign_receipt(ib, doc->msg_id, doc->sender, doc->hash, false, code, text, m, err,
	        sizeof(err)) != 0) {
		/* Nothing is decided without its signed receipt: the sender asks again. */
		log_err("inbox: cannot sign the refusal of %s: %s", doc->msg_id, err);
		ib_send_try_later(ib, serial, doc->msg_id, "cannot sign a receipt now");
		store_msg_clear(m);
		free(jo);
		return;
	}
	m->dir = STORE_IN;
	snprintf(m->msg_id, sizeof(m->msg_id), "%s", doc->msg_id);
	snprintf(m->sender, sizeof(m->sender), "%s", doc->peer);
	snprintf(m->recipient, sizeof(m->recipient), "%s", ib->d->cfg->authority_id);
	memcpy(m->payload_hash, doc->hash, STORE_HASH_LEN);
	ib_dup(&m->doc_body, &m->doc_body_len, doc->body, doc->body_len);
	ib_dup(&m->doc_sig, &m->doc_sig_len, doc->sig, doc->sig_len);
	ib_dup(&m->doc_cert, &m->doc_cert_len, doc->cert, doc->cert_len);
	snprintf(jo->op.reason, sizeof(jo->op.reason), "%s: %s", code, text);
	jo->link_serial = serial;
	jo->arg = ib;
	jo->done = ib_quarantine_done;
	journal_event(jo, strcmp(code, "id-conflict") == 0 ? "refused-id-conflict" : "quarantined",
	    m->msg_id, doc->peer, STORE_IN, NULL, 0, bytes, jo->op.reason);
	ib_submit(ib, jo);
}

static void
ib_quarantine_done(struct journal_op *jo)
{
	struct inbox *ib = jo->arg;
	const struct store_msg *m = &jo->op.msg;
	ib_op_done(ib, jo);
	switch (jo->op.result) {
	case STORE_R_OK:
		ib_quota_add(ib, m->sender, (int64_t)(m->doc_body_len + m->doc_sig_len +
		    m->doc_cert_len));
		ib_send_receipt(ib, jo->link_serial, m);
		break;
	case STORE_R_EXISTS:
		/* Decided meanwhile (another copy): that stored answer, byte for byte. */
		ib_send_receipt(ib, jo->link_serial, &jo->op.stored);
		break;
	default:
		ib_send_try_later(ib, jo->link_serial, m->msg_id,
		    jo->op.result == STORE_R_FULL ? "store full" : "store unavailable");
		break;
	}
}

/* ---- receipts and answers ---- */

int
ib_sign_receipt(struct inbox *ib, const char *msg_id, const char *sender,
    const uint8_t hash[32], bool accepted, const char *code, const char *text,
    struct store_msg *m, char *err, size_t errlen)
{
	const char *us = ib->d->cfg->authority_id;
	Rogatory__V1__ReceiptBody rb = ROGATORY__V1__RECEIPT_BODY__INIT;
	rb.message_id.data = (uint8_t *)msg_id;
	rb.message_id.len = strlen(msg_id);
	rb.sender_id.data = (uint8_t *)sender;
	rb.sender_id.len = strlen(sender);
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
	/* One instant: the receipt's received_ms is also the message's created_us, so the
	 * case's clocks here start where the sender's (from this receipt) do. */
	int64_t now = m->created_us > 0 ? m->created_us : request_now_us();
	rb.received_ms = now / 1000;
	m->created_us = rb.received_ms * 1000;
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

void
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

void
ib_send_try_later(struct inbox *ib, uint64_t serial, const char *msg_id, const char *why)
{
	struct link *l = peers_link_find(ib->d->peers, serial);
	if (l == NULL || link_state(l) != LINK_READY)
		return;
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Error e = ROGATORY__V1__ERROR__INIT;
	e.code = ROGATORY__V1__ERROR_CODE__ERROR_CODE_TRY_LATER;
	e.text.data = (uint8_t *)why;
	e.text.len = strnlen(why, WIRE_TEXT_MAX);
	e.retry_after_ms = INBOX_TRY_LATER_MS;
	e.message_id.data = (uint8_t *)msg_id;
	e.message_id.len = strlen(msg_id);
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_ERROR;
	env.error = &e;
	log_ratelimited(4, "inbox: %s from %s: TRY_LATER (%s)", msg_id, link_peer_id(l), why);
	link_send(l, &env);
}

/* ---- bytes waiting for the store ---- */

/* A peer's bytes an op carries: the signed document, or a chunk's data (held in
 * doc_body by CHUNK ops). */
static uint64_t
ib_op_bytes(const struct journal_op *jo)
{
	const struct store_msg *m = &jo->op.msg;
	return (uint64_t)m->doc_body_len + m->doc_sig_len + m->doc_cert_len;
}

void
ib_submit(struct inbox *ib, struct journal_op *jo)
{
	ib_queued_add(ib, jo->op.msg.sender, (int64_t)ib_op_bytes(jo));
	journal_submit(jo);
}

void
ib_op_done(struct inbox *ib, const struct journal_op *jo)
{
	ib_queued_add(ib, jo->op.msg.sender, -(int64_t)ib_op_bytes(jo));
}

void
inbox_fetched(struct inbox *ib, const char *peer, uint64_t size)
{
	ib_quota_add(ib, peer, -(int64_t)size);
}
