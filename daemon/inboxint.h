/*
 * inboxint: what the three files of the inbox share, and nothing else may include:
 * inbox.c (a Transfer's decision and its receipt), inboxstage.c (attachments arriving
 * in chunks) and inboxpeer.c (what each sending authority costs us: its quota, its bytes
 * waiting for the store, its duplicates). Functions here are private to them.
 */
#ifndef ROGATORY_INBOXINT_H
#define ROGATORY_INBOXINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assembly.h"
#include "inbox.h"
#include "journal.h"
#include "store.h"
#include "text.h"

struct event;
struct stagerec;
struct x509_store_st;

#define IB_TRUST_CACHE 256
/* Pieces of the link's buffer one chunk's data may span before it is copied out whole. */
#define IB_CHUNK_IOV 64

/* A signer certificate whose chain verified, keyed by the SHA-256 of its DER: valid for
 * signatures made within its validity window. */
struct ib_trust {
	uint8_t hash[32];
	int64_t not_before;
	int64_t not_after;
	bool used;
	/* The revocation verdict against the CRL of fingerprint crl_fp (crl_fingerprint):
	 * judged once per certificate and CRL, not by parsing the DER per message. */
	bool crl_judged;
	bool revoked;
	uint8_t crl_fp[32];
};

/* What one sending authority costs us (inboxpeer.c). */
struct ib_peer {
	char id[AUTHORITY_ID_MAX + 1];
	bool loaded;            /* unsettled read from the store (first use) */
	int64_t unsettled;      /* [delivery] peer_quota: unfetched + quarantined + staged */
	uint64_t queued;        /* received bytes handed to the store, not yet committed */
	bool held;              /* its inbound links hold LINK_HOLD_PEER */
	unsigned dup_tokens;    /* "duplicate" events it may still cause now (a bucket) */
	uint64_t dup_refill_ms; /* when the bucket was last refilled (monotonic) */
	unsigned dup_unlogged;  /* duplicates answered since the last one recorded */
	struct ib_peer *next;
};

/*
 * A message whose attachments are arriving on a link (v1: at most one per link), or,
 * with discard set, one already answered (refused, duplicate, TRY_LATER) whose chunks
 * still in flight are dropped unread. The document waits here; it is committed, with
 * its receipt, only once every attachment matched the signed manifest and every chunk
 * is committed (inboxstage.c).
 */
struct ib_stage {
	uint64_t link_serial;
	char peer[AUTHORITY_ID_MAX + 1];
	char msg_id[UUID_TEXT_LEN + 1];
	bool discard;
	bool complete;          /* every chunk received and written */
	/* Resume (link version 3): kept after its link was lost, for a resent Transfer;
	 * resumed: a Resume was sent at (resume_att, resume_off), chunks below it are
	 * dropped unread. */
	bool kept;
	bool resumed;
	uint32_t resume_att;
	uint64_t resume_off;
	/* Durable staging (inboxkeep.c): the point the record beside the files names, and
	 * as.received when it was written. restored: kept across a restart, its document
	 * and hash state not rebuilt yet (rec holds what the record said); rehashing: the
	 * staged prefix is being read back (link held), the Resume not sent yet. */
	uint32_t durable_att;
	uint64_t durable_off;
	uint64_t durable_recv;
	int64_t started_s;
	bool restored;
	bool rehashing;
	struct stagerec *rec;
	struct event *rehash;
	struct inbox *ib;
	struct assembly as;
	int64_t bset;
	struct store_msg doc;   /* the message as it will be stored (no receipt yet) */
	uint64_t started_ms;
	struct ib_stage *next;
};

struct inbox {
	struct rogatoryd *d;
	struct x509_store_st *ca;
	struct ib_trust cache[IB_TRUST_CACHE];
	unsigned cache_next;
	struct ib_stage *stages;
	struct ib_peer *peers;
	uint64_t queued_total;  /* all peers' received bytes awaiting a commit */
	bool total_held;        /* every inbound link holds LINK_HOLD_TOTAL */
	struct event *tick;
};

/* A document as it arrived, for a refusal: the signed id (the routing id when the body
 * could not be authenticated), the link's peer, the payload hash and the signed object. */
struct ib_doc {
	const char *msg_id;
	const char *peer;
	const char *sender;     /* as the Transfer names it: the receipt repeats it */
	const uint8_t *hash;
	const uint8_t *body;
	size_t body_len;
	const uint8_t *sig;
	size_t sig_len;
	const uint8_t *cert;
	size_t cert_len;
};

/* ---- inbox.c ---- */
/* Refuses doc with a signed REJECTED receipt (code, text), kept with the document in the
 * quarantine; answered on the link with that serial after the commit. A decision
 * already stored for the same content is answered instead; no room in the sender's
 * quota, or no signature now: TRY_LATER, nothing recorded. */
void ib_reject(struct inbox *ib, uint64_t serial, const struct ib_doc *doc, const char *code,
    const char *text);
/* Signs our receipt for (msg_id, sender, hash) into m's rcpt_* blobs. 0 / -1 + err. */
int ib_sign_receipt(struct inbox *ib, const char *msg_id, const char *sender,
    const uint8_t hash[32], bool accepted, const char *code, const char *text,
    struct store_msg *m, char *err, size_t errlen);
void ib_send_receipt(struct inbox *ib, uint64_t serial, const struct store_msg *m);
void ib_send_try_later(struct inbox *ib, uint64_t serial, const char *msg_id,
    const char *why);
