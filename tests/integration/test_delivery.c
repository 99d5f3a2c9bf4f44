/*
 * 05-delivery: store-and-forward with signed receipts between real daemons: delivery,
 * peer downtime, kill -9 of the receiver in a burst, every crash point, duplicates,
 * id conflicts, cancel, expiry. Exactly-once is judged from the delivery logs' events
 * ("received" at the receiver, "delivered" at the sender), not from table rows.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "support.h"
#include "traffic.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};
static const char *const ids3_for_receipts[] = {"BD-ACC", "FR-MJ", "UA-PGO"};

static char *
dlog(struct tnet *t, int i)
{
	static char path[8][4096];
	static int slot;
	char *p = path[slot++ % 8];
	snprintf(p, 4096, "%s/state/delivery.jsonl", t->node[i].home);
	return p;
}

static int
count_event(struct tnet *t, int i, const char *event)
{
	char ev[64];
	snprintf(ev, sizeof(ev), "\"event\":\"%s\"", event);
	return ts_file_count(dlog(t, i), ev);
}

Test(delivery, a_to_b_with_receipt, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-basic", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind mla --subject 'Bank records' --urgent "
	                          "--respond-by 2027-01-31 --field legal_basis=art46");
	cr_assert(tr_wait_state(t, 0, id, "delivered", 10000), "not delivered");
	char *out = NULL;
	char args[128];
	snprintf(args, sizeof(args), "show %s --json", id);
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 0, "%s", out);
	cr_assert(strstr(out, "\"receipt\": true") != NULL, "%s", out);
	cr_assert(strstr(out, "\"event\": \"delivered\"") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 1, &out, "inbox"), 0, "%s", out);
	cr_assert(strstr(out, id) != NULL && strstr(out, "received") != NULL, "%s", out);
	free(out);
	cr_assert(tr_wait_event(t, 0, "delivered", id, 5000));
	cr_assert_eq(tr_events(t, 0, "queued", id), 1);
	cr_assert_eq(tr_events(t, 0, "sent", id), 1);
	cr_assert_eq(tr_events(t, 0, "delivered", id), 1);
	cr_assert_eq(tr_events(t, 1, "received", id), 1);
	/* Metadata only: the subject never reaches a log. */
	cr_assert_eq(ts_file_count(dlog(t, 0), "Bank records"), 0);
	cr_assert_eq(ts_file_count(dlog(t, 1), "Bank records"), 0);
	cr_assert_eq(tnet_log_count(t, 1, "Bank records"), 0);
	free(id);
	tnet_free(t);
}

Test(delivery, receiver_down_at_submission, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-down", ids2, 2);
	tnet_start(t, 0);
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind extradition --subject 'Request X'");
	cr_assert(tr_wait_state(t, 0, id, "queued", 3000));
	tnet_start(t, 1);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 15000), "not delivered after B came up");
	cr_assert_eq(tr_events(t, 1, "received", id), 1);
	free(id);
	tnet_free(t);
}

/* n lines to FR-MJ, each with an id of its own (so that sending the file again is the
 * same submissions again). Returns the ids, sorted, one per line. */
static char *
write_batch(const char *path, int n, const char *tag)
{
	FILE *f = fopen(path, "w");
	cr_assert(f != NULL);
	char *ids = calloc((size_t)n * 37 + 1, 1);
	cr_assert(ids != NULL);
	for (int i = 0; i < n; i++) {
		char *id = ts_read_file("/proc/sys/kernel/random/uuid", NULL);
		cr_assert(id != NULL && strlen(id) >= 36);
		id[36] = '\0';
		fprintf(f, "{\"to\":\"FR-MJ\",\"kind\":\"mla\",\"subject\":\"%s %d\",\"id\":\"%s\"}\n",
		    tag, i, id);
		strcat(ids, id);
		strcat(ids, "\n");
		free(id);
	}
	fclose(f);
	char *sorted = tr_output_ids(ids);
	free(ids);
	return sorted;
}

/* The ids of want (sorted, one per line), and no other: queued once and delivered once
 * at BD-ACC, received once at FR-MJ (the settle marker left out). Sets, not totals: one
 * loss and one duplicate cannot cancel out. */
static void
assert_exactly_once(struct tnet *t, const char *want, const char *marker)
{
	static const struct {
		int node;
		const char *event;
	} sides[] = {{0, "queued"}, {0, "delivered"}, {1, "received"}};
	for (size_t k = 0; k < sizeof(sides) / sizeof(sides[0]); k++) {
		char *got = tr_event_ids(t, sides[k].node, sides[k].event, marker);
		cr_assert_str_eq(got, want, "the ids %s at %s are not the ids submitted",
		    sides[k].event, t->node[sides[k].node].id);
		free(got);
	}
}

