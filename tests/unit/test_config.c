/*
 * test_config: rogatoryd.conf and directory.conf: every error at its exact line, the value
 * parsers, defaults, and our own credentials checked against a PKI made at test time by
 * pki/rogatory-pki. Must never rely on certificates committed to the tree.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../support/support.h"
#include "conffile.h"
#include "config.h"
#include "directory.h"

static char *tmp;               /* a copy of tests/fixtures/config with tls/ and tls-other/ */
static struct diag d;
static struct config *cfg;
static struct directory *dir;

static void
teardown(void)
{
	config_free(cfg);
	cfg = NULL;
	directory_free(dir);
	dir = NULL;
	diag_free(&d);
	if (tmp != NULL) {
		ts_rmrf(tmp);
		free(tmp);
		tmp = NULL;
	}
}

TestSuite(config, .fini = teardown);

/*
 * The test PKI, made once a day into the build folder: a CA with FR-MJ, BD-ACC and DE-BMJ
 * (tls/), and a second CA with its own FR-MJ (tls-other/). Built aside and renamed into
 * place, so tests running in parallel never see half of it.
 */
static const char *
pki_cache(void)
{
	static char path[PATH_MAX];
	char part[PATH_MAX + 32], *out = NULL;
	time_t now = time(NULL);
	struct tm tm;
	struct stat st;

	gmtime_r(&now, &tm);
	snprintf(path, sizeof(path), "%s/tests/pki-config-%04d%02d%02d", ts_build(),
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	if (stat(path, &st) == 0)
		return path;
	snprintf(part, sizeof(part), "%s.part%d", path, (int)getpid());
	ts_rmrf(part);
	int rc = ts_sh(&out, "set -e; P='%s'; T='%s'; mkdir -p \"$T\"; "
	    "\"$P\" init \"$T/ca\"; \"$P\" init \"$T/other\"; "
	    "for id in FR-MJ BD-ACC DE-BMJ; do \"$P\" issue \"$T/ca\" $id \"$T/tls\"; done; "
	    "\"$P\" issue \"$T/other\" FR-MJ \"$T/tls-other\"; cp \"$T/ca/ca.crt\" \"$T/tls/\"",
	    ts_pki(), part);
	cr_assert_eq(rc, 0, "rogatory-pki failed (%d):\n%s", rc, out ? out : "");
	free(out);
	if (rename(part, path) != 0) {
		cr_assert(errno == EEXIST || errno == ENOTEMPTY, "rename %s: %s", part,
		    strerror(errno));
		ts_rmrf(part);
	}
	return path;
}

/* The fixtures and the PKI in a fresh folder; returns its real path. */
static const char *
fixture_dir(void)
{
	if (tmp != NULL)
		return tmp;
	const char *pki = pki_cache();
	char *t = ts_tmpdir("config");
	int rc = ts_sh(NULL, "cp -R '%s/.' '%s/' && cp -Rp '%s/tls' '%s/tls-other' '%s/'",
	    ts_src_path("tests/fixtures/config"), t, pki, pki, t);
	cr_assert_eq(rc, 0, "copying the fixtures failed");
	tmp = realpath(t, NULL);
	cr_assert_not_null(tmp);
	free(t);
	return tmp;
}

static const char *
fixture(const char *name)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", fixture_dir(), name);
	return path;
}

static int
load(const char *name)
{
	return config_load(fixture(name), &cfg, &d);
}

static char *
diag_text(void)
{
	size_t len = 1;
	for (size_t i = 0; i < d.n; i++)
		len += strlen(d.lines[i]) + 1;
	char *s = calloc(1, len);
	cr_assert_not_null(s);
	for (size_t i = 0; i < d.n; i++) {
		strcat(s, d.lines[i]);
		strcat(s, "\n");
	}
	return s;
}

/* Exactly n diagnostics, and each needle (NULL-terminated list) in one of them. */
static void
expect_diag(size_t n, ...)
{
	char *all = diag_text();
	va_list ap;
	cr_assert_eq(d.n, n, "expected %zu diagnostics, got %zu:\n%s", n, d.n, all);
	va_start(ap, n);
	for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
		cr_assert(diag_contains(&d, s), "no diagnostic contains\n  %s\ngot:\n%s", s, all);
	va_end(ap);
	free(all);
}

/* A fixture that must fail with exactly n errors containing the needles. */
static void
expect_load_fails(const char *name, size_t n, ...)
{
	cr_assert_eq(load(name), -1, "%s loaded", name);
	cr_assert_null(cfg);
	char *all = diag_text();
	va_list ap;
	cr_assert_eq(d.n, n, "%s: expected %zu diagnostics, got %zu:\n%s", name, n, d.n, all);
	va_start(ap, n);
	for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
		cr_assert(diag_contains(&d, s), "no diagnostic contains\n  %s\ngot:\n%s", s, all);
	va_end(ap);
	free(all);
}

/* ---- value parsers ---- */

static void
duration_ok(const char *s, uint64_t want)
{
	uint64_t ms = 1;
	char err[256] = "";
	cr_assert_eq(config_parse_duration(s, &ms, err, sizeof(err)), 0, "%s: %s", s, err);
	cr_assert_eq(ms, want, "%s: %llu ms", s, (unsigned long long)ms);
}

static void
duration_bad(const char *s, const char *needle)
{
	uint64_t ms = 0;
	char err[256] = "";
	cr_assert_eq(config_parse_duration(s, &ms, err, sizeof(err)), -1, "%s accepted", s);
	cr_assert(strstr(err, needle) != NULL, "%s: \"%s\" lacks \"%s\"", s, err, needle);
}

