/*
 * evidence: signs and verifies the exact bytes of documents and receipts (ECDSA P-256,
 * SHA-256, DER). It must never unpack a body before its context prefix and signature
 * checked out, and never sign bytes other than the ones it hands back.
 */
#include "evidence.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cert.h"
#include "log.h"

struct evidence_signer {
	EVP_PKEY *key;
	uint8_t *cert_der;
	size_t cert_der_len;
	char id[AUTHORITY_ID_MAX + 1];
};

/*
 * Signer certificates already parsed, with their id and checked P-256 key: a network has
 * a few dozen, and parsing one (the key decoder above all) costs three times the
 * signature check it serves. Keyed by the exact DER bytes; per thread, so no lock. Only
 * parsing is cached: every signature is still verified.
 */
#define EV_CACHE 16

struct ev_cert {
	uint8_t *der;
	size_t der_len;
	X509 *cert;
	char id[AUTHORITY_ID_MAX + 1];
	uint64_t used;
};

static _Thread_local struct ev_cert ev_cache[EV_CACHE];
static _Thread_local uint64_t ev_clock;

static const char *ctx_string(enum evidence_ctx ctx);
static const char *ossl_reason(char *buf, size_t len);
static int key_is_p256(EVP_PKEY *k, const char *what, char *err, size_t errlen);
static int sign_message(const struct evidence_signer *s, enum evidence_ctx ctx,
    const ProtobufCMessage *m, struct signed_object *out, char *err, size_t errlen);
static int check_prefix(const uint8_t *body, size_t body_len, enum evidence_ctx ctx,
    char *err, size_t errlen);
static int dup_bytes(uint8_t **dst, size_t *dst_len, const uint8_t *src, size_t len);
static int verify_object(const Rogatory__V1__SignedObject *o, enum evidence_ctx ctx,
    char signer_id[AUTHORITY_ID_MAX + 1], const uint8_t **payload, size_t *payload_len,
    char *err, size_t errlen);
static bool bytes_eq_str(const ProtobufCBinaryData *b, const char *s);

/* Every context, by enum evidence_ctx: a body announces its kind by its first bytes. */
static const struct {
	const char *context;
	const char *what;
} ev_contexts[] = {
	[EVIDENCE_DOCUMENT] = {EVIDENCE_CTX_DOCUMENT, "document"},
	[EVIDENCE_RECEIPT] = {EVIDENCE_CTX_RECEIPT, "receipt"},
	[EVIDENCE_CHECKPOINT] = {EVIDENCE_CTX_CHECKPOINT, "checkpoint"},
	[EVIDENCE_COSIGNATURE] = {EVIDENCE_CTX_COSIGNATURE, "cosignature"},
	[EVIDENCE_RETRIEVAL] = {EVIDENCE_CTX_RETRIEVAL, "retrieval"},
};
#define EV_NCONTEXTS (sizeof(ev_contexts) / sizeof(ev_contexts[0]))

static const char *
ctx_string(enum evidence_ctx ctx)
{
	return (unsigned)ctx < EV_NCONTEXTS ? ev_contexts[ctx].context : EVIDENCE_CTX_DOCUMENT;
}

static const char *
ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
	snprintf(buf, len, "%s", r != NULL ? r : "out of memory");
	return buf;
}

/* The protocol fixes one algorithm; anything else is refused by name so an operator
 * who configured an RSA or P-384 key learns why at start-up, not from a peer. */
static int
key_is_p256(EVP_PKEY *k, const char *what, char *err, size_t errlen)
{
	char group[64] = "";
	size_t glen = 0;
	if (!EVP_PKEY_is_a(k, "EC"))
		return err_set(err, errlen, "%s is a %s key; rogatory signs with ECDSA P-256 "
		    "(prime256v1) only", what, EVP_PKEY_get0_type_name(k) ?
		    EVP_PKEY_get0_type_name(k) : "non-EC");
	if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
	    sizeof(group), &glen) != 1) {
		ERR_clear_error();
		return err_set(err, errlen, "%s is an EC key without a named curve; rogatory "
		    "signs with ECDSA P-256 (prime256v1) only", what);
	}
	if (strcmp(group, "prime256v1") != 0)
		return err_set(err, errlen, "%s is an EC key on curve %s; rogatory signs with "
		    "ECDSA P-256 (prime256v1) only", what, group);
	return 0;
}

