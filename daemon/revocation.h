/*
 * revocation: puts the effective CRL (crl) to work in the running daemon. It builds every
 * TLS context with the CRL in its store (start-up, reload and each CRL change share
 * revocation_tls_new), spreads a newer CRL to peers (Hello numbers, Crl frames, one dial
 * to each authority without a link), runs CRL-only links while our CRL is expired, and
 * re-checks live links on a timer, warning from 1/4 of the CRL's validity before its
 * nextUpdate and loudly once it has expired. Revocation is off, with a warning, when
 * [tls] crl is not set.
 */
#ifndef ROGATORY_REVOCATION_H
#define ROGATORY_REVOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crl.h"

struct config;
struct link;
struct revocation;
struct rogatoryd;
struct tls;

/* How often live links are re-checked and the CRL's age is judged. */
#define REVOCATION_CHECK_S 60

/*
 * The keeper cfg asks for: *out NULL when [tls] crl is unset (revocation off); else the
 * CRL stored in <state_dir>, then the configured file offered over it (an expired file is
 * taken only when nothing is held). -1 + err when the file cannot be read or no usable
 * CRL results: the daemon then refuses to start, or a reload keeps the running one.
 */
int revocation_load(const struct config *cfg, struct crl **out, char *err, size_t errlen);

/* tls_new(cfg) plus crl (may be NULL) in the context's store. -1 + err. */
int revocation_tls_new(const struct config *cfg, const struct crl *crl, struct tls **out,
    char *err, size_t errlen);

/* Both of the above, as start-up and reload need them: *crl (NULL when off) and *tls,
 * or -1 + err and neither. */
int revocation_prepare(const struct config *cfg, struct crl **crl, struct tls **tls,
    char *err, size_t errlen);

/* For rogatoryd -n (the file already passed config_load's check): warnings to f when
 * revocation is off, or when the configured CRL has expired or is due for renewal. */
void revocation_check_config(const struct config *cfg, FILE *f);

/* Takes crl (may be NULL), starts the re-check timer on d->base, says whether revocation
 * is on and how old the CRL is. -1 + err (out of memory). */
int revocation_new(struct rogatoryd *d, struct crl *crl, struct revocation **out,
    char *err, size_t errlen);
void revocation_free(struct revocation *r);
/* Stops the re-check timer (at shutdown, before the peers it walks are freed). */
void revocation_stop(struct revocation *r);

/* Reload, after d->tls and d->cfg were swapped: crl (from revocation_load) replaces the
 * keeper; when its number rose, live links are re-checked and the CRL spreads. */
void revocation_replace(struct revocation *r, struct crl *crl);

/* The effective CRL; NULL when revocation is off. */
const struct crl *revocation_crl(const struct revocation *r);
/* Its number for our Hello; 0 when off or none (r may be NULL). */
uint64_t revocation_number(const struct revocation *r);

/*
 * A CRL from rogatoryctl (source "rogatoryctl"): crl_offer, logged; on adoption the TLS
 * context is rebuilt, revoked links close and the CRL spreads. msg gets the log line.
 * With revocation off: CRL_OFFER_INVALID and a message saying so.
 */
enum crl_offer_result revocation_offer(struct revocation *r, const uint8_t *der, size_t len,
    const char *source, char *msg, size_t msglen);

/*
 * A link became ready. Closes it when its peer's certificate is revoked; sends our CRL
 * when the peer announced an older one; on a CRL-only link, closes once nothing newer
 * can come. True when the link may carry delivery (ready, not CRL-only, not closing).
 */
bool revocation_link_ready(struct revocation *r, struct link *l);

/* A Crl frame on l: offered as "peer ID (subject)"; a CRL-only link closes after it. */
void revocation_link_crl(struct revocation *r, struct link *l, const uint8_t *der,
    size_t len);

/* True when l's peer certificate is listed in the effective CRL. */
bool revocation_link_revoked(const struct revocation *r, const struct link *l);

#endif
