/*
 * audit: our checkpoints and their witnesses (contract in audit.h). It must never sign a
 * checkpoint of a tree it has not seen committed (the size and root come from a store op
 * ordered after every event before it), never offer a checkpoint before it is stored,
 * and never keep a cosignature that does not name our stored checkpoint exactly.
 *
 * Error policy: a checkpoint that cannot be signed or stored is logged (error) and tried
 * again at the next tick; a witness's refusal is logged (warning when it only asks for
 * another proof, error when it says our log forked); a malformed or untrusted answer is
 * logged with the peer and dropped. Nothing here stops the daemon.
 */
#include "audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "config.h"
#include "evidence.h"
#include "inbox.h"
#include "journal.h"
#include "link.h"
#include "log.h"
#include "peer.h"
#include "rogatoryd.h"
#include "store.h"
#include "witness.h"

/* What we know of one authority as a witness of our log. */
struct audit_peer {
	char id[AUTHORITY_ID_MAX + 1];
	uint64_t held;          /* size of our checkpoint it holds (Hello, cosignature, refusal) */
	uint64_t serial;        /* the ready link to offer on (its latest) */
	uint64_t offered;       /* size offered on offer_serial and not answered; 0: none */
	uint64_t offer_serial;
	uint64_t warned;        /* size of a refusal or oddity already logged */
};

struct audit_wait {
	uint64_t need;
	audit_ready_fn fn;
	void *arg;
	struct audit_wait *next;
};

struct audit {
	struct rogatoryd *d;
	struct event *timer;
	struct store_checkpoint newest;   /* size 0: none yet */
	unsigned heads;                   /* head ops in flight */
	uint64_t signing;                 /* size of a checkpoint being stored; 0: none */
	bool stopping;
	struct audit_peer *peers;
	size_t npeers, cappeers;
	struct audit_wait *waits;
	uint64_t loop_ns;                 /* signing, proofs, checks (make bench) */
};

/* A checkpoint op's own copy of what it stores. */
struct audit_job {
	struct audit *a;
	struct signed_object so;
	char peer[AUTHORITY_ID_MAX + 1];  /* cosignature: the witness */
};

static uint64_t clock_ns(void);
static void timer_arm(struct audit *a);
static void timer_cb(evutil_socket_t fd, short what, void *arg);
static void head_request(struct audit *a, bool always);
static void head_done(struct journal_op *jo);
static void checkpoint_sign(struct audit *a, uint64_t size, const uint8_t root[32]);
static void checkpoint_done(struct journal_op *jo);
static void waits_run(struct audit *a, const char *why);
static struct audit_peer *peer_get(struct audit *a, const char *id);
static void offer(struct audit *a, struct audit_peer *p);
static void cosigned(struct audit *a, struct link *l, const Rogatory__V1__Cosigned *c);
static void cosignature_done(struct journal_op *jo);
static void refused(struct audit *a, struct link *l, const Rogatory__V1__WitnessRefusal *r);
static void job_free(struct audit_job *j);

static uint64_t
clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
audit_new(struct rogatoryd *d, struct audit **out, char *err, size_t errlen)
{
	struct audit *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return err_set(err, errlen, "audit: out of memory");
	a->d = d;
	if (store_audit_checkpoints(d->store, UINT64_MAX, &a->newest, 1) < 0) {
		free(a);
		return err_set(err, errlen, "audit: cannot read our checkpoints from the store");
	}
	a->timer = evtimer_new(d->base, timer_cb, a);
	if (a->timer == NULL) {
		store_checkpoint_clear(&a->newest);
		free(a);
		return err_set(err, errlen, "audit: cannot create the checkpoint timer");
	}
	timer_arm(a);
	*out = a;
	return 0;
}

void
audit_stop(struct audit *a)
{
	if (a == NULL || a->stopping)
		return;
	a->stopping = true;
	evtimer_del(a->timer);
	waits_run(a, "the daemon is stopping");
	/* Ordered after every event queued so far: the last checkpoint covers them all. */
	head_request(a, true);
}

void
audit_free(struct audit *a)
{
	if (a == NULL)
		return;
	waits_run(a, "the daemon is stopping");
	event_free(a->timer);
	store_checkpoint_clear(&a->newest);
	free(a->peers);
	free(a);
}

