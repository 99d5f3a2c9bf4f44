/*
 * 08-hostile: an authenticated peer that sends and never reads, ignores the window it
 * was given, pipelines large transfers faster than the disk commits, or opens link
 * after link. Each must cost the receiver bounded memory: it stops reading a link whose
 * output the peer does not read ([limits] max_link_output), closes a link that exceeds
 * the window it announced, stops reading an authority whose bytes wait for the store
 * ([limits] max_inbound_bytes, max_inbound_total), and closes an authority's oldest
 * inbound link beyond [limits] max_peer_links. The peer is fakepeer with BD-ACC's
 * credentials; the receiver is a real FR-MJ. Memory is VmRSS from /proc, with glibc
 * returning large frees at once (MALLOC_MMAP_THRESHOLD_), on the plain build; under ASan
 * the bounds scale (its quarantine keeps freed memory).
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

/* Starts FR-MJ (node 1) with glibc giving large frees back at once, so that VmRSS shows
 * what is held; hold: the store test hold file (ROGATORY_TEST_STORE_HOLD) or NULL. */
static void
start_receiver(struct tnet *t, const char *hold)
{
	setenv("MALLOC_MMAP_THRESHOLD_", "65536", 1);
	if (hold != NULL)
		setenv("ROGATORY_TEST_STORE_HOLD", hold, 1);
	tnet_start(t, 1);
	unsetenv("MALLOC_MMAP_THRESHOLD_");
	unsetenv("ROGATORY_TEST_STORE_HOLD");
}

/* The "flood wrote K of N frames" figure of a fakepeer output, once it is there. */
static int
flood_written(const char *outp, int ms, char *how, size_t howlen)
{
	cr_assert(ts_wait_file_contains(outp, "flood wrote", ms), "no flood result in %s", outp);
	char *buf = ts_read_file(outp, NULL);
	const char *p = strstr(buf, "flood wrote ");
	int k = -1, n = -1;
	char h[32] = "";
	cr_assert_eq(sscanf(p, "flood wrote %d of %d frames (%31[a-z])", &k, &n, h), 3, "%s", p);
	snprintf(how, howlen, "%s", h);
	free(buf);
	return k;
}

/* The smallest of a few VmRSS samples (kB): what stays held, not a passing peak. */
static long
rss_kb(pid_t pid)
{
	long best = -1;
	for (int k = 0; k < 5; k++) {
		long r = tr_proc_kb(pid, "VmRSS");
		best = best < 0 || r < best ? r : best;
		/* Sampling over half a second, not waiting for anything. */
		usleep(100000);
	}
	return best;
}

static long
bound_kb(long plain_mib)
{
	/* Under ASan freed memory waits in its 256 MiB quarantine. */
	return (ts_sanitizer() ? 640 : plain_mib) * 1024;
}

/* 100,000 copies of one document, never reading a receipt: the first is stored, every
 * other is a duplicate answered from the store. The receiver stops reading once the
 * receipts it wrote pile up unread, so the peer cannot push the rest, and the
 * receiver's memory stays bounded (before: +80 MiB of queued receipts). */
Test(hostile, never_reading_flood_of_duplicates_costs_bounded_memory, .timeout = 120)
{
	enum { N = 100000 };
	struct tnet *t = tnet_new("hst-dup", ids2, 2);
	tnet_opt(t, 1, "network.dead_after=60s");
	start_receiver(t, NULL);
	pid_t fr = t->node[1].pid;
	long rss0 = rss_kb(fr);
	char outp[4200], how[32];
	pid_t fake = tr_fakepeer_as(t, 0, "flood", outp, sizeof(outp), "connect",
	    t->node[1].port, "--transfer-to FR-MJ --flood %d "
	    "--stall-ms 2000 --wait-ms 60000", N);
	int k = flood_written(outp, 60000, how, sizeof(how));
	long rss = rss_kb(fr);
	fprintf(stderr, "hostile: %d of %d duplicate transfers taken (%s), FR-MJ VmRSS %ld -> %ld "
	    "kB\n", k, N, how, rss0, rss);
	cr_assert(tnet_wait_log(t, 1, "of output the peer has not read; reading paused", 5000));
	cr_assert_str_eq(how, "stalled", "the receiver kept reading a peer that never reads");
	cr_assert_lt(k, N);
	cr_assert_lt(rss - rss0, bound_kb(24), "VmRSS grew by %ld kB", rss - rss0);
	/* One message, and duplicates recorded at a bounded rate, not one event each: the
	 * copies that came before the first commit (at most the window, 64), then a burst of
	 * 10 and one per 10 s. */
	cr_assert_eq(tr_events(t, 1, "received", NULL), 1);
	int dups = tr_events(t, 1, "duplicate", NULL);
	cr_assert_leq(dups, 64 + 10 + 6, "%d duplicate events for %d duplicates", dups, k - 1);
	/* Still serving its operator meanwhile. */
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 1, &out, "status"), 0, "%s", out);
	free(out);
	ts_stop(fake, SIGTERM);
	tnet_free(t);
}

