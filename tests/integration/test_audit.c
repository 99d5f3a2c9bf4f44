/*
 * 20-audit: the tamper-evident audit log between real daemons (issue 17). Proofs of
 * entries of trees of 1, 2, 3, 7, 8 and 1000 entries (first, middle, last) are checked by
 * tests/tools/verify-audit, written from PROTOCOL.md section 15 with none of our C, and
 * refused with one bit flipped; entries changed, deleted or swapped with sqlite3 in a
 * stopped daemon's store are named by `audit verify`; a log rewritten and re-signed with
 * the same key is caught by its witness at the next link-up (audit-fork, once); a
 * restarted witness keeps what it saw; operators' actions carry their uid and name.
 */
#include <criterion/criterion.h>

#include <jansson.h>
#include <openssl/evp.h>

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "support.h"
#include "traffic.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

/* rogatoryctl ARGS on node i (net.h: tnet_ctlf). */
#define ctl tnet_ctlf

/* sqlite3 on node i's store (the daemon stopped); asserts success. */
static void
sql(struct tnet *t, int i, const char *statements)
{
	char *out = NULL;
	int rc = ts_sh(&out, "sqlite3 '%s/state/rogatory.db' \"%s\" 2>&1", t->node[i].home,
	    statements);
	cr_assert_eq(rc, 0, "sqlite3 %s: %s", statements, out);
	free(out);
}

/* The number sqlite3 prints for a one-value query on node i's store. */
static long
sql_long(struct tnet *t, int i, const char *query)
{
	char *out = NULL;
	int rc = ts_sh(&out, "sqlite3 '%s/state/rogatory.db' \"%s\" 2>&1", t->node[i].home, query);
	cr_assert_eq(rc, 0, "sqlite3 %s: %s", query, out);
	long v = strtol(out, NULL, 10);
	free(out);
	return v;
}

/* tests/tools/verify-audit BUNDLE CA: its exit status, output in *out. */
static int
outside_check(struct tnet *t, char **out, const char *bundle)
{
	return ts_sh(out, "'%s' '%s' '%s' 2>&1", ts_src_path("tests/tools/verify-audit"), bundle,
	    t->ca);
}

/* The tree size `audit status` reports on node i. */
static long
entries(struct tnet *t, int i)
{
	char *out = NULL;
	cr_assert_eq(ctl(t, i, &out, "--json audit status"), 0, "%s", out);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	long n = (long)json_integer_value(json_object_get(j, "entries"));
	json_decref(j);
	free(out);
	return n;
}

/* What `audit status` on node i says it holds of origin's log: its size (0: none), and
 * whether it saw a fork. */
static long
witnessed(struct tnet *t, int i, const char *origin, bool *forked)
{
	char *out = NULL;
	cr_assert_eq(ctl(t, i, &out, "--json audit status"), 0, "%s", out);
	json_t *j = json_loads(out, 0, NULL), *w;
	cr_assert_not_null(j, "%s", out);
	size_t k;
	long n = 0;
	json_array_foreach(json_object_get(j, "witnessed"), k, w) {
		if (strcmp(json_string_value(json_object_get(w, "origin")), origin) != 0)
			continue;
		n = (long)json_integer_value(json_object_get(w, "tree_size"));
		if (forked != NULL)
			*forked = json_is_true(json_object_get(w, "forked"));
	}
	json_decref(j);
	free(out);
	return n;
}

/* `audit prove --id` on node i until its checkpoint has a cosignature; true if within ms. */
static bool
wait_cosigned(struct tnet *t, int i, const char *id, const char *from, int ms)
{
	for (int waited = 0; waited < ms; waited += 200) {
		char *out = NULL;
		int rc = ctl(t, i, &out, "--json audit prove --id %s%s%s", id, from ? " --from " : "",
		    from ? from : "");
		json_t *j = rc == 0 ? json_loads(out, 0, NULL) : NULL;
		bool ok = json_array_size(json_object_get(j, "cosignatures")) > 0;
		json_decref(j);
		free(out);
		if (ok)
			return true;
		usleep(200000);
	}
	return false;
}

