/*
 * assembly: attachments put together from chunks against a manifest: in order only,
 * never beyond a size, never complete with a SHA-256 other than the manifest's; hashes
 * computed for an upload; empty attachments; and the store side of staging: chunks of a
 * blob set that no message names are dropped (by op, and at the next open).
 */
#include <criterion/criterion.h>

#include <string.h>

#include <openssl/sha.h>

#include "assembly.h"

static uint8_t data[3000];

static void
fill(void)
{
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 7);
}

/* Manifest of two attachments: data[0..1000) and data[1000..3000). */
static void
manifest(uint64_t sizes[2], uint8_t hashes[64])
{
	fill();
	sizes[0] = 1000;
	sizes[1] = 2000;
	SHA256(data, 1000, hashes);
	SHA256(data + 1000, 2000, hashes + 32);
}

Test(assembly, in_order_chunks_complete_and_match)
{
	uint64_t sizes[2];
	uint8_t hashes[64];
	char err[256];
	struct assembly a;
	manifest(sizes, hashes);
	cr_assert_eq(assembly_init(&a, 2, sizes, hashes, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(assembly_add(&a, 0, 0, data, 600, err, sizeof(err)), ASSEMBLY_MORE);
	cr_assert_eq(assembly_add(&a, 0, 600, data + 600, 400, err, sizeof(err)), ASSEMBLY_MORE);
	cr_assert_eq(assembly_add(&a, 1, 0, data + 1000, 1500, err, sizeof(err)), ASSEMBLY_MORE);
	cr_assert_not(assembly_complete(&a));
	cr_assert_eq(assembly_add(&a, 1, 1500, data + 2500, 500, err, sizeof(err)),
	    ASSEMBLY_COMPLETE, "%s", err);
	cr_assert(assembly_complete(&a));
	cr_assert_eq(a.received, 3000);
	/* Nothing more is taken after the end. */
	cr_assert_eq(assembly_add(&a, 1, 2000, data, 1, err, sizeof(err)), ASSEMBLY_ORDER);
	assembly_free(&a);
}

Test(assembly, out_of_order_or_missing_chunk_refused)
{
	uint64_t sizes[2];
	uint8_t hashes[64];
	char err[256];
	struct assembly a;
	manifest(sizes, hashes);
	cr_assert_eq(assembly_init(&a, 2, sizes, hashes, err, sizeof(err)), 0);
	/* A gap (offset 500 before 0..500). */
	cr_assert_eq(assembly_add(&a, 0, 500, data + 500, 500, err, sizeof(err)), ASSEMBLY_ORDER);
	cr_assert(strstr(err, "expected attachment 0 at offset 0") != NULL, "%s", err);
	/* The second attachment before the first is complete. */
	cr_assert_eq(assembly_add(&a, 0, 0, data, 500, err, sizeof(err)), ASSEMBLY_MORE);
	cr_assert_eq(assembly_add(&a, 1, 0, data + 1000, 10, err, sizeof(err)), ASSEMBLY_ORDER);
	/* The same chunk twice. */
	cr_assert_eq(assembly_add(&a, 0, 0, data, 500, err, sizeof(err)), ASSEMBLY_ORDER);
	assembly_free(&a);
}

Test(assembly, overrun_and_hash_mismatch_refused)
{
	uint64_t sizes[2];
	uint8_t hashes[64];
	char err[256];
	struct assembly a;
	manifest(sizes, hashes);
	cr_assert_eq(assembly_init(&a, 2, sizes, hashes, err, sizeof(err)), 0);
	cr_assert_eq(assembly_add(&a, 0, 0, data, 1001, err, sizeof(err)), ASSEMBLY_OVERRUN);
	cr_assert(strstr(err, "its size is 1000") != NULL, "%s", err);
	assembly_free(&a);

	/* One byte changed: the attachment's end says so. */
	cr_assert_eq(assembly_init(&a, 2, sizes, hashes, err, sizeof(err)), 0);
	uint8_t bad[1000];
	memcpy(bad, data, sizeof(bad));
	bad[999] ^= 1;
	cr_assert_eq(assembly_add(&a, 0, 0, bad, 1000, err, sizeof(err)), ASSEMBLY_MISMATCH);
	cr_assert(strstr(err, "differs from the signed manifest") != NULL, "%s", err);
	assembly_free(&a);
}

Test(assembly, upload_computes_hashes_and_skips_empty_parts)
{
	uint64_t sizes[4] = {0, 1000, 0, 0};
	char err[256];
	struct assembly a;
	fill();
	cr_assert_eq(assembly_init(&a, 4, sizes, NULL, err, sizeof(err)), 0);
	cr_assert_eq(a.cur, 1, "the leading empty attachment is complete at once");
	cr_assert_eq(assembly_add(&a, 1, 0, data, 1000, err, sizeof(err)), ASSEMBLY_COMPLETE,
	    "%s", err);
	uint8_t h[32], empty[32];
	SHA256(data, 1000, h);
	SHA256((const uint8_t *)"", 0, empty);
	cr_assert_arr_eq(a.parts[1].sha256, h, 32);
	cr_assert_arr_eq(a.parts[0].sha256, empty, 32);
	cr_assert_arr_eq(a.parts[3].sha256, empty, 32);
	assembly_free(&a);

	uint64_t none[1] = {0};
	cr_assert_eq(assembly_init(&a, 1, none, NULL, err, sizeof(err)), 0);
	cr_assert(assembly_complete(&a));
	assembly_free(&a);
	cr_assert_eq(assembly_init(&a, 0, NULL, NULL, err, sizeof(err)), 0);
	cr_assert(assembly_complete(&a));
	assembly_free(&a);
}

Test(assembly, empty_attachment_with_a_wrong_hash_refused_at_once)
{
	uint64_t sizes[1] = {0};
	uint8_t wrong[32];
	char err[256];
	struct assembly a;
	memset(wrong, 0xab, sizeof(wrong));
	cr_assert_eq(assembly_init(&a, 1, sizes, wrong, err, sizeof(err)), -1);
	cr_assert(strstr(err, "differs from the signed manifest") != NULL, "%s", err);
}

/* A chunk that runs past its attachment's end is judged whole before any piece is fed:
 * OVERRUN however a buffer splits it, and nothing of it hashed (the review's case: 1,000
 * + 1 bytes in two pieces went ORDER with 1,000 of them counted). */
Test(assembly, a_chunk_is_judged_whole_before_its_pieces)
{
	uint64_t sizes[2];
	uint8_t hashes[64];
	char err[256];
	struct assembly a;
	manifest(sizes, hashes);
	cr_assert_eq(assembly_init(&a, 2, sizes, hashes, err, sizeof(err)), 0);
	cr_assert_eq(assembly_check(&a, 0, 0, 1001, err, sizeof(err)), ASSEMBLY_OVERRUN);
	cr_assert(strstr(err, "its size is 1000") != NULL, "%s", err);
	cr_assert_eq(assembly_check(&a, 1, 0, 10, err, sizeof(err)), ASSEMBLY_ORDER);
	cr_assert_eq(a.off, 0);
	cr_assert_eq(a.received, 0);
	cr_assert_eq(assembly_check(&a, 0, 0, 1000, err, sizeof(err)), ASSEMBLY_MORE);
	/* Untouched by the checks: the same attachment still goes in, in two pieces. */
	cr_assert_eq(assembly_add(&a, 0, 0, data, 600, err, sizeof(err)), ASSEMBLY_MORE);
	cr_assert_eq(assembly_add(&a, 0, 600, data + 600, 400, err, sizeof(err)), ASSEMBLY_MORE);
	cr_assert_eq(a.cur, 1);
	assembly_free(&a);
}
