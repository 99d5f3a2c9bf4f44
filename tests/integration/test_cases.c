/*
 * 14-cases: requests as cases between two real daemons. One MLA request's whole life:
 * draft, a document with missing or wrong elements refused by send (its JSON paths named,
 * nothing queued), sent with an attachment, then acknowledged, additional information
 * requested and given, consultation, conditions accepted, executed; refusals without
 * reasons or without a consultation refused by update; `requests` and `request` right on
 * both sides after a kill -9 of either; every document's bundle exported. A status that
 * arrives before its request (a fake peer sends them in that order) is kept and applied
 * once the request is in; an illegal or invalid one gets a signed REJECTED receipt.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "net.h"
#include "support.h"
#include "traffic.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

#define MLA_DOC(assistance, nationality, language) \
	"{\"kind\":\"mla\",\"subject\":\"Bank records of Example Trading\",\"urgent\":true," \
	"\"respond_by\":\"2099-03-31\",\"reference\":\"ACC/2026/117\",\"language\":\"" language \
	"\",\"legal_basis\":\"UNCAC art. 46\",\"confidential\":true," \
	"\"proceedings\":{\"nature\":\"criminal\",\"subject\":\"Bribery in the port contract\"," \
	"\"authority\":{\"name\":\"Anti-Corruption Commission\",\"function\":\"investigator\"}}," \
	"\"facts\":\"Bribes were paid through a Paris account.\"," assistance \
	"\"persons\":[{\"name\":\"Example Trading Ltd\",\"role\":\"account-holder\"}," \
	"{\"name\":\"Rahim Karim\",\"role\":\"suspect\",\"nationality\":\"" nationality "\"}]," \
	"\"purpose\":\"Evidence for the trial\"," \
	"\"offences\":[{\"name\":\"bribery\",\"law\":\"Penal Code s. 161\"}],\"_note\":\"x\"}"
#define ASSISTANCE \
	"\"assistance\":[{\"type\":\"documents-records\",\"details\":\"Statements 2020-2021\"}],"

/* rogatoryctl ARGS on node i (net.h: tnet_ctlf). */
#define ctl tnet_ctlf

/* The output of rogatoryctl ARGS on node i, which must exit 0. */
#define ok tnet_ctl_ok

/* The case of id on node i (`request ID --json`), parsed; NULL when there is none. */
static json_t *
case_of(struct tnet *t, int i, const char *id)
{
	char *out = NULL;
	int rc = ctl(t, i, &out, "request %s --json", id);
	json_t *j = rc == 0 ? json_loads(out, 0, NULL) : NULL;
	free(out);
	return j;
}

static const char *
case_status(const json_t *j)
{
	const char *s = json_string_value(json_object_get(json_object_get(j, "case"), "status"));
	return s != NULL ? s : "";
}

/* Waits (polling, up to ms) until node i's case of id is in state; asserts it. */
static void
wait_case(struct tnet *t, int i, const char *id, const char *state, int ms)
{
	for (int waited = 0;; waited += 100) {
		json_t *j = case_of(t, i, id);
		bool there = strcmp(case_status(j), state) == 0;
		json_decref(j);
		if (there)
			return;
		cr_assert_lt(waited, ms, "node %d: case %s never became %s", i, id, state);
		usleep(100000);   /* a poll interval, not a synchronisation: the loop waits */
	}
}

/* The document (the last line of send's or update's output is its id). */
static char *
last_line(char *out)
{
	char *end = out + strlen(out);
	while (end > out && end[-1] == '\n')
		*--end = '\0';
	char *nl = strrchr(out, '\n');
	char *id = strdup(nl ? nl + 1 : out);
	free(out);
	cr_assert_eq(strlen(id), 36, "not an id: %s", id);
	return id;
}

/* update on node i; the status document's id. */
static char *
update(struct tnet *t, int i, const char *id, const char *rest)
{
	char args[2048];
	snprintf(args, sizeof(args), "update %s %s", id, rest);
	return last_line(ok(t, i, args));
}

/* Both sides agree on the whole case: its state, and the statuses in order, each applied,
 * delivered (ours) or received (theirs), each with a receipt. */
