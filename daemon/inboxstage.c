/*
 * inboxstage: the attachments of an accepted inbound Transfer, arriving in Chunk frames
 * on its link. Each chunk is checked in order against the signed manifest (assembly) and
 * written to its staging file as it comes, straight from the link's buffer; the message
 * and its receipt are committed (its files sealed first, by the store) only when every
 * attachment matched. It must never hold an attachment in memory, never commit a
 * message whose bytes differ from its manifest, and never leave a Transfer unanswered
 * while its link stays up (the window counts it).
 * Error policy: out-of-order chunks close the link (PROTOCOL); bytes that contradict the
 * signed manifest are a signed refusal; a failed staging write answers TRY_LATER; staging
 * is dropped on a new Transfer and after [delivery] staging_timeout, and on link loss
 * unless the link spoke version 3: then it is kept, with its hash state, for the resent
 * Transfer, which gets a Resume at the point held (PROTOCOL.md section 8.1). Its durable
 * steps, and staging kept across a restart, are inboxkeep.c's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "caseflow.h"
#include "config.h"
#include "crash.h"
#include "inboxint.h"
#include "link.h"
#include "log.h"
#include "peer.h"
#include "request.h"
#include "rogatoryd.h"

static void ib_stage_commit(struct inbox *ib, struct ib_stage *st);

/* The link's stage still taking chunks (or discarding them), if any. */
static struct ib_stage *
ib_stage_of(struct inbox *ib, uint64_t serial)
{
	for (struct ib_stage *st = ib->stages; st != NULL; st = st->next)
		if (st->link_serial == serial && !st->complete && !st->kept)
			return st;
	return NULL;
}

static void
ib_stage_unlink(struct inbox *ib, struct ib_stage *st)
{
	for (struct ib_stage **pp = &ib->stages; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			return;
		}
	}
}

/* The store drops the chunks after whatever chunk ops are still queued, which run
 * first. */
void
ib_stage_drop(struct inbox *ib, struct ib_stage *st, bool keep_discard)
{
	if (st->rehashing) {
		/* Its link reads again (it was held while the kept bytes were read back). */
		struct link *l = peers_link_find(ib->d->peers, st->link_serial);
		if (l != NULL)
			link_hold(l, LINK_HOLD_REHASH, false);
		st->rehashing = false;
	}
	ib_keep_release(st);
	if (!st->discard) {
		struct journal_op *jo = journal_op_new(ib->d, STORE_OP_DROP_SET);
		jo->op.chunk.bset = st->bset;
		journal_submit(jo);
		ib_quota_add(ib, st->peer, -(int64_t)st->doc.size);
	}
	if (keep_discard && !st->discard) {
		assembly_free(&st->as);
		store_msg_clear(&st->doc);
		st->discard = true;
		st->bset = 0;
		return;
	}
	ib_stage_unlink(ib, st);
	assembly_free(&st->as);
	store_msg_clear(&st->doc);
	free(st);
}

void
ib_stage_free_all(struct inbox *ib)
{
	while (ib->stages != NULL) {
		struct ib_stage *st = ib->stages;
		ib->stages = st->next;
		ib_keep_release(st);
		assembly_free(&st->as);
		store_msg_clear(&st->doc);
		free(st);
	}
}

void
ib_stage_end_link(struct inbox *ib, struct link *l, const char *next_id)
{
	struct ib_stage *st = ib_stage_of(ib, link_serial(l));
	if (st == NULL)
		return;
	if (!st->discard) {
		char why[200];
		snprintf(why, sizeof(why), "attachments incomplete when transfer %s began; send "
		    "it again", next_id);
		log_warn("inbox: %s from %s: %s", st->msg_id, st->peer, why);
		ib_send_try_later(ib, st->link_serial, st->msg_id, why);
	}
	ib_stage_drop(ib, st, false);
}

void
ib_stage_discard(struct inbox *ib, struct link *l, const char *msg_id)
{
	struct ib_stage *st = ib_stage_of(ib, link_serial(l));
	if (st != NULL)
		ib_stage_drop(ib, st, false);
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		fatal("out of memory");
	st->link_serial = link_serial(l);
	st->discard = true;
	snprintf(st->peer, sizeof(st->peer), "%s", link_peer_id(l));
	snprintf(st->msg_id, sizeof(st->msg_id), "%s", msg_id);
	st->next = ib->stages;
	ib->stages = st;
}

