/*
 * stagerec: the record beside a message's staged attachments that says which of their
 * bytes are durable (attachments/staging/BSET.resume), so that staging survives a
 * restart of the receiver. Only the text form and its checks live here: who writes it
 * (the inbox, through the store) and who keeps or removes staging by it (the store's
 * start-up sweep) are elsewhere. It must never accept a record that names more than
 * the manifest it repeats, or a point beyond an attachment's size.
 */
#ifndef ROGATORY_STAGEREC_H
#define ROGATORY_STAGEREC_H

#include <stddef.h>
#include <stdint.h>

#include "text.h"

#define STAGEREC_HASH_LEN 32
/* As many attachments as a manifest holds (WIRE_ATTACHMENTS_MAX; wire.h is the codec's). */
#define STAGEREC_ATTACHMENTS_MAX 256
/* The record's text is at most this long (256 attachments of 2 hex hashes + sizes). */
#define STAGEREC_TEXT_MAX (1024 + STAGEREC_ATTACHMENTS_MAX * 100)

struct stagerec {
	int64_t bset;
	char sender[AUTHORITY_ID_MAX + 1];
	char msg_id[UUID_TEXT_LEN + 1];
	uint8_t payload_hash[STAGEREC_HASH_LEN];
	uint64_t size;                  /* the whole message (signed body + attachments) */
	int64_t started_s;              /* wall clock when its staging began (staging_timeout) */
	size_t n;                       /* the signed manifest's attachments */
	uint64_t sizes[STAGEREC_ATTACHMENTS_MAX];
	uint8_t sha256[STAGEREC_ATTACHMENTS_MAX][STAGEREC_HASH_LEN];
	/* The durable point: attachments 0 .. att-1 whole, att up to off. */
	uint32_t att;
	uint64_t off;
	/* SHA-256 of attachment att's bytes [0, off): checks the staged prefix on re-reading. */
	uint8_t prefix[STAGEREC_HASH_LEN];
};

/* The record as text into out (outlen >= STAGEREC_TEXT_MAX). Its length. */
size_t stagerec_format(const struct stagerec *r, char *out, size_t outlen);
/* Parses text (len bytes) into r. 0, or -1 with err saying what is wrong (line named). */
int stagerec_parse(const char *text, size_t len, struct stagerec *r, char *err, size_t errlen);
/* Bytes below the durable point. */
uint64_t stagerec_durable_bytes(const struct stagerec *r);

#endif
