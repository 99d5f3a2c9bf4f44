/*
 * benchscale: the benchmark phases about size and scale — one large attachment, a queue
 * at rest for a peer that is down (restart, drain), and 200 peers at once. Each one is
 * bounded in time and reports what it could not measure instead of failing the run.
 */
#include "benchscale.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "benchconsole.h"
#include "benchlib.h"

/* ---- large message (attachments may not exist yet in this tree) ---- */

void
benchscale_large(struct bench *b)
{
	int mb = b->c.large_mb;
	bench_note("large message: one message with a %d MiB attachment", mb);
	json_object_set_new(b->out, "large_mb_per_s", json_null());
	json_object_set_new(b->out, "large_peak_rss_mb", json_null());
	char path[700];
	snprintf(path, sizeof(path), "%s/attachment.bin", b->env.dir);
	if (bl_sh(NULL, "head -c %d /dev/urandom > '%s'", mb << 20, path) != 0)
		bl_die("cannot make %s", path);
	struct bl_phase *ph = bl_phase_new(TAG_LARGE, 1);
	char id[37];
	bl_msg_id(id, TAG_LARGE, 0);
	bl_reset_hwm(b->a.pid);
	bl_reset_hwm(b->b.pid);
	int64_t start = bl_wall_us();
	char *out = NULL, args[1500], bin[600], log[700];
	snprintf(bin, sizeof(bin), "%s/rogatoryctl", b->env.build);
	snprintf(log, sizeof(log), "%s/large-send.log", b->env.dir);
	char *argv[] = {bin, "-s", b->a.sock, "send", "--to", ID_B, "--kind", "other", "--id", id,
	    "--subject", "Benchmark: large attachment", "--attach", path, NULL};
	/* The upload is bounded too: the run must end whatever the attachment code does. */
	pid_t perf = bench_perf_start(b, "large");
	start = bl_wall_us();
	pid_t up = bl_spawn(argv, log, -1);
	int rc = bl_wait(up, 40000);
	if (rc != 0) {
		bench_perf_stop(perf);
		if (rc == -1)
			bl_stop(up, SIGTERM);
		bl_sh(&out, "tail -n 3 '%s'", log);
		printf("   large: not measured (rogatoryctl send --attach %s: %s)\n",
		    rc == -1 ? "did not finish in 40 s" : "failed", out);
		json_object_set_new(b->out, "large_note", json_string(rc == -1
		    ? "rogatoryctl send --attach did not finish in 40 s" : out));
		free(out);
		bl_phase_free(ph);
		return;
	}
	bool ok = bl_tail_wait(&b->ta, ph, 1, 30);
	bench_perf_stop(perf);
	long hwm_a = bl_proc_kb(b->a.pid, "VmHWM"), hwm_b = bl_proc_kb(b->b.pid, "VmHWM");
	if (!ok || ph->delivered != 1) {
		printf("   large: not delivered within 30 s (under 2 MB/s)\n");
		json_object_set_new(b->out, "large_note", json_string("not delivered within 30 s"));
		bl_phase_free(ph);
		return;
	}
	double s = (double)(ph->delivered_us[0] - start) / 1e6;
	double mbps = (double)((size_t)mb << 20) / 1e6 / s;
	double peak = (double)(hwm_a > hwm_b ? hwm_a : hwm_b) / 1024.0;
	printf("   %d MiB in %.2f s (rogatoryctl start -> delivered at A): %.1f MB/s; peak RSS "
	       "A %.1f MiB, B %.1f MiB\n",
	    mb, s, mbps, hwm_a / 1024.0, hwm_b / 1024.0);
	if (ph->queued_us[0] > 0)
		printf("   of which upload to A (-> queued) %.2f s\n",
		    (double)(ph->queued_us[0] - start) / 1e6);
	/* The bytes must have arrived whole: fetch them at B and compare. */
	snprintf(args, sizeof(args), "fetch %s --out '%s/fetched'", id, b->env.dir);
	if (bl_sh(NULL, "mkdir -p '%s/fetched'", b->env.dir) == 0 &&
	    bl_ctl(&b->env, &b->b, &out, args) == 0) {
		free(out);
		out = NULL;
		int same = bl_sh(&out, "cmp -s '%s' \"$(find '%s/fetched' -type f ! -name '*.json' "
		                       "| head -n 1)\" && echo same", path, b->env.dir);
		bool whole = same == 0 && strstr(out, "same") != NULL;
		printf("   rogatoryctl fetch at %s: %s\n", ID_B,
		    whole ? "attachment identical" : "ATTACHMENT DIFFERS");
		json_object_set_new(b->out, "large_fetched_identical", json_boolean(whole));
	} else {
		printf("   rogatoryctl fetch at %s failed: %s\n", ID_B, out ? out : "");
	}
	free(out);
	bench_setr(b, "large_mb_per_s", mbps);
	bench_setr(b, "large_peak_rss_mb", peak);
	bench_setr(b, "large_peak_rss_a_mb", hwm_a / 1024.0);
	bench_setr(b, "large_peak_rss_b_mb", hwm_b / 1024.0);
	bl_phase_free(ph);
}

