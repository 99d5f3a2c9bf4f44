/*
 * Unit tests for proto/wire.c: every validator with valid input and with each way to be
 * wrong (bad UTF-8, NUL, unset or out-of-range enum, bad id, unknown field, missing
 * sub-message, non-canonical signed body), the allocation budget, routing copies versus
 * signed fields, the control messages, enum names, and byte-flip robustness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "frame.h"
#include "wire.h"

#define MSG_ID "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b"
#define REQ_ID "0c6a2f4e-1b3d-4c5e-9f70-8a9b0c1d2e3f"

/* A buffer of packed bytes the tests extend by hand. */
struct buf {
	uint8_t *p;
	size_t len;
};

struct doc {
	Rogatory__V1__DocumentBody b;
	Rogatory__V1__Content c;
	Rogatory__V1__Field f[2];
	Rogatory__V1__Field *fp[WIRE_FIELDS_MAX + 1];
	Rogatory__V1__Attachment a[2];
	Rogatory__V1__Attachment *ap[2];
};

struct env {
	Rogatory__V1__Envelope e;
	Rogatory__V1__Hello hello;
	Rogatory__V1__Transfer transfer;
	Rogatory__V1__SignedObject so;
	Rogatory__V1__Chunk chunk;
	Rogatory__V1__Receipt receipt;
	Rogatory__V1__Error error;
	Rogatory__V1__Crl crl;
	Rogatory__V1__Ping ping;
	Rogatory__V1__Pong pong;
};

static const uint8_t hash[32] = {
	0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65, 0x9a, 0x2f, 0xea, 0xa0, 0xc5, 0x5a,
	0xd0, 0x15, 0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b, 0x82, 0x2c, 0xd1, 0x5d, 0x6c, 0x15,
	0xb0, 0xf0, 0x0a, 0x08,
};
static const uint8_t sig[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
static const uint8_t cert[] = {0x30, 0x03, 0x02, 0x01, 0x00};
static const uint8_t body[] = "rogatory/document/v1\0...";

static ProtobufCBinaryData bytes(const char *s);
static ProtobufCBinaryData bin(const void *p, size_t n);
static struct buf pack(const ProtobufCMessage *m);
static void put(struct buf *b, const void *p, size_t n);
static void put_varint(struct buf *b, uint64_t v);
static void put_field(struct buf *b, uint32_t field, const struct buf *inner);
static void put_unknown(struct buf *b);
static void doc_init(struct doc *d);
static void doc_status(struct doc *d, Rogatory__V1__Status s);
static void receipt_init(Rogatory__V1__ReceiptBody *r);
static void env_init(struct env *v, Rogatory__V1__Envelope__MsgCase which);
static void expect(int rc, const char *err, const char *want);
static void doc_ok(const Rogatory__V1__DocumentBody *b);
static void doc_bad(const Rogatory__V1__DocumentBody *b, const char *want);
static void doc_bytes_bad(const struct buf *b, const char *want);
static void rcpt_ok(const Rogatory__V1__ReceiptBody *r);
static void rcpt_bad(const Rogatory__V1__ReceiptBody *r, const char *want);
static void env_ok(const struct env *v);
static void env_bad(const struct env *v, const char *want);
static void env_bytes_bad(const struct buf *b, const char *want);
static void req_bad(const Rogatory__Ctl__V1__Request *r, const char *want);
static void reply_bad(const Rogatory__Ctl__V1__Reply *r, const char *want);

/* ---- helpers ---- */

static ProtobufCBinaryData
bytes(const char *s)
{
	return bin(s, strlen(s));
}

static ProtobufCBinaryData
bin(const void *p, size_t n)
{
	ProtobufCBinaryData b = {n, (uint8_t *)(uintptr_t)p};
	return b;
}

static struct buf
pack(const ProtobufCMessage *m)
{
	struct buf b;
	b.len = protobuf_c_message_get_packed_size(m);
	b.p = malloc(b.len + 1);
	cr_assert_not_null(b.p);
	cr_assert_eq(protobuf_c_message_pack(m, b.p), b.len);
	return b;
}

static void
put(struct buf *b, const void *p, size_t n)
{
	b->p = realloc(b->p, b->len + n + 1);
	cr_assert_not_null(b->p);
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
put_varint(struct buf *b, uint64_t v)
{
	do {
		uint8_t c = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			c |= 0x80;
		put(b, &c, 1);
	} while (v != 0);
}

/* Length-delimited field: tag, length, bytes. */
static void
put_field(struct buf *b, uint32_t field, const struct buf *inner)
{
	put_varint(b, (uint64_t)field << 3 | 2);
	put_varint(b, inner->len);
	put(b, inner->p, inner->len);
}

/* Field 100, varint 1: a field no version of the schema defines. */
static void
put_unknown(struct buf *b)
{
	put_varint(b, 100u << 3);
	put_varint(b, 1);
}

/* A complete, valid MLA request. */
static void
doc_init(struct doc *d)
{
	memset(d, 0, sizeof(*d));
	rogatory__v1__field__init(&d->f[0]);
	d->f[0].name = bytes("legal_basis");
	d->f[0].value = bytes("UNCAC art. 46");
	rogatory__v1__field__init(&d->f[1]);
	d->f[1].name = bytes("assistance-sought");
	d->f[1].value = bytes("Relev\xc3\xa9s bancaires 2019\xe2\x80\x93" "2021");
	d->fp[0] = &d->f[0];
	d->fp[1] = &d->f[1];
	rogatory__v1__attachment__init(&d->a[0]);
	d->a[0].name = bytes("request.pdf");
	d->a[0].media_type = bytes("application/pdf");
	d->a[0].size = 4;
	d->a[0].sha256 = bin(hash, sizeof(hash));
	rogatory__v1__attachment__init(&d->a[1]);
	d->a[1].name = bytes("annexe n\xc2\xb0 1.txt");
	d->a[1].media_type = bytes("text/plain; charset=utf-8");
	d->a[1].sha256 = bin(hash, sizeof(hash));
	d->ap[0] = &d->a[0];
	d->ap[1] = &d->a[1];
	rogatory__v1__content__init(&d->c);
	d->c.subject = bytes("Investigation into embezzlement of public funds");
	d->c.n_fields = 2;
	d->c.fields = d->fp;
	rogatory__v1__document_body__init(&d->b);
	d->b.message_id = bytes(MSG_ID);
	d->b.sender_id = bytes("FR-MJ");
	d->b.recipient_id = bytes("UA-PGO");
	d->b.created_ms = 1767225600123;
	d->b.kind = ROGATORY__V1__KIND__KIND_MLA;
	d->b.urgent = true;
	d->b.respond_by = bytes("2026-03-31");
	d->b.sequence = 1;
	d->b.doc_type = ROGATORY__V1__DOC_TYPE__DOC_TYPE_REQUEST;
	d->b.content = &d->c;
	d->b.n_attachments = 2;
	d->b.attachments = d->ap;
}

static void
doc_status(struct doc *d, Rogatory__V1__Status s)
{
	d->b.doc_type = ROGATORY__V1__DOC_TYPE__DOC_TYPE_STATUS;
	d->b.in_reply_to = bytes(REQ_ID);
	d->b.status = s;
	d->b.n_attachments = 0;
}

static void
receipt_init(Rogatory__V1__ReceiptBody *r)
{
	rogatory__v1__receipt_body__init(r);
	r->message_id = bytes(MSG_ID);
	r->sender_id = bytes("FR-MJ");
	r->receiver_id = bytes("UA-PGO");
	r->payload_sha256 = bin(hash, sizeof(hash));
	r->outcome = ROGATORY__V1__OUTCOME__OUTCOME_ACCEPTED;
	r->received_ms = 1767225601000;
}

static void
env_init(struct env *v, Rogatory__V1__Envelope__MsgCase which)
{
	memset(v, 0, sizeof(*v));
	rogatory__v1__envelope__init(&v->e);
	rogatory__v1__signed_object__init(&v->so);
	v->so.body = bin(body, sizeof(body));
	v->so.signature = bin(sig, sizeof(sig));
	v->so.signer_certificate = bin(cert, sizeof(cert));
	v->e.msg_case = which;
	switch (which) {
	case ROGATORY__V1__ENVELOPE__MSG_HELLO:
		rogatory__v1__hello__init(&v->hello);
		v->hello.authority_id = bytes("US-DOJ-OIA");
		v->hello.min_version = 1;
		v->hello.max_version = 1;
		v->hello.software = bytes("rogatoryd/0.1.0");
		v->hello.max_message_size = 64u << 20;
		v->hello.max_frame = FRAME_PEER_MAX_DEFAULT;
		v->hello.window = 8;
		v->hello.time_ms = 1767225600000;
		v->hello.crl_number = 3;
		v->e.hello = &v->hello;
		break;
	case ROGATORY__V1__ENVELOPE__MSG_TRANSFER:
		rogatory__v1__transfer__init(&v->transfer);
		v->transfer.message_id = bytes(MSG_ID);
		v->transfer.sender_id = bytes("FR-MJ");
		v->transfer.recipient_id = bytes("UA-PGO");
		v->transfer.document = &v->so;
		v->e.transfer = &v->transfer;
		break;
	case ROGATORY__V1__ENVELOPE__MSG_CHUNK:
		rogatory__v1__chunk__init(&v->chunk);
		v->chunk.message_id = bytes(MSG_ID);
		v->chunk.attachment_index = 1;
		v->chunk.offset = 1u << 20;
		v->chunk.data = bytes("%PDF");
		v->e.chunk = &v->chunk;
		break;
	case ROGATORY__V1__ENVELOPE__MSG_RECEIPT:
		rogatory__v1__receipt__init(&v->receipt);
		v->receipt.receipt = &v->so;
		v->e.receipt = &v->receipt;
		break;
	case ROGATORY__V1__ENVELOPE__MSG_ERROR:
		rogatory__v1__error__init(&v->error);
		v->error.code = ROGATORY__V1__ERROR_CODE__ERROR_CODE_TRY_LATER;
		v->error.text = bytes("store full");
		v->error.retry_after_ms = 30000;
		v->error.message_id = bytes(MSG_ID);
		v->e.error = &v->error;
		break;
	case ROGATORY__V1__ENVELOPE__MSG_CRL:
		rogatory__v1__crl__init(&v->crl);
		v->crl.der = bin(cert, sizeof(cert));
		v->e.crl = &v->crl;
		break;
	case ROGATORY__V1__ENVELOPE__MSG_PING:
		rogatory__v1__ping__init(&v->ping);
		v->ping.nonce = 7;
		v->e.ping = &v->ping;
		break;
	case ROGATORY__V1__ENVELOPE__MSG_PONG:
		rogatory__v1__pong__init(&v->pong);
		v->e.pong = &v->pong;
		break;
	default:
		break;
	}
}

static void
expect(int rc, const char *err, const char *want)
{
	cr_assert_eq(rc, -1, "accepted; expected \"%s\"", want);
	cr_assert(strstr(err, want) != NULL, "got \"%s\", expected \"%s\"", err, want);
}

static void
doc_ok(const Rogatory__V1__DocumentBody *b)
{
	struct buf p = pack(&b->base);
	Rogatory__V1__DocumentBody *out = NULL;
	char err[512] = "";
	cr_assert_eq(wire_document_body_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(out);
	wire_document_body_free(out);
	free(p.p);
}

static void
doc_bad(const Rogatory__V1__DocumentBody *b, const char *want)
{
	struct buf p = pack(&b->base);
	doc_bytes_bad(&p, want);
	free(p.p);
}

static void
doc_bytes_bad(const struct buf *b, const char *want)
{
	Rogatory__V1__DocumentBody *out = NULL;
	char err[512] = "";
	int rc = wire_document_body_decode(b->p, b->len, &out, err, sizeof(err));
	expect(rc, err, want);
	cr_assert_null(out);
}

static void
rcpt_ok(const Rogatory__V1__ReceiptBody *r)
{
	struct buf p = pack(&r->base);
	Rogatory__V1__ReceiptBody *out = NULL;
	char err[512] = "";
	cr_assert_eq(wire_receipt_body_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	wire_receipt_body_free(out);
	free(p.p);
}

static void
rcpt_bad(const Rogatory__V1__ReceiptBody *r, const char *want)
{
	struct buf p = pack(&r->base);
	Rogatory__V1__ReceiptBody *out = NULL;
	char err[512] = "";
	expect(wire_receipt_body_decode(p.p, p.len, &out, err, sizeof(err)), err, want);
	cr_assert_null(out);
	free(p.p);
}

static void
env_ok(const struct env *v)
{
	struct buf p = pack(&v->e.base);
	Rogatory__V1__Envelope *out = NULL;
	char err[512] = "";
	cr_assert_eq(wire_envelope_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out->msg_case, v->e.msg_case);
	wire_envelope_free(out);
	free(p.p);
}

static void
env_bad(const struct env *v, const char *want)
{
	struct buf p = pack(&v->e.base);
	env_bytes_bad(&p, want);
	free(p.p);
}

static void
env_bytes_bad(const struct buf *b, const char *want)
{
	Rogatory__V1__Envelope *out = NULL;
	char err[512] = "";
	expect(wire_envelope_decode(b->p, b->len, &out, err, sizeof(err)), err, want);
	cr_assert_null(out);
}

static void
req_bad(const Rogatory__Ctl__V1__Request *r, const char *want)
{
	struct buf p = pack(&r->base);
	Rogatory__Ctl__V1__Request *out = NULL;
	char err[512] = "";
	expect(wire_ctl_request_decode(p.p, p.len, &out, err, sizeof(err)), err, want);
	cr_assert_null(out);
	free(p.p);
}

static void
reply_bad(const Rogatory__Ctl__V1__Reply *r, const char *want)
{
	struct buf p = pack(&r->base);
	Rogatory__Ctl__V1__Reply *out = NULL;
	char err[512] = "";
	expect(wire_ctl_reply_decode(p.p, p.len, &out, err, sizeof(err)), err, want);
	cr_assert_null(out);
	free(p.p);
}

/* ---- Envelope ---- */

Test(wire, envelope_every_type_valid)
{
	static const Rogatory__V1__Envelope__MsgCase all[] = {
		ROGATORY__V1__ENVELOPE__MSG_HELLO, ROGATORY__V1__ENVELOPE__MSG_TRANSFER,
		ROGATORY__V1__ENVELOPE__MSG_CHUNK, ROGATORY__V1__ENVELOPE__MSG_RECEIPT,
		ROGATORY__V1__ENVELOPE__MSG_ERROR, ROGATORY__V1__ENVELOPE__MSG_CRL,
		ROGATORY__V1__ENVELOPE__MSG_PING, ROGATORY__V1__ENVELOPE__MSG_PONG,
	};
	struct env v;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		env_init(&v, all[i]);
		env_ok(&v);
	}
}

Test(wire, envelope_empty_and_undecodable)
{
	struct buf b = {NULL, 0};
	env_bytes_bad(&b, "empty envelope");
	put(&b, "\xff\xff\xff", 3);
	env_bytes_bad(&b, "envelope: not a valid protobuf encoding");
	free(b.p);
	/* A length running past the end. */
	struct buf c = {NULL, 0};
	put(&c, "\x12\x7f\x0a", 3);
	env_bytes_bad(&c, "not a valid protobuf encoding");
	free(c.p);
}

Test(wire, hello_checks)
{
	struct env v;
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_HELLO);
	v.hello.authority_id = bytes("fr-mj");
	env_bad(&v, "hello.authority_id: invalid authority id");
	v.hello.authority_id = bytes("");
	env_bad(&v, "hello.authority_id: invalid authority id");
	v.hello.authority_id = bin("FR-MJ\0X", 7);
	env_bad(&v, "hello.authority_id: invalid authority id");

	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_HELLO);
	v.hello.min_version = 0;
	env_bad(&v, "hello.min_version: 0");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_HELLO);
	v.hello.min_version = 3;
	v.hello.max_version = 2;
	env_bad(&v, "hello.max_version: 2 is below min_version 3");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_HELLO);
	v.hello.max_frame = FRAME_PEER_MAX_FLOOR - 1;
	env_bad(&v, "hello.max_frame");
	v.hello.max_frame = FRAME_PEER_MAX_FLOOR;
	env_ok(&v);
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_HELLO);
	v.hello.window = 0;
	env_bad(&v, "hello.window");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_HELLO);
	v.hello.max_message_size = 0;
	env_bad(&v, "hello.max_message_size");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_HELLO);
	v.hello.time_ms = -1;
	env_bad(&v, "hello.time_ms");
	v.hello.time_ms = 0;
	env_bad(&v, "hello.time_ms");

	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_HELLO);
	v.hello.software = bytes("rogatoryd/\xc3\x28");
	env_bad(&v, "hello.software: invalid UTF-8");
	v.hello.software = bytes("rogatoryd/\xed\xa0\x80");  /* surrogate */
	env_bad(&v, "hello.software: invalid UTF-8");
	v.hello.software = bin("rogatoryd\0evil", 14);
	env_bad(&v, "hello.software: contains a NUL byte");
	static char long_sw[WIRE_TEXT_MAX + 1];
	memset(long_sw, 'a', sizeof(long_sw));
	v.hello.software = bin(long_sw, sizeof(long_sw));
	env_bad(&v, "hello.software: 1025 bytes");
	v.hello.software = bin(long_sw, WIRE_TEXT_MAX);
	env_ok(&v);
	v.hello.software = bytes("");
	env_ok(&v);
}

