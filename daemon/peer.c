/*
 * peer: per-authority link bookkeeping. It must never admit an inbound link from an
 * authority outside the directory, never let unauthenticated connections grow past
 * max_unauthenticated, and never let one dead peer delay another (each has its own
 * backoff timer). Errors here are per link and logged by link; nothing is fatal.
 */
#include "peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "audit.h"
#include "backoff.h"
#include "config.h"
#include "inbox.h"
#include "journal.h"
#include "outbox.h"
#include "retrieval.h"
#include "revocation.h"
#include "directory.h"
#include "dirlink.h"
#include "dirsig.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "rogatoryd.h"
#include "witness.h"


struct peer;

/* Owner data of every link: which peer it belongs to (NULL while unauthenticated). */
struct plink {
	struct link *link;
	bool up;              /* reached ready (Hello exchanged) */
	struct peer *peer;
	struct peers *ps;
	struct plink *next;
	struct plink *prev;
};

struct peer {
	struct peers *ps;
	char id[AUTHORITY_ID_MAX + 1];
	char *name;
	char *address;
	char *host;
	char *port;
	bool removed;
	bool wanted;          /* dial (again) until a link is up */
	struct plink *links;  /* this peer's links, both directions */
	unsigned nlinks;
	struct plink *dialing; /* our outbound link while it is being set up or is up */
	unsigned attempts;     /* failed dials since the last success */
	struct event *retry;
	uint64_t retry_at_ms;
	int64_t last_contact_ms;
	char last_error[300];
	time_t cert_not_after;
	struct link_rate *rate; /* [limits] peer_read_rate over all its links; lazily made */
	struct peer *next;
};

struct peers {
	struct rogatoryd *d;
	struct peer *list;
	size_t n;
	struct plink *pending; /* inbound, not yet authenticated */
	unsigned npending;
	struct event *sweep;   /* drops removed peers whose last link closed, from the loop */
};

static void peer_link_attach(struct peer *p, struct plink *pl);
static void peer_link_detach(struct plink *pl);
static void pending_remove(struct peers *ps, struct plink *pl);
static struct peer *peer_find(const struct peers *ps, const char *id);
static struct peer *peer_add(struct peers *ps, const struct authority *a);
static void peer_free(struct peer *p);
static void peer_dial(struct peer *p);
static void peers_recheck_revoked(struct peers *ps);
static void peer_schedule_retry(struct peer *p);
static void peer_retry_cb(evutil_socket_t fd, short what, void *arg);
static void peers_sweep_cb(evutil_socket_t fd, short what, void *arg);
static void peers_drop_removed(struct peers *ps);
static void peer_limit_inbound(struct peer *p, const struct plink *newest);
static void link_params_from(const struct rogatoryd *d, struct link_params *lp);
static int cb_authorize(void *owner, struct link *l, const char *peer_id,
    Rogatory__V1__ErrorCode *code, char *why, size_t whylen);
static void cb_hello(void *owner, struct link *l, Rogatory__V1__Hello *h);
static void cb_ready(void *owner, struct link *l);
static void cb_frame(void *owner, struct link *l, const Rogatory__V1__Envelope *env);
static void cb_chunk(void *owner, struct link *l, const struct wirechunk_head *h,
    struct evbuffer *in);
static void cb_closed(void *owner, struct link *l, bool authenticated, const char *reason);
static void cb_drained(void *owner, struct link *l);

static const struct link_callbacks peer_link_cbs = {
	.authorize = cb_authorize,
	.hello = cb_hello,
	.ready = cb_ready,
	.frame = cb_frame,
	.chunk = cb_chunk,
	.drained = cb_drained,
	.closed = cb_closed,
};

static void
cb_drained(void *owner, struct link *l)
{
	struct plink *pl = owner;
	if (pl->ps != NULL && pl->peer != NULL && pl->up && link_dir(l) == LINK_OUTBOUND &&
	    pl->ps->d->outbox != NULL)
		outbox_link_drained(pl->ps->d->outbox, l);
}

const char *
peer_state_name(enum peer_state s)
{
	switch (s) {
	case PEER_IDLE:
		return "idle";
	case PEER_CONNECTING:
		return "connecting";
	case PEER_UP:
		return "up";
	case PEER_BACKOFF:
		return "backoff";
	}
	return "unknown";
}

