/*
 * 03-links: mutually authenticated TLS 1.3 links between real daemons on 127.0.0.1,
 * with certificates made at test time. Each refusal test asserts the reason in the
 * daemon's log and that the daemon still serves a legitimate peer afterwards.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "support.h"

static const char *const ids3[] = {"BD-ACC", "FR-MJ", "UA-PGO"};

/* A legitimate peer (FR-MJ's own credentials) still gets a full Hello exchange. */
static void
assert_serves_legitimate(struct tnet *t)
{
	char *out = NULL;
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --cert '%s' --key '%s' --ca '%s' "
	                        "--hello-id FR-MJ --after-hello ping --until pong --wait-ms 10000",
	    t->node[0].port, t->node[1].cert, t->node[1].key, t->ca);
	cr_assert(strstr(out, "recv hello id=BD-ACC") != NULL, "no Hello from BD-ACC:\n%s", out);
	cr_assert(strstr(out, "recv pong nonce=42") != NULL, "no Pong:\n%s", out);
	free(out);
}

static struct tnet *
start_a(const char *tag)
{
	struct tnet *t = tnet_new(tag, ids3, 3);
	tnet_start(t, 0);
	return t;
}

Test(links, happy_path_both_directions, .timeout = 60)
{
	struct tnet *t = tnet_new("links-happy", ids3, 2);
	tnet_opt(t, 0, "network.dead_after=2s");
	tnet_opt(t, 1, "network.dead_after=2s");
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "connect FR-MJ"), 0, "%s", out);
	free(out);
	cr_assert(tnet_wait_log(t, 0, "link to FR-MJ: up", 5000));
	cr_assert(tnet_wait_log(t, 1, "link from BD-ACC: up", 5000));
	cr_assert_eq(tnet_ctl(t, 1, &out, "connect BD-ACC"), 0, "%s", out);
	free(out);
	cr_assert(tnet_wait_log(t, 1, "link to BD-ACC: up", 5000));
	cr_assert(tnet_wait_log(t, 0, "link from FR-MJ: up", 5000));
	cr_assert_eq(tnet_ctl(t, 0, &out, "peers --json"), 0, "%s", out);
	cr_assert(strstr(out, "\"state\": \"up\"") != NULL, "%s", out);
	cr_assert(strstr(out, "\"links_up\": 2") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "status"), 0, "%s", out);
	cr_assert(strstr(out, "authority      BD-ACC") != NULL, "%s", out);
	cr_assert(strstr(out, "2 up") != NULL, "%s", out);
	free(out);
	/* Keepalive (1 s) holds idle links past dead_after (2 s). Deliberate, not a
	 * synchronisation: twice dead_after must pass, in which a link without keepalive
	 * would be closed. */
	sleep(4);
	cr_assert_eq(tnet_log_count(t, 0, "nothing received"), 0);
	cr_assert_eq(tnet_log_count(t, 1, "nothing received"), 0);
	cr_assert_eq(tnet_ctl(t, 0, &out, "peers --json"), 0, "%s", out);
	cr_assert(strstr(out, "\"links_up\": 2") != NULL, "links closed: %s", out);
	free(out);
	cr_assert_eq(tnet_stop(t, 0, SIGTERM), 0);
	cr_assert(tnet_wait_log(t, 1, "closed", 5000));
	tnet_free(t);
}

Test(links, no_client_certificate, .timeout = 60)
{
	struct tnet *t = start_a("links-nocert");
	char *out = NULL;
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --ca '%s' --wait-ms 1000", t->node[0].port,
	    t->ca);
	free(out);
	cr_assert(tnet_wait_log(t, 0, "no client certificate", 5000));
	assert_serves_legitimate(t);
	tnet_free(t);
}

static void
refused_with(const char *tag, const char *kind, const char *needle)
{
	struct tnet *t = start_a(tag);
	const char *dir = tnet_deviant(t, kind, "FR-MJ");
	char *out = NULL;
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --cert '%s/FR-MJ.crt' --key '%s/FR-MJ.key' "
	                        "--ca '%s' --hello-id FR-MJ --wait-ms 1000",
	    t->node[0].port, dir, dir, t->ca);
	cr_assert(strstr(out, "recv hello") == NULL, "the daemon said Hello to a %s peer:\n%s",
	    kind, out);
	free(out);
	cr_assert(tnet_wait_log(t, 0, needle, 5000), "no \"%s\" in the log", needle);
	assert_serves_legitimate(t);
	tnet_free(t);
}