static int
dup_bytes(uint8_t **dst, size_t *dst_len, const uint8_t *src, size_t len)
{
	*dst = malloc(len > 0 ? len : 1);
	if (*dst == NULL)
		return -1;
	if (len > 0)
		memcpy(*dst, src, len);
	*dst_len = len;
	return 0;
}

int
evidence_signer_load(const char *cert_path, const char *key_path,
    struct evidence_signer **out, char *err, size_t errlen)
{
	X509 *c = NULL;
	unsigned char *der = NULL;
	char what[600];
	char why[256];
	int rc = -1;

	struct evidence_signer *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		err_set(err, errlen, "cannot load signer: out of memory");
		goto done;
	}
	if (cert_load_pem(cert_path, &c, err, errlen) != 0)
		goto done;
	if (cert_key_load(key_path, &s->key, err, errlen) != 0)
		goto done;
	snprintf(what, sizeof(what), "key %s", key_path);
	if (key_is_p256(s->key, what, err, errlen) != 0)
		goto done;
	if (X509_check_private_key(c, s->key) != 1) {
		err_set(err, errlen, "key %s does not match certificate %s", key_path, cert_path);
		goto done;
	}
	if (cert_authority_id(c, s->id, why, sizeof(why)) != 0) {
		err_set(err, errlen, "certificate %s: %s", cert_path, why);
		goto done;
	}
	int n = i2d_X509(c, &der);
	if (n <= 0) {
		err_set(err, errlen, "cannot encode certificate %s as DER", cert_path);
		goto done;
	}
	/* Peers refuse a larger certificate; better to find out here than per message. */
	if ((size_t)n > WIRE_CERT_MAX) {
		err_set(err, errlen, "certificate %s is %d bytes in DER; peers accept at most %d",
		    cert_path, n, WIRE_CERT_MAX);
		goto done;
	}
	if (dup_bytes(&s->cert_der, &s->cert_der_len, der, (size_t)n) != 0) {
		err_set(err, errlen, "cannot load signer: out of memory");
		goto done;
	}
	*out = s;
	s = NULL;
	rc = 0;
done:
	OPENSSL_free(der);
	X509_free(c);
	evidence_signer_free(s);
	ERR_clear_error();
	return rc;
}

void
evidence_signer_free(struct evidence_signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->key);
	free(s->cert_der);
	free(s);
}

const char *
evidence_signer_id(const struct evidence_signer *s)
{
	return s->id;
}

/* Packs once into the buffer that is both signed and returned: what goes on the wire is
 * byte for byte what the signature covers. */
/* Signs body (taking ownership of it) into out: the one place a signature is made. */
static int
sign_bytes(const struct evidence_signer *s, const char *cs, uint8_t *body, size_t body_len,
    struct signed_object *out, char *err, size_t errlen)
{
	uint8_t *sig = NULL;
	EVP_MD_CTX *md = NULL;
	char why[128];
	int rc = -1;
	size_t sig_len = 0;
	md = EVP_MD_CTX_new();
	if (md == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, s->key, NULL) != 1 ||
	    EVP_DigestSign(md, NULL, &sig_len, body, body_len) != 1) {
		err_set(err, errlen, "cannot sign %s: %s", cs, ossl_reason(why, sizeof(why)));
		goto done;
	}
	sig = malloc(sig_len);
	if (sig == NULL) {
		err_set(err, errlen, "cannot sign %s: out of memory", cs);
		goto done;
	}
	/* sig_len above is the maximum; the DER signature is usually a little shorter. */
	if (EVP_DigestSign(md, sig, &sig_len, body, body_len) != 1) {
		err_set(err, errlen, "cannot sign %s: %s", cs, ossl_reason(why, sizeof(why)));
		goto done;
	}
	if (dup_bytes(&out->cert, &out->cert_len, s->cert_der, s->cert_der_len) != 0) {
		err_set(err, errlen, "cannot sign %s: out of memory", cs);
		goto done;
	}
	out->body = body;
	out->body_len = body_len;
	out->signature = sig;
	out->signature_len = sig_len;
	body = NULL;
	sig = NULL;
	rc = 0;
