/*
 * assembly: puts a message's attachments together from chunks, in order, against their
 * sizes and (when known) their SHA-256 from a signed manifest. It holds no attachment
 * bytes: each chunk is hashed as it passes and then belongs to whoever stores it. Used
 * by the inbox (chunks from a peer, hashes from the signed manifest) and by the control
 * socket (chunks from rogatoryctl, hashes computed here for the manifest to be signed).
 *
 * v1 senders send attachment 0 from offset 0 to its end, then 1, and so on; chunks carry
 * index and offset so that a later version may interleave, which this one refuses.
 */
#ifndef ROGATORY_ASSEMBLY_H
#define ROGATORY_ASSEMBLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ASSEMBLY_HASH_LEN 32

struct assembly_part {
	uint64_t size;
	uint8_t sha256[ASSEMBLY_HASH_LEN];  /* expected (check) or computed at its end */
};

struct assembly {
	size_t n;
	struct assembly_part *parts;
	bool check;            /* parts' sha256 are expected values, not results */
	size_t cur;            /* attachment being received */
	uint64_t off;          /* next offset expected in it */
	uint64_t total;        /* sum of sizes */
	uint64_t received;
	void *md;              /* EVP_MD_CTX of the current attachment */
};

enum assembly_status {
	ASSEMBLY_MORE,         /* chunk taken, more expected */
	ASSEMBLY_COMPLETE,     /* chunk taken, every attachment complete (and matching) */
	ASSEMBLY_ORDER,        /* not the chunk expected next (index/offset): refused */
	ASSEMBLY_OVERRUN,      /* more bytes than the attachment's size: refused */
	ASSEMBLY_MISMATCH,     /* an attachment's SHA-256 differs from the manifest's */
};

/* n parts with their sizes; hashes NULL = compute them (control upload), else the
 * expected values (n * 32 bytes). 0 / -1 + err (out of memory). */
int assembly_init(struct assembly *a, size_t n, const uint64_t *sizes, const uint8_t *hashes,
    char *err, size_t errlen);
void assembly_free(struct assembly *a);
/* Every attachment complete (true at once when all sizes are 0 or n is 0). */
bool assembly_complete(const struct assembly *a);
/* The SHA-256 of the current attachment's bytes so far ([0, off)), its state left as it
 * is: a record of a durable point says what the staged prefix must hash to. 0 / -1. */
int assembly_prefix_sha256(const struct assembly *a, uint8_t out[ASSEMBLY_HASH_LEN]);
/* Whether a chunk of len bytes at (index, off) is the one expected next and fits in its
 * attachment, before any of it is fed: ASSEMBLY_MORE (yes), _ORDER or _OVERRUN (+ err).
 * A chunk fed in pieces is judged whole first, so its verdict never depends on where a
 * buffer splits it. */
enum assembly_status assembly_check(const struct assembly *a, uint32_t index, uint64_t off,
    uint64_t len, char *err, size_t errlen);
/* Feeds one chunk (assembly_check first); err says what was wrong when the status is a
 * refusal. */
enum assembly_status assembly_add(struct assembly *a, uint32_t index, uint64_t off,
    const uint8_t *data, size_t len, char *err, size_t errlen);

#endif