static void
expect_whole_case(struct tnet *t, const char *id, const char *const *statuses, size_t n)
{
	for (int i = 0; i < 2; i++) {
		json_t *j = case_of(t, i, id);
		cr_assert_not_null(j, "node %d has no case %s", i, id);
		const json_t *cs = json_object_get(j, "case");
		cr_assert_str_eq(case_status(j), statuses[n - 1]);
		cr_assert_str_eq(json_string_value(json_object_get(cs, "requester_reference")),
		    "ACC/2026/117");
		cr_assert_str_eq(json_string_value(json_object_get(cs, "requested_reference")),
		    "BEPI/2026/4471");
		cr_assert_str_eq(json_string_value(json_object_get(cs, "direction")),
		    i == 0 ? "outgoing" : "incoming");
		const json_t *docs = json_object_get(j, "documents");
		cr_assert_eq(json_array_size(docs), n, "node %d: %zu documents", i,
		    json_array_size(docs));
		for (size_t k = 0; k < n; k++) {
			const json_t *d = json_array_get(docs, k);
			const json_t *dl = json_object_get(d, "delivery");
			cr_assert_str_eq(json_string_value(json_object_get(d, "status")), statuses[k]);
			cr_assert_str_eq(json_string_value(json_object_get(d, "applied")), "applied");
			/* Each sender numbers its own: FR-MJ 1, 2, -, 3, -, 4; BD-ACC 1, 2. */
			static const json_int_t seq[] = {1, 2, 1, 3, 2, 4};
			cr_assert_eq(json_integer_value(json_object_get(d, "sequence")), seq[k % 6],
			    "node %d document %zu", i, k);
			bool ours = strcmp(json_string_value(json_object_get(d, "sender")),
			    ids2[i]) == 0;
			cr_assert_str_eq(json_string_value(json_object_get(dl, "state")),
			    ours ? "delivered" : "received", "node %d document %zu", i, k);
			cr_assert(json_is_true(json_object_get(dl, "receipt")));
		}
		json_decref(j);
	}
}

/* kill -9 node i, start it again. */
static void
crash_and_restart(struct tnet *t, int i)
{
	cr_assert_eq(tnet_stop(t, i, SIGKILL), 128 + SIGKILL);
	tnet_start(t, i);
}

