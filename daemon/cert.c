/*
 * cert: reads certificates and keys from disk or memory and answers "who is this" and
 * "does it chain to our CA". An identity comes only from the one SAN URI, never from the
 * CN; a key file others can read is refused, never loaded "just this once".
 */
#include "cert.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "termsafe.h"

#define CERT_ONE_ROOT "this network has one root CA and no intermediates"

/* What an X509_V_ERR_* code means here; codes not listed get OpenSSL's words alone. */
static const struct {
	int error;
	const char *hint;
} cert_hints[] = {
	{X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unknown CA"},
	{X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, "unknown CA"},
	{X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "unknown CA"},
	{X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, "unknown CA"},
	{X509_V_ERR_CERT_SIGNATURE_FAILURE, "unknown CA"},
	{X509_V_ERR_CERT_CHAIN_TOO_LONG, "issued by an intermediate CA: " CERT_ONE_ROOT},
	{X509_V_ERR_PATH_LENGTH_EXCEEDED, "issued by an intermediate CA: " CERT_ONE_ROOT},
	{X509_V_ERR_CERT_HAS_EXPIRED, "expired"},
	{X509_V_ERR_CERT_NOT_YET_VALID, "not yet valid"},
	{X509_V_ERR_CERT_REVOKED, "listed in the network CA's CRL"},
	{X509_V_ERR_UNABLE_TO_GET_CRL, "our CRL cannot be used"},
	{X509_V_ERR_CRL_SIGNATURE_FAILURE, "our CRL cannot be used"},
	{X509_V_ERR_CRL_NOT_YET_VALID, "our CRL cannot be used"},
};

static time_t asn1_time_to_time(const ASN1_TIME *t);
static void name_line(const X509_NAME *name, char *buf, size_t len);
static const char *openssl_reason(char *buf, size_t len);
static int no_passphrase(char *buf, int size, int rwflag, void *u);
static bool ascii_printable(const unsigned char *s, size_t len);
static FILE *open_regular(const char *path, const char *what, struct stat *st, char *err,
    size_t errlen);

/* The first queued OpenSSL reason, then the queue emptied: a stale entry left behind
 * would be read by the next SSL_get_error() on some unrelated connection. */
static const char *
openssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
	snprintf(buf, len, "%s", r != NULL ? r : "unknown OpenSSL error");
	ERR_clear_error();
	return buf;
}

/* Only short printable ASCII is quoted back in a message: a certificate's bytes must
 * never put control characters into a log line. */
