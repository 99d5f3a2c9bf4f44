/*
 * main: rogatoryd's arguments, start-up, signals and event loop. Start-up problems are
 * fatal and printed where the operator ran the command (also when detaching); once
 * running, nothing an operator or peer sends may stop the daemon: a broken reload keeps
 * the running configuration.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "audit.h"
#include "alerts.h"
#include "deadlines.h"
#include "config.h"
#include "crl.h"
#include "dirsig.h"
#include "control.h"
#include "crash.h"
#include "diag.h"
#include "events.h"
#include "evidence.h"
#include "inbox.h"
#include "journal.h"
#include "outbox.h"
#include "store.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "nofile.h"
#include "peer.h"
#include "privdrop.h"
#include "pause.h"
#include "reload.h"
#include "retrieval.h"
#include "revocation.h"
#include "rogatoryd.h"
#include "sdnotify.h"
#include "server.h"
#include "tls.h"
#include "witness.h"

#define DAY_S (24 * 3600)
#define STOP_GRACE_MS 3000

struct main_state {
	struct rogatoryd d;
	struct event *ev_hup;
	struct event *ev_term;
	struct event *ev_int;
	struct event *ev_daily;
	struct event *ev_stop_poll;
	uint64_t stop_deadline_ms;
	int ready_fd;   /* detaching: tells the waiting parent that start-up succeeded */
};

static void usage(void) __attribute__((noreturn));
static int check_config(const char *path);
static int detach(int *ready_fd);
static void on_hup(evutil_socket_t sig, short what, void *arg);
static void on_term(evutil_socket_t sig, short what, void *arg);
static void on_daily(evutil_socket_t fd, short what, void *arg);
static void on_stop_poll(evutil_socket_t fd, short what, void *arg);
static int ensure_state_dir(const char *dir, char *err, size_t errlen);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: rogatoryd -c FILE [-f] [-d] [-n]\n"
	    "  -c FILE  configuration file (rogatoryd.conf)\n"
	    "  -f       stay in the foreground and log to stderr\n"
	    "  -d       debug logging\n"
	    "  -n       check the configuration, print \"configuration OK\" or every error\n"
	    "  -V       print the version\n");
	exit(2);
}

static int
check_config(const char *path)
{
	struct diag dg = {0};
	struct config *cfg = NULL;
	if (config_load(path, &cfg, &dg) != 0) {
		diag_print(&dg, 1);
		diag_free(&dg);
		return 1;
	}
	diag_print(&dg, 1); /* warnings, if any */
	diag_free(&dg);
	revocation_check_config(cfg, stderr);
	if (cfg->directory_signature != NULL) {
		/* The signed directory as start-up would choose it, nothing written. */
		char err[1024];
		struct crl *crl = NULL;
		struct dirsig *ds = NULL;
		if (cfg->tls_crl != NULL && revocation_load(cfg, &crl, err, sizeof(err)) != 0)
			crl = NULL;
		int rc = dirsig_load(cfg, crl, DIRSIG_CHECK_ONLY, NULL, &ds, &cfg->directory, err,
		    sizeof(err));
		dirsig_free(ds);
		crl_free(crl);
		if (rc != 0) {
			fprintf(stderr, "%s\n", err);
			config_free(cfg);
			return 1;
		}
	}
	config_free(cfg);
	printf("configuration OK\n");
	return 0;
}

/* Forks; the parent waits on a pipe until the child reports start-up success (a byte)
 * or failure (EOF), so `rogatoryd -c FILE` exits 0 only when the daemon runs. */
static int
detach(int *ready_fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		char c;
		ssize_t n;
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 ? 0 : 1);
	}
	close(p[0]);
	setsid();
	*ready_fd = p[1];
	return 0;
}