Test(cases, mla_life_between_two_daemons_survives_kill_9, .timeout = 240)
{
	struct tnet *t = tnet_new("cases-life", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *out = NULL, path[4200], bad[4200], lang[4200], evidence[4200], results[4200];

	/* A template with every element and the recipient's languages and kinds. */
	out = ok(t, 0, "draft mla --to FR-MJ");
	cr_assert(strstr(out, "\"assistance\": [") != NULL, "%s", out);
	cr_assert(strstr(out, "\"assistance[].type\": \"required: the kind of assistance (UNCAC "
	    "art. 46(3)); one of: taking-evidence") != NULL, "%s", out);
	cr_assert(strstr(out, "\"languages\": [\n      \"en\",\n      \"fr\"") != NULL, "%s", out);
	cr_assert(strstr(out, "\"receives_this_kind\": true") != NULL, "%s", out);
	free(out);

	/* Missing and wrong elements: all named, nothing queued. */
	snprintf(bad, sizeof(bad), "%s/bad.json", t->dir);
	ts_write_file(bad, MLA_DOC("", "XX", "en"), 0600);
	cr_assert_eq(ctl(t, 0, &out, "send --to FR-MJ --document '%s'", bad), 1, "%s", out);
	cr_assert(strstr(out, "assistance: required for kind mla (UNCAC art. 46(15)(d))") != NULL,
	    "%s", out);
	cr_assert(strstr(out, "persons[1].nationality: not an ISO 3166 alpha-2 code") != NULL, "%s",
	    out);
	cr_assert(strstr(out, "nothing was sent") != NULL, "%s", out);
	free(out);
	snprintf(lang, sizeof(lang), "%s/lang.json", t->dir);
	ts_write_file(lang, MLA_DOC(ASSISTANCE, "BD", "de"), 0600);
	cr_assert_eq(ctl(t, 0, &out, "send --to FR-MJ --document '%s'", lang), 1, "%s", out);
	cr_assert(strstr(out, "language: \"de\" is not a language FR-MJ accepts (en, fr)") != NULL,
	    "%s", out);
	free(out);
	out = ok(t, 0, "queue --all");
	cr_assert(strstr(out, "(none)") != NULL, "something was queued:\n%s", out);
	free(out);
	out = ok(t, 0, "requests");
	cr_assert(strstr(out, "(none)") != NULL, "%s", out);
	free(out);
	/* The quick form is for notes only. */
	cr_assert_eq(ctl(t, 0, &out, "send --to FR-MJ --kind mla --subject 'Bank records'"), 1);
	cr_assert(strstr(out, "invalid-document: invalid document: a mla request is a document")
	    != NULL, "%s", out);
	free(out);

	/* The request, with its evidence. */
	snprintf(path, sizeof(path), "%s/request.json", t->dir);
	ts_write_file(path, MLA_DOC(ASSISTANCE, "BD", "en"), 0600);
	snprintf(evidence, sizeof(evidence), "%s/court-order.pdf", t->dir);
	ts_write_file(evidence, "%PDF-1.4 the order of the Special Judge\n", 0600);
	char args[16384];
	snprintf(args, sizeof(args), "send --to FR-MJ --document '%s' --attach '%s'", path,
	    evidence);
	char *id = last_line(ok(t, 0, args));
	cr_assert(tr_wait_state(t, 0, id, "delivered", 15000), "not delivered");
	wait_case(t, 1, id, "requested", 10000);
	crash_and_restart(t, 1);
	out = ok(t, 1, "requests --incoming");
	cr_assert(strstr(out, id) != NULL && strstr(out, "requested") != NULL, "%s", out);
	free(out);

	/* FR-MJ: acknowledged, with its reference. */
	free(update(t, 1, id, "--status acknowledged --reference BEPI/2026/4471"));
	wait_case(t, 0, id, "acknowledged", 15000);
	/* A refusal needs coded reasons (art. 46(23)) and a consultation first (art. 46(26)). */
	cr_assert_eq(ctl(t, 1, &out, "update %s --status refused", id), 1, "%s", out);
	cr_assert(strstr(out, "reasons: required for refused (UNCAC art. 46(21), 46(23))") != NULL,
	    "%s", out);
	free(out);
	cr_assert_eq(ctl(t, 1, &out, "update %s --status refused --reason 46-21-b", id), 1, "%s",
	    out);
	cr_assert(strstr(out, "request ") != NULL && strstr(out, " is acknowledged: refused needs "
	    "an earlier consultation in the case (UNCAC art. 46(26))") != NULL, "%s", out);
	cr_assert(strstr(out, "nothing was sent") != NULL, "%s", out);
	free(out);
	cr_assert_eq(ctl(t, 0, &out, "update %s --status executed", id), 1, "%s", out);
	cr_assert(strstr(out, "executed is sent by the requested authority") != NULL, "%s", out);
	free(out);

	free(update(t, 1, id, "--status additional-information-requested --note 'The account "
	    "numbers of the second company, please.'"));
	wait_case(t, 0, id, "additional-information-requested", 15000);
	crash_and_restart(t, 0);
	out = ok(t, 0, "requests --outgoing --status additional-information-requested");
	cr_assert(strstr(out, id) != NULL, "%s", out);
	free(out);

	/* BD-ACC answers with a file; FR-MJ consults; BD-ACC accepts; FR-MJ executes. */
	free(update(t, 0, id, "--status additional-information --note 'Attached.'"));
	wait_case(t, 1, id, "additional-information", 15000);
	free(update(t, 1, id, "--status consultation --note 'We can execute it if the "
	    "statements are used only in this prosecution.' --reason 46-21-b"));
	wait_case(t, 0, id, "consultation", 15000);
	free(update(t, 0, id, "--status conditions-accepted"));
	wait_case(t, 1, id, "conditions-accepted", 15000);
	snprintf(results, sizeof(results), "%s/statements.csv", t->dir);
	ts_write_file(results, "date,amount\n2020-03-01,100000\n", 0600);
	snprintf(args, sizeof(args), "update %s --status executed --note 'Statements attached.' "
	    "--attach '%s'", id, results);
	char *executed = last_line(ok(t, 1, args));
	wait_case(t, 0, id, "executed", 15000);

	static const char *const life[] = {"acknowledged", "additional-information-requested",
	    "additional-information", "consultation", "conditions-accepted", "executed"};
	expect_whole_case(t, id, life, 6);
	/* The delivery log holds metadata only: case events, but no element of a document. */
	for (int i = 0; i < 2; i++) {
		char dlog[4200];
		snprintf(dlog, sizeof(dlog), "%s/state/delivery.jsonl", t->node[i].home);
		cr_assert_eq(ts_file_count(dlog, "\"event\":\"case-status\""), 6, "%s", dlog);
		cr_assert_eq(ts_file_count(dlog, "ACC/2026/117"), 0, "%s", dlog);
		cr_assert_eq(ts_file_count(dlog, "BEPI/2026/4471"), 0, "%s", dlog);
	}
	/* Nothing more moves a closed case. */
	cr_assert_eq(ctl(t, 0, &out, "update %s --status progress-inquiry", id), 1, "%s", out);
	cr_assert(strstr(out, "the case is closed (executed)") != NULL, "%s", out);
	free(out);
	/* Each side after a kill -9: the same register. */
	crash_and_restart(t, 0);
	crash_and_restart(t, 1);
	expect_whole_case(t, id, life, 6);
	cr_assert_eq(ctl(t, 0, &out, "request 00000000-0000-4000-8000-000000000000"), 1, "%s", out);
	cr_assert(strstr(out, "not-found: no case of request") != NULL, "%s", out);
	free(out);
	out = ok(t, 1, "requests");
	cr_assert(strstr(out, "executed") != NULL && strstr(out, "ACC/2026/117 / BEPI/2026/4471")
	    != NULL, "%s", out);
	free(out);
	cr_assert_eq(ctl(t, 0, &out, "request"), 2, "%s", out);
	free(out);

	/* A status document is evidence like any message: verified, exported with its case. */
	snprintf(args, sizeof(args), "verify %s", executed);
	out = ok(t, 0, args);
	cr_assert(strstr(out, ": valid") != NULL, "%s", out);
	free(out);
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/export", t->dir);
	snprintf(args, sizeof(args), "export %s --out '%s'", id, dir);
	out = ok(t, 0, args);
	cr_assert(strstr(out, "case/06-executed") != NULL, "%s", out);
	free(out);
	static const char *const folders[] = {"01-acknowledged", "02-additional-information-"
	    "requested", "03-additional-information", "04-consultation", "05-conditions-accepted",
	    "06-executed"};
	for (size_t k = 0; k < 6; k++) {
		char man[4400];
		snprintf(man, sizeof(man), "%s/case/%s/manifest.json", dir, folders[k]);
		cr_assert_eq(ts_file_count(man, "\"valid\": true"), 1, "%s", man);
	}
	snprintf(args, sizeof(args), "%s/case.json", dir);
	cr_assert_eq(ts_file_count(args, "\"status\": \"executed\""), 2, "%s", args);
	cr_assert_eq(ts_sh(&out, "'%s' '%s/case/06-executed' 2>&1",
	    ts_src_path("tests/tools/verify-export"), dir), 0, "%s", out);
	free(out);
	/* Every case event is an audit entry like the delivery events, on both sides: the
	 * trees recomputed from the stored rows match what was hashed when they were written. */
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(ctl(t, i, &out, "audit verify"), 0, "node %d: %s", i, out);
		cr_assert(strstr(out, "audit log intact") != NULL, "node %d: %s", i, out);
		free(out);
	}
	/* The statistics count what the documents named, on both sides: the request's
	 * offence (recorded with its case) and the time to its execution. */
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(ctl(t, i, &out, "stats --json"), 0, "node %d: %s", i, out);
		json_t *j = json_loads(out, 0, NULL);
		cr_assert_not_null(j, "%s", out);
		char *tabs = json_dumps(json_object_get(j, "tables"), JSON_COMPACT);
		cr_assert(strstr(tabs, "\"rows\":[[\"bribery\",1]]") != NULL, "node %d: %s", i, tabs);
		cr_assert(strstr(tabs, i == 0 ? "[\"outgoing\",\"mla\",\"executed\",1," :
		    "[\"incoming\",\"mla\",\"executed\",1,") != NULL, "node %d: %s", i, tabs);
		free(tabs);
		json_decref(j);
		free(out);
	}
	free(executed);
	free(id);
	tnet_free(t);
}

