/*
 * Unit tests for daemon/casedoc.c and casejson.c: a table of good documents (one per
 * kind) and of bad ones (a good one with one thing changed), each bad one with the JSON
 * path and the reason the check must name; fields as a peer could send them (not JSON,
 * not canonical, out of order, twice); status documents per status; templates and the
 * element list over every kind.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "casedoc.h"
#include "support.h"

#define S(x) ROGATORY__V1__STATUS__STATUS_##x
#define K(x) ROGATORY__V1__KIND__KIND_##x

static const char *const good[] = {
	"{\"kind\":\"mla\",\"subject\":\"Bank records of Alpha Trading\",\"urgent\":true,"
	"\"respond_by\":\"2099-03-31\",\"reference\":\"BD-ACC/2025/117\",\"language\":\"en\","
	"\"legal_basis\":\"UNCAC art. 46\",\"confidential\":true,"
	"\"proceedings\":{\"nature\":\"criminal\",\"subject\":\"Bribery in the port contract\","
	"\"authority\":{\"name\":\"Anti-Corruption Commission\",\"function\":\"investigator\"}},"
	"\"facts\":\"Between 2019 and 2021\\nbribes were paid.\","
	"\"assistance\":[{\"type\":\"documents-records\",\"details\":\"Statements of account\"},"
	"{\"type\":\"taking-evidence\",\"details\":\"Hear the bank's officer\","
	"\"procedure\":\"Under oath\"}],"
	"\"persons\":[{\"name\":\"Rahim Karim\",\"role\":\"suspect\",\"nationality\":\"BD\"},"
	"{\"name\":\"Alpha Trading SARL\",\"role\":\"company\",\"nationality\":\"FR\","
	"\"location\":\"Paris\"}],"
	"\"purpose\":\"Evidence for the trial\","
	"\"offences\":[{\"name\":\"bribery\",\"law\":\"Penal Code s. 161\"}]}",

	"{\"kind\":\"extradition\",\"subject\":\"Extradition of R. Karim\","
	"\"reference\":\"E-1\",\"language\":\"fr\",\"legal_basis\":\"Treaty of 1999\","
	"\"person\":{\"name\":\"Rahim Karim\",\"nationality\":\"BD\"},"
	"\"warrant\":{\"type\":\"arrest-warrant\",\"authority\":\"Dhaka court\","
	"\"date\":\"2024-05-02\",\"reference\":\"W-7\"},"
	"\"offences\":[{\"name\":\"bribery\",\"classification\":\"UNCAC art. 15\","
	"\"law\":\"Penal Code s. 161\"}],"
	"\"circumstances\":{\"time\":\"2019-2021\",\"place\":\"Chittagong\","
	"\"participation\":\"principal\"},\"penalty\":\"up to 7 years\","
	"\"prescription\":\"15 years from 2021\"}",

	"{\"kind\":\"provisional-arrest\",\"subject\":\"Arrest of R. Karim\",\"urgent\":true,"
	"\"reference\":\"PA-1\",\"language\":\"en\",\"legal_basis\":\"UNCAC art. 44(10)\","
	"\"person\":{\"name\":\"Rahim Karim\"},"
	"\"warrant\":{\"type\":\"arrest-warrant\",\"authority\":\"Dhaka court\","
	"\"date\":\"2024-05-02\",\"reference\":\"W-7\"},"
	"\"offences\":[{\"name\":\"bribery\",\"law\":\"Penal Code s. 161\"}],"
	"\"urgency\":\"He leaves on Friday\",\"extradition_to_follow\":true}",

	"{\"kind\":\"asset-recovery\",\"subject\":\"Freeze the Alpha accounts\","
	"\"reference\":\"AR-1\",\"language\":\"en\",\"legal_basis\":\"UNCAC art. 54, 55\","
	"\"assets\":[{\"kind\":\"bank account\",\"location\":\"BNP Paribas, FR76...\","
	"\"value\":\"EUR 1,200,000\",\"holder\":\"Alpha Trading SARL\"}],"
	"\"offence_link\":\"Proceeds of the bribes\",\"measures\":[\"freeze\",\"confiscate\"]}",

	"{\"kind\":\"service-of-documents\",\"subject\":\"Summons for R. Karim\","
	"\"reference\":\"S-1\",\"language\":\"fr\",\"legal_basis\":\"UNCAC art. 46(3)(b)\","
	"\"proceedings\":{\"nature\":\"civil\",\"subject\":\"Damages\","
	"\"authority\":{\"name\":\"Court\",\"function\":\"judge\"}},"
	"\"assistance\":[{\"type\":\"service-of-documents\",\"details\":\"Serve the summons\"}],"
	"\"purpose\":\"Hearing on 3 May\",\"offences\":[{\"name\":\"bribery\",\"law\":\"s. 161\"}]}",

	"{\"kind\":\"other\",\"subject\":\"Contact points for 2025\",\"note\":\"free text\"}",
};

/* base (index into good), path ("persons[1].nationality"), new value as JSON or NULL to
 * remove it, then the problem that must be named. */
