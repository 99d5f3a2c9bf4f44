/*
 * ctlsock: the control socket's file ([control] socket), made and given away by root
 * without ever acting on a path someone else could swap. The socket's folder is opened
 * once (O_DIRECTORY | O_NOFOLLOW) and must be owned by root or by the user the daemon
 * runs as, and writable by nobody else (no group or other write bit, sticky or not). A
 * stale socket is looked at (fstatat without following links), tested and removed
 * relative to that descriptor; the new socket is bound inside it with its final mode
 * already (umask), and its group and owner are set through an O_PATH descriptor of the
 * socket file itself, never through its name.
 *
 * Return convention: 0, or -1 with a message in err (naming the folder, its owner and
 * mode, or the file and what it is).
 */
#ifndef ROGATORY_CTLSOCK_H
#define ROGATORY_CTLSOCK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct config;
struct diag;

struct ctlsock {
	int dfd;                /* the folder, checked; -1 when closed */
	int pfd;                /* the socket file (O_PATH); -1 when none */
	char dir[PATH_MAX];     /* the folder, for messages */
	char name[108];         /* the socket's name inside it */
};

/* No descriptors yet: call before anything that may reach ctlsock_close. */
void ctlsock_init(struct ctlsock *s);

/* The user the daemon runs as after start: [daemon] user, else whoever starts it. */
uid_t ctlsock_run_uid(const struct config *c);

/* The folder rule for path's folder (see above). A folder that does not exist yet passes
 * (systemd's RuntimeDirectory= makes it at start; the start-up then says if it is
 * missing). 0 / -1 + err. */
int ctlsock_check_dir(const char *path, uid_t run_uid, char *err, size_t errlen);

/* ctlsock_check_dir on [control] socket, as a diagnostic of config_load (so `rogatoryd
 * -n`, start-up and every reload report it). */
void ctlsock_check(const struct config *c, struct diag *d);

/* Opens and checks the folder; refuses a socket another process answers on and anything
 * at the name that is not a socket (a symbolic link included), removes a stale socket;
 * binds a new non-blocking, close-on-exec socket there with mode, and gives it group
 * unless group is (gid_t)-1. *fd: the bound socket, not listening yet. 0 / -1 + err
 * (then nothing is left open). */
int ctlsock_open(struct ctlsock *s, const char *path, uid_t run_uid, mode_t mode,
    gid_t group, int *fd, char *err, size_t errlen);

/* Makes uid the socket file's owner (its group stays): at the privilege drop, as root.
 * 0 / -1 + err. */
int ctlsock_chown(const struct ctlsock *s, uid_t uid, char *err, size_t errlen);

/* With remove: removes the name if it is still our socket file (the folder may no longer
 * let us: then it stays). Closes the descriptors either way. */
void ctlsock_close(struct ctlsock *s, bool remove);

#endif