/* Submits n messages to `to` in one `send --batch`: n queued events. */
static void
send_batch(struct tnet *t, int i, const char *to, int n, const char *tag)
{
	char path[4200], *out = NULL;
	snprintf(path, sizeof(path), "%s/batch-%s.jsonl", t->dir, tag);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int k = 0; k < n; k++)
		fprintf(f, "{\"to\":\"%s\",\"kind\":\"other\",\"subject\":\"%s %d\"}\n", to, tag, k);
	fclose(f);
	int rc = ctl(t, i, &out, "send --batch '%s'", path);
	cr_assert_eq(rc, 0, "send --batch: %s", out);
	free(out);
}

/*
 * A copy of bundle src with one bit flipped: in the entry's bytes (where "entry") or in
 * the first hash of its path ("path"). Returns the copy's path (malloc'd).
 */
static char *
flipped(const char *src, const char *where)
{
	json_error_t je;
	json_t *b = json_load_file(src, 0, &je);
	cr_assert_not_null(b, "%s: %s", src, je.text);
	json_t *e = json_array_get(json_object_get(b, "entries"), 0);
	if (strcmp(where, "entry") == 0) {
		const char *s = json_string_value(json_object_get(e, "entry"));
		size_t n = strlen(s);
		unsigned char raw[2048], enc[4096];
		int len = EVP_DecodeBlock(raw, (const unsigned char *)s, (int)n);
		len -= (s[n - 1] == '=') + (s[n - 2] == '=');
		cr_assert_gt(len, 0);
		raw[len - 1] ^= 0x01;
		EVP_EncodeBlock(enc, raw, len);
		json_object_set_new(e, "entry", json_string((const char *)enc));
	} else {
		json_t *p = json_object_get(e, "path");
		char h[65];
		snprintf(h, sizeof(h), "%s", json_string_value(json_array_get(p, 0)));
		/* One bit of the first hash byte: its low nibble's lowest bit. */
		const char *digits = "0123456789abcdef";
		int v = (int)(strchr(digits, h[1]) - digits) ^ 1;
		h[1] = digits[v];
		json_array_set_new(p, 0, json_string(h));
	}
	char *dst = NULL;
	cr_assert(asprintf(&dst, "%s.flipped-%s", src, where) > 0);
	cr_assert_eq(json_dump_file(b, dst, JSON_INDENT(2)), 0);
	json_decref(b);
	return dst;
}

/* Proves seq on node 0 under a checkpoint of `size` entries; checks it with our ctl and
 * without our code, then one bit flipped in the entry and in its path. */
static void
prove_and_check(struct tnet *t, long size, long seq)
{
	char path[4200], *out = NULL, want[96];
	snprintf(path, sizeof(path), "%s/proof-%ld-%ld.json", t->dir, size, seq);
	cr_assert_eq(ctl(t, 0, &out, "audit prove %ld --size %ld --out '%s'", seq, size, path), 0,
	    "%s", out);
	free(out);
	int rc = outside_check(t, &out, path);
	snprintf(want, sizeof(want), "tree of %ld entries", size);
	cr_assert(rc == 0 && strstr(out, want) != NULL && strstr(out, "\nVALID") != NULL,
	    "seq %ld of %ld, outside check (exit %d):\n%s", seq, size, rc, out);
	free(out);
	rc = ctl(t, 0, &out, "audit check '%s' --ca '%s'", path, t->ca);
	cr_assert(rc == 0 && strstr(out, "proof holds: 1 entry of BD-ACC's audit log") != NULL,
	    "seq %ld of %ld, audit check (exit %d): %s", seq, size, rc, out);
	free(out);
	const char *wheres[] = {"entry", "path"};
	for (int k = 0; k < (size > 1 ? 2 : 1); k++) {
		char *bad = flipped(path, wheres[k]);
		rc = outside_check(t, &out, bad);
		cr_assert(rc == 1 && strstr(out, "FAIL entry 0 inclusion") != NULL,
		    "seq %ld of %ld, a bit flipped in the %s passed the outside check:\n%s", seq,
		    size, wheres[k], out);
		free(out);
		rc = ctl(t, 0, &out, "audit check '%s' --ca '%s'", bad, t->ca);
		cr_assert(rc == 1 && strstr(out, "proof does NOT hold") != NULL,
		    "seq %ld of %ld, a bit flipped in the %s passed audit check: %s", seq, size,
		    wheres[k], out);
		free(out);
		free(bad);
	}
}