done:
	EVP_MD_CTX_free(md);
	free(body);
	free(sig);
	if (rc != 0)
		signed_object_clear(out);
	ERR_clear_error();
	return rc;
}

static int
sign_message(const struct evidence_signer *s, enum evidence_ctx ctx,
    const ProtobufCMessage *m, struct signed_object *out, char *err, size_t errlen)
{
	const char *cs = ctx_string(ctx);
	size_t clen = strlen(cs);
	memset(out, 0, sizeof(*out));
	size_t packed = protobuf_c_message_get_packed_size(m);
	size_t body_len = clen + 1 + packed;
	if (body_len > WIRE_BODY_MAX)
		return err_set(err, errlen, "%s body is %zu bytes; peers accept at most %u", cs,
		    body_len, WIRE_BODY_MAX);
	uint8_t *body = malloc(body_len);
	if (body == NULL)
		return err_set(err, errlen, "cannot sign %s: out of memory", cs);
	memcpy(body, cs, clen);
	body[clen] = 0x00;
	if (protobuf_c_message_pack(m, body + clen + 1) != packed) {
		free(body);
		return err_set(err, errlen, "cannot sign %s: protobuf packing was inconsistent", cs);
	}
	return sign_bytes(s, cs, body, body_len, out, err, errlen);
}

int
evidence_resign(const struct evidence_signer *s, const uint8_t *body, size_t body_len,
    enum evidence_ctx ctx, struct signed_object *out, char *err, size_t errlen)
{
	const char *cs = ctx_string(ctx);
	size_t clen = strlen(cs);
	memset(out, 0, sizeof(*out));
	if (body_len <= clen || memcmp(body, cs, clen) != 0 || body[clen] != 0x00)
		return err_set(err, errlen, "not a %s body", cs);
	uint8_t *copy = malloc(body_len);
	if (copy == NULL)
		return err_set(err, errlen, "cannot sign %s: out of memory", cs);
	memcpy(copy, body, body_len);
	return sign_bytes(s, cs, copy, body_len, out, err, errlen);
}

bool
evidence_signer_same(const struct evidence_signer *a, const struct evidence_signer *b)
{
	return a->cert_der_len == b->cert_der_len &&
	    memcmp(a->cert_der, b->cert_der, a->cert_der_len) == 0;
}

int
evidence_sign_document(const struct evidence_signer *s,
    const Rogatory__V1__DocumentBody *b, struct signed_object *out, char *err, size_t errlen)
{
	return sign_message(s, EVIDENCE_DOCUMENT, &b->base, out, err, errlen);
}

int
evidence_sign_receipt(const struct evidence_signer *s, const Rogatory__V1__ReceiptBody *b,
    struct signed_object *out, char *err, size_t errlen)
{
	return sign_message(s, EVIDENCE_RECEIPT, &b->base, out, err, errlen);
}

int
evidence_sign_checkpoint(const struct evidence_signer *s, const Rogatory__V1__CheckpointBody *b,
    struct signed_object *out, char *err, size_t errlen)
{
	return sign_message(s, EVIDENCE_CHECKPOINT, &b->base, out, err, errlen);
}

int
evidence_sign_cosignature(const struct evidence_signer *s,
    const Rogatory__V1__CosignatureBody *b, struct signed_object *out, char *err,
    size_t errlen)
{
	return sign_message(s, EVIDENCE_COSIGNATURE, &b->base, out, err, errlen);
}

int
evidence_sign_retrieval(const struct evidence_signer *s, const Rogatory__V1__RetrievalBody *b,
    struct signed_object *out, char *err, size_t errlen)
{
	return sign_message(s, EVIDENCE_RETRIEVAL, &b->base, out, err, errlen);
}

/* Domain separation: a body is read as the kind its first bytes announce, checked
 * before the signature or protobuf are looked at. */
static int
check_prefix(const uint8_t *body, size_t body_len, enum evidence_ctx ctx, char *err,
    size_t errlen)
{
	const char *want = ctx_string(ctx);
	size_t wlen = strlen(want);

	if (body_len > wlen && memcmp(body, want, wlen) == 0 && body[wlen] == 0x00)
		return 0;
	for (size_t i = 0; i < EV_NCONTEXTS; i++) {
		const char *other = ev_contexts[i].context;
		size_t olen = strlen(other);
		if (body_len > olen && memcmp(body, other, olen) == 0 && body[olen] == 0x00)
			return err_set(err, errlen, "signed body is a %s object where a %s was "
			    "expected", other, want);
	}
	return err_set(err, errlen, "signed body does not begin with the context \"%s\" "
	    "and a 0x00 byte", want);
}

