/*
 * benchprof: latency by hop, CPU by thread and the profile of what remains (contract in
 * benchprof.h). It reads /proc, the delivery logs and perf's output; every child (perf
 * record, perf script) comes from bl_spawn, is waited for with a deadline and stopped by
 * pid. A figure it cannot get is printed as such, never invented, and never ends the run.
 */
#include "benchprof.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#define BP_STORE_COMM "rogatoryd-store" /* daemon/storeq.c names its thread so */
#define BP_TOP 8                        /* symbols printed per daemon */

/* ---- the targets the block looks at (the closing table's rows in bench.c) ---- */

enum bp_kind { BP_RATE, BP_CPU, BP_LAT };

static const struct bp_target {
	const char *key, *figure, *unit;
	double target;
	bool at_least;
	enum bp_kind kind;
	const char *phase, *pct; /* BP_LAT: the phase's key prefix and the percentile */
} bp_targets[] = {
	{"throughput_msgs_per_s", "throughput", "msg/s", 5000, true, BP_RATE, NULL, NULL},
	{"throughput_cpu_us_per_msg_a", "CPU per message A", "us", 200, false, BP_CPU, NULL, NULL},
	{"throughput_cpu_us_per_msg_b", "CPU per message B", "us", 200, false, BP_CPU, NULL, NULL},
	{"latency_idle_p50_ms", "latency idle p50", "ms", 1.5, false, BP_LAT, "latency_idle",
	    "p50"},
	{"latency_half_load_p99_ms", "latency half load p99", "ms", 10, false, BP_LAT,
	    "latency_half_load", "p99"},
};
#define BP_NTARGETS (sizeof(bp_targets) / sizeof(bp_targets[0]))

/* The hops of queued -> delivered, each ending at the event that names it. Timestamps
 * are the start of the store batch that committed the event (A's log, B's for received). */
static const struct bp_hop {
	const char *key, *name, *next;
} bp_hops[] = {
	{"sent", "queued -> sent",
	    "the `sending` commit waits for the outbox fill (a backlog: the window is full; on "
	    "an idle link it commits with the submission) and the store thread's current batch"},
	{"received", "sent -> received", "B's verify and commit before it can receipt"},
	{"delivered", "received -> delivered",
	    "B's receipt signature, the link, A's verify and the delivered commit"},
};
#define BP_NHOPS (sizeof(bp_hops) / sizeof(bp_hops[0]))

/* Where a daemon's samples fall, by the file name of the DSO, and the next step when a
 * class holds the largest share beyond the crypto floor (libcrypto minus sign + verify). */
enum { BP_CRYPTO, BP_KERNEL, BP_SQLITE, BP_LIBC, BP_SSL, BP_EVENT, BP_SELF, BP_OTHER, BP_NCLASS };

static const struct bp_class {
	const char *name;  /* printed and in the JSON keys */
	const char *match; /* a substring of the DSO's file name; NULL: the rest */
	const char *next;
} bp_classes[BP_NCLASS] = {
	[BP_CRYPTO] = {"libcrypto", "libcrypto",
	    "at the signature floor: only fewer signatures per message would lower it (beyond "
	    "it: TLS record ciphers, hashing, certificate and CRL parsing per transfer)"},
	[BP_KERNEL] = {"kernel", "[kernel",
	    "system calls per message: socket writes per loop turn and the commits (fsyncs) per "
	    "message"},
	[BP_SQLITE] = {"libsqlite3", "libsqlite3",
	    "SQLite: 12 indexes on each message row (6 of them the console's) and 4 updated per "
	    "state change; fold the console's per-peer list indexes into the state index; under "
	    "a backlog the queued and sending commits are still two (one only on an idle link)"},
	[BP_LIBC] = {"libc", "libc.so",
	    "allocations and copies per message in store ops and events (store_msg copies, "
	    "event structs)"},
	[BP_SSL] = {"libssl", "libssl", "TLS records per message: coalesce a loop turn's frames "
	    "into one write"},
	[BP_EVENT] = {"libevent", "libevent", "TLS records per message: coalesce a loop turn's "
	    "frames into one write"},
	[BP_SELF] = {"rogatoryd", "rogatoryd",
	    "the daemon's own code: its top symbols above name the functions to lighten"},
	[BP_OTHER] = {"other", NULL,
	    "other libraries (jansson, protobuf-c, ...): the top symbols above name them"},
};

