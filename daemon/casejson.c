/*
 * casejson: the operator's side of a document (contract in casedoc.h): a JSON document
 * made into body parts and canonical fields, fields shown as JSON again, and the
 * template and element list that `rogatoryctl draft` prints. It judges nothing beyond
 * the document's form: casedoc_check decides, on what comes out of here.
 */
#include "casedocint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"

/* A copy of v without what the canonical form leaves out: "", false, null, and lists
 * and objects that end up empty. NULL when nothing is left. */
static json_t *
prune(json_t *v)
{
	if (json_is_string(v))
		return json_string_length(v) > 0 ? json_incref(v) : NULL;
	if (json_is_false(v) || json_is_null(v))
		return NULL;
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item) {
			json_t *p = prune(item);
			if (p != NULL)
				json_array_append_new(a, p);
		}
		if (json_array_size(a) > 0)
			return a;
		json_decref(a);
		return NULL;
	}
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_t *m;
		json_object_foreach(v, k, m) {
			json_t *p = prune(m);
			if (p != NULL)
				json_object_set_new(o, k, p);
		}
		if (json_object_size(o) > 0)
			return o;
		json_decref(o);
		return NULL;
	}
	return json_incref(v);
}

static bool
is_status(Rogatory__V1__Status status)
{
	return status != ROGATORY__V1__STATUS__STATUS_UNSPECIFIED;
}

/* The element a top-level member names in this document, or NULL. */
static const struct cd_elem *
member_elem(unsigned kind, Rogatory__V1__Status status, const char *key)
{
	if (strchr(key, '.') != NULL)
		return NULL;
	const struct cd_elem *e = cd_elem_find(key);
	if (e == NULL)
		return NULL;
	if (!is_status(status))
		return cd_use_find(kind, key) != NULL ? e : NULL;
	const struct case_status *st = case_status_row(status);
	unsigned f = cd_status_flag(key);
	return st != NULL && f != 0 && (st->allows & f) != 0 ? e : NULL;
}

static int
out_field(struct casedoc_out *out, const char *name, char *value, struct casedoc_problems *pr)
{
	if (out->n_fields >= WIRE_FIELDS_MAX) {
		casedoc_problem_add(pr, name, "more than %d elements", WIRE_FIELDS_MAX);
		free(value);
		return -1;
	}
	snprintf(out->fields[out->n_fields].name, sizeof(out->fields[0].name), "%s", name);
	out->fields[out->n_fields++].value = value;
	return 0;
}

/* kind, subject, urgent, respond_by: into their own places. */
static void
encode_body(const struct cd_elem *e, json_t *v, struct casedoc_out *out,
    struct casedoc_problems *pr)
{
	switch (e->place) {
	case CD_SUBJECT:
		if (json_is_string(v))
			out->subject = strdup(json_string_value(v));
		else
			casedoc_problem_add(pr, e->path, "expected text");
		break;
	case CD_URGENT:
		if (json_is_boolean(v))
			out->urgent = json_is_true(v);
		else
			casedoc_problem_add(pr, e->path, "expected true or false");
		break;
	case CD_RESPOND_BY:
		if (!json_is_string(v) || json_string_length(v) > 10)
			casedoc_problem_add(pr, e->path, "not a date YYYY-MM-DD");
		else
			snprintf(out->respond_by, sizeof(out->respond_by), "%s", json_string_value(v));
		break;
	default:
		break;
	}
}

/* The document's kind: its "kind" member, known. */
static int
encode_kind(const json_t *doc, struct casedoc_out *out, struct casedoc_problems *pr)
{
	const json_t *k = json_object_get(doc, "kind");
	Rogatory__V1__Kind kind;
	if (!json_is_string(k)) {
		casedoc_problem_add(pr, "kind", "required (mla, extradition, provisional-arrest, "
		    "asset-recovery, service-of-documents or other)");
		return -1;
	}
	if (wire_kind_parse(json_string_value(k), &kind) != 0) {
		casedoc_problem_add(pr, "kind", "\"%.40s\" is not a kind (mla, extradition, "
		    "provisional-arrest, asset-recovery, service-of-documents or other)",
		    json_string_value(k));
		return -1;
	}
	snprintf(out->kind, sizeof(out->kind), "%s", json_string_value(k));
	return (int)kind;
}