/* ---- queue at rest ---- */

void
benchscale_queue(struct bench *b)
{
	int n = b->c.queue;
	/* A third authority, never started yet: nothing else A does (a stuck large
	 * transfer to B) shares its outbox queue. */
	bench_note("queue at rest: %d messages queued for %s while it is down", n, ID_C);
	struct bl_phase *ph = bl_phase_new(TAG_QUEUE, n);
	pid_t perf = bench_perf_start(b, "queue");
	double t0 = bl_mono_s();
	pid_t p = bench_batch_submit(b, ID_C, TAG_QUEUE, n);
	while (ph->queued < n && bl_mono_s() - t0 < 240) {
		bl_tail_poll(&b->ta, ph);
		if (bl_wait(p, 0) >= 0 && ph->queued < n) {
			bl_sleep_ms(200);
			bl_tail_poll(&b->ta, ph);
			break;
		}
		bl_sleep_ms(5);
	}
	bl_wait(p, 10000);
	double sub_s = bl_mono_s() - t0;
	bench_perf_stop(perf);
	printf("   %d queued in %.1f s (%.0f msg/s); A's RSS %.1f MiB, peak %.1f MiB\n", ph->queued,
	    sub_s, ph->queued / sub_s, bl_proc_kb(b->a.pid, "VmRSS") / 1024.0,
	    bl_proc_kb(b->a.pid, "VmHWM") / 1024.0);
	bench_setr(b, "queue100k_rss_before_restart_mb", bl_proc_kb(b->a.pid, "VmRSS") / 1024.0);
	bench_seti(b, "queue100k_messages", ph->queued);

	double stop_t0 = bl_mono_s();
	bl_node_stop(&b->a);
	double stop_s = bl_mono_s() - stop_t0;
	char db[700], wal[720];
	snprintf(db, sizeof(db), "%s/rogatory.db", b->a.state);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	double db_mb = (double)(bl_file_size(db) + bl_file_size(wal)) / 1048576.0;
	double start_s = bl_node_start(&b->env, &b->a);
	bl_sleep_ms(1000);
	double rss = bl_proc_kb(b->a.pid, "VmRSS") / 1024.0;
	printf("   restart of A: stop %.2f s, start-up %.3f s (to \"started as\"); RSS 1 s later "
	       "%.1f MiB; database %.1f MiB (with WAL)\n",
	    stop_s, start_s, rss, db_mb);
	/* At rest with the queue: what does A spend while its peer is down? */
	double cpu0 = bl_proc_cpu_s(b->a.pid), w0 = bl_mono_s();
	bl_sleep_ms(2000);
	double idle_cpu = 100.0 * (bl_proc_cpu_s(b->a.pid) - cpu0) / (bl_mono_s() - w0);
	printf("   A at rest with the queue (peer down): %.1f%% of a CPU\n", idle_cpu);
	bench_setr(b, "queue100k_rest_cpu_pct", idle_cpu);
	bench_setr(b, "queue100k_rss_mb", rss);
	bench_setr(b, "queue100k_db_mb", db_mb);
	bench_setr(b, "queue100k_startup_s", start_s);
	benchconsole_measure(b, ph->queued);

	pid_t perf_d = bench_perf_start(b, "drain");
	bl_node_start(&b->env, &b->nc);
	int64_t drain0 = bl_wall_us();
	char *out = NULL;
	bl_ctl(&b->env, &b->a, &out, "connect " ID_C);
	free(out);
	/* The run must stay within its budget whatever the daemons' speed: past the
	 * deadline the drain time is extrapolated from the rate so far, and said so. */
	double left = b->budget_s - (bl_mono_s() - b->t_start) - 45;
	bool ok = bl_tail_wait(&b->ta, ph, n, left > 20 ? left : 20);
	int64_t last = 0;
	for (int i = 0; i < n; i++)
		if (ph->delivered_us[i] > last)
			last = ph->delivered_us[i];
	double drain = last > 0 ? (double)(last - drain0) / 1e6 : 0;
	bench_failures(ph, "queued");
	bench_perf_stop(perf_d);
	printf("   drained %d in %.2f s after %s came up (%.0f msg/s)\n", ph->delivered, drain,
	    ID_C, drain > 0 ? ph->delivered / drain : 0);
	json_object_set_new(b->out, "queue100k_drain_extrapolated", json_boolean(!ok));
	if (ok) {
		bench_setr(b, "queue100k_drain_s", drain);
	} else if (ph->delivered > 0 && drain > 0) {
		double est = drain * n / ph->delivered;
		printf("   not drained within the run's time budget: %d of %d; at that rate all would "
		       "take %.1f s (reported, marked extrapolated)\n", ph->delivered, n, est);
		bench_setr(b, "queue100k_drain_s", est);
	} else {
		printf("   WARNING: nothing drained\n");
		json_object_set_new(b->out, "queue100k_drain_s", json_null());
	}
	bl_phase_free(ph);
}