Test(audit, proofs_of_trees_of_1_2_3_7_8_1000_checked_without_our_code, .timeout = 240)
{
	/* FR-MJ never starts: each send is two entries (queued, and case-opened: a request
	 * opens a case), a reload by signal one (reloaded); nothing else happens. */
	struct tnet *t = tnet_new("audit-sizes", ids2, 2);
	tnet_opt(t, 0, "audit.checkpoint_every=1h");
	tnet_start(t, 0);
	static const long sizes[] = {1, 2, 3, 7, 8, 1000};
	long have = 0;
	int reloads = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char tag[32];
		snprintf(tag, sizeof(tag), "s%ld", sizes[i]);
		long need = sizes[i] - have;
		if (need / 2 > 0)
			send_batch(t, 0, "FR-MJ", (int)(need / 2), tag);
		if (need % 2 != 0) {
			kill(t->node[0].pid, SIGHUP);
			cr_assert(tr_wait_events(t, 0, "reloaded", ++reloads, 10000));
		}
		have = sizes[i];
		cr_assert_eq(entries(t, 0), have, "the log holds only the sends and reloads");
		/* The last first: it signs the checkpoint of this size, the others use it. */
		long seqs[] = {have, 1, (have + 1) / 2};
		for (int k = 0; k < 3; k++)
			if (k == 0 || (seqs[k] != seqs[0] && (k < 2 || seqs[k] != seqs[1])))
				prove_and_check(t, have, seqs[k]);
	}
	tnet_free(t);
}

/* Stops both, keeps a copy of node 0's store to tamper with anew each time. */
static struct tnet *
traffic_then_stop(const char *tag)
{
	struct tnet *t = tnet_new(tag, ids2, 2);
	for (int i = 0; i < 2; i++)
		tnet_opt(t, i, "audit.checkpoint_every=1s");
	tnet_start(t, 0);
	tnet_start(t, 1);
	for (int k = 0; k < 3; k++) {
		char *id = tr_send(t, 0, "FR-MJ", "audited", 0, 0);
		cr_assert(tr_wait_state(t, 0, id, "delivered", 20000));
		free(id);
	}
	cr_assert(tnet_wait_log(t, 0, "cosigned our checkpoint", 20000));
	char *out = NULL;
	int rc = ctl(t, 0, &out, "audit verify");
	cr_assert(rc == 0 && strstr(out, "audit log intact: ") != NULL, "%s", out);
	free(out);
	tnet_stop(t, 0, SIGTERM);
	tnet_stop(t, 1, SIGTERM);
	return t;
}

/* Starts node 0 on its store as tampered and expects `audit verify` to name seq. */
static void
verify_names(struct tnet *t, long seq, const char *needle)
{
	char *out = NULL, want[64];
	tnet_start(t, 0);
	int rc = ctl(t, 0, &out, "audit verify");
	snprintf(want, sizeof(want), "first bad entry seq %ld: ", seq);
	cr_assert(rc == 1 && strstr(out, "audit log NOT intact") != NULL &&
	    strstr(out, want) != NULL && strstr(out, needle) != NULL,
	    "expected seq %ld (%s), exit %d: %s", seq, needle, rc, out);
	free(out);
	tnet_stop(t, 0, SIGTERM);
}

Test(audit, changed_deleted_and_swapped_entries_named_by_verify, .timeout = 180)
{
	struct tnet *t = traffic_then_stop("audit-tamper");
	char *out = NULL;
	cr_assert_eq(ts_sh(&out, "cp '%s/state/rogatory.db' '%s/pristine.db'", t->node[0].home,
	    t->dir), 0, "%s", out);
	free(out);
	long last = sql_long(t, 0, "SELECT max(seq) FROM events");
	cr_assert_geq(last, 8, "a few messages make more than 8 entries");
	static const char *const restore = "cp '%s/pristine.db' '%s/state/rogatory.db' && rm -f "
	    "'%s/state/rogatory.db-wal' '%s/state/rogatory.db-shm'";
	/* Changed: one word of one entry. */
	sql(t, 0, "UPDATE events SET reason = 'nothing happened' WHERE seq = 5");
	verify_names(t, 5, "is not the entry that was hashed");
	/* Deleted: an entry in the middle. */
	cr_assert_eq(ts_sh(&out, restore, t->dir, t->node[0].home, t->node[0].home,
	    t->node[0].home), 0, "%s", out);
	free(out);
	sql(t, 0, "DELETE FROM events WHERE seq = 4");
	verify_names(t, 4, "is missing");
	cr_assert(tnet_wait_log(t, 0, "events were deleted outside rogatoryd", 1000),
	    "the start-up says rows are missing");
	/* Swapped: two entries change places, leaves and all. */
	cr_assert_eq(ts_sh(&out, restore, t->dir, t->node[0].home, t->node[0].home,
	    t->node[0].home), 0, "%s", out);
	free(out);
	sql(t, 0, "UPDATE events SET seq = -6 WHERE seq = 6; UPDATE events SET seq = 6 WHERE "
	    "seq = 7; UPDATE events SET seq = 7 WHERE seq = -6");
	verify_names(t, 6, "moved from another seq");
	tnet_free(t);
}

