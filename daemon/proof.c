/*
 * proof: the offline verification behind `rogatoryctl verify`. It must never trust
 * anything the store says about a signature (states, hashes, ids) without recomputing it
 * from the signed bytes, and never depend on our current certificate.
 */
#include "proof.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cert.h"
#include "config.h"
#include "crl.h"
#include "evidence.h"
#include "revocation.h"
#include "rogatoryd.h"
#include "store.h"
#include "wire.h"

#define PROOF_READ_MAX (1u << 20)

static struct proof_check *
proof_add(struct proof *p, const char *what, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static struct proof_check *
proof_add(struct proof *p, const char *what, bool ok, const char *fmt, ...)
{
	if (p->n >= PROOF_MAX_CHECKS)
		return NULL;
	struct proof_check *c = &p->checks[p->n++];
	c->what = what;
	c->ok = ok;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	if (!ok)
		p->valid = false;
	return c;
}

static bool
bytes_is(const ProtobufCBinaryData *b, const char *s)
{
	return b->len == strlen(s) && memcmp(b->data, s, b->len) == 0;
}

/*
 * The signer certificate's chain to the CA at the signing time (cert_signing_time of
 * the time the signature claims), then the effective CRL: a revocation dated after the
 * signing time does not void what was signed before it (PROTOCOL.md section 6).
 */
static void
proof_chain(struct proof *p, X509_STORE *ca, const struct crl *crl, const uint8_t *der,
    size_t len, int64_t at_ms, const char *what, const char *what_revoked)
{
	X509 *c = NULL;
	char err[256], t1[32], t2[32];
	if (cert_from_der(der, len, &c, err, sizeof(err)) != 0) {
		proof_add(p, what, false, "%s", err);
		return;
	}
	time_t at = cert_signing_time(c, (time_t)(at_ms / 1000));
	if (cert_verify_at(ca, c, at, err, sizeof(err)) != 0)
		proof_add(p, what, false, "%s", err);
	else {
		char subj[200];
		cert_subject(c, subj, sizeof(subj));
		proof_add(p, what, true, "%s, valid at the signing time %s", subj,
		    crl_time_str(at, t1, sizeof(t1)));
	}
	time_t revoked = crl_cert_revoked_since(crl, c);
	if (crl == NULL || crl_number(crl) == 0)
		proof_add(p, what_revoked, true, "not checked: no CRL held (revocation is off)");
	else if (revoked == 0)
		proof_add(p, what_revoked, true, "not listed in CRL number %llu",
		    (unsigned long long)crl_number(crl));
	else
		proof_add(p, what_revoked, revoked > at, "listed in CRL number %llu as revoked on "
		    "%s, %s the signing time %s", (unsigned long long)crl_number(crl),
		    crl_time_str(revoked, t1, sizeof(t1)), revoked > at ? "after" : "at or before",
		    crl_time_str(at, t2, sizeof(t2)));
	X509_free(c);
}

static void
proof_receipt(struct proof *p, X509_STORE *ca, const struct crl *crl, const struct store_msg *m,
    const uint8_t hash[EVIDENCE_HASH_LEN])
{
	Rogatory__V1__SignedObject so;
	wire_signed_object_set(&so, m->rcpt_body, m->rcpt_body_len, m->rcpt_sig, m->rcpt_sig_len,
	    m->rcpt_cert, m->rcpt_cert_len);
	char signer[AUTHORITY_ID_MAX + 1], err[256];
	Rogatory__V1__ReceiptBody *r = NULL;
	if (evidence_open_receipt(&so, signer, &r, err, sizeof(err)) != 0) {
		proof_add(p, "receipt signature", false, "%s", err);
		return;
	}
	/* Whoever received the document signs its receipt: the peer for ours, us for theirs. */
	const char *receiver = m->recipient;
	proof_add(p, "receipt signature", strcmp(signer, receiver) == 0,
	    "signed by %s%s%s (%s)", signer, strcmp(signer, receiver) == 0 ? "" : ", expected ",
	    strcmp(signer, receiver) == 0 ? "" : receiver, wire_outcome_name(r->outcome));
	bool same = r->payload_sha256.len == EVIDENCE_HASH_LEN &&
	    memcmp(r->payload_sha256.data, hash, EVIDENCE_HASH_LEN) == 0 &&
	    bytes_is(&r->message_id, m->msg_id) && bytes_is(&r->sender_id, m->sender);
	proof_add(p, "receipt names this document", same,
	    same ? "same message id, sender and payload hash"
	         : "the receipt names another message, sender or payload hash");
	proof_chain(p, ca, crl, m->rcpt_cert, m->rcpt_cert_len, r->received_ms,
	    "receipt signer certificate", "receipt signer revocation");
	wire_receipt_body_free(r);
}

/* Proof of retrieval (PROTOCOL.md section 16), when one is kept: the recipient's signed
 * evidence names this document, chained at retrieved_ms; the sender's receipt names the
 * evidence. */
static void
proof_retrieval(struct proof *p, struct rogatoryd *d, X509_STORE *ca, const struct crl *crl,
    const struct store_msg *m, const uint8_t hash[EVIDENCE_HASH_LEN])
{
	struct store_retrieval t;
	if (store_retrieval_get(d->store, m->dir, m->dir == STORE_OUT ? m->recipient : m->sender,
	        m->msg_id, &t) != 0)
		return;
	Rogatory__V1__SignedObject so;
	wire_signed_object_set(&so, t.body, t.body_len, t.sig, t.sig_len, t.cert, t.cert_len);
	char signer[AUTHORITY_ID_MAX + 1], err[256];
	Rogatory__V1__RetrievalBody *b = NULL;
	if (evidence_open_retrieval(&so, signer, &b, err, sizeof(err)) != 0) {
		proof_add(p, "retrieval signature", false, "%s", err);
		store_retrieval_clear(&t);
		return;
	}
	bool ok = strcmp(signer, m->recipient) == 0 && bytes_is(&b->message_id, m->msg_id) &&
	    bytes_is(&b->sender_id, m->sender) && b->payload_sha256.len == EVIDENCE_HASH_LEN &&
	    memcmp(b->payload_sha256.data, hash, EVIDENCE_HASH_LEN) == 0;
	proof_add(p, "retrieval signature", ok, "signed by %s%s", signer, ok ? ", names this "
	    "document" : ", but not by its recipient or for another message or payload hash");
	proof_chain(p, ca, crl, t.cert, t.cert_len, b->retrieved_ms,
	    "retrieval signer certificate", "retrieval signer revocation");
	wire_audit_free(b);
	if (t.rcpt_body_len > 0) {
		Rogatory__V1__ReceiptBody *r = NULL;
		uint8_t eh[EVIDENCE_HASH_LEN];
		evidence_payload_hash(t.body, t.body_len, eh);
		wire_signed_object_set(&so, t.rcpt_body, t.rcpt_body_len, t.rcpt_sig, t.rcpt_sig_len,
		    t.rcpt_cert, t.rcpt_cert_len);
		if (evidence_open_receipt(&so, signer, &r, err, sizeof(err)) != 0) {
			proof_add(p, "retrieval receipt", false, "%s", err);
		} else {
			ok = strcmp(signer, m->sender) == 0 && bytes_is(&r->message_id, m->msg_id) &&
			    bytes_is(&r->sender_id, m->recipient) &&
			    r->payload_sha256.len == EVIDENCE_HASH_LEN &&
			    memcmp(r->payload_sha256.data, eh, EVIDENCE_HASH_LEN) == 0;
			proof_add(p, "retrieval receipt", ok, "signed by %s (%s)%s", signer,
			    wire_outcome_name(r->outcome), ok ? ", names this evidence"
			    : ", but not by the sender or for other evidence");
			wire_receipt_body_free(r);
		}
	}
	store_retrieval_clear(&t);
}

int
proof_attachment_sha256(struct rogatoryd *d, int64_t bset, uint32_t index, uint64_t size,
    uint8_t out[EVIDENCE_HASH_LEN], uint64_t *got)
{
	uint64_t off = 0;
	int r = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		*got = 0;
		return -1;
	}
	while (off < size && bset != 0) {
		uint8_t *data = NULL;
		size_t len = 0;
		if ((r = store_chunk_read(d->store, bset, index, off, PROOF_READ_MAX, &data,
		         &len)) != 0)
			break;
		if (len > size - off)
			len = (size_t)(size - off);
		EVP_DigestUpdate(md, data, len);
		off += len;
		free(data);
	}
	unsigned hl = 0;
	EVP_DigestFinal_ex(md, out, &hl);
	EVP_MD_CTX_free(md);
	*got = off;
	return r < 0 || off != size ? -1 : 0;
}

