/*
 * store: opening, schema, migrations and closing of the message store, and the home of
 * every line of SQL in the daemon (storeop.c and storeread.c run the statements defined
 * here, by id). It must never overwrite, recreate or "repair" a database it cannot read:
 * a corrupt file or a newer schema is refused and left exactly as it was.
 *
 * Error policy: at open every problem (cannot create or read the file, corrupt, newer
 * schema, failed migration, no WAL) goes back to the caller as -1 + err, which stops
 * start-up. A database already larger than max_size is a warning (it is kept, it will not
 * grow). Nothing here calls fatal(); storeop.c and storeread.c state their own policies.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "stagerec.h"
#include "storedb.h"
#include "storeq.h"

/* "ROGA": tells a rogatory database from some other SQLite file. */
#define STORE_APPLICATION_ID 0x524f4741
#define STORE_BUSY_MS 5000

/* Columns of a message read, in store_msg_from_row's order; blobs last, so that
 * reading the small columns never walks a blob's overflow pages. */
#define MSG_COLS "id, dir, msg_id, sender, recipient, kind, urgent, state, attempts, " \
	"created_us, updated_us, next_attempt_us, expire_at_us, fetched, submit_hash, " \
	"payload_hash, last_error, bset, size"
#define MSG_BLOBS ", md.body, md.sig, md.cert, mr.body, mr.sig, mr.cert"
#define MSG_NO_BLOBS ", NULL, NULL, NULL, NULL, NULL, NULL"
/* The blobs' lengths in their place (integers: store_msg_from_row sets only the *_len);
 * length() of a blob reads its record header, never its overflow pages. */
#define MSG_BLOB_LENS ", length(md.body), length(md.sig), length(md.cert), length(mr.body)," \
	" length(mr.sig), length(mr.cert)"
/* The signed blobs of a message live beside its row (schema 15): "FROM " MSG_FROM. */
#define MSG_FROM "messages LEFT JOIN message_docs md ON md.msg = messages.id" \
	" LEFT JOIN message_receipts mr ON mr.msg = messages.id"
#define EV_COLS "seq, ts_us, event, msg_id, peer, dir, state, attempt, bytes, reason," \
	" actor_uid, actor_user, leaf, alert"
/* A checkpoint or cosignature row, in store_checkpoint_from_row's order. */
#define CP_COLS "tree_size, root, time_ms, body, sig, cert"
/* Transmittable when due: unconfirmed messages too (they may have arrived, but are still
 * retried every retry_max until a receipt settles them). */
#define OUTBOX_WHERE "dir = 0 AND (state = 'queued' OR state = 'retrying'" \
	" OR state = 'unconfirmed')"
/* The same condition as the released steps 1 and 3 wrote it. An IN list of constants in
 * a partial index's WHERE is built as a temporary table each time SQLite evaluates it:
 * for the row before and after, for each such index, at every insert and state change
 * (~50 µs an UPDATE with two such indexes, against ~3 µs for the OR form). Schema 16
 * replaces the two indexes. */
#define OUTBOX_WHERE_V1 "dir = 0 AND state IN ('queued', 'retrying', 'unconfirmed')"
#define OPEN_OUT "('queued', 'sending', 'retrying', 'unconfirmed')"
/* What a quarantined document costs its sender's peer_quota: the signed document. */
#define QBYTES "(coalesce(length(doc_body), 0) + coalesce(length(doc_sig), 0) +" \
	" coalesce(length(doc_cert), 0))"
/* A refusal of this content (peer, msg_id, payload_hash), and whether the id was refused
 * for other content: both through the index quarantine_msg, the second without reading
 * a row (a peer may have many refusals under one id; their documents stay unread). */
#define QSAME_SQL "SELECT rcpt_body, rcpt_sig, rcpt_cert FROM quarantine" \
	" WHERE peer = ?1 AND msg_id = ?2 AND payload_hash = ?3 AND rcpt_body IS NOT NULL" \
	" ORDER BY id LIMIT 1"
#define QOTHER_SQL "SELECT 1 FROM quarantine WHERE peer = ?1 AND msg_id = ?2" \
	" AND payload_hash IS NOT NULL AND payload_hash <> ?3 LIMIT 1"

/*
 * Schema migrations, oldest first. A step runs in one transaction together with its
 * PRAGMA user_version, so a crash leaves the database at the previous version. Never edit
 * a released step: append a new one.
 */
