/*
 * mkcorpus: writes the binary part of the seed corpus (tests/fuzz/corpus/<target>/):
 * valid frames, envelopes, signed bodies, signed objects and control messages built
 * with the library itself and signed with a throw-away key from rogatory-pki. Run once
 * by mkcorpus.sh; the key never reaches the corpus, only public bytes do.
 * Usage: mkcorpus PKIDIR OUTDIR (PKIDIR holds FR-MJ.crt/.key, UA-PGO.crt/.key, crl.der).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence.h"
#include "frame.h"
#include "wire.h"

static const char *outdir;

static void
put(const char *target, const char *name, const uint8_t *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static uint8_t *
pack(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(*len ? *len : 1);
	if (b == NULL)
		exit(1);
	protobuf_c_message_pack(m, b);
	return b;
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	uint8_t *b = malloc(1 << 20);
	*len = fread(b, 1, 1 << 20, f);
	fclose(f);
	return b;
}

static void
bin(ProtobufCBinaryData *b, const char *s)
{
	b->data = (uint8_t *)s;
	b->len = strlen(s);
}

static struct evidence_signer *
signer(const char *dir, const char *id)
{
	char crt[4096], key[4096], err[512];
	struct evidence_signer *s;
	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, id);
	snprintf(key, sizeof(key), "%s/%s.key", dir, id);
	if (evidence_signer_load(crt, key, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "mkcorpus: %s\n", err);
		exit(1);
	}
	return s;
}

/* Envelope: checked, then written to envelope/ and kept for the frame streams. */
static uint8_t *envs[16];
static size_t env_lens[16], n_envs;

static void
envelope(const char *name, Rogatory__V1__Envelope *e)
{
	size_t len;
	uint8_t *b = pack(&e->base, &len);
	char err[512];
	Rogatory__V1__Envelope *back;
	if (wire_envelope_decode(b, len, &back, err, sizeof(err)) != 0)
		fprintf(stderr, "mkcorpus: envelope %s does not decode: %s\n", name, err);
	else
		wire_envelope_free(back);
	put("envelope", name, b, len);
	envs[n_envs] = b;
	env_lens[n_envs++] = len;
}

/* evidence/ input: [flags][body len BE16][body][sig len][sig][cert]. */
static void
evidence_input(const char *name, int receipt, const struct signed_object *o)
{
	size_t len = 4 + o->body_len + o->signature_len + o->cert_len;
	uint8_t *b = malloc(len), *p = b;
	*p++ = (uint8_t)receipt;
	*p++ = (uint8_t)(o->body_len >> 8);
	*p++ = (uint8_t)o->body_len;
	memcpy(p, o->body, o->body_len);
	p += o->body_len;
	*p++ = (uint8_t)o->signature_len;
	memcpy(p, o->signature, o->signature_len);
	p += o->signature_len;
	memcpy(p, o->cert, o->cert_len);
	put("evidence", name, b, len);
	free(b);
}

