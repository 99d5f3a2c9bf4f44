/*
 * fuzz_config: rogatoryd.conf parsing. The input is written as rogatoryd.conf in the
 * harness's temporary folder beside a fixed directory.conf and stand-in tls/ files (not
 * certificates: credentials are never valid here), then read by config_load (every key
 * table check, the directory, the credential and CRL checks failing on the stand-ins)
 * and by config_control_socket (the one-key read rogatoryctl does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "diag.h"
#include "fuzz.h"

static void config_fuzz_setup(void);

static const char config_fuzz_directory[] =
    "[authority FR-MJ]\n"
    "name = Ministère de la Justice\n"
    "country = FR\n"
    "address = 127.0.0.1:7001\n"
    "kinds = mla, extradition\n"
    "languages = fr,en\n"
    "\n"
    "[authority UA-PGO]\n"
    "name = Office of the Prosecutor General\n"
    "country = UA\n"
    "address = [::1]:7003\n"
    "kinds = mla, other\n"
    "languages = uk, en\n";

static void
config_fuzz_setup(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	static const char stand_in[] = "not a certificate\n";
	char tls[4200];
	snprintf(tls, sizeof(tls), "%s/tls", fuzz_tmpdir());
	if (mkdir(tls, 0700) != 0)
		abort();
	fuzz_write_file("directory.conf", (const uint8_t *)config_fuzz_directory,
	    sizeof(config_fuzz_directory) - 1);
	fuzz_write_file("tls/FR-MJ.crt", (const uint8_t *)stand_in, sizeof(stand_in) - 1);
	fuzz_write_file("tls/FR-MJ.key", (const uint8_t *)stand_in, sizeof(stand_in) - 1);
	fuzz_write_file("tls/ca.crt", (const uint8_t *)stand_in, sizeof(stand_in) - 1);
	fuzz_write_file("tls/crl.pem", (const uint8_t *)stand_in, sizeof(stand_in) - 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	config_fuzz_setup();
	char path[4200];
	snprintf(path, sizeof(path), "%s", fuzz_write_file("rogatoryd.conf", data, size));

	struct diag d = { 0 };
	struct config *c = NULL;
	if (config_load(path, &c, &d) == 0) {
		struct diag d2 = { 0 };
		(void)config_restart_needed(c, c, &d2);
		diag_free(&d2);
		config_free(c);
	}
	diag_free(&d);

	char sock[4200], err[512];
	(void)config_control_socket(path, sock, sizeof(sock), err, sizeof(err));
	return 0;
}
