/*
 * rogatoryctl: the operator's command line for a running rogatoryd, over the control
 * socket. Commands are a table (name, arguments, request builder, printer). It reads
 * files with the operator's own rights and never asks the daemon to open a path.
 * Exit codes: 0 done, 1 the daemon refused or failed, 2 usage, 3 cannot reach it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "config.h"
#include "crl.h"
#include "ctl.h"
#include "frame.h"
#include "termsafe.h"
#include "text.h"
#include "wire.h"

#define DEFAULT_SOCKET "/run/rogatoryd/control.sock"
#define CTL_TIMEOUT_S 30

typedef int (*ctl_build)(struct ctl *c, int argc, char **argv,
    Rogatory__Ctl__V1__Request *req, void *scratch);
typedef void (*ctl_print)(const json_t *result);

static int build_status(struct ctl *c, int argc, char **argv,
    Rogatory__Ctl__V1__Request *req, void *scratch);
static int build_peers(struct ctl *c, int argc, char **argv,
    Rogatory__Ctl__V1__Request *req, void *scratch);
static int build_connect(struct ctl *c, int argc, char **argv,
    Rogatory__Ctl__V1__Request *req, void *scratch);
static void print_status(const json_t *r);
static void print_peers(const json_t *r);
static void print_connect(const json_t *r);

typedef int (*ctl_run)(struct ctl *c, int argc, char **argv);

static int run_send(struct ctl *c, int argc, char **argv);
static int run_log(struct ctl *c, int argc, char **argv);
static int run_verify(struct ctl *c, int argc, char **argv);
static int run_crl(struct ctl *c, int argc, char **argv);
static int run_fetch(struct ctl *c, int argc, char **argv);
static int build_quarantine(struct ctl *c, int argc, char **argv,
    Rogatory__Ctl__V1__Request *req, void *scratch);
static void print_quarantine(const json_t *r);
static void print_crl_install(const json_t *r);
static void print_crl(const json_t *crl);
static int build_queue(struct ctl *c, int argc, char **argv,
    Rogatory__Ctl__V1__Request *req, void *scratch);
static int build_inbox(struct ctl *c, int argc, char **argv,
    Rogatory__Ctl__V1__Request *req, void *scratch);
static int build_show(struct ctl *c, int argc, char **argv,
    Rogatory__Ctl__V1__Request *req, void *scratch);
static int build_retry(struct ctl *c, int argc, char **argv,
    Rogatory__Ctl__V1__Request *req, void *scratch);
static int build_cancel(struct ctl *c, int argc, char **argv,
    Rogatory__Ctl__V1__Request *req, void *scratch);
static void print_messages(const json_t *r);
static void print_message(const json_t *r);

static const struct ctl_command {
	const char *name;
	const char *args;
	const char *help;
	ctl_build build;
	ctl_print print;
	ctl_run run;        /* commands of several requests (send, log) */
} commands[] = {
	{"status", "", "daemon identity, uptime, links, certificate and CRL expiry",
	    build_status, print_status, NULL},
	{"peers", "", "each authority: link state, last contact, last error, certificate expiry",
	    build_peers, print_peers, NULL},
	{"connect", "ID", "dial authority ID now", build_connect, print_connect, NULL},
	{"crl", "install FILE", "offer a CRL (PEM or DER, from rogatory-pki crl); it spreads "
	    "to every authority", NULL, NULL, run_crl},
	{"send", "--to ID --document FILE [--attach FILE [--media-type TYPE]]... [--id UUID] |"
	    " --to ID --kind other --subject TEXT [--urgent] [--respond-by DATE] [--id UUID]"
	    " [--field NAME=VALUE]... [--attach FILE [--media-type TYPE]]... | --batch FILE|-",
	    "submit a request: a document from `draft` (checked first: every problem named with "
	    "its JSON path, nothing queued), or a free-form note; prints the message id last",
	    NULL, NULL, run_send},
	{"draft", "KIND [--to ID]", "print a document of that kind to fill in (mla, extradition, "
	    "provisional-arrest, asset-recovery, service-of-documents, other): every element, "
	    "required or not, with a hint; --to: the recipient's languages and kinds",
	    NULL, NULL, ctl_draft_run},
	{"update", "REQUEST-ID --status STATUS [--reason CODE[=TEXT]]... [--note TEXT]"
	    " [--estimate DATE] [--reference REF] [--attach FILE [--media-type TYPE]]... [--id UUID]",
	    "send a status document in a case (checked against its transition table first)",
	    NULL, NULL, ctl_update_run},
	{"requests", "[--incoming|--outgoing] [--status S] [--peer ID] [--kind K] [-n N]",
	    "the case register: one line per request, its references, status and dates",
	    NULL, NULL, ctl_requests_run},
	{"request", "ID [--from AUTHORITY]", "one whole case: the request's elements, then every "
	    "document in order with its sender, status, reasons, delivery and receipt",
	    NULL, NULL, ctl_request_run},
	{"queue", "[--all]", "outbound messages not yet settled (--all: every one)", build_queue,
	    print_messages, NULL},
	{"show", "ID", "one message: states with times, attempts, last error, receipt", build_show,
	    print_message, NULL},
	{"inbox", "", "received messages", build_inbox, print_messages, NULL},
	{"retry", "ID", "retry a retrying or unconfirmed message now", build_retry, print_message, NULL},
	{"cancel", "ID", "cancel a message that was never transmitted", build_cancel,
	    print_message, NULL},
	{"verify", "ID [--from AUTHORITY]", "re-check offline a message's signatures, "
	    "certificates, attachments and receipt; exit 1 if invalid", NULL, NULL, run_verify},
	{"fetch", "ID [--from AUTHORITY] --out DIR", "write a received message as DIR/ID.json and its "
	    "attachments under DIR/ID/, checking each SHA-256; marks it fetched", NULL, NULL, run_fetch},
	{"export", "ID [--from AUTHORITY] --out DIR", "write a message's evidence into a new DIR: "
	    "signed bytes, signatures, certificates, CA, CRL, attachments, manifest.json and "
	    "VERIFY.md (checking it needs only openssl, protoc and sha256sum); a request's case: "
	    "each status document's bundle under DIR/case/; exit 1 if verify says invalid",
	    NULL, NULL, ctl_case_export_run},
	{"quarantine", "[-n N] [--release ENTRY]", "refused inbound documents kept aside, with "
	    "the reasons; --release: looked at, it stops counting against its sender's quota",
	    build_quarantine, print_quarantine, NULL},
	{"log", "[--follow] [-n N]", "the last N (100) delivery events; --follow keeps printing",
	    NULL, NULL, run_log},
	{"audit", "verify | prove SEQ | prove --id ID [--from AUTHORITY] [--size N] [--out FILE] | "
	    "check FILE --ca CA.crt | status", "the tamper-evident audit log: recompute and "
	    "check it; an inclusion proof of entries; check a proof offline; checkpoints and "
	    "witnesses", NULL, NULL, ctl_audit_run},
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: rogatoryctl [-s SOCKET | -c CONFIG] [--json] COMMAND [ARGS]\n\n"
	           "  -s SOCKET   control socket (default %s)\n"
	           "  -c CONFIG   take the socket from rogatoryd.conf's [control] socket\n"
	           "  --json      print the daemon's answer as JSON\n\ncommands:\n",
	    DEFAULT_SOCKET);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s %s\n      %s\n", commands[i].name, commands[i].args, commands[i].help);
	fprintf(f, "  help [COMMAND]\n      this text, or one command's\n");
}

/* help: the usage on stdout, exit 0; help COMMAND: that command's lines. */
static int
ctl_help(int argc, char **argv)
{
	if (argc == 0) {
		usage(stdout);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: rogatoryctl help [COMMAND]\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, argv[0]) == 0) {
			printf("usage: rogatoryctl %s %s\n    %s\n", commands[i].name, commands[i].args,
			    commands[i].help);
			return 0;
		}
	}
	fprintf(stderr, "rogatoryctl: help %s: no such command\n", argv[0]);
	usage(stderr);
	return 2;
}

