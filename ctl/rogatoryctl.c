/*
 * rogatoryctl: the operator's command line for a running rogatoryd, over the control
 * socket. Commands are one table (name, arguments, help, what runs them); each family
 * lives in a file of its own (status.c, messages.c, send.c, fetch.c, log.c, oper.c,
 * export.c, console.c) and this file holds the table, the connection and what they share (ctl.h).
 * It reads files with the operator's own rights and never asks the daemon to open a
 * path. Exit codes: 0 done, 1 the daemon refused or failed, 2 usage, 3 cannot reach it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "ctl.h"
#include "frame.h"
#include "termsafe.h"
#include "text.h"
#include "wire.h"

#define DEFAULT_SOCKET "/run/rogatoryd/control.sock"

/* A command of one request and one reply: builds the request into req (scratch holds
 * its op message), -1 usage, -2 bad argument (said); the reply is printed with print. */
typedef int (*ctl_build)(struct ctl *c, int argc, char **argv,
    Rogatory__Ctl__V1__Request *req, void *scratch);

static int ctl_help(struct ctl *c, int argc, char **argv);

static const struct ctl_command {
	const char *name;
	const char *args;
	const char *help;
	ctl_build build;
	ctl_print print;
	ctl_run run;        /* commands that parse and print for themselves */
} commands[] = {
	{"status", "", "daemon identity, uptime, links, certificate and CRL expiry",
	    NULL, NULL, ctl_status_status},
	{"peers", "", "each authority: link state, paused or not, last contact, last error, "
	    "certificate expiry", NULL, NULL, ctl_status_peers},
	{"connect", "ID", "dial authority ID now", NULL, NULL, ctl_status_connect},
	{"directory", "[ID]", "the authorities of the directory: country, link state, "
	    "certificate expiry, kinds, languages; with ID, also its address and what it asks "
	    "of each kind of request (legal bases, languages, certified copies, translation, "
	    "urgent contact, procedures)", NULL, NULL, ctl_status_directory},
	{"crl", "install FILE", "offer a CRL (PEM or DER, from rogatory-pki crl); it spreads "
	    "to every authority", NULL, NULL, ctl_status_crl},
	{"send", "--to ID --document FILE [--attach FILE [--media-type TYPE]]... [--id UUID] |"
	    " --to ID --kind other --subject TEXT [--urgent] [--respond-by DATE] [--id UUID]"
	    " [--field NAME=VALUE]... [--attach FILE [--media-type TYPE]]... | --batch FILE|-",
	    "submit a request: a document from `draft` (checked first: every problem named with "
	    "its JSON path, nothing queued), or a free-form note; prints the message id last",
	    NULL, NULL, ctl_send_run},
	{"draft", "KIND [--to ID]", "print a document of that kind to fill in (mla, extradition, "
	    "provisional-arrest, asset-recovery, service-of-documents, other): every element, "
	    "required or not, with a hint; --to: the recipient's languages and kinds",
	    NULL, NULL, ctl_draft_run},
	{"update", "REQUEST-ID --status STATUS [--reason CODE[=TEXT]]... [--note TEXT]"
	    " [--estimate DATE] [--reference REF] [--attach FILE [--media-type TYPE]]... [--id UUID]",
	    "send a status document in a case (checked against its transition table first)",
	    NULL, NULL, ctl_update_run},
	{"requests", "[--incoming|--outgoing] [--status S] [--peer ID] [--kind K] [--overdue]"
	    " [--due-within DURATION] [-n N]",
	    "the case register: one line per request, its references, status and clocks (UTC); "
	    "--overdue: a running clock passed; --due-within: one runs out within DURATION",
	    NULL, NULL, ctl_requests_run},
	{"request", "ID [--from AUTHORITY]", "one whole case: the request's elements, then every "
	    "document in order with its sender, status, reasons, delivery and receipt",
	    NULL, NULL, ctl_request_run},
	{"stats", "[--since DATE] [--until DATE] [--peer ID] [--csv]", "statistics of the "
	    "cases opened and the messages sent in a period (DATE: 2026-01-01 or an "
	    "RFC 3339 UTC time; --since inclusive, --until exclusive): cases by "
	    "kind, authority and status, days to acknowledgement and execution, refusal and "
	    "postponement reasons, offences, delivery times, retries, rejections; --csv for "
	    "reports", NULL, NULL, ctl_stats_run},
	{"queue", "[--all] [--peer ID] [--state STATE] [--older-than DURATION] [-n N]",
	    "outbound messages not yet settled (--all: every one; --state: those in STATE, a "
	    "final one too; --older-than: submitted at least DURATION ago, like 2h or 1d)",
	    NULL, NULL, ctl_messages_queue},
	{"show", "ID", "one message: states with times, attempts, last error, receipt", NULL,
	    NULL, ctl_messages_show},
	{"inbox", "[--peer ID] [--unfetched] [-n N]", "received messages (--unfetched: not yet "
	    "fetched)", NULL, NULL, ctl_messages_inbox},
	{"retry", "ID | --peer ID | --all-failed", "retry now: one message (queued, retrying or "
	    "unconfirmed), every such message to one authority, or every message whose last "
	    "attempt failed (retrying, unconfirmed)", NULL, NULL, ctl_messages_retry},
	{"cancel", "ID", "cancel a message that was never transmitted", NULL, NULL,
	    ctl_messages_cancel},
	{"verify", "ID [--from AUTHORITY]", "re-check offline a message's signatures, "
	    "certificates, attachments and receipt; exit 1 if invalid", NULL, NULL,
	    ctl_messages_verify},
	{"fetch", "ID [--from AUTHORITY] --out DIR", "write a received message as DIR/ID.json and its "
	    "attachments under DIR/ID/, checking each SHA-256; marks it fetched", NULL, NULL,
	    ctl_fetch_run},
	{"export", "ID [--from AUTHORITY] --out DIR", "write a message's evidence into a new DIR: "
	    "signed bytes, signatures, certificates, CA, CRL, attachments, manifest.json and "
	    "VERIFY.md (checking it needs only openssl, protoc and sha256sum); a request's case: "
	    "each status document's bundle under DIR/case/; exit 1 if verify says invalid",
	    NULL, NULL, ctl_case_export_run},
	{"quarantine", "[-n N] [--release ENTRY]", "refused inbound documents kept aside, with "
	    "the reasons; --release: looked at, it stops counting against its sender's quota",
	    NULL, NULL, ctl_fetch_quarantine},
	{"log", "[-n N] [--since TIME] [--until TIME] [--peer ID] [--id ID] [--event NAME] "
	    "[--follow]", "the last N (100) delivery events that match; TIME is 2026-03-01, "
	    "2026-03-01T10:00:00Z or a duration ago (2h); --follow keeps printing those that "
	    "follow", NULL, NULL, ctl_log_run},
	{"pause", "ID", "hold our outbound messages to authority ID: not dialed, nothing "
	    "transmitted, its messages wait (kept across a restart)", NULL, NULL, ctl_oper_pause},
	{"resume", "ID", "release a paused authority: its messages go out again", NULL, NULL,
	    ctl_oper_resume},
	{"reload", "", "re-read the configuration (like SIGHUP) and reopen the delivery log; "
	    "prints what needs a restart, or every problem (exit 1, nothing changed)", NULL, NULL,
	    ctl_oper_reload},
	{"alerts", "", "the alerts active now: certificates and CRL expiring, authorities "
	    "unreachable, messages stuck, store full", NULL, NULL, ctl_oper_alerts},
	{"audit", "verify | prove SEQ | prove --id ID [--from AUTHORITY] [--size N] [--out FILE] | "
	    "check FILE --ca CA.crt | status", "the tamper-evident audit log: recompute and "
	    "check it; an inclusion proof of entries; check a proof offline; checkpoints and "
	    "witnesses", NULL, NULL, ctl_audit_run},
	{"console", "login NAME [--role viewer|officer|operator] [--url BASE] | sessions | "
	    "revoke NAME", "the web console's access: a one-time login link for NAME (printed as "
	    "BASE/login?token=..., valid 10 minutes and once; BASE from --url, "
	    "$ROGATORY_CONSOLE_URL or http://127.0.0.1:8743; role viewer by default); the open "
	    "sessions; end NAME's sessions and unused links", NULL, NULL, ctl_console_run},
	{"help", "[COMMAND]", "this text, or one command's", NULL, NULL, ctl_help},
};
#define CTL_NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct ctl_command *
ctl_find(const char *name)
{
	for (size_t i = 0; i < CTL_NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: rogatoryctl [-s SOCKET | -c CONFIG] [--json] COMMAND [ARGS]\n\n"
	           "  -s SOCKET   control socket (default %s)\n"
	           "  -c CONFIG   take the socket from rogatoryd.conf's [control] socket\n"
	           "  --json      print the daemon's answer as JSON (every command)\n\n"
	           "commands:\n", DEFAULT_SOCKET);
	for (size_t i = 0; i < CTL_NCOMMANDS; i++)
		fprintf(f, "  %s%s%s\n      %s\n", commands[i].name, commands[i].args[0] ? " " : "",
		    commands[i].args, commands[i].help);
	fprintf(f, "\nexit: 0 done, 1 the daemon refused or failed, 2 usage, 3 no daemon\n");
}

