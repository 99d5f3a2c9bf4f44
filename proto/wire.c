/*
 * wire: the one place where protobuf bytes from outside become structs, and where they
 * are judged. It must never hand a caller a message that skipped a check, nor let a
 * small input allocate without bound: every unpack runs on an allocation budget.
 */
#include "wire.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"
#include "text.h"

/* Unpacking n bytes may allocate at most this much in total. The constant covers the
 * fixed overhead (structs, protobuf-c's scan slabs) of the largest valid message; the
 * per-byte part covers bytes copies (1x) with room for pointers and structs. */
#define BUDGET_BASE ((size_t)64 << 10)
#define BUDGET_PER_BYTE 8

#define PATH_MAX_LEN 128

/*
 * The text rule of every text field (text.h; docs/PROTOCOL.md section 3, "Text rules").
 * No field may hold C0 controls, DEL or C1 controls; beyond that:
 *   RULE_LABEL  what names a message or a file to an operator: Content.subject,
 *               Attachment.name (and the control protocol's subject and attachment
 *               names): one line, and no bidi embedding, override or isolate;
 *   RULE_PROSE  free text: Field.value, ReceiptBody.reason_text (and the control
 *               protocol's field values): LF and TAB allowed, bidi controls allowed;
 *   RULE_INFO   informational text nobody acts on: Hello.software, Error.text: one line,
 *               no bidi controls, but repaired (each refused code point becomes '?')
 *               instead of refused, so that a peer's sloppy message never costs a link;
 *   RULE_WORD   the control protocol's kind, status and field names (parsed or checked
 *               further by the daemon): one line.
 * Control Reply.error_text and Reply.json are checked as UTF-8 only: the ctl escapes
 * what it prints (termsafe.h).
 */
#define RULE_LABEL (TEXT_LINE | TEXT_NO_BIDI)
#define RULE_PROSE TEXT_LINES
#define RULE_INFO (TEXT_LINE | TEXT_NO_BIDI)
#define RULE_WORD TEXT_LINE

struct budget {
	size_t left;
	bool exhausted;
};

static void *budget_alloc(void *data, size_t size);
static void budget_free(void *data, void *p);
static ProtobufCMessage *unpack(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
    size_t len, const char *what, char *err, size_t errlen);
static void release(void *m);
static int check_structure(const ProtobufCMessage *m, char *path, size_t cap, char *err,
    size_t errlen);
static int check_canonical(const ProtobufCMessage *m, const uint8_t *buf, size_t len,
    const char *what, char *err, size_t errlen);

static int chk_len(const ProtobufCBinaryData *b, size_t min, size_t max, const char *at,
    const char *name, char *err, size_t errlen);
static int chk_utf8(const ProtobufCBinaryData *b, size_t min, size_t max, const char *at,
    const char *name, char *err, size_t errlen);
static int chk_text(const ProtobufCBinaryData *b, size_t min, size_t max, unsigned rule,
    const char *at, const char *name, char *err, size_t errlen);
static void repair_text(ProtobufCBinaryData *b, unsigned rule);
static int chk_id(const ProtobufCBinaryData *b, const char *at, const char *name, char *err,
    size_t errlen);
static int chk_uuid(const ProtobufCBinaryData *b, bool optional, const char *at,
    const char *name, char *err, size_t errlen);
static int chk_set(int v, const char *at, const char *name, char *err, size_t errlen);
static int chk_present(const void *p, const char *at, const char *name, char *err,
    size_t errlen);
static int chk_signed(const Rogatory__V1__SignedObject *o, const char *at, char *err,
    size_t errlen);

static int check_hello(const Rogatory__V1__Hello *h, char *err, size_t errlen);
static int check_transfer(const Rogatory__V1__Transfer *t, char *err, size_t errlen);
static int check_chunk(const Rogatory__V1__Chunk *c, char *err, size_t errlen);
static int check_error(const Rogatory__V1__Error *e, char *err, size_t errlen);
static int check_envelope(const Rogatory__V1__Envelope *env, char *err, size_t errlen);
static int check_witness(const Rogatory__V1__Witness *w, char *err, size_t errlen);
static int check_directory(const Rogatory__V1__Directory *d, const char *at, char *err,
    size_t errlen);
static int check_document(const Rogatory__V1__DocumentBody *b, char *err, size_t errlen);
static int check_content(const Rogatory__V1__Content *c, bool refused, char *err,
    size_t errlen);
static int check_attachments(const Rogatory__V1__DocumentBody *b, char *err, size_t errlen);
static int check_receipt_body(const Rogatory__V1__ReceiptBody *r, char *err, size_t errlen);
static int check_ctl_op(const Rogatory__Ctl__V1__Request *r, char *err, size_t errlen);
static int check_ctl_console(const Rogatory__Ctl__V1__Request *r, char *err, size_t errlen);
static int check_ctl_operator(const Rogatory__Ctl__V1__Request *r, char *err,
    size_t errlen);
static int chk_id_opt(const ProtobufCBinaryData *b, const char *at, const char *name,
    char *err, size_t errlen);
static bool field_name_valid(const ProtobufCBinaryData *b);
static bool media_type_valid(const ProtobufCBinaryData *b);
static bool file_name_valid(const ProtobufCBinaryData *b);
static bool bytes_eq(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b);
static bool bytes_is(const ProtobufCBinaryData *b, const char *s);

/* ---- allocation budget ---- */

static void *
budget_alloc(void *data, size_t size)
{
	struct budget *b = data;
	if (size > b->left) {
		b->exhausted = true;
		return NULL;
	}
	b->left -= size;
	/* malloc(0) may return NULL, which protobuf-c would take for a failure. */
	return malloc(size > 0 ? size : 1);
}

static void
budget_free(void *data, void *p)
{
	(void)data;
	free(p);
}

static ProtobufCMessage *
unpack(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len, const char *what,
    char *err, size_t errlen)
{
	size_t cap = len > (SIZE_MAX - BUDGET_BASE) / BUDGET_PER_BYTE
	    ? SIZE_MAX
	    : BUDGET_BASE + BUDGET_PER_BYTE * len;
	struct budget b = {.left = cap};
	ProtobufCAllocator a = {.alloc = budget_alloc, .free = budget_free, .allocator_data = &b};
	static const uint8_t empty[1];
	ProtobufCMessage *m = protobuf_c_message_unpack(d, &a, len, len > 0 ? buf : empty);
	if (m != NULL)
		return m;
	if (b.exhausted)
		err_set(err, errlen, "%s: decoding %zu bytes would allocate more than %zu bytes",
		    what, len, cap);
	else
		err_set(err, errlen, "%s: not a valid protobuf encoding (%zu bytes)", what, len);
	return NULL;
}

/* Every allocation came from malloc through budget_alloc; the same allocator frees. */
static void
release(void *m)
{
	if (m == NULL)
		return;
	struct budget b = {.left = 0};
	ProtobufCAllocator a = {.alloc = budget_alloc, .free = budget_free, .allocator_data = &b};
	protobuf_c_message_free_unpacked(m, &a);
}

/* ---- generic checks: unknown fields anywhere, enum values outside their range ---- */

/*
 * Walks m and every sub-message it holds, using the generated descriptors, so a field
 * added to the schema is covered without an edit here. path: the name of m so far
 * ("" for an Envelope), extended in place and restored.
 */
static int
check_structure(const ProtobufCMessage *m, char *path, size_t cap, char *err, size_t errlen)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	if (m->n_unknown_fields != 0)
		return err_set(err, errlen, "%s: unknown field %u", *path ? path : "envelope",
		    m->unknown_fields[0].tag);
	size_t plen = strlen(path);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_ENUM)
			continue;
		const char *base = (const char *)m;
		bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
		size_t n = 1;
		const void *items = base + f->offset;
		if (repeated) {
			n = *(const size_t *)(const void *)(base + f->quantifier_offset);
			items = *(const void *const *)(const void *)(base + f->offset);
		} else if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0 &&
		    *(const uint32_t *)(const void *)(base + f->quantifier_offset) != f->id) {
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			if (repeated)
				snprintf(path + plen, cap - plen, "%s%s[%zu]", plen ? "." : "",
				    f->name, k);
			else
				snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", f->name);
			if (f->type == PROTOBUF_C_TYPE_ENUM) {
				int v = ((const int *)items)[k];
				if (protobuf_c_enum_descriptor_get_value(f->descriptor, v) == NULL)
					return err_set(err, errlen, "%s: value %d out of range",
					    path, v);
				continue;
			}
			const ProtobufCMessage *sub = ((const ProtobufCMessage *const *)items)[k];
			if (sub != NULL && check_structure(sub, path, cap, err, errlen) != 0)
				return -1;
		}
		path[plen] = '\0';
	}
	return 0;
}

