/*
 * stagerec: the record of a message's durable staging, as text and as the store's
 * start-up sweep reads it: a record round-trips; one cut, edited beyond its manifest or
 * naming a point past an attachment is refused; the prefix hash an assembly gives is the
 * SHA-256 of the bytes so far; at open the store keeps the staging of a valid record cut
 * to its durable point, removes staging without one (or with an invalid one), and never
 * hands out a kept blob set id again.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/sha.h>

#include "../support/support.h"
#include "assembly.h"
#include "stagerec.h"
#include "store.h"

static void
sample(struct stagerec *r)
{
	memset(r, 0, sizeof(*r));
	r->bset = 7;
	snprintf(r->sender, sizeof(r->sender), "BD-ACC");
	snprintf(r->msg_id, sizeof(r->msg_id), "0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b");
	memset(r->payload_hash, 0xab, sizeof(r->payload_hash));
	r->size = 5000;
	r->started_s = 1700000000;
	r->n = 2;
	r->sizes[0] = 1000;
	r->sizes[1] = 3000;
	memset(r->sha256[0], 0x11, STAGEREC_HASH_LEN);
	memset(r->sha256[1], 0x22, STAGEREC_HASH_LEN);
	r->att = 1;
	r->off = 2048;
	memset(r->prefix, 0x33, STAGEREC_HASH_LEN);
}

Test(stagerec, round_trip)
{
	struct stagerec r, back;
	char text[STAGEREC_TEXT_MAX], err[200] = "";
	sample(&r);
	size_t len = stagerec_format(&r, text, sizeof(text));
	cr_assert_eq(stagerec_parse(text, len, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(&r, &back, sizeof(r)), 0, "the record read back differs:\n%s", text);
	cr_assert_eq(stagerec_durable_bytes(&back), 1000 + 2048);
}

/* Each edit of a valid record's text that must be refused, with the line it names. */
static const struct {
	const char *from, *to, *says;
} bad_edits[] = {
	{ "rogatory-staging 1", "rogatory-staging 2", "line 1" },
	{ "bset 7", "bset 8", "names blob set" },
	{ "durable 1 2048", "durable 1 3001", "outside the manifest" },
	{ "durable 1 2048", "durable 2 0", "outside the manifest" },
	{ "att 3000", "att 9000", "larger than the message" },
	{ "attachments 2", "attachments 0", "line 8" },
	{ "payload abab", "payload zzab", "line 5" },
	/* What only a hand on the disk writes: never trusted at start (review of h19-restart). */
	{ "sender BD-ACC", "sender BD-\x1b" "CC", "line 3" },
	{ "message 0190a3c4", "message 0190A3C4", "line 4" },
	{ "size 5000", "size -1", "line 6" },
	{ "started 1700000000", "started -5", "line 7" },
	{ "att 1000", "att -1000", "line 9" },
	{ "att 3000", "att 18446744073709550616", "larger than the message" },   /* 2^64 - 1000 */
	{ "durable 1 2048", "durable 1 -2048", "line 11" },
};

Test(stagerec, edited_or_cut_records_refused)
{
	struct stagerec r, back;
	char text[STAGEREC_TEXT_MAX], edited[STAGEREC_TEXT_MAX], err[200];
	sample(&r);
	size_t len = stagerec_format(&r, text, sizeof(text));
	for (size_t i = 0; i < sizeof(bad_edits) / sizeof(bad_edits[0]); i++) {
		const char *at = strstr(text, bad_edits[i].from);
		cr_assert_not_null(at, "%s", bad_edits[i].from);
		snprintf(edited, sizeof(edited), "%.*s%s%s", (int)(at - text), text, bad_edits[i].to,
		    at + strlen(bad_edits[i].from));
		err[0] = '\0';
		int rc = stagerec_parse(edited, strlen(edited), &back, err, sizeof(err));
		if (strcmp(bad_edits[i].says, "names blob set") == 0) {
			/* Valid text: the store compares the bset with the file's name. */
			cr_assert_eq(rc, 0, "%s", err);
			cr_assert_eq(back.bset, 8);
			continue;
		}
		cr_assert_eq(rc, -1, "accepted: %s", bad_edits[i].to);
		cr_assert_not_null(strstr(err, bad_edits[i].says), "%s: %s", bad_edits[i].to, err);
	}
	for (size_t cut = 0; cut < len; cut += 37)
		cr_assert_eq(stagerec_parse(text, cut, &back, err, sizeof(err)), -1,
		    "a record cut at %zu accepted", cut);
}