Test(audit, rewritten_log_detected_by_its_witness_at_the_next_link_up, .timeout = 180)
{
	struct tnet *t = traffic_then_stop("audit-fork");
	long held = sql_long(t, 1, "SELECT tree_size FROM audit_witnessed WHERE origin = 'BD-ACC'");
	cr_assert_gt(held, 0, "FR-MJ witnessed BD-ACC's log");
	/* The administrator of BD-ACC rewrites an early entry and has the daemon hash and sign
	 * its log again from the rows (the one-time hashing of a migrated store): every leaf,
	 * node and checkpoint consistent, signed with BD-ACC's own key. */
	sql(t, 0, "UPDATE events SET reason = 'never sent' WHERE seq = 3; "
	    "UPDATE events SET leaf = NULL; DELETE FROM audit_nodes; DELETE FROM audit_checkpoints; "
	    "DELETE FROM audit_cosignatures; DELETE FROM meta WHERE key = 'audit_frontier'; "
	    "INSERT INTO meta (key, value) VALUES ('audit_backfill', 1)");
	tnet_start(t, 0);
	char *out = NULL;
	int rc = ctl(t, 0, &out, "audit verify");
	cr_assert_eq(rc, 0, "the rewritten log is consistent in itself: %s", out);
	free(out);
	/* Alerts checked often: the fork must show as an active alert on the witness. */
	tnet_opt(t, 1, "alerts.interval=200ms");
	tnet_start(t, 1);
	/* The next link-up (any traffic would make one). */
	cr_assert_eq(ctl(t, 0, &out, "connect FR-MJ"), 0, "%s", out);
	free(out);
	cr_assert(tnet_wait_log(t, 1, "FORK in the audit log of BD-ACC", 20000),
	    "the witness did not see the rewrite");
	cr_assert(tr_wait_event(t, 1, "audit-fork", NULL, 5000));
	cr_assert(tnet_wait_log(t, 0, "FR-MJ refuses our checkpoint of", 10000),
	    "the origin is told");
	bool forked = false;
	cr_assert_eq(witnessed(t, 1, "BD-ACC", &forked), held, "the witness keeps what it held");
	cr_assert(forked);
	/* An alert the operator of FR-MJ sees (rogatoryctl alerts, metrics), raised once. */
	bool listed = false;
	for (int waited = 0; !listed && waited < 10000; waited += 100) {
		cr_assert_eq(ctl(t, 1, &out, "alerts"), 0, "%s", out);
		listed = strstr(out, "audit-fork") != NULL && strstr(out, "BD-ACC") != NULL;
		free(out);
		if (!listed)
			usleep(100000); /* polling interval of a condition with a deadline */
	}
	cr_assert(listed, "rogatoryctl alerts on FR-MJ never listed audit-fork of BD-ACC");
	/* More entries, a new checkpoint, offered again: refused again, announced once. */
	char *id = tr_send(t, 0, "FR-MJ", "after the rewrite", 0, 0);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 20000));
	cr_assert(tnet_wait_log(t, 1, "is still inconsistent with what we witnessed", 20000));
	cr_assert_eq(tr_events(t, 1, "audit-fork", NULL), 1, "audit-fork once");
	cr_assert_eq(ts_sh(&out, "grep -c '\"alert\":\"audit-fork\"' '%s/state/delivery.jsonl'",
	    t->node[1].home), 0);
	cr_assert_str_eq(out, "1\n", "the alert raised once");
	free(out);
	tnet_stop(t, 1, SIGTERM);
	cr_assert_eq(sql_long(t, 1, "SELECT count(*) FROM audit_forks WHERE origin = 'BD-ACC' "
	    "AND held_body IS NOT NULL AND offered_body IS NOT NULL"), 1,
	    "both signed checkpoints kept as proof, once");
	free(id);
	tnet_free(t);
}

