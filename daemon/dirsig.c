/*
 * dirsig: the signed directory (contract in dirsig.h). Error policy: every refusal is a
 * sentence naming the candidate and the reason, returned to the caller, which logs it;
 * a refused state file is moved aside (.refused), never deleted or used. Nothing here
 * ever replaces a good directory by one with a lower serial.
 */
#include "dirsig.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "config.h"
#include "crl.h"
#include "diag.h"
#include "directory.h"
#include "log.h"
#include "statefile.h"

struct dirsig {
	uint8_t *packed;                /* the Directory message, as stored and sent */
	size_t packed_len;
	Rogatory__V1__Directory *msg;   /* packed, decoded */
	struct dirsig_info info;
	char source[300];
};

/* A state file holds one Directory: the directory, its SignedObject, a little framing. */
/* How far ahead of our clock a signing time may be. */
#define DIRSIG_SKEW_S 300
#define DIRSIG_STATE_MAX (WIRE_DIRECTORY_MAX + WIRE_BODY_MAX + 64 * 1024)

static int signer_uri_check(X509 *c, char *err, size_t errlen);
static int key_check(EVP_PKEY *k, char *err, size_t errlen);
static int read_capped(const char *path, size_t cap, uint8_t **out, size_t *len, char *err,
    size_t errlen);
static int candidate(const struct config *cfg, const struct crl *crl, const char *label,
    bool fresh, const uint8_t *conf, size_t conf_len, const Rogatory__V1__SignedObject *so,
    struct dirsig_info *info, struct directory **dir, char *err, size_t errlen);
static struct dirsig *ds_new(const uint8_t *conf, size_t conf_len,
    const Rogatory__V1__SignedObject *so, const struct dirsig_info *info, const char *source);
static int ds_persist(const char *dir, const struct dirsig *s, char *err, size_t errlen);
static void hex32(const uint8_t h[32], char out[65]);

