/*
 * bench: `make bench` (issue 9). Two real daemons A and B on 127.0.0.1 with a PKI from
 * pki/rogatory-pki in a throw-away folder, default settings, and the machine's own limits
 * measured in the same run (bench/limits.c); prints figure, value, target, limit, ratio
 * and writes the same as JSON. Figures come from the daemons' own µs timestamps in the
 * delivery log wherever there is one. It must never leave a daemon running.
 *
 *   bench SRC BUILD OUT.json     BENCH_QUICK=1: fewer messages; BENCH_KEEP=1: keep the
 *                                folder; BENCH_PERF=DIR: perf record both daemons
 *                                during the phase BENCH_PERF_PHASE (throughput,
 *                                large, huge, queue or drain) into DIR/perf-<phase>.data;
 *                                BENCH_MESSAGES=N: N messages in that phase;
 *                                BENCH_QUEUE=N: N messages in the queue phase;
 *                                BENCH_ONLY=large,huge,peers,...: those phases alone
 *                                (huge: a 2 GiB attachment, 256 MiB with BENCH_QUICK;
 *                                restart: the same, B killed at 90 % and started
 *                                again);
 *                                BENCH_PEERS=1: also install (apt, as root) and measure
 *                                the peer systems beside rogatory (bench/peers.c, phase
 *                                peersys): Mosquitto 2 (QoS 1, 1 KiB, TLS 1.3 with
 *                                client certificates, persistence off: not durable)
 *                                and two Postfix instances relaying over SMTP with TLS
 *                                1.3 and certificates both ways (durable: fsync'd queue
 *                                and maildir files), each from private folders here,
 *                                stopped by pid; without it their rows say "not
 *                                measured (BENCH_PEERS=1)";
 *                                BENCH_EXTRA_CONF="[delivery]\nwindow = 512": sections
 *                                appended to every config (experiments, not defaults);
 *                                what remains (bench/benchprof.c): latency by hop and CPU
 *                                by thread always; when the throughput or a CPU target
 *                                is missed, a separate pass of BENCH_PROFILE_MESSAGES=N
 *                                (5,000) messages under perf record -F 499 (BENCH_PERF_BIN
 *                                =PATH, default /usr/bin/perf; BENCH_PROFILE=0: skipped)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "benchlib.h"
#include "benchattach.h"
#include "benchprof.h"
#include "benchscale.h"
#include "peers.h"

static double
jnum(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : 0.0;
}

void
bench_setr(struct bench *b, const char *key, double v)
{
	json_object_set_new(b->out, key, json_real(v));
}

void
bench_seti(struct bench *b, const char *key, long long v)
{
	json_object_set_new(b->out, key, json_integer(v));
}

void
bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void
bench_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("== ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

/* ---- machine, limits, network ---- */

static void
machine(struct bench *b, const char *key)
{
	char *s = NULL;
	bl_sh(&s, "cat /proc/loadavg");
	s[strcspn(s, "\n")] = '\0';
	json_t *m = json_object_get(b->out, "machine");
	json_object_set_new(m, key, json_string(s));
	free(s);
}

