/*
 * 17-metrics: the Prometheus endpoint of real daemons: GET /metrics and nothing else
 * (404 for another path, 405 for another method, 413 above the body limit, an
 * oversized header refused), the output accepted by `promtool check metrics` when it is
 * installed, counters and gauges that move as messages flow (sent, delivered, received,
 * latency, queue depth, links) and as a stranger is refused, and no endpoint unless
 * [metrics] listen is set.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "net.h"
#include "ops.h"
#include "support.h"
#include "traffic.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

/* [metrics] listen on a free port for node i; returns the port. */
static int
with_metrics(struct tnet *t, int i)
{
	static char opts[TNET_MAX][64];
	int port = ts_free_port();
	snprintf(opts[i], sizeof(opts[i]), "metrics.listen=127.0.0.1:%d", port);
	tnet_opt(t, i, opts[i]);
	return port;
}

/* Writes an HTTP request to a TLS port and reads until the daemon closes. */
static void
plain_text_to(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	cr_assert_eq(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
	char buf[256];
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	close(fd);
}

Test(metrics, only_get_metrics_is_served, .timeout = 60)
{
	struct tnet *t = tnet_new("metrics-http", ids2, 2);
	int port = with_metrics(t, 0);
	tnet_start(t, 0);
	char *r = NULL;
	cr_assert_eq(ops_http(port, "GET /metrics HTTP/1.0\r\n\r\n", &r), 200);
	cr_assert(strstr(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != NULL,
	    "%s", r);
	cr_assert(strstr(r, "# TYPE rogatory_messages_total counter\n") != NULL, "%s", r);
	free(r);
	cr_assert_eq(ops_http(port, "GET / HTTP/1.0\r\n\r\n", &r), 404);
	cr_assert(strstr(r, "this port serves GET /metrics only") != NULL, "%s", r);
	free(r);
	cr_assert_eq(ops_http(port, "GET /metrics/../etc HTTP/1.0\r\n\r\n", NULL), 404);
	cr_assert_eq(ops_http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 2\r\n\r\nab", &r),
	    405);
	cr_assert(strstr(r, "Allow: GET\r\n") != NULL, "%s", r);
	free(r);
	cr_assert_eq(ops_http(port, "DELETE /metrics HTTP/1.0\r\n\r\n", NULL), 405);
	cr_assert_eq(ops_http(port, "HEAD /metrics HTTP/1.0\r\n\r\n", NULL), 405);
	/* Limits: a body above 1 KiB, headers above 8 KiB. */
	char *big = malloc(20000);
	cr_assert_not_null(big);
	int n = snprintf(big, 20000, "POST /metrics HTTP/1.0\r\nContent-Length: 4096\r\n\r\n");
	memset(big + n, 'x', 4096);
	big[n + 4096] = '\0';
	cr_assert_eq(ops_http(port, big, NULL), 413);
	n = snprintf(big, 20000, "GET /metrics HTTP/1.0\r\nX-Filler: ");
	memset(big + n, 'y', 12000);
	snprintf(big + n + 12000, 20000 - (size_t)n - 12000, "\r\n\r\n");
	int code = ops_http(port, big, NULL);
	cr_assert(code >= 400 && code < 500, "oversized header answered %d", code);
	free(big);
	/* The daemon still serves after all of that. */
	free(ops_metrics(port));
	tnet_free(t);
}

Test(metrics, counters_move_as_messages_flow, .timeout = 90)
{
	struct tnet *t = tnet_new("metrics-flow", ids2, 2);
	int pa = with_metrics(t, 0), pb = with_metrics(t, 1);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *text = ops_metrics(pa);
	cr_assert_eq(ops_metric(text, "rogatory_messages_total{direction=\"out\",peer=\"FR-MJ\","
	    "outcome=\"delivered\"}"), -1, "%s", text);
	cr_assert_eq(ops_metric(text, "rogatory_peer_link_up{peer=\"FR-MJ\"}"), 0, "%s", text);
	cr_assert_eq(ops_metric(text, "rogatory_delivery_latency_seconds_count"), 0);
	free(text);
	char *m1 = tr_send(t, 0, "FR-MJ", "one", 0, 0);
	char *m2 = tr_send(t, 0, "FR-MJ", "two", 0, 0);
	cr_assert(tr_wait_state(t, 0, m1, "delivered", 10000));
	cr_assert(tr_wait_state(t, 0, m2, "delivered", 10000));
	cr_assert(ops_wait_metric(pa, "rogatory_messages_total{direction=\"out\",peer=\"FR-MJ\","
	    "outcome=\"delivered\"}", 2, 5000));
	text = ops_metrics(pa);
	cr_assert_eq(ops_metric(text, "rogatory_messages_total{direction=\"out\",peer=\"FR-MJ\","
	    "outcome=\"queued\"}"), 2, "%s", text);
	cr_assert_eq(ops_metric(text, "rogatory_messages_total{direction=\"out\",peer=\"FR-MJ\","
	    "outcome=\"sent\"}"), 2, "%s", text);
	cr_assert_eq(ops_metric(text, "rogatory_delivery_latency_seconds_count"), 2, "%s", text);
	cr_assert_gt(ops_metric(text, "rogatory_delivery_latency_seconds_sum"), 0);
	cr_assert_eq(ops_metric(text, "rogatory_peer_link_up{peer=\"FR-MJ\"}"), 1, "%s", text);
	cr_assert_gt(ops_metric(text, "rogatory_store_size_bytes"), 0);
	cr_assert_gt(ops_metric(text, "rogatory_certificate_expiry_timestamp_seconds{authority="
	    "\"FR-MJ\"}"), 1700000000);
	free(text);
	cr_assert(ops_wait_metric(pb, "rogatory_messages_total{direction=\"in\",peer=\"BD-ACC\","
	    "outcome=\"received\"}", 2, 5000));
	cr_assert(ops_wait_metric(pb, "rogatory_inbox_unfetched_messages{peer=\"BD-ACC\"}", 2,
	    5000));
	/* FR-MJ gone: a message waits, the queue gauge and the link say so. */
	tnet_stop(t, 1, SIGTERM);
	char *m3 = tr_send(t, 0, "FR-MJ", "three", 0, 0);
	cr_assert(ops_wait_metric(pa, "rogatory_queue_messages{peer=\"FR-MJ\",state=\"queued\"}",
	    1, 5000));
	text = ops_metrics(pa);
	cr_assert_eq(ops_metric(text, "rogatory_peer_link_up{peer=\"FR-MJ\"}"), 0, "%s", text);
	cr_assert_geq(ops_metric(text, "rogatory_queue_oldest_age_seconds{peer=\"FR-MJ\"}"), 0);
	free(text);
	/* A stranger speaking plain text to the peers' port: refused as not TLS. */
	plain_text_to(t->node[0].port);
	cr_assert(ops_wait_metric(pa, "rogatory_refusals_total{reason=\"not-tls\"}", 1, 5000));
	if (ts_sh(NULL, "command -v promtool >/dev/null") == 0) {
		char *out = NULL, path[4096];
		text = ops_metrics(pa);
		snprintf(path, sizeof(path), "%s/metrics.txt", t->dir);
		ts_write_file(path, text, 0600);
		cr_assert_eq(ts_sh(&out, "promtool check metrics < '%s'", path), 0, "promtool: %s\n%s",
		    out, text);
		free(out);
		free(text);
	} else {
		cr_log_warn("promtool not installed (Debian package prometheus): not checked");
	}
	free(m1);
	free(m2);
	free(m3);
	tnet_free(t);
}

Test(metrics, off_unless_configured, .timeout = 60)
{
	struct tnet *t = tnet_new("metrics-off", ids2, 1);
	tnet_start(t, 0);
	cr_assert_eq(tnet_log_count(t, 0, "metrics on http://"), 0);
	tnet_free(t);
}
