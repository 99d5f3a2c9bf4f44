/*
 * send: `rogatoryctl send` (one document, its attachments read here with the operator's
 * rights and streamed in 256 KiB uploads) and `send --batch FILE|-` (one JSON object a
 * line, pipelined, each reply naming its input line). The daemon answers only once a
 * document is committed; the id printed is then safe to quote.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "text.h"


#define SEND_ATTACH_MAX 256

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
	ctl_bin(&a->name, own(sa, base));
	ctl_bin(&a->media_type, guess_media_type(base));
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
	ctl_bin(&f->name, name);
	ctl_bin(&f->value, value);
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
		ctl_bin(&sa->req.message_id, sa->id);
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
			ctl_bin(&sa->req.recipient_id, v);
		else if (strcmp(a, "--kind") == 0)
			ctl_bin(&sa->req.kind, v);
		else if (strcmp(a, "--subject") == 0)
			ctl_bin(&sa->req.subject, v);
		else if (strcmp(a, "--respond-by") == 0)
			ctl_bin(&sa->req.respond_by, v);
		else if (strcmp(a, "--id") == 0)
			ctl_bin(&sa->req.message_id, v);
		else if (strcmp(a, "--reply-to") == 0)
			ctl_bin(&sa->req.in_reply_to, v);
		else if (strcmp(a, "--status") == 0)
			ctl_bin(&sa->req.status, v);
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
			ctl_bin(&sa->av[sa->req.n_attachments - 1].media_type, v);
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
			ctl_bin((ProtobufCBinaryData *)((char *)&sa->req + keys[i].off),
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
		return ctl_usage("send");
	}
	if (ctl_open(c) != 0) {
		send_args_free(&sa);
		return 3;
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
				if (c->json) {
					ctl_json_print(j, false);
				} else {
					ctl_json_termsafe(j);
					printf("%s to %s: %s\n", ctl_jstr(j, "id"), ctl_jstr(j, "peer"),
					    ctl_jstr(j, "state"));
					printf("%s\n", ctl_jstr(j, "id"));
				}
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

/* A committed line of a batch: its id, or with --json its reply as one JSON line. */
static void
batch_print(struct ctl *c, const Rogatory__Ctl__V1__Reply *r)
{
	json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
	if (c->json)
		ctl_json_print(j, true);
	else
		printf("%s\n", ctl_jstr(j, "id"));
	json_decref(j);
}

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
		ctl_bin(&sa->req.message_id, sa->id[0] ? sa->id : (const char *)sa->req.message_id.data);
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
		batch_print(c, r);
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
	if (ctl_open(c) != 0) {
		if (f != stdin)
			fclose(f);
		return 3;
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
			batch_print(c, r);
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

int
ctl_send_run(struct ctl *c, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "--batch") == 0) {
		if (argc != 2) {
			return ctl_usage("send");
		}
		return send_batch(c, argv[1]);
	}
	if (ctl_document_wanted(argc, argv))
		return ctl_document_send(c, argc, argv);
	return ctl_send_one(c, argc, argv);
}

