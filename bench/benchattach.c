/*
 * benchattach: the attachment phases of `make bench` (issue 19, section 1). "large": one
 * message with a 60 MiB attachment A -> B, MB/s against the disk's limit; "huge": one
 * of 2 GiB, each daemon's peak RSS and its disk use (the state folder's growth) against
 * the size, skipped with a message when the disk lacks room, sent through a proxy that
 * resets the link at 90 % (the bytes sent again after the Resume); "restart": the same
 * size with B killed (SIGKILL) at its durable step at 90 % and started again (the bytes sent
 * again after its Resume). large and huge report each side's CPU time per MiB. Bounded in time; what could not be measured is said, not failed.
 */
#include "benchattach.h"

#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "bench.h"
#include "benchlib.h"

/* Bytes under a node's state folder (du), -1 when unreadable. */
static long long
state_bytes(const struct bnode *n)
{
	char *out = NULL;
	long long v = -1;
	if (bl_sh(&out, "du -sb '%s' | cut -f1", n->state) == 0)
		v = strtoll(out, NULL, 10);
	free(out);
	return v;
}

struct att_run {
	double s;                /* rogatoryctl start -> delivered at A */
	double upload_s;         /* -> queued */
	double cpu_a, cpu_b;     /* seconds of CPU over the phase */
	long hwm_a, hwm_b;       /* KiB */
	long long disk_a, disk_b; /* growth of the state folders, bytes */
};

/* Sends path (mb MiB) A -> B as message id; 0 with r filled, -1 (said why). */
static int
att_send(struct bench *b, const char *phase, const char *path, int mb, const char *id,
    struct att_run *r)
{
	char bin[600], log[700];
	snprintf(bin, sizeof(bin), "%s/rogatoryctl", b->env.build);
	snprintf(log, sizeof(log), "%s/%s-send.log", b->env.dir, phase);
	char *argv[] = {bin, "-s", b->a.sock, "send", "--to", ID_B, "--kind", "other", "--id",
	    (char *)id, "--subject", "Benchmark: attachment", "--attach", (char *)path, NULL};
	struct bl_phase *ph = bl_phase_new(strcmp(phase, "huge") == 0 ? TAG_HUGE : TAG_LARGE, 1);
	long long d0a = state_bytes(&b->a), d0b = state_bytes(&b->b);
	bl_reset_hwm(b->a.pid);
	bl_reset_hwm(b->b.pid);
	double c0a = bl_proc_cpu_s(b->a.pid), c0b = bl_proc_cpu_s(b->b.pid);
	/* Bounded: the run ends whatever the attachment code does (>= 2 MB/s or said). */
	int up_ms = 40000 + mb * 500, deliver_s = 30 + mb / 2;
	pid_t perf = bench_perf_start(b, phase);
	int64_t start = bl_wall_us();
	pid_t up = bl_spawn(argv, log, -1);
	int rc = bl_wait(up, up_ms);
	bool ok = rc == 0 && bl_tail_wait(&b->ta, ph, 1, deliver_s) && ph->delivered == 1;
	bench_perf_stop(perf);
	if (!ok) {
		char *out = NULL;
		if (rc == -1)
			bl_stop(up, SIGTERM);
		bl_sh(&out, "tail -n 3 '%s'", log);
		printf("   %s: not measured (%s): %s\n", phase, rc == -1 ? "rogatoryctl send did "
		    "not finish in time" : rc != 0 ? "rogatoryctl send failed" : "not delivered in "
		    "time", out ? out : "");
		char key[64];
		snprintf(key, sizeof(key), "%s_note", phase);
		json_object_set_new(b->out, key, json_string(rc != 0 ? "send failed or too slow"
		    : "not delivered in time"));
		free(out);
		bl_phase_free(ph);
		return -1;
	}
	r->s = (double)(ph->delivered_us[0] - start) / 1e6;
	r->upload_s = ph->queued_us[0] > 0 ? (double)(ph->queued_us[0] - start) / 1e6 : 0;
	r->cpu_a = bl_proc_cpu_s(b->a.pid) - c0a;
	r->cpu_b = bl_proc_cpu_s(b->b.pid) - c0b;
	r->hwm_a = bl_proc_kb(b->a.pid, "VmHWM");
	r->hwm_b = bl_proc_kb(b->b.pid, "VmHWM");
	r->disk_a = state_bytes(&b->a) - d0a;
	r->disk_b = state_bytes(&b->b) - d0b;
	bl_phase_free(ph);
	printf("   %d MiB in %.2f s (rogatoryctl start -> delivered at A): %.1f MB/s; peak RSS "
	       "A %.1f MiB, B %.1f MiB\n", mb, r->s, (double)((size_t)mb << 20) / 1e6 / r->s,
	    r->hwm_a / 1024.0, r->hwm_b / 1024.0);
	if (r->upload_s > 0)
		printf("   of which upload to A (-> queued) %.2f s\n", r->upload_s);
	printf("   CPU: A %.2f s (%.0f us per MiB), B %.2f s (%.0f us per MiB)\n", r->cpu_a,
	    1e6 * r->cpu_a / mb, r->cpu_b, 1e6 * r->cpu_b / mb);
	char key[64];
	snprintf(key, sizeof(key), "%s_cpu_us_per_mib_a", phase);
	bench_setr(b, key, 1e6 * r->cpu_a / mb);
	snprintf(key, sizeof(key), "%s_cpu_us_per_mib_b", phase);
	bench_setr(b, key, 1e6 * r->cpu_b / mb);
	return 0;
}

