/*
 * revocation: the effective CRL at work (contract in revocation.h). It must never fail
 * open (a CRL, once held, is in every new TLS context and re-checked on live links) and
 * never halt the network (an expired CRL admits CRL-only links, so the first authority
 * with a fresh CRL unblocks the rest). Error policy: a refused CRL is a log line; a TLS
 * context that cannot be rebuilt after an adoption is logged as an error and the live
 * links are still re-checked against the new list; nothing here is fatal.
 */
#include "revocation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "config.h"
#include "link.h"
#include "log.h"
#include "peer.h"
#include "rogatoryd.h"
#include "tls.h"

#define HOUR_S 3600

struct revocation {
	struct rogatoryd *d;
	struct crl *crl;        /* NULL: revocation is off */
	struct event *timer;
	time_t last_due_warn;   /* wall clock of the last "renew soon" warning */
};

static void revocation_apply(struct revocation *r);
static void revocation_judge(struct revocation *r, bool changed);
static void revocation_timer_cb(evutil_socket_t fd, short what, void *arg);
static void revocation_log_offer(enum crl_offer_result res, const char *msg);
static void revocation_send(struct revocation *r, struct link *l);

int
revocation_load(const struct config *cfg, struct crl **out, char *err, size_t errlen)
{
	*out = NULL;
	if (cfg->tls_crl == NULL)
		return 0;
	struct crl *c = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	char src[4200], msg[1024];
	if (crl_open(cfg->tls_ca, cfg->state_dir, &c, err, errlen) != 0)
		return -1;
	if (crl_file_read(cfg->tls_crl, &der, &len, err, errlen) != 0) {
		crl_free(c);
		return -1;
	}
	snprintf(src, sizeof(src), "file %s", cfg->tls_crl);
	enum crl_offer_result res = crl_offer(c, der, len, src, CRL_OFFER_BOOTSTRAP, msg,
	    sizeof(msg));
	free(der);
	if (res == CRL_OFFER_ERROR || crl_number(c) == 0) {
		err_set(err, errlen, "[tls] crl: no usable CRL: %s", msg);
		crl_free(c);
		return -1;
	}
	revocation_log_offer(res, msg);
	*out = c;
	return 0;
}

int
revocation_tls_new(const struct config *cfg, const struct crl *crl, struct tls **out,
    char *err, size_t errlen)
{
	struct tls *t = NULL;
	if (tls_new(cfg, &t, err, errlen) != 0)
		return -1;
	if (crl != NULL && crl_x509(crl) != NULL &&
	    tls_add_crl(t, crl_x509(crl), err, errlen) != 0) {
		tls_free(t);
		return -1;
	}
	*out = t;
	return 0;
}

void
revocation_check_config(const struct config *cfg, FILE *f)
{
	if (cfg->tls_crl == NULL) {
		fprintf(f, "%s: warning: revocation is off: [tls] crl is not set\n", cfg->path);
		return;
	}
	uint64_t n = 0;
	time_t next = 0, now = time(NULL);
	char err[512], t[32];
	if (crl_file_check(cfg->tls_crl, cfg->tls_ca, &n, &next, err, sizeof(err)) != 0)
		return;
	if (next <= now)
		fprintf(f, "%s: warning: [tls] crl %s (number %llu) expired at %s; unless a newer "
		    "CRL is stored in %s, the daemon runs in expired mode (CRL-only links)\n",
		    cfg->path, cfg->tls_crl, (unsigned long long)n, crl_time_str(next, t, sizeof(t)),
		    cfg->state_dir);
}

int
revocation_prepare(const struct config *cfg, struct crl **crl, struct tls **tls, char *err,
    size_t errlen)
{
	if (revocation_load(cfg, crl, err, errlen) != 0)
		return -1;
	if (revocation_tls_new(cfg, *crl, tls, err, errlen) != 0) {
		crl_free(*crl);
		*crl = NULL;
		return -1;
	}
	return 0;
}

