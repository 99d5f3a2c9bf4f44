/*
 * witness: what we hold of other authorities' audit logs (contract in witness.h). It must
 * never cosign a checkpoint before the one it extends is proven and the new one stored,
 * never replace what it holds by a smaller or inconsistent tree, and never drop the
 * evidence of a fork: both signed checkpoints and the proof stay in the store.
 *
 * Error policy: an offer that does not verify (signature, certificate, origin) is
 * refused with WITNESS_REFUSAL UNTRUSTED and a warning naming the peer; a fork is logged
 * as an error with the origin each time, kept and announced (event audit-fork) the first
 * time; a store failure is logged and the offer goes unanswered (the origin offers again
 * on its next checkpoint or link).
 */
#include "witness.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "evidence.h"
#include "inbox.h"
#include "journal.h"
#include "link.h"
#include "log.h"
#include "merkle.h"
#include "peer.h"
#include "rogatoryd.h"
#include "store.h"

#define WITNESS_ORIGINS_MAX 4096

struct witness_held {
	char origin[AUTHORITY_ID_MAX + 1];
	uint64_t size;
	uint8_t root[STORE_HASH_LEN];
	int64_t time_ms;
	bool forked;
};

struct witness {
	struct rogatoryd *d;
	struct witness_held *v;
	size_t n, cap;
};

/* One offer on its way through the store. */
struct witness_job {
	struct witness *w;
	uint64_t serial;
	char origin[AUTHORITY_ID_MAX + 1];
	uint64_t size;
	uint8_t root[STORE_HASH_LEN];
	uint64_t held;                /* what we held when it came */
	struct signed_object so;      /* the offered checkpoint, copied */
	uint8_t *proof;
	size_t proof_len;
	bool fork;
	char why[256];
};

static struct witness_held *held_find(const struct witness *w, const char *origin);
static struct witness_held *held_add(struct witness *w, const char *origin);
static void refuse(struct link *l, uint64_t size, uint64_t held,
    Rogatory__V1__WitnessRefusalCode code, const char *text);
static const char *judge(const struct witness_held *h, const Rogatory__V1__CheckpointBody *b,
    const Rogatory__V1__CheckpointOffer *o, bool *stale);
static void job_submit(struct witness *w, struct link *l, const Rogatory__V1__CheckpointOffer *o,
    const Rogatory__V1__CheckpointBody *b, const struct witness_held *h, const char *fork);
static void job_done(struct journal_op *jo);
static void cosign(struct witness_job *j, struct link *l);
static void job_free(struct witness_job *j);

int
witness_new(struct rogatoryd *d, struct witness **out, char *err, size_t errlen)
{
	struct witness *w = calloc(1, sizeof(*w));
	struct store_checkpoint *cp = calloc(WITNESS_ORIGINS_MAX, sizeof(*cp));
	if (w == NULL || cp == NULL) {
		free(w);
		free(cp);
		return err_set(err, errlen, "witness: out of memory");
	}
	w->d = d;
	int n = store_audit_witnessed(d->store, NULL, cp, WITNESS_ORIGINS_MAX);
	if (n < 0) {
		free(w);
		free(cp);
		return err_set(err, errlen, "witness: cannot read the checkpoints we hold");
	}
	for (int i = 0; i < n; i++) {
		struct witness_held *h = held_add(w, cp[i].who);
		h->size = cp[i].size;
		memcpy(h->root, cp[i].root, STORE_HASH_LEN);
		h->time_ms = cp[i].time_ms;
		h->forked = cp[i].forked_us != 0;
		store_checkpoint_clear(&cp[i]);
	}
	free(cp);
	if (n > 0)
		log_info("witness: holding checkpoints of %d authorities' audit logs", n);
	*out = w;
	return 0;
}

void
witness_free(struct witness *w)
{
	if (w == NULL)
		return;
	free(w->v);
	free(w);
}

static struct witness_held *
held_find(const struct witness *w, const char *origin)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->v[i].origin, origin) == 0)
			return &w->v[i];
	return NULL;
}