Test(stagerec, assembly_prefix_is_the_sha256_so_far)
{
	static uint8_t data[3000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 1);
	uint64_t sizes[1] = {sizeof(data)};
	uint8_t want[32], got[32];
	struct assembly a;
	char err[200];
	cr_assert_eq(assembly_init(&a, 1, sizes, NULL, err, sizeof(err)), 0);
	cr_assert_eq(assembly_add(&a, 0, 0, data, 1234, err, sizeof(err)), ASSEMBLY_MORE);
	cr_assert_eq(assembly_prefix_sha256(&a, got), 0);
	SHA256(data, 1234, want);
	cr_assert_eq(memcmp(got, want, 32), 0);
	/* The state goes on as before: the whole attachment hashes as a whole. */
	cr_assert_eq(assembly_add(&a, 0, 1234, data + 1234, sizeof(data) - 1234, err, sizeof(err)),
	    ASSEMBLY_COMPLETE);
	SHA256(data, sizeof(data), want);
	cr_assert_eq(memcmp(a.parts[0].sha256, want, 32), 0);
	assembly_free(&a);
}

static off_t
file_size(const char *dir, const char *name)
{
	char path[700];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/attachments/staging/%s", dir, name);
	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* Two blob sets staged; the first made durable at 1500 of its 3000 bytes, then 500 more
 * written; the second without a record. Reopened: the first kept, cut to 1500, handed
 * over once; the second removed; a record naming bytes its file lacks removed too. */
Test(stagerec, store_keeps_recorded_staging_cut_to_its_point)
{
	cr_assert(evthread_use_pthreads() == 0);
	struct event_base *base = event_base_new();
	char *dir = ts_tmpdir("stagerec");
	struct store *s = NULL;
	char err[512] = "";
	cr_assert_eq(store_open(dir, 0, base, &s, err, sizeof(err)), 0, "%s", err);
	int64_t keep = store_bset_new(s), lose = store_bset_new(s), bad = store_bset_new(s);
	static uint8_t bytes[2000];
	memset(bytes, 'k', sizeof(bytes));
	struct iovec v = {bytes, sizeof(bytes)};
	for (int i = 0; i < 3; i++)
		cr_assert_eq(store_stage_write(s, i == 0 ? keep : i == 1 ? lose : bad, 0, 0, &v, 1,
		    err, sizeof(err)), STORE_R_OK, "%s", err);
	struct stagerec r;
	sample(&r);
	r.n = 1;
	r.sizes[0] = 3000;
	r.att = 0;
	r.off = 1500;
	r.bset = keep;
	cr_assert_eq(store_stage_durable(s, &r, 0, err, sizeof(err)), 0, "%s", err);
	r.bset = bad;
	r.off = 2500;   /* more than its file holds */
	cr_assert_eq(store_stage_durable(s, &r, 0, err, sizeof(err)), 0, "%s", err);
	uint8_t back[10];
	cr_assert_eq(store_stage_read(s, keep, 0, 1990, back, 10, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_stage_read(s, keep, 0, 1995, back, 10, err, sizeof(err)), -1,
	    "read past the staged bytes");
	store_close(s);
	cr_assert_eq(store_open(dir, 0, base, &s, err, sizeof(err)), 0, "%s", err);
	char name[64];
	snprintf(name, sizeof(name), "%lld-0", (long long)keep);
	cr_assert_eq(file_size(dir, name), 1500, "not cut to the durable point");
	snprintf(name, sizeof(name), "%lld-0", (long long)lose);
	cr_assert_eq(file_size(dir, name), -1, "staging without a record kept");
	snprintf(name, sizeof(name), "%lld-0", (long long)bad);
	cr_assert_eq(file_size(dir, name), -1, "staging of a record beyond its file kept");
	snprintf(name, sizeof(name), "%lld.resume", (long long)bad);
	cr_assert_eq(file_size(dir, name), -1, "a record beyond its file kept");
	struct stagerec *kept = NULL;
	size_t n = 0;
	store_stage_kept(s, &kept, &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(kept[0].bset, keep);
	cr_assert_eq(kept[0].off, 1500);
	free(kept);
	store_stage_kept(s, &kept, &n);
	cr_assert_eq(n, 0, "handed over twice");
	cr_assert_gt(store_bset_new(s), keep, "a kept blob set id given out again");
	store_close(s);
	event_base_free(base);
	ts_rmrf(dir);
	free(dir);
}

/* What a hand on the disk may put in the staging folder never holds the start, never
 * shortens a file elsewhere and never makes two stages of one blob set: a FIFO named as a
 * record, a staged file that is a symbolic link out of the folder, a second name for a
 * record ("0N.resume"). */
Test(stagerec, hostile_staging_entries_neither_hang_nor_reach_out, .timeout = 20)
{
	cr_assert(evthread_use_pthreads() == 0);
	struct event_base *base = event_base_new();
	char *dir = ts_tmpdir("stagerec");
	struct store *s = NULL;
	char err[512] = "", path[700], path2[700], victim[700];
	cr_assert_eq(store_open(dir, 0, base, &s, err, sizeof(err)), 0, "%s", err);
	int64_t good = store_bset_new(s), linked = store_bset_new(s);
	static uint8_t bytes[2000];
	memset(bytes, 'h', sizeof(bytes));
	struct iovec v = {bytes, sizeof(bytes)};
	struct stagerec r;
	sample(&r);
	r.n = 1;
	r.sizes[0] = 3000;
	r.att = 0;
	r.off = 1000;
	for (int i = 0; i < 2; i++) {
		r.bset = i == 0 ? good : linked;
		cr_assert_eq(store_stage_write(s, r.bset, 0, 0, &v, 1, err, sizeof(err)), STORE_R_OK,
		    "%s", err);
		cr_assert_eq(store_stage_durable(s, &r, 0, err, sizeof(err)), 0, "%s", err);
	}
	store_close(s);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	int fd = open(victim, O_WRONLY | O_CREAT, 0600);
	cr_assert(fd >= 0 && write(fd, bytes, sizeof(bytes)) == (ssize_t)sizeof(bytes));
	close(fd);
	snprintf(path, sizeof(path), "%s/attachments/staging/%lld-0", dir, (long long)linked);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(symlink(victim, path), 0);
	snprintf(path, sizeof(path), "%s/attachments/staging/99.resume", dir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/attachments/staging/%lld.resume", dir, (long long)good);
	snprintf(path2, sizeof(path2), "%s/attachments/staging/0%lld.resume", dir, (long long)good);
	cr_assert_eq(link(path, path2), 0);
	cr_assert_eq(store_open(dir, 0, base, &s, err, sizeof(err)), 0, "%s", err);
	struct stat sb;
	cr_assert_eq(stat(victim, &sb), 0);
	cr_assert_eq(sb.st_size, (off_t)sizeof(bytes), "a file outside staging was cut");
	cr_assert_eq(lstat(path2, &sb), -1, "a second name of a record kept");
	snprintf(path, sizeof(path), "%s/attachments/staging/99.resume", dir);
	cr_assert_eq(lstat(path, &sb), -1, "a FIFO kept in staging");
	struct stagerec *kept = NULL;
	size_t n = 0;
	store_stage_kept(s, &kept, &n);
	cr_assert_eq(n, 1, "kept %zu stages", n);
	cr_assert_eq(kept[0].bset, good);
	free(kept);
	store_close(s);
	event_base_free(base);
	ts_rmrf(dir);
	free(dir);
}