Test(wire, transfer_checks)
{
	struct env v;
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_TRANSFER);
	v.transfer.message_id = bytes("3F2B8C1E-9A4D-4E6F-8B2A-1C3D5E7F9A0B");
	env_bad(&v, "transfer.message_id: invalid UUID");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_TRANSFER);
	v.transfer.sender_id = bytes("FRANCE");
	env_bad(&v, "transfer.sender_id: invalid authority id");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_TRANSFER);
	v.transfer.recipient_id = bytes("UA-");
	env_bad(&v, "transfer.recipient_id: invalid authority id");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_TRANSFER);
	v.transfer.document = NULL;
	env_bad(&v, "transfer.document: missing");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_TRANSFER);
	v.so.signature = bin(sig, 0);
	env_bad(&v, "transfer.document.signature: 0 bytes");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_TRANSFER);
	v.so.body = bin(body, 0);
	env_bad(&v, "transfer.document.body: 0 bytes");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_TRANSFER);
	v.so.signer_certificate = bin(cert, 0);
	env_bad(&v, "transfer.document.signer_certificate: 0 bytes");

	static uint8_t big[WIRE_CERT_MAX + 1];
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_TRANSFER);
	v.so.signer_certificate = bin(big, sizeof(big));
	env_bad(&v, "transfer.document.signer_certificate: 16385 bytes");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_TRANSFER);
	v.so.signature = bin(big, WIRE_SIG_MAX + 1);
	env_bad(&v, "transfer.document.signature: 257 bytes");
}

Test(wire, transfer_body_at_and_above_cap)
{
	uint8_t *big = calloc(1, WIRE_BODY_MAX + 1);
	cr_assert_not_null(big);
	struct env v;
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_TRANSFER);
	v.so.body = bin(big, WIRE_BODY_MAX);
	env_ok(&v);
	v.so.body = bin(big, WIRE_BODY_MAX + 1);
	env_bad(&v, "transfer.document.body: 1048577 bytes");
	free(big);
}

