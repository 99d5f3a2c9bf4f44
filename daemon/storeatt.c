/*
 * storeatt: attachment bytes as files of the state directory, part of the store module.
 * A sealed attachment is <state_dir>/attachments/ab/abcd... (its SHA-256 in hex, the
 * first two digits its folder), named by rows of `attachments` (bset, att) -> (sha256,
 * size); identical attachments are one file. Chunks are written by the loop thread, as
 * they arrive and straight from the socket's buffer, to staging files
 * (attachments/staging/BSET-ATT), not synced; a SUBMIT or RECEIVE seals
 * its message's attachments inside its savepoint, before its row: fsync, rename to the
 * hash's name, fsync of that folder, so no committed row names bytes that are not
 * durable. It must never hold an attachment in memory (reads are a pread at an offset)
 * and never keep, after start-up, a file no committed row names (the sweep: staging,
 * files of a seal whose op was rolled back or cut by a crash, references of no message).
 * Error policy: a failed write or seal fails its op (STORE_R_FULL on ENOSPC/EDQUOT or
 * [store] max_size, else STORE_R_ERROR naming the file); the migration of chunk rows and
 * the sweep fail the open with the file named. The loop thread writes staging and
 * reads sealed files; the store thread seals and drops staging (after the loop's
 * writes, which are done before it submits the op).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "crash.h"
#include "log.h"
#include "storedb.h"
#include "wire.h"

#define ATT_DIR "attachments"
#define ATT_STAGING "staging"
#define STAGE_FLUSH (8u << 20)

static int att_mkdir(const char *path, const char *parent, char *err, size_t errlen);
static int fsync_dir(const char *path);
static void hex_of(const uint8_t sha[STORE_HASH_LEN], char out[2 * STORE_HASH_LEN + 1]);

/* Two lower-case hex digits (a folder of sealed files). */
static bool
hex2(const char *name)
{
	for (int i = 0; i < 2; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return name[2] == '\0';
}

/* ---- paths ---- */

void
storeatt_staging_path(const struct store *s, int64_t bset, uint32_t att, char *out,
    size_t len)
{
	snprintf(out, len, "%s/" ATT_STAGING "/%" PRId64 "-%" PRIu32, s->att_dir, bset, att);
}

/* The sealed file of sha (and its folder in dir when not NULL). */
static void
sealed_path(const struct store *s, const uint8_t sha[STORE_HASH_LEN], char *out, size_t len,
    char *dir, size_t dirlen)
{
	char hex[2 * STORE_HASH_LEN + 1];
	hex_of(sha, hex);
	snprintf(out, len, "%s/%.2s/%s", s->att_dir, hex, hex);
	if (dir != NULL)
		snprintf(dir, dirlen, "%s/%.2s", s->att_dir, hex);
}

static void
hex_of(const uint8_t sha[STORE_HASH_LEN], char out[2 * STORE_HASH_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < STORE_HASH_LEN; i++) {
		out[2 * i] = digits[sha[i] >> 4];
		out[2 * i + 1] = digits[sha[i] & 15];
	}
	out[2 * STORE_HASH_LEN] = '\0';
}

static int
unhex(const char *hex, uint8_t sha[STORE_HASH_LEN])
{
	if (strlen(hex) != 2 * STORE_HASH_LEN)
		return -1;
	for (size_t i = 0; i < 2 * STORE_HASH_LEN; i++) {
		char c = hex[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		if (i % 2 == 0)
			sha[i / 2] = (uint8_t)(v << 4);
		else
			sha[i / 2] |= (uint8_t)v;
	}
	return 0;
}

static int
fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* Creates path when missing; a new folder is made durable in parent. */
static int
att_mkdir(const char *path, const char *parent, char *err, size_t errlen)
{
	if (mkdir(path, 0700) == 0) {
		if (parent != NULL && fsync_dir(parent) != 0)
			return err_set(err, errlen, "cannot sync folder %s: %s", parent,
			    strerror(errno));
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	return err_set(err, errlen, "cannot create folder %s: %s", path, strerror(errno));
}

static enum store_result
att_fail(struct store_op *op, int e, const char *what, const char *path)
{
	snprintf(op->error, sizeof(op->error), "%s %.160s: %s", what, path, strerror(e));
	return e == ENOSPC || e == EDQUOT ? STORE_R_FULL : STORE_R_ERROR;
}

/* ---- loop thread: staging ---- */

enum store_result
store_stage_write(struct store *s, int64_t bset, uint32_t att, uint64_t off,
    const struct iovec *iov, int n, char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	storeatt_staging_path(s, bset, att, path, sizeof(path));
	uint64_t max = atomic_load(&s->max_size_want);
	if (max > 0) {
		int64_t used = store_size_bytes(s);
		if (used < 0 || (uint64_t)used + len > max) {
			err_set(err, errlen, "[store] max_size %" PRIu64 " reached (database and "
			    "attachment files)", max);
			return STORE_R_FULL;
		}
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		err_set(err, errlen, "cannot open staged attachment %.160s: %s", path, strerror(e));
		return e == ENOSPC || e == EDQUOT ? STORE_R_FULL : STORE_R_ERROR;
	}
	/* Whole iovecs as the kernel takes them; a short write goes on where it stopped. */
	struct iovec v[16];
	int at = 0;
	size_t skip = 0, done = 0;
	while (done < len) {
		int k = 0;
		for (int i = at; i < n && k < 16; i++, k++) {
			v[k].iov_base = (uint8_t *)iov[i].iov_base + (i == at ? skip : 0);
			v[k].iov_len = iov[i].iov_len - (i == at ? skip : 0);
		}
		ssize_t w = pwritev(fd, v, k, (off_t)(off + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			close(fd);
			err_set(err, errlen, "cannot write staged attachment %.160s: %s", path,
			    strerror(e));
			return e == ENOSPC || e == EDQUOT ? STORE_R_FULL : STORE_R_ERROR;
		}
		done += (size_t)w;
		for (size_t adv = (size_t)w; adv > 0 && at < n;) {
			size_t rest = iov[at].iov_len - skip;
			if (adv < rest) {
				skip += adv;
				adv = 0;
			} else {
				adv -= rest;
				at++;
				skip = 0;
			}
		}
	}
	/* Writeback started every STAGE_FLUSH bytes (not waited for): the seal's fsync
	 * before the commit then finds little left to write, and a large attachment never
	 * holds more than that much dirty memory of its own. */
	if ((off + len) / STAGE_FLUSH != off / STAGE_FLUSH)
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	close(fd);
	atomic_fetch_add(&s->att_bytes, (int64_t)len);
	return STORE_R_OK;
}

/* Removes one staging file, its bytes no longer counted. */
static void
stage_unlink(struct store *s, const char *path)
{
	struct stat sb;
	if (stat(path, &sb) == 0 && unlink(path) == 0)
		atomic_fetch_sub(&s->att_bytes, (int64_t)sb.st_size);
}

/* Removes a blob set's staging files by their exact names (an attachment index is below
 * WIRE_ATTACHMENTS_MAX): never a scan of the staging folder, whose size a peer's kept
 * stages set. */
enum store_result
storeatt_drop(struct store *s, struct store_op *op)
{
	char path[PATH_MAX];
	/* The record first: a crash in between leaves files without one (swept). */
	storestage_forget(s, op->chunk.bset);
	for (uint32_t att = 0; att < WIRE_ATTACHMENTS_MAX; att++) {
		storeatt_staging_path(s, op->chunk.bset, att, path, sizeof(path));
		stage_unlink(s, path);
	}
	return STORE_R_OK;
}

/* ---- store thread: sealing ---- */

static enum store_result seal_name(struct store *s, struct store_op *op, int64_t bset,
    uint32_t att, const struct store_att *a);

static enum store_result
seal_one(struct store *s, struct store_op *op, uint32_t att, const struct store_att *a)
{
	char stage[PATH_MAX], final[PATH_MAX], dir[PATH_MAX];
	int64_t bset = op->msg.bset;
	storeatt_staging_path(s, bset, att, stage, sizeof(stage));
	sealed_path(s, a->sha256, final, sizeof(final), dir, sizeof(dir));
	int fd = open(stage, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	/* Sealed already by this op's first run, in a batch whose transaction was then lost
	 * (re-run by storeop): the file under its hash holds the bytes (every file there was
	 * hashed by whoever made it); only its row is missing. */
	if (fd < 0 && errno == ENOENT && stat(final, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (uint64_t)sb.st_size == a->size)
		return seal_name(s, op, bset, att, a);
	if (fd < 0 && errno == ENOENT && a->size == 0)
		fd = open(stage, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return att_fail(op, errno, "cannot open staged attachment", stage);
	if (fstat(fd, &sb) != 0 || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		return att_fail(op, e, "cannot sync staged attachment", stage);
	}
	close(fd);
	if ((uint64_t)sb.st_size != a->size) {
		snprintf(op->error, sizeof(op->error), "staged attachment %.160s holds %lld bytes, "
		    "its manifest says %" PRIu64, stage, (long long)sb.st_size, a->size);
		return STORE_R_ERROR;
	}
	if (att_mkdir(dir, s->att_dir, op->error, sizeof(op->error)) != 0)
		return STORE_R_ERROR;
	if (access(final, F_OK) == 0) {
		/* Stored once already (same SHA-256): the staged copy goes. */
		stage_unlink(s, stage);
	} else if (rename(stage, final) != 0) {
		return att_fail(op, errno, "cannot rename staged attachment to", final);
	}
	if (fsync_dir(dir) != 0)
		return att_fail(op, errno, "cannot sync folder", dir);
	return seal_name(s, op, bset, att, a);
}

/* The row naming a sealed file: (bset, att) -> (sha256, size). */
static enum store_result
seal_name(struct store *s, struct store_op *op, int64_t bset, uint32_t att,
    const struct store_att *a)
{
	sqlite3_stmt *st = store_wstmt(s, W_ATT_REF);
	if (st == NULL)
		return store_op_fail(s, op, sqlite3_errcode(s->w));
	sqlite3_bind_int64(st, 1, bset);
	sqlite3_bind_int64(st, 2, att);
	sqlite3_bind_blob(st, 3, a->sha256, STORE_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)a->size);
	return store_w_step(s, op, st);
}

enum store_result
storeatt_seal(struct store *s, struct store_op *op)
{
	/* Sealed, the staging is no longer resumed: its record goes first. */
	if (op->msg.n_atts > 0)
		storestage_forget(s, op->msg.bset);
	for (size_t i = 0; i < op->msg.n_atts; i++) {
		enum store_result r = seal_one(s, op, (uint32_t)i, &op->msg.atts[i]);
		if (r != STORE_R_OK)
			return r;
	}
	if (op->msg.n_atts > 0)
		crash_point("store-attachments-sealed");
	return STORE_R_OK;
}

/* ---- loop thread: reading ---- */

/* The sealed file of (bset, att) and its size: 0; 1 when no row names one; -1. */
static int
att_lookup(struct store *s, int64_t bset, uint32_t att, char *path, size_t len,
    uint64_t *size)
{
	sqlite3_stmt *st = store_r_stmt(s, R_ATT);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, bset);
	sqlite3_bind_int64(st, 2, att);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 1;
	}
	if (rc != SQLITE_ROW)
		return store_r_fail(s, st);
	uint8_t sha[STORE_HASH_LEN];
	store_col_hash(st, 0, sha);
	*size = (uint64_t)sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	sealed_path(s, sha, path, len, NULL, 0);
	return 0;
}

int
storeatt_pread(const char *path, uint64_t off, uint8_t *dst, size_t len, char *err,
    size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_set(err, errlen, "cannot open attachment %s: %s", path, strerror(errno));
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, dst + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set(err, errlen, "cannot read attachment %s at %" PRIu64 ": %s", path,
			    off + got, n < 0 ? strerror(errno) : "shorter than expected");
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	return 0;
}

/* len bytes of the file at path from off into dst. 0 / -1 (logged). */
static int
att_pread(const char *path, uint64_t off, uint8_t *dst, size_t len)
{
	char err[PATH_MAX + 100];
	if (storeatt_pread(path, off, dst, len, err, sizeof(err)) != 0) {
		log_err("store: %s", err);
		return -1;
	}
	return 0;
}

int
storeatt_read(struct store *s, int64_t bset, uint32_t att, uint64_t off, size_t max,
    uint8_t **data, size_t *len)
{
	char path[PATH_MAX];
	uint64_t size = 0;
	*data = NULL;
	*len = 0;
	int r = att_lookup(s, bset, att, path, sizeof(path), &size);
	if (r != 0)
		return r;
	if (off >= size || max == 0)
		return 1;
	size_t take = size - off < max ? (size_t)(size - off) : max;
	uint8_t *p = malloc(take);
	if (p == NULL) {
		log_err("store: out of memory reading attachment %s", path);
		return -1;
	}
	if (att_pread(path, off, p, take) != 0) {
		free(p);
		return -1;
	}
	*data = p;
	*len = take;
	return 0;
}

int
store_chunk_read_into(struct store *s, int64_t bset, uint32_t att, uint64_t off,
    uint8_t *dst, size_t len)
{
	char path[PATH_MAX];
	uint64_t size = 0;
	if (att_lookup(s, bset, att, path, sizeof(path), &size) != 0 || off > size ||
	    size - off < len)
		return -1;
	return att_pread(path, off, dst, len);
}

int64_t
storeatt_bytes(struct store *s)
{
	return atomic_load(&s->att_bytes);
}

/* ---- open: migration of chunk rows, sweep ---- */

struct mig_ref {
	int64_t bset;
	uint32_t att;
	uint64_t size;
	uint8_t sha[STORE_HASH_LEN];
};

/* Writes the chunks of (bset, att) to a staging file, hashing them, then seals it. */
static int
migrate_one(struct store *s, sqlite3_stmt *rows, struct mig_ref *ref, char *err, size_t errlen)
{
	char stage[PATH_MAX], final[PATH_MAX], dir[PATH_MAX];
	storeatt_staging_path(s, ref->bset, ref->att, stage, sizeof(stage));
	int fd = open(stage, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_set(err, errlen, "cannot create %s: %s", stage, strerror(errno));
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ret = -1, rc;
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		err_set(err, errlen, "SHA-256 unavailable");
		goto out;
	}
	sqlite3_bind_int64(rows, 1, ref->bset);
	sqlite3_bind_int64(rows, 2, ref->att);
	ref->size = 0;
	while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
		const uint8_t *p = sqlite3_column_blob(rows, 0);
		size_t n = (size_t)sqlite3_column_bytes(rows, 0);
		if (n > 0 && (write(fd, p, n) != (ssize_t)n || EVP_DigestUpdate(md, p, n) != 1)) {
			err_set(err, errlen, "cannot write %s: %s", stage, strerror(errno));
			sqlite3_reset(rows);
			goto out;
		}
		ref->size += n;
	}
	sqlite3_reset(rows);
	if (rc != SQLITE_DONE) {
		err_set(err, errlen, "reading chunks: %s", sqlite3_errmsg(s->w));
		goto out;
	}
	if (EVP_DigestFinal_ex(md, ref->sha, NULL) != 1 || fsync(fd) != 0) {
		err_set(err, errlen, "cannot sync %s: %s", stage, strerror(errno));
		goto out;
	}
	sealed_path(s, ref->sha, final, sizeof(final), dir, sizeof(dir));
	if (att_mkdir(dir, s->att_dir, err, errlen) != 0)
		goto out;
	if (rename(stage, final) != 0 || fsync_dir(dir) != 0) {
		err_set(err, errlen, "cannot move %s to %s: %s", stage, final, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	EVP_MD_CTX_free(md);
	close(fd);
	return ret;
}

/* Puts the refs in and drops the chunks table, in one transaction. */
static int
migrate_commit(struct store *s, const struct mig_ref *refs, size_t n, char *err,
    size_t errlen)
{
	sqlite3_stmt *ins = NULL;
	if (sqlite3_exec(s->w, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->w, "INSERT OR REPLACE INTO attachments (bset, att, sha256, size)"
	        " VALUES (?1, ?2, ?3, ?4)", -1, &ins, NULL) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(ins, 1, refs[i].bset);
		sqlite3_bind_int64(ins, 2, refs[i].att);
		sqlite3_bind_blob(ins, 3, refs[i].sha, STORE_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 4, (int64_t)refs[i].size);
		if (sqlite3_step(ins) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	ins = NULL;
	crash_point("store-migrate-attachments");
	if (sqlite3_exec(s->w, "DROP TABLE chunks; COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	err_set(err, errlen, "database %s: moving attachments out of the database: %s", s->path,
	    sqlite3_errmsg(s->w));
	sqlite3_finalize(ins);
	if (!sqlite3_get_autocommit(s->w))
		sqlite3_exec(s->w, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Chunk rows of a store before schema 14 become files; an interrupted run reruns (the
 * chunks table stays until the transaction that names the files). */
static int
migrate_chunks(struct store *s, char *err, size_t errlen)
{
	int64_t has = 0;
	sqlite3_stmt *q = NULL, *rows = NULL;
	if (sqlite3_prepare_v2(s->w, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	        " AND name = 'chunks'", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		has = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = NULL;
	if (has == 0)
		return 0;
	struct mig_ref *refs = NULL;
	size_t n = 0, cap = 0;
	int ret = -1, rc;
	if (sqlite3_prepare_v2(s->w, "SELECT DISTINCT bset, att FROM chunks WHERE bset IN"
	        " (SELECT bset FROM messages WHERE bset <> 0) ORDER BY bset, att", -1, &q,
	        NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->w, "SELECT data FROM chunks WHERE bset = ?1 AND att = ?2"
	        " ORDER BY off", -1, &rows, NULL) != SQLITE_OK) {
		err_set(err, errlen, "database %s: %s", s->path, sqlite3_errmsg(s->w));
		goto out;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct mig_ref *nr = realloc(refs, cap * sizeof(*refs));
			if (nr == NULL) {
				err_set(err, errlen, "out of memory");
				goto out;
			}
			refs = nr;
		}
		refs[n].bset = sqlite3_column_int64(q, 0);
		refs[n].att = (uint32_t)sqlite3_column_int64(q, 1);
		n++;
	}
	if (rc != SQLITE_DONE) {
		err_set(err, errlen, "database %s: %s", s->path, sqlite3_errmsg(s->w));
		goto out;
	}
	sqlite3_finalize(q);
	q = NULL;
	for (size_t i = 0; i < n; i++)
		if (migrate_one(s, rows, &refs[i], err, errlen) != 0)
			goto out;
	sqlite3_finalize(rows);
	rows = NULL;
	if (migrate_commit(s, refs, n, err, errlen) != 0)
		goto out;
	if (n > 0)
		log_notice("database %s: %zu attachments moved from the database to %s", s->path,
		    n, s->att_dir);
	ret = 0;
out:
	sqlite3_finalize(q);
	sqlite3_finalize(rows);
	free(refs);
	return ret;
}

/* Whether a committed row names sha. 1, 0, -1. */
static int
sha_named(struct store *s, sqlite3_stmt *st, const uint8_t sha[STORE_HASH_LEN])
{
	sqlite3_bind_blob(st, 1, sha, STORE_HASH_LEN, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	(void)s;
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* One folder ab/ of sealed files: those no row names go; the rest are counted. */
static int
sweep_folder(struct store *s, sqlite3_stmt *named, const char *dir, int *removed,
    char *err, size_t errlen)
{
	DIR *dh = opendir(dir);
	if (dh == NULL)
		return err_set(err, errlen, "cannot read folder %s: %s", dir, strerror(errno));
	struct dirent *de;
	char path[PATH_MAX + 256];
	int ret = 0;
	while ((de = readdir(dh)) != NULL) {
		uint8_t sha[STORE_HASH_LEN];
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unhex(de->d_name, sha) != 0) {
			log_warn("store: %s is not an attachment file; left alone", path);
			continue;
		}
		int k = sha_named(s, named, sha);
		if (k < 0) {
			ret = err_set(err, errlen, "database %s: %s", s->path, sqlite3_errmsg(s->w));
			break;
		}
		struct stat sb;
		if (k == 0) {
			if (unlink(path) != 0) {
				ret = err_set(err, errlen, "cannot remove %s: %s", path,
				    strerror(errno));
				break;
			}
			(*removed)++;
		} else if (stat(path, &sb) == 0) {
			atomic_fetch_add(&s->att_bytes, (int64_t)sb.st_size);
		}
	}
	closedir(dh);
	return ret;
}

/* Staging of incomplete messages and files no committed row names are removed. */
static int
sweep(struct store *s, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int removed = 0;
	if (sqlite3_exec(s->w, "DELETE FROM attachments WHERE bset NOT IN"
	        " (SELECT bset FROM messages WHERE bset <> 0)", NULL, NULL, NULL) != SQLITE_OK)
		return err_set(err, errlen, "database %s: %s", s->path, sqlite3_errmsg(s->w));
	/* Staging with a valid record stays for a resume; the rest goes (logged there). */
	if (storestage_sweep(s, err, errlen) != 0)
		return -1;
	sqlite3_stmt *named = NULL;
	struct dirent *de;
	DIR *dh;
	if (sqlite3_prepare_v2(s->w, "SELECT 1 FROM attachments WHERE sha256 = ?1 LIMIT 1", -1,
	        &named, NULL) != SQLITE_OK)
		return err_set(err, errlen, "database %s: %s", s->path, sqlite3_errmsg(s->w));
	int ret = 0;
	if ((dh = opendir(s->att_dir)) == NULL) {
		sqlite3_finalize(named);
		return err_set(err, errlen, "cannot read folder %s: %s", s->att_dir,
		    strerror(errno));
	}
	while (ret == 0 && (de = readdir(dh)) != NULL) {
		if (!hex2(de->d_name))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", s->att_dir, de->d_name);
		ret = sweep_folder(s, named, dir, &removed, err, errlen);
	}
	closedir(dh);
	sqlite3_finalize(named);
	if (ret == 0 && removed > 0)
		log_info("store: removed %d attachment files no message names", removed);
	return ret;
}

int
storeatt_open(struct store *s, const char *state_dir, char *err, size_t errlen)
{
	char staging[PATH_MAX + 16];
	atomic_init(&s->att_bytes, 0);
	if ((size_t)snprintf(s->att_dir, sizeof(s->att_dir), "%s/" ATT_DIR, state_dir) >=
	    sizeof(s->att_dir) - 2 * STORE_HASH_LEN - 16)
		return err_set(err, errlen, "[store] state_dir %s: path too long", state_dir);
	snprintf(staging, sizeof(staging), "%s/" ATT_STAGING, s->att_dir);
	if (att_mkdir(s->att_dir, state_dir, err, errlen) != 0 ||
	    att_mkdir(staging, s->att_dir, err, errlen) != 0 ||
	    migrate_chunks(s, err, errlen) != 0 ||
	    sweep(s, err, errlen) != 0)
		return -1;
	return 0;
}
