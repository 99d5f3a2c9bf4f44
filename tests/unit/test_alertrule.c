/*
 * Unit tests for daemon/alertrule.c: every rule of the table is driven through a reading
 * that fires it, one that clears it and, where a rule has one, one that holds it, with
 * times chosen here (days of certificate validity, hours of down time: no clock). A rule
 * added to the table without a case here fails `every_rule_has_a_case`. The "once" part
 * (one alert, one alert-cleared) is the alerts module's and is tested with real daemons.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "alertrule.h"

#define NOW_S INT64_C(1800000000)           /* 2027-01-15T08:00:00Z */
#define DAY INT64_C(86400)

/* A reading where nothing is wrong: certificates for a year, a CRL just issued, the
 * store nearly empty, the peer linked, nothing waiting. */
struct reading {
	struct alert_subject subs[2];
	struct alert_input in;
};

static void
healthy(struct reading *r)
{
	memset(r, 0, sizeof(*r));
	r->subs[0] = (struct alert_subject){.id = "BD-ACC", .self = true, .listed = true,
	    .cert_not_after = (time_t)(NOW_S + 365 * DAY), .link_up = true, .last_error = ""};
	r->subs[1] = (struct alert_subject){.id = "FR-MJ", .listed = true,
	    .cert_not_after = (time_t)(NOW_S + 365 * DAY), .link_up = true, .last_error = ""};
	r->in = (struct alert_input){.now_us = NOW_S * 1000000, .subjects = r->subs,
	    .nsubjects = 2, .crl_on = true, .crl_number = 4,
	    .crl_this_update = (time_t)(NOW_S - DAY), .crl_next_update = (time_t)(NOW_S + 6 * DAY),
	    .store_bytes = 100 << 20, .store_max = UINT64_C(1) << 30, .disk_free = 1 << 30,
	    .disk_total = INT64_C(2) << 30, .peer_down_after_ms = 3600 * 1000,
	    .stuck_after_ms = 24 * 3600 * 1000, .store_full_percent = 90};
}

/* What the evaluation said, per (rule, subject). */
struct verdicts {
	int n;
	struct {
		char rule[32];
		char subject[32];
		enum alert_verdict v;
		char detail[256];
	} v[64];
};

static void
collect(void *arg, const struct alert_rule *r, const char *subject, enum alert_verdict v,
    const char *detail)
{
	struct verdicts *vs = arg;
	cr_assert(vs->n < 64);
	snprintf(vs->v[vs->n].rule, sizeof(vs->v[vs->n].rule), "%s", r->name);
	snprintf(vs->v[vs->n].subject, sizeof(vs->v[vs->n].subject), "%s", subject);
	vs->v[vs->n].v = v;
	snprintf(vs->v[vs->n].detail, sizeof(vs->v[vs->n].detail), "%s", detail);
	vs->n++;
}

static int
find(const struct verdicts *vs, const char *rule, const char *subject)
{
	for (int i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i].rule, rule) == 0 && strcmp(vs->v[i].subject, subject) == 0)
			return i;
	cr_assert_fail("no verdict for %s %s", rule, subject);
	return -1;
}

/* One case: a change to the healthy reading, the rule and subject it concerns, the
 * verdict expected and a piece of the detail. */
struct rule_case {
	const char *rule;
	const char *subject;
	void (*change)(struct reading *r);
	enum alert_verdict want;
	const char *detail;
};

