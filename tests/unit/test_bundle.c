/*
 * Unit tests for daemon/bundle.c and daemon/verifymd.c: the files of an evidence bundle
 * from a message signed at test time (certificates from rogatory-pki): fixed part
 * numbers and paths, a peer's attachment names in no path and not in VERIFY.md, the
 * signed hashes found at the offsets VERIFY.md gives, PEM equal to openssl's own, the
 * schema byte for byte, no receipt files without a receipt, and a damaged body still
 * exported as stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "../support/support.h"
#include "bundle.h"
#include "evidence.h"

#define MSG_ID "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b"

static char *dir;
static struct signed_object doc, rcpt;
static uint8_t att_sha[2][32];

static char *in_dir(const char *rel);
static struct evidence_signer *signer(const char *id);
static ProtobufCBinaryData bytes(const char *s);
static void sign_both(void);
static void msg_of(struct store_msg *m, bool with_receipt);
static struct bundle *build(const struct store_msg *m);
static char *text_of(const struct bundle_file *f);
static void setup(void);
static void teardown(void);

/* dir/rel, malloc'd. */
static char *
in_dir(const char *rel)
{
	char *p = NULL;
	cr_assert(asprintf(&p, "%s/%s", dir, rel) > 0);
	return p;
}

/* The authority's key and certificate as issued in setup (ID.key, ID.crt). */
static struct evidence_signer *
signer(const char *id)
{
	struct evidence_signer *s = NULL;
	char name[32], err[512] = "";
	snprintf(name, sizeof(name), "%s.crt", id);
	char *crt = in_dir(name);
	snprintf(name, sizeof(name), "%s.key", id);
	char *key = in_dir(name);
	cr_assert_eq(evidence_signer_load(crt, key, &s, err, sizeof(err)), 0, "%s", err);
	free(crt);
	free(key);
	return s;
}

static ProtobufCBinaryData
bytes(const char *s)
{
	ProtobufCBinaryData b = {strlen(s), (uint8_t *)(uintptr_t)s};
	return b;
}

/* BD-ACC's document with two attachments whose names a hostile peer might choose, and
 * FR-MJ's receipt for it. */
static void
sign_both(void)
{
	Rogatory__V1__DocumentBody b = ROGATORY__V1__DOCUMENT_BODY__INIT;
	Rogatory__V1__Content c = ROGATORY__V1__CONTENT__INIT;
	Rogatory__V1__Attachment a0 = ROGATORY__V1__ATTACHMENT__INIT;
	Rogatory__V1__Attachment a1 = ROGATORY__V1__ATTACHMENT__INIT;
	Rogatory__V1__Attachment *atts[2] = {&a0, &a1};
	char err[512] = "";
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < 32; k++)
			att_sha[i][k] = (uint8_t)(i * 97 + k * 13 + 1);
	b.message_id = bytes(MSG_ID);
	b.sender_id = bytes("BD-ACC");
	b.recipient_id = bytes("FR-MJ");
	b.created_ms = (int64_t)time(NULL) * 1000;
	b.kind = ROGATORY__V1__KIND__KIND_MLA;
	b.doc_type = ROGATORY__V1__DOC_TYPE__DOC_TYPE_REQUEST;
	c.subject = bytes("Subject $(whoami)");
	b.content = &c;
	a0.name = bytes("`rm -rf ~`; $(evil).pdf");
	a0.media_type = bytes("application/pdf");
	a0.size = 1234;
	a0.sha256.data = att_sha[0];
	a0.sha256.len = 32;
	a1.name = bytes("..evil");
	a1.media_type = bytes("text/plain");
	a1.sha256.data = att_sha[1];
	a1.sha256.len = 32;
	b.attachments = atts;
	b.n_attachments = 2;
	struct evidence_signer *s = signer("BD-ACC");
	cr_assert_eq(evidence_sign_document(s, &b, &doc, err, sizeof(err)), 0, "%s", err);
	evidence_signer_free(s);

	uint8_t hash[EVIDENCE_HASH_LEN];
	evidence_payload_hash(doc.body, doc.body_len, hash);
	Rogatory__V1__ReceiptBody r = ROGATORY__V1__RECEIPT_BODY__INIT;
	r.message_id = bytes(MSG_ID);
	r.sender_id = bytes("BD-ACC");
	r.receiver_id = bytes("FR-MJ");
	r.payload_sha256.data = hash;
	r.payload_sha256.len = sizeof(hash);
	r.outcome = ROGATORY__V1__OUTCOME__OUTCOME_ACCEPTED;
	r.received_ms = b.created_ms + 5;
	s = signer("FR-MJ");
	cr_assert_eq(evidence_sign_receipt(s, &r, &rcpt, err, sizeof(err)), 0, "%s", err);
	evidence_signer_free(s);
}