int
revocation_new(struct rogatoryd *d, struct crl *crl, struct revocation **out, char *err,
    size_t errlen)
{
	struct revocation *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return err_set(err, errlen, "out of memory");
	r->d = d;
	r->timer = event_new(d->base, -1, EV_PERSIST, revocation_timer_cb, r);
	struct timeval tv = {.tv_sec = REVOCATION_CHECK_S};
	if (r->timer == NULL || event_add(r->timer, &tv) != 0) {
		if (r->timer != NULL)
			event_free(r->timer);
		free(r);
		return err_set(err, errlen, "cannot start the CRL timer");
	}
	r->crl = crl;
	revocation_judge(r, true);
	*out = r;
	return 0;
}

void
revocation_free(struct revocation *r)
{
	if (r == NULL)
		return;
	event_free(r->timer);
	crl_free(r->crl);
	free(r);
}

void
revocation_stop(struct revocation *r)
{
	if (r != NULL)
		event_del(r->timer);
}

void
revocation_replace(struct revocation *r, struct crl *crl)
{
	uint64_t before = crl_number(r->crl);
	crl_free(r->crl);
	r->crl = crl;
	if (crl_number(crl) > before)
		peers_crl_changed(r->d->peers);
	revocation_judge(r, true);
}

const struct crl *
revocation_crl(const struct revocation *r)
{
	return r != NULL ? r->crl : NULL;
}

uint64_t
revocation_number(const struct revocation *r)
{
	return r != NULL ? crl_number(r->crl) : 0;
}

static void
revocation_log_offer(enum crl_offer_result res, const char *msg)
{
	switch (res) {
	case CRL_OFFER_ADOPTED:
		log_notice("%s", msg);
		break;
	case CRL_OFFER_NOT_NEWER:
		log_info("%s", msg);
		break;
	case CRL_OFFER_INVALID:
		log_warn("%s", msg);
		break;
	case CRL_OFFER_ERROR:
		log_err("%s", msg);
		break;
	}
}

enum crl_offer_result
revocation_offer(struct revocation *r, const uint8_t *der, size_t len, const char *source,
    char *msg, size_t msglen)
{
	if (r->crl == NULL) {
		snprintf(msg, msglen, "CRL from %s ignored: revocation is off ([tls] crl is not "
		    "set)", source);
		log_info("%s", msg);
		return CRL_OFFER_INVALID;
	}
	enum crl_offer_result res = crl_offer(r->crl, der, len, source, 0, msg, msglen);
	revocation_log_offer(res, msg);
	if (res == CRL_OFFER_ADOPTED)
		revocation_apply(r);
	return res;
}

/* A new effective CRL: new handshakes check it, live links are re-checked, and it
 * spreads to every authority (Crl on ready links, one dial to the others). */
static void
revocation_apply(struct revocation *r)
{
	struct rogatoryd *d = r->d;
	struct tls *nt = NULL;
	char err[512];
	if (revocation_tls_new(d->cfg, r->crl, &nt, err, sizeof(err)) != 0) {
		log_err("CRL number %llu adopted, but the TLS context cannot be rebuilt: %s; "
		        "new handshakes are checked against the previous CRL until a reload "
		        "succeeds (live links are re-checked against the new one)",
		    (unsigned long long)crl_number(r->crl), err);
	} else {
		/* Links keep a reference to the context they were made with. */
		tls_free(d->tls);
		d->tls = nt;
	}
	peers_crl_changed(d->peers);
	revocation_judge(r, true);
}

/* Says how things stand: off, expired (loudly, every check), due for renewal (on a
 * change, then hourly). */
