/*
 * Unit tests for proto/frame.c: the length prefix at 0, max and max+1 (refused from the
 * header alone), any split of the bytes (1-byte reads, one chain per byte), many frames
 * per read, random garbage, and frame_append round trips and limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <event2/buffer.h>

#include "frame.h"
#include "wire.h"

static void add_frame(struct evbuffer *b, const void *body, uint32_t len);
static void append_ping(struct evbuffer *b, uint64_t nonce);
static void append_chunk(struct evbuffer *b, uint32_t index, size_t data_len);
static uint8_t *flatten(struct evbuffer *b, size_t *len);
static void expect_stream(struct evbuffer *in, size_t *ndone, uint64_t *nonces);

#define MSG_ID "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b"

static void
add_frame(struct evbuffer *b, const void *body, uint32_t len)
{
	uint8_t hdr[FRAME_HEADER_LEN];
	frame_header_put(hdr, len);
	cr_assert_eq(evbuffer_add(b, hdr, sizeof(hdr)), 0);
	if (len > 0)
		cr_assert_eq(evbuffer_add(b, body, len), 0);
}

static void
append_ping(struct evbuffer *b, uint64_t nonce)
{
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Ping ping = ROGATORY__V1__PING__INIT;
	ping.nonce = nonce;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_PING;
	env.ping = &ping;
	cr_assert_eq(frame_append(b, &env.base, FRAME_PEER_MAX_DEFAULT), 0);
}

static void
append_chunk(struct evbuffer *b, uint32_t index, size_t data_len)
{
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Chunk c = ROGATORY__V1__CHUNK__INIT;
	uint8_t *data = malloc(data_len);
	cr_assert_not_null(data);
	memset(data, 0xa5, data_len);
	c.message_id.data = (uint8_t *)MSG_ID;
	c.message_id.len = strlen(MSG_ID);
	c.attachment_index = index;
	c.data.data = data;
	c.data.len = data_len;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_CHUNK;
	env.chunk = &c;
	cr_assert_eq(frame_append(b, &env.base, FRAME_PEER_MAX_DEFAULT), 0);
	free(data);
}

static uint8_t *
flatten(struct evbuffer *b, size_t *len)
{
	*len = evbuffer_get_length(b);
	uint8_t *p = malloc(*len);
	cr_assert_not_null(p);
	cr_assert_eq(evbuffer_remove(b, p, *len), (int)*len);
	return p;
}

/* Decodes every whole frame buffered in `in` as a Ping and records its nonce. */
static void
expect_stream(struct evbuffer *in, size_t *ndone, uint64_t *nonces)
{
	for (;;) {
		const uint8_t *body;
		size_t len;
		char err[256] = "";
		enum frame_status st = frame_peek(in, FRAME_PEER_MAX_DEFAULT, &body, &len, err,
		    sizeof(err));
		cr_assert_neq(st, FRAME_TOO_LARGE, "%s", err);
		if (st == FRAME_INCOMPLETE)
			return;
		Rogatory__V1__Envelope *env = NULL;
		cr_assert_eq(wire_envelope_decode(body, len, &env, err, sizeof(err)), 0, "%s", err);
		frame_consume(in, len);
		cr_assert_eq(env->msg_case, ROGATORY__V1__ENVELOPE__MSG_PING);
		nonces[(*ndone)++] = env->ping->nonce;
		wire_envelope_free(env);
	}
}

Test(frame, header_round_trip)
{
	static const uint32_t v[] = {0, 1, 255, 256, 0x01020304, FRAME_PEER_MAX_DEFAULT,
		UINT32_MAX};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t hdr[FRAME_HEADER_LEN];
		frame_header_put(hdr, v[i]);
		cr_assert_eq(frame_header_len(hdr), v[i]);
	}
	uint8_t hdr[FRAME_HEADER_LEN];
	frame_header_put(hdr, 0x01020304);
	cr_assert(hdr[0] == 1 && hdr[1] == 2 && hdr[2] == 3 && hdr[3] == 4, "big-endian");
}