int
ctl_usage(const char *name)
{
	const struct ctl_command *cmd = ctl_find(name);
	if (cmd == NULL)
		fprintf(stderr, "usage: rogatoryctl %s\n", name);
	else
		fprintf(stderr, "usage: rogatoryctl %s%s%s\n", cmd->name, cmd->args[0] ? " " : "",
		    cmd->args);
	return 2;
}

/* help: the usage on stdout, exit 0; help COMMAND: that command's lines. With --json,
 * the table itself: [{"command", "args", "help"}]. */
static int
ctl_help(struct ctl *c, int argc, char **argv)
{
	if (argc > 1)
		return ctl_usage("help");
	const struct ctl_command *one = argc == 1 ? ctl_find(argv[0]) : NULL;
	if (argc == 1 && one == NULL) {
		fprintf(stderr, "rogatoryctl: help %s: no such command\n", argv[0]);
		return ctl_usage("help");
	}
	if (c->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < CTL_NCOMMANDS; i++) {
			if (one != NULL && one != &commands[i])
				continue;
			json_t *o = json_object();
			json_object_set_new(o, "command", json_string(commands[i].name));
			json_object_set_new(o, "args", json_string(commands[i].args));
			json_object_set_new(o, "help", json_string(commands[i].help));
			json_array_append_new(a, o);
		}
		ctl_json_print(a, false);
		json_decref(a);
		return 0;
	}
	if (one == NULL)
		usage(stdout);
	else
		printf("usage: rogatoryctl %s%s%s\n    %s\n", one->name, one->args[0] ? " " : "",
		    one->args, one->help);
	return 0;
}

