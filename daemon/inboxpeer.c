/*
 * inboxpeer: what each sending authority costs this daemon, and the brakes on it. Its
 * quota ([delivery] peer_quota: bytes held unsettled), its received bytes still waiting
 * for the store ([limits] max_inbound_bytes per authority, max_inbound_total for all:
 * above them links stop reading), and how often its duplicates are recorded. It must
 * never let a peer that sends faster than the disk commits grow our memory without
 * bound, nor a peer that resends forever grow the event log without bound.
 * Error policy: a store that cannot say a quota figure makes the caller answer
 * TRY_LATER; nothing here is fatal but running out of memory.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "inboxint.h"
#include "link.h"
#include "log.h"
#include "peer.h"
#include "rogatoryd.h"

struct ib_peer *
ib_peer_get(struct inbox *ib, const char *id)
{
	for (struct ib_peer *p = ib->peers; p != NULL; p = p->next)
		if (strcmp(p->id, id) == 0)
			return p;
	/* Authenticated authorities of the directory only: the list is bounded by it. */
	struct ib_peer *p = calloc(1, sizeof(*p));
	if (p == NULL)
		fatal("out of memory");
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->next = ib->peers;
	ib->peers = p;
	return p;
}

void
ib_peers_free(struct inbox *ib)
{
	while (ib->peers != NULL) {
		struct ib_peer *p = ib->peers;
		ib->peers = p->next;
		free(p);
	}
}

int
ib_quota_check(struct inbox *ib, struct ib_peer *p, uint64_t bytes, char *why, size_t whylen)
{
	uint64_t quota = ib->d->cfg->peer_quota;
	if (!p->loaded) {
		/* Loaded once, then kept: a figure loaded later reads committed changes. */
		int64_t v = store_unsettled(ib->d->store, p->id);
		if (v < 0)
			return -1;
		p->unsettled = v;
		p->loaded = true;
	}
	if (quota == 0 || (uint64_t)p->unsettled + bytes <= quota)
		return 0;
	snprintf(why, whylen, "quota: %s holds %" PRId64 " bytes here unsettled; [delivery] "
	    "peer_quota is %" PRIu64, p->id, p->unsettled, quota);
	return 1;
}

void
ib_quota_add(struct inbox *ib, const char *peer, int64_t bytes)
{
	struct ib_peer *p = ib_peer_get(ib, peer);
	/* Only a figure already loaded: one loaded later reads the committed change. */
	if (!p->loaded)
		return;
	p->unsettled += bytes;
	if (p->unsettled < 0)
		p->unsettled = 0;
}

void
ib_queued_add(struct inbox *ib, const char *peer, int64_t bytes)
{
	const struct config *c = ib->d->cfg;
	struct ib_peer *p = ib_peer_get(ib, peer);
	if (bytes < 0 && (uint64_t)-bytes > p->queued)
		bytes = -(int64_t)p->queued;
	if (bytes < 0 && (uint64_t)-bytes > ib->queued_total)
		bytes = -(int64_t)ib->queued_total;
	p->queued += (uint64_t)bytes;
	ib->queued_total += (uint64_t)bytes;
	/* Above the mark: hold (again: a link that came up since holds too). */
	if (p->queued > c->max_inbound_bytes) {
		if (!p->held)
			log_info("inbox: %s: %" PRIu64 " bytes wait for the store; its links stop "
			         "reading ([limits] max_inbound_bytes)", p->id, p->queued);
		p->held = true;
		peers_hold_inbound(ib->d->peers, p->id, LINK_HOLD_PEER, true);
	} else if (p->held && p->queued <= c->max_inbound_bytes / 2) {
		p->held = false;
		peers_hold_inbound(ib->d->peers, p->id, LINK_HOLD_PEER, false);
	}
	if (ib->queued_total > c->max_inbound_total) {
		if (!ib->total_held)
			log_info("inbox: %" PRIu64 " received bytes wait for the store; every inbound "
			         "link stops reading ([limits] max_inbound_total)", ib->queued_total);
		ib->total_held = true;
		peers_hold_inbound(ib->d->peers, NULL, LINK_HOLD_TOTAL, true);
	} else if (ib->total_held && ib->queued_total <= c->max_inbound_total / 2) {
		ib->total_held = false;
		peers_hold_inbound(ib->d->peers, NULL, LINK_HOLD_TOTAL, false);
	}
}

bool
ib_duplicate_record(struct inbox *ib, struct ib_peer *p, unsigned *unlogged)
{
	(void)ib;
	uint64_t now = link_now_ms();
	if (p->dup_refill_ms == 0) {
		p->dup_tokens = IB_DUP_BURST;
		p->dup_refill_ms = now;
	} else if (now - p->dup_refill_ms >= IB_DUP_EVERY_MS) {
		uint64_t add = (now - p->dup_refill_ms) / IB_DUP_EVERY_MS;
		p->dup_tokens = add >= IB_DUP_BURST - p->dup_tokens ? IB_DUP_BURST
		                                                  : p->dup_tokens + (unsigned)add;
		p->dup_refill_ms += add * IB_DUP_EVERY_MS;
	}
	if (p->dup_tokens == 0) {
		p->dup_unlogged++;
		return false;
	}
	p->dup_tokens--;
	*unlogged = p->dup_unlogged;
	p->dup_unlogged = 0;
	return true;
}
