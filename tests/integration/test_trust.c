/*
 * 03-trust: what a link offers beyond the identity checks of 03-links, and the network's
 * one root. The TLS profile: X25519 and P-256 key exchange only (a client offering
 * ffdhe8192 alone fails), the leaf alone in each side's chain, the CA's name in the
 * CertificateRequest. One root, no intermediates: a leaf issued by an intermediate CA is
 * refused on links (both directions) and as a document signer, with that reason, with
 * and without a CRL, under a root made with pathlen:0 and under an older root without.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "support.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

#define INTERMEDIATE_REASON "issued by an intermediate CA: this network has one root CA and no " \
	"intermediates"

/* fakepeer dials node 0 as FR-MJ with FR-MJ's own credentials plus extra options. */
static char *
dial_as_fr_mj(struct tnet *t, const char *extra)
{
	char *out = NULL;
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --cert '%s' --key '%s' --ca '%s' "
	                        "--hello-id FR-MJ --wait-ms 1000 %s",
	    t->node[0].port, t->node[1].cert, t->node[1].key, t->ca, extra);
	return out;
}

/* fakepeer listens on FR-MJ's port with cert/key until node 0 dials it; its output goes
 * to <net>/listen.out (path in outp). Returns its pid. */
static pid_t
listen_as_fr_mj(struct tnet *t, const char *cert, const char *key, char outp[4200])
{
	char cmd[4096];
	snprintf(outp, 4200, "%s/listen.out", t->dir);
	snprintf(cmd, sizeof(cmd), "'%s' listen %d --cert '%s' --key '%s' --ca '%s' "
	                           "--hello-id FR-MJ --wait-ms 2000",
	    tnet_fakepeer(), t->node[1].port, cert, key, t->ca);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	pid_t pid = ts_spawn(argv, outp);
	cr_assert(ts_wait_file_contains(outp, "listening", 5000));
	char *out = NULL;
	cr_assert_eq(tnet_ctl(t, 0, &out, "connect FR-MJ"), 0, "%s", out);
	free(out);
	return pid;
}

Test(trust, key_exchange_is_x25519_or_p256_only, .timeout = 60)
{
	struct tnet *t = tnet_new("trust-groups", ids2, 2);
	tnet_start(t, 0);
	/* A stranger choosing the most expensive group must not get it. */
	char *out = dial_as_fr_mj(t, "--groups ffdhe8192");
	cr_assert(strstr(out, "tls-failed") != NULL, "ffdhe8192 alone was accepted:\n%s", out);
	free(out);
	cr_assert(tnet_wait_log(t, 0, "no common key-exchange group (we offer X25519:P-256 only)", 5000),
	    "the refusal is not in the log");
	out = dial_as_fr_mj(t, "--groups X25519");
	cr_assert(strstr(out, "group=x25519") != NULL && strstr(out, "recv hello id=BD-ACC"),
	    "%s", out);
	free(out);
	out = dial_as_fr_mj(t, "--groups P-256");
	cr_assert(strstr(out, "group=secp256r1") != NULL && strstr(out, "recv hello id=BD-ACC"),
	    "%s", out);
	free(out);
	/* Both offered: X25519 is the first choice. */
	out = dial_as_fr_mj(t, "--groups ffdhe2048:P-256:X25519");
	cr_assert(strstr(out, "group=x25519") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}

Test(trust, leaf_only_chain_and_ca_name_in_certificate_request, .timeout = 60)
{
	struct tnet *t = tnet_new("trust-chain", ids2, 2);
	tnet_start(t, 0);
	/* As server: our leaf alone (never the root the peer already holds), and the CA's
	 * name so a client with several certificates knows which one to send. */
	char *out = dial_as_fr_mj(t, "");
	cr_assert(strstr(out, "peer-certs=1 ca-names=1") != NULL, "%s", out);
	cr_assert(strstr(out, "recv hello id=BD-ACC") != NULL, "%s", out);
	free(out);
	/* As client: the daemon dials FR-MJ's port, where fakepeer listens. */
	char outp[4200];
	pid_t pid = listen_as_fr_mj(t, t->node[1].cert, t->node[1].key, outp);
	cr_assert(ts_wait_file_contains(outp, "tls-ok", 5000), "the daemon did not dial");
	cr_assert(ts_wait_file_contains(outp, "peer-certs=1", 1000),
	    "the daemon sent more than its leaf as a client");
	ts_wait_exit(pid, 10000);
	tnet_free(t);
}

/* The network CA re-made from the same key without pathlen:0, as rogatory-pki made roots
 * before: only the verify depth then stands between an intermediate and a link. */
static void
root_without_pathlen(struct tnet *t)
{
	char *out = NULL;
	int rc = ts_sh(&out, "cd '%s' && printf '[req]\\ndistinguished_name=dn\\nprompt=no\\n"
	    "[dn]\\nO=rogatory\\nCN=rogatory network root CA\\n[old]\\n"
	    "basicConstraints=critical,CA:TRUE\\nkeyUsage=critical,keyCertSign,cRLSign\\n"
	    "subjectKeyIdentifier=hash\\n' > old.cnf && "
	    "openssl req -new -x509 -config old.cnf -extensions old -key ca.key -days 30 "
	    "-out ca.crt && openssl x509 -in ca.crt -noout -ext basicConstraints",
	    t->ca_dir);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "pathlen") == NULL, "%s", out);
	free(out);
}