static struct witness_held *
held_add(struct witness *w, const char *origin)
{
	struct witness_held *h = held_find(w, origin);
	if (h != NULL)
		return h;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 8;
		struct witness_held *v = realloc(w->v, cap * sizeof(*v));
		if (v == NULL)
			fatal("out of memory");
		w->v = v;
		w->cap = cap;
	}
	h = &w->v[w->n++];
	memset(h, 0, sizeof(*h));
	snprintf(h->origin, sizeof(h->origin), "%s", origin);
	return h;
}

uint64_t
witness_held_size(const struct witness *w, const char *origin)
{
	const struct witness_held *h = held_find(w, origin);
	return h != NULL ? h->size : 0;
}

static void
refuse(struct link *l, uint64_t size, uint64_t held, Rogatory__V1__WitnessRefusalCode code,
    const char *text)
{
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Witness w = ROGATORY__V1__WITNESS__INIT;
	Rogatory__V1__WitnessRefusal r = ROGATORY__V1__WITNESS_REFUSAL__INIT;
	r.tree_size = size;
	r.held_size = held;
	r.code = code;
	r.text.data = (uint8_t *)text;
	r.text.len = strnlen(text, WIRE_TEXT_MAX);
	w.msg_case = ROGATORY__V1__WITNESS__MSG_REFUSAL;
	w.refusal = &r;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_WITNESS;
	env.witness = &w;
	link_send(l, &env);
}

/*
 * What the offer is against what we hold: NULL when it may be cosigned, else why it is a
 * fork; *stale when it is neither (a proof from another size than ours, or an older
 * checkpoint arriving late), to be answered with the size we hold.
 */
static const char *
judge(const struct witness_held *h, const Rogatory__V1__CheckpointBody *b,
    const Rogatory__V1__CheckpointOffer *o, bool *stale)
{
	static char why[256];
	*stale = false;
	if (h == NULL || h->size == 0)
		return NULL;   /* the first we see of this origin */
	if (b->tree_size < h->size) {
		/* Signed no later than ours: an old offer late. Signed later: a log that lost
		 * entries since it signed the one we hold. */
		if (b->time_ms <= h->time_ms) {
			*stale = true;
			return NULL;
		}
		snprintf(why, sizeof(why), "a tree of %" PRIu64 " entries signed after the one of "
		    "%" PRIu64 " entries we hold: entries were removed", b->tree_size, h->size);
		return why;
	}
	if (b->tree_size == h->size) {
		if (memcmp(b->root_hash.data, h->root, STORE_HASH_LEN) == 0)
			return NULL;
		snprintf(why, sizeof(why), "a tree of %" PRIu64 " entries with another root than "
		    "the one of the same size we hold: entries were changed", h->size);
		return why;
	}
	if (o->from_size != h->size) {
		*stale = true;
		return NULL;
	}
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_LEN];
	for (size_t i = 0; i < o->n_consistency && i < MERKLE_PROOF_MAX; i++)
		memcpy(proof[i], o->consistency[i].data, MERKLE_HASH_LEN);
	if (merkle_consistency_verify(h->size, b->tree_size, h->root, b->root_hash.data, proof,
	        o->n_consistency))
		return NULL;
	snprintf(why, sizeof(why), "the tree of %" PRIu64 " entries is not an extension of the "
	    "one of %" PRIu64 " entries we hold (its consistency proof fails): entries were "
	    "changed or removed", b->tree_size, h->size);
	return why;
}

