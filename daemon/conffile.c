/*
 * conffile: feeds rogatory's INI files to inih line by line, numbering and checking each
 * line first, so every diagnostic carries FILE:LINE. It must never let inih see a line
 * whose meaning inih would change silently (cut comments, joined continuations).
 */
#include "conffile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "log.h"
#include "text.h"

struct cf_section {
	char *name;
	int line;
};

struct cf_key {
	size_t section;         /* index into sections */
	char *name;
	int line;
};

struct cf {
	const char *path;
	FILE *fp;
	const struct conffile_ops *ops;
	void *user;
	struct diag *d;
	int line;
	int read_errno;
	char *buf;              /* getline's: lines of any length, to measure them */
	size_t bufcap;
	bool in_section;        /* a header was seen (even a refused one) */
	bool skip;              /* the current section was refused: ignore its keys */
	struct cf_section *sections;
	size_t n_sections;
	struct cf_key *keys;
	size_t n_keys;
};

static char *cf_reader(char *str, int num, void *stream);
static int cf_check_line(struct cf *cf, const char *text, size_t len, size_t max);
static int cf_check_key_line(struct cf *cf, const char *s);
static int cf_section(struct cf *cf, const char *s);
static int cf_handler(void *user, const char *section, const char *name, const char *value);
static int cf_host_valid(const char *h, size_t len);
static void cf_free(struct cf *cf);
static int cf_run(const struct cf *pcf);
static void *cf_grow(void *p, size_t n, size_t size);

char *
conffile_strdup(const char *s)
{
	char *r = strdup(s);
	if (r == NULL)
		fatal("out of memory");
	return r;
}

/* Grows an array by one element (n is the count before). */
static void *
cf_grow(void *p, size_t n, size_t size)
{
	void *r = realloc(p, (n + 1) * size);
	if (r == NULL)
		fatal("out of memory");
	return r;
}

int
conffile_parse(const char *path, const struct conffile_ops *ops, void *user, struct diag *d)
{
	struct cf cf = { .path = path, .ops = ops, .user = user, .d = d };

	cf.fp = fopen(path, "re");
	if (cf.fp == NULL) {
		diag_add(d, path, 0, "cannot read: %s", strerror(errno));
		return -1;
	}
	return cf_run(&cf);
}

int
conffile_parse_mem(const char *path, const uint8_t *buf, size_t len,
    const struct conffile_ops *ops, void *user, struct diag *d)
{
	struct cf cf = { .path = path, .ops = ops, .user = user, .d = d };
	/* fmemopen refuses a size of 0; an empty file has no section, which the caller
	 * reports like any incomplete file. */
	static char empty[1] = "";
	cf.fp = len > 0 ? fmemopen((void *)buf, len, "r") : fmemopen(empty, 1, "r");
	if (cf.fp == NULL) {
		diag_add(d, path, 0, "cannot read: %s", strerror(errno));
		return -1;
	}
	return cf_run(&cf);
}

static int
cf_run(const struct cf *pcf)
{
	struct cf cf = *pcf;
	const char *path = cf.path;
	struct diag *d = cf.d;
	int rc = 0;
	int r = ini_parse_stream(cf_reader, &cf, cf_handler, &cf);
	if (cf.read_errno != 0) {
		diag_add(d, path, 0, "cannot read: %s", strerror(cf.read_errno));
		rc = -1;
	} else if (r > 0) {
		/* Every line is checked before inih sees it, so this is a line inih reads
		 * differently from us; name it rather than trusting either reading. */
		char where[64];
		snprintf(where, sizeof(where), ":%d: ", r);
		if (!diag_contains(d, where))
			diag_add(d, path, r, "malformed line");
	} else if (r < 0) {
		diag_add(d, path, 0, "cannot parse (inih error %d)", r);
		rc = -1;
	}
	cf_free(&cf);
	return rc;
}

static void
cf_free(struct cf *cf)
{
	for (size_t i = 0; i < cf->n_sections; i++)
		free(cf->sections[i].name);
	for (size_t i = 0; i < cf->n_keys; i++)
		free(cf->keys[i].name);
	free(cf->sections);
	free(cf->keys);
	free(cf->buf);
	fclose(cf->fp);
}

/*
 * inih calls this once per line with its fixed buffer (num bytes). We read the whole
 * line ourselves, count it, check it, and hand inih either the line or an empty one
 * (for comments, refused sections and lines already reported), so inih never splits a
 * long line or applies its own rules to a line we refused.
 */