Test(links, certificate_from_another_ca, .timeout = 60)
{
	refused_with("links-foreign", "foreignca", "(unknown CA)");
}

Test(links, expired_certificate, .timeout = 60)
{
	refused_with("links-expired", "expired", "(expired)");
}

Test(links, not_yet_valid_certificate, .timeout = 60)
{
	refused_with("links-notyet", "notyet", "(not yet valid)");
}

Test(links, certificate_without_san_uri, .timeout = 60)
{
	refused_with("links-nosan", "nosan", "no subjectAltName");
}

Test(links, certificate_with_two_uris, .timeout = 60)
{
	refused_with("links-twouri", "twouri", "URI");
}

Test(links, authority_not_in_directory, .timeout = 60)
{
	struct tnet *t = start_a("links-unknown");
	const char *dir = tnet_issue_extra(t, "DE-BMJ");
	char *out = NULL;
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --cert '%s/DE-BMJ.crt' --key '%s/DE-BMJ.key' "
	                        "--ca '%s' --hello-id DE-BMJ --wait-ms 1000",
	    t->node[0].port, dir, dir, t->ca);
	cr_assert(strstr(out, "recv error code=unknown-authority") != NULL, "%s", out);
	free(out);
	cr_assert(tnet_wait_log(t, 0, "unknown authority: DE-BMJ is not in our directory", 5000));
	assert_serves_legitimate(t);
	tnet_free(t);
}

Test(links, wrong_identity_when_dialing, .timeout = 60)
{
	/* BD-ACC's directory says FR-MJ listens on FR-MJ's port, but UA-PGO's certificate
	 * answers there. BD-ACC must refuse it and write no application byte. */
	struct tnet *t = start_a("links-wrongid");
	char *out = NULL;
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "'%s' listen %d --cert '%s' --key '%s' --ca '%s' --wait-ms 3000",
	    tnet_fakepeer(), t->node[1].port, t->node[2].cert, t->node[2].key, t->ca);
	char logp[4096];
	snprintf(logp, sizeof(logp), "%s/impostor.out", t->dir);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	pid_t imp = ts_spawn(argv, logp);
	cr_assert(ts_wait_file_contains(logp, "listening", 5000));
	cr_assert_eq(tnet_ctl(t, 0, &out, "connect FR-MJ"), 0, "%s", out);
	free(out);
	cr_assert(tnet_wait_log(t, 0, "wrong identity: dialed FR-MJ, certificate names UA-PGO", 5000));
	cr_assert_eq(ts_wait_exit(imp, 10000), 0);
	char *imp_out = ts_read_file(logp, NULL);
	cr_assert(strstr(imp_out, "tls-ok") != NULL, "%s", imp_out);
	cr_assert(strstr(imp_out, "app-bytes 0") != NULL, "impostor got bytes:\n%s", imp_out);
	free(imp_out);
	assert_serves_legitimate(t);
	tnet_free(t);
}

Test(links, tls12_refused, .timeout = 60)
{
	struct tnet *t = start_a("links-tls12");
	char *out = NULL;
	ts_sh(&out, "openssl s_client -connect 127.0.0.1:%d -tls1_2 -cert '%s' -key '%s' "
	            "-CAfile '%s' </dev/null",
	    t->node[0].port, t->node[1].cert, t->node[1].key, t->ca);
	free(out);
	cr_assert(tnet_wait_log(t, 0, "TLS version refused (TLS 1.3 only)", 5000));
	assert_serves_legitimate(t);
	tnet_free(t);
}

Test(links, plaintext_refused, .timeout = 60)
{
	struct tnet *t = start_a("links-plain");
	char *out = NULL;
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --plain --send-text 'GET / HTTP/1.0\r\n\r\n' "
	                        "--wait-ms 1000",
	    t->node[0].port);
	free(out);
	cr_assert(tnet_wait_log(t, 0, "not TLS (plaintext or garbage)", 5000));
	assert_serves_legitimate(t);
	tnet_free(t);
}

Test(links, silent_client_times_out, .timeout = 60)
{
	struct tnet *t = tnet_new("links-silent", ids3, 2);
	tnet_opt(t, 0, "network.handshake_timeout=1s");
	tnet_start(t, 0);
	char *out = NULL;
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --plain --wait-ms 3000", t->node[0].port);
	cr_assert(strstr(out, "closed by daemon") != NULL, "%s", out);
	free(out);
	cr_assert(tnet_wait_log(t, 0, "TLS handshake not completed within handshake_timeout", 5000));
	assert_serves_legitimate(t);
	tnet_free(t);
}

