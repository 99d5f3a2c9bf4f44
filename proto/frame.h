/*
 * frame: the length-prefixed framing shared by peer links and the control socket.
 * A frame is a 4-byte big-endian body length, then the body (one protobuf message).
 * The announced length is checked against the limit before a single body byte is
 * buffered or pulled up; the caller then stops reading and closes.
 */
#ifndef ROGATORY_FRAME_H
#define ROGATORY_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

struct evbuffer;

#define FRAME_HEADER_LEN 4
#define FRAME_PEER_MAX_DEFAULT (4u << 20)          /* [limits] max_frame default */
#define FRAME_PEER_MAX_FLOOR ((1u << 20) + (64u << 10)) /* a full chunk always fits */
#define FRAME_CONTROL_MAX (1u << 20)
#define CHUNK_DATA_MAX (1u << 20)                  /* peer Chunk.data */
#define CONTROL_CHUNK_MAX (256u << 10)             /* control attachment chunk */

enum frame_status {
	FRAME_INCOMPLETE = 0, /* not a whole frame buffered yet: wait for more bytes */
	FRAME_READY = 1,      /* body and len describe a whole frame at the buffer's head */
	FRAME_TOO_LARGE = -1, /* announced length > max: close; err says how large */
};

/*
 * Looks at the head of in. FRAME_READY: *body points at len contiguous body bytes
 * inside in (valid until the buffer is changed); the caller must then call
 * frame_consume(in, len). Works with any split of the bytes (1-byte reads included).
 */
enum frame_status frame_peek(struct evbuffer *in, uint32_t max, const uint8_t **body,
    size_t *len, char *err, size_t errlen);
/* As frame_peek, without pulling the body up: FRAME_READY when a whole frame of body
 * length *len is buffered (its header still at the buffer's head). */
enum frame_status frame_length(struct evbuffer *in, uint32_t max, size_t *len, char *err,
    size_t errlen);
/* Drains one frame of body length len (as returned by frame_peek). */
void frame_consume(struct evbuffer *in, size_t len);

/* Appends header + packed msg to out. -1 only when the message exceeds max or on ENOMEM. */
int frame_append(struct evbuffer *out, const ProtobufCMessage *msg, uint32_t max);

/* Plain-memory variants, for the blocking ctl client and the fuzz drivers. */
/* Parses a 4-byte header: the announced length. */
uint32_t frame_header_len(const uint8_t hdr[FRAME_HEADER_LEN]);
void frame_header_put(uint8_t hdr[FRAME_HEADER_LEN], uint32_t len);

#endif
