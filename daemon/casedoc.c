/*
 * casedoc: the elements of a request or status document, in two tables (cd_elems: what
 * each element is; cd_uses: which kind uses it, required or not, under which article),
 * and the judging of a document's fields against them (contract in casedoc.h). It must
 * never accept two encodings of one document: a field is refused unless its value is
 * exactly the canonical JSON of what it says, and fields come in table order.
 */
#include "casedocint.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "case.h"
#include "text.h"

#define K(x) CD_KIND_BIT(ROGATORY__V1__KIND__KIND_##x)
#define K_ALL (K(MLA) | K(EXTRADITION) | K(PROVISIONAL_ARREST) | K(ASSET_RECOVERY) | \
	K(SERVICE_OF_DOCUMENTS) | K(OTHER))
#define K_FORMAL (K_ALL & ~K(OTHER))
#define K_MLA_LIKE (K(MLA) | K(SERVICE_OF_DOCUMENTS))
#define K_ARREST (K(EXTRADITION) | K(PROVISIONAL_ARREST))
#define EXTRADITION_TREATY "UN Model Treaty on Extradition art. 5(2)"

static const struct cd_code natures[] = {
	{"criminal", "a criminal investigation, prosecution or trial"},
	{"civil", "civil proceedings relating to corruption (e.g. recovery of damages)"},
	{"administrative", "administrative proceedings relating to corruption"},
	{NULL, NULL},
};

/* UNCAC art. 46(3)(a)-(k). */
static const struct cd_code assistance_types[] = {
	{"taking-evidence", "46(3)(a): taking evidence or statements from persons"},
	{"service-of-documents", "46(3)(b): effecting service of judicial documents"},
	{"search-seizure-freezing", "46(3)(c): executing searches and seizures, and freezing"},
	{"examining-objects-sites", "46(3)(d): examining objects and sites"},
	{"information-expert-evaluations", "46(3)(e): providing information, evidentiary items "
	    "and expert evaluations"},
	{"documents-records", "46(3)(f): originals or certified copies of documents and records, "
	    "including government, bank, financial, corporate or business records"},
	{"tracing-proceeds", "46(3)(g): identifying or tracing proceeds of crime, property, "
	    "instrumentalities or other things for evidentiary purposes"},
	{"voluntary-appearance", "46(3)(h): facilitating the voluntary appearance of persons in "
	    "the requesting State"},
	{"other-assistance", "46(3)(i): any other assistance not contrary to domestic law"},
	{"identify-freeze-trace", "46(3)(j): identifying, freezing and tracing proceeds of crime "
	    "(chapter V)"},
	{"asset-recovery", "46(3)(k): the recovery of assets (chapter V)"},
	{NULL, NULL},
};

static const struct cd_code roles[] = {
	{"suspect", "suspected of the offence"}, {"accused", "charged or on trial"},
	{"witness", "to be heard as a witness"}, {"victim", "a victim"},
	{"account-holder", "holder of accounts or assets concerned"},
	{"company", "a legal person"}, {"other", "another role"}, {NULL, NULL},
};

static const struct cd_code warrant_types[] = {
	{"arrest-warrant", "a warrant of arrest or an order having the same effect"},
	{"judgment", "an enforceable judgment of conviction"}, {NULL, NULL},
};

static const struct cd_code measures[] = {
	{"identify", "identify the assets"}, {"freeze", "freeze them (art. 54(2)(a))"},
	{"seize", "seize them (art. 54(2)(b))"}, {"confiscate", "confiscate them (art. 54(1))"},
	{"return", "return them (art. 57)"}, {NULL, NULL},
};

static const struct cd_code kinds[] = {
	{"mla", "mutual legal assistance (UNCAC art. 46)"},
	{"extradition", "extradition (UNCAC art. 44)"},
	{"provisional-arrest", "provisional arrest pending extradition (UNCAC art. 44(10))"},
	{"asset-recovery", "asset recovery (UNCAC chapter V)"},
	{"service-of-documents", "service of judicial documents (UNCAC art. 46(3)(b))"},
	{"other", "a free-form note between authorities"},
	{NULL, NULL},
};