Test(config, duration_values)
{
	duration_ok("250ms", 250);
	duration_ok("5s", 5000);
	duration_ok("10m", 600000);
	duration_ok("2h", 7200000);
	duration_ok("7d", 604800000);
	duration_ok("0s", 0);
	duration_ok("18446744073709551615ms", UINT64_MAX);
}

Test(config, duration_errors)
{
	duration_bad("5", "\"5\" has no unit; expected a duration like 30s, 5m");
	duration_bad("5x", "\"5x\" has an unknown unit \"x\"; expected ms, s, m, h or d");
	duration_bad("-1s", "\"-1s\" is not a duration");
	duration_bad("", "is not a duration");
	duration_bad("1.5s", "unknown unit \".5s\"");
	duration_bad("5 s", "unknown unit \" s\"");
	duration_bad("5S", "unknown unit \"S\"");
	duration_bad("18446744073709551616ms", "is too large");
	duration_bad("18446744073709551615s", "is too large");
	duration_bad("213503982334602d", "is too large");
}

static void
size_ok(const char *s, uint64_t want)
{
	uint64_t b = 1;
	char err[256] = "";
	cr_assert_eq(config_parse_size(s, &b, err, sizeof(err)), 0, "%s: %s", s, err);
	cr_assert_eq(b, want, "%s: %llu bytes", s, (unsigned long long)b);
}

static void
size_bad(const char *s, const char *needle)
{
	uint64_t b = 0;
	char err[256] = "";
	cr_assert_eq(config_parse_size(s, &b, err, sizeof(err)), -1, "%s accepted", s);
	cr_assert(strstr(err, needle) != NULL, "%s: \"%s\" lacks \"%s\"", s, err, needle);
}

Test(config, size_values)
{
	size_ok("512", 512);
	size_ok("0", 0);
	size_ok("64K", 65536);
	size_ok("4M", 4194304);
	size_ok("1G", 1073741824);
	size_ok("16777215G", 16777215ull << 30);
}

Test(config, size_errors)
{
	size_bad("4MB", "\"4MB\" has an unknown unit \"MB\"; expected K, M or G");
	size_bad("4k", "unknown unit \"k\"");
	size_bad("-1", "\"-1\" is not a size");
	size_bad("", "is not a size");
	size_bad("18446744073709551616", "is too large");
	size_bad("17179869184G", "is too large");
}

static void
hostport_ok(const char *s, bool zero, const char *host, const char *port)
{
	char *h = NULL, *p = NULL, err[256] = "";
	cr_assert_eq(conffile_parse_hostport(s, zero, &h, &p, err, sizeof(err)), 0, "%s: %s",
	    s, err);
	cr_assert_str_eq(h, host);
	cr_assert_str_eq(p, port);
	free(h);
	free(p);
}

static void
hostport_bad(const char *s, bool zero, const char *needle)
{
	char *h = NULL, *p = NULL, err[256] = "";
	cr_assert_eq(conffile_parse_hostport(s, zero, &h, &p, err, sizeof(err)), -1,
	    "%s accepted", s);
	cr_assert_null(h);
	cr_assert_null(p);
	cr_assert(strstr(err, needle) != NULL, "%s: \"%s\" lacks \"%s\"", s, err, needle);
}

