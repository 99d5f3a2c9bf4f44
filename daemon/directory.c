/*
 * directory: reads directory.conf, the list of authorities a daemon may talk to. Every
 * problem is reported with its line and the whole file is refused: a half-read directory
 * must never be used, since it decides who is a peer.
 */
#include "directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "log.h"

/*
 * Kind names as written in directory.conf and their bits. The bit numbers are the values
 * of enum Kind in proto/rogatory.proto (Rogatory__V1__Kind); they are repeated here so
 * the directory does not depend on generated protobuf code.
 */
static const struct {
	const char *name;
	unsigned bit;
} dir_kinds[] = {
	{ "mla", DIRECTORY_KIND_MLA },
	{ "extradition", DIRECTORY_KIND_EXTRADITION },
	{ "provisional-arrest", DIRECTORY_KIND_PROVISIONAL_ARREST },
	{ "asset-recovery", DIRECTORY_KIND_ASSET_RECOVERY },
	{ "service-of-documents", DIRECTORY_KIND_SERVICE_OF_DOCUMENTS },
	{ "other", DIRECTORY_KIND_OTHER },
};

typedef int (*dir_setter)(struct authority *a, const char *value, char *err, size_t errlen);

static int dir_set_name(struct authority *a, const char *value, char *err, size_t errlen);
static int dir_set_country(struct authority *a, const char *value, char *err, size_t errlen);
static int dir_set_address(struct authority *a, const char *value, char *err, size_t errlen);
static int dir_set_kinds(struct authority *a, const char *value, char *err, size_t errlen);
static int dir_set_languages(struct authority *a, const char *value, char *err,
    size_t errlen);

/* Every key of an [authority ID] section; all are required. */
static const struct {
	const char *name;
	dir_setter set;
} dir_keys[] = {
	{ "name", dir_set_name },
	{ "country", dir_set_country },
	{ "address", dir_set_address },
	{ "kinds", dir_set_kinds },
	{ "languages", dir_set_languages },
};
#define DIR_N_KEYS (sizeof(dir_keys) / sizeof(dir_keys[0]))

struct dir_parse {
	const char *path;
	struct directory *dir;
	struct diag *d;
	unsigned *seen;         /* per authority: bit i when dir_keys[i] was given */
	bool in_authority;      /* the current section is an accepted [authority ID] */
	struct dir_requirements *req;   /* the current section is [requirements ID KIND] */
};

typedef int (*dir_item_fn)(void *ctx, const char *item, char *err, size_t errlen);

/* A list of language codes being filled (an authority's, or one kind's). */
struct dir_langs {
	char ***v;
	size_t *n;
};

typedef int (*req_setter)(struct dir_requirements *r, const char *value, char *err,
    size_t errlen);

static int req_set_legal_bases(struct dir_requirements *r, const char *value, char *err,
    size_t errlen);
static int req_set_languages(struct dir_requirements *r, const char *value, char *err,
    size_t errlen);
static int req_set_certified_copies(struct dir_requirements *r, const char *value, char *err,
    size_t errlen);
static int req_set_translation(struct dir_requirements *r, const char *value, char *err,
    size_t errlen);
static int req_set_urgent_contact(struct dir_requirements *r, const char *value, char *err,
    size_t errlen);
static int req_set_url(struct dir_requirements *r, const char *value, char *err,
    size_t errlen);

/* Every key of a [requirements ID KIND] section; all optional, at least one. */
static const struct {
	const char *name;
	req_setter set;
} req_keys[] = {
	{ "legal_bases", req_set_legal_bases },
	{ "languages", req_set_languages },
	{ "certified_copies", req_set_certified_copies },
	{ "translation", req_set_translation },
	{ "urgent_contact", req_set_urgent_contact },
	{ "url", req_set_url },
};
#define REQ_N_KEYS (sizeof(req_keys) / sizeof(req_keys[0]))
#define DIR_URL_MAX 180

static int dir_requirements_section(struct dir_parse *p, const char *name, int line);
static void requirements_free(struct dir_requirements *r);

static int dir_section(void *user, const char *name, int line);
static void dir_key(void *user, const char *section, const char *key, const char *value,
    int line);
