/*
 * inboxkeep: the staging of an inbound message that survives a restart of the receiver.
 * Every IB_DURABLE_STEP staged bytes the files are synced and a record beside them names
 * the durable point (store_stage_durable); at start the records the store kept become
 * kept stages (restored); a resent Transfer takes one up: its staged prefix is read back
 * and hashed in slices, the link held meanwhile, and only then is the Resume sent at the
 * durable point (PROTOCOL.md section 8.1). It must never count a byte above a durable
 * point, never block the loop for more than a slice, and never let staged bytes that
 * differ from what the record says be resumed: such staging is dropped and the message
 * received whole again.
 * Error policy: a failed durable step is logged and the stage goes on (it only resumes
 * from less after a restart); a record too old or beyond the bounds is dropped, logged.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "crash.h"
#include "inboxint.h"
#include "link.h"
#include "log.h"
#include "peer.h"
#include "rogatoryd.h"
#include "stagerec.h"

#define IB_REHASH_READ (1u << 20)

static void ib_rehash_cb(evutil_socket_t fd, short what, void *arg);

/* ---- durable steps ---- */

void
ib_keep_step(struct inbox *ib, struct ib_stage *st, struct link *l)
{
	char err[300];
	if (st->discard || st->rehashing || link_version(l) < PROTOCOL_VERSION_RESUME ||
	    st->as.received - st->durable_recv < IB_DURABLE_STEP || st->doc.n_atts == 0)
		return;
	struct stagerec *r = calloc(1, sizeof(*r));
	if (r == NULL)
		fatal("out of memory");
	r->bset = st->bset;
	snprintf(r->sender, sizeof(r->sender), "%s", st->peer);
	snprintf(r->msg_id, sizeof(r->msg_id), "%s", st->msg_id);
	memcpy(r->payload_hash, st->doc.payload_hash, STAGEREC_HASH_LEN);
	r->size = st->doc.size;
	r->started_s = st->started_s;
	r->n = st->doc.n_atts;
	for (size_t i = 0; i < r->n; i++) {
		r->sizes[i] = st->doc.atts[i].size;
		memcpy(r->sha256[i], st->doc.atts[i].sha256, STAGEREC_HASH_LEN);
	}
	r->att = (uint32_t)st->as.cur;
	r->off = st->as.off;
	uint32_t from = st->durable_att < r->att ? st->durable_att : r->att;
	uint64_t t0 = link_now_ms();
	if (assembly_prefix_sha256(&st->as, r->prefix) != 0 ||
	    store_stage_durable(ib->d->store, r, from, err, sizeof(err)) != 0) {
		log_warn("inbox: %s from %s: staging not made durable at %" PRIu64 " bytes (a "
		    "restart would lose it): %s", st->msg_id, st->peer, st->as.received, err);
		/* Tried again after the next step's worth of bytes. */
		st->durable_recv = st->as.received;
		free(r);
		return;
	}
	st->durable_att = r->att;
	st->durable_off = r->off;
	st->durable_recv = st->as.received;
	free(r);
	log_debug("inbox: %s from %s: staging durable at attachment %" PRIu32 " offset %"
	    PRIu64 " (files synced and record written in %" PRIu64 " ms)", st->msg_id, st->peer,
	    st->durable_att, st->durable_off, link_now_ms() - t0);
	crash_point("inbox-stage-durable");
}

/* ---- at start ---- */

static int
rec_newest_first(const void *a, const void *b)
{
	const struct stagerec *x = a, *y = b;
	return x->started_s < y->started_s ? 1 : x->started_s > y->started_s ? -1 : 0;
}

static unsigned
kept_of(const struct inbox *ib, const char *peer)
{
	unsigned n = 0;
	for (const struct ib_stage *st = ib->stages; st != NULL; st = st->next)
		if (st->kept && (peer == NULL || strcmp(st->peer, peer) == 0))
			n++;
	return n;
}