/* Every element once, by its path in the document. */
const struct cd_elem cd_elems[] = {
	{"kind", CD_CODE, CD_KIND, true, kinds, "the kind of request"},
	{"subject", CD_TEXT, CD_SUBJECT, true, NULL, "a one-line title, shown in both registers"},
	{"urgent", CD_TRUE, CD_URGENT, false, NULL, "true: sent first and marked urgent"},
	{"respond_by", CD_DATE, CD_RESPOND_BY, false, NULL,
	    "the date an answer is needed by (YYYY-MM-DD, not in the past)"},
	{"reference", CD_TEXT, CD_FIELD, false, NULL,
	    "your own reference for it (the other authority quotes it)"},
	{"language", CD_LANG, CD_FIELD, false, NULL,
	    "ISO 639-1 code of the language it is written in; one the recipient accepts"},
	{"legal_basis", CD_TEXT, CD_FIELD, false, NULL,
	    "the treaty or law it rests on, e.g. \"UNCAC art. 46\""},
	{"confidential", CD_TRUE, CD_FIELD, false, NULL,
	    "true: the requested authority is asked to keep it confidential"},
	{"proceedings", CD_OBJECT, CD_FIELD, false, NULL,
	    "the investigation, prosecution or proceedings it relates to"},
	{"proceedings.nature", CD_CODE, CD_FIELD, true, natures,
	    "criminal, civil or administrative (corruption-related civil and administrative "
	    "proceedings are in scope)"},
	{"proceedings.subject", CD_PROSE, CD_FIELD, true, NULL,
	    "the subject matter and nature of the investigation, prosecution or proceedings"},
	{"proceedings.authority", CD_OBJECT, CD_FIELD, true, NULL, "the authority conducting them"},
	{"proceedings.authority.name", CD_TEXT, CD_FIELD, true, NULL, "its name"},
	{"proceedings.authority.function", CD_TEXT, CD_FIELD, true, NULL,
	    "its function, e.g. public prosecutor, investigating judge"},
	{"facts", CD_PROSE, CD_FIELD, false, NULL, "a summary of the relevant facts"},
	{"assistance", CD_LIST, CD_FIELD, false, NULL, "the assistance sought, one item a measure"},
	{"assistance.type", CD_CODE, CD_FIELD, true, assistance_types,
	    "the kind of assistance (UNCAC art. 46(3))"},
	{"assistance.details", CD_PROSE, CD_FIELD, true, NULL, "what exactly is to be done"},
	{"assistance.procedure", CD_PROSE, CD_FIELD, false, NULL,
	    "any particular procedure wished for (UNCAC art. 46(17))"},
	{"persons", CD_LIST, CD_FIELD, false, NULL, "the persons concerned, where known"},
	{"persons.name", CD_TEXT, CD_FIELD, true, NULL, "full name (or a company's name)"},
	{"persons.role", CD_CODE, CD_FIELD, false, roles, "their role in the case"},
	{"persons.identity", CD_TEXT, CD_FIELD, false, NULL,
	    "date and place of birth, identity documents"},
	{"persons.nationality", CD_COUNTRY, CD_FIELD, false, NULL, "ISO 3166 alpha-2 code"},
	{"persons.location", CD_TEXT, CD_FIELD, false, NULL, "where they are believed to be"},
	{"purpose", CD_PROSE, CD_FIELD, false, NULL,
	    "what the evidence, information or action is sought for"},
	{"person", CD_OBJECT, CD_FIELD, false, NULL, "the person sought"},
	{"person.name", CD_TEXT, CD_FIELD, true, NULL, "full name"},
	{"person.identity", CD_TEXT, CD_FIELD, false, NULL,
	    "date and place of birth, identity documents"},
	{"person.nationality", CD_COUNTRY, CD_FIELD, false, NULL, "ISO 3166 alpha-2 code"},
	{"person.description", CD_PROSE, CD_FIELD, false, NULL,
	    "a description (photographs, fingerprints attached)"},
	{"person.location", CD_TEXT, CD_FIELD, false, NULL, "where the person is believed to be"},
	{"warrant", CD_OBJECT, CD_FIELD, false, NULL,
	    "the enforceable judgment or the arrest warrant"},
	{"warrant.type", CD_CODE, CD_FIELD, true, warrant_types, "which of the two"},
	{"warrant.authority", CD_TEXT, CD_FIELD, true, NULL, "the authority that issued it"},
	{"warrant.date", CD_DATE, CD_FIELD, true, NULL, "its date"},
	{"warrant.reference", CD_TEXT, CD_FIELD, true, NULL, "its reference"},
	{"offences", CD_LIST, CD_FIELD, false, NULL, "the offences concerned"},
	{"offences.name", CD_TEXT, CD_FIELD, true, NULL, "e.g. bribery of a foreign public official"},
	{"offences.classification", CD_TEXT, CD_FIELD, false, NULL,
	    "its legal classification, e.g. \"UNCAC art. 16\""},
	{"offences.law", CD_TEXT, CD_FIELD, true, NULL,
	    "the provision of the law, e.g. \"Penal Code art. 433-1\""},
	{"circumstances", CD_OBJECT, CD_FIELD, false, NULL, "the circumstances of the offences"},
	{"circumstances.time", CD_TEXT, CD_FIELD, true, NULL, "when"},
	{"circumstances.place", CD_TEXT, CD_FIELD, true, NULL, "where"},
	{"circumstances.participation", CD_PROSE, CD_FIELD, true, NULL,
	    "the person's degree of participation"},
	{"penalty", CD_PROSE, CD_FIELD, false, NULL,
	    "the penalty prescribed, or imposed and what remains to be served"},
	{"prescription", CD_PROSE, CD_FIELD, false, NULL,
	    "time limits: prescription of the offence and of the penalty"},
	{"urgency", CD_PROSE, CD_FIELD, false, NULL,
	    "why the arrest cannot wait for the extradition request"},
	{"extradition_to_follow", CD_TRUE, CD_FIELD, false, NULL,
	    "true: the undertaking that a request for extradition will follow"},
	{"assets", CD_LIST, CD_FIELD, false, NULL, "the assets concerned"},
	{"assets.kind", CD_TEXT, CD_FIELD, true, NULL, "e.g. bank account, real estate, shares"},
	{"assets.location", CD_TEXT, CD_FIELD, true, NULL, "where they are (bank and account, "
	    "land registry entry)"},
	{"assets.value", CD_TEXT, CD_FIELD, false, NULL, "estimated value with its currency"},
	{"assets.holder", CD_TEXT, CD_FIELD, false, NULL, "who holds them"},
	{"offence_link", CD_PROSE, CD_FIELD, false, NULL,
	    "how the assets are linked to the offence (proceeds, instrumentalities)"},
	{"measures", CD_LIST, CD_FIELD, false, measures, "the measures sought"},
	/* Status documents (case.h: CASE_F_*). */
	{"note", CD_PROSE, CD_FIELD, false, NULL, "free text"},
	{"reasons", CD_LIST, CD_FIELD, false, NULL, "coded reasons (case.h: case_reasons)"},
	{"reasons.code", CD_REASON, CD_FIELD, true, NULL, "a reason code"},
	{"reasons.text", CD_PROSE, CD_FIELD, false, NULL,
	    "the ground in words (required with code \"other\")"},
	{"estimate", CD_DATE, CD_FIELD, false, NULL, "a new estimated date (YYYY-MM-DD)"},
};
const size_t cd_n_elems = sizeof(cd_elems) / sizeof(cd_elems[0]);

