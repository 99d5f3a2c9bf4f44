/*
 * cert: X.509 certificates and keys as rogatory uses them: identity from the single SAN
 * URI urn:rogatory:authority:<ID> (never the CN), key files readable by the owner only,
 * chains verified against the network CA alone. No SSL objects here (see tls).
 */
#ifndef ROGATORY_CERT_H
#define ROGATORY_CERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/types.h>

#include "text.h"

/* The longest SAN URI read (ours are under 90 bytes). */
#define CERT_URI_MAX 256

/* The one URI of c's subjectAltName: exactly one URI entry in the whole SAN (wanted
 * names the form expected, for the messages). Its bytes in uri, NUL-terminated after
 * *len bytes (it may hold a NUL of its own: compare by *len). -1 + err. */
int cert_san_uri(const X509 *c, const char *wanted, unsigned char uri[CERT_URI_MAX],
    size_t *len, char *err, size_t errlen);

/* The authority id from c's SAN: exactly one URI entry in the whole SAN, of the form
 * urn:rogatory:authority:<valid id>. -1 + err ("no subjectAltName", "2 URI entries",
 * "URI ... is not urn:rogatory:authority:<ID>", "invalid authority id ..."). */
int cert_authority_id(const X509 *c, char id[AUTHORITY_ID_MAX + 1], char *err, size_t errlen);

/* One-line subject for logs ("CN=FR-MJ,O=..."); never fails (writes "?" at worst). */
void cert_subject(const X509 *c, char *buf, size_t len);

/* The serial, upper-case hex without leading zeros ("" when it cannot be read). */
void cert_serial(const X509 *c, char *buf, size_t len);

/* notAfter / notBefore as time_t. */
time_t cert_not_after(const X509 *c);
time_t cert_not_before(const X509 *c);

/*
 * The time at which to check a signer's chain for an object that claims creation time
 * `created`: created itself, or the certificate's notBefore when that is later (a
 * document re-signed after its sender renewed its certificate keeps its creation time,
 * but cannot have been signed before the new certificate existed). Never later than
 * now, so a certificate not yet valid today still fails.
 */
time_t cert_signing_time(const X509 *c, time_t created);

/* PEM certificate from path. -1 + err naming the path. */
int cert_load_pem(const char *path, X509 **out, char *err, size_t errlen);
/* DER certificate from memory (bounded by the caller). */
int cert_from_der(const uint8_t *der, size_t len, X509 **out, char *err, size_t errlen);

/* PEM private key from path; refused when the file is readable or writable by group or
 * others ("key file PATH has mode 0644; it must be readable by its owner only (chmod
 * 600)"), and when it is encrypted (a daemon must not stop at a passphrase prompt). */
int cert_key_load(const char *path, EVP_PKEY **out, char *err, size_t errlen);

/* X509_STORE holding only the CA certificate(s) in ca_path (no system store). */
int cert_store_load(const char *ca_path, X509_STORE **out, char *err, size_t errlen);

/* The network has one root CA and no intermediates (SECURITY.md): a chain is the leaf
 * then the root, so at most 0 certificates between them (OpenSSL's verify depth). */
#define CERT_VERIFY_DEPTH 0

/* Verifies c's chain to the store at time `at` (X509_V_FLAG_USE_CHECK_TIME), without
 * CRL flags, at depth CERT_VERIFY_DEPTH. -1 + err with cert_verify_reason's words and
 * where ("certificate has expired (expired) (depth 0, subject CN=FR-MJ)"). */
int cert_verify_at(X509_STORE *store, X509 *c, time_t at, char *err, size_t errlen);

/*
 * Why a verification stopped, in words an operator can act on: OpenSSL's reason, then
 * what it means in this network, from one table shared by links (tls) and signed objects
 * (cert_verify_at): "(unknown CA: issuer CN=X is not the network CA; ...)", "(issued by
 * an intermediate CA: this network has one root CA and no intermediates)", "(expired)",
 * "(listed in the network CA's CRL)", "(our CRL cannot be used)". Never fails.
 */
void cert_verify_reason(X509_STORE_CTX *sctx, char *buf, size_t len);

/*
 * Start-up check of our own credentials: key file mode, key matches certificate,
 * certificate SAN id == expected_id, certificate chains to the CA now. On success
 * *not_after is the certificate's expiry. Each failure has its own message.
 */
int cert_check_credentials(const char *cert_path, const char *key_path, const char *ca_path,
    const char *expected_id, time_t *not_after, char *err, size_t errlen);

#endif