/* True when every line of part is a line of whole (both sorted id lists). */
static bool
ids_within(const char *part, const char *whole)
{
	for (const char *p = part; *p != '\0'; p += 37) {
		char line[38];
		snprintf(line, sizeof(line), "%.37s", p);
		if (strstr(whole, line) == NULL)
			return false;
	}
	return true;
}

static bool
wait_count(struct tnet *t, int i, const char *event, int n, int ms)
{
	for (int waited = 0; waited < ms; waited += 100) {
		if (count_event(t, i, event) >= n)
			return true;
		usleep(100000);
	}
	return false;
}

Test(delivery, receiver_killed_in_a_burst_of_500, .timeout = 120)
{
	struct tnet *t = tnet_new("dlv-burst", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char batch[4200];
	snprintf(batch, sizeof(batch), "%s/batch.jsonl", t->dir);
	char *want = write_batch(batch, 500, "burst");
	char *out = NULL;
	char args[4300];
	snprintf(args, sizeof(args), "send --batch '%s'", batch);
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 0, "%s", out);
	char *acked = tr_output_ids(out);
	cr_assert_str_eq(acked, want, "send --batch did not answer every line");
	/* Kill the receiver while the burst is flowing. */
	cr_assert(wait_count(t, 1, "received", 50, 20000), "burst did not start");
	cr_assert_eq(tnet_stop(t, 1, SIGKILL), 128 + SIGKILL);
	int before = count_event(t, 1, "received");
	cr_assert_lt(before, 500, "the burst finished before the kill; test proves nothing");
	tnet_start(t, 1);
	cr_assert(wait_count(t, 0, "delivered", 500, 60000), "only %d delivered",
	    count_event(t, 0, "delivered"));
	char *marker = tr_settle(t, 0, 1);
	assert_exactly_once(t, want, marker);
	free(marker);
	free(acked);
	free(want);
	free(out);
	tnet_free(t);
}

/* Start the daemon i with ROGATORY_CRASH_AT=point; it exits 9 there. */
static void
start_crashing(struct tnet *t, int i, const char *point)
{
	setenv("ROGATORY_CRASH_AT", point, 1);
	tnet_start(t, i);
	unsetenv("ROGATORY_CRASH_AT");
}

