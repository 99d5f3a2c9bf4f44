/*
 * Unit tests for daemon/metrics.c without a daemon: the table of metric families is
 * checked entry by entry against the Prometheus conventions (names, units, counters
 * ending in _total, HELP, label names), the rendering of a made-up reading is checked
 * family by family (HELP and TYPE once, every sample of its family with exactly its
 * labels, label values escaped), passes `promtool check metrics` when promtool is
 * installed (Debian package prometheus, `make deps`), counters move with the events
 * recorded, and refusal reasons map to their fixed labels.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "../support/support.h"
#include "metrics.h"
#include "rogatoryd.h"
#include "snapshot.h"
#include "store.h"

static struct metrics *m;

static void
setup(void)
{
	char err[256];
	cr_assert_eq(metrics_new(NULL, -1, &m, err, sizeof(err)), 0, "%s", err);
}

static void
teardown(void)
{
	metrics_free(m);
}

TestSuite(metrics, .init = setup, .fini = teardown);

/* A reading of two authorities, one with a name that needs escaping in a label. */
static void
reading(struct snapshot *s, struct snapshot_peer *p)
{
	memset(s, 0, sizeof(*s));
	memset(p, 0, 2 * sizeof(*p));
	s->now_us = INT64_C(1800000000) * 1000000;
	snprintf(s->self, sizeof(s->self), "BD-ACC");
	s->own_not_after = 1830000000;
	s->crl_on = true;
	s->crl_next_update = 1800600000;
	s->store_read = true;
	s->store_bytes = 81920;
	s->disk_free = 1 << 30;
	s->disk_total = INT64_C(4) << 30;
	snprintf(p[0].id, sizeof(p[0].id), "FR-MJ");
	p[0].listed = true;
	p[0].links_up = 1;
	p[0].cert_not_after = 1830000001;
	p[0].queue[STORE_QUEUED] = 2;
	p[0].queue[STORE_RETRYING] = 1;
	p[0].open = 3;
	p[0].oldest_open_us = s->now_us - 90500000;
	p[0].paused = true;
	snprintf(p[1].id, sizeof(p[1].id), "UA\"x\\y\nz");
	p[1].listed = true;
	p[1].unfetched = 4;
	s->peers = p;
	s->npeers = 2;
}

static void
event(const char *name, const char *peer, enum store_dir dir, int64_t latency_us)
{
	struct store_event e;
	memset(&e, 0, sizeof(e));
	snprintf(e.event, sizeof(e.event), "%s", name);
	snprintf(e.peer, sizeof(e.peer), "%s", peer);
	e.dir = dir;
	metrics_record(m, &e, latency_us);
}

static char *
render(size_t *len)
{
	struct snapshot s;
	struct snapshot_peer p[2];
	struct store_alert a = {.name = "peer-down", .subject = "FR-MJ"};
	reading(&s, p);
	char *text = metrics_render(m, &s, &a, 1, len);
	cr_assert_not_null(text);
	return text;
}

static bool
name_ok(const char *n)
{
	if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') || n[0] == '_'))
		return false;
	return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
	    strlen(n);
}

/* The unit a name ends in (Prometheus: base units, plural; _total after it). */
static bool
has_unit(const char *name, const char *type)
{
	static const char *const units[] = {"_seconds", "_bytes", "_messages", "_requests",
	    "_info", "_up", "_paused", "_active"};
	char base[128];
	snprintf(base, sizeof(base), "%s", name);
	size_t n = strlen(base);
	if (strcmp(type, "counter") == 0) {
		if (n < 6 || strcmp(base + n - 6, "_total") != 0)
			return false;
		return true;    /* a count of things: _total is the unit */
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t u = strlen(units[i]);
		if (n > u && strcmp(base + n - u, units[i]) == 0)
			return true;
	}
	return false;
}

Test(metrics, every_family_follows_the_conventions)
{
	cr_assert_gt(metrics_family_count(), 0);
	for (size_t i = 0; i < metrics_family_count(); i++) {
		const struct metric_family *f = metrics_family_at(i);
		cr_assert(strncmp(f->name, "rogatory_", 9) == 0 && name_ok(f->name), "%s", f->name);
		cr_assert(strcmp(f->type, "counter") == 0 || strcmp(f->type, "gauge") == 0 ||
		    strcmp(f->type, "histogram") == 0, "%s: type %s", f->name, f->type);
		cr_assert(has_unit(f->name, f->type), "%s: no unit in its name", f->name);
		cr_assert((strcmp(f->type, "counter") == 0) == (strstr(f->name, "_total") != NULL),
		    "%s: only counters end in _total", f->name);
		cr_assert(strlen(f->help) > 10 && strchr(f->help, '\n') == NULL &&
		    strchr(f->help, '\\') == NULL, "%s: HELP", f->name);
		char labels[128];
		snprintf(labels, sizeof(labels), "%s", f->labels);
		for (char *save = NULL, *l = strtok_r(labels, ",", &save); l != NULL;
		     l = strtok_r(NULL, ",", &save))
			cr_assert(name_ok(l) && strncmp(l, "__", 2) != 0 && strcmp(l, "le") != 0,
			    "%s: label %s", f->name, l);
		for (size_t k = 0; k < i; k++)
			cr_assert_str_neq(metrics_family_at(k)->name, f->name);
	}
}

