/*
 * 18-alerts: each alert of the table raised by a real condition on real daemons, with
 * [alerts] durations in seconds: it fires once (one "alert" event with its name, one
 * warning) however many checks see it, `rogatoryctl alerts` and the metrics list it, and
 * it clears once when the condition ends; an alert active at a restart stays active
 * without a second event, and clears at the first check once it is over. Certificates
 * expiring (a 1-day certificate, then a renewal), a CRL in its last quarter (then a
 * fresh one), an authority down, messages stuck, the store above its percentage.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "ops.h"
#include "support.h"
#include "traffic.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

/* Checks every 200 ms (the debug log counts them). */
static void
fast_checks(struct tnet *t, int i)
{
	tnet_opt(t, i, "alerts.interval=200ms");
}

/* Waits until node i has run `more` further checks: whatever was to fire has fired. */
static void
wait_checks(struct tnet *t, int i, int more)
{
	int base = tnet_log_count(t, i, "alerts: check ");
	for (int w = 0; w < 15000; w += 50) {
		if (tnet_log_count(t, i, "alerts: check ") >= base + more)
			return;
		usleep(50000);
	}
	cr_assert_fail("node %d ran fewer than %d alert checks in 15 s", i, more);
}

/* The delivery-log lines of node i for alert (event "alert" or "alert-cleared"). */
static int
alert_events(struct tnet *t, int i, const char *event, const char *alert)
{
	char path[4096], needle[128];
	snprintf(path, sizeof(path), "%s/state/delivery.jsonl", t->node[i].home);
	snprintf(needle, sizeof(needle), "\"event\":\"%s\",", event);
	char *buf = ts_read_file(path, NULL);
	int n = 0;
	char alert_field[96];
	snprintf(alert_field, sizeof(alert_field), "\"alert\":\"%s\"", alert);
	for (char *save = NULL, *l = buf ? strtok_r(buf, "\n", &save) : NULL; l != NULL;
	     l = strtok_r(NULL, "\n", &save))
		n += strstr(l, needle) != NULL && strstr(l, alert_field) != NULL;
	free(buf);
	return n;
}

static bool
wait_alert_event(struct tnet *t, int i, const char *event, const char *alert, int ms)
{
	for (int w = 0; w < ms; w += 50) {
		if (alert_events(t, i, event, alert) > 0)
			return true;
		usleep(50000);
	}
	return false;
}

/* Fired once, then `checks` more checks: still once. */
static void
fires_once(struct tnet *t, int i, const char *alert)
{
	cr_assert(wait_alert_event(t, i, "alert", alert, 15000), "%s never fired", alert);
	wait_checks(t, i, 5);
	cr_assert_eq(alert_events(t, i, "alert", alert), 1, "%s fired more than once", alert);
	cr_assert_eq(alert_events(t, i, "alert-cleared", alert), 0);
	char needle[64];
	snprintf(needle, sizeof(needle), "warn: alert %s", alert);
	cr_assert_eq(tnet_log_count(t, i, needle), 1, "%s: warnings", alert);
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, i, &out, "alerts"), 0);
	cr_assert(strstr(out, alert) != NULL, "rogatoryctl alerts: %s", out);
	free(out);
}

static void
clears_once(struct tnet *t, int i, const char *alert)
{
	cr_assert(wait_alert_event(t, i, "alert-cleared", alert, 15000), "%s never cleared",
	    alert);
	wait_checks(t, i, 5);
	cr_assert_eq(alert_events(t, i, "alert-cleared", alert), 1, "%s cleared twice", alert);
	cr_assert_eq(alert_events(t, i, "alert", alert), 1, "%s fired again", alert);
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, i, &out, "alerts"), 0);
	cr_assert(strstr(out, alert) == NULL, "still listed: %s", out);
	free(out);
}