void
benchattach_large(struct bench *b)
{
	int mb = b->c.large_mb;
	bench_note("large message: one message with a %d MiB attachment", mb);
	json_object_set_new(b->out, "large_mb_per_s", json_null());
	json_object_set_new(b->out, "large_peak_rss_mb", json_null());
	char path[700], id[37];
	snprintf(path, sizeof(path), "%s/attachment.bin", b->env.dir);
	if (bl_sh(NULL, "head -c %d /dev/urandom > '%s'", mb << 20, path) != 0)
		bl_die("cannot make %s", path);
	bl_msg_id(id, TAG_LARGE, 0);
	struct att_run r;
	if (att_send(b, "large", path, mb, id, &r) != 0)
		return;
	/* The bytes must have arrived whole: fetch them at B and compare. */
	char *out = NULL, args[1500];
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
	double peak = (double)(r.hwm_a > r.hwm_b ? r.hwm_a : r.hwm_b) / 1024.0;
	bench_setr(b, "large_mb_per_s", (double)((size_t)mb << 20) / 1e6 / r.s);
	bench_setr(b, "large_peak_rss_mb", peak);
	bench_setr(b, "large_peak_rss_a_mb", r.hwm_a / 1024.0);
	bench_setr(b, "large_peak_rss_b_mb", r.hwm_b / 1024.0);
	bl_sh(NULL, "rm -rf '%s/fetched'", b->env.dir);
}

/* B behind build/tests/faultproxy, which resets A's first link to it after cut_at bytes
 * (both directions together): B restarted on another port, the proxy on the one A
 * dials. The proxy's pid, 0 when it cannot be built in (the phase runs without a cut). */
static pid_t
cut_proxy(struct bench *b, long long cut_at)
{
	char proxy[600], log[700];
	snprintf(proxy, sizeof(proxy), "%s/tests/faultproxy", b->env.build);
	snprintf(log, sizeof(log), "%s/proxy.log", b->env.dir);
	if (access(proxy, X_OK) != 0)
		return 0;
	int real = bl_free_port();
	bl_node_stop(&b->b);
	if (bl_sh(NULL, "sed -i 's/^listen = 127.0.0.1:%d$/listen = 127.0.0.1:%d/' '%s'", b->b.port,
	        real, b->b.conf) != 0)
		bl_die("cannot rewrite %s", b->b.conf);
	bl_node_start(&b->env, &b->b);
	char port[16], target[16], cut[32];
	snprintf(port, sizeof(port), "%d", b->b.port);
	snprintf(target, sizeof(target), "%d", real);
	snprintf(cut, sizeof(cut), "%lld", cut_at);
	char *argv[] = {proxy, port, target, "--cut-after", cut, NULL};
	pid_t px = bl_spawn(argv, log, -1);
	for (int i = 0; i < 500; i++) {
		if (bl_sh(NULL, "grep -q listening '%s'", log) == 0)
			break;
		usleep(10000);
	}
	char *out = NULL;
	bl_ctl(&b->env, &b->a, &out, "connect " ID_B);
	free(out);
	return px;
}

