/*
 * evidence: signatures over exact bytes. A signed object is {body, signature, signer
 * certificate}; body = context string, one 0x00 byte, serialized protobuf. Signing
 * packs once and signs those bytes; verifying checks the context prefix before anything
 * is unpacked, so a receipt signature can never pass as a document signature. ECDSA
 * P-256 with SHA-256, DER signatures, the authority's own TLS key.
 */
#ifndef ROGATORY_EVIDENCE_H
#define ROGATORY_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text.h"
#include "wire.h"

#define EVIDENCE_CTX_DOCUMENT "rogatory/document/v1"
#define EVIDENCE_CTX_RECEIPT "rogatory/receipt/v1"
#define EVIDENCE_CTX_CHECKPOINT "rogatory/checkpoint/v1"
#define EVIDENCE_CTX_COSIGNATURE "rogatory/cosignature/v1"
#define EVIDENCE_CTX_RETRIEVAL "rogatory/retrieval/v1"
#define EVIDENCE_HASH_LEN 32

enum evidence_ctx { EVIDENCE_DOCUMENT, EVIDENCE_RECEIPT, EVIDENCE_CHECKPOINT,
                    EVIDENCE_COSIGNATURE, EVIDENCE_RETRIEVAL };

/* Our signing identity: private key + certificate (DER kept for SignedObjects). */
struct evidence_signer;

/* Plain bytes of a signed object; each field malloc'd, owned by the struct. */
struct signed_object {
	uint8_t *body;
	size_t body_len;
	uint8_t *signature;
	size_t signature_len;
	uint8_t *cert;
	size_t cert_len;
};

/* Loads cert + key (key mode checked as in cert_key_load). -1 + err. */
int evidence_signer_load(const char *cert_path, const char *key_path,
    struct evidence_signer **out, char *err, size_t errlen);
void evidence_signer_free(struct evidence_signer *s);
/* The signer's authority id (from its certificate SAN). */
const char *evidence_signer_id(const struct evidence_signer *s);

/* Packs b, prefixes the context, signs. out is filled (free with signed_object_clear). */
int evidence_sign_document(const struct evidence_signer *s,
    const Rogatory__V1__DocumentBody *b, struct signed_object *out, char *err, size_t errlen);
int evidence_sign_receipt(const struct evidence_signer *s, const Rogatory__V1__ReceiptBody *b,
    struct signed_object *out, char *err, size_t errlen);
/* The audit log's: an origin's checkpoint, a witness's cosignature (PROTOCOL.md 14). */
int evidence_sign_checkpoint(const struct evidence_signer *s,
    const Rogatory__V1__CheckpointBody *b, struct signed_object *out, char *err, size_t errlen);
int evidence_sign_cosignature(const struct evidence_signer *s,
    const Rogatory__V1__CosignatureBody *b, struct signed_object *out, char *err,
    size_t errlen);

/*
 * Checks the context prefix, parses the signer certificate (DER), takes its authority id
 * from the SAN, and verifies the signature over body. Does not check the chain or
 * revocation (the caller does that with cert_verify_at and the CRL). On success writes
 * the signer id.
 */
int evidence_verify(const uint8_t *body, size_t body_len, const uint8_t *sig, size_t sig_len,
    const uint8_t *cert, size_t cert_len, enum evidence_ctx ctx,
    char signer_id[AUTHORITY_ID_MAX + 1], char *err, size_t errlen);

/* evidence_verify, then wire_document_body_decode / wire_receipt_body_decode of the
 * payload after the prefix. *out freed with the wire_*_free function. */
int evidence_open_document(const Rogatory__V1__SignedObject *o,
    char signer_id[AUTHORITY_ID_MAX + 1], Rogatory__V1__DocumentBody **out, char *err,
    size_t errlen);
int evidence_open_receipt(const Rogatory__V1__SignedObject *o,
    char signer_id[AUTHORITY_ID_MAX + 1], Rogatory__V1__ReceiptBody **out, char *err,
    size_t errlen);

/* evidence_verify, then the body decoded; the signer must be the checkpoint's origin,
 * the cosignature's witness. *out freed with wire_audit_free. */
int evidence_open_checkpoint(const Rogatory__V1__SignedObject *o,
    char signer_id[AUTHORITY_ID_MAX + 1], Rogatory__V1__CheckpointBody **out, char *err,
    size_t errlen);
int evidence_open_cosignature(const Rogatory__V1__SignedObject *o,
    char signer_id[AUTHORITY_ID_MAX + 1], Rogatory__V1__CosignatureBody **out, char *err,
    size_t errlen);

/* Proof of retrieval (PROTOCOL.md section 16): signed by the document's recipient, who
 * must be the body's retriever_id. *out freed with wire_audit_free. */
int evidence_sign_retrieval(const struct evidence_signer *s,
    const Rogatory__V1__RetrievalBody *b, struct signed_object *out, char *err, size_t errlen);
int evidence_open_retrieval(const Rogatory__V1__SignedObject *o,
    char signer_id[AUTHORITY_ID_MAX + 1], Rogatory__V1__RetrievalBody **out, char *err,
    size_t errlen);

/* Signs existing body bytes again (after a certificate renewal): same body, so the same
 * payload hash, with s's key and certificate. The context prefix is checked. */
int evidence_resign(const struct evidence_signer *s, const uint8_t *body, size_t body_len,
    enum evidence_ctx ctx, struct signed_object *out, char *err, size_t errlen);
/* True when both hold the same certificate. */
bool evidence_signer_same(const struct evidence_signer *a, const struct evidence_signer *b);

/* SHA-256 of the document's SignedObject.body bytes: the payload hash. */
void evidence_payload_hash(const uint8_t *body, size_t len, uint8_t out[EVIDENCE_HASH_LEN]);

void signed_object_clear(struct signed_object *o);

/* Forgets the signer certificates parsed by this thread (at exit). */
void evidence_cache_clear(void);

#endif
