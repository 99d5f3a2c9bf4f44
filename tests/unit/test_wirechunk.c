/*
 * Unit tests for proto/wirechunk.c: a Chunk frame's head written by hand is byte for
 * byte what protobuf-c packs (index and offset 0, small and large, data of 1 byte to
 * 1 MiB); a packed Chunk is recognised from its head alone, with its data found where
 * they are in a buffer of many chains (a chunk straddling chains, down to one byte per
 * chain); anything that is not exactly a valid Chunk (other frames, bad ids, an index
 * or a data length out of bounds, fields out of order or repeated, a trailing field,
 * a cut head) is left to the full decoder, which refuses what it must; the Resume
 * frame's checks (version 3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <event2/buffer.h>

#include "frame.h"
#include "wire.h"
#include "wirechunk.h"

#define MSG_ID "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b"

/* A Chunk Envelope packed by protobuf-c (malloc'd), data a pattern of len bytes. */
static uint8_t *
packed_chunk(const char *id, uint32_t index, uint64_t offset, size_t len, size_t *out)
{
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Chunk c = ROGATORY__V1__CHUNK__INIT;
	uint8_t *data = malloc(len ? len : 1);
	cr_assert_not_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	c.message_id.data = (uint8_t *)id;
	c.message_id.len = strlen(id);
	c.attachment_index = index;
	c.offset = offset;
	c.data.data = data;
	c.data.len = len;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_CHUNK;
	env.chunk = &c;
	*out = protobuf_c_message_get_packed_size(&env.base);
	uint8_t *p = malloc(*out);
	cr_assert_not_null(p);
	cr_assert_eq(protobuf_c_message_pack(&env.base, p), *out);
	free(data);
	return p;
}

static const struct {
	uint32_t index;
	uint64_t offset;
	size_t len;
} cases[] = {
	{0, 0, 1}, {0, 0, 262144}, {1, 0, 100}, {0, 1, 100}, {255, 2147483648ull, 1048576},
	{127, 127, 127}, {128, 128, 128}, {3, (1ull << 40) + 5, 16384}, {0, 9, 1048576},
};

Test(wirechunk, head_put_is_what_protobuf_c_packs)
{
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		size_t n;
		uint8_t *want = packed_chunk(MSG_ID, cases[k].index, cases[k].offset, cases[k].len,
		    &n);
		uint8_t head[WIRECHUNK_HEAD_MAX];
		size_t hl = wirechunk_head_put(head, MSG_ID, cases[k].index, cases[k].offset,
		    cases[k].len);
		cr_assert_eq(hl + cases[k].len, n, "case %zu: length %zu + %zu, packed %zu", k, hl,
		    cases[k].len, n);
		cr_assert_eq(memcmp(head, want, hl), 0, "case %zu: the head differs", k);
		free(want);
	}
}

Test(wirechunk, packed_chunks_recognised_from_their_head)
{
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		size_t n;
		uint8_t *p = packed_chunk(MSG_ID, cases[k].index, cases[k].offset, cases[k].len, &n);
		struct wirechunk_head h;
		/* The head alone (the data need not be there yet). */
		size_t avail = n < WIRECHUNK_HEAD_MAX ? n : WIRECHUNK_HEAD_MAX;
		cr_assert_eq(wirechunk_head_decode(p, avail, n, &h), 1, "case %zu", k);
		cr_assert_str_eq(h.msg_id, MSG_ID);
		cr_assert_eq(h.index, cases[k].index);
		cr_assert_eq(h.offset, cases[k].offset);
		cr_assert_eq(h.data_len, cases[k].len);
		cr_assert_eq(h.data_off + h.data_len, n);
		cr_assert_eq(p[h.data_off], 3, "the data do not start at data_off");
		free(p);
	}
}

/* Whatever the fast path declines, the full decoder judges: it must never take what
 * the decoder refuses. */
