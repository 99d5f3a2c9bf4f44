/*
 * fakepeer: a scriptable peer for integration tests (never installed). It speaks TLS
 * with blocking OpenSSL and the project's own frame/wire code, and can misbehave on
 * purpose: a wrong Hello, an oversized length, garbage, plaintext, or silence. It
 * prints one line per event ("tls-ok subject=... group=... peer-certs=N ca-names=N":
 * the key-exchange group, how many certificates the daemon sent, how many CA names its
 * CertificateRequest carried; "recv hello id=...", "recv error code=... text=...",
 * "recv receipt sha=<body> all=<body, signature, certificate> signer=... outcome=...
 * reason=CODE why=TEXT", "closed ...", "app-bytes N") for the tests to match; text from
 * the daemon is printed terminal-safe.
 *
 *   fakepeer connect HOST PORT [options]   dial a daemon
 *   fakepeer listen PORT [options]         accept one connection (counts app bytes)
 * options:
 *   --cert F --key F --ca F   TLS credentials (omit --cert/--key: no client cert)
 *   --groups LIST             offer only these key-exchange groups ("ffdhe8192",
 *                             "X25519", "P-256", colon-separated)
 *   --plain                   no TLS at all: send --send-text as raw bytes
 *   --send-text S             bytes to send (plain mode)
 *   --hello-id ID             Hello authority id (default: none sent)
 *   --versions A:B            Hello version range (default 1:1)
 *   --after-hello MODE        after our Hello: "none", "oversize" (announce 2^31 bytes),
 *                             "garbage" (a 16-byte frame of 0xff), "ping", "transfer",
 *                             "chunk" (64 KiB of a message no Transfer announced)
 *                             (a well-formed Transfer with a junk signature)
 *   --crl-number N            Hello crl_number (default 0)
 *   --clock-skew-ms N         Hello time_ms off by N ms (default 0; may be negative)
 *   --wait-ms N               how long to keep reading (default 2000)
 *   --until FRAME             stop reading after the first frame of that kind (hello,
 *                             error, receipt, pong, crl): --wait-ms is then a deadline
 *   --transfer-to ID          after Hello, send one signed Transfer (signed with
 *                             --cert/--key, or --sign-cert/--sign-key when given;
 *                             sender = --hello-id) to authority ID
 *   --repeat N                send that same Transfer N times back to back (default 1)
 *   --repeat-after F          send the first copy, then the others once file F exists
 *   --kind K                  its kind (default other)
 *   --id UUID                 its message id (default: a new one)
 *   --status S --reply-to ID  a status document about request ID (default: a request)
 *   --sequence N              its sequence number (default 1 with --status)
 *   --field NAME=VALUE        a content field, as given (up to 8)
 *   --subject S               its subject (default "fakepeer transfer"); \xHH escapes
 *                             are decoded, so a test can send ESC, BEL, C1 or bidi bytes
 *   --attach-name N           a manifest entry of 0 bytes (no chunk follows) with this
 *                             name, \xHH decoded like --subject
 *   --receipt MODE            listen mode: answer each Transfer with a receipt signed
 *                             with --cert/--key: "good", "wrong-hash", "unknown-id", or
 *                             "wrong-signer" (signed with --sign-cert/--sign-key),
 *                             or "none" (never answer a Transfer, but answer Pings)
 *   --no-read                 after the Hello exchange, stop reading altogether (a peer
 *                             that stalls: the daemon's writes pile up) until --wait-ms
 *   --flood N                 with --transfer-to, connect mode: N Transfers as fast as
 *                             the socket takes them, never reading; writing stops when
 *                             the socket took nothing for --stall-ms (default 2000), the
 *                             daemon closed, or at --wait-ms; prints "flood wrote K of N
 *                             frames (done|stalled|closed) in T ms", then holds the
 *                             connection, still not reading, until --wait-ms
 *   --distinct                with --flood: a new document (id, signature) each time
 *   --body-bytes B            pad each flood or paced document with fields to about B
 *                             bytes
 *   --paced W                 with --transfer-to and --repeat N: the same Transfer N
 *                             times, W at a time, reading the W answers between rounds
 *                             (a peer that keeps the window and resends for ever);
 *                             prints "paced sent=N receipts=R distinct=D accepted=A
 *                             rejected=J try-later=L"
 *   --retrieval-of ID         after Hello, send one signed Retrieval (PROTOCOL.md
 *                             section 16) about message ID, signed with --cert/--key
 *                             (retriever = --hello-id), naming --retrieval-sender as
 *                             the message's sender and --retrieval-hash (64 hex digits;
 *                             default all zero) as its payload hash; prints
 *                             "recv retrieval-receipt outcome=... reason=CODE why=TEXT"
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "evidence.h"
#include "frame.h"
#include "termsafe.h"
#include "text.h"
#include "wire.h"

struct opts {
	const char *cert, *key, *ca;
	const char *groups;
	bool plain;
	const char *send_text;
	const char *hello_id;
	unsigned vmin, vmax;
	long long skew_ms;
	const char *after;
	int wait_ms;
	int until;            /* --until: an envelope case; 0 = read for wait_ms */
	unsigned long long crl_number;
	const char *transfer_to;
	int repeat;
	const char *repeat_after;
	const char *kind;
	const char *id, *status, *reply_to;
	unsigned long long sequence;
	const char *fields[8];
	int nfields;
	const char *subject, *attach_name;
	const char *receipt;
	const char *sign_cert, *sign_key;
	bool no_read;
	int flood, stall_ms, body_bytes, paced;
	bool distinct;
	const char *retrieval_of, *retrieval_sender, *retrieval_hash;
};

static long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
tcp_connect(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	int fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
tcp_accept_one(const char *port)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 1) != 0) {
		perror("fakepeer: listen");
		return -1;
	}
	printf("listening %s\n", port);
	fflush(stdout);
	int fd = accept(ls, NULL, NULL);
	close(ls);
	return fd;
}

