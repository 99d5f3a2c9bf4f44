/*
 * 04-crl: revocation between real daemons, with certificates and CRLs made at test time
 * (rogatory-pki, and `openssl ca -gencrl` for expired and not-yet-valid windows). A
 * revoked peer is refused at the handshake; a CRL given to one daemon reaches the others
 * over links and closes the revoked peer's links; bad CRLs are refused; the highest CRL
 * survives a restart; an expired CRL everywhere is repaired through CRL-only links.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "support.h"

static const char *const ids3[] = {"BD-ACC", "FR-MJ", "UA-PGO"};

static void
all_use_crl(struct tnet *t, const char *path)
{
	for (int i = 0; i < t->n; i++)
		tnet_use_crl(t, i, path);
}

static void
ctl_ok(struct tnet *t, int i, const char *args)
{
	free(tnet_ctl_ok(t, i, args));
}

/* rogatoryctl crl install PATH on node i: its exit status, output in *out. */
static int
install(struct tnet *t, int i, const char *path, char **out)
{
	char args[4200];
	snprintf(args, sizeof(args), "crl install '%s'", path);
	return tnet_ctl(t, i, out, args);
}

static void
assert_status_has(struct tnet *t, int i, const char *needle)
{
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, i, &out, "status"), 0, "%s", out);
	cr_assert(strstr(out, needle) != NULL, "no \"%s\" in the status of %s:\n%s", needle,
	    t->node[i].id, out);
	free(out);
}

static void
wait_log(struct tnet *t, int i, const char *needle, int ms)
{
	cr_assert(tnet_wait_log(t, i, needle, ms), "no \"%s\" in the log of %s", needle,
	    t->node[i].id);
}

Test(crl, revoked_peer_refused_at_handshake, .timeout = 60)
{
	struct tnet *t = tnet_new("crl-revoked", ids3, 2);
	tnet_revoke(t, 1);
	all_use_crl(t, tnet_crl(t, "one", 24));
	tnet_start(t, 0);
	tnet_start(t, 1);
	assert_status_has(t, 0, "crl            number 1, next update ");
	/* Dialing: BD-ACC refuses FR-MJ's server certificate. */
	ctl_ok(t, 0, "connect FR-MJ");
	wait_log(t, 0, "certificate refused: certificate revoked (listed in the network CA's "
	               "CRL), subject CN=FR-MJ", 5000);
	/* Accepting: BD-ACC refuses FR-MJ's client certificate; FR-MJ hears why. */
	ctl_ok(t, 1, "connect BD-ACC");
	wait_log(t, 1, "the peer refused our certificate", 5000);
	cr_assert(tnet_wait_log(t, 0, "refused connection from 127.0.0.1", 5000));
	cr_assert_geq(tnet_log_count(t, 0, "certificate revoked"), 2);
	cr_assert_eq(tnet_log_count(t, 0, "link to FR-MJ: up"), 0);
	cr_assert_eq(tnet_log_count(t, 0, "link from FR-MJ: up"), 0);
	tnet_free(t);
}

Test(crl, revocation_reaches_peer_and_closes_links, .timeout = 90)
{
	struct tnet *t = tnet_new("crl-spread", ids3, 3);
	all_use_crl(t, tnet_crl(t, "one", 24));
	for (int i = 0; i < 3; i++)
		tnet_start(t, i);
	ctl_ok(t, 0, "connect FR-MJ");
	ctl_ok(t, 0, "connect UA-PGO");
	ctl_ok(t, 1, "connect UA-PGO");
	wait_log(t, 0, "link to FR-MJ: up", 5000);
	wait_log(t, 0, "link to UA-PGO: up", 5000);
	wait_log(t, 1, "link to UA-PGO: up", 5000);
	/* UA-PGO is revoked; only BD-ACC is told, FR-MJ hears it over its link. */
	tnet_revoke(t, 2);
	const char *two = tnet_crl(t, "two", 24);
	char *out = NULL;
	cr_assert_eq(install(t, 0, two, &out), 0, "%s", out);
	cr_assert(strstr(out, "adopted") != NULL && strstr(out, "number 2") != NULL, "%s", out);
	free(out);
	wait_log(t, 0, "adopted CRL number 2 from rogatoryctl", 5000);
	wait_log(t, 0, "link to UA-PGO closed", 5000);
	wait_log(t, 1, "adopted CRL number 2 from peer BD-ACC", 5000);
	wait_log(t, 1, "link to UA-PGO closed", 5000);
	cr_assert_geq(tnet_log_count(t, 1, "certificate revoked (serial "), 1);
	/* The revoked side learns why, on both of its links. */
	wait_log(t, 2, "peer sent error certificate: certificate revoked", 5000);
	cr_assert(ts_wait_file_contains(t->node[2].log, "link from FR-MJ closed", 5000));
	assert_status_has(t, 1, "crl            number 2,");
	/* The link between the two others stays. */
	cr_assert_eq(tnet_log_count(t, 0, "link to FR-MJ closed"), 0);
	tnet_free(t);
}