/* fakepeer as FR-MJ (node 1's credentials, node 1 not running) sending one document to
 * BD-ACC; its output (the receipt it got) in *out. */
static void
fake(struct tnet *t, char **out, const char *doc)
{
	tnet_fakepeer_run(out, "connect 127.0.0.1 %d --cert '%s' --key '%s' --ca '%s' "
	                       "--hello-id FR-MJ --transfer-to BD-ACC %s --until receipt "
	                       "--wait-ms 10000",
	    t->node[0].port, t->node[1].cert, t->node[1].key, t->ca, doc);
}

#define REQ_ID "0b6f3c1e-5d2a-4c8e-9f7a-3e1d2c4b5a69"

Test(cases, status_before_its_request_is_kept_and_applied_once_it_is_in, .timeout = 120)
{
	struct tnet *t = tnet_new("cases-order", ids2, 2);
	tnet_start(t, 0);
	char *out = NULL;
	/* FR-MJ's statuses about its request REQ_ID arrive first, the second one first. */
	fake(t, &out, "--status withdrawn --reply-to " REQ_ID " --sequence 2");
	cr_assert(strstr(out, "signer=BD-ACC outcome=accepted") != NULL, "%s", out);
	free(out);
	fake(t, &out, "--status progress-inquiry --reply-to " REQ_ID " --sequence 1");
	cr_assert(strstr(out, "outcome=accepted") != NULL, "%s", out);
	free(out);
	cr_assert(tr_wait_events(t, 0, "case-status-waiting", 2, 5000));
	cr_assert_eq(tnet_ctl(t, 0, &out, "request " REQ_ID), 1, "%s", out);
	cr_assert(strstr(out, "no case of request") != NULL, "%s", out);
	free(out);
	/* Kept across a crash too. */
	cr_assert_eq(tnet_stop(t, 0, SIGKILL), 128 + SIGKILL);
	tnet_start(t, 0);
	/* The request: its case opens and takes both, in sequence order. */
	fake(t, &out, "--id " REQ_ID " --subject 'A note about the port contract'");
	cr_assert(strstr(out, "outcome=accepted") != NULL, "%s", out);
	free(out);
	cr_assert(tr_wait_event(t, 0, "case-opened", REQ_ID, 5000));
	cr_assert(tr_wait_events(t, 0, "case-status", 2, 5000));
	out = ok(t, 0, "request " REQ_ID " --json");
	json_t *j = json_loads(out, 0, NULL);
	free(out);
	cr_assert_str_eq(case_status(j), "withdrawn");
	const json_t *docs = json_object_get(j, "documents");
	cr_assert_eq(json_array_size(docs), 2);
	for (size_t k = 0; k < 2; k++)
		cr_assert_str_eq(json_string_value(json_object_get(json_array_get(docs, k),
		    "applied")), "applied");
	json_decref(j);
	out = ok(t, 0, "requests --incoming --peer FR-MJ --kind other --status withdrawn");
	cr_assert(strstr(out, REQ_ID) != NULL, "%s", out);
	free(out);

	/* Too late for the case: a signed refusal, kept in the quarantine. */
	fake(t, &out, "--status conditions-accepted --reply-to " REQ_ID " --sequence 3");
	cr_assert(strstr(out, "outcome=rejected reason=illegal-transition") != NULL, "%s", out);
	cr_assert(strstr(out, "the case is closed (withdrawn)") != NULL, "%s", out);
	free(out);
	/* A status of the other side's: refused the same way. */
	fake(t, &out, "--status executed --reply-to " REQ_ID " --sequence 4");
	cr_assert(strstr(out, "reason=illegal-transition") != NULL, "%s", out);
	cr_assert(strstr(out, "executed is sent by the requested authority") != NULL, "%s", out);
	free(out);
	/* A request that is no valid document of its kind: the path in the signed reason. */
	fake(t, &out, "--kind mla --field 'reference=\"X-1\"'");
	cr_assert(strstr(out, "reason=invalid-document") != NULL, "%s", out);
	cr_assert(strstr(out, "language: required for kind mla (UNCAC art. 46(14))") != NULL, "%s",
	    out);
	free(out);
	out = ok(t, 0, "quarantine");
	cr_assert(strstr(out, "illegal-transition: request " REQ_ID " is withdrawn here") != NULL ||
	    strstr(out, "illegal-transition: the case is closed (withdrawn)") != NULL, "%s", out);
	cr_assert(strstr(out, "invalid-document: ") != NULL, "%s", out);
	free(out);
	/* A request of FR-MJ's that reuses the id of one of ours: one case per request id
	 * between two authorities, or every status about either would be ambiguous. */
	char *ours = tr_send(t, 0, "FR-MJ", "Our note", 0, 0);
	cr_assert(tr_wait_event(t, 0, "case-opened", ours, 5000));
	char args[200];
	snprintf(args, sizeof(args), "--id %s --subject 'Same id, other direction'", ours);
	fake(t, &out, args);
	cr_assert(strstr(out, "reason=illegal-transition") != NULL, "%s", out);
	cr_assert(strstr(out, "already names a case between FR-MJ and") != NULL, "%s", out);
	free(out);
	cr_assert_eq(tr_events(t, 0, "case-opened", ours), 1, "one case for that id");
	free(ours);
	tnet_free(t);
}

