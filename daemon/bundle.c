/*
 * bundle: lays out one stored message's evidence as files (contract in bundle.h). Every
 * byte exported is a stored byte or derived from public material (PEM armour of the
 * stored DER, the CA file, the CRL): nothing is re-signed, re-encoded or repaired, so a
 * tampered store exports as tampered.
 */
#include "bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cert.h"
#include "crl.h"
#include "evidence.h"
#include "log.h"
#include "merkle.h"
#include "verifymd.h"

/* proto/rogatory.proto, embedded at build time ($(GEN)/rogatory_proto.c). */
extern const unsigned char rogatory_proto_text[];
extern const size_t rogatory_proto_text_len;

#define PB_NONE ((size_t)-1)

static uint8_t *pem_armor(const char *label, const uint8_t *der, size_t len, size_t *out_len);
static size_t pb_value_at(const uint8_t *buf, size_t len, uint32_t field, size_t nth,
    size_t *vlen);
static void signer_info(struct bundle_signer *s, const uint8_t *der, size_t len,
    int64_t claimed_ms, const struct crl *crl);
static void add_file(struct bundle *b, unsigned part, const char *path, const char *what,
    uint8_t *data, uint64_t size);
static void add_copy(struct bundle *b, unsigned part, const char *path, const char *what,
    const uint8_t *data, size_t len);
static void add_pem(struct bundle *b, unsigned part, const char *path, const char *what,
    const char *label, const uint8_t *der, size_t len);
struct signed_files {
	const char *path, *what;
};
static void add_signed(struct bundle *b, unsigned first, const struct signed_files f[3],
    const uint8_t *body, size_t body_len, const uint8_t *sig, size_t sig_len,
    const uint8_t *cert, size_t cert_len);
static int add_ca(struct bundle *b, const char *ca_path, char *err, size_t errlen);
static void decode_bodies(struct bundle *b);
static void render_verify_md(struct bundle *b, const char *exporter);
static void locate_hashes(struct bundle *b);

/* PEM text of exact DER bytes (base64 in 64-column lines), without parsing them. */
static uint8_t *
pem_armor(const char *label, const uint8_t *der, size_t len, size_t *out_len)
{
	size_t cap = 2 * strlen(label) + 40 + (len + 2) / 3 * 4 + len / 48 + 2;
	uint8_t *out = malloc(cap);
	if (out == NULL)
		fatal("out of memory");
	size_t n = (size_t)snprintf((char *)out, cap, "-----BEGIN %s-----\n", label);
	for (size_t off = 0; off < len; off += 48) {
		size_t take = len - off < 48 ? len - off : 48;
		n += (size_t)EVP_EncodeBlock(out + n, der + off, (int)take);
		out[n++] = '\n';
	}
	n += (size_t)snprintf((char *)out + n, cap - n, "-----END %s-----\n", label);
	*out_len = n;
	return out;
}

/* Reads a varint at *p (below end); false when it does not fit. */
static bool
pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t c = *(*p)++;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0)
			return true;
	}
	return false;
}

/*
 * The offset in buf of the value of the nth (0-based) length-delimited occurrence of
 * field, and its length; PB_NONE when there is none. Canonical bodies (section 6 of
 * PROTOCOL.md) put each field at one place, which is what lets VERIFY.md point at the
 * signed bytes of a hash with `tail -c +N`.
 */
static size_t
pb_value_at(const uint8_t *buf, size_t len, uint32_t field, size_t nth, size_t *vlen)
{
	const uint8_t *p = buf, *end = buf + len;
	uint64_t key, v;
	while (p < end && pb_varint(&p, end, &key)) {
		unsigned type = (unsigned)(key & 7);
		uint64_t skip = 0;
		if (type == 0 && !pb_varint(&p, end, &v))
			return PB_NONE;
		if (type == 1 || type == 5)
			skip = type == 1 ? 8 : 4;
		if (type == 2) {
			if (!pb_varint(&p, end, &skip) || skip > (uint64_t)(end - p))
				return PB_NONE;
			if (key >> 3 == field && nth-- == 0) {
				*vlen = (size_t)skip;
				return (size_t)(p - buf);
			}
		}
		if (type != 0 && type != 1 && type != 2 && type != 5)
			return PB_NONE;
		if (skip > (uint64_t)(end - p))
			return PB_NONE;
		p += skip;
	}
	return PB_NONE;
}

