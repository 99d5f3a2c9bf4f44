/*
 * tls: the SSL_CTX policy of rogatoryd and the reading of a peer's identity from a
 * finished handshake. TLS 1.3 only, both sides verified against [tls] ca alone (the leaf
 * directly under the root: no intermediates), the profile of PROTOCOL.md section 1
 * (cipher suites, X25519 and P-256 key exchange, ECDSA P-256 SHA-256 signatures, the
 * CA's name in the CertificateRequest, the leaf alone in the chain we send), no
 * tickets, no resumption, no renegotiation, no compression; with revocation on, the
 * effective CRL is in the context's store (tls_add_crl). A reload or a new CRL builds a new
 * context and swaps it in; links keep the context they started with (SSL_new holds a
 * reference), so nothing is freed under a live connection.
 */
#ifndef ROGATORY_TLS_H
#define ROGATORY_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/types.h>

#include "text.h"

struct config;
struct tls;

/* What the verify callback saw first, for the refusal's log line. */
struct tls_verify_info {
	int error;          /* X509_V_OK when nothing failed */
	int depth;
	char subject[256];  /* subject of the certificate that failed */
	char why[320];      /* cert_verify_reason: the error in an operator's words */
	/* Our effective CRL has expired and that was the chain's only fault: the link is
	 * admitted to exchange CRLs and nothing else (see revocation). */
	bool crl_only;
};

/* Builds the context from cfg's [tls] files. -1 + err naming the file. */
int tls_new(const struct config *cfg, struct tls **out, char *err, size_t errlen);
void tls_free(struct tls *t);

/* Puts the effective CRL into a context that no connection uses yet, and turns on the
 * leaf check (X509_V_FLAG_CRL_CHECK): a revoked peer fails the handshake with
 * "certificate revoked". -1 + err. */
int tls_add_crl(struct tls *t, X509_CRL *crl, char *err, size_t errlen);

/* A new SSL for one connection; server = accept side. info receives verify failures and
 * must outlive the SSL. NULL + err on failure. */
SSL *tls_ssl_new(struct tls *t, bool server, struct tls_verify_info *info, char *err,
    size_t errlen);

/*
 * After the handshake: the peer certificate's authority id and subject. Fails when the
 * chain did not verify or there is no certificate or the SAN is not exactly one
 * rogatory URI ("certificate has no urn:rogatory:authority URI"). *not_after is the
 * certificate's expiry.
 */
int tls_peer_identity(SSL *ssl, char id[AUTHORITY_ID_MAX + 1], char *subject,
    size_t subject_len, time_t *not_after, char *err, size_t errlen);

/* The peer certificate's serial, upper-case hex without leading zeros ("" when none). */
void tls_peer_serial(SSL *ssl, char *buf, size_t len);

/*
 * Why a handshake failed, in words an operator can act on: the verify callback's
 * finding (cert_verify_reason: "certificate has expired (expired)", "certificate chain
 * too long (issued by an intermediate CA: ...)"), else the first meaningful OpenSSL
 * error ("peer did not return a certificate",
 * "unsupported protocol" for TLS 1.2, "wrong version number" for plaintext). Drains the
 * thread's error queue, skipping entries whose library is 0.
 */
void tls_failure_reason(const struct tls_verify_info *info, unsigned long first_err,
    char *buf, size_t len);

/* Drains the error queue into buf ("" when empty); returns the first packed error. */
unsigned long tls_drain_errors(char *buf, size_t len);

/* True when e is "unexpected eof while reading" (peer dropped without close_notify). */
bool tls_error_is_eof(unsigned long e);

/* Our own certificate's expiry (for status and the 30-day warning). */
time_t tls_own_not_after(const struct tls *t);

#endif