static void
machine_info(struct bench *b)
{
	json_t *m = json_object();
	char *cpu = NULL, *date = NULL;
	bl_sh(&cpu, "grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//'");
	bl_sh(&date, "date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ");
	cpu[strcspn(cpu, "\n")] = '\0';
	date[strcspn(date, "\n")] = '\0';
	json_object_set_new(m, "nproc", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_set_new(m, "cpu", json_string(cpu));
	json_object_set_new(m, "date", json_string(date));
	json_object_set_new(m, "quick", json_boolean(b->quick));
	json_object_set_new(m, "build", json_string("make RELEASE=1 (normal -O2 hardened flags, "
	                                            "no sanitizer, test hooks compiled out)"));
	json_object_set(b->out, "machine", m);
	printf("machine: %ld cpus, %s; %s%s\n", sysconf(_SC_NPROCESSORS_ONLN), cpu, date,
	    b->quick ? " (BENCH_QUICK)" : "");
	json_decref(m);
	free(cpu);
	free(date);
	machine(b, "loadavg_start");
}

static void
run_limits(struct bench *b)
{
	bench_note("limits of this machine (bench/limits, %.1f s each)", b->c.limits_s);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/limits", b->env.dir);
	mkdir(dir, 0700);
	for (int i = 0; i < 2; i++)
		if (bl_sh(NULL, "'%s/pki/rogatory-pki' issue '%s' %s '%s' >/dev/null 2>&1",
		        b->env.src, b->env.ca_dir, i ? "FR-LIMITS-CLI" : "FR-LIMITS-SRV", dir) != 0)
			bl_die("rogatory-pki issue failed");
	char *out = NULL;
	int rc = bl_sh(&out, "'%s/bench/limits' '%s' '%s/ca.crt' '%s/FR-LIMITS-SRV.crt' "
	                     "'%s/FR-LIMITS-SRV.key' '%s/FR-LIMITS-CLI.crt' '%s/FR-LIMITS-CLI.key' "
	                     "%.2f 2>/dev/null",
	    b->env.build, dir, b->env.ca_dir, dir, dir, dir, dir, b->c.limits_s);
	json_error_t je;
	b->limits = rc == 0 ? json_loads(out, 0, &je) : NULL;
	if (b->limits == NULL)
		bl_die("bench/limits failed (%d): %s", rc, out);
	free(out);
	json_object_set(b->out, "limits", b->limits);
	const char *k;
	json_t *v;
	json_object_foreach(b->limits, k, v)
		printf("   %-36s %g\n", k, json_number_value(v));
}

void
bench_write_directory(const struct bnode *n, const struct bnode *const *members, int count,
    const char *peer_prefix, int peers)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/directory.conf", n->home);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		bl_die("cannot write %s", path);
	fprintf(f, "# benchmark network\n\n");
	for (int i = 0; i < count; i++) {
		char addr[64];
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", members[i]->port);
		bl_directory_entry(f, members[i]->id, addr);
	}
	for (int i = 0; i < peers; i++) {
		char id[32];
		snprintf(id, sizeof(id), "%s%04d", peer_prefix, i + 1);
		/* They dial in; nothing listens at this address. */
		bl_directory_entry(f, id, "127.0.0.1:9");
	}
	fclose(f);
}

/* The settings in effect: the config holds only keys without a default; the defaults
 * are the documented ones (configs/rogatoryd.conf.example, "#key = value" lines). */
static void
print_settings(struct bench *b)
{
	char *check = NULL, *defaults = NULL;
	char bin[600];
	snprintf(bin, sizeof(bin), "%s/rogatoryd", b->env.build);
	bl_sh(&check, "'%s' -n -c '%s' 2>&1", bin, b->a.conf);
	/* Keys documented with "Default: X" and shown as "#key = X"; control.socket is the
	 * one default the benchmark has to replace (a socket in its own folder). */
	bl_sh(&defaults, "awk '/^\\[/{s=substr($0,2,length($0)-2)} /^# Value:/{d=/Default:/} "
	                 "/^#[a-z_]+ = / && d {sub(/^#/,\"\"); printf \"%%s.%%s\\n\", s, $0}' "
	                 "'%s/configs/rogatoryd.conf.example' | grep -v '^control.socket '",
	    b->env.src);
	const char *extra = getenv("BENCH_EXTRA_CONF");
	if (b->env.conf_more != NULL)
		printf("   every config also has [delivery] max_message_size = 3G and peer_quota ="
		    " 8G (the huge phases' two 2 GiB attachments, kept unfetched at B; the defaults"
		    " are 64M and 4G)\n");
	if (extra != NULL && extra[0] != '\0') {
		bench_note("settings: NOT the defaults (BENCH_EXTRA_CONF)");
		json_object_set_new(b->out, "settings_extra", json_string(extra));
	} else {
		bench_note("settings: the daemon's defaults");
	}
	printf("   rogatoryd -n -c %s:\n", b->a.conf);
	for (char *line = strtok(check, "\n"); line; line = strtok(NULL, "\n"))
		printf("      %s\n", line);
	printf("   config of %s (only keys without a default):\n", ID_A);
	char *conf = NULL;
	bl_sh(&conf, "grep -v '^$' '%s' | sed 's/^/      /'", b->a.conf);
	printf("%s   defaults in effect:\n", conf);
	json_t *arr = json_array();
	for (char *line = strtok(defaults, "\n"); line; line = strtok(NULL, "\n")) {
		printf("      %s\n", line);
		json_array_append_new(arr, json_string(line));
	}
	json_object_set_new(b->out, "settings_defaults", arr);
	free(check);
	free(defaults);
	free(conf);
}

