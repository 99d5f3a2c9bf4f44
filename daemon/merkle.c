/*
 * merkle: RFC 6962 tree hashing, the compact frontier, and proofs (contract in merkle.h).
 * It must never hash a byte differently from RFC 6962: the independent verifier in the
 * test suite (tests/tools/verify-audit) and any court's tool re-derive the same roots.
 */
#include "merkle.h"

#include <pthread.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "log.h"

static void sha256_parts(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
    const uint8_t *c, size_t clen, uint8_t out[MERKLE_HASH_LEN]);
static uint64_t split_point(uint64_t n);
static int append_path(uint64_t m, uint64_t lo, uint64_t hi, merkle_get_fn get, void *arg,
    uint8_t path[][MERKLE_HASH_LEN], size_t *n);
static int append_subproof(uint64_t m, uint64_t lo, uint64_t hi, bool whole, merkle_get_fn get,
    void *arg, uint8_t proof[][MERKLE_HASH_LEN], size_t *len);

/* SHA-256 fetched once: OpenSSL 3 looks an implicit EVP_sha256() up at every init,
 * which cost more than the hashing of an entry (make bench, "audit log"). */
static EVP_MD *merkle_sha256;
static pthread_once_t merkle_once = PTHREAD_ONCE_INIT;

static void
fetch_sha256(void)
{
	merkle_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* SHA-256 of the concatenation; an OpenSSL failure (no memory) leaves a zero hash,
 * which matches nothing, so it can only make a check fail. */
static void
sha256_parts(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, const uint8_t *c,
    size_t clen, uint8_t out[MERKLE_HASH_LEN])
{
	pthread_once(&merkle_once, fetch_sha256);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	if (md == NULL || merkle_sha256 == NULL ||
	    EVP_DigestInit_ex2(md, merkle_sha256, NULL) != 1 ||
	    EVP_DigestUpdate(md, a, alen) != 1 || (blen > 0 && EVP_DigestUpdate(md, b, blen) != 1) ||
	    (clen > 0 && EVP_DigestUpdate(md, c, clen) != 1) ||
	    EVP_DigestFinal_ex(md, out, &n) != 1 || n != MERKLE_HASH_LEN) {
		memset(out, 0, MERKLE_HASH_LEN);
		ERR_clear_error();
		log_err("merkle: SHA-256 failed");
	}
	EVP_MD_CTX_free(md);
}

void
merkle_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
	static const uint8_t zero = 0x00;
	sha256_parts(&zero, 1, entry, len, NULL, 0, out);
}

void
merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
    uint8_t out[MERKLE_HASH_LEN])
{
	static const uint8_t one = 0x01;
	sha256_parts(&one, 1, left, MERKLE_HASH_LEN, right, MERKLE_HASH_LEN, out);
}

int
merkle_hash_from_hex(const char *hex, uint8_t out[MERKLE_HASH_LEN])
{
	static const char digits[] = "0123456789abcdef";
	if (hex == NULL || strlen(hex) != 2 * MERKLE_HASH_LEN)
		return -1;
	for (size_t i = 0; i < 2 * MERKLE_HASH_LEN; i++) {
		const char *d = strchr(digits, hex[i]);
		if (d == NULL || *d == '\0')
			return -1;
		unsigned v = (unsigned)(d - digits);
		out[i / 2] = (uint8_t)(i % 2 == 0 ? v << 4 : out[i / 2] | v);
	}
	return 0;
}

/* ---- the frontier ---- */

int
merkle_append(struct merkle_frontier *f, const uint8_t leaf[MERKLE_HASH_LEN],
    merkle_closed_fn closed, void *arg)
{
	uint8_t h[MERKLE_HASH_LEN];
	uint64_t size = f->size;
	unsigned level = 0;
	if (size == UINT64_MAX)
		return -1;
	memcpy(h, leaf, MERKLE_HASH_LEN);
	/* Each set low bit is a complete subtree the new leaf's side now pairs with. */
	while ((size >> level) & 1) {
		merkle_node_hash(f->node[level], h, h);
		level++;
		if (closed != NULL && closed(arg, level, size >> level, h) != 0)
			return -1;
	}
	memcpy(f->node[level], h, MERKLE_HASH_LEN);
	f->size = size + 1;
	return 0;
}