/* The parsed certificate for these DER bytes, from the cache or parsed (id taken from
 * its SAN URI, key checked to be P-256) and cached. NULL + err when it is not usable. */
static const struct ev_cert *
ev_cert_get(const uint8_t *der, size_t len, char *err, size_t errlen)
{
	struct ev_cert *victim = &ev_cache[0];
	char why[256];
	for (int i = 0; i < EV_CACHE; i++) {
		struct ev_cert *e = &ev_cache[i];
		if (e->cert != NULL && e->der_len == len && memcmp(e->der, der, len) == 0) {
			e->used = ++ev_clock;
			return e;
		}
		if (e->used < victim->used)
			victim = e;
	}
	X509 *c = NULL;
	char id[AUTHORITY_ID_MAX + 1];
	if (cert_from_der(der, len, &c, why, sizeof(why)) != 0) {
		err_set(err, errlen, "signer %s", why);
		return NULL;
	}
	if (cert_authority_id(c, id, why, sizeof(why)) != 0) {
		err_set(err, errlen, "signer certificate: %s", why);
		X509_free(c);
		return NULL;
	}
	EVP_PKEY *pub = X509_get0_pubkey(c);
	if (pub == NULL) {
		err_set(err, errlen, "signer certificate of %s has an unreadable public key", id);
		X509_free(c);
		return NULL;
	}
	snprintf(why, sizeof(why), "signer certificate of %s", id);
	uint8_t *copy = malloc(len);
	if (key_is_p256(pub, why, err, errlen) != 0 || copy == NULL) {
		if (copy == NULL)
			err_set(err, errlen, "out of memory");
		free(copy);
		X509_free(c);
		return NULL;
	}
	memcpy(copy, der, len);
	free(victim->der);
	X509_free(victim->cert);
	victim->der = copy;
	victim->der_len = len;
	victim->cert = c;
	memcpy(victim->id, id, sizeof(id));
	victim->used = ++ev_clock;
	return victim;
}

int
evidence_verify(const uint8_t *body, size_t body_len, const uint8_t *sig, size_t sig_len,
    const uint8_t *cert, size_t cert_len, enum evidence_ctx ctx,
    char signer_id[AUTHORITY_ID_MAX + 1], char *err, size_t errlen)
{
	EVP_MD_CTX *md = NULL;
	char id[AUTHORITY_ID_MAX + 1];
	int rc = -1;

	if (body == NULL || body_len == 0) {
		err_set(err, errlen, "signed object has no body");
		goto done;
	}
	if (body_len > WIRE_BODY_MAX) {
		err_set(err, errlen, "signed body is %zu bytes; at most %u are accepted",
		    body_len, WIRE_BODY_MAX);
		goto done;
	}
	if (check_prefix(body, body_len, ctx, err, errlen) != 0)
		goto done;
	if (sig == NULL || sig_len == 0 || sig_len > WIRE_SIG_MAX) {
		err_set(err, errlen, "signature length %zu is outside 1..%d", sig_len,
		    WIRE_SIG_MAX);
		goto done;
	}
	if (cert == NULL || cert_len == 0 || cert_len > WIRE_CERT_MAX) {
		err_set(err, errlen, "signer certificate length %zu is outside 1..%d", cert_len,
		    WIRE_CERT_MAX);
		goto done;
	}
	const struct ev_cert *ec = ev_cert_get(cert, cert_len, err, errlen);
	if (ec == NULL)
		goto done;
	EVP_PKEY *pub = X509_get0_pubkey(ec->cert);
	memcpy(id, ec->id, sizeof(id));
	md = EVP_MD_CTX_new();
	if (md == NULL ||
	    EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pub, NULL) != 1) {
		err_set(err, errlen, "cannot set up signature verification: out of memory");
		goto done;
	}
	/* 0 is a wrong signature, <0 a malformed one (not DER, trailing bytes); both are
	 * the same refusal. */
	if (EVP_DigestVerify(md, sig, sig_len, body, body_len) != 1) {
		err_set(err, errlen, "%s signature of %s does not verify", ctx_string(ctx), id);
		goto done;
	}
	memcpy(signer_id, id, sizeof(id));
	rc = 0;
