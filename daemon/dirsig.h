/*
 * dirsig: the signed directory (PROTOCOL.md section 17), and the only place that decides
 * which directory is in force when [directory] signature is set. A candidate — the
 * configured directory.conf with its .sig, <state_dir>/directory.signed (the last good
 * one), or a peer's Directory frame — must be a SignedObject with context
 * rogatory/directory/v1 whose DirectoryBody names the SHA-256 of the exact directory
 * bytes, signed ECDSA P-256 by a certificate of the network CA whose one SAN URI is
 * urn:rogatory:directory (never an authority's), valid at the signing time and not in the
 * effective CRL; its serial must not be below the last good one. The bytes verified are
 * the bytes parsed. The one in force is written to <state_dir>/directory.signed (tmp +
 * fsync + rename) before it is used. It never goes back to a lower serial; a refused
 * candidate is logged as an error naming it and why, and the last good one stays.
 * No libevent, no links: testable alone.
 */
#ifndef ROGATORY_DIRSIG_H
#define ROGATORY_DIRSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "wire.h"

struct config;
struct crl;
struct diag;
struct directory;
struct dirsig;

#define DIRSIG_CONTEXT "rogatory/directory/v1"
#define DIRSIG_URI "urn:rogatory:directory"
#define DIRSIG_STATE_FILE "directory.signed"

/* What a verified signature says. */
struct dirsig_info {
	uint64_t serial;
	int64_t signed_ms;
	uint8_t sha256[32];     /* of the directory bytes */
	char signer[256];       /* the signer certificate's subject, for logs */
	time_t signer_not_after; /* its expiry */
};

/*
 * Verifies so as the signature of the directory bytes conf: context, canonical body,
 * signer certificate (CA at ca_path, at the signing time; SAN URI urn:rogatory:directory
 * and nothing else; not listed in crl, which may be NULL), the ECDSA signature, the
 * SHA-256 of conf. 0 + *info, or -1 + err saying why.
 */
int dirsig_verify(const char *ca_path, const struct crl *crl, const uint8_t *conf,
    size_t conf_len, const Rogatory__V1__SignedObject *so, struct dirsig_info *info,
    char *err, size_t errlen);
/* The same with sig = the bytes of a directory.conf.sig file (a SignedObject). */
int dirsig_verify_file(const char *ca_path, const struct crl *crl, const uint8_t *conf,
    size_t conf_len, const uint8_t *sig, size_t sig_len, struct dirsig_info *info,
    char *err, size_t errlen);

/* dirsig_load flags */
#define DIRSIG_CHECK_ONLY 1u    /* rogatoryd -n: read, never write or move state files */

/*
 * Start-up and reload with [directory] signature set: the configured file and its
 * signature, and <state_dir>/directory.signed, each verified (with crl, may be NULL)
 * and parsed; the good one with the higher serial is chosen and persisted. A refused
 * file is logged as an error and, when notes is not NULL, added to it. 0 + *out and
 * *dir (the parsed directory, listing cfg's own id), or -1 + err when no good directory
 * is at hand.
 */
int dirsig_load(const struct config *cfg, const struct crl *crl, unsigned flags,
    struct diag *notes, struct dirsig **out, struct directory **dir, char *err,
    size_t errlen);

enum dirsig_offer_result {
	DIRSIG_ADOPTED,     /* newer and good: persisted, *dir set */
	DIRSIG_NOT_NEWER,   /* its serial is not above ours (nothing to do) */
	DIRSIG_REFUSED,     /* bad: msg says why */
	DIRSIG_ERROR,       /* ours: it could not be persisted; nothing changed */
};

/*
 * A peer's Directory (source e.g. "peer FR-MJ (CN=FR-MJ)"): on DIRSIG_ADOPTED, *cur is
 * replaced (the old one freed) and *dir is the new parsed directory for the caller to
 * install. msg always gets one line for the log.
 */
enum dirsig_offer_result dirsig_offer(struct dirsig **cur, const struct config *cfg,
    const struct crl *crl, const Rogatory__V1__Directory *m, const char *source,
    struct directory **dir, char *msg, size_t msglen);

void dirsig_free(struct dirsig *s);
/* Serial of the one in force; 0 when s is NULL (unsigned directory). */
uint64_t dirsig_serial(const struct dirsig *s);
/* Where it came from: "file /etc/rogatory/directory.conf", "state", "peer FR-MJ (...)". */
const char *dirsig_source(const struct dirsig *s);
/* The Directory message to send to a peer. */
const Rogatory__V1__Directory *dirsig_message(const struct dirsig *s);

#endif