/* The store's test hold (daemon/storeq.h): PATH says where, written whole by rename. */
static void
hold_set(const char *path, const char *where)
{
	char tmp[4300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ts_write_file(tmp, where, 0600);
	cr_assert_eq(rename(tmp, path), 0, "%s: %s", path, strerror(errno));
}

/* The line of node i's log that holds needle (asserted there); caller frees. */
static char *
log_line(struct tnet *t, int i, const char *needle)
{
	char *log = ts_read_file(t->node[i].log, NULL);
	char *p = log != NULL ? strstr(log, needle) : NULL;
	cr_assert_not_null(p, "no \"%s\" in %s's log", needle, t->node[i].id);
	size_t len = strcspn(p, "\n");
	char *line = strndup(p, len);
	free(log);
	return line;
}

/* 20 submissions from BD-ACC to FR-MJ while `crasher` stops dead at `point`, then
 * restarts. What BD-ACC's ctl was told is checked (its exit status and the ids it
 * printed); when a reply was lost the same file is sent again, the same ids; in the end
 * each of the 20 ids, and no other, is queued, delivered and received exactly once. */
static void
crash_point_case(const char *tag, const char *point, int crasher)
{
	struct tnet *t = tnet_new(tag, ids2, 2);
	bool mid_commit = strcmp(point, "store-mid-commit") == 0;
	char hold[4200];
	snprintf(hold, sizeof(hold), "%s/store-hold", t->dir);
	if (crasher == 0) {
		start_crashing(t, 0, point);
		tnet_start(t, 1);
	} else {
		tnet_start(t, 0);
		if (mid_commit) {
			/* FR-MJ's store takes nothing until the transfers wait in its queue: the
			 * batch the crash interrupts holds them. */
			hold_set(hold, "queue");
			setenv("ROGATORY_TEST_STORE_HOLD", hold, 1);
		}
		start_crashing(t, 1, point);
		unsetenv("ROGATORY_TEST_STORE_HOLD");
	}
	char batch[4200], args[4300];
	snprintf(batch, sizeof(batch), "%s/batch.jsonl", t->dir);
	char *want = write_batch(batch, 20, point);
	char *out = NULL;
	snprintf(args, sizeof(args), "send --batch '%s'", batch);
	int rc = tnet_ctl(t, 0, &out, args);
	if (mid_commit) {
		cr_assert(tnet_wait_log(t, 1, "ops queued, 20 receive", 20000),
		    "the 20 transfers never waited in FR-MJ's store queue");
		cr_assert_eq(unlink(hold), 0);
	}
	/* The crashing daemon dies at its point; restart it without the point. */
	int st = ts_wait_exit(t->node[crasher].pid, 20000);
	cr_assert_eq(st, 9, "%s: daemon did not stop at the crash point (status %d)", point, st);
	t->node[crasher].pid = 0;
	char reached[128];
	snprintf(reached, sizeof(reached), "crash point %s reached", point);
	cr_assert_eq(tnet_log_count(t, crasher, reached), 1);
	if (mid_commit) {
		char *line = log_line(t, 1, reached);
		cr_assert(strstr(line, ", 20 receive") != NULL,
		    "the interrupted batch did not hold the 20 transfers: %s", line);
		free(line);
	}
	char *acked = tr_output_ids(out);
	if (crasher == 1)
		cr_assert(rc == 0 && strcmp(acked, want) == 0, "%s: the sender's ctl (%d):\n%s", point,
		    rc, out);
	else if (strcmp(point, "submit-before-reply") == 0)
		cr_assert(rc == 3 && acked[0] == '\0', "%s: a reply was not lost (%d):\n%s", point,
		    rc, out);
	else
		cr_assert((rc == 0 && strcmp(acked, want) == 0) ||
		    (rc == 3 && ids_within(acked, want)), "%s: the ctl (%d):\n%s", point, rc, out);
	tnet_start(t, crasher);
	if (rc != 0) {
		/* Replies lost with the crash: the same file again, the same ids. Each is
		 * answered, whether the crash had committed it or not. */
		free(out);
		free(acked);
		rc = tnet_ctl(t, 0, &out, args);
		acked = tr_output_ids(out);
		cr_assert(rc == 0 && strcmp(acked, want) == 0, "%s: resubmission (%d):\n%s", point,
		    rc, out);
	}
	cr_assert(wait_count(t, 0, "delivered", 20, 30000), "%s: %d delivered", point,
	    count_event(t, 0, "delivered"));
	char *marker = tr_settle(t, 0, 1);
	assert_exactly_once(t, want, marker);
	free(marker);
	free(acked);
	free(want);
	free(out);
	tnet_free(t);
}

Test(delivery, crash_submit_before_reply, .timeout = 90)
{
	crash_point_case("dlv-crash1", "submit-before-reply", 0);
}

Test(delivery, crash_sending_before_write, .timeout = 90)
{
	crash_point_case("dlv-crash2", "sending-before-write", 0);
}

Test(delivery, crash_inbox_before_receipt, .timeout = 90)
{
	crash_point_case("dlv-crash3", "inbox-before-receipt", 1);
}

Test(delivery, crash_receipt_before_commit, .timeout = 90)
{
	crash_point_case("dlv-crash4", "receipt-before-commit", 0);
}

/* The receiver dies in the commit of the batch that holds the 20 transfers. */
Test(delivery, crash_store_mid_commit, .timeout = 90)
{
	crash_point_case("dlv-crash5", "store-mid-commit", 1);
}

Test(delivery, same_id_twice_is_one_message, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-sameid", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	const char *id = "0b6f6a86-3c1e-4a52-9a6c-5f1c2f0a7d11";
	char args[256], *out = NULL;
	snprintf(args, sizeof(args), "--to FR-MJ --kind mla --subject 'Twice' --id %s", id);
	free(tr_send_args(t, 0, args));
	free(tr_send_args(t, 0, args));
	/* Concurrently: a batch holding the same line twice, pipelined. */
	char batch[4200], bargs[4300];
	snprintf(batch, sizeof(batch), "%s/dup.jsonl", t->dir);
	const char *id2 = "7d0f4a8e-9f3b-4c6e-8a1d-2b5c6d7e8f90";
	ts_writef(batch, 0600,
	    "{\"to\":\"FR-MJ\",\"kind\":\"mla\",\"subject\":\"Again\",\"id\":\"%s\"}\n"
	    "{\"to\":\"FR-MJ\",\"kind\":\"mla\",\"subject\":\"Again\",\"id\":\"%s\"}\n", id2, id2);
	snprintf(bargs, sizeof(bargs), "send --batch '%s'", batch);
	cr_assert_eq(tnet_ctl(t, 0, &out, bargs), 0, "%s", out);
	free(out);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 10000));
	cr_assert(tr_wait_state(t, 0, id2, "delivered", 10000));
	free(tr_settle(t, 0, 1));
	cr_assert_eq(tr_events(t, 0, "queued", id), 1);
	cr_assert_eq(tr_events(t, 0, "queued", id2), 1);
	cr_assert_eq(tr_events(t, 1, "received", id), 1);
	cr_assert_eq(tr_events(t, 1, "received", id2), 1);
	/* Same id, different content: refused. */
	snprintf(args, sizeof(args), "send --to FR-MJ --kind mla --subject 'Other' --id %s", id);
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 1, "%s", out);
	cr_assert(strstr(out, "id-conflict") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}