Test(audit, restarted_witness_keeps_what_it_saw, .timeout = 180)
{
	struct tnet *t = tnet_new("audit-witness", ids2, 2);
	for (int i = 0; i < 2; i++)
		tnet_opt(t, i, "audit.checkpoint_every=1s");
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *id = tr_send(t, 0, "FR-MJ", "one", 0, 0);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 20000));
	cr_assert(tnet_wait_log(t, 0, "FR-MJ cosigned our checkpoint", 20000));
	free(id);
	tnet_stop(t, 1, SIGTERM);
	long held = sql_long(t, 1, "SELECT tree_size FROM audit_witnessed WHERE origin = 'BD-ACC'");
	cr_assert_gt(held, 0);
	tnet_start(t, 1);
	char want[128];
	cr_assert_eq(witnessed(t, 1, "BD-ACC", NULL), held, "after the restart");
	/* Its Hello says so: the next offer proves from there, and it cosigns. */
	id = tr_send(t, 0, "FR-MJ", "two", 0, 0);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 20000));
	snprintf(want, sizeof(want), "offered to FR-MJ (proof from %ld,", held);
	cr_assert(tnet_wait_log(t, 0, want, 20000), "no offer with a proof from %ld", held);
	cr_assert(tnet_wait_log(t, 1, "witness: cosigned the checkpoint of", 20000));
	cr_assert_eq(tnet_log_count(t, 1, "FORK"), 0);
	free(id);
	tnet_free(t);
}

Test(audit, operator_actions_name_the_operator_and_shutdown_signs_the_last, .timeout = 120)
{
	struct tnet *t = tnet_new("audit-actor", ids2, 2);
	tnet_opt(t, 0, "audit.checkpoint_every=1h");
	tnet_start(t, 0);
	/* send and cancel by an operator (the tests run as root: uid 0, user root). */
	char *id = tr_send(t, 0, "FR-MJ", "to cancel", 0, 0);
	char *out = NULL;
	cr_assert_eq(ctl(t, 0, &out, "cancel %s", id), 0, "%s", out);
	free(out);
	cr_assert(tr_wait_event(t, 0, "cancelled", id, 5000));
	/* A reload by signal: an entry without an operator. */
	kill(t->node[0].pid, SIGHUP);
	cr_assert(tr_wait_event(t, 0, "reloaded", NULL, 5000));
	cr_assert_eq(ctl(t, 0, &out, "audit prove --id %s --out '%s/actor.json'", id, t->dir), 0,
	    "%s", out);
	free(out);
	cr_assert_eq(ctl(t, 0, &out, "audit check '%s/actor.json' --ca '%s'", t->dir, t->ca), 0,
	    "%s", out);
	cr_assert(strstr(out, " queued ") != NULL && strstr(out, " cancelled ") != NULL, "%s", out);
	cr_assert(strstr(out, "by uid 0 (root)") != NULL, "%s", out);
	free(out);
	/* The delivery log says it too. */
	char path[4200];
	snprintf(path, sizeof(path), "%s/state/delivery.jsonl", t->node[0].home);
	/* queued and cancelled, and the case the send opened: each names the operator. */
	static const char *const by_root[] = {"queued", "cancelled", "case-opened"};
	for (size_t k = 0; k < 3; k++) {
		cr_assert_eq(ts_sh(&out, "grep '\"event\":\"%s\"' '%s' | grep -c '\"actor\":"
		    "{\"uid\":0,\"user\":\"root\"}'", by_root[k], path), 0, "%s", by_root[k]);
		cr_assert_str_eq(out, "1\n", "%s names the operator once", by_root[k]);
		free(out);
	}
	cr_assert_eq(ts_file_count(path, "\"event\":\"reloaded\""), 1);
	long n = entries(t, 0);
	tnet_stop(t, 0, SIGTERM);
	cr_assert_eq(sql_long(t, 0, "SELECT max(tree_size) FROM audit_checkpoints"), n,
	    "the shutdown signed a checkpoint of every entry");
	free(id);
	tnet_free(t);
}

