/*
 * test_pki: drives the real pki/rogatory-pki and tests/tools/deviant-cert in temp folders
 * and checks what they make with the openssl CLI, never with our own parser, so a bug in
 * cert.c cannot hide a bug in the tool. Never uses committed certificates.
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "../support/support.h"

#define URI_FR_MJ "URI:urn:rogatory:authority:FR-MJ"

static char *tmp;

static void setup(void);
static void teardown(void);
static char *tp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int pki(char **out, ...);
static void pki_ok(char **out, ...);
static void init_ca(void);
static void issue(const char *id, const char *outdir);
static char *sh_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *san_of(const char *crt);
static unsigned file_mode(const char *path);
static bool exists(const char *path);
static long crl_number(const char *crl);
static time_t parse_gmt(const char *s);
static long crl_period(const char *crl);
static int count_of(const char *hay, const char *needle);
static char *deviant(const char *kind, const char *outdir);
static char *verify(const char *cafile, const char *crt);

static void
setup(void)
{
	tmp = ts_tmpdir("pki");
}

static void
teardown(void)
{
	if (tmp != NULL)
		ts_rmrf(tmp);
	free(tmp);
	tmp = NULL;
}

TestSuite(pki, .init = setup, .fini = teardown, .timeout = 120);

/* A path under this test's temp folder; rotating buffers so several fit in one call. */
static char *
tp(const char *fmt, ...)
{
	static char slots[8][1024];
	static unsigned next;
	char rel[512], *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	p = slots[next++ % 8];
	snprintf(p, sizeof(slots[0]), "%s/%s", tmp, rel);
	return p;
}

/* rogatory-pki with NULL-terminated arguments; exit status, output in *out. */
static int
pki(char **out, ...)
{
	char *argv[16];
	va_list ap;
	int n = 0;

	argv[n++] = (char *)ts_pki();
	va_start(ap, out);
	while ((argv[n] = va_arg(ap, char *)) != NULL) {
		n++;
		cr_assert(n < 15, "too many arguments");
	}
	va_end(ap);
	return ts_run(argv, out);
}

static void
pki_ok(char **out, ...)
{
	char *argv[16], *o = NULL;
	va_list ap;
	int n = 0, rc;

	argv[n++] = (char *)ts_pki();
	va_start(ap, out);
	while ((argv[n] = va_arg(ap, char *)) != NULL) {
		n++;
		cr_assert(n < 15, "too many arguments");
	}
	va_end(ap);
	rc = ts_run(argv, &o);
	cr_assert(rc == 0, "rogatory-pki %s %s failed (%d):\n%s", argv[1],
	    argv[2] ? argv[2] : "", rc, o);
	if (out != NULL)
		*out = o;
	else
		free(o);
}

static void
init_ca(void)
{
	pki_ok(NULL, "init", tp("ca"), NULL);
}

static void
issue(const char *id, const char *outdir)
{
	if (outdir == NULL)
		pki_ok(NULL, "issue", tp("ca"), id, NULL);
	else
		pki_ok(NULL, "issue", tp("ca"), id, outdir, NULL);
}

/* A shell command that must succeed; its output. */
static char *
sh_ok(const char *fmt, ...)
{
	char *cmd, *out = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	cr_assert(vasprintf(&cmd, fmt, ap) >= 0, "vasprintf");
	va_end(ap);
	rc = ts_sh(&out, "%s", cmd);
	cr_assert(rc == 0, "`%s` failed (%d):\n%s", cmd, rc, out);
	free(cmd);
	return out;
}

/* The SAN value line(s) of crt as openssl prints them, leading blanks dropped. */
static char *
san_of(const char *crt)
{
	char *out = NULL, *nl, *p;

	ts_sh(&out, "openssl x509 -in '%s' -noout -ext subjectAltName 2>&1", crt);
	nl = strchr(out, '\n');
	if (nl == NULL || strstr(out, "Subject Alternative Name") == NULL) {
		out[0] = '\0';
		return out;
	}
	p = nl + 1;
	while (*p == ' ')
		p++;
	memmove(out, p, strlen(p) + 1);
	if ((nl = strrchr(out, '\n')) != NULL && nl[1] == '\0')
		*nl = '\0';
	return out;
}

