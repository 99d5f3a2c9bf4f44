/*
 * store: the only module that speaks SQL. One SQLite file (<state_dir>/rogatory.db, WAL,
 * synchronous=FULL) holds outbound and inbound messages with their signed documents and
 * signed receipts (and the signers' certificates), the quarantine, and the event history.
 *
 * Writes never run on the event loop: store_submit() queues a write op for the store
 * thread, which commits whatever has queued in ONE transaction (group commit; each op in
 * its own SAVEPOINT so one bad op never fails its batch) and then hands every op back to
 * the loop, where its completion callback runs (via event_active on a libevent event;
 * evthread_use_pthreads() must have been called). Nothing may be acknowledged before its
 * op's callback reported success: that is the durability rule of the whole daemon.
 *
 * Reads (paging the outbox, show, lists, events) run synchronously on the loop thread on
 * a second, read-only connection; under WAL they never wait for the writer.
 *
 * Every event row gets a monotonic seq (INTEGER PRIMARY KEY) and a wall-clock µs
 * timestamp, committed in the same transaction as the state change it records.
 */
#ifndef ROGATORY_STORE_H
#define ROGATORY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "merkle.h"
#include "text.h"

struct event_base;
struct store;

#define STORE_HASH_LEN 32
/* The schema this build writes (PRAGMA user_version); a newer database is refused. */
#define STORE_SCHEMA_VERSION 16
#define STORE_KINDS 7              /* Kind values 0 (unspecified) to 6 (other) */
#define STORE_REF_MAX 255         /* bytes of a reference kept in a case row (cut at UTF-8) */

/* STORE_DIR_ANY only selects, in store_list; a message is always OUT or IN. */
enum store_dir { STORE_OUT = 0, STORE_IN = 1, STORE_DIR_ANY = 2 };

/* Message states (text in the database and in JSON is the lower-case name). */
enum store_state {
	STORE_QUEUED,       /* out: committed, not yet transmitted */
	STORE_SENDING,      /* out: transmission recorded, receipt awaited */
	STORE_RETRYING,     /* out: waiting for next_attempt_us */
	STORE_DELIVERED,    /* out: signed ACCEPTED receipt verified and stored */
	STORE_REJECTED,     /* out: signed REJECTED receipt stored */
	STORE_FAILED,       /* out: refused locally before any transmission */
	STORE_EXPIRED,      /* out: expire_after passed, never transmitted */
	STORE_UNCONFIRMED,  /* out: expire_after passed after >= 1 transmission */
	STORE_CANCELLED,    /* out: cancelled by an operator before transmission */
	STORE_RECEIVED,     /* in: stored with our receipt */
	STORE_STATE_COUNT,
};

/* A document's place in a case (daemon/caseflow.c fills it from the signed body). The
 * store opens or moves the case with the message, in the same transaction: a request
 * opens one (ours when it is queued, theirs when it is received); a status document moves
 * it by the transition table (case.h), or, arriving before its request, waits for it. */
struct store_casedoc {
	int doc_type;             /* 0: no case (a row from before schema 6); 1 request, 2 status */
	int status;               /* a status document's Rogatory__V1__Status */
	char in_reply_to[UUID_TEXT_LEN + 1];
	uint64_t sequence;
	char reference[STORE_REF_MAX + 1];  /* the sender's own reference, "" when none */
	char respond_by[11];      /* a request's YYYY-MM-DD, "" when none */
	char estimate[11];        /* a postponed status's YYYY-MM-DD estimate, "" when none */
	/* The clocks' policy ([cases], caseflow_clocks): a request's case computes its
	 * deadlines with it when the request's receipt time is known (RECEIVE; UPDATE to
	 * delivered of our request, with received_ms). */
	uint64_t ack_within_ms;   /* 0: no acknowledge-by */
	uint64_t respond_within_ms[STORE_KINDS]; /* by the request's kind (Kind value); 0: none */
	int64_t received_ms;      /* UPDATE to delivered: the receipt's signed received_ms */
	/* What the statistics count, as a JSON array of strings (casedoc_tally): a request's
	 * offence names, a status document's reason codes; whole entries while the array fits
	 * here, the rest left out (codes are at most 32 bytes; a few long names may not all
	 * fit); "" writes NULL. Fixed, not allocated: it rides in every op like the rest. */
	char tally[512];
};

/* One message row. Blobs are owned by the struct when it comes from a read
 * (free with store_msg_clear); when passed to a write op they are copied. */
