/*
 * proof: re-checks, offline and from the store alone, what a stored message proves: the
 * document's signature, its signer's chain to the network CA at the signing time, the
 * payload hash, and the receipt (signed by the receiving authority, naming the same
 * message and payload hash, chained at its own time). Still valid after either side
 * renewed its certificate: each signature carries the certificate that made it.
 */
#ifndef ROGATORY_PROOF_H
#define ROGATORY_PROOF_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

struct rogatoryd;

#define PROOF_MAX_CHECKS 12

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

#endif