struct peers *
peers_new(struct rogatoryd *d)
{
	struct peers *ps = calloc(1, sizeof(*ps));
	if (ps == NULL)
		return NULL;
	ps->d = d;
	ps->sweep = evtimer_new(d->base, peers_sweep_cb, ps);
	if (ps->sweep == NULL) {
		free(ps);
		return NULL;
	}
	peers_sync(ps, d->cfg->directory);
	return ps;
}

static void
peer_free(struct peer *p)
{
	if (p->retry != NULL)
		event_free(p->retry);
	link_rate_release(p->rate);
	free(p->name);
	free(p->address);
	free(p->host);
	free(p->port);
	free(p);
}

void
peers_free(struct peers *ps)
{
	if (ps == NULL)
		return;
	/* Links still open hold pointers to their plink; the caller closes them first
	 * (peers_close_all) and lets the loop run them down. */
	struct peer *p = ps->list;
	while (p != NULL) {
		struct peer *next = p->next;
		for (struct plink *pl = p->links; pl != NULL; pl = pl->next) {
			pl->peer = NULL;
			pl->ps = NULL;
		}
		peer_free(p);
		p = next;
	}
	for (struct plink *pl = ps->pending; pl != NULL; pl = pl->next)
		pl->ps = NULL;
	event_free(ps->sweep);
	free(ps);
}

static struct peer *
peer_find(const struct peers *ps, const char *id)
{
	for (struct peer *p = ps->list; p != NULL; p = p->next)
		if (!p->removed && strcmp(p->id, id) == 0)
			return p;
	return NULL;
}

static struct peer *
peer_add(struct peers *ps, const struct authority *a)
{
	struct peer *p = calloc(1, sizeof(*p));
	if (p == NULL)
		fatal("out of memory");
	p->ps = ps;
	snprintf(p->id, sizeof(p->id), "%s", a->id);
	p->retry = evtimer_new(ps->d->base, peer_retry_cb, p);
	if (p->retry == NULL)
		fatal("out of memory");
	/* Append, so listing order follows the directory. */
	struct peer **tail = &ps->list;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = p;
	ps->n++;
	return p;
}

static char *
xstrdup(const char *s)
{
	char *r = strdup(s ? s : "");
	if (r == NULL)
		fatal("out of memory");
	return r;
}

void
peers_sync(struct peers *ps, const struct directory *dir)
{
	for (struct peer *p = ps->list; p != NULL; p = p->next) {
		if (p->removed || directory_find(dir, p->id) != NULL)
			continue;
		p->removed = true;
		p->wanted = false;
		evtimer_del(p->retry);
		log_notice("authority %s was removed from the directory; closing its links", p->id);
		/* link_close may run the closed callback at once, which frees the plink. */
		for (struct plink *pl = p->links, *next; pl != NULL; pl = next) {
			next = pl->next;
			log_notice("authority %s removed from the directory: closing its link %s "
			    "(certificate %s)", p->id, link_remote(pl->link), link_subject(pl->link));
			link_close(pl->link, ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_AUTHORITY,
			    "authority removed from the directory");
		}
	}
	for (size_t i = 0; i < dir->n; i++) {
		const struct authority *a = &dir->authorities[i];
		if (strcmp(a->id, ps->d->cfg->authority_id) == 0)
			continue;
		struct peer *p = peer_find(ps, a->id);
		if (p == NULL)
			p = peer_add(ps, a);
		free(p->name);
		free(p->address);
		free(p->host);
		free(p->port);
		if (p->rate != NULL)
			link_rate_set(p->rate, ps->d->cfg->peer_read_rate, ps->d->cfg->max_frame);
		p->name = xstrdup(a->name);
		p->address = xstrdup(a->address);
		p->host = xstrdup(a->host);
		p->port = xstrdup(a->port);
	}
	peers_drop_removed(ps);
}

/* Removed peers whose links are all gone. Never called from inside a link callback: a
 * caller up the stack may be walking the list. */
static void
peers_drop_removed(struct peers *ps)
{
	struct peer **pp = &ps->list;
	while (*pp != NULL) {
		struct peer *p = *pp;
		if (p->removed && p->nlinks == 0) {
			*pp = p->next;
			ps->n--;
			peer_free(p);
		} else {
			pp = &p->next;
		}
	}
}

