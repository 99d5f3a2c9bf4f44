/*
 * Unit tests of the audit log below the daemon: the entry covers every column of the
 * events table; every event written is a leaf in seq order, with the nodes of 16
 * leaves kept and the frontier stored (a reopen goes on from it); ops that fail give
 * their leaves back (SQLITE_FULL half-way through batches); rows from before the log are
 * hashed once and give the same tree; a frontier behind the events stops the start-up;
 * the audit ops keep checkpoints, cosignatures and witnessed checkpoints, a fork is
 * announced once; the audit bodies are refused when out of form or not canonical; a
 * proof bundle built from a store checks, and fails, naming where, with a bit flipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>

#include "../support/support.h"
#include "auditcheck.h"
#include "auditentry.h"
#include "auditproof.h"
#include "evidence.h"
#include "merkle.h"
#include "store.h"
#include "wire.h"

#define WAIT_MS 10000

static struct {
	char *dir;
	struct event_base *base;
	struct event *tick;
	struct store *s;
	int done;
} fx;

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void
setup(void)
{
	memset(&fx, 0, sizeof(fx));
	cr_assert(evthread_use_pthreads() == 0);
	fx.base = event_base_new();
	fx.tick = event_new(fx.base, -1, EV_PERSIST, tick_cb, NULL);
	struct timeval tv = {0, 50000};
	event_add(fx.tick, &tv);
	fx.dir = ts_tmpdir("audit");
}

static void
teardown(void)
{
	store_close(fx.s);
	event_free(fx.tick);
	event_base_free(fx.base);
	ts_rmrf(fx.dir);
	free(fx.dir);
}

TestSuite(audit, .init = setup, .fini = teardown, .timeout = 60);

static void
fx_open(uint64_t max_size)
{
	char err[512] = "";
	cr_assert_eq(store_open(fx.dir, max_size, fx.base, &fx.s, err, sizeof(err)), 0, "%s", err);
}

static void
fx_close(void)
{
	store_close(fx.s);
	fx.s = NULL;
}

static void
op_done(struct store_op *op, void *arg)
{
	(void)op;
	(void)arg;
	fx.done++;
}

static void
fx_run(struct store_op *ops, int n)
{
	int want = fx.done + n;
	struct timespec t0, t;
	for (int i = 0; i < n; i++) {
		ops[i].done = op_done;
		store_submit(fx.s, &ops[i]);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (fx.done < want) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		cr_assert((t.tv_sec - t0.tv_sec) * 1000 < WAIT_MS, "ops did not complete");
		event_base_loop(fx.base, EVLOOP_ONCE);
	}
}

/* n event ops (link-up events with a reason of len bytes), in one batch. */
static void
events(int n, size_t len, int *ok)
{
	struct store_op *ops = calloc((size_t)n, sizeof(*ops));
	cr_assert_not_null(ops);
	for (int i = 0; i < n; i++) {
		ops[i].kind = STORE_OP_EVENT;
		ops[i].has_event = true;
		snprintf(ops[i].event.event, sizeof(ops[i].event.event), "link-up");
		snprintf(ops[i].event.peer, sizeof(ops[i].event.peer), "FR-MJ");
		memset(ops[i].event.reason, 'a' + i % 26, len < 255 ? len : 255);
		if (i % 3 == 0) {
			ops[i].event.has_actor = true;
			ops[i].event.actor_uid = (uint32_t)i;
			snprintf(ops[i].event.actor_user, sizeof(ops[i].event.actor_user), "op%d", i);
		}
	}
	fx_run(ops, n);
	for (int i = 0; i < n; i++)
		if (ops[i].result == STORE_R_OK && ok != NULL)
			(*ok)++;
	free(ops);
}

/* Every stored event recomputed: seq without gaps, leaf as stored; the tree's root and
 * size against the stored frontier. Returns the number of entries. */