Test(crl, bad_crls_refused, .timeout = 60)
{
	struct tnet *t = tnet_new("crl-bad", ids3, 1);
	const char *one = tnet_crl(t, "one", 24);
	all_use_crl(t, tnet_crl(t, "two", 24));
	tnet_start(t, 0);
	static const struct {
		const char *name;
		const char *reply;
		const char *log;
	} cases[] = {
		{"lower", "crl-not-newer", "CRL number 1 from rogatoryctl is lower than ours (2)"},
		{"notyet", "crl-refused", "refused CRL number 3 from rogatoryctl: not yet valid"},
		{"expired", "crl-refused", "refused CRL number 4 from rogatoryctl: expired"},
		{"foreign", "crl-refused", "refused CRL from rogatoryctl: signature does not verify "
		                          "with the network CA's key"},
	};
	const char *paths[] = {one, tnet_crl_window(t, "notyet", 3600, 7200),
	    tnet_crl_window(t, "expired", -7200, -3600), tnet_crl_foreign(t, "foreign")};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		cr_assert_eq(install(t, 0, paths[i], &out), 1, "%s accepted: %s", cases[i].name, out);
		cr_assert(strstr(out, cases[i].reply) != NULL, "%s: %s", cases[i].name, out);
		free(out);
		wait_log(t, 0, cases[i].log, 5000);
	}
	/* Not a CRL at all: the ctl says so and sends nothing. */
	char *out = NULL;
	cr_assert_eq(install(t, 0, t->node[0].cert, &out), 2, "%s", out);
	cr_assert(strstr(out, "holds no X.509 CRL") != NULL, "%s", out);
	free(out);
	assert_status_has(t, 0, "crl            number 2,");
	tnet_free(t);
}

Test(crl, highest_crl_survives_reload_and_restart, .timeout = 60)
{
	struct tnet *t = tnet_new("crl-restart", ids3, 1);
	all_use_crl(t, tnet_crl(t, "one", 24));
	const char *two = tnet_crl(t, "two", 24);
	tnet_start(t, 0);
	char *out = NULL;
	cr_assert_eq(install(t, 0, two, &out), 0, "%s", out);
	free(out);
	kill(t->node[0].pid, SIGHUP);
	wait_log(t, 0, "reload: done", 5000);
	wait_log(t, 0, "is lower than ours (2)", 1000);
	assert_status_has(t, 0, "crl            number 2,");
	cr_assert_eq(tnet_stop(t, 0, SIGTERM), 0);
	char state[4200];
	snprintf(state, sizeof(state), "%s/state/crl.der", t->node[0].home);
	struct stat st;
	cr_assert_eq(stat(state, &st), 0, "no %s", state);
	cr_assert_eq(st.st_mode & 0777, 0600);
	tnet_start(t, 0);
	assert_status_has(t, 0, "crl            number 2,");
	cr_assert_eq(tnet_ctl(t, 0, &out, "status --json"), 0, "%s", out);
	cr_assert(strstr(out, "\"number\": 2") != NULL, "%s", out);
	cr_assert(strstr(out, "\"expired\": false") != NULL, "%s", out);
	cr_assert(strstr(out, "crl.der") != NULL, "source: %s", out);
	free(out);
	tnet_free(t);
}

Test(crl, reload_with_newer_file_spreads, .timeout = 60)
{
	struct tnet *t = tnet_new("crl-reload", ids3, 2);
	char file[4200];
	snprintf(file, sizeof(file), "%s/operator-crl.pem", t->dir);
	char *out = NULL;
	cr_assert_eq(ts_sh(&out, "cp '%s' '%s'", tnet_crl(t, "one", 24), file), 0, "%s", out);
	free(out);
	all_use_crl(t, file);
	tnet_start(t, 0);
	tnet_start(t, 1);
	ctl_ok(t, 1, "connect BD-ACC");
	wait_log(t, 1, "link to BD-ACC: up", 5000);
	cr_assert_eq(ts_sh(&out, "cp '%s' '%s'", tnet_crl(t, "two", 24), file), 0, "%s", out);
	free(out);
	kill(t->node[0].pid, SIGHUP);
	wait_log(t, 0, "adopted CRL number 2 from file", 5000);
	wait_log(t, 1, "adopted CRL number 2 from peer BD-ACC", 5000);
	tnet_free(t);
}