static void
signer_info(struct bundle_signer *s, const uint8_t *der, size_t len, int64_t claimed_ms,
    const struct crl *crl)
{
	X509 *c = NULL;
	char err[256];
	memset(s, 0, sizeof(*s));
	s->claimed_ms = claimed_ms;
	if (len == 0 || cert_from_der(der, len, &c, err, sizeof(err)) != 0)
		return;
	s->present = true;
	if (cert_authority_id(c, s->id, err, sizeof(err)) != 0)
		s->id[0] = '\0';
	cert_subject(c, s->subject, sizeof(s->subject));
	cert_serial(c, s->serial, sizeof(s->serial));
	s->not_before = cert_not_before(c);
	s->not_after = cert_not_after(c);
	s->signing_time = cert_signing_time(c, (time_t)(claimed_ms / 1000));
	s->revoked_since = crl_cert_revoked_since(crl, c);
	X509_free(c);
}

static void
add_file(struct bundle *b, unsigned part, const char *path, const char *what, uint8_t *data,
    uint64_t size)
{
	struct bundle_file *f = &b->files[b->nfiles++];
	f->part = part;
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->what = what;
	f->data = data;
	f->size = size;
	unsigned hl = 0;
	if (data != NULL)
		EVP_Digest(data, (size_t)size, f->sha256, &hl, EVP_sha256(), NULL);
}

static void
add_copy(struct bundle *b, unsigned part, const char *path, const char *what,
    const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (copy == NULL)
		fatal("out of memory");
	memcpy(copy, data, len);
	add_file(b, part, path, what, copy, len);
}

/* The exact DER bytes, PEM-armoured (the length is known only once armoured). */
static void
add_pem(struct bundle *b, unsigned part, const char *path, const char *what,
    const char *label, const uint8_t *der, size_t len)
{
	size_t plen = 0;
	uint8_t *pem = pem_armor(label, der, len, &plen);
	add_file(b, part, path, what, pem, plen);
}

/* The body, signature and certificate files of the document and of the receipt. */
static const struct signed_files doc_files[3] = {
	{"document.body", "the signed document: the exact SignedObject.body bytes (context "
	    "rogatory/document/v1, 0x00, DocumentBody)"},
	{"document.sig", "ECDSA P-256 SHA-256 signature over document.body, DER"},
	{"document-signer.pem", "the certificate that made document.sig (the DER carried with "
	    "it, PEM-armoured)"},
};
static const struct signed_files rcpt_files[3] = {
	{"receipt.body", "the signed receipt: the exact SignedObject.body bytes (context "
	    "rogatory/receipt/v1, 0x00, ReceiptBody)"},
	{"receipt.sig", "ECDSA P-256 SHA-256 signature over receipt.body, DER"},
	{"receipt-signer.pem", "the certificate that made receipt.sig (the DER carried with it, "
	    "PEM-armoured)"},
};

/* Parts first .. first + 2: the body, the signature, the signer's certificate. */
static void
add_signed(struct bundle *b, unsigned first, const struct signed_files f[3],
    const uint8_t *body, size_t body_len, const uint8_t *sig, size_t sig_len,
    const uint8_t *cert, size_t cert_len)
{
	add_copy(b, first, f[0].path, f[0].what, body, body_len);
	add_copy(b, first + 1, f[1].path, f[1].what, sig, sig_len);
	add_pem(b, first + 2, f[2].path, f[2].what, "CERTIFICATE", cert, cert_len);
}

/* ca.pem: the first certificate of [tls] ca, the one trust anchor of the network. */
static int
add_ca(struct bundle *b, const char *ca_path, char *err, size_t errlen)
{
	X509 *ca = NULL;
	unsigned char *der = NULL;
	if (cert_load_pem(ca_path, &ca, err, errlen) != 0)
		return -1;
	int n = i2d_X509(ca, &der);
	cert_subject(ca, b->ca_subject, sizeof(b->ca_subject));
	X509_free(ca);
	if (n <= 0)
		return err_set(err, errlen, "cannot encode the CA certificate of %s", ca_path);
	unsigned hl = 0;
	EVP_Digest(der, (size_t)n, b->ca_sha256, &hl, EVP_sha256(), NULL);
	add_pem(b, BUNDLE_CA, "ca.pem", "the network root CA certificate ([tls] ca of the "
	    "exporting authority): the trust anchor of every check", "CERTIFICATE", der,
	    (size_t)n);
	OPENSSL_free(der);
	return 0;
}