static bool
ascii_printable(const unsigned char *s, size_t len)
{
	if (len > 120)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* An encrypted key must fail with a message, not stop a daemon at a terminal prompt. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* fstat on the opened descriptor, so the checked file is the one read. */
static FILE *
open_regular(const char *path, const char *what, struct stat *st, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err_set(err, errlen, "cannot open %s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, st) != 0) {
		err_set(err, errlen, "cannot stat %s %s: %s", what, path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st->st_mode)) {
		err_set(err, errlen, "%s %s is not a regular file", what, path);
		close(fd);
		return NULL;
	}
	FILE *f = fdopen(fd, "r");
	if (f == NULL) {
		err_set(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
		close(fd);
	}
	return f;
}

int
cert_san_uri(const X509 *c, const char *wanted, unsigned char uri[CERT_URI_MAX], size_t *len,
    char *err, size_t errlen)
{
	int crit = 0, uris = 0, rc = -1;
	const unsigned char *u = NULL;
	int ulen = 0;
	*len = 0;
	GENERAL_NAMES *names = X509_get_ext_d2i(c, NID_subject_alt_name, &crit, NULL);
	if (names == NULL) {
		/* crit -2: the extension appears twice, which would let two parsers disagree
		 * on who this is. crit -1: absent. Otherwise it did not decode. */
		if (crit == -2)
			err_set(err, errlen, "certificate has 2 subjectAltName extensions");
		else if (crit == -1)
			err_set(err, errlen, "no subjectAltName (the CN is never used as identity)");
		else
			err_set(err, errlen, "subjectAltName does not decode");
		goto done;
	}
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		if (gn->type != GEN_URI)
			continue;
		uris++;
		u = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
		ulen = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
	}
	if (uris != 1) {
		err_set(err, errlen, "subjectAltName has %d URI entries; exactly one %s is "
		    "required", uris, wanted);
		goto done;
	}
	if (u == NULL || ulen <= 0)
		ulen = 0;
	if ((size_t)ulen >= CERT_URI_MAX) {
		err_set(err, errlen, "its URI is %d bytes; %s is far shorter", ulen, wanted);
		goto done;
	}
	if (ulen > 0)
		memcpy(uri, u, (size_t)ulen);
	uri[ulen] = '\0';
	*len = (size_t)ulen;
	rc = 0;
done:
	GENERAL_NAMES_free(names);
	ERR_clear_error();
	return rc;
}

int
cert_authority_id(const X509 *c, char id[AUTHORITY_ID_MAX + 1], char *err, size_t errlen)
{
	static const char prefix[] = AUTHORITY_URI_PREFIX;
	const size_t plen = sizeof(prefix) - 1;
	unsigned char uri[CERT_URI_MAX];
	size_t len;

	if (cert_san_uri(c, "urn:rogatory:authority:<ID>", uri, &len, err, errlen) != 0)
		return -1;
	/* Checked by length, never as a C string: an embedded NUL could otherwise make
	 * "urn:rogatory:authority:FR-MJ\0.evil" read as FR-MJ. */
	if (memchr(uri, '\0', len) != NULL) {
		err_set(err, errlen, "URI contains a NUL byte; it must be "
		    "urn:rogatory:authority:<ID>");
		return -1;
	}
	if (len < plen || memcmp(uri, prefix, plen) != 0) {
		err_set(err, errlen, "URI \"%.*s\" is not urn:rogatory:authority:<ID>",
		    ascii_printable(uri, len) ? (int)len : 1,
		    ascii_printable(uri, len) ? (const char *)uri : "?");
		return -1;
	}
	const unsigned char *tail = uri + plen;
	size_t tail_len = len - plen;
	if (!text_authority_id_valid(tail, tail_len)) {
		err_set(err, errlen, "invalid authority id \"%.*s\" in URI (must match "
		    "^[A-Z]{2}(-[A-Z0-9]{1,16}){1,3}$)",
		    ascii_printable(tail, tail_len) ? (int)tail_len : 1,
		    ascii_printable(tail, tail_len) ? (const char *)tail : "?");
		return -1;
	}
	memcpy(id, tail, tail_len);
	id[tail_len] = '\0';
	return 0;
}

void
cert_subject(const X509 *c, char *buf, size_t len)
{
	name_line(X509_get_subject_name(c), buf, len);
}

static void
name_line(const X509_NAME *name, char *buf, size_t len)
{
	if (len == 0)
		return;
	snprintf(buf, len, "?");
	BIO *b = BIO_new(BIO_s_mem());
	if (b == NULL)
		goto done;
	/* RFC 2253 order and escaping, UTF-8 left readable; then what OpenSSL leaves raw
	 * (C1 controls, bidi controls) escaped too, so a subject can never forge a log line,
	 * act on a terminal, or break the text rule of a receipt's reason that quotes it. */
	unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
	if (X509_NAME_print_ex(b, name, 0, flags) < 0)
		goto done;
	char *data = NULL;
	long n = BIO_get_mem_data(b, &data);
	if (n <= 0)
		goto done;
	termsafe(data, (size_t)n, buf, len);
done:
	BIO_free(b);
	ERR_clear_error();
}

static time_t
asn1_time_to_time(const ASN1_TIME *t)
{
	struct tm tm;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return 0;
	}
	return timegm(&tm);
}

void
cert_serial(const X509 *c, char *buf, size_t len)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(c);
	BIGNUM *bn = s ? ASN1_INTEGER_to_BN(s, NULL) : NULL;
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	snprintf(buf, len, "%s", hex ? hex : "");
	OPENSSL_free(hex);
	BN_free(bn);
	ERR_clear_error();
}

