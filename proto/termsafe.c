/*
 * termsafe: escaping for terminals (contract in termsafe.h). It must never copy a byte
 * that a terminal acts on: the code point classes come from text.c, the same ones the
 * wire rules refuse.
 */
#include "termsafe.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

const char *
termsafe(const void *s, size_t len, char *out, size_t outlen)
{
	const uint8_t *p = s;
	size_t o = 0;
	if (outlen == 0)
		return out;
	for (size_t i = 0; i < len;) {
		uint32_t cp = 0;
		size_t n = text_utf8_next(p + i, len - i, &cp);
		char esc[8];
		const char *put = esc;
		size_t plen;
		if (n == 0 || cp < 0x20 || cp == 0x7f) {
			n = 1;
			plen = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
		} else if (text_cp_control(cp) || text_cp_bidi(cp)) {
			plen = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
		} else {
			put = (const char *)p + i;
			plen = n;
		}
		if (plen >= outlen - o)
			break;
		memcpy(out + o, put, plen);
		o += plen;
		i += n;
	}
	out[o] = '\0';
	return out;
}

char *
termsafe_dup(const void *s, size_t len)
{
	if (len > (SIZE_MAX - 1) / 4)
		return NULL;
	char *out = malloc(TERMSAFE_MAX(len));
	if (out != NULL)
		termsafe(s, len, out, TERMSAFE_MAX(len));
	return out;
}
