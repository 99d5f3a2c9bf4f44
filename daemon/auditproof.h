/*
 * auditproof: inclusion proof bundles of audit entries (PROTOCOL.md section 15.6), as
 * `rogatoryctl audit prove` answers them and `export` carries them (audit.json): the
 * entries' exact bytes, their leaf indexes and RFC 6962 audit paths, the signed
 * checkpoint they are proven under, its cosignatures, and every signer's certificate. It
 * only reads the store; what it hands out is checked by auditcheck.h (or by hand).
 */
#ifndef ROGATORY_AUDITPROOF_H
#define ROGATORY_AUDITPROOF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

#define AUDITPROOF_FORMAT "rogatory-audit-proof/1"
/* Entries in one bundle (a message's events; a message retried for weeks has many). */
#define AUDITPROOF_ENTRIES_MAX 4096

/* The bundle of entries seqs[0..n) (each <= cp->size) of origin's log under its stored
 * checkpoint cp, with cp's cosignatures. NULL + err when an entry or a hash of the tree
 * is missing from the store. */
json_t *auditproof_bundle(struct store *s, const char *origin, const int64_t *seqs, size_t n,
    const struct store_checkpoint *cp, char *err, size_t errlen);

/* The seqs of the events of message msg_id exchanged with peer in direction dir, oldest
 * first, into seqs (max); the count, or -1 (logged). */
int auditproof_message_seqs(struct store *s, const char *msg_id, const char *peer,
    enum store_dir dir, int64_t *seqs, int max);

#endif