struct store_msg {
	int64_t rowid;
	enum store_dir dir;
	char msg_id[UUID_TEXT_LEN + 1];
	char sender[AUTHORITY_ID_MAX + 1];
	char recipient[AUTHORITY_ID_MAX + 1];
	int kind;                 /* Rogatory__V1__Kind value */
	bool urgent;
	enum store_state state;
	uint32_t attempts;        /* transmissions so far (out) */
	int64_t created_us;       /* wall clock µs: submission (out) / receipt (in) */
	int64_t updated_us;
	int64_t next_attempt_us;  /* out: earliest next transmission; 0 = now */
	int64_t expire_at_us;     /* out: created + expire_after */
	bool fetched;             /* in: operator fetched it */
	uint8_t submit_hash[STORE_HASH_LEN];  /* out: hash of the submission (id-conflict) */
	uint8_t payload_hash[STORE_HASH_LEN]; /* SHA-256 of the document body */
	uint8_t *doc_body;        /* signed document: body, signature, signer cert (DER) */
	size_t doc_body_len;
	uint8_t *doc_sig;
	size_t doc_sig_len;
	uint8_t *doc_cert;
	size_t doc_cert_len;
	uint8_t *rcpt_body;       /* signed receipt, when there is one */
	size_t rcpt_body_len;
	uint8_t *rcpt_sig;
	size_t rcpt_sig_len;
	uint8_t *rcpt_cert;
	size_t rcpt_cert_len;
	char last_error[256];     /* "" when none */
	int64_t bset;             /* blob set naming the attachments' files; 0 = none */
	/* On write (SUBMIT, RECEIVE) with a bset: each attachment's size and SHA-256; the
	 * store seals the staged files under these names before the row (malloc'd, freed
	 * by store_msg_clear). Not read back. */
	struct store_att *atts;
	size_t n_atts;
	uint64_t size;            /* document body + attachments, bytes (0 on write: body) */
	bool refused;             /* in, answers only: the stored answer is a refusal (its
	                           * REJECTED receipt from the quarantine), not a message row */
	struct store_casedoc cd;  /* on write (SUBMIT, RECEIVE); not read back */
};

/* An attachment as the store keeps it: a file named by its SHA-256. */
struct store_att {
	uint64_t size;
	uint8_t sha256[STORE_HASH_LEN];
};

/* One event (a row of the events table; one JSON line of the delivery log). */
struct store_event {
	int64_t seq;              /* assigned by the store at commit */
	int64_t ts_us;            /* assigned by the store at commit (wall clock µs) */
	char event[32];           /* "queued", "sent", "delivered", "received", "link-up", ... */
	char msg_id[UUID_TEXT_LEN + 1]; /* "" for link events */
	char peer[AUTHORITY_ID_MAX + 1];
	enum store_dir dir;
	char state[40];           /* state entered, "" for link events */
	uint32_t attempt;
	uint64_t bytes;
	char reason[256];         /* "" when none */
	/* The operator whose control request caused it (SO_PEERCRED), when one did. */
	bool has_actor;
	uint32_t actor_uid;
	char actor_user[64];      /* the uid's user name, "" when it has none */
	/* Filled by the store: the audit leaf written with the event, SHA-256(0x00 ||
	 * AuditEntry bytes) (auditentry.h); all zero when a read finds none. */
	uint8_t leaf[STORE_HASH_LEN];
	char alert[32];           /* events "alert" / "alert-cleared": the alert's name */
	/* Filled by the store on the event of an update (STORE_OP_UPDATE): the message's
	 * created_us, so that a delivery's latency needs no read. Not a column: 0 on an
	 * event read back, and on other ops' events. */
	int64_t msg_created_us;
};

/* Proof of retrieval (PROTOCOL.md section 16; schema 10). dir STORE_IN: our evidence
 * that an operator fetched a message peer sent us (to send until peer's receipt);
 * STORE_OUT: peer's evidence about a message we sent it, with our receipt. Blobs are
 * owned by the struct when read (store_retrieval_clear); on a write op they are the
 * op's (journal ops free them with the op). */
struct store_retrieval {
	enum store_dir dir;
	char msg_id[UUID_TEXT_LEN + 1];
	char peer[AUTHORITY_ID_MAX + 1];
	uint8_t payload_hash[STORE_HASH_LEN];  /* the document's */
	int64_t retrieved_ms;
	uint32_t actor_uid;
	char actor_user[64];
	uint8_t *body, *sig, *cert;            /* the signed RetrievalBody */
	size_t body_len, sig_len, cert_len;
	uint8_t *rcpt_body, *rcpt_sig, *rcpt_cert;  /* the sender's receipt of it */
	size_t rcpt_body_len, rcpt_sig_len, rcpt_cert_len;
	char rcpt_outcome[16];                 /* "accepted", "rejected" or "" */
	int64_t created_us;
	int64_t receipted_us;                  /* 0: no receipt yet */
};
void store_retrieval_clear(struct store_retrieval *r);