int
ctl_connect(struct ctl *c)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(c->socket_path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "rogatoryctl: socket path too long: %s\n", c->socket_path);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->socket_path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "rogatoryctl: cannot connect to %s: %s%s\n", c->socket_path,
		    strerror(errno),
		    errno == ENOENT || errno == ECONNREFUSED ? " (is rogatoryd running?)"
		    : errno == EACCES ? " (are you in the operators' group?)" : "");
		return -1;
	}
	struct timeval tv = {.tv_sec = CTL_TIMEOUT_S};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

int
ctl_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
ctl_send(struct ctl *c, const Rogatory__Ctl__V1__Request *req)
{
	size_t n = protobuf_c_message_get_packed_size(&req->base);
	if (n > FRAME_CONTROL_MAX) {
		fprintf(stderr, "rogatoryctl: request too large (%zu bytes)\n", n);
		return -1;
	}
	uint8_t *buf = malloc(FRAME_HEADER_LEN + n);
	if (buf == NULL)
		return -1;
	frame_header_put(buf, (uint32_t)n);
	protobuf_c_message_pack(&req->base, buf + FRAME_HEADER_LEN);
	int rc = ctl_write_all(c->fd, buf, FRAME_HEADER_LEN + n);
	free(buf);
	if (rc != 0)
		fprintf(stderr, "rogatoryctl: cannot write to %s: %s\n", c->socket_path,
		    strerror(errno));
	return rc;
}

Rogatory__Ctl__V1__Reply *
ctl_recv(struct ctl *c)
{
	uint8_t hdr[FRAME_HEADER_LEN];
	if (read_all(c->fd, hdr, sizeof(hdr)) != 0) {
		fprintf(stderr, "rogatoryctl: no answer from %s: %s\n", c->socket_path,
		    errno ? strerror(errno) : "connection closed");
		return NULL;
	}
	uint32_t n = frame_header_len(hdr);
	if (n > FRAME_CONTROL_MAX) {
		fprintf(stderr, "rogatoryctl: answer of %u bytes exceeds the limit\n", n);
		return NULL;
	}
	uint8_t *body = malloc(n ? n : 1);
	if (body == NULL || read_all(c->fd, body, n) != 0) {
		fprintf(stderr, "rogatoryctl: truncated answer from %s\n", c->socket_path);
		free(body);
		return NULL;
	}
	Rogatory__Ctl__V1__Reply *r = NULL;
	char err[256];
	if (wire_ctl_reply_decode(body, n, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "rogatoryctl: bad answer from the daemon: %s\n", err);
		r = NULL;
	}
	free(body);
	return r;
}

/* A refusal on stderr: "rogatoryctl: WHERE CODE: TEXT". The text can quote a peer or
 * the store: it is printed terminal-safe (termsafe.h), as is everything below. */
static void
ctl_say_refusal(const char *where, const Rogatory__Ctl__V1__Reply *r)
{
	char code[TERMSAFE_MAX(WIRE_CTL_CODE_MAX)], text[TERMSAFE_MAX(WIRE_TEXT_MAX)];
	termsafe(r->error_code.data, r->error_code.len, code, sizeof(code));
	termsafe(r->error_text.data, r->error_text.len, text, sizeof(text));
	fprintf(stderr, "rogatoryctl: %s%s%s%s\n", where, code, code[0] != '\0' ? ": " : "", text);
}

/* Human output: every string value in j (the daemon's, a peer's, the store's) becomes
 * its terminal-safe form, so that no printer can emit a byte a terminal acts on. JSON
 * output needs no such step: it is written with JSON_ENSURE_ASCII (C0, C1, bidi as
 * \uXXXX; DEL is refused by every text rule). */
void
ctl_json_termsafe(json_t *j)
{
	size_t i;
	const char *k;
	json_t *v;
	if (json_is_string(j)) {
		char *s = termsafe_dup(json_string_value(j), json_string_length(j));
		json_string_set(j, s != NULL ? s : "?");
		free(s);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			ctl_json_termsafe(v);
	} else if (json_is_object(j)) {
		json_object_foreach(j, k, v)
			ctl_json_termsafe(v);
	}
}

Rogatory__Ctl__V1__Reply *
ctl_roundtrip(struct ctl *c, Rogatory__Ctl__V1__Request *req, int *rc)
{
	req->version = CONTROL_PROTOCOL_VERSION;
	req->request_id = ++c->next_id;
	*rc = 3;
	if (ctl_send(c, req) != 0)
		return NULL;
	Rogatory__Ctl__V1__Reply *r = ctl_recv(c);
	if (r == NULL)
		return NULL;
	*rc = 1;
	if (r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK)
		ctl_say_refusal("", r);
	else if (r->request_id != req->request_id)
		fprintf(stderr, "rogatoryctl: answer to request %llu, expected %llu\n",
		    (unsigned long long)r->request_id, (unsigned long long)req->request_id);
	else
		return r;
	wire_ctl_reply_free(r);
	return NULL;
}

/* One request, one reply. Returns the exit code. */
static int
ctl_call(struct ctl *c, Rogatory__Ctl__V1__Request *req, ctl_print print)
{
	req->version = CONTROL_PROTOCOL_VERSION;
	req->request_id = ++c->next_id;
	/* A refused caller's write can fail because the daemon already answered and
	 * closed: its answer is still waiting to be read. */
	bool sent = ctl_send(c, req) == 0;
	Rogatory__Ctl__V1__Reply *r = ctl_recv(c);
	if (r == NULL && !sent)
		return 3;
	if (r == NULL)
		return 3;
	int rc = 0;
	if (r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		ctl_say_refusal("", r);
		rc = 1;
	} else if (r->request_id != req->request_id) {
		fprintf(stderr, "rogatoryctl: answer to request %llu, expected %llu\n",
		    (unsigned long long)r->request_id, (unsigned long long)req->request_id);
		rc = 1;
	} else {
		json_error_t je;
		json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, &je);
		if (j == NULL) {
			fprintf(stderr, "rogatoryctl: daemon answer is not JSON: %s\n", je.text);
			rc = 1;
		} else if (c->json) {
			json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
			fputc('\n', stdout);
		} else {
			ctl_json_termsafe(j);
			print(j);
		}
		json_decref(j);
	}
	wire_ctl_reply_free(r);
	return rc;
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "-";
}

static int
build_status(struct ctl *c, int argc, char **argv, Rogatory__Ctl__V1__Request *req,
    void *scratch)
{
	(void)c;
	(void)argv;
	if (argc != 0)
		return -1;
	Rogatory__Ctl__V1__StatusRequest *s = scratch;
	rogatory__ctl__v1__status_request__init(s);
	req->op_case = ROGATORY__CTL__V1__REQUEST__OP_STATUS;
	req->status = s;
	return 0;
}

static void
print_status(const json_t *r)
{
	printf("authority      %s\n", jstr(r, "authority"));
	printf("version        %s\n", jstr(r, "version"));
	printf("uptime         %lld s\n", (long long)json_integer_value(json_object_get(r, "uptime_s")));
	printf("listen         %s (port %lld)\n", jstr(r, "listen"),
	    (long long)json_integer_value(json_object_get(r, "port")));
	printf("links          %lld up, %lld peers in the directory\n",
	    (long long)json_integer_value(json_object_get(r, "links_up")),
	    (long long)json_integer_value(json_object_get(r, "peers_total")));
	printf("certificate    expires %s\n", jstr(r, "certificate_not_after"));
	const json_t *crl = json_object_get(r, "crl");
	if (crl == NULL || json_is_null(crl))
		printf("crl            none: revocation is off\n");
	else
		print_crl(crl);
}

