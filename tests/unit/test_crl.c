/*
 * Unit tests for daemon/crl.c: which CRL becomes effective (signed by our CA, inside its
 * validity window, a higher crlNumber), persistence that never goes back, the serial
 * lookup, the "expired" and "renewal due" clocks, and the file readers. Every CRL is made
 * at test time with rogatory-pki or `openssl ca -gencrl` on a CA made here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <criterion/criterion.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "cert.h"
#include "crl.h"
#include "../support/support.h"

static char *dir;

static const char *in_dir(const char *rel);
static void sh_ok(const char *fmt, const char *arg);
static void window_crl(const char *name, long from_s, long to_s);
static enum crl_offer_result offer_file(struct crl *c, const char *rel, unsigned flags,
    char *msg, size_t msglen);
static struct crl *open_keeper(const char *state);
static char *serial_of(const char *rel);
static void setup(void);
static void teardown(void);

static const char *
in_dir(const char *rel)
{
	static char slots[6][512];
	static int next;
	char *p = slots[next++ % 6];
	snprintf(p, sizeof(slots[0]), "%s/%s", dir, rel);
	return p;
}

/* Runs a shell line in the test folder; fmt takes one %s (may be unused: pass ""). */
static void
sh_ok(const char *fmt, const char *arg)
{
	char *out = NULL;
	char line[1024];
	snprintf(line, sizeof(line), fmt, arg);
	int rc = ts_sh(&out, "cd '%s' && %s", dir, line);
	cr_assert_eq(rc, 0, "%s: %s", line, out);
	free(out);
}

static void
window_crl(const char *name, long from_s, long to_s)
{
	char from[32], to[32], line[512];
	time_t a = time(NULL) + from_s, b = time(NULL) + to_s;
	struct tm tm;
	strftime(from, sizeof(from), "%Y%m%d%H%M%SZ", gmtime_r(&a, &tm));
	strftime(to, sizeof(to), "%Y%m%d%H%M%SZ", gmtime_r(&b, &tm));
	snprintf(line, sizeof(line), "ROGATORY_PKI_CADIR=\"$PWD/ca\" openssl ca -batch -config "
	    "ca/openssl.cnf -gencrl -crl_lastupdate %s -crl_nextupdate %s -out %%s 2>&1", from, to);
	sh_ok(line, name);
}

static enum crl_offer_result
offer_file(struct crl *c, const char *rel, unsigned flags, char *msg, size_t msglen)
{
	uint8_t *der = NULL;
	size_t len = 0;
	char err[512];
	cr_assert_eq(crl_file_read(in_dir(rel), &der, &len, err, sizeof(err)), 0, "%s", err);
	enum crl_offer_result r = crl_offer(c, der, len, rel, flags, msg, msglen);
	free(der);
	return r;
}

static struct crl *
open_keeper(const char *state)
{
	struct crl *c = NULL;
	char err[512];
	cr_assert_eq(crl_open(in_dir("ca/ca.crt"), state ? in_dir(state) : NULL, &c, err,
	    sizeof(err)), 0, "%s", err);
	return c;
}

static char *
serial_of(const char *rel)
{
	char *out = NULL;
	cr_assert_eq(ts_sh(&out, "openssl x509 -in '%s' -noout -serial", in_dir(rel)), 0);
	char *s = strdup(out + strlen("serial="));
	s[strcspn(s, "\n")] = '\0';
	free(out);
	return s;
}

/* crl1: nothing revoked; crl2: FR-MJ revoked. */
static void
setup(void)
{
	dir = ts_tmpdir("crl");
	const char *pki = ts_pki();
	sh_ok("'%s' init ca >/dev/null", pki);
	sh_ok("'%s' issue ca FR-MJ . >/dev/null", pki);
	sh_ok("'%s' issue ca DE-BMJ . >/dev/null", pki);
	sh_ok("'%s' crl ca >/dev/null && cp ca/crl.pem crl1.pem", pki);
	sh_ok("'%s' revoke ca FR-MJ.crt >/dev/null 2>&1", pki);
	sh_ok("'%s' crl ca >/dev/null && cp ca/crl.pem crl2.pem", pki);
	sh_ok("mkdir -m 700 state%s", "");
}

