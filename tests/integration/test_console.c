/*
 * 18-console: the web console in a real browser. Two real rogatoryd (BD-ACC, FR-MJ) and
 * one rogatory-console per daemon (a third authority of the directory stays down) ([console] listen, socket, language), then
 * tests/browser/console_test.py --group G (Selenium driving headless Chromium, run with
 * /usr/bin/python3) against them. One test per group of the "Tests in a real
 * browser"; each asserts the script's exit status and shows its output when it fails.
 * ROGATORY_SCREENSHOTS=DIR keeps the screenshots of the overview and of a case.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "support.h"

/* UA-PGO is in the directory but never started: a link down and a queue to show. */
static const char *const ids3[] = {"BD-ACC", "FR-MJ", "UA-PGO"};

struct consoles {
	struct tnet *t;
	pid_t pid[2];
	int port[2];
	char url[2][64];
	char log[2][4096];
};

static bool
port_open(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1, "socket: %s", strerror(errno));
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* rogatory-console for node i, listening on a free loopback port; waits until it
 * accepts connections (10 s), failing with its log if it exits or never listens. */
static void
console_start(struct consoles *c, int i)
{
	struct tnode *n = &c->t->node[i];
	char conf[4096];
	c->port[i] = ts_free_port();
	snprintf(conf, sizeof(conf), "%s/rogatory-console.conf", n->home);
	snprintf(c->log[i], sizeof(c->log[i]), "%s/rogatory-console.log", n->home);
	ts_writef(conf, 0600, "[console]\nlisten = 127.0.0.1:%d\nsocket = %s\nlanguage = en\n",
	    c->port[i], n->sock);
	snprintf(c->url[i], sizeof(c->url[i]), "http://127.0.0.1:%d", c->port[i]);
	char *argv[] = {(char *)ts_build_path("rogatory-console"), "-c", conf, NULL};
	c->pid[i] = ts_spawn(argv, c->log[i]);
	for (int ms = 0; ms < 10000; ms += 50) {
		if (port_open(c->port[i]))
			return;
		if (ts_wait_exit(c->pid[i], 50) != -1) {
			char *l = ts_read_file(c->log[i], NULL);
			cr_assert_fail("rogatory-console for %s exited at start:\n%s", n->id, l ? l : "");
		}
	}
	char *l = ts_read_file(c->log[i], NULL);
	cr_assert_fail("rogatory-console for %s does not listen on %d after 10 s:\n%s", n->id,
	    c->port[i], l ? l : "");
}

/* Two daemons (opt: a "section.key=value" for both) and their consoles. A missing
 * console program or browser fails the test: `make test` builds the one and installs the
 * other (scripts/deps.sh), so a skip would only hide a broken set-up. */
static struct consoles *
consoles_new(const char *tag, const char *opt)
{
	cr_assert_eq(access(ts_build_path("rogatory-console"), X_OK), 0, "%s is not built",
	    ts_build_path("rogatory-console"));
	cr_assert(access("/usr/bin/chromium", X_OK) == 0 && access("/usr/bin/chromedriver",
	    X_OK) == 0, "no /usr/bin/chromium or /usr/bin/chromedriver (make deps installs them)");
	struct consoles *c = calloc(1, sizeof(*c));
	cr_assert_not_null(c);
	c->t = tnet_new(tag, ids3, 3);
	for (int i = 0; opt != NULL && i < 2; i++)
		tnet_opt(c->t, i, opt);
	tnet_start(c->t, 0);
	tnet_start(c->t, 1);
	console_start(c, 0);
	console_start(c, 1);
	return c;
}

static void
consoles_free(struct consoles *c)
{
	for (int i = 0; i < 2; i++) {
		int st = ts_stop(c->pid[i], SIGTERM);
		cr_expect_eq(st, 0, "rogatory-console of %s: exit status %d after SIGTERM",
		    c->t->node[i].id, st);
	}
	tnet_free(c->t);
	free(c);
}

/* console_test.py --group group against the two consoles; asserts exit 0. */
static void
browser(struct consoles *c, const char *group)
{
	char *argv[] = {"/usr/bin/python3", (char *)ts_src_path("tests/browser/console_test.py"),
	    "--group", (char *)group, "--url-a", c->url[0], "--url-b", c->url[1],
	    "--ctl", (char *)ts_build_path("rogatoryctl"), "--sock-a", c->t->node[0].sock,
	    "--sock-b", c->t->node[1].sock, "--id-a", (char *)ids3[0], "--id-b", (char *)ids3[1],
	    "--id-down", (char *)ids3[2], NULL};
	char *out = NULL;
	int rc = ts_run(argv, &out);
	if (rc != 0) {
		char *l0 = ts_read_file(c->log[0], NULL), *l1 = ts_read_file(c->log[1], NULL);
		cr_assert_fail("console_test.py --group %s: exit %d:\n%s\n-- console of %s:\n%s\n"
		    "-- console of %s:\n%s", group, rc, out, ids3[0], l0 ? l0 : "", ids3[1],
		    l1 ? l1 : "");
	}
	free(out);
}

/* No browser, no daemon: the two catalogs and the keys the pages use. */
Test(console, catalogs_and_pages_are_consistent, .timeout = 60)
{
	char *argv[] = {"/usr/bin/python3", (char *)ts_src_path("tests/browser/console_test.py"),
	    "--group", "catalog", NULL};
	char *out = NULL;
	cr_assert_eq(access("/usr/bin/python3", X_OK), 0, "no /usr/bin/python3 (make deps)");
	int rc = ts_run(argv, &out);
	cr_assert_eq(rc, 0, "console_test.py --group catalog: exit %d:\n%s", rc, out);
	free(out);
}

/* A login link works once; no cookie: the login page; a viewer cannot send; a POST
 * without the CSRF token: 403. */
Test(console, login_link_once_roles_and_csrf, .timeout = 180)
{
	struct consoles *c = consoles_new("console-login", NULL);
	browser(c, "login");
	consoles_free(c);
}

/* A message sent with rogatoryctl appears in the live log within 2 s, without reload. */
Test(console, live_log_shows_a_send_within_2s, .timeout = 180)
{
	struct consoles *c = consoles_new("console-live", NULL);
	browser(c, "live");
	consoles_free(c);
}

/* Draft with a required element missing (shown at its field), fix, attach, send:
 * delivered; incoming at the other console, acknowledged there; seen acknowledged. */
Test(console, draft_send_and_acknowledge_across_consoles, .timeout = 240)
{
	struct consoles *c = consoles_new("console-case", NULL);
	browser(c, "case");
	consoles_free(c);
}

/* Messages: filters, paging over two pages, timeline, receipt, verify, export; retry
 * and cancel for operators only; pause/resume on the links page; SVG statistics. */
Test(console, messages_links_and_actions_by_role, .timeout = 240)
{
	struct consoles *c = consoles_new("console-operate", NULL);
	browser(c, "operate");
	consoles_free(c);
}

/* A 100 MiB attachment through the draft page (both daemons take 128 MiB messages). */
Test(console, a_100_mib_attachment_from_the_browser, .timeout = 240)
{
	struct consoles *c = consoles_new("console-big", "delivery.max_message_size=128M");
	browser(c, "big");
	consoles_free(c);
}

/* Every page: nothing from another origin, no browser console error, French. */
Test(console, every_page_same_origin_no_errors_in_french, .timeout = 240)
{
	struct consoles *c = consoles_new("console-pages", NULL);
	browser(c, "pages");
	consoles_free(c);
}