static int dir_list(void *ctx, const char *value, dir_item_fn fn, char *err,
    size_t errlen);
static int dir_kind_item(void *ctx, const char *item, char *err, size_t errlen);
static int dir_language_item(void *ctx, const char *item, char *err, size_t errlen);
static void dir_check_complete(struct dir_parse *p);
static void authority_clear(struct authority *a);
static int dir_load(const char *path, const uint8_t *buf, size_t len,
    struct directory **out, struct diag *d);

int
directory_load(const char *path, struct directory **out, struct diag *d)
{
	return dir_load(path, NULL, 0, out, d);
}

int
directory_load_mem(const char *path, const uint8_t *buf, size_t len,
    struct directory **out, struct diag *d)
{
	return dir_load(path, buf, len, out, d);
}

/* buf NULL: read path; else parse buf, path naming it in the diagnostics. */
static int
dir_load(const char *path, const uint8_t *buf, size_t len, struct directory **out,
    struct diag *d)
{
	static const struct conffile_ops ops = { dir_section, dir_key };
	struct directory *dir = calloc(1, sizeof(*dir));
	if (dir == NULL)
		fatal("out of memory");
	dir->path = conffile_strdup(path);
	struct dir_parse p = { .path = path, .dir = dir, .d = d };
	size_t before = d->n;

	*out = NULL;
	int rc = buf != NULL ? conffile_parse_mem(path, buf, len, &ops, &p, d)
	                     : conffile_parse(path, &ops, &p, d);
	if (rc == 0)
		dir_check_complete(&p);
	free(p.seen);
	if (d->n != before) {
		directory_free(dir);
		return -1;
	}
	*out = dir;
	return 0;
}

static void
dir_check_complete(struct dir_parse *p)
{
	if (p->dir->n == 0) {
		diag_add(p->d, p->path, 0, "no authorities; expected [authority ID] sections");
		return;
	}
	for (size_t i = 0; i < p->dir->n; i++) {
		const struct authority *a = &p->dir->authorities[i];
		for (size_t k = 0; k < DIR_N_KEYS; k++)
			if (!(p->seen[i] & (1u << k)))
				diag_add(p->d, p->path, a->line, "missing [authority %s] %s", a->id,
				    dir_keys[k].name);
		for (unsigned k = 1; k < DIRECTORY_KINDS; k++)
			if (a->requirements[k] != NULL && a->requirements[k]->keys == 0)
				diag_add(p->d, p->path, a->requirements[k]->line, "[requirements %s "
				    "%s] says nothing; give at least one of legal_bases, languages, "
				    "certified_copies, translation, urgent_contact, url", a->id,
				    directory_kind_name(1u << k));
	}
}

static int
dir_section(void *user, const char *name, int line)
{
	struct dir_parse *p = user;
	static const char prefix[] = "authority ";
	p->in_authority = false;
	p->req = NULL;
	if (strncmp(name, "requirements ", 13) == 0)
		return dir_requirements_section(p, name, line);
	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0) {
		diag_add(p->d, p->path, line, "unknown section [%s]; expected [authority ID] or "
		    "[requirements ID KIND]", name);
		return -1;
	}
	const char *id = name + sizeof(prefix) - 1;
	if (!text_authority_id_valid((const uint8_t *)id, strlen(id))) {
		diag_add(p->d, p->path, line, "bad authority id \"%s\" in [%s]; expected "
		    "CC-AGENCY like FR-MJ or US-DOJ-OIA", id, name);
		return -1;
	}
	struct directory *dir = p->dir;
	struct authority *as = realloc(dir->authorities, (dir->n + 1) * sizeof(*as));
	unsigned *seen = realloc(p->seen, (dir->n + 1) * sizeof(*seen));
	if (as == NULL || seen == NULL)
		fatal("out of memory");
	dir->authorities = as;
	p->seen = seen;
	memset(&as[dir->n], 0, sizeof(as[dir->n]));
	snprintf(as[dir->n].id, sizeof(as[dir->n].id), "%s", id);
	as[dir->n].line = line;
	seen[dir->n] = 0;
	dir->n++;
	p->in_authority = true;
	return 0;
}