/* "crl            number 3, next update 2026-12-04T10:00:00Z, EXPIRED (...)" */
static void
print_crl(const json_t *crl)
{
	bool expired = json_is_true(json_object_get(crl, "expired"));
	printf("crl            number %lld, next update %s, %lld revoked, from %s%s\n",
	    (long long)json_integer_value(json_object_get(crl, "number")),
	    jstr(crl, "next_update"),
	    (long long)json_integer_value(json_object_get(crl, "revoked")), jstr(crl, "source"),
	    expired ? ", EXPIRED: only CRL-only links until a fresh CRL is installed"
	    : json_is_true(json_object_get(crl, "renewal_due")) ? ", renewal due" : "");
}

static void
print_crl_install(const json_t *r)
{
	printf("adopted\n");
	print_crl(json_object_get(r, "crl"));
}

/* crl install FILE: the file is read here, with the operator's rights; only its DER
 * bytes reach the daemon, which decides whether it becomes the effective CRL. */
static int
run_crl(struct ctl *c, int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[0], "install") != 0) {
		fprintf(stderr, "usage: rogatoryctl crl install FILE\n");
		return 2;
	}
	uint8_t *der = NULL;
	size_t len = 0;
	char err[512];
	if (crl_file_read(argv[1], &der, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "rogatoryctl: %s\n", err);
		return 2;
	}
	Rogatory__Ctl__V1__CrlInstallRequest q = ROGATORY__CTL__V1__CRL_INSTALL_REQUEST__INIT;
	q.der.data = der;
	q.der.len = len;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CRL_INSTALL;
	req.crl_install = &q;
	int rc = ctl_call(c, &req, print_crl_install);
	free(der);
	return rc;
}

static int
build_peers(struct ctl *c, int argc, char **argv, Rogatory__Ctl__V1__Request *req,
    void *scratch)
{
	(void)c;
	(void)argv;
	if (argc != 0)
		return -1;
	Rogatory__Ctl__V1__PeersRequest *p = scratch;
	rogatory__ctl__v1__peers_request__init(p);
	req->op_case = ROGATORY__CTL__V1__REQUEST__OP_PEERS;
	req->peers = p;
	return 0;
}

static void
print_peers(const json_t *r)
{
	printf("%-20s %-11s %-5s %-21s %-21s %s\n", "AUTHORITY", "STATE", "LINKS",
	    "LAST CONTACT", "CERT EXPIRES", "LAST ERROR");
	size_t i;
	const json_t *p;
	json_array_foreach(r, i, p) {
		printf("%-20s %-11s %-5lld %-21s %-21s %s\n", jstr(p, "id"), jstr(p, "state"),
		    (long long)json_integer_value(json_object_get(p, "links_up")),
		    jstr(p, "last_contact"), jstr(p, "certificate_not_after"),
		    jstr(p, "last_error"));
	}
}

static int
build_connect(struct ctl *c, int argc, char **argv, Rogatory__Ctl__V1__Request *req,
    void *scratch)
{
	(void)c;
	if (argc != 1)
		return -1;
	if (!text_authority_id_valid((const uint8_t *)argv[0], strlen(argv[0]))) {
		fprintf(stderr, "rogatoryctl: %s is not an authority id (like FR-MJ)\n", argv[0]);
		return -2;
	}
	Rogatory__Ctl__V1__ConnectRequest *cr = scratch;
	rogatory__ctl__v1__connect_request__init(cr);
	cr->authority_id.data = (uint8_t *)argv[0];
	cr->authority_id.len = strlen(argv[0]);
	req->op_case = ROGATORY__CTL__V1__REQUEST__OP_CONNECT;
	req->connect = cr;
	return 0;
}

static void
print_connect(const json_t *r)
{
	printf("dialing %s; see `rogatoryctl peers`\n", jstr(r, "authority"));
}

static int
build_queue(struct ctl *c, int argc, char **argv, Rogatory__Ctl__V1__Request *req,
    void *scratch)
{
	(void)c;
	Rogatory__Ctl__V1__QueueRequest *q = scratch;
	rogatory__ctl__v1__queue_request__init(q);
	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--all") != 0))
		return -1;
	q->all = argc == 1;
	req->op_case = ROGATORY__CTL__V1__REQUEST__OP_QUEUE;
	req->queue = q;
	return 0;
}

static int
build_inbox(struct ctl *c, int argc, char **argv, Rogatory__Ctl__V1__Request *req,
    void *scratch)
{
	(void)c;
	(void)argv;
	if (argc != 0)
		return -1;
	Rogatory__Ctl__V1__InboxRequest *q = scratch;
	rogatory__ctl__v1__inbox_request__init(q);
	req->op_case = ROGATORY__CTL__V1__REQUEST__OP_INBOX;
	req->inbox = q;
	return 0;
}

/* The one argument of show/retry/cancel: a message id. */
static int
msg_id_arg(int argc, char **argv, ProtobufCBinaryData *out)
{
	if (argc != 1)
		return -1;
	if (!text_uuid_valid((const uint8_t *)argv[0], strlen(argv[0]))) {
		fprintf(stderr, "rogatoryctl: %s is not a message id (a lower-case UUID)\n", argv[0]);
		return -2;
	}
	out->data = (uint8_t *)argv[0];
	out->len = strlen(argv[0]);
	return 0;
}

static int
build_show(struct ctl *c, int argc, char **argv, Rogatory__Ctl__V1__Request *req,
    void *scratch)
{
	(void)c;
	Rogatory__Ctl__V1__ShowRequest *q = scratch;
	rogatory__ctl__v1__show_request__init(q);
	req->op_case = ROGATORY__CTL__V1__REQUEST__OP_SHOW;
	req->show = q;
	return msg_id_arg(argc, argv, &q->message_id);
}

static int
build_retry(struct ctl *c, int argc, char **argv, Rogatory__Ctl__V1__Request *req,
    void *scratch)
{
	(void)c;
	Rogatory__Ctl__V1__RetryRequest *q = scratch;
	rogatory__ctl__v1__retry_request__init(q);
	req->op_case = ROGATORY__CTL__V1__REQUEST__OP_RETRY;
	req->retry = q;
	return msg_id_arg(argc, argv, &q->message_id);
}

static int
build_cancel(struct ctl *c, int argc, char **argv, Rogatory__Ctl__V1__Request *req,
    void *scratch)
{
	(void)c;
	Rogatory__Ctl__V1__CancelRequest *q = scratch;
	rogatory__ctl__v1__cancel_request__init(q);
	req->op_case = ROGATORY__CTL__V1__REQUEST__OP_CANCEL;
	req->cancel = q;
	return msg_id_arg(argc, argv, &q->message_id);
}

static void
print_messages(const json_t *r)
{
	printf("%-36s %-3s %-14s %-20s %-11s %-3s %-27s %s\n", "ID", "DIR", "PEER", "KIND",
	    "STATE", "TRY", "UPDATED", "LAST ERROR");
	size_t i;
	const json_t *m;
	json_array_foreach(r, i, m) {
		printf("%-36s %-3s %-14s %-20s %-11s %-3lld %-27s %s\n", jstr(m, "id"),
		    jstr(m, "direction"), jstr(m, "peer"), jstr(m, "kind"), jstr(m, "state"),
		    (long long)json_integer_value(json_object_get(m, "attempts")), jstr(m, "updated"),
		    jstr(m, "last_error"));
	}
	if (json_array_size(r) == 0)
		printf("(none)\n");
}

static void
print_event(const json_t *e)
{
	long long att = (long long)json_integer_value(json_object_get(e, "attempt"));
	const char *reason = json_string_value(json_object_get(e, "reason"));
	printf("%-6lld %-27s %-16s %-36s %-3s %-10s %-11s",
	    (long long)json_integer_value(json_object_get(e, "seq")), jstr(e, "ts"),
	    jstr(e, "event"), jstr(e, "id"), jstr(e, "direction"), jstr(e, "peer"),
	    jstr(e, "state"));
	if (att > 0)
		printf(" attempt %lld", att);
	if (reason != NULL)
		printf(" (%s)", reason);
	putchar('\n');
}