/* Which kind uses which element, in the order of a document's fields. */
const struct cd_use cd_uses[] = {
	{K_ALL, "kind", true, "-"},
	{K_ALL, "subject", true, "-"},
	{K_ALL, "urgent", false, "-"},
	{K_ALL, "respond_by", false, "-"},
	{K_FORMAL, "reference", true, "-"},
	{K(OTHER), "reference", false, "-"},
	{K_FORMAL, "language", true, "UNCAC art. 46(14)"},
	{K(OTHER), "language", false, "UNCAC art. 46(14)"},
	{K_FORMAL, "legal_basis", true, "UNCAC art. 46(6), (7)"},
	{K(OTHER), "legal_basis", false, "-"},
	{K_ALL, "confidential", false, "UNCAC art. 46(20)"},
	{K_MLA_LIKE, "proceedings", true, "UNCAC art. 46(15)(b)"},
	{K(ASSET_RECOVERY), "proceedings", false, "UNCAC art. 46(15)(b)"},
	{K(MLA), "facts", true, "UNCAC art. 46(15)(c)"},
	{K_MLA_LIKE, "assistance", true, "UNCAC art. 46(15)(d)"},
	{K_MLA_LIKE, "persons", false, "UNCAC art. 46(15)(e)"},
	{K_MLA_LIKE, "purpose", true, "UNCAC art. 46(15)(f)"},
	{K_ARREST, "person", true, EXTRADITION_TREATY "(a)"},
	{K_ARREST, "warrant", true, EXTRADITION_TREATY "(b)"},
	{K_MLA_LIKE, "offences", true, "UNCAC art. 46(15)(b)"},
	{K_ARREST, "offences", true, EXTRADITION_TREATY "(b)"},
	{K(ASSET_RECOVERY), "offences", false, "UNCAC art. 55(3)(b)"},
	{K(EXTRADITION), "offences.classification", true, EXTRADITION_TREATY "(b)"},
	{K(EXTRADITION), "circumstances", true, EXTRADITION_TREATY "(b)"},
	{K(EXTRADITION), "penalty", true, EXTRADITION_TREATY "(b)"},
	{K(EXTRADITION), "prescription", true, EXTRADITION_TREATY "(b)"},
	{K(PROVISIONAL_ARREST), "urgency", true, "UNCAC art. 44(10)"},
	{K(PROVISIONAL_ARREST), "extradition_to_follow", true, "UN Model Treaty on Extradition "
	    "art. 9(2)"},
	{K(ASSET_RECOVERY), "assets", true, "UNCAC art. 55(3)(a)"},
	{K(ASSET_RECOVERY), "offence_link", true, "UNCAC art. 55(3)(b)"},
	{K(ASSET_RECOVERY), "measures", true, "UNCAC art. 54, 55"},
	{CD_STATUS_KINDS, "reference", false, "-"},
	{CD_STATUS_KINDS, "note", false, "-"},
	{CD_STATUS_KINDS, "reasons", false, "UNCAC art. 46(23)"},
	{CD_STATUS_KINDS, "estimate", false, "UNCAC art. 46(25)"},
};
const size_t cd_n_uses = sizeof(cd_uses) / sizeof(cd_uses[0]);