/* ---- deadlines: the clocks of a case, the same on both sides ---- */

/* node i's clock field of the case of id: clocks.<which>.<field> ("received": which only). */
static char *
clock_of(struct tnet *t, int i, const char *id, const char *which, const char *field)
{
	json_t *j = case_of(t, i, id);
	cr_assert_not_null(j, "node %d has no case %s", i, id);
	const json_t *v = json_object_get(json_object_get(json_object_get(j, "case"), "clocks"),
	    which);
	if (field != NULL)
		v = json_object_get(v, field);
	char *s = strdup(json_is_string(v) ? json_string_value(v) : "(null)");
	json_decref(j);
	return s;
}

/* Both nodes agree on clocks.<which>.<field> of id; it is want when want is not NULL. */
static void
expect_clock_both(struct tnet *t, const char *id, const char *which, const char *field,
    const char *want)
{
	char *a = clock_of(t, 0, id, which, field), *b = clock_of(t, 1, id, which, field);
	cr_assert_str_eq(a, b, "%s.%s differs: BD-ACC %s, FR-MJ %s", which, field ? field : "", a,
	    b);
	if (want != NULL)
		cr_assert_str_eq(a, want, "%s.%s: %s", which, field ? field : "", a);
	free(a);
	free(b);
}

/* Both nodes hold exactly n events name about id, waiting up to ms for them. */
static void
expect_events_both(struct tnet *t, const char *name, const char *id, int n, int ms)
{
	for (int i = 0; i < 2; i++) {
		for (int waited = 0; tr_events(t, i, name, id) < n; waited += 50) {
			cr_assert_lt(waited, ms, "node %d: %d %s events of %s, not %d", i,
			    tr_events(t, i, name, id), name, id, n);
			usleep(50000);   /* a poll interval: the daemon's scan is what is awaited */
		}
		cr_assert_eq(tr_events(t, i, name, id), n, "node %d: %s of %s", i, name, id);
	}
}