Test(wire, chunk_receipt_error_crl_checks)
{
	struct env v;
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_CHUNK);
	v.chunk.message_id = bytes("not-a-uuid");
	env_bad(&v, "chunk.message_id: invalid UUID");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_CHUNK);
	v.chunk.data = bytes("");
	env_bad(&v, "chunk.data: 0 bytes");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_CHUNK);
	v.chunk.attachment_index = WIRE_ATTACHMENTS_MAX;
	env_bad(&v, "chunk.attachment_index: 256");
	v.chunk.attachment_index = WIRE_ATTACHMENTS_MAX - 1;
	env_ok(&v);

	uint8_t *big = calloc(1, CHUNK_DATA_MAX + 1);
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_CHUNK);
	v.chunk.data = bin(big, CHUNK_DATA_MAX);
	env_ok(&v);
	v.chunk.data = bin(big, CHUNK_DATA_MAX + 1);
	env_bad(&v, "chunk.data: 1048577 bytes");
	free(big);

	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_RECEIPT);
	v.receipt.receipt = NULL;
	env_bad(&v, "receipt.receipt: missing");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_RECEIPT);
	v.so.signature = bin(sig, 0);
	env_bad(&v, "receipt.receipt.signature: 0 bytes");

	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_ERROR);
	v.error.code = ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED;
	env_bad(&v, "error.code: not set");
	v.error.code = (Rogatory__V1__ErrorCode)99;
	env_bad(&v, "error.code: value 99 out of range");
	v.error.code = (Rogatory__V1__ErrorCode)-1;
	env_bad(&v, "error.code: value -1 out of range");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_ERROR);
	v.error.text = bytes("\xff");
	env_bad(&v, "error.text: invalid UTF-8");
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_ERROR);
	v.error.message_id = bytes(MSG_ID "0");
	env_bad(&v, "error.message_id: invalid UUID");
	v.error.message_id = bytes("");
	env_ok(&v);

	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_CRL);
	v.crl.der = bin(cert, 0);
	env_bad(&v, "crl.der: 0 bytes");
}

Test(wire, envelope_unknown_fields)
{
	struct env v;
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_PING);
	struct buf b = pack(&v.e.base);
	put_unknown(&b);
	env_bytes_bad(&b, "envelope: unknown field 100");
	free(b.p);

	/* Inside the Hello. */
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_HELLO);
	struct buf h = pack(&v.hello.base);
	put_unknown(&h);
	struct buf e = {NULL, 0};
	put_field(&e, 1, &h);
	env_bytes_bad(&e, "hello: unknown field 100");
	free(h.p);
	free(e.p);

	/* Two levels down: Transfer.document (a SignedObject). */
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_TRANSFER);
	struct buf so = pack(&v.so.base);
	put_unknown(&so);
	v.transfer.document = NULL;
	struct buf t = pack(&v.transfer.base);
	put_field(&t, 4, &so);
	struct buf env = {NULL, 0};
	put_field(&env, 2, &t);
	env_bytes_bad(&env, "transfer.document: unknown field 100");
	free(so.p);
	free(t.p);
	free(env.p);
}

/* ---- DocumentBody ---- */

Test(wire, document_valid)
{
	struct doc d;
	doc_init(&d);
	doc_ok(&d.b);

	/* Minimal: no fields, no attachments, no respond_by, not urgent. */
	d.c.n_fields = 0;
	d.b.n_attachments = 0;
	d.b.respond_by = bytes("");
	d.b.urgent = false;
	d.b.sequence = 0;
	doc_ok(&d.b);

	doc_init(&d);
	doc_status(&d, ROGATORY__V1__STATUS__STATUS_ADDITIONAL_INFORMATION_REQUESTED);
	doc_ok(&d.b);

	/* Decoded fields come back as sent. */
	doc_init(&d);
	struct buf p = pack(&d.b.base);
	Rogatory__V1__DocumentBody *out = NULL;
	char err[512] = "";
	cr_assert_eq(wire_document_body_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out->kind, ROGATORY__V1__KIND__KIND_MLA);
	cr_assert_eq(out->content->n_fields, 2);
	cr_assert_eq(out->n_attachments, 2);
	cr_assert_eq(out->attachments[1]->sha256.len, 32);
	wire_document_body_free(out);
	free(p.p);
}

Test(wire, document_ids_and_scalars)
{
	struct doc d;
	doc_init(&d);
	d.b.message_id = bytes("3f2b8c1e9a4d4e6f8b2a1c3d5e7f9a0b");
	doc_bad(&d.b, "document.message_id: invalid UUID");
	doc_init(&d);
	d.b.sender_id = bytes("F-MJ");
	doc_bad(&d.b, "document.sender_id: invalid authority id");
	doc_init(&d);
	d.b.recipient_id = bytes("UA-PGO-A-B-C");
	doc_bad(&d.b, "document.recipient_id: invalid authority id");
	doc_init(&d);
	d.b.created_ms = 0;
	doc_bad(&d.b, "document.created_ms");
	doc_init(&d);
	d.b.respond_by = bytes("2026-02-29");
	doc_bad(&d.b, "document.respond_by");
	d.b.respond_by = bytes("2028-02-29");
	doc_ok(&d.b);
	doc_init(&d);
	d.b.in_reply_to = bytes("nope");
	doc_bad(&d.b, "document.in_reply_to: invalid UUID");
}

Test(wire, document_enums)
{
	struct doc d;
	doc_init(&d);
	d.b.kind = ROGATORY__V1__KIND__KIND_UNSPECIFIED;
	doc_bad(&d.b, "document.kind: not set");
	d.b.kind = (Rogatory__V1__Kind)99;
	doc_bad(&d.b, "document.kind: value 99 out of range");
	doc_init(&d);
	d.b.doc_type = ROGATORY__V1__DOC_TYPE__DOC_TYPE_UNSPECIFIED;
	doc_bad(&d.b, "document.doc_type: not set");
	d.b.doc_type = (Rogatory__V1__DocType)99;
	doc_bad(&d.b, "document.doc_type: value 99 out of range");
	doc_init(&d);
	d.b.status = ROGATORY__V1__STATUS__STATUS_EXECUTED;
	doc_bad(&d.b, "document.status: executed on a request");
	doc_init(&d);
	doc_status(&d, (Rogatory__V1__Status)99);
	doc_bad(&d.b, "document.status: value 99 out of range");
	doc_init(&d);
	doc_status(&d, ROGATORY__V1__STATUS__STATUS_UNSPECIFIED);
	doc_bad(&d.b, "document.status: required on a status document");
	doc_init(&d);
	doc_status(&d, ROGATORY__V1__STATUS__STATUS_EXECUTED);
	d.b.in_reply_to = bytes("");
	doc_bad(&d.b, "document.in_reply_to: required on a status document");
}

Test(wire, document_refusal_needs_reasons)
{
	struct doc d;
	doc_init(&d);
	doc_status(&d, ROGATORY__V1__STATUS__STATUS_REFUSED);
	doc_bad(&d.b, "a refusal needs a non-empty \"reasons\" field");
	d.f[1].name = bytes("reasons");
	d.f[1].value = bytes("");
	doc_bad(&d.b, "a refusal needs a non-empty \"reasons\" field");
	d.f[1].value = bytes("Art. 46(21)(b): prejudice to sovereignty");
	doc_ok(&d.b);
}

Test(wire, document_content)
{
	struct doc d;
	doc_init(&d);
	d.b.content = NULL;
	doc_bad(&d.b, "document.content: missing");
	doc_init(&d);
	d.c.subject = bytes("");
	doc_bad(&d.b, "document.content.subject: 0 bytes");
	d.c.subject = bytes("Embezzlement \xe2\x82");
	doc_bad(&d.b, "document.content.subject: invalid UTF-8");
	d.c.subject = bytes("Embezzlement \xc0\xaf");  /* overlong '/' */
	doc_bad(&d.b, "document.content.subject: invalid UTF-8");
	d.c.subject = bin("Embezzlement\0", 13);
	doc_bad(&d.b, "document.content.subject: contains a NUL byte");
	static char subj[WIRE_SUBJECT_MAX + 1];
	memset(subj, 's', sizeof(subj));
	d.c.subject = bin(subj, sizeof(subj));
	doc_bad(&d.b, "document.content.subject: 1025 bytes");

	doc_init(&d);
	d.f[1].name = bytes("Legal_Basis");
	doc_bad(&d.b, "document.content.fields[1].name");
	d.f[1].name = bytes("");
	doc_bad(&d.b, "document.content.fields[1].name");
	d.f[1].name = bytes("a.b");
	doc_bad(&d.b, "document.content.fields[1].name");
	doc_init(&d);
	d.f[0].value = bytes("\x80");
	doc_bad(&d.b, "document.content.fields[0].value: invalid UTF-8");
	d.f[0].value = bytes("");
	doc_ok(&d.b);

	doc_init(&d);
	for (size_t i = 0; i < WIRE_FIELDS_MAX + 1; i++)
		d.fp[i] = &d.f[0];
	d.c.n_fields = WIRE_FIELDS_MAX;
	doc_ok(&d.b);
	d.c.n_fields = WIRE_FIELDS_MAX + 1;
	doc_bad(&d.b, "document.content.fields: 65 fields");
}

Test(wire, document_attachments)
{
	struct doc d;
	static const char *bad_names[] = {"", ".", "..", "a/b", "/etc", "line\nbreak", "\x7f",
		"bad\xff"};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		doc_init(&d);
		d.a[1].name = bytes(bad_names[i]);
		doc_bad(&d.b, "document.attachments[1].name");
	}
	doc_init(&d);
	d.a[1].name = bytes("...");
	doc_ok(&d.b);
	d.a[1].name = d.a[0].name;
	doc_bad(&d.b, "document.attachments[1].name: same as attachments[0]");

	static const char *bad_types[] = {"", "pdf", "a/b/c", "/pdf", "application/",
		"text/pl\xc3\xa4in", "text/\tplain", " text/plain"};
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		doc_init(&d);
		d.a[0].media_type = bytes(bad_types[i]);
		doc_bad(&d.b, "document.attachments[0].media_type");
	}
	doc_init(&d);
	d.a[0].sha256 = bin(hash, 31);
	doc_bad(&d.b, "document.attachments[0].sha256: 31 bytes");
	d.a[0].sha256 = bin(hash, 0);
	doc_bad(&d.b, "document.attachments[0].sha256: 0 bytes");

	doc_init(&d);
	Rogatory__V1__Attachment *many[WIRE_ATTACHMENTS_MAX + 1];
	for (size_t i = 0; i < WIRE_ATTACHMENTS_MAX + 1; i++)
		many[i] = &d.a[0];
	d.b.attachments = many;
	d.b.n_attachments = WIRE_ATTACHMENTS_MAX + 1;
	doc_bad(&d.b, "document.attachments: 257 attachments");
}