/* An FR-MJ certificate issued by an intermediate CA, offered on a link to node 0. */
static void
intermediate_link_refused(const char *tag, bool old_root, bool with_crl)
{
	struct tnet *t = tnet_new(tag, ids2, 2);
	if (old_root)
		root_without_pathlen(t);
	if (with_crl)
		tnet_use_crl(t, 0, tnet_crl(t, "crl", 24));
	tnet_start(t, 0);
	const char *dir = tnet_deviant(t, "intermediate", "FR-MJ");
	char *out = NULL;
	/* The intermediate alone is accepted by OpenSSL without a verify depth. */
	int rc = ts_sh(&out, "openssl verify -CAfile '%s' -untrusted '%s/FR-MJ.crt' "
	                     "'%s/FR-MJ.crt'", t->ca, dir, dir);
	cr_assert_eq(rc == 0, old_root, "openssl verify (old root %d): %s", old_root, out);
	free(out);
	tnet_fakepeer_run(&out, "connect 127.0.0.1 %d --cert '%s/FR-MJ.crt' --key "
	                        "'%s/FR-MJ.key' --ca '%s' --hello-id FR-MJ --wait-ms 1000",
	    t->node[0].port, dir, dir, t->ca);
	cr_assert(strstr(out, "recv hello") == NULL, "linked with an intermediate's leaf:\n%s",
	    out);
	free(out);
	cr_assert(tnet_wait_log(t, 0, INTERMEDIATE_REASON, 5000), "no reason in the log");
	cr_assert_eq(tnet_log_count(t, 0, "our CRL cannot be used"), 0);
	/* And the other way: we dial FR-MJ, which answers with that certificate. */
	char outp[4200], cert[4200], key[4200];
	snprintf(cert, sizeof(cert), "%s/FR-MJ.crt", dir);
	snprintf(key, sizeof(key), "%s/FR-MJ.key", dir);
	pid_t pid = listen_as_fr_mj(t, cert, key, outp);
	cr_assert(tnet_wait_log(t, 0, "failed: certificate refused: ", 5000), "no dial failure");
	ts_wait_exit(pid, 10000);
	cr_assert_eq(tnet_log_count(t, 0, "link to FR-MJ: up"), 0);
	cr_assert_geq(tnet_log_count(t, 0, INTERMEDIATE_REASON), 2, "dialing: no reason logged");
	tnet_free(t);
}

Test(trust, intermediate_leaf_refused_on_links, .timeout = 90)
{
	intermediate_link_refused("trust-int-new", false, false);
}

Test(trust, intermediate_leaf_refused_on_links_with_crl, .timeout = 90)
{
	intermediate_link_refused("trust-int-crl", false, true);
}

Test(trust, intermediate_leaf_refused_on_links_under_root_without_pathlen, .timeout = 90)
{
	intermediate_link_refused("trust-int-old", true, false);
	intermediate_link_refused("trust-int-oldcrl", true, true);
}

/* FR-MJ on its proper link sends a document signed with an intermediate's leaf. */
static void
intermediate_document_refused(const char *tag, bool with_crl)
{
	struct tnet *t = tnet_new(tag, ids2, 2);
	if (with_crl)
		tnet_use_crl(t, 0, tnet_crl(t, "crl", 24));
	tnet_start(t, 0);
	const char *dir = tnet_deviant(t, "intermediate", "FR-MJ");
	char extra[4200];
	snprintf(extra, sizeof(extra), "--transfer-to BD-ACC --sign-cert '%s/FR-MJ.crt' "
	    "--sign-key '%s/FR-MJ.key' --wait-ms 2000", dir, dir);
	char *out = dial_as_fr_mj(t, extra);
	cr_assert(strstr(out, "outcome=rejected reason=untrusted-signer") != NULL, "%s", out);
	free(out);
	cr_assert(tnet_wait_log(t, 0, "untrusted-signer: signer certificate: ", 5000));
	cr_assert(tnet_wait_log(t, 0, "issuer CN=rogatory intermediate CA is not the network "
	                              "CA; this network has one root CA and no intermediates",
	    1000), "the refusal does not name the issuer");
	cr_assert_eq(tnet_log_count(t, 0, "our CRL cannot be used"), 0);
	cr_assert_eq(tnet_ctl(t, 0, &out, "quarantine"), 0, "%s", out);
	cr_assert(strstr(out, "intermediate") != NULL, "%s", out);
	free(out);
	tnet_free(t);
}

Test(trust, intermediate_signed_document_refused_with_the_reason, .timeout = 60)
{
	intermediate_document_refused("trust-doc", false);
}

Test(trust, intermediate_signed_document_refused_with_the_reason_with_crl, .timeout = 60)
{
	intermediate_document_refused("trust-doc-crl", true);
}