/* The deadlines' test clock of both nodes, offset seconds ahead of the wall clock. */
static void
set_clock(struct tnet *t, long offset)
{
	char path[4200], v[32];
	snprintf(path, sizeof(path), "%s/clock", t->dir);
	snprintf(v, sizeof(v), "%ld\n", offset);
	ts_write_file(path, v, 0644);
}

static struct tnet *
clocked_net(const char *tag)
{
	struct tnet *t = tnet_new(tag, ids2, 2);
	for (int i = 0; i < 2; i++) {
		tnet_opt(t, i, "cases.acknowledge_within=1000s");
		tnet_opt(t, i, "cases.respond_within.other=5000s");
		tnet_opt(t, i, "cases.warn_before=100s");
		tnet_opt(t, i, "cases.check_every=1s");
	}
	char path[4200];
	snprintf(path, sizeof(path), "%s/clock", t->dir);
	set_clock(t, 0);
	setenv("ROGATORY_TEST_CLOCK_FILE", path, 1);
	tnet_start(t, 0);
	tnet_start(t, 1);
	return t;
}

/* Every listing of node i whose output must (or must not) name id. */
static void
expect_listed(struct tnet *t, int i, const char *args, const char *id, bool listed)
{
	char *out = ok(t, i, args);
	cr_assert_eq(strstr(out, id) != NULL, listed, "node %d: rogatoryctl %s %s %s:\n%s", i,
	    args, listed ? "misses" : "lists", id, out);
	free(out);
}

