/*
 * fetch: `rogatoryctl fetch ID --out DIR` (a received message onto the operator's disk,
 * every attachment checked against its signed SHA-256 before the daemon is told it was
 * fetched) and `quarantine` (refused documents kept aside; --release ENTRY). Nothing a
 * peer named becomes a path outside DIR/ID/, and nothing existing is ever replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ctl.h"
#include "termsafe.h"
#include "text.h"

static void print_quarantine(const json_t *r);

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
	json_t *files;          /* --json: what was written, reported at the end; else NULL */
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
	const char *name = ctl_jstr(a, "name"), *want = ctl_jstr(a, "sha256");
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
	if (rc != 0) {
		unlinkat(fo->afd, name, 0);
	} else if (fo->files != NULL) {
		json_t *o = json_object();
		char *path = NULL;
		if (asprintf(&path, "%s/%s", fo->sub, name) < 0)
			path = NULL;
		json_object_set_new(o, "path", json_string(path != NULL ? path : name));
		free(path);
		json_object_set_new(o, "size", json_integer((json_int_t)size));
		json_object_set_new(o, "sha256", json_string(hx));
		json_array_append_new(fo->files, o);
	} else {
		printf("%s/%-40s %12llu bytes  sha256 %s  ok\n", fo->id, shown,
		    (unsigned long long)size, hx);
	}
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
	if (rc == 0 && fo->files != NULL) {
		char *path = NULL;
		if (asprintf(&path, "%s/%s", fo->dir, docname) < 0)
			path = NULL;
		json_t *o = json_object();
		json_object_set_new(o, "path", json_string(path != NULL ? path : docname));
		free(path);
		json_array_append_new(fo->files, o);
	} else if (rc == 0) {
		/* The subject and sender come from a peer: shown terminal-safe. */
		json_t *shown = json_deep_copy(doc);
		ctl_json_termsafe(shown);
		printf("%-40s %s from %s: %s\n", docname, fo->id, ctl_jstr(shown, "sender"),
		    ctl_jstr(shown, "subject"));
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
			unlinkat(fo->afd, ctl_jstr(json_array_get(manifest, i), "name"), 0);
		close(fo->afd);
		fo->afd = -1;
		unlinkat(fo->dfd, fo->id, AT_REMOVEDIR);
	}
	snprintf(docname, sizeof(docname), "%s.json", fo->id);
	unlinkat(fo->dfd, docname, 0);
}

/* Marks it fetched; prints the message (or, --json, {"files", "message"}). */
static int
fetch_mark(struct ctl *c, Rogatory__Ctl__V1__Request *req, const struct fetch_out *fo)
{
	if (!c->json)
		return ctl_call(c, req, ctl_messages_print_one) != 0 ? 1 : 0;
	int rc = 1;
	Rogatory__Ctl__V1__Reply *r = ctl_roundtrip(c, req, &rc);
	if (r == NULL)
		return 1;
	json_t *o = json_object();
	json_object_set(o, "files", fo->files);
	json_object_set_new(o, "message", json_loadb((const char *)r->json.data, r->json.len, 0,
	    NULL));
	ctl_json_print(o, false);
	json_decref(o);
	wire_ctl_reply_free(r);
	return 0;
}

int
ctl_fetch_run(struct ctl *c, int argc, char **argv)
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
	if (id == NULL || dir == NULL)
		return ctl_usage("fetch");
	if (from != NULL && !ctl_authority_arg("--from", from))
		return 2;
	if (!text_uuid_valid((const uint8_t *)id, strlen(id))) {
		fprintf(stderr, "rogatoryctl: %s is not a message id (a lower-case UUID)\n", id);
		return 2;
	}
	struct fetch_out fo = {.dir = dir, .afd = -1, .files = c->json ? json_array() : NULL};
	snprintf(fo.id, sizeof(fo.id), "%s", id);
	snprintf(fo.sub, sizeof(fo.sub), "%s/%s", dir, id);
	ctl_bin(&q.message_id, id);
	ctl_bin(&q.sender_id, from);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "rogatoryctl: cannot create %s: %s\n", dir, strerror(errno));
		json_decref(fo.files);
		return 2;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		fprintf(stderr, "rogatoryctl: cannot open %s: %s\n", dir, strerror(errno));
		json_decref(fo.files);
		return 2;
	}
	fo.dfd = dfd;
	/* Large attachments come chunk by chunk; no time-out between them is needed. */
	Rogatory__Ctl__V1__Reply *r = fetch_call(c, &q);
	if (r == NULL) {
		close(fo.dfd);
		json_decref(fo.files);
		return c->fd < 0 ? 3 : 1;
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
		ctl_bin(&fq.message_id, id);
		ctl_bin(&fq.sender_id, ctl_jstr(doc, "sender"));
		Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_FETCHED;
		req.fetched = &fq;
		rc = fetch_mark(c, &req, &fo);
	} else {
		fprintf(stderr, "rogatoryctl: %s not marked fetched\n", id);
	}
	json_decref(fo.files);
	json_decref(doc);
	return rc;
}

int
ctl_fetch_quarantine(struct ctl *c, int argc, char **argv)
{
	Rogatory__Ctl__V1__QuarantineRequest q = ROGATORY__CTL__V1__QUARANTINE_REQUEST__INIT;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			long n = strtol(argv[++i], NULL, 10);
			q.limit = n > 0 && n <= 1000 ? (uint32_t)n : 1000;
		} else if (strcmp(argv[i], "--release") == 0 && i + 1 < argc) {
			char *end = NULL;
			errno = 0;
			unsigned long long e = strtoull(argv[++i], &end, 10);
			if (errno != 0 || end == argv[i] || *end != '\0' || e == 0 ||
			    e > (unsigned long long)INT64_MAX) {
				fprintf(stderr, "rogatoryctl: --release %s: not a quarantine entry "
				    "number (the listing's first column)\n", argv[i]);
				return 2;
			}
			q.release = e;
		} else {
			return ctl_usage("quarantine");
		}
	}
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_QUARANTINE;
	req.quarantine = &q;
	return ctl_call(c, &req, print_quarantine);
}

static void
print_quarantine(const json_t *r)
{
	size_t i;
	const json_t *e;
	if (json_is_object(r)) {
		printf("entry %lld released: %s from %s, %lld bytes no longer count against "
		    "its quota\n", (long long)json_integer_value(json_object_get(r, "entry")),
		    ctl_jstr(r, "id"), ctl_jstr(r, "peer"),
		    (long long)json_integer_value(json_object_get(r, "bytes")));
		return;
	}
	if (json_array_size(r) == 0)
		printf("quarantine empty\n");
	json_array_foreach(r, i, e) {
		const char *rel = json_string_value(json_object_get(e, "released"));
		printf("%-6lld %s  %-36s  from %s  %lld bytes%s%s\n    %s\n",
		    (long long)json_integer_value(json_object_get(e, "entry")), ctl_jstr(e, "time"),
		    ctl_jstr(e, "id"), ctl_jstr(e, "peer"),
		    (long long)json_integer_value(json_object_get(e, "bytes")),
		    rel ? "  released " : "", rel ? rel : "", ctl_jstr(e, "reason"));
	}
}