/* The proxy gone: B back on the port A dials (the phases after this one talk to it). */
static void
cut_proxy_undo(struct bench *b, pid_t px)
{
	if (px <= 0)
		return;
	bl_stop(px, SIGTERM);
	bl_node_stop(&b->b);
	if (bl_sh(NULL, "sed -i 's/^listen = 127.0.0.1:[0-9]*$/listen = 127.0.0.1:%d/' '%s'",
	        b->b.port, b->b.conf) != 0)
		bl_die("cannot rewrite %s", b->b.conf);
	bl_node_start(&b->env, &b->b);
	char *out = NULL;
	bl_ctl(&b->env, &b->a, &out, "connect " ID_B);
	free(out);
}

/* The bytes of id A did not send again after B's Resume (A's log), -1 when none. */
static long long
resume_skipped(struct bench *b, const char *id)
{
	char *out = NULL;
	long long v = -1;
	if (bl_sh(&out, "grep 'outbox: %s to %s: resumed at' '%s' | tail -n 1", id, ID_B,
	        b->a.log) == 0 && out != NULL && strstr(out, " offset ") != NULL) {
		const char *p = strchr(strstr(out, " offset "), '(');
		if (p != NULL)
			v = strtoll(p + 1, NULL, 10);
	}
	free(out);
	return v;
}

/* The file of mb MiB the phase sends, in path: 0; -1 when the disk lacks room for it,
 * A's copy and B's (said, and noted as phase_note). */
static int
huge_file(struct bench *b, const char *phase, int mb, char *path, size_t len)
{
	unsigned long long size = (unsigned long long)mb << 20;
	/* The source file, A's copy and B's: each once, with a tenth to spare. */
	struct statvfs vf;
	unsigned long long need = size * 3 + size / 10;
	if (statvfs(b->env.dir, &vf) != 0 ||
	    (unsigned long long)vf.f_bavail * vf.f_frsize < need) {
		printf("   %s: skipped: %s has %.1f GiB free, the phase needs %.1f GiB (the file, "
		    "A's copy, B's copy)\n", phase, b->env.dir,
		    (double)vf.f_bavail * vf.f_frsize / (1 << 30), (double)need / (1 << 30));
		char key[64];
		snprintf(key, sizeof(key), "%s_note", phase);
		json_object_set_new(b->out, key, json_string("skipped: not enough free disk"));
		return -1;
	}
	snprintf(path, len, "%s/%s.bin", b->env.dir, phase);
	/* 64 MiB of random bytes written mb/64 times (urandom alone is slower than the
	 * transfer; what repeats does not matter to it). */
	if (bl_sh(NULL, "head -c %d /dev/urandom > '%s.64' && for i in $(seq %d); do cat "
	          "'%s.64'; done > '%s' && rm -f '%s.64'", 64 << 20, path, mb / 64, path, path,
	        path) != 0)
		bl_die("cannot make %s", path);
	return 0;
}