/* One meaning per signed byte string: a body that decodes but re-encodes differently
 * (a repeated scalar, a default value written out, a long varint, fields out of order)
 * could be read differently by another decoder, so it is refused. */
static int
check_canonical(const ProtobufCMessage *m, const uint8_t *buf, size_t len, const char *what,
    char *err, size_t errlen)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	if (n != len)
		return err_set(err, errlen,
		    "%s: not canonically encoded (%zu bytes re-encode as %zu)", what, len, n);
	uint8_t *tmp = malloc(n > 0 ? n : 1);
	if (tmp == NULL)
		return err_set(err, errlen, "%s: out of memory re-encoding %zu bytes", what, n);
	protobuf_c_message_pack(m, tmp);
	bool same = n == 0 || memcmp(tmp, buf, n) == 0;
	free(tmp);
	if (!same)
		return err_set(err, errlen,
		    "%s: not canonically encoded (fields out of order or re-encoded differently)",
		    what);
	return 0;
}

/* ---- field checks: at is the path of the message, name the field ---- */

static int
chk_len(const ProtobufCBinaryData *b, size_t min, size_t max, const char *at,
    const char *name, char *err, size_t errlen)
{
	if (b->len < min || b->len > max)
		return err_set(err, errlen, "%s.%s: %zu bytes, must be %zu..%zu", at, name, b->len,
		    min, max);
	return 0;
}

static int
chk_utf8(const ProtobufCBinaryData *b, size_t min, size_t max, const char *at,
    const char *name, char *err, size_t errlen)
{
	if (chk_len(b, min, max, at, name, err, errlen) != 0)
		return -1;
	if (b->len > 0 && memchr(b->data, 0, b->len) != NULL)
		return err_set(err, errlen, "%s.%s: contains a NUL byte", at, name);
	if (!text_utf8_valid(b->data, b->len))
		return err_set(err, errlen, "%s.%s: invalid UTF-8", at, name);
	return 0;
}

/* UTF-8 within its cap, and nothing its rule refuses. The refusal names the code point
 * and its byte offset, never the text itself (it could be what a terminal acts on). */
static int
chk_text(const ProtobufCBinaryData *b, size_t min, size_t max, unsigned rule,
    const char *at, const char *name, char *err, size_t errlen)
{
	size_t pos;
	uint32_t cp;
	if (chk_utf8(b, min, max, at, name, err, errlen) != 0)
		return -1;
	if (text_refused_find(b->data, b->len, rule, &pos, &cp))
		return err_set(err, errlen, "%s.%s: %s U+%04X at byte %zu", at, name,
		    text_cp_bidi(cp) ? "bidi control" : "control character", (unsigned)cp, pos);
	return 0;
}

/* Valid UTF-8 (checked before) rewritten in place: each code point rule refuses becomes
 * one '?', so the text only shrinks. */
static void
repair_text(ProtobufCBinaryData *b, unsigned rule)
{
	size_t o = 0, at;
	uint32_t cp;
	for (size_t i = 0; i < b->len;) {
		size_t n = text_utf8_next(b->data + i, b->len - i, &cp);
		if (n == 0)
			n = 1;
		if (text_refused_find(b->data + i, n, rule, &at, &cp)) {
			b->data[o++] = '?';
		} else {
			memmove(b->data + o, b->data + i, n);
			o += n;
		}
		i += n;
	}
	b->len = o;
}

static int
chk_id(const ProtobufCBinaryData *b, const char *at, const char *name, char *err,
    size_t errlen)
{
	if (!text_authority_id_valid(b->data, b->len))
		return err_set(err, errlen, "%s.%s: invalid authority id", at, name);
	return 0;
}

static int
chk_uuid(const ProtobufCBinaryData *b, bool optional, const char *at, const char *name,
    char *err, size_t errlen)
{
	if (optional && b->len == 0)
		return 0;
	if (!text_uuid_valid(b->data, b->len))
		return err_set(err, errlen, "%s.%s: invalid UUID (lower-case 8-4-4-4-12 hex)", at,
		    name);
	return 0;
}

/* Ranges were checked by check_structure; what is left is "0 = not set". */
static int
chk_set(int v, const char *at, const char *name, char *err, size_t errlen)
{
	if (v == 0)
		return err_set(err, errlen, "%s.%s: not set", at, name);
	return 0;
}

static int
chk_present(const void *p, const char *at, const char *name, char *err, size_t errlen)
{
	if (p == NULL)
		return err_set(err, errlen, "%s.%s: missing", at, name);
	return 0;
}

static int
chk_signed(const Rogatory__V1__SignedObject *o, const char *at, char *err, size_t errlen)
{
	if (chk_len(&o->body, 1, WIRE_BODY_MAX, at, "body", err, errlen) ||
	    chk_len(&o->signature, 1, WIRE_SIG_MAX, at, "signature", err, errlen) ||
	    chk_len(&o->signer_certificate, 1, WIRE_CERT_MAX, at, "signer_certificate", err,
	        errlen))
		return -1;
	return 0;
}

