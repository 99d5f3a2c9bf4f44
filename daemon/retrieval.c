/*
 * retrieval: proof of retrieval on both sides (retrieval.h, PROTOCOL.md section 16).
 * It must never acknowledge evidence before it is committed, never keep or send a
 * second evidence for one message, and never let a refused evidence change anything.
 *
 * Error policy: a frame that fails a check is answered with a signed REJECTED receipt
 * and a warning (peer, certificate subject, message id); a receipt that fails one is
 * logged and the evidence is sent again later. A store failure is logged; the evidence
 * stays unsent in the store and goes out after the next link-up or restart.
 */
#include "retrieval.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "crash.h"
#include "evidence.h"
#include "inbox.h"
#include "journal.h"
#include "link.h"
#include "log.h"
#include "peer.h"
#include "rogatoryd.h"

/* Evidence of ours not yet receipted: resent after RETRY_MS when the link it went out on
 * is gone, or when it stayed unanswered that long. */
#define RETRY_MS 5000

struct pending {
	char peer[AUTHORITY_ID_MAX + 1];
	char msg_id[UUID_TEXT_LEN + 1];
	uint64_t serial;          /* the link it went out on last; 0 = not out */
	uint64_t sent_ms;
	bool committing;          /* its receipt is being committed */
	bool told;                /* "no longer in the directory" was logged for it */
	struct pending *next;
};

struct retrieval {
	struct rogatoryd *d;
	struct pending *list;
	struct event *tick;
};

/* The answer to a Retrieval, signed before anything is committed. */
struct answer {
	const char *code;         /* NULL: accepted */
	char text[600];
};

static void pending_add(void *arg, const char *peer, const char *msg_id);
static struct pending *pending_find(struct retrieval *r, const char *peer, const char *msg_id);
static void pending_remove(struct retrieval *r, struct pending *p);
static void send_peer(struct retrieval *r, const char *peer);
static int send_one(struct retrieval *r, struct pending *p, struct link *l);
static void tick_cb(evutil_socket_t fd, short what, void *arg);
static void tick_arm(struct retrieval *r, uint64_t ms);
static void on_evidence(struct retrieval *r, struct link *l, const Rogatory__V1__SignedObject *so);
static void on_receipt(struct retrieval *r, struct link *l, const Rogatory__V1__SignedObject *so);
static int sign_answer(struct retrieval *r, const Rogatory__V1__SignedObject *so,
    const char *msg_id, const char *retriever, const struct answer *a, struct signed_object *out);
static void send_receipt(struct link *l, const uint8_t *body, size_t body_len,
    const uint8_t *sig, size_t sig_len, const uint8_t *cert, size_t cert_len);
static void refuse(struct retrieval *r, struct link *l, const Rogatory__V1__SignedObject *so,
    const char *msg_id, const char *retriever, const struct answer *a);
static void retrieved_done(struct journal_op *jo);
static void receipted_done(struct journal_op *jo);
static void peek_id(const Rogatory__V1__SignedObject *so, char *id, size_t idlen);
static bool bytes_is(const ProtobufCBinaryData *b, const char *s);
static void copy_bytes(uint8_t **dst, size_t *len, const ProtobufCBinaryData *src);

struct retrieval *
retrieval_new(struct rogatoryd *d)
{
	struct retrieval *r = calloc(1, sizeof(*r));
	if (r == NULL)
		fatal("out of memory");
	r->d = d;
	r->tick = evtimer_new(d->base, tick_cb, r);
	if (r->tick == NULL)
		fatal("out of memory");
	int n = store_retrieval_unsent(d->store, pending_add, r);
	if (n > 0) {
		log_info("retrieval: %d evidence(s) of retrieval to send", n);
		tick_arm(r, 0);
	}
	return r;
}

void
retrieval_free(struct retrieval *r)
{
	if (r == NULL)
		return;
	while (r->list != NULL)
		pending_remove(r, r->list);
	event_free(r->tick);
	free(r);
}