static void
print_message(const json_t *r)
{
	static const char *const keys[] = {"id", "direction", "peer", "kind", "state", "attempts",
	    "created", "updated", "next_attempt", "expires", "fetched", "last_error",
	    "payload_sha256", "receipt_sha256", "receipt_bytes"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *v = json_object_get(r, keys[i]);
		if (v == NULL)
			continue;
		char *s = json_is_string(v) || json_is_null(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
		printf("%-15s %s\n", keys[i], s ? s : json_is_null(v) ? "-" : json_string_value(v));
		free(s);
	}
	const json_t *ev = json_object_get(r, "events");
	if (json_is_array(ev) && json_array_size(ev) > 0) {
		printf("events:\n");
		size_t i;
		const json_t *e;
		json_array_foreach(ev, i, e)
			print_event(e);
	}
}

/* ---- send ---- */

#define SEND_ATTACH_MAX 256

static void
bin(ProtobufCBinaryData *b, const char *s)
{
	b->data = (uint8_t *)s;
	b->len = s ? strlen(s) : 0;
}

struct send_args {
	Rogatory__Ctl__V1__SendRequest req;
	Rogatory__Ctl__V1__Field fv[64];
	Rogatory__Ctl__V1__Field *fp[64];
	Rogatory__Ctl__V1__AttachmentSpec av[SEND_ATTACH_MAX];
	Rogatory__Ctl__V1__AttachmentSpec *ap[SEND_ATTACH_MAX];
	int fds[SEND_ATTACH_MAX];   /* open with the operator's rights until uploaded */
	const char *paths[SEND_ATTACH_MAX];
	char id[UUID_TEXT_LEN + 1];
	char *owned[140 + 2 * SEND_ATTACH_MAX];   /* strings to free */
	size_t nowned;
};

static char *own(struct send_args *sa, const char *s);

/* A media type from the file name's extension; the sender may say better with
 * --media-type. */
static const char *
guess_media_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".pdf", "application/pdf"}, {".txt", "text/plain"}, {".json", "application/json"},
		{".xml", "application/xml"}, {".png", "image/png"}, {".jpg", "image/jpeg"},
		{".jpeg", "image/jpeg"}, {".tif", "image/tiff"}, {".tiff", "image/tiff"},
		{".zip", "application/zip"}, {".csv", "text/csv"}, {".html", "text/html"},
		{".doc", "application/msword"},
		{".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{".odt", "application/vnd.oasis.opendocument.text"},
		{".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{".mp4", "video/mp4"}, {".mp3", "audio/mpeg"}, {".p7s", "application/pkcs7-signature"},
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Opens path with the operator's rights and announces it (name = its last component). */
static int
send_add_attachment(struct send_args *sa, const char *path, char *err, size_t errlen)
{
	size_t n = sa->req.n_attachments;
	if (n >= SEND_ATTACH_MAX) {
		snprintf(err, errlen, "at most %d attachments", SEND_ATTACH_MAX);
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	const char *base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	Rogatory__Ctl__V1__AttachmentSpec *a = &sa->av[n];
	rogatory__ctl__v1__attachment_spec__init(a);
	bin(&a->name, own(sa, base));
	bin(&a->media_type, guess_media_type(base));
	a->size = (uint64_t)st.st_size;
	sa->fds[n] = fd;
	sa->paths[n] = own(sa, path);
	sa->ap[n] = a;
	sa->req.attachments = sa->ap;
	sa->req.n_attachments = n + 1;
	return 0;
}


static int
send_add_field(struct send_args *sa, const char *name, const char *value)
{
	if (sa->req.n_fields >= 64) {
		fprintf(stderr, "rogatoryctl: at most 64 --field\n");
		return -1;
	}
	Rogatory__Ctl__V1__Field *f = &sa->fv[sa->req.n_fields];
	rogatory__ctl__v1__field__init(f);
	bin(&f->name, name);
	bin(&f->value, value);
	sa->fp[sa->req.n_fields++] = f;
	sa->req.fields = sa->fp;
	return 0;
}

static int
send_finish(struct send_args *sa)
{
	if (sa->req.message_id.len == 0) {
		if (text_uuid_random(sa->id) != 0) {
			fprintf(stderr, "rogatoryctl: no randomness for a message id\n");
			return -1;
		}
		bin(&sa->req.message_id, sa->id);
	}
	if (sa->req.recipient_id.len == 0 || sa->req.kind.len == 0 || sa->req.subject.len == 0) {
		fprintf(stderr, "rogatoryctl: send needs --to, --kind and --subject\n");
		return -1;
	}
	return 0;
}

/* --to ID --kind K --subject S ... into sa. argv strings outlive the request. */
static int
send_parse_args(struct send_args *sa, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--urgent") == 0) {
			sa->req.urgent = true;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "rogatoryctl: %s needs a value\n", a);
			return -1;
		}
		const char *v = argv[++i];
		if (strcmp(a, "--to") == 0)
			bin(&sa->req.recipient_id, v);
		else if (strcmp(a, "--kind") == 0)
			bin(&sa->req.kind, v);
		else if (strcmp(a, "--subject") == 0)
			bin(&sa->req.subject, v);
		else if (strcmp(a, "--respond-by") == 0)
			bin(&sa->req.respond_by, v);
		else if (strcmp(a, "--id") == 0)
			bin(&sa->req.message_id, v);
		else if (strcmp(a, "--reply-to") == 0)
			bin(&sa->req.in_reply_to, v);
		else if (strcmp(a, "--status") == 0)
			bin(&sa->req.status, v);
		else if (strcmp(a, "--attach") == 0) {
			char err[300];
			if (send_add_attachment(sa, v, err, sizeof(err)) != 0) {
				fprintf(stderr, "rogatoryctl: --attach %s\n", err);
				return -1;
			}
		} else if (strcmp(a, "--media-type") == 0) {
			if (sa->req.n_attachments == 0) {
				fprintf(stderr, "rogatoryctl: --media-type follows the --attach it is for\n");
				return -1;
			}
			bin(&sa->av[sa->req.n_attachments - 1].media_type, v);
		}
		else if (strcmp(a, "--field") == 0) {
			const char *eq = strchr(v, '=');
			if (eq == NULL) {
				fprintf(stderr, "rogatoryctl: --field %s: expected NAME=VALUE\n", v);
				return -1;
			}
			char *name = strndup(v, (size_t)(eq - v));
			sa->owned[sa->nowned++] = name;
			if (send_add_field(sa, name, eq + 1) != 0)
				return -1;
		} else {
			fprintf(stderr, "rogatoryctl: send: unknown option %s\n", a);
			return -1;
		}
	}
	return send_finish(sa);
}

static char *
own(struct send_args *sa, const char *s)
{
	char *d = strdup(s);
	if (d == NULL || sa->nowned >= sizeof(sa->owned) / sizeof(sa->owned[0])) {
		free(d);
		return NULL;
	}
	sa->owned[sa->nowned++] = d;
	return d;
}

/* One JSON line of a batch: {"to","kind","subject","urgent","respond_by","id",
 * "reply_to","status","fields":{name:value},"attach":[file,...]}. */
