/*
 * text: validation of untrusted text. Every check works on (pointer, length) so an
 * embedded NUL can never shorten what is checked.
 */
#include "text.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

size_t
text_utf8_next(const uint8_t *s, size_t len, uint32_t *cp)
{
	uint8_t c = s[0];
	size_t n;
	uint32_t v;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (len <= n)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[k] & 0x3f);
	}
	if ((n == 2 && v < 0x800) || (n == 3 && v < 0x10000) || v > 0x10ffff ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n + 1;
}

bool
text_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		/* ASCII, nearly all of what we check, without the decoder's call. */
		if (s[i] - 1u < 0x7fu) {
			i++;
			continue;
		}
		uint32_t cp;
		size_t n = text_utf8_next(s + i, len - i, &cp);
		if (n == 0 || cp == 0)
			return false;
		i += n;
	}
	return true;
}

bool
text_cp_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

bool
text_cp_bidi(uint32_t cp)
{
	return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

bool
text_refused_find(const uint8_t *s, size_t len, unsigned rule, size_t *at, uint32_t *cp)
{
	size_t i = 0;
	while (i < len) {
		/* Printable ASCII is never refused: skipped without decoding. */
		if (s[i] >= 0x20 && s[i] < 0x7f) {
			i++;
			continue;
		}
		uint32_t c;
		size_t n = text_utf8_next(s + i, len - i, &c);
		if (n == 0)
			n = 1;  /* not well-formed: the caller's UTF-8 check owns that refusal */
		else if ((text_cp_control(c) &&
		             !((rule & TEXT_LINES) != 0 && (c == '\n' || c == '\t'))) ||
		    ((rule & TEXT_NO_BIDI) != 0 && text_cp_bidi(c))) {
			*at = i;
			*cp = c;
			return true;
		}
		i += n;
	}
	return false;
}

static bool
is_upper(uint8_t c)
{
	return c >= 'A' && c <= 'Z';
}

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

bool
text_authority_id_valid(const uint8_t *s, size_t len)
{
	if (len < 4 || len > AUTHORITY_ID_MAX || !is_upper(s[0]) || !is_upper(s[1]))
		return false;
	size_t i = 2;
	int parts = 0;
	while (i < len) {
		if (s[i] != '-')
			return false;
		i++;
		size_t start = i;
		while (i < len && (is_upper(s[i]) || is_digit(s[i])))
			i++;
		size_t plen = i - start;
		if (plen < 1 || plen > 16)
			return false;
		parts++;
	}
	return parts >= 1 && parts <= 3;
}

bool
text_uuid_valid(const uint8_t *s, size_t len)
{
	if (len != UUID_TEXT_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f')) {
			return false;
		}
	}
	return true;
}

bool
text_date_valid(const uint8_t *s, size_t len)
{
	if (len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (i != 4 && i != 7 && !is_digit(s[i]))
			return false;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1970 || m < 1 || m > 12 || d < 1)
		return false;
	int max = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		max = 29;
	return d <= max;
}

bool
text_code_valid(const uint8_t *s, size_t len, size_t max)
{
	if (len < 1 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !is_digit(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* ISO 3166-1 alpha-2 officially assigned codes (249), space-separated. */
static const char countries[] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO "
    "BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ "
    "DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP "
    "GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG "
    "KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML "
    "MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE "
    "PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL "
    "SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM "
    "US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/* ISO 639-1 codes (183). */
static const char languages[] =
    "aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv "
    "cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho "
    "hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku "
    "kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn "
    "no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm "
    "sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi "
    "vo wa wo xh yi yo za zh zu";

static bool
in_list(const char *list, const char *code)
{
	if (strlen(code) != 2)
		return false;
	for (const char *p = list;; p += 3) {
		if (p[0] == code[0] && p[1] == code[1])
			return true;
		if (p[2] == '\0')
			return false;
	}
}

bool
text_country_valid(const char *cc)
{
	return in_list(countries, cc);
}

bool
text_language_valid(const char *lc)
{
	return in_list(languages, lc);
}

int
text_uuid_random(char out[UUID_TEXT_LEN + 1])
{
	uint8_t b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -1;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, UUID_TEXT_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
	    b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
	    b[15]);
	return 0;
}
