/*
 * auditentry: one event row as the audit log's entry: its canonical protobuf AuditEntry
 * bytes (PROTOCOL.md section 15) and its leaf hash. The entry is a function of the event
 * row alone, every column but the leaf itself, so whatever writes an event (delivery,
 * links, cases, alerts, operator actions) writes a leaf too, with no edit here. It must
 * never put a byte in an entry that is not in the row: `audit verify` recomputes each
 * leaf from the stored row and names the first that differs.
 */
#ifndef ROGATORY_AUDITENTRY_H
#define ROGATORY_AUDITENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"
#include "store.h"

/* Largest entry: every text field at its cap, with protobuf's overhead. */
#define AUDITENTRY_MAX 1024

/* The events table's columns an entry is made of (the leaf column aside), NULL-ended:
 * a unit test compares it with the table, so a column added to events without being
 * added here fails the build's tests instead of going unprotected. */
extern const char *const auditentry_columns[];

/* The entry bytes of e (seq and ts_us set) into out (AUDITENTRY_MAX bytes); the length,
 * 0 when e cannot be encoded (a field over its cap: never from the store's own rows). */
size_t auditentry_encode(const struct store_event *e, uint8_t *out);
/* SHA-256(0x00 || entry bytes). -1 when the entry cannot be encoded. */
int auditentry_leaf(const struct store_event *e, uint8_t leaf[MERKLE_HASH_LEN]);

#endif