uint64_t
audit_newest_size(const struct audit *a)
{
	return a->newest.size;
}

uint64_t
audit_loop_ns(const struct audit *a)
{
	return a->loop_ns;
}

/* ---- signing checkpoints ---- */

/* [audit] checkpoint_every as it is now (a reload applies at the next tick). */
static void
timer_arm(struct audit *a)
{
	uint64_t ms = a->d->cfg->checkpoint_every_ms;
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) *
	    1000};
	evtimer_add(a->timer, &tv);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct audit *a = arg;
	head_request(a, false);
	timer_arm(a);
}

/* The tree as committed after everything queued before: a store op, not a read, so that
 * the shutdown's last checkpoint comes after the last event. */
static void
head_request(struct audit *a, bool always)
{
	if (a->heads > 0 && !always)
		return;
	a->heads++;
	struct journal_op *jo = journal_op_new(a->d, STORE_OP_AUDIT_HEAD);
	jo->arg = a;
	jo->done = head_done;
	journal_submit(jo);
}

static void
head_done(struct journal_op *jo)
{
	struct audit *a = jo->arg;
	a->heads--;
	if (jo->op.result != STORE_R_OK) {
		log_err("audit: cannot read the tree for a checkpoint: %s", jo->op.error);
		waits_run(a, "the store failed");
		return;
	}
	/* Only when the tree grew, and once per size (two heads may see the same tree). */
	if (jo->op.audit.size > a->newest.size && jo->op.audit.size > a->signing)
		checkpoint_sign(a, jo->op.audit.size, jo->op.audit.root);
	else
		waits_run(a, "no entry is newer than the last checkpoint");
}

static void
checkpoint_sign(struct audit *a, uint64_t size, const uint8_t root[32])
{
	struct rogatoryd *d = a->d;
	uint64_t t0 = clock_ns();
	Rogatory__V1__CheckpointBody b = ROGATORY__V1__CHECKPOINT_BODY__INIT;
	b.origin.data = (uint8_t *)d->cfg->authority_id;
	b.origin.len = strlen(d->cfg->authority_id);
	b.tree_size = size;
	b.root_hash.data = (uint8_t *)root;
	b.root_hash.len = STORE_HASH_LEN;
	b.time_ms = link_wall_ms();
	struct audit_job *j = calloc(1, sizeof(*j));
	char err[300];
	if (j == NULL)
		fatal("out of memory");
	j->a = a;
	if (evidence_sign_checkpoint(d->signer, &b, &j->so, err, sizeof(err)) != 0) {
		log_err("audit: cannot sign the checkpoint of %" PRIu64 " entries: %s", size, err);
		free(j);
		waits_run(a, "the checkpoint could not be signed");
		return;
	}
	struct journal_op *jo = journal_op_new(d, STORE_OP_AUDIT_CHECKPOINT);
	jo->op.audit.size = size;
	memcpy(jo->op.audit.root, root, STORE_HASH_LEN);
	jo->op.audit.time_ms = b.time_ms;
	jo->op.audit.body = j->so.body;
	jo->op.audit.body_len = j->so.body_len;
	jo->op.audit.sig = j->so.signature;
	jo->op.audit.sig_len = j->so.signature_len;
	jo->op.audit.cert = j->so.cert;
	jo->op.audit.cert_len = j->so.cert_len;
	jo->arg = j;
	jo->done = checkpoint_done;
	a->signing = size;
	a->loop_ns += clock_ns() - t0;
	journal_submit(jo);
}

static void
checkpoint_done(struct journal_op *jo)
{
	struct audit_job *j = jo->arg;
	struct audit *a = j->a;
	const struct store_op *op = &jo->op;
	a->signing = 0;
	if (op->result != STORE_R_OK) {
		log_err("audit: the checkpoint of %" PRIu64 " entries was not stored: %s",
		    op->audit.size, op->error);
		job_free(j);
		waits_run(a, "the checkpoint could not be stored");
		return;
	}
	store_checkpoint_clear(&a->newest);
	a->newest.size = op->audit.size;
	memcpy(a->newest.root, op->audit.root, STORE_HASH_LEN);
	a->newest.time_ms = op->audit.time_ms;
	a->newest.body = j->so.body;
	a->newest.body_len = j->so.body_len;
	a->newest.sig = j->so.signature;
	a->newest.sig_len = j->so.signature_len;
	a->newest.cert = j->so.cert;
	a->newest.cert_len = j->so.cert_len;
	memset(&j->so, 0, sizeof(j->so));
	job_free(j);
	log_info("audit: checkpoint of %" PRIu64 " entries signed", a->newest.size);
	waits_run(a, "no checkpoint covers it");
	for (size_t i = 0; i < a->npeers && !a->stopping; i++)
		offer(a, &a->peers[i]);
}

