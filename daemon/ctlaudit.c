/*
 * ctlaudit: `rogatoryctl audit verify | prove | status` in the daemon (contract in
 * ctlaudit.h). verify reads the whole log, so it runs a slice of entries per loop turn
 * and replies at the end; it stops at the first entry that does not match and names it.
 * It never changes the store: a log found broken is reported, never mended.
 */
#include "ctlaudit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "audit.h"
#include "auditentry.h"
#include "auditproof.h"
#include "config.h"
#include "evidence.h"
#include "log.h"
#include "merkle.h"
#include "rogatoryd.h"
#include "store.h"

/* Entries per loop turn (a few milliseconds), checkpoints read at once. */
#define VERIFY_SLICE 2000
#define VERIFY_CPS 64
#define COSIGNERS_MAX 64

struct verify {
	struct control_later *later;
	struct rogatoryd *d;
	struct event *ev;
	struct merkle_frontier fr;       /* the tree recomputed from the entries so far */
	struct store_event page[VERIFY_SLICE];
	struct store_checkpoint cps[VERIFY_CPS];
	int ncp, icp;
	bool cps_end;
	uint64_t checkpoints, cosignatures;
	uint64_t shown_size;             /* the checkpoint the answer names */
	int64_t shown_time;
	json_t *shown_by;
	int64_t first_bad;
	char problem[512];
};

struct prove {
	struct control_later *later;
	struct rogatoryd *d;
	int64_t *seqs;
	size_t n;
	uint64_t need;
	uint64_t tree_size;     /* the checkpoint asked for; 0: the default choice */
};

static json_t *timej(int64_t ms);
static json_t *hexj(const uint8_t *p);
static void verify_slice(evutil_socket_t fd, short what, void *arg);
static bool verify_entry(struct verify *v, const struct store_event *e);
static bool verify_checkpoints(struct verify *v);
static bool verify_checkpoint(struct verify *v, const struct store_checkpoint *cp);
static bool verify_cosignatures(struct verify *v, const struct store_checkpoint *cp);
static void verify_end(struct verify *v);
static void verify_finish(struct verify *v);
static void prove_ready(void *arg, bool ok, const char *why);

static json_t *
timej(int64_t ms)
{
	char buf[40];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		return json_null();
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(ms % 1000));
	return json_string(buf);
}

static json_t *
hexj(const uint8_t *p)
{
	char h[2 * MERKLE_HASH_LEN + 1];
	for (size_t i = 0; i < MERKLE_HASH_LEN; i++)
		snprintf(h + 2 * i, 3, "%02x", p[i]);
	return json_string(h);
}

/* ---- verify ---- */

void
ctlaudit_verify(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	struct rogatoryd *d = control_daemon(c);
	struct verify *v = calloc(1, sizeof(*v));
	if (v == NULL)
		fatal("out of memory");
	v->d = d;
	v->shown_by = json_array();
	v->ev = evtimer_new(d->base, verify_slice, v);
	if (v->ev == NULL)
		fatal("out of memory");
	v->later = control_later(c, req, res);
	struct timeval now = {0, 0};
	evtimer_add(v->ev, &now);
}

static void
verify_bad(struct verify *v, int64_t seq, const char *fmt, ...) PRINTF_LIKE(3, 4);

static void
verify_bad(struct verify *v, int64_t seq, const char *fmt, ...)
{
	va_list ap;
	if (v->problem[0] != '\0')
		return;
	v->first_bad = seq;
	va_start(ap, fmt);
	vsnprintf(v->problem, sizeof(v->problem), fmt, ap);
	va_end(ap);
}

static void
verify_slice(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct verify *v = arg;
	if (control_later_gone(v->later) || v->d->stopping) {
		verify_finish(v);
		return;
	}
	int n = store_events_since(v->d->store, (int64_t)v->fr.size, v->page, VERIFY_SLICE);
	if (n < 0) {
		verify_bad(v, 0, "cannot read the entries after seq %" PRIu64 " (see the log)",
		    v->fr.size);
		verify_finish(v);
		return;
	}
	for (int i = 0; i < n; i++)
		if (!verify_entry(v, &v->page[i]) || !verify_checkpoints(v)) {
			verify_finish(v);
			return;
		}
	if (n < VERIFY_SLICE) {
		verify_end(v);
		verify_finish(v);
		return;
	}
	struct timeval now = {0, 0};
	evtimer_add(v->ev, &now);
}