Test(config, hostport_values)
{
	hostport_ok("127.0.0.1:7000", false, "127.0.0.1", "7000");
	hostport_ok("[::1]:1", false, "::1", "1");
	hostport_ok("[2001:db8::7]:65535", false, "2001:db8::7", "65535");
	hostport_ok("acc.example.org:443", false, "acc.example.org", "443");
	hostport_ok("0.0.0.0:0", true, "0.0.0.0", "0");

	char *h = NULL, *p = NULL, err[256];
	cr_assert_eq(config_parse_hostport("[::]:0", &h, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(h, "::");
	cr_assert_str_eq(p, "0");
	free(h);
	free(p);
}

Test(config, hostport_errors)
{
	hostport_bad("localhost", true, "\"localhost\" has no port");
	hostport_bad("[::1]", true, "\"[::1]\" has no port");
	hostport_bad("[::1]80", true, "has no port");
	hostport_bad("::1:80", true, "an IPv6 address goes in brackets");
	hostport_bad("[::1:80", true, "missing ']'");
	hostport_bad("[zz::1]:80", true, "\"zz::1\" is not an IPv6 address");
	hostport_bad(":80", true, "has no host");
	hostport_bad("bad_host:80", true, "\"bad_host\" is not a host name or address");
	hostport_bad("host:", true, "port \"\" is not a number from 0 to 65535");
	hostport_bad("host:65536", true, "port \"65536\" is not a number");
	hostport_bad("host:+1", true, "port \"+1\" is not a number");
	hostport_bad("host:0", false, "port \"0\" is not a number from 1 to 65535");
}

/* ---- rogatoryd.conf: good files ---- */

Test(config, good_config_loads_every_value)
{
	const char *t = fixture_dir();
	char want[PATH_MAX + 64];

	cr_assert_eq(load("good.conf"), 0, "%s", diag_text());
	cr_assert_eq(d.n, 0);
	cr_assert_str_eq(cfg->authority_id, "FR-MJ");
	cr_assert_str_eq(cfg->listen, "127.0.0.1:0");
	cr_assert_str_eq(cfg->listen_host, "127.0.0.1");
	cr_assert_str_eq(cfg->listen_port, "0");
	cr_assert_eq(cfg->handshake_timeout_ms, 2000);
	cr_assert_eq(cfg->keepalive_ms, 10000);
	cr_assert_eq(cfg->dead_after_ms, 45000);
	cr_assert_eq(cfg->max_unauthenticated, 64);
	snprintf(want, sizeof(want), "%s/tls/FR-MJ.crt", t);
	cr_assert_str_eq(cfg->tls_certificate, want);
	snprintf(want, sizeof(want), "%s/tls/FR-MJ.key", t);
	cr_assert_str_eq(cfg->tls_key, want);
	snprintf(want, sizeof(want), "%s/tls/ca.crt", t);
	cr_assert_str_eq(cfg->tls_ca, want);
	cr_assert_eq(cfg->tls_certificate_line, 13);
	cr_assert_eq(cfg->tls_key_line, 14);
	cr_assert_eq(cfg->tls_ca_line, 15);
	snprintf(want, sizeof(want), "%s/state", t);
	cr_assert_str_eq(cfg->state_dir, want);
	snprintf(want, sizeof(want), "%s/run/control.sock", t);
	cr_assert_str_eq(cfg->control_socket, want);
	cr_assert_str_eq(cfg->control_group, "root");
	cr_assert_eq(cfg->control_mode, 0600);
	cr_assert_eq(cfg->log_level, LOG_LEVEL_DEBUG);
	cr_assert_eq(cfg->retry_min_ms, 250);
	cr_assert_eq(cfg->retry_max_ms, 3600000);
	cr_assert_eq(cfg->max_frame, 8u << 20);
	snprintf(want, sizeof(want), "%s/directory.conf", t);
	cr_assert_str_eq(cfg->directory_path, want);
	cr_assert_eq(cfg->directory_line, 36);
	cr_assert_not_null(cfg->directory);
	cr_assert_eq(cfg->directory->n, 3);
	cr_assert_gt(cfg->tls_not_after, time(NULL) + 300 * 86400);
}

Test(config, minimal_config_takes_defaults)
{
	cr_assert_eq(load("minimal.conf"), 0, "%s", diag_text());
	cr_assert_str_eq(cfg->listen_host, "::1");
	cr_assert_str_eq(cfg->listen_port, "7000");
	cr_assert_eq(cfg->handshake_timeout_ms, 5000);
	cr_assert_eq(cfg->keepalive_ms, 30000);
	cr_assert_eq(cfg->dead_after_ms, 90000);
	cr_assert_eq(cfg->max_unauthenticated, 256);
	cr_assert_str_eq(cfg->state_dir, "/var/lib/rogatory");
	cr_assert_str_eq(cfg->control_socket, "/run/rogatoryd/control.sock");
	cr_assert_null(cfg->control_group);
	cr_assert_eq(cfg->control_mode, 0660);
	cr_assert_eq(cfg->log_level, LOG_LEVEL_INFO);
	cr_assert_eq(cfg->retry_min_ms, 5000);
	cr_assert_eq(cfg->retry_max_ms, 600000);
	cr_assert_eq(cfg->max_frame, 4u << 20);
}

Test(config, relative_config_path_gives_absolute_paths)
{
	char want[PATH_MAX + 64], old[PATH_MAX];
	const char *t = fixture_dir();
	cr_assert_not_null(getcwd(old, sizeof(old)));
	cr_assert_eq(chdir(t), 0);
	int rc = config_load("minimal.conf", &cfg, &d);
	cr_assert_eq(chdir(old), 0);
	cr_assert_eq(rc, 0, "%s", diag_text());
	cr_assert_str_eq(cfg->path, "minimal.conf");
	cr_assert_str_eq(cfg->dir, t);
	snprintf(want, sizeof(want), "%s/tls/FR-MJ.key", t);
	cr_assert_str_eq(cfg->tls_key, want);
}

Test(config, crlf_and_bom_are_accepted)
{
	char *body = ts_read_file(fixture("minimal.conf"), NULL);
	cr_assert_not_null(body);
	FILE *f = fopen(fixture("crlf.conf"), "w");
	cr_assert_not_null(f);
	fputs("\xEF\xBB\xBF", f);
	for (const char *s = body; *s != '\0'; s++)
		fputs(*s == '\n' ? "\r\n" : (char[]){ *s, '\0' }, f);
	fclose(f);
	free(body);
	cr_assert_eq(load("crlf.conf"), 0, "%s", diag_text());
	cr_assert_str_eq(cfg->authority_id, "FR-MJ");
}

/* ---- rogatoryd.conf: each error at its line ---- */

Test(config, value_without_unit)
{
	expect_load_fails("bad-unit.conf", 1, "bad-unit.conf:7: [network] keepalive: \"30\" has "
	    "no unit; expected a duration like 30s, 5m", NULL);
}

Test(config, unknown_section)
{
	expect_load_fails("bad-unknown-section.conf", 1,
	    "bad-unknown-section.conf:19: unknown section [foo]; expected one of [authority], "
	    "[network]", NULL);
}

Test(config, unknown_key_suggests_the_right_one)
{
	expect_load_fails("bad-unknown-key.conf", 1, "bad-unknown-key.conf:7: unknown key "
	    "[network] lisen (did you mean [network] listen?)", NULL);
}

Test(config, key_in_wrong_section)
{
	expect_load_fails("bad-wrong-section.conf", 1, "bad-wrong-section.conf:7: unknown key "
	    "[network] level (did you mean [log] level?)", NULL);
}

Test(config, duplicate_key_names_first_line)
{
	expect_load_fails("bad-duplicate-key.conf", 1, "bad-duplicate-key.conf:8: duplicate "
	    "key [network] keepalive (first at line 7)", NULL);
}

Test(config, duplicate_section_names_first_line)
{
	expect_load_fails("bad-duplicate-section.conf", 1, "bad-duplicate-section.conf:19: "
	    "duplicate section [network] (first at line 5)", NULL);
}

Test(config, bad_authority_id)
{
	expect_load_fails("bad-id.conf", 1, "bad-id.conf:3: [authority] id: \"fr-mj\" is not a "
	    "valid authority id; expected CC-AGENCY like FR-MJ", NULL);
}

Test(config, unreadable_file_named_at_its_key)
{
	char want[PATH_MAX + 128];
	snprintf(want, sizeof(want), "bad-missing-file.conf:11: [tls] ca: cannot read "
	    "%s/tls/missing-ca.crt: No such file or directory", fixture_dir());
	expect_load_fails("bad-missing-file.conf", 1, want, NULL);
}

Test(config, missing_key_at_section_line)
{
	expect_load_fails("bad-missing-key.conf", 1, "bad-missing-key.conf:8: missing [tls] "
	    "ca", NULL);
}

Test(config, missing_section)
{
	expect_load_fails("bad-missing-section.conf", 1, "bad-missing-section.conf: missing "
	    "[store] state_dir", NULL);
}

Test(config, empty_value)
{
	expect_load_fails("bad-empty-value.conf", 1, "bad-empty-value.conf:14: [store] "
	    "state_dir: empty value; expected a path", NULL);
}

Test(config, own_id_not_in_directory)
{
	char want[PATH_MAX + 128];
	snprintf(want, sizeof(want), "bad-not-in-directory.conf:3: [authority] id DE-BMJ is "
	    "not in the directory %s/directory.conf", fixture_dir());
	expect_load_fails("bad-not-in-directory.conf", 1, want, NULL);
}

Test(config, dead_after_not_above_keepalive)
{
	expect_load_fails("bad-dead-after.conf", 1, "bad-dead-after.conf:7: [network] "
	    "dead_after: 20s must be longer than keepalive (30s)", NULL);
}

Test(config, retry_max_below_retry_min)
{
	expect_load_fails("bad-retry.conf", 1, "bad-retry.conf:21: [delivery] retry_max: 30s "
	    "must be at least retry_min (1m)", NULL);
}

Test(config, max_frame_out_of_range)
{
	expect_load_fails("bad-max-frame.conf", 1, "bad-max-frame.conf:20: [limits] max_frame: "
	    "\"1M\" is out of range; expected a size from 1088K to 64M", NULL);
}

Test(config, listen_without_port)
{
	expect_load_fails("bad-listen.conf", 1, "bad-listen.conf:6: [network] listen: "
	    "\"localhost\" has no port", NULL);
}

Test(config, control_errors)
{
	expect_load_fails("bad-control.conf", 3,
	    "bad-control.conf:20: [control] group: group \"no-such-group-rogatory\" does not "
	    "exist",
	    "bad-control.conf:21: [control] mode: \"0666\" lets every local user in",
	    "bad-control.conf:22: [control] socket: empty value", NULL);
}

Test(config, every_error_is_reported)
{
	expect_load_fails("bad-many.conf", 7,
	    "bad-many.conf:6: [network] listen: \"127.0.0.1:70000\": port \"70000\" is not a "
	    "number from 0 to 65535",
	    "bad-many.conf:7: [network] keepalive: \"5x\" has an unknown unit \"x\"",
	    "bad-many.conf:8: [network] handshake_timeout: \"-1s\" is not a duration",
	    "bad-many.conf:9: [network] max_unauthenticated: \"lots\" is not a number",
	    "bad-many.conf:11: missing [tls] ca",
	    "bad-many.conf:19: [log] level: \"verbose\" is not a log level; expected debug, "
	    "info, notice, warn or error",
	    "bad-many.conf:22: [limits] max_frame: \"4MB\" has an unknown unit \"MB\"", NULL);
}

Test(config, syntax_errors_each_at_their_line)
{
	expect_load_fails("bad-syntax.conf", 10,
	    "bad-syntax.conf:2: key outside any section",
	    "bad-syntax.conf:9: indented line: continuation lines are not supported",
	    "bad-syntax.conf:10: inline comment after the value of handshake_timeout",
	    "bad-syntax.conf:11: expected \"key = value\", a [section] header or a comment",
	    "bad-syntax.conf:12: bad key name \"Max_Frame\"",
	    "bad-syntax.conf:13: missing key name before '='",
	    "bad-syntax.conf:14: section header without closing ']'",
	    "bad-syntax.conf:15: text after the section header [tls]",
	    "bad-syntax.conf:20: line too long (max 199 bytes)",
	    "bad-syntax.conf:21: empty section name []", NULL);
}

Test(config, bad_bytes_reported_at_their_line)
{
	static const char text[] = "[authority]\nid = FR-MJ\nname = caf\xe9\n[network]\n"
	    "listen = [::1]:1\nx = a\0b\n";
	FILE *f = fopen(fixture("bytes.conf"), "w");
	cr_assert_not_null(f);
	fwrite(text, 1, sizeof(text) - 1, f);
	fclose(f);
	cr_assert_eq(load("bytes.conf"), -1);
	cr_assert(diag_contains(&d, "bytes.conf:3: line is not valid UTF-8"), "%s", diag_text());
	cr_assert(diag_contains(&d, "bytes.conf:6: line contains a NUL byte"), "%s",
	    diag_text());
}

Test(config, line_of_exactly_199_bytes_is_accepted)
{
	/* "path = " + 89 x "./" + "directory.conf": 7 + 178 + 14 bytes. */
	char line[256] = "path = ";
	for (int i = 0; i < 89; i++)
		strcat(line, "./");
	strcat(line, "directory.conf");
	cr_assert_eq(strlen(line), 199);
	char *body = ts_read_file(fixture("minimal.conf"), NULL);
	cr_assert_not_null(body);
	char *cut = strstr(body, "path = directory.conf");
	cr_assert_not_null(cut);
	*cut = '\0';
	ts_writef(fixture("long.conf"), 0600, "%s%s\n", body, line);
	free(body);
	cr_assert_eq(load("long.conf"), 0, "%s", diag_text());
}

Test(config, unreadable_config_file)
{
	cr_assert_eq(config_load("/nonexistent/rogatoryd.conf", &cfg, &d), -1);
	expect_diag(1, "/nonexistent/rogatoryd.conf: cannot read: No such file or directory",
	    NULL);
}

/* ---- credentials, with certificates made by rogatory-pki ---- */

Test(config, key_readable_by_others)
{
	char key[PATH_MAX + 32];
	snprintf(key, sizeof(key), "%s/tls/FR-MJ.key", fixture_dir());
	cr_assert_eq(chmod(key, 0644), 0);
	expect_load_fails("minimal.conf", 1, "minimal.conf:10: [tls] key: key file",
	    "has mode 0644", NULL);
}

Test(config, key_not_matching_certificate)
{
	expect_load_fails("bad-key-mismatch.conf", 1, "bad-key-mismatch.conf:10: [tls] key: "
	    "key ", "BD-ACC.key does not match certificate", NULL);
}

Test(config, certificate_of_another_authority)
{
	expect_load_fails("bad-san.conf", 1, "bad-san.conf:9: [tls] certificate: certificate ",
	    "names authority BD-ACC, not the configured authority id FR-MJ", NULL);
}

Test(config, certificate_from_another_ca)
{
	expect_load_fails("bad-other-ca.conf", 1, "bad-other-ca.conf:9: [tls] certificate: ",
	    "does not verify against CA", NULL);
}

/* ---- the directory named by the config ---- */

Test(config, directory_missing)
{
	char want[PATH_MAX + 128];
	snprintf(want, sizeof(want), "bad-directory-missing.conf:17: [directory] path: cannot "
	    "read %s/nope.conf: No such file or directory", fixture_dir());
	expect_load_fails("bad-directory-missing.conf", 1, want, NULL);
}

Test(config, directory_errors_name_its_lines)
{
	cr_assert_eq(load("bad-directory.conf"), -1);
	cr_assert(diag_contains(&d, "dir-bad.conf:10: [authority FR-MJ] country:"), "%s",
	    diag_text());
	cr_assert(!diag_contains(&d, "bad-directory.conf:"), "%s", diag_text());
	cr_assert_eq(d.n, 15, "%s", diag_text());
}

/* ---- directory.conf ---- */

static int
load_dir(const char *name)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "tests/fixtures/config/%s", name);
	return directory_load(ts_src_path(rel), &dir, &d);
}