void
audit_checkpoint_covering(struct audit *a, uint64_t need, audit_ready_fn fn, void *arg)
{
	if (need <= a->newest.size) {
		fn(arg, true, NULL);
		return;
	}
	if (a->stopping) {
		fn(arg, false, "the daemon is stopping");
		return;
	}
	struct audit_wait *w = calloc(1, sizeof(*w));
	if (w == NULL)
		fatal("out of memory");
	w->need = need;
	w->fn = fn;
	w->arg = arg;
	w->next = a->waits;
	a->waits = w;
	/* A head of its own: one already in flight may have been queued before the entry. */
	head_request(a, true);
}

/* Answers every waiter the newest checkpoint now covers; the others fail with why,
 * unless a checkpoint being stored will cover them (or a head is still coming). */
static void
waits_run(struct audit *a, const char *why)
{
	struct audit_wait **pp = &a->waits;
	while (*pp != NULL) {
		struct audit_wait *w = *pp;
		bool ok = w->need <= a->newest.size;
		bool later = !ok && !a->stopping && (w->need <= a->signing || a->heads > 0);
		if (later) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		w->fn(w->arg, ok, ok ? NULL : why);
		free(w);
	}
}

/* ---- offering to witnesses ---- */

static struct audit_peer *
peer_get(struct audit *a, const char *id)
{
	for (size_t i = 0; i < a->npeers; i++)
		if (strcmp(a->peers[i].id, id) == 0)
			return &a->peers[i];
	if (a->npeers == a->cappeers) {
		size_t cap = a->cappeers ? 2 * a->cappeers : 8;
		struct audit_peer *v = realloc(a->peers, cap * sizeof(*v));
		if (v == NULL)
			fatal("out of memory");
		a->peers = v;
		a->cappeers = cap;
	}
	struct audit_peer *p = &a->peers[a->npeers++];
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	return p;
}

void
audit_link_ready(struct audit *a, struct link *l)
{
	if (link_crl_only(l))
		return;
	struct audit_peer *p = peer_get(a, link_peer_id(l));
	p->held = link_peer_audit_witnessed(l);
	p->serial = link_serial(l);
	offer(a, p);
}

/* Our newest checkpoint, with a proof from the size the peer holds, unless it holds it
 * already or an offer of it is still unanswered on a live link. */
static void
offer(struct audit *a, struct audit_peer *p)
{
	struct rogatoryd *d = a->d;
	uint64_t n = a->newest.size;
	if (n == 0 || a->stopping || d->peers == NULL)
		return;
	if (p->held == n)
		return;
	if (p->held > n && p->warned != p->held) {
		/* Our log lost entries (a store restored from an older backup?). Each new
		 * checkpoint is offered anyway, without a proof (the witness judges it by its
		 * time): hiding it is what a forger would do. */
		p->warned = p->held;
		log_err("audit: %s holds a checkpoint of %" PRIu64 " entries of our log, more "
		    "than our newest (%" PRIu64 "): our log lost entries (a store restored from an "
		    "older backup?); offering ours anyway, it will refuse it as a fork", p->id,
		    p->held, n);
	}
	if (p->offered == n && peers_link_find(d->peers, p->offer_serial) != NULL)
		return;
	struct link *l = peers_link_find(d->peers, p->serial);
	if (l == NULL || link_state(l) != LINK_READY)
		return;
	uint64_t t0 = clock_ns();
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_LEN];
	ProtobufCBinaryData hashes[MERKLE_PROOF_MAX];
	size_t len = 0;
	uint64_t from = p->held < n ? p->held : 0;
	if (from > 0 &&
	    merkle_consistency_proof(from, n, store_audit_get, d->store, proof, &len) != 0) {
		/* A tree we cannot prove (rows missing): the witness judges the bare offer. */
		log_err("audit: cannot prove that our checkpoint of %" PRIu64 " entries extends "
		    "the one of %" PRIu64 " %s holds (the store lacks part of the tree)", n, p->held,
		    p->id);
		len = 0;
	}
	for (size_t i = 0; i < len; i++) {
		hashes[i].data = proof[i];
		hashes[i].len = MERKLE_HASH_LEN;
	}
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Witness w = ROGATORY__V1__WITNESS__INIT;
	Rogatory__V1__CheckpointOffer o = ROGATORY__V1__CHECKPOINT_OFFER__INIT;
	Rogatory__V1__SignedObject so;
	wire_signed_object_set(&so, a->newest.body, a->newest.body_len, a->newest.sig,
	    a->newest.sig_len, a->newest.cert, a->newest.cert_len);
	o.checkpoint = &so;
	o.from_size = from;
	o.n_consistency = len;
	o.consistency = hashes;
	w.msg_case = ROGATORY__V1__WITNESS__MSG_CHECKPOINT;
	w.checkpoint = &o;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_WITNESS;
	env.witness = &w;
	a->loop_ns += clock_ns() - t0;
	if (link_send(l, &env) != 0)
		return;
	p->offered = n;
	p->offer_serial = p->serial;
	log_debug("audit: checkpoint of %" PRIu64 " entries offered to %s (proof from %" PRIu64
	    ", %zu hashes)", n, p->id, from, len);
}

