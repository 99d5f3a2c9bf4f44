/*
 * draft: `rogatoryctl draft KIND [--to ID]` prints a document to fill in, and
 * `rogatoryctl send --to ID --document FILE [--attach FILE]...` sends one. The document is
 * judged here first, with the daemon's own code (casedoc.h) and the recipient's languages
 * from the daemon's directory: every problem is printed with its JSON path and reason,
 * and nothing is submitted (exit 1). The daemon judges it again before it queues it, and
 * the recipient once more when it arrives. The file is read with the operator's rights.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "casedoc.h"
#include "ctl.h"
#include "text.h"

#define DOC_ARGS_MAX (16 + 2 * WIRE_FIELDS_MAX + 4 * 256)

void
ctl_problems_print(const char *where, const struct casedoc_problems *pr)
{
	for (size_t i = 0; i < pr->n; i++)
		fprintf(stderr, "rogatoryctl: %s%s%s%s%s\n", where, where[0] ? ": " : "",
		    pr->p[i].path[0] ? pr->p[i].path : "document", ": ", pr->p[i].reason);
	if (pr->more > 0)
		fprintf(stderr, "rogatoryctl: %s%sand %zu more problems\n", where, where[0] ? ": " : "",
		    pr->more);
}

json_t *
ctl_authority(struct ctl *c, const char *id, int *rc)
{
	Rogatory__Ctl__V1__AuthorityRequest q = ROGATORY__CTL__V1__AUTHORITY_REQUEST__INIT;
	q.authority_id.data = (uint8_t *)id;
	q.authority_id.len = strlen(id);
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_AUTHORITY;
	req.authority = &q;
	Rogatory__Ctl__V1__Reply *r = ctl_roundtrip(c, &req, rc);
	if (r == NULL)
		return NULL;
	json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
	wire_ctl_reply_free(r);
	return j;
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

/* What the recipient asks of this kind, on stderr: stdout stays the document alone.
 * Terminal-safe, like every table (the daemon checked the directory's text already). */
static void
say_requirements(const char *to, const char *kname, const json_t *req)
{
	if (req == NULL || json_is_null(req))
		return;
	json_t *q = json_deep_copy(req);
	if (q == NULL)
		return;
	ctl_json_termsafe(q);
	fprintf(stderr, "rogatoryctl: note: %s asks of %s requests (\"_recipient\"."
	    "requirements):\n", to, kname);
	const char *s;
	if ((s = json_string_value(json_object_get(q, "legal_bases"))) != NULL)
		fprintf(stderr, "  legal bases: %s\n", s);
	if (json_array_size(json_object_get(q, "languages")) > 0) {
		const char *l[64];
		size_t n = strings_of(json_object_get(q, "languages"), l, 64);
		fprintf(stderr, "  languages:");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "%s %s", i > 0 ? "," : "", l[i]);
		fputc('\n', stderr);
	}
	if (json_is_true(json_object_get(q, "certified_copies")))
		fprintf(stderr, "  certified copies of the documents\n");
	if (json_is_true(json_object_get(q, "translation")))
		fprintf(stderr, "  a translation into one of its languages\n");
	if ((s = json_string_value(json_object_get(q, "urgent_contact"))) != NULL)
		fprintf(stderr, "  when urgent: %s\n", s);
	if ((s = json_string_value(json_object_get(q, "url"))) != NULL)
		fprintf(stderr, "  its procedures: %s\n", s);
	json_decref(q);
}