static void
teardown(void)
{
	ts_rmrf(dir);
	free(dir);
}

TestSuite(crl, .init = setup, .fini = teardown, .timeout = 60);

Test(crl, highest_number_wins_and_is_persisted)
{
	struct crl *c = open_keeper("state");
	char msg[1024];
	cr_assert_eq(crl_number(c), 0);
	cr_assert_eq(offer_file(c, "crl1.pem", 0, msg, sizeof(msg)), CRL_OFFER_ADOPTED, "%s", msg);
	cr_assert(strstr(msg, "adopted CRL number 1 from crl1.pem") != NULL, "%s", msg);
	struct stat st;
	cr_assert_eq(stat(in_dir("state/crl.der"), &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(offer_file(c, "crl1.pem", 0, msg, sizeof(msg)), CRL_OFFER_NOT_NEWER);
	cr_assert(strstr(msg, "is the same as ours (1)") != NULL, "%s", msg);
	cr_assert_eq(offer_file(c, "crl2.pem", 0, msg, sizeof(msg)), CRL_OFFER_ADOPTED, "%s", msg);
	cr_assert_eq(crl_number(c), 2);
	cr_assert_eq(offer_file(c, "crl1.pem", 0, msg, sizeof(msg)), CRL_OFFER_NOT_NEWER);
	cr_assert(strstr(msg, "CRL number 1 from crl1.pem is lower than ours (2)") != NULL, "%s",
	    msg);
	crl_free(c);
	/* A new keeper (a restart) starts from the stored CRL, never from a lower one. */
	c = open_keeper("state");
	cr_assert_eq(crl_number(c), 2);
	cr_assert(strstr(crl_source(c), "stored in") != NULL, "%s", crl_source(c));
	cr_assert_eq(offer_file(c, "crl1.pem", CRL_OFFER_BOOTSTRAP, msg, sizeof(msg)),
	    CRL_OFFER_NOT_NEWER);
	cr_assert_eq(crl_number(c), 2);
	size_t len = 0;
	cr_assert_not_null(crl_der(c, &len));
	cr_assert_gt(len, 0);
	crl_free(c);
}

Test(crl, revoked_serial_and_certificate)
{
	struct crl *c = open_keeper(NULL);
	char msg[1024];
	char *revoked = serial_of("FR-MJ.crt"), *good = serial_of("DE-BMJ.crt");
	cr_assert_not(crl_serial_revoked(c, revoked), "no CRL held yet");
	cr_assert_eq(offer_file(c, "crl1.pem", 0, msg, sizeof(msg)), CRL_OFFER_ADOPTED, "%s", msg);
	cr_assert_not(crl_serial_revoked(c, revoked));
	cr_assert_eq(offer_file(c, "crl2.pem", 0, msg, sizeof(msg)), CRL_OFFER_ADOPTED, "%s", msg);
	cr_assert(strstr(msg, "1 revoked") != NULL, "%s", msg);
	cr_assert(crl_serial_revoked(c, revoked));
	cr_assert_not(crl_serial_revoked(c, good));
	cr_assert_not(crl_serial_revoked(c, ""));
	cr_assert_eq(crl_revoked_count(c), 1);
	X509 *x = NULL;
	char err[512];
	cr_assert_eq(cert_load_pem(in_dir("FR-MJ.crt"), &x, err, sizeof(err)), 0, "%s", err);
	cr_assert(crl_cert_revoked(c, x));
	X509_free(x);
	cr_assert_eq(cert_load_pem(in_dir("DE-BMJ.crt"), &x, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(crl_cert_revoked(c, x));
	X509_free(x);
	free(revoked);
	free(good);
	crl_free(c);
}

Test(crl, refused_outside_window_or_from_another_ca)
{
	struct crl *c = open_keeper("state");
	char msg[1024];
	cr_assert_eq(offer_file(c, "crl1.pem", 0, msg, sizeof(msg)), CRL_OFFER_ADOPTED, "%s", msg);
	window_crl("expired.pem", -7200, -3600);
	cr_assert_eq(offer_file(c, "expired.pem", 0, msg, sizeof(msg)), CRL_OFFER_INVALID);
	cr_assert(strstr(msg, "refused CRL number 3 from expired.pem: expired") != NULL, "%s", msg);
	window_crl("notyet.pem", 3600, 7200);
	cr_assert_eq(offer_file(c, "notyet.pem", 0, msg, sizeof(msg)), CRL_OFFER_INVALID);
	cr_assert(strstr(msg, "not yet valid") != NULL, "%s", msg);
	sh_ok("'%s' init other >/dev/null && ROGATORY_PKI_CADIR=\"$PWD/other\" openssl ca "
	      "-batch -config other/openssl.cnf -gencrl -crlhours 5 -out foreign.pem 2>&1",
	    ts_pki());
	cr_assert_eq(offer_file(c, "foreign.pem", 0, msg, sizeof(msg)), CRL_OFFER_INVALID);
	cr_assert(strstr(msg, "signature does not verify with the network CA's key") != NULL,
	    "%s", msg);
	/* Same name, other key: the check is the signature, not the issuer string. */
	cr_assert_eq(crl_number(c), 1);
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	cr_assert_eq(crl_offer(c, junk, sizeof(junk), "junk", 0, msg, sizeof(msg)),
	    CRL_OFFER_INVALID);
	cr_assert(strstr(msg, "refused CRL from junk: not a DER X.509 CRL") != NULL, "%s", msg);
	cr_assert_eq(crl_offer(c, junk, 0, "empty", 0, msg, sizeof(msg)), CRL_OFFER_INVALID);
	/* Trailing bytes after a good CRL. */
	uint8_t *der = NULL;
	size_t len = 0;
	char err[512];
	cr_assert_eq(crl_file_read(in_dir("crl2.pem"), &der, &len, err, sizeof(err)), 0, "%s", err);
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, der, len);
	longer[len] = 0;
	cr_assert_eq(crl_offer(c, longer, len + 1, "padded", 0, msg, sizeof(msg)),
	    CRL_OFFER_INVALID);
	cr_assert(strstr(msg, "1 bytes after the CRL") != NULL, "%s", msg);
	free(longer);
	free(der);
	cr_assert_eq(crl_number(c), 1);
	crl_free(c);
}

Test(crl, expired_taken_only_to_bootstrap)
{
	window_crl("expired.pem", -7200, -3600);
	struct crl *c = open_keeper("state");
	char msg[1024];
	cr_assert_eq(offer_file(c, "expired.pem", 0, msg, sizeof(msg)), CRL_OFFER_INVALID);
	cr_assert_eq(offer_file(c, "expired.pem", CRL_OFFER_BOOTSTRAP, msg, sizeof(msg)),
	    CRL_OFFER_ADOPTED, "%s", msg);
	cr_assert(strstr(msg, "EXPIRED") != NULL, "%s", msg);
	cr_assert(crl_expired(c, time(NULL)));
	cr_assert(crl_renewal_due(c, time(NULL)));
	/* A fresh one replaces it (higher number, valid window). */
	sh_ok("'%s' crl ca >/dev/null && cp ca/crl.pem fresh.pem", ts_pki());
	cr_assert_eq(offer_file(c, "fresh.pem", 0, msg, sizeof(msg)), CRL_OFFER_ADOPTED, "%s", msg);
	cr_assert_not(crl_expired(c, time(NULL)));
	crl_free(c);
}

Test(crl, renewal_due_from_a_quarter_before_next_update)
{
	sh_ok("'%s' crl --hours 4 ca >/dev/null && cp ca/crl.pem four.pem", ts_pki());
	struct crl *c = open_keeper(NULL);
	char msg[1024];
	cr_assert_eq(offer_file(c, "four.pem", 0, msg, sizeof(msg)), CRL_OFFER_ADOPTED, "%s", msg);
	time_t tu = crl_this_update(c), nu = crl_next_update(c);
	cr_assert_eq(nu - tu, 4 * 3600);
	cr_assert_not(crl_renewal_due(c, tu));
	cr_assert_not(crl_renewal_due(c, nu - 3600 - 1));
	cr_assert(crl_renewal_due(c, nu - 3600));
	cr_assert_not(crl_expired(c, nu - 1));
	cr_assert(crl_expired(c, nu));
	char buf[32];
	cr_assert_eq(strlen(crl_time_str(nu, buf, sizeof(buf))), 20);
	cr_assert_str_eq(crl_time_str(0, buf, sizeof(buf)), "-");
	crl_free(c);
}

Test(crl, damaged_stored_crl_is_kept_aside)
{
	ts_write_file(in_dir("state/crl.der"), "not a CRL", 0600);
	struct crl *c = open_keeper("state");
	cr_assert_eq(crl_number(c), 0);
	struct stat st;
	cr_assert_eq(stat(in_dir("state/crl.der.refused"), &st), 0, "the bad file was not kept");
	cr_assert_neq(stat(in_dir("state/crl.der"), &st), 0);
	crl_free(c);
}

Test(crl, file_readers_and_check)
{
	uint8_t *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	char err[512];
	sh_ok("openssl crl -in crl2.pem -outform DER -out crl2.der%s", "");
	cr_assert_eq(crl_file_read(in_dir("crl2.pem"), &a, &al, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(crl_file_read(in_dir("crl2.der"), &b, &bl, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(al, bl);
	cr_assert_eq(memcmp(a, b, al), 0, "PEM and DER read differently");
	free(a);
	free(b);
	cr_assert_eq(crl_file_read(in_dir("FR-MJ.crt"), &a, &al, err, sizeof(err)), -1);
	cr_assert(strstr(err, "holds no X.509 CRL (PEM or DER)") != NULL, "%s", err);
	cr_assert_eq(crl_file_read(in_dir("missing.pem"), &a, &al, err, sizeof(err)), -1);
	cr_assert(strstr(err, "missing.pem") != NULL, "%s", err);
	uint64_t n = 0;
	time_t nu = 0;
	cr_assert_eq(crl_file_check(in_dir("crl2.pem"), in_dir("ca/ca.crt"), &n, &nu, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 2);
	cr_assert_gt(nu, time(NULL));
	sh_ok("'%s' init other >/dev/null", ts_pki());
	sh_ok("'%s' crl other >/dev/null", ts_pki());
	cr_assert_eq(crl_file_check(in_dir("other/crl.pem"), in_dir("ca/ca.crt"), &n, &nu, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "signature does not verify") != NULL, "%s", err);
}

/* What the inbox keys its cached revocation verdicts on: the effective CRL's bytes. None
 * held, none; the same CRL offered again, the same; a newer one, another. */
Test(crl, fingerprint_follows_the_effective_crl)
{
	struct crl *c = open_keeper("state");
	char msg[1024];
	cr_assert_null(crl_fingerprint(c));
	cr_assert_eq(offer_file(c, "crl1.pem", 0, msg, sizeof(msg)), CRL_OFFER_ADOPTED, "%s", msg);
	uint8_t fp1[32], want[32];
	cr_assert_not_null(crl_fingerprint(c));
	memcpy(fp1, crl_fingerprint(c), sizeof(fp1));
	size_t len = 0;
	const uint8_t *der = crl_der(c, &len);
	cr_assert_not_null(der);
	SHA256(der, len, want);
	cr_assert_arr_eq(fp1, want, sizeof(want), "SHA-256 of the DER");
	cr_assert_eq(offer_file(c, "crl1.pem", 0, msg, sizeof(msg)), CRL_OFFER_NOT_NEWER);
	cr_assert_arr_eq(crl_fingerprint(c), fp1, sizeof(fp1));
	cr_assert_eq(offer_file(c, "crl2.pem", 0, msg, sizeof(msg)), CRL_OFFER_ADOPTED, "%s", msg);
	cr_assert(memcmp(crl_fingerprint(c), fp1, sizeof(fp1)) != 0, "a new CRL, a new key");
	crl_free(c);
}