static const struct {
	int base;
	const char *path;
	const char *value;
	const char *want_path;
	const char *want;
} bad[] = {
	{0, "assistance", NULL, "assistance", "required for kind mla (UNCAC art. 46(15)(d))"},
	{0, "persons[1].nationality", "\"XX\"", "persons[1].nationality",
	    "not an ISO 3166 alpha-2 code"},
	{0, "language", "\"xx\"", "language", "not an ISO 639-1 language code"},
	{0, "respond_by", "\"2000-01-01\"", "respond_by", "2000-01-01 is in the past"},
	{0, "respond_by", "\"2099-02-30\"", "respond_by", "not a date YYYY-MM-DD"},
	{0, "assistance[0].type", "\"bogus\"", "assistance[0].type",
	    "\"bogus\" is not one of: taking-evidence, service-of-documents, "},
	{0, "assistance[1].details", NULL, "assistance[1].details", "required"},
	{0, "foo", "\"bar\"", "foo", "not an element of kind mla"},
	{0, "persons[0].age", "\"40\"", "persons[0].age", "not an element of persons"},
	{0, "facts", "5", "facts", "expected text (write numbers as text"},
	{0, "facts", "\"a\\u001bb\"", "facts", "control character U+001B at byte 1"},
	{0, "reference", "\"a\\nb\"", "reference", "line break or tab U+000A at byte 1"},
	{0, "subject", "\"a\\u202eb\"", "subject", "bidi control U+202E at byte 1"},
	{0, "proceedings.nature", "\"moral\"", "proceedings.nature",
	    "\"moral\" is not one of: criminal, civil, administrative"},
	{0, "proceedings.authority", NULL, "proceedings.authority", "required"},
	{0, "proceedings", "\"x\"", "proceedings", "expected an object"},
	{0, "persons", "{}", "persons", ""},  /* an empty object is left out: no problem */
	{0, "offences", "\"bribery\"", "offences", "expected a list"},
	{0, "subject", NULL, "subject", "required"},
	{1, "offences[0].classification", NULL, "offences[0].classification", "required"},
	{1, "penalty", NULL, "penalty", "required for kind extradition (UN Model Treaty"},
	{1, "warrant.date", "\"soon\"", "warrant.date", "not a date YYYY-MM-DD"},
	{1, "facts", "\"x\"", "facts", "not an element of kind extradition"},
	{2, "extradition_to_follow", NULL, "extradition_to_follow",
	    "required for kind provisional-arrest"},
	{3, "measures[1]", "\"steal\"", "measures[1]", "\"steal\" is not one of: identify, "},
	{3, "assets[0].location", NULL, "assets[0].location", "required"},
	{4, "facts", "\"x\"", "facts", "not an element of kind service-of-documents"},
	{4, "assistance", "[]", "assistance", "required for kind service-of-documents"},
	{5, "subject", "\"\"", "subject", "required"},
};

