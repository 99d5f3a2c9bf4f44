/*
 * 05-delivery: store-and-forward with signed receipts between real daemons: delivery,
 * peer downtime, id conflicts, cancel, expiry, refusals, receipt checks, renewal, the
 * event stream, offline verification. Crashes and duplicate transfers are in
 * test_exactly_once.c. Exactly-once is judged from the delivery logs' events
 * ("received" at the receiver, "delivered" at the sender), not from table rows.
 */
#include <criterion/criterion.h>

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
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Bank records' --urgent "
	                          "--respond-by 2099-01-31 --field basis=art46");
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
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Request X'");
	cr_assert(tr_wait_state(t, 0, id, "queued", 3000));
	tnet_start(t, 1);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 15000), "not delivered after B came up");
	cr_assert_eq(tr_events(t, 1, "received", id), 1);
	free(id);
	tnet_free(t);
}

Test(delivery, same_id_twice_is_one_message, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-sameid", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	const char *id = "0b6f6a86-3c1e-4a52-9a6c-5f1c2f0a7d11";
	char args[256], *out = NULL;
	snprintf(args, sizeof(args), "--to FR-MJ --kind other --subject 'Twice' --id %s", id);
	free(tr_send_args(t, 0, args));
	free(tr_send_args(t, 0, args));
	/* Concurrently: a batch holding the same line twice, pipelined. */
	char batch[4200], bargs[4300];
	snprintf(batch, sizeof(batch), "%s/dup.jsonl", t->dir);
	const char *id2 = "7d0f4a8e-9f3b-4c6e-8a1d-2b5c6d7e8f90";
	ts_writef(batch, 0600,
	    "{\"to\":\"FR-MJ\",\"kind\":\"other\",\"subject\":\"Again\",\"id\":\"%s\"}\n"
	    "{\"to\":\"FR-MJ\",\"kind\":\"other\",\"subject\":\"Again\",\"id\":\"%s\"}\n", id2, id2);
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
	snprintf(args, sizeof(args), "send --to FR-MJ --kind other --subject 'Other' --id %s", id);
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 1, "%s", out);
	cr_assert(strstr(out, "id-conflict") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}