static bool
bytes_eq(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static bool
bytes_is(const ProtobufCBinaryData *b, const char *s)
{
	size_t n = strlen(s);
	return b->len == n && (n == 0 || memcmp(b->data, s, n) == 0);
}

/* ---- Envelope ---- */

static int
check_hello(const Rogatory__V1__Hello *h, char *err, size_t errlen)
{
	if (chk_id(&h->authority_id, "hello", "authority_id", err, errlen) ||
	    chk_utf8(&h->software, 0, WIRE_TEXT_MAX, "hello", "software", err, errlen))
		return -1;
	if (h->min_version < 1)
		return err_set(err, errlen, "hello.min_version: %u, versions start at 1",
		    h->min_version);
	if (h->max_version < h->min_version)
		return err_set(err, errlen, "hello.max_version: %u is below min_version %u",
		    h->max_version, h->min_version);
	if (h->max_frame < FRAME_PEER_MAX_FLOOR)
		return err_set(err, errlen, "hello.max_frame: %u bytes, below the floor of %u",
		    h->max_frame, FRAME_PEER_MAX_FLOOR);
	if (h->window < 1)
		return err_set(err, errlen, "hello.window: 0, must be at least 1");
	if (h->max_message_size < 1)
		return err_set(err, errlen, "hello.max_message_size: 0, must be at least 1");
	if (h->time_ms <= 0)
		return err_set(err, errlen, "hello.time_ms: %lld, must be positive",
		    (long long)h->time_ms);
	return 0;
}

static int
check_transfer(const Rogatory__V1__Transfer *t, char *err, size_t errlen)
{
	if (chk_uuid(&t->message_id, false, "transfer", "message_id", err, errlen) ||
	    chk_id(&t->sender_id, "transfer", "sender_id", err, errlen) ||
	    chk_id(&t->recipient_id, "transfer", "recipient_id", err, errlen) ||
	    chk_present(t->document, "transfer", "document", err, errlen) ||
	    chk_signed(t->document, "transfer.document", err, errlen))
		return -1;
	return 0;
}

static int
check_chunk(const Rogatory__V1__Chunk *c, char *err, size_t errlen)
{
	if (chk_uuid(&c->message_id, false, "chunk", "message_id", err, errlen) ||
	    chk_len(&c->data, 1, CHUNK_DATA_MAX, "chunk", "data", err, errlen))
		return -1;
	if (c->attachment_index >= WIRE_ATTACHMENTS_MAX)
		return err_set(err, errlen, "chunk.attachment_index: %u, must be below %u",
		    c->attachment_index, WIRE_ATTACHMENTS_MAX);
	return 0;
}

static int
check_error(const Rogatory__V1__Error *e, char *err, size_t errlen)
{
	if (chk_set(e->code, "error", "code", err, errlen) ||
	    chk_utf8(&e->text, 0, WIRE_TEXT_MAX, "error", "text", err, errlen) ||
	    chk_uuid(&e->message_id, true, "error", "message_id", err, errlen))
		return -1;
	return 0;
}

static int
check_envelope(const Rogatory__V1__Envelope *env, char *err, size_t errlen)
{
	switch (env->msg_case) {
	case ROGATORY__V1__ENVELOPE__MSG_HELLO:
		return check_hello(env->hello, err, errlen);
	case ROGATORY__V1__ENVELOPE__MSG_TRANSFER:
		return check_transfer(env->transfer, err, errlen);
	case ROGATORY__V1__ENVELOPE__MSG_CHUNK:
		return check_chunk(env->chunk, err, errlen);
	case ROGATORY__V1__ENVELOPE__MSG_RECEIPT:
		if (chk_present(env->receipt->receipt, "receipt", "receipt", err, errlen))
			return -1;
		return chk_signed(env->receipt->receipt, "receipt.receipt", err, errlen);
	case ROGATORY__V1__ENVELOPE__MSG_ERROR:
		return check_error(env->error, err, errlen);
	case ROGATORY__V1__ENVELOPE__MSG_CRL:
		return chk_len(&env->crl->der, 1, WIRE_CRL_MAX, "crl", "der", err, errlen);
	case ROGATORY__V1__ENVELOPE__MSG_PING:
	case ROGATORY__V1__ENVELOPE__MSG_PONG:
		/* A nonce is any number. */
		return 0;
	case ROGATORY__V1__ENVELOPE__MSG_WITNESS:
		return check_witness(env->witness, err, errlen);
	case ROGATORY__V1__ENVELOPE__MSG_RETRIEVAL:
		if (chk_present(env->retrieval->evidence, "retrieval", "evidence", err, errlen))
			return -1;
		return chk_signed(env->retrieval->evidence, "retrieval.evidence", err, errlen);
	case ROGATORY__V1__ENVELOPE__MSG_RETRIEVAL_RECEIPT:
		if (chk_present(env->retrieval_receipt->receipt, "retrieval_receipt", "receipt", err,
		        errlen))
			return -1;
		return chk_signed(env->retrieval_receipt->receipt, "retrieval_receipt.receipt", err,
		    errlen);
	case ROGATORY__V1__ENVELOPE__MSG_DIRECTORY:
		return check_directory(env->directory, "directory", err, errlen);
	case ROGATORY__V1__ENVELOPE__MSG_RESUME:
		if (chk_uuid(&env->resume->message_id, false, "resume", "message_id", err, errlen))
			return -1;
		if (env->resume->attachment_index >= WIRE_ATTACHMENTS_MAX)
			return err_set(err, errlen, "resume.attachment_index: %u, must be below %u",
			    env->resume->attachment_index, WIRE_ATTACHMENTS_MAX);
		return 0;
	default:
		return err_set(err, errlen, "empty envelope");
	}
}

int
wire_envelope_decode(const uint8_t *buf, size_t len, Rogatory__V1__Envelope **out,
    char *err, size_t errlen)
{
	char path[PATH_MAX_LEN] = "";
	*out = NULL;
	Rogatory__V1__Envelope *env = (Rogatory__V1__Envelope *)unpack(
	    &rogatory__v1__envelope__descriptor, buf, len, "envelope", err, errlen);
	if (env == NULL)
		return -1;
	if (check_structure(&env->base, path, sizeof(path), err, errlen) != 0 ||
	    check_envelope(env, err, errlen) != 0) {
		release(env);
		return -1;
	}
	if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_HELLO)
		repair_text(&env->hello->software, RULE_INFO);
	else if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_ERROR)
		repair_text(&env->error->text, RULE_INFO);
	else if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_WITNESS &&
	    env->witness->msg_case == ROGATORY__V1__WITNESS__MSG_REFUSAL)
		repair_text(&env->witness->refusal->text, RULE_INFO);
	*out = env;
	return 0;
}

void
wire_envelope_free(Rogatory__V1__Envelope *env)
{
	release(env);
}

/* ---- DocumentBody ---- */

static int
check_document(const Rogatory__V1__DocumentBody *b, char *err, size_t errlen)
{
	const char *at = "document";
	if (chk_uuid(&b->message_id, false, at, "message_id", err, errlen) ||
	    chk_id(&b->sender_id, at, "sender_id", err, errlen) ||
	    chk_id(&b->recipient_id, at, "recipient_id", err, errlen))
		return -1;
	if (b->created_ms <= 0)
		return err_set(err, errlen, "document.created_ms: %lld, must be positive",
		    (long long)b->created_ms);
	if (chk_set(b->kind, at, "kind", err, errlen))
		return -1;
	if (b->respond_by.len > 0 && !text_date_valid(b->respond_by.data, b->respond_by.len))
		return err_set(err, errlen, "document.respond_by: not a YYYY-MM-DD calendar date");
	if (chk_uuid(&b->in_reply_to, true, at, "in_reply_to", err, errlen) ||
	    chk_set(b->doc_type, at, "doc_type", err, errlen))
		return -1;
	if (b->doc_type == ROGATORY__V1__DOC_TYPE__DOC_TYPE_STATUS) {
		if (b->in_reply_to.len == 0)
			return err_set(err, errlen,
			    "document.in_reply_to: required on a status document");
		if (b->status == ROGATORY__V1__STATUS__STATUS_UNSPECIFIED)
			return err_set(err, errlen,
			    "document.status: required on a status document");
	} else if (b->status != ROGATORY__V1__STATUS__STATUS_UNSPECIFIED) {
		return err_set(err, errlen, "document.status: %s on a request, must be unset",
		    wire_status_name(b->status));
	}
	if (chk_present(b->content, at, "content", err, errlen) ||
	    check_content(b->content, b->status == ROGATORY__V1__STATUS__STATUS_REFUSED, err,
	        errlen))
		return -1;
	return check_attachments(b, err, errlen);
}

static int
check_content(const Rogatory__V1__Content *c, bool refused, char *err, size_t errlen)
{
	char at[64];
	if (chk_text(&c->subject, 1, WIRE_SUBJECT_MAX, RULE_LABEL, "document.content",
	        "subject", err, errlen))
		return -1;
	if (c->n_fields > WIRE_FIELDS_MAX)
		return err_set(err, errlen, "document.content.fields: %zu fields, at most %u",
		    c->n_fields, WIRE_FIELDS_MAX);
	bool reasons = false;
	for (size_t i = 0; i < c->n_fields; i++) {
		const Rogatory__V1__Field *f = c->fields[i];
		snprintf(at, sizeof(at), "document.content.fields[%zu]", i);
		if (!field_name_valid(&f->name))
			return err_set(err, errlen, "%s.name: must be [a-z0-9_-]{1,%u}", at,
			    WIRE_FIELD_NAME_MAX);
		if (chk_text(&f->value, 0, WIRE_FIELD_VALUE_MAX, RULE_PROSE, at, "value", err,
		        errlen))
			return -1;
		if (bytes_is(&f->name, "reasons") && f->value.len > 0)
			reasons = true;
	}
	/* UNCAC art. 46(23): reasons shall be given for any refusal. */
	if (refused && !reasons)
		return err_set(err, errlen,
		    "document.content: a refusal needs a non-empty \"reasons\" field");
	return 0;
}

static int
check_attachments(const Rogatory__V1__DocumentBody *b, char *err, size_t errlen)
{
	char at[64];
	if (b->n_attachments > WIRE_ATTACHMENTS_MAX)
		return err_set(err, errlen, "document.attachments: %zu attachments, at most %u",
		    b->n_attachments, WIRE_ATTACHMENTS_MAX);
	for (size_t i = 0; i < b->n_attachments; i++) {
		const Rogatory__V1__Attachment *a = b->attachments[i];
		snprintf(at, sizeof(at), "document.attachments[%zu]", i);
		if (chk_text(&a->name, 1, WIRE_NAME_MAX, RULE_LABEL, at, "name", err, errlen))
			return -1;
		if (!file_name_valid(&a->name))
			return err_set(err, errlen,
			    "%s.name: not a file name (no '/', \".\" or \"..\")", at);
		/* The receiver keeps attachments under their names: two with one name
		 * would make one of them unreachable. */
		for (size_t k = 0; k < i; k++)
			if (bytes_eq(&a->name, &b->attachments[k]->name))
				return err_set(err, errlen, "%s.name: same as attachments[%zu]",
				    at, k);
		if (chk_len(&a->media_type, 1, WIRE_MEDIA_TYPE_MAX, at, "media_type", err, errlen))
			return -1;
		if (!media_type_valid(&a->media_type))
			return err_set(err, errlen,
			    "%s.media_type: must be printable ASCII type/subtype", at);
		if (a->sha256.len != WIRE_SHA256_LEN)
			return err_set(err, errlen, "%s.sha256: %zu bytes, must be %u", at,
			    a->sha256.len, WIRE_SHA256_LEN);
	}
	return 0;
}

