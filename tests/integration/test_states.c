/*
 * 05-states: the outbound state table at work between real daemons (and fakepeer playing
 * a receiver that never answers): `unconfirmed` stays unconfirmed through its
 * retransmissions, messages in `sending` at a certificate renewal are re-signed and go out
 * with the new signature after a revocation, and a message whose recipient left the
 * directory waits with the reason, is warned about once, and expires or goes out when
 * the authority is listed again.
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

/* FR-MJ's port held by fakepeer with FR-MJ's credentials: it takes transfers and never
 * answers them, for wait_ms. Its output goes to <dir>/<tag>.out (returned). */
static pid_t
silent_receiver(struct tnet *t, const char *tag, int wait_ms, char *outp, size_t len)
{
	pid_t pid = tr_fakepeer_as(t, 1, tag, outp, len, "listen", t->node[1].port,
	    "--receipt none --wait-ms %d", wait_ms);
	cr_assert(ts_wait_file_contains(outp, "listening", 5000));
	return pid;
}

/* Delivery-log lines of node i about id with this event (and this state unless NULL). */
static int
events_in_state(struct tnet *t, int i, const char *id, const char *event, const char *state)
{
	char path[4096], ev[64], st[64], idq[64];
	snprintf(path, sizeof(path), "%s/state/delivery.jsonl", t->node[i].home);
	snprintf(ev, sizeof(ev), "\"event\":\"%s\"", event);
	snprintf(st, sizeof(st), "\"state\":\"%s\"", state ? state : "");
	snprintf(idq, sizeof(idq), "\"id\":\"%s\"", id);
	char *buf = ts_read_file(path, NULL);
	int n = 0;
	char *save = NULL;
	for (char *l = buf ? strtok_r(buf, "\n", &save) : NULL; l != NULL;
	     l = strtok_r(NULL, "\n", &save))
		if (strstr(l, ev) && strstr(l, idq) && (state == NULL || strstr(l, st)))
			n++;
	free(buf);
	return n;
}

static bool
wait_events_of(struct tnet *t, int i, const char *id, const char *event, int n, int ms)
{
	for (int waited = 0; waited < ms; waited += 50) {
		if (events_in_state(t, i, id, event, NULL) >= n)
			return true;
		usleep(50000);
	}
	return false;
}

/* BD-ACC's message goes to a receiver that never answers until expire_after makes it
 * unconfirmed; it is retransmitted, again unanswered, and stays `unconfirmed` throughout
 * (one `unconfirmed` event, its later transmissions logged in state unconfirmed); the
 * real FR-MJ then takes it and its receipt delivers it. */
Test(states, unconfirmed_stays_unconfirmed_through_retransmissions, .timeout = 90)
{
	struct tnet *t = tnet_new("st-unconf", ids2, 2);
	tnet_opt(t, 0, "delivery.expire_after=2s");
	tnet_start(t, 0);
	char outp[4200];
	pid_t fake = silent_receiver(t, "silent1", 2500, outp, sizeof(outp));
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Never answered'");
	cr_assert(ts_wait_file_contains(outp, "recv frame type=2", 10000), "not transmitted");
	cr_assert_geq(ts_wait_exit(fake, 10000), 0);
	cr_assert(tr_wait_state(t, 0, id, "unconfirmed", 30000), "not unconfirmed");
	cr_assert(wait_events_of(t, 0, id, "unconfirmed", 1, 5000));

	/* Two more transmissions to a receiver that does not answer either (it stays longer
	 * than retry_max, the time an unconfirmed message waits between attempts). */
	for (int round = 2; round <= 3; round++) {
		char tag[24];
		snprintf(tag, sizeof(tag), "silent%d", round);
		int sent = events_in_state(t, 0, id, "sent", NULL);
		int rescheduled = events_in_state(t, 0, id, "retry-scheduled", NULL);
		fake = silent_receiver(t, tag, 4500, outp, sizeof(outp));
		cr_assert(ts_wait_file_contains(outp, "recv frame type=2", 15000),
		    "round %d: not retransmitted", round);
		cr_assert(wait_events_of(t, 0, id, "sent", sent + 1, 5000));
		cr_assert_geq(ts_wait_exit(fake, 10000), 0);
		/* The link dropped: the transmission ended unanswered. */
		cr_assert(wait_events_of(t, 0, id, "retry-scheduled", rescheduled + 1, 10000));
		cr_assert(tr_wait_state(t, 0, id, "unconfirmed", 1000), "round %d: left "
		    "unconfirmed", round);
	}
	cr_assert_eq(events_in_state(t, 0, id, "unconfirmed", NULL), 1,
	    "unconfirmed was entered more than once");
	cr_assert_eq(events_in_state(t, 0, id, "sent", "unconfirmed"), 2,
	    "retransmissions of an unconfirmed message must not change its state");
	cr_assert_eq(events_in_state(t, 0, id, "retry-scheduled", "retrying"), 1,
	    "only the first, before expiry, may be `retrying`");

	tnet_start(t, 1);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 30000), "a late receipt did not deliver");
	cr_assert_eq(tr_events(t, 1, "received", id), 1);
	free(id);
	tnet_free(t);
}