/* The stage's document, for a refusal. */
static struct ib_doc
ib_stage_doc(const struct ib_stage *st)
{
	const struct store_msg *m = &st->doc;
	struct ib_doc doc = {m->msg_id, m->sender, m->sender, m->payload_hash, m->doc_body,
	    m->doc_body_len, m->doc_sig, m->doc_sig_len, m->doc_cert, m->doc_cert_len};
	return doc;
}

void
ib_stage_start(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t,
    const Rogatory__V1__DocumentBody *b, const char *mid, const uint8_t hash[32],
    uint64_t size)
{
	struct rogatoryd *d = ib->d;
	const char *peer = link_peer_id(l);
	char err[300];
	struct ib_stage *st = calloc(1, sizeof(*st));
	if (st == NULL)
		fatal("out of memory");
	uint64_t sizes[WIRE_ATTACHMENTS_MAX];
	uint8_t hashes[WIRE_ATTACHMENTS_MAX * ASSEMBLY_HASH_LEN];
	for (size_t i = 0; i < b->n_attachments; i++) {
		sizes[i] = b->attachments[i]->size;
		memcpy(hashes + i * ASSEMBLY_HASH_LEN, b->attachments[i]->sha256.data,
		    ASSEMBLY_HASH_LEN);
	}
	st->ib = ib;
	st->link_serial = link_serial(l);
	snprintf(st->peer, sizeof(st->peer), "%s", peer);
	snprintf(st->msg_id, sizeof(st->msg_id), "%s", mid);
	st->started_ms = link_now_ms();
	st->started_s = (int64_t)(link_wall_ms() / 1000);
	ib_stage_doc_fill(ib, st, peer, t, b, mid, hash, size);
	st->next = ib->stages;
	ib->stages = st;
	if (assembly_init(&st->as, b->n_attachments, sizes, hashes, err, sizeof(err)) != 0) {
		/* Only an empty attachment whose manifest hash is not that of no bytes. */
		struct ib_doc doc = ib_stage_doc(st);
		ib_reject(ib, st->link_serial, &doc, "attachment-mismatch", err);
		assembly_free(&st->as);
		store_msg_clear(&st->doc);
		st->discard = true;   /* nothing staged yet: nothing to drop */
		return;
	}
	st->bset = store_bset_new(d->store);
	st->doc.bset = st->bset;
	ib_quota_add(ib, peer, (int64_t)size);
	log_debug("inbox: %s from %s: receiving %zu attachments, %" PRIu64 " bytes", mid, peer,
	    b->n_attachments, size);
	if (assembly_complete(&st->as)) {
		st->complete = true;
		ib_stage_commit(ib, st);
	}
}

void
ib_stage_doc_fill(struct inbox *ib, struct ib_stage *st, const char *peer,
    const Rogatory__V1__Transfer *t, const Rogatory__V1__DocumentBody *b, const char *mid,
    const uint8_t hash[32], uint64_t size)
{
	struct rogatoryd *d = ib->d;
	struct store_msg *m = &st->doc;
	store_msg_clear(m);
	m->dir = STORE_IN;
	snprintf(m->msg_id, sizeof(m->msg_id), "%s", mid);
	snprintf(m->sender, sizeof(m->sender), "%s", peer);
	snprintf(m->recipient, sizeof(m->recipient), "%s", d->cfg->authority_id);
	m->kind = b->kind;
	m->urgent = b->urgent;
	m->state = STORE_RECEIVED;
	m->size = size;
	caseflow_fill(ib->d, m, b);
	memcpy(m->payload_hash, hash, STORE_HASH_LEN);
	ib_dup(&m->doc_body, &m->doc_body_len, t->document->body.data, t->document->body.len);
	ib_dup(&m->doc_sig, &m->doc_sig_len, t->document->signature.data,
	    t->document->signature.len);
	ib_dup(&m->doc_cert, &m->doc_cert_len, t->document->signer_certificate.data,
	    t->document->signer_certificate.len);
	m->bset = st->bset;
	/* The names the store seals the staged files under (the signed manifest's). */
	if (b->n_attachments > 0) {
		if ((m->atts = calloc(b->n_attachments, sizeof(*m->atts))) == NULL)
			fatal("out of memory");
		m->n_atts = b->n_attachments;
		for (size_t i = 0; i < b->n_attachments; i++) {
			m->atts[i].size = b->attachments[i]->size;
			memcpy(m->atts[i].sha256, b->attachments[i]->sha256.data, STORE_HASH_LEN);
		}
	}
}