int
dirsig_verify(const char *ca_path, const struct crl *crl, const uint8_t *conf,
    size_t conf_len, const Rogatory__V1__SignedObject *so, struct dirsig_info *info,
    char *err, size_t errlen)
{
	static const char ctx[] = DIRSIG_CONTEXT;   /* sizeof includes the 0x00 */
	Rogatory__V1__DirectoryBody *b = NULL;
	X509 *c = NULL;
	X509_STORE *store = NULL;
	EVP_MD_CTX *md = NULL;
	char why[512];
	int rc = -1;

	memset(info, 0, sizeof(*info));
	if (conf_len < 1 || conf_len > WIRE_DIRECTORY_MAX) {
		err_set(err, errlen, "the directory is %zu bytes; 1..%u are accepted", conf_len,
		    WIRE_DIRECTORY_MAX);
		goto done;
	}
	if (so->body.len < sizeof(ctx) || memcmp(so->body.data, ctx, sizeof(ctx)) != 0) {
		err_set(err, errlen, "not a directory signature (the signed body does not begin "
		    "with %s and 0x00)", DIRSIG_CONTEXT);
		goto done;
	}
	if (so->body.len > WIRE_BODY_MAX || so->signature.len < 1 ||
	    so->signature.len > WIRE_SIG_MAX || so->signer_certificate.len < 1 ||
	    so->signer_certificate.len > WIRE_CERT_MAX) {
		err_set(err, errlen, "signature sizes out of range (body %zu, signature %zu, "
		    "certificate %zu bytes)", so->body.len, so->signature.len,
		    so->signer_certificate.len);
		goto done;
	}
	if (wire_directory_body_decode(so->body.data + sizeof(ctx), so->body.len - sizeof(ctx),
	        &b, why, sizeof(why)) != 0) {
		err_set(err, errlen, "signed body: %s", why);
		goto done;
	}
	if (cert_from_der(so->signer_certificate.data, so->signer_certificate.len, &c, why,
	        sizeof(why)) != 0) {
		err_set(err, errlen, "signer certificate: %s", why);
		goto done;
	}
	cert_subject(c, info->signer, sizeof(info->signer));
	if (signer_uri_check(c, why, sizeof(why)) != 0) {
		err_set(err, errlen, "signer %s is not the network's directory key: %s",
		    info->signer, why);
		goto done;
	}
	EVP_PKEY *pub = X509_get0_pubkey(c);
	if (pub == NULL || key_check(pub, why, sizeof(why)) != 0) {
		err_set(err, errlen, "signer %s: %s", info->signer, pub ? why : "no public key");
		goto done;
	}
	md = EVP_MD_CTX_new();
	if (md == NULL ||
	    EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pub, NULL) != 1) {
		err_set(err, errlen, "cannot set up signature verification: out of memory");
		goto done;
	}
	if (EVP_DigestVerify(md, so->signature.data, so->signature.len, so->body.data,
	        so->body.len) != 1) {
		err_set(err, errlen, "the signature does not verify with the key of its signer "
		    "certificate (%s): signed by another key, or the signature file was "
		    "changed", info->signer);
		goto done;
	}
	time_t at = cert_signing_time(c, (time_t)(b->signed_ms / 1000));
	if (cert_store_load(ca_path, &store, why, sizeof(why)) != 0) {
		err_set(err, errlen, "%s", why);
		goto done;
	}
	if (cert_verify_at(store, c, at, why, sizeof(why)) != 0) {
		err_set(err, errlen, "signer certificate %s does not verify against the network "
		    "CA %s at the signing time %lld: %s", info->signer, ca_path, (long long)at,
		    why);
		goto done;
	}
	if (crl != NULL && crl_cert_revoked(crl, c)) {
		char serial[80];
		cert_serial(c, serial, sizeof(serial));
		err_set(err, errlen, "signer certificate %s (serial %s) is revoked by the "
		    "effective CRL (number %" PRIu64 ")", info->signer, serial, crl_number(crl));
		goto done;
	}
	uint8_t h[32];
	if (EVP_Digest(conf, conf_len, h, NULL, EVP_sha256(), NULL) != 1) {
		err_set(err, errlen, "cannot hash the directory: out of memory");
		goto done;
	}
	if (memcmp(h, b->directory_sha256.data, 32) != 0) {
		char got[65], want[65];
		hex32(h, got);
		hex32(b->directory_sha256.data, want);
		err_set(err, errlen, "the directory's SHA-256 %s is not the signed %s: it was "
		    "changed after it was signed, or the signature is another directory's", got,
		    want);
		goto done;
	}
	info->serial = b->serial;
	info->signed_ms = b->signed_ms;
	info->signer_not_after = cert_not_after(c);
	memcpy(info->sha256, h, 32);
	rc = 0;
done:
	wire_audit_free(b);
	X509_free(c);
	X509_STORE_free(store);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

int
dirsig_verify_file(const char *ca_path, const struct crl *crl, const uint8_t *conf,
    size_t conf_len, const uint8_t *sig, size_t sig_len, struct dirsig_info *info,
    char *err, size_t errlen)
{
	Rogatory__V1__SignedObject *so = NULL;
	char why[512];
	memset(info, 0, sizeof(*info));
	if (wire_signed_object_decode(sig, sig_len, &so, why, sizeof(why)) != 0)
		return err_set(err, errlen, "not a signature file: %s", why);
	int rc = dirsig_verify(ca_path, crl, conf, conf_len, so, info, err, errlen);
	wire_audit_free(so);
	return rc;
}

/* Exactly one subjectAltName, whose only URI is urn:rogatory:directory (by length: an
 * embedded NUL cannot pass). An authority's certificate can never sign a directory. */