static void
pending_add(void *arg, const char *peer, const char *msg_id)
{
	struct retrieval *r = arg;
	if (pending_find(r, peer, msg_id) != NULL)
		return;
	struct pending *p = calloc(1, sizeof(*p));
	if (p == NULL)
		fatal("out of memory");
	snprintf(p->peer, sizeof(p->peer), "%s", peer);
	snprintf(p->msg_id, sizeof(p->msg_id), "%s", msg_id);
	/* Oldest first: appended. */
	struct pending **tail = &r->list;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = p;
}

static struct pending *
pending_find(struct retrieval *r, const char *peer, const char *msg_id)
{
	for (struct pending *p = r->list; p != NULL; p = p->next)
		if (strcmp(p->peer, peer) == 0 && strcmp(p->msg_id, msg_id) == 0)
			return p;
	return NULL;
}

static void
pending_remove(struct retrieval *r, struct pending *p)
{
	for (struct pending **pp = &r->list; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			free(p);
			return;
		}
	}
}

int
retrieval_sign(struct rogatoryd *d, const struct store_msg *m, struct store_retrieval *out,
    char *err, size_t errlen)
{
	Rogatory__V1__RetrievalBody b = ROGATORY__V1__RETRIEVAL_BODY__INIT;
	Rogatory__V1__Actor who = ROGATORY__V1__ACTOR__INIT;
	memset(out, 0, sizeof(*out));
	out->dir = STORE_IN;
	snprintf(out->msg_id, sizeof(out->msg_id), "%s", m->msg_id);
	snprintf(out->peer, sizeof(out->peer), "%s", m->sender);
	memcpy(out->payload_hash, m->payload_hash, STORE_HASH_LEN);
	out->retrieved_ms = link_wall_ms();
	/* The operator the control socket names (SO_PEERCRED); the daemon itself when none. */
	out->actor_uid = d->actor.set ? d->actor.uid : (uint32_t)getuid();
	snprintf(out->actor_user, sizeof(out->actor_user), "%s", d->actor.set ? d->actor.user : "");
	b.message_id.data = (uint8_t *)out->msg_id;
	b.message_id.len = strlen(out->msg_id);
	b.sender_id.data = (uint8_t *)out->peer;
	b.sender_id.len = strlen(out->peer);
	b.retriever_id.data = (uint8_t *)d->cfg->authority_id;
	b.retriever_id.len = strlen(d->cfg->authority_id);
	b.payload_sha256.data = out->payload_hash;
	b.payload_sha256.len = STORE_HASH_LEN;
	b.retrieved_ms = out->retrieved_ms;
	who.uid = out->actor_uid;
	who.user.data = (uint8_t *)out->actor_user;
	who.user.len = strlen(out->actor_user);
	b.fetched_by = &who;
	struct signed_object so = {0};
	if (evidence_sign_retrieval(d->signer, &b, &so, err, errlen) != 0)
		return -1;
	out->body = so.body;
	out->body_len = so.body_len;
	out->sig = so.signature;
	out->sig_len = so.signature_len;
	out->cert = so.cert;
	out->cert_len = so.cert_len;
	return 0;
}

void
retrieval_fetched(struct retrieval *r, const char *peer, const char *msg_id)
{
	pending_add(r, peer, msg_id);
	send_peer(r, peer);
}

void
retrieval_link_ready(struct retrieval *r, struct link *l)
{
	send_peer(r, link_peer_id(l));
}

void
retrieval_link_down(struct retrieval *r, const char *peer, uint64_t serial)
{
	bool any = false;
	for (struct pending *p = r->list; p != NULL; p = p->next) {
		if (p->serial == serial && strcmp(p->peer, peer) == 0) {
			p->serial = 0;
			any = true;
		}
	}
	/* Not from here: the link is still being taken down. */
	if (any)
		tick_arm(r, 100);
}

/* Every evidence for peer that is not out on a live link goes out on a ready link, or
 * the peer is dialed (the peer module retries with backoff until a link is up). */
