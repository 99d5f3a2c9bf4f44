/*
 * tls: builds rogatoryd's SSL_CTX and reads identities from finished handshakes.
 * It must never trust a name the peer says, only the SAN URI of a certificate that
 * verified against our CA, and never fall back to the CN.
 */
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "config.h"
#include "log.h"

struct tls {
	SSL_CTX *ctx;
	time_t own_not_after;
};

/*
 * The TLS profile (PROTOCOL.md section 1), stated here rather than left to OpenSSL's
 * defaults: those offer ffdhe2048..8192 for key exchange, which lets any stranger make
 * each handshake cost us a large modular exponentiation. Certificates and signed objects
 * are ECDSA P-256 with SHA-256, so that is the one signature scheme asked for.
 */
static const char tls_ciphersuites[] =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
static const char tls_groups[] = "X25519:P-256";
static const char tls_sigalgs[] = "ECDSA+SHA256";

static int tls_profile(SSL_CTX *ctx, const char *ca_path, char *err, size_t errlen);

static int tls_verify_cb(int ok, X509_STORE_CTX *sctx);
static int info_index(void);

static int
info_index(void)
{
	static int idx = -1;
	if (idx < 0)
		idx = SSL_get_ex_new_index(0, "rogatory verify info", NULL, NULL, NULL);
	return idx;
}

/* Records the first verification failure; the decision itself stays OpenSSL's, with one
 * exception: "CRL has expired" alone admits the peer on a CRL-only link, so a late CRL
 * never halts the network (the store holds only our effective CRL, so this error means
 * exactly "ours has expired"). Any further fault still refuses the handshake. */
static int
tls_verify_cb(int ok, X509_STORE_CTX *sctx)
{
	if (ok)
		return ok;
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_verify_info *info = ssl ? SSL_get_ex_data(ssl, info_index()) : NULL;
	if (info != NULL && info->error == X509_V_OK &&
	    X509_STORE_CTX_get_error(sctx) == X509_V_ERR_CRL_HAS_EXPIRED) {
		info->crl_only = true;
		return 1;
	}
	if (info != NULL && info->error == X509_V_OK) {
		info->error = X509_STORE_CTX_get_error(sctx);
		info->depth = X509_STORE_CTX_get_error_depth(sctx);
		X509 *c = X509_STORE_CTX_get_current_cert(sctx);
		if (c != NULL)
			cert_subject(c, info->subject, sizeof(info->subject));
		else
			snprintf(info->subject, sizeof(info->subject), "?");
		cert_verify_reason(sctx, info->why, sizeof(info->why));
	}
	return 0;
}

int
tls_new(const struct config *cfg, struct tls **out, char *err, size_t errlen)
{
	struct tls *t = calloc(1, sizeof(*t));
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());
	X509 *own = NULL;
	char ebuf[256];
	int rc = -1;

	if (t == NULL || ctx == NULL) {
		err_set(err, errlen, "cannot create TLS context: out of memory");
		goto done;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
		err_set(err, errlen, "cannot restrict the TLS context to TLS 1.3");
		goto done;
	}
	/* No resumption of any kind: a newly loaded CRL or directory must apply to every
	 * new connection, and tickets would let a session skip verification. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* NO_AUTO_CHAIN: OpenSSL would otherwise build our chain from the verify store and
	 * send the root, which every peer holds already. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_NO_AUTO_CHAIN);

	/* The first certificate of the file alone: whatever else an operator put there
	 * (the root, a full chain) is never sent. */
	if (SSL_CTX_use_certificate_file(ctx, cfg->tls_certificate, SSL_FILETYPE_PEM) != 1) {
		tls_drain_errors(ebuf, sizeof(ebuf));
		err_set(err, errlen, "cannot load certificate %s: %s", cfg->tls_certificate, ebuf);
		goto done;
	}
	EVP_PKEY *key = NULL;
	if (cert_key_load(cfg->tls_key, &key, err, errlen) != 0)
		goto done;
	int used = SSL_CTX_use_PrivateKey(ctx, key);
	EVP_PKEY_free(key);
	if (used != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		tls_drain_errors(ebuf, sizeof(ebuf));
		err_set(err, errlen, "key %s does not match certificate %s", cfg->tls_key,
		    cfg->tls_certificate);
		goto done;
	}
	/* Only the network CA: no default verify paths, so no public CA can vouch for
	 * anyone here. */
	if (SSL_CTX_load_verify_file(ctx, cfg->tls_ca) != 1) {
		tls_drain_errors(ebuf, sizeof(ebuf));
		err_set(err, errlen, "cannot load CA %s: %s", cfg->tls_ca, ebuf);
		goto done;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
	    tls_verify_cb);
	SSL_CTX_set_verify_depth(ctx, CERT_VERIFY_DEPTH);
	if (tls_profile(ctx, cfg->tls_ca, err, errlen) != 0)
		goto done;

	own = SSL_CTX_get0_certificate(ctx);
	t->own_not_after = own ? cert_not_after(own) : 0;
	t->ctx = ctx;
	ctx = NULL;
	*out = t;
	t = NULL;
	rc = 0;
done:
	SSL_CTX_free(ctx);
	free(t);
	ERR_clear_error();
	return rc;
}

/* Suites, groups and signature schemes of the profile, and the CA's name for the
 * CertificateRequest (so a client holding several certificates sends this network's). */