static unsigned
file_mode(const char *path)
{
	struct stat st;

	cr_assert(stat(path, &st) == 0, "stat %s", path);
	return st.st_mode & 07777;
}

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static long
crl_number(const char *crl)
{
	char *out = sh_ok("openssl crl -in '%s' -noout -crlnumber", crl);
	long n;

	cr_assert(strncmp(out, "crlNumber=0x", 12) == 0, "crlnumber output: %s", out);
	n = strtol(out + 12, NULL, 16);
	free(out);
	return n;
}

/* "Nov 27 18:48:41 2026 GMT" as openssl prints dates. */
static time_t
parse_gmt(const char *s)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%b %d %H:%M:%S %Y GMT", &tm);
	cr_assert(end != NULL, "cannot parse date '%s'", s);
	return timegm(&tm);
}

/* nextUpdate - lastUpdate of a CRL, in seconds. */
static long
crl_period(const char *crl)
{
	char *out = sh_ok("openssl crl -in '%s' -noout -lastupdate -nextupdate", crl);
	char *last = strstr(out, "lastUpdate="), *next = strstr(out, "nextUpdate=");
	long d;

	cr_assert(last != NULL && next != NULL, "CRL dates: %s", out);
	d = (long)(parse_gmt(next + 11) - parse_gmt(last + 11));
	free(out);
	return d;
}

static int
count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static char *
deviant(const char *kind, const char *outdir)
{
	char *argv[] = { (char *)ts_src_path("tests/tools/deviant-cert"), tp("ca"),
		(char *)kind, "FR-MJ", (char *)outdir, NULL };
	char *out = NULL;
	int rc;

	rc = ts_run(argv, &out);
	cr_assert(rc == 0, "deviant-cert %s failed (%d):\n%s", kind, rc, out);
	return out;
}

/* openssl verify output; *rc not needed by callers, the text names the reason. */
static char *
verify(const char *cafile, const char *crt)
{
	char *out = NULL;

	ts_sh(&out, "openssl verify -CAfile '%s' '%s' 2>&1", cafile, crt);
	return out;
}

Test(pki, init_makes_private_root_ca)
{
	char *out;

	init_ca();
	cr_assert_eq(file_mode(tp("ca/ca.key")), 0600, "ca.key mode %o",
	    file_mode(tp("ca/ca.key")));
	out = sh_ok("openssl pkey -in '%s' -noout -text", tp("ca/ca.key"));
	cr_assert(strstr(out, "P-256") != NULL, "CA key is not P-256:\n%s", out);
	free(out);
	out = sh_ok("openssl x509 -in '%s' -noout -ext basicConstraints,keyUsage", tp("ca/ca.crt"));
	cr_assert(strstr(out, "Basic Constraints: critical") != NULL, "%s", out);
	cr_assert(strstr(out, "CA:TRUE") != NULL, "%s", out);
	cr_assert(strstr(out, "Certificate Sign, CRL Sign") != NULL, "%s", out);
	/* One root, no intermediates: the root may sign no CA below it. */
	cr_assert(strstr(out, "CA:TRUE, pathlen:0") != NULL, "no pathlen:0: %s", out);
	free(out);
	out = ts_read_file(tp("ca/openssl.cnf"), NULL);
	cr_assert(out != NULL && strstr(out, "copy_extensions = none") != NULL);
	cr_assert(strstr(out, "unique_subject = no") != NULL);
	free(out);
	cr_assert(exists(tp("ca/index.txt")));
	cr_assert(exists(tp("ca/serial")));
	cr_assert(exists(tp("ca/crlnumber")));
}

Test(pki, init_refuses_existing_ca)
{
	char *out = NULL, *before, *after;

	init_ca();
	before = ts_read_file(tp("ca/ca.key"), NULL);
	cr_assert_eq(pki(&out, "init", tp("ca"), NULL), 1, "%s", out);
	cr_assert(strstr(out, "rogatory-pki: ") != NULL && strstr(out, "already holds a CA"),
	    "%s", out);
	after = ts_read_file(tp("ca/ca.key"), NULL);
	cr_assert_str_eq(before, after, "CA key replaced");
	free(out);
	free(before);
	free(after);
}

