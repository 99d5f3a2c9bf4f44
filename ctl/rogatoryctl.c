/*
 * rogatoryctl: the operator's command line for a running rogatoryd, over the control
 * socket. Commands are a table (name, arguments, request builder, printer). It reads
 * files with the operator's own rights and never asks the daemon to open a path.
 * Exit codes: 0 done, 1 the daemon refused or failed, 2 usage, 3 cannot reach it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "frame.h"
#include "text.h"
#include "wire.h"

#define DEFAULT_SOCKET "/run/rogatoryd/control.sock"
#define CTL_TIMEOUT_S 30

struct ctl {
	const char *socket_path;
	bool json;
	int fd;
	uint64_t next_id;
};

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

static const struct ctl_command {
	const char *name;
	const char *args;
	const char *help;
	ctl_build build;
	ctl_print print;
} commands[] = {
	{"status", "", "daemon identity, uptime, links, certificate and CRL expiry",
	    build_status, print_status},
	{"peers", "", "each authority: link state, last contact, last error, certificate expiry",
	    build_peers, print_peers},
	{"connect", "ID", "dial authority ID now", build_connect, print_connect},
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
		fprintf(f, "  %-8s %-4s %s\n", commands[i].name, commands[i].args, commands[i].help);
}

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

static int
write_all(int fd, const uint8_t *p, size_t n)
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

static int
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
	int rc = write_all(c->fd, buf, FRAME_HEADER_LEN + n);
	free(buf);
	if (rc != 0)
		fprintf(stderr, "rogatoryctl: cannot write to %s: %s\n", c->socket_path,
		    strerror(errno));
	return rc;
}

/* Reads one Reply; NULL (message printed) when the daemon hung up or sent garbage. */
static Rogatory__Ctl__V1__Reply *
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

/* One request, one reply. Returns the exit code. */
static int
ctl_call(struct ctl *c, Rogatory__Ctl__V1__Request *req, ctl_print print)
{
	req->version = CONTROL_PROTOCOL_VERSION;
	req->request_id = ++c->next_id;
	if (ctl_send(c, req) != 0)
		return 3;
	Rogatory__Ctl__V1__Reply *r = ctl_recv(c);
	if (r == NULL)
		return 3;
	int rc = 0;
	if (r->code != ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK) {
		fprintf(stderr, "rogatoryctl: %.*s%s%.*s\n", (int)r->error_code.len,
		    (const char *)r->error_code.data, r->error_code.len ? ": " : "",
		    (int)r->error_text.len, (const char *)r->error_text.data);
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
	char *args[16];
	for (int i = optind + 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c.json = true;
		else if (nargs < (int)(sizeof(args) / sizeof(args[0])))
			args[nargs++] = argv[i];
		else {
			fprintf(stderr, "rogatoryctl: too many arguments\n");
			return 2;
		}
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) != 0)
			continue;
		Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
		union {
			Rogatory__Ctl__V1__StatusRequest s;
			Rogatory__Ctl__V1__PeersRequest p;
			Rogatory__Ctl__V1__ConnectRequest c;
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
