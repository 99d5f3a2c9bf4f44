/*
 * Unit tests for daemon/evidence.c: sign/open round trips, tampering with any byte,
 * context separation between documents and receipts, signer-vs-body identity, key types,
 * and agreement with the openssl CLI on hashes and signatures. Keys made at test time.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <criterion/criterion.h>
#include <openssl/x509.h>

#include "../support/support.h"
#include "cert.h"
#include "evidence.h"

#define MSG_ID "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b"

static char *dir;

static const char *in_dir(const char *rel);
static struct evidence_signer *signer(const char *id);
static ProtobufCBinaryData bytes(const char *s);
static void document_init(Rogatory__V1__DocumentBody *b, Rogatory__V1__Content *content,
    Rogatory__V1__Field **fields, Rogatory__V1__Attachment **atts, const char *sender,
    const char *recipient);
static void receipt_init(Rogatory__V1__ReceiptBody *r, const char *sender,
    const char *receiver, const uint8_t hash[EVIDENCE_HASH_LEN]);
static Rogatory__V1__SignedObject as_pb(const struct signed_object *o);
static void sign_document(const char *signer_id, const char *sender, struct signed_object *o);
static void sign_receipt(const char *signer_id, const char *receiver,
    struct signed_object *o);
static bool bytes_is(ProtobufCBinaryData b, const char *s);
static bool accepted(const struct signed_object *o, enum evidence_ctx ctx,
    X509_STORE *store);
static void setup(void);
static void teardown(void);

static const uint8_t att_hash[32] = {
	0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65, 0x9a, 0x2f, 0xea, 0xa0, 0xc5, 0x5a,
	0xd0, 0x15, 0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b, 0x82, 0x2c, 0xd1, 0x5d, 0x6c, 0x15,
	0xb0, 0xf0, 0x0a, 0x08,
};

static const char *
in_dir(const char *rel)
{
	static char slots[6][512];
	static int next;
	char *p = slots[next++ % 6];
	snprintf(p, sizeof(slots[0]), "%s/%s", dir, rel);
	return p;
}

static struct evidence_signer *
signer(const char *id)
{
	struct evidence_signer *s = NULL;
	char crt[512], key[512], err[512] = "";
	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, id);
	snprintf(key, sizeof(key), "%s/%s.key", dir, id);
	cr_assert_eq(evidence_signer_load(crt, key, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(evidence_signer_id(s), id);
	return s;
}

static ProtobufCBinaryData
bytes(const char *s)
{
	ProtobufCBinaryData b = {strlen(s), (uint8_t *)(uintptr_t)s};
	return b;
}

static bool
bytes_is(ProtobufCBinaryData b, const char *s)
{
	return b.len == strlen(s) && memcmp(b.data, s, b.len) == 0;
}

/* A complete, valid MLA request as the request module would build it. */
static void
document_init(Rogatory__V1__DocumentBody *b, Rogatory__V1__Content *content,
    Rogatory__V1__Field **fields, Rogatory__V1__Attachment **atts, const char *sender,
    const char *recipient)
{
	static Rogatory__V1__Field f0 = ROGATORY__V1__FIELD__INIT;
	static Rogatory__V1__Field f1 = ROGATORY__V1__FIELD__INIT;
	static Rogatory__V1__Attachment a0 = ROGATORY__V1__ATTACHMENT__INIT;

	f0.name = bytes("legal_basis");
	f0.value = bytes("UNCAC art. 46");
	f1.name = bytes("assistance_sought");
	f1.value = bytes("Bank records of account n\xc2\xb0 FR76 3000 (2019\xe2\x80\x93" "2021)");
	fields[0] = &f0;
	fields[1] = &f1;
	a0.name = bytes("request.pdf");
	a0.media_type = bytes("application/pdf");
	a0.size = 4;
	a0.sha256.data = (uint8_t *)(uintptr_t)att_hash;
	a0.sha256.len = sizeof(att_hash);
	atts[0] = &a0;

	rogatory__v1__content__init(content);
	content->subject = bytes("Investigation into embezzlement of public funds");
	content->n_fields = 2;
	content->fields = fields;

	rogatory__v1__document_body__init(b);
	b->message_id = bytes(MSG_ID);
	b->sender_id = bytes(sender);
	b->recipient_id = bytes(recipient);
	b->created_ms = 1767225600123;
	b->kind = ROGATORY__V1__KIND__KIND_MLA;
	b->urgent = true;
	b->respond_by = bytes("2026-03-31");
	b->sequence = 1;
	b->doc_type = ROGATORY__V1__DOC_TYPE__DOC_TYPE_REQUEST;
	b->content = content;
	b->n_attachments = 1;
	b->attachments = atts;
}