static void
send_peer(struct retrieval *r, const char *peer)
{
	struct link *l = NULL;
	bool want = false;
	uint64_t now = link_now_ms();
	struct pending *next;
	for (struct pending *p = r->list; p != NULL; p = next) {
		next = p->next;
		if (strcmp(p->peer, peer) != 0 || p->committing)
			continue;
		if (p->serial != 0 && peers_link_find(r->d->peers, p->serial) != NULL &&
		    now - p->sent_ms < RETRY_MS)
			continue;
		if (l == NULL)
			l = peers_ready_link(r->d->peers, peer);
		if (l == NULL) {
			want = true;
			break;
		}
		if (link_version(l) < PROTOCOL_VERSION_RETRIEVAL) {
			/* A peer from before section 16 (protocol version 1): the evidence waits,
			 * kept in the store, until it links with version 2. */
			log_ratelimited(0x52455452u, "retrieval: the link with %s speaks protocol "
			    "version %u, proof of retrieval needs %u; the evidence waits for it", peer,
			    link_version(l), (unsigned)PROTOCOL_VERSION_RETRIEVAL);
			break;
		}
		if (send_one(r, p, l) == 1)
			pending_remove(r, p);   /* receipted meanwhile */
	}
	if (want && !peers_want(r->d->peers, peer)) {
		/* Said once per evidence that waits, not at every 5 s tick. */
		unsigned untold = 0;
		for (struct pending *p = r->list; p != NULL; p = p->next)
			if (strcmp(p->peer, peer) == 0 && !p->told) {
				p->told = true;
				untold++;
			}
		if (untold > 0)
			log_warn("retrieval: %s is no longer in the directory; its evidence of "
			    "retrieval waits in the store (%u more)", peer, untold);
	}
	tick_arm(r, RETRY_MS);
}

/* 0 sent (or left for later), 1 already receipted: the caller drops it. */
static int
send_one(struct retrieval *r, struct pending *p, struct link *l)
{
	struct store_retrieval row;
	int got = store_retrieval_get(r->d->store, STORE_IN, p->peer, p->msg_id, &row);
	if (got != 0) {
		if (got == 1)
			log_warn("retrieval: evidence of %s for %s is not in the store", p->msg_id,
			    p->peer);
		return got == 1 ? 1 : 0;
	}
	if (row.receipted_us != 0) {
		store_retrieval_clear(&row);
		return 1;
	}
	Rogatory__V1__SignedObject so;
	wire_signed_object_set(&so, row.body, row.body_len, row.sig, row.sig_len, row.cert,
	    row.cert_len);
	Rogatory__V1__Retrieval rt = ROGATORY__V1__RETRIEVAL__INIT;
	rt.evidence = &so;
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_RETRIEVAL;
	env.retrieval = &rt;
	if (link_send(l, &env) == 0) {
		p->serial = link_serial(l);
		p->sent_ms = link_now_ms();
		log_info("retrieval: evidence of retrieval of %s sent to %s", p->msg_id, p->peer);
	}
	store_retrieval_clear(&row);
	return 0;
}

static void
tick_arm(struct retrieval *r, uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
	    .tv_usec = (suseconds_t)((ms % 1000) * 1000)};
	if (ms == RETRY_MS && evtimer_pending(r->tick, NULL))
		return;
	evtimer_add(r->tick, &tv);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct retrieval *r = arg;
	if (r->list == NULL || r->d->stopping)
		return;
	/* The peers first, every one of them (send_peer may remove entries from the list):
	 * a front of peers whose evidence cannot go must not starve the others. */
	char (*peers)[AUTHORITY_ID_MAX + 1] = NULL;
	size_t n = 0, cap = 0;
	for (struct pending *p = r->list; p != NULL; p = p->next) {
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = strcmp(peers[i], p->peer) == 0;
		if (seen)
			continue;
		if (n == cap) {
			cap = cap > 0 ? 2 * cap : 16;
			void *grown = realloc(peers, cap * sizeof(*peers));
			if (grown == NULL)
				fatal("out of memory");
			peers = grown;
		}
		snprintf(peers[n++], sizeof(peers[0]), "%s", p->peer);
	}
	for (size_t i = 0; i < n; i++)
		send_peer(r, peers[i]);
	free(peers);
	tick_arm(r, RETRY_MS);
}

void
retrieval_frame(struct retrieval *r, struct link *l, const Rogatory__V1__Envelope *env)
{
	if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_RETRIEVAL)
		on_evidence(r, l, env->retrieval->evidence);
	else if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_RETRIEVAL_RECEIPT)
		on_receipt(r, l, env->retrieval_receipt->receipt);
}

