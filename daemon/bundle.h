/*
 * bundle: the evidence of one stored message as files anyone can check without rogatory
 * (`rogatoryctl export`, PROTOCOL.md section 13): the exact signed bytes of the document
 * and of its receipt, their DER signatures, the certificates that made them, the network
 * CA, the effective CRL, the peer schema, the attachments, and VERIFY.md: the openssl,
 * protoc and sha256sum commands that check all of it by hand, with this message's values
 * filled in. A byte a peer chose never becomes a path (attachments are attachments/NNN;
 * their names go to the manifest only) and never reaches VERIFY.md. The module reads no
 * store: the caller hands it the message, and attachment bytes stay where they are.
 */
#ifndef ROGATORY_BUNDLE_H
#define ROGATORY_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "store.h"
#include "text.h"
#include "wire.h"

struct crl;

/* The files of a bundle by part number (ExportRequest.part); stable across versions.
 * manifest.json and SHA256SUMS are written by rogatoryctl from part 0. */
enum bundle_part {
	BUNDLE_DOCUMENT_BODY = 1,
	BUNDLE_DOCUMENT_SIG,
	BUNDLE_DOCUMENT_SIGNER,
	BUNDLE_RECEIPT_BODY,
	BUNDLE_RECEIPT_SIG,
	BUNDLE_RECEIPT_SIGNER,
	BUNDLE_CA,
	BUNDLE_CRL,
	BUNDLE_SCHEMA,
	BUNDLE_VERIFY_MD,
	/* The audit log's proof of the message's entries (bundle_add_audit). */
	BUNDLE_AUDIT_JSON,
	BUNDLE_AUDIT_CHECKPOINT_BODY,
	BUNDLE_AUDIT_CHECKPOINT_SIG,
	BUNDLE_AUDIT_CHECKPOINT_SIGNER,
	BUNDLE_AUDIT_COSIGNATURE_0 = 16,  /* + 3 k: cosignature k's body, + 1 its signature,
	                                   * + 2 its signer's certificate */
	/* Proof of retrieval (bundle_add_retrieval): the recipient's evidence, then the
	 * sender's receipt of it; each body, signature, signer's certificate. */
	BUNDLE_RETRIEVAL_BODY = 112,
	BUNDLE_RETRIEVAL_SIG,
	BUNDLE_RETRIEVAL_SIGNER,
	BUNDLE_RETRIEVAL_RECEIPT_BODY,
	BUNDLE_RETRIEVAL_RECEIPT_SIG,
	BUNDLE_RETRIEVAL_RECEIPT_SIGNER,
	BUNDLE_ATTACHMENT_0 = 256,  /* + the attachment's index in the signed manifest */
};

#define BUNDLE_AUDIT_COSIGNERS_MAX 32
#define BUNDLE_FILES_MAX (BUNDLE_VERIFY_MD + 4 + 3 * BUNDLE_AUDIT_COSIGNERS_MAX + 6 + \
	WIRE_ATTACHMENTS_MAX)

struct bundle_file {
	unsigned part;
	char path[32];          /* "document.body", "attachments/007", "cosignature-1.sig" */
	const char *what;       /* one line for the manifest */
	uint8_t *data;          /* owned; NULL for an attachment (its bytes are in the store) */
	uint64_t size;
	uint8_t sha256[32];     /* of data; zero for an attachment (the caller reads it) */
	uint32_t attachment;    /* an attachment's index */
};

/* One signature of the bundle, as its certificate and signed body say. */
struct bundle_signer {
	bool present;                 /* the certificate parses */
	char id[AUTHORITY_ID_MAX + 1];  /* from its SAN; "" when it has none usable */
	char subject[256];
	char serial[80];              /* upper-case hex */
	time_t not_before, not_after;
	int64_t claimed_ms;           /* created_ms / received_ms as signed; 0: no decode */
	time_t signing_time;          /* cert_signing_time(certificate, claimed_ms / 1000) */
	time_t revoked_since;         /* revocationDate in the effective CRL; 0: not listed */
};

