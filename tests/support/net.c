/*
 * net: builds and runs a test network of real rogatoryd processes (contract in net.h).
 * Everything is made at run time with pki/rogatory-pki; nothing here is committed.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "support.h"

/* Defaults every test node starts from; "section.key" = value. */
static const char *const tnet_defaults[][2] = {
	{"network.handshake_timeout", "2s"},
	{"network.keepalive", "1s"},
	{"network.dead_after", "5s"},
	{"control.mode", "0660"},
	{"log.level", "debug"},
	{"delivery.retry_min", "200ms"},
	{"delivery.retry_max", "2s"},
};

static const char *const tnet_sections[] = {
	"authority", "network", "tls", "store", "control", "daemon", "log", "delivery",
	"limits", "audit", "metrics", "alerts", "cases", "directory",
};

static char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	cr_assert(r >= 0, "out of memory");
	return s;
}

struct tnet *
tnet_new(const char *tag, const char *const *ids, int n)
{
	cr_assert(n > 0 && n <= TNET_MAX);
	struct tnet *t = calloc(1, sizeof(*t));
	cr_assert(t != NULL);
	t->dir = ts_tmpdir(tag);
	t->ca_dir = xasprintf("%s/ca", t->dir);
	t->ca = xasprintf("%s/ca.crt", t->ca_dir);
	t->directory = xasprintf("%s/directory.conf", t->dir);
	t->n = n;
	char *out = NULL;
	int rc = ts_sh(&out, "'%s' init '%s'", ts_pki(), t->ca_dir);
	cr_assert(rc == 0, "rogatory-pki init failed: %s", out);
	free(out);
	for (int i = 0; i < n; i++) {
		struct tnode *nd = &t->node[i];
		snprintf(nd->id, sizeof(nd->id), "%s", ids[i]);
		nd->port = ts_free_port();
		for (int j = 0; j < i; j++)
			if (t->node[j].port == nd->port)
				nd->port = ts_free_port();
		nd->home = xasprintf("%s/%s", t->dir, nd->id);
		cr_assert(mkdir(nd->home, 0700) == 0);
		nd->conf = xasprintf("%s/rogatoryd.conf", nd->home);
		nd->log = xasprintf("%s/rogatoryd.log", nd->home);
		nd->sock = xasprintf("%s/control.sock", nd->home);
		nd->cert = xasprintf("%s/%s.crt", nd->home, nd->id);
		nd->key = xasprintf("%s/%s.key", nd->home, nd->id);
		rc = ts_sh(&out, "'%s' issue '%s' '%s' '%s'", ts_pki(), t->ca_dir, nd->id, nd->home);
		cr_assert(rc == 0, "rogatory-pki issue %s failed: %s", nd->id, out);
		free(out);
		tnet_write_config(t, i);
	}
	tnet_write_directory(t, (1u << n) - 1);
	return t;
}

void
tnet_write_directory(struct tnet *t, unsigned mask)
{
	FILE *f = fopen(t->directory, "w");
	cr_assert(f != NULL);
	fprintf(f, "# test network\n");
	for (int i = 0; i < t->n; i++) {
		if (!(mask & (1u << i)))
			continue;
		const struct tnode *nd = &t->node[i];
		fprintf(f, "\n[authority %s]\nname = Test authority %s\ncountry = %.2s\n"
		           "address = 127.0.0.1:%d\nkinds = mla, extradition, other\n"
		           "languages = en, fr\n",
		    nd->id, nd->id, nd->id, nd->port);
	}
	fclose(f);
}

/* Keys written from the node's fields, never from the defaults table. */
static const char *const tnet_fixed[] = {"authority.id", "network.listen", "tls.certificate",
    "tls.key", "tls.ca", "store.state_dir", "control.socket", "directory.path"};

/* The effective "section.key=value" list of a node: defaults, then overrides, later
 * entries replacing earlier ones with the same key. */