/* A subtree the recomputed tree closed: the store's kept hash of it, which proofs and
 * the consistency proofs offered to witnesses are built from, must be the same. */
static int
verify_node(void *arg, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_LEN])
{
	struct verify *v = arg;
	uint8_t kept[MERKLE_HASH_LEN];
	if (level % STORE_AUDIT_NODE_STRIDE != 0)
		return 0;
	uint64_t first = index << level, last = ((index + 1) << level);
	if (store_audit_node(v->d->store, level, index, kept) != 0 ||
	    memcmp(kept, hash, MERKLE_HASH_LEN) != 0)
		verify_bad(v, (int64_t)last, "the kept hash of entries %" PRIu64 "..%" PRIu64
		    " (a subtree of level %u) is missing or not the one those entries make: proofs "
		    "built from it fail, and a witness would take the log for a fork", first + 1,
		    last, level);
	return 0;
}

/* The entry is where it belongs and is the row that was hashed when it was written. */
static bool
verify_entry(struct verify *v, const struct store_event *e)
{
	uint8_t leaf[MERKLE_HASH_LEN];
	int64_t want = (int64_t)v->fr.size + 1;
	if (e->seq != want) {
		verify_bad(v, want, "entry seq %" PRId64 " is missing (the log goes on at seq %"
		    PRId64 ")", want, e->seq);
		return false;
	}
	if (auditentry_leaf(e, leaf) != 0 || memcmp(leaf, e->leaf, MERKLE_HASH_LEN) != 0) {
		verify_bad(v, e->seq, "entry seq %" PRId64 " (%s) is not the entry that was hashed "
		    "when it was written: changed, or moved from another seq", e->seq, e->event);
		return false;
	}
	merkle_append(&v->fr, leaf, verify_node, v);
	return v->problem[0] == '\0';
}

/* Every stored checkpoint of the size the recomputed tree has reached. */
static bool
verify_checkpoints(struct verify *v)
{
	for (;;) {
		if (v->icp == v->ncp) {
			if (v->cps_end)
				return true;
			uint64_t after = v->ncp > 0 ? v->cps[v->ncp - 1].size : 0;
			for (int i = 0; i < v->ncp; i++)
				store_checkpoint_clear(&v->cps[i]);
			v->icp = 0;
			v->ncp = store_audit_checkpoints_after(v->d->store, after, v->cps, VERIFY_CPS);
			if (v->ncp < 0) {
				v->ncp = 0;
				verify_bad(v, 0, "cannot read the stored checkpoints (see the log)");
				return false;
			}
			v->cps_end = v->ncp < VERIFY_CPS;
			if (v->ncp == 0)
				return true;
		}
		const struct store_checkpoint *cp = &v->cps[v->icp];
		if (cp->size > v->fr.size)
			return true;
		if (!verify_checkpoint(v, cp))
			return false;
		v->icp++;
	}
}

static bool
verify_checkpoint(struct verify *v, const struct store_checkpoint *cp)
{
	const char *us = v->d->cfg->authority_id;
	uint8_t root[MERKLE_HASH_LEN];
	char signer[AUTHORITY_ID_MAX + 1], why[400];
	Rogatory__V1__CheckpointBody *b = NULL;
	Rogatory__V1__SignedObject so;
	merkle_root(&v->fr, root);
	if (memcmp(root, cp->root, MERKLE_HASH_LEN) != 0) {
		verify_bad(v, 0, "entries seq 1..%" PRIu64 " no longer give the root of the "
		    "checkpoint of %" PRIu64 " entries signed at %" PRId64 " ms: an entry was "
		    "changed together with its leaf hash, or the checkpoint was replaced", cp->size,
		    cp->size, cp->time_ms);
		return false;
	}
	wire_signed_object_set(&so, cp->body, cp->body_len, cp->sig, cp->sig_len, cp->cert,
	    cp->cert_len);
	if (evidence_open_checkpoint(&so, signer, &b, why, sizeof(why)) != 0 ||
	    strcmp(signer, us) != 0 || b->tree_size != cp->size ||
	    memcmp(b->root_hash.data, cp->root, MERKLE_HASH_LEN) != 0) {
		verify_bad(v, 0, "the checkpoint of %" PRIu64 " entries is not one we signed: %s",
		    cp->size, b == NULL ? why : "its signed body names another tree or signer");
		wire_audit_free(b);
		return false;
	}
	wire_audit_free(b);
	v->checkpoints++;
	return verify_cosignatures(v, cp);
}

