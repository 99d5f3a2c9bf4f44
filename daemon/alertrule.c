/*
 * alertrule: the alert conditions, one row each (contract in alertrule.h). A rule reads
 * only its input and writes only its detail: no clock, no I/O, no state, so that the unit
 * tests drive each row through firing and clearing with times of their choosing.
 */
#include "alertrule.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define DAY_S INT64_C(86400)

static enum alert_verdict check_cert(const struct alert_rule *r, const struct alert_input *in,
    const struct alert_subject *sub, char *detail, size_t len);
static enum alert_verdict check_crl(const struct alert_rule *r, const struct alert_input *in,
    const struct alert_subject *sub, char *detail, size_t len);
static enum alert_verdict check_peer_down(const struct alert_rule *r,
    const struct alert_input *in, const struct alert_subject *sub, char *detail, size_t len);
static enum alert_verdict check_stuck(const struct alert_rule *r, const struct alert_input *in,
    const struct alert_subject *sub, char *detail, size_t len);
static enum alert_verdict check_store(const struct alert_rule *r, const struct alert_input *in,
    const struct alert_subject *sub, char *detail, size_t len);
static enum alert_verdict check_fork(const struct alert_rule *r, const struct alert_input *in,
    const struct alert_subject *sub, char *detail, size_t len);
static const char *fmt_time(int64_t unix_s, char *buf, size_t len);
static const char *fmt_span(int64_t s, char *buf, size_t len);

static const struct alert_rule rules[] = {
	{ "certificate-expiring-30d", ALERT_SCOPE_ALL,
	  "a certificate (ours, or a peer's as last seen) expires within 30 days",
	  "it is renewed (a reload with the new one; a peer's at its next link)",
	  check_cert, 30 },
	{ "certificate-expiring-7d", ALERT_SCOPE_ALL,
	  "a certificate expires within 7 days", "it is renewed", check_cert, 7 },
	{ "certificate-expiring-1d", ALERT_SCOPE_ALL,
	  "a certificate expires within 1 day", "it is renewed", check_cert, 1 },
	{ "crl-renewal-due", ALERT_SCOPE_NONE,
	  "the effective CRL's nextUpdate is within a quarter of its validity (or past)",
	  "a fresher CRL is in force (rogatoryctl crl install), or revocation is off",
	  check_crl, 0 },
	{ "peer-down", ALERT_SCOPE_PEERS,
	  "an authority we keep dialing (messages wait for it, or an operator asked) has "
	  "been unreachable for [alerts] peer_down_after",
	  "a link to it is up, or it is dialed no more", check_peer_down,
	  0 },
	{ "messages-stuck", ALERT_SCOPE_PEERS,
	  "a message to an authority is undelivered [alerts] stuck_after after its submission",
	  "no message to it is that old and undelivered", check_stuck, 0 },
	{ "store-full", ALERT_SCOPE_NONE,
	  "the store uses more than [alerts] store_full_percent of [store] max_size (or of "
	  "its disk when there is none)", "its use is at or below that percentage again",
	  check_store, 0 },
	{ "audit-fork", ALERT_SCOPE_PEERS,
	  "as its witness we hold two signed checkpoints of this authority's audit log that do "
	  "not extend one another (rewritten, or restored from an older backup)",
	  "a later checkpoint of it that extends the one we hold is accepted (the proof stays "
	  "kept: rogatoryctl audit status)", check_fork, 0 },
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

size_t
alertrule_count(void)
{
	return NRULES;
}

const struct alert_rule *
alertrule_at(size_t i)
{
	return i < NRULES ? &rules[i] : NULL;
}

const struct alert_rule *
alertrule_find(const char *name)
{
	for (size_t i = 0; i < NRULES; i++)
		if (strcmp(rules[i].name, name) == 0)
			return &rules[i];
	return NULL;
}

void
alertrule_eval(const struct alert_input *in, void (*fn)(void *arg, const struct alert_rule *r,
    const char *subject, enum alert_verdict v, const char *detail), void *arg)
{
	char detail[256];
	for (size_t i = 0; i < NRULES; i++) {
		const struct alert_rule *r = &rules[i];
		if (r->scope == ALERT_SCOPE_NONE) {
			detail[0] = '\0';
			enum alert_verdict v = r->check(r, in, NULL, detail, sizeof(detail));
			fn(arg, r, "", v, detail);
			continue;
		}
		for (size_t k = 0; k < in->nsubjects; k++) {
			const struct alert_subject *sub = &in->subjects[k];
			if (sub->self && r->scope == ALERT_SCOPE_PEERS)
				continue;
			detail[0] = '\0';
			enum alert_verdict v = r->check(r, in, sub, detail, sizeof(detail));
			fn(arg, r, sub->id, v, detail);
		}
	}
}

/* ---- the rules ---- */

static const char *
fmt_time(int64_t unix_s, char *buf, size_t len)
{
	time_t t = (time_t)unix_s;
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%" PRId64, unix_s);
	return buf;
}

/* "3d4h", "2h5m", "42s": the two largest units. */
static const char *
fmt_span(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s >= DAY_S)
		snprintf(buf, len, "%" PRId64 "d%" PRId64 "h", s / DAY_S, s % DAY_S / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%" PRId64 "h%" PRId64 "m", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%" PRId64 "m%" PRId64 "s", s / 60, s % 60);
	else
		snprintf(buf, len, "%" PRId64 "s", s);
	return buf;
}