Test(pki, issued_cert_has_exactly_the_authority_uri)
{
	char *out;

	init_ca();
	issue("FR-MJ", NULL);
	cr_assert_eq(file_mode(tp("ca/FR-MJ.key")), 0600);
	out = san_of(tp("ca/FR-MJ.crt"));
	cr_assert_str_eq(out, URI_FR_MJ, "SAN is '%s'", out);
	free(out);
	out = sh_ok("openssl x509 -in '%s' -noout -subject -ext "
	    "extendedKeyUsage,keyUsage,basicConstraints", tp("ca/FR-MJ.crt"));
	cr_assert(strstr(out, "subject=CN = FR-MJ\n") != NULL, "%s", out);
	cr_assert(strstr(out, "TLS Web Server Authentication, TLS Web Client Authentication"),
	    "%s", out);
	cr_assert(strstr(out, "Key Usage: critical\n    Digital Signature\n") != NULL, "%s", out);
	cr_assert(strstr(out, "CA:FALSE") != NULL, "%s", out);
	free(out);
	/* Default validity 397 days: valid in 396 days, gone in 398. */
	cr_assert_eq(ts_sh(NULL, "openssl x509 -in '%s' -noout -checkend %d",
	    tp("ca/FR-MJ.crt"), 396 * 86400), 0);
	cr_assert_neq(ts_sh(NULL, "openssl x509 -in '%s' -noout -checkend %d",
	    tp("ca/FR-MJ.crt"), 398 * 86400), 0);
	cr_assert(!exists(tp("ca/FR-MJ.csr")), "issue left its CSR");
}

Test(pki, openssl_verify_accepts_issued_cert)
{
	char *out;

	init_ca();
	issue("US-DOJ-OIA", NULL);
	out = verify(tp("ca/ca.crt"), tp("ca/US-DOJ-OIA.crt"));
	cr_assert(strstr(out, ": OK") != NULL, "%s", out);
	free(out);
}

Test(pki, issue_into_outdir)
{
	init_ca();
	issue("BD-ACC", tp("bd"));
	cr_assert_eq(file_mode(tp("bd/BD-ACC.key")), 0600);
	cr_assert(exists(tp("bd/BD-ACC.crt")));
	cr_assert(!exists(tp("ca/BD-ACC.key")), "key left in the CA dir");
	cr_assert(!exists(tp("bd/BD-ACC.csr")));
}

Test(pki, sign_ignores_what_the_csr_asks)
{
	char *out = NULL, *san;

	init_ca();
	free(sh_ok("mkdir '%s' && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
	    "-nodes -keyout '%s' -subj '/CN=XX-EVIL/O=Evil' "
	    "-addext 'subjectAltName=URI:urn:rogatory:authority:XX-EVIL,DNS:evil' "
	    "-addext 'basicConstraints=critical,CA:TRUE' "
	    "-addext 'crlDistributionPoints=URI:http://evil/crl' -out '%s' 2>&1",
	    tp("evil"), tp("evil/evil.key"), tp("evil/evil.csr")));
	pki_ok(&out, "sign", "-o", tp("evil/out.crt"), tp("ca"), "FR-MJ", tp("evil/evil.csr"),
	    NULL);
	cr_assert(strstr(out, tp("ca/issued/FR-MJ-")) != NULL, "issued path not printed: %s",
	    out);
	free(out);
	san = san_of(tp("evil/out.crt"));
	cr_assert_str_eq(san, URI_FR_MJ, "SAN is '%s'", san);
	free(san);
	/* Nothing of the CSR but its key: not its subject, not even an extension the CA
	 * never sets itself. */
	out = sh_ok("openssl x509 -in '%s' -noout -subject -text", tp("evil/out.crt"));
	cr_assert(strstr(out, "subject=CN = FR-MJ\n") != NULL, "%s", out);
	cr_assert(strstr(out, "CA:FALSE") != NULL && strstr(out, "CA:TRUE") == NULL, "%s", out);
	cr_assert(strcasestr(out, "evil") == NULL, "%s", out);
	cr_assert(strstr(out, "CRL Distribution") == NULL, "%s", out);
	free(out);
}