/* ---- as the sender of the message: a recipient's evidence ---- */

static void
on_evidence(struct retrieval *r, struct link *l, const Rogatory__V1__SignedObject *so)
{
	struct rogatoryd *d = r->d;
	const char *peer = link_peer_id(l), *self = d->cfg->authority_id;
	char signer[AUTHORITY_ID_MAX + 1] = "", err[400], id[UUID_TEXT_LEN + 1];
	Rogatory__V1__RetrievalBody *b = NULL;
	struct store_msg m = {0};
	struct answer a = {0};
	if (evidence_open_retrieval(so, signer, &b, err, sizeof(err)) != 0) {
		peek_id(so, id, sizeof(id));
		a.code = "bad-signature";
		snprintf(a.text, sizeof(a.text), "%s", err);
		refuse(r, l, so, id, peer, &a);
		return;
	}
	snprintf(id, sizeof(id), "%.*s", (int)b->message_id.len, (const char *)b->message_id.data);
	/* A decision stands: the same evidence kept before gets its receipt again, whatever
	 * the CRL or the clock says now (PROTOCOL.md section 16.3). */
	struct store_retrieval kept;
	if (strcmp(signer, peer) == 0 &&
	    store_retrieval_get(d->store, STORE_OUT, peer, id, &kept) == 0) {
		bool same = kept.body_len == so->body.len &&
		    memcmp(kept.body, so->body.data, kept.body_len) == 0 && kept.rcpt_body != NULL;
		if (same)
			send_receipt(l, kept.rcpt_body, kept.rcpt_body_len, kept.rcpt_sig,
			    kept.rcpt_sig_len, kept.rcpt_cert, kept.rcpt_cert_len);
		store_retrieval_clear(&kept);
		if (same)
			goto done;
	}
	if (strcmp(signer, peer) != 0) {
		a.code = "wrong-sender";
		snprintf(a.text, sizeof(a.text), "retrieval evidence signed by %s on the link from %s",
		    signer, peer);
	} else if (!bytes_is(&b->sender_id, self)) {
		a.code = "not-for-us";
		snprintf(a.text, sizeof(a.text), "retrieval evidence names sender %.*s, we are %s",
		    (int)b->sender_id.len, (const char *)b->sender_id.data, self);
	} else if (inbox_signer_trusted(d->inbox, &so->signer_certificate, b->retrieved_ms, err,
	               sizeof(err)) != 0) {
		a.code = "untrusted-signer";
		snprintf(a.text, sizeof(a.text), "signer certificate: %s", err);
	} else if (store_get(d->store, STORE_OUT, self, id, &m) != 0) {
		a.code = "unknown-message";
		snprintf(a.text, sizeof(a.text), "%s never sent a message %s", self, id);
	} else if (strcmp(m.recipient, signer) != 0) {
		a.code = "not-recipient";
		snprintf(a.text, sizeof(a.text), "message %s was sent to %s, not to %s", id,
		    m.recipient, signer);
	} else if (b->payload_sha256.len != STORE_HASH_LEN ||
	    memcmp(b->payload_sha256.data, m.payload_hash, STORE_HASH_LEN) != 0) {
		a.code = "payload-mismatch";
		snprintf(a.text, sizeof(a.text), "retrieval evidence names another payload hash "
		    "than message %s's", id);
	}
	if (a.code != NULL) {
		refuse(r, l, so, id, signer[0] ? signer : peer, &a);
		goto done;
	}
	/* Accepted: our receipt is signed first and kept with the evidence, in one commit. */
	struct signed_object rc = {0};
	if (sign_answer(r, so, id, signer, &a, &rc) != 0)
		goto done;
	struct journal_op *jo = journal_op_new(d, STORE_OP_RETRIEVED);
	struct store_retrieval *t = &jo->op.retr;
	t->dir = STORE_OUT;
	snprintf(t->msg_id, sizeof(t->msg_id), "%s", id);
	snprintf(t->peer, sizeof(t->peer), "%s", peer);
	memcpy(t->payload_hash, m.payload_hash, STORE_HASH_LEN);
	t->retrieved_ms = b->retrieved_ms;
	t->actor_uid = b->fetched_by->uid;
	snprintf(t->actor_user, sizeof(t->actor_user), "%.*s", (int)b->fetched_by->user.len,
	    (const char *)b->fetched_by->user.data);
	copy_bytes(&t->body, &t->body_len, &so->body);
	copy_bytes(&t->sig, &t->sig_len, &so->signature);
	copy_bytes(&t->cert, &t->cert_len, &so->signer_certificate);
	t->rcpt_body = rc.body;
	t->rcpt_body_len = rc.body_len;
	t->rcpt_sig = rc.signature;
	t->rcpt_sig_len = rc.signature_len;
	t->rcpt_cert = rc.cert;
	t->rcpt_cert_len = rc.cert_len;
	snprintf(t->rcpt_outcome, sizeof(t->rcpt_outcome), "accepted");
	/* The event's words: who fetched it, as the recipient signed. */
	journal_event(jo, "retrieved", id, peer, STORE_OUT, "", 0, so->body.len, NULL);
	jo->op.event.has_actor = false;
	snprintf(jo->op.event.reason, sizeof(jo->op.event.reason), "fetched by uid %u%s%s%s",
	    t->actor_uid, t->actor_user[0] ? " (" : "", t->actor_user, t->actor_user[0] ? ")" : "");
	jo->link_serial = link_serial(l);
	jo->done = retrieved_done;
	jo->arg = r;
	journal_submit(jo);
done:
	store_msg_clear(&m);
	wire_audit_free(b);
}