static uint64_t
check_log(void)
{
	struct merkle_frontier f = {0}, stored;
	struct store_event *page = calloc(500, sizeof(*page));
	cr_assert_not_null(page);
	int n;
	while ((n = store_events_since(fx.s, (int64_t)f.size, page, 500)) > 0) {
		for (int i = 0; i < n; i++) {
			uint8_t leaf[MERKLE_HASH_LEN];
			cr_assert_eq(page[i].seq, (int64_t)f.size + 1, "seq %lld after %llu",
			    (long long)page[i].seq, (unsigned long long)f.size);
			cr_assert_eq(auditentry_leaf(&page[i], leaf), 0);
			cr_assert_eq(memcmp(leaf, page[i].leaf, sizeof(leaf)), 0, "leaf of seq %lld",
			    (long long)page[i].seq);
			merkle_append(&f, leaf, NULL, NULL);
		}
	}
	free(page);
	cr_assert_eq(store_audit_frontier(fx.s, &stored), 0);
	cr_assert_eq(stored.size, f.size);
	uint8_t a[32], b[32];
	merkle_root(&f, a);
	merkle_root(&stored, b);
	cr_assert_eq(memcmp(a, b, 32), 0, "the stored frontier's root");
	/* A kept node of 16 leaves is the hash of those 16. */
	if (f.size >= 16) {
		uint8_t n16[32], r[32];
		cr_assert_eq(store_audit_node(fx.s, 4, 0, n16), 0);
		cr_assert_eq(merkle_range_hash(0, 16, store_audit_get, fx.s, r), 0);
		cr_assert_eq(memcmp(n16, r, 32), 0);
	}
	return f.size;
}

static void
sql(const char *statements)
{
	char path[600];
	sqlite3 *db = NULL;
	snprintf(path, sizeof(path), "%s/rogatory.db", fx.dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, statements, NULL, NULL, NULL), SQLITE_OK, "%s: %s",
	    statements, sqlite3_errmsg(db));
	sqlite3_close(db);
}

Test(audit, entry_covers_every_event_column)
{
	fx_open(0);
	char cols[512], want[512] = "";
	cr_assert_eq(store_test_event_columns(fx.s, cols, sizeof(cols)), 0, "%s", cols);
	for (int i = 0; auditentry_columns[i] != NULL; i++) {
		strcat(want, auditentry_columns[i]);
		strcat(want, " ");
	}
	strcat(want, "leaf");
	/* Order aside: the same set. A column added to events must be added to the entry
	 * (auditentry.c), or it would be recorded without being protected. */
	char *save = NULL, copy[512];
	snprintf(copy, sizeof(copy), "%s", cols);
	int n = 0;
	for (char *c = strtok_r(copy, " ", &save); c != NULL; c = strtok_r(NULL, " ", &save)) {
		char pad[80];
		snprintf(pad, sizeof(pad), " %s ", c);
		char hay[530];
		snprintf(hay, sizeof(hay), " %s ", want);
		cr_assert(strstr(hay, pad) != NULL, "events column %s is not in the audit entry "
		    "(auditentry_columns); the table has: %s", c, cols);
		n++;
	}
	int m = 1;
	for (int i = 0; auditentry_columns[i] != NULL; i++)
		m++;
	cr_assert_eq(n, m, "the entry names columns the table lacks: %s vs %s", want, cols);
}

Test(audit, every_event_is_a_leaf_and_a_reopen_goes_on)
{
	fx_open(0);
	events(7, 10, NULL);
	events(30, 40, NULL);
	cr_assert_eq(check_log(), 37);
	fx_close();
	fx_open(0);
	events(5, 0, NULL);
	cr_assert_eq(check_log(), 42);
	uint64_t entries = 0, ns = 0;
	store_audit_cost(fx.s, &entries, &ns);
	cr_assert_eq(entries, 5, "leaves written since this open");
}

Test(audit, failed_ops_give_their_leaves_back)
{
	fx_open(0);
	events(20, 200, NULL);
	/* From now on the file may not grow: events fail with SQLITE_FULL part-way through
	 * batches, each rolled back to its savepoint; the tree must follow. */
	store_set_max_size(fx.s, 1);
	int ok = 0;
	for (int round = 0; round < 10; round++)
		events(40, 255, &ok);
	cr_assert_lt(ok, 400, "some events were refused as the store is full");
	uint64_t n = check_log();
	cr_assert_eq(n, 20 + (uint64_t)ok);
	fx_close();
	fx_open(0);
	cr_assert_eq(check_log(), n, "the reopened store agrees");
}

Test(audit, rows_from_before_the_log_are_hashed_once_alike)
{
	fx_open(0);
	events(40, 30, NULL);
	struct merkle_frontier before, after;
	cr_assert_eq(store_audit_frontier(fx.s, &before), 0);
	fx_close();
	/* What a migrated schema-5 store looks like to the audit log. */
	sql("UPDATE events SET leaf = NULL; DELETE FROM audit_nodes; "
	    "DELETE FROM meta WHERE key = 'audit_frontier'; "
	    "INSERT INTO meta (key, value) VALUES ('audit_backfill', 1)");
	fx_open(0);
	cr_assert_eq(check_log(), 40);
	cr_assert_eq(store_audit_frontier(fx.s, &after), 0);
	uint8_t a[32], b[32];
	merkle_root(&before, a);
	merkle_root(&after, b);
	cr_assert_eq(memcmp(a, b, 32), 0, "the same rows give the same tree");
	fx_close();
	fx_open(0);
	cr_assert_eq(check_log(), 40, "hashed once: the flag is gone");
}