static double
jnum(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : 0.0;
}

/* 1 when measured and not met, 0 met, -1 not measured in this run. */
static int
bp_missed(json_t *out, const struct bp_target *t)
{
	json_t *v = json_object_get(out, t->key);
	if (!json_is_number(v))
		return -1;
	double x = json_number_value(v);
	return t->at_least ? x < t->target : x > t->target;
}

static void
bp_sets(struct bench *b, const char *key, const char *v)
{
	json_object_set_new(b->out, key, json_string(v));
}

/* ---- CPU by thread ---- */

struct benchprof_cpu
benchprof_cpu_now(pid_t pid)
{
	struct benchprof_cpu c = {bl_proc_cpu_s(pid), 0, 0};
	char path[300];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (d == NULL)
		return (struct benchprof_cpu){-1, 0, 0};
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char comm[64] = "";
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, e->d_name);
		double s = bl_stat_cpu_s(path, comm, sizeof(comm));
		if (s < 0)
			continue; /* the thread ended meanwhile: its time is in the total */
		if (atoi(e->d_name) == (int)pid)
			c.loop += s;
		else if (strcmp(comm, BP_STORE_COMM) == 0)
			c.store += s;
	}
	closedir(d);
	return c;
}

static void
thread_split(struct bench *b, const char *side, const char *who, pid_t pid,
    const struct benchprof_cpu *c0, int n)
{
	struct benchprof_cpu c1 = benchprof_cpu_now(pid);
	if (n <= 0 || c0->total < 0 || c1.total < 0) {
		printf("   CPU per message by thread, %s: n/a (%d messages, /proc unreadable?)\n",
		    who, n);
		return;
	}
	double loop = 1e6 * (c1.loop - c0->loop) / n, store = 1e6 * (c1.store - c0->store) / n;
	double other = 1e6 * (c1.total - c0->total) / n - loop - store;
	if (other < 0)
		other = 0; /* clock ticks read at slightly different times */
	printf("   CPU per message by thread, %s: loop %.0f us, store %.0f us, other %.0f us\n",
	    who, loop, store, other);
	const char *names[] = {"loop", "store", "other"};
	double vals[] = {loop, store, other};
	for (int i = 0; i < 3; i++) {
		char key[96];
		snprintf(key, sizeof(key), "throughput_cpu_us_per_msg_%s_%s", side, names[i]);
		bench_setr(b, key, vals[i]);
	}
}

void
benchprof_threads(struct bench *b, const struct benchprof_cpu *a0,
    const struct benchprof_cpu *b0, int n)
{
	thread_split(b, "a", "A", b->a.pid, a0, n);
	thread_split(b, "b", "B", b->b.pid, b0, n);
}

/* ---- latency by hop ---- */

void
benchprof_hops(struct bench *b, struct bl_phase *ph, const char *prefix)
{
	if (access(b->b.dlog, R_OK) != 0) {
		printf("   by hop: n/a (B's delivery log %s: %s)\n", b->b.dlog, strerror(errno));
		return;
	}
	struct bl_tail tb;
	struct bl_phase *pb = bl_phase_new(ph->tag, ph->n);
	bl_tail_open_from(&tb, b->b.dlog, true);
	bl_tail_poll(&tb, pb);
	bl_tail_close(&tb);
	for (int i = 0; i < ph->n; i++)
		ph->received_us[i] = pb->received_us[i];
	bl_phase_free(pb);
	double *v[BP_NHOPS];
	for (size_t h = 0; h < BP_NHOPS; h++)
		if ((v[h] = malloc(sizeof(double) * (size_t)(ph->n > 0 ? ph->n : 1))) == NULL)
			bl_die("out of memory");
	int n = 0;
	for (int i = 0; i < ph->n; i++) {
		int64_t t[BP_NHOPS + 1] = {ph->queued_us[i], ph->sent_us[i], ph->received_us[i],
		    ph->delivered_us[i]};
		bool all = true;
		for (size_t h = 0; h <= BP_NHOPS; h++)
			all = all && t[h] > 0;
		if (!all)
			continue;
		for (size_t h = 0; h < BP_NHOPS; h++)
			v[h][n] = (double)(t[h + 1] - t[h]) / 1000.0;
		n++;
	}
	char key[128];
	snprintf(key, sizeof(key), "%s_hop_messages", prefix);
	bench_seti(b, key, n);
	if (n == 0)
		printf("   by hop: n/a (no message of the phase has queued, sent, received and "
		       "delivered in the logs)\n");
	for (size_t h = 0; h < BP_NHOPS && n > 0; h++) {
		bl_sort(v[h], n);
		double p50 = bl_pct(v[h], n, 0.50), p99 = bl_pct(v[h], n, 0.99);
		printf("     %-22s p50 %7.2f ms  p99 %7.2f ms%s\n", bp_hops[h].name, p50, p99,
		    h == 0 ? "   (by hop, A's and B's delivery logs)" : "");
		snprintf(key, sizeof(key), "%s_hop_%s_p50_ms", prefix, bp_hops[h].key);
		bench_setr(b, key, p50);
		snprintf(key, sizeof(key), "%s_hop_%s_p99_ms", prefix, bp_hops[h].key);
		bench_setr(b, key, p99);
	}
	for (size_t h = 0; h < BP_NHOPS; h++)
		free(v[h]);
}

