/*
 * crl: the effective certificate revocation list, and the only place that decides which
 * CRL is in force. A candidate (the configured file, <state_dir>/crl.der, a peer's Crl
 * frame, rogatoryctl crl install) must be a DER or PEM X.509 CRL whose issuer is the
 * network CA's subject, signed by the CA's key, with a crlNumber and a nextUpdate. The
 * effective CRL is the valid one with the highest crlNumber; it is written to
 * <state_dir>/crl.der (tmp + fsync + rename, 0600) before its adoption is announced, and
 * it never goes back to a lower number. A held CRL whose nextUpdate has passed stays in
 * force ("expired" mode: see tls and revocation) until a newer one arrives.
 * No libevent, no links here: the module is testable alone.
 */
#ifndef ROGATORY_CRL_H
#define ROGATORY_CRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/types.h>

struct crl;

/* Largest CRL accepted from anywhere (the Crl frame's limit, PROTOCOL.md section 11). */
#define CRL_DER_MAX (1u << 20)
/* Name of the stored effective CRL inside state_dir. */
#define CRL_STATE_FILE "crl.der"

enum crl_offer_result {
	CRL_OFFER_ADOPTED,   /* newer and valid: now effective, already persisted */
	CRL_OFFER_NOT_NEWER, /* valid, but its crlNumber is not above ours */
	CRL_OFFER_INVALID,   /* unparsable, not from the CA, outside its validity window */
	CRL_OFFER_ERROR,     /* ours: it could not be persisted; nothing changed */
};

/* Offer flags. */
#define CRL_OFFER_BOOTSTRAP 1u /* the configured file at start-up or reload: an expired
                                * CRL is taken when nothing is held at all, so a daemon
                                * started with a stale list enters "expired" mode instead
                                * of refusing every peer */

/*
 * Opens the keeper: the CA certificate from ca_path (its subject and public key), then
 * <state_dir>/crl.der when present (state_dir NULL: none). A stored CRL that does not
 * verify is moved aside to crl.der.refused with an error logged, never silently used or
 * deleted. -1 + err when the CA cannot be read.
 */
int crl_open(const char *ca_path, const char *state_dir, struct crl **out, char *err,
    size_t errlen);
void crl_free(struct crl *c);

/*
 * Offers a DER CRL from source ("file /etc/...", "peer FR-MJ (CN=FR-MJ)", "rogatoryctl").
 * msg always receives one line for the log naming the source and the crlNumber: why it
 * was refused, or what was adopted.
 */
enum crl_offer_result crl_offer(struct crl *c, const uint8_t *der, size_t len,
    const char *source, unsigned flags, char *msg, size_t msglen);

/* The effective CRL; number 0 when none is held. */
uint64_t crl_number(const struct crl *c);
time_t crl_this_update(const struct crl *c);
time_t crl_next_update(const struct crl *c);
const char *crl_source(const struct crl *c);   /* where the effective CRL came from */
size_t crl_revoked_count(const struct crl *c);
/* SHA-256 of its DER bytes, computed once at adoption: what a cache of verdicts keys on
 * (the same bytes, the same revocations); NULL when none. */
const uint8_t *crl_fingerprint(const struct crl *c);
/* Its DER bytes, to send in a Crl frame; NULL when none. */
const uint8_t *crl_der(const struct crl *c, size_t *len);
/* The parsed CRL, for the TLS store (tls_add_crl); NULL when none. */
X509_CRL *crl_x509(const struct crl *c);

/* True when a CRL is held and now >= its nextUpdate. */
bool crl_expired(const struct crl *c, time_t now);
/* True from 1/4 of the CRL's validity before its nextUpdate on (and once expired). */
bool crl_renewal_due(const struct crl *c, time_t now);

/* Is the certificate with this serial (upper-case hex, as link_peer_cert_serial gives it)
 * revoked by the effective CRL? False when none is held. Only certificates of the
 * network CA reach here, so the serial alone names one certificate. */
bool crl_serial_revoked(const struct crl *c, const char *serial_hex);
/* The same for a certificate (issuer checked too), e.g. a document's signer. */
bool crl_cert_revoked(const struct crl *c, X509 *cert);
/* The revocationDate the effective CRL gives the certificate; 0 when it is not listed
 * (or no CRL is held). */
time_t crl_cert_revoked_since(const struct crl *c, X509 *cert);

/* Reads a CRL file, PEM or DER, into malloc'd DER bytes (at most CRL_DER_MAX).
 * -1 + err naming the path. Used by rogatoryctl with the operator's rights. */
int crl_file_read(const char *path, uint8_t **der, size_t *len, char *err, size_t errlen);

/* For rogatoryd -n: path holds a CRL issued and signed by the CA in ca_path. Its
 * validity window is not judged (that is the effective-CRL rule's business). On success
 * *number and *next_update describe it. -1 + err. */
int crl_file_check(const char *path, const char *ca_path, uint64_t *number,
    time_t *next_update, char *err, size_t errlen);

/* "2026-12-04T10:00:00Z" into buf (len >= 21); "-" for 0. */
const char *crl_time_str(time_t t, char *buf, size_t len);

#endif
