/*
 * Unit tests for proto/termsafe.c and the code point classes of proto/text.c it shares
 * with the wire's text rules: every class a terminal acts on comes out as visible
 * escape text and never as a raw byte; ordinary UTF-8 is copied; the output is always
 * terminated and never cut inside an escape or a character.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "termsafe.h"
#include "text.h"

static const struct {
	const char *in;
	size_t len;             /* 0: strlen(in) */
	const char *out;
} ts_cases[] = {
	{"plain ASCII, a backslash \\ too", 0, "plain ASCII, a backslash \\ too"},
	{"Hi \033[2J\033]0;pwned\007", 0, "Hi \\x1b[2J\\x1b]0;pwned\\x07"},
	{"line\nfeed\ttab\rreturn", 0, "line\\x0afeed\\x09tab\\x0dreturn"},
	{"del\x7f", 0, "del\\x7f"},
	{"csi \xc2\x9b" "31m", 0, "csi \\u009b31m"},
	{"c1 range \xc2\x80\xc2\x9f", 0, "c1 range \\u0080\\u009f"},
	{"\xe2\x80\xae" "fdp.exe", 0, "\\u202efdp.exe"},
	{"\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", 0,
	    "\\u202a\\u202b\\u202c\\u202d"},
	{"\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", 0,
	    "\\u2066\\u2067\\u2068\\u2069"},
	/* Marks reorder nothing around them; letters of any script are copied. */
	{"\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", 0, "\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c"},
	{"Minist\xc3\xa8re \xd0\x9a\xd0\xb8\xd1\x97\xd0\xb2 \xf0\x9f\x93\x84", 0,
	    "Minist\xc3\xa8re \xd0\x9a\xd0\xb8\xd1\x97\xd0\xb2 \xf0\x9f\x93\x84"},
	/* Not UTF-8: a lone C1 byte, a cut sequence, an overlong, a surrogate. */
	{"lone \x9b", 0, "lone \\x9b"},
	{"cut \xe2\x80", 0, "cut \\xe2\\x80"},
	{"overlong \xc0\xaf", 0, "overlong \\xc0\\xaf"},
	{"surrogate \xed\xa0\x80", 0, "surrogate \\xed\\xa0\\x80"},
	{"nul\0after", 9, "nul\\x00after"},
};

Test(termsafe, every_class_escaped_visibly)
{
	for (size_t i = 0; i < sizeof(ts_cases) / sizeof(ts_cases[0]); i++) {
		size_t len = ts_cases[i].len ? ts_cases[i].len : strlen(ts_cases[i].in);
		char out[256];
		cr_assert_eq(termsafe(ts_cases[i].in, len, out, sizeof(out)), out);
		cr_assert_str_eq(out, ts_cases[i].out, "case %zu", i);
		char *d = termsafe_dup(ts_cases[i].in, len);
		cr_assert_not_null(d);
		cr_assert_str_eq(d, ts_cases[i].out, "case %zu (dup)", i);
		free(d);
	}
}

/* Whatever the input, no byte a terminal acts on survives: every one of the 256 byte
 * values alone, and every C1 code point and bidi control as UTF-8. */
Test(termsafe, no_control_byte_survives)
{
	char out[TERMSAFE_MAX(4)];
	for (unsigned b = 0; b < 256; b++) {
		unsigned char in = (unsigned char)b;
		termsafe(&in, 1, out, sizeof(out));
		for (const unsigned char *p = (const unsigned char *)out; *p != '\0'; p++)
			cr_assert(*p >= 0x20 && *p < 0x7f, "byte 0x%02x gave 0x%02x", b, *p);
	}
	for (uint32_t cp = 0x80; cp <= 0x9f; cp++) {
		unsigned char in[2] = {(unsigned char)(0xc0 | (cp >> 6)),
			(unsigned char)(0x80 | (cp & 0x3f))};
		termsafe(in, 2, out, sizeof(out));
		cr_assert_eq(strlen(out), 6, "U+%04X: %s", cp, out);
		cr_assert_eq(out[0], '\\');
	}
	static const uint32_t bidi[] = {0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067,
		0x2068, 0x2069};
	for (size_t i = 0; i < sizeof(bidi) / sizeof(bidi[0]); i++) {
		unsigned char in[3] = {(unsigned char)(0xe0 | (bidi[i] >> 12)),
			(unsigned char)(0x80 | ((bidi[i] >> 6) & 0x3f)),
			(unsigned char)(0x80 | (bidi[i] & 0x3f))};
		termsafe(in, 3, out, sizeof(out));
		cr_assert(out[0] == '\\' && out[1] == 'u', "U+%04X: %s", bidi[i], out);
	}
}

