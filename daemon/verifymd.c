/*
 * verifymd: renders VERIFY.md (contract in verifymd.h). One function per section. In
 * the command blocks a line "$ CMD" is a command (typed without the "$ ") and the lines
 * under it, up to a blank line, are lines its output must contain; that convention is
 * what tests/tools/verify-export --commands runs, so the file is tested as pasted.
 */
#include "verifymd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "crl.h"
#include "evidence.h"
#include "log.h"
#include "merkle.h"

static void hexs(char *out, const uint8_t *b, size_t n);
static const char *when(time_t t, char buf[32]);
static void md_intro(FILE *f, const struct bundle *b, const char *exporter);
static void md_ca(FILE *f, const struct bundle *b);
static void md_signed(FILE *f, const struct bundle_signer *s, const char *base,
    const char *ctx, const char *who);
static void md_chain(FILE *f, const struct bundle_signer *s, const char *base,
    const char *time_field);
static void md_document(FILE *f, const struct bundle *b);
static void md_attachments(FILE *f, const struct bundle *b);
static void md_receipt(FILE *f, const struct bundle *b);
static void md_crl(FILE *f, const struct bundle *b, const char *exporter);
static void md_audit(FILE *f, const struct bundle *b, const char *exporter);
static void md_retrieval(FILE *f, const struct bundle *b);
static void md_audit_path(FILE *f, const struct bundle_audit *a);
static void md_audit_cosignature(FILE *f, const struct bundle_audit *a, size_t k,
    const char *exporter);

static void
hexs(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * n] = '\0';
}

static const char *
when(time_t t, char buf[32])
{
	return crl_time_str(t, buf, 32);
}

static void
md_intro(FILE *f, const struct bundle *b, const char *exporter)
{
	const struct store_msg *m = b->m;
	fprintf(f, "# Checking message %s without rogatory\n\n", m->msg_id);
	fprintf(f, "This folder holds the evidence of one message of a rogatory network, exported "
	    "with\n`rogatoryctl export`:\n\n- exported by: %s\n- the document: signed by its "
	    "sender, %s, for %s\n- the receipt: %s\n\nand the certificates that made the "
	    "signatures, the network CA certificate, the CRL\nthe exporting authority held (if "
	    "any), the peer schema and the attachments.\n\n", exporter, m->sender, m->recipient,
	    m->rcpt_body_len > 0 ? "signed by the recipient" : "none is stored");
	fprintf(f, "Every check below needs a POSIX shell, OpenSSL 3 (`openssl`), `protoc` (Debian "
	    "package\nprotobuf-compiler) and GNU coreutils, run in this folder. In the blocks, a "
	    "line `$ CMD` is\na command (type it without the `$ `) and the lines under it are "
	    "lines its output (with\nerrors) must contain. The rules behind the checks are in "
	    "rogatory's PROTOCOL.md (sections\n1, 6, 7 and 13). manifest.json lists every file "
	    "with its SHA-256 and what it is, and what\nthe exporting daemon's own check "
	    "(`rogatoryctl verify`) concluded; neither it nor\nSHA256SUMS proves anything: only "
	    "the signatures below do.\n\n");
	fprintf(f, "## 1. The files arrived whole\n\n    $ sha256sum -c SHA256SUMS\n");
	for (size_t i = 0; i < b->nfiles; i++)
		fprintf(f, "    %s: OK\n", b->files[i].path);
	fprintf(f, "    VERIFY.md: OK\n\n");
}

static void
md_ca(FILE *f, const struct bundle *b)
{
	fprintf(f, "## 2. The network CA\n\n    $ openssl x509 -in ca.pem -noout -fingerprint "
	    "-sha256\n    sha256 Fingerprint=");
	for (size_t i = 0; i < sizeof(b->ca_sha256); i++)
		fprintf(f, "%s%02X", i ? ":" : "", b->ca_sha256[i]);
	fprintf(f, "\n\nCompare it with the fingerprint the network operator published for the "
	    "network's root CA:\nevery check below trusts this certificate and nothing else. The "
	    "network has one root CA\nand no intermediates, so each signer's certificate must be "
	    "issued by the root itself.\n\n");
}

