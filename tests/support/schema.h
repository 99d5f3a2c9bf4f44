/*
 * schema: a store made now, taken back to what schema 8 had, so that a unit test can
 * watch the migrations of later versions run on it (each on its own rows). Every later
 * step is undone here, newest first: 16 the outbox indexes' condition as ORs, 15 the signed blobs beside the message rows, 14
 * attachments as files (back to chunk rows; the files themselves stay), 13 the console's
 * listing indexes, 12 the deadline
 * marks, 11 the statistics' columns, 10 proof of retrieval, 9 the cases' clocks. A new
 * schema version adds its undoing at the front.
 */
#ifndef ROGATORY_TEST_SCHEMA_H
#define ROGATORY_TEST_SCHEMA_H

#define TS_SCHEMA_DOWN_16 \
	"DROP INDEX messages_outbox; DROP INDEX messages_due;" \
	"CREATE INDEX messages_outbox ON messages (recipient, urgent, id, next_attempt_us)" \
	" WHERE dir = 0 AND state IN ('queued', 'retrying', 'unconfirmed');" \
	"CREATE INDEX messages_due ON messages (recipient, next_attempt_us, dir, state)" \
	" WHERE dir = 0 AND state IN ('queued', 'retrying', 'unconfirmed');"

#define TS_SCHEMA_DOWN_15 \
	"ALTER TABLE messages ADD COLUMN doc_body BLOB; ALTER TABLE messages ADD COLUMN doc_sig BLOB;" \
	"ALTER TABLE messages ADD COLUMN doc_cert BLOB;" \
	"ALTER TABLE messages ADD COLUMN rcpt_body BLOB;" \
	"ALTER TABLE messages ADD COLUMN rcpt_sig BLOB;" \
	"ALTER TABLE messages ADD COLUMN rcpt_cert BLOB;" \
	"UPDATE messages SET doc_body = d.body, doc_sig = d.sig, doc_cert = d.cert" \
	" FROM message_docs d WHERE d.msg = messages.id;" \
	"UPDATE messages SET rcpt_body = r.body, rcpt_sig = r.sig, rcpt_cert = r.cert" \
	" FROM message_receipts r WHERE r.msg = messages.id;" \
	"DROP TABLE message_docs; DROP TABLE message_receipts;" \
	"CREATE INDEX messages_state ON messages (dir, state);"

/* 14 -> 13: attachments were chunk rows. */
#define TS_SCHEMA_DOWN_14 \
	"DROP TABLE attachments;" \
	"CREATE TABLE chunks (" \
	" bset INTEGER NOT NULL CHECK (bset > 0), att INTEGER NOT NULL CHECK (att >= 0)," \
	" off INTEGER NOT NULL CHECK (off >= 0), data BLOB NOT NULL," \
	" PRIMARY KEY (bset, att, off));"

#define TS_SCHEMA_DOWN_TO_13 \
	TS_SCHEMA_DOWN_16 \
	TS_SCHEMA_DOWN_15 \
	TS_SCHEMA_DOWN_14 \
	"PRAGMA user_version = 13;"

#define TS_SCHEMA_DOWN_TO_8 \
	TS_SCHEMA_DOWN_16 \
	TS_SCHEMA_DOWN_15 \
	TS_SCHEMA_DOWN_14 \
	"DROP INDEX messages_list; DROP INDEX messages_list_state;" \
	"DROP INDEX messages_list_to; DROP INDEX messages_list_from;" \
	"DROP INDEX messages_list_to_state; DROP INDEX messages_list_from_state;" \
	"DROP TABLE case_marks; DROP INDEX messages_created;" \
	"DROP INDEX cases_opened; ALTER TABLE cases DROP COLUMN offences;" \
	"ALTER TABLE case_docs DROP COLUMN reasons;" \
	"DROP TABLE retrievals;" \
	"DROP INDEX cases_ack; DROP INDEX cases_respond;" \
	"ALTER TABLE cases DROP COLUMN received_us; ALTER TABLE cases DROP COLUMN ack_by_us;" \
	"ALTER TABLE cases DROP COLUMN respond_base_us;" \
	"ALTER TABLE cases DROP COLUMN respond_by_us;" \
	"ALTER TABLE cases DROP COLUMN ack_soon_for; ALTER TABLE cases DROP COLUMN ack_over_for;" \
	"ALTER TABLE cases DROP COLUMN respond_soon_for;" \
	"ALTER TABLE cases DROP COLUMN respond_over_for;" \
	"ALTER TABLE case_docs DROP COLUMN estimate;" \
	"PRAGMA user_version = 8;"

#endif