Test(audit, frontier_behind_the_events_stops_the_start_up)
{
	fx_open(0);
	events(5, 0, NULL);
	fx_close();
	sql("DELETE FROM meta WHERE key = 'audit_frontier'");
	char err[512] = "";
	cr_assert_eq(store_open(fx.dir, 0, fx.base, &fx.s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "the tree holds 0 entries but the events table goes up to seq 5")
	    != NULL, "%s", err);
}

static void
audit_op(struct store_op *op, enum store_op_kind k, uint64_t size, uint8_t root_byte,
    const char *who)
{
	static const uint8_t blob[] = "signed";
	memset(op, 0, sizeof(*op));
	op->kind = k;
	op->audit.size = size;
	memset(op->audit.root, root_byte, sizeof(op->audit.root));
	op->audit.time_ms = (int64_t)size * 1000;
	snprintf(op->audit.who, sizeof(op->audit.who), "%s", who);
	op->audit.body = op->audit.sig = op->audit.cert = blob;
	op->audit.body_len = op->audit.sig_len = op->audit.cert_len = sizeof(blob);
}

Test(audit, checkpoints_cosignatures_and_what_a_witness_holds)
{
	fx_open(0);
	events(10, 0, NULL);
	struct store_op ops[6];
	audit_op(&ops[0], STORE_OP_AUDIT_HEAD, 0, 0, "");
	audit_op(&ops[1], STORE_OP_AUDIT_CHECKPOINT, 4, 0x44, "");
	audit_op(&ops[2], STORE_OP_AUDIT_CHECKPOINT, 8, 0x88, "");
	audit_op(&ops[3], STORE_OP_AUDIT_COSIGNATURE, 8, 0x88, "FR-MJ");
	audit_op(&ops[4], STORE_OP_AUDIT_WITNESS, 3, 0x33, "FR-MJ");
	audit_op(&ops[5], STORE_OP_AUDIT_WITNESS, 2, 0x22, "FR-MJ");
	fx_run(ops, 6);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(ops[i].result, STORE_R_OK, "op %d: %s", i, ops[i].error);
	cr_assert_eq(ops[0].audit.size, 10, "the head after every event before it");
	struct store_checkpoint cp = {0};
	/* Cosigned wins over older; oldest among the cosigned. */
	cr_assert_eq(store_audit_covering(fx.s, 2, &cp), 0);
	cr_assert_eq(cp.size, 8);
	store_checkpoint_clear(&cp);
	cr_assert_eq(store_audit_covering(fx.s, 9, &cp), 1, "nothing covers 9");
	/* The witness never goes back to a smaller tree. */
	cr_assert_eq(store_audit_witnessed(fx.s, "FR-MJ", &cp, 1), 1);
	cr_assert_eq(cp.size, 3);
	store_checkpoint_clear(&cp);
	/* A fork: kept each time it is offered, announced (an event) the first time. */
	for (int round = 0; round < 2; round++) {
		struct store_op f;
		audit_op(&f, STORE_OP_AUDIT_WITNESS, 5, 0x55, "FR-MJ");
		f.audit.fork = true;
		snprintf(f.audit.reason, sizeof(f.audit.reason), "test fork");
		snprintf(f.event.event, sizeof(f.event.event), "audit-fork");
		snprintf(f.event.peer, sizeof(f.event.peer), "FR-MJ");
		fx_run(&f, 1);
		cr_assert_eq(f.result, STORE_R_OK, "%s", f.error);
		cr_assert_eq(f.audit.first_fork, round == 0);
		cr_assert_eq(f.has_event && f.event.seq > 0, round == 0, "the alert once");
	}
	cr_assert_eq(store_audit_forks(fx.s), 2);
	cr_assert_eq(store_audit_witnessed(fx.s, "FR-MJ", &cp, 1), 1);
	cr_assert_eq(cp.size, 3, "a fork never replaces what is held");
	cr_assert_neq(cp.forked_us, 0);
	store_checkpoint_clear(&cp);
	cr_assert_eq(check_log(), 11, "the alert is an entry too");
}

/* ---- the audit bodies on the wire ---- */