static bool
verify_cosignatures(struct verify *v, const struct store_checkpoint *cp)
{
	const char *us = v->d->cfg->authority_id;
	struct store_checkpoint cos[COSIGNERS_MAX];
	uint8_t h[EVIDENCE_HASH_LEN];
	int n = store_audit_cosignatures(v->d->store, cp->size, cos, COSIGNERS_MAX);
	bool ok = n >= 0;
	json_t *by = json_array();
	if (!ok)
		verify_bad(v, 0, "cannot read the cosignatures of the checkpoint of %" PRIu64
		    " entries", cp->size);
	evidence_payload_hash(cp->body, cp->body_len, h);
	for (int i = 0; ok && i < n; i++) {
		char signer[AUTHORITY_ID_MAX + 1], why[400] = "";
		Rogatory__V1__CosignatureBody *b = NULL;
		Rogatory__V1__SignedObject so;
		wire_signed_object_set(&so, cos[i].body, cos[i].body_len, cos[i].sig, cos[i].sig_len,
		    cos[i].cert, cos[i].cert_len);
		if (evidence_open_cosignature(&so, signer, &b, why, sizeof(why)) != 0 ||
		    strcmp(signer, cos[i].who) != 0 || b->origin.len != strlen(us) ||
		    memcmp(b->origin.data, us, b->origin.len) != 0 || b->tree_size != cp->size ||
		    memcmp(b->root_hash.data, cp->root, MERKLE_HASH_LEN) != 0 ||
		    memcmp(b->checkpoint_sha256.data, h, sizeof(h)) != 0) {
			verify_bad(v, 0, "the cosignature of %s on the checkpoint of %" PRIu64
			    " entries does not hold: %s", cos[i].who, cp->size, why[0] ? why :
			    "it names another checkpoint");
			ok = false;
		} else {
			v->cosignatures++;
			json_array_append_new(by, json_string(cos[i].who));
		}
		wire_audit_free(b);
	}
	for (int i = 0; i < n; i++)
		store_checkpoint_clear(&cos[i]);
	/* The answer names the newest checkpoint that was cosigned, else the newest. */
	if (ok && (json_array_size(by) > 0 || json_array_size(v->shown_by) == 0)) {
		v->shown_size = cp->size;
		v->shown_time = cp->time_ms;
		json_decref(v->shown_by);
		v->shown_by = by;
	} else {
		json_decref(by);
	}
	return ok;
}

/* After the last entry: nothing signed or kept may claim more than the entries give. */
static void
verify_end(struct verify *v)
{
	struct merkle_frontier f;
	uint8_t a[MERKLE_HASH_LEN], b[MERKLE_HASH_LEN];
	if (v->icp < v->ncp)
		verify_bad(v, (int64_t)v->fr.size + 1, "the checkpoint of %" PRIu64 " entries "
		    "signed at %" PRId64 " ms covers entries the log no longer has: seq %" PRIu64
		    " and after are missing", v->cps[v->icp].size, v->cps[v->icp].time_ms,
		    v->fr.size + 1);
	else if (store_audit_frontier(v->d->store, &f) != 0)
		verify_bad(v, 0, "cannot read the stored tree (see the log)");
	else if (f.size > v->fr.size)
		verify_bad(v, (int64_t)v->fr.size + 1, "entries seq %" PRIu64 "..%" PRIu64 " are "
		    "missing (the tree holds %" PRIu64 " entries)", v->fr.size + 1, f.size, f.size);
	else if (merkle_root(&f, a), merkle_root(&v->fr, b),
	    f.size != v->fr.size || memcmp(a, b, MERKLE_HASH_LEN) != 0)
		verify_bad(v, 0, "the stored tree (%" PRIu64 " entries) is not the tree of the "
		    "%" PRIu64 " stored entries", f.size, v->fr.size);
}