static void
bad_after_tls(const char *tag, const char *args, const char *peer_needle, const char *log_needle)
{
	struct tnet *t = start_a(tag);
	char *out = NULL;
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --cert '%s' --key '%s' --ca '%s' %s "
	                        "--wait-ms 1500",
	    t->node[0].port, t->node[1].cert, t->node[1].key, t->ca, args);
	if (peer_needle != NULL)
		cr_assert(strstr(out, peer_needle) != NULL, "no \"%s\" from the daemon:\n%s",
		    peer_needle, out);
	free(out);
	cr_assert(tnet_wait_log(t, 0, log_needle, 5000), "no \"%s\" in the log", log_needle);
	assert_serves_legitimate(t);
	tnet_free(t);
}

Test(links, frame_length_over_maximum, .timeout = 60)
{
	bad_after_tls("links-oversize", "--hello-id FR-MJ --after-hello oversize",
	    "recv error code=frame-too-large", "exceeds the limit");
}

Test(links, garbage_after_handshake, .timeout = 60)
{
	bad_after_tls("links-garbage", "--hello-id FR-MJ --after-hello garbage",
	    "recv error code=bad-frame", "bad frame");
}

/* A Chunk is taken from the link's buffer in place (no decode of the whole frame): one
 * for a message no Transfer announced still closes the link with its reason, and the
 * daemon serves others. */
Test(links, chunk_without_its_transfer, .timeout = 60)
{
	bad_after_tls("links-chunk", "--hello-id FR-MJ --after-hello chunk",
	    "recv error code=protocol", "chunk for message 6b1c9d2e-4f3a-4b5c-8d6e-7f8091a2b3c4 "
	    "without its transfer");
}

Test(links, hello_with_wrong_id, .timeout = 60)
{
	bad_after_tls("links-helloid", "--hello-id UA-PGO", "recv error code=wrong-identity",
	    "bad hello: names UA-PGO but the certificate names FR-MJ");
}

Test(links, hello_without_common_version, .timeout = 60)
{
	bad_after_tls("links-version", "--hello-id FR-MJ --versions 4:5",
	    "recv error code=no-common-version", "no common version: peer speaks 4..5");
}

Test(links, reload_removing_peer_closes_link, .timeout = 60)
{
	struct tnet *t = tnet_new("links-reload", ids3, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "connect FR-MJ"), 0, "%s", out);
	free(out);
	cr_assert(tnet_wait_log(t, 0, "link to FR-MJ: up", 5000));
	tnet_write_directory(t, 1u << 0);
	kill(t->node[0].pid, SIGHUP);
	cr_assert(tnet_wait_log(t, 0, "FR-MJ was removed from the directory", 5000));
	cr_assert(tnet_wait_log(t, 0, "link to FR-MJ closed", 5000));
	cr_assert(tnet_wait_log(t, 1, "link from BD-ACC closed", 5000));
	cr_assert_eq(tnet_ctl(t, 0, &out, "peers --json"), 0, "%s", out);
	cr_assert(strstr(out, "FR-MJ") == NULL, "%s", out);
	free(out);
	tnet_free(t);
}

/* A listener on node i's port that takes TCP connections and never answers TLS. */
static int
silent_listener(struct tnet *t, int i)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(s >= 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)t->node[i].port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind %d", t->node[i].port);
	cr_assert(listen(s, 16) == 0);
	return s;
}

/* Node 0 dials node 1's port, held by a silent listener: returns once node 0's
 * ClientHello has arrived, so its link is in the middle of the TLS handshake. */
static int
dial_into_silence(struct tnet *t, int ls)
{
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "connect FR-MJ"), 0, "%s", out);
	free(out);
	struct pollfd pfd = {.fd = ls, .events = POLLIN};
	cr_assert(poll(&pfd, 1, 5000) == 1, "BD-ACC did not dial");
	int c = accept(ls, NULL, NULL);
	cr_assert(c >= 0);
	pfd.fd = c;
	cr_assert(poll(&pfd, 1, 5000) == 1, "no ClientHello");
	return c;
}

/* Shutdown closes a dial that has nothing left to send at once; the peer list it was
 * walking must survive that (a use after free under make asan before the fix). */
