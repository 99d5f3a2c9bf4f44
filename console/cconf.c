/*
 * cconf: rogatory-console.conf (contract in cconf.h). The key table below drives the
 * parser, the defaults and the example; a key's check names the file and the line.
 * Listening beyond loopback without a certificate and key is refused here, before the
 * console serves anything.
 */
#include "cconf.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "conffile.h"
#include "text.h"

#define CCONF_DEFAULT_LISTEN "127.0.0.1:8743"
#define CCONF_DEFAULT_SOCKET "/run/rogatoryd/control.sock"

struct cconf_parse {
	struct cconf *c;
	struct diag *d;
	const char *path;
	char *dir;
	int cert_line, key_line, listen_line;
	bool bad;
};

typedef void (*cconf_set)(struct cconf_parse *p, const char *value, int line);

static void set_listen(struct cconf_parse *p, const char *v, int line);
static void set_socket(struct cconf_parse *p, const char *v, int line);
static void set_certificate(struct cconf_parse *p, const char *v, int line);
static void set_key(struct cconf_parse *p, const char *v, int line);
static void set_language(struct cconf_parse *p, const char *v, int line);

static const struct cconf_key {
	const char *name;
	const char *def;        /* as written in the example ("" = empty) */
	const char *help;
	cconf_set set;
} keys[] = {
	{"listen", CCONF_DEFAULT_LISTEN, "address and port of the web console (host:port, "
	    "[v6]:port); beyond loopback only with certificate and key", set_listen},
	{"socket", CCONF_DEFAULT_SOCKET, "rogatoryd's control socket ([control] socket of "
	    "rogatoryd.conf)", set_socket},
	{"certificate", "", "TLS certificate (PEM, the chain after the leaf); with key: HTTPS, "
	    "TLS 1.2 or later, Secure cookies", set_certificate},
	{"key", "", "the certificate's private key (PEM), readable by the console's user only",
	    set_key},
	{"language", "en", "language of the pages when the browser asks for none the console "
	    "has (ISO 639-1: en, fr)", set_language},
};
#define CCONF_NKEYS (sizeof(keys) / sizeof(keys[0]))

bool
cconf_loopback(const char *host)
{
	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return true;
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return false;
}

static void
set_listen(struct cconf_parse *p, const char *v, int line)
{
	char err[256], *host = NULL, *port = NULL;
	if (conffile_parse_hostport(v, false, &host, &port, err, sizeof(err)) != 0) {
		diag_add(p->d, p->path, line, "[console] listen: %s", err);
		p->bad = true;
		return;
	}
	free(p->c->listen);
	free(p->c->host);
	free(p->c->port);
	p->c->listen = conffile_strdup(v);
	p->c->host = host;
	p->c->port = port;
	p->listen_line = line;
}

static void
set_socket(struct cconf_parse *p, const char *v, int line)
{
	char err[256];
	char *s = conffile_path(p->dir, v, err, sizeof(err));
	if (s == NULL) {
		diag_add(p->d, p->path, line, "[console] socket: %s", err);
		p->bad = true;
		return;
	}
	if (strlen(s) >= 108) {
		diag_add(p->d, p->path, line, "[console] socket: path longer than a unix socket's "
		    "107 bytes");
		p->bad = true;
	}
	free(p->c->socket);
	p->c->socket = s;
}

/* A file the console will read: its path made absolute and checked readable now. */
static char *
readable_file(struct cconf_parse *p, const char *key, const char *v, int line)
{
	if (v[0] == '\0')
		return NULL;
	char err[256];
	char *s = conffile_path(p->dir, v, err, sizeof(err));
	if (s == NULL) {
		diag_add(p->d, p->path, line, "[console] %s: %s", key, err);
		p->bad = true;
		return NULL;
	}
	int fd = open(s, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		diag_add(p->d, p->path, line, "[console] %s: cannot read %s: %s", key, s,
		    strerror(errno));
		p->bad = true;
	} else {
		close(fd);
	}
	return s;
}

static void
set_certificate(struct cconf_parse *p, const char *v, int line)
{
	free(p->c->certificate);
	p->c->certificate = readable_file(p, "certificate", v, line);
	p->cert_line = line;
}

static void
set_key(struct cconf_parse *p, const char *v, int line)
{
	free(p->c->key);
	p->c->key = readable_file(p, "key", v, line);
	p->key_line = line;
}

static void
set_language(struct cconf_parse *p, const char *v, int line)
{
	if (strlen(v) != 2 || !text_language_valid(v)) {
		diag_add(p->d, p->path, line, "[console] language: \"%s\" is not an ISO 639-1 "
		    "code (like en or fr)", v);
		p->bad = true;
		return;
	}
	memcpy(p->c->language, v, 3);
}

static int
cconf_section(void *user, const char *name, int line)
{
	struct cconf_parse *p = user;
	if (strcmp(name, "console") == 0)
		return 0;
	diag_add(p->d, p->path, line, "unknown section [%s]; expected [console]", name);
	p->bad = true;
	return -1;
}

static void
cconf_key(void *user, const char *section, const char *key, const char *value, int line)
{
	struct cconf_parse *p = user;
	(void)section;
	for (size_t i = 0; i < CCONF_NKEYS; i++) {
		if (strcmp(keys[i].name, key) == 0) {
			keys[i].set(p, value, line);
			return;
		}
	}
	diag_add(p->d, p->path, line, "unknown key [console] %s; expected listen, socket, "
	    "certificate, key or language", key);
	p->bad = true;
}

int
cconf_load(const char *path, struct cconf *c, struct diag *d)
{
	memset(c, 0, sizeof(*c));
	char *copy = conffile_strdup(path);
	struct cconf_parse p = {.c = c, .d = d, .path = path};
	p.dir = conffile_strdup(dirname(copy));
	free(copy);
	for (size_t i = 0; i < CCONF_NKEYS; i++)
		if (keys[i].def[0] != '\0')
			keys[i].set(&p, keys[i].def, 0);
	p.listen_line = 0;
	static const struct conffile_ops ops = {cconf_section, cconf_key};
	if (conffile_parse(path, &ops, &p, d) != 0)
		p.bad = true;
	if (!p.bad && (c->certificate == NULL) != (c->key == NULL)) {
		diag_add(d, path, c->certificate != NULL ? p.cert_line : p.key_line, "[console] "
		    "certificate and key: both or neither");
		p.bad = true;
	}
	if (c->certificate == NULL && c->key == NULL && c->host != NULL &&
	    !cconf_loopback(c->host)) {
		diag_add(d, path, p.listen_line, "[console] listen = %s is beyond loopback: "
		    "set certificate and key (HTTPS), or listen on 127.0.0.1", c->listen);
		p.bad = true;
	}
	free(p.dir);
	if (p.bad) {
		cconf_free(c);
		return -1;
	}
	return 0;
}

void
cconf_free(struct cconf *c)
{
	free(c->listen);
	free(c->host);
	free(c->port);
	free(c->socket);
	free(c->certificate);
	free(c->key);
	memset(c, 0, sizeof(*c));
}

void
cconf_write_example(FILE *f)
{
	fprintf(f, "[console]\n");
	for (size_t i = 0; i < CCONF_NKEYS; i++)
		fprintf(f, "; %s\n%s =%s%s\n", keys[i].help, keys[i].name,
		    keys[i].def[0] != '\0' ? " " : "", keys[i].def);
}
