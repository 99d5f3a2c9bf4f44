/*
 * test_dirsig: the signed directory. pki/rogatory-pki sign-directory (serial grows, the
 * key is made once and never overwritten, its certificate is for that purpose only) and
 * dirsig's verification and choice of the directory in force (tampered, unsigned, older
 * and wrongly signed files refused, the last good one kept in state_dir). Certificates
 * come from the real tool at test time; signatures the tool would refuse to make (an
 * authority's key, an expired certificate, another context) are made here with OpenSSL.
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../support/support.h"
#include "config.h"
#include "crl.h"
#include "diag.h"
#include "directory.h"
#include "dirsig.h"
#include "wire.h"

static char *tmp;

static void
setup(void)
{
	tmp = ts_tmpdir("dirsig");
}

static void
teardown(void)
{
	if (tmp != NULL)
		ts_rmrf(tmp);
	free(tmp);
	tmp = NULL;
}

TestSuite(dirsig, .init = setup, .fini = teardown, .timeout = 120);

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

static char *
sh_ok(const char *fmt, ...)
{
	char *cmd, *out = NULL;
	va_list ap;
	va_start(ap, fmt);
	cr_assert(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	int rc = ts_sh(&out, "%s", cmd);
	cr_assert_eq(rc, 0, "%s failed (%d):\n%s", cmd, rc, out);
	free(cmd);
	return out;
}

static const char DIR_V1[] =
    "[authority FR-MJ]\nname = Ministry of Justice\ncountry = FR\n"
    "address = 127.0.0.1:7001\nkinds = mla\nlanguages = fr, en\n\n"
    "[authority BD-ACC]\nname = Anti-Corruption Commission\ncountry = BD\n"
    "address = 127.0.0.1:7002\nkinds = mla\nlanguages = bn, en\n";
static const char DIR_V2[] =
    "[authority FR-MJ]\nname = Ministry of Justice\ncountry = FR\n"
    "address = 127.0.0.1:7001\nkinds = mla\nlanguages = fr, en\n";

/* A CA in tmp/ca, FR-MJ's credentials in tmp/, d.conf signed once (serial 1). */
static void
network(void)
{
	free(sh_ok("'%s' init '%s' && '%s' issue '%s' FR-MJ '%s'", ts_pki(), tp("ca"), ts_pki(),
	    tp("ca"), tmp));
	ts_write_file(tp("d.conf"), DIR_V1, 0644);
	free(sh_ok("'%s' sign-directory '%s' '%s'", ts_pki(), tp("ca"), tp("d.conf")));
}

static int
verify_file(const char *conf, const char *sig, const struct crl *crl, struct dirsig_info *info,
    char *err, size_t errlen)
{
	size_t clen, slen;
	char *c = ts_read_file(conf, &clen);
	char *s = ts_read_file(sig, &slen);
	cr_assert(c != NULL && s != NULL, "cannot read %s or %s", conf, sig);
	int rc = dirsig_verify_file(tp("ca/ca.crt"), crl, (uint8_t *)c, clen, (uint8_t *)s, slen,
	    info, err, errlen);
	free(c);
	free(s);
	return rc;
}

static void
refused_with(const char *conf, const char *sig, const struct crl *crl, const char *needle)
{
	struct dirsig_info info;
	char err[1024] = "";
	cr_assert_eq(verify_file(conf, sig, crl, &info, err, sizeof(err)), -1,
	    "%s with %s was accepted", conf, sig);
	cr_assert(strstr(err, needle) != NULL, "error \"%s\" does not say \"%s\"", err, needle);
}

/* A directory signature made here: ctx + 0x00 + DirectoryBody, signed with key_pem, with
 * the certificate crt_pem, written to out. What the tool never makes. */
