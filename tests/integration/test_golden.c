/*
 * 20-golden: the table and JSON forms of every rogatoryctl command, from real daemons,
 * compared with tests/golden/NAME.txt and NAME.json. Ids are fixed (--id, a fixed
 * sequence of actions on a fresh network, so event seqs repeat too, but for the link-ups
 * once a second daemon runs: see normalize_seqs); what cannot be fixed is normalised
 * before the comparison (tests/support/ops.c): RFC 3339 times and SHA-256 hashes become
 * zeros of the same length, ports PORT, the test's folder DIR, uptime 0; for export,
 * certificate serials, Unix times and byte counts too (signatures and
 * certificates vary by a byte or two between runs).
 *
 * Regenerating after a deliberate change of an output: run
 *   ROGATORY_GOLDEN_UPDATE=1 make integration INTEG_ARGS="--jobs 1 --filter golden/every_command_table_and_json"
 * which writes the files instead of comparing, then read the diff (git diff tests/golden)
 * before committing it.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "ops.h"
#include "support.h"
#include "traffic.h"

static const char *const ids3[] = {"BD-ACC", "FR-MJ", "UA-PGO"};

#define ID1 "11111111-1111-4111-8111-111111111111"
#define ID2 "22222222-2222-4222-8222-222222222222"
#define RX1 "33333333-3333-4333-8333-333333333333"
#define RX2 "44444444-4444-4444-8444-444444444444"

/* Export also: certificate serials, Unix times and byte counts. */
static void
normalize_export(char *s)
{
	for (char *p = s; *p != '\0'; p++) {
		size_t n = strspn(p, "0123456789ABCDEF");
		bool bounded = (p == s || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[n]);
		if (n == 16 && bounded && strpbrk(p, "ABCDEF") < p + n) {
			memset(p, '0', 16);
			p += 15;
			continue;
		}
		size_t d = strspn(p, "0123456789");
		if (d > 0 && (p == s || (!isalnum((unsigned char)p[-1]) && p[-1] != '-'))) {
			bool size = strncmp(p + d, " bytes", 6) == 0 ||
			    (p - s >= 8 && strncmp(p - 8, "\"size\": ", 8) == 0);
			if (d >= 10 || size)
				memset(p, '0', d);
			p += d - 1;
		}
	}
}

/*
 * Event seqs after FR-MJ starts: each link with it records link-up, and whether BD-ACC's
 * own dial (for a cosignature, or its retry timer) comes up before, between or after the
 * two receptions depends on timing (CI's ASan run had it between). The seq column
 * becomes zeros of the same width; the order of the rows is still compared, and the test
 * checks the seqs rise.
 */
static void
normalize_seqs(char *s)
{
	long last = -1;
	for (char *p = s; *p != '\0'; p++) {
		bool row = p == s || p[-1] == '\n';
		char *d = NULL;
		if (row && isdigit((unsigned char)*p))
			d = p;
		else if (row && strncmp(p, "{\"seq\":", 7) == 0)
			d = p + 7;
		if (d == NULL)
			continue;
		long seq = strtol(d, NULL, 10);
		cr_assert_gt(seq, last, "event seqs do not rise: %ld after %ld in\n%s", seq, last, s);
		last = seq;
		while (isdigit((unsigned char)*d))
			*d++ = '0';
		p = d - 1;
	}
}

/* console login: the 32 hex digits of the login token become zeros. */
static void
normalize_token(char *s)
{
	for (char *p = s; *p != '\0'; p++) {
		size_t n = strspn(p, "0123456789abcdef");
		if (n == 32 && (p == s || !isalnum((unsigned char)p[-1])))
			memset(p, '0', n);
		if (n > 0)
			p += n - 1;
	}
}

/* Runs rogatoryctl ARGS on node 0 and compares (or, with ROGATORY_GOLDEN_UPDATE=1, writes)
 * tests/golden/NAME.EXT. */
static void
golden_one(struct tnet *t, const char *name, const char *ext, const char *args, int want_rc)
{
	char *out = NULL, file[256], ports[TNET_MAX][16];
	int rc = tnet_ctl(t, 0, &out, args);
	cr_assert_eq(rc, want_rc, "rogatoryctl %s: exit %d, expected %d:\n%s", args, rc, want_rc,
	    out);
	const char *from[TNET_MAX + 1], *to[TNET_MAX + 1];
	int n = 0;
	from[n] = t->dir;
	to[n++] = "DIR";
	for (int i = 0; i < t->n; i++) {
		snprintf(ports[i], sizeof(ports[i]), "%d", t->node[i].port);
		from[n] = ports[i];
		to[n++] = "PORT";
	}
	char *norm = ops_normalize(out, from, to, n);
	if (strncmp(name, "export", 6) == 0)
		normalize_export(norm);
	if (strcmp(name, "log-received") == 0)
		normalize_seqs(norm);
	if (strncmp(name, "console", 7) == 0)
		normalize_token(norm);
	snprintf(file, sizeof(file), "tests/golden/%s.%s", name, ext);
	const char *path = ts_src_path(file);
	const char *update = getenv("ROGATORY_GOLDEN_UPDATE");
	if (update != NULL && strcmp(update, "1") == 0) {
		ts_write_file(path, norm, 0644);
	} else {
		char *want = ts_read_file(path, NULL);
		cr_assert_not_null(want, "%s missing (ROGATORY_GOLDEN_UPDATE=1 writes it)", file);
		cr_assert_str_eq(norm, want, "rogatoryctl %s differs from %s:\n--- got\n%s--- want\n%s",
		    args, file, norm, want);
		free(want);
	}
	free(norm);
	free(out);
}

