/*
 * text: checks for every piece of text that crosses a boundary (wire, config, control
 * socket, CLI). Pure functions on (pointer, length); no allocation, no locale.
 */
#ifndef ROGATORY_TEXT_H
#define ROGATORY_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTHORITY_ID_MAX 52   /* CC + 3 x ("-" + 16) */
#define UUID_TEXT_LEN 36
#define AUTHORITY_URI_PREFIX "urn:rogatory:authority:"

/* Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF) without NUL bytes. */
bool text_utf8_valid(const uint8_t *s, size_t len);

/* Decodes the well-formed UTF-8 sequence at s (len > 0 bytes available): its length in
 * bytes (1..4) and *cp, or 0 when s does not start a well-formed sequence. */
size_t text_utf8_next(const uint8_t *s, size_t len, uint32_t *cp);

/*
 * Text rules: which code points a text field refuses beyond NUL and ill-formed UTF-8
 * (docs/PROTOCOL.md section 3, "Text rules"). Every rule refuses the C0 controls
 * U+0001-U+001F, DEL U+007F and the C1 controls U+0080-U+009F: bytes a terminal acts
 * on (ESC sequences, BEL, CSI as U+009B). Flags widen or narrow that:
 *   TEXT_LINES   multi-line text: LF (U+000A) and TAB (U+0009) are allowed (never CR);
 *   TEXT_NO_BIDI also refuses the bidi embeddings, overrides and isolates U+202A-U+202E
 *                and U+2066-U+2069, which reorder what is displayed (the marks U+200E,
 *                U+200F and U+061C stay allowed: they reorder nothing around them).
 */
#define TEXT_LINE 0u
#define TEXT_LINES 0x1u
#define TEXT_NO_BIDI 0x2u

/* A C0 control (U+0000-U+001F), DEL or a C1 control (U+0080-U+009F). */
bool text_cp_control(uint32_t cp);
/* A bidi embedding, override or isolate control (U+202A-U+202E, U+2066-U+2069). */
bool text_cp_bidi(uint32_t cp);

/* The first code point of s (well-formed UTF-8: check text_utf8_valid first) that rule
 * refuses: true, with its byte offset in *at and its value in *cp; false when none. */
bool text_refused_find(const uint8_t *s, size_t len, unsigned rule, size_t *at,
    uint32_t *cp);

/* ^[A-Z]{2}(-[A-Z0-9]{1,16}){1,3}$ */
bool text_authority_id_valid(const uint8_t *s, size_t len);

/* Canonical lower-case UUID text, 8-4-4-4-12 hex digits. */
bool text_uuid_valid(const uint8_t *s, size_t len);

/* YYYY-MM-DD naming a real calendar day. */
bool text_date_valid(const uint8_t *s, size_t len);

/* A short machine code: [a-z0-9-]{1,max}. */
bool text_code_valid(const uint8_t *s, size_t len, size_t max);

/* ISO 3166-1 alpha-2 code assigned to a country ("FR", "BD", ...). */
bool text_country_valid(const char *cc);

/* ISO 639-1 language code ("en", "fr", ...). */
bool text_language_valid(const char *lc);

/* Fills out with a random version-4 UUID in canonical text (37 bytes with NUL). 0 / -1. */
int text_uuid_random(char out[UUID_TEXT_LEN + 1]);

#endif