/* What a write op does. */
enum store_op_kind {
	/* Every op that writes a message row also writes its case change (msg.cd, events in
 * op->more): SUBMIT and RECEIVE open or move a case, UPDATE to rejected, expired,
 * cancelled or failed voids what an outbound document did to its case. */
/* Insert an outbound message (state queued) + event "queued". If (sender, msg_id)
	 * exists: same submit_hash → result STORE_R_EXISTS with the existing row in
	 * op->stored (no event); different → STORE_R_CONFLICT (no change). */
	STORE_OP_SUBMIT,
	/* Insert an inbound message with our receipt (state received) + event "received".
	 * A decision already taken on (sender, msg_id) stands: the same payload_hash received
	 * or refused → STORE_R_EXISTS and op->stored gets the stored receipt (the row, or the
	 * refusal with refused set; event "duplicate"); the id names other content (received
	 * or refused) → STORE_R_CONFLICT (event "refused-id-conflict"; the caller refuses it
	 * with a signed id-conflict, STORE_OP_QUARANTINE). */
	STORE_OP_RECEIVE,
	/* Update an existing message (matched by dir, sender, msg_id) to op->msg.state with
	 * the fields listed in op->set, + op->event. STORE_R_NOT_FOUND when no such row;
	 * STORE_R_STALE when op->expect_state_mask does not contain the current state, or
	 * with op->expect_payload when the row's payload hash or recipient differ
	 * (nothing changed; op->stored.rowid and .state tell the current row). With
	 * op->transition set (an outstate event: every outbound change), the new state is
	 * outstate_next(current state, transition, attempts) instead, STORE_R_STALE when the
	 * table refuses it, and op->msg.state tells the state written. The event's empty
	 * msg_id/peer/state are filled from the row (an empty event name: the new state's
	 * name); attempt 0 becomes the row's. After an OUTSTATE_SEND op->stored holds the
	 * row as committed, blobs included: the Transfer is written from it, so a document
	 * re-signed meanwhile goes out with its new signature. */
	STORE_OP_UPDATE,
	/* Keep a refused document aside with its reason and its signed REJECTED receipt
	 * (msg.rcpt_*) + event "quarantined". The same content (sender, msg_id,
	 * payload_hash) already received or refused → STORE_R_EXISTS with that stored
	 * receipt in op->stored, as for RECEIVE (event "duplicate"), and no new row. */
	STORE_OP_QUARANTINE,
	/* Release quarantine entry op->qid (the operator looked at it): it stays, and no
	 * longer counts against its sender's quota. On STORE_R_OK msg.sender, msg.msg_id
	 * and msg.size tell the entry (+ event "quarantine-released"); STORE_R_STALE when
	 * it was already released, STORE_R_NOT_FOUND when there is no such entry. */
	STORE_OP_QUARANTINE_RELEASE,
	/* An event only (link-up, link-down). */
	STORE_OP_EVENT,
	/* Records that the delivery log file holds every event up to op->log_seq. */
	STORE_OP_LOG_MARK,
	/* Deletes the staging files of op->chunk.bset (staging abandoned). No event. */
	STORE_OP_DROP_SET,
	/* The audit log (storeaudit.c). Every event row any op writes is also a leaf of
	 * the audit tree, in the same transaction: seq = leaf index + 1. */
	/* op->audit.size and .root: the tree as it stands after every op before this one. */
	STORE_OP_AUDIT_HEAD,
	/* Keeps our signed checkpoint op->audit (size, root, time_ms, the signed object). */
	STORE_OP_AUDIT_CHECKPOINT,
	/* Keeps witness op->audit.who's cosignature of our checkpoint of op->audit.size. */
	STORE_OP_AUDIT_COSIGNATURE,
	/* As a witness: keeps op->audit (origin who) as the newest checkpoint seen from
	 * that origin. With audit.fork set, keeps it beside the one held instead (both are
	 * the proof, with from_size and the proof) and, the first time for that origin,
	 * writes op->event (audit-fork). */
	STORE_OP_AUDIT_WITNESS,
	/* An operator paused (op->on) or resumed our outbound messages to the authority
	 * event.peer: kept in the paused table across restarts, + event "peer-paused" /
	 * "peer-resumed" (event.reason may say who). STORE_R_STALE, and no event, when it
	 * already was paused / was not. */
	STORE_OP_PAUSE,
	/* An alert condition started (op->on: event "alert") or ended ("alert-cleared"):
	 * the active alert event.alert for subject event.peer ("" for none), with
	 * event.reason as its detail, is kept in the alerts table across restarts.
	 * STORE_R_STALE, and no event, when it already was active / was not, so each
	 * condition is recorded once when it starts and once when it ends. */
	STORE_OP_ALERT,
	/* The deadlines (storecase.c): at most op->due.limit cases whose clock (acknowledge-by
	 * while the case is requested, respond-by while it is open) is within
	 * op->due.warn_before_ms of op->due.now_us or past it, and whose event for that
	 * deadline was not recorded yet, get it: "due-soon" or "overdue" (one whose due-soon
	 * was never recorded gets it, late, just before the overdue), in op->more, with the mark that it was
	 * recorded in the same transaction. op->due.cases: cases that got one; op->due.more:
	 * the limit was reached (call again). */
	STORE_OP_DEADLINES,
	/* A recipient's retrieval evidence about our message op->retr.msg_id (dir OUT,
	 * peer = the recipient, with our signed receipt in rcpt_*): + event "retrieved".
	 * The same evidence (body bytes) kept before → STORE_R_EXISTS with the stored
	 * receipt in op->stored.rcpt_* (no event); other evidence kept for that message and
	 * peer → STORE_R_CONFLICT (nothing written). */
	STORE_OP_RETRIEVED,
	/* The sender's receipt (op->retr.rcpt_*, rcpt_outcome) of our retrieval evidence
	 * (dir IN, msg_id, peer): kept; STORE_R_STALE when it already had one, NOT_FOUND
	 * when there is no such evidence. No event. */
	STORE_OP_RETRIEVAL_RECEIPTED,
};

