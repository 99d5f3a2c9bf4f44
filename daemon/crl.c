/*
 * crl: keeps the effective CRL (contract in crl.h). It must never adopt a CRL that the
 * network CA did not sign, never go back to a lower crlNumber, and never announce an
 * adoption that a crash could undo (the file is renamed into place and its folder synced
 * first). Error policy: a refused candidate is a message for the caller to log, never a
 * failure of the daemon; only an unreadable CA or stored CRL fails crl_open.
 */
#include "crl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "log.h"
#include "statefile.h"

/* A PEM file is larger than its DER (base64 + armour); anything beyond is not a CRL. */
#define CRL_FILE_MAX (2 * CRL_DER_MAX)

struct crl {
	X509 *ca;
	char *state_dir;          /* NULL: nothing is persisted (checks, tests) */
	X509_CRL *x;              /* the effective CRL; NULL when none */
	uint8_t *der;
	size_t der_len;
	uint8_t fp[32];           /* SHA-256 of der */
	uint64_t number;
	time_t this_update;
	time_t next_update;
	char source[320];
};

/* A parsed and verified candidate. */
struct crl_cand {
	X509_CRL *x;
	uint64_t number;
	time_t this_update;
	time_t next_update;
};

static int crl_parse(const struct crl *c, const uint8_t *der, size_t len,
    struct crl_cand *out, char *err, size_t errlen);
static int crl_persist(const char *dir, const uint8_t *der, size_t len, char *err,
    size_t errlen);
static int crl_read_all(const char *path, size_t max, uint8_t **buf, size_t *len,
    char *err, size_t errlen);
static int crl_load_state(struct crl *c, char *err, size_t errlen);
static void crl_set(struct crl *c, struct crl_cand *cand, const uint8_t *der, size_t len,
    const char *source);
static time_t asn1_time(const ASN1_TIME *t);

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return 0;
	}
	return timegm(&tm);
}