static void
receipt_init(Rogatory__V1__ReceiptBody *r, const char *sender, const char *receiver,
    const uint8_t hash[EVIDENCE_HASH_LEN])
{
	rogatory__v1__receipt_body__init(r);
	r->message_id = bytes(MSG_ID);
	r->sender_id = bytes(sender);
	r->receiver_id = bytes(receiver);
	r->payload_sha256.data = (uint8_t *)(uintptr_t)hash;
	r->payload_sha256.len = EVIDENCE_HASH_LEN;
	r->outcome = ROGATORY__V1__OUTCOME__OUTCOME_ACCEPTED;
	r->received_ms = 1767225601456;
}

static Rogatory__V1__SignedObject
as_pb(const struct signed_object *o)
{
	Rogatory__V1__SignedObject pb = ROGATORY__V1__SIGNED_OBJECT__INIT;
	pb.body.data = o->body;
	pb.body.len = o->body_len;
	pb.signature.data = o->signature;
	pb.signature.len = o->signature_len;
	pb.signer_certificate.data = o->cert;
	pb.signer_certificate.len = o->cert_len;
	return pb;
}

/* FR-MJ -> DE-BMJ request, signed by signer_id, naming `sender` as its sender. */
static void
sign_document(const char *signer_id, const char *sender, struct signed_object *o)
{
	Rogatory__V1__DocumentBody b;
	Rogatory__V1__Content content;
	Rogatory__V1__Field *fields[2];
	Rogatory__V1__Attachment *atts[1];
	char err[512] = "";
	document_init(&b, &content, fields, atts, sender, "DE-BMJ");
	struct evidence_signer *s = signer(signer_id);
	cr_assert_eq(evidence_sign_document(s, &b, o, err, sizeof(err)), 0, "%s", err);
	evidence_signer_free(s);
}

static void
sign_receipt(const char *signer_id, const char *receiver, struct signed_object *o)
{
	Rogatory__V1__ReceiptBody r;
	uint8_t hash[EVIDENCE_HASH_LEN];
	char err[512] = "";
	memset(hash, 0xab, sizeof(hash));
	receipt_init(&r, "FR-MJ", receiver, hash);
	struct evidence_signer *s = signer(signer_id);
	cr_assert_eq(evidence_sign_receipt(s, &r, o, err, sizeof(err)), 0, "%s", err);
	evidence_signer_free(s);
}

/* What a receiver does in full: open (prefix, signature, body, identity) and chain the
 * signer certificate to the CA. A tampered certificate may still parse with the same key
 * and SAN; then the chain is what refuses it. */
static bool
accepted(const struct signed_object *o, enum evidence_ctx ctx, X509_STORE *store)
{
	Rogatory__V1__SignedObject pb = as_pb(o);
	char id[AUTHORITY_ID_MAX + 1];
	char err[512];
	int rc;
	if (ctx == EVIDENCE_DOCUMENT) {
		Rogatory__V1__DocumentBody *b = NULL;
		rc = evidence_open_document(&pb, id, &b, err, sizeof(err));
		if (rc == 0)
			wire_document_body_free(b);
	} else {
		Rogatory__V1__ReceiptBody *r = NULL;
		rc = evidence_open_receipt(&pb, id, &r, err, sizeof(err));
		if (rc == 0)
			wire_receipt_body_free(r);
	}
	if (rc != 0)
		return false;
	X509 *c = NULL;
	cr_assert_eq(cert_from_der(o->cert, o->cert_len, &c, err, sizeof(err)), 0, "%s", err);
	rc = cert_verify_at(store, c, time(NULL), err, sizeof(err));
	X509_free(c);
	return rc == 0;
}