Test(delivery, cancel_before_and_after_transmission, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-cancel", ids2, 2);
	tnet_start(t, 0);
	char *a = tr_send_args(t, 0, "--to FR-MJ --kind mla --subject 'Cancel me'");
	char args[128], *out = NULL;
	snprintf(args, sizeof(args), "cancel %s", a);
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 0, "%s", out);
	cr_assert(strstr(out, "cancelled") != NULL, "%s", out);
	free(out);
	tnet_start(t, 1);
	char *b = tr_send_args(t, 0, "--to FR-MJ --kind mla --subject 'Too late'");
	cr_assert(tr_wait_state(t, 0, b, "delivered", 10000));
	snprintf(args, sizeof(args), "cancel %s", b);
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 1, "%s", out);
	cr_assert(strstr(out, "cannot cancel") != NULL, "%s", out);
	free(out);
	/* b is the marker: a, older, would have gone first, and FR-MJ stores in order. */
	cr_assert_eq(tr_events(t, 1, "received", a), 0, "a cancelled message was delivered");
	free(a);
	free(b);
	tnet_free(t);
}

Test(delivery, peer_that_never_comes_back_expires, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-expire", ids2, 2);
	tnet_opt(t, 0, "delivery.expire_after=3s");
	tnet_start(t, 0);
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind mla --subject 'Nobody home'");
	cr_assert(tr_wait_state(t, 0, id, "expired", 20000), "not expired");
	cr_assert(tr_wait_event(t, 0, "expired", id, 5000));
	cr_assert_eq(tr_events(t, 0, "expired", id), 1);
	free(id);
	tnet_free(t);
}

Test(delivery, bad_requests_refused_with_reasons, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-bad", ids2, 2);
	tnet_start(t, 0);
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "send --to DE-BMJ --kind mla --subject x"), 1, "%s", out);
	cr_assert(strstr(out, "unknown authority DE-BMJ") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "send --to FR-MJ --kind asset-recovery --subject x"), 1,
	    "%s", out);
	cr_assert(strstr(out, "does not receive asset-recovery") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "send --to FR-MJ --kind bogus --subject x"), 1, "%s", out);
	cr_assert(strstr(out, "unknown kind") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "send --to FR-MJ --kind mla --subject x --respond-by 2027-02-30"),
	    1, "%s", out);
	cr_assert(strstr(out, "respond_by") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "show 00000000-0000-4000-8000-000000000000"), 1, "%s", out);
	cr_assert(strstr(out, "not-found") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}

/* fakepeer (FR-MJ's credentials) sends one signed Transfer to BD-ACC three times; with
 * after set, the first copy alone until that file exists. Output in <dir>/<name>.out. */
static pid_t
fake_copies(struct tnet *t, const char *name, const char *after, char *outp, size_t len)
{
	char cmd[8192], extra[4300] = "";
	if (after != NULL)
		snprintf(extra, sizeof(extra), "--repeat-after '%s'", after);
	snprintf(cmd, sizeof(cmd), "exec '%s' connect 127.0.0.1 %d --cert '%s' --key '%s' "
	    "--ca '%s' --hello-id FR-MJ --transfer-to BD-ACC --repeat 3 %s --wait-ms 20000",
	    tnet_fakepeer(), t->node[0].port, t->node[1].cert, t->node[1].key, t->ca, extra);
	snprintf(outp, len, "%s/%s.out", t->dir, name);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	return ts_spawn(argv, outp);
}

/* The three receipts fakepeer got are one receipt, byte for byte (body, signature and
 * certificate), ACCEPTED, and the one BD-ACC stored; BD-ACC logged one "received" and
 * two "duplicate" events. */
static void
assert_one_receipt(struct tnet *t, const char *outp, pid_t fake)
{
	for (int waited = 0; ts_file_count(outp, "recv receipt ") < 3; waited += 50) {
		cr_assert_lt(waited, 15000, "not 3 receipts:\n%s", ts_read_file(outp, NULL));
		usleep(50000);
	}
	ts_stop(fake, SIGTERM);
	char *out = ts_read_file(outp, NULL);
	char id[37] = "", body[65] = "", all[3][65];
	const char *p = strstr(out, "sent transfer id=");
	cr_assert(p != NULL && sscanf(p, "sent transfer id=%36s", id) == 1, "%s", out);
	p = out;
	for (int k = 0; k < 3; k++) {
		p = strstr(p, "recv receipt sha=");
		cr_assert(p != NULL && sscanf(p, "recv receipt sha=%64s all=%64s", body, all[k]) == 2,
		    "%s", out);
		p++;
	}
	cr_assert_eq(ts_file_count(outp, "outcome=accepted"), 3, "%s", out);
	cr_assert_str_eq(all[0], all[1], "receipts differ:\n%s", out);
	cr_assert_str_eq(all[0], all[2], "receipts differ:\n%s", out);
	char args[128], *shown = NULL, want[128];
	snprintf(args, sizeof(args), "--json show %s", id);
	cr_assert_eq(tnet_ctl(t, 0, &shown, args), 0, "%s", shown);
	snprintf(want, sizeof(want), "\"receipt_sha256\": \"%s\"", body);
	cr_assert(strstr(shown, want) != NULL, "not the stored receipt:\n%s\n%s", shown, out);
	free(shown);
	cr_assert_eq(tr_events(t, 0, "received", id), 1);
	cr_assert_eq(tr_events(t, 0, "duplicate", id), 2);
	free(out);
}