static int
signer_uri_check(X509 *c, char *err, size_t errlen)
{
	unsigned char uri[CERT_URI_MAX];
	size_t len;
	if (cert_san_uri(c, DIRSIG_URI, uri, &len, err, errlen) != 0)
		return -1;
	if (len == strlen(DIRSIG_URI) && memcmp(uri, DIRSIG_URI, len) == 0)
		return 0;
	if (len > 0 && memchr(uri, '\0', len) == NULL &&
	    strncmp((const char *)uri, AUTHORITY_URI_PREFIX, strlen(AUTHORITY_URI_PREFIX)) == 0)
		return err_set(err, errlen, "it is an authority's certificate (%.*s), not the "
		    "directory key's (%s)", len < 120 ? (int)len : 120, (const char *)uri,
		    DIRSIG_URI);
	return err_set(err, errlen, "its URI is not %s", DIRSIG_URI);
}

static int
key_check(EVP_PKEY *k, char *err, size_t errlen)
{
	char group[64] = "";
	size_t glen = 0;
	if (!EVP_PKEY_is_a(k, "EC") ||
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
	        sizeof(group), &glen) != 1 ||
	    strcmp(group, "prime256v1") != 0) {
		ERR_clear_error();
		return err_set(err, errlen, "its key is not ECDSA P-256 (prime256v1)");
	}
	return 0;
}