/* Prefix, signature and signer identity of one signed object. */
static void
md_signed(FILE *f, const struct bundle_signer *s, const char *base, const char *ctx,
    const char *who)
{
	size_t clen = strlen(ctx);
	fprintf(f, "%s.body is what %s signed: the %zu ASCII bytes `%s`, one\n0x00 byte, then "
	    "its body serialized in protobuf (rogatory.proto). The signature is\nECDSA P-256 "
	    "with SHA-256 over all of %s.body, by the key of %s-signer.pem.\n\n", base, who,
	    clen, ctx, base, base);
	fprintf(f, "    $ head -c %zu %s.body; echo\n    %s\n\n    $ head -c %zu %s.body | tail -c 1 "
	    "| od -An -tx1\n    00\n\n", clen, base, ctx, clen + 1, base);
	fprintf(f, "    $ openssl x509 -in %s-signer.pem -noout -pubkey > %s-signer.pub\n\n"
	    "    $ openssl dgst -sha256 -verify %s-signer.pub -signature %s.sig %s.body\n"
	    "    Verified OK\n\n", base, base, base, base, base);
	fprintf(f, "The signer's identity is its certificate's one subjectAltName URI (never the "
	    "CN): %s.\n\n    $ openssl x509 -in %s-signer.pem -noout -serial -ext "
	    "subjectAltName\n    serial=%s\n    URI:urn:rogatory:authority:%s\n\n",
	    s->id[0] ? s->id : "none: this certificate names no authority", base, s->serial,
	    s->id[0] ? s->id : "?");
}

/* The signer's certificate at the signing time (PROTOCOL.md section 6). */
static void
md_chain(FILE *f, const struct bundle_signer *s, const char *base, const char *time_field)
{
	char t1[32], t2[32];
	fprintf(f, "The signer's certificate at the signing time. The signing time is %s\n"
	    "(milliseconds since 1970-01-01 UTC), or the certificate's notBefore when that is "
	    "later\n(an object signed again after its signer renewed its certificate keeps its "
	    "time but\ncannot predate the certificate), and never later than the moment of the "
	    "check. Here\n%s %lld and notBefore %lld (%s)\ngive %lld (%s):\n\n", time_field,
	    time_field, (long long)s->claimed_ms, (long long)s->not_before,
	    when(s->not_before, t1), (long long)s->signing_time, when(s->signing_time, t2));
	fprintf(f, "    $ openssl verify -x509_strict -verify_depth 0 -attime %lld -CAfile ca.pem "
	    "%s-signer.pem\n    %s-signer.pem: OK\n\n(`-verify_depth 0`: issued by the root "
	    "itself.)\n\n", (long long)s->signing_time, base, base);
}

static void
md_document(FILE *f, const struct bundle *b)
{
	const struct store_msg *m = b->m;
	char t[32];
	fprintf(f, "## 3. The document\n\n");
	md_signed(f, &b->doc_signer, "document", EVIDENCE_CTX_DOCUMENT, m->sender);
	fprintf(f, "What it says (after the %zu bytes of prefix):\n\n    $ tail -c +%zu document.body"
	    " | protoc --decode=rogatory.v1.DocumentBody rogatory.proto\n",
	    strlen(EVIDENCE_CTX_DOCUMENT) + 1, strlen(EVIDENCE_CTX_DOCUMENT) + 2);
	if (b->doc == NULL) {
		fprintf(f, "\nThe stored document.body does not decode: this evidence is damaged.\n\n");
		md_chain(f, &b->doc_signer, "document", "created_ms");
		return;
	}
	int64_t s = b->doc->created_ms / 1000;
	fprintf(f, "    message_id: \"%s\"\n    sender_id: \"%s\"\n    recipient_id: \"%s\"\n"
	    "    created_ms: %lld\n\nsender_id must be the signer's identity above. Times are "
	    "milliseconds since 1970-01-01 UTC:\n\n    $ date -u -d @%lld +%%Y-%%m-%%dT%%H:%%M:%%SZ\n"
	    "    %s\n\n", m->msg_id, m->sender, m->recipient, (long long)b->doc->created_ms,
	    (long long)s, when((time_t)s, t));
	md_chain(f, &b->doc_signer, "document", "created_ms");
	md_attachments(f, b);
}