/* The bodies after their context prefix, as a verifier would read them. */
static void
decode_bodies(struct bundle *b)
{
	const struct store_msg *m = b->m;
	char err[300];
	size_t dp = strlen(EVIDENCE_CTX_DOCUMENT) + 1, rp = strlen(EVIDENCE_CTX_RECEIPT) + 1;
	if (m->doc_body_len > dp && memcmp(m->doc_body, EVIDENCE_CTX_DOCUMENT, dp) == 0 &&
	    wire_document_body_decode(m->doc_body + dp, m->doc_body_len - dp, &b->doc, err,
	        sizeof(err)) != 0)
		b->doc = NULL;
	if (m->rcpt_body_len > rp && memcmp(m->rcpt_body, EVIDENCE_CTX_RECEIPT, rp) == 0 &&
	    wire_receipt_body_decode(m->rcpt_body + rp, m->rcpt_body_len - rp, &b->rcpt, err,
	        sizeof(err)) != 0)
		b->rcpt = NULL;
}

/* Where the signed hashes stand in the signed bytes (0: not found). */
static void
locate_hashes(struct bundle *b)
{
	const struct store_msg *m = b->m;
	size_t dp = strlen(EVIDENCE_CTX_DOCUMENT) + 1, rp = strlen(EVIDENCE_CTX_RECEIPT) + 1;
	size_t vlen = 0, at;
	if (b->rcpt != NULL &&
	    (at = pb_value_at(m->rcpt_body + rp, m->rcpt_body_len - rp, 4, 0, &vlen)) != PB_NONE &&
	    vlen == 32)
		b->payload_hash_at = rp + at;
	size_t n = b->doc != NULL ? b->doc->n_attachments : 0;
	b->att_hash_at = calloc(n ? n : 1, sizeof(size_t));
	if (b->att_hash_at == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < n; i++) {
		size_t alen = 0, a = pb_value_at(m->doc_body + dp, m->doc_body_len - dp, 13, i, &alen);
		if (a == PB_NONE)
			continue;
		at = pb_value_at(m->doc_body + dp + a, alen, 4, 0, &vlen);
		if (at != PB_NONE && vlen == 32)
			b->att_hash_at[i] = dp + a + at;
	}
}

int
bundle_build(const struct store_msg *m, const char *ca_path, const struct crl *crl,
    const char *exporter, struct bundle **out, char *err, size_t errlen)
{
	struct bundle *b = calloc(1, sizeof(*b));
	if (b == NULL)
		fatal("out of memory");
	b->m = m;
	decode_bodies(b);
	locate_hashes(b);
	evidence_payload_hash(m->doc_body, m->doc_body_len, b->payload_sha256);
	signer_info(&b->doc_signer, m->doc_cert, m->doc_cert_len, b->doc ? b->doc->created_ms : 0,
	    crl);
	add_signed(b, BUNDLE_DOCUMENT_BODY, doc_files, m->doc_body, m->doc_body_len, m->doc_sig,
	    m->doc_sig_len, m->doc_cert, m->doc_cert_len);
	if (m->rcpt_body_len > 0) {
		evidence_payload_hash(m->rcpt_body, m->rcpt_body_len, b->receipt_sha256);
		signer_info(&b->rcpt_signer, m->rcpt_cert, m->rcpt_cert_len,
		    b->rcpt ? b->rcpt->received_ms : 0, crl);
		add_signed(b, BUNDLE_RECEIPT_BODY, rcpt_files, m->rcpt_body, m->rcpt_body_len,
		    m->rcpt_sig, m->rcpt_sig_len, m->rcpt_cert, m->rcpt_cert_len);
	}
	if (add_ca(b, ca_path, err, errlen) != 0) {
		bundle_free(b);
		return -1;
	}
	size_t dlen = 0;
	const uint8_t *der = crl != NULL ? crl_der(crl, &dlen) : NULL;
	if (der != NULL && crl_number(crl) > 0) {
		b->crl_number = crl_number(crl);
		b->crl_this_update = crl_this_update(crl);
		b->crl_next_update = crl_next_update(crl);
		add_pem(b, BUNDLE_CRL, "crl.pem", "the effective CRL of the exporting authority "
		    "when it exported", "X509 CRL", der, dlen);
	}
	add_copy(b, BUNDLE_SCHEMA, "rogatory.proto", "the peer schema (package rogatory.v1) for "
	    "protoc --decode", rogatory_proto_text, rogatory_proto_text_len);
	for (size_t i = 0; b->doc != NULL && i < b->doc->n_attachments; i++) {
		char path[24];
		snprintf(path, sizeof(path), "attachments/%03u", (unsigned)i);
		add_file(b, BUNDLE_ATTACHMENT_0 + (unsigned)i, path, "an attachment of the signed "
		    "manifest, by index; its name is in manifest.json only", NULL,
		    b->doc->attachments[i]->size);
		b->files[b->nfiles - 1].attachment = (uint32_t)i;
	}
	render_verify_md(b, exporter);
	*out = b;
	return 0;
}

