/*
 * alerts: the alert conditions at work (contract in alerts.h). The in-memory set of
 * active alerts decides "once": a condition is submitted to the store when it starts
 * and when it ends, never again in between, whatever the store answers (a store too full
 * to record an alert still has it logged once). It must never fire an alert the rules
 * did not return, and never stop the daemon: a failed snapshot skips one check.
 */
#include "alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "alertrule.h"
#include "config.h"
#include "journal.h"
#include "log.h"
#include "rogatoryd.h"
#include "snapshot.h"

#define ALERTS_MAX 1024

struct alert_state {
	struct store_alert a;
	bool pending;           /* its op (fire or clear) not committed yet */
	bool seen;              /* evaluated by this check */
};

struct alert_down {
	char id[AUTHORITY_ID_MAX + 1];
	int64_t since_us;
};

struct alerts {
	struct rogatoryd *d;
	struct event *timer;
	uint64_t interval_ms;
	uint64_t checks;            /* checks run since start (the debug log counts them) */
	struct alert_state *v;
	size_t n, cap;
	struct store_alert *view;   /* alerts_active's copy */
	struct alert_down *down;
	size_t ndown;
};

/* What an op's completion needs. */
struct alert_call {
	struct alerts *a;
	bool on;
};

static void alerts_tick(evutil_socket_t fd, short what, void *arg);
static void alerts_arm(struct alerts *a);
static struct alert_state *state_find(struct alerts *a, const char *name, const char *subject);
static struct alert_state *state_add(struct alerts *a, const char *name, const char *subject);
static void state_drop(struct alerts *a, struct alert_state *s);
static void verdict(void *arg, const struct alert_rule *r, const char *subject,
    enum alert_verdict v, const char *detail);
static void submit(struct alerts *a, struct alert_state *s, bool on, const char *detail);
static void submit_done(struct journal_op *jo);
static int64_t down_since(struct alerts *a, const struct snapshot_peer *p, int64_t now_us);

int
alerts_new(struct rogatoryd *d, struct alerts **out, char *err, size_t errlen)
{
	struct alerts *a = calloc(1, sizeof(*a));
	struct store_alert *v = calloc(ALERTS_MAX, sizeof(*v));
	*out = NULL;
	if (a == NULL || v == NULL) {
		free(a);
		free(v);
		return err_set(err, errlen, "out of memory");
	}
	a->d = d;
	int n = store_alerts_list(d->store, v, ALERTS_MAX);
	if (n < 0) {
		free(v);
		free(a);
		return err_set(err, errlen, "cannot read the active alerts from the store");
	}
	for (int i = 0; i < n; i++) {
		struct alert_state *s = state_add(a, v[i].name, v[i].subject);
		s->a = v[i];
		log_warn("alert %s%s%s still active since the last run: %s", v[i].name,
		    v[i].subject[0] ? " " : "", v[i].subject, v[i].detail);
	}
	free(v);
	a->timer = event_new(d->base, -1, 0, alerts_tick, a);
	if (a->timer == NULL) {
		alerts_free(a);
		return err_set(err, errlen, "cannot start the alerts timer");
	}
	alerts_arm(a);
	*out = a;
	return 0;
}

void
alerts_free(struct alerts *a)
{
	if (a == NULL)
		return;
	if (a->timer != NULL)
		event_free(a->timer);
	free(a->v);
	free(a->view);
	free(a->down);
	free(a);
}

/* One shot at the interval in force (a reload may have changed it). */
static void
alerts_arm(struct alerts *a)
{
	uint64_t ms = a->d->cfg->alert_interval_ms;
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
	    .tv_usec = (suseconds_t)((ms % 1000) * 1000)};
	a->interval_ms = ms;
	event_add(a->timer, &tv);
}

static void
alerts_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct alerts *a = arg;
	if (!a->d->stopping)
		alerts_check(a);
	alerts_arm(a);
}

static struct alert_state *
state_find(struct alerts *a, const char *name, const char *subject)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].a.name, name) == 0 && strcmp(a->v[i].a.subject, subject) == 0)
			return &a->v[i];
	return NULL;
}

static struct alert_state *
state_add(struct alerts *a, const char *name, const char *subject)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct alert_state *v = realloc(a->v, cap * sizeof(*v));
		if (v == NULL)
			fatal("out of memory");
		a->v = v;
		a->cap = cap;
	}
	struct alert_state *s = &a->v[a->n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->a.name, sizeof(s->a.name), "%s", name);
	snprintf(s->a.subject, sizeof(s->a.subject), "%s", subject);
	return s;
}

static void
state_drop(struct alerts *a, struct alert_state *s)
{
	*s = a->v[--a->n];
}

/* When p, needed and without a link, was first seen so; 0 when it is reachable or not
 * being dialed. Kept in memory: a restart starts counting again (a peer-down recorded
 * before stays active until a link comes up). */
static int64_t
down_since(struct alerts *a, const struct snapshot_peer *p, int64_t now_us)
{
	bool down = p->listed && p->links_up == 0 &&
	    (p->state == PEER_CONNECTING || p->state == PEER_BACKOFF);
	for (size_t i = 0; i < a->ndown; i++) {
		if (strcmp(a->down[i].id, p->id) != 0)
			continue;
		if (down)
			return a->down[i].since_us;
		a->down[i] = a->down[--a->ndown];
		return 0;
	}
	if (!down)
		return 0;
	struct alert_down *v = realloc(a->down, (a->ndown + 1) * sizeof(*v));
	if (v == NULL)
		fatal("out of memory");
	a->down = v;
	snprintf(v[a->ndown].id, sizeof(v[a->ndown].id), "%s", p->id);
	v[a->ndown].since_us = now_us;
	a->ndown++;
	return now_us;
}