static const struct {
	int version;
	const char *sql;
} store_migrations[] = {
	{ 1,
	  "CREATE TABLE messages ("
	  " id INTEGER PRIMARY KEY,"
	  " dir INTEGER NOT NULL CHECK (dir IN (0, 1)),"
	  " msg_id TEXT NOT NULL CHECK (msg_id <> ''),"
	  " sender TEXT NOT NULL, recipient TEXT NOT NULL,"
	  " kind INTEGER NOT NULL, urgent INTEGER NOT NULL CHECK (urgent IN (0, 1)),"
	  " state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'retrying', 'delivered',"
	  "  'rejected', 'failed', 'expired', 'unconfirmed', 'cancelled', 'received')),"
	  " attempts INTEGER NOT NULL DEFAULT 0,"
	  " created_us INTEGER NOT NULL, updated_us INTEGER NOT NULL,"
	  " next_attempt_us INTEGER NOT NULL DEFAULT 0, expire_at_us INTEGER NOT NULL DEFAULT 0,"
	  " fetched INTEGER NOT NULL DEFAULT 0,"
	  " submit_hash BLOB, payload_hash BLOB NOT NULL CHECK (length(payload_hash) = 32),"
	  " last_error TEXT NOT NULL DEFAULT '',"
	  " doc_body BLOB, doc_sig BLOB, doc_cert BLOB,"
	  " rcpt_body BLOB, rcpt_sig BLOB, rcpt_cert BLOB,"
	  /* The duplicate key (dir, sender, msg_id), ordered so that its index also finds a
	   * message by id alone (show, when the sender is not known). */
	  " UNIQUE (dir, msg_id, sender));"
	  /* The outbox page: equality on (recipient, urgent), a range on id, next_attempt_us
	   * checked in the index; partial, so it holds only what may still be sent. */
	  "CREATE INDEX messages_outbox ON messages (recipient, urgent, id, next_attempt_us)"
	  " WHERE " OUTBOX_WHERE_V1 ";"
	  "CREATE INDEX messages_state ON messages (dir, state);"
	  /* AUTOINCREMENT: a seq is never reused, even if old events are pruned one day;
	   * the delivery log and its followers rely on that. */
	  "CREATE TABLE events ("
	  " seq INTEGER PRIMARY KEY AUTOINCREMENT, ts_us INTEGER NOT NULL,"
	  " event TEXT NOT NULL CHECK (event <> ''), msg_id TEXT NOT NULL DEFAULT '',"
	  " peer TEXT NOT NULL DEFAULT '', dir INTEGER NOT NULL CHECK (dir IN (0, 1)),"
	  " state TEXT NOT NULL DEFAULT '', attempt INTEGER NOT NULL DEFAULT 0,"
	  " bytes INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '');"
	  "CREATE INDEX events_msg ON events (msg_id);"
	  "CREATE TABLE quarantine ("
	  " id INTEGER PRIMARY KEY, ts_us INTEGER NOT NULL, peer TEXT NOT NULL,"
	  " msg_id TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL,"
	  " doc_body BLOB, doc_sig BLOB, doc_cert BLOB);"
	  "CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
	  "PRAGMA application_id = 1380927297;" },
	/* Attachments: a message's bytes beyond its signed document live in chunks, keyed
	 * by the message's blob set (bset; 0 = none). Chunks of a bset that no message
	 * names are staging: dropped at open. size = document + attachments, in bytes. */
	{ 2,
	  "ALTER TABLE messages ADD COLUMN bset INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE messages ADD COLUMN size INTEGER NOT NULL DEFAULT 0;"
	  "CREATE TABLE chunks ("
	  " bset INTEGER NOT NULL CHECK (bset > 0), att INTEGER NOT NULL CHECK (att >= 0),"
	  " off INTEGER NOT NULL CHECK (off >= 0), data BLOB NOT NULL,"
	  " PRIMARY KEY (bset, att, off));"
	  "CREATE INDEX messages_bset ON messages (bset) WHERE bset <> 0;"
	  /* A sending peer's unsettled bytes ([delivery] peer_quota). */
	  "CREATE INDEX messages_unfetched ON messages (sender, size) WHERE dir = 1 AND fetched = 0;"
	  "CREATE INDEX quarantine_peer ON quarantine (peer);" },
	/* The outbox tick's "which peers have something due": covering, so it never reads a
	 * message row (with 100,000 queued that scan was a third of a CPU). */
	{ 3,
	  "CREATE INDEX messages_due ON messages (recipient, next_attempt_us, dir, state)"
	  " WHERE " OUTBOX_WHERE_V1 ";" },
	/* The operator releases a quarantined document once looked at: it stays as
	 * evidence, and no longer counts against its sender's peer_quota. */
	{ 4,
	  "ALTER TABLE quarantine ADD COLUMN released_us INTEGER NOT NULL DEFAULT 0;" },
	/* A refusal is a decision like an acceptance: its signed REJECTED receipt is kept
	 * with the document, and a resend of the same content (sender, id, payload hash)
	 * gets those bytes again instead of a new row. Rows from before have no hash and
	 * no receipt: they match nothing. */
	{ 5,
	  "ALTER TABLE quarantine ADD COLUMN payload_hash BLOB"
	  " CHECK (payload_hash IS NULL OR length(payload_hash) = 32);"
	  "ALTER TABLE quarantine ADD COLUMN rcpt_body BLOB;"
	  "ALTER TABLE quarantine ADD COLUMN rcpt_sig BLOB;"
	  "ALTER TABLE quarantine ADD COLUMN rcpt_cert BLOB;"
	  /* What was decided for (peer, id, content): found without reading a document. */
	  "CREATE INDEX quarantine_msg ON quarantine (peer, msg_id, payload_hash);" },
	/* Cases: a request opens one (ours when queued, theirs when received), each status
	 * document moves it, in the transaction of that message (storecase.c). case_docs is
	 * the index of the status documents by the request they answer (in_reply_to), with
	 * what the case made of each: applied, waiting for its request, void. */
	{ 6,
	  "CREATE TABLE cases ("
	  " id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, requester TEXT NOT NULL,"
	  " requested TEXT NOT NULL, dir INTEGER NOT NULL CHECK (dir IN (0, 1)),"
	  " kind INTEGER NOT NULL, urgent INTEGER NOT NULL CHECK (urgent IN (0, 1)),"
	  " state TEXT NOT NULL, consulted INTEGER NOT NULL DEFAULT 0,"
	  " requester_ref TEXT NOT NULL DEFAULT '', requested_ref TEXT NOT NULL DEFAULT '',"
	  " respond_by TEXT NOT NULL DEFAULT '',"
	  " opened_us INTEGER NOT NULL, updated_us INTEGER NOT NULL,"
	  " UNIQUE (request_id, requester));"
	  "CREATE TABLE case_docs ("
	  " id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, requester TEXT NOT NULL,"
	  " dir INTEGER NOT NULL CHECK (dir IN (0, 1)), sender TEXT NOT NULL,"
	  " msg_id TEXT NOT NULL, kind INTEGER NOT NULL, status INTEGER NOT NULL,"
	  " side TEXT NOT NULL CHECK (side IN ('requesting', 'requested')),"
	  " sequence INTEGER NOT NULL, reference TEXT NOT NULL DEFAULT '',"
	  " applied TEXT NOT NULL CHECK (applied IN ('applied', 'waiting', 'void')),"
	  " note TEXT NOT NULL DEFAULT '', ts_us INTEGER NOT NULL,"
	  " UNIQUE (dir, msg_id, sender));"
	  "CREATE INDEX case_docs_case ON case_docs (request_id, requester, sequence);" },
	/* The audit log: every event row is a leaf of an RFC 6962 Merkle tree, hashed in
	 * the same transaction (seq = leaf index + 1); the operator who caused an event is
	 * kept with it. audit_nodes keeps every complete subtree of 16^k leaves (k >= 1),
	 * so a proof reads at most 8 hashes per level; the frontier (meta audit_frontier)
	 * lets a restart go on without reading the tree. The origin keeps its signed
	 * checkpoints and the witnesses' cosignatures; as a witness it keeps the newest
	 * checkpoint of each origin, and both checkpoints of a fork. Rows from before are
	 * hashed once by the first start (meta audit_backfill, storeaudit.c). */
	{ 7,
	  "ALTER TABLE events ADD COLUMN actor_uid INTEGER;"
	  "ALTER TABLE events ADD COLUMN actor_user TEXT NOT NULL DEFAULT '';"
	  "ALTER TABLE events ADD COLUMN leaf BLOB CHECK (leaf IS NULL OR length(leaf) = 32);"
	  "CREATE TABLE audit_nodes (level INTEGER NOT NULL CHECK (level > 0),"
	  " idx INTEGER NOT NULL CHECK (idx >= 0), hash BLOB NOT NULL CHECK (length(hash) = 32),"
	  " PRIMARY KEY (level, idx)) WITHOUT ROWID;"
	  "CREATE TABLE audit_checkpoints (tree_size INTEGER PRIMARY KEY CHECK (tree_size > 0),"
	  " root BLOB NOT NULL CHECK (length(root) = 32), time_ms INTEGER NOT NULL,"
	  " body BLOB NOT NULL, sig BLOB NOT NULL, cert BLOB NOT NULL);"
	  "CREATE TABLE audit_cosignatures (tree_size INTEGER NOT NULL, witness TEXT NOT NULL,"
	  " root BLOB NOT NULL, time_ms INTEGER NOT NULL, body BLOB NOT NULL, sig BLOB NOT NULL,"
	  " cert BLOB NOT NULL, PRIMARY KEY (tree_size, witness));"
	  "CREATE TABLE audit_witnessed (origin TEXT PRIMARY KEY,"
	  " tree_size INTEGER NOT NULL CHECK (tree_size > 0),"
	  " root BLOB NOT NULL CHECK (length(root) = 32), time_ms INTEGER NOT NULL,"
	  " body BLOB NOT NULL, sig BLOB NOT NULL, cert BLOB NOT NULL, seen_us INTEGER NOT NULL,"
	  " forked_us INTEGER NOT NULL DEFAULT 0);"
	  "CREATE TABLE audit_forks (id INTEGER PRIMARY KEY, origin TEXT NOT NULL,"
	  " ts_us INTEGER NOT NULL, reason TEXT NOT NULL, held_body BLOB, held_sig BLOB,"
	  " held_cert BLOB, offered_body BLOB NOT NULL, offered_sig BLOB NOT NULL,"
	  " offered_cert BLOB NOT NULL, from_size INTEGER NOT NULL, proof BLOB);"
	  "INSERT INTO meta (key, value) VALUES ('audit_backfill', 1);" },
	/* Operators: authorities whose outbound messages an operator paused, and the alerts
	 * active now, both kept across restarts; an alert event names its alert; the event
	 * history is selected by time (rogatoryctl log --since/--until). */
	{ 8,
	  "CREATE TABLE paused (peer TEXT PRIMARY KEY CHECK (peer <> ''),"
	  " since_us INTEGER NOT NULL) WITHOUT ROWID;"
	  "CREATE TABLE alerts (name TEXT NOT NULL CHECK (name <> ''),"
	  " subject TEXT NOT NULL DEFAULT '', since_us INTEGER NOT NULL,"
	  " detail TEXT NOT NULL DEFAULT '', PRIMARY KEY (name, subject)) WITHOUT ROWID;"
	  "ALTER TABLE events ADD COLUMN alert TEXT NOT NULL DEFAULT '';"
	  "CREATE INDEX events_ts ON events (ts_us);" },
	/* Deadlines (clocks.h): received_us is when the requested authority received the
	 * request (its signed receipt's received_ms, on both sides; 0 until our request's
	 * receipt is in); ack_by_us and respond_base_us are computed then, respond_by_us is
	 * respond-by as it stands (a postponed status's estimate replaces it); 0 = none. The
	 * *_for columns hold the deadline each due-soon / overdue event was recorded for, so
	 * each is recorded once per case and clock, in the transaction of its event. A case
	 * from before keeps the requester's date as its respond-by (the rest is unknown),
	 * unless it is postponed: its estimate is only in the signed status document, so it
	 * has no respond-by rather than a false overdue at the date it was postponed from. */
	{ 9,
	  "ALTER TABLE cases ADD COLUMN received_us INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE cases ADD COLUMN ack_by_us INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE cases ADD COLUMN respond_base_us INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE cases ADD COLUMN respond_by_us INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE cases ADD COLUMN ack_soon_for INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE cases ADD COLUMN ack_over_for INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE cases ADD COLUMN respond_soon_for INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE cases ADD COLUMN respond_over_for INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE case_docs ADD COLUMN estimate TEXT NOT NULL DEFAULT '';"
	  "UPDATE cases SET respond_base_us = CAST(strftime('%s', respond_by, '+1 day') AS INTEGER)"
	  " * 1000000 WHERE respond_by <> '';"
	  "UPDATE cases SET respond_by_us = respond_base_us WHERE state <> 'postponed';"
	  "CREATE INDEX cases_ack ON cases (ack_by_us) WHERE ack_by_us > 0"
	  " AND state = 'requested';"
	  "CREATE INDEX cases_respond ON cases (respond_by_us) WHERE respond_by_us > 0"
	  " AND state NOT IN ('executed', 'refused', 'withdrawn', 'void');" },
	/* Proof of retrieval (PROTOCOL.md section 16, storeretr.c). dir 1: our signed
	 * evidence that an operator fetched a message we received, written in the
	 * transaction that marks it fetched, kept until its sender's receipt (receipted_us);
	 * dir 0: a recipient's evidence about a message we sent, with our receipt. One per
	 * message and peer, never replaced. */
	{ 10,
	  "CREATE TABLE retrievals (dir INTEGER NOT NULL CHECK (dir IN (0, 1)),"
	  " msg_id TEXT NOT NULL CHECK (msg_id <> ''), peer TEXT NOT NULL CHECK (peer <> ''),"
	  " payload_hash BLOB NOT NULL CHECK (length(payload_hash) = 32),"
	  " retrieved_ms INTEGER NOT NULL, actor_uid INTEGER NOT NULL,"
	  " actor_user TEXT NOT NULL DEFAULT '',"
	  " body BLOB NOT NULL, sig BLOB NOT NULL, cert BLOB NOT NULL,"
	  " rcpt_body BLOB, rcpt_sig BLOB, rcpt_cert BLOB, rcpt_outcome TEXT NOT NULL DEFAULT '',"
	  " created_us INTEGER NOT NULL, receipted_us INTEGER NOT NULL DEFAULT 0,"
	  " PRIMARY KEY (dir, msg_id, peer)) WITHOUT ROWID;"
	  "CREATE INDEX retrievals_unsent ON retrievals (peer) WHERE dir = 1 AND receipted_us = 0;" },
	/* Statistics (storestats.c): what a document names that SQL must count, kept beside
	 * the case as a JSON array of strings (json_each reads it): a request's offences
	 * (their names), a status document's coded reasons. NULL: not recorded (a case or
	 * document from before this version; its signed bytes are unchanged and still hold
	 * them). The delivered event of a request is its "received" for the requesting side:
	 * found through events_msg. */
	{ 11,
	  "ALTER TABLE cases ADD COLUMN offences TEXT"
	  " CHECK (offences IS NULL OR json_valid(offences));"
	  "ALTER TABLE case_docs ADD COLUMN reasons TEXT"
	  " CHECK (reasons IS NULL OR json_valid(reasons));"
	  "CREATE INDEX cases_opened ON cases (opened_us);" },
	/* Every deadline event recorded, by case, clock (0 acknowledge-by, 1 respond-by) and
	 * deadline: the *_for columns of cases hold only the marks of the deadline in force,
	 * and a respond-by that goes back to an earlier one (a postponement that never
	 * reached its peer) must not record that one's events again (storecase.c). */
	{ 12,
	  "CREATE TABLE case_marks (case_id INTEGER NOT NULL, clock INTEGER NOT NULL"
	  " CHECK (clock IN (0, 1)), due_us INTEGER NOT NULL, event TEXT NOT NULL"
	  " CHECK (event IN ('due-soon', 'overdue')), PRIMARY KEY (case_id, clock, due_us, event))"
	  " WITHOUT ROWID;"
	  "INSERT OR IGNORE INTO case_marks SELECT id, 0, ack_soon_for, 'due-soon' FROM cases"
	  " WHERE ack_soon_for > 0;"
	  "INSERT OR IGNORE INTO case_marks SELECT id, 0, ack_over_for, 'overdue' FROM cases"
	  " WHERE ack_over_for > 0;"
	  "INSERT OR IGNORE INTO case_marks SELECT id, 1, respond_soon_for, 'due-soon' FROM cases"
	  " WHERE respond_soon_for > 0;"
	  "INSERT OR IGNORE INTO case_marks SELECT id, 1, respond_over_for, 'overdue' FROM cases"
	  " WHERE respond_over_for > 0;"
	  /* The statistics of a period read messages by their creation time. */
	  "CREATE INDEX messages_created ON messages (created_us);" },
	/* The console's list of messages (store_messages_page): a page is a range of one
	 * index, read newest first from the cursor on and stopped at the page's end, for
	 * each combination of its filters (direction always, both directions merged from
	 * two ranges; the other end; the state): each key is the filters' columns, then id
	 * (the rowid: the order of the list) and msg_id (the id prefix is checked in the
	 * index). The other end is the recipient of dir 0 and the sender of dir 1: a
	 * partial index each, dir kept as a column so that they cover the query. */
	{ 13,
	  "CREATE INDEX messages_list ON messages (dir, id, msg_id);"
	  "CREATE INDEX messages_list_state ON messages (dir, state, id, msg_id);"
	  "CREATE INDEX messages_list_to ON messages (dir, recipient, id, msg_id) WHERE dir = 0;"
	  "CREATE INDEX messages_list_from ON messages (dir, sender, id, msg_id) WHERE dir = 1;"
	  "CREATE INDEX messages_list_to_state ON messages (dir, recipient, state, id, msg_id)"
	  " WHERE dir = 0;"
	  "CREATE INDEX messages_list_from_state ON messages (dir, sender, state, id, msg_id)"
	  " WHERE dir = 1;" },
	/* Attachments as files named by their SHA-256 (storeatt.c): a message's blob set
	 * names them by index; identical attachments share a file (attachments_sha: is a
	 * file still named?). The chunk rows of an older store are moved into files and the
	 * chunks table dropped by storeatt_open, after this step, crash-safely. */
	{ 14,
	  "CREATE TABLE attachments ("
	  " bset INTEGER NOT NULL CHECK (bset > 0), att INTEGER NOT NULL CHECK (att >= 0),"
	  " sha256 BLOB NOT NULL CHECK (length(sha256) = 32), size INTEGER NOT NULL"
	  " CHECK (size >= 0), PRIMARY KEY (bset, att)) WITHOUT ROWID;"
	  "CREATE INDEX attachments_sha ON attachments (sha256);" },
	/* The signed blobs (~2.5 KB a message) out of the row that every state change
	 * rewrites: the document (written at insert, again only by a re-signature) and the
	 * receipt (written once it exists), each in a table of its own keyed by the message's
	 * rowid. Messages are never deleted, so nothing else keeps the two in step. */
	{ 15,
	  "CREATE TABLE message_docs (msg INTEGER PRIMARY KEY, body BLOB, sig BLOB, cert BLOB);"
	  "CREATE TABLE message_receipts (msg INTEGER PRIMARY KEY, body BLOB, sig BLOB,"
	  " cert BLOB);"
	  "INSERT INTO message_docs (msg, body, sig, cert) SELECT id, doc_body, doc_sig, doc_cert"
	  " FROM messages WHERE doc_body IS NOT NULL OR doc_sig IS NOT NULL"
	  " OR doc_cert IS NOT NULL;"
	  "INSERT INTO message_receipts (msg, body, sig, cert) SELECT id, rcpt_body, rcpt_sig,"
	  " rcpt_cert FROM messages WHERE rcpt_body IS NOT NULL OR rcpt_sig IS NOT NULL"
	  " OR rcpt_cert IS NOT NULL;"
	  "ALTER TABLE messages DROP COLUMN doc_body; ALTER TABLE messages DROP COLUMN doc_sig;"
	  "ALTER TABLE messages DROP COLUMN doc_cert; ALTER TABLE messages DROP COLUMN rcpt_body;"
	  "ALTER TABLE messages DROP COLUMN rcpt_sig; ALTER TABLE messages DROP COLUMN rcpt_cert;"
	  /* messages_list_state (dir, state, id, msg_id) of schema 13 serves every query of
	   * (dir, state) in the same order: one index fewer for each insert and state change. */
	  "DROP INDEX messages_state;" },
	/* The outbox's two partial indexes with their condition written as ORs (see
	 * OUTBOX_WHERE): the same rows, without a temporary table per evaluation. */
	{ 16,
	  "DROP INDEX messages_outbox; DROP INDEX messages_due;"
	  "CREATE INDEX messages_outbox ON messages (recipient, urgent, id, next_attempt_us)"
	  " WHERE " OUTBOX_WHERE ";"
	  "CREATE INDEX messages_due ON messages (recipient, next_attempt_us, dir, state)"
	  " WHERE " OUTBOX_WHERE ";" },
};
#define STORE_MIGRATIONS (sizeof(store_migrations) / sizeof(store_migrations[0]))