/* ---- many peers ---- */

void
benchscale_peers(struct bench *b)
{
	int n = b->c.peers;
	bench_note("many peers: %d authorities (bench/manypeers) dial a fresh daemon %s at once",
	    n, ID_HUB);
	bl_node_init(&b->env, &b->hub, ID_HUB);
	const struct bnode *me[] = {&b->hub};
	bench_write_directory(&b->hub, me, 1, PEER_PREFIX, n);
	bl_node_start(&b->env, &b->hub);
	struct bl_tail th;
	bl_tail_open(&th, b->hub.dlog);
	bl_sleep_ms(500);
	long rss0 = bl_proc_kb(b->hub.pid, "VmRSS");
	char bin[600], log[700], count[16], port[16];
	snprintf(bin, sizeof(bin), "%s/bench/manypeers", b->env.build);
	snprintf(log, sizeof(log), "%s/manypeers.log", b->env.dir);
	snprintf(count, sizeof(count), "%d", n);
	snprintf(port, sizeof(port), "%d", b->hub.port);
	char *argv[] = {bin, b->env.ca_dir, PEER_PREFIX, count, "127.0.0.1", port, "120", NULL};
	pid_t mp = bl_spawn(argv, log, -1);
	long long start_us = 0;
	double t0 = bl_mono_s();
	char *text = NULL;
	while (bl_mono_s() - t0 < 60) {
		free(text);
		text = NULL;
		bl_sh(&text, "cat '%s'", log);
		char *s = strstr(text, "start_us ");
		if (s != NULL)
			start_us = atoll(s + 9);
		if (strstr(text, "\nup ") || strstr(text, "\npartial "))
			break;
		if (bl_wait(mp, 0) >= 0)
			break;
		bl_sleep_ms(20);
	}
	double t1 = bl_mono_s();
	while (th.link_ups < n && bl_mono_s() - t1 < 15) {
		bl_tail_poll(&th, NULL);
		bl_sleep_ms(5);
	}
	bl_tail_poll(&th, NULL);
	char *status = NULL;
	bl_ctl(&b->env, &b->hub, &status, "--json status");
	json_t *st = json_loads(status, 0, NULL);
	long long links = st ? json_integer_value(json_object_get(st, "links_up")) : -1;
	json_decref(st);
	free(status);
	double up_s = start_us > 0 && th.last_link_up_us > 0
	    ? (double)(th.last_link_up_us - start_us) / 1e6 : -1;
	char *upline = strstr(text ? text : "", "\nup ");
	printf("   %d link-up events at %s, status links_up %lld; last link up %.3f s after the "
	       "first dial (daemon timestamps)\n",
	    th.link_ups, ID_HUB, links, up_s);
	if (upline != NULL)
		printf("   peers' side: %.*s\n", (int)strcspn(upline + 1, "\n"), upline + 1);
	bl_sleep_ms(1000);
	long rss1 = bl_proc_kb(b->hub.pid, "VmRSS");
	double per = links > 0 ? (double)(rss1 - rss0) / (double)links : -1;
	printf("   %s RSS %.1f MiB before, %.1f MiB with %lld idle links: %.1f KiB per link\n",
	    ID_HUB, rss0 / 1024.0, rss1 / 1024.0, links, per);
	if (th.link_ups >= n && up_s >= 0)
		bench_setr(b, "peers200_up_s", up_s);
	else
		json_object_set_new(b->out, "peers200_up_s", json_null());
	bench_seti(b, "peers200_count", th.link_ups);
	bench_setr(b, "rss_per_link_kb", per);
	bench_setr(b, "peers200_idle_rss_mb", rss0 / 1024.0);
	free(text);
	bl_stop(mp, SIGTERM);
	bl_tail_close(&th);
	bl_node_stop(&b->hub);
}