void
alerts_check(struct alerts *a)
{
	struct rogatoryd *d = a->d;
	struct snapshot snap;
	if (snapshot_take(d, &snap) != 0 || !snap.store_read) {
		/* Without the queue's statistics nothing can be said of stuck messages. */
		snapshot_free(&snap);
		log_warn("alerts: cannot take a reading of the store; check skipped");
		return;
	}
	struct alert_subject *subs = calloc(snap.npeers + 1, sizeof(*subs));
	if (subs == NULL)
		fatal("out of memory");
	size_t n = 0;
	subs[n++] = (struct alert_subject){.id = snap.self, .self = true, .listed = true,
	    .cert_not_after = snap.own_not_after, .link_up = true, .last_error = ""};
	for (size_t i = 0; i < snap.npeers; i++) {
		const struct snapshot_peer *p = &snap.peers[i];
		if (strcmp(p->id, snap.self) == 0)
			continue;
		subs[n++] = (struct alert_subject){.id = p->id, .cert_not_after = p->cert_not_after,
		    .listed = p->listed, .paused = p->paused, .link_up = p->links_up > 0,
		    .unreachable_since_us = down_since(a, p, snap.now_us),
		    .last_error = p->last_error, .oldest_open_us = p->oldest_open_us,
		    .open = p->open, .audit_fork = p->audit_fork};
	}
	const struct config *c = d->cfg;
	struct alert_input in = {.now_us = snap.now_us, .subjects = subs, .nsubjects = n,
	    .crl_on = snap.crl_on, .crl_number = snap.crl_number,
	    .crl_this_update = snap.crl_this_update, .crl_next_update = snap.crl_next_update,
	    .store_bytes = snap.store_bytes, .store_max = snap.store_max,
	    .disk_free = snap.disk_free, .disk_total = snap.disk_total,
	    .peer_down_after_ms = c->alert_peer_down_after_ms,
	    .stuck_after_ms = c->alert_stuck_after_ms,
	    .store_full_percent = c->alert_store_full_percent};
	for (size_t i = 0; i < a->n; i++)
		a->v[i].seen = false;
	alertrule_eval(&in, verdict, a);
	/* A subject no rule spoke of any more (an authority that left the directory with
	 * nothing waiting for it): its alerts are over. */
	for (size_t i = 0; i < a->n; i++) {
		struct alert_state *s = &a->v[i];
		if (!s->seen && !s->pending) {
			char why[256];
			snprintf(why, sizeof(why), "%s no longer applies (%s is gone)", s->a.name,
			    s->a.subject[0] ? s->a.subject : "its subject");
			submit(a, s, false, why);
		}
	}
	free(subs);
	snapshot_free(&snap);
	log_debug("alerts: check %llu done, %zu active", (unsigned long long)++a->checks, a->n);
}

static void
verdict(void *arg, const struct alert_rule *r, const char *subject, enum alert_verdict v,
    const char *detail)
{
	struct alerts *a = arg;
	struct alert_state *s = state_find(a, r->name, subject);
	if (s != NULL)
		s->seen = true;
	if (v == ALERT_FIRE && s == NULL) {
		s = state_add(a, r->name, subject);
		s->seen = true;
		submit(a, s, true, detail);
	} else if (v == ALERT_CLEAR && s != NULL && !s->pending) {
		submit(a, s, false, detail);
	}
}

/* Records a start (on) or an end; the in-memory state already says so. */
static void
submit(struct alerts *a, struct alert_state *s, bool on, const char *detail)
{
	struct journal_op *jo = journal_op_new(a->d, STORE_OP_ALERT);
	struct alert_call *call = calloc(1, sizeof(*call));
	if (call == NULL)
		fatal("out of memory");
	call->a = a;
	call->on = on;
	jo->op.on = on;
	snprintf(jo->op.event.alert, sizeof(jo->op.event.alert), "%s", s->a.name);
	snprintf(jo->op.event.peer, sizeof(jo->op.event.peer), "%s", s->a.subject);
	snprintf(jo->op.event.reason, sizeof(jo->op.event.reason), "%s", detail);
	if (on) {
		snprintf(s->a.detail, sizeof(s->a.detail), "%s", detail);
		log_warn("alert %s%s%s: %s", s->a.name, s->a.subject[0] ? " " : "", s->a.subject,
		    detail);
	} else {
		log_notice("alert %s%s%s cleared: %s", s->a.name, s->a.subject[0] ? " " : "",
		    s->a.subject, detail);
	}
	s->pending = true;
	jo->arg = call;
	jo->done = submit_done;
	journal_submit(jo);
}

static void
submit_done(struct journal_op *jo)
{
	struct alert_call *call = jo->arg;
	struct alerts *a = call->a;
	struct alert_state *s = state_find(a, jo->op.event.alert, jo->op.event.peer);
	if (s != NULL) {
		s->pending = false;
		if (!call->on)
			state_drop(a, s);
		else if (jo->op.result == STORE_R_OK)
			s->a.since_us = jo->op.event.ts_us;
	}
	if (jo->op.result != STORE_R_OK && jo->op.result != STORE_R_STALE)
		log_warn("alert %s %s not recorded: %s (%s)", jo->op.event.alert,
		    call->on ? "start" : "end", store_result_name(jo->op.result), jo->op.error);
	free(call);
}

size_t
alerts_active(struct alerts *a, const struct store_alert **out)
{
	free(a->view);
	a->view = calloc(a->n ? a->n : 1, sizeof(*a->view));
	if (a->view == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < a->n; i++)
		a->view[i] = a->v[i].a;
	*out = a->view;
	return a->n;
}