/* [a-z0-9_-]{1,WIRE_FIELD_NAME_MAX} */
static bool
field_name_valid(const ProtobufCBinaryData *b)
{
	if (b->len < 1 || b->len > WIRE_FIELD_NAME_MAX)
		return false;
	for (size_t i = 0; i < b->len; i++) {
		uint8_t c = b->data[i];
		if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '_' && c != '-')
			return false;
	}
	return true;
}

/* Printable ASCII with exactly one '/', not at either end: "type/subtype[; params]". */
static bool
media_type_valid(const ProtobufCBinaryData *b)
{
	size_t slashes = 0;
	for (size_t i = 0; i < b->len; i++) {
		uint8_t c = b->data[i];
		if (c < 0x20 || c > 0x7e)
			return false;
		if (c == '/')
			slashes++;
	}
	return slashes == 1 && b->data[0] != '/' && b->data[0] != ' ' &&
	    b->data[b->len - 1] != '/';
}

/* Its text rule (RULE_LABEL: nothing a terminal would act on, no reordering) was
 * checked before; here: one path component. */
static bool
file_name_valid(const ProtobufCBinaryData *b)
{
	if (bytes_is(b, ".") || bytes_is(b, ".."))
		return false;
	return b->len == 0 || memchr(b->data, '/', b->len) == NULL;
}

int
wire_document_body_decode(const uint8_t *buf, size_t len, Rogatory__V1__DocumentBody **out,
    char *err, size_t errlen)
{
	char path[PATH_MAX_LEN] = "document";
	*out = NULL;
	Rogatory__V1__DocumentBody *b = (Rogatory__V1__DocumentBody *)unpack(
	    &rogatory__v1__document_body__descriptor, buf, len, "document", err, errlen);
	if (b == NULL)
		return -1;
	if (check_structure(&b->base, path, sizeof(path), err, errlen) != 0 ||
	    check_document(b, err, errlen) != 0 ||
	    check_canonical(&b->base, buf, len, "document", err, errlen) != 0) {
		release(b);
		return -1;
	}
	*out = b;
	return 0;
}

void
wire_document_body_free(Rogatory__V1__DocumentBody *b)
{
	release(b);
}

/* ---- ReceiptBody ---- */

static int
check_receipt_body(const Rogatory__V1__ReceiptBody *r, char *err, size_t errlen)
{
	const char *at = "receipt";
	if (chk_uuid(&r->message_id, false, at, "message_id", err, errlen) ||
	    chk_id(&r->sender_id, at, "sender_id", err, errlen) ||
	    chk_id(&r->receiver_id, at, "receiver_id", err, errlen))
		return -1;
	if (r->payload_sha256.len != WIRE_SHA256_LEN)
		return err_set(err, errlen, "receipt.payload_sha256: %zu bytes, must be %u",
		    r->payload_sha256.len, WIRE_SHA256_LEN);
	if (chk_set(r->outcome, at, "outcome", err, errlen))
		return -1;
	if (r->outcome == ROGATORY__V1__OUTCOME__OUTCOME_REJECTED) {
		if (!text_code_valid(r->reason_code.data, r->reason_code.len,
		        WIRE_REASON_CODE_MAX))
			return err_set(err, errlen,
			    "receipt.reason_code: must be [a-z0-9-]{1,%u} on a rejection",
			    WIRE_REASON_CODE_MAX);
		if (chk_text(&r->reason_text, 0, WIRE_TEXT_MAX, RULE_PROSE, at, "reason_text", err,
		        errlen))
			return -1;
	} else if (r->reason_code.len > 0 || r->reason_text.len > 0) {
		return err_set(err, errlen,
		    "receipt: reason_code and reason_text must be empty when accepted");
	}
	if (r->received_ms <= 0)
		return err_set(err, errlen, "receipt.received_ms: %lld, must be positive",
		    (long long)r->received_ms);
	return 0;
}

int
wire_receipt_body_decode(const uint8_t *buf, size_t len, Rogatory__V1__ReceiptBody **out,
    char *err, size_t errlen)
{
	char path[PATH_MAX_LEN] = "receipt";
	*out = NULL;
	Rogatory__V1__ReceiptBody *r = (Rogatory__V1__ReceiptBody *)unpack(
	    &rogatory__v1__receipt_body__descriptor, buf, len, "receipt", err, errlen);
	if (r == NULL)
		return -1;
	if (check_structure(&r->base, path, sizeof(path), err, errlen) != 0 ||
	    check_receipt_body(r, err, errlen) != 0 ||
	    check_canonical(&r->base, buf, len, "receipt", err, errlen) != 0) {
		release(r);
		return -1;
	}
	*out = r;
	return 0;
}

void
wire_receipt_body_free(Rogatory__V1__ReceiptBody *b)
{
	release(b);
}

/* ---- the audit log: witness frames, checkpoint and cosignature bodies, entries ---- */

static int
check_witness(const Rogatory__V1__Witness *w, char *err, size_t errlen)
{
	switch (w->msg_case) {
	case ROGATORY__V1__WITNESS__MSG_CHECKPOINT: {
		const Rogatory__V1__CheckpointOffer *o = w->checkpoint;
		const char *at = "witness.checkpoint";
		if (chk_present(o->checkpoint, at, "checkpoint", err, errlen) ||
		    chk_signed(o->checkpoint, "witness.checkpoint.checkpoint", err, errlen))
			return -1;
		if (o->n_consistency > WIRE_PROOF_MAX)
			return err_set(err, errlen, "%s.consistency: %zu hashes, at most %d", at,
			    o->n_consistency, WIRE_PROOF_MAX);
		if (o->from_size == 0 && o->n_consistency > 0)
			return err_set(err, errlen, "%s.consistency: a proof without from_size", at);
		for (size_t i = 0; i < o->n_consistency; i++)
			if (o->consistency[i].len != WIRE_SHA256_LEN)
				return err_set(err, errlen, "%s.consistency[%zu]: %zu bytes, must be %u",
				    at, i, o->consistency[i].len, WIRE_SHA256_LEN);
		return 0;
	}
	case ROGATORY__V1__WITNESS__MSG_COSIGNED:
		if (chk_present(w->cosigned->cosignature, "witness.cosigned", "cosignature", err,
		        errlen))
			return -1;
		return chk_signed(w->cosigned->cosignature, "witness.cosigned.cosignature", err,
		    errlen);
	case ROGATORY__V1__WITNESS__MSG_REFUSAL:
		if (chk_set(w->refusal->code, "witness.refusal", "code", err, errlen) ||
		    chk_utf8(&w->refusal->text, 0, WIRE_TEXT_MAX, "witness.refusal", "text", err,
		        errlen))
			return -1;
		return 0;
	default:
		return err_set(err, errlen, "witness: empty");
	}
}

static int
chk_sha256(const ProtobufCBinaryData *b, const char *at, const char *name, char *err,
    size_t errlen)
{
	if (b->len != WIRE_SHA256_LEN)
		return err_set(err, errlen, "%s.%s: %zu bytes, must be %u", at, name, b->len,
		    WIRE_SHA256_LEN);
	return 0;
}

static int
chk_positive(int64_t v, const char *at, const char *name, char *err, size_t errlen)
{
	if (v <= 0)
		return err_set(err, errlen, "%s.%s: %lld, must be positive", at, name, (long long)v);
	return 0;
}

/* A tree size or seq: 1..2^63-1 (SQLite keeps them as signed 64-bit). */
static int
chk_count(uint64_t v, const char *at, const char *field, char *err, size_t errlen)
{
	if (v < 1 || v > (uint64_t)INT64_MAX)
		return err_set(err, errlen, "%s.%s: %llu, must be 1..2^63-1", at, field,
		    (unsigned long long)v);
	return 0;
}

static int
check_checkpoint_body(const Rogatory__V1__CheckpointBody *b, char *err, size_t errlen)
{
	const char *at = "checkpoint";
	if (chk_id(&b->origin, at, "origin", err, errlen) ||
	    chk_sha256(&b->root_hash, at, "root_hash", err, errlen) ||
	    chk_positive(b->time_ms, at, "time_ms", err, errlen))
		return -1;
	return chk_count(b->tree_size, at, "tree_size", err, errlen);
}