Test(pki, sign_refuses_non_p256_csr)
{
	char *out = NULL;

	init_ca();
	free(sh_ok("mkdir '%s' && openssl req -new -newkey rsa:2048 -nodes -keyout '%s' "
	    "-subj /CN=FR-MJ -out '%s' 2>&1", tp("rsa"), tp("rsa/k"), tp("rsa/r.csr")));
	cr_assert_eq(pki(&out, "sign", tp("ca"), "FR-MJ", tp("rsa/r.csr"), NULL), 1, "%s", out);
	cr_assert(strstr(out, "P-256") != NULL, "%s", out);
	cr_assert(!exists(tp("rsa/FR-MJ.crt")));
	free(out);
}

Test(pki, request_then_sign_beside_the_csr)
{
	char *out = NULL, *crt_before, *crt_after;

	init_ca();
	pki_ok(NULL, "request", tp("auth"), "FR-MJ", NULL);
	cr_assert_eq(file_mode(tp("auth/FR-MJ.key")), 0600);
	pki_ok(NULL, "sign", tp("ca"), "FR-MJ", tp("auth/FR-MJ.csr"), NULL);
	out = sh_ok("openssl x509 -in '%s' -noout -pubkey; openssl pkey -in '%s' -pubout",
	    tp("auth/FR-MJ.crt"), tp("auth/FR-MJ.key"));
	cr_assert_eq(count_of(out, "BEGIN PUBLIC KEY"), 2);
	{
		char *mid = strstr(out + 1, "-----BEGIN PUBLIC KEY");

		cr_assert(mid != NULL && strncmp(out, mid, (size_t)(mid - out)) == 0,
		    "certificate is not for the requested key:\n%s", out);
	}
	free(out);

	/* A second signing must not replace the authority's certificate. */
	crt_before = ts_read_file(tp("auth/FR-MJ.crt"), NULL);
	cr_assert_eq(pki(&out, "sign", tp("ca"), "FR-MJ", tp("auth/FR-MJ.csr"), NULL), 1);
	cr_assert(strstr(out, "already exists") != NULL && strstr(out, "-o OUT"), "%s", out);
	free(out);
	crt_after = ts_read_file(tp("auth/FR-MJ.crt"), NULL);
	cr_assert_str_eq(crt_before, crt_after);
	free(crt_before);
	free(crt_after);
}

Test(pki, bad_ids_refused)
{
	static const char *bad[] = { "fr-mj", "F-MJ", "FR-", "FR-ABCDEFGHIJKLMNOPQ",
		"FR-A-B-C-D", "FR_MJ", "FR-MJ ", "" };
	char *out = NULL;

	init_ca();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(pki(&out, "issue", tp("ca"), bad[i], NULL), 1, "id '%s': %s",
		    bad[i], out);
		cr_assert(strstr(out, "invalid authority id") != NULL, "id '%s': %s", bad[i], out);
		if (bad[i][0] != '\0')
			cr_assert(strstr(out, bad[i]) != NULL, "message does not name '%s': %s",
			    bad[i], out);
		cr_assert(strstr(out, "^[A-Z]{2}(-[A-Z0-9]{1,16}){1,3}$") != NULL, "%s", out);
		free(out);
		cr_assert_eq(pki(&out, "request", tp("auth"), bad[i], NULL), 1, "'%s'", bad[i]);
		free(out);
	}
	/* The longest valid forms pass. */
	issue("FR-ABCDEFGHIJKLMNOP", NULL);
	issue("FR-A-B-C", NULL);
}

Test(pki, existing_output_refused)
{
	char *out = NULL, *key_before, *key_after, *index_before, *index_after;

	init_ca();
	issue("FR-MJ", NULL);
	key_before = ts_read_file(tp("ca/FR-MJ.key"), NULL);
	cr_assert_eq(pki(&out, "issue", tp("ca"), "FR-MJ", NULL), 1, "%s", out);
	cr_assert(strstr(out, "already exists") != NULL, "%s", out);
	free(out);
	key_after = ts_read_file(tp("ca/FR-MJ.key"), NULL);
	cr_assert_str_eq(key_before, key_after, "key replaced");

	cr_assert_eq(pki(&out, "request", tp("ca"), "FR-MJ", NULL), 1, "%s", out);
	free(out);

	/* -o naming an existing file: refused before anything is signed. */
	pki_ok(NULL, "request", tp("auth"), "FR-MJ", NULL);
	ts_write_file(tp("auth/taken.crt"), "keep me\n", 0644);
	index_before = ts_read_file(tp("ca/index.txt"), NULL);
	cr_assert_eq(pki(&out, "sign", "-o", tp("auth/taken.crt"), tp("ca"), "FR-MJ",
	    tp("auth/FR-MJ.csr"), NULL), 1, "%s", out);
	cr_assert(strstr(out, "taken.crt already exists") != NULL, "%s", out);
	free(out);
	index_after = ts_read_file(tp("ca/index.txt"), NULL);
	cr_assert_str_eq(index_before, index_after, "a certificate was signed anyway");
	out = ts_read_file(tp("auth/taken.crt"), NULL);
	cr_assert_str_eq(out, "keep me\n");
	free(out);
	free(key_before);
	free(key_after);
	free(index_before);
	free(index_after);
}