/* Sets (value) or removes (NULL) the member at path in doc. */
static void
set_path(json_t *doc, const char *path, const char *value)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *at = doc;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ".", &save); tok != NULL; tok = strtok_r(NULL, ".", &save)) {
		char *br = strchr(tok, '[');
		long index = br ? strtol(br + 1, NULL, 10) : -1;
		if (br)
			*br = '\0';
		bool last = save == NULL || *save == '\0';
		if (last && index < 0) {
			if (value == NULL)
				json_object_del(at, tok);
			else
				json_object_set_new(at, tok, json_loads(value, JSON_DECODE_ANY, NULL));
			return;
		}
		at = json_object_get(at, tok);
		if (index >= 0) {
			if (last) {
				json_array_set_new(at, (size_t)index, json_loads(value, JSON_DECODE_ANY, NULL));
				return;
			}
			at = json_array_get(at, (size_t)index);
		}
		cr_assert_not_null(at, "no %s in the base document", path);
	}
}

/* Encodes doc as a request and judges it; the problems in *pr. 0 valid. */
static int
judge(json_t *doc, struct casedoc_problems *pr, const char *const *langs, size_t nlangs)
{
	struct casedoc_out out;
	if (casedoc_encode(doc, S(UNSPECIFIED), &out, pr) != 0)
		return -1;
	Rogatory__V1__Kind kind;
	cr_assert_eq(wire_kind_parse(out.kind, &kind), 0);
	struct casedoc_in in;
	casedoc_in_out(&in, &out, kind, S(UNSPECIFIED));
	in.languages = langs;
	in.n_languages = nlangs;
	in.authority = "FR-MJ";
	int rc = casedoc_check(&in, pr);
	casedoc_out_free(&out);
	return rc;
}

static bool
named(const struct casedoc_problems *pr, const char *path, const char *reason)
{
	for (size_t i = 0; i < pr->n; i++)
		if (strcmp(pr->p[i].path, path) == 0 && strstr(pr->p[i].reason, reason) != NULL)
			return true;
	return false;
}

Test(casedoc, good_documents_of_every_kind)
{
	unsigned kinds = 0;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		json_t *doc = json_loads(good[i], 0, NULL);
		cr_assert_not_null(doc, "good[%zu] is not JSON", i);
		struct casedoc_problems pr;
		char text[2048];
		int rc = judge(doc, &pr, NULL, 0);
		casedoc_problems_text(&pr, text, sizeof(text));
		cr_expect_eq(rc, 0, "good[%zu]: %s", i, text);
		Rogatory__V1__Kind k;
		wire_kind_parse(json_string_value(json_object_get(doc, "kind")), &k);
		kinds |= 1u << k;
		json_decref(doc);
	}
	cr_assert_eq(kinds, 0x7eu, "a good document of every kind");
}

Test(casedoc, bad_documents_name_the_path_and_the_reason)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *doc = json_loads(good[bad[i].base], 0, NULL);
		set_path(doc, bad[i].path, bad[i].value);
		struct casedoc_problems pr;
		char text[2048];
		int rc = judge(doc, &pr, NULL, 0);
		casedoc_problems_text(&pr, text, sizeof(text));
		if (bad[i].want[0] == '\0')
			cr_expect_eq(rc, 0, "bad[%zu] (%s): %s", i, bad[i].path, text);
		else
			cr_expect(rc != 0 && named(&pr, bad[i].want_path, bad[i].want),
			    "bad[%zu] (%s): want \"%s: %s\", got: %s", i, bad[i].path, bad[i].want_path,
			    bad[i].want, text);
		json_decref(doc);
	}
}

