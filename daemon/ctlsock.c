/*
 * ctlsock: the control socket's file (contract in ctlsock.h). It runs as root at start:
 * it must never chmod, chown, connect to, bind at or remove a name in a folder it has not
 * checked, and never through a path that could resolve to something else than what it
 * checked. Error policy: every failure is -1 + err for the start-up to report.
 */
#include "ctlsock.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "crash.h"
#include "diag.h"
#include "log.h"

static int cs_split(struct ctlsock *s, const char *path, char *err, size_t errlen);
static int cs_dir_rule(const struct ctlsock *s, uid_t run_uid, char *err, size_t errlen);
static int cs_open_dir(struct ctlsock *s, uid_t run_uid, bool missing_ok, char *err,
    size_t errlen);
static const char *cs_kind(mode_t m);
static int cs_clear_stale(const struct ctlsock *s, char *err, size_t errlen);
static int cs_bind(struct ctlsock *s, mode_t mode, int *fd, char *err, size_t errlen);
static int cs_still_ours(const struct ctlsock *s, char *err, size_t errlen);

void
ctlsock_init(struct ctlsock *s)
{
	memset(s, 0, sizeof(*s));
	s->dfd = -1;
	s->pfd = -1;
}

uid_t
ctlsock_run_uid(const struct config *c)
{
	if (c->daemon_user != NULL) {
		struct passwd *pw = getpwnam(c->daemon_user);
		if (pw != NULL)
			return pw->pw_uid;
	}
	return geteuid();
}

/* "/run/rogatoryd/control.sock" -> dir "/run/rogatoryd", name "control.sock". */
static int
cs_split(struct ctlsock *s, const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash != NULL ? slash + 1 : path;
	if (name[0] == '\0' || strlen(name) >= sizeof(s->name) ||
	    strlen(path) >= sizeof(s->dir))
		return err_set(err, errlen, "[control] socket %s: not a socket file name", path);
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (slash == NULL)
		snprintf(s->dir, sizeof(s->dir), ".");
	else if (slash == path)
		snprintf(s->dir, sizeof(s->dir), "/");
	else
		snprintf(s->dir, sizeof(s->dir), "%.*s", (int)(slash - path), path);
	return 0;
}

/* Whoever may write to the folder may replace the socket file between two of our steps;
 * only root and the daemon's own user may. */
static int
cs_dir_rule(const struct ctlsock *s, uid_t run_uid, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(s->dfd, &st) != 0)
		return err_set(err, errlen, "[control] socket folder %s: %s", s->dir,
		    strerror(errno));
	bool owner = st.st_uid == 0 || st.st_uid == run_uid;
	if (owner && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0)
		return 0;
	return err_set(err, errlen, "[control] socket folder %s (owner uid %u, group gid %u, "
	    "mode %04o) %s: others could replace the socket file while root sets it up; use "
	    "a folder owned by root or the daemon's user (uid %u) that no one else may write "
	    "to (e.g. mode 0750)", s->dir, (unsigned)st.st_uid, (unsigned)st.st_gid,
	    (unsigned)(st.st_mode & 07777),
	    !owner ? "belongs to another user" : "is writable by its group or by others",
	    (unsigned)run_uid);
}

/* missing_ok: a folder that does not exist is 0 with s->dfd still -1. */
static int
cs_open_dir(struct ctlsock *s, uid_t run_uid, bool missing_ok, char *err, size_t errlen)
{
	s->dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dfd < 0 && missing_ok && errno == ENOENT)
		return 0;
	if (s->dfd < 0)
		return err_set(err, errlen, "[control] socket folder %s: %s", s->dir,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
	return cs_dir_rule(s, run_uid, err, errlen);
}

int
ctlsock_check_dir(const char *path, uid_t run_uid, char *err, size_t errlen)
{
	struct ctlsock s;
	ctlsock_init(&s);
	if (cs_split(&s, path, err, errlen) != 0)
		return -1;
	/* Missing: made at start (RuntimeDirectory=); binding will tell. */
	int rc = cs_open_dir(&s, run_uid, true, err, errlen);
	ctlsock_close(&s, false);
	return rc;
}

void
ctlsock_check(const struct config *c, struct diag *d)
{
	char err[PATH_MAX + 512];
	if (c->control_socket != NULL &&
	    ctlsock_check_dir(c->control_socket, ctlsock_run_uid(c), err, sizeof(err)) != 0)
		diag_add(d, c->path, 0, "%s", err);
}

static const char *
cs_kind(mode_t m)
{
	return S_ISLNK(m) ? "a symbolic link" : S_ISDIR(m) ? "a folder" : S_ISREG(m) ? "a file"
	    : "not a socket";
}

/* Runs with the folder as working directory (cs_bind), so the name cannot lead
 * elsewhere. A socket nobody answers on is a stale one of ours: removed. */