Test(pki, failed_issue_leaves_no_key)
{
	char *out = NULL;

	init_ca();
	cr_assert_eq(ts_sh(&out, "ROGATORY_PKI_DAYS=826 '%s' issue '%s' FR-MJ 2>&1", ts_pki(),
	    tp("ca")), 1, "%s", out);
	cr_assert(strstr(out, "ROGATORY_PKI_DAYS") != NULL, "%s", out);
	free(out);
	cr_assert(!exists(tp("ca/FR-MJ.key")), "orphan key left behind");
	/* ...so a corrected retry works. */
	out = sh_ok("ROGATORY_PKI_DAYS=30 '%s' issue '%s' FR-MJ 2>&1", ts_pki(), tp("ca"));
	free(out);
	cr_assert_eq(ts_sh(NULL, "openssl x509 -in '%s' -noout -checkend %d",
	    tp("ca/FR-MJ.crt"), 31 * 86400), 1);
}

Test(pki, ca_with_loose_permissions_refused)
{
	char *out = NULL;

	init_ca();
	cr_assert_eq(chmod(tp("ca/ca.key"), 0644), 0);
	cr_assert_eq(pki(&out, "issue", tp("ca"), "FR-MJ", NULL), 1, "%s", out);
	cr_assert(strstr(out, "ca.key has mode") != NULL, "%s", out);
	free(out);
	cr_assert_eq(chmod(tp("ca/ca.key"), 0600), 0);
	cr_assert_eq(chmod(tp("ca"), 0777), 0);
	cr_assert_eq(pki(&out, "crl", tp("ca"), NULL), 1, "%s", out);
	cr_assert(strstr(out, "world-writable") != NULL, "%s", out);
	free(out);
	cr_assert_eq(chmod(tp("ca"), 0700), 0);
	pki_ok(NULL, "crl", tp("ca"), NULL);
}

Test(pki, revoked_cert_in_crl_and_crlnumber_increments)
{
	char *out = NULL, *old_serial, *new_serial, *third;
	long n1, n2;

	init_ca();
	issue("FR-MJ", tp("old"));
	issue("FR-MJ", tp("new"));
	issue("BD-ACC", NULL);
	pki_ok(&out, "crl", tp("ca"), NULL);
	cr_assert(strstr(out, tp("ca/crl.pem")) != NULL, "%s", out);
	free(out);
	n1 = crl_number(tp("ca/crl.pem"));

	/* Rotation overlap: revoke the old certificate by file, the new one stays good. */
	pki_ok(NULL, "revoke", tp("ca"), tp("old/FR-MJ.crt"), NULL);
	old_serial = sh_ok("openssl x509 -in '%s' -noout -serial | cut -d= -f2 | tr -d '\\n'",
	    tp("old/FR-MJ.crt"));
	new_serial = sh_ok("openssl x509 -in '%s' -noout -serial | cut -d= -f2 | tr -d '\\n'",
	    tp("new/FR-MJ.crt"));
	/* And one by hex serial, in lower case. */
	third = sh_ok("openssl x509 -in '%s' -noout -serial | cut -d= -f2 | tr -d '\\n' | "
	    "tr A-F a-f", tp("ca/BD-ACC.crt"));
	pki_ok(NULL, "revoke", tp("ca"), third, NULL);
	cr_assert_eq(pki(&out, "revoke", tp("ca"), third, NULL), 1, "revoked twice: %s", out);
	cr_assert(strstr(out, "already revoked") != NULL, "%s", out);
	free(out);

	pki_ok(NULL, "crl", tp("ca"), NULL);
	n2 = crl_number(tp("ca/crl.pem"));
	cr_assert_eq(n2, n1 + 1, "crlNumber %ld then %ld", n1, n2);
	out = sh_ok("openssl crl -in '%s' -noout -text", tp("ca/crl.pem"));
	cr_assert(strstr(out, old_serial) != NULL, "old serial %s not in CRL:\n%s",
	    old_serial, out);
	cr_assert(strstr(out, new_serial) == NULL, "new serial %s in CRL", new_serial);
	free(out);

	out = NULL;
	ts_sh(&out, "openssl verify -crl_check -CRLfile '%s' -CAfile '%s' '%s' 2>&1",
	    tp("ca/crl.pem"), tp("ca/ca.crt"), tp("old/FR-MJ.crt"));
	cr_assert(strstr(out, "certificate revoked") != NULL, "%s", out);
	free(out);
	out = sh_ok("openssl verify -crl_check -CRLfile '%s' -CAfile '%s' '%s' 2>&1",
	    tp("ca/crl.pem"), tp("ca/ca.crt"), tp("new/FR-MJ.crt"));
	free(out);

	out = sh_ok("'%s' show '%s'", ts_pki(), tp("ca/crl.pem"));
	cr_assert(strstr(out, old_serial) != NULL, "%s", out);
	free(out);
	free(old_serial);
	free(new_serial);
	free(third);
}