Test(casedoc, language_must_be_one_the_recipient_accepts)
{
	static const char *const langs[] = {"en", "fr"};
	json_t *doc = json_loads(good[0], 0, NULL);
	struct casedoc_problems pr;
	cr_assert_eq(judge(doc, &pr, langs, 2), 0);
	set_path(doc, "language", "\"de\"");
	cr_assert_eq(judge(doc, &pr, langs, 2), -1);
	cr_assert_str_eq(pr.p[0].path, "language");
	cr_assert_str_eq(pr.p[0].reason, "\"de\" is not a language FR-MJ accepts (en, fr)");
	json_decref(doc);
}

Test(casedoc, form_problems_before_any_field)
{
	struct casedoc_out out;
	struct casedoc_problems pr;
	json_t *j = json_loads("[1]", 0, NULL);
	cr_assert_eq(casedoc_encode(j, S(UNSPECIFIED), &out, &pr), -1);
	cr_assert_str_eq(pr.p[0].reason, "a document is a JSON object");
	json_decref(j);
	j = json_loads("{\"subject\":\"x\"}", 0, NULL);
	cr_assert_eq(casedoc_encode(j, S(UNSPECIFIED), &out, &pr), -1);
	cr_assert_str_eq(pr.p[0].path, "kind");
	json_decref(j);
	j = json_loads("{\"kind\":\"rogatory\",\"subject\":\"x\"}", 0, NULL);
	cr_assert_eq(casedoc_encode(j, S(UNSPECIFIED), &out, &pr), -1);
	cr_assert(strstr(pr.p[0].reason, "\"rogatory\" is not a kind") != NULL);
	json_decref(j);
	/* Comments (members starting with '_') are not part of the document. */
	j = json_loads("{\"kind\":\"other\",\"subject\":\"x\",\"_hints\":{\"a\":1}}", 0, NULL);
	cr_assert_eq(casedoc_encode(j, S(UNSPECIFIED), &out, &pr), 0);
	cr_assert_eq(out.n_fields, 0);
	casedoc_out_free(&out);
	json_decref(j);
}

/* What a peer may send: fields judged as bytes. */
static int
judge_fields(Rogatory__V1__Kind kind, Rogatory__V1__Status st, const char *const *nv,
    size_t n, struct casedoc_problems *pr)
{
	struct casedoc_in in;
	Rogatory__Ctl__V1__SendRequest q = ROGATORY__CTL__V1__SEND_REQUEST__INIT;
	casedoc_in_send(&in, &q, kind, st);
	in.subject = (const uint8_t *)"subject";
	in.subject_len = 7;
	for (size_t i = 0; i < n; i++)
		in.fields[i] = (struct casedoc_field){(const uint8_t *)nv[2 * i], strlen(nv[2 * i]),
		    (const uint8_t *)nv[2 * i + 1], strlen(nv[2 * i + 1])};
	in.n_fields = n;
	return casedoc_check(&in, pr);
}