/* A chunk of a resumed stage: true when all of it lies below the Resume point (dropped);
 * else the part from the point on (*off, *iov, *n moved; cut holds the new pieces). */
static bool
ib_below_resume(const struct ib_stage *st, uint32_t index, uint64_t *off,
    const struct iovec **iov, int *n, struct iovec cut[IB_CHUNK_IOV])
{
	if (index > st->resume_att || *off >= st->resume_off)
		return false;
	if (index < st->resume_att)
		return true;
	uint64_t skip = st->resume_off - *off;
	int k = 0;
	for (int i = 0; i < *n && k < IB_CHUNK_IOV; i++) {
		size_t len = (*iov)[i].iov_len;
		if (skip >= len) {
			skip -= len;
			continue;
		}
		cut[k].iov_base = (uint8_t *)(*iov)[i].iov_base + skip;
		cut[k].iov_len = len - skip;
		skip = 0;
		k++;
	}
	if (k == 0)
		return true;
	*off = st->resume_off;
	*iov = cut;
	*n = k;
	return false;
}

/* One chunk's data, in n pieces (iov): checked in order against the manifest (hashed
 * as they pass), written to the staging file, and the message committed after the last. */
static void
ib_chunk_bytes(struct inbox *ib, struct link *l, const char *mid, uint32_t index,
    uint64_t off, const struct iovec *iov, int n)
{
	char err[300];
	struct ib_stage *st = ib_stage_of(ib, link_serial(l));
	if (st == NULL || strcmp(st->msg_id, mid) != 0) {
		char why[200];
		snprintf(why, sizeof(why), "chunk for message %s without its transfer", mid);
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, why);
		return;
	}
	if (st->discard)
		return;
	/* After a Resume: what lies below its point the stage holds already. */
	struct iovec cut[IB_CHUNK_IOV];
	if (st->resumed && ib_below_resume(st, index, &off, &iov, &n, cut))
		return;
	if (st->rehashing) {
		/* Not expected (the link is held while its staged prefix is read back): the
		 * sender is past the point before it heard of it. It sends the message again. */
		ib_send_try_later(ib, st->link_serial, st->msg_id, "staging being re-read");
		ib_stage_drop(ib, st, true);
		return;
	}
	/* The chunk judged whole before any piece is hashed: the same bytes get the same
	 * answer however the socket's buffer splits them, and a refused chunk leaves the
	 * hash state equal to the staged bytes. */
	uint64_t total = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	enum assembly_status as = assembly_check(&st->as, index, off, total, err, sizeof(err));
	uint64_t at = off;
	for (int i = 0; i < n && as == ASSEMBLY_MORE; i++) {
		if (iov[i].iov_len == 0)
			continue;
		as = assembly_add(&st->as, index, at, iov[i].iov_base, iov[i].iov_len, err,
		    sizeof(err));
		at += iov[i].iov_len;
	}
	if (as == ASSEMBLY_ORDER) {
		char why[400];
		snprintf(why, sizeof(why), "message %s: %s", mid, err);
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, why);
		return;
	}
	if (as == ASSEMBLY_OVERRUN || as == ASSEMBLY_MISMATCH) {
		/* The signed manifest and the bytes disagree: a final refusal. */
		struct ib_doc doc = ib_stage_doc(st);
		ib_reject(ib, st->link_serial, &doc, "attachment-mismatch", err);
		ib_stage_drop(ib, st, true);
		return;
	}
	enum store_result r = store_stage_write(ib->d->store, st->bset, index, off, iov, n, err,
	    sizeof(err));
	if (r != STORE_R_OK) {
		log_err("inbox: %s from %s: %s", mid, st->peer, err);
		ib_send_try_later(ib, st->link_serial, st->msg_id,
		    r == STORE_R_FULL ? "store full" : "store error");
		/* Its further chunks on the way are dropped unread. */
		ib_stage_drop(ib, st, true);
		return;
	}
	crash_point("inbox-chunk-stored");
	if (as == ASSEMBLY_COMPLETE) {
		st->complete = true;
		ib_stage_commit(ib, st);
	} else {
		ib_keep_step(ib, st, l);
	}
}