/* FR-MJ announces a window of 4; its store is held, so nothing is answered. The fifth
 * unanswered Transfer closes the link with Error PROTOCOL, logged with the peer; the
 * four within the window are kept and committed once the store runs again. */
Test(hostile, transfers_beyond_the_announced_window_close_the_link, .timeout = 60)
{
	struct tnet *t = tnet_new("hst-window", ids2, 2);
	tnet_opt(t, 1, "delivery.window=4");
	char hold[4200];
	snprintf(hold, sizeof(hold), "%s/store.hold", t->dir);
	start_receiver(t, hold);
	ts_write_file(hold, "queue\n", 0600);
	char outp[4200], how[32];
	pid_t fake = tr_fakepeer_as(t, 0, "window", outp, sizeof(outp), "connect",
	    t->node[1].port, "--transfer-to FR-MJ --flood 20 "
	    "--distinct --stall-ms 3000 --wait-ms 20000");
	cr_assert(tnet_wait_log(t, 1, "window exceeded: 4 transfers unanswered, our Hello "
	    "announced a window of 4", 10000), "the window was not enforced");
	cr_assert(tnet_wait_log(t, 1, "link from BD-ACC closed", 5000));
	flood_written(outp, 20000, how, sizeof(how));
	unlink(hold);
	cr_assert(tr_wait_events(t, 1, "received", 4, 10000), "the four within the window");
	/* A marker written after the commits that would show a fifth. */
	cr_assert(tnet_wait_log(t, 1, "store: test hold released", 5000));
	cr_assert_eq(tr_events(t, 1, "received", NULL), 4);
	ts_stop(fake, SIGTERM);
	tnet_free(t);
}

/* Transfers of 1 MB pipelined within the window while the store is held: FR-MJ stops
 * reading BD-ACC once [limits] max_inbound_bytes (4M here) wait for the store, so its
 * memory holds about that, not the window's 32 MB; released, it takes what was sent,
 * each once. */
Test(hostile, bytes_waiting_for_the_store_are_bounded_per_peer, .timeout = 90)
{
	enum { N = 32 };
	struct tnet *t = tnet_new("hst-bytes", ids2, 2);
	tnet_opt(t, 1, "limits.max_inbound_bytes=4M");
	tnet_opt(t, 1, "network.dead_after=60s");
	char hold[4200];
	snprintf(hold, sizeof(hold), "%s/store.hold", t->dir);
	start_receiver(t, hold);
	pid_t fr = t->node[1].pid;
	long rss0 = rss_kb(fr);
	ts_write_file(hold, "queue\n", 0600);
	char outp[4200], how[32];
	pid_t fake = tr_fakepeer_as(t, 0, "bytes", outp, sizeof(outp), "connect",
	    t->node[1].port, "--transfer-to FR-MJ --flood %d "
	    "--distinct --body-bytes 1000000 --stall-ms 2000 --wait-ms 60000", N);
	int k = flood_written(outp, 60000, how, sizeof(how));
	long rss = rss_kb(fr);
	fprintf(stderr, "hostile: %d of %d 1 MB transfers taken (%s) with the store held, FR-MJ "
	    "VmRSS %ld -> %ld kB\n", k, N, how, rss0, rss);
	cr_assert(tnet_wait_log(t, 1, "bytes wait for the store; its links stop reading "
	    "([limits] max_inbound_bytes)", 5000));
	cr_assert_str_eq(how, "stalled", "FR-MJ read every transfer with its store held");
	cr_assert_lt(rss - rss0, bound_kb(20), "VmRSS grew by %ld kB", rss - rss0);
	unlink(hold);
	cr_assert(tr_wait_events(t, 1, "received", k, 30000), "not all %d taken were stored", k);
	ts_stop(fake, SIGTERM);
	tnet_free(t);
}