void
peers_recheck(struct peers *ps)
{
	time_t now = time(NULL);
	for (struct peer *p = ps->list; p != NULL; p = p->next) {
		for (struct plink *pl = p->links, *next; pl != NULL; pl = next) {
			next = pl->next;
			if (link_authenticated(pl->link) && link_peer_not_after(pl->link) < now)
				link_close(pl->link, ROGATORY__V1__ERROR_CODE__ERROR_CODE_CERTIFICATE,
				    "peer certificate expired while linked");
		}
	}
	peers_recheck_revoked(ps);
}

/* Links whose peer certificate the effective CRL lists: closed with Error CERTIFICATE. */
static void
peers_recheck_revoked(struct peers *ps)
{
	struct revocation *r = ps->d->revocation;
	for (struct peer *p = ps->list; p != NULL; p = p->next) {
		for (struct plink *pl = p->links, *next; pl != NULL; pl = next) {
			next = pl->next;
			if (!link_authenticated(pl->link) || link_state(pl->link) == LINK_CLOSING ||
			    !revocation_link_revoked(r, pl->link))
				continue;
			char why[128];
			snprintf(why, sizeof(why), "certificate revoked (serial %s)",
			    link_peer_cert_serial(pl->link));
			link_close(pl->link, ROGATORY__V1__ERROR_CODE__ERROR_CODE_CERTIFICATE, why);
		}
	}
}

void
peers_crl_changed(struct peers *ps)
{
	struct rogatoryd *d = ps->d;
	peers_recheck(ps);
	for (struct peer *p = ps->list; p != NULL; p = p->next) {
		if (p->removed)
			continue;
		bool linked = false;
		for (struct plink *pl = p->links, *next; pl != NULL; pl = next) {
			next = pl->next;
			if (link_state(pl->link) != LINK_READY || link_crl_only(pl->link))
				continue;
			linked = true;
			revocation_link_ready(d->revocation, pl->link);
		}
		/* A CRL-only or closing dial will not carry the new list: dial anew. */
		struct link *dl = p->dialing != NULL ? p->dialing->link : NULL;
		bool dialing = dl != NULL && link_state(dl) != LINK_CLOSING && !link_crl_only(dl);
		if (!linked && !dialing && !d->stopping) {
			/* Once, without `wanted`: the point is that the list reaches authorities
			 * we have no traffic with; a failure is not retried. */
			evtimer_del(p->retry);
			log_info("peer %s: dialing once to pass on CRL number %llu", p->id,
			    (unsigned long long)revocation_number(d->revocation));
			peer_dial(p);
		}
	}
}

void
peers_directory_spread(struct peers *ps)
{
	for (struct peer *p = ps->list; p != NULL; p = p->next) {
		if (p->removed)
			continue;
		for (struct plink *pl = p->links, *next; pl != NULL; pl = next) {
			next = pl->next;
			if (link_state(pl->link) == LINK_READY && !link_crl_only(pl->link))
				dirlink_ready(ps->d, pl->link);
		}
	}
}

static void
link_params_from(const struct rogatoryd *d, struct link_params *lp)
{
	const struct config *c = d->cfg;
	memset(lp, 0, sizeof(*lp));
	lp->handshake_timeout_ms = c->handshake_timeout_ms;
	lp->keepalive_ms = c->keepalive_ms;
	lp->dead_after_ms = c->dead_after_ms;
	lp->max_frame = c->max_frame;
	lp->max_output = c->max_link_output;
	lp->our_id = c->authority_id;
	lp->window = c->window;
	lp->max_message_size = c->max_message_size;
	lp->crl_number = revocation_number(d->revocation);
}

void
peers_accept(struct peers *ps, int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct rogatoryd *d = ps->d;
	if (ps->npending >= d->cfg->max_unauthenticated && ps->pending != NULL) {
		/* The list is newest first: the oldest is at the tail. */
		struct plink *old = ps->pending;
		while (old->next != NULL)
			old = old->next;
		link_close(old->link, ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED,
		    "evicted: too many unauthenticated connections (max_unauthenticated)");
	}
	struct plink *pl = calloc(1, sizeof(*pl));
	if (pl == NULL) {
		close(fd);
		log_ratelimited(2, "out of memory accepting a connection");
		return;
	}
	struct link_params lp;
	link_params_from(d, &lp);
	char err[256];
	pl->ps = ps;
	pl->link = link_accept(d->base, d->tls, fd, sa, salen, &lp, &peer_link_cbs, pl, err,
	    sizeof(err));
	if (pl->link == NULL) {
		log_ratelimited(2, "cannot accept a connection: %s", err);
		free(pl);
		return;
	}
	pl->next = ps->pending;
	if (ps->pending != NULL)
		ps->pending->prev = pl;
	ps->pending = pl;
	ps->npending++;
}