Test(casedoc, one_encoding_only)
{
	struct casedoc_problems pr;
	const char *ok[] = {"reference", "\"R-1\"", "language", "\"en\""};
	const char *spaced[] = {"reference", " \"R-1\""};
	const char *escaped[] = {"reference", "\"R\\u002d1\""};
	const char *order[] = {"language", "\"en\"", "reference", "\"R-1\""};
	const char *twice[] = {"reference", "\"R-1\"", "reference", "\"R-2\""};
	const char *text[] = {"reference", "R-1"};
	const char *unsorted[] = {"persons", "[{\"role\":\"suspect\",\"name\":\"A\"}]"};
	const char *sorted[] = {"persons", "[{\"name\":\"A\",\"role\":\"suspect\"}]"};
	const char *falsy[] = {"confidential", "false"};
	cr_assert_eq(judge_fields(K(OTHER), S(UNSPECIFIED), ok, 2, &pr), 0);
	judge_fields(K(OTHER), S(UNSPECIFIED), spaced, 1, &pr);
	cr_assert(named(&pr, "reference", "not in canonical form"));
	judge_fields(K(OTHER), S(UNSPECIFIED), escaped, 1, &pr);
	cr_assert(named(&pr, "reference", "not in canonical form"));
	judge_fields(K(OTHER), S(UNSPECIFIED), order, 2, &pr);
	cr_assert(named(&pr, "reference", "out of order"));
	judge_fields(K(OTHER), S(UNSPECIFIED), twice, 2, &pr);
	cr_assert(named(&pr, "reference", "given twice"));
	judge_fields(K(OTHER), S(UNSPECIFIED), text, 1, &pr);
	cr_assert(named(&pr, "reference", "not JSON"));
	judge_fields(K(MLA), S(UNSPECIFIED), unsorted, 1, &pr);
	cr_assert(named(&pr, "persons", "not in canonical form"));
	judge_fields(K(MLA), S(UNSPECIFIED), sorted, 1, &pr);
	cr_assert(!named(&pr, "persons", "canonical"));
	judge_fields(K(OTHER), S(UNSPECIFIED), falsy, 1, &pr);
	cr_assert(named(&pr, "confidential", "false is written by leaving the element out"));
	/* A request of a formal kind without fields: the quick form is for "other" only. */
	cr_assert_eq(judge_fields(K(MLA), S(UNSPECIFIED), NULL, 0, &pr), -1);
	cr_assert(strstr(pr.p[0].reason, "a mla request is a document") != NULL);
}

/* Status documents: what each status needs and allows. */
Test(casedoc, status_documents)
{
	struct casedoc_problems pr;
	const char *reasons_ok[] = {"reasons", "[{\"code\":\"46-21-b\"}]"};
	const char *reasons_other[] = {"reasons", "[{\"code\":\"other\"}]"};
	const char *reasons_postpone[] = {"reasons", "[{\"code\":\"46-25\"}]"};
	const char *postponed[] = {"reasons", "[{\"code\":\"46-25\"}]", "estimate",
	    "\"2099-01-01\""};
	const char *past[] = {"reasons", "[{\"code\":\"46-25\"}]", "estimate", "\"2001-01-01\""};
	const char *ack[] = {"reference", "\"FR-MJ/2025/88\""};
	const char *note[] = {"note", "\"what is missing\""};
	const char *estimate[] = {"reference", "\"X\"", "estimate", "\"2099-01-01\""};
	cr_assert_eq(judge_fields(K(MLA), S(REFUSED), reasons_ok, 1, &pr), 0);
	cr_assert_eq(judge_fields(K(MLA), S(REFUSED), NULL, 0, &pr), -1);
	cr_assert(named(&pr, "reasons", "required for refused (UNCAC art. 46(21), 46(23))"));
	judge_fields(K(MLA), S(REFUSED), reasons_other, 1, &pr);
	cr_assert(named(&pr, "reasons[0].text", "required with code other"));
	judge_fields(K(MLA), S(REFUSED), reasons_postpone, 1, &pr);
	cr_assert(named(&pr, "reasons[0].code", "\"46-25\" is not a ground for refused"));
	cr_assert_eq(judge_fields(K(MLA), S(POSTPONED), postponed, 2, &pr), 0);
	judge_fields(K(MLA), S(POSTPONED), reasons_postpone, 1, &pr);
	cr_assert(named(&pr, "estimate", "required for postponed (UNCAC art. 46(25))"));
	judge_fields(K(MLA), S(POSTPONED), past, 2, &pr);
	cr_assert(named(&pr, "estimate", "2001-01-01 is in the past"));
	cr_assert_eq(judge_fields(K(MLA), S(ACKNOWLEDGED), ack, 1, &pr), 0);
	judge_fields(K(MLA), S(ACKNOWLEDGED), NULL, 0, &pr);
	cr_assert(named(&pr, "reference", "required for acknowledged"));
	judge_fields(K(MLA), S(ADDITIONAL_INFORMATION_REQUESTED), NULL, 0, &pr);
	cr_assert(named(&pr, "note", "required for additional-information-requested"));
	cr_assert_eq(judge_fields(K(MLA), S(CONSULTATION), note, 1, &pr), 0);
	judge_fields(K(MLA), S(ACKNOWLEDGED), estimate, 2, &pr);
	cr_assert(named(&pr, "estimate", "not an element of status acknowledged"));
	/* Every status has a minimal valid document made of what it needs. */
	size_t n;
	const struct case_status *st = case_statuses(&n);
	for (size_t i = 0; i < n; i++) {
		const char *nv[8];
		size_t k = 0;
		if (st[i].needs & CASE_F_REFERENCE)
			nv[2 * k] = "reference", nv[2 * k + 1] = "\"R\"", k++;
		if (st[i].needs & CASE_F_NOTE)
			nv[2 * k] = "note", nv[2 * k + 1] = "\"N\"", k++;
		if (st[i].needs & CASE_F_REASONS)
			nv[2 * k] = "reasons", nv[2 * k + 1] = "[{\"code\":\"other\",\"text\":\"T\"}]", k++;
		if (st[i].needs & CASE_F_ESTIMATE)
			nv[2 * k] = "estimate", nv[2 * k + 1] = "\"2099-01-01\"", k++;
		char text[1024];
		int rc = judge_fields(K(MLA), st[i].status, nv, k, &pr);
		casedoc_problems_text(&pr, text, sizeof(text));
		cr_expect_eq(rc, 0, "%s: %s", wire_status_name(st[i].status), text);
	}
}

