/*
 * crossings: where requests as cases, the audit log and the transport meet, each checked
 * between real daemons (found by an attacker's review of the merged features).
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "net.h"
#include "support.h"
#include "traffic.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

/* rogatoryctl ARGS on node i (net.h: tnet_ctlf). */
#define ctl tnet_ctlf

static char *
last_line(char *out)
{
	char *end = out + strlen(out);
	while (end > out && end[-1] == '\n')
		*--end = '\0';
	char *nl = strrchr(out, '\n');
	char *id = strdup(nl ? nl + 1 : out);
	free(out);
	cr_assert_eq(strlen(id), 36, "not an id: %s", id);
	return id;
}

static char *
okv(struct tnet *t, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static char *
okv(struct tnet *t, int i, const char *fmt, ...)
{
	char args[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	char *out = NULL;
	int rc = tnet_ctl(t, i, &out, args);
	cr_assert_eq(rc, 0, "node %d: rogatoryctl %s: exit %d\n%s", i, args, rc, out);
	return out;
}

static char *
case_state(struct tnet *t, int i, const char *id)
{
	char *out = NULL;
	if (ctl(t, i, &out, "request %s --json", id) != 0) {
		free(out);
		return strdup("");
	}
	json_t *j = json_loads(out, 0, NULL);
	free(out);
	const char *s = json_string_value(json_object_get(json_object_get(j, "case"), "status"));
	char *r = strdup(s ? s : "");
	json_decref(j);
	return r;
}

static void
wait_case(struct tnet *t, int i, const char *id, const char *state, int ms)
{
	for (int waited = 0;; waited += 100) {
		char *s = case_state(t, i, id);
		bool there = strcmp(s, state) == 0;
		free(s);
		if (there)
			return;
		cr_assert_lt(waited, ms, "node %d: case %s never became %s", i, id, state);
		usleep(100000);
	}
}

/*
 * A case event records the case state in AuditEntry.state; states such as
 * "additional-information-requested" (32 bytes) must make an entry that `audit check`
 * accepts, or the proof bundle of a request, and so its export, could not be verified
 * (wire.c allowed 15 bytes there).
 */
Test(crossings, case_event_with_a_long_state_is_a_checkable_audit_entry, .timeout = 120)
{
	struct tnet *t = tnet_new("cross-state", ids2, 2);
	tnet_opt(t, 0, "audit.checkpoint_every=1s");
	tnet_opt(t, 1, "audit.checkpoint_every=1s");
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *out = NULL;
	char *id = last_line(okv(t, 0, "send --to FR-MJ --kind other --subject 'A note'"));
	cr_assert(tr_wait_state(t, 0, id, "delivered", 15000));
	wait_case(t, 1, id, "requested", 10000);
	free(okv(t, 1, "update %s --status acknowledged --reference R-1", id));
	wait_case(t, 0, id, "acknowledged", 15000);
	free(okv(t, 1, "update %s --status additional-information-requested --note 'more'", id));
	wait_case(t, 0, id, "additional-information-requested", 15000);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(ctl(t, i, &out, "audit prove --id %s --out '%s/p%d.json'", id, t->dir, i),
		    0, "node %d: %s", i, out);
		free(out);
		int rc = ctl(t, i, &out, "audit check '%s/p%d.json' --ca '%s'", t->dir, i, t->ca);
		cr_assert_eq(rc, 0, "node %d: the proof bundle of a case fails audit check: %s", i,
		    out);
		free(out);
	}
	free(id);
	tnet_free(t);
}

/*
 * Two status documents of one sender must reach the peer in sequence order even when
 * the first is retried: FR-MJ sends in-progress (seq 2), its transfer is lost with the
 * link (BD-ACC stopped, then killed) and waits its backoff; FR-MJ then sends
 * partially-executed (seq 3), which would go first once BD-ACC is back, leaving the two
 * authorities with different case states. The outbox holds seq 3 until seq 2 is answered.
 */
Test(crossings, statuses_reordered_by_a_retry_leave_both_sides_in_the_same_state, .timeout = 180)
{
	struct tnet *t = tnet_new("cross-reorder", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *out = NULL;
	char *id = last_line(okv(t, 0, "send --to FR-MJ --kind other --subject 'A note'"));
	cr_assert(tr_wait_state(t, 0, id, "delivered", 15000));
	wait_case(t, 1, id, "requested", 10000);
	free(okv(t, 1, "update %s --status acknowledged --reference R-1", id));
	wait_case(t, 0, id, "acknowledged", 15000);

	/* FR-MJ's retries wait long from now on (reloaded, its link stays up). */
	tnet_opt(t, 1, "delivery.retry_min=8s");
	tnet_opt(t, 1, "delivery.retry_max=10s");
	tnet_write_config(t, 1);
	free(okv(t, 1, "reload"));
	/* BD-ACC stops reading; FR-MJ's in-progress is written and never answered. */
	kill(t->node[0].pid, SIGSTOP);
	char *s2 = last_line(okv(t, 1, "update %s --status in-progress", id));
	cr_assert(tr_wait_event(t, 1, "sent", s2, 10000), "in-progress was never sent");
	/* The link dies (dead_after 5s): the transfer is unanswered, retried after backoff. */
	cr_assert(tnet_wait_log(t, 1, "(dead_after)", 15000), "the link never went down");
	tnet_stop(t, 0, SIGKILL);
	char *s3 = last_line(okv(t, 1, "update %s --status partially-executed", id));
	tnet_start(t, 0);
	/* FR-MJ's operator dials now (its dial backoff is as long as its retries). */
	free(okv(t, 1, "connect BD-ACC"));
	cr_assert(tr_wait_state(t, 1, s2, "delivered", 60000), "in-progress not delivered");
	cr_assert(tr_wait_state(t, 1, s3, "delivered", 30000), "partially-executed not delivered");
	/* BD-ACC received them in FR-MJ's sequence order. */
	char path[4200], *log = NULL;
	snprintf(path, sizeof(path), "%s/state/delivery.jsonl", t->node[0].home);
	cr_assert_eq(ts_sh(&log, "grep '\"event\":\"received\"' '%s'", path), 0);
	char *at2 = strstr(log, s2), *at3 = strstr(log, s3);
	cr_assert(at2 != NULL && at3 != NULL && at2 < at3, "received out of order:\n%s", log);
	free(log);
	char *a = case_state(t, 0, id), *b = case_state(t, 1, id);
	cr_assert_str_eq(a, b, "BD-ACC holds the case as %s, FR-MJ as %s", a, b);
	free(a);
	free(b);
	(void)out;
	free(s2);
	free(s3);
	free(id);
	tnet_free(t);
}


/*
 * `audit verify` checks the kept subtree hashes (audit_nodes) that every proof and every
 * consistency proof offered to a witness is built from, not only the leaves and roots:
 * with one bad node row it must not say the log is intact (a witness would record a
 * fork of a log whose entries are all honest).
 */
Test(crossings, verify_checks_the_nodes_proofs_are_built_from, .timeout = 180)
{
	struct tnet *t = tnet_new("cross-nodes", ids2, 2);
	for (int i = 0; i < 2; i++)
		tnet_opt(t, i, "audit.checkpoint_every=1s");
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *out = NULL;
	for (int k = 0; k < 6; k++) {
		char *id = tr_send(t, 0, "FR-MJ", "a note", 0, 0);
		cr_assert(tr_wait_state(t, 0, id, "delivered", 20000));
		free(id);
	}
	cr_assert(tnet_wait_log(t, 0, "FR-MJ cosigned our checkpoint", 20000));
	tnet_stop(t, 0, SIGTERM);
	cr_assert_eq(ts_sh(&out, "sqlite3 '%s/state/rogatory.db' \"UPDATE audit_nodes SET hash = "
	    "zeroblob(32) WHERE level = 4 AND idx = 0; SELECT changes();\"", t->node[0].home), 0,
	    "%s", out);
	cr_assert_str_eq(out, "1\n", "a node of 16 leaves exists");
	free(out);
	tnet_start(t, 0);
	int rc = ctl(t, 0, &out, "audit verify");
	bool intact = rc == 0 && strstr(out, "audit log intact") != NULL;
	free(out);
	char *id = tr_send(t, 0, "FR-MJ", "after", 0, 0);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 20000));
	free(id);
	bool fork = tnet_wait_log(t, 1, "FORK in the audit log of BD-ACC", 15000);
	cr_assert(!(intact && fork), "audit verify says intact, yet the witness recorded a fork "
	    "of this honest log");
	cr_assert(!intact, "audit verify did not notice the bad node");
	tnet_free(t);
}