/* The staging of r, which is not restored, removed by the store thread. */
static void
rec_drop(struct inbox *ib, const struct stagerec *r, const char *why)
{
	log_warn("inbox: staging of %s from %s kept across the restart (%" PRIu64 " bytes "
	    "durable) removed: %s", r->msg_id, r->sender, stagerec_durable_bytes(r), why);
	struct journal_op *jo = journal_op_new(ib->d, STORE_OP_DROP_SET);
	jo->op.chunk.bset = r->bset;
	journal_submit(jo);
}

void
ib_keep_restore(struct inbox *ib)
{
	struct stagerec *recs = NULL;
	size_t n = 0;
	char why[200];
	store_stage_kept(ib->d->store, &recs, &n);
	if (n > 1)
		qsort(recs, n, sizeof(*recs), rec_newest_first);
	int64_t now_s = (int64_t)(link_wall_ms() / 1000);
	uint64_t now_ms = link_now_ms();
	for (size_t i = 0; i < n; i++) {
		struct stagerec *r = &recs[i];
		int64_t age = now_s - r->started_s;
		if (age < 0)
			age = 0;
		if ((uint64_t)age * 1000 > ib->d->cfg->staging_timeout_ms) {
			snprintf(why, sizeof(why), "begun %" PRId64 " s ago, more than [delivery] "
			    "staging_timeout", age);
			rec_drop(ib, r, why);
			continue;
		}
		if (r->size > ib->d->cfg->max_message_size) {
			snprintf(why, sizeof(why), "a message of %" PRIu64 " bytes, more than [delivery]"
			    " max_message_size", r->size);
			rec_drop(ib, r, why);
			continue;
		}
		if (kept_of(ib, r->sender) >= IB_KEPT_PEER_MAX || kept_of(ib, NULL) >= IB_KEPT_MAX) {
			snprintf(why, sizeof(why), "more than %d kept stages for %s or %d in all",
			    IB_KEPT_PEER_MAX, r->sender, IB_KEPT_MAX);
			rec_drop(ib, r, why);
			continue;
		}
		struct ib_stage *st = calloc(1, sizeof(*st));
		struct stagerec *own = malloc(sizeof(*own));
		if (st == NULL || own == NULL)
			fatal("out of memory");
		*own = *r;
		st->ib = ib;
		st->rec = own;
		st->kept = true;
		st->restored = true;
		st->bset = r->bset;
		st->started_s = r->started_s;
		st->started_ms = now_ms > (uint64_t)age * 1000 ? now_ms - (uint64_t)age * 1000 : 0;
		snprintf(st->peer, sizeof(st->peer), "%s", r->sender);
		snprintf(st->msg_id, sizeof(st->msg_id), "%s", r->msg_id);
		/* What ib_stage_resume matches a resend by, and what the quota holds. */
		snprintf(st->doc.msg_id, sizeof(st->doc.msg_id), "%s", r->msg_id);
		snprintf(st->doc.sender, sizeof(st->doc.sender), "%s", r->sender);
		memcpy(st->doc.payload_hash, r->payload_hash, STORE_HASH_LEN);
		st->doc.size = r->size;
		st->next = ib->stages;
		ib->stages = st;
		char qwhy[200];
		/* Loads the sender's figure first, so the staged bytes count on top of it. */
		(void)ib_quota_check(ib, ib_peer_get(ib, r->sender), 0, qwhy, sizeof(qwhy));
		ib_quota_add(ib, r->sender, (int64_t)r->size);
		log_info("inbox: %s from %s: staging kept across the restart (%" PRIu64 " of %"
		    PRIu64 " bytes durable); a resend resumes at attachment %" PRIu32 " offset %"
		    PRIu64, r->msg_id, r->sender, stagerec_durable_bytes(r), r->size, r->att, r->off);
	}
	free(recs);
}

/* ---- a restored stage taken up ---- */

/* Whether the record names the manifest of the accepted Transfer. */
static bool
rec_matches(const struct stagerec *r, const Rogatory__V1__DocumentBody *b, uint64_t size)
{
	if (r->n != b->n_attachments || r->size != size)
		return false;
	for (size_t i = 0; i < r->n; i++)
		if (r->sizes[i] != b->attachments[i]->size ||
		    b->attachments[i]->sha256.len != STAGEREC_HASH_LEN ||
		    memcmp(r->sha256[i], b->attachments[i]->sha256.data, STAGEREC_HASH_LEN) != 0)
			return false;
	return true;
}