/* BD-ACC, its store held by the test hold at PATH (daemon/storeq.h). */
static struct tnet *
held_receiver(const char *tag, char *hold, size_t len)
{
	struct tnet *t = tnet_new(tag, ids2, 2);
	snprintf(hold, len, "%s/store-hold", t->dir);
	setenv("ROGATORY_TEST_STORE_HOLD", hold, 1);
	tnet_start(t, 0);
	unsetenv("ROGATORY_TEST_STORE_HOLD");
	hold_set(hold, "queue");
	return t;
}

/* Three copies of one Transfer, all in the store's queue before anything is committed:
 * one batch stores the first and answers the others with its receipt. */
Test(delivery, duplicate_transfer_before_commit_in_one_batch, .timeout = 60)
{
	char hold[4200], outp[4200];
	struct tnet *t = held_receiver("dlv-dupone", hold, sizeof(hold));
	pid_t fake = fake_copies(t, "copies", NULL, outp, sizeof(outp));
	cr_assert(tnet_wait_log(t, 0, "ops queued, 3 receive", 10000),
	    "the three copies never waited together");
	cr_assert_eq(unlink(hold), 0);
	assert_one_receipt(t, outp, fake);
	tnet_free(t);
}

/* The first copy's batch is taken alone and held before its commit; the other two
 * copies arrive meanwhile and wait in the queue: the next batch finds the first copy
 * committed and answers with its receipt. */
Test(delivery, duplicate_transfer_before_commit_in_the_next_batch, .timeout = 60)
{
	char hold[4200], outp[4200], go[4300];
	struct tnet *t = held_receiver("dlv-dupnext", hold, sizeof(hold));
	snprintf(go, sizeof(go), "%s/go", t->dir);
	pid_t fake = fake_copies(t, "copies", go, outp, sizeof(outp));
	cr_assert(ts_wait_file_contains(outp, "sent first copy", 10000), "no first copy");
	cr_assert(tnet_wait_log(t, 0, "ops queued, 1 receive", 10000), "the first copy not queued");
	hold_set(hold, "commit");
	cr_assert(tnet_wait_log(t, 0, "ops, 1 receive; 0 ops queued", 10000),
	    "the first copy's batch was not held before its commit");
	ts_write_file(go, "", 0600);
	cr_assert(tnet_wait_log(t, 0, "ops queued, 2 receive", 10000),
	    "the other copies did not queue behind the held batch");
	cr_assert_eq(unlink(hold), 0);
	assert_one_receipt(t, outp, fake);
	tnet_free(t);
}

Test(delivery, rejected_with_signed_reason_and_quarantined, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-reject", ids2, 2);
	tnet_start(t, 0);
	char *out = NULL;
	/* The directory says BD-ACC receives mla, extradition and other, not asset recovery. */
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --cert '%s' --key '%s' --ca '%s' "
	                        "--hello-id FR-MJ --transfer-to BD-ACC --kind asset-recovery "
	                        "--until receipt --wait-ms 10000",
	    t->node[0].port, t->node[1].cert, t->node[1].key, t->ca);
	cr_assert(strstr(out, "signer=BD-ACC outcome=rejected reason=unknown-kind") != NULL, "%s", out);
	free(out);
	cr_assert(tnet_wait_log(t, 0, "refused: unknown-kind", 3000));
	cr_assert_eq(count_event(t, 0, "quarantined"), 1);
	cr_assert_eq(count_event(t, 0, "received"), 0);
	/* A document addressed to someone else. */
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --cert '%s' --key '%s' --ca '%s' "
	                        "--hello-id FR-MJ --transfer-to UA-PGO --until receipt "
	                        "--wait-ms 10000",
	    t->node[0].port, t->node[1].cert, t->node[1].key, t->ca);
	cr_assert(strstr(out, "outcome=rejected reason=not-for-us") != NULL, "%s", out);
	free(out);
	cr_assert_eq(count_event(t, 0, "quarantined"), 2);
	tnet_free(t);
}