Test(config, directory_good)
{
	cr_assert_eq(load_dir("directory.conf"), 0, "%s", diag_text());
	cr_assert_eq(dir->n, 3);
	const struct authority *fr = directory_find(dir, "FR-MJ");
	cr_assert_not_null(fr);
	cr_assert_str_eq(fr->name, "Ministère de la Justice, Bureau de l'entraide pénale "
	    "internationale");
	cr_assert_str_eq(fr->country, "FR");
	cr_assert_str_eq(fr->address, "127.0.0.1:7001");
	cr_assert_str_eq(fr->host, "127.0.0.1");
	cr_assert_str_eq(fr->port, "7001");
	cr_assert_eq(fr->kinds, DIRECTORY_KIND_MLA | DIRECTORY_KIND_EXTRADITION |
	    DIRECTORY_KIND_PROVISIONAL_ARREST | DIRECTORY_KIND_ASSET_RECOVERY);
	cr_assert_eq(fr->n_languages, 2);
	cr_assert_str_eq(fr->languages[0], "fr");
	cr_assert_str_eq(fr->languages[1], "en");
	cr_assert_null(fr->languages[2]);
	cr_assert_eq(fr->line, 2);

	const struct authority *ua = directory_find(dir, "UA-PGO");
	cr_assert_not_null(ua);
	cr_assert_str_eq(ua->host, "::1");
	cr_assert_str_eq(ua->port, "7003");
	cr_assert_eq(ua->kinds, 0x7eu, "all six kinds, bits 1-6: %#x", ua->kinds);
	cr_assert_null(directory_find(dir, "DE-BMJ"));
}