/* Connects, saying why not in the operator's terms. */
static int
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
		if (errno == ENOENT)
			fprintf(stderr, "rogatoryctl: rogatoryd is not running (no socket at %s)\n",
			    c->socket_path);
		else if (errno == ECONNREFUSED)
			fprintf(stderr, "rogatoryctl: rogatoryd is not running (nothing answers on "
			    "%s)\n", c->socket_path);
		else
			fprintf(stderr, "rogatoryctl: cannot connect to %s: %s%s\n", c->socket_path,
			    strerror(errno), errno == EACCES ? " (are you in the operators' group?)"
			                                     : "");
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
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
ctl_open(struct ctl *c)
{
	return c->fd >= 0 ? 0 : ctl_connect(c);
}

int
ctl_send(struct ctl *c, const Rogatory__Ctl__V1__Request *req)
{
	if (ctl_open(c) != 0)
		return -1;
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
void
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

void
ctl_json_print(const json_t *j, bool compact)
{
	json_dumpf(j, stdout, (compact ? JSON_COMPACT : JSON_INDENT(2)) | JSON_ENSURE_ASCII |
	    JSON_REAL_PRECISION(15));
	fputc('\n', stdout);
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
int
ctl_call(struct ctl *c, Rogatory__Ctl__V1__Request *req, ctl_print print)
{
	req->version = CONTROL_PROTOCOL_VERSION;
	req->request_id = ++c->next_id;
	/* A refused caller's write can fail because the daemon already answered and
	 * closed: its answer is still waiting to be read. */
	bool sent = ctl_send(c, req) == 0;
	if (!sent && c->fd < 0)
		return 3;
	Rogatory__Ctl__V1__Reply *r = ctl_recv(c);
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
			ctl_json_print(j, false);
		} else {
			ctl_json_termsafe(j);
			print(j);
		}
		json_decref(j);
	}
	wire_ctl_reply_free(r);
	return rc;
}

const char *
ctl_jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "-";
}

void
ctl_bin(ProtobufCBinaryData *b, const char *s)
{
	b->data = (uint8_t *)s;
	b->len = s ? strlen(s) : 0;
}

int
ctl_msg_id_arg(int argc, char **argv, ProtobufCBinaryData *out)
{
	if (argc != 1 || argv[0][0] == '-')
		return -1;
	if (!text_uuid_valid((const uint8_t *)argv[0], strlen(argv[0]))) {
		fprintf(stderr, "rogatoryctl: %s is not a message id (a lower-case UUID)\n", argv[0]);
		return -2;
	}
	out->data = (uint8_t *)argv[0];
	out->len = strlen(argv[0]);
	return 0;
}

bool
ctl_authority_arg(const char *what, const char *s)
{
	if (text_authority_id_valid((const uint8_t *)s, strlen(s)))
		return true;
	fprintf(stderr, "rogatoryctl: %s%s%s is not an authority id (like FR-MJ)\n", what,
	    what[0] ? " " : "", s);
	return false;
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
	for (size_t i = 0; i < CTL_NCOMMANDS; i++) {
		if (strcmp(commands[i].name, name) != 0)
			continue;
		if (commands[i].run == ctl_help)
			return ctl_help(&c, nargs, args);
		/* The connection is made by the first request (ctl_open), after the
		 * arguments were checked: a usage error says so with or without a daemon. */
		int rc;
		if (commands[i].run != NULL) {
			rc = commands[i].run(&c, nargs, args);
		} else {
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
			rc = b == -1 ? ctl_usage(commands[i].name) : b != 0 ? 2
			    : ctl_call(&c, &req, commands[i].print);
		}
		if (c.fd >= 0)
			close(c.fd);
		return rc;
	}
	fprintf(stderr, "rogatoryctl: unknown command %s\n", name);
	usage(stderr);
	return 2;
}
