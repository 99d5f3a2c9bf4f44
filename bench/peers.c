/*
 * peers: what an authority would use instead of rogatory, measured on this machine in
 * the same run (issue 19 §3): Mosquitto 2 (QoS 1, TLS 1.3 with client certificates, not
 * durable) and two Postfix instances relaying over SMTP with TLS 1.3 and certificates
 * both ways (durable: each fsyncs its queue file, the second its maildir file).
 * bench/peers.sh installs the packages and writes the private configurations; this file
 * starts every daemon in the foreground, times it and stops it by pid (Postfix: every
 * process of its session too), on every path. It must never start, stop or reconfigure
 * a system service, and never report a rate for a peer that delivered fewer messages
 * than were sent: that is a failure, printed and recorded as not measured.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "peers.h"

#define MQTT_TOPIC "bench/peers"
#define SMTP_SESSIONS "10"   /* smtp-source's parallel sessions into pf1 */
#define NOT_ASKED "not measured (BENCH_PEERS=1)"

struct peers {
	struct bench *b;
	char dir[700];          /* <bench folder>/peers */
	char script[700];
	int mqtt_port, smtp1_port, smtp2_port;
	int mqtt_n, smtp_n;     /* messages sent to each */
};

static void peers_mosquitto(struct peers *p);
static void peers_postfix(struct peers *p);

static void
note(struct bench *b, const char *peer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Why a peer has no figure: kept as peers_<peer>_note, and printed unless the phase was
 * not asked for ("not measured (...)"). */
static void
note(struct bench *b, const char *peer, const char *fmt, ...)
{
	char msg[600], key[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(key, sizeof(key), "peers_%s_note", peer);
	json_object_set_new(b->out, key, json_string(msg));
	if (strncmp(msg, "not measured (", strlen("not measured (")) != 0)
		printf("   %s: %s\n", peer, msg);
}

static double
cpu_children_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Walks /proc for the processes of session sid: with kill_them, SIGKILLs each (by its
 * pid) and reaps it (the bench is their subreaper once their master is gone); returns
 * their CPU seconds, including the children they reaped (Postfix's master reaps its
 * daemons as they retire), and how many there were in *count. */
static double
session_walk(pid_t sid, bool kill_them, int *count)
{
	DIR *d = opendir("/proc");
	double ticks = 0;
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[300], buf[1024];
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		/* After "(comm) ": state ppid pgrp session ... utime(14) stime cutime cstime. */
		char *r = strrchr(buf, ')');
		int session = 0;
		unsigned long long ut = 0, st = 0, cut = 0, cst = 0;
		if (r == NULL || sscanf(r + 2, "%*c %*d %*d %d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
		                               "%llu %llu", &session, &ut, &st, &cut, &cst) != 5 ||
		    session != sid)
			continue;
		ticks += (double)(ut + st + cut + cst);
		if (count != NULL)
			(*count)++;
		if (kill_them) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, WNOHANG);
		}
	}
	if (d != NULL)
		closedir(d);
	return ticks / (double)sysconf(_SC_CLK_TCK);
}

/* Until 127.0.0.1:port accepts a connection (true), the daemon exits or timeout_s. */
static bool
wait_port(int port, pid_t pid, double timeout_s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (double t0 = bl_mono_s(); bl_mono_s() - t0 < timeout_s; bl_sleep_ms(10)) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int rc = fd >= 0 ? connect(fd, (struct sockaddr *)&sa, sizeof(sa)) : -1;
		if (fd >= 0)
			close(fd);
		if (rc == 0)
			return true;
		if (bl_wait(pid, 0) >= 0)
			return false;
	}
	return false;
}

static bool
file_has(const char *path, const char *needle)
{
	char *out = NULL;
	int rc = bl_sh(&out, "grep -qF -- '%s' '%s' 2>/dev/null", needle, path);
	free(out);
	return rc == 0;
}

static int
file_count(const char *path, const char *needle)
{
	char *out = NULL;
	bl_sh(&out, "grep -cF -- '%s' '%s' 2>/dev/null", needle, path);
	int n = atoi(out);
	free(out);
	return n;
}

static int
dir_entries(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return n;
}

static void
version(struct bench *b, const char *key, const char *cmd)
{
	char *out = NULL;
	bl_sh(&out, "%s", cmd);
	out[strcspn(out, "\n")] = '\0';
	json_object_set_new(b->out, key, json_string(out));
	free(out);
}

