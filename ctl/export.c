/*
 * export: `rogatoryctl export ID [--from AUTHORITY] --out DIR`, the ctl's side of the
 * evidence bundle (PROTOCOL.md section 13). It asks the daemon for the manifest (part
 * 0), then for each file's bytes (part p, by offset), and writes them into DIR, which
 * it creates (an existing empty folder is taken; anything else is refused): folders
 * 0700, files 0600 with O_EXCL | O_NOFOLLOW, each file's size and SHA-256 checked
 * against the manifest, then manifest.json and SHA256SUMS. It never writes a path it has
 * not checked against the bundle's fixed forms (a peer's attachment names stay inside
 * manifest.json), and on failure removes what it wrote. Exit: 0 written and valid; 1
 * failed, or written but the daemon's verify says invalid; 2 usage; 3 no daemon.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "ctl.h"
#include "text.h"

#define XP_FILES_MAX 520          /* the bundle's parts, manifest.json, SHA256SUMS */
#define XP_PATH_MAX 32
/* A file changed between the manifest and its bytes (a receipt, a cosignature, a new
 * CRL arrived): the export starts again, at most XP_ATTEMPTS times in all. */
#define XP_CHANGED (-2)
#define XP_ATTEMPTS 5

/* One export in progress. */
struct xp {
	struct ctl *c;
	Rogatory__Ctl__V1__ExportRequest q;
	const char *dir;
	int dfd;                  /* DIR */
	int afd;                  /* DIR/attachments, -1 until made */
	bool made_dir;
	char written[XP_FILES_MAX][XP_PATH_MAX];  /* for the clean-up of a failed export */
	size_t nwritten;
};

static bool path_ok(const char *p);
static int xp_open_dir(struct xp *x);
static int xp_create(struct xp *x, const char *path);
static int xp_file(struct xp *x, const json_t *f);
static int xp_write(struct xp *x, const char *path, const char *data, size_t len);
static int xp_sums(struct xp *x, const json_t *files);
static void xp_cleanup(struct xp *x);
static void xp_forget(struct xp *x);
static int xp_files(struct xp *x, json_t **man, int *rc);
static Rogatory__Ctl__V1__Reply *xp_part(struct xp *x, unsigned part, uint64_t offset,
    int *rc);
static int xp_report(const struct xp *x, const json_t *man);
static void xp_audit(struct xp *x);

