/*
 * 15-directory: `rogatoryctl directory [ID]` and what an authority asks of each kind of
 * request ([requirements ID KIND] in directory.conf), between two real daemons: the
 * listing with link state and certificate expiry as the daemon sees them, one authority
 * whole, `draft KIND --to ID` telling the officer, the kind's languages replacing the
 * authority's in the sender's check, and a reload that changes them.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "net.h"
#include "ops.h"
#include "support.h"
#include "traffic.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

#define MLA_DOC(language) \
	"{\"kind\":\"mla\",\"subject\":\"Bank records of Example Trading\"," \
	"\"reference\":\"ACC/2026/117\",\"language\":\"" language "\",\"legal_basis\":\"UNCAC art. 46\"," \
	"\"proceedings\":{\"nature\":\"criminal\",\"subject\":\"Bribery in the port contract\"," \
	"\"authority\":{\"name\":\"Anti-Corruption Commission\",\"function\":\"investigator\"}}," \
	"\"facts\":\"Bribes were paid through a Paris account.\"," \
	"\"assistance\":[{\"type\":\"documents-records\",\"details\":\"Statements 2020-2021\"}]," \
	"\"persons\":[{\"name\":\"Example Trading Ltd\",\"role\":\"account-holder\"}]," \
	"\"purpose\":\"Evidence for the trial\"," \
	"\"offences\":[{\"name\":\"bribery\",\"law\":\"Penal Code s. 161\"}]}"

/* The test network's directory with FR-MJ's mla requirements after it. */
static void
write_requirements(struct tnet *t, const char *lines)
{
	tnet_write_directory(t, 3);
	FILE *f = fopen(t->directory, "a");
	cr_assert_not_null(f);
	fprintf(f, "\n[requirements FR-MJ mla]\n%s", lines);
	fclose(f);
}

/* The output of rogatoryctl ARGS on node i, which must exit 0. */
#define ok tnet_ctl_ok

#define has(out, needle) cr_assert(strstr(out, needle) != NULL, "no \"%s\" in:\n%s", \
	needle, out)

Test(directory, listing_and_one_authority_with_its_requirements, .timeout = 90)
{
	struct tnet *t = tnet_new("directory", ids2, 2);
	write_requirements(t, "legal_bases = UNCAC art. 46; reciprocity\nlanguages = fr\n"
	    "certified_copies = no\ntranslation = yes\n"
	    "urgent_contact = BEPI duty officer, +33 1 00 00 00 00\n"
	    "url = https://www.justice.example.fr/entraide\n");
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *out = ok(t, 0, "connect FR-MJ");
	free(out);
	cr_assert(ops_wait_ctl(t, 0, "directory FR-MJ", "link             up (", 20000),
	    "FR-MJ's link never came up");

	/* The listing: us, then FR-MJ with its link, certificate and one kind's requirements. */
	out = ok(t, 0, "directory");
	has(out, "AUTHORITY        CC LINK       CERT UNTIL REQS LANGUAGES KINDS                   NAME\n");
	char *bd = strstr(out, "\nBD-ACC "), *fr = strstr(out, "\nFR-MJ ");
	cr_assert(bd != NULL && fr != NULL && bd < fr, "directory order:\n%s", out);
	cr_assert_eq(strncmp(bd, "\nBD-ACC           BD self ", 26), 0, "%s", out);
	cr_assert_eq(strncmp(fr, "\nFR-MJ            FR up         20", 34), 0, "%s", out);
	has(fr, " 1    en, fr    mla, extradition, other Test authority FR-MJ\n");
	free(out);

	out = ok(t, 0, "directory FR-MJ");
	has(out, "id               FR-MJ\n");
	has(out, "address          127.0.0.1:");
	has(out, "kinds            mla, extradition, other\n");
	has(out, "languages        en, fr\n");
	has(out, "certificate      expires 20");
	has(out, "mla requests:\n  legal bases      UNCAC art. 46; reciprocity\n"
	    "  languages        fr\n  certified copies no\n  translation      yes\n"
	    "  urgent contact   BEPI duty officer, +33 1 00 00 00 00\n"
	    "  procedures       https://www.justice.example.fr/entraide\n");
	free(out);
	out = ok(t, 0, "directory BD-ACC");
	has(out, "link             self (0 up)\n");
	has(out, "requirements     none published in the directory\n");
	free(out);

	out = ok(t, 0, "--json directory FR-MJ");
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	json_t *a = json_array_get(json_object_get(j, "authorities"), 0);
	json_t *mla = json_object_get(json_object_get(a, "requirements"), "mla");
	cr_assert_eq(json_array_size(json_object_get(mla, "languages")), 1, "%s", out);
	cr_assert(json_is_false(json_object_get(mla, "certified_copies")), "%s", out);
	cr_assert(json_is_true(json_object_get(mla, "translation")), "%s", out);
	cr_assert(json_is_string(json_object_get(a, "certificate_not_after")), "%s", out);
	cr_assert_str_eq(json_string_value(json_object_get(a, "link")), "up");
	json_decref(j);
	free(out);

	/* The listing names the kinds with requirements, not the requirements. */
	out = ok(t, 0, "--json directory");
	j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	a = json_array_get(json_object_get(j, "authorities"), 1);
	cr_assert_str_eq(json_string_value(json_object_get(a, "id")), "FR-MJ");
	cr_assert_null(json_object_get(a, "requirements"), "%s", out);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(a, "requirements_for"),
	    0)), "mla");
	json_decref(j);
	free(out);

	/* Unknown and malformed ids. */
	cr_assert_eq(tnet_ctl(t, 0, &out, "directory DE-BMJ"), 1, "%s", out);
	has(out, "unknown-authority: unknown authority DE-BMJ (not in the directory ");
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "directory fr-mj"), 2, "%s", out);
	free(out);
	cr_assert_eq(tnet_ctl(t, 0, &out, "directory FR-MJ BD-ACC"), 2, "%s", out);
	free(out);
	tnet_free(t);
}