static int
tls_profile(SSL_CTX *ctx, const char *ca_path, char *err, size_t errlen)
{
	char ebuf[256];
	if (SSL_CTX_set_ciphersuites(ctx, tls_ciphersuites) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, tls_groups) != 1 ||
	    SSL_CTX_set1_sigalgs_list(ctx, tls_sigalgs) != 1 ||
	    SSL_CTX_set1_client_sigalgs_list(ctx, tls_sigalgs) != 1) {
		tls_drain_errors(ebuf, sizeof(ebuf));
		return err_set(err, errlen, "cannot set the TLS profile (%s; %s; %s): %s",
		    tls_ciphersuites, tls_groups, tls_sigalgs, ebuf);
	}
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_path);
	if (names == NULL) {
		tls_drain_errors(ebuf, sizeof(ebuf));
		return err_set(err, errlen, "cannot read the CA name from %s: %s", ca_path, ebuf);
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	return 0;
}

int
tls_add_crl(struct tls *t, X509_CRL *crl, char *err, size_t errlen)
{
	X509_STORE *st = SSL_CTX_get_cert_store(t->ctx);
	char ebuf[256];
	/* Leaf only: the root CA is the trust anchor and is not listed in its own CRL. */
	if (X509_STORE_add_crl(st, crl) != 1 || X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK) != 1) {
		tls_drain_errors(ebuf, sizeof(ebuf));
		return err_set(err, errlen, "cannot add the CRL to the TLS context: %s", ebuf);
	}
	return 0;
}

void
tls_peer_serial(SSL *ssl, char *buf, size_t len)
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	if (peer != NULL)
		cert_serial(peer, buf, len);
	else
		snprintf(buf, len, "%s", "");
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

SSL *
tls_ssl_new(struct tls *t, bool server, struct tls_verify_info *info, char *err,
    size_t errlen)
{
	SSL *ssl = SSL_new(t->ctx);
	if (ssl == NULL) {
		err_set(err, errlen, "cannot create TLS session: out of memory");
		return NULL;
	}
	memset(info, 0, sizeof(*info));
	info->error = X509_V_OK;
	SSL_set_ex_data(ssl, info_index(), info);
	if (server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	return ssl;
}

int
tls_peer_identity(SSL *ssl, char id[AUTHORITY_ID_MAX + 1], char *subject, size_t subject_len,
    time_t *not_after, char *err, size_t errlen)
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	snprintf(subject, subject_len, "(none)");
	if (peer == NULL)
		return err_set(err, errlen, "no peer certificate");
	cert_subject(peer, subject, subject_len);
	long vr = SSL_get_verify_result(ssl);
	const struct tls_verify_info *info = SSL_get_ex_data(ssl, info_index());
	if (vr == X509_V_ERR_CRL_HAS_EXPIRED && info != NULL && info->crl_only &&
	    info->error == X509_V_OK)
		vr = X509_V_OK;
	if (vr != X509_V_OK)
		return err_set(err, errlen, "certificate did not verify: %s",
		    X509_verify_cert_error_string(vr));
	*not_after = cert_not_after(peer);
	return cert_authority_id(peer, id, err, errlen);
}

unsigned long
tls_drain_errors(char *buf, size_t len)
{
	unsigned long first = 0, e;
	size_t off = 0;
	if (len > 0)
		buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		/* libevent 2.1.12 leaves entries with library 0 from its own syscalls. */
		if (ERR_GET_LIB(e) == 0)
			continue;
		if (first == 0)
			first = e;
		const char *r = ERR_reason_error_string(e);
		char code[32];
		if (r == NULL) {
			snprintf(code, sizeof(code), "error %d", ERR_GET_REASON(e));
			r = code;
		}
		if (off < len) {
			int n = snprintf(buf + off, len - off, "%s%s", off ? "; " : "", r);
			if (n > 0)
				off += (size_t)n;
		}
	}
	return first;
}

bool
tls_error_is_eof(unsigned long e)
{
	return ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

void
tls_failure_reason(const struct tls_verify_info *info, unsigned long first_err, char *buf,
    size_t len)
{
	if (info != NULL && info->error != X509_V_OK) {
		snprintf(buf, len, "certificate refused: %s, subject %s", info->why,
		    info->subject);
		return;
	}
	if (first_err == 0) {
		snprintf(buf, len, "connection closed during handshake");
		return;
	}
	int reason = ERR_GET_REASON(first_err);
	const char *r = ERR_reason_error_string(first_err);
	if (ERR_GET_LIB(first_err) == ERR_LIB_SSL) {
		switch (reason) {
		case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
			snprintf(buf, len, "no client certificate");
			return;
		case SSL_R_UNSUPPORTED_PROTOCOL:
		case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
		case SSL_R_NO_PROTOCOLS_AVAILABLE:
			snprintf(buf, len, "TLS version refused (TLS 1.3 only): %s", r ? r : "?");
			return;
		case SSL_R_WRONG_VERSION_NUMBER:
		case SSL_R_HTTP_REQUEST:
		case SSL_R_PACKET_LENGTH_TOO_LONG:
		case SSL_R_RECORD_LENGTH_MISMATCH:
			snprintf(buf, len, "not TLS (plaintext or garbage): %s", r ? r : "?");
			return;
		case SSL_R_UNEXPECTED_EOF_WHILE_READING:
			snprintf(buf, len, "peer dropped the connection during the handshake");
			return;
		case SSL_R_NO_SUITABLE_KEY_SHARE:
		case SSL_R_NO_SHARED_GROUPS:
			snprintf(buf, len, "no common key-exchange group (we offer %s only): %s",
			    tls_groups, r ? r : "?");
			return;
		case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
		case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
		case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
		case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
		case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
			snprintf(buf, len, "the peer refused our certificate: %s", r ? r : "?");
			return;
		default:
			break;
		}
	}
	snprintf(buf, len, "handshake failed: %s", r ? r : "unknown error");
}

time_t
tls_own_not_after(const struct tls *t)
{
	return t->own_not_after;
}
