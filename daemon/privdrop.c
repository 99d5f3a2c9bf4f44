/*
 * privdrop: giving up root after start-up, and checking ahead of time that the user it
 * drops to can still read and write what the daemon needs (contract in privdrop.h). It
 * must never leave the process able to regain root: a drop that cannot be verified stops
 * the start-up.
 *
 * Error policy: privdrop_check only reports (diag); privdrop_apply returns -1 + err, which
 * main turns into a start-up failure.
 */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ctlsock.h"
#include "diag.h"
#include "log.h"

#define PD_MAX_GROUPS 256

/* Who the daemon becomes: what the kernel will check its accesses against. */
struct pd_who {
	const char *name;
	uid_t uid;
	gid_t gid;
	gid_t groups[PD_MAX_GROUPS];
	int ngroups;
};

enum { PD_R = 4, PD_W = 2, PD_X = 1 };

static int pd_resolve(const struct config *c, struct pd_who *w, char *err, size_t errlen);
static bool pd_in_groups(const struct pd_who *w, gid_t g);
static bool pd_allows(const struct pd_who *w, const struct stat *st, int want);
static const char *pd_want_name(int want);
static int pd_reach(const struct pd_who *w, const char *path, char *err, size_t errlen);
static bool pd_need(const struct config *c, struct diag *d, const struct pd_who *w,
    const char *what, const char *path, int line, int want, bool may_be_missing);
static void pd_chown_if_root(const char *path, uid_t uid, gid_t gid);

static int
pd_resolve(const struct config *c, struct pd_who *w, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(c->daemon_user);
	if (pw == NULL)
		return err_set(err, errlen, "[daemon] user %s: no such user", c->daemon_user);
	w->name = c->daemon_user;
	w->uid = pw->pw_uid;
	w->gid = pw->pw_gid;
	if (c->daemon_group != NULL) {
		struct group *g = getgrnam(c->daemon_group);
		if (g == NULL)
			return err_set(err, errlen, "[daemon] group %s: no such group",
			    c->daemon_group);
		w->gid = g->gr_gid;
	}
	/* initgroups(user, gid) gives exactly these: the user's groups and gid. */
	int n = PD_MAX_GROUPS;
	if (getgrouplist(c->daemon_user, w->gid, w->groups, &n) < 0)
		n = PD_MAX_GROUPS;
	w->ngroups = n;
	return 0;
}

static bool
pd_in_groups(const struct pd_who *w, gid_t g)
{
	if (g == w->gid)
		return true;
	for (int i = 0; i < w->ngroups; i++)
		if (w->groups[i] == g)
			return true;
	return false;
}

/* The kernel's rule for a non-root process: the owner bits if it owns the file, else the
 * group bits if one of its groups does, else the others' bits. */
static bool
pd_allows(const struct pd_who *w, const struct stat *st, int want)
{
	int bits;
	if (st->st_uid == w->uid)
		bits = (int)(st->st_mode >> 6) & 7;
	else if (pd_in_groups(w, st->st_gid))
		bits = (int)(st->st_mode >> 3) & 7;
	else
		bits = (int)st->st_mode & 7;
	return (bits & want) == want;
}

static const char *
pd_want_name(int want)
{
	switch (want) {
	case PD_R: return "readable";
	case PD_R | PD_W: return "readable and writable";
	case PD_W | PD_X: return "writable";
	case PD_R | PD_W | PD_X: return "readable, writable and searchable";
	default: return "usable";
	}
}

/* Every folder above path must be searchable (x). 0, or -1 + err naming the folder. */
static int
pd_reach(const struct pd_who *w, const char *path, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	if (path[0] != '/' || strlen(path) >= sizeof(buf))
		return 0;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = strchr(buf + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		struct stat st;
		if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode) && !pd_allows(w, &st, PD_X))
			return err_set(err, errlen, "folder %s (owner uid %u, group gid %u, mode "
			    "%04o) cannot be searched by [daemon] user %s", buf, (unsigned)st.st_uid,
			    (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777), w->name);
		*s = '/';
	}
	return 0;
}

/* false when it reported a problem. */
static bool
pd_need(const struct config *c, struct diag *d, const struct pd_who *w, const char *what,
    const char *path, int line, int want, bool may_be_missing)
{
	char err[PATH_MAX + 256];
	struct stat st;
	if (path == NULL)
		return true;
	if (pd_reach(w, path, err, sizeof(err)) != 0) {
		diag_add(d, c->path, line, "%s %s: %s", what, path, err);
		return false;
	}
	if (stat(path, &st) != 0) {
		if (may_be_missing && errno == ENOENT)
			return true;
		diag_add(d, c->path, line, "%s %s: %s", what, path, strerror(errno));
		return false;
	}
	if (pd_allows(w, &st, want))
		return true;
	diag_add(d, c->path, line, "%s %s is not %s by [daemon] user %s (owner uid %u, group "
	    "gid %u, mode %04o); a reload after the start-up would fail: chown or chmod it",
	    what, path, pd_want_name(want), w->name, (unsigned)st.st_uid, (unsigned)st.st_gid,
	    (unsigned)(st.st_mode & 07777));
	return false;
}