static void check_value(const struct casedoc_in *in, const struct cd_elem *e, json_t *v,
    char *path, size_t plen, struct casedoc_problems *pr);
static void check_members(const struct casedoc_in *in, const struct cd_elem *e, json_t *v,
    char *path, size_t plen, struct casedoc_problems *pr);

const struct cd_elem *
cd_elem_find(const char *path)
{
	for (size_t i = 0; i < cd_n_elems; i++)
		if (strcmp(cd_elems[i].path, path) == 0)
			return &cd_elems[i];
	return NULL;
}

const struct cd_use *
cd_use_find(unsigned kind, const char *path)
{
	unsigned bit = kind == CD_STATUS_KINDS ? CD_STATUS_KINDS : CD_KIND_BIT(kind);
	for (size_t i = 0; i < cd_n_uses; i++)
		if ((cd_uses[i].kinds & bit) != 0 && strcmp(cd_uses[i].path, path) == 0)
			return &cd_uses[i];
	return NULL;
}

unsigned
cd_status_flag(const char *path)
{
	static const struct {
		const char *path;
		unsigned flag;
	} flags[] = {
		{"reference", CASE_F_REFERENCE}, {"note", CASE_F_NOTE}, {"reasons", CASE_F_REASONS},
		{"estimate", CASE_F_ESTIMATE},
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(flags[i].path, path) == 0)
			return flags[i].flag;
	return 0;
}

bool
cd_required(unsigned kind, Rogatory__V1__Status status, const struct cd_elem *e)
{
	if (status != ROGATORY__V1__STATUS__STATUS_UNSPECIFIED) {
		const struct case_status *st = case_status_row(status);
		unsigned f = cd_status_flag(e->path);
		if (f != 0)
			return st != NULL && (st->needs & f) != 0;
		return e->required;
	}
	const struct cd_use *u = cd_use_find(kind, e->path);
	return u != NULL ? u->required : e->required;
}

const struct cd_elem *
cd_member_next(const struct cd_elem *e, size_t *i)
{
	size_t plen = strlen(e->path);
	for (; *i < cd_n_elems; (*i)++) {
		const char *p = cd_elems[*i].path;
		if (strncmp(p, e->path, plen) == 0 && p[plen] == '.' && strchr(p + plen + 1, '.') == NULL)
			return &cd_elems[(*i)++];
	}
	return NULL;
}

char *
cd_canonical(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* ---- problems ---- */

void
casedoc_problem_add(struct casedoc_problems *pr, const char *path, const char *fmt, ...)
{
	if (pr->n >= CASEDOC_PROBLEMS_MAX) {
		pr->more++;
		return;
	}
	struct casedoc_problem *p = &pr->p[pr->n++];
	snprintf(p->path, sizeof(p->path), "%s", path);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
}

void
casedoc_problems_text(const struct casedoc_problems *pr, char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < pr->n && used + 1 < len; i++) {
		int w = snprintf(out + used, len - used, "%s%s%s%s", i > 0 ? "; " : "",
		    pr->p[i].path, pr->p[i].path[0] ? ": " : "", pr->p[i].reason);
		used += w > 0 ? (size_t)w : 0;
	}
	if (pr->more > 0 && used + 1 < len)
		snprintf(out + used, len - used, "; and %zu more", pr->more);
}

