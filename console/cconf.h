/*
 * cconf: rogatory-console.conf, the console's own small configuration, in the project's
 * INI dialect (daemon/conffile): one [console] section, one key table that serves the
 * parser, the defaults and the example file. Every problem is reported as FILE:LINE:
 * message, all at once. Never opens the control socket or the certificate's key for
 * anything but a check that it can be read.
 */
#ifndef ROGATORY_CCONF_H
#define ROGATORY_CCONF_H

#include <stdbool.h>
#include <stdio.h>

#include "diag.h"

struct cconf {
	char *listen;           /* host:port as written */
	char *host;             /* without brackets */
	char *port;
	char *socket;           /* the daemon's control socket */
	char *certificate;      /* NULL: plain HTTP (loopback only) */
	char *key;
	char language[3];       /* default language of the pages */
};

/* Reads path into c (defaults first). 0, or -1 with every problem in d as
 * "path:LINE: message" (c is then freed). */
int cconf_load(const char *path, struct cconf *c, struct diag *d);
void cconf_free(struct cconf *c);
/* The defaults of every key, written as the example file's [console] section. */
void cconf_write_example(FILE *f);
/* host is a loopback address (127.0.0.0/8, ::1, localhost). */
bool cconf_loopback(const char *host);

#endif
