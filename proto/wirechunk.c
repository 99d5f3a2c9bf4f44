/*
 * wirechunk: a Chunk frame's head, read and written by hand (wirechunk.h). It must never
 * accept a head that wire_envelope_decode would refuse: whatever it does not recognise
 * exactly is handed back (0) to the full decoder.
 */
#include "wirechunk.h"

#include <stdbool.h>
#include <string.h>

#include "frame.h"
#include "wire.h"

enum {
	TAG_ENV_CHUNK = (3 << 3) | 2,     /* Envelope.chunk, length-delimited */
	TAG_ID = (1 << 3) | 2,            /* Chunk.message_id */
	TAG_INDEX = (2 << 3) | 0,         /* Chunk.attachment_index, varint */
	TAG_OFFSET = (3 << 3) | 0,        /* Chunk.offset, varint */
	TAG_DATA = (4 << 3) | 2,          /* Chunk.data */
};

/* A varint at p[*at] (below end): 0 and *at moved past it; -1 when cut or too long. */
static int
varint_get(const uint8_t *p, size_t end, size_t *at, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 64 && *at < end; shift += 7) {
		uint8_t b = p[(*at)++];
		*v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			return 0;
	}
	return -1;
}

static size_t
varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static size_t
varint_len(uint64_t v)
{
	uint8_t tmp[10];
	return varint_put(tmp, v);
}

int
wirechunk_head_decode(const uint8_t *p, size_t avail, size_t body_len,
    struct wirechunk_head *h)
{
	size_t at = 0;
	uint64_t v;
	if (avail > body_len)
		avail = body_len;
	if (avail < 1 || p[at++] != TAG_ENV_CHUNK || varint_get(p, avail, &at, &v) != 0 ||
	    v != body_len - at)
		return 0;
	/* The id: 36 bytes of UUID text. */
	if (at >= avail || p[at++] != TAG_ID || varint_get(p, avail, &at, &v) != 0 ||
	    v != UUID_TEXT_LEN || avail - at < UUID_TEXT_LEN ||
	    !text_uuid_valid(p + at, UUID_TEXT_LEN))
		return 0;
	memcpy(h->msg_id, p + at, UUID_TEXT_LEN);
	h->msg_id[UUID_TEXT_LEN] = '\0';
	at += UUID_TEXT_LEN;
	h->index = 0;
	h->offset = 0;
	if (at < avail && p[at] == TAG_INDEX) {
		at++;
		if (varint_get(p, avail, &at, &v) != 0 || v >= WIRE_ATTACHMENTS_MAX)
			return 0;
		h->index = (uint32_t)v;
	}
	if (at < avail && p[at] == TAG_OFFSET) {
		at++;
		if (varint_get(p, avail, &at, &h->offset) != 0)
			return 0;
	}
	if (at >= avail || p[at++] != TAG_DATA || varint_get(p, avail, &at, &v) != 0 ||
	    v < 1 || v > CHUNK_DATA_MAX || v != body_len - at)
		return 0;
	h->data_off = at;
	h->data_len = (size_t)v;
	return 1;
}

size_t
wirechunk_head_put(uint8_t *dst, const char *msg_id, uint32_t index, uint64_t offset,
    size_t data_len)
{
	size_t idlen = strlen(msg_id);
	size_t inner = 1 + varint_len(idlen) + idlen + 1 + varint_len(data_len) + data_len;
	if (index != 0)
		inner += 1 + varint_len(index);
	if (offset != 0)
		inner += 1 + varint_len(offset);
	size_t at = 0;
	dst[at++] = TAG_ENV_CHUNK;
	at += varint_put(dst + at, inner);
	dst[at++] = TAG_ID;
	at += varint_put(dst + at, idlen);
	memcpy(dst + at, msg_id, idlen);
	at += idlen;
	if (index != 0) {
		dst[at++] = TAG_INDEX;
		at += varint_put(dst + at, index);
	}
	if (offset != 0) {
		dst[at++] = TAG_OFFSET;
		at += varint_put(dst + at, offset);
	}
	dst[at++] = TAG_DATA;
	at += varint_put(dst + at, data_len);
	return at;
}