/* Fields STORE_OP_UPDATE sets besides state and updated_us. */
enum {
	STORE_SET_ATTEMPTS = 1 << 0,     /* attempts = msg.attempts */
	STORE_SET_NEXT_ATTEMPT = 1 << 1, /* next_attempt_us */
	STORE_SET_RECEIPT = 1 << 2,      /* rcpt_body/sig/cert */
	STORE_SET_LAST_ERROR = 1 << 3,   /* last_error */
	STORE_SET_FETCHED = 1 << 4,      /* fetched (STORE_R_STALE when it already is) */
	STORE_SET_DOCUMENT = 1 << 5,     /* doc_body/sig/cert + payload_hash (re-signed) */
};

enum store_result {
	STORE_R_OK = 0,
	STORE_R_EXISTS,
	STORE_R_CONFLICT,
	STORE_R_NOT_FOUND,
	STORE_R_STALE,
	STORE_R_FULL,      /* SQLITE_FULL: [store] max_size or the disk */
	STORE_R_ERROR,     /* anything else; op->error says what */
	STORE_R_ILLEGAL,   /* SUBMIT/RECEIVE of a status the case's transition table refuses
	                    * (op->error names the rule): nothing written */
};

struct store_op;
typedef void (*store_done_fn)(struct store_op *op, void *arg);

/*
 * Ownership: op->msg's blobs stay the caller's (the store reads them until done runs and
 * never frees them); on return msg.rowid, state, created_us (0 = now) and updated_us hold
 * what was written. op->stored is the store's answer (STORE_R_EXISTS: the stored row,
 * blobs included): store_submit zeroes it, the caller frees it with store_msg_clear.
 * For SUBMIT, RECEIVE and QUARANTINE the store writes the event itself (has_event is set,
 * the caller may pre-fill reason/bytes); for UPDATE it writes op->event when has_event,
 * for EVENT always. event.seq != 0 on completion means an event row was committed.
 */
struct store_op {
	enum store_op_kind kind;
	struct store_msg msg;         /* the message to write (or to select, for UPDATE) */
	struct store_msg stored;      /* filled by the store: see Ownership above */
	unsigned set;                 /* STORE_OP_UPDATE: STORE_SET_* */
	unsigned expect_state_mask;   /* STORE_OP_UPDATE: bit (1u << state) allowed; 0 = any */
	bool expect_payload;          /* STORE_OP_UPDATE: STORE_R_STALE unless the row has
	                               * msg.payload_hash and msg.recipient */
	int transition;               /* STORE_OP_UPDATE: an enum outstate_event; 0 = none */
	bool has_event;
	struct store_event event;     /* written with the change; seq/ts filled at commit */
	char reason[256];             /* STORE_OP_QUARANTINE */
	int64_t qid;                  /* STORE_OP_QUARANTINE_RELEASE */
	int64_t log_seq;              /* STORE_OP_LOG_MARK */
	struct {                      /* STORE_OP_AUDIT_*: the caller's bytes until done */
		uint64_t size;
		uint8_t root[STORE_HASH_LEN];
		int64_t time_ms;
		char who[AUTHORITY_ID_MAX + 1];
		const uint8_t *body, *sig, *cert;
		size_t body_len, sig_len, cert_len;
		bool fork;                /* WITNESS: refused as inconsistent */
		uint64_t from_size;       /* WITNESS fork: what the offer's proof started from */
		const uint8_t *proof;     /* WITNESS fork: the proof's hashes, concatenated */
		size_t proof_len;
		char reason[256];         /* WITNESS fork: why */
		bool first_fork;          /* filled: the first fork recorded for that origin */
	} audit;
	bool on;                      /* STORE_OP_PAUSE: pause; STORE_OP_ALERT: fire */
	struct {                      /* STORE_OP_DEADLINES */
		int64_t now_us;
		uint64_t warn_before_ms;
		int limit;
		int cases;                /* filled */
		bool more;                /* filled */
	} due;
	/* STORE_OP_RETRIEVED, _RETRIEVAL_RECEIPTED; and an UPDATE with STORE_SET_FETCHED
	 * whose retr.body is set writes it as our evidence (dir IN) when, and only when, it
	 * marks the message fetched: the obligation to send it is committed with the fetch. */
	struct store_retrieval retr;
	struct {                      /* STORE_OP_DROP_SET */
		int64_t bset;
	} chunk;
	/* Filled by the store thread: */
	enum store_result result;
	char error[256];
	/* Further events the op committed after op->event (a case opened or moved: see
	 * struct store_casedoc), in seq order; the journal announces and frees them. */
	struct store_event *more;
	size_t n_more;
	/* Completion, run on the loop thread after the batch committed (or failed). */
	store_done_fn done;
	void *arg;
	struct store_op *next;        /* internal */
};

/*
 * Opens (creating when missing, with umask 077 in effect) <state_dir>/rogatory.db,
 * migrates an older schema, runs PRAGMA quick_check, refuses a database of a newer schema
 * version or a corrupt one with a clear message (never overwriting it), sets
 * max_page_count from max_size (0 = no limit), and starts the store thread. Completions
 * run on base. -1 + err.
 */
int store_open(const char *state_dir, uint64_t max_size, struct event_base *base,
    struct store **out, char *err, size_t errlen);
/* Drains the queue (every queued op is committed and completed), stops the thread,
 * closes. */
void store_close(struct store *s);
/* Applies a new max_size (reload); 0 = no limit. The store thread applies it before its
 * next batch (the writer connection is its alone). A limit below the current size keeps
 * the file as it is and refuses growth. */