struct kv {
	char key[96];
	const char *value;
};

static int
node_settings(const struct tnode *nd, struct kv *out, int max)
{
	int n = 0;
	size_t nd_def = sizeof(tnet_defaults) / sizeof(tnet_defaults[0]);
	for (size_t k = 0; k < nd_def + (size_t)nd->nopts; k++) {
		char key[96];
		const char *value;
		if (k < nd_def) {
			snprintf(key, sizeof(key), "%s", tnet_defaults[k][0]);
			value = tnet_defaults[k][1];
		} else {
			const char *o = nd->opts[k - nd_def];
			const char *eq = strchr(o, '=');
			cr_assert(eq != NULL, "option %s is not section.key=value", o);
			snprintf(key, sizeof(key), "%.*s", (int)(eq - o), o);
			value = eq + 1;
		}
		int i = 0;
		while (i < n && strcmp(out[i].key, key) != 0)
			i++;
		if (i == n) {
			cr_assert(n < max);
			snprintf(out[n].key, sizeof(out[n].key), "%s", key);
			n++;
		}
		out[i].value = value;
	}
	return n;
}

void
tnet_write_config(struct tnet *t, int i)
{
	struct tnode *nd = &t->node[i];
	struct kv kv[64];
	int n = node_settings(nd, kv, 64);
	char listen[64], cert[128], key[128];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", nd->port);
	snprintf(cert, sizeof(cert), "%s.crt", nd->id);
	snprintf(key, sizeof(key), "%s.key", nd->id);
	const char *fixed_values[] = {nd->id, listen, cert, key, "../ca/ca.crt", "state",
	    "control.sock", "../directory.conf"};
	FILE *f = fopen(nd->conf, "w");
	cr_assert(f != NULL);
	for (size_t s = 0; s < sizeof(tnet_sections) / sizeof(tnet_sections[0]); s++) {
		const char *sec = tnet_sections[s];
		size_t sl = strlen(sec);
		fprintf(f, "[%s]\n", sec);
		for (size_t k = 0; k < sizeof(tnet_fixed) / sizeof(tnet_fixed[0]); k++) {
			if (strncmp(tnet_fixed[k], sec, sl) != 0 || tnet_fixed[k][sl] != '.')
				continue;
			const char *v = fixed_values[k];
			for (int j = 0; j < n; j++)
				if (strcmp(kv[j].key, tnet_fixed[k]) == 0)
					v = kv[j].value;
			if (v[0] != '\0')
				fprintf(f, "%s = %s\n", tnet_fixed[k] + sl + 1, v);
		}
		for (int j = 0; j < n; j++) {
			bool fixed = false;
			for (size_t k = 0; k < sizeof(tnet_fixed) / sizeof(tnet_fixed[0]); k++)
				fixed = fixed || strcmp(kv[j].key, tnet_fixed[k]) == 0;
			if (!fixed && strncmp(kv[j].key, sec, sl) == 0 && kv[j].key[sl] == '.' &&
			    kv[j].value[0] != '\0')
				fprintf(f, "%s = %s\n", kv[j].key + sl + 1, kv[j].value);
		}
		fprintf(f, "\n");
	}
	fclose(f);
}

void
tnet_opt(struct tnet *t, int i, const char *opt)
{
	struct tnode *nd = &t->node[i];
	cr_assert(nd->nopts < TNET_MAX_OPTS);
	nd->opts[nd->nopts++] = opt;
	tnet_write_config(t, i);
}