static void
forge(const char *ctx, const char *key_pem, const char *crt_pem, const char *conf,
    uint64_t serial, int64_t signed_ms, const char *out)
{
	size_t clen;
	char *c = ts_read_file(conf, &clen);
	cr_assert_not_null(c);
	uint8_t h[32];
	cr_assert_eq(EVP_Digest(c, clen, h, NULL, EVP_sha256(), NULL), 1);
	free(c);
	Rogatory__V1__DirectoryBody b = ROGATORY__V1__DIRECTORY_BODY__INIT;
	b.serial = serial;
	b.directory_sha256.data = h;
	b.directory_sha256.len = 32;
	b.signed_ms = signed_ms;
	size_t clen2 = strlen(ctx) + 1, blen = protobuf_c_message_get_packed_size(&b.base);
	uint8_t *body = malloc(clen2 + blen);
	memcpy(body, ctx, clen2);
	protobuf_c_message_pack(&b.base, body + clen2);

	FILE *f = fopen(key_pem, "r");
	cr_assert_not_null(f, "%s", key_pem);
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	f = fopen(crt_pem, "r");
	cr_assert_not_null(f, "%s", crt_pem);
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	cr_assert(k != NULL && x != NULL);
	uint8_t sig[256];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	cr_assert_eq(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
	cr_assert_eq(EVP_DigestSign(md, sig, &siglen, body, clen2 + blen), 1);
	EVP_MD_CTX_free(md);
	unsigned char *der = NULL;
	int dlen = i2d_X509(x, &der);
	cr_assert(dlen > 0);

	Rogatory__V1__SignedObject so = ROGATORY__V1__SIGNED_OBJECT__INIT;
	so.body.data = body;
	so.body.len = clen2 + blen;
	so.signature.data = sig;
	so.signature.len = siglen;
	so.signer_certificate.data = der;
	so.signer_certificate.len = (size_t)dlen;
	size_t n = protobuf_c_message_get_packed_size(&so.base);
	uint8_t *buf = malloc(n);
	protobuf_c_message_pack(&so.base, buf);
	f = fopen(out, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, 1, n, f), n);
	fclose(f);
	free(buf);
	OPENSSL_free(der);
	free(body);
	EVP_PKEY_free(k);
	X509_free(x);
}

/* ---- rogatory-pki sign-directory ---- */