int
casedoc_encode(const json_t *doc, Rogatory__V1__Status status, struct casedoc_out *out,
    struct casedoc_problems *pr)
{
	memset(out, 0, sizeof(*out));
	memset(pr, 0, sizeof(*pr));
	if (!json_is_object(doc)) {
		casedoc_problem_add(pr, "", "a document is a JSON object");
		return -1;
	}
	int kind = 0;
	if (!is_status(status) && (kind = encode_kind(doc, out, pr)) < 0)
		return -1;
	bool other = kind == ROGATORY__V1__KIND__KIND_OTHER && !is_status(status);
	const char *key;
	json_t *v;
	/* Members of its own: unknown ones, and the body's places. */
	json_object_foreach((json_t *)doc, key, v) {
		const struct cd_elem *e = key[0] == '_' ? NULL : member_elem((unsigned)kind, status,
		    key);
		json_t *p = e == NULL ? prune(v) : NULL;
		json_decref(p);
		/* Comments, a note's own text fields, and what is left empty are no problem. */
		if (key[0] == '_' || (e == NULL && (p == NULL || (other && json_is_string(v)))))
			continue;
		if (e == NULL)
			casedoc_problem_add(pr, key, "not an element of %s %s", is_status(status) ?
			    "status" : "kind", is_status(status) ? wire_status_name(status) : out->kind);
		else if (e->place != CD_FIELD && e->place != CD_KIND)
			encode_body(e, v, out, pr);
	}
	/* The fields, in table order, each as canonical JSON. */
	unsigned bit = is_status(status) ? CD_STATUS_KINDS : CD_KIND_BIT(kind);
	for (size_t u = 0; u < cd_n_uses && pr->n == 0; u++) {
		const struct cd_elem *e = cd_elem_find(cd_uses[u].path);
		if ((cd_uses[u].kinds & bit) == 0 || e == NULL || e->place != CD_FIELD ||
		    member_elem((unsigned)kind, status, e->path) == NULL)
			continue;
		json_t *p = prune(json_object_get(doc, e->path));
		if (p == NULL)
			continue;
		char *canon = cd_canonical(p);
		json_decref(p);
		if (canon == NULL || out_field(out, e->path, canon, pr) != 0)
			return -1;
	}
	/* A note of kind "other" may carry fields of its own, as text, after those. */
	json_object_foreach((json_t *)doc, key, v) {
		if (pr->n > 0 || !other || key[0] == '_' || member_elem((unsigned)kind, status, key)
		    != NULL || json_string_length(v) == 0)
			continue;
		char *text = strdup(json_string_value(v));
		if (text == NULL || out_field(out, key, text, pr) != 0)
			return -1;
	}
	return pr->n > 0 ? -1 : 0;
}

void
casedoc_out_free(struct casedoc_out *out)
{
	free(out->subject);
	for (size_t i = 0; i < out->n_fields; i++)
		free(out->fields[i].value);
	memset(out, 0, sizeof(*out));
}

void
casedoc_in_out(struct casedoc_in *in, const struct casedoc_out *out, Rogatory__V1__Kind kind,
    Rogatory__V1__Status status)
{
	Rogatory__Ctl__V1__SendRequest q = ROGATORY__CTL__V1__SEND_REQUEST__INIT;
	casedoc_in_send(in, &q, kind, status);
	in->urgent = out->urgent;
	in->subject = (const uint8_t *)out->subject;
	in->subject_len = out->subject != NULL ? strlen(out->subject) : 0;
	in->respond_by = (const uint8_t *)out->respond_by;
	in->respond_by_len = strlen(out->respond_by);
	for (size_t i = 0; i < out->n_fields; i++)
		in->fields[i] = (struct casedoc_field){(const uint8_t *)out->fields[i].name,
		    strlen(out->fields[i].name), (const uint8_t *)out->fields[i].value,
		    strlen(out->fields[i].value)};
	in->n_fields = out->n_fields;
}

/* v with the members of its objects in table order (the canonical form sorts them by
 * name; people read them in the order of the template). Steals v. */