/* st's assembly from the start, against its document's manifest. 0 / -1 + err. */
static int
keep_assembly_init(struct ib_stage *st, char *err, size_t errlen)
{
	uint64_t sizes[WIRE_ATTACHMENTS_MAX];
	uint8_t hashes[WIRE_ATTACHMENTS_MAX * ASSEMBLY_HASH_LEN];
	for (size_t i = 0; i < st->doc.n_atts; i++) {
		sizes[i] = st->doc.atts[i].size;
		memcpy(hashes + i * ASSEMBLY_HASH_LEN, st->doc.atts[i].sha256, ASSEMBLY_HASH_LEN);
	}
	return assembly_init(&st->as, st->doc.n_atts, sizes, hashes, err, errlen);
}

bool
ib_keep_take_up(struct inbox *ib, struct ib_stage *st, struct link *l,
    const Rogatory__V1__Transfer *t, const Rogatory__V1__DocumentBody *b, const char *mid,
    const uint8_t hash[32], uint64_t size)
{
	char err[300];
	const char *peer = link_peer_id(l);
	if (!rec_matches(st->rec, b, size)) {
		log_warn("inbox: %s from %s: staging kept across the restart names another "
		    "manifest; dropped, the message is received whole", mid, peer);
		ib_stage_drop(ib, st, false);
		return false;
	}
	ib_stage_doc_fill(ib, st, peer, t, b, mid, hash, size);
	if (keep_assembly_init(st, err, sizeof(err)) != 0) {
		ib_stage_drop(ib, st, false);
		return false;
	}
	st->restored = false;
	st->kept = false;
	st->link_serial = link_serial(l);
	st->resumed = true;
	st->resume_att = st->rec->att;
	st->resume_off = st->rec->off;
	st->durable_att = st->rec->att;
	st->durable_off = st->rec->off;
	st->rehashing = true;
	st->rehash = evtimer_new(ib->d->base, ib_rehash_cb, st);
	if (st->rehash == NULL)
		fatal("out of memory");
	link_hold(l, LINK_HOLD_REHASH, true);
	log_info("inbox: %s from %s: resent; reading back %" PRIu64 " staged bytes kept across "
	    "the restart before resuming", mid, peer, stagerec_durable_bytes(st->rec));
	struct timeval zero = {0, 0};
	evtimer_add(st->rehash, &zero);
	return true;
}

/* The staged prefix does not hash as it should: dropped, the stage starts over in a new
 * blob set; the sender, which heard no Resume, sends from 0 as it does. */
static void
ib_rehash_failed(struct inbox *ib, struct ib_stage *st, struct link *l, const char *why)
{
	char err[300];
	log_warn("inbox: %s from %s: staging kept across the restart does not match what its "
	    "record says (%s); dropped, the message is received whole", st->msg_id, st->peer,
	    why);
	struct journal_op *jo = journal_op_new(ib->d, STORE_OP_DROP_SET);
	jo->op.chunk.bset = st->bset;
	journal_submit(jo);
	ib_keep_release(st);
	st->rehashing = false;
	st->resumed = false;
	st->durable_att = 0;
	st->durable_off = 0;
	st->durable_recv = 0;
	st->bset = store_bset_new(ib->d->store);
	st->doc.bset = st->bset;
	assembly_free(&st->as);
	if (keep_assembly_init(st, err, sizeof(err)) != 0)
		fatal("%s", err);   /* it was initialised with the same manifest before */
	link_hold(l, LINK_HOLD_REHASH, false);
}

