/*
 * fuzz_frame: frame_peek over an evbuffer filled in chunks whose sizes come from the
 * input's first bytes, so headers and bodies straddle chains in every way. What it
 * finds is compared with a plain-memory parse of the same stream: any difference (or a
 * frame beyond the limit reported as ready) aborts.
 * Input: [limit selector][4 chunk-size bytes][stream].
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "frame.h"
#include "fuzz.h"

#define FRAME_FUZZ_HEAD 5

static uint32_t frame_fuzz_limit(uint8_t sel);

static uint32_t
frame_fuzz_limit(uint8_t sel)
{
	switch (sel & 3) {
	case 0:
		return 0;
	case 1:
		return 64;
	case 2:
		return FRAME_CONTROL_MAX;
	default:
		return FRAME_PEER_MAX_DEFAULT;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < FRAME_FUZZ_HEAD)
		return 0;
	uint32_t max = frame_fuzz_limit(data[0]);
	const uint8_t *chunks = data + 1;
	const uint8_t *s = data + FRAME_FUZZ_HEAD;
	size_t n = size - FRAME_FUZZ_HEAD;

	struct evbuffer *in = evbuffer_new();
	if (in == NULL)
		abort();
	size_t added = 0, expect = 0; /* expect: offset in s of the next frame's header */
	unsigned k = 0;
	bool stop = false;
	char err[256];
	while (added < n && !stop) {
		size_t c = (size_t)chunks[k++ % 4] + 1;
		if (c > n - added)
			c = n - added;
		/* A reference per chunk keeps each chunk its own chain. */
		if (evbuffer_add_reference(in, s + added, c, NULL, NULL) != 0)
			abort();
		added += c;
		for (;;) {
			const uint8_t *body = NULL;
			size_t len = 0;
			enum frame_status st = frame_peek(in, max, &body, &len, err, sizeof(err));
			/* The reference parse over the bytes added so far. */
			size_t avail = added - expect;
			uint32_t want = avail >= FRAME_HEADER_LEN ? frame_header_len(s + expect) : 0;
			if (st == FRAME_INCOMPLETE) {
				if (avail >= FRAME_HEADER_LEN && want <= max &&
				    avail >= FRAME_HEADER_LEN + (size_t)want)
					abort(); /* a whole frame was there */
				if (avail >= FRAME_HEADER_LEN && want > max)
					abort(); /* an oversized header went unnoticed */
				break;
			}
			if (st == FRAME_TOO_LARGE) {
				if (avail < FRAME_HEADER_LEN || want <= max || err[0] == '\0')
					abort();
				stop = true;
				break;
			}
			if (st != FRAME_READY || len != want || len > max ||
			    avail < FRAME_HEADER_LEN + len ||
			    (len > 0 && memcmp(body, s + expect + FRAME_HEADER_LEN, len) != 0))
				abort();
			frame_consume(in, len);
			expect += FRAME_HEADER_LEN + len;
			if (evbuffer_get_length(in) != added - expect)
				abort();
		}
	}
	evbuffer_free(in);
	return 0;
}