/* ---- proof of retrieval ---- */

static const struct signed_files retr_files[3] = {
	{"retrieval.body", "the recipient's signed evidence of retrieval: the exact "
	    "SignedObject.body bytes (context rogatory/retrieval/v1, 0x00, RetrievalBody)"},
	{"retrieval.sig", "ECDSA P-256 SHA-256 signature over retrieval.body, DER"},
	{"retrieval-signer.pem", "the certificate that made retrieval.sig (PEM-armoured)"},
};
static const struct signed_files retr_rcpt_files[3] = {
	{"retrieval-receipt.body", "the sender's signed receipt of the evidence of retrieval "
	    "(context rogatory/receipt/v1, 0x00, ReceiptBody)"},
	{"retrieval-receipt.sig", "ECDSA P-256 SHA-256 signature over retrieval-receipt.body, "
	    "DER"},
	{"retrieval-receipt-signer.pem", "the certificate that made retrieval-receipt.sig "
	    "(PEM-armoured)"},
};

void
bundle_add_retrieval(struct bundle *b, const struct store_retrieval *t, const char *exporter,
    const struct crl *crl)
{
	struct bundle_retrieval *r = calloc(1, sizeof(*r));
	if (r == NULL)
		fatal("out of memory");
	char err[300];
	size_t tp = strlen(EVIDENCE_CTX_RETRIEVAL) + 1, rp = strlen(EVIDENCE_CTX_RECEIPT) + 1;
	size_t vlen = 0, at;
	if (t->body_len > tp && memcmp(t->body, EVIDENCE_CTX_RETRIEVAL, tp) == 0 &&
	    wire_retrieval_body_decode(t->body + tp, t->body_len - tp, &r->body, err,
	        sizeof(err)) != 0)
		r->body = NULL;
	if (r->body != NULL &&
	    (at = pb_value_at(t->body + tp, t->body_len - tp, 4, 0, &vlen)) != PB_NONE && vlen == 32)
		r->hash_at = tp + at;
	evidence_payload_hash(t->body, t->body_len, r->sha256);
	signer_info(&r->signer, t->cert, t->cert_len, r->body ? r->body->retrieved_ms : 0, crl);
	add_signed(b, BUNDLE_RETRIEVAL_BODY, retr_files, t->body, t->body_len, t->sig, t->sig_len,
	    t->cert, t->cert_len);
	if (t->rcpt_body_len > 0) {
		r->has_receipt = true;
		if (t->rcpt_body_len > rp && memcmp(t->rcpt_body, EVIDENCE_CTX_RECEIPT, rp) == 0 &&
		    wire_receipt_body_decode(t->rcpt_body + rp, t->rcpt_body_len - rp, &r->rcpt, err,
		        sizeof(err)) != 0)
			r->rcpt = NULL;
		if (r->rcpt != NULL && (at = pb_value_at(t->rcpt_body + rp, t->rcpt_body_len - rp, 4,
		        0, &vlen)) != PB_NONE && vlen == 32)
			r->rcpt_hash_at = rp + at;
		signer_info(&r->rcpt_signer, t->rcpt_cert, t->rcpt_cert_len,
		    r->rcpt ? r->rcpt->received_ms : 0, crl);
		add_signed(b, BUNDLE_RETRIEVAL_RECEIPT_BODY, retr_rcpt_files, t->rcpt_body,
		    t->rcpt_body_len, t->rcpt_sig, t->rcpt_sig_len, t->rcpt_cert, t->rcpt_cert_len);
	}
	b->retr = r;
	render_verify_md(b, exporter);
}

