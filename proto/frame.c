/*
 * frame: the 4-byte big-endian length prefix around every protobuf message, on peer
 * links and on the control socket. It must never buffer, pull up or allocate for a body
 * whose announced length is above the caller's limit.
 */
#include "frame.h"

#include <event2/buffer.h>

#include "log.h"

uint32_t
frame_header_len(const uint8_t hdr[FRAME_HEADER_LEN])
{
	return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 |
	    (uint32_t)hdr[3];
}

void
frame_header_put(uint8_t hdr[FRAME_HEADER_LEN], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

enum frame_status
frame_length(struct evbuffer *in, uint32_t max, size_t *len, char *err, size_t errlen)
{
	uint8_t hdr[FRAME_HEADER_LEN];

	/* copyout, not pullup: the header may straddle two chains, and pulling it up
	 * would not copy less; a body is only ever pulled up once its length passed. */
	if (evbuffer_get_length(in) < FRAME_HEADER_LEN ||
	    evbuffer_copyout(in, hdr, FRAME_HEADER_LEN) != FRAME_HEADER_LEN)
		return FRAME_INCOMPLETE;
	uint32_t n = frame_header_len(hdr);
	if (n > max) {
		err_set(err, errlen, "frame of %u bytes exceeds the limit of %u", n, max);
		return FRAME_TOO_LARGE;
	}
	if (evbuffer_get_length(in) < (size_t)FRAME_HEADER_LEN + n)
		return FRAME_INCOMPLETE;
	*len = n;
	return FRAME_READY;
}

enum frame_status
frame_peek(struct evbuffer *in, uint32_t max, const uint8_t **body, size_t *len,
    char *err, size_t errlen)
{
	size_t n;
	enum frame_status st = frame_length(in, max, &n, err, errlen);
	if (st != FRAME_READY)
		return st;
	const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)(FRAME_HEADER_LEN + n));
	if (p == NULL) {
		/* Only ENOMEM makes a pullup of buffered bytes fail; the link cannot go on
		 * either way, so the caller closes as for an oversized frame. */
		err_set(err, errlen, "out of memory assembling a frame of %zu bytes", n);
		return FRAME_TOO_LARGE;
	}
	*body = p + FRAME_HEADER_LEN;
	*len = n;
	return FRAME_READY;
}

void
frame_consume(struct evbuffer *in, size_t len)
{
	evbuffer_drain(in, FRAME_HEADER_LEN + len);
}

int
frame_append(struct evbuffer *out, const ProtobufCMessage *msg, uint32_t max)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	if (n > max)
		return -1;
	/* One contiguous reservation: the message is packed straight into the output
	 * buffer, never through a temporary copy. */
	struct evbuffer_iovec v;
	if (evbuffer_reserve_space(out, (ev_ssize_t)(FRAME_HEADER_LEN + n), &v, 1) != 1 ||
	    v.iov_len < FRAME_HEADER_LEN + n)
		return -1;
	uint8_t *p = v.iov_base;
	frame_header_put(p, (uint32_t)n);
	if (protobuf_c_message_pack(msg, p + FRAME_HEADER_LEN) != n)
		return -1;
	v.iov_len = FRAME_HEADER_LEN + n;
	return evbuffer_commit_space(out, &v, 1) == 0 ? 0 : -1;
}