static int
send_parse_json(struct send_args *sa, const char *line, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j = json_loads(line, 0, &je);
	if (!json_is_object(j)) {
		snprintf(err, errlen, "not a JSON object: %s", j ? "" : je.text);
		json_decref(j);
		return -1;
	}
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{"to", offsetof(Rogatory__Ctl__V1__SendRequest, recipient_id)},
		{"kind", offsetof(Rogatory__Ctl__V1__SendRequest, kind)},
		{"subject", offsetof(Rogatory__Ctl__V1__SendRequest, subject)},
		{"respond_by", offsetof(Rogatory__Ctl__V1__SendRequest, respond_by)},
		{"id", offsetof(Rogatory__Ctl__V1__SendRequest, message_id)},
		{"reply_to", offsetof(Rogatory__Ctl__V1__SendRequest, in_reply_to)},
		{"status", offsetof(Rogatory__Ctl__V1__SendRequest, status)},
	};
	const char *k;
	json_t *v;
	int rc = 0;
	json_object_foreach(j, k, v) {
		size_t i = 0;
		while (i < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[i].key, k) != 0)
			i++;
		if (i < sizeof(keys) / sizeof(keys[0]) && json_is_string(v)) {
			bin((ProtobufCBinaryData *)((char *)&sa->req + keys[i].off),
			    own(sa, json_string_value(v)));
		} else if (strcmp(k, "attach") == 0 && json_is_array(v)) {
			size_t ai;
			json_t *av;
			json_array_foreach(v, ai, av) {
				char aerr[300];
				if (!json_is_string(av)) {
					snprintf(err, errlen, "attach[%zu]: expected a file name", ai);
					rc = -1;
				} else if (rc == 0 &&
				    send_add_attachment(sa, json_string_value(av), aerr, sizeof(aerr)) != 0) {
					snprintf(err, errlen, "attach: %.200s", aerr);
					rc = -1;
				}
			}
		} else if (strcmp(k, "urgent") == 0 && json_is_boolean(v)) {
			sa->req.urgent = json_is_true(v);
		} else if (strcmp(k, "fields") == 0 && json_is_object(v)) {
			const char *fk;
			json_t *fv;
			json_object_foreach(v, fk, fv) {
				if (!json_is_string(fv) || send_add_field(sa, own(sa, fk),
				        own(sa, json_string_value(fv))) != 0) {
					snprintf(err, errlen, "fields.%s: expected a string", fk);
					rc = -1;
				}
			}
		} else {
			snprintf(err, errlen, "unknown or mistyped key \"%s\"", k);
			rc = -1;
			break;
		}
	}
	json_decref(j);
	if (rc == 0 && send_finish(sa) != 0) {
		snprintf(err, errlen, "needs \"to\", \"kind\" and \"subject\"");
		rc = -1;
	}
	return rc;
}

static void
send_args_free(struct send_args *sa)
{
	for (size_t i = 0; i < sa->nowned; i++)
		free(sa->owned[i]);
	for (size_t i = 0; i < sa->req.n_attachments; i++)
		close(sa->fds[i]);
	memset(sa, 0, sizeof(*sa));
}

#define UPLOAD_CHUNK (256u << 10)

/* Streams the announced attachments as UploadRequests after their SendRequest; stops
 * early when the daemon has already answered (a refusal). 0; -1 the socket failed (the
 * daemon's answer may still be there); -2 a file could not be read as announced (message
 * printed): the upload cannot complete. */
static int
send_upload(struct ctl *c, struct send_args *sa)
{
	uint8_t *buf = malloc(UPLOAD_CHUNK);
	if (buf == NULL)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < sa->req.n_attachments && rc == 0; i++) {
		uint64_t off = 0, size = sa->av[i].size;
		while (off < size) {
			struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
			if (poll(&pfd, 1, 0) > 0)
				goto out;    /* an answer already: the upload is refused */
			size_t want = size - off < UPLOAD_CHUNK ? (size_t)(size - off) : UPLOAD_CHUNK;
			ssize_t n = pread(sa->fds[i], buf, want, (off_t)off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				fprintf(stderr, "rogatoryctl: %s: %s while reading (it changed size?)\n",
				    sa->paths[i], n < 0 ? strerror(errno) : "end of file");
				rc = -2;
				break;
			}
			Rogatory__Ctl__V1__UploadRequest u = ROGATORY__CTL__V1__UPLOAD_REQUEST__INIT;
			u.message_id = sa->req.message_id;
			u.attachment_index = (uint32_t)i;
			u.offset = off;
			u.data.data = buf;
			u.data.len = (size_t)n;
			Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
			req.op_case = ROGATORY__CTL__V1__REQUEST__OP_UPLOAD;
			req.upload = &u;
			req.version = CONTROL_PROTOCOL_VERSION;
			req.request_id = ++c->next_id;
			if (ctl_send(c, &req) != 0) {
				rc = -1;
				break;
			}
			off += (uint64_t)n;
		}
	}
out:
	free(buf);
	return rc;
}

/* A SendRequest with attachments, then their bytes, then its reply (which may take a
 * while: the daemon stores every byte before it answers). NULL: message printed. */
static Rogatory__Ctl__V1__Reply *
send_attached(struct ctl *c, struct send_args *sa, uint64_t *request_id)
{
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_SEND;
	req.send = &sa->req;
	req.version = CONTROL_PROTOCOL_VERSION;
	req.request_id = *request_id = ++c->next_id;
	if (ctl_send(c, &req) != 0)
		return NULL;
	/* A write can fail because the daemon refused and closed: read its answer. A file
	 * that cannot be read as announced ends the connection: the daemon then drops what
	 * it staged, and nothing is submitted. */
	if (send_upload(c, sa) == -2) {
		close(c->fd);
		c->fd = -1;
		fprintf(stderr, "rogatoryctl: upload abandoned; nothing was submitted\n");
		return NULL;
	}
	for (;;) {
		Rogatory__Ctl__V1__Reply *r = ctl_recv(c);
		if (r == NULL || r->request_id == *request_id)
			return r;
		/* An answer to an upload chunk (an error): say it, keep waiting. */
		ctl_say_refusal("", r);
		wire_ctl_reply_free(r);
	}
}