/* Writer statements (store thread), prepared once per connection; ids in storedb.h. */
static const char *const w_sql[W_COUNT] = {
	[W_BEGIN] = "BEGIN IMMEDIATE",
	[W_COMMIT] = "COMMIT",
	[W_ROLLBACK] = "ROLLBACK",
	[W_SAVEPOINT] = "SAVEPOINT op",
	[W_RELEASE] = "RELEASE op",
	[W_ROLLBACK_TO] = "ROLLBACK TO op",
	[W_FIND] = "SELECT id, state, recipient, attempts, submit_hash, payload_hash, fetched,"
	    " created_us"
	    " FROM messages WHERE dir = ?1 AND sender = ?2 AND msg_id = ?3",
	[W_ROW] = "SELECT " MSG_COLS MSG_BLOBS " FROM " MSG_FROM " WHERE id = ?1",
	[W_INSERT] = "INSERT INTO messages (dir, msg_id, sender, recipient, kind, urgent, state,"
	    " attempts, created_us, updated_us, next_attempt_us, expire_at_us, fetched,"
	    " submit_hash, payload_hash, last_error, bset, size) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " ?6, ?7, 0, ?8, ?9, ?10, ?11, 0, ?12, ?13, ?14, ?15, ?16)",
	/* The small columns only: the blobs are written by W_DOC_PUT / W_RCPT_PUT. */
	[W_UPDATE] = "UPDATE messages SET state = ?2, updated_us = ?3,"
	    " attempts = CASE WHEN ?4 THEN ?5 ELSE attempts END,"
	    " next_attempt_us = CASE WHEN ?6 THEN ?7 ELSE next_attempt_us END,"
	    " last_error = CASE WHEN ?8 THEN ?9 ELSE last_error END,"
	    " fetched = CASE WHEN ?10 THEN ?11 ELSE fetched END,"
	    " payload_hash = CASE WHEN ?12 THEN ?13 ELSE payload_hash END WHERE id = ?1",
	[W_DOC_PUT] = "INSERT OR REPLACE INTO message_docs (msg, body, sig, cert)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[W_DOC_DROP] = "DELETE FROM message_docs WHERE msg = ?1",
	[W_RCPT_PUT] = "INSERT OR REPLACE INTO message_receipts (msg, body, sig, cert)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[W_RCPT_DROP] = "DELETE FROM message_receipts WHERE msg = ?1",
	[W_EVENT] = "INSERT INTO events (seq, ts_us, event, msg_id, peer, dir, state, attempt,"
	    " bytes, reason, actor_uid, actor_user, leaf, alert) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
	    " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	[W_QUARANTINE] = "INSERT INTO quarantine (ts_us, peer, msg_id, reason, doc_body, doc_sig,"
	    " doc_cert, payload_hash, rcpt_body, rcpt_sig, rcpt_cert) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " ?6, ?7, ?8, ?9, ?10, ?11)",
	[W_QUARANTINE_SAME] = QSAME_SQL,
	[W_QUARANTINE_OTHER] = QOTHER_SQL,
	[W_QUARANTINE_RELEASE] = "UPDATE quarantine SET released_us = ?2 WHERE id = ?1"
	    " AND released_us = 0 RETURNING peer, msg_id, " QBYTES,
	[W_QUARANTINE_ROW] = "SELECT released_us FROM quarantine WHERE id = ?1",
	[W_MARK] = "INSERT INTO meta (key, value) VALUES ('log_seq', ?1)"
	    " ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
	[W_ATT_REF] = "INSERT OR REPLACE INTO attachments (bset, att, sha256, size)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[W_PAGES] = "PRAGMA page_count",
	[W_AUDIT_NODE] = "INSERT INTO audit_nodes (level, idx, hash) VALUES (?1, ?2, ?3)",
	[W_AUDIT_FRONTIER] = "INSERT INTO meta (key, value) VALUES ('audit_frontier', ?1)"
	    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[W_AUDIT_READ_FRONTIER] = "SELECT value FROM meta WHERE key = 'audit_frontier'",
	[W_AUDIT_BACKFILL] = "SELECT 1 FROM meta WHERE key = 'audit_backfill'",
	[W_AUDIT_BACKFILL_DONE] = "DELETE FROM meta WHERE key = 'audit_backfill'",
	[W_AUDIT_ALL_EVENTS] = "SELECT " EV_COLS " FROM events ORDER BY seq",
	[W_AUDIT_SET_LEAF] = "UPDATE events SET leaf = ?2 WHERE seq = ?1",
	[W_AUDIT_LAST_SEQ] = "SELECT coalesce(max(seq), 0), count(*) FROM events",
	[W_AUDIT_CHECKPOINT] = "INSERT INTO audit_checkpoints (" CP_COLS ") VALUES (?1, ?2, ?3,"
	    " ?4, ?5, ?6)",
	[W_AUDIT_COSIGNATURE] = "INSERT INTO audit_cosignatures (tree_size, witness, root,"
	    " time_ms, body, sig, cert) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	    " ON CONFLICT (tree_size, witness) DO NOTHING",
	[W_AUDIT_WITNESS] = "INSERT INTO audit_witnessed (origin, " CP_COLS ", seen_us)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (origin) DO UPDATE SET"
	    " tree_size = excluded.tree_size, root = excluded.root, time_ms = excluded.time_ms,"
	    " body = excluded.body, sig = excluded.sig, cert = excluded.cert,"
	    " seen_us = excluded.seen_us WHERE excluded.tree_size >= audit_witnessed.tree_size",
	[W_AUDIT_FORK] = "INSERT INTO audit_forks (origin, ts_us, reason, held_body, held_sig,"
	    " held_cert, offered_body, offered_sig, offered_cert, from_size, proof)"
	    " VALUES (?1, ?2, ?3, (SELECT body FROM audit_witnessed WHERE origin = ?1),"
	    " (SELECT sig FROM audit_witnessed WHERE origin = ?1),"
	    " (SELECT cert FROM audit_witnessed WHERE origin = ?1), ?4, ?5, ?6, ?7, ?8)",
	[W_AUDIT_FORK_MARK] = "UPDATE audit_witnessed SET forked_us = ?2 WHERE origin = ?1"
	    " AND forked_us = 0",
	[W_PAUSE] = "INSERT INTO paused (peer, since_us) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	[W_RESUME] = "DELETE FROM paused WHERE peer = ?1",
	[W_ALERT_FIRE] = "INSERT INTO alerts (name, subject, since_us, detail)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	[W_ALERT_CLEAR] = "DELETE FROM alerts WHERE name = ?1 AND subject = ?2",
};