static void
network_up(struct bench *b)
{
	bench_note("network: %s and %s on 127.0.0.1, PKI from pki/rogatory-pki in %s", ID_A, ID_B,
	    b->env.dir);
	bl_node_init(&b->env, &b->a, ID_A);
	bl_node_init(&b->env, &b->b, ID_B);
	bl_node_init(&b->env, &b->nc, ID_C);
	const struct bnode *all[] = {&b->a, &b->b, &b->nc};
	for (int i = 0; i < 3; i++)
		bench_write_directory(all[i], all, 3, NULL, 0);
	print_settings(b);
	bl_node_start(&b->env, &b->a);
	bl_node_start(&b->env, &b->b);
	bl_tail_open(&b->ta, b->a.dlog);
}

/* ---- sending ---- */

/* A `rogatoryctl send --batch -` fed line by line through a pipe. */
struct feeder {
	pid_t pid;
	int fd;
};

static void
feeder_open(struct bench *b, struct feeder *f)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		bl_die("pipe: %s", strerror(errno));
	char bin[600], log[700];
	snprintf(bin, sizeof(bin), "%s/rogatoryctl", b->env.build);
	snprintf(log, sizeof(log), "%s/feeder.log", b->env.dir);
	char *argv[] = {bin, "-s", b->a.sock, "send", "--batch", "-", NULL};
	/* The ids it prints are not needed (the delivery log has them); errors are. */
	f->pid = bl_spawn(argv, log, p[0]);
	close(p[0]);
	f->fd = p[1];
}

static void
feeder_send(struct feeder *f, const char *to, unsigned tag, int i)
{
	char line[2048];
	int n = bl_batch_line(line, sizeof(line), to, tag, i);
	if (write(f->fd, line, (size_t)n) != n)
		bl_die("rogatoryctl send --batch went away");
}

static void
feeder_close(struct feeder *f)
{
	close(f->fd);
	if (bl_wait(f->pid, 60000) == -1)
		bl_stop(f->pid, SIGTERM);
}

/* Writes n batch lines to a file and submits them with one rogatoryctl; returns its pid. */
pid_t
bench_batch_submit(struct bench *b, const char *to, unsigned tag, int n)
{
	char path[700], bin[600];
	snprintf(path, sizeof(path), "%s/batch-%u.jsonl", b->env.dir, tag);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		bl_die("cannot write %s", path);
	char line[2048];
	for (int i = 0; i < n; i++) {
		bl_batch_line(line, sizeof(line), to, tag, i);
		fputs(line, f);
	}
	fclose(f);
	snprintf(bin, sizeof(bin), "%s/rogatoryctl", b->env.build);
	char *argv[] = {bin, "-s", b->a.sock, "send", "--batch", path, NULL};
	return bl_spawn(argv, NULL, -1);
}

void
bench_failures(const struct bl_phase *ph, const char *what)
{
	if (ph->failed > 0)
		printf("   WARNING: %d %s messages ended rejected/failed/expired\n", ph->failed, what);
}

static void
warm_up(struct bench *b)
{
	struct bl_phase *ph = bl_phase_new(TAG_WARM, 50);
	pid_t p = bench_batch_submit(b, ID_B, TAG_WARM, ph->n);
	if (!bl_tail_wait(&b->ta, ph, ph->n, 60))
		bl_die("warm-up: %d of %d delivered in 60 s (see %s)", ph->delivered, ph->n, b->a.log);
	bl_wait(p, 10000);
	bl_phase_free(ph);
}

static struct bl_lat
report_latency(struct bench *b, struct bl_phase *ph, const char *prefix)
{
	struct bl_lat l = bl_latency(ph);
	char key[64];
	const char *names[] = {"p50", "p90", "p99", "max"};
	double vals[] = {l.p50, l.p90, l.p99, l.max};
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "%s_%s_ms", prefix, names[i]);
		bench_setr(b, key, vals[i]);
	}
	printf("   %d messages: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms "
	       "(queued -> delivered, daemon timestamps)\n",
	    l.n, l.p50, l.p90, l.p99, l.max);
	benchprof_hops(b, ph, prefix);
	return l;
}

static void
latency_idle(struct bench *b)
{
	bench_note("latency at idle: %d messages one at a time", b->c.idle);
	struct bl_phase *ph = bl_phase_new(TAG_IDLE, b->c.idle);
	struct feeder f;
	feeder_open(b, &f);
	for (int i = 0; i < ph->n; i++) {
		feeder_send(&f, ID_B, TAG_IDLE, i);
		if (!bl_tail_wait(&b->ta, ph, i + 1, 30))
			bl_die("idle latency: message %d not delivered in 30 s", i);
	}
	feeder_close(&f);
	bench_failures(ph, "idle");
	report_latency(b, ph, "latency_idle");
	bl_phase_free(ph);
}

