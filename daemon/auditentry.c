/*
 * auditentry: an event row's canonical AuditEntry (contract in auditentry.h). protobuf-c
 * writes fields in number order and leaves out zero values, which is the canonical form
 * wire.c requires of every entry it reads back.
 */
#include "auditentry.h"

#include <string.h>

#include "wire.h"

const char *const auditentry_columns[] = {
	"seq", "ts_us", "event", "msg_id", "peer", "dir", "state", "attempt", "bytes", "reason",
	"actor_uid", "actor_user", "alert", NULL,
};

static void
set_text(ProtobufCBinaryData *b, const char *s, size_t cap)
{
	b->data = (uint8_t *)s;
	b->len = strnlen(s, cap);
}

size_t
auditentry_encode(const struct store_event *e, uint8_t *out)
{
	Rogatory__V1__AuditEntry entry = ROGATORY__V1__AUDIT_ENTRY__INIT, *a = &entry;
	Rogatory__V1__Actor who = ROGATORY__V1__ACTOR__INIT;
	if (e->seq <= 0)
		return 0;
	a->seq = (uint64_t)e->seq;
	a->time_us = e->ts_us;
	set_text(&a->event, e->event, sizeof(e->event));
	set_text(&a->message_id, e->msg_id, sizeof(e->msg_id));
	set_text(&a->peer, e->peer, sizeof(e->peer));
	a->direction = e->dir == STORE_IN ? ROGATORY__V1__DIRECTION__DIRECTION_IN
	                                  : ROGATORY__V1__DIRECTION__DIRECTION_OUT;
	set_text(&a->state, e->state, sizeof(e->state));
	a->attempt = e->attempt;
	a->size = e->bytes;
	set_text(&a->reason, e->reason, sizeof(e->reason));
	set_text(&a->alert, e->alert, sizeof(e->alert));
	if (e->has_actor) {
		who.uid = e->actor_uid;
		set_text(&who.user, e->actor_user, sizeof(e->actor_user));
		a->actor = &who;
	}
	size_t n = protobuf_c_message_get_packed_size(&a->base);
	if (n > AUDITENTRY_MAX)
		return 0;
	return protobuf_c_message_pack(&a->base, out) == n ? n : 0;
}

int
auditentry_leaf(const struct store_event *e, uint8_t leaf[MERKLE_HASH_LEN])
{
	uint8_t buf[AUDITENTRY_MAX];
	size_t n = auditentry_encode(e, buf);
	if (n == 0)
		return -1;
	merkle_leaf_hash(buf, n, leaf);
	return 0;
}