time_t
cert_not_after(const X509 *c)
{
	return asn1_time_to_time(X509_get0_notAfter(c));
}

time_t
cert_not_before(const X509 *c)
{
	return asn1_time_to_time(X509_get0_notBefore(c));
}

int
cert_load_pem(const char *path, X509 **out, char *err, size_t errlen)
{
	struct stat st;
	char why[128];
	FILE *f = open_regular(path, "certificate", &st, err, errlen);
	if (f == NULL)
		return -1;
	X509 *c = PEM_read_X509(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (c == NULL)
		return err_set(err, errlen, "no PEM certificate in %s: %s", path,
		    openssl_reason(why, sizeof(why)));
	*out = c;
	return 0;
}

int
cert_from_der(const uint8_t *der, size_t len, X509 **out, char *err, size_t errlen)
{
	char why[128];
	if (der == NULL || len == 0)
		return err_set(err, errlen, "certificate is empty");
	if (len > LONG_MAX)
		return err_set(err, errlen, "certificate is too large (%zu bytes)", len);
	const unsigned char *p = der;
	X509 *c = d2i_X509(NULL, &p, (long)len);
	if (c == NULL)
		return err_set(err, errlen, "certificate is not DER X.509: %s",
		    openssl_reason(why, sizeof(why)));
	/* Trailing bytes would be unsigned data riding along with a signed object. */
	if ((size_t)(p - der) != len) {
		X509_free(c);
		return err_set(err, errlen, "certificate has %zu trailing bytes",
		    len - (size_t)(p - der));
	}
	*out = c;
	return 0;
}

int
cert_key_load(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	struct stat st;
	char why[128];
	FILE *f = open_regular(path, "key file", &st, err, errlen);
	if (f == NULL)
		return -1;
	if ((st.st_mode & 077) != 0) {
		fclose(f);
		return err_set(err, errlen, "key file %s has mode %04o; it must be readable by "
		    "its owner only (chmod 600)", path, (unsigned)(st.st_mode & 07777));
	}
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (k == NULL)
		return err_set(err, errlen, "no unencrypted PEM private key in %s: %s", path,
		    openssl_reason(why, sizeof(why)));
	*out = k;
	return 0;
}

int
cert_store_load(const char *ca_path, X509_STORE **out, char *err, size_t errlen)
{
	struct stat st;
	char why[128];
	int rc = -1;
	/* Opened here first only for a precise message (missing, unreadable, directory);
	 * OpenSSL then reads the same path. */
	FILE *f = open_regular(ca_path, "CA file", &st, err, errlen);
	if (f == NULL)
		return -1;
	fclose(f);

	X509_STORE *store = X509_STORE_new();
	if (store == NULL) {
		err_set(err, errlen, "cannot create certificate store: out of memory");
		goto done;
	}
	/* Only this file: never X509_STORE_set_default_paths, so no public CA can vouch
	 * for an authority. */
	if (X509_STORE_load_file(store, ca_path) != 1) {
		err_set(err, errlen, "no CA certificate in %s: %s", ca_path,
		    openssl_reason(why, sizeof(why)));
		goto done;
	}
	bool have_cert = false;
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	for (int i = 0; i < sk_X509_OBJECT_num(objs); i++)
		if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == X509_LU_X509)
			have_cert = true;
	if (!have_cert) {
		err_set(err, errlen, "no CA certificate in %s", ca_path);
		goto done;
	}
	*out = store;
	store = NULL;
	rc = 0;
done:
	X509_STORE_free(store);
	ERR_clear_error();
	return rc;
}