Test(wirechunk, anything_else_left_to_the_decoder)
{
	struct wirechunk_head h;
	size_t n;
	char err[256];
	Rogatory__V1__Envelope *env = NULL;
	/* A bad id, an index beyond the manifest's bound, data of 0 bytes and above 1 MiB. */
	const struct {
		const char *id;
		uint32_t index;
		size_t len;
	} bad[] = {
		{"3F2B8C1E-9A4D-4E6F-8B2A-1C3D5E7F9A0B", 0, 10}, {"not-a-uuid", 0, 10},
		{MSG_ID, WIRE_ATTACHMENTS_MAX, 10}, {MSG_ID, 0, 0}, {MSG_ID, 0, CHUNK_DATA_MAX + 1},
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		uint8_t *p = packed_chunk(bad[k].id, bad[k].index, 0, bad[k].len, &n);
		cr_assert_eq(wirechunk_head_decode(p, n, n, &h), 0, "bad case %zu taken", k);
		cr_assert_eq(wire_envelope_decode(p, n, &env, err, sizeof(err)), -1,
		    "bad case %zu accepted by the decoder", k);
		free(p);
	}
	uint8_t *p = packed_chunk(MSG_ID, 2, 5, 50, &n);
	/* Cut: the head not all there, or the body longer or shorter than the frame says. */
	cr_assert_eq(wirechunk_head_decode(p, 20, n, &h), 0);
	cr_assert_eq(wirechunk_head_decode(p, n, n + 1, &h), 0);
	cr_assert_eq(wirechunk_head_decode(p, n - 1, n - 1, &h), 0);
	/* A field after the data (an unknown field 5): the decoder refuses it. */
	uint8_t *q = malloc(n + 2);
	memcpy(q, p, n);
	q[1] += 2;         /* the Chunk's length covers the extra field (one byte: n < 128) */
	q[n] = (5 << 3) | 0;
	q[n + 1] = 1;
	cr_assert_eq(wirechunk_head_decode(q, n + 2, n + 2, &h), 0);
	cr_assert_eq(wire_envelope_decode(q, n + 2, &env, err, sizeof(err)), -1);
	free(q);
	free(p);
	/* Index after offset (valid protobuf, another order): the decoder takes it. */
	uint8_t odd[] = {0x1a, 0, 0x0a, 36};
	uint8_t buf[128];
	size_t at = 0;
	memcpy(buf, odd, sizeof(odd));
	at = sizeof(odd);
	memcpy(buf + at, MSG_ID, 36);
	at += 36;
	uint8_t rest[] = {0x18, 5, 0x10, 2, 0x22, 3, 'a', 'b', 'c'};
	memcpy(buf + at, rest, sizeof(rest));
	at += sizeof(rest);
	buf[1] = (uint8_t)(at - 2);
	cr_assert_eq(wirechunk_head_decode(buf, at, at, &h), 0);
	cr_assert_eq(wire_envelope_decode(buf, at, &env, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(env->chunk->attachment_index, 2);
	wire_envelope_free(env);
	/* Another frame type. */
	Rogatory__V1__Envelope ping = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Ping pg = ROGATORY__V1__PING__INIT;
	ping.msg_case = ROGATORY__V1__ENVELOPE__MSG_PING;
	ping.ping = &pg;
	pg.nonce = 7;
	n = protobuf_c_message_pack(&ping.base, buf);
	cr_assert_eq(wirechunk_head_decode(buf, n, n, &h), 0);
}

/* A frame spread over many chains of an evbuffer (down to one byte per chain): its
 * length from the header, its head copied out, its data found in place. */
Test(wirechunk, a_chunk_straddling_evbuffer_chains)
{
	size_t n;
	uint8_t *p = packed_chunk(MSG_ID, 1, 4096, 70000, &n);
	uint8_t hdr[FRAME_HEADER_LEN];
	frame_header_put(hdr, (uint32_t)n);
	const size_t pieces[] = {1, 3, 7, 1000, 65536};
	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		struct evbuffer *in = evbuffer_new();
		struct evbuffer *one = evbuffer_new();
		/* Each piece its own chain: added through a buffer of its own. */
		uint8_t *all = malloc(FRAME_HEADER_LEN + n);
		memcpy(all, hdr, FRAME_HEADER_LEN);
		memcpy(all + FRAME_HEADER_LEN, p, n);
		for (size_t at = 0; at < FRAME_HEADER_LEN + n; at += pieces[k]) {
			size_t len = FRAME_HEADER_LEN + n - at < pieces[k] ? FRAME_HEADER_LEN + n - at
			                                                    : pieces[k];
			cr_assert_eq(evbuffer_add(one, all + at, len), 0);
			cr_assert_eq(evbuffer_add_buffer(in, one), 0);
		}
		size_t len;
		char err[128];
		cr_assert_eq(frame_length(in, FRAME_PEER_MAX_DEFAULT, &len, err, sizeof(err)),
		    FRAME_READY);
		cr_assert_eq(len, n);
		uint8_t head[FRAME_HEADER_LEN + WIRECHUNK_HEAD_MAX];
		cr_assert_eq(evbuffer_copyout(in, head, sizeof(head)), (ev_ssize_t)sizeof(head));
		struct wirechunk_head h;
		cr_assert_eq(wirechunk_head_decode(head + FRAME_HEADER_LEN, WIRECHUNK_HEAD_MAX, len,
		    &h), 1, "pieces of %zu", pieces[k]);
		cr_assert_eq(h.offset, 4096);
		cr_assert_eq(evbuffer_drain(in, FRAME_HEADER_LEN + h.data_off), 0);
		/* The data in place: every piece compared, then nothing left but them. */
		int nv = evbuffer_peek(in, (ev_ssize_t)h.data_len, NULL, NULL, 0);
		struct evbuffer_iovec *v = calloc((size_t)nv, sizeof(*v));
		cr_assert_eq(evbuffer_peek(in, (ev_ssize_t)h.data_len, NULL, v, nv), nv);
		if (pieces[k] < 100)
			cr_assert_gt(nv, 1, "the data did not straddle chains");
		size_t at = 0;
		for (int i = 0; i < nv && at < h.data_len; i++) {
			size_t take = v[i].iov_len < h.data_len - at ? v[i].iov_len : h.data_len - at;
			cr_assert_eq(memcmp(v[i].iov_base, p + h.data_off + at, take), 0,
			    "pieces of %zu: chain %d differs", pieces[k], i);
			at += take;
		}
		cr_assert_eq(at, h.data_len);
		cr_assert_eq(evbuffer_get_length(in), h.data_len);
		free(v);
		free(all);
		evbuffer_free(one);
		evbuffer_free(in);
	}
	free(p);
}

/* Resume (version 3): a UUID and an index below the manifest bound, any offset. */
static int
resume_decode(const char *id, uint32_t index, uint64_t offset, char *err, size_t errlen)
{
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Resume r = ROGATORY__V1__RESUME__INIT;
	r.message_id.data = (uint8_t *)id;
	r.message_id.len = strlen(id);
	r.attachment_index = index;
	r.offset = offset;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_RESUME;
	env.resume = &r;
	uint8_t buf[128];
	size_t n = protobuf_c_message_pack(&env.base, buf);
	Rogatory__V1__Envelope *out = NULL;
	int rc = wire_envelope_decode(buf, n, &out, err, errlen);
	if (rc == 0) {
		cr_assert_eq(out->resume->offset, offset);
		wire_envelope_free(out);
	}
	return rc;
}

Test(wirechunk, resume_frame_checks)
{
	char err[256];
	cr_assert_eq(resume_decode(MSG_ID, 0, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(resume_decode(MSG_ID, 255, 1ull << 40, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(resume_decode("not-a-uuid", 0, 0, err, sizeof(err)), -1);
	cr_assert(strstr(err, "resume.message_id: invalid UUID") != NULL, "%s", err);
	cr_assert_eq(resume_decode(MSG_ID, WIRE_ATTACHMENTS_MAX, 0, err, sizeof(err)), -1);
	cr_assert(strstr(err, "resume.attachment_index: 256") != NULL, "%s", err);
}