/* A template of every kind: its elements are the kind's; filled in with nothing, what
 * the check names is what the template says is required, and nothing else. */
Test(casedoc, templates_and_elements_of_every_kind)
{
	for (int k = 1; k <= 6; k++) {
		static const char *const langs[] = {"fr", "en"};
		json_t *t = casedoc_template((Rogatory__V1__Kind)k, langs, 2);
		cr_assert_not_null(t);
		cr_assert_str_eq(json_string_value(json_object_get(t, "kind")),
		    wire_kind_name((Rogatory__V1__Kind)k));
		json_t *hints = json_object_get(t, "_hints");
		cr_assert(json_is_object(hints));
		struct casedoc_problems pr;
		json_object_set_new(t, "subject", json_string("A subject"));
		int rc = judge(t, &pr, NULL, 0);
		size_t required = 0;
		const char *key;
		json_t *h;
		json_object_foreach(hints, key, h) {
			if (strncmp(json_string_value(h), "required", 8) != 0 || strchr(key, '.') ||
			    strcmp(key, "kind") == 0 || strcmp(key, "subject") == 0)
				continue;
			required++;
			/* language is pre-filled with the recipient's first language. */
			if (strcmp(key, "language") != 0)
				cr_expect(named(&pr, key, "required for kind"), "%s: %s not named", wire_kind_name(
				    (Rogatory__V1__Kind)k), key);
		}
		if (k == K(OTHER))
			cr_assert_eq(rc, 0);
		else
			cr_assert_eq(pr.n, required - 1, "%s: %zu problems, %zu required elements",
			    wire_kind_name((Rogatory__V1__Kind)k), pr.n, required);
		cr_assert_str_eq(json_string_value(json_object_get(t, "language")), "fr");
		json_decref(t);
		json_t *els = casedoc_elements((Rogatory__V1__Kind)k);
		cr_assert(json_array_size(els) >= 5);
		json_decref(els);
	}
	cr_assert_null(casedoc_template(ROGATORY__V1__KIND__KIND_UNSPECIFIED, NULL, 0));
}