static void own_cert_in(struct reading *r, int64_t s)
{
	r->subs[0].cert_not_after = (time_t)(NOW_S + s);
}
static void own_29d(struct reading *r) { own_cert_in(r, 29 * DAY); }
static void own_31d(struct reading *r) { own_cert_in(r, 31 * DAY); }
static void own_6d(struct reading *r) { own_cert_in(r, 6 * DAY); }
static void own_8d(struct reading *r) { own_cert_in(r, 8 * DAY); }
static void own_23h(struct reading *r) { own_cert_in(r, 23 * 3600); }
static void own_expired(struct reading *r) { own_cert_in(r, -60); }
static void peer_cert_5d(struct reading *r) { r->subs[1].cert_not_after = (time_t)(NOW_S + 5 * DAY); }
static void peer_cert_unknown(struct reading *r) { r->subs[1].cert_not_after = 0; }
static void crl_last_quarter(struct reading *r)
{
	/* 8 days of validity, 1 left: inside the last 2. */
	r->in.crl_this_update = (time_t)(NOW_S - 7 * DAY);
	r->in.crl_next_update = (time_t)(NOW_S + DAY);
}
static void crl_expired(struct reading *r)
{
	r->in.crl_next_update = (time_t)(NOW_S - 60);
}
static void crl_off(struct reading *r) { r->in.crl_on = false; }
static void peer_down_long(struct reading *r)
{
	r->subs[1].link_up = false;
	r->subs[1].unreachable_since_us = (NOW_S - 2 * 3600) * 1000000;
	r->subs[1].last_error = "connection failed: Connection refused";
}
static void peer_down_short(struct reading *r)
{
	peer_down_long(r);
	r->subs[1].unreachable_since_us = (NOW_S - 600) * 1000000;
}
static void peer_not_dialed(struct reading *r) { r->subs[1].link_up = false; }
/* Just started: messages wait for their first dial. */
static void peer_not_dialed_yet(struct reading *r)
{
	r->subs[1].link_up = false;
	r->subs[1].open = 2;
}
static void peer_paused(struct reading *r)
{
	peer_not_dialed_yet(r);
	r->subs[1].paused = true;
}
static void peer_unlisted(struct reading *r)
{
	peer_down_long(r);
	r->subs[1].listed = false;
}
static void stuck(struct reading *r)
{
	r->subs[1].oldest_open_us = (NOW_S - 25 * 3600) * 1000000;
	r->subs[1].open = 3;
}
static void waiting_young(struct reading *r)
{
	r->subs[1].oldest_open_us = (NOW_S - 3600) * 1000000;
	r->subs[1].open = 3;
}
static void store_91(struct reading *r) { r->in.store_bytes = (int64_t)(r->in.store_max * 91 / 100); }
static void store_90(struct reading *r) { r->in.store_bytes = (int64_t)(r->in.store_max * 90 / 100); }
static void disk_95(struct reading *r)
{
	r->in.store_max = 0;
	r->in.disk_free = r->in.disk_total / 20;
}
static void store_unknown(struct reading *r)
{
	r->in.store_max = 0;
	r->in.disk_total = -1;
}
static void nothing(struct reading *r) { (void)r; }
static void peer_forked(struct reading *r) { r->subs[1].audit_fork = true; }

static const struct rule_case cases[] = {
	{"certificate-expiring-30d", "BD-ACC", own_29d, ALERT_FIRE, "our certificate expires"},
	{"certificate-expiring-30d", "BD-ACC", own_31d, ALERT_CLEAR, "in 31d0h"},
	{"certificate-expiring-30d", "FR-MJ", peer_cert_5d, ALERT_FIRE, "certificate of FR-MJ"},
	{"certificate-expiring-30d", "FR-MJ", peer_cert_unknown, ALERT_HOLD, ""},
	{"certificate-expiring-7d", "BD-ACC", own_6d, ALERT_FIRE, "in 6d0h"},
	{"certificate-expiring-7d", "BD-ACC", own_8d, ALERT_CLEAR, "in 8d0h"},
	{"certificate-expiring-1d", "BD-ACC", own_23h, ALERT_FIRE, "in 23h0m"},
	{"certificate-expiring-1d", "BD-ACC", own_expired, ALERT_FIRE, "expired"},
	{"certificate-expiring-1d", "BD-ACC", own_6d, ALERT_CLEAR, ""},
	{"crl-renewal-due", "", crl_last_quarter, ALERT_FIRE, "last quarter"},
	{"crl-renewal-due", "", crl_expired, ALERT_FIRE, "EXPIRED"},
	{"crl-renewal-due", "", nothing, ALERT_CLEAR, "CRL number 4"},
	{"crl-renewal-due", "", crl_off, ALERT_CLEAR, "revocation is off"},
	{"peer-down", "FR-MJ", peer_down_long, ALERT_FIRE, "FR-MJ unreachable for 2h0m: "
	    "connection failed"},
	{"peer-down", "FR-MJ", peer_down_short, ALERT_HOLD, "unreachable for 10m0s"},
	{"peer-down", "FR-MJ", nothing, ALERT_CLEAR, "reachable again"},
	{"peer-down", "FR-MJ", peer_not_dialed, ALERT_CLEAR, "dialed no more (nothing waits"},
	{"peer-down", "FR-MJ", peer_not_dialed_yet, ALERT_HOLD, ""},
	{"peer-down", "FR-MJ", peer_paused, ALERT_CLEAR, "dialed no more (paused)"},
	{"peer-down", "FR-MJ", peer_unlisted, ALERT_CLEAR, "no longer in the directory"},
	{"messages-stuck", "FR-MJ", stuck, ALERT_FIRE, "3 undelivered messages to FR-MJ"},
	{"messages-stuck", "FR-MJ", waiting_young, ALERT_CLEAR, "older than 1d0h (3 open)"},
	{"messages-stuck", "FR-MJ", nothing, ALERT_CLEAR, "0 open"},
	{"store-full", "", store_91, ALERT_FIRE, "91% of [store] max_size"},
	{"store-full", "", store_90, ALERT_CLEAR, "90% of [store] max_size"},
	{"store-full", "", disk_95, ALERT_FIRE, "95% of the disk"},
	{"store-full", "", store_unknown, ALERT_HOLD, ""},
	{"audit-fork", "FR-MJ", peer_forked, ALERT_FIRE, "audit log of FR-MJ forked"},
	{"audit-fork", "FR-MJ", nothing, ALERT_CLEAR, "extends what we witnessed"},
};