Test(wire, document_unknown_fields)
{
	struct doc d;
	doc_init(&d);
	struct buf b = pack(&d.b.base);
	put_unknown(&b);
	doc_bytes_bad(&b, "document: unknown field 100");
	free(b.p);

	/* Inside content (field 12): pack the body without content and attachments, then
	 * append a content carrying an unknown field, keeping field order. */
	doc_init(&d);
	struct buf c = pack(&d.c.base);
	put_unknown(&c);
	d.b.content = NULL;
	d.b.n_attachments = 0;
	struct buf b2 = pack(&d.b.base);
	put_field(&b2, 12, &c);
	doc_bytes_bad(&b2, "document.content: unknown field 100");
	free(c.p);
	free(b2.p);

	/* Inside one Field of content. */
	doc_init(&d);
	struct buf f = pack(&d.f[0].base);
	put_unknown(&f);
	d.c.n_fields = 0;
	struct buf c2 = pack(&d.c.base);
	put_field(&c2, 2, &f);
	d.b.content = NULL;
	d.b.n_attachments = 0;
	struct buf b3 = pack(&d.b.base);
	put_field(&b3, 12, &c2);
	doc_bytes_bad(&b3, "document.content.fields[0]: unknown field 100");
	free(f.p);
	free(c2.p);
	free(b3.p);
}

/* One meaning per signed byte string. */
Test(wire, document_non_canonical)
{
	struct doc d;
	doc_init(&d);
	/* message_id written twice: the last one wins in protobuf, so a different id could
	 * hide behind the first. */
	struct buf b = pack(&d.b.base);
	struct buf id = {(uint8_t *)MSG_ID, strlen(MSG_ID)};
	put_field(&b, 1, &id);
	doc_bytes_bad(&b, "document: not canonically encoded");
	free(b.p);

	/* A default value written out: urgent = false (field 6, varint 0). */
	doc_init(&d);
	d.b.urgent = false;
	d.b.content = NULL;
	d.b.n_attachments = 0;
	struct buf b2 = pack(&d.b.base);
	d.b.content = &d.c;
	struct buf c = pack(&d.c.base);
	/* Insert "30 00" at the end, then content: out of order and a default written. */
	put(&b2, "\x30\x00", 2);
	put_field(&b2, 12, &c);
	doc_bytes_bad(&b2, "document: not canonically encoded");
	free(b2.p);

	/* Same length, different bytes: two fields swapped. message_id (1) and sender_id
	 * (2) are both bytes fields; re-ordering them keeps the size. */
	doc_init(&d);
	Rogatory__V1__DocumentBody head = d.b;
	head.message_id = bytes("");
	struct buf rest = pack(&head.base);
	/* rest begins with sender_id; put message_id after it. */
	size_t sender_len = 2 + strlen("FR-MJ");
	struct buf sw = {NULL, 0};
	put(&sw, rest.p, sender_len);
	put_field(&sw, 1, &id);
	put(&sw, rest.p + sender_len, rest.len - sender_len);
	doc_bytes_bad(&sw, "document: not canonically encoded (fields out of order");
	free(rest.p);
	free(sw.p);
	free(c.p);
}

/* ---- ReceiptBody ---- */

Test(wire, receipt_body_checks)
{
	Rogatory__V1__ReceiptBody r;
	receipt_init(&r);
	rcpt_ok(&r);
	r.outcome = ROGATORY__V1__OUTCOME__OUTCOME_REJECTED;
	r.reason_code = bytes("id-conflict");
	r.reason_text = bytes("message id already used with other content");
	rcpt_ok(&r);
	r.reason_text = bytes("");
	rcpt_ok(&r);
	r.reason_code = bytes("");
	rcpt_bad(&r, "receipt.reason_code");
	r.reason_code = bytes("Id_Conflict");
	rcpt_bad(&r, "receipt.reason_code");
	r.reason_code = bytes("abcdefghijklmnopqrstuvwxyz0123456");  /* 33 */
	rcpt_bad(&r, "receipt.reason_code");
	r.reason_code = bytes("id-conflict");
	r.reason_text = bytes("\xf5\x80\x80\x80");
	rcpt_bad(&r, "receipt.reason_text: invalid UTF-8");

	receipt_init(&r);
	r.reason_text = bytes("fine");
	rcpt_bad(&r, "must be empty when accepted");
	receipt_init(&r);
	r.reason_code = bytes("x");
	rcpt_bad(&r, "must be empty when accepted");

	receipt_init(&r);
	r.outcome = ROGATORY__V1__OUTCOME__OUTCOME_UNSPECIFIED;
	rcpt_bad(&r, "receipt.outcome: not set");
	r.outcome = (Rogatory__V1__Outcome)99;
	rcpt_bad(&r, "receipt.outcome: value 99 out of range");
	receipt_init(&r);
	r.payload_sha256 = bin(hash, 31);
	rcpt_bad(&r, "receipt.payload_sha256: 31 bytes");
	receipt_init(&r);
	r.message_id = bytes("");
	rcpt_bad(&r, "receipt.message_id: invalid UUID");
	receipt_init(&r);
	r.sender_id = bytes("fr-mj");
	rcpt_bad(&r, "receipt.sender_id: invalid authority id");
	receipt_init(&r);
	r.receiver_id = bytes("");
	rcpt_bad(&r, "receipt.receiver_id: invalid authority id");
	receipt_init(&r);
	r.received_ms = 0;
	rcpt_bad(&r, "receipt.received_ms");
}

Test(wire, receipt_body_unknown_and_non_canonical)
{
	Rogatory__V1__ReceiptBody r;
	receipt_init(&r);
	struct buf b = pack(&r.base);
	put_unknown(&b);
	Rogatory__V1__ReceiptBody *out = NULL;
	char err[512] = "";
	expect(wire_receipt_body_decode(b.p, b.len, &out, err, sizeof(err)), err,
	    "receipt: unknown field 100");
	free(b.p);

	/* outcome (field 5) written again at the end with the same value: every field
	 * check passes, only the re-pack notices. */
	struct buf b2 = pack(&r.base);
	put(&b2, "\x28\x01", 2);
	expect(wire_receipt_body_decode(b2.p, b2.len, &out, err, sizeof(err)), err,
	    "receipt: not canonically encoded");
	free(b2.p);

	/* received_ms (field 8) as a ten-byte varint of a small number. */
	receipt_init(&r);
	r.received_ms = 0;
	struct buf b3 = pack(&r.base);
	put(&b3, "\x40\x81\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11);
	expect(wire_receipt_body_decode(b3.p, b3.len, &out, err, sizeof(err)), err,
	    "receipt: not canonically encoded");
	cr_assert_null(out);
	free(b3.p);
}

/* ---- routing copies ---- */

Test(wire, transfer_matches_signed_body)
{
	struct env v;
	struct doc d;
	char err[512] = "";
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_TRANSFER);
	doc_init(&d);
	cr_assert_eq(wire_transfer_matches(&v.transfer, &d.b, err, sizeof(err)), 0, "%s", err);

	v.transfer.recipient_id = bytes("FR-MJ");
	cr_assert_eq(wire_transfer_matches(&v.transfer, &d.b, err, sizeof(err)), -1);
	cr_assert_str_eq(err,
	    "transfer.recipient_id \"FR-MJ\" differs from the signed recipient \"UA-PGO\"");

	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_TRANSFER);
	v.transfer.sender_id = bytes("FR-MJ-X");
	cr_assert_eq(wire_transfer_matches(&v.transfer, &d.b, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "transfer.sender_id \"FR-MJ-X\" differs from the signed sender "
	                      "\"FR-MJ\"");

	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_TRANSFER);
	v.transfer.message_id = bytes(REQ_ID);
	cr_assert_eq(wire_transfer_matches(&v.transfer, &d.b, err, sizeof(err)), -1);
	cr_assert(strstr(err, "transfer.message_id \"" REQ_ID "\" differs from the signed "
	                      "message id \"" MSG_ID "\"") != NULL, "%s", err);
}

/* ---- allocation budget ---- */

/* 40 000 bytes of empty repeated sub-messages would unpack into ~64 bytes each. */
Test(wire, budget_refuses_many_empty_submessages)
{
	struct buf inner = {NULL, 0};
	for (int i = 0; i < 20000; i++)
		put(&inner, "\x12\x00", 2);   /* Content.fields, empty Field */
	struct buf b = {NULL, 0};
	put_field(&b, 12, &inner);
	doc_bytes_bad(&b, "document: decoding");
	doc_bytes_bad(&b, "would allocate more than");
	free(inner.p);
	free(b.p);

	struct buf atts = {NULL, 0};
	for (int i = 0; i < 20000; i++)
		put(&atts, "\x6a\x00", 2);    /* DocumentBody.attachments, empty Attachment */
	doc_bytes_bad(&atts, "would allocate more than");
	free(atts.p);

	/* The same trick inside an Envelope: thousands of unknown fields in a Ping. */
	struct buf ping = {NULL, 0};
	for (int i = 0; i < 20000; i++)
		put(&ping, "\x50\x01", 2);    /* field 10, varint 1 */
	struct buf e = {NULL, 0};
	put_field(&e, 7, &ping);
	env_bytes_bad(&e, "envelope: decoding");
	free(ping.p);
	free(e.p);

	/* A control Request repeating its oneof member: each one replaces the last, but
	 * every allocation counts against the budget. */
	struct buf ops = {NULL, 0};
	put(&ops, "\x08\x01", 2);           /* version 1 */
	for (int i = 0; i < 20000; i++)
		put(&ops, "\x52\x00", 2);   /* status = {} */
	Rogatory__Ctl__V1__Request *r = NULL;
	char err[512] = "";
	expect(wire_ctl_request_decode(ops.p, ops.len, &r, err, sizeof(err)), err,
	    "request: decoding");
	free(ops.p);
}