int
ctl_send_one(struct ctl *c, int argc, char **argv)
{
	struct send_args sa;
	memset(&sa, 0, sizeof(sa));
	rogatory__ctl__v1__send_request__init(&sa.req);
	if (send_parse_args(&sa, argc, argv) != 0) {
		send_args_free(&sa);
		return 2;
	}
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_SEND;
	req.send = &sa.req;
	req.version = CONTROL_PROTOCOL_VERSION;
	int rc = 3;
	uint64_t rid = 0;
	if (sa.req.n_attachments > 0) {
		/* No time-out while the daemon stores a large upload before answering. */
		struct timeval tv = {0};
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	if (sa.req.n_attachments > 0 || (req.request_id = ++c->next_id, ctl_send(c, &req) == 0)) {
		Rogatory__Ctl__V1__Reply *r = sa.req.n_attachments > 0 ? send_attached(c, &sa, &rid)
		                                                       : ctl_recv(c);
		if (r != NULL) {
			if (r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
				ctl_say_refusal("", r);
				rc = 1;
			} else {
				json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
				ctl_json_termsafe(j);
				if (c->json)
					printf("%.*s\n", (int)r->json.len, (const char *)r->json.data);
				else
					printf("%s to %s: %s\n", jstr(j, "id"), jstr(j, "peer"), jstr(j, "state"));
				printf("%s\n", jstr(j, "id"));
				json_decref(j);
				rc = 0;
			}
			wire_ctl_reply_free(r);
		}
	}
	send_args_free(&sa);
	return rc;
}

#define BATCH_WINDOW 256

/* A batch line with attachments, alone on the connection (frees sa). Its reply's id is
 * not mapped to a line: the request ids of the pipeline restart after it. -1: the
 * daemon is unreachable. */
static int
batch_attached(struct ctl *c, struct send_args *sa, const char *path, long lineno,
    long *failed, uint64_t *first_id, size_t *nlines, long **lines)
{
	uint64_t rid;
	struct timeval tv = {0};
	/* sa may be a copy: its request points into itself again. */
	for (size_t i = 0; i < sa->req.n_fields; i++)
		sa->fp[i] = &sa->fv[i];
	sa->req.fields = sa->fp;
	for (size_t i = 0; i < sa->req.n_attachments; i++)
		sa->ap[i] = &sa->av[i];
	sa->req.attachments = sa->ap;
	if (sa->req.message_id.data == (uint8_t *)sa->id || sa->id[0] != '\0')
		bin(&sa->req.message_id, sa->id[0] ? sa->id : (const char *)sa->req.message_id.data);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	Rogatory__Ctl__V1__Reply *r = send_attached(c, sa, &rid);
	send_args_free(sa);
	tv.tv_sec = CTL_TIMEOUT_S;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (r == NULL)
		return -1;
	if (r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		char where[PATH_MAX + 32];
		snprintf(where, sizeof(where), "%s:%ld: ", path, lineno);
		ctl_say_refusal(where, r);
		(*failed)++;
	} else {
		json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
		printf("%s\n", jstr(j, "id"));
		json_decref(j);
	}
	wire_ctl_reply_free(r);
	/* Request ids used by the upload are not lines: restart the mapping. */
	*first_id = c->next_id + 1;
	*nlines = 0;
	free(*lines);
	*lines = NULL;
	return 0;
}

/* Pipelined: up to BATCH_WINDOW requests in flight; one id per line as each is
 * committed; errors name the input line. */
static int
send_batch(struct ctl *c, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "rogatoryctl: cannot read %s: %s\n", path, strerror(errno));
		return 2;
	}
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0, inflight = 0, failed = 0, done = 0;
	uint64_t first_id = c->next_id + 1;
	long *lines = NULL;
	size_t nlines = 0;
	bool eof = false, have_pending = false;
	struct send_args pending_attach;
	int rc = 0;
	while (!eof || inflight > 0 || have_pending) {
		if (have_pending && inflight == 0) {
			have_pending = false;
			if (batch_attached(c, &pending_attach, path, lineno, &failed, &first_id,
			        &nlines, &lines) != 0) {
				rc = 3;
				goto out;
			}
		}
		while (!eof && !have_pending && inflight < BATCH_WINDOW) {
			ssize_t n = getline(&line, &cap, f);
			if (n < 0) {
				eof = true;
				break;
			}
			lineno++;
			if (n > 0 && line[n - 1] == '\n')
				line[--n] = '\0';
			if (n == 0)
				continue;
			struct send_args sa;
			char err[256];
			memset(&sa, 0, sizeof(sa));
			rogatory__ctl__v1__send_request__init(&sa.req);
			if (send_parse_json(&sa, line, err, sizeof(err)) != 0) {
				fprintf(stderr, "rogatoryctl: %s:%ld: %s\n", path, lineno, err);
				failed++;
				send_args_free(&sa);
				continue;
			}
			if (sa.req.n_attachments > 0) {
				/* One upload at a time: after every earlier line's answer. */
				if (inflight > 0) {
					pending_attach = sa;
					have_pending = true;
					break;
				}
				if (batch_attached(c, &sa, path, lineno, &failed, &first_id, &nlines,
				        &lines) != 0) {
					rc = 3;
					goto out;
				}
				continue;
			}
			Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
			req.op_case = ROGATORY__CTL__V1__REQUEST__OP_SEND;
			req.send = &sa.req;
			req.version = CONTROL_PROTOCOL_VERSION;
			req.request_id = ++c->next_id;
			long *grown = realloc(lines, (nlines + 1) * sizeof(*lines));
			if (grown == NULL) {
				fprintf(stderr, "rogatoryctl: out of memory\n");
				send_args_free(&sa);
				rc = 3;
				goto out;
			}
			lines = grown;
			lines[nlines++] = lineno;
			int s = ctl_send(c, &req);
			send_args_free(&sa);
			if (s != 0) {
				rc = 3;
				goto out;
			}
			inflight++;
		}
		if (inflight == 0)
			break;
		Rogatory__Ctl__V1__Reply *r = ctl_recv(c);
		if (r == NULL) {
			rc = 3;
			goto out;
		}
		inflight--;
		done++;
		long ln = r->request_id >= first_id && r->request_id - first_id < nlines
		    ? lines[r->request_id - first_id] : 0;
		if (r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
			char where[PATH_MAX + 32];
			snprintf(where, sizeof(where), "%s:%ld: ", path, ln);
			ctl_say_refusal(where, r);
			failed++;
		} else {
			json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
			printf("%s\n", jstr(j, "id"));
			json_decref(j);
		}
		wire_ctl_reply_free(r);
	}
out:
	if (have_pending)
		send_args_free(&pending_attach);
	fflush(stdout);
	if (failed > 0)
		fprintf(stderr, "rogatoryctl: %ld of %ld lines failed\n", failed, lineno);
	free(line);
	free(lines);
	if (f != stdin)
		fclose(f);
	return rc != 0 ? rc : failed > 0 ? 1 : 0;
}

static int
run_send(struct ctl *c, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "--batch") == 0) {
		if (argc != 2) {
			fprintf(stderr, "usage: rogatoryctl send --batch FILE|-\n");
			return 2;
		}
		return send_batch(c, argv[1]);
	}
	if (ctl_document_wanted(argc, argv))
		return ctl_document_send(c, argc, argv);
	return ctl_send_one(c, argc, argv);
}

/* ---- verify ---- */

static int
run_verify(struct ctl *c, int argc, char **argv)
{
	Rogatory__Ctl__V1__VerifyRequest q = ROGATORY__CTL__V1__VERIFY_REQUEST__INIT;
	char *id[1] = {NULL};
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			bin(&q.sender_id, argv[++i]);
		else if (n++ == 0)
			id[0] = argv[i];
	}
	int b = msg_id_arg(n, id, &q.message_id);
	if (b == 0 && q.sender_id.len > 0 &&
	    !text_authority_id_valid(q.sender_id.data, q.sender_id.len)) {
		fprintf(stderr, "rogatoryctl: --from: not an authority id\n");
		b = -2;
	}
	if (b != 0) {
		if (b == -1)
			fprintf(stderr, "usage: rogatoryctl verify ID [--from AUTHORITY]\n");
		return 2;
	}
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_VERIFY;
	req.verify = &q;
	int rc = 1;
	Rogatory__Ctl__V1__Reply *r = ctl_roundtrip(c, &req, &rc);
	if (r == NULL)
		return rc;
	json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
	bool valid = json_is_true(json_object_get(j, "valid"));
	if (c->json) {
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
	} else {
		size_t i;
		json_t *ck;
		ctl_json_termsafe(j);
		json_array_foreach(json_object_get(j, "checks"), i, ck)
			printf("%-4s %-28s %s\n", json_is_true(json_object_get(ck, "ok")) ? "ok" : "FAIL",
			    jstr(ck, "check"), jstr(ck, "detail"));
		printf("%s: %s\n", jstr(j, "id"), valid ? "valid" : "INVALID");
	}
	json_decref(j);
	wire_ctl_reply_free(r);
	return valid ? 0 : 1;
}

/* ---- fetch, quarantine ---- */

static Rogatory__Ctl__V1__Reply *
fetch_call(struct ctl *c, Rogatory__Ctl__V1__FetchRequest *q)
{
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_FETCH;
	req.fetch = q;
	req.version = CONTROL_PROTOCOL_VERSION;
	req.request_id = ++c->next_id;
	if (ctl_send(c, &req) != 0)
		return NULL;
	Rogatory__Ctl__V1__Reply *r = ctl_recv(c);
	if (r != NULL && r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		ctl_say_refusal("", r);
		wire_ctl_reply_free(r);
		return NULL;
	}
	return r;
}

/*
 * fetch ID --out DIR writes the document as DIR/ID.json and its attachments as
 * DIR/ID/NAME. The names come from the signed manifest (one path component each, unique,
 * not "." or "..": the wire rules), and only ever inside DIR/ID/, so no attachment name
 * can meet the document's file or another attachment's path. Nothing is replaced:
 * every file and the folder are created new (O_EXCL, O_NOFOLLOW), files 0600, the
 * folder 0700. A fetch that fails removes what it wrote, so it can simply be run again.
 */
struct fetch_out {
	const char *dir;        /* DIR, as given */
	int dfd;                /* DIR */
	char id[UUID_TEXT_LEN + 1];
	char sub[PATH_MAX];     /* DIR/ID, for messages */
	int afd;                /* DIR/ID once made, else -1 */
	size_t written;         /* attachments complete in DIR/ID */
};

