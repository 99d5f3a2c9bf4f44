/*
 * merkle: RFC 6962 hashing against the Certificate Transparency test vectors, the
 * frontier against a naive MTH for every size up to 70, inclusion and consistency
 * proofs made and checked for every index and every pair of sizes, and refused with
 * one bit flipped, a wrong index or leaf, a first tree rewritten.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"

#define MAXN 70

static uint8_t leaves[MAXN][MERKLE_HASH_LEN];

static void
hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* The naive definition, for [lo, hi). */
static void
mth(uint64_t lo, uint64_t hi, uint8_t out[MERKLE_HASH_LEN])
{
	if (hi - lo == 1) {
		memcpy(out, leaves[lo], MERKLE_HASH_LEN);
		return;
	}
	uint64_t k = 1;
	while (k * 2 < hi - lo)
		k *= 2;
	uint8_t l[MERKLE_HASH_LEN], r[MERKLE_HASH_LEN];
	mth(lo, lo + k, l);
	mth(lo + k, hi, r);
	merkle_node_hash(l, r, out);
}

static int
get_node(void *arg, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	uint64_t n = *(uint64_t *)arg;
	uint64_t lo = index << level, hi = (index + 1) << level;
	if (hi > n)
		return -1;  /* never asked for a subtree beyond the tree */
	mth(lo, hi, out);
	return 0;
}

static void
make_leaves(void)
{
	for (int i = 0; i < MAXN; i++) {
		uint8_t e[16];
		snprintf((char *)e, sizeof(e), "e%d", i);
		merkle_leaf_hash(e, strlen((char *)e), leaves[i]);
	}
}

Test(merkle, rfc6962_test_vectors)
{
	/* certificate-transparency merkle_tree_test.cc: the eight inputs and the roots. */
	static const struct {
		const char *data;
		size_t len;
	} in[8] = {
		{"", 0}, {"\x00", 1}, {"\x10", 1}, {"\x20\x21", 2}, {"\x30\x31", 2},
		{"\x40\x41\x42\x43", 4}, {"\x50\x51\x52\x53\x54\x55\x56\x57", 8},
		{"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16},
	};
	static const char *const roots[8] = {
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	};
	struct merkle_frontier f = {0};
	uint8_t root[MERKLE_HASH_LEN], leaf[MERKLE_HASH_LEN];
	char h[65];
	merkle_root(&f, root);
	hex(root, 32, h);
	cr_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	for (int i = 0; i < 8; i++) {
		merkle_leaf_hash((const uint8_t *)in[i].data, in[i].len, leaf);
		cr_assert_eq(merkle_append(&f, leaf, NULL, NULL), 0);
		merkle_root(&f, root);
		hex(root, 32, h);
		cr_assert_str_eq(h, roots[i], "root of %d leaves", i + 1);
	}
}

static int closed_count;
static int
count_closed(void *arg, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_LEN])
{
	(void)arg;
	uint8_t want[MERKLE_HASH_LEN];
	mth(index << level, (index + 1) << level, want);
	cr_assert_eq(memcmp(want, hash, MERKLE_HASH_LEN), 0, "closed node %u/%llu", level,
	    (unsigned long long)index);
	closed_count++;
	return 0;
}

Test(merkle, frontier_equals_naive_root_and_survives_packing)
{
	make_leaves();
	struct merkle_frontier f = {0}, g;
	uint8_t buf[MERKLE_FRONTIER_PACKED_MAX];
	closed_count = 0;
	for (uint64_t n = 1; n <= MAXN; n++) {
		cr_assert_eq(merkle_append(&f, leaves[n - 1], count_closed, NULL), 0);
		uint8_t a[MERKLE_HASH_LEN], b[MERKLE_HASH_LEN];
		merkle_root(&f, a);
		mth(0, n, b);
		cr_assert_eq(memcmp(a, b, MERKLE_HASH_LEN), 0, "size %llu", (unsigned long long)n);
		size_t len = merkle_frontier_pack(&f, buf);
		cr_assert_eq(len, 8 + 32 * (size_t)__builtin_popcountll(n));
		cr_assert_eq(merkle_frontier_unpack(buf, len, &g), 0);
		merkle_root(&g, b);
		cr_assert_eq(memcmp(a, b, MERKLE_HASH_LEN), 0);
		cr_assert_eq(merkle_frontier_unpack(buf, len - 1, &g), -1, "short buffer refused");
	}
	/* Every internal node of a complete subtree is closed exactly once: n - popcount. */
	cr_assert_eq(closed_count, MAXN - __builtin_popcount(MAXN));
}

Test(merkle, inclusion_proofs_for_every_index_and_refusals)
{
	make_leaves();
	uint8_t path[MERKLE_PROOF_MAX][MERKLE_HASH_LEN], root[MERKLE_HASH_LEN];
	for (uint64_t n = 1; n <= MAXN; n++) {
		mth(0, n, root);
		for (uint64_t i = 0; i < n; i++) {
			size_t len = 0;
			cr_assert_eq(merkle_inclusion_proof(i, n, get_node, &n, path, &len), 0);
			cr_assert(merkle_inclusion_verify(i, n, leaves[i], path, len, root),
			    "leaf %llu of %llu", (unsigned long long)i, (unsigned long long)n);
			if (n > 1)
				cr_assert_not(merkle_inclusion_verify((i + 1) % n, n, leaves[i], path, len,
				    root), "another index");
			for (size_t k = 0; k < len; k++) {
				path[k][k % 32] ^= 0x04;
				cr_assert_not(merkle_inclusion_verify(i, n, leaves[i], path, len, root),
				    "flipped bit in hash %zu", k);
				path[k][k % 32] ^= 0x04;
			}
			uint8_t bad[MERKLE_HASH_LEN];
			memcpy(bad, leaves[i], sizeof(bad));
			bad[31] ^= 1;
			cr_assert_not(merkle_inclusion_verify(i, n, bad, path, len, root));
		}
	}
	size_t len;
	cr_assert_eq(merkle_inclusion_proof(5, 5, get_node, &(uint64_t){5}, path, &len), -1);
}

Test(merkle, consistency_proofs_for_every_pair_and_refusals)
{
	make_leaves();
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_LEN], rm[MERKLE_HASH_LEN], rn[MERKLE_HASH_LEN];
	for (uint64_t n = 1; n <= 40; n++) {
		mth(0, n, rn);
		for (uint64_t m = 1; m <= n; m++) {
			size_t len = 0;
			mth(0, m, rm);
			cr_assert_eq(merkle_consistency_proof(m, n, get_node, &n, proof, &len), 0);
			cr_assert(merkle_consistency_verify(m, n, rm, rn, proof, len), "%llu -> %llu",
			    (unsigned long long)m, (unsigned long long)n);
			for (size_t k = 0; k < len; k++) {
				proof[k][0] ^= 0x80;
				cr_assert_not(merkle_consistency_verify(m, n, rm, rn, proof, len));
				proof[k][0] ^= 0x80;
			}
			uint8_t other[MERKLE_HASH_LEN];
			memcpy(other, rm, sizeof(other));
			other[3] ^= 1;
			cr_assert_not(merkle_consistency_verify(m, n, other, rn, proof, len),
			    "a rewritten first tree");
			if (m < n)
				cr_assert_not(merkle_consistency_verify(m, n, rm, rm, proof, len));
		}
	}
	size_t len;
	cr_assert_eq(merkle_consistency_proof(0, 3, get_node, &(uint64_t){3}, proof, &len), -1);
	cr_assert_eq(merkle_consistency_proof(4, 3, get_node, &(uint64_t){3}, proof, &len), -1);
}