/* ---- the audit log's proof ---- */

/* Base64 text of o[key] as bytes (malloc'd); -1 when it is missing or not base64. */
static int
b64_field(const json_t *o, const char *key, uint8_t **out, size_t *len)
{
	const json_t *s = json_object_get(o, key);
	size_t n = json_is_string(s) ? json_string_length(s) : 0;
	const char *t = json_string_value(s);
	*out = NULL;
	if (n == 0 || n % 4 != 0)
		return -1;
	uint8_t *buf = malloc(n / 4 * 3 + 1);
	if (buf == NULL)
		fatal("out of memory");
	int got = EVP_DecodeBlock(buf, (const unsigned char *)t, (int)n);
	if (got < 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = (size_t)got - (t[n - 1] == '=') - (t[n - 2] == '=');
	return 0;
}

static int
hex_hash(const json_t *s, uint8_t out[32])
{
	return merkle_hash_from_hex(json_string_value(s), out);
}

/*
 * One signed object of the proof as three files from part `first` (body, signature,
 * signer): signer's identity and claimed time into s, the offset of field hash_field's
 * 32 bytes in the body into *hash_at. The decoded body goes to *body (freed by caller).
 */
static int
add_audit_signed(struct bundle *b, const json_t *o, unsigned first, const char *base,
    const char *ctx, uint32_t hash_field, const struct crl *crl, struct bundle_signer *s,
    size_t *hash_at, uint8_t **body, size_t *body_len)
{
	uint8_t *sig = NULL, *cert = NULL;
	size_t sig_len = 0, cert_len = 0, clen = strlen(ctx) + 1, vlen = 0;
	char path[3][32];
	if (b64_field(o, "body", body, body_len) != 0 || b64_field(o, "signature", &sig,
	        &sig_len) != 0 || b64_field(o, "certificate", &cert, &cert_len) != 0 ||
	    *body_len <= clen || memcmp(*body, ctx, clen) != 0) {
		free(sig);
		free(cert);
		return -1;
	}
	const json_t *t = json_object_get(o, "time_ms");
	signer_info(s, cert, cert_len, json_is_integer(t) ? json_integer_value(t) : 0, crl);
	size_t at = pb_value_at(*body + clen, *body_len - clen, hash_field, 0, &vlen);
	*hash_at = at != PB_NONE && vlen == 32 ? clen + at : 0;
	snprintf(path[0], sizeof(path[0]), "%s.body", base);
	snprintf(path[1], sizeof(path[1]), "%s.sig", base);
	snprintf(path[2], sizeof(path[2]), "%s-signer.pem", base);
	add_copy(b, first, path[0], "an audit log signed body (rogatory.proto, PROTOCOL.md "
	    "section 15)", *body, *body_len);
	add_file(b, first + 1, path[1], "ECDSA P-256 SHA-256 signature over the body, DER", sig,
	    sig_len);
	add_pem(b, first + 2, path[2], "the certificate that made the signature",
	    "CERTIFICATE", cert, cert_len);
	free(cert);
	return 0;
}

/* The first entry, for VERIFY.md's walk through its path. */
static int
audit_first_entry(struct bundle_audit *a, const json_t *e)
{
	const json_t *p = json_object_get(e, "path"), *seq = json_object_get(e, "seq");
	const char *b64 = json_string_value(json_object_get(e, "entry"));
	if (b64 == NULL || !json_is_integer(seq) || !json_is_array(p) ||
	    json_array_size(p) > WIRE_PROOF_MAX ||
	    hex_hash(json_object_get(e, "leaf_hash"), a->leaf) != 0)
		return -1;
	a->seq = (uint64_t)json_integer_value(seq);
	a->npath = json_array_size(p);
	for (size_t i = 0; i < a->npath; i++)
		if (hex_hash(json_array_get(p, i), a->path[i]) != 0)
			return -1;
	if ((a->entry_b64 = strdup(b64)) == NULL)
		fatal("out of memory");
	return 0;
}

/* VERIFY.md again, now that the bundle has more to say. */
static void
render_verify_md(struct bundle *b, const char *exporter)
{
	uint8_t *md = NULL;
	size_t mdlen = 0;
	verifymd_render(b, exporter, &md, &mdlen);
	for (size_t i = 0; i < b->nfiles; i++) {
		struct bundle_file *f = &b->files[i];
		if (f->part != BUNDLE_VERIFY_MD)
			continue;
		free(f->data);
		f->data = md;
		f->size = mdlen;
		unsigned hl = 0;
		EVP_Digest(md, mdlen, f->sha256, &hl, EVP_sha256(), NULL);
		return;
	}
	add_file(b, BUNDLE_VERIFY_MD, "VERIFY.md", "how to check every file of this folder by "
	    "hand with openssl, protoc and sha256sum", md, mdlen);
}

int
bundle_add_audit(struct bundle *b, const json_t *proof, const char *exporter,
    const struct crl *crl, char *err, size_t errlen)
{
	struct bundle_audit *a = calloc(1, sizeof(*a));
	const json_t *cos = json_object_get(proof, "cosignatures");
	const json_t *entries = json_object_get(proof, "entries");
	uint8_t *body = NULL;
	size_t body_len = 0;
	Rogatory__V1__CheckpointBody *cp = NULL;
	char why[200];
	if (a == NULL)
		fatal("out of memory");
	size_t clen = strlen(EVIDENCE_CTX_CHECKPOINT) + 1;
	if (!json_is_array(entries) || json_array_size(entries) == 0 ||
	    audit_first_entry(a, json_array_get(entries, 0)) != 0 ||
	    add_audit_signed(b, json_object_get(proof, "checkpoint"), BUNDLE_AUDIT_CHECKPOINT_BODY,
	        "checkpoint", EVIDENCE_CTX_CHECKPOINT, 3, crl, &a->signer, &a->root_at,
	        &body, &body_len) != 0 ||
	    wire_checkpoint_body_decode(body + clen, body_len - clen, &cp, why, sizeof(why)) != 0) {
		free(body);
		free(a->entry_b64);
		free(a);
		return err_set(err, errlen, "the audit proof is not one");
	}
	a->nentries = json_array_size(entries);
	a->size = cp->tree_size;
	a->time_ms = cp->time_ms;
	memcpy(a->root, cp->root_hash.data, 32);
	evidence_payload_hash(body, body_len, a->checkpoint_sha256);
	wire_audit_free(cp);
	free(body);
	size_t k;
	const json_t *c;
	json_array_foreach(cos, k, c) {
		if (a->ncos == BUNDLE_AUDIT_COSIGNERS_MAX)
			break;
		char base[24];
		snprintf(base, sizeof(base), "cosignature-%zu", a->ncos + 1);
		if (add_audit_signed(b, c, BUNDLE_AUDIT_COSIGNATURE_0 + 3 * (unsigned)a->ncos, base,
		        EVIDENCE_CTX_COSIGNATURE, 5, crl, &a->cos[a->ncos],
		        &a->cos_sha_at[a->ncos], &body, &body_len) == 0)
			a->ncos++;
		free(body);
		body = NULL;
	}
	char *text = json_dumps(proof, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	if (text == NULL)
		fatal("out of memory");
	size_t tlen = strlen(text);
	text[tlen] = '\n';
	add_file(b, BUNDLE_AUDIT_JSON, "audit.json", "the audit log's inclusion proof of every "
	    "entry about this message under a signed, witnessed checkpoint (PROTOCOL.md section "
	    "15.6; rogatoryctl audit check)", (uint8_t *)text, tlen + 1);
	b->audit = a;
	render_verify_md(b, exporter);
	return 0;
}

const struct bundle_file *
bundle_file(const struct bundle *b, unsigned part)
{
	for (size_t i = 0; i < b->nfiles; i++)
		if (b->files[i].part == part)
			return &b->files[i];
	return NULL;
}

void
bundle_free(struct bundle *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->nfiles; i++)
		free(b->files[i].data);
	wire_document_body_free(b->doc);
	wire_receipt_body_free(b->rcpt);
	free(b->att_hash_at);
	if (b->audit != NULL)
		free(b->audit->entry_b64);
	free(b->audit);
	if (b->retr != NULL) {
		wire_audit_free(b->retr->body);
		wire_receipt_body_free(b->retr->rcpt);
	}
	free(b->retr);
	free(b);
}
