/*
 * 08-slowpeer: authenticated peers that cost us resources: one that stops reading (our
 * buffers must stay bounded by max_inflight_bytes, not by window x message size, and
 * other peers must be served meanwhile) and one that sends faster than [limits]
 * peer_read_rate. Memory is read from /proc (VmRSS); the rate shows as a lower bound on
 * the time a known volume takes.
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
static const char *const ids3[] = {"BD-ACC", "FR-MJ", "UA-PGO"};

static long
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FR-MJ's port held by fakepeer with FR-MJ's credentials: it completes the Hello, then
 * never reads. Its output goes to logp. */
static pid_t
noread_peer(struct tnet *t, char *logp, size_t len)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "exec '%s' listen %d --cert '%s' --key '%s' --ca '%s' "
	    "--hello-id FR-MJ --no-read --wait-ms 60000", tnet_fakepeer(), t->node[1].port,
	    t->node[1].cert, t->node[1].key, t->ca);
	snprintf(logp, len, "%s/noread.out", t->dir);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	pid_t fake = ts_spawn(argv, logp);
	cr_assert(ts_wait_file_contains(logp, "listening", 5000));
	return fake;
}

/* FR-MJ is a fake that completes the Hello and then never reads. BD-ACC holds at most
 * max_inflight_bytes (1M) of 24 messages of 900 KB in its buffers, not a window (64) of
 * them; UA-PGO, meanwhile, gets its message at once. */
Test(slowpeer, stops_reading_memory_bounded, .timeout = 90)
{
	struct tnet *t = tnet_new("fld-noread", ids3, 3);
	tnet_opt(t, 0, "limits.max_inflight_bytes=1M");
	tnet_opt(t, 0, "network.dead_after=60s");
	/* Freed blocks go back to the kernel at once, so VmRSS shows what is held. */
	setenv("MALLOC_MMAP_THRESHOLD_", "65536", 1);
	tnet_start(t, 0);
	unsetenv("MALLOC_MMAP_THRESHOLD_");
	tnet_start(t, 2);
	char logp[4096];
	pid_t fake = noread_peer(t, logp, sizeof(logp));
	pid_t a = t->node[0].pid;
	long rss0 = tr_proc_kb(a, "VmRSS");
	enum { N = 24, FIELDS = 15, FIELD_LEN = 60000 };
	for (int k = 0; k < N; k++)
		free(tr_send(t, 0, "FR-MJ", "to a peer that stopped reading", FIELDS, FIELD_LEN));
	cr_assert(ts_wait_file_contains(logp, "not reading", 10000));
	cr_assert(tnet_wait_log(t, 0, "waits (max_inflight_bytes)", 10000));
	char *id = tr_send(t, 0, "UA-PGO", "unaffected", 0, 0);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 10000), "UA-PGO was held up");
	/* Deliberate, not a synchronisation: two more seconds of a peer that does not read,
	 * in which unbounded buffering would grow. */
	sleep(2);
	long rss = -1;
	for (int k = 0; k < 5; k++) {
		long r = tr_proc_kb(a, "VmRSS");
		rss = rss < 0 || r < rss ? r : rss;
		usleep(150000); /* sampling interval: the lowest of 5 samples over 0.75 s */
	}
	int sent = tr_events(t, 0, "sent", NULL) - 1; /* less UA-PGO's */
	fprintf(stderr, "slowpeer: no-read peer: %d of %d transfers written, VmRSS %ld -> %ld kB "
	    "(a window would hold %d kB)\n", sent, N, rss0, rss, N * FIELDS * FIELD_LEN / 1024);
	cr_assert_leq(sent, 2, "%d transfers in flight to a peer that does not read", sent);
	/* Under ASan freed memory waits in its 256 MiB quarantine: the bound scales. */
	cr_assert_lt(rss - rss0, (ts_sanitizer() ? 640 : 12) * 1024, "VmRSS grew by %ld kB",
	    rss - rss0);
	ts_stop(fake, SIGTERM);
	free(id);
	tnet_free(t);
}

/* FR-MJ reads at most 512 KB/s from BD-ACC (bursts of one 1088 KB frame): eight messages
 * of 480 KB take seconds, each arrives once; each is larger than BD-ACC's
 * max_inflight_bytes (256K) and still goes, alone. */
Test(slowpeer, read_rate_limits_inbound, .timeout = 60)
{
	struct tnet *t = tnet_new("fld-rate", ids2, 2);
	tnet_opt(t, 0, "limits.max_inflight_bytes=256K");
	tnet_opt(t, 0, "network.dead_after=20s");
	tnet_opt(t, 1, "limits.peer_read_rate=512K");
	tnet_opt(t, 1, "limits.max_frame=1088K");
	tnet_opt(t, 1, "limits.max_inflight_bytes=1M");
	tnet_opt(t, 1, "network.dead_after=20s");
	tnet_start(t, 0);
	enum { N = 8 };
	char *ids[N];
	for (int k = 0; k < N; k++)
		ids[k] = tr_send(t, 0, "FR-MJ", "rate limited", 8, 60000);
	/* Queued first, so the clock measures the transfers alone. */
	tnet_start(t, 1);
	long t0 = mono_ms();
	char *out = NULL;
	tnet_ctl(t, 0, &out, "connect FR-MJ");
	free(out);
	for (int k = 0; k < N; k++)
		cr_assert(tr_wait_state(t, 0, ids[k], "delivered", 40000), "%s not delivered",
		    ids[k]);
	long took = mono_ms() - t0;
	fprintf(stderr, "slowpeer: %d x 480 KB at 512 KB/s took %ld ms\n", N, took);
	/* (3.84 MB - 1.1 MB burst) / 512 KB/s is over 5 s; unlimited, it takes about 1 s. */
	cr_assert_geq(took, 4000, "not rate limited: %ld ms", took);
	free(tr_settle(t, 0, 1));
	for (int k = 0; k < N; k++) {
		cr_assert_eq(tr_events(t, 1, "received", ids[k]), 1);
		free(ids[k]);
	}
	tnet_free(t);
}

/* [limits] max_inflight_total bounds what all peers together hold unanswered: with
 * FR-MJ not reading, BD-ACC stops writing to it once the total is reached, while UA-PGO,
 * with nothing in flight, still gets its message (one message is always admissible). */
Test(slowpeer, total_inflight_bounded_other_peer_served, .timeout = 90)
{
	struct tnet *t = tnet_new("fld-total", ids3, 3);
	tnet_opt(t, 0, "limits.max_inflight_total=256K");
	tnet_opt(t, 0, "network.dead_after=60s");
	tnet_start(t, 0);
	tnet_start(t, 2);
	char logp[4096];
	pid_t fake = noread_peer(t, logp, sizeof(logp));
	for (int k = 0; k < 6; k++)
		free(tr_send(t, 0, "FR-MJ", "held by the total", 2, 60000));
	cr_assert(tnet_wait_log(t, 0, "waits (max_inflight_total)", 10000));
	char *id = tr_send(t, 0, "UA-PGO", "still served", 0, 0);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 10000), "UA-PGO was held up");
	int sent = tr_events(t, 0, "sent", NULL) - 1; /* less UA-PGO's */
	cr_assert_leq(sent, 3, "%d transfers of 120 KB in flight under a 256K total", sent);
	ts_stop(fake, SIGTERM);
	free(id);
	tnet_free(t);
}