void
audit_frame(struct audit *a, struct link *l, const Rogatory__V1__Witness *w)
{
	switch (w->msg_case) {
	case ROGATORY__V1__WITNESS__MSG_CHECKPOINT:
		if (a->d->witness != NULL)
			witness_offer(a->d->witness, l, w->checkpoint);
		return;
	case ROGATORY__V1__WITNESS__MSG_COSIGNED:
		cosigned(a, l, w->cosigned);
		return;
	case ROGATORY__V1__WITNESS__MSG_REFUSAL:
		refused(a, l, w->refusal);
		return;
	default:
		return;   /* wire.c refuses an empty Witness */
	}
}

/* ---- their answers ---- */

/* Kept only when it names our stored checkpoint exactly and its signer is the link's
 * peer, trusted at the time it signed. */
static void
cosigned(struct audit *a, struct link *l, const Rogatory__V1__Cosigned *c)
{
	struct rogatoryd *d = a->d;
	const char *peer = link_peer_id(l);
	char signer[AUTHORITY_ID_MAX + 1], why[400] = "";
	Rogatory__V1__CosignatureBody *b = NULL;
	struct store_checkpoint cp = {0};
	uint8_t h[EVIDENCE_HASH_LEN];
	uint64_t t0 = clock_ns();
	if (evidence_open_cosignature(c->cosignature, signer, &b, why, sizeof(why)) != 0)
		goto refuse;
	if (strcmp(signer, peer) != 0) {
		snprintf(why, sizeof(why), "signed by %s, arrived on the link from %s", signer, peer);
		goto refuse;
	}
	if (b->origin.len != strlen(d->cfg->authority_id) ||
	    memcmp(b->origin.data, d->cfg->authority_id, b->origin.len) != 0) {
		snprintf(why, sizeof(why), "cosigns the log of %.*s, not ours", (int)b->origin.len,
		    (const char *)b->origin.data);
		goto refuse;
	}
	if (store_audit_checkpoints(d->store, b->tree_size, &cp, 1) != 1 ||
	    cp.size != b->tree_size || memcmp(cp.root, b->root_hash.data, STORE_HASH_LEN) != 0) {
		snprintf(why, sizeof(why), "names a checkpoint of %" PRIu64 " entries we never "
		    "signed", b->tree_size);
		goto refuse;
	}
	evidence_payload_hash(cp.body, cp.body_len, h);
	if (memcmp(h, b->checkpoint_sha256.data, sizeof(h)) != 0) {
		snprintf(why, sizeof(why), "checkpoint_sha256 is not our checkpoint's");
		goto refuse;
	}
	if (d->inbox != NULL && inbox_signer_trusted(d->inbox, &c->cosignature->signer_certificate,
	        b->time_ms, why, sizeof(why)) != 0)
		goto refuse;
	struct audit_job *j = calloc(1, sizeof(*j));
	if (j == NULL || (j->so.body = malloc(c->cosignature->body.len)) == NULL ||
	    (j->so.signature = malloc(c->cosignature->signature.len)) == NULL ||
	    (j->so.cert = malloc(c->cosignature->signer_certificate.len)) == NULL)
		fatal("out of memory");
	j->a = a;
	snprintf(j->peer, sizeof(j->peer), "%s", peer);
	memcpy(j->so.body, c->cosignature->body.data, j->so.body_len = c->cosignature->body.len);
	memcpy(j->so.signature, c->cosignature->signature.data,
	    j->so.signature_len = c->cosignature->signature.len);
	memcpy(j->so.cert, c->cosignature->signer_certificate.data,
	    j->so.cert_len = c->cosignature->signer_certificate.len);
	struct journal_op *jo = journal_op_new(d, STORE_OP_AUDIT_COSIGNATURE);
	jo->op.audit.size = b->tree_size;
	memcpy(jo->op.audit.root, cp.root, STORE_HASH_LEN);
	jo->op.audit.time_ms = b->time_ms;
	snprintf(jo->op.audit.who, sizeof(jo->op.audit.who), "%s", peer);
	jo->op.audit.body = j->so.body;
	jo->op.audit.body_len = j->so.body_len;
	jo->op.audit.sig = j->so.signature;
	jo->op.audit.sig_len = j->so.signature_len;
	jo->op.audit.cert = j->so.cert;
	jo->op.audit.cert_len = j->so.cert_len;
	jo->arg = j;
	jo->done = cosignature_done;
	journal_submit(jo);
	struct audit_peer *p = peer_get(a, peer);
	if (b->tree_size > p->held)
		p->held = b->tree_size;
	if (p->offered <= b->tree_size)
		p->offered = 0;
	p->serial = link_serial(l);
	store_checkpoint_clear(&cp);
	wire_audit_free(b);
	a->loop_ns += clock_ns() - t0;
	offer(a, p);
	return;
refuse:
	log_warn("audit: cosignature from %s (%s) refused: %s", peer, link_subject(l), why);
	store_checkpoint_clear(&cp);
	wire_audit_free(b);
	a->loop_ns += clock_ns() - t0;
}

