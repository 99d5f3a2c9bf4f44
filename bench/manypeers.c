/*
 * manypeers: N lightweight authorities in one process for the benchmark's "many peers"
 * figure. Each gets its own P-256 key and a certificate signed by the network CA that
 * pki/rogatory-pki made (same profile as `rogatory-pki sign`: SAN URI, digitalSignature,
 * serverAuth + clientAuth), then all dial one daemon at once over TLS 1.3, exchange Hello
 * with the project's own frame/wire code, and stay idle (answering Pings) until killed.
 * It never sends a document. Certificates are made in memory: 200 runs of the shell
 * tool would take minutes, which the benchmark cannot spend.
 *
 *   manypeers CADIR PREFIX N HOST PORT [HOLD_S]
 *
 * Peers are PREFIX0001 .. PREFIXnnnn. Output, one line each: "ready N" (certificates
 * made), "start_us T" (wall clock just before the first connect), "up N ms" once every
 * Hello arrived (or "partial UP of N ms" at HOLD_S), "failed ID why" per broken link.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "frame.h"
#include "wire.h"

#define URI_PREFIX "urn:rogatory:authority:"

struct fpeer {
	char id[64];
	X509 *cert;
	EVP_PKEY *key;
	struct bufferevent *bev;
	bool up, failed;
	struct fleet *fl;
};

struct fleet {
	struct event_base *base;
	SSL_CTX *ctx;
	struct fpeer *p;
	int n, up, failed;
	double start;
	bool reported;
};

static double
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
die(const char *what)
{
	fprintf(stderr, "manypeers: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void
add_ext(X509 *crt, X509 *ca, int nid, const char *value)
{
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, ca, crt, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL || X509_add_ext(crt, ext, -1) != 1)
		die("certificate extension");
	X509_EXTENSION_free(ext);
}

static void
issue(struct fpeer *p, X509 *ca, EVP_PKEY *ca_key)
{
	p->key = EVP_EC_gen("P-256");
	X509 *c = X509_new();
	if (p->key == NULL || c == NULL)
		die("key generation");
	unsigned char serial[8];
	RAND_bytes(serial, sizeof(serial));
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x10);
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
	BN_free(bn);
	X509_set_version(c, 2);
	X509_NAME *name = X509_NAME_new();
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)p->id, -1, -1, 0);
	X509_set_subject_name(c, name);
	X509_NAME_free(name);
	X509_set_issuer_name(c, X509_get_subject_name(ca));
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400);
	X509_set_pubkey(c, p->key);
	char san[128];
	snprintf(san, sizeof(san), "URI:%s%s", URI_PREFIX, p->id);
	add_ext(c, ca, NID_basic_constraints, "critical,CA:FALSE");
	add_ext(c, ca, NID_key_usage, "critical,digitalSignature");
	add_ext(c, ca, NID_ext_key_usage, "serverAuth,clientAuth");
	add_ext(c, ca, NID_subject_alt_name, san);
	add_ext(c, ca, NID_subject_key_identifier, "hash");
	add_ext(c, ca, NID_authority_key_identifier, "keyid:always");
	if (X509_sign(c, ca_key, EVP_sha256()) <= 0)
		die("signing a certificate");
	p->cert = c;
}

static void
send_env(struct fpeer *p, Rogatory__V1__Envelope *env)
{
	frame_append(bufferevent_get_output(p->bev), &env->base, FRAME_PEER_MAX_FLOOR);
}

static void
send_hello(struct fpeer *p)
{
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	Rogatory__V1__Hello h = ROGATORY__V1__HELLO__INIT;
	h.authority_id.data = (uint8_t *)p->id;
	h.authority_id.len = strlen(p->id);
	h.min_version = PROTOCOL_VERSION_MIN;
	h.max_version = PROTOCOL_VERSION_MAX;
	h.software.data = (uint8_t *)"manypeers";
	h.software.len = 9;
	h.max_message_size = 64u << 20;
	h.max_frame = FRAME_PEER_MAX_DEFAULT;
	h.window = 64;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	h.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_HELLO;
	env.hello = &h;
	send_env(p, &env);
}

static void
check_done(struct fleet *fl)
{
	if (!fl->reported && fl->up + fl->failed == fl->n) {
		fl->reported = true;
		printf("up %d %.1f ms (failed %d)\n", fl->up, mono_ms() - fl->start, fl->failed);
		fflush(stdout);
	}
}

static void
fail(struct fpeer *p, const char *why)
{
	if (p->failed)
		return;
	unsigned long e = ERR_peek_last_error();
	printf("failed %s %s%s%s\n", p->id, why, e ? ": " : "", e ? ERR_reason_error_string(e) : "");
	fflush(stdout);
	p->failed = true;
	if (p->up)
		p->fl->up--;
	p->fl->failed++;
	check_done(p->fl);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct fpeer *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		const uint8_t *body;
		size_t len;
		char err[256];
		enum frame_status st = frame_peek(in, FRAME_PEER_MAX_DEFAULT, &body, &len, err,
		    sizeof(err));
		if (st == FRAME_TOO_LARGE) {
			fail(p, err);
			return;
		}
		if (st != FRAME_READY)
			return;
		Rogatory__V1__Envelope *env = NULL;
		if (wire_envelope_decode(body, len, &env, err, sizeof(err)) == 0) {
			if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_HELLO && !p->up) {
				p->up = true;
				p->fl->up++;
				check_done(p->fl);
			} else if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_PING) {
				Rogatory__V1__Envelope out = ROGATORY__V1__ENVELOPE__INIT;
				Rogatory__V1__Pong pong = ROGATORY__V1__PONG__INIT;
				pong.nonce = env->ping->nonce;
				out.msg_case = ROGATORY__V1__ENVELOPE__MSG_PONG;
				out.pong = &pong;
				send_env(p, &out);
			} else if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_ERROR) {
				char why[300];
				snprintf(why, sizeof(why), "daemon error: %.*s",
				    (int)env->error->text.len, (const char *)env->error->text.data);
				fail(p, why);
			}
			wire_envelope_free(env);
		}
		frame_consume(in, len);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct fpeer *p = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		send_hello(p);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		fail(p, what & BEV_EVENT_EOF ? "closed by the daemon" : "connection error");
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct fleet *fl = arg;
	if (!fl->reported)
		printf("partial %d of %d %.1f ms\n", fl->up, fl->n, mono_ms() - fl->start);
	fflush(stdout);
	event_base_loopbreak(fl->base);
}

static X509 *
read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return x;
}

static EVP_PKEY *
read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return k;
}

int
main(int argc, char **argv)
{
	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: manypeers CADIR PREFIX N HOST PORT [HOLD_S]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	char path[4096];
	snprintf(path, sizeof(path), "%s/ca.crt", argv[1]);
	X509 *ca = read_cert(path);
	snprintf(path, sizeof(path), "%s/ca.key", argv[1]);
	EVP_PKEY *ca_key = read_key(path);
	if (ca == NULL || ca_key == NULL)
		die("cannot read the CA certificate and key");
	struct fleet fl = {.n = atoi(argv[3])};
	if (fl.n <= 0 || fl.n > 10000)
		die("N must be 1..10000");
	fl.p = calloc((size_t)fl.n, sizeof(*fl.p));
	fl.ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(fl.ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(fl.ctx, SSL_OP_NO_TICKET);
	X509_STORE_add_cert(SSL_CTX_get_cert_store(fl.ctx), ca);
	SSL_CTX_set_verify(fl.ctx, SSL_VERIFY_PEER, NULL);
	for (int i = 0; i < fl.n; i++) {
		snprintf(fl.p[i].id, sizeof(fl.p[i].id), "%s%04d", argv[2], i + 1);
		fl.p[i].fl = &fl;
		issue(&fl.p[i], ca, ca_key);
	}
	printf("ready %d\n", fl.n);
	fl.base = event_base_new();
	char addr[300];
	snprintf(addr, sizeof(addr), "%s:%s", argv[4], argv[5]);
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sl) != 0)
		die("HOST PORT");
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	printf("start_us %lld\n", (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	fl.start = mono_ms();
	for (int i = 0; i < fl.n; i++) {
		struct fpeer *p = &fl.p[i];
		SSL *ssl = SSL_new(fl.ctx);
		if (ssl == NULL || SSL_use_certificate(ssl, p->cert) != 1 ||
		    SSL_use_PrivateKey(ssl, p->key) != 1)
			die("SSL_new");
		p->bev = bufferevent_openssl_socket_new(fl.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		    BEV_OPT_CLOSE_ON_FREE);
		bufferevent_setcb(p->bev, on_read, NULL, on_event, p);
		bufferevent_enable(p->bev, EV_READ);
		if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&ss, sl) != 0)
			fail(p, strerror(errno));
	}
	struct timeval hold = {.tv_sec = argc == 7 ? atoi(argv[6]) : 60};
	struct event *stop = evtimer_new(fl.base, on_stop, &fl);
	evtimer_add(stop, &hold);
	struct event *term = evsignal_new(fl.base, SIGTERM, on_stop, &fl);
	event_add(term, NULL);
	event_base_dispatch(fl.base);
	/* Close every link cleanly enough for the daemon to see link-down. */
	for (int i = 0; i < fl.n; i++)
		if (fl.p[i].bev)
			bufferevent_free(fl.p[i].bev);
	event_free(stop);
	event_free(term);
	event_base_free(fl.base);
	return fl.up == fl.n ? 0 : 1;
}