struct bundle {
	const struct store_msg *m;    /* the caller's, for the bundle's lifetime */
	Rogatory__V1__DocumentBody *doc;  /* NULL when document.body does not decode */
	Rogatory__V1__ReceiptBody *rcpt;  /* NULL without a receipt, or when it does not decode */
	struct bundle_signer doc_signer, rcpt_signer;
	uint8_t payload_sha256[32];   /* SHA-256 of document.body */
	uint8_t receipt_sha256[32];   /* SHA-256 of receipt.body */
	size_t payload_hash_at;       /* receipt.body offset of payload_sha256's bytes; 0: none */
	size_t *att_hash_at;          /* per attachment: document.body offset of its sha256 */
	char ca_subject[256];
	uint8_t ca_sha256[32];        /* the CA certificate's fingerprint (SHA-256 of DER) */
	uint64_t crl_number;          /* 0: no CRL held */
	time_t crl_this_update, crl_next_update;
	struct bundle_file files[BUNDLE_FILES_MAX];
	size_t nfiles;
	struct bundle_audit *audit;   /* the audit log's proof; NULL without bundle_add_audit */
	struct bundle_retrieval *retr; /* proof of retrieval; NULL without bundle_add_retrieval */
};
/* What VERIFY.md says of the proof of retrieval (PROTOCOL.md section 16). */
struct bundle_retrieval {
	Rogatory__V1__RetrievalBody *body;  /* NULL when retrieval.body does not decode */
	struct bundle_signer signer;  /* the recipient's, at retrieved_ms */
	size_t hash_at;               /* payload_sha256 in retrieval.body; 0: not found */
	uint8_t sha256[32];           /* SHA-256 of retrieval.body */
	bool has_receipt;
	Rogatory__V1__ReceiptBody *rcpt;  /* the sender's receipt; NULL: none or no decode */
	struct bundle_signer rcpt_signer;
	size_t rcpt_hash_at;          /* payload_sha256 in retrieval-receipt.body; 0: none */
};

/* What VERIFY.md says of the audit proof: its checkpoint, cosignatures and first entry. */
struct bundle_audit {
	uint64_t size;                /* the checkpoint's tree size */
	int64_t time_ms;
	uint8_t root[32];
	size_t root_at;               /* offset of root_hash in audit-checkpoint.body; 0 none */
	uint8_t checkpoint_sha256[32];
	struct bundle_signer signer;  /* the checkpoint's */
	size_t ncos;
	struct bundle_signer cos[BUNDLE_AUDIT_COSIGNERS_MAX];
	size_t cos_sha_at[BUNDLE_AUDIT_COSIGNERS_MAX]; /* checkpoint_sha256 in each body */
	size_t nentries;
	char *entry_b64;              /* the first entry, for the walk through its path */
	uint64_t seq;
	uint8_t leaf[32];
	size_t npath;
	uint8_t path[WIRE_PROOF_MAX][32];
};

/*
 * Builds the bundle of stored message m (blobs included): every file but the attachments
 * in memory, VERIFY.md rendered. ca_path is [tls] ca; crl the effective CRL (NULL: none);
 * exporter our authority id. A document or receipt that no longer decodes or verifies is
 * still exported as it is stored (that is evidence too). -1 + err only when the CA cannot
 * be read or memory runs out.
 */
int bundle_build(const struct store_msg *m, const char *ca_path, const struct crl *crl,
    const char *exporter, struct bundle **out, char *err, size_t errlen);
/*
 * Adds the audit log's proof of the message's entries (auditproof.h: checked for form,
 * not for truth; a tampered store exports as tampered): audit.json, the checkpoint's
 * body, signature and signer, each cosignature's, and VERIFY.md's walk through it.
 * -1 + err when proof is not one.
 */
int bundle_add_audit(struct bundle *b, const json_t *proof, const char *exporter,
    const struct crl *crl, char *err, size_t errlen);
/* Adds the proof of retrieval t of the message (store.h): its evidence and the receipt of
 * it as files, and VERIFY.md's section on them. Checked for form, not for truth. */
void bundle_add_retrieval(struct bundle *b, const struct store_retrieval *t, const char *exporter,
    const struct crl *crl);
/* The file of that part number, NULL when the bundle has none. */
const struct bundle_file *bundle_file(const struct bundle *b, unsigned part);
void bundle_free(struct bundle *b);

#endif