Test(alerts, peer_down_and_stuck_messages, .timeout = 120)
{
	struct tnet *t = tnet_new("alerts-peer", ids2, 2);
	static char mopt[64];
	int mport = ts_free_port();
	snprintf(mopt, sizeof(mopt), "metrics.listen=127.0.0.1:%d", mport);
	fast_checks(t, 0);
	tnet_opt(t, 0, "alerts.peer_down_after=1s");
	tnet_opt(t, 0, "alerts.stuck_after=2s");
	tnet_opt(t, 0, mopt);
	tnet_start(t, 0);
	char *id = tr_send(t, 0, "FR-MJ", "waits for a peer that is down", 0, 0);
	fires_once(t, 0, "peer-down");
	fires_once(t, 0, "messages-stuck");
	char *text = ops_metrics(mport);
	cr_assert_eq(ops_metric(text, "rogatory_alert_active{alert=\"peer-down\",subject="
	    "\"FR-MJ\"}"), 1, "%s", text);
	free(text);
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "--json alerts"), 0);
	cr_assert(strstr(out, "\"alert\": \"messages-stuck\"") && strstr(out, "\"subject\": "
	    "\"FR-MJ\"") && strstr(out, "1 undelivered message to FR-MJ"), "%s", out);
	free(out);

	/* A restart with both active: no second "alert"; the log says they stay. */
	tnet_stop(t, 0, SIGTERM);
	tnet_start(t, 0);
	cr_assert(tnet_wait_log(t, 0, "alert peer-down FR-MJ still active since the last run",
	    5000));
	wait_checks(t, 0, 5);
	cr_assert_eq(alert_events(t, 0, "alert", "peer-down"), 1);
	cr_assert_eq(alert_events(t, 0, "alert", "messages-stuck"), 1);
	cr_assert_eq(alert_events(t, 0, "alert-cleared", "peer-down"), 0);

	/* FR-MJ comes up: the message goes, both clear, once. */
	tnet_start(t, 1);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 15000));
	clears_once(t, 0, "peer-down");
	clears_once(t, 0, "messages-stuck");
	text = ops_metrics(mport);
	cr_assert_eq(ops_metric(text, "rogatory_alert_active{alert=\"peer-down\",subject="
	    "\"FR-MJ\"}"), -1, "%s", text);
	free(text);
	free(id);
	tnet_free(t);
}

Test(alerts, store_full_percent, .timeout = 60)
{
	struct tnet *t = tnet_new("alerts-store", ids2, 1);
	fast_checks(t, 0);
	/* 1M of store: its first pages are several percent of it. */
	tnet_opt(t, 0, "store.max_size=1M");
	tnet_opt(t, 0, "alerts.store_full_percent=1");
	tnet_start(t, 0);
	fires_once(t, 0, "store-full");
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "alerts"), 0);
	cr_assert(strstr(out, "of [store] max_size") != NULL, "%s", out);
	free(out);
	/* A reload with a higher percentage ends it. */
	tnet_opt(t, 0, "alerts.store_full_percent=99");
	cr_assert_eq(tnet_ctl(t, 0, NULL, "reload"), 0);
	clears_once(t, 0, "store-full");
	tnet_free(t);
}

Test(alerts, crl_in_its_last_quarter, .timeout = 60)
{
	struct tnet *t = tnet_new("alerts-crl", ids2, 1);
	fast_checks(t, 0);
	/* Issued 3 h ago, valid 1 h more: a quarter of 4 h is left. */
	tnet_use_crl(t, 0, tnet_crl_window(t, "aging", -3 * 3600, 3600));
	tnet_start(t, 0);
	fires_once(t, 0, "crl-renewal-due");
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "alerts"), 0);
	cr_assert(strstr(out, "within the last quarter of its validity") != NULL, "%s", out);
	free(out);
	char args[4200];
	snprintf(args, sizeof(args), "crl install '%s'", tnet_crl(t, "fresh", 24 * 7));
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 0, "%s", out);
	free(out);
	clears_once(t, 0, "crl-renewal-due");
	tnet_free(t);
}

Test(alerts, certificate_expiring_then_renewed, .timeout = 90)
{
	struct tnet *t = tnet_new("alerts-cert", ids2, 1);
	fast_checks(t, 0);
	/* A certificate of one day: under 30, 7 and 1 days at once. */
	setenv("ROGATORY_PKI_DAYS", "1", 1);
	const char *shortdir = tnet_issue_extra(t, "BD-ACC");
	unsetenv("ROGATORY_PKI_DAYS");
	static char crt[4200], key[4200];
	snprintf(crt, sizeof(crt), "tls.certificate=%s/BD-ACC.crt", shortdir);
	snprintf(key, sizeof(key), "tls.key=%s/BD-ACC.key", shortdir);
	tnet_opt(t, 0, crt);
	tnet_opt(t, 0, key);
	tnet_start(t, 0);
	fires_once(t, 0, "certificate-expiring-30d");
	fires_once(t, 0, "certificate-expiring-7d");
	fires_once(t, 0, "certificate-expiring-1d");
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "alerts"), 0);
	cr_assert(strstr(out, "our certificate expires") != NULL, "%s", out);
	free(out);
	/* Renewed (the original, 397 days) and reloaded: all three end. */
	static char crt2[4200], key2[4200];
	snprintf(crt2, sizeof(crt2), "tls.certificate=%s", t->node[0].cert);
	snprintf(key2, sizeof(key2), "tls.key=%s", t->node[0].key);
	tnet_opt(t, 0, crt2);
	tnet_opt(t, 0, key2);
	cr_assert_eq(tnet_ctl(t, 0, &out, "reload"), 0, "%s", out);
	free(out);
	clears_once(t, 0, "certificate-expiring-30d");
	clears_once(t, 0, "certificate-expiring-7d");
	clears_once(t, 0, "certificate-expiring-1d");
	tnet_free(t);
}
