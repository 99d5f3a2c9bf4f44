/*
 * auditproof: builds proof bundles (contract in auditproof.h). Every byte in a bundle is
 * a stored byte (signed checkpoints and cosignatures as kept, certificates as carried)
 * or re-derived from stored rows exactly as the store derived it (the entry bytes), so a
 * tampered store yields a bundle that fails its check rather than one that was mended.
 */
#include "auditproof.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "auditentry.h"
#include "log.h"
#include "merkle.h"

static json_t *b64j(const uint8_t *p, size_t n);
static json_t *hexj(const uint8_t *p, size_t n);
static json_t *signed_json(const struct store_checkpoint *c, const char *who_key);
static json_t *event_json(const struct store_event *e);
static json_t *entry_json(struct store *s, const struct store_event *e, uint64_t size,
    char *err, size_t errlen);

static json_t *
b64j(const uint8_t *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (out == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	json_t *j = json_string(out);
	free(out);
	return j;
}

static json_t *
hexj(const uint8_t *p, size_t n)
{
	char h[2 * MERKLE_HASH_LEN + 1];
	if (n > MERKLE_HASH_LEN)
		n = MERKLE_HASH_LEN;
	for (size_t i = 0; i < n; i++)
		snprintf(h + 2 * i, 3, "%02x", p[i]);
	return json_stringn(h, 2 * n);
}

/* A signed checkpoint or cosignature: the exact signed body, signature, certificate. */
static json_t *
signed_json(const struct store_checkpoint *c, const char *who_key)
{
	json_t *o = json_object();
	if (who_key != NULL)
		json_object_set_new(o, who_key, json_string(c->who));
	json_object_set_new(o, "tree_size", json_integer((json_int_t)c->size));
	json_object_set_new(o, "root_hash", hexj(c->root, MERKLE_HASH_LEN));
	json_object_set_new(o, "time_ms", json_integer((json_int_t)c->time_ms));
	json_object_set_new(o, "body", b64j(c->body, c->body_len));
	json_object_set_new(o, "signature", b64j(c->sig, c->sig_len));
	json_object_set_new(o, "certificate", b64j(c->cert, c->cert_len));
	return o;
}

/* For a reader: the entry as the row says it (the bytes are what counts). */
static json_t *
event_json(const struct store_event *e)
{
	char ts[40];
	time_t t = (time_t)(e->ts_us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%06dZ", (int)(e->ts_us % 1000000));
	json_t *o = json_object();
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "event", json_string(e->event));
	if (e->msg_id[0] != '\0')
		json_object_set_new(o, "id", json_string(e->msg_id));
	if (e->peer[0] != '\0')
		json_object_set_new(o, "peer", json_string(e->peer));
	json_object_set_new(o, "direction", json_string(e->dir == STORE_IN ? "in" : "out"));
	if (e->state[0] != '\0')
		json_object_set_new(o, "state", json_string(e->state));
	json_object_set_new(o, "attempt", json_integer(e->attempt));
	json_object_set_new(o, "bytes", json_integer((json_int_t)e->bytes));
	if (e->reason[0] != '\0')
		json_object_set_new(o, "reason", json_stringn(e->reason, strnlen(e->reason,
		    sizeof(e->reason))));
	if (e->alert[0] != '\0')
		json_object_set_new(o, "alert", json_string(e->alert));
	if (e->has_actor) {
		json_t *a = json_object();
		json_object_set_new(a, "uid", json_integer(e->actor_uid));
		json_object_set_new(a, "user", json_string(e->actor_user));
		json_object_set_new(o, "actor", a);
	}
	return o;
}

static json_t *
entry_json(struct store *s, const struct store_event *e, uint64_t size, char *err,
    size_t errlen)
{
	uint8_t bytes[AUDITENTRY_MAX], leaf[MERKLE_HASH_LEN];
	uint8_t path[MERKLE_PROOF_MAX][MERKLE_HASH_LEN];
	size_t blen = auditentry_encode(e, bytes), n = 0;
	if (blen == 0) {
		err_set(err, errlen, "entry seq %" PRId64 " cannot be encoded", e->seq);
		return NULL;
	}
	merkle_leaf_hash(bytes, blen, leaf);
	if (merkle_inclusion_proof((uint64_t)e->seq - 1, size, store_audit_get, s, path, &n) != 0) {
		err_set(err, errlen, "the store lacks part of the tree over entry seq %" PRId64
		    " (see its log)", e->seq);
		return NULL;
	}
	json_t *o = json_object(), *p = json_array();
	json_object_set_new(o, "seq", json_integer(e->seq));
	json_object_set_new(o, "index", json_integer(e->seq - 1));
	json_object_set_new(o, "entry", b64j(bytes, blen));
	json_object_set_new(o, "leaf_hash", hexj(leaf, sizeof(leaf)));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(p, hexj(path[i], MERKLE_HASH_LEN));
	json_object_set_new(o, "path", p);
	json_object_set_new(o, "shows", event_json(e));
	return o;
}

json_t *
auditproof_bundle(struct store *s, const char *origin, const int64_t *seqs, size_t n,
    const struct store_checkpoint *cp, char *err, size_t errlen)
{
	struct store_checkpoint cos[64];
	int nc = store_audit_cosignatures(s, cp->size, cos, 64);
	if (nc < 0) {
		err_set(err, errlen, "cannot read the cosignatures of the checkpoint of %" PRIu64
		    " entries", cp->size);
		return NULL;
	}
	json_t *o = json_object(), *entries = json_array(), *ca = json_array();
	json_object_set_new(o, "format", json_string(AUDITPROOF_FORMAT));
	json_object_set_new(o, "origin", json_string(origin));
	json_object_set_new(o, "hashing", json_string("RFC 6962: leaf = SHA-256(0x00 || entry), "
	    "node = SHA-256(0x01 || left || right)"));
	for (size_t i = 0; i < n; i++) {
		struct store_event e;
		json_t *ej = NULL;
		if (store_events_since(s, seqs[i] - 1, &e, 1) != 1 || e.seq != seqs[i])
			err_set(err, errlen, "entry seq %" PRId64 " is not in the store", seqs[i]);
		else
			ej = entry_json(s, &e, cp->size, err, errlen);
		if (ej == NULL) {
			json_decref(o);
			json_decref(entries);
			json_decref(ca);
			for (int k = 0; k < nc; k++)
				store_checkpoint_clear(&cos[k]);
			return NULL;
		}
		json_array_append_new(entries, ej);
	}
	json_object_set_new(o, "checkpoint", signed_json(cp, NULL));
	for (int k = 0; k < nc; k++) {
		json_array_append_new(ca, signed_json(&cos[k], "witness"));
		store_checkpoint_clear(&cos[k]);
	}
	json_object_set_new(o, "cosignatures", ca);
	json_object_set_new(o, "entries", entries);
	return o;
}

int
auditproof_message_seqs(struct store *s, const char *msg_id, const char *peer,
    enum store_dir dir, int64_t *seqs, int max)
{
	struct store_event *ev = calloc((size_t)max, sizeof(*ev));
	if (ev == NULL)
		return -1;
	int n = store_events_of(s, msg_id, ev, max), k = 0;
	for (int i = 0; i < n; i++)
		if (ev[i].dir == dir && strcmp(ev[i].peer, peer) == 0)
			seqs[k++] = ev[i].seq;
	free(ev);
	return n < 0 ? -1 : k;
}