/* BENCH_PERF=DIR: perf record of both daemons during the phase BENCH_PERF_PHASE names
 * (default throughput) into DIR/perf-<phase>.data. */
pid_t
bench_perf_start(struct bench *b, const char *phase)
{
	const char *dir = getenv("BENCH_PERF");
	const char *which = getenv("BENCH_PERF_PHASE");
	if (dir == NULL || dir[0] == '\0' || strcmp(which && *which ? which : "throughput", phase) != 0)
		return 0;
	char pids[64], out[700], log[700];
	/* A with whichever peer the phase talks to (drain: C, started just after). */
	if (strcmp(phase, "throughput") == 0 || strcmp(phase, "large") == 0 ||
	    strcmp(phase, "huge") == 0)
		snprintf(pids, sizeof(pids), "%d,%d", (int)b->a.pid, (int)b->b.pid);
	else
		snprintf(pids, sizeof(pids), "%d", (int)b->a.pid);
	snprintf(out, sizeof(out), "%s/perf-%s.data", dir, phase);
	snprintf(log, sizeof(log), "%s/perf-%s.log", dir, phase);
	/* No frame pointers in the normal build: DWARF unwinding. */
	char *argv[] = {"/usr/bin/perf", "record", "-F", "299", "--call-graph", "dwarf,16384",
	    "-p", pids, "-o", out, NULL};
	pid_t perf = bl_spawn(argv, log, -1);
	bl_sleep_ms(500);
	return perf;
}

void
bench_perf_stop(pid_t perf)
{
	if (perf > 0)
		bl_stop(perf, SIGINT);
}

/* What the audit log cost a daemon so far (its own count: `audit status`): the time the
 * store thread and the loop spent on it, in ns, and the leaves written. */
struct audit_cost {
	double ns;
	double entries;
};

static struct audit_cost
audit_cost(struct bench *b, const struct bnode *n)
{
	struct audit_cost c = {0, 0};
	char *out = NULL;
	if (bl_ctl(&b->env, n, &out, "--json audit status") == 0) {
		json_t *j = json_loads(out, 0, NULL), *k = json_object_get(j, "cost");
		c.ns = jnum(k, "store_thread_ns") + jnum(k, "loop_ns");
		c.entries = jnum(k, "entries_since_start");
		json_decref(j);
	}
	free(out);
	return c;
}

