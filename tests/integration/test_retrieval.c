/*
 * 05-retrieval: proof of retrieval (PROTOCOL.md section 16) between real daemons over
 * real TLS. The first `rogatoryctl fetch` at the recipient sends its signed evidence to
 * the sender, which records `retrieved` (show, log, request, export); a kill -9 of the
 * recipient between the fetch's commit and the send, or the sender being down at fetch
 * time, still gets it there exactly once; a second fetch sends nothing more; a forged or
 * mismatching evidence is refused by name and changes nothing. Once is judged from the
 * sender's delivery log ("retrieved" events), not from rows.
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

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};
static const char *const ids3[] = {"BD-ACC", "FR-MJ", "UA-PGO"};

/* rogatoryctl fetch ID --out <net>/<name> on node i; asserts it succeeded. */
static void
fetch(struct tnet *t, int i, const char *id, const char *name)
{
	char *out = NULL;
	int rc = tnet_ctlf(t, i, &out, "fetch %s --out '%s/%s'", id, t->dir, name);
	cr_assert_eq(rc, 0, "fetch failed (%d): %s", rc, out);
	free(out);
}

/* A delivered message from node 0 to FR-MJ (node 1); its id. */
static char *
delivered(struct tnet *t, const char *subject)
{
	char args[200];
	snprintf(args, sizeof(args), "--to FR-MJ --kind other --subject '%s'", subject);
	char *id = tr_send_args(t, 0, args);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 15000), "%s not delivered", id);
	return id;
}

static char *
show(struct tnet *t, int i, const char *id, bool json)
{
	char *out = NULL;
	int rc = tnet_ctlf(t, i, &out, "show %s%s", id, json ? " --json" : "");
	cr_assert_eq(rc, 0, "show: %s", out);
	return out;
}

Test(retrieval, evidence_after_fetch_in_show_log_request_export, .timeout = 120)
{
	struct tnet *t = tnet_new("rtv-basic", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *id = delivered(t, "Retrieval one");
	/* Delivered is not retrieved: nothing before an operator fetched it. */
	char *out = show(t, 0, id, true);
	cr_assert(strstr(out, "\"retrieved\"") == NULL, "%s", out);
	free(out);
	cr_assert_eq(tr_events(t, 0, "retrieved", id), 0);

	fetch(t, 1, id, "f1");
	cr_assert(tr_wait_event(t, 0, "retrieved", id, 15000), "no retrieved event at BD-ACC");
	cr_assert_eq(tr_events(t, 0, "retrieved", id), 1);
	/* The sender's show: when, by whom (FR-MJ's operator, by uid), our receipt. */
	out = show(t, 0, id, true);
	cr_assert(strstr(out, "\"retrieved\": {") != NULL, "%s", out);
	cr_assert(strstr(out, "\"by\": \"FR-MJ\"") != NULL, "%s", out);
	char uid[64];
	snprintf(uid, sizeof(uid), "\"uid\": %u", (unsigned)getuid());
	cr_assert(strstr(out, uid) != NULL, "%s", out);
	cr_assert(strstr(out, "\"receipt\": \"accepted\"") != NULL, "%s", out);
	free(out);
	out = show(t, 0, id, false);
	cr_assert(strstr(out, "retrieved ") != NULL && strstr(out, "by FR-MJ") != NULL, "%s", out);
	free(out);
	/* The recipient's own evidence, receipted by the sender. */
	cr_assert(tnet_wait_log(t, 1, "receipted by BD-ACC (accepted)", 10000));
	out = show(t, 1, id, true);
	cr_assert(strstr(out, "\"by\": \"FR-MJ\"") != NULL, "%s", out);
	cr_assert(strstr(out, "\"receipt\": \"accepted\"") != NULL, "%s", out);
	free(out);
	/* The case view: the request's delivery says when it was retrieved. */
	cr_assert_eq(tnet_ctlf(t, 0, &out, "request %s --json", id), 0, "%s", out);
	cr_assert(strstr(out, "\"retrieved\": {") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctlf(t, 0, &out, "request %s", id), 0, "%s", out);
	cr_assert(strstr(out, ", retrieved 20") != NULL, "%s", out);
	free(out);
	/* The event log, filtered by event name. */
	cr_assert_eq(tnet_ctlf(t, 0, &out, "log --event retrieved"), 0, "%s", out);
	cr_assert(strstr(out, id) != NULL && strstr(out, "fetched by uid") != NULL, "%s", out);
	free(out);

	/* The export carries the evidence, and its own verification covers it. */
	char *dir = NULL;
	cr_assert(asprintf(&dir, "%s/bundle", t->dir) > 0);
	int rc = tnet_ctlf(t, 0, &out, "export %s --out '%s'", id, dir);
	cr_assert_eq(rc, 0, "export: %s", out);
	free(out);
	const char *files[] = {"retrieval.body", "retrieval.sig", "retrieval-signer.pem",
	    "retrieval-receipt.body", "retrieval-receipt.sig", "retrieval-receipt-signer.pem"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[4400];
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		cr_assert_eq(access(p, F_OK), 0, "%s missing from the bundle", files[i]);
	}
	/* The outside check (Python + openssl + protoc, from PROTOCOL.md and VERIFY.md) checks
	 * the retrieval files and runs every command of VERIFY.md as written. */
	rc = ts_sh(&out, "'%s' --commands '%s' 2>&1", ts_src_path("tests/tools/verify-export"), dir);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "ok   retrieval signature") != NULL, "%s", out);
	cr_assert(strstr(out, "ok   retrieval receipt signature") != NULL, "%s", out);
	free(out);
	char md[4400];
	snprintf(md, sizeof(md), "%s/VERIFY.md", dir);
	cr_assert_eq(ts_file_count(md, "Proof of retrieval"), 1);
	snprintf(md, sizeof(md), "%s/manifest.json", dir);
	cr_assert(ts_file_count(md, "retrieval signature") >= 1, "the manifest's verify lacks it");
	/* The recipient's bundle holds its own evidence too. */
	free(dir);
	cr_assert(asprintf(&dir, "%s/bundle-b", t->dir) > 0);
	rc = tnet_ctlf(t, 1, &out, "export %s --from BD-ACC --out '%s'", id, dir);
	cr_assert_eq(rc, 0, "export at FR-MJ: %s", out);
	free(out);
	rc = ts_sh(&out, "'%s' '%s' 2>&1", ts_src_path("tests/tools/verify-export"), dir);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "ok   retrieval signature") != NULL, "%s", out);
	free(out);
	free(dir);
	free(id);
	tnet_free(t);
}