static void
msg_of(struct store_msg *m, bool with_receipt)
{
	memset(m, 0, sizeof(*m));
	m->dir = STORE_OUT;
	snprintf(m->msg_id, sizeof(m->msg_id), MSG_ID);
	snprintf(m->sender, sizeof(m->sender), "BD-ACC");
	snprintf(m->recipient, sizeof(m->recipient), "FR-MJ");
	m->state = with_receipt ? STORE_DELIVERED : STORE_QUEUED;
	m->doc_body = doc.body;
	m->doc_body_len = doc.body_len;
	m->doc_sig = doc.signature;
	m->doc_sig_len = doc.signature_len;
	m->doc_cert = doc.cert;
	m->doc_cert_len = doc.cert_len;
	if (with_receipt) {
		m->rcpt_body = rcpt.body;
		m->rcpt_body_len = rcpt.body_len;
		m->rcpt_sig = rcpt.signature;
		m->rcpt_sig_len = rcpt.signature_len;
		m->rcpt_cert = rcpt.cert;
		m->rcpt_cert_len = rcpt.cert_len;
	}
}

static struct bundle *
build(const struct store_msg *m)
{
	struct bundle *b = NULL;
	char err[512] = "", *ca = in_dir("ca/ca.crt");
	cr_assert_eq(bundle_build(m, ca, NULL, "BD-ACC", &b, err, sizeof(err)), 0, "%s", err);
	free(ca);
	return b;
}

static char *
text_of(const struct bundle_file *f)
{
	cr_assert_not_null(f);
	char *s = malloc(f->size + 1);
	memcpy(s, f->data, f->size);
	s[f->size] = '\0';
	return s;
}

static void
setup(void)
{
	dir = ts_tmpdir("bundle");
	char *out = NULL;
	int rc = ts_sh(&out, "cd '%s' && '%s' init ca && '%s' issue ca BD-ACC . && "
	                     "'%s' issue ca FR-MJ .", dir, ts_pki(), ts_pki(), ts_pki());
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	sign_both();
}

static void
teardown(void)
{
	signed_object_clear(&doc);
	signed_object_clear(&rcpt);
	ts_rmrf(dir);
	free(dir);
}

TestSuite(bundle, .init = setup, .fini = teardown, .timeout = 60);

