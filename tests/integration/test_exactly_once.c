/*
 * 05-delivery, exactly once: nothing lost, nothing twice, whatever crashes or is copied:
 * kill -9 of the receiver in a burst, every crash point (with what the sender's ctl was
 * told), and a Transfer's duplicates in the batch of its first copy or the next one
 * (forced with the store's test hold, daemon/storeq.h); and that one batch of receipts
 * reads the outbox page once. Judged from sets of ids in the delivery logs, after a
 * settle marker (tr_settle), not from totals.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "support.h"
#include "traffic.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

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
		fprintf(f, "{\"to\":\"FR-MJ\",\"kind\":\"other\",\"subject\":\"%s %d\",\"id\":\"%s\"}\n",
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

/* Waits (up to ms) until BD-ACC logged as many deliveries as want (sorted ids, one per
 * line) holds, sends a settle marker, then asserts that exactly the ids of want, each
 * once, were queued and delivered at BD-ACC and received at FR-MJ. Sets, not totals: one
 * loss and one duplicate cannot cancel out. */
static void
assert_exactly_once(struct tnet *t, const char *want, int ms)
{
	int n = (int)(strlen(want) / 37);
	cr_assert(tr_wait_events(t, 0, "delivered", n, ms), "%d of %d delivered",
	    tr_events(t, 0, "delivered", NULL), n);
	char *marker = tr_settle(t, 0, 1);
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
	free(marker);
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
	cr_assert(tr_wait_events(t, 1, "received", 50, 20000), "burst did not start");
	cr_assert_eq(tnet_stop(t, 1, SIGKILL), 128 + SIGKILL);
	int before = tr_events(t, 1, "received", NULL);
	cr_assert_lt(before, 500, "the burst finished before the kill; test proves nothing");
	tnet_start(t, 1);
	assert_exactly_once(t, want, 60000);
	free(acked);
	free(want);
	free(out);
	tnet_free(t);
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
		tr_start_crashing(t, 0, point);
		tnet_start(t, 1);
	} else {
		tnet_start(t, 0);
		if (mid_commit) {
			/* FR-MJ's store takes nothing until the transfers wait in its queue: the
			 * batch the crash interrupts holds them. */
			tr_hold_set(hold, "queue");
			setenv("ROGATORY_TEST_STORE_HOLD", hold, 1);
		}
		tr_start_crashing(t, 1, point);
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
	assert_exactly_once(t, want, 30000);
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
	tr_hold_set(hold, "queue");
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
	tr_hold_set(hold, "commit");
	cr_assert(tnet_wait_log(t, 0, "ops, 1 receive; 0 ops queued", 10000),
	    "the first copy's batch was not held before its commit");
	ts_write_file(go, "", 0600);
	cr_assert(tnet_wait_log(t, 0, "ops queued, 2 receive", 10000),
	    "the other copies did not queue behind the held batch");
	cr_assert_eq(unlink(hold), 0);
	assert_one_receipt(t, outp, fake);
	tnet_free(t);
}

/* The receipts of 20 transfers complete in one store batch at BD-ACC (its store held
 * while they arrive): the outbox reads FR-MJ's page once for the lot, at the end of the
 * turn, not once per receipt. */
Test(delivery, one_batch_of_receipts_reads_the_outbox_page_once, .timeout = 90)
{
	struct tnet *t = tnet_new("dlv-kick", ids2, 2);
	char hold_a[4200], hold_b[4200];
	snprintf(hold_a, sizeof(hold_a), "%s/hold-a", t->dir);
	snprintf(hold_b, sizeof(hold_b), "%s/hold-b", t->dir);
	setenv("ROGATORY_TEST_STORE_HOLD", hold_a, 1);
	tnet_start(t, 0);
	setenv("ROGATORY_TEST_STORE_HOLD", hold_b, 1);
	tnet_start(t, 1);
	unsetenv("ROGATORY_TEST_STORE_HOLD");
	/* FR-MJ takes the 20 transfers but commits (and answers) none of them yet. */
	tr_hold_set(hold_b, "queue");
	char batch[4200], args[4300];
	snprintf(batch, sizeof(batch), "%s/batch.jsonl", t->dir);
	char *want = write_batch(batch, 20, "kick");
	char *out = NULL;
	snprintf(args, sizeof(args), "send --batch '%s'", batch);
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 0, "%s", out);
	cr_assert(tnet_wait_log(t, 1, "ops queued, 20 receive", 20000),
	    "the 20 transfers never waited together in FR-MJ's store queue");
	/* Every `sending` of BD-ACC is committed (its transfer was written): now its store
	 * holds the receipts as they come. */
	tr_hold_set(hold_a, "queue");
	cr_assert_eq(unlink(hold_b), 0);
	cr_assert(tr_wait_held_ops(t, 0, 20, 20000), "the 20 receipts never waited together at BD-ACC");
	int before = tnet_log_count(t, 0, "outbox: FR-MJ: page read");
	cr_assert_eq(unlink(hold_a), 0);
	cr_assert(tr_wait_events(t, 0, "delivered", 20, 30000), "%d of 20 delivered",
	    tr_events(t, 0, "delivered", NULL));
	int reads = tnet_log_count(t, 0, "outbox: FR-MJ: page read") - before;
	cr_assert_eq(reads, 1, "one batch of 20 receipts read FR-MJ's outbox page %d times", reads);
	/* The link idle, the settle marker goes out at once; each of the 20 once. */
	assert_exactly_once(t, want, 30000);
	free(want);
	free(out);
	tnet_free(t);
}