static double
throughput(struct bench *b)
{
	int n = b->c.throughput;
	bench_note("throughput: %d messages of 1 KiB via rogatoryctl send --batch", n);
	struct bl_phase *ph = bl_phase_new(TAG_THROUGHPUT, n);
	pid_t perf = bench_perf_start(b, "throughput");
	double t0 = bl_mono_s();
	double cpu_a = bl_proc_cpu_s(b->a.pid), cpu_b = bl_proc_cpu_s(b->b.pid);
	double rq_a = bl_proc_runwait_s(b->a.pid), rq_b = bl_proc_runwait_s(b->b.pid);
	double cpu0_a = bl_proc_cpu_s(b->a.pid), cpu0_b = bl_proc_cpu_s(b->b.pid);
	struct benchprof_cpu th_a = benchprof_cpu_now(b->a.pid), th_b = benchprof_cpu_now(b->b.pid);
	struct audit_cost au_a = audit_cost(b, &b->a), au_b = audit_cost(b, &b->b);
	pid_t p = bench_batch_submit(b, ID_B, TAG_THROUGHPUT, n);
	bool ok = bl_tail_wait(&b->ta, ph, n, b->quick ? 120 : 200);
	double wall = bl_mono_s() - t0;
	/* CPU-bound or waiting? Each daemon's CPU use over the phase (100% = one core). */
	cpu_a = 100.0 * (bl_proc_cpu_s(b->a.pid) - cpu_a) / wall;
	cpu_b = 100.0 * (bl_proc_cpu_s(b->b.pid) - cpu_b) / wall;
	rq_a = 100.0 * (bl_proc_runwait_s(b->a.pid) - rq_a) / wall;
	rq_b = 100.0 * (bl_proc_runwait_s(b->b.pid) - rq_b) / wall;
	bench_perf_stop(perf);
	/* The audit log's share of each daemon's CPU over the phase: its hashing, frontier,
	 * nodes and checkpoints, timed where they run, against the process's CPU time. */
	struct audit_cost au_a1 = audit_cost(b, &b->a), au_b1 = audit_cost(b, &b->b);
	double dcpu_a = bl_proc_cpu_s(b->a.pid) - cpu0_a, dcpu_b = bl_proc_cpu_s(b->b.pid) - cpu0_b;
	double share_a = dcpu_a > 0 ? 100.0 * (au_a1.ns - au_a.ns) / 1e9 / dcpu_a : 0;
	double share_b = dcpu_b > 0 ? 100.0 * (au_b1.ns - au_b.ns) / 1e9 / dcpu_b : 0;
	printf("   audit log: %.0f entries on A, %.0f on B (%.1f per message); its work took %.2f%% "
	       "of A's CPU and %.2f%% of B's over the phase (%.1f us per entry)\n",
	    au_a1.entries - au_a.entries, au_b1.entries - au_b.entries,
	    n > 0 ? (au_a1.entries - au_a.entries + au_b1.entries - au_b.entries) / n : 0,
	    share_a, share_b, au_a1.entries > au_a.entries ? (au_a1.ns - au_a.ns) / 1e3 /
	    (au_a1.entries - au_a.entries) : 0);
	bench_setr(b, "audit_cost_a_pct", share_a);
	bench_setr(b, "audit_cost_b_pct", share_b);
	bench_setr(b, "audit_entries_per_msg", n > 0 ? (au_a1.entries - au_a.entries +
	    au_b1.entries - au_b.entries) / n : 0);
	if (bl_wait(p, 30000) == -1)
		bl_stop(p, SIGTERM);
	if (!ok)
		printf("   WARNING: only %d of %d delivered before the time-out\n", ph->delivered, n);
	bench_failures(ph, "throughput");
	int64_t first_q = 0, last_q = 0, last_d = 0;
	for (int i = 0; i < n; i++) {
		if (ph->queued_us[i] && (first_q == 0 || ph->queued_us[i] < first_q))
			first_q = ph->queued_us[i];
		if (ph->queued_us[i] > last_q)
			last_q = ph->queued_us[i];
		if (ph->delivered_us[i] > last_d)
			last_d = ph->delivered_us[i];
	}
	double span = (double)(last_d - first_q) / 1e6;
	double rate = span > 0 ? ph->delivered / span : 0;
	double submit = last_q > first_q ? ph->queued / ((double)(last_q - first_q) / 1e6) : 0;
	printf("   %d delivered in %.2f s (first queued -> last delivered): %.0f msg/s end to end;"
	       " submission alone %.0f msg/s; wall clock %.2f s\n",
	    ph->delivered, span, rate, submit, wall);
	printf("   CPU over the phase: A %.0f%%, B %.0f%% of one core; runnable but waiting for a "
	       "CPU (other load): A %.0f%%, B %.0f%%\n", cpu_a, cpu_b, rq_a, rq_b);
	/* The robust figure on a shared machine: CPU time per message on each side. */
	double us_a = ph->delivered > 0 ? 1e6 * dcpu_a / ph->delivered : 0;
	double us_b = ph->delivered > 0 ? 1e6 * dcpu_b / ph->delivered : 0;
	printf("   CPU time per message: A %.0f us, B %.0f us (user + system, over the phase)\n",
	    us_a, us_b);
	benchprof_threads(b, &th_a, &th_b, ph->delivered);
	bench_setr(b, "throughput_cpu_us_per_msg_a", us_a);
	bench_setr(b, "throughput_cpu_us_per_msg_b", us_b);
	bench_setr(b, "throughput_cpu_wait_a_pct", rq_a);
	bench_setr(b, "throughput_cpu_wait_b_pct", rq_b);
	/* How well does group commit group? B's side from its own delivery log. */
	struct bl_tail tb;
	struct bl_phase *pb = bl_phase_new(TAG_THROUGHPUT, n);
	bl_tail_open_from(&tb, b->b.dlog, true);
	bl_tail_poll(&tb, pb);
	bl_tail_close(&tb);
	printf("   commits carrying the phase's events (distinct timestamps): A %d for %d events "
	       "(%.1f per commit, %.2f commits per message), B %d for %d (%.1f per commit, %.2f "
	       "per message)\n",
	    ph->commits, ph->events, ph->commits ? (double)ph->events / ph->commits : 0,
	    (double)ph->commits / n, pb->commits, pb->events,
	    pb->commits ? (double)pb->events / pb->commits : 0, (double)pb->commits / n);
	bench_setr(b, "throughput_commits_per_msg_a", (double)ph->commits / n);
	bench_setr(b, "throughput_commits_per_msg_b", (double)pb->commits / n);
	bl_phase_free(pb);
	bench_setr(b, "throughput_cpu_a_pct", cpu_a);
	bench_setr(b, "throughput_cpu_b_pct", cpu_b);
	bench_setr(b, "throughput_msgs_per_s", rate);
	bench_setr(b, "throughput_submit_msgs_per_s", submit);
	bench_seti(b, "throughput_messages", ph->delivered);
	report_latency(b, ph, "latency_throughput");
	bl_phase_free(ph);
	return rate;
}