Test(links, stop_while_a_dial_is_in_its_handshake, .timeout = 60)
{
	struct tnet *t = tnet_new("links-stopdial", ids3, 2);
	int ls = silent_listener(t, 1);
	tnet_start(t, 0);
	int c = dial_into_silence(t, ls);
	cr_assert_eq(tnet_stop(t, 0, SIGTERM), 0, "rogatoryd did not stop cleanly");
	close(c);
	close(ls);
	tnet_free(t);
}

/* The same while a reload removes the authority being dialed: its peer goes once its
 * last link is closed, after the reload's walk of the list. */
Test(links, reload_removing_a_peer_being_dialed, .timeout = 60)
{
	struct tnet *t = tnet_new("links-reloaddial", ids3, 2);
	int ls = silent_listener(t, 1);
	tnet_start(t, 0);
	int c = dial_into_silence(t, ls);
	tnet_write_directory(t, 1u << 0);
	kill(t->node[0].pid, SIGHUP);
	cr_assert(tnet_wait_log(t, 0, "FR-MJ was removed from the directory", 5000));
	cr_assert(tnet_wait_log(t, 0, "link to FR-MJ (", 5000));
	char *out = NULL;
	for (int waited = 0; waited < 3000; waited += 100) {
		cr_assert_eq(tnet_ctl(t, 0, &out, "peers --json"), 0, "%s", out);
		bool gone = strstr(out, "FR-MJ") == NULL;
		free(out);
		if (gone)
			break;
		usleep(100000);
	}
	cr_assert_eq(tnet_ctl(t, 0, &out, "peers --json"), 0, "%s", out);
	cr_assert(strstr(out, "FR-MJ") == NULL, "FR-MJ still listed:\n%s", out);
	free(out);
	cr_assert_eq(tnet_stop(t, 0, SIGTERM), 0, "rogatoryd did not stop cleanly");
	close(c);
	close(ls);
	tnet_free(t);
}

Test(links, broken_reload_keeps_running_config, .timeout = 60)
{
	struct tnet *t = tnet_new("links-badreload", ids3, 2);
	tnet_start(t, 0);
	tnet_opt(t, 0, "network.keepalive=30");
	kill(t->node[0].pid, SIGHUP);
	cr_assert(tnet_wait_log(t, 0, "reload failed; keeping the running configuration", 5000));
	cr_assert(tnet_wait_log(t, 0, "keepalive", 1000));
	assert_serves_legitimate(t);
	tnet_free(t);
}

Test(links, restart_keeps_port, .timeout = 60)
{
	struct tnet *t = tnet_new("links-restart", ids3, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	cr_assert_eq(tnet_stop(t, 0, SIGKILL), 128 + SIGKILL);
	tnet_start(t, 0);
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 1, &out, "connect BD-ACC"), 0, "%s", out);
	free(out);
	cr_assert(tnet_wait_log(t, 1, "link to BD-ACC: up", 5000));
	tnet_free(t);
}

Test(links, dial_retries_with_backoff_until_peer_starts, .timeout = 60)
{
	struct tnet *t = tnet_new("links-backoff", ids3, 2);
	tnet_start(t, 0);
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "connect FR-MJ"), 0, "%s", out);
	free(out);
	cr_assert(tnet_wait_log(t, 0, "peer FR-MJ: next dial in", 5000));
	cr_assert_eq(tnet_ctl(t, 0, &out, "peers"), 0, "%s", out);
	cr_assert(strstr(out, "Connection refused") != NULL, "%s", out);
	free(out);
	tnet_start(t, 1);
	cr_assert(tnet_wait_log(t, 0, "link to FR-MJ: up", 10000));
	tnet_free(t);
}

/* T23: a peer whose clock is off by more than 60 s is served (the link works) and
 * the skew is logged, naming the peer, for the operator to fix NTP. */
Test(links, clock_skew_is_logged_not_refused, .timeout = 60)
{
	struct tnet *t = start_a("lnk-skew");
	char *out = NULL;
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --cert '%s' --key '%s' --ca '%s' "
	                        "--hello-id FR-MJ --clock-skew-ms 120000 --after-hello ping "
	                        "--until pong --wait-ms 10000",
	    t->node[0].port, t->node[1].cert, t->node[1].key, t->ca);
	cr_assert(strstr(out, "recv pong nonce=42") != NULL, "a skewed peer was not served:\n%s",
	    out);
	free(out);
	cr_assert(tnet_wait_log(t, 0, "clock of FR-MJ differs from ours by +1", 3000),
	    "no clock-skew warning");
	tnet_free(t);
}