/* Every stored attachment byte against the signed manifest's size and SHA-256. */
static void
proof_attachments(struct proof *p, struct rogatoryd *d, const struct store_msg *m,
    const Rogatory__V1__DocumentBody *b)
{
	uint64_t total = 0;
	for (size_t i = 0; i < b->n_attachments; i++) {
		const Rogatory__V1__Attachment *a = b->attachments[i];
		uint8_t h[EVIDENCE_HASH_LEN];
		uint64_t got = 0;
		if (proof_attachment_sha256(d, m->bset, (uint32_t)i, a->size, h, &got) != 0) {
			proof_add(p, "attachments", false, "attachment %zu (%.*s): only %llu of %llu "
			    "bytes could be read from the store", i, (int)a->name.len,
			    (const char *)a->name.data, (unsigned long long)got,
			    (unsigned long long)a->size);
			return;
		}
		if (a->sha256.len != sizeof(h) || memcmp(h, a->sha256.data, sizeof(h)) != 0) {
			proof_add(p, "attachments", false, "attachment %zu (%.*s): stored bytes differ "
			    "from the signed manifest's SHA-256", i, (int)a->name.len,
			    (const char *)a->name.data);
			return;
		}
		total += a->size;
	}
	proof_add(p, "attachments", true, "%zu, %llu bytes, each matching the signed manifest's "
	    "size and SHA-256", b->n_attachments, (unsigned long long)total);
}

