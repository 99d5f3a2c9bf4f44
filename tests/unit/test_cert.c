/*
 * Unit tests for daemon/cert.c: identity from the SAN URI only, key file modes, key/cert
 * match, chains to our CA alone, time-bound verification. Every certificate is made at
 * test time (rogatory-pki, or openssl for the malformed ones the tool refuses to make).
 */
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <criterion/criterion.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "../support/support.h"

static char *dir;

static const char *in_dir(const char *rel);
static void pki(const char *args);
static void odd_cert(const char *name, const char *subj, const char *san);
static X509 *load(const char *rel);
static X509 *uri_cert(const char *const *uris, const int *lens, int n, int copies);
static void setup(void);
static void teardown(void);

/* Paths under this test's folder; a few slots so two can be used in one call. */
static const char *
in_dir(const char *rel)
{
	static char slots[6][512];
	static int next;
	char *p = slots[next++ % 6];
	snprintf(p, sizeof(slots[0]), "%s/%s", dir, rel);
	return p;
}

static void
pki(const char *args)
{
	char *out = NULL;
	int rc = ts_sh(&out, "cd '%s' && '%s' %s", dir, ts_pki(), args);
	cr_assert_eq(rc, 0, "rogatory-pki %s: %s", args, out);
	free(out);
}

/* A P-256 certificate signed by our CA with whatever SAN rogatory-pki would never
 * write (san NULL: no SAN at all). */
static void
odd_cert(const char *name, const char *subj, const char *san)
{
	char *out = NULL;
	if (san != NULL)
		ts_writef(in_dir("odd.ext"), 0600, "subjectAltName=%s\n", san);
	int rc = ts_sh(&out, "cd '%s' && openssl req -new -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout %s.key -out %s.csr -subj '%s' && "
	    "openssl x509 -req -in %s.csr -CA ca/ca.crt -CAkey ca/ca.key -CAcreateserial "
	    "-CAserial odd.srl -days 30 -out %s.crt %s", dir, name, name, subj, name, name,
	    san != NULL ? "-extfile odd.ext" : "");
	cr_assert_eq(rc, 0, "openssl: %s", out);
	free(out);
}

static X509 *
load(const char *rel)
{
	X509 *c = NULL;
	char err[512];
	cr_assert_eq(cert_load_pem(in_dir(rel), &c, err, sizeof(err)), 0, "%s", err);
	return c;
}

/* An unsigned certificate carrying exactly the given URIs (bytes, NULs allowed) in
 * `copies` separate SAN extensions: shapes no CLI will produce. */
static X509 *
uri_cert(const char *const *uris, const int *lens, int n, int copies)
{
	X509 *c = X509_new();
	GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
	cr_assert(c != NULL && gns != NULL);
	for (int i = 0; i < n; i++) {
		GENERAL_NAME *gn = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		cr_assert(gn != NULL && s != NULL);
		cr_assert(ASN1_STRING_set(s, uris[i], lens[i]) == 1);
		GENERAL_NAME_set0_value(gn, GEN_URI, s);
		cr_assert(sk_GENERAL_NAME_push(gns, gn) > 0);
	}
	for (int k = 0; k < copies; k++)
		cr_assert(X509_add1_ext_i2d(c, NID_subject_alt_name, gns, 0,
		    X509V3_ADD_APPEND) == 1);
	GENERAL_NAMES_free(gns);
	return c;
}

static void
setup(void)
{
	dir = ts_tmpdir("cert");
	pki("init ca");
	pki("issue ca FR-MJ .");
	pki("issue ca DE-BMJ .");
}

static void
teardown(void)
{
	ts_rmrf(dir);
	free(dir);
}

TestSuite(cert, .init = setup, .fini = teardown, .timeout = 60);

