/*
 * 15-signdir: the signed directory between real daemons ([directory] signature, PROTOCOL
 * section 17). A tampered, unsigned, older and wrongly signed directory are each refused
 * at reload and at start with the last good one kept; a newer one handed to one
 * authority reaches another through a third (A-B and B-C linked, never A-C); an authority
 * the new directory drops loses its links everywhere. Signatures come from the real
 * pki/rogatory-pki at test time.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "support.h"

static const char *const ids3[] = {"BD-ACC", "FR-MJ", "UA-PGO"};

#define MASK_ALL 7u
#define MASK_NO_UA 3u   /* BD-ACC and FR-MJ */
#define MASK_BD 1u

static void
wait_log(struct tnet *t, int i, const char *needle, int ms)
{
	cr_assert(tnet_wait_log(t, i, needle, ms), "no \"%s\" in the log of %s", needle,
	    t->node[i].id);
}

static void
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sh(const char *fmt, ...)
{
	char *cmd = NULL, *out = NULL;
	va_list ap;
	va_start(ap, fmt);
	cr_assert(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	int rc = ts_sh(&out, "%s", cmd);
	cr_assert_eq(rc, 0, "%s: exit %d\n%s", cmd, rc, out);
	free(cmd);
	free(out);
}

/* The network's directory with the nodes of mask, signed by the test CA's directory key. */
static void
publish(struct tnet *t, unsigned mask, const char *extra)
{
	tnet_write_directory(t, mask);
	if (extra != NULL) {
		FILE *f = fopen(t->directory, "a");
		cr_assert_not_null(f);
		fputs(extra, f);
		fclose(f);
	}
	sh("'%s' sign-directory '%s' '%s' 2>/dev/null >/dev/null", ts_pki(), t->ca_dir,
	    t->directory);
}

/* Every node runs on the signed directory <dir>/directory.conf.sig. */
static struct tnet *
signed_net(const char *tag)
{
	struct tnet *t = tnet_new(tag, ids3, 3);
	static char opt[4200];
	snprintf(opt, sizeof(opt), "directory.signature=%s.sig", t->directory);
	for (int i = 0; i < t->n; i++)
		tnet_opt(t, i, opt);
	publish(t, MASK_ALL, NULL);
	return t;
}

/* Is authority id in node i's directory as it runs? */
static bool
knows(struct tnet *t, int i, const char *id)
{
	char *out = NULL;
	int rc = tnet_ctlf(t, i, &out, "directory %s", id);
	free(out);
	return rc == 0;
}

static void
reload_ok(struct tnet *t, int i)
{
	free(tnet_ctl_ok(t, i, "reload"));
}

/* The refusal is logged with its reason, at reload, and the last good directory stays. */
static void
refused_at_reload(struct tnet *t, const char *why)
{
	int before = tnet_log_count(t, 0, "REFUSED");
	reload_ok(t, 0);
	wait_log(t, 0, why, 5000);
	cr_assert_gt(tnet_log_count(t, 0, "REFUSED"), before);
	cr_assert(knows(t, 0, "FR-MJ"), "the last good directory was not kept");
	cr_assert(!knows(t, 0, "UA-PGO"), "an older directory came back");
}

/* The same at start: the daemon runs, on the last good directory, saying why loudly. */
static void
refused_at_start(struct tnet *t, const char *why)
{
	cr_assert_eq(tnet_stop(t, 0, SIGTERM), 0);
	int before = tnet_log_count(t, 0, why);
	tnet_start(t, 0);
	cr_assert_gt(tnet_log_count(t, 0, why), before, "start-up did not say \"%s\"", why);
	wait_log(t, 0, "running on the last good one, serial 2", 1000);
	cr_assert(knows(t, 0, "FR-MJ"));
	cr_assert(!knows(t, 0, "UA-PGO"));
}

Test(signdir, bad_directories_refused_and_the_last_good_one_kept, .timeout = 120)
{
	struct tnet *t = signed_net("signdir-bad");
	tnet_start(t, 0);
	wait_log(t, 0, "signature good, serial 1", 1000);
	cr_assert(knows(t, 0, "UA-PGO"));
	/* Keep serial 1 aside, then publish serial 2 without UA-PGO. */
	sh("cp '%s' '%s.v1' && cp '%s.sig' '%s.v1.sig'", t->directory, t->directory,
	    t->directory, t->directory);
	publish(t, MASK_NO_UA, NULL);
	reload_ok(t, 0);
	wait_log(t, 0, "signature good, serial 2", 5000);
	cr_assert(!knows(t, 0, "UA-PGO"));

	/* older: serial 1 again */
	sh("cp '%s.v1' '%s' && cp '%s.v1.sig' '%s.sig'", t->directory, t->directory,
	    t->directory, t->directory);
	refused_at_reload(t, "older: serial 1 is below serial 2");
	refused_at_start(t, "older: serial 1 is below serial 2");

	/* tampered: serial 2's signature over other bytes (FR-MJ left out) */
	publish(t, MASK_NO_UA, NULL);
	tnet_write_directory(t, MASK_BD);
	refused_at_reload(t, "changed after it was signed");
	refused_at_start(t, "changed after it was signed");

	/* unsigned */
	sh("rm '%s.sig'", t->directory);
	refused_at_reload(t, "unsigned: no signature file");
	refused_at_start(t, "unsigned: no signature file");

	/* wrongly signed: the CA's tool run with an authority's key as the directory key */
	sh("cp -R '%s' '%s/fakeca' && cp '%s' '%s/fakeca/directory.key' && "
	   "cp '%s' '%s/fakeca/directory.crt' && echo 40 > '%s/fakeca/directory.serial' && "
	   "'%s' sign-directory '%s/fakeca' '%s' >/dev/null 2>&1",
	    t->ca_dir, t->dir, t->node[1].key, t->dir, t->node[1].cert, t->dir, t->dir,
	    ts_pki(), t->dir, t->directory);
	refused_at_reload(t, "it is an authority's certificate (urn:rogatory:authority:FR-MJ)");
	refused_at_start(t, "it is an authority's certificate (urn:rogatory:authority:FR-MJ)");

	/* rogatoryd -n says the same, and that the daemon would run */
	char *out = NULL;
	char *argv[] = {(char *)ts_build_path("rogatoryd"), "-n", "-c", t->node[0].conf, NULL};
	cr_assert_eq(ts_run(argv, &out), 0, "%s", out);
	cr_assert(strstr(out, "authority's certificate") != NULL, "%s", out);
	cr_assert(strstr(out, "configuration OK") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}

Test(signdir, new_directory_reaches_c_through_b, .timeout = 120)
{
	struct tnet *t = signed_net("signdir-spread");
	for (int i = 0; i < 3; i++)
		tnet_start(t, i);
	/* A-B and B-C; A and C never link. */
	free(tnet_ctl_ok(t, 0, "connect FR-MJ"));
	free(tnet_ctl_ok(t, 1, "connect UA-PGO"));
	wait_log(t, 0, "link to FR-MJ: up", 10000);
	wait_log(t, 1, "link to UA-PGO: up", 10000);

	/* The network operator hands serial 2 to A alone (serial 1 kept aside). */
	sh("cp '%s' '%s.v1' && cp '%s.sig' '%s.v1.sig'", t->directory, t->directory,
	    t->directory, t->directory);
	publish(t, MASK_ALL, "\n# serial 2: the same authorities, new bytes\n");
	reload_ok(t, 0);
	wait_log(t, 0, "signature good, serial 2", 5000);
	wait_log(t, 1, "directory serial 2 from peer BD-ACC (CN=BD-ACC) adopted (was serial 1)",
	    10000);
	wait_log(t, 2, "directory serial 2 from peer FR-MJ (CN=FR-MJ) adopted (was serial 1)",
	    10000);
	cr_assert_eq(tnet_log_count(t, 2, "BD-ACC: up"), 0, "A and C linked");
	cr_assert_eq(tnet_log_count(t, 0, "UA-PGO: up"), 0, "A and C linked");
	cr_assert_eq(tnet_log_count(t, 2, "from peer BD-ACC"), 0);
	char *st = tnet_ctl_ok(t, 2, "status");
	cr_assert(strstr(st, "directory      signed, serial 2, from peer FR-MJ (CN=FR-MJ)\n") !=
	    NULL, "%s", st);
	free(st);

	/* B keeps it in its state folder: restarted with its file still at serial 1, it runs
	 * on serial 2 and says why. */
	cr_assert_eq(tnet_stop(t, 1, SIGTERM), 0);
	sh("cp '%s.v1' '%s' && cp '%s.v1.sig' '%s.sig'", t->directory, t->directory,
	    t->directory, t->directory);
	tnet_start(t, 1);
	wait_log(t, 1, "older: serial 1 is below serial 2", 1000);
	wait_log(t, 1, "running on the last good one, serial 2", 1000);
	tnet_free(t);
}

Test(signdir, removed_authority_refused_on_every_link, .timeout = 120)
{
	struct tnet *t = signed_net("signdir-removed");
	for (int i = 0; i < 3; i++)
		tnet_start(t, i);
	free(tnet_ctl_ok(t, 0, "connect FR-MJ"));
	free(tnet_ctl_ok(t, 0, "connect UA-PGO"));
	free(tnet_ctl_ok(t, 1, "connect UA-PGO"));
	wait_log(t, 0, "link to FR-MJ: up", 10000);
	wait_log(t, 0, "link to UA-PGO: up", 10000);
	wait_log(t, 1, "link to UA-PGO: up", 10000);

	/* Serial 2 drops UA-PGO; given to BD-ACC, it reaches FR-MJ over their link. */
	publish(t, MASK_NO_UA, NULL);
	reload_ok(t, 0);
	wait_log(t, 0, "authority UA-PGO removed from the directory: closing its link", 5000);
	wait_log(t, 0, "(certificate CN=UA-PGO)", 1000);
	wait_log(t, 1, "directory serial 2 from peer BD-ACC (CN=BD-ACC) adopted", 10000);
	wait_log(t, 1, "authority UA-PGO removed from the directory: closing its link", 5000);
	cr_assert(!knows(t, 0, "UA-PGO") && !knows(t, 1, "UA-PGO"));

	/* UA-PGO, still on serial 1, is refused by both when it dials. */
	free(tnet_ctl_ok(t, 2, "connect BD-ACC"));
	wait_log(t, 0, "unknown authority: UA-PGO is not in our directory", 10000);
	free(tnet_ctl_ok(t, 2, "connect FR-MJ"));
	wait_log(t, 1, "unknown authority: UA-PGO is not in our directory", 10000);
	tnet_free(t);
}
