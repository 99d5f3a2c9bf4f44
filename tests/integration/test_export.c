/*
 * 07-export: evidence a court can check without our code. A message with attachments
 * goes between two real daemons (a CRL in force on both); `rogatoryctl export` writes
 * its bundle on both sides, and tests/tools/verify-export (Python + openssl + protoc,
 * written from PROTOCOL.md and VERIFY.md, none of our C) checks it, then runs every
 * command of VERIFY.md as pasted. A bundle with one flipped byte is refused; a tampered
 * store makes `verify`, the export's manifest and the outside check agree it is invalid,
 * and so does a revocation for what was signed after it (not before). Folders 0700,
 * files 0600, a non-empty folder refused, peer names never paths.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "support.h"
#include "traffic.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

/* A file of size random bytes in the net's folder. */
static char *
random_file(struct tnet *t, const char *name, size_t size)
{
	char *path = NULL, *out = NULL;
	cr_assert(asprintf(&path, "%s/%s", t->dir, name) > 0);
	int rc = ts_sh(&out, "head -c %zu /dev/urandom > '%s'", size, path);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	return path;
}

/* rogatoryctl ARGS on node i (net.h: tnet_ctlf). */
#define ctl tnet_ctlf

/* tests/tools/verify-export [--commands] DIR: its exit status, output in *out. */
static int
outside_check(char **out, const char *dir, bool commands)
{
	return ts_sh(out, "'%s' %s '%s' 2>&1", ts_src_path("tests/tools/verify-export"),
	    commands ? "--commands" : "", dir);
}

/* The bundle of id on node i into <net>/<name>; asserts the export's exit status. */
static char *
export_to(struct tnet *t, int i, const char *id, const char *from, const char *name, int want)
{
	char *dir = NULL, *out = NULL;
	cr_assert(asprintf(&dir, "%s/%s", t->dir, name) > 0);
	int rc = ctl(t, i, &out, "export %s %s%s --out '%s'", id, from ? "--from " : "",
	    from ? from : "", dir);
	cr_assert_eq(rc, want, "export on node %d: exit %d, expected %d:\n%s", i, rc, want, out);
	free(out);
	return dir;
}

/* The export of id on node i exits 1 and says INVALID in its manifest, and the outside
 * check refuses the bundle with needle. */
static void
invalid_everywhere(struct tnet *t, int i, const char *id, const char *from, const char *name,
    const char *needle)
{
	char *out = NULL, man[4200];
	char *dir = export_to(t, i, id, from, name, 1);
	snprintf(man, sizeof(man), "%s/manifest.json", dir);
	cr_assert_eq(ts_file_count(man, "\"valid\": false"), 1, "%s", man);
	cr_assert_eq(outside_check(&out, dir, false), 1, "%s", out);
	cr_assert(strstr(out, needle) != NULL, "no \"%s\" in\n%s", needle, out);
	free(out);
	free(dir);
}

static void
assert_mode(const char *path, const char *mode)
{
	char *out = NULL;
	cr_assert_eq(ts_sh(&out, "stat -c %%a '%s'", path), 0, "%s", out);
	cr_assert(strncmp(out, mode, strlen(mode)) == 0, "mode of %s: %s", path, out);
	free(out);
}

/* Flips one byte of a copy of the bundle (all its bits: writing a constant left a
 * signature byte that already held it unchanged, 1 run in 256): the outside check must
 * refuse it, naming what. */
static void
flipped_byte_refused(const char *dir, const char *file, long at, const char *needle)
{
	char *out = NULL;
	int rc = ts_sh(&out, "rm -rf '%s.flip' && cp -a '%s' '%s.flip' && "
	                     "b=$(od -An -tu1 -j %ld -N1 '%s/%s') && "
	                     "printf \"\\\\$(printf %%o $((b ^ 255)))\" | "
	                     "dd of='%s.flip/%s' bs=1 seek=%ld conv=notrunc 2>/dev/null && "
	                     "cmp -s '%s/%s' '%s.flip/%s'; test $? -eq 1",
	    dir, dir, dir, at, dir, file, dir, file, at, dir, file, dir, file);
	cr_assert_eq(rc, 0, "could not flip a byte of %s: %s", file, out);
	free(out);
	char flip[4200];
	snprintf(flip, sizeof(flip), "%s.flip", dir);
	cr_assert_eq(outside_check(&out, flip, false), 1, "%s with a flipped byte passed:\n%s",
	    file, out);
	cr_assert(strstr(out, needle) != NULL, "%s flipped: no \"%s\" in\n%s", file, needle, out);
	cr_assert(strstr(out, "\nINVALID") != NULL, "%s", out);
	free(out);
}