static void
latency_half(struct bench *b, double full_rate)
{
	double rate = full_rate / 2 > 10 ? full_rate / 2 : 10;
	int n = (int)(rate * b->c.half_s);
	if (n < 200)
		n = 200;
	if (n > 20000)
		n = 20000;
	bench_note("latency at half load: %d messages paced at %.0f msg/s", n, rate);
	struct bl_phase *ph = bl_phase_new(TAG_HALF, n);
	struct feeder f;
	feeder_open(b, &f);
	double t0 = bl_mono_s();
	for (int i = 0; i < n; i++) {
		double due = t0 + i / rate;
		double now;
		while ((now = bl_mono_s()) < due) {
			bl_tail_poll(&b->ta, ph);
			if (due - now > 0.0003)
				bl_sleep_ms((due - now) * 1000 > 1 ? 1 : (due - now) * 1000);
		}
		feeder_send(&f, ID_B, TAG_HALF, i);
	}
	feeder_close(&f);
	if (!bl_tail_wait(&b->ta, ph, n, 120))
		printf("   WARNING: only %d of %d delivered\n", ph->delivered, n);
	bench_failures(ph, "half-load");
	bench_setr(b, "half_load_msgs_per_s", rate);
	report_latency(b, ph, "latency_half_load");
	bl_phase_free(ph);
}

/* BENCH_ONLY=idle,throughput,half,large,queue,peers,peersys runs those phases alone (a
 * developer's aid; the limits and the network always run). */