/* The prefix re-hashed up to the durable point: the Resume, and the link reads again. */
static void
ib_rehash_done(struct ib_stage *st, struct link *l)
{
	ib_keep_release(st);
	st->rehashing = false;
	st->durable_recv = st->as.received;
	ib_send_resume(l, st);
	link_hold(l, LINK_HOLD_REHASH, false);
	log_info("inbox: %s from %s: resuming at attachment %" PRIu32 " offset %" PRIu64 " (%"
	    PRIu64 " of %" PRIu64 " bytes held across the restart)", st->msg_id, st->peer,
	    st->resume_att, st->resume_off, st->as.received, st->as.total);
}

/* Reads back and hashes up to `budget` bytes of the prefix. 1 at the point, 0 more to
 * do, -1 with why. */
static int
ib_rehash_slice(struct inbox *ib, struct ib_stage *st, uint8_t *buf, char *why, size_t whylen)
{
	size_t budget = IB_REHASH_SLICE;
	while (budget > 0) {
		struct assembly *a = &st->as;
		if (a->cur == st->resume_att && a->off == st->resume_off)
			return 1;
		if (a->cur > st->resume_att || a->cur >= a->n)
			return err_set(why, whylen, "past the durable point");
		uint64_t limit = a->cur < st->resume_att ? a->parts[a->cur].size : st->resume_off;
		uint64_t left = limit - a->off;
		size_t take = left < IB_REHASH_READ ? (size_t)left : IB_REHASH_READ;
		if (take > budget)
			take = budget;
		uint32_t att = (uint32_t)a->cur;
		uint64_t off = a->off;
		if (store_stage_read(ib->d->store, st->bset, att, off, buf, take, why, whylen) != 0)
			return -1;
		enum assembly_status s = assembly_add(a, att, off, buf, take, why, whylen);
		if (s != ASSEMBLY_MORE)
			return s == ASSEMBLY_COMPLETE ? err_set(why, whylen, "complete below the "
			    "durable point") : -1;
		budget -= take;
	}
	return 0;
}

static void
ib_rehash_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ib_stage *st = arg;
	struct inbox *ib = st->ib;
	char why[300];
	struct link *l = peers_link_find(ib->d->peers, st->link_serial);
	if (l == NULL)
		return;   /* inbox_link_down keeps or drops the stage */
	uint8_t *buf = malloc(IB_REHASH_READ);
	if (buf == NULL)
		fatal("out of memory");
	int r = ib_rehash_slice(ib, st, buf, why, sizeof(why));
	free(buf);
	uint8_t prefix[STAGEREC_HASH_LEN];
	if (r == 1 && (assembly_prefix_sha256(&st->as, prefix) != 0 ||
	    memcmp(prefix, st->rec->prefix, sizeof(prefix)) != 0)) {
		snprintf(why, sizeof(why), "attachment %" PRIu32 ": SHA-256 of its %" PRIu64 " "
		    "staged bytes differs from the record's", st->resume_att, st->resume_off);
		r = -1;
	}
	if (r < 0) {
		ib_rehash_failed(ib, st, l, why);
	} else if (r == 1) {
		ib_rehash_done(st, l);
	} else {
		struct timeval zero = {0, 0};
		evtimer_add(st->rehash, &zero);
	}
}

/* ---- bounds and release ---- */

void
ib_keep_bound(struct inbox *ib)
{
	for (;;) {
		struct ib_stage *oldest = NULL;
		bool all = kept_of(ib, NULL) > IB_KEPT_MAX;
		for (struct ib_stage *st = ib->stages; st != NULL; st = st->next) {
			if (!st->kept || (!all && kept_of(ib, st->peer) <= IB_KEPT_PEER_MAX))
				continue;
			if (oldest == NULL || st->started_ms < oldest->started_ms)
				oldest = st;
		}
		if (oldest == NULL)
			return;
		log_warn("inbox: %s from %s: kept staging dropped: more than %d kept for %s or %d "
		    "in all", oldest->msg_id, oldest->peer, IB_KEPT_PEER_MAX, oldest->peer,
		    IB_KEPT_MAX);
		ib_stage_drop(ib, oldest, false);
	}
}

void
ib_keep_release(struct ib_stage *st)
{
	if (st->rehash != NULL) {
		event_free(st->rehash);
		st->rehash = NULL;
	}
	free(st->rec);
	st->rec = NULL;
}