static void
md_attachments(FILE *f, const struct bundle *b)
{
	size_t n = b->doc->n_attachments;
	fprintf(f, "### The attachments\n\n");
	if (n == 0) {
		fprintf(f, "The document lists none.\n\n");
		return;
	}
	fprintf(f, "The document lists %zu, each with its name, media type, size and SHA-256. "
	    "They are the\nfiles attachments/000, 001, ... in that order; their names are in "
	    "manifest.json only (a\nname a sender chose never becomes a path here). protoc shows "
	    "each sha256 as escaped\nbytes; the same 32 bytes stand at a fixed place in "
	    "document.body, so for each attachment\nthe file's SHA-256, the signed one and the "
	    "signed size must agree:\n\n", n);
	for (size_t i = 0; i < n; i++) {
		const Rogatory__V1__Attachment *a = b->doc->attachments[i];
		char h[65] = "?";
		if (a->sha256.len == 32)
			hexs(h, a->sha256.data, 32);
		fprintf(f, "    $ sha256sum attachments/%03zu\n    %s  attachments/%03zu\n\n", i, h, i);
		if (b->att_hash_at[i] > 0)
			fprintf(f, "    $ tail -c +%zu document.body | head -c 32 | od -An -tx1 | tr -d "
			    "' \\n'; echo\n    %s\n\n", b->att_hash_at[i] + 1, h);
		fprintf(f, "    $ wc -c < attachments/%03zu\n    %llu\n\n", i,
		    (unsigned long long)a->size);
	}
}

static void
md_receipt(FILE *f, const struct bundle *b)
{
	const struct store_msg *m = b->m;
	char t[32], h[65];
	fprintf(f, "## 4. The receipt\n\n");
	if (m->rcpt_body_len == 0) {
		fprintf(f, "No receipt is stored for this message (state %s): nothing here shows "
		    "that %s\nreceived it.\n\n", store_state_name(m->state), m->recipient);
		return;
	}
	md_signed(f, &b->rcpt_signer, "receipt", EVIDENCE_CTX_RECEIPT, m->recipient);
	fprintf(f, "What it says:\n\n    $ tail -c +%zu receipt.body | protoc "
	    "--decode=rogatory.v1.ReceiptBody rogatory.proto\n", strlen(EVIDENCE_CTX_RECEIPT) + 2);
	if (b->rcpt == NULL) {
		fprintf(f, "\nThe stored receipt.body does not decode: this evidence is damaged.\n\n");
		md_chain(f, &b->rcpt_signer, "receipt", "received_ms");
		return;
	}
	const Rogatory__V1__ReceiptBody *r = b->rcpt;
	fprintf(f, "    message_id: \"%.*s\"\n    sender_id: \"%.*s\"\n    receiver_id: \"%.*s\"\n"
	    "    outcome: %s\n    received_ms: %lld\n\n", (int)r->message_id.len,
	    (const char *)r->message_id.data, (int)r->sender_id.len,
	    (const char *)r->sender_id.data, (int)r->receiver_id.len,
	    (const char *)r->receiver_id.data,
	    r->outcome == ROGATORY__V1__OUTCOME__OUTCOME_ACCEPTED ? "OUTCOME_ACCEPTED"
	                                                        : "OUTCOME_REJECTED",
	    (long long)r->received_ms);
	fprintf(f, "receiver_id must be the signer's identity above and the document's "
	    "recipient_id;\nreceived_ms is when %s stored the document:\n\n    $ date -u -d @%lld "
	    "+%%Y-%%m-%%dT%%H:%%M:%%SZ\n    %s\n\n", m->recipient, (long long)(r->received_ms / 1000),
	    when((time_t)(r->received_ms / 1000), t));
	hexs(h, b->payload_sha256, 32);
	fprintf(f, "Its payload_sha256 names the document: the SHA-256 of all of document.body, "
	    "context\nincluded.\n\n    $ sha256sum document.body\n    %s  document.body\n\n", h);
	if (b->payload_hash_at > 0)
		fprintf(f, "    $ tail -c +%zu receipt.body | head -c 32 | od -An -tx1 | tr -d ' \\n'; "
		    "echo\n    %s\n\n", b->payload_hash_at + 1, h);
	md_chain(f, &b->rcpt_signer, "receipt", "received_ms");
}