void
merkle_root(const struct merkle_frontier *f, uint8_t out[MERKLE_HASH_LEN])
{
	bool any = false;
	if (f->size == 0) {
		sha256_parts(NULL, 0, NULL, 0, NULL, 0, out);
		return;
	}
	/* The right edge folds from the smallest subtree up: MTH splits at the largest
	 * power of two, so the bigger subtree is always on the left. */
	for (unsigned l = 0; l < MERKLE_LEVELS; l++) {
		if (((f->size >> l) & 1) == 0)
			continue;
		if (!any)
			memcpy(out, f->node[l], MERKLE_HASH_LEN);
		else
			merkle_node_hash(f->node[l], out, out);
		any = true;
	}
}

size_t
merkle_frontier_pack(const struct merkle_frontier *f, uint8_t *out)
{
	size_t n = 8;
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(f->size >> (56 - 8 * i));
	for (unsigned l = 0; l < MERKLE_LEVELS; l++) {
		if (((f->size >> l) & 1) == 0)
			continue;
		memcpy(out + n, f->node[l], MERKLE_HASH_LEN);
		n += MERKLE_HASH_LEN;
	}
	return n;
}

int
merkle_frontier_unpack(const uint8_t *buf, size_t len, struct merkle_frontier *f)
{
	if (len < 8)
		return -1;
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 8; i++)
		f->size = f->size << 8 | buf[i];
	if (len != 8 + (size_t)__builtin_popcountll(f->size) * MERKLE_HASH_LEN)
		return -1;
	size_t n = 8;
	for (unsigned l = 0; l < MERKLE_LEVELS; l++) {
		if (((f->size >> l) & 1) == 0)
			continue;
		memcpy(f->node[l], buf + n, MERKLE_HASH_LEN);
		n += MERKLE_HASH_LEN;
	}
	return 0;
}

/* ---- proofs ---- */

/* The largest power of two strictly below n (n >= 2): where MTH splits n leaves. */
static uint64_t
split_point(uint64_t n)
{
	uint64_t k = 1;
	while (k << 1 < n)
		k <<= 1;
	return k;
}

int
merkle_range_hash(uint64_t lo, uint64_t hi, merkle_get_fn get, void *arg,
    uint8_t out[MERKLE_HASH_LEN])
{
	uint64_t n = hi > lo ? hi - lo : 0;
	if (n == 0)
		return -1;
	/* A complete, aligned subtree is one stored node; RFC 6962's recursion only ever
	 * asks for aligned left halves, the right edge being split further. */
	if ((n & (n - 1)) == 0 && lo % n == 0) {
		unsigned level = (unsigned)__builtin_ctzll(n);
		return get(arg, level, lo >> level, out);
	}
	uint8_t l[MERKLE_HASH_LEN], r[MERKLE_HASH_LEN];
	uint64_t k = split_point(n);
	if (merkle_range_hash(lo, lo + k, get, arg, l) != 0 ||
	    merkle_range_hash(lo + k, hi, get, arg, r) != 0)
		return -1;
	merkle_node_hash(l, r, out);
	return 0;
}

static int
append_path(uint64_t m, uint64_t lo, uint64_t hi, merkle_get_fn get, void *arg,
    uint8_t path[][MERKLE_HASH_LEN], size_t *n)
{
	uint64_t size = hi - lo;
	if (size <= 1)
		return 0;
	uint64_t k = split_point(size);
	int rc = m < k ? append_path(m, lo, lo + k, get, arg, path, n)
	               : append_path(m - k, lo + k, hi, get, arg, path, n);
	if (rc != 0 || *n >= MERKLE_PROOF_MAX)
		return -1;
	rc = m < k ? merkle_range_hash(lo + k, hi, get, arg, path[*n])
	           : merkle_range_hash(lo, lo + k, get, arg, path[*n]);
	if (rc == 0)
		(*n)++;
	return rc;
}