static void
ctl_request(const char *name, Rogatory__Ctl__V1__Request *r)
{
	size_t len;
	r->version = CONTROL_PROTOCOL_VERSION;
	r->request_id = 7;
	uint8_t *b = pack(&r->base, &len);
	char err[512];
	Rogatory__Ctl__V1__Request *back;
	if (wire_ctl_request_decode(b, len, &back, err, sizeof(err)) != 0)
		fprintf(stderr, "mkcorpus: request %s does not decode: %s\n", name, err);
	else
		wire_ctl_request_free(back);
	put("ctl", name, b, len);
	free(b);
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mkcorpus PKIDIR OUTDIR\n");
		return 2;
	}
	const char *pki = argv[1];
	outdir = argv[2];
	char err[512], path[4096];
	struct evidence_signer *fr = signer(pki, "FR-MJ"), *ua = signer(pki, "UA-PGO");

	/* A request with fields and an attachment, and a refusal answering it. */
	static uint8_t sha[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	Rogatory__V1__Field f1 = ROGATORY__V1__FIELD__INIT, f2 = ROGATORY__V1__FIELD__INIT;
	bin(&f1.name, "legal_basis");
	bin(&f1.value, "UNCAC art. 46(3)(b)");
	bin(&f2.name, "reasons");
	bin(&f2.value, "Art. 46(21)(b): sovereignty — ébauche");
	Rogatory__V1__Field *fields[] = { &f1, &f2 };
	Rogatory__V1__Content content = ROGATORY__V1__CONTENT__INIT;
	bin(&content.subject, "Search and seizure, case 2024/117");
	content.n_fields = 1;
	content.fields = fields;
	Rogatory__V1__Attachment att = ROGATORY__V1__ATTACHMENT__INIT;
	bin(&att.name, "request.pdf");
	bin(&att.media_type, "application/pdf");
	att.size = 123456;
	att.sha256.data = sha;
	att.sha256.len = 32;
	Rogatory__V1__Attachment *atts[] = { &att };
	Rogatory__V1__DocumentBody doc = ROGATORY__V1__DOCUMENT_BODY__INIT;
	bin(&doc.message_id, "4c7b3a52-9f1e-4d2a-8b6c-0e5f3a2d1c90");
	bin(&doc.sender_id, "FR-MJ");
	bin(&doc.recipient_id, "UA-PGO");
	doc.created_ms = 1717400000000;
	doc.kind = ROGATORY__V1__KIND__KIND_MLA;
	doc.urgent = true;
	bin(&doc.respond_by, "2024-09-30");
	doc.sequence = 1;
	doc.doc_type = ROGATORY__V1__DOC_TYPE__DOC_TYPE_REQUEST;
	doc.content = &content;
	doc.n_attachments = 1;
	doc.attachments = atts;
	struct signed_object sdoc, sstat, srec, srej;
	if (evidence_sign_document(fr, &doc, &sdoc, err, sizeof(err)) != 0)
		goto fail;

	Rogatory__V1__Content content2 = ROGATORY__V1__CONTENT__INIT;
	bin(&content2.subject, "Refusal");
	content2.n_fields = 2;
	content2.fields = fields;
	Rogatory__V1__DocumentBody st = ROGATORY__V1__DOCUMENT_BODY__INIT;
	bin(&st.message_id, "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9");
	bin(&st.sender_id, "UA-PGO");
	bin(&st.recipient_id, "FR-MJ");
	st.created_ms = 1717500000000;
	st.kind = ROGATORY__V1__KIND__KIND_MLA;
	bin(&st.in_reply_to, "4c7b3a52-9f1e-4d2a-8b6c-0e5f3a2d1c90");
	st.sequence = 2;
	st.doc_type = ROGATORY__V1__DOC_TYPE__DOC_TYPE_STATUS;
	st.status = ROGATORY__V1__STATUS__STATUS_REFUSED;
	st.content = &content2;
	if (evidence_sign_document(ua, &st, &sstat, err, sizeof(err)) != 0)
		goto fail;

	Rogatory__V1__ReceiptBody rb = ROGATORY__V1__RECEIPT_BODY__INIT;
	bin(&rb.message_id, "4c7b3a52-9f1e-4d2a-8b6c-0e5f3a2d1c90");
	bin(&rb.sender_id, "FR-MJ");
	bin(&rb.receiver_id, "UA-PGO");
	uint8_t ph[32];
	evidence_payload_hash(sdoc.body, sdoc.body_len, ph);
	rb.payload_sha256.data = ph;
	rb.payload_sha256.len = 32;
	rb.outcome = ROGATORY__V1__OUTCOME__OUTCOME_ACCEPTED;
	rb.received_ms = 1717400001000;
	if (evidence_sign_receipt(ua, &rb, &srec, err, sizeof(err)) != 0)
		goto fail;
	rb.outcome = ROGATORY__V1__OUTCOME__OUTCOME_REJECTED;
	bin(&rb.reason_code, "id-conflict");
	bin(&rb.reason_text, "another document already has this id");
	if (evidence_sign_receipt(ua, &rb, &srej, err, sizeof(err)) != 0)
		goto fail;

	/* body/: the bytes after the context prefix. */
	size_t dp = strlen(EVIDENCE_CTX_DOCUMENT) + 1, rp = strlen(EVIDENCE_CTX_RECEIPT) + 1;
	put("body", "document-request", sdoc.body + dp, sdoc.body_len - dp);
	put("body", "document-status", sstat.body + dp, sstat.body_len - dp);
	put("body", "receipt-accepted", srec.body + rp, srec.body_len - rp);
	put("body", "receipt-rejected", srej.body + rp, srej.body_len - rp);

	evidence_input("document", 0, &sdoc);
	evidence_input("status", 0, &sstat);
	evidence_input("receipt", 1, &srec);
	evidence_input("receipt-rejected", 1, &srej);
	evidence_input("receipt-as-document", 0, &srec);

	/* envelope/: one of each message. */
	Rogatory__V1__Envelope e = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Hello hello = ROGATORY__V1__HELLO__INIT;
	bin(&hello.authority_id, "FR-MJ");
	hello.min_version = 1;
	hello.max_version = 1;
	bin(&hello.software, "rogatoryd/0.1.0");
	hello.max_message_size = 64u << 20;
	hello.max_frame = FRAME_PEER_MAX_DEFAULT;
	hello.window = 64;
	hello.time_ms = 1717400000000;
	hello.crl_number = 3;
	e.msg_case = ROGATORY__V1__ENVELOPE__MSG_HELLO;
	e.hello = &hello;
	envelope("hello", &e);

	Rogatory__V1__SignedObject so = ROGATORY__V1__SIGNED_OBJECT__INIT;
	so.body.data = sdoc.body;
	so.body.len = sdoc.body_len;
	so.signature.data = sdoc.signature;
	so.signature.len = sdoc.signature_len;
	so.signer_certificate.data = sdoc.cert;
	so.signer_certificate.len = sdoc.cert_len;
	Rogatory__V1__Transfer tr = ROGATORY__V1__TRANSFER__INIT;
	bin(&tr.message_id, "4c7b3a52-9f1e-4d2a-8b6c-0e5f3a2d1c90");
	bin(&tr.sender_id, "FR-MJ");
	bin(&tr.recipient_id, "UA-PGO");
	tr.document = &so;
	e.msg_case = ROGATORY__V1__ENVELOPE__MSG_TRANSFER;
	e.transfer = &tr;
	envelope("transfer", &e);

	Rogatory__V1__Chunk ch = ROGATORY__V1__CHUNK__INIT;
	bin(&ch.message_id, "4c7b3a52-9f1e-4d2a-8b6c-0e5f3a2d1c90");
	ch.attachment_index = 0;
	ch.offset = 65536;
	bin(&ch.data, "%PDF-1.7 chunk bytes");
	e.msg_case = ROGATORY__V1__ENVELOPE__MSG_CHUNK;
	e.chunk = &ch;
	envelope("chunk", &e);

	Rogatory__V1__SignedObject ro = ROGATORY__V1__SIGNED_OBJECT__INIT;
	ro.body.data = srec.body;
	ro.body.len = srec.body_len;
	ro.signature.data = srec.signature;
	ro.signature.len = srec.signature_len;
	ro.signer_certificate.data = srec.cert;
	ro.signer_certificate.len = srec.cert_len;
	Rogatory__V1__Receipt rc = ROGATORY__V1__RECEIPT__INIT;
	rc.receipt = &ro;
	e.msg_case = ROGATORY__V1__ENVELOPE__MSG_RECEIPT;
	e.receipt = &rc;
	envelope("receipt", &e);

	Rogatory__V1__Error er = ROGATORY__V1__ERROR__INIT;
	er.code = ROGATORY__V1__ERROR_CODE__ERROR_CODE_TRY_LATER;
	bin(&er.text, "store full");
	er.retry_after_ms = 5000;
	bin(&er.message_id, "4c7b3a52-9f1e-4d2a-8b6c-0e5f3a2d1c90");
	e.msg_case = ROGATORY__V1__ENVELOPE__MSG_ERROR;
	e.error = &er;
	envelope("error", &e);

	size_t crl_len;
	snprintf(path, sizeof(path), "%s/crl.der", pki);
	uint8_t *crl = slurp(path, &crl_len);
	Rogatory__V1__Crl cm = ROGATORY__V1__CRL__INIT;
	cm.der.data = crl;
	cm.der.len = crl_len;
	e.msg_case = ROGATORY__V1__ENVELOPE__MSG_CRL;
	e.crl = &cm;
	envelope("crl", &e);

	Rogatory__V1__Ping ping = ROGATORY__V1__PING__INIT;
	ping.nonce = 0x1122334455667788u;
	e.msg_case = ROGATORY__V1__ENVELOPE__MSG_PING;
	e.ping = &ping;
	envelope("ping", &e);
	Rogatory__V1__Pong pong = ROGATORY__V1__PONG__INIT;
	pong.nonce = 0x1122334455667788u;
	e.msg_case = ROGATORY__V1__ENVELOPE__MSG_PONG;
	e.pong = &pong;
	envelope("pong", &e);

	/* The audit log: a checkpoint offered with a proof, its cosignature, a refusal, and
	 * audit/: an entry, a checkpoint body and a cosignature body (after their prefix). */
	static uint8_t root[32] = { 0x5d, 0xc9, 0xda, 0x79 }, node[32] = { 0x01 };
	Rogatory__V1__CheckpointBody cb = ROGATORY__V1__CHECKPOINT_BODY__INIT;
	bin(&cb.origin, "FR-MJ");
	cb.tree_size = 8;
	cb.root_hash.data = root;
	cb.root_hash.len = 32;
	cb.time_ms = 1717400002000;
	struct signed_object scp, scos;
	if (evidence_sign_checkpoint(fr, &cb, &scp, err, sizeof(err)) != 0)
		goto fail;
	Rogatory__V1__CosignatureBody wb = ROGATORY__V1__COSIGNATURE_BODY__INIT;
	bin(&wb.witness_id, "UA-PGO");
	bin(&wb.origin, "FR-MJ");
	wb.tree_size = 8;
	wb.root_hash = cb.root_hash;
	wb.checkpoint_sha256.data = ph;
	wb.checkpoint_sha256.len = 32;
	wb.time_ms = 1717400003000;
	if (evidence_sign_cosignature(ua, &wb, &scos, err, sizeof(err)) != 0)
		goto fail;
	size_t cpp = strlen(EVIDENCE_CTX_CHECKPOINT) + 1, cop = strlen(EVIDENCE_CTX_COSIGNATURE) + 1;
	put("audit", "checkpoint", scp.body + cpp, scp.body_len - cpp);
	put("audit", "cosignature", scos.body + cop, scos.body_len - cop);
	Rogatory__V1__Actor actor = ROGATORY__V1__ACTOR__INIT;
	bin(&actor.user, "operator");
	Rogatory__V1__AuditEntry ae = ROGATORY__V1__AUDIT_ENTRY__INIT;
	ae.seq = 5;
	ae.time_us = 1717400000000123;
	bin(&ae.event, "queued");
	bin(&ae.message_id, "4c7b3a52-9f1e-4d2a-8b6c-0e5f3a2d1c90");
	bin(&ae.peer, "UA-PGO");
	ae.direction = ROGATORY__V1__DIRECTION__DIRECTION_OUT;
	bin(&ae.state, "queued");
	ae.size = 4096;
	bin(&ae.reason, "queued by an operator");
	ae.actor = &actor;
	size_t aelen;
	uint8_t *aeb = pack(&ae.base, &aelen);
	put("audit", "entry", aeb, aelen);
	free(aeb);

	Rogatory__V1__Witness wit = ROGATORY__V1__WITNESS__INIT;
	Rogatory__V1__CheckpointOffer offer = ROGATORY__V1__CHECKPOINT_OFFER__INIT;
	Rogatory__V1__SignedObject cpso, coso;
	wire_signed_object_set(&cpso, scp.body, scp.body_len, scp.signature, scp.signature_len,
	    scp.cert, scp.cert_len);
	ProtobufCBinaryData proof[2] = { { 32, node }, { 32, root } };
	offer.checkpoint = &cpso;
	offer.from_size = 5;
	offer.n_consistency = 2;
	offer.consistency = proof;
	wit.msg_case = ROGATORY__V1__WITNESS__MSG_CHECKPOINT;
	wit.checkpoint = &offer;
	e.msg_case = ROGATORY__V1__ENVELOPE__MSG_WITNESS;
	e.witness = &wit;
	envelope("witness-checkpoint", &e);
	Rogatory__V1__Cosigned cosigned = ROGATORY__V1__COSIGNED__INIT;
	wire_signed_object_set(&coso, scos.body, scos.body_len, scos.signature, scos.signature_len,
	    scos.cert, scos.cert_len);
	cosigned.cosignature = &coso;
	wit.msg_case = ROGATORY__V1__WITNESS__MSG_COSIGNED;
	wit.cosigned = &cosigned;
	envelope("witness-cosigned", &e);
	Rogatory__V1__WitnessRefusal refusal = ROGATORY__V1__WITNESS_REFUSAL__INIT;
	refusal.tree_size = 8;
	refusal.held_size = 9;
	refusal.code = ROGATORY__V1__WITNESS_REFUSAL_CODE__WITNESS_REFUSAL_CODE_INCONSISTENT;
	bin(&refusal.text, "the tree of 8 entries is not an extension of the one of 9");
	wit.msg_case = ROGATORY__V1__WITNESS__MSG_REFUSAL;
	wit.refusal = &refusal;
	envelope("witness-refusal", &e);
	hello.audit_witnessed = 42;
	e.msg_case = ROGATORY__V1__ENVELOPE__MSG_HELLO;
	e.hello = &hello;
	envelope("hello-audit", &e);
	signed_object_clear(&scp);
	signed_object_clear(&scos);

	/* frame/: [limit][4 chunk sizes] + streams of frames. */
	static const uint8_t heads[][5] = {
		{ 3, 0, 0, 0, 0 }, { 2, 2, 0, 7, 255 }, { 3, 3, 1, 4, 200 }, { 1, 0, 0, 0, 0 },
	};
	for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
		size_t total = 5;
		for (size_t i = 0; i < n_envs; i++)
			total += FRAME_HEADER_LEN + env_lens[i];
		uint8_t *s = malloc(total), *p = s;
		memcpy(p, heads[h], 5);
		p += 5;
		for (size_t i = 0; i < n_envs; i++) {
			if (h == 3 && i == 2)
				break; /* limit 64: a stream that ends at a too-large frame */
			frame_header_put(p, (uint32_t)env_lens[i]);
			memcpy(p + FRAME_HEADER_LEN, envs[i], env_lens[i]);
			p += FRAME_HEADER_LEN + env_lens[i];
		}
		char name[32];
		snprintf(name, sizeof(name), "stream-%zu", h);
		put("frame", name, s, (size_t)(p - s));
		free(s);
	}

	/* ctl/: each request op, and a reply. */
	Rogatory__Ctl__V1__Request r = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__StatusRequest sr = ROGATORY__CTL__V1__STATUS_REQUEST__INIT;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_STATUS;
	r.status = &sr;
	ctl_request("status", &r);
	Rogatory__Ctl__V1__PeersRequest pr = ROGATORY__CTL__V1__PEERS_REQUEST__INIT;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_PEERS;
	r.peers = &pr;
	ctl_request("peers", &r);
	Rogatory__Ctl__V1__ConnectRequest cr = ROGATORY__CTL__V1__CONNECT_REQUEST__INIT;
	bin(&cr.authority_id, "UA-PGO");
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONNECT;
	r.connect = &cr;
	ctl_request("connect", &r);
	Rogatory__Ctl__V1__CrlInstallRequest ci = ROGATORY__CTL__V1__CRL_INSTALL_REQUEST__INIT;
	ci.der.data = crl;
	ci.der.len = crl_len;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_CRL_INSTALL;
	r.crl_install = &ci;
	ctl_request("crl-install", &r);
	Rogatory__Ctl__V1__Field cf = ROGATORY__CTL__V1__FIELD__INIT;
	bin(&cf.name, "reasons");
	bin(&cf.value, "dual criminality");
	Rogatory__Ctl__V1__Field *cfs[] = { &cf };
	Rogatory__Ctl__V1__SendRequest snd = ROGATORY__CTL__V1__SEND_REQUEST__INIT;
	bin(&snd.message_id, "4c7b3a52-9f1e-4d2a-8b6c-0e5f3a2d1c90");
	bin(&snd.recipient_id, "UA-PGO");
	bin(&snd.kind, "mla");
	bin(&snd.subject, "Search and seizure");
	snd.urgent = true;
	bin(&snd.respond_by, "2024-09-30");
	bin(&snd.status, "refused");
	bin(&snd.in_reply_to, "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9");
	snd.n_fields = 1;
	snd.fields = cfs;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_SEND;
	r.send = &snd;
	ctl_request("send", &r);
	Rogatory__Ctl__V1__QueueRequest qr = ROGATORY__CTL__V1__QUEUE_REQUEST__INIT;
	qr.all = true;
	qr.limit = 10;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_QUEUE;
	r.queue = &qr;
	ctl_request("queue", &r);
	Rogatory__Ctl__V1__ShowRequest shr = ROGATORY__CTL__V1__SHOW_REQUEST__INIT;
	bin(&shr.message_id, "4c7b3a52-9f1e-4d2a-8b6c-0e5f3a2d1c90");
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_SHOW;
	r.show = &shr;
	ctl_request("show", &r);
	Rogatory__Ctl__V1__InboxRequest ir = ROGATORY__CTL__V1__INBOX_REQUEST__INIT;
	ir.limit = 5;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_INBOX;
	r.inbox = &ir;
	ctl_request("inbox", &r);
	Rogatory__Ctl__V1__RetryRequest rr = ROGATORY__CTL__V1__RETRY_REQUEST__INIT;
	bin(&rr.message_id, "4c7b3a52-9f1e-4d2a-8b6c-0e5f3a2d1c90");
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_RETRY;
	r.retry = &rr;
	ctl_request("retry", &r);
	Rogatory__Ctl__V1__CancelRequest cc = ROGATORY__CTL__V1__CANCEL_REQUEST__INIT;
	bin(&cc.message_id, "4c7b3a52-9f1e-4d2a-8b6c-0e5f3a2d1c90");
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_CANCEL;
	r.cancel = &cc;
	ctl_request("cancel", &r);
	Rogatory__Ctl__V1__LogRequest lr = ROGATORY__CTL__V1__LOG_REQUEST__INIT;
	lr.after_seq = 12;
	lr.limit = 100;
	lr.follow = true;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_LOG;
	r.log = &lr;
	ctl_request("log", &r);
	/* The web console's: a session with its CSRF token, the messages list, the links. */
	Rogatory__Ctl__V1__MessagesRequest mr = ROGATORY__CTL__V1__MESSAGES_REQUEST__INIT;
	bin(&mr.direction, "in");
	bin(&mr.peer, "UA-PGO");
	bin(&mr.state, "received");
	bin(&mr.id_prefix, "4c7b3a52-9f");
	mr.before = 1234;
	mr.limit = 50;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_MESSAGES;
	r.messages = &mr;
	bin(&r.session, "0123456789abcdef0123456789abcdef");
	ctl_request("messages", &r);
	bin(&r.csrf, "fedcba9876543210fedcba9876543210");
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_RETRY;
	r.retry = &rr;
	ctl_request("retry-session", &r);
	bin(&r.session, "");
	bin(&r.csrf, "");
	Rogatory__Ctl__V1__ConsoleLoginRequest cl = ROGATORY__CTL__V1__CONSOLE_LOGIN_REQUEST__INIT;
	bin(&cl.name, "a.martin");
	bin(&cl.role, "officer");
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_LOGIN;
	r.console_login = &cl;
	ctl_request("console-login", &r);
	Rogatory__Ctl__V1__ConsoleRedeemRequest cd = ROGATORY__CTL__V1__CONSOLE_REDEEM_REQUEST__INIT;
	bin(&cd.token, "0123456789abcdef0123456789abcdef");
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_REDEEM;
	r.console_redeem = &cd;
	ctl_request("console-redeem", &r);
	Rogatory__Ctl__V1__ConsoleRevokeRequest cv = ROGATORY__CTL__V1__CONSOLE_REVOKE_REQUEST__INIT;
	bin(&cv.name, "a.martin");
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_REVOKE;
	r.console_revoke = &cv;
	ctl_request("console-revoke", &r);
	Rogatory__Ctl__V1__Reply rep = ROGATORY__CTL__V1__REPLY__INIT;
	rep.request_id = 7;
	rep.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
	bin(&rep.error_code, "kind-not-served");
	bin(&rep.error_text, "UA-PGO does not serve extradition");
	bin(&rep.json, "{\"id\":\"4c7b3a52-9f1e-4d2a-8b6c-0e5f3a2d1c90\",\"state\":\"queued\"}");
	size_t len;
	uint8_t *b = pack(&rep.base, &len);
	put("ctl", "reply", b, len);
	free(b);

	for (size_t i = 0; i < n_envs; i++)
		free(envs[i]);
	free(crl);
	signed_object_clear(&sdoc);
	signed_object_clear(&sstat);
	signed_object_clear(&srec);
	signed_object_clear(&srej);
	evidence_signer_free(fr);
	evidence_signer_free(ua);
	return 0;
fail:
	fprintf(stderr, "mkcorpus: %s\n", err);
	return 1;
}
