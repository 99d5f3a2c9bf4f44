/*
 * 14-terminal: what a peer can put in front of the operator. A signed document whose
 * subject carries ESC/BEL sequences, or whose attachment name carries a C1 control or a
 * bidi override, is refused at the wire by the receiving daemon, with a signed REJECTED
 * receipt and a reason that names the field, the code point and the byte; and, should
 * such text ever sit in the store, rogatoryctl's human output shows it escaped and its
 * JSON output as \uXXXX: never a raw byte a terminal acts on.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "support.h"
#include "traffic.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

/* No ESC, BEL, CSI (C1 as UTF-8) or RLO byte sequence anywhere in s. */
static void
assert_terminal_safe(const char *what, const char *s)
{
	cr_assert(strchr(s, '\033') == NULL && strchr(s, '\007') == NULL, "%s: raw ESC/BEL:\n%s",
	    what, s);
	cr_assert(strstr(s, "\xc2\x9b") == NULL, "%s: raw U+009B:\n%s", what, s);
	cr_assert(strstr(s, "\xe2\x80\xae") == NULL, "%s: raw U+202E:\n%s", what, s);
}

/* FR-MJ's own credentials send one signed Transfer to BD-ACC; the fakepeer's output. */
static char *
send_as_fr(struct tnet *t, const char *opts)
{
	char *out = NULL;
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --cert '%s' --key '%s' --ca '%s' "
	                        "--hello-id FR-MJ --transfer-to BD-ACC --wait-ms 1500 %s",
	    t->node[0].port, t->node[1].cert, t->node[1].key, t->ca, opts);
	return out;
}

Test(terminal, peer_text_with_terminal_controls_refused_at_the_wire, .timeout = 60)
{
	struct tnet *t = tnet_new("term-wire", ids2, 2);
	tnet_start(t, 0);
	static const struct {
		const char *opts;     /* fakepeer options, \xHH decoded by the fakepeer */
		const char *why;      /* the reason the daemon signs and logs */
	} cases[] = {
		{"--subject 'Hi \\x1b[2J\\x1b]0;pwned\\x07'",
		    "document.content.subject: control character U+001B at byte 3"},
		{"--attach-name 'report\\xc2\\x9b.pdf'",
		    "document.attachments[0].name: control character U+009B at byte 6"},
		{"--attach-name 'invoice\\xe2\\x80\\xaefdp.exe'",
		    "document.attachments[0].name: bidi control U+202E at byte 7"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = send_as_fr(t, cases[i].opts);
		char want[256];
		snprintf(want, sizeof(want), "outcome=rejected reason=bad-signature "
		    "why=document signed by FR-MJ: %s", cases[i].why);
		cr_assert(strstr(out, want) != NULL, "case %zu: want \"%s\" in:\n%s", i, want, out);
		free(out);
		cr_assert(tnet_wait_log(t, 0, cases[i].why, 3000), "log lacks %s", cases[i].why);
	}
	/* Kept aside with its reason, never received. */
	cr_assert_eq(tr_events(t, 0, "quarantined", NULL), 3);
	cr_assert_eq(tr_events(t, 0, "received", NULL), 0);
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "quarantine"), 0, "%s", out);
	cr_assert(strstr(out, "control character U+001B at byte 3") != NULL, "%s", out);
	assert_terminal_safe("quarantine", out);
	free(out);
	/* A clean subject in the same shape is delivered: the rule is not a blanket refusal. */
	out = send_as_fr(t, "--subject 'Caf\\xc3\\xa9 \\xd8\\xa7\\xe2\\x80\\x8f (RLM)'");
	cr_assert(strstr(out, "outcome=accepted") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}

/* Defence in depth: text a terminal acts on, planted in the store behind the wire's
 * back, is printed escaped by every human listing and as \uXXXX in JSON. */
Test(terminal, ctl_prints_stored_text_terminal_safe, .timeout = 60)
{
	struct tnet *t = tnet_new("term-ctl", ids2, 2);
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *out = send_as_fr(t, "--kind asset-recovery");
	cr_assert(strstr(out, "reason=unknown-kind") != NULL, "%s", out);
	free(out);
	/* Delivered, so nothing rewrites its row once the text is planted. */
	char *id = tr_send_args(t, 0, "--to FR-MJ --kind other --subject 'Planted'");
	cr_assert(tr_wait_state(t, 0, id, "delivered", 20000), "not delivered");
	tnet_stop(t, 0, SIGTERM);
	/* char(27) is ESC, char(155) U+009B (UTF-8 C2 9B), char(8238) U+202E. */
	const char *evil = "'Hi ' || char(27) || '[2J' || char(27) || ']0;pwned' || char(7) "
	                   "|| ' ' || char(155) || '31m ' || char(8238) || 'fdp.exe'";
	int rc = ts_sh(&out, "sqlite3 '%s/state/rogatory.db' \"UPDATE quarantine SET reason = %s; "
	                     "UPDATE events SET reason = %s; UPDATE messages SET last_error = %s\"",
	    t->node[0].home, evil, evil, evil);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	tnet_start(t, 0);

	char show[128];
	snprintf(show, sizeof(show), "show %s", id);
	const char *human[] = {"quarantine", "log -n 20", "queue --all", show};
	for (size_t i = 0; i < sizeof(human) / sizeof(human[0]); i++) {
		cr_assert_eq(tnet_ctl(t, 0, &out, human[i]), 0, "%s: %s", human[i], out);
		assert_terminal_safe(human[i], out);
		cr_assert(strstr(out, "Hi \\x1b[2J\\x1b]0;pwned\\x07 \\u009b31m \\u202efdp.exe") != NULL,
		    "%s: not shown escaped:\n%s", human[i], out);
		free(out);
	}
	const char *json[] = {"--json quarantine", "--json log -n 20", "--json show"};
	for (size_t i = 0; i < sizeof(json) / sizeof(json[0]); i++) {
		char args[160];
		snprintf(args, sizeof(args), "%s%s%s", json[i], i == 2 ? " " : "", i == 2 ? id : "");
		cr_assert_eq(tnet_ctl(t, 0, &out, args), 0, "%s: %s", args, out);
		assert_terminal_safe(args, out);
		cr_assert(strstr(out, "\\u001B[2J") != NULL && strstr(out, "\\u009B31m") != NULL &&
		    strstr(out, "\\u202Efdp.exe") != NULL, "%s: not \\u-escaped:\n%s", args, out);
		free(out);
	}
	free(id);
	tnet_free(t);
}