static void
retrieved_done(struct journal_op *jo)
{
	struct retrieval *r = jo->arg;
	const struct store_op *op = &jo->op;
	const struct store_retrieval *t = &op->retr;
	struct link *l = peers_link_find(r->d->peers, jo->link_serial);
	switch (op->result) {
	case STORE_R_OK:
		log_info("retrieval: %s retrieved %s (%s)", t->peer, t->msg_id, op->event.reason);
		if (l != NULL)
			send_receipt(l, t->rcpt_body, t->rcpt_body_len, t->rcpt_sig, t->rcpt_sig_len,
			    t->rcpt_cert, t->rcpt_cert_len);
		return;
	case STORE_R_EXISTS:
		/* The same evidence again (our receipt was lost): the same receipt, verbatim. */
		if (l != NULL && op->stored.rcpt_body != NULL)
			send_receipt(l, op->stored.rcpt_body, op->stored.rcpt_body_len,
			    op->stored.rcpt_sig, op->stored.rcpt_sig_len, op->stored.rcpt_cert,
			    op->stored.rcpt_cert_len);
		return;
	case STORE_R_CONFLICT:
		if (l != NULL) {
			struct answer a = {.code = "id-conflict"};
			snprintf(a.text, sizeof(a.text), "another evidence of retrieval of %s from %s "
			    "is kept", t->msg_id, t->peer);
			Rogatory__V1__SignedObject so;
			wire_signed_object_set(&so, t->body, t->body_len, t->sig, t->sig_len, t->cert,
			    t->cert_len);
			refuse(r, l, &so, t->msg_id, t->peer, &a);
		}
		return;
	default:
		/* Not kept, so not receipted: the recipient sends it again. */
		log_warn("retrieval: evidence of retrieval of %s from %s not kept: %s", t->msg_id,
		    t->peer, op->error);
		return;
	}
}

static void
refuse(struct retrieval *r, struct link *l, const Rogatory__V1__SignedObject *so,
    const char *msg_id, const char *retriever, const struct answer *a)
{
	log_warn("retrieval: evidence of retrieval from %s (%s) about message %s refused: %s: %s",
	    link_peer_id(l), link_subject(l), msg_id[0] ? msg_id : "(unknown id)", a->code,
	    a->text);
	struct signed_object rc = {0};
	if (msg_id[0] == '\0' || sign_answer(r, so, msg_id, retriever, a, &rc) != 0) {
		/* Not even an id to name: the link goes, nothing was kept. */
		link_close(l, ROGATORY__V1__ERROR_CODE__ERROR_CODE_BAD_FRAME,
		    "unverifiable retrieval evidence");
		return;
	}
	send_receipt(l, rc.body, rc.body_len, rc.signature, rc.signature_len, rc.cert, rc.cert_len);
	signed_object_clear(&rc);
}