static void
dir_key(void *user, const char *section, const char *key, const char *value, int line)
{
	struct dir_parse *p = user;
	if (p->req != NULL) {
		for (size_t k = 0; k < REQ_N_KEYS; k++) {
			if (strcmp(req_keys[k].name, key) != 0)
				continue;
			char err[512];
			p->req->keys++;
			if (value[0] == '\0')
				diag_add(p->d, p->path, line, "[%s] %s: empty value", section, key);
			else if (req_keys[k].set(p->req, value, err, sizeof(err)) < 0)
				diag_add(p->d, p->path, line, "[%s] %s: %s", section, key, err);
			return;
		}
		diag_add(p->d, p->path, line, "unknown key [%s] %s; expected legal_bases, "
		    "languages, certified_copies, translation, urgent_contact or url", section, key);
		return;
	}
	if (!p->in_authority)
		return;
	size_t cur = p->dir->n - 1;
	for (size_t k = 0; k < DIR_N_KEYS; k++) {
		if (strcmp(dir_keys[k].name, key) != 0)
			continue;
		char err[512];
		p->seen[cur] |= 1u << k;
		if (value[0] == '\0')
			diag_add(p->d, p->path, line, "[%s] %s: empty value", section, key);
		else if (dir_keys[k].set(&p->dir->authorities[cur], value, err, sizeof(err)) < 0)
			diag_add(p->d, p->path, line, "[%s] %s: %s", section, key, err);
		return;
	}
	diag_add(p->d, p->path, line, "unknown key [%s] %s; expected name, country, address, "
	    "kinds or languages", section, key);
}

/* Text shown to operators (`peers`, `directory`, logs): the text rule of a subject
 * (PROTOCOL.md section 3): nothing a terminal acts on, nothing that reorders the display.
 * A copy in *out, or -1. */
static int
dir_text(const char *value, char **out, char *err, size_t errlen)
{
	size_t len = strlen(value), at;
	uint32_t cp;
	if (len > DIRECTORY_NAME_MAX)
		return err_set(err, errlen, "%zu bytes; at most %d", len, DIRECTORY_NAME_MAX);
	if (!text_utf8_valid((const uint8_t *)value, len))
		return err_set(err, errlen, "not valid UTF-8");
	if (text_refused_find((const uint8_t *)value, len, TEXT_LINE | TEXT_NO_BIDI, &at, &cp))
		return err_set(err, errlen, "%s U+%04X at byte %zu",
		    text_cp_bidi(cp) ? "bidi control" : "control character", (unsigned)cp, at);
	*out = conffile_strdup(value);
	return 0;
}

static int
dir_set_name(struct authority *a, const char *value, char *err, size_t errlen)
{
	return dir_text(value, &a->name, err, errlen);
}

static int
dir_set_country(struct authority *a, const char *value, char *err, size_t errlen)
{
	if (!text_country_valid(value))
		return err_set(err, errlen, "\"%s\" is not an ISO 3166-1 alpha-2 country code "
		    "(like FR, BD, UA)", value);
	if (strncmp(value, a->id, 2) != 0)
		return err_set(err, errlen, "\"%s\" does not match the authority id %s (its "
		    "first two letters are the country)", value, a->id);
	memcpy(a->country, value, 3);
	return 0;
}

static int
dir_set_address(struct authority *a, const char *value, char *err, size_t errlen)
{
	if (conffile_parse_hostport(value, false, &a->host, &a->port, err, errlen) < 0)
		return -1;
	a->address = conffile_strdup(value);
	return 0;
}

/* Splits a comma-separated value (blanks around items allowed) and calls fn per item. */
static int
dir_list(void *ctx, const char *value, dir_item_fn fn, char *err, size_t errlen)
{
	const char *s = value;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		const char *b = s + strspn(s, " \t");
		size_t blen = len - (size_t)(b - s);
		while (blen > 0 && (b[blen - 1] == ' ' || b[blen - 1] == '\t'))
			blen--;
		if (blen == 0)
			return err_set(err, errlen, "empty item in the list \"%s\"", value);
		char item[64];
		if (blen >= sizeof(item))
			return err_set(err, errlen, "\"%.*s\" is too long", (int)blen, b);
		memcpy(item, b, blen);
		item[blen] = '\0';
		if (fn(ctx, item, err, errlen) < 0)
			return -1;
		if (comma == NULL)
			return 0;
		s = comma + 1;
	}
}