Test(cases, clocks_the_same_on_both_sides_and_recorded_once_across_kill_9, .timeout = 240)
{
	struct tnet *t = clocked_net("cases-clocks");
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Clocks'");
	cr_assert(tr_wait_state(t, 0, id, "delivered", 10000));
	/* From the receiver's signed received_ms on both sides: the same instants. */
	expect_clock_both(t, id, "received", NULL, NULL);
	expect_clock_both(t, id, "acknowledge_by", "due", NULL);
	expect_clock_both(t, id, "respond_by", "due", NULL);
	expect_clock_both(t, id, "respond_by", "source", "kind");
	expect_clock_both(t, id, "acknowledge_by", "state", "running");
	char *rcv = clock_of(t, 1, id, "received", NULL), *ack = clock_of(t, 1, id,
	    "acknowledge_by", "due");
	/* received 2026-12-03T08:10:00.123456Z, acknowledge-by 1000 s later, whole seconds. */
	struct tm tm = {0};
	cr_assert_not_null(strptime(rcv, "%Y-%m-%dT%H:%M:%S", &tm), "%s", rcv);
	time_t due = timegm(&tm) + 1000;
	char want[32];
	strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&due, &tm));
	cr_assert_str_eq(ack, want, "received %s", rcv);
	/* The register shows it, to the minute (UTC). */
	char *out = ok(t, 0, "requests");
	char minute[20];
	snprintf(minute, sizeof(minute), "%.10s %.5s", want, want + 11);
	cr_assert(strstr(out, "ACKNOWLEDGE-BY (UTC)") != NULL && strstr(out, minute) != NULL,
	    "%s\n%s", minute, out);
	free(out);
	char args[200];
	snprintf(args, sizeof(args), "request %s", id);
	out = ok(t, 1, args);
	cr_assert(strstr(out, "acknowledge by  ") != NULL && strstr(out, minute) != NULL, "%s",
	    out);
	cr_assert(strstr(out, "([cases] respond_within for its kind)") != NULL, "%s", out);
	free(out);
	/* The filters. */
	for (int i = 0; i < 2; i++) {
		expect_listed(t, i, "requests --overdue", id, false);
		expect_listed(t, i, "requests --due-within 7d", id, true);
		expect_listed(t, i, "requests --due-within 10m", id, false);
	}

	/* 950 s later: acknowledge-by is near, recorded on both sides once. */
	set_clock(t, 950);
	expect_events_both(t, "due-soon", id, 1, 10000);
	cr_assert(tnet_wait_log(t, 0, "deadlines: the wall clock jumped by +", 5000));
	expect_clock_both(t, id, "acknowledge_by", "state", "due-soon");
	for (int i = 0; i < 2; i++)
		expect_listed(t, i, "requests --due-within 10m", id, true);
	/* kill -9 of the requested side; it passes meanwhile. */
	cr_assert_eq(tnet_stop(t, 1, SIGKILL), 128 + SIGKILL);
	set_clock(t, 1100);
	tnet_start(t, 1);
	expect_events_both(t, "overdue", id, 1, 10000);
	expect_clock_both(t, id, "acknowledge_by", "state", "overdue");
	for (int i = 0; i < 2; i++) {
		expect_listed(t, i, "requests --overdue", id, true);
		expect_listed(t, i, "requests --due-within 7d", id, true);   /* respond-by */
	}
	/* kill -9 of the requesting side and back in time: nothing again. Then respond-by's
	 * turn: once its events are in, every scan before them was seen, and acknowledge-by's
	 * events are still one each. */
	cr_assert_eq(tnet_stop(t, 0, SIGKILL), 128 + SIGKILL);
	set_clock(t, 500);
	int looked = tnet_log_count(t, 0, "deadlines: looked at the clocks; none reached");
	tnet_start(t, 0);
	/* Its scan at start saw 500 s (acknowledge-by's events long recorded): nothing. */
	for (int waited = 0; tnet_log_count(t, 0, "deadlines: looked at the clocks; none "
	    "reached") == looked; waited += 50) {
		cr_assert_lt(waited, 10000, "BD-ACC never looked at the clocks after its restart");
		usleep(50000);   /* a poll interval, not a synchronisation: the loop waits */
	}
	set_clock(t, 4950);
	expect_events_both(t, "due-soon", id, 2, 10000);
	cr_assert_eq(tnet_stop(t, 1, SIGKILL), 128 + SIGKILL);
	tnet_start(t, 1);
	set_clock(t, 5100);
	expect_events_both(t, "overdue", id, 2, 10000);
	expect_events_both(t, "due-soon", id, 2, 0);
	expect_clock_both(t, id, "respond_by", "state", "overdue");
	/* Acknowledged late: acknowledge-by is met, and no longer overdue in the register. */
	free(update(t, 1, id, "--status acknowledged --reference FR/1"));
	wait_case(t, 0, id, "acknowledged", 10000);
	expect_clock_both(t, id, "acknowledge_by", "state", "met");
	free(rcv);
	free(ack);
	free(id);
	unsetenv("ROGATORY_TEST_CLOCK_FILE");
	tnet_free(t);
}