void
casedoc_day(int64_t ms, char day[11])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(day, 11, "%Y-%m-%d", &tm);
}

/* ---- inputs ---- */

void
casedoc_in_body(struct casedoc_in *in, const Rogatory__V1__DocumentBody *b)
{
	memset(in, 0, sizeof(*in));
	in->kind = b->kind;
	in->status = b->status;
	in->urgent = b->urgent;
	in->respond_by = b->respond_by.data;
	in->respond_by_len = b->respond_by.len;
	if (b->content != NULL) {
		in->subject = b->content->subject.data;
		in->subject_len = b->content->subject.len;
		for (size_t i = 0; i < b->content->n_fields && i < WIRE_FIELDS_MAX; i++) {
			const Rogatory__V1__Field *f = b->content->fields[i];
			in->fields[i] = (struct casedoc_field){f->name.data, f->name.len, f->value.data,
			    f->value.len};
		}
		in->n_fields = b->content->n_fields;
	}
	casedoc_day(b->created_ms, in->day);
}

void
casedoc_in_send(struct casedoc_in *in, const Rogatory__Ctl__V1__SendRequest *q,
    Rogatory__V1__Kind kind, Rogatory__V1__Status status)
{
	memset(in, 0, sizeof(*in));
	in->kind = kind;
	in->status = status;
	in->urgent = q->urgent;
	in->subject = q->subject.data;
	in->subject_len = q->subject.len;
	in->respond_by = q->respond_by.data;
	in->respond_by_len = q->respond_by.len;
	for (size_t i = 0; i < q->n_fields && i < WIRE_FIELDS_MAX; i++)
		in->fields[i] = (struct casedoc_field){q->fields[i]->name.data, q->fields[i]->name.len,
		    q->fields[i]->value.data, q->fields[i]->value.len};
	in->n_fields = q->n_fields;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	casedoc_day((int64_t)ts.tv_sec * 1000, in->day);
}

int
casedoc_field_text(const uint8_t *value, size_t len, char *out, size_t outlen)
{
	json_t *j = json_loadb((const char *)value, len, JSON_DECODE_ANY, NULL);
	int rc = json_is_string(j) ? 0 : -1;
	snprintf(out, outlen, "%s", rc == 0 ? json_string_value(j) : "");
	json_decref(j);
	return rc;
}

int
casedoc_tally(const uint8_t *value, size_t len, const char *member, char *out, size_t outlen)
{
	json_t *j = value != NULL ? json_loadb((const char *)value, len, 0, NULL) : NULL;
	json_t *arr = json_array();
	size_t i;
	json_t *e;
	int n = 0;
	snprintf(out, outlen, "[]");
	json_array_foreach(j, i, e) {
		json_t *v = json_object_get(e, member);
		if (!json_is_string(v) || json_array_append(arr, v) != 0)
			continue;
		char *text = json_dumps(arr, JSON_COMPACT);
		if (text == NULL || strlen(text) >= outlen) {
			free(text);
			json_array_remove(arr, json_array_size(arr) - 1);
			continue;
		}
		snprintf(out, outlen, "%s", text);
		free(text);
		n++;
	}
	json_decref(arr);
	json_decref(j);
	return n;
}

/* ---- judging values ---- */

/* Appends ".name" or "[i]" to path (its used length plen); the new length. */
static size_t
path_push(char *path, size_t plen, const char *name, long index)
{
	size_t cap = 96;
	int w = name != NULL ? snprintf(path + plen, cap - plen, "%s%s", plen > 0 ? "." : "", name)
	                     : snprintf(path + plen, cap - plen, "[%ld]", index);
	return w > 0 && plen + (size_t)w < cap ? plen + (size_t)w : cap - 1;
}

/* A string's text rule: one line without bidi controls, or lines. */
static void
check_text(const char *path, const uint8_t *s, size_t len, bool lines,
    struct casedoc_problems *pr)
{
	size_t at;
	uint32_t cp;
	if (len == 0) {
		casedoc_problem_add(pr, path, "empty (leave the element out instead)");
		return;
	}
	if (!lines && len > CASEDOC_TEXT_MAX) {
		casedoc_problem_add(pr, path, "%zu bytes, at most %d on one line", len,
		    CASEDOC_TEXT_MAX);
		return;
	}
	if (!text_utf8_valid(s, len)) {
		casedoc_problem_add(pr, path, "not UTF-8 text");
		return;
	}
	if (text_refused_find(s, len, lines ? TEXT_LINES : TEXT_LINE | TEXT_NO_BIDI, &at, &cp))
		casedoc_problem_add(pr, path, "%s U+%04X at byte %zu%s", cp == '\n' || cp == '\t'
		    ? "line break or tab" : text_cp_bidi(cp) ? "bidi control" : "control character",
		    (unsigned)cp, at, lines ? "" : " (one line of text here)");
}