static enum alert_verdict
check_cert(const struct alert_rule *r, const struct alert_input *in,
    const struct alert_subject *sub, char *detail, size_t len)
{
	char when[32], left[32];
	if (sub->cert_not_after == 0)
		return ALERT_HOLD;      /* a peer's certificate not seen since start */
	int64_t rest = (int64_t)sub->cert_not_after - in->now_us / 1000000;
	snprintf(detail, len, "%s certificate%s%s %s %s (%s%s)", sub->self ? "our" : "the",
	    sub->self ? "" : " of ", sub->self ? "" : sub->id, rest > 0 ? "expires" : "expired",
	    fmt_time((int64_t)sub->cert_not_after, when, sizeof(when)),
	    rest > 0 ? "in " : "", rest > 0 ? fmt_span(rest, left, sizeof(left)) : "past");
	return rest < r->days * DAY_S ? ALERT_FIRE : ALERT_CLEAR;
}

static enum alert_verdict
check_crl(const struct alert_rule *r, const struct alert_input *in,
    const struct alert_subject *sub, char *detail, size_t len)
{
	(void)r;
	(void)sub;
	char next[32];
	if (!in->crl_on) {
		snprintf(detail, len, "revocation is off ([tls] crl unset)");
		return ALERT_CLEAR;
	}
	int64_t span = (int64_t)(in->crl_next_update - in->crl_this_update);
	int64_t due = (int64_t)in->crl_next_update - (span > 0 ? span / 4 : 0);
	int64_t now = in->now_us / 1000000;
	snprintf(detail, len, "CRL number %" PRIu64 ": next update %s%s", in->crl_number,
	    fmt_time((int64_t)in->crl_next_update, next, sizeof(next)),
	    now >= (int64_t)in->crl_next_update ? ", EXPIRED: only CRL-only links; install a "
	    "fresh one (rogatory-pki crl, rogatoryctl crl install)" : now >= due ? ", within the "
	    "last quarter of its validity; install a fresh one (rogatory-pki crl, rogatoryctl "
	    "crl install)" : "");
	return now >= due ? ALERT_FIRE : ALERT_CLEAR;
}