static int
sign_answer(struct retrieval *r, const Rogatory__V1__SignedObject *so, const char *msg_id,
    const char *retriever, const struct answer *a, struct signed_object *out)
{
	uint8_t h[EVIDENCE_HASH_LEN];
	char err[300];
	evidence_payload_hash(so->body.data, so->body.len, h);
	Rogatory__V1__ReceiptBody b = ROGATORY__V1__RECEIPT_BODY__INIT;
	b.message_id.data = (uint8_t *)msg_id;
	b.message_id.len = strlen(msg_id);
	b.sender_id.data = (uint8_t *)retriever;
	b.sender_id.len = strlen(retriever);
	b.receiver_id.data = (uint8_t *)r->d->cfg->authority_id;
	b.receiver_id.len = strlen(r->d->cfg->authority_id);
	b.payload_sha256.data = h;
	b.payload_sha256.len = sizeof(h);
	b.outcome = a->code == NULL ? ROGATORY__V1__OUTCOME__OUTCOME_ACCEPTED
	                            : ROGATORY__V1__OUTCOME__OUTCOME_REJECTED;
	char text[WIRE_TEXT_MAX + 1];
	if (a->code != NULL) {
		b.reason_code.data = (uint8_t *)a->code;
		b.reason_code.len = strlen(a->code);
		/* Our own words, possibly quoting the peer's ids (already validated). */
		snprintf(text, sizeof(text), "%s", a->text);
		b.reason_text.data = (uint8_t *)text;
		b.reason_text.len = strlen(text);
	}
	b.received_ms = link_wall_ms();
	if (evidence_sign_receipt(r->d->signer, &b, out, err, sizeof(err)) != 0) {
		log_err("retrieval: cannot sign the receipt of evidence about %s: %s", msg_id, err);
		return -1;
	}
	return 0;
}

static void
send_receipt(struct link *l, const uint8_t *body, size_t body_len, const uint8_t *sig,
    size_t sig_len, const uint8_t *cert, size_t cert_len)
{
	Rogatory__V1__SignedObject so;
	wire_signed_object_set(&so, body, body_len, sig, sig_len, cert, cert_len);
	Rogatory__V1__RetrievalReceipt rr = ROGATORY__V1__RETRIEVAL_RECEIPT__INIT;
	rr.receipt = &so;
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_RETRIEVAL_RECEIPT;
	env.retrieval_receipt = &rr;
	link_send(l, &env);
}

/* ---- as the recipient: the sender's receipt of our evidence ---- */