static const char *
type_name(enum cd_type t)
{
	static const char *const names[] = {
		[CD_TEXT] = "text", [CD_PROSE] = "text", [CD_TRUE] = "true", [CD_DATE] = "a date",
		[CD_LANG] = "a language code", [CD_COUNTRY] = "a country code", [CD_CODE] = "a code",
		[CD_REASON] = "a reason code", [CD_OBJECT] = "an object", [CD_LIST] = "a list",
	};
	return names[t];
}

static void
check_code(const char *path, const char *s, const struct cd_code *codes,
    struct casedoc_problems *pr)
{
	char list[512];
	size_t used = 0;
	for (const struct cd_code *c = codes; c->code != NULL; c++) {
		if (strcmp(c->code, s) == 0)
			return;
		int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", c->code);
		used += w > 0 && used + (size_t)w < sizeof(list) ? (size_t)w : 0;
	}
	casedoc_problem_add(pr, path, "\"%.60s\" is not one of: %s", s, list);
}

static void
check_reason(const struct casedoc_in *in, const char *path, const char *s,
    struct casedoc_problems *pr)
{
	const struct case_reason *r = case_reason_find(s);
	if (r != NULL && (r->statuses & (1u << in->status)) != 0)
		return;
	char list[512];
	size_t used = 0, n;
	const struct case_reason *all = case_reasons(&n);
	for (size_t i = 0; i < n; i++) {
		if ((all[i].statuses & (1u << in->status)) == 0)
			continue;
		int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
		    all[i].code);
		used += w > 0 && used + (size_t)w < sizeof(list) ? (size_t)w : 0;
	}
	casedoc_problem_add(pr, path, "\"%.60s\" is not a ground for %s (%s)", s,
	    wire_status_name(in->status), list);
}

/* A date, not before the document's day when the element says so. */
static void
check_date(const struct casedoc_in *in, const char *path, const char *s, bool not_past,
    struct casedoc_problems *pr)
{
	if (!text_date_valid((const uint8_t *)s, strlen(s)))
		casedoc_problem_add(pr, path, "not a date YYYY-MM-DD");
	else if (not_past && in->day[0] != '\0' && strcmp(s, in->day) < 0)
		casedoc_problem_add(pr, path, "%s is in the past (the document is of %s)", s, in->day);
}

static void
check_language(const struct casedoc_in *in, const char *path, const char *s,
    struct casedoc_problems *pr)
{
	if (!text_language_valid(s)) {
		casedoc_problem_add(pr, path, "\"%.20s\" is not an ISO 639-1 language code", s);
		return;
	}
	if (in->n_languages == 0)
		return;
	char list[256];
	size_t used = 0;
	for (size_t i = 0; i < in->n_languages; i++) {
		if (strcmp(in->languages[i], s) == 0)
			return;
		int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
		    in->languages[i]);
		used += w > 0 && used + (size_t)w < sizeof(list) ? (size_t)w : 0;
	}
	casedoc_problem_add(pr, path, "\"%s\" is not a language %s accepts (%s)", s,
	    in->authority != NULL ? in->authority : "the recipient", list);
}

/* A scalar element (text, date, code...): v is a string (or true). */
static void
check_scalar(const struct casedoc_in *in, const struct cd_elem *e, json_t *v,
    const char *path, struct casedoc_problems *pr)
{
	if (e->type == CD_TRUE) {
		if (!json_is_true(v))
			casedoc_problem_add(pr, path, "expected true%s", json_is_false(v)
			    ? " (false is written by leaving the element out)" : "");
		return;
	}
	if (!json_is_string(v)) {
		casedoc_problem_add(pr, path, "expected %s%s", type_name(e->type),
		    json_is_number(v) ? " (write numbers as text, e.g. \"EUR 1,200,000\")" : "");
		return;
	}
	const char *s = json_string_value(v);
	check_text(path, (const uint8_t *)s, json_string_length(v), e->type == CD_PROSE, pr);
	switch (e->type) {
	case CD_DATE:
		check_date(in, path, s, e->place == CD_RESPOND_BY || strcmp(e->path, "estimate") == 0,
		    pr);
		break;
	case CD_LANG:
		check_language(in, path, s, pr);
		break;
	case CD_COUNTRY:
		if (!text_country_valid(s))
			casedoc_problem_add(pr, path, "not an ISO 3166 alpha-2 code");
		break;
	case CD_CODE:
		check_code(path, s, e->codes, pr);
		break;
	case CD_REASON:
		check_reason(in, path, s, pr);
		break;
	default:
		break;
	}
}