Test(config, directory_kind_bits_follow_the_proto_enum)
{
	/* proto/rogatory.proto: KIND_MLA = 1 ... KIND_OTHER = 6. */
	cr_assert_str_eq(directory_kind_name(1u << 1), "mla");
	cr_assert_str_eq(directory_kind_name(1u << 2), "extradition");
	cr_assert_str_eq(directory_kind_name(1u << 3), "provisional-arrest");
	cr_assert_str_eq(directory_kind_name(1u << 4), "asset-recovery");
	cr_assert_str_eq(directory_kind_name(1u << 5), "service-of-documents");
	cr_assert_str_eq(directory_kind_name(1u << 6), "other");
	cr_assert_null(directory_kind_name(1u << 0));
}

Test(config, directory_errors_each_at_their_line)
{
	cr_assert_eq(load_dir("dir-bad.conf"), -1);
	cr_assert_null(dir);
	expect_diag(15,
	    "dir-bad.conf:2: unknown section [authorities]; expected [authority ID]",
	    "dir-bad.conf:5: bad authority id \"fr-mj\" in [authority fr-mj]",
	    "dir-bad.conf:10: [authority FR-MJ] country: \"BD\" does not match the authority "
	    "id FR-MJ",
	    "dir-bad.conf:11: [authority FR-MJ] address: \"mj.example.fr\" has no port",
	    "dir-bad.conf:12: [authority FR-MJ] kinds: empty item in the list \"mla, "
	    ",extradition\"",
	    "dir-bad.conf:13: [authority FR-MJ] languages: \"EN\" is not an ISO 639-1 "
	    "language code",
	    "dir-bad.conf:14: unknown key [authority FR-MJ] email",
	    "dir-bad.conf:19: [authority BD-ACC] address: \"192.0.2.10:0\": port \"0\" is "
	    "not a number from 1 to 65535",
	    "dir-bad.conf:20: [authority BD-ACC] kinds: unknown kind \"bribery\"",
	    "dir-bad.conf:21: [authority BD-ACC] languages: \"bn\" is listed twice",
	    "dir-bad.conf:22: duplicate key [authority BD-ACC] name (first at line 17)",
	    "dir-bad.conf:24: duplicate section [authority FR-MJ] (first at line 8)",
	    "dir-bad.conf:27: missing [authority UA-PGO] languages",
	    "dir-bad.conf:29: [authority UA-PGO] country: \"XX\" is not an ISO 3166-1 "
	    "alpha-2 country code",
	    "dir-bad.conf:31: [authority UA-PGO] kinds: empty value", NULL);
}