Test(delivery, unconfirmed_then_late_receipt_delivers, .timeout = 90)
{
	struct tnet *t = tnet_new("dlv-unconf", ids2, 2);
	tnet_opt(t, 0, "delivery.expire_after=2s");
	tnet_start(t, 0);
	/* FR-MJ stores the message and dies before its receipt leaves. */
	start_crashing(t, 1, "inbox-before-receipt");
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind mla --subject 'Did it arrive?'");
	cr_assert_eq(ts_wait_exit(t->node[1].pid, 10000), 9);
	t->node[1].pid = 0;
	cr_assert(tr_wait_state(t, 0, id, "unconfirmed", 30000), "not unconfirmed");
	cr_assert(tr_wait_event(t, 0, "unconfirmed", id, 5000));
	cr_assert_eq(tr_events(t, 0, "unconfirmed", id), 1);
	/* It comes back: the retransmission is a duplicate and gets the stored receipt. */
	tnet_start(t, 1);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 30000), "late receipt did not deliver");
	cr_assert_eq(tr_events(t, 1, "received", id), 1);
	cr_assert_gt(tr_events(t, 1, "duplicate", id), 0);
	free(id);
	tnet_free(t);
}

/* BD-ACC sends to "FR-MJ", played by fakepeer with FR-MJ's credentials, which answers
 * with the receipt of the given mode. Returns the message id. */
static char *
receipt_case(struct tnet *t, const char *mode, const char *extra)
{
	char cmd[4096], outp[4200];
	snprintf(outp, sizeof(outp), "%s/fake-%s.out", t->dir, mode);
	snprintf(cmd, sizeof(cmd), "'%s' listen %d --cert '%s' --key '%s' --ca '%s' "
	                           "--hello-id FR-MJ --receipt %s %s --wait-ms 4000",
	    tnet_fakepeer(), t->node[1].port, t->node[1].cert, t->node[1].key, t->ca, mode, extra);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	pid_t pid = ts_spawn(argv, outp);
	cr_assert(ts_wait_file_contains(outp, "listening", 5000));
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind mla --subject 'Receipt check'");
	cr_assert(ts_wait_file_contains(outp, "sent receipt", 8000), "no receipt sent");
	ts_wait_exit(pid, 10000);
	return id;
}

Test(delivery, receipt_checks, .timeout = 90)
{
	struct tnet *t = tnet_new("dlv-rcpt", ids3_for_receipts, 3);
	tnet_start(t, 0);
	char extra[4096];

	char *id = receipt_case(t, "wrong-hash", "");
	cr_assert(tnet_wait_log(t, 0, "receipt names another payload hash; retrying", 5000));
	cr_assert_eq(tr_events(t, 0, "delivered", id), 0);
	free(id);

	id = receipt_case(t, "unknown-id", "");
	cr_assert(tnet_wait_log(t, 0, "for unknown message", 5000));
	cr_assert_eq(tr_events(t, 0, "delivered", id), 0);
	free(id);

	snprintf(extra, sizeof(extra), "--sign-cert '%s' --sign-key '%s'", t->node[2].cert,
	    t->node[2].key);
	id = receipt_case(t, "wrong-signer", extra);
	cr_assert(tnet_wait_log(t, 0, "is signed by UA-PGO for sender BD-ACC; retrying", 5000));
	cr_assert_eq(tr_events(t, 0, "delivered", id), 0);
	free(id);

	/* Signed by a certificate that names FR-MJ but comes from another CA: not proof. */
	const char *foreign = tnet_deviant(t, "foreignca", "FR-MJ");
	snprintf(extra, sizeof(extra), "--sign-cert '%s/FR-MJ.crt' --sign-key '%s/FR-MJ.key'",
	    foreign, foreign);
	id = receipt_case(t, "wrong-signer", extra);
	cr_assert(tnet_wait_log(t, 0, "receipt signer certificate: unable to get local issuer", 5000));
	cr_assert_eq(tr_events(t, 0, "delivered", id), 0);
	/* A refused receipt gives the transfer back to the retry schedule at once (its event
	 * reaches the log after the commit that follows the warning). */
	cr_assert(tr_wait_event(t, 0, "retry-scheduled", id, 5000), "bad receipt left it in sending");
	free(id);

	/* And a good receipt settles the message. */
	id = receipt_case(t, "good", "");
	cr_assert(tr_wait_state(t, 0, id, "delivered", 5000));
	free(id);
	tnet_free(t);
}