Test(directory, draft_tells_the_requirements_and_send_keeps_the_kinds_languages,
    .timeout = 90)
{
	struct tnet *t = tnet_new("dirdraft", ids2, 2);
	write_requirements(t, "languages = fr\ntranslation = yes\n"
	    "url = https://www.justice.example.fr/entraide\n");
	tnet_start(t, 0);
	tnet_start(t, 1);

	/* The officer drafting sees what FR-MJ asks of mla requests; the document offers its
	 * mla languages only. */
	char *out = ok(t, 0, "draft mla --to FR-MJ");
	has(out, "rogatoryctl: note: FR-MJ asks of mla requests (\"_recipient\".requirements):\n"
	    "  languages: fr\n  a translation into one of its languages\n"
	    "  its procedures: https://www.justice.example.fr/entraide\n");
	has(out, "\"url\": \"https://www.justice.example.fr/entraide\"");
	cr_assert(strstr(out, "rogatoryctl: note: FR-MJ asks of extradition") == NULL, "%s", out);
	free(out);
	out = ok(t, 0, "draft extradition --to FR-MJ");
	cr_assert(strstr(out, "asks of") == NULL, "nothing is said of extradition:\n%s", out);
	has(out, "\"requirements\": null");
	free(out);

	/* en is one of FR-MJ's languages, but not for mla: refused before anything is sent. */
	char en[4096], frdoc[4096];
	snprintf(en, sizeof(en), "%s/en.json", t->dir);
	snprintf(frdoc, sizeof(frdoc), "%s/fr.json", t->dir);
	ts_write_file(en, MLA_DOC("en"), 0600);
	ts_write_file(frdoc, MLA_DOC("fr"), 0600);
	cr_assert_eq(tnet_ctlf(t, 0, &out, "send --to FR-MJ --document '%s'", en), 1, "%s", out);
	has(out, "language: \"en\" is not a language FR-MJ accepts (fr)");
	free(out);
	out = ok(t, 0, "queue --all");
	has(out, "(none)");
	free(out);
	char args[4200];
	snprintf(args, sizeof(args), "--to FR-MJ --document '%s'", frdoc);
	char *id = tr_send_args(t, 0, args);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 20000), "the fr request was not delivered");
	free(id);

	/* A reload takes new requirements: BD-ACC's now accept en for mla, FR-MJ has not
	 * reloaded and still holds fr only, so its own check refuses the request with a
	 * signed receipt; once it reloads too, the same document goes through. */
	write_requirements(t, "languages = fr, en\n");
	out = ok(t, 0, "reload");
	free(out);
	out = ok(t, 0, "directory FR-MJ");
	has(out, "mla requests:\n  legal bases      -\n  languages        fr, en\n");
	free(out);
	snprintf(args, sizeof(args), "--to FR-MJ --document '%s'", en);
	id = tr_send_args(t, 0, args);
	cr_assert(tr_wait_state(t, 0, id, "rejected", 20000), "FR-MJ did not refuse the en "
	    "request its directory does not allow");
	cr_assert_eq(tnet_ctlf(t, 0, &out, "show %s", id), 0, "%s", out);
	has(out, "language: \"en\" is not a language FR-MJ accepts (fr)");
	free(out);
	free(id);
	out = ok(t, 1, "reload");
	free(out);
	id = tr_send_args(t, 0, args);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 20000), "the en request was not delivered "
	    "once FR-MJ reloaded");
	free(id);
	tnet_free(t);
}

/* A directory far larger than any network (3,000 authorities): one authority still
 * answers at once, and the whole listing, larger than a control reply may be, is refused
 * with a reason instead of leaving the operator waiting for a reply that never comes. */
Test(directory, a_huge_directory_answers_or_says_why, .timeout = 120)
{
	struct tnet *t = tnet_new("dirhuge", ids2, 2);
	tnet_write_directory(t, 3);
	FILE *f = fopen(t->directory, "a");
	cr_assert_not_null(f);
	for (int i = 0; i < 3000; i++)
		fprintf(f, "\n[authority DE-A%04d]\nname = Authority number %d of a very large "
		    "network, whose name runs on and on as official names of offices and their "
		    "departments do, to well over a hundred bytes\ncountry = DE\n"
		    "address = 192.0.2.%d:%d\n"
		    "kinds = mla, extradition\nlanguages = de, en, fr\n", i, i, 1 + i % 250,
		    7000 + i);
	fclose(f);
	tnet_start(t, 0);
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "directory"), 1, "%s", out);
	has(out, "reply-too-large: the answer is ");
	has(out, "ask for less");
	free(out);
	out = ok(t, 0, "directory DE-A2999");
	has(out, "id               DE-A2999\n");
	has(out, "link             idle (0 up)\n");
	free(out);
	/* The daemon logged why, and goes on. */
	cr_assert(tnet_wait_log(t, 0, "more than the control frame's", 5000));
	free(ok(t, 0, "status"));
	tnet_free(t);
}