static void
md_crl(FILE *f, const struct bundle *b, const char *exporter)
{
	char t1[32], t2[32];
	fprintf(f, "## 5. Revocation\n\n");
	if (b->crl_number == 0) {
		fprintf(f, "No crl.pem: %s held no CRL when it exported (revocation was off there). "
		    "Ask the\nnetwork operator for the CRLs issued since the signing times.\n\n",
		    exporter);
		return;
	}
	fprintf(f, "crl.pem is the CRL %s held when it exported: number %llu,\nissued %s, next "
	    "update %s. It must be the network CA's:\n\n    $ openssl crl -in crl.pem -noout "
	    "-CAfile ca.pem\n    verify OK\n\n", exporter, (unsigned long long)b->crl_number,
	    when(b->crl_this_update, t1), when(b->crl_next_update, t2));
	fprintf(f, "`openssl crl -in crl.pem -noout -text` lists each revoked serial with its "
	    "revocation date.\nA signature stands unless its signer's serial is listed with a "
	    "revocation date at or\nbefore its signing time: a revocation (a key reported "
	    "compromised) does not void what\nwas signed before it.\n\n");
	const struct bundle_signer *who[2] = {&b->doc_signer, &b->rcpt_signer};
	const char *what[2] = {"document", "receipt"};
	for (int i = 0; i < 2; i++) {
		if (!who[i]->present)
			continue;
		if (who[i]->revoked_since == 0)
			fprintf(f, "The %s signer's serial is not listed:\n\n    $ openssl crl -in "
			    "crl.pem -noout -text | grep -c 'Serial Number: %s' || true\n    0\n\n",
			    what[i], who[i]->serial);
		else
			fprintf(f, "The %s signer's serial %s is listed, revoked on %s:\n\n    $ openssl "
			    "crl -in crl.pem -noout -text | grep -A1 'Serial Number: %s'\n\n", what[i],
			    who[i]->serial, when(who[i]->revoked_since, t1), who[i]->serial);
	}
}

/* The audit log's proof: the checkpoint, one entry's path to its root, the witnesses. */
static void
md_audit(FILE *f, const struct bundle *b, const char *exporter)
{
	const struct bundle_audit *a = b->audit;
	char h[65], t[32];
	size_t clen = strlen(EVIDENCE_CTX_CHECKPOINT);
	fprintf(f, "\n## 7. The audit log of %s\n\n%s's daemon records every event, and every "
	    "operator's action, as an entry of an\nappend-only Merkle tree (RFC 6962) whose "
	    "checkpoints it signs and the other authorities\ncosign (rogatory's PROTOCOL.md "
	    "section 15; SECURITY.md, \"The audit log\"). audit.json\nproves the %zu entr%s of "
	    "its log about this message under its checkpoint of %llu\nentries, cosigned by %zu "
	    "authorit%s. `rogatoryctl audit check audit.json --ca ca.pem`\nchecks all of it; "
	    "below, the same by hand for the first entry (seq %llu).\n\n", exporter, exporter,
	    a->nentries, a->nentries == 1 ? "y" : "ies", (unsigned long long)a->size, a->ncos,
	    a->ncos == 1 ? "y" : "ies", (unsigned long long)a->seq);
	fprintf(f, "### The checkpoint\n\n");
	md_signed(f, &a->signer, "checkpoint", EVIDENCE_CTX_CHECKPOINT, exporter);
	hexs(h, a->root, 32);
	fprintf(f, "What it says (after the %zu bytes of prefix):\n\n    $ tail -c +%zu "
	    "checkpoint.body | protoc --decode=rogatory.v1.CheckpointBody rogatory.proto\n"
	    "    origin: \"%s\"\n    tree_size: %llu\n    time_ms: %lld\n\n", clen + 1, clen + 2,
	    exporter, (unsigned long long)a->size, (long long)a->time_ms);
	if (a->root_at > 0)
		fprintf(f, "Its root_hash, the root of the tree of the first %llu entries:\n\n"
		    "    $ tail -c +%zu checkpoint.body | head -c 32 | od -An -tx1 | tr -d "
		    "' \\n'; echo\n    %s\n\n", (unsigned long long)a->size, a->root_at + 1, h);
	md_chain(f, &a->signer, "checkpoint", "time_ms");
	fprintf(f, "### Entry seq %llu and its path to the root\n\nThe entry's bytes are in "
	    "audit.json (\"entry\", base64):\n\n    $ printf '%%s' '%s' | base64 -d > "
	    "audit-entry.bin\n\n    $ protoc --decode=rogatory.v1.AuditEntry rogatory.proto < "
	    "audit-entry.bin\n    seq: %llu\n\n", (unsigned long long)a->seq, a->entry_b64,
	    (unsigned long long)a->seq);
	md_audit_path(f, a);
	for (size_t k = 0; k < a->ncos; k++)
		md_audit_cosignature(f, a, k, exporter);
	if (a->ncos == 0)
		fprintf(f, "No authority had cosigned this checkpoint when it was exported (%s)."
		    "\nA later export, or `rogatoryctl audit prove`, carries their cosignatures.\n",
		    when((time_t)(a->time_ms / 1000), t));
}