static int
accept_any(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

static SSL_CTX *
make_ctx(const struct opts *o, bool server)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	if (o->cert && SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1)
		fprintf(stderr, "fakepeer: cannot load %s\n", o->cert);
	if (o->key && SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1)
		fprintf(stderr, "fakepeer: cannot load %s\n", o->key);
	if (o->ca)
		SSL_CTX_load_verify_file(ctx, o->ca);
	if (o->groups && SSL_CTX_set1_groups_list(ctx, o->groups) != 1)
		fprintf(stderr, "fakepeer: cannot offer groups %s\n", o->groups);
	/* The test peer looks at what the daemon does; it does not judge the daemon's
	 * certificate, so a deviant certificate on either side still connects. As a
	 * server it asks for the client's certificate (to see it) and accepts any. */
	if (server)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

static int
ssl_write_all(SSL *ssl, const void *p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		int w = SSL_write(ssl, (const char *)p + done, (int)(n - done));
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

static int
send_env(SSL *ssl, const Rogatory__V1__Envelope *env)
{
	size_t n = protobuf_c_message_get_packed_size(&env->base);
	uint8_t *buf = malloc(FRAME_HEADER_LEN + n);
	frame_header_put(buf, (uint32_t)n);
	protobuf_c_message_pack(&env->base, buf + FRAME_HEADER_LEN);
	int rc = ssl_write_all(ssl, buf, FRAME_HEADER_LEN + n);
	free(buf);
	return rc;
}

static void
send_hello(SSL *ssl, const struct opts *o)
{
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Hello h = ROGATORY__V1__HELLO__INIT;
	h.authority_id.data = (uint8_t *)o->hello_id;
	h.authority_id.len = strlen(o->hello_id);
	h.min_version = o->vmin;
	h.max_version = o->vmax;
	h.software.data = (uint8_t *)"fakepeer";
	h.software.len = 8;
	h.max_message_size = 64u << 20;
	h.max_frame = FRAME_PEER_MAX_DEFAULT;
	h.window = 64;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	h.time_ms = (int64_t)ts.tv_sec * 1000 + o->skew_ms;
	h.crl_number = o->crl_number;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_HELLO;
	env.hello = &h;
	send_env(ssl, &env);
	printf("sent hello id=%s versions=%u:%u\n", o->hello_id, o->vmin, o->vmax);
}

/* A Transfer that passes the frame validator (its signature is not a real one): what a
 * CRL-only link must refuse before anyone looks at the document. */
static void
send_transfer(SSL *ssl)
{
	static uint8_t junk[] = "rogatory/document/v1";
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Transfer t = ROGATORY__V1__TRANSFER__INIT;
	Rogatory__V1__SignedObject so = ROGATORY__V1__SIGNED_OBJECT__INIT;
	t.message_id.data = (uint8_t *)"3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b";
	t.message_id.len = 36;
	t.sender_id.data = (uint8_t *)"FR-MJ";
	t.sender_id.len = 5;
	t.recipient_id.data = (uint8_t *)"BD-ACC";
	t.recipient_id.len = 6;
	so.body.data = so.signature.data = so.signer_certificate.data = junk;
	so.body.len = so.signature.len = so.signer_certificate.len = sizeof(junk) - 1;
	t.document = &so;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_TRANSFER;
	env.transfer = &t;
	send_env(ssl, &env);
	printf("sent transfer\n");
}

static void
after_hello(SSL *ssl, const char *mode)
{
	if (strcmp(mode, "oversize") == 0) {
		uint8_t hdr[4] = {0x7f, 0xff, 0xff, 0xff};
		ssl_write_all(ssl, hdr, 4);
		printf("sent oversize header\n");
	} else if (strcmp(mode, "garbage") == 0) {
		uint8_t buf[20] = {0, 0, 0, 16};
		memset(buf + 4, 0xff, 16);
		ssl_write_all(ssl, buf, sizeof(buf));
		printf("sent garbage frame\n");
	} else if (strcmp(mode, "ping") == 0) {
		Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
		Rogatory__V1__Ping p = ROGATORY__V1__PING__INIT;
		p.nonce = 42;
		env.msg_case = ROGATORY__V1__ENVELOPE__MSG_PING;
		env.ping = &p;
		send_env(ssl, &env);
		printf("sent ping\n");
	} else if (strcmp(mode, "transfer") == 0) {
		send_transfer(ssl);
	} else if (strcmp(mode, "chunk") == 0) {
		/* 64 KiB of attachment for a message no Transfer announced. */
		static uint8_t data[65536];
		Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
		Rogatory__V1__Chunk c = ROGATORY__V1__CHUNK__INIT;
		c.message_id.data = (uint8_t *)"6b1c9d2e-4f3a-4b5c-8d6e-7f8091a2b3c4";
		c.message_id.len = 36;
		c.offset = 4096;
		c.data.data = data;
		c.data.len = sizeof(data);
		env.msg_case = ROGATORY__V1__ENVELOPE__MSG_CHUNK;
		env.chunk = &c;
		send_env(ssl, &env);
		printf("sent chunk\n");
	}
	fflush(stdout);
}

/* --repeat-after: polls for the file the test creates; false when ms passed first. */
static bool
wait_for_file(const char *path, int ms)
{
	long deadline = now_ms() + ms;
	while (access(path, F_OK) != 0) {
		if (now_ms() >= deadline) {
			printf("no %s within %d ms\n", path, ms);
			return false;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return true;
}

/* SHA-256 over a signed object's body, signature and certificate, each after its
 * length: two receipts are the same bytes when these are equal. */
static void
signed_object_digest(const Rogatory__V1__SignedObject *so, uint8_t out[32])
{
	const ProtobufCBinaryData *part[] = {&so->body, &so->signature, &so->signer_certificate};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t i = 0; i < 3; i++) {
		uint8_t len[4] = {(uint8_t)(part[i]->len >> 24), (uint8_t)(part[i]->len >> 16),
		    (uint8_t)(part[i]->len >> 8), (uint8_t)part[i]->len};
		EVP_DigestUpdate(md, len, sizeof(len));
		EVP_DigestUpdate(md, part[i]->data, part[i]->len);
	}
	EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
}

/* in with each \xHH replaced by that byte, into out (as long as in at most). */
static size_t
unescape(const char *in, char *out)
{
	size_t n = 0;
	for (const char *p = in; *p != '\0'; p++) {
		unsigned v;
		if (p[0] == '\\' && p[1] == 'x' && isxdigit((unsigned char)p[2]) &&
		    isxdigit((unsigned char)p[3]) && sscanf(p + 2, "%2x", &v) == 1) {
			out[n++] = (char)v;
			p += 3;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return n;
}

/* --id, or a new random id. */
static void
doc_id(const struct opts *o, char id[UUID_TEXT_LEN + 1])
{
	if (o->id != NULL)
		snprintf(id, UUID_TEXT_LEN + 1, "%s", o->id);
	else
		text_uuid_random(id);
}

/* A request from --hello-id to --transfer-to with id, made now, of kind --kind. */
static void
doc_head(Rogatory__V1__DocumentBody *b, const struct opts *o, const char *id)
{
	Rogatory__V1__Kind kind = ROGATORY__V1__KIND__KIND_OTHER;
	wire_kind_parse(o->kind ? o->kind : "other", &kind);
	b->message_id.data = (uint8_t *)id;
	b->message_id.len = strlen(id);
	b->sender_id.data = (uint8_t *)o->hello_id;
	b->sender_id.len = strlen(o->hello_id);
	b->recipient_id.data = (uint8_t *)o->transfer_to;
	b->recipient_id.len = strlen(o->transfer_to);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	b->created_ms = (int64_t)ts.tv_sec * 1000;
	b->kind = kind;
	b->doc_type = ROGATORY__V1__DOC_TYPE__DOC_TYPE_REQUEST;
	if (o->status != NULL && o->reply_to != NULL) {
		b->doc_type = ROGATORY__V1__DOC_TYPE__DOC_TYPE_STATUS;
		wire_status_parse(o->status, &b->status);
		b->in_reply_to.data = (uint8_t *)o->reply_to;
		b->in_reply_to.len = strlen(o->reply_to);
		b->sequence = o->sequence > 0 ? o->sequence : 1;
	}
}

/* The frame (header included) of a Transfer carrying signed body b (malloc'd). */
static uint8_t *
transfer_pack(const Rogatory__V1__DocumentBody *b, const struct signed_object *so, size_t *len)
{
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Transfer t = ROGATORY__V1__TRANSFER__INIT;
	Rogatory__V1__SignedObject sob;
	t.message_id = b->message_id;
	t.sender_id = b->sender_id;
	t.recipient_id = b->recipient_id;
	wire_signed_object_set(&sob, so->body, so->body_len, so->signature, so->signature_len,
	    so->cert, so->cert_len);
	t.document = &sob;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_TRANSFER;
	env.transfer = &t;
	size_t n = protobuf_c_message_get_packed_size(&env.base);
	uint8_t *out = malloc(FRAME_HEADER_LEN + n);
	if (out == NULL) {
		fprintf(stderr, "fakepeer: out of memory\n");
		exit(1);
	}
	frame_header_put(out, (uint32_t)n);
	protobuf_c_message_pack(&env.base, out + FRAME_HEADER_LEN);
	*len = FRAME_HEADER_LEN + n;
	return out;
}

/* A real signed document from our credentials, sent repeat times unchanged. */
static void
send_transfers(SSL *ssl, const struct opts *o)
{
	struct evidence_signer *signer = NULL;
	char err[256], id[UUID_TEXT_LEN + 1];
	if (evidence_signer_load(o->sign_cert ? o->sign_cert : o->cert,
	        o->sign_key ? o->sign_key : o->key, &signer, err, sizeof(err)) != 0) {
		printf("signer-failed %s\n", err);
		return;
	}
	doc_id(o, id);
	Rogatory__V1__DocumentBody b = ROGATORY__V1__DOCUMENT_BODY__INIT;
	Rogatory__V1__Content c = ROGATORY__V1__CONTENT__INIT;
	doc_head(&b, o, id);
	static char subject[2048], aname[1024];
	c.subject.data = (uint8_t *)subject;
	c.subject.len = unescape(o->subject ? o->subject : "fakepeer transfer", subject);
	Rogatory__V1__Field fv[8], *fp[8];
	for (int i = 0; i < o->nfields; i++) {
		const char *eq = strchr(o->fields[i], '=');
		rogatory__v1__field__init(&fv[i]);
		fv[i].name.data = (uint8_t *)o->fields[i];
		fv[i].name.len = eq ? (size_t)(eq - o->fields[i]) : strlen(o->fields[i]);
		fv[i].value.data = (uint8_t *)(eq ? eq + 1 : "");
		fv[i].value.len = eq ? strlen(eq + 1) : 0;
		fp[i] = &fv[i];
	}
	c.n_fields = (size_t)o->nfields;
	c.fields = fp;
	b.content = &c;
	Rogatory__V1__Attachment att = ROGATORY__V1__ATTACHMENT__INIT;
	Rogatory__V1__Attachment *atts[1] = {&att};
	static uint8_t empty_sha[SHA256_DIGEST_LENGTH];
	if (o->attach_name != NULL) {
		SHA256((const unsigned char *)"", 0, empty_sha);
		att.name.data = (uint8_t *)aname;
		att.name.len = unescape(o->attach_name, aname);
		att.media_type.data = (uint8_t *)"application/pdf";
		att.media_type.len = 15;
		att.sha256.data = empty_sha;
		att.sha256.len = sizeof(empty_sha);
		b.n_attachments = 1;
		b.attachments = atts;
	}
	struct signed_object so = {0};
	if (evidence_sign_document(signer, &b, &so, err, sizeof(err)) != 0) {
		printf("sign-failed %s\n", err);
		evidence_signer_free(signer);
		return;
	}
	size_t flen = 0;
	uint8_t *frame = transfer_pack(&b, &so, &flen);
	for (int i = 0; i < (o->repeat > 0 ? o->repeat : 1); i++) {
		if (i == 1 && o->repeat_after != NULL && !wait_for_file(o->repeat_after, o->wait_ms))
			break;
		ssl_write_all(ssl, frame, flen);
		if (i == 0 && o->repeat_after != NULL) {
			printf("sent first copy id=%s\n", id);
			fflush(stdout);
		}
	}
	printf("sent transfer id=%s times=%d\n", id, o->repeat > 0 ? o->repeat : 1);
	fflush(stdout);
	free(frame);
	signed_object_clear(&so);
	evidence_signer_free(signer);
}

/* --retrieval-of: one signed Retrieval from our credentials. */
static void
send_retrieval(SSL *ssl, const struct opts *o)
{
	struct evidence_signer *signer = NULL;
	char err[256];
	if (evidence_signer_load(o->cert, o->key, &signer, err, sizeof(err)) != 0) {
		printf("signer-failed %s\n", err);
		return;
	}
	uint8_t hash[32] = {0};
	for (size_t i = 0; o->retrieval_hash != NULL && i < 32 &&
	    strlen(o->retrieval_hash) == 64; i++)
		sscanf(o->retrieval_hash + 2 * i, "%2hhx", &hash[i]);
	Rogatory__V1__RetrievalBody b = ROGATORY__V1__RETRIEVAL_BODY__INIT;
	Rogatory__V1__Actor who = ROGATORY__V1__ACTOR__INIT;
	const char *sender = o->retrieval_sender ? o->retrieval_sender : "BD-ACC";
	b.message_id.data = (uint8_t *)o->retrieval_of;
	b.message_id.len = strlen(o->retrieval_of);
	b.sender_id.data = (uint8_t *)sender;
	b.sender_id.len = strlen(sender);
	b.retriever_id.data = (uint8_t *)evidence_signer_id(signer);
	b.retriever_id.len = strlen(evidence_signer_id(signer));
	b.payload_sha256.data = hash;
	b.payload_sha256.len = sizeof(hash);
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	b.retrieved_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
	who.uid = 4242;
	who.user.data = (uint8_t *)"fakepeer";
	who.user.len = 8;
	b.fetched_by = &who;
	struct signed_object so = {0};
	if (evidence_sign_retrieval(signer, &b, &so, err, sizeof(err)) != 0) {
		printf("sign-failed %s\n", err);
		evidence_signer_free(signer);
		return;
	}
	Rogatory__V1__SignedObject sob;
	wire_signed_object_set(&sob, so.body, so.body_len, so.signature, so.signature_len,
	    so.cert, so.cert_len);
	Rogatory__V1__Retrieval rt = ROGATORY__V1__RETRIEVAL__INIT;
	rt.evidence = &sob;
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_RETRIEVAL;
	env.retrieval = &rt;
	size_t n = protobuf_c_message_get_packed_size(&env.base);
	uint8_t *frame = malloc(FRAME_HEADER_LEN + n);
	if (frame == NULL)
		exit(1);
	frame_header_put(frame, (uint32_t)n);
	protobuf_c_message_pack(&env.base, frame + FRAME_HEADER_LEN);
	ssl_write_all(ssl, frame, FRAME_HEADER_LEN + n);
	printf("sent retrieval id=%s\n", o->retrieval_of);
	fflush(stdout);
	free(frame);
	signed_object_clear(&so);
	evidence_signer_free(signer);
}

/* One signed Transfer from our credentials to --transfer-to, a new id each call, padded
 * with fields to about --body-bytes: the whole frame (header included) in *out. */
static int
transfer_frame(const struct evidence_signer *signer, const struct opts *o, uint8_t **out,
    size_t *outlen)
{
	char err[256], id[UUID_TEXT_LEN + 1];
	enum { FIELD_MAX = 60000 };
	static uint8_t pad[FIELD_MAX];
	memset(pad, 'p', sizeof(pad));
	doc_id(o, id);
	Rogatory__V1__DocumentBody b = ROGATORY__V1__DOCUMENT_BODY__INIT;
	Rogatory__V1__Content c = ROGATORY__V1__CONTENT__INIT;
	Rogatory__V1__Field fields[64], *fp[64];
	doc_head(&b, o, id);
	c.subject.data = (uint8_t *)"fakepeer flood";
	c.subject.len = 14;
	for (int left = o->body_bytes; left > 0 && c.n_fields < 64; left -= FIELD_MAX) {
		Rogatory__V1__Field *f = &fields[c.n_fields];
		rogatory__v1__field__init(f);
		f->name.data = (uint8_t *)"pad";
		f->name.len = 3;
		f->value.data = pad;
		f->value.len = left < FIELD_MAX ? (size_t)left : FIELD_MAX;
		fp[c.n_fields++] = f;
	}
	c.fields = fp;
	b.content = &c;
	struct signed_object so = {0};
	if (evidence_sign_document(signer, &b, &so, err, sizeof(err)) != 0) {
		printf("sign-failed %s\n", err);
		return -1;
	}
	*out = transfer_pack(&b, &so, outlen);
	signed_object_clear(&so);
	return 0;
}

static int recv_env(SSL *ssl, int fd, int ms, Rogatory__V1__Envelope **env);

/* Writes a copy of frame and reads until its receipt (or an Error) comes: 0, or -1. */
static int
send_and_await_answer(SSL *ssl, int fd, const uint8_t *frame, size_t len, int ms)
{
	if (ssl_write_all(ssl, frame, len) != 0)
		return -1;
	for (;;) {
		Rogatory__V1__Envelope *env = NULL;
		if (recv_env(ssl, fd, ms, &env) != 0)
			return -1;
		bool answer = env->msg_case == ROGATORY__V1__ENVELOPE__MSG_RECEIPT ||
		    env->msg_case == ROGATORY__V1__ENVELOPE__MSG_ERROR;
		wire_envelope_free(env);
		if (answer)
			return 0;
	}
}

/* --flood: writes without ever reading, on a non-blocking socket, until the daemon stops
 * taking bytes (it stopped reading us), closes, or the time is up. Copies of one
 * document (no --distinct) follow its first copy's answer: each is then a duplicate
 * answered from the store. */
static void
flood(SSL *ssl, int fd, const struct opts *o)
{
	struct evidence_signer *signer = NULL;
	char err[256];
	if (evidence_signer_load(o->cert, o->key, &signer, err, sizeof(err)) != 0) {
		printf("signer-failed %s\n", err);
		return;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	long t0 = now_ms(), deadline = t0 + o->wait_ms;
	int stall = o->stall_ms > 0 ? o->stall_ms : 2000;
	uint8_t *frame = NULL;
	size_t len = 0, off = 0;
	int written = 0;
	const char *how = "done";
	if (!o->distinct) {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		if (transfer_frame(signer, o, &frame, &len) != 0 ||
		    send_and_await_answer(ssl, fd, frame, len, o->wait_ms) != 0) {
			printf("flood: the first copy got no answer\n");
			how = "closed";
		} else {
			written = 1;
			printf("flood: first copy answered\n");
		}
		fflush(stdout);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	}
	while (written < o->flood && strcmp(how, "closed") != 0) {
		if (frame == NULL && transfer_frame(signer, o, &frame, &len) != 0) {
			how = "closed";
			break;
		}
		int w = SSL_write(ssl, frame + off, (int)(len - off));
		if (w > 0) {
			off += (size_t)w;
			if (off == len) {
				written++;
				off = 0;
				if (o->distinct) {
					free(frame);
					frame = NULL;
				}
			}
			continue;
		}
		int e = SSL_get_error(ssl, w);
		if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
			how = "closed";
			break;
		}
		long left = deadline - now_ms();
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		if (left <= 0 || poll(&pfd, 1, (int)(left < stall ? left : stall)) <= 0) {
			how = "stalled";
			break;
		}
	}
	printf("flood wrote %d of %d frames (%s) in %ld ms\n", written, o->flood, how,
	    now_ms() - t0);
	fflush(stdout);
	free(frame);
	evidence_signer_free(signer);
	/* Deliberate, not a synchronisation: holding the connection unread is the behaviour
	 * under test (the test stops us when it has measured). */
	long rest = deadline - now_ms();
	if (rest > 0 && strcmp(how, "closed") != 0)
		usleep((useconds_t)rest * 1000);
}

/* Reads one frame within ms: 0 and *env, or -1 (closed, time-out, invalid). */
static int
recv_env(SSL *ssl, int fd, int ms, Rogatory__V1__Envelope **env)
{
	static uint8_t buf[FRAME_PEER_MAX_DEFAULT + FRAME_HEADER_LEN];
	static size_t have;
	long deadline = now_ms() + ms;
	char err[256];
	for (;;) {
		if (have >= FRAME_HEADER_LEN) {
			uint32_t len = frame_header_len(buf);
			if (len > FRAME_PEER_MAX_DEFAULT)
				return -1;
			if (have >= FRAME_HEADER_LEN + len) {
				int rc = wire_envelope_decode(buf + FRAME_HEADER_LEN, len, env, err,
				    sizeof(err));
				memmove(buf, buf + FRAME_HEADER_LEN + len, have - FRAME_HEADER_LEN - len);
				have -= FRAME_HEADER_LEN + len;
				return rc;
			}
		}
		long left = deadline - now_ms();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (SSL_pending(ssl) == 0 && (left <= 0 || poll(&pfd, 1, (int)left) <= 0))
			return -1;
		int r = SSL_read(ssl, buf + have, (int)(sizeof(buf) - have));
		if (r <= 0)
			return -1;
		have += (size_t)r;
	}
}

/* --paced: one document sent --repeat times, --paced at a time, each round's answers
 * read before the next: how a peer that keeps the window and resends for ever sees us. */
static void
paced(SSL *ssl, int fd, const struct opts *o)
{
	struct evidence_signer *signer = NULL;
	char err[256];
	uint8_t *frame = NULL;
	size_t len = 0;
	if (evidence_signer_load(o->cert, o->key, &signer, err, sizeof(err)) != 0 ||
	    transfer_frame(signer, o, &frame, &len) != 0) {
		printf("signer-failed %s\n", err);
		evidence_signer_free(signer);
		return;
	}
	enum { DIGESTS = 64 };
	uint8_t seen[DIGESTS][32];
	int nseen = 0, sent = 0, receipts = 0, accepted = 0, rejected = 0, later = 0;
	bool distinct_overflow = false;
	while (sent < o->repeat) {
		int round = o->repeat - sent < o->paced ? o->repeat - sent : o->paced;
		for (int i = 0; i < round; i++)
			if (ssl_write_all(ssl, frame, len) != 0)
				goto out;
		sent += round;
		for (int answers = 0; answers < round;) {
			Rogatory__V1__Envelope *env = NULL;
			if (recv_env(ssl, fd, o->wait_ms, &env) != 0) {
				printf("paced: no answer within %d ms\n", o->wait_ms);
				goto out;
			}
			if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_RECEIPT) {
				uint8_t d[32];
				char signer_id[AUTHORITY_ID_MAX + 1];
				Rogatory__V1__ReceiptBody *rb = NULL;
				signed_object_digest(env->receipt->receipt, d);
				int k = 0;
				while (k < nseen && memcmp(seen[k], d, 32) != 0)
					k++;
				if (k == nseen && nseen < DIGESTS)
					memcpy(seen[nseen++], d, 32);
				distinct_overflow |= k == DIGESTS;
				if (evidence_open_receipt(env->receipt->receipt, signer_id, &rb, err,
				        sizeof(err)) == 0) {
					accepted += rb->outcome == ROGATORY__V1__OUTCOME__OUTCOME_ACCEPTED;
					rejected += rb->outcome == ROGATORY__V1__OUTCOME__OUTCOME_REJECTED;
					wire_receipt_body_free(rb);
				}
				receipts++;
				answers++;
			} else if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_ERROR &&
			    env->error->message_id.len > 0) {
				later++;
				answers++;
			}
			wire_envelope_free(env);
		}
	}
out:
	printf("paced sent=%d receipts=%d distinct=%d%s accepted=%d rejected=%d try-later=%d\n",
	    sent, receipts, nseen, distinct_overflow ? "+" : "", accepted, rejected, later);
	fflush(stdout);
	free(frame);
	evidence_signer_free(signer);
}

/* Prints a frame; returns its envelope case (0 when it does not decode). */
static int
print_frame(const uint8_t *body, size_t len)
{
	Rogatory__V1__Envelope *env = NULL;
	char err[256];
	if (wire_envelope_decode(body, len, &env, err, sizeof(err)) != 0) {
		printf("recv invalid frame: %s\n", err);
		return 0;
	}
	int msg_case = (int)env->msg_case;
	switch (env->msg_case) {
	case ROGATORY__V1__ENVELOPE__MSG_HELLO:
		printf("recv hello id=%.*s versions=%u:%u window=%u\n",
		    (int)env->hello->authority_id.len, (char *)env->hello->authority_id.data,
		    env->hello->min_version, env->hello->max_version, env->hello->window);
		break;
	case ROGATORY__V1__ENVELOPE__MSG_ERROR:
		printf("recv error code=%s text=%.*s\n", wire_error_code_name(env->error->code),
		    (int)env->error->text.len, (char *)env->error->text.data);
		break;
	case ROGATORY__V1__ENVELOPE__MSG_RECEIPT: {
		const Rogatory__V1__SignedObject *so = env->receipt->receipt;
		uint8_t h[32];
		evidence_payload_hash(so->body.data, so->body.len, h);
		char signer[AUTHORITY_ID_MAX + 1], rerr[256];
		Rogatory__V1__ReceiptBody *rb = NULL;
		int ok = evidence_open_receipt(so, signer, &rb, rerr, sizeof(rerr));
		printf("recv receipt sha=");
		for (int i = 0; i < 32; i++)
			printf("%02x", h[i]);
		signed_object_digest(so, h);
		printf(" all=");
		for (int i = 0; i < 32; i++)
			printf("%02x", h[i]);
		if (ok == 0) {
			char why[TERMSAFE_MAX(WIRE_TEXT_MAX)];
			printf(" signer=%s outcome=%s reason=%.*s why=%s\n", signer,
			    wire_outcome_name(rb->outcome), (int)rb->reason_code.len,
			    (const char *)rb->reason_code.data,
			    termsafe(rb->reason_text.data, rb->reason_text.len, why, sizeof(why)));
			wire_receipt_body_free(rb);
		} else {
			printf(" invalid: %s\n", rerr);
		}
		break;
	}
	case ROGATORY__V1__ENVELOPE__MSG_RETRIEVAL_RECEIPT: {
		char signer[AUTHORITY_ID_MAX + 1], rerr[256];
		Rogatory__V1__ReceiptBody *rb = NULL;
		if (evidence_open_receipt(env->retrieval_receipt->receipt, signer, &rb, rerr,
		        sizeof(rerr)) == 0) {
			char why[TERMSAFE_MAX(WIRE_TEXT_MAX)];
			printf("recv retrieval-receipt outcome=%s reason=%.*s signer=%s why=%s\n",
			    wire_outcome_name(rb->outcome), (int)rb->reason_code.len,
			    (const char *)rb->reason_code.data, signer,
			    termsafe(rb->reason_text.data, rb->reason_text.len, why, sizeof(why)));
			wire_receipt_body_free(rb);
		} else {
			printf("recv retrieval-receipt invalid: %s\n", rerr);
		}
		break;
	}
	case ROGATORY__V1__ENVELOPE__MSG_PONG:
		printf("recv pong nonce=%llu\n", (unsigned long long)env->pong->nonce);
		break;
	case ROGATORY__V1__ENVELOPE__MSG_CRL:
		printf("recv crl bytes=%zu\n", env->crl->der.len);
		break;
	default:
		printf("recv frame type=%d\n", (int)env->msg_case);
		break;
	}
	wire_envelope_free(env);
	return msg_case;
}

/* Listen mode: answers a Transfer with a receipt, good or deliberately bad. */
static void
reply_receipt(SSL *ssl, const struct opts *o, const uint8_t *body, size_t len)
{
	Rogatory__V1__Envelope *env = NULL;
	char err[256];
	if (o->receipt == NULL || wire_envelope_decode(body, len, &env, err, sizeof(err)) != 0)
		return;
	if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_PING) {
		/* Stay alive for the daemon's keepalive, whatever else we do. */
		Rogatory__V1__Envelope out = ROGATORY__V1__ENVELOPE__INIT;
		Rogatory__V1__Pong pong = ROGATORY__V1__PONG__INIT;
		pong.nonce = env->ping->nonce;
		out.msg_case = ROGATORY__V1__ENVELOPE__MSG_PONG;
		out.pong = &pong;
		send_env(ssl, &out);
		wire_envelope_free(env);
		return;
	}
	if (env->msg_case != ROGATORY__V1__ENVELOPE__MSG_TRANSFER ||
	    strcmp(o->receipt, "none") == 0) {
		wire_envelope_free(env);
		return;
	}
	bool wrong_signer = strcmp(o->receipt, "wrong-signer") == 0;
	struct evidence_signer *signer = NULL;
	if (evidence_signer_load(wrong_signer ? o->sign_cert : o->cert,
	        wrong_signer ? o->sign_key : o->key, &signer, err, sizeof(err)) != 0) {
		printf("signer-failed %s\n", err);
		wire_envelope_free(env);
		return;
	}
	const Rogatory__V1__Transfer *t = env->transfer;
	uint8_t hash[32];
	evidence_payload_hash(t->document->body.data, t->document->body.len, hash);
	if (strcmp(o->receipt, "wrong-hash") == 0)
		hash[0] ^= 1;
	char other[UUID_TEXT_LEN + 1];
	text_uuid_random(other);
	Rogatory__V1__ReceiptBody rb = ROGATORY__V1__RECEIPT_BODY__INIT;
	rb.message_id = t->message_id;
	if (strcmp(o->receipt, "unknown-id") == 0) {
		rb.message_id.data = (uint8_t *)other;
		rb.message_id.len = strlen(other);
	}
	rb.sender_id = t->sender_id;
	const char *me = evidence_signer_id(signer);
	rb.receiver_id.data = (uint8_t *)me;
	rb.receiver_id.len = strlen(me);
	rb.payload_sha256.data = hash;
	rb.payload_sha256.len = 32;
	rb.outcome = ROGATORY__V1__OUTCOME__OUTCOME_ACCEPTED;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	rb.received_ms = (int64_t)ts.tv_sec * 1000;
	struct signed_object so = {0};
	if (evidence_sign_receipt(signer, &rb, &so, err, sizeof(err)) == 0) {
		Rogatory__V1__Envelope out = ROGATORY__V1__ENVELOPE__INIT;
		Rogatory__V1__Receipt r = ROGATORY__V1__RECEIPT__INIT;
		Rogatory__V1__SignedObject sob;
		wire_signed_object_set(&sob, so.body, so.body_len, so.signature, so.signature_len,
		    so.cert, so.cert_len);
		r.receipt = &sob;
		out.msg_case = ROGATORY__V1__ENVELOPE__MSG_RECEIPT;
		out.receipt = &r;
		send_env(ssl, &out);
		printf("sent receipt mode=%s\n", o->receipt);
	}
	signed_object_clear(&so);
	evidence_signer_free(signer);
	wire_envelope_free(env);
}

/* The envelope case --until names; -1 for an unknown name. */
static int
until_case(const char *name)
{
	static const struct {
		const char *name;
		int msg_case;
	} frames[] = {
		{"hello", ROGATORY__V1__ENVELOPE__MSG_HELLO},
		{"error", ROGATORY__V1__ENVELOPE__MSG_ERROR},
		{"receipt", ROGATORY__V1__ENVELOPE__MSG_RECEIPT},
		{"pong", ROGATORY__V1__ENVELOPE__MSG_PONG},
		{"crl", ROGATORY__V1__ENVELOPE__MSG_CRL},
		{"retrieval_receipt", ROGATORY__V1__ENVELOPE__MSG_RETRIEVAL_RECEIPT},
	};
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++)
		if (strcmp(name, frames[i].name) == 0)
			return frames[i].msg_case;
	return -1;
}

/* Reads for wait_ms (or until the --until frame), printing frames; returns the
 * application bytes received. */
static size_t
read_loop(SSL *ssl, int fd, int wait_ms, bool *hello_seen, SSL *reply_to, const struct opts *o)
{
	static uint8_t buf[1 << 16];
	size_t have = 0, total = 0;
	long deadline = now_ms() + wait_ms;
	bool until_seen = false;
	for (;;) {
		long left = deadline - now_ms();
		if (left <= 0 || until_seen)
			break;
		if (SSL_pending(ssl) == 0) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			if (poll(&pfd, 1, (int)left) <= 0)
				break;
		}
		int r = SSL_read(ssl, buf + have, (int)(sizeof(buf) - have));
		if (r <= 0) {
			int e = SSL_get_error(ssl, r);
			unsigned long ee = ERR_peek_error();
			printf("closed ssl_error=%d %s\n", e,
			    ee ? ERR_reason_error_string(ee) : (e == SSL_ERROR_ZERO_RETURN ? "close_notify" : "eof"));
			break;
		}
		have += (size_t)r;
		total += (size_t)r;
		while (have >= FRAME_HEADER_LEN) {
			uint32_t len = frame_header_len(buf);
			if (len > sizeof(buf) - FRAME_HEADER_LEN) {
				printf("recv oversize announcement %u\n", len);
				have = 0;
				break;
			}
			if (have < FRAME_HEADER_LEN + len)
				break;
			if (print_frame(buf + FRAME_HEADER_LEN, len) == o->until && o->until > 0)
				until_seen = true;
			if (reply_to != NULL)
				reply_receipt(reply_to, o, buf + FRAME_HEADER_LEN, len);
			if (!*hello_seen) {
				*hello_seen = true;
				if (reply_to != NULL && o->hello_id != NULL) {
					send_hello(reply_to, o);
					if (o->after)
						after_hello(reply_to, o->after);
				}
			}
			memmove(buf, buf + FRAME_HEADER_LEN + len, have - FRAME_HEADER_LEN - len);
			have -= FRAME_HEADER_LEN + len;
		}
		fflush(stdout);
		if (o != NULL && o->no_read && *hello_seen) {
			/* Hello exchanged: from here on the daemon's bytes stay in its buffers. */
			printf("not reading\n");
			fflush(stdout);
			long rest = deadline - now_ms();
			/* Deliberate, not a synchronisation: the stall is the behaviour under test
			 * (the test ends it sooner by stopping us). */
			if (rest > 0)
				usleep((useconds_t)rest * 1000);
			break;
		}
	}
	return total;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: fakepeer connect HOST PORT | listen PORT [options]\n");
		return 2;
	}
	bool server = strcmp(argv[1], "listen") == 0;
	int ai = server ? 3 : 4;
	struct opts o = {.vmin = 1, .vmax = 1, .wait_ms = 2000};
	for (int i = ai; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--plain") == 0) {
			o.plain = true;
			continue;
		}
		if (strcmp(a, "--no-read") == 0) {
			o.no_read = true;
			continue;
		}
		if (strcmp(a, "--distinct") == 0) {
			o.distinct = true;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "fakepeer: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--cert") == 0)
			o.cert = v;
		else if (strcmp(a, "--key") == 0)
			o.key = v;
		else if (strcmp(a, "--ca") == 0)
			o.ca = v;
		else if (strcmp(a, "--groups") == 0)
			o.groups = v;
		else if (strcmp(a, "--send-text") == 0)
			o.send_text = v;
		else if (strcmp(a, "--hello-id") == 0)
			o.hello_id = v;
		else if (strcmp(a, "--versions") == 0)
			sscanf(v, "%u:%u", &o.vmin, &o.vmax);
		else if (strcmp(a, "--clock-skew-ms") == 0)
			o.skew_ms = strtoll(v, NULL, 10);
		else if (strcmp(a, "--after-hello") == 0)
			o.after = v;
		else if (strcmp(a, "--wait-ms") == 0)
			o.wait_ms = atoi(v);
		else if (strcmp(a, "--until") == 0)
			o.until = until_case(v);
		else if (strcmp(a, "--transfer-to") == 0)
			o.transfer_to = v;
		else if (strcmp(a, "--repeat") == 0)
			o.repeat = atoi(v);
		else if (strcmp(a, "--repeat-after") == 0)
			o.repeat_after = v;
		else if (strcmp(a, "--kind") == 0)
			o.kind = v;
		else if (strcmp(a, "--id") == 0)
			o.id = v;
		else if (strcmp(a, "--status") == 0)
			o.status = v;
		else if (strcmp(a, "--reply-to") == 0)
			o.reply_to = v;
		else if (strcmp(a, "--sequence") == 0)
			o.sequence = strtoull(v, NULL, 10);
		else if (strcmp(a, "--field") == 0 && o.nfields < 8)
			o.fields[o.nfields++] = v;
		else if (strcmp(a, "--subject") == 0)
			o.subject = v;
		else if (strcmp(a, "--attach-name") == 0)
			o.attach_name = v;
		else if (strcmp(a, "--receipt") == 0)
			o.receipt = v;
		else if (strcmp(a, "--sign-cert") == 0)
			o.sign_cert = v;
		else if (strcmp(a, "--sign-key") == 0)
			o.sign_key = v;
		else if (strcmp(a, "--crl-number") == 0)
			o.crl_number = strtoull(v, NULL, 10);
		else if (strcmp(a, "--flood") == 0)
			o.flood = atoi(v);
		else if (strcmp(a, "--stall-ms") == 0)
			o.stall_ms = atoi(v);
		else if (strcmp(a, "--body-bytes") == 0)
			o.body_bytes = atoi(v);
		else if (strcmp(a, "--paced") == 0)
			o.paced = atoi(v);
		else if (strcmp(a, "--retrieval-of") == 0)
			o.retrieval_of = v;
		else if (strcmp(a, "--retrieval-sender") == 0)
			o.retrieval_sender = v;
		else if (strcmp(a, "--retrieval-hash") == 0)
			o.retrieval_hash = v;

		else {
			fprintf(stderr, "fakepeer: unknown option %s\n", a);
			return 2;
		}
	}
	if (o.until < 0) {
		fprintf(stderr, "fakepeer: --until: not hello, error, receipt, pong, crl or retrieval_receipt\n");
		return 2;
	}
	int fd = server ? tcp_accept_one(argv[2]) : tcp_connect(argv[2], argv[3]);
	if (fd < 0) {
		printf("connect-failed %s\n", strerror(errno));
		return 1;
	}
	printf("tcp-ok\n");
	if (o.plain) {
		if (o.send_text != NULL && write(fd, o.send_text, strlen(o.send_text)) < 0)
			printf("write-failed\n");
		char buf[512];
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long deadline = now_ms() + o.wait_ms;
		while (now_ms() < deadline && poll(&pfd, 1, (int)(deadline - now_ms())) > 0) {
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r <= 0) {
				printf("closed by daemon\n");
				break;
			}
			printf("recv %zd plain bytes\n", r);
		}
		close(fd);
		return 0;
	}
	SSL_CTX *ctx = make_ctx(&o, server);
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	int hs = server ? SSL_accept(ssl) : SSL_connect(ssl);
	if (hs != 1) {
		unsigned long e = ERR_get_error();
		printf("tls-failed %s\n", e ? ERR_reason_error_string(e) : "eof");
		return 0;
	}
	X509 *peer = SSL_get0_peer_certificate(ssl);
	char subj[256] = "(none)";
	if (peer != NULL)
		X509_NAME_oneline(X509_get_subject_name(peer), subj, sizeof(subj));
	/* What the daemon sent: a client sees the server's whole chain, leaf included; a
	 * server's list leaves the client's leaf out. */
	STACK_OF(X509) *sent = SSL_get_peer_cert_chain(ssl);
	int certs = sk_X509_num(sent) > 0 ? sk_X509_num(sent) : 0;
	if (server && peer != NULL)
		certs++;
	const STACK_OF(X509_NAME) *cas = server ? NULL : SSL_get0_peer_CA_list(ssl);
	const char *group = SSL_group_to_name(ssl, SSL_get_negotiated_group(ssl));
	printf("tls-ok subject=%s group=%s peer-certs=%d ca-names=%d\n", subj,
	    group ? group : "?", certs, cas ? sk_X509_NAME_num(cas) : 0);
	fflush(stdout);
	bool hello_seen = false;
	if (!server && o.hello_id != NULL && o.transfer_to != NULL &&
	    (o.flood > 0 || o.paced > 0)) {
		send_hello(ssl, &o);
		if (o.flood > 0)
			flood(ssl, fd, &o);
		else
			paced(ssl, fd, &o);
		SSL_free(ssl);
		SSL_CTX_free(ctx);
		close(fd);
		return 0;
	}
	if (!server && o.hello_id != NULL) {
		send_hello(ssl, &o);
		if (o.after)
			after_hello(ssl, o.after);
		if (o.transfer_to != NULL)
			send_transfers(ssl, &o);
		if (o.retrieval_of != NULL)
			send_retrieval(ssl, &o);
	}
	size_t n = read_loop(ssl, fd, o.wait_ms, &hello_seen, server ? ssl : NULL, &o);
	if (server)
		printf("app-bytes %zu\n", n);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return 0;
}