void
inbox_chunk(struct inbox *ib, struct link *l, const Rogatory__V1__Chunk *c)
{
	char mid[UUID_TEXT_LEN + 1];
	snprintf(mid, sizeof(mid), "%.*s", (int)c->message_id.len, (const char *)c->message_id.data);
	struct iovec v = {c->data.data, c->data.len};
	ib_chunk_bytes(ib, l, mid, c->attachment_index, c->offset, &v, 1);
}

void
inbox_chunk_data(struct inbox *ib, struct link *l, const struct wirechunk_head *h,
    struct evbuffer *in)
{
	/* The data where the socket's buffer holds them: a 1 MiB chunk spans a few of its
	 * chains (more than IB_CHUNK_IOV only when it was read a few bytes at a time). */
	struct evbuffer_iovec v[IB_CHUNK_IOV];
	int n = evbuffer_peek(in, (ev_ssize_t)h->data_len, NULL, v, IB_CHUNK_IOV);
	if (n > IB_CHUNK_IOV) {
		uint8_t *copy = malloc(h->data_len);
		if (copy == NULL)
			fatal("out of memory");
		evbuffer_copyout(in, copy, h->data_len);
		struct iovec one = {copy, h->data_len};
		ib_chunk_bytes(ib, l, h->msg_id, h->index, h->offset, &one, 1);
		free(copy);
		return;
	}
	struct iovec iov[IB_CHUNK_IOV];
	size_t left = h->data_len;
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
		left -= iov[i].iov_len;
	}
	ib_chunk_bytes(ib, l, h->msg_id, h->index, h->offset, iov, n);
}

/* Every attachment matched and every chunk is written: the message and its receipt
 * go in one transaction, as for a message without attachments. */
static void
ib_stage_commit(struct inbox *ib, struct ib_stage *st)
{
	char err[300];
	struct journal_op *jo = journal_op_new(ib->d, STORE_OP_RECEIVE);
	struct store_msg *m = &jo->op.msg;
	if (ib_sign_receipt(ib, st->doc.msg_id, st->doc.sender, st->doc.payload_hash, true, NULL,
	        NULL, m, err, sizeof(err)) != 0) {
		log_err("inbox: cannot sign a receipt for %s: %s", st->msg_id, err);
		ib_send_try_later(ib, st->link_serial, st->msg_id, "cannot sign a receipt now");
		free(jo);
		ib_stage_drop(ib, st, false);
		return;
	}
	/* The stage's document moves into the op (receipt blobs already set). */
	uint8_t *rb = m->rcpt_body, *rs = m->rcpt_sig, *rc = m->rcpt_cert;
	int64_t received_us = m->created_us;   /* the receipt's received_ms */
	size_t rbl = m->rcpt_body_len, rsl = m->rcpt_sig_len, rcl = m->rcpt_cert_len;
	*m = st->doc;
	memset(&st->doc, 0, sizeof(st->doc));
	m->rcpt_body = rb;
	m->rcpt_body_len = rbl;
	m->rcpt_sig = rs;
	m->rcpt_sig_len = rsl;
	m->rcpt_cert = rc;
	m->rcpt_cert_len = rcl;
	m->created_us = received_us;
	jo->link_serial = st->link_serial;
	jo->arg = ib;
	jo->done = ib_receive_done;
	journal_event(jo, "received", m->msg_id, m->sender, STORE_IN, "received", 0, m->size,
	    NULL);
	ib_submit(ib, jo);
	/* The reservation and the chunks now belong to the op (ib_receive_done). */
	ib_stage_unlink(ib, st);
	ib_keep_release(st);
	assembly_free(&st->as);
	free(st);
}