static void
hex32(const uint8_t h[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static int
read_capped(const char *path, size_t cap, uint8_t **out, size_t *len, char *err,
    size_t errlen)
{
	*out = NULL;
	*len = 0;
	FILE *f = fopen(path, "rbe");
	if (f == NULL)
		return err_set(err, errlen, "cannot read %s: %s", path, strerror(errno));
	uint8_t *buf = malloc(cap + 1);
	if (buf == NULL) {
		fclose(f);
		return err_set(err, errlen, "cannot read %s: out of memory", path);
	}
	size_t n = fread(buf, 1, cap + 1, f);
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return err_set(err, errlen, "cannot read %s", path);
	}
	if (n > cap) {
		free(buf);
		return err_set(err, errlen, "%s is larger than %zu bytes", path, cap);
	}
	*out = buf;
	*len = n;
	return 0;
}

/*
 * Verified, parsed, and listing us: what makes a directory usable. A fresh one (the
 * configured file, a peer's frame; not the copy we adopted before) must also have a
 * signer valid now and a signing time not ahead of now: the signing time is the signer's
 * own claim, and a directory key that has expired could otherwise sign "in the past"
 * with any serial.
 */
static int
candidate(const struct config *cfg, const struct crl *crl, const char *label, bool fresh,
    const uint8_t *conf, size_t conf_len, const Rogatory__V1__SignedObject *so,
    struct dirsig_info *info, struct directory **dir, char *err, size_t errlen)
{
	*dir = NULL;
	if (dirsig_verify(cfg->tls_ca, crl, conf, conf_len, so, info, err, errlen) != 0)
		return -1;
	time_t now = time(NULL);
	if (fresh && info->signer_not_after <= now)
		return err_set(err, errlen, "its signer %s expired at %lld: a directory is taken "
		    "only from a directory key valid now (sign it again with a new one)",
		    info->signer, (long long)info->signer_not_after);
	if (fresh && info->signed_ms / 1000 > (int64_t)now + DIRSIG_SKEW_S)
		return err_set(err, errlen, "signed at %lld ms, later than now", (long long)
		    info->signed_ms);
	struct diag dg = {0};
	if (directory_load_mem(label, conf, conf_len, dir, &dg) != 0) {
		err_set(err, errlen, "signed (serial %" PRIu64 ") but not a valid directory: %s%s",
		    info->serial, dg.n > 0 ? dg.lines[0] : "?", dg.n > 1 ? " (and more)" : "");
		diag_free(&dg);
		return -1;
	}
	diag_free(&dg);
	if (directory_find(*dir, cfg->authority_id) == NULL) {
		err_set(err, errlen, "signed (serial %" PRIu64 ") but does not list this "
		    "authority, %s", info->serial, cfg->authority_id);
		directory_free(*dir);
		*dir = NULL;
		return -1;
	}
	return 0;
}

static struct dirsig *
ds_new(const uint8_t *conf, size_t conf_len, const Rogatory__V1__SignedObject *so,
    const struct dirsig_info *info, const char *source)
{
	Rogatory__V1__Directory m = ROGATORY__V1__DIRECTORY__INIT;
	m.conf.data = (uint8_t *)conf;
	m.conf.len = conf_len;
	/* cppcheck-suppress unreadVariable ; packed through &m.base below */
	m.signature = (Rogatory__V1__SignedObject *)so;
	struct dirsig *s = calloc(1, sizeof(*s));
	if (s == NULL)
		fatal("out of memory");
	s->packed_len = protobuf_c_message_get_packed_size(&m.base);
	s->packed = malloc(s->packed_len);
	if (s->packed == NULL)
		fatal("out of memory");
	protobuf_c_message_pack(&m.base, s->packed);
	char why[512];
	if (wire_directory_decode(s->packed, s->packed_len, &s->msg, why, sizeof(why)) != 0)
		fatal("signed directory does not decode after packing: %s", why);
	s->info = *info;
	snprintf(s->source, sizeof(s->source), "%s", source);
	return s;
}

/* Whole or not at all (statefile.h). */
static int
ds_persist(const char *dir, const struct dirsig *s, char *err, size_t errlen)
{
	return statefile_write(dir, DIRSIG_STATE_FILE, s->packed, s->packed_len, err, errlen);
}

/* The last good one from state_dir; a file that no longer passes is moved aside. */
static struct dirsig *
load_state(const struct config *cfg, const struct crl *crl, unsigned flags,
    struct directory **dir)
{
	char path[4200], why[1024];
	uint8_t *buf = NULL;
	size_t len = 0;
	Rogatory__V1__Directory *m = NULL;
	struct dirsig *s = NULL;
	struct dirsig_info info;
	*dir = NULL;
	snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, DIRSIG_STATE_FILE);
	if (access(path, F_OK) != 0)
		return NULL;
	if (read_capped(path, DIRSIG_STATE_MAX, &buf, &len, why, sizeof(why)) == 0 &&
	    wire_directory_decode(buf, len, &m, why, sizeof(why)) == 0 &&
	    candidate(cfg, crl, path, false, m->conf.data, m->conf.len, m->signature, &info, dir,
	        why, sizeof(why)) == 0) {
		s = ds_new(m->conf.data, m->conf.len, m->signature, &info, path);
	} else if (!(flags & DIRSIG_CHECK_ONLY)) {
		char aside[4300];
		snprintf(aside, sizeof(aside), "%s.refused", path);
		log_err("signed directory %s refused: %s; moved aside to %s", path, why, aside);
		if (rename(path, aside) != 0)
			log_err("cannot move %s aside: %s", path, strerror(errno));
	} else {
		log_err("signed directory %s refused: %s", path, why);
	}
	wire_audit_free(m);
	free(buf);
	return s;
}