/* The names a bundle may hold: a plain lower-case file name, or attachments/NNN. */
static bool
path_ok(const char *p)
{
	if (strncmp(p, "attachments/", 12) == 0)
		return strlen(p) == 15 && strspn(p + 12, "0123456789") == 3;
	size_t n = strlen(p);
	return n > 0 && n < XP_PATH_MAX && p[0] != '.' && strstr(p, "..") == NULL &&
	    strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

static int
xp_open_dir(struct xp *x)
{
	if (mkdir(x->dir, 0700) == 0)
		x->made_dir = true;
	else if (errno != EEXIST) {
		fprintf(stderr, "rogatoryctl: cannot create %s: %s\n", x->dir, strerror(errno));
		return -1;
	}
	x->dfd = open(x->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (x->dfd < 0) {
		fprintf(stderr, "rogatoryctl: cannot open %s: %s\n", x->dir, strerror(errno));
		return -1;
	}
	if (x->made_dir)
		return 0;
	/* Evidence never mixes with files that were there before. */
	int fd = dup(x->dfd);
	DIR *dp = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	bool empty = dp != NULL;
	/* cppcheck-suppress readdirCalled ; one thread: readdir_r is the deprecated one */
	while (dp != NULL && (e = readdir(dp)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = false;
	if (dp != NULL)
		closedir(dp);
	else if (fd >= 0)
		close(fd);
	if (!empty)
		fprintf(stderr, "rogatoryctl: %s exists and is not empty; export into a new "
		    "folder\n", x->dir);
	return empty ? 0 : -1;
}

/* path (checked) created 0600, never over an existing file or through a link. */
static int
xp_create(struct xp *x, const char *path)
{
	int at = x->dfd;
	const char *name = path;
	if (strncmp(path, "attachments/", 12) == 0) {
		if (x->afd < 0) {
			if (mkdirat(x->dfd, "attachments", 0700) != 0 ||
			    (x->afd = openat(x->dfd, "attachments",
			         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
				fprintf(stderr, "rogatoryctl: cannot create %s/attachments: %s\n", x->dir,
				    strerror(errno));
				return -1;
			}
		}
		at = x->afd;
		name = path + 12;
	}
	int fd = openat(at, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "rogatoryctl: cannot create %s/%s: %s\n", x->dir, path,
		    strerror(errno));
		return -1;
	}
	snprintf(x->written[x->nwritten++], XP_PATH_MAX, "%s", path);
	return fd;
}

static Rogatory__Ctl__V1__Reply *
xp_part(struct xp *x, unsigned part, uint64_t offset, int *rc)
{
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_EXPORT;
	x->q.part = part;
	x->q.offset = offset;
	req.export = &x->q;
	return ctl_roundtrip(x->c, &req, rc);
}

/* One file of the manifest, piece by piece, its size and SHA-256 checked. */
static int
xp_file(struct xp *x, const json_t *f)
{
	const char *path = json_string_value(json_object_get(f, "path"));
	const char *want = json_string_value(json_object_get(f, "sha256"));
	json_int_t part = json_integer_value(json_object_get(f, "part"));
	json_int_t size = json_integer_value(json_object_get(f, "size"));
	if (path == NULL || want == NULL || !path_ok(path) || part < 1 ||
	    part > CONTROL_EXPORT_PART_MAX || size < 0 || x->nwritten >= XP_FILES_MAX - 2) {
		fprintf(stderr, "rogatoryctl: the daemon's manifest names a file it must not "
		    "(\"%s\")\n", path ? path : "?");
		return -1;
	}
	int fd = xp_create(x, path), rc = 1;
	if (fd < 0)
		return -1;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto done;
	uint64_t off = 0;
	while (off < (uint64_t)size) {
		Rogatory__Ctl__V1__Reply *r = xp_part(x, (unsigned)part, off, &rc);
		if (r == NULL)
			goto done;
		const char *why = NULL;
		size_t got = r->data.len;
		if (got == 0 || got > (uint64_t)size - off) {
			why = "its size changed while it was exported";
			rc = XP_CHANGED;
		} else if (ctl_write_all(fd, r->data.data, r->data.len) != 0)
			why = strerror(errno);
		else
			EVP_DigestUpdate(md, r->data.data, r->data.len);
		wire_ctl_reply_free(r);
		if (why != NULL) {
			fprintf(stderr, "rogatoryctl: %s/%s: %s at byte %llu of %lld\n", x->dir, path,
			    why, (unsigned long long)off, (long long)size);
			goto done;
		}
		off += got;
	}
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	char hx[2 * EVP_MAX_MD_SIZE + 1] = "";
	EVP_DigestFinal_ex(md, h, &hl);
	for (unsigned i = 0; i < hl; i++)
		snprintf(hx + 2 * i, 3, "%02x", h[i]);
	if (strcmp(hx, want) != 0) {
		fprintf(stderr, "rogatoryctl: %s changed while it was exported (SHA-256 %s, the "
		    "manifest says %s)\n", path, hx, want);
		rc = XP_CHANGED;
		goto done;
	}
	if (fsync(fd) != 0) {
		fprintf(stderr, "rogatoryctl: cannot sync %s/%s: %s\n", x->dir, path, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	EVP_MD_CTX_free(md);
	close(fd);
	return rc == 0 || rc == XP_CHANGED ? rc : -1;
}

static int
xp_write(struct xp *x, const char *path, const char *data, size_t len)
{
	int fd = xp_create(x, path);
	if (fd < 0)
		return -1;
	int rc = ctl_write_all(fd, (const uint8_t *)data, len) == 0 && fsync(fd) == 0 ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "rogatoryctl: cannot write %s/%s: %s\n", x->dir, path,
		    strerror(errno));
	close(fd);
	return rc;
}

/* SHA256SUMS, for `sha256sum -c`: every file the daemon laid out. */
static int
xp_sums(struct xp *x, const json_t *files)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return -1;
	size_t i;
	const json_t *e;
	json_array_foreach(files, i, e)
		fprintf(f, "%s  %s\n", json_string_value(json_object_get(e, "sha256")),
		    json_string_value(json_object_get(e, "path")));
	fclose(f);
	int rc = xp_write(x, "SHA256SUMS", buf, len);
	free(buf);
	return rc;
}

/* The manifest, then every file it names. 0; -1 (rc set); XP_CHANGED: start again. */
static int
xp_files(struct xp *x, json_t **man, int *rc)
{
	Rogatory__Ctl__V1__Reply *r = xp_part(x, 0, 0, rc);
	if (r == NULL)
		return -1;
	*man = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
	wire_ctl_reply_free(r);
	const json_t *files = json_object_get(*man, "files");
	*rc = 1;
	if (!json_is_array(files))
		return -1;
	size_t i;
	const json_t *f;
	json_array_foreach(files, i, f) {
		int got = xp_file(x, f);
		if (got != 0)
			return got;
	}
	return 0;
}

/* Removes what an attempt wrote, keeping the folder for the next. */
static void
xp_forget(struct xp *x)
{
	bool made = x->made_dir;
	x->made_dir = false;
	xp_cleanup(x);
	x->made_dir = made;
	x->nwritten = 0;
	if (x->afd >= 0)
		close(x->afd);
	x->afd = -1;
}

static void
xp_cleanup(struct xp *x)
{
	for (size_t i = 0; i < x->nwritten; i++) {
		const char *p = x->written[i];
		if (strncmp(p, "attachments/", 12) == 0)
			unlinkat(x->afd, p + 12, 0);
		else
			unlinkat(x->dfd, p, 0);
	}
	if (x->afd >= 0)
		unlinkat(x->dfd, "attachments", AT_REMOVEDIR);
	if (x->made_dir)
		rmdir(x->dir);
}

/* What was written, and what the daemon's verify concluded. */
static int
xp_report(const struct xp *x, const json_t *man)
{
	const json_t *v = json_object_get(man, "verify");
	bool valid = json_is_true(json_object_get(v, "valid"));
	if (x->c->quiet)
		return valid ? 0 : 1;
	const char *id = json_string_value(json_object_get(json_object_get(man, "message"), "id"));
	if (x->c->json) {
		json_dumpf(man, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
		return valid ? 0 : 1;
	}
	size_t i;
	const json_t *e;
	json_array_foreach(json_object_get(man, "files"), i, e)
		printf("%-22s %12lld bytes  sha256 %s\n", json_string_value(json_object_get(e, "path")),
		    (long long)json_integer_value(json_object_get(e, "size")),
		    json_string_value(json_object_get(e, "sha256")));
	json_array_foreach(json_object_get(v, "checks"), i, e)
		if (!json_is_true(json_object_get(e, "ok")))
			printf("FAIL %s: %s\n", json_string_value(json_object_get(e, "check")),
			    json_string_value(json_object_get(e, "detail")));
	printf("%s: exported to %s (%s); check it by hand with %s/VERIFY.md\n", id ? id : "?",
	    x->dir, valid ? "verify: valid" : "verify: INVALID", x->dir);
	return valid ? 0 : 1;
}

/* The audit log's proof goes into the bundle (audit.json) once a checkpoint covers the
 * message's entries: `audit prove` has one signed when none does yet. Without it the
 * bundle is still whole, only without audit.json. */
static void
xp_audit(struct xp *x)
{
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	Rogatory__Ctl__V1__AuditProveRequest q = ROGATORY__CTL__V1__AUDIT_PROVE_REQUEST__INIT;
	q.message_id = x->q.message_id;
	q.sender_id = x->q.sender_id;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_AUDIT_PROVE;
	req.audit_prove = &q;
	int rc = 0;
	Rogatory__Ctl__V1__Reply *r = ctl_roundtrip(x->c, &req, &rc);
	if (r == NULL)
		fprintf(stderr, "rogatoryctl: the bundle will lack the audit log's proof\n");
	wire_ctl_reply_free(r);
}

int
ctl_export_run(struct ctl *c, int argc, char **argv)
{
	struct xp x = {.c = c, .dfd = -1, .afd = -1};
	rogatory__ctl__v1__export_request__init(&x.q);
	const char *id = NULL, *from = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			x.dir = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (argv[i][0] != '-' && id == NULL)
			id = argv[i];
		else
			id = x.dir = NULL, i = argc;
	}
	if (id == NULL || x.dir == NULL ||
	    !text_uuid_valid((const uint8_t *)id, strlen(id)) ||
	    (from != NULL && !text_authority_id_valid((const uint8_t *)from, strlen(from)))) {
		fprintf(stderr, "usage: rogatoryctl export ID [--from AUTHORITY] --out DIR\n"
		    "  (ID a lower-case UUID, AUTHORITY an authority id)\n");
		return 2;
	}
	x.q.message_id.data = (uint8_t *)id;
	x.q.message_id.len = strlen(id);
	x.q.sender_id.data = (uint8_t *)from;
	x.q.sender_id.len = from ? strlen(from) : 0;
	int rc = 1;
	json_t *man = NULL;
	bool keep = false;
	xp_audit(&x);
	if (xp_open_dir(&x) != 0)
		goto done;
	int got = XP_CHANGED;
	for (int attempt = 0; got == XP_CHANGED && attempt < XP_ATTEMPTS; attempt++) {
		if (attempt > 0) {
			fprintf(stderr, "rogatoryctl: exporting %s again\n", id);
			xp_forget(&x);
		}
		json_decref(man);
		man = NULL;
		got = xp_files(&x, &man, &rc);
	}
	if (got != 0)
		goto done;
	const json_t *files = json_object_get(man, "files");
	rc = 1;
	char *text = json_dumps(man, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	int w = text != NULL ? xp_write(&x, "manifest.json", text, strlen(text)) : -1;
	free(text);
	if (w != 0 || xp_sums(&x, files) != 0 || fsync(x.dfd) != 0)
		goto done;
	keep = true;
	rc = xp_report(&x, man);
done:
	if (!keep)
		xp_cleanup(&x);
	if (x.afd >= 0)
		close(x.afd);
	if (x.dfd >= 0)
		close(x.dfd);
	json_decref(man);
	return rc;
}