static json_t *
table_order(const struct cd_elem *e, json_t *v)
{
	if (e == NULL)
		return v;
	if (e->type == CD_LIST && e->codes == NULL && json_is_array(v)) {
		json_t *a = json_array(), *item;
		size_t i;
		json_array_foreach(v, i, item)
			json_array_append_new(a, table_order(&(struct cd_elem){e->path, CD_OBJECT,
			    CD_FIELD, false, NULL, NULL}, json_incref(item)));
		json_decref(v);
		return a;
	}
	if (e->type != CD_OBJECT || !json_is_object(v))
		return v;
	json_t *o = json_object();
	size_t i = 0;
	for (const struct cd_elem *m; (m = cd_member_next(e, &i)) != NULL;) {
		const char *key = m->path + strlen(e->path) + 1;
		json_t *mv = json_object_get(v, key);
		if (mv != NULL)
			json_object_set_new(o, key, table_order(m, json_incref(mv)));
	}
	const char *key;
	json_t *mv;
	json_object_foreach(v, key, mv)
		if (json_object_get(o, key) == NULL)
			json_object_set(o, key, mv);
	json_decref(v);
	return o;
}

json_t *
casedoc_fields_json(const struct casedoc_field *fields, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++) {
		char name[WIRE_FIELD_NAME_MAX + 1];
		snprintf(name, sizeof(name), "%.*s", (int)fields[i].name_len,
		    (const char *)fields[i].name);
		/* Elements are JSON; a note's own fields (kind "other") are text. */
		const struct cd_elem *e = cd_elem_find(name);
		json_t *v = e != NULL ? table_order(e, json_loadb((const char *)fields[i].value,
		    fields[i].value_len, JSON_DECODE_ANY, NULL)) : NULL;
		if (v == NULL)
			v = json_stringn((const char *)fields[i].value, fields[i].value_len);
		json_object_set_new(o, name, v != NULL ? v : json_null());
	}
	return o;
}

/* ---- templates ---- */

static const char *const type_names[] = {
	[CD_TEXT] = "text (one line)", [CD_PROSE] = "text (lines)", [CD_TRUE] = "true",
	[CD_DATE] = "date", [CD_LANG] = "language", [CD_COUNTRY] = "country",
	[CD_CODE] = "code", [CD_REASON] = "reason code", [CD_OBJECT] = "object",
	[CD_LIST] = "list of objects",
};

static bool
known_kind(Rogatory__V1__Kind kind)
{
	return kind > ROGATORY__V1__KIND__KIND_UNSPECIFIED && kind <= ROGATORY__V1__KIND__KIND_OTHER;
}

/* "persons.nationality" -> "persons[].nationality" where persons is a list. */
static void
display_path(const char *path, char *out, size_t len)
{
	char prefix[128];
	size_t used = 0;
	out[0] = '\0';
	for (const char *p = path; *p != '\0' && used + 3 < len;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		snprintf(prefix, sizeof(prefix), "%.*s", (int)(p - path + n), path);
		const struct cd_elem *e = cd_elem_find(prefix);
		int w = snprintf(out + used, len - used, "%.*s%s%s", (int)n, p,
		    e != NULL && e->type == CD_LIST && e->codes == NULL && dot ? "[]" : "",
		    dot ? "." : "");
		used += w > 0 ? (size_t)w : 0;
		p += n + (dot != NULL);
	}
}

static const char *
article_of(unsigned kind, const struct cd_elem *e)
{
	const struct cd_use *u = cd_use_find(kind, e->path);
	return u != NULL && strcmp(u->article, "-") != 0 ? u->article : NULL;
}

/* "required: its hint (article); one of: a, b" */
static json_t *
hint_of(unsigned kind, const struct cd_elem *e)
{
	char buf[1024];
	size_t used = (size_t)snprintf(buf, sizeof(buf), "%s: %s",
	    cd_required(kind, ROGATORY__V1__STATUS__STATUS_UNSPECIFIED, e) ? "required"
	    : "optional", e->hint);
	const char *art = article_of(kind, e);
	if (art != NULL)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, " (%s)", art);
	for (const struct cd_code *c = e->codes; c != NULL && c->code != NULL &&
	    used < sizeof(buf); c++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s",
		    c == e->codes ? "; one of: " : ", ", c->code);
	return json_string(buf);
}