/* A short buffer ends before an escape or a character that does not fit whole. */
Test(termsafe, truncation_keeps_whole_escapes)
{
	char out[8];
	termsafe("ab\033cd", 5, out, sizeof(out));
	cr_assert_str_eq(out, "ab\\x1bc");
	termsafe("abcde\033", 6, out, sizeof(out));
	cr_assert_str_eq(out, "abcde");
	termsafe("abcdef\xc3\xa9", 8, out, sizeof(out));
	cr_assert_str_eq(out, "abcdef");
	termsafe("x", 1, out, 1);
	cr_assert_str_eq(out, "");
	/* TERMSAFE_MAX is enough for the widest input. */
	char wide[TERMSAFE_MAX(4)];
	termsafe("\033\033\033\033", 4, wide, sizeof(wide));
	cr_assert_str_eq(wide, "\\x1b\\x1b\\x1b\\x1b");
}

Test(termsafe, text_rule_classes)
{
	cr_assert(text_cp_control(0x00) && text_cp_control(0x1f) && text_cp_control(0x7f));
	cr_assert(text_cp_control(0x80) && text_cp_control(0x9f));
	cr_assert(!text_cp_control(0x20) && !text_cp_control(0x7e) && !text_cp_control(0xa0));
	cr_assert(text_cp_bidi(0x202a) && text_cp_bidi(0x202e) && text_cp_bidi(0x2066) &&
	    text_cp_bidi(0x2069));
	cr_assert(!text_cp_bidi(0x200e) && !text_cp_bidi(0x200f) && !text_cp_bidi(0x061c) &&
	    !text_cp_bidi(0x2029) && !text_cp_bidi(0x206a));
	size_t at;
	uint32_t cp;
	const uint8_t *s = (const uint8_t *)"a\tb\nc";
	cr_assert(text_refused_find(s, 5, TEXT_LINE, &at, &cp));
	cr_assert(at == 1 && cp == '\t');
	cr_assert(!text_refused_find(s, 5, TEXT_LINES, &at, &cp));
	s = (const uint8_t *)"a\r\n";
	cr_assert(text_refused_find(s, 3, TEXT_LINES, &at, &cp));
	cr_assert(at == 1 && cp == '\r', "CR is never allowed");
	s = (const uint8_t *)"\xc3\xa9\xe2\x80\xae";
	cr_assert(!text_refused_find(s, 5, TEXT_LINE, &at, &cp));
	cr_assert(text_refused_find(s, 5, TEXT_LINE | TEXT_NO_BIDI, &at, &cp));
	cr_assert(at == 2 && cp == 0x202e);
}

/* Every byte after a printable ASCII prefix (the checks skip printable ASCII without
 * decoding): refused, found at its offset, valid or not, exactly as the rules say. */
Test(termsafe, text_every_byte_after_ascii)
{
	static const unsigned rules[] = {TEXT_LINE, TEXT_LINES, TEXT_LINE | TEXT_NO_BIDI};
	for (unsigned b = 0; b < 256; b++) {
		uint8_t s[4] = {'a', 'b', (uint8_t)b, 'c'};
		bool ascii = b < 0x80;
		cr_assert_eq(text_utf8_valid(s, 4), ascii && b != 0, "byte 0x%02x", b);
		for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
			size_t at = 99;
			uint32_t cp = 0;
			bool allowed_ws = (rules[r] & TEXT_LINES) != 0 && (b == '\n' || b == '\t');
			bool refused = ascii && text_cp_control(b) && !allowed_ws;
			cr_assert_eq(text_refused_find(s, 4, rules[r], &at, &cp), refused,
			    "byte 0x%02x, rule %u", b, rules[r]);
			if (refused)
				cr_assert(at == 2 && cp == b, "byte 0x%02x: at %zu cp %u", b, at, cp);
		}
	}
}