Test(frame, length_zero)
{
	struct evbuffer *b = evbuffer_new();
	const uint8_t *body = NULL;
	size_t len = 99;
	char err[256] = "";
	add_frame(b, NULL, 0);
	cr_assert_eq(frame_peek(b, 100, &body, &len, err, sizeof(err)), FRAME_READY);
	cr_assert_eq(len, 0);
	cr_assert_not_null(body);
	frame_consume(b, len);
	cr_assert_eq(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}

Test(frame, incomplete_header_and_body)
{
	struct evbuffer *b = evbuffer_new();
	const uint8_t *body;
	size_t len;
	char err[256] = "";
	uint8_t hdr[FRAME_HEADER_LEN];
	frame_header_put(hdr, 10);
	cr_assert_eq(frame_peek(b, 100, &body, &len, err, sizeof(err)), FRAME_INCOMPLETE);
	evbuffer_add(b, hdr, 3);
	cr_assert_eq(frame_peek(b, 100, &body, &len, err, sizeof(err)), FRAME_INCOMPLETE);
	evbuffer_add(b, hdr + 3, 1);
	cr_assert_eq(frame_peek(b, 100, &body, &len, err, sizeof(err)), FRAME_INCOMPLETE);
	evbuffer_add(b, "012345678", 9);
	cr_assert_eq(frame_peek(b, 100, &body, &len, err, sizeof(err)), FRAME_INCOMPLETE);
	evbuffer_add(b, "9", 1);
	cr_assert_eq(frame_peek(b, 100, &body, &len, err, sizeof(err)), FRAME_READY);
	cr_assert_eq(len, 10);
	cr_assert_arr_eq(body, "0123456789", 10);
	evbuffer_free(b);
}

Test(frame, exactly_max)
{
	enum { MAX = 1000 };
	struct evbuffer *b = evbuffer_new();
	uint8_t data[MAX];
	for (size_t i = 0; i < MAX; i++)
		data[i] = (uint8_t)i;
	add_frame(b, data, MAX);
	const uint8_t *body;
	size_t len;
	char err[256] = "";
	cr_assert_eq(frame_peek(b, MAX, &body, &len, err, sizeof(err)), FRAME_READY, "%s", err);
	cr_assert_eq(len, MAX);
	cr_assert_arr_eq(body, data, MAX);
	frame_consume(b, len);
	cr_assert_eq(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}

/* Only the header is buffered: the verdict must come from it alone. */
Test(frame, max_plus_one_from_header_alone)
{
	struct evbuffer *b = evbuffer_new();
	uint8_t hdr[FRAME_HEADER_LEN];
	const uint8_t *body = NULL;
	size_t len = 0;
	char err[256] = "";
	frame_header_put(hdr, 1001);
	evbuffer_add(b, hdr, sizeof(hdr));
	cr_assert_eq(frame_peek(b, 1000, &body, &len, err, sizeof(err)), FRAME_TOO_LARGE);
	cr_assert_str_eq(err, "frame of 1001 bytes exceeds the limit of 1000");
	cr_assert_eq(evbuffer_get_length(b), FRAME_HEADER_LEN, "nothing consumed");
	cr_assert_null(body);

	evbuffer_drain(b, evbuffer_get_length(b));
	frame_header_put(hdr, 5000000);
	evbuffer_add(b, hdr, sizeof(hdr));
	cr_assert_eq(frame_peek(b, FRAME_PEER_MAX_DEFAULT, &body, &len, err, sizeof(err)),
	    FRAME_TOO_LARGE);
	cr_assert_str_eq(err, "frame of 5000000 bytes exceeds the limit of 4194304");

	evbuffer_drain(b, evbuffer_get_length(b));
	frame_header_put(hdr, UINT32_MAX);
	evbuffer_add(b, hdr, sizeof(hdr));
	cr_assert_eq(frame_peek(b, FRAME_CONTROL_MAX, &body, &len, err, sizeof(err)),
	    FRAME_TOO_LARGE);
	cr_assert_str_eq(err, "frame of 4294967295 bytes exceeds the limit of 1048576");
	evbuffer_free(b);
}

Test(frame, header_split_across_chains)
{
	/* evbuffer_add_reference makes one chain per call: the header straddles four. */
	static const uint8_t stream[] = {0, 0, 0, 3, 'a', 'b', 'c'};
	struct evbuffer *b = evbuffer_new();
	const uint8_t *body;
	size_t len;
	char err[256] = "";
	for (size_t i = 0; i < sizeof(stream); i++) {
		cr_assert_eq(frame_peek(b, 100, &body, &len, err, sizeof(err)), FRAME_INCOMPLETE);
		evbuffer_add_reference(b, stream + i, 1, NULL, NULL);
	}
	cr_assert_eq(frame_peek(b, 100, &body, &len, err, sizeof(err)), FRAME_READY);
	cr_assert_eq(len, 3);
	cr_assert_arr_eq(body, "abc", 3);
	frame_consume(b, len);
	cr_assert_eq(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}

Test(frame, three_frames_byte_by_byte)
{
	struct evbuffer *src = evbuffer_new();
	append_ping(src, 1);
	append_ping(src, 0);
	append_ping(src, UINT64_MAX);
	size_t n;
	uint8_t *stream = flatten(src, &n);

	for (int mode = 0; mode < 2; mode++) {
		struct evbuffer *in = evbuffer_new();
		uint64_t nonces[3];
		size_t ndone = 0;
		for (size_t i = 0; i < n; i++) {
			/* mode 0: bytes appended to one chain; mode 1: one chain per byte. */
			if (mode == 0)
				evbuffer_add(in, stream + i, 1);
			else
				evbuffer_add_reference(in, stream + i, 1, NULL, NULL);
			expect_stream(in, &ndone, nonces);
		}
		cr_assert_eq(ndone, 3, "mode %d", mode);
		cr_assert_eq(nonces[0], 1);
		cr_assert_eq(nonces[1], 0);
		cr_assert_eq(nonces[2], UINT64_MAX);
		cr_assert_eq(evbuffer_get_length(in), 0);
		evbuffer_free(in);
	}
	free(stream);
	evbuffer_free(src);
}

Test(frame, many_frames_in_one_read)
{
	enum { N = 500 };
	struct evbuffer *in = evbuffer_new();
	uint64_t nonces[N];
	size_t ndone = 0;
	for (uint64_t i = 0; i < N; i++)
		append_ping(in, i * 7919);
	expect_stream(in, &ndone, nonces);
	cr_assert_eq(ndone, N);
	for (size_t i = 0; i < N; i++)
		cr_assert_eq(nonces[i], i * 7919);
	evbuffer_free(in);
}

Test(frame, large_frames_mixed_with_small)
{
	struct evbuffer *in = evbuffer_new();
	append_chunk(in, 0, CHUNK_DATA_MAX);
	append_ping(in, 42);
	append_chunk(in, 1, 1);
	size_t got = 0;
	for (;;) {
		const uint8_t *body;
		size_t len;
		char err[256] = "";
		enum frame_status st = frame_peek(in, FRAME_PEER_MAX_FLOOR, &body, &len, err,
		    sizeof(err));
		if (st == FRAME_INCOMPLETE)
			break;
		cr_assert_eq(st, FRAME_READY, "%s", err);
		Rogatory__V1__Envelope *env = NULL;
		cr_assert_eq(wire_envelope_decode(body, len, &env, err, sizeof(err)), 0, "%s", err);
		if (got == 0)
			cr_assert_eq(env->chunk->data.len, CHUNK_DATA_MAX);
		if (got == 1)
			cr_assert_eq(env->ping->nonce, 42);
		if (got == 2)
			cr_assert_eq(env->chunk->attachment_index, 1);
		wire_envelope_free(env);
		frame_consume(in, len);
		got++;
	}
	cr_assert_eq(got, 3);
	evbuffer_free(in);
}

/* Random bytes: either a refusal by length or a body that fails to decode; never a
 * crash, never a frame read past the buffer. */
Test(frame, garbage)
{
	srand(20240601);
	size_t too_large = 0, decoded = 0, refused = 0;
	for (int round = 0; round < 400; round++) {
		struct evbuffer *in = evbuffer_new();
		size_t n = (size_t)(rand() % 4096);
		uint8_t *junk = malloc(n + 1);
		for (size_t i = 0; i < n; i++)
			junk[i] = (uint8_t)rand();
		/* Every other round, a small header so that bodies reach the decoder. */
		if (round % 2 == 1 && n >= FRAME_HEADER_LEN)
			frame_header_put(junk,
			    (uint32_t)(rand() % (int)(n - FRAME_HEADER_LEN + 1)));
		evbuffer_add(in, junk, n);
		for (;;) {
			const uint8_t *body;
			size_t len;
			char err[256] = "";
			enum frame_status st = frame_peek(in, 4096, &body, &len, err, sizeof(err));
			if (st == FRAME_INCOMPLETE)
				break;
			if (st == FRAME_TOO_LARGE) {
				cr_assert(strstr(err, "exceeds the limit of 4096") != NULL, "%s",
				    err);
				too_large++;
				break;
			}
			Rogatory__V1__Envelope *env = NULL;
			if (wire_envelope_decode(body, len, &env, err, sizeof(err)) == 0) {
				decoded++;
				wire_envelope_free(env);
			} else {
				cr_assert_neq(err[0], '\0');
				refused++;
			}
			frame_consume(in, len);
		}
		free(junk);
		evbuffer_free(in);
	}
	cr_assert_gt(too_large, 0);
	cr_assert_gt(refused, 0);
	(void)decoded;
}

Test(frame, append_round_trip)
{
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Error e = ROGATORY__V1__ERROR__INIT;
	e.code = ROGATORY__V1__ERROR_CODE__ERROR_CODE_TRY_LATER;
	e.text.data = (uint8_t *)"store full";
	e.text.len = 10;
	e.retry_after_ms = 30000;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_ERROR;
	env.error = &e;

	struct evbuffer *b = evbuffer_new();
	cr_assert_eq(frame_append(b, &env.base, FRAME_PEER_MAX_DEFAULT), 0);
	size_t packed = protobuf_c_message_get_packed_size(&env.base);
	cr_assert_eq(evbuffer_get_length(b), FRAME_HEADER_LEN + packed);
	uint8_t hdr[FRAME_HEADER_LEN];
	evbuffer_copyout(b, hdr, sizeof(hdr));
	cr_assert_eq(frame_header_len(hdr), packed);

	const uint8_t *body;
	size_t len;
	char err[256] = "";
	cr_assert_eq(frame_peek(b, FRAME_PEER_MAX_DEFAULT, &body, &len, err, sizeof(err)),
	    FRAME_READY);
	Rogatory__V1__Envelope *back = NULL;
	cr_assert_eq(wire_envelope_decode(body, len, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(back->msg_case, ROGATORY__V1__ENVELOPE__MSG_ERROR);
	cr_assert_eq(back->error->code, ROGATORY__V1__ERROR_CODE__ERROR_CODE_TRY_LATER);
	cr_assert_eq(back->error->retry_after_ms, 30000);
	cr_assert_eq(back->error->text.len, 10);
	cr_assert_arr_eq(back->error->text.data, "store full", 10);
	wire_envelope_free(back);
	frame_consume(b, len);
	cr_assert_eq(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}

Test(frame, append_refuses_above_max)
{
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Crl crl = ROGATORY__V1__CRL__INIT;
	static uint8_t der[2000];
	crl.der.data = der;
	crl.der.len = sizeof(der);
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_CRL;
	env.crl = &crl;
	uint32_t packed = (uint32_t)protobuf_c_message_get_packed_size(&env.base);

	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, "x", 1);
	cr_assert_eq(frame_append(b, &env.base, packed - 1), -1);
	cr_assert_eq(evbuffer_get_length(b), 1, "nothing written on refusal");
	cr_assert_eq(frame_append(b, &env.base, packed), 0);
	cr_assert_eq(evbuffer_get_length(b), 1 + FRAME_HEADER_LEN + packed);
	evbuffer_free(b);
}