int
dirsig_load(const struct config *cfg, const struct crl *crl, unsigned flags,
    struct diag *notes, struct dirsig **out, struct directory **dir, char *err,
    size_t errlen)
{
	struct directory *hdir = NULL, *fdir = NULL;
	struct dirsig *held = load_state(cfg, crl, flags, &hdir);
	uint8_t *conf = NULL, *sig = NULL;
	size_t conf_len = 0, sig_len = 0;
	struct dirsig_info info = {0};
	Rogatory__V1__SignedObject *so = NULL;
	char why[1024] = "";
	char label[4300];
	bool file_ok = false;
	int rc = -1;

	*out = NULL;
	*dir = NULL;
	snprintf(label, sizeof(label), "file %s", cfg->directory_path);
	/* Each step runs only when the one before it worked; why says what failed. */
	int step = read_capped(cfg->directory_path, WIRE_DIRECTORY_MAX, &conf, &conf_len, why,
	    sizeof(why));
	if (step == 0 && access(cfg->directory_signature, F_OK) != 0)
		step = err_set(why, sizeof(why), "unsigned: no signature file %s (%s)",
		    cfg->directory_signature, strerror(errno));
	if (step == 0)
		step = read_capped(cfg->directory_signature, DIRSIG_STATE_MAX, &sig, &sig_len, why,
		    sizeof(why));
	if (step == 0 && wire_signed_object_decode(sig, sig_len, &so, why, sizeof(why)) != 0) {
		char w2[sizeof(why)];
		snprintf(w2, sizeof(w2), "%.200s is not a signature file: %.700s",
		    cfg->directory_signature, why);
		snprintf(why, sizeof(why), "%s", w2);
		step = -1;
	}
	if (step == 0 && candidate(cfg, crl, cfg->directory_path, true, conf, conf_len, so,
	        &info, &fdir, why, sizeof(why)) == 0) {
		file_ok = true;
		if (held != NULL && info.serial < held->info.serial) {
			file_ok = false;
			err_set(why, sizeof(why), "older: serial %" PRIu64 " is below serial %"
			    PRIu64 " of the last good directory (%s)", info.serial,
			    held->info.serial, held->source);
		} else if (held != NULL && info.serial == held->info.serial &&
		    memcmp(info.sha256, held->info.sha256, 32) != 0) {
			file_ok = false;
			err_set(why, sizeof(why), "serial %" PRIu64 " already names another "
			    "directory (the last good one, %s); a new directory needs a new "
			    "serial", info.serial, held->source);
		}
	}
	if (file_ok && (held == NULL || info.serial > held->info.serial)) {
		struct dirsig *s = ds_new(conf, conf_len, so, &info, label);
		if (!(flags & DIRSIG_CHECK_ONLY) &&
		    ds_persist(cfg->state_dir, s, err, errlen) != 0) {
			dirsig_free(s);
			goto done;
		}
		log_notice("directory %s: signature good, serial %" PRIu64 ", signed by %s",
		    cfg->directory_path, info.serial, info.signer);
		*out = s;
		*dir = fdir;
		fdir = NULL;
		rc = 0;
		goto done;
	}
	if (file_ok) {
		/* The same directory as the one held: nothing to write. */
		snprintf(held->source, sizeof(held->source), "%.290s", label);
	} else {
		if (held == NULL) {
			err_set(err, errlen, "directory %s refused: %s; and no earlier good one is "
			    "held in %s/%s", cfg->directory_path, why, cfg->state_dir,
			    DIRSIG_STATE_FILE);
			goto done;
		}
		log_err("directory %s REFUSED: %s; running on the last good one, serial %" PRIu64
		    " (%s)", cfg->directory_path, why, held->info.serial, held->source);
		if (notes != NULL)
			diag_add(notes, cfg->directory_path, 0, "refused: %s; running on the last "
			    "good one, serial %" PRIu64, why, held->info.serial);
	}
	*out = held;
	*dir = hdir;
	held = NULL;
	hdir = NULL;
	rc = 0;
done:
	dirsig_free(held);
	directory_free(hdir);
	directory_free(fdir);
	wire_audit_free(so);
	free(conf);
	free(sig);
	return rc;
}