static void
pending_remove(struct peers *ps, struct plink *pl)
{
	if (pl->prev != NULL)
		pl->prev->next = pl->next;
	else
		ps->pending = pl->next;
	if (pl->next != NULL)
		pl->next->prev = pl->prev;
	pl->next = pl->prev = NULL;
	ps->npending--;
}

static void
peer_link_attach(struct peer *p, struct plink *pl)
{
	pl->peer = p;
	pl->prev = NULL;
	pl->next = p->links;
	if (p->links != NULL)
		p->links->prev = pl;
	p->links = pl;
	p->nlinks++;
}

static void
peer_link_detach(struct plink *pl)
{
	struct peer *p = pl->peer;
	if (pl->prev != NULL)
		pl->prev->next = pl->next;
	else
		p->links = pl->next;
	if (pl->next != NULL)
		pl->next->prev = pl->prev;
	p->nlinks--;
	if (p->dialing == pl)
		p->dialing = NULL;
	pl->peer = NULL;
}

static int
cb_authorize(void *owner, struct link *l, const char *peer_id, Rogatory__V1__ErrorCode *code,
    char *why, size_t whylen)
{
	(void)l;
	struct plink *pl = owner;
	struct peers *ps = pl->ps;
	struct peer *p = ps ? peer_find(ps, peer_id) : NULL;
	if (p == NULL) {
		*code = ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_AUTHORITY;
		snprintf(why, whylen, "unknown authority: %s is not in our directory", peer_id);
		return -1;
	}
	pending_remove(ps, pl);
	peer_link_attach(p, pl);
	peer_limit_inbound(p, pl);
	return 0;
}

/* An authority holds at most [limits] max_peer_links authenticated inbound links: a
 * further one closes its oldest (a peer reconnecting leaves one stale link behind; one
 * opening link after link would otherwise cost a link's memory each). */
static void
peer_limit_inbound(struct peer *p, const struct plink *newest)
{
	unsigned max = p->ps->d->cfg->max_peer_links, n = 0;
	struct plink *oldest = NULL;
	for (struct plink *pl = p->links; pl != NULL; pl = pl->next) {
		if (link_dir(pl->link) != LINK_INBOUND || link_state(pl->link) == LINK_CLOSING)
			continue;
		n++;
		if (pl == newest)
			continue;
		if (oldest == NULL || link_created_ms(pl->link) < link_created_ms(oldest->link))
			oldest = pl;
	}
	if (n <= max || oldest == NULL)
		return;
	char why[200];
	snprintf(why, sizeof(why), "%s has %u inbound links, more than [limits] max_peer_links "
	    "(%u): its oldest is closed", p->id, n, max);
	log_warn("peer %s: closing the inbound link from %s (%s): %s", p->id,
	    link_remote(oldest->link), link_subject(oldest->link), why);
	link_close(oldest->link, ROGATORY__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, why);
}

/* Our Hello tells each peer how much of its audit log we witnessed. */
static void
cb_hello(void *owner, struct link *l, Rogatory__V1__Hello *h)
{
	struct plink *pl = owner;
	if (pl->ps != NULL && pl->ps->d->witness != NULL)
		h->audit_witnessed = witness_held_size(pl->ps->d->witness, link_peer_id(l));
	if (pl->ps != NULL)
		h->directory_serial = dirsig_serial(pl->ps->d->dirsig);
}