void
benchattach_huge(struct bench *b)
{
	int mb = b->c.huge_mb;
	unsigned long long size = (unsigned long long)mb << 20;
	bench_note("huge message: one message with a %d MiB attachment", mb);
	json_object_set_new(b->out, "huge_peak_rss_mb", json_null());
	json_object_set_new(b->out, "huge_disk_ratio", json_null());
	char path[700], id[37];
	if (huge_file(b, "huge", mb, path, sizeof(path)) != 0)
		return;
	bl_msg_id(id, TAG_HUGE, 0);
	/* The link is reset at 90 % of the attachment's bytes: A resends it, B holds what
	 * came (link version 3) and answers a Resume; A sends the rest. */
	long long cut_at = (long long)(size / 10 * 9);
	pid_t px = cut_proxy(b, cut_at);
	if (px > 0)
		printf("   A's first link to B cut at %.2f GiB (90 %% of the attachment) by "
		    "tests/faultproxy in front of B\n", (double)cut_at / (1 << 30));
	else
		printf("   no cut: %s/tests/faultproxy is not built\n", b->env.build);
	struct att_run r;
	int sent = att_send(b, "huge", path, mb, id, &r);
	cut_proxy_undo(b, px);
	bl_sh(NULL, "rm -f '%s'", path);
	if (sent != 0)
		return;
	/* B's stored bytes against the signed manifest, re-hashed from its file. */
	char *out = NULL, args[200];
	snprintf(args, sizeof(args), "verify %s --from %s", id, ID_A);
	int v = bl_ctl(&b->env, &b->b, &out, args);
	printf("   rogatoryctl verify at %s: %s\n", ID_B, v == 0 ? "valid (every attachment "
	    "byte re-hashed)" : "NOT VALID");
	free(out);
	double da = (double)r.disk_a / (double)size, db = (double)r.disk_b / (double)size;
	printf("   disk use: A %.2f GiB (%.3f x the size), B %.2f GiB (%.3f x)\n",
	    (double)r.disk_a / (1 << 30), da, (double)r.disk_b / (1 << 30), db);
	double peak = (double)(r.hwm_a > r.hwm_b ? r.hwm_a : r.hwm_b) / 1024.0;
	bench_setr(b, "huge_mb_per_s", (double)size / 1e6 / r.s);
	bench_setr(b, "huge_peak_rss_mb", peak);
	bench_setr(b, "huge_peak_rss_a_mb", r.hwm_a / 1024.0);
	bench_setr(b, "huge_peak_rss_b_mb", r.hwm_b / 1024.0);
	bench_setr(b, "huge_disk_ratio", da > db ? da : db);
	json_object_set_new(b->out, "huge_verified", json_boolean(v == 0));
	long long skipped = px > 0 ? resume_skipped(b, id) : -1;
	if (skipped >= 0) {
		/* Sent twice: what A had sent before the cut (at most cut_at bytes crossed the
		 * proxy, frames and TLS included: an upper bound) and sent again before its
		 * point, i.e. cut_at - skipped; the 10 % after the cut is sent once. */
		double after = (double)(size - (unsigned long long)skipped) / (1 << 20);
		double resent = (double)(cut_at - skipped) / (1 << 20);
		printf("   resume after the cut: %.1f MiB sent on the new link (the last 10 %% is "
		    "%.1f MiB), of which at most %.1f MiB sent again\n", after,
		    (double)(size - (unsigned long long)cut_at) / (1 << 20), resent);
		bench_setr(b, "huge_resume_resent_mib", resent);
	} else {
		json_object_set_new(b->out, "huge_resume_resent_mib", json_null());
		printf("   resume after the cut: %s\n", px > 0 ? "A logged no Resume (the whole "
		    "attachment was sent again)" : "not measured (no cut)");
	}
}

/* B's log: the durable point its staging was kept at across the restart, -1 none. */
static long long
restart_durable(struct bench *b, const char *id)
{
	char *out = NULL;
	long long v = -1;
	if (bl_sh(&out, "grep -o 'staging of message %s from %s kept for a resume: [0-9]*' '%s' "
	        "| tail -n 1 | sed 's/.*: //'", id, ID_A, b->b.log) == 0 && out != NULL &&
	    out[0] >= '0' && out[0] <= '9')
		v = strtoll(out, NULL, 10);
	free(out);
	return v;
}

/* Polls B's staging record (staging/BSET.resume, its line "durable ATT OFF ...") until
 * it names at least point bytes of attachment 0: true; false after timeout_s. */