static char *
cf_reader(char *str, int num, void *stream)
{
	struct cf *cf = stream;
	errno = 0;
	ssize_t n = getline(&cf->buf, &cf->bufcap, cf->fp);
	if (n < 0) {
		if (ferror(cf->fp))
			cf->read_errno = errno ? errno : EIO;
		return NULL;
	}
	cf->line++;
	size_t len = (size_t)n;
	if (len > 0 && cf->buf[len - 1] == '\n')
		len--;
	if (len > 0 && cf->buf[len - 1] == '\r')
		len--;
	cf->buf[len] = '\0';
	const char *text = cf->buf;
	if (cf->line == 1 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		text += 3;      /* a UTF-8 byte order mark, as some editors write */
		len -= 3;
	}
	str[0] = '\0';
	if (num > 0 && cf_check_line(cf, text, len, (size_t)num - 1) == 0)
		memcpy(str, text, len + 1);
	return str;
}

/* 0: give the line to inih; -1: give it an empty line (reported or nothing to do). */
static int
cf_check_line(struct cf *cf, const char *text, size_t len, size_t max)
{
	if (len > CONFFILE_LINE_MAX || len > max) {
		diag_add(cf->d, cf->path, cf->line, "line too long (max %d bytes)",
		    CONFFILE_LINE_MAX);
		return -1;
	}
	if (memchr(text, '\0', len) != NULL) {
		diag_add(cf->d, cf->path, cf->line, "line contains a NUL byte");
		return -1;
	}
	if (!text_utf8_valid((const uint8_t *)text, len)) {
		diag_add(cf->d, cf->path, cf->line, "line is not valid UTF-8");
		return -1;
	}
	const char *s = text + strspn(text, " \t");
	if (*s == '\0' || *s == ';' || *s == '#')
		return -1;
	if (s != text) {
		diag_add(cf->d, cf->path, cf->line, "indented line: continuation lines are "
		    "not supported; remove the leading whitespace");
		return -1;
	}
	if (*s == '[')
		return cf_section(cf, s);
	return cf_check_key_line(cf, s);
}

static int
cf_check_key_line(struct cf *cf, const char *s)
{
	if (!cf->in_section) {
		diag_add(cf->d, cf->path, cf->line, "key outside any section; put it under a "
		    "[section] header");
		return -1;
	}
	if (cf->skip)
		return -1;
	const char *eq = strchr(s, '=');
	if (eq == NULL) {
		diag_add(cf->d, cf->path, cf->line, "expected \"key = value\", a [section] "
		    "header or a comment");
		return -1;
	}
	size_t klen = (size_t)(eq - s);
	while (klen > 0 && (s[klen - 1] == ' ' || s[klen - 1] == '\t'))
		klen--;
	if (klen == 0) {
		diag_add(cf->d, cf->path, cf->line, "missing key name before '='");
		return -1;
	}
	/* Letters, digits and _; '.' and '-' inside a name too ([cases] respond_within.KIND
	 * spells a kind as everywhere else: respond_within.service-of-documents). */
	if (strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") < klen ||
	    strchr(".-", s[0]) != NULL || strchr(".-", s[klen - 1]) != NULL) {
		diag_add(cf->d, cf->path, cf->line, "bad key name \"%.*s\"; key names are "
		    "lower case letters, digits and _ (and . or - inside)", (int)klen, s);
		return -1;
	}
	for (const char *p = eq + 1; *p != '\0'; p++) {
		if ((*p == ';' || *p == '#') && (p[-1] == ' ' || p[-1] == '\t')) {
			diag_add(cf->d, cf->path, cf->line, "inline comment after the value of "
			    "%.*s: comments go on a line of their own", (int)klen, s);
			return -1;
		}
	}
	return 0;
}

/* A header line: records and announces the section, or refuses it and its keys. */
static int
cf_section(struct cf *cf, const char *s)
{
	cf->in_section = true;
	cf->skip = true;
	const char *end = strchr(s, ']');
	if (end == NULL) {
		diag_add(cf->d, cf->path, cf->line, "section header without closing ']'");
		return -1;
	}
	if (end[1 + strspn(end + 1, " \t")] != '\0') {
		diag_add(cf->d, cf->path, cf->line, "text after the section header %.*s",
		    (int)(end - s + 1), s);
		return -1;
	}
	const char *name = s + 1 + strspn(s + 1, " \t");
	size_t len = (size_t)(end - name);
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	if (len == 0) {
		diag_add(cf->d, cf->path, cf->line, "empty section name []");
		return -1;
	}
	char *copy = strndup(name, len);
	if (copy == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < cf->n_sections; i++) {
		if (strcmp(cf->sections[i].name, copy) == 0) {
			diag_add(cf->d, cf->path, cf->line, "duplicate section [%s] (first at "
			    "line %d)", copy, cf->sections[i].line);
			free(copy);
			return -1;
		}
	}
	cf->sections = cf_grow(cf->sections, cf->n_sections, sizeof(*cf->sections));
	cf->sections[cf->n_sections++] = (struct cf_section){ copy, cf->line };
	if (cf->ops->section(cf->user, copy, cf->line) == 0)
		cf->skip = false;
	return -1;
}

