/*
 * snapshot: gathers one reading (contract in snapshot.h) from peers, tls, revocation,
 * pause and the store's statistics. It must never change what it reads, and a failed
 * store read is a gap in the reading (store_read false), not an error that stops the
 * metrics or the alerts.
 */
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "config.h"
#include "crl.h"
#include "pause.h"
#include "request.h"
#include "revocation.h"
#include "rogatoryd.h"
#include "tls.h"

static struct snapshot_peer *peer_get(struct snapshot *s, const char *id);
static void queue_cb(void *arg, const char *peer, enum store_state state, int64_t count,
    int64_t oldest_created_us);
static void inbox_cb(void *arg, const char *peer, int64_t count);

/* The entry of id, added (not listed) when it is new; NULL when out of memory. */
static struct snapshot_peer *
peer_get(struct snapshot *s, const char *id)
{
	for (size_t i = 0; i < s->npeers; i++)
		if (strcmp(s->peers[i].id, id) == 0)
			return &s->peers[i];
	struct snapshot_peer *v = realloc(s->peers, (s->npeers + 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	s->peers = v;
	struct snapshot_peer *p = &v[s->npeers++];
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	return p;
}

const struct snapshot_peer *
snapshot_peer(const struct snapshot *s, const char *id)
{
	for (size_t i = 0; i < s->npeers; i++)
		if (strcmp(s->peers[i].id, id) == 0)
			return &s->peers[i];
	return NULL;
}

static void
queue_cb(void *arg, const char *peer, enum store_state state, int64_t count,
    int64_t oldest_created_us)
{
	struct snapshot_peer *p = peer_get(arg, peer);
	if (p == NULL)
		return;
	p->queue[state] += count;
	p->open += count;
	if (oldest_created_us > 0 && (p->oldest_open_us == 0 || oldest_created_us < p->oldest_open_us))
		p->oldest_open_us = oldest_created_us;
}

static void
inbox_cb(void *arg, const char *peer, int64_t count)
{
	struct snapshot_peer *p = peer_get(arg, peer);
	if (p != NULL)
		p->unfetched += count;
}

static void
cases_cb(void *arg, enum store_dir dir, const char *state, int64_t count)
{
	struct snapshot *s = arg;
	struct snapshot_cases *grown = realloc(s->cases, (s->ncases + 1) * sizeof(*grown));
	if (grown == NULL)
		return;                   /* a gap in the reading, not an error */
	s->cases = grown;
	struct snapshot_cases *c = &s->cases[s->ncases++];
	c->dir = dir;
	snprintf(c->state, sizeof(c->state), "%s", state);
	c->count = count;
}

int
snapshot_take(struct rogatoryd *d, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->now_us = request_now_us();
	snprintf(s->self, sizeof(s->self), "%s", d->cfg->authority_id);
	s->own_not_after = tls_own_not_after(d->tls);
	const struct crl *crl = d->revocation != NULL ? revocation_crl(d->revocation) : NULL;
	if (crl != NULL) {
		s->crl_on = true;
		s->crl_number = crl_number(crl);
		s->crl_this_update = crl_this_update(crl);
		s->crl_next_update = crl_next_update(crl);
	}
	size_t n = 0;
	struct peer_info *all = d->peers != NULL ? peers_info_all(d->peers, &n) : NULL;
	for (size_t i = 0; i < n; i++) {
		const struct peer_info pi = all[i];
		struct snapshot_peer *p = peer_get(s, pi.id);
		if (p == NULL) {
			free(all);
			return -1;
		}
		p->listed = true;
		p->state = pi.state;
		p->links_up = pi.links_up;
		p->cert_not_after = pi.cert_not_after;
		snprintf(p->last_error, sizeof(p->last_error), "%s", pi.last_error ? pi.last_error : "");
	}
	free(all);
	s->store_bytes = -1;
	s->disk_free = s->disk_total = -1;
	s->store_max = d->cfg->store_max_size;
	if (d->store != NULL) {
		s->store_read = store_queue_stats(d->store, queue_cb, s) == 0 &&
		    store_inbox_stats(d->store, inbox_cb, s) == 0 &&
		    store_case_stats(d->store, cases_cb, s) == 0;
		s->store_bytes = store_size_bytes(d->store);
	}
	for (size_t i = 0; i < s->npeers; i++) {
		s->peers[i].paused = pause_is(d->paused, s->peers[i].id);
		struct store_checkpoint held;
		if (d->store != NULL &&
		    store_audit_witnessed(d->store, s->peers[i].id, &held, 1) == 1) {
			s->peers[i].audit_fork = held.forked_us != 0 && held.forked_us >= held.seen_us;
			store_checkpoint_clear(&held);
		}
	}
	struct statvfs vfs;
	if (statvfs(d->cfg->state_dir, &vfs) == 0) {
		s->disk_free = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
		s->disk_total = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
	}
	return 0;
}

void
snapshot_free(struct snapshot *s)
{
	free(s->peers);
	s->peers = NULL;
	s->npeers = 0;
	free(s->cases);
	s->cases = NULL;
	s->ncases = 0;
}
