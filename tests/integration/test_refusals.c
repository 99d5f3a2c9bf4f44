/*
 * 06-refusals: the receiver's decisions do not depend on when a copy arrives. A message
 * it stored keeps its stored receipt however the settings change before the resend; a
 * refused document sent again and again gets the same signed refusal, byte for byte,
 * without a new quarantine row, and its bytes (body, signature, certificate) count once
 * against its sender's quota, so the sender's next good message still goes through.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdarg.h>
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
	/* The stored receipt leaves before the duplicate's event is committed. */
	cr_assert(tr_wait_event(t, 1, "duplicate", id, 10000));
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
	char outp[4200];
	pid_t fake = tr_fakepeer_as(t, 0, "again", outp, sizeof(outp), "connect", t->node[1].port,
	    "--transfer-to UA-PGO --repeat %d --paced 50 --wait-ms 20000", N);
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

/* The paced fakepeer's result line, once it has exited. */
static char *
paced_result(struct tnet *t, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static char *
paced_result(struct tnet *t, const char *tag, const char *fmt, ...)
{
	char opts[1024], outp[4200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(opts, sizeof(opts), fmt, ap);
	va_end(ap);
	pid_t fake = tr_fakepeer_as(t, 0, tag, outp, sizeof(outp), "connect", t->node[1].port,
	    "%s", opts);
	cr_assert(ts_wait_file_contains(outp, "paced sent=", 60000), "no result in %s", outp);
	ts_wait_exit(fake, 10000);
	return ts_read_file(outp, NULL);
}

/* An id FR-MJ received with one content, then sent 200 times with another: refused once
 * as id-conflict, and that signed refusal answers every resend (one quarantine entry). */
Test(refusals, an_id_conflict_sent_again_gets_the_same_refusal, .timeout = 120)
{
	const char *mid = "11111111-2222-4333-8444-555555555555";
	struct tnet *t = tnet_new("ref-conflict", ids3, 3);
	tnet_start(t, 1);
	char *r = paced_result(t, "first", "--transfer-to FR-MJ --id %s --repeat 1 --paced 1 "
	    "--wait-ms 10000", mid);
	cr_assert(strstr(r, "paced sent=1 receipts=1 distinct=1 accepted=1") != NULL, "%s", r);
	free(r);
	r = paced_result(t, "again", "--transfer-to FR-MJ --id %s --body-bytes 100 "
	    "--repeat 200 --paced 10 --wait-ms 10000", mid);
	cr_assert(strstr(r, "paced sent=200 receipts=200 distinct=1 accepted=0 rejected=200") !=
	    NULL, "%s", r);
	free(r);
	cr_assert_eq(tr_events(t, 1, "refused-id-conflict", NULL), 1);
	cr_assert_eq(tr_events(t, 1, "received", NULL), 1);
	tnet_free(t);
}