int
cert_verify_at(X509_STORE *store, X509 *c, time_t at, char *err, size_t errlen)
{
	int rc = -1;
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	if (sctx == NULL || X509_STORE_CTX_init(sctx, store, c, NULL) != 1) {
		err_set(err, errlen, "cannot set up certificate verification: out of memory");
		goto done;
	}
	/* Sets X509_V_FLAG_USE_CHECK_TIME: the caller decides the instant (the receipt's
	 * time, a start-up check, a test). No CRL flag is added here: revocation is the
	 * caller's separate step with the CRL it holds. */
	X509_STORE_CTX_set_time(sctx, 0, at);
	X509_STORE_CTX_set_depth(sctx, CERT_VERIFY_DEPTH);
	if (X509_verify_cert(sctx) == 1) {
		rc = 0;
		goto done;
	}
	char why[320], subject[256] = "?";
	X509 *bad = X509_STORE_CTX_get_current_cert(sctx);
	if (bad != NULL)
		cert_subject(bad, subject, sizeof(subject));
	cert_verify_reason(sctx, why, sizeof(why));
	err_set(err, errlen, "%s (depth %d, subject %s)", why,
	    X509_STORE_CTX_get_error_depth(sctx), subject);
done:
	X509_STORE_CTX_free(sctx);
	ERR_clear_error();
	return rc;
}

int
cert_check_credentials(const char *cert_path, const char *key_path, const char *ca_path,
    const char *expected_id, time_t *not_after, char *err, size_t errlen)
{
	X509 *c = NULL;
	EVP_PKEY *k = NULL;
	X509_STORE *store = NULL;
	char id[AUTHORITY_ID_MAX + 1];
	char why[512];
	int rc = -1;

	if (cert_load_pem(cert_path, &c, err, errlen) != 0)
		goto done;
	if (cert_key_load(key_path, &k, err, errlen) != 0)
		goto done;
	if (X509_check_private_key(c, k) != 1) {
		err_set(err, errlen, "key %s does not match certificate %s", key_path, cert_path);
		goto done;
	}
	if (cert_authority_id(c, id, why, sizeof(why)) != 0) {
		err_set(err, errlen, "certificate %s: %s", cert_path, why);
		goto done;
	}
	if (strcmp(id, expected_id) != 0) {
		err_set(err, errlen, "certificate %s names authority %s, not the configured "
		    "authority id %s", cert_path, id, expected_id);
		goto done;
	}
	if (cert_store_load(ca_path, &store, err, errlen) != 0)
		goto done;
	if (cert_verify_at(store, c, time(NULL), why, sizeof(why)) != 0) {
		err_set(err, errlen, "certificate %s does not verify against CA %s: %s",
		    cert_path, ca_path, why);
		goto done;
	}
	*not_after = cert_not_after(c);
	rc = 0;
done:
	X509_free(c);
	EVP_PKEY_free(k);
	X509_STORE_free(store);
	ERR_clear_error();
	return rc;
}

time_t
cert_signing_time(const X509 *c, time_t created)
{
	time_t nb = cert_not_before(c);
	time_t t = nb > created ? nb : created;
	time_t now = time(NULL);
	return t > now ? now : t;
}

void
cert_verify_reason(X509_STORE_CTX *sctx, char *buf, size_t len)
{
	int e = X509_STORE_CTX_get_error(sctx);
	const char *what = X509_verify_cert_error_string(e);
	const char *hint = NULL;
	for (size_t i = 0; i < sizeof(cert_hints) / sizeof(cert_hints[0]); i++)
		if (cert_hints[i].error == e)
			hint = cert_hints[i].hint;
	/* An issuer the store has never heard of: its name is what the operator needs
	 * (another network, or a sub-CA this network does not have). A foreign CA with
	 * the root's own name keeps the plain "unknown CA". */
	X509 *c = X509_STORE_CTX_get_current_cert(sctx);
	if ((e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	        e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT) && c != NULL) {
		STACK_OF(X509) *same = X509_STORE_CTX_get1_certs(sctx, X509_get_issuer_name(c));
		int known = sk_X509_num(same);
		sk_X509_pop_free(same, X509_free);
		ERR_clear_error();
		if (known <= 0) {
			char issuer[200];
			name_line(X509_get_issuer_name(c), issuer, sizeof(issuer));
			snprintf(buf, len, "%s (unknown CA: issuer %s is not the network CA; "
			    CERT_ONE_ROOT ")", what, issuer);
			return;
		}
	}
	if (hint != NULL)
		snprintf(buf, len, "%s (%s)", what, hint);
	else
		snprintf(buf, len, "%s", what);
}