/* The same bound for all authorities together: [limits] max_inbound_total. */
Test(hostile, bytes_waiting_for_the_store_are_bounded_in_total, .timeout = 90)
{
	struct tnet *t = tnet_new("hst-total", ids2, 2);
	tnet_opt(t, 1, "limits.max_inbound_total=2M");
	tnet_opt(t, 1, "network.dead_after=60s");
	char hold[4200];
	snprintf(hold, sizeof(hold), "%s/store.hold", t->dir);
	start_receiver(t, hold);
	ts_write_file(hold, "queue\n", 0600);
	char outp[4200], how[32];
	pid_t fake = tr_fakepeer_as(t, 0, "total", outp, sizeof(outp), "connect",
	    t->node[1].port, "--transfer-to FR-MJ --flood 16 "
	    "--distinct --body-bytes 1000000 --stall-ms 2000 --wait-ms 60000");
	int k = flood_written(outp, 60000, how, sizeof(how));
	cr_assert(tnet_wait_log(t, 1, "every inbound link stops reading ([limits] "
	    "max_inbound_total)", 5000));
	cr_assert_str_eq(how, "stalled");
	cr_assert_lt(k, 16);
	unlink(hold);
	cr_assert(tr_wait_events(t, 1, "received", k, 30000), "not all %d taken were stored", k);
	ts_stop(fake, SIGTERM);
	tnet_free(t);
}

/* An authority opening link after link keeps at most [limits] max_peer_links inbound:
 * each further one closes its oldest, which is told why. */
Test(hostile, inbound_links_per_authority_are_bounded, .timeout = 60)
{
	enum { N = 5 };
	struct tnet *t = tnet_new("hst-links", ids2, 2);
	tnet_opt(t, 1, "limits.max_peer_links=2");
	start_receiver(t, NULL);
	char outp[N][4200];
	pid_t pid[N];
	for (int k = 0; k < N; k++) {
		char tag[16];
		snprintf(tag, sizeof(tag), "link%d", k);
		pid[k] = tr_fakepeer_as(t, 0, tag, outp[k], sizeof(outp[k]), "connect",
		    t->node[1].port, "--wait-ms 30000");
		/* One at a time, so that "oldest" is well defined. */
		cr_assert(ts_wait_file_contains(outp[k], "recv hello", 10000));
	}
	cr_assert(tnet_wait_log(t, 1, "more than [limits] max_peer_links (2)", 5000));
	for (int k = 0; k < N - 2; k++)
		cr_assert(ts_wait_file_contains(outp[k], "max_peer_links", 5000),
		    "link %d (among the oldest) was not closed with the reason", k);
	cr_assert_eq(tnet_log_count(t, 1, "closing the inbound link from"), N - 2);
	for (int k = N - 2; k < N; k++) {
		char *buf = ts_read_file(outp[k], NULL);
		cr_assert(strstr(buf, "max_peer_links") == NULL, "a newest link was closed: %s",
		    buf);
		free(buf);
	}
	for (int k = 0; k < N; k++)
		ts_stop(pid[k], SIGTERM);
	tnet_free(t);
}

/* An honest sender and a receiver whose store stalls longer than the sender's
 * dead_after: the sender gives up waiting by closing the link (the receiver still counts
 * those transfers against its window), never by sending more on it; nothing is closed for
 * exceeding the window, and everything is delivered once the store runs again. */
Test(hostile, a_stalled_store_never_makes_an_honest_sender_exceed_the_window, .timeout = 120)
{
	enum { N = 8 };
	struct tnet *t = tnet_new("hst-honest", ids2, 2);
	for (int i = 0; i < 2; i++) {
		tnet_opt(t, i, "network.keepalive=1s");
		tnet_opt(t, i, "network.dead_after=3s");
	}
	tnet_opt(t, 1, "delivery.window=4");
	char hold[4200];
	snprintf(hold, sizeof(hold), "%s/store.hold", t->dir);
	tnet_start(t, 0);
	start_receiver(t, hold);
	/* The link first, so that its link-up event does not wait behind the hold. */
	char *warm = tr_send(t, 0, "FR-MJ", "warm", 0, 0);
	cr_assert(tr_wait_state(t, 0, warm, "delivered", 20000));
	ts_write_file(hold, "queue\n", 0600);
	char *ids[N];
	for (int k = 0; k < N; k++)
		ids[k] = tr_send(t, 0, "FR-MJ", "during the stall", 0, 0);
	cr_assert(tnet_wait_log(t, 0, "no receipt within 3000 ms (dead_after)", 15000),
	    "BD-ACC did not give up on the receipts");
	unlink(hold);
	for (int k = 0; k < N; k++) {
		cr_assert(tr_wait_state(t, 0, ids[k], "delivered", 30000), "%s", ids[k]);
		cr_assert_eq(tr_events(t, 1, "received", ids[k]), 1);
		free(ids[k]);
	}
	cr_assert_eq(tnet_log_count(t, 1, "window exceeded"), 0,
	    "an honest sender was closed for exceeding the window");
	free(warm);
	tnet_free(t);
}
