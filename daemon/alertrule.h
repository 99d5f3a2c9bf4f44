/*
 * alertrule: the one table of alert conditions, and their evaluation as a pure function
 * of a reading (no clock, no I/O), so each rule can be tested with any time it needs.
 * A rule says, for each of its subjects (none, the authorities, or ours and theirs),
 * FIRE (the condition holds), CLEAR (it is over) or HOLD (not known now, or between the
 * two: whatever is recorded stays). The alerts module turns verdicts into one "alert"
 * when a condition starts and one "alert-cleared" when it ends.
 */
#ifndef ROGATORY_ALERTRULE_H
#define ROGATORY_ALERTRULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum alert_verdict { ALERT_HOLD, ALERT_FIRE, ALERT_CLEAR };

/* Which subjects a rule is checked for. */
enum alert_scope {
	ALERT_SCOPE_NONE,       /* one condition, subject "" */
	ALERT_SCOPE_PEERS,      /* each other authority */
	ALERT_SCOPE_ALL,        /* this authority and each other one */
};

/* One authority as the rules see it. */
struct alert_subject {
	const char *id;
	bool self;                    /* this authority (first in the list) */
	time_t cert_not_after;        /* 0: not known (a peer not seen since start) */
	bool listed;                  /* in the directory */
	bool paused;                  /* an operator paused our messages to it */
	bool link_up;
	int64_t unreachable_since_us; /* dialed without success since; 0: not being dialed */
	const char *last_error;       /* why it is unreachable, "" when not known */
	int64_t oldest_open_us;       /* oldest undelivered message to it; 0: none */
	int64_t open;                 /* its undelivered messages */
	bool audit_fork;              /* we hold proof its audit log forked (snapshot.h) */
};

/* A reading, with the limits in force. */
struct alert_input {
	int64_t now_us;
	const struct alert_subject *subjects; /* this authority first */
	size_t nsubjects;
	bool crl_on;
	uint64_t crl_number;
	time_t crl_this_update, crl_next_update;
	int64_t store_bytes;          /* -1: unknown */
	uint64_t store_max;           /* 0: no [store] max_size */
	int64_t disk_free, disk_total; /* -1: unknown */
	uint64_t peer_down_after_ms;
	uint64_t stuck_after_ms;
	unsigned store_full_percent;
};

struct alert_rule {
	const char *name;             /* stable: events, logs, metrics, rogatoryctl */
	enum alert_scope scope;
	const char *fires;            /* when it fires (for the documentation) */
	const char *clears;           /* when it clears */
	enum alert_verdict (*check)(const struct alert_rule *r, const struct alert_input *in,
	    const struct alert_subject *sub, char *detail, size_t len);
	int64_t days;                 /* certificate rules: the threshold */
};

/* The table. */
size_t alertrule_count(void);
const struct alert_rule *alertrule_at(size_t i);
const struct alert_rule *alertrule_find(const char *name);

/* Calls fn once per (rule, subject) of the table over in, with the verdict and a one-line
 * detail (what holds, or why it is over). */
void alertrule_eval(const struct alert_input *in, void (*fn)(void *arg,
    const struct alert_rule *r, const char *subject, enum alert_verdict v,
    const char *detail), void *arg);

#endif
