/*
 * net: a throw-away network of authorities for integration tests: a CA made with
 * pki/rogatory-pki, one certificate, config, directory entry, state folder and control
 * socket per authority, fixed ports from ts_free_port (a restarted daemon keeps its
 * port), and helpers to start, stop, reload and query real rogatoryd processes.
 */
#ifndef ROGATORY_TEST_NET_H
#define ROGATORY_TEST_NET_H

#include <stdbool.h>
#include <sys/types.h>

#define TNET_MAX 8
#define TNET_MAX_OPTS 16

struct tnode {
	char id[64];
	int port;
	char *home;      /* <dir>/<id> */
	char *conf;      /* <home>/rogatoryd.conf */
	char *log;       /* <home>/rogatoryd.log (stderr of the daemon) */
	char *sock;      /* <home>/control.sock */
	char *cert;      /* <home>/<id>.crt */
	char *key;
	pid_t pid;
	/* "section.key=value" overrides written into the config. */
	const char *opts[TNET_MAX_OPTS];
	int nopts;
};

struct tnet {
	char *dir;
	char *ca_dir;    /* <dir>/ca (rogatory-pki init) */
	char *ca;        /* <dir>/ca/ca.crt */
	char *directory; /* <dir>/directory.conf */
	int n;
	struct tnode node[TNET_MAX];
	char *kept[TNET_MAX * 2]; /* option strings the net made and owns (tnet_use_crl) */
	int nkept;
};

/* A CA, certificates and configs for ids (n <= TNET_MAX), all listed in one directory.
 * Short timeouts by default (handshake 2s, keepalive 1s, dead_after 5s, retry 200ms..2s). */
struct tnet *tnet_new(const char *tag, const char *const *ids, int n);
/* Adds an override "section.key=value" to node i and rewrites its config. */
void tnet_opt(struct tnet *t, int i, const char *opt);
/* Rewrites node i's config (after opts changed). */
void tnet_write_config(struct tnet *t, int i);
/* Rewrites the directory with the nodes whose bit is set in mask. */
void tnet_write_directory(struct tnet *t, unsigned mask);
/* Starts node i (rogatoryd -f -d) and waits for "started as". */
void tnet_start(struct tnet *t, int i);
/* Sends sig, waits for exit; returns the exit status (or 128+signal). */
int tnet_stop(struct tnet *t, int i, int sig);
/* True when node i's log contains needle within ms. */
bool tnet_wait_log(struct tnet *t, int i, const char *needle, int ms);
int tnet_log_count(struct tnet *t, int i, const char *needle);
/* Runs rogatoryctl -s <sock> ARGS (a shell-quoted string); output in *out. Exit status. */
int tnet_ctl(struct tnet *t, int i, char **out, const char *args);
/* The same with printf-style arguments. */
int tnet_ctlf(struct tnet *t, int i, char **out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The output of rogatoryctl ARGS on node i, which must exit 0 (asserted, naming the node,
 * the command, its exit status and output). Free it. */
char *tnet_ctl_ok(struct tnet *t, int i, const char *args);
/* Issues a further certificate for id into <dir>/extra/<id>.{crt,key}; returns the
 * folder. */
const char *tnet_issue_extra(struct tnet *t, const char *id);
/* Makes a deviant certificate (tests/tools/deviant-cert KIND) into <dir>/dev-<kind>. */
const char *tnet_deviant(struct tnet *t, const char *kind, const char *id);
/* Path of build/tests/fakepeer. */
const char *tnet_fakepeer(void);
/* Runs fakepeer with a formatted argument string; output in *out; exit status. */
int tnet_fakepeer_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A fresh CRL of the test CA (rogatory-pki crl --hours hours), copied to
 * <dir>/crl-<name>.pem; returns that path (8 rotating static slots). */
const char *tnet_crl(struct tnet *t, const char *name, int hours);
/* A CRL whose lastUpdate and nextUpdate are now + from_s and now + to_s (negative: in the
 * past), made with `openssl ca -gencrl` on the test CA: expired or not yet valid ones. */
const char *tnet_crl_window(struct tnet *t, const char *name, long from_s, long to_s);
/* A CRL from a second CA with the same subject as the test CA (<dir>/other-ca). */
const char *tnet_crl_foreign(struct tnet *t, const char *name);
/* Revokes node i's certificate in the test CA (rogatory-pki revoke). */
void tnet_revoke(struct tnet *t, int i);
/* Adds "tls.crl=PATH" to node i (the string is kept by the net) and rewrites its config. */
void tnet_use_crl(struct tnet *t, int i, const char *path);
/* Stops every daemon (SIGTERM) and removes the folder unless ROGATORY_KEEP_TEST=1. */
void tnet_free(struct tnet *t);

#endif