static int
check_cosignature_body(const Rogatory__V1__CosignatureBody *b, char *err, size_t errlen)
{
	const char *at = "cosignature";
	if (chk_id(&b->witness_id, at, "witness_id", err, errlen) ||
	    chk_id(&b->origin, at, "origin", err, errlen) ||
	    chk_sha256(&b->root_hash, at, "root_hash", err, errlen) ||
	    chk_sha256(&b->checkpoint_sha256, at, "checkpoint_sha256", err, errlen) ||
	    chk_positive(b->time_ms, at, "time_ms", err, errlen))
		return -1;
	return chk_count(b->tree_size, at, "tree_size", err, errlen);
}

/* An entry is a stored event as it was written: the reason is the daemon's own text
 * (possibly cut at 255 bytes, so not always whole UTF-8), checked for length and NUL. */
static int
check_audit_entry(const Rogatory__V1__AuditEntry *e, char *err, size_t errlen)
{
	const char *at = "entry";
	if (chk_count(e->seq, at, "seq", err, errlen))
		return -1;
	if (chk_positive(e->time_us, at, "time_us", err, errlen))
		return -1;
	if (!text_code_valid(e->event.data, e->event.len, WIRE_EVENT_MAX))
		return err_set(err, errlen, "%s.event: must be [a-z0-9-]{1,%d}", at, WIRE_EVENT_MAX);
	if (chk_uuid(&e->message_id, true, at, "message_id", err, errlen) ||
	    (e->peer.len > 0 && chk_id(&e->peer, at, "peer", err, errlen)) ||
	    chk_set(e->direction, at, "direction", err, errlen))
		return -1;
	if (e->state.len > 0 && !text_code_valid(e->state.data, e->state.len, WIRE_STATE_MAX))
		return err_set(err, errlen, "%s.state: must be empty or [a-z0-9-]{1,%d}", at,
		    WIRE_STATE_MAX);
	if (chk_len(&e->reason, 0, WIRE_REASON_MAX, at, "reason", err, errlen))
		return -1;
	if (e->reason.len > 0 && memchr(e->reason.data, 0, e->reason.len) != NULL)
		return err_set(err, errlen, "%s.reason: contains a NUL byte", at);
	if (e->alert.len > 0 && !text_code_valid(e->alert.data, e->alert.len, WIRE_ALERT_MAX))
		return err_set(err, errlen, "%s.alert: must be empty or [a-z0-9-]{1,%d}", at,
		    WIRE_ALERT_MAX);
	if (e->actor != NULL &&
	    chk_text(&e->actor->user, 0, WIRE_USER_MAX, RULE_LABEL, "entry.actor", "user", err,
	        errlen))
		return -1;
	return 0;
}

/* Proof of retrieval (PROTOCOL.md section 16): who fetched is an operator of the
 * retriever, named by uid and user name (label rule, as an audit entry's actor). */
static int
check_retrieval_body(const Rogatory__V1__RetrievalBody *b, char *err, size_t errlen)
{
	const char *at = "retrieval";
	if (chk_uuid(&b->message_id, false, at, "message_id", err, errlen) ||
	    chk_id(&b->sender_id, at, "sender_id", err, errlen) ||
	    chk_id(&b->retriever_id, at, "retriever_id", err, errlen) ||
	    chk_sha256(&b->payload_sha256, at, "payload_sha256", err, errlen) ||
	    chk_positive(b->retrieved_ms, at, "retrieved_ms", err, errlen) ||
	    chk_present(b->fetched_by, at, "fetched_by", err, errlen) ||
	    chk_text(&b->fetched_by->user, 0, WIRE_USER_MAX, RULE_LABEL, "retrieval.fetched_by",
	        "user", err, errlen))
		return -1;
	return 0;
}

/* The three audit bodies share one shape: unpack, generic checks, own checks, canonical. */
typedef int (*audit_check_fn)(const void *m, char *err, size_t errlen);

static void *
audit_decode(const ProtobufCMessageDescriptor *d, const char *what, audit_check_fn fn,
    const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	char path[PATH_MAX_LEN];
	snprintf(path, sizeof(path), "%s", what);
	ProtobufCMessage *m = unpack(d, buf, len, what, err, errlen);
	if (m == NULL)
		return NULL;
	if (check_structure(m, path, sizeof(path), err, errlen) != 0 || fn(m, err, errlen) != 0 ||
	    check_canonical(m, buf, len, what, err, errlen) != 0) {
		release(m);
		return NULL;
	}
	return m;
}

static int
chk_checkpoint_fn(const void *m, char *err, size_t errlen)
{
	return check_checkpoint_body(m, err, errlen);
}

static int
chk_cosignature_fn(const void *m, char *err, size_t errlen)
{
	return check_cosignature_body(m, err, errlen);
}

static int
chk_entry_fn(const void *m, char *err, size_t errlen)
{
	return check_audit_entry(m, err, errlen);
}

static int
chk_retrieval_fn(const void *m, char *err, size_t errlen)
{
	return check_retrieval_body(m, err, errlen);
}

int
wire_retrieval_body_decode(const uint8_t *buf, size_t len, Rogatory__V1__RetrievalBody **out,
    char *err, size_t errlen)
{
	*out = audit_decode(&rogatory__v1__retrieval_body__descriptor, "retrieval",
	    chk_retrieval_fn, buf, len, err, errlen);
	return *out != NULL ? 0 : -1;
}

int
wire_checkpoint_body_decode(const uint8_t *buf, size_t len, Rogatory__V1__CheckpointBody **out,
    char *err, size_t errlen)
{
	*out = audit_decode(&rogatory__v1__checkpoint_body__descriptor, "checkpoint",
	    chk_checkpoint_fn, buf, len, err, errlen);
	return *out != NULL ? 0 : -1;
}

int
wire_cosignature_body_decode(const uint8_t *buf, size_t len,
    Rogatory__V1__CosignatureBody **out, char *err, size_t errlen)
{
	*out = audit_decode(&rogatory__v1__cosignature_body__descriptor, "cosignature",
	    chk_cosignature_fn, buf, len, err, errlen);
	return *out != NULL ? 0 : -1;
}

int
wire_audit_entry_decode(const uint8_t *buf, size_t len, Rogatory__V1__AuditEntry **out,
    char *err, size_t errlen)
{
	*out = audit_decode(&rogatory__v1__audit_entry__descriptor, "entry", chk_entry_fn, buf,
	    len, err, errlen);
	return *out != NULL ? 0 : -1;
}

void
wire_audit_free(void *m)
{
	release(m);
}

/* ---- the signed directory (section 17) ---- */

static int
check_directory(const Rogatory__V1__Directory *d, const char *at, char *err, size_t errlen)
{
	char sat[64];
	snprintf(sat, sizeof(sat), "%s.signature", at);
	if (chk_len(&d->conf, 1, WIRE_DIRECTORY_MAX, at, "conf", err, errlen) ||
	    chk_present(d->signature, at, "signature", err, errlen) ||
	    chk_signed(d->signature, sat, err, errlen))
		return -1;
	return 0;
}

static int
check_directory_body(const Rogatory__V1__DirectoryBody *b, char *err, size_t errlen)
{
	const char *at = "directory";
	if (chk_sha256(&b->directory_sha256, at, "directory_sha256", err, errlen) ||
	    chk_positive(b->signed_ms, at, "signed_ms", err, errlen))
		return -1;
	return chk_count(b->serial, at, "serial", err, errlen);
}

static int
chk_directory_body_fn(const void *m, char *err, size_t errlen)
{
	return check_directory_body(m, err, errlen);
}

static int
chk_directory_fn(const void *m, char *err, size_t errlen)
{
	return check_directory(m, "directory", err, errlen);
}

static int
chk_signed_fn(const void *m, char *err, size_t errlen)
{
	return chk_signed(m, "signature", err, errlen);
}

int
wire_directory_body_decode(const uint8_t *buf, size_t len, Rogatory__V1__DirectoryBody **out,
    char *err, size_t errlen)
{
	*out = audit_decode(&rogatory__v1__directory_body__descriptor, "directory",
	    chk_directory_body_fn, buf, len, err, errlen);
	return *out != NULL ? 0 : -1;
}