done:
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

/* The shared first half of opening: verified bytes and where the protobuf starts. */
static int
verify_object(const Rogatory__V1__SignedObject *o, enum evidence_ctx ctx,
    char signer_id[AUTHORITY_ID_MAX + 1], const uint8_t **payload, size_t *payload_len,
    char *err, size_t errlen)
{
	if (o == NULL)
		return err_set(err, errlen, "no signed %s object", ev_contexts[ctx].what);
	if (evidence_verify(o->body.data, o->body.len, o->signature.data, o->signature.len,
	    o->signer_certificate.data, o->signer_certificate.len, ctx, signer_id, err,
	    errlen) != 0)
		return -1;
	size_t skip = strlen(ctx_string(ctx)) + 1;
	*payload = o->body.data + skip;
	*payload_len = o->body.len - skip;
	return 0;
}

static bool
bytes_eq_str(const ProtobufCBinaryData *b, const char *s)
{
	size_t n = strlen(s);
	return b->len == n && (n == 0 || memcmp(b->data, s, n) == 0);
}

int
evidence_open_document(const Rogatory__V1__SignedObject *o,
    char signer_id[AUTHORITY_ID_MAX + 1], Rogatory__V1__DocumentBody **out, char *err,
    size_t errlen)
{
	const uint8_t *p = NULL;
	size_t plen = 0;
	Rogatory__V1__DocumentBody *b = NULL;
	char why[512];
	int rc = -1;

	if (verify_object(o, EVIDENCE_DOCUMENT, signer_id, &p, &plen, err, errlen) != 0)
		goto done;
	if (wire_document_body_decode(p, plen, &b, why, sizeof(why)) != 0) {
		err_set(err, errlen, "document signed by %s: %s", signer_id, why);
		goto done;
	}
	/* The signature proves who signed, the body says who sends: they must agree, or a
	 * valid authority could sign documents in another's name. sender_id passed wire
	 * validation, so it is printable. */
	if (!bytes_eq_str(&b->sender_id, signer_id)) {
		err_set(err, errlen, "document signed by %s but names sender %.*s", signer_id,
		    (int)b->sender_id.len, (const char *)b->sender_id.data);
		goto done;
	}
	*out = b;
	b = NULL;
	rc = 0;
done:
	if (b != NULL)
		wire_document_body_free(b);
	return rc;
}

int
evidence_open_receipt(const Rogatory__V1__SignedObject *o,
    char signer_id[AUTHORITY_ID_MAX + 1], Rogatory__V1__ReceiptBody **out, char *err,
    size_t errlen)
{
	const uint8_t *p = NULL;
	size_t plen = 0;
	Rogatory__V1__ReceiptBody *b = NULL;
	char why[512];
	int rc = -1;

	if (verify_object(o, EVIDENCE_RECEIPT, signer_id, &p, &plen, err, errlen) != 0)
		goto done;
	if (wire_receipt_body_decode(p, plen, &b, why, sizeof(why)) != 0) {
		err_set(err, errlen, "receipt signed by %s: %s", signer_id, why);
		goto done;
	}
	/* A receipt is the receiver's word; only the receiver can give it. */
	if (!bytes_eq_str(&b->receiver_id, signer_id)) {
		err_set(err, errlen, "receipt signed by %s but names receiver %.*s", signer_id,
		    (int)b->receiver_id.len, (const char *)b->receiver_id.data);
		goto done;
	}
	*out = b;
	b = NULL;
	rc = 0;
done:
	if (b != NULL)
		wire_receipt_body_free(b);
	return rc;
}

/* The audit bodies: verified, decoded, and signed by the authority they name. */
typedef int (*audit_decode_fn)(const uint8_t *buf, size_t len, void **out, char *err,
    size_t errlen);