/* The budget must leave room for the largest valid messages. */
Test(wire, budget_fits_largest_valid_document)
{
	struct doc d;
	doc_init(&d);
	/* 64 one-letter fields with empty values: the worst struct-per-byte ratio. */
	Rogatory__V1__Field tiny[WIRE_FIELDS_MAX];
	for (size_t i = 0; i < WIRE_FIELDS_MAX; i++) {
		rogatory__v1__field__init(&tiny[i]);
		tiny[i].name = bytes("a");
		d.fp[i] = &tiny[i];
	}
	d.c.n_fields = WIRE_FIELDS_MAX;
	/* 256 minimal attachments with distinct names. */
	static char names[WIRE_ATTACHMENTS_MAX][8];
	static Rogatory__V1__Attachment at[WIRE_ATTACHMENTS_MAX];
	static Rogatory__V1__Attachment *ap[WIRE_ATTACHMENTS_MAX];
	for (size_t i = 0; i < WIRE_ATTACHMENTS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "%zx", i);
		rogatory__v1__attachment__init(&at[i]);
		at[i].name = bytes(names[i]);
		at[i].media_type = bytes("a/b");
		at[i].sha256 = bin(hash, sizeof(hash));
		ap[i] = &at[i];
	}
	d.b.attachments = ap;
	d.b.n_attachments = WIRE_ATTACHMENTS_MAX;
	doc_ok(&d.b);
}

/* ---- control socket ---- */

/* A request refused by a check after it unpacked gives its own request_id (the daemon
 * answers with it: a pipelining client matches replies by id); bytes that do not unpack
 * give 0. */