int
wire_directory_decode(const uint8_t *buf, size_t len, Rogatory__V1__Directory **out,
    char *err, size_t errlen)
{
	*out = audit_decode(&rogatory__v1__directory__descriptor, "directory", chk_directory_fn,
	    buf, len, err, errlen);
	return *out != NULL ? 0 : -1;
}

int
wire_signed_object_decode(const uint8_t *buf, size_t len, Rogatory__V1__SignedObject **out,
    char *err, size_t errlen)
{
	*out = audit_decode(&rogatory__v1__signed_object__descriptor, "signature", chk_signed_fn,
	    buf, len, err, errlen);
	return *out != NULL ? 0 : -1;
}

/* Both sides passed validation, so every id printed here is printable ASCII. */
int
wire_transfer_matches(const Rogatory__V1__Transfer *t, const Rogatory__V1__DocumentBody *body,
    char *err, size_t errlen)
{
	static const struct {
		const char *field;
		const char *signed_name;
		size_t t_off;
		size_t b_off;
	} pairs[] = {
		{"message_id", "message id", offsetof(Rogatory__V1__Transfer, message_id),
		    offsetof(Rogatory__V1__DocumentBody, message_id)},
		{"sender_id", "sender", offsetof(Rogatory__V1__Transfer, sender_id),
		    offsetof(Rogatory__V1__DocumentBody, sender_id)},
		{"recipient_id", "recipient", offsetof(Rogatory__V1__Transfer, recipient_id),
		    offsetof(Rogatory__V1__DocumentBody, recipient_id)},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const ProtobufCBinaryData *a =
		    (const void *)((const char *)t + pairs[i].t_off);
		const ProtobufCBinaryData *b =
		    (const void *)((const char *)body + pairs[i].b_off);
		if (!bytes_eq(a, b))
			return err_set(err, errlen,
			    "transfer.%s \"%.*s\" differs from the signed %s \"%.*s\"",
			    pairs[i].field, (int)a->len, (const char *)a->data,
			    pairs[i].signed_name, (int)b->len, (const char *)b->data);
	}
	return 0;
}

/* ---- control socket ---- */

/* The delivery operations (send, queue, show, ...). */
static int
check_ctl_op(const Rogatory__Ctl__V1__Request *r, char *err, size_t errlen)
{
	switch (r->op_case) {
	case ROGATORY__CTL__V1__REQUEST__OP_SEND: {
		const Rogatory__Ctl__V1__SendRequest *q = r->send;
		const char *at = "request.send";
		Rogatory__V1__Kind kind;
		char kbuf[32];
		if (chk_uuid(&q->message_id, false, at, "message_id", err, errlen) ||
		    chk_id(&q->recipient_id, at, "recipient_id", err, errlen) ||
		    chk_text(&q->kind, 1, sizeof(kbuf) - 1, RULE_WORD, at, "kind", err, errlen) ||
		    chk_text(&q->subject, 1, WIRE_SUBJECT_MAX, RULE_LABEL, at, "subject", err,
		        errlen) ||
		    chk_uuid(&q->in_reply_to, true, at, "in_reply_to", err, errlen) ||
		    chk_text(&q->status, 0, 64, RULE_WORD, at, "status", err, errlen))
			return -1;
		snprintf(kbuf, sizeof(kbuf), "%.*s", (int)q->kind.len, (const char *)q->kind.data);
		if (wire_kind_parse(kbuf, &kind) != 0)
			return err_set(err, errlen, "%s.kind: unknown kind \"%s\" (mla, extradition, "
			    "provisional-arrest, asset-recovery, service-of-documents, other)", at, kbuf);
		if (q->respond_by.len > 0 && !text_date_valid(q->respond_by.data, q->respond_by.len))
			return err_set(err, errlen, "%s.respond_by: not a date YYYY-MM-DD", at);
		if (q->n_fields > WIRE_FIELDS_MAX)
			return err_set(err, errlen, "%s.fields: %zu, at most %d", at, q->n_fields,
			    WIRE_FIELDS_MAX);
		for (size_t i = 0; i < q->n_fields; i++) {
			const Rogatory__Ctl__V1__Field *f = q->fields[i];
			if (chk_text(&f->name, 1, WIRE_FIELD_NAME_MAX, RULE_WORD, at, "fields.name",
			        err, errlen) ||
			    chk_text(&f->value, 0, WIRE_FIELD_VALUE_MAX, RULE_PROSE, at,
			        "fields.value", err, errlen))
				return -1;
		}
		if (q->n_attachments > WIRE_ATTACHMENTS_MAX)
			return err_set(err, errlen, "%s.attachments: %zu, at most %d", at,
			    q->n_attachments, WIRE_ATTACHMENTS_MAX);
		for (size_t i = 0; i < q->n_attachments; i++) {
			const Rogatory__Ctl__V1__AttachmentSpec *a = q->attachments[i];
			if (chk_text(&a->name, 1, WIRE_NAME_MAX, RULE_LABEL, at, "attachments.name",
			        err, errlen) ||
			    chk_len(&a->media_type, 1, WIRE_MEDIA_TYPE_MAX, at, "attachments.media_type",
			        err, errlen))
				return -1;
			if (!file_name_valid(&a->name))
				return err_set(err, errlen, "%s.attachments[%zu].name: not a file name (no "
				    "'/', \".\" or \"..\")", at, i);
			if (!media_type_valid(&a->media_type))
				return err_set(err, errlen, "%s.attachments[%zu].media_type: must be "
				    "printable ASCII type/subtype", at, i);
			for (size_t k = 0; k < i; k++)
				if (bytes_eq(&a->name, &q->attachments[k]->name))
					return err_set(err, errlen, "%s.attachments[%zu].name: same as "
					    "attachments[%zu]", at, i, k);
		}
		return 0;
	}
	case ROGATORY__CTL__V1__REQUEST__OP_UPLOAD:
		if (chk_uuid(&r->upload->message_id, false, "request.upload", "message_id", err,
		        errlen) ||
		    chk_len(&r->upload->data, 1, CONTROL_CHUNK_MAX, "request.upload", "data", err,
		        errlen))
			return -1;
		return 0;
	case ROGATORY__CTL__V1__REQUEST__OP_FETCH:
		if (chk_uuid(&r->fetch->message_id, false, "request.fetch", "message_id", err,
		        errlen))
			return -1;
		if (r->fetch->sender_id.len > 0 &&
		    chk_id(&r->fetch->sender_id, "request.fetch", "sender_id", err, errlen))
			return -1;
		return 0;
	case ROGATORY__CTL__V1__REQUEST__OP_FETCHED:
		if (chk_uuid(&r->fetched->message_id, false, "request.fetched", "message_id", err,
		        errlen))
			return -1;
		if (r->fetched->sender_id.len > 0 &&
		    chk_id(&r->fetched->sender_id, "request.fetched", "sender_id", err, errlen))
			return -1;
		return 0;
	case ROGATORY__CTL__V1__REQUEST__OP_QUARANTINE:
		if (r->quarantine->release > (uint64_t)INT64_MAX)
			return err_set(err, errlen, "request.quarantine.release: %llu is not an "
			    "entry id", (unsigned long long)r->quarantine->release);
		return 0;
	case ROGATORY__CTL__V1__REQUEST__OP_AUDIT_VERIFY:
	case ROGATORY__CTL__V1__REQUEST__OP_AUDIT_STATUS:
		return 0;
	case ROGATORY__CTL__V1__REQUEST__OP_AUDIT_PROVE: {
		const Rogatory__Ctl__V1__AuditProveRequest *q = r->audit_prove;
		if ((q->seq == 0) == (q->message_id.len == 0))
			return err_set(err, errlen, "request.audit_prove: give either seq or "
			    "message_id");
		if (q->seq > (uint64_t)INT64_MAX || q->tree_size > (uint64_t)INT64_MAX)
			return err_set(err, errlen, "request.audit_prove: seq %llu or tree_size %llu "
			    "out of range", (unsigned long long)q->seq,
			    (unsigned long long)q->tree_size);
		if ((q->message_id.len > 0 && chk_uuid(&q->message_id, false, "request.audit_prove",
		        "message_id", err, errlen)) ||
		    (q->sender_id.len > 0 && chk_id(&q->sender_id, "request.audit_prove",
		        "sender_id", err, errlen)))
			return -1;
		return 0;
	}
	case ROGATORY__CTL__V1__REQUEST__OP_SHOW:
		return chk_uuid(&r->show->message_id, false, "request.show", "message_id", err, errlen);
	case ROGATORY__CTL__V1__REQUEST__OP_CANCEL:
		return chk_uuid(&r->cancel->message_id, false, "request.cancel", "message_id", err,
		    errlen);
	case ROGATORY__CTL__V1__REQUEST__OP_VERIFY:
		if (chk_uuid(&r->verify->message_id, false, "request.verify", "message_id", err,
		        errlen))
			return -1;
		if (r->verify->sender_id.len > 0 &&
		    chk_id(&r->verify->sender_id, "request.verify", "sender_id", err, errlen))
			return -1;
		return 0;
	case ROGATORY__CTL__V1__REQUEST__OP_EXPORT:
		if (chk_uuid(&r->export->message_id, false, "request.export", "message_id", err,
		        errlen))
			return -1;
		if (r->export->sender_id.len > 0 &&
		    chk_id(&r->export->sender_id, "request.export", "sender_id", err, errlen))
			return -1;
		if (r->export->part > CONTROL_EXPORT_PART_MAX)
			return err_set(err, errlen, "request.export.part: %u, at most %d",
			    r->export->part, CONTROL_EXPORT_PART_MAX);
		return 0;
	case ROGATORY__CTL__V1__REQUEST__OP_CASES:
		if (chk_text(&r->cases->state, 0, 64, RULE_WORD, "request.cases", "state", err,
		        errlen) ||
		    chk_text(&r->cases->kind, 0, 32, RULE_WORD, "request.cases", "kind", err, errlen))
			return -1;
		if (r->cases->peer.len > 0 &&
		    chk_id(&r->cases->peer, "request.cases", "peer", err, errlen))
			return -1;
		return 0;
	case ROGATORY__CTL__V1__REQUEST__OP_CASE_GET:
		if (chk_uuid(&r->case_get->request_id, false, "request.case_get", "request_id", err,
		        errlen))
			return -1;
		if (r->case_get->requester_id.len > 0 &&
		    chk_id(&r->case_get->requester_id, "request.case_get", "requester_id", err,
		        errlen))
			return -1;
		return 0;
	case ROGATORY__CTL__V1__REQUEST__OP_AUTHORITY:
		return chk_id(&r->authority->authority_id, "request.authority", "authority_id", err,
		    errlen);
	case ROGATORY__CTL__V1__REQUEST__OP_DIRECTORY:
		if (r->directory->authority_id.len == 0)
			return 0;
		return chk_id(&r->directory->authority_id, "request.directory", "authority_id", err,
		    errlen);
	case ROGATORY__CTL__V1__REQUEST__OP_STATS: {
		const Rogatory__Ctl__V1__StatsRequest *q = r->stats;
		if (chk_id_opt(&q->peer, "request.stats", "peer", err, errlen))
			return -1;
		if (q->since_us < 0 || q->until_us < 0)
			return err_set(err, errlen, "request.stats: since_us and until_us must not be "
			    "negative");
		if (q->since_us > 0 && q->until_us > 0 && q->until_us <= q->since_us)
			return err_set(err, errlen, "request.stats: until_us (%lld) must be after "
			    "since_us (%lld)", (long long)q->until_us, (long long)q->since_us);
		return 0;
	}
	default:
		return check_ctl_operator(r, err, errlen);
	}
}

