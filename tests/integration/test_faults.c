/*
 * 08-faults: network faults between two real daemons. FR-MJ sits behind
 * tests/helpers/faultproxy (the directory's address for FR-MJ is the proxy's port), which
 * cuts, truncates, stalls or delays the first connection(s) of BD-ACC's link. Each test
 * asserts that the delivery completes once the fault clears and that it happened exactly
 * once: one "received" at FR-MJ, one "delivered" at BD-ACC, whatever was retransmitted
 * (counted after a later message, the settle marker, went through: tr_settle).
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

/* Sender 0 and receiver 1 behind a proxy started with opts. */
static struct tnet *
faulty_pair(const char *tag, pid_t *proxy, const char *opts)
{
	struct tnet *t = tnet_new(tag, ids2, 2);
	tr_behind_proxy(t, 1);
	*proxy = tr_proxy_start(t, 1, "%s", opts);
	tnet_start(t, 0);
	tnet_start(t, 1);
	return t;
}

static void
assert_once(struct tnet *t, const char *id)
{
	cr_assert_eq(tr_events(t, 1, "received", id), 1, "%s received %d times", id,
	    tr_events(t, 1, "received", id));
	cr_assert_eq(tr_events(t, 0, "delivered", id), 1);
	cr_assert_eq(tr_events(t, 1, "quarantined", NULL), 0, "something was quarantined");
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 1, &out, "inbox"), 0, "%s", out);
	cr_assert_eq(ts_file_count(t->node[1].log, "bad frame"), 0, "a cut frame was decoded");
	free(out);
}

static void
finish(struct tnet *t, pid_t proxy)
{
	ts_stop(proxy, SIGTERM);
	tnet_free(t);
}

/* The link is reset (RST) in the middle of a 40 KB transfer, twice; the third
 * connection is clean. */
Test(faults, reset_mid_transfer_then_delivered, .timeout = 60)
{
	pid_t px;
	struct tnet *t = faulty_pair("flt-cut", &px, "--cut-after 20000 --faults 2");
	char *id = tr_send(t, 0, "FR-MJ", "cut twice", 1, 40000);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 30000), "not delivered");
	cr_assert(ts_file_count(tr_proxy_log(t, 1), " cut at ") >= 2, "the proxy did not cut");
	cr_assert_geq(tr_events(t, 0, "sent", id), 2, "the cut missed the transfer");
	free(tr_settle(t, 0, 1));
	assert_once(t, id);
	free(id);
	finish(t, px);
}

/* The stream towards FR-MJ stops after the first TLS record of the transfer (and 100
 * bytes of the next), then FIN: FR-MJ holds a decrypted partial frame when the
 * connection ends. It must discard it, never decode it. */
Test(faults, truncated_frame_is_never_data, .timeout = 60)
{
	pid_t px;
	struct tnet *t = faulty_pair("flt-trunc", &px, "--truncate-big-record 8000");
	char *id = tr_send(t, 0, "FR-MJ", "truncated once", 1, 40000);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 30000), "not delivered");
	cr_assert_eq(ts_file_count(tr_proxy_log(t, 1), "conn 1 truncated at"), 1,
	    "the proxy did not truncate");
	cr_assert_geq(tr_events(t, 0, "sent", id), 2);
	cr_assert(tnet_wait_log(t, 1, "link from BD-ACC closed", 5000));
	free(tr_settle(t, 0, 1));
	assert_once(t, id);
	free(id);
	finish(t, px);
}

/* Cut in the middle of a TLS record (byte 9000 towards FR-MJ, inside the transfer). */
Test(faults, stream_cut_mid_record_then_delivered, .timeout = 60)
{
	pid_t px;
	struct tnet *t = faulty_pair("flt-mid", &px, "--truncate-after 9000");
	char *id = tr_send(t, 0, "FR-MJ", "cut mid record", 1, 40000);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 30000), "not delivered");
	cr_assert_eq(ts_file_count(tr_proxy_log(t, 1), "conn 1 truncated at 9000"), 1);
	free(tr_settle(t, 0, 1));
	assert_once(t, id);
	free(id);
	finish(t, px);
}

/* Nothing moves for 8 s, longer than dead_after (5 s): BD-ACC gives the link up, and
 * the message goes through on a new connection. */
Test(faults, stall_longer_than_dead_after, .timeout = 60)
{
	pid_t px;
	struct tnet *t = faulty_pair("flt-stall", &px, "--stall-after 12000 --stall-ms 8000");
	char *id = tr_send(t, 0, "FR-MJ", "stalled", 1, 40000);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 40000), "not delivered");
	cr_assert_eq(ts_file_count(tr_proxy_log(t, 1), "conn 1 stall"), 1);
	cr_assert(tnet_log_count(t, 0, "(dead_after)") >= 1, "the link was not declared dead");
	free(tr_settle(t, 0, 1));
	assert_once(t, id);
	free(id);
	finish(t, px);
}

/* A short stall (2 s, within dead_after) and 20 ms on every chunk of every connection:
 * slow, but every message arrives once. */
Test(faults, short_stall_and_slow_link, .timeout = 60)
{
	pid_t px;
	struct tnet *t = faulty_pair("flt-slow", &px,
	    "--stall-after 12000 --stall-ms 2000 --delay-ms 20 --faults 0");
	char *ids[5];
	for (int k = 0; k < 5; k++)
		ids[k] = tr_send(t, 0, "FR-MJ", "slow", 1, 20000);
	for (int k = 0; k < 5; k++)
		cr_assert(tr_wait_state(t, 0, ids[k], "delivered", 30000), "%s not delivered",
		    ids[k]);
	free(tr_settle(t, 0, 1));
	for (int k = 0; k < 5; k++) {
		assert_once(t, ids[k]);
		free(ids[k]);
	}
	finish(t, px);
}
