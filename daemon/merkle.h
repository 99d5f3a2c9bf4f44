/*
 * merkle: the audit log's tree, hashed as RFC 6962 does (and RFC 9162 section 2.1 says
 * again): leaf = SHA-256(0x00 || entry bytes), node = SHA-256(0x01 || left || right),
 * the tree of n leaves split at the largest power of two below n. It keeps a tree as its
 * compact frontier (one hash per complete subtree of the size's binary decomposition),
 * makes inclusion and consistency proofs from a caller's source of complete-subtree
 * hashes, and checks proofs. It reads no store and keeps no state of its own.
 *
 * Return convention: 0 / -1 (a source's failure passes through); predicates are bool.
 */
#ifndef ROGATORY_MERKLE_H
#define ROGATORY_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN 32
#define MERKLE_LEVELS 64
/* Hashes in a proof: at most 2 per level for a consistency proof. */
#define MERKLE_PROOF_MAX 128
/* A packed frontier: 8-byte big-endian size, then one hash per set bit, lowest first. */
#define MERKLE_FRONTIER_PACKED_MAX (8 + MERKLE_LEVELS * MERKLE_HASH_LEN)

/* The tree of `size` leaves as the roots of its complete subtrees: node[l] is the
 * subtree of 2^l leaves when bit l of size is set (undefined otherwise). */
struct merkle_frontier {
	uint64_t size;
	uint8_t node[MERKLE_LEVELS][MERKLE_HASH_LEN];
};

void merkle_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[MERKLE_HASH_LEN]);
void merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
    uint8_t out[MERKLE_HASH_LEN]);

/* A hash written as 64 lower-case hex digits (proof bundles), into out. 0 / -1. */
int merkle_hash_from_hex(const char *hex, uint8_t out[MERKLE_HASH_LEN]);

/* A complete subtree closed by an append: 2^level leaves, the index-th of its level. */
typedef int (*merkle_closed_fn)(void *arg, unsigned level, uint64_t index,
    const uint8_t hash[MERKLE_HASH_LEN]);
/* Appends one leaf hash; closed (may be NULL) hears of every subtree of level >= 1 it
 * completes, lowest first; its -1 stops the append (f unchanged). */
int merkle_append(struct merkle_frontier *f, const uint8_t leaf[MERKLE_HASH_LEN],
    merkle_closed_fn closed, void *arg);
/* The root of the frontier's tree (SHA-256 of nothing for the empty tree). */
void merkle_root(const struct merkle_frontier *f, uint8_t out[MERKLE_HASH_LEN]);
/* The packed form (MERKLE_FRONTIER_PACKED_MAX bytes at most); its length. */
size_t merkle_frontier_pack(const struct merkle_frontier *f, uint8_t *out);
/* -1 when buf is not a packed frontier (length and size disagree). */
int merkle_frontier_unpack(const uint8_t *buf, size_t len, struct merkle_frontier *f);

/* A source of complete-subtree hashes (level 0: the leaf hashes) of a stored tree. */
typedef int (*merkle_get_fn)(void *arg, unsigned level, uint64_t index,
    uint8_t out[MERKLE_HASH_LEN]);
/* The hash of leaves [lo, hi) of a tree whose leaves a source gives (hi > lo). */
int merkle_range_hash(uint64_t lo, uint64_t hi, merkle_get_fn get, void *arg,
    uint8_t out[MERKLE_HASH_LEN]);
/* RFC 6962 PATH(index, D[size]), leaf side first; *n hashes (index < size). */
int merkle_inclusion_proof(uint64_t index, uint64_t size, merkle_get_fn get, void *arg,
    uint8_t path[][MERKLE_HASH_LEN], size_t *n);
/* RFC 6962 PROOF(m, D[n]) for 0 < m <= n (empty when m == n); *len hashes. */
int merkle_consistency_proof(uint64_t m, uint64_t n, merkle_get_fn get, void *arg,
    uint8_t proof[][MERKLE_HASH_LEN], size_t *len);

/* RFC 9162 2.1.3.2: does leaf sit at index of the tree of size with this root? */
bool merkle_inclusion_verify(uint64_t index, uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
    const uint8_t path[][MERKLE_HASH_LEN], size_t n, const uint8_t root[MERKLE_HASH_LEN]);
/* RFC 9162 2.1.4.2: is the tree of size n (root_n) an extension of the one of size m
 * (root_m)? 0 < m <= n; for m == n the proof is empty and the roots equal. */
bool merkle_consistency_verify(uint64_t m, uint64_t n, const uint8_t root_m[MERKLE_HASH_LEN],
    const uint8_t root_n[MERKLE_HASH_LEN], const uint8_t proof[][MERKLE_HASH_LEN], size_t len);

#endif
