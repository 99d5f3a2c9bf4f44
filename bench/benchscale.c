/*
 * benchscale: the benchmark phases about scale — a queue at rest for a peer that is down
 * (restart, drain), and 200 peers at once (the attachments: benchattach.c). Each one is
 * bounded in time and reports what it could not measure instead of failing the run.
 */
#include "benchscale.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "benchconsole.h"
#include "benchlib.h"
#include "frame.h"
#include "wire.h"

static void console_pages(struct bench *b);

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

	console_pages(b);

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

/* ---- the web console's requests with the queue at rest ---- */

/* One control request on fd, as rogatory-console sends it; its reply's JSON (the caller
 * frees it) and the time it took in *ms. Dies on a refusal: the figures would lie. */
static json_t *
console_call(int fd, Rogatory__Ctl__V1__Request *req, double *ms)
{
	static uint64_t next_id;
	req->version = CONTROL_PROTOCOL_VERSION;
	req->request_id = ++next_id;
	size_t n = protobuf_c_message_get_packed_size(&req->base);
	uint8_t *buf = malloc(FRAME_HEADER_LEN + n);
	if (buf == NULL)
		bl_die("out of memory");
	frame_header_put(buf, (uint32_t)n);
	protobuf_c_message_pack(&req->base, buf + FRAME_HEADER_LEN);
	double t0 = bl_mono_s();
	ssize_t w = write(fd, buf, FRAME_HEADER_LEN + n);
	free(buf);
	if (w != (ssize_t)(FRAME_HEADER_LEN + n))
		bl_die("control socket: write: %s", strerror(errno));
	uint8_t hdr[FRAME_HEADER_LEN];
	if (recv(fd, hdr, sizeof(hdr), MSG_WAITALL) != (ssize_t)sizeof(hdr))
		bl_die("control socket: no reply");
	uint32_t len = frame_header_len(hdr);
	uint8_t *body = malloc(len ? len : 1);
	if (body == NULL || len > FRAME_CONTROL_MAX ||
	    (len > 0 && recv(fd, body, len, MSG_WAITALL) != (ssize_t)len))
		bl_die("control socket: a short reply");
	*ms = (bl_mono_s() - t0) * 1000.0;
	Rogatory__Ctl__V1__Reply *r = NULL;
	char err[256];
	if (wire_ctl_reply_decode(body, len, &r, err, sizeof(err)) != 0)
		bl_die("control socket: %s", err);
	free(body);
	if (r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK)
		bl_die("control request refused: %.*s", (int)r->error_text.len,
		    (const char *)r->error_text.data);
	json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
	wire_ctl_reply_free(r);
	if (j == NULL)
		bl_die("control reply is not JSON");
	return j;
}

/* The slowest of 5 runs of each: the overview's requests (status, peers, alerts) and
 * pages of the messages list (the newest, the next, one authority's queued ones, an id's
 * start), with every queued message still in A's store. */
static void
console_pages(struct bench *b)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(b->a.sock) >= sizeof(sun.sun_path))
		bl_die("socket path too long: %s", b->a.sock);
	memcpy(sun.sun_path, b->a.sock, strlen(b->a.sock) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		bl_die("connect %s: %s", sun.sun_path, strerror(errno));
	Rogatory__Ctl__V1__StatusRequest st = ROGATORY__CTL__V1__STATUS_REQUEST__INIT;
	Rogatory__Ctl__V1__PeersRequest pe = ROGATORY__CTL__V1__PEERS_REQUEST__INIT;
	Rogatory__Ctl__V1__AlertsRequest al = ROGATORY__CTL__V1__ALERTS_REQUEST__INIT;
	Rogatory__Ctl__V1__MessagesRequest mq = ROGATORY__CTL__V1__MESSAGES_REQUEST__INIT;
	double overview = 0, page = 0, filtered = 0, ms;
	size_t listed = 0;
	for (int run = 0; run < 5; run++) {
		Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
		double sum = 0;
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_STATUS;
		req.status = &st;
		json_decref(console_call(fd, &req, &ms));
		sum += ms;
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_PEERS;
		req.peers = &pe;
		json_decref(console_call(fd, &req, &ms));
		sum += ms;
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_ALERTS;
		req.alerts = &al;
		json_decref(console_call(fd, &req, &ms));
		sum += ms;
		overview = sum > overview ? sum : overview;
		/* The newest page, then the next one from its cursor. */
		mq = (Rogatory__Ctl__V1__MessagesRequest)ROGATORY__CTL__V1__MESSAGES_REQUEST__INIT;
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_MESSAGES;
		req.messages = &mq;
		json_t *j = console_call(fd, &req, &ms);
		page = ms > page ? ms : page;
		json_t *next = json_object_get(j, "next");
		mq.before = json_is_integer(next) ? (uint64_t)json_integer_value(next) : 0;
		json_decref(j);
		json_decref(console_call(fd, &req, &ms));
		page = ms > page ? ms : page;
		/* One authority's queued messages, outbound, from the middle of the store. */
		mq.direction.data = (uint8_t *)"out";
		mq.direction.len = 3;
		mq.peer.data = (uint8_t *)ID_C;
		mq.peer.len = strlen(ID_C);
		mq.state.data = (uint8_t *)"queued";
		mq.state.len = 6;
		j = console_call(fd, &req, &ms);
		listed = json_array_size(json_object_get(j, "messages"));
		json_decref(j);
		filtered = ms > filtered ? ms : filtered;
		/* The start of an id, both directions. */
		mq = (Rogatory__Ctl__V1__MessagesRequest)ROGATORY__CTL__V1__MESSAGES_REQUEST__INIT;
		mq.id_prefix.data = (uint8_t *)"0";
		mq.id_prefix.len = 1;
		req.messages = &mq;
		json_decref(console_call(fd, &req, &ms));
		filtered = ms > filtered ? ms : filtered;
	}
	close(fd);
	printf("   the console's requests with the queue at rest (slowest of 5): overview "
	       "(status, peers, alerts) %.1f ms, a page of the messages %.1f ms, a filtered "
	       "page %.1f ms (%zu listed)\n", overview, page, filtered, listed);
	bench_setr(b, "console_overview_ms", overview);
	bench_setr(b, "console_messages_page_ms", page);
	bench_setr(b, "console_messages_filtered_ms", filtered);
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