const char *
crl_time_str(time_t t, char *buf, size_t len)
{
	struct tm tm;
	if (t <= 0 || gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "-");
		return buf;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

int
crl_open(const char *ca_path, const char *state_dir, struct crl **out, char *err,
    size_t errlen)
{
	struct crl *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return err_set(err, errlen, "out of memory");
	if (cert_load_pem(ca_path, &c->ca, err, errlen) != 0)
		goto fail;
	if (state_dir != NULL) {
		c->state_dir = strdup(state_dir);
		if (c->state_dir == NULL) {
			err_set(err, errlen, "out of memory");
			goto fail;
		}
		if (crl_load_state(c, err, errlen) != 0)
			goto fail;
	}
	*out = c;
	return 0;
fail:
	crl_free(c);
	return -1;
}

void
crl_free(struct crl *c)
{
	if (c == NULL)
		return;
	X509_free(c->ca);
	X509_CRL_free(c->x);
	free(c->der);
	free(c->state_dir);
	free(c);
}

/* The stored CRL is ours, written after it verified; one that no longer verifies (a
 * changed CA, a damaged disk) is kept aside for the operator, never used or deleted. */
static int
crl_load_state(struct crl *c, char *err, size_t errlen)
{
	char path[4200], aside[4300], why[512];
	snprintf(path, sizeof(path), "%s/%s", c->state_dir, CRL_STATE_FILE);
	uint8_t *der = NULL;
	size_t len = 0;
	if (crl_read_all(path, CRL_DER_MAX, &der, &len, why, sizeof(why)) != 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(err, errlen, "cannot read the stored CRL: %s", why);
	}
	struct crl_cand cand;
	if (crl_parse(c, der, len, &cand, why, sizeof(why)) != 0) {
		snprintf(aside, sizeof(aside), "%s.refused", path);
		if (rename(path, aside) == 0)
			log_err("stored CRL %s refused (%s); moved to %s", path, why, aside);
		else
			log_err("stored CRL %s refused (%s); cannot move it aside: %s", path, why,
			    strerror(errno));
		free(der);
		return 0;
	}
	char src[4300];
	snprintf(src, sizeof(src), "stored in %s", path);
	crl_set(c, &cand, der, len, src);
	free(der);
	return 0;
}

/* Whole file into a malloc'd buffer of at most max bytes; errno stays that of a failed
 * open so the caller can tell "absent" from "unreadable". */
static int
crl_read_all(const char *path, size_t max, uint8_t **buf, size_t *len, char *err,
    size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		err_set(err, errlen, "cannot open %s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return err_set(err, errlen, "%s is not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		errno = EFBIG;
		return err_set(err, errlen, "%s is %lld bytes, more than a CRL may hold (%zu)",
		    path, (long long)st.st_size, max);
	}
	uint8_t *b = malloc((size_t)st.st_size + 1);
	size_t have = 0;
	while (b != NULL && have < (size_t)st.st_size) {
		ssize_t r = read(fd, b + have, (size_t)st.st_size - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	int saved = errno;
	close(fd);
	if (b == NULL || have != (size_t)st.st_size) {
		free(b);
		errno = saved ? saved : EIO;
		return err_set(err, errlen, "cannot read %s: %s", path,
		    b == NULL ? "out of memory" : strerror(errno));
	}
	*buf = b;
	*len = have;
	return 0;
}

/* Parses der and checks everything but the validity window and the number. */
static int
crl_parse(const struct crl *c, const uint8_t *der, size_t len, struct crl_cand *out,
    char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (len == 0 || len > CRL_DER_MAX)
		return err_set(err, errlen, "%zu bytes, must be 1..%u", len, CRL_DER_MAX);
	const unsigned char *p = der;
	X509_CRL *x = d2i_X509_CRL(NULL, &p, (long)len);
	char a[256], b[256];
	int rc = -1;
	if (x == NULL) {
		err_set(err, errlen, "not a DER X.509 CRL");
		goto done;
	}
	if (p != der + len) {
		err_set(err, errlen, "%zu bytes after the CRL", (size_t)(der + len - p));
		goto done;
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(x), X509_get_subject_name(c->ca)) != 0) {
		X509_NAME_oneline(X509_CRL_get_issuer(x), a, sizeof(a));
		X509_NAME_oneline(X509_get_subject_name(c->ca), b, sizeof(b));
		err_set(err, errlen, "issued by %s, not by the network CA %s", a, b);
		goto done;
	}
	EVP_PKEY *key = X509_get0_pubkey(c->ca);
	if (key == NULL || X509_CRL_verify(x, key) != 1) {
		err_set(err, errlen, "signature does not verify with the network CA's key "
		    "(signed by another CA with the same name?)");
		goto done;
	}
	/* A delta CRL lists only changes; taken alone it would un-revoke everything else. */
	if (X509_CRL_get_ext_by_NID(x, NID_delta_crl, -1) >= 0) {
		err_set(err, errlen, "a delta CRL; only complete CRLs are accepted");
		goto done;
	}
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(x, NID_crl_number, NULL, NULL);
	uint64_t n = 0;
	int ok = num != NULL && ASN1_INTEGER_get_uint64(&n, num) == 1 && n > 0;
	ASN1_INTEGER_free(num);
	if (!ok) {
		err_set(err, errlen, "no usable crlNumber (1..2^64-1)");
		goto done;
	}
	if (X509_CRL_get0_nextUpdate(x) == NULL) {
		err_set(err, errlen, "crlNumber %llu has no nextUpdate", (unsigned long long)n);
		goto done;
	}
	out->x = x;
	out->number = n;
	out->this_update = asn1_time(X509_CRL_get0_lastUpdate(x));
	out->next_update = asn1_time(X509_CRL_get0_nextUpdate(x));
	x = NULL;
	rc = 0;
done:
	X509_CRL_free(x);
	ERR_clear_error();
	return rc;
}

/* Takes cand->x and a copy of der as the effective CRL. */
static void
crl_set(struct crl *c, struct crl_cand *cand, const uint8_t *der, size_t len,
    const char *source)
{
	X509_CRL_free(c->x);
	free(c->der);
	c->x = cand->x;
	cand->x = NULL;
	c->der = malloc(len);
	if (c->der == NULL)
		fatal("out of memory");
	memcpy(c->der, der, len);
	c->der_len = len;
	SHA256(der, len, c->fp);
	c->number = cand->number;
	c->this_update = cand->this_update;
	c->next_update = cand->next_update;
	snprintf(c->source, sizeof(c->source), "%s", source);
}

/* Whole or not at all (statefile.h). */
static int
crl_persist(const char *dir, const uint8_t *der, size_t len, char *err, size_t errlen)
{
	return statefile_write(dir, CRL_STATE_FILE, der, len, err, errlen);
}

enum crl_offer_result
crl_offer(struct crl *c, const uint8_t *der, size_t len, const char *source, unsigned flags,
    char *msg, size_t msglen)
{
	struct crl_cand cand;
	char why[512], t1[32], t2[32];
	if (crl_parse(c, der, len, &cand, why, sizeof(why)) != 0) {
		snprintf(msg, msglen, "refused CRL from %s: %s", source, why);
		return CRL_OFFER_INVALID;
	}
	unsigned long long n = (unsigned long long)cand.number;
	enum crl_offer_result res = CRL_OFFER_INVALID;
	time_t now = time(NULL);
	bool expired = cand.next_update <= now;
	if (cand.this_update > now) {
		snprintf(msg, msglen, "refused CRL number %llu from %s: not yet valid (thisUpdate "
		    "%s; check the clocks)", n, source, crl_time_str(cand.this_update, t1, sizeof(t1)));
	} else if (expired && !((flags & CRL_OFFER_BOOTSTRAP) && c->number == 0)) {
		snprintf(msg, msglen, "refused CRL number %llu from %s: expired (nextUpdate %s); "
		    "ask the network operator for a fresh one (rogatory-pki crl)", n, source,
		    crl_time_str(cand.next_update, t1, sizeof(t1)));
	} else if (cand.number <= c->number) {
		res = CRL_OFFER_NOT_NEWER;
		snprintf(msg, msglen, "CRL number %llu from %s is %s ours (%llu); keeping ours", n,
		    source, cand.number == c->number ? "the same as" : "lower than",
		    (unsigned long long)c->number);
	} else if (c->state_dir != NULL && crl_persist(c->state_dir, der, len, why,
	               sizeof(why)) != 0) {
		res = CRL_OFFER_ERROR;
		snprintf(msg, msglen, "cannot adopt CRL number %llu from %s: %s", n, source, why);
	} else {
		res = CRL_OFFER_ADOPTED;
		crl_set(c, &cand, der, len, source);
		snprintf(msg, msglen, "adopted CRL number %llu from %s (thisUpdate %s, nextUpdate "
		    "%s, %zu revoked)%s", n, source, crl_time_str(c->this_update, t1, sizeof(t1)),
		    crl_time_str(c->next_update, t2, sizeof(t2)), crl_revoked_count(c),
		    expired ? "; it has EXPIRED: only CRL-only links until a fresh one arrives" : "");
	}
	X509_CRL_free(cand.x);
	return res;
}

uint64_t
crl_number(const struct crl *c)
{
	return c ? c->number : 0;
}

time_t
crl_this_update(const struct crl *c)
{
	return c->this_update;
}

time_t
crl_next_update(const struct crl *c)
{
	return c->next_update;
}

const char *
crl_source(const struct crl *c)
{
	return c->source;
}

size_t
crl_revoked_count(const struct crl *c)
{
	if (c->x == NULL)
		return 0;
	int n = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(c->x));
	return n > 0 ? (size_t)n : 0;
}

const uint8_t *
crl_der(const struct crl *c, size_t *len)
{
	*len = c->der_len;
	return c->der;
}

X509_CRL *
crl_x509(const struct crl *c)
{
	return c->x;
}

bool
crl_expired(const struct crl *c, time_t now)
{
	return c != NULL && c->x != NULL && now >= c->next_update;
}

bool
crl_renewal_due(const struct crl *c, time_t now)
{
	if (c == NULL || c->x == NULL)
		return false;
	time_t span = c->next_update - c->this_update;
	if (span < 0)
		span = 0;
	return now >= c->next_update - span / 4;
}

bool
crl_serial_revoked(const struct crl *c, const char *serial_hex)
{
	if (c == NULL || c->x == NULL || serial_hex == NULL || serial_hex[0] == '\0')
		return false;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	X509_REVOKED *rev = NULL;
	bool revoked = false;
	if (BN_hex2bn(&bn, serial_hex) > 0 && (ai = BN_to_ASN1_INTEGER(bn, NULL)) != NULL)
		revoked = X509_CRL_get0_by_serial(c->x, &rev, ai) == 1;
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	ERR_clear_error();
	return revoked;
}

bool
crl_cert_revoked(const struct crl *c, X509 *cert)
{
	if (c == NULL || c->x == NULL || cert == NULL)
		return false;
	X509_REVOKED *rev = NULL;
	return X509_CRL_get0_by_cert(c->x, &rev, cert) == 1;
}

const uint8_t *
crl_fingerprint(const struct crl *c)
{
	return c != NULL && c->x != NULL ? c->fp : NULL;
}

time_t
crl_cert_revoked_since(const struct crl *c, X509 *cert)
{
	X509_REVOKED *rev = NULL;
	if (c == NULL || c->x == NULL || cert == NULL ||
	    X509_CRL_get0_by_cert(c->x, &rev, cert) != 1 || rev == NULL) {
		ERR_clear_error();
		return 0;
	}
	time_t t = asn1_time(X509_REVOKED_get0_revocationDate(rev));
	/* A listed certificate without a readable date counts as revoked from the start. */
	return t > 0 ? t : 1;
}

int
crl_file_read(const char *path, uint8_t **der, size_t *len, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	if (crl_read_all(path, CRL_FILE_MAX, &buf, &n, err, errlen) != 0)
		return -1;
	X509_CRL *x = NULL;
	const unsigned char *p = buf;
	if (n >= 10 && memmem(buf, n, "-----BEGIN", 10) != NULL) {
		BIO *b = BIO_new_mem_buf(buf, (int)n);
		if (b != NULL)
			x = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
		BIO_free(b);
	} else {
		x = d2i_X509_CRL(NULL, &p, (long)n);
	}
	free(buf);
	ERR_clear_error();
	if (x == NULL)
		return err_set(err, errlen, "%s holds no X.509 CRL (PEM or DER)", path);
	unsigned char *out = NULL;
	int dl = i2d_X509_CRL(x, &out);
	X509_CRL_free(x);
	if (dl <= 0 || (size_t)dl > CRL_DER_MAX) {
		OPENSSL_free(out);
		return err_set(err, errlen, "%s: CRL too large (more than %u bytes)", path,
		    CRL_DER_MAX);
	}
	/* Handed back as plain malloc'd memory, like every other buffer of ours. */
	*der = malloc((size_t)dl);
	if (*der == NULL) {
		OPENSSL_free(out);
		return err_set(err, errlen, "out of memory");
	}
	memcpy(*der, out, (size_t)dl);
	*len = (size_t)dl;
	OPENSSL_free(out);
	return 0;
}

int
crl_file_check(const char *path, const char *ca_path, uint64_t *number, time_t *next_update,
    char *err, size_t errlen)
{
	struct crl *c = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	char why[512];
	int rc = -1;
	if (crl_open(ca_path, NULL, &c, err, errlen) != 0)
		return -1;
	if (crl_file_read(path, &der, &len, err, errlen) != 0)
		goto done;
	struct crl_cand cand;
	if (crl_parse(c, der, len, &cand, why, sizeof(why)) != 0) {
		err_set(err, errlen, "CRL %s: %s", path, why);
		goto done;
	}
	*number = cand.number;
	*next_update = cand.next_update;
	X509_CRL_free(cand.x);
	rc = 0;
done:
	free(der);
	crl_free(c);
	return rc;
}