void
witness_offer(struct witness *w, struct link *l, const Rogatory__V1__CheckpointOffer *o)
{
	struct rogatoryd *d = w->d;
	const char *peer = link_peer_id(l);
	char signer[AUTHORITY_ID_MAX + 1], why[400] = "";
	Rogatory__V1__CheckpointBody *b = NULL;
	struct witness_held *h = held_find(w, peer);
	uint64_t held = h != NULL ? h->size : 0;
	if (evidence_open_checkpoint(o->checkpoint, signer, &b, why, sizeof(why)) != 0)
		goto untrusted;
	if (strcmp(signer, peer) != 0) {
		snprintf(why, sizeof(why), "checkpoint of %s offered by %s", signer, peer);
		goto untrusted;
	}
	if (d->inbox != NULL && inbox_signer_trusted(d->inbox, &o->checkpoint->signer_certificate,
	        b->time_ms, why, sizeof(why)) != 0)
		goto untrusted;
	bool stale = false;
	const char *fork = judge(h, b, o, &stale);
	if (stale) {
		log_info("witness: %s offered its checkpoint of %" PRIu64 " entries with a proof "
		    "from %" PRIu64 "; we hold %" PRIu64 ": asking for a proof from there", peer,
		    b->tree_size, o->from_size, held);
		refuse(l, b->tree_size, held,
		    ROGATORY__V1__WITNESS_REFUSAL_CODE__WITNESS_REFUSAL_CODE_STALE, "stale proof");
	} else if (fork != NULL && h->forked) {
		/* Kept and announced once; the refusal and the log line every time. */
		log_err("witness: the audit log of %s (%s) is still inconsistent with what we "
		    "witnessed: %s; refused", peer, link_subject(l), fork);
		refuse(l, b->tree_size, held,
		    ROGATORY__V1__WITNESS_REFUSAL_CODE__WITNESS_REFUSAL_CODE_INCONSISTENT, fork);
	} else {
		job_submit(w, l, o, b, h, fork);
	}
	wire_audit_free(b);
	return;
untrusted:
	log_warn("witness: checkpoint from %s (%s) refused: %s", peer, link_subject(l), why);
	refuse(l, b != NULL ? b->tree_size : 0, held,
	    ROGATORY__V1__WITNESS_REFUSAL_CODE__WITNESS_REFUSAL_CODE_UNTRUSTED, why);
	wire_audit_free(b);
}

/* Stores the new newest checkpoint, or the fork beside the one held; answers after. */
static void
job_submit(struct witness *w, struct link *l, const Rogatory__V1__CheckpointOffer *o,
    const Rogatory__V1__CheckpointBody *b, const struct witness_held *h, const char *fork)
{
	struct witness_job *j = calloc(1, sizeof(*j));
	const Rogatory__V1__SignedObject *so = o->checkpoint;
	if (j == NULL || (j->so.body = malloc(so->body.len)) == NULL ||
	    (j->so.signature = malloc(so->signature.len)) == NULL ||
	    (j->so.cert = malloc(so->signer_certificate.len)) == NULL ||
	    (j->proof = malloc(o->n_consistency * MERKLE_HASH_LEN + 1)) == NULL)
		fatal("out of memory");
	j->w = w;
	j->serial = link_serial(l);
	snprintf(j->origin, sizeof(j->origin), "%s", link_peer_id(l));
	j->size = b->tree_size;
	memcpy(j->root, b->root_hash.data, STORE_HASH_LEN);
	j->held = h != NULL ? h->size : 0;
	memcpy(j->so.body, so->body.data, j->so.body_len = so->body.len);
	memcpy(j->so.signature, so->signature.data, j->so.signature_len = so->signature.len);
	memcpy(j->so.cert, so->signer_certificate.data,
	    j->so.cert_len = so->signer_certificate.len);
	for (size_t i = 0; i < o->n_consistency; i++)
		memcpy(j->proof + i * MERKLE_HASH_LEN, o->consistency[i].data, MERKLE_HASH_LEN);
	j->proof_len = o->n_consistency * MERKLE_HASH_LEN;
	j->fork = fork != NULL;
	if (fork != NULL)
		snprintf(j->why, sizeof(j->why), "%s", fork);
	struct journal_op *jo = journal_op_new(w->d, STORE_OP_AUDIT_WITNESS);
	struct store_op *op = &jo->op;
	snprintf(op->audit.who, sizeof(op->audit.who), "%s", j->origin);
	op->audit.size = j->size;
	memcpy(op->audit.root, j->root, STORE_HASH_LEN);
	op->audit.time_ms = b->time_ms;
	op->audit.body = j->so.body;
	op->audit.body_len = j->so.body_len;
	op->audit.sig = j->so.signature;
	op->audit.sig_len = j->so.signature_len;
	op->audit.cert = j->so.cert;
	op->audit.cert_len = j->so.cert_len;
	op->audit.fork = j->fork;
	op->audit.from_size = o->from_size;
	op->audit.proof = j->proof;
	op->audit.proof_len = j->proof_len;
	if (j->fork) {
		snprintf(op->audit.reason, sizeof(op->audit.reason), "%s", fork);
		/* The alert, written by the store the first time only (has_event stays off). */
		journal_event(jo, "audit-fork", NULL, j->origin, STORE_IN, NULL, 0, j->size, fork);
		op->has_event = false;
	} else {
		/* Held at once: a second offer before the commit compares with this one. */
		struct witness_held *nh = held_add(w, j->origin);
		nh->size = j->size;
		memcpy(nh->root, j->root, STORE_HASH_LEN);
		nh->time_ms = b->time_ms;
	}
	jo->arg = j;
	jo->done = job_done;
	journal_submit(jo);
}

