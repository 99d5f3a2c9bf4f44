/*
 * wire: decode + validate every protobuf message that comes from outside (peer
 * Envelopes, signed bodies, control Requests), in one place. A message that passes
 * here has: every required field present, every text field valid UTF-8 without NUL,
 * within its cap and within its text rule (no terminal controls; see wire.c and
 * docs/PROTOCOL.md section 3; Hello.software and Error.text are repaired in place
 * instead), every id of the right form, no *_UNSPECIFIED enum, no unknown field.
 * Unpacking uses a budget-limited allocator, so a small frame cannot make us allocate
 * without bound. Modules above this one may read the generated structs' fields, but
 * only after they passed through here.
 */
#ifndef ROGATORY_WIRE_H
#define ROGATORY_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "control.pb-c.h"
#include "rogatory.pb-c.h"

#define PROTOCOL_VERSION_MIN 1
#define PROTOCOL_VERSION_MAX 3
/* The first version with proof of retrieval (Retrieval frames, PROTOCOL.md section 16). */
#define PROTOCOL_VERSION_RETRIEVAL 2
/* Links of this version or later resume a resent Transfer's attachments (Resume). */
#define PROTOCOL_VERSION_RESUME 3
#define CONTROL_PROTOCOL_VERSION 1

/* Caps on text fields, in bytes. */
#define WIRE_TEXT_MAX 1024          /* Error.text, reason_text, software */
#define WIRE_SUBJECT_MAX 1024
#define WIRE_FIELD_VALUE_MAX 65536
#define WIRE_FIELDS_MAX 64
#define WIRE_ATTACHMENTS_MAX 256
#define WIRE_NAME_MAX 255           /* attachment name */
#define WIRE_MEDIA_TYPE_MAX 127
#define WIRE_CERT_MAX 16384         /* DER certificate */
#define WIRE_SIG_MAX 256            /* DER ECDSA signature */
#define WIRE_CRL_MAX (1u << 20)
#define WIRE_BODY_MAX (1u << 20)    /* a signed body */
#define WIRE_DIRECTORY_MAX (1u << 20) /* Directory.conf: the bytes of directory.conf */
#define WIRE_FIELD_NAME_MAX 64      /* Field.name: [a-z0-9_-]{1,64} */
#define WIRE_REASON_CODE_MAX 32     /* ReceiptBody.reason_code: [a-z0-9-]{1,32} */
#define WIRE_CTL_CODE_MAX 64        /* control Reply.error_code: [a-z0-9-]{1,64} */
#define WIRE_SHA256_LEN 32
#define WIRE_PROOF_MAX 128          /* hashes in a consistency or inclusion proof */
#define WIRE_EVENT_MAX 31           /* AuditEntry.event: [a-z0-9-]{1,31} */
#define WIRE_STATE_MAX 39           /* AuditEntry.state: a message state or a case state */
#define WIRE_ALERT_MAX 31           /* AuditEntry.alert: empty or [a-z0-9-]{1,31} */
#define WIRE_REASON_MAX 255         /* AuditEntry.reason */
#define WIRE_USER_MAX 255           /* Actor.user */
/* ExportRequest.part: 0 the manifest, 1..CONTROL_EXPORT_PART_MAX a file (see bundle.h). */
#define CONTROL_EXPORT_PART_MAX 511

/* Decodes and validates one Envelope body (frame payload). 0: *out set, free it with
 * wire_envelope_free. -1: err says which field and why. */
int wire_envelope_decode(const uint8_t *buf, size_t len, Rogatory__V1__Envelope **out,
    char *err, size_t errlen);
void wire_envelope_free(Rogatory__V1__Envelope *env);

/* The serialized bodies inside SignedObject.body, after the context prefix. Same rules,
 * plus: the re-pack of the decoded message must equal buf byte for byte. */
int wire_document_body_decode(const uint8_t *buf, size_t len,
    Rogatory__V1__DocumentBody **out, char *err, size_t errlen);
void wire_document_body_free(Rogatory__V1__DocumentBody *b);
int wire_receipt_body_decode(const uint8_t *buf, size_t len,
    Rogatory__V1__ReceiptBody **out, char *err, size_t errlen);
void wire_receipt_body_free(Rogatory__V1__ReceiptBody *b);