static void
cb_ready(void *owner, struct link *l)
{
	struct plink *pl = owner;
	struct peer *p = pl->peer;
	if (p == NULL)
		return;
	/* Revocation first: a revoked peer or a CRL-only link never reaches delivery. */
	if (!revocation_link_ready(p->ps->d->revocation, l))
		return;
	p->last_contact_ms = link_wall_ms();
	p->cert_not_after = link_peer_not_after(l);
	p->last_error[0] = '\0';
	pl->up = true;
	struct rogatoryd *d = p->ps->d;
	/* One read budget for all of this authority's links, whoever dialed. */
	if (p->rate == NULL)
		p->rate = link_rate_new(d->base, d->cfg->peer_read_rate, d->cfg->max_frame);
	if (p->rate != NULL)
		link_rate_join(l, p->rate);
	journal_link_event(d, "link-up", p->id,
	    link_dir(l) == LINK_OUTBOUND ? STORE_OUT : STORE_IN, link_remote(l));
	if (d->audit != NULL)
		audit_link_ready(d->audit, l);
	if (d->retrieval != NULL)
		retrieval_link_ready(d->retrieval, l);
	dirlink_ready(d, l);
	if (link_dir(l) == LINK_OUTBOUND) {
		p->attempts = 0;
		p->wanted = false;
		evtimer_del(p->retry);
		if (d->outbox != NULL)
			outbox_link_ready(d->outbox, l);
	}
}

/* A Chunk read in place (inbound links only: the link sees to that). */
static void
cb_chunk(void *owner, struct link *l, const struct wirechunk_head *h, struct evbuffer *in)
{
	struct plink *pl = owner;
	if (pl->peer != NULL)
		pl->peer->last_contact_ms = link_wall_ms();
	if (pl->ps != NULL)
		inbox_chunk_data(pl->ps->d->inbox, l, h, in);
}

static void
cb_frame(void *owner, struct link *l, const Rogatory__V1__Envelope *env)
{
	struct plink *pl = owner;
	struct rogatoryd *d = pl->ps != NULL ? pl->ps->d : NULL;
	if (pl->peer != NULL)
		pl->peer->last_contact_ms = link_wall_ms();
	if (d == NULL)
		return;
	/* Transfers travel on links the sender dialed, receipts come back on them. */
	bool inbound = link_dir(l) == LINK_INBOUND;
	switch (env->msg_case) {
	case ROGATORY__V1__ENVELOPE__MSG_CRL:
		/* Either direction: a newer CRL is taken from any authenticated peer. */
		revocation_link_crl(d->revocation, l, env->crl->der.data, env->crl->der.len);
		return;
	case ROGATORY__V1__ENVELOPE__MSG_DIRECTORY:
		/* Either direction, like a Crl: a newer signed directory from any peer. */
		dirlink_frame(d, l, env->directory);
		return;
	case ROGATORY__V1__ENVELOPE__MSG_WITNESS:
		/* Either direction: checkpoints and their answers ride any ready link. */
		if (d->audit != NULL)
			audit_frame(d->audit, l, env->witness);
		return;
	case ROGATORY__V1__ENVELOPE__MSG_RETRIEVAL:
	case ROGATORY__V1__ENVELOPE__MSG_RETRIEVAL_RECEIPT:
		/* Either direction, on a link that speaks version 2 (section 16). */
		if (link_version(l) < PROTOCOL_VERSION_RETRIEVAL)
			break;
		if (d->retrieval != NULL)
			retrieval_frame(d->retrieval, l, env);
		return;
	case ROGATORY__V1__ENVELOPE__MSG_TRANSFER:
		if (inbound) {
			inbox_transfer(d->inbox, l, env->transfer);
			return;
		}
		break;
	case ROGATORY__V1__ENVELOPE__MSG_CHUNK:
		if (inbound) {
			inbox_chunk(d->inbox, l, env->chunk);
			return;
		}
		break;
	case ROGATORY__V1__ENVELOPE__MSG_RESUME:
		/* Receiver -> sender, on a link that speaks version 3 (section 8.1). */
		if (!inbound && link_version(l) >= PROTOCOL_VERSION_RESUME) {
			outbox_resume(d->outbox, l, env->resume);
			return;
		}
		break;
	case ROGATORY__V1__ENVELOPE__MSG_RECEIPT:
		if (!inbound) {
			outbox_receipt(d->outbox, l, env->receipt);
			return;
		}
		break;
	case ROGATORY__V1__ENVELOPE__MSG_ERROR:
		if (!inbound) {
			outbox_error(d->outbox, l, env->error);
			return;
		}
		log_warn("peer %s: error on an inbound link: %s: %.*s", link_peer_id(l),
		    wire_error_code_name(env->error->code), (int)env->error->text.len,
		    (const char *)env->error->text.data);
		return;
	default:
		break;
	}
	char why[128];
	snprintf(why, sizeof(why), "frame type %d not accepted on an %s link", (int)env->msg_case,
	    inbound ? "inbound" : "outbound");
	link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, why);
}