void
privdrop_check(const struct config *c, struct diag *d)
{
	struct pd_who w = {0};
	char err[512], p[PATH_MAX + 32];
	if (c->daemon_user == NULL)
		return;
	if (pd_resolve(c, &w, err, sizeof(err)) != 0) {
		diag_add(d, c->path, 0, "%s", err);
		return;
	}
	pd_need(c, d, &w, "configuration file", c->path, 0, PD_R, false);
	pd_need(c, d, &w, "[directory] path", c->directory_path, c->directory_line, PD_R,
	    false);
	pd_need(c, d, &w, "[tls] certificate", c->tls_certificate, c->tls_certificate_line,
	    PD_R, false);
	pd_need(c, d, &w, "[tls] key", c->tls_key, c->tls_key_line, PD_R, false);
	pd_need(c, d, &w, "[tls] ca", c->tls_ca, c->tls_ca_line, PD_R, false);
	pd_need(c, d, &w, "[tls] crl", c->tls_crl, c->tls_crl_line, PD_R, false);
	if (c->state_dir == NULL)
		return;
	/* A missing state_dir is created at start-up and given to the user. */
	if (!pd_need(c, d, &w, "[store] state_dir", c->state_dir, 0, PD_R | PD_W | PD_X, true))
		return; /* what is inside would only repeat it */
	static const char *const files[] = { "rogatory.db", "rogatory.db-wal",
	    "rogatory.db-shm", "crl.der" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", c->state_dir, files[i]);
		pd_need(c, d, &w, "state file", p, 0, PD_R | PD_W, true);
	}
	if (c->delivery_log == NULL)
		snprintf(p, sizeof(p), "%s/delivery.jsonl", c->state_dir);
	else
		snprintf(p, sizeof(p), "%s", c->delivery_log);
	pd_need(c, d, &w, "delivery log", p, 0, PD_R | PD_W, true);
	/* Not there yet: its folder must let the user create it. */
	struct stat st;
	if (c->delivery_log != NULL && stat(p, &st) != 0 && errno == ENOENT) {
		char *slash = strrchr(p, '/');
		if (slash != NULL && slash != p) {
			*slash = '\0';
			pd_need(c, d, &w, "folder of [log] delivery_log", p, 0, PD_W | PD_X, true);
		}
	}
}

/* Files root made at this start-up (state_dir, listen.port) become the user's. */
static void
pd_chown_if_root(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	if (lstat(path, &st) != 0 || st.st_uid != 0)
		return;
	if (chown(path, uid, gid) != 0)
		log_warn("cannot give %s to uid %u: %s", path, (unsigned)uid, strerror(errno));
}

int
privdrop_apply(const struct config *c, const struct ctlsock *sock, char *err, size_t errlen)
{
	struct pd_who w = {0};
	uid_t euid = geteuid();
	if (c->daemon_user == NULL) {
		if (euid == 0)
			log_warn("running as root: set [daemon] user so that rogatoryd gives up "
			    "root once its listener and control socket exist");
		return 0;
	}
	if (pd_resolve(c, &w, err, errlen) != 0)
		return -1;
	if (euid != 0) {
		if (euid == w.uid && getuid() == w.uid)
			return 0;
		return err_set(err, errlen, "[daemon] user %s: rogatoryd runs as uid %u, not as "
		    "root, and cannot become %s (uid %u); start it as root or as %s", w.name,
		    (unsigned)euid, w.name, (unsigned)w.uid, w.name);
	}
	char p[PATH_MAX + 32];
	pd_chown_if_root(c->state_dir, w.uid, w.gid);
	snprintf(p, sizeof(p), "%s/listen.port", c->state_dir);
	pd_chown_if_root(p, w.uid, w.gid);
	/* The daemon's own user may use rogatoryctl; the socket keeps its group. Through the
	 * socket file's descriptor: the name could have been swapped since. */
	char why[PATH_MAX + 128];
	if (ctlsock_chown(sock, w.uid, why, sizeof(why)) != 0)
		return err_set(err, errlen, "[daemon] user %s: %s", w.name, why);
	if (initgroups(w.name, w.gid) != 0 || setresgid(w.gid, w.gid, w.gid) != 0 ||
	    setresuid(w.uid, w.uid, w.uid) != 0)
		return err_set(err, errlen, "cannot become [daemon] user %s (uid %u, gid %u): %s",
		    w.name, (unsigned)w.uid, (unsigned)w.gid, strerror(errno));
	/* Proof, not trust: none of these may work any more. */
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (w.uid != 0 && (setuid(0) == 0 || seteuid(0) == 0 || setresuid(0, 0, 0) == 0))
		return err_set(err, errlen, "dropped to [daemon] user %s but root could be "
		    "regained; refusing to run", w.name);
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru != w.uid ||
	    eu != w.uid || su != w.uid || rg != w.gid || eg != w.gid || sg != w.gid)
		return err_set(err, errlen, "dropping to [daemon] user %s left other ids in "
		    "place; refusing to run", w.name);
	log_notice("running as [daemon] user %s (uid %u, gid %u)", w.name, (unsigned)w.uid,
	    (unsigned)w.gid);
	return 0;
}
