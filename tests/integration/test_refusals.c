/*
 * 06-refusals: the receiver's decisions do not depend on when a copy arrives. A message
 * it stored keeps its stored receipt however the settings change before the resend; a
 * refused document sent again and again gets the same signed refusal, byte for byte,
 * without a new quarantine row, and its bytes (body, signature, certificate) count once
 * against its sender's quota, so the sender's next good message still goes through.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "support.h"
#include "traffic.h"

static const char *const ids3[] = {"BD-ACC", "FR-MJ", "UA-PGO"};

/* FR-MJ stores a 100 KB message and dies before its receipt leaves. Its operator then
 * lowers max_message_size below the message's size. The resend is a duplicate of what
 * FR-MJ holds: it gets the stored ACCEPTED receipt, not a fresh too-large refusal, so
 * both sides agree that it was delivered. */
Test(refusals, stored_message_keeps_its_receipt_after_a_setting_changes, .timeout = 90)
{
	struct tnet *t = tnet_new("ref-stored", ids3, 2);   /* BD-ACC, FR-MJ */
	tnet_start(t, 0);
	setenv("ROGATORY_CRASH_AT", "inbox-before-receipt", 1);
	tnet_start(t, 1);
	unsetenv("ROGATORY_CRASH_AT");
	char *id = tr_send(t, 0, "FR-MJ", "Stored, receipt lost", 2, 50000);
	cr_assert_eq(ts_wait_exit(t->node[1].pid, 10000), 9, "FR-MJ did not stop at the point");
	t->node[1].pid = 0;
	tnet_opt(t, 1, "delivery.max_message_size=64K");
	tnet_start(t, 1);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 30000), "the resend was not answered "
	    "with the stored receipt");
	cr_assert_eq(tr_events(t, 0, "rejected", id), 0);
	cr_assert_eq(tr_events(t, 1, "received", id), 1);
	cr_assert_eq(tr_events(t, 1, "quarantined", id), 0, "the stored message was refused");
	cr_assert_gt(tr_events(t, 1, "duplicate", id), 0);
	/* And the setting applies to a new message of that size (BD-ACC sees FR-MJ's
	 * limit in its Hello and does not even send it). */
	char *big = tr_send(t, 0, "FR-MJ", "Too large now", 2, 50000);
	cr_assert(tr_wait_state(t, 0, big, "failed", 30000));
	free(big);
	free(id);
	tnet_free(t);
}

/* fakepeer, as BD-ACC, sends FR-MJ one document addressed to UA-PGO (not-for-us) 3,000
 * times, 50 at a time, reading every answer. Every answer is the same signed refusal;
 * FR-MJ keeps one quarantine entry; and a real message from BD-ACC afterwards is
 * delivered (before: 3,000 rows, 2,996 different receipts, and TRY_LATER). */
Test(refusals, a_refused_document_sent_again_gets_the_same_refusal, .timeout = 120)
{
	enum { N = 3000 };
	struct tnet *t = tnet_new("ref-again", ids3, 3);
	tnet_opt(t, 1, "delivery.max_message_size=256K");
	tnet_opt(t, 1, "delivery.peer_quota=1M");
	tnet_start(t, 1);
	char outp[4200], cmd[4096];
	snprintf(outp, sizeof(outp), "%s/again.out", t->dir);
	snprintf(cmd, sizeof(cmd), "exec '%s' connect 127.0.0.1 %d --cert '%s' --key '%s' "
	    "--ca '%s' --hello-id BD-ACC --transfer-to UA-PGO --repeat %d --paced 50 "
	    "--wait-ms 20000", tnet_fakepeer(), t->node[1].port, t->node[0].cert, t->node[0].key,
	    t->ca, N);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	pid_t fake = ts_spawn(argv, outp);
	cr_assert(ts_wait_file_contains(outp, "paced sent=", 90000), "no result");
	ts_wait_exit(fake, 10000);
	char *res = ts_read_file(outp, NULL);
	char want[128];
	snprintf(want, sizeof(want), "paced sent=%d receipts=%d distinct=1 accepted=0 "
	    "rejected=%d try-later=0", N, N, N);
	cr_assert(strstr(res, want) != NULL, "want \"%s\" in:\n%s", want, res);
	free(res);
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 1, &out, "--json quarantine"), 0, "%s", out);
	int entries = 0;
	for (const char *p = strstr(out, "\"entry\""); p != NULL; p = strstr(p + 1, "\"entry\""))
		entries++;
	cr_assert_eq(entries, 1, "not one quarantine entry: %s", out);
	cr_assert(strstr(out, "not-for-us") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tr_events(t, 1, "quarantined", NULL), 1);
	/* BD-ACC's own next message is not held back by its earlier refusals. */
	tnet_start(t, 0);
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'After the refusals'");
	cr_assert(tr_wait_state(t, 0, id, "delivered", 20000), "not delivered");
	cr_assert_eq(tnet_log_count(t, 1, "TRY_LATER"), 0);
	free(id);
	tnet_free(t);
}