static void
cb_closed(void *owner, struct link *l, bool authenticated, const char *reason)
{
	struct plink *pl = owner;
	struct peer *p = pl->peer;
	if (!authenticated && pl->ps != NULL)
		metrics_refusal(pl->ps->d->metrics, reason);
	if (pl->ps != NULL && link_dir(l) == LINK_INBOUND && pl->ps->d->inbox != NULL)
		inbox_link_down(pl->ps->d->inbox, l);
	if (p == NULL) {
		if (pl->ps != NULL && link_dir(l) == LINK_INBOUND)
			pending_remove(pl->ps, pl);
		free(pl);
		return;
	}
	bool was_dial = p->dialing == pl;
	struct rogatoryd *d = p->ps->d;
	if (pl->up) {
		journal_link_event(d, "link-down", p->id,
		    link_dir(l) == LINK_OUTBOUND ? STORE_OUT : STORE_IN, reason);
		if (link_dir(l) == LINK_OUTBOUND && d->outbox != NULL)
			outbox_link_down(d->outbox, l, reason);
		if (d->retrieval != NULL)
			retrieval_link_down(d->retrieval, p->id, link_serial(l));
	}
	snprintf(p->last_error, sizeof(p->last_error), "%s", reason);
	if (link_authenticated(l))
		p->last_contact_ms = link_wall_ms();
	peer_link_detach(pl);
	free(pl);
	if (p->removed) {
		/* Not now: whoever closed the link may still be walking the peer list. */
		if (p->nlinks == 0)
			event_active(p->ps->sweep, EV_TIMEOUT, 0);
		return;
	}
	if (was_dial && p->wanted && !p->ps->d->stopping) {
		p->attempts++;
		peer_schedule_retry(p);
	}
}

static void
peer_schedule_retry(struct peer *p)
{
	const struct config *c = p->ps->d->cfg;
	uint64_t delay = backoff_delay_ms(c->retry_min_ms, c->retry_max_ms, p->attempts,
	    backoff_random());
	struct timeval tv = {.tv_sec = (time_t)(delay / 1000),
	    .tv_usec = (suseconds_t)((delay % 1000) * 1000)};
	p->retry_at_ms = link_now_ms() + delay;
	evtimer_add(p->retry, &tv);
	log_info("peer %s: next dial in %.1f s (attempt %u)", p->id, (double)delay / 1000.0,
	    p->attempts + 1);
}

static void
peers_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	peers_drop_removed(arg);
}

static void
peer_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct peer *p = arg;
	if (p->wanted && p->dialing == NULL)
		peer_dial(p);
}

static void
peer_dial(struct peer *p)
{
	struct rogatoryd *d = p->ps->d;
	struct plink *pl = calloc(1, sizeof(*pl));
	if (pl == NULL)
		fatal("out of memory");
	struct link_params lp;
	link_params_from(d, &lp);
	char err[256];
	pl->ps = p->ps;
	pl->link = link_dial(d->base, d->dns, d->tls, p->host, p->port, p->id, &lp,
	    &peer_link_cbs, pl, err, sizeof(err));
	if (pl->link == NULL) {
		free(pl);
		snprintf(p->last_error, sizeof(p->last_error), "%s", err);
		log_warn("peer %s: %s", p->id, err);
		p->attempts++;
		peer_schedule_retry(p);
		return;
	}
	peer_link_attach(p, pl);
	p->dialing = pl;
	log_debug("peer %s: dialing %s", p->id, p->address);
}

int
peers_connect(struct peers *ps, const char *id, char *err, size_t errlen)
{
	if (strcmp(id, ps->d->cfg->authority_id) == 0)
		return err_set(err, errlen, "%s is this authority", id);
	if (ps->d->stopping)
		return err_set(err, errlen, "shutting down");
	struct peer *p = peer_find(ps, id);
	if (p == NULL)
		return err_set(err, errlen, "unknown authority %s (not in the directory)", id);
	p->wanted = true;
	if (p->dialing != NULL)
		return 0;
	evtimer_del(p->retry);
	peer_dial(p);
	return 0;
}

bool
peers_want(struct peers *ps, const char *id)
{
	struct peer *p = peer_find(ps, id);
	if (p == NULL)
		return false;
	if (ps->d->stopping)
		return true;
	if (!p->wanted) {
		p->wanted = true;
		/* A dial in backoff keeps its timer; only an idle peer is dialed now. */
		if (p->dialing == NULL && !evtimer_pending(p->retry, NULL))
			peer_dial(p);
	}
	return true;
}