static void
cosignature_done(struct journal_op *jo)
{
	struct audit_job *j = jo->arg;
	if (jo->op.result != STORE_R_OK)
		log_err("audit: the cosignature of %s on our checkpoint of %" PRIu64 " entries was "
		    "not stored: %s", j->peer, jo->op.audit.size, jo->op.error);
	else
		log_info("audit: %s cosigned our checkpoint of %" PRIu64 " entries", j->peer,
		    jo->op.audit.size);
	job_free(j);
}

static void
refused(struct audit *a, struct link *l, const Rogatory__V1__WitnessRefusal *r)
{
	struct audit_peer *p = peer_get(a, link_peer_id(l));
	if (p->offered == r->tree_size)
		p->offered = 0;
	if (r->code == ROGATORY__V1__WITNESS_REFUSAL_CODE__WITNESS_REFUSAL_CODE_STALE) {
		/* It holds another size than we thought: prove from that one. */
		log_info("audit: %s holds our checkpoint of %" PRIu64 " entries; offering again with "
		    "a proof from there", p->id, r->held_size);
		bool again = p->held != r->held_size;
		p->held = r->held_size;
		if (again)
			offer(a, p);
		return;
	}
	if (p->warned == r->tree_size)
		return;
	p->warned = r->tree_size;
	p->offered = r->tree_size;   /* not again on this link: the answer would be the same */
	p->offer_serial = link_serial(l);
	log_err("audit: %s refuses our checkpoint of %" PRIu64 " entries (%s%s%.*s): %s",
	    p->id, r->tree_size,
	    r->code == ROGATORY__V1__WITNESS_REFUSAL_CODE__WITNESS_REFUSAL_CODE_INCONSISTENT
	        ? "inconsistent with the one it holds" : "untrusted",
	    r->text.len > 0 ? ": " : "", (int)r->text.len, (const char *)r->text.data,
	    r->code == ROGATORY__V1__WITNESS_REFUSAL_CODE__WITNESS_REFUSAL_CODE_INCONSISTENT
	        ? "our log is not an extension of what it witnessed (rewritten, or restored "
	          "from an older backup)" : "see its log");
}

static void
job_free(struct audit_job *j)
{
	signed_object_clear(&j->so);
	free(j);
}