void
tnet_start(struct tnet *t, int i)
{
	struct tnode *nd = &t->node[i];
	const char *bin = ts_build_path("rogatoryd");
	char *argv[] = {(char *)bin, "-f", "-d", "-c", nd->conf, NULL};
	int before = ts_file_count(nd->log, "started as");
	nd->pid = ts_spawn(argv, nd->log);
	for (int waited = 0; waited < 10000; waited += 20) {
		if (ts_file_count(nd->log, "started as") > before)
			return;
		int st = ts_wait_exit(nd->pid, 20);
		if (st >= 0) {
			nd->pid = 0;
			char *log = ts_read_file(nd->log, NULL);
			cr_assert_fail("rogatoryd %s exited with %d at start-up:\n%s", nd->id, st,
			    log ? log : "");
		}
	}
	cr_assert_fail("rogatoryd %s did not start within 10 s", nd->id);
}

int
tnet_stop(struct tnet *t, int i, int sig)
{
	struct tnode *nd = &t->node[i];
	if (nd->pid <= 0)
		return -1;
	int st = ts_stop(nd->pid, sig);
	nd->pid = 0;
	/* Under `make asan` a daemon's sanitizer report lands in its own log: make it
	 * fail the test that ran it. */
	static const char *const reports[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
	    "runtime error:"};
	for (size_t k = 0; k < sizeof(reports) / sizeof(reports[0]); k++) {
		if (ts_file_count(nd->log, reports[k]) > 0) {
			char *log = ts_read_file(nd->log, NULL);
			cr_assert_fail("rogatoryd %s: sanitizer report in its log:\n%s", nd->id,
			    log ? log : "");
		}
	}
	return st;
}

bool
tnet_wait_log(struct tnet *t, int i, const char *needle, int ms)
{
	return ts_wait_file_contains(t->node[i].log, needle, ms);
}

int
tnet_log_count(struct tnet *t, int i, const char *needle)
{
	return ts_file_count(t->node[i].log, needle);
}

int
tnet_ctl(struct tnet *t, int i, char **out, const char *args)
{
	return ts_sh(out, "'%s' -s '%s' %s", ts_build_path("rogatoryctl"), t->node[i].sock,
	    args);
}

const char *
tnet_issue_extra(struct tnet *t, const char *id)
{
	static char dir[4096];
	snprintf(dir, sizeof(dir), "%s/extra-%s", t->dir, id);
	mkdir(dir, 0700);
	char *out = NULL;
	int rc = ts_sh(&out, "'%s' issue '%s' '%s' '%s'", ts_pki(), t->ca_dir, id, dir);
	cr_assert(rc == 0, "rogatory-pki issue %s failed: %s", id, out);
	free(out);
	return dir;
}

const char *
tnet_deviant(struct tnet *t, const char *kind, const char *id)
{
	static char dir[4096];
	snprintf(dir, sizeof(dir), "%s/dev-%s", t->dir, kind);
	mkdir(dir, 0700);
	char *out = NULL;
	int rc = ts_sh(&out, "'%s' '%s' %s '%s' '%s'", ts_src_path("tests/tools/deviant-cert"),
	    t->ca_dir, kind, id, dir);
	cr_assert(rc == 0, "deviant-cert %s failed: %s", kind, out);
	free(out);
	return dir;
}

const char *
tnet_fakepeer(void)
{
	return ts_build_path("tests/fakepeer");
}

int
tnet_fakepeer_run(char **out, const char *fmt, ...)
{
	va_list ap;
	char *args = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&args, fmt, ap);
	va_end(ap);
	cr_assert(r >= 0);
	int rc = ts_sh(out, "'%s' %s", tnet_fakepeer(), args);
	free(args);
	return rc;
}

/* <dir>/crl-<name>.pem in one of 8 rotating slots. */
static const char *
crl_slot(struct tnet *t, const char *name)
{
	static char slots[8][4096];
	static unsigned next;
	char *p = slots[next++ % 8];
	snprintf(p, sizeof(slots[0]), "%s/crl-%s.pem", t->dir, name);
	return p;
}