/* Both forms; a command that changes something gets its own arguments for each. */
static void
golden(struct tnet *t, const char *name, const char *table_args, const char *json_args,
    int want_rc)
{
	char args[8192];
	golden_one(t, name, "txt", table_args, want_rc);
	snprintf(args, sizeof(args), "--json %s", json_args != NULL ? json_args : table_args);
	golden_one(t, name, "json", args, want_rc);
}

Test(golden, every_command_table_and_json, .timeout = 180)
{
	struct tnet *t = tnet_new("golden", ids3, 3);
	char args[4096], args2[4096];
	tnet_start(t, 0);
	golden(t, "help", "help", NULL, 0);
	golden(t, "help-queue", "help queue", NULL, 0);
	golden(t, "status", "status", NULL, 0);
	golden(t, "pause", "pause FR-MJ", "pause UA-PGO", 0);
	golden(t, "peers", "peers", NULL, 0);
	golden(t, "send", "send --to FR-MJ --kind other --subject 'Golden request one' --id " ID1
	    " --field our_reference=G/1", "send --to FR-MJ --kind other --urgent --subject "
	    "'Golden request two' --id " ID2 " --respond-by 2027-03-31", 0);
	golden(t, "queue", "queue", NULL, 0);
	golden(t, "queue-filtered", "queue --peer FR-MJ --state queued -n 1", NULL, 0);
	golden(t, "show", "show " ID1, NULL, 0);
	golden(t, "log", "log", NULL, 0);
	golden(t, "log-filtered", "log --event queued --peer FR-MJ", NULL, 0);
	golden(t, "retry-paused", "retry --peer FR-MJ", NULL, 1);
	golden(t, "alerts", "alerts", NULL, 0);
	golden(t, "inbox-empty", "inbox", NULL, 0);
	golden(t, "quarantine", "quarantine", NULL, 0);
	golden(t, "verify", "verify " ID1, NULL, 0);
	snprintf(args, sizeof(args), "crl install '%s'", tnet_crl(t, "golden", 24));
	golden(t, "crl-install", args, NULL, 1);
	golden(t, "resume", "resume FR-MJ", "resume UA-PGO", 0);
	golden(t, "cancel", "cancel " ID1, "cancel " ID2, 0);
	golden(t, "retry-cancelled", "retry " ID1, NULL, 1);
	golden(t, "reload", "reload", NULL, 0);
	/* The web console's access: links (their tokens normalised), sessions, revocation. */
	golden(t, "console-login", "console login golden.user --role officer --url "
	    "https://console.example:8743/", "console login golden.user2", 0);
	golden(t, "console-sessions", "console sessions", NULL, 0);
	golden(t, "console-revoke", "console revoke golden.user", "console revoke golden.user2", 0);
	golden(t, "usage-error", "queue --peer fr-mj", NULL, 2);

	/* Received messages: FR-MJ sends two with fixed ids. */
	tnet_start(t, 1);
	free(tr_send_args(t, 1, "--to BD-ACC --kind other --subject 'Inbound one' --id " RX1));
	free(tr_send_args(t, 1, "--to BD-ACC --kind other --subject 'Inbound two' --id " RX2));
	cr_assert(tr_wait_state(t, 1, RX1, "delivered", 10000));
	cr_assert(tr_wait_state(t, 1, RX2, "delivered", 10000));
	golden(t, "inbox", "inbox", NULL, 0);
	snprintf(args, sizeof(args), "fetch " RX1 " --out '%s/f1'", t->dir);
	snprintf(args2, sizeof(args2), "fetch " RX2 " --out '%s/f2'", t->dir);
	golden(t, "fetch", args, args2, 0);
	/* The export carries the audit log's proof under the oldest cosigned checkpoint that
	 * covers RX1: have it signed and cosigned first, so the bundle does not change (and
	 * the export start again) when the cosignature arrives in the middle. */
	char *proof = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &proof, "audit prove --id " RX1 " --from FR-MJ"), 0, "%s",
	    proof);
	free(proof);
	cr_assert(tnet_wait_log(t, 0, "FR-MJ cosigned our checkpoint", 10000));
	/* The fetch sent our evidence of retrieval: the bundle holds FR-MJ's receipt of it. */
	cr_assert(tnet_wait_log(t, 0, "evidence of retrieval of " RX1 " receipted by FR-MJ",
	    10000));
	snprintf(args, sizeof(args), "export " RX1 " --out '%s/x1'", t->dir);
	snprintf(args2, sizeof(args2), "export " RX1 " --out '%s/x2'", t->dir);
	golden(t, "export", args, args2, 0);
	golden(t, "log-received", "log --event received", NULL, 0);
	char b1[1024], b2[1024];
	snprintf(b1, sizeof(b1), "%s/batch1.jsonl", t->dir);
	snprintf(b2, sizeof(b2), "%s/batch2.jsonl", t->dir);
	ts_writef(b1, 0600, "{\"to\":\"FR-MJ\",\"kind\":\"other\",\"subject\":\"batch one\","
	    "\"id\":\"55555555-5555-4555-8555-555555555555\"}\n");
	ts_writef(b2, 0600, "{\"to\":\"FR-MJ\",\"kind\":\"other\",\"subject\":\"batch two\","
	    "\"id\":\"66666666-6666-4666-8666-666666666666\"}\n");
	snprintf(args, sizeof(args), "send --batch '%s'", b1);
	snprintf(args2, sizeof(args2), "send --batch '%s'", b2);
	golden(t, "send-batch", args, args2, 0);
	/* Last: a dial that fails changes the peers' table. */
	golden(t, "connect", "connect UA-PGO", NULL, 0);
	tnet_free(t);
}