/* peers.sh failed: what it printed (apt-get's last lines, say), then its reason (its
 * last line) recorded for both peers. Frees out. */
static void
script_failed(struct bench *b, char *out)
{
	size_t len = strlen(out);
	while (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
	char *last = strrchr(out, '\n');
	if (last != NULL) {
		*last++ = '\0';
		printf("%s\n", out);
	} else {
		last = out;
	}
	note(b, "mosquitto", "not measured: %s", last);
	note(b, "postfix", "not measured: %s", last);
	free(out);
}

void
peers_run(struct bench *b, bool wanted)
{
	const char *on = getenv("BENCH_PEERS");
	if (on == NULL || strcmp(on, "1") != 0 || !wanted) {
		const char *why = !wanted && on != NULL && strcmp(on, "1") == 0
		                      ? "not measured (not in BENCH_ONLY)" : NOT_ASKED;
		note(b, "mosquitto", "%s", why);
		note(b, "postfix", "%s", why);
		return;
	}
	struct peers p = {.b = b, .mqtt_n = b->quick ? 5000 : 20000, .smtp_n = b->quick ? 500 : 2000};
	bench_note("peer systems on this machine (BENCH_PEERS=1): Mosquitto 2 and Postfix");
	snprintf(p.dir, sizeof(p.dir), "%s/peers", b->env.dir);
	snprintf(p.script, sizeof(p.script), "%s/bench/peers.sh", b->env.src);
	char *out = NULL;
	if (bl_sh(&out, "'%s' install 2>&1", p.script) != 0) {
		script_failed(b, out);
		return;
	}
	printf("%s", out);      /* what the install did, if anything */
	free(out);
	p.mqtt_port = bl_free_port();
	p.smtp1_port = bl_free_port();
	p.smtp2_port = bl_free_port();
	if (bl_sh(&out, "'%s' setup '%s' '%s' '%s' %d %d %d 2>&1", p.script, b->env.src,
	        b->env.ca_dir, p.dir, p.mqtt_port, p.smtp1_port, p.smtp2_port) != 0) {
		script_failed(b, out);
		return;
	}
	free(out);
	version(b, "peers_mosquitto_version", "/usr/sbin/mosquitto -h 2>&1 | sed -n 's/^mosquitto "
	                                      "version //p'");
	version(b, "peers_postfix_version", "/usr/sbin/postconf -dh mail_version 2>/dev/null");
	peers_mosquitto(&p);
	peers_postfix(&p);
}

/* ---- Mosquitto: one broker, one subscriber, one publisher (all with certificates) ---- */

/* The client's half of the command line: TLS 1.3, the bench CA, its own certificate. The
 * broker's certificate names an authority, not 127.0.0.1: --insecure skips the host name
 * check only (the chain is still verified against the CA). */
static void
mqtt_client_argv(const struct peers *p, char *argv[], int *n, char port[8], char ca[720],
    char crt[760], char key[760], const char *id)
{
	snprintf(port, 8, "%d", p->mqtt_port);
	snprintf(ca, 720, "%s/ca.crt", p->b->env.ca_dir);
	snprintf(crt, 760, "%s/certs/%s.crt", p->dir, id);
	snprintf(key, 760, "%s/certs/%s.key", p->dir, id);
	const char *fixed[] = {"-h", "127.0.0.1", "-p", port, "--cafile", ca, "--cert", crt,
	    "--key", key, "--insecure", "--tls-version", "tlsv1.3", "-q", "1", "-t", MQTT_TOPIC};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		argv[(*n)++] = (char *)fixed[i];
}

/* Publishes p->mqtt_n lines through mosquitto_pub -l (libmosquitto pipelines up to its
 * default 20 unacknowledged QoS 1 messages) to a subscriber that exits after as many
 * (-C): the rate from the publisher's start to the subscriber's exit. */
static void
mqtt_measure(struct peers *p, pid_t broker, const char *blog)
{
	struct bench *b = p->b;
	char lines[760], got[760], slog[760], plog[760], cnt[16];
	snprintf(lines, sizeof(lines), "%s/mosquitto/payload", p->dir);
	snprintf(got, sizeof(got), "%s/mosquitto/received", p->dir);
	snprintf(slog, sizeof(slog), "%s/mosquitto/sub.log", p->dir);
	snprintf(plog, sizeof(plog), "%s/mosquitto/pub.log", p->dir);
	snprintf(cnt, sizeof(cnt), "%d", p->mqtt_n);
	if (bl_sh(NULL, "'%s' payload '%s' %d", p->script, lines, p->mqtt_n) != 0) {
		note(b, "mosquitto", "not measured: cannot write %s", lines);
		return;
	}
	char port[8], ca[720], crt[760], key[760], port2[8], ca2[720], crt2[760], key2[760];
	char *sargv[40] = {"/usr/bin/mosquitto_sub"}, *pargv[40] = {"/usr/bin/mosquitto_pub"};
	int sn = 1, pn = 1;
	mqtt_client_argv(p, sargv, &sn, port, ca, crt, key, "DE-PEERS-SUB");
	const char *sub_tail[] = {"-i", "peers-sub", "-C", cnt, "-F", "%m", "-W", "300"};
	for (size_t i = 0; i < sizeof(sub_tail) / sizeof(sub_tail[0]); i++)
		sargv[sn++] = (char *)sub_tail[i];
	mqtt_client_argv(p, pargv, &pn, port2, ca2, crt2, key2, "FR-PEERS-PUB");
	pargv[pn++] = "-i";
	pargv[pn++] = "peers-pub";
	pargv[pn++] = "-l";
	/* The subscriber's stdout (one message id a line) goes to `got`, its errors too. */
	pid_t sub = bl_spawn(sargv, got, -1);
	double t0 = bl_mono_s();
	int sst = -1;
	bool subscribed = false;
	while (!(subscribed = file_has(blog, "peers-sub 1 " MQTT_TOPIC)) &&
	    (sst = bl_wait(sub, 0)) == -1 && bl_mono_s() - t0 < 20)
		bl_sleep_ms(10);
	if (!subscribed) {
		note(b, "mosquitto", "not measured: the subscriber did not subscribe in 20 s (exit %d; "
		     "see %s, %s)", sst, got, blog);
		if (sst == -1)
			bl_stop(sub, SIGTERM);
		return;
	}
	int in = open(lines, O_RDONLY);
	double cpu_b0 = bl_proc_cpu_s(broker), cpu_c0 = cpu_children_s();
	t0 = bl_mono_s();
	pid_t pub = bl_spawn(pargv, plog, in);
	close(in);
	double deadline = 60 + p->mqtt_n / 500.0;
	sst = bl_wait(sub, (int)(deadline * 1000));
	double t1 = bl_mono_s();
	double cpu_broker = bl_proc_cpu_s(broker) - cpu_b0;
	int pst = bl_wait(pub, 30000);
	if (sst == -1)
		bl_stop(sub, SIGTERM);
	if (pst == -1)
		bl_stop(pub, SIGTERM);
	double cpu_clients = cpu_children_s() - cpu_c0;
	/* -F %m prints each message's id on a line of its own; errors are other lines. */
	char *out = NULL;
	bl_sh(&out, "grep -cxE '[0-9]+' '%s' 2>/dev/null", got);
	int received = atoi(out);
	free(out);
	if (sst != 0 || pst != 0 || received != p->mqtt_n) {
		note(b, "mosquitto", "FAILED: %d of %d messages received in %.1f s (subscriber exit %d, "
		     "publisher exit %d)", received, p->mqtt_n, t1 - t0, sst, pst);
		printf("   mosquitto: see %s, %s, %s (BENCH_KEEP=1 keeps them)\n", got, plog, blog);
		return;
	}
	double rate = p->mqtt_n / (t1 - t0);
	bench_setr(b, "peers_mosquitto_msgs_per_s", rate);
	bench_seti(b, "peers_mosquitto_messages", p->mqtt_n);
	bench_setr(b, "peers_mosquitto_broker_cpu_us_per_msg", 1e6 * cpu_broker / p->mqtt_n);
	bench_setr(b, "peers_mosquitto_clients_cpu_us_per_msg", 1e6 * cpu_clients / p->mqtt_n);
	printf("   Mosquitto: %d of %d QoS 1 messages of 1 KiB in %.2f s (publisher start -> "
	       "last received): %.0f msg/s; CPU per message: broker %.1f us, publisher + "
	       "subscriber %.1f us\n", received, p->mqtt_n, t1 - t0, rate,
	    1e6 * cpu_broker / p->mqtt_n, 1e6 * cpu_clients / p->mqtt_n);
}

static void
peers_mosquitto(struct peers *p)
{
	char conf[760], blog[760];
	snprintf(conf, sizeof(conf), "%s/mosquitto/mosquitto.conf", p->dir);
	snprintf(blog, sizeof(blog), "%s/mosquitto/broker.log", p->dir);
	char *argv[] = {"/usr/sbin/mosquitto", "-c", conf, NULL};
	pid_t broker = bl_spawn(argv, blog, -1);
	if (!wait_port(p->mqtt_port, broker, 20))
		note(p->b, "mosquitto", "not measured: the broker did not listen on 127.0.0.1:%d in 20 s "
		     "(see %s)", p->mqtt_port, blog);
	else
		mqtt_measure(p, broker, blog);
	bl_stop(broker, SIGTERM);
}

/* ---- Postfix: pf1 relays for dest.test to pf2, which delivers to a maildir ---- */

/* SIGTERM to the master (it stops its daemons), then SIGKILL to whatever of its session
 * is left, each by pid, until none is left (10 s at most: then it says so). */
static void
pf_stop(pid_t master)
{
	if (master <= 0)
		return;
	bl_stop(master, SIGTERM);
	int left = 1;
	for (double t0 = bl_mono_s(); left > 0 && bl_mono_s() - t0 < 10; bl_sleep_ms(20)) {
		left = 0;
		session_walk(master, true, &left);
	}
	if (left > 0)
		printf("   WARNING: %d processes of the Postfix session %d still there after 10 s\n",
		    left, (int)master);
}

/* master -d (foreground) in a session of its own, so that its process group holds only
 * Postfix and every process of it can be found again by the session id (its pid). */
static pid_t
pf_start(const struct peers *p, const char *name, int port)
{
	char etc[760], log[760];
	snprintf(etc, sizeof(etc), "%s/%s/etc", p->dir, name);
	snprintf(log, sizeof(log), "%s/%s/master.out", p->dir, name);
	char *argv[] = {"/usr/bin/setsid", "/usr/lib/postfix/sbin/master", "-d", "-c", etc, NULL};
	pid_t pid = bl_spawn(argv, log, -1);
	if (!wait_port(port, pid, 20)) {
		note(p->b, "postfix", "not measured: %s did not listen on 127.0.0.1:%d in 20 s (see %s, "
		     "%s/%s/maillog)", name, port, log, p->dir, name);
		pf_stop(pid);
		return 0;
	}
	return pid;
}


static void
pf_measure(struct peers *p, pid_t pf1, pid_t pf2)
{
	struct bench *b = p->b;
	char box[760], slog[760], target[32], count[16];
	snprintf(box, sizeof(box), "%s/pf2/mail/box/new", p->dir);
	snprintf(slog, sizeof(slog), "%s/smtp-source.log", p->dir);
	snprintf(target, sizeof(target), "127.0.0.1:%d", p->smtp1_port);
	snprintf(count, sizeof(count), "%d", p->smtp_n);
	char *argv[] = {"/usr/sbin/smtp-source", "-4", "-d", "-s", SMTP_SESSIONS, "-m", count,
	    "-l", "1024", "-M", "peers.test", "-f", "bench@src.test", "-t", "box@dest.test",
	    target, NULL};
	double cpu0 = session_walk(pf1, false, NULL) + session_walk(pf2, false, NULL);
	double cpu_c0 = cpu_children_s();
	double t0 = bl_mono_s(), t_inj = 0, deadline = 60 + p->smtp_n / 20.0;
	pid_t src = bl_spawn(argv, slog, -1);
	int st = -1, got = 0;
	while ((got = dir_entries(box)) < p->smtp_n && bl_mono_s() - t0 < deadline) {
		if (st == -1 && (st = bl_wait(src, 0)) >= 0)
			t_inj = bl_mono_s() - t0;
		if (st > 0)
			break;
		bl_sleep_ms(10);
	}
	double t1 = bl_mono_s() - t0;
	double cpu = session_walk(pf1, false, NULL) + session_walk(pf2, false, NULL) - cpu0;
	if (st == -1 && (st = bl_wait(src, 10000)) >= 0 && t_inj == 0)
		t_inj = bl_mono_s() - t0;
	if (st == -1)
		bl_stop(src, SIGTERM);
	double cpu_src = cpu_children_s() - cpu_c0;
	char log1[760], log2[760];
	snprintf(log1, sizeof(log1), "%s/pf1/maillog", p->dir);
	snprintf(log2, sizeof(log2), "%s/pf2/maillog", p->dir);
	if (st != 0 || got != p->smtp_n) {
		note(b, "postfix", "FAILED: %d of %d messages delivered at pf2 in %.1f s (smtp-source "
		     "exit %d)", got, p->smtp_n, t1, st);
		printf("   postfix: see %s, %s, %s (BENCH_KEEP=1 keeps them)\n", slog, log1, log2);
		return;
	}
	double rate = p->smtp_n / t1;
	int verified = file_count(log1, "Verified TLS connection established");
	int trusted = file_count(log2, "Trusted TLS connection established");
	bench_setr(b, "peers_postfix_msgs_per_s", rate);
	bench_seti(b, "peers_postfix_messages", p->smtp_n);
	bench_setr(b, "peers_postfix_inject_msgs_per_s", t_inj > 0 ? p->smtp_n / t_inj : 0);
	bench_setr(b, "peers_postfix_cpu_us_per_msg", 1e6 * cpu / p->smtp_n);
	bench_seti(b, "peers_postfix_tls_connections", verified);
	printf("   Postfix: %d of %d messages of 1 KiB in %.2f s (first injection into pf1 -> "
	       "last in pf2's maildir): %.0f msg/s; injection alone %.0f msg/s (smtp-source, %s "
	       "sessions)\n", got, p->smtp_n, t1, rate, t_inj > 0 ? p->smtp_n / t_inj : 0,
	    SMTP_SESSIONS);
	printf("   Postfix: CPU per message, both instances %.1f us, smtp-source %.1f us; "
	       "%d TLS connections pf1 -> pf2, 'Verified' (server certificate) at pf1, %d "
	       "'Trusted' (client certificate) at pf2\n", 1e6 * cpu / p->smtp_n,
	    1e6 * cpu_src / p->smtp_n, verified, trusted);
}

static void
peers_postfix(struct peers *p)
{
	/* The daemons a master leaves behind as it exits become the bench's to reap. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pid_t pf2 = pf_start(p, "pf2", p->smtp2_port);
	pid_t pf1 = pf2 > 0 ? pf_start(p, "pf1", p->smtp1_port) : 0;
	if (pf1 > 0)
		pf_measure(p, pf1, pf2);
	pf_stop(pf1);
	pf_stop(pf2);
}

/* ---- the table ---- */

void
peers_table(struct bench *b, json_t *arr)
{
	static const struct {
		const char *peer, *figure, *vs, *how;
	} peers[] = {
		{"mosquitto", "peer: Mosquitto QoS 1 mTLS", "throughput / Mosquitto",
		    "Mosquitto 2, QoS 1, mTLS, not durable"},
		{"postfix", "peer: Postfix relay mTLS", "throughput / Postfix",
		    "2 Postfix, SMTP relay, mTLS, fsync"},
	};
	double ours = json_number_value(json_object_get(b->out, "throughput_msgs_per_s"));
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		char key[64], note_key[64], ratio_key[64];
		snprintf(key, sizeof(key), "peers_%s_msgs_per_s", peers[i].peer);
		snprintf(note_key, sizeof(note_key), "peers_%s_note", peers[i].peer);
		snprintf(ratio_key, sizeof(ratio_key), "peers_ratio_%s", peers[i].peer);
		double theirs = json_number_value(json_object_get(b->out, key));
		const char *why = json_string_value(json_object_get(b->out, note_key));
		if (theirs > 0 && ours > 0)
			bench_setr(b, ratio_key, ours / theirs);
		struct bench_row own = {peers[i].figure, key, "msg/s", "-", 0, theirs > 0 ? NULL : why};
		struct bench_row vs = {peers[i].vs, "throughput_msgs_per_s", "msg/s", "-", theirs,
		    theirs > 0 ? peers[i].how : why};
		bench_table_row(b, arr, &own);
		bench_table_row(b, arr, &vs);
	}
}