void
proof_check(struct rogatoryd *d, const struct store_msg *m, struct proof *p)
{
	memset(p, 0, sizeof(*p));
	p->valid = true;
	X509_STORE *ca = NULL;
	const struct crl *crl = d->revocation != NULL ? revocation_crl(d->revocation) : NULL;
	char err[256];
	if (cert_store_load(d->cfg->tls_ca, &ca, err, sizeof(err)) != 0) {
		proof_add(p, "network CA", false, "%s", err);
		return;
	}
	uint8_t hash[EVIDENCE_HASH_LEN];
	evidence_payload_hash(m->doc_body, m->doc_body_len, hash);
	bool hash_ok = memcmp(hash, m->payload_hash, EVIDENCE_HASH_LEN) == 0;
	proof_add(p, "payload hash", hash_ok,
	    hash_ok ? "SHA-256 of the signed document matches the stored one"
	            : "the signed document's bytes no longer match the stored hash");

	Rogatory__V1__SignedObject so;
	wire_signed_object_set(&so, m->doc_body, m->doc_body_len, m->doc_sig, m->doc_sig_len,
	    m->doc_cert, m->doc_cert_len);
	char signer[AUTHORITY_ID_MAX + 1];
	Rogatory__V1__DocumentBody *b = NULL;
	if (evidence_open_document(&so, signer, &b, err, sizeof(err)) != 0) {
		proof_add(p, "document signature", false, "%s", err);
	} else {
		bool ids = bytes_is(&b->message_id, m->msg_id) && bytes_is(&b->sender_id, m->sender) &&
		    bytes_is(&b->recipient_id, m->recipient);
		proof_add(p, "document signature", ids, "signed by %s%s", signer,
		    ids ? "" : ", but it names another message, sender or recipient");
		proof_chain(p, ca, crl, m->doc_cert, m->doc_cert_len, b->created_ms,
		    "document signer certificate", "document signer revocation");
		if (b->n_attachments > 0)
			proof_attachments(p, d, m, b);
		wire_document_body_free(b);
	}
	if (m->rcpt_body_len > 0)
		proof_receipt(p, ca, crl, m, hash);
	else
		proof_add(p, "receipt", m->state != STORE_DELIVERED && m->state != STORE_RECEIVED,
		    "none stored (state %s)", store_state_name(m->state));
	proof_retrieval(p, d, ca, crl, m, hash);
	X509_STORE_free(ca);
}