Test(delivery, sender_certificate_renewed_with_messages_queued, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-renew", ids2, 2);
	tnet_start(t, 0);
	char *a = tr_send_args(t, 0, "--to FR-MJ --kind mla --subject 'Before renewal 1'");
	char *b = tr_send_args(t, 0, "--to FR-MJ --kind mla --subject 'Before renewal 2'");
	/* Certificates have 1 s resolution: the new one must start strictly after the
	 * documents' creation, as it would in real life. A wait for the clock's next second
	 * (polled), not for the daemon. */
	for (time_t made = time(NULL); time(NULL) <= made;)
		usleep(20000);
	/* BD-ACC renews: a new key and certificate from the network CA, then a reload. */
	const char *dir = tnet_issue_extra(t, "BD-ACC");
	char cert[4200], key[4200];
	snprintf(cert, sizeof(cert), "tls.certificate=%s/BD-ACC.crt", dir);
	snprintf(key, sizeof(key), "tls.key=%s/BD-ACC.key", dir);
	tnet_opt(t, 0, cert);
	tnet_opt(t, 0, key);
	kill(t->node[0].pid, SIGHUP);
	cr_assert(tnet_wait_log(t, 0, "certificate renewed: 2 pending messages re-signed", 5000));
	tnet_start(t, 1);
	cr_assert(tr_wait_state(t, 0, a, "delivered", 15000));
	cr_assert(tr_wait_state(t, 0, b, "delivered", 15000));
	cr_assert_eq(tr_events(t, 1, "received", a), 1);
	cr_assert_eq(tr_events(t, 1, "received", b), 1);
	free(a);
	free(b);
	tnet_free(t);
}

Test(delivery, log_follow_streams_events, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-follow", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *before = tr_send_args(t, 0, "--to FR-MJ --kind mla --subject 'Before'");
	cr_assert(tr_wait_state(t, 0, before, "delivered", 10000));
	char outp[4200];
	snprintf(outp, sizeof(outp), "%s/follow.out", t->dir);
	char *argv[] = {(char *)ts_build_path("rogatoryctl"), "-s", t->node[0].sock, "--json", "log",
	    "--follow", NULL};
	pid_t pid = ts_spawn(argv, outp);
	/* The history reply leaves the daemon after the subscription is made: once it is
	 * here, every later event will follow. */
	char want[128];
	snprintf(want, sizeof(want), "\"event\":\"delivered\",\"id\":\"%s\"", before);
	cr_assert(ts_wait_file_contains(outp, want, 10000), "no history from log --follow");
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind mla --subject 'Followed'");
	snprintf(want, sizeof(want), "\"event\":\"delivered\",\"id\":\"%s\"", id);
	cr_assert(ts_wait_file_contains(outp, want, 10000), "follower did not see the delivery");
	ts_stop(pid, SIGTERM);
	static const char *const seen[] = {"queued", "sent", "delivered"};
	for (size_t k = 0; k < sizeof(seen) / sizeof(seen[0]); k++) {
		snprintf(want, sizeof(want), "\"event\":\"%s\",\"id\":\"%s\"", seen[k], before);
		cr_assert_eq(ts_file_count(outp, want), 1, "%s of the earlier message", seen[k]);
		snprintf(want, sizeof(want), "\"event\":\"%s\",\"id\":\"%s\"", seen[k], id);
		cr_assert_eq(ts_file_count(outp, want), 1, "%s of the followed message", seen[k]);
	}
	free(before);
	/* The non-following form prints the history. */
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "log -n 10"), 0, "%s", out);
	cr_assert(strstr(out, "delivered") != NULL && strstr(out, id) != NULL, "%s", out);
	free(out);
	free(id);
	tnet_free(t);
}

Test(delivery, too_large_for_peer_fails_before_transmission, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-toolarge", ids2, 2);
	tnet_opt(t, 1, "delivery.max_message_size=64K");
	tnet_start(t, 0);
	tnet_start(t, 1);
	/* Two 40,000-byte fields: a signed document of about 80 KB. */
	char batch[4200], args[4300];
	snprintf(batch, sizeof(batch), "%s/big.jsonl", t->dir);
	FILE *f = fopen(batch, "w");
	cr_assert(f != NULL);
	fprintf(f, "{\"to\":\"FR-MJ\",\"kind\":\"mla\",\"subject\":\"Big\",\"id\":"
	           "\"3f1e2d3c-4b5a-4697-8877-665544332211\",\"fields\":{\"a\":\"");
	for (int i = 0; i < 40000; i++)
		fputc('x', f);
	fprintf(f, "\",\"b\":\"");
	for (int i = 0; i < 40000; i++)
		fputc('y', f);
	fprintf(f, "\"}}\n");
	fclose(f);
	char *out = NULL;
	snprintf(args, sizeof(args), "send --batch '%s'", batch);
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 0, "%s", out);
	free(out);
	const char *id = "3f1e2d3c-4b5a-4697-8877-665544332211";
	cr_assert(tr_wait_state(t, 0, id, "failed", 10000), "not failed");
	char sargs[128];
	snprintf(sargs, sizeof(sargs), "show %s", id);
	cr_assert_eq(tnet_ctl(t, 0, &out, sargs), 0, "%s", out);
	cr_assert(strstr(out, "too-large-for-peer") != NULL, "%s", out);
	cr_assert(strstr(out, "FR-MJ accepts at most 65536") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tr_events(t, 0, "sent", id), 0, "a too-large message was transmitted");
	cr_assert_eq(count_event(t, 1, "received"), 0);
	tnet_free(t);
}