Test(export, delivered_message_checked_without_our_code, .timeout = 180)
{
	struct tnet *t = tnet_new("export", ids2, 2);
	const char *crl = tnet_crl(t, "crl", 24);
	tnet_use_crl(t, 0, crl);
	tnet_use_crl(t, 1, crl);
	tnet_start(t, 0);
	tnet_start(t, 1);
	/* 300 KiB spans two control reads and two store chunks; the empty one none. */
	char *a = random_file(t, "order form.pdf", 1500);
	char *big = random_file(t, "records.bin", 300 << 10);
	char *empty = random_file(t, "empty.txt", 0);
	char args[4096];
	snprintf(args, sizeof(args), "--to FR-MJ --kind other --subject 'Exported' --attach '%s' "
	    "--attach '%s' --attach '%s'", a, big, empty);
	char *id = tr_send_args(t, 0, args);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 20000), "not delivered");

	/* Outbound at the sender (our document, their receipt), inbound at the recipient. */
	char *out_dir = export_to(t, 0, id, NULL, "bundle-sender", 0);
	char *in_dir = export_to(t, 1, id, "BD-ACC", "bundle-recipient", 0);
	char *out = NULL;
	const char *dirs[] = {out_dir, in_dir};
	for (int i = 0; i < 2; i++) {
		int rc = outside_check(&out, dirs[i], true);
		cr_assert_eq(rc, 0, "outside check of %s:\n%s", dirs[i], out);
		cr_assert(strstr(out, "ok   attachment 1: 307200 bytes") != NULL, "%s", out);
		cr_assert(strstr(out, "ok   receipt payload_sha256") != NULL, "%s", out);
		cr_assert(strstr(out, "ok   document signer revocation: serial") != NULL, "%s", out);
		cr_assert(strstr(out, "commands run as written") != NULL, "%s", out);
		cr_assert(strstr(out, "\nVALID") != NULL, "%s", out);
		free(out);
		/* verify and the export's manifest say the same. */
		cr_assert_eq(ctl(t, i, &out, "verify %s%s", id, i ? " --from BD-ACC" : ""), 0, "%s",
		    out);
		free(out);
		char man[4200];
		snprintf(man, sizeof(man), "%s/manifest.json", dirs[i]);
		cr_assert_eq(ts_file_count(man, "\"valid\": true"), 1);
		cr_assert_eq(ts_file_count(man, "\"name\": \"order form.pdf\""), 1,
		    "the attachment's name belongs in the manifest");
		assert_mode(dirs[i], "700");
		snprintf(man, sizeof(man), "%s/attachments", dirs[i]);
		assert_mode(man, "700");
		snprintf(man, sizeof(man), "%s/attachments/000", dirs[i]);
		assert_mode(man, "600");
		snprintf(man, sizeof(man), "%s/document.body", dirs[i]);
		assert_mode(man, "600");
	}
	/* Both sides export the same signed bytes. */
	int rc = ts_sh(&out, "cd '%s' && for f in document.body document.sig receipt.body "
	                     "receipt.sig attachments/001; do cmp $f '%s'/$f || exit 1; done",
	    out_dir, in_dir);
	cr_assert_eq(rc, 0, "the two bundles differ: %s", out);
	free(out);
	rc = ts_sh(&out, "cmp '%s' '%s/attachments/001'", big, out_dir);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);

	/* One flipped byte anywhere that matters, and the bundle is refused. */
	flipped_byte_refused(out_dir, "document.body", 40, "FAIL document signature");
	flipped_byte_refused(out_dir, "receipt.sig", 10, "FAIL receipt signature");
	flipped_byte_refused(out_dir, "attachments/001", 5000, "FAIL attachment 1");
	flipped_byte_refused(out_dir, "receipt.body", 30, "FAIL receipt");

	/* A folder that holds anything is refused, and left as it was. */
	cr_assert_eq(ctl(t, 0, &out, "export %s --out '%s'", id, out_dir), 1, "%s", out);
	cr_assert(strstr(out, "exists and is not empty") != NULL, "%s", out);
	free(out);
	free(id);
	free(a);
	free(big);
	free(empty);
	free(out_dir);
	free(in_dir);
	tnet_free(t);
}