/* RFC 9162 2.1.3.2, step by step: which side each path hash goes, and what comes out. */
static void
md_audit_path(FILE *f, const struct bundle_audit *a)
{
	char h[65], l[65], r[65];
	uint8_t x[32];
	uint64_t fn = a->seq - 1, sn = a->size - 1;
	memcpy(x, a->leaf, 32);
	hexs(h, x, 32);
	fprintf(f, "Its leaf hash, SHA-256 of one 0x00 byte and the entry:\n\n    $ (printf "
	    "'\\000'; cat audit-entry.bin) | sha256sum\n    %s  -\n\n", h);
	if (a->npath == 0) {
		fprintf(f, "The tree has this one entry: its leaf hash is the root_hash above.\n\n");
		return;
	}
	fprintf(f, "Then each hash of its path in turn, with the hash so far: SHA-256 of one "
	    "0x01 byte,\nthe left hash and the right hash (which side each goes follows from "
	    "the leaf's index\n%llu and the tree's size %llu: PROTOCOL.md section 15.2). The "
	    "last result is the\ncheckpoint's root_hash.\n\n", (unsigned long long)(a->seq - 1),
	    (unsigned long long)a->size);
	for (size_t i = 0; i < a->npath; i++) {
		const uint8_t *left = x, *right = a->path[i];
		uint8_t y[32];
		if ((fn & 1) || fn == sn) {
			left = a->path[i];
			right = x;
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		}
		merkle_node_hash(left, right, y);
		hexs(l, left, 32);
		hexs(r, right, 32);
		for (size_t k = 0; k < 64; k++) {
			l[k] = (char)(l[k] >= 'a' ? l[k] - 'a' + 'A' : l[k]);
			r[k] = (char)(r[k] >= 'a' ? r[k] - 'a' + 'A' : r[k]);
		}
		memcpy(x, y, 32);
		hexs(h, x, 32);
		fprintf(f, "    $ (printf '\\001'; echo %s%s | basenc --base16 -d) | sha256sum\n"
		    "    %s  -\n\n", l, r, h);
		fn >>= 1;
		sn >>= 1;
	}
}

static void
md_audit_cosignature(FILE *f, const struct bundle_audit *a, size_t k, const char *exporter)
{
	const struct bundle_signer *s = &a->cos[k];
	char base[48], h[65];
	size_t clen = strlen(EVIDENCE_CTX_COSIGNATURE);
	snprintf(base, sizeof(base), "cosignature-%zu", k + 1);
	fprintf(f, "### Cosignature %zu: %s\n\n", k + 1, s->id[0] ? s->id : "?");
	md_signed(f, s, base, EVIDENCE_CTX_COSIGNATURE, s->id[0] ? s->id : "its signer");
	fprintf(f, "What it says:\n\n    $ tail -c +%zu %s.body | protoc "
	    "--decode=rogatory.v1.CosignatureBody rogatory.proto\n    witness_id: \"%s\"\n"
	    "    origin: \"%s\"\n    tree_size: %llu\n    time_ms: %lld\n\n", clen + 2, base,
	    s->id, exporter, (unsigned long long)a->size, (long long)s->claimed_ms);
	hexs(h, a->checkpoint_sha256, 32);
	fprintf(f, "It names this checkpoint: its checkpoint_sha256 is the SHA-256 of all of "
	    "checkpoint.body.\n\n    $ sha256sum checkpoint.body\n    %s  "
	    "checkpoint.body\n\n", h);
	if (a->cos_sha_at[k] > 0)
		fprintf(f, "    $ tail -c +%zu %s.body | head -c 32 | od -An -tx1 | tr -d ' \\n'; "
		    "echo\n    %s\n\n", a->cos_sha_at[k] + 1, base, h);
	md_chain(f, s, base, "time_ms");
}

/* Proof of retrieval (PROTOCOL.md section 16): the recipient says when an operator first
 * fetched the document, and the sender's receipt says it holds that statement. */