static int
cs_clear_stale(const struct ctlsock *s, char *err, size_t errlen)
{
	struct stat st;
	if (fstatat(s->dfd, s->name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(err, errlen, "[control] socket %s/%s: %s", s->dir, s->name,
		    strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return err_set(err, errlen, "[control] socket %s/%s exists and is %s (owner uid "
		    "%u); not touched: remove it", s->dir, s->name, cs_kind(st.st_mode),
		    (unsigned)st.st_uid);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", s->name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, errlen, "cannot test [control] socket %s/%s: %s", s->dir,
		    s->name, strerror(errno));
	int live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	if (live)
		return err_set(err, errlen, "[control] socket %s/%s is in use: is another "
		    "rogatoryd running?", s->dir, s->name);
	if (unlinkat(s->dfd, s->name, 0) != 0)
		return err_set(err, errlen, "cannot remove the stale [control] socket %s/%s: %s",
		    s->dir, s->name, strerror(errno));
	log_info("removed a stale control socket %s/%s", s->dir, s->name);
	return 0;
}

/* Inside the folder (fchdir; no other thread exists yet at start-up): the stale step,
 * then bind with umask so the socket is born with its mode, then an O_PATH descriptor of
 * what was made, which must be a socket of ours. */
static int
cs_bind(struct ctlsock *s, mode_t mode, int *fd, char *err, size_t errlen)
{
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || fchdir(s->dfd) != 0) {
		err_set(err, errlen, "[control] socket folder %s: cannot enter it: %s", s->dir,
		    strerror(errno));
		if (cwd >= 0)
			close(cwd);
		return -1;
	}
	int rc = cs_clear_stale(s, err, errlen);
	*fd = -1;
	if (rc == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", s->name);
		*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		mode_t old = umask((mode_t)(~mode & 0777));
		if (*fd < 0 || bind(*fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
			rc = err_set(err, errlen, "cannot create control socket %s/%s: %s", s->dir,
			    s->name, strerror(errno));
		umask(old);
	}
	if (fchdir(cwd) != 0 && rc == 0)
		rc = err_set(err, errlen, "cannot return to the working folder: %s",
		    strerror(errno));
	close(cwd);
	struct stat st;
	if (rc == 0) {
		s->pfd = openat(s->dfd, s->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (s->pfd < 0 || fstat(s->pfd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
		    st.st_uid != geteuid())
			rc = err_set(err, errlen, "[control] socket %s/%s was replaced right after "
			    "it was made", s->dir, s->name);
	}
	if (rc != 0 && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

int
ctlsock_open(struct ctlsock *s, const char *path, uid_t run_uid, mode_t mode, gid_t group,
    int *fd, char *err, size_t errlen)
{
	*fd = -1;
	if (cs_split(s, path, err, errlen) != 0 || cs_open_dir(s, run_uid, false, err, errlen) != 0 ||
	    cs_bind(s, mode, fd, err, errlen) != 0)
		goto fail;
	pause_point("control-bound");
	if (group != (gid_t)-1 && fchownat(s->pfd, "", (uid_t)-1, group, AT_EMPTY_PATH) != 0) {
		err_set(err, errlen, "cannot give control socket %s/%s to group gid %u: %s",
		    s->dir, s->name, (unsigned)group, strerror(errno));
		goto fail;
	}
	if (cs_still_ours(s, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	ctlsock_close(s, s->pfd >= 0);
	return -1;
}

/* The name still leads to the socket file we made (nobody swapped it meanwhile):
 * clients reach this daemon, not whatever was put there. */
static int
cs_still_ours(const struct ctlsock *s, char *err, size_t errlen)
{
	struct stat ours, there;
	if (fstat(s->pfd, &ours) != 0)
		return err_set(err, errlen, "[control] socket %s/%s: %s", s->dir, s->name,
		    strerror(errno));
	if (fstatat(s->dfd, s->name, &there, AT_SYMLINK_NOFOLLOW) != 0)
		return err_set(err, errlen, "[control] socket %s/%s was removed while rogatoryd "
		    "set it up", s->dir, s->name);
	if (ours.st_dev != there.st_dev || ours.st_ino != there.st_ino)
		return err_set(err, errlen, "[control] socket %s/%s was replaced while rogatoryd "
		    "set it up (it is now %s, owner uid %u); nothing was done to it", s->dir,
		    s->name, cs_kind(there.st_mode), (unsigned)there.st_uid);
	return 0;
}

int
ctlsock_chown(const struct ctlsock *s, uid_t uid, char *err, size_t errlen)
{
	if (s->pfd < 0 || fchownat(s->pfd, "", uid, (gid_t)-1, AT_EMPTY_PATH) != 0)
		return err_set(err, errlen, "cannot give control socket %s/%s to uid %u: %s",
		    s->dir, s->name, (unsigned)uid, s->pfd < 0 ? "not open" : strerror(errno));
	return cs_still_ours(s, err, errlen);
}

void
ctlsock_close(struct ctlsock *s, bool remove)
{
	struct stat ours, there;
	if (remove && s->dfd >= 0 && s->pfd >= 0 && fstat(s->pfd, &ours) == 0 &&
	    fstatat(s->dfd, s->name, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
	    ours.st_dev == there.st_dev && ours.st_ino == there.st_ino)
		unlinkat(s->dfd, s->name, 0);
	if (s->pfd >= 0)
		close(s->pfd);
	if (s->dfd >= 0)
		close(s->dfd);
	s->pfd = -1;
	s->dfd = -1;
}