static void
verify_finish(struct verify *v)
{
	struct control_result res = {.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK};
	json_t *o = json_object();
	json_object_set_new(o, "intact", json_boolean(v->problem[0] == '\0'));
	json_object_set_new(o, "entries", json_integer((json_int_t)v->fr.size));
	json_object_set_new(o, "first_bad_seq", v->first_bad > 0 ? json_integer(v->first_bad)
	                                                         : json_null());
	json_object_set_new(o, "problem", v->problem[0] ? json_string(v->problem) : json_null());
	json_object_set_new(o, "checkpoints_checked", json_integer((json_int_t)v->checkpoints));
	json_object_set_new(o, "cosignatures_checked", json_integer((json_int_t)v->cosignatures));
	json_t *cp = json_null();
	if (v->shown_size > 0) {
		cp = json_object();
		json_object_set_new(cp, "tree_size", json_integer((json_int_t)v->shown_size));
		json_object_set_new(cp, "time", timej(v->shown_time));
		json_object_set(cp, "cosigned_by", v->shown_by);
	}
	json_object_set_new(o, "checkpoint", cp);
	res.json = o;
	if (v->problem[0] != '\0')
		log_warn("audit verify: NOT intact: %s", v->problem);
	control_later_reply(v->later, &res);
	for (int i = 0; i < v->ncp; i++)
		store_checkpoint_clear(&v->cps[i]);
	json_decref(v->shown_by);
	event_free(v->ev);
	free(v);
}

/* ---- prove ---- */

void
ctlaudit_prove(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	const Rogatory__Ctl__V1__AuditProveRequest *q = req->audit_prove;
	struct rogatoryd *d = control_daemon(c);
	struct merkle_frontier f;
	struct prove *p = calloc(1, sizeof(*p));
	if (p == NULL || (p->seqs = calloc(AUDITPROOF_ENTRIES_MAX, sizeof(int64_t))) == NULL)
		fatal("out of memory");
	p->d = d;
	res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND;
	res->error_code = "not-found";
	if (store_audit_frontier(d->store, &f) != 0) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
		res->error_code = "store-error";
		snprintf(res->error_text, sizeof(res->error_text), "cannot read the audit tree");
		goto fail;
	}
	if (q->seq > 0) {
		if (q->seq > f.size) {
			snprintf(res->error_text, sizeof(res->error_text), "no entry seq %" PRIu64
			    ": the log holds %" PRIu64, q->seq, f.size);
			goto fail;
		}
		p->seqs[p->n++] = (int64_t)q->seq;
	} else {
		struct store_msg m = {0};
		if (control_find_message(c, &q->message_id, &q->sender_id, &m, res) != 0)
			goto fail;
		int n = auditproof_message_seqs(d->store, m.msg_id, m.dir == STORE_OUT ?
		    m.recipient : m.sender, m.dir, p->seqs, AUDITPROOF_ENTRIES_MAX);
		store_msg_clear(&m);
		if (n <= 0) {
			snprintf(res->error_text, sizeof(res->error_text), "no entry names that "
			    "message");
			goto fail;
		}
		p->n = (size_t)n;
	}
	for (size_t i = 0; i < p->n; i++)
		if ((uint64_t)p->seqs[i] > p->need)
			p->need = (uint64_t)p->seqs[i];
	p->tree_size = q->tree_size;
	if (p->tree_size > 0 && p->tree_size < p->need) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
		res->error_code = "not-covered";
		snprintf(res->error_text, sizeof(res->error_text), "a tree of %" PRIu64 " entries "
		    "does not hold entry seq %" PRIu64, p->tree_size, p->need);
		goto fail;
	}
	res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK;
	res->error_code = NULL;
	p->later = control_later(c, req, res);
	audit_checkpoint_covering(d->audit, p->need, prove_ready, p);
	return;
fail:
	free(p->seqs);
	free(p);
}