/* ---- the profiled pass ---- */

struct bp_sym {
	char name[96];
	int cls;
	long n;
};

struct bp_side {
	long n, cls[BP_NCLASS];
	struct bp_sym *syms;
	size_t nsyms, cap;
};

static int
bp_classify(const char *dso)
{
	const char *base = strrchr(dso, '/');
	base = base ? base + 1 : dso;
	for (int c = 0; c < BP_NCLASS; c++)
		if (bp_classes[c].match != NULL && strstr(base, bp_classes[c].match) != NULL)
			return c;
	return BP_OTHER;
}

static void
bp_count(struct bp_side *s, const char *sym, int cls)
{
	s->n++;
	s->cls[cls]++;
	for (size_t i = 0; i < s->nsyms; i++) {
		if (s->syms[i].cls == cls && strcmp(s->syms[i].name, sym) == 0) {
			s->syms[i].n++;
			return;
		}
	}
	if (s->nsyms == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		if ((s->syms = realloc(s->syms, s->cap * sizeof(*s->syms))) == NULL)
			bl_die("out of memory");
	}
	struct bp_sym *e = &s->syms[s->nsyms++];
	snprintf(e->name, sizeof(e->name), "%s", sym);
	e->cls = cls;
	e->n = 1;
}

static int
bp_sym_cmp(const void *x, const void *y)
{
	long a = ((const struct bp_sym *)x)->n, b = ((const struct bp_sym *)y)->n;
	return a > b ? -1 : a < b;
}

/* `perf script -F pid,ip,sym,dso` lines: "PID IP SYMBOL (DSO)". */
static int
bp_parse(const char *path, pid_t pa, pid_t pb, struct bp_side side[2])
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		int pid, off = 0;
		unsigned long long ip;
		if (sscanf(line, "%d %llx %n", &pid, &ip, &off) < 2 || off == 0)
			continue;
		char *sym = line + off, *lp = strrchr(sym, '(');
		char *rp = lp ? strrchr(lp, ')') : NULL;
		if (lp == NULL || rp == NULL)
			continue;
		*rp = '\0';
		const char *dso = lp + 1;
		while (lp > sym && lp[-1] == ' ')
			lp--;
		*lp = '\0';
		struct bp_side *s = pid == (int)pa ? &side[0] : pid == (int)pb ? &side[1] : NULL;
		if (s != NULL)
			bp_count(s, sym[0] ? sym : "[unknown]", bp_classify(dso));
	}
	fclose(f);
	return 0;
}

static void
bp_keep(struct bench *b, const char *side, struct bp_side *s, double cpu_us)
{
	char key[96];
	snprintf(key, sizeof(key), "profile_%s_samples", side);
	bench_seti(b, key, s->n);
	snprintf(key, sizeof(key), "profile_%s_cpu_us_per_msg", side);
	bench_setr(b, key, cpu_us);
	for (int c = 0; c < BP_NCLASS; c++) {
		snprintf(key, sizeof(key), "profile_%s_%s_pct", side, bp_classes[c].name);
		bench_setr(b, key, s->n ? 100.0 * (double)s->cls[c] / (double)s->n : 0);
	}
	qsort(s->syms, s->nsyms, sizeof(*s->syms), bp_sym_cmp);
	json_t *top = json_array();
	for (size_t i = 0; i < s->nsyms && i < BP_TOP; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "symbol", json_string(s->syms[i].name));
		json_object_set_new(o, "library", json_string(bp_classes[s->syms[i].cls].name));
		json_object_set_new(o, "pct", json_real(100.0 * (double)s->syms[i].n / (double)s->n));
		json_array_append_new(top, o);
	}
	snprintf(key, sizeof(key), "profile_%s_top", side);
	json_object_set_new(b->out, key, top);
	free(s->syms);
}