Test(pki, revoke_refuses_foreign_certificate)
{
	char *out = NULL;

	init_ca();
	pki_ok(NULL, "init", tp("other"), NULL);
	pki_ok(NULL, "issue", tp("other"), "FR-MJ", NULL);
	cr_assert_eq(pki(&out, "revoke", tp("ca"), tp("other/FR-MJ.crt"), NULL), 1, "%s", out);
	cr_assert(strstr(out, "not issued by") != NULL || strstr(out, "not the certificate"),
	    "%s", out);
	free(out);
	cr_assert_eq(pki(&out, "revoke", tp("ca"), "nothex", NULL), 1, "%s", out);
	free(out);
}

Test(pki, crl_next_update)
{
	char *out;

	init_ca();
	pki_ok(NULL, "crl", tp("ca"), NULL);
	cr_assert_eq(crl_period(tp("ca/crl.pem")), 7L * 86400);
	pki_ok(NULL, "crl", "--hours", "2", tp("ca"), NULL);
	cr_assert_eq(crl_period(tp("ca/crl.pem")), 2L * 3600);
	out = sh_ok("ROGATORY_PKI_CRL_DAYS=3 '%s' crl '%s'", ts_pki(), tp("ca"));
	free(out);
	cr_assert_eq(crl_period(tp("ca/crl.pem")), 3L * 86400);
	cr_assert_eq(crl_number(tp("ca/crl.pem")), 3);
}

Test(pki, show_summarises_cert)
{
	char *out;

	init_ca();
	issue("FR-MJ", NULL);
	out = sh_ok("'%s' show '%s'", ts_pki(), tp("ca/FR-MJ.crt"));
	cr_assert(strstr(out, "authority      FR-MJ\n") != NULL, "%s", out);
	cr_assert(strstr(out, URI_FR_MJ) != NULL, "%s", out);
	cr_assert(strstr(out, "not after") != NULL && strstr(out, "serial") != NULL, "%s", out);
	free(out);
}

Test(pki, usage_and_unknown_command)
{
	char *out = NULL;

	cr_assert_eq(pki(&out, NULL), 2);
	cr_assert(strstr(out, "usage:") != NULL, "%s", out);
	free(out);
	cr_assert_eq(pki(&out, "-h", NULL), 2);
	cr_assert(strstr(out, "usage:") != NULL, "%s", out);
	free(out);
	cr_assert_eq(pki(&out, "frobnicate", NULL), 2);
	free(out);
	cr_assert_eq(pki(&out, "sign", tp("ca"), NULL), 2);
	free(out);
}

Test(pki, deviant_expired_and_notyet)
{
	char *out;

	init_ca();
	free(deviant("expired", tp("exp")));
	cr_assert_eq(file_mode(tp("exp/FR-MJ.key")), 0600);
	out = verify(tp("ca/ca.crt"), tp("exp/FR-MJ.crt"));
	cr_assert(strstr(out, "certificate has expired") != NULL, "%s", out);
	free(out);
	out = san_of(tp("exp/FR-MJ.crt"));
	cr_assert_str_eq(out, URI_FR_MJ, "expired cert must differ only in dates: %s", out);
	free(out);

	free(deviant("notyet", tp("future")));
	out = verify(tp("ca/ca.crt"), tp("future/FR-MJ.crt"));
	cr_assert(strstr(out, "certificate is not yet valid") != NULL, "%s", out);
	free(out);
}

