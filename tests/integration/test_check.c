/*
 * 02-check: `rogatoryd -c FILE -n` on configurations made with pki/rogatory-pki:
 * "configuration OK" and exit 0, or every problem as FILE:LINE: and exit 1; and a daemon
 * refusing to start on the same problems.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "net.h"
#include "support.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

static int
check(struct tnet *t, char **out)
{
	return ts_sh(out, "'%s' -n -c '%s'", ts_build_path("rogatoryd"), t->node[0].conf);
}

Test(check, good_configuration, .timeout = 60)
{
	struct tnet *t = tnet_new("check-good", ids2, 2);
	char *out = NULL;
	cr_assert_eq(check(t, &out), 0, "%s", out);
	cr_assert(strstr(out, "configuration OK") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}

Test(check, every_error_with_file_and_line, .timeout = 60)
{
	struct tnet *t = tnet_new("check-bad", ids2, 2);
	/* Line numbers follow tnet_write_config's layout: [authority] on line 1, id on
	 * 2, a blank line, [network] on 4, listen 5, handshake_timeout 6, keepalive 7. */
	tnet_opt(t, 0, "network.keepalive=30");
	tnet_opt(t, 0, "network.lisen=127.0.0.1:1");
	cr_assert_eq(chmod(t->node[0].key, 0644), 0);
	char *out = NULL;
	cr_assert_eq(check(t, &out), 1, "%s", out);
	char want[4200];
	snprintf(want, sizeof(want), "%s:7: [network] keepalive: \"30\" has no unit", t->node[0].conf);
	cr_assert(strstr(out, want) != NULL, "no \"%s\" in:\n%s", want, out);
	cr_assert(strstr(out, "unknown key [network] lisen (did you mean [network] listen?)") != NULL,
	    "%s", out);
	cr_assert(strstr(out, ".key has mode 0644; it must be readable by its owner only") != NULL,
	    "%s", out);
	cr_assert(strstr(out, "configuration OK") == NULL, "%s", out);
	free(out);
	/* The daemon refuses to start on the same file, saying why. */
	cr_assert_eq(ts_sh(&out, "'%s' -f -c '%s'", ts_build_path("rogatoryd"), t->node[0].conf), 1,
	    "%s", out);
	cr_assert(strstr(out, "configuration errors; not started") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}

Test(check, certificate_of_another_authority, .timeout = 60)
{
	struct tnet *t = tnet_new("check-otherid", ids2, 2);
	char opt1[4200], opt2[4200];
	snprintf(opt1, sizeof(opt1), "tls.certificate=%s", t->node[1].cert);
	snprintf(opt2, sizeof(opt2), "tls.key=%s", t->node[1].key);
	tnet_opt(t, 0, opt1);
	tnet_opt(t, 0, opt2);
	char *out = NULL;
	cr_assert_eq(check(t, &out), 1, "%s", out);
	cr_assert(strstr(out, "names authority FR-MJ, not the configured authority id BD-ACC") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}