/* Why perf record stopped at once: its log's last line and the kernel's setting. */
static void
bp_perf_failed(struct bench *b, const char *log)
{
	char *last = NULL, *paranoid = NULL, msg[700];
	bl_sh(&last, "tail -n 1 '%s' 2>/dev/null", log);
	bl_sh(&paranoid, "cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null");
	last[strcspn(last, "\n")] = '\0';
	paranoid[strcspn(paranoid, "\n")] = '\0';
	snprintf(msg, sizeof(msg), "perf record failed (%s; kernel.perf_event_paranoid = %s)",
	    last[0] ? last : "no message", paranoid[0] ? paranoid : "?");
	bp_sets(b, "profile_status", msg);
	printf("   profile: %s\n", msg);
	free(last);
	free(paranoid);
}

/* perf record of A and B while n messages go through, then perf script into script. */
static bool
bp_record(struct bench *b, const char *perf, unsigned tag, int n, const char *script,
    double cpu_us[2])
{
	char data[700], log[700], pids[64];
	snprintf(data, sizeof(data), "%s/profile.data", b->env.dir);
	snprintf(log, sizeof(log), "%s/profile-perf.log", b->env.dir);
	snprintf(pids, sizeof(pids), "%d,%d", (int)b->a.pid, (int)b->b.pid);
	char *rec[] = {(char *)perf, "record", "-F", "499", "-p", pids, "-o", data, NULL};
	pid_t pr = bl_spawn(rec, log, -1);
	/* Attached once it has written the file's header (or gone: it could not). */
	double t0 = bl_mono_s();
	while (bl_file_size(data) == 0 && bl_wait(pr, 0) == -1 && bl_mono_s() - t0 < 10)
		bl_sleep_ms(10);
	if (bl_file_size(data) == 0 || bl_wait(pr, 0) != -1) {
		bl_stop(pr, SIGKILL);
		bp_perf_failed(b, log);
		return false;
	}
	struct bl_phase *ph = bl_phase_new(tag, n);
	double ca = bl_proc_cpu_s(b->a.pid), cb = bl_proc_cpu_s(b->b.pid);
	pid_t p = bench_batch_submit(b, ID_B, tag, n);
	bool ok = bl_tail_wait(&b->ta, ph, n, 60 + n / 200.0);
	int done = ph->delivered;
	cpu_us[0] = done > 0 ? 1e6 * (bl_proc_cpu_s(b->a.pid) - ca) / done : 0;
	cpu_us[1] = done > 0 ? 1e6 * (bl_proc_cpu_s(b->b.pid) - cb) / done : 0;
	/* perf ends on SIGINT with the signal's status after writing its data: whether the
	 * data is readable, perf script says. */
	bl_stop(pr, SIGINT);
	if (bl_wait(p, 30000) == -1)
		bl_stop(p, SIGTERM);
	bl_phase_free(ph);
	if (!ok)
		printf("   profile: only %d of %d delivered before the time-out\n", done, n);
	char *scr[] = {(char *)perf, "script", "-i", data, "-F", "pid,ip,sym,dso", NULL};
	pid_t ps = bl_spawn(scr, script, -1);
	int st = bl_wait(ps, 120000);
	if (st != 0) {
		bl_stop(ps, SIGKILL);
		char msg[1600];
		snprintf(msg, sizeof(msg), "perf script %s (see %s, %s)",
		    st == -1 ? "took over 120 s" : "failed", script, log);
		bp_sets(b, "profile_status", msg);
		printf("   profile: %s\n", msg);
		return false;
	}
	return true;
}