static void
revocation_judge(struct revocation *r, bool changed)
{
	char t[32];
	time_t now = time(NULL);
	if (r->crl == NULL) {
		if (changed)
			log_warn("revocation is off: [tls] crl is not set; revoked certificates are "
			         "accepted");
		return;
	}
	unsigned long long n = (unsigned long long)crl_number(r->crl);
	time_t next = crl_next_update(r->crl);
	if (crl_expired(r->crl, now)) {
		log_err("CRL EXPIRED: our CRL number %llu passed its nextUpdate %s; peers are "
		        "admitted only on CRL-only links until a fresh CRL arrives (rogatory-pki "
		        "crl, then rogatoryctl crl install FILE on any one authority)",
		    n, crl_time_str(next, t, sizeof(t)));
		return;
	}
	if (crl_renewal_due(r->crl, now)) {
		if (changed || now - r->last_due_warn >= HOUR_S) {
			log_warn("CRL number %llu expires at %s (in %.1f h): the network operator "
			         "should issue a fresh one (rogatory-pki crl)",
			    n, crl_time_str(next, t, sizeof(t)), (double)(next - now) / HOUR_S);
			r->last_due_warn = now;
		}
		return;
	}
	if (changed)
		log_info("revocation is on: CRL number %llu from %s, nextUpdate %s, %zu revoked", n,
		    crl_source(r->crl), crl_time_str(next, t, sizeof(t)),
		    crl_revoked_count(r->crl));
}

static void
revocation_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct revocation *r = arg;
	revocation_judge(r, false);
	peers_recheck(r->d->peers);
}

bool
revocation_link_revoked(const struct revocation *r, const struct link *l)
{
	return r != NULL && r->crl != NULL &&
	    crl_serial_revoked(r->crl, link_peer_cert_serial(l));
}

/* Our CRL in a Crl frame, when it is valid and the peer's is older. */
static void
revocation_send(struct revocation *r, struct link *l)
{
	size_t len = 0;
	const uint8_t *der = r->crl != NULL ? crl_der(r->crl, &len) : NULL;
	uint64_t ours = crl_number(r->crl), theirs = link_peer_crl_number(l);
	/* An expired CRL would only be refused: never sent. */
	if (der == NULL || ours <= theirs || crl_expired(r->crl, time(NULL)))
		return;
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Crl m = ROGATORY__V1__CRL__INIT;
	m.der.data = (uint8_t *)der;
	m.der.len = len;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_CRL;
	env.crl = &m;
	if (link_send(l, &env) == 0) {
		link_set_peer_crl_number(l, ours);
		log_info("sent CRL number %llu to %s (it held %llu)", (unsigned long long)ours,
		    link_peer_id(l), (unsigned long long)theirs);
	}
}

bool
revocation_link_ready(struct revocation *r, struct link *l)
{
	if (link_state(l) != LINK_READY)
		return false;
	if (revocation_link_revoked(r, l)) {
		char why[128];
		snprintf(why, sizeof(why), "certificate revoked (serial %s)",
		    link_peer_cert_serial(l));
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_CERTIFICATE, why);
		return false;
	}
	revocation_send(r, l);
	if (!link_crl_only(l))
		return true;
	/* Wait only when the peer announced a newer CRL: it sends it, or the link's
	 * handshake_timeout ends the wait. */
	if (link_peer_crl_number(l) <= revocation_number(r))
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED,
		    "CRL exchange done (nothing newer to receive)");
	return false;
}

void
revocation_link_crl(struct revocation *r, struct link *l, const uint8_t *der, size_t len)
{
	char src[400], msg[1024];
	snprintf(src, sizeof(src), "peer %s (%s)", link_peer_id(l), link_subject(l));
	enum crl_offer_result res;
	if (r->crl == NULL) {
		snprintf(msg, sizeof(msg), "CRL from %s ignored: revocation is off ([tls] crl is "
		    "not set)", src);
		log_info("%s", msg);
		res = CRL_OFFER_INVALID;
	} else {
		res = crl_offer(r->crl, der, len, src, 0, msg, sizeof(msg));
		revocation_log_offer(res, msg);
	}
	if (res == CRL_OFFER_ADOPTED)
		link_set_peer_crl_number(l, crl_number(r->crl));
	/* Closed before the spread, so the peer counts as unlinked and is dialed anew with
	 * the fresh CRL. */
	if (link_crl_only(l))
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED,
		    res == CRL_OFFER_ADOPTED ? "CRL exchange done (adopted the peer's CRL)"
		                             : "CRL exchange done (the peer's CRL was not taken)");
	if (res == CRL_OFFER_ADOPTED)
		revocation_apply(r);
}