static void
md_retrieval(FILE *f, const struct bundle *b)
{
	const struct store_msg *m = b->m;
	const struct bundle_retrieval *r = b->retr;
	char t[32], h[65];
	fprintf(f, "\n## %d. Proof of retrieval\n\nThe recipient, %s, states that an operator of "
	    "its own first fetched the document\n(took it up), when, and who (the operator's uid "
	    "and user name on its system).\n\n", b->audit != NULL ? 8 : 7, m->recipient);
	md_signed(f, &r->signer, "retrieval", EVIDENCE_CTX_RETRIEVAL, m->recipient);
	fprintf(f, "What it says:\n\n    $ tail -c +%zu retrieval.body | protoc "
	    "--decode=rogatory.v1.RetrievalBody rogatory.proto\n",
	    strlen(EVIDENCE_CTX_RETRIEVAL) + 2);
	if (r->body == NULL) {
		fprintf(f, "\nThe stored retrieval.body does not decode: this evidence is damaged.\n\n");
		md_chain(f, &r->signer, "retrieval", "retrieved_ms");
		return;
	}
	fprintf(f, "    message_id: \"%s\"\n    sender_id: \"%s\"\n    retriever_id: \"%s\"\n"
	    "    retrieved_ms: %lld\n\nretriever_id must be the signer's identity above and the "
	    "document's recipient_id;\nretrieved_ms is when the document was first fetched:\n\n"
	    "    $ date -u -d @%lld +%%Y-%%m-%%dT%%H:%%M:%%SZ\n    %s\n\n", m->msg_id, m->sender,
	    m->recipient, (long long)r->body->retrieved_ms,
	    (long long)(r->body->retrieved_ms / 1000),
	    when((time_t)(r->body->retrieved_ms / 1000), t));
	hexs(h, b->payload_sha256, 32);
	fprintf(f, "Its payload_sha256 names the document, as a receipt's does:\n\n"
	    "    $ sha256sum document.body\n    %s  document.body\n\n", h);
	if (r->hash_at > 0)
		fprintf(f, "    $ tail -c +%zu retrieval.body | head -c 32 | od -An -tx1 | tr -d "
		    "' \\n'; echo\n    %s\n\n", r->hash_at + 1, h);
	md_chain(f, &r->signer, "retrieval", "retrieved_ms");
	if (!r->has_receipt) {
		fprintf(f, "No receipt of it from %s is stored yet.\n", m->sender);
		return;
	}
	fprintf(f, "### The sender's receipt of it\n\n%s signed a receipt (the same ReceiptBody as "
	    "a document's) whose\npayload_sha256 is the SHA-256 of all of retrieval.body:\n\n",
	    m->sender);
	md_signed(f, &r->rcpt_signer, "retrieval-receipt", EVIDENCE_CTX_RECEIPT, m->sender);
	hexs(h, r->sha256, 32);
	fprintf(f, "    $ sha256sum retrieval.body\n    %s  retrieval.body\n\n", h);
	if (r->rcpt_hash_at > 0)
		fprintf(f, "    $ tail -c +%zu retrieval-receipt.body | head -c 32 | od -An -tx1 | "
		    "tr -d ' \\n'; echo\n    %s\n\n", r->rcpt_hash_at + 1, h);
	if (r->rcpt != NULL)
		fprintf(f, "    $ tail -c +%zu retrieval-receipt.body | protoc "
		    "--decode=rogatory.v1.ReceiptBody rogatory.proto\n    message_id: \"%s\"\n"
		    "    sender_id: \"%s\"\n    receiver_id: \"%s\"\n    outcome: %s\n\n",
		    strlen(EVIDENCE_CTX_RECEIPT) + 2, m->msg_id, m->recipient, m->sender,
		    r->rcpt->outcome == ROGATORY__V1__OUTCOME__OUTCOME_ACCEPTED ? "OUTCOME_ACCEPTED"
		                                                                : "OUTCOME_REJECTED");
	md_chain(f, &r->rcpt_signer, "retrieval-receipt", "received_ms");
}

void
verifymd_render(const struct bundle *b, const char *exporter, uint8_t **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (f == NULL)
		fatal("out of memory");
	md_intro(f, b, exporter);
	md_ca(f, b);
	md_document(f, b);
	md_receipt(f, b);
	md_crl(f, b, exporter);
	fprintf(f, "## 6. What the exporting daemon concluded\n\nmanifest.json, \"verify\": the "
	    "same checks made by %s's daemon (`rogatoryctl verify`),\neach with its finding. "
	    "Where it and the commands above disagree, the commands are right.\n", exporter);
	if (b->audit != NULL)
		md_audit(f, b, exporter);
	if (b->retr != NULL)
		md_retrieval(f, b);
	if (fclose(f) != 0)
		fatal("out of memory");
	*out = (uint8_t *)buf;
	*len = n;
}