/* [a-z0-9-]{min,max}: a state or event name (the daemon says which names exist). */
static int
chk_name(const ProtobufCBinaryData *b, size_t min, size_t max, const char *at,
    const char *name, char *err, size_t errlen)
{
	if (chk_len(b, min, max, at, name, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < b->len; i++) {
		uint8_t ch = b->data[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return err_set(err, errlen, "%s.%s: not a name (a-z, 0-9 and '-')", at, name);
	}
	return 0;
}

/* An authority id that may be left empty (a filter that is not set). */
static int
chk_id_opt(const ProtobufCBinaryData *b, const char *at, const char *name, char *err,
    size_t errlen)
{
	return b->len == 0 ? 0 : chk_id(b, at, name, err, errlen);
}

/* The operators' requests: filters of the listings, bulk retry, pause/resume. */
static int
check_ctl_operator(const Rogatory__Ctl__V1__Request *r, char *err, size_t errlen)
{
	switch (r->op_case) {
	case ROGATORY__CTL__V1__REQUEST__OP_QUEUE:
		return chk_id_opt(&r->queue->peer, "request.queue", "peer", err, errlen) ||
		    chk_name(&r->queue->state, 0, 15, "request.queue", "state", err, errlen) ? -1 : 0;
	case ROGATORY__CTL__V1__REQUEST__OP_INBOX:
		return chk_id_opt(&r->inbox->peer, "request.inbox", "peer", err, errlen);
	case ROGATORY__CTL__V1__REQUEST__OP_LOG: {
		const Rogatory__Ctl__V1__LogRequest *q = r->log;
		if (chk_id_opt(&q->peer, "request.log", "peer", err, errlen) ||
		    chk_uuid(&q->message_id, true, "request.log", "message_id", err, errlen) ||
		    chk_name(&q->event, 0, 31, "request.log", "event", err, errlen))
			return -1;
		if (q->since_us < 0 || q->until_us < 0)
			return err_set(err, errlen, "request.log: since_us and until_us must not be "
			    "negative");
		return 0;
	}
	case ROGATORY__CTL__V1__REQUEST__OP_RETRY: {
		const Rogatory__Ctl__V1__RetryRequest *q = r->retry;
		int set = (q->message_id.len > 0) + (q->peer.len > 0) + (q->all_failed ? 1 : 0);
		if (set != 1)
			return err_set(err, errlen, "request.retry: exactly one of message_id, peer "
			    "and all_failed (%d given)", set);
		return chk_uuid(&q->message_id, true, "request.retry", "message_id", err, errlen) ||
		    chk_id_opt(&q->peer, "request.retry", "peer", err, errlen) ? -1 : 0;
	}
	case ROGATORY__CTL__V1__REQUEST__OP_PAUSE:
		return chk_id(&r->pause->authority_id, "request.pause", "authority_id", err, errlen);
	case ROGATORY__CTL__V1__REQUEST__OP_RESUME:
		return chk_id(&r->resume->authority_id, "request.resume", "authority_id", err,
		    errlen);
	case ROGATORY__CTL__V1__REQUEST__OP_RELOAD:
	case ROGATORY__CTL__V1__REQUEST__OP_ALERTS:
		return 0;
	default:
		return check_ctl_console(r, err, errlen);
	}
}

/* A token of the web console: 32 lowercase hex digits (128 bits); empty when optional. */
static int
chk_token(const ProtobufCBinaryData *b, bool optional, const char *at, const char *name,
    char *err, size_t errlen)
{
	if (optional && b->len == 0)
		return 0;
	if (b->len != 32)
		return err_set(err, errlen, "%s.%s: %zu bytes, a token is 32 lowercase hex digits",
		    at, name, b->len);
	for (size_t i = 0; i < b->len; i++) {
		uint8_t ch = b->data[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return err_set(err, errlen, "%s.%s: not lowercase hex", at, name);
	}
	return 0;
}

/* [A-Za-z0-9._-]{1,32}: the name a console session acts for. */
static int
chk_console_name(const ProtobufCBinaryData *b, const char *at, char *err, size_t errlen)
{
	if (b->len < 1 || b->len > 32)
		return err_set(err, errlen, "%s.name: %zu bytes, 1 to 32", at, b->len);
	for (size_t i = 0; i < b->len; i++) {
		uint8_t ch = b->data[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		        (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return err_set(err, errlen, "%s.name: only letters, digits, '.', '_' and '-'",
			    at);
	}
	return 0;
}

/* The web console: its sessions' requests and the messages list. */
static int
check_ctl_console(const Rogatory__Ctl__V1__Request *r, char *err, size_t errlen)
{
	switch (r->op_case) {
	case ROGATORY__CTL__V1__REQUEST__OP_MESSAGES: {
		const Rogatory__Ctl__V1__MessagesRequest *q = r->messages;
		const char *at = "request.messages";
		if (q->direction.len > 0 && !bytes_is(&q->direction, "in") &&
		    !bytes_is(&q->direction, "out"))
			return err_set(err, errlen, "%s.direction: \"in\", \"out\" or empty", at);
		if (chk_id_opt(&q->peer, at, "peer", err, errlen) ||
		    chk_name(&q->state, 0, 15, at, "state", err, errlen) ||
		    chk_len(&q->id_prefix, 0, UUID_TEXT_LEN, at, "id_prefix", err, errlen))
			return -1;
		for (size_t i = 0; i < q->id_prefix.len; i++) {
			uint8_t ch = q->id_prefix.data[i];
			if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || ch == '-'))
				return err_set(err, errlen, "%s.id_prefix: only 0-9, a-f and '-'", at);
		}
		if (q->before > (uint64_t)INT64_MAX)
			return err_set(err, errlen, "%s.before: not a cursor", at);
		return 0;
	}
	case ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_LOGIN: {
		const Rogatory__Ctl__V1__ConsoleLoginRequest *q = r->console_login;
		if (chk_console_name(&q->name, "request.console_login", err, errlen) != 0)
			return -1;
		if (!bytes_is(&q->role, "viewer") && !bytes_is(&q->role, "officer") &&
		    !bytes_is(&q->role, "operator"))
			return err_set(err, errlen, "request.console_login.role: viewer, officer or "
			    "operator");
		return 0;
	}
	case ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_REDEEM:
		/* Any token up to 64 bytes: what is not a live one is answered "login-invalid",
		 * like a used or expired one. */
		return chk_len(&r->console_redeem->token, 1, 64, "request.console_redeem", "token",
		    err, errlen);
	case ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_REVOKE:
		return chk_console_name(&r->console_revoke->name, "request.console_revoke", err,
		    errlen);
	case ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_WHOAMI:
	case ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_SESSIONS:
	case ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_LOGOUT:
		return 0;
	default:
		return err_set(err, errlen, "request: no operation set");
	}
}

int
wire_ctl_request_decode(const uint8_t *buf, size_t len, Rogatory__Ctl__V1__Request **out,
    char *err, size_t errlen)
{
	return wire_ctl_request_decode_id(buf, len, out, NULL, err, errlen);
}

int
wire_ctl_request_decode_id(const uint8_t *buf, size_t len, Rogatory__Ctl__V1__Request **out,
    uint64_t *request_id, char *err, size_t errlen)
{
	char path[PATH_MAX_LEN] = "request";
	*out = NULL;
	if (request_id != NULL)
		*request_id = 0;
	Rogatory__Ctl__V1__Request *r = (Rogatory__Ctl__V1__Request *)unpack(
	    &rogatory__ctl__v1__request__descriptor, buf, len, "request", err, errlen);
	if (r == NULL)
		return -1;
	/* Unpacked: the id is the client's from here on, valid or not (the answer to a
	 * refused request must reach the client's pending entry for it). */
	if (request_id != NULL)
		*request_id = r->request_id;
	/* The version first: a newer client's request is expected to hold fields we do
	 * not know, and "unsupported version" is the answer it can act on. */
	if (r->version != CONTROL_PROTOCOL_VERSION) {
		err_set(err, errlen,
		    "unsupported control protocol version %u (this daemon speaks %u)", r->version,
		    CONTROL_PROTOCOL_VERSION);
		goto fail;
	}
	if (check_structure(&r->base, path, sizeof(path), err, errlen) != 0)
		goto fail;
	/* The console's tokens: exact form, and a CSRF token only with its session. */
	if (chk_token(&r->session, true, "request", "session", err, errlen) != 0 ||
	    chk_token(&r->csrf, true, "request", "csrf", err, errlen) != 0)
		goto fail;
	if (r->csrf.len > 0 && r->session.len == 0) {
		err_set(err, errlen, "request.csrf: given without a session");
		goto fail;
	}
	switch (r->op_case) {
	case ROGATORY__CTL__V1__REQUEST__OP_STATUS:
	case ROGATORY__CTL__V1__REQUEST__OP_PEERS:
		break;
	case ROGATORY__CTL__V1__REQUEST__OP_CONNECT:
		if (chk_id(&r->connect->authority_id, "request.connect", "authority_id", err,
		        errlen))
			goto fail;
		break;
	case ROGATORY__CTL__V1__REQUEST__OP_CRL_INSTALL:
		if (chk_len(&r->crl_install->der, 1, WIRE_CRL_MAX, "request.crl_install", "der",
		        err, errlen))
			goto fail;
		break;
	default:
		if (check_ctl_op(r, err, errlen) != 0)
			goto fail;
		break;
	}
	*out = r;
	return 0;
fail:
	release(r);
	return -1;
}

void
wire_ctl_request_free(Rogatory__Ctl__V1__Request *r)
{
	release(r);
}

int
wire_ctl_reply_decode(const uint8_t *buf, size_t len, Rogatory__Ctl__V1__Reply **out,
    char *err, size_t errlen)
{
	char path[PATH_MAX_LEN] = "reply";
	*out = NULL;
	Rogatory__Ctl__V1__Reply *r = (Rogatory__Ctl__V1__Reply *)unpack(
	    &rogatory__ctl__v1__reply__descriptor, buf, len, "reply", err, errlen);
	if (r == NULL)
		return -1;
	if (check_structure(&r->base, path, sizeof(path), err, errlen) != 0 ||
	    chk_set(r->code, "reply", "code", err, errlen) != 0)
		goto fail;
	if (r->error_code.len > 0 &&
	    !text_code_valid(r->error_code.data, r->error_code.len, WIRE_CTL_CODE_MAX)) {
		err_set(err, errlen, "reply.error_code: must be [a-z0-9-]{1,%u}",
		    WIRE_CTL_CODE_MAX);
		goto fail;
	}
	if (chk_utf8(&r->error_text, 0, WIRE_TEXT_MAX, "reply", "error_text", err, errlen) ||
	    chk_utf8(&r->json, 0, FRAME_CONTROL_MAX, "reply", "json", err, errlen))
		goto fail;
	*out = r;
	return 0;
fail:
	release(r);
	return -1;
}

void
wire_ctl_reply_free(Rogatory__Ctl__V1__Reply *r)
{
	release(r);
}

/* ---- enum names: one table per enum, indexed by value ---- */

static const char *const kind_names[] = {
	"unspecified", "mla", "extradition", "provisional-arrest", "asset-recovery",
	"service-of-documents", "other",
};

static const char *const error_code_names[] = {
	"unspecified", "try-later", "bad-frame", "frame-too-large", "bad-hello",
	"no-common-version", "wrong-identity", "unknown-authority", "protocol",
	"shutting-down", "crl-only", "certificate",
};

static const char *const status_names[] = {
	"unspecified", "acknowledged", "in-progress", "additional-information-requested",
	"postponed", "executed", "partially-executed", "refused", "progress-inquiry",
	"withdrawn", "consultation", "additional-information", "conditions-accepted",
	"conditions-declined",
};

static const char *const doc_type_names[] = {"unspecified", "request", "status"};
static const char *const outcome_names[] = {"unspecified", "accepted", "rejected"};

#define NAME_OF(table, v) \
	((unsigned)(v) < sizeof(table) / sizeof((table)[0]) ? (table)[(unsigned)(v)] : "unknown")

static int
name_parse(const char *const *table, size_t n, const char *s)
{
	/* Index 0 is *_UNSPECIFIED, never a value one may ask for. */
	for (size_t i = 1; i < n; i++)
		if (strcmp(table[i], s) == 0)
			return (int)i;
	return -1;
}

const char *
wire_kind_name(Rogatory__V1__Kind k)
{
	return NAME_OF(kind_names, k);
}

int
wire_kind_parse(const char *s, Rogatory__V1__Kind *out)
{
	int v = name_parse(kind_names, sizeof(kind_names) / sizeof(kind_names[0]), s);
	if (v < 0)
		return -1;
	*out = (Rogatory__V1__Kind)v;
	return 0;
}

const char *
wire_error_code_name(Rogatory__V1__ErrorCode c)
{
	return NAME_OF(error_code_names, c);
}

const char *
wire_status_name(Rogatory__V1__Status s)
{
	return NAME_OF(status_names, s);
}

int
wire_status_parse(const char *s, Rogatory__V1__Status *out)
{
	int v = name_parse(status_names, sizeof(status_names) / sizeof(status_names[0]), s);
	if (v < 0)
		return -1;
	*out = (Rogatory__V1__Status)v;
	return 0;
}

const char *
wire_doc_type_name(Rogatory__V1__DocType t)
{
	return NAME_OF(doc_type_names, t);
}

const char *
wire_outcome_name(Rogatory__V1__Outcome o)
{
	return NAME_OF(outcome_names, o);
}