Test(dirsig, pki_serial_grows_and_the_key_is_made_once)
{
	network();
	char *k1 = sh_ok("sha256sum < '%s'", tp("ca/directory.key"));
	char *c1 = sh_ok("sha256sum < '%s'", tp("ca/directory.crt"));
	char *s = sh_ok("cat '%s'", tp("ca/directory.serial"));
	cr_assert_str_eq(s, "1\n");
	free(s);
	char *out = sh_ok("'%s' sign-directory '%s' '%s' 2>&1", ts_pki(), tp("ca"), tp("d.conf"));
	cr_assert(strstr(out, "serial 2") != NULL, "%s", out);
	cr_assert(strstr(out, "made the directory-signing key") == NULL, "%s", out);
	free(out);
	s = sh_ok("cat '%s'", tp("ca/directory.serial"));
	cr_assert_str_eq(s, "2\n");
	free(s);
	char *k2 = sh_ok("sha256sum < '%s'", tp("ca/directory.key"));
	char *c2 = sh_ok("sha256sum < '%s'", tp("ca/directory.crt"));
	cr_assert_str_eq(k1, k2, "the directory key was replaced");
	cr_assert_str_eq(c1, c2, "the directory certificate was replaced");
	struct dirsig_info info;
	char err[1024];
	cr_assert_eq(verify_file(tp("d.conf"), tp("d.conf.sig"), NULL, &info, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(info.serial, 2);
	cr_assert(info.signed_ms > 0 && info.signed_ms <= (int64_t)time(NULL) * 1000);
	free(k1);
	free(k2);
	free(c1);
	free(c2);
}

Test(dirsig, pki_directory_certificate_is_for_signing_directories_only)
{
	network();
	char *t = sh_ok("openssl x509 -in '%s' -noout -ext subjectAltName,keyUsage,"
	    "extendedKeyUsage,basicConstraints", tp("ca/directory.crt"));
	cr_assert(strstr(t, "URI:urn:rogatory:directory") != NULL, "%s", t);
	cr_assert(strstr(t, "urn:rogatory:authority:") == NULL, "%s", t);
	cr_assert(strstr(t, "Digital Signature") != NULL, "%s", t);
	cr_assert(strstr(t, "Key Encipherment") == NULL && strstr(t, "Certificate Sign") == NULL,
	    "%s", t);
	cr_assert(strstr(t, "CA:FALSE") != NULL, "%s", t);
	cr_assert(strstr(t, "TLS Web") == NULL, "no TLS use: %s", t);
	free(t);
	t = sh_ok("stat -c %%a '%s'", tp("ca/directory.key"));
	cr_assert_str_eq(t, "600\n");
	free(t);
	/* The signature file checks with openssl alone: the body after the SignedObject's
	 * first length, verified with the certificate inside. */
	t = sh_ok("cd '%s' && protoc --decode_raw < d.conf.sig | head -c 40", tmp);
	cr_assert(strstr(t, "rogatory/directory/v1") != NULL, "%s", t);
	free(t);
}

Test(dirsig, pki_refuses_half_a_signer_and_bad_input)
{
	network();
	char *out = NULL;
	cr_assert_neq(ts_sh(&out, "rm '%s' && '%s' sign-directory '%s' '%s' 2>&1",
	    tp("ca/directory.crt"), ts_pki(), tp("ca"), tp("d.conf")), 0);
	cr_assert(strstr(out, "without its certificate") != NULL, "%s", out);
	free(out);
	cr_assert(access(tp("ca/directory.key"), F_OK) == 0, "the key must stay");
	out = NULL;
	cr_assert_neq(ts_sh(&out, "'%s' sign-directory '%s' '%s' 2>&1", ts_pki(), tp("ca"),
	    tp("nonexistent.conf")), 0);
	cr_assert(strstr(out, "no such file") != NULL, "%s", out);
	free(out);
	out = NULL;
	cr_assert_neq(ts_sh(&out, ": > '%s' && '%s' sign-directory '%s' '%s' 2>&1",
	    tp("empty.conf"), ts_pki(), tp("ca"), tp("empty.conf")), 0);
	cr_assert(strstr(out, "0 bytes") != NULL, "%s", out);
	free(out);
}

/* ---- verification ---- */

Test(dirsig, tampered_directory_refused)
{
	network();
	free(sh_ok("printf '# one more line\\n' >> '%s'", tp("d.conf")));
	refused_with(tp("d.conf"), tp("d.conf.sig"), NULL, "changed after it was signed");
}

Test(dirsig, foreign_ca_signer_refused)
{
	network();
	free(sh_ok("'%s' init '%s' && cp '%s' '%s' && '%s' sign-directory '%s' '%s'", ts_pki(),
	    tp("other"), tp("d.conf"), tp("o.conf"), ts_pki(), tp("other"), tp("o.conf")));
	refused_with(tp("o.conf"), tp("o.conf.sig"), NULL, "does not verify against the network CA");
}

Test(dirsig, authority_key_refused)
{
	network();
	forge(DIRSIG_CONTEXT, tp("FR-MJ.key"), tp("FR-MJ.crt"), tp("d.conf"), 9,
	    (int64_t)time(NULL) * 1000, tp("auth.sig"));
	refused_with(tp("d.conf"), tp("auth.sig"), NULL, "authority's certificate");
}

Test(dirsig, signer_without_the_directory_uri_refused)
{
	network();
	free(sh_ok("'%s' '%s' wrongsan ZZ-WRONG '%s' >/dev/null",
	    ts_src_path("tests/tools/deviant-cert"), tp("ca"), tmp));
	forge(DIRSIG_CONTEXT, tp("ZZ-WRONG.key"), tp("ZZ-WRONG.crt"), tp("d.conf"), 9,
	    (int64_t)time(NULL) * 1000, tp("wrong.sig"));
	refused_with(tp("d.conf"), tp("wrong.sig"), NULL, "is not urn:rogatory:directory");
}

Test(dirsig, expired_signer_refused)
{
	network();
	free(sh_ok("'%s' '%s' direxpired OLD-DIR '%s' >/dev/null",
	    ts_src_path("tests/tools/deviant-cert"), tp("ca"), tmp));
	forge(DIRSIG_CONTEXT, tp("OLD-DIR.key"), tp("OLD-DIR.crt"), tp("d.conf"), 9,
	    (int64_t)time(NULL) * 1000, tp("old.sig"));
	refused_with(tp("d.conf"), tp("old.sig"), NULL, "expired");
}

Test(dirsig, other_key_and_other_context_refused)
{
	network();
	/* The directory certificate, a key that is not its own. */
	forge(DIRSIG_CONTEXT, tp("FR-MJ.key"), tp("ca/directory.crt"), tp("d.conf"), 9,
	    (int64_t)time(NULL) * 1000, tp("otherkey.sig"));
	refused_with(tp("d.conf"), tp("otherkey.sig"), NULL, "does not verify with the key");
	/* The right key under another context: a receipt's signature is not a directory's. */
	forge("rogatory/receipt/v1", tp("ca/directory.key"), tp("ca/directory.crt"), tp("d.conf"),
	    9, (int64_t)time(NULL) * 1000, tp("ctx.sig"));
	refused_with(tp("d.conf"), tp("ctx.sig"), NULL, "not a directory signature");
	/* And the same key with the right context passes, so the two above fail for their
	 * reason alone. */
	forge(DIRSIG_CONTEXT, tp("ca/directory.key"), tp("ca/directory.crt"), tp("d.conf"), 9,
	    (int64_t)time(NULL) * 1000, tp("good.sig"));
	struct dirsig_info info;
	char err[1024];
	cr_assert_eq(verify_file(tp("d.conf"), tp("good.sig"), NULL, &info, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(info.serial, 9);
	ts_write_file(tp("junk.sig"), "not a signature", 0644);
	refused_with(tp("d.conf"), tp("junk.sig"), NULL, "not a signature file");
}

Test(dirsig, revoked_signer_refused)
{
	network();
	free(sh_ok("'%s' revoke '%s' '%s' >/dev/null 2>&1 && '%s' crl '%s' >/dev/null", ts_pki(),
	    tp("ca"), tp("ca/directory.crt"), ts_pki(), tp("ca")));
	struct crl *crl = NULL;
	char err[1024], msg[1024];
	cr_assert_eq(crl_open(tp("ca/ca.crt"), NULL, &crl, err, sizeof(err)), 0, "%s", err);
	uint8_t *der = NULL;
	size_t len = 0;
	cr_assert_eq(crl_file_read(tp("ca/crl.pem"), &der, &len, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(crl_offer(crl, der, len, "test", 0, msg, sizeof(msg)), CRL_OFFER_ADOPTED,
	    "%s", msg);
	free(der);
	refused_with(tp("d.conf"), tp("d.conf.sig"), crl, "revoked");
	/* The tool refuses to sign with it, too. */
	char *out = NULL;
	cr_assert_neq(ts_sh(&out, "'%s' sign-directory '%s' '%s' 2>&1", ts_pki(), tp("ca"),
	    tp("d.conf")), 0);
	cr_assert(strstr(out, "is revoked") != NULL, "%s", out);
	free(out);
	crl_free(crl);
}

/* ---- the directory in force: dirsig_load ---- */

static struct config *
cfg_for(void)
{
	struct config *c = calloc(1, sizeof(*c));
	snprintf(c->authority_id, sizeof(c->authority_id), "FR-MJ");
	c->tls_ca = strdup(tp("ca/ca.crt"));
	c->directory_path = strdup(tp("d.conf"));
	c->directory_signature = strdup(tp("d.conf.sig"));
	c->state_dir = strdup(tp("state"));
	mkdir(c->state_dir, 0700);
	return c;
}

static void
cfg_done(struct config *c)
{
	free(c->tls_ca);
	free(c->directory_path);
	free(c->directory_signature);
	free(c->state_dir);
	free(c);
}

/* Loads; expects rc, the serial in force and (when given) a note containing needle. */
static void
load_expect(struct config *c, int rc_want, uint64_t serial, size_t n_auth, const char *needle)
{
	struct diag notes = {0};
	struct dirsig *ds = NULL;
	struct directory *dir = NULL;
	char err[2048] = "";
	int rc = dirsig_load(c, NULL, 0, &notes, &ds, &dir, err, sizeof(err));
	cr_assert_eq(rc, rc_want, "dirsig_load: %d (%s)", rc, err);
	if (rc == 0) {
		cr_assert_eq(dirsig_serial(ds), serial, "serial %llu in force",
		    (unsigned long long)dirsig_serial(ds));
		cr_assert_eq(dir->n, n_auth);
	}
	if (needle != NULL) {
		bool found = strstr(err, needle) != NULL;
		for (size_t i = 0; i < notes.n && !found; i++)
			found = strstr(notes.lines[i], needle) != NULL;
		cr_assert(found, "nothing says \"%s\" (err \"%s\", %zu notes%s%s)", needle, err,
		    notes.n, notes.n ? ": " : "", notes.n ? notes.lines[0] : "");
	}
	dirsig_free(ds);
	directory_free(dir);
	diag_free(&notes);
}

Test(dirsig, bad_files_keep_the_last_good_one)
{
	network();
	struct config *c = cfg_for();
	load_expect(c, 0, 1, 2, NULL);
	cr_assert(access(tp("state/" DIRSIG_STATE_FILE), F_OK) == 0, "not persisted");
	/* serial 2, one authority fewer: taken */
	free(sh_ok("cp '%s' '%s' && cp '%s' '%s'", tp("d.conf"), tp("v1.conf"), tp("d.conf.sig"),
	    tp("v1.conf.sig")));
	ts_write_file(tp("d.conf"), DIR_V2, 0644);
	free(sh_ok("'%s' sign-directory '%s' '%s'", ts_pki(), tp("ca"), tp("d.conf")));
	load_expect(c, 0, 2, 1, NULL);
	/* older: the serial-1 pair again */
	free(sh_ok("cp '%s' '%s' && cp '%s' '%s'", tp("v1.conf"), tp("d.conf"), tp("v1.conf.sig"),
	    tp("d.conf.sig")));
	load_expect(c, 0, 2, 1, "older: serial 1 is below serial 2");
	/* tampered */
	ts_write_file(tp("d.conf"), DIR_V1, 0644);
	free(sh_ok("printf '\\n' >> '%s'", tp("d.conf")));
	load_expect(c, 0, 2, 1, "changed after it was signed");
	/* unsigned */
	free(sh_ok("rm '%s'", tp("d.conf.sig")));
	load_expect(c, 0, 2, 1, "unsigned");
	/* wrongly signed: an authority's key */
	ts_write_file(tp("d.conf"), DIR_V1, 0644);
	forge(DIRSIG_CONTEXT, tp("FR-MJ.key"), tp("FR-MJ.crt"), tp("d.conf"), 7,
	    (int64_t)time(NULL) * 1000, tp("d.conf.sig"));
	load_expect(c, 0, 2, 1, "authority's certificate");
	/* A state file that no longer verifies is moved aside; with a bad file as well,
	 * nothing is left to run on. */
	free(sh_ok("printf x >> '%s'", tp("state/" DIRSIG_STATE_FILE)));
	load_expect(c, -1, 0, 0, "no earlier good one");
	cr_assert(access(tp("state/" DIRSIG_STATE_FILE ".refused"), F_OK) == 0);
	cfg_done(c);
}

/* An expired directory key signing "in the past" (its signing time is its own claim) with
 * a serial that would lock the network: refused from the file and from a peer; the
 * directory in force stays (review finding: it was taken). */
Test(dirsig, expired_key_backdating_its_signature_refused)
{
	network();
	struct config *c = cfg_for();
	/* A CA as old as a real network's: the same key and name, valid since 2019. */
	free(sh_ok("cd '%s' && export ROGATORY_PKI_CADIR=$PWD && openssl x509 -x509toreq "
	    "-signkey ca.key -in ca.crt -out root.csr 2>/dev/null && printf '[v3]\\n"
	    "basicConstraints = critical, CA:TRUE\\nkeyUsage = critical, keyCertSign, cRLSign\\n"
	    "subjectKeyIdentifier = hash\\n' > rootext.cnf && openssl ca -config openssl.cnf "
	    "-selfsign -keyfile ca.key -in root.csr -startdate 20190101000000Z -enddate "
	    "20350101000000Z -extfile rootext.cnf -extensions v3 -batch -notext -out ca2.crt "
	    "2>/dev/null && mv ca2.crt ca.crt && rm directory.key directory.crt", tp("ca")));
	/* The operator's directory under it (a new directory key), serial 2, in force. */
	free(sh_ok("'%s' sign-directory '%s' '%s'", ts_pki(), tp("ca"), tp("d.conf")));
	load_expect(c, 0, 2, 2, NULL);
	free(sh_ok("'%s' '%s' direxpired OLD-DIR '%s' >/dev/null",
	    ts_src_path("tests/tools/deviant-cert"), tp("ca"), tmp));
	ts_write_file(tp("d.conf"), DIR_V2, 0644);
	forge(DIRSIG_CONTEXT, tp("OLD-DIR.key"), tp("OLD-DIR.crt"), tp("d.conf"), 999999,
	    (int64_t)1593561600000 /* 2020-07-01, inside its validity */, tp("d.conf.sig"));
	/* Its signature itself is sound at the time it claims ... */
	struct dirsig_info info;
	char err[2048] = "";
	cr_assert_eq(verify_file(tp("d.conf"), tp("d.conf.sig"), NULL, &info, err, sizeof(err)),
	    0, "the forged signature should verify at its claimed time: %s", err);
	/* ... but no directory is taken from a key that is not valid now. */
	load_expect(c, 0, 2, 2, "expired at");
	struct dirsig *ds = NULL;
	struct directory *dir = NULL;
	struct diag notes = {0};
	cr_assert_eq(dirsig_load(c, NULL, 0, &notes, &ds, &dir, err, sizeof(err)), 0, "%s", err);
	directory_free(dir);
	diag_free(&notes);
	size_t clen, slen;
	char *conf = ts_read_file(tp("d.conf"), &clen);
	char *sig = ts_read_file(tp("d.conf.sig"), &slen);
	Rogatory__V1__SignedObject *so = NULL;
	cr_assert_eq(wire_signed_object_decode((const uint8_t *)sig, slen, &so, err,
	    sizeof(err)), 0, "%s", err);
	Rogatory__V1__Directory m = ROGATORY__V1__DIRECTORY__INIT;
	m.conf.data = (uint8_t *)conf;
	m.conf.len = clen;
	m.signature = so;
	char msg[2048];
	cr_assert_eq(dirsig_offer(&ds, c, NULL, &m, "FR-MJ", &dir, msg, sizeof(msg)),
	    DIRSIG_REFUSED, "%s", msg);
	cr_assert(strstr(msg, "expired at") != NULL, "%s", msg);
	cr_assert_eq(dirsig_serial(ds), 2);
	wire_audit_free(so);
	free(conf);
	free(sig);
	dirsig_free(ds);
	cfg_done(c);
}

Test(dirsig, same_serial_other_content_refused)
{
	network();
	struct config *c = cfg_for();
	load_expect(c, 0, 1, 2, NULL);
	ts_write_file(tp("d.conf"), DIR_V2, 0644);
	forge(DIRSIG_CONTEXT, tp("ca/directory.key"), tp("ca/directory.crt"), tp("d.conf"), 1,
	    (int64_t)time(NULL) * 1000, tp("d.conf.sig"));
	load_expect(c, 0, 1, 2, "serial 1 already names another directory");
	cfg_done(c);
}

Test(dirsig, signed_directory_must_list_us)
{
	network();
	struct config *c = cfg_for();
	snprintf(c->authority_id, sizeof(c->authority_id), "UA-PGO");
	load_expect(c, -1, 0, 0, "does not list this authority, UA-PGO");
	cfg_done(c);
}