struct link *
peers_ready_link(const struct peers *ps, const char *id)
{
	struct peer *p = peer_find((struct peers *)ps, id);
	if (p == NULL)
		return NULL;
	for (struct plink *pl = p->links; pl != NULL; pl = pl->next)
		if (pl->up && link_state(pl->link) == LINK_READY && !link_crl_only(pl->link))
			return pl->link;
	return NULL;
}

void
peers_hold_inbound(struct peers *ps, const char *id, unsigned hold, bool on)
{
	for (struct peer *p = ps->list; p != NULL; p = p->next) {
		if (id != NULL && strcmp(p->id, id) != 0)
			continue;
		for (struct plink *pl = p->links; pl != NULL; pl = pl->next)
			if (link_dir(pl->link) == LINK_INBOUND)
				link_hold(pl->link, hold, on);
	}
}

struct link *
peers_link_find(const struct peers *ps, uint64_t serial)
{
	for (const struct peer *p = ps->list; p != NULL; p = p->next)
		for (const struct plink *pl = p->links; pl != NULL; pl = pl->next)
			if (link_serial(pl->link) == serial)
				return pl->link;
	return NULL;
}

void
peers_close_all(struct peers *ps, const char *reason)
{
	for (struct peer *p = ps->list; p != NULL; p = p->next) {
		p->wanted = false;
		evtimer_del(p->retry);
		/* A link with nothing left to flush closes at once, and its plink goes with it:
		 * take the next one first. */
		for (struct plink *pl = p->links, *next; pl != NULL; pl = next) {
			next = pl->next;
			link_close(pl->link, ROGATORY__V1__ERROR_CODE__ERROR_CODE_SHUTTING_DOWN, reason);
		}
	}
	for (struct plink *pl = ps->pending, *next; pl != NULL; pl = next) {
		next = pl->next;
		link_close(pl->link, ROGATORY__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED, reason);
	}
}

size_t
peers_count(const struct peers *ps)
{
	size_t n = 0;
	for (struct peer *p = ps->list; p != NULL; p = p->next)
		if (!p->removed)
			n++;
	return n;
}

static unsigned
peer_links_up(const struct peer *p)
{
	unsigned n = 0;
	for (const struct plink *pl = p->links; pl != NULL; pl = pl->next)
		if (link_state(pl->link) == LINK_READY && !link_crl_only(pl->link))
			n++;
	return n;
}

static void
peer_info_of(const struct peer *p, struct peer_info *out)
{
	memset(out, 0, sizeof(*out));
	out->id = p->id;
	out->name = p->name;
	out->address = p->address;
	out->links_up = peer_links_up(p);
	out->last_contact_ms = p->last_contact_ms;
	out->last_error = p->last_error;
	out->cert_not_after = p->cert_not_after;
	if (out->links_up > 0)
		out->state = PEER_UP;
	else if (p->dialing != NULL)
		out->state = PEER_CONNECTING;
	else if (evtimer_pending(p->retry, NULL)) {
		out->state = PEER_BACKOFF;
		uint64_t now = link_now_ms();
		out->retry_in_ms = p->retry_at_ms > now ? p->retry_at_ms - now : 0;
	} else
		out->state = PEER_IDLE;
}

struct peer_info *
peers_info_all(const struct peers *ps, size_t *n)
{
	size_t count = peers_count(ps), i = 0;
	struct peer_info *v = calloc(count > 0 ? count : 1, sizeof(*v));
	if (v == NULL)
		fatal("out of memory");
	for (const struct peer *p = ps->list; p != NULL && i < count; p = p->next)
		if (!p->removed)
			peer_info_of(p, &v[i++]);
	*n = i;
	return v;
}

unsigned
peers_links_up(const struct peers *ps)
{
	unsigned n = 0;
	for (const struct peer *p = ps->list; p != NULL; p = p->next)
		n += peer_links_up(p);
	return n;
}

unsigned
peers_links_open(const struct peers *ps)
{
	unsigned n = ps->npending;
	for (const struct peer *p = ps->list; p != NULL; p = p->next)
		n += p->nlinks;
	return n;
}

unsigned
peers_unauthenticated(const struct peers *ps)
{
	return ps->npending;
}