void
benchprof_profile(struct bench *b, unsigned tag)
{
	bool missed = false;
	for (size_t i = 0; i < BP_NTARGETS; i++)
		if (bp_targets[i].kind != BP_LAT && bp_missed(b->out, &bp_targets[i]) == 1)
			missed = true;
	const char *env = getenv("BENCH_PROFILE"), *bin = getenv("BENCH_PERF_BIN");
	const char *perf = bin && *bin ? bin : "/usr/bin/perf";
	if (!missed) {
		bp_sets(b, "profile_status", "not run: the throughput and CPU targets are met or "
		                             "were not measured");
		return;
	}
	if (env != NULL && strcmp(env, "0") == 0) {
		bp_sets(b, "profile_status", "skipped (BENCH_PROFILE=0)");
		return;
	}
	if (access(perf, X_OK) != 0) {
		bp_sets(b, "profile_status", "perf not found (Debian package linux-perf)");
		return;
	}
	const char *ms = getenv("BENCH_PROFILE_MESSAGES");
	int n = ms != NULL && atoi(ms) > 0 ? atoi(ms) : 5000;
	bench_note("profile: %d more messages like the throughput phase under `%s record -F 499 "
	           "-p A,B` (a separate pass: the figures above were measured without perf)",
	    n, perf);
	char script[700];
	snprintf(script, sizeof(script), "%s/profile-script.txt", b->env.dir);
	double cpu_us[2];
	if (!bp_record(b, perf, tag, n, script, cpu_us))
		return;
	struct bp_side side[2];
	memset(side, 0, sizeof(side));
	if (bp_parse(script, b->a.pid, b->b.pid, side) != 0 || side[0].n + side[1].n == 0) {
		bp_sets(b, "profile_status", "perf recorded no samples of the daemons");
		printf("   profile: perf recorded no samples of the daemons\n");
		free(side[0].syms);
		free(side[1].syms);
		return;
	}
	bench_seti(b, "profile_messages", n);
	bp_keep(b, "a", &side[0], cpu_us[0]);
	bp_keep(b, "b", &side[1], cpu_us[1]);
	bp_sets(b, "profile_status", "ran");
}

/* ---- the block ---- */

/* The floor of a side's CPU per message: one sign and one verify (bench/limits). */
static double
bp_floor_us(struct bench *b)
{
	double sign = jnum(b->limits, "sign_per_s"), verify = jnum(b->limits, "verify_per_s");
	return sign > 0 && verify > 0 ? 1e6 / sign + 1e6 / verify : 0;
}

static void
bp_side_block(struct bench *b, const char *side, const char *who)
{
	char key[96];
	snprintf(key, sizeof(key), "profile_%s_cpu_us_per_msg", side);
	double cpu = jnum(b->out, key), floor_us = bp_floor_us(b);
	double floor_pct = cpu > 0 ? 100.0 * floor_us / cpu : 0, share[BP_NCLASS];
	snprintf(key, sizeof(key), "profile_%s_samples", side);
	printf("   %s: %.0f samples, CPU %.0f us per message (floor: 1 sign + 1 verify = %.0f us, "
	       "%.0f %%)\n     shares:", who, jnum(b->out, key), cpu, floor_us, floor_pct);
	int big = BP_OTHER;
	double big_v = -1;
	for (int c = 0; c < BP_NCLASS; c++) {
		snprintf(key, sizeof(key), "profile_%s_%s_pct", side, bp_classes[c].name);
		share[c] = jnum(b->out, key);
		printf(" %s %.1f %%%s", bp_classes[c].name, share[c], c + 1 < BP_NCLASS ? "," : "\n");
		/* libcrypto counts only beyond the signatures every message needs. */
		double beyond = c == BP_CRYPTO ? share[c] - floor_pct : share[c];
		if (beyond > big_v) {
			big_v = beyond;
			big = c;
		}
	}
	snprintf(key, sizeof(key), "profile_%s_top", side);
	json_t *top = json_object_get(b->out, key), *o;
	size_t i;
	bool unknown = false;
	json_array_foreach(top, i, o) {
		const char *sym = json_string_value(json_object_get(o, "symbol"));
		unknown = unknown || (sym != NULL && strcmp(sym, "[unknown]") == 0);
		printf("     %5.1f %%  %s (%s)\n", jnum(o, "pct"), sym,
		    json_string_value(json_object_get(o, "library")));
	}
	if (unknown)
		printf("     ([unknown]: functions of a library without symbols here; its debug "
		       "symbols package would name them)\n");
	/* Nothing beyond the floor stands out: the signatures are what is left. */
	if (big_v <= 0)
		big = BP_CRYPTO;
	printf("     next step (largest share beyond the crypto floor: %s, %.1f %%): %s\n",
	    bp_classes[big].name, big_v > 0 ? big_v : share[BP_CRYPTO], bp_classes[big].next);
	snprintf(key, sizeof(key), "profile_%s_largest", side);
	bp_sets(b, key, bp_classes[big].name);
	snprintf(key, sizeof(key), "profile_%s_next_step", side);
	bp_sets(b, key, bp_classes[big].next);
}