void
ib_send_resume(struct link *l, const struct ib_stage *st)
{
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Resume r = ROGATORY__V1__RESUME__INIT;
	r.message_id.data = (uint8_t *)st->msg_id;
	r.message_id.len = strlen(st->msg_id);
	r.attachment_index = st->resume_att;
	r.offset = st->resume_off;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_RESUME;
	env.resume = &r;
	link_send(l, &env);
}

bool
ib_stage_resume(struct inbox *ib, struct link *l, const Rogatory__V1__Transfer *t,
    const Rogatory__V1__DocumentBody *b, const char *mid, const uint8_t hash[STORE_HASH_LEN],
    uint64_t size)
{
	const char *peer = link_peer_id(l);
	struct ib_stage *st = ib->stages;
	while (st != NULL && !(st->kept && strcmp(st->peer, peer) == 0 &&
	    strcmp(st->msg_id, mid) == 0 && memcmp(st->doc.payload_hash, hash,
	    STORE_HASH_LEN) == 0))
		st = st->next;
	if (st == NULL)
		return false;
	if (link_version(l) < PROTOCOL_VERSION_RESUME) {
		ib_stage_drop(ib, st, false);
		return false;
	}
	if (st->restored)
		return ib_keep_take_up(ib, st, l, t, b, mid, hash, size);
	st->kept = false;
	st->link_serial = link_serial(l);
	st->resumed = true;
	st->resume_att = (uint32_t)st->as.cur;
	st->resume_off = st->as.off;
	ib_send_resume(l, st);
	log_info("inbox: %s from %s: resent; resuming at attachment %" PRIu32 " offset %"
	    PRIu64 " (%" PRIu64 " of %" PRIu64 " bytes held)", mid, peer, st->resume_att,
	    st->resume_off, st->as.received, st->as.total);
	return true;
}

void
inbox_link_down(struct inbox *ib, struct link *l)
{
	uint64_t serial = link_serial(l);
	struct ib_stage *st = ib->stages;
	while (st != NULL) {
		struct ib_stage *next = st->next;
		/* Complete stages finish their commit (the receipt then finds no link; the
		 * sender's resend gets the stored receipt). */
		if (st->link_serial == serial && !st->complete && !st->kept) {
			if (st->rehashing) {
				/* Taken up again by the next resend, at what was re-read so far. */
				ib_keep_release(st);
				st->rehashing = false;
			}
			if (!st->discard && st->as.received > 0 &&
			    link_version(l) >= PROTOCOL_VERSION_RESUME) {
				/* Kept for the resent Transfer (within staging_timeout). */
				log_info("inbox: %s from %s: link lost with attachments incomplete "
				    "(%" PRIu64 " of %" PRIu64 " bytes); staging kept for a resume",
				    st->msg_id, st->peer, st->as.received, st->as.total);
				st->kept = true;
				st->link_serial = 0;
			} else {
				if (!st->discard)
					log_info("inbox: %s from %s: link lost with attachments "
					    "incomplete (%" PRIu64 " of %" PRIu64 " bytes); staging "
					    "dropped", st->msg_id, st->peer, st->as.received,
					    st->as.total);
				ib_stage_drop(ib, st, false);
			}
		}
		st = next;
	}
	ib_keep_bound(ib);
}

void
ib_stage_tick(struct inbox *ib)
{
	uint64_t now = link_now_ms();
	struct ib_stage *st = ib->stages;
	while (st != NULL) {
		struct ib_stage *next = st->next;
		if (!st->discard && !st->complete &&
		    now - st->started_ms > ib->d->cfg->staging_timeout_ms) {
			struct link *l = peers_link_find(ib->d->peers, st->link_serial);
			log_warn("inbox: %s from %s: attachments incomplete after [delivery] "
			    "staging_timeout; staging dropped", st->msg_id, st->peer);
			ib_stage_drop(ib, st, false);
			if (l != NULL) {
				/* Closing may drop the link's other stages, `next` among them:
				 * start over (the dropped stages are gone from the list). */
				link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_PROTOCOL,
				    "attachments incomplete after staging_timeout");
				next = ib->stages;
			}
		}
		st = next;
	}
}