void store_set_max_size(struct store *s, uint64_t max_size);
/* Transactions committed and ops run in them since store_open (group-commit ratio). */
void store_stats(struct store *s, uint64_t *commits, uint64_t *ops);

/* Queues op (the caller keeps it alive until done runs). Never blocks on the disk. */
void store_submit(struct store *s, struct store_op *op);
/* Queues first, then second, at once: they run in the same batch, in that order (one
 * commit), each with its own result and completion. */
void store_submit_pair(struct store *s, struct store_op *first, struct store_op *second);
/* Ops queued or being committed, for backpressure (links stop reading above a bound). */
size_t store_pending(const struct store *s);

/* Proof of retrieval: the evidence about (dir, peer, msg_id) (blobs included). 0, 1 when
 * there is none, -1. */
int store_retrieval_get(struct store *s, enum store_dir dir, const char *peer,
    const char *msg_id, struct store_retrieval *out);
/* Our evidence not yet receipted (dir IN), oldest first: fn per row (no blobs). -1 on
 * error, else the count. */
int store_retrieval_unsent(struct store *s,
    void (*fn)(void *arg, const char *peer, const char *msg_id), void *arg);

/* ---- reads (loop thread; a failing read logs the database's message and returns -1) ---- */

/* Outbound messages to peer in states queued or retrying with next_attempt_us <= now_us,
 * urgent first, then oldest first; at most max, after the cursor (rowid, exclusive; 0 at
 * the start). The signed blobs' lengths (doc_*_len, rcpt_*_len), not their bytes
 * (pointers NULL): a Transfer is written from the row the SEND transition returns, so a
 * page never reads ~2.5 KB a message that it would throw away. Returns the count
 * (0..max) or -1. */
int store_outbox_page(struct store *s, const char *peer, int64_t now_us, int64_t after_rowid,
    struct store_msg *out, int max);
/* Peers that have outbound messages waiting for a transmission (queued, retrying,
 * unconfirmed), with the earliest next_attempt_us among them (0 = now); calls fn per
 * peer. An index-only scan. -1 on error. */
int store_outbox_peers(struct store *s,
    void (*fn)(void *arg, const char *peer, int64_t earliest_us), void *arg);
/* Outbound messages in a given state (e.g. sending at start-up: they may have left),
 * oldest first, after the cursor (rowid, exclusive); no blobs. Returns the count or -1. */
int store_list_state(struct store *s, enum store_state state, int64_t after_rowid,
    struct store_msg *out, int max);
/* One message. dir/sender/msg_id select (sender NULL: any sender, the oldest match);
 * blobs included. 0, 1 when not found, -1. */
int store_get(struct store *s, enum store_dir dir, const char *sender, const char *msg_id,
    struct store_msg *out);
/* Messages for listing (no blobs), newest first, before the cursor (rowid, exclusive; 0 at
 * the start). dir STORE_DIR_ANY: both. only_open: outbound not final (queued, sending,
 * retrying, unconfirmed — a late receipt may still come) and inbound not yet fetched.
 * Returns the count or -1. */
int store_list(struct store *s, enum store_dir dir, bool only_open, int64_t before_rowid,
    struct store_msg *out, int max);
/* Events with seq > after_seq, at most max, oldest first. Returns count or -1. */
int store_events_since(struct store *s, int64_t after_seq, struct store_event *out, int max);
/* Events of one message (show). */
int store_events_of(struct store *s, const char *msg_id, struct store_event *out, int max);
/* Highest seq written to the delivery log (STORE_OP_LOG_MARK), 0 when none, -1 on error. */
int64_t store_log_mark(struct store *s);
/* Highest event seq committed, 0 when none, -1 on error. */
int64_t store_last_seq(struct store *s);

/* A new blob set id for staging a message's attachments (loop thread). */
int64_t store_bset_new(struct store *s);
/* Loop thread: bytes of attachment att of blob set bset at offset off (the n pieces
 * of iov, in order) written to its staging file, not synced: a SUBMIT or RECEIVE naming
 * the set seals it (msg.atts), STORE_OP_DROP_SET or the next open removes it.
 * STORE_R_OK; STORE_R_FULL beyond [store] max_size (database and attachment files) or
 * with the disk full; STORE_R_ERROR; err says what. */
enum store_result store_stage_write(struct store *s, int64_t bset, uint32_t att,
    uint64_t off, const struct iovec *iov, int n, char *err, size_t errlen);
/* The stored bytes of attachment att of blob set bset from byte off, read from its file:
 * *data (malloc'd, the caller frees) holds at most max bytes. 0; 1 when there is no
 * byte at off; -1. */
int store_chunk_read(struct store *s, int64_t bset, uint32_t att, uint64_t off, size_t max,
    uint8_t **data, size_t *len);
/* Exactly len stored bytes of attachment att of blob set bset from byte off, read
 * from its file into dst (the caller's memory, e.g. a link's output buffer). 0; -1
 * (logged) when the store has no such bytes or the read failed. */
int store_chunk_read_into(struct store *s, int64_t bset, uint32_t att, uint64_t off,
    uint8_t *dst, size_t len);
/* Staging that survives a restart (storestage.c). Loop thread: the staged files of
 * attachments from_att .. r->att of blob set r->bset are fsynced, then r is written whole
 * beside them (BSET.resume: tmp, fsync, rename, fsync of the folder). 0 / -1 + err. */