static void
bp_latency_row(struct bench *b, const struct bp_target *t)
{
	char key[128];
	int big = -1;
	double big_v = 0;
	for (size_t h = 0; h < BP_NHOPS; h++) {
		snprintf(key, sizeof(key), "%s_hop_%s_%s_ms", t->phase, bp_hops[h].key, t->pct);
		json_t *v = json_object_get(b->out, key);
		if (json_is_number(v) && (big < 0 || json_number_value(v) > big_v)) {
			big = (int)h;
			big_v = json_number_value(v);
		}
	}
	if (big < 0) {
		printf("   %s %.2f > %g ms: no hops measured\n", t->figure, jnum(b->out, t->key),
		    t->target);
		return;
	}
	printf("   %s %.2f > %g ms: largest hop %s (%s %.2f ms); next step: %s\n", t->figure,
	    jnum(b->out, t->key), t->target, bp_hops[big].name, t->pct, big_v, bp_hops[big].next);
	snprintf(key, sizeof(key), "profile_%s_%s_largest_hop", t->phase, t->pct);
	bp_sets(b, key, bp_hops[big].name);
	snprintf(key, sizeof(key), "profile_%s_%s_next_step", t->phase, t->pct);
	bp_sets(b, key, bp_hops[big].next);
}

void
benchprof_remains(struct bench *b)
{
	json_t *unmet = json_array();
	for (size_t i = 0; i < BP_NTARGETS; i++)
		if (bp_missed(b->out, &bp_targets[i]) == 1)
			json_array_append_new(unmet, json_string(bp_targets[i].figure));
	json_object_set_new(b->out, "profile_unmet", unmet);
	if (json_array_size(unmet) == 0) {
		printf("\nwhat remains: nothing among throughput, CPU per message and latency (every "
		       "target measured in this run is met)\n");
		return;
	}
	printf("\nwhat remains; targets not met:");
	const char *sep = " ";
	for (size_t i = 0; i < BP_NTARGETS; i++) {
		if (bp_missed(b->out, &bp_targets[i]) != 1)
			continue;
		printf("%s%s %.2f %s %g %s", sep, bp_targets[i].figure,
		    jnum(b->out, bp_targets[i].key), bp_targets[i].at_least ? "<" : ">",
		    bp_targets[i].target, bp_targets[i].unit);
		sep = "; ";
	}
	printf("\n");
	const char *sides[] = {"a", "b"}, *who[] = {"A (sender)", "B (receiver)"};
	for (int s = 0; s < 2; s++) {
		char key[96];
		snprintf(key, sizeof(key), "throughput_cpu_us_per_msg_%s_loop", sides[s]);
		if (!json_is_number(json_object_get(b->out, key)))
			continue;
		double v[3];
		const char *th[] = {"loop", "store", "other"};
		for (int k = 0; k < 3; k++) {
			snprintf(key, sizeof(key), "throughput_cpu_us_per_msg_%s_%s", sides[s], th[k]);
			v[k] = jnum(b->out, key);
		}
		printf("   CPU per message by thread, %s: loop %.0f us, store %.0f us, other %.0f us "
		       "(throughput phase)\n", who[s], v[0], v[1], v[2]);
	}
	const char *status = json_string_value(json_object_get(b->out, "profile_status"));
	if (status != NULL && strcmp(status, "ran") == 0) {
		printf("   profile: %.0f messages under perf record -F 499, a separate pass after the "
		       "measured phases\n", jnum(b->out, "profile_messages"));
		for (int s = 0; s < 2; s++)
			bp_side_block(b, sides[s], who[s]);
	} else {
		printf("   profile: %s\n", status ? status : "not run");
	}
	for (size_t i = 0; i < BP_NTARGETS; i++)
		if (bp_targets[i].kind == BP_LAT && bp_missed(b->out, &bp_targets[i]) == 1)
			bp_latency_row(b, &bp_targets[i]);
}