Test(pki, deviant_san_shapes)
{
	char *out;

	init_ca();
	free(deviant("nosan", tp("nosan")));
	out = san_of(tp("nosan/FR-MJ.crt"));
	cr_assert_str_eq(out, "", "nosan has SAN '%s'", out);
	free(out);
	out = sh_ok("openssl x509 -in '%s' -noout -subject", tp("nosan/FR-MJ.crt"));
	cr_assert(strstr(out, "CN = FR-MJ") != NULL, "%s", out);
	free(out);

	free(deviant("wrongsan", tp("wrongsan")));
	out = san_of(tp("wrongsan/FR-MJ.crt"));
	cr_assert_str_eq(out, "URI:urn:other:FR-MJ");
	free(out);

	free(deviant("twouri", tp("twouri")));
	out = san_of(tp("twouri/FR-MJ.crt"));
	cr_assert_eq(count_of(out, "URI:urn:rogatory:authority:"), 2, "%s", out);
	free(out);

	/* All three chain correctly: only their identity is wrong. */
	out = sh_ok("openssl verify -CAfile '%s' '%s' '%s' '%s'", tp("ca/ca.crt"),
	    tp("nosan/FR-MJ.crt"), tp("wrongsan/FR-MJ.crt"), tp("twouri/FR-MJ.crt"));
	free(out);
}

Test(pki, deviant_foreign_ca)
{
	char *out;

	init_ca();
	free(deviant("foreignca", tp("foreign")));
	cr_assert_eq(file_mode(tp("foreign/FR-MJ.key")), 0600);
	out = verify(tp("ca/ca.crt"), tp("foreign/FR-MJ.crt"));
	cr_assert(strstr(out, "unable to get local issuer certificate") != NULL, "%s", out);
	free(out);
	out = san_of(tp("foreign/FR-MJ.crt"));
	cr_assert_str_eq(out, URI_FR_MJ);
	free(out);
	out = verify(tp("foreign/foreign-ca/ca.crt"), tp("foreign/FR-MJ.crt"));
	cr_assert(strstr(out, ": OK") != NULL, "%s", out);
	free(out);
}

Test(pki, deviant_intermediate_refused_by_a_pathlen_0_root)
{
	char *out;

	init_ca();
	free(deviant("intermediate", tp("int")));
	cr_assert_eq(file_mode(tp("int/FR-MJ.key")), 0600);
	out = san_of(tp("int/FR-MJ.crt"));
	cr_assert_str_eq(out, URI_FR_MJ);
	free(out);
	/* ID.crt is the chain a peer would send: the leaf, then the sub-CA. */
	out = sh_ok("openssl crl2pkcs7 -nocrl -certfile '%s' | openssl pkcs7 -print_certs "
	    "-noout", tp("int/FR-MJ.crt"));
	cr_assert_eq(count_of(out, "subject="), 2, "%s", out);
	cr_assert(strstr(out, "issuer=CN = rogatory intermediate CA") != NULL, "%s", out);
	free(out);
	/* The root's pathlen:0 alone refuses it, whatever a verifier's depth. */
	ts_sh(&out, "openssl verify -CAfile '%s' -untrusted '%s' '%s' 2>&1", tp("ca/ca.crt"),
	    tp("int/FR-MJ.crt"), tp("int/FR-MJ.crt"));
	cr_assert(strstr(out, "path length constraint exceeded") != NULL, "%s", out);
	free(out);
}

Test(pki, deviant_refuses_existing_output)
{
	char *argv[] = { (char *)ts_src_path("tests/tools/deviant-cert"), tp("ca"), "expired",
		"FR-MJ", tp("ca"), NULL };
	char *out = NULL;

	init_ca();
	issue("FR-MJ", NULL);
	cr_assert_eq(ts_run(argv, &out), 1, "%s", out);
	cr_assert(strstr(out, "already exists") != NULL, "%s", out);
	free(out);
}