Test(cert, authority_id_from_san)
{
	X509 *c = load("FR-MJ.crt");
	char id[AUTHORITY_ID_MAX + 1];
	char err[256] = "";
	cr_assert_eq(cert_authority_id(c, id, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(id, "FR-MJ");
	char subject[256];
	cert_subject(c, subject, sizeof(subject));
	cr_assert(strstr(subject, "CN=") != NULL, "subject %s", subject);
	X509_free(c);
}

/* A subject reaches logs, `peers` and signed reasons: nothing in it may act on a
 * terminal (OpenSSL's RFC 2253 escaping leaves C1 and bidi controls raw in UTF-8). */
Test(cert, subject_escapes_terminal_controls)
{
	X509 *c = X509_new();
	cr_assert_not_null(c);
	X509_NAME *n = X509_get_subject_name(c);
	static const unsigned char cn[] = "Mini\xc3\xa8re \x1b[2J\xc2\x9b\xe2\x80\xae" "fdp";
	cr_assert_eq(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, cn, -1, -1, 0), 1);
	char subject[256];
	cert_subject(c, subject, sizeof(subject));
	cr_assert_str_eq(subject, "CN=Mini\xc3\xa8re \\1B[2J\\u009b\\u202efdp");
	X509_free(c);
}

Test(cert, cn_only_refused)
{
	odd_cert("cn", "/O=rogatory/CN=FR-MJ", NULL);
	X509 *c = load("cn.crt");
	char id[AUTHORITY_ID_MAX + 1] = "";
	char err[256] = "";
	cr_assert_eq(cert_authority_id(c, id, err, sizeof(err)), -1);
	cr_assert(strstr(err, "no subjectAltName") != NULL, "%s", err);
	cr_assert_str_empty(id);
	X509_free(c);
}

Test(cert, two_uris_refused)
{
	odd_cert("two", "/CN=FR-MJ", "URI:urn:rogatory:authority:FR-MJ,"
	    "URI:urn:rogatory:authority:DE-BMJ");
	X509 *c = load("two.crt");
	char id[AUTHORITY_ID_MAX + 1];
	char err[256] = "";
	cr_assert_eq(cert_authority_id(c, id, err, sizeof(err)), -1);
	cr_assert(strstr(err, "2 URI entries") != NULL, "%s", err);
	X509_free(c);
}

Test(cert, other_names_beside_the_uri_allowed)
{
	odd_cert("dns", "/CN=x", "DNS:fr-mj.example,URI:urn:rogatory:authority:FR-MJ,"
	    "email:ops@example.org");
	X509 *c = load("dns.crt");
	char id[AUTHORITY_ID_MAX + 1];
	char err[256] = "";
	cr_assert_eq(cert_authority_id(c, id, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(id, "FR-MJ");
	X509_free(c);
}

Test(cert, no_uri_refused)
{
	odd_cert("nouri", "/CN=FR-MJ", "DNS:FR-MJ");
	X509 *c = load("nouri.crt");
	char id[AUTHORITY_ID_MAX + 1];
	char err[256] = "";
	cr_assert_eq(cert_authority_id(c, id, err, sizeof(err)), -1);
	cr_assert(strstr(err, "0 URI entries") != NULL, "%s", err);
	X509_free(c);
}

Test(cert, wrong_prefix_refused)
{
	odd_cert("prefix", "/CN=FR-MJ", "URI:urn:example:authority:FR-MJ");
	X509 *c = load("prefix.crt");
	char id[AUTHORITY_ID_MAX + 1];
	char err[256] = "";
	cr_assert_eq(cert_authority_id(c, id, err, sizeof(err)), -1);
	cr_assert(strstr(err, "urn:example:authority:FR-MJ") != NULL &&
	    strstr(err, "is not urn:rogatory:authority:<ID>") != NULL, "%s", err);
	X509_free(c);
}

Test(cert, lower_case_id_refused)
{
	odd_cert("lower", "/CN=FR-MJ", "URI:urn:rogatory:authority:fr-mj");
	X509 *c = load("lower.crt");
	char id[AUTHORITY_ID_MAX + 1];
	char err[256] = "";
	cr_assert_eq(cert_authority_id(c, id, err, sizeof(err)), -1);
	cr_assert(strstr(err, "invalid authority id \"fr-mj\"") != NULL, "%s", err);
	X509_free(c);
}

Test(cert, embedded_nul_refused)
{
	static const char uri[] = "urn:rogatory:authority:FR-MJ\0.evil";
	const char *uris[] = {uri};
	int lens[] = {(int)sizeof(uri) - 1};
	X509 *c = uri_cert(uris, lens, 1, 1);
	char id[AUTHORITY_ID_MAX + 1] = "";
	char err[256] = "";
	cr_assert_eq(cert_authority_id(c, id, err, sizeof(err)), -1);
	cr_assert(strstr(err, "NUL") != NULL, "%s", err);
	cr_assert_str_empty(id);
	X509_free(c);
}

Test(cert, id_with_trailing_bytes_refused)
{
	const char *uris[] = {"urn:rogatory:authority:FR-MJ "};
	int lens[] = {(int)strlen(uris[0])};
	X509 *c = uri_cert(uris, lens, 1, 1);
	char id[AUTHORITY_ID_MAX + 1];
	char err[256] = "";
	cr_assert_eq(cert_authority_id(c, id, err, sizeof(err)), -1);
	cr_assert(strstr(err, "invalid authority id") != NULL, "%s", err);
	X509_free(c);
}

Test(cert, duplicate_san_extension_refused)
{
	const char *uris[] = {"urn:rogatory:authority:FR-MJ"};
	int lens[] = {(int)strlen(uris[0])};
	X509 *c = uri_cert(uris, lens, 1, 2);
	char id[AUTHORITY_ID_MAX + 1];
	char err[256] = "";
	cr_assert_eq(cert_authority_id(c, id, err, sizeof(err)), -1);
	cr_assert(strstr(err, "2 subjectAltName extensions") != NULL, "%s", err);
	X509_free(c);
}

Test(cert, key_mode_refused_with_path)
{
	const char *key = in_dir("FR-MJ.key");
	EVP_PKEY *k = NULL;
	char err[512] = "";
	cr_assert_eq(chmod(key, 0644), 0);
	cr_assert_eq(cert_key_load(key, &k, err, sizeof(err)), -1);
	cr_assert(strstr(err, key) != NULL, "%s", err);
	cr_assert(strstr(err, "mode 0644") != NULL, "%s", err);
	cr_assert(strstr(err, "chmod 600") != NULL, "%s", err);
	cr_assert_null(k);

	cr_assert_eq(chmod(key, 0640), 0);
	cr_assert_eq(cert_key_load(key, &k, err, sizeof(err)), -1);
	cr_assert(strstr(err, "mode 0640") != NULL, "%s", err);

	cr_assert_eq(chmod(key, 0600), 0);
	cr_assert_eq(cert_key_load(key, &k, err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(k);
	EVP_PKEY_free(k);
}

Test(cert, key_missing_or_not_a_key)
{
	EVP_PKEY *k = NULL;
	char err[512] = "";
	const char *missing = in_dir("nope.key");
	cr_assert_eq(cert_key_load(missing, &k, err, sizeof(err)), -1);
	cr_assert(strstr(err, missing) != NULL, "%s", err);

	const char *garbage = in_dir("garbage.key");
	ts_write_file(garbage, "not a key\n", 0600);
	cr_assert_eq(cert_key_load(garbage, &k, err, sizeof(err)), -1);
	cr_assert(strstr(err, garbage) != NULL, "%s", err);
	cr_assert_eq(ERR_peek_error(), 0, "OpenSSL error queue left dirty");

	/* An encrypted key fails at once instead of prompting for a passphrase. */
	char *out = NULL;
	int rc = ts_sh(&out, "cd '%s' && openssl genpkey -algorithm EC -pkeyopt "
	    "ec_paramgen_curve:P-256 -aes256 -pass pass:secret -out enc.key && "
	    "chmod 600 enc.key", dir);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	const char *enc = in_dir("enc.key");
	cr_assert_eq(cert_key_load(enc, &k, err, sizeof(err)), -1);
	cr_assert(strstr(err, enc) != NULL, "%s", err);
	cr_assert_null(k);
}

Test(cert, credentials_ok)
{
	time_t not_after = 0;
	char err[512] = "";
	cr_assert_eq(cert_check_credentials(in_dir("FR-MJ.crt"), in_dir("FR-MJ.key"),
	    in_dir("ca/ca.crt"), "FR-MJ", &not_after, err, sizeof(err)), 0, "%s", err);
	cr_assert_gt(not_after, time(NULL) + 86400);
	X509 *c = load("FR-MJ.crt");
	cr_assert_eq(not_after, cert_not_after(c));
	cr_assert_lt(cert_not_before(c), time(NULL) + 1);
	X509_free(c);
}

Test(cert, credentials_key_mismatch)
{
	time_t not_after = 0;
	char err[512] = "";
	const char *crt = in_dir("FR-MJ.crt");
	const char *key = in_dir("DE-BMJ.key");
	cr_assert_eq(cert_check_credentials(crt, key, in_dir("ca/ca.crt"), "FR-MJ",
	    &not_after, err, sizeof(err)), -1);
	cr_assert(strstr(err, "does not match") != NULL, "%s", err);
	cr_assert(strstr(err, crt) != NULL && strstr(err, key) != NULL, "%s", err);
}

Test(cert, credentials_wrong_id)
{
	time_t not_after = 0;
	char err[512] = "";
	const char *crt = in_dir("FR-MJ.crt");
	cr_assert_eq(cert_check_credentials(crt, in_dir("FR-MJ.key"), in_dir("ca/ca.crt"),
	    "DE-BMJ", &not_after, err, sizeof(err)), -1);
	cr_assert(strstr(err, "names authority FR-MJ") != NULL, "%s", err);
	cr_assert(strstr(err, "DE-BMJ") != NULL && strstr(err, crt) != NULL, "%s", err);
}

Test(cert, credentials_key_mode)
{
	time_t not_after = 0;
	char err[512] = "";
	const char *key = in_dir("FR-MJ.key");
	cr_assert_eq(chmod(key, 0604), 0);
	cr_assert_eq(cert_check_credentials(in_dir("FR-MJ.crt"), key, in_dir("ca/ca.crt"),
	    "FR-MJ", &not_after, err, sizeof(err)), -1);
	cr_assert(strstr(err, key) != NULL && strstr(err, "mode 0604") != NULL, "%s", err);
}

Test(cert, credentials_foreign_ca)
{
	pki("init other-ca");
	cr_assert_eq(mkdir(in_dir("other"), 0700), 0);
	pki("issue other-ca FR-MJ other");
	time_t not_after = 0;
	char err[512] = "";
	const char *crt = in_dir("other/FR-MJ.crt");
	cr_assert_eq(cert_check_credentials(crt, in_dir("other/FR-MJ.key"),
	    in_dir("ca/ca.crt"), "FR-MJ", &not_after, err, sizeof(err)), -1);
	cr_assert(strstr(err, "unable to get local issuer certificate") != NULL, "%s", err);
	cr_assert(strstr(err, crt) != NULL, "%s", err);
}

Test(cert, foreign_chain_refused)
{
	pki("init other-ca");
	cr_assert_eq(mkdir(in_dir("other"), 0700), 0);
	pki("issue other-ca FR-MJ other");
	X509_STORE *store = NULL;
	char err[512] = "";
	cr_assert_eq(cert_store_load(in_dir("ca/ca.crt"), &store, err, sizeof(err)), 0, "%s",
	    err);
	X509 *mine = load("FR-MJ.crt");
	X509 *foreign = load("other/FR-MJ.crt");
	cr_assert_eq(cert_verify_at(store, mine, time(NULL), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cert_verify_at(store, foreign, time(NULL), err, sizeof(err)), -1);
	cr_assert(strstr(err, "unable to get local issuer certificate") != NULL, "%s", err);
	cr_assert(strstr(err, "depth 0") != NULL, "%s", err);
	/* The foreign CA itself is self-signed but not ours. */
	X509 *other_ca = load("other-ca/ca.crt");
	cr_assert_eq(cert_verify_at(store, other_ca, time(NULL), err, sizeof(err)), -1);
	X509_free(mine);
	X509_free(foreign);
	X509_free(other_ca);
	X509_STORE_free(store);
}

Test(cert, verify_at_checks_time)
{
	X509_STORE *store = NULL;
	char err[512] = "";
	cr_assert_eq(cert_store_load(in_dir("ca/ca.crt"), &store, err, sizeof(err)), 0, "%s",
	    err);
	X509 *c = load("FR-MJ.crt");
	time_t na = cert_not_after(c);
	time_t nb = cert_not_before(c);
	cr_assert_gt(na, nb);
	cr_assert_eq(cert_verify_at(store, c, na - 60, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cert_verify_at(store, c, na + 86400, err, sizeof(err)), -1);
	cr_assert(strstr(err, "certificate has expired") != NULL, "%s", err);
	cr_assert_eq(cert_verify_at(store, c, nb - 86400, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not yet valid") != NULL, "%s", err);
	X509_free(c);
	X509_STORE_free(store);
}

Test(cert, store_needs_a_ca_file)
{
	X509_STORE *store = NULL;
	char err[512] = "";
	const char *missing = in_dir("missing.crt");
	cr_assert_eq(cert_store_load(missing, &store, err, sizeof(err)), -1);
	cr_assert(strstr(err, missing) != NULL, "%s", err);
	const char *empty = in_dir("empty.crt");
	ts_write_file(empty, "", 0644);
	cr_assert_eq(cert_store_load(empty, &store, err, sizeof(err)), -1);
	cr_assert(strstr(err, "no CA certificate") != NULL && strstr(err, empty) != NULL,
	    "%s", err);
	cr_assert_null(store);
}

Test(cert, load_pem_errors_name_the_path)
{
	X509 *c = NULL;
	char err[512] = "";
	const char *junk = in_dir("junk.crt");
	ts_write_file(junk, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	    0644);
	cr_assert_eq(cert_load_pem(junk, &c, err, sizeof(err)), -1);
	cr_assert(strstr(err, junk) != NULL, "%s", err);
	cr_assert_eq(cert_load_pem(dir, &c, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not a regular file") != NULL, "%s", err);
	cr_assert_null(c);
}

Test(cert, der_round_trip_and_trailing_bytes)
{
	X509 *c = load("FR-MJ.crt");
	unsigned char *der = NULL;
	int n = i2d_X509(c, &der);
	cr_assert_gt(n, 0);
	unsigned char *longer = malloc((size_t)n + 1);
	memcpy(longer, der, (size_t)n);
	longer[n] = 0;

	X509 *back = NULL;
	char err[256] = "";
	cr_assert_eq(cert_from_der(der, (size_t)n, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(X509_cmp(c, back), 0);
	X509_free(back);
	back = NULL;
	cr_assert_eq(cert_from_der(longer, (size_t)n + 1, &back, err, sizeof(err)), -1);
	cr_assert(strstr(err, "trailing") != NULL, "%s", err);
	cr_assert_eq(cert_from_der(der, (size_t)n - 1, &back, err, sizeof(err)), -1);
	cr_assert_null(back);
	free(longer);
	OPENSSL_free(der);
	X509_free(c);
}

/* The network has one root and no intermediates: a leaf under a sub-CA is refused with
 * that reason, whether the verifier holds the root alone (a document's signer carries
 * no chain) or was given the sub-CA too, and under a root without pathlen:0 (made
 * before rogatory-pki wrote it) as under a new one. */
Test(cert, leaf_under_an_intermediate_refused_with_the_reason)
{
	char *out = NULL;
	pki("init old");
	int rc = ts_sh(&out, "cd '%s' && printf '[req]\\ndistinguished_name=dn\\nprompt=no\\n"
	    "[dn]\\nO=rogatory\\nCN=rogatory network root CA\\n[old]\\n"
	    "basicConstraints=critical,CA:TRUE\\nkeyUsage=critical,keyCertSign,cRLSign\\n"
	    "subjectKeyIdentifier=hash\\n' > old.cnf && openssl req -new -x509 -config old.cnf "
	    "-extensions old -key old/ca.key -days 30 -out old/ca.crt && "
	    "'%s' old intermediate FR-MJ old-int && '%s' ca intermediate FR-MJ new-int && "
	    "cat old/ca.crt old-int/sub-ca/ca.crt > old-both.crt && "
	    "cat ca/ca.crt new-int/sub-ca/ca.crt > new-both.crt", dir,
	    ts_src_path("tests/tools/deviant-cert"), ts_src_path("tests/tools/deviant-cert"));
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	static const struct {
		const char *ca, *leaf, *needle;
	} cases[] = {
		{"old/ca.crt", "old-int/FR-MJ.crt", "unable to get local issuer certificate "
		    "(unknown CA: issuer CN=rogatory intermediate CA is not the network CA; this "
		    "network has one root CA and no intermediates) (depth 0, subject CN=FR-MJ)"},
		{"old-both.crt", "old-int/FR-MJ.crt", "certificate chain too long (issued by an "
		    "intermediate CA: this network has one root CA and no intermediates)"},
		{"ca/ca.crt", "new-int/FR-MJ.crt", "(unknown CA: issuer CN=rogatory intermediate "
		    "CA is not the network CA;"},
		{"new-both.crt", "new-int/FR-MJ.crt", "(issued by an intermediate CA: this "
		    "network has one root CA and no intermediates)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		X509_STORE *store = NULL;
		char err[512] = "";
		cr_assert_eq(cert_store_load(in_dir(cases[i].ca), &store, err, sizeof(err)), 0,
		    "%s", err);
		X509 *c = load(cases[i].leaf);
		cr_assert_eq(cert_verify_at(store, c, time(NULL), err, sizeof(err)), -1,
		    "case %zu accepted", i);
		cr_assert(strstr(err, cases[i].needle) != NULL, "case %zu: %s", i, err);
		X509_free(c);
		X509_STORE_free(store);
	}
}