/*
 * A status document waits while an earlier one of the same case is open (the outbox
 * page's rule, store.c R_OUTBOX): here in-progress is retrying on FR-MJ (its transfer
 * unanswered, next attempt far away) when partially-executed is submitted on a ready,
 * idle link. Sent at once, it would reach BD-ACC before in-progress.
 */
Test(crossings, status_sent_at_once_waits_for_an_open_earlier_status, .timeout = 180)
{
	struct tnet *t = tnet_new("cross-atonce", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *id = last_line(okv(t, 0, "send --to FR-MJ --kind other --subject 'A note'"));
	cr_assert(tr_wait_state(t, 0, id, "delivered", 15000));
	wait_case(t, 1, id, "requested", 10000);
	free(okv(t, 1, "update %s --status acknowledged --reference R-1", id));
	wait_case(t, 0, id, "acknowledged", 15000);
	/* FR-MJ's retries wait long from now on. */
	tnet_opt(t, 1, "delivery.retry_min=60s");
	tnet_opt(t, 1, "delivery.retry_max=120s");
	tnet_write_config(t, 1);
	free(okv(t, 1, "reload"));
	/* BD-ACC stops reading; FR-MJ's in-progress is written and never answered. */
	kill(t->node[0].pid, SIGSTOP);
	char *s2 = last_line(okv(t, 1, "update %s --status in-progress", id));
	cr_assert(tr_wait_event(t, 1, "sent", s2, 10000), "in-progress was never sent");
	cr_assert(tnet_wait_log(t, 1, "(dead_after)", 15000), "the link never went down");
	tnet_stop(t, 0, SIGKILL);
	cr_assert(tr_wait_event(t, 1, "retry-scheduled", s2, 10000));
	tnet_start(t, 0);
	/* A link again, idle: a note from FR-MJ goes through it. */
	free(okv(t, 1, "connect BD-ACC"));
	char *note = last_line(okv(t, 1, "send --to BD-ACC --kind other --subject 'Link up'"));
	cr_assert(tr_wait_state(t, 1, note, "delivered", 30000), "the note not delivered");
	free(okv(t, 1, "show %s --json", s2));
	/* in-progress is open (retrying); partially-executed must wait for it. */
	/* Sent at once, it would be written before this update's reply, and so reach BD-ACC
	 * before the retry of in-progress below can even be asked for. */
	char *s3 = last_line(okv(t, 1, "update %s --status partially-executed", id));
	free(okv(t, 1, "retry %s", s2));
	cr_assert(tr_wait_state(t, 1, s2, "delivered", 30000), "in-progress not delivered");
	cr_assert(tr_wait_state(t, 1, s3, "delivered", 30000), "partially-executed not delivered");
	char path[4200], *log = NULL;
	snprintf(path, sizeof(path), "%s/state/delivery.jsonl", t->node[0].home);
	cr_assert_eq(ts_sh(&log, "grep '\"event\":\"received\"' '%s'", path), 0);
	char *at2 = strstr(log, s2), *at3 = strstr(log, s3);
	cr_assert(at2 != NULL && at3 != NULL && at2 < at3, "received out of order:\n%s", log);
	free(log);
	char *a = case_state(t, 0, id), *b = case_state(t, 1, id);
	cr_assert_str_eq(a, b, "BD-ACC holds the case as %s, FR-MJ as %s", a, b);
	free(a);
	free(b);
	free(note);
	free(s2);
	free(s3);
	free(id);
	tnet_free(t);
}

/*
 * A receipt whose op is still on its way to the store closes the earlier status of a
 * case, which makes the next status of that case due in the same commit: the outbox page
 * read after that commit takes that (older) status before a request submitted meanwhile
 * (oldest first). The receipt is not counted in nchanging, so the request goes out at
 * once, in the receipt's batch, ahead of the status that was due before it.
 */
Test(crossings, request_sent_at_once_waits_for_a_status_its_receipt_makes_due, .timeout = 180)
{
	struct tnet *t = tnet_new("cross-atonce-rcpt", ids2, 2);
	char hold0[4200], hold1[4200];
	snprintf(hold0, sizeof(hold0), "%s/hold0", t->dir);
	snprintf(hold1, sizeof(hold1), "%s/hold1", t->dir);
	setenv("ROGATORY_TEST_STORE_HOLD", hold0, 1);
	tnet_start(t, 0);
	setenv("ROGATORY_TEST_STORE_HOLD", hold1, 1);
	tnet_start(t, 1);
	unsetenv("ROGATORY_TEST_STORE_HOLD");
	char *id = last_line(okv(t, 0, "send --to FR-MJ --kind other --subject 'A note'"));
	cr_assert(tr_wait_state(t, 0, id, "delivered", 15000));
	wait_case(t, 1, id, "requested", 10000);
	free(okv(t, 1, "update %s --status acknowledged --reference R-1", id));
	wait_case(t, 0, id, "acknowledged", 15000);
	/* BD-ACC's store holds in-progress's receive: no receipt yet. */
	tr_hold_set(hold0, "queue");
	char *s2 = last_line(okv(t, 1, "update %s --status in-progress", id));
	cr_assert(tr_wait_event(t, 1, "sent", s2, 10000), "in-progress was never sent");
	cr_assert(tr_wait_held_ops(t, 0, 1, 10000), "BD-ACC's receive never waited");
	/* partially-executed waits for in-progress (open). */
	char *s3 = last_line(okv(t, 1, "update %s --status partially-executed", id));
	/* FR-MJ's store holds the receipt's op; BD-ACC lets the receive commit. */
	tr_hold_set(hold1, "queue");
	tr_hold_set(hold0, NULL);
	cr_assert(tr_wait_held_ops(t, 1, 1, 10000), "the receipt never waited in FR-MJ's store queue");
	int before = tr_held_ops(t, 1);
	/* A new request from FR-MJ to BD-ACC while the receipt's op waits. */
	const char *r = "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7";
	tr_ctl_background(t, 1, "send",
	    "send --to BD-ACC --kind other --subject 'New' --id %s", r);
	cr_assert(tr_wait_held_ops(t, 1, before + 1, 10000),
	    "the submission never waited in the queue");
	tr_hold_set(hold1, NULL);
	cr_assert(tr_wait_state(t, 1, s2, "delivered", 20000), "in-progress not delivered");
	cr_assert(tr_wait_state(t, 1, s3, "delivered", 20000), "partially-executed not delivered");
	cr_assert(tr_wait_state(t, 1, r, "delivered", 20000), "the new request not delivered");
	int sent_s3 = tr_event_line(t, 1, "sent", s3, false), sent_r = tr_event_line(t, 1, "sent", r, false);
	cr_assert(sent_s3 >= 0 && sent_r >= 0);
	cr_assert_lt(sent_s3, sent_r, "the request %s (line %d) was sent before %s (line %d), "
	    "due since the receipt committed before it", r, sent_r, s3, sent_s3);
	free(s2);
	free(s3);
	free(id);
	tnet_free(t);
}