const char *
tnet_crl(struct tnet *t, const char *name, int hours)
{
	const char *path = crl_slot(t, name);
	char *out = NULL;
	int rc = ts_sh(&out, "'%s' crl --hours %d '%s' >/dev/null && cp '%s/crl.pem' '%s'",
	    ts_pki(), hours, t->ca_dir, t->ca_dir, path);
	cr_assert(rc == 0, "rogatory-pki crl failed: %s", out);
	free(out);
	return path;
}

static void
openssl_time(long offset_s, char *buf, size_t len)
{
	time_t at = time(NULL) + offset_s;
	struct tm tm;
	gmtime_r(&at, &tm);
	strftime(buf, len, "%Y%m%d%H%M%SZ", &tm);
}

const char *
tnet_crl_window(struct tnet *t, const char *name, long from_s, long to_s)
{
	const char *path = crl_slot(t, name);
	char from[32], to[32], *out = NULL;
	openssl_time(from_s, from, sizeof(from));
	openssl_time(to_s, to, sizeof(to));
	/* The CA's own openssl.cnf expects its folder in ROGATORY_PKI_CADIR. */
	int rc = ts_sh(&out, "ROGATORY_PKI_CADIR='%s' openssl ca -batch -config '%s/openssl.cnf' "
	                     "-gencrl -crl_lastupdate %s -crl_nextupdate %s -out '%s' 2>&1",
	    t->ca_dir, t->ca_dir, from, to, path);
	cr_assert(rc == 0, "openssl ca -gencrl failed: %s", out);
	free(out);
	return path;
}

const char *
tnet_crl_foreign(struct tnet *t, const char *name)
{
	const char *path = crl_slot(t, name);
	char *out = NULL;
	int rc = ts_sh(&out, "'%s' init '%s/other-ca' >/dev/null && '%s' crl '%s/other-ca' "
	                     ">/dev/null && cp '%s/other-ca/crl.pem' '%s'",
	    ts_pki(), t->dir, ts_pki(), t->dir, t->dir, path);
	cr_assert(rc == 0, "foreign CA CRL failed: %s", out);
	free(out);
	return path;
}

void
tnet_revoke(struct tnet *t, int i)
{
	char *out = NULL;
	int rc = ts_sh(&out, "'%s' revoke '%s' '%s' 2>&1", ts_pki(), t->ca_dir, t->node[i].cert);
	cr_assert(rc == 0, "rogatory-pki revoke %s failed: %s", t->node[i].id, out);
	free(out);
}

void
tnet_use_crl(struct tnet *t, int i, const char *path)
{
	char *opt = xasprintf("tls.crl=%s", path);
	cr_assert(t->nkept < (int)(sizeof(t->kept) / sizeof(t->kept[0])));
	t->kept[t->nkept++] = opt;
	tnet_opt(t, i, opt);
}

void
tnet_free(struct tnet *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < t->n; i++)
		if (t->node[i].pid > 0)
			tnet_stop(t, i, SIGTERM);
	const char *keep = getenv("ROGATORY_KEEP_TEST");
	if (keep == NULL || strcmp(keep, "1") != 0)
		ts_rmrf(t->dir);
	for (int i = 0; i < t->n; i++) {
		struct tnode *nd = &t->node[i];
		free(nd->home);
		free(nd->conf);
		free(nd->log);
		free(nd->sock);
		free(nd->cert);
		free(nd->key);
	}
	for (int i = 0; i < t->nkept; i++)
		free(t->kept[i]);
	free(t->dir);
	free(t->ca_dir);
	free(t->ca);
	free(t->directory);
	free(t);
}

char *
tnet_ctl_ok(struct tnet *t, int i, const char *args)
{
	char *out = NULL;
	int rc = tnet_ctl(t, i, &out, args);
	cr_assert_eq(rc, 0, "node %d: rogatoryctl %s: exit %d\n%s", i, args, rc, out);
	return out;
}

int
tnet_ctlf(struct tnet *t, int i, char **out, const char *fmt, ...)
{
	char args[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return tnet_ctl(t, i, out, args);
}