static void
job_done(struct journal_op *jo)
{
	struct witness_job *j = jo->arg;
	struct rogatoryd *d = j->w->d;
	struct link *l = d->peers != NULL ? peers_link_find(d->peers, j->serial) : NULL;
	if (jo->op.result != STORE_R_OK) {
		log_err("witness: the checkpoint of %" PRIu64 " entries of %s was not stored: %s; "
		    "not answered", j->size, j->origin, jo->op.error);
		if (!j->fork) {
			/* Back to what the store holds. */
			struct store_checkpoint cp = {0};
			struct witness_held *h = held_find(j->w, j->origin);
			if (h != NULL && store_audit_witnessed(d->store, j->origin, &cp, 1) == 1) {
				h->size = cp.size;
				memcpy(h->root, cp.root, STORE_HASH_LEN);
				h->time_ms = cp.time_ms;
			} else if (h != NULL) {
				h->size = 0;
			}
			store_checkpoint_clear(&cp);
		}
		job_free(j);
		return;
	}
	if (j->fork) {
		struct witness_held *h = held_add(j->w, j->origin);
		h->forked = true;
		log_err("witness: FORK in the audit log of %s: %s; its checkpoint of %" PRIu64
		    " entries refused, both signed checkpoints kept as proof%s", j->origin, j->why,
		    j->size, jo->op.audit.first_fork ? " (event audit-fork)" : "");
		if (l != NULL)
			refuse(l, j->size, j->held,
			    ROGATORY__V1__WITNESS_REFUSAL_CODE__WITNESS_REFUSAL_CODE_INCONSISTENT, j->why);
	} else if (l != NULL) {
		cosign(j, l);
	}
	job_free(j);
}

/* Our cosignature of the stored checkpoint, with our time. */
static void
cosign(struct witness_job *j, struct link *l)
{
	struct rogatoryd *d = j->w->d;
	uint8_t h[EVIDENCE_HASH_LEN];
	char err[300];
	struct signed_object out = {0};
	evidence_payload_hash(j->so.body, j->so.body_len, h);
	Rogatory__V1__CosignatureBody b = ROGATORY__V1__COSIGNATURE_BODY__INIT;
	b.witness_id.data = (uint8_t *)d->cfg->authority_id;
	b.witness_id.len = strlen(d->cfg->authority_id);
	b.origin.data = (uint8_t *)j->origin;
	b.origin.len = strlen(j->origin);
	b.tree_size = j->size;
	b.root_hash.data = j->root;
	b.root_hash.len = STORE_HASH_LEN;
	b.checkpoint_sha256.data = h;
	b.checkpoint_sha256.len = sizeof(h);
	b.time_ms = link_wall_ms();
	if (evidence_sign_cosignature(d->signer, &b, &out, err, sizeof(err)) != 0) {
		log_err("witness: cannot cosign the checkpoint of %s: %s", j->origin, err);
		return;
	}
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Witness w = ROGATORY__V1__WITNESS__INIT;
	Rogatory__V1__Cosigned c = ROGATORY__V1__COSIGNED__INIT;
	Rogatory__V1__SignedObject so;
	wire_signed_object_set(&so, out.body, out.body_len, out.signature, out.signature_len,
	    out.cert, out.cert_len);
	c.cosignature = &so;
	w.msg_case = ROGATORY__V1__WITNESS__MSG_COSIGNED;
	w.cosigned = &c;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_WITNESS;
	env.witness = &w;
	link_send(l, &env);
	signed_object_clear(&out);
	log_info("witness: cosigned the checkpoint of %" PRIu64 " entries of %s", j->size,
	    j->origin);
}

static void
job_free(struct witness_job *j)
{
	signed_object_clear(&j->so);
	free(j->proof);
	free(j);
}
