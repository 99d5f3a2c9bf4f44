/*
 * rogatory-console: the web console of one rogatoryd (issue 18). Runs in the foreground
 * (systemd's Type=exec), logs like rogatoryd (log.c: stderr, with priorities on the
 * journal's stream), writes nothing but its log, holds no key and never opens the
 * store: it serves the pages embedded from console/www/ and answers the JSON API by
 * asking rogatoryd's control socket with the browser's session.
 *   rogatory-console -c FILE [-n] [-d]
 * -n checks the configuration (and the TLS certificate and key) and exits: 0 "configuration
 * OK", 1 with every problem as FILE:LINE: message.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "console.h"
#include "ctls.h"
#include "log.h"

#define DEFAULT_CONFIG "/etc/rogatory/rogatory-console.conf"

static void
usage(FILE *f)
{
	fprintf(f, "usage: rogatory-console [-c FILE] [-n] [-d]\n"
	           "  -c FILE  configuration (default %s)\n"
	           "  -n       check the configuration and exit\n"
	           "  -d       debug log\n", DEFAULT_CONFIG);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct event_base *base = arg;
	log_notice("console: signal %d, stopping", (int)sig);
	event_base_loopbreak(base);
}

int
main(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG;
	bool check = false, debug = false;
	int ch;
	while ((ch = getopt(argc, argv, "c:ndh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init("rogatory-console", true, debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	struct cconf cfg;
	struct diag d = {0};
	if (cconf_load(path, &cfg, &d) != 0) {
		diag_print(&d, 1);
		diag_free(&d);
		return 1;
	}
	diag_free(&d);
	char err[512];
	if (check) {
		if (cfg.certificate != NULL) {
			struct ctls *t = ctls_new(cfg.certificate, cfg.key, err, sizeof(err));
			if (t == NULL) {
				fprintf(stderr, "%s: [console] %s\n", path, err);
				cconf_free(&cfg);
				return 1;
			}
			ctls_free(t);
		}
		printf("configuration OK\n");
		cconf_free(&cfg);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	if (base == NULL)
		fatal("cannot create the event loop");
	struct console con = {.base = base, .cfg = &cfg};
	if (web_start(&con, err, sizeof(err)) != 0) {
		log_err("console: %s", err);
		web_stop(&con);
		event_base_free(base);
		cconf_free(&cfg);
		return 1;
	}
	struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
	struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	log_notice("console: serving %s://%s/ for the daemon on %s", con.tls ? "https" : "http",
	    cfg.listen, cfg.socket);
	event_base_dispatch(base);
	web_stop(&con);
	event_free(sigint);
	event_free(sigterm);
	event_base_free(base);
	cconf_free(&cfg);
	return 0;
}
