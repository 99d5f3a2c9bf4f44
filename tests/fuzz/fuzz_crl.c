/*
 * fuzz_crl: CRL intake. The input is a candidate as a peer or an operator would hand it
 * over: offered as DER to a keeper holding a fixed network CA (crl_offer: parse, issuer,
 * signature, delta refusal, crlNumber, validity window), written to a file and read back
 * (crl_file_read: PEM or DER) and checked (crl_file_check, as rogatoryd -n does). The CA
 * certificate is only a name and a public key here; its dates do not matter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl.h"
#include "crl_ca.h"
#include "fuzz.h"

static const char *crl_fuzz_ca(void);
static void crl_fuzz_offer(const char *ca, const uint8_t *der, size_t len);

static const char *
crl_fuzz_ca(void)
{
	static char path[4200];
	if (path[0] == '\0')
		snprintf(path, sizeof(path), "%s", fuzz_write_file("ca.crt",
		    (const uint8_t *)FUZZ_CRL_CA_PEM, strlen(FUZZ_CRL_CA_PEM)));
	return path;
}

static void
crl_fuzz_offer(const char *ca, const uint8_t *der, size_t len)
{
	struct crl *c = NULL;
	char err[512], msg[1024];
	if (crl_open(ca, NULL, &c, err, sizeof(err)) != 0)
		abort();
	enum crl_offer_result r = crl_offer(c, der, len, "fuzz", CRL_OFFER_BOOTSTRAP, msg,
	    sizeof(msg));
	if (r == CRL_OFFER_ADOPTED) {
		size_t dl = 0;
		if (crl_number(c) == 0 || crl_der(c, &dl) == NULL || dl != len)
			abort();
		(void)crl_revoked_count(c);
		(void)crl_serial_revoked(c, "01");
		(void)crl_expired(c, (time_t)1700000000);
		(void)crl_renewal_due(c, (time_t)1700000000);
		char t[32];
		crl_time_str(crl_next_update(c), t, sizeof(t));
		if (crl_offer(c, der, len, "fuzz again", 0, msg, sizeof(msg)) ==
		    CRL_OFFER_ADOPTED)
			abort(); /* never the same number twice */
	}
	crl_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *ca = crl_fuzz_ca();
	crl_fuzz_offer(ca, data, size);

	char path[4200], err[512];
	snprintf(path, sizeof(path), "%s", fuzz_write_file("candidate.crl", data, size));
	uint8_t *der = NULL;
	size_t len = 0;
	if (crl_file_read(path, &der, &len, err, sizeof(err)) == 0) {
		crl_fuzz_offer(ca, der, len);
		free(der);
	}
	uint64_t number;
	time_t next_update;
	(void)crl_file_check(path, ca, &number, &next_update, err, sizeof(err));
	return 0;
}
