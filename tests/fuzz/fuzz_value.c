/*
 * fuzz_value: the configuration value parsers: config_parse_duration, config_parse_size,
 * config_parse_hostport and conffile_parse_hostport without port 0. The input is one
 * value (cut at a NUL, as a config line would never hold one). A parsed duration or
 * size is checked against the digits it came from.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "config.h"
#include "fuzz.h"

static bool value_digits_zero(const char *s);

/* True when the leading digits of s are all zeros (the value they give is 0). */
static bool
value_digits_zero(const char *s)
{
	return strspn(s, "0") >= strspn(s, "0123456789");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	char err[512];
	uint64_t v;
	if (config_parse_duration(s, &v, err, sizeof(err)) == 0 &&
	    value_digits_zero(s) != (v == 0))
		abort();
	if (config_parse_size(s, &v, err, sizeof(err)) == 0 && value_digits_zero(s) != (v == 0))
		abort();
	char *host = NULL, *port = NULL;
	if (config_parse_hostport(s, &host, &port, err, sizeof(err)) == 0) {
		if (host == NULL || port == NULL)
			abort();
		free(host);
		free(port);
	}
	host = port = NULL;
	if (conffile_parse_hostport(s, false, &host, &port, err, sizeof(err)) == 0) {
		if (host == NULL || port == NULL || strtoul(port, NULL, 10) == 0)
			abort();
		free(host);
		free(port);
	}
	free(s);
	return 0;
}
