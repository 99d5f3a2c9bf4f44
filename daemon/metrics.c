/*
 * metrics: the Prometheus endpoint and its counters (contract in metrics.h). The HTTP
 * side serves one path and one method and reads nothing a client sends beyond the
 * request line and headers (bounded); a scrape takes a snapshot and renders the table of
 * families. It must never block the loop on a client (httpd.c: non-blocking, bounded,
 * one deadline per connection), never put a message's content in a label, and never stop the daemon: a
 * failed bind stops the start-up (the operator asked for it), anything later is logged.
 */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "alerts.h"
#include "config.h"
#include "events.h"
#include "httpd.h"
#include "log.h"
#include "rogatoryd.h"
#include "snapshot.h"
#include "store.h"

#define METRICS_HEADERS_MAX 8192     /* request line and headers */
#define METRICS_BODY_MAX 1024        /* a scrape has none; more is refused with 413 */
#define METRICS_HEAD_MS 2000         /* from accept to a whole request head */
#define METRICS_DEADLINE_MS 10000   /* then the reply and the client's close */
#define METRICS_CONNS_MAX 16         /* at once; a scraper needs one */
#define METRICS_PEERS_MAX 4096       /* (direction, authority, outcome) rows kept */

/* The outcomes counted: a message event's name (anything else is not counted). */
static const char *const outcomes[] = {
	"queued", "sent", "delivered", "retry-scheduled", "rejected", "failed", "expired",
	"unconfirmed", "cancelled", "received", "duplicate", "refused-id-conflict",
	"quarantined", "quarantine-released", "fetched", "retrieved",
};
#define NOUTCOMES (sizeof(outcomes) / sizeof(outcomes[0]))

/* Refusals by reason: the first row whose text the link's reason contains. NULL label:
 * not a refusal (the peer could not be reached at all). */
static const struct {
	const char *text;
	const char *label;
} refusal_reasons[] = {
	{"connection failed", NULL},
	{"cannot resolve", NULL},
	{"unknown authority", "not-in-directory"},
	{"wrong identity", "wrong-identity"},
	{"bad hello: names", "wrong-identity"},
	{"subjectAltName", "no-identity"},
	{"URI", "no-identity"},
	{"evicted", "evicted"},
	{"has expired", "certificate-expired"},
	{"certificate expired", "certificate-expired"},
	{"revoked", "certificate-revoked"},
	{"certificate refused", "certificate-untrusted"},
	{"no client certificate", "no-certificate"},
	{"TLS version refused", "tls-version"},
	{"not TLS", "not-tls"},
	{"no common key-exchange group", "no-common-group"},
	{"the peer refused our certificate", "our-certificate-refused"},
	{"TLS handshake not completed", "handshake-timeout"},
	{"Hello exchange not completed", "hello-timeout"},
	{"dropped the connection", "dropped"},
	{"closed during handshake", "dropped"},
	{"peer closed the connection", "dropped"},
	{"handshake failed", "handshake-failed"},
};
#define NREASONS (sizeof(refusal_reasons) / sizeof(refusal_reasons[0]))

/* Upper bounds of the delivery latency histogram, seconds. */
static const double latency_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
    900, 3600, 21600, 86400};
#define NBOUNDS (sizeof(latency_bounds) / sizeof(latency_bounds[0]))

struct msg_count {
	char peer[AUTHORITY_ID_MAX + 1];
	uint8_t dir;
	uint8_t outcome;
	uint64_t n;
};

struct metrics {
	struct rogatoryd *d;
	struct httpd *http;
	int sub;                            /* events subscription, 0: none */
	uint16_t port;
	int64_t started_s;
	struct msg_count *msgs;
	size_t nmsgs, capmsgs;
	uint64_t refusals[NREASONS + 1];    /* last: "other" */
	uint64_t latency_buckets[NBOUNDS];  /* not cumulative; summed at render */
	uint64_t latency_count;
	double latency_sum;
};

/* One rendering: where it goes and what it reads. */
struct mctx {
	FILE *f;
	const struct metric_family *fam;
	const struct metrics *m;
	const struct snapshot *s;
	const struct store_alert *alerts;
	size_t nalerts;
};