static void
setup(void)
{
	char *out = NULL;
	dir = ts_tmpdir("evidence");
	int rc = ts_sh(&out, "cd '%s' && '%s' init ca && '%s' issue ca FR-MJ . && "
	    "'%s' issue ca DE-BMJ .", dir, ts_pki(), ts_pki(), ts_pki());
	cr_assert_eq(rc, 0, "rogatory-pki: %s", out);
	free(out);
}

static void
teardown(void)
{
	ts_rmrf(dir);
	free(dir);
}

TestSuite(evidence, .init = setup, .fini = teardown, .timeout = 60);

Test(evidence, document_round_trip)
{
	struct signed_object o;
	sign_document("FR-MJ", "FR-MJ", &o);
	const size_t clen = strlen(EVIDENCE_CTX_DOCUMENT);
	cr_assert_gt(o.body_len, clen + 1);
	cr_assert_eq(memcmp(o.body, EVIDENCE_CTX_DOCUMENT "\0", clen + 1), 0);
	cr_assert_gt(o.signature_len, 0);
	cr_assert_leq(o.signature_len, WIRE_SIG_MAX);

	Rogatory__V1__SignedObject pb = as_pb(&o);
	Rogatory__V1__DocumentBody *b = NULL;
	char id[AUTHORITY_ID_MAX + 1] = "";
	char err[512] = "";
	cr_assert_eq(evidence_open_document(&pb, id, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(id, "FR-MJ");
	cr_assert(bytes_is(b->message_id, MSG_ID));
	cr_assert(bytes_is(b->sender_id, "FR-MJ"));
	cr_assert(bytes_is(b->recipient_id, "DE-BMJ"));
	cr_assert_eq(b->created_ms, 1767225600123);
	cr_assert_eq(b->kind, ROGATORY__V1__KIND__KIND_MLA);
	cr_assert(b->urgent);
	cr_assert(bytes_is(b->respond_by, "2026-03-31"));
	cr_assert_eq(b->sequence, 1);
	cr_assert_eq(b->doc_type, ROGATORY__V1__DOC_TYPE__DOC_TYPE_REQUEST);
	cr_assert_not_null(b->content);
	cr_assert(bytes_is(b->content->subject,
	    "Investigation into embezzlement of public funds"));
	cr_assert_eq(b->content->n_fields, 2);
	cr_assert(bytes_is(b->content->fields[0]->name, "legal_basis"));
	cr_assert(bytes_is(b->content->fields[1]->value,
	    "Bank records of account n\xc2\xb0 FR76 3000 (2019\xe2\x80\x93" "2021)"));
	cr_assert_eq(b->n_attachments, 1);
	cr_assert(bytes_is(b->attachments[0]->name, "request.pdf"));
	cr_assert_eq(b->attachments[0]->size, 4);
	cr_assert_eq(b->attachments[0]->sha256.len, 32);
	cr_assert_eq(memcmp(b->attachments[0]->sha256.data, att_hash, 32), 0);
	wire_document_body_free(b);

	/* The certificate travelling with the signature is the signer's own. */
	X509 *c = NULL;
	cr_assert_eq(cert_from_der(o.cert, o.cert_len, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cert_authority_id(c, id, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(id, "FR-MJ");
	X509_free(c);
	signed_object_clear(&o);
	cr_assert_null(o.body);
	cr_assert_eq(o.body_len, 0);
}

Test(evidence, receipt_round_trip)
{
	struct signed_object doc;
	sign_document("FR-MJ", "FR-MJ", &doc);
	uint8_t hash[EVIDENCE_HASH_LEN];
	evidence_payload_hash(doc.body, doc.body_len, hash);

	Rogatory__V1__ReceiptBody r;
	receipt_init(&r, "FR-MJ", "DE-BMJ", hash);
	struct evidence_signer *s = signer("DE-BMJ");
	struct signed_object o;
	char err[512] = "";
	cr_assert_eq(evidence_sign_receipt(s, &r, &o, err, sizeof(err)), 0, "%s", err);
	evidence_signer_free(s);
	cr_assert_eq(memcmp(o.body, EVIDENCE_CTX_RECEIPT "\0", strlen(EVIDENCE_CTX_RECEIPT) + 1),
	    0);

	Rogatory__V1__SignedObject pb = as_pb(&o);
	Rogatory__V1__ReceiptBody *back = NULL;
	char id[AUTHORITY_ID_MAX + 1] = "";
	cr_assert_eq(evidence_open_receipt(&pb, id, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(id, "DE-BMJ");
	cr_assert(bytes_is(back->message_id, MSG_ID));
	cr_assert(bytes_is(back->sender_id, "FR-MJ"));
	cr_assert(bytes_is(back->receiver_id, "DE-BMJ"));
	cr_assert_eq(back->payload_sha256.len, EVIDENCE_HASH_LEN);
	cr_assert_eq(memcmp(back->payload_sha256.data, hash, EVIDENCE_HASH_LEN), 0);
	cr_assert_eq(back->outcome, ROGATORY__V1__OUTCOME__OUTCOME_ACCEPTED);
	cr_assert_eq(back->received_ms, 1767225601456);
	wire_receipt_body_free(back);
	signed_object_clear(&o);
	signed_object_clear(&doc);
}

/* Every single-byte change to body, signature or certificate is refused. */
Test(evidence, any_flipped_byte_refused)
{
	struct signed_object o;
	X509_STORE *store = NULL;
	char err[512] = "";
	sign_document("FR-MJ", "FR-MJ", &o);
	cr_assert_eq(cert_store_load(in_dir("ca/ca.crt"), &store, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert(accepted(&o, EVIDENCE_DOCUMENT, store), "untouched object refused");

	static const uint8_t masks[] = {0x01, 0x80, 0xff};
	struct {
		const char *what;
		uint8_t *p;
		size_t len;
	} parts[] = {
		{"body", o.body, o.body_len},
		{"signature", o.signature, o.signature_len},
		{"certificate", o.cert, o.cert_len},
	};
	for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++) {
		for (size_t i = 0; i < parts[k].len; i++) {
			for (size_t m = 0; m < sizeof(masks); m++) {
				parts[k].p[i] ^= masks[m];
				bool ok = accepted(&o, EVIDENCE_DOCUMENT, store);
				parts[k].p[i] ^= masks[m];
				cr_assert(!ok, "%s byte %zu ^ 0x%02x accepted", parts[k].what, i,
				    masks[m]);
			}
		}
	}
	cr_assert(accepted(&o, EVIDENCE_DOCUMENT, store), "restored object refused");
	X509_STORE_free(store);
	signed_object_clear(&o);
}

Test(evidence, truncated_or_extended_refused)
{
	struct signed_object o;
	sign_document("FR-MJ", "FR-MJ", &o);
	char id[AUTHORITY_ID_MAX + 1];
	char err[512] = "";
	/* One byte less or more of body, signature or certificate. */
	size_t *lens[] = {&o.body_len, &o.signature_len, &o.cert_len};
	for (size_t k = 0; k < 3; k++) {
		*lens[k] -= 1;
		cr_assert_eq(evidence_verify(o.body, o.body_len, o.signature, o.signature_len,
		    o.cert, o.cert_len, EVIDENCE_DOCUMENT, id, err, sizeof(err)), -1,
		    "part %zu shortened accepted", k);
		*lens[k] += 1;
	}
	uint8_t *longer = malloc(o.cert_len + 1);
	memcpy(longer, o.cert, o.cert_len);
	longer[o.cert_len] = 0;
	cr_assert_eq(evidence_verify(o.body, o.body_len, o.signature, o.signature_len, longer,
	    o.cert_len + 1, EVIDENCE_DOCUMENT, id, err, sizeof(err)), -1);
	cr_assert(strstr(err, "trailing") != NULL, "%s", err);
	free(longer);
	cr_assert_eq(evidence_verify(o.body, o.body_len, o.signature, 0, o.cert, o.cert_len,
	    EVIDENCE_DOCUMENT, id, err, sizeof(err)), -1);
	cr_assert_eq(evidence_verify(o.body, o.body_len, o.signature, o.signature_len, o.cert,
	    0, EVIDENCE_DOCUMENT, id, err, sizeof(err)), -1);
	cr_assert_eq(evidence_verify(o.body, 0, o.signature, o.signature_len, o.cert,
	    o.cert_len, EVIDENCE_DOCUMENT, id, err, sizeof(err)), -1);
	signed_object_clear(&o);
}

Test(evidence, receipt_is_not_a_document)
{
	struct signed_object o;
	sign_receipt("DE-BMJ", "DE-BMJ", &o);
	Rogatory__V1__SignedObject pb = as_pb(&o);
	Rogatory__V1__DocumentBody *b = NULL;
	char id[AUTHORITY_ID_MAX + 1] = "";
	char err[512] = "";
	cr_assert_eq(evidence_open_document(&pb, id, &b, err, sizeof(err)), -1);
	cr_assert_null(b);
	cr_assert(strstr(err, EVIDENCE_CTX_RECEIPT) != NULL &&
	    strstr(err, EVIDENCE_CTX_DOCUMENT) != NULL, "%s", err);
	cr_assert_str_empty(id);
	signed_object_clear(&o);

	sign_document("FR-MJ", "FR-MJ", &o);
	pb = as_pb(&o);
	Rogatory__V1__ReceiptBody *r = NULL;
	cr_assert_eq(evidence_open_receipt(&pb, id, &r, err, sizeof(err)), -1);
	cr_assert_null(r);
	cr_assert(strstr(err, "where a " EVIDENCE_CTX_RECEIPT) != NULL, "%s", err);
	signed_object_clear(&o);
}

/* A body whose prefix is a context without its 0x00 separator, or a longer context that
 * begins with the right one, is not a document. */
Test(evidence, prefix_must_be_exact)
{
	struct signed_object o;
	sign_document("FR-MJ", "FR-MJ", &o);
	const size_t clen = strlen(EVIDENCE_CTX_DOCUMENT);
	char id[AUTHORITY_ID_MAX + 1];
	char err[512] = "";
	o.body[clen] = 'x';
	cr_assert_eq(evidence_verify(o.body, o.body_len, o.signature, o.signature_len, o.cert,
	    o.cert_len, EVIDENCE_DOCUMENT, id, err, sizeof(err)), -1);
	cr_assert(strstr(err, "does not begin with the context") != NULL, "%s", err);
	o.body[clen] = 0;
	cr_assert_eq(evidence_verify(o.body, clen, o.signature, o.signature_len, o.cert,
	    o.cert_len, EVIDENCE_DOCUMENT, id, err, sizeof(err)), -1);
	cr_assert(strstr(err, "does not begin with the context") != NULL, "%s", err);
	signed_object_clear(&o);
}

Test(evidence, signer_must_be_sender)
{
	struct signed_object o;
	/* FR-MJ's key, a body that claims DE-BMJ sent it. */
	sign_document("FR-MJ", "DE-BMJ", &o);
	Rogatory__V1__SignedObject pb = as_pb(&o);
	Rogatory__V1__DocumentBody *b = NULL;
	char id[AUTHORITY_ID_MAX + 1] = "";
	char err[512] = "";
	cr_assert_eq(evidence_open_document(&pb, id, &b, err, sizeof(err)), -1);
	cr_assert_null(b);
	cr_assert(strstr(err, "signed by FR-MJ but names sender DE-BMJ") != NULL, "%s", err);
	signed_object_clear(&o);
}

Test(evidence, receipt_signer_must_be_receiver)
{
	struct signed_object o;
	/* The sender forging its own receipt in the receiver's name. */
	sign_receipt("FR-MJ", "DE-BMJ", &o);
	Rogatory__V1__SignedObject pb = as_pb(&o);
	Rogatory__V1__ReceiptBody *r = NULL;
	char id[AUTHORITY_ID_MAX + 1] = "";
	char err[512] = "";
	cr_assert_eq(evidence_open_receipt(&pb, id, &r, err, sizeof(err)), -1);
	cr_assert_null(r);
	cr_assert(strstr(err, "signed by FR-MJ but names receiver DE-BMJ") != NULL, "%s",
	    err);
	signed_object_clear(&o);
}

/* Signing covers bytes, not validity: a well-signed body that wire refuses is still
 * refused at open, and the message names the signer (so it can be kept aside). */
Test(evidence, valid_signature_invalid_body_refused)
{
	Rogatory__V1__DocumentBody b;
	Rogatory__V1__Content content;
	Rogatory__V1__Field *fields[2];
	Rogatory__V1__Attachment *atts[1];
	char err[512] = "";
	document_init(&b, &content, fields, atts, "FR-MJ", "DE-BMJ");
	b.message_id = bytes("3F2B8C1E-9A4D-4E6F-8B2A-1C3D5E7F9A0B");
	struct evidence_signer *s = signer("FR-MJ");
	struct signed_object o;
	cr_assert_eq(evidence_sign_document(s, &b, &o, err, sizeof(err)), 0, "%s", err);
	evidence_signer_free(s);

	Rogatory__V1__SignedObject pb = as_pb(&o);
	Rogatory__V1__DocumentBody *back = NULL;
	char id[AUTHORITY_ID_MAX + 1] = "";
	cr_assert_eq(evidence_open_document(&pb, id, &back, err, sizeof(err)), -1);
	cr_assert_null(back);
	cr_assert(strstr(err, "document signed by FR-MJ: ") != NULL &&
	    strstr(err, "message_id") != NULL, "%s", err);
	cr_assert_str_eq(id, "FR-MJ");
	signed_object_clear(&o);
}

/* Another authority's certificate attached to FR-MJ's signature. */
Test(evidence, swapped_certificate_refused)
{
	struct signed_object fr, de;
	sign_document("FR-MJ", "FR-MJ", &fr);
	sign_receipt("DE-BMJ", "DE-BMJ", &de);
	char id[AUTHORITY_ID_MAX + 1];
	char err[512] = "";
	cr_assert_eq(evidence_verify(fr.body, fr.body_len, fr.signature, fr.signature_len,
	    de.cert, de.cert_len, EVIDENCE_DOCUMENT, id, err, sizeof(err)), -1);
	cr_assert(strstr(err, "does not verify") != NULL, "%s", err);
	signed_object_clear(&fr);
	signed_object_clear(&de);
}

Test(evidence, non_p256_keys_refused_at_load)
{
	static const struct {
		const char *name;
		const char *keygen;
		const char *want;
	} keys[] = {
		{"rsa", "-newkey rsa:2048", "RSA"},
		{"p384", "-newkey ec -pkeyopt ec_paramgen_curve:P-384", "secp384r1"},
		{"ed", "-newkey ed25519", "ED25519"},
	};
	ts_writef(in_dir("san.ext"), 0600, "subjectAltName=URI:urn:rogatory:authority:FR-MJ\n");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *n = keys[i].name;
		char *out = NULL;
		int rc = ts_sh(&out, "cd '%s' && openssl req -new %s -nodes -keyout %s.key "
		    "-out %s.csr -subj /CN=FR-MJ && openssl x509 -req -in %s.csr -CA ca/ca.crt "
		    "-CAkey ca/ca.key -CAserial odd.srl -CAcreateserial -days 30 -extfile san.ext "
		    "-out %s.crt && chmod 600 %s.key", dir, keys[i].keygen, n, n, n, n, n);
		cr_assert_eq(rc, 0, "%s: %s", n, out);
		free(out);

		struct evidence_signer *s = NULL;
		char crt[512], key[512], err[512] = "";
		snprintf(crt, sizeof(crt), "%s/%s.crt", dir, keys[i].name);
		snprintf(key, sizeof(key), "%s/%s.key", dir, keys[i].name);
		cr_assert_eq(evidence_signer_load(crt, key, &s, err, sizeof(err)), -1,
		    "%s key accepted", keys[i].name);
		cr_assert_null(s);
		cr_assert(strstr(err, keys[i].want) != NULL && strstr(err, "P-256") != NULL &&
		    strstr(err, key) != NULL, "%s: %s", keys[i].name, err);

		/* The same certificate attached to a signed object is refused too. */
		struct signed_object o;
		sign_document("FR-MJ", "FR-MJ", &o);
		X509 *c = NULL;
		cr_assert_eq(cert_load_pem(crt, &c, err, sizeof(err)), 0, "%s", err);
		unsigned char *der = NULL;
		int der_len = i2d_X509(c, &der);
		cr_assert_gt(der_len, 0);
		char id[AUTHORITY_ID_MAX + 1];
		cr_assert_eq(evidence_verify(o.body, o.body_len, o.signature, o.signature_len,
		    der, (size_t)der_len, EVIDENCE_DOCUMENT, id, err, sizeof(err)), -1);
		cr_assert(strstr(err, "P-256") != NULL, "%s: %s", keys[i].name, err);
		OPENSSL_free(der);
		X509_free(c);
		signed_object_clear(&o);
	}
}

Test(evidence, signer_key_mode_and_mismatch)
{
	struct evidence_signer *s = NULL;
	char err[512] = "";
	const char *key = in_dir("FR-MJ.key");
	cr_assert_eq(chmod(key, 0644), 0);
	cr_assert_eq(evidence_signer_load(in_dir("FR-MJ.crt"), key, &s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "mode 0644") != NULL && strstr(err, key) != NULL, "%s", err);
	cr_assert_eq(chmod(key, 0600), 0);
	cr_assert_eq(evidence_signer_load(in_dir("FR-MJ.crt"), in_dir("DE-BMJ.key"), &s, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "does not match") != NULL, "%s", err);
	cr_assert_null(s);
}

/* The hash and the signature are the standard ones: the openssl CLI agrees. */
Test(evidence, openssl_cli_agrees)
{
	struct signed_object o;
	sign_document("FR-MJ", "FR-MJ", &o);
	FILE *f = fopen(in_dir("body.bin"), "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(o.body, 1, o.body_len, f), o.body_len);
	cr_assert_eq(fclose(f), 0);
	f = fopen(in_dir("sig.der"), "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(o.signature, 1, o.signature_len, f), o.signature_len);
	cr_assert_eq(fclose(f), 0);

	uint8_t hash[EVIDENCE_HASH_LEN];
	evidence_payload_hash(o.body, o.body_len, hash);
	char hex[2 * EVIDENCE_HASH_LEN + 1];
	for (size_t i = 0; i < EVIDENCE_HASH_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	char *out = NULL;
	cr_assert_eq(ts_sh(&out, "openssl dgst -sha256 -r '%s'", in_dir("body.bin")), 0, "%s",
	    out);
	cr_assert_eq(strncmp(out, hex, 2 * EVIDENCE_HASH_LEN), 0, "openssl %s, ours %s", out,
	    hex);
	free(out);

	/* Checks the DER signature over the exact body bytes with the certificate's key. */
	int rc = ts_sh(&out, "cd '%s' && openssl x509 -in FR-MJ.crt -pubkey -noout > pub.pem "
	    "&& openssl dgst -sha256 -verify pub.pem -signature sig.der body.bin", dir);
	cr_assert_eq(rc, 0, "openssl dgst -verify: %s", out);
	cr_assert(strstr(out, "Verified OK") != NULL, "%s", out);
	free(out);
	signed_object_clear(&o);
}

Test(evidence, signed_object_clear_is_idempotent)
{
	struct signed_object o;
	sign_document("FR-MJ", "FR-MJ", &o);
	signed_object_clear(&o);
	signed_object_clear(&o);
	cr_assert_null(o.body);
	cr_assert_null(o.signature);
	cr_assert_null(o.cert);
	cr_assert_eq(o.signature_len + o.cert_len + o.body_len, 0);
	signed_object_clear(NULL);
}

/* Proof of retrieval (PROTOCOL.md section 16): a round trip; the signer must be the
 * retriever it names; its context is its own; who fetched is required. */
static void
retrieval_sign(const char *signer_id, const char *retriever, bool with_actor,
    struct signed_object *o)
{
	static uint8_t h[32];
	memset(h, 0x5a, sizeof(h));
	Rogatory__V1__RetrievalBody b = ROGATORY__V1__RETRIEVAL_BODY__INIT;
	Rogatory__V1__Actor who = ROGATORY__V1__ACTOR__INIT;
	b.message_id = bytes("4c7b3e2a-9d1f-4e6b-8a2c-0f1e2d3c4b5a");
	b.sender_id = bytes("DE-BMJ");
	b.retriever_id = bytes(retriever);
	b.payload_sha256.data = h;
	b.payload_sha256.len = sizeof(h);
	b.retrieved_ms = 1767225600000;
	who.uid = 1000;
	who.user = bytes("clerk");
	b.fetched_by = with_actor ? &who : NULL;
	struct evidence_signer *s = signer(signer_id);
	char err[512] = "";
	cr_assert_eq(evidence_sign_retrieval(s, &b, o, err, sizeof(err)), 0, "%s", err);
	evidence_signer_free(s);
}

Test(evidence, retrieval_round_trip_and_refusals)
{
	struct signed_object o;
	char id[AUTHORITY_ID_MAX + 1] = "", err[512] = "";
	Rogatory__V1__RetrievalBody *b = NULL;
	retrieval_sign("FR-MJ", "FR-MJ", true, &o);
	cr_assert(o.body_len > 22 && memcmp(o.body, "rogatory/retrieval/v1\0", 22) == 0);
	Rogatory__V1__SignedObject pb = as_pb(&o);
	cr_assert_eq(evidence_open_retrieval(&pb, id, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(id, "FR-MJ");
	cr_assert(bytes_is(b->sender_id, "DE-BMJ"));
	cr_assert_eq(b->fetched_by->uid, 1000);
	cr_assert(bytes_is(b->fetched_by->user, "clerk"));
	wire_audit_free(b);
	b = NULL;
	/* Not a receipt, not a document: the context decides before anything is decoded. */
	Rogatory__V1__ReceiptBody *r = NULL;
	cr_assert_eq(evidence_open_receipt(&pb, id, &r, err, sizeof(err)), -1);
	cr_assert_null(r);
	signed_object_clear(&o);

	/* FR-MJ's key, a body naming DE-BMJ as the one who fetched. */
	retrieval_sign("FR-MJ", "DE-BMJ", true, &o);
	pb = as_pb(&o);
	cr_assert_eq(evidence_open_retrieval(&pb, id, &b, err, sizeof(err)), -1);
	cr_assert_null(b);
	cr_assert(strstr(err, "retrieval signed by FR-MJ but names DE-BMJ") != NULL, "%s", err);
	signed_object_clear(&o);

	/* Who fetched it is part of the evidence: a body without it is refused. */
	retrieval_sign("FR-MJ", "FR-MJ", false, &o);
	pb = as_pb(&o);
	cr_assert_eq(evidence_open_retrieval(&pb, id, &b, err, sizeof(err)), -1);
	cr_assert(strstr(err, "retrieval.fetched_by: missing") != NULL, "%s", err);
	signed_object_clear(&o);
}