/* Creates name in dfd (shown as where/name) 0600; never replaces anything. */
static int
fetch_create(int dfd, const char *where, const char *name)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		char shown[TERMSAFE_MAX(WIRE_NAME_MAX)];
		fprintf(stderr, "rogatoryctl: cannot create %s/%s: %s%s\n", where,
		    termsafe(name, strlen(name), shown, sizeof(shown)), strerror(errno),
		    errno == EEXIST ? " (fetch never replaces a file: was the message fetched "
		    "here before? remove ID.json and ID/ to fetch it again)" : "");
	}
	return fd;
}

/* One attachment into DIR/ID, checking its size and SHA-256 against the signed
 * manifest; a file that fails is removed. */
static int
fetch_attachment(struct ctl *c, Rogatory__Ctl__V1__FetchRequest *q, struct fetch_out *fo,
    const json_t *a, uint32_t index)
{
	const char *name = jstr(a, "name"), *want = jstr(a, "sha256");
	char shown[TERMSAFE_MAX(WIRE_NAME_MAX)];
	termsafe(name, strlen(name), shown, sizeof(shown));
	uint64_t size = (uint64_t)json_integer_value(json_object_get(a, "size"));
	int fd = fetch_create(fo->afd, fo->sub, name);
	if (fd < 0)
		return -1;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		close(fd);
		unlinkat(fo->afd, name, 0);
		return -1;
	}
	uint64_t off = 0;
	int rc = 0;
	while (off < size) {
		q->index = index;
		q->offset = off;
		Rogatory__Ctl__V1__Reply *r = fetch_call(c, q);
		if (r == NULL) {
			rc = -1;
			break;
		}
		if (r->data.len == 0 || r->data.len > size - off) {
			fprintf(stderr, "rogatoryctl: %s: the store returned %zu bytes at offset %llu "
			    "of %llu\n", shown, r->data.len, (unsigned long long)off,
			    (unsigned long long)size);
			wire_ctl_reply_free(r);
			rc = -1;
			break;
		}
		if (ctl_write_all(fd, r->data.data, r->data.len) != 0 ||
		    EVP_DigestUpdate(md, r->data.data, r->data.len) != 1) {
			fprintf(stderr, "rogatoryctl: cannot write %s/%s: %s\n", fo->sub, shown,
			    strerror(errno));
			wire_ctl_reply_free(r);
			rc = -1;
			break;
		}
		off += r->data.len;
		wire_ctl_reply_free(r);
	}
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	char hx[2 * EVP_MAX_MD_SIZE + 1] = "";
	if (rc == 0 && EVP_DigestFinal_ex(md, h, &hl) == 1) {
		for (unsigned i = 0; i < hl; i++)
			sprintf(hx + 2 * i, "%02x", h[i]);
		if (strcmp(hx, want) != 0) {
			fprintf(stderr, "rogatoryctl: %s: SHA-256 %s, the signed manifest says %s\n",
			    shown, hx, want);
			rc = -1;
		}
	}
	EVP_MD_CTX_free(md);
	if (fsync(fd) != 0 && rc == 0) {
		fprintf(stderr, "rogatoryctl: cannot sync %s/%s: %s\n", fo->sub, shown,
		    strerror(errno));
		rc = -1;
	}
	close(fd);
	if (rc != 0)
		unlinkat(fo->afd, name, 0);
	else
		printf("%s/%-40s %12llu bytes  sha256 %s  ok\n", fo->id, shown,
		    (unsigned long long)size, hx);
	return rc;
}

/* DIR/ID.json: the document as the daemon answered it (ids, kind, subject, fields,
 * manifest), ASCII-only JSON. */
static int
fetch_document(struct fetch_out *fo, const json_t *doc)
{
	char docname[UUID_TEXT_LEN + 8];
	snprintf(docname, sizeof(docname), "%s.json", fo->id);
	int fd = fetch_create(fo->dfd, fo->dir, docname);
	if (fd < 0)
		return -1;
	int rc = 0;
	if (json_dumpfd(doc, fd, JSON_INDENT(2) | JSON_ENSURE_ASCII) != 0 ||
	    ctl_write_all(fd, (const uint8_t *)"\n", 1) != 0 || fsync(fd) != 0) {
		fprintf(stderr, "rogatoryctl: cannot write %s/%s: %s\n", fo->dir, docname,
		    strerror(errno));
		rc = -1;
	}
	close(fd);
	if (rc != 0)
		unlinkat(fo->dfd, docname, 0);
	if (rc == 0) {
		/* The subject and sender come from a peer: shown terminal-safe. */
		json_t *shown = json_deep_copy(doc);
		ctl_json_termsafe(shown);
		printf("%-40s %s from %s: %s\n", docname, fo->id, jstr(shown, "sender"),
		    jstr(shown, "subject"));
		json_decref(shown);
	}
	return rc;
}

/* DIR/ID/ (0700, made new) and every attachment in it. */
static int
fetch_attachments(struct ctl *c, Rogatory__Ctl__V1__FetchRequest *q, struct fetch_out *fo,
    const json_t *manifest)
{
	if (json_array_size(manifest) == 0)
		return 0;
	if (mkdirat(fo->dfd, fo->id, 0700) != 0) {
		fprintf(stderr, "rogatoryctl: cannot create %s: %s%s\n", fo->sub, strerror(errno),
		    errno == EEXIST ? " (fetch never replaces a file: remove it to fetch the "
		    "message again)" : "");
		return -1;
	}
	fo->afd = openat(fo->dfd, fo->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fo->afd < 0) {
		fprintf(stderr, "rogatoryctl: cannot open %s: %s\n", fo->sub, strerror(errno));
		unlinkat(fo->dfd, fo->id, AT_REMOVEDIR);
		return -1;
	}
	size_t i;
	const json_t *a;
	json_array_foreach(manifest, i, a) {
		if (fetch_attachment(c, q, fo, a, (uint32_t)i + 1) != 0)
			return -1;
		fo->written = i + 1;
	}
	return 0;
}

/* After a failure: what this fetch created goes (all of it was made new here). */
static void
fetch_undo(struct fetch_out *fo, const json_t *manifest)
{
	char docname[UUID_TEXT_LEN + 8];
	if (fo->afd >= 0) {
		for (size_t i = 0; i < fo->written; i++)
			unlinkat(fo->afd, jstr(json_array_get(manifest, i), "name"), 0);
		close(fo->afd);
		fo->afd = -1;
		unlinkat(fo->dfd, fo->id, AT_REMOVEDIR);
	}
	snprintf(docname, sizeof(docname), "%s.json", fo->id);
	unlinkat(fo->dfd, docname, 0);
}

static int
run_fetch(struct ctl *c, int argc, char **argv)
{
	Rogatory__Ctl__V1__FetchRequest q = ROGATORY__CTL__V1__FETCH_REQUEST__INIT;
	const char *dir = NULL, *id = NULL, *from = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (argv[i][0] != '-' && id == NULL)
			id = argv[i];
		else
			id = dir = NULL, i = argc;
	}
	if (id == NULL || dir == NULL) {
		fprintf(stderr, "usage: rogatoryctl fetch ID [--from AUTHORITY] --out DIR\n");
		return 2;
	}
	if (!text_uuid_valid((const uint8_t *)id, strlen(id))) {
		fprintf(stderr, "rogatoryctl: %s is not a message id (a lower-case UUID)\n", id);
		return 2;
	}
	struct fetch_out fo = {.dir = dir, .afd = -1};
	snprintf(fo.id, sizeof(fo.id), "%s", id);
	snprintf(fo.sub, sizeof(fo.sub), "%s/%s", dir, id);
	bin(&q.message_id, id);
	bin(&q.sender_id, from);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "rogatoryctl: cannot create %s: %s\n", dir, strerror(errno));
		return 2;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		fprintf(stderr, "rogatoryctl: cannot open %s: %s\n", dir, strerror(errno));
		return 2;
	}
	fo.dfd = dfd;
	/* Large attachments come chunk by chunk; no time-out between them is needed. */
	Rogatory__Ctl__V1__Reply *r = fetch_call(c, &q);
	if (r == NULL) {
		close(fo.dfd);
		return 1;
	}
	json_t *doc = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
	wire_ctl_reply_free(r);
	const json_t *manifest = json_object_get(doc, "attachments");
	int rc = 0;
	if (fetch_document(&fo, doc) != 0)
		rc = 1;
	else if (fetch_attachments(c, &q, &fo, manifest) != 0) {
		fetch_undo(&fo, manifest);
		rc = 1;
	}
	if (fo.afd >= 0)
		close(fo.afd);
	close(fo.dfd);
	if (rc == 0) {
		/* Everything is on the operator's disk, checked: the daemon may count it as
		 * fetched (which frees the sender's quota). */
		Rogatory__Ctl__V1__FetchedRequest fq = ROGATORY__CTL__V1__FETCHED_REQUEST__INIT;
		bin(&fq.message_id, id);
		bin(&fq.sender_id, jstr(doc, "sender"));
		Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_FETCHED;
		req.fetched = &fq;
		rc = ctl_call(c, &req, print_message) != 0 ? 1 : 0;
	} else {
		fprintf(stderr, "rogatoryctl: %s not marked fetched\n", id);
	}
	json_decref(doc);
	return rc;
}