/* The label names of one sample line, in order, comma-separated. */
static void
sample_labels(const char *line, char *out, size_t cap)
{
	out[0] = '\0';
	const char *p = strchr(line, '{');
	if (p == NULL || strchr(line, ' ') < p)
		return;
	p++;
	while (*p != '}' && *p != '\0') {
		const char *eq = strchr(p, '=');
		cr_assert_not_null(eq, "%s", line);
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%s%.*s", n ? "," : "", (int)(eq - p), p);
		p = eq + 2;                      /* past =" */
		while (*p != '"') {
			cr_assert_neq(*p, '\0', "%s", line);
			cr_assert_neq(*p, '\n', "%s", line);
			p += *p == '\\' ? 2 : 1;
		}
		p++;
		if (*p == ',')
			p++;
	}
}

Test(metrics, rendering_has_every_family_with_its_labels)
{
	event("delivered", "FR-MJ", STORE_OUT, 1500000);
	size_t len;
	char *text = render(&len);
	cr_assert_eq(strlen(text), len);
	for (size_t i = 0; i < metrics_family_count(); i++) {
		const struct metric_family *f = metrics_family_at(i);
		char want[256];
		snprintf(want, sizeof(want), "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
		    f->name, f->type);
		char *at = strstr(text, want);
		cr_assert_not_null(at, "family %s: no HELP/TYPE in\n%s", f->name, text);
		cr_assert_null(strstr(at + 1, want), "family %s twice", f->name);
	}
	/* Every sample line belongs to the family above it and has its labels, in order. */
	const struct metric_family *cur = NULL;
	int samples = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# TYPE ", 7) == 0) {
			cur = NULL;
			for (size_t i = 0; i < metrics_family_count(); i++)
				if (strncmp(line + 7, metrics_family_at(i)->name,
				        strlen(metrics_family_at(i)->name)) == 0 &&
				    line[7 + strlen(metrics_family_at(i)->name)] == ' ')
					cur = metrics_family_at(i);
			continue;
		}
		if (line[0] == '#')
			continue;
		cr_assert_not_null(cur, "sample before any TYPE: %s", line);
		size_t n = strlen(cur->name);
		cr_assert(strncmp(line, cur->name, n) == 0, "%s under %s", line, cur->name);
		const char *rest = line + n;
		char labels[256], want[256];
		sample_labels(line, labels, sizeof(labels));
		bool hist = strcmp(cur->type, "histogram") == 0;
		snprintf(want, sizeof(want), "%s%s%s", cur->labels,
		    hist && strncmp(rest, "_bucket", 7) == 0 && cur->labels[0] ? "," : "",
		    hist && strncmp(rest, "_bucket", 7) == 0 ? "le" : "");
		cr_assert_str_eq(labels, want, "%s: labels", line);
		if (hist)
			cr_assert(strncmp(rest, "_bucket{", 8) == 0 || strncmp(rest, "_sum ", 5) == 0 ||
			    strncmp(rest, "_count ", 7) == 0, "%s", line);
		else
			cr_assert(rest[0] == ' ' || rest[0] == '{', "%s", line);
		samples++;
	}
	cr_assert_gt(samples, 30);
	free(text);
}

Test(metrics, label_values_are_escaped)
{
	size_t len;
	char *text = render(&len);
	cr_assert(strstr(text, "rogatory_inbox_unfetched_messages{peer=\"UA\\\"x\\\\y\\nz\"} 4\n")
	    != NULL, "%s", text);
	free(text);
}