/* Completion of a RECEIVE op (a message, or a staged one with its attachments). */
void ib_receive_done(struct journal_op *jo);
/* Submits an op carrying a peer's bytes (RECEIVE, QUARANTINE, CHUNK): they count as
 * queued for that peer until its completion (ib_op_done). */
void ib_submit(struct inbox *ib, struct journal_op *jo);
void ib_op_done(struct inbox *ib, const struct journal_op *jo);
void ib_dup(uint8_t **dst, size_t *len, const uint8_t *src, size_t n);

/* ---- inboxstage.c ---- */
/* Starts receiving the attachments of a checked, new Transfer on l (b: its body). */
void ib_stage_start(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t,
    const Rogatory__V1__DocumentBody *b, const char *mid, const uint8_t hash[32],
    uint64_t size);
/* A new Transfer (next_id) on l ends the link's earlier stage: one still taking chunks
 * is answered TRY_LATER (its sender resends it) and dropped. */
void ib_stage_end_link(struct inbox *ib, struct link *l, const char *next_id);
/* A resent Transfer (peer, mid, payload hash) whose staging was kept after a lost link
 * of version 3: taken up on l, a Resume sent at the point it holds; true. false when
 * there is none (or l speaks an older version: the kept staging is dropped). */
bool ib_stage_resume(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t,
    const Rogatory__V1__DocumentBody *b, const char *mid, const uint8_t hash[STORE_HASH_LEN],
    uint64_t size);
/* The stage's document as it will be stored, from the accepted Transfer (its blobs
 * copied) and the manifest's attachment sizes and hashes. */
void ib_stage_doc_fill(struct inbox *ib, struct ib_stage *st, const char *peer,
    const Rogatory__V1__Transfer *t, const Rogatory__V1__DocumentBody *b, const char *mid,
    const uint8_t hash[32], uint64_t size);
/* Forgets a stage and deletes its chunks; keep_discard: the link's further chunks for
 * this message are still dropped unread. */
void ib_stage_drop(struct inbox *ib, struct ib_stage *st, bool keep_discard);
/* Sends st's Resume, at (resume_att, resume_off), on l. */
void ib_send_resume(struct link *l, const struct ib_stage *st);
/* The link's further chunks for msg_id are dropped unread (its Transfer was answered
 * before them). */
void ib_stage_discard(struct inbox *ib, struct link *l, const char *msg_id);
void ib_stage_free_all(struct inbox *ib);
void ib_stage_tick(struct inbox *ib);

/* ---- inboxkeep.c: staging that survives a restart ---- */
/* Stages kept per sending authority and in all, after a lost link or a restart: the
 * oldest beyond them is dropped. */
#define IB_KEPT_PEER_MAX 4
#define IB_KEPT_MAX STORESTAGE_KEPT_MAX   /* the store keeps no more records at start */
/* Staged bytes between two durable steps (fsync + record). */
#define IB_DURABLE_STEP (32u << 20)
/* Staged bytes re-hashed per loop turn when a restored stage is taken up. */
#define IB_REHASH_SLICE (8u << 20)
/* After the chunks of st were written: every IB_DURABLE_STEP bytes, its files synced and
 * its record written (links of version 3; a failure is logged, the stage goes on). */
void ib_keep_step(struct inbox *ib, struct ib_stage *st, struct link *l);
/* At start: the staging records the store kept become kept stages (restored), counted
 * in their senders' quotas; older than staging_timeout or beyond the bounds: dropped. */
void ib_keep_restore(struct inbox *ib);
/* A restored stage taken up by its resent, accepted Transfer on l: its document filled,
 * the staged prefix re-hashed in slices (l held), then the Resume. false when the record
 * does not match the Transfer's manifest (the staging is dropped). */
bool ib_keep_take_up(struct inbox *ib, struct ib_stage *st, struct link *l,
    const Rogatory__V1__Transfer *t, const Rogatory__V1__DocumentBody *b, const char *mid,
    const uint8_t hash[32], uint64_t size);
/* After stages were kept: beyond IB_KEPT_PEER_MAX for a sender or IB_KEPT_MAX in all,
 * the oldest kept stages are dropped (logged). */
void ib_keep_bound(struct inbox *ib);
/* What a stage holds for durability and re-hashing, released (its event stopped). */
void ib_keep_release(struct ib_stage *st);

/* ---- inboxpeer.c ---- */
struct ib_peer *ib_peer_get(struct inbox *ib, const char *id);
/* Whether bytes more fit in the peer's [delivery] peer_quota: 0 yes; 1 no, why says so;
 * -1 the store cannot say. */
int ib_quota_check(struct inbox *ib, struct ib_peer *p, uint64_t bytes, char *why,
    size_t whylen);
/* The peer's unsettled bytes change (a message reserved or released, a document
 * quarantined or fetched). */
void ib_quota_add(struct inbox *ib, const char *peer, int64_t bytes);
/* Bytes of peer handed to the store (+) or committed (-): above [limits]
 * max_inbound_bytes its links stop reading, above max_inbound_total all do; each resumes
 * at half. */
void ib_queued_add(struct inbox *ib, const char *peer, int64_t bytes);
/* A duplicate answered from the store: true when it is to be recorded as an event now
 * (IB_DUP_BURST at once, then one per IB_DUP_EVERY_MS per peer: a peer that resends
 * forever costs a bounded rate of event rows); *unlogged: those answered since the last
 * one recorded. */
bool ib_duplicate_record(struct inbox *ib, struct ib_peer *p, unsigned *unlogged);
void ib_peers_free(struct inbox *ib);

#define IB_DUP_BURST 10
#define IB_DUP_EVERY_MS 10000

#endif