struct stagerec;
int store_stage_durable(struct store *s, const struct stagerec *r, uint32_t from_att,
    char *err, size_t errlen);
/* Loop thread: len staged (not sealed) bytes of attachment att of bset from off into
 * dst. 0 / -1 + err (missing or shorter). */
int store_stage_read(struct store *s, int64_t bset, uint32_t att, uint64_t off, uint8_t *dst,
    size_t len, char *err, size_t errlen);
/* The staging records the start-up sweep kept (their files cut to the durable point),
 * handed over once: *out (malloc'd, the caller frees) holds *n of them. */
/* At most this many staging records survive a start (the newest): the inbox keeps no
 * more than that in all (IB_KEPT_MAX). */
#define STORESTAGE_KEPT_MAX 32
void store_stage_kept(struct store *s, struct stagerec **out, size_t *n);

/* Bytes a sending peer holds here unsettled: received and not yet fetched, plus its
 * quarantined documents (body, signature, certificate) not released. -1 on error. */
int64_t store_unsettled(struct store *s, const char *peer);

/* What this authority already decided about (peer, msg_id) for content payload_hash. */
enum store_settled {
	STORE_SETTLED_NONE = 0,   /* nothing yet */
	STORE_SETTLED_SAME = 1,   /* this content was received or refused: *out holds the
	                           * stored receipt (the message row; or, refused set, only
	                           * the REJECTED receipt's blobs) */
	STORE_SETTLED_OTHER = 2,  /* the id names other content (an id conflict) */
};
/* Looks it up (committed rows only: a decision still in the store queue is found by the
 * op itself). A store_settled value, or -1 on error (logged). */
int store_settled(struct store *s, const char *peer, const char *msg_id,
    const uint8_t payload_hash[STORE_HASH_LEN], struct store_msg *out);

/* One quarantined document, for listing. */
struct store_quarantined {
	int64_t id;
	int64_t ts_us;
	char peer[AUTHORITY_ID_MAX + 1];
	char msg_id[UUID_TEXT_LEN + 1];
	char reason[256];
	uint64_t bytes;
	int64_t released_us;      /* 0 while it counts against the sender's peer_quota */
};
/* Quarantine, newest first, before the cursor (id, exclusive; 0 at the start). */
int store_quarantine_list(struct store *s, int64_t before_id, struct store_quarantined *out,
    int max);

/* ---- cases (storecase.c, storecaseread.c; loop thread reads) ---- */

/* One case row. */
struct store_case {
	int64_t id;
	char request_id[UUID_TEXT_LEN + 1];
	char requester[AUTHORITY_ID_MAX + 1];   /* the request's sender */
	char requested[AUTHORITY_ID_MAX + 1];   /* its recipient */
	enum store_dir dir;       /* OUT: we sent the request; IN: we received it */
	int kind;
	bool urgent;
	char state[40];           /* case.h: case_state_name */
	bool consulted;           /* a consultation was applied */
	char requester_ref[STORE_REF_MAX + 1];
	char requested_ref[STORE_REF_MAX + 1];
	char respond_by[11];      /* the requester's date, "" when it gave none */
	int64_t opened_us;
	int64_t updated_us;
	/* The clocks (clocks.h), UTC µs, 0 = none or not known yet: when the requested
	 * authority received the request (its signed receipt's received_ms, on both sides),
	 * acknowledge-by, respond-by as first set and as it stands (a postponement's
	 * estimate replaces it). */
	int64_t received_us;
	int64_t ack_by_us;
	int64_t respond_base_us;
	int64_t respond_by_us;
};

/* One status document of a case, as the case saw it. */
struct store_case_doc {
	int64_t id;
	enum store_dir dir;       /* of the message row */
	char sender[AUTHORITY_ID_MAX + 1];
	char msg_id[UUID_TEXT_LEN + 1];
	int status;
	char side[12];            /* "requesting" or "requested" */
	uint64_t sequence;
	char applied[12];         /* "applied", "waiting" (for its request), "void" */
	char note[256];           /* why waiting or void */
	int64_t ts_us;
};

/* Filters of store_case_list; empty strings and dir STORE_DIR_ANY select all. */
struct store_case_filter {
	enum store_dir dir;
	char state[40];
	char peer[AUTHORITY_ID_MAX + 1];
	int kind;                 /* 0: any */
	/* Clocks judged at now_us (clocks_now_us): overdue, a running clock passed; due_within_us
	 * > 0, a running clock due after now and at most that long after it. */
	bool overdue;
	int64_t due_within_us;
	int64_t now_us;
};
/* Cases, newest first, before the cursor (id, exclusive; 0 at the start). Count or -1. */
int store_case_list(struct store *s, const struct store_case_filter *f, int64_t before_id,
    struct store_case *out, int max);
/* The case of request_id (requester NULL: the oldest of that id); else the case holding a
 * status document with that message id. 0, 1 when none, -1. */
int store_case_get(struct store *s, const char *request_id, const char *requester,
    struct store_case *out);
/* The case between a and b (either may be the requester) of request_id. 0, 1, -1. */
int store_case_between(struct store *s, const char *request_id, const char *a, const char *b,
    struct store_case *out);