static int
dir_kind_item(void *ctx, const char *item, char *err, size_t errlen)
{
	struct authority *a = ctx;
	for (size_t i = 0; i < sizeof(dir_kinds) / sizeof(dir_kinds[0]); i++) {
		if (strcmp(dir_kinds[i].name, item) != 0)
			continue;
		if (a->kinds & dir_kinds[i].bit)
			return err_set(err, errlen, "\"%s\" is listed twice", item);
		a->kinds |= dir_kinds[i].bit;
		return 0;
	}
	return err_set(err, errlen, "unknown kind \"%s\"; expected mla, extradition, "
	    "provisional-arrest, asset-recovery, service-of-documents or other", item);
}

static int
dir_set_kinds(struct authority *a, const char *value, char *err, size_t errlen)
{
	a->kinds = 0;
	return dir_list(a, value, dir_kind_item, err, errlen);
}

static int
dir_language_item(void *ctx, const char *item, char *err, size_t errlen)
{
	struct dir_langs *ls = ctx;
	if (!text_language_valid(item))
		return err_set(err, errlen, "\"%s\" is not an ISO 639-1 language code (two "
		    "lower-case letters, like en, fr)", item);
	for (size_t i = 0; i < *ls->n; i++)
		if (strcmp((*ls->v)[i], item) == 0)
			return err_set(err, errlen, "\"%s\" is listed twice", item);
	char **l = realloc(*ls->v, (*ls->n + 2) * sizeof(*l));
	if (l == NULL)
		fatal("out of memory");
	*ls->v = l;
	l[(*ls->n)++] = conffile_strdup(item);
	l[*ls->n] = NULL;
	return 0;
}

static int
dir_set_languages(struct authority *a, const char *value, char *err, size_t errlen)
{
	struct dir_langs ls = { &a->languages, &a->n_languages };
	return dir_list(&ls, value, dir_language_item, err, errlen);
}

/*
 * [requirements ID KIND]: after [authority ID], for a kind it receives, once. The
 * requirements hang off the authority by kind number (dir_kinds' bit number).
 */
static int
dir_requirements_section(struct dir_parse *p, const char *name, int line)
{
	char id[64], kind[32], rest[2];
	int n = sscanf(name + 13, "%63s %31s %1s", id, kind, rest);
	if (n != 2) {
		diag_add(p->d, p->path, line, "bad section [%s]; expected [requirements ID KIND], "
		    "like [requirements FR-MJ mla]", name);
		return -1;
	}
	struct authority *a = NULL;
	for (size_t i = 0; i < p->dir->n; i++)
		if (strcmp(p->dir->authorities[i].id, id) == 0)
			a = &p->dir->authorities[i];
	if (a == NULL) {
		diag_add(p->d, p->path, line, "[%s]: no [authority %s] above it", name, id);
		return -1;
	}
	unsigned bit = 0;
	for (size_t i = 0; i < sizeof(dir_kinds) / sizeof(dir_kinds[0]); i++)
		if (strcmp(dir_kinds[i].name, kind) == 0)
			bit = dir_kinds[i].bit;
	if (bit == 0) {
		diag_add(p->d, p->path, line, "[%s]: unknown kind \"%s\"; expected mla, "
		    "extradition, provisional-arrest, asset-recovery, service-of-documents or "
		    "other", name, kind);
		return -1;
	}
	if ((a->kinds & bit) == 0) {
		diag_add(p->d, p->path, line, "[%s]: %s does not receive %s requests (its kinds "
		    "line, line %d)", name, id, kind, a->line);
		return -1;
	}
	unsigned k = 0;
	while ((1u << k) != bit)
		k++;
	if (a->requirements[k] != NULL) {
		diag_add(p->d, p->path, line, "[%s]: given twice (first at line %d)", name,
		    a->requirements[k]->line);
		return -1;
	}
	struct dir_requirements *r = calloc(1, sizeof(*r));
	if (r == NULL)
		fatal("out of memory");
	r->certified_copies = -1;
	r->translation = -1;
	r->line = line;
	a->requirements[k] = r;
	p->req = r;
	return 0;
}