Test(delivery, cancel_before_and_after_transmission, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-cancel", ids2, 2);
	tnet_start(t, 0);
	char *a = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Cancel me'");
	char args[128], *out = NULL;
	snprintf(args, sizeof(args), "cancel %s", a);
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 0, "%s", out);
	cr_assert(strstr(out, "cancelled") != NULL, "%s", out);
	free(out);
	tnet_start(t, 1);
	char *b = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Too late'");
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
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Nobody home'");
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
	cr_assert_eq(tnet_ctl(t, 0, &out, "send --to DE-BMJ --kind other --subject x"), 1, "%s", out);
	cr_assert(strstr(out, "unknown authority DE-BMJ") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "send --to FR-MJ --kind asset-recovery --subject x"), 1,
	    "%s", out);
	cr_assert(strstr(out, "does not receive asset-recovery") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "send --to FR-MJ --kind bogus --subject x"), 1, "%s", out);
	cr_assert(strstr(out, "unknown kind") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "send --to FR-MJ --kind other --subject x --respond-by 2027-02-30"),
	    1, "%s", out);
	cr_assert(strstr(out, "respond_by") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "show 00000000-0000-4000-8000-000000000000"), 1, "%s", out);
	cr_assert(strstr(out, "not-found") != NULL, "%s", out);
	free(out);
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
	tr_start_crashing(t, 1, "inbox-before-receipt");
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Did it arrive?'");
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
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Receipt check'");
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
	char *a = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Before renewal 1'");
	char *b = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Before renewal 2'");
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
	char *before = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Before'");
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
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Followed'");
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
	fprintf(f, "{\"to\":\"FR-MJ\",\"kind\":\"other\",\"subject\":\"Big\",\"id\":"
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
tamper(struct tnet *t, int i, const char *id, const char *table)
{
	tnet_stop(t, i, SIGTERM);
	char *out = NULL;
	int rc = ts_sh(&out, "sqlite3 '%s/state/rogatory.db' \"UPDATE %s SET body = "
	                     "CAST(substr(body, 1, 30) || X'5A' || substr(body, 32) AS BLOB) "
	                     "WHERE msg = (SELECT id FROM messages WHERE msg_id = '%s')\"",
	    t->node[i].home, table, id);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	tnet_start(t, i);
}

Test(delivery, verify_offline_survives_renewal_and_catches_tampering, .timeout = 90)
{
	struct tnet *t = tnet_new("dlv-verify", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Proof'");
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
	tamper(t, 0, id, "message_receipts");
	cr_assert_eq(verify(t, 0, id, &out), 1, "%s", out);
	cr_assert(strstr(out, "FAIL receipt signature") != NULL && strstr(out, "INVALID") != NULL,
	    "%s", out);
	free(out);
	/* One byte of the stored document changed: caught. */
	tamper(t, 1, id, "message_docs");
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
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Anyone there?'");
	/* The link is alive (the peer answers Pings), but no receipt comes: the link is
	 * closed for it (the receiver still counts the transfer against the window it
	 * announced, so its slot cannot be reused on that link) and the message retried. */
	cr_assert(tnet_wait_log(t, 0, "no receipt within 3000 ms (dead_after); closing the link",
	    10000));
	cr_assert(tnet_wait_log(t, 0, "): no receipt within 3000 ms (dead_after)", 5000));
	cr_assert_eq(tnet_log_count(t, 0, "nothing received"), 0, "the link died instead");
	/* The warning is logged when the retry is scheduled; its event reaches the delivery
	 * log only after the store thread commits it. */
	cr_assert(ts_wait_file_contains(dlog(t, 0), "\"event\":\"retry-scheduled\"", 10000));
	cr_assert_eq(tr_events(t, 0, "retry-scheduled", id) >= 1, 1);
	ts_stop(pid, SIGTERM);
	free(id);
	tnet_free(t);
}

/* A message from BD-ACC to FR-MJ, delivered: the link is up and its page was read with
 * nothing waiting (what a submission sent at once needs). Returns its id (caller frees). */
static char *
link_up_idle(struct tnet *t)
{
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Link up'");
	cr_assert(tr_wait_state(t, 0, id, "delivered", 15000), "%s (link up) not delivered", id);
	return id;
}

/* The "ts" of id's first `event` line in node i's delivery log (the start of the store
 * batch that committed it), or "" when there is none. */
static void
event_ts(struct tnet *t, int i, const char *event, const char *id, char *ts, size_t len)
{
	char *log = ts_read_file(dlog(t, i), NULL), ev[64];
	cr_assert(log != NULL);
	snprintf(ev, sizeof(ev), "\"event\":\"%s\"", event);
	ts[0] = '\0';
	for (char *line = strtok(log, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *p = strstr(line, "\"ts\":\"");
		if (strstr(line, ev) != NULL && strstr(line, id) != NULL && p != NULL) {
			snprintf(ts, len, "%.27s", p + 6);
			break;
		}
	}
	free(log);
}

/* On a ready link with nothing waiting, a submission's `sending` is pushed right behind
 * it and both commit in one store batch: the two events carry one timestamp (each batch
 * stamps its own), and the message is delivered once. */
Test(delivery, submission_on_an_idle_link_is_queued_and_sent_in_one_commit, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-atonce", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *first = link_up_idle(t);
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'At once'");
	cr_assert(tr_wait_state(t, 0, id, "delivered", 10000), "not delivered");
	char queued[32], sent[32];
	event_ts(t, 0, "queued", id, queued, sizeof(queued));
	event_ts(t, 0, "sent", id, sent, sizeof(sent));
	cr_assert(queued[0] != '\0' && sent[0] != '\0', "events of %s missing", id);
	cr_assert_str_eq(sent, queued, "queued at %s and sent at %s: two commits", queued, sent);
	free(tr_settle(t, 0, 1));
	cr_assert_eq(tr_events(t, 0, "sent", id), 1);
	cr_assert_eq(tr_events(t, 1, "received", id), 1);
	free(first);
	free(id);
	tnet_free(t);
}

/* A submission whose id already names another message (queued for UA-PGO, which is down)
 * is refused as a conflict; the `sending` pushed behind it for FR-MJ, whose link is idle,
 * must not take that other message: it is never transmitted, to anyone. */
Test(delivery, conflicting_submission_sent_at_once_takes_no_other_message, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-atonce-conflict", ids3_for_receipts, 3);
	tnet_start(t, 0);
	tnet_start(t, 1);
	const char *id = "5a0c3e1f-7b2d-4e8a-9c6f-1d2e3f4a5b6c";
	char args[256], *out = NULL;
	snprintf(args, sizeof(args), "--to UA-PGO --kind other --subject 'Waits' --id %s", id);
	free(tr_send_args(t, 0, args));
	char *first = link_up_idle(t);
	snprintf(args, sizeof(args), "send --to FR-MJ --kind other --subject 'Other' --id %s", id);
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 1, "%s", out);
	cr_assert(strstr(out, "id-conflict") != NULL, "%s", out);
	free(out);
	free(tr_settle(t, 0, 1));
	cr_assert_eq(tr_events(t, 0, "sent", id), 0, "%s (for UA-PGO) was transmitted", id);
	cr_assert_eq(tr_events(t, 1, "received", id), 0);
	snprintf(args, sizeof(args), "show %s --json", id);
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 0, "%s", out);
	cr_assert(strstr(out, "\"peer\": \"UA-PGO\"") != NULL, "%s", out);
	cr_assert(strstr(out, "\"state\": \"sending\"") == NULL, "%s", out);
	free(out);
	free(first);
	tnet_free(t);
}

/* An urgent message made due by an operator's retry whose op is still on its way to the
 * store (held here) when a new submission arrives on the idle link: the outbox page,
 * read after that retry's commit, would send the urgent message first (urgent first,
 * then oldest). The submission sent at once must not overtake it. */
Test(delivery, submission_sent_at_once_does_not_overtake_a_due_retry, .timeout = 120)
{
	struct tnet *t = tnet_new("dlv-atonce-order", ids2, 2);
	char hold[4200];
	snprintf(hold, sizeof(hold), "%s/hold", t->dir);
	tnet_opt(t, 0, "network.dead_after=3s");
	tnet_opt(t, 0, "delivery.retry_min=60s");
	tnet_opt(t, 0, "delivery.retry_max=120s");
	setenv("ROGATORY_TEST_STORE_HOLD", hold, 1);
	tnet_start(t, 0);
	unsetenv("ROGATORY_TEST_STORE_HOLD");
	/* A silent FR-MJ: the urgent message is transmitted, unanswered, the link closed for
	 * it, and its next attempt is 30 s or more away. */
	char cmd[4096], outp[4200];
	snprintf(outp, sizeof(outp), "%s/silent.out", t->dir);
	snprintf(cmd, sizeof(cmd), "'%s' listen %d --cert '%s' --key '%s' --ca '%s' "
	                           "--hello-id FR-MJ --receipt none --wait-ms 8000",
	    tnet_fakepeer(), t->node[1].port, t->node[1].cert, t->node[1].key, t->ca);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	pid_t pid = ts_spawn(argv, outp);
	cr_assert(ts_wait_file_contains(outp, "listening", 5000));
	char *x = tr_send_args(t, 0, "--to FR-MJ --kind other --urgent --subject 'Urgent'");
	cr_assert(tnet_wait_log(t, 0, "no receipt within 3000 ms (dead_after); closing the link",
	    10000));
	cr_assert(tr_wait_event(t, 0, "retry-scheduled", x, 10000));
	ts_stop(pid, SIGTERM);
	/* The real FR-MJ; a message through it leaves its link ready with nothing due. */
	tnet_start(t, 1);
	char *up = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Link up'");
	char args[512], *out = NULL;
	snprintf(args, sizeof(args), "retry %s", up);
	tnet_ctl(t, 0, &out, args);   /* ends the dial backoff */
	free(out);
	cr_assert(tr_wait_state(t, 0, up, "delivered", 20000), "not delivered");
	cr_assert(tr_wait_state(t, 0, x, "retrying", 1000), "the urgent message is not waiting");
	/* The operator's retry of the urgent message waits in the store queue... */
	tr_hold_set(hold, "queue");
	tr_ctl_background(t, 0, "retry", "retry %s", x);
	cr_assert(tr_wait_held_ops(t, 0, 1, 10000), "the retry never waited in the store queue");
	int before = tr_held_ops(t, 0);
	/* ... when a new submission arrives. */
	const char *y = "6b1d4f20-8c3e-4f9b-8d70-2e3f4a5b6c7d";
	tr_ctl_background(t, 0, "send",
	    "send --to FR-MJ --kind other --subject 'Later' --id %s", y);
	/* Its ops (one, or two at once if it were sent at once) are queued in one push. */
	cr_assert(tr_wait_held_ops(t, 0, before + 1, 10000),
	    "the submission never waited in the queue");
	tr_hold_set(hold, NULL);
	cr_assert(tr_wait_state(t, 0, y, "delivered", 20000), "%s not delivered", y);
	cr_assert(tr_wait_state(t, 0, x, "delivered", 20000), "%s not delivered", x);
	int sent_x = tr_event_line(t, 0, "sent", x, true);
	int sent_y = tr_event_line(t, 0, "sent", y, false);
	cr_assert(sent_x >= 0 && sent_y >= 0);
	cr_assert_lt(sent_x, sent_y, "the new submission %s (line %d) was sent before the due "
	    "urgent retry %s (line %d)", y, sent_y, x, sent_x);
	free(tr_settle(t, 0, 1));
	cr_assert_eq(tr_events(t, 1, "received", x), 1);
	cr_assert_eq(tr_events(t, 1, "received", y), 1);
	free(x);
	free(up);
	tnet_free(t);
}

/* A transmission is the daemon's, not the operator's: a `sent` event (and its audit
 * entry) names no actor, whether its message went out through the outbox page or in the
 * commit that queued it (docs/OPERATIONS.md: `actor` when an operator's request caused
 * it; the `queued` event names the operator). */
Test(delivery, sent_event_names_no_operator_when_sent_at_once, .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-atonce-actor", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *first = link_up_idle(t);
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'At once'");
	cr_assert(tr_wait_state(t, 0, id, "delivered", 10000), "not delivered");
	char *out = NULL;
	cr_assert_eq(ts_sh(&out, "grep '\"event\":\"queued\"' '%s' | grep -c '\"actor\"'",
	    dlog(t, 0)), 0);
	cr_assert_str_eq(out, "2\n", "each queued event names the operator");
	free(out);
	ts_sh(&out, "grep '\"event\":\"sent\"' '%s' | grep '\"actor\"'", dlog(t, 0));
	cr_assert_str_eq(out, "", "a sent event names an operator: %s", out);
	free(out);
	free(first);
	free(id);
	tnet_free(t);
}

/* An operator's pause whose op is still on its way to the store (held here) when a new
 * submission arrives on the idle link: the pause commits first, and a paused authority's
 * messages wait (pause.h). The submission's `sending`, queued with it, must not transmit
 * it while paused: had it gone, FR-MJ's receipt would settle it before the resume. */
Test(delivery, submission_sent_at_once_does_not_pass_a_pause_committed_before_it,
    .timeout = 60)
{
	struct tnet *t = tnet_new("dlv-atonce-pause", ids2, 2);
	char hold[4200];
	snprintf(hold, sizeof(hold), "%s/hold", t->dir);
	setenv("ROGATORY_TEST_STORE_HOLD", hold, 1);
	tnet_start(t, 0);
	unsetenv("ROGATORY_TEST_STORE_HOLD");
	tnet_start(t, 1);
	char *up = link_up_idle(t);
	tr_hold_set(hold, "queue");
	tr_ctl_background(t, 0, "pause", "pause FR-MJ");
	cr_assert(tr_wait_held_ops(t, 0, 1, 10000), "the pause never waited in the store queue");
	int before = tr_held_ops(t, 0);
	const char *y = "8d2f6a40-1e5b-4c7d-9f80-4a5b6c7d8e9f";
	tr_ctl_background(t, 0, "send",
	    "send --to FR-MJ --kind other --subject 'Paused' --id %s", y);
	cr_assert(tr_wait_held_ops(t, 0, before + 1, 10000),
	    "the submission never waited in the queue");
	tr_hold_set(hold, NULL);
	cr_assert(tr_wait_event(t, 0, "queued", y, 10000), "%s never queued", y);
	cr_assert(tnet_wait_log(t, 0, "paused outbound messages to FR-MJ", 10000));
	free(tnet_ctl_ok(t, 0, "resume FR-MJ"));
	cr_assert(tr_wait_state(t, 0, y, "delivered", 20000), "%s not delivered after the resume",
	    y);
	int resumed = tr_event_line(t, 0, "peer-resumed", "FR-MJ", false);
	int delivered = tr_event_line(t, 0, "delivered", y, false);
	cr_assert(resumed >= 0 && delivered >= 0);
	cr_assert_gt(delivered, resumed, "%s was transmitted to FR-MJ while it was paused "
	    "(delivered at line %d, resumed at line %d)", y, delivered, resumed);
	free(tr_settle(t, 0, 1));
	cr_assert_eq(tr_events(t, 1, "received", y), 1);
	free(up);
	tnet_free(t);
}
