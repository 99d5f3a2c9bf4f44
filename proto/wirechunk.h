/*
 * wirechunk: the head of a Chunk frame without the frame as one piece of memory, so that
 * attachment bytes go from the socket's buffer to their file, and from their file to
 * the socket's buffer, without a copy of their own (PROTOCOL.md section 5.2). The head
 * is the Envelope's field 3 and the Chunk's fields in their declared order, the data
 * last: what protobuf-c packs. Anything else is left to wire_envelope_decode, which
 * judges every frame it is given; this module never accepts what that one refuses.
 */
#ifndef ROGATORY_WIRECHUNK_H
#define ROGATORY_WIRECHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "text.h"

/* Bytes that hold any head: envelope tag and length, the id, index, offset, data tag
 * and length. */
#define WIRECHUNK_HEAD_MAX 80

struct wirechunk_head {
	char msg_id[UUID_TEXT_LEN + 1];
	uint32_t index;
	uint64_t offset;
	size_t data_off;          /* where the data starts within the Envelope body */
	size_t data_len;          /* it runs to the body's end */
};

/* The first avail bytes (at p) of an Envelope body of body_len bytes: 1 when it is a
 * Chunk in the declared field order, its data last and running to the body's end, whose
 * fields pass the checks wire_envelope_decode makes (message_id a UUID, index below
 * WIRE_ATTACHMENTS_MAX, data of 1 .. CHUNK_DATA_MAX bytes): h is set. 0 for anything
 * else, valid or not: the caller decodes the whole body, which judges it. */
int wirechunk_head_decode(const uint8_t *p, size_t avail, size_t body_len,
    struct wirechunk_head *h);
/* Writes into dst (WIRECHUNK_HEAD_MAX bytes) the head of the Envelope body holding
 * Chunk{msg_id, index, offset, data of data_len bytes}, exactly as protobuf-c packs it;
 * the body is this head followed by the data. Returns the head's length. */
size_t wirechunk_head_put(uint8_t *dst, const char *msg_id, uint32_t index, uint64_t offset,
    size_t data_len);

#endif