/* inih's callback for a key line we passed on; the section is ours, not inih's. */
static int
cf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cf *cf = user;
	(void)section;
	if (cf->skip || cf->n_sections == 0)
		return 1;
	size_t cur = cf->n_sections - 1;
	const char *sname = cf->sections[cur].name;
	for (size_t i = 0; i < cf->n_keys; i++) {
		if (cf->keys[i].section == cur && strcmp(cf->keys[i].name, name) == 0) {
			diag_add(cf->d, cf->path, cf->line, "duplicate key [%s] %s (first at "
			    "line %d)", sname, name, cf->keys[i].line);
			return 1;
		}
	}
	cf->keys = cf_grow(cf->keys, cf->n_keys, sizeof(*cf->keys));
	cf->keys[cf->n_keys++] = (struct cf_key){ cur, conffile_strdup(name), cf->line };
	cf->ops->key(cf->user, sname, name, value, cf->line);
	return 1;
}

/* A DNS name or an IPv4 address: letters, digits, '.', '-'; no empty label. */
static int
cf_host_valid(const char *h, size_t len)
{
	if (len == 0 || len > 253)
		return 0;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = h[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-') {
			if (++label > 63 || (label == 1 && c == '-'))
				return 0;
		} else {
			return 0;
		}
	}
	return 1;
}

int
conffile_parse_hostport(const char *s, bool allow_port_zero, char **host, char **port,
    char *err, size_t errlen)
{
	const char *h, *hend, *p;
	*host = *port = NULL;
	if (s[0] == '[') {
		h = s + 1;
		hend = strchr(h, ']');
		if (hend == NULL)
			return err_set(err, errlen, "\"%s\": missing ']' after the IPv6 "
			    "address; expected [address]:port like [::1]:7000", s);
		char v6[INET6_ADDRSTRLEN];
		struct in6_addr a;
		size_t hl = (size_t)(hend - h);
		if (hl == 0 || hl >= sizeof(v6))
			return err_set(err, errlen, "\"%s\" is not an IPv6 address in brackets",
			    s);
		memcpy(v6, h, hl);
		v6[hl] = '\0';
		if (inet_pton(AF_INET6, v6, &a) != 1)
			return err_set(err, errlen, "\"%s\": \"%s\" is not an IPv6 address", s,
			    v6);
		if (hend[1] != ':')
			return err_set(err, errlen, "\"%s\" has no port; expected [address]:port "
			    "like [::1]:7000", s);
		p = hend + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon == NULL)
			return err_set(err, errlen, "\"%s\" has no port; expected host:port "
			    "like 127.0.0.1:7000", s);
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			return err_set(err, errlen, "\"%s\": an IPv6 address goes in brackets, "
			    "like [::1]:7000", s);
		h = s;
		hend = colon;
		p = colon + 1;
		if (hend == h)
			return err_set(err, errlen, "\"%s\" has no host; expected host:port "
			    "like 127.0.0.1:7000", s);
		if (!cf_host_valid(h, (size_t)(hend - h)))
			return err_set(err, errlen, "\"%s\": \"%.*s\" is not a host name or "
			    "address", s, (int)(hend - h), h);
	}
	size_t pl = strlen(p);
	unsigned long v = 0;
	if (pl == 0 || pl > 5 || strspn(p, "0123456789") != pl ||
	    (v = strtoul(p, NULL, 10)) > 65535 || (v == 0 && !allow_port_zero))
		return err_set(err, errlen, "\"%s\": port \"%s\" is not a number from %d to "
		    "65535", s, p, allow_port_zero ? 0 : 1);
	*host = strndup(h, (size_t)(hend - h));
	*port = strdup(p);
	if (*host == NULL || *port == NULL)
		fatal("out of memory");
	return 0;
}

char *
conffile_path(const char *dir, const char *path, char *err, size_t errlen)
{
	char *r = NULL;
	if (path[0] == '\0') {
		err_set(err, errlen, "empty path");
		return NULL;
	}
	if (path[0] == '/')
		return conffile_strdup(path);
	if (asprintf(&r, "%s/%s", dir, path) < 0)
		fatal("out of memory");
	return r;
}