/* A case's status documents in the order the case took them. Count or -1. */
int store_case_docs(struct store *s, const struct store_case *c, struct store_case_doc *out,
    int max);
/* Cases per direction (OUT: we sent the request) and state: fn per pair. 0 or -1. */
int store_case_stats(struct store *s, void (*fn)(void *arg, enum store_dir dir,
    const char *state, int64_t count), void *arg);
/* The highest sequence sender used in the case (0: none yet); -1 on error. */
int64_t store_case_last_sequence(struct store *s, const struct store_case *c,
    const char *sender);

/* ---- statistics (storestats.c; loop thread reads, SQL only) ---- */

/* What a column holds: DIR (0 we sent the request or message, 1 we received it), KIND
 * (Rogatory__V1__Kind) and STATUS (Rogatory__V1__Status) are integers the caller names. */
enum store_stat_type { STORE_STAT_TEXT, STORE_STAT_INT, STORE_STAT_REAL, STORE_STAT_DIR,
	STORE_STAT_KIND, STORE_STAT_STATUS };
struct store_stat_column {
	const char *name;
	enum store_stat_type type;
};
#define STORE_STAT_COLS_MAX 8
/* One table of the statistics: its name (a-z_), a title, its columns. */
struct store_stat_table {
	const char *name;
	const char *title;
	int id;                   /* the statement (storestats.c) */
	const struct store_stat_column *cols;
	size_t n_cols;
};
/* One cell: null (no value: a percentile of nothing), or i / r / text by column type
 * (text valid until the callback returns). */
struct store_stat_value {
	bool null;
	int64_t i;
	double r;
	const char *text;
};
/* The period [since_us, until_us) of µs since 1970 (0: open on that side) and the other
 * authority (NULL or "": any). What each table counts in it: docs/PROTOCOL.md 10. */
struct store_stats_filter {
	int64_t since_us, until_us;
	const char *peer;
	int64_t now_us;         /* what "overdue" is judged at (clocks_now_us()) */
	int64_t deadline_ms;    /* CLOCK_MONOTONIC ms at which the statements stop (0: no
	                         * limit): the loop thread waits for them */
	bool over_budget;       /* set when they did */
};
/* Every table, in the order they are shown; *n set. */
const struct store_stat_table *store_stat_tables(size_t *n);
/* The rows of table number table (an index of store_stat_tables) for f: row per row
 * (a non-zero return stops, and the call returns -1). 0, or -1 (logged; f->over_budget
 * when the time budget ran out). */
int store_stats_table(struct store *s, size_t table, struct store_stats_filter *f,
    int (*row)(void *arg, const struct store_stat_value *v), void *arg);

/* The audit tree keeps the hash of every complete subtree of 2^(k x stride) leaves
 * (k >= 1): the nodes every proof is built from (audit verify checks each). */
#define STORE_AUDIT_NODE_STRIDE 4

/* ---- the audit log (storeaudit.c; reads on the loop thread like the others) ---- */

/* A signed checkpoint of ours, a witness's cosignature of one (who: the witness), or the
 * newest checkpoint of another origin we witness (who: the origin). Blobs owned. */
struct store_checkpoint {
	uint64_t size;
	uint8_t root[STORE_HASH_LEN];
	int64_t time_ms;
	char who[AUTHORITY_ID_MAX + 1];
	int64_t seen_us;          /* witnessed: when it was stored */
	int64_t forked_us;        /* witnessed: when a fork was first seen; 0 = never */
	uint8_t *body, *sig, *cert;
	size_t body_len, sig_len, cert_len;
};
void store_checkpoint_clear(struct store_checkpoint *c);

/* The committed tree's frontier (size 0 when empty). 0 / -1. */
int store_audit_frontier(struct store *s, struct merkle_frontier *f);
/* A complete subtree of the committed tree: 2^level leaves, index-th of its level (level
 * 0: a leaf hash as stored with its event). 0; -1 when missing (logged) or on error. */
int store_audit_node(struct store *s, unsigned level, uint64_t index,
    uint8_t out[STORE_HASH_LEN]);
/* The same as a merkle_get_fn (arg: the struct store), for proofs of the stored tree. */
int store_audit_get(void *arg, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN]);
/* Our checkpoints of size <= max_size, newest first; the count or -1. */
int store_audit_checkpoints(struct store *s, uint64_t max_size, struct store_checkpoint *out,
    int max);
/* Our checkpoints of size > after, oldest first; the count or -1. */
int store_audit_checkpoints_after(struct store *s, uint64_t after,
    struct store_checkpoint *out, int max);
/* The checkpoint to prove entries up to min_size with: the oldest covering it that a
 * witness cosigned, else the oldest covering it. 0; 1 when none covers it; -1. */
int store_audit_covering(struct store *s, uint64_t min_size, struct store_checkpoint *out);
/* The cosignatures of our checkpoint of that size, by witness; the count or -1. */
int store_audit_cosignatures(struct store *s, uint64_t size, struct store_checkpoint *out,
    int max);
/* Per witness: the largest size it cosigned and how many cosignatures; -1 on error. */
int store_audit_cosigned_by(struct store *s,
    void (*fn)(void *arg, const char *witness, uint64_t size, int64_t count), void *arg);
