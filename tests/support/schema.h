/*
 * schema: a store made now, taken back to what schema 8 had, so that a unit test can
 * watch the migrations of later versions run on it (each on its own rows). Every later
 * step is undone here, newest first: 14 attachments as files (back to chunk rows; the
 * files themselves stay), 13 the console's listing indexes, 12 the deadline
 * marks, 11 the statistics' columns, 10 proof of retrieval, 9 the cases' clocks. A new
 * schema version adds its undoing at the front.
 */
#ifndef ROGATORY_TEST_SCHEMA_H
#define ROGATORY_TEST_SCHEMA_H

/* 14 -> 13: attachments were chunk rows. */
#define TS_SCHEMA_DOWN_TO_13 \
	"DROP TABLE attachments;" \
	"CREATE TABLE chunks (" \
	" bset INTEGER NOT NULL CHECK (bset > 0), att INTEGER NOT NULL CHECK (att >= 0)," \
	" off INTEGER NOT NULL CHECK (off >= 0), data BLOB NOT NULL," \
	" PRIMARY KEY (bset, att, off));" \
	"PRAGMA user_version = 13;"

#define TS_SCHEMA_DOWN_TO_8 \
	TS_SCHEMA_DOWN_TO_13 \
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
