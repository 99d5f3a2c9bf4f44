/*
 * ctls: HTTPS for the console when [console] certificate and key are set: an SSL_CTX
 * (TLS 1.2 or later, the certificate chain and key from their PEM files) and evhttp's
 * bufferevent callback that wraps each accepted connection in TLS. The only file of the
 * console that includes OpenSSL.
 */
#ifndef ROGATORY_CTLS_H
#define ROGATORY_CTLS_H

#include <stddef.h>

struct evhttp;
struct ctls;

/* Loads cert (PEM chain) and key (PEM). NULL + err naming the file. */
struct ctls *ctls_new(const char *cert, const char *key, char *err, size_t errlen);
/* Makes http accept TLS connections only. */
void ctls_attach(struct ctls *t, struct evhttp *http);
void ctls_free(struct ctls *t);

#endif