Test(bundle, parts_paths_and_peer_names)
{
	struct store_msg m;
	msg_of(&m, true);
	struct bundle *b = build(&m);
	static const struct {
		unsigned part;
		const char *path;
	} want[] = {
		{BUNDLE_DOCUMENT_BODY, "document.body"}, {BUNDLE_DOCUMENT_SIG, "document.sig"},
		{BUNDLE_DOCUMENT_SIGNER, "document-signer.pem"}, {BUNDLE_RECEIPT_BODY, "receipt.body"},
		{BUNDLE_RECEIPT_SIG, "receipt.sig"}, {BUNDLE_RECEIPT_SIGNER, "receipt-signer.pem"},
		{BUNDLE_CA, "ca.pem"}, {BUNDLE_SCHEMA, "rogatory.proto"},
		{BUNDLE_VERIFY_MD, "VERIFY.md"}, {BUNDLE_ATTACHMENT_0, "attachments/000"},
		{BUNDLE_ATTACHMENT_0 + 1, "attachments/001"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct bundle_file *f = bundle_file(b, want[i].part);
		cr_assert_not_null(f, "no part %u", want[i].part);
		cr_assert_str_eq(f->path, want[i].path);
	}
	cr_assert_eq(b->nfiles, sizeof(want) / sizeof(want[0]), "a CRL file without a CRL?");
	cr_assert_null(bundle_file(b, BUNDLE_CRL));
	cr_assert_eq(bundle_file(b, BUNDLE_ATTACHMENT_0)->size, 1234);
	cr_assert_null(bundle_file(b, BUNDLE_ATTACHMENT_0)->data, "attachments stay in the store");
	/* The peer's texts reach neither a path nor VERIFY.md. */
	char *md = text_of(bundle_file(b, BUNDLE_VERIFY_MD));
	cr_assert(strstr(md, "evil") == NULL && strstr(md, "whoami") == NULL, "%s", md);
	cr_assert(strstr(md, "$ sha256sum attachments/001") != NULL, "%s", md);
	cr_assert(strstr(md, "    URI:urn:rogatory:authority:FR-MJ\n") != NULL, "%s", md);
	free(md);
	bundle_free(b);
}

/* VERIFY.md points at the signed hashes with `tail -c +N`: N - 1 must be where they are. */
Test(bundle, signed_hashes_at_the_offsets_given)
{
	struct store_msg m;
	msg_of(&m, true);
	struct bundle *b = build(&m);
	for (int i = 0; i < 2; i++) {
		cr_assert_gt(b->att_hash_at[i], 21);
		cr_assert_eq(memcmp(doc.body + b->att_hash_at[i], att_sha[i], 32), 0, "attachment %d",
		    i);
	}
	uint8_t hash[32];
	evidence_payload_hash(doc.body, doc.body_len, hash);
	cr_assert_gt(b->payload_hash_at, 20);
	cr_assert_eq(memcmp(rcpt.body + b->payload_hash_at, hash, 32), 0);
	char *md = text_of(bundle_file(b, BUNDLE_VERIFY_MD));
	char line[128];
	snprintf(line, sizeof(line), "$ tail -c +%zu receipt.body | head -c 32", b->payload_hash_at + 1);
	cr_assert(strstr(md, line) != NULL, "%s", md);
	free(md);
	bundle_free(b);
}

/* The armour is openssl's own: a PEM file from `openssl ca -notext` is byte-identical. */
Test(bundle, pem_files_and_schema_as_openssl_and_protoc_read_them)
{
	struct store_msg m;
	msg_of(&m, true);
	struct bundle *b = build(&m);
	char *bd = in_dir("BD-ACC.crt"), *fr = in_dir("FR-MJ.crt"), *ca = in_dir("ca/ca.crt");
	const struct {
		unsigned part;
		const char *file;
	} same[] = {
		{BUNDLE_DOCUMENT_SIGNER, bd}, {BUNDLE_RECEIPT_SIGNER, fr}, {BUNDLE_CA, ca},
		{BUNDLE_SCHEMA, ts_src_path("proto/rogatory.proto")},
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		char *got = text_of(bundle_file(b, same[i].part));
		char *want = ts_read_file(same[i].file, NULL);
		cr_assert_not_null(want, "%s", same[i].file);
		cr_assert_str_eq(got, want, "part %u differs from %s", same[i].part, same[i].file);
		free(got);
		free(want);
	}
	free(bd);
	free(fr);
	free(ca);
	bundle_free(b);
}

Test(bundle, no_receipt_no_receipt_files)
{
	struct store_msg m;
	msg_of(&m, false);
	struct bundle *b = build(&m);
	cr_assert_null(bundle_file(b, BUNDLE_RECEIPT_BODY));
	cr_assert_null(bundle_file(b, BUNDLE_RECEIPT_SIG));
	cr_assert_null(bundle_file(b, BUNDLE_RECEIPT_SIGNER));
	char *md = text_of(bundle_file(b, BUNDLE_VERIFY_MD));
	cr_assert(strstr(md, "No receipt is stored for this message (state queued)") != NULL,
	    "%s", md);
	free(md);
	bundle_free(b);
}

/* A stored body that no longer decodes is exported as it is, and VERIFY.md says so. */
Test(bundle, damaged_body_exported_as_stored)
{
	struct store_msg m;
	msg_of(&m, true);
	uint8_t *copy = malloc(doc.body_len);
	memcpy(copy, doc.body, doc.body_len);
	copy[23] ^= 0x80;
	m.doc_body = copy;
	struct bundle *b = build(&m);
	const struct bundle_file *f = bundle_file(b, BUNDLE_DOCUMENT_BODY);
	cr_assert_eq(f->size, doc.body_len);
	cr_assert_eq(memcmp(f->data, copy, doc.body_len), 0);
	cr_assert_null(bundle_file(b, BUNDLE_ATTACHMENT_0), "attachments of an unreadable manifest?");
	char *md = text_of(bundle_file(b, BUNDLE_VERIFY_MD));
	cr_assert(strstr(md, "document.body does not decode") != NULL, "%s", md);
	free(md);
	bundle_free(b);
	free(copy);
}