/* The audit log's signed bodies (after their context prefix) and its entries: same
 * rules, canonical encoding required (PROTOCOL.md section 15). Free with wire_audit_free. */
int wire_checkpoint_body_decode(const uint8_t *buf, size_t len,
    Rogatory__V1__CheckpointBody **out, char *err, size_t errlen);
int wire_cosignature_body_decode(const uint8_t *buf, size_t len,
    Rogatory__V1__CosignatureBody **out, char *err, size_t errlen);
int wire_audit_entry_decode(const uint8_t *buf, size_t len, Rogatory__V1__AuditEntry **out,
    char *err, size_t errlen);
void wire_audit_free(void *m);
/* A RetrievalBody (after its context prefix, PROTOCOL.md section 16): same rules,
 * canonical encoding required. Free with wire_audit_free. */
int wire_retrieval_body_decode(const uint8_t *buf, size_t len,
    Rogatory__V1__RetrievalBody **out, char *err, size_t errlen);

/* The signed directory (PROTOCOL.md section 17): a DirectoryBody (after its context
 * prefix; generic checks, serial 1..2^63-1, 32-byte hash, time > 0, canonical), a
 * Directory as stored in state_dir (conf 1..WIRE_DIRECTORY_MAX, signature as a
 * SignedObject), and a SignedObject alone (a directory.conf.sig file; canonical).
 * Free each with wire_audit_free. */
int wire_directory_body_decode(const uint8_t *buf, size_t len,
    Rogatory__V1__DirectoryBody **out, char *err, size_t errlen);
int wire_directory_decode(const uint8_t *buf, size_t len, Rogatory__V1__Directory **out,
    char *err, size_t errlen);
int wire_signed_object_decode(const uint8_t *buf, size_t len,
    Rogatory__V1__SignedObject **out, char *err, size_t errlen);

/* The Transfer's unsigned routing copies equal the signed body's fields. 0 / -1 + err. */
int wire_transfer_matches(const Rogatory__V1__Transfer *t,
    const Rogatory__V1__DocumentBody *body, char *err, size_t errlen);

/* Control socket Request (daemon side) and Reply (ctl side). */
int wire_ctl_request_decode(const uint8_t *buf, size_t len, Rogatory__Ctl__V1__Request **out,
    char *err, size_t errlen);
/* The same; *request_id (when not NULL) is the Request's request_id as soon as the bytes
 * unpacked, set on failure too (a request refused by a later check is answered with its
 * own id), and 0 when they did not unpack. */
int wire_ctl_request_decode_id(const uint8_t *buf, size_t len, Rogatory__Ctl__V1__Request **out,
    uint64_t *request_id, char *err, size_t errlen);
void wire_ctl_request_free(Rogatory__Ctl__V1__Request *r);
int wire_ctl_reply_decode(const uint8_t *buf, size_t len, Rogatory__Ctl__V1__Reply **out,
    char *err, size_t errlen);
void wire_ctl_reply_free(Rogatory__Ctl__V1__Reply *r);

/* Points so at the three byte strings (no copy): for sending or checking stored blobs. */
static inline void
wire_signed_object_set(Rogatory__V1__SignedObject *so, const uint8_t *body, size_t body_len,
    const uint8_t *sig, size_t sig_len, const uint8_t *cert, size_t cert_len)
{
	rogatory__v1__signed_object__init(so);
	so->body.data = (uint8_t *)body;
	so->body.len = body_len;
	so->signature.data = (uint8_t *)sig;
	so->signature.len = sig_len;
	so->signer_certificate.data = (uint8_t *)cert;
	so->signer_certificate.len = cert_len;
}

/* Names for enums (for logs and JSON); "unknown" outside the range. */
const char *wire_kind_name(Rogatory__V1__Kind k);
int wire_kind_parse(const char *s, Rogatory__V1__Kind *out); /* "mla", "extradition", ... */
const char *wire_error_code_name(Rogatory__V1__ErrorCode c);
const char *wire_status_name(Rogatory__V1__Status s);
int wire_status_parse(const char *s, Rogatory__V1__Status *out); /* "refused", ... */
const char *wire_doc_type_name(Rogatory__V1__DocType t);   /* "request", "status" */
const char *wire_outcome_name(Rogatory__V1__Outcome o);    /* "accepted", "rejected" */

#endif