/* Reader statements (loop thread, read-only connection); ids in storedb.h. */
static const char *const r_sql[R_COUNT] = {
	/* A status document of ours waits while an earlier one of ours in the same case is
	 * still open (not yet answered, even retrying): the peer gets a case's documents in
	 * our sequence order, so a retry cannot make the two sides apply them differently. */
	[R_OUTBOX] = "SELECT " MSG_COLS MSG_BLOB_LENS " FROM " MSG_FROM " WHERE " OUTBOX_WHERE
	    " AND recipient = ?1 AND urgent = ?2 AND id > ?3 AND next_attempt_us <= ?4"
	    " AND NOT EXISTS (SELECT 1 FROM case_docs d JOIN case_docs e"
	    " ON e.request_id = d.request_id AND e.requester = d.requester AND e.dir = 0"
	    " AND e.sender = d.sender AND e.sequence < d.sequence"
	    " JOIN messages o ON o.dir = 0 AND o.msg_id = e.msg_id AND o.sender = e.sender"
	    " AND o.state IN " OPEN_OUT
	    " WHERE d.dir = 0 AND d.msg_id = messages.msg_id AND d.sender = messages.sender)"
	    " ORDER BY id LIMIT ?5",
	[R_URGENT] = "SELECT urgent FROM messages WHERE id = ?1",
	/* Index-only (messages_due): every tick reads these few columns, never a row. */
	[R_PEERS] = "SELECT recipient, min(next_attempt_us) FROM messages INDEXED BY messages_due"
	    " WHERE " OUTBOX_WHERE " GROUP BY recipient ORDER BY recipient",
	[R_LIST_STATE] = "SELECT " MSG_COLS MSG_NO_BLOBS " FROM messages WHERE dir = 0"
	    " AND state = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
	/* +?1: a bare ?1 against the partial indexes' dir = 0 / dir = 1 makes SQLite plan
	 * with its value and prepare the statement again at each new binding (~50 µs a
	 * lookup, one per Transfer received); the unary + keeps the plan value-free. */
	[R_GET] = "SELECT " MSG_COLS MSG_BLOBS " FROM " MSG_FROM
	    " WHERE dir = +?1 AND sender = ?2 AND msg_id = ?3",
	[R_GET_ANY] = "SELECT " MSG_COLS MSG_BLOBS " FROM " MSG_FROM
	    " WHERE dir = +?1 AND msg_id = ?2 ORDER BY id LIMIT 1",
	[R_LIST] = "SELECT " MSG_COLS MSG_NO_BLOBS " FROM messages WHERE dir BETWEEN ?1 AND ?2"
	    " AND id < ?3 AND (?4 = 0 OR (dir = 0 AND state IN " OPEN_OUT ")"
	    " OR (dir = 1 AND fetched = 0)) ORDER BY id DESC LIMIT ?5",
	[R_EVENTS_SINCE] = "SELECT " EV_COLS " FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
	[R_EVENTS_OF] = "SELECT " EV_COLS " FROM events WHERE msg_id = ?1 ORDER BY seq LIMIT ?2",
	[R_LOG_MARK] = "SELECT value FROM meta WHERE key = 'log_seq'",
	[R_LAST_SEQ] = "SELECT coalesce(max(seq), 0) FROM events",
	/* The file of attachment att of a blob set. */
	[R_ATT] = "SELECT sha256, size FROM attachments WHERE bset = ?1 AND att = ?2",
	[R_MAX_BSET] = "SELECT max(coalesce((SELECT max(bset) FROM messages), 0),"
	    " coalesce((SELECT max(bset) FROM attachments), 0))",
	[R_UNSETTLED] = "SELECT coalesce((SELECT sum(size) FROM messages WHERE dir = 1"
	    " AND fetched = 0 AND sender = ?1), 0) + coalesce((SELECT sum(" QBYTES ")"
	    " FROM quarantine WHERE peer = ?1 AND released_us = 0), 0)",
	[R_QUARANTINE] = "SELECT id, ts_us, peer, msg_id, reason, " QBYTES ", released_us"
	    " FROM quarantine WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
	[R_QUARANTINE_SAME] = QSAME_SQL,
	[R_QUARANTINE_OTHER] = QOTHER_SQL,
	[R_AUDIT_FRONTIER] = "SELECT value FROM meta WHERE key = 'audit_frontier'",
	[R_AUDIT_LEAF] = "SELECT leaf FROM events WHERE seq = ?1",
	[R_AUDIT_NODE] = "SELECT hash FROM audit_nodes WHERE level = ?1 AND idx = ?2",
	[R_AUDIT_CHECKPOINTS] = "SELECT " CP_COLS ", '', 0, 0 FROM audit_checkpoints"
	    " WHERE tree_size <= ?1 ORDER BY tree_size DESC LIMIT ?2",
	[R_AUDIT_CHECKPOINTS_AFTER] = "SELECT " CP_COLS ", '', 0, 0 FROM audit_checkpoints"
	    " WHERE tree_size > ?1 ORDER BY tree_size LIMIT ?2",
	/* The oldest checkpoint covering a size that a witness cosigned, else the oldest:
	 * the smallest proof, and one that newer checkpoints never replace (an export asks
	 * for it once per file and compares). */
	[R_AUDIT_COVERING] = "SELECT " CP_COLS ", '', 0, 0 FROM audit_checkpoints c"
	    " WHERE tree_size >= ?1 ORDER BY EXISTS (SELECT 1 FROM audit_cosignatures w"
	    " WHERE w.tree_size = c.tree_size) DESC, tree_size LIMIT 1",
	[R_AUDIT_COSIGNATURES] = "SELECT tree_size, root, time_ms, body, sig, cert, witness, 0, 0"
	    " FROM audit_cosignatures WHERE tree_size = ?1 ORDER BY witness LIMIT ?2",
	[R_AUDIT_COSIGNED_BY] = "SELECT witness, max(tree_size), count(*) FROM audit_cosignatures"
	    " GROUP BY witness ORDER BY witness",
	[R_AUDIT_WITNESSED] = "SELECT " CP_COLS ", origin, seen_us, forked_us FROM audit_witnessed"
	    " WHERE ?1 = '' OR origin = ?1 ORDER BY origin LIMIT ?2",
	[R_AUDIT_FORKS] = "SELECT count(*) FROM audit_forks",
	/* The operators' listing: unset filters are '' or 0. */
	[R_LIST_FILTER] = "SELECT " MSG_COLS MSG_NO_BLOBS " FROM messages WHERE dir BETWEEN ?1"
	    " AND ?2 AND id < ?3 AND (?4 = 0 OR (dir = 0 AND state IN " OPEN_OUT ")"
	    " OR (dir = 1 AND fetched = 0))"
	    " AND (?5 = '' OR (dir = 0 AND recipient = ?5) OR (dir = 1 AND sender = ?5))"
	    " AND (?6 = '' OR state = ?6) AND (?7 = 0 OR created_us <= ?7)"
	    " AND (?8 = 0 OR fetched = 0) ORDER BY id DESC LIMIT ?9",
	/* The console's pages (store_messages_page): the rowids from one index of schema 13
	 * alone, a range from the cursor down (its key ends with id), then those rows; both
	 * directions: the two ranges merged (MERGE (UNION ALL), no sort); the newest of all
	 * through the rowid (R_MSG_NEWEST). dir is a literal so that the partial indexes
	 * apply. msg_id is [0-9a-f-]: '~' is above every one. Index R_MSG_PAGE + MSG_PAGE_K. */
#define ML_ARM(ix, d, extra) "SELECT id FROM messages INDEXED BY " ix " WHERE dir = " d extra \
	    " AND id < ?3 AND msg_id >= ?5 AND msg_id < ?6"
#define ML_OUT "messages_list", "0", ""
#define ML_OUT_S "messages_list_state", "0", " AND state = ?8"
#define ML_OUT_P "messages_list_to", "0", " AND recipient = ?4"
#define ML_OUT_PS "messages_list_to_state", "0", " AND recipient = ?4 AND state = ?8"
#define ML_IN "messages_list", "1", ""
#define ML_IN_S "messages_list_state", "1", " AND state = ?8"
#define ML_IN_P "messages_list_from", "1", " AND sender = ?4"
#define ML_IN_PS "messages_list_from_state", "1", " AND sender = ?4 AND state = ?8"
#define ML_ONE(...) ML_ARM(__VA_ARGS__)
#define ML_PAGE(body) "SELECT " MSG_COLS MSG_NO_BLOBS " FROM messages WHERE id IN (" body \
	    " ORDER BY id DESC LIMIT ?7) ORDER BY id DESC"
#define ML_BOTH(o, i) ML_PAGE(ML_ONE(o) " UNION ALL " ML_ONE(i))
	[R_MSG_PAGE + MSG_PAGE_K(STORE_OUT, false, false)] = ML_PAGE(ML_ONE(ML_OUT)),
	[R_MSG_PAGE + MSG_PAGE_K(STORE_OUT, false, true)] = ML_PAGE(ML_ONE(ML_OUT_S)),
	[R_MSG_PAGE + MSG_PAGE_K(STORE_OUT, true, false)] = ML_PAGE(ML_ONE(ML_OUT_P)),
	[R_MSG_PAGE + MSG_PAGE_K(STORE_OUT, true, true)] = ML_PAGE(ML_ONE(ML_OUT_PS)),
	[R_MSG_PAGE + MSG_PAGE_K(STORE_IN, false, false)] = ML_PAGE(ML_ONE(ML_IN)),
	[R_MSG_PAGE + MSG_PAGE_K(STORE_IN, false, true)] = ML_PAGE(ML_ONE(ML_IN_S)),
	[R_MSG_PAGE + MSG_PAGE_K(STORE_IN, true, false)] = ML_PAGE(ML_ONE(ML_IN_P)),
	[R_MSG_PAGE + MSG_PAGE_K(STORE_IN, true, true)] = ML_PAGE(ML_ONE(ML_IN_PS)),
	[R_MSG_PAGE + MSG_PAGE_K(STORE_DIR_ANY, false, false)] = ML_BOTH(ML_OUT, ML_IN),
	[R_MSG_PAGE + MSG_PAGE_K(STORE_DIR_ANY, false, true)] = ML_BOTH(ML_OUT_S, ML_IN_S),
	[R_MSG_PAGE + MSG_PAGE_K(STORE_DIR_ANY, true, false)] = ML_BOTH(ML_OUT_P, ML_IN_P),
	[R_MSG_PAGE + MSG_PAGE_K(STORE_DIR_ANY, true, true)] = ML_BOTH(ML_OUT_PS, ML_IN_PS),
#undef ML_BOTH
#undef ML_PAGE
#undef ML_ONE
#undef ML_IN_PS
#undef ML_IN_P
#undef ML_IN_S
#undef ML_IN
#undef ML_OUT_PS
#undef ML_OUT_P
#undef ML_OUT_S
#undef ML_OUT
#undef ML_ARM
	[R_MSG_NEWEST] = "SELECT " MSG_COLS MSG_NO_BLOBS " FROM messages WHERE id < ?1"
	    " ORDER BY id DESC LIMIT ?2",
	/* Event history in a seq range (times were turned into seqs by R_SEQ_*), the first
	 * or the last LIMIT; by message id through its index. */
#define EV_FILTER " AND (?3 = '' OR peer = ?3) AND (?4 = '' OR event = ?4)"
	[R_EVENTS_FILTER] = "SELECT " EV_COLS " FROM events WHERE seq > ?1 AND seq <= ?2"
	    EV_FILTER " ORDER BY seq LIMIT ?5",
	[R_EVENTS_LAST] = "SELECT " EV_COLS " FROM events WHERE seq > ?1 AND seq <= ?2"
	    EV_FILTER " ORDER BY seq DESC LIMIT ?5",
	[R_EVENTS_ID] = "SELECT " EV_COLS " FROM events WHERE msg_id = ?6 AND seq > ?1"
	    " AND seq <= ?2" EV_FILTER " ORDER BY seq LIMIT ?5",
	[R_EVENTS_ID_LAST] = "SELECT " EV_COLS " FROM events WHERE msg_id = ?6 AND seq > ?1"
	    " AND seq <= ?2" EV_FILTER " ORDER BY seq DESC LIMIT ?5",
#undef EV_FILTER
	/* Through events_ts: the first event at or after a time, the last before one. */
	[R_SEQ_FROM] = "SELECT seq FROM events WHERE ts_us >= ?1 ORDER BY ts_us, seq LIMIT 1",
	[R_SEQ_UNTIL] = "SELECT seq FROM events WHERE ts_us < ?1 ORDER BY ts_us DESC, seq DESC"
	    " LIMIT 1",
	[R_QUEUE_STATS] = "SELECT recipient, state, count(*), min(created_us) FROM messages"
	    " WHERE dir = 0 AND state IN " OPEN_OUT " GROUP BY recipient, state"
	    " ORDER BY recipient, state",
	[R_INBOX_STATS] = "SELECT sender, count(*) FROM messages WHERE dir = 1 AND fetched = 0"
	    " GROUP BY sender ORDER BY sender",
	[R_PAGES] = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
	[R_PAUSED] = "SELECT peer, since_us FROM paused ORDER BY since_us, peer",
	[R_ALERTS] = "SELECT name, subject, since_us, detail FROM alerts"
	    " ORDER BY since_us, name, subject LIMIT ?1",
};