Test(audit, export_carries_the_witnessed_proofs_checked_without_our_code, .timeout = 180)
{
	struct tnet *t = tnet_new("audit-export", ids2, 2);
	for (int i = 0; i < 2; i++)
		tnet_opt(t, i, "audit.checkpoint_every=1s");
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *id = tr_send(t, 0, "FR-MJ", "exported with its entries", 0, 0);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 20000));
	const char *froms[2] = {NULL, "BD-ACC"};
	for (int i = 0; i < 2; i++) {
		cr_assert(wait_cosigned(t, i, id, froms[i], 20000), "node %d: never cosigned", i);
		char dir[4200], path[4300], *out = NULL;
		snprintf(dir, sizeof(dir), "%s/bundle-%d", t->dir, i);
		int rc = ctl(t, i, &out, "export %s%s%s --out '%s'", id, froms[i] ? " --from " : "",
		    froms[i] ? froms[i] : "", dir);
		cr_assert_eq(rc, 0, "%s", out);
		free(out);
		snprintf(path, sizeof(path), "%s/audit.json", dir);
		rc = outside_check(t, &out, path);
		cr_assert(rc == 0 && strstr(out, "cosignature 0 names: witness ") != NULL,
		    "node %d: %s", i, out);
		free(out);
		rc = ts_sh(&out, "'%s' --commands '%s' 2>&1", ts_src_path("tests/tools/verify-export"),
		    dir);
		cr_assert(rc == 0 && strstr(out, "\nVALID") != NULL, "node %d: %s", i, out);
		free(out);
		snprintf(path, sizeof(path), "%s/VERIFY.md", dir);
		cr_assert_eq(ts_file_count(path, "### Cosignature 1: "), 1, "the witness by hand");
		cr_assert_eq(ts_file_count(path, "cosigned by 1 authority."), 1);
	}
	free(id);
	tnet_free(t);
}

Test(audit, store_restored_from_an_older_backup_is_caught_by_its_witness, .timeout = 180)
{
	struct tnet *t = traffic_then_stop("audit-rollback");
	char *out = NULL;
	cr_assert_eq(ts_sh(&out, "cp '%s/state/rogatory.db' '%s/backup.db' && cp "
	    "'%s/state/delivery.jsonl' '%s/backup.jsonl'", t->node[0].home, t->dir, t->node[0].home,
	    t->dir), 0, "%s", out);
	free(out);
	/* Life goes on after the backup: FR-MJ witnesses more of BD-ACC's log. */
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *id = tr_send(t, 0, "FR-MJ", "after the backup", 0, 0);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 20000));
	long before = sql_long(t, 0, "SELECT max(seq) FROM events");
	cr_assert(wait_cosigned(t, 0, id, NULL, 20000));
	tnet_stop(t, 0, SIGTERM);
	long held = witnessed(t, 1, "BD-ACC", NULL);
	cr_assert_gt(held, before - 3, "FR-MJ holds the newer log");
	/* BD-ACC's store (and delivery log) restored from the backup: its log goes back. */
	cr_assert_eq(ts_sh(&out, "cp '%s/backup.db' '%s/state/rogatory.db' && cp "
	    "'%s/backup.jsonl' '%s/state/delivery.jsonl' && rm -f '%s/state/rogatory.db-wal' "
	    "'%s/state/rogatory.db-shm'", t->dir, t->node[0].home, t->dir, t->node[0].home,
	    t->node[0].home, t->node[0].home), 0, "%s", out);
	free(out);
	tnet_start(t, 0);
	cr_assert_eq(ctl(t, 0, &out, "connect FR-MJ"), 0, "%s", out);
	free(out);
	cr_assert(tnet_wait_log(t, 1, "FORK in the audit log of BD-ACC", 20000),
	    "the witness did not see the rollback");
	cr_assert(tnet_wait_log(t, 0, "FR-MJ holds a checkpoint of", 5000),
	    "the restored origin says its log lost entries");
	bool forked = false;
	cr_assert_eq(witnessed(t, 1, "BD-ACC", &forked), held);
	cr_assert(forked);
	free(id);
	tnet_free(t);
}