Test(crl, expired_everywhere_fresh_crl_spreads, .timeout = 120)
{
	struct tnet *t = tnet_new("crl-expired", ids3, 3);
	all_use_crl(t, tnet_crl_window(t, "old", -2 * 86400, -86400));
	for (int i = 0; i < 3; i++) {
		tnet_start(t, i);
		wait_log(t, i, "CRL EXPIRED", 1000);
	}
	assert_status_has(t, 0, "EXPIRED");
	/* Expired on both sides: a CRL-only link with nothing to exchange, never up. */
	ctl_ok(t, 0, "connect FR-MJ");
	wait_log(t, 0, "CRL-only link to FR-MJ", 5000);
	wait_log(t, 0, "CRL-only link to FR-MJ closed", 5000);
	cr_assert_eq(tnet_log_count(t, 0, "link to FR-MJ: up"), 0);
	/* A fresh CRL for BD-ACC alone reaches the others through CRL-only links. */
	char *out = NULL;
	cr_assert_eq(install(t, 0, tnet_crl(t, "fresh", 24), &out), 0, "%s", out);
	free(out);
	wait_log(t, 0, "adopted CRL number 2 from rogatoryctl", 5000);
	wait_log(t, 1, "adopted CRL number 2 from peer", 10000);
	wait_log(t, 2, "adopted CRL number 2 from peer", 10000);
	cr_assert_geq(tnet_log_count(t, 1, "CRL-only link") + tnet_log_count(t, 2, "CRL-only link"),
	    1);
	/* Normal links come back: each dialed every authority once on adoption. */
	wait_log(t, 1, "link to BD-ACC: up", 10000);
	wait_log(t, 2, "link to BD-ACC: up", 10000);
	wait_log(t, 0, "link from FR-MJ: up", 10000);
	wait_log(t, 0, "link from UA-PGO: up", 10000);
	char *st = NULL;
	cr_assert_eq(tnet_ctl(t, 2, &st, "status"), 0, "%s", st);
	cr_assert(strstr(st, "crl            number 2,") != NULL && strstr(st, "EXPIRED") == NULL,
	    "%s", st);
	free(st);
	tnet_free(t);
}

Test(crl, crl_only_link_carries_no_transfer, .timeout = 60)
{
	struct tnet *t = tnet_new("crl-only", ids3, 2);
	all_use_crl(t, tnet_crl_window(t, "old", -2 * 86400, -86400));
	char *out = NULL;
	cr_assert_eq(ts_sh(&out, "'%s' -n -c '%s'", ts_build_path("rogatoryd"), t->node[0].conf), 0,
	    "%s", out);
	cr_assert(strstr(out, "(number 1) expired at") != NULL, "%s", out);
	cr_assert(strstr(out, "configuration OK") != NULL, "%s", out);
	free(out);
	tnet_start(t, 0);
	/* FR-MJ announces a newer CRL, so BD-ACC waits for it; a Transfer comes instead. */
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --cert '%s' --key '%s' --ca '%s' "
	                        "--hello-id FR-MJ --crl-number 99 --after-hello transfer "
	                        "--wait-ms 1500",
	    t->node[0].port, t->node[1].cert, t->node[1].key, t->ca);
	cr_assert(strstr(out, "recv hello id=BD-ACC") != NULL, "%s", out);
	cr_assert(strstr(out, "recv error code=crl-only") != NULL, "%s", out);
	cr_assert(strstr(out, "recv frame type=4") == NULL, "a receipt on a CRL-only link:\n%s",
	    out);
	free(out);
	wait_log(t, 0, "CRL-only link from FR-MJ", 5000);
	wait_log(t, 0, "frame type 2 refused", 5000);
	wait_log(t, 0, "CRL-only link from FR-MJ closed", 5000);
	/* Nothing newer announced: closed at once, cleanly. */
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --cert '%s' --key '%s' --ca '%s' "
	                        "--hello-id FR-MJ --wait-ms 1500",
	    t->node[0].port, t->node[1].cert, t->node[1].key, t->ca);
	cr_assert(strstr(out, "close_notify") != NULL, "%s", out);
	free(out);
	wait_log(t, 0, "CRL exchange done (nothing newer to receive)", 5000);
	assert_status_has(t, 0, "links          0 up");
	tnet_free(t);
}

Test(crl, unset_warns, .timeout = 60)
{
	struct tnet *t = tnet_new("crl-unset", ids3, 1);
	char *out = NULL;
	cr_assert_eq(ts_sh(&out, "'%s' -n -c '%s'", ts_build_path("rogatoryd"), t->node[0].conf), 0,
	    "%s", out);
	cr_assert(strstr(out, "warning: revocation is off: [tls] crl is not set") != NULL, "%s",
	    out);
	cr_assert(strstr(out, "configuration OK") != NULL, "%s", out);
	free(out);
	tnet_start(t, 0);
	wait_log(t, 0, "revocation is off: [tls] crl is not set", 1000);
	assert_status_has(t, 0, "crl            none: revocation is off");
	cr_assert_eq(install(t, 0, tnet_crl(t, "one", 24), &out), 1, "%s", out);
	cr_assert(strstr(out, "revocation-off") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}

Test(crl, check_refuses_crl_of_another_ca, .timeout = 60)
{
	struct tnet *t = tnet_new("crl-check", ids3, 1);
	all_use_crl(t, tnet_crl_foreign(t, "foreign"));
	char *out = NULL;
	cr_assert_eq(ts_sh(&out, "'%s' -n -c '%s'", ts_build_path("rogatoryd"), t->node[0].conf), 1,
	    "%s", out);
	cr_assert(strstr(out, "[tls] crl: CRL ") != NULL, "%s", out);
	cr_assert(strstr(out, "signature does not verify") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}
