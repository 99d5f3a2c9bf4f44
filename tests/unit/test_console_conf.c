/*
 * Unit tests of rogatory-console.conf (console/cconf.c): the defaults, every problem
 * named with its file and line, loopback without TLS only, certificate and key both or
 * neither, and configs/rogatory-console.conf.example equal to what the key table writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "../support/support.h"
#include "cconf.h"

static char *dir;

static void
setup(void)
{
	dir = ts_tmpdir("cconf");
}

static void
teardown(void)
{
	ts_rmrf(dir);
	free(dir);
}

TestSuite(console_conf, .init = setup, .fini = teardown);

/* Loads text; 0/-1; the diagnostics joined in out. */
static int
load(const char *text, struct cconf *c, char *out, size_t outlen)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/c.conf", dir);
	ts_write_file(path, text, 0600);
	struct diag d = {0};
	int rc = cconf_load(path, c, &d);
	out[0] = '\0';
	for (size_t i = 0; i < d.n; i++)
		snprintf(out + strlen(out), outlen - strlen(out), "%s\n", d.lines[i]);
	diag_free(&d);
	return rc;
}

Test(console_conf, defaults)
{
	struct cconf c;
	char out[2048];
	cr_assert_eq(load("[console]\n", &c, out, sizeof(out)), 0, "%s", out);
	cr_assert_str_eq(c.host, "127.0.0.1");
	cr_assert_str_eq(c.port, "8743");
	cr_assert_str_eq(c.socket, "/run/rogatoryd/control.sock");
	cr_assert_null(c.certificate);
	cr_assert_str_eq(c.language, "en");
	cconf_free(&c);
	cr_assert_eq(load("", &c, out, sizeof(out)), 0, "%s", out);
	cconf_free(&c);
}

Test(console_conf, every_problem_names_its_line)
{
	struct cconf c;
	char out[4096];
	cr_assert_eq(load("[console]\nlisten = nope\nwhat = 1\nlanguage = english\n"
	    "[other]\nx = 1\nsocket = \n", &c, out, sizeof(out)), -1);
	cr_assert(strstr(out, "c.conf:2: [console] listen") != NULL, "%s", out);
	cr_assert(strstr(out, "c.conf:3: unknown key [console] what") != NULL, "%s", out);
	cr_assert(strstr(out, "c.conf:4: [console] language") != NULL, "%s", out);
	cr_assert(strstr(out, "c.conf:5: unknown section [other]") != NULL, "%s", out);
	cr_assert_eq(load("[console]\nlisten = 1.2.3.4:1\nlisten = 1.2.3.4:2\n", &c, out,
	    sizeof(out)), -1);
	cr_assert(strstr(out, "c.conf:3:") != NULL, "duplicate key: %s", out);
}

Test(console_conf, beyond_loopback_needs_tls)
{
	struct cconf c;
	char out[2048];
	cr_assert_eq(load("[console]\nlisten = 0.0.0.0:8743\n", &c, out, sizeof(out)), -1);
	cr_assert(strstr(out, "c.conf:2: [console] listen = 0.0.0.0:8743 is beyond loopback")
	    != NULL, "%s", out);
	cr_assert_eq(load("[console]\nlisten = [::]:8743\n", &c, out, sizeof(out)), -1);
	cr_assert_eq(load("[console]\nlisten = [::1]:8743\n", &c, out, sizeof(out)), 0, "%s", out);
	cconf_free(&c);
	cr_assert_eq(load("[console]\nlisten = localhost:1\n", &c, out, sizeof(out)), 0, "%s",
	    out);
	cconf_free(&c);
	/* With a certificate and key (readable files; their content is ctls's business). */
	char cert[512], key[512], text[2048];
	snprintf(cert, sizeof(cert), "%s/c.pem", dir);
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	ts_write_file(cert, "x", 0600);
	ts_write_file(key, "x", 0600);
	snprintf(text, sizeof(text), "[console]\nlisten = 0.0.0.0:8743\ncertificate = %s\n"
	    "key = k.pem\n", cert);
	cr_assert_eq(load(text, &c, out, sizeof(out)), 0, "%s", out);
	cr_assert_str_eq(c.key, key, "a relative key is under the config's folder");
	cconf_free(&c);
	snprintf(text, sizeof(text), "[console]\ncertificate = %s\n", cert);
	cr_assert_eq(load(text, &c, out, sizeof(out)), -1);
	cr_assert(strstr(out, "c.conf:2: [console] certificate and key: both or neither") != NULL,
	    "%s", out);
	cr_assert_eq(load("[console]\nkey = /nonexistent/k.pem\n", &c, out, sizeof(out)), -1);
	cr_assert(strstr(out, "c.conf:2: [console] key: cannot read /nonexistent/k.pem") != NULL,
	    "%s", out);
}