/* The empty value of e for the template, its members' hints added to hints. */
static json_t *
skeleton(unsigned kind, const struct cd_elem *e, const char *first_language, json_t *hints)
{
	char dp[160];
	display_path(e->path, dp, sizeof(dp));
	json_object_set_new(hints, dp, hint_of(kind, e));
	if (e->type == CD_TRUE)
		return json_false();
	if (e->type == CD_LANG && first_language != NULL)
		return json_string(first_language);
	if (e->type != CD_OBJECT && (e->type != CD_LIST || e->codes != NULL))
		return e->type == CD_LIST ? json_array() : json_string("");
	json_t *o = json_object();
	size_t i = 0;
	for (const struct cd_elem *m; (m = cd_member_next(e, &i)) != NULL;)
		json_object_set_new(o, m->path + strlen(e->path) + 1,
		    skeleton(kind, m, first_language, hints));
	if (e->type == CD_OBJECT)
		return o;
	json_t *a = json_array();
	json_array_append_new(a, o);
	return a;
}

json_t *
casedoc_template(Rogatory__V1__Kind kind, const char *const *languages, size_t n_languages)
{
	if (!known_kind(kind))
		return NULL;
	json_t *doc = json_object(), *hints = json_object();
	const char *lang = n_languages > 0 ? languages[0] : NULL;
	for (size_t u = 0; u < cd_n_uses; u++) {
		const struct cd_elem *e = cd_elem_find(cd_uses[u].path);
		if (e == NULL || strchr(e->path, '.') != NULL ||
		    cd_use_find((unsigned)kind, e->path) != &cd_uses[u])
			continue;
		json_t *v = e->place == CD_KIND ? json_string(wire_kind_name(kind))
		                                : skeleton((unsigned)kind, e, lang, hints);
		json_object_set_new(doc, e->path, v);
	}
	json_object_set_new(doc, "_hints", hints);
	return doc;
}

json_t *
casedoc_elements(Rogatory__V1__Kind kind)
{
	if (!known_kind(kind))
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; i < cd_n_elems; i++) {
		const struct cd_elem *e = &cd_elems[i];
		char top[64], dp[160];
		snprintf(top, sizeof(top), "%.*s", (int)strcspn(e->path, "."), e->path);
		if (cd_use_find((unsigned)kind, top) == NULL)
			continue;
		display_path(e->path, dp, sizeof(dp));
		json_t *o = json_object();
		json_object_set_new(o, "path", json_string(dp));
		json_object_set_new(o, "type", json_string(e->type == CD_LIST && e->codes != NULL
		    ? "list of codes" : type_names[e->type]));
		json_object_set_new(o, "required", json_boolean(cd_required((unsigned)kind,
		    ROGATORY__V1__STATUS__STATUS_UNSPECIFIED, e)));
		json_object_set_new(o, "hint", json_string(e->hint));
		const char *art = article_of((unsigned)kind, e);
		json_object_set_new(o, "article", art ? json_string(art) : json_null());
		if (e->codes != NULL) {
			json_t *codes = json_array();
			for (const struct cd_code *c = e->codes; c->code != NULL; c++) {
				json_t *co = json_object();
				json_object_set_new(co, "code", json_string(c->code));
				json_object_set_new(co, "meaning", json_string(c->meaning));
				json_array_append_new(codes, co);
			}
			json_object_set_new(o, "codes", codes);
		}
		json_array_append_new(a, o);
	}
	return a;
}

/* The strings of a JSON array of strings, in out (at most max). */
static size_t
strings_of(const json_t *a, const char **out, size_t max)
{
	size_t i, n = 0;
	const json_t *v;
	json_array_foreach(a, i, v)
		if (n < max && json_is_string(v))
			out[n++] = json_string_value(v);
	return n;
}

size_t
casedoc_recipient_languages(json_t *who, const char *kname, const char **langs,
    size_t max)
{
	json_t *all = json_object_get(who, "requirements");
	json_t *mine = json_object_get(all, kname);
	json_t *kl = json_object_get(mine, "languages");
	size_t n = json_array_size(kl) > 0 ? strings_of(kl, langs, max) : 0;
	if (n == 0)
		n = strings_of(json_object_get(who, "languages"), langs, max);
	json_object_set(who, "requirements", mine != NULL ? mine : json_null());
	return n;
}