static int
open_audit(const Rogatory__V1__SignedObject *o, enum evidence_ctx ctx, audit_decode_fn decode,
    size_t id_off, char signer_id[AUTHORITY_ID_MAX + 1], void **out, char *err, size_t errlen)
{
	const uint8_t *p = NULL;
	size_t plen = 0;
	void *b = NULL;
	char why[512];
	*out = NULL;
	if (verify_object(o, ctx, signer_id, &p, &plen, err, errlen) != 0)
		return -1;
	if (decode(p, plen, &b, why, sizeof(why)) != 0)
		return err_set(err, errlen, "%s signed by %s: %s", ev_contexts[ctx].what, signer_id,
		    why);
	const ProtobufCBinaryData *id = (const void *)((const char *)b + id_off);
	if (!bytes_eq_str(id, signer_id)) {
		err_set(err, errlen, "%s signed by %s but names %.*s", ev_contexts[ctx].what,
		    signer_id, (int)id->len, (const char *)id->data);
		wire_audit_free(b);
		return -1;
	}
	*out = b;
	return 0;
}

static int
decode_checkpoint(const uint8_t *buf, size_t len, void **out, char *err, size_t errlen)
{
	Rogatory__V1__CheckpointBody *b = NULL;
	int rc = wire_checkpoint_body_decode(buf, len, &b, err, errlen);
	*out = b;
	return rc;
}

static int
decode_cosignature(const uint8_t *buf, size_t len, void **out, char *err, size_t errlen)
{
	Rogatory__V1__CosignatureBody *b = NULL;
	int rc = wire_cosignature_body_decode(buf, len, &b, err, errlen);
	*out = b;
	return rc;
}

int
evidence_open_checkpoint(const Rogatory__V1__SignedObject *o,
    char signer_id[AUTHORITY_ID_MAX + 1], Rogatory__V1__CheckpointBody **out, char *err,
    size_t errlen)
{
	void *b = NULL;
	int rc = open_audit(o, EVIDENCE_CHECKPOINT, decode_checkpoint,
	    offsetof(Rogatory__V1__CheckpointBody, origin), signer_id, &b, err, errlen);
	*out = b;
	return rc;
}

int
evidence_open_cosignature(const Rogatory__V1__SignedObject *o,
    char signer_id[AUTHORITY_ID_MAX + 1], Rogatory__V1__CosignatureBody **out, char *err,
    size_t errlen)
{
	void *b = NULL;
	int rc = open_audit(o, EVIDENCE_COSIGNATURE, decode_cosignature,
	    offsetof(Rogatory__V1__CosignatureBody, witness_id), signer_id, &b, err, errlen);
	*out = b;
	return rc;
}

static int
decode_retrieval(const uint8_t *buf, size_t len, void **out, char *err, size_t errlen)
{
	Rogatory__V1__RetrievalBody *b = NULL;
	int rc = wire_retrieval_body_decode(buf, len, &b, err, errlen);
	*out = b;
	return rc;
}

int
evidence_open_retrieval(const Rogatory__V1__SignedObject *o,
    char signer_id[AUTHORITY_ID_MAX + 1], Rogatory__V1__RetrievalBody **out, char *err,
    size_t errlen)
{
	void *b = NULL;
	int rc = open_audit(o, EVIDENCE_RETRIEVAL, decode_retrieval,
	    offsetof(Rogatory__V1__RetrievalBody, retriever_id), signer_id, &b, err, errlen);
	*out = b;
	return rc;
}

void
evidence_payload_hash(const uint8_t *body, size_t len, uint8_t out[EVIDENCE_HASH_LEN])
{
	unsigned int n = 0;
	/* Fails only when OpenSSL cannot allocate; an all-zero hash then matches no
	 * receipt, so nothing is wrongly accepted. */
	if (EVP_Digest(body, len, out, &n, EVP_sha256(), NULL) != 1 || n != EVIDENCE_HASH_LEN) {
		memset(out, 0, EVIDENCE_HASH_LEN);
		ERR_clear_error();
		log_err("SHA-256 of a %zu-byte body failed", len);
	}
}

void
signed_object_clear(struct signed_object *o)
{
	if (o == NULL)
		return;
	free(o->body);
	free(o->signature);
	free(o->cert);
	memset(o, 0, sizeof(*o));
}

void
evidence_cache_clear(void)
{
	for (int i = 0; i < EV_CACHE; i++) {
		free(ev_cache[i].der);
		X509_free(ev_cache[i].cert);
		memset(&ev_cache[i], 0, sizeof(ev_cache[i]));
	}
}
