/*
 * ctls: the console's HTTPS (contract in ctls.h). SSL_new fails only out of memory; such a
 * connection then gets a bufferevent that is never given its socket (a pair's end), so it
 * reads nothing and evhttp closes it at its time-out: never plain HTTP on the HTTPS port.
 */
#include "ctls.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

struct ctls {
	SSL_CTX *ctx;
};

static void
ssl_error(char *err, size_t errlen, const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char buf[256];
	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s %s: %s", what, path, e != 0 ? buf : "failed");
	ERR_clear_error();
}

struct ctls *
ctls_new(const char *cert, const char *key, char *err, size_t errlen)
{
	struct ctls *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(t);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_cipher_list(t->ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
	if (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1) {
		ssl_error(err, errlen, "certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1) {
		ssl_error(err, errlen, "key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(t->ctx) != 1) {
		snprintf(err, errlen, "key %s does not match certificate %s", key, cert);
		goto fail;
	}
	return t;
fail:
	ctls_free(t);
	return NULL;
}

static struct bufferevent *
ctls_bevcb(struct event_base *base, void *arg)
{
	struct ctls *t = arg;
	SSL *ssl = SSL_new(t->ctx);
	if (ssl == NULL) {
		struct bufferevent *pair[2];
		if (bufferevent_pair_new(base, 0, pair) != 0)
			return NULL;
		bufferevent_free(pair[1]);
		return pair[0];
	}
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
}

void
ctls_attach(struct ctls *t, struct evhttp *http)
{
	evhttp_set_bevcb(http, ctls_bevcb, t);
}

void
ctls_free(struct ctls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}