Test(audit, bodies_refused_out_of_form_or_not_canonical)
{
	Rogatory__V1__AuditEntry e = ROGATORY__V1__AUDIT_ENTRY__INIT;
	Rogatory__V1__AuditEntry *out = NULL;
	uint8_t buf[512];
	char err[256];
	e.seq = 3;
	e.time_us = 1;
	e.event.data = (uint8_t *)"queued";
	e.event.len = 6;
	e.direction = ROGATORY__V1__DIRECTION__DIRECTION_OUT;
	size_t n = protobuf_c_message_pack(&e.base, buf);
	cr_assert_eq(wire_audit_entry_decode(buf, n, &out, err, sizeof(err)), 0, "%s", err);
	wire_audit_free(out);
	/* seq written out a second time: not canonical. */
	buf[n] = 0x08;
	buf[n + 1] = 0x03;
	cr_assert_eq(wire_audit_entry_decode(buf, n + 2, &out, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not canonically encoded") != NULL, "%s", err);
	e.event.data = (uint8_t *)"Queued";
	n = protobuf_c_message_pack(&e.base, buf);
	cr_assert_eq(wire_audit_entry_decode(buf, n, &out, err, sizeof(err)), -1);
	cr_assert(strstr(err, "entry.event") != NULL, "%s", err);
	Rogatory__V1__CheckpointBody c = ROGATORY__V1__CHECKPOINT_BODY__INIT;
	Rogatory__V1__CheckpointBody *cout = NULL;
	uint8_t root[31] = {0};
	c.origin.data = (uint8_t *)"FR-MJ";
	c.origin.len = 5;
	c.tree_size = 1;
	c.root_hash.data = root;
	c.root_hash.len = sizeof(root);
	c.time_ms = 1;
	n = protobuf_c_message_pack(&c.base, buf);
	cr_assert_eq(wire_checkpoint_body_decode(buf, n, &cout, err, sizeof(err)), -1);
	cr_assert(strstr(err, "checkpoint.root_hash: 31 bytes") != NULL, "%s", err);
	/* A Witness offer with a proof but no size to start from. */
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT, *eout = NULL;
	Rogatory__V1__Witness w = ROGATORY__V1__WITNESS__INIT;
	Rogatory__V1__CheckpointOffer o = ROGATORY__V1__CHECKPOINT_OFFER__INIT;
	Rogatory__V1__SignedObject so;
	uint8_t h[32] = {0};
	ProtobufCBinaryData hashes[1] = {{32, h}};
	wire_signed_object_set(&so, h, 1, h, 1, h, 1);
	o.checkpoint = &so;
	o.n_consistency = 1;
	o.consistency = hashes;
	w.msg_case = ROGATORY__V1__WITNESS__MSG_CHECKPOINT;
	w.checkpoint = &o;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_WITNESS;
	env.witness = &w;
	n = protobuf_c_message_pack(&env.base, buf);
	cr_assert_eq(wire_envelope_decode(buf, n, &eout, err, sizeof(err)), -1);
	cr_assert(strstr(err, "a proof without from_size") != NULL, "%s", err);
	o.from_size = 1;
	hashes[0].len = 31;
	n = protobuf_c_message_pack(&env.base, buf);
	cr_assert_eq(wire_envelope_decode(buf, n, &eout, err, sizeof(err)), -1);
	cr_assert(strstr(err, "witness.checkpoint.consistency[0]: 31 bytes") != NULL, "%s", err);
	hashes[0].len = 32;
	n = protobuf_c_message_pack(&env.base, buf);
	cr_assert_eq(wire_envelope_decode(buf, n, &eout, err, sizeof(err)), 0, "%s", err);
	wire_envelope_free(eout);
}

/* ---- a proof bundle from a store, checked offline ---- */

Test(audit, proof_bundle_checks_and_names_what_was_changed, .timeout = 60)
{
	char *out = NULL, crt[600], key[600], ca[600], err[512] = "";
	int rc = ts_sh(&out, "cd '%s' && '%s' init ca && '%s' issue ca FR-MJ . && '%s' issue ca "
	    "DE-BMJ .", fx.dir, ts_pki(), ts_pki(), ts_pki());
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	snprintf(crt, sizeof(crt), "%s/FR-MJ.crt", fx.dir);
	snprintf(key, sizeof(key), "%s/FR-MJ.key", fx.dir);
	snprintf(ca, sizeof(ca), "%s/ca/ca.crt", fx.dir);
	struct evidence_signer *origin = NULL, *witness = NULL;
	cr_assert_eq(evidence_signer_load(crt, key, &origin, err, sizeof(err)), 0, "%s", err);
	snprintf(crt, sizeof(crt), "%s/DE-BMJ.crt", fx.dir);
	snprintf(key, sizeof(key), "%s/DE-BMJ.key", fx.dir);
	cr_assert_eq(evidence_signer_load(crt, key, &witness, err, sizeof(err)), 0, "%s", err);
	fx_open(0);
	events(13, 20, NULL);
	struct merkle_frontier f;
	uint8_t root[32], h[32];
	cr_assert_eq(store_audit_frontier(fx.s, &f), 0);
	merkle_root(&f, root);
	/* The origin signs, the witness cosigns: both kept as the daemon keeps them. */
	Rogatory__V1__CheckpointBody cb = ROGATORY__V1__CHECKPOINT_BODY__INIT;
	cb.origin.data = (uint8_t *)"FR-MJ";
	cb.origin.len = 5;
	cb.tree_size = f.size;
	cb.root_hash.data = root;
	cb.root_hash.len = 32;
	cb.time_ms = (int64_t)time(NULL) * 1000;
	struct signed_object cps, cos;
	cr_assert_eq(evidence_sign_checkpoint(origin, &cb, &cps, err, sizeof(err)), 0, "%s", err);
	evidence_payload_hash(cps.body, cps.body_len, h);
	Rogatory__V1__CosignatureBody wb = ROGATORY__V1__COSIGNATURE_BODY__INIT;
	wb.witness_id.data = (uint8_t *)"DE-BMJ";
	wb.witness_id.len = 6;
	wb.origin = cb.origin;
	wb.tree_size = f.size;
	wb.root_hash = cb.root_hash;
	wb.checkpoint_sha256.data = h;
	wb.checkpoint_sha256.len = 32;
	wb.time_ms = cb.time_ms;
	cr_assert_eq(evidence_sign_cosignature(witness, &wb, &cos, err, sizeof(err)), 0, "%s", err);
	struct store_op ops[2];
	audit_op(&ops[0], STORE_OP_AUDIT_CHECKPOINT, f.size, 0, "");
	audit_op(&ops[1], STORE_OP_AUDIT_COSIGNATURE, f.size, 0, "DE-BMJ");
	for (int i = 0; i < 2; i++) {
		memcpy(ops[i].audit.root, root, 32);
		ops[i].audit.time_ms = cb.time_ms;
		const struct signed_object *o = i == 0 ? &cps : &cos;
		ops[i].audit.body = o->body;
		ops[i].audit.body_len = o->body_len;
		ops[i].audit.sig = o->signature;
		ops[i].audit.sig_len = o->signature_len;
		ops[i].audit.cert = o->cert;
		ops[i].audit.cert_len = o->cert_len;
	}
	fx_run(ops, 2);
	struct store_checkpoint cp = {0};
	cr_assert_eq(store_audit_covering(fx.s, 13, &cp), 0);
	int64_t seqs[] = {1, 7, 13};
	json_t *b = auditproof_bundle(fx.s, "FR-MJ", seqs, 3, &cp, err, sizeof(err));
	cr_assert_not_null(b, "%s", err);
	struct auditcheck r;
	cr_assert_eq(auditcheck_bundle(b, ca, &r), 0, "%s", r.problem);
	cr_assert_eq(r.entries, 3);
	cr_assert_eq(r.cosigners, 1);
	cr_assert_str_eq(r.cosigner[0], "DE-BMJ");
	/* One hex digit of the second entry's path: its place is named. */
	json_t *p = json_object_get(json_array_get(json_object_get(b, "entries"), 1), "path");
	char hx[65];
	snprintf(hx, sizeof(hx), "%s", json_string_value(json_array_get(p, 0)));
	hx[0] = hx[0] == '0' ? '1' : '0';
	json_array_set_new(p, 0, json_string(hx));
	cr_assert_eq(auditcheck_bundle(b, ca, &r), -1);
	cr_assert(strstr(r.problem, "entries[1] (seq 7): its inclusion proof does not lead") !=
	    NULL, "%s", r.problem);
	/* Another origin claimed in the bundle than the checkpoint's signer. */
	json_object_set_new(b, "origin", json_string("DE-BMJ"));
	cr_assert_eq(auditcheck_bundle(b, ca, &r), -1);
	cr_assert(strstr(r.problem, "checkpoint: signed by FR-MJ, but the bundle is of DE-BMJ")
	    != NULL, "%s", r.problem);
	json_decref(b);
	store_checkpoint_clear(&cp);
	signed_object_clear(&cps);
	signed_object_clear(&cos);
	evidence_signer_free(origin);
	evidence_signer_free(witness);
	evidence_cache_clear();
}