static const char *const state_names[STORE_STATE_COUNT] = {
	"queued", "sending", "retrying", "delivered", "rejected", "failed", "expired",
	"unconfirmed", "cancelled", "received",
};
static const char *const result_names[] = {
	"ok", "exists", "conflict", "not-found", "stale", "full", "error", "illegal",
};

static int pragma_int(sqlite3 *db, const char *sql, int64_t *out);
static int store_create_file(const char *path, const char *dir, char *err, size_t errlen);
static int store_quick_check(sqlite3 *db, char *qc, size_t qclen);
static int store_probe(const char *path, char *err, size_t errlen);
static int store_open_writer(struct store *s, char *err, size_t errlen);
static int store_migrate(struct store *s, char *err, size_t errlen);
static void store_free(struct store *s);

/* ---- helpers ---- */

int64_t
store_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

sqlite3_stmt *
store_stmt_get(sqlite3 *db, sqlite3_stmt **cache, const char *const *sql, int id)
{
	if (cache[id] == NULL &&
	    sqlite3_prepare_v3(db, sql[id], -1, SQLITE_PREPARE_PERSISTENT, &cache[id], NULL)
	    != SQLITE_OK)
		return NULL;
	return cache[id];
}

sqlite3_stmt *
store_wstmt(struct store *s, int id)
{
	return store_stmt_get(s->w, s->wst, w_sql, id);
}