static void
on_receipt(struct retrieval *r, struct link *l, const Rogatory__V1__SignedObject *so)
{
	struct rogatoryd *d = r->d;
	const char *peer = link_peer_id(l);
	char signer[AUTHORITY_ID_MAX + 1] = "", err[400], id[UUID_TEXT_LEN + 1] = "";
	Rogatory__V1__ReceiptBody *b = NULL;
	struct store_retrieval row = {0};
	struct pending *p = NULL;
	if (evidence_open_receipt(so, signer, &b, err, sizeof(err)) != 0)
		goto bad;
	snprintf(id, sizeof(id), "%.*s", (int)b->message_id.len, (const char *)b->message_id.data);
	p = pending_find(r, peer, id);
	if (strcmp(signer, peer) != 0 || !bytes_is(&b->sender_id, d->cfg->authority_id)) {
		snprintf(err, sizeof(err), "signed by %s for sender %.*s", signer,
		    (int)b->sender_id.len, (const char *)b->sender_id.data);
		goto bad;
	}
	if (p == NULL || p->committing) {
		log_info("retrieval: receipt from %s for evidence of %s we are not waiting for; "
		    "ignored", peer, id);
		goto done;
	}
	if (inbox_signer_trusted(d->inbox, &so->signer_certificate, b->received_ms, err,
	        sizeof(err)) != 0)
		goto bad;
	if (store_retrieval_get(d->store, STORE_IN, peer, id, &row) != 0) {
		snprintf(err, sizeof(err), "no evidence of %s for %s in the store", id, peer);
		goto bad;
	}
	uint8_t h[EVIDENCE_HASH_LEN];
	evidence_payload_hash(row.body, row.body_len, h);
	if (memcmp(h, b->payload_sha256.data, sizeof(h)) != 0) {
		snprintf(err, sizeof(err), "it names another evidence (payload hash)");
		goto bad;
	}
	bool ok = b->outcome == ROGATORY__V1__OUTCOME__OUTCOME_ACCEPTED;
	if (!ok)
		log_warn("retrieval: %s refused our evidence of retrieval of %s: %.*s: %.*s", peer, id,
		    (int)b->reason_code.len, (const char *)b->reason_code.data,
		    (int)b->reason_text.len, (const char *)b->reason_text.data);
	struct journal_op *jo = journal_op_new(d, STORE_OP_RETRIEVAL_RECEIPTED);
	struct store_retrieval *t = &jo->op.retr;
	t->dir = STORE_IN;
	snprintf(t->msg_id, sizeof(t->msg_id), "%s", id);
	snprintf(t->peer, sizeof(t->peer), "%s", peer);
	copy_bytes(&t->rcpt_body, &t->rcpt_body_len, &so->body);
	copy_bytes(&t->rcpt_sig, &t->rcpt_sig_len, &so->signature);
	copy_bytes(&t->rcpt_cert, &t->rcpt_cert_len, &so->signer_certificate);
	snprintf(t->rcpt_outcome, sizeof(t->rcpt_outcome), "%s", ok ? "accepted" : "rejected");
	p->committing = true;
	jo->done = receipted_done;
	jo->arg = r;
	journal_submit(jo);
	goto done;
bad:
	log_warn("retrieval: receipt from %s (%s) for evidence of %s refused: %s; sending again "
	    "later", peer, link_subject(l), id[0] ? id : "(unknown id)", err);
	if (p != NULL)
		p->serial = 0;
done:
	store_retrieval_clear(&row);
	if (b != NULL)
		wire_receipt_body_free(b);
}

static void
receipted_done(struct journal_op *jo)
{
	struct retrieval *r = jo->arg;
	const struct store_retrieval *t = &jo->op.retr;
	struct pending *p = pending_find(r, t->peer, t->msg_id);
	enum store_result res = jo->op.result;
	if (res == STORE_R_OK || res == STORE_R_STALE || res == STORE_R_NOT_FOUND) {
		if (res == STORE_R_OK)
			log_info("retrieval: evidence of retrieval of %s receipted by %s (%s)",
			    t->msg_id, t->peer, t->rcpt_outcome);
		if (p != NULL)
			pending_remove(r, p);
		return;
	}
	log_warn("retrieval: receipt of our evidence of %s from %s not kept: %s; sending again "
	    "later", t->msg_id, t->peer, jo->op.error);
	if (p != NULL) {
		p->committing = false;
		p->serial = 0;
	}
}

/* The id of an evidence that did not verify, for the log and the refusal: read from the
 * body without trusting it (it passed wire's rules, or it is left empty). */
static void
peek_id(const Rogatory__V1__SignedObject *so, char *id, size_t idlen)
{
	static const char ctx[] = EVIDENCE_CTX_RETRIEVAL;
	id[0] = '\0';
	if (so->body.len <= sizeof(ctx) || memcmp(so->body.data, ctx, sizeof(ctx)) != 0)
		return;
	Rogatory__V1__RetrievalBody *b = NULL;
	char err[300];
	if (wire_retrieval_body_decode(so->body.data + sizeof(ctx), so->body.len - sizeof(ctx), &b,
	        err, sizeof(err)) != 0)
		return;
	snprintf(id, idlen, "%.*s", (int)b->message_id.len, (const char *)b->message_id.data);
	wire_audit_free(b);
}

static bool
bytes_is(const ProtobufCBinaryData *b, const char *s)
{
	size_t n = strlen(s);
	return b->len == n && memcmp(b->data, s, n) == 0;
}

static void
copy_bytes(uint8_t **dst, size_t *len, const ProtobufCBinaryData *src)
{
	*dst = malloc(src->len > 0 ? src->len : 1);
	if (*dst == NULL)
		fatal("out of memory");
	if (src->len > 0)
		memcpy(*dst, src->data, src->len);
	*len = src->len;
}
