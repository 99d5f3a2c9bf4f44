/*
 * proof: re-checks, offline and from the store alone, what a stored message proves: the
 * document's signature, its signer's chain to the network CA at the signing time, the
 * payload hash, every attachment byte, and the receipt (signed by the receiving
 * authority, naming the same message and payload hash, chained at its own time); each
 * signer against the effective CRL, where only a revocation dated at or before the
 * signing time voids the signature. Still valid after either side renewed its
 * certificate: each signature carries the certificate that made it. `rogatoryctl
 * verify` and `rogatoryctl export` (its manifest) both report this one result.
 */
#ifndef ROGATORY_PROOF_H
#define ROGATORY_PROOF_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

struct rogatoryd;

#define PROOF_MAX_CHECKS 16  /* 14 at most today */

struct proof_check {
	const char *what;     /* "document signature", "receipt payload hash", ... */
	bool ok;
	char detail[256];     /* why not, or what was found */
};

struct proof {
	bool valid;           /* every check passed */
	size_t n;
	struct proof_check checks[PROOF_MAX_CHECKS];
};

/* Fills p for message m (blobs included). Never fails: a check that cannot run fails. */
void proof_check(struct rogatoryd *d, const struct store_msg *m, struct proof *p);

/* SHA-256 of the stored bytes of attachment index (announced size bytes) of blob set
 * bset, read one piece at a time. 0; -1 when the store could not be read or holds fewer
 * bytes (*got: how many were read). */
int proof_attachment_sha256(struct rogatoryd *d, int64_t bset, uint32_t index, uint64_t size,
    uint8_t out[32], uint64_t *got);

#endif