static int
ensure_state_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) != 0) {
		if (errno != ENOENT || mkdir(dir, 0700) != 0)
			return err_set(err, errlen, "[store] state_dir %s: %s", dir, strerror(errno));
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return err_set(err, errlen, "[store] state_dir %s is not a directory", dir);
	if (st.st_mode & 077)
		log_warn("[store] state_dir %s has mode %04o; it should be 0700", dir,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	bool foreground = false, debug = false, check = false;
	int ch;
	while ((ch = getopt(argc, argv, "c:fdnVh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'n':
			check = true;
			break;
		case 'V':
			printf("rogatoryd %s\n", ROGATORY_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (path == NULL || optind != argc)
		usage();
	log_init("rogatoryd", true, debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (check)
		return check_config(path);

	static struct main_state m;
	struct rogatoryd *d = &m.d;
	m.ready_fd = -1;
	d->foreground = foreground;
	umask(077);
	signal(SIGPIPE, SIG_IGN);

	struct diag dg = {0};
	if (config_load(path, &d->cfg, &dg) != 0) {
		diag_print(&dg, 1);
		fprintf(stderr, "rogatoryd: configuration errors; not started\n");
		diag_free(&dg);
		return 1;
	}
	diag_free(&dg);
	if (!debug)
		log_set_level(d->cfg->log_level);
	if (!foreground && detach(&m.ready_fd) != 0)
		fatal("cannot detach: %s", strerror(errno));

	char err[512];
	if (ensure_state_dir(d->cfg->state_dir, err, sizeof(err)) != 0)
		fatal("%s", err);
	/* Before the drop of privileges: root may raise the hard limit too. */
	nofile_apply(d->cfg->max_open_files);
	/* The store thread (group commit) hands completions to the loop. */
	if (evthread_use_pthreads() != 0)
		fatal("libevent without pthread support");
	d->base = event_base_new();
	if (d->base == NULL)
		fatal("cannot create the event loop");
	d->dns = evdns_base_new(d->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (d->dns == NULL)
		d->dns = evdns_base_new(d->base, 0); /* numeric addresses still work */
	/* What may need root comes first (a port below 1024, a socket in a root-owned
	 * folder); then [daemon] user, before any key, store or thread is opened. The
	 * loop is not running yet, so nothing is accepted before the modules exist. */
	if (server_start(d, &d->server, err, sizeof(err)) != 0)
		fatal("%s", err);
	d->listen_port = server_port(d->server);
	if (control_start(d, &d->control, err, sizeof(err)) != 0)
		fatal("%s", err);
	int metrics_fd = -1;
	if (metrics_bind(d->cfg, &metrics_fd, err, sizeof(err)) != 0)
		fatal("%s", err);
	pause_point("before-privdrop");
	if (privdrop_apply(d->cfg, control_sock(d->control), err, sizeof(err)) != 0)
		fatal("%s", err);
	struct crl *crl = NULL;
	if (revocation_prepare(d->cfg, &crl, &d->tls, err, sizeof(err)) != 0)
		fatal("%s", err);
	/* The signed directory is judged with the CRL just chosen, before anyone is a peer. */
	if (d->cfg->directory_signature != NULL &&
	    dirsig_load(d->cfg, crl, 0, NULL, &d->dirsig, &d->cfg->directory, err,
	        sizeof(err)) != 0)
		fatal("%s", err);
	if (revocation_new(d, crl, &d->revocation, err, sizeof(err)) != 0)
		fatal("%s", err);
	if (evidence_signer_load(d->cfg->tls_certificate, d->cfg->tls_key, &d->signer, err,
	        sizeof(err)) != 0)
		fatal("%s", err);
	if (store_open(d->cfg->state_dir, d->cfg->store_max_size, d->base, &d->store, err,
	        sizeof(err)) != 0)
		fatal("%s", err);
	char logpath[4096];
	if (d->cfg->delivery_log != NULL)
		snprintf(logpath, sizeof(logpath), "%s", d->cfg->delivery_log);
	else
		snprintf(logpath, sizeof(logpath), "%s/delivery.jsonl", d->cfg->state_dir);
	if (events_open(logpath, d->store, &d->events, err, sizeof(err)) != 0)
		fatal("%s", err);
	events_batch(d->events, d->base);
	if (pause_new(d->store, &d->paused, err, sizeof(err)) != 0)
		fatal("%s", err);
	d->started_wall_ms = link_wall_ms();
	d->started_mono_ms = link_now_ms();
	d->peers = peers_new(d);
	if (d->peers == NULL)
		fatal("out of memory");
	if (inbox_new(d, &d->inbox, err, sizeof(err)) != 0 ||
	    outbox_new(d, &d->outbox, err, sizeof(err)) != 0 ||
	    witness_new(d, &d->witness, err, sizeof(err)) != 0 ||
	    audit_new(d, &d->audit, err, sizeof(err)) != 0 ||

metrics_new(d, metrics_fd, &d->metrics, err, sizeof(err)) != 0 ||
	    alerts_new(d, &d->alerts, err, sizeof(err)) != 0 ||
	    deadlines_new(d, &d->deadlines, err, sizeof(err)) != 0)
		fatal("%s", err);
	d->retrieval = retrieval_new(d);

	m.ev_hup = evsignal_new(d->base, SIGHUP, on_hup, &m);
	m.ev_term = evsignal_new(d->base, SIGTERM, on_term, &m);
	m.ev_int = evsignal_new(d->base, SIGINT, on_term, &m);
	m.ev_daily = event_new(d->base, -1, EV_PERSIST, on_daily, &m);
	m.ev_stop_poll = event_new(d->base, -1, EV_PERSIST, on_stop_poll, &m);
	struct timeval day = {.tv_sec = DAY_S};
	if (m.ev_hup == NULL || m.ev_term == NULL || m.ev_int == NULL || m.ev_daily == NULL ||
	    m.ev_stop_poll == NULL || evsignal_add(m.ev_hup, NULL) != 0 ||
	    evsignal_add(m.ev_term, NULL) != 0 || evsignal_add(m.ev_int, NULL) != 0 ||
	    event_add(m.ev_daily, &day) != 0)
		fatal("cannot install signal handlers");
	reload_check_certificate(d);
	log_notice("rogatoryd %s started as %s", ROGATORY_VERSION, d->cfg->authority_id);

	if (m.ready_fd >= 0) {
		int nul = open("/dev/null", O_RDWR);
		log_init("rogatoryd", false, debug ? LOG_LEVEL_DEBUG : d->cfg->log_level);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
			if (nul > 2)
				close(nul);
		}
		if (write(m.ready_fd, "1", 1) != 1)
			log_warn("cannot tell the parent that start-up succeeded");
		close(m.ready_fd);
	}

	/* systemd (Type=notify): listening, store open, control socket ready. */
	sdnotify("READY=1");
	sdnotify_watchdog_start(d->base);

	event_base_dispatch(d->base);
	sdnotify_watchdog_stop();

	/* Its re-check walks the peers, which go below while the loop still runs. */
	revocation_stop(d->revocation);
	control_free(d->control);
	d->control = NULL;
	server_free(d->server);
	deadlines_stop(d->deadlines);
	/* The last checkpoint, after every event queued so far (its op drains with them). */
	audit_stop(d->audit);
	metrics_free(d->metrics);
	d->metrics = NULL;
	/* Every queued commit lands and completes before the modules it calls back go. */
	events_close(d->events);
	d->events = NULL;
	store_close(d->store);
	d->store = NULL;
	audit_free(d->audit);
	d->audit = NULL;
	witness_free(d->witness);
	d->witness = NULL;
	alerts_free(d->alerts);
	d->alerts = NULL;
	deadlines_free(d->deadlines);
	d->deadlines = NULL;
	retrieval_free(d->retrieval);
	d->retrieval = NULL;
	outbox_free(d->outbox);
	d->outbox = NULL;
	inbox_free(d->inbox);
	d->inbox = NULL;
	peers_free(d->peers);
	d->peers = NULL;
	pause_free(d->paused);
	d->paused = NULL;
	evidence_signer_free(d->signer);
	evidence_cache_clear();
	log_notice("rogatoryd stopped");
	event_free(m.ev_hup);
	event_free(m.ev_term);
	event_free(m.ev_int);
	event_free(m.ev_daily);
	event_free(m.ev_stop_poll);
	/* Run the deferred link frees before the base goes. */
	event_base_loop(d->base, EVLOOP_NONBLOCK);
	revocation_free(d->revocation);
	dirsig_free(d->dirsig);
	tls_free(d->tls);
	evdns_base_free(d->dns, 0);
	event_base_free(d->base);
	config_free(d->cfg);
	return 0;
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	struct main_state *m = arg;
	struct diag notes = {0};
	reload_run(&m->d, &notes);    /* every line is logged there */
	diag_free(&notes);
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct main_state *m = arg;
	struct rogatoryd *d = &m->d;
	if (d->stopping)
		return;
	log_notice("signal %d: stopping", (int)sig);
	sdnotify("STOPPING=1");
	d->stopping = true;
	server_stop(d->server);
	peers_close_all(d->peers, "shutting down");
	m->stop_deadline_ms = link_now_ms() + STOP_GRACE_MS;
	struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
	event_add(m->ev_stop_poll, &tv);
}

static void
on_stop_poll(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct main_state *m = arg;
	if (peers_links_open(m->d.peers) == 0 || link_now_ms() >= m->stop_deadline_ms)
		event_base_loopexit(m->d.base, NULL);
}

static void
on_daily(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct main_state *m = arg;
	reload_check_certificate(&m->d);
}