Test(retrieval, second_fetch_sends_nothing_more, .timeout = 120)
{
	struct tnet *t = tnet_new("rtv-twice", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *id = delivered(t, "Fetched twice");
	fetch(t, 1, id, "f1");
	cr_assert(tr_wait_event(t, 0, "retrieved", id, 15000));
	fetch(t, 1, id, "f2");
	/* A later message's evidence travels the same way: when it has arrived, anything the
	 * second fetch could have sent would have arrived before it. */
	char *id2 = delivered(t, "A later one");
	fetch(t, 1, id2, "f3");
	cr_assert(tr_wait_event(t, 0, "retrieved", id2, 15000));
	cr_assert_eq(tr_events(t, 0, "retrieved", id), 1);
	cr_assert_eq(tr_events(t, 0, "retrieved", id2), 1);
	char needle[200];
	snprintf(needle, sizeof(needle), "evidence of retrieval of %s sent to", id);
	cr_assert_eq(tnet_log_count(t, 1, needle), 1);
	free(id);
	free(id2);
	tnet_free(t);
}

Test(retrieval, kill9_between_fetch_and_send_sends_once_after_restart, .timeout = 120)
{
	struct tnet *t = tnet_new("rtv-kill", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *id = delivered(t, "Crash after fetch");
	/* The recipient dies right after the fetch committed, before anything is sent. */
	tnet_stop(t, 1, SIGTERM);
	tr_start_crashing(t, 1, "retrieval-before-send");
	char *out = NULL;
	tnet_ctlf(t, 1, &out, "fetch %s --out '%s/f1'", id, t->dir);
	free(out);
	int st = ts_wait_exit(t->node[1].pid, 20000);
	cr_assert_eq(st, 9, "daemon did not stop at the crash point (status %d)", st);
	t->node[1].pid = 0;
	cr_assert_eq(tnet_log_count(t, 1, "crash point retrieval-before-send reached"), 1);
	cr_assert_eq(tr_events(t, 0, "retrieved", id), 0);
	tnet_start(t, 1);
	cr_assert(tr_wait_event(t, 0, "retrieved", id, 20000), "not sent after the restart");
	cr_assert(tnet_wait_log(t, 1, "receipted by BD-ACC (accepted)", 10000));
	/* The fetch itself was committed: a second one does not send again. */
	fetch(t, 1, id, "f2");
	char *id2 = delivered(t, "After the crash");
	fetch(t, 1, id2, "f3");
	cr_assert(tr_wait_event(t, 0, "retrieved", id2, 15000));
	cr_assert_eq(tr_events(t, 0, "retrieved", id), 1);
	free(id);
	free(id2);
	tnet_free(t);
}

Test(retrieval, sender_down_at_fetch_gets_it_when_back, .timeout = 120)
{
	struct tnet *t = tnet_new("rtv-down", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *id = delivered(t, "Sender away");
	cr_assert_eq(tnet_stop(t, 0, SIGTERM), 0);
	fetch(t, 1, id, "f1");
	cr_assert(tnet_wait_log(t, 1, "peer BD-ACC: next dial", 10000), "no redial of BD-ACC");
	tnet_start(t, 0);
	cr_assert(tr_wait_event(t, 0, "retrieved", id, 20000), "not sent after BD-ACC came back");
	cr_assert_eq(tr_events(t, 0, "retrieved", id), 1);
	free(id);
	tnet_free(t);
}

/* A third authority, UA-PGO, and the recipient itself with a wrong payload hash, send
 * evidence the sender must refuse; the message stays as it was. */
Test(retrieval, forged_and_mismatching_evidence_refused, .timeout = 120)
{
	struct tnet *t = tnet_new("rtv-forged", ids3, 3);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *id = delivered(t, "Not yours");
	char outp[4096], *out = NULL, hash[65] = "";
	int port = t->node[0].port;
	out = show(t, 0, id, true);
	const char *h = strstr(out, "\"payload_sha256\": \"");
	cr_assert(h != NULL, "%s", out);
	snprintf(hash, sizeof(hash), "%.64s", h + strlen("\"payload_sha256\": \""));
	free(out);
	/* UA-PGO was not its recipient. */
	pid_t pid = tr_fakepeer_as(t, 2, "fp-notrcpt", outp, sizeof(outp), "connect", port,
	    "--retrieval-of %s --retrieval-sender BD-ACC --retrieval-hash %s "
	    "--versions 1:2 --until retrieval_receipt --wait-ms 8000", id, hash);
	cr_assert_eq(ts_wait_exit(pid, 15000), 0);
	cr_assert(ts_wait_file_contains(outp, "recv retrieval-receipt outcome=rejected "
	    "reason=not-recipient", 1000), "%s", ts_read_file(outp, NULL));
	char needle[300];
	/* The warning names the peer, its certificate subject and the message id. */
	snprintf(needle, sizeof(needle), "evidence of retrieval from UA-PGO (CN=UA-PGO");
	cr_assert(tnet_wait_log(t, 0, needle, 5000));
	snprintf(needle, sizeof(needle), "about message %s refused: not-recipient", id);
	cr_assert(tnet_wait_log(t, 0, needle, 5000));
	/* The recipient, with a payload hash that is not the message's. */
	pid = tr_fakepeer_as(t, 1, "fp-hash", outp, sizeof(outp), "connect", port,
	    "--retrieval-of %s --retrieval-sender BD-ACC --retrieval-hash wrong "
	    "--versions 1:2 --until retrieval_receipt --wait-ms 8000", id);
	cr_assert_eq(ts_wait_exit(pid, 15000), 0);
	cr_assert(ts_wait_file_contains(outp, "recv retrieval-receipt outcome=rejected "
	    "reason=payload-mismatch", 1000), "%s", ts_read_file(outp, NULL));
	snprintf(needle, sizeof(needle), "about message %s refused: payload-mismatch", id);
	cr_assert(tnet_wait_log(t, 0, needle, 5000));
	/* A message BD-ACC never sent. */
	pid = tr_fakepeer_as(t, 1, "fp-unknown", outp, sizeof(outp), "connect", port,
	    "--retrieval-of 11111111-2222-4333-8444-555555555555 --retrieval-sender BD-ACC "
	    "--versions 1:2 --until retrieval_receipt --wait-ms 8000");
	cr_assert_eq(ts_wait_exit(pid, 15000), 0);
	cr_assert(ts_wait_file_contains(outp, "reason=unknown-message", 1000), "%s",
	    ts_read_file(outp, NULL));
	/* On a link that speaks protocol version 1 a Retrieval is not a frame of the protocol:
	 * Error PROTOCOL, link closed, nothing kept. */
	pid = tr_fakepeer_as(t, 1, "fp-v1", outp, sizeof(outp), "connect", port,
	    "--retrieval-of %s --retrieval-sender BD-ACC --retrieval-hash %s --until error "
	    "--wait-ms 8000", id, hash);
	cr_assert_eq(ts_wait_exit(pid, 15000), 0);
	cr_assert(ts_wait_file_contains(outp, "recv error code=protocol", 1000), "%s",
	    ts_read_file(outp, NULL));
	/* Nothing was recorded; the message is as it was, and the true evidence still counts. */
	cr_assert_eq(tr_events(t, 0, "retrieved", id), 0);
	out = show(t, 0, id, true);
	cr_assert(strstr(out, "\"retrieved\"") == NULL, "%s", out);
	cr_assert(strstr(out, "\"state\": \"delivered\"") != NULL, "%s", out);
	free(out);
	fetch(t, 1, id, "f1");
	cr_assert(tr_wait_event(t, 0, "retrieved", id, 15000));
	cr_assert_eq(tr_events(t, 0, "retrieved", id), 1);
	/* Other evidence from the genuine recipient once one is kept (the fake peer signs a
	 * new body: another time) is refused id-conflict and records nothing; the same
	 * bytes sent again get the stored receipt (unit store/retrieved_once_exists_then_
	 * conflict: no fake peer here can resend the daemon's own bytes). */
	pid = tr_fakepeer_as(t, 1, "fp-again", outp, sizeof(outp), "connect", port,
	    "--retrieval-of %s --retrieval-sender BD-ACC --retrieval-hash %s "
	    "--versions 1:2 --until retrieval_receipt --wait-ms 8000", id, hash);
	cr_assert_eq(ts_wait_exit(pid, 15000), 0);
	cr_assert(ts_wait_file_contains(outp, "reason=id-conflict", 1000), "%s",
	    ts_read_file(outp, NULL));
	cr_assert_eq(tr_events(t, 0, "retrieved", id), 1);
	free(id);
	tnet_free(t);
}