static void
check_value(const struct casedoc_in *in, const struct cd_elem *e, json_t *v, char *path,
    size_t plen, struct casedoc_problems *pr)
{
	if (e->type == CD_OBJECT) {
		if (!json_is_object(v))
			casedoc_problem_add(pr, path, "expected an object");
		else
			check_members(in, e, v, path, plen, pr);
		return;
	}
	if (e->type != CD_LIST) {
		check_scalar(in, e, v, path, pr);
		return;
	}
	if (!json_is_array(v) || json_array_size(v) == 0) {
		casedoc_problem_add(pr, path, json_is_array(v) ? "empty (leave the element out "
		    "instead)" : "expected a list");
		return;
	}
	size_t i;
	json_t *item;
	json_array_foreach(v, i, item) {
		size_t l = path_push(path, plen, NULL, (long)i);
		if (e->codes != NULL) {
			struct cd_elem code = {e->path, CD_CODE, CD_FIELD, true, e->codes, NULL};
			check_scalar(in, &code, item, path, pr);
		} else if (!json_is_object(item)) {
			casedoc_problem_add(pr, path, "expected an object");
		} else {
			check_members(in, e, item, path, l, pr);
		}
		path[plen] = '\0';
	}
}

/* An object's members against the rows under e: unknown ones, each value, missing ones. */
static void
check_members(const struct casedoc_in *in, const struct cd_elem *e, json_t *v, char *path,
    size_t plen, struct casedoc_problems *pr)
{
	const char *key;
	json_t *mv;
	json_object_foreach(v, key, mv) {
		char full[128];
		snprintf(full, sizeof(full), "%s.%s", e->path, key);
		/* A dotted name is no member: it would be looked up as a deeper element. */
		const struct cd_elem *m = strchr(key, '.') == NULL ? cd_elem_find(full) : NULL;
		path_push(path, plen, key, 0);
		if (m == NULL)
			casedoc_problem_add(pr, path, "not an element of %s", e->path);
		else
			check_value(in, m, mv, path, strlen(path), pr);
		path[plen] = '\0';
	}
	size_t i = 0;
	for (const struct cd_elem *m; (m = cd_member_next(e, &i)) != NULL;) {
		if (json_object_get(v, m->path + strlen(e->path) + 1) != NULL ||
		    !cd_required(in->kind, in->status, m))
			continue;
		path_push(path, plen, m->path + strlen(e->path) + 1, 0);
		casedoc_problem_add(pr, path, "required");
		path[plen] = '\0';
	}
	if (e->type == CD_LIST && strcmp(e->path, "reasons") == 0) {
		const char *code = json_string_value(json_object_get(v, "code"));
		const struct case_reason *r = code != NULL ? case_reason_find(code) : NULL;
		if (r != NULL && r->text_required && json_object_get(v, "text") == NULL) {
			path_push(path, plen, "text", 0);
			casedoc_problem_add(pr, path, "required with code %s", code);
			path[plen] = '\0';
		}
	}
}

/* ---- judging a document ---- */

static bool
name_is(const struct casedoc_field *f, const char *s)
{
	return f->name_len == strlen(s) && memcmp(f->name, s, f->name_len) == 0;
}

/* The use row's index of a field name for this document (-1: not an element of it). */
static long
use_index(const struct casedoc_in *in, const char *name)
{
	unsigned bit = in->status != ROGATORY__V1__STATUS__STATUS_UNSPECIFIED ? CD_STATUS_KINDS
	                                                                     : CD_KIND_BIT(in->kind);
	for (size_t i = 0; i < cd_n_uses; i++) {
		if ((cd_uses[i].kinds & bit) == 0 || strcmp(cd_uses[i].path, name) != 0)
			continue;
		const struct cd_elem *e = cd_elem_find(name);
		if (e == NULL || e->place != CD_FIELD)
			return -1;
		if (bit == CD_STATUS_KINDS) {
			const struct case_status *st = case_status_row(in->status);
			if (st == NULL || (st->allows & cd_status_flag(name)) == 0)
				return -1;
		}
		return (long)i;
	}
	return -1;
}