static enum alert_verdict
check_peer_down(const struct alert_rule *r, const struct alert_input *in,
    const struct alert_subject *sub, char *detail, size_t len)
{
	(void)r;
	char span[32];
	if (sub->link_up || !sub->listed) {
		snprintf(detail, len, "%s %s", sub->id, sub->link_up ? "is reachable again (a link "
		    "is up)" : "is no longer in the directory");
		return ALERT_CLEAR;
	}
	if (sub->unreachable_since_us == 0) {
		/* Not dialed right now: after a start-up, messages may wait for their first
		 * dial; only when none waits (or it is paused) is it over. */
		snprintf(detail, len, "%s is dialed no more (%s)", sub->id, sub->paused ? "paused"
		    : "nothing waits for it");
		return sub->open > 0 && !sub->paused ? ALERT_HOLD : ALERT_CLEAR;
	}
	int64_t down = in->now_us - sub->unreachable_since_us;
	snprintf(detail, len, "%s unreachable for %s%s%s", sub->id,
	    fmt_span(down / 1000000, span, sizeof(span)),
	    sub->last_error != NULL && sub->last_error[0] ? ": " : "",
	    sub->last_error != NULL ? sub->last_error : "");
	return down >= (int64_t)in->peer_down_after_ms * 1000 ? ALERT_FIRE : ALERT_HOLD;
}

static enum alert_verdict
check_stuck(const struct alert_rule *r, const struct alert_input *in,
    const struct alert_subject *sub, char *detail, size_t len)
{
	(void)r;
	char when[32], span[32];
	if (sub->oldest_open_us == 0 ||
	    in->now_us - sub->oldest_open_us < (int64_t)in->stuck_after_ms * 1000) {
		snprintf(detail, len, "no undelivered message to %s is older than %s (%" PRId64 " open)",
		    sub->id, fmt_span((int64_t)(in->stuck_after_ms / 1000), span, sizeof(span)),
		    sub->open);
		return ALERT_CLEAR;
	}
	snprintf(detail, len, "%" PRId64 " undelivered message%s to %s, the oldest submitted %s "
	    "(%s ago); rogatoryctl queue --peer %s", sub->open, sub->open == 1 ? "" : "s",
	    sub->id, fmt_time(sub->oldest_open_us / 1000000, when, sizeof(when)),
	    fmt_span((in->now_us - sub->oldest_open_us) / 1000000, span, sizeof(span)), sub->id);
	return ALERT_FIRE;
}

static enum alert_verdict
check_store(const struct alert_rule *r, const struct alert_input *in,
    const struct alert_subject *sub, char *detail, size_t len)
{
	(void)r;
	(void)sub;
	int64_t used, total;
	const char *of;
	if (in->store_max > 0 && in->store_bytes >= 0) {
		used = in->store_bytes;
		total = (int64_t)in->store_max;
		of = "of [store] max_size";
	} else if (in->disk_total > 0 && in->disk_free >= 0) {
		used = in->disk_total - in->disk_free;
		total = in->disk_total;
		of = "of the disk holding state_dir";
	} else {
		return ALERT_HOLD;
	}
	if (used < 0)
		used = 0;
	/* Above the percentage, exactly (90.2% of it is above 90); shown rounded. */
	snprintf(detail, len, "the store uses %" PRId64 "%% %s (%" PRId64 " of %" PRId64
	    " bytes; alert above %u%%)", (used * 100 + total / 2) / total, of, used, total,
	    in->store_full_percent);
	return used * 100 > (int64_t)in->store_full_percent * total ? ALERT_FIRE : ALERT_CLEAR;
}

static enum alert_verdict
check_fork(const struct alert_rule *r, const struct alert_input *in,
    const struct alert_subject *sub, char *detail, size_t len)
{
	(void)r;
	(void)in;
	if (!sub->audit_fork) {
		snprintf(detail, len, "the audit log of %s extends what we witnessed", sub->id);
		return ALERT_CLEAR;
	}
	snprintf(detail, len, "the audit log of %s forked: we hold its two inconsistent signed "
	    "checkpoints (rogatoryctl audit status)", sub->id);
	return ALERT_FIRE;
}