static bool
durable_reached(struct bench *b, long long point, int timeout_s)
{
	char pattern[700];
	snprintf(pattern, sizeof(pattern), "%s/attachments/staging/*.resume", b->b.state);
	for (double t0 = bl_mono_s(); bl_mono_s() - t0 < timeout_s; usleep(2000)) {
		glob_t g;
		if (glob(pattern, 0, NULL, &g) != 0)
			continue;
		long long off = -1;
		FILE *f = fopen(g.gl_pathv[0], "r");
		char line[256];
		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "durable 0 %lld", &off) == 1)
				break;
		if (f != NULL)
			fclose(f);
		globfree(&g);
		if (off >= point)
			return true;
	}
	return false;
}

void
benchattach_restart(struct bench *b)
{
	int mb = b->c.huge_mb;
	unsigned long long size = (unsigned long long)mb << 20;
	/* B makes its staging durable every 32 MiB: it stops at the last step within 90 %. */
	int step = (int)(size / 10 * 9 / (32u << 20));
	bench_note("huge message, receiver restarted: B killed (SIGKILL) once its staging is "
	    "durable at %d MiB of a %d MiB attachment, then started again", step * 32, mb);
	json_object_set_new(b->out, "restart_resent_mib", json_null());
	char path[700], id[37], bin[600], log[700];
	if (step < 1 || huge_file(b, "restart", mb, path, sizeof(path)) != 0)
		return;
	bl_msg_id(id, TAG_RESTART, 0);
	snprintf(bin, sizeof(bin), "%s/rogatoryctl", b->env.build);
	snprintf(log, sizeof(log), "%s/restart-send.log", b->env.dir);
	char *argv[] = {bin, "-s", b->a.sock, "send", "--to", ID_B, "--kind", "other", "--id", id,
	    "--subject", "Benchmark: attachment, receiver restarted", "--attach", path, NULL};
	struct bl_phase *ph = bl_phase_new(TAG_RESTART, 1);
	pid_t up = bl_spawn(argv, log, -1);
	int rc = bl_wait(up, 40000 + mb * 50);
	bool at = rc == 0 && durable_reached(b, (long long)step << 25, 30 + mb / 20);
	/* kill -9 (the bench build has no crash points): B keeps what its record says. */
	bl_stop(b->b.pid, SIGKILL);
	b->b.pid = 0;
	if (!at) {
		printf("   restart: not measured (%s)\n", rc != 0 ? "rogatoryctl send failed or "
		    "too slow" : "B's staging record did not reach the point in time");
		if (rc == -1)
			bl_stop(up, SIGTERM);
		bl_node_start(&b->env, &b->b);
		bl_phase_free(ph);
		bl_sh(NULL, "rm -f '%s'", path);
		return;
	}
	double t0 = bl_mono_s();
	bl_node_start(&b->env, &b->b);
	bool ok = bl_tail_wait(&b->ta, ph, 1, 30 + mb / 2) && ph->delivered == 1;
	double s = bl_mono_s() - t0;
	bl_phase_free(ph);
	bl_sh(NULL, "rm -f '%s'", path);
	long long durable = restart_durable(b, id), skipped = resume_skipped(b, id);
	if (!ok || durable < 0 || skipped < 0) {
		printf("   restart: %s; B kept %s; A logged %s\n", ok ? "delivered" : "NOT DELIVERED "
		    "in time", durable < 0 ? "no staging" : "its staging", skipped < 0 ? "no Resume "
		    "(the whole attachment was sent again)" : "a Resume");
		return;
	}
	/* Sent twice: what A wrote on the new link below B's durable point before the Resume
	 * came back (durable - skipped), and what crossed the first link above that point
	 * before B stopped (B stops right after the step: at most A's in-flight bytes). */
	double again = (double)(durable - skipped) / (1 << 20);
	printf("   restart: B kept %.0f MiB durable across its restart; %.1f MiB sent on the new "
	    "link (the rest: %.1f MiB), of which %.1f MiB below the durable point sent again "
	    "(and what crossed the first link above that point before the kill, not measured); "
	    "delivered %.1f s after B's restart\n", (double)durable / (1 << 20),
	    (double)(size - (unsigned long long)skipped) / (1 << 20),
	    (double)(size - (unsigned long long)durable) / (1 << 20), again, s);
	bench_setr(b, "restart_resent_mib", again);
	bench_setr(b, "restart_durable_mib", (double)durable / (1 << 20));
}