/* Messages in `sending` when BD-ACC's certificate is revoked and renewed are re-signed
 * with the new key; after the link to the silent receiver drops, their next
 * transmission carries the new signature, and the real FR-MJ, which holds the CRL that
 * revokes the old certificate, accepts them all: none ends `rejected untrusted-signer`. */
Test(states, sending_messages_are_resigned_at_revoke_and_renew, .timeout = 90)
{
	enum { N = 3 };
	struct tnet *t = tnet_new("st-renew", ids2, 2);
	tnet_opt(t, 0, "network.dead_after=60s");
	tnet_start(t, 0);
	char outp[4200];
	pid_t fake = silent_receiver(t, "silent", 60000, outp, sizeof(outp));
	char *ids[N];
	for (int k = 0; k < N; k++)
		ids[k] = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'In flight'");
	cr_assert(tr_wait_events(t, 0, "sent", N, 10000), "not all transmitted");
	for (int k = 0; k < N; k++)
		cr_assert(tr_wait_state(t, 0, ids[k], "sending", 5000));
	/* Certificates have a one-second resolution; the new one must begin after the
	 * documents were created, as in real life. This waits for the clock, not for an
	 * event of the daemon. */
	time_t created = time(NULL);
	while (time(NULL) <= created + 1)
		usleep(50000);
	tnet_revoke(t, 0);
	const char *dir = tnet_issue_extra(t, "BD-ACC");
	const char *crl = tnet_crl(t, "revoked-old", 24);
	char cert[4200], key[4200];
	snprintf(cert, sizeof(cert), "tls.certificate=%s/BD-ACC.crt", dir);
	snprintf(key, sizeof(key), "tls.key=%s/BD-ACC.key", dir);
	tnet_opt(t, 0, cert);
	tnet_opt(t, 0, key);
	kill(t->node[0].pid, SIGHUP);
	cr_assert(tnet_wait_log(t, 0, "certificate renewed: 3 pending messages re-signed", 5000),
	    "messages in sending were not re-signed");
	ts_stop(fake, SIGTERM);
	tnet_use_crl(t, 1, crl);
	tnet_start(t, 1);
	for (int k = 0; k < N; k++) {
		cr_assert(tr_wait_state(t, 0, ids[k], "delivered", 30000), "%s not delivered",
		    ids[k]);
		cr_assert_eq(tr_events(t, 1, "received", ids[k]), 1);
		free(ids[k]);
	}
	cr_assert_eq(tr_events(t, 0, "rejected", NULL), 0);
	cr_assert_eq(tnet_log_count(t, 1, "untrusted-signer"), 0);
	tnet_free(t);
}

/* The last error `show` gives for id on node i contains needle, within ms. */
static bool
wait_last_error(struct tnet *t, int i, const char *id, const char *needle, int ms)
{
	char args[128];
	snprintf(args, sizeof(args), "show %s", id);
	for (int waited = 0; waited < ms; waited += 100) {
		char *out = NULL;
		tnet_ctl(t, i, &out, args);
		bool ok = out != NULL && strstr(out, needle) != NULL;
		free(out);
		if (ok)
			return true;
		usleep(100000);
	}
	return false;
}

static void
reload(struct tnet *t, int i)
{
	int before = tnet_log_count(t, i, "reload: done");
	kill(t->node[i].pid, SIGHUP);
	for (int waited = 0; waited < 5000 && tnet_log_count(t, i, "reload: done") <= before;
	     waited += 50)
		usleep(50000);
	cr_assert_gt(tnet_log_count(t, i, "reload: done"), before, "reload did not finish");
}

/* FR-MJ leaves the directory with a message queued for it: the message says why in its
 * last error, the daemon warns once (not twice a second), and the message expires like
 * any other undeliverable one. */
Test(states, recipient_removed_from_directory_waits_with_reason_then_expires, .timeout = 60)
{
	struct tnet *t = tnet_new("st-gone", ids2, 2);
	tnet_opt(t, 0, "delivery.expire_after=4s");
	tnet_start(t, 0);
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'For a removed peer'");
	tnet_write_directory(t, 1u << 0);
	reload(t, 0);
	cr_assert(wait_last_error(t, 0, id, "FR-MJ is not in the directory", 10000),
	    "no reason in the message's last error");
	cr_assert(tr_wait_state(t, 0, id, "expired", 30000), "did not expire");
	cr_assert_eq(tnet_log_count(t, 0, "messages for FR-MJ wait"), 1,
	    "the warning must be given once, not at every tick");
	cr_assert_eq(tnet_log_count(t, 0, "which is not in the directory"), 0);
	free(id);
	tnet_free(t);
}

/* ... and once FR-MJ is listed again, the waiting message goes out. */
Test(states, recipient_listed_again_gets_the_waiting_message, .timeout = 60)
{
	struct tnet *t = tnet_new("st-back", ids2, 2);
	tnet_start(t, 0);
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Wait for me'");
	tnet_write_directory(t, 1u << 0);
	reload(t, 0);
	cr_assert(wait_last_error(t, 0, id, "FR-MJ is not in the directory", 10000));
	tnet_write_directory(t, 3u);
	reload(t, 0);
	tnet_start(t, 1);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 30000), "not delivered once listed again");
	cr_assert_eq(tr_events(t, 1, "received", id), 1);
	free(id);
	tnet_free(t);
}