Test(config, directory_missing_keys_at_section_line)
{
	cr_assert_eq(load_dir("dir-missing.conf"), -1);
	expect_diag(4, "dir-missing.conf:2: missing [authority FR-MJ] country",
	    "dir-missing.conf:2: missing [authority FR-MJ] address",
	    "dir-missing.conf:2: missing [authority FR-MJ] kinds",
	    "dir-missing.conf:2: missing [authority FR-MJ] languages", NULL);
}

Test(config, directory_empty)
{
	cr_assert_eq(load_dir("dir-empty.conf"), -1);
	expect_diag(1, "dir-empty.conf: no authorities; expected [authority ID] sections",
	    NULL);
}

Test(config, directory_long_line)
{
	char name[260];
	memset(name, 'x', 201);
	name[201] = '\0';
	ts_writef(fixture("dir-long.conf"), 0600, "[authority FR-MJ]\nname = %.180s\n"
	    "country = FR\naddress = h:1\nkinds = mla\nlanguages = fr\n"
	    "[authority BD-ACC]\nname = %s\n", name, name);
	cr_assert_eq(directory_load(fixture("dir-long.conf"), &dir, &d), -1);
	expect_diag(6, "dir-long.conf:8: line too long (max 199 bytes)",
	    "dir-long.conf:7: missing [authority BD-ACC] name", NULL);
}

/* An authority's name is shown to operators: the text rule of a subject. */
Test(config, directory_name_refuses_terminal_controls)
{
	ts_writef(fixture("dir-names.conf"), 0600,
	    "[authority FR-MJ]\nname = Minist\xc3\xa8re \xc2\x9b" "2J\n"
	    "country = FR\naddress = h:1\nkinds = mla\nlanguages = fr\n"
	    "[authority BD-ACC]\nname = \xe2\x80\xae" "CCA\n"
	    "country = BD\naddress = h:2\nkinds = mla\nlanguages = bn\n"
	    "[authority UA-PGO]\nname = \xd8\xa7\xe2\x80\x8f Prosecutor\n"
	    "country = UA\naddress = h:3\nkinds = mla\nlanguages = uk\n");
	cr_assert_eq(directory_load(fixture("dir-names.conf"), &dir, &d), -1);
	expect_diag(2, "dir-names.conf:2: [authority FR-MJ] name: control character U+009B "
	    "at byte 11", "dir-names.conf:8: [authority BD-ACC] name: bidi control U+202E at "
	    "byte 0", NULL);
}

/* [requirements ID KIND]: what an authority asks of one kind of request. */
static const char dir_head[] =
    "[authority FR-MJ]\nname = MJ\ncountry = FR\naddress = h:1\nkinds = mla, "
    "extradition\nlanguages = fr, en\n";

Test(config, directory_requirements_per_kind)
{
	ts_writef(fixture("dir-req.conf"), 0600, "%s"
	    "[requirements FR-MJ mla]\nlegal_bases = UNCAC art. 46; reciprocity\n"
	    "languages = fr\ncertified_copies = no\ntranslation = yes\n"
	    "urgent_contact = BEPI, +33 1 00 00 00 00\nurl = https://justice.example.fr/x?a=1\n",
	    dir_head);
	cr_assert_eq(directory_load(fixture("dir-req.conf"), &dir, &d), 0, "%s", diag_text());
	const struct authority *fr = directory_find(dir, "FR-MJ");
	const struct dir_requirements *r = fr->requirements[1];
	cr_assert_not_null(r);
	cr_assert_null(fr->requirements[2], "extradition: nothing said");
	cr_assert_str_eq(r->legal_bases, "UNCAC art. 46; reciprocity");
	cr_assert_eq(r->n_languages, 1);
	cr_assert_str_eq(r->languages[0], "fr");
	cr_assert_eq(r->certified_copies, 0);
	cr_assert_eq(r->translation, 1);
	cr_assert_str_eq(r->urgent_contact, "BEPI, +33 1 00 00 00 00");
	cr_assert_str_eq(r->url, "https://justice.example.fr/x?a=1");
	cr_assert_eq(r->line, 7);
	/* The kind's languages replace the authority's for that kind only. */
	size_t n;
	const char *const *l = directory_languages(fr, 1, &n);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(l[0], "fr");
	l = directory_languages(fr, 2, &n);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(l[1], "en");
	l = directory_languages(fr, 99, &n);
	cr_assert_eq(n, 2, "a kind out of range: the authority's");
}