static int
build_quarantine(struct ctl *c, int argc, char **argv, Rogatory__Ctl__V1__Request *req,
    void *scratch)
{
	(void)c;
	Rogatory__Ctl__V1__QuarantineRequest *q = scratch;
	rogatory__ctl__v1__quarantine_request__init(q);
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			long n = strtol(argv[++i], NULL, 10);
			q->limit = n > 0 && n <= 1000 ? (uint32_t)n : 1000;
		} else if (strcmp(argv[i], "--release") == 0 && i + 1 < argc) {
			char *end = NULL;
			errno = 0;
			unsigned long long e = strtoull(argv[++i], &end, 10);
			if (errno != 0 || end == argv[i] || *end != '\0' || e == 0 ||
			    e > (unsigned long long)INT64_MAX) {
				fprintf(stderr, "rogatoryctl: --release %s: not a quarantine entry "
				    "number (the listing's first column)\n", argv[i]);
				return -1;
			}
			q->release = e;
		} else {
			return -1;
		}
	}
	req->op_case = ROGATORY__CTL__V1__REQUEST__OP_QUARANTINE;
	req->quarantine = q;
	return 0;
}

static void
print_quarantine(const json_t *r)
{
	size_t i;
	const json_t *e;
	if (json_is_object(r)) {
		printf("entry %lld released: %s from %s, %lld bytes no longer count against "
		    "its quota\n", (long long)json_integer_value(json_object_get(r, "entry")),
		    jstr(r, "id"), jstr(r, "peer"),
		    (long long)json_integer_value(json_object_get(r, "bytes")));
		return;
	}
	if (json_array_size(r) == 0)
		printf("quarantine empty\n");
	json_array_foreach(r, i, e) {
		const char *rel = json_string_value(json_object_get(e, "released"));
		printf("%-6lld %s  %-36s  from %s  %lld bytes%s%s\n    %s\n",
		    (long long)json_integer_value(json_object_get(e, "entry")), jstr(e, "time"),
		    jstr(e, "id"), jstr(e, "peer"),
		    (long long)json_integer_value(json_object_get(e, "bytes")),
		    rel ? "  released " : "", rel ? rel : "", jstr(e, "reason"));
	}
}

/* ---- log ---- */

static int
run_log(struct ctl *c, int argc, char **argv)
{
	Rogatory__Ctl__V1__LogRequest q = ROGATORY__CTL__V1__LOG_REQUEST__INIT;
	long n = 100;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0)
			q.follow = true;
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			n = strtol(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: rogatoryctl log [--follow] [-n N]\n");
			return 2;
		}
	}
	q.after_seq = n > 0 ? -n : 0;
	q.limit = n > 0 && n < 1000 ? (uint32_t)n : 1000;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_LOG;
	req.log = &q;
	req.version = CONTROL_PROTOCOL_VERSION;
	req.request_id = ++c->next_id;
	if (ctl_send(c, &req) != 0)
		return 3;
	if (q.follow) {
		/* Replies keep coming; no read time-out while following. */
		struct timeval tv = {0};
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	for (bool first = true;; first = false) {
		Rogatory__Ctl__V1__Reply *r = ctl_recv(c);
		if (r == NULL)
			return q.follow && !first ? 0 : 3;
		json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
		wire_ctl_reply_free(r);
		size_t i;
		json_t *e;
		if (json_is_array(j)) {
			json_array_foreach(j, i, e) {
				if (c->json) {
					json_dumpf(e, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
					fputc('\n', stdout);
				} else {
					ctl_json_termsafe(e);
					print_event(e);
				}
			}
		} else if (j != NULL) {
			if (c->json) {
				json_dumpf(j, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
				fputc('\n', stdout);
			} else {
				ctl_json_termsafe(j);
				print_event(j);
			}
		}
		json_decref(j);
		fflush(stdout);
		if (!q.follow)
			return 0;
	}
}

int
main(int argc, char **argv)
{
	struct ctl c = {.socket_path = DEFAULT_SOCKET, .fd = -1};
	const char *config_path = NULL;
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "+s:c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			c.socket_path = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	/* A daemon that hangs up must give us EPIPE and a message, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	static char sockbuf[256];
	if (config_path != NULL) {
		char err[512];
		if (config_control_socket(config_path, sockbuf, sizeof(sockbuf), err,
		        sizeof(err)) != 0) {
			fprintf(stderr, "rogatoryctl: %s\n", err);
			return 2;
		}
		c.socket_path = sockbuf;
	}
	const char *name = argv[optind];
	/* Options after the command (e.g. `peers --json`) are accepted too. */
	int nargs = 0;
	char *args[256];
	for (int i = optind + 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c.json = true;
		else if (nargs < (int)(sizeof(args) / sizeof(args[0])) &&
		    i + 1 < argc && strcmp(argv[i], "--") == 0)
			args[nargs++] = argv[++i]; /* a value that starts with "--" */
		else if (nargs < (int)(sizeof(args) / sizeof(args[0])))
			args[nargs++] = argv[i];
		else {
			fprintf(stderr, "rogatoryctl: too many arguments\n");
			return 2;
		}
	}
	if (strcmp(name, "help") == 0)
		return ctl_help(nargs, args);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) != 0)
			continue;
		if (commands[i].run != NULL) {
			/* audit connects itself: `audit check` needs no daemon. */
			if (commands[i].run != ctl_audit_run && ctl_connect(&c) != 0)
				return 3;
			int rc = commands[i].run(&c, nargs, args);
			if (c.fd >= 0)
				close(c.fd);
			return rc;
		}
		Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
		union {
			Rogatory__Ctl__V1__StatusRequest s;
			Rogatory__Ctl__V1__PeersRequest p;
			Rogatory__Ctl__V1__ConnectRequest c;
			Rogatory__Ctl__V1__QueueRequest q;
			Rogatory__Ctl__V1__InboxRequest i;
			Rogatory__Ctl__V1__ShowRequest sh;
			Rogatory__Ctl__V1__RetryRequest r;
			Rogatory__Ctl__V1__CancelRequest ca;
			Rogatory__Ctl__V1__QuarantineRequest qu;
		} scratch;
		int b = commands[i].build(&c, nargs, args, &req, &scratch);
		if (b != 0) {
			if (b == -1)
				fprintf(stderr, "usage: rogatoryctl %s %s\n", commands[i].name,
				    commands[i].args);
			return 2;
		}
		if (ctl_connect(&c) != 0)
			return 3;
		int rc = ctl_call(&c, &req, commands[i].print);
		close(c.fd);
		return rc;
	}
	fprintf(stderr, "rogatoryctl: unknown command %s\n", name);
	usage(stderr);
	return 2;
}