Test(console_conf, the_example_is_the_table)
{
	char *ex = ts_read_file(ts_src_path("configs/rogatory-console.conf.example"), NULL);
	cr_assert_not_null(ex);
	char *gen = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&gen, &len);
	cconf_write_example(f);
	fclose(f);
	const char *body = strstr(ex, "[console]\n");
	cr_assert_not_null(body, "no [console] in the example");
	cr_assert_str_eq(body, gen, "configs/rogatory-console.conf.example's [console] section "
	    "differs from the key table's:\n%s", gen);
	/* And it loads. */
	struct cconf c;
	char out[2048];
	cr_assert_eq(load(ex, &c, out, sizeof(out)), 0, "%s", out);
	cconf_free(&c);
	free(gen);
	free(ex);
}

/* The program itself: -n on a good and a bad file, and HTTPS with a certificate. */
Test(console_conf, check_mode_says_ok_or_every_problem)
{
	char path[512], *out = NULL;
	snprintf(path, sizeof(path), "%s/c.conf", dir);
	ts_write_file(path, "[console]\nlisten = 127.0.0.1:1\n", 0600);
	int rc = ts_sh(&out, "'%s' -n -c '%s' 2>&1", ts_build_path("rogatory-console"), path);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert_str_eq(out, "configuration OK\n");
	free(out);
	ts_write_file(path, "[console]\nlisten = 10.0.0.1:1\nbad = 1\n", 0600);
	rc = ts_sh(&out, "'%s' -n -c '%s' 2>&1", ts_build_path("rogatory-console"), path);
	cr_assert_neq(rc, 0, "%s", out);
	cr_assert(strstr(out, "c.conf:3: unknown key [console] bad") != NULL, "%s", out);
	cr_assert(strstr(out, "c.conf:2: [console] listen = 10.0.0.1:1 is beyond loopback") != NULL,
	    "%s", out);
	free(out);
}

Test(console_conf, https_serves_tls_only, .timeout = 60)
{
	char *out = NULL;
	int port = ts_free_port();
	int rc = ts_sh(&out, "cd '%s' && openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem -days 1 -subj /CN=localhost "
	    "2>&1", dir);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	char path[512];
	snprintf(path, sizeof(path), "%s/c.conf", dir);
	ts_writef(path, 0600, "[console]\nlisten = 127.0.0.1:%d\nsocket = %s/none.sock\n"
	    "certificate = c.pem\nkey = k.pem\n", port, dir);
	rc = ts_sh(&out, "'%s' -n -c '%s' 2>&1", ts_build_path("rogatory-console"), path);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	char *argv[] = {(char *)ts_build_path("rogatory-console"), "-c", path, NULL};
	char logp[512];
	snprintf(logp, sizeof(logp), "%s/console.log", dir);
	pid_t pid = ts_spawn(argv, logp);
	cr_assert(ts_wait_file_contains(logp, "serving https://", 10000), "no start");
	/* HTTPS answers with the headers; plain HTTP on the same port gets nothing. */
	rc = ts_sh(&out, "curl -sk -D - -o /dev/null https://127.0.0.1:%d/login 2>&1", port);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "HTTP/1.1 200") != NULL && strstr(out, "X-Frame-Options: DENY")
	    != NULL, "%s", out);
	free(out);
	rc = ts_sh(&out, "curl -s --max-time 5 -o /dev/null -w '%%{http_code}' "
	    "http://127.0.0.1:%d/login 2>&1; true", port);
	cr_assert(strstr(out, "200") == NULL, "plain HTTP was served: %s", out);
	free(out);
	rc = ts_sh(&out, "curl -sk --tlsv1.1 --tls-max 1.1 -o /dev/null -w '%%{http_code}' "
	    "https://127.0.0.1:%d/login 2>&1; true", port);
	cr_assert(strstr(out, "200") == NULL, "TLS 1.1 was accepted: %s", out);
	free(out);
	ts_stop(pid, 15);
}