/* A requirements section that says nothing is a mistake, not an empty promise. */
Test(config, directory_requirements_section_without_keys)
{
	ts_writef(fixture("dir-req-empty.conf"), 0600, "%s\n[requirements FR-MJ extradition]\n"
	    "# nothing yet\n", dir_head);
	cr_assert_eq(directory_load(fixture("dir-req-empty.conf"), &dir, &d), -1);
	expect_diag(1, "dir-req-empty.conf:8: [requirements FR-MJ extradition] says nothing; "
	    "give at least one of legal_bases", NULL);
}

Test(config, directory_requirements_errors_name_their_lines)
{
	ts_writef(fixture("dir-req-bad.conf"), 0600,
	    "[requirements DE-BMJ mla]\n"                   /* 1: no such authority above */
	    "%s"                                            /* 2-7 */
	    "[requirements FR-MJ bribery]\n"                /* 8 */
	    "[requirements FR-MJ other]\n"                  /* 9: not a kind it receives */
	    "[requirements FR-MJ]\n"                        /* 10 */
	    "[requirements FR-MJ mla]\n"                    /* 11 */
	    "certified_copies = maybe\n"                    /* 12 */
	    "url = http://justice.example.fr\n"             /* 13 */
	    "languages = fr, FR\n"                          /* 14 */
	    "urgent_contact = call \xe2\x80\xae 112\n"      /* 15 */
	    "fax = +33 1\n"                                 /* 16 */
	    "[requirements FR-MJ  mla]\n"                   /* 17: the same, spelt apart */
	    "[requirements FR-MJ extradition]\n"            /* 18 */
	    "url = https://a.example/<script>\n"            /* 19 */
	    "translation =\n",                              /* 20 */
	    dir_head);
	cr_assert_eq(directory_load(fixture("dir-req-bad.conf"), &dir, &d), -1);
	cr_assert_null(dir);
	expect_diag(12,
	    "dir-req-bad.conf:1: [requirements DE-BMJ mla]: no [authority DE-BMJ] above it",
	    "dir-req-bad.conf:8: [requirements FR-MJ bribery]: unknown kind \"bribery\"",
	    "dir-req-bad.conf:9: [requirements FR-MJ other]: FR-MJ does not receive other "
	    "requests (its kinds line, line 2)",
	    "dir-req-bad.conf:10: bad section [requirements FR-MJ]; expected [requirements ID "
	    "KIND]",
	    "dir-req-bad.conf:12: [requirements FR-MJ mla] certified_copies: \"maybe\"; "
	    "expected yes or no",
	    "dir-req-bad.conf:13: [requirements FR-MJ mla] url: \"http://justice.example.fr\" "
	    "is no https:// address",
	    "dir-req-bad.conf:14: [requirements FR-MJ mla] languages: \"FR\" is not an ISO "
	    "639-1 language code",
	    "dir-req-bad.conf:15: [requirements FR-MJ mla] urgent_contact: bidi control U+202E "
	    "at byte 5",
	    "dir-req-bad.conf:16: unknown key [requirements FR-MJ mla] fax",
	    "dir-req-bad.conf:17: [requirements FR-MJ  mla]: given twice (first at line 11)",
	    "dir-req-bad.conf:19: [requirements FR-MJ extradition] url: byte 18 (0x3c) is not "
	    "allowed in an address",
	    "dir-req-bad.conf:20: [requirements FR-MJ extradition] translation: empty value",
	    NULL);
}

/* ---- the shipped examples ---- */

Test(config, example_file_is_generated_from_the_table)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	config_write_example(f);
	fclose(f);
	char *file = ts_read_file(ts_src_path("configs/rogatoryd.conf.example"), NULL);
	cr_assert_not_null(file);
	char out[PATH_MAX];
	snprintf(out, sizeof(out), "%s/rogatoryd.conf.example", ts_build());
	ts_write_file(out, buf, 0644);
	cr_assert_str_eq(file, buf, "configs/rogatoryd.conf.example differs from the key "
	    "table; the table's version is in %s", out);
	free(file);
	free(buf);
}

Test(config, examples_load)
{
	const char *t = fixture_dir();
	int rc = ts_sh(NULL, "cp '%s' '%s/rogatoryd.conf' && cp '%s' '%s/directory.conf'",
	    ts_src_path("configs/rogatoryd.conf.example"), t,
	    ts_src_path("configs/directory.conf.example"), t);
	cr_assert_eq(rc, 0);
	cr_assert_eq(load("rogatoryd.conf"), 0, "%s", diag_text());
	cr_assert_eq(cfg->directory->n, 3);
	cr_assert_not_null(directory_find(cfg->directory, "BD-ACC"));
	cr_assert_not_null(directory_find(cfg->directory, "UA-PGO"));
	const struct authority *fr = directory_find(cfg->directory, "FR-MJ");
	cr_assert_not_null(fr->requirements[1], "the example shows FR-MJ's mla requirements");
	cr_assert_eq(fr->requirements[2]->certified_copies, 1);
}