Test(cases, postponed_replaces_respond_by_and_urgent_goes_first, .timeout = 180)
{
	struct tnet *t = clocked_net("cases-postponed");
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Dated' "
	    "--respond-by 2099-03-31");
	cr_assert(tr_wait_state(t, 0, id, "delivered", 10000));
	expect_clock_both(t, id, "respond_by", "due", "2099-04-01T00:00:00Z");
	expect_clock_both(t, id, "respond_by", "source", "requester");
	free(update(t, 1, id, "--status acknowledged --reference FR/2"));
	free(update(t, 1, id, "--status consultation --note 'An investigation is under way.'"));
	free(update(t, 1, id, "--status postponed --reason 46-25 --estimate 2099-06-30"));
	wait_case(t, 0, id, "postponed", 10000);
	expect_clock_both(t, id, "respond_by", "due", "2099-07-01T00:00:00Z");
	expect_clock_both(t, id, "respond_by", "source", "postponed");
	expect_clock_both(t, id, "acknowledge_by", "state", "met");
	char args[200];
	snprintf(args, sizeof(args), "request %s", id);
	char *out = ok(t, 0, args);
	cr_assert(strstr(out, "respond by      2099-07-01 00:00 (the postponement's estimate)")
	    != NULL, "%s", out);
	free(out);

	/* Urgent first: with FR-MJ paused, a plain request and then an urgent one wait; on
	 * resume the urgent one is sent first, and every view marks it. */
	out = ok(t, 0, "pause FR-MJ");
	free(out);
	char *plain = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Plain'");
	char *urgent = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Urgent' --urgent");
	out = ok(t, 0, "resume FR-MJ");
	free(out);
	cr_assert(tr_wait_state(t, 0, plain, "delivered", 10000));
	cr_assert(tr_wait_state(t, 0, urgent, "delivered", 10000));
	char dlog[4200], needle[128];
	snprintf(dlog, sizeof(dlog), "%s/state/delivery.jsonl", t->node[0].home);
	char *log = ts_read_file(dlog, NULL);
	snprintf(needle, sizeof(needle), "\"event\":\"sent\",\"id\":\"%s\"", urgent);
	char *u = strstr(log, needle);
	snprintf(needle, sizeof(needle), "\"event\":\"sent\",\"id\":\"%s\"", plain);
	char *p = strstr(log, needle);
	cr_assert(u != NULL && p != NULL && u < p, "the urgent one was not sent first:\n%s", log);
	free(log);
	for (int i = 0; i < 2; i++) {
		out = ok(t, i, "requests");
		char *line = strstr(out, urgent);
		cr_assert(line != NULL && strstr(line, " yes ") != NULL &&
		    strstr(line, " yes ") < strchr(line, '\n'), "node %d:\n%s", i, out);
		free(out);
	}
	free(plain);
	free(urgent);
	free(id);
	unsetenv("ROGATORY_TEST_CLOCK_FILE");
	tnet_free(t);
}