/* Fields back to JSON give the document again (less what the canonical form leaves out). */
Test(casedoc, fields_back_to_json)
{
	json_t *doc = json_loads(good[0], 0, NULL);
	struct casedoc_out out;
	struct casedoc_problems pr;
	cr_assert_eq(casedoc_encode(doc, S(UNSPECIFIED), &out, &pr), 0);
	struct casedoc_in in;
	casedoc_in_out(&in, &out, K(MLA), S(UNSPECIFIED));
	json_t *back = casedoc_fields_json(in.fields, in.n_fields);
	const char *key;
	json_t *v;
	json_object_foreach(back, key, v)
		cr_assert(json_equal(v, json_object_get(doc, key)), "%s differs", key);
	cr_assert_eq(json_object_size(back), json_object_size(doc) - 4, "all but kind, subject, "
	    "urgent and respond_by are fields");
	cr_assert_str_eq(out.fields[0].name, "reference");
	cr_assert_str_eq(out.fields[0].value, "\"BD-ACC/2025/117\"");
	json_decref(back);
	casedoc_out_free(&out);
	json_decref(doc);
}

/* Every element of every kind is in docs/PROTOCOL.md section 14.3, by its path. */
Test(casedoc, protocol_md_names_every_element)
{
	char *doc = ts_read_file(ts_src_path("docs/PROTOCOL.md"), NULL);
	cr_assert_not_null(doc);
	for (int k = 1; k <= 6; k++) {
		json_t *els = casedoc_elements((Rogatory__V1__Kind)k);
		size_t i;
		json_t *e;
		json_array_foreach(els, i, e) {
			char name[200];
			snprintf(name, sizeof(name), "`%s`", json_string_value(json_object_get(e, "path")));
			cr_expect(strstr(doc, name) != NULL, "docs/PROTOCOL.md lacks %s", name);
		}
		json_decref(els);
	}
	free(doc);
}

/* PROTOCOL.md 14.3: a member not listed is refused. A name with a dot in it must not be
 * taken for a deeper element ("authority.name" inside proceedings is no member). */
Test(casedoc, a_dotted_member_name_is_no_member)
{
	static const char *const names[] = {"reference", "language", "legal_basis", "proceedings",
	    "facts", "assistance", "purpose", "offences"};
	static const char *const values[] = {"\"R-1\"", "\"en\"", "\"UNCAC art. 46\"",
	    "{\"authority\":{\"function\":\"judge\",\"name\":\"Court\"},"
	    "\"authority.name\":\"Smuggled\",\"nature\":\"criminal\",\"subject\":\"Bribery\"}",
	    "\"Facts\"", "[{\"details\":\"Statements\",\"type\":\"documents-records\"}]",
	    "\"Trial\"", "[{\"law\":\"s. 161\",\"name\":\"bribery\"}]"};
	struct casedoc_in in;
	memset(&in, 0, sizeof(in));
	in.kind = ROGATORY__V1__KIND__KIND_MLA;
	in.status = ROGATORY__V1__STATUS__STATUS_UNSPECIFIED;
	in.subject = (const uint8_t *)"Bank records";
	in.subject_len = strlen("Bank records");
	for (size_t i = 0; i < 8; i++)
		in.fields[i] = (struct casedoc_field){(const uint8_t *)names[i], strlen(names[i]),
		    (const uint8_t *)values[i], strlen(values[i])};
	in.n_fields = 8;
	strcpy(in.day, "2026-01-01");
	struct casedoc_problems pr;
	int rc = casedoc_check(&in, &pr);
	char text[1024];
	casedoc_problems_text(&pr, text, sizeof(text));
	cr_assert_eq(rc, -1, "proceedings with an unlisted member \"authority.name\" accepted "
	    "(problems: '%s')", text);
	/* Refused for that member alone: the rest of the document is good. */
	cr_assert_eq(pr.n, 1, "%s", text);
	cr_assert(strstr(text, "authority.name") != NULL, "%s", text);
}