int
merkle_inclusion_proof(uint64_t index, uint64_t size, merkle_get_fn get, void *arg,
    uint8_t path[][MERKLE_HASH_LEN], size_t *n)
{
	*n = 0;
	if (index >= size)
		return -1;
	return append_path(index, 0, size, get, arg, path, n);
}

/* RFC 6962 SUBPROOF(m, D[lo:hi], whole). */
static int
append_subproof(uint64_t m, uint64_t lo, uint64_t hi, bool whole, merkle_get_fn get, void *arg,
    uint8_t proof[][MERKLE_HASH_LEN], size_t *len)
{
	uint64_t size = hi - lo;
	if (m == size) {
		if (whole)
			return 0;
		if (*len >= MERKLE_PROOF_MAX)
			return -1;
		if (merkle_range_hash(lo, hi, get, arg, proof[*len]) != 0)
			return -1;
		(*len)++;
		return 0;
	}
	uint64_t k = split_point(size);
	int rc = m <= k ? append_subproof(m, lo, lo + k, whole, get, arg, proof, len)
	                : append_subproof(m - k, lo + k, hi, false, get, arg, proof, len);
	if (rc != 0 || *len >= MERKLE_PROOF_MAX)
		return -1;
	rc = m <= k ? merkle_range_hash(lo + k, hi, get, arg, proof[*len])
	            : merkle_range_hash(lo, lo + k, get, arg, proof[*len]);
	if (rc == 0)
		(*len)++;
	return rc;
}

int
merkle_consistency_proof(uint64_t m, uint64_t n, merkle_get_fn get, void *arg,
    uint8_t proof[][MERKLE_HASH_LEN], size_t *len)
{
	*len = 0;
	if (m == 0 || m > n)
		return -1;
	if (m == n)
		return 0;
	return append_subproof(m, 0, n, true, get, arg, proof, len);
}

bool
merkle_inclusion_verify(uint64_t index, uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
    const uint8_t path[][MERKLE_HASH_LEN], size_t n, const uint8_t root[MERKLE_HASH_LEN])
{
	if (index >= size)
		return false;
	uint64_t fn = index, sn = size - 1;
	uint8_t r[MERKLE_HASH_LEN];
	memcpy(r, leaf, MERKLE_HASH_LEN);
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(path[i], r, r);
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(r, path[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, MERKLE_HASH_LEN) == 0;
}

bool
merkle_consistency_verify(uint64_t m, uint64_t n, const uint8_t root_m[MERKLE_HASH_LEN],
    const uint8_t root_n[MERKLE_HASH_LEN], const uint8_t proof[][MERKLE_HASH_LEN], size_t len)
{
	if (m == 0 || m > n)
		return false;
	if (m == n)
		return len == 0 && memcmp(root_m, root_n, MERKLE_HASH_LEN) == 0;
	/* A first tree that is a complete subtree is its own first proof node. */
	bool pow2 = (m & (m - 1)) == 0;
	size_t total = len + (pow2 ? 1 : 0);
	if (total == 0)
		return false;
	const uint8_t *first = pow2 ? root_m : proof[0];
	size_t next = pow2 ? 0 : 1;
	uint64_t fn = m - 1, sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	uint8_t fr[MERKLE_HASH_LEN], sr[MERKLE_HASH_LEN];
	memcpy(fr, first, MERKLE_HASH_LEN);
	memcpy(sr, first, MERKLE_HASH_LEN);
	for (size_t i = next; i < len; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], fr, fr);
			merkle_node_hash(proof[i], sr, sr);
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(fr, root_m, MERKLE_HASH_LEN) == 0 &&
	    memcmp(sr, root_n, MERKLE_HASH_LEN) == 0;
}