static bool
has_string(const json_t *a, const char *s)
{
	size_t i;
	const json_t *v;
	json_array_foreach(a, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

int
ctl_draft_run(struct ctl *c, int argc, char **argv)
{
	const char *kname = NULL, *to = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (argv[i][0] != '-' && kname == NULL)
			kname = argv[i];
		else
			kname = NULL, i = argc;
	}
	Rogatory__V1__Kind kind;
	if (kname == NULL || wire_kind_parse(kname, &kind) != 0 ||
	    (to != NULL && !text_authority_id_valid((const uint8_t *)to, strlen(to)))) {
		fprintf(stderr, "usage: rogatoryctl draft KIND [--to ID]\n  KIND: mla, extradition, "
		    "provisional-arrest, asset-recovery, service-of-documents or other\n");
		return 2;
	}
	json_t *who = NULL;
	const char *langs[64];
	size_t nlangs = 0;
	int rc = 0;
	if (to != NULL) {
		if ((who = ctl_authority(c, to, &rc)) == NULL)
			return rc;
		nlangs = casedoc_recipient_languages(who, kname, langs, 64);
		json_object_set_new(who, "receives_this_kind", json_boolean(has_string(
		    json_object_get(who, "kinds"), kname)));
		json_object_del(who, "self");
		if (!has_string(json_object_get(who, "kinds"), kname))
			fprintf(stderr, "rogatoryctl: note: %s does not receive %s requests (it "
			    "receives what \"_recipient\".kinds lists)\n", to, kname);
		say_requirements(to, kname, json_object_get(who, "requirements"));
	}
	json_t *doc = casedoc_template(kind, langs, nlangs);
	json_t *out = doc;
	if (who != NULL)
		json_object_set(doc, "_recipient", who);
	if (c->json) {
		out = json_object();
		json_object_set(out, "document", doc);
		json_object_set_new(out, "elements", casedoc_elements(kind));
		json_object_set(out, "recipient", who != NULL ? who : json_null());
		json_object_del(doc, "_hints");
		json_object_del(doc, "_recipient");
	}
	/* The template names no peer text: the recipient's own entry only (ASCII escaped). */
	json_dumpf(out, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	fputc('\n', stdout);
	if (out != doc)
		json_decref(out);
	json_decref(doc);
	json_decref(who);
	return 0;
}

bool
ctl_document_wanted(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--document") == 0)
			return true;
	return false;
}

/* The arguments of one `send`: owned strings, freed at the end. */
struct doc_args {
	char *argv[DOC_ARGS_MAX];
	int argc;
	bool own[DOC_ARGS_MAX];
};

static void
arg(struct doc_args *a, const char *s, bool own)
{
	if (a->argc < DOC_ARGS_MAX) {
		a->own[a->argc] = own;
		a->argv[a->argc++] = (char *)s;
	}
}

static void
args_free(struct doc_args *a)
{
	for (int i = 0; i < a->argc; i++)
		if (a->own[i])
			free(a->argv[i]);
}

/* The document's body parts as `send` arguments. */
static void
doc_to_args(const struct casedoc_out *o, struct doc_args *a)
{
	arg(a, "--kind", false);
	arg(a, o->kind, false);
	arg(a, "--subject", false);
	arg(a, o->subject, false);
	if (o->urgent)
		arg(a, "--urgent", false);
	if (o->respond_by[0] != '\0') {
		arg(a, "--respond-by", false);
		arg(a, o->respond_by, false);
	}
	for (size_t i = 0; i < o->n_fields; i++) {
		char *f = NULL;
		if (asprintf(&f, "%s=%s", o->fields[i].name, o->fields[i].value) < 0)
			continue;
		arg(a, "--field", false);
		arg(a, f, true);
	}
}

int
ctl_document_send(struct ctl *c, int argc, char **argv)
{
	const char *path = NULL, *to = NULL;
	struct doc_args a = {.argc = 0};
	int rc = 2;
	for (int i = 0; i < argc; i++) {
		bool value = i + 1 < argc;
		if (strcmp(argv[i], "--document") == 0 && value)
			path = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && value)
			to = argv[++i];
		else if ((strcmp(argv[i], "--attach") == 0 || strcmp(argv[i], "--media-type") == 0 ||
		             strcmp(argv[i], "--id") == 0) && value) {
			arg(&a, argv[i], false);
			arg(&a, argv[++i], false);
		} else {
			fprintf(stderr, "rogatoryctl: send --document: %s: not an option here (kind, "
			    "subject, urgency and the elements come from the document)\n", argv[i]);
			return 2;
		}
	}
	if (path == NULL || to == NULL) {
		fprintf(stderr, "usage: rogatoryctl send --to ID --document FILE [--attach FILE "
		    "[--media-type TYPE]]... [--id UUID]\n");
		return 2;
	}
	json_error_t je;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL) {
		fprintf(stderr, "rogatoryctl: %s:%d:%d: %s\n", path, je.line, je.column, je.text);
		return 1;
	}
	struct casedoc_out out;
	struct casedoc_problems pr;
	json_t *who = NULL;
	bool submitted = false;
	rc = 1;
	if (casedoc_encode(doc, ROGATORY__V1__STATUS__STATUS_UNSPECIFIED, &out, &pr) != 0) {
		ctl_problems_print(path, &pr);
		goto done;
	}
	if ((who = ctl_authority(c, to, &rc)) == NULL)
		goto done;
	const char *langs[64];
	struct casedoc_in in;
	Rogatory__V1__Kind kind;
	wire_kind_parse(out.kind, &kind);
	casedoc_in_out(&in, &out, kind, ROGATORY__V1__STATUS__STATUS_UNSPECIFIED);
	in.n_languages = casedoc_recipient_languages(who, out.kind, langs, 64);
	in.languages = langs;
	in.authority = to;
	rc = 1;
	if (casedoc_check(&in, &pr) != 0) {
		ctl_problems_print(path, &pr);
		goto done;
	}
	struct doc_args all = {.argc = 0};
	arg(&all, "--to", false);
	arg(&all, to, false);
	doc_to_args(&out, &all);
	for (int i = 0; i < a.argc; i++)
		arg(&all, a.argv[i], false);
	submitted = true;
	rc = ctl_send_one(c, all.argc, all.argv);
	args_free(&all);
done:
	if (!submitted)
		fprintf(stderr, "rogatoryctl: nothing was sent\n");
	casedoc_out_free(&out);
	json_decref(who);
	json_decref(doc);
	args_free(&a);
	return rc;
}