static void
renew(struct tnet *t, int i)
{
	const char *dir = tnet_issue_extra(t, t->node[i].id);
	static char cert[8][4200], key[8][4200];
	static int slot;
	int k = slot++ % 8;
	snprintf(cert[k], sizeof(cert[k]), "tls.certificate=%s/%s.crt", dir, t->node[i].id);
	snprintf(key[k], sizeof(key[k]), "tls.key=%s/%s.key", dir, t->node[i].id);
	tnet_opt(t, i, cert[k]);
	tnet_opt(t, i, key[k]);
	kill(t->node[i].pid, SIGHUP);
	cr_assert(tnet_wait_log(t, i, "reload: done", 5000));
}

static int
verify(struct tnet *t, int i, const char *id, char **out)
{
	char args[128];
	snprintf(args, sizeof(args), "verify %s", id);
	return tnet_ctl(t, i, out, args);
}

/* Changes one byte of a blob column of the message, daemon stopped. */
static void
tamper(struct tnet *t, int i, const char *id, const char *column)
{
	tnet_stop(t, i, SIGTERM);
	char *out = NULL;
	int rc = ts_sh(&out, "sqlite3 '%s/state/rogatory.db' \"UPDATE messages SET %s = "
	                     "CAST(substr(%s, 1, 30) || X'5A' || substr(%s, 32) AS BLOB) "
	                     "WHERE msg_id = '%s'\"",
	    t->node[i].home, column, column, column, id);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	tnet_start(t, i);
}

Test(delivery, verify_offline_survives_renewal_and_catches_tampering, .timeout = 90)
{
	struct tnet *t = tnet_new("dlv-verify", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind mla --subject 'Proof'");
	cr_assert(tr_wait_state(t, 0, id, "delivered", 10000));
	char *out = NULL;
	cr_assert_eq(verify(t, 0, id, &out), 0, "%s", out);
	cr_assert(strstr(out, ": valid") != NULL && strstr(out, "signed by FR-MJ") != NULL, "%s", out);
	free(out);
	cr_assert_eq(verify(t, 1, id, &out), 0, "receiver side: %s", out);
	free(out);
	/* Both sides renew their certificates: old proofs stay valid. */
	renew(t, 0);
	renew(t, 1);
	cr_assert_eq(verify(t, 0, id, &out), 0, "after renewal: %s", out);
	free(out);
	cr_assert_eq(verify(t, 1, id, &out), 0, "after renewal: %s", out);
	free(out);
	/* One byte of the stored receipt changed: caught. */
	tamper(t, 0, id, "rcpt_body");
	cr_assert_eq(verify(t, 0, id, &out), 1, "%s", out);
	cr_assert(strstr(out, "FAIL receipt signature") != NULL && strstr(out, "INVALID") != NULL,
	    "%s", out);
	free(out);
	/* One byte of the stored document changed: caught. */
	tamper(t, 1, id, "doc_body");
	cr_assert_eq(verify(t, 1, id, &out), 1, "%s", out);
	cr_assert(strstr(out, "FAIL payload hash") != NULL, "%s", out);
	cr_assert(strstr(out, "FAIL document signature") != NULL, "%s", out);
	free(out);
	free(id);
	tnet_free(t);
}

Test(delivery, transfer_without_receipt_on_a_live_link_is_retried, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-norcpt", ids2, 2);
	tnet_opt(t, 0, "network.dead_after=3s");
	tnet_start(t, 0);
	char cmd[4096], outp[4200];
	snprintf(outp, sizeof(outp), "%s/silent.out", t->dir);
	snprintf(cmd, sizeof(cmd), "'%s' listen %d --cert '%s' --key '%s' --ca '%s' "
	                           "--hello-id FR-MJ --receipt none --wait-ms 8000",
	    tnet_fakepeer(), t->node[1].port, t->node[1].cert, t->node[1].key, t->ca);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	pid_t pid = ts_spawn(argv, outp);
	cr_assert(ts_wait_file_contains(outp, "listening", 5000));
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind mla --subject 'Anyone there?'");
	/* The link stays up (the peer answers Pings), but no receipt comes: the window
	 * slot is given back and the message is retried. */
	cr_assert(tnet_wait_log(t, 0, "no receipt within 3000 ms (dead_after)", 10000));
	cr_assert_eq(tnet_log_count(t, 0, "nothing received"), 0, "the link died instead");
	/* The warning is logged when the retry is scheduled; its event reaches the delivery
	 * log only after the store thread commits it. */
	cr_assert(ts_wait_file_contains(dlog(t, 0), "\"event\":\"retry-scheduled\"", 10000));
	cr_assert_eq(tr_events(t, 0, "retry-scheduled", id) >= 1, 1);
	ts_stop(pid, SIGTERM);
	free(id);
	tnet_free(t);
}