Test(export, tampered_store_verify_manifest_and_outside_check_agree, .timeout = 120)
{
	struct tnet *t = tnet_new("export-tamper", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *a = random_file(t, "evidence.bin", 4096);
	char args[4096];
	snprintf(args, sizeof(args), "--to FR-MJ --kind other --subject 'Tampered later' "
	    "--attach '%s'", a);
	char *id = tr_send_args(t, 0, args);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 20000), "not delivered");
	/* One byte of the recipient's stored attachment changes. */
	tnet_stop(t, 1, SIGTERM);
	char *out = NULL;
	tr_attachment_tamper(t, 1, 0, NULL);
	tnet_start(t, 1);
	cr_assert_eq(ctl(t, 1, &out, "verify %s --from BD-ACC", id), 1, "%s", out);
	cr_assert(strstr(out, "FAIL attachments") != NULL, "%s", out);
	free(out);
	/* The export writes what is stored, says INVALID, and exits 1. */
	invalid_everywhere(t, 1, id, "BD-ACC", "bundle-tampered", "FAIL attachment 0");
	/* The sender's copy is intact: valid on all three counts. */
	char *dir = export_to(t, 0, id, NULL, "bundle-intact", 0);
	cr_assert_eq(outside_check(&out, dir, true), 0, "%s", out);
	free(out);
	cr_assert_eq(ctl(t, 0, &out, "verify %s", id), 0, "%s", out);
	free(out);
	/* An id nobody has: refused, nothing created. */
	cr_assert_eq(ctl(t, 0, &out, "export 3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b --out '%s/none'",
	    t->dir), 1, "%s", out);
	cr_assert(strstr(out, "not-found") != NULL, "%s", out);
	free(out);
	cr_assert_neq(ts_sh(&out, "test -e '%s/none'", t->dir), 0, "a folder was left behind");
	free(out);
	free(dir);
	free(id);
	free(a);
	tnet_free(t);
}

/* Waits until the wall clock's second moves on: a revocation date and a signing time
 * (both whole seconds) must then differ. Polls the clock, it does not sleep blind. */
static void
next_second(void)
{
	time_t t0 = time(NULL);
	while (time(NULL) == t0)
		usleep(20000);
}

/* A revocation voids only what was signed at or after its date (PROTOCOL.md section 6):
 * verify, the export's manifest and the outside check say the same on both sides of it. */
Test(export, revocation_voids_what_was_signed_after_it_only, .timeout = 120)
{
	struct tnet *t = tnet_new("export-revoked", ids2, 2);
	tnet_use_crl(t, 0, tnet_crl(t, "crl", 24));
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *before = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Before revocation'");
	cr_assert(tr_wait_state(t, 0, before, "delivered", 20000), "not delivered");
	next_second();
	/* BD-ACC's key is reported compromised; its own daemon learns of it. */
	tnet_revoke(t, 0);
	const char *crl = tnet_crl(t, "crl2", 24);
	char *out = NULL;
	cr_assert_eq(ctl(t, 0, &out, "crl install '%s'", crl), 0, "%s", out);
	free(out);
	char *after = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'After revocation'");

	cr_assert_eq(ctl(t, 0, &out, "verify %s", before), 0, "%s", out);
	cr_assert(strstr(out, "after the signing time") != NULL, "%s", out);
	free(out);
	char *dir = export_to(t, 0, before, NULL, "bundle-before", 0);
	cr_assert_eq(outside_check(&out, dir, true), 0, "%s", out);
	cr_assert(strstr(out, "ok   document signer revocation: serial") != NULL, "%s", out);
	free(out);
	free(dir);

	cr_assert_eq(ctl(t, 0, &out, "verify %s", after), 1, "%s", out);
	cr_assert(strstr(out, "FAIL document signer revocation") != NULL &&
	    strstr(out, "at or before the signing time") != NULL, "%s", out);
	free(out);
	invalid_everywhere(t, 0, after, NULL, "bundle-after", "FAIL document signer revocation");
	free(before);
	free(after);
	tnet_free(t);
}
