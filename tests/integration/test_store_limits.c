/*
 * 08-store: the message store at its limits, with real daemons. A full store ([store]
 * max_size) refuses submissions with "store full" and answers inbound transfers with
 * TRY_LATER, damages nothing already stored, and recovers when the limit is raised by a
 * reload; a corrupt database is refused at start with its path named, byte for byte
 * untouched.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "support.h"
#include "traffic.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

static const char *
sl_path(struct tnet *t, int i, const char *file)
{
	static char path[8][4096];
	static int slot;
	char *p = path[slot++ % 8];
	snprintf(p, 4096, "%s/state/%s", t->node[i].home, file);
	return p;
}

static int
sl_count_event(struct tnet *t, int i, const char *event)
{
	char ev[64];
	snprintf(ev, sizeof(ev), "\"event\":\"%s\"", event);
	return ts_file_count(sl_path(t, i, "delivery.jsonl"), ev);
}

static bool
sl_wait_count(struct tnet *t, int i, const char *event, int n, int ms)
{
	for (int waited = 0; waited < ms; waited += 100) {
		if (sl_count_event(t, i, event) >= n)
			return true;
		usleep(100000);
	}
	return false;
}

/* A batch of n requests to FR-MJ, each with a long field so the store fills quickly. */
static const char *
sl_batch(struct tnet *t, const char *name, int n)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/%s.jsonl", t->dir, name);
	FILE *f = fopen(path, "w");
	cr_assert(f != NULL);
	char pad[1501];
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (int i = 0; i < n; i++)
		fprintf(f, "{\"to\":\"FR-MJ\",\"kind\":\"other\",\"subject\":\"%s %d\","
		           "\"fields\":{\"note\":\"%s\"}}\n", name, i, pad);
	fclose(f);
	return path;
}

/* The ids (36-character lines) in a ctl output, newline-separated, and their count. */
static int
sl_ids(const char *out, char **ids)
{
	size_t cap = strlen(out) + 1;
	char *res = calloc(1, cap), *buf = strdup(out), *save = NULL;
	int n = 0;
	for (char *l = strtok_r(buf, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		if (strlen(l) != 36 || l[8] != '-')
			continue;
		strcat(res, l);
		strcat(res, "\n");
		n++;
	}
	free(buf);
	*ids = res;
	return n;
}

/* PRAGMA integrity_check on node i's database, read-only, while the daemon runs. */
static void
sl_assert_intact(struct tnet *t, int i)
{
	char *out = NULL;
	int rc = ts_sh(&out, "sqlite3 -readonly '%s' 'PRAGMA integrity_check' 2>&1",
	    sl_path(t, i, "rogatory.db"));
	cr_assert(rc == 0 && strcmp(out, "ok\n") == 0, "integrity_check of %s: %s",
	    t->node[i].id, out);
	free(out);
}

/* Every id answers show and verify (the signed document is whole). */
static void
sl_assert_readable(struct tnet *t, int i, const char *ids)
{
	char *buf = strdup(ids), *save = NULL;
	for (char *id = strtok_r(buf, "\n", &save); id != NULL; id = strtok_r(NULL, "\n", &save)) {
		char args[128], *out = NULL;
		snprintf(args, sizeof(args), "show %s", id);
		cr_assert_eq(tnet_ctl(t, i, &out, args), 0, "show %s: %s", id, out);
		free(out);
		snprintf(args, sizeof(args), "--json verify %s", id);
		tnet_ctl(t, i, &out, args);
		cr_assert(strstr(out, "\"valid\": true") != NULL, "verify %s: %s", id, out);
		free(out);
	}
	free(buf);
}

/* After a settle marker (tr_settle): the ids of the ctl outputs in ids, and no other,
 * delivered once at BD-ACC and received once at FR-MJ. */
static void
sl_assert_once(struct tnet *t, const char *ids)
{
	char *want = tr_output_ids(ids), *marker = tr_settle(t, 0, 1);
	char *got = tr_event_ids(t, 0, "delivered", marker);
	cr_assert_str_eq(got, want, "delivered at BD-ACC: not the ids submitted");
	free(got);
	got = tr_event_ids(t, 1, "received", marker);
	cr_assert_str_eq(got, want, "received at FR-MJ: not the ids submitted");
	free(got);
	free(marker);
	free(want);
}

static void
sl_reload(struct tnet *t, int i)
{
	int before = tnet_log_count(t, i, "reload: done");
	cr_assert_eq(kill(t->node[i].pid, SIGHUP), 0);
	for (int waited = 0; waited < 10000; waited += 50) {
		if (tnet_log_count(t, i, "reload: done") > before)
			return;
		usleep(50000);
	}
	cr_assert_fail("%s: no \"reload: done\" within 10 s", t->node[i].id);
}

Test(store, full_sender_refuses_submissions_then_recovers_on_reload, .timeout = 120)
{
	struct tnet *t = tnet_new("store-full-out", ids2, 2);
	tnet_opt(t, 0, "store.max_size=256K");
	tnet_start(t, 0); /* FR-MJ stays down: everything accepted stays queued */
	char args[4300], *out = NULL, *ids = NULL;
	snprintf(args, sizeof(args), "send --batch '%s'", sl_batch(t, "fill", 400));
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 1, "the store never filled:\n%s", out);
	int accepted = sl_ids(out, &ids);
	cr_assert_gt(accepted, 5, "too few accepted before full (%d):\n%s", accepted, out);
	cr_assert_lt(accepted, 400, "%s", out);
	cr_assert(strstr(out, "store-full: store full: the message store reached [store] "
	    "max_size") != NULL, "%s", out);
	free(out);
	/* Smaller single submissions may still fit a page or two: send until refused, then
	 * the refusal says why and exits 1. */
	int rc = 0;
	for (int k = 0; k < 200 && rc == 0; k++) {
		rc = tnet_ctl(t, 0, &out, "send --to FR-MJ --kind other --subject 'One more'");
		if (rc == 0) {
			char *more = NULL;
			accepted += sl_ids(out, &more);
			ids = realloc(ids, strlen(ids) + strlen(more) + 1);
			strcat(ids, more);
			free(more);
			free(out);
		}
	}
	cr_assert_eq(rc, 1, "single submissions never refused: %s", out);
	cr_assert(strstr(out, "rogatoryctl: store-full: store full: the message store reached "
	    "[store] max_size or the disk is full; nothing was queued") != NULL, "%s", out);
	free(out);
	cr_assert_eq(sl_count_event(t, 0, "queued"), accepted);
	sl_assert_intact(t, 0);
	sl_assert_readable(t, 0, ids);
	/* Raise the limit: a reload applies it, no restart. */
	tnet_opt(t, 0, "store.max_size=64M");
	sl_reload(t, 0);
	cr_assert_eq(tnet_ctl(t, 0, &out, "send --to FR-MJ --kind other --subject 'After'"), 0,
	    "%s", out);
	ids = realloc(ids, strlen(ids) + strlen(out) + 1);
	strcat(ids, out);
	free(out);
	tnet_start(t, 1);
	cr_assert(sl_wait_count(t, 0, "delivered", accepted + 1, 60000), "%d of %d delivered",
	    sl_count_event(t, 0, "delivered"), accepted + 1);
	sl_assert_once(t, ids);
	sl_assert_intact(t, 0);
	sl_assert_intact(t, 1);
	free(ids);
	tnet_free(t);
}