Test(wire, ctl_request_refused_keeps_its_id)
{
	Rogatory__Ctl__V1__Request r = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__MessagesRequest mq = ROGATORY__CTL__V1__MESSAGES_REQUEST__INIT;
	r.version = CONTROL_PROTOCOL_VERSION;
	r.request_id = 0x123456789aULL;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_MESSAGES;
	r.messages = &mq;
	mq.before = (uint64_t)INT64_MAX + 1;           /* a field's rule */
	struct buf p = pack(&r.base);
	Rogatory__Ctl__V1__Request *out = NULL;
	char err[512] = "";
	uint64_t id = 7;
	cr_assert_eq(wire_ctl_request_decode_id(p.p, p.len, &out, &id, err, sizeof(err)), -1);
	cr_assert_null(out);
	cr_assert_eq(id, 0x123456789aULL, "refused by a rule: id %llu (%s)",
	    (unsigned long long)id, err);
	cr_assert(strstr(err, "before") != NULL, "%s", err);
	free(p.p);

	mq.before = 0;
	r.version = 2;                                  /* the version */
	p = pack(&r.base);
	id = 7;
	cr_assert_eq(wire_ctl_request_decode_id(p.p, p.len, &out, &id, err, sizeof(err)), -1);
	cr_assert_eq(id, 0x123456789aULL, "refused for its version: id %llu", (unsigned long long)id);
	free(p.p);

	r.version = CONTROL_PROTOCOL_VERSION;           /* an unknown field */
	p = pack(&r.base);
	put_unknown(&p);
	id = 7;
	cr_assert_eq(wire_ctl_request_decode_id(p.p, p.len, &out, &id, err, sizeof(err)), -1);
	cr_assert_eq(id, 0x123456789aULL, "unknown field: id %llu", (unsigned long long)id);
	free(p.p);

	/* Valid: the id, and the request. */
	p = pack(&r.base);
	id = 7;
	cr_assert_eq(wire_ctl_request_decode_id(p.p, p.len, &out, &id, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(id, 0x123456789aULL);
	cr_assert_eq(out->request_id, 0x123456789aULL);
	wire_ctl_request_free(out);
	out = NULL;

	/* Not a Request at all (cut inside a field): 0. */
	id = 7;
	cr_assert_eq(wire_ctl_request_decode_id(p.p, p.len - 1, &out, &id, err, sizeof(err)), -1);
	cr_assert_null(out);
	cr_assert_eq(id, 0, "bytes that do not unpack: id %llu", (unsigned long long)id);
	static const uint8_t junk[] = {0xff, 0xff, 0xff};
	id = 7;
	cr_assert_eq(wire_ctl_request_decode_id(junk, sizeof(junk), &out, &id, err, sizeof(err)),
	    -1);
	cr_assert_eq(id, 0);
	/* NULL: no id wanted. */
	cr_assert_eq(wire_ctl_request_decode_id(junk, sizeof(junk), &out, NULL, err, sizeof(err)),
	    -1);
	free(p.p);
}

Test(wire, ctl_request)
{
	Rogatory__Ctl__V1__Request r = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__StatusRequest st = ROGATORY__CTL__V1__STATUS_REQUEST__INIT;
	Rogatory__Ctl__V1__ConnectRequest cn = ROGATORY__CTL__V1__CONNECT_REQUEST__INIT;
	r.version = CONTROL_PROTOCOL_VERSION;
	r.request_id = 12345;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_STATUS;
	r.status = &st;
	struct buf p = pack(&r.base);
	Rogatory__Ctl__V1__Request *out = NULL;
	char err[512] = "";
	cr_assert_eq(wire_ctl_request_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out->request_id, 12345);
	wire_ctl_request_free(out);
	free(p.p);

	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONNECT;
	r.connect = &cn;
	cn.authority_id = bytes("UA-PGO");
	p = pack(&r.base);
	cr_assert_eq(wire_ctl_request_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	wire_ctl_request_free(out);
	free(p.p);
	cn.authority_id = bytes("ua-pgo");
	req_bad(&r, "request.connect.authority_id: invalid authority id");

	cn.authority_id = bytes("UA-PGO");
	r.version = 2;
	req_bad(&r, "unsupported control protocol version 2");
	r.version = 0;
	req_bad(&r, "unsupported control protocol version 0");

	/* A newer client's unknown field must still read as a version problem. */
	r.version = 2;
	p = pack(&r.base);
	put_unknown(&p);
	cr_assert_eq(wire_ctl_request_decode(p.p, p.len, &out, err, sizeof(err)), -1);
	cr_assert_eq(strncmp(err, "unsupported control protocol version", 36), 0, "%s", err);
	free(p.p);

	r.version = CONTROL_PROTOCOL_VERSION;
	p = pack(&r.base);
	put_unknown(&p);
	cr_assert_eq(wire_ctl_request_decode(p.p, p.len, &out, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "request: unknown field 100");
	free(p.p);

	r.op_case = ROGATORY__CTL__V1__REQUEST__OP__NOT_SET;
	req_bad(&r, "request: no operation set");

	/* A quarantine entry id is a database row id: at most INT64_MAX. */
	Rogatory__Ctl__V1__QuarantineRequest qr = ROGATORY__CTL__V1__QUARANTINE_REQUEST__INIT;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_QUARANTINE;
	r.quarantine = &qr;
	qr.release = (uint64_t)INT64_MAX;
	p = pack(&r.base);
	cr_assert_eq(wire_ctl_request_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	wire_ctl_request_free(out);
	free(p.p);
	qr.release = (uint64_t)INT64_MAX + 1;
	req_bad(&r, "request.quarantine.release: 9223372036854775808 is not an entry id");
}

/* The CRL's content is the daemon's business (crl_offer); the wire checks its length. */
Test(wire, ctl_request_crl_install)
{
	Rogatory__Ctl__V1__Request r = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__CrlInstallRequest ci = ROGATORY__CTL__V1__CRL_INSTALL_REQUEST__INIT;
	r.version = CONTROL_PROTOCOL_VERSION;
	r.request_id = 7;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_CRL_INSTALL;
	r.crl_install = &ci;
	ci.der = bytes("0\x82");
	struct buf p = pack(&r.base);
	Rogatory__Ctl__V1__Request *out = NULL;
	char err[512] = "";
	cr_assert_eq(wire_ctl_request_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out->crl_install->der.len, 2);
	wire_ctl_request_free(out);
	free(p.p);
	ci.der = bin("", 0);
	req_bad(&r, "request.crl_install.der: 0 bytes, must be 1..1048576");
}

/* export: a message id, an optional sender, a part of the bundle (0 .. 511). */
Test(wire, ctl_request_export_and_verify)
{
	Rogatory__Ctl__V1__Request r = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__ExportRequest ex = ROGATORY__CTL__V1__EXPORT_REQUEST__INIT;
	r.version = CONTROL_PROTOCOL_VERSION;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_EXPORT;
	r.export = &ex;
	ex.message_id = bytes("3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b");
	ex.sender_id = bytes("FR-MJ");
	ex.part = CONTROL_EXPORT_PART_MAX;
	ex.offset = 1u << 20;
	struct buf p = pack(&r.base);
	Rogatory__Ctl__V1__Request *out = NULL;
	char err[512] = "";
	cr_assert_eq(wire_ctl_request_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out->export->part, CONTROL_EXPORT_PART_MAX);
	wire_ctl_request_free(out);
	free(p.p);
	ex.part = CONTROL_EXPORT_PART_MAX + 1;
	req_bad(&r, "request.export.part: 512, at most 511");
	ex.part = 0;
	ex.sender_id = bytes("fr-mj");
	req_bad(&r, "request.export.sender_id: invalid authority id");
	ex.sender_id = bytes("");
	ex.message_id = bytes("not-a-uuid");
	req_bad(&r, "request.export.message_id");

	Rogatory__Ctl__V1__VerifyRequest v = ROGATORY__CTL__V1__VERIFY_REQUEST__INIT;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_VERIFY;
	r.verify = &v;
	v.message_id = bytes("3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b");
	v.sender_id = bytes("FR-MJ\n");
	req_bad(&r, "request.verify.sender_id: invalid authority id");
}

Test(wire, ctl_reply)
{
	Rogatory__Ctl__V1__Reply r = ROGATORY__CTL__V1__REPLY__INIT;
	r.request_id = 9;
	r.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK;
	r.json = bytes("{\"peers\":[]}");
	struct buf p = pack(&r.base);
	Rogatory__Ctl__V1__Reply *out = NULL;
	char err[512] = "";
	cr_assert_eq(wire_ctl_reply_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out->request_id, 9);
	wire_ctl_reply_free(out);
	free(p.p);

	r.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_UNSPECIFIED;
	reply_bad(&r, "reply.code: not set");
	r.code = (Rogatory__Ctl__V1__ReplyCode)99;
	reply_bad(&r, "reply.code: value 99 out of range");
	r.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND;
	r.error_code = bytes("Unknown Authority");
	reply_bad(&r, "reply.error_code");
	r.error_code = bytes("unknown-authority");
	r.error_text = bytes("no \xc3");
	reply_bad(&r, "reply.error_text: invalid UTF-8");
	r.error_text = bytes("");
	r.json = bin("{\"a\":\"\0\"}", 9);
	reply_bad(&r, "reply.json: contains a NUL byte");
}

/* ---- enum names ---- */

Test(wire, enum_names)
{
	static const char *kinds[] = {"mla", "extradition", "provisional-arrest",
		"asset-recovery", "service-of-documents", "other"};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		Rogatory__V1__Kind k = ROGATORY__V1__KIND__KIND_UNSPECIFIED;
		cr_assert_eq(wire_kind_parse(kinds[i], &k), 0, "%s", kinds[i]);
		cr_assert_eq((size_t)k, i + 1);
		cr_assert_str_eq(wire_kind_name(k), kinds[i]);
	}
	Rogatory__V1__Kind k;
	cr_assert_eq(wire_kind_parse("unspecified", &k), -1);
	cr_assert_eq(wire_kind_parse("MLA", &k), -1);
	cr_assert_eq(wire_kind_parse("", &k), -1);
	cr_assert_str_eq(wire_kind_name((Rogatory__V1__Kind)99), "unknown");
	cr_assert_str_eq(wire_kind_name((Rogatory__V1__Kind)-1), "unknown");

	cr_assert_str_eq(wire_error_code_name(ROGATORY__V1__ERROR_CODE__ERROR_CODE_TRY_LATER),
	    "try-later");
	cr_assert_str_eq(
	    wire_error_code_name(ROGATORY__V1__ERROR_CODE__ERROR_CODE_FRAME_TOO_LARGE),
	    "frame-too-large");
	cr_assert_str_eq(
	    wire_error_code_name(ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_AUTHORITY),
	    "unknown-authority");
	cr_assert_str_eq(wire_error_code_name(ROGATORY__V1__ERROR_CODE__ERROR_CODE_CERTIFICATE),
	    "certificate");
	cr_assert_str_eq(wire_error_code_name((Rogatory__V1__ErrorCode)12), "unknown");

	cr_assert_str_eq(wire_status_name(
	    ROGATORY__V1__STATUS__STATUS_ADDITIONAL_INFORMATION_REQUESTED),
	    "additional-information-requested");
	cr_assert_str_eq(wire_status_name(ROGATORY__V1__STATUS__STATUS_WITHDRAWN), "withdrawn");
	cr_assert_str_eq(wire_status_name(ROGATORY__V1__STATUS__STATUS_CONDITIONS_DECLINED),
	    "conditions-declined");
	cr_assert_str_eq(wire_status_name((Rogatory__V1__Status)14), "unknown");
	Rogatory__V1__Status s;
	cr_assert_eq(wire_status_parse("partially-executed", &s), 0);
	cr_assert_eq(s, ROGATORY__V1__STATUS__STATUS_PARTIALLY_EXECUTED);
	cr_assert_eq(wire_status_parse("unspecified", &s), -1);
	cr_assert_str_eq(wire_doc_type_name(ROGATORY__V1__DOC_TYPE__DOC_TYPE_STATUS), "status");
	cr_assert_str_eq(wire_outcome_name(ROGATORY__V1__OUTCOME__OUTCOME_REJECTED), "rejected");
}

/* ---- robustness: every single-byte change of valid input ---- */

Test(wire, byte_flips_never_crash)
{
	struct doc d;
	doc_init(&d);
	doc_status(&d, ROGATORY__V1__STATUS__STATUS_REFUSED);
	d.f[1].name = bytes("reasons");
	/* content is then the last field and required: no truncation can be valid. */
	struct buf b = pack(&d.b.base);
	static const uint8_t xors[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff};
	size_t accepted = 0;
	for (size_t i = 0; i < b.len; i++) {
		for (size_t x = 0; x < sizeof(xors); x++) {
			b.p[i] ^= xors[x];
			Rogatory__V1__DocumentBody *out = NULL;
			char err[512] = "";
			if (wire_document_body_decode(b.p, b.len, &out, err, sizeof(err)) == 0) {
				accepted++;
				wire_document_body_free(out);
			} else {
				cr_assert_neq(err[0], '\0');
				cr_assert_null(out);
			}
			b.p[i] ^= xors[x];
		}
		/* Every truncation, too. */
		Rogatory__V1__DocumentBody *out = NULL;
		char err[512] = "";
		cr_assert_eq(wire_document_body_decode(b.p, i, &out, err, sizeof(err)), -1,
		    "truncated to %zu bytes accepted", i);
	}
	free(b.p);

	struct env v;
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_HELLO);
	struct buf e = pack(&v.e.base);
	for (size_t i = 0; i < e.len; i++) {
		for (size_t x = 0; x < sizeof(xors); x++) {
			e.p[i] ^= xors[x];
			Rogatory__V1__Envelope *out = NULL;
			char err[512] = "";
			if (wire_envelope_decode(e.p, e.len, &out, err, sizeof(err)) == 0)
				wire_envelope_free(out);
			e.p[i] ^= xors[x];
		}
	}
	free(e.p);
	(void)accepted;
}

/* ---- text rules: every text field x every code point class (PROTOCOL.md section 3) ---- */

#define TR_CONTROL 1u   /* refused by every rule */
#define TR_LF_TAB 2u    /* allowed in multi-line text only */
#define TR_BIDI 3u      /* refused where the rule says no bidi */

/* One of each class: each planted at byte 3, after "Hi ". */
static const struct tr_char {
	const char *what;
	const char *bytes;
	uint32_t cp;
	unsigned class;         /* TR_* below */
} tr_chars[] = {
	{"ESC", "\x1b", 0x1b, TR_CONTROL},
	{"BEL", "\x07", 0x07, TR_CONTROL},
	{"CR", "\r", 0x0d, TR_CONTROL},
	{"C1 CSI as UTF-8", "\xc2\x9b", 0x9b, TR_CONTROL},
	{"DEL", "\x7f", 0x7f, TR_CONTROL},
	{"LF", "\n", 0x0a, TR_LF_TAB},
	{"TAB", "\t", 0x09, TR_LF_TAB},
	{"RLO", "\xe2\x80\xae", 0x202e, TR_BIDI},
	{"LRE", "\xe2\x80\xaa", 0x202a, TR_BIDI},
	{"LRI", "\xe2\x81\xa6", 0x2066, TR_BIDI},
	{"PDI", "\xe2\x81\xa9", 0x2069, TR_BIDI},
	{"RLM (a mark: allowed)", "\xe2\x80\x8f", 0x200f, 0},
	{"ALM (a mark: allowed)", "\xd8\x9c", 0x061c, 0},
	{"e acute", "\xc3\xa9", 0xe9, 0},
};

/* What a rule does with each class. */
enum tr_rule { TR_LABEL, TR_PROSE, TR_WORD, TR_INFO };

struct tr_fix {
	struct doc d;
	Rogatory__V1__ReceiptBody r;
	struct env hello, error;
	Rogatory__Ctl__V1__Request req;
	Rogatory__Ctl__V1__SendRequest send;
	Rogatory__Ctl__V1__Field f;
	Rogatory__Ctl__V1__Field *fp[1];
	Rogatory__Ctl__V1__AttachmentSpec a;
	Rogatory__Ctl__V1__AttachmentSpec *ap[1];
};

static void
tr_fix_init(struct tr_fix *x)
{
	doc_init(&x->d);
	receipt_init(&x->r);
	x->r.outcome = ROGATORY__V1__OUTCOME__OUTCOME_REJECTED;
	x->r.reason_code = bytes("bad-signature");
	env_init(&x->hello, ROGATORY__V1__ENVELOPE__MSG_HELLO);
	env_init(&x->error, ROGATORY__V1__ENVELOPE__MSG_ERROR);
	rogatory__ctl__v1__field__init(&x->f);
	x->f.name = bytes("legal_basis");
	x->f.value = bytes("UNCAC");
	x->fp[0] = &x->f;
	rogatory__ctl__v1__attachment_spec__init(&x->a);
	x->a.name = bytes("order.pdf");
	x->a.media_type = bytes("application/pdf");
	x->ap[0] = &x->a;
	rogatory__ctl__v1__send_request__init(&x->send);
	x->send.message_id = bytes(MSG_ID);
	x->send.recipient_id = bytes("FR-MJ");
	x->send.kind = bytes("mla");
	x->send.subject = bytes("Bank records");
	x->send.n_fields = 1;
	x->send.fields = x->fp;
	x->send.n_attachments = 1;
	x->send.attachments = x->ap;
	rogatory__ctl__v1__request__init(&x->req);
	x->req.version = CONTROL_PROTOCOL_VERSION;
	x->req.op_case = ROGATORY__CTL__V1__REQUEST__OP_SEND;
	x->req.send = &x->send;
}

/* Decodes what holds the field: 0, or -1 + err; *text: the decoded field (repairs). */
typedef int (*tr_decode)(struct tr_fix *x, char *err, size_t errlen, char *text,
    size_t textlen);

static int
tr_decode_doc(struct tr_fix *x, char *err, size_t errlen, char *text, size_t textlen)
{
	(void)text;
	(void)textlen;
	struct buf p = pack(&x->d.b.base);
	Rogatory__V1__DocumentBody *out = NULL;
	int rc = wire_document_body_decode(p.p, p.len, &out, err, errlen);
	wire_document_body_free(out);
	free(p.p);
	return rc;
}

static int
tr_decode_rcpt(struct tr_fix *x, char *err, size_t errlen, char *text, size_t textlen)
{
	(void)text;
	(void)textlen;
	struct buf p = pack(&x->r.base);
	Rogatory__V1__ReceiptBody *out = NULL;
	int rc = wire_receipt_body_decode(p.p, p.len, &out, err, errlen);
	wire_receipt_body_free(out);
	free(p.p);
	return rc;
}

static int
tr_decode_env(const struct env *v, char *err, size_t errlen, char *text, size_t textlen)
{
	struct buf p = pack(&v->e.base);
	Rogatory__V1__Envelope *out = NULL;
	int rc = wire_envelope_decode(p.p, p.len, &out, err, errlen);
	if (rc == 0) {
		const ProtobufCBinaryData *t = out->msg_case == ROGATORY__V1__ENVELOPE__MSG_HELLO
		    ? &out->hello->software : &out->error->text;
		snprintf(text, textlen, "%.*s", (int)t->len, (const char *)t->data);
	}
	wire_envelope_free(out);
	free(p.p);
	return rc;
}

static int
tr_decode_hello(struct tr_fix *x, char *err, size_t errlen, char *text, size_t textlen)
{
	return tr_decode_env(&x->hello, err, errlen, text, textlen);
}

static int
tr_decode_error(struct tr_fix *x, char *err, size_t errlen, char *text, size_t textlen)
{
	return tr_decode_env(&x->error, err, errlen, text, textlen);
}

static int
tr_decode_req(struct tr_fix *x, char *err, size_t errlen, char *text, size_t textlen)
{
	(void)text;
	(void)textlen;
	struct buf p = pack(&x->req.base);
	Rogatory__Ctl__V1__Request *out = NULL;
	int rc = wire_ctl_request_decode(p.p, p.len, &out, err, errlen);
	wire_ctl_request_free(out);
	free(p.p);
	return rc;
}

/* Where each text field lives in the fixture. */
static ProtobufCBinaryData *
tr_at(struct tr_fix *x, size_t i)
{
	ProtobufCBinaryData *at[] = {
		&x->d.c.subject, &x->d.f[1].value, &x->d.a[1].name, &x->r.reason_text,
		&x->hello.hello.software, &x->error.error.text, &x->send.subject,
		&x->f.value, &x->a.name, &x->send.kind, &x->send.status, &x->f.name,
	};
	return at[i];
}

static const struct tr_field {
	const char *path;       /* as the refusal names it */
	enum tr_rule rule;
	tr_decode decode;
} tr_fields[] = {
	{"document.content.subject", TR_LABEL, tr_decode_doc},
	{"document.content.fields[1].value", TR_PROSE, tr_decode_doc},
	{"document.attachments[1].name", TR_LABEL, tr_decode_doc},
	{"receipt.reason_text", TR_PROSE, tr_decode_rcpt},
	{"hello.software", TR_INFO, tr_decode_hello},
	{"error.text", TR_INFO, tr_decode_error},
	{"request.send.subject", TR_LABEL, tr_decode_req},
	{"request.send.fields.value", TR_PROSE, tr_decode_req},
	{"request.send.attachments.name", TR_LABEL, tr_decode_req},
	{"request.send.kind", TR_WORD, tr_decode_req},
	{"request.send.status", TR_WORD, tr_decode_req},
	{"request.send.fields.name", TR_WORD, tr_decode_req},
};

static bool
tr_refused(enum tr_rule rule, unsigned class)
{
	switch (class) {
	case TR_CONTROL:
		return true;
	case TR_LF_TAB:
		return rule != TR_PROSE;
	case TR_BIDI:
		return rule == TR_LABEL || rule == TR_INFO;
	default:
		return false;
	}
}

Test(wire, text_rules_every_field_every_class)
{
	size_t nf = sizeof(tr_fields) / sizeof(tr_fields[0]);
	for (size_t fi = 0; fi < nf; fi++) {
		const struct tr_field *f = &tr_fields[fi];
		for (size_t ci = 0; ci < sizeof(tr_chars) / sizeof(tr_chars[0]); ci++) {
			const struct tr_char *c = &tr_chars[ci];
			struct tr_fix x;
			char value[32], err[512] = "", text[64] = "", want[160];
			tr_fix_init(&x);
			snprintf(value, sizeof(value), "Hi %sthere", c->bytes);
			*tr_at(&x, fi) = bytes(value);
			int rc = f->decode(&x, err, sizeof(err), text, sizeof(text));
			bool refused = tr_refused(f->rule, c->class);
			if (f->rule == TR_INFO) {
				/* Repaired, never refused: one '?' for the code point. */
				cr_assert_eq(rc, 0, "%s with %s: %s", f->path, c->what, err);
				if (refused)
					cr_assert_str_eq(text, "Hi ?there", "%s with %s", f->path, c->what);
				else
					cr_assert_str_eq(text, value, "%s with %s", f->path, c->what);
				continue;
			}
			snprintf(want, sizeof(want), "%s: %s U+%04X at byte 3", f->path,
			    c->class == TR_BIDI ? "bidi control" : "control character",
			    (unsigned)c->cp);
			if (refused) {
				cr_assert_eq(rc, -1, "%s with %s accepted", f->path, c->what);
				cr_assert(strstr(err, want) != NULL, "%s with %s: got \"%s\", want \"%s\"",
				    f->path, c->what, err, want);
			} else if (f->rule != TR_WORD) {
				/* A word (kind, status, field name) is checked further: an allowed
				 * code point still fails its own form, but not as a text rule. */
				cr_assert_eq(rc, 0, "%s with %s refused: %s", f->path, c->what, err);
			} else {
				cr_assert(strstr(err, "U+") == NULL, "%s with %s: %s", f->path, c->what,
				    err);
			}
		}
	}
}

/* The offset counts bytes, and the first refused code point is the one named. */
Test(wire, text_rule_names_first_code_point_and_byte)
{
	struct doc d;
	doc_init(&d);
	d.c.subject = bytes("Caf\xc3\xa9 \xc2\x9b\x1b");
	doc_bad(&d.b, "document.content.subject: control character U+009B at byte 6");
	d.c.subject = bytes("Hi \033[2J\033]0;pwned\007");
	doc_bad(&d.b, "document.content.subject: control character U+001B at byte 3");
	d.c.subject = bytes("\xe2\x80\xaeinvoice.pdf");
	doc_bad(&d.b, "document.content.subject: bidi control U+202E at byte 0");
	/* Repair keeps the rest of the text, UTF-8 included. */
	struct env v;
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_ERROR);
	v.error.text = bytes("\xc3\xa9t\xc3\xa9\x1b[2J\xc2\x9b\xe2\x80\xae!");
	char err[512] = "", text[64] = "";
	cr_assert_eq(tr_decode_env(&v, err, sizeof(err), text, sizeof(text)), 0, "%s", err);
	cr_assert_str_eq(text, "\xc3\xa9t\xc3\xa9?[2J?" "?!");
}

/* Proof of retrieval (PROTOCOL.md section 16): the frames need their signed object, the
 * body its fields; both are checked here, bounded like every frame. */
Test(wire, retrieval_frames_and_body)
{
	Rogatory__V1__SignedObject so = ROGATORY__V1__SIGNED_OBJECT__INIT;
	so.body = bin(body, sizeof(body));
	so.signature = bin(sig, sizeof(sig));
	so.signer_certificate = bin(cert, sizeof(cert));
	Rogatory__V1__Retrieval rt = ROGATORY__V1__RETRIEVAL__INIT;
	Rogatory__V1__RetrievalReceipt rr = ROGATORY__V1__RETRIEVAL_RECEIPT__INIT;
	Rogatory__V1__Envelope e = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Envelope *out = NULL;
	char err[512] = "";
	e.msg_case = ROGATORY__V1__ENVELOPE__MSG_RETRIEVAL;
	e.retrieval = &rt;
	struct buf p = pack(&e.base);
	env_bytes_bad(&p, "retrieval.evidence: missing");
	free(p.p);
	rt.evidence = &so;
	p = pack(&e.base);
	cr_assert_eq(wire_envelope_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out->msg_case, ROGATORY__V1__ENVELOPE__MSG_RETRIEVAL);
	wire_envelope_free(out);
	free(p.p);
	so.signature = bin(sig, 0);
	p = pack(&e.base);
	env_bytes_bad(&p, "retrieval.evidence.signature: 0 bytes");
	free(p.p);
	so.signature = bin(sig, sizeof(sig));
	e.msg_case = ROGATORY__V1__ENVELOPE__MSG_RETRIEVAL_RECEIPT;
	e.retrieval_receipt = &rr;
	p = pack(&e.base);
	env_bytes_bad(&p, "retrieval_receipt.receipt: missing");
	free(p.p);

	Rogatory__V1__RetrievalBody b = ROGATORY__V1__RETRIEVAL_BODY__INIT;
	Rogatory__V1__Actor who = ROGATORY__V1__ACTOR__INIT;
	Rogatory__V1__RetrievalBody *d = NULL;
	b.message_id = bytes(MSG_ID);
	b.sender_id = bytes("FR-MJ");
	b.retriever_id = bytes("UA-PGO");
	b.payload_sha256 = bin(hash, sizeof(hash));
	b.retrieved_ms = 1767225600000;
	who.uid = 0;             /* root: an Actor present with every field at its default */
	b.fetched_by = &who;
	p = pack(&b.base);
	cr_assert_eq(wire_retrieval_body_decode(p.p, p.len, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(d->fetched_by->uid, 0);
	wire_audit_free(d);
	free(p.p);
	struct { const char *want; } cases[] = {
		{"retrieval.payload_sha256: 31 bytes, must be 32"},
		{"retrieval.retriever_id: invalid authority id"},
		{"retrieval.retrieved_ms: 0, must be positive"},
		{"retrieval.fetched_by.user: control character U+001B"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Rogatory__V1__RetrievalBody c = b;
		Rogatory__V1__Actor cw = who;
		c.fetched_by = &cw;
		if (i == 0)
			c.payload_sha256 = bin(hash, 31);
		else if (i == 1)
			c.retriever_id = bytes("ua-pgo");
		else if (i == 2)
			c.retrieved_ms = 0;
		else
			cw.user = bytes("a\x1b[2J");
		p = pack(&c.base);
		cr_assert_eq(wire_retrieval_body_decode(p.p, p.len, &d, err, sizeof(err)), -1,
		    "case %zu accepted", i);
		cr_assert(strstr(err, cases[i].want) != NULL, "case %zu: %s", i, err);
		free(p.p);
	}
}

Test(wire, stats_request_period_and_peer)
{
	Rogatory__Ctl__V1__Request r = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__StatsRequest q = ROGATORY__CTL__V1__STATS_REQUEST__INIT;
	r.version = CONTROL_PROTOCOL_VERSION;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_STATS;
	r.stats = &q;
	char err[512] = "";
	Rogatory__Ctl__V1__Request *out = NULL;
	/* Nothing set: every period, every authority. */
	struct buf p = pack(&r.base);
	cr_assert_eq(wire_ctl_request_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out->op_case, ROGATORY__CTL__V1__REQUEST__OP_STATS);
	wire_ctl_request_free(out);
	free(p.p);
	q.since_us = 1767225600000000;
	q.until_us = 1769904000000000;
	q.peer = bytes("FR-MJ");
	p = pack(&r.base);
	cr_assert_eq(wire_ctl_request_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out->stats->until_us, 1769904000000000);
	wire_ctl_request_free(out);
	free(p.p);
	q.peer = bytes("fr-mj");
	req_bad(&r, "request.stats.peer: invalid authority id");
	q.peer = bytes("");
	q.until_us = q.since_us;
	req_bad(&r, "request.stats: until_us (1767225600000000) must be after since_us "
	    "(1767225600000000)");
	q.until_us = -1;
	req_bad(&r, "request.stats: since_us and until_us must not be negative");
}

/* ---- the signed directory (PROTOCOL.md section 17) ---- */

Test(wire, directory_frame_and_hello_serial)
{
	struct env v;
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_HELLO);
	v.hello.directory_serial = 42;
	env_ok(&v);

	Rogatory__V1__Directory d = ROGATORY__V1__DIRECTORY__INIT;
	static uint8_t big[WIRE_DIRECTORY_MAX + 1];
	memset(big, '#', sizeof(big));
	env_init(&v, ROGATORY__V1__ENVELOPE__MSG_PING);
	v.e.msg_case = ROGATORY__V1__ENVELOPE__MSG_DIRECTORY;
	v.e.directory = &d;
	d.conf = bin(big, WIRE_DIRECTORY_MAX);
	d.signature = &v.so;
	env_ok(&v);
	d.conf = bin(big, WIRE_DIRECTORY_MAX + 1);
	env_bad(&v, "directory.conf: 1048577 bytes");
	d.conf = bin(big, 0);
	env_bad(&v, "directory.conf: 0 bytes");
	d.conf = bytes("[authority FR-MJ]\n");
	d.signature = NULL;
	env_bad(&v, "directory.signature");
	d.signature = &v.so;
	v.so.signature = bin(sig, 0);
	env_bad(&v, "directory.signature.signature: 0 bytes");
}

Test(wire, directory_body_canonical_and_in_range)
{
	Rogatory__V1__DirectoryBody b = ROGATORY__V1__DIRECTORY_BODY__INIT;
	Rogatory__V1__DirectoryBody *out = NULL;
	char err[256] = "";
	b.serial = 7;
	b.directory_sha256 = bin(hash, sizeof(hash));
	b.signed_ms = 1767225600000;
	struct buf p = pack(&b.base);
	cr_assert_eq(wire_directory_body_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out->serial, 7);
	wire_audit_free(out);
	/* the serial given twice: protobuf keeps the last, the re-pack check refuses it */
	struct buf twice = {NULL, 0};
	put(&twice, "\x08\x01", 2);
	put(&twice, p.p, p.len);
	expect(wire_directory_body_decode(twice.p, twice.len, &out, err, sizeof(err)), err,
	    "directory: not canonically encoded");
	free(twice.p);
	free(p.p);
	b.serial = 0;
	p = pack(&b.base);
	expect(wire_directory_body_decode(p.p, p.len, &out, err, sizeof(err)), err,
	    "directory.serial: 0, must be 1..2^63-1");
	free(p.p);
	b.serial = 1;
	b.directory_sha256 = bin(hash, 31);
	p = pack(&b.base);
	expect(wire_directory_body_decode(p.p, p.len, &out, err, sizeof(err)), err,
	    "directory.directory_sha256: 31 bytes, must be 32");
	free(p.p);
}

/* The web console's fields and requests: tokens of exactly 32 lowercase hex digits, a
 * CSRF token only with a session, names and roles, the messages list's filters. */
Test(wire, ctl_console_requests)
{
	Rogatory__Ctl__V1__Request r = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__StatusRequest st = ROGATORY__CTL__V1__STATUS_REQUEST__INIT;
	r.version = CONTROL_PROTOCOL_VERSION;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_STATUS;
	r.status = &st;
	Rogatory__Ctl__V1__Request *out = NULL;
	char err[512] = "";
	r.session = bytes("0123456789abcdef0123456789abcdef");
	r.csrf = bytes("fedcba9876543210fedcba9876543210");
	struct buf p = pack(&r.base);
	cr_assert_eq(wire_ctl_request_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	wire_ctl_request_free(out);
	free(p.p);
	r.session = bytes("0123456789ABCDEF0123456789abcdef");
	req_bad(&r, "request.session: not lowercase hex");
	r.session = bytes("0123456789abcdef");
	req_bad(&r, "request.session: 16 bytes, a token is 32 lowercase hex digits");
	r.session = bytes("");
	req_bad(&r, "request.csrf: given without a session");
	r.session = bytes("0123456789abcdef0123456789abcdef");
	r.csrf = bytes("fedcba9876543210fedcba987654321g");
	req_bad(&r, "request.csrf: not lowercase hex");
	r.csrf = bytes("");

	Rogatory__Ctl__V1__ConsoleLoginRequest li = ROGATORY__CTL__V1__CONSOLE_LOGIN_REQUEST__INIT;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_LOGIN;
	r.console_login = &li;
	r.session = bytes("");
	li.name = bytes("alice.m");
	li.role = bytes("officer");
	p = pack(&r.base);
	cr_assert_eq(wire_ctl_request_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	wire_ctl_request_free(out);
	free(p.p);
	li.role = bytes("admin");
	req_bad(&r, "request.console_login.role: viewer, officer or operator");
	li.role = bytes("");
	req_bad(&r, "request.console_login.role: viewer, officer or operator");
	li.role = bytes("viewer");
	li.name = bytes("a b");
	req_bad(&r, "request.console_login.name: only letters, digits");
	li.name = bytes("");
	req_bad(&r, "request.console_login.name: 0 bytes, 1 to 32");
	li.name = bytes("abcdefghijklmnopqrstuvwxyz0123456");
	req_bad(&r, "request.console_login.name: 33 bytes, 1 to 32");

	Rogatory__Ctl__V1__ConsoleRevokeRequest rv = ROGATORY__CTL__V1__CONSOLE_REVOKE_REQUEST__INIT;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_REVOKE;
	r.console_revoke = &rv;
	rv.name = bytes("x/y");
	req_bad(&r, "request.console_revoke.name: only letters, digits");

	Rogatory__Ctl__V1__ConsoleRedeemRequest rd = ROGATORY__CTL__V1__CONSOLE_REDEEM_REQUEST__INIT;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_REDEEM;
	r.console_redeem = &rd;
	req_bad(&r, "request.console_redeem.token");
	rd.token = bytes("not-even-hex");   /* answered login-invalid by the daemon */
	p = pack(&r.base);
	cr_assert_eq(wire_ctl_request_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	wire_ctl_request_free(out);
	free(p.p);

	Rogatory__Ctl__V1__MessagesRequest m = ROGATORY__CTL__V1__MESSAGES_REQUEST__INIT;
	r.op_case = ROGATORY__CTL__V1__REQUEST__OP_MESSAGES;
	r.messages = &m;
	m.direction = bytes("in");
	m.peer = bytes("FR-MJ");
	m.state = bytes("received");
	m.id_prefix = bytes("0a1b-");
	m.before = 12;
	m.limit = 500;      /* clamped by the daemon */
	p = pack(&r.base);
	cr_assert_eq(wire_ctl_request_decode(p.p, p.len, &out, err, sizeof(err)), 0, "%s", err);
	wire_ctl_request_free(out);
	free(p.p);
	m.direction = bytes("both");
	req_bad(&r, "request.messages.direction");
	m.direction = bytes("");
	m.id_prefix = bytes("0A");
	req_bad(&r, "request.messages.id_prefix: only 0-9, a-f and '-'");
	m.id_prefix = bytes("%");
	req_bad(&r, "request.messages.id_prefix: only 0-9, a-f and '-'");
	m.id_prefix = bytes("0123456789012345678901234567890123456");
	req_bad(&r, "request.messages.id_prefix");
	m.id_prefix = bytes("");
	m.peer = bytes("fr-mj");
	req_bad(&r, "request.messages.peer");
	m.peer = bytes("");
	m.state = bytes("Queued");
	req_bad(&r, "request.messages.state: not a name");
	m.state = bytes("");
	m.before = (uint64_t)INT64_MAX + 1;
	req_bad(&r, "request.messages.before: not a cursor");
}
