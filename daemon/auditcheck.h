/*
 * auditcheck: an audit proof bundle (auditproof.h, PROTOCOL.md section 15.6) checked
 * offline against the network CA alone, for `rogatoryctl audit check FILE --ca CA.crt`:
 * the checkpoint's signature and that its signer is the origin it names, every entry's
 * inclusion proof under the checkpoint's root, every cosignature's signature, witness
 * and the checkpoint it names, each signer's certificate chained to the CA at the time
 * it signed. It trusts nothing in the bundle that a signature or a hash does not bind
 * (the JSON's conveniences, "shows" and the copies of sizes and roots, are ignored).
 */
#ifndef ROGATORY_AUDITCHECK_H
#define ROGATORY_AUDITCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "text.h"

#define AUDITCHECK_COSIGNERS_MAX 64

struct auditcheck {
	char origin[AUTHORITY_ID_MAX + 1];
	uint64_t size;                  /* the checkpoint's tree size */
	int64_t time_ms;                /* when the origin signed it */
	size_t entries;                 /* entries proven */
	size_t cosigners;
	char cosigner[AUDITCHECK_COSIGNERS_MAX][AUTHORITY_ID_MAX + 1];
	int64_t cosigned_ms[AUDITCHECK_COSIGNERS_MAX];
	char problem[512];              /* the first check that failed */
};

/* 0 when everything holds; -1 with r->problem naming what did not (the bundle's place:
 * "entries[2] (seq 17): ..."). */
int auditcheck_bundle(const json_t *bundle, const char *ca_path, struct auditcheck *r);

#endif