Test(store, full_receiver_answers_try_later_then_recovers_on_reload, .timeout = 150)
{
	struct tnet *t = tnet_new("store-full-in", ids2, 2);
	tnet_opt(t, 1, "store.max_size=256K");
	tnet_start(t, 1);
	tnet_start(t, 0);
	char args[4300], *out = NULL, *ids = NULL;
	const int n = 200;
	snprintf(args, sizeof(args), "send --batch '%s'", sl_batch(t, "flood", n));
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 0, "%s", out);
	cr_assert_eq(sl_ids(out, &ids), n, "%s", out);
	free(out);
	/* The receiver fills up and says TRY_LATER; the sender schedules retries. */
	cr_assert(tnet_wait_log(t, 1, "TRY_LATER (store full)", 60000), "no TRY_LATER at FR-MJ");
	cr_assert(ts_wait_file_contains(sl_path(t, 0, "delivery.jsonl"),
	    "\"reason\":\"try-later from FR-MJ: store full\"", 30000), "no retry-scheduled TRY_LATER at BD-ACC");
	int received = sl_count_event(t, 1, "received");
	cr_assert_lt(received, n, "everything fit; the test proves nothing");
	/* No REJECTED, no quarantine: a full store is never the sender's fault. */
	cr_assert_eq(sl_count_event(t, 0, "rejected"), 0);
	cr_assert_eq(sl_count_event(t, 1, "quarantined"), 0);
	sl_assert_intact(t, 1);
	/* What FR-MJ has stored stays readable and verifiable. */
	cr_assert_eq(tnet_ctl(t, 1, &out, "inbox"), 0, "%s", out);
	char *in_ids = NULL;
	int listed = 0;
	{
		/* inbox lines start with the id */
		char *buf = strdup(out), *save = NULL;
		size_t cap = strlen(out) + 1;
		in_ids = calloc(1, cap);
		for (char *l = strtok_r(buf, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
			if (strlen(l) >= 36 && l[8] == '-' && l[13] == '-') {
				strncat(in_ids, l, 36);
				strcat(in_ids, "\n");
				listed++;
			}
		free(buf);
	}
	free(out);
	cr_assert_geq(listed, 1, "nothing listed in FR-MJ's inbox");
	sl_assert_readable(t, 1, in_ids);
	free(in_ids);
	/* Raise the limit: every message arrives, once. */
	tnet_opt(t, 1, "store.max_size=0");
	sl_reload(t, 1);
	cr_assert(sl_wait_count(t, 0, "delivered", n, 90000), "%d of %d delivered",
	    sl_count_event(t, 0, "delivered"), n);
	sl_assert_once(t, ids);
	sl_assert_intact(t, 0);
	sl_assert_intact(t, 1);
	free(ids);
	tnet_free(t);
}

/* The database's bytes, for comparing before and after a refused start. */
static char *
sl_bytes(const char *path, size_t *len)
{
	char *b = ts_read_file(path, len);
	cr_assert(b != NULL, "cannot read %s", path);
	return b;
}

static void
sl_refused_untouched(struct tnet *t, const char *what)
{
	const char *db = sl_path(t, 0, "rogatory.db");
	size_t len0, len1;
	struct stat st0, st1;
	char *before = sl_bytes(db, &len0);
	cr_assert_eq(stat(db, &st0), 0);
	char *out = NULL;
	/* Foreground and detached: both refuse and say why. */
	int rc = ts_sh(&out, "'%s' -f -c '%s' 2>&1", ts_build_path("rogatoryd"), t->node[0].conf);
	cr_assert_neq(rc, 0, "%s: started on a corrupt database:\n%s", what, out);
	char want[4300];
	snprintf(want, sizeof(want), "database %s is corrupt", db);
	cr_assert(strstr(out, want) != NULL, "%s: no \"%s\" in:\n%s", what, want, out);
	cr_assert(strstr(out, "it was not modified") != NULL, "%s: %s", what, out);
	free(out);
	rc = ts_sh(&out, "'%s' -c '%s' 2>&1", ts_build_path("rogatoryd"), t->node[0].conf);
	cr_assert_neq(rc, 0, "%s: detached start succeeded:\n%s", what, out);
	cr_assert(strstr(out, want) != NULL, "%s: detached: %s", what, out);
	free(out);
	char *after = sl_bytes(db, &len1);
	cr_assert_eq(stat(db, &st1), 0);
	cr_assert_eq(len0, len1, "%s: size changed", what);
	cr_assert(memcmp(before, after, len0) == 0, "%s: the database bytes changed", what);
	cr_assert(st0.st_mtim.tv_sec == st1.st_mtim.tv_sec &&
	    st0.st_mtim.tv_nsec == st1.st_mtim.tv_nsec, "%s: mtime changed", what);
	cr_assert_neq(access(sl_path(t, 0, "rogatory.db-wal"), F_OK), 0, "%s: a -wal appeared",
	    what);
	free(before);
	free(after);
}

Test(store, corrupt_database_refused_at_start_and_never_overwritten, .timeout = 90)
{
	struct tnet *t = tnet_new("store-corrupt", ids2, 2);
	tnet_start(t, 0);
	char args[4300], *out = NULL;
	snprintf(args, sizeof(args), "send --batch '%s'", sl_batch(t, "rows", 60));
	cr_assert_eq(tnet_ctl(t, 0, &out, args), 0, "%s", out);
	free(out);
	cr_assert_eq(tnet_stop(t, 0, SIGTERM), 0);
	const char *db = sl_path(t, 0, "rogatory.db");
	struct stat st;
	cr_assert_eq(stat(db, &st), 0);
	cr_assert(st.st_size >= 16 * 4096, "db too small: %lld", (long long)st.st_size);
	cr_assert_neq(access(sl_path(t, 0, "rogatory.db-wal"), F_OK), 0, "no checkpoint at stop");
	/* Case 1: a page in the middle overwritten (a disk fault). */
	unsigned char junk[4096];
	memset(junk, 0xff, sizeof(junk));
	int fd = open(db, O_RDWR);
	cr_assert(fd >= 0);
	cr_assert_eq(pwrite(fd, junk, sizeof(junk), (st.st_size / 2) / 4096 * 4096),
	    (ssize_t)sizeof(junk));
	close(fd);
	sl_refused_untouched(t, "overwritten page");
	/* Case 2: not a database at all (a truncated copy, another file). */
	char text[8192];
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (char)('a' + i % 26);
	text[sizeof(text) - 1] = '\0';
	ts_write_file(db, text, 0600);
	sl_refused_untouched(t, "garbage file");
	tnet_free(t);
}