/* As a witness: the newest checkpoint held per origin (origin NULL: every origin),
 * by origin; the count or -1. */
int store_audit_witnessed(struct store *s, const char *origin, struct store_checkpoint *out,
    int max);
/* Forks kept as a witness; -1 on error. */
int64_t store_audit_forks(struct store *s);
/* Leaves written and the store thread's time spent on the audit log since open. */
void store_audit_cost(struct store *s, uint64_t *entries, uint64_t *ns);
/* ---- the operators' reads (storeoper.c; loop thread, like the reads above) ---- */

/* What a listing selects; zero fields select everything. */
struct store_filter {
	enum store_dir dir;           /* STORE_OUT, STORE_IN or STORE_DIR_ANY */
	bool only_open;               /* as store_list */
	const char *peer;             /* the other end (recipient / sender); NULL: any */
	int state;                    /* an enum store_state; -1: any */
	int64_t created_before_us;    /* submitted (out) / received (in) at or before; 0: any */
	bool unfetched;               /* only inbound messages not yet fetched */
};
/* Messages (no blobs) matching f, newest first, before the cursor (rowid, exclusive; 0
 * at the start). Returns the count or -1. */
int store_list_filter(struct store *s, const struct store_filter *f, int64_t before_rowid,
    struct store_msg *out, int max);

/* The web console's list: messages of one or both directions (STORE_DIR_ANY), newest
 * first, before the cursor (rowid, exclusive; 0 at the start); peer (the other end),
 * state and id_prefix (the start of the id) NULL or "" for any. A page is chosen from
 * one range of an index of schema 13 alone (two merged for both directions), read from
 * the cursor down and stopped at the page's end, then only its rows are read (no
 * blobs). An id prefix is checked in that index as it is read: a prefix that matches
 * few reads more of the range (index entries only, never a sort). The count or -1. */
int store_messages_page(struct store *s, enum store_dir dir, const char *peer,
    const char *state, const char *id_prefix, int64_t before_rowid, struct store_msg *out,
    int max);

/* What an event history selects; zero / NULL / "" fields select everything. */
struct store_event_filter {
	int64_t since_us;             /* ts_us >= since_us */
	int64_t until_us;             /* ts_us < until_us */
	const char *peer;
	const char *msg_id;
	const char *event;
};
/* Events matching f with seq > after_seq, oldest first in out: the first max of them,
 * or with last the newest max. Times select by seq range (the seq of the first event at
 * or after since, of the last before until): the store writes events in time order.
 * Returns the count or -1. */
int store_events_filter(struct store *s, const struct store_event_filter *f,
    int64_t after_seq, bool last, struct store_event *out, int max);
/* Whether e matches f (log --follow applies the same filter to new events). */
bool store_event_matches(const struct store_event_filter *f, const struct store_event *e);

/* Open outbound messages (queued, sending, retrying, unconfirmed) per recipient and
 * state: fn gets the count and the oldest created_us. 0 or -1. */
int store_queue_stats(struct store *s, void (*fn)(void *arg, const char *peer,
    enum store_state state, int64_t count, int64_t oldest_created_us), void *arg);
/* Inbound messages not yet fetched, per sender. 0 or -1. */
int store_inbox_stats(struct store *s, void (*fn)(void *arg, const char *peer,
    int64_t count), void *arg);
/* The store's size in bytes: the database's pages in use x page size plus the
 * attachment files (what [store] max_size bounds); -1 on error. */
int64_t store_size_bytes(struct store *s);
/* The paused authorities, oldest pause first: fn per authority. 0 or -1. */
int store_paused_list(struct store *s, void (*fn)(void *arg, const char *peer,
    int64_t since_us), void *arg);

/* One active alert (STORE_OP_ALERT). */
struct store_alert {
	char name[32];
	char subject[AUTHORITY_ID_MAX + 1];   /* "" when the alert has none */
	int64_t since_us;
	char detail[256];
};
/* The active alerts, oldest first. Returns the count (at most max) or -1. */
int store_alerts_list(struct store *s, struct store_alert *out, int max);

void store_msg_clear(struct store_msg *m);
const char *store_state_name(enum store_state s);
int store_state_parse(const char *name, enum store_state *out);
const char *store_result_name(enum store_result r);

#ifdef ROGATORY_TEST_HOOKS
/* Tests: while held, the store thread takes no ops, so the next batch is exactly what was
 * submitted meanwhile. store_close overrides it. */
void store_test_hold(struct store *s, bool hold);
/* Tests: how many times SQLite re-prepared the store's own statements since they were
 * prepared (a bound value the plan depended on changed). */
long store_test_reprepares(struct store *s);
/* Tests: the EXPLAIN QUERY PLAN details of the outbox page query, "; "-separated. 0 / -1. */
int store_test_outbox_plan(struct store *s, char *out, size_t outlen);
/* Tests: the same for the console's page query of store_messages_page with those filters
 * (newest: the one of no filter at all, both directions). 0 / -1. */
int store_test_messages_page_plan(struct store *s, enum store_dir dir, bool by_peer,
    bool by_state, bool newest, char *out, size_t outlen);
/* Tests: the events table's column names in order, space-separated. 0 / -1. */
int store_test_event_columns(struct store *s, char *out, size_t outlen);
#endif

#endif