Test(metrics, values_of_the_reading)
{
	size_t len;
	char *text = render(&len);
	static const char *const lines[] = {
	    "rogatory_queue_messages{peer=\"FR-MJ\",state=\"queued\"} 2\n",
	    "rogatory_queue_messages{peer=\"FR-MJ\",state=\"retrying\"} 1\n",
	    "rogatory_queue_oldest_age_seconds{peer=\"FR-MJ\"} 90.5\n",
	    "rogatory_peer_link_up{peer=\"FR-MJ\"} 1\n",
	    "rogatory_peer_paused{peer=\"FR-MJ\"} 1\n",
	    "rogatory_certificate_expiry_timestamp_seconds{authority=\"BD-ACC\"} 1830000000\n",
	    "rogatory_certificate_expiry_timestamp_seconds{authority=\"FR-MJ\"} 1830000001\n",
	    "rogatory_crl_next_update_timestamp_seconds 1800600000\n",
	    "rogatory_store_size_bytes 81920\n",
	    "rogatory_disk_free_bytes 1073741824\n",
	    "rogatory_alert_active{alert=\"peer-down\",subject=\"FR-MJ\"} 1\n",
	    "rogatory_build_info{version=\"" ROGATORY_VERSION "\"} 1\n",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		cr_assert(strstr(text, lines[i]) != NULL, "missing %s in\n%s", lines[i], text);
	free(text);
}

Test(metrics, counters_move_with_the_events)
{
	size_t len;
	event("queued", "FR-MJ", STORE_OUT, -1);
	event("delivered", "FR-MJ", STORE_OUT, 300000);
	event("delivered", "FR-MJ", STORE_OUT, 4000000);
	event("received", "UA-PGO", STORE_IN, -1);
	event("link-up", "FR-MJ", STORE_OUT, -1);       /* not a message outcome */
	event("alert", "FR-MJ", STORE_OUT, -1);
	metrics_refusal(m, "certificate refused: certificate has expired, subject CN=x");
	metrics_refusal(m, "unknown authority: DE-BMJ is not in our directory");
	metrics_refusal(m, "connection failed: Connection refused");  /* unreachable, no refusal */
	metrics_refusal(m, "something new");
	char *text = render(&len);
	static const char *const lines[] = {
	    "rogatory_messages_total{direction=\"out\",peer=\"FR-MJ\",outcome=\"queued\"} 1\n",
	    "rogatory_messages_total{direction=\"out\",peer=\"FR-MJ\",outcome=\"delivered\"} 2\n",
	    "rogatory_messages_total{direction=\"in\",peer=\"UA-PGO\",outcome=\"received\"} 1\n",
	    "rogatory_delivery_latency_seconds_bucket{le=\"0.25\"} 0\n",
	    "rogatory_delivery_latency_seconds_bucket{le=\"0.5\"} 1\n",
	    "rogatory_delivery_latency_seconds_bucket{le=\"5\"} 2\n",
	    "rogatory_delivery_latency_seconds_bucket{le=\"+Inf\"} 2\n",
	    "rogatory_delivery_latency_seconds_sum 4.3\n",
	    "rogatory_delivery_latency_seconds_count 2\n",
	    "rogatory_refusals_total{reason=\"certificate-expired\"} 1\n",
	    "rogatory_refusals_total{reason=\"not-in-directory\"} 1\n",
	    "rogatory_refusals_total{reason=\"other\"} 1\n",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		cr_assert(strstr(text, lines[i]) != NULL, "missing %s in\n%s", lines[i], text);
	cr_assert_null(strstr(text, "outcome=\"link-up\""));
	cr_assert_null(strstr(text, "outcome=\"alert\""));
	free(text);
}

Test(metrics, refusal_reasons_map_to_fixed_labels)
{
	static const struct {
		const char *reason, *label;
	} cases[] = {
	    {"certificate refused: certificate has expired, subject CN=FR-MJ", "certificate-expired"},
	    {"certificate refused: certificate revoked, subject CN=FR-MJ", "certificate-revoked"},
	    {"certificate refused: unable to get local issuer certificate (unknown CA)",
	        "certificate-untrusted"},
	    {"no client certificate", "no-certificate"},
	    {"TLS version refused (TLS 1.3 only): unsupported protocol", "tls-version"},
	    {"not TLS (plaintext or garbage): http request", "not-tls"},
	    {"no common key-exchange group (we offer X25519:P-256 only): x", "no-common-group"},
	    {"the peer refused our certificate: tlsv1 alert unknown ca", "our-certificate-refused"},
	    {"TLS handshake not completed within handshake_timeout (2000 ms)", "handshake-timeout"},
	    {"peer dropped the connection during the handshake", "dropped"},
	    {"handshake failed: bad record mac", "handshake-failed"},
	    {"unknown authority: DE-BMJ is not in our directory", "not-in-directory"},
	    {"wrong identity: dialed FR-MJ, certificate names UA-PGO", "wrong-identity"},
	    {"no subjectAltName (the CN is never used as identity)", "no-identity"},
	    {"evicted: too many unauthenticated connections (max_unauthenticated)", "evicted"},
	    {"connection failed: Connection refused", NULL},
	    {"cannot resolve host: Name or service not known", NULL},
	    {"anything else", "other"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = metrics_refusal_label(cases[i].reason);
		if (cases[i].label == NULL)
			cr_assert_null(got, "%s: %s", cases[i].reason, got);
		else
			cr_assert(got != NULL && strcmp(got, cases[i].label) == 0, "%s: %s, expected %s",
			    cases[i].reason, got ? got : "(none)", cases[i].label);
	}
}

/* `promtool check metrics` (make deps installs it); skipped where it is not installed. */
Test(metrics, promtool_accepts_the_rendering)
{
	if (ts_sh(NULL, "command -v promtool >/dev/null") != 0)
		cr_skip_test("promtool not installed (Debian package prometheus, make deps)");
	event("delivered", "FR-MJ", STORE_OUT, 1500000);
	metrics_refusal(m, "not TLS (plaintext or garbage): x");
	size_t len;
	char *text = render(&len);
	char *dir = ts_tmpdir("metrics"), path[512], *out = NULL;
	snprintf(path, sizeof(path), "%s/metrics.txt", dir);
	ts_write_file(path, text, 0600);
	int rc = ts_sh(&out, "promtool check metrics < '%s'", path);
	cr_assert_eq(rc, 0, "promtool: %s\n%s", out, text);
	free(out);
	free(text);
	ts_rmrf(dir);
	free(dir);
}