static void
prove_ready(void *arg, bool ok, const char *why)
{
	struct prove *p = arg;
	struct control_result res = {.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK};
	struct store_checkpoint cp = {0};
	int got = !ok ? 1 : p->tree_size == 0 ? store_audit_covering(p->d->store, p->need, &cp)
	    : store_audit_checkpoints(p->d->store, p->tree_size, &cp, 1) == 1 &&
	    cp.size == p->tree_size ? 0 : 1;
	if (got == 0)
		res.json = auditproof_bundle(p->d->store, p->d->cfg->authority_id, p->seqs, p->n,
		    &cp, res.error_text, sizeof(res.error_text));
	if (got != 0) {
		res.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
		res.error_code = "no-checkpoint";
		if (p->tree_size > 0 && ok)
			snprintf(res.error_text, sizeof(res.error_text), "no checkpoint of %" PRIu64
			    " entries was signed", p->tree_size);
		else
			snprintf(res.error_text, sizeof(res.error_text), "no checkpoint covers entry "
			    "seq %" PRIu64 ": %s", p->need, why != NULL ? why : "the store has none");
	} else if (res.json == NULL) {
		res.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
		res.error_code = "store-error";
	}
	store_checkpoint_clear(&cp);
	control_later_reply(p->later, &res);
	free(p->seqs);
	free(p);
}

/* ---- status ---- */

static void
cosigned_row(void *arg, const char *witness, uint64_t size, int64_t count)
{
	json_t *o = json_object();
	json_object_set_new(o, "witness", json_string(witness));
	json_object_set_new(o, "tree_size", json_integer((json_int_t)size));
	json_object_set_new(o, "cosignatures", json_integer(count));
	json_array_append_new(arg, o);
}

void
ctlaudit_status(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	(void)req;
	struct rogatoryd *d = control_daemon(c);
	struct merkle_frontier f;
	struct store_checkpoint cp = {0}, held[64];
	uint8_t root[MERKLE_HASH_LEN];
	json_t *o = json_object(), *by = json_array(), *w = json_array();
	int nh = store_audit_witnessed(d->store, NULL, held, 64);
	if (store_audit_frontier(d->store, &f) != 0 || nh < 0 ||
	    store_audit_cosigned_by(d->store, cosigned_row, by) != 0 ||
	    store_audit_checkpoints(d->store, UINT64_MAX, &cp, 1) < 0) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
		res->error_code = "store-error";
		snprintf(res->error_text, sizeof(res->error_text), "cannot read the audit log");
		json_decref(o);
		json_decref(by);
		json_decref(w);
		for (int i = 0; i < nh; i++)
			store_checkpoint_clear(&held[i]);
		store_checkpoint_clear(&cp);
		return;
	}
	merkle_root(&f, root);
	json_object_set_new(o, "origin", json_string(d->cfg->authority_id));
	json_object_set_new(o, "entries", json_integer((json_int_t)f.size));
	json_object_set_new(o, "root_hash", hexj(root));
	json_t *nc = json_null();
	if (cp.size > 0) {
		nc = json_object();
		json_object_set_new(nc, "tree_size", json_integer((json_int_t)cp.size));
		json_object_set_new(nc, "root_hash", hexj(cp.root));
		json_object_set_new(nc, "time", timej(cp.time_ms));
	}
	json_object_set_new(o, "checkpoint", nc);
	json_object_set_new(o, "checkpoint_every_s",
	    json_integer((json_int_t)(d->cfg->checkpoint_every_ms / 1000)));
	json_object_set_new(o, "witnesses", by);
	for (int i = 0; i < nh; i++) {
		json_t *h = json_object();
		json_object_set_new(h, "origin", json_string(held[i].who));
		json_object_set_new(h, "tree_size", json_integer((json_int_t)held[i].size));
		json_object_set_new(h, "root_hash", hexj(held[i].root));
		json_object_set_new(h, "time", timej(held[i].time_ms));
		json_object_set_new(h, "forked", json_boolean(held[i].forked_us != 0));
		json_array_append_new(w, h);
		store_checkpoint_clear(&held[i]);
	}
	json_object_set_new(o, "witnessed", w);
	json_object_set_new(o, "forks_kept", json_integer((json_int_t)store_audit_forks(d->store)));
	uint64_t entries = 0, ns = 0;
	store_audit_cost(d->store, &entries, &ns);
	json_t *cost = json_object();
	json_object_set_new(cost, "entries_since_start", json_integer((json_int_t)entries));
	json_object_set_new(cost, "store_thread_ns", json_integer((json_int_t)ns));
	json_object_set_new(cost, "loop_ns", json_integer((json_int_t)(d->audit != NULL ?
	    audit_loop_ns(d->audit) : 0)));
	json_object_set_new(o, "cost", cost);
	store_checkpoint_clear(&cp);
	res->json = o;
}
