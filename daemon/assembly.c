/*
 * assembly: chunk order, sizes and SHA-256 of a message's attachments. It must never
 * take a chunk out of order, a byte beyond an attachment's announced size, or call an
 * attachment complete whose hash differs from the signed manifest's. Errors are the
 * sender's: a status and a message, never fatal (except out of memory).
 */
#include "assembly.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"

static int part_start(struct assembly *a);
static enum assembly_status part_finish(struct assembly *a, char *err, size_t errlen);
static enum assembly_status skip_empty(struct assembly *a, char *err, size_t errlen);

int
assembly_init(struct assembly *a, size_t n, const uint64_t *sizes, const uint8_t *hashes,
    char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	a->n = n;
	a->check = hashes != NULL;
	if (n > 0 && (a->parts = calloc(n, sizeof(*a->parts))) == NULL)
		return err_set(err, errlen, "out of memory");
	for (size_t i = 0; i < n; i++) {
		a->parts[i].size = sizes[i];
		a->total += sizes[i];
		if (hashes != NULL)
			memcpy(a->parts[i].sha256, hashes + i * ASSEMBLY_HASH_LEN, ASSEMBLY_HASH_LEN);
	}
	if ((a->md = EVP_MD_CTX_new()) == NULL || part_start(a) != 0) {
		assembly_free(a);
		return err_set(err, errlen, "cannot start SHA-256");
	}
	/* Leading empty attachments are complete before any chunk. */
	if (skip_empty(a, err, errlen) != ASSEMBLY_MORE) {
		assembly_free(a);
		return -1;
	}
	return 0;
}

void
assembly_free(struct assembly *a)
{
	EVP_MD_CTX_free(a->md);
	free(a->parts);
	memset(a, 0, sizeof(*a));
}

bool
assembly_complete(const struct assembly *a)
{
	return a->cur >= a->n;
}

static int
part_start(struct assembly *a)
{
	a->off = 0;
	return EVP_DigestInit_ex(a->md, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

/* The current attachment has all its bytes: check or record its hash, move on. */
static enum assembly_status
part_finish(struct assembly *a, char *err, size_t errlen)
{
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	struct assembly_part *p = &a->parts[a->cur];
	if (EVP_DigestFinal_ex(a->md, h, &hl) != 1 || hl != ASSEMBLY_HASH_LEN) {
		err_set(err, errlen, "attachment %zu: cannot compute SHA-256", a->cur);
		return ASSEMBLY_MISMATCH;
	}
	if (a->check && memcmp(h, p->sha256, ASSEMBLY_HASH_LEN) != 0) {
		err_set(err, errlen, "attachment %zu: SHA-256 of the %" PRIu64 " bytes received "
		    "differs from the signed manifest's", a->cur, p->size);
		return ASSEMBLY_MISMATCH;
	}
	memcpy(p->sha256, h, ASSEMBLY_HASH_LEN);
	a->cur++;
	if (a->cur < a->n && part_start(a) != 0) {
		err_set(err, errlen, "cannot start SHA-256");
		return ASSEMBLY_MISMATCH;
	}
	return ASSEMBLY_MORE;
}

/* Finishes every empty attachment at the current position. */
static enum assembly_status
skip_empty(struct assembly *a, char *err, size_t errlen)
{
	while (a->cur < a->n && a->parts[a->cur].size == 0) {
		enum assembly_status st = part_finish(a, err, errlen);
		if (st != ASSEMBLY_MORE)
			return st;
	}
	return ASSEMBLY_MORE;
}

enum assembly_status
assembly_check(const struct assembly *a, uint32_t index, uint64_t off, uint64_t len,
    char *err, size_t errlen)
{
	if (assembly_complete(a)) {
		err_set(err, errlen, "chunk for attachment %u at %" PRIu64 " after the last "
		    "attachment was complete", index, off);
		return ASSEMBLY_ORDER;
	}
	if (index != a->cur || off != a->off) {
		err_set(err, errlen, "chunk for attachment %u at offset %" PRIu64 "; expected "
		    "attachment %zu at offset %" PRIu64, index, off, a->cur, a->off);
		return ASSEMBLY_ORDER;
	}
	const struct assembly_part *p = &a->parts[a->cur];
	if (len == 0 || len > p->size - a->off) {
		err_set(err, errlen, "chunk of %" PRIu64 " bytes at offset %" PRIu64 " of "
		    "attachment %zu: its size is %" PRIu64, len, off, a->cur, p->size);
		return ASSEMBLY_OVERRUN;
	}
	return ASSEMBLY_MORE;
}

enum assembly_status
assembly_add(struct assembly *a, uint32_t index, uint64_t off, const uint8_t *data,
    size_t len, char *err, size_t errlen)
{
	enum assembly_status c = assembly_check(a, index, off, len, err, errlen);
	if (c != ASSEMBLY_MORE)
		return c;
	struct assembly_part *p = &a->parts[a->cur];
	if (EVP_DigestUpdate(a->md, data, len) != 1) {
		err_set(err, errlen, "cannot compute SHA-256");
		return ASSEMBLY_MISMATCH;
	}
	a->off += len;
	a->received += len;
	if (a->off == p->size) {
		enum assembly_status st = part_finish(a, err, errlen);
		if (st == ASSEMBLY_MORE)
			st = skip_empty(a, err, errlen);
		if (st != ASSEMBLY_MORE)
			return st;
	}
	return assembly_complete(a) ? ASSEMBLY_COMPLETE : ASSEMBLY_MORE;
}

int
assembly_prefix_sha256(const struct assembly *a, uint8_t out[ASSEMBLY_HASH_LEN])
{
	unsigned hl = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c != NULL && a->md != NULL && EVP_MD_CTX_copy_ex(c, a->md) == 1 &&
	    EVP_DigestFinal_ex(c, out, &hl) == 1 && hl == ASSEMBLY_HASH_LEN;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}