Test(alertrule, every_rule_has_a_case)
{
	for (size_t i = 0; i < alertrule_count(); i++) {
		const struct alert_rule *r = alertrule_at(i);
		bool fire = false, clear = false;
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			if (strcmp(cases[k].rule, r->name) != 0)
				continue;
			fire |= cases[k].want == ALERT_FIRE;
			clear |= cases[k].want == ALERT_CLEAR;
		}
		cr_assert(fire && clear, "rule %s needs a case that fires it and one that clears it",
		    r->name);
		cr_assert(r->fires != NULL && r->fires[0] && r->clears != NULL && r->clears[0],
		    "rule %s: say when it fires and when it clears", r->name);
		cr_assert_eq(alertrule_find(r->name), r);
	}
}

Test(alertrule, names_are_stable_words)
{
	for (size_t i = 0; i < alertrule_count(); i++) {
		const char *n = alertrule_at(i)->name;
		cr_assert(strlen(n) > 0 && strlen(n) < 32, "%s", n);
		cr_assert_eq(strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-"), strlen(n), "%s", n);
		for (size_t k = 0; k < i; k++)
			cr_assert_str_neq(alertrule_at(k)->name, n);
	}
}

Test(alertrule, each_case_gives_its_verdict)
{
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct rule_case *c = &cases[k];
		struct reading r;
		struct verdicts vs = {0};
		healthy(&r);
		c->change(&r);
		alertrule_eval(&r.in, collect, &vs);
		int i = find(&vs, c->rule, c->subject);
		cr_assert_eq(vs.v[i].v, c->want, "case %zu: %s %s: verdict %d, expected %d (%s)", k,
		    c->rule, c->subject, vs.v[i].v, c->want, vs.v[i].detail);
		cr_assert(strstr(vs.v[i].detail, c->detail) != NULL, "case %zu: %s: detail \"%s\" "
		    "lacks \"%s\"", k, c->rule, vs.v[i].detail, c->detail);
	}
}

/* The healthy reading fires nothing; a condition fires its own rule only. */
Test(alertrule, a_condition_fires_its_rule_alone)
{
	struct reading r;
	struct verdicts vs = {0};
	healthy(&r);
	alertrule_eval(&r.in, collect, &vs);
	for (int i = 0; i < vs.n; i++)
		cr_assert_neq(vs.v[i].v, ALERT_FIRE, "%s %s fires on a healthy reading: %s",
		    vs.v[i].rule, vs.v[i].subject, vs.v[i].detail);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		if (cases[k].want != ALERT_FIRE)
			continue;
		memset(&vs, 0, sizeof(vs));
		healthy(&r);
		cases[k].change(&r);
		alertrule_eval(&r.in, collect, &vs);
		for (int i = 0; i < vs.n; i++) {
			bool same_family = strncmp(vs.v[i].rule, cases[k].rule, 20) == 0 &&
			    strncmp(cases[k].rule, "certificate-expiring", 20) == 0;
			if (strcmp(vs.v[i].rule, cases[k].rule) != 0 && !same_family)
				cr_assert_neq(vs.v[i].v, ALERT_FIRE, "case %zu (%s) also fires %s", k,
				    cases[k].rule, vs.v[i].rule);
		}
	}
}

/* Scopes: peer rules never speak of this authority; the others of each subject once. */
Test(alertrule, scopes)
{
	struct reading r;
	struct verdicts vs = {0};
	healthy(&r);
	alertrule_eval(&r.in, collect, &vs);
	for (size_t i = 0; i < alertrule_count(); i++) {
		const struct alert_rule *rule = alertrule_at(i);
		int self = 0, peer = 0, none = 0;
		for (int k = 0; k < vs.n; k++) {
			if (strcmp(vs.v[k].rule, rule->name) != 0)
				continue;
			self += strcmp(vs.v[k].subject, "BD-ACC") == 0;
			peer += strcmp(vs.v[k].subject, "FR-MJ") == 0;
			none += vs.v[k].subject[0] == '\0';
		}
		int want_self = rule->scope == ALERT_SCOPE_ALL, want_peer =
		    rule->scope != ALERT_SCOPE_NONE, want_none = rule->scope == ALERT_SCOPE_NONE;
		cr_assert(self == want_self && peer == want_peer && none == want_none,
		    "%s: self %d peer %d none %d", rule->name, self, peer, none);
	}
}