static int
req_set_legal_bases(struct dir_requirements *r, const char *value, char *err, size_t errlen)
{
	return dir_text(value, &r->legal_bases, err, errlen);
}

static int
req_set_languages(struct dir_requirements *r, const char *value, char *err, size_t errlen)
{
	struct dir_langs ls = { &r->languages, &r->n_languages };
	return dir_list(&ls, value, dir_language_item, err, errlen);
}

static int
yes_no(const char *value, int *out, char *err, size_t errlen)
{
	if (strcmp(value, "yes") == 0)
		*out = 1;
	else if (strcmp(value, "no") == 0)
		*out = 0;
	else
		return err_set(err, errlen, "\"%s\"; expected yes or no", value);
	return 0;
}

static int
req_set_certified_copies(struct dir_requirements *r, const char *value, char *err,
    size_t errlen)
{
	return yes_no(value, &r->certified_copies, err, errlen);
}

static int
req_set_translation(struct dir_requirements *r, const char *value, char *err, size_t errlen)
{
	return yes_no(value, &r->translation, err, errlen);
}

static int
req_set_urgent_contact(struct dir_requirements *r, const char *value, char *err,
    size_t errlen)
{
	return dir_text(value, &r->urgent_contact, err, errlen);
}

/* https://, then printable ASCII without blanks, quotes or angle brackets (a terminal
 * and a web page show it as is). */
static int
req_set_url(struct dir_requirements *r, const char *value, char *err, size_t errlen)
{
	size_t len = strlen(value);
	if (strncmp(value, "https://", 8) != 0 || len == 8)
		return err_set(err, errlen, "\"%.40s\" is no https:// address", value);
	if (len > DIR_URL_MAX)
		return err_set(err, errlen, "%zu bytes; at most %d", len, DIR_URL_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)value[i];
		if (ch <= ' ' || ch >= 0x7f || strchr("\"'<>\\`", ch) != NULL)
			return err_set(err, errlen, "byte %zu (0x%02x) is not allowed in an address",
			    i, ch);
	}
	r->url = conffile_strdup(value);
	return 0;
}

static void
requirements_free(struct dir_requirements *r)
{
	if (r == NULL)
		return;
	free(r->legal_bases);
	for (size_t i = 0; i < r->n_languages; i++)
		free(r->languages[i]);
	free(r->languages);
	free(r->urgent_contact);
	free(r->url);
	free(r);
}

static void
authority_clear(struct authority *a)
{
	free(a->name);
	free(a->address);
	free(a->host);
	free(a->port);
	for (size_t i = 0; i < a->n_languages; i++)
		free(a->languages[i]);
	free(a->languages);
	for (unsigned k = 0; k < DIRECTORY_KINDS; k++)
		requirements_free(a->requirements[k]);
}

void
directory_free(struct directory *dir)
{
	if (dir == NULL)
		return;
	for (size_t i = 0; i < dir->n; i++)
		authority_clear(&dir->authorities[i]);
	free(dir->authorities);
	free(dir->path);
	free(dir);
}

const struct authority *
directory_find(const struct directory *dir, const char *id)
{
	for (size_t i = 0; i < dir->n; i++)
		if (strcmp(dir->authorities[i].id, id) == 0)
			return &dir->authorities[i];
	return NULL;
}

const char *const *
directory_languages(const struct authority *a, unsigned kind, size_t *n)
{
	const struct dir_requirements *r = kind < DIRECTORY_KINDS ? a->requirements[kind] : NULL;
	if (r != NULL && r->n_languages > 0) {
		*n = r->n_languages;
		return (const char *const *)r->languages;
	}
	*n = a->n_languages;
	return (const char *const *)a->languages;
}

const char *
directory_kind_name(unsigned kind_bit)
{
	for (size_t i = 0; i < sizeof(dir_kinds) / sizeof(dir_kinds[0]); i++)
		if (dir_kinds[i].bit == kind_bit)
			return dir_kinds[i].name;
	return NULL;
}
