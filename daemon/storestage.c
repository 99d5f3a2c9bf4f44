/*
 * storestage: staging that survives a restart of the receiver, part of the store module.
 * The inbox makes a message's staged attachments durable in steps: the files fsynced,
 * then a record beside them (attachments/staging/BSET.resume, stagerec.h) naming the
 * durable point. At open the sweep keeps the staging of each valid record, cut to that
 * point, and removes everything else in the staging folder, each with one log line; the
 * inbox takes the kept records (store_stage_kept) and judges their age. It must never
 * keep a byte above a durable point, nor a staged file without a valid record.
 * Error policy: a record that cannot be read, parsed or matched with its files is removed
 * with its staging (logged, not fatal); an unreadable folder fails the open.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "stagerec.h"
#include "statefile.h"
#include "storedb.h"

#define STAGING "staging"
#define RECORD_SUFFIX ".resume"

static void
record_name(int64_t bset, char *out, size_t len)
{
	snprintf(out, len, "%" PRId64 RECORD_SUFFIX, bset);
}

/* An entry of the staging folder by its exact name: a record "BSET.resume" (att NULL) or
 * a staged file "BSET-ATT", each written as this build writes it (no sign, no leading
 * zero: two names never mean one blob set). */
static bool
entry_parse(const char *name, int64_t *bset, uint32_t *att, bool *record)
{
	char canon[64];
	int used = 0;
	*att = 0;
	*record = sscanf(name, "%" SCNd64 RECORD_SUFFIX "%n", bset, &used) == 1 &&
	    (size_t)used == strlen(name);
	if (*record)
		record_name(*bset, canon, sizeof(canon));
	else if (sscanf(name, "%" SCNd64 "-%" SCNu32 "%n", bset, att, &used) == 2 &&
	    (size_t)used == strlen(name))
		snprintf(canon, sizeof(canon), "%" PRId64 "-%" PRIu32, *bset, *att);
	else
		return false;
	return *bset > 0 && strcmp(canon, name) == 0;
}

static void
staging_dir(const struct store *s, char *out, size_t len)
{
	snprintf(out, len, "%s/" STAGING, s->att_dir);
}

/* ---- loop thread ---- */