static bool
want(const struct bench *b, const char *phase)
{
	if (b->only == NULL || b->only[0] == '\0')
		return true;
	size_t n = strlen(phase);
	for (const char *p = b->only; (p = strstr(p, phase)) != NULL; p += n)
		if ((p == b->only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

/* ---- the table ---- */

void
bench_table_row(struct bench *b, json_t *arr, const struct bench_row *r)
{
	json_t *v = json_object_get(b->out, r->key);
	json_t *o = json_object();
	json_object_set_new(o, "figure", json_string(r->figure));
	json_object_set_new(o, "key", json_string(r->key));
	json_object_set_new(o, "unit", json_string(r->unit));
	json_object_set_new(o, "target", json_string(r->target));
	json_object_set_new(o, "limit", r->limit > 0 ? json_real(r->limit) : json_null());
	char val[32] = "n/a", lim[32] = "-", ratio[32] = "-";
	if (json_is_number(v)) {
		snprintf(val, sizeof(val), "%.2f", json_number_value(v));
		if (r->limit > 0) {
			snprintf(ratio, sizeof(ratio), "%.2f", json_number_value(v) / r->limit);
			json_object_set_new(o, "ratio", json_real(json_number_value(v) / r->limit));
		}
	}
	if (r->limit > 0)
		snprintf(lim, sizeof(lim), "%.2f", r->limit);
	json_object_set(o, "value", v ? v : json_null());
	printf("%-28s %12s %-6s %8s %12s  %-7s %s\n", r->figure, val, r->unit, r->target, lim,
	    ratio, r->limit_how ? r->limit_how : "");
	json_array_append_new(arr, o);
}

static void
table(struct bench *b)
{
	double commit = jnum(b->limits, "sqlite_full_commit_ms");
	double crypto = jnum(b->limits, "crypto_msgs_per_s");
	/* Each side signs one object and verifies one per message (A: its document, then
	 * the receipt; B: the reverse): the floor of its CPU time per message, in µs. */
	double sign = jnum(b->limits, "sign_per_s"), verify = jnum(b->limits, "verify_per_s");
	double side_us = sign > 0 && verify > 0 ? 1e6 / sign + 1e6 / verify : 0;
	double hs = jnum(b->limits, "mtls_handshakes_per_s");
	double disk = jnum(b->limits, "disk_seq_write_mb_per_s");
	int qn = (int)jnum(b->out, "queue100k_messages");
	double http = jnum(b->out, "console_http_floor_ms");
	const struct bench_row rows[] = {
		{"throughput end to end", "throughput_msgs_per_s", "msg/s", ">= 5000", crypto,
		    "crypto: cpus / (2/sign + 2/verify)"},
		{"audit log: CPU share of A", "audit_cost_a_pct", "%", "<= 5", 0, NULL},
		{"audit log: CPU share of B", "audit_cost_b_pct", "%", "<= 5", 0, NULL},
		/* 200 µs: one core carries its side of 5,000 msg/s. */
		{"CPU per message: A (sender)", "throughput_cpu_us_per_msg_a", "us", "<= 200",
		    side_us, "1 sign + 1 verify"},
		{"CPU per message: B (receiver)", "throughput_cpu_us_per_msg_b", "us", "<= 200",
		    side_us, "1 sign + 1 verify"},
		/* The commits inside the span (queued -> delivered, each the start of its batch):
		 * A's queued with its sending (one commit on an idle link) and B's received. */
		{"latency idle p50", "latency_idle_p50_ms", "ms", "<= 1.5", 2 * commit, "2 x commit"},
		{"latency idle p99", "latency_idle_p99_ms", "ms", "-", 2 * commit, "2 x commit"},
		{"latency half load p99", "latency_half_load_p99_ms", "ms", "<= 10", 2 * commit,
		    "2 x commit"},
		{"large attachment", "large_mb_per_s", "MB/s", ">= 150", disk, "disk write+fsync"},
		{"large peak RSS (max A, B)", "large_peak_rss_mb", "MiB", "<= 64", 0, NULL},
		{"huge peak RSS (max A, B)", "huge_peak_rss_mb", "MiB", "<= 64", 0, NULL},
		{"huge disk use / size", "huge_disk_ratio", "x", "<= 1.1", 0, NULL},
		{"huge resent after 90% cut", "huge_resume_resent_mib", "MiB", "<= 64", 0, NULL},
		{"huge resent, B restarted at 90%", "restart_resent_mib", "MiB", "<= 64", 0, NULL},
		{"queue at rest: RSS of A", "queue100k_rss_mb", "MiB", "<= 64", 0, NULL},
		{"queue at rest: database", "queue100k_db_mb", "MiB", "-", 0, NULL},
		{"queue at rest: start-up", "queue100k_startup_s", "s", "<= 1", 0, NULL},
		{"ctl socket: overview reqs", "console_overview_ms", "ms", "< 100", 0, NULL},
		{"ctl socket: messages page", "console_messages_page_ms", "ms", "< 100", 0, NULL},
		{"ctl socket: filtered page", "console_messages_filtered_ms", "ms", "< 100", 0, NULL},
		{"queue at rest: drain", "queue100k_drain_s", "s", "-", crypto > 0 ? qn / crypto : 0,
		    "n / crypto msg/s"},
		/* The console's pages against the floor of as many static HTTP requests. */
		{"console overview (queue)", "console_overview_p50_ms", "ms", "<= 100", 5 * http,
		    "5 x HTTP floor"},
		{"console message list", "console_messages_p50_ms", "ms", "<= 100", 3 * http,
		    "3 x HTTP floor"},
		{"console list, deep page", "console_messages_deep_p50_ms", "ms", "<= 100", http,
		    "HTTP floor"},
		{"console list, filtered", "console_messages_filtered_p50_ms", "ms", "<= 100", http,
		    "HTTP floor"},
		{"console id search", "console_id_search_p50_ms", "ms", "<= 100", 2 * http,
		    "2 x HTTP floor"},
		{"many peers: all links up", "peers200_up_s", "s", "<= 2",
		    hs > 0 ? b->c.peers / hs : 0, "n / handshakes/s"},
		{"many peers: RSS per link", "rss_per_link_kb", "KiB", "<= 100", 0, NULL},
	};
	printf("\n%-28s %12s %-6s %8s %12s  %-7s %s\n", "figure", "value", "unit", "target", "limit",
	    "ratio", "(ratio = value / limit; limit from)");
	json_t *arr = json_array();
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		bench_table_row(b, arr, &rows[i]);
	peers_table(b, arr);
	json_object_set_new(b->out, "table", arr);
	printf("\nlimits: commit %.2f ms (1 row/txn: %.0f rows/s), 100 rows/txn %.0f rows/s, disk "
	       "%.0f MB/s, sign %.0f/s, verify %.0f/s, TLS 1 KiB records %.0f/s, mTLS handshakes "
	       "%.0f/s\n",
	    commit, jnum(b->limits, "sqlite_full_rows_per_s_single"),
	    jnum(b->limits, "sqlite_full_rows_per_s_batch100"), disk, jnum(b->limits, "sign_per_s"),
	    jnum(b->limits, "verify_per_s"), jnum(b->limits, "tls_1k_records_per_s"), hs);
}

int
main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench SRC BUILD OUT.json\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	bl_guard();
	struct bench b = {.out = json_object()};
	b.env.src = argv[1];
	b.only = getenv("BENCH_ONLY");
	b.env.build = argv[2];
	const char *q = getenv("BENCH_QUICK");
	b.quick = q != NULL && q[0] != '\0' && strcmp(q, "0") != 0;
	const char *msgs = getenv("BENCH_MESSAGES");
	b.c = b.quick ? (struct counts){.idle = 200, .throughput = 3000, .queue = 10000,
	                                .peers = 200, .half_s = 2, .large_mb = 60, .huge_mb = 256,
	                                .limits_s = 0.4}
	              : (struct counts){.idle = 1000, .throughput = 20000, .queue = 100000,
	                                .peers = 200, .half_s = 5, .large_mb = 60, .huge_mb = 2048,
	                                .limits_s = 1.0};
	if (msgs != NULL && atoi(msgs) > 0)
		b.c.throughput = atoi(msgs);
	const char *qn = getenv("BENCH_QUEUE");
	if (qn != NULL && atoi(qn) > 0)
		b.c.queue = atoi(qn);
	/* What two 2 GiB attachments need beyond the defaults (64M; a 4G quota of unfetched
	 * bytes per sender: the second one would wait for an operator's fetch of the first). */
	if (want(&b, "huge") || want(&b, "restart"))
		b.env.conf_more = "[delivery]\nmax_message_size = 3G\npeer_quota = 8G";
	double t_start = bl_mono_s();
	b.t_start = t_start;
	b.budget_s = b.quick ? 100 : 280;
	const char *tmp = getenv("TMPDIR");
	if (asprintf(&b.env.dir, "%s/rogatory-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
	    mkdtemp(b.env.dir) == NULL)
		bl_die("cannot make a temporary folder");
	if (asprintf(&b.env.ca_dir, "%s/ca", b.env.dir) < 0)
		bl_die("out of memory");
	machine_info(&b);
	if (bl_sh(NULL, "'%s/pki/rogatory-pki' init '%s' >/dev/null 2>&1", b.env.src,
	        b.env.ca_dir) != 0)
		bl_die("rogatory-pki init failed");
	run_limits(&b);
	network_up(&b);
	warm_up(&b);
	if (want(&b, "idle"))
		latency_idle(&b);
	double rate = want(&b, "throughput") ? throughput(&b) : 500;
	if (want(&b, "half"))
		latency_half(&b, rate);
	long hwm_a = bl_proc_kb(b.a.pid, "VmHWM"), hwm_b = bl_proc_kb(b.b.pid, "VmHWM");
	bench_setr(&b, "peak_rss_a_mb", hwm_a / 1024.0);
	bench_setr(&b, "peak_rss_b_mb", hwm_b / 1024.0);
	/* After the measured message phases, never during them: perf slows the daemons. */
	benchprof_profile(&b, TAG_PROFILE);
	if (want(&b, "large"))
		benchattach_large(&b);
	if (want(&b, "huge"))
		benchattach_huge(&b);
	if (want(&b, "restart"))
		benchattach_restart(&b);
	if (want(&b, "queue"))
		benchscale_queue(&b);
	bl_node_stop(&b.a);
	bl_node_stop(&b.b);
	bl_node_stop(&b.nc);
	bl_tail_close(&b.ta);
	if (want(&b, "peers"))
		benchscale_peers(&b);
	peers_run(&b, want(&b, "peersys"));
	machine(&b, "loadavg_end");
	bench_setr(&b, "run_s", bl_mono_s() - t_start);
	table(&b);
	benchprof_remains(&b);
	printf("peak RSS over the message phases: A %.1f MiB, B %.1f MiB; run %.0f s\n",
	    hwm_a / 1024.0, hwm_b / 1024.0, bl_mono_s() - t_start);
	/* A whole file or none: a failed run never leaves half a result behind. */
	char tmp_out[4200];
	snprintf(tmp_out, sizeof(tmp_out), "%s.tmp", argv[3]);
	if (json_dump_file(b.out, tmp_out,
	        JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) != 0 ||
	    rename(tmp_out, argv[3]) != 0)
		bl_die("cannot write %s", argv[3]);
	printf("results: %s\n", argv[3]);
	const char *keep = getenv("BENCH_KEEP");
	if (keep != NULL && strcmp(keep, "1") == 0)
		printf("kept %s\n", b.env.dir);
	else
		bl_sh(NULL, "rm -rf '%s'", b.env.dir);
	json_decref(b.out);
	json_decref(b.limits);
	return 0;
}