typedef void (*metric_emit)(struct mctx *c);

static void emit_messages(struct mctx *c);
static void emit_queue(struct mctx *c);
static void emit_oldest(struct mctx *c);
static void emit_unfetched(struct mctx *c);
static void emit_link_up(struct mctx *c);
static void emit_paused(struct mctx *c);
static void emit_refusals(struct mctx *c);
static void emit_latency(struct mctx *c);
static void emit_cert_expiry(struct mctx *c);
static void emit_crl_next(struct mctx *c);
static void emit_store_size(struct mctx *c);
static void emit_store_max(struct mctx *c);
static void emit_disk_free(struct mctx *c);
static void emit_alerts(struct mctx *c);
static void emit_start_time(struct mctx *c);
static void emit_cases(struct mctx *c);
static void emit_build_info(struct mctx *c);

/* The table: name, type, HELP, labels, and what fills it. Names carry their unit. */
static const struct {
	struct metric_family fam;
	metric_emit emit;
} families[] = {
	{{"rogatory_messages_total", "counter", "Message events committed since the daemon "
	  "started, by direction (out, in), authority and outcome (the event's name).",
	  "direction,peer,outcome"}, emit_messages},
	{{"rogatory_queue_messages", "gauge", "Outbound messages not yet settled, by "
	  "recipient and state (queued, sending, retrying, unconfirmed).", "peer,state"},
	 emit_queue},
	{{"rogatory_queue_oldest_age_seconds", "gauge", "Age of the oldest outbound message "
	  "not yet delivered, by recipient.", "peer"}, emit_oldest},
	{{"rogatory_inbox_unfetched_messages", "gauge", "Received messages an operator has "
	  "not fetched yet, by sender.", "peer"}, emit_unfetched},
	{{"rogatory_peer_link_up", "gauge", "1 when at least one authenticated link to the "
	  "authority is up, else 0.", "peer"}, emit_link_up},
	{{"rogatory_peer_paused", "gauge", "1 when an operator paused our outbound messages "
	  "to the authority (rogatoryctl pause), else 0.", "peer"}, emit_paused},
	{{"rogatory_refusals_total", "counter", "Connections refused in the TLS handshake or "
	  "by the identity checks since the daemon started, by reason.", "reason"},
	 emit_refusals},
	{{"rogatory_delivery_latency_seconds", "histogram", "Time from submission to the "
	  "recipient's verified receipt, for messages delivered since the daemon started.", ""},
	 emit_latency},
	{{"rogatory_certificate_expiry_timestamp_seconds", "gauge", "When a certificate "
	  "expires (Unix time): ours, and each peer's as last seen on a link.", "authority"},
	 emit_cert_expiry},
	{{"rogatory_crl_next_update_timestamp_seconds", "gauge", "The effective CRL's "
	  "nextUpdate (Unix time); absent when revocation is off.", ""}, emit_crl_next},
	{{"rogatory_store_size_bytes", "gauge", "Size of the message store (pages in use).",
	  ""}, emit_store_size},
	{{"rogatory_store_max_size_bytes", "gauge", "[store] max_size; 0 when only the disk "
	  "limits the store.", ""}, emit_store_max},
	{{"rogatory_disk_free_bytes", "gauge", "Bytes available on the file system of "
	  "state_dir.", ""}, emit_disk_free},
	{{"rogatory_case_requests", "gauge", "Requests tracked as cases, by direction (out: "
	  "we sent the request, in: we received it) and current status.", "direction,status"},
	 emit_cases},
	{{"rogatory_alert_active", "gauge", "1 for each alert active now (rogatoryctl "
	  "alerts), by alert name and subject (an authority, or empty).", "alert,subject"},
	 emit_alerts},
	{{"rogatory_start_time_seconds", "gauge", "When the daemon started (Unix time).", ""},
	 emit_start_time},
	{{"rogatory_build_info", "gauge", "Always 1; the version in a label.", "version"},
	 emit_build_info},
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

static void http_cb(void *arg, const char *method, const char *path, struct httpd_reply *r);
static void event_cb(void *arg, const struct store_event *ev, const char *line);

size_t
metrics_family_count(void)
{
	return NFAMILIES;
}

const struct metric_family *
metrics_family_at(size_t i)
{
	return i < NFAMILIES ? &families[i].fam : NULL;
}

/* ---- counting ---- */

const char *
metrics_refusal_label(const char *reason)
{
	for (size_t i = 0; i < NREASONS; i++)
		if (strstr(reason, refusal_reasons[i].text) != NULL)
			return refusal_reasons[i].label;
	return "other";
}

void
metrics_refusal(struct metrics *m, const char *reason)
{
	if (m == NULL || reason == NULL)
		return;
	for (size_t i = 0; i < NREASONS; i++) {
		if (strstr(reason, refusal_reasons[i].text) != NULL) {
			if (refusal_reasons[i].label != NULL)
				m->refusals[i]++;
			return;
		}
	}
	m->refusals[NREASONS]++;
}

void
metrics_record(struct metrics *m, const struct store_event *e, int64_t latency_us)
{
	size_t o = 0;
	while (o < NOUTCOMES && strcmp(outcomes[o], e->event) != 0)
		o++;
	if (o == NOUTCOMES || e->peer[0] == '\0')
		return;
	struct msg_count *c = NULL;
	for (size_t i = 0; i < m->nmsgs && c == NULL; i++)
		if (m->msgs[i].dir == (uint8_t)e->dir && m->msgs[i].outcome == o &&
		    strcmp(m->msgs[i].peer, e->peer) == 0)
			c = &m->msgs[i];
	if (c == NULL) {
		if (m->nmsgs >= METRICS_PEERS_MAX)
			return;     /* bounded: authorities are few; this is not reached */
		if (m->nmsgs == m->capmsgs) {
			size_t cap = m->capmsgs ? m->capmsgs * 2 : 32;
			struct msg_count *v = realloc(m->msgs, cap * sizeof(*v));
			if (v == NULL)
				return;
			m->msgs = v;
			m->capmsgs = cap;
		}
		c = &m->msgs[m->nmsgs++];
		memset(c, 0, sizeof(*c));
		snprintf(c->peer, sizeof(c->peer), "%s", e->peer);
		c->dir = (uint8_t)e->dir;
		c->outcome = (uint8_t)o;
	}
	c->n++;
	if (latency_us < 0)
		return;
	double s = (double)latency_us / 1e6;
	m->latency_count++;
	m->latency_sum += s;
	for (size_t i = 0; i < NBOUNDS; i++) {
		if (s <= latency_bounds[i]) {
			m->latency_buckets[i]++;
			break;
		}
	}
}

/* A committed event: counted; a delivery also gives its latency (from the message's
 * submission time, which the store put in the event: no read per delivery). */
static void
event_cb(void *arg, const struct store_event *ev, const char *line)
{
	(void)line;
	struct metrics *m = arg;
	int64_t latency = -1;
	if (ev->msg_created_us > 0 && ev->ts_us >= ev->msg_created_us &&
	    strcmp(ev->event, "delivered") == 0)
		latency = ev->ts_us - ev->msg_created_us;
	metrics_record(m, ev, latency);
}

/* ---- rendering ---- */

/* A label value as the format wants it: backslash, double quote and newline escaped. */
static void
put_label_value(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* Whole numbers as integers (counts, Unix times), others with 9 significant digits. */
static void
put_value(FILE *f, double v)
{
	if (v > -9007199254740992.0 && v < 9007199254740992.0 && (double)(long long)v == v)
		fprintf(f, "%lld", (long long)v);
	else
		fprintf(f, "%.9g", v);
}

/* One sample: NAME[SUFFIX]{labels="values",...} VALUE. values follow the family's label
 * names; extra (a histogram's "le") is appended. */
static void
sample(struct mctx *c, const char *suffix, const char *const *values, const char *extra,
    const char *extra_value, double v)
{
	FILE *f = c->f;
	const char *names = c->fam->labels;
	size_t k = 0;
	bool any = false;
	fprintf(f, "%s%s", c->fam->name, suffix);
	while (names[0] != '\0' && values != NULL) {
		size_t n = strcspn(names, ",");
		fprintf(f, "%s%.*s=\"", any ? "," : "{", (int)n, names);
		/* values has one entry per label name: the family table's contract, which the
		 * analyzer cannot see (unit test metrics/rendering_has_every_family_with_its_labels). */
		put_label_value(f, values[k++]); // NOLINT(clang-analyzer-core.CallAndMessage)
		fputc('"', f);
		any = true;
		names += n + (names[n] == ',');
	}
	if (extra != NULL) {
		fprintf(f, "%s%s=\"%s\"", any ? "," : "{", extra, extra_value);
		any = true;
	}
	fputs(any ? "} " : " ", f);
	put_value(f, v);
	fputc('\n', f);
}

static void
emit_messages(struct mctx *c)
{
	for (size_t i = 0; i < c->m->nmsgs; i++) {
		const struct msg_count *mc = &c->m->msgs[i];
		const char *v[] = {mc->dir == STORE_IN ? "in" : "out", mc->peer, outcomes[mc->outcome]};
		sample(c, "", v, NULL, NULL, (double)mc->n);
	}
}

static void
emit_queue(struct mctx *c)
{
	static const enum store_state open[] = {STORE_QUEUED, STORE_SENDING, STORE_RETRYING,
	    STORE_UNCONFIRMED};
	for (size_t i = 0; i < c->s->npeers; i++) {
		const struct snapshot_peer *p = &c->s->peers[i];
		if (!p->listed && p->open == 0)
			continue;
		for (size_t k = 0; k < sizeof(open) / sizeof(open[0]); k++) {
			const char *v[] = {p->id, store_state_name(open[k])};
			sample(c, "", v, NULL, NULL, (double)p->queue[open[k]]);
		}
	}
}

static void
emit_oldest(struct mctx *c)
{
	for (size_t i = 0; i < c->s->npeers; i++) {
		const struct snapshot_peer *p = &c->s->peers[i];
		if (!p->listed && p->open == 0)
			continue;
		const char *v[] = {p->id};
		int64_t ms = p->oldest_open_us > 0 && c->s->now_us > p->oldest_open_us
		    ? (c->s->now_us - p->oldest_open_us) / 1000 : 0;
		sample(c, "", v, NULL, NULL, (double)ms / 1000);
	}
}

static void
emit_unfetched(struct mctx *c)
{
	for (size_t i = 0; i < c->s->npeers; i++) {
		const struct snapshot_peer *p = &c->s->peers[i];
		if (!p->listed && p->unfetched == 0)
			continue;
		const char *v[] = {p->id};
		sample(c, "", v, NULL, NULL, (double)p->unfetched);
	}
}

static void
emit_link_up(struct mctx *c)
{
	for (size_t i = 0; i < c->s->npeers; i++) {
		const struct snapshot_peer *p = &c->s->peers[i];
		if (!p->listed)
			continue;
		const char *v[] = {p->id};
		sample(c, "", v, NULL, NULL, p->links_up > 0 ? 1 : 0);
	}
}

static void
emit_paused(struct mctx *c)
{
	for (size_t i = 0; i < c->s->npeers; i++) {
		const struct snapshot_peer *p = &c->s->peers[i];
		if (!p->listed && !p->paused)
			continue;
		const char *v[] = {p->id};
		sample(c, "", v, NULL, NULL, p->paused ? 1 : 0);
	}
}

/* Every reason, 0 included, so that a rate over it exists before the first refusal. */
static void
emit_refusals(struct mctx *c)
{
	for (size_t i = 0; i < NREASONS; i++) {
		bool first = true;
		if (refusal_reasons[i].label == NULL)
			continue;
		/* Several texts share a label: one sample per label, their sum. */
		for (size_t k = 0; k < i; k++)
			if (refusal_reasons[k].label != NULL &&
			    strcmp(refusal_reasons[k].label, refusal_reasons[i].label) == 0)
				first = false;
		if (!first)
			continue;
		uint64_t n = 0;
		for (size_t k = i; k < NREASONS; k++)
			if (refusal_reasons[k].label != NULL &&
			    strcmp(refusal_reasons[k].label, refusal_reasons[i].label) == 0)
				n += c->m->refusals[k];
		const char *v[] = {refusal_reasons[i].label};
		sample(c, "", v, NULL, NULL, (double)n);
	}
	const char *v[] = {"other"};
	size_t other = NREASONS;          /* the last slot counts the others */
	sample(c, "", v, NULL, NULL, (double)c->m->refusals[other]);
}

static void
emit_latency(struct mctx *c)
{
	uint64_t cum = 0;
	char le[32];
	for (size_t i = 0; i < NBOUNDS; i++) {
		cum += c->m->latency_buckets[i];
		snprintf(le, sizeof(le), "%g", latency_bounds[i]);
		sample(c, "_bucket", NULL, "le", le, (double)cum);
	}
	sample(c, "_bucket", NULL, "le", "+Inf", (double)c->m->latency_count);
	sample(c, "_sum", NULL, NULL, NULL, c->m->latency_sum);
	sample(c, "_count", NULL, NULL, NULL, (double)c->m->latency_count);
}

static void
emit_cert_expiry(struct mctx *c)
{
	const char *self[] = {c->s->self};
	if (c->s->own_not_after > 0)
		sample(c, "", self, NULL, NULL, (double)c->s->own_not_after);
	for (size_t i = 0; i < c->s->npeers; i++) {
		const struct snapshot_peer *p = &c->s->peers[i];
		if (p->cert_not_after == 0 || strcmp(p->id, c->s->self) == 0)
			continue;
		const char *v[] = {p->id};
		sample(c, "", v, NULL, NULL, (double)p->cert_not_after);
	}
}

static void
emit_crl_next(struct mctx *c)
{
	if (c->s->crl_on)
		sample(c, "", NULL, NULL, NULL, (double)c->s->crl_next_update);
}

static void
emit_store_size(struct mctx *c)
{
	if (c->s->store_bytes >= 0)
		sample(c, "", NULL, NULL, NULL, (double)c->s->store_bytes);
}

static void
emit_store_max(struct mctx *c)
{
	sample(c, "", NULL, NULL, NULL, (double)c->s->store_max);
}

static void
emit_disk_free(struct mctx *c)
{
	if (c->s->disk_free >= 0)
		sample(c, "", NULL, NULL, NULL, (double)c->s->disk_free);
}

static void
emit_alerts(struct mctx *c)
{
	for (size_t i = 0; i < c->nalerts; i++) {
		const char *v[] = {c->alerts[i].name, c->alerts[i].subject};
		sample(c, "", v, NULL, NULL, 1);
	}
}

static void
emit_cases(struct mctx *c)
{
	for (size_t i = 0; i < c->s->ncases; i++) {
		const struct snapshot_cases *k = &c->s->cases[i];
		const char *v[] = {k->dir == STORE_IN ? "in" : "out", k->state};
		sample(c, "", v, NULL, NULL, (double)k->count);
	}
}

static void
emit_start_time(struct mctx *c)
{
	sample(c, "", NULL, NULL, NULL, (double)c->m->started_s);
}

static void
emit_build_info(struct mctx *c)
{
	const char *v[] = {ROGATORY_VERSION};
	sample(c, "", v, NULL, NULL, 1);
}

char *
metrics_render(const struct metrics *m, const struct snapshot *s,
    const struct store_alert *alerts, size_t nalerts, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (f == NULL)
		return NULL;
	struct mctx c = {.f = f, .m = m, .s = s, .alerts = alerts, .nalerts = nalerts};
	for (size_t i = 0; i < NFAMILIES; i++) {
		c.fam = &families[i].fam;
		/* HELP text: no backslash or newline in ours (the unit test checks). */
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", c.fam->name, c.fam->help, c.fam->name,
		    c.fam->type);
		families[i].emit(&c);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* ---- the endpoint ---- */

int
metrics_bind(const struct config *cfg, int *fd, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *res = NULL;
	*fd = -1;
	if (cfg->metrics_listen == NULL)
		return 0;
	int rc = getaddrinfo(cfg->metrics_host[0] ? cfg->metrics_host : NULL, cfg->metrics_port,
	    &hints, &res);
	if (rc != 0)
		return err_set(err, errlen, "[metrics] listen %s: %s", cfg->metrics_listen,
		    gai_strerror(rc));
	int s = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s, res->ai_addr, res->ai_addrlen) != 0 || listen(s, 16) != 0) {
		err_set(err, errlen, "[metrics] listen %s: %s", cfg->metrics_listen,
		    strerror(errno));
		if (s >= 0)
			close(s);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	*fd = s;
	return 0;
}

int
metrics_new(struct rogatoryd *d, int fd, struct metrics **out, char *err, size_t errlen)
{
	struct metrics *m = calloc(1, sizeof(*m));
	*out = NULL;
	if (m == NULL) {
		if (fd >= 0)
			close(fd);
		return err_set(err, errlen, "out of memory");
	}
	m->d = d;
	m->started_s = d != NULL ? d->started_wall_ms / 1000 : 0;
	if (d != NULL && d->events != NULL &&
	    (m->sub = events_subscribe(d->events, event_cb, m)) <= 0) {
		m->sub = 0;
		if (fd >= 0)
			close(fd);
		metrics_free(m);
		return err_set(err, errlen, "metrics: cannot follow the events");
	}
	if (d == NULL || fd < 0) {
		*out = m;
		return 0;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_INET6) {
		struct sockaddr_in6 s6;
		memcpy(&s6, &ss, sizeof(s6));
		m->port = ntohs(s6.sin6_port);
	} else if (ss.ss_family == AF_INET) {
		struct sockaddr_in s4;
		memcpy(&s4, &ss, sizeof(s4));
		m->port = ntohs(s4.sin_port);
	}
	static const struct httpd_limits lim = {.head_max = METRICS_HEADERS_MAX,
	    .body_max = METRICS_BODY_MAX, .head_ms = METRICS_HEAD_MS,
	    .deadline_ms = METRICS_DEADLINE_MS,
	    .conns_max = METRICS_CONNS_MAX};
	char herr[128];
	if (httpd_new(d->base, fd, &lim, http_cb, m, &m->http, herr, sizeof(herr)) != 0) {
		metrics_free(m);
		return err_set(err, errlen, "[metrics] listen %s: %s", d->cfg->metrics_listen, herr);
	}
	log_info("metrics on http://%s:%u/metrics", d->cfg->metrics_host[0] ?
	    d->cfg->metrics_host : "*", (unsigned)m->port);
	*out = m;
	return 0;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->sub > 0 && m->d != NULL && m->d->events != NULL)
		events_unsubscribe(m->d->events, m->sub);
	httpd_free(m->http);
	free(m->msgs);
	free(m);
}

uint16_t
metrics_port(const struct metrics *m)
{
	return m != NULL ? m->port : 0;
}

/* A text answer (a copy of text and a newline) into r. */
static void
reply_text(struct httpd_reply *r, int code, const char *reason, const char *text)
{
	size_t n = strlen(text);
	*r = (struct httpd_reply){.code = code, .reason = reason};
	if ((r->body = malloc(n + 1)) != NULL) {
		memcpy(r->body, text, n);
		r->body[n] = '\n';
		r->len = n + 1;
	}
}

static void
http_cb(void *arg, const char *method, const char *path, struct httpd_reply *r)
{
	struct metrics *m = arg;
	if (strcmp(path, "/metrics") != 0) {
		reply_text(r, 404, "Not Found", "not found: this port serves GET /metrics only");
		return;
	}
	if (strcmp(method, "GET") != 0) {
		reply_text(r, 405, "Method Not Allowed", "method not allowed: GET /metrics");
		r->allow = "GET";
		return;
	}
	struct snapshot s;
	const struct store_alert *alerts = NULL;
	size_t nalerts = m->d->alerts != NULL ? alerts_active(m->d->alerts, &alerts) : 0;
	size_t len = 0;
	char *text = snapshot_take(m->d, &s) == 0 ? metrics_render(m, &s, alerts, nalerts, &len)
	                                          : NULL;
	snapshot_free(&s);
	if (text == NULL) {
		reply_text(r, 500, "Internal Server Error", "out of memory");
		return;
	}
	*r = (struct httpd_reply){.code = 200, .reason = "OK", .body = text, .len = len,
	    .content_type = "text/plain; version=0.0.4; charset=utf-8"};
}