int
store_stage_durable(struct store *s, const struct stagerec *r, uint32_t from_att, char *err,
    size_t errlen)
{
	char path[PATH_MAX], dir[PATH_MAX], name[64];
	for (uint32_t i = from_att; i <= r->att && i < r->n; i++) {
		storeatt_staging_path(s, r->bset, i, path, sizeof(path));
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 && errno == ENOENT && (r->sizes[i] == 0 || (i == r->att && r->off == 0)))
			continue;
		if (fd < 0 || fsync(fd) != 0) {
			err_set(err, errlen, "cannot sync staged attachment %s: %s", path,
			    strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	char *text = malloc(STAGEREC_TEXT_MAX);
	if (text == NULL)
		return err_set(err, errlen, "out of memory");
	size_t len = stagerec_format(r, text, STAGEREC_TEXT_MAX);
	staging_dir(s, dir, sizeof(dir));
	record_name(r->bset, name, sizeof(name));
	int rc = statefile_write(dir, name, (const uint8_t *)text, len, err, errlen);
	free(text);
	return rc;
}

int
store_stage_read(struct store *s, int64_t bset, uint32_t att, uint64_t off, uint8_t *dst,
    size_t len, char *err, size_t errlen)
{
	char path[PATH_MAX];
	storeatt_staging_path(s, bset, att, path, sizeof(path));
	return storeatt_pread(path, off, dst, len, err, errlen);
}

void
store_stage_kept(struct store *s, struct stagerec **out, size_t *n)
{
	*out = s->kept;
	*n = s->n_kept;
	s->kept = NULL;
	s->n_kept = 0;
}

/* ---- either thread ---- */

void
storestage_forget(struct store *s, int64_t bset)
{
	char dir[PATH_MAX], name[64], path[PATH_MAX + 64];
	staging_dir(s, dir, sizeof(dir));
	record_name(bset, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

/* ---- open: the sweep of the staging folder ---- */

/* Reads and parses the record at path (of blob set bset). 0 / -1 + err. */
static int
record_load(const char *path, int64_t bset, struct stagerec *r, char *err, size_t errlen)
{
	/* O_NONBLOCK and a regular file only: a FIFO put there must not hold the start. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return err_set(err, errlen, "cannot open: %s", strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return err_set(err, errlen, "not a regular file");
	}
	char *text = malloc(STAGEREC_TEXT_MAX + 1);
	if (text == NULL) {
		close(fd);
		return err_set(err, errlen, "out of memory");
	}
	ssize_t n = read(fd, text, STAGEREC_TEXT_MAX + 1);
	close(fd);
	int rc = -1;
	if (n < 0)
		err_set(err, errlen, "cannot read: %s", strerror(errno));
	else if (n > STAGEREC_TEXT_MAX)
		err_set(err, errlen, "longer than a staging record may be");
	else if (stagerec_parse(text, (size_t)n, r, err, errlen) == 0) {
		if (r->bset != bset)
			err_set(err, errlen, "names blob set %" PRId64, r->bset);
		else
			rc = 0;
	}
	free(text);
	return rc;
}

/* The staged files of r hold at least its durable bytes: each is cut to them. 0 / -1. */
static int
record_files_cut(struct store *s, const struct stagerec *r, char *err, size_t errlen)
{
	char path[PATH_MAX];
	for (uint32_t i = 0; i <= r->att; i++) {
		uint64_t want = i < r->att ? r->sizes[i] : r->off;
		storeatt_staging_path(s, r->bset, i, path, sizeof(path));
		/* Never through a link, never a FIFO or device: only our own regular files. */
		int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0) {
			if (errno == ENOENT && want == 0)
				continue;
			return err_set(err, errlen, "staged attachment %" PRIu32 ": %s", i,
			    strerror(errno));
		}
		struct stat sb;
		int rc = 0;
		if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
			rc = err_set(err, errlen, "staged attachment %" PRIu32 ": not a regular file",
			    i);
		else if ((uint64_t)sb.st_size < want)
			rc = err_set(err, errlen, "staged attachment %" PRIu32 " holds %lld bytes, "
			    "its durable point says %" PRIu64, i, (long long)sb.st_size, want);
		else if ((uint64_t)sb.st_size > want && ftruncate(fd, (off_t)want) != 0)
			rc = err_set(err, errlen, "cannot cut staged attachment %" PRIu32 " to %"
			    PRIu64 " bytes: %s", i, want, strerror(errno));
		close(fd);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static const struct stagerec *
kept_find(const struct store *s, int64_t bset)
{
	for (size_t i = 0; i < s->n_kept; i++)
		if (s->kept[i].bset == bset)
			return &s->kept[i];
	return NULL;
}

/* First pass: the valid records, their files cut; the others removed (logged). */
static int
sweep_records(struct store *s, DIR *dh, const char *dir)
{
	struct dirent *de;
	char path[PATH_MAX * 2], why[300];
	while ((de = readdir(dh)) != NULL) {
		int64_t bset = 0;
		uint32_t att;
		bool record;
		if (!entry_parse(de->d_name, &bset, &att, &record) || !record)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct stagerec r;
		if (record_load(path, bset, &r, why, sizeof(why)) != 0 ||
		    record_files_cut(s, &r, why, sizeof(why)) != 0) {
			log_warn("store: staging record %s removed with its staged files: %s", path,
			    why);
			unlink(path);
			continue;
		}
		/* At most STORESTAGE_KEPT_MAX, the newest (the inbox keeps no more than that in
		 * all): memory at start does not grow with what the folder holds. The one left
		 * out loses its record and files in the second pass. */
		size_t slot = s->n_kept;
		if (s->n_kept == STORESTAGE_KEPT_MAX) {
			slot = 0;
			for (size_t i = 1; i < s->n_kept; i++)
				if (s->kept[i].started_s < s->kept[slot].started_s)
					slot = i;
			if (s->kept[slot].started_s >= r.started_s)
				continue;
		} else {
			struct stagerec *nk = realloc(s->kept, (s->n_kept + 1) * sizeof(*nk));
			if (nk == NULL)
				return -1;
			s->kept = nk;
			s->n_kept++;
		}
		s->kept[slot] = r;
	}
	return 0;
}

/* Whether the staging folder's entry name stays: a kept record, or a file of its
 * attachments up to the durable point. */
static bool
entry_kept(const struct store *s, const char *name)
{
	int64_t bset = 0;
	uint32_t att = 0;
	bool record;
	if (!entry_parse(name, &bset, &att, &record))
		return false;
	const struct stagerec *r = kept_find(s, bset);
	return r != NULL && (record || att <= r->att);
}

int
storestage_sweep(struct store *s, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX * 2];
	int staged = 0;
	long long staged_bytes = 0;
	staging_dir(s, dir, sizeof(dir));
	DIR *dh = opendir(dir);
	if (dh == NULL)
		return err_set(err, errlen, "cannot read folder %s: %s", dir, strerror(errno));
	if (sweep_records(s, dh, dir) != 0) {
		closedir(dh);
		return err_set(err, errlen, "out of memory");
	}
	rewinddir(dh);
	struct dirent *de;
	while ((de = readdir(dh)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct stat sb;
		if (lstat(path, &sb) != 0)
			continue;
		if (S_ISREG(sb.st_mode) && entry_kept(s, de->d_name)) {
			if (strstr(de->d_name, RECORD_SUFFIX) == NULL)
				atomic_fetch_add(&s->att_bytes, (int64_t)sb.st_size);
		} else if (unlink(path) == 0) {
			staged++;
			staged_bytes += (long long)sb.st_size;
		}
	}
	closedir(dh);
	if (staged > 0)
		log_info("store: dropped %d staged attachment files, %lld bytes (incomplete "
		    "messages) without a valid staging record", staged, staged_bytes);
	for (size_t i = 0; i < s->n_kept; i++) {
		const struct stagerec *r = &s->kept[i];
		log_info("store: staging of message %s from %s kept for a resume: %" PRIu64 " bytes "
		    "durable (attachment %" PRIu32 ", offset %" PRIu64 ")", r->msg_id, r->sender,
		    stagerec_durable_bytes(r), r->att, r->off);
	}
	return 0;
}