/* One field: its element, its JSON, the canonical form, then the value. */
static void
check_field(const struct casedoc_in *in, const struct casedoc_field *f, long *last,
    struct casedoc_problems *pr)
{
	char name[WIRE_FIELD_NAME_MAX + 1], path[96];
	snprintf(name, sizeof(name), "%.*s", (int)f->name_len, (const char *)f->name);
	snprintf(path, sizeof(path), "%s", name);
	long idx = use_index(in, name);
	if (idx < 0) {
		/* A note of kind "other" may carry fields of its own, as text. */
		if (in->kind != ROGATORY__V1__KIND__KIND_OTHER ||
		    in->status != ROGATORY__V1__STATUS__STATUS_UNSPECIFIED)
			casedoc_problem_add(pr, path, "not an element of %s %s", in->status ?
			    "status" : "kind", in->status ? wire_status_name(in->status)
			    : wire_kind_name(in->kind));
		return;
	}
	if (idx == *last) {
		casedoc_problem_add(pr, path, "given twice");
		return;
	}
	if (idx < *last)
		casedoc_problem_add(pr, path, "out of order (elements come in the order "
		    "`rogatoryctl draft` prints them)");
	*last = idx;
	json_error_t je;
	json_t *v = json_loadb((const char *)f->value, f->value_len,
	    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (v == NULL) {
		casedoc_problem_add(pr, path, "not JSON (%s)", je.text);
		return;
	}
	size_t before = pr->n + pr->more;
	check_value(in, cd_elem_find(name), v, path, strlen(path), pr);
	if (pr->n + pr->more == before) {
		char *canon = cd_canonical(v);
		if (canon == NULL || strlen(canon) != f->value_len ||
		    memcmp(canon, f->value, f->value_len) != 0)
			casedoc_problem_add(pr, path, "not in canonical form (docs/PROTOCOL.md section "
			    "14.2)");
		free(canon);
	}
	json_decref(v);
}

/* The body's own elements: subject, respond_by, urgent. */
static void
check_body(const struct casedoc_in *in, struct casedoc_problems *pr)
{
	if (in->subject_len == 0)
		casedoc_problem_add(pr, "subject", "required");
	else
		check_text("subject", in->subject, in->subject_len, false, pr);
	if (in->respond_by_len > 0) {
		char d[16];
		snprintf(d, sizeof(d), "%.*s", (int)(in->respond_by_len < 15 ? in->respond_by_len : 15),
		    (const char *)in->respond_by);
		check_date(in, "respond_by", d, in->status == ROGATORY__V1__STATUS__STATUS_UNSPECIFIED,
		    pr);
	}
}

int
casedoc_check(const struct casedoc_in *in, struct casedoc_problems *out)
{
	memset(out, 0, sizeof(*out));
	bool request = in->status == ROGATORY__V1__STATUS__STATUS_UNSPECIFIED;
	if (request && in->kind != ROGATORY__V1__KIND__KIND_OTHER && in->n_fields == 0) {
		casedoc_problem_add(out, "", "a %s request is a document: `rogatoryctl draft %s` "
		    "prints one to fill in, `rogatoryctl send --to ID --document FILE` sends it",
		    wire_kind_name(in->kind), wire_kind_name(in->kind));
		return -1;
	}
	if (!request && case_status_row(in->status) == NULL) {
		casedoc_problem_add(out, "", "%s is not a status", wire_status_name(in->status));
		return -1;
	}
	check_body(in, out);
	long last = -1;
	for (size_t i = 0; i < in->n_fields; i++)
		check_field(in, &in->fields[i], &last, out);
	/* What is missing, in table order. */
	unsigned bit = request ? CD_KIND_BIT(in->kind) : CD_STATUS_KINDS;
	for (size_t u = 0; u < cd_n_uses; u++) {
		const struct cd_elem *e = cd_elem_find(cd_uses[u].path);
		if ((cd_uses[u].kinds & bit) == 0 || e == NULL || e->place != CD_FIELD ||
		    strchr(e->path, '.') != NULL || !cd_required(in->kind, in->status, e))
			continue;
		bool found = false;
		for (size_t i = 0; i < in->n_fields && !found; i++)
			found = name_is(&in->fields[i], e->path);
		if (found)
			continue;
		if (request)
			casedoc_problem_add(out, e->path, "required for kind %s (%s)",
			    wire_kind_name(in->kind), cd_uses[u].article);
		else
			casedoc_problem_add(out, e->path, "required for %s (%s)",
			    wire_status_name(in->status), case_status_row(in->status)->article);
	}
	return out->n + out->more == 0 ? 0 : -1;
}