enum dirsig_offer_result
dirsig_offer(struct dirsig **cur, const struct config *cfg, const struct crl *crl,
    const Rogatory__V1__Directory *m, const char *source, struct directory **dir,
    char *msg, size_t msglen)
{
	struct dirsig_info info;
	char why[1024];
	*dir = NULL;
	if (cfg->directory_signature == NULL || *cur == NULL) {
		err_set(msg, msglen, "directory from %s ignored: this daemon runs on an unsigned "
		    "directory ([directory] signature is not set)", source);
		return DIRSIG_REFUSED;
	}
	if (m->signature == NULL) {     /* the wire refuses it too (proto/wire.c) */
		err_set(msg, msglen, "directory from %s refused: it has no signature", source);
		return DIRSIG_REFUSED;
	}
	/* Parsed under the name it is kept by: that is where an operator finds it. */
	char label[4200];
	snprintf(label, sizeof(label), "%s/%s", cfg->state_dir, DIRSIG_STATE_FILE);
	/* Cheap first (PROTOCOL 17.3 puts the serial before the parse): a frame whose signed
	 * serial is not above ours, with our hash at an equal serial, costs a decode, never
	 * a signature check or the parse of a megabyte. A peer resending one is bounded by
	 * its read rate and this. */
	static const char ctx[] = DIRSIG_CONTEXT;
	Rogatory__V1__DirectoryBody *pre = NULL;
	if (m->signature->body.len > sizeof(ctx) &&
	    memcmp(m->signature->body.data, ctx, sizeof(ctx)) == 0 &&
	    wire_directory_body_decode(m->signature->body.data + sizeof(ctx),
	        m->signature->body.len - sizeof(ctx), &pre, why, sizeof(why)) == 0) {
		bool same = pre->serial == (*cur)->info.serial &&
		    memcmp(pre->directory_sha256.data, (*cur)->info.sha256, 32) == 0;
		bool older = pre->serial < (*cur)->info.serial;
		uint64_t serial = pre->serial;
		wire_audit_free(pre);
		if (same || older) {
			err_set(msg, msglen, "directory from %s not taken: serial %" PRIu64 " is not "
			    "above ours, %" PRIu64, source, serial, (*cur)->info.serial);
			return DIRSIG_NOT_NEWER;
		}
	}
	if (candidate(cfg, crl, label, true, m->conf.data, m->conf.len, m->signature, &info, dir,
	        why, sizeof(why)) != 0) {
		err_set(msg, msglen, "directory from %s refused: %s; keeping serial %" PRIu64,
		    source, why, (*cur)->info.serial);
		return DIRSIG_REFUSED;
	}
	if (info.serial <= (*cur)->info.serial) {
		directory_free(*dir);
		*dir = NULL;
		if (info.serial == (*cur)->info.serial &&
		    memcmp(info.sha256, (*cur)->info.sha256, 32) != 0) {
			err_set(msg, msglen, "directory from %s refused: serial %" PRIu64 " names "
			    "another directory than ours with that serial", source, info.serial);
			return DIRSIG_REFUSED;
		}
		err_set(msg, msglen, "directory from %s not taken: serial %" PRIu64 " is not "
		    "above ours, %" PRIu64, source, info.serial, (*cur)->info.serial);
		return DIRSIG_NOT_NEWER;
	}
	struct dirsig *s = ds_new(m->conf.data, m->conf.len, m->signature, &info, source);
	if (ds_persist(cfg->state_dir, s, why, sizeof(why)) != 0) {
		err_set(msg, msglen, "directory serial %" PRIu64 " from %s not adopted: %s",
		    info.serial, source, why);
		dirsig_free(s);
		directory_free(*dir);
		*dir = NULL;
		return DIRSIG_ERROR;
	}
	err_set(msg, msglen, "directory serial %" PRIu64 " from %s adopted (was serial %"
	    PRIu64 "), signed by %s", info.serial, source, (*cur)->info.serial, info.signer);
	dirsig_free(*cur);
	*cur = s;
	return DIRSIG_ADOPTED;
}

void
dirsig_free(struct dirsig *s)
{
	if (s == NULL)
		return;
	wire_audit_free(s->msg);
	free(s->packed);
	free(s);
}

uint64_t
dirsig_serial(const struct dirsig *s)
{
	return s != NULL ? s->info.serial : 0;
}

const char *
dirsig_source(const struct dirsig *s)
{
	return s != NULL ? s->source : "unsigned";
}

const Rogatory__V1__Directory *
dirsig_message(const struct dirsig *s)
{
	return s != NULL ? s->msg : NULL;
}