/* ---- reload ---- */

Test(config, restart_needed_for_startup_keys_only)
{
	struct config *good = NULL;
	cr_assert_eq(load("minimal.conf"), 0, "%s", diag_text());
	cr_assert_eq(config_load(fixture("good.conf"), &good, &d), 0, "%s", diag_text());
	cr_assert_eq(config_restart_needed(cfg, cfg, &d), 0);
	cr_assert_eq(config_restart_needed(cfg, good, &d), 5, "%s", diag_text());
	cr_assert(diag_contains(&d, "good.conf: [network] listen changed; it takes effect only "
	    "after a restart"), "%s", diag_text());
	cr_assert(diag_contains(&d, "[store] state_dir changed"));
	cr_assert(diag_contains(&d, "[control] socket changed"));
	cr_assert(diag_contains(&d, "[control] group changed"));
	cr_assert(diag_contains(&d, "[control] mode changed"));
	cr_assert(!diag_contains(&d, "keepalive"));
	config_free(good);
}

/* ---- [store] max_size and [daemon] user ---- */

static void
reset_load(void)
{
	config_free(cfg);
	cfg = NULL;
	diag_free(&d);
}

Test(config, store_max_size_and_daemon_user)
{
	const char *t = fixture_dir();
	int rc = ts_sh(NULL, "cd '%s' && "
	    "sed 's/^state_dir = state$/&\\nmax_size = 10G/' good.conf >size.conf && "
	    "sed 's/^state_dir = state$/&\\nmax_size = 1T/' good.conf >size-bad.conf && "
	    "printf '\\n[daemon]\\nuser = no-such-user-rogatory\\n' | cat good.conf - >u1.conf && "
	    "printf '\\n[daemon]\\nuser = root\\n' | cat good.conf - >u2.conf && "
	    "printf '\\n[daemon]\\nuser = nobody\\n' | cat good.conf - >u3.conf", t);
	cr_assert_eq(rc, 0);
	cr_assert_eq(load("good.conf"), 0, "%s", diag_text());
	cr_assert_eq(cfg->store_max_size, 0, "default: no limit");
	cr_assert_null(cfg->daemon_user);
	reset_load();
	cr_assert_eq(load("size.conf"), 0, "%s", diag_text());
	cr_assert_eq(cfg->store_max_size, UINT64_C(10) << 30);
	reset_load();
	expect_load_fails("size-bad.conf", 1, "size-bad.conf:19: [store] max_size: \"1T\" has "
	    "an unknown unit \"T\"", NULL);
	reset_load();
	expect_load_fails("u1.conf", 1, "[daemon] user: user \"no-such-user-rogatory\" does "
	    "not exist", NULL);
	reset_load();
	expect_load_fails("u2.conf", 1, "[daemon] user: \"root\" is root; unset [daemon] user",
	    NULL);
	reset_load();
	/* The fixtures' folder is mode 0700 and not nobody's: every file is named. */
	cr_assert_eq(load("u3.conf"), -1, "loaded although nobody cannot reach the files");
	cr_assert(diag_contains(&d, "[tls] key "), "%s", diag_text());
	cr_assert(diag_contains(&d, "cannot be searched by [daemon] user nobody"), "%s",
	    diag_text());
}

/* ---- [limits]: in-flight bytes, read rate, descriptors ---- */

Test(config, limits_defaults_and_rate_relation)
{
	const char *t = fixture_dir();
	int rc = ts_sh(NULL, "cd '%s' && "
	    "printf '\\n[limits]\\npeer_read_rate = 64K\\n' | cat minimal.conf - >rate-low.conf && "
	    "printf '\\n[limits]\\npeer_read_rate = 1M\\nmax_inflight_bytes = 1M\\n"
	    "max_open_files = 4096\\n' | cat minimal.conf - >rate-ok.conf", t);
	cr_assert_eq(rc, 0);
	cr_assert_eq(load("minimal.conf"), 0, "%s", diag_text());
	cr_assert_eq(cfg->max_inflight_bytes, 16u << 20);
	cr_assert_eq(cfg->peer_read_rate, 256u << 20);
	cr_assert_eq(cfg->max_open_files, 0, "default: soft limit = hard limit");
	config_free(cfg);
	cfg = NULL;
	diag_free(&d);
	cr_assert_eq(load("rate-ok.conf"), 0, "%s", diag_text());
	cr_assert_eq(cfg->peer_read_rate, 1u << 20);
	cr_assert_eq(cfg->max_inflight_bytes, 1u << 20);
	cr_assert_eq(cfg->max_open_files, 4096);
	config_free(cfg);
	cfg = NULL;
	diag_free(&d);
	/* 64K/s for 90 s reads less than 16M + 4M: a sender's window would time out. */
	expect_load_fails("rate-low.conf", 1, "rate-low.conf:20: [limits] peer_read_rate: 65536 "
	    "bytes/s for dead_after (90 s) reads less than max_inflight_bytes + max_frame", NULL);
}

/* ---- [cases]: the deadlines' durations ---- */

Test(config, cases_errors_at_their_lines)
{
	expect_load_fails("bad-cases.conf", 3, "bad-cases.conf:19: [cases] acknowledge_within: "
	    "\"7\" has no unit", "bad-cases.conf:20: [cases] respond_within.mla: \"4000d\"",
	    "bad-cases.conf:21: bad key name \"respond_within.Service-of-documents\"", NULL);
}