sqlite3_stmt *
store_rstmt(struct store *s, int id)
{
	return store_stmt_get(s->r, s->rst, r_sql, id);
}

/* NULL stays NULL (no receipt yet); the caller's bytes outlive the statement's use. */
void
store_bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t len)
{
	if (p == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_blob64(st, i, p, len, SQLITE_STATIC);
}

void
store_col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(dst, cap, "%s", t != NULL ? (const char *)t : "");
}

int
store_col_blob(sqlite3_stmt *st, int i, uint8_t **dst, size_t *len)
{
	const void *p = sqlite3_column_blob(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	*dst = NULL;
	*len = 0;
	if (p == NULL)
		return 0;
	if ((*dst = malloc(n > 0 ? n : 1)) == NULL)
		return -1;
	memcpy(*dst, p, n);
	*len = n;
	return 0;
}

void
store_col_hash(sqlite3_stmt *st, int i, uint8_t dst[STORE_HASH_LEN])
{
	const void *p = sqlite3_column_blob(st, i);
	int n = sqlite3_column_bytes(st, i);
	memset(dst, 0, STORE_HASH_LEN);
	if (p != NULL)
		memcpy(dst, p, n < STORE_HASH_LEN ? (size_t)n : STORE_HASH_LEN);
}

/* One row of MSG_COLS + blobs (or MSG_BLOB_LENS) into m (zeroed first). -1: out of
 * memory, m cleared. */
int
store_msg_from_row(sqlite3_stmt *st, struct store_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->rowid = sqlite3_column_int64(st, 0);
	m->dir = sqlite3_column_int(st, 1) == STORE_IN ? STORE_IN : STORE_OUT;
	store_col_text(st, 2, m->msg_id, sizeof(m->msg_id));
	store_col_text(st, 3, m->sender, sizeof(m->sender));
	store_col_text(st, 4, m->recipient, sizeof(m->recipient));
	m->kind = sqlite3_column_int(st, 5);
	m->urgent = sqlite3_column_int(st, 6) != 0;
	const unsigned char *state = sqlite3_column_text(st, 7);
	if (state == NULL || store_state_parse((const char *)state, &m->state) != 0)
		m->state = STORE_FAILED;
	m->attempts = (uint32_t)sqlite3_column_int64(st, 8);
	m->created_us = sqlite3_column_int64(st, 9);
	m->updated_us = sqlite3_column_int64(st, 10);
	m->next_attempt_us = sqlite3_column_int64(st, 11);
	m->expire_at_us = sqlite3_column_int64(st, 12);
	m->fetched = sqlite3_column_int(st, 13) != 0;
	store_col_hash(st, 14, m->submit_hash);
	store_col_hash(st, 15, m->payload_hash);
	store_col_text(st, 16, m->last_error, sizeof(m->last_error));
	m->bset = sqlite3_column_int64(st, 17);
	m->size = (uint64_t)sqlite3_column_int64(st, 18);
	if (sqlite3_column_type(st, 19) == SQLITE_INTEGER) {  /* MSG_BLOB_LENS */
		size_t *len[] = {&m->doc_body_len, &m->doc_sig_len, &m->doc_cert_len,
		    &m->rcpt_body_len, &m->rcpt_sig_len, &m->rcpt_cert_len};
		for (int i = 0; i < 6; i++)
			*len[i] = (size_t)sqlite3_column_int64(st, 19 + i);
		return 0;
	}
	if (store_col_blob(st, 19, &m->doc_body, &m->doc_body_len) != 0 ||
	    store_col_blob(st, 20, &m->doc_sig, &m->doc_sig_len) != 0 ||
	    store_col_blob(st, 21, &m->doc_cert, &m->doc_cert_len) != 0 ||
	    store_col_blob(st, 22, &m->rcpt_body, &m->rcpt_body_len) != 0 ||
	    store_col_blob(st, 23, &m->rcpt_sig, &m->rcpt_sig_len) != 0 ||
	    store_col_blob(st, 24, &m->rcpt_cert, &m->rcpt_cert_len) != 0) {
		store_msg_clear(m);
		return -1;
	}
	return 0;
}

/* One row of EV_COLS into e (zeroed first). */
void
store_event_from_row(sqlite3_stmt *st, struct store_event *e)
{
	memset(e, 0, sizeof(*e));
	e->seq = sqlite3_column_int64(st, 0);
	e->ts_us = sqlite3_column_int64(st, 1);
	store_col_text(st, 2, e->event, sizeof(e->event));
	store_col_text(st, 3, e->msg_id, sizeof(e->msg_id));
	store_col_text(st, 4, e->peer, sizeof(e->peer));
	e->dir = sqlite3_column_int(st, 5) == STORE_IN ? STORE_IN : STORE_OUT;
	store_col_text(st, 6, e->state, sizeof(e->state));
	e->attempt = (uint32_t)sqlite3_column_int64(st, 7);
	e->bytes = (uint64_t)sqlite3_column_int64(st, 8);
	store_col_text(st, 9, e->reason, sizeof(e->reason));
	e->has_actor = sqlite3_column_type(st, 10) != SQLITE_NULL;
	e->actor_uid = (uint32_t)sqlite3_column_int64(st, 10);
	store_col_text(st, 11, e->actor_user, sizeof(e->actor_user));
	store_col_hash(st, 12, e->leaf);
	store_col_text(st, 13, e->alert, sizeof(e->alert));
}

/* Steps a bound one-row statement: 1 a row (left unreset for reading), 0 none, -1. */
static int
q_step(sqlite3_stmt *st, const char *peer, const char *msg_id, const uint8_t *hash)
{
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, msg_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, hash, STORE_HASH_LEN, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
store_quarantine_lookup(sqlite3_stmt *same, sqlite3_stmt *other, const char *peer,
    const char *msg_id, const uint8_t hash[STORE_HASH_LEN], struct store_msg *out)
{
	int ret = q_step(same, peer, msg_id, hash);
	if (ret == 1) {
		out->dir = STORE_IN;
		out->refused = true;
		memcpy(out->payload_hash, hash, STORE_HASH_LEN);
		snprintf(out->msg_id, sizeof(out->msg_id), "%s", msg_id);
		snprintf(out->sender, sizeof(out->sender), "%s", peer);
		if (store_col_blob(same, 0, &out->rcpt_body, &out->rcpt_body_len) != 0 ||
		    store_col_blob(same, 1, &out->rcpt_sig, &out->rcpt_sig_len) != 0 ||
		    store_col_blob(same, 2, &out->rcpt_cert, &out->rcpt_cert_len) != 0) {
			store_msg_clear(out);
			ret = -1;
		} else {
			ret = STORE_SETTLED_SAME;
		}
	} else if (ret == 0) {
		ret = q_step(other, peer, msg_id, hash);
		ret = ret == 1 ? STORE_SETTLED_OTHER : ret == 0 ? STORE_SETTLED_NONE : -1;
		sqlite3_reset(other);
		sqlite3_clear_bindings(other);
	}
	sqlite3_reset(same);
	sqlite3_clear_bindings(same);
	return ret;
}

/* A one-value PRAGMA (or query); SQLite's result code. */
static int
pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- open and close ---- */

/* Creates the file 0600 ourselves (SQLite would use 0644 & ~umask, and its -wal/-shm
 * copy the main file's mode), then makes the new name durable. An existing file is kept. */
static int
store_create_file(const char *path, const char *dir, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1) {
		struct stat st;
		if (errno != EEXIST)
			return err_set(err, errlen, "cannot create database %s: %s", path,
			    strerror(errno));
		if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
			log_warn("database %s has mode %04o; it should be 0600", path,
			    (unsigned)(st.st_mode & 07777));
		return 0;
	}
	close(fd);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 || fsync(dfd) == -1) {
		err_set(err, errlen, "cannot sync %s after creating %s: %s", dir, path,
		    strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}

/* PRAGMA quick_check's findings, "; "-separated, into qc ("ok" when clean); SQLite's
 * result code (SQLITE_DONE when the check ran to its end). */
static int
store_quick_check(sqlite3 *db, char *qc, size_t qclen)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(4)", -1, &st, NULL);
	qc[0] = '\0';
	if (rc != SQLITE_OK) {
		snprintf(qc, qclen, "%s", sqlite3_errmsg(db));
		return rc;
	}
	while ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		/* A row is a finding; an error ends the check and is the last finding. */
		const char *line = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) :
		    sqlite3_errmsg(db);
		size_t used = strlen(qc);
		/* "*** in database main ***" only says which attached file: ours. It may be a
		 * row of its own or the first line of a finding. */
		if (line != NULL && strncmp(line, "*** in database", 15) == 0) {
			const char *nl = strchr(line, '\n');
			line = nl != NULL && nl[1] != '\0' ? nl + 1 : NULL;
		}
		if (line != NULL)
			snprintf(qc + used, qclen - used, "%s%s", used > 0 ? "; " : "", line);
		if (rc != SQLITE_ROW)
			break;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Looks at the file through a read-only connection before anything may write to it:
 * opening read-write could replay a journal and closing could checkpoint, and either
 * would change a file we are about to refuse. On refusal the empty -wal/-shm that the
 * look itself created are removed again, so the folder is as we found it.
 */
static int
store_probe(const char *path, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int64_t version = 0, app = 0;
	char qc[512] = "", wal[PATH_MAX + 8], shm[PATH_MAX + 8];
	int ret = -1;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	bool had_wal = access(wal, F_OK) == 0, had_shm = access(shm, F_OK) == 0;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		err_set(err, errlen, "cannot open database %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_busy_timeout(db, STORE_BUSY_MS);
	if ((rc = pragma_int(db, "PRAGMA user_version", &version)) != SQLITE_OK ||
	    (rc = pragma_int(db, "PRAGMA application_id", &app)) != SQLITE_OK) {
		snprintf(qc, sizeof(qc), "%s", sqlite3_errmsg(db));
		goto bad;
	}
	if (version > STORE_SCHEMA_VERSION) {
		err_set(err, errlen, "database %s has schema version %" PRId64 "; this rogatoryd "
		    "knows up to %d; refusing to touch it", path, version, STORE_SCHEMA_VERSION);
		goto out;
	}
	if (app != 0 && app != STORE_APPLICATION_ID) {
		err_set(err, errlen, "database %s belongs to another application (application_id "
		    "%" PRId64 "); refusing to touch it", path, app);
		goto out;
	}
	rc = store_quick_check(db, qc, sizeof(qc));
	if (rc == SQLITE_DONE && strcmp(qc, "ok") == 0) {
		ret = 0;
		goto out;
	}
bad:
	if (rc == SQLITE_DONE || (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
		err_set(err, errlen, "database %s is corrupt (quick_check: %s); it was not "
		    "modified", path, qc);
	else
		err_set(err, errlen, "cannot read database %s: %s", path, qc);
out:
	sqlite3_close(db);
	struct stat st;
	if (ret != 0 && !had_wal && stat(wal, &st) == 0 && st.st_size == 0) {
		unlink(wal);
		if (!had_shm)
			unlink(shm);
	}
	return ret;
}

static int
store_open_writer(struct store *s, char *err, size_t errlen)
{
	int64_t wal = 0;
	int rc = sqlite3_open_v2(s->path, &s->w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
	    NULL);
	if (rc != SQLITE_OK)
		return err_set(err, errlen, "cannot open database %s: %s", s->path,
		    s->w != NULL ? sqlite3_errmsg(s->w) : sqlite3_errstr(rc));
	sqlite3_busy_timeout(s->w, STORE_BUSY_MS);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->w, "PRAGMA journal_mode = WAL", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			wal = sqlite3_stricmp((const char *)sqlite3_column_text(st, 0),
			    "wal") == 0;
		sqlite3_finalize(st);
	}
	if (!wal)
		return err_set(err, errlen, "database %s: cannot switch to WAL mode: %s", s->path,
		    sqlite3_errmsg(s->w));
	if (sqlite3_exec(s->w, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
	    NULL, NULL, NULL) != SQLITE_OK ||
	    pragma_int(s->w, "PRAGMA page_size", &s->page_size) != SQLITE_OK ||
	    pragma_int(s->w, "PRAGMA max_page_count", &s->default_max_pages) != SQLITE_OK)
		return err_set(err, errlen, "database %s: %s", s->path, sqlite3_errmsg(s->w));
	return store_migrate(s, err, errlen);
}

static int
store_migrate(struct store *s, char *err, size_t errlen)
{
	int64_t version = 0;
	if (pragma_int(s->w, "PRAGMA user_version", &version) != SQLITE_OK)
		return err_set(err, errlen, "database %s: %s", s->path, sqlite3_errmsg(s->w));
	/* Checked again here: another process may have upgraded it since the probe. */
	if (version > STORE_SCHEMA_VERSION)
		return err_set(err, errlen, "database %s has schema version %" PRId64 "; this "
		    "rogatoryd knows up to %d; refusing to touch it", s->path, version,
		    STORE_SCHEMA_VERSION);
	int64_t from = version;
	for (size_t i = 0; i < STORE_MIGRATIONS; i++) {
		int to = store_migrations[i].version;
		if (to <= version)
			continue;
		char bump[64];
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", to);
		if (sqlite3_exec(s->w, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->w, store_migrations[i].sql, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->w, bump, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->w, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			err_set(err, errlen, "database %s: migration to schema version %d "
			    "failed: %s", s->path, to, sqlite3_errmsg(s->w));
			if (!sqlite3_get_autocommit(s->w))
				sqlite3_exec(s->w, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		version = to;
	}
	/* A new file (version 0) is created, not migrated. */
	if (from > 0 && version > from)
		log_notice("database %s: schema migrated from version %" PRId64 " to %" PRId64,
		    s->path, from, version);
	return 0;
}

/* Writer connection only. SQLite will not go below the current size; say so. */
int
store_max_pages(struct store *s, uint64_t max_size)
{
	int64_t pages = max_size == 0 ? s->default_max_pages : (int64_t)(max_size /
	    (uint64_t)s->page_size);
	int64_t got = 0;
	char sql[64];

	if (pages < 1)
		pages = 1;
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %" PRId64, pages);
	if (pragma_int(s->w, sql, &got) != SQLITE_OK) {
		log_warn("database %s: cannot apply [store] max_size %" PRIu64 ": %s", s->path,
		    max_size, sqlite3_errmsg(s->w));
		return -1;
	}
	if (got > pages)
		log_warn("database %s already holds %" PRId64 " bytes, more than [store] "
		    "max_size %" PRIu64 "; it will not grow", s->path, got * s->page_size, max_size);
	s->max_size_set = max_size;
	return 0;
}

int
store_open(const char *state_dir, uint64_t max_size, struct event_base *base,
    struct store **out, char *err, size_t errlen)
{
	*out = NULL;
	struct store *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return err_set(err, errlen, "store: out of memory");
	atomic_init(&s->max_size_want, max_size);
	atomic_init(&s->commits, 0);
	atomic_init(&s->ops, 0);
	if ((size_t)snprintf(s->path, sizeof(s->path), "%s/rogatory.db", state_dir) >=
	    sizeof(s->path)) {
		err_set(err, errlen, "[store] state_dir %s: path too long", state_dir);
		goto fail;
	}
	if (store_create_file(s->path, state_dir, err, errlen) != 0 ||
	    store_probe(s->path, err, errlen) != 0 ||
	    store_open_writer(s, err, errlen) != 0)
		goto fail;
	int rc = sqlite3_open_v2(s->path, &s->r, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW,
	    NULL);
	if (rc != SQLITE_OK) {
		err_set(err, errlen, "cannot open database %s for reading: %s", s->path,
		    s->r != NULL ? sqlite3_errmsg(s->r) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(s->r, STORE_BUSY_MS);
	/* Attachment files: older chunk rows moved out, staging left by a crash or a lost
	 * link and files no message names removed. */
	if (storeatt_open(s, state_dir, err, errlen) != 0)
		goto fail;
	if (pragma_int(s->r, r_sql[R_MAX_BSET], &s->last_bset) != SQLITE_OK) {
		err_set(err, errlen, "database %s: %s", s->path, sqlite3_errmsg(s->r));
		goto fail;
	}
	/* Staging kept for a resume holds blob set ids no message row names yet. */
	for (size_t i = 0; i < s->n_kept; i++)
		if (s->kept[i].bset > s->last_bset)
			s->last_bset = s->kept[i].bset;
	if (store_audit_open(s, err, errlen) != 0)
		goto fail;
	if (store_max_pages(s, max_size) != 0) {
		err_set(err, errlen, "database %s: cannot apply [store] max_size: %s", s->path,
		    sqlite3_errmsg(s->w));
		goto fail;
	}
	/* temp_store = MEMORY, once the work of opening is done: every op runs in a
	 * SAVEPOINT, whose journal (the first copy of each page the op changes) would
	 * otherwise be a temp file written page by page: nine in ten of the writer's write()
	 * calls under load, none of them needed after a crash (the WAL is the durable copy).
	 * Bounded by the pages one op changes: a message's row and its signed blobs (1 MiB
	 * body at most; attachments are files). Not before: a migration or the move of old
	 * chunk rows rewrites whole tables, and its journal in memory would be as large. */
	if (sqlite3_exec(s->w, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL) != SQLITE_OK) {
		err_set(err, errlen, "database %s: %s", s->path, sqlite3_errmsg(s->w));
		goto fail;
	}
	/* The writer's statements of the opening go: the pragma would have SQLite prepare
	 * each again at its next use; they are prepared anew when first needed. */
	for (int i = 0; i < W_COUNT; i++) {
		sqlite3_finalize(s->wst[i]);
		s->wst[i] = NULL;
	}
#ifdef ROGATORY_TEST_HOOKS
	const char *crash = getenv("ROGATORY_CRASH_AT");
	s->crash_mid_commit = crash != NULL && strcmp(crash, "store-mid-commit") == 0;
#endif
	if (storeq_start(base, store_batch, s, &s->q, err, errlen) != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	store_free(s);
	return -1;
}

static void
store_free(struct store *s)
{
	free(s->kept);
	for (int i = 0; i < W_COUNT; i++)
		sqlite3_finalize(s->wst[i]);
	for (int i = 0; i < R_COUNT; i++)
		sqlite3_finalize(s->rst[i]);
	for (int i = 0; i < CW_COUNT; i++)
		sqlite3_finalize(s->cwst[i]);
	for (int i = 0; i < CR_COUNT; i++)
		sqlite3_finalize(s->crst[i]);
	for (int i = 0; i < TW_COUNT; i++)
		sqlite3_finalize(s->twst[i]);
	for (int i = 0; i < TR_COUNT; i++)
		sqlite3_finalize(s->trst[i]);
	for (int i = 0; i < SS_COUNT; i++)
		sqlite3_finalize(s->sst[i]);
	/* The reader first: the writer's close is the last and checkpoints the WAL. */
	sqlite3_close(s->r);
	sqlite3_close(s->w);
	free(s);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	storeq_stop(s->q);
	store_free(s);
}

#ifdef ROGATORY_TEST_HOOKS
long
store_test_reprepares(struct store *s)
{
	long n = 0;
	for (int i = 0; i < W_COUNT; i++)
		if (s->wst[i] != NULL)
			n += sqlite3_stmt_status(s->wst[i], SQLITE_STMTSTATUS_REPREPARE, 0);
	for (int i = 0; i < R_COUNT; i++)
		if (s->rst[i] != NULL)
			n += sqlite3_stmt_status(s->rst[i], SQLITE_STMTSTATUS_REPREPARE, 0);
	return n;
}
#endif

#ifdef ROGATORY_TEST_HOOKS
static int
plan_of(struct store *s, int id, char *out, size_t outlen)
{
	char sql[4096];
	sqlite3_stmt *st;
	snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", r_sql[id]);
	if (sqlite3_prepare_v2(s->r, sql, -1, &st, NULL) != SQLITE_OK)
		return err_set(out, outlen, "%s", sqlite3_errmsg(s->r));
	out[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t used = strlen(out);
		snprintf(out + used, outlen - used, "%s%s", used > 0 ? "; " : "",
		    (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	return 0;
}

int
store_test_outbox_plan(struct store *s, char *out, size_t outlen)
{
	return plan_of(s, R_OUTBOX, out, outlen);
}

int
store_test_messages_page_plan(struct store *s, enum store_dir dir, bool by_peer,
    bool by_state, bool newest, char *out, size_t outlen)
{
	return plan_of(s, newest ? R_MSG_NEWEST : R_MSG_PAGE + MSG_PAGE_K(dir, by_peer, by_state),
	    out, outlen);
}

int
store_test_event_columns(struct store *s, char *out, size_t outlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->r, "SELECT name FROM pragma_table_info('events') ORDER BY cid",
	        -1, &st, NULL) != SQLITE_OK)
		return err_set(out, outlen, "%s", sqlite3_errmsg(s->r));
	out[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t used = strlen(out);
		snprintf(out + used, outlen - used, "%s%s", used > 0 ? " " : "",
		    (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return 0;
}
#endif

/* ---- names ---- */

void
store_msg_clear(struct store_msg *m)
{
	free(m->doc_body);
	free(m->doc_sig);
	free(m->doc_cert);
	free(m->rcpt_body);
	free(m->rcpt_sig);
	free(m->rcpt_cert);
	free(m->atts);
	memset(m, 0, sizeof(*m));
}

const char *
store_state_name(enum store_state s)
{
	return (unsigned)s < STORE_STATE_COUNT ? state_names[s] : "invalid";
}

int
store_state_parse(const char *name, enum store_state *out)
{
	for (int i = 0; i < STORE_STATE_COUNT; i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*out = (enum store_state)i;
			return 0;
		}
	}
	return -1;
}

const char *
store_result_name(enum store_result r)
{
	return (unsigned)r < sizeof(result_names) / sizeof(result_names[0]) ?
	    result_names[r] : "invalid";
}
