/*
 * fuzz_assembly: chunk assembly against a manifest. The input is a manifest (a count and
 * sizes, each attachment's expected SHA-256 taken from its bytes in the input or, when
 * the flag bit says so, deliberately wrong) followed by a stream of chunk headers
 * (index, offset, length) cutting the input's bytes. Checks: a COMPLETE never happens
 * unless every attachment got exactly its size with the manifest's hash; bytes counted
 * equal the bytes accepted; nothing is accepted after completion.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "assembly.h"
#include "fuzz.h"

#define FA_MAX_PARTS 8

static uint32_t
take(const uint8_t **p, size_t *n, size_t k)
{
	uint32_t v = 0;
	for (size_t i = 0; i < k && *n > 0; i++, (*p)++, (*n)--)
		v = v << 8 | **p;
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	size_t n = size;
	size_t parts = take(&p, &n, 1) % (FA_MAX_PARTS + 1);
	bool wrong = (take(&p, &n, 1) & 1) != 0;
	uint64_t sizes[FA_MAX_PARTS];
	uint8_t hashes[FA_MAX_PARTS * 32];
	/* The bytes of attachment i, if sent in order, are the next sizes[i] input bytes
	 * after the headers; the expected hash is of those (or wrong). */
	for (size_t i = 0; i < parts; i++)
		sizes[i] = take(&p, &n, 1) % 64;
	const uint8_t *body = p;
	size_t body_len = n;
	size_t at = 0;
	for (size_t i = 0; i < parts; i++) {
		size_t have = body_len - at < sizes[i] ? body_len - at : (size_t)sizes[i];
		SHA256(body + at, have, hashes + i * 32);
		if (wrong && i == 0)
			hashes[0] ^= 1;
		at += have;
	}
	struct assembly a;
	char err[256];
	if (assembly_init(&a, parts, sizes, hashes, err, sizeof(err)) != 0)
		return 0;
	/* Chunks: each header byte picks (index, offset delta, length). */
	uint64_t accepted = 0;
	size_t pos = 0;
	while (n > 0) {
		uint8_t h = (uint8_t)take(&p, &n, 1);
		uint32_t idx = (uint32_t)(h >> 5) % (FA_MAX_PARTS + 1);
		uint64_t off = a.off + ((h & 0x10) ? (h & 3) : 0);
		size_t len = 1 + (h & 0x0f);
		if (pos + len > body_len)
			len = body_len > pos ? body_len - pos : 0;
		if (len == 0)
			break;
		bool was_complete = assembly_complete(&a);
		enum assembly_status st = assembly_add(&a, idx, off, body + pos, len, err,
		    sizeof(err));
		if (was_complete && st != ASSEMBLY_ORDER)
			abort();
		if (st == ASSEMBLY_MORE || st == ASSEMBLY_COMPLETE) {
			accepted += len;
			pos += len;
		} else if (st == ASSEMBLY_MISMATCH) {
			/* The chunk was hashed (counted) before its attachment's end said no. */
			accepted += len;
			if (!wrong)
				abort();   /* every hash is right unless the flag made one wrong */
			break;
		} else if (st == ASSEMBLY_OVERRUN) {
			break;
		}
		if (st == ASSEMBLY_COMPLETE) {
			uint64_t total = 0;
			for (size_t i = 0; i < parts; i++)
				total += sizes[i];
			if (accepted != total || a.received != total || wrong)
				abort();
		}
	}
	if (a.received != accepted)
		abort();
	assembly_free(&a);
	return 0;
}
